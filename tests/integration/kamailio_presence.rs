//! The Kamailio presence-server peer itself, end to end with real sipp
//! presentities and watchers (no gateway yet): PUBLISH → SUBSCRIBE → NOTIFY
//! carrying the published PIDF, a modifying PUBLISH → NOTIFY with the new
//! state, what Kamailio demands of a SUBSCRIBE (the gateway will send it
//! SUBSCRIBEs), its relaying to loopback next hops, and that none of its
//! processes outlives the harness.

use std::time::Duration;

use crate::common::kamailio::{
    DOMAIN, Kamailio, live_group_members, notifies, process_alive, sipp_publish, sipp_watcher,
    wait_notifies,
};
use crate::common::*;

/// The text inside the first `<tag>...</tag>` of `xml`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..start + len])
}

/// Asserts the NOTIFY is an active `Event: presence` notification carrying
/// a PIDF for alice with `basic` and `note`.
fn assert_pidf_notify(notify: &str, basic: &str, note: &str, k: &Kamailio) {
    let ctx = || format!("NOTIFY:\n{notify}\nkamailio log:\n{}", k.log());
    assert_eq!(header_of(notify, "Event"), Some("presence"), "{}", ctx());
    assert!(
        header_of(notify, "Subscription-State").is_some_and(|s| s.starts_with("active")),
        "{}",
        ctx()
    );
    assert_eq!(
        header_of(notify, "Content-Type"),
        Some("application/pidf+xml"),
        "{}",
        ctx()
    );
    let body = body_of(notify);
    assert!(
        body.contains("urn:ietf:params:xml:ns:pidf")
            && body.contains("entity=\"sip:alice@sip.test\""),
        "{}",
        ctx()
    );
    assert_eq!(element(body, "basic"), Some(basic), "{}", ctx());
    assert_eq!(element(body, "note"), Some(note), "{}", ctx());
    // One publication, one tuple: the modify replaced the old state.
    assert_eq!(body.matches("<tuple").count(), 1, "{}", ctx());
}

#[test]
fn kamailio_presence_publish_subscribe_notify() {
    let dir = scratch_dir("kamailio-presence");
    let k = Kamailio::start_presence_in(&dir, &[]);
    let pgid = k.pgid();
    let pids = k.pids();
    // main + 2 UDP + 1 TCP worker + timers/TCP main: Kamailio really forked.
    assert!(
        pids.len() >= 4 && pids.contains(&pgid),
        "kamailio processes {pids:?}"
    );

    // 1. alice publishes "in a meeting".
    let first = sipp_publish(
        &dir,
        k.addr(),
        "alice",
        DOMAIN,
        "open",
        "in a meeting",
        None,
    );
    assert!(
        header_of(&first.response, "Expires")
            .is_some_and(|e| e.parse::<u32>().is_ok_and(|e| e > 0 && e <= 60)),
        "200 to PUBLISH without a sane Expires:\n{}",
        first.response
    );

    // 2. A watcher subscribes and gets her state in the first NOTIFY.
    let mut watcher = sipp_watcher(&dir, k.addr(), "alice", DOMAIN, 2);
    let got = wait_notifies(&watcher, 1, Duration::from_secs(10));
    assert!(
        !got.is_empty(),
        "no NOTIFY after SUBSCRIBE; watcher log:\n{}\nkamailio log:\n{}",
        watcher.messages_log(),
        k.log()
    );
    assert_pidf_notify(&got[0], "open", "in a meeting", &k);
    let log = watcher.messages_log();
    let sub_ok = sipp_logged_messages(&log, true)
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 200") && m.contains("SUBSCRIBE"))
        .expect("200 to the SUBSCRIBE");
    assert_eq!(header_of(&sub_ok, "Expires"), Some("60"), "{sub_ok}");

    // 3. alice modifies her publication; the watcher is notified of it.
    let second = sipp_publish(
        &dir,
        k.addr(),
        "alice",
        DOMAIN,
        "open",
        "out to lunch",
        Some(&first.etag),
    );
    assert_ne!(second.etag, first.etag, "a modify gets a fresh entity-tag");

    let status = watcher.wait(Duration::from_secs(30));
    let log = watcher.messages_log();
    assert!(
        status.success(),
        "watcher failed ({status}):\n{log}\n{}\nkamailio log:\n{}",
        watcher.errors_log(),
        k.log()
    );
    let all = notifies(&log);
    // initial, after the modify, and the terminated one after un-SUBSCRIBE
    assert_eq!(all.len(), 3, "NOTIFYs:\n{}", all.join("\n----\n"));
    assert_pidf_notify(&all[1], "open", "out to lunch", &k);
    assert!(!body_of(&all[1]).contains("in a meeting"), "{}", all[1]);
    assert!(
        header_of(&all[2], "Subscription-State").is_some_and(|s| s.starts_with("terminated")),
        "last NOTIFY:\n{}",
        all[2]
    );
    // NOTIFYs come from the server address, in the watcher's dialog.
    for n in &all {
        assert_eq!(
            header_of(n, "Contact"),
            Some(format!("<sip:127.0.0.1:{}>", k.port()).as_str()),
            "{n}"
        );
    }

    // 4. Nothing of Kamailio survives the harness.
    drop(k);
    assert_eq!(live_group_members(pgid), Vec::<u32>::new());
    for pid in pids {
        assert!(!process_alive(pid), "kamailio pid {pid} survived");
    }
}

/// Sends `req` from `peer` to Kamailio and returns the first response,
/// answering (200) any NOTIFY that arrives meanwhile; also returns those.
fn exchange(peer: &UdpPeer, to: std::net::SocketAddr, req: &[u8]) -> (String, Vec<String>) {
    peer.send(req, to);
    let mut got_notifies = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let Some((bytes, from)) = peer.recv(left) else {
            break;
        };
        let text = String::from_utf8_lossy(&bytes).to_string();
        if text.starts_with("NOTIFY ") {
            peer.send(&answer(&bytes, "200 OK"), from);
            got_notifies.push(text);
        } else if text.starts_with("SIP/2.0 2") {
            // the first NOTIFY follows the 2xx at once; collect it too
            for (b, f) in peer.recv_all(Duration::from_millis(300)) {
                if b.starts_with(b"NOTIFY ") {
                    peer.send(&answer(&b, "200 OK"), f);
                    got_notifies.push(String::from_utf8_lossy(&b).to_string());
                }
            }
            return (text, got_notifies);
        } else if text.starts_with("SIP/2.0 ") {
            return (text, got_notifies);
        }
    }
    panic!("no response to:\n{}", String::from_utf8_lossy(req));
}

fn status(resp: &str) -> u16 {
    resp[8..11].parse().expect("status code")
}

#[test]
fn kamailio_presence_subscribe_requirements_and_loopback_relay() {
    let dir = scratch_dir("kamailio-subscribe");
    let sink = UdpPeer::bind();
    let k = Kamailio::start_presence_in(&dir, &[("xmpp.test", sink.addr())]);
    let w = UdpPeer::bind();
    let contact = format!("<sip:watcher@{}>", w.addr());
    let alice = "sip:alice@sip.test";
    let sub = |branch: &str, uri: &str, headers: &[(&str, &str)]| {
        exchange(
            &w,
            k.addr(),
            &request("SUBSCRIBE", uri, w.addr(), branch, headers, b""),
        )
    };

    // Everything a SUBSCRIBE needs: Event and a Contact. Accept and
    // Expires are optional; Expires defaults to and is capped at 3600.
    let (r, n) = sub(
        "z9hG4bKfull",
        alice,
        &[
            ("Contact", &contact),
            ("Event", "presence"),
            ("Accept", "application/pidf+xml"),
            ("Expires", "30"),
        ],
    );
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(header_of(&r, "Expires"), Some("30"), "{r}");
    assert!(
        header_of(&r, "To").is_some_and(|t| t.contains("tag=")),
        "{r}"
    );
    // alice never published: active NOTIFY without a body
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        header_of(&n[0], "Subscription-State"),
        Some("active;expires=30")
    );
    assert_eq!(header_of(&n[0], "Content-Length"), Some("0"), "{}", n[0]);
    assert!(
        n[0].starts_with(&format!("NOTIFY sip:watcher@{} SIP/2.0", w.addr())),
        "{}",
        n[0]
    );

    let (r, _) = sub(
        "z9hG4bKbare",
        alice,
        &[("Contact", &contact), ("Event", "presence")],
    );
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(header_of(&r, "Expires"), Some("3600"), "{r}");
    let (r, _) = sub(
        "z9hG4bKlong",
        alice,
        &[
            ("Contact", &contact),
            ("Event", "presence"),
            ("Expires", "999999"),
        ],
    );
    assert_eq!(header_of(&r, "Expires"), Some("3600"), "{r}");
    // Kamailio does not check Accept against the PIDF it will send.
    let (r, _) = sub(
        "z9hG4bKaccept",
        alice,
        &[
            ("Contact", &contact),
            ("Event", "presence"),
            ("Accept", "text/plain"),
        ],
    );
    assert_eq!(status(&r), 200, "{r}");

    // Without Event: 489; an event package it does not serve: 489.
    let (r, _) = sub("z9hG4bKnoevent", alice, &[("Contact", &contact)]);
    assert_eq!(status(&r), 489, "{r}");
    let (r, _) = sub(
        "z9hG4bKdialog",
        alice,
        &[("Contact", &contact), ("Event", "dialog")],
    );
    assert_eq!(status(&r), 489, "{r}");
    // Without Contact: 500 (presence cannot build the dialog).
    let (r, _) = sub("z9hG4bKnocontact", alice, &[("Event", "presence")]);
    assert_eq!(status(&r), 500, "{r}");
    // This peer only ever sends to 127.0.0.1: other Contacts are refused.
    let (r, n) = sub(
        "z9hG4bKfar",
        alice,
        &[
            ("Contact", "<sip:watcher@127.0.0.2:5060>"),
            ("Event", "presence"),
        ],
    );
    assert_eq!(status(&r), 403, "{r}");
    assert!(n.is_empty());
    // Other domains without a route: 404.
    let (r, _) = sub(
        "z9hG4bKnoroute",
        "sip:bob@example.test",
        &[("Contact", &contact), ("Event", "presence")],
    );
    assert_eq!(status(&r), 404, "{r}");

    // A routed domain: the SUBSCRIBE is relayed to its next hop, the answer
    // comes back.
    w.send(
        &request(
            "SUBSCRIBE",
            "sip:bob@xmpp.test",
            w.addr(),
            "z9hG4bKrouted",
            &[("Contact", &contact), ("Event", "presence")],
            b"",
        ),
        k.addr(),
    );
    let (req, from) = sink
        .recv(Duration::from_secs(5))
        .expect("relayed SUBSCRIBE");
    let text = String::from_utf8_lossy(&req).to_string();
    assert!(
        text.starts_with("SUBSCRIBE sip:bob@xmpp.test SIP/2.0"),
        "{text}"
    );
    assert_eq!(from, k.addr());
    assert_eq!(header_of(&text, "Max-Forwards"), Some("69"), "{text}");
    sink.send(&answer(&req, "202 Accepted"), from);
    assert_eq!(w.recv_status(Duration::from_secs(5)), Some(202));

    // An in-dialog request for another party on 127.0.0.1 is relayed there;
    // one for anywhere else is refused without being sent.
    let in_dialog_notify = |target: &str, branch: &str| {
        format!(
            "NOTIFY {target} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch};rport\r\n\
             From: <sip:alice@sip.test>;tag=pres1\r\nTo: <sip:gw@gw.test>;tag=gw1\r\n\
             Call-ID: {branch}@test\r\nCSeq: 2 NOTIFY\r\nMax-Forwards: 70\r\n\
             Event: presence\r\nSubscription-State: active;expires=60\r\n\
             Content-Length: 0\r\n\r\n",
            w.addr()
        )
        .into_bytes()
    };
    w.send(
        &in_dialog_notify(&format!("sip:gw@{}", sink.addr()), "z9hG4bKn1"),
        k.addr(),
    );
    let (req, from) = sink.recv(Duration::from_secs(5)).expect("relayed NOTIFY");
    assert!(req.starts_with(format!("NOTIFY sip:gw@{} SIP/2.0", sink.addr()).as_bytes()));
    sink.send(&answer(&req, "200 OK"), from);
    assert_eq!(w.recv_status(Duration::from_secs(5)), Some(200));

    w.send(
        &in_dialog_notify("sip:gw@127.0.0.2:5060", "z9hG4bKn2"),
        k.addr(),
    );
    assert_eq!(w.recv_status(Duration::from_secs(5)), Some(403));
}

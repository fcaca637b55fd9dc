//! Presence across the boundary against real peers (issue 5 acceptance):
//! a sipp SIP watcher of an XMPP user on Prosody (slixmpp approves), an
//! XMPP watcher of a SIP presentity whose presence a sipp UAC PUBLISHes to
//! a real Kamailio presence server, and both kept across a SIGKILL of the
//! gateway (state in redb under `state_dir`).

use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::kamailio::{self, Kamailio};
use crate::common::prosody::Prosody;
use crate::common::*;

fn wait_link(gw: &Gateway) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if gw.metrics().get("xmpp_link_up") == Some(&1) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("xmpp link did not come up; log:\n{}", gw.log());
}

/// `[xmpp]` for the gateway-subdomain component, `[presence]` with short
/// intervals, and a static route for sip.test when a presence server runs.
fn config(p: &Prosody, kam: Option<&Kamailio>, presence_extra: &str) -> String {
    let route = kam.map_or(String::new(), |k| {
        format!(
            "[[route]]\ndomain = \"sip.test\"\nvia = \"sip:127.0.0.1:{};transport=udp\"\n",
            k.port()
        )
    });
    format!(
        "[xmpp]\nserver = \"127.0.0.1:{}\"\ncomponent = \"cpim.xmpp.test\"\nsecret = \"cpim-secret\"\n\
         domains = [\"xmpp.test\"]\naddress_mode = \"gateway-subdomain\"\nerror_window_ms = 300\n\n\
         [presence]\nnotify_interval_ms = 1000\nfirst_notify_grace_ms = 500\n{presence_extra}\n{route}",
        p.component_port
    )
}

/// The JSON lines a slixmpp client printed so far.
fn lines_of(child: Child) -> Vec<String> {
    let out = child.wait_with_output().expect("client output");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn metric(gw: &Gateway, key: &str) -> u64 {
    gw.metrics().get(key).copied().unwrap_or(0)
}

const INBOUND_ACTIVE: &str = "subscriptions{direction=\"inbound\",state=\"active\"}";
const OUTBOUND_ACTIVE: &str = "subscriptions{direction=\"outbound\",state=\"active\"}";

#[test]
fn sip_watcher_of_an_xmpp_user_gets_pending_active_open_then_closed() {
    let dir = scratch_dir("presence-sip-watcher");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    // JSON logs at debug: the dialog and XMPP spans are checked below.
    let gw = Gateway::start(
        "presence-sip-watcher",
        "",
        &format!(
            "{}\n[log]\nformat = \"json\"\nlevel = \"debug\"\n",
            config(&prosody, None, "")
        ),
    );
    wait_link(&gw);
    // Bob is online, away, and approves subscription requests; after 8 s
    // his client leaves (unavailable). The watcher gives up after 10 s
    // without a NOTIFY, so bob must leave within that.
    let bob = prosody.spawn_client(
        "bob@xmpp.test/desk",
        "bobpass",
        // (It waits for presences that never come, so it stays 8 s.)
        &[
            "--show",
            "away",
            "--status",
            "feeding the cat",
            "--expect-presences",
            "99",
            "--timeout",
            "8",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    // A SIP watcher (sip:watcher@sip.test) subscribes to bob through the
    // gateway; it waits for pending, active/open and closed.
    let mut watcher = kamailio::sipp_watcher(&dir, gw.addr(), "bob", "xmpp.test", 3);
    let got = kamailio::wait_notifies(&watcher, 3, Duration::from_secs(25));
    let _ = watcher.wait(Duration::from_secs(30));
    let _ = lines_of(bob);
    assert!(got.len() >= 3, "NOTIFYs: {got:#?}\n{}", gw.log());
    let state = |m: &str| header_of(m, "Subscription-State").unwrap_or("").to_string();
    assert!(state(&got[0]).starts_with("pending"), "{}", got[0]);
    let active = got
        .iter()
        .find(|m| state(m).starts_with("active") && body_of(m).contains("<basic>open</basic>"))
        .unwrap_or_else(|| panic!("no active/open NOTIFY: {got:#?}"));
    assert!(body_of(active).contains("feeding the cat"), "{active}");
    assert!(body_of(active).contains("away"), "show carried: {active}");
    assert!(
        body_of(active).contains("ID-desk"),
        "one tuple per resource: {active}"
    );
    let closed = got
        .iter()
        .skip_while(|m| !std::ptr::eq(*m, active))
        .find(|m| body_of(m).contains("<basic>closed</basic>"))
        .unwrap_or_else(|| panic!("no closed NOTIFY after bob left: {got:#?}"));
    assert!(state(closed).starts_with("active") || state(closed).starts_with("terminated"));
    // One dialog throughout, CSeq increasing.
    let call_ids: std::collections::HashSet<_> =
        got.iter().filter_map(|m| header_of(m, "Call-ID")).collect();
    assert_eq!(call_ids.len(), 1, "{got:#?}");
    assert!(gw.wait_metric("subscriptions_created_total", 1) >= 1);
    // Logs (issue 7): the subscription's events carry its dialog span, the
    // XMPP side its stream and stanza spans; JIDs and URIs are redacted.
    let log = gw.log();
    let spans: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| e.get("spans").and_then(|s| s.as_array()).cloned())
        .flatten()
        .collect();
    let named = |n: &'static str| spans.iter().filter(move |s| s["name"] == n);
    let call_id = call_ids.iter().next().copied().unwrap_or_default();
    assert!(
        named("dialog")
            .any(|d| d["call_id"] == call_id
                && d["sub"].as_str().is_some_and(|s| s.starts_with("n-"))),
        "dialog span of {call_id}:\n{log}"
    );
    assert!(named("xmpp_stream").next().is_some(), "{log}");
    assert!(
        named("xmpp_stanza").any(|s| s["kind"] == "presence"
            && s["from"]
                .as_str()
                .is_some_and(|f| f.ends_with("@xmpp.test/~"))),
        "presence stanza spans with redacted JIDs:\n{log}"
    );
    assert!(!log.contains("bob@xmpp.test"), "JIDs redacted: {log}");
    assert!(
        !log.contains("feeding the cat"),
        "no presence text above trace"
    );
}

#[test]
fn xmpp_watcher_of_a_sip_presentity_on_kamailio_gets_subscribed_and_updates() {
    let dir = scratch_dir("presence-xmpp-watcher");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let kam = Kamailio::start_presence_in(&dir.join("kamailio"), &[]);
    let gw = Gateway::start(
        "presence-xmpp-watcher",
        "",
        &config(&prosody, Some(&kam), ""),
    );
    wait_link(&gw);
    let first = kamailio::sipp_publish(
        &dir,
        kam.addr(),
        "alice",
        "sip.test",
        "open",
        "in a meeting",
        None,
    );
    // Bob subscribes to alice@sip.test through the gateway and waits for
    // subscribed + two presence updates.
    let bob = prosody.spawn_client(
        "bob@xmpp.test",
        "bobpass",
        &[
            "--subscribe",
            "alice\\40sip.test@cpim.xmpp.test",
            "--expect-presences",
            "3",
            "--timeout",
            "20",
        ],
    );
    // Once alice is visible, she publishes a new note.
    let end = Instant::now() + Duration::from_secs(10);
    while metric(&gw, OUTBOUND_ACTIVE) < 1 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    kamailio::sipp_publish(
        &dir,
        kam.addr(),
        "alice",
        "sip.test",
        "open",
        "out to lunch",
        Some(&first.etag),
    );
    let lines = lines_of(bob);
    let presences: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("\"event\": \"presence\""))
        .collect();
    assert!(
        presences
            .iter()
            .any(|l| l.contains("\"type\": \"subscribed\"")),
        "subscribed: {lines:#?}\n{}",
        gw.log()
    );
    let from_alice = |text: &str| {
        presences
            .iter()
            .any(|l| l.contains("alice\\\\40sip.test@cpim.xmpp.test/") && l.contains(text))
    };
    assert!(
        from_alice("in a meeting"),
        "first note: {lines:#?}\n{}",
        gw.log()
    );
    assert!(
        from_alice("out to lunch"),
        "update: {lines:#?}\n{}",
        gw.log()
    );
    assert_eq!(metric(&gw, OUTBOUND_ACTIVE), 1);
}

#[test]
fn both_directions_survive_sigkill_and_refresh_with_the_right_cseq() {
    let dir = scratch_dir("presence-sigkill");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let kam = Kamailio::start_presence_in(&dir.join("kamailio"), &[]);
    // Short subscriptions to Kamailio, so a refresh falls inside the test:
    // 30 s, refreshed 10 s ahead, the watcher probed 1 s before.
    let extra = "min_expires_s = 10\ndefault_expires_s = 30\nrefresh_lead_s = 10\nwatcher_probe_wait_ms = 1000\n";
    let mut gw = Gateway::start("presence-sigkill", "", &config(&prosody, Some(&kam), extra));
    wait_link(&gw);
    let first = kamailio::sipp_publish(
        &dir,
        kam.addr(),
        "alice",
        "sip.test",
        "open",
        "before the crash",
        None,
    );
    // XMPP → SIP: bob watches alice; he stays online for the whole test.
    let bob = prosody.spawn_client(
        "bob@xmpp.test/desk",
        "bobpass",
        &[
            "--subscribe",
            "alice\\40sip.test@cpim.xmpp.test",
            "--status",
            "bob at his desk",
            "--expect-presences",
            "99",
            "--timeout",
            "40",
        ],
    );
    // SIP → XMPP: a sipp watcher of bob (it gives up after 10 s without a
    // NOTIFY, so the restart must not take long).
    let mut watcher = kamailio::sipp_watcher(&dir, gw.addr(), "bob", "xmpp.test", 4);
    let end = Instant::now() + Duration::from_secs(12);
    while (metric(&gw, OUTBOUND_ACTIVE) < 1 || metric(&gw, INBOUND_ACTIVE) < 1)
        && Instant::now() < end
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Bob's client approves the SIP watcher and subscribes back (slixmpp
    // auto-subscribe), so the gateway may hold a second outbound
    // subscription (bob → watcher@sip.test); what matters is that the
    // restart neither loses nor duplicates any.
    let outbound = metric(&gw, OUTBOUND_ACTIVE);
    let inbound = metric(&gw, INBOUND_ACTIVE);
    assert!(
        outbound >= 1 && inbound == 1,
        "{outbound} {inbound}
{}",
        gw.log()
    );
    let before = kamailio::wait_notifies(&watcher, 2, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));
    let outbound = metric(&gw, OUTBOUND_ACTIVE);
    // The SUBSCRIBEs Kamailio saw before the crash, per Call-ID.
    let kam_log_before = kam.log();
    let subscribes_before = kamailio_subscribes(&kam_log_before);
    assert!(!subscribes_before.is_empty(), "{kam_log_before}");

    gw.kill9_and_restart();
    wait_link(&gw);
    assert_eq!(
        metric(&gw, "subscriptions_restored_total"),
        outbound + inbound,
        "{}",
        gw.log()
    );
    assert_eq!(
        metric(&gw, OUTBOUND_ACTIVE),
        outbound,
        "no duplicate outbound"
    );
    assert_eq!(metric(&gw, INBOUND_ACTIVE), inbound, "no duplicate inbound");

    // SIP side changes: Kamailio's NOTIFY reaches the restored dialog and
    // bob hears of it.
    kamailio::sipp_publish(
        &dir,
        kam.addr(),
        "alice",
        "sip.test",
        "open",
        "after the crash",
        Some(&first.etag),
    );
    // XMPP side changes: a second resource of bob comes online; the
    // watcher gets a NOTIFY in the old dialog with the next CSeq.
    let bob2 = prosody.spawn_client(
        "bob@xmpp.test/phone",
        "bobpass",
        &[
            "--status",
            "bob on the phone",
            "--expect-presences",
            "99",
            "--timeout",
            "6",
        ],
    );
    let after = kamailio::wait_notifies(&watcher, before.len() + 1, Duration::from_secs(8));
    assert!(
        after.len() > before.len(),
        "a NOTIFY after the restart: {after:#?}\n{}",
        gw.log()
    );
    let cseq = |m: &str| -> u32 {
        header_of(m, "CSeq")
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let call_id = |m: &str| header_of(m, "Call-ID").unwrap_or("").to_string();
    let last_before = before.last().unwrap();
    let first_after = &after[before.len()];
    assert_eq!(call_id(first_after), call_id(last_before), "same dialog");
    assert!(
        cseq(first_after) > cseq(last_before),
        "CSeq continues: {first_after}"
    );
    // A refresh of the outbound subscription (30 s, 10 s lead) is sent and
    // accepted by Kamailio in the restored dialog.
    let ok_before = metric(
        &gw,
        "operations_total{binding=\"sip\",direction=\"outbound\",kind=\"subscribe\",outcome=\"success\",code=\"200\"}",
    );
    let end = Instant::now() + Duration::from_secs(25);
    let mut refreshed = ok_before;
    while refreshed == ok_before && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
        refreshed = metric(
            &gw,
            "operations_total{binding=\"sip\",direction=\"outbound\",kind=\"subscribe\",outcome=\"success\",code=\"200\"}",
        );
    }
    assert!(
        refreshed > ok_before,
        "refresh accepted after the restart\n{}",
        gw.log()
    );
    assert_eq!(
        metric(&gw, OUTBOUND_ACTIVE),
        outbound,
        "no subscription added by the refresh"
    );
    // What Kamailio saw after the restart: refreshes of the dialogs it
    // already held, each with the CSeq after the last one before the crash
    // (RFC 3261 §12.2.1.1), and no new dialog (no duplicate subscription).
    let kam_log = kam.log();
    let after_restart = kam_log.get(kam_log_before.len()..).unwrap_or("");
    let refreshes = kamailio_subscribes(after_restart);
    assert!(
        !refreshes.is_empty(),
        "a refresh reached Kamailio: {kam_log}"
    );
    for (call_id, seqs) in &refreshes {
        let before = subscribes_before
            .iter()
            .find(|(c, _)| c == call_id)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("refresh in a new dialog {call_id}: {kam_log}"));
        let last = before.iter().max().copied().unwrap_or(0);
        assert_eq!(
            seqs.first().copied(),
            Some(last + 1),
            "refresh of {call_id} continues the CSeq ({before:?} then {seqs:?})"
        );
    }
    let _ = lines_of(bob2);
    let lines = lines_of(bob);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"event\": \"presence\"") && l.contains("after the crash")),
        "bob heard alice's change after the restart: {lines:#?}\n{}",
        gw.log()
    );
    let _ = watcher.wait(Duration::from_secs(30));
}

/// SUBSCRIBE CSeq numbers per Call-ID, in log order, from the presence
/// server's request log lines (`request SUBSCRIBE … cseq=N callid=X`).
fn kamailio_subscribes(log: &str) -> Vec<(String, Vec<u32>)> {
    let mut out: Vec<(String, Vec<u32>)> = Vec::new();
    for line in log.lines().filter(|l| l.contains("request SUBSCRIBE ")) {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_string)
        };
        let (Some(seq), Some(call_id)) = (field("cseq="), field("callid=")) else {
            continue;
        };
        let Ok(seq) = seq.parse::<u32>() else {
            continue;
        };
        match out.iter_mut().find(|(c, _)| *c == call_id) {
            Some((_, v)) => v.push(seq),
            None => out.push((call_id, vec![seq])),
        }
    }
    out
}

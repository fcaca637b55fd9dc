//! Gateway core tests: presence in both directions (RFC 6665, RFC 3856,
//! RFC 7248), in virtual time: subscription lifecycles, NOTIFY coalescing,
//! refresh and expiry, error cases, limits, and restore from stored records.

#![allow(clippy::unwrap_used, clippy::panic)]

use super::xmpp::online_sim_with;
use super::*;

/// Kamailio's place in these tests: the SIP presence server for sip.test.
const PA: &str = "127.0.0.1:5070";

fn presence_config() -> GatewayConfig {
    let mut cfg = super::xmpp::xmpp_config();
    // Long virtual-time runs: no keepalive pings to answer.
    if let Some(x) = cfg.xmpp.as_mut() {
        x.component.ping_interval = Duration::from_secs(86_400);
    }
    cfg.router = Router::new(vec![StaticRoute {
        domain: DomainPattern::parse("sip.test").unwrap(),
        next_hop: NextHop {
            addr: addr(PA),
            transport: Transport::Udp,
        },
    }]);
    cfg
}

const WATCHER_JID: &str = "alice\\40sip.test@cpim.xmpp.test";

fn subscribe(branch: &str, expires: Option<u32>, extra: &str) -> String {
    let exp = expires.map_or(String::new(), |e| format!("Expires: {e}\r\n"));
    format!(
        "SUBSCRIBE sip:romeo@xmpp.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch={branch}\r\n\
         From: <sip:alice@sip.test>;tag=w1\r\nTo: <sip:romeo@xmpp.test>\r\nCall-ID: sub-1@uac\r\nCSeq: 1 SUBSCRIBE\r\n\
         Contact: <sip:alice@127.0.0.1:5081>\r\nEvent: presence\r\n{exp}{extra}Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn in_dialog_subscribe(branch: &str, to_tag: &str, cseq: u32, expires: u32) -> String {
    format!(
        "SUBSCRIBE sip:romeo@xmpp.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch={branch}\r\n\
         From: <sip:alice@sip.test>;tag=w1\r\nTo: <sip:romeo@xmpp.test>;tag={to_tag}\r\nCall-ID: sub-1@uac\r\n\
         CSeq: {cseq} SUBSCRIBE\r\nContact: <sip:alice@127.0.0.1:5081>\r\nEvent: presence\r\nExpires: {expires}\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn xmpp_in(sim: &mut Sim, stanza: &str) {
    sim.gw.handle_xmpp_bytes(sim.now, 1, stanza.as_bytes());
    sim.drain();
}

fn sent_stanzas(sim: &mut Sim) -> Vec<String> {
    std::mem::take(&mut sim.xmpp)
        .into_iter()
        .filter_map(|o| match o {
            XmppOut::Send(_, s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Splits a batch of transmits into (responses, requests).
fn split(out: &[Transmit]) -> (Vec<Response>, Vec<Request>) {
    let mut resps = Vec::new();
    let mut reqs = Vec::new();
    for t in out {
        match crate::sip::parse(t.payload.clone(), t.transport, &Limits::default()).unwrap() {
            Message::Response(r) => resps.push(r),
            Message::Request(r) => reqs.push(r),
        }
    }
    (resps, reqs)
}

/// The distinct requests among fired transmits (retransmissions removed),
/// with the time each was first sent.
fn distinct(fired: &[(Duration, Transmit)]) -> Vec<(Duration, Request)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (at, t) in fired {
        if let Ok(Message::Request(r)) =
            crate::sip::parse(t.payload.clone(), t.transport, &Limits::default())
            && seen.insert(r.top_via().branch().unwrap_or_default().to_string())
        {
            out.push((*at, r));
        }
    }
    out
}

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).to_string()
}

/// SUBSCRIBE from a SIP watcher: returns (the 200, the NOTIFY pending).
fn sip_watcher_subscribes(sim: &mut Sim) -> (Response, Request) {
    let out = sim.input(UAC, subscribe("z9hG4bKs1", Some(600), ""));
    let (resps, reqs) = split(&out);
    assert_eq!(resps.len(), 1, "{out:?}");
    assert_eq!(resps[0].status(), StatusCode::OK);
    assert_eq!(resps[0].header("Expires"), Some("600"));
    assert_eq!(reqs.len(), 1, "a NOTIFY follows at once");
    (resps[0].clone(), reqs[0].clone())
}

#[test]
fn sip_watcher_gets_pending_then_active_then_closed() {
    let mut sim = online_sim_with(presence_config());
    let (ok, pending) = sip_watcher_subscribes(&mut sim);
    assert_eq!(pending.method(), &Method::Notify);
    assert_eq!(pending.uri().as_str(), "sip:alice@127.0.0.1:5081");
    assert!(
        pending
            .header("Subscription-State")
            .unwrap()
            .starts_with("pending;expires=")
    );
    assert_eq!(pending.header("Event"), Some("presence"));
    assert_eq!(pending.to().tag(), Some("w1"));
    assert_eq!(pending.from().tag(), ok.to().tag());
    let stanzas = sent_stanzas(&mut sim);
    assert!(
        stanzas.iter().any(|s| s.contains("type='subscribe'")
            && s.contains(&format!("from='{WATCHER_JID}'"))
            && s.contains("to='romeo@xmpp.test'")),
        "{stanzas:?}"
    );
    assert_eq!(sim.gw.subscription_counts().inbound_pending, 1);
    // The watcher answers the NOTIFY.
    assert!(sim.input(UAC, answer(&pending, 200, &[])).is_empty());
    // Romeo approves, then his client's presence arrives within the grace.
    xmpp_in(
        &mut sim,
        &format!("<presence type='subscribed' from='romeo@xmpp.test' to='{WATCHER_JID}'/>"),
    );
    xmpp_in(
        &mut sim,
        &format!(
            "<presence from='romeo@xmpp.test/orchard' to='{WATCHER_JID}'><show>away</show><status>under the balcony</status></presence>"
        ),
    );
    let fired = distinct(&sim.advance(Duration::from_millis(600)));
    assert_eq!(fired.len(), 1, "one NOTIFY after the grace");
    let active = fired[0].1.clone();
    assert!(
        active
            .header("Subscription-State")
            .unwrap()
            .starts_with("active;expires=")
    );
    assert_eq!(active.cseq().seq(), pending.cseq().seq() + 1);
    assert_eq!(active.content_type(), Some("application/pidf+xml"));
    let doc = body(&active);
    assert!(doc.contains("<basic>open</basic>"), "{doc}");
    assert!(doc.contains("under the balcony"), "{doc}");
    assert!(doc.contains("ID-orchard"), "{doc}");
    assert!(
        doc.contains("entity=\"pres:romeo@xmpp.test\"")
            || doc.contains("entity='pres:romeo@xmpp.test'"),
        "{doc}"
    );
    sim.input(UAC, answer(&active, 200, &[]));
    assert_eq!(sim.gw.subscription_counts().inbound_active, 1);
    // Romeo goes away: the next NOTIFY waits for the 5 s interval.
    xmpp_in(
        &mut sim,
        &format!(
            "<presence type='unavailable' from='romeo@xmpp.test/orchard' to='{WATCHER_JID}'/>"
        ),
    );
    let fired = distinct(&sim.advance(Duration::from_secs(6)));
    assert_eq!(fired.len(), 1);
    assert!(
        fired[0].0 >= Duration::from_millis(4300),
        "rate limited: {:?}",
        fired[0].0
    );
    let closed = fired[0].1.clone();
    assert!(
        body(&closed).contains("<basic>closed</basic>"),
        "{}",
        body(&closed)
    );
}

#[test]
fn changes_inside_the_interval_are_coalesced_into_one_notify() {
    let mut sim = online_sim_with(presence_config());
    let (_, pending) = sip_watcher_subscribes(&mut sim);
    sim.input(UAC, answer(&pending, 200, &[]));
    xmpp_in(
        &mut sim,
        &format!("<presence type='subscribed' from='romeo@xmpp.test' to='{WATCHER_JID}'/>"),
    );
    let first = distinct(&sim.advance(Duration::from_secs(1)));
    assert_eq!(first.len(), 1);
    sim.input(UAC, answer(&first[0].1, 200, &[]));
    for status in ["one", "two", "three"] {
        xmpp_in(
            &mut sim,
            &format!(
                "<presence from='romeo@xmpp.test/r' to='{WATCHER_JID}'><status>{status}</status></presence>"
            ),
        );
        sim.advance(Duration::from_millis(300));
    }
    let fired = distinct(&sim.advance(Duration::from_secs(10)));
    assert_eq!(fired.len(), 1, "three changes, one NOTIFY");
    let doc = body(&fired[0].1);
    assert!(doc.contains("three") && !doc.contains("two"), "{doc}");
    assert!(sim.gw.stats().notifies_coalesced >= 2);
}

#[test]
fn unsubscribed_from_xmpp_terminates_with_rejected() {
    let mut sim = online_sim_with(presence_config());
    let (_, pending) = sip_watcher_subscribes(&mut sim);
    sim.input(UAC, answer(&pending, 200, &[]));
    sim.gw.handle_xmpp_bytes(
        sim.now,
        1,
        format!("<presence type='unsubscribed' from='romeo@xmpp.test' to='{WATCHER_JID}'/>")
            .as_bytes(),
    );
    // The terminating NOTIFY goes at once (final NOTIFYs are not delayed).
    let out = sim.drain();
    assert_eq!(out.len(), 1);
    let n = parse_req(&out[0]);
    assert_eq!(
        n.header("Subscription-State"),
        Some("terminated;reason=rejected")
    );
    sim.input(UAC, answer(&n, 200, &[]));
    assert_eq!(sim.gw.subscription_counts().inbound_pending, 0);
    assert_eq!(sim.gw.stats().subscriptions_terminated, 1);
}

#[test]
fn subscribe_error_cases() {
    let mut sim = online_sim_with(presence_config());
    // 489: not the presence package.
    let out = sim.input(
        UAC,
        subscribe("z9hG4bKe1", Some(600), "").replace("Event: presence", "Event: dialog"),
    );
    let r = parse_resp(&out[0]);
    assert_eq!(r.status().as_u16(), 489);
    assert_eq!(r.header("Allow-Events"), Some("presence"));
    // 406: Accept without PIDF.
    let out = sim.input(
        UAC,
        subscribe("z9hG4bKe2", Some(600), "Accept: application/xpidf+xml\r\n")
            .replace("sub-1@uac", "sub-2@uac"),
    );
    assert_eq!(parse_resp(&out[0]).status().as_u16(), 406);
    // 423 with Min-Expires.
    let out = sim.input(
        UAC,
        subscribe("z9hG4bKe3", Some(10), "").replace("sub-1@uac", "sub-3@uac"),
    );
    let r = parse_resp(&out[0]);
    assert_eq!(r.status().as_u16(), 423);
    assert_eq!(r.header("Min-Expires"), Some("60"));
    // Not an XMPP domain: 404.
    let out = sim.input(
        UAC,
        subscribe("z9hG4bKe4", Some(600), "")
            .replace("sip:romeo@xmpp.test SIP", "sip:bob@elsewhere.test SIP")
            .replace("sub-1@uac", "sub-4@uac"),
    );
    assert_eq!(parse_resp(&out[0]).status().as_u16(), 404);
    // An in-dialog SUBSCRIBE for no dialog: 481.
    let out = sim.input(UAC, in_dialog_subscribe("z9hG4bKe5", "nope", 2, 600));
    assert_eq!(parse_resp(&out[0]).status().as_u16(), 481);
    assert_eq!(sim.gw.subscription_counts().inbound_pending, 0);
}

#[test]
fn notify_answered_481_or_timing_out_ends_the_subscription() {
    let mut sim = online_sim_with(presence_config());
    let (_, pending) = sip_watcher_subscribes(&mut sim);
    sim.input(UAC, answer(&pending, 481, &[]));
    assert_eq!(sim.gw.subscription_counts().inbound_pending, 0);
    assert!(matches!(
        sim.persisted.last(),
        Some(crate::store::Write::Delete { .. })
    ));
    // A silent watcher: Timer F (32 s) ends it too.
    let mut sim = online_sim_with(presence_config());
    sip_watcher_subscribes(&mut sim);
    sim.advance(Duration::from_secs(33));
    assert_eq!(sim.gw.subscription_counts().inbound_pending, 0);
    assert_eq!(sim.gw.stats().subscriptions_terminated, 1);
}

#[test]
fn refresh_expiry_and_unsubscribe() {
    let mut sim = online_sim_with(presence_config());
    let (ok, pending) = sip_watcher_subscribes(&mut sim);
    sim.input(UAC, answer(&pending, 200, &[]));
    let tag = ok.to().tag().unwrap().to_string();
    // Refresh: 200 with the new expiry and a NOTIFY with the state.
    let out = sim.input(UAC, in_dialog_subscribe("z9hG4bKr1", &tag, 2, 900));
    let (resps, reqs) = split(&out);
    assert_eq!(resps[0].status(), StatusCode::OK);
    assert_eq!(
        resps[0].header("Expires"),
        Some("900"),
        "shortened to max? no: 900 < 3600"
    );
    assert_eq!(reqs.len(), 1, "a refresh is answered with a NOTIFY");
    sim.input(UAC, answer(&reqs[0], 200, &[]));
    // An out-of-order CSeq: 500.
    let out = sim.input(UAC, in_dialog_subscribe("z9hG4bKr2", &tag, 1, 900));
    assert_eq!(parse_resp(&out[0]).status().as_u16(), 500);
    // Expires: 0 → 200, terminating NOTIFY, XMPP unsubscribe.
    sent_stanzas(&mut sim);
    let out = sim.input(UAC, in_dialog_subscribe("z9hG4bKr3", &tag, 3, 0));
    let (resps, reqs) = split(&out);
    assert_eq!(resps[0].header("Expires"), Some("0"));
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].header("Subscription-State"),
        Some("terminated;reason=timeout")
    );
    assert!(
        sent_stanzas(&mut sim)
            .iter()
            .any(|s| s.contains("type='unsubscribe'"))
    );
    sim.input(UAC, answer(&reqs[0], 200, &[]));
    assert_eq!(sim.gw.subscription_counts().inbound_pending, 0);

    // Expiry without refresh: terminated;reason=timeout when it runs out.
    let mut sim = online_sim_with(presence_config());
    let (_, pending) = sip_watcher_subscribes(&mut sim);
    sim.input(UAC, answer(&pending, 200, &[]));
    let fired = distinct(&sim.advance(Duration::from_secs(601)));
    let (at, last) = fired.last().unwrap();
    assert_eq!(
        last.header("Subscription-State"),
        Some("terminated;reason=timeout")
    );
    assert!(*at >= Duration::from_secs(599));
}

#[test]
fn out_of_dialog_fetch_probes_and_sends_one_final_notify() {
    let mut sim = online_sim_with(presence_config());
    let out = sim.input(UAC, subscribe("z9hG4bKf1", Some(0), ""));
    let (resps, reqs) = split(&out);
    assert_eq!(resps[0].header("Expires"), Some("0"));
    assert!(reqs.is_empty(), "the NOTIFY waits for the probe's answer");
    assert!(
        sent_stanzas(&mut sim)
            .iter()
            .any(|s| s.contains("type='probe'"))
    );
    xmpp_in(
        &mut sim,
        &format!(
            "<presence from='romeo@xmpp.test/r' to='{WATCHER_JID}'><show>dnd</show></presence>"
        ),
    );
    let fired = distinct(&sim.advance(Duration::from_secs(1)));
    assert_eq!(fired.len(), 1);
    let n = fired[0].1.clone();
    assert_eq!(
        n.header("Subscription-State"),
        Some("terminated;reason=timeout")
    );
    assert!(body(&n).contains("<basic>open</basic>"));
    sim.input(UAC, answer(&n, 200, &[]));
    assert!(sim.persisted.is_empty(), "a fetch is never stored");
}

#[test]
fn limits_refuse_with_403_and_resource_constraint() {
    let mut cfg = presence_config();
    cfg.presence.max_per_watcher = 1;
    let mut sim = online_sim_with(cfg);
    sip_watcher_subscribes(&mut sim);
    let out = sim.input(
        UAC,
        subscribe("z9hG4bKl2", Some(600), "")
            .replace("sip:romeo@xmpp.test SIP", "sip:juliet@xmpp.test SIP")
            .replace("sub-1@uac", "sub-9@uac"),
    );
    let r = parse_resp(&out[0]);
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.header("Warning").unwrap().contains("too many"));
    // The XMPP side: a second subscription by one watcher.
    xmpp_in(
        &mut sim,
        "<presence type='subscribe' from='juliet@xmpp.test' to='alice\\40sip.test@cpim.xmpp.test' id='s1'/>",
    );
    sent_stanzas(&mut sim);
    xmpp_in(
        &mut sim,
        "<presence type='subscribe' from='juliet@xmpp.test' to='carol\\40sip.test@cpim.xmpp.test' id='s2'/>",
    );
    let st = sent_stanzas(&mut sim);
    assert!(
        st.iter()
            .any(|s| s.contains("resource-constraint") && s.contains("s2")),
        "{st:?}"
    );
    assert_eq!(sim.gw.stats().subscriptions_refused_limit, 2);
}

#[test]
fn a_domain_over_its_max_subscriptions_is_refused_in_both_directions() {
    use crate::gateway::policy::{DomainAction, DomainRule};
    let mut cfg = presence_config();
    let capped = |d: &str| {
        let mut r = DomainRule::new(DomainPattern::parse(d).unwrap(), DomainAction::Allow);
        r.max_subscriptions = Some(1);
        r
    };
    cfg.policy.domain_rules = vec![capped("sip.test"), capped("xmpp.test")];
    let mut sim = online_sim_with(cfg);
    sip_watcher_subscribes(&mut sim);
    // Another watcher of the same SIP domain: the domain's one is taken.
    let out = sim.input(
        UAC,
        subscribe("z9hG4bKdc2", Some(600), "")
            .replace("sip:alice@sip.test>;tag=w1", "sip:bob@sip.test>;tag=w2")
            .replace("sub-1@uac", "sub-8@uac"),
    );
    let r = parse_resp(&out[0]);
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.header("Warning")
            .unwrap()
            .contains("too many subscriptions for domain sip.test"),
        "{r:?}"
    );
    // XMPP watchers of xmpp.test: the first is taken, the second refused
    // with <resource-constraint/> (RFC 6120 §8.3.3.18).
    xmpp_in(
        &mut sim,
        "<presence type='subscribe' from='juliet@xmpp.test' to='alice\\40sip.test@cpim.xmpp.test' id='d1'/>",
    );
    let first = sent_stanzas(&mut sim);
    assert!(
        !first.iter().any(|s| s.contains("resource-constraint")),
        "{first:?}"
    );
    xmpp_in(
        &mut sim,
        "<presence type='subscribe' from='romeo@xmpp.test' to='carol\\40sip.test@cpim.xmpp.test' id='d2'/>",
    );
    let st = sent_stanzas(&mut sim);
    assert!(
        st.iter()
            .any(|s| s.contains("resource-constraint") && s.contains("d2")),
        "{st:?}"
    );
    assert_eq!(sim.gw.stats().subscriptions_refused_limit, 2);
}

// --- XMPP watcher → SIP presentity -----------------------------------------

const PIDF_OPEN: &str = "<?xml version='1.0' encoding='UTF-8'?>\
<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:alice@sip.test'>\
<tuple id='t1'><status><basic>open</basic></status><note>in a meeting</note></tuple></presence>";

fn notify_for(
    sub: &Request,
    to_tag_of_ours: &str,
    from_tag: &str,
    cseq: u32,
    state: &str,
    body: &str,
) -> Vec<u8> {
    let ct = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/pidf+xml\r\n".to_string()
    };
    format!(
        "NOTIFY sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKn{cseq}{from_tag}\r\n\
         From: <sip:alice@sip.test>;tag={from_tag}\r\nTo: <sip:juliet@xmpp.test>;tag={to_tag_of_ours}\r\n\
         Call-ID: {}\r\nCSeq: {cseq} NOTIFY\r\nContact: <sip:pa@127.0.0.1:5070>\r\nEvent: presence\r\n\
         Subscription-State: {state}\r\nMax-Forwards: 70\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        sub.call_id(),
        body.len()
    )
    .into_bytes()
}

/// Juliet subscribes to alice@sip.test: returns the SUBSCRIBE sent.
fn xmpp_subscribe_and_take_request(sim: &mut Sim) -> Request {
    sim.gw.handle_xmpp_bytes(
        sim.now,
        1,
        b"<presence type='subscribe' from='juliet@xmpp.test' to='alice\\40sip.test@cpim.xmpp.test'/>",
    );
    let out = sim.drain();
    assert_eq!(out.len(), 1, "one SUBSCRIBE");
    assert_eq!(out[0].dst, addr(PA));
    let req = parse_req(&out[0]);
    assert_eq!(req.method(), &Method::Subscribe);
    req
}

#[test]
fn xmpp_watcher_gets_subscribed_only_on_active_and_one_presence_per_changed_tuple() {
    let mut sim = online_sim_with(presence_config());
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    assert_eq!(sub.uri().as_str(), "sip:alice@sip.test");
    assert_eq!(sub.header("Accept"), Some("application/pidf+xml"));
    assert_eq!(sub.header("Event"), Some("presence"));
    assert_eq!(sub.header("Expires"), Some("3600"));
    assert!(sub.from().uri().as_str().contains("juliet@xmpp.test"));
    sim.input(PA, answer(&sub, 200, &[("Expires", "3600")]));
    assert!(
        sent_stanzas(&mut sim).is_empty(),
        "no subscribed before NOTIFY active"
    );
    let our_tag = sub.from().tag().unwrap().to_string();
    // pending: nothing for the watcher.
    let out = sim.input(
        PA,
        notify_for(&sub, &our_tag, "pa1", 1, "pending;expires=3600", ""),
    );
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::OK);
    assert!(sent_stanzas(&mut sim).is_empty());
    // active with a document: subscribed, then one presence.
    let out = sim.input(
        PA,
        notify_for(&sub, &our_tag, "pa1", 2, "active;expires=3600", PIDF_OPEN),
    );
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::OK);
    let st = sent_stanzas(&mut sim);
    assert_eq!(st.len(), 2, "{st:?}");
    assert!(st[0].contains("type='subscribed'"));
    assert!(
        st[1].contains("in a meeting")
            && st[1].contains("from='alice\\40sip.test@cpim.xmpp.test/t1'"),
        "{st:?}"
    );
    assert_eq!(sim.gw.subscription_counts().outbound_active, 1);
    // The same document again: nothing changed, nothing sent.
    sim.input(
        PA,
        notify_for(&sub, &our_tag, "pa1", 3, "active;expires=3600", PIDF_OPEN),
    );
    assert!(sent_stanzas(&mut sim).is_empty());
    // A new note: one update.
    sim.input(
        PA,
        notify_for(
            &sub,
            &our_tag,
            "pa1",
            4,
            "active;expires=3600",
            &PIDF_OPEN.replace("in a meeting", "at lunch"),
        ),
    );
    let st = sent_stanzas(&mut sim);
    assert_eq!(st.len(), 1);
    assert!(st[0].contains("at lunch"));
    // A fork from another notifier while active: 481.
    let out = sim.input(
        PA,
        notify_for(&sub, &our_tag, "fork2", 1, "active;expires=3600", PIDF_OPEN),
    );
    assert_eq!(parse_resp(&out[0]).status().as_u16(), 481);
    // A NOTIFY for nothing: 481.
    let out = sim.input(
        PA,
        notify_for(&sub, "unknown-tag", "pa1", 9, "active", PIDF_OPEN),
    );
    assert_eq!(parse_resp(&out[0]).status().as_u16(), 481);
    assert_eq!(sim.gw.stats().notifies_unmatched, 2);
}

#[test]
fn subscribe_423_retries_and_403_is_unsubscribed() {
    let mut sim = online_sim_with(presence_config());
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    let out = sim.input(PA, answer(&sub, 423, &[("Min-Expires", "7200")]));
    let again = parse_req(&out[0]);
    assert_eq!(again.header("Expires"), Some("7200"));
    assert_eq!(again.call_id(), sub.call_id());
    assert_eq!(again.cseq().seq(), sub.cseq().seq() + 1);
    sim.input(PA, answer(&again, 403, &[]));
    let st = sent_stanzas(&mut sim);
    assert!(
        st.iter().any(|s| s.contains("type='unsubscribed'")),
        "{st:?}"
    );
    assert_eq!(sim.gw.subscription_counts().outbound_pending, 0);
}

#[test]
fn refresh_probes_the_watcher_first_and_481_starts_a_new_dialog() {
    let mut sim = online_sim_with(presence_config());
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    sim.input(PA, answer(&sub, 200, &[("Expires", "600")]));
    let tag = sub.from().tag().unwrap().to_string();
    sim.input(
        PA,
        notify_for(&sub, &tag, "pa1", 1, "active;expires=600", PIDF_OPEN),
    );
    sent_stanzas(&mut sim);
    // Timer N, refresh and expiry share one wake-up entry.
    assert_eq!(sim.gw.presence.subscriber.wakeup_entries(), 1);
    // 60 s before expiry: a probe of the watcher, then the refresh.
    let fired = sim.advance(Duration::from_secs(541));
    assert!(fired.is_empty(), "{fired:?}");
    let st = sent_stanzas(&mut sim);
    assert!(
        st.iter()
            .any(|s| s.contains("type='probe'") && s.contains("to='juliet@xmpp.test'")),
        "{st:?}"
    );
    let fired = distinct(&sim.advance(Duration::from_secs(6)));
    assert_eq!(fired.len(), 1);
    let refresh = fired[0].1.clone();
    assert_eq!(refresh.call_id(), sub.call_id());
    assert_eq!(refresh.cseq().seq(), sub.cseq().seq() + 1);
    assert_eq!(refresh.to().tag(), Some("pa1"));
    assert_eq!(refresh.uri().as_str(), "sip:pa@127.0.0.1:5070");
    // The notifier forgot us: 481 → a new SUBSCRIBE, new Call-ID and tag.
    let out = sim.input(PA, answer(&refresh, 481, &[]));
    let fresh = parse_req(&out[0]);
    assert_ne!(fresh.call_id(), sub.call_id());
    assert_ne!(fresh.from().tag(), sub.from().tag());
    assert_eq!(fresh.to().tag(), None);
    assert_eq!(sim.gw.presence.subscriber.wakeup_entries(), 1);
    // The old dialog is forgotten: its NOTIFY matches nothing.
    let out = sim.input(
        PA,
        notify_for(&sub, &tag, "pa1", 3, "active;expires=600", PIDF_OPEN),
    );
    assert_eq!(parse_resp(&out[0]).status().as_u16(), 481);
}

#[test]
fn refresh_refused_403_ends_with_unsubscribed() {
    let mut sim = online_sim_with(presence_config());
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    sim.input(PA, answer(&sub, 200, &[("Expires", "600")]));
    let tag = sub.from().tag().unwrap().to_string();
    sim.input(
        PA,
        notify_for(&sub, &tag, "pa1", 1, "active;expires=600", PIDF_OPEN),
    );
    sent_stanzas(&mut sim);
    let fired = distinct(&sim.advance(Duration::from_secs(547)));
    let refresh = fired
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r.method() == &Method::Subscribe)
        .expect("a refresh");
    sent_stanzas(&mut sim);
    sim.input(PA, answer(&refresh, 403, &[]));
    let st = sent_stanzas(&mut sim);
    assert!(
        st.iter().any(|s| s.contains("type='unavailable'")),
        "{st:?}"
    );
    assert!(
        st.iter().any(|s| s.contains("type='unsubscribed'")),
        "{st:?}"
    );
    assert_eq!(sim.gw.subscription_counts().outbound_active, 0);
    assert!(matches!(
        sim.persisted.last(),
        Some(crate::store::Write::Delete { .. })
    ));
}

#[test]
fn terminated_reasons() {
    // probation: subscribe again after retry-after.
    let mut sim = online_sim_with(presence_config());
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    sim.input(PA, answer(&sub, 200, &[("Expires", "600")]));
    let tag = sub.from().tag().unwrap().to_string();
    sim.input(
        PA,
        notify_for(
            &sub,
            &tag,
            "pa1",
            1,
            "terminated;reason=probation;retry-after=30",
            "",
        ),
    );
    let fired = distinct(&sim.advance(Duration::from_secs(31)));
    assert_eq!(fired.len(), 1);
    assert!(fired[0].0 >= Duration::from_secs(30));
    assert_ne!(fired[0].1.call_id(), sub.call_id());
    // rejected: unsubscribed.
    let mut sim = online_sim_with(presence_config());
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    sim.input(PA, answer(&sub, 200, &[("Expires", "600")]));
    let tag = sub.from().tag().unwrap().to_string();
    sim.input(
        PA,
        notify_for(&sub, &tag, "pa1", 1, "terminated;reason=rejected", ""),
    );
    assert!(
        sent_stanzas(&mut sim)
            .iter()
            .any(|s| s.contains("type='unsubscribed'"))
    );
    assert_eq!(sim.gw.subscription_counts().outbound_pending, 0);
}

#[test]
fn xmpp_unsubscribe_sends_expires_zero() {
    let mut sim = online_sim_with(presence_config());
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    sim.input(PA, answer(&sub, 200, &[("Expires", "600")]));
    let tag = sub.from().tag().unwrap().to_string();
    sim.input(
        PA,
        notify_for(&sub, &tag, "pa1", 1, "active;expires=600", PIDF_OPEN),
    );
    sim.gw.handle_xmpp_bytes(
        sim.now,
        1,
        b"<presence type='unsubscribe' from='juliet@xmpp.test' to='alice\\40sip.test@cpim.xmpp.test'/>",
    );
    let out = sim.drain();
    let un = parse_req(&out[0]);
    assert_eq!(un.header("Expires"), Some("0"));
    assert_eq!(un.call_id(), sub.call_id());
    sim.input(PA, answer(&un, 200, &[("Expires", "0")]));
    // RFC 6665 §4.1.2.3: the final NOTIFY still finds its dialog.
    let out = sim.input(
        PA,
        notify_for(&sub, &tag, "pa1", 2, "terminated;reason=timeout", ""),
    );
    assert_eq!(parse_resp(&out[0]).status().as_u16(), 200);
    assert_eq!(sim.gw.subscription_counts().outbound_active, 0);
    assert_eq!(sim.gw.subscription_counts().outbound_pending, 0);
}

#[test]
fn unsubscribe_without_a_final_notify_ends_after_timer_n() {
    let mut sim = online_sim_with(presence_config());
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    sim.input(PA, answer(&sub, 200, &[("Expires", "600")]));
    let tag = sub.from().tag().unwrap().to_string();
    sim.input(
        PA,
        notify_for(&sub, &tag, "pa1", 1, "active;expires=600", PIDF_OPEN),
    );
    sim.gw.handle_xmpp_bytes(
        sim.now,
        1,
        b"<presence type='unsubscribe' from='juliet@xmpp.test' to='alice\\40sip.test@cpim.xmpp.test'/>",
    );
    let un = parse_req(&sim.drain()[0]);
    sim.input(PA, answer(&un, 200, &[("Expires", "0")]));
    assert_eq!(
        sim.gw.subscription_counts().outbound_active,
        1,
        "waits for the final NOTIFY"
    );
    sim.advance(Duration::from_secs(33));
    assert_eq!(sim.gw.subscription_counts().outbound_active, 0);
    assert_eq!(sim.gw.subscription_counts().outbound_pending, 0);
}

/// The stored records after a run, as a store would hold them.
fn stored(writes: &[crate::store::Write]) -> Vec<(String, Vec<u8>)> {
    let mut map = std::collections::BTreeMap::new();
    for w in writes {
        match w {
            crate::store::Write::Put { key, value } => {
                map.insert(key.clone(), value.clone());
            }
            crate::store::Write::Delete { key } => {
                map.remove(key);
            }
        }
    }
    map.into_iter().collect()
}

#[test]
fn restored_subscriptions_continue_with_the_right_cseq() {
    let mut sim = online_sim_with(presence_config());
    sim.gw.set_wall_clock(sim.now, 1_800_000_000_000);
    // Both directions active.
    let (_, pending) = sip_watcher_subscribes(&mut sim);
    sim.input(UAC, answer(&pending, 200, &[]));
    xmpp_in(
        &mut sim,
        &format!("<presence type='subscribed' from='romeo@xmpp.test' to='{WATCHER_JID}'/>"),
    );
    let fired = distinct(&sim.advance(Duration::from_secs(1)));
    let active = fired[0].1.clone();
    sim.input(UAC, answer(&active, 200, &[]));
    let sub = xmpp_subscribe_and_take_request(&mut sim);
    sim.input(PA, answer(&sub, 200, &[("Expires", "600")]));
    let tag = sub.from().tag().unwrap().to_string();
    sim.input(
        PA,
        notify_for(&sub, &tag, "pa1", 1, "active;expires=600", PIDF_OPEN),
    );
    let records = stored(&sim.persisted);
    assert_eq!(records.len(), 2, "{records:?}");

    // A new process, 10 s later.
    let mut next = online_sim_with(presence_config());
    next.gw.set_wall_clock(next.now, 1_800_000_000_000 + 11_000);
    next.gw.restore(next.now, records);
    next.drain();
    assert_eq!(next.gw.stats().subscriptions_restored, 2);
    let counts = next.gw.subscription_counts();
    assert_eq!((counts.inbound_active, counts.outbound_active), (1, 1));
    // The restored notifier probes romeo; his answer becomes a NOTIFY with
    // the next CSeq in the old dialog.
    let st = sent_stanzas(&mut next);
    assert!(
        st.iter()
            .any(|s| s.contains("type='probe'") && s.contains("romeo@xmpp.test")),
        "{st:?}"
    );
    xmpp_in(
        &mut next,
        &format!(
            "<presence from='romeo@xmpp.test/r' to='{WATCHER_JID}'><status>back</status></presence>"
        ),
    );
    let fired = distinct(&next.advance(Duration::from_secs(6)));
    assert_eq!(fired.len(), 1);
    let n = fired[0].1.clone();
    assert_eq!(n.call_id(), "sub-1@uac");
    assert_eq!(n.cseq().seq(), active.cseq().seq() + 1);
    assert!(body(&n).contains("back"));
    next.input(UAC, answer(&n, 200, &[]));
    // The restored subscriber refreshes on time (600 − 60 − 11 s later),
    // in the same dialog with the next CSeq.
    let fired = distinct(&next.advance(Duration::from_secs(600)));
    let refresh = fired
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r.method() == &Method::Subscribe)
        .expect("a refresh");
    assert_eq!(refresh.call_id(), sub.call_id());
    assert_eq!(refresh.cseq().seq(), sub.cseq().seq() + 1);
    assert_eq!(refresh.to().tag(), Some("pa1"));
}

#[test]
fn expired_and_unreadable_records_are_dropped_on_restore() {
    let mut sim = online_sim_with(presence_config());
    sim.gw.set_wall_clock(sim.now, 1_800_000_000_000);
    let (_, pending) = sip_watcher_subscribes(&mut sim);
    sim.input(UAC, answer(&pending, 200, &[]));
    let mut records = stored(&sim.persisted);
    records.push(("sub/garbage".into(), b"\x09junk".to_vec()));
    let mut next = online_sim_with(presence_config());
    // 700 s later: the 600 s subscription is over.
    next.gw
        .set_wall_clock(next.now, 1_800_000_000_000 + 700_000);
    next.gw.restore(next.now, records);
    next.drain();
    assert_eq!(next.gw.stats().subscriptions_dropped_on_restore, 2);
    assert_eq!(next.gw.subscription_counts().inbound_pending, 0);
    let deletes = next
        .persisted
        .iter()
        .filter(|w| matches!(w, crate::store::Write::Delete { .. }))
        .count();
    assert_eq!(deletes, 2);
}

/// A SUBSCRIBE is admitted like a MESSAGE: a mutual-TLS peer (known by its
/// certificate name, from an address no peer lists) may subscribe for its
/// own domain; the same bytes from that address without the identity, or
/// asserting another domain, get 403.
#[test]
fn subscribe_is_admitted_by_mutual_tls_identity() {
    use crate::gateway::policy::{Peer, PeerIdentity};
    use crate::route::DomainPattern;
    let mut cfg = presence_config();
    cfg.policy.peers.push(Peer {
        name: "tls-peer".into(),
        networks: Vec::new(),
        domains: vec![DomainPattern::parse("tls.test").unwrap()],
        tls_names: vec![DomainPattern::parse("sip.tls.test").unwrap()],
        rate: None,
    });
    let mut sim = online_sim_with(cfg);
    let from: std::net::SocketAddr = "10.9.9.9:5061".parse().unwrap();
    let id = std::sync::Arc::new(PeerIdentity::new(["sip.tls.test"]));
    let send = |sim: &mut Sim, branch: &str, domain: &str, id: Option<_>| {
        let req =
            subscribe(branch, Some(600), "").replace("alice@sip.test", &format!("alice@{domain}"));
        sim.gw
            .handle_sip_identified(sim.now, from, Transport::Tls, bytes::Bytes::from(req), id);
        let out = sim.drain();
        parse_resp(&out[0]).status().as_u16()
    };
    assert_eq!(
        send(&mut sim, "z9hG4bKt1", "tls.test", Some(id.clone())),
        200
    );
    assert_eq!(send(&mut sim, "z9hG4bKt2", "sip.test", Some(id)), 403);
    assert_eq!(send(&mut sim, "z9hG4bKt3", "tls.test", None), 403);
}

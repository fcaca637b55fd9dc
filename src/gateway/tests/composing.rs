//! Gateway core tests: content fidelity across the XMPP boundary in virtual
//! time: XHTML-IM, per-domain `message/cpim` wrapping, and RFC 3994
//! isComposing timing (refresh, duplicate suppression, 415, receiver
//! timeout, give-up).

#![allow(clippy::unwrap_used)]

use super::xmpp::{online_sim_with, sent_stanza, xmpp_in};
use super::*;

/// The XMPP test config with pings far apart, so the simulated server
/// (which never answers them) keeps the link up for the minutes these
/// tests span, and static routes to the UAS for sip.test and legacy.test.
fn quiet_config() -> GatewayConfig {
    let mut cfg = super::xmpp::xmpp_config();
    if let Some(x) = cfg.xmpp.as_mut() {
        x.component.ping_interval = Duration::from_secs(3600);
    }
    let to_uas = |d: &str| StaticRoute {
        domain: DomainPattern::parse(d).unwrap(),
        next_hop: NextHop {
            addr: addr(UAS),
            transport: Transport::Udp,
        },
    };
    cfg.router = Router::new(vec![to_uas("sip.test"), to_uas("legacy.test")]);
    cfg
}

fn quiet_sim() -> Sim {
    online_sim_with(quiet_config())
}

/// Advances `d` in 100 ms steps, answering every MESSAGE to the UAS with
/// `status` at once (before any retransmission); returns (offset, body).
fn run_for(sim: &mut Sim, d: Duration, status: u16) -> Vec<(Duration, String)> {
    let step = Duration::from_millis(100);
    let mut seen = Vec::new();
    let mut at = Duration::ZERO;
    while at < d {
        at += step;
        for (_, t) in sim.advance(step) {
            if t.dst == addr(UAS) {
                let req = parse_req(&t);
                seen.push((at, String::from_utf8(req.body().to_vec()).unwrap()));
                sim.input(UAS, answer(&req, status, &[]));
            }
        }
    }
    seen
}

/// An XMPP chat state (no body) from juliet to romeo@sip.test.
fn state_in(sim: &mut Sim, id: &str, state: &str) -> Vec<Transmit> {
    let st = format!(
        "<message from='juliet@xmpp.test/balcony' to='romeo\\40sip.test@cpim.xmpp.test' id='{id}' type='chat'>\
         <{state} xmlns='http://jabber.org/protocol/chatstates'/><thread>th-1</thread></message>"
    );
    sim.gw.handle_xmpp_bytes(sim.now, 1, st.as_bytes());
    sim.drain()
}

/// Answers every MESSAGE in `out` with `status`; returns their bodies.
fn answer_all(sim: &mut Sim, out: Vec<Transmit>, status: u16) -> Vec<String> {
    let mut bodies = Vec::new();
    for t in out.into_iter().filter(|t| t.dst == addr(UAS)) {
        let req = parse_req(&t);
        bodies.push(String::from_utf8(req.body().to_vec()).unwrap());
        sim.input(UAS, answer(&req, status, &[]));
    }
    bodies
}

fn is_active(body: &str) -> bool {
    body.contains("<state>active</state>")
}

fn is_idle(body: &str) -> bool {
    body.contains("<state>idle</state>")
}

#[test]
fn sip_text_html_becomes_body_plus_xhtml_im() {
    let mut sim = quiet_sim();
    let html = b"<html><body><p>Hi <b>Juliet</b></p><script>x()</script></body></html>";
    let m = message(
        "z9hG4bKh1",
        Some(70),
        "alice@sip.test",
        "juliet@xmpp.test",
        "text/html; charset=UTF-8",
        html,
    );
    assert!(sim.input(UAC, m).is_empty());
    let stanza = sent_stanza(&sim);
    assert!(stanza.contains("<body>Hi Juliet</body>"), "{stanza}");
    assert!(
        stanza.contains(
            "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>\
             <p>Hi <strong>Juliet</strong></p></body></html>"
        ),
        "{stanza}"
    );
    assert!(!stanza.contains("script"), "{stanza}");
    assert_eq!(sim.gw.stats().content_dropped, 0);
}

#[test]
fn wrap_cpim_applies_per_sip_domain() {
    let mut cfg = quiet_config();
    if let Some(x) = cfg.xmpp.as_mut() {
        x.wrap_cpim_domains = vec![DomainPattern::parse("legacy.test").unwrap()];
    }
    let mut sim = online_sim_with(cfg);
    let ctype = |sim: &mut Sim, user: &str| {
        let st = format!(
            "<message from='juliet@xmpp.test/b' to='{user}@cpim.xmpp.test' id='w'><body>hi</body></message>"
        );
        sim.gw.handle_xmpp_bytes(sim.now, 1, st.as_bytes());
        let out = sim.drain();
        parse_req(&out[0]).content_type().map(str::to_string)
    };
    assert_eq!(
        ctype(&mut sim, "romeo\\40legacy.test").as_deref(),
        Some("message/cpim")
    );
    assert_eq!(
        ctype(&mut sim, "romeo\\40sip.test").as_deref(),
        Some("text/plain; charset=UTF-8")
    );
}

#[test]
fn xmpp_composing_is_sent_once_refreshed_before_its_refresh_and_ended_by_active() {
    let mut sim = quiet_sim();
    let out = state_in(&mut sim, "c1", "composing");
    let bodies = answer_all(&mut sim, out, 200);
    assert_eq!(bodies.len(), 1);
    assert!(is_active(&bodies[0]) && bodies[0].contains("<refresh>90</refresh>"));
    // A second <composing/> inside the interval is not sent again.
    assert!(state_in(&mut sim, "c2", "composing").is_empty());
    assert_eq!(sim.gw.stats().composing_suppressed, 1);
    // 80 s later (ahead of the announced 90 s) the gateway refreshes.
    let seen = run_for(&mut sim, Duration::from_secs(85), 200);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, Duration::from_secs(80));
    assert!(is_active(&seen[0].1));
    assert_eq!(sim.gw.stats().composing_refreshes, 1);
    // <active/> after composing is RFC 7573 §6 idle…
    let out = state_in(&mut sim, "a1", "active");
    let bodies = answer_all(&mut sim, out, 200);
    assert_eq!(bodies.len(), 1);
    assert!(is_idle(&bodies[0]), "{}", bodies[0]);
    // …and ends the refreshes.
    assert!(run_for(&mut sim, Duration::from_secs(200), 200).is_empty());
    // <active/> from someone not composing sends nothing.
    assert!(state_in(&mut sim, "a2", "active").is_empty());
}

#[test]
fn xmpp_content_ends_composing_without_an_idle() {
    let mut sim = quiet_sim();
    let out = state_in(&mut sim, "c1", "composing");
    answer_all(&mut sim, out, 200);
    let out = xmpp_in(&mut sim, "m1", "done typing");
    let bodies = answer_all(&mut sim, out, 200);
    assert_eq!(bodies, vec!["done typing".to_string()]);
    assert!(
        run_for(&mut sim, Duration::from_secs(200), 200).is_empty(),
        "no refresh, no idle"
    );
}

#[test]
fn xmpp_composing_left_on_is_given_up_with_idle_after_max_active() {
    let mut cfg = quiet_config();
    if let Some(x) = cfg.xmpp.as_mut() {
        x.composing_refresh = Duration::from_secs(60);
        x.composing_max_active = Duration::from_secs(100);
    }
    let mut sim = online_sim_with(cfg);
    let out = state_in(&mut sim, "c1", "composing");
    let bodies = answer_all(&mut sim, out, 200);
    assert!(bodies[0].contains("<refresh>60</refresh>"));
    // Refresh at 50 s; at 100 s max_active is reached: idle, then silence.
    let seen = run_for(&mut sim, Duration::from_secs(300), 200);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, Duration::from_secs(50));
    assert!(is_active(&seen[0].1));
    assert_eq!(seen[1].0, Duration::from_secs(100));
    assert!(is_idle(&seen[1].1));
}

#[test]
fn a_415_to_iscomposing_stops_further_indications_to_that_uri() {
    let mut sim = quiet_sim();
    let out = state_in(&mut sim, "c1", "composing");
    answer_all(&mut sim, out, 415);
    sim.xmpp.clear();
    assert!(state_in(&mut sim, "p1", "paused").is_empty());
    assert!(state_in(&mut sim, "c2", "composing").is_empty());
    assert_eq!(sim.gw.stats().composing_suppressed, 2);
    // Text still goes.
    let out = xmpp_in(&mut sim, "m1", "still here");
    assert_eq!(
        answer_all(&mut sim, out, 200),
        vec!["still here".to_string()]
    );
}

fn iscomposing_message(branch: &str, state: &str, refresh: Option<u32>) -> Vec<u8> {
    let refresh = refresh
        .map(|r| format!("<refresh>{r}</refresh>"))
        .unwrap_or_default();
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\
         <state>{state}</state><contenttype>text/plain</contenttype>{refresh}</isComposing>"
    );
    message(
        branch,
        Some(70),
        "alice@sip.test",
        "juliet@xmpp.test",
        "application/im-iscomposing+xml",
        doc.as_bytes(),
    )
}

fn xmpp_sends(sim: &Sim) -> Vec<String> {
    sim.xmpp
        .iter()
        .filter_map(|o| match o {
            XmppOut::Send(1, s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn sip_composer_that_stops_refreshing_is_paused_for_the_xmpp_user() {
    let mut sim = quiet_sim();
    sim.input(UAC, iscomposing_message("z9hG4bKc1", "active", Some(60)));
    let st = sent_stanza(&sim);
    assert!(
        st.contains("<composing xmlns='http://jabber.org/protocol/chatstates'/>"),
        "{st}"
    );
    assert!(!st.contains("<body"), "{st}");
    sim.xmpp.clear();
    // The SIP sender gets its 202 after the window; then 60 s of silence.
    let fired = sim.advance(Duration::from_secs(59));
    assert_eq!(fired.len(), 1);
    assert!(xmpp_sends(&sim).is_empty(), "not yet");
    sim.advance(Duration::from_secs(2));
    let sends = xmpp_sends(&sim);
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!(
        sends[0].contains("<paused xmlns='http://jabber.org/protocol/chatstates'/>")
            && sends[0].contains("from='alice\\40sip.test@cpim.xmpp.test'")
            && sends[0].contains("to='juliet@xmpp.test'")
            && sends[0].contains("<thread>z9hG4bKc1@uac</thread>"),
        "{}",
        sends[0]
    );
    assert_eq!(sim.gw.stats().composing_timeouts, 1);
}

#[test]
fn sip_idle_or_content_cancels_the_receiver_timeout_and_the_default_is_120_s() {
    let mut sim = quiet_sim();
    // No <refresh>: RFC 3994 §3.3 receiver default of 120 s.
    sim.input(UAC, iscomposing_message("z9hG4bKd1", "active", None));
    sim.xmpp.clear();
    sim.advance(Duration::from_secs(119));
    assert!(xmpp_sends(&sim).is_empty());
    sim.advance(Duration::from_secs(2));
    assert_eq!(xmpp_sends(&sim).len(), 1);
    sim.xmpp.clear();
    // Active, then idle: the idle is mapped, and no timeout follows.
    sim.input(UAC, iscomposing_message("z9hG4bKd2", "active", Some(60)));
    sim.input(UAC, iscomposing_message("z9hG4bKd3", "idle", None));
    sim.advance(Duration::from_secs(200));
    let sends = xmpp_sends(&sim);
    assert_eq!(sends.len(), 2, "composing, paused: {sends:?}");
    assert_eq!(sim.gw.stats().composing_timeouts, 1);
}

//! Gateway core tests: the operator-facing reports in virtual time — one
//! `GatewayEvent::Operation` per finished leg with its outcome, native code
//! and exact elapsed time, the per-rule policy counters, route and DNS
//! answer counters, and the snapshot the metrics layer reads.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::gateway::stats::{Binding, Direction, NativeCode, Operation, Outcome};

/// The operation events since the start, as (binding, direction, outcome,
/// code, elapsed).
fn ops(sim: &Sim) -> Vec<(Binding, Direction, Outcome, NativeCode, Duration)> {
    sim.events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Operation(Operation {
                binding,
                direction,
                outcome,
                code,
                elapsed,
                ..
            }) => Some((*binding, *direction, *outcome, *code, *elapsed)),
            _ => None,
        })
        .collect()
}

use Binding::{Sip, Xmpp};
use Direction::{Inbound, Outbound};

#[test]
fn relayed_message_reports_both_sip_legs_with_the_code_and_time() {
    let mut sim = Sim::new();
    let fwd = relay_one(&mut sim, "z9hG4bKo1");
    sim.advance(Duration::from_millis(40));
    sim.input(UAS, answer(&fwd, 200, &[]));
    let ms40 = Duration::from_millis(40);
    assert_eq!(
        ops(&sim),
        [
            (Sip, Outbound, Outcome::Success, NativeCode::Sip(200), ms40),
            (Sip, Inbound, Outcome::Success, NativeCode::Sip(200), ms40),
        ]
    );
    assert_eq!(sim.gw.stats().routed_static, 1);
}

#[test]
fn downstream_failure_and_202_keep_their_native_code() {
    let mut sim = Sim::new();
    let fwd = relay_one(&mut sim, "z9hG4bKo2");
    sim.input(UAS, answer(&fwd, 486, &[]));
    let fwd = relay_one(&mut sim, "z9hG4bKo3");
    sim.input(UAS, answer(&fwd, 202, &[]));
    let got: Vec<_> = ops(&sim).iter().map(|o| (o.1, o.2, o.3)).collect();
    assert_eq!(
        got,
        [
            (Outbound, Outcome::Failure, NativeCode::Sip(486)),
            (Inbound, Outcome::Failure, NativeCode::Sip(486)),
            (Outbound, Outcome::Indeterminate, NativeCode::Sip(202)),
            (Inbound, Outcome::Indeterminate, NativeCode::Sip(202)),
        ]
    );
}

#[test]
fn timer_f_counts_as_408_on_both_legs_after_64_t1() {
    let mut sim = Sim::new();
    relay_one(&mut sim, "z9hG4bKo4");
    sim.advance(Duration::from_secs(40));
    let t = Duration::from_secs(32);
    assert_eq!(
        ops(&sim),
        [
            (Sip, Outbound, Outcome::Failure, NativeCode::Sip(408), t),
            (Sip, Inbound, Outcome::Failure, NativeCode::Sip(408), t),
        ]
    );
    let snap = sim.gw.snapshot();
    assert_eq!(snap.sip.retransmissions_sent, 10, "Timer E on UDP");
    assert_eq!(snap.pending_relays, 0);
}

#[test]
fn refusals_report_only_the_inbound_leg_and_policy_counts_by_rule() {
    let mut sim = Sim::new();
    let no_route = message(
        "z9hG4bKo5",
        Some(70),
        "alice@sip.test",
        "bob@gw.test",
        "text/plain",
        b"x",
    );
    sim.input(UAC, no_route);
    let hops = message(
        "z9hG4bKo6",
        Some(0),
        "alice@sip.test",
        "bob@example.test",
        "text/plain",
        b"x",
    );
    sim.input(UAC, hops);
    let spoofed = message(
        "z9hG4bKo7",
        Some(70),
        "mallory@evil.test",
        "bob@example.test",
        "text/plain",
        b"x",
    );
    sim.input(UAC, spoofed);
    sim.input("192.0.2.9:5060", text_message("z9hG4bKo8"));
    let codes: Vec<_> = ops(&sim)
        .iter()
        .map(|o| (o.0, o.1, o.2, o.3, o.4.is_zero()))
        .collect();
    let refused = |code| (Sip, Inbound, Outcome::Failure, NativeCode::Sip(code), true);
    assert_eq!(
        codes,
        [refused(404), refused(483), refused(403), refused(403)]
    );
    let s = sim.gw.stats();
    assert_eq!(s.policy.source_domain, 1);
    assert_eq!(s.policy.unknown_peer, 1);
    assert_eq!(s.refused_policy, 2);
    assert_eq!(s.refused_no_route, 1);
}

#[test]
fn dns_answers_are_counted_by_kind() {
    let mut sim = Sim::with(dns_config());
    let msg = message(
        "z9hG4bKo9",
        Some(70),
        "alice@sip.test",
        "bob@nowhere.test",
        "text/plain",
        b"x",
    );
    sim.input(UAC, msg);
    for q in sim.queries() {
        sim.answer(&q, Answer::NxDomain);
    }
    let s = sim.gw.stats();
    assert!(s.dns_answers.nxdomain >= 1, "{:?}", s.dns_answers);
    assert_eq!(s.dns_answers.records, 0);
}

// --- the XMPP legs ------------------------------------------------------

/// The component link online, built by the XMPP tests' helpers.
fn xmpp_sim() -> Sim {
    let offline = Sim::with(super::xmpp::xmpp_config());
    assert_eq!(offline.gw.snapshot().xmpp.state, LinkState::Disconnected);
    let sim = super::xmpp::online_sim_with(super::xmpp::xmpp_config());
    assert_eq!(sim.gw.snapshot().xmpp.state, LinkState::Online);
    sim
}

fn to_xmpp(branch: &str, user: &str) -> Vec<u8> {
    message(
        branch,
        Some(70),
        "alice@sip.test",
        &format!("{user}@xmpp.test"),
        "text/plain",
        b"hi",
    )
}

fn last_stanza_id(sim: &Sim) -> String {
    let Some(XmppOut::Send(_, s)) = sim.xmpp.last() else {
        panic!("no stanza: {:?}", sim.xmpp)
    };
    s.split("id='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap()
        .to_string()
}

#[test]
fn sip_to_xmpp_quiet_window_is_indeterminate_on_both_legs() {
    let mut sim = xmpp_sim();
    sim.input(UAC, to_xmpp("z9hG4bKx1", "juliet"));
    sim.advance(Duration::from_millis(300));
    let w = Duration::from_millis(300);
    assert_eq!(
        ops(&sim),
        [
            (Xmpp, Outbound, Outcome::Indeterminate, NativeCode::None, w),
            (
                Sip,
                Inbound,
                Outcome::Indeterminate,
                NativeCode::Sip(202),
                w
            ),
        ]
    );
    assert_eq!(sim.gw.stats().routed_xmpp, 1);
}

#[test]
fn xmpp_error_is_reported_with_its_condition() {
    let mut sim = xmpp_sim();
    sim.input(UAC, to_xmpp("z9hG4bKx2", "nobody"));
    let id = last_stanza_id(&sim);
    sim.advance(Duration::from_millis(50));
    let err = format!(
        "<message type='error' id='{id}' from='nobody@xmpp.test' to='alice\\40sip.test@cpim.xmpp.test'>\
         <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    );
    sim.gw.handle_xmpp_bytes(sim.now, 1, err.as_bytes());
    sim.drain();
    let ms50 = Duration::from_millis(50);
    assert_eq!(
        ops(&sim),
        [
            (
                Xmpp,
                Outbound,
                Outcome::Failure,
                NativeCode::Xmpp("service-unavailable"),
                ms50
            ),
            (Sip, Inbound, Outcome::Failure, NativeCode::Sip(403), ms50),
        ]
    );
}

#[test]
fn xmpp_to_sip_reports_the_xmpp_inbound_leg() {
    let mut sim = xmpp_sim();
    sim.gw.config.router = Router::new(vec![StaticRoute {
        domain: DomainPattern::parse("sip.test").unwrap(),
        next_hop: NextHop {
            addr: addr(UAS),
            transport: Transport::Udp,
        },
    }]);
    let inbound = |id: &str| {
        format!(
            "<message from='juliet@xmpp.test/balcony' to='romeo\\40sip.test@cpim.xmpp.test' id='{id}' type='chat'>\
             <body>hi</body></message>"
        )
    };
    sim.gw
        .handle_xmpp_bytes(sim.now, 1, inbound("m1").as_bytes());
    let out = sim.drain();
    sim.input(UAS, answer(&parse_req(&out[0]), 200, &[]));
    sim.gw
        .handle_xmpp_bytes(sim.now, 1, inbound("m2").as_bytes());
    let out = sim.drain();
    sim.input(UAS, answer(&parse_req(&out[0]), 404, &[]));
    // Refused on arrival: no such SIP user can be named.
    let bad =
        "<message from='juliet@xmpp.test/b' to='cpim.xmpp.test' id='m3'><body>x</body></message>";
    sim.gw.handle_xmpp_bytes(sim.now, 1, bad.as_bytes());
    sim.drain();
    let got: Vec<_> = ops(&sim).iter().map(|o| (o.0, o.1, o.2, o.3)).collect();
    assert_eq!(
        got,
        [
            (Sip, Outbound, Outcome::Success, NativeCode::Sip(200)),
            (Xmpp, Inbound, Outcome::Success, NativeCode::None),
            (Sip, Outbound, Outcome::Failure, NativeCode::Sip(404)),
            (
                Xmpp,
                Inbound,
                Outcome::Failure,
                NativeCode::Xmpp("item-not-found")
            ),
            (
                Xmpp,
                Inbound,
                Outcome::Failure,
                NativeCode::Xmpp("item-not-found")
            ),
        ]
    );
}

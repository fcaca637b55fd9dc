//! Gateway core tests: reload (routes and policy swapped, in-flight relays
//! keep their hop) and drain (new work refused with 503 Retry-After,
//! accepted work finishes, the deadline answers what is left).

#![allow(clippy::unwrap_used)]

use super::*;

const UAS_B: &str = "127.0.0.1:5091";

#[test]
fn reload_swaps_routes_for_new_relays_and_in_flight_ones_keep_their_hop() {
    let mut sim = Sim::new();
    let first = sim.input(UAC, text_message("z9hG4bKr1"));
    assert_eq!(first[0].dst, addr(UAS));
    let mut new = config();
    new.router = Router::new(vec![StaticRoute {
        domain: DomainPattern::parse("example.test").unwrap(),
        next_hop: NextHop {
            addr: addr(UAS_B),
            transport: Transport::Udp,
        },
    }]);
    new.policy.deny_destinations.clear();
    new.ports = vec![(Transport::Udp, 5062)];
    let r = sim.gw.reload(&new);
    assert_eq!(r.needs_restart, vec!["sip listeners"]);
    assert_eq!(sim.gw.stats().reloads, 1);
    // The in-flight relay is answered through its old hop.
    let up = sim.input(UAS, answer(&parse_req(&first[0]), 200, &[]));
    assert_eq!(parse_resp(&up[0]).status(), StatusCode::OK);
    // New relays take the new route.
    let second = sim.input(UAC, text_message("z9hG4bKr2"));
    assert_eq!(second[0].dst, addr(UAS_B));
    // The new policy applies: denied.test is no longer denied (then no route).
    let m = message(
        "z9hG4bKr3",
        Some(70),
        "alice@sip.test",
        "bob@denied.test",
        "text/plain",
        b"x",
    );
    let out = sim.input(UAC, m);
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::NOT_FOUND);
}

#[test]
fn drain_refuses_new_messages_with_503_and_lets_accepted_ones_finish() {
    let mut sim = Sim::new();
    let fwd = sim.input(UAC, text_message("z9hG4bKd1"));
    sim.gw.begin_drain();
    assert!(sim.gw.is_draining() && !sim.gw.is_drained());
    let out = sim.input(UAC, text_message("z9hG4bKd2"));
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.header("Retry-After"), Some("5"));
    assert_eq!(sim.gw.stats().refused_draining, 1);
    // The accepted one finishes normally.
    let up = sim.input(UAS, answer(&parse_req(&fwd[0]), 200, &[]));
    assert_eq!(parse_resp(&up[0]).status(), StatusCode::OK);
    assert!(sim.gw.is_drained());
}

#[test]
fn drain_deadline_answers_forwarded_relays_202_and_unforwarded_ones_503() {
    let mut sim = Sim::with(dns_config());
    // Forwarded (static route), no answer yet.
    let fwd = sim.input(UAC, text_message("z9hG4bKf1"));
    assert_eq!(fwd.len(), 1);
    // Waiting for DNS: not forwarded.
    let m = message(
        "z9hG4bKf2",
        Some(70),
        "alice@sip.test",
        "bob@far.test",
        "text/plain",
        b"x",
    );
    assert!(sim.input(UAC, m).is_empty());
    assert_eq!(sim.gw.pending_relays(), 2, "one forwarded, one resolving");
    sim.gw.begin_drain();
    sim.gw.finish_drain(sim.now);
    let out = sim.drain();
    let mut statuses: Vec<u16> = out
        .iter()
        .map(|t| parse_resp(t).status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![202, 503]);
    let refused = out
        .iter()
        .map(parse_resp)
        .find(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
        .unwrap();
    assert!(refused.header("Retry-After").is_some());
    assert!(sim.gw.is_drained());
}

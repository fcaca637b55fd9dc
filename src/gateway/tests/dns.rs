//! Gateway core tests: DNS routing (RFC 3861 / RFC 3263) in virtual time.

#![allow(clippy::unwrap_used)]

use super::*;

// --- DNS routing (RFC 3861 / RFC 3263) in virtual time -------------------

use crate::route::{Record, Rtype};

fn srv(name: &str, prio: u16, port: u16, target: &str) -> Record {
    Record::srv(name, 0, prio, 10, port, target)
}

fn a(name: &str) -> Record {
    Record::a(name, 0, std::net::Ipv4Addr::LOCALHOST)
}

/// Answers every outstanding query from a zone until none is left; names
/// not in the zone get NXDOMAIN.
fn serve_zone(sim: &mut Sim, zone: &[(&str, Rtype, Vec<Record>)]) -> Vec<Transmit> {
    let mut sent = Vec::new();
    for _ in 0..20 {
        let qs = sim.queries();
        if qs.is_empty() {
            break;
        }
        for q in qs {
            let hit = zone
                .iter()
                .find(|(n, t, _)| q.name.trim_end_matches('.') == *n && q.rtype == *t);
            let ans = match hit {
                Some((_, _, recs)) => Answer::Records(recs.clone()),
                None if zone
                    .iter()
                    .any(|(n, _, _)| q.name.trim_end_matches('.') == *n) =>
                {
                    Answer::NoData
                }
                None => Answer::NxDomain,
            };
            sent.extend(sim.answer(&q, ans));
        }
    }
    sent
}

fn msg_to(branch: &str, uri: &str) -> Vec<u8> {
    String::from_utf8(text_message(branch))
        .unwrap()
        .replace("MESSAGE sip:bob@example.test", &format!("MESSAGE {uri}"))
        .into_bytes()
}

#[test]
fn im_destination_is_routed_to_the_srv_target() {
    let mut sim = Sim::with(dns_config());
    assert!(
        sim.input(UAC, msg_to("z9hG4bKd1", "im:bob@far.test"))
            .is_empty(),
        "waits for DNS"
    );
    let zone = vec![
        (
            "_im._sip.far.test",
            Rtype::Srv,
            vec![srv("_im._sip.far.test", 10, 5099, "uas.far.test")],
        ),
        ("uas.far.test", Rtype::A, vec![a("uas.far.test")]),
    ];
    let sent = serve_zone(&mut sim, &zone);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].dst, addr("127.0.0.1:5099"));
    let fwd = parse_req(&sent[0]);
    assert_eq!(
        fwd.uri().as_str(),
        "im:bob@far.test",
        "Request-URI stays the AoR"
    );
    assert_eq!(sim.gw.stats().routed_dns, 1);
}

#[test]
fn failover_to_the_next_srv_target_within_the_same_transaction() {
    let mut sim = Sim::with(dns_config());
    sim.input(UAC, msg_to("z9hG4bKd2", "sip:bob@far.test"));
    let zone = vec![
        (
            "_sip._udp.far.test",
            Rtype::Srv,
            vec![
                srv("_sip._udp.far.test", 10, 5101, "one.far.test"),
                srv("_sip._udp.far.test", 20, 5102, "two.far.test"),
            ],
        ),
        ("one.far.test", Rtype::A, vec![a("one.far.test")]),
        ("two.far.test", Rtype::A, vec![a("two.far.test")]),
        ("far.test", Rtype::A, vec![a("far.test")]),
    ];
    let sent = serve_zone(&mut sim, &zone);
    assert_eq!(sent[0].dst, addr("127.0.0.1:5101"));
    // The first target refuses: the next leg goes to the priority-20 target.
    sim.gw
        .handle_transport_error(sim.now, addr("127.0.0.1:5101"), Transport::Udp);
    let out = sim.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].dst, addr("127.0.0.1:5102"));
    let fwd = parse_req(&out[0]);
    let back = sim.input("127.0.0.1:5102", answer(&fwd, 200, &[]));
    assert_eq!(back[0].dst, addr(UAC));
    assert_eq!(parse_resp(&back[0]).status(), StatusCode::OK);
    assert_eq!(sim.gw.stats().failovers, 1);
    // A 503 from a target fails over too; the last one's failure is final.
}

#[test]
fn dead_srv_targets_never_fall_back_to_the_domain_a_record() {
    let mut sim = Sim::with(dns_config());
    sim.input(UAC, msg_to("z9hG4bKd3", "sip:bob@dead.test"));
    let zone = vec![
        (
            "_sip._udp.dead.test",
            Rtype::Srv,
            vec![srv("_sip._udp.dead.test", 10, 5103, "gone.dead.test")],
        ),
        ("gone.dead.test", Rtype::A, vec![a("gone.dead.test")]),
        ("dead.test", Rtype::A, vec![a("dead.test")]),
    ];
    let sent = serve_zone(&mut sim, &zone);
    assert_eq!(sent[0].dst, addr("127.0.0.1:5103"));
    sim.gw
        .handle_transport_error(sim.now, addr("127.0.0.1:5103"), Transport::Udp);
    let out = sim.drain();
    assert_eq!(out.len(), 1, "no leg to dead.test:5060");
    assert_eq!(out[0].dst, addr(UAC));
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.header("Retry-After").is_some());
}

#[test]
fn no_srv_uses_the_a_record_at_the_default_port() {
    let mut sim = Sim::with(dns_config());
    sim.input(UAC, msg_to("z9hG4bKd4", "sip:bob@plain.test"));
    let zone = vec![("plain.test", Rtype::A, vec![a("plain.test")])];
    let sent = serve_zone(&mut sim, &zone);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].dst, addr("127.0.0.1:5060"));
}

#[test]
fn nxdomain_is_404_timeout_is_408_and_xmpp_only_is_502() {
    let mut sim = Sim::with(dns_config());
    sim.input(UAC, msg_to("z9hG4bKd5", "sip:bob@nowhere.test"));
    let out = serve_zone(&mut sim, &[]);
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::NOT_FOUND);

    sim.input(UAC, msg_to("z9hG4bKd6", "sip:bob@slow.test"));
    let mut out = Vec::new();
    for q in sim.queries() {
        out.extend(sim.answer(&q, Answer::Timeout));
    }
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::REQUEST_TIMEOUT);

    sim.input(UAC, msg_to("z9hG4bKd7", "im:bob@xonly.test"));
    let zone = vec![
        (
            "_im._xmpp.xonly.test",
            Rtype::Srv,
            vec![srv("_im._xmpp.xonly.test", 0, 5269, "x.xonly.test")],
        ),
        ("x.xonly.test", Rtype::A, vec![a("x.xonly.test")]),
    ];
    let out = serve_zone(&mut sim, &zone);
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert!(
        resp.header("Warning").unwrap().contains("XMPP"),
        "Warning explains why"
    );
    assert_eq!(sim.gw.pending_relays(), 0);
}

#[test]
fn static_route_beats_dns_and_default_route_catches_nxdomain() {
    let mut cfg = dns_config();
    cfg.default_route = Some(NextHop {
        addr: addr("127.0.0.1:5200"),
        transport: Transport::Udp,
    });
    let mut sim = Sim::with(cfg);
    // example.test has a static route: no DNS query at all.
    let out = sim.input(UAC, text_message("z9hG4bKd8"));
    assert_eq!(out[0].dst, addr(UAS));
    assert!(sim.queries().is_empty());
    // NXDOMAIN → the default route.
    sim.input(UAC, msg_to("z9hG4bKd9", "sip:bob@nowhere.test"));
    let out = serve_zone(&mut sim, &[]);
    assert_eq!(out[0].dst, addr("127.0.0.1:5200"));
    assert_eq!(sim.gw.stats().routed_default, 1);
}

#[test]
fn domain_policy_denies_with_403_and_rate_limits_with_503_retry_after() {
    use crate::gateway::policy::{DomainAction, DomainRule};
    let mut cfg = config();
    cfg.policy.domain_rules = vec![
        DomainRule::new(
            DomainPattern::parse("example.test").unwrap(),
            DomainAction::RateLimit {
                per_second: 1.0,
                burst: 2.0,
            },
        ),
        DomainRule::new(
            DomainPattern::parse("spam.test").unwrap(),
            DomainAction::Deny,
        ),
    ];
    cfg.router = Router::new(vec![StaticRoute {
        domain: DomainPattern::parse("*").unwrap(),
        next_hop: NextHop {
            addr: addr(UAS),
            transport: Transport::Udp,
        },
    }]);
    let mut sim = Sim::with(cfg);
    // Two within the burst are relayed; the third is 503 with Retry-After.
    assert_eq!(sim.input(UAC, text_message("z9hG4bKrl1"))[0].dst, addr(UAS));
    assert_eq!(sim.input(UAC, text_message("z9hG4bKrl2"))[0].dst, addr(UAS));
    let resp = parse_resp(&sim.input(UAC, text_message("z9hG4bKrl3"))[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.header("Retry-After"), Some("1"));
    assert_eq!(sim.gw.stats().refused_rate_limit, 1);
    // A second later one more is allowed.
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.input(UAC, text_message("z9hG4bKrl4"))[0].dst, addr(UAS));
    // A denied destination domain is 403.
    let spam = message(
        "z9hG4bKrl5",
        Some(70),
        "alice@sip.test",
        "bob@spam.test",
        "text/plain",
        b"x",
    );
    assert_eq!(
        parse_resp(&sim.input(UAC, spam)[0]).status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(sim.gw.stats().refused_policy, 1);
}

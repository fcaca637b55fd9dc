//! Virtual-time tests of overload control and the federation rate limits:
//! the header-only shed at the relay-table bound (503 + Retry-After,
//! counted, retransmissions absorbed, the body never read, recovery when
//! the table drains), per-peer and per-source-domain token buckets, and
//! `require_tls`.

use std::sync::Arc;

use super::*;
use crate::gateway::policy::{DomainAction, DomainRule, PeerIdentity, Rate, RateScope};

fn bounded(n: usize) -> Sim {
    let mut cfg = config();
    cfg.max_pending_relays = n;
    Sim::with(cfg)
}

#[test]
fn at_the_bound_a_new_message_is_shed_from_its_headers_with_retry_after() {
    let mut sim = bounded(1);
    let pending = relay_one(&mut sim, "z9hG4bKo1");
    let out = sim.input(UAC, text_message("z9hG4bKo2"));
    assert_eq!(out.len(), 1, "one answer, nothing relayed");
    assert_eq!(out[0].dst, addr(UAC));
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        resp.header("Retry-After"),
        Some(SHED_RETRY_AFTER_SECS.to_string().as_str())
    );
    assert!(resp.header("Warning").unwrap().contains("overloaded"));
    assert_eq!(resp.cseq().method(), &Method::Message);
    let s = sim.gw.stats();
    assert_eq!((s.shed.headers, s.shed.relay_table), (1, 0));
    assert_eq!(s.refused_overload, 1);

    // A retransmission of the accepted MESSAGE is absorbed by its own
    // transaction, not shed.
    let absorbed_before = sim.gw.stats().sip_retransmissions_absorbed;
    assert!(sim.input(UAC, text_message("z9hG4bKo1")).is_empty());
    assert_eq!(
        sim.gw.stats().sip_retransmissions_absorbed,
        absorbed_before + 1
    );
    // A retransmission of the shed one gets the same 503 again.
    let again = sim.input(UAC, text_message("z9hG4bKo2"));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].payload, out[0].payload);
    assert_eq!(sim.gw.stats().shed.headers, 1, "counted once");

    // Other requests are still served.
    let options = "OPTIONS sip:gw.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKo3\r\n\
         From: <sip:alice@sip.test>;tag=x\r\nTo: <sip:gw.test>\r\nCall-ID: o3@uac\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let ok = sim.input(UAC, options.as_bytes().to_vec());
    assert_eq!(parse_resp(&ok[0]).status(), StatusCode::OK);

    // The table drains: the next MESSAGE is relayed again.
    let done = sim.input(UAS, answer(&pending, 200, &[]));
    assert_eq!(parse_resp(&done[0]).status(), StatusCode::OK);
    relay_one(&mut sim, "z9hG4bKo4");
}

#[test]
fn the_shed_path_never_reads_the_body() {
    let mut sim = bounded(1);
    relay_one(&mut sim, "z9hG4bKb1");
    // An unparseable CPIM body would be 400 (or 415) if it were read.
    let broken = message(
        "z9hG4bKb2",
        Some(70),
        "alice@sip.test",
        "bob@example.test",
        "message/cpim",
        b"\xff\xfe not a cpim wrapper",
    );
    let out = sim.input(UAC, broken);
    assert_eq!(
        parse_resp(&out[0]).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(sim.gw.stats().refused_translation, 0);
    assert_eq!(sim.gw.stats().shed.headers, 1);
}

#[test]
fn a_request_without_an_rfc3261_branch_is_shed_after_the_full_parse() {
    let mut sim = bounded(1);
    relay_one(&mut sim, "z9hG4bKl1");
    let legacy = text_message("legacy-2543");
    let resp = parse_resp(&sim.input(UAC, legacy)[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.header("Retry-After").is_some());
    let s = sim.gw.stats();
    assert_eq!((s.shed.headers, s.shed.relay_table), (0, 1));
}

#[test]
fn shed_requests_are_not_counted_as_received_twice() {
    let mut sim = bounded(1);
    relay_one(&mut sim, "z9hG4bKc1");
    let before = sim.gw.stats().sip_requests_received;
    sim.input(UAC, text_message("z9hG4bKc2"));
    assert_eq!(sim.gw.stats().sip_requests_received, before + 1);
}

fn rate_limited_peer(per_second: f64, burst: f64) -> Sim {
    let mut cfg = config();
    if let Some(p) = cfg.policy.peers.first_mut() {
        p.rate = Some(Rate { per_second, burst });
    }
    Sim::with(cfg)
}

#[test]
fn a_peer_over_its_rate_gets_503_with_retry_after_until_a_token_is_back() {
    let mut sim = rate_limited_peer(2.0, 2.0);
    relay_one(&mut sim, "z9hG4bKr1");
    relay_one(&mut sim, "z9hG4bKr2");
    let out = sim.input(UAC, text_message("z9hG4bKr3"));
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.header("Retry-After"), Some("1"));
    assert!(resp.header("Warning").unwrap().contains("sip-test"));
    let s = sim.gw.stats();
    assert_eq!(s.policy.peer_rate_limited, 1);
    assert_eq!(s.refused_rate_limit, 1);
    assert_eq!(s.shed.sip(), 0, "a rate limit is not a shed");
    // Half a second later one token is back (2 per second).
    sim.advance(Duration::from_millis(500));
    relay_one(&mut sim, "z9hG4bKr4");
    let out = sim.input(UAC, text_message("z9hG4bKr5"));
    assert_eq!(
        parse_resp(&out[0]).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[test]
fn a_refused_request_costs_the_peer_no_token() {
    let mut sim = rate_limited_peer(1.0, 1.0);
    // Denied destination: 403, and the token stays.
    let denied = message(
        "z9hG4bKd1",
        Some(70),
        "alice@sip.test",
        "bob@denied.test",
        "text/plain",
        b"x",
    );
    assert_eq!(
        parse_resp(&sim.input(UAC, denied)[0]).status(),
        StatusCode::FORBIDDEN
    );
    relay_one(&mut sim, "z9hG4bKd2");
}

#[test]
fn per_domain_scope_gives_each_source_domain_its_own_bucket() {
    let mut cfg = config();
    cfg.policy.unknown_peer = UnknownPeer::Allow;
    cfg.policy.peers.clear();
    let mut rule = DomainRule::new(
        DomainPattern::parse("*.src.test").unwrap(),
        DomainAction::RateLimit {
            per_second: 0.5,
            burst: 1.0,
        },
    );
    rule.scope = RateScope::Domain;
    cfg.policy.domain_rules = vec![rule];
    let mut sim = Sim::with(cfg);
    let from = |branch: &str, domain: &str| {
        message(
            branch,
            Some(70),
            &format!("alice@{domain}"),
            "bob@example.test",
            "text/plain",
            b"x",
        )
    };
    let status = |sim: &mut Sim, bytes: Vec<u8>| {
        let out = sim.input(UAC, bytes);
        if out[0].dst == addr(UAS) {
            0
        } else {
            parse_resp(&out[0]).status().as_u16()
        }
    };
    assert_eq!(status(&mut sim, from("z9hG4bKs1", "a.src.test")), 0);
    assert_eq!(status(&mut sim, from("z9hG4bKs2", "b.src.test")), 0);
    let out = sim.input(UAC, from("z9hG4bKs3", "a.src.test"));
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.header("Retry-After"), Some("2"), "0.5 per second");
    assert_eq!(sim.gw.stats().policy.rate_limited, 1);
}

#[test]
fn require_tls_refuses_a_source_domain_without_a_mutual_tls_identity() {
    let mut cfg = config();
    let mut rule = DomainRule::new(
        DomainPattern::parse("sip.test").unwrap(),
        DomainAction::Allow,
    );
    rule.require_tls = true;
    cfg.policy.domain_rules = vec![rule];
    if let Some(p) = cfg.policy.peers.first_mut() {
        p.tls_names = vec![DomainPattern::parse("sip.test").unwrap()];
    }
    let mut sim = Sim::with(cfg);
    let resp = parse_resp(&sim.input(UAC, text_message("z9hG4bKt1"))[0]);
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.header("Warning").unwrap().contains("mutual-TLS"));
    assert_eq!(sim.gw.stats().policy.tls_required, 1);
    // The same request with a verified certificate naming the peer.
    let id = Arc::new(PeerIdentity::new(["sip.test"]));
    sim.gw.handle_sip_identified(
        sim.now,
        addr(UAC),
        Transport::Tls,
        text_message("z9hG4bKt2").into(),
        Some(id),
    );
    let out = sim.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].dst, addr(UAS), "relayed");
}

#[test]
fn a_full_server_transaction_table_sheds_every_new_request_statelessly() {
    let mut cfg = config();
    cfg.max_server_transactions = 1;
    let mut sim = Sim::with(cfg);
    let pending = relay_one(&mut sim, "z9hG4bKx1");
    assert_eq!(sim.gw.transactions().server_count(), 1);
    let options = "OPTIONS sip:gw.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKx2\r\n\
         From: <sip:alice@sip.test>;tag=x\r\nTo: <sip:gw.test>\r\nCall-ID: x2@uac\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    for _ in 0..2 {
        let out = sim.input(UAC, options.as_bytes().to_vec());
        let resp = parse_resp(&out[0]);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(resp.header("Retry-After").is_some());
        assert!(
            resp.header("Warning")
                .unwrap()
                .contains("transaction table")
        );
    }
    assert_eq!(
        sim.gw.transactions().server_count(),
        1,
        "no new transaction"
    );
    assert_eq!(sim.gw.stats().shed.stateless, 2);
    // Responses still reach their client transactions: the relay finishes.
    let done = sim.input(UAS, answer(&pending, 200, &[]));
    assert_eq!(parse_resp(&done[0]).status(), StatusCode::OK);
}

#[test]
fn the_destination_queue_bound_is_configurable() {
    let mut cfg = config();
    cfg.max_queued_per_destination = 7;
    let sim = Sim::with(cfg);
    assert_eq!(sim.gw.config.max_queued_per_destination, 7);
}

fn new_subscribe(branch: &str, call_id: &str) -> Vec<u8> {
    format!(
        "SUBSCRIBE sip:romeo@xmpp.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch={branch}\r\n\
         From: <sip:alice@sip.test>;tag=w1\r\nTo: <sip:romeo@xmpp.test>\r\nCall-ID: {call_id}\r\nCSeq: 1 SUBSCRIBE\r\n\
         Contact: <sip:alice@127.0.0.1:5081>\r\nEvent: presence\r\nExpires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn a_new_subscription_meets_the_peer_rate_limit_and_require_tls() {
    let mut cfg = super::xmpp::xmpp_config();
    if let Some(p) = cfg.policy.peers.first_mut() {
        p.rate = Some(Rate {
            per_second: 1.0,
            burst: 1.0,
        });
    }
    let mut sim = super::xmpp::online_sim_with(cfg);
    let first = sim.input(UAC, new_subscribe("z9hG4bKps1", "ps1@uac"));
    assert_eq!(parse_resp(&first[0]).status(), StatusCode::OK);
    let second = sim.input(UAC, new_subscribe("z9hG4bKps2", "ps2@uac"));
    let r = parse_resp(&second[0]);
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert_eq!(sim.gw.stats().policy.peer_rate_limited, 1);

    let mut cfg = super::xmpp::xmpp_config();
    let mut rule = DomainRule::new(
        DomainPattern::parse("sip.test").unwrap(),
        DomainAction::Allow,
    );
    rule.require_tls = true;
    cfg.policy.domain_rules = vec![rule];
    let mut sim = super::xmpp::online_sim_with(cfg);
    let out = sim.input(UAC, new_subscribe("z9hG4bKpt1", "pt1@uac"));
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::FORBIDDEN);
    assert_eq!(sim.gw.stats().policy.tls_required, 1);
}

#[test]
fn an_xmpp_sender_over_a_domain_rate_gets_resource_constraint_of_type_wait() {
    let mut cfg = super::xmpp::xmpp_config();
    cfg.policy.domain_rules = vec![DomainRule::new(
        DomainPattern::parse("xmpp.test").unwrap(),
        DomainAction::RateLimit {
            per_second: 1.0,
            burst: 1.0,
        },
    )];
    cfg.router = Router::new(vec![StaticRoute {
        domain: DomainPattern::parse("sip.test").unwrap(),
        next_hop: NextHop {
            addr: addr(UAS),
            transport: Transport::Udp,
        },
    }]);
    let mut sim = super::xmpp::online_sim_with(cfg);
    assert_eq!(super::xmpp::xmpp_in(&mut sim, "q1", "one").len(), 1);
    assert!(super::xmpp::xmpp_in(&mut sim, "q2", "two").is_empty());
    let reply = super::xmpp::sent_stanza(&sim);
    assert!(
        reply.contains("resource-constraint")
            && reply.contains("type='wait'")
            && reply.contains("id='q2'"),
        "{reply}"
    );
    let s = sim.gw.stats();
    assert_eq!((s.policy.rate_limited, s.refused_rate_limit), (1, 1));
}

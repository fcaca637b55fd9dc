//! Resolution tests in virtual time against an in-memory zone modelled on
//! the acceptance bench (`peers/dns/dnsmasq.conf`).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;
use crate::route::records::{Record, RecordData, fqdn, same_name};

mod driving;
mod sip;

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A toy authoritative server: exact-name answers, CNAMEs returned as is
/// (not chased, so the core must re-ask), NXDOMAIN for unknown names.
#[derive(Default)]
struct Zone {
    records: Vec<Record>,
    overrides: Vec<(String, Rtype, Answer)>,
    /// Put the targets' A records in SRV answers (additional section).
    additional: bool,
}

impl Zone {
    fn new(records: Vec<Record>) -> Zone {
        Zone {
            records,
            ..Zone::default()
        }
    }

    fn with(mut self, name: &str, rtype: Rtype, answer: Answer) -> Zone {
        self.overrides.push((fqdn(name), rtype, answer));
        self
    }

    fn answer(&self, q: &Query) -> Answer {
        if let Some((_, _, a)) = self
            .overrides
            .iter()
            .find(|(n, t, _)| same_name(n, &q.name) && *t == q.rtype)
        {
            return a.clone();
        }
        let at_name: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| same_name(&r.name, &q.name))
            .collect();
        let mut hits: Vec<Record> = at_name
            .iter()
            .filter(|r| r.data.rtype() == q.rtype || r.data.rtype() == Rtype::Cname)
            .map(|r| (*r).clone())
            .collect();
        if hits.is_empty() {
            return if at_name.is_empty() {
                Answer::NxDomain
            } else {
                Answer::NoData
            };
        }
        if self.additional && q.rtype == Rtype::Srv {
            let targets: Vec<String> = hits
                .iter()
                .filter_map(|r| match &r.data {
                    RecordData::Srv(s) => Some(s.target.clone()),
                    _ => None,
                })
                .collect();
            let extra = self.records.iter().filter(|r| {
                r.data.rtype() == Rtype::A && targets.iter().any(|t| same_name(t, &r.name))
            });
            hits.extend(extra.cloned());
        }
        Answer::Records(hits)
    }
}

struct Run {
    result: Result<Plan, RouteError>,
    asked: Vec<(String, Rtype)>,
    trace: Trace,
}

impl Run {
    fn asked(&self, name: &str, rtype: Rtype) -> bool {
        self.asked
            .iter()
            .any(|(n, t)| same_name(n, name) && *t == rtype)
    }

    fn plan(&self) -> &Plan {
        match &self.result {
            Ok(p) => p,
            Err(e) => panic!(
                "expected a plan, got {e}\n{}",
                describe(&self.trace, &self.result)
            ),
        }
    }

    fn addrs(&self) -> Vec<String> {
        self.plan()
            .candidates()
            .iter()
            .map(|c| c.addr.to_string())
            .collect()
    }

    fn err(&self) -> &RouteError {
        match &self.result {
            Err(e) => e,
            Ok(p) => panic!("expected an error, got {p:?}"),
        }
    }
}

/// The only clock read: an arbitrary base for virtual time.
#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

fn v4only() -> ResolutionConfig {
    ResolutionConfig {
        families: AddressFamilies::V4Only,
        ..ResolutionConfig::default()
    }
}

fn run_at(
    target: Target,
    cfg: &ResolutionConfig,
    zone: &Zone,
    cache: &mut DnsCache,
    now: Instant,
) -> Run {
    let mut r = Resolution::new(1, target, cfg, StdRng::seed_from_u64(42));
    let mut asked = Vec::new();
    for _ in 0..100 {
        let mut batch = Vec::new();
        while let Some(q) = r.poll_query(now, cache) {
            batch.push(q);
        }
        if let Some(result) = r.poll_result() {
            assert!(r.is_finished());
            return Run {
                result,
                asked,
                trace: r.trace().clone(),
            };
        }
        assert!(!batch.is_empty(), "resolution stalled: {:?}", r.trace());
        for q in batch {
            asked.push((q.name.clone(), q.rtype));
            r.handle_answer(now, q.id, zone.answer(&q), cache);
        }
    }
    panic!("resolution did not finish");
}

fn run(target: Target, cfg: &ResolutionConfig, zone: &Zone) -> Run {
    run_at(target, cfg, zone, &mut DnsCache::disabled(), t0())
}

fn im(domain: &str) -> Target {
    Target::service(Service::Im, domain).unwrap_or_else(|e| panic!("{e}"))
}

fn sip(host: &str, port: Option<u16>, transport: Option<SipTransport>) -> Target {
    Target::sip(host, port, transport, false).unwrap_or_else(|e| panic!("{e}"))
}

/// `example.test` and `xmpp.test` as in dnsmasq.conf, plus two-target and
/// NAPTR domains.
fn bench() -> Zone {
    Zone::new(vec![
        Record::a("example.test", 300, LO),
        Record::a("uas.example.test", 300, LO),
        Record::srv(
            "_sip._udp.example.test",
            300,
            10,
            10,
            5090,
            "uas.example.test",
        ),
        Record::srv(
            "_im._sip.example.test",
            300,
            10,
            10,
            5090,
            "uas.example.test",
        ),
        Record::srv(
            "_pres._sip.example.test",
            300,
            10,
            10,
            5090,
            "uas.example.test",
        ),
        Record::a("xmpp.test", 300, LO),
        Record::a("prosody.xmpp.test", 300, LO),
        Record::srv("_im._xmpp.xmpp.test", 300, 0, 5, 5269, "prosody.xmpp.test"),
        Record::srv(
            "_xmpp-server._tcp.xmpp.test",
            300,
            0,
            5,
            5269,
            "prosody.xmpp.test",
        ),
        // two.test: priorities 10 and 20 on different ports.
        Record::a("two.test", 300, Ipv4Addr::new(127, 0, 0, 9)),
        Record::srv("_im._sip.two.test", 300, 20, 0, 5092, "b.two.test"),
        Record::srv("_im._sip.two.test", 300, 10, 0, 5091, "a.two.test"),
        Record::a("a.two.test", 300, Ipv4Addr::new(127, 0, 0, 1)),
        Record::a("b.two.test", 300, Ipv4Addr::new(127, 0, 0, 2)),
        // plain.test: only an A record.
        Record::a("plain.test", 300, Ipv4Addr::new(127, 0, 0, 3)),
    ])
}

#[test]
fn im_domain_goes_to_the_im_sip_srv_target() {
    let r = run(im("example.test"), &v4only(), &bench());
    let plan = r.plan();
    assert_eq!(plan.binding(), Binding::Sip);
    let c = plan.candidates().first().cloned();
    let want = Candidate {
        binding: Binding::Sip,
        host: "uas.example.test.".into(),
        addr: SocketAddr::from((LO, 5090)),
        transport: Some(SipTransport::Udp),
    };
    assert_eq!(c, Some(want));
    assert!(r.asked("_im._xmpp.example.test", Rtype::Srv));
    assert!(!r.asked("example.test", Rtype::A));
}

#[test]
fn failover_walks_priorities_in_order_then_reports_unreachable() {
    let mut plan = run(im("two.test"), &v4only(), &bench()).plan().clone();
    let mut seen = Vec::new();
    while let Some(c) = plan.next_candidate() {
        seen.push(c.addr.to_string());
    }
    assert_eq!(seen, ["127.0.0.1:5091", "127.0.0.2:5092"]);
    assert!(plan.is_exhausted());
    assert_eq!(plan.attempted(), 2);
    assert_eq!(
        plan.exhausted(),
        RouteError::Unreachable {
            domain: "two.test.".into()
        }
    );
    assert_eq!(plan.exhausted().class(), FailureClass::Unreachable);
}

#[test]
fn srv_present_means_the_domain_a_record_is_never_used() {
    let zone = bench().with("a.two.test", Rtype::A, Answer::NxDomain).with(
        "b.two.test",
        Rtype::A,
        Answer::NoData,
    );
    let r = run(im("two.test"), &v4only(), &zone);
    assert_eq!(
        r.err(),
        &RouteError::Unreachable {
            domain: "two.test.".into()
        }
    );
    assert!(!r.asked("two.test", Rtype::A));
    assert!(!r.asked("two.test", Rtype::Naptr));
}

#[test]
fn no_srv_uses_the_domain_a_record_at_the_default_port() {
    for target in [im("plain.test"), sip("plain.test", None, None)] {
        let r = run(target, &v4only(), &bench());
        assert_eq!(r.addrs(), ["127.0.0.3:5060"]);
        let c = r.plan().candidates().first().cloned();
        assert_eq!(c.and_then(|c| c.transport), Some(SipTransport::Udp));
        assert!(
            r.asked("_sip._udp.plain.test", Rtype::Srv)
                && r.asked("_sip._tcp.plain.test", Rtype::Srv)
        );
    }
}

#[test]
fn dot_target_is_not_offered_and_blocks_the_a_fallback() {
    let zone = Zone::new(vec![
        Record::a("no.test", 300, LO),
        Record::srv("_im._sip.no.test", 300, 0, 0, 0, "."),
    ]);
    let r = run(im("no.test"), &v4only(), &zone);
    assert_eq!(
        r.err(),
        &RouteError::NotOffered {
            domain: "no.test.".into()
        }
    );
    assert_eq!(r.err().class(), FailureClass::NotOffered);
    assert!(!r.asked("no.test", Rtype::A));
    assert!(
        r.trace
            .steps()
            .contains(&TraceStep::SrvNotOffered("_im._sip.no.test.".into()))
    );

    // With an XMPP label next in preference, XMPP serves the domain.
    let zone = Zone::new(vec![
        Record::srv("_im._sip.mixed.test", 300, 0, 0, 0, "."),
        Record::srv("_im._xmpp.mixed.test", 300, 0, 0, 5269, "x.mixed.test"),
        Record::a("x.mixed.test", 300, LO),
    ]);
    assert_eq!(
        run(im("mixed.test"), &v4only(), &zone).plan().binding(),
        Binding::Xmpp
    );
}

#[test]
fn xmpp_only_domain_is_served_by_the_xmpp_binding() {
    let r = run(im("xmpp.test"), &v4only(), &bench());
    let plan = r.plan();
    assert_eq!(plan.binding(), Binding::Xmpp);
    let c = plan.candidates().first().cloned();
    assert_eq!(c.map(|c| (c.addr.port(), c.transport)), Some((5269, None)));
}

#[test]
fn protocol_preference_decides_between_existing_labels() {
    let zone = Zone::new(vec![
        Record::srv("_pres._sip.both.test", 300, 0, 0, 5060, "s.both.test"),
        Record::srv("_pres._xmpp.both.test", 300, 0, 0, 5269, "x.both.test"),
        Record::a("s.both.test", 300, LO),
        Record::a("x.both.test", 300, LO),
    ]);
    let pres = Target::service(Service::Pres, "both.test").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run(pres.clone(), &v4only(), &zone).plan().binding(),
        Binding::Sip
    );
    let xmpp_first = ResolutionConfig {
        preference: vec![Binding::Xmpp, Binding::Sip],
        ..v4only()
    };
    assert_eq!(
        run(pres.clone(), &xmpp_first, &zone).plan().binding(),
        Binding::Xmpp
    );
    let none = ResolutionConfig {
        preference: vec![],
        ..v4only()
    };
    assert_eq!(run(pres, &none, &zone).err(), &RouteError::NoBinding);
}

#[test]
fn xmpp_only_preference_never_falls_back_to_the_a_record() {
    let cfg = ResolutionConfig {
        preference: vec![Binding::Xmpp],
        ..v4only()
    };
    let r = run(im("plain.test"), &cfg, &bench());
    assert_eq!(
        r.err(),
        &RouteError::NoRecords {
            domain: "plain.test.".into()
        }
    );
    assert!(!r.asked("plain.test", Rtype::A));
}

#[test]
fn cname_on_the_label_is_followed_to_the_canonical_name() {
    let zone = Zone::new(vec![
        Record::cname("_im._sip.d.test", 300, "_im._sip.e.test"),
        Record::srv("_im._sip.e.test", 300, 0, 0, 5070, "h.e.test"),
        Record::cname("h.e.test", 300, "real.e.test"),
        Record::a("real.e.test", 300, LO),
    ]);
    let r = run(im("d.test"), &v4only(), &zone);
    assert_eq!(r.addrs(), ["127.0.0.1:5070"]);
    assert!(r.asked("_im._sip.e.test", Rtype::Srv));
    assert!(r.asked("real.e.test", Rtype::A));
}

#[test]
fn cname_loops_are_bounded() {
    let zone = Zone::new(vec![
        Record::cname("_im._sip.loop.test", 300, "x.loop.test"),
        Record::cname("x.loop.test", 300, "_im._sip.loop.test"),
    ]);
    let cfg = ResolutionConfig {
        max_cname_chain: 4,
        preference: vec![Binding::Sip],
        ..v4only()
    };
    let r = run(im("loop.test"), &cfg, &zone);
    assert_eq!(
        r.err(),
        &RouteError::CnameChainTooLong {
            name: "_im._sip.loop.test.".into(),
            max: 4
        }
    );
    assert_eq!(r.asked.len(), 5);
}

#[test]
fn nxdomain_for_the_domain_is_not_found() {
    for target in [im("nothere.test"), sip("nothere.test", None, None)] {
        let r = run(target, &v4only(), &bench());
        assert_eq!(
            r.err(),
            &RouteError::NotFound {
                domain: "nothere.test.".into()
            }
        );
        assert_eq!(r.err().class(), FailureClass::NotFound);
    }
}

#[test]
fn dns_timeout_is_timeout() {
    let zone = bench()
        .with("_im._sip.example.test", Rtype::Srv, Answer::Timeout)
        .with("_im._xmpp.example.test", Rtype::Srv, Answer::Timeout);
    let r = run(im("example.test"), &v4only(), &zone);
    assert_eq!(
        r.err(),
        &RouteError::Timeout {
            name: "_im._sip.example.test.".into()
        }
    );
    assert_eq!(r.err().class(), FailureClass::Timeout);
    assert!(
        !r.asked("example.test", Rtype::A),
        "a timed-out label may hide an srv set"
    );

    let zone = bench().with("plain.test", Rtype::Naptr, Answer::Timeout);
    let r = run(sip("plain.test", None, None), &v4only(), &zone);
    assert_eq!(r.err().class(), FailureClass::Timeout);
    let zone = bench().with("plain.test", Rtype::Naptr, Answer::Failure);
    let r = run(sip("plain.test", None, None), &v4only(), &zone);
    assert_eq!(
        r.err(),
        &RouteError::DnsFailure {
            name: "plain.test.".into()
        }
    );
}

#[test]
fn additional_section_addresses_save_queries() {
    let zone = Zone {
        additional: true,
        ..bench()
    };
    let r = run(im("example.test"), &v4only(), &zone);
    assert_eq!(r.addrs(), ["127.0.0.1:5090"]);
    assert!(!r.asked("uas.example.test", Rtype::A));
    assert!(r.trace.steps().iter().any(|s| matches!(
        s,
        TraceStep::Lookup {
            source: AnswerSource::Additional,
            ..
        }
    )));
}

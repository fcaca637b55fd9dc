//! Driving-contract tests: the cache, the query bound, seeded
//! determinism, late and unknown answers, the operator rendering, and
//! arbitrary answers never stalling or panicking.

use std::net::Ipv4Addr;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{Zone, bench, im, run, run_at, sip, t0, v4only};
use crate::route::cache::{CacheConfig, DnsCache};
use crate::route::records::{Answer, Query, QueryId, Record, fqdn};
use crate::route::resolution::{
    AnswerSource, Resolution, ResolutionConfig, RouteError, TraceStep, describe,
};

#[test]
fn cache_answers_repeat_resolutions_until_expiry() {
    let now = t0();
    let mut cache = DnsCache::new(CacheConfig {
        negative_ttl: Duration::from_secs(30),
        ..CacheConfig::default()
    });
    let zone = bench();
    let first = run_at(im("example.test"), &v4only(), &zone, &mut cache, now);
    assert_eq!(first.asked.len(), 3);
    let again = run_at(
        im("example.test"),
        &v4only(),
        &zone,
        &mut cache,
        now + Duration::from_secs(10),
    );
    assert!(again.asked.is_empty(), "{:?}", again.asked);
    assert_eq!(again.addrs(), first.addrs());
    assert!(again.trace.steps().iter().any(|s| matches!(
        s,
        TraceStep::Lookup {
            source: AnswerSource::Cache,
            ..
        }
    )));
    assert_eq!(
        cache.stats().hits,
        2,
        "the preferred label decides without asking _im._xmpp"
    );
    let expired = run_at(
        im("example.test"),
        &v4only(),
        &zone,
        &mut cache,
        now + Duration::from_secs(301),
    );
    assert_eq!(expired.asked.len(), 3);
}

#[test]
fn nxdomain_is_cached_negatively_for_the_bounded_time() {
    let now = t0();
    let mut cache = DnsCache::new(CacheConfig {
        negative_ttl: Duration::from_secs(30),
        ..CacheConfig::default()
    });
    let zone = bench();
    let first = run_at(im("nothere.test"), &v4only(), &zone, &mut cache, now);
    assert_eq!(first.asked.len(), 3, "two labels and the NAPTR fallback");
    let again = run_at(
        im("nothere.test"),
        &v4only(),
        &zone,
        &mut cache,
        now + Duration::from_secs(29),
    );
    assert!(again.asked.is_empty());
    assert_eq!(again.result, first.result);
    let later = run_at(
        im("nothere.test"),
        &v4only(),
        &zone,
        &mut cache,
        now + Duration::from_secs(30),
    );
    assert_eq!(later.asked.len(), 3);
}

#[test]
fn query_budget_is_enforced() {
    let cfg = ResolutionConfig {
        max_queries: 3,
        ..ResolutionConfig::default()
    };
    let r = run(im("plain.test"), &cfg, &bench());
    assert_eq!(r.err(), &RouteError::TooManyQueries { max: 3 });
    assert_eq!(r.asked.len(), 3);
}

#[test]
fn same_seed_gives_the_same_plan() {
    let mut records: Vec<Record> = (1..=6u8)
        .map(|i| {
            Record::srv(
                "_im._sip.w.test",
                300,
                0,
                u16::from(i) * 10,
                5060,
                &format!("h{i}.w.test"),
            )
        })
        .collect();
    records.extend(
        (1..=6u8).map(|i| Record::a(&format!("h{i}.w.test"), 300, Ipv4Addr::new(10, 0, 0, i))),
    );
    let zone = Zone::new(records);
    let a = run(im("w.test"), &v4only(), &zone).addrs();
    assert_eq!(a, run(im("w.test"), &v4only(), &zone).addrs());
    assert_eq!(a.len(), 6);
}

#[test]
fn unknown_and_stale_answers_are_ignored() {
    let mut cache = DnsCache::disabled();
    let now = t0();
    let mut r = Resolution::new(7, im("example.test"), &v4only(), StdRng::seed_from_u64(1));
    let q = r
        .poll_query(now, &mut cache)
        .unwrap_or_else(|| panic!("a query"));
    assert_eq!(q.id.resolution(), 7);
    assert!(!r.handle_answer(now, QueryId::new(8, 0), Answer::NxDomain, &mut cache));
    assert!(r.handle_answer(now, q.id, Answer::Timeout, &mut cache));
    assert!(
        !r.handle_answer(now, q.id, Answer::NxDomain, &mut cache),
        "answered twice"
    );
}

#[test]
fn describe_lists_queries_order_binding_and_plan() {
    let r = run(im("two.test"), &v4only(), &bench());
    let text = describe(&r.trace, &r.result);
    let want = "\
resolve im:two.test.
  SRV _im._sip.two.test. [dns]
    _im._sip.two.test. 300 IN SRV 20 0 5092 b.two.test.
    _im._sip.two.test. 300 IN SRV 10 0 5091 a.two.test.
  srv order _im._sip.two.test.: 1) 10 0 a.two.test.:5091 2) 20 0 b.two.test.:5092
  selected binding sip transport UDP (srv _im._sip.two.test.)
  SRV _im._xmpp.two.test. [dns]: NXDOMAIN
  A a.two.test. [dns]
    a.two.test. 300 IN A 127.0.0.1
  A b.two.test. [dns]
    b.two.test. 300 IN A 127.0.0.2
plan (binding sip):
  1. sip UDP a.two.test. 127.0.0.1:5091
  2. sip UDP b.two.test. 127.0.0.2:5092
";
    assert_eq!(text, want);
    let r = run(im("nothere.test"), &v4only(), &bench());
    assert!(
        describe(&r.trace, &r.result)
            .ends_with("error (NotFound): domain nothere.test. does not exist\n")
    );
}

/// An arbitrary answer: random rcode or random records about names near
/// the query, including CNAME loops, `.` targets and junk NAPTRs.
fn random_answer(g: &mut StdRng, q: &Query) -> Answer {
    use rand::Rng;
    const NAMES: [&str; 7] = [
        "d.test",
        "_im._sip.d.test",
        "_im._xmpp.d.test",
        "_sip._udp.d.test",
        "_sip._tcp.d.test",
        "h.test",
        ".",
    ];
    const SERVICES: [&str; 5] = ["SIP+D2U", "SIP+D2T", "SIPS+D2T", "SIP+D2S", "junk"];
    let pick = |g: &mut StdRng| {
        NAMES
            .get(g.random_range(0..NAMES.len()))
            .copied()
            .unwrap_or(".")
    };
    match g.random_range(0..8) {
        0 => return Answer::NxDomain,
        1 => return Answer::NoData,
        2 => return Answer::Timeout,
        3 => return Answer::Failure,
        _ => {}
    }
    let mut recs = Vec::new();
    for _ in 0..g.random_range(0..5) {
        let owner = if g.random_bool(0.7) {
            q.name.clone()
        } else {
            fqdn(pick(g))
        };
        let ttl = g.random_range(0..600);
        let rec = match g.random_range(0..5) {
            0 => Record::a(&owner, ttl, Ipv4Addr::from(g.random::<u32>())),
            1 => Record::aaaa(&owner, ttl, std::net::Ipv6Addr::from(g.random::<u128>())),
            2 => Record::srv(
                &owner,
                ttl,
                g.random_range(0..3),
                g.random_range(0..3),
                g.random(),
                pick(g),
            ),
            3 => {
                let service = SERVICES
                    .get(g.random_range(0..SERVICES.len()))
                    .copied()
                    .unwrap_or("junk");
                Record::naptr_s(
                    &owner,
                    ttl,
                    g.random_range(0..3),
                    g.random_range(0..3),
                    service,
                    pick(g),
                )
            }
            _ => Record::cname(&owner, ttl, pick(g)),
        };
        recs.push(rec);
    }
    Answer::Records(recs)
}

#[test]
fn arbitrary_answers_always_finish_within_the_bounds() {
    let mut g = StdRng::seed_from_u64(3263);
    let now = t0();
    let mut finished = [0usize; 2];
    for round in 0..2000u64 {
        let target = if round % 2 == 0 {
            im("d.test")
        } else {
            sip("d.test", None, None)
        };
        let cfg = ResolutionConfig::default();
        let mut cache = DnsCache::default();
        let mut r = Resolution::new(round, target, &cfg, StdRng::seed_from_u64(round));
        let mut asked = 0;
        let result = loop {
            let batch: Vec<Query> = std::iter::from_fn(|| r.poll_query(now, &mut cache)).collect();
            if let Some(result) = r.poll_result() {
                break result;
            }
            assert!(!batch.is_empty(), "stalled: {:?}", r.trace());
            for q in batch {
                asked += 1;
                let a = random_answer(&mut g, &q);
                r.handle_answer(now, q.id, a, &mut cache);
            }
        };
        assert!(asked <= cfg.max_queries);
        if let Some(n) = finished.get_mut(usize::from(result.is_ok())) {
            *n += 1;
        }
        let _ = describe(r.trace(), &result);
    }
    assert!(
        finished.iter().all(|n| *n > 0),
        "both outcomes exercised: {finished:?}"
    );
}

//! Micro-benchmarks of the hot paths, in ns per operation: SIP parse of a
//! typical MESSAGE, `message/cpim` parse, and the full SIP → CPIM → SIP
//! translation of one message (parse, translate, build the outbound
//! request, encode it), the core's relay round trip, what the metrics
//! layer adds per finished leg, and PIDF parse/build.

#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use cpim_gateway::cpim::CpimMessage;
use cpim_gateway::gateway::{Gateway, Output};
use cpim_gateway::sip::{Limits, Message, Transport, parse};
use cpim_gateway::translate::sip::{LegIds, LocalContact, cpim_to_request, request_to_cpim};
use criterion::{Criterion, criterion_group, criterion_main};

const MESSAGE: &[u8] = b"MESSAGE sip:bob@example.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bK-524287-1---0123456789abcdef;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice Example\" <sip:alice@sip.test>;tag=1928301774\r\n\
To: <sip:bob@example.test>\r\n\
Call-ID: a84b4c76e66710@pc33.sip.test\r\n\
CSeq: 1 MESSAGE\r\n\
User-Agent: bench/1.0\r\n\
Date: Mon, 23 Nov 2026 10:00:00 GMT\r\n\
Subject: lunch\r\n\
Accept: text/plain, message/cpim\r\n\
Supported: timer\r\n\
Content-Type: text/plain;charset=UTF-8\r\n\
Content-Length: 45\r\n\
\r\n\
Hello bob, lunch at noon? ts=1700000000.123456";

const CPIM: &[u8] = b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n\
DateTime: 2000-12-13T13:40:00-08:00\r\n\
Subject: the weather will be fine today\r\n\
Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n\
NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
Require: MyFeatures.VitalMessageOption\r\n\
MyFeatures.VitalMessageOption: Confirmation-requested\r\n\
\r\n\
Content-Type: text/xml; charset=utf-8\r\n\
Content-ID: <1234567890@foo.com>\r\n\
\r\n\
<body>Here is the text of my message.</body>\r\n";

fn benches(c: &mut Criterion) {
    let limits = Limits::default();
    let msg = Bytes::from_static(MESSAGE);
    c.bench_function("sip_parse_message", |b| {
        b.iter(|| black_box(parse(black_box(msg.clone()), Transport::Udp, &limits)))
    });
    let cpim = Bytes::from_static(CPIM);
    c.bench_function("cpim_parse", |b| {
        b.iter(|| black_box(CpimMessage::parse(black_box(cpim.clone()))))
    });

    let local = LocalContact {
        host: "127.0.0.1".into(),
        port: 5060,
        transport: Transport::Udp,
    };
    let ids = LegIds {
        branch: "z9hG4bKbench".into(),
        from_tag: "abc".into(),
        call_id: "xyz@127.0.0.1".into(),
    };
    let extra = vec![("Cpim-Gw-Loop".to_string(), "bench".to_string())];
    let mut out = Vec::with_capacity(1024);
    c.bench_function("sip_to_cpim_to_sip_translate", |b| {
        b.iter(|| {
            let Ok(Message::Request(req)) = parse(msg.clone(), Transport::Udp, &limits) else {
                panic!("parse")
            };
            let (m, hints) = request_to_cpim(&req).expect("translate");
            let o = cpim_to_request(&m, Some(&hints), &local, &ids, &extra);
            out.clear();
            o.encode(&mut out);
            black_box(out.len())
        })
    });

    // The whole core: MESSAGE in → relayed MESSAGE out → 200 in → 200 out.
    let cfg = cpim_gateway::config::Config::parse(
        "[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:5090\"\n[[peer]]\nname = \"p\"\naddresses = [\"127.0.0.1\"]\ndomains = [\"sip.test\"]\n[gateway]\nnode_id = \"bench\"\nrng_seed = 1\n",
        "bench",
    )
    .expect("config");
    let mut gw = Gateway::new(cpim_gateway::io::gateway_config(&cfg));
    let uac: std::net::SocketAddr = "127.0.0.1:5081".parse().unwrap();
    let uas: std::net::SocketAddr = "127.0.0.1:5090".parse().unwrap();
    let mut now = Instant::now();
    let mut n = 0u64;
    c.bench_function("gateway_relay_round_trip", |b| {
        b.iter(|| {
            n += 1;
            // Let time pass so finished transactions expire (Timers J/K).
            now += std::time::Duration::from_millis(1);
            gw.handle_timeout(now);
            let branch = format!("z9hG4bK-524287-1---{n:016x}");
            let req = String::from_utf8_lossy(MESSAGE)
                .replace("z9hG4bK-524287-1---0123456789abcdef", &branch);
            gw.handle_sip(now, uac, Transport::Udp, Bytes::from(req));
            let mut relayed = None;
            while let Some(o) = gw.poll_output() {
                match o {
                    Output::SendSip(t) => relayed = Some(t.payload),
                    Output::Timeout(_) => break,
                    _ => {}
                }
            }
            let Some(Ok(Message::Request(fwd))) =
                relayed.map(|p| parse(p, Transport::Udp, &limits))
            else {
                panic!("relay")
            };
            let mut resp = Vec::new();
            fwd.response(cpim_gateway::sip::StatusCode::OK, Some("t"))
                .encode(&mut resp);
            gw.handle_sip(now, uas, Transport::Udp, Bytes::from(resp));
            while let Some(o) = gw.poll_output() {
                if matches!(o, Output::Timeout(_)) {
                    break;
                }
            }
        })
    });
}

/// What the driver adds per finished leg: counting one operation event
/// into the prometheus-client families (a labelled counter and histogram).
fn metrics_record(c: &mut Criterion) {
    use cpim_gateway::gateway::{
        Binding, Direction, GatewayEvent, NativeCode, Operation, OperationKind, Outcome,
    };
    let (_tx, rx) = tokio::sync::watch::channel(Default::default());
    let (_metrics, recorder) = cpim_gateway::metrics::Metrics::new(rx);
    let event = GatewayEvent::Operation(Operation {
        binding: Binding::Sip,
        direction: Direction::Inbound,
        kind: OperationKind::Message,
        outcome: Outcome::Success,
        code: NativeCode::Sip(200),
        elapsed: std::time::Duration::from_micros(1500),
    });
    c.bench_function("metrics_record_operation", |b| {
        b.iter(|| recorder.observe(black_box(&event)))
    });
}

/// PIDF parse and build of the RFC 4480 example (two tuples, a person with
/// RPID activities and a dozen kept extensions).
fn pidf(c: &mut Criterion) {
    let doc = include_bytes!("../tests/vectors/pidf/rfc4480-rpid.xml");
    c.bench_function("pidf_parse", |b| {
        b.iter(|| black_box(cpim_gateway::pidf::parse(black_box(doc))))
    });
    if let Ok(parsed) = cpim_gateway::pidf::parse(doc) {
        c.bench_function("pidf_build", |b| {
            b.iter(|| black_box(cpim_gateway::pidf::build(black_box(&parsed))))
        });
    }
}

criterion_group!(hot, benches, metrics_record, pidf);
criterion_main!(hot);

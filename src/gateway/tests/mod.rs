//! Virtual-time tests of the gateway core: a scripted UAC and UAS talk to
//! the core through in-memory transmits; time only moves when a test moves
//! it, jumping from deadline to deadline.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::gateway::policy::{IpNet, Peer, UnknownPeer};
use crate::route::{NextHop, StaticRoute};
use crate::sip::{Message, Response};

const UAC: &str = "127.0.0.1:5081";
const UAS: &str = "127.0.0.1:5090";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn config() -> GatewayConfig {
    GatewayConfig {
        presence: crate::gateway::PresenceConfig::default(),
        local_domains: vec![DomainPattern::parse("gw.test").unwrap()],
        router: Router::new(vec![StaticRoute {
            domain: DomainPattern::parse("example.test").unwrap(),
            next_hop: NextHop {
                addr: addr(UAS),
                transport: Transport::Udp,
            },
        }]),
        policy: PolicyConfig {
            peers: vec![Peer {
                name: "sip-test".into(),
                networks: vec![IpNet::parse("127.0.0.0/8").unwrap()],
                domains: vec![DomainPattern::parse("sip.test").unwrap()],
                tls_names: Vec::new(),
                rate: None,
            }],
            unknown_peer: UnknownPeer::Reject,
            deny_destinations: vec![DomainPattern::parse("denied.test").unwrap()],
            domain_rules: Vec::new(),
        },
        transactions: TransactionConfig::default(),
        limits: Limits::default(),
        node_id: "node-a".into(),
        rng_seed: 7,
        reject_invite_with: StatusCode::NOT_ACCEPTABLE_HERE,
        max_pending_relays: 100,
        max_server_transactions: 100_000,
        max_queued_per_destination: 32,
        advertise_host: "127.0.0.1".into(),
        ports: vec![(Transport::Udp, 5060), (Transport::Tcp, 5060)],
        dns_enabled: false,
        resolution: ResolutionConfig::default(),
        dns_cache: CacheConfig::default(),
        default_route: None,
        xmpp_available: false,
        xmpp: None,
    }
}

fn dns_config() -> GatewayConfig {
    GatewayConfig {
        presence: crate::gateway::PresenceConfig::default(),
        dns_enabled: true,
        ..config()
    }
}

struct Sim {
    gw: Gateway,
    now: Instant,
    events: Vec<GatewayEvent>,
    queries: Vec<Query>,
    xmpp: Vec<XmppOut>,
    deadline: Option<Instant>,
    /// State-store writes, in order.
    persisted: Vec<crate::store::Write>,
}

/// What the core asked of the XMPP connection.
#[derive(Debug, PartialEq)]
enum XmppOut {
    Connect(u64),
    Send(u64, String),
    Close(u64),
}

impl Sim {
    fn new() -> Sim {
        Sim::with(config())
    }

    fn with(cfg: GatewayConfig) -> Sim {
        Sim {
            gw: Gateway::new(cfg),
            now: Instant::now(),
            events: Vec::new(),
            queries: Vec::new(),
            xmpp: Vec::new(),
            deadline: None,
            persisted: Vec::new(),
        }
    }

    /// DNS queries the core asked for since the last call.
    fn queries(&mut self) -> Vec<Query> {
        std::mem::take(&mut self.queries)
    }

    /// Answers one query and returns what the core sent.
    fn answer(&mut self, q: &Query, answer: Answer) -> Vec<Transmit> {
        self.gw.handle_resolved(self.now, q.id, answer);
        self.drain()
    }

    /// Delivers bytes from `from` and returns what the core sent.
    fn input(&mut self, from: &str, bytes: impl Into<Bytes>) -> Vec<Transmit> {
        self.gw
            .handle_sip(self.now, addr(from), Transport::Udp, bytes.into());
        self.drain()
    }

    fn drain(&mut self) -> Vec<Transmit> {
        let mut out = Vec::new();
        self.deadline = None;
        while let Some(o) = self.gw.poll_output() {
            match o {
                Output::SendSip(t) | Output::SendSipTls { transmit: t, .. } => out.push(t),
                Output::Event(e) => self.events.push(e),
                Output::Resolve(q) => self.queries.push(q),
                Output::ConnectXmpp { conn, .. } => self.xmpp.push(XmppOut::Connect(conn)),
                Output::SendXmpp { conn, bytes } => self.xmpp.push(XmppOut::Send(
                    conn,
                    String::from_utf8_lossy(&bytes).to_string(),
                )),
                Output::CloseXmpp { conn } => self.xmpp.push(XmppOut::Close(conn)),
                Output::Persist(w) => self.persisted.push(w),
                Output::Timeout(t) => {
                    self.deadline = Some(t);
                    break;
                }
            }
        }
        out
    }

    /// Moves time forward by `d`, firing every deadline on the way.
    /// Returns (time since start of advance, transmit) pairs.
    fn advance(&mut self, d: Duration) -> Vec<(Duration, Transmit)> {
        let start = self.now;
        let end = self.now + d;
        let mut out = Vec::new();
        while let Some(t) = self.deadline.filter(|t| *t <= end) {
            self.now = t.max(self.now);
            self.gw.handle_timeout(self.now);
            for tx in self.drain() {
                out.push((self.now - start, tx));
            }
        }
        self.now = end;
        out
    }
}

fn message(
    branch: &str,
    max_forwards: Option<u32>,
    from: &str,
    to: &str,
    ctype: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m = format!(
        "MESSAGE sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch={branch};rport\r\n\
         From: \"Alice\" <sip:{from}>;tag=a1\r\nTo: <sip:{to}>\r\nCall-ID: {branch}@uac\r\nCSeq: 1 MESSAGE\r\n"
    );
    if let Some(mf) = max_forwards {
        m.push_str(&format!("Max-Forwards: {mf}\r\n"));
    }
    m.push_str(&format!(
        "Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    let mut v = m.into_bytes();
    v.extend_from_slice(body);
    v
}

fn text_message(branch: &str) -> Vec<u8> {
    message(
        branch,
        Some(70),
        "alice@sip.test",
        "bob@example.test",
        "text/plain;charset=UTF-8",
        b"hello bob",
    )
}

fn parse_req(t: &Transmit) -> Request {
    match crate::sip::parse(t.payload.clone(), t.transport, &Limits::default()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

fn parse_resp(t: &Transmit) -> Response {
    match crate::sip::parse(t.payload.clone(), t.transport, &Limits::default()).unwrap() {
        Message::Response(r) => r,
        Message::Request(_) => panic!("expected a response"),
    }
}

/// The UAS's answer to a relayed request.
fn answer(req: &Request, status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut r = req.response(StatusCode::new(status).unwrap(), Some("uas-tag"));
    for (n, v) in extra {
        r.push_header(*n, *v);
    }
    let mut buf = Vec::new();
    r.encode(&mut buf);
    buf
}

/// Relays one MESSAGE and returns the outbound request.
fn relay_one(sim: &mut Sim, branch: &str) -> Request {
    let out = sim.input(UAC, text_message(branch));
    assert_eq!(out.len(), 1, "exactly one outbound MESSAGE");
    assert_eq!(out[0].dst, addr(UAS));
    parse_req(&out[0])
}

#[test]
fn relays_message_preserving_identities_and_body() {
    let mut sim = Sim::new();
    let fwd = relay_one(&mut sim, "z9hG4bKc1");
    assert_eq!(fwd.method(), &Method::Message);
    assert_eq!(fwd.uri().as_str(), "sip:bob@example.test");
    assert_eq!(fwd.from().uri().as_str(), "sip:alice@sip.test");
    assert_eq!(fwd.from().display_name(), Some("Alice"));
    assert_ne!(fwd.from().tag(), Some("a1"), "new leg, new tag");
    assert_eq!(fwd.to().uri().as_str(), "sip:bob@example.test");
    assert_eq!(fwd.to().tag(), None);
    assert_ne!(fwd.call_id(), "z9hG4bKc1@uac");
    assert_eq!(fwd.max_forwards(), Some(69));
    assert_eq!(fwd.content_type(), Some("text/plain;charset=UTF-8"));
    assert_eq!(fwd.body().as_ref(), b"hello bob");
    assert!(fwd.top_via().branch().unwrap().starts_with("z9hG4bK"));
    assert_eq!(fwd.header(LOOP_HEADER), Some("node-a"));

    let back = sim.input(UAS, answer(&fwd, 200, &[]));
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].dst, addr(UAC));
    let resp = parse_resp(&back[0]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.call_id(), "z9hG4bKc1@uac");
    assert_eq!(resp.top_via().branch(), Some("z9hG4bKc1"));
    assert_eq!(sim.gw.stats().messages_success, 1);
    assert_eq!(sim.gw.pending_relays(), 0);
    assert!(matches!(
        sim.events.last(),
        Some(GatewayEvent::RelayFinished {
            downstream: Some(200),
            upstream: 200,
            ..
        })
    ));
}

#[test]
fn binary_smime_body_and_content_headers_are_byte_identical() {
    let mut sim = Sim::new();
    let body: Vec<u8> = (0u8..=255).chain(0u8..=255).collect();
    let ctype = "application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"";
    let mut req = message(
        "z9hG4bKbin",
        Some(5),
        "alice@sip.test",
        "bob@example.test",
        ctype,
        &body,
    );
    // Add a Content-Disposition before the blank line.
    let pos = req.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    req.splice(
        pos..pos,
        b"\r\nContent-Disposition: attachment; handling=required; filename=smime.p7m"
            .iter()
            .copied(),
    );
    let out = sim.input(UAC, req);
    let fwd = parse_req(&out[0]);
    assert_eq!(fwd.body().as_ref(), body.as_slice());
    assert_eq!(fwd.content_type(), Some(ctype));
    assert_eq!(
        fwd.header("Content-Disposition"),
        Some("attachment; handling=required; filename=smime.p7m")
    );
    assert_eq!(fwd.max_forwards(), Some(4));
}

#[test]
fn retransmitted_request_is_relayed_once_and_final_is_resent() {
    let mut sim = Sim::new();
    let fwd = relay_one(&mut sim, "z9hG4bKr1");
    // Retransmissions before the final: absorbed, nothing sent.
    assert!(sim.input(UAC, text_message("z9hG4bKr1")).is_empty());
    assert!(sim.input(UAC, text_message("z9hG4bKr1")).is_empty());
    assert_eq!(sim.gw.stats().sip_retransmissions_absorbed, 2);
    assert_eq!(sim.gw.stats().messages_relayed, 1);
    let back = sim.input(UAS, answer(&fwd, 200, &[]));
    assert_eq!(back.len(), 1);
    // After the final: the stored final is re-sent, nothing goes downstream.
    let again = sim.input(UAC, text_message("z9hG4bKr1"));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].dst, addr(UAC));
    assert_eq!(again[0].payload, back[0].payload);
}

#[test]
fn silent_next_hop_gives_408_after_timer_f_with_timer_e_retransmissions() {
    let mut sim = Sim::new();
    let _fwd = relay_one(&mut sim, "z9hG4bKf1");
    let t1 = Duration::from_millis(500);
    let fired = sim.advance(64 * t1);
    let downstream: Vec<Duration> = fired
        .iter()
        .filter(|(_, t)| t.dst == addr(UAS))
        .map(|(d, _)| *d)
        .collect();
    // Timer E on UDP: T1, 2T1, 4T1, then capped at T2 = 4 s (RFC 3261 §17.1.2.2).
    let expected: Vec<Duration> = [
        500u64, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .iter()
    .map(|ms| Duration::from_millis(*ms))
    .collect();
    assert_eq!(downstream, expected);
    let upstream: Vec<&(Duration, Transmit)> =
        fired.iter().filter(|(_, t)| t.dst == addr(UAC)).collect();
    assert_eq!(upstream.len(), 1, "one 408 upstream");
    assert_eq!(upstream[0].0, 64 * t1, "exactly at Timer F");
    assert_eq!(
        parse_resp(&upstream[0].1).status(),
        StatusCode::REQUEST_TIMEOUT
    );
    assert_eq!(sim.gw.stats().messages_timeout, 1);
    assert_eq!(sim.gw.pending_relays(), 0);
}

#[test]
fn max_forwards_zero_is_483_and_absent_becomes_70() {
    let mut sim = Sim::new();
    let out = sim.input(
        UAC,
        message(
            "z9hG4bKm0",
            Some(0),
            "alice@sip.test",
            "bob@example.test",
            "text/plain",
            b"x",
        ),
    );
    assert_eq!(out.len(), 1);
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::TOO_MANY_HOPS);
    let out = sim.input(
        UAC,
        message(
            "z9hG4bKm1",
            None,
            "alice@sip.test",
            "bob@example.test",
            "text/plain",
            b"x",
        ),
    );
    assert_eq!(parse_req(&out[0]).max_forwards(), Some(70));
    assert_eq!(sim.gw.stats().refused_too_many_hops, 1);
}

#[test]
fn own_loop_marker_is_482() {
    let mut sim = Sim::new();
    let fwd = relay_one(&mut sim, "z9hG4bKl1");
    // The relayed request comes back to us (mis-routed): loop.
    let mut looped = fwd.raw().to_vec();
    // Re-address it as if it came from the UAS.
    let out = sim.input(UAS, std::mem::take(&mut looped));
    assert_eq!(out.len(), 1);
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::LOOP_DETECTED);
    assert_eq!(sim.gw.stats().refused_loop, 1);
    // Another gateway's marker does not stop it.
    let req = String::from_utf8(text_message("z9hG4bKl2"))
        .unwrap()
        .replace(
            "CSeq: 1 MESSAGE\r\n",
            "CSeq: 1 MESSAGE\r\nCpim-Gw-Loop: node-b\r\n",
        );
    let out = sim.input(UAC, req.into_bytes());
    let fwd = parse_req(&out[0]);
    let markers: Vec<&str> = fwd.header_all(LOOP_HEADER).collect();
    assert_eq!(markers, vec!["node-b", "node-a"]);
}

#[test]
fn policy_refusals_are_403_and_counted() {
    let mut sim = Sim::new();
    let spoofed = message(
        "z9hG4bKp1",
        Some(70),
        "mallory@evil.test",
        "bob@example.test",
        "text/plain",
        b"x",
    );
    let out = sim.input(UAC, spoofed);
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.header("Warning").unwrap().contains("evil.test"));
    let unknown = sim.input("192.0.2.9:5060", text_message("z9hG4bKp2"));
    assert_eq!(parse_resp(&unknown[0]).status(), StatusCode::FORBIDDEN);
    assert_eq!(unknown[0].dst, addr("192.0.2.9:5060"));
    let denied = message(
        "z9hG4bKp3",
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
    assert_eq!(sim.gw.stats().refused_policy, 3);
}

#[test]
fn unknown_destination_is_404_with_warning() {
    let mut sim = Sim::new();
    let out = sim.input(
        UAC,
        message(
            "z9hG4bKn1",
            Some(70),
            "alice@sip.test",
            "bob@nowhere.test",
            "text/plain",
            b"x",
        ),
    );
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(
        resp.header("Warning")
            .unwrap()
            .contains("no route to nowhere.test")
    );
    let local = sim.input(
        UAC,
        message(
            "z9hG4bKn2",
            Some(70),
            "alice@sip.test",
            "bob@gw.test",
            "text/plain",
            b"x",
        ),
    );
    assert!(
        parse_resp(&local[0])
            .header("Warning")
            .unwrap()
            .contains("is local")
    );
    assert_eq!(sim.gw.stats().refused_no_route, 2);
}

#[test]
fn downstream_status_goes_through_the_table() {
    for (down, up) in [
        (404, 404),
        (486, 486),
        (503, 500),
        (401, 403),
        (407, 403),
        (202, 202),
        (603, 603),
        (499, 400),
    ] {
        let mut sim = Sim::new();
        let fwd = relay_one(&mut sim, "z9hG4bKs1");
        let back = sim.input(UAS, answer(&fwd, down, &[("Retry-After", "30")]));
        let resp = parse_resp(&back[0]);
        assert_eq!(resp.status().as_u16(), up, "downstream {down}");
        if down >= 300 {
            assert_eq!(resp.header("Retry-After"), Some("30"));
        }
    }
}

#[test]
fn provisional_downstream_response_is_not_forwarded() {
    let mut sim = Sim::new();
    let fwd = relay_one(&mut sim, "z9hG4bKpr");
    assert!(sim.input(UAS, answer(&fwd, 100, &[])).is_empty());
    assert_eq!(
        parse_resp(&sim.input(UAS, answer(&fwd, 200, &[]))[0]).status(),
        StatusCode::OK
    );
    // A retransmitted final from downstream is absorbed.
    assert!(sim.input(UAS, answer(&fwd, 200, &[])).is_empty());
}

#[test]
fn invite_is_rejected_488_and_ack_absorbed() {
    let mut sim = Sim::new();
    let invite = "INVITE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKi1\r\n\
        From: <sip:alice@sip.test>;tag=a\r\nTo: <sip:bob@example.test>\r\nCall-ID: inv1\r\nCSeq: 1 INVITE\r\n\
        Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let out = sim.input(UAC, invite);
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE_HERE);
    let tag = resp.to().tag().unwrap().to_string();
    let ack = format!(
        "ACK sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKi1\r\n\
         From: <sip:alice@sip.test>;tag=a\r\nTo: <sip:bob@example.test>;tag={tag}\r\nCall-ID: inv1\r\nCSeq: 1 ACK\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    assert!(sim.input(UAC, ack).is_empty(), "ACK absorbed, nothing sent");
    // Timer G would have re-sent the 488; after the ACK nothing more is sent.
    assert!(sim.advance(Duration::from_secs(40)).is_empty());
    assert_eq!(sim.gw.transactions().server_count(), 0);
}

#[test]
fn methods_other_than_message() {
    let mut sim = Sim::new();
    let req = |m: &str, b: &str| {
        format!(
            "{m} sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch={b}\r\n\
             From: <sip:alice@sip.test>;tag=a\r\nTo: <sip:bob@example.test>\r\nCall-ID: {b}\r\nCSeq: 1 {m}\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let st = |sim: &mut Sim, m: &str, b: &str| parse_resp(&sim.input(UAC, req(m, b))[0]);
    let r = st(&mut sim, "FOO", "z9hG4bKo1");
    assert_eq!(r.status(), StatusCode::NOT_IMPLEMENTED);
    assert_eq!(r.header("Allow"), Some(ALLOW));
    assert_eq!(
        st(&mut sim, "PUBLISH", "z9hG4bKo2").status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        st(&mut sim, "OPTIONS", "z9hG4bKo3").status(),
        StatusCode::OK
    );
    assert_eq!(
        st(&mut sim, "CANCEL", "z9hG4bKo4").status(),
        StatusCode::CALL_DOES_NOT_EXIST
    );
    assert_eq!(sim.gw.stats().sip_unknown_methods, 1);
}

#[test]
fn require_is_refused_with_420() {
    let mut sim = Sim::new();
    let req = String::from_utf8(text_message("z9hG4bKq1"))
        .unwrap()
        .replace("CSeq: 1 MESSAGE\r\n", "CSeq: 1 MESSAGE\r\nRequire: foo\r\n");
    let resp = parse_resp(&sim.input(UAC, req.into_bytes())[0]);
    assert_eq!(resp.status(), StatusCode::BAD_EXTENSION);
    assert_eq!(resp.header("Unsupported"), Some("foo"));
    // Every request the gateway answers as UAS, not only MESSAGE (RFC 4475
    // §3.3.5 bext01): Proxy-Require is for proxies and is not checked.
    let options = "OPTIONS sip:gw.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKq2\r\n\
         From: <sip:alice@sip.test>;tag=a\r\nTo: <sip:gw.test>\r\nCall-ID: q2\r\nCSeq: 8 OPTIONS\r\n\
         Require: nothingSupportsThis, nothingSupportsThisEither\r\nProxy-Require: noProxiesSupportThis\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let resp = parse_resp(&sim.input(UAC, options)[0]);
    assert_eq!(resp.status(), StatusCode::BAD_EXTENSION);
    assert_eq!(
        resp.header("Unsupported"),
        Some("nothingSupportsThis, nothingSupportsThisEither")
    );
    assert_eq!(sim.gw.stats().refused_extension, 2);
}

#[test]
fn malformed_request_gets_400_with_warning_and_garbage_is_counted() {
    let mut sim = Sim::new();
    let bad = "MESSAGE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKx1\r\n\
        From: <sip:alice@sip.test>;tag=a\r\nTo: <sip:bob@example.test>\r\nCall-ID: x1\r\nCSeq: 1 INVITE\r\n\
        Content-Length: 0\r\n\r\n";
    let out = sim.input(UAC, bad);
    assert_eq!(out.len(), 1);
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.header("Warning")
            .unwrap()
            .starts_with("399 127.0.0.1 \"")
    );
    assert!(sim.input(UAC, &b"\x00\x01garbage\xff"[..]).is_empty());
    assert_eq!(sim.gw.stats().sip_dropped_unparseable, 1);
    assert_eq!(sim.gw.stats().sip_bad_requests_answered, 1);
    // And it keeps serving.
    relay_one(&mut sim, "z9hG4bKx2");
}

#[test]
fn unreachable_next_hop_gives_503_with_retry_after() {
    let mut sim = Sim::new();
    relay_one(&mut sim, "z9hG4bKt1");
    sim.gw
        .handle_transport_error(sim.now, addr(UAS), Transport::Udp);
    let out = sim.drain();
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.header("Retry-After").is_some());
    assert_eq!(sim.gw.pending_relays(), 0);
}

#[test]
fn relay_table_bound_gives_503() {
    let mut cfg = config();
    cfg.max_pending_relays = 1;
    let mut sim = Sim::with(cfg);
    relay_one(&mut sim, "z9hG4bKb1");
    let resp = parse_resp(&sim.input(UAC, text_message("z9hG4bKb2"))[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sim.gw.stats().refused_overload, 1);
}

#[test]
fn same_seed_same_transcript() {
    let run = || {
        let mut sim = Sim::new();
        let out = sim.input(UAC, text_message("z9hG4bKd1"));
        out[0].payload.clone()
    };
    assert_eq!(run(), run());
}

mod composing;
mod dns;
mod lifecycle;
mod operations;
mod overload;
mod presence;
mod xmpp;

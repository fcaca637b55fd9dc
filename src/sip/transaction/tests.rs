//! State-transition tests for the transaction layer (RFC 3261 Figures 6, 7
//! and 8), in virtual time: one base `Instant` plus exact offsets. Nothing
//! sleeps and nothing depends on how fast the machine is.
//!
//! Each test is named after the transition it covers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;

const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);
const T4: Duration = Duration::from_secs(5);
const NS: Duration = Duration::from_nanos(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn peer() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], 5060))
}

/// One output of the layer, stamped with the virtual time it appeared at.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Out {
    Sent(Duration, Bytes),
    Event(Duration, TransactionEvent),
}

/// A layer plus a virtual clock.
struct Sim {
    layer: TransactionLayer,
    t0: Instant,
}

impl Sim {
    fn new() -> Sim {
        Sim::with(TransactionConfig::default())
    }

    fn with(config: TransactionConfig) -> Sim {
        // The only clock read: an arbitrary base for virtual time.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        Sim {
            layer: TransactionLayer::new(config),
            t0,
        }
    }

    fn at(&self, offset: Duration) -> Instant {
        self.t0 + offset
    }

    /// Drains both queues, stamping outputs with `offset`.
    fn drain(&mut self, offset: Duration) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(ev) = self.layer.poll_event() {
            out.push(Out::Event(offset, ev));
        }
        while let Some(tx) = self.layer.poll_transmit() {
            assert_eq!(tx.dst, peer());
            out.push(Out::Sent(offset, tx.payload));
        }
        out
    }

    /// Drains only the transmit queue.
    fn sent(&mut self) -> Vec<Bytes> {
        std::iter::from_fn(|| self.layer.poll_transmit())
            .map(|tx| {
                assert_eq!(tx.dst, peer());
                tx.payload
            })
            .collect()
    }

    /// Drains only the event queue.
    fn events(&mut self) -> Vec<TransactionEvent> {
        std::iter::from_fn(|| self.layer.poll_event()).collect()
    }

    /// Jumps from deadline to deadline up to and including `until`,
    /// collecting what each firing produced.
    fn drive(&mut self, until: Duration) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(at) = self.layer.poll_timeout() {
            let offset = at - self.t0;
            if offset > until {
                break;
            }
            self.layer.handle_timeout(at);
            out.extend(self.drain(offset));
        }
        out
    }

    fn start(&mut self, offset: Duration, branch: &str, transport: Transport) -> ClientHandle {
        let key = ClientKey::new(branch, &Method::Message);
        let h = self
            .layer
            .start_client(
                self.at(offset),
                key,
                Bytes::from_static(b"MESSAGE"),
                peer(),
                transport,
            )
            .expect("fresh key");
        assert_eq!(self.sent(), vec![Bytes::from_static(b"MESSAGE")]);
        h
    }

    fn respond_to(&mut self, offset: Duration, branch: &str, code: u16) -> Option<ClientHandle> {
        let key = ClientKey::new(branch, &Method::Message);
        let status = StatusCode::new(code).expect("valid code");
        self.layer.handle_response(self.at(offset), &key, status)
    }

    fn request(
        &mut self,
        offset: Duration,
        branch: &str,
        method: Method,
        transport: Transport,
    ) -> ServerVerdict {
        let key = ServerKey::new(branch, "client.example.com:5060", &method);
        self.layer
            .handle_request(self.at(offset), key, &method, transport, peer())
    }

    fn new_server(
        &mut self,
        offset: Duration,
        branch: &str,
        method: Method,
        transport: Transport,
    ) -> ServerHandle {
        match self.request(offset, branch, method, transport) {
            ServerVerdict::New(h) => h,
            other => panic!("expected a new transaction, got {other:?}"),
        }
    }

    fn answer(
        &mut self,
        offset: Duration,
        h: ServerHandle,
        code: u16,
    ) -> Result<(), TransactionError> {
        let status = StatusCode::new(code).expect("valid code");
        let body = Bytes::from(format!("SIP/2.0 {code}"));
        self.layer.respond(self.at(offset), h, status, body)
    }

    /// Both counts are zero, no timer is armed, and every created
    /// transaction was terminated.
    fn assert_empty(&self) {
        assert_eq!(self.layer.client_count(), 0);
        assert_eq!(self.layer.server_count(), 0);
        assert_eq!(self.layer.poll_timeout(), None);
        assert_eq!(self.layer.core.timers.len(), 0);
        assert!(self.layer.client_index.is_empty() && self.layer.server_index.is_empty());
        let s = self.layer.stats();
        assert_eq!(s.client_created, s.client_terminated);
        assert_eq!(s.server_created, s.server_terminated);
        assert_eq!((s.client_active, s.server_active), (0, 0));
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::new(code).expect("valid code")
}

fn sent_at(out: &[Out]) -> Vec<Duration> {
    out.iter()
        .filter_map(|o| match o {
            Out::Sent(t, _) => Some(*t),
            Out::Event(..) => None,
        })
        .collect()
}

fn events_at(out: &[Out]) -> Vec<(Duration, TransactionEvent)> {
    out.iter()
        .filter_map(|o| match o {
            Out::Event(t, e) => Some((*t, *e)),
            Out::Sent(..) => None,
        })
        .collect()
}

// === configuration and timer table ===

#[test]
fn default_config_is_rfc_3261_values() {
    let c = TransactionConfig::default();
    assert_eq!((c.t1, c.t2, c.t4), (T1, T2, T4));
}

#[test]
fn timer_table_initial_values_per_transport() {
    let c = TransactionConfig::default();
    let (u, r) = (Transport::Udp, Transport::Tcp);
    assert_eq!(Timer::E.initial(&c, u), Some(T1));
    assert_eq!(Timer::E.initial(&c, r), None);
    assert_eq!(Timer::F.initial(&c, u), Some(T1 * 64));
    assert_eq!(Timer::F.initial(&c, r), Some(T1 * 64));
    assert_eq!(Timer::G.initial(&c, u), Some(T1));
    assert_eq!(Timer::G.initial(&c, r), None);
    assert_eq!(Timer::H.initial(&c, u), Some(T1 * 64));
    assert_eq!(Timer::H.initial(&c, r), Some(T1 * 64));
    assert_eq!(Timer::I.initial(&c, u), Some(T4));
    assert_eq!(Timer::I.initial(&c, r), Some(Duration::ZERO));
    assert_eq!(Timer::J.initial(&c, u), Some(T1 * 64));
    assert_eq!(Timer::J.initial(&c, r), Some(Duration::ZERO));
    assert_eq!(Timer::K.initial(&c, u), Some(T4));
    assert_eq!(Timer::K.initial(&c, r), Some(Duration::ZERO));
}

// === non-INVITE client (Figure 6) ===

#[test]
fn client_udp_trying_to_proceeding_to_completed_then_timer_k_to_terminated() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    assert_eq!(sim.layer.client_state(h), Some(TransactionState::Trying));

    assert_eq!(sim.respond_to(ms(100), "z9hG4bK1", 100), Some(h));
    assert_eq!(
        sim.layer.client_state(h),
        Some(TransactionState::Proceeding)
    );
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ClientResponse {
            handle: h,
            status: status(100)
        }]
    );

    assert_eq!(sim.respond_to(ms(200), "z9hG4bK1", 202), Some(h));
    assert_eq!(sim.layer.client_state(h), Some(TransactionState::Completed));
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ClientResponse {
            handle: h,
            status: status(202)
        }]
    );
    // E and F are gone; only K (T4 from the final) remains.
    assert_eq!(sim.layer.poll_timeout(), Some(sim.at(ms(200) + T4)));

    let out = sim.drive(ms(200) + T4);
    assert_eq!(
        events_at(&out),
        vec![(
            ms(200) + T4,
            TransactionEvent::ClientTerminated { handle: h }
        )]
    );
    assert!(sent_at(&out).is_empty());
    assert_eq!(sim.layer.client_state(h), None);
    assert_eq!(sim.layer.stats().timers_fired.k, 1);
    sim.assert_empty();
}

#[test]
fn client_tcp_trying_to_proceeding_to_completed_terminates_at_once() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Tcp);
    assert_eq!(sim.respond_to(ms(100), "z9hG4bK1", 180), Some(h));
    assert_eq!(
        sim.layer.client_state(h),
        Some(TransactionState::Proceeding)
    );
    assert_eq!(sim.respond_to(ms(200), "z9hG4bK1", 200), Some(h));
    // Timer K is zero on a reliable transport: Completed → Terminated at once.
    assert_eq!(
        sim.events(),
        vec![
            TransactionEvent::ClientResponse {
                handle: h,
                status: status(180)
            },
            TransactionEvent::ClientResponse {
                handle: h,
                status: status(200)
            },
            TransactionEvent::ClientTerminated { handle: h },
        ]
    );
    sim.assert_empty();
}

#[test]
fn client_trying_to_completed_directly_on_final() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    assert_eq!(sim.respond_to(ms(50), "z9hG4bK1", 404), Some(h));
    assert_eq!(sim.layer.client_state(h), Some(TransactionState::Completed));
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ClientResponse {
            handle: h,
            status: status(404)
        }]
    );
    assert_eq!(sim.layer.poll_timeout(), Some(sim.at(ms(50) + T4)));
    let out = sim.drive(ms(60_000));
    assert!(
        sent_at(&out).is_empty(),
        "no Timer E retransmission after the final"
    );
    assert_eq!(
        events_at(&out),
        vec![(
            ms(50) + T4,
            TransactionEvent::ClientTerminated { handle: h }
        )]
    );
    sim.assert_empty();
}

#[test]
fn client_trying_timer_e_doubles_from_t1_to_t2_then_timer_f() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    assert_eq!(sim.layer.poll_timeout(), Some(sim.at(T1)));
    let out = sim.drive(ms(60_000));
    // Intervals T1, 2T1, 4T1, then capped at T2.
    let expected: Vec<Duration> = [
        500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(sent_at(&out), expected);
    assert_eq!(
        events_at(&out),
        vec![
            (T1 * 64, TransactionEvent::ClientTimeout { handle: h }),
            (T1 * 64, TransactionEvent::ClientTerminated { handle: h }),
        ]
    );
    let s = sim.layer.stats();
    assert_eq!(
        (s.retransmissions_sent, s.timers_fired.e, s.timers_fired.f),
        (10, 10, 1)
    );
    sim.assert_empty();
}

#[test]
fn client_proceeding_timer_e_fires_every_t2() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    let out = sim.drive(ms(500));
    assert_eq!(sent_at(&out), vec![ms(500)]);
    // Trying → Proceeding at 600 ms; E keeps its deadline (1.5 s), then runs every T2.
    assert_eq!(sim.respond_to(ms(600), "z9hG4bK1", 100), Some(h));
    sim.events();
    let out = sim.drive(ms(60_000));
    let expected: Vec<Duration> = [1_500, 5_500, 9_500, 13_500, 17_500, 21_500, 25_500, 29_500]
        .into_iter()
        .map(ms)
        .collect();
    assert_eq!(sent_at(&out), expected);
    assert_eq!(
        events_at(&out),
        vec![
            (T1 * 64, TransactionEvent::ClientTimeout { handle: h }),
            (T1 * 64, TransactionEvent::ClientTerminated { handle: h }),
        ]
    );
    sim.assert_empty();
}

#[test]
fn client_tcp_trying_arms_no_timer_e() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Tcp);
    assert_eq!(
        sim.layer.poll_timeout(),
        Some(sim.at(T1 * 64)),
        "only Timer F"
    );
    let out = sim.drive(ms(60_000));
    assert!(sent_at(&out).is_empty());
    assert_eq!(
        events_at(&out)[0],
        (T1 * 64, TransactionEvent::ClientTimeout { handle: h })
    );
    sim.assert_empty();
}

#[test]
fn client_trying_timer_f_to_terminated_at_exactly_64_t1() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Tcp);
    sim.layer.handle_timeout(sim.at(T1 * 64 - NS));
    assert!(sim.events().is_empty());
    assert_eq!(sim.layer.client_state(h), Some(TransactionState::Trying));
    sim.layer.handle_timeout(sim.at(T1 * 64));
    assert_eq!(
        sim.events(),
        vec![
            TransactionEvent::ClientTimeout { handle: h },
            TransactionEvent::ClientTerminated { handle: h }
        ]
    );
    assert_eq!(sim.layer.stats().timers_fired.f, 1);
    sim.assert_empty();
}

#[test]
fn client_proceeding_timer_f_to_terminated() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    sim.respond_to(ms(10), "z9hG4bK1", 100);
    sim.events();
    let out = sim.drive(ms(60_000));
    assert_eq!(
        events_at(&out),
        vec![
            (T1 * 64, TransactionEvent::ClientTimeout { handle: h }),
            (T1 * 64, TransactionEvent::ClientTerminated { handle: h }),
        ]
    );
    sim.assert_empty();
}

#[test]
fn client_proceeding_passes_every_provisional_up() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    sim.respond_to(ms(10), "z9hG4bK1", 100);
    sim.respond_to(ms(20), "z9hG4bK1", 180);
    assert_eq!(
        sim.events(),
        vec![
            TransactionEvent::ClientResponse {
                handle: h,
                status: status(100)
            },
            TransactionEvent::ClientResponse {
                handle: h,
                status: status(180)
            },
        ]
    );
    assert_eq!(
        sim.layer.client_state(h),
        Some(TransactionState::Proceeding)
    );
}

#[test]
fn client_completed_absorbs_retransmitted_final() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    sim.respond_to(ms(10), "z9hG4bK1", 200);
    assert_eq!(sim.events().len(), 1);
    // Same transaction matched, but nothing is reported twice.
    assert_eq!(sim.respond_to(ms(20), "z9hG4bK1", 200), Some(h));
    assert_eq!(sim.respond_to(ms(30), "z9hG4bK1", 100), Some(h));
    assert!(sim.events().is_empty());
    assert!(sim.sent().is_empty());
    assert_eq!(sim.layer.client_state(h), Some(TransactionState::Completed));
    assert_eq!(sim.layer.stats().retransmissions_absorbed, 2);
}

#[test]
fn client_completed_timer_k_to_terminated_after_t4_on_udp() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    sim.respond_to(ms(10), "z9hG4bK1", 200);
    sim.events();
    sim.layer.handle_timeout(sim.at(ms(10) + T4 - NS));
    assert_eq!(sim.layer.client_state(h), Some(TransactionState::Completed));
    sim.layer.handle_timeout(sim.at(ms(10) + T4));
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ClientTerminated { handle: h }]
    );
    sim.assert_empty();
}

#[test]
fn client_trying_transport_error_to_terminated() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Tcp);
    sim.layer.handle_transport_error(sim.at(ms(1)), h);
    assert_eq!(
        sim.events(),
        vec![
            TransactionEvent::ClientTransportError { handle: h },
            TransactionEvent::ClientTerminated { handle: h }
        ]
    );
    assert_eq!(sim.layer.stats().transport_errors, 1);
    sim.assert_empty();
    // A late error on the dead handle is ignored.
    sim.layer.handle_transport_error(sim.at(ms(2)), h);
    assert!(sim.events().is_empty());
}

#[test]
fn client_proceeding_transport_error_to_terminated() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    sim.respond_to(ms(10), "z9hG4bK1", 100);
    sim.events();
    sim.layer.handle_transport_error(sim.at(ms(600)), h);
    assert_eq!(
        sim.events(),
        vec![
            TransactionEvent::ClientTransportError { handle: h },
            TransactionEvent::ClientTerminated { handle: h }
        ]
    );
    sim.assert_empty();
}

#[test]
fn client_completed_ignores_transport_error() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    sim.respond_to(ms(10), "z9hG4bK1", 200);
    sim.events();
    sim.layer.handle_transport_error(sim.at(ms(20)), h);
    assert!(sim.events().is_empty());
    assert_eq!(sim.layer.client_state(h), Some(TransactionState::Completed));
}

#[test]
fn client_stray_response_matches_nothing() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    assert_eq!(sim.respond_to(ms(10), "z9hG4bK2", 200), None);
    assert_eq!(
        sim.respond_to(ms(10), "Z9HG4BK1", 200),
        None,
        "branch is case-sensitive"
    );
    let other_method = ClientKey::new("z9hG4bK1", &Method::Options);
    assert_eq!(
        sim.layer
            .handle_response(sim.at(ms(10)), &other_method, status(200)),
        None
    );
    assert!(sim.events().is_empty());
    assert_eq!(sim.layer.stats().stray_responses, 3);
    assert_eq!(sim.layer.client_state(h), Some(TransactionState::Trying));
    assert_eq!(
        sim.layer.key_of(h),
        Some(&ClientKey::new("z9hG4bK1", &Method::Message))
    );
    assert_eq!(
        sim.layer.client_destination(h),
        Some((peer(), Transport::Udp))
    );
}

#[test]
fn client_duplicate_key_is_rejected_until_terminated() {
    let mut sim = Sim::new();
    let h = sim.start(ms(0), "z9hG4bK1", Transport::Tcp);
    let key = ClientKey::new("z9hG4bK1", &Method::Message);
    let again = sim.layer.start_client(
        sim.at(ms(1)),
        key.clone(),
        Bytes::new(),
        peer(),
        Transport::Tcp,
    );
    assert_eq!(again, Err(TransactionError::DuplicateClientKey));
    assert!(sim.sent().is_empty());
    sim.respond_to(ms(2), "z9hG4bK1", 200);
    assert_eq!(
        sim.events().last(),
        Some(&TransactionEvent::ClientTerminated { handle: h })
    );
    let h2 = sim
        .layer
        .start_client(sim.at(ms(3)), key, Bytes::new(), peer(), Transport::Tcp)
        .expect("key free again");
    assert_ne!(h, h2, "handles are never reused");
}

#[test]
fn client_invite_and_ack_are_unsupported() {
    let mut sim = Sim::new();
    for m in [Method::Invite, Method::Ack] {
        let key = ClientKey::new("z9hG4bK1", &m);
        let r = sim
            .layer
            .start_client(sim.at(ms(0)), key, Bytes::new(), peer(), Transport::Udp);
        assert_eq!(r, Err(TransactionError::UnsupportedClientMethod(m)));
    }
    assert!(sim.sent().is_empty());
    sim.assert_empty();
}

// === non-INVITE server (Figure 8) ===

#[test]
fn server_trying_absorbs_retransmission_without_sending() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Message, Transport::Udp);
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Trying));
    assert_eq!(
        sim.request(ms(500), "z9hG4bK1", Method::Message, Transport::Udp),
        ServerVerdict::Retransmission
    );
    assert!(sim.sent().is_empty());
    assert!(sim.events().is_empty());
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Trying));
    assert_eq!(sim.layer.stats().retransmissions_absorbed, 1);
    assert_eq!(sim.layer.poll_timeout(), None, "no timer in Trying");
}

#[test]
fn server_trying_to_proceeding_resends_provisional_on_retransmission() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Message, Transport::Udp);
    sim.answer(ms(10), h, 100).expect("live");
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 100")]);
    assert_eq!(
        sim.layer.server_state(h),
        Some(TransactionState::Proceeding)
    );
    sim.answer(ms(20), h, 180).expect("live");
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 180")]);
    assert_eq!(
        sim.request(ms(500), "z9hG4bK1", Method::Message, Transport::Udp),
        ServerVerdict::Retransmission
    );
    assert_eq!(
        sim.sent(),
        vec![Bytes::from_static(b"SIP/2.0 180")],
        "the last provisional"
    );
    assert_eq!(sim.layer.stats().retransmissions_sent, 1);
}

#[test]
fn server_trying_to_completed_resends_final_then_timer_j_after_64_t1_on_udp() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Message, Transport::Udp);
    sim.answer(ms(10), h, 202).expect("live");
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 202")]);
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Completed));
    assert_eq!(sim.layer.poll_timeout(), Some(sim.at(ms(10) + T1 * 64)));

    assert_eq!(
        sim.request(ms(1_000), "z9hG4bK1", Method::Message, Transport::Udp),
        ServerVerdict::Retransmission
    );
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 202")]);

    sim.layer.handle_timeout(sim.at(ms(10) + T1 * 64 - NS));
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Completed));
    sim.layer.handle_timeout(sim.at(ms(10) + T1 * 64));
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ServerTerminated { handle: h }]
    );
    assert_eq!(sim.layer.stats().timers_fired.j, 1);
    sim.assert_empty();
}

#[test]
fn server_proceeding_to_completed_on_final() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Options, Transport::Udp);
    sim.answer(ms(10), h, 100).expect("live");
    sim.answer(ms(20), h, 200).expect("live");
    assert_eq!(sim.sent().len(), 2);
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Completed));
    assert_eq!(
        sim.request(ms(30), "z9hG4bK1", Method::Options, Transport::Udp),
        ServerVerdict::Retransmission
    );
    assert_eq!(
        sim.sent(),
        vec![Bytes::from_static(b"SIP/2.0 200")],
        "the final, not the provisional"
    );
}

#[test]
fn server_completed_to_terminated_at_once_on_tcp() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Message, Transport::Tcp);
    sim.answer(ms(10), h, 200).expect("live");
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 200")]);
    // Timer J is zero on a reliable transport.
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ServerTerminated { handle: h }]
    );
    sim.assert_empty();
    // A late copy therefore starts a new transaction (the TU sees it again).
    assert!(
        matches!(sim.request(ms(20), "z9hG4bK1", Method::Message, Transport::Tcp), ServerVerdict::New(h2) if h2 != h)
    );
}

#[test]
fn server_completed_discards_second_final() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Message, Transport::Udp);
    sim.answer(ms(10), h, 200).expect("live");
    sim.sent();
    assert_eq!(
        sim.answer(ms(20), h, 500),
        Err(TransactionError::AlreadyFinal)
    );
    assert_eq!(
        sim.answer(ms(20), h, 100),
        Err(TransactionError::AlreadyFinal)
    );
    assert!(sim.sent().is_empty());
}

#[test]
fn server_key_branch_case_sensitive_sent_by_case_insensitive() {
    let a = ServerKey::new("z9hG4bKaB", "Host.Example.COM:5060", &Method::Message);
    assert_eq!(
        a,
        ServerKey::new("z9hG4bKaB", "host.example.com:5060", &Method::Message)
    );
    assert_ne!(
        a,
        ServerKey::new("z9hg4bkab", "host.example.com:5060", &Method::Message)
    );
    assert_ne!(
        a,
        ServerKey::new("z9hG4bKaB", "host.example.com:5061", &Method::Message)
    );
    assert_ne!(
        a,
        ServerKey::new("z9hG4bKaB", "host.example.com:5060", &Method::Options)
    );
    assert_eq!(a.sent_by(), "host.example.com:5060");

    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Message, Transport::Udp);
    let upper = ServerKey::new("z9hG4bK1", "CLIENT.EXAMPLE.COM:5060", &Method::Message);
    let v = sim.layer.handle_request(
        sim.at(ms(1)),
        upper,
        &Method::Message,
        Transport::Udp,
        peer(),
    );
    assert_eq!(v, ServerVerdict::Retransmission);
    assert!(
        matches!(sim.request(ms(2), "Z9HG4BK1", Method::Message, Transport::Udp), ServerVerdict::New(h2) if h2 != h)
    );
}

#[test]
fn server_cancel_is_its_own_transaction() {
    let mut sim = Sim::new();
    let invite = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Udp);
    let cancel = sim.new_server(ms(1), "z9hG4bK1", Method::Cancel, Transport::Udp);
    assert_ne!(invite, cancel);
    assert_eq!(
        sim.layer.server_state(cancel),
        Some(TransactionState::Trying),
        "non-INVITE machine"
    );
    assert_eq!(
        sim.layer.server_key_of(cancel).map(|k| k.method().clone()),
        Some(Method::Cancel)
    );
    assert_eq!(sim.layer.server_count(), 2);
}

#[test]
fn respond_on_unknown_handle_errors() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Message, Transport::Tcp);
    sim.answer(ms(1), h, 200).expect("live");
    // Terminated at once (TCP): the handle is dead now.
    assert_eq!(
        sim.answer(ms(2), h, 200),
        Err(TransactionError::UnknownHandle)
    );
    assert_eq!(
        sim.answer(ms(2), ServerHandle(9_999), 200),
        Err(TransactionError::UnknownHandle)
    );
    assert_eq!(sim.sent().len(), 1);
    assert_eq!(
        TransactionError::UnknownHandle.to_string(),
        "unknown or terminated transaction"
    );
}

// === INVITE server, reject subset (Figure 7) ===

#[test]
fn invite_server_proceeding_resends_last_provisional_on_retransmission() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Udp);
    assert_eq!(
        sim.layer.server_state(h),
        Some(TransactionState::Proceeding)
    );
    // No provisional yet: absorbed, nothing sent.
    assert_eq!(
        sim.request(ms(500), "z9hG4bK1", Method::Invite, Transport::Udp),
        ServerVerdict::Retransmission
    );
    assert!(sim.sent().is_empty());
    sim.answer(ms(600), h, 100).expect("live");
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 100")]);
    assert_eq!(
        sim.request(ms(1_500), "z9hG4bK1", Method::Invite, Transport::Udp),
        ServerVerdict::Retransmission
    );
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 100")]);
    assert_eq!(
        sim.layer.server_state(h),
        Some(TransactionState::Proceeding)
    );
    assert_eq!(sim.layer.poll_timeout(), None, "no timer in Proceeding");
}

#[test]
fn invite_server_proceeding_to_completed_timer_g_doubles_to_t2_then_timer_h() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Udp);
    sim.answer(ms(0), h, 488).expect("live");
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 488")]);
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Completed));
    let out = sim.drive(ms(60_000));
    let expected: Vec<Duration> = [
        500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(sent_at(&out), expected);
    assert_eq!(
        events_at(&out),
        vec![
            (T1 * 64, TransactionEvent::ServerTimeout { handle: h }),
            (T1 * 64, TransactionEvent::ServerTerminated { handle: h }),
        ]
    );
    let s = sim.layer.stats();
    assert_eq!((s.timers_fired.g, s.timers_fired.h), (10, 1));
    sim.assert_empty();
}

#[test]
fn invite_server_completed_timer_h_to_terminated_at_64_t1_on_tcp() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Tcp);
    sim.answer(ms(100), h, 606).expect("live");
    sim.sent();
    assert_eq!(
        sim.layer.poll_timeout(),
        Some(sim.at(ms(100) + T1 * 64)),
        "no Timer G on TCP"
    );
    sim.layer.handle_timeout(sim.at(ms(100) + T1 * 64 - NS));
    assert!(sim.events().is_empty());
    sim.layer.handle_timeout(sim.at(ms(100) + T1 * 64));
    assert_eq!(
        sim.events(),
        vec![
            TransactionEvent::ServerTimeout { handle: h },
            TransactionEvent::ServerTerminated { handle: h }
        ]
    );
    assert!(sim.sent().is_empty());
    sim.assert_empty();
}

#[test]
fn invite_server_completed_ack_to_confirmed_then_timer_i_after_t4_on_udp() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Udp);
    sim.answer(ms(0), h, 488).expect("live");
    sim.sent();
    assert_eq!(
        sim.request(ms(200), "z9hG4bK1", Method::Ack, Transport::Udp),
        ServerVerdict::AckAbsorbed
    );
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Confirmed));
    // G and H cancelled; only I remains.
    assert_eq!(sim.layer.poll_timeout(), Some(sim.at(ms(200) + T4)));
    let out = sim.drive(ms(60_000));
    assert!(sent_at(&out).is_empty());
    assert_eq!(
        events_at(&out),
        vec![(
            ms(200) + T4,
            TransactionEvent::ServerTerminated { handle: h }
        )]
    );
    assert_eq!(sim.layer.stats().timers_fired.i, 1);
    sim.assert_empty();
}

#[test]
fn invite_server_completed_ack_to_terminated_at_once_on_tcp() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Tcp);
    sim.answer(ms(0), h, 488).expect("live");
    sim.sent();
    assert_eq!(
        sim.request(ms(10), "z9hG4bK1", Method::Ack, Transport::Tcp),
        ServerVerdict::AckAbsorbed
    );
    // Timer I is zero on a reliable transport.
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ServerTerminated { handle: h }]
    );
    sim.assert_empty();
}

#[test]
fn invite_server_completed_resends_final_on_retransmitted_invite() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Udp);
    sim.answer(ms(0), h, 100).expect("live");
    sim.answer(ms(10), h, 488).expect("live");
    sim.sent();
    assert_eq!(
        sim.request(ms(100), "z9hG4bK1", Method::Invite, Transport::Udp),
        ServerVerdict::Retransmission
    );
    assert_eq!(sim.sent(), vec![Bytes::from_static(b"SIP/2.0 488")]);
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Completed));
}

#[test]
fn invite_server_confirmed_absorbs_invite_and_ack() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Udp);
    sim.answer(ms(0), h, 488).expect("live");
    sim.request(ms(100), "z9hG4bK1", Method::Ack, Transport::Udp);
    sim.sent();
    assert_eq!(
        sim.request(ms(200), "z9hG4bK1", Method::Invite, Transport::Udp),
        ServerVerdict::Retransmission
    );
    assert_eq!(
        sim.request(ms(300), "z9hG4bK1", Method::Ack, Transport::Udp),
        ServerVerdict::AckAbsorbed
    );
    assert!(sim.sent().is_empty());
    assert!(sim.events().is_empty());
    assert_eq!(sim.layer.server_state(h), Some(TransactionState::Confirmed));
    assert_eq!(
        sim.layer.poll_timeout(),
        Some(sim.at(ms(100) + T4)),
        "repeats do not extend Timer I"
    );
}

#[test]
fn invite_server_proceeding_rejects_2xx() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Udp);
    assert_eq!(
        sim.answer(ms(1), h, 200),
        Err(TransactionError::Unsupported2xxForInvite)
    );
    assert!(sim.sent().is_empty());
    assert_eq!(
        sim.layer.server_state(h),
        Some(TransactionState::Proceeding)
    );
}

#[test]
fn invite_server_completed_discards_second_final() {
    let mut sim = Sim::new();
    let h = sim.new_server(ms(0), "z9hG4bK1", Method::Invite, Transport::Udp);
    sim.answer(ms(1), h, 488).expect("live");
    assert_eq!(
        sim.answer(ms(2), h, 606),
        Err(TransactionError::AlreadyFinal)
    );
    sim.request(ms(3), "z9hG4bK1", Method::Ack, Transport::Udp);
    assert_eq!(
        sim.answer(ms(4), h, 606),
        Err(TransactionError::AlreadyFinal)
    );
    assert_eq!(sim.sent().len(), 1);
}

#[test]
fn stray_ack_matches_nothing() {
    let mut sim = Sim::new();
    assert_eq!(
        sim.request(ms(0), "z9hG4bK9", Method::Ack, Transport::Udp),
        ServerVerdict::StrayAck
    );
    sim.assert_empty();
    assert_eq!(
        sim.layer.stats().server_created,
        0,
        "an ACK never creates a transaction"
    );
    // An ACK for an INVITE that has not been answered finally is stray too
    // (an ACK to 2xx is end-to-end; we never send 2xx to INVITE).
    let h = sim.new_server(ms(1), "z9hG4bK1", Method::Invite, Transport::Udp);
    assert_eq!(
        sim.request(ms(2), "z9hG4bK1", Method::Ack, Transport::Udp),
        ServerVerdict::StrayAck
    );
    assert_eq!(
        sim.layer.server_state(h),
        Some(TransactionState::Proceeding)
    );
    assert_eq!(sim.layer.stats().stray_acks, 2);
}

#[test]
fn ack_key_names_the_invite_transaction() {
    assert_eq!(
        ServerKey::new("z9hG4bK1", "a:5060", &Method::Ack),
        ServerKey::new("z9hG4bK1", "a:5060", &Method::Invite)
    );
    assert_eq!(
        ServerKey::new("z9hG4bK1", "a", &Method::Ack).method(),
        &Method::Invite
    );
}

// === time, leaks, scale ===

#[test]
fn time_going_backwards_is_no_progress() {
    let mut sim = Sim::new();
    let h = sim.start(ms(10_000), "z9hG4bK1", Transport::Udp);
    assert_eq!(sim.layer.poll_timeout(), Some(sim.at(ms(10_000) + T1)));
    // Earlier than anything seen: nothing fires, nothing panics.
    sim.layer.handle_timeout(sim.at(ms(0)));
    assert!(sim.sent().is_empty());
    // A response "before" the start is handled at the latest time seen, so
    // Timer K counts from 10 s, not from 1 s.
    sim.respond_to(ms(1_000), "z9hG4bK1", 200);
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ClientResponse {
            handle: h,
            status: status(200)
        }]
    );
    assert_eq!(sim.layer.poll_timeout(), Some(sim.at(ms(10_000) + T4)));
    assert_eq!(sim.layer.stats().clock_went_backwards, 2);
    sim.layer.handle_timeout(sim.at(ms(10_000) + T4));
    assert_eq!(
        sim.events(),
        vec![TransactionEvent::ClientTerminated { handle: h }]
    );
    sim.assert_empty();
}

#[test]
fn zero_timer_values_do_not_spin() {
    let zero = TransactionConfig {
        t1: Duration::ZERO,
        t2: Duration::ZERO,
        t4: Duration::ZERO,
    };
    let mut sim = Sim::with(zero);
    sim.start(ms(0), "z9hG4bK1", Transport::Udp);
    sim.layer.handle_timeout(sim.at(ms(0)));
    sim.layer.handle_timeout(sim.at(ms(1)));
    // F (64·0, stretched to 1 ns) ended the transaction.
    assert_eq!(sim.layer.client_count(), 0);
}

#[test]
fn all_transitions_leave_no_transaction_or_timer_behind() {
    let mut sim = Sim::new();
    let mut late = Vec::new();
    for (i, transport) in [Transport::Udp, Transport::Tcp].into_iter().enumerate() {
        sim.drain(ms(0));
        let b = |s: &str| format!("z9hG4bK{s}{i}");
        // Client: answered, timed out, transport error.
        sim.start(ms(0), &b("c1"), transport);
        sim.respond_to(ms(10), &b("c1"), 200);
        sim.start(ms(0), &b("c2"), transport);
        let c3 = sim.start(ms(0), &b("c3"), transport);
        sim.layer.handle_transport_error(sim.at(ms(20)), c3);
        // Server: non-INVITE answered, non-INVITE never answered then
        // answered late, INVITE acked, INVITE never acked.
        let s1 = sim.new_server(ms(0), &b("s1"), Method::Message, transport);
        sim.answer(ms(10), s1, 200).expect("live");
        let s2 = sim.new_server(ms(0), &b("s2"), Method::Message, transport);
        sim.answer(ms(10), s2, 100).expect("live");
        late.push(s2);
        let s3 = sim.new_server(ms(0), &b("s3"), Method::Invite, transport);
        sim.answer(ms(10), s3, 488).expect("live");
        sim.request(ms(20), &b("s3"), Method::Ack, transport);
        let s4 = sim.new_server(ms(0), &b("s4"), Method::Invite, transport);
        sim.answer(ms(10), s4, 606).expect("live");
    }
    for s2 in late {
        sim.answer(ms(20_000), s2, 200).expect("live");
    }
    sim.drain(ms(20_000));
    sim.drive(ms(600_000));
    sim.assert_empty();
    let s = sim.layer.stats();
    assert_eq!((s.client_created, s.server_created), (6, 8));
}

#[test]
fn fifty_thousand_concurrent_transactions_drain_to_zero() {
    const N: usize = 25_000;
    let mut sim = Sim::new();
    let t = sim.at(ms(0));
    for i in 0..N {
        let key = ClientKey::new(&format!("z9hG4bKc{i}"), &Method::Message);
        sim.layer
            .start_client(t, key, Bytes::from_static(b"M"), peer(), Transport::Udp)
            .expect("fresh");
        let method = if i % 2 == 0 {
            Method::Message
        } else {
            Method::Invite
        };
        let skey = ServerKey::new(&format!("z9hG4bKs{i}"), "a:5060", &method);
        let ServerVerdict::New(h) =
            sim.layer
                .handle_request(t, skey, &method, Transport::Udp, peer())
        else {
            panic!("new");
        };
        let code = if i % 2 == 0 { status(200) } else { status(488) };
        sim.layer
            .respond(t, h, code, Bytes::from_static(b"R"))
            .expect("live");
    }
    assert_eq!((sim.layer.client_count(), sim.layer.server_count()), (N, N));
    // One timer pass at T1 fires exactly the due E and G entries.
    sim.drain(ms(0));
    sim.layer.handle_timeout(sim.at(T1));
    let s = sim.layer.stats();
    assert_eq!(s.timers_fired.e, N as u64);
    assert_eq!(s.timers_fired.g, (N / 2) as u64);
    // Answer every client, then let everything run out.
    for i in 0..N {
        let key = ClientKey::new(&format!("z9hG4bKc{i}"), &Method::Message);
        assert!(
            sim.layer
                .handle_response(sim.at(T1), &key, status(200))
                .is_some()
        );
    }
    sim.drain(T1);
    sim.layer.handle_timeout(sim.at(ms(600_000)));
    sim.drain(ms(600_000));
    sim.assert_empty();
}

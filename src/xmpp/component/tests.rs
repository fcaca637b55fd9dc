//! Component link tests in virtual time (fixed base `Instant` + durations).

#![allow(clippy::disallowed_methods)] // virtual time starts from one real Instant
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

const SERVER_HEADER: &[u8] =
    b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' \
    xmlns='jabber:component:accept' from='cpim.xmpp.test' id='3BF96D32'>";

fn config() -> ComponentConfig {
    ComponentConfig::new(Jid::parse("cpim.xmpp.test").unwrap(), Secret::new("s3cr3t"))
}

fn drain(c: &mut Component) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = c.poll_transmit() {
        out.extend_from_slice(&b);
    }
    out
}

fn events(c: &mut Component) -> Vec<ComponentEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// Connects and completes the handshake at `t0`.
fn online(t0: Instant, rng: &mut StdRng) -> Component {
    let mut c = Component::new(config(), t0);
    assert!(c.poll_connect(t0));
    c.handle_connected(t0);
    c.handle_bytes(t0, SERVER_HEADER, rng);
    c.handle_bytes(t0, b"<handshake/>", rng);
    assert!(c.is_online());
    drain(&mut c);
    events(&mut c);
    c
}

#[test]
fn xep0114_test_vector() {
    assert_eq!(
        handshake_digest("3BF96D32", &Secret::new("s3cr3t")),
        "ba33290100f616a33656a931798d6c9011cfa840"
    );
}

#[test]
fn handshake_transcript_exact() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(1);
    let mut c = Component::new(config(), t0);
    assert_eq!(c.poll_timeout(), Some(t0));
    assert!(c.poll_connect(t0));
    assert!(!c.poll_connect(t0));
    c.handle_connected(t0);
    assert_eq!(
        drain(&mut c),
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' \
          xmlns:stream='http://etherx.jabber.org/streams' to='cpim.xmpp.test'>"
    );
    for b in SERVER_HEADER {
        c.handle_bytes(t0, std::slice::from_ref(b), &mut rng);
    }
    assert_eq!(c.state(), ComponentState::Handshaking);
    assert_eq!(
        drain(&mut c),
        b"<handshake>ba33290100f616a33656a931798d6c9011cfa840</handshake>"
    );
    c.handle_bytes(t0, b"<handshake/>", &mut rng);
    assert!(matches!(events(&mut c)[..], [ComponentEvent::Online]));
    assert_eq!(c.stats().handshakes_ok, 1);
    // Inbound stanzas are reported.
    c.handle_bytes(
        t0,
        b" <message from='a@x.test' to='b@cpim.xmpp.test'><body>hi</body></message>",
        &mut rng,
    );
    assert!(matches!(&events(&mut c)[..], [ComponentEvent::Stanza(m)] if m.name() == "message"));
    assert_eq!(c.stats().stanzas_in, 1);
}

#[test]
fn not_authorized_long_backoff_no_storm() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(2);
    let mut c = Component::new(config(), t0);
    assert!(c.poll_connect(t0));
    c.handle_connected(t0);
    c.handle_bytes(t0, SERVER_HEADER, &mut rng);
    c.handle_bytes(
        t0,
        b"<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
        &mut rng,
    );
    let ev = events(&mut c);
    assert!(matches!(ev[0], ComponentEvent::AuthFailed));
    let retry = t0 + Duration::from_secs(300);
    assert!(matches!(
        ev[1],
        ComponentEvent::Offline { reason: DisconnectReason::AuthFailed, retry_at: Some(r) } if r == retry
    ));
    assert_eq!(c.stats().auth_failures, 1);
    // The driver's late disconnect report is ignored; no reconnect before the backoff.
    c.handle_disconnected(t0, DisconnectReason::ConnectionLost, &mut rng);
    assert_eq!(c.poll_timeout(), Some(retry));
    let mut t = t0;
    while t < retry {
        c.handle_timeout(t, &mut rng);
        assert!(!c.poll_connect(t));
        t += Duration::from_secs(1);
    }
    assert!(c.poll_connect(retry));
}

#[test]
fn backoff_grows_with_bounded_jitter() {
    let b = backoff::Backoff {
        min: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
    let mut rng = StdRng::seed_from_u64(7);
    for attempt in 0..12 {
        let base = b.base(attempt);
        assert_eq!(base, Duration::from_secs((1u64 << attempt.min(6)).min(60)));
        for _ in 0..50 {
            let d = b.delay(attempt, &mut rng);
            assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d:?}");
        }
    }
    // Through the component: connect failures push the retry further out.
    let t0 = Instant::now();
    let mut c = Component::new(config(), t0);
    let mut t = t0;
    let mut last_gap = Duration::ZERO;
    for attempt in 0..8u32 {
        assert!(c.poll_connect(t));
        c.handle_disconnected(t, DisconnectReason::ConnectFailed, &mut rng);
        let ComponentState::Disconnected { retry_at } = c.state() else {
            panic!()
        };
        let gap = retry_at - t;
        let base = b.base(attempt);
        assert!(gap >= base / 2 && gap <= base, "attempt {attempt}: {gap:?}");
        if attempt >= 1 {
            assert!(gap.as_millis() * 2 >= last_gap.as_millis() / 2 || base == b.max);
        }
        last_gap = gap;
        t = retry_at;
    }
    assert_eq!(c.stats().connects, 8);
}

#[test]
fn ping_timeout_offline_then_reconnect_schedule() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(3);
    let mut c = online(t0, &mut rng);
    let t_ping = t0 + Duration::from_secs(30);
    assert_eq!(c.poll_timeout(), Some(t_ping));
    c.handle_timeout(t_ping - Duration::from_millis(1), &mut rng);
    assert!(drain(&mut c).is_empty());
    c.handle_timeout(t_ping, &mut rng);
    let ping = String::from_utf8(drain(&mut c)).unwrap();
    assert_eq!(
        ping,
        "<iq from='cpim.xmpp.test' to='xmpp.test' id='cpim-ping-1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>"
    );
    // A reply clears it and pushes the next ping out.
    let t1 = t_ping + Duration::from_secs(2);
    c.handle_bytes(
        t1,
        b"<iq type='result' id='cpim-ping-1' from='xmpp.test' to='cpim.xmpp.test'/>",
        &mut rng,
    );
    assert!(events(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(t1 + Duration::from_secs(30)));
    // Next ping unanswered → offline at +10 s, reconnect within [0.5, 1] s.
    let t2 = t1 + Duration::from_secs(30);
    c.handle_timeout(t2, &mut rng);
    assert!(!drain(&mut c).is_empty());
    c.handle_timeout(t2 + Duration::from_secs(9), &mut rng);
    assert!(c.is_online());
    let t3 = t2 + Duration::from_secs(10);
    c.handle_timeout(t3, &mut rng);
    let ev = events(&mut c);
    let [
        ComponentEvent::Offline {
            reason: DisconnectReason::PingTimeout,
            retry_at: Some(r),
        },
    ] = ev[..]
    else {
        panic!("{ev:?}")
    };
    assert!(r >= t3 + Duration::from_millis(500) && r <= t3 + Duration::from_secs(1));
    assert_eq!(c.stats().ping_timeouts, 1);
    assert!(!c.poll_connect(r - Duration::from_millis(1)));
    assert!(c.poll_connect(r));
}

#[test]
fn server_ping_is_answered() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(4);
    let mut c = online(t0, &mut rng);
    c.handle_bytes(t0, b"<iq type='get' id='s1' from='xmpp.test' to='cpim.xmpp.test'><ping xmlns='urn:xmpp:ping'/></iq>", &mut rng);
    assert_eq!(
        drain(&mut c),
        b"<iq from='cpim.xmpp.test' to='xmpp.test' id='s1' type='result'/>"
    );
    assert!(events(&mut c).is_empty());
}

#[test]
fn send_rules_and_queue_bound() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(5);
    let msg = Element::new("message", "jabber:component:accept")
        .with_attr("from", "romeo@cpim.xmpp.test")
        .with_attr("to", "juliet@capulet.lit")
        .with_child(Element::new("body", "jabber:component:accept").with_text("hi"));
    let mut off = Component::new(config(), t0);
    assert!(matches!(off.send_stanza(&msg), Err(SendError::NotOnline)));

    let mut cfg = config();
    cfg.max_queued_stanzas = 2;
    let mut c = Component::new(cfg, t0);
    assert!(c.poll_connect(t0));
    c.handle_connected(t0);
    c.handle_bytes(t0, SERVER_HEADER, &mut rng);
    c.handle_bytes(t0, b"<handshake/>", &mut rng);
    drain(&mut c);
    c.send_stanza(&msg).unwrap();
    c.send_stanza(&msg).unwrap();
    assert!(matches!(
        c.send_stanza(&msg),
        Err(SendError::QueueFull { max: 2 })
    ));
    assert_eq!(
        c.poll_transmit().unwrap().as_ref(),
        b"<message from='romeo@cpim.xmpp.test' to='juliet@capulet.lit'><body>hi</body></message>"
    );
    c.send_stanza(&msg).unwrap();
    let foreign = msg.clone().with_attr("from", "romeo@other.test");
    assert!(matches!(
        c.send_stanza(&foreign),
        Err(SendError::BadFrom { .. })
    ));
    let mut no_to = msg.clone();
    no_to.remove_attr("to");
    assert!(matches!(c.send_stanza(&no_to), Err(SendError::MissingTo)));
    drain(&mut c);
    let ctl = msg
        .clone()
        .with_child(Element::new("x", "y").with_text("\u{7}"));
    assert!(matches!(c.send_stanza(&ctl), Err(SendError::Write(_))));
    assert_eq!(c.stats().stanzas_out, 3);
}

#[test]
fn fatal_stream_error_answers_and_reconnects() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(6);
    let mut c = online(t0, &mut rng);
    c.handle_bytes(t0, b"<message><!-- no --></message>", &mut rng);
    assert_eq!(
        drain(&mut c),
        b"<stream:error><restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"
    );
    assert!(matches!(
        events(&mut c)[..],
        [ComponentEvent::Offline {
            reason: DisconnectReason::LocalStreamError(StreamCondition::RestrictedXml),
            ..
        }]
    ));
    // A recoverable one only reports.
    let mut c = online(t0, &mut rng);
    c.handle_bytes(t0, b"<message><x:y/></message><presence/>", &mut rng);
    let ev = events(&mut c);
    assert!(matches!(ev[0], ComponentEvent::StanzaRefused(_)));
    assert!(matches!(&ev[1], ComponentEvent::Stanza(p) if p.name() == "presence"));
    assert!(c.is_online());
}

#[test]
fn handshake_timeout_and_stable_reset() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(8);
    let mut c = Component::new(config(), t0);
    assert!(c.poll_connect(t0));
    c.handle_connected(t0);
    c.handle_timeout(t0 + Duration::from_secs(10), &mut rng);
    assert!(matches!(c.state(), ComponentState::Disconnected { .. }));
    // After a long stable session the backoff starts from the minimum again.
    let mut c = online(t0, &mut rng);
    c.attempt = 5;
    let t = t0 + Duration::from_secs(61);
    c.handle_bytes(t, b" ", &mut rng);
    c.handle_disconnected(t, DisconnectReason::ConnectionLost, &mut rng);
    let ComponentState::Disconnected { retry_at } = c.state() else {
        panic!()
    };
    assert!(retry_at - t <= Duration::from_secs(1));
    assert!(drain(&mut c).is_empty());
}

#[test]
fn secret_is_redacted() {
    let cfg = config();
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains("s3cr3t"), "{dbg}");
    assert!(dbg.contains("<redacted>"));
    assert_eq!(format!("{:?}", Secret::new("x")), "<redacted>");
}

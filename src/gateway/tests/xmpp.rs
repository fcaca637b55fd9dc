//! Gateway core tests: the XEP-0114 link and SIP ⇄ XMPP relay in virtual time.

#![allow(clippy::unwrap_used)]

use super::*;

// --- XEP-0114 component link, driven through the gateway in virtual time --

pub(super) fn xmpp_config() -> GatewayConfig {
    let mut component = crate::xmpp::ComponentConfig::new(
        crate::xmpp::Jid::parse("cpim.xmpp.test").unwrap(),
        crate::xmpp::Secret::new("s3cr3t"),
    );
    component.backoff_min = Duration::from_millis(500);
    component.backoff_max = Duration::from_secs(2);
    GatewayConfig {
        presence: crate::gateway::PresenceConfig::default(),
        xmpp: Some(XmppLinkConfig {
            server: addr("127.0.0.1:5347"),
            component,
            domains: vec![DomainPattern::parse("xmpp.test").unwrap()],
            address_mode: crate::translate::address::Mode::GatewaySubdomain {
                component: "cpim.xmpp.test".into(),
                accept_legacy_percent: false,
            },
            error_window: Duration::from_millis(300),
            wrap_cpim: false,
            wrap_cpim_domains: Vec::new(),
            composing_refresh: Duration::from_secs(90),
            composing_max_active: Duration::from_secs(300),
        }),
        ..config()
    }
}

const SERVER_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' \
    xmlns='jabber:component:accept' from='cpim.xmpp.test' id='3BF96D32'>";

#[test]
fn component_link_connects_handshakes_and_answers_what_it_does_not_serve() {
    let mut sim = Sim::with(xmpp_config());
    sim.gw.handle_timeout(sim.now);
    sim.drain();
    assert_eq!(sim.xmpp, vec![XmppOut::Connect(1)]);
    sim.xmpp.clear();
    sim.gw.handle_xmpp_connected(sim.now, 1);
    sim.drain();
    assert!(matches!(&sim.xmpp[..], [XmppOut::Send(1, h)] if h.contains("to='cpim.xmpp.test'")));
    sim.xmpp.clear();
    sim.gw
        .handle_xmpp_bytes(sim.now, 1, SERVER_HEADER.as_bytes());
    sim.drain();
    // XEP-0114 §3 test vector: SHA-1("3BF96D32" + "s3cr3t").
    assert_eq!(
        sim.xmpp,
        vec![XmppOut::Send(
            1,
            "<handshake>ba33290100f616a33656a931798d6c9011cfa840</handshake>".into()
        )]
    );
    sim.xmpp.clear();
    sim.gw.handle_xmpp_bytes(sim.now, 1, b"<handshake/>");
    sim.drain();
    assert!(sim.gw.xmpp_online());
    assert_eq!(sim.gw.stats().xmpp_link_up, 1);
    // A request the gateway does not serve: error, not silence.
    sim.gw.handle_xmpp_bytes(
        sim.now,
        1,
        b"<iq type='get' from='alice@xmpp.test/r' to='cpim.xmpp.test' id='m1'><query xmlns='jabber:iq:version'/></iq>",
    );
    sim.drain();
    let reply = match &sim.xmpp[..] {
        [XmppOut::Send(1, r)] => r.clone(),
        other => panic!("expected one error reply, got {other:?}"),
    };
    assert!(
        reply.contains("type='error'") || reply.contains("type=\"error\""),
        "{reply}"
    );
    assert!(reply.contains("feature-not-implemented"), "{reply}");
    assert!(reply.contains("m1"), "same id: {reply}");
    assert_eq!(sim.gw.stats().xmpp_errors_sent, 1);
    // An error stanza is never answered (RFC 6120 §8.3.1).
    sim.xmpp.clear();
    sim.gw.handle_xmpp_bytes(
        sim.now,
        1,
        b"<message type='error' from='alice@xmpp.test' to='x@cpim.xmpp.test'/>",
    );
    sim.drain();
    assert!(sim.xmpp.is_empty());
}

#[test]
fn component_link_reconnects_with_a_new_connection_id_and_ignores_stale_events() {
    let mut sim = Sim::with(xmpp_config());
    sim.gw.handle_timeout(sim.now);
    sim.drain();
    sim.gw.handle_xmpp_connected(sim.now, 1);
    sim.gw
        .handle_xmpp_bytes(sim.now, 1, SERVER_HEADER.as_bytes());
    sim.gw.handle_xmpp_bytes(sim.now, 1, b"<handshake/>");
    sim.drain();
    assert!(sim.gw.xmpp_online());
    sim.xmpp.clear();
    // The server goes away.
    sim.gw.handle_xmpp_closed(sim.now, 1, false);
    sim.drain();
    assert!(!sim.gw.xmpp_online());
    assert_eq!(sim.gw.stats().xmpp_link_up, 0);
    // Backoff, then connection 2.
    let fired = sim.advance(Duration::from_secs(3));
    assert!(fired.is_empty());
    assert!(sim.xmpp.contains(&XmppOut::Connect(2)), "{:?}", sim.xmpp);
    // Late bytes of connection 1 are ignored.
    sim.gw.handle_xmpp_bytes(sim.now, 1, b"<handshake/>");
    sim.drain();
    assert!(!sim.gw.xmpp_online());
    assert_eq!(sim.gw.stats().xmpp_connects, 2);
}

/// Brings the component link online in the simulation.
pub(super) fn online_xmpp_sim() -> Sim {
    online_sim_with(xmpp_config())
}

/// Like [`online_xmpp_sim`], with a custom configuration.
pub(super) fn online_sim_with(cfg: GatewayConfig) -> Sim {
    let mut sim = Sim::with(cfg);
    sim.gw.handle_timeout(sim.now);
    sim.drain();
    sim.gw.handle_xmpp_connected(sim.now, 1);
    sim.gw
        .handle_xmpp_bytes(sim.now, 1, SERVER_HEADER.as_bytes());
    sim.gw.handle_xmpp_bytes(sim.now, 1, b"<handshake/>");
    sim.drain();
    assert!(sim.gw.xmpp_online());
    sim.xmpp.clear();
    sim
}

pub(super) fn to_xmpp_message(branch: &str, user: &str) -> Vec<u8> {
    String::from_utf8(text_message(branch))
        .unwrap()
        .replace("sip:bob@example.test", &format!("sip:{user}@xmpp.test"))
        .replace(
            "CSeq: 1 MESSAGE\r\n",
            "CSeq: 1 MESSAGE\r\nSubject: lunch\r\n",
        )
        .into_bytes()
}

pub(super) fn sent_stanza(sim: &Sim) -> String {
    match &sim.xmpp[..] {
        [XmppOut::Send(1, s)] => s.clone(),
        other => panic!("expected one stanza, got {other:?}"),
    }
}

#[test]
fn sip_message_becomes_a_stanza_and_202_after_a_quiet_error_window() {
    let mut sim = online_xmpp_sim();
    assert!(
        sim.input(UAC, to_xmpp_message("z9hG4bKx1", "juliet"))
            .is_empty(),
        "no answer before the window"
    );
    let stanza = sent_stanza(&sim);
    assert!(
        stanza.contains("from='alice\\40sip.test@cpim.xmpp.test'"),
        "{stanza}"
    );
    assert!(stanza.contains("to='juliet@xmpp.test'"), "{stanza}");
    assert!(stanza.contains("<body>hello bob</body>"), "{stanza}");
    assert!(stanza.contains("<subject>lunch</subject>"), "{stanza}");
    assert!(
        stanza.contains("<thread>z9hG4bKx1@uac</thread>"),
        "Call-ID becomes the thread: {stanza}"
    );
    let fired = sim.advance(Duration::from_millis(300));
    assert_eq!(fired.len(), 1);
    assert_eq!(
        fired[0].0,
        Duration::from_millis(300),
        "answered exactly when the window closes"
    );
    assert_eq!(parse_resp(&fired[0].1).status(), StatusCode::ACCEPTED);
    assert_eq!(sim.gw.stats().messages_indeterminate, 1);
}

#[test]
fn xmpp_error_inside_the_window_gives_the_mapped_status_never_503() {
    let mut sim = online_xmpp_sim();
    sim.input(UAC, to_xmpp_message("z9hG4bKx2", "nobody"));
    let stanza = sent_stanza(&sim);
    let id = stanza
        .split("id='")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let err = format!(
        "<message type='error' id='{id}' from='nobody@xmpp.test' to='alice\\40sip.test@cpim.xmpp.test'>\
         <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    );
    sim.gw.handle_xmpp_bytes(sim.now, 1, err.as_bytes());
    let out = sim.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(
        parse_resp(&out[0]).status(),
        StatusCode::FORBIDDEN,
        "service-unavailable → 403, not 503"
    );
    // Nothing more when the window would have closed.
    assert!(sim.advance(Duration::from_secs(1)).is_empty());
}

#[test]
fn sip_message_towards_xmpp_while_the_link_is_down_is_503_with_retry_after() {
    let mut sim = Sim::with(xmpp_config());
    let out = sim.input(UAC, to_xmpp_message("z9hG4bKx3", "juliet"));
    let resp = parse_resp(&out[0]);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.header("Retry-After").is_some());
}

// --- XMPP <message> → SIP MESSAGE ----------------------------------------

pub(super) fn xmpp_in(sim: &mut Sim, id: &str, body: &str) -> Vec<Transmit> {
    let st = format!(
        "<message from='juliet@xmpp.test/balcony' to='romeo\\40sip.test@cpim.xmpp.test' id='{id}' type='chat'>\
         <body>{body}</body><thread>th-{id}</thread></message>"
    );
    sim.gw.handle_xmpp_bytes(sim.now, 1, st.as_bytes());
    sim.drain()
}

pub(super) fn xmpp_sim_with_sip_route() -> Sim {
    let mut sim = online_xmpp_sim();
    sim.gw.config.router = Router::new(vec![StaticRoute {
        domain: DomainPattern::parse("sip.test").unwrap(),
        next_hop: NextHop {
            addr: addr(UAS),
            transport: Transport::Udp,
        },
    }]);
    sim
}

#[test]
fn xmpp_message_becomes_a_sip_message_and_a_sip_error_comes_back_as_a_stanza_error() {
    let mut sim = xmpp_sim_with_sip_route();
    let out = xmpp_in(&mut sim, "m1", "wherefore art thou");
    assert_eq!(out.len(), 1, "one MESSAGE");
    assert_eq!(out[0].dst, addr(UAS));
    let fwd = parse_req(&out[0]);
    assert_eq!(fwd.uri().as_str(), "sip:romeo@sip.test");
    assert_eq!(fwd.from().uri().as_str(), "sip:juliet@xmpp.test;gr=balcony");
    assert_eq!(fwd.content_type(), Some("text/plain; charset=UTF-8"));
    assert_eq!(fwd.body().as_ref(), b"wherefore art thou");
    assert_eq!(fwd.call_id(), "th-m1", "<thread> becomes the Call-ID");
    assert!(fwd.header("Contact").is_none(), "no Contact (RFC 3428 §4)");
    sim.xmpp.clear();
    sim.input(UAS, answer(&fwd, 404, &[]));
    let reply = sent_stanza(&sim);
    assert!(
        reply.contains("type='error'") && reply.contains("id='m1'"),
        "{reply}"
    );
    assert!(
        reply.contains("item-not-found"),
        "404 → item-not-found: {reply}"
    );
    assert!(reply.contains("to='juliet@xmpp.test/balcony'"), "{reply}");
}

#[test]
fn xmpp_burst_to_one_sip_uri_leaves_one_at_a_time_in_order() {
    let mut sim = xmpp_sim_with_sip_route();
    let mut bodies = Vec::new();
    let mut outstanding = Vec::new();
    for n in 0..10 {
        outstanding.extend(xmpp_in(&mut sim, &format!("b{n}"), &format!("msg {n}")));
    }
    assert_eq!(outstanding.len(), 1, "only the first goes out");
    while let Some(t) = outstanding.pop() {
        let req = parse_req(&t);
        bodies.push(String::from_utf8(req.body().to_vec()).unwrap());
        let next = sim.input(UAS, answer(&req, 200, &[]));
        outstanding.extend(next.into_iter().filter(|t| t.dst == addr(UAS)));
        assert!(outstanding.len() <= 1);
    }
    let want: Vec<String> = (0..10).map(|n| format!("msg {n}")).collect();
    assert_eq!(bodies, want);
}

#[test]
fn xmpp_message_over_1300_bytes_gets_policy_violation() {
    let mut sim = xmpp_sim_with_sip_route();
    let out = xmpp_in(&mut sim, "big", &"x".repeat(2000));
    assert!(out.is_empty(), "no MESSAGE");
    let reply = sent_stanza(&sim);
    let tail: String = reply
        .chars()
        .rev()
        .take(400)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        reply.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>")
            && reply.contains("id='big'"),
        "{tail}"
    );
}

#[test]
fn wrap_cpim_policy_wraps_xmpp_text_in_message_cpim() {
    let mut sim = xmpp_sim_with_sip_route();
    if let Some(l) = sim.gw.xmpp.as_mut() {
        l.wrap_cpim = true;
    }
    let out = xmpp_in(&mut sim, "w1", "wrapped");
    let fwd = parse_req(&out[0]);
    assert_eq!(fwd.content_type(), Some("message/cpim"));
    let cpim = crate::cpim::CpimMessage::parse(fwd.body().clone()).unwrap();
    assert_eq!(cpim.from().uri(), "im:juliet@xmpp.test", "resource removed");
    assert_eq!(cpim.content().as_ref(), b"wrapped");
}

#[test]
fn xmpp_originated_relays_are_bounded_by_the_relay_table() {
    let mut cfg = xmpp_config();
    cfg.max_pending_relays = 2;
    cfg.router = Router::new(vec![StaticRoute {
        domain: DomainPattern::parse("*").unwrap(),
        next_hop: NextHop {
            addr: addr(UAS),
            transport: Transport::Udp,
        },
    }]);
    let mut sim = online_sim_with(cfg);
    let mut relayed = 0;
    for n in 0..3 {
        // Distinct destinations, so the per-destination queue does not apply.
        let st = format!(
            "<message from='juliet@xmpp.test/b' to='u{n}\\40sip.test@cpim.xmpp.test' id='r{n}'><body>x</body></message>"
        );
        sim.gw.handle_xmpp_bytes(sim.now, 1, st.as_bytes());
        relayed += sim.drain().len();
    }
    assert_eq!(relayed, 2, "two relayed, the third refused");
    let reply = sent_stanza(&sim);
    assert!(
        reply.contains("resource-constraint") && reply.contains("id='r2'"),
        "{reply}"
    );
}

#[test]
fn xmpp_message_to_an_unresolvable_sip_domain_gets_remote_server_errors() {
    let mut cfg = xmpp_config();
    cfg.dns_enabled = true;
    let mut sim = online_sim_with(cfg);
    // NXDOMAIN → cancel / remote-server-not-found.
    let st = "<message from='juliet@xmpp.test/b' to='romeo\\40nowhere.test@cpim.xmpp.test' id='nx'><body>x</body></message>";
    sim.gw.handle_xmpp_bytes(sim.now, 1, st.as_bytes());
    sim.drain();
    for q in sim.queries() {
        sim.answer(&q, Answer::NxDomain);
    }
    let reply = sent_stanza(&sim);
    assert!(
        reply.contains("remote-server-not-found") && reply.contains("id='nx'"),
        "{reply}"
    );
    assert!(reply.contains("type='cancel'"), "{reply}");
    // DNS timeout → wait / remote-server-timeout.
    sim.xmpp.clear();
    let st = "<message from='juliet@xmpp.test/b' to='romeo\\40slow.test@cpim.xmpp.test' id='to'><body>x</body></message>";
    sim.gw.handle_xmpp_bytes(sim.now, 1, st.as_bytes());
    sim.drain();
    for q in sim.queries() {
        sim.answer(&q, Answer::Timeout);
    }
    let reply = sent_stanza(&sim);
    assert!(
        reply.contains("remote-server-timeout") && reply.contains("type='wait'"),
        "{reply}"
    );
}

#[test]
fn zero_error_window_answers_202_as_soon_as_the_stanza_is_written() {
    let mut cfg = xmpp_config();
    if let Some(x) = cfg.xmpp.as_mut() {
        x.error_window = Duration::ZERO;
    }
    let mut sim = online_sim_with(cfg);
    let out = sim.input(UAC, to_xmpp_message("z9hG4bKz0", "juliet"));
    assert_eq!(out.len(), 1, "answered within the same input");
    assert_eq!(parse_resp(&out[0]).status(), StatusCode::ACCEPTED);
    assert!(sent_stanza(&sim).contains("<body>hello bob</body>"));
}

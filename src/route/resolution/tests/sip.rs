//! RFC 3263 §4 tests: NAPTR, SRV probing, transport parameter, explicit
//! port and IP literal shortcuts.

use std::net::{Ipv6Addr, SocketAddr};

use super::{LO, Zone, bench, run, sip, v4only};
use crate::route::records::{Record, Rtype, SipTransport};
use crate::route::resolution::{ResolutionConfig, RouteError, Service, Target};

fn naptr_zone() -> Zone {
    Zone::new(vec![
        Record::naptr_s("n.test", 300, 20, 10, "SIP+D2U", "_sip._udp.n.test"),
        Record::naptr_s("n.test", 300, 10, 10, "SIP+D2T", "_sip._tcp.n.test"),
        Record::naptr_s("n.test", 300, 5, 10, "SIPS+D2T", "_sips._tcp.n.test"),
        Record::srv("_sip._udp.n.test", 300, 0, 0, 5070, "u.n.test"),
        Record::srv("_sip._tcp.n.test", 300, 0, 0, 5071, "t.n.test"),
        Record::srv("_sips._tcp.n.test", 300, 0, 0, 5072, "s.n.test"),
        Record::a("u.n.test", 300, LO),
        Record::a("t.n.test", 300, LO),
        Record::a("s.n.test", 300, LO),
        Record::a("n.test", 300, LO),
    ])
}

#[test]
fn naptr_then_srv_then_a_selects_the_transport() {
    // TLS is not enabled, so SIPS+D2T is discarded; SIP+D2T has the lower order.
    let r = run(sip("n.test", None, None), &v4only(), &naptr_zone());
    let c = r.plan().candidates().first().cloned();
    assert_eq!(
        c.map(|c| (c.addr.port(), c.transport)),
        Some((5071, Some(SipTransport::Tcp)))
    );
    assert!(!r.asked("_sips._tcp.n.test", Rtype::Srv));
    assert!(!r.asked("n.test", Rtype::A));

    let tls = ResolutionConfig {
        sip_transports: vec![SipTransport::Udp, SipTransport::Tls],
        ..v4only()
    };
    let r = run(sip("n.test", None, None), &tls, &naptr_zone());
    let c = r.plan().candidates().first().cloned();
    assert_eq!(
        c.map(|c| (c.addr.port(), c.transport)),
        Some((5072, Some(SipTransport::Tls)))
    );

    let sips = Target::sip("n.test", None, None, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run(sips.clone(), &tls, &naptr_zone()).addrs(),
        ["127.0.0.1:5072"]
    );
    assert_eq!(
        run(sips, &v4only(), &naptr_zone()).err(),
        &RouteError::UnsupportedTransport(SipTransport::Tls)
    );
}

#[test]
fn unusable_naptr_falls_back_to_srv_probing_in_preference_order() {
    let zone = Zone::new(vec![
        Record::naptr_s("p.test", 300, 10, 10, "SIP+D2S", "_sip._sctp.p.test"),
        Record::srv("_sip._udp.p.test", 300, 10, 10, 5070, "k.p.test"),
        Record::srv("_sip._tcp.p.test", 300, 20, 10, 5071, "k.p.test"),
        Record::a("k.p.test", 300, LO),
    ]);
    let r = run(sip("p.test", None, None), &v4only(), &zone);
    let c = r.plan().candidates().first().cloned();
    assert_eq!(
        c.map(|c| (c.addr.port(), c.transport)),
        Some((5070, Some(SipTransport::Udp)))
    );
    let tcp_first = ResolutionConfig {
        sip_transports: vec![SipTransport::Tcp, SipTransport::Udp],
        ..v4only()
    };
    let c = run(sip("p.test", None, None), &tcp_first, &zone)
        .plan()
        .candidates()
        .first()
        .cloned();
    assert_eq!(
        c.map(|c| (c.addr.port(), c.transport)),
        Some((5071, Some(SipTransport::Tcp)))
    );
}

#[test]
fn transport_parameter_wins_over_naptr() {
    let r = run(
        sip("n.test", None, Some(SipTransport::Udp)),
        &v4only(),
        &naptr_zone(),
    );
    assert_eq!(r.addrs(), ["127.0.0.1:5070"]);
    assert!(!r.asked("n.test", Rtype::Naptr));
    // No SRV for that transport: the domain at the transport's default port.
    let r = run(
        sip("plain.test", None, Some(SipTransport::Tcp)),
        &v4only(),
        &bench(),
    );
    let c = r.plan().candidates().first().cloned();
    assert_eq!(
        c.map(|c| (c.addr.to_string(), c.transport)),
        Some(("127.0.0.3:5060".into(), Some(SipTransport::Tcp)))
    );
}

#[test]
fn explicit_port_and_ip_literal_shortcuts() {
    let r = run(
        sip("n.test", Some(5080), None),
        &ResolutionConfig::default(),
        &naptr_zone(),
    );
    assert_eq!(r.addrs(), ["127.0.0.1:5080"]);
    assert_eq!(
        r.asked,
        [
            ("n.test.".to_owned(), Rtype::A),
            ("n.test.".to_owned(), Rtype::Aaaa)
        ]
    );

    let r = run(
        sip("192.0.2.7", None, Some(SipTransport::Tcp)),
        &v4only(),
        &Zone::default(),
    );
    assert!(r.asked.is_empty());
    let c = r.plan().candidates().first().cloned();
    assert_eq!(
        c.map(|c| (c.addr.to_string(), c.transport)),
        Some(("192.0.2.7:5060".into(), Some(SipTransport::Tcp)))
    );

    let tls = ResolutionConfig {
        sip_transports: vec![SipTransport::Tls],
        ..v4only()
    };
    let sips = Target::sip("[::1]", None, None, true).unwrap_or_else(|e| panic!("{e}"));
    let r = run(sips, &tls, &Zone::default());
    assert_eq!(
        r.addrs(),
        [SocketAddr::from((Ipv6Addr::LOCALHOST, 5061)).to_string()]
    );
    assert!(Target::sip("bad host", None, None, false).is_err());
    assert!(Target::service(Service::Im, "").is_err());
}

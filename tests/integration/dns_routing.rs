//! RFC 3861 / RFC 3263 routing against a real dnsmasq on loopback: with no
//! static route, destinations are delivered where the SRV records point;
//! the next SRV target takes over within the same transaction; a dead SRV
//! set never falls back to the domain's A record; no SRV means the A record
//! at the default port; NXDOMAIN → 404; a dead DNS server → 408 quickly; an
//! XMPP-only domain → 502 with a Warning.

use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use crate::common::dnsmasq::Dnsmasq;
use crate::common::*;

fn dns_section(dns: &Dnsmasq) -> String {
    format!(
        "[dns]\nnameservers = [\"{}\"]\ntimeout_ms = 1000\nattempts = 1\n",
        dns.addr()
    )
}

fn message(uac: &UdpPeer, uri: &str, branch: &str) -> Vec<u8> {
    request(
        "MESSAGE",
        uri,
        uac.addr(),
        branch,
        &[("Content-Type", "text/plain")],
        b"via dns",
    )
}

#[test]
fn im_and_sip_destinations_follow_the_srv_records() {
    let dir = scratch_dir("dns-srv");
    let uas_port = free_port();
    let dns = Dnsmasq::start(
        &dir,
        &format!(
            "address=/example.test/127.0.0.1\n\
             srv-host=_im._sip.example.test,uas.example.test,{uas_port},10,10\n\
             srv-host=_sip._udp.example.test,uas.example.test,{uas_port},10,10\n\
             host-record=uas.example.test,127.0.0.1\n"
        ),
    );
    let gw = Gateway::start("dns-srv", "", &dns_section(&dns));
    let mut uas = Sipp::start(
        &dir,
        "uas_message",
        &[
            "-p".into(),
            uas_port.to_string(),
            "-m".into(),
            "2".into(),
            "-timeout".into(),
            "20s".into(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let uac = UdpPeer::bind();
    uac.send(
        &message(&uac, "im:bob@example.test", "z9hG4bKdns1"),
        gw.addr(),
    );
    assert_eq!(
        uac.recv_status(Duration::from_secs(5)),
        Some(200),
        "im: via _im._sip; log:\n{}",
        gw.log()
    );
    uac.send(
        &message(&uac, "sip:bob@example.test", "z9hG4bKdns2"),
        gw.addr(),
    );
    assert_eq!(
        uac.recv_status(Duration::from_secs(5)),
        Some(200),
        "sip: via _sip._udp"
    );
    assert!(
        uas.wait(Duration::from_secs(10)).success(),
        "{}",
        uas.errors_log()
    );
    let got = sipp_logged_messages(&uas.messages_log(), true);
    assert!(
        got.iter()
            .any(|m| m.starts_with("MESSAGE im:bob@example.test SIP/2.0")),
        "Request-URI kept as the im: AoR"
    );
    assert!(
        got.iter()
            .any(|m| m.starts_with("MESSAGE sip:bob@example.test SIP/2.0"))
    );
    assert_eq!(gw.metrics().get("routed_dns_total"), Some(&2));
}

#[test]
fn next_srv_target_takes_over_within_the_same_transaction() {
    let dir = scratch_dir("dns-failover");
    let refused_port = free_port(); // nothing listens: TCP connect is refused
    let good_port = free_port();
    let dns = Dnsmasq::start(
        &dir,
        &format!(
            "address=/fail.test/127.0.0.1\n\
             srv-host=_sip._tcp.fail.test,one.fail.test,{refused_port},10,10\n\
             srv-host=_sip._tcp.fail.test,two.fail.test,{good_port},20,10\n"
        ),
    );
    let gw = Gateway::start("dns-failover", "", &dns_section(&dns));
    let mut uas = Sipp::start(
        &dir,
        "uas_message",
        &[
            "-p".into(),
            good_port.to_string(),
            "-t".into(),
            "t1".into(),
            "-m".into(),
            "1".into(),
            "-timeout".into(),
            "20s".into(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let uac = UdpPeer::bind();
    uac.send(&message(&uac, "sip:bob@fail.test", "z9hG4bKfo1"), gw.addr());
    assert_eq!(
        uac.recv_status(Duration::from_secs(5)),
        Some(200),
        "log:\n{}",
        gw.log()
    );
    assert!(
        uas.wait(Duration::from_secs(10)).success(),
        "{}",
        uas.errors_log()
    );
    let m = gw.metrics();
    assert_eq!(m.get("failovers_total"), Some(&1));
    assert_eq!(
        m.get("messages_relayed_total"),
        Some(&2),
        "two legs, one inbound transaction"
    );
    assert_eq!(
        m.get("sip_requests_received_total"),
        Some(&2),
        "the OPTIONS ping and one MESSAGE"
    );
}

#[test]
fn dead_srv_never_falls_back_to_a_and_no_srv_uses_port_5060() {
    let _guard = lock_5060();
    let dir = scratch_dir("dns-a-record");
    let dead_port = free_port();
    let dns = Dnsmasq::start(
        &dir,
        &format!(
            "address=/dead.test/127.0.0.1\n\
             srv-host=_sip._tcp.dead.test,gone.dead.test,{dead_port},10,10\n\
             host-record=plain.test,127.0.0.1\n"
        ),
    );
    let gw = Gateway::start("dns-a-record", "", &dns_section(&dns));
    // Listen on the RFC 3263 default port on both transports.
    let udp_5060 = UdpPeer::bind_port(5060);
    let tcp_5060 = TcpListener::bind("127.0.0.1:5060").expect("127.0.0.1:5060 free");
    tcp_5060.set_nonblocking(true).unwrap();

    let uac = UdpPeer::bind();
    uac.send(
        &message(&uac, "sip:bob@dead.test", "z9hG4bKdead"),
        gw.addr(),
    );
    let resp = uac
        .recv_response(Duration::from_secs(5))
        .expect("an answer");
    assert!(
        resp.starts_with("SIP/2.0 503"),
        "all SRV targets failed: {resp}"
    );
    assert!(resp.contains("Retry-After:"), "{resp}");
    assert!(
        udp_5060.recv(Duration::from_millis(300)).is_none(),
        "dead.test's A record was not tried over UDP"
    );
    assert!(
        tcp_5060.accept().is_err(),
        "dead.test's A record was not tried over TCP"
    );

    uac.send(
        &message(&uac, "sip:bob@plain.test", "z9hG4bKplain"),
        gw.addr(),
    );
    let (raw, from) = udp_5060
        .recv(Duration::from_secs(5))
        .expect("no SRV: delivered to the A record at 5060");
    assert!(raw.starts_with(b"MESSAGE sip:bob@plain.test SIP/2.0"));
    udp_5060.send(&answer(&raw, "200 OK"), from);
    assert_eq!(uac.recv_status(Duration::from_secs(5)), Some(200));
}

#[test]
fn nxdomain_is_404_and_xmpp_only_domain_is_502_with_warning() {
    let dir = scratch_dir("dns-errors");
    let dns = Dnsmasq::start(
        &dir,
        "address=/xonly.test/127.0.0.1\nsrv-host=_im._xmpp.xonly.test,xmpp.xonly.test,5269,0,5\n",
    );
    let gw = Gateway::start("dns-errors", "", &dns_section(&dns));
    let uac = UdpPeer::bind();
    uac.send(
        &message(&uac, "sip:bob@nothing-here.test", "z9hG4bKnx"),
        gw.addr(),
    );
    let resp = uac.recv_response(Duration::from_secs(5)).expect("answer");
    assert!(resp.starts_with("SIP/2.0 404"), "{resp}");
    uac.send(&message(&uac, "im:bob@xonly.test", "z9hG4bKxo"), gw.addr());
    let resp = uac.recv_response(Duration::from_secs(5)).expect("answer");
    assert!(resp.starts_with("SIP/2.0 502"), "{resp}");
    let warning = resp
        .lines()
        .find(|l| l.starts_with("Warning:"))
        .expect("Warning header");
    assert!(warning.contains("XMPP"), "{warning}");
}

#[test]
fn unreachable_dns_server_gives_408_within_the_timeout() {
    // A nameserver address where nothing answers (UDP socket bound and
    // never read, so queries are silently swallowed, not refused).
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let gw = Gateway::start(
        "dns-dead",
        "",
        &format!(
            "[dns]\nnameservers = [\"{}\"]\ntimeout_ms = 500\nattempts = 1\n",
            silent.local_addr().unwrap()
        ),
    );
    let uac = UdpPeer::bind();
    let started = Instant::now();
    // A UDP UAC retransmits (RFC 3261 §17.1.2.2, Timer E from T1 = 500 ms),
    // so one datagram lost on a loaded machine does not read as a hang; a
    // retransmission is absorbed by the server transaction and re-answered.
    let req = message(&uac, "sip:bob@example.test", "z9hG4bKdd");
    let mut interval = Duration::from_millis(500);
    let mut resp = None;
    while resp.is_none() && started.elapsed() < Duration::from_secs(10) {
        uac.send(&req, gw.addr());
        resp = uac.recv_response(interval);
        interval = (interval * 2).min(Duration::from_secs(4));
    }
    let resp = resp.unwrap_or_else(|| panic!("an answer, not a hang\n{}", gw.log()));
    let took = started.elapsed();
    assert!(resp.starts_with("SIP/2.0 408"), "{resp}");
    assert!(
        took < Duration::from_secs(3),
        "answered after {took:?} with a 500 ms DNS timeout"
    );
}

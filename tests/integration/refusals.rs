//! Requests the gateway must refuse, each with the right status, and bad
//! input that must never stop it: Max-Forwards 0 → 483, spoofed From → 403
//! (counted), unknown destination → 404, unknown method → 501, every
//! malformed vector → 400 (or a counted drop), TCP truncation → 400.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::common::*;

fn start(name: &str) -> Gateway {
    Gateway::start(
        name,
        "",
        "[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:9\"\n",
    )
}

#[test]
fn refusals_have_the_right_status() {
    let gw = start("refusals");
    let uac = UdpPeer::bind();
    let ct = ("Content-Type", "text/plain");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "max-forwards 0",
            request(
                "MESSAGE",
                "sip:bob@example.test",
                uac.addr(),
                "z9hG4bKr1",
                &[("Max-Forwards", "0"), ct],
                b"x",
            ),
            483,
        ),
        (
            "unknown destination",
            request(
                "MESSAGE",
                "sip:bob@nowhere.test",
                uac.addr(),
                "z9hG4bKr3",
                &[ct],
                b"x",
            ),
            404,
        ),
        (
            "unknown method",
            request(
                "FROBNICATE",
                "sip:bob@example.test",
                uac.addr(),
                "z9hG4bKr4",
                &[],
                b"",
            ),
            501,
        ),
        (
            "invite",
            request(
                "INVITE",
                "sip:bob@example.test",
                uac.addr(),
                "z9hG4bKr5",
                &[],
                b"",
            ),
            488,
        ),
    ];
    for (what, req, want) in cases {
        uac.send(&req, gw.addr());
        assert_eq!(
            uac.recv_status(Duration::from_secs(3)),
            Some(want),
            "{what}"
        );
    }
    // Spoofed From: 127.0.0.1 may only assert sip.test.
    let before = gw
        .metrics()
        .get("refused_policy_total")
        .copied()
        .unwrap_or(0);
    let spoofed = String::from_utf8(request(
        "MESSAGE",
        "sip:bob@example.test",
        uac.addr(),
        "z9hG4bKr2",
        &[ct],
        b"x",
    ))
    .unwrap()
    .replace("<sip:alice@sip.test>", "<sip:mallory@evil.test>");
    uac.send(spoofed.as_bytes(), gw.addr());
    assert_eq!(uac.recv_status(Duration::from_secs(3)), Some(403));
    assert_eq!(
        gw.wait_metric("refused_policy_total", before + 1),
        before + 1,
        "refusal counted exactly once"
    );
}

#[test]
fn malformed_vectors_get_400_or_a_counted_drop_and_the_gateway_keeps_serving() {
    let mut gw = start("malformed");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sip/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/vectors/sip/malformed")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "at least 20 malformed vectors, found {}",
        files.len()
    );
    let uac = UdpPeer::bind();
    let mut drops = 0u64;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let expect = std::fs::read_to_string(f.with_extension("expect")).expect("sidecar .expect");
        let expect = expect.trim();
        uac.send(&bytes, gw.addr());
        let got = uac.recv_status(Duration::from_millis(if expect == "drop" {
            300
        } else {
            3000
        }));
        if expect == "drop" {
            drops += 1;
            assert_eq!(got, None, "{}: expected a silent drop", f.display());
        } else {
            let want: u16 = expect.parse().expect("status in .expect");
            assert_eq!(got, Some(want), "{}", f.display());
        }
    }
    let m = gw.metrics();
    assert_eq!(
        m.get("sip_dropped_unparseable_total").copied().unwrap_or(0),
        drops,
        "every drop counted"
    );
    assert!(gw.alive(), "gateway still running");
    let ok = request(
        "OPTIONS",
        "sip:bob@gw.test",
        uac.addr(),
        "z9hG4bKafter",
        &[],
        b"",
    );
    uac.send(&ok, gw.addr());
    assert_eq!(
        uac.recv_status(Duration::from_secs(3)),
        Some(200),
        "still serving"
    );
}

fn tcp_exchange(gw: &Gateway, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).to_string()
}

#[test]
fn tcp_truncated_body_gets_400() {
    let gw = start("tcp-truncated");
    let mut req = request(
        "MESSAGE",
        "sip:bob@example.test",
        "127.0.0.1:5999".parse().unwrap(),
        "z9hG4bKtt",
        &[("Content-Type", "text/plain")],
        b"0123456789",
    );
    // Claim 100 bytes, send 10, close.
    let s = String::from_utf8(req.clone())
        .unwrap()
        .replace("Content-Length: 10", "Content-Length: 100");
    req = s.into_bytes();
    let reply = tcp_exchange(&gw, &req);
    assert!(reply.starts_with("SIP/2.0 400"), "got {reply:?}");
    assert!(
        reply.contains("Warning: 399"),
        "Warning names the fault: {reply:?}"
    );
}

#[test]
fn tcp_body_over_limit_gets_413_and_missing_content_length_gets_400() {
    let gw = Gateway::start("tcp-limits", "max_body_bytes = 100\n", "");
    let big = request(
        "MESSAGE",
        "sip:bob@example.test",
        "127.0.0.1:5999".parse().unwrap(),
        "z9hG4bKbig",
        &[("Content-Type", "text/plain")],
        &[b'x'; 200],
    );
    let reply = tcp_exchange(&gw, &big);
    assert!(reply.starts_with("SIP/2.0 413"), "got {reply:?}");
    let no_cl = String::from_utf8(request(
        "MESSAGE",
        "sip:bob@example.test",
        "127.0.0.1:5999".parse().unwrap(),
        "z9hG4bKnocl",
        &[("Content-Type", "text/plain")],
        b"",
    ))
    .unwrap()
    .replace("Content-Length: 0\r\n", "");
    let reply = tcp_exchange(&gw, no_cl.as_bytes());
    assert!(reply.starts_with("SIP/2.0 400"), "got {reply:?}");
}

#[test]
fn domain_policy_rate_limit_and_deny_over_the_wire() {
    // Destinations route to a silent hop: accepted relays stay pending, so
    // the only answers within the window are refusals.
    let silent = UdpPeer::bind();
    let gw = Gateway::start(
        "domain-policy",
        "",
        &format!(
            "[[route]]\ndomain = \"*\"\nvia = \"sip:{}\"\n\n\
             [[domain_policy]]\ndomain = \"example.test\"\naction = \"rate-limit\"\nrate = 0.5\nburst = 2.0\n\n\
             [[domain_policy]]\ndomain = \"spam.test\"\naction = \"deny\"\n",
            silent.addr()
        ),
    );
    let uac = UdpPeer::bind();
    let ct = ("Content-Type", "text/plain");
    for n in 0..3 {
        let req = request(
            "MESSAGE",
            "sip:bob@example.test",
            uac.addr(),
            &format!("z9hG4bKrate{n}"),
            &[ct],
            b"x",
        );
        uac.send(&req, gw.addr());
    }
    let resp = uac
        .recv_response(Duration::from_secs(3))
        .expect("the third is refused");
    assert!(resp.starts_with("SIP/2.0 503"), "{resp}");
    assert!(resp.contains("Retry-After: 2"), "{resp}");
    assert!(
        uac.recv_response(Duration::from_millis(300)).is_none(),
        "the first two were accepted"
    );
    let req = request(
        "MESSAGE",
        "sip:bob@spam.test",
        uac.addr(),
        "z9hG4bKspam",
        &[ct],
        b"x",
    );
    uac.send(&req, gw.addr());
    let resp = uac.recv_response(Duration::from_secs(3)).expect("answer");
    assert!(resp.starts_with("SIP/2.0 403"), "{resp}");
    let m = gw.metrics();
    assert_eq!(m.get("refused_rate_limit_total"), Some(&1));
    assert_eq!(m.get("messages_relayed_total"), Some(&2));
}

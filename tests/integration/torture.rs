//! RFC 4475 torture messages against the real gateway binary: every file in
//! `tests/vectors/rfc4475/` is sent as one UDP datagram (a few also over
//! TCP) to a gateway whose local domains are the RFC's example domains, and
//! the answer is checked against the handling RFC 4475 expects of it (see
//! the table and `tests/vectors/rfc4475/README.md`). After every message an
//! OPTIONS probe must still get 200, so no vector may crash or wedge it.
//! Every case is handled as the RFC expects (no deviations).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cpim_gateway::sip::{Limits, Message, Transport, parse, salvage};

use crate::common::*;

/// What the gateway must do with one vector.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A final response with this status, carrying the vector's Call-ID
    /// (retransmissions of it aside, nothing else).
    Status(u16),
    /// No answer at all: RFC 4475 says to discard these (stray or broken
    /// responses).
    Drop,
    /// A MESSAGE relayed to the route for its domain with the body and
    /// Content-Type byte for byte; the next hop's 200 comes back as this.
    Relay(u16),
}

use Expect::{Drop, Relay, Status};

/// Every RFC 4475 §3 message by its RFC name, in RFC order. INVITE gets the
/// configured 488 (pager mode only), REGISTER and other methods the gateway
/// does not serve 405, unknown methods 501, OPTIONS 200 (it is the UAS).
const CASES: &[(&str, Expect)] = &[
    // §3.1.1 valid messages: parsed and answered.
    ("wsinv", Status(488)),
    ("intmeth", Status(501)),
    ("esc01", Status(488)),
    ("escnull", Status(405)),
    ("esc02", Status(501)),
    ("lwsdisp", Status(200)),
    ("longreq", Status(488)),
    // One answer: the trailing INVITE octets are noise (§3.1.1.8).
    ("dblreq", Status(405)),
    ("semiuri", Status(200)),
    ("transports", Status(200)),
    ("mpart01", Relay(200)),
    ("unreason", Drop),
    ("noreason", Drop),
    // §3.1.2 invalid messages.
    ("badinv01", Status(400)),
    ("clerr", Status(400)),
    ("ncl", Status(400)),
    ("scalar02", Status(400)),
    ("scalarlg", Drop),
    ("quotbal", Status(400)),
    ("ltgtruri", Status(400)),
    ("lwsruri", Status(400)),
    ("lwsstart", Status(400)),
    ("trws", Status(400)),
    // The RFC allows ignoring the escaped headers; the INVITE is refused.
    ("escruri", Status(488)),
    // Date and Contact are not used, so the liberal handling applies.
    ("baddate", Status(488)),
    ("regbadct", Status(405)),
    ("badaspec", Status(400)),
    ("baddn", Status(400)),
    ("badvers", Status(505)),
    ("mismatch01", Status(400)),
    // RFC: 501 preferred, 400 acceptable.
    ("mismatch02", Status(400)),
    ("bigcode", Drop),
    // §3.2.1: falls back to an RFC 2543-style transaction key.
    ("badbranch", Status(200)),
    // §3.3 application-layer semantics.
    // "must not break; ideally 400": answered on its Via and CSeq.
    ("insuf", Status(400)),
    ("unkscm", Status(416)),
    ("novelsc", Status(416)),
    ("unksm2", Status(405)),
    ("bext01", Status(420)),
    ("invut", Status(488)),
    ("regaut01", Status(405)),
    ("multi01", Status(400)),
    ("mcl01", Status(400)),
    ("bcast", Drop),
    // The UAS answers OPTIONS even at Max-Forwards 0 (RFC 3261 §11).
    ("zeromf", Status(200)),
    ("cparam01", Status(405)),
    ("cparam02", Status(405)),
    ("regescrt", Status(405)),
    ("sdp01", Status(488)),
    // §3.4.1: RFC 2543 syntax (no branch, no Max-Forwards, no length).
    ("inv2543", Status(488)),
];

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc4475")
}

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(vectors_dir().join(format!("{name}.dat"))).expect("vector file")
}

/// The RFC's example domains as the gateway's own; a loopback peer that
/// may assert any From domain; example.org routed to `uas_port`; a short
/// T1 so server transactions of vectors sharing a branch end quickly.
fn start(name: &str, uas_port: u16) -> Gateway {
    Gateway::start_with_domains(
        name,
        &[
            "example.com",
            "example.net",
            "chair-dnrc.example.com",
            "company.com",
        ],
        &["*"],
        "t1_ms = 5\n",
        &format!(
            "[[route]]\ndomain = \"example.org\"\nvia = \"sip:127.0.0.1:{uas_port};transport=udp\"\n"
        ),
    )
}

fn call_id_of(msg: &str) -> Option<String> {
    header_of(msg, "Call-ID")
        .or_else(|| header_of(msg, "i"))
        .map(str::to_owned)
}

fn status_of(msg: &str) -> Option<u16> {
    msg.get(8..11)?.parse().ok()
}

/// The server-transaction key a request would get (branch, sent-by,
/// method), so vectors that share one are spaced past Timer J.
fn txn_key(bytes: &[u8]) -> Option<String> {
    match parse(
        Bytes::copy_from_slice(bytes),
        Transport::Udp,
        &Limits::default(),
    ) {
        Ok(Message::Request(r)) => Some(format!(
            "{}|{}|{}",
            r.top_via().branch().unwrap_or(""),
            r.top_via().sent_by(),
            r.method().as_str()
        )),
        _ => None,
    }
}

/// The vector's own Call-ID (parsed, or salvaged from a broken request).
fn vector_call_id(bytes: &[u8]) -> Option<String> {
    match parse(
        Bytes::copy_from_slice(bytes),
        Transport::Udp,
        &Limits::default(),
    ) {
        Ok(Message::Request(r)) => Some(r.call_id().to_owned()),
        Ok(Message::Response(r)) => Some(r.call_id().to_owned()),
        Err(_) => salvage(bytes).and_then(|s| s.call_id),
    }
}

/// The next final response on `peer` within `limit`.
fn final_response(peer: &UdpPeer, limit: Duration) -> Option<String> {
    let end = Instant::now() + limit;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        let r = peer.recv_response(left)?;
        if !r.starts_with("SIP/2.0 1") {
            return Some(r);
        }
    }
    None
}

/// Checks one case; `Err` names what went wrong.
fn run_case(gw: &Gateway, uas: &UdpPeer, name: &str, expect: Expect) -> Result<(), String> {
    let bytes = vector(name);
    let uac = UdpPeer::bind();
    uac.send(&bytes, gw.addr());
    let want_call_id = vector_call_id(&bytes);
    let expect_status = |want: u16| -> Result<(), String> {
        let resp = final_response(&uac, Duration::from_secs(3))
            .ok_or_else(|| format!("no answer, want {want}"))?;
        let got = status_of(&resp);
        if got != Some(want) {
            return Err(format!("answered {got:?}, want {want}:\n{resp}"));
        }
        if call_id_of(&resp) != want_call_id {
            return Err(format!("answer is not for this request:\n{resp}"));
        }
        // Anything more within a short window may only be the same final
        // response again (Timer G retransmissions for INVITE).
        for (extra, _) in uac.recv_all(Duration::from_millis(150)) {
            let text = String::from_utf8_lossy(&extra);
            if status_of(&text) != Some(want) || call_id_of(&text) != want_call_id {
                return Err(format!("a second, different answer:\n{text}"));
            }
        }
        Ok(())
    };
    let expect_silence = || match uac.recv_response(Duration::from_millis(400)) {
        None => Ok(()),
        Some(r) => Err(format!("expected no answer, got:\n{r}")),
    };
    match expect {
        Status(want) => expect_status(want),
        Drop => expect_silence(),
        Relay(want) => {
            let (out, from) = uas
                .recv(Duration::from_secs(3))
                .ok_or("nothing relayed to the route")?;
            let (head, body) = split_message(&out);
            let Ok(Message::Request(orig)) = parse(
                Bytes::from(bytes.clone()),
                Transport::Udp,
                &Limits::default(),
            ) else {
                return Err("vector does not parse".into());
            };
            if !head.starts_with("MESSAGE ") {
                return Err(format!("relayed something else:\n{head}"));
            }
            if body != orig.body().as_ref() {
                return Err("relayed body differs from the original".into());
            }
            if header_of(&head, "Content-Type") != orig.content_type() {
                return Err(format!("Content-Type changed:\n{head}"));
            }
            uas.send(&answer(&out, "200 OK"), from);
            // Drain retransmissions that crossed the answer.
            let _ = uas.recv_all(Duration::from_millis(100));
            expect_status(want)
        }
    }
}

fn probe(gw: &Gateway, n: usize) -> bool {
    let p = UdpPeer::bind();
    let req = request(
        "OPTIONS",
        "sip:probe@example.com",
        p.addr(),
        &format!("z9hG4bKprobe{n}"),
        &[],
        b"",
    );
    p.send(&req, gw.addr());
    final_response(&p, Duration::from_secs(3)).and_then(|r| status_of(&r)) == Some(200)
}

#[test]
fn every_rfc4475_vector_is_in_the_table() {
    let mut files: Vec<String> = std::fs::read_dir(vectors_dir())
        .expect("tests/vectors/rfc4475")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .filter_map(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
        .collect();
    files.sort();
    let mut names: Vec<String> = CASES.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.sort();
    assert_eq!(files, names, "every .dat file needs a row in CASES");
}

#[test]
fn rfc4475_vectors_over_udp_get_the_rfc_handling() {
    let uas = UdpPeer::bind();
    let mut gw = start("torture-udp", uas.addr().port());
    let mut failures = Vec::new();
    let mut last_use: HashMap<String, Instant> = HashMap::new();
    let timer_j = Duration::from_millis(5 * 64 + 80);
    for (i, &(name, expect)) in CASES.iter().enumerate() {
        if let Some(key) = txn_key(&vector(name)) {
            if let Some(at) = last_use.get(&key) {
                std::thread::sleep(timer_j.saturating_sub(at.elapsed()));
            }
            last_use.insert(key, Instant::now());
        }
        if let Err(e) = run_case(&gw, &uas, name, expect) {
            failures.push(format!("{name}: {e}"));
        }
        if !gw.alive() || !probe(&gw, i) {
            failures.push(format!(
                "{name}: gateway stopped answering OPTIONS afterwards"
            ));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} RFC 4475 cases failed:\n{}\n--- gateway log tail ---\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n"),
        gw.log()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Reads from `s` until one whole response head is in, or `limit`.
fn read_response(s: &mut TcpStream, limit: Duration) -> String {
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + limit;
    while Instant::now() < end && !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn rfc4475_vectors_over_tcp() {
    let uas = UdpPeer::bind();
    let gw = start("torture-tcp", uas.addr().port());
    // Valid messages framed by their Content-Length on a stream.
    for (name, want) in [
        ("wsinv", 488),
        ("intmeth", 501),
        ("longreq", 488),
        ("esc02", 501),
    ] {
        let mut s = TcpStream::connect(gw.addr()).expect("connect");
        s.write_all(&vector(name)).expect("write");
        let resp = read_response(&mut s, Duration::from_secs(3));
        assert_eq!(status_of(&resp), Some(want), "{name} over TCP: {resp:?}");
    }
    // §3.1.2.2 on a stream: no answer while more body may come; once the
    // peer closes, the truncated request gets its 400.
    let mut s = TcpStream::connect(gw.addr()).expect("connect");
    s.write_all(&vector("clerr")).expect("write");
    let early = read_response(&mut s, Duration::from_millis(300));
    assert!(early.is_empty(), "clerr over TCP answered early: {early:?}");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let resp = read_response(&mut s, Duration::from_secs(5));
    assert_eq!(status_of(&resp), Some(400), "clerr over TCP: {resp:?}");
    // §3.4.1 has no Content-Length: refused on a stream (RFC 3261 §18.3).
    let mut s = TcpStream::connect(gw.addr()).expect("connect");
    s.write_all(&vector("inv2543")).expect("write");
    let resp = read_response(&mut s, Duration::from_secs(3));
    assert_eq!(status_of(&resp), Some(400), "inv2543 over TCP: {resp:?}");
    assert!(probe(&gw, 0), "gateway answers OPTIONS after the TCP cases");
}

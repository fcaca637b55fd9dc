//! Parser-level RFC 4475 torture suite: every message in
//! `tests/vectors/rfc4475/` goes through [`parse`] (as a UDP datagram) and
//! must be accepted when RFC 4475 calls it well formed (or lets a liberal
//! element accept it), and refused with the named [`ParseErrorKind`] where
//! the RFC says a parser rejects it. Refused requests must still be
//! answerable ([`salvage`]), except where the RFC's fault removes what a
//! response needs. The end-to-end handling (statuses on the wire) is
//! `tests/integration/torture.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use bytes::Bytes;

use crate::sip::{
    Framed, Limits, Message, Method, ParseErrorKind, Transport, frame, parse, salvage,
};

/// What the parser must do with one vector.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Parses (RFC 4475 §3.1.1 valid messages, and §3.1.2/§3.3 messages
    /// that are well formed at the syntax level or that the RFC lets a
    /// liberal element accept).
    Parse,
    /// Refused with this kind; `answerable` says whether [`salvage`] keeps
    /// enough to send the 4xx.
    Reject(fn(&ParseErrorKind) -> bool, bool),
}

use ParseErrorKind as K;
use Want::{Parse, Reject};

/// `(RFC name, RFC 4475 section, expectation)`, in RFC order.
const CASES: &[(&str, &str, Want)] = &[
    ("wsinv", "3.1.1.1", Parse),
    ("intmeth", "3.1.1.2", Parse),
    ("esc01", "3.1.1.3", Parse),
    ("escnull", "3.1.1.4", Parse),
    ("esc02", "3.1.1.5", Parse),
    ("lwsdisp", "3.1.1.6", Parse),
    ("longreq", "3.1.1.7", Parse),
    ("dblreq", "3.1.1.8", Parse),
    ("semiuri", "3.1.1.9", Parse),
    ("transports", "3.1.1.10", Parse),
    ("mpart01", "3.1.1.11", Parse),
    ("unreason", "3.1.1.12", Parse),
    ("noreason", "3.1.1.13", Parse),
    (
        "badinv01",
        "3.1.2.1",
        Reject(|k| *k == K::BadHeaderValue, true),
    ),
    (
        "clerr",
        "3.1.2.2",
        Reject(|k| matches!(k, K::TruncatedBody { .. }), true),
    ),
    (
        "ncl",
        "3.1.2.3",
        Reject(|k| *k == K::BadContentLength, true),
    ),
    (
        "scalar02",
        "3.1.2.4",
        Reject(|k| *k == K::BadHeaderValue, true),
    ),
    // A response: refused, and never answered.
    (
        "scalarlg",
        "3.1.2.5",
        Reject(|k| *k == K::BadHeaderValue, false),
    ),
    (
        "quotbal",
        "3.1.2.6",
        Reject(|k| *k == K::BadHeaderValue, true),
    ),
    ("ltgtruri", "3.1.2.7", Reject(|k| *k == K::BadUri, true)),
    ("lwsruri", "3.1.2.8", Reject(|k| *k == K::BadUri, true)),
    (
        "lwsstart",
        "3.1.2.9",
        Reject(|k| *k == K::BadStartLine, true),
    ),
    ("trws", "3.1.2.10", Reject(|k| *k == K::BadStartLine, true)),
    // "An element could choose to be liberal ... and ignore the escaped
    // headers": the facade keeps the URI as written.
    ("escruri", "3.1.2.11", Parse),
    // Date is not interpreted, so its bad zone is not a parse fault.
    ("baddate", "3.1.2.12", Parse),
    // Contact is passed through unread.
    ("regbadct", "3.1.2.13", Parse),
    ("badaspec", "3.1.2.14", Reject(|k| *k == K::BadUri, true)),
    (
        "baddn",
        "3.1.2.15",
        Reject(|k| *k == K::BadHeaderValue, true),
    ),
    ("badvers", "3.1.2.16", Reject(|k| *k == K::BadVersion, true)),
    (
        "mismatch01",
        "3.1.2.17",
        Reject(|k| *k == K::CSeqMethodMismatch, true),
    ),
    (
        "mismatch02",
        "3.1.2.18",
        Reject(|k| *k == K::CSeqMethodMismatch, true),
    ),
    (
        "bigcode",
        "3.1.2.19",
        Reject(|k| *k == K::BadStatusCode, false),
    ),
    // Falls back to an RFC 2543-style transaction key.
    ("badbranch", "3.2.1", Parse),
    // No From, To or Call-ID: nothing to build a response from.
    ("insuf", "3.3.1", Reject(|k| *k == K::MissingHeader, true)),
    (
        "unkscm",
        "3.3.2",
        Reject(|k| *k == K::UnsupportedUriScheme, true),
    ),
    (
        "novelsc",
        "3.3.3",
        Reject(|k| *k == K::UnsupportedUriScheme, true),
    ),
    ("unksm2", "3.3.4", Parse),
    ("bext01", "3.3.5", Parse),
    ("invut", "3.3.6", Parse),
    ("regaut01", "3.3.7", Parse),
    (
        "multi01",
        "3.3.8",
        Reject(|k| *k == K::DuplicateHeader, true),
    ),
    (
        "mcl01",
        "3.3.9",
        Reject(|k| *k == K::BadContentLength, true),
    ),
    ("bcast", "3.3.10", Parse),
    ("zeromf", "3.3.11", Parse),
    ("cparam01", "3.3.12", Parse),
    ("cparam02", "3.3.13", Parse),
    ("regescrt", "3.3.14", Parse),
    ("sdp01", "3.3.15", Parse),
    ("inv2543", "3.4.1", Parse),
];

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc4475")
}

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(format!("{name}.dat"))).unwrap_or_else(|e| panic!("{name}.dat: {e}"))
}

fn udp(name: &str) -> Result<Message, crate::sip::ParseError> {
    parse(
        Bytes::from(vector(name)),
        Transport::Udp,
        &Limits::default(),
    )
}

#[test]
fn every_vector_file_is_in_the_table_and_back() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            if p.extension()? != "dat" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = CASES.iter().map(|c| c.0.to_owned()).collect();
    names.sort();
    assert_eq!(files, names, "tests/vectors/rfc4475/*.dat vs CASES");
    assert_eq!(names.len(), 49, "RFC 4475 §3 has 49 messages");
}

#[test]
fn rfc4475_vectors_parse_or_fail_as_the_rfc_says() {
    let mut failures = Vec::new();
    for &(name, section, want) in CASES {
        let got = udp(name);
        match (want, &got) {
            (Parse, Ok(_)) => {}
            (Reject(kind_ok, answerable), Err(e)) => {
                if !kind_ok(e.kind()) {
                    failures.push(format!("{name} (§{section}): wrong error {e}"));
                }
                let salvaged = salvage(&vector(name)).is_some();
                if salvaged != answerable {
                    failures.push(format!(
                        "{name} (§{section}): salvage {salvaged}, want {answerable}"
                    ));
                }
            }
            (Parse, Err(e)) => failures.push(format!("{name} (§{section}): refused: {e}")),
            (Reject(..), Ok(_)) => failures.push(format!("{name} (§{section}): accepted")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn request(name: &str) -> crate::sip::Request {
    match udp(name) {
        Ok(Message::Request(r)) => r,
        other => panic!("{name}: not a request: {other:?}"),
    }
}

#[test]
fn valid_messages_expose_what_the_rfc_describes() {
    // §3.1.1.1: folded and oddly spaced fields, compact forms, leading zeros.
    let r = request("wsinv");
    assert_eq!(r.method(), &Method::Invite);
    assert_eq!(r.max_forwards(), Some(68));
    assert_eq!(r.cseq().seq(), 9);
    assert_eq!(r.vias().len(), 3);
    assert_eq!(r.vias()[1].host(), "spindle.example.com");
    assert_eq!(r.from().tag(), Some("98asjd8"));
    assert_eq!(r.to().tag(), Some("1918181833n"));
    assert_eq!(r.header("Subject"), Some(""));
    assert_eq!(r.body().len(), 150);
    // §3.1.1.2: unknown method token, quoted NUL/BEL/DEL in To.
    let r = request("intmeth");
    assert!(matches!(r.method(), Method::Other(_)));
    assert_eq!(r.max_forwards(), Some(255));
    assert!(r.header("To").is_some_and(|t| t.contains('\0')));
    // §3.1.1.5: % is not an escape in a method or header name.
    let r = request("esc02");
    assert_eq!(r.method().as_str(), "RE%47IST%45R");
    assert_eq!(r.header_all("Contact").count(), 2);
    // §3.1.1.7: 34 Via values across every spelling of the name.
    assert_eq!(request("longreq").vias().len(), 34);
    // §3.1.1.8: the trailing INVITE octets are ignored.
    let r = request("dblreq");
    assert_eq!(r.method(), &Method::Register);
    assert!(r.body().is_empty());
    // §3.1.1.9: the user part keeps its ;par=.
    assert_eq!(
        request("semiuri").uri().as_str(),
        "sip:user;par=u%40example.net@example.com"
    );
    // §3.1.1.10: unknown transport tokens are kept.
    let t: Vec<_> = request("transports")
        .vias()
        .iter()
        .map(|v| v.transport().to_owned())
        .collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    // §3.1.1.11: the binary multipart body is kept whole.
    let r = request("mpart01");
    assert_eq!(r.body().len(), 553);
    assert!(r.body().contains(&0));
    // §3.1.1.12/13: reason phrases.
    match udp("unreason") {
        Ok(Message::Response(r)) => {
            assert_eq!(r.status().as_u16(), 200);
            assert!(r.reason().starts_with("= 2**3 * 5**2 "));
        }
        other => panic!("unreason: {other:?}"),
    }
    match udp("noreason") {
        Ok(Message::Response(r)) => {
            assert_eq!(r.status().as_u16(), 100);
            assert_eq!(r.reason(), "");
        }
        other => panic!("noreason: {other:?}"),
    }
    // §3.3.11, §3.4.1.
    assert_eq!(request("zeromf").max_forwards(), Some(0));
    let r = request("inv2543");
    assert_eq!(r.max_forwards(), None);
    assert_eq!(r.header("Content-Length"), None);
}

#[test]
fn stream_framing_of_the_torture_messages() {
    let l = Limits::default();
    // §3.1.2.2 over a stream: wait for the rest (the reader closes on
    // timeout), never a premature Complete.
    assert_eq!(frame(&vector("clerr"), &l), Ok(Framed::Partial));
    // §3.1.1.8 over a stream: the first message ends after its empty body.
    let d = vector("dblreq");
    let first = d.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(frame(&d, &l), Ok(Framed::Complete { len: first }));
    // §3.4.1 has no Content-Length: fine on UDP, refused on TCP.
    let e = parse(Bytes::from(vector("inv2543")), Transport::Tcp, &l).unwrap_err();
    assert_eq!(e.kind(), &K::MissingContentLength);
    // Every valid message with a Content-Length frames to its full length.
    for name in ["wsinv", "esc01", "longreq", "mpart01", "unreason"] {
        let v = vector(name);
        assert_eq!(
            frame(&v, &l),
            Ok(Framed::Complete { len: v.len() }),
            "{name}"
        );
    }
}

/// The rule behind intmeth (RFC 3261 §25.1 `quoted-pair`): a control octet
/// is allowed only escaped inside a quoted string; bare, or escaped outside
/// quotes, it still refuses the header line.
#[test]
fn control_octets_only_as_quoted_pairs() {
    let with_to = |to: &[u8]| {
        let mut m = b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
From: <sip:b@example.com>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nTo: "
            .to_vec();
        m.extend_from_slice(to);
        m.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        parse(Bytes::from(m), Transport::Udp, &Limits::default()).map(|_| ())
    };
    assert!(with_to(b"\"a\\\x00b\\\x7f\" <sip:a@example.com>").is_ok());
    assert!(with_to(b"\"a\\\\\" <sip:a@example.com>").is_ok());
    for bad in [
        &b"\"a\x00b\" <sip:a@example.com>"[..],
        b"a\\\x07 <sip:a@example.com>",
        b"\"a\\\\\x07\" <sip:a@example.com>",
        b"\"a\\\rb\" <sip:a@example.com>",
    ] {
        let e = with_to(bad).unwrap_err();
        assert_eq!(e.kind(), &K::BadHeaderLine, "{bad:?}");
    }
}

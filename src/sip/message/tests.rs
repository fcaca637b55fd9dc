//! Unit tests of the message facade, the malformed-vector suite
//! (`tests/vectors/sip/malformed`) and round-trip properties.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bytes::Bytes;
use proptest::prelude::*;

use crate::sip::{
    Framed, Limits, Message, Method, OutgoingRequest, ParseErrorKind, Request, Response, SipUri,
    StatusCode, Transport, frame, parse, salvage,
};

const MESSAGE: &str = "MESSAGE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP client.example.org:5060;branch=z9hG4bK776sgdkse;rport\r\n\
Via: SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bK1, SIP/2.0/UDP relay.example.net;received=192.0.2.4;branch=z9hG4bK2\r\n\
Max-Forwards: 70\r\n\
From: \"Alice \\\"A\\\" Liddell\" <sip:alice.smith@example.org>;tag=49583\r\n\
To: Bob <sip:bob@example.com>\r\n\
Call-ID: asd88asd77a@1.2.3.4\r\n\
CSeq: 1 MESSAGE\r\n\
Content-Type: text/plain;charset=\"UTF-8\"\r\n\
Subject: lunch\r\n\
Content-Length: 18\r\n\
\r\n\
Watson, come here.";

fn req(s: &str) -> Request {
    req_bytes(s.as_bytes().to_vec(), Transport::Udp)
}

fn req_bytes(b: Vec<u8>, t: Transport) -> Request {
    match parse(Bytes::from(b), t, &Limits::default()) {
        Ok(Message::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}

fn err(b: &[u8], t: Transport, l: &Limits) -> crate::sip::ParseError {
    parse(Bytes::copy_from_slice(b), t, l).expect_err("should fail")
}

fn kind(b: &[u8]) -> ParseErrorKind {
    err(b, Transport::Udp, &Limits::default()).kind().clone()
}

/// A minimal request with the given extra header lines and body.
fn build(method: &str, extra: &str, body: &[u8], cl: Option<usize>) -> Vec<u8> {
    let mut v = format!(
        "{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example.org;branch=z9hG4bK1\r\n\
From: <sip:a@example.org>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\nCSeq: 7 {method}\r\n{extra}"
    );
    if let Some(n) = cl {
        v.push_str(&format!("Content-Length: {n}\r\n"));
    }
    v.push_str("\r\n");
    let mut v = v.into_bytes();
    v.extend_from_slice(body);
    v
}

#[test]
fn typical_message_accessors_and_byte_exact_round_trip() {
    let r = req(MESSAGE);
    assert_eq!(r.method(), &Method::Message);
    assert_eq!(r.uri().as_str(), "sip:bob@example.com");
    assert_eq!(r.top_via().sent_by(), "client.example.org:5060");
    assert_eq!(r.top_via().transport(), "UDP");
    assert_eq!(r.top_via().branch(), Some("z9hG4bK776sgdkse"));
    assert_eq!(r.top_via().param("rport"), Some(None));
    assert_eq!(r.top_via().port(), Some(5060));
    assert_eq!(r.vias().len(), 3);
    assert_eq!(r.vias()[1].host(), "[2001:db8::9]");
    assert_eq!(r.vias()[1].port(), Some(5061));
    assert_eq!(r.vias()[2].param("received"), Some(Some("192.0.2.4")));
    assert_eq!(
        r.vias()[2].raw(),
        "SIP/2.0/UDP relay.example.net;received=192.0.2.4;branch=z9hG4bK2"
    );
    assert_eq!(r.from().display_name(), Some("Alice \\\"A\\\" Liddell"));
    assert_eq!(r.from().uri().user(), Some("alice.smith"));
    assert_eq!(r.from().uri().host(), "example.org");
    assert_eq!(r.from().tag(), Some("49583"));
    assert_eq!(r.to().display_name(), Some("Bob"));
    assert_eq!(r.to().tag(), None);
    assert_eq!(r.to().with_tag("xyz"), "Bob <sip:bob@example.com>;tag=xyz");
    assert_eq!(r.call_id(), "asd88asd77a@1.2.3.4");
    assert_eq!((r.cseq().seq(), r.cseq().method()), (1, &Method::Message));
    assert_eq!(r.max_forwards(), Some(70));
    assert_eq!(r.content_type(), Some("text/plain;charset=\"UTF-8\""));
    assert_eq!(r.header("subject"), Some("lunch"));
    assert_eq!(r.header("X-Nope"), None);
    assert_eq!(r.header_all("Via").count(), 2);
    assert_eq!(r.headers().count(), 10);
    assert_eq!(&r.body()[..], b"Watson, come here.");
    assert_eq!(&r.raw()[..], MESSAGE.as_bytes());
    let mut out = Vec::new();
    Message::Request(r).encode(&mut out);
    assert_eq!(String::from_utf8(out).unwrap(), MESSAGE);
}

#[test]
fn binary_body_is_kept_byte_exact() {
    let mut body: Vec<u8> = vec![0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00];
    body.extend(0u8..=255);
    body.extend_from_slice(b"\r\n\r\n\0\xff");
    let raw = build(
        "MESSAGE",
        "Content-Type: application/pkcs7-mime\r\n",
        &body,
        Some(body.len()),
    );
    let r = req_bytes(raw, Transport::Tcp);
    assert_eq!(&r.body()[..], &body[..]);
    let mut out = Vec::new();
    r.encode(&mut out);
    let again = req_bytes(out, Transport::Tcp);
    assert_eq!(again.body(), r.body());
}

#[test]
fn body_is_a_zero_copy_slice() {
    let input = Bytes::from(build("MESSAGE", "", b"hello", Some(5)));
    let Ok(Message::Request(r)) = parse(input.clone(), Transport::Udp, &Limits::default()) else {
        panic!()
    };
    let start = input.len() - 5;
    assert_eq!(r.body().as_ptr(), input[start..].as_ptr());
}

#[test]
fn content_length_rules() {
    // UDP without Content-Length keeps the whole body.
    let r = req_bytes(
        build("MESSAGE", "", b"no length here", None),
        Transport::Udp,
    );
    assert_eq!(&r.body()[..], b"no length here");
    // TCP without it is a framing fault.
    let e = err(
        &build("MESSAGE", "", b"x", None),
        Transport::Tcp,
        &Limits::default(),
    );
    assert_eq!(e.kind(), &ParseErrorKind::MissingContentLength);
    assert_eq!(StatusCode::from(&e), StatusCode::BAD_REQUEST);
    // Smaller: extra octets tolerated (RFC 4475 §3.1.1.8).
    let r = req_bytes(
        build("MESSAGE", "", b"hello world", Some(5)),
        Transport::Udp,
    );
    assert_eq!(&r.body()[..], b"hello");
    // Larger: truncated.
    assert_eq!(
        kind(&build("MESSAGE", "", b"hello", Some(50))),
        ParseErrorKind::TruncatedBody {
            declared: 50,
            present: 5
        }
    );
    // Compact `l`.
    let r = req_bytes(
        build("MESSAGE", "l: 3\r\n", b"abcdef", None),
        Transport::Tcp,
    );
    assert_eq!(&r.body()[..], b"abc");
    // Duplicate equal values are fine, differing ones are not.
    let r = req_bytes(
        build("MESSAGE", "l: 3\r\n", b"abcdef", Some(3)),
        Transport::Tcp,
    );
    assert_eq!(r.body().len(), 3);
    assert_eq!(
        kind(&build("MESSAGE", "l: 2\r\n", b"abcdef", Some(3))),
        ParseErrorKind::BadContentLength
    );
}

#[test]
fn compact_forms() {
    let raw = "MESSAGE sip:bob@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP h.example.org;branch=z9hG4bKc\r\n\
f: <sip:a@example.org>;tag=1\r\nt: <sip:bob@example.com>\r\ni: cid\r\n\
CSeq: 2 MESSAGE\r\nm: <sip:a@h.example.org>\r\nc: text/plain\r\ns: hi\r\nk: path\r\n\
u: presence\r\no: presence\r\nr: <sip:x@y>\r\nb: <sip:z@y>\r\nx: 90\r\ne: gzip\r\nl: 2\r\n\r\nok";
    let r = req(raw);
    assert_eq!(r.call_id(), "cid");
    assert_eq!(r.content_type(), Some("text/plain"));
    for (long, value) in [
        ("Contact", "<sip:a@h.example.org>"),
        ("Content-Type", "text/plain"),
        ("Subject", "hi"),
        ("Supported", "path"),
        ("Allow-Events", "presence"),
        ("Event", "presence"),
        ("Refer-To", "<sip:x@y>"),
        ("Referred-By", "<sip:z@y>"),
        ("Session-Expires", "90"),
        ("Content-Encoding", "gzip"),
        ("call-id", "cid"),
        ("VIA", "SIP/2.0/UDP h.example.org;branch=z9hG4bKc"),
    ] {
        assert_eq!(r.header(long), Some(value), "{long}");
    }
    assert_eq!(r.header("c"), Some("text/plain"));
    assert_eq!(&r.body()[..], b"ok");
}

#[test]
fn folded_headers_are_unfolded() {
    let raw = "MESSAGE sip:bob@example.com SIP/2.0\r\n\
Via  : SIP/2.0/UDP\r\n   h.example.org;branch=z9hG4bKf\r\n\
From: <sip:a@example.org>\r\n\t;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: cid\r\n\
CSeq: 2\r\n MESSAGE\r\nSubject: part one\r\n  part two\r\nContent-Length: 0\r\n\r\n";
    let r = req(raw);
    assert_eq!(r.header("Subject"), Some("part one part two"));
    assert_eq!(r.top_via().host(), "h.example.org");
    assert_eq!(r.from().tag(), Some("1"));
    assert_eq!(r.cseq().seq(), 2);
    let mut out = Vec::new();
    r.encode(&mut out);
    let again = req_bytes(out, Transport::Tcp);
    assert!(again.headers().eq(r.headers()));
}

#[test]
fn unknown_method_is_other() {
    let r = req_bytes(build("FOO", "", b"", Some(0)), Transport::Udp);
    assert_eq!(r.method(), &Method::Other("FOO".into()));
    assert_eq!(r.cseq().method(), &Method::Other("FOO".into()));
    assert_eq!(
        kind(&build("FO(O", "", b"", Some(0))),
        ParseErrorKind::BadMethod
    );
}

#[test]
fn uris() {
    let l = Limits::default();
    let u = SipUri::parse("im:alice.smith@example.com", &l).unwrap();
    assert_eq!(
        (u.scheme(), u.user(), u.host()),
        ("im", Some("alice.smith"), "example.com")
    );
    let u = SipUri::parse("pres:bob@example.com", &l).unwrap();
    assert_eq!((u.scheme(), u.host()), ("pres", "example.com"));
    let u = SipUri::parse("SIPS:bob@example.com:5061;transport=tcp;lr", &l).unwrap();
    assert_eq!(
        (u.scheme(), u.port(), u.transport()),
        ("sips", Some(5061), Some(Transport::Tcp))
    );
    assert_eq!(u.param("lr"), Some(None));
    assert_eq!(u.param("maddr"), None);
    assert_eq!(u.to_string(), "SIPS:bob@example.com:5061;transport=tcp;lr");
    let u = SipUri::parse("tel:+1-201-555-0123;phone-context=example.com", &l).unwrap();
    assert_eq!(
        (u.scheme(), u.user(), u.host()),
        ("tel", Some("+1-201-555-0123"), "")
    );
    assert_eq!(u.param("phone-context"), Some(Some("example.com")));
    let u = SipUri::parse("sip:bob@[2001:db8::1]:5060", &l).unwrap();
    assert_eq!((u.host(), u.port()), ("[2001:db8::1]", Some(5060)));
    let u = SipUri::parse("sip:%61lice;day=tue@example.com?subject=x", &l).unwrap();
    assert_eq!(
        (u.user(), u.host()),
        (Some("%61lice;day=tue"), "example.com")
    );
    let u = SipUri::parse("sip:alice:secret@192.0.2.1", &l).unwrap();
    assert_eq!((u.user(), u.host()), (Some("alice"), "192.0.2.1"));
    let u = SipUri::parse("sip:example.com", &l).unwrap();
    assert_eq!(u.user(), None);
    let u = SipUri::parse("URN:service:sos", &l).unwrap();
    assert_eq!((u.scheme(), u.host()), ("urn", ""));
    for bad in [
        "",
        "sip:",
        "sip:bob@",
        "sip:@example.com",
        "sip:bob@[2001:db8::zz]",
        "sip:bob@2001:db8::1",
        "sip:bob@example.com:70000",
        "sip:bob@example.com:",
        "sip:bob@exa mple.com",
        "sip:bob@<example.com>",
        "sip:bob@example.com;=x",
        "sip:bob@999.1.1.1",
        "1sip:bob@example.com",
        "tel:",
        "tel:12;3=4=5",
    ] {
        let e = SipUri::parse(bad, &l).expect_err(bad);
        assert_eq!(e.kind(), &ParseErrorKind::BadUri, "{bad}");
    }
    let long = format!("sip:{}@example.com", "a".repeat(2000));
    assert_eq!(
        SipUri::parse(&long, &l).unwrap_err().kind(),
        &ParseErrorKind::UriTooLong { max: 1024 }
    );
}

#[test]
fn request_uri_schemes() {
    for uri in [
        "im:bob@example.com",
        "pres:bob@example.com",
        "tel:+15550123",
        "sips:bob@example.com",
    ] {
        let raw = build("MESSAGE", "", b"", Some(0));
        let raw = String::from_utf8(raw)
            .unwrap()
            .replacen("sip:bob@example.com", uri, 1);
        assert_eq!(req(&raw).uri().as_str(), uri);
    }
    let raw = String::from_utf8(build("OPTIONS", "", b"", Some(0)))
        .unwrap()
        .replacen("sip:bob@example.com", "mailto:bob@example.com", 1);
    let e = err(raw.as_bytes(), Transport::Udp, &Limits::default());
    assert_eq!(e.kind(), &ParseErrorKind::UnsupportedUriScheme);
    assert_eq!(StatusCode::from(&e).as_u16(), 416);
}

#[test]
fn name_addr_forms() {
    let raw = String::from_utf8(build("MESSAGE", "", b"", Some(0)))
        .unwrap()
        .replacen(
            "From: <sip:a@example.org>;tag=1",
            "From: sip:a@example.org ; tag = 1",
            1,
        )
        .replacen(
            "To: <sip:bob@example.com>",
            "To: \"\" <im:bob@example.com>",
            1,
        );
    let r = req(&raw);
    assert_eq!(r.from().uri().as_str(), "sip:a@example.org");
    assert_eq!(r.from().tag(), Some("1"));
    assert_eq!(r.from().display_name(), None);
    assert_eq!(r.to().display_name(), None);
    assert_eq!(r.to().uri().scheme(), "im");
    assert_eq!(r.from().raw(), "sip:a@example.org ; tag = 1");
}

#[test]
fn responses() {
    let raw = "SIP/2.0 202 Accepted\r\nVia: SIP/2.0/UDP h.example.org;branch=z9hG4bK1\r\n\
From: <sip:a@example.org>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\
Content-Length: 0\r\n\r\n";
    let Ok(Message::Response(r)) = parse(Bytes::from(raw), Transport::Tcp, &Limits::default())
    else {
        panic!()
    };
    let r: Response = r;
    assert_eq!((r.status(), r.reason()), (StatusCode::ACCEPTED, "Accepted"));
    assert_eq!(r.to().tag(), Some("2"));
    assert_eq!(r.cseq().method(), &Method::Message);
    let mut out = Vec::new();
    r.encode(&mut out);
    assert_eq!(out, raw.as_bytes());
    // A response's CSeq method is not compared with anything.
    let raw2 = raw.replace("SIP/2.0 202 Accepted", "SIP/2.0 699");
    let Ok(Message::Response(r)) = parse(Bytes::from(raw2), Transport::Udp, &Limits::default())
    else {
        panic!()
    };
    assert_eq!((r.status().as_u16(), r.reason()), (699, ""));
    for bad in [
        "SIP/2.0 99 x",
        "SIP/2.0 700 x",
        "SIP/2.0 20 x",
        "SIP/2.0 2000 x",
    ] {
        assert_eq!(
            kind(raw.replace("SIP/2.0 202 Accepted", bad).as_bytes()),
            ParseErrorKind::BadStatusCode,
            "{bad}"
        );
    }
    assert_eq!(
        kind(raw.replace("SIP/2.0 202", "SIP/3.0 202").as_bytes()),
        ParseErrorKind::BadVersion
    );
}

#[test]
fn limits_have_named_errors() {
    let msg = build("MESSAGE", "", b"hello", Some(5));
    let tight = |f: fn(&mut Limits)| {
        let mut l = Limits::default();
        f(&mut l);
        err(&msg, Transport::Udp, &l).kind().clone()
    };
    assert_eq!(
        tight(|l| l.max_header_bytes = 64),
        ParseErrorKind::HeaderBlockTooLarge { max: 64 }
    );
    assert_eq!(
        tight(|l| l.max_headers = 3),
        ParseErrorKind::TooManyHeaders { max: 3 }
    );
    assert_eq!(
        tight(|l| l.max_body_bytes = 4),
        ParseErrorKind::BodyTooLarge { max: 4, len: 5 }
    );
    assert_eq!(
        tight(|l| l.max_uri_len = 10),
        ParseErrorKind::UriTooLong { max: 10 }
    );
    let e = err(
        &build("MESSAGE", "", b"hello", None),
        Transport::Udp,
        &Limits {
            max_body_bytes: 2,
            ..Limits::default()
        },
    );
    assert_eq!(e.kind(), &ParseErrorKind::BodyTooLarge { max: 2, len: 5 });
    assert_eq!(StatusCode::from(&e).as_u16(), 413);
    let e = err(
        &msg,
        Transport::Udp,
        &Limits {
            max_uri_len: 10,
            ..Limits::default()
        },
    );
    assert_eq!(
        (StatusCode::from(&e).as_u16(), e.element()),
        (414, "Request-URI")
    );
    let e = err(
        &msg,
        Transport::Udp,
        &Limits {
            max_headers: 3,
            ..Limits::default()
        },
    );
    assert_eq!(
        e.to_string(),
        "too many headers (max 3) at line 5 column 1 in header block"
    );
    // frame() applies the same caps.
    let l = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    assert!(frame(&msg, &l).is_err());
    assert_eq!(
        frame(&msg, &Limits::default()),
        Ok(Framed::Complete { len: msg.len() })
    );
}

#[test]
fn header_faults_have_positions_and_elements() {
    let raw = build("MESSAGE", "", b"", Some(0));
    let raw = String::from_utf8(raw)
        .unwrap()
        .replacen("CSeq: 7 MESSAGE", "CSeq: 7 INVITE", 1);
    let e = err(raw.as_bytes(), Transport::Udp, &Limits::default());
    assert_eq!(
        (e.kind(), e.element(), e.line(), e.column()),
        (&ParseErrorKind::CSeqMethodMismatch, "CSeq", 6, 1)
    );
    let bad_mf = build("MESSAGE", "Max-Forwards: 7a\r\n", b"", Some(0));
    let e = err(&bad_mf, Transport::Udp, &Limits::default());
    assert_eq!(
        (e.kind(), e.element(), e.column()),
        (&ParseErrorKind::BadHeaderValue, "Max-Forwards", 15)
    );
    let e = err(
        &build("MESSAGE", "Bad Name: x\r\n", b"", Some(0)),
        Transport::Udp,
        &Limits::default(),
    );
    assert_eq!(e.kind(), &ParseErrorKind::BadHeaderLine);
    let e = err(
        &build("MESSAGE", "Subject: a\rb\r\n", b"", Some(0)),
        Transport::Udp,
        &Limits::default(),
    );
    assert_eq!(e.kind(), &ParseErrorKind::BadHeaderLine);
    let e = err(
        b"MESSAGE sip:a@b SIP/2.0\r\nSubject: \xff\r\n\r\n",
        Transport::Udp,
        &Limits::default(),
    );
    assert_eq!((e.kind(), e.offset()), (&ParseErrorKind::InvalidUtf8, 34));
    for missing in ["Via", "From", "To", "Call-ID", "CSeq"] {
        let raw = String::from_utf8(build("MESSAGE", "", b"", Some(0))).unwrap();
        let raw: String = raw
            .split("\r\n")
            .filter(|l| !l.starts_with(&format!("{missing}:")))
            .collect::<Vec<_>>()
            .join("\r\n");
        let e = err(raw.as_bytes(), Transport::Udp, &Limits::default());
        assert_eq!(
            (e.kind(), e.element()),
            (&ParseErrorKind::MissingHeader, missing)
        );
    }
    let e = err(
        &build("MESSAGE", "Call-ID: two\r\n", b"", Some(0)),
        Transport::Udp,
        &Limits::default(),
    );
    assert_eq!(
        (e.kind(), e.element()),
        (&ParseErrorKind::DuplicateHeader, "Call-ID")
    );
}

#[test]
fn leading_crlf_is_ignored() {
    let mut raw = b"\r\n\r\n".to_vec();
    raw.extend(build("MESSAGE", "", b"x", Some(1)));
    let r = req_bytes(raw, Transport::Udp);
    assert_eq!(&r.body()[..], b"x");
}

#[test]
fn response_skeleton() {
    let r = req(MESSAGE);
    let resp = r.response(StatusCode::OK, Some("gw1"));
    let names: Vec<_> = resp.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["Via", "Via", "Via", "From", "To", "Call-ID", "CSeq"]
    );
    assert_eq!(
        resp.headers[0].1,
        "SIP/2.0/UDP client.example.org:5060;branch=z9hG4bK776sgdkse;rport"
    );
    assert_eq!(resp.headers[4].1, "Bob <sip:bob@example.com>;tag=gw1");
    assert_eq!(resp.headers[6].1, "1 MESSAGE");
    let trying = r.response(StatusCode::TRYING, Some("gw1"));
    assert_eq!(trying.headers[4].1, "Bob <sip:bob@example.com>");
    let mut out = Vec::new();
    resp.encode(&mut out);
    let Ok(Message::Response(back)) = parse(Bytes::from(out), Transport::Tcp, &Limits::default())
    else {
        panic!()
    };
    assert_eq!((back.status(), back.reason()), (StatusCode::OK, "OK"));
    assert_eq!(back.to().tag(), Some("gw1"));
    assert_eq!(back.vias().len(), 3);
    assert_eq!(back.call_id(), r.call_id());
    // An existing tag is kept.
    let tagged = r.response(StatusCode::OK, None);
    assert_eq!(tagged.headers[4].1, "Bob <sip:bob@example.com>");
}

#[test]
fn outgoing_encoding() {
    let mut req = OutgoingRequest {
        method: Method::Message,
        uri: "sip:bob@example.com".into(),
        headers: vec![
            ("Content-Length".into(), "999".into()),
            ("l".into(), "1".into()),
        ],
        body: Bytes::from_static(b"\x00\x01"),
    };
    req.push_header("Subject", "evil\r\nInjected: yes");
    let mut out = Vec::new();
    req.encode(&mut out);
    assert_eq!(
        out,
        b"MESSAGE sip:bob@example.com SIP/2.0\r\nSubject: evil  Injected: yes\r\nContent-Length: 2\r\n\r\n\x00\x01"
    );
}

#[test]
fn salvage_broken_requests() {
    let raw = build("MESSAGE", "", b"", Some(0));
    let raw = String::from_utf8(raw)
        .unwrap()
        .replacen("CSeq: 7 MESSAGE", "CSeq: 7 INVITE", 1);
    assert!(parse(Bytes::from(raw.clone()), Transport::Udp, &Limits::default()).is_err());
    let s = salvage(raw.as_bytes()).unwrap();
    assert_eq!(s.method.as_deref(), Some("MESSAGE"));
    assert_eq!(s.vias, ["SIP/2.0/UDP h.example.org;branch=z9hG4bK1"]);
    assert_eq!(s.cseq.as_deref(), Some("7 INVITE"));
    let resp = s.response(StatusCode::BAD_REQUEST, Some("t9")).unwrap();
    assert_eq!(resp.headers[2].1, "<sip:bob@example.com>;tag=t9");
    // Bare LF, compact names, comma-separated Via, folded From.
    let lf = "INVITE sip:x@y SIP/2.0\nv: SIP/2.0/UDP a;branch=1, SIP/2.0/UDP b;branch=2\nf: <sip:a@b>\n ;tag=3\nt: <sip:x@y>;tag=4\ni: q\nCSeq: bogus\n\n";
    let s = salvage(lf.as_bytes()).unwrap();
    assert_eq!(s.vias.len(), 2);
    assert_eq!(s.from.as_deref(), Some("<sip:a@b> ;tag=3"));
    let resp = s.response(StatusCode::BAD_REQUEST, Some("t9")).unwrap();
    assert_eq!(resp.headers[3].1, "<sip:x@y>;tag=4");
    // Nothing to answer.
    assert_eq!(salvage(b""), None);
    assert_eq!(
        salvage(b"SIP/2.0 200 OK\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 X\r\n\r\n"),
        None
    );
    assert_eq!(
        salvage(b"MESSAGE sip:a@b SIP/2.0\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 X\r\n\r\n"),
        None
    );
}

#[test]
fn malformed_vectors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sip/malformed");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("vector dir") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("sip") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let expect =
            std::fs::read_to_string(path.with_extension("expect")).expect("missing .expect");
        let expect = expect.trim();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let e = err(&bytes, Transport::Udp, &Limits::default());
        let salvaged = salvage(&bytes);
        if expect == "drop" {
            assert_eq!(salvaged, None, "{name}: salvage should find nothing ({e})");
        } else {
            let status = StatusCode::from(&e).as_u16().to_string();
            assert_eq!(status, expect, "{name}: {e}");
            let s = salvaged.unwrap_or_else(|| panic!("{name}: salvage failed"));
            assert!(
                s.response(StatusCode::from(&e), Some("t")).is_some(),
                "{name}"
            );
        }
        assert!(!e.warning_text().contains('"'));
        n += 1;
    }
    assert!(n >= 20, "only {n} vectors");
}

/// Header list without Content-Length (which `encode` recomputes and moves).
fn header_list(m: &Message) -> Vec<(String, String)> {
    let it: Box<dyn Iterator<Item = (&str, &str)>> = match m {
        Message::Request(r) => Box::new(r.headers()),
        Message::Response(r) => Box::new(r.headers()),
    };
    it.filter(|(n, _)| !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("l"))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

fn body_of(m: &Message) -> &Bytes {
    match m {
        Message::Request(r) => r.body(),
        Message::Response(r) => r.body(),
    }
}

fn round_trip(m: &Message) {
    let mut out = Vec::new();
    m.encode(&mut out);
    let again = parse(Bytes::from(out), Transport::Tcp, &Limits::default()).expect("re-parse");
    assert_eq!(header_list(m), header_list(&again));
    assert_eq!(body_of(m), body_of(&again));
    match (m, &again) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!((a.method(), a.uri()), (b.method(), b.uri()));
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!((a.status(), a.reason()), (b.status(), b.reason()));
        }
        _ => panic!("kind changed"),
    }
}

proptest! {
    #[test]
    fn random_bodies_survive(body in proptest::collection::vec(any::<u8>(), 0..2048), with_cl in any::<bool>()) {
        let raw = build("MESSAGE", "Content-Type: application/octet-stream\r\n", &body, with_cl.then_some(body.len()));
        let m = parse(Bytes::from(raw), Transport::Udp, &Limits::default()).unwrap();
        prop_assert_eq!(&body_of(&m)[..], &body[..]);
        round_trip(&m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let l = Limits::default();
        let _ = frame(&data, &l);
        let _ = salvage(&data);
        for t in [Transport::Udp, Transport::Tcp] {
            if let Ok(m) = parse(Bytes::from(data.clone()), t, &l) {
                round_trip(&m);
            }
        }
    }

    #[test]
    fn mutated_messages_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut data = MESSAGE.as_bytes().to_vec();
        for (at, b) in edits {
            let i = at % data.len();
            data[i] = b;
        }
        data.truncate(cut % (data.len() + 1));
        let l = Limits::default();
        let _ = frame(&data, &l);
        let _ = salvage(&data);
        if let Ok(m) = parse(Bytes::from(data), Transport::Udp, &l) {
            round_trip(&m);
        }
    }
}

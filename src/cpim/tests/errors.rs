use bytes::Bytes;

use super::msg;
use crate::cpim::{CpimLimits, CpimMessage, ParseError, ParseErrorKind};

fn fail(input: &[u8]) -> ParseError {
    match CpimMessage::parse(Bytes::copy_from_slice(input)) {
        Ok(_) => panic!("unexpectedly parsed: {:?}", String::from_utf8_lossy(input)),
        Err(e) => e,
    }
}

fn check(input: &[u8], kind: ParseErrorKind, line: u32, column: u32, element: &str) {
    let e = fail(input);
    assert_eq!(
        (e.kind(), e.line(), e.column(), e.element()),
        (&kind, line, column, element),
        "{e}"
    );
}

#[test]
fn missing_blank_lines() {
    check(
        b"From: <im:a@b>\r\nTo: <im:c@d>\r\n",
        ParseErrorKind::MissingBlankLine,
        3,
        1,
        "cpim header block",
    );
    check(
        b"From: <im:a@b>\r\nTo: <im:c@d>",
        ParseErrorKind::MissingBlankLine,
        2,
        13,
        "cpim header block",
    );
    check(
        b"From: <im:a@b>\r\nTo: <im:c@d>\r\n\r\nContent-Type: text/plain\r\n",
        ParseErrorKind::MissingBlankLine,
        5,
        1,
        "mime header block",
    );
    check(
        b"",
        ParseErrorKind::MissingBlankLine,
        1,
        1,
        "cpim header block",
    );
}

#[test]
fn header_line_errors_have_positions() {
    check(
        &msg("Subject hi\r\n", b""),
        ParseErrorKind::MissingColon,
        3,
        11,
        "cpim header block",
    );
    check(
        &msg("Sub ject: hi\r\n", b""),
        ParseErrorKind::InvalidHeaderName,
        3,
        5,
        "cpim header block",
    );
    check(
        &msg(": hi\r\n", b""),
        ParseErrorKind::InvalidHeaderName,
        3,
        1,
        "cpim header block",
    );
    check(
        &msg(" folded\r\n", b""),
        ParseErrorKind::UnexpectedContinuation,
        3,
        1,
        "cpim header block",
    );
    check(
        &msg("Subject: a\u{1}b\r\n", b""),
        ParseErrorKind::ControlCharacter { byte: 1 },
        3,
        11,
        "cpim header block",
    );
    check(
        &msg("Subject: a\rb\r\n", b""),
        ParseErrorKind::ControlCharacter { byte: b'\r' },
        3,
        11,
        "cpim header block",
    );
    check(
        &msg("Subject:;=fr x\r\n", b""),
        ParseErrorKind::InvalidParameter,
        3,
        10,
        "cpim header block",
    );
    check(
        &msg("Subject:;lang=\"fr x\r\n", b""),
        ParseErrorKind::InvalidParameter,
        3,
        15,
        "cpim header block",
    );
}

#[test]
fn invalid_utf8_positions() {
    let mut v = msg("Subject: ab\r\n", b"");
    let at = v.windows(2).position(|w| w == b"ab").unwrap() + 1;
    v[at] = 0xff;
    let e = fail(&v);
    assert_eq!(e.kind(), &ParseErrorKind::InvalidUtf8);
    assert_eq!(e.offset(), at);
    assert_eq!(e.element(), "cpim header block");
    let mut v = msg("", b"");
    let ct = v.windows(5).position(|w| w == b"plain").unwrap();
    v[ct] = 0xc3;
    let e = fail(&v);
    assert_eq!(
        (e.kind(), e.element()),
        (&ParseErrorKind::InvalidUtf8, "mime header block")
    );
    // Non-UTF-8 content is fine: it is opaque.
    assert!(CpimMessage::parse(Bytes::from(msg("", &[0xff, 0xc3]))).is_ok());
}

#[test]
fn core_header_errors_name_the_element() {
    check(
        b"To: <im:c@d>\r\n\r\nContent-Type: a/b\r\n\r\n",
        ParseErrorKind::MissingHeader,
        2,
        1,
        "cpim From",
    );
    check(
        b"From: <im:c@d>\r\n\r\nContent-Type: a/b\r\n\r\n",
        ParseErrorKind::MissingHeader,
        2,
        1,
        "cpim To",
    );
    check(
        &msg("From: <im:x@y>\r\n", b""),
        ParseErrorKind::DuplicateHeader,
        3,
        1,
        "cpim From",
    );
    check(
        &msg("cc: Fred <im:x@y\r\n", b""),
        ParseErrorKind::InvalidNameAddr,
        3,
        17,
        "cpim cc",
    );
    check(
        b"From: Fred\r\nTo: <im:c@d>\r\n\r\nContent-Type: a/b\r\n\r\n",
        ParseErrorKind::InvalidNameAddr,
        1,
        7,
        "cpim From",
    );
    check(
        b"From: <im:a@b>\r\nTo: <> \r\n\r\nContent-Type: a/b\r\n\r\n",
        ParseErrorKind::InvalidNameAddr,
        2,
        6,
        "cpim To",
    );
    check(
        &msg("cc: <im:x@y> junk\r\n", b""),
        ParseErrorKind::InvalidNameAddr,
        3,
        14,
        "cpim cc",
    );
    check(
        &msg("DateTime: yesterday\r\n", b""),
        ParseErrorKind::InvalidDateTime,
        3,
        11,
        "cpim DateTime",
    );
    check(
        &msg("NS: a.b <urn:x>\r\n", b""),
        ParseErrorKind::InvalidNamespace,
        3,
        6,
        "cpim NS",
    );
    check(
        &msg("NS: P<urn:x>\r\n", b""),
        ParseErrorKind::InvalidNamespace,
        3,
        6,
        "cpim NS",
    );
    check(
        b"From: <im:a@b>\r\nTo: <im:c@d>\r\n\r\nContent-ID: <x>\r\n\r\n",
        ParseErrorKind::MissingHeader,
        5,
        1,
        "mime Content-Type",
    );
}

#[test]
fn mime_block_errors() {
    let v = b"From: <im:a@b>\r\nTo: <im:c@d>\r\n\r\n folded\r\n\r\n";
    check(
        v,
        ParseErrorKind::UnexpectedContinuation,
        4,
        1,
        "mime header block",
    );
    let v = b"From: <im:a@b>\r\nTo: <im:c@d>\r\n\r\nContent Type: x\r\n\r\n";
    check(
        v,
        ParseErrorKind::InvalidHeaderName,
        4,
        9,
        "mime header block",
    );
    let v = b"From: <im:a@b>\r\nTo: <im:c@d>\r\n\r\nContent-Type x\r\n\r\n";
    check(v, ParseErrorKind::MissingColon, 4, 15, "mime header block");
}

#[test]
fn limits_are_enforced() {
    let many: String = (0..64).map(|i| format!("x.H{i}: v\r\n")).collect();
    let e = fail(&msg(&many, b""));
    assert_eq!(e.kind(), &ParseErrorKind::TooManyHeaders { limit: 64 });
    assert_eq!(e.line(), 65);
    let few: String = (0..62).map(|i| format!("x.H{i}: v\r\n")).collect();
    assert!(CpimMessage::parse(Bytes::from(msg(&few, b""))).is_ok());

    let long = format!("Subject: {}\r\n", "a".repeat(4096 - 9));
    assert!(CpimMessage::parse(Bytes::from(msg(&long, b""))).is_ok());
    let too_long = format!("Subject: {}\r\n", "a".repeat(4096 - 8));
    let e = fail(&msg(&too_long, b""));
    assert_eq!(
        (e.kind(), e.line(), e.column()),
        (&ParseErrorKind::HeaderTooLong { limit: 4096 }, 3, 1)
    );
    // Without any line end at all, the cap still applies.
    let e = fail("a".repeat(10_000).as_bytes());
    assert_eq!(e.kind(), &ParseErrorKind::HeaderTooLong { limit: 4096 });

    let tight = CpimLimits {
        max_headers: 2,
        max_header_line: 40,
    };
    let ok = msg("", b"");
    assert!(CpimMessage::parse_with_limits(Bytes::from(ok.clone()), &tight).is_ok());
    let e = CpimMessage::parse_with_limits(Bytes::from(msg("Subject: x\r\n", b"")), &tight)
        .unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::TooManyHeaders { limit: 2 });
    let mime = b"From: <im:a@b>\r\nTo: <im:c@d>\r\n\r\nContent-Type: a/b\r\nA: 1\r\nB: 2\r\n\r\n";
    let e = CpimMessage::parse_with_limits(Bytes::from_static(mime), &tight).unwrap_err();
    assert_eq!(
        (e.kind(), e.element()),
        (
            &ParseErrorKind::TooManyHeaders { limit: 2 },
            "mime header block"
        )
    );
}

#[test]
fn display_is_lowercase_without_period() {
    let e = fail(&msg("DateTime: nope\r\n", b""));
    let s = e.to_string();
    assert_eq!(s, "cpim DateTime: invalid date-time at line 3, column 11");
    assert!(!s.ends_with('.'));
    assert_eq!(e.offset(), 60);
    assert!(std::error::Error::source(&e).is_some());
}

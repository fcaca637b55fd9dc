//! The RFC examples in `tests/vectors/cpim/` beyond the RFC 3862 §6 one
//! (tested in `parse.rs`): one named test per example. RFC 3862 §2 and §4,
//! and the RFC 3923 Message/CPIM object with its signed (multipart/signed,
//! RFC 1847) and encrypted (application/pkcs7-mime, RFC 5751) wrappers,
//! whose signature and ciphertext bytes are illustrative: only the MIME
//! structure and the protected CPIM object are checked here.

use super::parse;

const SEC2: &[u8] = include_bytes!("../../../tests/vectors/cpim/rfc3862-sec2-structure.txt");
const SEC4: &[u8] = include_bytes!("../../../tests/vectors/cpim/rfc3862-sec4-headers.txt");
const RFC3923_CPIM: &[u8] = include_bytes!("../../../tests/vectors/cpim/rfc3923-cpim.txt");
const RFC3923_SIGNED: &[u8] = include_bytes!("../../../tests/vectors/cpim/rfc3923-signed.txt");
const RFC3923_ENCRYPTED: &[u8] =
    include_bytes!("../../../tests/vectors/cpim/rfc3923-encrypted.txt");

/// Splits a MIME entity at its first empty line: (header text, body).
fn split_entity(e: &[u8]) -> (&str, &[u8]) {
    let at = e
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("empty line");
    (
        std::str::from_utf8(&e[..at]).expect("ascii header"),
        &e[at + 4..],
    )
}

/// The body parts of a multipart body with `boundary` (RFC 2046 §5.1.1):
/// each part's bytes between its delimiter line and the CRLF before the
/// next delimiter.
fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delim = format!("\r\n--{boundary}");
    let mut rest = body
        .strip_prefix(format!("--{boundary}\r\n").as_bytes())
        .expect("first delimiter");
    let mut out = Vec::new();
    while let Some(p) = rest
        .windows(delim.len())
        .position(|w| w == delim.as_bytes())
    {
        out.push(&rest[..p]);
        rest = &rest[p + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest.strip_prefix(b"\r\n").expect("CRLF after delimiter");
    }
    out
}

#[test]
fn rfc3862_sec2_structure_example() {
    let m = parse(SEC2);
    assert_eq!(m.as_bytes().as_ref(), SEC2);
    assert_eq!(m.from().display(), Some("MR SANDERS"));
    assert_eq!(m.to()[0].uri(), "im:eeyore@100akerwood.com");
    assert_eq!(m.subject().len(), 1);
    assert_eq!(m.content_type(), Some("text/plain"));
    assert_eq!(m.content().as_ref(), b"Here is the text of my message.\r\n");
}

#[test]
fn rfc3862_sec4_header_examples() {
    let m = parse(SEC4);
    assert_eq!(m.from().display(), Some("Winnie the Pooh"));
    assert_eq!(m.from().uri(), "im:pooh@100akerwood.com");
    assert_eq!(m.to()[0].display(), None);
    assert_eq!(m.cc().len(), 1);
    let dt = m.date_time_parsed().expect("DateTime");
    assert_eq!((dt.year, dt.offset_minutes), (2001, -300));
    let subjects = m.subject();
    assert_eq!(subjects.len(), 2);
    assert_eq!(subjects[1].0, Some("fr"));
    assert_eq!(
        m.ns(),
        vec![(Some("MyFeatures"), "mid:MessageFeatures@id.foo.com")]
    );
    assert_eq!(m.require(), vec!["MyFeatures.VitalMessageOption"]);
    assert_eq!(m.extension_headers().count(), 1);
}

#[test]
fn rfc3923_cpim_object() {
    let m = parse(RFC3923_CPIM);
    assert_eq!(m.from().uri(), "im:juliet@example.com");
    assert_eq!(m.to()[0].display(), Some("Romeo Montague"));
    assert_eq!(m.date_time(), Some("2003-12-09T11:45:36.66Z"));
    let dt = m.date_time_parsed().expect("fractional-second DateTime");
    assert_eq!(
        (dt.hour, dt.minute, dt.second, dt.offset_minutes),
        (11, 45, 36, 0)
    );
    assert_eq!(m.content().as_ref(), b"Wherefore art thou, Romeo?\r\n");
}

#[test]
fn rfc3923_signed_example_carries_the_cpim_object() {
    let (head, body) = split_entity(RFC3923_SIGNED);
    assert!(head.starts_with("Content-Type: multipart/signed; boundary=next;"));
    let p = parts(body, "next");
    assert_eq!(p.len(), 2, "content part and signature part");
    let (part_head, cpim) = split_entity(p[0]);
    assert!(part_head.eq_ignore_ascii_case("Content-type: Message/CPIM"));
    // The signed part is exactly the RFC 3923 CPIM object (the CRLF before
    // the delimiter belongs to the boundary, RFC 2046 §5.1.1).
    assert_eq!(cpim, RFC3923_CPIM);
    let m = parse(cpim);
    assert_eq!(m.from().uri(), "im:juliet@example.com");
    let (sig_head, _) = split_entity(p[1]);
    assert!(sig_head.starts_with("Content-Type: application/pkcs7-signature"));
}

#[test]
fn rfc3923_encrypted_example_structure() {
    let (head, body) = split_entity(RFC3923_ENCRYPTED);
    assert!(head.starts_with("Content-Type: application/pkcs7-mime; smime-type=enveloped-data;"));
    assert!(
        head.contains("\r\n              name=smime.p7m"),
        "folded parameter"
    );
    assert!(!body.is_empty());
    // Not a CPIM object itself: the ciphertext is opaque.
    assert!(crate::cpim::CpimMessage::parse(bytes::Bytes::from_static(RFC3923_ENCRYPTED)).is_err());
}

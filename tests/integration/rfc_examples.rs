//! RFC 3862 and RFC 3923 examples through the real gateway (SIP → SIP):
//! each example body is sent in a MESSAGE and must reach the next hop with
//! its Content-Type and every body byte unchanged (RFC 3862 §6, RFC 3923,
//! RFC 3261 §23: the gateway never touches protected content). The
//! signature and ciphertext in RFC 3923 are illustrative, so fidelity is
//! what is checked; `smime.rs` does the same with real openssl signatures.

use std::path::Path;
use std::time::Duration;

use crate::common::*;

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/vectors/cpim")
            .join(name),
    )
    .expect("vector")
}

/// A MIME entity's Content-Type (folding removed, RFC 5322 §2.2.3) and body.
fn entity(bytes: &[u8]) -> (String, Vec<u8>) {
    let (head, body) = split_message(bytes);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let ctype = unfolded
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type:"))
        .expect("Content-Type")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (ctype, body)
}

/// Relays each `(Content-Type, body)` through one gateway and checks what
/// the next hop receives.
fn relays_unchanged(name: &str, cases: &[(&str, String, Vec<u8>)]) {
    let uas = UdpPeer::bind();
    let gw = Gateway::start(
        name,
        "",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:{};transport=udp\"\n",
            uas.addr()
        ),
    );
    for (i, (what, ctype, body)) in cases.iter().enumerate() {
        let uac = UdpPeer::bind();
        let req = request(
            "MESSAGE",
            "sip:romeo@example.test",
            uac.addr(),
            &format!("z9hG4bKrfcex{i}"),
            &[("Content-Type", ctype)],
            body,
        );
        uac.send(&req, gw.addr());
        let (raw, from) = uas
            .recv(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("{what}: nothing relayed"));
        uas.send(&answer(&raw, "200 OK"), from);
        assert_eq!(
            uac.recv_status(Duration::from_secs(5)),
            Some(200),
            "{what}: final status"
        );
        let (head, got) = split_message(&raw);
        assert_eq!(
            header_of(&head, "Content-Type"),
            Some(ctype.as_str()),
            "{what}: Content-Type"
        );
        assert_eq!(&got, body, "{what}: body byte-identical");
        let _ = uas.recv_all(Duration::from_millis(100));
    }
}

#[test]
fn rfc3923_signed_and_encrypted_examples_relay_byte_for_byte() {
    let (signed_ct, signed) = entity(&vector("rfc3923-signed.txt"));
    assert!(signed_ct.starts_with("multipart/signed; boundary=next;"));
    let (enc_ct, enc) = entity(&vector("rfc3923-encrypted.txt"));
    assert!(enc_ct.starts_with("application/pkcs7-mime; smime-type=enveloped-data;"));
    relays_unchanged(
        "rfc3923",
        &[
            ("RFC 3923 signed", signed_ct, signed),
            ("RFC 3923 encrypted", enc_ct, enc),
        ],
    );
}

#[test]
fn rfc3862_examples_relay_byte_for_byte_as_message_cpim() {
    let cases: Vec<_> = [
        "rfc3862-example.txt",
        "rfc3862-sec2-structure.txt",
        "rfc3862-sec4-headers.txt",
        "rfc3923-cpim.txt",
    ]
    .iter()
    .map(|f| (*f, "message/cpim".to_owned(), vector(f)))
    .collect();
    relays_unchanged("rfc3862", &cases);
}

//! S/MIME fidelity: bodies signed with openssl in the test cross the gateway
//! and still verify with `openssl smime -verify` on the far side
//! (RFC 1847, RFC 3862 §6, RFC 3261 §23; standards.md §10.4 "SIP → SIP").

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

pub(crate) fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    require("openssl");
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success() || args.contains(&"-verify"),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A self-signed signer certificate and key in `dir`.
pub(crate) fn make_signer(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=alice@sip.test",
            "-days",
            "1",
            "-addext",
            "subjectAltName=URI:im:alice@sip.test",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ],
    );
}

/// Relays `body` with `ctype` through the gateway to a UDP peer and
/// returns what arrived there: (Content-Type value, body bytes).
fn relay(name: &str, ctype: &str, body: &[u8]) -> (String, Vec<u8>) {
    let uas = UdpPeer::bind();
    let gw = Gateway::start(
        name,
        "",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:{};transport=udp\"\n",
            uas.addr()
        ),
    );
    let uac = UdpPeer::bind();
    let req = request(
        "MESSAGE",
        "sip:bob@example.test",
        uac.addr(),
        "z9hG4bKsmime1",
        &[("Content-Type", ctype)],
        body,
    );
    uac.send(&req, gw.addr());
    let (raw, from) = uas
        .recv(Duration::from_secs(5))
        .expect("relayed MESSAGE at the far side");
    uas.send(&answer(&raw, "200 OK"), from);
    assert_eq!(uac.recv_status(Duration::from_secs(5)), Some(200));
    let (head, got) = split_message(&raw);
    let ct = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .expect("Content-Type on the relayed request")
        .to_string();
    (ct, got)
}

#[test]
fn multipart_signed_crosses_and_still_verifies() {
    let dir = scratch_dir("smime-multipart");
    make_signer(&dir);
    // The signed content: a message/cpim entity, as RFC 3862 §6 describes.
    let content = "Content-Type: message/cpim\r\n\r\nFrom: <im:alice@sip.test>\r\nTo: <im:bob@example.test>\r\n\
        DateTime: 2026-11-23T10:00:00Z\r\n\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsigned hello\r\n";
    std::fs::write(dir.join("content.txt"), content).unwrap();
    openssl(
        &dir,
        &[
            "smime",
            "-sign",
            "-in",
            "content.txt",
            "-signer",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-out",
            "signed.eml",
            "-crlfeol",
        ],
    );
    let signed = std::fs::read(dir.join("signed.eml")).unwrap();
    // Split openssl's MIME header block from the multipart body.
    let pos = signed
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header block");
    let head = String::from_utf8_lossy(&signed[..pos]).to_string();
    let body = signed[pos + 4..].to_vec();
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .expect("content type")
        .to_string();
    assert!(ctype.starts_with("multipart/signed"));

    let (got_ct, got_body) = relay("smime-multipart", &ctype, &body);
    assert_eq!(got_ct, ctype, "Content-Type value identical");
    assert_eq!(got_body, body, "body byte-identical");

    let mut entity = format!("MIME-Version: 1.0\r\nContent-Type: {got_ct}\r\n\r\n").into_bytes();
    entity.extend_from_slice(&got_body);
    std::fs::write(dir.join("received.eml"), entity).unwrap();
    let v = openssl(
        &dir,
        &[
            "smime",
            "-verify",
            "-in",
            "received.eml",
            "-CAfile",
            "cert.pem",
            "-out",
            "verified.txt",
        ],
    );
    assert!(
        v.status.success(),
        "verification failed: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    let verified = std::fs::read_to_string(dir.join("verified.txt")).unwrap();
    assert!(verified.contains("signed hello"));
}

#[test]
fn opaque_pkcs7_mime_binary_body_crosses_and_still_verifies() {
    let dir = scratch_dir("smime-opaque");
    make_signer(&dir);
    std::fs::write(
        dir.join("content.txt"),
        "Content-Type: text/plain\r\n\r\nopaque hello\r\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "smime",
            "-sign",
            "-nodetach",
            "-binary",
            "-outform",
            "DER",
            "-in",
            "content.txt",
            "-signer",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-out",
            "signed.p7m",
        ],
    );
    let der = std::fs::read(dir.join("signed.p7m")).unwrap();
    assert!(
        std::str::from_utf8(&der).is_err(),
        "the DER body is binary, not text"
    );
    let ctype = "application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"";
    let (got_ct, got_body) = relay("smime-opaque", ctype, &der);
    assert_eq!(got_ct, ctype);
    assert_eq!(got_body, der, "DER body byte-identical");
    std::fs::write(dir.join("received.p7m"), &got_body).unwrap();
    let v = openssl(
        &dir,
        &[
            "smime",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "received.p7m",
            "-CAfile",
            "cert.pem",
            "-binary",
            "-out",
            "verified.txt",
        ],
    );
    assert!(
        v.status.success(),
        "verification failed: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(
        std::fs::read_to_string(dir.join("verified.txt"))
            .unwrap()
            .contains("opaque hello")
    );
}

#[test]
fn message_cpim_body_is_byte_identical() {
    // Odd but legal spacing, escapes, mixed-case names and a bare-LF line:
    // none of it may change (RFC 3862 §6; conformance C.49).
    let body = b"From: MR SANDERS <im:piglet@100akerwood.com>\r\nto:   <im:bob@example.test>\r\n\
        DateTime: 2000-12-13T13:40:00-08:00\r\nSubject:;lang=fr Bonjour \\u00e9\r\nNS: MyFeatures <mid:MessageFeatures@id.foo.com>\n\
        MyFeatures.VitalMessageOption: Confirmation-requested\r\n\r\nContent-Type: text/xml; charset=utf-8\r\n\
        Content-ID: <1234567890@foo.com>\r\n\r\n<body>\r\nHere is the text of my message.\r\n</body>\r\n";
    let (ct, got) = relay("cpim-identity", "message/cpim", body);
    assert_eq!(ct, "message/cpim");
    assert_eq!(got, body.to_vec());
}

#[test]
fn udp_datagram_without_content_length_keeps_its_body() {
    let uas = UdpPeer::bind();
    let gw = Gateway::start(
        "no-cl",
        "",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:{}\"\n",
            uas.addr()
        ),
    );
    let uac = UdpPeer::bind();
    let req = String::from_utf8(request(
        "MESSAGE",
        "sip:bob@example.test",
        uac.addr(),
        "z9hG4bKnocl",
        &[("Content-Type", "text/plain")],
        b"no length here",
    ))
    .unwrap()
    .replace("Content-Length: 14\r\n", "");
    assert!(!req.contains("Content-Length"));
    uac.send(req.as_bytes(), gw.addr());
    let (raw, from) = uas.recv(Duration::from_secs(5)).expect("relayed");
    let (head, body) = split_message(&raw);
    assert_eq!(body, b"no length here");
    assert!(
        head.contains("Content-Length: 14"),
        "Content-Length recomputed on the new leg"
    );
    uas.send(&answer(&raw, "200 OK"), from);
    assert_eq!(uac.recv_status(Duration::from_secs(5)), Some(200));
}

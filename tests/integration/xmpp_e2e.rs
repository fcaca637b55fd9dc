//! XMPP binding fidelity against real Prosody and slixmpp: the same-domain
//! address mode with subject and thread, and S/MIME carried as RFC 3923
//! `<e2e>` in both directions, verified with `openssl smime -verify` on the
//! far side.

use std::time::{Duration, Instant};

use crate::common::prosody::Prosody;
use crate::common::*;
use crate::smime::openssl;

fn wait_link(gw: &Gateway) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if gw.metrics().get("xmpp_link_up") == Some(&1) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("xmpp link did not come up; log:\n{}", gw.log());
}

fn xmpp_config(p: &Prosody, component: &str, mode: &str) -> String {
    format!(
        "[xmpp]\nserver = \"127.0.0.1:{}\"\ncomponent = \"{component}\"\nsecret = \"cpim-secret\"\n\
         domains = [\"xmpp.test\"]\naddress_mode = \"{mode}\"\nerror_window_ms = 300\n",
        p.component_port
    )
}

/// A multipart/signed entity made by openssl: (Content-Type value, body).
fn signed_entity(dir: &std::path::Path, text: &str) -> (String, Vec<u8>) {
    // A P-256 signer, and no certificate inside the signature (-nocerts;
    // the verifier gets it with -certfile): the whole SIP request then fits
    // RFC 3428's 1300 bytes, which an XMPP-originated MESSAGE must.
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=alice",
            "-days",
            "1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ],
    );
    std::fs::write(
        dir.join("content.txt"),
        // The signed content is a message/cpim entity (RFC 3862 §6).
        format!(
            "Content-Type: message/cpim\r\n\r\nFrom: <im:alice@sip.test>\r\nTo: <im:bob@xmpp.test>\r\n\r\n\
             Content-Type: text/plain\r\n\r\n{text}\r\n"
        ),
    )
    .unwrap();
    openssl(
        dir,
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
            "-nocerts",
            "-noattr",
        ],
    );
    let signed = std::fs::read(dir.join("signed.eml")).unwrap();
    let pos = signed.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&signed[..pos]).to_string();
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap()
        .to_string();
    // openssl writes the base64 signature part with bare LF even with
    // -crlfeol; a conforming SIP UA sends canonical CRLF MIME (RFC 2046
    // §4.1.1). Base64 ignores line breaks and part 1 is already CRLF, so
    // the signature is unaffected. (Bare LF itself is refused with 415:
    // XML could not carry it byte for byte.)
    let mut body = Vec::with_capacity(signed.len());
    let mut prev = 0u8;
    for &b in &signed[pos + 4..] {
        if b == b'\n' && prev != b'\r' {
            body.push(b'\r');
        }
        body.push(b);
        prev = b;
    }
    (ctype, body)
}

fn verify(dir: &std::path::Path, entity: &[u8], expect: &str) {
    std::fs::write(dir.join("received.eml"), entity).unwrap();
    let v = openssl(
        dir,
        &[
            "smime",
            "-verify",
            "-in",
            "received.eml",
            "-CAfile",
            "cert.pem",
            "-certfile",
            "cert.pem",
            "-out",
            "verified.txt",
        ],
    );
    assert!(
        v.status.success(),
        "signature does not verify: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(
        std::fs::read_to_string(dir.join("verified.txt"))
            .unwrap()
            .contains(expect)
    );
}

#[test]
fn same_domain_mode_carries_from_subject_and_thread() {
    let dir = scratch_dir("xmpp-same-domain");
    // The component is named after the SIP domain (RFC 7247 §6 transparent mode).
    let prosody = Prosody::start(&dir, "sip.test", "cpim-secret");
    let gw = Gateway::start(
        "xmpp-same-domain",
        "",
        &xmpp_config(&prosody, "sip.test", "same-domain"),
    );
    wait_link(&gw);
    let bob = prosody.spawn_client(
        "bob@xmpp.test",
        "bobpass",
        &["--expect-messages", "1", "--timeout", "20"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mut uac = Sipp::start(
        &dir,
        "uac_message",
        &uac_args(gw.addr(), "xmpp.test", 1, 15),
    );
    assert!(
        uac.wait(Duration::from_secs(20)).success(),
        "sipp UAC: {}\n{}",
        uac.errors_log(),
        gw.log()
    );
    let out = bob.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let msg = stdout
        .lines()
        .find(|l| l.contains("\"event\": \"message\""))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        msg.contains("\"from\": \"alice@sip.test\""),
        "same-domain from: {msg}"
    );
    assert!(msg.contains("Hello bob, this is alice"), "{msg}");
    assert!(
        msg.contains("\"subject\": \"sipp 1\""),
        "Subject → <subject>: {msg}"
    );
    assert!(
        msg.contains("\"thread\": \"1-"),
        "Call-ID → <thread>: {msg}"
    );
}

#[test]
fn signed_sip_message_crosses_as_e2e_and_verifies_in_the_xmpp_client() {
    let dir = scratch_dir("xmpp-e2e-out");
    let (ctype, body) = signed_entity(&dir, "signed for xmpp");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start(
        "xmpp-e2e-out",
        "",
        &xmpp_config(&prosody, "cpim.xmpp.test", "gateway-subdomain"),
    );
    wait_link(&gw);
    let save = dir.join("e2e");
    std::fs::create_dir_all(&save).unwrap();
    let bob = prosody.spawn_client(
        "bob@xmpp.test",
        "bobpass",
        &[
            "--expect-messages",
            "1",
            "--all-messages",
            "--save-e2e",
            save.to_str().unwrap(),
            "--timeout",
            "20",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let uac = UdpPeer::bind();
    let req = request(
        "MESSAGE",
        "sip:bob@xmpp.test",
        uac.addr(),
        "z9hG4bKe2e1",
        &[("Content-Type", &ctype)],
        &body,
    );
    uac.send(&req, gw.addr());
    let resp = uac.recv_response(Duration::from_secs(5)).expect("answer");
    assert!(resp.starts_with("SIP/2.0 202"), "{resp}");
    let out = bob.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read(save.join("e2e-1.txt")).expect("the client saved the <e2e> payload");
    // RFC 3923 §8 extraction: XML end-of-line handling turned CRLF into LF
    // on the way (Prosody re-serialises stanzas), so drop the formatting LF
    // the gateway put after the entity and restore CRLF.
    let text = text.strip_suffix(b"\n").unwrap_or(&text);
    let mut entity = Vec::with_capacity(text.len() + 64);
    for &b in text {
        if b == b'\n' && entity.last() != Some(&b'\r') {
            entity.push(b'\r');
        }
        entity.push(b);
    }
    assert!(
        entity.starts_with(format!("Content-Type: {ctype}\r\n\r\n").as_bytes()),
        "the MIME entity with the original Content-Type"
    );
    assert!(entity.ends_with(&body), "the body bytes, exactly");
    verify(&dir, &entity, "signed for xmpp");
}

#[test]
fn xmpp_e2e_crosses_to_sip_and_the_message_body_verifies() {
    let dir = scratch_dir("xmpp-e2e-in");
    let (ctype, body) = signed_entity(&dir, "signed from xmpp");
    let mut entity = format!("Content-Type: {ctype}\r\n\r\n").into_bytes();
    entity.extend_from_slice(&body);
    std::fs::write(dir.join("entity.txt"), &entity).unwrap();
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let uas = UdpPeer::bind();
    let gw = Gateway::start(
        "xmpp-e2e-in",
        "",
        &format!(
            "{}\n[[route]]\ndomain = \"example.test\"\nvia = \"sip:{}\"\n",
            xmpp_config(&prosody, "cpim.xmpp.test", "gateway-subdomain"),
            uas.addr()
        ),
    );
    wait_link(&gw);
    let send = format!(
        "romeo\\40example.test@cpim.xmpp.test={}",
        dir.join("entity.txt").display()
    );
    let alice = prosody.spawn_client(
        "alice@xmpp.test",
        "alicepass",
        &["--send-e2e", &send, "--linger", "3", "--timeout", "10"],
    );
    let Some((raw, from)) = uas.recv(Duration::from_secs(10)) else {
        let out = alice.wait_with_output().unwrap();
        panic!(
            "no MESSAGE at the SIP side; client: {}\n{}\ngateway:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            gw.log()
        );
    };
    uas.send(&answer(&raw, "200 OK"), from);
    let _ = alice.wait_with_output();
    let (head, got_body) = split_message(&raw);
    let got_ct = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .expect("Content-Type")
        .to_string();
    assert_eq!(got_ct, ctype, "Content-Type parameters unchanged");
    // Byte-identical, except that the gateway strips one trailing newline
    // inside <e2e> as XML formatting (standards.md §10.4); here that is the
    // CRLF after the closing boundary, which no signature covers.
    let expected = body.strip_suffix(b"\r\n").unwrap_or(&body);
    assert_eq!(
        got_body, expected,
        "body byte-identical after CRLF restoration"
    );
    let cl: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(cl, got_body.len(), "correct Content-Length");
    let mut received = format!("MIME-Version: 1.0\r\nContent-Type: {got_ct}\r\n\r\n").into_bytes();
    received.extend_from_slice(&got_body);
    verify(&dir, &received, "signed from xmpp");
}

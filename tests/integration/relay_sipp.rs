//! SIP⇄SIP relay against real sipp peers: a sipp UAC sends MESSAGE to the
//! gateway over UDP and over TCP, addressed to bob@example.test; a sipp UAS
//! on the routed next hop answers and logs what it received, so the test can
//! check Max-Forwards was decremented and compare the bodies.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::*;

const CALLS: usize = 5;

fn bodies(msgs: &[String]) -> BTreeSet<String> {
    msgs.iter()
        .filter(|m| m.starts_with("MESSAGE "))
        .map(|m| body_of(m).trim_end().to_string())
        .collect()
}

fn relay_through(transport_in: &str, transport_out: &str) {
    let dir = scratch_dir(&format!("relay-{transport_in}-{transport_out}"));
    let uas_port = free_port();
    let out = if transport_out == "t1" { "tcp" } else { "udp" };
    let gw = Gateway::start(
        &format!("relay-{transport_in}"),
        "",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{uas_port};transport={out}\"\n"
        ),
    );
    let mut uas = Sipp::start(
        &dir,
        "uas_message",
        &[
            "-p".into(),
            uas_port.to_string(),
            "-t".into(),
            transport_out.into(),
            "-m".into(),
            CALLS.to_string(),
            "-timeout".into(),
            "30s".into(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut uac = Sipp::start(
        &dir,
        "uac_message",
        &[
            uac_args(gw.addr(), "example.test", CALLS, 30),
            vec!["-t".into(), transport_in.into(), "-r".into(), "20".into()],
        ]
        .concat(),
    );
    let uac_status = uac.wait(Duration::from_secs(40));
    let uas_status = uas.wait(Duration::from_secs(40));
    assert!(
        uac_status.success(),
        "sipp UAC failed: {uac_status}\n{}\ngateway log:\n{}",
        uac.errors_log(),
        gw.log()
    );
    assert!(
        uas_status.success(),
        "sipp UAS failed: {uas_status}\n{}",
        uas.errors_log()
    );

    let sent = sipp_logged_messages(&uac.messages_log(), false);
    let received = sipp_logged_messages(&uas.messages_log(), true);
    let sent_bodies = bodies(&sent);
    assert_eq!(
        sent_bodies.len(),
        CALLS,
        "UAC log has {CALLS} distinct MESSAGE bodies"
    );
    assert_eq!(
        sent_bodies,
        bodies(&received),
        "bodies byte-identical at the far side"
    );
    for m in received.iter().filter(|m| m.starts_with("MESSAGE ")) {
        assert_eq!(header_of(m, "Max-Forwards"), Some("69"));
        assert_eq!(
            header_of(m, "Content-Type"),
            Some("text/plain;charset=UTF-8")
        );
        assert!(m.starts_with("MESSAGE sip:bob@example.test SIP/2.0"));
        assert!(header_of(m, "From").unwrap().contains("sip:alice@sip.test"));
    }
    let m = gw.metrics();
    assert_eq!(m.get("messages_relayed_total"), Some(&(CALLS as u64)));
    assert_eq!(m.get("messages_success_total"), Some(&(CALLS as u64)));
}

#[test]
fn sipp_uac_over_udp_reaches_sipp_uas() {
    relay_through("u1", "u1");
}

#[test]
fn sipp_uac_over_tcp_reaches_sipp_uas_over_tcp() {
    relay_through("t1", "t1");
}

#[test]
fn uas_status_is_returned_to_the_sender() {
    let dir = scratch_dir("relay-status");
    let uas_port = free_port();
    let gw = Gateway::start(
        "relay-status",
        "",
        &format!("[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{uas_port}\"\n"),
    );
    let mut uas = Sipp::start(
        &dir,
        "uas_message_486",
        &[
            "-p".into(),
            uas_port.to_string(),
            "-m".into(),
            "1".into(),
            "-timeout".into(),
            "20s".into(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let uac = UdpPeer::bind();
    let req = request(
        "MESSAGE",
        "sip:bob@example.test",
        uac.addr(),
        "z9hG4bKst1",
        &[("Max-Forwards", "10"), ("Content-Type", "text/plain")],
        b"busy?",
    );
    uac.send(&req, gw.addr());
    assert_eq!(uac.recv_status(Duration::from_secs(5)), Some(486));
    assert!(
        uas.wait(Duration::from_secs(10)).success(),
        "{}",
        uas.errors_log()
    );
}

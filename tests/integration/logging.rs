//! Log output (issue 7): JSON lines under `[log] format = "json"`, a span
//! per SIP transaction carrying its Call-ID, CSeq and method, SIP URIs
//! redacted by default (`[log] redact`), and message bodies never logged
//! above trace level.

use std::time::Duration;

use crate::common::*;

/// Relays one MESSAGE from alice@sip.test to bobsecret@example.test (a UDP
/// peer playing the foreign domain) through a gateway logging JSON at debug
/// level; returns the gateway's log.
fn relay_one(name: &str, redact: Option<bool>) -> String {
    let uas = UdpPeer::bind();
    let redact = redact.map_or(String::new(), |r| format!("redact = {r}\n"));
    let gw = Gateway::start(
        name,
        "",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:{}\"\n\n\
             [log]\nformat = \"json\"\nlevel = \"debug\"\n{redact}",
            uas.addr()
        ),
    );
    let uac = UdpPeer::bind();
    let branch = format!("z9hG4bK{name}");
    uac.send(
        &request(
            "MESSAGE",
            "sip:bobsecret@example.test",
            uac.addr(),
            &branch,
            &[("Content-Type", "text/plain")],
            b"bodymarker-7f3a: do not log me",
        ),
        gw.addr(),
    );
    let (relayed, from) = uas
        .recv(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("the MESSAGE was relayed\n{}", gw.log()));
    uas.send(&answer(&relayed, "200 OK"), from);
    assert_eq!(
        uac.recv_status(Duration::from_secs(5)),
        Some(200),
        "{}",
        gw.log()
    );
    // Let the leg's last events reach the log.
    std::thread::sleep(Duration::from_millis(300));
    gw.log()
}

/// The JSON events of a log (every line that is one).
fn json_lines(log: &str) -> Vec<serde_json::Value> {
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with('{')).collect();
    assert!(!lines.is_empty(), "no JSON lines:\n{log}");
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The `sip_request` span fields of the events about MESSAGE requests
/// (the harness's readiness OPTIONS has its own).
fn request_spans(events: &[serde_json::Value]) -> Vec<serde_json::Value> {
    events
        .iter()
        .filter_map(|e| e.get("spans").and_then(|s| s.as_array()))
        .flatten()
        .filter(|s| s.get("name").and_then(|n| n.as_str()) == Some("sip_request"))
        .filter(|s| s.get("method").and_then(|n| n.as_str()) == Some("MESSAGE"))
        .cloned()
        .collect()
}

#[test]
fn json_log_has_transaction_spans_redacted_addresses_and_no_bodies() {
    let log = relay_one("log-redacted", None);
    let events = json_lines(&log);
    let spans = request_spans(&events);
    assert!(
        !spans.is_empty(),
        "events inside a sip_request span:\n{log}"
    );
    let span = &spans[0];
    assert_eq!(span["call_id"], "z9hG4bKlog-redacted@test", "{span}");
    assert_eq!(span["cseq"], 1, "{span}");
    let to = span["to"].as_str().unwrap_or_default();
    assert!(
        to.starts_with("sip:~") && to.ends_with("@example.test"),
        "the user part is hashed, the domain kept: {to}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "relaying" || e["message"] == "relaying"),
        "the relay decision is logged at debug:\n{log}"
    );
    // Redacted by default: no user part anywhere in the log.
    assert!(!log.contains("bobsecret"), "{log}");
    assert!(!log.contains("alice@"), "{log}");
    // Bodies: never above trace.
    assert!(!log.contains("bodymarker"), "{log}");
}

#[test]
fn redaction_can_be_turned_off() {
    let log = relay_one("log-plain", Some(false));
    let spans = request_spans(&json_lines(&log));
    assert!(!spans.is_empty(), "{log}");
    assert_eq!(spans[0]["to"], "sip:bobsecret@example.test", "{log}");
    assert_eq!(spans[0]["from"], "sip:alice@sip.test", "{log}");
    assert!(!log.contains("bodymarker"), "{log}");
}

//! The XEP-0114 component link against a real Prosody: it comes up, it
//! comes back by itself after Prosody is killed and restarted, a wrong
//! secret does not cause a reconnect storm, a stanza the gateway cannot
//! deliver is answered with an error instead of being dropped, and
//! messages cross in both directions with errors mapped back.

use std::time::{Duration, Instant};

use crate::common::prosody::Prosody;
use crate::common::*;

fn xmpp_section(p: &Prosody, secret: &str) -> String {
    format!(
        "[xmpp]\nserver = \"127.0.0.1:{}\"\ncomponent = \"cpim.xmpp.test\"\nsecret = \"{secret}\"\n\
         ping_interval_s = 2\nping_timeout_s = 2\nbackoff_min_ms = 200\nbackoff_max_s = 1\n",
        p.component_port
    )
}

/// Waits (bounded) until a metric equals `want`.
fn wait_eq(gw: &Gateway, name: &str, want: u64, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if gw.metrics().get(name).copied() == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn component_link_comes_up_and_recovers_after_prosody_restarts() {
    let dir = scratch_dir("xmpp-link");
    let mut prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start("xmpp-link", "", &xmpp_section(&prosody, "cpim-secret"));
    assert!(
        wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(10)),
        "link up; log:\n{}",
        gw.log()
    );
    prosody.kill();
    assert!(
        wait_eq(&gw, "xmpp_link_up", 0, Duration::from_secs(10)),
        "link noticed the loss"
    );
    prosody.restart();
    assert!(
        wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(15)),
        "link came back; log:\n{}",
        gw.log()
    );
    let m = gw.metrics();
    assert!(m.get("xmpp_connects_total").copied().unwrap_or(0) >= 2);
    assert_eq!(m.get("xmpp_auth_failures_total"), Some(&0));
}

#[test]
fn wrong_secret_is_not_retried_in_a_storm() {
    let dir = scratch_dir("xmpp-badsecret");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start(
        "xmpp-badsecret",
        "",
        &xmpp_section(&prosody, "wrong-secret"),
    );
    assert!(
        wait_eq(&gw, "xmpp_auth_failures_total", 1, Duration::from_secs(10)),
        "log:\n{}",
        gw.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    let m = gw.metrics();
    assert_eq!(
        m.get("xmpp_connects_total"),
        Some(&1),
        "no reconnect within the auth-failure backoff"
    );
    assert_eq!(m.get("xmpp_link_up"), Some(&0));
}

#[test]
fn undeliverable_stanza_gets_an_error_reply_not_silence() {
    let dir = scratch_dir("xmpp-error");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start("xmpp-error", "", &xmpp_section(&prosody, "cpim-secret"));
    assert!(
        wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(10)),
        "log:\n{}",
        gw.log()
    );
    let out = prosody.client(
        "alice@xmpp.test",
        "alicepass",
        &[
            "--send",
            "romeo@cpim.xmpp.test=hello sip",
            "--type",
            "normal",
            "--linger",
            "2",
            "--timeout",
            "10",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"message_error\""),
        "alice got an error stanza back: {stdout}\n{}",
        prosody.log()
    );
    assert!(
        stdout.contains("item-not-found"),
        "romeo@component names no SIP user: {stdout}"
    );
    assert_eq!(gw.metrics().get("xmpp_errors_sent_total"), Some(&1));
}

fn delivery_section(p: &Prosody) -> String {
    format!(
        "{}domains = [\"xmpp.test\"]\nerror_window_ms = 500\n",
        xmpp_section(p, "cpim-secret")
    )
}

#[test]
fn sipp_message_reaches_a_logged_in_xmpp_client_with_the_mapped_from() {
    let dir = scratch_dir("sip2xmpp");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start("sip2xmpp", "", &delivery_section(&prosody));
    assert!(
        wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(10)),
        "log:\n{}",
        gw.log()
    );
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
        "sipp UAC did not get 202: {}\n{}",
        uac.errors_log(),
        gw.log()
    );
    let out = bob.wait_with_output().expect("bob");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bob got nothing: {stdout}\n{}",
        prosody.log()
    );
    let msg = stdout
        .lines()
        .find(|l| l.contains("\"event\": \"message\""))
        .expect("a message event");
    assert!(
        msg.contains("alice\\\\40sip.test@cpim.xmpp.test"),
        "from in gateway-subdomain form: {msg}"
    );
    assert!(msg.contains("Hello bob, this is alice"), "body: {msg}");
    assert_eq!(gw.metrics().get("messages_to_xmpp_total"), Some(&1));
}

#[test]
fn message_to_a_nonexistent_xmpp_user_gets_the_mapped_4xx_within_the_window() {
    let dir = scratch_dir("sip2xmpp-404");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start("sip2xmpp-404", "", &delivery_section(&prosody));
    assert!(
        wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(10)),
        "log:\n{}",
        gw.log()
    );
    let uac = UdpPeer::bind();
    let started = Instant::now();
    let req = request(
        "MESSAGE",
        "sip:nobody@xmpp.test",
        uac.addr(),
        "z9hG4bKnouser",
        &[("Content-Type", "text/plain")],
        b"anyone?",
    );
    uac.send(&req, gw.addr());
    let resp = uac
        .recv_response(Duration::from_secs(5))
        .expect("an answer");
    let code: u16 = resp[8..11].parse().unwrap();
    assert!(
        (400..500).contains(&code),
        "a 4xx, not 202 and not 503: {resp}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "within the error window"
    );
}

#[test]
fn prosody_down_gives_503_with_retry_after_and_delivery_resumes_when_it_is_back() {
    let dir = scratch_dir("sip2xmpp-down");
    let mut prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start("sip2xmpp-down", "", &delivery_section(&prosody));
    assert!(
        wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(10)),
        "log:\n{}",
        gw.log()
    );
    prosody.kill();
    assert!(wait_eq(&gw, "xmpp_link_up", 0, Duration::from_secs(10)));
    let uac = UdpPeer::bind();
    let req = request(
        "MESSAGE",
        "sip:bob@xmpp.test",
        uac.addr(),
        "z9hG4bKdown",
        &[("Content-Type", "text/plain")],
        b"later",
    );
    uac.send(&req, gw.addr());
    let resp = uac
        .recv_response(Duration::from_secs(5))
        .expect("an answer");
    assert!(resp.starts_with("SIP/2.0 503"), "{resp}");
    assert!(resp.contains("Retry-After:"), "{resp}");
    // The link comes back by itself and the next message is delivered.
    prosody.restart();
    assert!(wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(15)));
    let bob = prosody.spawn_client(
        "bob@xmpp.test",
        "bobpass",
        &["--expect-messages", "1", "--timeout", "20"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let req = request(
        "MESSAGE",
        "sip:bob@xmpp.test",
        uac.addr(),
        "z9hG4bKback",
        &[("Content-Type", "text/plain")],
        b"after the restart",
    );
    uac.send(&req, gw.addr());
    let resp = uac
        .recv_response(Duration::from_secs(5))
        .expect("an answer");
    assert!(resp.starts_with("SIP/2.0 202"), "{resp}");
    let out = bob.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("after the restart"),
        "delivered after the link came back: {stdout}"
    );
}

#[test]
fn xmpp_client_message_reaches_a_sipp_uas_and_its_404_comes_back_as_item_not_found() {
    let dir = scratch_dir("xmpp2sip");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let uas_port = free_port();
    let gw = Gateway::start(
        "xmpp2sip",
        "",
        &format!(
            "{}\n[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{uas_port}\"\n",
            delivery_section(&prosody)
        ),
    );
    assert!(
        wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(10)),
        "log:\n{}",
        gw.log()
    );
    let mut uas = Sipp::start(
        &dir,
        "uas_message_404",
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
    let out = prosody.client(
        "alice@xmpp.test",
        "alicepass",
        &[
            "--send",
            "romeo\\40example.test@cpim.xmpp.test=hello romeo",
            "--type",
            "chat",
            "--linger",
            "3",
            "--timeout",
            "12",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        uas.wait(Duration::from_secs(10)).success(),
        "{}",
        uas.errors_log()
    );
    let got = sipp_logged_messages(&uas.messages_log(), true);
    let m = got
        .iter()
        .find(|m| m.starts_with("MESSAGE "))
        .expect("the UAS got a MESSAGE");
    assert!(
        m.starts_with("MESSAGE sip:romeo@example.test SIP/2.0"),
        "{m}"
    );
    assert_eq!(
        header_of(m, "Content-Type"),
        Some("text/plain; charset=UTF-8")
    );
    assert!(
        header_of(m, "From")
            .unwrap()
            .contains("sip:alice@xmpp.test"),
        "{m}"
    );
    assert!(header_of(m, "Contact").is_none(), "no Contact");
    assert!(body_of(m).contains("hello romeo"));
    let err = stdout
        .lines()
        .find(|l| l.contains("\"message_error\""))
        .unwrap_or_else(|| panic!("no error stanza: {stdout}"));
    assert!(
        err.contains("item-not-found"),
        "404 → item-not-found: {err}"
    );
    let sent = stdout
        .lines()
        .find(|l| l.contains("\"event\": \"sent\""))
        .expect("sent event");
    let _ = sent;
    assert_eq!(gw.metrics().get("messages_from_xmpp_total"), Some(&1));
}

#[test]
fn xmpp_burst_to_one_sip_uri_leaves_one_at_a_time_in_order_and_2000_bytes_is_refused() {
    let dir = scratch_dir("xmpp2sip-burst");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let uas_port = free_port();
    let gw = Gateway::start(
        "xmpp2sip-burst",
        "",
        &format!(
            "{}\n[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{uas_port}\"\n",
            delivery_section(&prosody)
        ),
    );
    assert!(
        wait_eq(&gw, "xmpp_link_up", 1, Duration::from_secs(10)),
        "log:\n{}",
        gw.log()
    );
    let mut uas = Sipp::start(
        &dir,
        "uas_message",
        &[
            "-p".into(),
            uas_port.to_string(),
            "-m".into(),
            "10".into(),
            "-timeout".into(),
            "30s".into(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let big = "x".repeat(2000);
    let big_send = format!("romeo\\40example.test@cpim.xmpp.test={big}");
    let out = prosody.client(
        "alice@xmpp.test",
        "alicepass",
        &[
            "--flood",
            "romeo\\40example.test@cpim.xmpp.test",
            "--count",
            "10",
            "--rate",
            "0",
            "--send",
            &big_send,
            "--linger",
            "4",
            "--timeout",
            "20",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        uas.wait(Duration::from_secs(20)).success(),
        "{}\n{}",
        uas.errors_log(),
        gw.log()
    );
    // The UAS saw the ten in the order they were sent, and one at a time:
    // its log strictly alternates "MESSAGE received" and "200 sent".
    let log = uas.messages_log();
    let mut trace = String::new();
    for block in log.split("----------------------------------------------- ") {
        if block.contains("message received") && block.contains("\nMESSAGE ") {
            trace.push('R');
        } else if block.contains("message sent") && block.contains("\nSIP/2.0 200") {
            trace.push('S');
        }
    }
    assert_eq!(trace, "RS".repeat(10), "one outstanding MESSAGE at a time");
    let got = sipp_logged_messages(&log, true);
    let seqs: Vec<u32> = got
        .iter()
        .filter(|m| m.starts_with("MESSAGE "))
        .filter_map(|m| {
            body_of(m)
                .split("seq=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(seqs, (0..10).collect::<Vec<u32>>(), "in order");
    let err = stdout
        .lines()
        .find(|l| l.contains("\"message_error\""))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        err.contains("policy-violation"),
        "2000 bytes → policy-violation: {err}"
    );
    assert_eq!(gw.metrics().get("messages_from_xmpp_total"), Some(&10));
}

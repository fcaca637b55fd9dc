//! The XEP-0114 component link against a real Prosody: it comes up, it
//! comes back by itself after Prosody is killed and restarted, a wrong
//! secret does not cause a reconnect storm, and a stanza the gateway cannot
//! deliver yet is answered with an error instead of being dropped.

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
    assert!(stdout.contains("feature-not-implemented"), "{stdout}");
    assert_eq!(gw.metrics().get("xmpp_errors_sent_total"), Some(&1));
}

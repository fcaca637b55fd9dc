//! Process lifecycle against real peers: SIGHUP applies a changed route
//! without losing the MESSAGE in flight, SIGHUP with a broken config keeps
//! the running one, and SIGTERM under sipp load drains (new MESSAGEs get
//! 503 with Retry-After, accepted ones finish) and exits 0.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::*;

fn uas_args(port: u16, count: u32) -> Vec<String> {
    vec![
        "-p".into(),
        port.to_string(),
        "-m".into(),
        count.to_string(),
        "-timeout".into(),
        "20s".into(),
    ]
}

fn route(port: u16) -> String {
    format!("[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{port}\"\n")
}

fn sub(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

#[test]
fn sighup_applies_a_changed_route_without_losing_the_message_in_flight() {
    let (port_a, port_b) = (free_port(), free_port());
    let mut gw = Gateway::start("hup-route", "", &route(port_a));
    let dir = gw.dir.clone();
    let mut uas_a = Sipp::start(&sub(&dir, "a"), "uas_message_slow", &uas_args(port_a, 1));
    let mut uas_b = Sipp::start(&sub(&dir, "b"), "uas_message", &uas_args(port_b, 1));
    std::thread::sleep(Duration::from_millis(300));
    let mut first = Sipp::start(
        &sub(&dir, "u1"),
        "uac_message",
        &uac_args(gw.addr(), "example.test", 1, 15),
    );
    // The MESSAGE is at A, which answers after 1.5 s: reload meanwhile.
    std::thread::sleep(Duration::from_millis(500));
    let cfg = std::fs::read_to_string(gw.config_path()).unwrap();
    let changed = cfg.replace(&format!(":{port_a}\""), &format!(":{port_b}\""));
    assert_ne!(cfg, changed);
    std::fs::write(gw.config_path(), changed).unwrap();
    gw.signal("HUP");
    assert_eq!(gw.wait_metric("config_reloads_total", 1), 1, "{}", gw.log());
    assert!(
        first.wait(Duration::from_secs(10)).success(),
        "the in-flight MESSAGE finished through the old route: {}\n{}",
        first.errors_log(),
        gw.log()
    );
    assert!(uas_a.wait(Duration::from_secs(5)).success());
    let mut second = Sipp::start(
        &sub(&dir, "u2"),
        "uac_message",
        &uac_args(gw.addr(), "example.test", 1, 15),
    );
    assert!(
        second.wait(Duration::from_secs(10)).success(),
        "{}",
        gw.log()
    );
    assert!(
        uas_b.wait(Duration::from_secs(5)).success(),
        "the next MESSAGE took the new route: {}",
        gw.log()
    );
    assert!(gw.alive());
}

#[test]
fn sighup_with_a_broken_config_is_refused_and_the_running_one_stays() {
    let port = free_port();
    let mut gw = Gateway::start("hup-broken", "", &route(port));
    let dir = gw.dir.clone();
    let good = std::fs::read_to_string(gw.config_path()).unwrap();
    std::fs::write(
        gw.config_path(),
        good.replace("[[route]]", "[[route]]\nnext_hop_typo = 1"),
    )
    .unwrap();
    gw.signal("HUP");
    std::thread::sleep(Duration::from_millis(800));
    let log = gw.log();
    assert!(
        log.contains("new configuration refused") && log.contains("gateway.toml:"),
        "the error names the file and line: {log}"
    );
    assert_eq!(gw.metrics().get("config_reloads_total"), Some(&0));
    let mut uas = Sipp::start(&sub(&dir, "uas"), "uas_message", &uas_args(port, 1));
    std::thread::sleep(Duration::from_millis(300));
    let mut uac = Sipp::start(
        &sub(&dir, "uac"),
        "uac_message",
        &uac_args(gw.addr(), "example.test", 1, 15),
    );
    assert!(uac.wait(Duration::from_secs(10)).success(), "{}", gw.log());
    assert!(uas.wait(Duration::from_secs(5)).success());
    assert!(gw.alive());
}

/// Distinct Call-IDs of the logged messages that start with `start`.
fn call_ids(log: &str, received: bool, start: &str) -> HashSet<String> {
    sipp_logged_messages(log, received)
        .iter()
        .filter(|m| m.starts_with(start))
        .filter_map(|m| header_of(m, "Call-ID").map(str::to_string))
        .collect()
}

#[test]
fn sigterm_under_sipp_load_drains_and_exits_0() {
    let port = free_port();
    let mut gw = Gateway::start("term-load", "", &route(port));
    let dir = gw.dir.clone();
    let mut uas = Sipp::start(&sub(&dir, "uas"), "uas_message", &uas_args(port, 10_000));
    std::thread::sleep(Duration::from_millis(300));
    // 200 MESSAGE/s for 2 s; SIGTERM lands in the middle.
    // Calls sent after the gateway exited give up after 2 s.
    let mut args = uac_args(gw.addr(), "example.test", 400, 15);
    args.extend(["-r", "200", "-recv_timeout", "2000"].map(String::from));
    let mut uac = Sipp::start(&sub(&dir, "uac"), "uac_message", &args);
    std::thread::sleep(Duration::from_millis(1000));
    gw.signal("TERM");
    let status = gw.wait_exit(Duration::from_secs(15));
    let log = gw.log();
    let status = status.unwrap_or_else(|| panic!("no exit within 15 s: {log}"));
    assert!(status.success(), "exit 0 after a drain: {status:?}\n{log}");
    assert!(log.contains("draining") && log.contains("drained"), "{log}");
    let _ = uac.wait(Duration::from_secs(20));
    let _ = uas.wait(Duration::from_secs(2));
    let uac_log = uac.messages_log();
    let responses = sipp_logged_messages(&uac_log, true);
    assert!(
        responses.len() > 100,
        "load ran before SIGTERM: {}",
        responses.len()
    );
    // The only error is the drain policy: 503 with Retry-After.
    for r in &responses {
        let ok = r.starts_with("SIP/2.0 200")
            || (r.starts_with("SIP/2.0 503") && header_of(r, "Retry-After").is_some());
        assert!(ok, "unexpected answer during drain: {r}");
    }
    // Every MESSAGE the UAS got (the gateway is a B2BUA: its own Call-IDs)
    // was answered 200 to the UAC: nothing in flight was lost.
    let at_uas = call_ids(&uas.messages_log(), true, "MESSAGE ");
    let ok_at_uac = call_ids(&uac_log, true, "SIP/2.0 200");
    let drained = call_ids(&uac_log, true, "SIP/2.0 503");
    assert!(!at_uas.is_empty());
    assert_eq!(
        at_uas.len(),
        ok_at_uac.len(),
        "relayed vs answered 200 ({} refused by the drain)",
        drained.len()
    );
}

//! Rate limits and overload control against the real gateway binary and
//! sipp peers on loopback (issue 6 items 2 and 3):
//!
//! - Two peers told apart by source address (127.0.0.1 and 127.0.0.2): the
//!   one over its `[[peer]] rate` gets 503 + Retry-After for the excess
//!   while the other, under its limit, is served normally in the same run.
//! - Two times the relay capacity for 60 s: capacity is made small and
//!   known by a small `sip.max_transactions` and a sipp UAS that holds
//!   every MESSAGE for a fixed pause (capacity = bound / pause). The
//!   gateway's RSS stays under [`RSS_BOUND_KIB`], every request gets a
//!   final response (200 or a counted 503 shed), and a fresh MESSAGE is
//!   served within 5 s of the load stopping.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::*;

/// sipp UAC arguments: `count` MESSAGEs at `rate`/s from
/// `alice@<from_domain>` to `bob@example.test` through the gateway.
fn load_args(
    target: SocketAddr,
    from_domain: &str,
    count: u64,
    rate: u64,
    timeout_s: u32,
) -> Vec<String> {
    [
        target.to_string(),
        "-p".into(),
        free_port().to_string(),
        "-s".into(),
        "bob".into(),
        "-m".into(),
        count.to_string(),
        "-r".into(),
        rate.to_string(),
        "-l".into(),
        "5000".into(),
        "-timeout".into(),
        format!("{timeout_s}s"),
        "-fd".into(),
        "1".into(),
        "-key".into(),
        "to_domain".into(),
        "example.test".into(),
        "-key".into(),
        "from_domain".into(),
        from_domain.into(),
        "-key".into(),
        "from_user".into(),
        "alice".into(),
    ]
    .to_vec()
}

/// A sipp UAS on a free port answering MESSAGE 200 after `pause_ms`,
/// running until dropped.
fn slow_uas(dir: &std::path::Path, pause_ms: u64) -> (Sipp, u16) {
    let port = free_port();
    let uas = Sipp::start_from(
        dir,
        "uas_message_delay",
        "127.0.0.1",
        &[
            "-p".into(),
            port.to_string(),
            "-d".into(),
            pause_ms.to_string(),
            "-timeout".into(),
            "150s".into(),
        ],
        false,
    );
    std::thread::sleep(Duration::from_millis(300));
    (uas, port)
}

fn count(c: &std::collections::HashMap<String, u64>, suffix: &str) -> u64 {
    c.iter()
        .filter(|(k, _)| k.ends_with(suffix))
        .map(|(_, v)| *v)
        .sum()
}

#[test]
fn a_peer_over_its_rate_gets_503_retry_after_while_another_is_served() {
    const RATE: f64 = 5.0;
    const BURST: f64 = 5.0;
    const OFFERED: u64 = 20;
    const CALLS_A: u64 = 160; // 8 s at 20/s
    const CALLS_B: u64 = 40; // 4 s at 10/s, under b's 50/s
    let dir = scratch_dir("overload-rate");
    let (_uas, uas_port) = slow_uas(&dir, 0);
    let gw = Gateway::start(
        "overload-rate",
        "",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{uas_port}\"\n\n\
             [[peer]]\nname = \"peer-a\"\naddresses = [\"127.0.0.1\"]\ndomains = [\"a.test\"]\nrate = {RATE:.1}\nburst = {BURST:.1}\n\n\
             [[peer]]\nname = \"peer-b\"\naddresses = [\"127.0.0.2\"]\ndomains = [\"b.test\"]\nrate = 50.0\nburst = 50.0\n"
        ),
    );
    let dir_a = dir.join("a");
    let dir_b = dir.join("b");
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let started = Instant::now();
    let mut a = Sipp::start_from(
        &dir_a,
        "uac_message_or_503",
        "127.0.0.1",
        &load_args(gw.addr(), "a.test", CALLS_A, OFFERED, 40),
        true,
    );
    let mut b = Sipp::start_from(
        &dir_b,
        "uac_message_or_503",
        "127.0.0.2",
        &load_args(gw.addr(), "b.test", CALLS_B, 10, 40),
        true,
    );
    let st_a = a.wait(Duration::from_secs(45));
    let elapsed_a = started.elapsed();
    let st_b = b.wait(Duration::from_secs(45));
    assert!(
        st_a.success() && st_b.success(),
        "sipp failed (a: {st_a}, b: {st_b}): a errors:\n{}\nb errors:\n{}\ngateway log tail:\n{}",
        a.errors_log(),
        b.errors_log(),
        tail(&gw.log())
    );

    let ca = a.counts();
    let cb = b.counts();
    let (ok_a, shed_a) = (count(&ca, "_200_Recv"), count(&ca, "_503_Recv"));
    let (ok_b, shed_b) = (count(&cb, "_200_Recv"), count(&cb, "_503_Recv"));
    assert_eq!(
        ok_a + shed_a,
        CALLS_A,
        "every request of a answered: {ca:?}"
    );
    assert_eq!((ok_b, shed_b), (CALLS_B, 0), "b is under its limit");

    // The bucket admits the burst, then RATE per second over the span in
    // which a offered its requests ((CALLS_A - 1) / OFFERED seconds).
    let span = (CALLS_A - 1) as f64 / OFFERED as f64;
    let expected = BURST + RATE * span;
    let tolerance = 3.0 + 0.1 * expected;
    eprintln!(
        "rate test: a got {ok_a} x 200 and {shed_a} x 503 (expected ~{expected:.1} x 200 over {span:.2} s; sipp ran {:.1} s); b got {ok_b} x 200",
        elapsed_a.as_secs_f64()
    );
    assert!(
        (ok_a as f64 - expected).abs() <= tolerance,
        "a got {ok_a} x 200, expected {expected:.1} ± {tolerance:.1}"
    );
    assert!(shed_a > 0);

    // Every 503 carries a whole number of seconds in Retry-After (sipp's
    // check_it already failed the call otherwise; checked here too).
    let answers = sipp_logged_messages(&a.messages_log(), true);
    let refusals: Vec<&String> = answers
        .iter()
        .filter(|m| m.starts_with("SIP/2.0 503"))
        .collect();
    assert_eq!(refusals.len() as u64, shed_a);
    for r in refusals {
        let ra: u32 = header_of(r, "Retry-After")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("503 without Retry-After:\n{r}"));
        assert!((1..=2).contains(&ra), "Retry-After {ra} at 5/s");
        assert!(header_of(r, "Warning").unwrap().contains("peer-a"));
    }
    let m = gw.metrics();
    assert_eq!(
        m.get("policy_refusals_total{rule=\"peer_rate_limited\"}"),
        Some(&shed_a)
    );
    assert_eq!(m.get("shed_total{stage=\"headers\"}"), Some(&0));
}

/// The gateway's resident memory stays below this during the overload
/// run (documented in README.md, "Overload control").
const RSS_BOUND_KIB: u64 = 128 * 1024;

#[test]
fn twice_the_capacity_for_60_s_is_shed_cheaply_and_the_gateway_recovers() {
    const BOUND: u64 = 100; // sip.max_transactions
    const HOLD_MS: u64 = 1000; // the UAS's pause per MESSAGE
    const CAPACITY: u64 = BOUND * 1000 / HOLD_MS; // 100 MESSAGEs/s
    const OFFERED: u64 = 2 * CAPACITY;
    const SECS: u64 = 60;
    const CALLS: u64 = OFFERED * SECS;
    let dir = scratch_dir("overload-2x");
    let (_uas, uas_port) = slow_uas(&dir, HOLD_MS);
    let gw = Gateway::start(
        "overload-2x",
        &format!("max_transactions = {BOUND}\n"),
        &format!("[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{uas_port}\"\n"),
    );
    let rss_start = gw.rss_kib().unwrap_or(0);
    let started = Instant::now();
    let mut uac = Sipp::start_from(
        &dir,
        "uac_message_or_503",
        "127.0.0.1",
        &load_args(gw.addr(), "sip.test", CALLS, OFFERED, SECS as u32 + 25),
        false,
    );
    // Sample RSS while the load runs.
    let mut rss_peak = rss_start;
    let status = loop {
        if let Some(kib) = gw.rss_kib() {
            rss_peak = rss_peak.max(kib);
        }
        if let Some(st) = uac.try_wait() {
            break st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(SECS + 30),
            "sipp did not finish in time"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let load_secs = started.elapsed().as_secs_f64();
    let stopped = Instant::now();

    // Within 5 s of the load stopping, a fresh MESSAGE is served.
    let probe = UdpPeer::bind();
    let mut recovered = None;
    let mut n = 0;
    while stopped.elapsed() < Duration::from_secs(5) {
        n += 1;
        let sent_at = stopped.elapsed();
        let req = request(
            "MESSAGE",
            "sip:bob@example.test",
            probe.addr(),
            &format!("z9hG4bKrecover{n}"),
            &[("Content-Type", "text/plain")],
            b"are you back?",
        );
        probe.send(&req, gw.addr());
        match probe.recv_status(Duration::from_millis(HOLD_MS + 1500)) {
            Some(200) => {
                recovered = Some(sent_at);
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }

    let c = uac.counts();
    let s = uac.stats();
    let (ok, shed) = (count(&c, "_200_Recv"), count(&c, "_503_Recv"));
    let sent = count(&c, "_MESSAGE_Sent");
    let m = gw.metrics();
    let shed_metric = m.get("shed_total{stage=\"headers\"}").copied().unwrap_or(0)
        + m.get("shed_total{stage=\"relay_table\"}")
            .copied()
            .unwrap_or(0)
        + m.get("shed_total{stage=\"stateless\"}")
            .copied()
            .unwrap_or(0);
    let shed_headers = m.get("shed_total{stage=\"headers\"}").copied().unwrap_or(0);
    let failed = s.get("FailedCall(C)").copied().unwrap_or(0);
    let rss_end = gw.rss_kib().unwrap_or(0);
    eprintln!(
        "overload: bound {BOUND}, hold {HOLD_MS} ms -> capacity {CAPACITY}/s; offered {OFFERED}/s for {SECS} s ({CALLS} MESSAGEs, sipp ran {load_secs:.1} s); \
         served {ok} (= {:.1}/s), shed {shed} (gateway counted {shed_metric}, {shed_headers} of them from the headers alone), failed calls {failed}; \
         RSS start {rss_start} KiB, peak {rss_peak} KiB, end {rss_end} KiB (bound {RSS_BOUND_KIB} KiB); recovered after {recovered:?}",
        ok as f64 / load_secs
    );
    assert!(
        status.success() || failed * 1000 <= CALLS,
        "sipp: {status}, stats {s:?}\nerrors:\n{}",
        uac.errors_log()
    );
    assert_eq!(sent, CALLS, "sipp offered every call: {c:?}");
    // Every request got a final response: 200, or 503 shed (a tiny
    // tolerance for a datagram lost on loopback).
    assert!(
        CALLS - (ok + shed) <= CALLS / 1000,
        "{} requests unanswered",
        CALLS - (ok + shed)
    );
    assert!(ok > 0 && shed > 0, "both served and shed: {c:?}");
    assert_eq!(shed, shed_metric, "every 503 is a counted shed");
    assert!(
        rss_peak < RSS_BOUND_KIB,
        "RSS peak {rss_peak} KiB over the bound {RSS_BOUND_KIB} KiB"
    );
    let after = recovered.unwrap_or_else(|| {
        panic!(
            "no MESSAGE served within 5 s of the load stopping; log tail:\n{}",
            tail(&gw.log())
        )
    });
    assert!(after < Duration::from_secs(5));
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

//! The admin endpoint against real traffic: sipp MESSAGEs through the
//! gateway move `cpim_gateway_operations_total` and the per-leg duration
//! histograms by exactly the number of messages, per binding, direction,
//! outcome and native code; `/readyz` follows the XMPP link to a real
//! Prosody (down when it is killed, back when it restarts).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::prosody::Prosody;
use crate::common::*;

/// One HTTP GET on the admin port: (status, head, body).
pub fn http_get(port: u16, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("admin connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, head.to_string(), body.to_string())
}

/// A sample's name and labels (sorted, so label order does not matter).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// `name` with `labels`.
pub fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    Series {
        name: name.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Parses an OpenMetrics/Prometheus text exposition into samples.
pub fn parse_exposition(text: &str) -> HashMap<Series, f64> {
    let mut out = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = match line.find('{') {
            Some(open) => {
                let close = line.rfind('}').expect("closing brace");
                let labels = parse_labels(&line[open + 1..close]);
                let name = line[..open].to_string();
                (Series { name, labels }, line[close + 1..].trim())
            }
            None => {
                let (name, v) = line.split_once(' ').expect("name value");
                (series(name, &[]), v.trim())
            }
        };
        let value = value.split_whitespace().next().unwrap_or(value);
        let v: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        out.insert(series, v);
    }
    out
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').trim().to_string(), value);
        rest = &after[end..];
    }
    out
}

/// Scrapes `/metrics`.
pub fn scrape(gw: &Gateway) -> HashMap<Series, f64> {
    let (status, head, body) = http_get(gw.admin_port, "/metrics");
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("application/openmetrics-text"),
        "OpenMetrics media type: {head}"
    );
    assert!(body.ends_with("# EOF\n"), "complete exposition");
    parse_exposition(&body)
}

/// How much each series moved between two scrapes (absent counts as 0).
fn delta(before: &HashMap<Series, f64>, after: &HashMap<Series, f64>, s: &Series) -> f64 {
    after.get(s).copied().unwrap_or(0.0) - before.get(s).copied().unwrap_or(0.0)
}

fn op(direction: &str, binding: &str, outcome: &str, code: &str) -> Series {
    series(
        "cpim_gateway_operations_total",
        &[
            ("binding", binding),
            ("direction", direction),
            ("kind", "message"),
            ("outcome", outcome),
            ("code", code),
        ],
    )
}

fn leg(suffix: &str, binding: &str, direction: &str, le: Option<&str>) -> Series {
    let name = format!("cpim_gateway_operation_duration_seconds_{suffix}");
    let mut labels = vec![
        ("binding", binding),
        ("direction", direction),
        ("kind", "message"),
    ];
    if let Some(le) = le {
        labels.push(("le", le));
    }
    series(&name, &labels)
}

/// Runs `calls` MESSAGEs from a sipp UAC (`uac`) through the gateway to
/// `bob@{domain}`, answered by a sipp UAS (`uas`) on `uas_port`.
fn sipp_run(
    gw: &Gateway,
    dir: &std::path::Path,
    uas: &str,
    uac: &str,
    domain: &str,
    uas_port: u16,
    calls: usize,
) {
    let mut uas = Sipp::start(
        dir,
        uas,
        &[
            "-p".into(),
            uas_port.to_string(),
            "-m".into(),
            calls.to_string(),
            "-timeout".into(),
            "30s".into(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut uac = Sipp::start(
        dir,
        uac,
        &[
            uac_args(gw.addr(), domain, calls, 30),
            vec!["-r".into(), "20".into()],
        ]
        .concat(),
    );
    let st = uac.wait(Duration::from_secs(40));
    assert!(
        st.success(),
        "sipp {}: {st}\n{}\ngateway log:\n{}",
        uac.name,
        uac.errors_log(),
        gw.log()
    );
    assert!(
        uas.wait(Duration::from_secs(40)).success(),
        "{}",
        uas.errors_log()
    );
}

#[test]
fn sipp_traffic_moves_operations_and_leg_histograms_by_exact_amounts() {
    const OK: usize = 5;
    const BUSY: usize = 3;
    const NO_ROUTE: usize = 2;
    let dir = scratch_dir("metrics-ops");
    let ok_port = free_port();
    let busy_port = free_port();
    let gw = Gateway::start(
        "metrics-ops",
        "",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{ok_port}\"\n\n\
             [[route]]\ndomain = \"busy.test\"\nvia = \"sip:127.0.0.1:{busy_port}\"\n"
        ),
    );
    // No [xmpp]: ready as soon as the listeners are bound.
    assert_eq!(http_get(gw.admin_port, "/healthz").0, 200);
    assert_eq!(http_get(gw.admin_port, "/readyz").0, 200);
    let before = scrape(&gw);

    sipp_run(
        &gw,
        &dir,
        "uas_message",
        "uac_message",
        "example.test",
        ok_port,
        OK,
    );
    sipp_run(
        &gw,
        &dir,
        "uas_message_486",
        "uac_message_486",
        "busy.test",
        busy_port,
        BUSY,
    );
    let uac = UdpPeer::bind();
    for i in 0..NO_ROUTE {
        let req = request(
            "MESSAGE",
            "sip:bob@nowhere.test",
            uac.addr(),
            &format!("z9hG4bKnoroute{i}"),
            &[("Content-Type", "text/plain")],
            b"anyone?",
        );
        uac.send(&req, gw.addr());
        assert_eq!(uac.recv_status(Duration::from_secs(5)), Some(404));
    }

    // The snapshot is published after each batch: wait (bounded) for it.
    let relayed = series("cpim_gateway_messages_relayed_total", &[]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let none = series("cpim_gateway_route_decisions_total", &[("route", "none")]);
    let mut after = scrape(&gw);
    // (the last requests were the unroutable ones: wait for their decisions too)
    while (delta(&before, &after, &relayed) < (OK + BUSY) as f64
        || delta(&before, &after, &none) < NO_ROUTE as f64)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
        after = scrape(&gw);
    }
    let d = |s: Series| delta(&before, &after, &s);
    let (ok, busy, no_route) = (OK as f64, BUSY as f64, NO_ROUTE as f64);

    assert_eq!(d(op("inbound", "sip", "success", "200")), ok);
    assert_eq!(d(op("outbound", "sip", "success", "200")), ok);
    assert_eq!(d(op("inbound", "sip", "failure", "486")), busy);
    assert_eq!(d(op("outbound", "sip", "failure", "486")), busy);
    assert_eq!(d(op("inbound", "sip", "failure", "404")), no_route);
    assert_eq!(d(op("outbound", "sip", "failure", "404")), 0.0);
    // Nothing else was counted as an operation.
    let all_ops: f64 = after
        .iter()
        .filter(|(s, _)| s.name == "cpim_gateway_operations_total")
        .map(|(s, v)| v - before.get(s).copied().unwrap_or(0.0))
        .sum();
    assert_eq!(all_ops, 2.0 * (ok + busy) + no_route);

    // One observation per finished leg; every one within +Inf.
    assert_eq!(
        d(leg("count", "sip", "inbound", None)),
        ok + busy + no_route
    );
    assert_eq!(d(leg("count", "sip", "outbound", None)), ok + busy);
    assert_eq!(d(leg("bucket", "sip", "outbound", Some("+Inf"))), ok + busy);
    assert_eq!(d(leg("count", "xmpp", "outbound", None)), 0.0);
    // Loopback legs are fast: all of them inside the 1 s bucket.
    assert_eq!(d(leg("bucket", "sip", "outbound", Some("1.0"))), ok + busy);
    assert!(d(leg("sum", "sip", "inbound", None)) > 0.0);

    let route = |r: &str| series("cpim_gateway_route_decisions_total", &[("route", r)]);
    assert_eq!(d(route("static")), ok + busy);
    assert_eq!(d(route("none")), no_route);
    assert_eq!(d(relayed.clone()), ok + busy);
    assert_eq!(
        d(series("cpim_gateway_messages_success_total", &[])),
        ok,
        "the flat counters agree"
    );
    let link = |st: &str| series("cpim_gateway_xmpp_link_state", &[("state", st)]);
    assert_eq!(after.get(&link("not_configured")), Some(&1.0));
    assert_eq!(
        after.get(&series("cpim_gateway_pending_relays", &[])),
        Some(&0.0)
    );
}

fn xmpp_section(p: &Prosody) -> String {
    format!(
        "[xmpp]\nserver = \"127.0.0.1:{}\"\ncomponent = \"cpim.xmpp.test\"\nsecret = \"cpim-secret\"\n\
         domains = [\"xmpp.test\"]\nerror_window_ms = 500\n\
         ping_interval_s = 2\nping_timeout_s = 2\nbackoff_min_ms = 200\nbackoff_max_s = 1\n",
        p.component_port
    )
}

/// Polls `/readyz` (bounded) until its status is (or is not) 200.
fn wait_ready(gw: &Gateway, ready: bool, limit: Duration) -> (u16, String) {
    let end = Instant::now() + limit;
    loop {
        let (status, _, body) = http_get(gw.admin_port, "/readyz");
        if (status == 200) == ready || Instant::now() > end {
            return (status, body);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn readyz_follows_the_xmpp_link_to_a_real_prosody() {
    let dir = scratch_dir("metrics-readyz");
    let mut prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start("metrics-readyz", "", &xmpp_section(&prosody));
    let (status, body) = wait_ready(&gw, true, Duration::from_secs(10));
    assert_eq!(status, 200, "{body}\n{}", gw.log());
    assert_eq!(body, "ready\n");
    let m = scrape(&gw);
    let link = |st: &str| series("cpim_gateway_xmpp_link_state", &[("state", st)]);
    assert_eq!(m.get(&link("online")), Some(&1.0));
    assert_eq!(
        m.get(&series("cpim_gateway_xmpp_link_configured", &[])),
        Some(&1.0)
    );

    // A MESSAGE to a user Prosody does not have: the XMPP leg fails with
    // the server's condition, the SIP leg with the mapped status.
    let before = scrape(&gw);
    let uac = UdpPeer::bind();
    let req = request(
        "MESSAGE",
        "sip:nobody@xmpp.test",
        uac.addr(),
        "z9hG4bKmetricsx1",
        &[("Content-Type", "text/plain")],
        b"anyone?",
    );
    uac.send(&req, gw.addr());
    let code = uac.recv_status(Duration::from_secs(5)).expect("an answer");
    assert!((400..500).contains(&code), "{code}");
    std::thread::sleep(Duration::from_millis(200));
    let after = scrape(&gw);
    let moved = |name: &str, want: &[(&str, &str)]| -> f64 {
        after
            .iter()
            .filter(|(s, _)| {
                s.name == name
                    && want
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(s, v)| v - before.get(s).copied().unwrap_or(0.0))
            .sum()
    };
    let ops = "cpim_gateway_operations_total";
    let xmpp_out = [
        ("binding", "xmpp"),
        ("direction", "outbound"),
        ("outcome", "failure"),
    ];
    assert_eq!(moved(ops, &xmpp_out), 1.0, "one failed XMPP leg");
    assert_eq!(
        delta(
            &before,
            &after,
            &op("inbound", "sip", "failure", &code.to_string())
        ),
        1.0
    );
    let route = series("cpim_gateway_route_decisions_total", &[("route", "xmpp")]);
    assert_eq!(delta(&before, &after, &route), 1.0);
    let count = leg("count", "xmpp", "outbound", None);
    assert_eq!(delta(&before, &after, &count), 1.0);

    prosody.kill();
    let (status, body) = wait_ready(&gw, false, Duration::from_secs(10));
    assert_eq!(status, 503, "not ready once Prosody is gone: {body}");
    assert!(body.contains("xmpp link"), "{body}");
    assert_eq!(http_get(gw.admin_port, "/healthz").0, 200, "still alive");

    prosody.restart();
    let (status, body) = wait_ready(&gw, true, Duration::from_secs(15));
    assert_eq!(status, 200, "ready again: {body}\n{}", gw.log());
    let m = scrape(&gw);
    let reconnects = series("cpim_gateway_xmpp_reconnects_total", &[]);
    assert!(m.get(&reconnects).copied().unwrap_or(0.0) >= 1.0);
    let disconnects = series("cpim_gateway_xmpp_disconnects_total", &[]);
    assert!(m.get(&disconnects).copied().unwrap_or(0.0) >= 1.0);
}

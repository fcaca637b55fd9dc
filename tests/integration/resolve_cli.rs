//! `cpim-gateway resolve <uri>` against a real dnsmasq on loopback: the
//! operator sees the records, their RFC 2782 order, the chosen binding and
//! the failover plan, in the gateway's routing order (static route, local
//! domain, DNS, default route). These tests also cover the hickory adapter
//! (`src/io/dns.rs`) end to end: NXDOMAIN and NODATA told apart, and a
//! silent nameserver giving a bounded timeout instead of a hang.
//!
//! Exit codes: 0 whenever a report is printed, including "not found" and
//! DNS failures (the report says what the gateway would answer); 64 for a
//! config or usage error, a bad URI included; 1 for a runtime failure.

use std::io::Read as _;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::dnsmasq::Dnsmasq;
use crate::common::*;

/// The zone every test here serves.
const RECORDS: &str = "\
srv-host=_im._sip.example.test,uas.example.test,5090,10,10
srv-host=_im._sip.example.test,uas2.example.test,5091,20,10
host-record=uas.example.test,127.0.0.1
host-record=uas2.example.test,127.0.0.1
srv-host=_im._xmpp.xonly.test,xmpp.xonly.test,5269,0,5
host-record=xmpp.xonly.test,127.0.0.1
";

/// Writes a config whose `[dns]` points at `ns` (500 ms, one attempt),
/// with `gateway` lines added to `[gateway]` and `extra` at the end.
fn config_with(dir: &Path, ns: std::net::SocketAddr, gateway: &str, extra: &str) -> PathBuf {
    let p = dir.join("gateway.toml");
    let cfg = format!(
        "[gateway]\ndomains = [\"gw.test\"]\nrng_seed = 1\n{gateway}\n\
         [dns]\nnameservers = [\"{ns}\"]\ntimeout_ms = 500\nattempts = 1\n\n{extra}\n"
    );
    std::fs::write(&p, cfg).expect("write config");
    p
}

fn write_config(dir: &Path, ns: std::net::SocketAddr, extra: &str) -> PathBuf {
    config_with(dir, ns, "", extra)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `cpim-gateway resolve <uri> --config <cfg>`, killed after 10 s.
fn resolve(cfg: &Path, uri: &str) -> Run {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cpim-gateway"))
        .args(["resolve", uri, "--config"])
        .arg(cfg)
        .env_remove("CPIM_GATEWAY_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cpim-gateway resolve");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(
        status.is_some(),
        "resolve {uri} hung for 10 s:\n{stdout}{stderr}"
    );
    Run {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
        took,
    }
}

/// Index of `needle` in `hay`, failing with the whole output.
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("output lacks {needle:?}:\n{hay}"))
}

#[test]
fn resolve_im_prints_records_order_binding_and_plan() {
    let dir = scratch_dir("resolve-im");
    let dns = Dnsmasq::start(&dir, RECORDS);
    let cfg = write_config(&dir, dns.addr(), "");
    let r = resolve(&cfg, "im:bob@example.test");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    // The label queried and the records it returned.
    at(out, "SRV _im._sip.example.test. [dns]");
    at(
        out,
        "_im._sip.example.test. 0 IN SRV 10 10 5090 uas.example.test.",
    );
    at(
        out,
        "_im._sip.example.test. 0 IN SRV 20 10 5091 uas2.example.test.",
    );
    // RFC 2782 order: priority 10 before 20.
    at(
        out,
        "srv order _im._sip.example.test.: 1) 10 10 uas.example.test.:5090 2) 20 10 uas2.example.test.:5091",
    );
    at(out, "selected binding sip");
    // The plan, in order, and what the gateway tries first.
    let first = at(out, "1. sip UDP uas.example.test. 127.0.0.1:5090");
    let second = at(out, "2. sip UDP uas2.example.test. 127.0.0.1:5091");
    assert!(first < second, "{out}");
    at(out, "result: binding sip; first candidate 127.0.0.1:5090");
    // The less preferred label was still asked and is shown.
    at(out, "SRV _im._xmpp.example.test. [dns]: NXDOMAIN");
    assert!(
        dns.log().contains("_im._sip.example.test"),
        "dnsmasq saw the query:\n{}",
        dns.log()
    );
}

#[test]
fn resolve_im_served_only_by_xmpp_names_the_xmpp_binding() {
    let dir = scratch_dir("resolve-xmpp");
    let dns = Dnsmasq::start(&dir, RECORDS);
    let cfg = write_config(&dir, dns.addr(), "");
    let r = resolve(&cfg, "im:bob@xonly.test");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    at(out, "SRV _im._sip.xonly.test. [dns]: NXDOMAIN");
    at(
        out,
        "_im._xmpp.xonly.test. 0 IN SRV 0 5 5269 xmpp.xonly.test.",
    );
    at(out, "selected binding xmpp (srv _im._xmpp.xonly.test.)");
    at(out, "1. xmpp xmpp.xonly.test. 127.0.0.1:5269");
    at(out, "result: binding xmpp");
}

#[test]
fn resolve_nxdomain_says_not_found() {
    let dir = scratch_dir("resolve-nx");
    let dns = Dnsmasq::start(&dir, RECORDS);
    let cfg = write_config(&dir, dns.addr(), "");
    let r = resolve(&cfg, "sip:bob@nxdomain-nothing.test");
    // A report was printed: exit 0 even though nothing was found.
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    at(out, "NAPTR nxdomain-nothing.test. [dns]: NXDOMAIN");
    at(out, "domain nxdomain-nothing.test. does not exist");
    at(
        out,
        "result: not found; no default route, the gateway answers SIP 404",
    );

    // With a default route, that is what the gateway would use.
    let cfg = config_with(
        &dir,
        dns.addr(),
        "default_route = \"sip:127.0.0.1:5099\"",
        "",
    );
    let r = resolve(&cfg, "sip:bob@nxdomain-nothing.test");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    at(&r.stdout, "default route would be used");
    at(&r.stdout, "127.0.0.1:5099");
}

#[test]
fn dns_client_tells_nodata_from_nxdomain() {
    // dnsmasq answers NOERROR/NODATA for a name that has other types (and
    // for example.test, an empty non-terminal), NXDOMAIN for a name with
    // nothing at or below it.
    let dir = scratch_dir("resolve-nodata");
    let dns = Dnsmasq::start(&dir, RECORDS);
    let cfg = write_config(&dir, dns.addr(), "");
    let r = resolve(&cfg, "sip:bob@example.test");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    at(out, "NAPTR example.test. [dns]: no data");
    at(out, "SRV _sip._udp.example.test. [dns]: NXDOMAIN");
    at(out, "AAAA example.test. [dns]: no data");
    at(out, "no dns records route to example.test.");
    // Address records of an SRV target: A present, AAAA absent (NODATA).
    let r = resolve(&cfg, "sip:bob@uas.example.test:5090");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    at(&r.stdout, "uas.example.test. 0 IN A 127.0.0.1");
    at(&r.stdout, "AAAA uas.example.test. [dns]: no data");
    at(&r.stdout, "1. sip UDP uas.example.test. 127.0.0.1:5090");
}

#[test]
fn dns_client_silent_nameserver_times_out_within_the_bound() {
    // A UDP socket that never answers, and nothing on its TCP port.
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind silent ns");
    let dir = scratch_dir("resolve-timeout");
    let cfg = write_config(&dir, silent.local_addr().unwrap(), "");
    let r = resolve(&cfg, "im:bob@example.test");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    at(&r.stdout, "SRV _im._sip.example.test. [dns]: timeout");
    at(&r.stdout, "the gateway answers SIP 408");
    // 500 ms × 1 attempt (+ margin), both labels in parallel; far below a
    // hang, with room for a slow CI process start.
    assert!(
        r.took < Duration::from_secs(4),
        "took {:?}:\n{}",
        r.took,
        r.stdout
    );
}

#[test]
fn resolve_static_route_wins_over_dns() {
    let dir = scratch_dir("resolve-static");
    let dns = Dnsmasq::start(&dir, RECORDS);
    let cfg = write_config(
        &dir,
        dns.addr(),
        "[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:5070;transport=tcp\"\n",
    );
    let r = resolve(&cfg, "im:bob@example.test");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    at(
        &r.stdout,
        "static route: [[route]] domain = \"example.test\"",
    );
    at(&r.stdout, "127.0.0.1:5070");
    at(&r.stdout, "the static route wins");
    assert!(!r.stdout.contains("dns discovery ("), "{}", r.stdout);
    assert!(
        !dns.log().contains("_im._sip.example.test"),
        "no dns query was made:\n{}",
        dns.log()
    );
    // A local domain is not looked up either.
    let r = resolve(&cfg, "sip:alice@gw.test");
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    at(
        &r.stdout,
        "local domain: matches [gateway] domains \"gw.test\"",
    );
}

#[test]
fn resolve_bad_uri_is_a_usage_error() {
    let dir = scratch_dir("resolve-bad");
    // Never contacted: the URI is refused first.
    let cfg = write_config(&dir, "127.0.0.1:9".parse().unwrap(), "");
    for uri in ["not-a-uri", "mailto:bob@example.test", "im:bob"] {
        let r = resolve(&cfg, uri);
        assert_eq!(r.code, Some(64), "{uri}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("bad uri"), "{uri}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{uri}: {}", r.stdout);
    }
    // A broken config file is a usage error too.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[dns]\ntimeout_ms = 0\n").unwrap();
    let r = resolve(&bad, "im:bob@example.test");
    assert_eq!(r.code, Some(64), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("dns.timeout_ms"), "{}", r.stderr);
}

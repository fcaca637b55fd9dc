//! Test harness: starts the real gateway binary and real peers (sipp,
//! openssl, dnsmasq, Prosody, Kamailio) on 127.0.0.1 ports it picks, with
//! bounded runtimes, and stops them on drop. Nothing here mocks the
//! gateway; raw UDP sockets are used only where a test needs byte-exact
//! control of what a peer sends or receives.

#![allow(dead_code)]

pub mod dnsmasq;
pub mod kamailio;
pub mod prosody;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Tests that need 127.0.0.1:5060 itself (the embedded default config, the
/// RFC 3263 default port) take this lock so they never overlap.
pub static PORT_5060: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`PORT_5060`], surviving a poisoned lock from a failed test.
pub fn lock_5060() -> std::sync::MutexGuard<'static, ()> {
    PORT_5060.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where the repo's sipp scenarios live.
pub fn sipp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp")
}

/// A fresh scratch directory under target/.
pub fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/it")
        .join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// A port that is free for both UDP and TCP on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port found");
}

/// Fails the test with a clear message when a peer tool is missing.
pub fn require(tool: &str) {
    let ok = Command::new(tool)
        .arg(if tool == "sipp" { "-v" } else { "version" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok,
        "{tool} is not installed: run scripts/install-peers.sh (the README's test command does)"
    );
}

/// The gateway under test, running as a child process.
pub struct Gateway {
    child: Child,
    pub sip_port: u16,
    pub admin_port: u16,
    pub dir: PathBuf,
}

impl Gateway {
    /// Starts the gateway with a config made of the standard test header
    /// (loopback listeners on a free port, admin port, fixed seed, and one
    /// peer: 127.0.0.1 may assert `sip.test`) and
    /// `extra` TOML (routes, peers, policy, sip timers).
    pub fn start(name: &str, sip_extra: &str, extra: &str) -> Gateway {
        Self::launch(
            name,
            &[],
            &["gw.test"],
            ("loopback-sip-test", &["sip.test"]),
            sip_extra,
            extra,
        )
    }

    /// [`Gateway::start`] with more listeners after the UDP and TCP ones
    /// (for example `"tls://127.0.0.1:PORT"`), so `sip_extra` can stay
    /// free of a second `listen` key.
    pub fn start_with_listeners(
        name: &str,
        more_listen: &[String],
        sip_extra: &str,
        extra: &str,
    ) -> Gateway {
        let more: Vec<&str> = more_listen.iter().map(String::as_str).collect();
        Self::launch(
            name,
            &more,
            &["gw.test"],
            ("loopback-sip-test", &["sip.test"]),
            sip_extra,
            extra,
        )
    }

    /// Like [`Gateway::start`], but with the given local `domains` and a
    /// loopback peer that may assert `peer_domains` (`["*"]` for any), so a
    /// test can address the gateway with foreign Request-URIs and From
    /// domains (the RFC 4475 vectors use example.com/.net/.org). DNS is off.
    pub fn start_with_domains(
        name: &str,
        domains: &[&str],
        peer_domains: &[&str],
        sip_extra: &str,
        extra: &str,
    ) -> Gateway {
        Self::launch(
            name,
            &[],
            domains,
            ("loopback", peer_domains),
            sip_extra,
            extra,
        )
    }

    /// Writes the config (UDP and TCP listeners on one free port plus
    /// `more_listen`, the admin port, fixed seed, the local `domains`, one
    /// loopback peer, `extra`) and starts the binary; waits until it
    /// answers OPTIONS.
    fn launch(
        name: &str,
        more_listen: &[&str],
        domains: &[&str],
        (peer, peer_domains): (&str, &[&str]),
        sip_extra: &str,
        extra: &str,
    ) -> Gateway {
        let dir = scratch_dir(name);
        let sip_port = free_port();
        let admin_port = free_port();
        let quoted = |v: &[&str]| {
            v.iter()
                .map(|d| format!("\"{d}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut listen = vec![
            format!("udp://127.0.0.1:{sip_port}"),
            format!("tcp://127.0.0.1:{sip_port}"),
        ];
        listen.extend(more_listen.iter().map(|l| l.to_string()));
        let listen: Vec<&str> = listen.iter().map(String::as_str).collect();
        let config = format!(
            "[sip]\nlisten = [{}]\n{sip_extra}\n\
             [gateway]\ndomains = [{}]\nstate_dir = \"{}\"\nnode_id = \"it-node\"\nrng_seed = 1\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\n\
             [[peer]]\nname = \"{peer}\"\naddresses = [\"127.0.0.1\"]\ndomains = [{}]\n\n{extra}\n",
            quoted(&listen),
            quoted(domains),
            dir.join("state").display(),
            quoted(peer_domains),
        );
        // DNS stays off unless the test brings its own dnsmasq, so no query
        // ever leaves loopback.
        let config = if extra.contains("[dns]") {
            config
        } else {
            format!("{config}\n[dns]\nenabled = false\n")
        };
        std::fs::write(dir.join("gateway.toml"), config).expect("write config");
        let child = Self::spawn(&dir, "gateway.log");
        let gw = Gateway {
            child,
            sip_port,
            admin_port,
            dir,
        };
        gw.wait_ready();
        gw
    }

    fn spawn(dir: &Path, log_name: &str) -> Child {
        let log = std::fs::File::create(dir.join(log_name)).expect("log file");
        Command::new(env!("CARGO_BIN_EXE_cpim-gateway"))
            .args(["run", "--config"])
            .arg(dir.join("gateway.toml"))
            .env("RUST_LOG", "cpim_gateway=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn gateway")
    }

    /// Kills the process with SIGKILL (no drain, no goodbye) and starts it
    /// again with the same config, ports and state dir. The new process
    /// logs to `gateway.log` again (the old log moves to `gateway-1.log`).
    pub fn kill9_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::rename(self.dir.join("gateway.log"), self.dir.join("gateway-1.log"));
        self.child = Self::spawn(&self.dir, "gateway.log");
        self.wait_ready();
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.sip_port))
    }

    /// Waits until the gateway answers OPTIONS over UDP (10 s bound).
    fn wait_ready(&self) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut n = 0;
        while Instant::now() < deadline {
            n += 1;
            let req = request(
                "OPTIONS",
                "sip:ping@gw.test",
                sock.local_addr().unwrap(),
                &format!("z9hG4bKready{n}"),
                &[],
                b"",
            );
            let _ = sock.send_to(&req, self.addr());
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = sock.recv_from(&mut buf)
                && buf[..len].starts_with(b"SIP/2.0 200")
            {
                return;
            }
        }
        panic!("gateway did not become ready; log:\n{}", self.log());
    }

    /// The gateway's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gateway.log")).unwrap_or_default()
    }

    /// Scrapes the admin endpoint's counters.
    pub fn metrics(&self) -> HashMap<String, u64> {
        let mut s = TcpStream::connect(("127.0.0.1", self.admin_port)).expect("admin connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((
                    k.trim_start_matches("cpim_gateway_").to_string(),
                    v.trim().parse().ok()?,
                ))
            })
            .collect()
    }

    /// Waits (bounded) until a counter reaches `want`; returns its value.
    pub fn wait_metric(&self, name: &str, want: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let v = self.metrics().get(name).copied().unwrap_or(0);
            if v >= want || Instant::now() > deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The gateway's resident set size in KiB (`VmRSS` in
    /// `/proc/<pid>/status`); `None` once the process is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The config file the gateway was started with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("gateway.toml")
    }

    /// Sends a signal (`"HUP"`, `"TERM"`) to the gateway process.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -s {sig} failed");
    }

    /// Waits (bounded) for the process to exit; `None` if it did not.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sipp process with a bounded runtime.
pub struct Sipp {
    child: Child,
    pub dir: PathBuf,
    pub name: String,
}

impl Sipp {
    /// Starts `sipp -sf tests/sipp/<scenario>.xml` with `args`, in `dir`
    /// (its logs land there). Always binds 127.0.0.1.
    pub fn start(dir: &Path, scenario: &str, args: &[String]) -> Sipp {
        require("sipp");
        let mut cmd = Command::new("sipp");
        cmd.current_dir(dir)
            .arg("-sf")
            .arg(sipp_dir().join(format!("{scenario}.xml")))
            .args(["-i", "127.0.0.1", "-nostdin", "-trace_err", "-trace_msg"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn sipp");
        Sipp {
            child,
            dir: dir.to_path_buf(),
            name: scenario.to_string(),
        }
    }

    /// [`Sipp::start`] bound to `ip` (another loopback address such as
    /// 127.0.0.2, so the gateway sees a second peer), with `-trace_counts`
    /// and `-trace_stat` and, when `trace_msg` is false, without the
    /// per-message log (long load runs).
    pub fn start_from(
        dir: &Path,
        scenario: &str,
        ip: &str,
        args: &[String],
        trace_msg: bool,
    ) -> Sipp {
        require("sipp");
        let mut cmd = Command::new("sipp");
        cmd.current_dir(dir)
            .arg("-sf")
            .arg(sipp_dir().join(format!("{scenario}.xml")))
            .args([
                "-i",
                ip,
                "-nostdin",
                "-trace_err",
                "-trace_counts",
                "-trace_stat",
            ])
            .args(if trace_msg {
                &["-trace_msg"][..]
            } else {
                &[][..]
            })
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn sipp");
        Sipp {
            child,
            dir: dir.to_path_buf(),
            name: scenario.to_string(),
        }
    }

    /// The last row of sipp's `-trace_counts` CSV as (column → value).
    pub fn counts(&self) -> HashMap<String, u64> {
        last_csv_row(&read_glob(
            &self.dir,
            &format!("{}_", self.name),
            "_counts.csv",
        ))
    }

    /// The last row of sipp's `-trace_stat` CSV as (column → value; only
    /// the numeric cumulative columns).
    pub fn stats(&self) -> HashMap<String, u64> {
        let all = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| {
                        n.starts_with(&format!("{}_", self.name))
                            && n.ends_with(".csv")
                            && !n.ends_with("_counts.csv")
                            && !n.ends_with("_rtt.csv")
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let mut text = String::new();
        for n in all {
            text.push_str(&std::fs::read_to_string(self.dir.join(n)).unwrap_or_default());
        }
        last_csv_row(&text)
    }

    /// The exit status if sipp has exited, without waiting.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for exit (bounded by `limit`; killed past it).
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("wait sipp");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The contents of sipp's `*_messages.log` in its directory.
    pub fn messages_log(&self) -> String {
        read_glob(&self.dir, &format!("{}_", self.name), "_messages.log")
    }

    /// The contents of sipp's `*_errors.log`.
    pub fn errors_log(&self) -> String {
        read_glob(&self.dir, &format!("{}_", self.name), "_errors.log")
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The header row and the last row of a `;`-separated sipp CSV, zipped;
/// values that are not integers are left out.
fn last_csv_row(text: &str) -> HashMap<String, u64> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return HashMap::new();
    };
    let Some(last) = lines.rfind(|l| *l != header) else {
        return HashMap::new();
    };
    header
        .split(';')
        .zip(last.split(';'))
        .filter_map(|(k, v)| Some((k.trim().to_string(), v.trim().parse().ok()?)))
        .collect()
}

fn read_glob(dir: &Path, prefix: &str, suffix: &str) -> String {
    let mut out = String::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.starts_with(prefix) && n.ends_with(suffix) {
                out.push_str(&String::from_utf8_lossy(
                    &std::fs::read(e.path()).unwrap_or_default(),
                ));
            }
        }
    }
    out
}

/// sipp arguments for the `tests/sipp/uac_*.xml` scenarios: `count`
/// MESSAGEs from `alice@sip.test` to `bob@<to_domain>` sent to `target`
/// from a free local port, the whole run bounded by `timeout_s`. Extend the
/// vector for `-r`, `-t` and the like.
pub fn uac_args(
    target: SocketAddr,
    to_domain: &str,
    count: impl std::fmt::Display,
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
        "-timeout".into(),
        format!("{timeout_s}s"),
        "-key".into(),
        "to_domain".into(),
        to_domain.into(),
        "-key".into(),
        "from_domain".into(),
        "sip.test".into(),
        "-key".into(),
        "from_user".into(),
        "alice".into(),
    ]
    .to_vec()
}

/// The SIP messages in a sipp `-trace_msg` log that were received (or
/// sent), as raw text from the start line to the end of the body.
pub fn sipp_logged_messages(log: &str, received: bool) -> Vec<String> {
    let marker = if received {
        "message received"
    } else {
        "message sent"
    };
    let mut out = Vec::new();
    for block in log.split("----------------------------------------------- ") {
        let Some(pos) = block.find(marker) else {
            continue;
        };
        let rest = &block[pos..];
        let Some(nl) = rest.find('\n') else { continue };
        let msg = rest[nl + 1..].trim_start_matches(['\r', '\n']);
        out.push(msg.to_string());
    }
    out
}

/// The body of a SIP message (text after the first blank line).
pub fn body_of(msg: &str) -> &str {
    msg.split_once("\r\n\r\n")
        .or_else(|| msg.split_once("\n\n"))
        .map(|(_, b)| b)
        .unwrap_or("")
}

/// A header value of a SIP message (first occurrence, case-insensitive).
pub fn header_of<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    let head = msg.split("\r\n\r\n").next().unwrap_or(msg);
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Builds a raw request (CRLF, correct Content-Length).
pub fn request(
    method: &str,
    uri: &str,
    local: SocketAddr,
    branch: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut m = format!(
        "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         From: <sip:alice@sip.test>;tag=t{branch}\r\nTo: <{uri}>\r\nCall-ID: {branch}@test\r\nCSeq: 1 {method}\r\n"
    );
    let mut has_mf = false;
    for (n, v) in extra {
        if n.eq_ignore_ascii_case("Max-Forwards") {
            has_mf = true;
        }
        m.push_str(&format!("{n}: {v}\r\n"));
    }
    if !has_mf {
        m.push_str("Max-Forwards: 70\r\n");
    }
    m.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut v = m.into_bytes();
    v.extend_from_slice(body);
    v
}

/// A UDP socket on 127.0.0.1 acting as one side of a test.
pub struct UdpPeer {
    pub sock: UdpSocket,
}

impl UdpPeer {
    pub fn bind() -> UdpPeer {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        UdpPeer { sock }
    }

    pub fn bind_port(port: u16) -> UdpPeer {
        let sock = UdpSocket::bind(("127.0.0.1", port)).expect("bind");
        UdpPeer { sock }
    }

    pub fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    pub fn send(&self, bytes: &[u8], to: SocketAddr) {
        self.sock.send_to(bytes, to).expect("send");
    }

    /// The next datagram within `timeout`.
    pub fn recv(&self, timeout: Duration) -> Option<(Vec<u8>, SocketAddr)> {
        self.sock.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = vec![0u8; 65535];
        match self.sock.recv_from(&mut buf) {
            Ok((n, a)) => {
                buf.truncate(n);
                Some((buf, a))
            }
            Err(_) => None,
        }
    }

    /// Every datagram arriving within `window`.
    pub fn recv_all(&self, window: Duration) -> Vec<(Vec<u8>, SocketAddr)> {
        let end = Instant::now() + window;
        let mut out = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            match self.recv(left) {
                Some(d) => out.push(d),
                None => break,
            }
        }
        out
    }

    /// The next response (as text) within `timeout`, skipping requests.
    pub fn recv_response(&self, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            let (b, _) = self.recv(left)?;
            if b.starts_with(b"SIP/2.0 ") {
                return Some(String::from_utf8_lossy(&b).to_string());
            }
        }
        None
    }

    /// The next response's status code within `timeout`, skipping requests.
    pub fn recv_status(&self, timeout: Duration) -> Option<u16> {
        let end = Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            let (b, _) = self.recv(left)?;
            if b.starts_with(b"SIP/2.0 ") {
                return std::str::from_utf8(&b[8..11]).ok()?.parse().ok();
            }
        }
        None
    }
}

/// Splits a raw SIP message into head (text) and body (bytes).
pub fn split_message(raw: &[u8]) -> (String, Vec<u8>) {
    let pos = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("blank line");
    (
        String::from_utf8_lossy(&raw[..pos]).to_string(),
        raw[pos + 4..].to_vec(),
    )
}

/// The answer a UAS gives to a raw request: status, headers copied.
pub fn answer(raw_req: &[u8], status: &str) -> Vec<u8> {
    let (head, _) = split_message(raw_req);
    let mut out = format!("SIP/2.0 {status}\r\n");
    for l in head.lines().skip(1) {
        let name = l
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if ["via", "from", "call-id", "cseq"].contains(&name.as_str()) {
            out.push_str(l);
            out.push_str("\r\n");
        } else if name == "to" {
            out.push_str(l);
            out.push_str(";tag=uas1\r\n");
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}

//! A real dnsmasq as the DNS peer of routing tests: authoritative for the
//! records a test gives it, bound only to 127.0.0.1 on a free port (UDP and
//! TCP), never forwarding anywhere (`no-resolv`, `local=/test/`: unknown
//! names under `.test` are NXDOMAIN, anything else is refused), no caching,
//! TTL 0, and every query logged to a file in the test's scratch dir. The
//! process is killed on drop.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// How long dnsmasq gets to answer its first query.
const READY_WITHIN: Duration = Duration::from_secs(5);

/// A running dnsmasq.
pub struct Dnsmasq {
    /// The UDP and TCP port on 127.0.0.1.
    pub port: u16,
    child: Child,
    dir: PathBuf,
}

impl Dnsmasq {
    /// Starts dnsmasq in the foreground with the base config above plus the
    /// caller's `records` (dnsmasq config lines, e.g.
    /// `srv-host=_im._sip.example.test,uas.example.test,5090,10,10` and
    /// `host-record=uas.example.test,127.0.0.1`), and waits until it
    /// answers. Panics with its log if it does not within 5 s, and with a
    /// pointer to scripts/install-peers.sh if dnsmasq is not installed.
    pub fn start(dir: &Path, records: &str) -> Dnsmasq {
        let bin = dnsmasq_binary();
        let mut last_log = String::new();
        // A free port can be taken by someone else before dnsmasq binds it.
        for attempt in 0..3 {
            let port = free_port();
            let conf = dir.join(format!("dnsmasq-{attempt}.conf"));
            let log = dir.join("dnsmasq.log");
            std::fs::write(&conf, config(port, &log, records)).expect("write dnsmasq config");
            let stderr = std::fs::File::create(dir.join("dnsmasq.stderr")).expect("stderr file");
            let mut cmd = Command::new(&bin);
            cmd.arg("-k")
                .arg(format!("--conf-file={}", conf.display()))
                .arg("--pid-file=")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr);
            if running_as_root() {
                // Stay root so dnsmasq can keep writing its log in `dir`.
                cmd.arg("--user=root");
            }
            let child = cmd.spawn().expect("spawn dnsmasq");
            let mut d = Dnsmasq {
                port,
                child,
                dir: dir.to_path_buf(),
            };
            if d.wait_ready() {
                return d;
            }
            last_log = d.log();
            // Dropping `d` kills it before the next try.
        }
        panic!("dnsmasq did not start answering on 127.0.0.1; log:\n{last_log}");
    }

    /// Where it listens (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its stderr and query log so far.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("dnsmasq.stderr"), read("dnsmasq.log"))
    }

    /// Sends a probe query until any response comes back; `false` if the
    /// process exited or nothing answered in time.
    fn wait_ready(&mut self) -> bool {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind probe socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("probe timeout");
        let deadline = Instant::now() + READY_WITHIN;
        let mut id: u16 = 0x5a00;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            id = id.wrapping_add(1);
            let _ = sock.send_to(&probe_query(id, "ready.test"), self.addr());
            let mut buf = [0u8; 512];
            if let Ok((n, _)) = sock.recv_from(&mut buf)
                && n >= 2
                && buf[..2] == id.to_be_bytes()
            {
                return true;
            }
        }
        false
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The dnsmasq config: loopback only, authoritative-only, no cache.
fn config(port: u16, log: &Path, records: &str) -> String {
    format!(
        "port={port}\n\
         listen-address=127.0.0.1\n\
         bind-interfaces\n\
         no-resolv\n\
         no-hosts\n\
         no-poll\n\
         no-negcache\n\
         local=/test/\n\
         cache-size=0\n\
         local-ttl=0\n\
         log-queries\n\
         log-facility={}\n\
         {records}\n",
        log.display()
    )
}

/// A DNS query for `name` type A with RD set (RFC 1035 §4.1).
fn probe_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(32);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// The dnsmasq executable: on PATH, or in the sbin directories a non-root
/// PATH often lacks (Debian's dnsmasq-base installs /usr/sbin/dnsmasq).
fn dnsmasq_binary() -> PathBuf {
    let candidates = [
        PathBuf::from("dnsmasq"),
        PathBuf::from("/usr/sbin/dnsmasq"),
        PathBuf::from("/usr/local/sbin/dnsmasq"),
        PathBuf::from("/sbin/dnsmasq"),
    ];
    for c in candidates {
        let ok = Command::new(&c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return c;
        }
    }
    panic!(
        "dnsmasq is not installed: run scripts/install-peers.sh (Debian package dnsmasq-base; the README's test command does)"
    );
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

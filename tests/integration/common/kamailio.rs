//! A real Kamailio as the SIP SIMPLE presence server peer (domain
//! `sip.test`): presence + presence_xml with db_text tables in the test's
//! scratch dir, every watcher authorised (`force_active`), UDP and TCP on a
//! 127.0.0.1 port this harness picks. Config template:
//! `tests/peers/kamailio/presence.cfg.in`. Kamailio forks worker processes;
//! the whole process group is killed on drop and none survives.
//!
//! Also the sipp helpers that play a presentity (PUBLISH) and a watcher
//! (SUBSCRIBE, NOTIFYs) against any presence server, Kamailio or the
//! gateway: [`sipp_publish`], [`sipp_watcher`], [`notifies`].

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{Sipp, free_port, header_of, scratch_dir, sipp_logged_messages};

/// The SIP domain Kamailio serves.
pub const DOMAIN: &str = "sip.test";

const KAMAILIO: &str = "/usr/sbin/kamailio";
const MODULES: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";
const DBTEXT_TEMPLATES: &str = "/usr/share/kamailio/dbtext/kamailio";
/// The db_text tables the presence modules use (`version` lists them).
const TABLES: [&str; 5] = [
    "version",
    "presentity",
    "active_watchers",
    "watchers",
    "xcap",
];
/// How long Kamailio gets to answer its first OPTIONS.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// A running Kamailio (the main process and its forked children).
pub struct Kamailio {
    child: Child,
    port: u16,
    /// Its run dir: config, db_text tables, pid file, log.
    pub dir: PathBuf,
}

fn require_kamailio() {
    for (path, what) in [
        (KAMAILIO.to_string(), "kamailio"),
        (format!("{MODULES}/presence_xml.so"), "presence_xml.so"),
        (
            format!("{DBTEXT_TEMPLATES}/presentity"),
            "db_text templates",
        ),
    ] {
        assert!(
            Path::new(&path).exists(),
            "{what} is not installed ({path} missing): run scripts/install-peers.sh \
             (Debian packages kamailio kamailio-presence-modules)"
        );
    }
}

impl Kamailio {
    /// Starts the presence server in a fresh scratch dir, with no routes to
    /// other domains.
    pub fn start_presence() -> Kamailio {
        Kamailio::start_presence_in(&scratch_dir("kamailio"), &[])
    }

    /// Starts the presence server with its run dir under `dir/kamailio`.
    /// `routes` are static next hops for other domains, e.g.
    /// `("xmpp.test", gateway_addr)`: any request for `sip:...@xmpp.test` is
    /// relayed there (stateful `t_relay`, UDP). Each next hop must be on
    /// 127.0.0.1.
    ///
    /// Checks the config with `kamailio -c` first (panics with its output on
    /// failure), then runs `kamailio -DD -E` in its own process group and
    /// waits (15 s bound) until it answers OPTIONS over UDP. Panics with a
    /// pointer to scripts/install-peers.sh when Kamailio is not installed.
    pub fn start_presence_in(dir: &Path, routes: &[(&str, SocketAddr)]) -> Kamailio {
        require_kamailio();
        for (domain, hop) in routes {
            assert!(
                hop.ip().is_loopback()
                    && domain
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c)),
                "route {domain} -> {hop}: next hops must be on 127.0.0.1"
            );
        }
        let run = dir.join("kamailio");
        let mut last_log = String::new();
        // A free port can be taken by someone else before Kamailio binds it.
        for attempt in 0..3 {
            let _ = std::fs::remove_dir_all(&run);
            std::fs::create_dir_all(run.join("dbtext")).expect("kamailio run dir");
            // Fresh tables every start: db_text cannot even reload its own
            // presentity rows (NULL `sender` is refused at load time).
            for t in TABLES {
                std::fs::copy(
                    Path::new(DBTEXT_TEMPLATES).join(t),
                    run.join("dbtext").join(t),
                )
                .unwrap_or_else(|e| panic!("copy db_text table {t}: {e}"));
            }
            let port = free_port();
            let cfg = run.join("kamailio.cfg");
            std::fs::write(&cfg, config(&run, port, routes)).expect("write kamailio.cfg");
            check_config(&cfg);
            let log = std::fs::File::create(run.join("kamailio.log")).expect("kamailio log");
            let child = Command::new(KAMAILIO)
                .args(["-DD", "-E", "-f"])
                .arg(&cfg)
                .arg("-P")
                .arg(run.join("kamailio.pid"))
                .args(["-m", "64", "-M", "8"])
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("spawn kamailio");
            let mut k = Kamailio {
                child,
                port,
                dir: run.clone(),
            };
            if k.wait_ready() {
                return k;
            }
            last_log = k.log();
            eprintln!("kamailio attempt {attempt} on port {port} did not come up");
            // Dropping `k` kills its process group before the next try.
        }
        panic!("kamailio did not start answering on 127.0.0.1; log:\n{last_log}");
    }

    /// Its SIP address (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kamailio's log (stderr, `debug=2`; `KAMAILIO_DEBUG=3` for more).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }

    /// The process group id (= the main process id).
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// The live (non-zombie) processes of its process group, main first.
    pub fn pids(&self) -> Vec<u32> {
        live_group_members(self.pgid())
    }

    /// Sends OPTIONS until any response comes back; `false` if the process
    /// exited or nothing answered in time.
    fn wait_ready(&mut self) -> bool {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind probe socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("probe timeout");
        let local = sock.local_addr().expect("probe addr");
        let deadline = Instant::now() + READY_WITHIN;
        let mut n = 0;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            n += 1;
            let uri = format!("sip:127.0.0.1:{}", self.port);
            let req = super::request(
                "OPTIONS",
                &uri,
                local,
                &format!("z9hG4bKkready{n}"),
                &[],
                b"",
            );
            let _ = sock.send_to(&req, self.addr());
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = sock.recv_from(&mut buf)
                && buf[..len].starts_with(b"SIP/2.0 ")
            {
                return true;
            }
        }
        false
    }
}

impl Drop for Kamailio {
    /// SIGTERM to the whole group (Kamailio's main process also stops its
    /// children), up to 5 s for it to go, then SIGKILL to the group and to
    /// the pid-file process, so no worker survives the test.
    fn drop(&mut self) {
        let group = format!("-{}", self.pgid());
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !live_group_members(self.pgid()).is_empty() {
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("kamailio.pid"))
            && let Ok(pid) = pid.trim().parse::<u32>()
            && pid != self.child.id()
            && process_alive(pid)
        {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The config: the template with port, run dir, log level and routes.
fn config(run: &Path, port: u16, routes: &[(&str, SocketAddr)]) -> String {
    let template =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/kamailio/presence.cfg.in");
    let template = std::fs::read_to_string(&template).expect("read presence.cfg.in");
    let routes: String = routes
        .iter()
        .map(|(domain, hop)| {
            format!("if ($rd == \"{domain}\") {{ $du = \"sip:{hop}\"; route(RELAY); }}\n\t")
        })
        .collect();
    let debug = std::env::var("KAMAILIO_DEBUG").unwrap_or_else(|_| "2".into());
    template
        .replace("@PORT@", &port.to_string())
        .replace("@RUN@", &run.display().to_string())
        .replace("@DEBUG@", &debug)
        .replace("@ROUTES@", &routes)
}

/// `kamailio -c`: panics with the checker's output if the config is bad.
fn check_config(cfg: &Path) {
    let out = Command::new(KAMAILIO)
        .arg("-c")
        .arg("-f")
        .arg(cfg)
        .stdin(Stdio::null())
        .output()
        .expect("run kamailio -c");
    assert!(
        out.status.success(),
        "kamailio -c rejected {}:\n{}{}",
        cfg.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `/proc/<pid>/stat` fields after the command name: state, ppid, pgrp, ...
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// Whether `pid` exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z"))
}

/// The live (non-zombie) processes whose process group is `pgid`, sorted.
pub fn live_group_members(pgid: u32) -> Vec<u32> {
    let mut out: Vec<u32> = std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&pid| {
                    stat_fields(pid).is_some_and(|f| {
                        f.first().is_some_and(|s| s != "Z")
                            && f.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid)
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out
}

/// A fresh subdirectory of `dir` for one sipp run (sipp names its logs
/// after the scenario, so two runs of one scenario would mix otherwise).
fn run_dir(dir: &Path, what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = dir.join(format!("{what}-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&d).expect("sipp run dir");
    d
}

/// What one sipp PUBLISH run gave.
pub struct Published {
    /// The `SIP-ETag` of the 200 (RFC 3903 §4.1).
    pub etag: String,
    /// The whole 200 response.
    pub response: String,
    /// The sipp run (its dir holds the logs).
    pub sipp: Sipp,
}

/// Runs sipp as a presentity: one PUBLISH `Event: presence` for
/// `sip:<user>@<domain>` with a PIDF body (`<basic>` = `basic`, a tuple
/// `<note>` = `note`, Expires 60 s) to `target`, from a free local UDP port.
/// With `if_match` (an earlier SIP-ETag) it modifies that publication
/// (`SIP-If-Match`, tests/sipp/uac_publish_modify.xml), otherwise it creates
/// one (tests/sipp/uac_publish.xml). Bounded to 10 s. Panics with sipp's
/// logs unless the answer is 200 with a SIP-ETag.
pub fn sipp_publish(
    dir: &Path,
    target: SocketAddr,
    user: &str,
    domain: &str,
    basic: &str,
    note: &str,
    if_match: Option<&str>,
) -> Published {
    let scenario = if if_match.is_some() {
        "uac_publish_modify"
    } else {
        "uac_publish"
    };
    let mut args: Vec<String> = [
        target.to_string(),
        "-p".into(),
        free_port().to_string(),
        "-s".into(),
        user.into(),
        "-m".into(),
        "1".into(),
        "-timeout".into(),
        "10s".into(),
        "-key".into(),
        "to_domain".into(),
        domain.into(),
        "-key".into(),
        "expires".into(),
        "60".into(),
        "-key".into(),
        "basic".into(),
        basic.into(),
        "-key".into(),
        "note".into(),
        note.into(),
    ]
    .to_vec();
    if let Some(etag) = if_match {
        args.extend(["-key".into(), "etag".into(), etag.into()]);
    }
    let mut sipp = Sipp::start(&run_dir(dir, scenario), scenario, &args);
    let status = sipp.wait(Duration::from_secs(15));
    let log = sipp.messages_log();
    let response = sipp_logged_messages(&log, true)
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 200"));
    let etag = response
        .as_deref()
        .and_then(|r| header_of(r, "SIP-ETag"))
        .map(str::to_string);
    match (status.success(), response, etag) {
        (true, Some(response), Some(etag)) if !etag.is_empty() => Published {
            etag,
            response,
            sipp,
        },
        _ => panic!(
            "sipp {scenario} to {target} failed ({status}):\n{log}\n{}",
            sipp.errors_log()
        ),
    }
}

/// Starts sipp as a watcher in the background: SUBSCRIBE `Event: presence`
/// from `sip:watcher@sip.test` (Contact on a free local UDP port, Expires
/// 60 s) to `sip:<user>@<domain>` via `target`; it answers NOTIFYs with 200
/// until it has `notifies` of them (or none came for 10 s), then
/// un-SUBSCRIBEs and answers the final NOTIFY (tests/sipp/
/// uac_subscribe_watcher.xml). Bounded to 30 s. Read what it got with
/// [`notifies`]`(&watcher.messages_log())`.
pub fn sipp_watcher(
    dir: &Path,
    target: SocketAddr,
    user: &str,
    domain: &str,
    notifies: u32,
) -> Sipp {
    let args: Vec<String> = [
        target.to_string(),
        "-p".into(),
        free_port().to_string(),
        "-s".into(),
        user.into(),
        "-m".into(),
        "1".into(),
        "-timeout".into(),
        "30s".into(),
        "-key".into(),
        "to_domain".into(),
        domain.into(),
        "-key".into(),
        "from_user".into(),
        "watcher".into(),
        "-key".into(),
        "from_domain".into(),
        DOMAIN.into(),
        "-key".into(),
        "expires".into(),
        "60".into(),
        "-set".into(),
        "notifies".into(),
        notifies.to_string(),
    ]
    .to_vec();
    let scenario = "uac_subscribe_watcher";
    Sipp::start(&run_dir(dir, scenario), scenario, &args)
}

/// The NOTIFY requests in a sipp `-trace_msg` log, in arrival order
/// (retransmissions included as they came).
pub fn notifies(log: &str) -> Vec<String> {
    sipp_logged_messages(log, true)
        .into_iter()
        .filter(|m| m.starts_with("NOTIFY "))
        .collect()
}

/// Polls `sipp`'s message log until it holds at least `n` NOTIFYs (bounded
/// by `limit`); returns them.
pub fn wait_notifies(sipp: &Sipp, n: usize, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    loop {
        let got = notifies(&sipp.messages_log());
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

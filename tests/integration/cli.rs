//! The command line: `check-config` accepts every shipped config and
//! rejects bad ones with file, line and key (exit 64); `run` with no config
//! serves on loopback from the embedded defaults.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cpim-gateway"))
}

#[test]
fn check_config_accepts_every_shipped_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["deploy", "deploy/examples"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                let out = bin()
                    .args(["check-config", "--config"])
                    .arg(&p)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}: {}",
                    p.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                checked += 1;
            }
        }
    }
    let out = bin()
        .args(["check-config", "--config"])
        .arg(root.join("src/config/default.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(checked >= 1, "deploy/ holds example configs");
}

#[test]
fn unknown_key_is_rejected_with_file_line_and_key() {
    let dir = scratch_dir("cli-bad");
    let p = dir.join("bad.toml");
    std::fs::write(&p, "[sip]\nlisten = [\"udp://127.0.0.1:5070\"]\n\n[gateway]\ndomains = [\"gw.test\"]\nbogus_key = 1\n").unwrap();
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:6:", p.display())),
        "names file and line: {err}"
    );
    assert!(err.contains("bogus_key"), "names the key: {err}");
}

#[test]
fn invalid_value_is_rejected_with_line() {
    let dir = scratch_dir("cli-bad-via");
    let p = dir.join("bad.toml");
    std::fs::write(
        &p,
        "[[route]]\ndomain = \"example.test\"\nvia = \"sip:uas.example.test:5090\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":3:"), "line 3: {err}");
    assert!(err.contains("route.via"), "{err}");
}

#[test]
fn missing_file_is_a_config_error() {
    let out = bin()
        .args(["check-config", "--config", "/nonexistent/cpim.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cpim.toml"));
}

#[test]
fn run_without_config_serves_on_loopback_with_embedded_defaults() {
    // The embedded default listens on 127.0.0.1:5060 (udp+tcp) and admin 9464.
    let _guard = lock_5060();
    let mut child = bin()
        .arg("run")
        .env_remove("CPIM_GATEWAY_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let uac = UdpPeer::bind();
    let gw: std::net::SocketAddr = "127.0.0.1:5060".parse().unwrap();
    let mut status = None;
    for n in 0..50 {
        let req = request(
            "OPTIONS",
            "sip:ping@gw.test",
            uac.addr(),
            &format!("z9hG4bKdef{n}"),
            &[],
            b"",
        );
        uac.send(&req, gw);
        status = uac.recv_status(Duration::from_millis(200));
        if status.is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        status,
        Some(200),
        "embedded default config answers OPTIONS on 127.0.0.1:5060"
    );
}

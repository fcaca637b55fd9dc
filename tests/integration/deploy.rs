//! Everything under `deploy/` is checked: each TOML config passes the
//! binary's `check-config`; each YAML file (Kubernetes manifests, the
//! Prometheus scrape config and alert rules) and the Grafana dashboard
//! parse; the manifests fit together (labels, ports, probes, the embedded
//! config); every `cpim_gateway_*` name, with every label it is filtered
//! by, that an alert or a panel uses is exported by a running gateway's
//! `/metrics`; the systemd unit keeps its sandbox (and passes
//! `systemd-analyze verify` where systemd is installed) and the
//! Dockerfile stays multi-stage and non-root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use yaml_serde::Value;

use crate::common::*;
use crate::metrics::{parse_exposition, scrape};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn ext(p: &Path) -> &str {
    p.extension().and_then(|e| e.to_str()).unwrap_or("")
}

fn check_config(path: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_cpim-gateway"))
        .args(["check-config", "--config"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// All documents of a YAML file.
fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    yaml_serde::Deserializer::from_str(&text)
        .map(|d| {
            serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

fn yaml(path: &str) -> Value {
    let mut docs = yaml_docs(&deploy_dir().join(path));
    assert_eq!(docs.len(), 1, "{path}: one document");
    docs.remove(0)
}

fn json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(deploy_dir().join(path)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `v[a][b]…` as a string.
fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for k in path {
        cur = &cur[*k];
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string in {v:?}"))
}

#[test]
fn every_deploy_file_parses_and_every_config_passes_check_config() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for p in files(&deploy_dir()) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        match ext(&p) {
            "toml" => check_config(&p),
            "yml" | "yaml" => assert!(!yaml_docs(&p).is_empty(), "{}", p.display()),
            "json" => {
                let text = std::fs::read_to_string(&p).unwrap();
                serde_json::from_str::<serde_json::Value>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            "service" | "md" => {}
            _ if name == "Dockerfile" => {}
            other => panic!("{}: no check for .{other} files", p.display()),
        }
        let kind = if name == "Dockerfile" {
            name
        } else {
            ext(&p).to_string()
        };
        *seen.entry(kind).or_default() += 1;
    }
    assert!(seen.get("toml").copied().unwrap_or(0) >= 3, "{seen:?}");
    assert!(seen.get("yaml").copied().unwrap_or(0) >= 5, "{seen:?}");
    assert!(seen.get("yml").copied().unwrap_or(0) >= 2, "{seen:?}");
    assert_eq!(seen.get("json"), Some(&1), "{seen:?}");
}

#[test]
fn kubernetes_manifests_fit_together() {
    let cm = yaml("kubernetes/configmap.yaml");
    let dep = yaml("kubernetes/deployment.yaml");
    let svc = yaml("kubernetes/service.yaml");
    let pm = yaml("kubernetes/podmonitor.yaml");
    let kust = yaml("kubernetes/kustomization.yaml");
    assert_eq!(s(&cm, &["kind"]), "ConfigMap");
    assert_eq!(s(&dep, &["kind"]), "Deployment");
    assert_eq!(s(&svc, &["kind"]), "Service");
    assert_eq!(s(&pm, &["kind"]), "PodMonitor");
    assert_eq!(s(&pm, &["apiVersion"]), "monitoring.coreos.com/v1");

    // Kustomize lists exactly the manifests that exist.
    let listed: BTreeSet<&str> = kust["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for r in &listed {
        assert!(deploy_dir().join("kubernetes").join(r).exists(), "{r}");
    }
    assert_eq!(listed.len(), 4);

    // The embedded config passes check-config.
    let dir = scratch_dir("deploy-configmap");
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, s(&cm, &["data", "config.toml"])).unwrap();
    check_config(&cfg);

    // Selectors match the pod labels.
    let pod_labels = &dep["spec"]["template"]["metadata"]["labels"];
    let name = s(pod_labels, &["app.kubernetes.io/name"]);
    assert_eq!(
        s(
            &dep,
            &["spec", "selector", "matchLabels", "app.kubernetes.io/name"]
        ),
        name
    );
    assert_eq!(
        s(&svc, &["spec", "selector", "app.kubernetes.io/name"]),
        name
    );
    assert_eq!(
        s(
            &pm,
            &["spec", "selector", "matchLabels", "app.kubernetes.io/name"]
        ),
        name
    );

    // Ports: the Service and the PodMonitor name ports the container has,
    // and the probes hit the admin endpoint's routes.
    let container = &dep["spec"]["template"]["spec"]["containers"][0];
    let ports: BTreeMap<&str, (u64, &str)> = container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            (
                s(p, &["name"]),
                (p["containerPort"].as_u64().unwrap(), s(p, &["protocol"])),
            )
        })
        .collect();
    assert_eq!(ports.get("sip-udp"), Some(&(5060, "UDP")));
    assert_eq!(ports.get("sip-tcp"), Some(&(5060, "TCP")));
    assert_eq!(ports.get("metrics"), Some(&(9464, "TCP")));
    for p in svc["spec"]["ports"].as_sequence().unwrap() {
        let (_, proto) = ports[s(p, &["targetPort"])];
        assert_eq!(s(p, &["protocol"]), proto);
    }
    let endpoint = &pm["spec"]["podMetricsEndpoints"][0];
    assert!(ports.contains_key(s(endpoint, &["port"])));
    assert_eq!(s(endpoint, &["path"]), "/metrics");
    assert_eq!(
        s(container, &["readinessProbe", "httpGet", "path"]),
        "/readyz"
    );
    assert_eq!(
        s(container, &["livenessProbe", "httpGet", "path"]),
        "/healthz"
    );
    assert_eq!(
        s(container, &["readinessProbe", "httpGet", "port"]),
        "metrics"
    );
    // The config is mounted from the ConfigMap, where the args expect it.
    let args: Vec<&str> = container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, ["run", "--config", "/etc/cpim-gateway/config.toml"]);
    let volumes = dep["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["configMap"]["name"].as_str() == Some(s(&cm, &["metadata", "name"])))
    );
    assert_eq!(
        container["securityContext"]["readOnlyRootFilesystem"].as_bool(),
        Some(true)
    );
}

/// Every selector in a PromQL expression: (metric name, label names).
fn selectors(expr: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(pos) = rest.find("cpim_gateway_") {
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].to_string();
        let mut labels = BTreeSet::new();
        if let Some(inner) = tail[end..].strip_prefix('{') {
            let close = inner.find('}').expect("closing brace");
            for matcher in inner[..close].split(',') {
                let key: String = matcher
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !key.is_empty() {
                    labels.insert(key);
                }
            }
        }
        // `by (a, b)` right after an aggregation also names labels, but
        // those may be target labels (instance); only selectors are checked.
        out.push((name, labels));
        rest = &tail[end..];
    }
    out
}

/// Every string under a JSON value named `expr` or `query`/`definition`.
fn dashboard_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr" | "definition", serde_json::Value::String(e)) => out.push(e.clone()),
                    _ => dashboard_exprs(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| dashboard_exprs(x, out)),
        _ => {}
    }
}

#[test]
fn alerts_and_dashboard_use_only_exported_metrics_and_labels() {
    // A real scrape, after one refused MESSAGE so the operation family has
    // a sample (families without samples are not written).
    let gw = Gateway::start("deploy-names", "", "");
    let uac = UdpPeer::bind();
    let req = request(
        "MESSAGE",
        "sip:bob@nowhere.test",
        uac.addr(),
        "z9hG4bKdeploy1",
        &[("Content-Type", "text/plain")],
        b"x",
    );
    uac.send(&req, gw.addr());
    assert_eq!(uac.recv_status(Duration::from_secs(5)), Some(404));
    std::thread::sleep(Duration::from_millis(100));
    let exported = scrape(&gw);
    // name → the label names its samples carry.
    let mut labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for series in exported.keys() {
        labels
            .entry(series.name.clone())
            .or_default()
            .extend(series.labels.keys().cloned());
    }
    let check = |source: &str, expr: &str| {
        for (name, used) in selectors(expr) {
            let have = labels.get(&name).unwrap_or_else(|| {
                panic!(
                    "{source}: {name} is not exported; exported: {:?}",
                    labels.keys()
                )
            });
            for l in &used {
                assert!(
                    l == "instance" || l == "job" || have.contains(l),
                    "{source}: {name} has no label {l} (has {have:?})"
                );
            }
        }
    };

    let alerts = yaml("prometheus/alerts.yml");
    let mut names = 0;
    for group in alerts["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let alert = s(rule, &["alert"]);
            assert!(!s(rule, &["annotations", "summary"]).is_empty());
            assert!(matches!(
                s(rule, &["labels", "severity"]),
                "critical" | "warning"
            ));
            let expr = s(rule, &["expr"]);
            names += selectors(expr).len();
            check(alert, expr);
        }
    }
    assert!(names >= 10, "the rules use the gateway's metrics");
    for must in [
        "cpim_gateway_xmpp_link_up",
        "cpim_gateway_operations_total",
        "cpim_gateway_subscriptions_terminated_total",
    ] {
        let text = std::fs::read_to_string(deploy_dir().join("prometheus/alerts.yml")).unwrap();
        assert!(text.contains(must), "alerts cover {must}");
    }
    let scrape_cfg = yaml("prometheus/prometheus.yml");
    assert_eq!(
        s(&scrape_cfg["scrape_configs"][0], &["metrics_path"]),
        "/metrics"
    );
    assert_eq!(s(&scrape_cfg["rule_files"][0], &[]), "alerts.yml");

    let dash = json("grafana/cpim-gateway.json");
    let mut exprs = Vec::new();
    dashboard_exprs(&dash, &mut exprs);
    assert!(exprs.len() >= 10, "{exprs:?}");
    for e in &exprs {
        check("grafana/cpim-gateway.json", e);
    }
    let used: BTreeSet<String> = exprs
        .iter()
        .flat_map(|e| selectors(e))
        .map(|(n, _)| n)
        .collect();
    assert!(used.contains("cpim_gateway_operation_duration_seconds_bucket"));
    // The exposition parser itself: a sample line round-trips.
    let one = parse_exposition("cpim_gateway_x_total{a=\"1\",b=\"q\\\"\"} 2\n# EOF\n");
    assert_eq!(one.values().copied().collect::<Vec<_>>(), [2.0]);
}

#[test]
fn systemd_unit_and_dockerfile_are_consistent() {
    let unit = std::fs::read_to_string(deploy_dir().join("systemd/cpim-gateway.service")).unwrap();
    let mut section = "";
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let (k, v) = line.split_once('=').expect("key=value");
        keys.entry(format!("{section}{k}"))
            .or_default()
            .push(v.to_string());
    }
    let one = |k: &str| keys.get(k).and_then(|v| v.first()).map(String::as_str);
    assert!(
        one("[Service]ExecStart")
            .unwrap()
            .contains(" run --config ")
    );
    assert!(
        one("[Service]ExecStartPre")
            .unwrap()
            .contains(" check-config --config ")
    );
    // SIGHUP reloads, SIGTERM drains (tests/integration/lifecycle.rs).
    assert_eq!(one("[Service]ExecReload"), Some("/bin/kill -HUP $MAINPID"));
    assert_eq!(one("[Service]KillSignal"), Some("SIGTERM"));
    for (k, v) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("RestrictNamespaces", "yes"),
        ("SystemCallArchitectures", "native"),
    ] {
        assert_eq!(one(&format!("[Service]{k}")), Some(v), "{k}");
    }
    assert!(
        one("[Service]RestrictAddressFamilies")
            .unwrap()
            .contains("AF_INET6")
    );
    assert_eq!(one("[Install]WantedBy"), Some("multi-user.target"));
    // systemd's own parser, where this machine has it, with the binary
    // under test in place of /usr/local/bin.
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        let dir = scratch_dir("deploy-unit");
        let copy = dir.join("cpim-gateway.service");
        let bin = env!("CARGO_BIN_EXE_cpim-gateway");
        std::fs::write(&copy, unit.replace("/usr/local/bin/cpim-gateway", bin)).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&copy)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let docker = std::fs::read_to_string(deploy_dir().join("container/Dockerfile")).unwrap();
    let from = docker.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(from >= 2, "multi-stage");
    let last_stage = docker.rsplit("\nFROM ").next().unwrap();
    assert!(last_stage.contains("\nUSER 65532"), "runs as non-root");
    assert!(last_stage.contains("EXPOSE 5060/udp 5060/tcp 9464/tcp"));
    // What the image copies in exists, and the config it runs passes.
    for line in docker
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let src = line.split_whitespace().nth(1).unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
        assert!(path.exists(), "{line}");
    }
    check_config(&deploy_dir().join("container/gateway.toml"));
}

/// Prometheus's own checker on the scrape config and the alert rules, and
/// the alerts' unit tests (deploy/prometheus/alerts_test.yml: link down,
/// error ratio and subscription churn fire on the series that should fire
/// them, only after their `for`). promtool comes with Debian's prometheus
/// package (scripts/install-peers.sh).
#[test]
fn promtool_checks_config_and_rules_and_the_alert_tests_pass() {
    require("promtool");
    let dir = deploy_dir().join("prometheus");
    for args in [
        vec!["check", "config", "prometheus.yml"],
        vec!["check", "rules", "alerts.yml"],
        vec!["test", "rules", "alerts_test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

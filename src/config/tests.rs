//! Config schema and validation tests: defaults, every documented key, and
//! errors that name file, line, column and key.

use super::*;

#[test]
fn embedded_default_is_valid_and_loopback_only() {
    let c = Config::embedded_default().unwrap();
    assert_eq!(c.sip.listen.len(), 2);
    assert!(c.sip.listen.iter().all(|l| l.addr.ip().is_loopback()));
    assert!(c.admin.listen.ip().is_loopback());
    assert_eq!(c.sip.advertise, "127.0.0.1");
    assert_eq!(c.sip.reject_invite_with, StatusCode::NOT_ACCEPTABLE_HERE);
    assert_eq!(c.policy.unknown_peer, UnknownPeer::Reject);
}

#[test]
fn empty_file_gets_documented_defaults() {
    let c = Config::parse("", "empty.toml").unwrap();
    assert_eq!(c.sip.udp_recv_buffer_bytes, 4 << 20);
    assert_eq!(c.gateway.drain_timeout, Duration::from_secs(10));
    assert_eq!(
        c.sip.listen,
        vec![
            Listen {
                transport: Transport::Udp,
                addr: "127.0.0.1:5060".parse().unwrap()
            },
            Listen {
                transport: Transport::Tcp,
                addr: "127.0.0.1:5060".parse().unwrap()
            },
        ]
    );
    assert_eq!(c.sip.transactions.t1, Duration::from_millis(500));
    assert_eq!(c.sip.transactions.t2, Duration::from_secs(4));
    assert_eq!(c.sip.transactions.t4, Duration::from_secs(5));
    assert_eq!(
        c.sip.limits.max_body_bytes,
        Limits::default().max_body_bytes
    );
    assert_eq!(c.sip.max_transactions, 10_000);
    assert_eq!(c.gateway.state_dir, PathBuf::from("./state"));
    assert_eq!(c.admin.listen, "127.0.0.1:9464".parse().unwrap());
    assert_eq!(c.log.format, LogFormat::Text);
    assert!(c.routes.is_empty());
    assert!(c.policy.peers.is_empty());
}

#[test]
fn full_file_is_read() {
    let src = r#"
[sip]
listen = ["udp://127.0.0.1:5070", "tcp://[::1]:5071"]
advertise = "gw.example"
t1_ms = 100
t2_ms = 800
reject_invite_with = 606
max_body_bytes = 1300

[gateway]
domains = ["gw.test", "*.gw.test"]
state_dir = "/tmp/x"
node_id = "node-1"
rng_seed = 42

[[route]]
domain = "example.test"
via = "sip:127.0.0.1:5090;transport=tcp"

[[route]]
domain = "*.other.test"
via = "sip:[::1]"

[[peer]]
name = "p"
addresses = ["10.0.0.0/8"]
domains = ["sip.test"]

[policy]
unknown_peer = "allow"
deny_destinations = ["bad.test"]

[admin]
listen = "127.0.0.1:9999"

[log]
format = "json"
level = "debug"
"#;
    let c = Config::parse(src, "full.toml").unwrap();
    assert_eq!(
        c.sip.listen[1],
        Listen {
            transport: Transport::Tcp,
            addr: "[::1]:5071".parse().unwrap()
        }
    );
    assert_eq!(c.sip.advertise, "gw.example");
    assert_eq!(c.sip.transactions.t1, Duration::from_millis(100));
    assert_eq!(c.sip.reject_invite_with, StatusCode::NOT_ACCEPTABLE_GLOBAL);
    assert_eq!(c.gateway.node_id.as_deref(), Some("node-1"));
    assert_eq!(
        c.routes[0].next_hop,
        NextHop {
            addr: "127.0.0.1:5090".parse().unwrap(),
            transport: Transport::Tcp
        }
    );
    assert_eq!(
        c.routes[1].next_hop,
        NextHop {
            addr: "[::1]:5060".parse().unwrap(),
            transport: Transport::Udp
        }
    );
    assert_eq!(c.policy.unknown_peer, UnknownPeer::Allow);
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.admin.listen.port(), 9999);
}

fn err(src: &str) -> ConfigError {
    Config::parse(src, "t.toml").unwrap_err()
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = err("[sip]\nlisten = [\"udp://127.0.0.1:5060\"]\nlisn = 1\n");
    assert_eq!((e.origin(), e.line()), ("t.toml", 3));
    assert!(e.to_string().starts_with("t.toml:3:"), "{e}");
    assert!(e.to_string().contains("lisn"), "{e}");
    let e = err("[bogus]\nx = 1\n");
    assert_eq!(e.line(), 1);
    assert!(e.to_string().contains("bogus"), "{e}");
}

#[test]
fn invalid_values_name_their_key_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "[sip]\nlisten = [\"sctp://127.0.0.1:5060\"]\n",
            2,
            "sip.listen",
        ),
        (
            "[sip]\nlisten = [\"udp://localhost:5060\"]\n",
            2,
            "sip.listen",
        ),
        ("[sip]\nt1_ms = 0\n", 2, "sip.t1_ms"),
        ("[sip]\nt1_ms = 500\nt2_ms = 100\n", 3, "sip.t2_ms"),
        (
            "[sip]\nreject_invite_with = 500\n",
            2,
            "sip.reject_invite_with",
        ),
        (
            "\n[[route]]\ndomain = \"a b\"\nvia = \"sip:127.0.0.1\"\n",
            3,
            "route.domain",
        ),
        (
            "[[route]]\ndomain = \"x.test\"\nvia = \"sip:host.test\"\n",
            3,
            "route.via",
        ),
        (
            "[[route]]\ndomain = \"x.test\"\nvia = \"sips:127.0.0.1;transport=udp\"\n",
            3,
            "route.via",
        ),
        (
            "[[route]]\ndomain = \"x.test\"\nvia = \"sip:127.0.0.1;transport=sctp\"\n",
            3,
            "route.via",
        ),
        (
            "[[peer]]\nname = \"p\"\naddresses = [\"10.0.0.0/99\"]\ndomains = []\n",
            3,
            "peer.addresses",
        ),
        (
            "[policy]\nunknown_peer = \"maybe\"\n",
            2,
            "policy.unknown_peer",
        ),
        ("[admin]\nlisten = \"nope\"\n", 2, "admin.listen"),
        ("[log]\nformat = \"xml\"\n", 2, "log.format"),
        ("[gateway]\nnode_id = \"a b\"\n", 2, "gateway.node_id"),
    ];
    for (src, line, key) in cases {
        let e = err(src);
        assert_eq!(e.line(), *line, "{src:?}: {e}");
        assert!(e.to_string().contains(key), "{src:?}: {e}");
    }
}

#[test]
fn type_errors_have_positions() {
    let e = err("[sip]\nt1_ms = \"fast\"\n");
    assert_eq!(e.line(), 2);
    assert!(matches!(e.kind(), ConfigErrorKind::Toml(_)));
}

#[test]
fn dns_section_and_default_route() {
    let c = Config::parse(
        "[dns]\nnameservers = [\"127.0.0.1:5353\", \"::1\"]\ntimeout_ms = 300\nattempts = 1\n\
         negative_ttl_s = 5\npreference = [\"xmpp\", \"sip\"]\n\
         [gateway]\ndefault_route = \"sip:127.0.0.1:5080;transport=tcp\"\n",
        "dns.toml",
    )
    .unwrap();
    assert!(c.dns.enabled);
    assert_eq!(
        c.dns.nameservers,
        vec![
            "127.0.0.1:5353".parse().unwrap(),
            "[::1]:53".parse().unwrap()
        ]
    );
    assert_eq!(c.dns.timeout, Duration::from_millis(300));
    assert_eq!(c.dns.attempts, 1);
    assert_eq!(c.dns.cache.negative_ttl, Duration::from_secs(5));
    assert_eq!(
        c.dns.resolution.preference,
        vec![crate::route::Binding::Xmpp, crate::route::Binding::Sip]
    );
    assert_eq!(
        c.gateway.default_route,
        Some(NextHop {
            addr: "127.0.0.1:5080".parse().unwrap(),
            transport: Transport::Tcp
        })
    );
    // Defaults: enabled, system resolver.
    let d = Config::parse("", "x").unwrap();
    assert!(d.dns.enabled && d.dns.nameservers.is_empty());
    for (src, line, key) in [
        (
            "[dns]\nnameservers = [\"dns.example\"]\n",
            2,
            "dns.nameservers",
        ),
        ("[dns]\ntimeout_ms = 0\n", 2, "dns.timeout_ms"),
        ("[dns]\nattempts = 99\n", 2, "dns.attempts"),
        ("[dns]\npreference = [\"msrp\"]\n", 2, "dns.preference"),
        (
            "[gateway]\ndefault_route = \"sip:host.test\"\n",
            2,
            "gateway.default_route",
        ),
    ] {
        let e = err(src);
        assert_eq!(e.line(), line, "{src:?}: {e}");
        assert!(e.to_string().contains(key), "{src:?}: {e}");
    }
}

#[test]
fn domain_policy_rules() {
    use crate::gateway::policy::DomainAction;
    let c = Config::parse(
        "[[domain_policy]]\ndomain = \"partner.test\"\naction = \"rate-limit\"\nrate = 10.0\nburst = 20.0\n\n\
         [[domain_policy]]\ndomain = \"*.spam.test\"\naction = \"deny\"\n",
        "p.toml",
    )
    .unwrap();
    assert_eq!(c.policy.domain_rules.len(), 2);
    assert_eq!(
        c.policy.domain_rules[0].action,
        DomainAction::RateLimit {
            per_second: 10.0,
            burst: 20.0
        }
    );
    assert_eq!(c.policy.domain_rules[1].action, DomainAction::Deny);
    for (src, line, key) in [
        (
            "[[domain_policy]]\ndomain = \"a.test\"\naction = \"maybe\"\n",
            3,
            "domain_policy.action",
        ),
        (
            "[[domain_policy]]\ndomain = \"a.test\"\naction = \"rate-limit\"\n",
            3,
            "domain_policy.rate",
        ),
        (
            "[[domain_policy]]\ndomain = \"a.test\"\naction = \"rate-limit\"\nrate = -1.0\n",
            4,
            "domain_policy.rate",
        ),
        (
            "[[domain_policy]]\ndomain = \"a.test\"\naction = \"deny\"\nrate = 1.0\n",
            4,
            "domain_policy",
        ),
        (
            "[[domain_policy]]\ndomain = \"a b\"\naction = \"deny\"\n",
            2,
            "domain_policy.domain",
        ),
    ] {
        let e = err(src);
        assert_eq!(e.line(), line, "{src:?}: {e}");
        assert!(e.to_string().contains(key), "{src:?}: {e}");
    }
}

#[test]
fn xmpp_section_and_secret_redaction() {
    let c = Config::parse(
        "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"cpim.xmpp.test\"\nsecret = \"hunter2-secret\"\n\
         domains = [\"xmpp.test\"]\naddress_mode = \"same-domain\"\nerror_window_ms = 250\nwrap_cpim = true\n\
         ping_interval_s = 5\nbackoff_min_ms = 100\nbackoff_max_s = 2\n\
         wrap_cpim_domains = [\"legacy.test\", \"*.old.test\"]\ncomposing_refresh_s = 120\n\
         composing_max_active_s = 600\n",
        "x.toml",
    )
    .unwrap();
    let x = c.xmpp.as_ref().unwrap();
    assert_eq!(x.server, "127.0.0.1:5347".parse().unwrap());
    assert_eq!(x.component.domain.to_string(), "cpim.xmpp.test");
    assert_eq!(x.component.secret.expose(), "hunter2-secret");
    assert_eq!(x.address_mode, crate::translate::address::Mode::SameDomain);
    assert_eq!(x.error_window, Duration::from_millis(250));
    assert!(x.wrap_cpim);
    assert_eq!(x.wrap_cpim_domains.len(), 2);
    assert!(x.wrap_cpim_domains[1].matches("a.old.test"));
    assert_eq!(x.composing_refresh, Duration::from_secs(120));
    assert_eq!(x.composing_max_active, Duration::from_secs(600));
    assert_eq!(x.component.ping_interval, Duration::from_secs(5));
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("hunter2"),
        "the secret never reaches Debug output"
    );
    // Defaults: gateway-subdomain mode, 300 ms window.
    let d = Config::parse(
        "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"c.test\"\nsecret = \"s\"\n",
        "d",
    )
    .unwrap();
    let dx = d.xmpp.unwrap();
    assert_eq!(dx.error_window, Duration::from_millis(300));
    assert!(!dx.wrap_cpim && dx.wrap_cpim_domains.is_empty());
    assert_eq!(
        (dx.composing_refresh, dx.composing_max_active),
        (Duration::from_secs(90), Duration::from_secs(300))
    );
    assert!(matches!(
        dx.address_mode,
        crate::translate::address::Mode::GatewaySubdomain { .. }
    ));
    for (src, line, key) in [
        (
            "[xmpp]\nserver = \"prosody:5347\"\ncomponent = \"c.test\"\nsecret = \"s\"\n",
            2,
            "xmpp.server",
        ),
        (
            "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"a@c.test\"\nsecret = \"s\"\n",
            3,
            "xmpp.component",
        ),
        (
            "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"c.test\"\nsecret = \"\"\n",
            4,
            "xmpp.secret",
        ),
        (
            "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"c.test\"\nsecret = \"s\"\naddress_mode = \"x\"\n",
            5,
            "xmpp.address_mode",
        ),
        (
            "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"c.test\"\nsecret = \"s\"\nerror_window_ms = 99999\n",
            5,
            "xmpp.error_window_ms",
        ),
        (
            "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"c.test\"\nsecret = \"s\"\ncomposing_refresh_s = 30\n",
            5,
            "xmpp.composing_refresh_s",
        ),
        (
            "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"c.test\"\nsecret = \"s\"\n\nwrap_cpim_domains = [\"a..b\"]\n",
            6,
            "xmpp.wrap_cpim_domains",
        ),
    ] {
        let e = err(src);
        assert_eq!(e.line(), line, "{src:?}: {e}");
        assert!(e.to_string().contains(key), "{src:?}: {e}");
    }
}

/// A throwaway self-signed certificate and key (PEM) in a temp dir.
fn tls_files() -> (tempfile::TempDir, String, String) {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509, X509NameBuilder};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "gw.test").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let keyf = dir.path().join("key.pem");
    std::fs::write(&cert, b.build().to_pem().unwrap()).unwrap();
    std::fs::write(&keyf, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (dir, cert.display().to_string(), keyf.display().to_string())
}

#[test]
fn tls_defaults_verify_and_ask_for_nothing() {
    let c = Config::parse("", "empty.toml").unwrap();
    assert_eq!(c.tls, TlsSettings::default());
    assert!(
        !c.tls.danger_accept_invalid_certs,
        "the danger knob is off by default"
    );
    assert_eq!(c.tls.client_auth, ClientAuth::None);
    assert_eq!(c.tls.max_connections, 1024);
    assert_eq!(c.tls.idle_timeout, Duration::from_secs(600));
    assert_eq!(c.tls.handshake_timeout, Duration::from_millis(5000));
    assert!(c.tls.certificate.is_none() && c.tls.ca_file.is_none());
}

#[test]
fn tls_listener_routes_and_peers_are_read() {
    let (_dir, cert, key) = tls_files();
    let src = format!(
        r#"
[sip]
listen = ["udp://127.0.0.1:5060", "tls://127.0.0.1:5061"]

[gateway]
default_route = "sips:127.0.0.1:5071"
default_route_tls_name = "default.test"

[tls]
certificate = "{cert}"
private_key = "{key}"
ca_file = "{cert}"
client_auth = "required"
danger_accept_invalid_certs = true
max_connections = 7
idle_timeout_s = 30
handshake_timeout_ms = 250

[[route]]
domain = "peer.test"
via = "sips:127.0.0.1:5062"
tls_name = "Peer.Test."

[[route]]
domain = "ip.test"
via = "sips:[::1]"

[[route]]
domain = "param.test"
via = "sip:127.0.0.1:5063;transport=tls"

[[route]]
domain = "udp.test"
via = "sip:127.0.0.1:5064"

[[peer]]
name = "example"
tls_names = ["example.test"]
domains = ["example.test"]
"#
    );
    let c = Config::parse(&src, "tls.toml").unwrap();
    assert_eq!(
        c.sip.listen[1],
        Listen {
            transport: Transport::Tls,
            addr: "127.0.0.1:5061".parse().unwrap()
        }
    );
    assert_eq!(c.tls.client_auth, ClientAuth::Required);
    assert!(c.tls.danger_accept_invalid_certs);
    assert_eq!(c.tls.max_connections, 7);
    assert_eq!(c.tls.idle_timeout, Duration::from_secs(30));
    assert_eq!(c.tls.handshake_timeout, Duration::from_millis(250));
    let hops: Vec<_> = c.routes.iter().map(|r| r.next_hop).collect();
    assert_eq!(
        hops,
        vec![
            NextHop {
                addr: "127.0.0.1:5062".parse().unwrap(),
                transport: Transport::Tls
            },
            NextHop {
                addr: "[::1]:5061".parse().unwrap(),
                transport: Transport::Tls
            },
            NextHop {
                addr: "127.0.0.1:5063".parse().unwrap(),
                transport: Transport::Tls
            },
            NextHop {
                addr: "127.0.0.1:5064".parse().unwrap(),
                transport: Transport::Udp
            },
        ]
    );
    let names: Vec<Option<&str>> = c.route_tls_names.iter().map(|n| n.as_deref()).collect();
    // tls_name wins; an IP-literal hop without one is verified against its IP.
    assert_eq!(
        names,
        vec![Some("peer.test"), Some("::1"), Some("127.0.0.1"), None]
    );
    let router = c.router();
    assert_eq!(
        router
            .lookup_with_tls_name("peer.test")
            .unwrap()
            .1
            .as_deref(),
        Some("peer.test")
    );
    assert_eq!(router.default_tls_name().as_deref(), Some("default.test"));
    assert_eq!(c.gateway.default_route.unwrap().transport, Transport::Tls);
    let peer = &c.policy.peers[0];
    assert!(peer.networks.is_empty());
    assert_eq!(peer.tls_names.len(), 1);
    // Debug shows paths, never key material.
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("PRIVATE KEY"), "{dbg}");
}

#[test]
fn tls_errors_name_their_key_and_line() {
    let (_dir, cert, key) = tls_files();
    let cases: Vec<(String, usize, &str)> = vec![
        (
            "[sip]\nlisten = [\"tls://127.0.0.1:5061\"]\n".into(),
            2,
            "tls:// listener needs [tls] certificate",
        ),
        (
            format!("[tls]\ncertificate = \"{cert}\"\nprivate_key = \"{key}\"\nclient_auth = \"required\"\n"),
            4,
            "tls.ca_file",
        ),
        (
            format!("[tls]\ncertificate = \"{cert}\"\nprivate_key = \"{key}\"\nca_file = \"{cert}\"\nclient_auth = \"sometimes\"\n"),
            5,
            "tls.client_auth",
        ),
        (
            format!("[tls]\n\ncertificate = \"{cert}\"\n"),
            3,
            "tls.private_key",
        ),
        (
            "[tls]\ncertificate = \"/nonexistent/cert.pem\"\nprivate_key = \"/nonexistent/key.pem\"\n".into(),
            2,
            "tls.certificate",
        ),
        (
            format!("[tls]\ncertificate = \"{cert}\"\nprivate_key = \"{cert}\"\n"),
            3,
            "tls.private_key",
        ),
        (
            format!("[tls]\nca_file = \"{key}\"\n"),
            2,
            "tls.ca_file",
        ),
        ("[tls]\nmax_connections = 0\n".into(), 2, "tls.max_connections"),
        ("[tls]\nidle_timeout_s = 0\n".into(), 2, "tls.idle_timeout_s"),
        (
            "[tls]\nhandshake_timeout_ms = 99999999\n".into(),
            2,
            "tls.handshake_timeout_ms",
        ),
        (
            "[tls]\ndanger_accept_invalid_certs = \"yes\"\n".into(),
            2,
            "bool",
        ),
        (
            "[tls]\naccept_invalid_certs = true\n".into(),
            2,
            "accept_invalid_certs",
        ),
        (
            "[[route]]\ndomain = \"x.test\"\nvia = \"sip:127.0.0.1\"\ntls_name = \"x.test\"\n".into(),
            4,
            "tls_name",
        ),
        (
            "[[route]]\ndomain = \"x.test\"\nvia = \"sips:127.0.0.1\"\ntls_name = \"not a name\"\n".into(),
            4,
            "tls_name",
        ),
        (
            "[[route]]\ndomain = \"x.test\"\nvia = \"sips:peer.test\"\n".into(),
            3,
            "route.via",
        ),
        (
            "[gateway]\ndefault_route_tls_name = \"x.test\"\n".into(),
            2,
            "gateway.default_route_tls_name",
        ),
        (
            "[[peer]]\nname = \"nobody\"\ndomains = [\"a.test\"]\n".into(),
            2,
            "peer",
        ),
        (
            "[[peer]]\nname = \"p\"\ntls_names = [\"a b\"]\ndomains = []\n".into(),
            3,
            "peer.tls_names",
        ),
    ];
    for (src, line, key) in &cases {
        let e = err(src);
        assert_eq!(e.line(), *line, "{src:?}: {e}");
        assert!(e.to_string().contains(key), "{src:?}: {e}");
        assert!(!e.to_string().contains("BEGIN"), "no PEM in errors: {e}");
    }
}

#[test]
fn log_redact_defaults_on_and_is_a_bool() {
    let c = Config::parse("", "t.toml").unwrap();
    assert!(c.log.redact, "addresses are redacted unless turned off");
    let c = Config::parse("[log]\nredact = false\n", "t.toml").unwrap();
    assert!(!c.log.redact);
    let e = err("[log]\nformat = \"json\"\nredact = \"yes\"\n");
    assert_eq!((e.origin(), e.line()), ("t.toml", 3), "{e}");
}

#[test]
fn peer_rate_and_domain_policy_overload_keys() {
    use crate::gateway::policy::{Rate, RateScope};
    let c = Config::parse(
        "[[peer]]\nname = \"a\"\naddresses = [\"127.0.0.1\"]\ndomains = [\"a.test\"]\nrate = 5.0\nburst = 10.0\n\n\
         [[peer]]\nname = \"b\"\naddresses = [\"127.0.0.2\"]\ndomains = [\"b.test\"]\nrate = 2.5\n\n\
         [[peer]]\nname = \"c\"\naddresses = [\"127.0.0.3\"]\ndomains = [\"c.test\"]\n\n\
         [[domain_policy]]\ndomain = \"*.partner.test\"\naction = \"rate-limit\"\nrate = 1.0\nscope = \"domain\"\n\
         require_tls = true\nmax_subscriptions = 50\n\n\
         [[domain_policy]]\ndomain = \"other.test\"\naction = \"allow\"\n",
        "o.toml",
    )
    .unwrap();
    let rates: Vec<_> = c.policy.peers.iter().map(|p| p.rate).collect();
    assert_eq!(
        rates,
        vec![
            Some(Rate {
                per_second: 5.0,
                burst: 10.0
            }),
            Some(Rate {
                per_second: 2.5,
                burst: 2.5
            }),
            None
        ]
    );
    let r = &c.policy.domain_rules[0];
    assert_eq!(r.scope, RateScope::Domain);
    assert!(r.require_tls);
    assert_eq!(r.max_subscriptions, Some(50));
    let d = &c.policy.domain_rules[1];
    assert_eq!(
        (d.scope, d.require_tls, d.max_subscriptions),
        (RateScope::Rule, false, None)
    );
    let peer = "[[peer]]\nname = \"a\"\naddresses = [\"127.0.0.1\"]\ndomains = [\"a.test\"]\n";
    for (src, line, key) in [
        (format!("{peer}rate = 0.0\n"), 5, "peer.rate"),
        (format!("{peer}rate = 2000000.0\n"), 5, "peer.rate"),
        (format!("{peer}rate = 1.0\nburst = 0.5\n"), 6, "peer.burst"),
        (format!("{peer}burst = 3.0\n"), 5, "peer.burst"),
        (format!("{peer}rate = \"fast\"\n"), 5, "invalid type"),
        (
            "[[domain_policy]]\ndomain = \"a.test\"\naction = \"rate-limit\"\nrate = 1.0\nscope = \"peer\"\n"
                .into(),
            5,
            "domain_policy.scope",
        ),
        (
            "[[domain_policy]]\ndomain = \"a.test\"\naction = \"deny\"\nscope = \"domain\"\n".into(),
            4,
            "domain_policy.scope",
        ),
        (
            "[[domain_policy]]\ndomain = \"a.test\"\naction = \"allow\"\nmax_subscriptions = 0\n"
                .into(),
            4,
            "domain_policy.max_subscriptions",
        ),
        (
            "[[domain_policy]]\ndomain = \"a.test\"\naction = \"allow\"\nrequire_tls = \"yes\"\n"
                .into(),
            4,
            "invalid type",
        ),
    ] {
        let e = err(&src);
        assert_eq!(e.line(), line, "{src:?}: {e}");
        assert!(e.to_string().contains(key), "{src:?}: {e}");
    }
}

#[test]
fn sip_overload_bounds() {
    let d = Config::parse("", "d.toml").unwrap();
    assert_eq!(d.sip.max_server_transactions, 50_000);
    assert_eq!(d.sip.max_queued_per_destination, 32);
    let c = Config::parse(
        "[sip]\nmax_server_transactions = 1000\nmax_queued_per_destination = 4\n",
        "s.toml",
    )
    .unwrap();
    assert_eq!(c.sip.max_server_transactions, 1000);
    assert_eq!(c.sip.max_queued_per_destination, 4);
    for (src, line, key) in [
        (
            "[sip]\nmax_server_transactions = 10\n",
            2,
            "sip.max_server_transactions",
        ),
        (
            "[sip]\n\nmax_queued_per_destination = 0\n",
            3,
            "sip.max_queued_per_destination",
        ),
        (
            "[sip]\nmax_queued_per_destination = -1\n",
            2,
            "expected usize",
        ),
    ] {
        let e = err(src);
        assert_eq!(e.line(), line, "{src:?}: {e}");
        assert!(e.to_string().contains(key), "{src:?}: {e}");
    }
}

#[test]
fn xmpp_write_queue_bound() {
    let base = "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"c.test\"\nsecret = \"s\"\n";
    let d = Config::parse(base, "x.toml").unwrap();
    assert_eq!(d.xmpp.unwrap().max_write_queue_bytes, 8 << 20);
    let c = Config::parse(&format!("{base}max_write_queue_bytes = 100000\n"), "x.toml").unwrap();
    assert_eq!(c.xmpp.unwrap().max_write_queue_bytes, 100_000);
    let e = err(&format!("{base}max_write_queue_bytes = 10\n"));
    assert_eq!(e.line(), 5, "{e}");
    assert!(e.to_string().contains("xmpp.max_write_queue_bytes"), "{e}");
}

#[test]
fn xmpp_tls_name_defaults_to_the_server_ip_and_needs_tls() {
    let x = "[xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"c.test\"\nsecret = \"s\"\n";
    let c = Config::parse(x, "x.toml").unwrap();
    assert_eq!(c.xmpp.unwrap().tls_name, None, "plain TCP by default");
    let c = Config::parse(&format!("{x}tls = true\n"), "x.toml").unwrap();
    assert_eq!(c.xmpp.unwrap().tls_name.as_deref(), Some("127.0.0.1"));
    let c = Config::parse(
        &format!("{x}tls = true\ntls_name = \"xmpp.example\"\n"),
        "x.toml",
    )
    .unwrap();
    assert_eq!(c.xmpp.unwrap().tls_name.as_deref(), Some("xmpp.example"));
    let e = err(&format!("{x}tls_name = \"xmpp.example\"\n"));
    assert_eq!(e.line(), 5, "{e}");
    assert!(e.to_string().contains("xmpp.tls_name"), "{e}");
    let e = err(&format!("{x}tls = true\ntls_name = \"not a name\"\n"));
    assert_eq!(e.line(), 6, "{e}");
}

//! Configuration: the TOML file ([`file`]) validated into the settings the
//! cores use. Every error names the file, line and column (and, for unknown
//! keys, the key). With no file, the embedded [`DEFAULT_CONFIG`] runs the
//! gateway on loopback.
//!
//! Documented defaults (also in README.md):
//!
//! | key | default |
//! |---|---|
//! | `sip.listen` | `["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"]` (`tls://` needs `[tls]`) |
//! | `sip.advertise` | the first listen IP |
//! | `sip.t1_ms` / `t2_ms` / `t4_ms` | 500 / 4000 / 5000 (RFC 3261 §17) |
//! | `sip.max_header_bytes` / `max_headers` / `max_body_bytes` / `max_uri_len` | 8192 / 64 / 65536 / 1024 |
//! | `sip.max_transactions` | 10000 relays in flight (at the bound new MESSAGEs and SUBSCRIBEs are shed with 503 + Retry-After from a header-only scan) |
//! | `sip.max_server_transactions` | 50000 (at the bound every new request gets a stateless 503 + Retry-After) |
//! | `sip.max_queued_per_destination` | 32 XMPP-originated MESSAGEs waiting per SIP destination (then `<resource-constraint/>`) |
//! | `sip.max_tcp_connections` | 1024 |
//! | `sip.udp_recv_buffer_bytes` | 4194304 (SO_RCVBUF; the kernel caps it at `net.core.rmem_max`) |
//! | `sip.reject_invite_with` | 488 |
//! | `gateway.domains` | `[]` |
//! | `gateway.state_dir` | `./state` |
//! | `gateway.node_id` | random per start |
//! | `gateway.default_route` | none (after DNS discovery) |
//! | `gateway.default_route_tls_name` | none (a `sips:` default route is verified against its IP) |
//! | `route.tls_name` | none: a `sips:`/`transport=tls` route is verified against its IP literal (IP subjectAltName) |
//! | `peer.addresses` / `peer.tls_names` | `[]` / `[]` (at least one of them) |
//! | `tls.certificate` / `tls.private_key` | none (required by a `tls://` listener; also offered as client certificate) |
//! | `tls.ca_file` | none (server certificates: system roots only; required for `client_auth`) |
//! | `tls.client_auth` | `"none"` (or `"optional"`, `"required"`: mutual TLS against `ca_file`) |
//! | `tls.danger_accept_invalid_certs` | false (never on in production: no server verification at all) |
//! | `tls.max_connections` / `idle_timeout_s` / `handshake_timeout_ms` | 1024 / 600 / 5000 |
//! | `gateway.drain_timeout_s` | 10 (SIGTERM: finish in-flight work, then exit 0) |
//! | `dns.enabled` | true |
//! | `dns.nameservers` | `[]` = the system resolver (`/etc/resolv.conf`) |
//! | `dns.timeout_ms` / `attempts` | 2000 / 2 |
//! | `dns.negative_ttl_s` / `max_ttl_s` / `cache_size` | 60 / 3600 / 4096 |
//! | `dns.preference` | `["sip", "xmpp"]` (RFC 3861 label order) |
//! | `xmpp` | absent: no component link |
//! | `xmpp.domains` | `[]` (XMPP domains reached through the component) |
//! | `xmpp.address_mode` | `"gateway-subdomain"` (`user\40sip.domain@component`) |
//! | `xmpp.error_window_ms` | 300 (then 202) |
//! | `xmpp.wrap_cpim` | false (XMPP → SIP as plain `text/plain`) |
//! | `xmpp.wrap_cpim_domains` | `[]` (SIP domains that get `message/cpim` anyway) |
//! | `xmpp.composing_refresh_s` | 90 (RFC 3994 `<refresh>` sent to SIP; 60–3600) |
//! | `xmpp.composing_max_active_s` | 300 (XMPP `<composing/>` kept alive at most) |
//! | `xmpp.max_write_queue_bytes` | 8388608 (bytes waiting on the component link; past it the link is closed and reconnected) |
//! | `xmpp.tls` / `xmpp.tls_name` | false / the server's IP (component link over TLS, certificate verified against that name) |
//! | `xmpp.ping_interval_s` / `ping_timeout_s` | 30 / 10 |
//! | `xmpp.backoff_min_ms` / `backoff_max_s` / `auth_failure_backoff_s` | 1000 / 60 / 300 |
//! | `policy.unknown_peer` | `"reject"` |
//! | `peer.rate` / `peer.burst` | none: unlimited (else a token bucket per peer; burst defaults to the rate, at least 1; excess gets 503 + Retry-After) |
//! | `[[domain_policy]]` | none: every domain allowed |
//! | `domain_policy.scope` | `"rule"` (one bucket per rule; `"domain"`: one per matching domain, at most 10000 kept per rule) |
//! | `domain_policy.require_tls` | false (true: a SIP request asserting the source domain needs a mutual-TLS identity naming a peer, else 403) |
//! | `domain_policy.max_subscriptions` | none (else subscriptions per matching watcher domain; then SIP 403 + Warning, XMPP `<resource-constraint/>`) |
//! | `presence.enabled` | true |
//! | `presence.min_expires_s` / `max_expires_s` / `default_expires_s` | 60 / 3600 / 3600 (423 below the minimum; longer requests are shortened) |
//! | `presence.notify_interval_ms` | 5000 (at most one NOTIFY per watcher per interval, RFC 3856 §6.10) |
//! | `presence.first_notify_grace_ms` | 500 (after XMPP `subscribed`, wait this long for presence before the first `active` NOTIFY) |
//! | `presence.max_per_watcher` / `max_per_presentity` / `max_total` | 1000 / 10000 / 200000 (then SIP 403 + Warning, XMPP `<resource-constraint/>`) |
//! | `presence.refresh_lead_s` | 60 (the gateway's SUBSCRIBEs are refreshed this long before expiry) |
//! | `presence.watcher_probe_wait_ms` | 5000 (the XMPP watcher is probed this long before a refresh) |
//! | `admin.listen` | `127.0.0.1:9464` |
//! | `log.format` / `log.level` | `"text"` / `"info"` |
//! | `log.redact` | true (user parts of URIs/JIDs hashed in logs) |

mod file;

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use crate::gateway::policy::{
    DomainAction, DomainRule, IpNet, Peer, PolicyConfig, Rate, RateScope, UnknownPeer,
};
use crate::route::{DomainPattern, NextHop, StaticRoute};
use crate::sip::transaction::TransactionConfig;
use crate::sip::{Limits, SipUri, StatusCode, Transport};

/// The configuration used when no file is given.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// `[sip]`.
    pub sip: SipSettings,
    /// `[gateway]`.
    pub gateway: GatewaySettings,
    /// `[[route]]` entries.
    pub routes: Vec<StaticRoute>,
    /// The TLS server name of each `[[route]]` (same order; `None` for
    /// routes that are not TLS).
    pub route_tls_names: Vec<Option<Arc<str>>>,
    /// `[[peer]]` and `[policy]`.
    pub policy: PolicyConfig,
    /// `[dns]`.
    pub dns: DnsSettings,
    /// `[xmpp]`: the XEP-0114 component link (none when absent).
    pub xmpp: Option<XmppSettings>,
    /// `[presence]`.
    pub presence: crate::gateway::PresenceConfig,
    /// `[admin]`.
    pub admin: AdminSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[tls]`.
    pub tls: TlsSettings,
}

impl Config {
    /// The static route table, with the TLS server names of its routes.
    pub fn router(&self) -> crate::route::Router {
        crate::route::Router::with_tls_names(
            self.routes.clone(),
            self.route_tls_names.clone(),
            self.gateway.default_route_tls_name.clone(),
        )
    }
}

/// Whether and how the TLS listeners ask for a client certificate (mutual
/// TLS, RFC 3261 §26.3.2.2, RFC 5922 §7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate is asked for.
    None,
    /// A certificate is asked for; a client without one is accepted
    /// (identified by address), a client with an invalid one is refused.
    Optional,
    /// A client without a certificate valid under `ca_file` is refused.
    Required,
}

/// `[tls]` settings: SIP over TLS (RFC 3261 §26.2, RFC 5630). Holds paths
/// only; `src/io/tls.rs` reads the files when the listeners start. Nothing
/// here is secret, and the key file's content never appears in `Debug`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain (leaf first): presented by `tls://` listeners,
    /// and as client certificate on outbound TLS.
    pub certificate: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the certificate.
    pub private_key: Option<PathBuf>,
    /// PEM CA bundle: added to the system roots for server certificates,
    /// and the only roots for client certificates.
    pub ca_file: Option<PathBuf>,
    /// Mutual TLS on the listeners.
    pub client_auth: ClientAuth,
    /// Accept any server certificate on outbound TLS (wrong name,
    /// self-signed, expired). For tests only; logged loudly at start.
    pub danger_accept_invalid_certs: bool,
    /// Bound on TLS connections, inbound plus outbound.
    pub max_connections: usize,
    /// A connection that reads nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Bound on the TCP connect plus the TLS handshake.
    pub handshake_timeout: Duration,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            certificate: None,
            private_key: None,
            ca_file: None,
            client_auth: ClientAuth::None,
            danger_accept_invalid_certs: false,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(600),
            handshake_timeout: Duration::from_millis(5000),
        }
    }
}

/// One SIP listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listen {
    /// Transport.
    pub transport: Transport,
    /// Address to bind.
    pub addr: SocketAddr,
}

/// `[sip]` settings.
#[derive(Clone, Debug)]
pub struct SipSettings {
    /// Listeners.
    pub listen: Vec<Listen>,
    /// Host written into Via, Call-ID and Warning.
    pub advertise: String,
    /// Timer values.
    pub transactions: TransactionConfig,
    /// Parser limits.
    pub limits: Limits,
    /// Bound on relays in flight.
    pub max_transactions: usize,
    /// Bound on server transactions (at it, new requests get a stateless
    /// 503).
    pub max_server_transactions: usize,
    /// XMPP-originated MESSAGEs queued per SIP destination.
    pub max_queued_per_destination: usize,
    /// Bound on TCP connections (inbound plus outbound).
    pub max_tcp_connections: usize,
    /// Requested SO_RCVBUF of each UDP listener: bursts above what the
    /// event loop drains at once wait here instead of being dropped.
    pub udp_recv_buffer_bytes: usize,
    /// Status for INVITE (488 or 606).
    pub reject_invite_with: StatusCode,
}

/// `[gateway]` settings.
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    /// Domains the gateway is authoritative for.
    pub domains: Vec<DomainPattern>,
    /// Where durable state lives (used by later features).
    pub state_dir: PathBuf,
    /// Node id for the loop marker; random when absent.
    pub node_id: Option<String>,
    /// Fixed RNG seed (tests); random when absent.
    pub rng_seed: Option<u64>,
    /// Next hop for destinations no static route, local domain or DNS
    /// lookup serves.
    pub default_route: Option<NextHop>,
    /// The TLS server name of a `sips:` default route.
    pub default_route_tls_name: Option<Arc<str>>,
    /// How long SIGTERM waits for accepted operations to finish before
    /// answering what is left (202 if forwarded, else 503) and exiting.
    pub drain_timeout: Duration,
}

/// `[xmpp]` settings. `Debug` never shows the secret (it is a
/// [`crate::xmpp::Secret`]).
#[derive(Clone, Debug)]
pub struct XmppSettings {
    /// The XMPP server's component port (IP:port).
    pub server: SocketAddr,
    /// The component identity, secret and timers.
    pub component: crate::xmpp::ComponentConfig,
    /// XMPP domains whose users are reached through the component.
    pub domains: Vec<DomainPattern>,
    /// How SIP users appear on the XMPP side (RFC 7247 §6).
    pub address_mode: crate::translate::address::Mode,
    /// How long a SIP MESSAGE towards XMPP waits for an XMPP error before
    /// it is answered 202 (standards.md C1).
    pub error_window: Duration,
    /// Wrap XMPP-originated text in `message/cpim` on the SIP side
    /// (RFC 3862; From/To as `im:`).
    pub wrap_cpim: bool,
    /// SIP destination domains whose MESSAGEs from XMPP are wrapped in
    /// `message/cpim` even when [`Self::wrap_cpim`] is off (per-peer policy).
    pub wrap_cpim_domains: Vec<DomainPattern>,
    /// The RFC 3994 `<refresh>` the gateway announces, and keeps, while an
    /// XMPP user is composing towards SIP.
    pub composing_refresh: Duration,
    /// How long an XMPP `<composing/>` is refreshed without any change
    /// before the gateway sends `idle` itself.
    pub composing_max_active: Duration,
    /// Bound on bytes waiting to be written on the component link; past it
    /// the link is closed and reconnected.
    pub max_write_queue_bytes: usize,
    /// `[xmpp] tls = true`: the component link runs over TLS and the
    /// server certificate must carry this name (`tls_name`, else the
    /// server's IP address), verified like SIP over TLS (`[tls]` trust
    /// anchors and its `danger_` knob).
    pub tls_name: Option<String>,
}

/// `[dns]` settings: RFC 3861 / RFC 3263 discovery.
#[derive(Clone, Debug)]
pub struct DnsSettings {
    /// Whether destinations without a static route are looked up in DNS.
    pub enabled: bool,
    /// Nameservers (IP:port); empty = the system resolver configuration.
    pub nameservers: Vec<SocketAddr>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Attempts per lookup.
    pub attempts: usize,
    /// The core's cache and resolution settings.
    pub cache: crate::route::CacheConfig,
    /// Label preference and transports.
    pub resolution: crate::route::ResolutionConfig,
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            enabled: true,
            nameservers: Vec::new(),
            timeout: Duration::from_millis(2000),
            attempts: 2,
            cache: crate::route::CacheConfig::default(),
            resolution: crate::route::ResolutionConfig::default(),
        }
    }
}

/// `[admin]` settings.
#[derive(Clone, Debug)]
pub struct AdminSettings {
    /// Address of the admin HTTP endpoint (`/metrics`).
    pub listen: SocketAddr,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]` settings.
#[derive(Clone, Debug)]
pub struct LogSettings {
    /// Format.
    pub format: LogFormat,
    /// `tracing` filter directive (`RUST_LOG` overrides it).
    pub level: String,
    /// Show SIP URIs and JIDs with the user part (and a JID's resource)
    /// replaced by a keyed hash (see [`crate::redact`]). Default true.
    pub redact: bool,
}

/// A configuration error: where, and what.
#[derive(Debug)]
pub struct ConfigError {
    origin: String,
    line: usize,
    column: usize,
    kind: ConfigErrorKind,
}

/// What is wrong with a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    /// TOML syntax error, wrong type, or unknown key (the message names it).
    #[error("{0}")]
    Toml(String),
    /// A value that parsed but is not acceptable.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

impl ConfigError {
    /// The file (or `<embedded default>`).
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// 1-based line (0 when unknown).
    pub fn line(&self) -> usize {
        self.line
    }
    /// 1-based column (0 when unknown).
    pub fn column(&self) -> usize {
        self.column
    }
    /// What is wrong.
    pub fn kind(&self) -> &ConfigErrorKind {
        &self.kind
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.origin, self.line, self.column, self.kind
            )
        } else {
            write!(f, "{}: {}", self.origin, self.kind)
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ConfigErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl Config {
    /// Loads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            line: 0,
            column: 0,
            kind: ConfigErrorKind::Io(e),
        })?;
        Config::parse(&src, &origin)
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Result<Config, ConfigError> {
        Config::parse(DEFAULT_CONFIG, "<embedded default>")
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(src: &str, origin: &str) -> Result<Config, ConfigError> {
        let v = Validator { src, origin };
        let f: file::FileConfig = toml::from_str(src).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(src, s.start)).unwrap_or((0, 0));
            ConfigError {
                origin: origin.to_string(),
                line,
                column,
                kind: ConfigErrorKind::Toml(e.message().trim().to_string()),
            }
        })?;
        v.build(f)
    }
}

struct Validator<'a> {
    src: &'a str,
    origin: &'a str,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, key: &'static str, reason: impl Into<String>) -> ConfigError {
        let (line, column) = line_col(self.src, span.start);
        ConfigError {
            origin: self.origin.to_string(),
            line,
            column,
            kind: ConfigErrorKind::Invalid {
                key,
                reason: reason.into(),
            },
        }
    }

    fn build(&self, f: file::FileConfig) -> Result<Config, ConfigError> {
        let tls = self.tls(&f.tls)?;
        let sip = self.sip(&f.sip, &tls)?;
        let mut domains = Vec::new();
        for d in f.gateway.domains.iter().flatten() {
            domains.push(self.pattern(d, "gateway.domains")?);
        }
        let node_id = match &f.gateway.node_id {
            Some(n)
                if n.get_ref().is_empty()
                    || !n
                        .get_ref()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                return Err(self.err(
                    n.span(),
                    "gateway.node_id",
                    "use letters, digits and '-' only",
                ));
            }
            Some(n) => Some(n.get_ref().clone()),
            None => None,
        };
        let (default_route, default_route_tls_name) = match &f.gateway.default_route {
            Some(v) => {
                let (hop, name) = self.next_hop(
                    v,
                    f.gateway.default_route_tls_name.as_ref(),
                    "gateway.default_route",
                )?;
                (Some(hop), name)
            }
            None => {
                if let Some(n) = &f.gateway.default_route_tls_name {
                    return Err(self.err(
                        n.span(),
                        "gateway.default_route_tls_name",
                        "needs a sips: default_route",
                    ));
                }
                (None, None)
            }
        };
        let gateway = GatewaySettings {
            domains,
            state_dir: PathBuf::from(
                f.gateway
                    .state_dir
                    .clone()
                    .unwrap_or_else(|| "./state".into()),
            ),
            node_id,
            rng_seed: f.gateway.rng_seed,
            default_route,
            default_route_tls_name,
            drain_timeout: match &f.gateway.drain_timeout_s {
                None => Duration::from_secs(10),
                Some(d) if !(1..=600).contains(d.get_ref()) => {
                    return Err(self.err(
                        d.span(),
                        "gateway.drain_timeout_s",
                        "must be between 1 and 600",
                    ));
                }
                Some(d) => Duration::from_secs(*d.get_ref()),
            },
        };
        let dns = self.dns(&f.dns)?;
        let presence = self.presence(&f.presence)?;
        let xmpp = match &f.xmpp {
            Some(x) => Some(self.xmpp(x)?),
            None => None,
        };
        let mut routes = Vec::new();
        let mut route_tls_names = Vec::new();
        for r in &f.routes {
            let domain = self.pattern(&r.domain, "route.domain")?;
            let (next_hop, name) = self.next_hop(&r.via, r.tls_name.as_ref(), "route.via")?;
            routes.push(StaticRoute { domain, next_hop });
            route_tls_names.push(name);
        }
        let mut peers = Vec::new();
        for p in &f.peers {
            let mut networks = Vec::new();
            for a in &p.addresses {
                networks.push(
                    IpNet::parse(a.get_ref())
                        .map_err(|e| self.err(a.span(), "peer.addresses", e.to_string()))?,
                );
            }
            let mut pd = Vec::new();
            for d in &p.domains {
                pd.push(self.pattern(d, "peer.domains")?);
            }
            let mut tls_names = Vec::new();
            for n in &p.tls_names {
                tls_names.push(self.pattern(n, "peer.tls_names")?);
            }
            if networks.is_empty() && tls_names.is_empty() {
                return Err(self.err(
                    p.name.span(),
                    "peer",
                    "needs addresses or tls_names (how else is it recognised?)",
                ));
            }
            let rate = match (&p.rate, &p.burst) {
                (None, None) => None,
                (None, Some(b)) => {
                    return Err(self.err(b.span(), "peer.burst", "burst needs rate"));
                }
                (Some(r), b) => Some(self.rate(r, b.as_ref(), "peer.rate", "peer.burst")?),
            };
            peers.push(Peer {
                name: p.name.get_ref().clone(),
                networks,
                domains: pd,
                tls_names,
                rate,
            });
        }
        let unknown_peer = match &f.policy.unknown_peer {
            None => UnknownPeer::Reject,
            Some(s) => match s.get_ref().as_str() {
                "reject" => UnknownPeer::Reject,
                "allow" => UnknownPeer::Allow,
                _ => {
                    return Err(self.err(
                        s.span(),
                        "policy.unknown_peer",
                        "expected \"reject\" or \"allow\"",
                    ));
                }
            },
        };
        let mut deny = Vec::new();
        for d in f.policy.deny_destinations.iter().flatten() {
            deny.push(self.pattern(d, "policy.deny_destinations")?);
        }
        let mut domain_rules = Vec::new();
        for r in &f.domain_policies {
            let domain = self.pattern(&r.domain, "domain_policy.domain")?;
            let action = match (r.action.get_ref().as_str(), &r.rate, &r.burst) {
                ("allow", None, None) => DomainAction::Allow,
                ("deny", None, None) => DomainAction::Deny,
                ("allow" | "deny", Some(x), _) | ("allow" | "deny", None, Some(x)) => {
                    return Err(self.err(
                        x.span(),
                        "domain_policy",
                        "rate and burst only go with action = \"rate-limit\"",
                    ));
                }
                ("rate-limit", Some(rate), burst) => {
                    let r = self.rate(
                        rate,
                        burst.as_ref(),
                        "domain_policy.rate",
                        "domain_policy.burst",
                    )?;
                    DomainAction::RateLimit {
                        per_second: r.per_second,
                        burst: r.burst,
                    }
                }
                ("rate-limit", None, _) => {
                    return Err(self.err(
                        r.action.span(),
                        "domain_policy.rate",
                        "action = \"rate-limit\" needs rate",
                    ));
                }
                _ => {
                    return Err(self.err(
                        r.action.span(),
                        "domain_policy.action",
                        "expected \"allow\", \"deny\" or \"rate-limit\"",
                    ));
                }
            };
            let scope = match &r.scope {
                None => RateScope::Rule,
                Some(sc) if !matches!(action, DomainAction::RateLimit { .. }) => {
                    return Err(self.err(
                        sc.span(),
                        "domain_policy.scope",
                        "scope only goes with action = \"rate-limit\"",
                    ));
                }
                Some(sc) => match sc.get_ref().as_str() {
                    "rule" => RateScope::Rule,
                    "domain" => RateScope::Domain,
                    _ => {
                        return Err(self.err(
                            sc.span(),
                            "domain_policy.scope",
                            "expected \"rule\" or \"domain\"",
                        ));
                    }
                },
            };
            let max_subscriptions = match &r.max_subscriptions {
                None => None,
                Some(m) if !(1..=100_000_000).contains(m.get_ref()) => {
                    return Err(self.err(
                        m.span(),
                        "domain_policy.max_subscriptions",
                        "must be between 1 and 100000000",
                    ));
                }
                Some(m) => Some(*m.get_ref()),
            };
            domain_rules.push(DomainRule {
                domain,
                action,
                scope,
                require_tls: r.require_tls.unwrap_or(false),
                max_subscriptions,
            });
        }
        let policy = PolicyConfig {
            peers,
            unknown_peer,
            deny_destinations: deny,
            domain_rules,
        };
        let admin = AdminSettings {
            listen: match &f.admin.listen {
                None => SocketAddr::from(([127, 0, 0, 1], 9464)),
                Some(s) => s
                    .get_ref()
                    .parse()
                    .map_err(|_| self.err(s.span(), "admin.listen", "expected IP:port"))?,
            },
        };
        let log = LogSettings {
            format: match &f.log.format {
                None => LogFormat::Text,
                Some(s) => match s.get_ref().as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => {
                        return Err(self.err(
                            s.span(),
                            "log.format",
                            "expected \"text\" or \"json\"",
                        ));
                    }
                },
            },
            level: f.log.level.clone().unwrap_or_else(|| "info".into()),
            redact: f.log.redact.unwrap_or(true),
        };
        Ok(Config {
            sip,
            gateway,
            routes,
            route_tls_names,
            policy,
            dns,
            xmpp,
            presence,
            admin,
            log,
            tls,
        })
    }

    fn sip(&self, s: &file::SipSection, tls: &TlsSettings) -> Result<SipSettings, ConfigError> {
        let mut listen = Vec::new();
        match &s.listen {
            None => {
                let lo = SocketAddr::from(([127, 0, 0, 1], 5060));
                listen.push(Listen {
                    transport: Transport::Udp,
                    addr: lo,
                });
                listen.push(Listen {
                    transport: Transport::Tcp,
                    addr: lo,
                });
            }
            Some(list) => {
                for l in list {
                    let entry = self.listen(l)?;
                    if entry.transport == Transport::Tls && tls.certificate.is_none() {
                        return Err(self.err(
                            l.span(),
                            "sip.listen",
                            "a tls:// listener needs [tls] certificate and private_key",
                        ));
                    }
                    listen.push(entry);
                }
            }
        }
        let Some(first) = listen.first() else {
            return Err(ConfigError {
                origin: self.origin.to_string(),
                line: 0,
                column: 0,
                kind: ConfigErrorKind::Invalid {
                    key: "sip.listen",
                    reason: "at least one listener is needed".into(),
                },
            });
        };
        let advertise = match &s.advertise {
            Some(a) if a.get_ref().trim().is_empty() => {
                return Err(self.err(a.span(), "sip.advertise", "empty host"));
            }
            Some(a) => a.get_ref().clone(),
            None if first.addr.ip().is_unspecified() => "127.0.0.1".to_string(),
            None => match first.addr.ip() {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            },
        };
        let d = TransactionConfig::default();
        let ms = |v: &Option<Spanned<u64>>,
                  key: &'static str,
                  dflt: Duration|
         -> Result<Duration, ConfigError> {
            match v {
                None => Ok(dflt),
                Some(x) if *x.get_ref() == 0 || *x.get_ref() > 600_000 => {
                    Err(self.err(x.span(), key, "must be between 1 and 600000 ms"))
                }
                Some(x) => Ok(Duration::from_millis(*x.get_ref())),
            }
        };
        let transactions = TransactionConfig {
            t1: ms(&s.t1_ms, "sip.t1_ms", d.t1)?,
            t2: ms(&s.t2_ms, "sip.t2_ms", d.t2)?,
            t4: ms(&s.t4_ms, "sip.t4_ms", d.t4)?,
        };
        if let Some(t2) = &s.t2_ms
            && transactions.t2 < transactions.t1
        {
            return Err(self.err(t2.span(), "sip.t2_ms", "must not be below t1"));
        }
        let dl = Limits::default();
        let limits = Limits {
            max_header_bytes: s.max_header_bytes.unwrap_or(dl.max_header_bytes),
            max_headers: s.max_headers.unwrap_or(dl.max_headers),
            max_body_bytes: s.max_body_bytes.unwrap_or(dl.max_body_bytes),
            max_uri_len: s.max_uri_len.unwrap_or(dl.max_uri_len),
        };
        let reject_invite_with = match &s.reject_invite_with {
            None => StatusCode::NOT_ACCEPTABLE_HERE,
            Some(c) => match StatusCode::new(*c.get_ref()) {
                Some(sc)
                    if sc == StatusCode::NOT_ACCEPTABLE_HERE
                        || sc == StatusCode::NOT_ACCEPTABLE_GLOBAL =>
                {
                    sc
                }
                _ => {
                    return Err(self.err(
                        c.span(),
                        "sip.reject_invite_with",
                        "expected 488 or 606",
                    ));
                }
            },
        };
        let bounded = |v: &Option<Spanned<usize>>,
                       key: &'static str,
                       lo: usize,
                       hi: usize,
                       dflt: usize|
         -> Result<usize, ConfigError> {
            match v {
                None => Ok(dflt),
                Some(x) if !(lo..=hi).contains(x.get_ref()) => {
                    Err(self.err(x.span(), key, format!("must be between {lo} and {hi}")))
                }
                Some(x) => Ok(*x.get_ref()),
            }
        };
        let max_server_transactions = bounded(
            &s.max_server_transactions,
            "sip.max_server_transactions",
            100,
            10_000_000,
            50_000,
        )?;
        let max_queued_per_destination = bounded(
            &s.max_queued_per_destination,
            "sip.max_queued_per_destination",
            1,
            10_000,
            crate::gateway::DEFAULT_MAX_QUEUED_PER_DESTINATION,
        )?;
        Ok(SipSettings {
            listen,
            advertise,
            transactions,
            limits,
            max_transactions: s.max_transactions.unwrap_or(10_000).max(1),
            max_server_transactions,
            max_queued_per_destination,
            max_tcp_connections: s.max_tcp_connections.unwrap_or(1024).max(1),
            udp_recv_buffer_bytes: s.udp_recv_buffer_bytes.unwrap_or(4 << 20),
            reject_invite_with,
        })
    }

    /// A token-bucket rate: `rate` per second (> 0, ≤ 10⁶) and `burst`
    /// (1..=10⁶, default: the rate, at least 1).
    fn rate(
        &self,
        rate: &Spanned<f64>,
        burst: Option<&Spanned<f64>>,
        rate_key: &'static str,
        burst_key: &'static str,
    ) -> Result<Rate, ConfigError> {
        let per_second = *rate.get_ref();
        if !(per_second > 0.0 && per_second <= 1.0e6) {
            return Err(self.err(
                rate.span(),
                rate_key,
                "must be > 0 and ≤ 1000000 per second",
            ));
        }
        let burst_v = burst.map(|b| *b.get_ref()).unwrap_or(per_second.max(1.0));
        if !(1.0..=1.0e6).contains(&burst_v) {
            let span = burst.map(|b| b.span()).unwrap_or(rate.span());
            return Err(self.err(span, burst_key, "must be between 1 and 1000000"));
        }
        Ok(Rate {
            per_second,
            burst: burst_v,
        })
    }

    fn listen(&self, l: &Spanned<String>) -> Result<Listen, ConfigError> {
        let s = l.get_ref();
        let (scheme, rest) = s.split_once("://").ok_or_else(|| {
            self.err(
                l.span(),
                "sip.listen",
                "expected udp://IP:port, tcp://IP:port or tls://IP:port",
            )
        })?;
        let transport = Transport::parse(scheme).ok_or_else(|| {
            self.err(
                l.span(),
                "sip.listen",
                format!("unsupported transport {scheme:?} (udp, tcp or tls)"),
            )
        })?;
        let addr = rest.parse().map_err(|_| {
            self.err(
                l.span(),
                "sip.listen",
                "expected IP:port (hostnames are not allowed)",
            )
        })?;
        Ok(Listen { transport, addr })
    }

    fn pattern(
        &self,
        d: &Spanned<String>,
        key: &'static str,
    ) -> Result<DomainPattern, ConfigError> {
        DomainPattern::parse(d.get_ref()).map_err(|e| self.err(d.span(), key, e.to_string()))
    }

    fn xmpp(&self, x: &file::XmppSection) -> Result<XmppSettings, ConfigError> {
        let server = x.server.get_ref().parse::<SocketAddr>().map_err(|_| {
            self.err(
                x.server.span(),
                "xmpp.server",
                "expected IP:port (hostnames are not allowed)",
            )
        })?;
        let domain = crate::xmpp::Jid::parse(x.component.get_ref())
            .ok()
            .filter(|j| j.local().is_none() && j.resource().is_none())
            .ok_or_else(|| {
                self.err(
                    x.component.span(),
                    "xmpp.component",
                    "expected a bare domain such as cpim.xmpp.test",
                )
            })?;
        if x.secret.get_ref().is_empty() {
            return Err(self.err(x.secret.span(), "xmpp.secret", "must not be empty"));
        }
        let mut c = crate::xmpp::ComponentConfig::new(
            domain,
            crate::xmpp::Secret::new(x.secret.get_ref().clone()),
        );
        let secs = |v: &Option<Spanned<u64>>,
                    key: &'static str,
                    max: u64|
         -> Result<Option<Duration>, ConfigError> {
            match v {
                None => Ok(None),
                Some(n) if *n.get_ref() == 0 || *n.get_ref() > max => {
                    Err(self.err(n.span(), key, format!("must be between 1 and {max}")))
                }
                Some(n) => Ok(Some(Duration::from_secs(*n.get_ref()))),
            }
        };
        if let Some(d) = secs(&x.ping_interval_s, "xmpp.ping_interval_s", 3600)? {
            c.ping_interval = d;
        }
        if let Some(d) = secs(&x.ping_timeout_s, "xmpp.ping_timeout_s", 600)? {
            c.ping_timeout = d;
        }
        if let Some(d) = secs(&x.backoff_max_s, "xmpp.backoff_max_s", 3600)? {
            c.backoff_max = d;
        }
        if let Some(d) = secs(
            &x.auth_failure_backoff_s,
            "xmpp.auth_failure_backoff_s",
            86_400,
        )? {
            c.auth_failure_backoff = d;
        }
        if let Some(ms) = &x.backoff_min_ms {
            if *ms.get_ref() == 0 || *ms.get_ref() > 600_000 {
                return Err(self.err(
                    ms.span(),
                    "xmpp.backoff_min_ms",
                    "must be between 1 and 600000",
                ));
            }
            c.backoff_min = Duration::from_millis(*ms.get_ref());
        }
        if c.backoff_min > c.backoff_max {
            let span = x
                .backoff_min_ms
                .as_ref()
                .map(|m| m.span())
                .unwrap_or(x.server.span());
            return Err(self.err(span, "xmpp.backoff_min_ms", "must not exceed backoff_max_s"));
        }
        let mut domains = Vec::new();
        for d in x.domains.iter().flatten() {
            domains.push(self.pattern(d, "xmpp.domains")?);
        }
        let address_mode = match x.address_mode.as_ref().map(|m| m.get_ref().as_str()) {
            None | Some("gateway-subdomain") => crate::translate::address::Mode::GatewaySubdomain {
                component: c.domain.to_string(),
                accept_legacy_percent: x.legacy_percent.unwrap_or(false),
            },
            Some("same-domain") => crate::translate::address::Mode::SameDomain,
            Some(_) => {
                let span = x
                    .address_mode
                    .as_ref()
                    .map(|m| m.span())
                    .unwrap_or(x.server.span());
                return Err(self.err(
                    span,
                    "xmpp.address_mode",
                    "expected \"gateway-subdomain\" or \"same-domain\"",
                ));
            }
        };
        let error_window = match &x.error_window_ms {
            None => Duration::from_millis(300),
            Some(w) if *w.get_ref() > 30_000 => {
                return Err(self.err(
                    w.span(),
                    "xmpp.error_window_ms",
                    "must be at most 30000 (Timer F is 32 s)",
                ));
            }
            Some(w) => Duration::from_millis(*w.get_ref()),
        };
        let mut wrap_cpim_domains = Vec::new();
        for d in x.wrap_cpim_domains.iter().flatten() {
            wrap_cpim_domains.push(self.pattern(d, "xmpp.wrap_cpim_domains")?);
        }
        let composing_refresh = match &x.composing_refresh_s {
            None => Duration::from_secs(90),
            Some(r) if !(60..=3600).contains(r.get_ref()) => {
                return Err(self.err(
                    r.span(),
                    "xmpp.composing_refresh_s",
                    "must be between 60 and 3600 (RFC 3994 §3.2: at least 60)",
                ));
            }
            Some(r) => Duration::from_secs(*r.get_ref()),
        };
        let composing_max_active = match &x.composing_max_active_s {
            None => Duration::from_secs(300),
            Some(m) if !(1..=86_400).contains(m.get_ref()) => {
                return Err(self.err(
                    m.span(),
                    "xmpp.composing_max_active_s",
                    "must be between 1 and 86400",
                ));
            }
            Some(m) => Duration::from_secs(*m.get_ref()),
        };
        let max_write_queue_bytes = match &x.max_write_queue_bytes {
            None => crate::io::DEFAULT_XMPP_WRITE_QUEUE_BYTES,
            Some(m) if !(65_536..=1 << 30).contains(m.get_ref()) => {
                return Err(self.err(
                    m.span(),
                    "xmpp.max_write_queue_bytes",
                    "must be between 65536 and 1073741824",
                ));
            }
            Some(m) => *m.get_ref(),
        };
        let tls_name = match (x.tls.unwrap_or(false), &x.tls_name) {
            (false, Some(n)) => {
                return Err(self.err(n.span(), "xmpp.tls_name", "needs xmpp.tls = true"));
            }
            (false, None) => None,
            (true, None) => Some(server.ip().to_string()),
            (true, Some(n)) => {
                let name = n.get_ref().trim();
                if rustls::pki_types::ServerName::try_from(name.to_string()).is_err() {
                    return Err(self.err(
                        n.span(),
                        "xmpp.tls_name",
                        "must be a DNS name or an IP address",
                    ));
                }
                Some(name.to_string())
            }
        };
        Ok(XmppSettings {
            max_write_queue_bytes,
            tls_name,
            server,
            component: c,
            domains,
            address_mode,
            error_window,
            wrap_cpim: x.wrap_cpim.unwrap_or(false),
            wrap_cpim_domains,
            composing_refresh,
            composing_max_active,
        })
    }

    fn presence(
        &self,
        p: &file::PresenceSection,
    ) -> Result<crate::gateway::PresenceConfig, ConfigError> {
        fn ranged<T: Copy + PartialOrd + fmt::Display>(
            v: &Validator<'_>,
            x: &Option<Spanned<T>>,
            key: &'static str,
            lo: T,
            hi: T,
            default: T,
        ) -> Result<T, ConfigError> {
            match x {
                None => Ok(default),
                Some(s) if *s.get_ref() < lo || *s.get_ref() > hi => {
                    Err(v.err(s.span(), key, format!("must be between {lo} and {hi}")))
                }
                Some(s) => Ok(*s.get_ref()),
            }
        }
        let d = crate::gateway::PresenceConfig::default();
        let min_expires = ranged(
            self,
            &p.min_expires_s,
            "presence.min_expires_s",
            1,
            3600,
            d.min_expires,
        )?;
        let max_expires = ranged(
            self,
            &p.max_expires_s,
            "presence.max_expires_s",
            1,
            86_400,
            d.max_expires,
        )?;
        if max_expires < min_expires {
            let span = p
                .max_expires_s
                .as_ref()
                .or(p.min_expires_s.as_ref())
                .map_or(0..0, Spanned::span);
            return Err(self.err(
                span,
                "presence.max_expires_s",
                "must not be below presence.min_expires_s",
            ));
        }
        let default_expires = ranged(
            self,
            &p.default_expires_s,
            "presence.default_expires_s",
            min_expires,
            max_expires,
            d.default_expires.clamp(min_expires, max_expires),
        )?;
        let ms = |x: &Option<Spanned<u64>>, key, lo, hi, def: Duration| {
            ranged(
                self,
                x,
                key,
                lo,
                hi,
                u64::try_from(def.as_millis()).unwrap_or(u64::MAX),
            )
            .map(Duration::from_millis)
        };
        Ok(crate::gateway::PresenceConfig {
            enabled: p.enabled.unwrap_or(true),
            min_expires,
            max_expires,
            default_expires,
            notify_interval: ms(
                &p.notify_interval_ms,
                "presence.notify_interval_ms",
                0,
                600_000,
                d.notify_interval,
            )?,
            first_notify_grace: ms(
                &p.first_notify_grace_ms,
                "presence.first_notify_grace_ms",
                0,
                60_000,
                d.first_notify_grace,
            )?,
            max_per_watcher: ranged(
                self,
                &p.max_per_watcher,
                "presence.max_per_watcher",
                1,
                1_000_000,
                d.max_per_watcher,
            )?,
            max_per_presentity: ranged(
                self,
                &p.max_per_presentity,
                "presence.max_per_presentity",
                1,
                10_000_000,
                d.max_per_presentity,
            )?,
            max_total: ranged(
                self,
                &p.max_total,
                "presence.max_total",
                1,
                100_000_000,
                d.max_total,
            )?,
            refresh_lead: Duration::from_secs(ranged(
                self,
                &p.refresh_lead_s,
                "presence.refresh_lead_s",
                1,
                3600,
                d.refresh_lead.as_secs(),
            )?),
            watcher_probe_wait: ms(
                &p.watcher_probe_wait_ms,
                "presence.watcher_probe_wait_ms",
                0,
                60_000,
                d.watcher_probe_wait,
            )?,
        })
    }

    fn dns(&self, d: &file::DnsSection) -> Result<DnsSettings, ConfigError> {
        let mut out = DnsSettings {
            enabled: d.enabled.unwrap_or(true),
            ..DnsSettings::default()
        };
        for ns in d.nameservers.iter().flatten() {
            let addr = ns
                .get_ref()
                .parse::<SocketAddr>()
                .or_else(|_| {
                    ns.get_ref()
                        .parse::<std::net::IpAddr>()
                        .map(|ip| SocketAddr::new(ip, 53))
                })
                .map_err(|_| self.err(ns.span(), "dns.nameservers", "expected IP or IP:port"))?;
            out.nameservers.push(addr);
        }
        if let Some(t) = &d.timeout_ms {
            if *t.get_ref() == 0 || *t.get_ref() > 60_000 {
                return Err(self.err(t.span(), "dns.timeout_ms", "must be between 1 and 60000"));
            }
            out.timeout = Duration::from_millis(*t.get_ref());
        }
        if let Some(a) = &d.attempts {
            if *a.get_ref() == 0 || *a.get_ref() > 10 {
                return Err(self.err(a.span(), "dns.attempts", "must be between 1 and 10"));
            }
            out.attempts = *a.get_ref();
        }
        if let Some(n) = &d.negative_ttl_s {
            out.cache.negative_ttl = Duration::from_secs(*n.get_ref());
        }
        if let Some(m) = &d.max_ttl_s {
            out.cache.max_ttl = Duration::from_secs(*m.get_ref());
        }
        if let Some(c) = d.cache_size {
            out.cache.capacity = c;
        }
        if let Some(pref) = &d.preference {
            let mut list = Vec::new();
            for p in pref {
                list.push(match p.get_ref().as_str() {
                    "sip" => crate::route::Binding::Sip,
                    "xmpp" => crate::route::Binding::Xmpp,
                    _ => {
                        return Err(self.err(
                            p.span(),
                            "dns.preference",
                            "expected \"sip\" or \"xmpp\"",
                        ));
                    }
                });
            }
            out.resolution.preference = list;
        }
        Ok(out)
    }

    /// A configured next hop: an IP-literal `sip:` or `sips:` URI. A
    /// `sips:` URI (RFC 5630 §3) or `transport=tls` goes over TLS; its
    /// server certificate must match `tls_name` when given, else the IP
    /// literal (an IP subjectAltName, RFC 5922 §4 names only DNS identities,
    /// so an IP hop needs a certificate issued for the address).
    fn next_hop(
        &self,
        via: &Spanned<String>,
        tls_name: Option<&Spanned<String>>,
        key: &'static str,
    ) -> Result<(NextHop, Option<Arc<str>>), ConfigError> {
        let uri = SipUri::parse(via.get_ref(), &Limits::default())
            .map_err(|e| self.err(via.span(), key, format!("not a SIP URI: {e}")))?;
        let secure = match uri.scheme() {
            "sip" => false,
            "sips" => true,
            _ => {
                return Err(self.err(via.span(), key, "only sip: and sips: next hops"));
            }
        };
        let host = uri.host().trim_start_matches('[').trim_end_matches(']');
        let ip: std::net::IpAddr = host.parse().map_err(|_| {
            self.err(
                via.span(),
                key,
                "the host must be an IP address (names are resolved only for destinations, not for configured next hops; for TLS put the certificate name in tls_name)",
            )
        })?;
        let transport = match (secure, uri.param("transport")) {
            (false, None) => Transport::Udp,
            // RFC 5630 §3.3: sips: means TLS over TCP; transport=tcp is the
            // only other value that fits.
            (true, None) => Transport::Tls,
            (true, Some(_)) => match uri.transport() {
                Some(Transport::Tcp | Transport::Tls) => Transport::Tls,
                _ => {
                    return Err(self.err(
                        via.span(),
                        key,
                        "a sips: next hop runs over TLS (transport=tcp or tls, or none)",
                    ));
                }
            },
            (false, Some(_)) => uri
                .transport()
                .ok_or_else(|| self.err(via.span(), key, "transport must be udp, tcp or tls"))?,
        };
        let port = uri.port().unwrap_or(match transport {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        });
        let name: Option<Arc<str>> = match (transport, tls_name) {
            (Transport::Tls, Some(n)) => {
                let v = n.get_ref().trim().trim_end_matches('.');
                if rustls_pki_types::ServerName::try_from(v).is_err() {
                    return Err(self.err(n.span(), "tls_name", "not a DNS name or IP address"));
                }
                Some(Arc::from(v.to_ascii_lowercase()))
            }
            (Transport::Tls, None) => Some(Arc::from(ip.to_string())),
            (Transport::Udp | Transport::Tcp, Some(n)) => {
                return Err(self.err(
                    n.span(),
                    "tls_name",
                    "only for sips: or transport=tls next hops",
                ));
            }
            (Transport::Udp | Transport::Tcp, None) => None,
        };
        Ok((
            NextHop {
                addr: SocketAddr::new(ip, port),
                transport,
            },
            name,
        ))
    }

    fn tls(&self, t: &file::TlsSection) -> Result<TlsSettings, ConfigError> {
        let d = TlsSettings::default();
        let path = |v: &Spanned<String>, key: &'static str| -> Result<PathBuf, ConfigError> {
            if v.get_ref().trim().is_empty() {
                return Err(self.err(v.span(), key, "empty path"));
            }
            Ok(PathBuf::from(v.get_ref()))
        };
        let certificate = match &t.certificate {
            Some(c) => {
                let p = path(c, "tls.certificate")?;
                let n = crate::io::tls::load_certificates(&p)
                    .map_err(|e| self.err(c.span(), "tls.certificate", e.to_string()))?
                    .len();
                tracing::trace!(certificates = n, "tls.certificate read");
                Some(p)
            }
            None => None,
        };
        let private_key = match &t.private_key {
            Some(k) => {
                let p = path(k, "tls.private_key")?;
                // Read to check it; the key itself is dropped at once.
                crate::io::tls::load_private_key(&p)
                    .map_err(|e| self.err(k.span(), "tls.private_key", e.to_string()))?;
                Some(p)
            }
            None => None,
        };
        match (&t.certificate, &t.private_key) {
            (Some(c), None) => {
                return Err(self.err(c.span(), "tls.private_key", "certificate needs private_key"));
            }
            (None, Some(k)) => {
                return Err(self.err(k.span(), "tls.certificate", "private_key needs certificate"));
            }
            _ => {}
        }
        let ca_file = match &t.ca_file {
            Some(c) => {
                let p = path(c, "tls.ca_file")?;
                crate::io::tls::load_certificates(&p)
                    .map_err(|e| self.err(c.span(), "tls.ca_file", e.to_string()))?;
                Some(p)
            }
            None => None,
        };
        let client_auth = match &t.client_auth {
            None => ClientAuth::None,
            Some(a) => {
                let mode = match a.get_ref().as_str() {
                    "none" => ClientAuth::None,
                    "optional" => ClientAuth::Optional,
                    "required" => ClientAuth::Required,
                    _ => {
                        return Err(self.err(
                            a.span(),
                            "tls.client_auth",
                            "expected \"none\", \"optional\" or \"required\"",
                        ));
                    }
                };
                if mode != ClientAuth::None && ca_file.is_none() {
                    return Err(self.err(
                        a.span(),
                        "tls.client_auth",
                        "mutual TLS needs tls.ca_file (the CA client certificates are verified against)",
                    ));
                }
                if mode != ClientAuth::None && certificate.is_none() {
                    return Err(self.err(
                        a.span(),
                        "tls.client_auth",
                        "mutual TLS needs a tls:// listener's certificate and private_key",
                    ));
                }
                mode
            }
        };
        let ranged =
            |v: &Option<Spanned<u64>>, key: &'static str, lo: u64, hi: u64, def: u64| match v {
                None => Ok(def),
                Some(x) if !(lo..=hi).contains(x.get_ref()) => {
                    Err(self.err(x.span(), key, format!("must be between {lo} and {hi}")))
                }
                Some(x) => Ok(*x.get_ref()),
            };
        let max_connections = match &t.max_connections {
            None => d.max_connections,
            Some(m) if !(1..=1_000_000).contains(m.get_ref()) => {
                return Err(self.err(
                    m.span(),
                    "tls.max_connections",
                    "must be between 1 and 1000000",
                ));
            }
            Some(m) => *m.get_ref(),
        };
        Ok(TlsSettings {
            certificate,
            private_key,
            ca_file,
            client_auth,
            danger_accept_invalid_certs: t.danger_accept_invalid_certs.unwrap_or(false),
            max_connections,
            idle_timeout: Duration::from_secs(ranged(
                &t.idle_timeout_s,
                "tls.idle_timeout_s",
                1,
                86_400,
                d.idle_timeout.as_secs(),
            )?),
            handshake_timeout: Duration::from_millis(ranged(
                &t.handshake_timeout_ms,
                "tls.handshake_timeout_ms",
                100,
                60_000,
                5000,
            )?),
        })
    }
}

/// 1-based line and column of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = src.get(..offset.min(src.len())).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests;

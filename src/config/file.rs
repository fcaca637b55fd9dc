//! The TOML schema of the configuration file, exactly as an operator writes
//! it. Unknown keys are rejected (`deny_unknown_fields`); values that need
//! checking keep their source span so that errors can name file and line.
//! Validation into the settings the cores use happens in `config/mod.rs`.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    #[serde(default)]
    pub(crate) sip: SipSection,
    #[serde(default)]
    pub(crate) gateway: GatewaySection,
    #[serde(default, rename = "route")]
    pub(crate) routes: Vec<RouteEntry>,
    #[serde(default, rename = "peer")]
    pub(crate) peers: Vec<PeerEntry>,
    #[serde(default, rename = "domain_policy")]
    pub(crate) domain_policies: Vec<DomainPolicyEntry>,
    #[serde(default)]
    pub(crate) policy: PolicySection,
    #[serde(default)]
    pub(crate) dns: DnsSection,
    pub(crate) xmpp: Option<XmppSection>,
    #[serde(default)]
    pub(crate) presence: PresenceSection,
    #[serde(default)]
    pub(crate) admin: AdminSection,
    #[serde(default)]
    pub(crate) log: LogSection,
    #[serde(default)]
    pub(crate) tls: TlsSection,
}

/// `[sip]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SipSection {
    pub(crate) listen: Option<Vec<Spanned<String>>>,
    pub(crate) advertise: Option<Spanned<String>>,
    pub(crate) t1_ms: Option<Spanned<u64>>,
    pub(crate) t2_ms: Option<Spanned<u64>>,
    pub(crate) t4_ms: Option<Spanned<u64>>,
    pub(crate) max_header_bytes: Option<usize>,
    pub(crate) max_headers: Option<usize>,
    pub(crate) max_body_bytes: Option<usize>,
    pub(crate) max_uri_len: Option<usize>,
    pub(crate) max_transactions: Option<usize>,
    pub(crate) max_server_transactions: Option<Spanned<usize>>,
    pub(crate) max_queued_per_destination: Option<Spanned<usize>>,
    pub(crate) max_tcp_connections: Option<usize>,
    pub(crate) udp_recv_buffer_bytes: Option<usize>,
    pub(crate) reject_invite_with: Option<Spanned<u16>>,
}

/// `[gateway]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GatewaySection {
    pub(crate) domains: Option<Vec<Spanned<String>>>,
    pub(crate) state_dir: Option<String>,
    pub(crate) node_id: Option<Spanned<String>>,
    pub(crate) rng_seed: Option<u64>,
    pub(crate) default_route: Option<Spanned<String>>,
    pub(crate) default_route_tls_name: Option<Spanned<String>>,
    pub(crate) drain_timeout_s: Option<Spanned<u64>>,
}

/// `[presence]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresenceSection {
    pub(crate) enabled: Option<bool>,
    pub(crate) min_expires_s: Option<Spanned<u32>>,
    pub(crate) max_expires_s: Option<Spanned<u32>>,
    pub(crate) default_expires_s: Option<Spanned<u32>>,
    pub(crate) notify_interval_ms: Option<Spanned<u64>>,
    pub(crate) first_notify_grace_ms: Option<Spanned<u64>>,
    pub(crate) max_per_watcher: Option<Spanned<usize>>,
    pub(crate) max_per_presentity: Option<Spanned<usize>>,
    pub(crate) max_total: Option<Spanned<usize>>,
    pub(crate) refresh_lead_s: Option<Spanned<u64>>,
    pub(crate) watcher_probe_wait_ms: Option<Spanned<u64>>,
}

/// `[dns]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DnsSection {
    pub(crate) enabled: Option<bool>,
    pub(crate) nameservers: Option<Vec<Spanned<String>>>,
    pub(crate) timeout_ms: Option<Spanned<u64>>,
    pub(crate) attempts: Option<Spanned<usize>>,
    pub(crate) negative_ttl_s: Option<Spanned<u64>>,
    pub(crate) max_ttl_s: Option<Spanned<u64>>,
    pub(crate) cache_size: Option<usize>,
    pub(crate) preference: Option<Vec<Spanned<String>>>,
}

/// `[[route]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteEntry {
    pub(crate) domain: Spanned<String>,
    pub(crate) via: Spanned<String>,
    pub(crate) tls_name: Option<Spanned<String>>,
}

/// `[[peer]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeerEntry {
    pub(crate) name: Spanned<String>,
    #[serde(default)]
    pub(crate) addresses: Vec<Spanned<String>>,
    pub(crate) domains: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) tls_names: Vec<Spanned<String>>,
    pub(crate) rate: Option<Spanned<f64>>,
    pub(crate) burst: Option<Spanned<f64>>,
}

/// `[tls]`: certificate, key and trust for SIP over TLS. Only file paths
/// are held here; the key material is read by `config/mod.rs` to check it
/// and by `src/io/tls.rs` to use it, and never reaches `Debug`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsSection {
    pub(crate) certificate: Option<Spanned<String>>,
    pub(crate) private_key: Option<Spanned<String>>,
    pub(crate) ca_file: Option<Spanned<String>>,
    pub(crate) client_auth: Option<Spanned<String>>,
    pub(crate) danger_accept_invalid_certs: Option<bool>,
    pub(crate) max_connections: Option<Spanned<usize>>,
    pub(crate) idle_timeout_s: Option<Spanned<u64>>,
    pub(crate) handshake_timeout_ms: Option<Spanned<u64>>,
}

/// `[[domain_policy]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DomainPolicyEntry {
    pub(crate) domain: Spanned<String>,
    pub(crate) action: Spanned<String>,
    pub(crate) rate: Option<Spanned<f64>>,
    pub(crate) burst: Option<Spanned<f64>>,
    pub(crate) scope: Option<Spanned<String>>,
    pub(crate) require_tls: Option<bool>,
    pub(crate) max_subscriptions: Option<Spanned<usize>>,
}

/// `[policy]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicySection {
    pub(crate) unknown_peer: Option<Spanned<String>>,
    pub(crate) deny_destinations: Option<Vec<Spanned<String>>>,
}

/// `[xmpp]`: the XEP-0114 component link. The secret is wrapped in a
/// redacting type as soon as it is validated.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct XmppSection {
    pub(crate) server: Spanned<String>,
    pub(crate) component: Spanned<String>,
    pub(crate) secret: Spanned<String>,
    pub(crate) ping_interval_s: Option<Spanned<u64>>,
    pub(crate) ping_timeout_s: Option<Spanned<u64>>,
    pub(crate) backoff_min_ms: Option<Spanned<u64>>,
    pub(crate) backoff_max_s: Option<Spanned<u64>>,
    pub(crate) auth_failure_backoff_s: Option<Spanned<u64>>,
    pub(crate) domains: Option<Vec<Spanned<String>>>,
    pub(crate) address_mode: Option<Spanned<String>>,
    pub(crate) legacy_percent: Option<bool>,
    pub(crate) error_window_ms: Option<Spanned<u64>>,
    pub(crate) wrap_cpim: Option<bool>,
    pub(crate) wrap_cpim_domains: Option<Vec<Spanned<String>>>,
    pub(crate) composing_refresh_s: Option<Spanned<u64>>,
    pub(crate) composing_max_active_s: Option<Spanned<u64>>,
    pub(crate) max_write_queue_bytes: Option<Spanned<usize>>,
    pub(crate) tls: Option<bool>,
    pub(crate) tls_name: Option<Spanned<String>>,
}

impl std::fmt::Debug for XmppSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmppSection")
            .field("server", &self.server)
            .field("component", &self.component)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// `[admin]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminSection {
    pub(crate) listen: Option<Spanned<String>>,
}

/// `[log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogSection {
    pub(crate) format: Option<Spanned<String>>,
    pub(crate) level: Option<String>,
    pub(crate) redact: Option<bool>,
}

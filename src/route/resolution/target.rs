//! What a resolution is asked to find ([`Target`]) and the settings that
//! steer it ([`ResolutionConfig`]). Targets are built only through checked
//! constructors (house style B.12), so the state machine never sees an
//! invalid domain.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::route::records::{SipTransport, fqdn};
use crate::route::resolution::RouteError;

/// The binding (protocol side of the gateway) a destination is reached by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Binding {
    /// SIP/SIMPLE (RFC 3428, RFC 3856): `_sip` protocol label (RFC 5509).
    Sip,
    /// XMPP: `_xmpp` protocol label (RFC 3921 §11, dropped by RFC 6121;
    /// conflict C5).
    Xmpp,
}

impl Binding {
    /// The RFC 3861 §4 protocol label: `_sip` or `_xmpp`.
    pub fn proto_label(self) -> &'static str {
        match self {
            Binding::Sip => "_sip",
            Binding::Xmpp => "_xmpp",
        }
    }

    /// `sip` or `xmpp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Sip => "sip",
            Binding::Xmpp => "xmpp",
        }
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The CPIM service of an `im:` or `pres:` URI (RFC 3860 §3.2, RFC 3859
/// §3.2), which picks the RFC 3861 §4 service label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// Instant messaging: `_im`.
    Im,
    /// Presence: `_pres`.
    Pres,
}

impl Service {
    /// `_im` or `_pres`.
    pub fn label(self) -> &'static str {
        match self {
            Service::Im => "_im",
            Service::Pres => "_pres",
        }
    }

    /// The URI scheme: `im` or `pres`.
    pub fn scheme(self) -> &'static str {
        match self {
            Service::Im => "im",
            Service::Pres => "pres",
        }
    }
}

/// A host of a SIP URI: an IP literal or a domain name (normalised FQDN).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Host {
    Ip(IpAddr),
    Name(String),
}

/// What to resolve. Build with [`Target::service`] or [`Target::sip`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target(pub(crate) TargetKind);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TargetKind {
    /// RFC 3861: the domain of an `im:`/`pres:` URI.
    Service { service: Service, domain: String },
    /// RFC 3263 §4: the host part of a `sip:`/`sips:` URI.
    Sip {
        host: Host,
        port: Option<u16>,
        transport: Option<SipTransport>,
        secure: bool,
    },
}

impl Target {
    /// The domain of an `im:` or `pres:` destination (RFC 3861 §3: only
    /// fully qualified names; no completion of partial names is done).
    pub fn service(service: Service, domain: &str) -> Result<Target, RouteError> {
        Ok(Target(TargetKind::Service {
            service,
            domain: check_domain(domain)?,
        }))
    }

    /// A SIP next hop (RFC 3263 §4): the URI host (a name, an IPv4 literal
    /// or a bracketed or bare IPv6 literal), its explicit port, its
    /// `transport=` parameter, and whether the scheme is `sips`.
    pub fn sip(
        host: &str,
        port: Option<u16>,
        transport: Option<SipTransport>,
        secure: bool,
    ) -> Result<Target, RouteError> {
        let trimmed = host.trim();
        let bare = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let host = match bare {
            Some(v6) => Host::Ip(IpAddr::V6(
                v6.parse::<Ipv6Addr>()
                    .map_err(|_| RouteError::InvalidDomain(host.to_owned()))?,
            )),
            None => match trimmed.parse::<IpAddr>() {
                Ok(ip) => Host::Ip(ip),
                Err(_) => Host::Name(check_domain(trimmed)?),
            },
        };
        Ok(Target(TargetKind::Sip {
            host,
            port,
            transport,
            secure,
        }))
    }

    /// The domain (or IP literal) being resolved, for logs and errors.
    pub fn domain(&self) -> String {
        match &self.0 {
            TargetKind::Service { domain, .. } => domain.clone(),
            TargetKind::Sip {
                host: Host::Name(n),
                ..
            } => n.clone(),
            TargetKind::Sip {
                host: Host::Ip(ip), ..
            } => ip.to_string(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            TargetKind::Service { service, domain } => write!(f, "{}:{}", service.scheme(), domain),
            TargetKind::Sip {
                host,
                port,
                transport,
                secure,
            } => {
                f.write_str(if *secure { "sips:" } else { "sip:" })?;
                match host {
                    Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
                    Host::Ip(ip) => write!(f, "{ip}")?,
                    Host::Name(n) => f.write_str(n)?,
                }
                if let Some(p) = port {
                    write!(f, ":{p}")?;
                }
                if let Some(t) = transport {
                    write!(f, ";transport={}", t.as_str().to_ascii_lowercase())?;
                }
                Ok(())
            }
        }
    }
}

/// Checks a domain name (RFC 1035 §2.3.4 lengths; letters, digits, `-` and
/// `_`) and returns it normalised.
fn check_domain(domain: &str) -> Result<String, RouteError> {
    let bad = || RouteError::InvalidDomain(domain.to_owned());
    let name = fqdn(domain);
    let body = name.strip_suffix('.').unwrap_or(&name);
    if body.is_empty() || body.len() > 253 {
        return Err(bad());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !body.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(name)
}

/// Which address records to ask for, and in which order their addresses
/// are tried (RFC 3263 §4.2 leaves this to the client).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AddressFamilies {
    /// A only.
    V4Only,
    /// AAAA only.
    V6Only,
    /// A and AAAA; IPv4 addresses first.
    #[default]
    V4ThenV6,
    /// A and AAAA; IPv6 addresses first.
    V6ThenV4,
}

/// Settings of a resolution. `Default` gives the gateway's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolutionConfig {
    /// RFC 3861 §4: the protocol labels to try for `im:`/`pres:`, most
    /// preferred first. The first one with usable SRV records serves the
    /// domain. Default `[Sip, Xmpp]` (standards.md §4.2 step 2).
    pub preference: Vec<Binding>,
    /// RFC 3263 §4.1: the SIP transports this gateway supports, most
    /// preferred first. NAPTR records for others are discarded and SRV
    /// probing asks only for these. Default `[Udp, Tcp]`.
    pub sip_transports: Vec<SipTransport>,
    /// Transport used towards a target found under `_im._sip`/`_pres._sip`,
    /// whose label names no transport (RFC 5509). RFC 3263 §4.1 gives UDP
    /// for a host with an explicit port and no `transport=`. Default UDP.
    pub im_sip_transport: SipTransport,
    /// When no RFC 3861 label of an `im:`/`pres:` domain exists, resolve the
    /// domain as `sip:<domain>` by RFC 3263 (NAPTR, `_sip._udp`/`_sip._tcp`,
    /// then A/AAAA at 5060) if SIP is in `preference`. That includes the
    /// RFC 3861 §4 "implicit SRV to the domain at the default port" rule.
    /// Default true.
    pub sip_fallback: bool,
    /// Which address records to ask for.
    pub families: AddressFamilies,
    /// Longest CNAME chain followed for one lookup (RFC 1034 §3.6.2 leaves
    /// it to the resolver). Default 8.
    pub max_cname_chain: usize,
    /// Most DNS lookups one resolution may make, cache hits included.
    /// Default 32.
    pub max_queries: usize,
}

impl Default for ResolutionConfig {
    fn default() -> Self {
        ResolutionConfig {
            preference: vec![Binding::Sip, Binding::Xmpp],
            sip_transports: vec![SipTransport::Udp, SipTransport::Tcp],
            im_sip_transport: SipTransport::Udp,
            sip_fallback: true,
            families: AddressFamilies::default(),
            max_cname_chain: 8,
            max_queries: 32,
        }
    }
}

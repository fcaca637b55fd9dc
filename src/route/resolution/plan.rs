//! The result of a resolution: an ordered failover [`Plan`] of
//! [`Candidate`]s, or a [`RouteError`].

use std::fmt;
use std::net::SocketAddr;

use crate::route::records::SipTransport;
use crate::route::resolution::Binding;

/// One place to try, in plan order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// The binding that delivers to it.
    pub binding: Binding,
    /// The host name the address came from (an SRV target, the domain, or
    /// the IP literal as text). For TLS this is the name to verify.
    pub host: String,
    /// Address and port to connect to.
    pub addr: SocketAddr,
    /// `Some` for [`Binding::Sip`]; `None` for [`Binding::Xmpp`], which
    /// always runs over TCP (RFC 6120 §3).
    pub transport: Option<SipTransport>,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.binding)?;
        if let Some(t) = self.transport {
            write!(f, "{t} ")?;
        }
        write!(f, "{} {}", self.host, self.addr)
    }
}

/// The ordered targets of one operation, with a cursor for failover.
///
/// RFC 3263 §4.3 and RFC 3861 §6: the driver (or gateway core) tries the
/// candidate returned by [`Plan::next_candidate`]; on a connect failure, a
/// 503 or a transaction timeout it calls `next_candidate` again. When that
/// returns `None` every target failed and the operation fails with
/// [`Plan::exhausted`]. All candidates share one binding: the binding is
/// chosen once, by the labels that exist and the configured preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    binding: Binding,
    domain: String,
    candidates: Vec<Candidate>,
    tried: usize,
}

impl Plan {
    pub(crate) fn new(binding: Binding, domain: String, candidates: Vec<Candidate>) -> Plan {
        Plan {
            binding,
            domain,
            candidates,
            tried: 0,
        }
    }

    /// The binding that serves the destination.
    pub fn binding(&self) -> Binding {
        self.binding
    }

    /// The destination domain this plan routes to.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Every candidate, in failover order (never empty).
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The next candidate to try: the first on the first call, then one
    /// further per call. `None` once all have been handed out.
    pub fn next_candidate(&mut self) -> Option<&Candidate> {
        let c = self.candidates.get(self.tried)?;
        self.tried += 1;
        Some(c)
    }

    /// How many candidates have been handed out.
    pub fn attempted(&self) -> usize {
        self.tried
    }

    /// Whether every candidate has been handed out.
    pub fn is_exhausted(&self) -> bool {
        self.tried >= self.candidates.len()
    }

    /// The error to report when every candidate failed (issue 4 item 4:
    /// "all targets failed", 503 with Retry-After / `<remote-server-timeout/>`).
    pub fn exhausted(&self) -> RouteError {
        RouteError::Unreachable {
            domain: self.domain.clone(),
        }
    }
}

/// Why no route could be found (house style C.14). Map to wire responses
/// in `translate/status.rs` through [`RouteError::class`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// Not a valid domain name or IP literal.
    #[error("invalid destination host {0:?}")]
    InvalidDomain(String),
    /// NXDOMAIN for the destination domain itself (RFC 8020: nothing exists
    /// at or below it).
    #[error("domain {domain} does not exist")]
    NotFound {
        /// The domain.
        domain: String,
    },
    /// The domain exists but no label and no address record leads anywhere
    /// (standards.md §4.3 "no SRV and no A for any label").
    #[error("no dns records route to {domain}")]
    NoRecords {
        /// The domain.
        domain: String,
    },
    /// Every applicable SRV set was a single target `.` (RFC 2782): the
    /// service is decidedly not offered.
    #[error("service not offered by {domain} (srv target \".\")")]
    NotOffered {
        /// The domain.
        domain: String,
    },
    /// A lookup that decides the route timed out.
    #[error("dns lookup of {name} timed out")]
    Timeout {
        /// The name queried.
        name: String,
    },
    /// A lookup that decides the route failed (SERVFAIL, REFUSED, …).
    #[error("dns lookup of {name} failed")]
    DnsFailure {
        /// The name queried.
        name: String,
    },
    /// SRV targets exist but none has an address, or every candidate of a
    /// plan failed.
    #[error("no target of {domain} is reachable")]
    Unreachable {
        /// The domain.
        domain: String,
    },
    /// A CNAME chain was longer than the configured bound (or looped).
    #[error("cname chain from {name} is longer than {max}")]
    CnameChainTooLong {
        /// Where the chain started.
        name: String,
        /// The bound.
        max: usize,
    },
    /// The resolution needed more lookups than the configured bound.
    #[error("resolution needed more than {max} dns queries")]
    TooManyQueries {
        /// The bound.
        max: usize,
    },
    /// The URI or the DNS asks for a SIP transport this gateway does not
    /// enable (RFC 3263 §4.1).
    #[error("sip transport {0} is not enabled")]
    UnsupportedTransport(SipTransport),
    /// `im:`/`pres:` resolution with an empty protocol preference list.
    #[error("no binding is enabled for im/pres resolution")]
    NoBinding,
}

/// The operational class of a [`RouteError`], the rows of issue 4 item 4
/// and standards.md §4.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// NXDOMAIN or nothing published: SIP 404 / XMPP
    /// `<remote-server-not-found/>`.
    NotFound,
    /// The service is explicitly not offered: SIP 404 / XMPP
    /// `<service-unavailable/>`.
    NotOffered,
    /// DNS did not answer: SIP 408 / XMPP `<remote-server-timeout/>`.
    Timeout,
    /// Targets exist but none can be used: SIP 503 with Retry-After /
    /// `<remote-server-timeout/>`.
    Unreachable,
    /// The request or the local configuration cannot be routed at all
    /// (bad host, disabled transport, no binding).
    Local,
}

impl RouteError {
    /// The operational class, for the status tables.
    pub fn class(&self) -> FailureClass {
        match self {
            RouteError::NotFound { .. } | RouteError::NoRecords { .. } => FailureClass::NotFound,
            RouteError::NotOffered { .. } => FailureClass::NotOffered,
            RouteError::Timeout { .. } | RouteError::DnsFailure { .. } => FailureClass::Timeout,
            RouteError::Unreachable { .. }
            | RouteError::CnameChainTooLong { .. }
            | RouteError::TooManyQueries { .. } => FailureClass::Unreachable,
            RouteError::InvalidDomain(_)
            | RouteError::UnsupportedTransport(_)
            | RouteError::NoBinding => FailureClass::Local,
        }
    }
}

//! Where a destination domain goes. Pure data and functions; the driver
//! never decides a route.
//!
//! - This file: the static route table from the config (`[[route]]`),
//!   matched by domain pattern.
//! - [`resolution`]: RFC 3861 `_im`/`_pres` SRV and RFC 3263 SIP server
//!   location as a sans-IO state machine whose DNS lookups are requests the
//!   driver answers ([`records`] is the record model, [`srv`] the RFC 2782
//!   ordering, [`cache`] the TTL cache keyed by `now`).

pub mod cache;
pub mod records;
pub mod resolution;
pub mod srv;

pub use cache::{CacheConfig, CacheStats, DnsCache};
pub use records::{Answer, Query, QueryId, Record, RecordData, Rtype, SipTransport};
pub use resolution::{
    Binding, Candidate, FailureClass, Plan, Resolution, ResolutionConfig, RouteError, Service,
    Target,
};

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::sip::Transport;

/// A domain pattern: `example.test` (exact), `*.example.test` (any strict
/// subdomain) or `*` (anything). Matching is ASCII case-insensitive and
/// ignores one trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainPattern(Pattern);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Any,
    Exact(String),
    Suffix(String),
}

/// Why a domain pattern is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// Empty pattern.
    #[error("empty domain pattern")]
    Empty,
    /// A character that cannot appear in a domain name.
    #[error("invalid character {0:?} in domain pattern")]
    BadChar(char),
    /// `*` anywhere but as the whole pattern or a leading `*.` label.
    #[error("wildcard only allowed as `*` or a leading `*.`")]
    BadWildcard,
    /// An empty label (`a..b`, `.a`).
    #[error("empty label in domain pattern")]
    EmptyLabel,
}

impl DomainPattern {
    /// Parses a pattern.
    pub fn parse(s: &str) -> Result<DomainPattern, PatternError> {
        let s = s.trim().trim_end_matches('.');
        if s.is_empty() {
            return Err(PatternError::Empty);
        }
        if s == "*" {
            return Ok(DomainPattern(Pattern::Any));
        }
        let (suffix, rest) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if rest.is_empty() {
            return Err(PatternError::Empty);
        }
        if rest.contains('*') {
            return Err(PatternError::BadWildcard);
        }
        if let Some(c) = rest
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.' || *c == '_'))
        {
            return Err(PatternError::BadChar(c));
        }
        if rest.split('.').any(str::is_empty) {
            return Err(PatternError::EmptyLabel);
        }
        let rest = rest.to_ascii_lowercase();
        Ok(DomainPattern(if suffix {
            Pattern::Suffix(rest)
        } else {
            Pattern::Exact(rest)
        }))
    }

    /// Whether `domain` matches.
    pub fn matches(&self, domain: &str) -> bool {
        let d = domain.trim_end_matches('.');
        match &self.0 {
            Pattern::Any => true,
            Pattern::Exact(e) => d.eq_ignore_ascii_case(e),
            Pattern::Suffix(sfx) => {
                d.len() > sfx.len() + 1
                    && d.get(d.len() - sfx.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(sfx))
                    && d.as_bytes().get(d.len() - sfx.len() - 1) == Some(&b'.')
            }
        }
    }

    /// How specific the pattern is, for longest-match ordering: exact beats
    /// suffix beats `*`, longer beats shorter.
    pub(crate) fn specificity(&self) -> (u8, usize) {
        match &self.0 {
            Pattern::Any => (0, 0),
            Pattern::Suffix(s) => (1, s.len()),
            Pattern::Exact(s) => (2, s.len()),
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Pattern::Any => f.write_str("*"),
            Pattern::Exact(s) => f.write_str(s),
            Pattern::Suffix(s) => write!(f, "*.{s}"),
        }
    }
}

/// The next hop of a route: an address and a transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// Where to send.
    pub addr: SocketAddr,
    /// How to send.
    pub transport: Transport,
}

/// One `[[route]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticRoute {
    /// Destination domains this route serves.
    pub domain: DomainPattern,
    /// Where their traffic goes.
    pub next_hop: NextHop,
}

/// The static route table. The most specific matching pattern wins; among
/// equally specific ones, the first in the file.
///
/// Routes over TLS also carry the name the server certificate must match
/// (RFC 5922 §4: the host the route names, or its `tls_name`); a next hop
/// given as an IP literal without a name is verified against an IP
/// subjectAltName.
#[derive(Clone, Debug, Default)]
pub struct Router {
    routes: Vec<StaticRoute>,
    /// The expected server name of route `i` (`None` for non-TLS routes).
    tls_names: Vec<Option<Arc<str>>>,
    /// The expected server name of the default route.
    default_tls_name: Option<Arc<str>>,
}

impl Router {
    /// Builds the table.
    pub fn new(routes: Vec<StaticRoute>) -> Router {
        Router {
            routes,
            tls_names: Vec::new(),
            default_tls_name: None,
        }
    }

    /// Builds the table with the TLS server name of each route (same order
    /// as `routes`) and of the default route.
    pub fn with_tls_names(
        routes: Vec<StaticRoute>,
        tls_names: Vec<Option<Arc<str>>>,
        default_tls_name: Option<Arc<str>>,
    ) -> Router {
        Router {
            routes,
            tls_names,
            default_tls_name,
        }
    }

    fn best(&self, domain: &str) -> Option<usize> {
        let mut best: Option<(usize, &StaticRoute)> = None;
        for (i, r) in self.routes.iter().enumerate() {
            if r.domain.matches(domain)
                && best.is_none_or(|(_, b)| r.domain.specificity() > b.domain.specificity())
            {
                best = Some((i, r));
            }
        }
        best.map(|(i, _)| i)
    }

    /// The next hop for a destination domain, if any route serves it.
    pub fn lookup(&self, domain: &str) -> Option<&StaticRoute> {
        self.best(domain).and_then(|i| self.routes.get(i))
    }

    /// [`Router::lookup`] with the route's TLS server name.
    pub fn lookup_with_tls_name(&self, domain: &str) -> Option<(&StaticRoute, Option<Arc<str>>)> {
        let i = self.best(domain)?;
        let route = self.routes.get(i)?;
        Some((route, self.tls_names.get(i).cloned().flatten()))
    }

    /// The TLS server name of the default route.
    pub fn default_tls_name(&self) -> Option<Arc<str>> {
        self.default_tls_name.clone()
    }

    /// All routes, in file order.
    pub fn routes(&self) -> &[StaticRoute] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(port: u16) -> NextHop {
        NextHop {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            transport: Transport::Udp,
        }
    }

    #[test]
    fn patterns_match_as_documented() {
        let exact = DomainPattern::parse("Example.TEST.").unwrap();
        assert!(exact.matches("example.test"));
        assert!(exact.matches("EXAMPLE.test."));
        assert!(!exact.matches("a.example.test"));
        let sfx = DomainPattern::parse("*.example.test").unwrap();
        assert!(sfx.matches("a.example.test"));
        assert!(sfx.matches("b.a.Example.test"));
        assert!(!sfx.matches("example.test"));
        assert!(!sfx.matches("xexample.test"));
        assert!(DomainPattern::parse("*").unwrap().matches("anything"));
        assert_eq!(DomainPattern::parse(""), Err(PatternError::Empty));
        assert_eq!(DomainPattern::parse("a*.b"), Err(PatternError::BadWildcard));
        assert_eq!(DomainPattern::parse("a b"), Err(PatternError::BadChar(' ')));
    }

    #[test]
    fn most_specific_route_wins() {
        let r = Router::new(vec![
            StaticRoute {
                domain: DomainPattern::parse("*").unwrap(),
                next_hop: hop(1),
            },
            StaticRoute {
                domain: DomainPattern::parse("*.test").unwrap(),
                next_hop: hop(2),
            },
            StaticRoute {
                domain: DomainPattern::parse("example.test").unwrap(),
                next_hop: hop(3),
            },
        ]);
        assert_eq!(r.lookup("example.test").map(|r| r.next_hop), Some(hop(3)));
        assert_eq!(r.lookup("other.test").map(|r| r.next_hop), Some(hop(2)));
        assert_eq!(r.lookup("x.org").map(|r| r.next_hop), Some(hop(1)));
        assert!(Router::default().lookup("example.test").is_none());
    }

    #[test]
    fn tls_names_follow_their_routes() {
        let route = |d: &str, p| StaticRoute {
            domain: DomainPattern::parse(d).unwrap(),
            next_hop: hop(p),
        };
        let r = Router::with_tls_names(
            vec![route("*.test", 1), route("peer.test", 2)],
            vec![None, Some(Arc::from("peer.test"))],
            Some(Arc::from("default.test")),
        );
        let (hit, name) = r.lookup_with_tls_name("peer.test").unwrap();
        assert_eq!(hit.next_hop, hop(2));
        assert_eq!(name.as_deref(), Some("peer.test"));
        assert_eq!(r.lookup_with_tls_name("x.test").unwrap().1, None);
        assert_eq!(r.default_tls_name().as_deref(), Some("default.test"));
        assert_eq!(Router::new(Vec::new()).default_tls_name(), None);
    }
}

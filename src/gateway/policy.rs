//! Federation policy (one engine for every binding): which peer may assert
//! which source domains, which destination domains are refused, and the
//! per-domain rules (allow, deny, or allow with a rate limit) applied to the
//! source and destination domain of every CPIM operation.
//!
//! A peer is identified by its network address, or by the verified client
//! certificate of a mutual-TLS connection: the certificate's subjectAltName
//! DNS names (RFC 5922 §7.1, §7.2) arrive with the request as a
//! [`PeerIdentity`], extracted by `src/io/` after the chain was verified.
//! The decision is pure; the gateway counts refusals and answers them (403
//! on SIP).

use std::net::IpAddr;
use std::time::Instant;

use crate::route::DomainPattern;

/// An IP network in CIDR notation (`127.0.0.0/8`, `::1/128`, or a bare
/// address meaning a single host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why an address or network does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetError {
    /// Not an IP address.
    #[error("not an IP address: {0:?}")]
    BadAddress(String),
    /// Prefix length missing, not a number, or too long for the family.
    #[error("bad prefix length in {0:?}")]
    BadPrefix(String),
}

impl IpNet {
    /// Parses `addr` or `addr/prefix`.
    pub fn parse(s: &str) -> Result<IpNet, NetError> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| NetError::BadAddress(s.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(NetError::BadPrefix(s.to_string())),
            },
        };
        Ok(IpNet { addr, prefix })
    }

    /// Whether `ip` is inside the network. IPv4-mapped IPv6 addresses are
    /// compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A federation peer: where it connects from (or the certificate names it
/// authenticates with), and the source domains it may assert in From.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Operator-facing name (logs, metrics).
    pub name: String,
    /// Networks the peer connects from.
    pub networks: Vec<IpNet>,
    /// Source domains the peer may speak for.
    pub domains: Vec<DomainPattern>,
    /// Certificate names that identify the peer on a mutual-TLS connection:
    /// a request whose verified client certificate carries a matching
    /// subjectAltName DNS name is this peer, whatever its address.
    pub tls_names: Vec<DomainPattern>,
}

/// Who the sender of a request proved to be: the subjectAltName DNS names
/// of the client certificate that a mutual-TLS handshake verified against
/// the configured CA (RFC 5922 §7.2, RFC 3261 §26.3.2.2). The IO layer
/// builds it once per connection; every request on the connection carries
/// it. Absent on UDP, TCP and TLS without a client certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    dns_names: Vec<String>,
}

impl PeerIdentity {
    /// An identity from a verified certificate's SAN DNS names (lower-cased
    /// here; one trailing dot ignored).
    pub fn new<I, S>(dns_names: I) -> PeerIdentity
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        PeerIdentity {
            dns_names: dns_names
                .into_iter()
                .map(|n| n.as_ref().trim_end_matches('.').to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    /// The certificate's DNS names.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// Whether any name matches one of `patterns`. A certificate name that
    /// is itself a wildcard (`*.example.test`) only matches a pattern that
    /// covers it as text (`*` or the identical pattern), never a concrete
    /// name.
    fn matches_any(&self, patterns: &[DomainPattern]) -> bool {
        self.dns_names.iter().any(|n| {
            patterns.iter().any(|p| {
                if n.starts_with("*.") {
                    p.to_string().eq_ignore_ascii_case(n) || p.to_string() == "*"
                } else {
                    p.matches(n)
                }
            })
        })
    }
}

/// What to do with a request from an address that matches no `[[peer]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownPeer {
    /// Accept it, with any source domain (only sensible on closed networks).
    Allow,
    /// Refuse it with 403 (the default).
    Reject,
}

/// The policy configuration.
#[derive(Clone, Debug)]
pub struct PolicyConfig {
    /// Known peers.
    pub peers: Vec<Peer>,
    /// Treatment of unknown source addresses.
    pub unknown_peer: UnknownPeer,
    /// Destination domains that are never served.
    pub deny_destinations: Vec<DomainPattern>,
    /// Per-domain rules; the most specific matching pattern wins, and a
    /// domain no rule matches is allowed.
    pub domain_rules: Vec<DomainRule>,
}

/// What a per-domain rule does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DomainAction {
    /// Allow without limit.
    Allow,
    /// Refuse (403).
    Deny,
    /// Allow up to `per_second` operations per second on average, with
    /// bursts of up to `burst`; the excess gets 503 with Retry-After.
    RateLimit {
        /// Sustained rate.
        per_second: f64,
        /// Bucket size.
        burst: f64,
    },
}

/// One `[[domain_policy]]` rule. A rate limit is one token bucket per rule,
/// shared by every domain the pattern matches.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainRule {
    /// Which domains.
    pub domain: DomainPattern,
    /// What to do.
    pub action: DomainAction,
}

/// A token bucket, refilled from `now` passed in.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

impl Default for PolicyConfig {
    /// Only loopback peers, which may assert any domain; everything else is
    /// refused.
    fn default() -> Self {
        let any = DomainPattern::parse("*").ok().into_iter().collect();
        let networks = ["127.0.0.0/8", "::1/128"]
            .iter()
            .filter_map(|n| IpNet::parse(n).ok())
            .collect();
        PolicyConfig {
            peers: vec![Peer {
                name: "loopback".into(),
                networks,
                domains: any,
                tls_names: Vec::new(),
            }],
            unknown_peer: UnknownPeer::Reject,
            deny_destinations: Vec::new(),
            domain_rules: Vec::new(),
        }
    }
}

/// Why policy refused a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The source address matches no configured peer.
    #[error("unknown peer address")]
    UnknownPeer,
    /// The peer may not assert this source domain.
    #[error("peer {peer} may not assert source domain {domain}")]
    SourceDomain {
        /// The peer's name.
        peer: String,
        /// The asserted domain.
        domain: String,
    },
    /// The destination domain is denied by policy.
    #[error("destination domain {0} is denied by policy")]
    Destination(String),
    /// A `[[domain_policy]]` rule denies the domain.
    #[error("domain {0} is denied by policy")]
    DomainDenied(String),
    /// A `[[domain_policy]]` rate limit is exhausted.
    #[error("rate limit for domain {domain} exceeded; retry after {retry_after_secs} s")]
    RateLimited {
        /// The domain.
        domain: String,
        /// Seconds until a token is available.
        retry_after_secs: u32,
    },
}

/// The policy engine.
#[derive(Clone, Debug)]
pub struct Policy {
    config: PolicyConfig,
    /// One bucket per rule (used only by rate-limit rules).
    buckets: Vec<Bucket>,
}

impl Policy {
    /// Builds the engine.
    pub fn new(config: PolicyConfig) -> Policy {
        let buckets = config
            .domain_rules
            .iter()
            .map(|r| match r.action {
                DomainAction::RateLimit { burst, .. } => Bucket {
                    tokens: burst,
                    last: None,
                },
                DomainAction::Allow | DomainAction::Deny => Bucket {
                    tokens: 0.0,
                    last: None,
                },
            })
            .collect();
        Policy { config, buckets }
    }

    /// Applies the per-domain rules to one domain of an operation (its
    /// source or its destination). A rate-limited rule consumes a token.
    pub fn check_domain(&mut self, now: Instant, domain: &str) -> Result<(), Refusal> {
        let mut best: Option<(usize, (u8, usize))> = None;
        for (i, r) in self.config.domain_rules.iter().enumerate() {
            if r.domain.matches(domain) {
                let spec = r.domain.specificity();
                if best.is_none_or(|(_, b)| spec > b) {
                    best = Some((i, spec));
                }
            }
        }
        let Some((i, _)) = best else { return Ok(()) };
        let (Some(rule), Some(bucket)) = (self.config.domain_rules.get(i), self.buckets.get_mut(i))
        else {
            return Ok(());
        };
        match rule.action {
            DomainAction::Allow => Ok(()),
            DomainAction::Deny => Err(Refusal::DomainDenied(domain.to_string())),
            DomainAction::RateLimit { per_second, burst } => {
                if let Some(last) = bucket.last {
                    let dt = now.saturating_duration_since(last).as_secs_f64();
                    bucket.tokens = (bucket.tokens + dt * per_second).min(burst);
                }
                bucket.last = Some(now);
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    Ok(())
                } else {
                    let wait = if per_second > 0.0 {
                        (1.0 - bucket.tokens) / per_second
                    } else {
                        60.0
                    };
                    Err(Refusal::RateLimited {
                        domain: domain.to_string(),
                        retry_after_secs: wait.ceil().clamp(1.0, 3600.0) as u32,
                    })
                }
            }
        }
    }

    /// Checks that the peer at `remote` may assert `source_domain`.
    /// Returns the matching peer's name (None for an allowed unknown peer).
    pub fn check_source(
        &self,
        remote: IpAddr,
        source_domain: &str,
    ) -> Result<Option<&str>, Refusal> {
        self.check_source_identified(remote, None, source_domain)
    }

    /// [`Policy::check_source`] for a request that may carry a verified
    /// mutual-TLS identity. When the identity names a peer (its
    /// `tls_names`), that peer alone decides: it may assert only its
    /// `domains`, whatever address it connects from. An identity that names
    /// no peer is ignored and the address decides, as for plain transports.
    pub fn check_source_identified(
        &self,
        remote: IpAddr,
        identity: Option<&PeerIdentity>,
        source_domain: &str,
    ) -> Result<Option<&str>, Refusal> {
        if let Some(id) = identity {
            let mut named: Option<&Peer> = None;
            for peer in self
                .config
                .peers
                .iter()
                .filter(|p| id.matches_any(&p.tls_names))
            {
                if peer.domains.iter().any(|d| d.matches(source_domain)) {
                    return Ok(Some(&peer.name));
                }
                named.get_or_insert(peer);
            }
            if let Some(peer) = named {
                return Err(Refusal::SourceDomain {
                    peer: peer.name.clone(),
                    domain: source_domain.to_string(),
                });
            }
        }
        let mut matched: Option<&Peer> = None;
        for peer in self
            .config
            .peers
            .iter()
            .filter(|p| p.networks.iter().any(|n| n.contains(remote)))
        {
            if peer.domains.iter().any(|d| d.matches(source_domain)) {
                return Ok(Some(&peer.name));
            }
            matched.get_or_insert(peer);
        }
        match (matched, self.config.unknown_peer) {
            (Some(peer), _) => Err(Refusal::SourceDomain {
                peer: peer.name.clone(),
                domain: source_domain.to_string(),
            }),
            (None, UnknownPeer::Allow) => Ok(None),
            (None, UnknownPeer::Reject) => Err(Refusal::UnknownPeer),
        }
    }

    /// Checks that `domain` may be a destination.
    pub fn check_destination(&self, domain: &str) -> Result<(), Refusal> {
        if self
            .config
            .deny_destinations
            .iter()
            .any(|d| d.matches(domain))
        {
            return Err(Refusal::Destination(domain.to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_contains() {
        let n = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(n.contains(ip("10.1.200.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(
            IpNet::parse("127.0.0.1")
                .unwrap()
                .contains(ip("::ffff:127.0.0.1"))
        );
        assert!(IpNet::parse("::1/128").unwrap().contains(ip("::1")));
        assert!(!IpNet::parse("::1/128").unwrap().contains(ip("127.0.0.1")));
        assert!(IpNet::parse("1.2.3.4/33").is_err());
        assert!(IpNet::parse("nope").is_err());
    }

    #[test]
    fn source_domain_must_belong_to_peer() {
        let p = Policy::new(PolicyConfig {
            peers: vec![Peer {
                name: "sip-test".into(),
                networks: vec![IpNet::parse("127.0.0.0/8").unwrap()],
                domains: vec![DomainPattern::parse("sip.test").unwrap()],
                tls_names: Vec::new(),
            }],
            unknown_peer: UnknownPeer::Reject,
            deny_destinations: vec![DomainPattern::parse("*.bad.test").unwrap()],
            domain_rules: Vec::new(),
        });
        assert_eq!(
            p.check_source(ip("127.0.0.1"), "sip.test"),
            Ok(Some("sip-test"))
        );
        assert!(matches!(
            p.check_source(ip("127.0.0.1"), "evil.test"),
            Err(Refusal::SourceDomain { .. })
        ));
        assert_eq!(
            p.check_source(ip("192.0.2.1"), "sip.test"),
            Err(Refusal::UnknownPeer)
        );
        assert!(p.check_destination("x.bad.test").is_err());
        assert!(p.check_destination("good.test").is_ok());
    }

    fn mtls_policy() -> Policy {
        let pat = |s: &str| DomainPattern::parse(s).unwrap();
        Policy::new(PolicyConfig {
            peers: vec![
                Peer {
                    name: "example".into(),
                    networks: Vec::new(),
                    domains: vec![pat("example.test")],
                    tls_names: vec![pat("example.test")],
                },
                Peer {
                    name: "lan".into(),
                    networks: vec![IpNet::parse("10.0.0.0/8").unwrap()],
                    domains: vec![pat("lan.test")],
                    tls_names: Vec::new(),
                },
            ],
            unknown_peer: UnknownPeer::Reject,
            deny_destinations: Vec::new(),
            domain_rules: Vec::new(),
        })
    }

    #[test]
    fn verified_certificate_name_identifies_the_peer_anywhere() {
        let p = mtls_policy();
        let id = PeerIdentity::new(["Example.TEST."]);
        assert_eq!(id.dns_names(), ["example.test"]);
        // The certificate decides, not the address.
        assert_eq!(
            p.check_source_identified(ip("192.0.2.9"), Some(&id), "example.test"),
            Ok(Some("example"))
        );
        assert_eq!(
            p.check_source_identified(ip("192.0.2.9"), Some(&id), "other.test"),
            Err(Refusal::SourceDomain {
                peer: "example".into(),
                domain: "other.test".into()
            })
        );
        // Even from an address another peer owns, the identity's peer alone
        // decides what may be asserted.
        assert!(
            p.check_source_identified(ip("10.1.1.1"), Some(&id), "lan.test")
                .is_err()
        );
        // Without the certificate the same address is unknown.
        assert_eq!(
            p.check_source(ip("192.0.2.9"), "example.test"),
            Err(Refusal::UnknownPeer)
        );
    }

    #[test]
    fn unmatched_identity_falls_back_to_the_address() {
        let p = mtls_policy();
        let stranger = PeerIdentity::new(["stranger.test"]);
        assert_eq!(
            p.check_source_identified(ip("10.2.3.4"), Some(&stranger), "lan.test"),
            Ok(Some("lan"))
        );
        assert_eq!(
            p.check_source_identified(ip("192.0.2.9"), Some(&stranger), "stranger.test"),
            Err(Refusal::UnknownPeer)
        );
        // A wildcard certificate name is not a concrete name.
        let wild = PeerIdentity::new(["*.example.test"]);
        assert_eq!(
            p.check_source_identified(ip("192.0.2.9"), Some(&wild), "example.test"),
            Err(Refusal::UnknownPeer)
        );
    }

    #[test]
    fn default_policy_is_loopback_only() {
        let p = Policy::new(PolicyConfig::default());
        assert!(p.check_source(ip("127.0.0.1"), "anything.test").is_ok());
        assert_eq!(
            p.check_source(ip("192.0.2.1"), "a.test"),
            Err(Refusal::UnknownPeer)
        );
    }

    fn rules(rules: &[(&str, DomainAction)]) -> Policy {
        Policy::new(PolicyConfig {
            domain_rules: rules
                .iter()
                .map(|(d, a)| DomainRule {
                    domain: DomainPattern::parse(d).unwrap(),
                    action: *a,
                })
                .collect(),
            ..PolicyConfig::default()
        })
    }

    #[test]
    fn domain_rules_allow_deny_and_most_specific_wins() {
        let mut p = rules(&[
            ("*.partner.test", DomainAction::Deny),
            ("ok.partner.test", DomainAction::Allow),
            ("blocked.test", DomainAction::Deny),
        ]);
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        assert_eq!(
            p.check_domain(t0, "x.partner.test"),
            Err(Refusal::DomainDenied("x.partner.test".into()))
        );
        assert_eq!(p.check_domain(t0, "ok.partner.test"), Ok(()));
        assert!(p.check_domain(t0, "blocked.test").is_err());
        assert_eq!(
            p.check_domain(t0, "unlisted.test"),
            Ok(()),
            "no rule: allowed"
        );
    }

    #[test]
    fn rate_limit_is_a_token_bucket_in_virtual_time() {
        use std::time::Duration;
        let mut p = rules(&[(
            "limited.test",
            DomainAction::RateLimit {
                per_second: 2.0,
                burst: 3.0,
            },
        )]);
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(p.check_domain(t0, "limited.test"), Ok(()), "burst of 3");
        }
        assert_eq!(
            p.check_domain(t0, "limited.test"),
            Err(Refusal::RateLimited {
                domain: "limited.test".into(),
                retry_after_secs: 1
            })
        );
        // 2 per second: after 500 ms one token is back, not two.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(p.check_domain(t1, "limited.test"), Ok(()));
        assert!(p.check_domain(t1, "limited.test").is_err());
        // Long idle refills only up to the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(p.check_domain(t2, "limited.test"), Ok(()));
        }
        assert!(p.check_domain(t2, "limited.test").is_err());
        // Other domains are not limited by it.
        assert_eq!(p.check_domain(t2, "other.test"), Ok(()));
        // Time going backwards refills nothing and does not panic.
        assert!(p.check_domain(t0, "limited.test").is_err());
    }
}

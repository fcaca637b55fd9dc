//! Federation policy (one engine for every binding): which peer may assert
//! which source domains, which destination domains are refused, and the
//! per-domain rules (allow, deny, or allow with a rate limit) applied to the
//! source and destination domain of every CPIM operation.
//!
//! A peer is identified by its network address for now (a later issue adds
//! mutual-TLS identities). The decision is pure; the gateway counts refusals
//! and answers them (403 on SIP).

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

/// A federation peer: where it connects from, and the source domains it may
/// assert in From.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Operator-facing name (logs, metrics).
    pub name: String,
    /// Networks the peer connects from.
    pub networks: Vec<IpNet>,
    /// Source domains the peer may speak for.
    pub domains: Vec<DomainPattern>,
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

//! Federation policy (one engine for every binding): which peer may assert
//! which source domains, which destination domains are refused, and the
//! per-domain rules (allow, deny, or allow with a rate limit; require a
//! mutual-TLS identity; cap subscriptions) applied to the source and
//! destination domain of every CPIM operation, plus a token bucket per peer.
//!
//! A peer is identified by its network address, or by the verified client
//! certificate of a mutual-TLS connection: the certificate's subjectAltName
//! DNS names (RFC 5922 §7.1, §7.2) arrive with the request as a
//! [`PeerIdentity`], extracted by `src/io/` after the chain was verified.
//! The decision is pure (time is passed in); the gateway counts refusals
//! and answers them: 403 on SIP, or 503 with Retry-After for an exhausted
//! rate limit (RFC 3261 §21.5.4); on XMPP `<forbidden/>` or
//! `<resource-constraint/>` of type `wait` (RFC 6120 §8.3.3.18).

use std::net::IpAddr;
use std::time::Instant;

pub use super::rate::Rate;
use super::rate::{KeyedBuckets, TokenBucket};
use crate::route::DomainPattern;
use crate::sip::StatusCode;

/// Buckets one `scope = "domain"` rule keeps (one per matching domain);
/// see [`KeyedBuckets`] for what happens at the bound.
pub const MAX_DOMAIN_BUCKETS: usize = 10_000;

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
    /// Token bucket over every operation the peer sends (`[[peer]] rate`,
    /// `burst`); `None`: unlimited. The excess gets 503 + Retry-After.
    pub rate: Option<Rate>,
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

/// Which bucket a rate-limit rule draws from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RateScope {
    /// One bucket per domain the rule matches (`scope = "domain"`): each
    /// asserted source domain (and each destination domain) has its own
    /// allowance. At most [`MAX_DOMAIN_BUCKETS`] are kept per rule.
    Domain,
    /// One bucket for the rule, shared by every domain it matches
    /// (`scope = "rule"`, the default).
    #[default]
    Rule,
}

/// One `[[domain_policy]]` rule: what to do with a domain the pattern
/// matches (the most specific matching rule wins).
#[derive(Clone, Debug, PartialEq)]
pub struct DomainRule {
    /// Which domains.
    pub domain: DomainPattern,
    /// What to do.
    pub action: DomainAction,
    /// Whose bucket a rate limit draws from.
    pub scope: RateScope,
    /// A SIP request asserting a matching *source* domain must come from
    /// a peer identified by a verified mutual-TLS client certificate
    /// (RFC 5922 §7.2); otherwise 403.
    pub require_tls: bool,
    /// Subscriptions a matching watcher domain may hold through the gateway
    /// (each domain counted on its own); `None`: only the `[presence]`
    /// limits apply.
    pub max_subscriptions: Option<usize>,
}

impl DomainRule {
    /// A rule with only an action (rule-wide bucket, no TLS requirement,
    /// no subscription cap).
    pub fn new(domain: DomainPattern, action: DomainAction) -> DomainRule {
        DomainRule {
            domain,
            action,
            scope: RateScope::Rule,
            require_tls: false,
            max_subscriptions: None,
        }
    }

    fn rate(&self) -> Option<Rate> {
        match self.action {
            DomainAction::RateLimit { per_second, burst } => Some(Rate { per_second, burst }),
            DomainAction::Allow | DomainAction::Deny => None,
        }
    }
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
                rate: None,
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
    /// The peer's own rate limit (`[[peer]] rate`) is exhausted.
    #[error("rate limit for peer {peer} exceeded; retry after {retry_after_secs} s")]
    PeerRateLimited {
        /// The peer's name.
        peer: String,
        /// Seconds until a token is available.
        retry_after_secs: u32,
    },
    /// The source domain may only be asserted over mutual TLS
    /// (`require_tls`), and the request did not come with a verified
    /// client certificate naming a peer.
    #[error("source domain {0} requires a mutual-TLS authenticated peer")]
    TlsRequired(String),
}

impl Refusal {
    /// Seconds until a retry can succeed, for the rate-limit refusals
    /// (SIP `Retry-After`, RFC 3261 §20.33); `None` for the others, which
    /// a retry does not cure.
    pub fn retry_after_secs(&self) -> Option<u32> {
        match self {
            Refusal::RateLimited {
                retry_after_secs, ..
            }
            | Refusal::PeerRateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The SIP answer: 503 for a rate limit (RFC 3261 §21.5.4, with
    /// Retry-After), 403 for everything else (§21.4.4).
    pub fn sip_status(&self) -> StatusCode {
        if self.retry_after_secs().is_some() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::FORBIDDEN
        }
    }
}

/// The policy engine.
#[derive(Clone, Debug)]
pub struct Policy {
    config: PolicyConfig,
    /// One bucket per rule (used by `scope = "rule"` rate limits).
    rule_buckets: Vec<TokenBucket>,
    /// Buckets per domain, per rule (used by `scope = "domain"`).
    domain_buckets: Vec<KeyedBuckets>,
    /// One bucket per peer (used by peers with a `rate`).
    peer_buckets: Vec<TokenBucket>,
}

/// Who a request comes from, as policy established it.
#[derive(Clone, Copy, Debug)]
struct Identified {
    /// Index of the matching peer (`None`: an allowed unknown peer).
    peer: Option<usize>,
    /// Whether the peer was named by a verified mutual-TLS identity.
    by_tls: bool,
}

impl Policy {
    /// Builds the engine.
    pub fn new(config: PolicyConfig) -> Policy {
        let full = |rate: Option<Rate>| {
            TokenBucket::full(rate.unwrap_or(Rate {
                per_second: 1.0,
                burst: 0.0,
            }))
        };
        let rule_buckets = config.domain_rules.iter().map(|r| full(r.rate())).collect();
        let domain_buckets = config
            .domain_rules
            .iter()
            .map(|_| KeyedBuckets::new(MAX_DOMAIN_BUCKETS))
            .collect();
        let peer_buckets = config.peers.iter().map(|p| full(p.rate)).collect();
        Policy {
            config,
            rule_buckets,
            domain_buckets,
            peer_buckets,
        }
    }

    /// The most specific rule matching `domain`.
    fn rule_for(&self, domain: &str) -> Option<usize> {
        let mut best: Option<(usize, (u8, usize))> = None;
        for (i, r) in self.config.domain_rules.iter().enumerate() {
            if r.domain.matches(domain) {
                let spec = r.domain.specificity();
                if best.is_none_or(|(_, b)| spec > b) {
                    best = Some((i, spec));
                }
            }
        }
        best.map(|(i, _)| i)
    }

    /// Refuses a domain a `deny` rule matches.
    fn check_denied(&self, rule: Option<usize>, domain: &str) -> Result<(), Refusal> {
        match rule.and_then(|i| self.config.domain_rules.get(i)) {
            Some(r) if r.action == DomainAction::Deny => {
                Err(Refusal::DomainDenied(domain.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// Whether the rule's bucket for `domain` has a token (consumes none).
    fn check_rule_rate(
        &mut self,
        now: Instant,
        rule: Option<usize>,
        domain: &str,
    ) -> Result<(), Refusal> {
        let Some((i, r)) = rule.and_then(|i| Some((i, self.config.domain_rules.get(i)?))) else {
            return Ok(());
        };
        let Some(rate) = r.rate() else { return Ok(()) };
        let checked = match r.scope {
            RateScope::Rule => self.rule_buckets.get_mut(i).map(|b| b.check(now, rate)),
            RateScope::Domain => self
                .domain_buckets
                .get_mut(i)
                .map(|b| b.check(now, &domain.to_ascii_lowercase(), rate)),
        };
        match checked {
            Some(Err(retry_after_secs)) => Err(Refusal::RateLimited {
                domain: domain.to_string(),
                retry_after_secs,
            }),
            Some(Ok(())) | None => Ok(()),
        }
    }

    /// Takes the token [`Policy::check_rule_rate`] found.
    fn consume_rule_rate(&mut self, rule: Option<usize>, domain: &str) {
        let Some((i, r)) = rule.and_then(|i| Some((i, self.config.domain_rules.get(i)?))) else {
            return;
        };
        if r.rate().is_none() {
            return;
        }
        match r.scope {
            RateScope::Rule => {
                if let Some(b) = self.rule_buckets.get_mut(i) {
                    b.consume();
                }
            }
            RateScope::Domain => {
                if let Some(b) = self.domain_buckets.get_mut(i) {
                    b.consume(&domain.to_ascii_lowercase());
                }
            }
        }
    }

    /// Whether the peer's own bucket has a token (consumes none).
    fn check_peer_rate(&mut self, now: Instant, peer: Option<usize>) -> Result<(), Refusal> {
        let Some(p) = peer.and_then(|i| self.config.peers.get(i)) else {
            return Ok(());
        };
        let (Some(rate), Some(bucket)) = (p.rate, peer.and_then(|i| self.peer_buckets.get_mut(i)))
        else {
            return Ok(());
        };
        bucket
            .check(now, rate)
            .map_err(|retry_after_secs| Refusal::PeerRateLimited {
                peer: p.name.clone(),
                retry_after_secs,
            })
    }

    fn consume_peer_rate(&mut self, peer: Option<usize>) {
        let limited = peer
            .and_then(|i| self.config.peers.get(i))
            .is_some_and(|p| p.rate.is_some());
        if limited && let Some(b) = peer.and_then(|i| self.peer_buckets.get_mut(i)) {
            b.consume();
        }
    }

    /// The `require_tls` check for a source domain.
    fn check_tls_required(&self, who: Identified, source_domain: &str) -> Result<(), Refusal> {
        let required = self
            .rule_for(source_domain)
            .and_then(|i| self.config.domain_rules.get(i))
            .is_some_and(|r| r.require_tls);
        if required && !who.by_tls {
            return Err(Refusal::TlsRequired(source_domain.to_string()));
        }
        Ok(())
    }

    /// The whole policy for one operation, in order: who the peer is and
    /// whether it may assert `source_domain` (mutual-TLS identity first,
    /// then address), `require_tls`, the destination deny list, `deny`
    /// rules for both domains, then the rate limits (the peer's bucket,
    /// the source domain's rule, the destination domain's rule). Tokens
    /// are taken only when every check passed, so a refused operation
    /// costs no allowance. Returns the peer's name (`None` for an allowed
    /// unknown peer).
    pub fn admit(
        &mut self,
        now: Instant,
        remote: IpAddr,
        identity: Option<&PeerIdentity>,
        source_domain: &str,
        destination_domain: Option<&str>,
    ) -> Result<Option<String>, Refusal> {
        let who = self.identify(remote, identity, source_domain)?;
        self.check_tls_required(who, source_domain)?;
        let src_rule = self.rule_for(source_domain);
        let dst_rule = destination_domain.and_then(|d| self.rule_for(d));
        if let Some(d) = destination_domain {
            self.check_destination(d)?;
        }
        self.check_denied(src_rule, source_domain)?;
        if let Some(d) = destination_domain {
            self.check_denied(dst_rule, d)?;
        }
        self.check_peer_rate(now, who.peer)?;
        self.check_rule_rate(now, src_rule, source_domain)?;
        if let Some(d) = destination_domain {
            self.check_rule_rate(now, dst_rule, d)?;
        }
        self.consume_peer_rate(who.peer);
        self.consume_rule_rate(src_rule, source_domain);
        if let Some(d) = destination_domain {
            self.consume_rule_rate(dst_rule, d);
        }
        Ok(self.peer_name(who.peer))
    }

    /// The peer-level part of [`Policy::admit`]: identity, `require_tls`
    /// and the peer's bucket (takes a token). For operations whose domain
    /// rules are applied elsewhere with [`Policy::check_domain`].
    pub fn admit_peer(
        &mut self,
        now: Instant,
        remote: IpAddr,
        identity: Option<&PeerIdentity>,
        source_domain: &str,
    ) -> Result<Option<String>, Refusal> {
        let who = self.identify(remote, identity, source_domain)?;
        self.check_tls_required(who, source_domain)?;
        self.check_peer_rate(now, who.peer)?;
        self.consume_peer_rate(who.peer);
        Ok(self.peer_name(who.peer))
    }

    fn peer_name(&self, peer: Option<usize>) -> Option<String> {
        peer.and_then(|i| self.config.peers.get(i))
            .map(|p| p.name.clone())
    }

    /// Applies the per-domain rules to one domain of an operation (its
    /// source or its destination). A rate-limited rule consumes a token.
    pub fn check_domain(&mut self, now: Instant, domain: &str) -> Result<(), Refusal> {
        let rule = self.rule_for(domain);
        self.check_denied(rule, domain)?;
        self.check_rule_rate(now, rule, domain)?;
        self.consume_rule_rate(rule, domain);
        Ok(())
    }

    /// The subscription cap of the rule matching `domain`, if any.
    pub fn max_subscriptions(&self, domain: &str) -> Option<usize> {
        self.rule_for(domain)
            .and_then(|i| self.config.domain_rules.get(i))
            .and_then(|r| r.max_subscriptions)
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
        let who = self.identify(remote, identity, source_domain)?;
        Ok(who
            .peer
            .and_then(|i| self.config.peers.get(i))
            .map(|p| p.name.as_str()))
    }

    fn identify(
        &self,
        remote: IpAddr,
        identity: Option<&PeerIdentity>,
        source_domain: &str,
    ) -> Result<Identified, Refusal> {
        let peers = &self.config.peers;
        if let Some(id) = identity {
            let mut named: Option<&Peer> = None;
            for (i, peer) in peers
                .iter()
                .enumerate()
                .filter(|(_, p)| id.matches_any(&p.tls_names))
            {
                if peer.domains.iter().any(|d| d.matches(source_domain)) {
                    return Ok(Identified {
                        peer: Some(i),
                        by_tls: true,
                    });
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
        for (i, peer) in peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.networks.iter().any(|n| n.contains(remote)))
        {
            if peer.domains.iter().any(|d| d.matches(source_domain)) {
                return Ok(Identified {
                    peer: Some(i),
                    by_tls: false,
                });
            }
            matched.get_or_insert(peer);
        }
        match (matched, self.config.unknown_peer) {
            (Some(peer), _) => Err(Refusal::SourceDomain {
                peer: peer.name.clone(),
                domain: source_domain.to_string(),
            }),
            (None, UnknownPeer::Allow) => Ok(Identified {
                peer: None,
                by_tls: false,
            }),
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
mod tests;

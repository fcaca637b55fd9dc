//! Federation policy (one engine for every binding): which peer may assert
//! which source domains, and which destination domains are refused.
//!
//! A peer is identified by its network address for now (a later issue adds
//! mutual-TLS identities). The decision is pure; the gateway counts refusals
//! and answers them (403 on SIP).

use std::net::IpAddr;

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
}

/// The policy engine.
#[derive(Clone, Debug)]
pub struct Policy {
    config: PolicyConfig,
}

impl Policy {
    /// Builds the engine.
    pub fn new(config: PolicyConfig) -> Policy {
        Policy { config }
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
}

//! Policy engine tests: peers by address and by mutual-TLS identity,
//! domain rules, token buckets per rule, per domain and per peer in
//! virtual time, `require_tls` and subscription caps.

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
            rate: None,
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
                rate: None,
            },
            Peer {
                name: "lan".into(),
                networks: vec![IpNet::parse("10.0.0.0/8").unwrap()],
                domains: vec![pat("lan.test")],
                tls_names: Vec::new(),
                rate: None,
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
            .map(|(d, a)| DomainRule::new(DomainPattern::parse(d).unwrap(), *a))
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

fn peer_with_rate(per_second: f64, burst: f64) -> Policy {
    Policy::new(PolicyConfig {
        peers: vec![Peer {
            name: "p".into(),
            networks: vec![IpNet::parse("127.0.0.1").unwrap()],
            domains: vec![DomainPattern::parse("*").unwrap()],
            tls_names: Vec::new(),
            rate: Some(Rate { per_second, burst }),
        }],
        ..PolicyConfig::default()
    })
}

#[test]
fn peer_bucket_in_virtual_time() {
    use std::time::Duration;
    let mut p = peer_with_rate(4.0, 2.0);
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let admit = |p: &mut Policy, t| p.admit(t, ip("127.0.0.1"), None, "a.test", Some("b.test"));
    assert_eq!(admit(&mut p, t0), Ok(Some("p".into())));
    assert_eq!(admit(&mut p, t0), Ok(Some("p".into())));
    let refused = admit(&mut p, t0).unwrap_err();
    assert_eq!(
        refused,
        Refusal::PeerRateLimited {
            peer: "p".into(),
            retry_after_secs: 1
        }
    );
    assert_eq!(refused.retry_after_secs(), Some(1));
    assert_eq!(refused.sip_status(), StatusCode::SERVICE_UNAVAILABLE);
    // 4 per second: 250 ms later exactly one more.
    let t1 = t0 + Duration::from_millis(250);
    assert!(admit(&mut p, t1).is_ok());
    assert!(admit(&mut p, t1).is_err());
    // Another address is another (here: unknown) peer, not limited by p.
    assert_eq!(
        p.admit(t1, ip("192.0.2.1"), None, "a.test", None),
        Err(Refusal::UnknownPeer)
    );
    // admit_peer draws from the same bucket.
    let t2 = t1 + Duration::from_millis(250);
    assert!(p.admit_peer(t2, ip("127.0.0.1"), None, "a.test").is_ok());
    assert!(p.admit_peer(t2, ip("127.0.0.1"), None, "a.test").is_err());
}

#[test]
fn per_domain_scope_keeps_a_bucket_per_source_domain() {
    let mut rule = DomainRule::new(
        DomainPattern::parse("*.partner.test").unwrap(),
        DomainAction::RateLimit {
            per_second: 1.0,
            burst: 1.0,
        },
    );
    rule.scope = RateScope::Domain;
    let mut p = Policy::new(PolicyConfig {
        domain_rules: vec![rule.clone()],
        ..PolicyConfig::default()
    });
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let lo = ip("127.0.0.1");
    assert!(p.admit(t0, lo, None, "a.partner.test", None).is_ok());
    assert!(p.admit(t0, lo, None, "B.partner.test", None).is_ok());
    assert!(matches!(
        p.admit(t0, lo, None, "a.partner.test", None),
        Err(Refusal::RateLimited {
            retry_after_secs: 1,
            ..
        })
    ));
    assert!(
        p.admit(t0, lo, None, "b.partner.test", None).is_err(),
        "case-insensitive"
    );
    // The same rule with the default scope shares one bucket.
    rule.scope = RateScope::Rule;
    let mut shared = Policy::new(PolicyConfig {
        domain_rules: vec![rule],
        ..PolicyConfig::default()
    });
    assert!(shared.admit(t0, lo, None, "a.partner.test", None).is_ok());
    assert!(shared.admit(t0, lo, None, "b.partner.test", None).is_err());
}

#[test]
fn require_tls_needs_a_peer_named_by_its_certificate() {
    let pat = |s: &str| DomainPattern::parse(s).unwrap();
    let mut rule = DomainRule::new(pat("secure.test"), DomainAction::Allow);
    rule.require_tls = true;
    rule.max_subscriptions = Some(3);
    let mut p = Policy::new(PolicyConfig {
        peers: vec![Peer {
            name: "secure".into(),
            networks: vec![IpNet::parse("127.0.0.0/8").unwrap()],
            domains: vec![pat("secure.test"), pat("plain.test")],
            tls_names: vec![pat("gw.secure.test")],
            rate: None,
        }],
        domain_rules: vec![rule],
        ..PolicyConfig::default()
    });
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let lo = ip("127.0.0.1");
    let refused = p.admit(t0, lo, None, "secure.test", None).unwrap_err();
    assert_eq!(refused, Refusal::TlsRequired("secure.test".into()));
    assert_eq!(refused.sip_status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.retry_after_secs(), None);
    // A certificate that names no peer does not count.
    let stranger = PeerIdentity::new(["stranger.test"]);
    assert!(
        p.admit(t0, lo, Some(&stranger), "secure.test", None)
            .is_err()
    );
    let id = PeerIdentity::new(["gw.secure.test"]);
    assert_eq!(
        p.admit(t0, lo, Some(&id), "secure.test", None),
        Ok(Some("secure".into()))
    );
    assert!(p.admit_peer(t0, lo, Some(&id), "secure.test").is_ok());
    // Only the source domain is concerned.
    assert!(
        p.admit(t0, lo, None, "plain.test", Some("secure.test"))
            .is_ok()
    );
    assert_eq!(p.max_subscriptions("secure.test"), Some(3));
    assert_eq!(p.max_subscriptions("plain.test"), None);
}

#[test]
fn admit_checks_deny_rules_for_both_domains_before_taking_tokens() {
    let pat = |s: &str| DomainPattern::parse(s).unwrap();
    let mut p = Policy::new(PolicyConfig {
        domain_rules: vec![
            DomainRule::new(pat("blocked.test"), DomainAction::Deny),
            DomainRule::new(
                pat("limited.test"),
                DomainAction::RateLimit {
                    per_second: 1.0,
                    burst: 1.0,
                },
            ),
        ],
        ..PolicyConfig::default()
    });
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let lo = ip("127.0.0.1");
    assert_eq!(
        p.admit(t0, lo, None, "limited.test", Some("blocked.test")),
        Err(Refusal::DomainDenied("blocked.test".into()))
    );
    // The refused operation took no token from limited.test.
    assert!(
        p.admit(t0, lo, None, "limited.test", Some("x.test"))
            .is_ok()
    );
    assert!(
        p.admit(t0, lo, None, "limited.test", Some("x.test"))
            .is_err()
    );
}

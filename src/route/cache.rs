//! A DNS answer cache keyed by (name, record type), with expiry computed
//! from the `now` the caller passes in (house style A.1: no clock reads).
//!
//! Positive answers live for the smallest TTL among their records
//! (RFC 1035 §3.2.1; RFC 2181 §5.2 for sets), capped by a configured
//! maximum; a TTL of 0 is not cached. NXDOMAIN and NODATA are cached
//! negatively (RFC 2308 §5) for a bounded, configured time, since the
//! driver does not hand over the SOA minimum. Timeouts and failures are
//! never cached. The size is bounded; when full, expired entries go first,
//! then the entry that would expire soonest.
//!
//! Only the records that answer the question are stored (the CNAME chain
//! and the records at its end, see [`answer_chain`]), never unrelated
//! additional-section data. The cache does not resolve anything; a
//! [`Resolution`](crate::route::resolution::Resolution) consults it before
//! emitting a query.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::route::records::{Answer, Record, Rtype, answer_chain, fqdn};

/// Cache settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Maximum number of entries; 0 disables the cache.
    pub capacity: usize,
    /// Upper bound on how long a positive answer is kept, whatever its TTL.
    pub max_ttl: Duration,
    /// How long NXDOMAIN and NODATA are kept (RFC 2308 §5); 0 disables
    /// negative caching.
    pub negative_ttl: Duration,
    /// Longest CNAME chain stored for one key.
    pub max_cname_chain: usize,
}

impl Default for CacheConfig {
    /// 4096 entries, positive answers at most one hour, negative ones 60 s.
    fn default() -> Self {
        CacheConfig {
            capacity: 4096,
            max_ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(60),
            max_cname_chain: 8,
        }
    }
}

/// Counters, for metrics and the operator CLI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups not answered (absent or expired).
    pub misses: u64,
    /// Entries stored.
    pub insertions: u64,
    /// Live entries removed to make room.
    pub evictions: u64,
    /// Entries currently held (some may be expired but not yet purged).
    pub entries: usize,
}

type Key = (String, Rtype);

#[derive(Clone, Debug)]
enum Cached {
    Records(Vec<Record>),
    NxDomain,
    NoData,
}

#[derive(Clone, Debug)]
struct Entry {
    expires: Instant,
    value: Cached,
}

/// The cache. One instance is shared by every resolution of a gateway.
#[derive(Clone, Debug)]
pub struct DnsCache {
    config: CacheConfig,
    entries: HashMap<Key, Entry>,
    /// Expiry index, soonest first (the mini-redis `expirations` shape).
    by_expiry: BTreeSet<(Instant, Key)>,
    stats: CacheStats,
}

impl DnsCache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> DnsCache {
        DnsCache {
            config,
            entries: HashMap::new(),
            by_expiry: BTreeSet::new(),
            stats: CacheStats::default(),
        }
    }

    /// A cache that stores nothing (every lookup misses).
    pub fn disabled() -> DnsCache {
        DnsCache::new(CacheConfig {
            capacity: 0,
            ..CacheConfig::default()
        })
    }

    /// The settings.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The cached answer for `(name, rtype)` if one is live at `now`.
    /// Record TTLs in the returned answer are lowered to the time left.
    /// Expired entries found here are removed.
    pub fn lookup(&mut self, now: Instant, name: &str, rtype: Rtype) -> Option<Answer> {
        let key = (fqdn(name), rtype);
        let live = match self.entries.get(&key) {
            Some(e) if now < e.expires => Some(e),
            Some(_) => {
                self.remove(&key);
                None
            }
            None => None,
        };
        let Some(entry) = live else {
            self.stats.misses += 1;
            return None;
        };
        let left = entry.expires.saturating_duration_since(now);
        let left = u32::try_from(left.as_secs()).unwrap_or(u32::MAX).max(1);
        let answer = match &entry.value {
            Cached::Records(recs) => Answer::Records(
                recs.iter()
                    .map(|r| Record {
                        ttl: r.ttl.min(left),
                        ..r.clone()
                    })
                    .collect(),
            ),
            Cached::NxDomain => Answer::NxDomain,
            Cached::NoData => Answer::NoData,
        };
        self.stats.hits += 1;
        Some(answer)
    }

    /// Stores the answer to `(name, rtype)` received at `now`. Timeouts,
    /// failures, zero TTLs and answers holding nothing for `name` are not
    /// stored.
    pub fn insert(&mut self, now: Instant, name: &str, rtype: Rtype, answer: &Answer) {
        if self.config.capacity == 0 {
            return;
        }
        let (value, ttl) = match answer {
            Answer::Records(recs) => {
                let chain = answer_chain(name, rtype, recs, self.config.max_cname_chain);
                let Some(min) = chain.iter().map(|r| r.ttl).min() else {
                    return;
                };
                let ttl = Duration::from_secs(u64::from(min)).min(self.config.max_ttl);
                (Cached::Records(chain), ttl)
            }
            Answer::NxDomain => (Cached::NxDomain, self.config.negative_ttl),
            Answer::NoData => (Cached::NoData, self.config.negative_ttl),
            Answer::Timeout | Answer::Failure => return,
        };
        if ttl.is_zero() {
            return;
        }
        let Some(expires) = now.checked_add(ttl) else {
            return;
        };
        let key = (fqdn(name), rtype);
        self.remove(&key);
        if self.entries.len() >= self.config.capacity {
            self.purge_expired(now);
        }
        while self.entries.len() >= self.config.capacity {
            let Some(oldest) = self.by_expiry.first().map(|(_, k)| k.clone()) else {
                break;
            };
            self.remove(&oldest);
            self.stats.evictions += 1;
        }
        self.by_expiry.insert((expires, key.clone()));
        self.entries.insert(key, Entry { expires, value });
        self.stats.insertions += 1;
    }

    /// Drops every entry expired at `now`; returns how many.
    pub fn purge_expired(&mut self, now: Instant) -> usize {
        let mut purged = 0;
        while let Some((at, key)) = self.by_expiry.first().cloned() {
            if at > now {
                break;
            }
            self.remove(&key);
            purged += 1;
        }
        purged
    }

    /// When the next entry expires, for a driver that wants to purge
    /// eagerly (the cache also purges lazily on lookup and insert).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.by_expiry.first().map(|(at, _)| *at)
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            entries: self.entries.len(),
            ..self.stats
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.entries.remove(key) {
            self.by_expiry.remove(&(old.expires, key.clone()));
        }
    }
}

impl Default for DnsCache {
    fn default() -> Self {
        DnsCache::new(CacheConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

    /// The only clock read: an arbitrary base for virtual time.
    #[allow(clippy::disallowed_methods)]
    fn t0() -> Instant {
        Instant::now()
    }

    fn cache(capacity: usize) -> DnsCache {
        DnsCache::new(CacheConfig {
            capacity,
            max_ttl: Duration::from_secs(600),
            negative_ttl: Duration::from_secs(30),
            max_cname_chain: 8,
        })
    }

    #[test]
    fn hit_until_ttl_then_expiry() {
        let t0 = t0();
        let mut c = cache(8);
        let ans = Answer::Records(vec![
            Record::a("h.test", 100, LO),
            Record::a("h.test", 50, LO),
        ]);
        c.insert(t0, "H.test", Rtype::A, &ans);
        let at = |s| t0 + Duration::from_secs(s);
        match c.lookup(at(10), "h.test.", Rtype::A) {
            Some(Answer::Records(r)) => {
                assert_eq!(r.iter().map(|r| r.ttl).collect::<Vec<_>>(), [40, 40])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.lookup(at(10), "h.test", Rtype::Aaaa), None);
        assert_eq!(c.lookup(at(50), "h.test", Rtype::A), None);
        assert_eq!(
            c.stats(),
            CacheStats {
                hits: 1,
                misses: 2,
                insertions: 1,
                evictions: 0,
                entries: 0
            }
        );
    }

    #[test]
    fn positive_ttl_is_capped() {
        let t0 = t0();
        let mut c = cache(8);
        c.insert(
            t0,
            "h.test",
            Rtype::A,
            &Answer::Records(vec![Record::a("h.test", 86_400, LO)]),
        );
        assert!(
            c.lookup(t0 + Duration::from_secs(599), "h.test", Rtype::A)
                .is_some()
        );
        assert!(
            c.lookup(t0 + Duration::from_secs(600), "h.test", Rtype::A)
                .is_none()
        );
    }

    #[test]
    fn negative_answers_are_cached_for_the_bounded_time() {
        let t0 = t0();
        let mut c = cache(8);
        c.insert(t0, "gone.test", Rtype::Naptr, &Answer::NxDomain);
        c.insert(t0, "empty.test", Rtype::Srv, &Answer::NoData);
        c.insert(t0, "slow.test", Rtype::A, &Answer::Timeout);
        c.insert(t0, "bad.test", Rtype::A, &Answer::Failure);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c.lookup(t0 + Duration::from_secs(29), "gone.test", Rtype::Naptr),
            Some(Answer::NxDomain)
        );
        assert_eq!(
            c.lookup(t0 + Duration::from_secs(29), "empty.test", Rtype::Srv),
            Some(Answer::NoData)
        );
        assert_eq!(
            c.lookup(t0 + Duration::from_secs(30), "gone.test", Rtype::Naptr),
            None
        );
    }

    #[test]
    fn zero_ttl_and_unrelated_records_are_not_cached() {
        let t0 = t0();
        let mut c = cache(8);
        c.insert(
            t0,
            "h.test",
            Rtype::A,
            &Answer::Records(vec![Record::a("h.test", 0, LO)]),
        );
        c.insert(
            t0,
            "h.test",
            Rtype::A,
            &Answer::Records(vec![Record::a("other.test", 60, LO)]),
        );
        assert!(c.is_empty());
    }

    #[test]
    fn full_cache_evicts_soonest_expiring() {
        let t0 = t0();
        let mut c = cache(2);
        c.insert(
            t0,
            "long.test",
            Rtype::A,
            &Answer::Records(vec![Record::a("long.test", 300, LO)]),
        );
        c.insert(
            t0,
            "short.test",
            Rtype::A,
            &Answer::Records(vec![Record::a("short.test", 10, LO)]),
        );
        c.insert(
            t0,
            "new.test",
            Rtype::A,
            &Answer::Records(vec![Record::a("new.test", 100, LO)]),
        );
        assert!(c.lookup(t0, "short.test", Rtype::A).is_none());
        assert!(c.lookup(t0, "long.test", Rtype::A).is_some());
        assert!(c.lookup(t0, "new.test", Rtype::A).is_some());
        assert_eq!(c.stats().evictions, 1);
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(100)));
        // Expired entries make room before live ones are evicted.
        let later = t0 + Duration::from_secs(200);
        c.insert(
            later,
            "x.test",
            Rtype::A,
            &Answer::Records(vec![Record::a("x.test", 10, LO)]),
        );
        assert_eq!(c.stats().evictions, 1);
        assert_eq!(c.purge_expired(later + Duration::from_secs(100)), 2);
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let t0 = t0();
        let mut c = DnsCache::disabled();
        c.insert(t0, "h.test", Rtype::A, &Answer::NxDomain);
        assert_eq!(c.lookup(t0, "h.test", Rtype::A), None);
    }
}

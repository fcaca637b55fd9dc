//! Token buckets for federation rate limits (per peer, per
//! `[[domain_policy]]` rule, per source domain): the bucket arithmetic in
//! virtual time and a bounded table of buckets keyed by domain. Pure: time
//! is passed in; a clock that goes backwards refills nothing.
//!
//! A refused operation learns how long until a token is back, which the
//! gateway sends as SIP `Retry-After` (RFC 3261 §20.33, §21.5.4) or as an
//! XMPP `wait` error (RFC 6120 §8.3.2).

use std::collections::HashMap;
use std::time::Instant;

/// A sustained rate with a burst allowance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Tokens added per second (> 0).
    pub per_second: f64,
    /// Bucket size: the most operations accepted at once after idling.
    pub burst: f64,
}

/// Longest Retry-After a refusal announces, in seconds.
const MAX_RETRY_AFTER_SECS: f64 = 3600.0;

/// One token bucket. It starts full.
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket for `rate`.
    pub fn full(rate: Rate) -> TokenBucket {
        TokenBucket {
            tokens: rate.burst,
            last: None,
        }
    }

    /// Adds the tokens earned since the last call (capped at the burst).
    fn refill(&mut self, now: Instant, rate: Rate) {
        if let Some(last) = self.last {
            let dt = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + dt * rate.per_second).min(rate.burst);
        }
        // Never move `last` backwards: a late `now` earns nothing twice.
        if self.last.is_none_or(|l| now > l) {
            self.last = Some(now);
        }
    }

    /// Refills, then tells whether a token is available: `Ok(())`, or the
    /// whole seconds until one is (at least 1). Consumes nothing.
    pub fn check(&mut self, now: Instant, rate: Rate) -> Result<(), u32> {
        self.refill(now, rate);
        if self.tokens >= 1.0 {
            return Ok(());
        }
        let wait = if rate.per_second > 0.0 {
            (1.0 - self.tokens) / rate.per_second
        } else {
            MAX_RETRY_AFTER_SECS
        };
        // Clamped to [1, 3600], so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Err(wait.ceil().clamp(1.0, MAX_RETRY_AFTER_SECS) as u32)
    }

    /// Takes one token after a successful [`TokenBucket::check`].
    pub fn consume(&mut self) {
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// [`TokenBucket::check`] then [`TokenBucket::consume`].
    pub fn take(&mut self, now: Instant, rate: Rate) -> Result<(), u32> {
        self.check(now, rate)?;
        self.consume();
        Ok(())
    }

    /// Whether the bucket would be full at `now` (then it is
    /// indistinguishable from a fresh one and may be forgotten).
    fn is_full_at(&self, now: Instant, rate: Rate) -> bool {
        let mut b = *self;
        b.refill(now, rate);
        b.tokens >= rate.burst
    }
}

/// One bucket per key (a domain), bounded by `capacity`. When a new key
/// arrives at the bound, buckets that have refilled completely are
/// forgotten (nothing is lost: a fresh bucket is full); if every bucket is
/// still in use the new key is refused as if its bucket were empty, so a
/// flood of distinct names cannot grow memory.
#[derive(Clone, Debug)]
pub struct KeyedBuckets {
    buckets: HashMap<String, TokenBucket>,
    capacity: usize,
}

impl KeyedBuckets {
    /// An empty table holding at most `capacity` buckets.
    pub fn new(capacity: usize) -> KeyedBuckets {
        KeyedBuckets {
            buckets: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Buckets held.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// [`TokenBucket::check`] for `key`'s bucket (created full if there is
    /// room). Consumes nothing.
    pub fn check(&mut self, now: Instant, key: &str, rate: Rate) -> Result<(), u32> {
        if let Some(b) = self.buckets.get_mut(key) {
            return b.check(now, rate);
        }
        if self.buckets.len() >= self.capacity {
            self.buckets.retain(|_, b| !b.is_full_at(now, rate));
            if self.buckets.len() >= self.capacity {
                return Err(1);
            }
        }
        let mut b = TokenBucket::full(rate);
        let r = b.check(now, rate);
        self.buckets.insert(key.to_string(), b);
        r
    }

    /// Takes a token from `key`'s bucket after a successful check.
    pub fn consume(&mut self, key: &str) {
        if let Some(b) = self.buckets.get_mut(key) {
            b.consume();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const R: Rate = Rate {
        per_second: 2.0,
        burst: 3.0,
    };

    #[test]
    fn bucket_refills_at_the_rate_up_to_the_burst() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut b = TokenBucket::full(R);
        for _ in 0..3 {
            assert_eq!(b.take(t0, R), Ok(()));
        }
        // Empty: one token is 500 ms away, announced as 1 s.
        assert_eq!(b.take(t0, R), Err(1));
        assert_eq!(b.take(t0 + Duration::from_millis(499), R), Err(1));
        assert_eq!(b.take(t0 + Duration::from_millis(500), R), Ok(()));
        // Idle for a minute: only the burst is back.
        let t1 = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(b.take(t1, R), Ok(()));
        }
        assert!(b.take(t1, R).is_err());
        // Time going backwards refills nothing.
        assert!(b.take(t0, R).is_err());
    }

    #[test]
    fn retry_after_is_the_whole_seconds_until_a_token() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let slow = Rate {
            per_second: 0.1,
            burst: 1.0,
        };
        let mut b = TokenBucket::full(slow);
        assert_eq!(b.take(t0, slow), Ok(()));
        assert_eq!(b.take(t0, slow), Err(10));
        assert_eq!(b.take(t0 + Duration::from_millis(2500), slow), Err(8));
        assert_eq!(b.take(t0 + Duration::from_secs(10), slow), Ok(()));
    }

    #[test]
    fn check_does_not_consume() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let one = Rate {
            per_second: 1.0,
            burst: 1.0,
        };
        let mut b = TokenBucket::full(one);
        assert_eq!(b.check(t0, one), Ok(()));
        assert_eq!(b.check(t0, one), Ok(()));
        b.consume();
        assert_eq!(b.check(t0, one), Err(1));
    }

    #[test]
    fn keyed_buckets_are_independent_and_bounded() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut k = KeyedBuckets::new(2);
        for _ in 0..3 {
            assert_eq!(k.check(t0, "a.test", R), Ok(()));
            k.consume("a.test");
        }
        assert_eq!(k.check(t0, "a.test", R), Err(1));
        assert_eq!(k.check(t0, "b.test", R), Ok(()), "own bucket");
        k.consume("b.test");
        // Both buckets are in use: a third name is refused, not stored.
        assert_eq!(k.check(t0, "c.test", R), Err(1));
        assert_eq!(k.len(), 2);
        // Once they have refilled they are forgotten and c gets a bucket.
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(k.check(t1, "c.test", R), Ok(()));
        assert_eq!(k.len(), 1);
    }
}

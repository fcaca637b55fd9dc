//! Jittered exponential reconnect backoff (the "equal jitter" scheme:
//! half the capped exponential delay is fixed, half is random), so a
//! restarted XMPP server is not hit by every gateway at once.

use std::time::Duration;

use rand::Rng;

/// Reconnect delay policy; the attempt counter lives in the component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (doubled per failed attempt).
    pub min: Duration,
    /// Cap.
    pub max: Duration,
}

impl Backoff {
    /// The capped exponential delay for `attempt` (0-based), before jitter.
    pub fn base(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.min
            .saturating_mul(factor)
            .min(self.max)
            .max(self.min.min(self.max))
    }

    /// The delay for `attempt`: uniform in `[base/2, base]`.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let base = self.base(attempt);
        let half = base / 2;
        let span = base.saturating_sub(half).as_millis();
        let span = u64::try_from(span).unwrap_or(u64::MAX);
        let extra = if span == 0 {
            0
        } else {
            rng.random_range(0..=span)
        };
        half.saturating_add(Duration::from_millis(extra))
    }
}

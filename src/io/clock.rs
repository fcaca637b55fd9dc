//! The one place that reads the wall clock. Cores get `now` as an argument.

use std::time::Instant;

/// The current monotonic time.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// Unix time in milliseconds (for deadlines that must survive a restart).
#[allow(clippy::disallowed_methods)]
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

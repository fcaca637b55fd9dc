//! The one place that reads the wall clock. Cores get `now` as an argument.

use std::time::Instant;

/// The current monotonic time.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

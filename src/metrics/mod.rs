//! Prometheus metrics (prometheus-client, OpenMetrics text) and the admin
//! endpoint (`/metrics`, `/healthz`, `/readyz`). The only module that knows
//! Prometheus (house style G.27): the core keeps plain counters and
//! reports each finished leg of a CPIM operation as an event.
//!
//! Two feeds, neither of which costs the hot path a lock:
//! - [`Recorder`] (held by the driver) counts `GatewayEvent::Operation`s
//!   into `cpim_gateway_operations_total` and
//!   `cpim_gateway_operation_duration_seconds` as they are drained.
//! - The driver publishes a [`StatsSnapshot`] on a watch channel after each
//!   batch of inputs; a collector encodes the latest one at scrape time.
//!
//! Every name starts with `cpim_gateway_`; counters end in `_total`,
//! durations in `_seconds`. The families are listed in the README's
//! "Admin endpoint and metrics" section.

mod events;
pub mod health;
pub mod http;
mod snapshot;

use std::sync::Arc;

use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::gateway::StatsSnapshot;

pub use events::{DURATION_BUCKETS, Recorder};
pub use health::Startup;

/// The prefix of every family.
pub const PREFIX: &str = "cpim_gateway";

/// The registry and what `/readyz` reads.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    snapshots: watch::Receiver<StatsSnapshot>,
    /// Start-up facts for `/readyz`.
    pub startup: Arc<Startup>,
}

impl Metrics {
    /// Builds the registry over a snapshot feed; returns it with the
    /// recorder the driver feeds events into.
    pub fn new(snapshots: watch::Receiver<StatsSnapshot>) -> (Metrics, Recorder) {
        let mut registry = Registry::with_prefix(PREFIX);
        registry.register(
            "build",
            "The gateway's version",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        let recorder = Recorder::register(&mut registry);
        registry.register_collector(Box::new(snapshot::SnapshotCollector {
            snapshots: snapshots.clone(),
        }));
        let metrics = Metrics {
            registry,
            snapshots,
            startup: Arc::new(Startup::default()),
        };
        (metrics, recorder)
    }

    /// The OpenMetrics exposition, ending in `# EOF`.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// The latest published snapshot.
    pub fn snapshot(&self) -> StatsSnapshot {
        *self.snapshots.borrow()
    }
}

#[cfg(test)]
mod tests;

//! What `/healthz` and `/readyz` answer.
//!
//! - `/healthz` (liveness): the process answers HTTP. Nothing else is
//!   checked, so a restart is only triggered by a hung process.
//! - `/readyz` (readiness): every SIP listener is bound, the state store is
//!   open, and the XMPP component link is online when `[xmpp]` is
//!   configured. The store is opened before the listeners (a store that
//!   cannot be opened stops the start); after that, a failed commit makes
//!   the gateway not ready until a commit succeeds again. While draining
//!   for shutdown (SIGTERM) it is never ready.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::gateway::{LinkState, StatsSnapshot};

/// Facts about start-up that the snapshot does not carry.
#[derive(Debug, Default)]
pub struct Startup {
    listeners_bound: AtomicBool,
    draining: AtomicBool,
    store_failing: AtomicBool,
}

impl Startup {
    /// Every configured SIP listener is bound.
    pub fn set_listeners_bound(&self) {
        self.listeners_bound.store(true, Ordering::Release);
    }

    /// SIGTERM arrived: the gateway refuses new work and will exit, so a
    /// load balancer should stop sending it traffic.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// The last state-store commit failed (`true`) or succeeded.
    pub fn set_store_failing(&self, failing: bool) {
        self.store_failing.store(failing, Ordering::Release);
    }

    fn listeners_bound(&self) -> bool {
        self.listeners_bound.load(Ordering::Acquire)
    }
}

/// Why the gateway is not ready (empty: ready).
pub(super) fn not_ready(startup: &Startup, s: &StatsSnapshot) -> Vec<&'static str> {
    let mut why = Vec::new();
    if !startup.listeners_bound() {
        why.push("sip listeners are not bound yet");
    }
    if startup.draining.load(Ordering::Acquire) {
        why.push("draining for shutdown");
    }
    if startup.store_failing.load(Ordering::Acquire) {
        why.push("state store commits are failing");
    }
    match s.xmpp.state {
        LinkState::NotConfigured | LinkState::Online => {}
        LinkState::Disconnected => why.push("xmpp link is down"),
        LinkState::Connecting => why.push("xmpp link is connecting"),
        LinkState::Closed => why.push("xmpp link is closed"),
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_link(state: LinkState) -> StatsSnapshot {
        let mut s = StatsSnapshot::default();
        s.xmpp.state = state;
        s
    }

    #[test]
    fn ready_needs_listeners_and_an_online_link_when_configured() {
        let startup = Startup::default();
        let s = with_link(LinkState::NotConfigured);
        assert_eq!(not_ready(&startup, &s), ["sip listeners are not bound yet"]);
        startup.set_listeners_bound();
        assert!(not_ready(&startup, &s).is_empty());
        assert!(not_ready(&startup, &with_link(LinkState::Online)).is_empty());
        for (state, why) in [
            (LinkState::Disconnected, "xmpp link is down"),
            (LinkState::Connecting, "xmpp link is connecting"),
            (LinkState::Closed, "xmpp link is closed"),
        ] {
            assert_eq!(not_ready(&startup, &with_link(state)), [why]);
        }
        startup.set_draining();
        assert_eq!(not_ready(&startup, &s), ["draining for shutdown"]);
    }
}

//! The core's side of process lifecycle: reloading routes and policy
//! without dropping traffic (SIGHUP), and draining before exit (SIGTERM).
//!
//! Reload swaps the static routes, the default route, the local domains and
//! the policy (peers, denied destinations, per-domain rules; token buckets
//! start full again). Relays already routed keep their next hop, so an
//! in-flight MESSAGE finishes where it went. Listeners, DNS, the XMPP link
//! and timers are not reloadable; [`Reload::needs_restart`] says which
//! changed, for the operator's log.
//!
//! Drain stops accepting: every new MESSAGE is answered 503 with
//! Retry-After (SIP) or `wait`/`<service-unavailable/>` (XMPP), the drain
//! policy. Relays already accepted run to completion. If the deadline comes
//! first, [`Gateway::finish_drain`] answers what is left, never silently:
//! relays already forwarded get 202 (accepted, outcome unknown; RFC 3428
//! §7), relays not yet forwarded get 503 with Retry-After.

use std::time::Instant;

use crate::gateway::{Gateway, GatewayConfig};
use crate::sip::StatusCode;

/// Retry-After (seconds) in answers refused while draining.
pub const DRAIN_RETRY_AFTER: u32 = 5;

/// What a reload applied and what it could not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reload {
    /// Settings that changed but only take effect after a restart.
    pub needs_restart: Vec<&'static str>,
}

impl Gateway {
    /// Applies the reloadable part of `new` (see the module docs).
    pub fn reload(&mut self, new: &GatewayConfig) -> Reload {
        let mut out = Reload::default();
        let old = &self.config;
        if old.ports != new.ports || old.advertise_host != new.advertise_host {
            out.needs_restart.push("sip listeners");
        }
        if old.dns_enabled != new.dns_enabled || old.resolution != new.resolution {
            out.needs_restart.push("dns");
        }
        if old.xmpp.as_ref().map(|x| (x.server, &x.domains))
            != new.xmpp.as_ref().map(|x| (x.server, &x.domains))
        {
            out.needs_restart.push("xmpp");
        }
        if old.transactions != new.transactions || old.limits != new.limits {
            out.needs_restart.push("sip timers and limits");
        }
        self.config.router = new.router.clone();
        self.config.default_route = new.default_route;
        self.config.local_domains = new.local_domains.clone();
        self.config.policy = new.policy.clone();
        self.policy = super::policy::Policy::new(new.policy.clone());
        self.stats.reloads += 1;
        out
    }

    /// Stops accepting new operations (SIGTERM).
    pub fn begin_drain(&mut self) {
        self.draining = true;
    }

    /// Whether [`Self::begin_drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Whether nothing accepted is still waiting for its outcome.
    pub fn is_drained(&self) -> bool {
        self.pending_relays() == 0
    }

    /// The drain deadline passed: answers every relay still open (202 if it
    /// was forwarded, 503 with Retry-After if not).
    pub fn finish_drain(&mut self, now: Instant) {
        let now = self.clamp(now);
        self.draining = true;
        let retry = || vec![("Retry-After".to_string(), DRAIN_RETRY_AFTER.to_string())];
        let forwarded: Vec<_> = self.pending.drain().map(|(_, p)| p.relay).collect();
        for r in forwarded {
            self.stats.messages_indeterminate += 1;
            match r.origin {
                super::Origin::Sip { .. } => {
                    self.answer(now, &r, StatusCode::ACCEPTED, Vec::new(), None);
                }
                // XMPP has no positive report: nothing is owed on success.
                super::Origin::Xmpp { .. } => {}
            }
        }
        let resolving: Vec<_> = self.resolving.drain().map(|(_, r)| r.relay).collect();
        for r in resolving {
            self.refuse_relay(
                now,
                r,
                StatusCode::SERVICE_UNAVAILABLE,
                "gateway is shutting down",
                retry(),
            );
        }
        let queued: Vec<_> = self
            .sip_queues
            .drain()
            .flat_map(|(_, q)| q.into_iter())
            .collect();
        self.sip_busy.clear();
        for r in queued {
            self.answer_xmpp_origin(
                now,
                &r,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("gateway is shutting down"),
            );
        }
        // Error windows close now: 202, as they would have a little later.
        self.close_windows(now + std::time::Duration::from_secs(3600));
        self.final_headers.clear();
        self.pump(now);
    }
}

//! Presence across the boundary (RFC 3859 CPP, RFC 3856 / RFC 6665 on the
//! SIP side, RFC 6121 / RFC 7248 on the XMPP side): what both directions
//! share.
//!
//! - [`notifier`]: a SIP watcher subscribes to an XMPP presentity; the
//!   gateway is the SIP notifier and an XMPP contact.
//! - [`subscriber`]: an XMPP watcher subscribes to a SIP presentity; the
//!   gateway is the SIP subscriber.
//!
//! This file owns the settings, the wall clock used for persisted
//! deadlines, starting presence client transactions (Via, Contact, next
//! hop), routing their final responses back, and persistence requests
//! ([`crate::gateway::Output::Persist`]). Subscription ids (CPP
//! `SubscriptID`, RFC 3859 §3.1) are gateway-generated opaque tokens bound
//! to the SIP dialog id and to the (watcher, presentity) JID pair.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub(super) mod notifier;
mod pidf_map;
pub(super) mod record;
pub(super) mod subscriber;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::gateway::{Gateway, Output};
use crate::route::NextHop;
use crate::sip::transaction::{ClientHandle, ClientKey};
use crate::sip::{Limits, Method, OutgoingRequest, Response, SipUri, Transport};
use crate::store::Write;

/// Presence settings (`[presence]` in the config file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceConfig {
    /// Whether presence is served at all (without it SUBSCRIBE gets 489
    /// Bad Event and XMPP subscription requests an error).
    pub enabled: bool,
    /// Shortest subscription accepted (RFC 6665 §4.2.1.1: 423 below it).
    pub min_expires: u32,
    /// Longest subscription granted (longer requests are shortened).
    pub max_expires: u32,
    /// Duration requested by the gateway's own SUBSCRIBEs and granted when
    /// a SUBSCRIBE has no Expires (RFC 3856 §6.4: 3600).
    pub default_expires: u32,
    /// At most one NOTIFY per watcher per this interval (RFC 3856 §6.10:
    /// 5 s), carrying the latest state.
    pub notify_interval: Duration,
    /// After XMPP `subscribed`, how long the first `active` NOTIFY waits
    /// for the presentity's presence before it goes with what is known.
    pub first_notify_grace: Duration,
    /// Subscriptions one watcher may hold.
    pub max_per_watcher: usize,
    /// Subscriptions one presentity may have.
    pub max_per_presentity: usize,
    /// Subscriptions in total (both directions).
    pub max_total: usize,
    /// How long before expiry the gateway refreshes its own SUBSCRIBEs.
    pub refresh_lead: Duration,
    /// How long the gateway waits for an XMPP watcher to answer the probe
    /// sent before a refresh.
    pub watcher_probe_wait: Duration,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            enabled: true,
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            notify_interval: Duration::from_secs(5),
            first_notify_grace: Duration::from_millis(500),
            max_per_watcher: 1000,
            max_per_presentity: 10_000,
            max_total: 200_000,
            refresh_lead: Duration::from_secs(60),
            watcher_probe_wait: Duration::from_secs(5),
        }
    }
}

/// Maps the core's `Instant`s to Unix time for persisted deadlines. The
/// driver sets it from the system clock ([`Gateway::set_wall_clock`]);
/// until then Unix time is counted from the first input.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WallClock {
    base: Option<(Instant, u64)>,
}

impl WallClock {
    /// Unix milliseconds at `now`.
    pub(super) fn unix_ms(&mut self, now: Instant) -> u64 {
        let (at, ms) = *self.base.get_or_insert((now, 0));
        let since = now.saturating_duration_since(at).as_millis();
        ms.saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }

    /// The `Instant` of Unix time `unix_ms`, as seen at `now` (past times
    /// give `now`).
    pub(super) fn instant_of(&mut self, now: Instant, unix_ms: u64) -> Instant {
        let now_ms = self.unix_ms(now);
        now + Duration::from_millis(unix_ms.saturating_sub(now_ms))
    }
}

/// What a presence client transaction is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ClientUse {
    /// A NOTIFY of the notifier subscription with this id.
    Notify(String),
    /// A SUBSCRIBE of the subscriber subscription with this id.
    Subscribe(String),
}

/// Presence state of the gateway core.
#[derive(Debug, Default)]
pub(super) struct PresenceState {
    pub(super) notifier: notifier::Table,
    pub(super) subscriber: subscriber::Table,
    /// Client transactions started for presence.
    pub(super) clients: HashMap<ClientHandle, ClientUse>,
    /// Final responses kept until their transaction event is handled.
    pub(super) responses: HashMap<ClientHandle, Response>,
    pub(super) wall: WallClock,
    /// Restored notifier subscriptions whose presentity is to be probed
    /// once the XMPP link is up: (id, watcher, presentity).
    pub(super) restore_probes: Vec<(String, crate::xmpp::Jid, crate::xmpp::Jid)>,
}

impl PresenceState {
    /// Subscriptions in both directions.
    pub(super) fn total(&self) -> usize {
        self.notifier.len() + self.subscriber.len()
    }
}

/// How many subscriptions each watcher, each presentity and each watcher
/// domain holds in one direction (what the per-watcher, per-presentity and
/// `[[domain_policy]] max_subscriptions` limits count).
#[derive(Debug, Default)]
pub(super) struct PairCounts {
    per_watcher: HashMap<String, usize>,
    per_presentity: HashMap<String, usize>,
    per_domain: HashMap<String, usize>,
}

/// One (watcher, presentity) pair's load: what [`Gateway::limit_refusal`]
/// compares with the limits.
#[derive(Debug)]
pub(super) struct PairLoad {
    per_watcher: usize,
    per_presentity: usize,
    /// The watcher's domain and its count.
    domain: String,
    per_domain: usize,
}

/// The domain a watcher speaks for: the SIP domain inside a
/// gateway-subdomain JID (`alice\40sip.test@component`, XEP-0106), else
/// the JID's own domain.
fn watcher_domain(watcher: &crate::xmpp::Jid) -> String {
    let inner = watcher
        .local()
        .and_then(|l| crate::translate::address::unescape_localpart(l).ok())
        .and_then(|l| l.rsplit_once('@').map(|(_, d)| d.to_string()));
    inner
        .unwrap_or_else(|| watcher.domain().to_string())
        .to_ascii_lowercase()
}

impl PairCounts {
    pub(super) fn add(&mut self, watcher: &crate::xmpp::Jid, presentity: &crate::xmpp::Jid) {
        *self.per_watcher.entry(watcher.to_string()).or_default() += 1;
        *self
            .per_presentity
            .entry(presentity.to_string())
            .or_default() += 1;
        *self.per_domain.entry(watcher_domain(watcher)).or_default() += 1;
    }

    pub(super) fn remove(&mut self, watcher: &crate::xmpp::Jid, presentity: &crate::xmpp::Jid) {
        for (map, key) in [
            (&mut self.per_watcher, watcher.to_string()),
            (&mut self.per_presentity, presentity.to_string()),
            (&mut self.per_domain, watcher_domain(watcher)),
        ] {
            if let Some(n) = map.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
    }

    /// The watcher's, the presentity's and the watcher domain's counts.
    pub(super) fn of(&self, watcher: &crate::xmpp::Jid, presentity: &crate::xmpp::Jid) -> PairLoad {
        let get = |m: &HashMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0);
        let domain = watcher_domain(watcher);
        PairLoad {
            per_watcher: get(&self.per_watcher, &watcher.to_string()),
            per_presentity: get(&self.per_presentity, &presentity.to_string()),
            per_domain: get(&self.per_domain, &domain),
            domain,
        }
    }
}

/// A request the presence code wants sent on a new client transaction.
pub(super) struct PresenceRequest<'a> {
    pub(super) method: Method,
    /// Request-URI.
    pub(super) uri: &'a str,
    /// Where to send it (first Route, or the Request-URI).
    pub(super) next_hop_uri: &'a str,
    /// Headers without Via, Contact and Content-Type/Length.
    pub(super) headers: Vec<(String, String)>,
    /// `(Content-Type, body)`.
    pub(super) body: Option<(&'a str, Bytes)>,
}

impl Gateway {
    /// Sets the wall clock: `unix_ms` is the Unix time at `now`. Persisted
    /// deadlines are in Unix time so that they survive restarts.
    pub fn set_wall_clock(&mut self, now: Instant, unix_ms: u64) {
        self.presence.wall.base = Some((now, unix_ms));
    }

    /// Restores persisted subscriptions (the records of
    /// [`Output::Persist`]) after a restart. Records that do not decode are
    /// deleted and counted; expired subscriptions are cleaned up. Call once,
    /// after [`Gateway::set_wall_clock`] and before traffic.
    pub fn restore(&mut self, now: Instant, records: Vec<(String, Vec<u8>)>) {
        let now = self.clamp(now);
        for (key, value) in records {
            let restored = match record::decode(&key, &value) {
                Ok(record::Record::Notifier(r)) => self.restore_notifier(now, r),
                Ok(record::Record::Subscriber(r)) => self.restore_subscriber(now, r),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "dropping unreadable subscription record");
                    false
                }
            };
            if restored {
                self.stats.subscriptions_restored += 1;
            } else {
                self.stats.subscriptions_dropped_on_restore += 1;
                self.persist_delete(&key);
            }
        }
        self.pump(now);
    }

    /// A `<presence>` stanza from the XMPP server.
    pub(super) fn on_xmpp_presence(&mut self, now: Instant, el: &crate::xmpp::Element) {
        let p = match crate::xmpp::stanza::Presence::parse(el) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "unreadable presence stanza");
                if matches!(el.attr("type"), Some("subscribe" | "probe")) {
                    self.record_xmpp_refusal(crate::xmpp::ErrorCondition::BadRequest);
                    if let Ok(r) = crate::xmpp::stanza::error_reply(
                        el,
                        crate::xmpp::ErrorType::Modify,
                        crate::xmpp::ErrorCondition::BadRequest,
                        Some(&e.to_string()),
                    ) {
                        self.send_stanza_el(&r);
                    }
                }
                return;
            }
        };
        use crate::xmpp::stanza::PresenceType as T;
        match p.kind {
            T::Subscribe | T::Unsubscribe | T::Probe => self.subscriber_presence(now, el, &p),
            T::Error => {
                if !self.notifier_presence(now, &p) {
                    self.subscriber_watcher_error(now, &p);
                }
            }
            _ => {
                self.notifier_presence(now, &p);
            }
        }
    }

    /// Subscriptions by direction and state (RFC 6665 §4.1.3).
    pub fn subscription_counts(&self) -> crate::gateway::stats::SubscriptionCounts {
        let (np, na) = self.presence.notifier.counts();
        let (sp, sa) = self.presence.subscriber.counts();
        crate::gateway::stats::SubscriptionCounts {
            inbound_pending: np,
            inbound_active: na,
            outbound_pending: sp,
            outbound_active: sa,
            created: self.stats.subscriptions_created,
            terminated: self.stats.subscriptions_terminated,
        }
    }

    pub(super) fn persist_put(&mut self, key: &str, value: Vec<u8>) {
        self.out.push_back(Output::Persist(Write::Put {
            key: key.to_string(),
            value,
        }));
    }

    pub(super) fn persist_delete(&mut self, key: &str) {
        self.out.push_back(Output::Persist(Write::Delete {
            key: key.to_string(),
        }));
    }

    /// Why one more subscription would exceed a limit, given the
    /// watcher's, the presentity's and the watcher domain's current counts
    /// in its direction (the domain's cap is its `[[domain_policy]]`
    /// `max_subscriptions`).
    pub(super) fn limit_refusal(&self, load: PairLoad) -> Option<String> {
        let cfg = &self.config.presence;
        if self.presence.total() >= cfg.max_total {
            Some("too many subscriptions in total".into())
        } else if load.per_watcher >= cfg.max_per_watcher {
            Some("too many subscriptions for this watcher".into())
        } else if load.per_presentity >= cfg.max_per_presentity {
            Some("too many subscriptions to this presentity".into())
        } else if self
            .policy
            .max_subscriptions(&load.domain)
            .is_some_and(|cap| load.per_domain >= cap)
        {
            Some(format!("too many subscriptions for domain {}", load.domain))
        } else {
            None
        }
    }

    /// The earliest presence deadline.
    pub(super) fn presence_deadline(&self) -> Option<Instant> {
        match (
            self.presence.notifier.next_deadline(),
            self.presence.subscriber.next_deadline(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn presence_timeout(&mut self, now: Instant) {
        self.notifier_timeout(now);
        self.subscriber_timeout(now);
    }

    /// A fresh subscription id: `prefix` + 16 hex digits.
    pub(super) fn new_sub_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.random_hex(8))
    }

    /// Where a presence request goes: a static route for the URI's domain,
    /// else the URI's own host when it is an IP literal (Contact URIs
    /// normally are). DNS is not consulted for presence requests yet.
    pub(super) fn presence_next_hop(&self, uri: &str) -> Option<NextHop> {
        let uri = SipUri::parse(uri, &Limits::default()).ok()?;
        let host = uri.host().trim_start_matches('[').trim_end_matches(']');
        if let Some(route) = self.config.router.lookup(host) {
            return Some(route.next_hop);
        }
        let ip: IpAddr = host.parse().ok()?;
        let transport = uri.transport().unwrap_or(Transport::Udp);
        let port = uri.port().unwrap_or(5060);
        Some(NextHop {
            addr: SocketAddr::new(ip, port),
            transport,
        })
    }

    /// Our Contact for presence dialogs, for the transport in use.
    pub(super) fn presence_contact(&self, transport: Transport) -> String {
        let port = self
            .config
            .ports
            .iter()
            .find(|(t, _)| *t == transport)
            .or_else(|| self.config.ports.first())
            .map_or(5060, |(_, p)| *p);
        let t = transport.as_str().to_ascii_lowercase();
        format!("<sip:{}:{port};transport={t}>", self.config.advertise_host)
    }

    /// Starts a presence client transaction. `None` when no next hop is
    /// known or the transaction layer refused it.
    pub(super) fn send_presence_request(
        &mut self,
        now: Instant,
        req: PresenceRequest<'_>,
        what: ClientUse,
    ) -> Option<ClientHandle> {
        let Some(hop) = self.presence_next_hop(req.next_hop_uri) else {
            tracing::debug!(uri = %req.next_hop_uri, "no next hop for presence request");
            return None;
        };
        let branch = format!("z9hG4bK{}", self.random_hex(10));
        let port = self
            .config
            .ports
            .iter()
            .find(|(t, _)| *t == hop.transport)
            .map_or(5060, |(_, p)| *p);
        let via = format!(
            "SIP/2.0/{} {}:{port};branch={branch};rport",
            hop.transport.as_str(),
            self.config.advertise_host
        );
        let mut headers = Vec::with_capacity(req.headers.len() + 4);
        headers.push(("Via".to_string(), via));
        headers.extend(req.headers);
        headers.push(("Contact".to_string(), self.presence_contact(hop.transport)));
        let body = match req.body {
            Some((ct, b)) => {
                headers.push(("Content-Type".to_string(), ct.to_string()));
                b
            }
            None => Bytes::new(),
        };
        let out = OutgoingRequest {
            method: req.method.clone(),
            uri: req.uri.to_string(),
            headers,
            body,
        };
        let mut buf = Vec::with_capacity(out.body.len() + 512);
        out.encode(&mut buf);
        let key = ClientKey::new(&branch, &req.method);
        match self
            .txn
            .start_client(now, key, buf.into(), hop.addr, hop.transport)
        {
            Ok(h) => {
                self.presence.clients.insert(h, what);
                Some(h)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not start presence client transaction");
                None
            }
        }
    }

    /// Whether `handle` is a presence client transaction; keeps its final
    /// response for [`Gateway::presence_client_done`].
    pub(super) fn keep_presence_response(&mut self, handle: ClientHandle, resp: &Response) -> bool {
        if !self.presence.clients.contains_key(&handle) {
            return false;
        }
        if resp.status().is_final() {
            self.presence.responses.insert(handle, resp.clone());
        }
        true
    }

    /// A presence client transaction ended: with its final response, or
    /// `None` on timeout / transport error (RFC 6665 treats both as
    /// failure of the request).
    pub(super) fn presence_client_done(&mut self, now: Instant, handle: ClientHandle) -> bool {
        let Some(what) = self.presence.clients.remove(&handle) else {
            return false;
        };
        let resp = self.presence.responses.remove(&handle);
        let kind = match what {
            ClientUse::Notify(_) => crate::gateway::OperationKind::Notify,
            ClientUse::Subscribe(_) => crate::gateway::OperationKind::Subscribe,
        };
        self.emit_presence_operation(
            kind,
            crate::gateway::Direction::Outbound,
            resp.as_ref().map(|r| r.status().as_u16()),
            Duration::ZERO,
        );
        match what {
            ClientUse::Notify(id) => self.notify_done(now, &id, resp.as_ref()),
            ClientUse::Subscribe(id) => self.subscribe_done(now, &id, resp.as_ref()),
        }
        true
    }
}

/// The `Event` package of a request, lower-cased, without parameters, and
/// its `id` parameter (RFC 6665 §8.2.1; compact form `o`).
pub(super) fn event_package(req: &crate::sip::Request) -> Option<(String, Option<String>)> {
    let v = req.header("Event").or_else(|| req.header("o"))?;
    let mut parts = v.split(';');
    let pkg = parts.next()?.trim().to_ascii_lowercase();
    let id = parts.find_map(|p| {
        let (k, val) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("id")
            .then(|| val.trim().to_string())
    });
    (!pkg.is_empty()).then_some((pkg, id))
}

/// The `Expires` value in seconds, if present and numeric.
pub(super) fn expires_of(headers: &[(&str, &str)]) -> Option<u32> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Expires"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// Whether an `Accept` value admits `application/pidf+xml` (RFC 3856 §6.3:
/// a missing Accept means PIDF).
pub(super) fn accepts_pidf(accept: Option<&str>) -> bool {
    let Some(a) = accept else { return true };
    if a.trim().is_empty() {
        // RFC 3261 §20.1: an empty Accept means no bodies at all.
        return false;
    }
    a.split(',').any(|t| {
        let t = t
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        t == "application/pidf+xml" || t == "application/*" || t == "*/*"
    })
}

/// Parsed `Subscription-State` (RFC 6665 §8.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SubscriptionState {
    /// `active`, `pending`, `terminated` or an extension, lower-cased.
    pub(super) state: String,
    pub(super) expires: Option<u32>,
    pub(super) reason: Option<String>,
    pub(super) retry_after: Option<u32>,
}

pub(super) fn subscription_state(v: &str) -> Option<SubscriptionState> {
    let mut parts = v.split(';');
    let state = parts.next()?.trim().to_ascii_lowercase();
    if state.is_empty() {
        return None;
    }
    let mut s = SubscriptionState {
        state,
        expires: None,
        reason: None,
        retry_after: None,
    };
    for p in parts {
        let Some((k, val)) = p.split_once('=') else {
            continue;
        };
        let val = val.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "expires" => s.expires = val.parse().ok(),
            "reason" => s.reason = Some(val.to_ascii_lowercase()),
            "retry-after" => s.retry_after = val.parse().ok(),
            _ => {}
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn accept_rules() {
        assert!(accepts_pidf(None));
        assert!(accepts_pidf(Some("application/pidf+xml")));
        assert!(accepts_pidf(Some("text/plain, application/*;q=0.5")));
        assert!(!accepts_pidf(Some("application/xpidf+xml")));
        assert!(!accepts_pidf(Some("")));
    }

    #[test]
    fn subscription_state_params() {
        let s = subscription_state("terminated;reason=probation;retry-after=30").unwrap();
        assert_eq!(s.state, "terminated");
        assert_eq!(s.reason.as_deref(), Some("probation"));
        assert_eq!(s.retry_after, Some(30));
        let a = subscription_state("Active ; expires=600").unwrap();
        assert_eq!((a.state.as_str(), a.expires), ("active", Some(600)));
        assert!(subscription_state("").is_none());
    }

    #[test]
    fn wall_clock_round_trip() {
        // Instant::now only picks the epoch of virtual time here.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut w = WallClock {
            base: Some((t0, 1_000_000)),
        };
        assert_eq!(w.unix_ms(t0 + Duration::from_secs(2)), 1_002_000);
        assert_eq!(w.instant_of(t0, 1_005_000), t0 + Duration::from_secs(5));
        assert_eq!(w.instant_of(t0, 10), t0);
    }
}

//! XMPP watcher → SIP presentity: the gateway is the SIP subscriber (RFC
//! 6665 §4.1, RFC 3856) for an XMPP user's subscription (RFC 6121 §3, RFC
//! 7248 §4.2–4.3).
//!
//! - `<presence type='subscribe'>` → SUBSCRIBE with `Accept:
//!   application/pidf+xml`. `subscribed` goes to the XMPP watcher only when
//!   a NOTIFY says `active`.
//! - NOTIFY PIDF → one XMPP presence per tuple, and only for tuples that
//!   changed since the last NOTIFY.
//! - Refresh `refresh_lead` before expiry, after probing the XMPP watcher
//!   (an error answer means it is gone: the subscription is cancelled).
//! - Responses: 423 → again with `Min-Expires`; 481 (and 404, 405, 410,
//!   416, 480–485, 489, 501, 604) to a refresh → a new subscription with a
//!   new Call-ID and tag; 403/603 and initial failures → XMPP
//!   `unsubscribed`. Other refresh errors keep the last expiry (RFC 6665
//!   §4.1.2.2).
//! - `terminated` reasons: `deactivated`/`timeout` → subscribe again now;
//!   `probation`/`giveup` → after `retry-after`; `rejected`, `noresource`,
//!   `invariant` → `unsubscribed`.
//! - Forked NOTIFYs from several dialogs: the first `active` one is kept,
//!   the others get 481. A NOTIFY matching nothing gets 481.
//! - XMPP `unsubscribe` → SUBSCRIBE `Expires: 0`; XMPP probe → the cached
//!   state, or a fetch (SUBSCRIBE `Expires: 0`) when none is held.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::pidf_map::{ResourceState, presences_of};
use super::record::SubscriberRecord;
use super::{ClientUse, PresenceRequest, SubscriptionState, event_package, subscription_state};
use crate::gateway::Gateway;
use crate::sip::dialog::Dialog;
use crate::sip::transaction::{ClientHandle, ServerHandle};
use crate::sip::{Method, Request, Response, StatusCode};
use crate::translate::address::{Mode, XmppAddress, xmpp_to_sip as address_to_sip};
use crate::xmpp::stanza::{LangText, Presence, PresenceType};
use crate::xmpp::{ErrorCondition, ErrorType, Jid};

/// RFC 6665 Timer N: 64·T1 for the first NOTIFY.
const TIMER_N: Duration = Duration::from_secs(32);
/// Wait before subscribing again after `probation`/`giveup` without
/// `retry-after`.
const DEFAULT_RETRY: Duration = Duration::from_secs(30);

/// Where a subscriber subscription is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::gateway) enum SState {
    /// SUBSCRIBE sent, no NOTIFY yet.
    Subscribing,
    /// NOTIFY `pending`.
    Pending,
    /// NOTIFY `active`.
    Active,
}

/// One XMPP watcher's subscription to one SIP presentity (or a one-shot
/// fetch for a probe).
#[derive(Debug)]
pub(in crate::gateway) struct SubscriberSub {
    pub(in crate::gateway) id: String,
    pub(in crate::gateway) dialog: Dialog,
    pub(in crate::gateway) watcher_jid: Jid,
    pub(in crate::gateway) presentity_jid: Jid,
    pub(in crate::gateway) presentity_uri: String,
    pub(in crate::gateway) state: SState,
    /// XMPP `subscribed` was sent.
    told_subscribed: bool,
    pub(in crate::gateway) expires_at: Instant,
    refresh_at: Option<Instant>,
    /// A probe of the watcher is out; refresh at this time.
    probing_until: Option<Instant>,
    /// Timer N for the first NOTIFY.
    timer_n: Option<Instant>,
    /// Subscribe again (new dialog) at this time.
    retry_at: Option<Instant>,
    in_flight: Option<ClientHandle>,
    /// The SUBSCRIBE in flight is the initial one of its dialog.
    initial_in_flight: bool,
    /// `Expires: 0` was sent: the subscription is ending.
    closing: bool,
    /// A fetch for a probe: not persisted; ends with its NOTIFY.
    fetch: bool,
    /// Expires asked for in the next SUBSCRIBE.
    ask_expires: u32,
    /// What the watcher was last told, per tuple resource.
    sent: SentStates,
    /// The time of this subscription's one entry in `Table::wakeups`: the
    /// earliest of its deadlines (re-armed after each wake-up).
    wake: Option<Instant>,
}

/// What an XMPP watcher was last told, per tuple resource: a small vector
/// (a presentity has a handful of tuples), not a map, because a map's
/// first node costs more than the whole subscription otherwise does.
#[derive(Debug, Default)]
struct SentStates(Vec<(Box<str>, ResourceState)>);

impl SentStates {
    fn get(&self, res: &str) -> Option<&ResourceState> {
        self.0.iter().find(|(k, _)| &**k == res).map(|(_, v)| v)
    }

    fn insert(&mut self, res: &str, state: ResourceState) {
        match self.0.iter_mut().find(|(k, _)| &**k == res) {
            Some((_, v)) => *v = state,
            None => {
                self.0.push((res.into(), state));
                self.0.shrink_to_fit();
            }
        }
    }

    fn remove(&mut self, res: &str) {
        self.0.retain(|(k, _)| &**k != res);
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }
}

/// The subscriber subscriptions and their indexes.
#[derive(Debug, Default)]
pub(in crate::gateway) struct Table {
    /// Boxed: the map's spare slots then cost a pointer, not a whole
    /// subscription.
    subs: HashMap<String, Box<SubscriberSub>>,
    /// Call-ID → id. Our Call-IDs are unique per dialog; the tag is checked
    /// against the subscription's dialog after the lookup.
    by_dialog: HashMap<String, String>,
    /// (watcher bare JID, presentity bare JID) → id (subscriptions only).
    by_pair: HashMap<(String, String), String>,
    counts: super::PairCounts,
    wakeups: BTreeSet<(Instant, String)>,
    /// Subscriptions (not fetches) held, and how many of them are active:
    /// kept as counters because the gateway reads them on every event-loop
    /// turn (a scan would cost O(subscriptions) each time).
    held: usize,
    active: usize,
}

/// Moves a subscription to `to`, keeping `Table::active` right.
fn set_state(active: &mut usize, sub: &mut SubscriberSub, to: SState) {
    if !sub.fetch {
        match (sub.state == SState::Active, to == SState::Active) {
            (false, true) => *active += 1,
            (true, false) => *active = active.saturating_sub(1),
            _ => {}
        }
    }
    sub.state = to;
}

impl Table {
    pub(in crate::gateway) fn len(&self) -> usize {
        self.held
    }

    /// (pending, active).
    pub(in crate::gateway) fn counts(&self) -> (u64, u64) {
        debug_assert_eq!(
            (self.held, self.active),
            {
                let held: Vec<_> = self.subs.values().filter(|s| !s.fetch).collect();
                let active = held.iter().filter(|s| s.state == SState::Active).count();
                (held.len(), active)
            },
            "subscriber counters"
        );
        let active = u64::try_from(self.active).unwrap_or(u64::MAX);
        let held = u64::try_from(self.held).unwrap_or(u64::MAX);
        (held.saturating_sub(active), active)
    }

    pub(in crate::gateway) fn next_deadline(&self) -> Option<Instant> {
        self.wakeups.first().map(|(t, _)| *t)
    }

    fn index_dialog(&mut self, id: &str, d: &Dialog) {
        self.by_dialog.insert(d.call_id.clone(), id.to_string());
    }

    /// The subscription whose dialog has this Call-ID and our tag.
    fn by_dialog(&self, call_id: &str, our_tag: &str) -> Option<&String> {
        let id = self.by_dialog.get(call_id)?;
        let sub = self.subs.get(id)?;
        (sub.dialog.local_tag == our_tag).then_some(id)
    }

    fn insert(&mut self, mut sub: SubscriberSub) {
        self.index_dialog(&sub.id, &sub.dialog);
        if !sub.fetch {
            self.held += 1;
            if sub.state == SState::Active {
                self.active += 1;
            }
            self.by_pair.insert(
                (sub.watcher_jid.to_string(), sub.presentity_jid.to_string()),
                sub.id.clone(),
            );
            self.counts.add(&sub.watcher_jid, &sub.presentity_jid);
        }
        self.wakeups.insert((sub.expires_at, sub.id.clone()));
        sub.wake = Some(sub.expires_at);
        self.subs.insert(sub.id.clone(), Box::new(sub));
    }

    fn remove(&mut self, id: &str) -> Option<Box<SubscriberSub>> {
        let sub = self.subs.remove(id)?;
        if let Some(w) = sub.wake {
            self.wakeups.remove(&(w, sub.id.clone()));
        }
        self.by_dialog.remove(&sub.dialog.call_id);
        if !sub.fetch {
            self.held = self.held.saturating_sub(1);
            if sub.state == SState::Active {
                self.active = self.active.saturating_sub(1);
            }
            let pair = (sub.watcher_jid.to_string(), sub.presentity_jid.to_string());
            if self.by_pair.get(&pair).map(String::as_str) == Some(id) {
                self.by_pair.remove(&pair);
            }
            self.counts.remove(&sub.watcher_jid, &sub.presentity_jid);
        }
        Some(sub)
    }

    /// Makes sure the subscription wakes up at `at` or earlier. Each
    /// subscription has one entry in `wakeups`, at its earliest deadline;
    /// the wake-up handler re-arms the next one (`rearm`).
    fn schedule(&mut self, id: &str, at: Instant) {
        let Some(sub) = self.subs.get_mut(id) else {
            return;
        };
        match sub.wake {
            Some(w) if w <= at => return,
            Some(w) => {
                self.wakeups.remove(&(w, sub.id.clone()));
            }
            None => {}
        }
        sub.wake = Some(at);
        self.wakeups.insert((at, sub.id.clone()));
    }

    /// Entries in the wake-up set (one per subscription at most).
    #[cfg(test)]
    pub(in crate::gateway) fn wakeup_entries(&self) -> usize {
        self.wakeups.len()
    }

    /// After a wake-up: schedules the earliest deadline still ahead.
    fn rearm(&mut self, id: &str, now: Instant) {
        let Some(sub) = self.subs.get(id) else {
            return;
        };
        let next = [
            sub.timer_n,
            sub.retry_at,
            sub.probing_until,
            sub.refresh_at,
            Some(sub.expires_at),
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .min();
        if let Some(at) = next {
            self.schedule(id, at);
        }
    }
}

/// Responses to a refresh that end the dialog's subscription (RFC 6665
/// §4.1.2.2): subscribe again with a new dialog.
fn refresh_failure_ends(code: u16) -> bool {
    matches!(code, 404 | 405 | 410 | 416 | 480..=485 | 489 | 501 | 604)
}

impl Gateway {
    /// An XMPP `subscribe`, `unsubscribe` or `probe` addressed to one of our
    /// SIP presentity JIDs.
    pub(in crate::gateway) fn subscriber_presence(
        &mut self,
        now: Instant,
        el: &crate::xmpp::Element,
        p: &Presence,
    ) {
        let (Some(from), Some(to)) = (&p.from, &p.to) else {
            return;
        };
        let watcher = from.to_bare();
        let presentity = to.to_bare();
        let pair = (watcher.to_string(), presentity.to_string());
        let existing = self.presence.subscriber.by_pair.get(&pair).cloned();
        match p.kind {
            PresenceType::Subscribe => {
                if let Some(id) = existing {
                    // Already held: repeat what the watcher was told.
                    if let Some(sub) = self.presence.subscriber.subs.get(&id)
                        && sub.told_subscribed
                    {
                        self.send_presence_stanza(&presentity, &watcher, PresenceType::Subscribed);
                        self.resend_presences(&id);
                    }
                    return;
                }
                if !self.config.presence.enabled {
                    return self.presence_error(
                        el,
                        ErrorType::Cancel,
                        ErrorCondition::ServiceUnavailable,
                        "presence is disabled",
                    );
                }
                if self.draining {
                    self.stats.refused_draining += 1;
                    return self.presence_error(
                        el,
                        ErrorType::Wait,
                        ErrorCondition::ServiceUnavailable,
                        "gateway is shutting down",
                    );
                }
                if let Some(why) =
                    self.limit_refusal(self.presence.subscriber.counts.of(&watcher, &presentity))
                {
                    self.stats.subscriptions_refused_limit += 1;
                    return self.presence_error(
                        el,
                        ErrorType::Wait,
                        ErrorCondition::ResourceConstraint,
                        &why,
                    );
                }
                self.subscriber_start(now, el, watcher, presentity, false);
            }
            PresenceType::Unsubscribe => {
                if let Some(id) = existing {
                    self.subscriber_cancel(now, &id);
                }
            }
            PresenceType::Probe => match existing {
                Some(id) => self.resend_presences(&id),
                None => {
                    if self.config.presence.enabled && !self.draining {
                        self.subscriber_start(now, el, watcher, presentity, true);
                    }
                }
            },
            _ => {}
        }
    }

    fn presence_error(
        &mut self,
        el: &crate::xmpp::Element,
        kind: ErrorType,
        condition: ErrorCondition,
        text: &str,
    ) {
        self.record_xmpp_refusal(condition);
        if let Ok(reply) = crate::xmpp::stanza::error_reply(el, kind, condition, Some(text)) {
            self.send_stanza_el(&reply);
        }
    }

    /// Maps the JIDs and sends the initial SUBSCRIBE (a fetch when `fetch`).
    fn subscriber_start(
        &mut self,
        now: Instant,
        el: &crate::xmpp::Element,
        watcher: Jid,
        presentity: Jid,
        fetch: bool,
    ) {
        let Some(mode) = self.xmpp.as_ref().map(|l| l.address_mode.clone()) else {
            return;
        };
        let dest =
            XmppAddress::parse(&presentity.to_string()).and_then(|a| address_to_sip(&mode, &a));
        let src = XmppAddress::parse(&watcher.to_string())
            .and_then(|a| address_to_sip(&Mode::SameDomain, &a));
        let (dest, src) = match (dest, src) {
            (Ok(d), Ok(s)) => (d, s),
            (Err(e), _) | (_, Err(e)) => {
                return self.presence_error(
                    el,
                    ErrorType::Cancel,
                    ErrorCondition::ItemNotFound,
                    &e.to_string(),
                );
            }
        };
        if let Err(refusal) = self.policy.check_domain(now, &dest.host) {
            self.stats.refused_policy += 1;
            return self.presence_error(
                el,
                ErrorType::Cancel,
                ErrorCondition::Forbidden,
                &refusal.to_string(),
            );
        }
        let presentity_uri = dest.to_string();
        if self.presence_next_hop(&presentity_uri).is_none() {
            return self.presence_error(
                el,
                ErrorType::Cancel,
                ErrorCondition::RemoteServerNotFound,
                "no route to the presentity's domain",
            );
        }
        let id = self.new_sub_id(if fetch { "f-" } else { "s-" });
        let dialog = self.new_subscriber_dialog(&src.to_string(), &presentity_uri);
        let _dialog = tracing::info_span!("dialog", sub = %id, call_id = %dialog.call_id).entered();
        let ask = if fetch {
            0
        } else {
            self.config.presence.default_expires
        };
        let sub = SubscriberSub {
            id: id.clone(),
            dialog,
            watcher_jid: watcher,
            presentity_jid: presentity,
            presentity_uri,
            state: SState::Subscribing,
            told_subscribed: false,
            expires_at: now + TIMER_N,
            refresh_at: None,
            probing_until: None,
            timer_n: None,
            retry_at: None,
            in_flight: None,
            initial_in_flight: false,
            closing: false,
            fetch,
            ask_expires: ask,
            sent: SentStates::default(),
            wake: None,
        };
        self.presence.subscriber.insert(sub);
        if !fetch {
            self.stats.subscriptions_created += 1;
        }
        self.send_subscribe(now, &id, true);
    }

    fn new_subscriber_dialog(&mut self, watcher_uri: &str, presentity_uri: &str) -> Dialog {
        Dialog {
            call_id: format!("{}@{}", self.random_hex(12), self.config.advertise_host),
            local_tag: self.random_hex(8),
            remote_tag: String::new(),
            local_uri: format!("<{watcher_uri}>"),
            remote_uri: format!("<{presentity_uri}>"),
            local_seq: 0,
            remote_seq: None,
            remote_target: presentity_uri.to_string(),
            route_set: Vec::new(),
        }
    }

    /// Sends a SUBSCRIBE in the subscription's dialog (`initial`: the
    /// dialog is not confirmed yet).
    fn send_subscribe(&mut self, now: Instant, id: &str, initial: bool) {
        let Some(sub) = self.presence.subscriber.subs.get_mut(id) else {
            return;
        };
        if sub.in_flight.is_some() {
            return;
        }
        let r = sub.dialog.next_request(&Method::Subscribe);
        let mut headers = r.headers;
        headers.push(("Event".to_string(), "presence".to_string()));
        headers.push(("Accept".to_string(), crate::pidf::MEDIA_TYPE.to_string()));
        headers.push(("Expires".to_string(), sub.ask_expires.to_string()));
        let (uri, hop) = if initial {
            (sub.presentity_uri.clone(), sub.presentity_uri.clone())
        } else {
            (r.uri, r.next_hop_uri)
        };
        let req = PresenceRequest {
            method: Method::Subscribe,
            uri: &uri,
            next_hop_uri: &hop,
            headers,
            body: None,
        };
        let sent = self.send_presence_request(now, req, ClientUse::Subscribe(id.to_string()));
        let Some(sub) = self.presence.subscriber.subs.get_mut(id) else {
            return;
        };
        sub.in_flight = sent;
        sub.initial_in_flight = initial;
        if sent.is_none() {
            return self.subscriber_end(id, "no route to presentity", true);
        }
        self.persist_subscriber(now, id);
    }

    /// A SUBSCRIBE's transaction ended.
    pub(in crate::gateway) fn subscribe_done(
        &mut self,
        now: Instant,
        id: &str,
        resp: Option<&Response>,
    ) {
        let max = self.config.presence.max_expires;
        let lead = self.config.presence.refresh_lead;
        let Some(sub) = self.presence.subscriber.subs.get_mut(id) else {
            return;
        };
        sub.in_flight = None;
        let initial = sub.initial_in_flight;
        let Some(resp) = resp else {
            // Timeout or transport error.
            if initial || sub.closing || sub.fetch {
                return self.subscriber_end(id, "SUBSCRIBE timed out", true);
            }
            // A failed refresh keeps the last expiry (RFC 6665 §4.1.2.2).
            return;
        };
        let code = resp.status().as_u16();
        if (200..300).contains(&code) {
            if sub.closing {
                if sub.dialog.remote_tag.is_empty() {
                    return self.subscriber_end(id, "unsubscribed", false);
                }
                // RFC 6665 §4.1.2.3: the notifier's final NOTIFY
                // (terminated) follows; answer it in the dialog, waiting
                // at most Timer N.
                let at = now + TIMER_N;
                sub.timer_n = Some(at);
                self.presence.subscriber.schedule(id, at);
                return;
            }
            let granted = resp
                .header("Expires")
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(sub.ask_expires)
                .min(sub.ask_expires.max(1))
                .min(max);
            if sub.fetch {
                // The fetch's NOTIFY follows (Timer N bounds the wait).
                let at = now + TIMER_N;
                sub.timer_n = Some(at);
                self.presence.subscriber.schedule(id, at);
                return;
            }
            let g = Duration::from_secs(u64::from(granted));
            sub.expires_at = now + g;
            let refresh_in = if g > lead * 2 { g - lead } else { g / 2 };
            let refresh_at = now + refresh_in;
            sub.refresh_at = Some(refresh_at);
            sub.probing_until = None;
            let timer_n = sub.dialog.remote_tag.is_empty().then_some(now + TIMER_N);
            if timer_n.is_some() {
                sub.timer_n = timer_n;
            }
            let exp = sub.expires_at;
            if let Some(at) = timer_n {
                self.presence.subscriber.schedule(id, at);
            }
            self.presence.subscriber.schedule(id, refresh_at);
            self.presence.subscriber.schedule(id, exp);
            self.persist_subscriber(now, id);
            return;
        }
        if code < 300 {
            return;
        }
        if code == 423
            && let Some(min) = resp
                .header("Min-Expires")
                .and_then(|v| v.trim().parse::<u32>().ok())
            && min > sub.ask_expires
            && min <= max.max(3600) * 4
        {
            sub.ask_expires = min;
            return self.send_subscribe(now, id, initial);
        }
        if sub.closing || sub.fetch {
            return self.subscriber_end(id, "unsubscribe refused", false);
        }
        if !initial && refresh_failure_ends(code) {
            // RFC 6665 §4.1.2.2: subscribe again with a new dialog.
            return self.resubscribe(now, id);
        }
        if initial || matches!(code, 403 | 603) {
            let why = format!("SUBSCRIBE answered {code}");
            self.subscriber_end(id, &why, true);
        }
        // Other refresh errors: keep the last known expiry.
    }

    /// Starts a new dialog for a subscription whose dialog ended.
    fn resubscribe(&mut self, now: Instant, id: &str) {
        let default = self.config.presence.default_expires;
        let Some(sub) = self.presence.subscriber.subs.get(id) else {
            return;
        };
        let watcher_uri = sub
            .dialog
            .local_uri
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string();
        let presentity_uri = sub.presentity_uri.clone();
        let old = sub.dialog.call_id.clone();
        let dialog = self.new_subscriber_dialog(&watcher_uri, &presentity_uri);
        self.presence.subscriber.by_dialog.remove(&old);
        self.presence.subscriber.index_dialog(id, &dialog);
        if let Some(sub) = self.presence.subscriber.subs.get_mut(id) {
            sub.dialog = dialog;
            sub.ask_expires = default;
            sub.retry_at = None;
            sub.timer_n = None;
            sub.in_flight = None;
        }
        self.send_subscribe(now, id, true);
    }

    /// XMPP `unsubscribe`: SUBSCRIBE `Expires: 0` (RFC 6665 §4.1.2.3).
    fn subscriber_cancel(&mut self, now: Instant, id: &str) {
        let Some(sub) = self.presence.subscriber.subs.get_mut(id) else {
            return;
        };
        sub.closing = true;
        sub.ask_expires = 0;
        let confirmed = !sub.dialog.remote_tag.is_empty();
        if sub.in_flight.is_some() && !confirmed {
            return;
        }
        // The stored record goes now: a restart must not revive it.
        self.persist_delete(&super::record::key(id));
        self.send_subscribe(now, id, !confirmed);
    }

    /// Ends a subscription; `tell` sends XMPP `unsubscribed` (and
    /// unavailable for what the watcher was shown).
    fn subscriber_end(&mut self, id: &str, why: &str, tell: bool) {
        let Some(sub) = self.presence.subscriber.remove(id) else {
            return;
        };
        tracing::debug!(sub = %id, reason = %why, "subscriber subscription ended");
        if !sub.fetch {
            self.stats.subscriptions_terminated += 1;
            self.persist_delete(&super::record::key(id));
        }
        if tell && !sub.fetch {
            for res in sub.sent.keys() {
                if let Ok(from) = sub.presentity_jid.with_resource(res) {
                    self.send_presence_stanza(&from, &sub.watcher_jid, PresenceType::Unavailable);
                }
            }
            self.send_presence_stanza(
                &sub.presentity_jid,
                &sub.watcher_jid,
                PresenceType::Unsubscribed,
            );
        }
    }

    /// A NOTIFY arrived (RFC 6665 §4.1.3). Answers it.
    pub(in crate::gateway) fn on_sip_notify(
        &mut self,
        now: Instant,
        _remote: SocketAddr,
        handle: ServerHandle,
        req: Request,
    ) {
        if event_package(&req).is_none_or(|(p, _)| p != "presence") {
            let hdrs = vec![("Allow-Events".to_string(), "presence".to_string())];
            return self.respond(now, handle, &req, StatusCode::BAD_EVENT, hdrs);
        }
        let our_tag = req.to().tag().unwrap_or_default().to_string();
        let Some(id) = self
            .presence
            .subscriber
            .by_dialog(req.call_id(), &our_tag)
            .cloned()
        else {
            self.stats.notifies_unmatched += 1;
            return self.respond(
                now,
                handle,
                &req,
                StatusCode::CALL_DOES_NOT_EXIST,
                Vec::new(),
            );
        };
        let _dialog = tracing::info_span!("dialog", sub = %id, call_id = %req.call_id()).entered();
        let Some(state) = req
            .header("Subscription-State")
            .and_then(subscription_state)
        else {
            let w = vec![(
                "Warning".to_string(),
                self.warning("Subscription-State missing"),
            )];
            return self.respond_with_tag(now, handle, &req, StatusCode::BAD_REQUEST, &our_tag, w);
        };
        let Some(sub) = self.presence.subscriber.subs.get_mut(&id) else {
            return self.respond(
                now,
                handle,
                &req,
                StatusCode::CALL_DOES_NOT_EXIST,
                Vec::new(),
            );
        };
        let from_tag = req.from().tag().unwrap_or_default();
        if sub.dialog.remote_tag.is_empty() {
            if sub.dialog.confirm_with_notify(&req).is_err() {
                let w = vec![(
                    "Warning".to_string(),
                    self.warning("NOTIFY without Contact or From tag"),
                )];
                return self.respond_with_tag(
                    now,
                    handle,
                    &req,
                    StatusCode::BAD_REQUEST,
                    &our_tag,
                    w,
                );
            }
        } else if sub.dialog.remote_tag != from_tag {
            // A fork (RFC 6665 §4.1.2.4, §7.3 of RFC 3856: one only). Keep
            // the first active dialog; switch only while none is active.
            if sub.state == SState::Active || state.state != "active" {
                self.stats.notifies_unmatched += 1;
                return self.respond(
                    now,
                    handle,
                    &req,
                    StatusCode::CALL_DOES_NOT_EXIST,
                    Vec::new(),
                );
            }
            if sub.dialog.confirm_with_notify(&req).is_err() {
                return self.respond(now, handle, &req, StatusCode::BAD_REQUEST, Vec::new());
            }
        } else if !sub.dialog.accept_remote(&req) {
            let w = vec![("Warning".to_string(), self.warning("CSeq out of order"))];
            return self.respond_with_tag(
                now,
                handle,
                &req,
                StatusCode::SERVER_INTERNAL_ERROR,
                &our_tag,
                w,
            );
        }
        sub.timer_n = None;
        self.respond_with_tag(now, handle, &req, StatusCode::OK, &our_tag, Vec::new());
        self.subscriber_notified(now, &id, &state, &req);
    }

    fn subscriber_notified(
        &mut self,
        now: Instant,
        id: &str,
        st: &SubscriptionState,
        req: &Request,
    ) {
        let Some(sub) = self.presence.subscriber.subs.get_mut(id) else {
            return;
        };
        let body_presences = if req.body().is_empty() {
            None
        } else {
            match crate::pidf::parse(req.body()) {
                Ok(doc) => Some(presences_of(&doc)),
                Err(e) => {
                    tracing::debug!(error = %e, "NOTIFY body is not usable PIDF");
                    self.stats.presence_mapping_losses += 1;
                    None
                }
            }
        };
        match st.state.as_str() {
            "active" => {
                if let Some(e) = st.expires {
                    let at = now + Duration::from_secs(u64::from(e));
                    if at < sub.expires_at {
                        sub.expires_at = at;
                        self.presence.subscriber.schedule(id, at);
                    }
                }
                let table = &mut self.presence.subscriber;
                let Some(sub) = table.subs.get_mut(id) else {
                    return;
                };
                set_state(&mut table.active, sub, SState::Active);
                if !sub.told_subscribed && !sub.fetch {
                    sub.told_subscribed = true;
                    let (p, w) = (sub.presentity_jid.clone(), sub.watcher_jid.clone());
                    self.send_presence_stanza(&p, &w, PresenceType::Subscribed);
                }
                if let Some(ps) = body_presences {
                    self.deliver_tuples(id, ps);
                }
                if self
                    .presence
                    .subscriber
                    .subs
                    .get(id)
                    .is_some_and(|s| s.fetch)
                {
                    return self.subscriber_end(id, "fetched", false);
                }
                self.persist_subscriber(now, id);
            }
            "pending" => {
                set_state(&mut self.presence.subscriber.active, sub, SState::Pending);
                if sub.fetch {
                    return self.subscriber_end(id, "fetch pending", false);
                }
                self.persist_subscriber(now, id);
            }
            _ => {
                // terminated (or an unknown state: RFC 6665 §8.2.3 says treat
                // unknown values as terminated? No — as "active"; we only
                // know the three, so anything else ends it politely).
                if let Some(ps) = body_presences
                    && sub.fetch
                {
                    self.deliver_tuples(id, ps);
                }
                let Some(sub) = self.presence.subscriber.subs.get(id) else {
                    return;
                };
                if sub.fetch || sub.closing {
                    return self.subscriber_end(id, "terminated", false);
                }
                match st.reason.as_deref() {
                    Some("deactivated" | "timeout") => self.resubscribe(now, id),
                    Some("probation" | "giveup") => {
                        let wait = st
                            .retry_after
                            .map_or(DEFAULT_RETRY, |s| Duration::from_secs(u64::from(s)));
                        let at = now + wait;
                        let table = &mut self.presence.subscriber;
                        if let Some(sub) = table.subs.get_mut(id) {
                            sub.retry_at = Some(at);
                            set_state(&mut table.active, sub, SState::Subscribing);
                        }
                        self.presence.subscriber.schedule(id, at);
                    }
                    _ => self.subscriber_end(id, "terminated by notifier", true),
                }
            }
        }
    }

    /// Sends the watcher one presence per tuple that changed.
    fn deliver_tuples(&mut self, id: &str, ps: Vec<super::pidf_map::TuplePresence>) {
        let Some(sub) = self.presence.subscriber.subs.get_mut(id) else {
            return;
        };
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for t in ps {
            seen.insert(t.resource.clone());
            if sub.fetch || sub.sent.get(&t.resource) != Some(&t.state) {
                sub.sent.insert(&t.resource, t.state.clone());
                out.push((t.resource, t.state));
            }
        }
        // Tuples that disappeared: unavailable.
        let gone: Vec<String> = sub
            .sent
            .keys()
            .filter(|k| !seen.contains(*k))
            .map(str::to_string)
            .collect();
        for g in gone {
            sub.sent.remove(&g);
            out.push((g, ResourceState::default()));
        }
        let (p, w) = (sub.presentity_jid.clone(), sub.watcher_jid.clone());
        for (res, state) in out {
            self.send_tuple_presence(&p, &w, &res, &state);
        }
    }

    fn send_tuple_presence(
        &mut self,
        presentity: &Jid,
        watcher: &Jid,
        res: &str,
        s: &ResourceState,
    ) {
        let Ok(from) = presentity.with_resource(res) else {
            self.stats.presence_mapping_losses += 1;
            return;
        };
        let p = Presence {
            from: Some(from),
            to: Some(watcher.clone()),
            kind: if s.available {
                PresenceType::Available
            } else {
                PresenceType::Unavailable
            },
            show: s.show,
            statuses: s
                .status
                .iter()
                .map(|t| LangText {
                    lang: None,
                    text: t.clone(),
                })
                .collect(),
            priority: s.priority,
            ..Presence::default()
        };
        self.send_stanza_el(&p.to_element());
    }

    /// Repeats the watcher's current view (answer to a probe or a repeated
    /// subscribe).
    fn resend_presences(&mut self, id: &str) {
        let Some(sub) = self.presence.subscriber.subs.get(id) else {
            return;
        };
        let (p, w) = (sub.presentity_jid.clone(), sub.watcher_jid.clone());
        let sent: Vec<(String, ResourceState)> = sub
            .sent
            .0
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        if sent.is_empty() {
            self.send_presence_stanza(&p, &w, PresenceType::Unavailable);
        }
        for (res, s) in sent {
            self.send_tuple_presence(&p, &w, &res, &s);
        }
    }

    /// A presence error from an XMPP watcher we probed before a refresh:
    /// the watcher is gone, so is the subscription.
    pub(in crate::gateway) fn subscriber_watcher_error(
        &mut self,
        now: Instant,
        p: &Presence,
    ) -> bool {
        let (Some(from), Some(to)) = (&p.from, &p.to) else {
            return false;
        };
        let pair = (from.to_bare().to_string(), to.to_bare().to_string());
        let Some(id) = self.presence.subscriber.by_pair.get(&pair).cloned() else {
            return false;
        };
        if self
            .presence
            .subscriber
            .subs
            .get(&id)
            .is_some_and(|s| s.probing_until.is_some())
        {
            self.subscriber_cancel(now, &id);
        }
        true
    }

    pub(in crate::gateway) fn subscriber_timeout(&mut self, now: Instant) {
        while let Some((at, id)) = self.presence.subscriber.wakeups.first().cloned() {
            if at > now {
                break;
            }
            self.presence.subscriber.wakeups.remove(&(at, id.clone()));
            let Some(sub) = self.presence.subscriber.subs.get_mut(&id) else {
                continue;
            };
            sub.wake = None;
            let _dialog =
                tracing::info_span!("dialog", sub = %id, call_id = %sub.dialog.call_id).entered();
            self.subscriber_wake(now, &id);
            self.presence.subscriber.rearm(&id, now);
        }
    }

    /// One subscription's due deadlines.
    fn subscriber_wake(&mut self, now: Instant, id: &str) {
        let wait = self.config.presence.watcher_probe_wait;
        let Some(sub) = self.presence.subscriber.subs.get_mut(id) else {
            return;
        };
        if sub.timer_n.is_some_and(|t| t <= now) {
            sub.timer_n = None;
            if sub.dialog.remote_tag.is_empty() || sub.fetch || sub.closing {
                self.subscriber_end(
                    id,
                    "no NOTIFY (Timer N)",
                    !sub_fetch(&self.presence.subscriber, id),
                );
                return;
            }
        }
        let Some(sub) = self.presence.subscriber.subs.get_mut(id) else {
            return;
        };
        if sub.retry_at.is_some_and(|t| t <= now) {
            sub.retry_at = None;
            self.resubscribe(now, id);
            return;
        }
        if sub.closing || sub.in_flight.is_some() {
            return;
        }
        if sub.probing_until.is_some_and(|t| t <= now) {
            sub.probing_until = None;
            sub.refresh_at = None;
            sub.ask_expires = self.config.presence.default_expires;
            self.send_subscribe(now, id, false);
            return;
        }
        if sub.refresh_at.is_some_and(|t| t <= now) && sub.probing_until.is_none() {
            // RFC 7248 §4.2: before refreshing, check that the XMPP
            // watcher is still there.
            sub.refresh_at = None;
            let until = now + wait;
            sub.probing_until = Some(until);
            let (p, w) = (sub.presentity_jid.clone(), sub.watcher_jid.clone());
            self.presence.subscriber.schedule(id, until);
            self.send_presence_stanza(&p, &w, PresenceType::Probe);
            return;
        }
        if sub.expires_at <= now && sub.refresh_at.is_none() && sub.probing_until.is_none() {
            // Expired without a successful refresh: a new dialog.
            self.resubscribe(now, id);
        }
    }

    fn persist_subscriber(&mut self, now: Instant, id: &str) {
        let unix_now = self.presence.wall.unix_ms(now);
        let Some(sub) = self.presence.subscriber.subs.get(id) else {
            return;
        };
        if sub.fetch || sub.closing {
            return;
        }
        let left = sub.expires_at.saturating_duration_since(now);
        let rec = SubscriberRecord {
            id: sub.id.clone(),
            dialog: sub.dialog.clone(),
            watcher_jid: sub.watcher_jid.to_string(),
            presentity_jid: sub.presentity_jid.to_string(),
            presentity_uri: sub.presentity_uri.clone(),
            active: sub.told_subscribed,
            expires_at_unix_ms: unix_now
                .saturating_add(u64::try_from(left.as_millis()).unwrap_or(u64::MAX)),
        };
        let value = rec.encode();
        self.persist_put(&super::record::key(id), value);
    }

    /// Puts a stored subscriber subscription back. An unconfirmed or
    /// expired dialog is replaced by a new SUBSCRIBE.
    pub(in crate::gateway) fn restore_subscriber(
        &mut self,
        now: Instant,
        r: SubscriberRecord,
    ) -> bool {
        let (Ok(w), Ok(p)) = (Jid::parse(&r.watcher_jid), Jid::parse(&r.presentity_jid)) else {
            return false;
        };
        let lead = self.config.presence.refresh_lead;
        let expires_at = self.presence.wall.instant_of(now, r.expires_at_unix_ms);
        let id = r.id.clone();
        let confirmed = !r.dialog.remote_tag.is_empty();
        let left = expires_at.saturating_duration_since(now);
        let refresh_at = if left > lead { expires_at - lead } else { now };
        let sub = SubscriberSub {
            id: r.id,
            dialog: r.dialog,
            watcher_jid: w,
            presentity_jid: p,
            presentity_uri: r.presentity_uri,
            state: if r.active {
                SState::Active
            } else {
                SState::Subscribing
            },
            told_subscribed: r.active,
            expires_at,
            refresh_at: Some(refresh_at),
            probing_until: None,
            timer_n: None,
            retry_at: None,
            in_flight: None,
            initial_in_flight: false,
            closing: false,
            fetch: false,
            ask_expires: self.config.presence.default_expires,
            sent: SentStates::default(),
            wake: None,
        };
        self.presence.subscriber.insert(sub);
        if !confirmed || expires_at <= now {
            self.resubscribe(now, &id);
        } else {
            self.presence.subscriber.schedule(&id, refresh_at);
            self.presence.subscriber.schedule(&id, expires_at);
        }
        true
    }
}

fn sub_fetch(t: &Table, id: &str) -> bool {
    t.subs.get(id).is_some_and(|s| s.fetch)
}

//! SIP watcher → XMPP presentity: the gateway is the SIP notifier (RFC 6665
//! §4.2, RFC 3856) and, on the XMPP side, the watcher's contact (RFC 6121
//! §3, RFC 7248 §4).
//!
//! - SUBSCRIBE `Event: presence` gets 200 at once (RFC 6665 §4.2.1.1,
//!   standards.md C3), then NOTIFY `pending`; XMPP `subscribe` goes out.
//!   XMPP `subscribed` makes it `active` with a PIDF document; XMPP
//!   `unsubscribed` ends it with `terminated;reason=rejected`.
//! - Each XMPP resource is one tuple; changes are coalesced so that a
//!   watcher gets at most one NOTIFY per `notify_interval` (RFC 3856
//!   §6.10), carrying the latest state. Final NOTIFYs are not delayed.
//! - Refresh, `Expires: 0` (terminating NOTIFY, XMPP `unsubscribe`), and
//!   out-of-dialog fetch (XMPP probe, then one `terminated;reason=timeout`
//!   NOTIFY).
//! - A NOTIFY answered 481 (or 404, 405, 410, 416, 480–485, 489, 501,
//!   604) or timing out ends the subscription (RFC 6665 §4.2.2).
//! - Every change of dialog or expiry is persisted; the XMPP resources are
//!   not (after a restart a probe fetches them again).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::pidf_map::{ResourceState, document_for, rfc3339};
use super::record::NotifierRecord;
use super::{ClientUse, PresenceRequest, accepts_pidf, event_package};
use crate::gateway::Gateway;
use crate::sip::dialog::Dialog;
use crate::sip::transaction::{ClientHandle, ServerHandle};
use crate::sip::{Method, Request, Response, StatusCode};
use crate::translate::address::{SipAddress, escape_localpart, sip_to_xmpp};
use crate::xmpp::stanza::{Presence, PresenceType};
use crate::xmpp::{ErrorCondition, Jid};

/// Where a notifier subscription is (RFC 6665 §4.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::gateway) enum NState {
    /// Waiting for the XMPP presentity's approval.
    Pending,
    /// Approved: NOTIFYs carry presence.
    Active,
}

/// One SIP watcher's subscription to one XMPP presentity.
#[derive(Debug)]
pub(in crate::gateway) struct NotifierSub {
    pub(in crate::gateway) id: String,
    pub(in crate::gateway) dialog: Dialog,
    /// The watcher's bare JID (our component address for the SIP user).
    pub(in crate::gateway) watcher_jid: Jid,
    /// The presentity's bare JID.
    pub(in crate::gateway) presentity_jid: Jid,
    pub(in crate::gateway) state: NState,
    pub(in crate::gateway) expires_at: Instant,
    /// A one-shot fetch (Expires: 0 out of dialog): never persisted.
    fetch: bool,
    /// Known XMPP resources of the presentity.
    resources: BTreeMap<String, ResourceState>,
    last_notify: Option<Instant>,
    /// When the owed NOTIFY goes out (None: nothing owed).
    notify_due: Option<Instant>,
    in_flight: Option<ClientHandle>,
    /// Set when the final NOTIFY is owed or sent: the reason.
    terminating: Option<&'static str>,
}

/// The notifier subscriptions and their indexes.
#[derive(Debug, Default)]
pub(in crate::gateway) struct Table {
    /// Boxed: the map's spare slots then cost a pointer, not a whole
    /// subscription.
    subs: HashMap<String, Box<NotifierSub>>,
    /// (Call-ID, our tag) → id.
    by_dialog: HashMap<(String, String), String>,
    /// (watcher bare JID, presentity bare JID) → ids.
    by_pair: HashMap<(String, String), Vec<String>>,
    counts: super::PairCounts,
    /// Wake-ups (lazy: stale entries are re-checked and skipped).
    wakeups: BTreeSet<(Instant, String)>,
    /// Active subscriptions: a counter because the gateway reads it on
    /// every event-loop turn.
    active: usize,
}

impl Table {
    pub(in crate::gateway) fn len(&self) -> usize {
        self.subs.len()
    }

    /// (pending, active).
    pub(in crate::gateway) fn counts(&self) -> (u64, u64) {
        debug_assert_eq!(
            self.active,
            self.subs
                .values()
                .filter(|s| s.state == NState::Active)
                .count(),
            "notifier active counter"
        );
        let active = self.active;
        let total = self.subs.len();
        (
            u64::try_from(total - active).unwrap_or(0),
            u64::try_from(active).unwrap_or(0),
        )
    }

    pub(in crate::gateway) fn next_deadline(&self) -> Option<Instant> {
        self.wakeups.first().map(|(t, _)| *t)
    }

    fn insert(&mut self, sub: NotifierSub) {
        let pair = pair_key(&sub.watcher_jid, &sub.presentity_jid);
        self.by_dialog.insert(
            (sub.dialog.call_id.clone(), sub.dialog.local_tag.clone()),
            sub.id.clone(),
        );
        self.by_pair.entry(pair).or_default().push(sub.id.clone());
        self.counts.add(&sub.watcher_jid, &sub.presentity_jid);
        self.wakeups.insert((sub.expires_at, sub.id.clone()));
        if sub.state == NState::Active {
            self.active += 1;
        }
        self.subs.insert(sub.id.clone(), Box::new(sub));
    }

    fn remove(&mut self, id: &str) -> Option<Box<NotifierSub>> {
        let sub = self.subs.remove(id)?;
        if sub.state == NState::Active {
            self.active = self.active.saturating_sub(1);
        }
        self.by_dialog
            .remove(&(sub.dialog.call_id.clone(), sub.dialog.local_tag.clone()));
        let pair = pair_key(&sub.watcher_jid, &sub.presentity_jid);
        if let Some(v) = self.by_pair.get_mut(&pair) {
            v.retain(|x| x != id);
            if v.is_empty() {
                self.by_pair.remove(&pair);
            }
        }
        self.counts.remove(&sub.watcher_jid, &sub.presentity_jid);
        Some(sub)
    }

    fn schedule(&mut self, id: &str, at: Instant) {
        self.wakeups.insert((at, id.to_string()));
    }
}

fn pair_key(watcher: &Jid, presentity: &Jid) -> (String, String) {
    (
        watcher.to_bare().to_string(),
        presentity.to_bare().to_string(),
    )
}

/// Responses to a NOTIFY that end the subscription (RFC 6665 §4.2.2).
fn notify_failure_ends(code: u16) -> bool {
    matches!(code, 404 | 405 | 410 | 416 | 480..=485 | 489 | 501 | 604)
}

impl Gateway {
    /// A SUBSCRIBE arrived on a new server transaction.
    pub(in crate::gateway) fn on_sip_subscribe(
        &mut self,
        now: Instant,
        handle: ServerHandle,
        req: Request,
    ) {
        let allow_events = vec![("Allow-Events".to_string(), "presence".to_string())];
        let pkg = event_package(&req);
        if !self.config.presence.enabled || pkg.as_ref().is_none_or(|(p, _)| p != "presence") {
            return self.respond(now, handle, &req, StatusCode::BAD_EVENT, allow_events);
        }
        let headers: Vec<(&str, &str)> = req.headers().collect();
        let expires = super::expires_of(&headers);
        if req.to().tag().is_some() {
            return self.subscribe_in_dialog(now, handle, &req, expires);
        }
        if self.draining {
            self.stats.refused_draining += 1;
            let hdrs = vec![("Retry-After".into(), "5".into())];
            return self.respond(now, handle, &req, StatusCode::SERVICE_UNAVAILABLE, hdrs);
        }
        if !accepts_pidf(req.header("Accept")) {
            let hdrs = vec![("Accept".to_string(), crate::pidf::MEDIA_TYPE.to_string())];
            return self.respond(now, handle, &req, StatusCode::NOT_ACCEPTABLE, hdrs);
        }
        let cfg = self.config.presence.clone();
        let requested = expires.unwrap_or(cfg.default_expires);
        if requested > 0 && requested < cfg.min_expires {
            let hdrs = vec![("Min-Expires".to_string(), cfg.min_expires.to_string())];
            return self.respond(now, handle, &req, StatusCode::INTERVAL_TOO_BRIEF, hdrs);
        }
        let granted = requested.min(cfg.max_expires);
        // Who is who on the XMPP side.
        let (watcher_jid, presentity_jid) = match self.notifier_jids(&req) {
            Ok(j) => j,
            Err((status, why)) => {
                let w = vec![("Warning".to_string(), self.warning(&why))];
                return self.respond(now, handle, &req, status, w);
            }
        };
        // Policy: who may speak for the source domain (address or
        // mutual-TLS identity) was decided in `dispatch` (`admit_peer`);
        // the domain's own rules apply here.
        if let Err(refusal) = self.policy.check_domain(now, req.from().uri().host()) {
            self.stats.count_policy_refusal(&refusal);
            let status = StatusCode::from(&refusal);
            let w = vec![("Warning".to_string(), self.warning(&refusal.to_string()))];
            return self.respond(now, handle, &req, status, w);
        }
        if !self.xmpp_online() {
            self.stats.xmpp_link_down_refusals += 1;
            let hdrs = vec![
                ("Retry-After".to_string(), "10".to_string()),
                ("Warning".to_string(), self.warning("xmpp link is down")),
            ];
            return self.respond(now, handle, &req, StatusCode::SERVICE_UNAVAILABLE, hdrs);
        }
        if let Some(why) = self.limit_refusal(
            self.presence
                .notifier
                .counts
                .of(&watcher_jid, &presentity_jid),
        ) {
            self.stats.subscriptions_refused_limit += 1;
            let w = vec![("Warning".to_string(), self.warning(&why))];
            return self.respond(now, handle, &req, StatusCode::FORBIDDEN, w);
        }
        let local_tag = self.random_hex(10);
        let dialog = match Dialog::as_uas(&req, &local_tag, 0) {
            Ok(d) => d,
            Err(e) => {
                let w = vec![("Warning".to_string(), self.warning(&e.to_string()))];
                return self.respond(now, handle, &req, StatusCode::BAD_REQUEST, w);
            }
        };
        let fetch = granted == 0;
        let id = self.new_sub_id("n-");
        // The dialog's span (RFC 3261 §12: the subscription is its dialog).
        let _dialog = tracing::info_span!("dialog", sub = %id, call_id = %dialog.call_id).entered();
        let contact = self.presence_contact(
            self.presence_next_hop(&dialog.remote_target)
                .map_or(crate::sip::Transport::Udp, |h| h.transport),
        );
        let hdrs = vec![
            ("Expires".to_string(), granted.to_string()),
            ("Contact".to_string(), contact),
        ];
        self.respond_with_tag(now, handle, &req, StatusCode::OK, &local_tag, hdrs);
        let sub = NotifierSub {
            id: id.clone(),
            dialog,
            watcher_jid: watcher_jid.clone(),
            presentity_jid: presentity_jid.clone(),
            state: NState::Pending,
            expires_at: now + Duration::from_secs(u64::from(granted)),
            fetch,
            resources: BTreeMap::new(),
            last_notify: None,
            notify_due: None,
            in_flight: None,
            terminating: None,
        };
        self.presence.notifier.insert(sub);
        self.stats.subscriptions_created += 1;
        if fetch {
            // RFC 3859 §3.4.3: duration 0 with a new id is a fetch. The probe
            // brings the current presence; one final NOTIFY carries it.
            self.send_presence_stanza(&watcher_jid, &presentity_jid, PresenceType::Probe);
            let table = &mut self.presence.notifier;
            if let Some(s) = table.subs.get_mut(&id) {
                s.terminating = Some("timeout");
                if s.state != NState::Active {
                    table.active += 1;
                }
                s.state = NState::Active;
                s.notify_due = Some(now + self.config.presence.first_notify_grace);
            }
            self.presence
                .notifier
                .schedule(&id, now + self.config.presence.first_notify_grace);
            return;
        }
        self.persist_notifier(now, &id);
        self.send_notify(now, &id);
        self.send_presence_stanza(&watcher_jid, &presentity_jid, PresenceType::Subscribe);
    }

    /// The watcher's JID (from the From URI, RFC 7247 §6) and the
    /// presentity's (the Request-URI user at an XMPP domain).
    fn notifier_jids(&self, req: &Request) -> Result<(Jid, Jid), (StatusCode, String)> {
        let Some(link) = self.xmpp.as_ref() else {
            return Err((
                StatusCode::NOT_FOUND,
                "no xmpp binding serves presence".into(),
            ));
        };
        let dest = req.uri();
        let domain = dest.host().to_ascii_lowercase();
        if !self.is_xmpp_domain(&domain) {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no presence service for {domain}"),
            ));
        }
        let user = dest
            .user()
            .and_then(crate::gateway::to_xmpp::percent_decode)
            .ok_or((StatusCode::NOT_FOUND, "no user in request-uri".to_string()))?;
        let local = escape_localpart(&user)
            .map_err(|e| (StatusCode::NOT_FOUND, format!("presentity: {e}")))?;
        let presentity = Jid::from_parts(Some(&local), &domain, None)
            .map_err(|e| (StatusCode::NOT_FOUND, format!("presentity: {e}")))?;
        let from = req.from().uri();
        let sip = SipAddress::from_wire(from.scheme(), from.user(), from.host(), None)
            .map_err(|e| (StatusCode::FORBIDDEN, format!("watcher: {e}")))?;
        let watcher = sip_to_xmpp(&link.address_mode, &sip)
            .map_err(|e| (StatusCode::FORBIDDEN, format!("watcher: {e}")))?;
        let watcher = Jid::parse(&watcher.to_string())
            .map_err(|e| (StatusCode::FORBIDDEN, format!("watcher: {e}")))?
            .to_bare();
        Ok((watcher, presentity))
    }

    /// A refresh or unsubscribe inside an existing dialog (RFC 6665
    /// §4.2.1.2, §4.2.1.3).
    fn subscribe_in_dialog(
        &mut self,
        now: Instant,
        handle: ServerHandle,
        req: &Request,
        expires: Option<u32>,
    ) {
        let key = (
            req.call_id().to_string(),
            req.to().tag().unwrap_or_default().to_string(),
        );
        let Some(id) = self.presence.notifier.by_dialog.get(&key).cloned() else {
            return self.respond(
                now,
                handle,
                req,
                StatusCode::CALL_DOES_NOT_EXIST,
                Vec::new(),
            );
        };
        let _dialog = tracing::info_span!("dialog", sub = %id, call_id = %key.0).entered();
        let cfg = self.config.presence.clone();
        let Some(sub) = self.presence.notifier.subs.get_mut(&id) else {
            return self.respond(
                now,
                handle,
                req,
                StatusCode::CALL_DOES_NOT_EXIST,
                Vec::new(),
            );
        };
        if !sub.dialog.matches_incoming(req) {
            return self.respond(
                now,
                handle,
                req,
                StatusCode::CALL_DOES_NOT_EXIST,
                Vec::new(),
            );
        }
        if !sub.dialog.accept_remote(req) {
            let w = vec![("Warning".to_string(), self.warning("CSeq out of order"))];
            return self.respond(now, handle, req, StatusCode::SERVER_INTERNAL_ERROR, w);
        }
        let requested = expires.unwrap_or(cfg.default_expires);
        if requested > 0 && requested < cfg.min_expires {
            let hdrs = vec![("Min-Expires".to_string(), cfg.min_expires.to_string())];
            return self.respond(now, handle, req, StatusCode::INTERVAL_TOO_BRIEF, hdrs);
        }
        let granted = requested.min(cfg.max_expires);
        let local_tag = sub.dialog.local_tag.clone();
        if granted == 0 {
            sub.terminating = Some("timeout");
            sub.expires_at = now;
            let (w, p) = (sub.watcher_jid.clone(), sub.presentity_jid.clone());
            let hdrs = vec![("Expires".to_string(), "0".to_string())];
            self.respond_with_tag(now, handle, req, StatusCode::OK, &local_tag, hdrs);
            // RFC 7248 §4.3.4: the SIP watcher left; so does its XMPP contact.
            self.send_presence_stanza(&w, &p, PresenceType::Unsubscribe);
            return self.notify_now(now, &id);
        }
        sub.expires_at = now + Duration::from_secs(u64::from(granted));
        let expires_at = sub.expires_at;
        let hdrs = vec![("Expires".to_string(), granted.to_string())];
        self.respond_with_tag(now, handle, req, StatusCode::OK, &local_tag, hdrs);
        self.presence.notifier.schedule(&id, expires_at);
        self.persist_notifier(now, &id);
        // RFC 6665 §4.2.1.2: a refresh is followed at once by a NOTIFY
        // with the current state (the rate limit is for state changes).
        self.notify_now(now, &id);
    }

    /// An XMPP presence stanza for a SIP watcher (its `to` is a watcher
    /// JID of ours). Returns false when no notifier subscription matches.
    pub(in crate::gateway) fn notifier_presence(&mut self, now: Instant, p: &Presence) -> bool {
        let (Some(from), Some(to)) = (&p.from, &p.to) else {
            return false;
        };
        let pair = pair_key(to, from);
        let Some(ids) = self.presence.notifier.by_pair.get(&pair).cloned() else {
            return false;
        };
        for id in ids {
            match p.kind {
                PresenceType::Subscribed => self.notifier_approved(now, &id),
                PresenceType::Unsubscribed => self.notifier_end(now, &id, "rejected"),
                PresenceType::Error => {
                    let gone = p.error.as_ref().is_some_and(|e| {
                        matches!(
                            e.condition,
                            ErrorCondition::ItemNotFound
                                | ErrorCondition::RemoteServerNotFound
                                | ErrorCondition::Gone
                        )
                    });
                    if gone {
                        self.notifier_end(now, &id, "noresource");
                    }
                }
                PresenceType::Available | PresenceType::Unavailable => {
                    self.notifier_resource(now, &id, from, p);
                }
                _ => {}
            }
        }
        true
    }

    fn notifier_approved(&mut self, now: Instant, id: &str) {
        let grace = self.config.presence.first_notify_grace;
        let table = &mut self.presence.notifier;
        let Some(sub) = table.subs.get_mut(id) else {
            return;
        };
        if sub.state == NState::Active || sub.terminating.is_some() {
            return;
        }
        sub.state = NState::Active;
        table.active += 1;
        let due = now + grace;
        sub.notify_due = Some(sub.notify_due.map_or(due, |d| d.min(due)));
        self.presence.notifier.schedule(id, due);
        self.persist_notifier(now, id);
    }

    fn notifier_resource(&mut self, now: Instant, id: &str, from: &Jid, p: &Presence) {
        let interval = self.config.presence.notify_interval;
        let Some(sub) = self.presence.notifier.subs.get_mut(id) else {
            return;
        };
        let resource = from.resource().unwrap_or("").to_string();
        if p.kind == PresenceType::Unavailable {
            if resource.is_empty() {
                sub.resources.clear();
            } else {
                sub.resources.remove(&resource);
            }
        } else {
            sub.resources.insert(
                resource,
                ResourceState {
                    available: true,
                    show: p.show,
                    status: p.statuses.first().map(|s| s.text.clone()),
                    priority: p.priority,
                },
            );
        }
        if sub.state != NState::Active || sub.terminating.is_some() {
            return;
        }
        // A NOTIFY already owed will carry this change too.
        if sub.notify_due.is_some() || sub.in_flight.is_some() {
            self.stats.notifies_coalesced += 1;
        }
        let earliest = sub.last_notify.map_or(now, |t| (t + interval).max(now));
        let due = sub.notify_due.unwrap_or(earliest);
        sub.notify_due = Some(due);
        self.presence.notifier.schedule(id, due);
    }

    /// Ends a subscription with a final NOTIFY `terminated;reason=…`.
    fn notifier_end(&mut self, now: Instant, id: &str, reason: &'static str) {
        if let Some(sub) = self.presence.notifier.subs.get_mut(id) {
            if sub.terminating.is_some() {
                return;
            }
            sub.terminating = Some(reason);
        }
        self.notify_now(now, id);
    }

    /// Sends the owed NOTIFY now (final and refresh NOTIFYs are not
    /// rate-limited).
    fn notify_now(&mut self, now: Instant, id: &str) {
        if let Some(sub) = self.presence.notifier.subs.get_mut(id) {
            sub.notify_due = Some(now);
        }
        self.send_notify(now, id);
    }

    /// Sends the NOTIFY for the subscription's current state, unless one is
    /// in flight (then it follows when that one completes).
    fn send_notify(&mut self, now: Instant, id: &str) {
        let unix = self.presence.wall.unix_ms(now);
        let Some(sub) = self.presence.notifier.subs.get_mut(id) else {
            return;
        };
        if sub.in_flight.is_some() {
            return;
        }
        let remaining = sub.expires_at.saturating_duration_since(now).as_secs();
        let (state_hdr, with_body) = match (sub.terminating, sub.state) {
            (Some(reason), _) => (format!("terminated;reason={reason}"), true),
            (None, NState::Pending) => (format!("pending;expires={remaining}"), false),
            (None, NState::Active) => (format!("active;expires={remaining}"), true),
        };
        let body = if with_body {
            let entity = format!("pres:{}", sub.presentity_jid);
            let contact = format!("xmpp:{}", sub.presentity_jid);
            let doc = document_for(&entity, &contact, &sub.resources, &rfc3339(unix));
            match crate::pidf::build(&doc) {
                Ok(b) => Some(Bytes::from(b)),
                Err(e) => {
                    tracing::warn!(error = %e, "presence document not built");
                    None
                }
            }
        } else {
            None
        };
        let r = sub.dialog.next_request(&Method::Notify);
        sub.notify_due = None;
        sub.last_notify = Some(now);
        let mut headers = r.headers;
        headers.push(("Event".to_string(), "presence".to_string()));
        headers.push(("Subscription-State".to_string(), state_hdr));
        let req = PresenceRequest {
            method: Method::Notify,
            uri: &r.uri,
            next_hop_uri: &r.next_hop_uri,
            headers,
            body: body.map(|b| (crate::pidf::MEDIA_TYPE, b)),
        };
        let sent = self.send_presence_request(now, req, ClientUse::Notify(id.to_string()));
        self.stats.notifies_sent += 1;
        let fetch;
        match self.presence.notifier.subs.get_mut(id) {
            Some(sub) => {
                sub.in_flight = sent;
                fetch = sub.fetch;
            }
            None => return,
        }
        if sent.is_none() {
            // No way to reach the watcher: the subscription cannot go on.
            return self.drop_notifier(id, "no route to watcher");
        }
        if !fetch {
            self.persist_notifier(now, id);
        }
    }

    /// A NOTIFY's transaction ended (RFC 6665 §4.2.2).
    pub(in crate::gateway) fn notify_done(
        &mut self,
        now: Instant,
        id: &str,
        resp: Option<&Response>,
    ) {
        let Some(sub) = self.presence.notifier.subs.get_mut(id) else {
            return;
        };
        sub.in_flight = None;
        let code = resp.map(|r| r.status().as_u16());
        let ends = match code {
            None => true,
            Some(c) => notify_failure_ends(c),
        };
        if sub.terminating.is_some() || ends {
            let why = match code {
                None => "NOTIFY timed out".to_string(),
                Some(c) if ends => format!("NOTIFY answered {c}"),
                Some(_) => "terminated".to_string(),
            };
            return self.drop_notifier(id, &why);
        }
        // A change arrived while the NOTIFY was in flight.
        if let Some(due) = sub.notify_due {
            if due <= now {
                self.send_notify(now, id);
            } else {
                self.presence.notifier.schedule(id, due);
            }
        }
    }

    fn drop_notifier(&mut self, id: &str, why: &str) {
        if let Some(sub) = self.presence.notifier.remove(id) {
            tracing::debug!(sub = %id, reason = %why, "notifier subscription ended");
            self.stats.subscriptions_terminated += 1;
            if !sub.fetch {
                self.persist_delete(&super::record::key(id));
            }
        }
    }

    pub(in crate::gateway) fn notifier_timeout(&mut self, now: Instant) {
        while let Some((at, id)) = self.presence.notifier.wakeups.first().cloned() {
            if at > now {
                break;
            }
            self.presence.notifier.wakeups.remove(&(at, id.clone()));
            let Some(sub) = self.presence.notifier.subs.get(&id) else {
                continue;
            };
            let _dialog =
                tracing::info_span!("dialog", sub = %id, call_id = %sub.dialog.call_id).entered();
            if sub.expires_at <= now && sub.terminating.is_none() {
                self.notifier_end(now, &id, "timeout");
            } else if sub.notify_due.is_some_and(|d| d <= now) {
                self.send_notify(now, &id);
            }
        }
    }

    /// Sends `<presence type=…>` from a watcher JID to a presentity.
    pub(in crate::gateway) fn send_presence_stanza(
        &mut self,
        from: &Jid,
        to: &Jid,
        kind: PresenceType,
    ) {
        let p = Presence {
            from: Some(from.clone()),
            to: Some(to.clone()),
            kind,
            ..Presence::default()
        };
        self.send_stanza_el(&p.to_element());
    }

    pub(in crate::gateway) fn send_stanza_el(&mut self, el: &crate::xmpp::Element) {
        if let Some(link) = self.xmpp.as_mut() {
            self.stats.presence_stanzas_sent += 1;
            if let Err(e) = link.component.send_stanza(el) {
                tracing::debug!(error = %e, "could not send presence stanza");
            }
        }
    }

    fn persist_notifier(&mut self, now: Instant, id: &str) {
        let unix_now = self.presence.wall.unix_ms(now);
        let Some(sub) = self.presence.notifier.subs.get(id) else {
            return;
        };
        if sub.fetch {
            return;
        }
        let left = sub.expires_at.saturating_duration_since(now);
        let expires_unix =
            unix_now.saturating_add(u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
        let rec = NotifierRecord {
            id: sub.id.clone(),
            dialog: sub.dialog.clone(),
            watcher_jid: sub.watcher_jid.to_string(),
            presentity_jid: sub.presentity_jid.to_string(),
            active: sub.state == NState::Active,
            expires_at_unix_ms: expires_unix,
        };
        let value = rec.encode();
        self.persist_put(&super::record::key(id), value);
    }

    /// Puts a stored notifier subscription back. False when it expired or
    /// does not make sense any more.
    pub(in crate::gateway) fn restore_notifier(&mut self, now: Instant, r: NotifierRecord) -> bool {
        let (Ok(w), Ok(p)) = (Jid::parse(&r.watcher_jid), Jid::parse(&r.presentity_jid)) else {
            return false;
        };
        let expires_at = self.presence.wall.instant_of(now, r.expires_at_unix_ms);
        if expires_at <= now {
            return false;
        }
        let id = r.id.clone();
        let sub = NotifierSub {
            id: r.id,
            dialog: r.dialog,
            watcher_jid: w.clone(),
            presentity_jid: p.clone(),
            state: if r.active {
                NState::Active
            } else {
                NState::Pending
            },
            expires_at,
            fetch: false,
            resources: BTreeMap::new(),
            last_notify: None,
            notify_due: None,
            in_flight: None,
            terminating: None,
        };
        self.presence.notifier.insert(sub);
        // The presentity's resources were not stored: ask again. The
        // answers arrive as presence and become the next NOTIFY.
        self.presence.restore_probes.push((id, w, p));
        true
    }

    /// After a restore, once the XMPP link is up: probe every restored
    /// notifier subscription's presentity.
    pub(in crate::gateway) fn send_restore_probes(&mut self) {
        if self.presence.restore_probes.is_empty() || !self.xmpp_online() {
            return;
        }
        let probes = std::mem::take(&mut self.presence.restore_probes);
        for (_, w, p) in probes {
            self.send_presence_stanza(&w, &p, PresenceType::Probe);
        }
    }
}

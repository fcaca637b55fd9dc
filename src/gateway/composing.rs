//! RFC 3994 isComposing timing across the XMPP boundary (RFC 7573 §6,
//! XEP-0085), sans-IO: which indications the gateway sends, suppresses or
//! makes up, and when.
//!
//! - XMPP user composing towards a SIP URI: the gateway is the RFC 3994
//!   composer on the SIP side. An `active` goes out once; while the XMPP
//!   user stays `<composing/>` it is refreshed before the `<refresh>` it
//!   announced runs out (§3.2), and a duplicate `<composing/>` inside that
//!   interval is not sent again. The XMPP side cannot say how long typing
//!   lasts, so after `max_active` without a change the gateway sends `idle`
//!   itself (XEP-0085 §5.2 clients send `<paused/>` long before that). A
//!   content message ends the state without an `idle` (§3.2). Towards a URI
//!   that answered 415 no further isComposing is sent (§4).
//! - SIP user composing towards an XMPP user: the gateway is the §3.3
//!   receiver. When the composer's refresh (120 s when it gave none) runs
//!   out with no new indication or content, the XMPP user gets the idle
//!   chat state (`<paused/>` by default).
//!
//! Every table is bounded by [`MAX_TRACKED`]: past it, indications still
//! pass through but are not timed.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::gateway::{Gateway, Relay};
use crate::translate::xmpp::{ChatState, ISCOMPOSING_TYPE, XmppMapPolicy, XmppMessageContent};
use crate::xmpp::{Jid, Message, MessageType, stanza};

/// Entries each table keeps at most.
pub(super) const MAX_TRACKED: usize = 4096;
/// RFC 3994 §3.3: the refresh a receiver assumes when the composer gave none.
pub(super) const DEFAULT_RECEIVER_REFRESH: Duration = Duration::from_secs(120);

/// Timer identity: which table and which pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    /// (XMPP sender, SIP Request-URI).
    ToSip(String, String),
    /// (SIP sender as JID, XMPP recipient).
    ToXmpp(String, String),
}

/// The two ends of a composing pair, and the conversation's thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pair {
    /// The composer (a JID on both sides: SIP users appear as their mapped JID).
    pub(super) from: Jid,
    /// The recipient.
    pub(super) to: Jid,
    /// XEP-0201 thread (SIP Call-ID) to keep the indication in context.
    pub(super) thread: Option<String>,
}

#[derive(Debug)]
struct Entry {
    pair: Pair,
    since: Instant,
    due: Instant,
}

/// A timer that fired.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Due {
    /// Send the SIP side another `active` for this XMPP composer.
    Refresh(Pair),
    /// The XMPP composer stayed `<composing/>` for `max_active`: send `idle`.
    GiveUp(Pair),
    /// The SIP composer's refresh ran out: tell the XMPP user it paused.
    ReceiverTimeout(Pair),
}

/// Composing state in both directions.
#[derive(Debug)]
pub(super) struct ComposingTable {
    /// The `<refresh>` the gateway announces to SIP (≥ 60 s, RFC 3994 §3.2).
    refresh: Duration,
    /// How long an XMPP `<composing/>` is kept alive without a change.
    max_active: Duration,
    to_sip: HashMap<(String, String), Entry>,
    to_xmpp: HashMap<(String, String), Entry>,
    timers: BTreeSet<(Instant, Key)>,
    /// SIP URIs that answered an isComposing with 415 (RFC 3994 §4).
    refused: HashSet<String>,
}

impl ComposingTable {
    pub(super) fn new(refresh: Duration, max_active: Duration) -> Self {
        ComposingTable {
            refresh: refresh.max(Duration::from_secs(60)),
            max_active,
            to_sip: HashMap::new(),
            to_xmpp: HashMap::new(),
            timers: BTreeSet::new(),
            refused: HashSet::new(),
        }
    }

    /// The `<refresh>` value announced to SIP receivers, in seconds.
    pub(super) fn refresh_secs(&self) -> u32 {
        u32::try_from(self.refresh.as_secs()).unwrap_or(u32::MAX)
    }

    /// When the gateway re-sends `active`: ahead of the announced refresh by
    /// a sixth of it, at most 10 s, so the SIP receiver never times out.
    fn lead(&self) -> Duration {
        self.refresh - (self.refresh / 6).min(Duration::from_secs(10))
    }

    /// The earliest timer.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// An XMPP `<composing/>` towards `uri`: whether an `active` goes out.
    /// `false` for a duplicate inside the refresh interval or a URI that
    /// refused isComposing.
    pub(super) fn xmpp_composing(&mut self, now: Instant, uri: &str, pair: Pair) -> bool {
        if self.refused.contains(uri) {
            return false;
        }
        let k = (pair.from.to_string(), uri.to_string());
        if self.to_sip.contains_key(&k) {
            return false;
        }
        if self.to_sip.len() < MAX_TRACKED {
            let due = now + self.lead();
            self.timers
                .insert((due, Key::ToSip(k.0.clone(), k.1.clone())));
            self.to_sip.insert(
                k,
                Entry {
                    pair,
                    since: now,
                    due,
                },
            );
        }
        true
    }

    /// The XMPP composer left the composing state (another chat state or
    /// content). Returns whether it was composing.
    pub(super) fn xmpp_stopped(&mut self, from: &Jid, uri: &str) -> bool {
        let k = (from.to_string(), uri.to_string());
        match self.to_sip.remove(&k) {
            Some(e) => {
                self.timers.remove(&(e.due, Key::ToSip(k.0, k.1)));
                true
            }
            None => false,
        }
    }

    /// Whether `uri` refused isComposing (RFC 3994 §4).
    pub(super) fn is_refused(&self, uri: &str) -> bool {
        self.refused.contains(uri)
    }

    /// `uri` answered an isComposing with 415: stop sending them there, and
    /// stop refreshing towards it.
    pub(super) fn refuse(&mut self, uri: &str) {
        if self.refused.len() >= MAX_TRACKED {
            // Forgetting is safe: the next indication meets 415 again.
            self.refused.clear();
        }
        self.refused.insert(uri.to_string());
        let stale: Vec<(String, String)> = self
            .to_sip
            .keys()
            .filter(|(_, u)| u == uri)
            .cloned()
            .collect();
        for k in stale {
            if let Some(e) = self.to_sip.remove(&k) {
                self.timers.remove(&(e.due, Key::ToSip(k.0, k.1)));
            }
        }
    }

    /// A SIP `active` towards an XMPP user, with the composer's refresh.
    pub(super) fn sip_composing(&mut self, now: Instant, pair: Pair, refresh: Duration) {
        let k = (pair.from.to_string(), pair.to.to_string());
        if let Some(old) = self.to_xmpp.remove(&k) {
            self.timers
                .remove(&(old.due, Key::ToXmpp(k.0.clone(), k.1.clone())));
        } else if self.to_xmpp.len() >= MAX_TRACKED {
            return;
        }
        let due = now + refresh;
        self.timers
            .insert((due, Key::ToXmpp(k.0.clone(), k.1.clone())));
        self.to_xmpp.insert(
            k,
            Entry {
                pair,
                since: now,
                due,
            },
        );
    }

    /// A SIP `idle` or content message ended the SIP composer's state.
    pub(super) fn sip_stopped(&mut self, from: &Jid, to: &Jid) {
        let k = (from.to_string(), to.to_string());
        if let Some(e) = self.to_xmpp.remove(&k) {
            self.timers.remove(&(e.due, Key::ToXmpp(k.0, k.1)));
        }
    }

    /// Fires every timer due at `now`.
    pub(super) fn expire(&mut self, now: Instant) -> Vec<Due> {
        let mut fired = Vec::new();
        let lead = self.lead();
        while let Some((due, key)) = self.timers.first().cloned() {
            if due > now {
                break;
            }
            self.timers.remove(&(due, key.clone()));
            match key {
                Key::ToSip(a, b) => {
                    let k = (a, b);
                    let Some(e) = self.to_sip.get_mut(&k) else {
                        continue;
                    };
                    if now.saturating_duration_since(e.since) >= self.max_active {
                        if let Some(e) = self.to_sip.remove(&k) {
                            fired.push(Due::GiveUp(e.pair));
                        }
                        continue;
                    }
                    e.due = now + lead;
                    fired.push(Due::Refresh(e.pair.clone()));
                    self.timers.insert((e.due, Key::ToSip(k.0, k.1)));
                }
                Key::ToXmpp(a, b) => {
                    if let Some(e) = self.to_xmpp.remove(&(a, b)) {
                        fired.push(Due::ReceiverTimeout(e.pair));
                    }
                }
            }
        }
        fired
    }

    /// Entries tracked (both directions), for tests and gauges.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.to_sip.len() + self.to_xmpp.len()
    }
}

impl Gateway {
    /// XMPP → SIP: decides what a stanza's chat state becomes. Returns the
    /// content to map, or `None` when nothing is sent (a duplicate
    /// `<composing/>`, a URI that refused isComposing, an `<active/>` from
    /// someone who was not composing).
    pub(super) fn composing_from_xmpp(
        &mut self,
        now: Instant,
        sender: &Jid,
        ours: &Jid,
        uri: &str,
        mut content: XmppMessageContent,
        refresh: bool,
    ) -> Option<XmppMessageContent> {
        let link = self.xmpp.as_mut()?;
        let table = &mut link.composing;
        let has_content =
            content.body.is_some() || content.e2e.is_some() || content.subject.is_some();
        if has_content {
            // RFC 3994 §3.2: the content message itself ends `active`.
            table.xmpp_stopped(sender, uri);
            return Some(content);
        }
        match content.chat_state {
            None => Some(content),
            Some(ChatState::Composing) => {
                let pair = Pair {
                    from: sender.clone(),
                    to: ours.clone(),
                    thread: content.thread.clone(),
                };
                if table.is_refused(uri) || (!refresh && !table.xmpp_composing(now, uri, pair)) {
                    self.stats.composing_suppressed += 1;
                    return None;
                }
                Some(content)
            }
            Some(ChatState::Active) => {
                // RFC 7573 §6: active → idle, but only someone composing
                // has anything to end; otherwise the SIP side is already idle.
                if table.xmpp_stopped(sender, uri) && !table.is_refused(uri) {
                    content.chat_state = Some(ChatState::Paused);
                    Some(content)
                } else {
                    None
                }
            }
            Some(ChatState::Paused | ChatState::Inactive | ChatState::Gone) => {
                table.xmpp_stopped(sender, uri);
                if table.is_refused(uri) {
                    self.stats.composing_suppressed += 1;
                    return None;
                }
                Some(content)
            }
        }
    }

    /// A SIP URI answered 415: if it was to an isComposing, send it no more
    /// (RFC 3994 §4).
    pub(super) fn composing_refused(&mut self, r: &Relay) {
        let c = &r.msg.content;
        let essence = c.content_type.split(';').next().unwrap_or("").trim();
        let is_composing = essence.eq_ignore_ascii_case(ISCOMPOSING_TYPE)
            || (essence.eq_ignore_ascii_case("message/cpim")
                && contains_ci(&c.body, ISCOMPOSING_TYPE.as_bytes()));
        if let (true, Some(link)) = (is_composing, self.xmpp.as_mut()) {
            link.composing.refuse(&r.hints.request_uri);
        }
    }

    /// SIP → XMPP: a stanza went out; time the SIP composer (RFC 3994 §3.3).
    pub(super) fn composing_from_sip(
        &mut self,
        now: Instant,
        from: &Jid,
        to: &Jid,
        content: &XmppMessageContent,
    ) {
        let Some(link) = self.xmpp.as_mut() else {
            return;
        };
        let composing_only = content.chat_state == Some(ChatState::Composing)
            && content.body.is_none()
            && content.e2e.is_none();
        if composing_only {
            let refresh = content
                .composing_refresh_secs
                .map_or(DEFAULT_RECEIVER_REFRESH, |s| {
                    Duration::from_secs(u64::from(s))
                });
            let pair = Pair {
                from: from.clone(),
                to: to.clone(),
                thread: content.thread.clone(),
            };
            link.composing.sip_composing(now, pair, refresh);
        } else {
            link.composing.sip_stopped(from, to);
        }
    }

    /// Fires isComposing timers: refreshes and give-ups towards SIP,
    /// receiver timeouts towards XMPP.
    pub(super) fn composing_timeout(&mut self, now: Instant) {
        let Some(link) = self.xmpp.as_mut() else {
            return;
        };
        for due in link.composing.expire(now) {
            match due {
                Due::Refresh(p) => {
                    self.stats.composing_refreshes += 1;
                    let el = chat_state_stanza(&p, stanza::ChatState::Composing, MessageType::Chat);
                    self.xmpp_message_in(now, &el, true);
                }
                Due::GiveUp(p) => {
                    let el = chat_state_stanza(&p, stanza::ChatState::Paused, MessageType::Chat);
                    self.xmpp_message_in(now, &el, false);
                }
                Due::ReceiverTimeout(p) => {
                    self.stats.composing_timeouts += 1;
                    let idle = match XmppMapPolicy::default().idle_chat_state {
                        ChatState::Active => stanza::ChatState::Active,
                        _ => stanza::ChatState::Paused,
                    };
                    let el = chat_state_stanza(&p, idle, MessageType::Normal);
                    let Some(link) = self.xmpp.as_mut() else {
                        return;
                    };
                    if let Err(e) = link.component.send_stanza(&el) {
                        tracing::debug!(error = %e, "idle chat state not sent");
                    }
                }
            }
        }
    }
}

/// A body-less message carrying only a chat state (XEP-0085 §5.5).
fn chat_state_stanza(
    p: &Pair,
    state: stanza::ChatState,
    kind: MessageType,
) -> crate::xmpp::Element {
    Message {
        from: Some(p.from.clone()),
        to: Some(p.to.clone()),
        kind,
        thread: p
            .thread
            .clone()
            .map(|id| stanza::Thread { id, parent: None }),
        chat_state: Some(state),
        ..Message::default()
    }
    .to_element()
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
// The epoch of virtual time is any instant; only differences matter.
#[allow(clippy::unwrap_used, clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn pair(from: &str, to: &str) -> Pair {
        Pair {
            from: Jid::parse(from).unwrap(),
            to: Jid::parse(to).unwrap(),
            thread: None,
        }
    }

    const URI: &str = "sip:romeo@sip.test";

    #[test]
    fn xmpp_composer_is_refreshed_ahead_of_its_refresh_then_given_up() {
        let t0 = Instant::now();
        let mut c = ComposingTable::new(Duration::from_secs(90), Duration::from_secs(300));
        let p = pair("juliet@xmpp.test/b", "romeo\\40sip.test@cpim.xmpp.test");
        assert!(c.xmpp_composing(t0, URI, p.clone()));
        assert!(
            !c.xmpp_composing(t0 + Duration::from_secs(5), URI, p.clone()),
            "duplicate"
        );
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(80)));
        assert!(c.expire(t0 + Duration::from_secs(79)).is_empty());
        let mut at = t0 + Duration::from_secs(80);
        assert_eq!(c.expire(at), vec![Due::Refresh(p.clone())]);
        at += Duration::from_secs(80);
        assert_eq!(c.expire(at), vec![Due::Refresh(p.clone())]);
        at += Duration::from_secs(80);
        assert_eq!(c.expire(at), vec![Due::Refresh(p.clone())]);
        at += Duration::from_secs(80); // 320 s ≥ 300 s
        assert_eq!(c.expire(at), vec![Due::GiveUp(p.clone())]);
        assert_eq!((c.len(), c.poll_timeout()), (0, None));
    }

    #[test]
    fn xmpp_stop_cancels_the_refresh_and_415_silences_the_uri() {
        let t0 = Instant::now();
        let mut c = ComposingTable::new(Duration::from_secs(10), Duration::from_secs(300));
        assert_eq!(c.refresh_secs(), 60, "RFC 3994 §3.2 floor");
        let p = pair("juliet@xmpp.test/b", "romeo\\40sip.test@cpim.xmpp.test");
        assert!(c.xmpp_composing(t0, URI, p.clone()));
        assert!(c.xmpp_stopped(&p.from, URI));
        assert!(!c.xmpp_stopped(&p.from, URI));
        assert_eq!(c.poll_timeout(), None);
        assert!(c.xmpp_composing(t0, URI, p.clone()));
        c.refuse(URI);
        assert!(c.is_refused(URI));
        assert_eq!((c.len(), c.poll_timeout()), (0, None));
        assert!(!c.xmpp_composing(t0, URI, p));
    }

    #[test]
    fn sip_composer_times_out_at_its_refresh_unless_renewed_or_stopped() {
        let t0 = Instant::now();
        let mut c = ComposingTable::new(Duration::from_secs(90), Duration::from_secs(300));
        let p = pair("alice\\40sip.test@cpim.xmpp.test", "juliet@xmpp.test");
        c.sip_composing(t0, p.clone(), Duration::from_secs(60));
        c.sip_composing(
            t0 + Duration::from_secs(30),
            p.clone(),
            Duration::from_secs(60),
        );
        assert!(c.expire(t0 + Duration::from_secs(60)).is_empty(), "renewed");
        assert_eq!(
            c.expire(t0 + Duration::from_secs(90)),
            vec![Due::ReceiverTimeout(p.clone())]
        );
        c.sip_composing(t0, p.clone(), DEFAULT_RECEIVER_REFRESH);
        c.sip_stopped(&p.from, &p.to);
        assert_eq!((c.len(), c.poll_timeout()), (0, None));
    }

    #[test]
    fn tables_are_bounded() {
        let t0 = Instant::now();
        let mut c = ComposingTable::new(Duration::from_secs(90), Duration::from_secs(300));
        for n in 0..MAX_TRACKED + 10 {
            let p = pair(&format!("u{n}@xmpp.test"), "x@cpim.xmpp.test");
            assert!(c.xmpp_composing(t0, URI, p.clone()), "still sent");
            c.sip_composing(t0, p, DEFAULT_RECEIVER_REFRESH);
        }
        assert_eq!(c.len(), 2 * MAX_TRACKED);
        assert_eq!(c.timers.len(), 2 * MAX_TRACKED);
    }
}

//! XMPP `<message>` → SIP MESSAGE through CPIM (RFC 7572, RFC 7247 §6–7,
//! RFC 3428 §8): the stanza's addresses and content become a CPIM
//! `message`, which is routed like any other (static route, DNS, default)
//! and re-originated as a MESSAGE. A SIP final error goes back as an XMPP
//! error stanza with the mapped condition and the original id; a SIP
//! timeout as `<remote-server-timeout/>`; a success sends nothing (XMPP has
//! no positive delivery report here).
//!
//! RFC 3428 §8: a request over 1300 bytes is refused with
//! `<policy-violation/>`, and at most one MESSAGE per destination URI is
//! outstanding: later ones wait in a bounded per-destination queue (full →
//! `<resource-constraint/>`), so a burst leaves one at a time, in order.

use std::collections::VecDeque;
use std::time::Instant;

use crate::cpim::{Content, ImUri, TransId};
use crate::gateway::{Gateway, Origin, Relay};
use crate::route::FailureClass;
use crate::sip::{Limits, SipUri, StatusCode};
use crate::translate::address::{Mode, XmppAddress, xmpp_to_sip as address_to_sip};
use crate::translate::sip::{LegIds, LocalContact, SipHints, cpim_to_request};
use crate::translate::xmpp::{
    ChatState as MapChatState, SipOutcome, XmppMapPolicy, XmppMessageContent, sip_size_check,
    xmpp_to_sip,
};
use crate::translate::xmpp_errors::{
    StanzaError as MapStanzaError, sip_status_to_xmpp, sip_timeout_to_xmpp, stanza_error_for,
};
use crate::xmpp::stanza::ChatState;
use crate::xmpp::{Element, ErrorCondition, ErrorType, Message, MessageType, StanzaError};

/// Default of `sip.max_queued_per_destination`: messages waiting per
/// destination URI behind the one outstanding.
pub const DEFAULT_MAX_QUEUED_PER_DESTINATION: usize = 32;
/// RFC 3428 §8 size limit for a MESSAGE without congestion control.
const SIP_SIZE_LIMIT: usize = 1300;

impl Gateway {
    /// A `<message>` (not an error) addressed to the component.
    pub(super) fn on_xmpp_message(&mut self, now: Instant, el: &Element) {
        self.xmpp_message_in(now, el, false);
    }

    /// Maps and relays one `<message>`. `refresh` marks a stanza the
    /// gateway made up to refresh an isComposing `active` (RFC 3994 §3.2).
    pub(super) fn xmpp_message_in(&mut self, now: Instant, el: &Element, refresh: bool) {
        if self.draining {
            if !refresh {
                self.stats.refused_draining += 1;
                self.xmpp_error_to(
                    el,
                    ErrorType::Wait,
                    ErrorCondition::ServiceUnavailable,
                    "gateway is shutting down",
                );
            }
            return;
        }
        let m = match Message::parse(el) {
            Ok(m) => m,
            Err(e) => {
                return self.xmpp_error_to(
                    el,
                    ErrorType::Modify,
                    ErrorCondition::BadRequest,
                    &e.to_string(),
                );
            }
        };
        if matches!(m.kind, MessageType::Groupchat) {
            return self.xmpp_error_to(
                el,
                ErrorType::Cancel,
                ErrorCondition::FeatureNotImplemented,
                "groupchat is not relayed",
            );
        }
        let (Some(sender), Some(ours)) = (m.from.clone(), m.to.clone()) else {
            return self.xmpp_error_to(
                el,
                ErrorType::Modify,
                ErrorCondition::BadRequest,
                "from and to are required",
            );
        };
        let Some(mode) = self.xmpp.as_ref().map(|l| l.address_mode.clone()) else {
            return;
        };
        // The SIP user written in the JID, and the XMPP sender as SIP.
        let dest = XmppAddress::parse(&ours.to_string()).and_then(|a| address_to_sip(&mode, &a));
        let dest = match dest {
            Ok(d) => d,
            Err(e) => {
                return self.xmpp_error_to(
                    el,
                    ErrorType::Cancel,
                    ErrorCondition::ItemNotFound,
                    &e.to_string(),
                );
            }
        };
        let src = XmppAddress::parse(&sender.to_string())
            .and_then(|a| address_to_sip(&Mode::SameDomain, &a));
        let src = match src {
            Ok(s) => s,
            Err(e) => {
                return self.xmpp_error_to(
                    el,
                    ErrorType::Modify,
                    ErrorCondition::JidMalformed,
                    &e.to_string(),
                );
            }
        };
        let from_im = ImUri::new(&src.user_wire().unwrap_or_default(), &src.host);
        let to_im = ImUri::new(&dest.user_wire().unwrap_or_default(), &dest.host);
        let (Ok(from_im), Ok(to_im)) = (from_im, to_im) else {
            return self.xmpp_error_to(
                el,
                ErrorType::Modify,
                ErrorCondition::JidMalformed,
                "address is not an im: address",
            );
        };
        if m.html.is_some() {
            // RFC 7572 §5: the SIP side gets text/plain; the markup is lost.
            self.stats.content_dropped += 1;
        }
        let content = XmppMessageContent {
            lang: m.lang.clone(),
            body: m.body().map(str::to_string),
            subject: m.subjects.first().map(|s| (s.lang.clone(), s.text.clone())),
            thread: m.thread.as_ref().map(|t| t.id.clone()),
            xhtml_body: None,
            e2e: m.e2e.clone(),
            chat_state: m.chat_state.map(map_chat_state),
            composing_refresh_secs: None,
        };
        let Some(content) =
            self.composing_from_xmpp(now, &sender, &ours, &dest.to_string(), content, refresh)
        else {
            return;
        };
        let policy = XmppMapPolicy {
            wrap_cpim: self.xmpp.as_ref().is_some_and(|l| l.wraps_for(&dest.host)),
            composing_refresh_secs: self
                .xmpp
                .as_ref()
                .map_or(90, |l| l.composing.refresh_secs()),
            ..XmppMapPolicy::default()
        };
        // DateTime for a CPIM wrapper (RFC 3862 §4.4) is wall-clock time,
        // which the core does not read; wrapping without it is valid.
        let sip = match xmpp_to_sip(&content, &policy, &from_im, &to_im, None) {
            Ok(SipOutcome::Send(c)) => c,
            Ok(SipOutcome::Skip(_)) => return,
            Err(e) => return self.xmpp_error_reply(el, &stanza_error_for(&e), &e.to_string()),
        };
        if let Err(refusal) = self
            .policy
            .check_domain(now, from_im.domain())
            .and_then(|()| self.policy.check_domain(now, to_im.domain()))
        {
            // RFC 6120 §8.3.3.18: an exhausted rate limit is a temporary
            // `<resource-constraint/>` (type wait); anything else is
            // `<forbidden/>` (§8.3.3.6).
            self.stats.count_policy_refusal(&refusal);
            let (kind, condition) = if refusal.retry_after_secs().is_some() {
                self.stats.refused_rate_limit += 1;
                (ErrorType::Wait, ErrorCondition::ResourceConstraint)
            } else {
                self.stats.refused_policy += 1;
                (ErrorType::Cancel, ErrorCondition::Forbidden)
            };
            return self.xmpp_error_to(el, kind, condition, &refusal.to_string());
        }
        let request_uri = dest.to_string();
        let Ok(uri) = SipUri::parse(&request_uri, &Limits::default()) else {
            return self.xmpp_error_to(
                el,
                ErrorType::Cancel,
                ErrorCondition::ItemNotFound,
                "not a sip address",
            );
        };
        let hints = SipHints {
            request_uri: request_uri.clone(),
            from: format!("<{src}>"),
            to: format!("<{request_uri}>"),
            carried: sip.extra_headers.clone(),
        };
        let id = m.id.clone();
        let msg = crate::cpim::Message {
            source: from_im,
            destination: to_im,
            max_forwards: crate::translate::sip::DEFAULT_MAX_FORWARDS,
            trans_id: TransId::from_native(id.as_deref().unwrap_or("xmpp")),
            content: Content {
                content_type: sip.content_type.clone(),
                headers: Vec::new(),
                body: sip.body.clone(),
            },
        };
        // RFC 3428 §8: the request as it would go out must fit.
        let trial = cpim_to_request(
            &msg,
            Some(&hints),
            &LocalContact {
                host: self.config.advertise_host.clone(),
                port: 65535,
                transport: crate::sip::Transport::Udp,
            },
            &LegIds {
                branch: "z9hG4bK".to_string() + &"0".repeat(20),
                from_tag: "0".repeat(16),
                call_id: "0".repeat(40),
            },
            &[(super::LOOP_HEADER.to_string(), self.config.node_id.clone())],
        );
        let mut buf = Vec::new();
        trial.encode(&mut buf);
        if let Err(e) = sip_size_check(buf.len(), SIP_SIZE_LIMIT) {
            self.stats.xmpp_mapping_refusals += 1;
            self.stats.xmpp_to_sip_mapping_refusals += 1;
            return self.xmpp_error_reply(el, &stanza_error_for(&e), &e.to_string());
        }
        if self.pending_relays() >= self.config.max_pending_relays {
            self.stats.refused_overload += 1;
            self.stats.shed.xmpp += 1;
            return self.xmpp_error_to(
                el,
                ErrorType::Wait,
                ErrorCondition::ResourceConstraint,
                "relay table full",
            );
        }
        let relay = Relay {
            origin: Origin::Xmpp { id, sender, ours },
            request_uri: uri,
            call_id_hint: sip.call_id_hint.clone(),
            msg,
            hints,
            started: now,
        };
        self.stats.messages_from_xmpp += 1;
        self.enqueue_for_sip(now, relay);
    }

    /// At most one outstanding MESSAGE per destination URI (RFC 3428 §8).
    fn enqueue_for_sip(&mut self, now: Instant, relay: Relay) {
        let key = relay.hints.request_uri.clone();
        if !self.sip_busy.contains(&key) {
            self.sip_busy.insert(key);
            return self.route_relay(now, relay);
        }
        let queue = self.sip_queues.entry(key).or_default();
        let max = self.config.max_queued_per_destination;
        if queue.len() >= max {
            self.stats.refused_overload += 1;
            self.stats.shed.xmpp += 1;
            let why = format!("destination queue full ({max} messages)");
            return self.answer_xmpp_origin(
                now,
                &relay,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&why),
            );
        }
        queue.push_back(relay);
    }

    /// The inbound XMPP leg of a finished relay: an error stanza for a
    /// failure, nothing for success; then the next queued MESSAGE for the
    /// same destination goes out.
    pub(super) fn answer_xmpp_origin(
        &mut self,
        now: Instant,
        r: &Relay,
        status: StatusCode,
        reason: Option<&str>,
    ) {
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            self.composing_refused(r);
        }
        let err = (!status.is_success()).then(|| {
            let mapped = if status == StatusCode::REQUEST_TIMEOUT {
                Some(sip_timeout_to_xmpp())
            } else {
                sip_status_to_xmpp(status, None)
            };
            let mapped = mapped.unwrap_or_else(|| {
                sip_status_to_xmpp(StatusCode::SERVER_INTERNAL_ERROR, None)
                    .unwrap_or_else(sip_timeout_to_xmpp)
            });
            to_stanza_error(&mapped, reason)
        });
        self.finish_xmpp_origin(now, r, err);
    }

    /// A routing failure for an XMPP-originated message, mapped from its
    /// class (issue 4 "operations mapping", RFC 7247 §7): no such domain or
    /// service → `cancel`/`<remote-server-not-found/>`; DNS timeout or every
    /// target failed → `wait`/`<remote-server-timeout/>`.
    pub(super) fn answer_xmpp_route_failure(
        &mut self,
        now: Instant,
        r: &Relay,
        class: FailureClass,
        text: &str,
    ) {
        let (kind, condition) = match class {
            FailureClass::NotFound | FailureClass::NotOffered => {
                (ErrorType::Cancel, ErrorCondition::RemoteServerNotFound)
            }
            FailureClass::Timeout | FailureClass::Unreachable => {
                (ErrorType::Wait, ErrorCondition::RemoteServerTimeout)
            }
            FailureClass::Local => (ErrorType::Cancel, ErrorCondition::ServiceUnavailable),
        };
        self.finish_xmpp_origin(
            now,
            r,
            Some(StanzaError::new(kind, condition).with_text(text)),
        );
    }

    /// Sends the error (if any) to the XMPP sender, then lets the next
    /// queued MESSAGE for the same destination go.
    fn finish_xmpp_origin(&mut self, now: Instant, r: &Relay, err: Option<StanzaError>) {
        let Origin::Xmpp { id, sender, ours } = &r.origin else {
            return;
        };
        self.record_xmpp_inbound(now, r, err.as_ref().map(|e| e.condition));
        if let Some(err) = err {
            let reply = Message {
                from: Some(ours.clone()),
                to: Some(sender.clone()),
                id: id.clone(),
                kind: MessageType::Error,
                error: Some(err),
                ..Message::default()
            };
            self.send_xmpp(&reply.to_element());
        }
        let key = r.hints.request_uri.clone();
        match self.sip_queues.get_mut(&key).and_then(VecDeque::pop_front) {
            Some(next) => self.route_relay(now, next),
            None => {
                self.sip_busy.remove(&key);
                self.sip_queues.remove(&key);
            }
        }
    }

    fn send_xmpp(&mut self, el: &Element) {
        if let Some(link) = self.xmpp.as_mut() {
            self.stats.xmpp_errors_sent += 1;
            if let Err(e) = link.component.send_stanza(el) {
                tracing::debug!(error = %e, "could not send xmpp stanza");
            }
        }
    }

    fn xmpp_error_to(
        &mut self,
        original: &Element,
        kind: ErrorType,
        condition: ErrorCondition,
        text: &str,
    ) {
        self.record_xmpp_refusal(condition);
        if let Ok(reply) = crate::xmpp::stanza::error_reply(original, kind, condition, Some(text)) {
            self.send_xmpp(&reply);
        }
    }

    fn xmpp_error_reply(&mut self, original: &Element, e: &MapStanzaError, text: &str) {
        let err = to_stanza_error(e, Some(text));
        self.xmpp_error_to(original, err.kind, err.condition, text);
    }
}

/// The xmpp module's error type for a mapped (translate) error.
fn to_stanza_error(e: &MapStanzaError, text: Option<&str>) -> StanzaError {
    let kind = ErrorType::from_name(e.error_type.as_str()).unwrap_or(ErrorType::Cancel);
    let condition = ErrorCondition::from_name(e.condition.as_str())
        .unwrap_or(ErrorCondition::UndefinedCondition);
    let mut err = StanzaError::new(kind, condition);
    if let Some(t) = text {
        err = err.with_text(t);
    }
    err
}

fn map_chat_state(c: ChatState) -> MapChatState {
    match c {
        ChatState::Active => MapChatState::Active,
        ChatState::Composing => MapChatState::Composing,
        ChatState::Gone => MapChatState::Gone,
        ChatState::Inactive => MapChatState::Inactive,
        ChatState::Paused => MapChatState::Paused,
    }
}

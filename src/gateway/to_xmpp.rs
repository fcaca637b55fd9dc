//! SIP MESSAGE → XMPP `<message>` through CPIM (RFC 7572, RFC 3922, RFC 3923
//! §8, RFC 7247 §6–7): addresses, content, the stanza on the component link,
//! and the outcome. XMPP gives no delivery acknowledgement, so the SIP
//! sender is answered when the error window closes: 202 (indeterminate,
//! RFC 3428 §7, standards.md C1) if no error came back for the stanza id,
//! otherwise the status mapped from the XMPP error (`<service-unavailable/>`
//! never becomes 503). While the link is down the sender gets 503 with
//! Retry-After: nothing is accepted that cannot be delivered or reported.

use std::time::Instant;

use crate::gateway::{Gateway, Origin, Relay};
use crate::sip::StatusCode;
use crate::translate::address::{SipAddress, escape_localpart, sip_to_xmpp};
use crate::translate::xmpp::{SipSide, XHTML_IM_NAMESPACE, XmppMapPolicy, cpim_to_xmpp};

/// The XHTML namespace of the XEP-0071 inner `<body/>`.
const XHTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";
use crate::translate::xmpp_errors::{
    ReceivedXmppError, XmppErrorPolicy, sip_answer_after_window, status_for,
};
use crate::xmpp::stanza::{LangText, Thread};
use crate::xmpp::{Element, Jid, Message, MessageType};

/// Retry-After (seconds) while the component link is down.
const LINK_DOWN_RETRY_AFTER: u32 = 5;

/// A SIP MESSAGE sent as a stanza, waiting for its error window.
#[derive(Debug)]
pub(super) struct XmppPending {
    relay: Relay,
    /// Whether the stanza went to a bare JID (RFC 7247 Table 2 notes 1–2).
    to_bare: bool,
    deadline: Instant,
}

impl Gateway {
    /// Whether `domain` is an XMPP domain served through the component.
    pub(super) fn is_xmpp_domain(&self, domain: &str) -> bool {
        self.xmpp
            .as_ref()
            .is_some_and(|l| l.domains.iter().any(|d| d.matches(domain)))
    }

    /// Sends an accepted MESSAGE to XMPP and arms its error window.
    pub(super) fn deliver_xmpp(&mut self, now: Instant, relay: Relay) {
        if !self.xmpp_online() {
            self.stats.xmpp_link_down_refusals += 1;
            let hdrs = vec![("Retry-After".to_string(), LINK_DOWN_RETRY_AFTER.to_string())];
            return self.refuse_relay(
                now,
                relay,
                StatusCode::SERVICE_UNAVAILABLE,
                "xmpp link is down",
                hdrs,
            );
        }
        let (from, to) = match self.xmpp_addresses(&relay) {
            Ok(v) => v,
            Err(why) => {
                return self.refuse_relay(now, relay, StatusCode::NOT_FOUND, &why, Vec::new());
            }
        };
        let Origin::Sip { request: req, .. } = &relay.origin else {
            // XMPP to XMPP through the gateway would be a loop.
            return self.refuse_relay(
                now,
                relay,
                StatusCode::LOOP_DETECTED,
                "xmpp to xmpp is not relayed",
                Vec::new(),
            );
        };
        let side = SipSide {
            subject: req.header("Subject").map(str::to_string),
            content_language: req.header("Content-Language").map(str::to_string),
            call_id: req.call_id().to_string(),
        };
        let content = match cpim_to_xmpp(&relay.msg.content, &side, &XmppMapPolicy::default()) {
            Ok(c) => c,
            Err(e) => {
                self.stats.xmpp_mapping_refusals += 1;
                let answer = status_for(&e);
                let mut hdrs = Vec::new();
                if let Some(accept) = answer.accept {
                    hdrs.push(("Accept".to_string(), accept.to_string()));
                }
                let why = answer.warning.unwrap_or_else(|| e.to_string());
                return self.refuse_relay(now, relay, answer.status, &why, hdrs);
            }
        };
        let id = format!("cpim-{}", self.random_hex(8));
        let stanza = Message {
            from: Some(from),
            to: Some(to.clone()),
            id: Some(id.clone()),
            kind: MessageType::Normal,
            lang: content.lang.clone(),
            bodies: content
                .body
                .iter()
                .map(|b| LangText {
                    lang: None,
                    text: b.clone(),
                })
                .collect(),
            subjects: content
                .subject
                .iter()
                .map(|(lang, text)| LangText {
                    lang: lang.clone(),
                    text: text.clone(),
                })
                .collect(),
            thread: content.thread.clone().map(|id| Thread { id, parent: None }),
            e2e: content.e2e.clone(),
            chat_state: content.chat_state.map(chat_state),
            html: content
                .xhtml_body
                .as_deref()
                .and_then(|m| self.xhtml_element(m)),
            ..Message::default()
        };
        let el: Element = stanza.to_element();
        let from_jid = stanza.from.clone();
        let Some(link) = self.xmpp.as_mut() else {
            return;
        };
        if let Err(e) = link.component.send_stanza(&el) {
            tracing::warn!(error = %e, "stanza not sent");
            let hdrs = vec![("Retry-After".to_string(), LINK_DOWN_RETRY_AFTER.to_string())];
            return self.refuse_relay(
                now,
                relay,
                StatusCode::SERVICE_UNAVAILABLE,
                "xmpp link cannot take the message",
                hdrs,
            );
        }
        let deadline = now + link.error_window;
        link.windows.insert((deadline, id.clone()));
        link.pending.insert(
            id,
            XmppPending {
                relay,
                to_bare: to.is_bare(),
                deadline,
            },
        );
        self.stats.messages_to_xmpp += 1;
        if let Some(from) = from_jid {
            self.composing_from_sip(now, &from, &to, &content);
        }
        if deadline <= now {
            // A zero window: answer as soon as the stanza is written, not on
            // the driver's next timer tick.
            self.close_windows(now);
        }
    }

    /// The XEP-0071 `<html/>` wrapper around the XHTML-IM markup that
    /// `translate::xmpp` produced from `text/html` (RFC 7572 §7). The markup
    /// is well-formed by construction; should it ever fail to parse, the
    /// stanza goes without it (the plain `<body/>` still carries the text)
    /// and the loss is counted.
    fn xhtml_element(&mut self, markup: &str) -> Option<Element> {
        let doc = format!(
            "<html xmlns='{XHTML_IM_NAMESPACE}'><body xmlns='{XHTML_NAMESPACE}'>{markup}</body></html>"
        );
        match crate::xmpp::parse_standalone(&doc) {
            Ok(el) => Some(el),
            Err(e) => {
                tracing::debug!(error = %e, "xhtml-im markup dropped");
                self.stats.content_dropped += 1;
                None
            }
        }
    }

    /// The XMPP `from` (the SIP sender as RFC 7247 §6 says) and `to` (the
    /// XMPP user named by the Request-URI).
    fn xmpp_addresses(&self, relay: &Relay) -> Result<(Jid, Jid), String> {
        let Some(link) = self.xmpp.as_ref() else {
            return Err("no xmpp binding".into());
        };
        let Origin::Sip { request, .. } = &relay.origin else {
            return Err("only SIP senders are mapped to xmpp".into());
        };
        let from_uri = request.from().uri();
        let gr = from_uri.param("gr").flatten();
        let sip = SipAddress::from_wire(from_uri.scheme(), from_uri.user(), from_uri.host(), gr)
            .map_err(|e| format!("sender cannot be expressed in xmpp: {e}"))?;
        let from = sip_to_xmpp(&link.address_mode, &sip)
            .map_err(|e| format!("sender cannot be expressed in xmpp: {e}"))?;
        let from =
            Jid::parse(&from.to_string()).map_err(|e| format!("sender is not a valid jid: {e}"))?;
        let dest = &relay.msg.destination;
        let user = percent_decode(dest.user()).ok_or("destination user is not valid utf-8")?;
        let local = escape_localpart(&user)
            .map_err(|e| format!("destination cannot be expressed in xmpp: {e}"))?;
        let to = Jid::from_parts(Some(&local), &dest.domain().to_ascii_lowercase(), None)
            .map_err(|e| format!("destination is not a valid jid: {e}"))?;
        Ok((from, to))
    }

    /// An error stanza arrived: if it answers a MESSAGE inside its window,
    /// the SIP sender gets the mapped status now (RFC 7247 §7).
    pub(super) fn on_xmpp_message_error(&mut self, now: Instant, el: &Element) {
        let Some(link) = self.xmpp.as_mut() else {
            return;
        };
        let Some(id) = el.attr("id") else { return };
        let Some(p) = link.pending.remove(id) else {
            return;
        };
        link.windows.remove(&(p.deadline, id.to_string()));
        let parsed = Message::parse(el).ok().and_then(|m| m.error);
        let condition = parsed
            .as_ref()
            .map(|e| e.condition.as_str())
            .unwrap_or("undefined-condition");
        let address = parsed.as_ref().and_then(|e| e.gone_uri.as_deref());
        let err = ReceivedXmppError {
            condition,
            to_bare: p.to_bare,
            address,
        };
        let answer = sip_answer_after_window(Some(&err), &XmppErrorPolicy::default());
        let mut hdrs = Vec::new();
        if let Some(c) = answer.contact {
            hdrs.push(("Contact".to_string(), format!("<{c}>")));
        }
        if let Some(w) = answer.warning {
            hdrs.push(("Warning".to_string(), self.warning(&w)));
        }
        self.stats.messages_failure += 1;
        self.record_xmpp_outbound(now, &p.relay, Some(condition));
        self.answer(now, &p.relay, answer.status, hdrs, None);
    }

    /// Error windows that closed without an error: 202 (or 200 by policy).
    pub(super) fn close_windows(&mut self, now: Instant) {
        loop {
            let Some(link) = self.xmpp.as_mut() else {
                return;
            };
            let Some((deadline, id)) = link.windows.first().cloned() else {
                return;
            };
            if deadline > now {
                return;
            }
            link.windows.remove(&(deadline, id.clone()));
            let Some(p) = link.pending.remove(&id) else {
                continue;
            };
            let answer = sip_answer_after_window(None, &XmppErrorPolicy::default());
            self.stats.messages_indeterminate += 1;
            self.record_xmpp_outbound(now, &p.relay, None);
            self.answer(now, &p.relay, answer.status, Vec::new(), None);
        }
    }
}

fn chat_state(c: crate::translate::xmpp::ChatState) -> crate::xmpp::stanza::ChatState {
    use crate::translate::xmpp::ChatState as T;
    use crate::xmpp::stanza::ChatState as S;
    match c {
        T::Active => S::Active,
        T::Composing => S::Composing,
        T::Gone => S::Gone,
        T::Inactive => S::Inactive,
        T::Paused => S::Paused,
    }
}

/// RFC 3986 percent-decoding into UTF-8; `None` for a bad escape or bytes
/// that are not UTF-8.
pub(super) fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = char::from(bytes.next()?).to_digit(16)?;
            let lo = char::from(bytes.next()?).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

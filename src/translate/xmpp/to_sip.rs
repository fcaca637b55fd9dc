//! XMPP `<message/>` children → SIP MESSAGE body and headers (RFC 7572 §5,
//! Table 1; RFC 3922 §4.1; RFC 3923 §8; XEP-0085 → RFC 3994).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use bytes::Bytes;

use super::iscomposing::{self, Composing};
use super::text::{header_text, valid_call_id, valid_lang};
use super::{ChatState, ISCOMPOSING_TYPE, MapError, XmppMapPolicy, XmppMessageContent, e2e};
use crate::cpim::{CpimBuilder, ImUri};

/// The SIP side of a translated message: what goes into the MESSAGE besides
/// the addresses (which `translate::address` maps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipContent {
    /// The `Content-Type` header value (verbatim for `<e2e/>` content).
    pub content_type: String,
    /// Other headers, in order: `Subject`, `Content-Language`, then the
    /// entity's `Content-Disposition`/`Content-Transfer-Encoding`/
    /// `Content-ID`/`Content-Description` for `<e2e/>` content.
    pub extra_headers: Vec<(String, String)>,
    /// `<thread/>` when it is a valid Call-ID (RFC 7572 Table 1); otherwise
    /// `None` and the caller makes a fresh Call-ID.
    pub call_id_hint: Option<String>,
    /// The body; Content-Length is its length.
    pub body: Bytes,
}

/// What an XMPP message becomes on the SIP side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SipOutcome {
    /// Send a MESSAGE with this content.
    Send(SipContent),
    /// Send nothing (not an error: nothing is owed to the XMPP sender).
    Skip(SkipReason),
}

/// Why no MESSAGE is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Only an `<active/>` chat state: RFC 3994 has nothing to say for it
    /// (the receiver is already idle, or goes idle on the refresh timeout).
    ActiveChatState,
    /// No body, subject, `<e2e/>` or chat state.
    Empty,
}

/// Maps XMPP message content to SIP (RFC 7572 Table 1).
///
/// Precedence: `<e2e/>` (the original MIME entity; a `<body/>` next to it is
/// a fallback and is dropped), then `<body/>` (`text/plain; charset=UTF-8`;
/// a chat state next to a body is dropped, RFC 3994 §3.3: content implies
/// idle), then a chat state (`composing` → `active` with `<refresh>`,
/// `paused`/`inactive`/`gone` → `idle`, `active` → nothing), then a
/// subject alone (empty text body).
///
/// `<subject/>` → `Subject` (control characters become spaces), `xml:lang`
/// → `Content-Language` (not mapped when it is not a valid tag),
/// `<thread/>` → [`SipContent::call_id_hint`].
///
/// With [`XmppMapPolicy::wrap_cpim`], text and isComposing bodies are
/// wrapped in a new `message/cpim` (RFC 3922 §4.1): `From`/`To` are
/// `from_im`/`to_im` (the caller has removed the resource), `DateTime` is
/// `now_rfc3339` when given (never read from a clock here), `Subject` keeps
/// its language, and the inner entity is `text/plain; charset=utf-8`.
/// `<e2e/>` content is never wrapped.
pub fn xmpp_to_sip(
    msg: &XmppMessageContent,
    policy: &XmppMapPolicy,
    from_im: &ImUri,
    to_im: &ImUri,
    now_rfc3339: Option<&str>,
) -> Result<SipOutcome, MapError> {
    let mut extra_headers = Vec::new();
    let subject = msg
        .subject
        .as_ref()
        .map(|(l, t)| (l.as_deref().filter(|l| valid_lang(l)), header_text(t)))
        .filter(|(_, t)| !t.is_empty());
    if let Some((_, s)) = &subject {
        extra_headers.push(("Subject".to_owned(), s.clone()));
    }
    let lang = msg.lang.as_deref().filter(|l| valid_lang(l));
    if let Some(l) = lang {
        extra_headers.push(("Content-Language".to_owned(), l.to_owned()));
    }
    let call_id_hint = msg
        .thread
        .as_deref()
        .filter(|t| valid_call_id(t))
        .map(str::to_owned);

    if let Some(e) = &msg.e2e {
        let entity = e2e::from_e2e(e)?;
        extra_headers.extend(entity.headers);
        return Ok(SipOutcome::Send(SipContent {
            content_type: entity.content_type,
            extra_headers,
            call_id_hint,
            body: entity.body,
        }));
    }

    let (content_type, body) = if let Some(b) = &msg.body {
        (
            "text/plain; charset=UTF-8",
            Bytes::from(b.clone().into_bytes()),
        )
    } else if let Some(state) = msg.chat_state {
        let composing = match state {
            ChatState::Active => return Ok(SipOutcome::Skip(SkipReason::ActiveChatState)),
            ChatState::Composing => Composing::Active,
            ChatState::Gone | ChatState::Inactive | ChatState::Paused => Composing::Idle,
        };
        let doc = iscomposing::build(composing, policy.composing_refresh_secs);
        (ISCOMPOSING_TYPE, Bytes::from(doc.into_bytes()))
    } else if subject.is_some() {
        ("text/plain; charset=UTF-8", Bytes::new())
    } else {
        return Ok(SipOutcome::Skip(SkipReason::Empty));
    };

    if !policy.wrap_cpim {
        return Ok(SipOutcome::Send(SipContent {
            content_type: content_type.to_owned(),
            extra_headers,
            call_id_hint,
            body,
        }));
    }
    let mut b = CpimBuilder::new((None, from_im.clone()), (None, to_im.clone()));
    if let Some(now) = now_rfc3339 {
        b = b.date_time(now).map_err(MapError::Build)?;
    }
    if let Some((l, s)) = &subject {
        b = b.subject(*l, s).map_err(MapError::Build)?;
    }
    let inner_type = if content_type == ISCOMPOSING_TYPE {
        ISCOMPOSING_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let inner_headers: Vec<(&str, &str)> =
        lang.map(|l| ("Content-Language", l)).into_iter().collect();
    b = b
        .content(inner_type, &inner_headers, body)
        .map_err(MapError::Build)?;
    Ok(SipOutcome::Send(SipContent {
        content_type: "message/cpim".to_owned(),
        extra_headers,
        call_id_hint,
        body: b.to_bytes(),
    }))
}

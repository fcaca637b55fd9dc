//! Typed views of the stanzas the gateway needs (RFC 6120 §8, RFC 6121),
//! parsed from and built into [`Element`].
//!
//! - [`Message`]: bodies, subjects, thread (XEP-0201), XHTML-IM (XEP-0071),
//!   `<e2e>` (RFC 3923), chat states (XEP-0085), receipt requests
//!   (XEP-0184), errors.
//! - [`Presence`]: type, show, statuses, priority (RFC 6121 §4.7).
//! - [`Iq`]: get/set/result/error with one payload (RFC 6120 §8.2.3),
//!   enough for XEP-0199 ping and XEP-0030 disco#info.
//! - [`StanzaError`] and [`error_reply`] (RFC 6120 §8.3).
//!
//! Parsing accepts the `jabber:component:accept`, `jabber:client` and
//! `jabber:server` namespaces; building uses `jabber:component:accept`
//! (XEP-0114). For every view, `parse(&x.to_element()) == x`. Unknown child
//! elements are kept in `extensions`, so nothing the peer sent is lost.
//!
//! Not done: multiple `<error>` children, `xml:lang` on `<text>`,
//! XEP-0030 payload modelling (the payload stays an [`Element`]).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod error;
mod iq;
mod message;
mod presence;
#[cfg(test)]
mod tests;

pub use error::{ErrorCondition, ErrorType, StanzaError};
pub use iq::{Iq, IqType, NS_DISCO_INFO, NS_PING};
pub use message::{
    ChatState, Message, MessageType, NS_CHATSTATES, NS_E2E, NS_E2E_ALT, NS_RECEIPTS, NS_XHTML_IM,
    Thread,
};
pub use presence::{Presence, PresenceType, Show};

use super::element::{Element, NS_XML};
use super::jid::{Jid, JidError};

/// `jabber:component:accept` (XEP-0114), the namespace we build stanzas in.
pub const NS_COMPONENT: &str = "jabber:component:accept";
/// `jabber:client` (RFC 6120 §4.8.3).
pub const NS_CLIENT: &str = "jabber:client";
/// `jabber:server` (RFC 6120 §4.8.3).
pub const NS_SERVER: &str = "jabber:server";
/// `urn:ietf:params:xml:ns:xmpp-stanzas` (RFC 6120 §8.3.3).
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// Why an element is not the stanza expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StanzaParseError {
    /// Not `<message>`/`<presence>`/`<iq>` (or not the one asked for) in a
    /// stanza namespace.
    #[error("not a {expected} stanza: <{name}> in {ns:?}")]
    WrongElement {
        /// The stanza kind expected.
        expected: &'static str,
        /// The element's local name.
        name: String,
        /// The element's namespace.
        ns: String,
    },
    /// `from` or `to` is not a valid JID.
    #[error("bad {attr} address")]
    BadJid {
        /// `"from"` or `"to"`.
        attr: &'static str,
        /// Why.
        #[source]
        source: JidError,
    },
    /// An attribute has a value not allowed for it.
    #[error("bad {attr} {value:?} on <{element}>")]
    BadAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attr: &'static str,
        /// The refused value.
        value: String,
    },
    /// `<priority>` is not an integer in -128..=127 (RFC 6121 §4.7.2.3).
    #[error("bad presence priority {0:?}")]
    BadPriority(String),
    /// An `<iq>` without `id` (RFC 6120 §8.2.3).
    #[error("iq without id")]
    MissingId,
    /// An iq get/set without exactly one payload (RFC 6120 §8.2.3).
    #[error("iq {0} must have exactly one payload")]
    IqPayload(&'static str),
    /// `error_reply` was asked to answer an error stanza (RFC 6120 §8.3.1).
    #[error("never answer an error with an error")]
    ErrorToError,
}

/// A text child with an optional `xml:lang` (`<body>`, `<subject>`, `<status>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LangText {
    /// `xml:lang`, if given on the child.
    pub lang: Option<String>,
    /// The text.
    pub text: String,
}

impl LangText {
    /// Text with no `xml:lang`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            lang: None,
            text: text.into(),
        }
    }
}

/// Whether `ns` is a namespace stanzas may be in.
pub fn is_stanza_ns(ns: &str) -> bool {
    matches!(ns, NS_COMPONENT | NS_CLIENT | NS_SERVER)
}

/// Builds a stanza that answers `original` with an error (RFC 6120 §8.3.1):
/// same element name and `id`, `from`/`to` swapped, `type='error'`, and the
/// `<error>` child. An iq's payload is copied (§8.3.1 allows it) so the
/// requester sees what failed; message and presence content is not.
pub fn error_reply(
    original: &Element,
    kind: ErrorType,
    condition: ErrorCondition,
    text: Option<&str>,
) -> Result<Element, StanzaParseError> {
    let name = match original.name() {
        "message" => "message",
        "presence" => "presence",
        "iq" => "iq",
        other => {
            return Err(StanzaParseError::WrongElement {
                expected: "stanza",
                name: other.to_owned(),
                ns: original.ns().to_owned(),
            });
        }
    };
    if !is_stanza_ns(original.ns()) {
        return Err(StanzaParseError::WrongElement {
            expected: "stanza",
            name: name.to_owned(),
            ns: original.ns().to_owned(),
        });
    }
    if original.attr("type") == Some("error") {
        return Err(StanzaParseError::ErrorToError);
    }
    let mut reply = Element::new(name, original.ns());
    if let Some(v) = original.attr("to") {
        reply.set_attr("from", v);
    }
    if let Some(v) = original.attr("from") {
        reply.set_attr("to", v);
    }
    if let Some(v) = original.attr("id") {
        reply.set_attr("id", v);
    }
    reply.set_attr("type", "error");
    if name == "iq" {
        for c in original.children().take(1) {
            reply.push_child(c.clone());
        }
    }
    let mut err = StanzaError::new(kind, condition);
    err.text = text.map(str::to_owned);
    reply.push_child(err.to_element(original.ns()));
    Ok(reply)
}

/// The addressing common to all stanzas (RFC 6120 §8.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) from: Option<Jid>,
    pub(crate) to: Option<Jid>,
    pub(crate) id: Option<String>,
    pub(crate) lang: Option<String>,
}

impl Header {
    pub(crate) fn parse(el: &Element, expected: &'static str) -> Result<Self, StanzaParseError> {
        if el.name() != expected || !is_stanza_ns(el.ns()) {
            return Err(StanzaParseError::WrongElement {
                expected,
                name: el.name().to_owned(),
                ns: el.ns().to_owned(),
            });
        }
        let jid = |attr: &'static str| -> Result<Option<Jid>, StanzaParseError> {
            el.attr(attr)
                .map(|v| Jid::parse(v).map_err(|source| StanzaParseError::BadJid { attr, source }))
                .transpose()
        };
        Ok(Self {
            from: jid("from")?,
            to: jid("to")?,
            id: el.attr("id").map(str::to_owned),
            lang: lang_of(el),
        })
    }

    pub(crate) fn element(&self, name: &str) -> Element {
        let mut el = Element::new(name, NS_COMPONENT);
        if let Some(j) = &self.from {
            el.set_attr("from", j.to_string());
        }
        if let Some(j) = &self.to {
            el.set_attr("to", j.to_string());
        }
        if let Some(id) = &self.id {
            el.set_attr("id", id.clone());
        }
        if let Some(l) = &self.lang {
            el.set_attr_ns(Some(NS_XML), "lang", l.clone());
        }
        el
    }
}

pub(crate) fn lang_of(el: &Element) -> Option<String> {
    el.attr_ns(Some(NS_XML), "lang").map(str::to_owned)
}

pub(crate) fn lang_text(el: &Element) -> LangText {
    LangText {
        lang: lang_of(el),
        text: el.text(),
    }
}

pub(crate) fn lang_text_element(name: &str, ns: &str, t: &LangText) -> Element {
    let mut el = Element::new(name, ns).with_text(t.text.clone());
    if let Some(l) = &t.lang {
        el.set_attr_ns(Some(NS_XML), "lang", l.clone());
    }
    el
}

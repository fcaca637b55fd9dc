//! `<message>` (RFC 6120 §8.2.1, RFC 6121 §5) with the extensions the
//! gateway maps: XEP-0201 thread, XEP-0071 XHTML-IM, RFC 3923 `<e2e>`,
//! XEP-0085 chat states and XEP-0184 receipt requests.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::{Header, LangText, StanzaError, StanzaParseError, lang_text, lang_text_element};
use crate::xmpp::element::Element;
use crate::xmpp::jid::Jid;

/// `http://jabber.org/protocol/xhtml-im` (XEP-0071 §4).
pub const NS_XHTML_IM: &str = "http://jabber.org/protocol/xhtml-im";
/// `urn:ietf:params:xml:ns:xmpp-e2e` (RFC 3923 §3.2), the one we emit.
pub const NS_E2E: &str = "urn:ietf:params:xml:ns:xmpp-e2e";
/// `urn:ietf:params:xml:xmpp-e2e`, the RFC 3923 erratum's spelling,
/// accepted on input.
pub const NS_E2E_ALT: &str = "urn:ietf:params:xml:xmpp-e2e";
/// `http://jabber.org/protocol/chatstates` (XEP-0085 §5).
pub const NS_CHATSTATES: &str = "http://jabber.org/protocol/chatstates";
/// `urn:xmpp:receipts` (XEP-0184 §3).
pub const NS_RECEIPTS: &str = "urn:xmpp:receipts";

/// Message `type` (RFC 6121 §5.2.2); absent means `Normal`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageType {
    /// One-to-one chat.
    Chat,
    /// An error (RFC 6120 §8.3).
    Error,
    /// Multi-user chat.
    Groupchat,
    /// Alert, no reply expected.
    Headline,
    /// Standalone message (the default).
    #[default]
    Normal,
}

impl MessageType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Error => "error",
            Self::Groupchat => "groupchat",
            Self::Headline => "headline",
            Self::Normal => "normal",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "chat" => Self::Chat,
            "error" => Self::Error,
            "groupchat" => Self::Groupchat,
            "headline" => Self::Headline,
            "normal" => Self::Normal,
            _ => return None,
        })
    }
}

/// Chat states, XEP-0085 §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChatState {
    /// Actively participating.
    Active,
    /// Composing a message.
    Composing,
    /// Has ended the conversation.
    Gone,
    /// Not actively participating.
    Inactive,
    /// Was composing, has paused.
    Paused,
}

impl ChatState {
    /// The element name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Composing => "composing",
            Self::Gone => "gone",
            Self::Inactive => "inactive",
            Self::Paused => "paused",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "composing" => Self::Composing,
            "gone" => Self::Gone,
            "inactive" => Self::Inactive,
            "paused" => Self::Paused,
            _ => return None,
        })
    }
}

/// `<thread>` (RFC 6121 §5.2.5, XEP-0201 `parent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// The thread id (element text).
    pub id: String,
    /// `parent`, the thread this one forked from.
    pub parent: Option<String>,
}

/// A `<message>` stanza.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// `from`.
    pub from: Option<Jid>,
    /// `to`.
    pub to: Option<Jid>,
    /// `id`.
    pub id: Option<String>,
    /// `type`.
    pub kind: MessageType,
    /// `xml:lang` of the stanza.
    pub lang: Option<String>,
    /// `<body>` children, one per language (RFC 6121 §5.2.3).
    pub bodies: Vec<LangText>,
    /// `<subject>` children (RFC 6121 §5.2.4).
    pub subjects: Vec<LangText>,
    /// `<thread>`.
    pub thread: Option<Thread>,
    /// The XHTML-IM `<html>` element, kept whole (XEP-0071 §4).
    pub html: Option<Element>,
    /// `<e2e>` content (RFC 3923 §3.2): the MIME entity, carried exactly.
    pub e2e: Option<String>,
    /// XEP-0085 chat state.
    pub chat_state: Option<ChatState>,
    /// XEP-0184 `<request/>` present.
    pub receipt_request: bool,
    /// `<error>` (RFC 6120 §8.3).
    pub error: Option<StanzaError>,
    /// Other child elements, in order.
    pub extensions: Vec<Element>,
}

impl Message {
    /// A `type='chat'` message with one body.
    pub fn chat(from: Jid, to: Jid, body: impl Into<String>) -> Self {
        Self {
            from: Some(from),
            to: Some(to),
            kind: MessageType::Chat,
            bodies: vec![LangText::new(body)],
            ..Self::default()
        }
    }

    /// The body without `xml:lang`, else the first one.
    pub fn body(&self) -> Option<&str> {
        self.bodies
            .iter()
            .find(|b| b.lang.is_none())
            .or_else(|| self.bodies.first())
            .map(|b| b.text.as_str())
    }

    /// Reads a `<message>` element.
    pub fn parse(el: &Element) -> Result<Self, StanzaParseError> {
        let h = Header::parse(el, "message")?;
        let kind = match el.attr("type") {
            None => MessageType::Normal,
            Some(t) => MessageType::from_name(t).ok_or_else(|| StanzaParseError::BadAttribute {
                element: "message",
                attr: "type",
                value: t.to_owned(),
            })?,
        };
        let mut m = Self {
            from: h.from,
            to: h.to,
            id: h.id,
            lang: h.lang,
            kind,
            ..Self::default()
        };
        let sns = el.ns();
        for c in el.children() {
            match (c.ns(), c.name()) {
                (ns, "body") if ns == sns => m.bodies.push(lang_text(c)),
                (ns, "subject") if ns == sns => m.subjects.push(lang_text(c)),
                (ns, "thread") if ns == sns && m.thread.is_none() => {
                    m.thread = Some(Thread {
                        id: c.text(),
                        parent: c.attr("parent").map(str::to_owned),
                    });
                }
                (ns, "error") if ns == sns && m.error.is_none() => {
                    m.error = Some(StanzaError::parse(c)?);
                }
                (NS_XHTML_IM, "html") if m.html.is_none() => m.html = Some(c.clone()),
                (NS_E2E | NS_E2E_ALT, "e2e") if m.e2e.is_none() => m.e2e = Some(c.text()),
                (NS_CHATSTATES, name)
                    if m.chat_state.is_none() && ChatState::from_name(name).is_some() =>
                {
                    m.chat_state = ChatState::from_name(name);
                }
                (NS_RECEIPTS, "request") if !m.receipt_request => m.receipt_request = true,
                _ => m.extensions.push(c.clone()),
            }
        }
        Ok(m)
    }

    /// Builds the `<message>` element (namespace `jabber:component:accept`).
    /// `<e2e>` content is written as CDATA (RFC 3923 §3.2).
    pub fn to_element(&self) -> Element {
        let h = Header {
            from: self.from.clone(),
            to: self.to.clone(),
            id: self.id.clone(),
            lang: self.lang.clone(),
        };
        let mut el = h.element("message");
        let ns = el.ns().to_owned();
        if self.kind != MessageType::Normal {
            el.set_attr("type", self.kind.as_str());
        }
        for s in &self.subjects {
            el.push_child(lang_text_element("subject", &ns, s));
        }
        for b in &self.bodies {
            el.push_child(lang_text_element("body", &ns, b));
        }
        if let Some(t) = &self.thread {
            let mut te = Element::new("thread", ns.as_str()).with_text(t.id.clone());
            if let Some(p) = &t.parent {
                te.set_attr("parent", p.clone());
            }
            el.push_child(te);
        }
        if let Some(e) = &self.error {
            el.push_child(e.to_element(&ns));
        }
        if let Some(h) = &self.html {
            el.push_child(h.clone());
        }
        if let Some(e) = &self.e2e {
            el.push_child(Element::new("e2e", NS_E2E).with_cdata(e.clone()));
        }
        if let Some(cs) = self.chat_state {
            el.push_child(Element::new(cs.as_str(), NS_CHATSTATES));
        }
        if self.receipt_request {
            el.push_child(Element::new("request", NS_RECEIPTS));
        }
        for x in &self.extensions {
            el.push_child(x.clone());
        }
        el
    }
}

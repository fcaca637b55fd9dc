//! `<presence>` (RFC 6120 §8.2.2, RFC 6121 §4.7): type, show, statuses,
//! priority.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::{Header, LangText, StanzaError, StanzaParseError, lang_text, lang_text_element};
use crate::xmpp::element::Element;
use crate::xmpp::jid::Jid;

/// Presence `type` (RFC 6121 §4.7.1); absent means `Available`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PresenceType {
    /// No `type`: the sender is available.
    #[default]
    Available,
    /// An error (RFC 6120 §8.3).
    Error,
    /// A request for current presence (RFC 6121 §4.3).
    Probe,
    /// A subscription request (RFC 6121 §3.1).
    Subscribe,
    /// A subscription approval (RFC 6121 §3.1.5).
    Subscribed,
    /// The sender is unavailable.
    Unavailable,
    /// An unsubscribe (RFC 6121 §3.3).
    Unsubscribe,
    /// A subscription cancellation (RFC 6121 §3.2).
    Unsubscribed,
}

impl PresenceType {
    /// The attribute value (`None` for `Available`).
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            Self::Available => return None,
            Self::Error => "error",
            Self::Probe => "probe",
            Self::Subscribe => "subscribe",
            Self::Subscribed => "subscribed",
            Self::Unavailable => "unavailable",
            Self::Unsubscribe => "unsubscribe",
            Self::Unsubscribed => "unsubscribed",
        })
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "error" => Self::Error,
            "probe" => Self::Probe,
            "subscribe" => Self::Subscribe,
            "subscribed" => Self::Subscribed,
            "unavailable" => Self::Unavailable,
            "unsubscribe" => Self::Unsubscribe,
            "unsubscribed" => Self::Unsubscribed,
            _ => return None,
        })
    }
}

/// `<show>` (RFC 6121 §4.7.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Show {
    /// Temporarily away.
    Away,
    /// Actively interested in chatting.
    Chat,
    /// Do not disturb.
    Dnd,
    /// Extended away.
    Xa,
}

impl Show {
    /// The element text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Away => "away",
            Self::Chat => "chat",
            Self::Dnd => "dnd",
            Self::Xa => "xa",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "away" => Self::Away,
            "chat" => Self::Chat,
            "dnd" => Self::Dnd,
            "xa" => Self::Xa,
            _ => return None,
        })
    }
}

/// A `<presence>` stanza.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presence {
    /// `from`.
    pub from: Option<Jid>,
    /// `to`.
    pub to: Option<Jid>,
    /// `id`.
    pub id: Option<String>,
    /// `type`.
    pub kind: PresenceType,
    /// `xml:lang` of the stanza.
    pub lang: Option<String>,
    /// `<show>`.
    pub show: Option<Show>,
    /// `<status>` children, one per language.
    pub statuses: Vec<LangText>,
    /// `<priority>` (RFC 6121 §4.7.2.3).
    pub priority: Option<i8>,
    /// `<error>`.
    pub error: Option<StanzaError>,
    /// Other child elements, in order.
    pub extensions: Vec<Element>,
}

impl Presence {
    /// Reads a `<presence>` element.
    pub fn parse(el: &Element) -> Result<Self, StanzaParseError> {
        let h = Header::parse(el, "presence")?;
        let kind = match el.attr("type") {
            None => PresenceType::Available,
            Some(t) => {
                PresenceType::from_name(t).ok_or_else(|| StanzaParseError::BadAttribute {
                    element: "presence",
                    attr: "type",
                    value: t.to_owned(),
                })?
            }
        };
        let mut p = Self {
            from: h.from,
            to: h.to,
            id: h.id,
            lang: h.lang,
            kind,
            ..Self::default()
        };
        let sns = el.ns();
        for c in el.children() {
            match c.name() {
                "show" if c.ns() == sns && p.show.is_none() => {
                    let t = c.text();
                    let show = Show::from_name(t.trim()).ok_or(StanzaParseError::BadAttribute {
                        element: "presence",
                        attr: "show",
                        value: t,
                    })?;
                    p.show = Some(show);
                }
                "status" if c.ns() == sns => p.statuses.push(lang_text(c)),
                "priority" if c.ns() == sns && p.priority.is_none() => {
                    let t = c.text();
                    let v = t
                        .trim()
                        .parse::<i8>()
                        .map_err(|_| StanzaParseError::BadPriority(t.clone()))?;
                    p.priority = Some(v);
                }
                "error" if c.ns() == sns && p.error.is_none() => {
                    p.error = Some(StanzaError::parse(c)?);
                }
                _ => p.extensions.push(c.clone()),
            }
        }
        Ok(p)
    }

    /// Builds the `<presence>` element (namespace `jabber:component:accept`).
    pub fn to_element(&self) -> Element {
        let h = Header {
            from: self.from.clone(),
            to: self.to.clone(),
            id: self.id.clone(),
            lang: self.lang.clone(),
        };
        let mut el = h.element("presence");
        let ns = el.ns().to_owned();
        if let Some(t) = self.kind.as_str() {
            el.set_attr("type", t);
        }
        if let Some(s) = self.show {
            el.push_child(Element::new("show", ns.as_str()).with_text(s.as_str()));
        }
        for s in &self.statuses {
            el.push_child(lang_text_element("status", &ns, s));
        }
        if let Some(p) = self.priority {
            el.push_child(Element::new("priority", ns.as_str()).with_text(p.to_string()));
        }
        if let Some(e) = &self.error {
            el.push_child(e.to_element(&ns));
        }
        for x in &self.extensions {
            el.push_child(x.clone());
        }
        el
    }
}

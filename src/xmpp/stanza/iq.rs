//! `<iq>` (RFC 6120 §8.2.3): get/set with exactly one payload,
//! result with at most one, error with an `<error>`. Enough for XEP-0199
//! ping and XEP-0030 disco#info replies.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::{Header, StanzaError, StanzaParseError};
use crate::xmpp::element::Element;
use crate::xmpp::jid::Jid;

/// `urn:xmpp:ping` (XEP-0199 §3).
pub const NS_PING: &str = "urn:xmpp:ping";
/// `http://jabber.org/protocol/disco#info` (XEP-0030 §3).
pub const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

/// Iq `type` (RFC 6120 §8.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IqType {
    /// Request for data.
    Get,
    /// Data, or an answer to a `Get`.
    Result,
    /// Provides data or a command.
    Set,
    /// The request failed.
    Error,
}

impl IqType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Result => "result",
            Self::Set => "set",
            Self::Error => "error",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "get" => Self::Get,
            "result" => Self::Result,
            "set" => Self::Set,
            "error" => Self::Error,
            _ => return None,
        })
    }
}

/// An `<iq>` stanza.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iq {
    /// `from`.
    pub from: Option<Jid>,
    /// `to`.
    pub to: Option<Jid>,
    /// `id` (required).
    pub id: String,
    /// `type`.
    pub kind: IqType,
    /// The payload child (the request, for an error, if echoed).
    pub payload: Option<Element>,
    /// `<error>`, for `type='error'`.
    pub error: Option<StanzaError>,
}

impl Iq {
    /// A XEP-0199 ping: `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>`.
    pub fn ping(from: Jid, to: Jid, id: impl Into<String>) -> Self {
        Self {
            from: Some(from),
            to: Some(to),
            id: id.into(),
            kind: IqType::Get,
            payload: Some(Element::new("ping", NS_PING)),
            error: None,
        }
    }

    /// The `result` answering this request (addresses swapped, same id),
    /// carrying `payload`.
    pub fn result(&self, payload: Option<Element>) -> Self {
        Self {
            from: self.to.clone(),
            to: self.from.clone(),
            id: self.id.clone(),
            kind: IqType::Result,
            payload,
            error: None,
        }
    }

    /// Reads an `<iq>` element.
    pub fn parse(el: &Element) -> Result<Self, StanzaParseError> {
        let h = Header::parse(el, "iq")?;
        let ty = el.attr("type").unwrap_or("");
        let kind = IqType::from_name(ty).ok_or_else(|| StanzaParseError::BadAttribute {
            element: "iq",
            attr: "type",
            value: ty.to_owned(),
        })?;
        let id = h.id.ok_or(StanzaParseError::MissingId)?;
        let sns = el.ns();
        let mut payload = None;
        let mut error = None;
        let mut count = 0usize;
        // The `<error>` is the last one (we build it after the payload).
        let error_at = match kind {
            IqType::Error => el
                .children()
                .enumerate()
                .filter(|(_, c)| c.is("error", sns))
                .last()
                .map(|(i, _)| i),
            _ => None,
        };
        for (i, c) in el.children().enumerate() {
            if Some(i) == error_at {
                error = Some(StanzaError::parse(c)?);
                continue;
            }
            count = count.saturating_add(1);
            if payload.is_none() {
                payload = Some(c.clone());
            }
        }
        let one = match kind {
            IqType::Get | IqType::Set => count == 1,
            IqType::Result | IqType::Error => count <= 1,
        };
        if !one {
            return Err(StanzaParseError::IqPayload(kind.as_str()));
        }
        Ok(Self {
            from: h.from,
            to: h.to,
            id,
            kind,
            payload,
            error,
        })
    }

    /// Builds the `<iq>` element (namespace `jabber:component:accept`).
    pub fn to_element(&self) -> Element {
        let h = Header {
            from: self.from.clone(),
            to: self.to.clone(),
            id: Some(self.id.clone()),
            lang: None,
        };
        let mut el = h.element("iq");
        let ns = el.ns().to_owned();
        el.set_attr("type", self.kind.as_str());
        if let Some(p) = &self.payload {
            el.push_child(p.clone());
        }
        if let Some(e) = &self.error {
            el.push_child(e.to_element(&ns));
        }
        el
    }
}

//! The XMPP binding's sans-IO core: JIDs (RFC 7622), the stanza element
//! tree and its writer, incremental stream framing (RFC 6120 §4), typed
//! stanza views (RFC 6120 §8, XEP-0085, XEP-0184, XEP-0071, RFC 3923) and
//! the XEP-0114 component link state machine.
//!
//! Nothing here does IO or reads a clock (house style A.1): the driver
//! feeds bytes and `now`, and drains `poll_*`. The socket lives in
//! `src/io/`.
//!
//! - [`jid`]: the [`Jid`] address type.
//! - [`element`]: [`Element`] tree and writer.
//! - [`stream`]: [`StreamParser`] framer, [`StreamLimits`], [`StreamError`].
//! - [`stanza`]: [`Message`], [`Presence`], [`Iq`], [`StanzaError`].
//! - [`component`]: [`Component`], the XEP-0114 link.
//! - [`stats`]: [`XmppStats`] counters.

pub mod component;
pub mod element;
pub mod jid;
pub mod stanza;
pub mod stats;
pub mod stream;
mod tree;

pub use component::{
    Component, ComponentConfig, ComponentEvent, ComponentState, DisconnectReason, Secret, SendError,
};
pub use element::{Attribute, Element, Node, WriteError};
pub use jid::{Jid, JidError};
pub use stanza::{
    ErrorCondition, ErrorType, Iq, IqType, Message, MessageType, Presence, PresenceType,
    StanzaError,
};
pub use stats::XmppStats;
pub use stream::{StreamError, StreamItem, StreamLimits, StreamParser};

/// Parses one standalone element, outside any stream (no inherited
/// namespace bindings), with the default [`StreamLimits`] and the same
/// refusals as the stream parser (no DTD, no entities but the predefined
/// ones, no forbidden characters). For markup the gateway builds itself,
/// such as the XHTML-IM body (XEP-0071) made from SIP `text/html`.
pub fn parse_standalone(xml: &str) -> Result<Element, StreamError> {
    tree::parse_element(xml.as_bytes(), 0, &Vec::new(), &StreamLimits::default())
}

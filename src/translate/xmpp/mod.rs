//! Pager-mode message *content* between the SIP/CPIM side and XMPP
//! (RFC 7572, RFC 3922 §4, RFC 3923 §8, RFC 3994 ⇄ XEP-0085).
//!
//! Owns the neutral XMPP-side value [`XmppMessageContent`] (what goes inside
//! or comes out of a `<message/>` stanza, without any XML), the two pure
//! translations [`cpim_to_xmpp`] (SIP MESSAGE / CPIM content → stanza
//! children) and [`xmpp_to_sip`] (stanza children → SIP body and headers),
//! the RFC 3428 §8 size rule ([`sip_size_check`]) and the typed
//! [`MapError`]. Which wire status a `MapError` becomes is decided in
//! [`super::xmpp_errors`], next to the RFC 7247 §7 tables.
//!
//! What it does, per content type (SIP → XMPP):
//! - `text/plain` (charset UTF-8, US-ASCII or absent; ISO-8859-1 is
//!   transcoded; anything else is refused) → `<body/>` (RFC 7572 §5,
//!   RFC 3922 §4.2.9);
//! - `text/html` → a plain `<body/>` plus XHTML-IM markup (RFC 7572 §7,
//!   XEP-0071), see `html.rs`;
//! - unsigned `message/cpim` → unwrapped, the inner content delivered,
//!   CPIM `Subject` kept, `Require` checked (RFC 3922 §4.2);
//! - signed or encrypted content → carried unchanged in `<e2e/>`
//!   (RFC 3923 §8, standards.md §10.4–10.5), see `e2e.rs`;
//! - `application/im-iscomposing+xml` → a chat state (RFC 3994, RFC 7573 §6),
//!   see `iscomposing.rs`.
//!
//! SIP headers: Subject → `<subject/>`, Content-Language → `xml:lang`,
//! Call-ID → `<thread/>` (RFC 7572 Table 2); back the other way (Table 1).
//!
//! Control characters never reach the XML stream: in body and subject text
//! every character XML 1.0 §2.2 forbids (U+0000–U+0008, U+000B, U+000C,
//! U+000E–U+001F, U+FFFE, U+FFFF) is *removed* (or refused when
//! [`XmppMapPolicy::strict_control_chars`] is set). `<e2e/>` content is never
//! altered: it is refused instead when it cannot be carried.
//!
//! Not done here: XML serialisation (the stanza writer escapes text, writes
//! `xhtml_body` as markup and `e2e` as CDATA split around `]]>`), addresses
//! (`translate::address`), routing, correlation, and S/MIME verification.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod e2e;
mod html;
mod iscomposing;
mod mime;
mod text;
mod to_sip;
mod to_xmpp;

#[cfg(test)]
mod tests;

pub use e2e::NotRepresentable;
pub use iscomposing::{ISCOMPOSING_NAMESPACE, ISCOMPOSING_TYPE};
pub use to_sip::{SipContent, SipOutcome, SkipReason, xmpp_to_sip};
pub use to_xmpp::cpim_to_xmpp;

use crate::cpim;

/// The XEP-0085 namespace of chat state elements.
pub const CHATSTATES_NAMESPACE: &str = "http://jabber.org/protocol/chatstates";
/// The RFC 3923 §3.1 namespace of `<e2e/>` (standards.md conflict C8: emit
/// this one; accept `urn:ietf:params:xml:xmpp-e2e` too).
pub const E2E_NAMESPACE: &str = "urn:ietf:params:xml:ns:xmpp-e2e";
/// XEP-0071 wrapper namespace (`<html/>`); the inner `<body/>` is XHTML
/// (`http://www.w3.org/1999/xhtml`).
pub const XHTML_IM_NAMESPACE: &str = "http://jabber.org/protocol/xhtml-im";
/// RFC 3428 §8: a MESSAGE outside a congestion-controlled session must not
/// exceed 1300 bytes.
pub const SIP_MESSAGE_SIZE_LIMIT: usize = 1300;
/// Content types [`cpim_to_xmpp`] can carry, for the `Accept` header of a
/// 415 (RFC 3428 Table 1, conformance B.33).
pub const ACCEPT: &str = "text/plain, text/html, message/cpim, \
application/im-iscomposing+xml, multipart/signed, application/pkcs7-mime";

/// The content of one XMPP `<message/>` stanza, protocol-neutral: no XML,
/// no addresses, no stanza id (the stanza module adds those).
///
/// Text fields hold *unescaped* character data that is already free of
/// XML-forbidden characters; `xhtml_body` is the only markup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct XmppMessageContent {
    /// `xml:lang` of the stanza (RFC 6120 §8.1.5) ⇄ SIP Content-Language.
    pub lang: Option<String>,
    /// `<body/>` text.
    pub body: Option<String>,
    /// `<subject/>` as `(xml:lang of the element, text)`.
    pub subject: Option<(Option<String>, String)>,
    /// `<thread/>` ⇄ SIP Call-ID (RFC 7572 Tables 1–2).
    pub thread: Option<String>,
    /// The *inner* markup of the XHTML-IM `<body xmlns='http://www.w3.org/1999/xhtml'>`
    /// (XEP-0071), well-formed and escaped, restricted to the XEP-0071
    /// recommended profile. The writer wraps it in
    /// `<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns=…>…</body></html>`.
    pub xhtml_body: Option<String>,
    /// Character data of `<e2e xmlns='urn:ietf:params:xml:ns:xmpp-e2e'/>`
    /// (RFC 3923): the complete MIME entity, unescaped. Outbound it keeps
    /// its CRLF line ends and has one LF of formatting appended (see
    /// `e2e.rs`); it must be written exactly, as CDATA (split around `]]>`).
    pub e2e: Option<String>,
    /// A XEP-0085 chat state child.
    pub chat_state: Option<ChatState>,
    /// The `<refresh>` (seconds) of an `active` isComposing this content
    /// came from. Not written to the stanza: the gateway, as the RFC 3994
    /// §3.3 receiver, uses it to time the composer out (120 s when absent).
    pub composing_refresh_secs: Option<u32>,
}

/// XEP-0085 chat states (namespace [`CHATSTATES_NAMESPACE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatState {
    /// `<active/>`: participating.
    Active,
    /// `<composing/>`: typing.
    Composing,
    /// `<gone/>`: left the conversation.
    Gone,
    /// `<inactive/>`: not paying attention.
    Inactive,
    /// `<paused/>`: was typing, stopped.
    Paused,
}

impl ChatState {
    /// The element name (`active`, `composing`, …).
    pub fn element_name(self) -> &'static str {
        match self {
            ChatState::Active => "active",
            ChatState::Composing => "composing",
            ChatState::Gone => "gone",
            ChatState::Inactive => "inactive",
            ChatState::Paused => "paused",
        }
    }

    /// The state for an element name in [`CHATSTATES_NAMESPACE`].
    pub fn from_element_name(name: &str) -> Option<ChatState> {
        Some(match name {
            "active" => ChatState::Active,
            "composing" => ChatState::Composing,
            "gone" => ChatState::Gone,
            "inactive" => ChatState::Inactive,
            "paused" => ChatState::Paused,
            _ => return None,
        })
    }
}

/// The SIP request headers that travel beside the CPIM content
/// (RFC 7572 Table 2; standards.md §8.1: not part of CPIM).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SipSide {
    /// `Subject` header value.
    pub subject: Option<String>,
    /// `Content-Language` header value (the first valid tag is used).
    pub content_language: Option<String>,
    /// `Call-ID` → `<thread/>`.
    pub call_id: String,
}

/// Per-peer choices of the content mapping. [`Default`] is the documented
/// default of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmppMapPolicy {
    /// Emit XHTML-IM for `text/html` (RFC 7572 §7 SHOULD). Default `true`.
    pub xhtml_im: bool,
    /// A `<body/>` to add next to `<e2e/>` for clients that do not do
    /// RFC 3923 (e.g. `"[signed message]"`); never part of the e2e object
    /// (standards.md §10.4). Default `None`.
    pub e2e_fallback_body: Option<String>,
    /// XMPP → SIP: wrap text (and isComposing) in a new `message/cpim`
    /// (RFC 3922 §4.1). Default `false`.
    pub wrap_cpim: bool,
    /// Refuse text holding XML-forbidden characters instead of removing
    /// them. Default `false`.
    pub strict_control_chars: bool,
    /// CPIM `Require` names (case-sensitive, RFC 3862 §3.1) the XMPP side is
    /// known to honour in addition to [`HONOURED_REQUIRE`]. Default empty.
    pub extra_require: Vec<String>,
    /// Chat state for an RFC 3994 `idle`. Default [`ChatState::Paused`]
    /// (after `active` = composing, XEP-0085's "stopped typing"); standards.md
    /// §7.6 reads RFC 7573 §6 as [`ChatState::Active`].
    pub idle_chat_state: ChatState,
    /// `<refresh>` of an outgoing `active` isComposing, seconds; RFC 3994
    /// §3.2 says at least 60. Default 90; values below 60 are raised to 60.
    pub composing_refresh_secs: u32,
}

impl Default for XmppMapPolicy {
    fn default() -> Self {
        XmppMapPolicy {
            xhtml_im: true,
            e2e_fallback_body: None,
            wrap_cpim: false,
            strict_control_chars: false,
            extra_require: Vec::new(),
            idle_chat_state: ChatState::Paused,
            composing_refresh_secs: 90,
        }
    }
}

/// CPIM `Require` names the gateway always honours towards XMPP: the
/// addresses become the stanza's `from`/`to`, the subject `<subject/>`
/// (RFC 3922 §4.2.1, §4.2.2, §4.2.5).
pub const HONOURED_REQUIRE: &[&str] = &["From", "To", "Subject"];

/// Why content cannot be mapped. Each variant's wire answer (SIP status with
/// Warning/Accept, or XMPP condition) is chosen in
/// [`super::xmpp_errors::status_for`] and
/// [`super::xmpp_errors::stanza_error_for`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// A content type XMPP cannot carry (RFC 7572 §7) → 415 + Accept.
    #[error("content type {0:?} cannot be carried to xmpp")]
    UnsupportedType(String),
    /// A text charset other than UTF-8, US-ASCII or ISO-8859-1
    /// (RFC 3922 §4.2.9) → 415.
    #[error("charset {0:?} cannot be mapped to xmpp")]
    UnsupportedCharset(String),
    /// A Content-Transfer-Encoding on text that is not identity
    /// (7bit/8bit/binary) → 415.
    #[error("content-transfer-encoding {0:?} on text is not supported")]
    UnsupportedTransferEncoding(String),
    /// Text that is not valid in its declared charset → 400.
    #[error("{field} is not valid {charset}")]
    InvalidText {
        /// `"body"`, `"subject"`, `"cpim subject"`.
        field: &'static str,
        /// The charset it claimed.
        charset: String,
    },
    /// An XML-forbidden character in text, with
    /// [`XmppMapPolicy::strict_control_chars`] → 400.
    #[error("{field} holds control character U+{code:04X}")]
    ControlCharacter {
        /// Which text.
        field: &'static str,
        /// The code point.
        code: u32,
    },
    /// A CPIM `Require` naming headers or features the XMPP side cannot
    /// honour (RFC 3922 §4.2.7, RFC 3862 §4.7) → 415 + Warning 399.
    #[error("cpim require not supported: {}", .0.join(", "))]
    UnsatisfiableRequire(Vec<String>),
    /// A `message/cpim` body that does not parse (RFC 3862) → 400.
    #[error("invalid message/cpim: {0}")]
    InvalidCpim(#[source] cpim::ParseError),
    /// `message/cpim` nested deeper than [`MAX_CPIM_NESTING`] → 415.
    #[error("message/cpim nested more than {MAX_CPIM_NESTING} deep")]
    NestingTooDeep,
    /// Signed or encrypted content that XML cannot carry unchanged
    /// (standards.md §10.5, conflict C9) → 415 + Accept.
    #[error("content cannot be carried in xmpp e2e: {0}")]
    NotXmlRepresentable(NotRepresentable),
    /// An `<e2e/>` payload that is not a MIME entity with a Content-Type
    /// (RFC 3923 §3) → XMPP `<bad-request/>`.
    #[error("e2e payload is not a mime entity: {0}")]
    InvalidE2e(&'static str),
    /// An `application/im-iscomposing+xml` document that cannot be read
    /// (RFC 3994 §5) → 400.
    #[error("invalid iscomposing document: {0}")]
    InvalidIsComposing(&'static str),
    /// The SIP request would exceed the RFC 3428 §8 limit → XMPP
    /// `<policy-violation/>` (RFC 7572 §6).
    #[error("sip request of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Encoded request size.
        size: usize,
        /// The limit applied.
        limit: usize,
    },
    /// The gateway could not build its own `message/cpim` wrapper → 500 /
    /// `<internal-server-error/>`.
    #[error("cannot build message/cpim: {0}")]
    Build(#[source] cpim::BuildError),
}

/// Deepest `message/cpim` inside `message/cpim` that is unwrapped
/// (RFC 3862 §6 allows envelopes in envelopes; house style B.11 caps it).
pub const MAX_CPIM_NESTING: usize = 4;

/// RFC 3428 §8 / RFC 7572 §6: refuses a SIP MESSAGE whose encoded size
/// (request line, headers and body) exceeds `limit` (normally
/// [`SIP_MESSAGE_SIZE_LIMIT`]). The caller answers the XMPP sender with
/// `<policy-violation/>` and sends nothing.
pub fn sip_size_check(encoded_request_len: usize, limit: usize) -> Result<(), MapError> {
    if encoded_request_len > limit {
        Err(MapError::TooLarge {
            size: encoded_request_len,
            limit,
        })
    } else {
        Ok(())
    }
}

//! Stream-level errors: what the framer refuses ([`StreamError`]) and the
//! RFC 6120 §4.9.3 stream error conditions ([`StreamCondition`]) a peer
//! sends in `<stream:error>` or that we answer with.

use std::fmt;

/// Restricted XML that RFC 6120 §11.1 forbids on an XMPP stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Restricted {
    /// `<!-- … -->`.
    Comment,
    /// `<!DOCTYPE …>` or any other markup declaration.
    Dtd,
    /// An entity reference other than `lt gt amp apos quot` and numeric
    /// character references.
    EntityReference,
    /// `<? … ?>` other than the XML declaration at the start of the stream.
    ProcessingInstruction,
}

impl fmt::Display for Restricted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Comment => "comment",
            Self::Dtd => "document type declaration",
            Self::EntityReference => "entity reference",
            Self::ProcessingInstruction => "processing instruction",
        })
    }
}

/// Why the stream framer refused input. Offsets count bytes from the start
/// of the stream. See [`StreamError::is_fatal`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A stanza (or the stream header) is larger than
    /// [`StreamLimits::max_stanza_bytes`](super::StreamLimits).
    #[error("stanza larger than {max} bytes")]
    StanzaTooLarge {
        /// The limit.
        max: usize,
    },
    /// Elements nest deeper than `max_depth`.
    #[error("elements nested deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A stanza holds more than `max_elements` elements.
    #[error("more than {max} elements in one stanza")]
    TooManyElements {
        /// The limit.
        max: usize,
    },
    /// An element has more than `max_attributes` attributes.
    #[error("more than {max} attributes on <{element}>")]
    TooManyAttributes {
        /// The limit.
        max: usize,
        /// The element's local name.
        element: String,
    },
    /// RFC 6120 §11.1 restricted XML (answered with `<restricted-xml/>`).
    #[error("restricted xml at byte {offset}: {what}")]
    RestrictedXml {
        /// What was found.
        what: Restricted,
        /// Where.
        offset: u64,
    },
    /// The stream is not well-formed at the framing level.
    #[error("stream not well-formed at byte {offset}: {what}")]
    NotWellFormed {
        /// Where.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// The stream header is not an acceptable `<stream:stream>` (RFC 6120 §4.7).
    #[error("bad stream header: {what}")]
    BadHeader {
        /// What is wrong.
        what: &'static str,
    },
    /// A framed stanza is not well-formed inside (the stream goes on).
    #[error("stanza not well-formed at byte {offset}: {what}")]
    BadStanza {
        /// Where.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// quick-xml refused a framed stanza (the stream goes on).
    #[error("xml syntax error at byte {offset}")]
    Xml {
        /// Where (approximate: the reader position).
        offset: u64,
        /// The reader's error.
        #[source]
        source: quick_xml::Error,
    },
    /// A framed stanza is not UTF-8 (RFC 6120 §11.6; the stream goes on).
    #[error("invalid utf-8 at byte {offset}")]
    InvalidUtf8 {
        /// Where.
        offset: u64,
    },
    /// A namespace prefix is not declared (the stream goes on).
    #[error("undeclared namespace prefix {prefix:?} at byte {offset}")]
    UnboundPrefix {
        /// The prefix.
        prefix: String,
        /// Where.
        offset: u64,
    },
    /// The framer failed before; a new stream needs a new framer.
    #[error("stream already failed")]
    Poisoned,
}

impl StreamError {
    /// Whether the stream cannot go on. Non-fatal errors concern one framed
    /// stanza that was skipped; the next one parses normally.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Self::BadStanza { .. }
                | Self::Xml { .. }
                | Self::InvalidUtf8 { .. }
                | Self::UnboundPrefix { .. }
                | Self::TooManyAttributes { .. }
        )
    }

    /// The RFC 6120 §4.9.3 condition to answer a fatal error with.
    pub fn condition(&self) -> StreamCondition {
        match self {
            Self::StanzaTooLarge { .. }
            | Self::TooDeep { .. }
            | Self::TooManyElements { .. }
            | Self::TooManyAttributes { .. } => StreamCondition::PolicyViolation,
            Self::RestrictedXml { .. } => StreamCondition::RestrictedXml,
            Self::BadHeader { .. } => StreamCondition::InvalidNamespace,
            Self::UnboundPrefix { .. } => StreamCondition::BadNamespacePrefix,
            Self::InvalidUtf8 { .. } => StreamCondition::UnsupportedEncoding,
            Self::NotWellFormed { .. }
            | Self::BadStanza { .. }
            | Self::Xml { .. }
            | Self::Poisoned => StreamCondition::NotWellFormed,
        }
    }
}

macro_rules! conditions {
    ($($(#[$doc:meta])* $v:ident = $s:literal,)*) => {
        /// Stream error conditions, RFC 6120 §4.9.3 (namespace
        /// `urn:ietf:params:xml:ns:xmpp-streams`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum StreamCondition {
            $($(#[$doc])* $v,)*
        }
        impl StreamCondition {
            /// Every condition, in RFC order.
            pub const ALL: &'static [Self] = &[$(Self::$v,)*];
            /// The element name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s,)* }
            }
            /// The condition named `name`, if defined.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}

conditions! {
    /// §4.9.3.1.
    BadFormat = "bad-format",
    /// §4.9.3.2.
    BadNamespacePrefix = "bad-namespace-prefix",
    /// §4.9.3.3.
    Conflict = "conflict",
    /// §4.9.3.4.
    ConnectionTimeout = "connection-timeout",
    /// §4.9.3.5.
    HostGone = "host-gone",
    /// §4.9.3.6.
    HostUnknown = "host-unknown",
    /// §4.9.3.7.
    ImproperAddressing = "improper-addressing",
    /// §4.9.3.8.
    InternalServerError = "internal-server-error",
    /// §4.9.3.9.
    InvalidFrom = "invalid-from",
    /// §4.9.3.10.
    InvalidNamespace = "invalid-namespace",
    /// §4.9.3.11.
    InvalidXml = "invalid-xml",
    /// §4.9.3.12 (also XEP-0114 §3 for a wrong handshake).
    NotAuthorized = "not-authorized",
    /// §4.9.3.13.
    NotWellFormed = "not-well-formed",
    /// §4.9.3.14.
    PolicyViolation = "policy-violation",
    /// §4.9.3.15.
    RemoteConnectionFailed = "remote-connection-failed",
    /// §4.9.3.16.
    Reset = "reset",
    /// §4.9.3.17.
    ResourceConstraint = "resource-constraint",
    /// §4.9.3.18.
    RestrictedXml = "restricted-xml",
    /// §4.9.3.19.
    SeeOtherHost = "see-other-host",
    /// §4.9.3.20.
    SystemShutdown = "system-shutdown",
    /// §4.9.3.21.
    UndefinedCondition = "undefined-condition",
    /// §4.9.3.22.
    UnsupportedEncoding = "unsupported-encoding",
    /// §4.9.3.23.
    UnsupportedFeature = "unsupported-feature",
    /// §4.9.3.24.
    UnsupportedStanzaType = "unsupported-stanza-type",
    /// §4.9.3.25.
    UnsupportedVersion = "unsupported-version",
}

impl fmt::Display for StreamCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! Mapping between wire protocols and the abstract CPIM operations
//! (RFC 3860 §3). Each binding translates its own protocol to
//! [`crate::cpim::Message`] and back; nothing here looks at two wire formats at
//! once, and every status decision lives in [`status`].
//!
//! - [`sip`]: SIP MESSAGE ⇄ CPIM `message` (RFC 3428, RFC 3860 §3.3).
//! - [`status`]: status tables (`mappings/`), error → status.
//! - [`xmpp`]: XMPP message content ⇄ SIP/CPIM (RFC 7572, RFC 3922 §4,
//!   RFC 3923 §8, RFC 3994). Not wired into the gateway yet.
//! - [`xmpp_errors`]: RFC 7247 §7 tables, `mappings/errors.toml`.

pub mod address;
pub mod sip;
pub mod status;
pub mod xmpp;
pub mod xmpp_errors;

/// Why a native request cannot become a CPIM operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranslateError {
    /// Max-Forwards reached zero (RFC 3261 §16.3, RFC 3860 §3.4.2).
    #[error("max-forwards exhausted")]
    TooManyHops,
    /// A URI scheme the binding cannot serve.
    #[error("unsupported uri scheme {0}")]
    UnsupportedScheme(String),
    /// A `sips:` destination, which needs TLS (not enabled).
    #[error("sips uri requires a tls transport, which is not enabled")]
    SipsWithoutTls,
    /// The address has no user part, so it names no IM inbox.
    #[error("{0} has no user part")]
    NoUser(&'static str),
    /// A body without Content-Type (RFC 3261 §20.15).
    #[error("body without content-type")]
    MissingContentType,
    /// The address cannot be expressed as an `im:` URI.
    #[error("{field} is not a valid im address: {reason}")]
    BadAddress {
        /// Which header.
        field: &'static str,
        /// The URI error.
        reason: String,
    },
}

//! PIDF / RPID documents (RFC 3863, RFC 4479, RFC 4480, RFC 8048 `<show/>`):
//! parse with a namespace-aware reader, build strictly, keep unknown
//! extensions. The show / RPID activity / basic table lives in
//! `mappings/presence.toml` ([`mapping`]).
//!
//! Never imports `sip`, `xmpp` or `io` (architecture §3).

pub mod mapping;
pub mod model;

pub use model::{Activity, Basic, Contact, Document, Extension, Note, Person, Show, Tuple};

/// The PIDF media type (RFC 3863 §7).
pub const MEDIA_TYPE: &str = "application/pidf+xml";
/// The PIDF namespace (standards.md C7: without a trailing colon).
pub const NS_PIDF: &str = "urn:ietf:params:xml:ns:pidf";

/// Why a document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PidfError {
    /// Not implemented yet (placeholder while the parser is written).
    #[error("PIDF support is not built yet")]
    Unimplemented,
}

/// Parses a PIDF document.
///
/// # Errors
/// [`PidfError`] when the bytes are not an acceptable PIDF document.
pub fn parse(_bytes: &[u8]) -> Result<Document, PidfError> {
    Err(PidfError::Unimplemented)
}

/// Writes a document. Refuses a document with zero tuples (RFC 3922
/// §6.3.2: a gateway never generates one).
///
/// # Errors
/// [`PidfError`] when the document cannot be written.
pub fn build(_doc: &Document) -> Result<Vec<u8>, PidfError> {
    Err(PidfError::Unimplemented)
}

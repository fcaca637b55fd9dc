//! PIDF / RPID documents (RFC 3863, RFC 4479, RFC 4480, RFC 7248 / RFC 8048
//! `<show/>`): parse with a namespace-aware reader, build strictly, keep
//! unknown extensions. The show / RPID activity / basic table lives in
//! `mappings/presence.toml` ([`mapping`]).
//!
//! Layout: `tree.rs` reads bytes into a resolved element tree (XML safety
//! rules and limits), `parse.rs` interprets it as a [`Document`],
//! `extension.rs` keeps unknown elements and applies `mustUnderstand`,
//! `write.rs` escapes and writes canonical fragments, `build.rs` is the
//! strict writer, `names.rs` holds namespaces and value names, `error.rs`
//! the [`PidfError`]s.
//!
//! Contract: `parse` never panics; for every document `build` accepts,
//! `parse(build(doc)) == Ok(doc)`, except that an extension marked
//! `must_understand` makes the reader refuse the document (RFC 3863
//! §4.3.1). Extensions compare equal because their `xml` is kept in one
//! canonical form (see [`Extension::from_xml`]).
//!
//! Never imports `sip`, `xmpp` or `io` (architecture §3).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod build;
mod error;
mod extension;
pub mod mapping;
pub mod model;
mod names;
mod parse;
mod tree;
mod write;

#[cfg(test)]
mod tests;

pub use error::PidfError;
pub use mapping::{ActivityRow, PresenceTable, TableError, TupleStatus, XmppRow, XmppStatus};
pub use model::{Activity, Basic, Contact, Document, Extension, Note, Person, Show, Tuple};
pub use names::{NS_DATA_MODEL, NS_JABBER_CLIENT, NS_PIDF, NS_PIDF_TOLERATED, NS_RPID, NS_XML};

/// The PIDF media type (RFC 3863 §7).
pub const MEDIA_TYPE: &str = "application/pidf+xml";

/// The largest document [`parse`] reads: 64 KiB. Presence documents are a
/// few hundred bytes to a few KiB; RFC 3863 sets no limit (house style
/// B.11: every resource has a cap).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// The deepest element nesting [`parse`] reads (`<presence>` is depth 1).
/// PIDF with RPID needs about 5; the rest is room for extensions.
pub const MAX_DEPTH: usize = 32;

/// The most tuples [`parse`] reads. Each tuple is one XMPP resource on the
/// other side (RFC 3922 §5.2).
pub const MAX_TUPLES: usize = 256;

/// Parses a PIDF document: UTF-8 (a byte order mark is skipped), no DTD,
/// at most [`MAX_DOCUMENT_BYTES`], [`MAX_DEPTH`] and [`MAX_TUPLES`]. A
/// document without tuples is accepted (RFC 3863 §4.1.1 allows it).
///
/// # Errors
/// [`PidfError`] when the bytes are not an acceptable PIDF document.
pub fn parse(bytes: &[u8]) -> Result<Document, PidfError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(PidfError::TooLarge {
            len: bytes.len(),
            max: MAX_DOCUMENT_BYTES,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| PidfError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let root = tree::read(text, tree::Input::Document, MAX_DEPTH)?;
    parse::document(&root, MAX_TUPLES)
}

/// Writes a document. Refuses a document with zero tuples (RFC 3922
/// §6.3.2: a gateway never generates one), and anything else that would
/// not read back as the same document (see `build.rs`).
///
/// # Errors
/// [`PidfError`] when the document cannot be written.
pub fn build(doc: &Document) -> Result<Vec<u8>, PidfError> {
    build::document(doc)
}

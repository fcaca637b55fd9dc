//! The CPIM pivot: abstract operations, `im:`/`pres:` URIs and the
//! `message/cpim` format (RFC 3860, RFC 3859, RFC 3862).
//!
//! Every gateway path goes through these types: a binding turns a native
//! request into a [`Message`] (RFC 3860 §3.3) and a native answer into a
//! [`Response`] (§3.4.1); addresses are [`ImUri`]/[`PresUri`]
//! (RFC 3860/3859 Appendix A). `message/cpim` bodies are read through
//! [`CpimMessage`], a view that never changes the bytes (RFC 3862 §6), and
//! written by [`CpimBuilder`], a strict generator.
//!
//! This module is a leaf: it imports nothing from the rest of the crate and
//! does no IO. It does not resolve URIs (RFC 3861), verify S/MIME, or decode
//! content.
//!
//! Files: `op.rs` (operations), `uri.rs` (URIs), `message.rs` (parser),
//! `header.rs` (header lines, values, escapes), `datetime.rs` (RFC 3339),
//! `builder.rs` (generator), `error.rs` (errors).

mod builder;
mod datetime;
mod error;
mod header;
mod message;
mod op;
mod uri;

pub use builder::{CORE_NAMESPACE, CpimBuilder};
pub use datetime::DateTime;
pub use error::{BuildError, ParseError, ParseErrorKind};
pub use header::{CpimHeader, NameAddr, unescape};
pub use message::{CpimLimits, CpimMessage};
pub use op::{
    Content, MAX_TRANS_ID_LEN, Message, NativeDetail, Response, Status, TransId, TransIdError,
};
pub use uri::{ImUri, MAX_URI_LEN, PresUri, UriError};

#[cfg(test)]
mod tests;

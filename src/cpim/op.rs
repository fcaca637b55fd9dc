//! The abstract CPIM instant-messaging operations (RFC 3860 §3, with the
//! identifier rules shared by RFC 3859 §3).
//!
//! Owns the `message` and `response` operation values ([`Message`],
//! [`Response`]), their [`Status`] (three values, RFC 3860 §3.4.1) with the
//! gateway's [`NativeDetail`] (standards.md conflict C14), the opaque
//! [`TransId`] (at most 40 bytes, RFC 3860 §3.1) and the [`Content`] carried
//! byte for byte (RFC 3860 §3.3). Nothing here touches a wire format: the
//! bindings in `translate` map these to and from SIP and XMPP.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;

use bytes::Bytes;

use super::uri::ImUri;

/// Longest TransID a gateway must handle (RFC 3860 §3.1, RFC 3859 §3.1).
pub const MAX_TRANS_ID_LEN: usize = 40;

/// An opaque transaction identifier correlating a `message` with its
/// `response` (RFC 3860 §3.1, §3.4.1: the response copies it exactly).
///
/// Always 1..=40 bytes of visible ASCII (`%x21-7E`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransId(String);

/// Why a string is not a [`TransId`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransIdError {
    /// Empty.
    #[error("transaction id is empty")]
    Empty,
    /// Longer than [`MAX_TRANS_ID_LEN`] bytes.
    #[error("transaction id is {0} bytes, more than 40")]
    TooLong(usize),
    /// Contains a byte outside visible ASCII.
    #[error("transaction id contains a byte that is not visible ascii")]
    NotVisibleAscii,
}

impl TransId {
    /// Checks and wraps `s` (1..=40 bytes of visible ASCII).
    pub fn new(s: &str) -> Result<TransId, TransIdError> {
        if s.is_empty() {
            return Err(TransIdError::Empty);
        }
        if s.len() > MAX_TRANS_ID_LEN {
            return Err(TransIdError::TooLong(s.len()));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TransIdError::NotVisibleAscii);
        }
        Ok(TransId(s.to_owned()))
    }

    /// Derives a TransID from a native identifier (SIP Via branch, Call-ID,
    /// XMPP stanza `id`).
    ///
    /// A native id that is already 1..=40 bytes of visible ASCII is used as
    /// is. Anything else (too long, empty, spaces, non-ASCII) becomes a
    /// stable 40-hex-digit digest: three FNV-1a 64 passes with different
    /// offset bases, the later passes also seeded with the earlier result
    /// (160 bits in all). The digest is not cryptographic; it only has to be
    /// deterministic and spread well (standards.md §2.1 [GW]).
    pub fn from_native(native: &str) -> TransId {
        match TransId::new(native) {
            Ok(id) => id,
            Err(_) => TransId(digest_hex(native.as_bytes())),
        }
    }

    /// The identifier as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TransId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outcome of a `message` operation (RFC 3860 §3.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Delivered by this service.
    Success,
    /// Not delivered: bad address, unresolvable, refused, undeliverable, or
    /// MaxForwards exhausted.
    Failure,
    /// Handed to another system; no authoritative result will follow. The
    /// RFC spells the wire value `indeterminant`.
    Indeterminate,
}

impl Status {
    /// The RFC 3860 §3.4.1 spelling: `success`, `failure`, `indeterminant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failure => "failure",
            Status::Indeterminate => "indeterminant",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The native result behind a [`Status`], kept for fidelity when a binding
/// translates a response back (standards.md conflict C14 [GW]). RFC 3860
/// itself only has the three status values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NativeDetail {
    /// A SIP final status code as received (RFC 3261 §21), e.g. `Sip(404)`.
    Sip(u16),
    /// An XMPP stanza error defined-condition element name as received
    /// (RFC 6120 §8.3.3), e.g. `Xmpp("item-not-found".into())`.
    Xmpp(String),
    /// No answer within the transaction time limit (SIP Timer F, or the
    /// gateway's own XMPP wait).
    Timeout,
}

/// The CPIM `response` operation (RFC 3860 §3.4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Copied exactly from the `message` being answered.
    pub trans_id: TransId,
    /// The abstract outcome.
    pub status: Status,
    /// The native code behind it, when there is one.
    pub detail: Option<NativeDetail>,
}

/// Message content carried without modification (RFC 3860 §3.3, §3.4: a
/// gateway relays it without inspecting it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    /// The Content-Type header value, verbatim (empty when the carrier had
    /// no body and no type).
    pub content_type: String,
    /// Other content headers (Content-Disposition, Content-Transfer-Encoding,
    /// Content-ID, Content-Language, ...) as `(name as written, value as
    /// written)`, in their original order.
    pub headers: Vec<(String, String)>,
    /// The body bytes, untouched.
    pub body: Bytes,
}

/// The CPIM `message` operation (RFC 3860 §3.1, §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sender's INSTANT INBOX.
    pub source: ImUri,
    /// The recipient's INSTANT INBOX.
    pub destination: ImUri,
    /// Remaining hop count (RFC 3860 §3.4.2); 0 on arrival means discard and
    /// answer [`Status::Failure`].
    pub max_forwards: u32,
    /// Correlates the [`Response`].
    pub trans_id: TransId,
    /// The instant message itself.
    pub content: Content,
}

/// 160-bit FNV-1a based digest as 40 lowercase hex digits.
fn digest_hex(data: &[u8]) -> String {
    const BASES: [u64; 3] = [
        0xcbf2_9ce4_8422_2325,
        0x6c62_272e_07bb_0142,
        0x8422_2325_cbf2_9ce4,
    ];
    let h1 = fnv1a64(BASES[0], data);
    let h2 = fnv1a64(BASES[1] ^ h1.rotate_left(17), data);
    let h3 = fnv1a64(BASES[2] ^ h2.rotate_left(31) ^ (data.len() as u64), data);
    format!("{h1:016x}{h2:016x}{:08x}", h3 >> 32)
}

fn fnv1a64(basis: u64, data: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    data.iter()
        .fold(basis, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

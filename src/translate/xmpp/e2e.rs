//! Signed and encrypted content through XMPP `<e2e/>` (RFC 3923 §8,
//! standards.md §10.4–10.5, conflict C9).
//!
//! SIP → XMPP: the MIME entity is `Content-Type: <verbatim SIP value>` CRLF,
//! the other MIME content headers as received (Content-Disposition,
//! Content-Transfer-Encoding, Content-ID, Content-Description), CRLF, and
//! the body bytes. Nothing is re-encoded. The entity is refused
//! ([`NotRepresentable`]) unless XML can carry it *and* give it back: valid
//! UTF-8, no character XML 1.0 forbids, every line end CRLF (XML turns CRLF
//! and lone CR into LF, and the way back restores CRLF only), no
//! `Content-Transfer-Encoding: binary` on the entity or on any part of a
//! multipart, and no SIP `Content-Encoding`. One LF of formatting is
//! appended, so the entity's own last line end survives the receiver's trim.
//!
//! XMPP → SIP: the character data with one leading and one trailing LF (or
//! CRLF) of formatting removed, every bare LF turned into CRLF, split at the
//! first empty line: the headers (unfolded) go to SIP, the rest is the body,
//! byte for byte.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;

use bytes::Bytes;

use super::MapError;
use super::mime::{MediaType, parse_header_block};
use crate::cpim::Content;

/// Why an entity cannot travel in `<e2e/>` unchanged (standards.md §10.5).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotRepresentable {
    /// Bytes that are not UTF-8 (XMPP streams are UTF-8 only), at this
    /// offset of the entity.
    InvalidUtf8 {
        /// Byte offset.
        offset: usize,
    },
    /// A character XML 1.0 §2.2 forbids, even in CDATA.
    ForbiddenChar {
        /// Byte offset.
        offset: usize,
        /// The code point.
        code: u32,
    },
    /// A CR not followed by LF, or an LF not preceded by CR: XML end-of-line
    /// handling would lose it.
    BareLineEnd {
        /// Byte offset.
        offset: usize,
    },
    /// `Content-Transfer-Encoding: binary` on the entity or one of its parts.
    BinaryTransferEncoding,
    /// A SIP `Content-Encoding` (RFC 3261 §20.12) other than identity.
    ContentEncoding(String),
}

impl fmt::Display for NotRepresentable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotRepresentable::InvalidUtf8 { offset } => {
                write!(f, "not utf-8 at byte {offset}")
            }
            NotRepresentable::ForbiddenChar { offset, code } => {
                write!(
                    f,
                    "character U+{code:04X} at byte {offset} is not allowed in xml"
                )
            }
            NotRepresentable::BareLineEnd { offset } => {
                write!(f, "bare CR or LF at byte {offset} would not survive xml")
            }
            NotRepresentable::BinaryTransferEncoding => {
                f.write_str("binary content-transfer-encoding")
            }
            NotRepresentable::ContentEncoding(c) => write!(f, "content-encoding {c}"),
        }
    }
}

/// Media types carried in `<e2e/>` (RFC 3923 §3, RFC 1847, RFC 8551).
pub(super) fn is_e2e_type(mt: &MediaType) -> bool {
    matches!(
        mt.essence.as_str(),
        "multipart/signed"
            | "multipart/encrypted"
            | "application/pkcs7-mime"
            | "application/x-pkcs7-mime"
            | "application/pkcs7-signature"
            | "application/x-pkcs7-signature"
    )
}

/// MIME headers of the content that belong to the entity.
fn is_entity_header(name: &str) -> bool {
    [
        "Content-Disposition",
        "Content-Transfer-Encoding",
        "Content-ID",
        "Content-Description",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(name))
}

/// Builds the `<e2e/>` character data for `content` (see the module docs).
pub(super) fn to_e2e(content: &Content, mt: &MediaType) -> Result<String, MapError> {
    let refuse = |r| Err(MapError::NotXmlRepresentable(r));
    for (n, v) in &content.headers {
        if n.eq_ignore_ascii_case("Content-Encoding") && !v.trim().eq_ignore_ascii_case("identity")
        {
            return refuse(NotRepresentable::ContentEncoding(v.clone()));
        }
        if n.eq_ignore_ascii_case("Content-Transfer-Encoding")
            && v.trim().eq_ignore_ascii_case("binary")
        {
            return refuse(NotRepresentable::BinaryTransferEncoding);
        }
    }
    let mut entity = Vec::with_capacity(content.body.len().saturating_add(256));
    entity.extend_from_slice(b"Content-Type: ");
    entity.extend_from_slice(content.content_type.as_bytes());
    entity.extend_from_slice(b"\r\n");
    for (n, v) in content.headers.iter().filter(|(n, _)| is_entity_header(n)) {
        entity.extend_from_slice(n.as_bytes());
        entity.extend_from_slice(b": ");
        entity.extend_from_slice(v.as_bytes());
        entity.extend_from_slice(b"\r\n");
    }
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&content.body);
    let text = check_representable(&entity).map_err(MapError::NotXmlRepresentable)?;
    if declares_binary_part(mt, text_body(text), 0) {
        return refuse(NotRepresentable::BinaryTransferEncoding);
    }
    let mut out = String::with_capacity(text.len().saturating_add(1));
    out.push_str(text);
    out.push('\n');
    Ok(out)
}

fn text_body(entity: &str) -> &str {
    entity.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Checks standards.md §10.5 and returns the entity as text.
pub(super) fn check_representable(bytes: &[u8]) -> Result<&str, NotRepresentable> {
    let text = std::str::from_utf8(bytes).map_err(|e| NotRepresentable::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut prev_cr = false;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        match c {
            '\r' if !matches!(iter.peek(), Some((_, '\n'))) => {
                return Err(NotRepresentable::BareLineEnd { offset: i });
            }
            '\n' if !prev_cr => return Err(NotRepresentable::BareLineEnd { offset: i }),
            _ if !super::text::is_xml_char(c) => {
                return Err(NotRepresentable::ForbiddenChar {
                    offset: i,
                    code: u32::from(c),
                });
            }
            _ => {}
        }
        prev_cr = c == '\r';
    }
    Ok(text)
}

/// Whether a multipart body (recursively, up to 4 levels) has a part that
/// declares `Content-Transfer-Encoding: binary`.
fn declares_binary_part(mt: &MediaType, body: &str, depth: usize) -> bool {
    if depth > 4 || !mt.essence.starts_with("multipart/") {
        return false;
    }
    let Some(boundary) = mt.param("boundary") else {
        return false;
    };
    let delimiter = format!("--{boundary}");
    let mut parts = body.split("\r\n").peekable();
    let mut in_headers = false;
    let mut headers = String::new();
    let mut part_body = String::new();
    let mut found = false;
    let finish = |headers: &str, part_body: &str| -> bool {
        let Some(hs) = parse_header_block(headers) else {
            return false;
        };
        let binary = hs.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Content-Transfer-Encoding") && v.eq_ignore_ascii_case("binary")
        });
        let nested = hs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("Content-Type"))
            .and_then(|(_, v)| MediaType::parse(v))
            .is_some_and(|inner| declares_binary_part(&inner, part_body, depth.saturating_add(1)));
        binary || nested
    };
    let mut started = false;
    while let Some(line) = parts.next() {
        let is_delim = line
            .strip_prefix(delimiter.as_str())
            .is_some_and(|r| r.trim_end_matches([' ', '\t']).is_empty() || r.starts_with("--"));
        if is_delim {
            if started && finish(&headers, &part_body) {
                found = true;
            }
            started = true;
            in_headers = true;
            headers.clear();
            part_body.clear();
            if line
                .get(delimiter.len()..)
                .is_some_and(|r| r.starts_with("--"))
            {
                break;
            }
            continue;
        }
        if !started {
            continue;
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
            } else {
                headers.push_str(line);
                headers.push_str("\r\n");
            }
        } else {
            part_body.push_str(line);
            if parts.peek().is_some() {
                part_body.push_str("\r\n");
            }
        }
    }
    found
}

/// A MIME entity taken out of `<e2e/>`.
#[derive(Debug)]
pub(super) struct Entity {
    pub(super) content_type: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Bytes,
}

/// Reads `<e2e/>` character data back into a SIP Content-Type, content
/// headers and body (see the module docs).
pub(super) fn from_e2e(text: &str) -> Result<Entity, MapError> {
    let t = text
        .strip_prefix("\r\n")
        .or_else(|| text.strip_prefix('\n'))
        .unwrap_or(text);
    let t = t
        .strip_suffix("\r\n")
        .or_else(|| t.strip_suffix('\n'))
        .unwrap_or(t);
    let mut crlf = Vec::with_capacity(t.len().saturating_add(t.len() / 32));
    let mut prev = 0u8;
    for &b in t.as_bytes() {
        if b == b'\n' && prev != b'\r' {
            crlf.push(b'\r');
        }
        crlf.push(b);
        prev = b;
    }
    let split = crlf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(MapError::InvalidE2e("no empty line after the mime headers"))?;
    let head = crlf.get(..split).unwrap_or_default();
    let head = std::str::from_utf8(head).map_err(|_| MapError::InvalidE2e("headers not utf-8"))?;
    let headers = parse_header_block(head).ok_or(MapError::InvalidE2e("malformed mime header"))?;
    let mut content_type = None;
    let mut extra = Vec::new();
    for (n, v) in headers {
        if n.eq_ignore_ascii_case("Content-Type") {
            if content_type.is_some() {
                return Err(MapError::InvalidE2e("two content-type headers"));
            }
            content_type = Some(v);
        } else if is_entity_header(&n) {
            extra.push((n, v));
        }
    }
    let content_type = content_type.ok_or(MapError::InvalidE2e("no content-type header"))?;
    if MediaType::parse(&content_type).is_none() {
        return Err(MapError::InvalidE2e("content-type is not a media type"));
    }
    let body = Bytes::from(crlf).slice(split.saturating_add(4)..);
    Ok(Entity {
        content_type,
        headers: extra,
        body,
    })
}

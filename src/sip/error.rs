//! The SIP parse error: what went wrong ([`ParseErrorKind`]), where (byte
//! offset, line and column in the input) and in which element (`"Via"`,
//! `"Request-URI"`, `"header block"`). It is also the one place that picks
//! the status answering a parse fault (house style rule 16): RFC 3261
//! §21.4.11 (413), §21.4.12 (414), §21.4.13 (416), §21.5.6 (505), else 400
//! (§21.4.1).
//!
//! Errors never carry message text beyond the static element name, so they
//! can be logged without leaking message content.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;

use crate::sip::StatusCode;

/// A fault found while framing or parsing a SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    offset: usize,
    line: u32,
    column: u32,
    element: &'static str,
}

/// The fault, one variant per cause (house style rule 14). Messages are
/// lowercase without a final period.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A Content-Length header is not a valid 1*DIGIT (RFC 3261 §20.14), or
    /// two Content-Length headers disagree.
    #[error("bad content-length")]
    BadContentLength,
    /// A header line is not `name ":" value`, has a non-token name, or
    /// contains a bare CR or LF (RFC 3261 §7.3).
    #[error("bad header line")]
    BadHeaderLine,
    /// A header value does not follow its grammar (RFC 3261 §25.1).
    #[error("bad header value")]
    BadHeaderValue,
    /// The Request-Line method is not a `token` (RFC 3261 §25.1).
    #[error("bad method")]
    BadMethod,
    /// The start line is neither a Request-Line nor a Status-Line
    /// (RFC 3261 §7.1, §7.2).
    #[error("bad start line")]
    BadStartLine,
    /// The Status-Code is not three digits in 100..=699 (RFC 3261 §7.2).
    #[error("bad status code")]
    BadStatusCode,
    /// A URI does not follow RFC 3261 §19.1.1 (or RFC 3966, 3860, 3859).
    #[error("bad uri")]
    BadUri,
    /// A SIP-Version other than `SIP/2.0` (RFC 3261 §7.1; answered 505).
    #[error("unsupported sip version")]
    BadVersion,
    /// Content-Length exceeds the body cap, or a datagram carries more body
    /// than the cap (answered 413).
    #[error("body too large ({len} bytes, max {max})")]
    BodyTooLarge {
        /// The cap ([`Limits::max_body_bytes`](crate::sip::Limits)).
        max: usize,
        /// The declared or present body length.
        len: usize,
    },
    /// The CSeq method differs from the Request-Line method (RFC 3261 §8.1.1.5).
    #[error("cseq method differs from request method")]
    CSeqMethodMismatch,
    /// A header that may occur once (RFC 3261 §7.3.1) occurs twice.
    #[error("duplicate header")]
    DuplicateHeader,
    /// The header block exceeds the cap, or no empty line ends it within it.
    #[error("header block too large (max {max} bytes)")]
    HeaderBlockTooLarge {
        /// The cap ([`Limits::max_header_bytes`](crate::sip::Limits)).
        max: usize,
    },
    /// The header block is not UTF-8 (RFC 3261 §7.3.1: TEXT-UTF8). Bodies
    /// are opaque and never checked.
    #[error("invalid utf-8")]
    InvalidUtf8,
    /// A stream message without Content-Length (RFC 3261 §18.3, §20.14).
    #[error("missing content-length")]
    MissingContentLength,
    /// A mandatory header is absent (RFC 3261 §8.1.1); the element names it.
    #[error("missing header")]
    MissingHeader,
    /// Too many header fields.
    #[error("too many headers (max {max})")]
    TooManyHeaders {
        /// The cap ([`Limits::max_headers`](crate::sip::Limits)).
        max: usize,
    },
    /// Content-Length declares more octets than the message holds
    /// (RFC 3261 §18.3: a stream message is then broken; answered 400).
    #[error("truncated body ({present} of {declared} bytes)")]
    TruncatedBody {
        /// Bytes declared by Content-Length.
        declared: usize,
        /// Bytes actually present.
        present: usize,
    },
    /// A Request-URI with a scheme the gateway does not serve (RFC 3261
    /// §8.2.2.1; answered 416).
    #[error("unsupported uri scheme")]
    UnsupportedUriScheme,
    /// The input ends before the empty line that ends the header block
    /// (RFC 3261 §7).
    #[error("unterminated header block")]
    UnterminatedHeaderBlock,
    /// A URI longer than the cap (answered 414).
    #[error("uri too long (max {max} bytes)")]
    UriTooLong {
        /// The cap ([`Limits::max_uri_len`](crate::sip::Limits)).
        max: usize,
    },
}

impl ParseError {
    /// Builds an error at `offset` of `input`, computing line and column
    /// (both 1-based; the column counts bytes). Only runs on the error path.
    pub(crate) fn at(
        kind: ParseErrorKind,
        input: &[u8],
        offset: usize,
        element: &'static str,
    ) -> ParseError {
        let offset = offset.min(input.len());
        let before = input.get(..offset).unwrap_or_default();
        let line = before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p.saturating_add(1));
        ParseError {
            kind,
            offset,
            line: u32::try_from(line.saturating_add(1)).unwrap_or(u32::MAX),
            column: u32::try_from(offset.saturating_sub(line_start).saturating_add(1))
                .unwrap_or(u32::MAX),
            element,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Byte offset into the input where the fault was found.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// 1-based line of [`offset`](Self::offset).
    pub fn line(&self) -> u32 {
        self.line
    }

    /// 1-based column (in bytes) of [`offset`](Self::offset).
    pub fn column(&self) -> u32 {
        self.column
    }

    /// The element being parsed: a header name in its long form
    /// (`"Via"`, `"CSeq"`), `"Request-Line"`, `"Status-Line"`,
    /// `"Request-URI"`, `"header block"` or `"body"`.
    pub fn element(&self) -> &'static str {
        self.element
    }

    /// Short text for a `Warning: 399 <host> "<text>"` header (RFC 3261
    /// §20.43) naming the fault, e.g. `bad header value in CSeq`. Contains
    /// no double quote, backslash or control character.
    pub fn warning_text(&self) -> String {
        let text = format!("{} in {}", self.kind, self.element);
        text.chars()
            .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
            .collect()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {} in {}",
            self.kind, self.line, self.column, self.element
        )
    }
}

impl std::error::Error for ParseError {}

/// The single mapping from a parse fault to the status that answers it
/// (house style rule 16).
impl From<&ParseError> for StatusCode {
    fn from(e: &ParseError) -> StatusCode {
        match e.kind {
            ParseErrorKind::BodyTooLarge { .. } => StatusCode::REQUEST_ENTITY_TOO_LARGE,
            ParseErrorKind::UriTooLong { .. } => StatusCode::REQUEST_URI_TOO_LONG,
            ParseErrorKind::UnsupportedUriScheme => StatusCode::UNSUPPORTED_URI_SCHEME,
            ParseErrorKind::BadVersion => StatusCode::VERSION_NOT_SUPPORTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_and_display() {
        let input = b"line one\r\nline two\r\n";
        let e = ParseError::at(
            ParseErrorKind::TooManyHeaders { max: 64 },
            input,
            15,
            "header block",
        );
        assert_eq!((e.offset(), e.line(), e.column()), (15, 2, 6));
        assert_eq!(
            e.to_string(),
            "too many headers (max 64) at line 2 column 6 in header block"
        );
        assert_eq!(e.element(), "header block");
        assert_eq!(e.kind(), &ParseErrorKind::TooManyHeaders { max: 64 });
        let e = ParseError::at(ParseErrorKind::BadUri, input, 999, "Request-URI");
        assert_eq!((e.offset(), e.line(), e.column()), (20, 3, 1));
    }

    #[test]
    fn status_mapping() {
        let s = |kind| StatusCode::from(&ParseError::at(kind, b"", 0, "x")).as_u16();
        assert_eq!(s(ParseErrorKind::BodyTooLarge { max: 1, len: 2 }), 413);
        assert_eq!(s(ParseErrorKind::UriTooLong { max: 1 }), 414);
        assert_eq!(s(ParseErrorKind::UnsupportedUriScheme), 416);
        assert_eq!(s(ParseErrorKind::BadVersion), 505);
        assert_eq!(s(ParseErrorKind::MissingContentLength), 400);
        assert_eq!(
            s(ParseErrorKind::TruncatedBody {
                declared: 9,
                present: 1
            }),
            400
        );
        assert_eq!(s(ParseErrorKind::CSeqMethodMismatch), 400);
        assert_eq!(s(ParseErrorKind::HeaderBlockTooLarge { max: 1 }), 400);
    }

    #[test]
    fn warning_text_is_clean() {
        let e = ParseError::at(ParseErrorKind::BadHeaderValue, b"", 0, "CSeq");
        assert_eq!(e.warning_text(), "bad header value in CSeq");
        assert!(!e.warning_text().contains('"'));
    }
}

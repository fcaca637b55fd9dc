//! Parse errors for `message/cpim` (RFC 3862) and the CPIM builder.
//!
//! Owns [`ParseError`] (kind + byte offset + 1-based line/column + the name of
//! the element being parsed, house style C.15), [`ParseErrorKind`] and
//! [`BuildError`]. Positions are computed from the input only when an error is
//! created, so the happy path pays nothing. This file does not parse anything
//! itself.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;

/// What went wrong while parsing a `message/cpim` object (RFC 3862 §3).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input ended before the blank line that closes a header block
    /// (RFC 3862 §2: both header blocks end with an empty line).
    #[error("missing blank line after the header block")]
    MissingBlankLine,
    /// More header lines than [`CpimLimits::max_headers`](super::CpimLimits).
    #[error("too many headers (limit {limit})")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// A header line longer than [`CpimLimits::max_header_line`](super::CpimLimits).
    #[error("header line too long (limit {limit} bytes)")]
    HeaderTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// A header block is not UTF-8 (RFC 3862 §2.2 requires UTF-8).
    #[error("header block is not valid utf-8")]
    InvalidUtf8,
    /// A raw control character inside a header line (RFC 3862 §2.3: controls
    /// must be escaped).
    #[error("raw control character 0x{byte:02x} in header")]
    ControlCharacter {
        /// The offending byte.
        byte: u8,
    },
    /// A line starting with whitespace: folding is not allowed in the CPIM
    /// header block (RFC 3862 §2.2), nor as the first MIME header line.
    #[error("unexpected continuation line")]
    UnexpectedContinuation,
    /// A header line without `:`.
    #[error("missing colon after header name")]
    MissingColon,
    /// A header name that is empty or has a character outside NAMECHAR/`.`
    /// (RFC 3862 §3.6) or, for MIME headers, outside RFC 5322 ftext.
    #[error("invalid header name")]
    InvalidHeaderName,
    /// A malformed `;param=value` list (RFC 3862 §3.3).
    #[error("invalid header parameter")]
    InvalidParameter,
    /// A malformed `[Formal-name] <URI>` value (RFC 3862 §4.1–4.3).
    #[error("invalid name-addr value")]
    InvalidNameAddr,
    /// A malformed `NS: [prefix] <URI>` value (RFC 3862 §4.6).
    #[error("invalid namespace declaration")]
    InvalidNamespace,
    /// A `DateTime` value that is not an RFC 3339 date-time (RFC 3862 §4.4).
    #[error("invalid date-time")]
    InvalidDateTime,
    /// A header that must be present is absent (From, To, Content-Type).
    #[error("missing required header")]
    MissingHeader,
    /// A header that may appear once is repeated (From).
    #[error("header may appear only once")]
    DuplicateHeader,
}

/// A `message/cpim` parse failure with its position (house style C.15).
///
/// `offset` is a byte offset into the parsed input; `line` and `column` are
/// 1-based, the column counted in bytes. `element` names what was being
/// parsed, e.g. `"cpim From"`, `"cpim DateTime"`, `"cpim header block"`,
/// `"mime header block"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    offset: usize,
    line: u32,
    column: u32,
    element: &'static str,
}

impl ParseError {
    /// Builds an error at `offset` of `input`, computing line and column.
    pub(crate) fn at(
        kind: ParseErrorKind,
        input: &[u8],
        offset: usize,
        element: &'static str,
    ) -> Self {
        let offset = offset.min(input.len());
        let before = input.get(..offset).unwrap_or_default();
        let line = before
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            .saturating_add(1);
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p.saturating_add(1));
        let column = offset.saturating_sub(line_start).saturating_add(1);
        ParseError {
            kind,
            offset,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            element,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Byte offset into the input.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// 1-based line number.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// 1-based column, in bytes.
    pub fn column(&self) -> u32 {
        self.column
    }

    /// The element being parsed (e.g. `"cpim DateTime"`).
    pub fn element(&self) -> &'static str {
        self.element
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} at line {}, column {}",
            self.element, self.kind, self.line, self.column
        )
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// Why a [`CpimBuilder`](super::CpimBuilder) refused a value. The builder is
/// strict: it only emits what RFC 3862 §3 allows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A `DateTime` that is not an RFC 3339 date-time (RFC 3862 §4.4).
    #[error("invalid date-time {0:?}")]
    InvalidDateTime(String),
    /// A language tag that is not a token (RFC 3862 §3.3).
    #[error("invalid language tag {0:?}")]
    InvalidLanguage(String),
    /// A namespace prefix that is not a Name (RFC 3862 §3.6).
    #[error("invalid namespace prefix {0:?}")]
    InvalidPrefix(String),
    /// A namespace or URI value that cannot go inside `<...>`.
    #[error("invalid uri {0:?}")]
    InvalidUri(String),
    /// A header name that is not `[prefix "."] Name` (RFC 3862 §3.6), or a
    /// MIME header name that is not RFC 5322 ftext.
    #[error("invalid header name {0:?}")]
    InvalidHeaderName(String),
    /// An extension header that would be read back as a core header
    /// (From, To, cc, DateTime, Subject, NS, Require) or as a MIME header
    /// (`Content-*` without a prefix).
    #[error("header name {0:?} is reserved")]
    ReservedHeaderName(String),
    /// An extension header whose prefix was not declared with
    /// [`CpimBuilder::ns`](super::CpimBuilder::ns) first (RFC 3862 §3.2).
    #[error("namespace prefix {0:?} is not declared")]
    UndeclaredPrefix(String),
    /// A MIME header value (or content type) with CR, LF or another raw
    /// control character; MIME values are not escaped, so they cannot carry
    /// them.
    #[error("invalid mime header value {0:?}")]
    InvalidMimeValue(String),
}

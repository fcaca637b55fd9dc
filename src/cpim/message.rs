//! The `message/cpim` parser: a read-only view over the original bytes
//! (RFC 3862 §2–§4).
//!
//! Owns [`CpimMessage`] and [`CpimLimits`]. A message is split into the CPIM
//! header block, a blank line, the encapsulated MIME header block, a blank
//! line and the content (RFC 3862 §2). Parsing records byte ranges only; the
//! input [`Bytes`] is kept and [`CpimMessage::as_bytes`] returns it untouched,
//! because a gateway must never alter a `message/cpim` object (RFC 3862 §6,
//! §9; standards.md §10.2).
//!
//! Lenient on input (documented per rule):
//! - bare LF line ends, and SP/HT before or after the colon, are accepted;
//! - core header names are matched ignoring ASCII case (the RFC says they are
//!   case-sensitive) and only without a prefix; a default-namespace `NS`
//!   does not change which headers count as core;
//! - unknown headers and namespaces are kept in order;
//! - MIME headers may be folded (RFC 5322 §2.2.3); CPIM headers may not;
//! - a missing blank line between the two header blocks (RFC 7702 §5.5
//!   examples, standards.md C11) is repaired when it is unambiguous: the
//!   first unprefixed `Content-*` line in the CPIM block starts the MIME
//!   block, and [`CpimMessage::separator_missing`] reports it.
//!
//! Checked on input: both blocks end with a blank line and are UTF-8, no raw
//! control characters in header lines, exactly one `From`, at least one
//! `To`, well-formed `From`/`To`/`cc`/`NS`/`DateTime` values, and a MIME
//! `Content-Type` (RFC 3862 §3.1, §4). This file does not generate messages
//! (`builder.rs`) nor decode the content (charset, CTE): it is opaque.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::borrow::Cow;

use bytes::Bytes;

use super::datetime::DateTime;
use super::error::{ParseError, ParseErrorKind};
use super::header::{self, Core, CpimHeader, NameAddr, Span};

/// Resource caps for one `message/cpim` object (house style B.11). RFC 3862
/// §2.2 asks processors not to limit line length; the cap is a deliberate
/// defence, generous enough for real traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpimLimits {
    /// Most header lines per block (CPIM block and MIME block are counted
    /// separately; MIME continuation lines count). Default 64.
    pub max_headers: usize,
    /// Longest header line in bytes, line end excluded. Default 4096.
    pub max_header_line: usize,
}

impl Default for CpimLimits {
    fn default() -> Self {
        CpimLimits {
            max_headers: 64,
            max_header_line: 4096,
        }
    }
}

/// A parsed `message/cpim` object that keeps its original bytes
/// (RFC 3862 §2).
#[derive(Clone, Debug)]
pub struct CpimMessage {
    bytes: Bytes,
    /// CPIM headers, then MIME headers from index `mime_first`.
    spans: Vec<Span>,
    mime_first: usize,
    /// Byte offset of the blank line ending the CPIM block (of the first
    /// MIME line when the blank line is missing).
    cpim_end: usize,
    /// Byte offset of the MIME header block.
    mime_start: usize,
    /// Byte offset of the blank line ending the MIME block.
    mime_end: usize,
    /// Byte offset of the content.
    content_start: usize,
    separator_missing: bool,
}

const CPIM_BLOCK: &str = "cpim header block";
const MIME_BLOCK: &str = "mime header block";

impl CpimMessage {
    /// Parses with [`CpimLimits::default`].
    pub fn parse(bytes: Bytes) -> Result<CpimMessage, ParseError> {
        CpimMessage::parse_with_limits(bytes, &CpimLimits::default())
    }

    /// Parses `bytes` as a `message/cpim` body (starting with the CPIM
    /// headers, as carried by SIP or MSRP; RFC 3862 §2).
    pub fn parse_with_limits(bytes: Bytes, limits: &CpimLimits) -> Result<CpimMessage, ParseError> {
        let buf: &[u8] = &bytes;
        let err = |kind, off, el| ParseError::at(kind, buf, off, el);
        let mut spans = Vec::with_capacity(8);
        let mut pos = 0usize;
        let mut separator_missing = false;
        // CPIM header block (RFC 3862 §3).
        let (cpim_end, mime_start) = loop {
            let (end, next) =
                next_line(buf, pos, limits).map_err(|(k, o)| err(k, o, CPIM_BLOCK))?;
            if end == pos {
                break (pos, next);
            }
            if starts_with_ignore_case(buf.get(pos..end).unwrap_or_default(), b"content-") {
                separator_missing = true;
                break (pos, pos);
            }
            if spans.len() >= limits.max_headers {
                return Err(err(
                    ParseErrorKind::TooManyHeaders {
                        limit: limits.max_headers,
                    },
                    pos,
                    CPIM_BLOCK,
                ));
            }
            spans.push(
                header::scan_cpim_line(buf, pos, end).map_err(|(k, o)| err(k, o, CPIM_BLOCK))?,
            );
            pos = next;
        };
        let mime_first = spans.len();
        pos = mime_start;
        let mut mime_lines = 0usize;
        // Encapsulated MIME header block (RFC 3862 §2, RFC 2045).
        let (mime_end, content_start) = loop {
            let (end, next) =
                next_line(buf, pos, limits).map_err(|(k, o)| err(k, o, MIME_BLOCK))?;
            if end == pos {
                break (pos, next);
            }
            if mime_lines >= limits.max_headers {
                return Err(err(
                    ParseErrorKind::TooManyHeaders {
                        limit: limits.max_headers,
                    },
                    pos,
                    MIME_BLOCK,
                ));
            }
            mime_lines = mime_lines.saturating_add(1);
            let folded = matches!(buf.get(pos), Some(b' ' | b'\t'));
            match spans.get_mut(mime_first..).and_then(|s| s.last_mut()) {
                Some(last) if folded => {
                    let line = buf.get(pos..end).unwrap_or_default();
                    if let Some((i, byte)) = header::find_control(line) {
                        return Err(err(
                            ParseErrorKind::ControlCharacter { byte },
                            pos.saturating_add(i),
                            MIME_BLOCK,
                        ));
                    }
                    let (t0, t1) = header::trim_range(buf, pos, end);
                    if t1 > t0 {
                        if last.value.0 == last.value.1 {
                            last.value.0 = t0;
                        }
                        last.value.1 = t1;
                    }
                }
                _ => spans.push(
                    header::scan_mime_line(buf, pos, end)
                        .map_err(|(k, o)| err(k, o, MIME_BLOCK))?,
                ),
            }
            pos = next;
        };
        if let Err(e) = std::str::from_utf8(buf.get(..content_start).unwrap_or_default()) {
            let at = e.valid_up_to();
            return Err(err(
                ParseErrorKind::InvalidUtf8,
                at,
                if at < mime_start {
                    CPIM_BLOCK
                } else {
                    MIME_BLOCK
                },
            ));
        }
        let msg = CpimMessage {
            bytes,
            spans,
            mime_first,
            cpim_end,
            mime_start,
            mime_end,
            content_start,
            separator_missing,
        };
        msg.check_semantics()?;
        Ok(msg)
    }

    /// The input, exactly as given (RFC 3862 §6: never re-serialised).
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The CPIM message headers in order (RFC 3862 §3).
    pub fn headers(&self) -> impl Iterator<Item = CpimHeader<'_>> {
        let head = self.head();
        self.cpim_spans().iter().map(move |s| view(head, s))
    }

    /// Headers other than the core ones (RFC 3862 §3.2: extension headers,
    /// prefixed or not), in order.
    pub fn extension_headers(&self) -> impl Iterator<Item = CpimHeader<'_>> {
        let head = self.head();
        self.cpim_spans()
            .iter()
            .filter(|s| s.core.is_none())
            .map(move |s| view(head, s))
    }

    /// The `From` header (RFC 3862 §4.1); always present after parsing.
    pub fn from(&self) -> NameAddr<'_> {
        self.name_addrs(Core::From)
            .next()
            .unwrap_or_else(NameAddr::placeholder)
    }

    /// All `To` headers, in order (RFC 3862 §4.2); at least one.
    pub fn to(&self) -> Vec<NameAddr<'_>> {
        self.name_addrs(Core::To).collect()
    }

    /// All `cc` headers, in order (RFC 3862 §4.3).
    pub fn cc(&self) -> Vec<NameAddr<'_>> {
        self.name_addrs(Core::Cc).collect()
    }

    /// The first `DateTime` value as written (RFC 3862 §4.4).
    pub fn date_time(&self) -> Option<&str> {
        self.core_values(Core::DateTime).next().map(|h| h.value)
    }

    /// The first `DateTime` value, parsed (it was checked by the parser).
    pub fn date_time_parsed(&self) -> Option<DateTime> {
        self.date_time().and_then(DateTime::parse)
    }

    /// Every `Subject` as `(lang, unescaped text)` (RFC 3862 §4.5, §3.3).
    pub fn subject(&self) -> Vec<(Option<&str>, Cow<'_, str>)> {
        self.core_values(Core::Subject)
            .map(|h| (h.lang(), h.unescaped_value()))
            .collect()
    }

    /// Every `NS` declaration as `(prefix, namespace URI)`; `None` for a
    /// default-namespace declaration (RFC 3862 §4.6).
    pub fn ns(&self) -> Vec<(Option<&str>, &str)> {
        self.core_values(Core::Ns)
            .filter_map(|h| header::parse_ns(h.value).ok())
            .collect()
    }

    /// The header names listed in every `Require` header, in order
    /// (RFC 3862 §4.7), whitespace around commas ignored.
    pub fn require(&self) -> Vec<&str> {
        self.core_values(Core::Require)
            .flat_map(|h| h.value.split(','))
            .map(|n| n.trim_matches([' ', '\t']))
            .filter(|n| !n.is_empty())
            .collect()
    }

    /// The encapsulated MIME headers as `(name, value)`, raw (a folded value
    /// keeps its line breaks; RFC 2045).
    pub fn content_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let head = self.head();
        let spans = self.spans.get(self.mime_first..).unwrap_or_default();
        spans.iter().map(move |s| {
            (
                slice(head, s.start, s.name_end),
                slice(head, s.value.0, s.value.1),
            )
        })
    }

    /// The first `Content-Type` value of the encapsulated entity, raw.
    pub fn content_type(&self) -> Option<&str> {
        self.content_headers()
            .find(|(n, _)| n.eq_ignore_ascii_case("Content-Type"))
            .map(|(_, v)| v)
    }

    /// The encapsulated content, exactly (a slice of the input).
    pub fn content(&self) -> Bytes {
        self.bytes.slice(self.content_start.min(self.bytes.len())..)
    }

    /// The encapsulated MIME entity: MIME headers, blank line and content,
    /// exactly as received.
    pub fn content_entity(&self) -> Bytes {
        self.bytes.slice(self.mime_start.min(self.bytes.len())..)
    }

    /// Whether the blank line between the CPIM and MIME header blocks was
    /// missing and the parser inferred it (see the module docs).
    pub fn separator_missing(&self) -> bool {
        self.separator_missing
    }

    fn head(&self) -> &str {
        let b = self.bytes.get(..self.content_start).unwrap_or_default();
        std::str::from_utf8(b).unwrap_or_default()
    }

    fn cpim_spans(&self) -> &[Span] {
        self.spans.get(..self.mime_first).unwrap_or_default()
    }

    fn core_values(&self, core: Core) -> impl Iterator<Item = CpimHeader<'_>> {
        let head = self.head();
        self.cpim_spans()
            .iter()
            .filter(move |s| s.core == Some(core))
            .map(move |s| view(head, s))
    }

    fn name_addrs(&self, core: Core) -> impl Iterator<Item = NameAddr<'_>> {
        self.core_values(core)
            .filter_map(|h| header::parse_name_addr(h.value).ok())
    }

    /// RFC 3862 §4 checks on the core headers, with positions.
    fn check_semantics(&self) -> Result<(), ParseError> {
        let buf: &[u8] = &self.bytes;
        let head = self.head();
        let mut froms = 0usize;
        let mut tos = 0usize;
        for h in self.cpim_spans() {
            let value = slice(head, h.value.0, h.value.1);
            let err =
                |kind, at: usize, el| ParseError::at(kind, buf, h.value.0.saturating_add(at), el);
            let element = match h.core {
                Some(Core::From) => "cpim From",
                Some(Core::To) => "cpim To",
                Some(Core::Cc) => "cpim cc",
                Some(Core::DateTime) => {
                    if DateTime::parse(value).is_none() {
                        return Err(err(ParseErrorKind::InvalidDateTime, 0, "cpim DateTime"));
                    }
                    continue;
                }
                Some(Core::Ns) => {
                    if let Err(at) = header::parse_ns(value) {
                        return Err(err(ParseErrorKind::InvalidNamespace, at, "cpim NS"));
                    }
                    continue;
                }
                _ => continue,
            };
            if let Err(at) = header::parse_name_addr(value) {
                return Err(err(ParseErrorKind::InvalidNameAddr, at, element));
            }
            match h.core {
                Some(Core::From) if froms > 0 => {
                    return Err(ParseError::at(
                        ParseErrorKind::DuplicateHeader,
                        buf,
                        h.start,
                        "cpim From",
                    ));
                }
                Some(Core::From) => froms = froms.saturating_add(1),
                Some(Core::To) => tos = tos.saturating_add(1),
                _ => {}
            }
        }
        let end_of_block = self.cpim_end;
        if froms == 0 {
            return Err(ParseError::at(
                ParseErrorKind::MissingHeader,
                buf,
                end_of_block,
                "cpim From",
            ));
        }
        if tos == 0 {
            return Err(ParseError::at(
                ParseErrorKind::MissingHeader,
                buf,
                end_of_block,
                "cpim To",
            ));
        }
        if self.content_type().is_none() {
            return Err(ParseError::at(
                ParseErrorKind::MissingHeader,
                buf,
                self.mime_end,
                "mime Content-Type",
            ));
        }
        Ok(())
    }
}

fn view<'a>(head: &'a str, s: &Span) -> CpimHeader<'a> {
    CpimHeader {
        name: slice(head, s.start, s.name_end),
        params: slice(head, s.params.0, s.params.1),
        value: slice(head, s.value.0, s.value.1),
        offset: s.start,
    }
}

fn slice(head: &str, a: usize, b: usize) -> &str {
    head.get(a..b).unwrap_or_default()
}

fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Finds the line starting at `pos`: returns (end of content without CR/LF,
/// start of the next line). Errors on EOF (no blank line) and on a line
/// longer than the limit, looking at most `max_header_line + 2` bytes ahead.
fn next_line(
    buf: &[u8],
    pos: usize,
    limits: &CpimLimits,
) -> Result<(usize, usize), (ParseErrorKind, usize)> {
    let rest = buf.get(pos..).unwrap_or_default();
    let window = rest
        .get(..limits.max_header_line.saturating_add(2).min(rest.len()))
        .unwrap_or_default();
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        if rest.len() > limits.max_header_line.saturating_add(1) {
            return Err((
                ParseErrorKind::HeaderTooLong {
                    limit: limits.max_header_line,
                },
                pos,
            ));
        }
        return Err((ParseErrorKind::MissingBlankLine, buf.len()));
    };
    let content_len = if lf > 0 && window.get(lf.saturating_sub(1)) == Some(&b'\r') {
        lf.saturating_sub(1)
    } else {
        lf
    };
    if content_len > limits.max_header_line {
        return Err((
            ParseErrorKind::HeaderTooLong {
                limit: limits.max_header_line,
            },
            pos,
        ));
    }
    Ok((
        pos.saturating_add(content_len),
        pos.saturating_add(lf).saturating_add(1),
    ))
}

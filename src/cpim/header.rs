//! Header lines of a `message/cpim` object (RFC 3862 §3) and their values.
//!
//! Owns the line scanners for both header blocks (CPIM headers per RFC 3862
//! §3.1/§3.6, MIME headers per RFC 2045/5322 with folding), the borrowed
//! header view [`CpimHeader`], the `[Formal-name] <URI>` value [`NameAddr`]
//! (RFC 3862 §4.1–4.3), the `NS` value (§4.6), and the §3.4 escape
//! mechanism in both directions. Positions recorded here are byte offsets
//! into the original input; nothing is copied while scanning. It does not
//! split the message into blocks (see `message.rs`) or generate headers (see
//! `builder.rs`).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::borrow::Cow;

use super::error::ParseErrorKind;
use super::uri::{ImUri, UriError};

/// Core headers of the `urn:ietf:params:cpim-headers:` namespace (RFC 3862
/// §4), recognised without a prefix and ignoring ASCII case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Core {
    From,
    To,
    Cc,
    DateTime,
    Subject,
    Ns,
    Require,
}

impl Core {
    pub(crate) fn of(name: &str) -> Option<Core> {
        const TABLE: [(&str, Core); 7] = [
            ("From", Core::From),
            ("To", Core::To),
            ("cc", Core::Cc),
            ("DateTime", Core::DateTime),
            ("Subject", Core::Subject),
            ("NS", Core::Ns),
            ("Require", Core::Require),
        ];
        TABLE
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, c)| c)
    }
}

/// Byte ranges of one header line, relative to the whole input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) name_end: usize,
    /// `;a=b;c=d` right after the colon (empty range when absent).
    pub(crate) params: (usize, usize),
    pub(crate) value: (usize, usize),
    pub(crate) core: Option<Core>,
}

/// One CPIM message header, borrowed from the message (RFC 3862 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpimHeader<'a> {
    pub(crate) name: &'a str,
    pub(crate) params: &'a str,
    pub(crate) value: &'a str,
    pub(crate) offset: usize,
}

impl<'a> CpimHeader<'a> {
    /// The header name exactly as written, prefix included (`MyFeatures.Foo`).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The namespace prefix before the first `.`, if any (RFC 3862 §3.2).
    pub fn prefix(&self) -> Option<&'a str> {
        self.name.split_once('.').map(|(p, _)| p)
    }

    /// The name without its prefix.
    pub fn local_name(&self) -> &'a str {
        self.name.split_once('.').map_or(self.name, |(_, n)| n)
    }

    /// The `;name=value` parameters (RFC 3862 §3.3), values raw (a quoted
    /// value keeps its quotes; a parameter without `=` has an empty value).
    pub fn params(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        let mut rest = self.params;
        std::iter::from_fn(move || {
            let (name, value, next) = split_param(rest.as_bytes(), 0).ok()?;
            let out = (rest.get(name.0..name.1)?, rest.get(value.0..value.1)?);
            rest = rest.get(next..).unwrap_or_default();
            Some(out)
        })
    }

    /// The `;lang=` parameter (RFC 3862 §3.3: `Subject:;lang=fr Bonjour`).
    pub fn lang(&self) -> Option<&'a str> {
        self.params()
            .find(|(n, _)| n.eq_ignore_ascii_case("lang"))
            .map(|(_, v)| v)
    }

    /// The value as written (leading and trailing SP/HT removed).
    pub fn value(&self) -> &'a str {
        self.value
    }

    /// The value with the RFC 3862 §3.4 escapes resolved.
    pub fn unescaped_value(&self) -> Cow<'a, str> {
        unescape(self.value)
    }

    /// Byte offset of the header line in the message.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// A `[Formal-name] <URI>` value of `From`, `To` or `cc` (RFC 3862 §4.1–4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr<'a> {
    display: Option<Cow<'a, str>>,
    uri: &'a str,
    trailing: &'a str,
}

impl<'a> NameAddr<'a> {
    /// The display name, unquoted and unescaped (`MR SANDERS`).
    pub fn display(&self) -> Option<&str> {
        self.display.as_deref()
    }

    /// The URI between `<` and `>`, as written (any scheme).
    pub fn uri(&self) -> &'a str {
        self.uri
    }

    /// The URI as an `im:` URI, when it is one.
    pub fn im_uri(&self) -> Result<ImUri, UriError> {
        ImUri::parse(self.uri)
    }

    /// Parameters written after `>` (RFC 7702 §5.5 style `;gr=...`),
    /// accepted leniently and kept raw (standards.md conflict C11).
    pub fn trailing_params(&self) -> &'a str {
        self.trailing
    }

    /// An empty value; only used to keep accessors total.
    pub(crate) fn placeholder() -> NameAddr<'a> {
        NameAddr {
            display: None,
            uri: "",
            trailing: "",
        }
    }

    pub(crate) fn into_owned_parts(self) -> (Option<String>, String) {
        (self.display.map(Cow::into_owned), self.uri.to_owned())
    }
}

pub(crate) fn is_namechar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, 0x21 | 0x23..=0x27 | 0x2a | 0x2b | 0x2d | 0x5e..=0x60 | 0x7c | 0x7e)
}

/// TOKENCHAR (RFC 3862 §3.6): NAMECHAR, `.`, or any non-ASCII byte.
pub(crate) fn is_tokenchar(b: u8) -> bool {
    is_namechar(b) || b == b'.' || b >= 0x80
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Offset of a raw control character (not HT) in `line`, if any.
pub(crate) fn find_control(line: &[u8]) -> Option<(usize, u8)> {
    line.iter()
        .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        .map(|i| (i, line.get(i).copied().unwrap_or(0)))
}

/// Scans one CPIM header line `buf[start..end]` (end excludes the line end).
/// Errors carry an absolute offset.
pub(crate) fn scan_cpim_line(
    buf: &[u8],
    start: usize,
    end: usize,
) -> Result<Span, (ParseErrorKind, usize)> {
    let line = buf.get(start..end).unwrap_or_default();
    if let Some((i, byte)) = find_control(line) {
        return Err((
            ParseErrorKind::ControlCharacter { byte },
            start.saturating_add(i),
        ));
    }
    if line.first().is_some_and(|&b| is_ws(b)) {
        return Err((ParseErrorKind::UnexpectedContinuation, start));
    }
    let name_len = line
        .iter()
        .position(|&b| !(is_namechar(b) || b == b'.'))
        .unwrap_or(line.len());
    let mut i = name_len;
    while line.get(i).is_some_and(|&b| is_ws(b)) {
        i = i.saturating_add(1);
    }
    match line.get(i) {
        Some(b':') if name_len > 0 => {}
        _ if !line.contains(&b':') => return Err((ParseErrorKind::MissingColon, end)),
        _ => {
            return Err((
                ParseErrorKind::InvalidHeaderName,
                start.saturating_add(if name_len == 0 { 0 } else { i }),
            ));
        }
    }
    i = i.saturating_add(1);
    let params_start = i;
    while line.get(i) == Some(&b';') {
        match split_param(line, i) {
            Ok((_, _, next)) => i = next,
            Err(at) => return Err((ParseErrorKind::InvalidParameter, start.saturating_add(at))),
        }
    }
    let params_end = i;
    if params_end > params_start && line.get(i).is_some_and(|&b| !is_ws(b)) {
        return Err((ParseErrorKind::InvalidParameter, start.saturating_add(i)));
    }
    let (v0, v1) = trim_range(line, i, line.len());
    let name = std::str::from_utf8(line.get(..name_len).unwrap_or_default()).unwrap_or_default();
    let prefixed = name.contains('.');
    Ok(Span {
        start,
        name_end: start.saturating_add(name_len),
        params: (
            start.saturating_add(params_start),
            start.saturating_add(params_end),
        ),
        value: (start.saturating_add(v0), start.saturating_add(v1)),
        core: if prefixed { None } else { Core::of(name) },
    })
}

/// Scans the first line of one MIME header (RFC 5322 §2.2: ftext name,
/// colon); continuation lines are added by the caller.
pub(crate) fn scan_mime_line(
    buf: &[u8],
    start: usize,
    end: usize,
) -> Result<Span, (ParseErrorKind, usize)> {
    let line = buf.get(start..end).unwrap_or_default();
    if let Some((i, byte)) = find_control(line) {
        return Err((
            ParseErrorKind::ControlCharacter { byte },
            start.saturating_add(i),
        ));
    }
    if line.first().is_some_and(|&b| is_ws(b)) {
        return Err((ParseErrorKind::UnexpectedContinuation, start));
    }
    let name_len = line
        .iter()
        .position(|&b| !(0x21..=0x7e).contains(&b) || b == b':')
        .unwrap_or(line.len());
    let mut i = name_len;
    while line.get(i).is_some_and(|&b| is_ws(b)) {
        i = i.saturating_add(1);
    }
    match line.get(i) {
        Some(b':') if name_len > 0 => {}
        _ if !line.contains(&b':') => return Err((ParseErrorKind::MissingColon, end)),
        _ => return Err((ParseErrorKind::InvalidHeaderName, start.saturating_add(i))),
    }
    let (v0, v1) = trim_range(line, i.saturating_add(1), line.len());
    Ok(Span {
        start,
        name_end: start.saturating_add(name_len),
        params: (start, start),
        value: (start.saturating_add(v0), start.saturating_add(v1)),
        core: None,
    })
}

/// Trims SP/HT from both ends of `b[from..to]`, returning the new range.
pub(crate) fn trim_range(b: &[u8], mut from: usize, mut to: usize) -> (usize, usize) {
    while from < to && b.get(from).is_some_and(|&c| is_ws(c)) {
        from = from.saturating_add(1);
    }
    while to > from && b.get(to.saturating_sub(1)).is_some_and(|&c| is_ws(c)) {
        to = to.saturating_sub(1);
    }
    (from, to)
}

/// Splits `;name[=value]` starting at `b[i] == ';'`. Returns the name and
/// value ranges and the index after the parameter, or the error offset.
type ParamSplit = ((usize, usize), (usize, usize), usize);
fn split_param(b: &[u8], i: usize) -> Result<ParamSplit, usize> {
    if b.get(i) != Some(&b';') {
        return Err(i);
    }
    let n0 = i.saturating_add(1);
    let mut j = n0;
    while b.get(j).is_some_and(|&c| is_tokenchar(c)) {
        j = j.saturating_add(1);
    }
    if j == n0 {
        return Err(j);
    }
    let name = (n0, j);
    if b.get(j) != Some(&b'=') {
        return Ok((name, (j, j), j));
    }
    let v0 = j.saturating_add(1);
    let v1 = if b.get(v0) == Some(&b'"') {
        skip_quoted(b, v0).ok_or(v0)?
    } else {
        run(b, v0, |c| c != b';' && !is_ws(c))
    };
    Ok((name, (v0, v1), v1))
}

fn run(b: &[u8], mut i: usize, ok: impl Fn(u8) -> bool) -> usize {
    while b.get(i).is_some_and(|&c| ok(c)) {
        i = i.saturating_add(1);
    }
    i
}

/// Given `b[i] == '"'`, returns the index after the closing quote.
fn skip_quoted(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i.saturating_add(1);
    loop {
        match b.get(j)? {
            b'"' => return Some(j.saturating_add(1)),
            b'\\' => j = j.saturating_add(2),
            _ => j = j.saturating_add(1),
        }
    }
}

/// Parses a `From`/`To`/`cc` value. Lenient: the display name may be any
/// text before `<` (or a quoted String); a value without `<...>` is taken as
/// a bare URI when it has no whitespace and contains `:`; parameters after
/// `>` are kept. Errors give the offset inside `v`.
pub(crate) fn parse_name_addr(v: &str) -> Result<NameAddr<'_>, usize> {
    let b = v.as_bytes();
    let (display, lt) = if b.first() == Some(&b'"') {
        let end = skip_quoted(b, 0).ok_or(0usize)?;
        let inner = v.get(1..end.saturating_sub(1)).unwrap_or_default();
        let lt = run(b, end, is_ws);
        (Some(unescape(inner)), lt)
    } else if let Some(lt) = v.find('<') {
        let name = v
            .get(..lt)
            .unwrap_or_default()
            .trim_end_matches([' ', '\t']);
        ((!name.is_empty()).then(|| unescape(name)), lt)
    } else if !v.is_empty() && v.contains(':') && !b.iter().any(|&c| is_ws(c) || c == b'>') {
        return Ok(NameAddr {
            display: None,
            uri: v,
            trailing: "",
        });
    } else {
        return Err(0);
    };
    if b.get(lt) != Some(&b'<') {
        return Err(lt);
    }
    let u0 = lt.saturating_add(1);
    let u1 = run(b, u0, |c| c != b'>' && c != b'<' && !is_ws(c));
    if b.get(u1) != Some(&b'>') || u1 == u0 {
        return Err(u1);
    }
    let uri = v.get(u0..u1).unwrap_or_default();
    let after = u1.saturating_add(1);
    let t0 = run(b, after, is_ws);
    let trailing = v.get(t0..).unwrap_or_default();
    if !(trailing.is_empty() || trailing.starts_with(';')) {
        return Err(t0);
    }
    Ok(NameAddr {
        display,
        uri,
        trailing,
    })
}

/// Parses an `NS` value `[Name-prefix SP] <URI>` (RFC 3862 §4.6). Errors
/// give the offset inside `v`.
pub(crate) fn parse_ns(v: &str) -> Result<(Option<&str>, &str), usize> {
    let b = v.as_bytes();
    let p1 = run(b, 0, is_namechar);
    let lt = run(b, p1, is_ws);
    if b.get(lt) != Some(&b'<') || (p1 > 0 && lt == p1) {
        return Err(lt);
    }
    let u0 = lt.saturating_add(1);
    let u1 = run(b, u0, |c| c != b'>' && c != b'<' && !is_ws(c));
    if b.get(u1) != Some(&b'>') || u1 == u0 || u1.saturating_add(1) != b.len() {
        return Err(u1);
    }
    let prefix = (p1 > 0).then(|| v.get(..p1).unwrap_or_default());
    Ok((prefix, v.get(u0..u1).unwrap_or_default()))
}

/// Resolves RFC 3862 §3.4 escapes: `\\ \" \' \b \t \n \r \uXXXX` (UTF-16
/// surrogate pairs are combined, a lone surrogate becomes U+FFFD); any other
/// `\x` reads as `x`, and a lone trailing `\` is dropped (§3.4 leniency).
pub fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('b') => out.push('\u{8}'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => match hex4(chars.as_str()) {
                Some(hi) => {
                    chars.nth(3);
                    if (0xd800..0xdc00).contains(&hi) {
                        let rest = chars.as_str();
                        let lo = rest
                            .strip_prefix("\\u")
                            .and_then(hex4)
                            .filter(|lo| (0xdc00..0xe000).contains(lo));
                        if let Some(lo) = lo {
                            chars.nth(5);
                            let cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        } else {
                            out.push('\u{fffd}');
                        }
                    } else {
                        out.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
                    }
                }
                None => out.push('u'),
            },
            Some(other) => out.push(other),
        }
    }
    Cow::Owned(out)
}

fn hex4(s: &str) -> Option<u32> {
    let h = s.get(..4)?;
    if h.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(h, 16).ok()
    } else {
        None
    }
}

/// Writes `s` with RFC 3862 §3.4 escapes: `\\`, `\b`, `\t`, `\n`, `\r`,
/// `\"` when `in_quotes`, and `\uXXXX` for other controls. When `edge_spaces`
/// is set, a leading or trailing space is written `\u0020` so that a reader
/// that trims header values gets it back (a deliberate, lossless use of the
/// `\u` escape).
pub(crate) fn escape_into(out: &mut Vec<u8>, s: &str, in_quotes: bool, edge_spaces: bool) {
    let last = s.len().saturating_sub(1);
    for (i, c) in s.char_indices() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '"' if in_quotes => out.extend_from_slice(b"\\\""),
            ' ' if edge_spaces && (i == 0 || i == last) => out.extend_from_slice(b"\\u0020"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\u{:04X}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

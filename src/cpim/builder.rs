//! The strict `message/cpim` generator (RFC 3862 §2–§4), and the semantic
//! copy of a parsed message ([`CpimMessage::to_builder`]).
//!
//! Owns [`CpimBuilder`]. Output rules, always: CRLF line ends, exactly one SP
//! after each colon (after the parameters when there are some), no folding,
//! no leading or trailing whitespace on a line, values escaped per RFC 3862
//! §3.4, headers in a fixed order (From, To, cc, DateTime, Subject, NS,
//! Require, extension headers), a blank line, the MIME headers
//! (Content-Type first), a blank line, and the content bytes unchanged. The
//! default namespace is spelled `urn:ietf:params:cpim-headers:`
//! (standards.md conflict C6; see [`CORE_NAMESPACE`]). It does not sign,
//! encrypt or transfer-encode anything, and never rewrites a received message:
//! a gateway that must annotate one wraps it in a new envelope (RFC 3862 §6).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use bytes::Bytes;

use super::datetime::DateTime;
use super::error::BuildError;
use super::header::{Core, escape_into, is_namechar, is_tokenchar};
use super::message::CpimMessage;
use super::uri::ImUri;

/// Longest list a built `Require` line carries (names are packed up to
/// this many bytes per line; the parser accepts 4096-byte lines).
const REQUIRE_LINE: usize = 998;

/// The namespace URN of the core CPIM headers, as registered with IANA
/// (RFC 3862 §4, §7.2; standards.md conflict C6). Header `X` of this
/// namespace is `urn:ietf:params:cpim-headers:X`.
pub const CORE_NAMESPACE: &str = "urn:ietf:params:cpim-headers:";

type Addr = (Option<String>, String);

/// Builds a `message/cpim` object (RFC 3862). Methods that take values with a
/// syntax of their own return [`BuildError`] instead of emitting something a
/// strict reader would refuse.
///
/// Equality compares the semantic fields (what a reader sees after
/// unescaping), which is what the parse → build → parse round trip keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpimBuilder {
    from: Addr,
    to: Vec<Addr>,
    cc: Vec<Addr>,
    date_time: Option<String>,
    subjects: Vec<(Option<String>, String)>,
    ns: Vec<(Option<String>, String)>,
    require: Vec<String>,
    extensions: Vec<(String, String)>,
    content_type: String,
    mime_headers: Vec<(String, String)>,
    body: Bytes,
}

impl CpimBuilder {
    /// Starts a message from `from` to `to`, each `(display name, URI)`
    /// (RFC 3862 §4.1, §4.2). The content defaults to an empty
    /// `text/plain; charset=utf-8` (RFC 3922 §4.1).
    pub fn new(from: (Option<&str>, ImUri), to: (Option<&str>, ImUri)) -> CpimBuilder {
        CpimBuilder {
            from: addr(from),
            to: vec![addr(to)],
            cc: Vec::new(),
            date_time: None,
            subjects: Vec::new(),
            ns: Vec::new(),
            require: Vec::new(),
            extensions: Vec::new(),
            content_type: "text/plain; charset=utf-8".to_owned(),
            mime_headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds another `To` recipient (RFC 3862 §4.2: one header per recipient).
    pub fn to(mut self, to: (Option<&str>, ImUri)) -> CpimBuilder {
        self.to.push(addr(to));
        self
    }

    /// Adds a `cc` recipient (RFC 3862 §4.3).
    pub fn cc(mut self, cc: (Option<&str>, ImUri)) -> CpimBuilder {
        self.cc.push(addr(cc));
        self
    }

    /// Sets `DateTime` to an RFC 3339 date-time, checked and then copied as
    /// given (RFC 3862 §4.4).
    pub fn date_time(mut self, raw_rfc3339: &str) -> Result<CpimBuilder, BuildError> {
        if DateTime::parse(raw_rfc3339).is_none() {
            return Err(BuildError::InvalidDateTime(raw_rfc3339.to_owned()));
        }
        self.date_time = Some(raw_rfc3339.to_owned());
        Ok(self)
    }

    /// Adds a `Subject`, optionally with a language tag (RFC 3862 §4.5,
    /// §3.3). The text is escaped as needed.
    pub fn subject(mut self, lang: Option<&str>, text: &str) -> Result<CpimBuilder, BuildError> {
        if let Some(l) = lang
            && (l.is_empty() || !l.bytes().all(is_tokenchar))
        {
            return Err(BuildError::InvalidLanguage(l.to_owned()));
        }
        self.subjects
            .push((lang.map(str::to_owned), text.to_owned()));
        Ok(self)
    }

    /// Declares namespace prefix `prefix` for `urn` (RFC 3862 §4.6). The
    /// prefix must be a Name (NAMECHARs, no `.`); the URN an absolute URI.
    pub fn ns(mut self, prefix: &str, urn: &str) -> Result<CpimBuilder, BuildError> {
        if prefix.is_empty() || !prefix.bytes().all(is_namechar) {
            return Err(BuildError::InvalidPrefix(prefix.to_owned()));
        }
        check_uri(urn)?;
        self.ns.push((Some(prefix.to_owned()), urn.to_owned()));
        Ok(self)
    }

    /// Declares a default namespace (`NS: <urn>`, RFC 3862 §4.6). Readers of
    /// this crate keep recognising the core headers without a prefix.
    pub fn ns_default(mut self, urn: &str) -> Result<CpimBuilder, BuildError> {
        check_uri(urn)?;
        self.ns.push((None, urn.to_owned()));
        Ok(self)
    }

    /// Adds an extension header `prefix.Name: value` (RFC 3862 §3.2). The
    /// prefix must have been declared with [`ns`](Self::ns); a name without a
    /// prefix must not be a core header or `Content-*`. The value is escaped.
    pub fn header(mut self, name: &str, value: &str) -> Result<CpimBuilder, BuildError> {
        let bad = || BuildError::InvalidHeaderName(name.to_owned());
        let (prefix, local) = match name.split_once('.') {
            Some((p, l)) => (Some(p), l),
            None => (None, name),
        };
        if !is_name(local) || prefix.is_some_and(|p| !is_name(p)) {
            return Err(bad());
        }
        match prefix {
            Some(p) if !self.ns.iter().any(|(q, _)| q.as_deref() == Some(p)) => {
                return Err(BuildError::UndeclaredPrefix(p.to_owned()));
            }
            None if Core::of(local).is_some() || is_content_name(local) => {
                return Err(BuildError::ReservedHeaderName(name.to_owned()));
            }
            _ => {}
        }
        self.extensions.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// Adds a header name (or feature token) to `Require` (RFC 3862 §4.7).
    pub fn require(mut self, name: &str) -> Result<CpimBuilder, BuildError> {
        if name.is_empty() || !name.bytes().all(|b| is_namechar(b) || b == b'.') {
            return Err(BuildError::InvalidHeaderName(name.to_owned()));
        }
        self.require.push(name.to_owned());
        Ok(self)
    }

    /// Sets the encapsulated content: its `Content-Type` value, other MIME
    /// headers as `(name, value)` (Content-ID, Content-Disposition, ...), and
    /// the body, which is written unchanged (RFC 3862 §2). Values are trimmed
    /// and must not hold control characters other than HT.
    pub fn content(
        mut self,
        content_type: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<CpimBuilder, BuildError> {
        let ct = check_mime_value(content_type)?;
        if ct.is_empty() {
            return Err(BuildError::InvalidMimeValue(content_type.to_owned()));
        }
        let mut extra = Vec::with_capacity(headers.len());
        for (n, v) in headers {
            if n.is_empty() || !n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b':') {
                return Err(BuildError::InvalidHeaderName((*n).to_owned()));
            }
            extra.push(((*n).to_owned(), check_mime_value(v)?.to_owned()));
        }
        self.content_type = ct.to_owned();
        self.mime_headers = extra;
        self.body = body;
        Ok(self)
    }

    /// Appends the message to `out`.
    pub fn build(&self, out: &mut Vec<u8>) {
        out.reserve(self.size_hint());
        put_addr(out, "From", &self.from);
        for a in &self.to {
            put_addr(out, "To", a);
        }
        for a in &self.cc {
            put_addr(out, "cc", a);
        }
        if let Some(dt) = &self.date_time {
            put_raw(out, "DateTime", dt);
        }
        for (lang, text) in &self.subjects {
            out.extend_from_slice(b"Subject:");
            if let Some(l) = lang {
                out.extend_from_slice(b";lang=");
                out.extend_from_slice(l.as_bytes());
            }
            out.push(b' ');
            escape_into(out, text, false, true);
            out.extend_from_slice(b"\r\n");
        }
        for (prefix, urn) in &self.ns {
            out.extend_from_slice(b"NS: ");
            if let Some(p) = prefix {
                out.extend_from_slice(p.as_bytes());
                out.push(b' ');
            }
            out.push(b'<');
            out.extend_from_slice(urn.as_bytes());
            out.extend_from_slice(b">\r\n");
        }
        // RFC 3862 §4.7: several Require headers are one list. Names are
        // packed into lines of at most REQUIRE_LINE bytes so that a long
        // list (which may have arrived over many lines) never builds a line
        // past the parser's limit.
        let mut line = String::new();
        for name in &self.require {
            if !line.is_empty() && line.len() + 1 + name.len() > REQUIRE_LINE {
                put_raw(out, "Require", &line);
                line.clear();
            }
            if !line.is_empty() {
                line.push(',');
            }
            line.push_str(name);
        }
        if !line.is_empty() {
            put_raw(out, "Require", &line);
        }
        for (name, value) in &self.extensions {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            escape_into(out, value, false, true);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        put_raw(out, "Content-Type", &self.content_type);
        for (name, value) in &self.mime_headers {
            put_raw(out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The message as one buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::new();
        self.build(&mut out);
        Bytes::from(out)
    }

    fn size_hint(&self) -> usize {
        let addrs = self
            .to
            .iter()
            .chain(&self.cc)
            .chain(std::iter::once(&self.from));
        let a: usize = addrs
            .map(|(d, u)| d.as_ref().map_or(0, String::len) + u.len() + 16)
            .sum();
        let e: usize = self
            .extensions
            .iter()
            .chain(&self.mime_headers)
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        let s: usize = self.subjects.iter().map(|(_, t)| t.len() + 20).sum();
        a + e + s + self.content_type.len() + self.body.len() + 64
    }
}

impl CpimMessage {
    /// A builder holding this message's semantic fields: From, To, cc, the
    /// first DateTime, Subjects with their language, NS declarations,
    /// Require names, extension headers (unescaped values), Content-Type and
    /// the other MIME headers (unfolded), and the content bytes.
    ///
    /// Dropped: the order of headers across kinds, parameters other than
    /// `;lang=` on Subject, parameters after `>` in From/To/cc, and a second
    /// DateTime. Building it is for new envelopes and tests; a relay passes
    /// [`CpimMessage::as_bytes`] on instead (RFC 3862 §6).
    pub fn to_builder(&self) -> CpimBuilder {
        let owned = |(p, u): (Option<&str>, &str)| (p.map(str::to_owned), u.to_owned());
        let mut mime_headers: Vec<(String, String)> = self
            .content_headers()
            .map(|(n, v)| (n.to_owned(), unfold(v)))
            .collect();
        let content_type = match mime_headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case("Content-Type"))
        {
            Some(i) => mime_headers.remove(i).1,
            None => String::new(),
        };
        CpimBuilder {
            from: self.from().into_owned_parts(),
            to: self
                .to()
                .into_iter()
                .map(|a| a.into_owned_parts())
                .collect(),
            cc: self
                .cc()
                .into_iter()
                .map(|a| a.into_owned_parts())
                .collect(),
            date_time: self.date_time().map(str::to_owned),
            subjects: self
                .subject()
                .into_iter()
                .map(|(l, t)| (l.map(str::to_owned), t.into_owned()))
                .collect(),
            ns: self.ns().into_iter().map(owned).collect(),
            require: self.require().into_iter().map(str::to_owned).collect(),
            extensions: self
                .extension_headers()
                .map(|h| (h.name().to_owned(), h.unescaped_value().into_owned()))
                .collect(),
            content_type,
            mime_headers,
            body: self.content(),
        }
    }
}

fn addr((display, uri): (Option<&str>, ImUri)) -> Addr {
    (display.map(str::to_owned), uri.as_str().to_owned())
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_namechar)
}

fn is_content_name(s: &str) -> bool {
    s.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("content-"))
}

fn check_uri(urn: &str) -> Result<(), BuildError> {
    let ok = urn.contains(':')
        && urn
            .bytes()
            .all(|b| b > 0x20 && b != 0x7f && b != b'<' && b != b'>');
    if ok {
        Ok(())
    } else {
        Err(BuildError::InvalidUri(urn.to_owned()))
    }
}

fn check_mime_value(v: &str) -> Result<&str, BuildError> {
    if v.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(BuildError::InvalidMimeValue(v.to_owned()));
    }
    Ok(v.trim_matches([' ', '\t']))
}

/// Removes the line breaks of a folded MIME value (RFC 5322 §2.2.3).
fn unfold(v: &str) -> String {
    v.chars().filter(|&c| c != '\r' && c != '\n').collect()
}

fn put_raw(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `Name: [Formal-name SP] <URI>` with the display name as tokens when it is
/// made of tokens separated by single spaces, otherwise as a quoted String.
fn put_addr(out: &mut Vec<u8>, name: &str, (display, uri): &Addr) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    if let Some(d) = display {
        if d.split(' ')
            .all(|t| !t.is_empty() && t.bytes().all(is_tokenchar))
        {
            out.extend_from_slice(d.as_bytes());
        } else {
            out.push(b'"');
            escape_into(out, d, true, false);
            out.push(b'"');
        }
        out.push(b' ');
    }
    out.push(b'<');
    out.extend_from_slice(uri.as_bytes());
    out.extend_from_slice(b">\r\n");
}

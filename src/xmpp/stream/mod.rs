//! Incremental XMPP stream framing (RFC 6120 §4).
//!
//! [`StreamParser`] takes arbitrary byte chunks ([`StreamParser::feed`]) and
//! yields [`StreamItem`]s ([`StreamParser::next_item`]): the stream header,
//! each complete top-level stanza as a parsed [`Element`], a
//! `<stream:error>` (RFC 6120 §4.9) and the stream close (§4.4).
//!
//! Framing is a small byte state machine that only tracks markup (tags,
//! quotes, CDATA) and depth, so a chunk may end anywhere, inside a tag, a
//! quoted value, a CDATA section or a multi-byte UTF-8 character. Once a
//! top-level element is complete its bytes are parsed by quick-xml
//! ([`super::tree`]). Each byte is scanned once.
//!
//! Refused (fatal, RFC 6120 §11.1): DTDs, comments, processing instructions
//! other than the XML declaration before the header, text at stream level,
//! and every limit in [`StreamLimits`]. Entity references other than the
//! predefined five and character references are refused too. Whitespace
//! between stanzas is keepalive (RFC 6120 §4.6.1) and is dropped.
//!
//! Not done: stream restarts (STARTTLS/SASL, §4.3.3) — a component stream
//! (XEP-0114) has none; build a new parser for a new connection.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod error;
#[cfg(test)]
mod tests;

pub use error::{Restricted, StreamCondition, StreamError};

use super::element::Element;
use super::tree::{self, Bindings};

/// `http://etherx.jabber.org/streams` (RFC 6120 §4.8.1).
pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
/// `urn:ietf:params:xml:ns:xmpp-streams`, stream error conditions (RFC 6120 §4.9.3).
pub const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// Resource caps for one stream; each has its own [`StreamError`] variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Bytes in one stanza (or the stream header). Default 65536; RFC 6120
    /// §13.12 requires at least 10000. Beyond: [`StreamError::StanzaTooLarge`].
    pub max_stanza_bytes: usize,
    /// Element nesting, the stanza itself being depth 1. Default 32.
    /// Beyond: [`StreamError::TooDeep`].
    pub max_depth: usize,
    /// Attributes per element, `xmlns` declarations included. Default 64.
    /// Beyond: [`StreamError::TooManyAttributes`].
    pub max_attributes: usize,
    /// Elements in one stanza, the stanza included. Default 1024.
    /// Beyond: [`StreamError::TooManyElements`].
    pub max_elements: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_stanza_bytes: 65536,
            max_depth: 32,
            max_attributes: 64,
            max_elements: 1024,
        }
    }
}

/// The peer's stream header (RFC 6120 §4.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamHeader {
    /// `id` (the stream id; XEP-0114 §3 hashes it with the secret).
    pub id: Option<String>,
    /// `from`.
    pub from: Option<String>,
    /// `to`.
    pub to: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `xml:lang`.
    pub lang: Option<String>,
    /// The default namespace in scope for stanzas (e.g. `jabber:component:accept`).
    pub default_ns: String,
}

/// A peer `<stream:error>` (RFC 6120 §4.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamErrorInfo {
    /// The defined condition; `UndefinedCondition` if none was recognised.
    pub condition: StreamCondition,
    /// The optional `<text>`.
    pub text: Option<String>,
}

/// What the framer yields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamItem {
    /// The peer's `<stream:stream>` opening tag.
    Header(StreamHeader),
    /// A complete top-level element (stanza, `<handshake/>`, …).
    Stanza(Element),
    /// `<stream:error>`; the peer closes the stream after it.
    Error(StreamErrorInfo),
    /// `</stream:stream>` (RFC 6120 §4.4).
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// Depth 0, between items.
    Between,
    /// Just after `<`.
    Lt,
    /// In a start tag; `quote` is the open quote byte, `last` the last byte.
    StartTag { quote: u8, last: u8 },
    /// In an end tag.
    EndTag,
    /// After `<!`; `n` bytes matched so far.
    Bang { n: u8 },
    /// In a CDATA section; `brackets` consecutive `]` seen.
    CData { brackets: u8 },
    /// In `<? … ?>`; `q` = the last byte was `?`.
    Pi { q: bool },
    /// In element content.
    Text,
    /// After `</stream:stream>`.
    Closed,
}

/// The incremental framer. See the module docs.
#[derive(Debug)]
pub struct StreamParser {
    limits: StreamLimits,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Start of the current item in `buf`.
    start: usize,
    /// Next byte to scan.
    pos: usize,
    /// Start of the current tag (`<`) in `buf`.
    tag: usize,
    scan: Scan,
    depth: usize,
    elements: usize,
    /// The header's qualified name and namespace scope, once seen.
    header: Option<(String, Bindings)>,
    decl_allowed: bool,
    poisoned: bool,
}

impl StreamParser {
    /// A parser for a new stream.
    pub fn new(limits: StreamLimits) -> Self {
        Self {
            limits,
            buf: Vec::new(),
            base: 0,
            start: 0,
            pos: 0,
            tag: 0,
            scan: Scan::Between,
            depth: 0,
            elements: 0,
            header: None,
            decl_allowed: true,
            poisoned: false,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &StreamLimits {
        &self.limits
    }

    /// Whether the stream header has been seen.
    pub fn has_header(&self) -> bool {
        self.header.is_some()
    }

    /// Appends received bytes. Call [`StreamParser::next_item`] until it
    /// returns `Ok(None)` afterwards; buffered bytes are then at most one
    /// unfinished item (bounded by `max_stanza_bytes`).
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.base = self.base.saturating_add(self.start as u64);
            self.pos = self.pos.saturating_sub(self.start);
            self.tag = self.tag.saturating_sub(self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete item, `Ok(None)` if more bytes are needed. After a
    /// fatal error ([`StreamError::is_fatal`]) every call returns
    /// [`StreamError::Poisoned`]; after a non-fatal one the offending
    /// stanza has been skipped and parsing goes on.
    pub fn next_item(&mut self) -> Result<Option<StreamItem>, StreamError> {
        if self.poisoned {
            return Err(StreamError::Poisoned);
        }
        match self.run() {
            Err(e) => {
                if e.is_fatal() {
                    self.poisoned = true;
                }
                Err(e)
            }
            ok => ok,
        }
    }

    fn offset(&self, i: usize) -> u64 {
        self.base.saturating_add(i as u64)
    }

    fn not_wf(&self, what: &'static str) -> StreamError {
        StreamError::NotWellFormed {
            offset: self.offset(self.pos),
            what,
        }
    }

    fn restricted(&self, what: Restricted) -> StreamError {
        StreamError::RestrictedXml {
            what,
            offset: self.offset(self.tag),
        }
    }

    fn run(&mut self) -> Result<Option<StreamItem>, StreamError> {
        while let Some(&b) = self.buf.get(self.pos) {
            if self.scan != Scan::Between
                && self.scan != Scan::Closed
                && self.pos.saturating_sub(self.start) >= self.limits.max_stanza_bytes
            {
                return Err(StreamError::StanzaTooLarge {
                    max: self.limits.max_stanza_bytes,
                });
            }
            let done = self.step(b)?;
            self.pos = self.pos.saturating_add(1);
            if let Some(kind) = done {
                let (s, e) = (self.start, self.pos);
                self.start = e;
                self.scan = Scan::Between;
                self.elements = 0;
                if let Done::Decl = kind {
                    // The XML declaration is not an item: check it, go on.
                    self.check_decl(s, e)?;
                    continue;
                }
                return self.finish(kind, s, e).map(Some);
            }
        }
        Ok(None)
    }

    /// Advances the scanner by one byte; returns what completed, if anything.
    fn step(&mut self, b: u8) -> Result<Option<Done>, StreamError> {
        match self.scan {
            Scan::Between | Scan::Closed => {
                if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                    // Keepalive whitespace (RFC 6120 §4.6.1): dropped.
                    self.start = self.pos.saturating_add(1);
                } else if b == b'<' && self.scan == Scan::Between {
                    self.start = self.pos;
                    self.tag = self.pos;
                    self.scan = Scan::Lt;
                } else if self.scan == Scan::Closed {
                    return Err(self.not_wf("data after stream close"));
                } else {
                    return Err(self.not_wf("text at stream level"));
                }
            }
            Scan::Text => {
                if b == b'<' {
                    self.tag = self.pos;
                    self.scan = Scan::Lt;
                }
            }
            Scan::Lt => match b {
                b'/' => self.scan = Scan::EndTag,
                b'!' => self.scan = Scan::Bang { n: 0 },
                b'?' => {
                    if !self.decl_allowed {
                        return Err(self.restricted(Restricted::ProcessingInstruction));
                    }
                    self.scan = Scan::Pi { q: false };
                }
                b' ' | b'\t' | b'\r' | b'\n' | b'<' | b'>' | b'=' | b'\'' | b'"' => {
                    return Err(self.not_wf("bad tag name"));
                }
                _ => {
                    self.decl_allowed = false;
                    if self.header.is_some() {
                        self.elements = self.elements.saturating_add(1);
                        if self.elements > self.limits.max_elements {
                            return Err(StreamError::TooManyElements {
                                max: self.limits.max_elements,
                            });
                        }
                    }
                    self.scan = Scan::StartTag { quote: 0, last: b };
                }
            },
            Scan::StartTag { quote, last } => {
                if quote != 0 {
                    let q = if b == quote { 0 } else { quote };
                    self.scan = Scan::StartTag { quote: q, last: b };
                } else {
                    match b {
                        b'\'' | b'"' => self.scan = Scan::StartTag { quote: b, last: b },
                        b'<' => return Err(self.not_wf("'<' in tag")),
                        b'>' => return self.close_start(last == b'/'),
                        _ => self.scan = Scan::StartTag { quote: 0, last: b },
                    }
                }
            }
            Scan::EndTag => match b {
                b'>' => return self.close_end(),
                b'<' | b'\'' | b'"' => return Err(self.not_wf("bad end tag")),
                _ => {}
            },
            Scan::Bang { n } => {
                const CDATA: &[u8] = b"[CDATA[";
                if n == 0 && b == b'-' {
                    return Err(self.restricted(Restricted::Comment));
                }
                if n == 0 && b != b'[' {
                    return Err(self.restricted(Restricted::Dtd));
                }
                if CDATA.get(usize::from(n)) != Some(&b) {
                    return Err(self.not_wf("bad <![ section"));
                }
                let n = n.saturating_add(1);
                if usize::from(n) == CDATA.len() {
                    if self.depth == 0 {
                        return Err(self.not_wf("CDATA at stream level"));
                    }
                    self.scan = Scan::CData { brackets: 0 };
                } else {
                    self.scan = Scan::Bang { n };
                }
            }
            Scan::CData { brackets } => {
                self.scan = match b {
                    b']' => Scan::CData {
                        brackets: brackets.saturating_add(1).min(2),
                    },
                    b'>' if brackets >= 2 => Scan::Text,
                    _ => Scan::CData { brackets: 0 },
                };
            }
            Scan::Pi { q } => {
                if q && b == b'>' {
                    self.decl_allowed = false;
                    return Ok(Some(Done::Decl));
                }
                self.scan = Scan::Pi { q: b == b'?' };
            }
        }
        Ok(None)
    }

    fn close_start(&mut self, empty: bool) -> Result<Option<Done>, StreamError> {
        if self.header.is_none() {
            if empty {
                return Err(StreamError::BadHeader {
                    what: "empty stream element",
                });
            }
            return Ok(Some(Done::Header));
        }
        if empty {
            if self.depth == 0 {
                return Ok(Some(Done::Element));
            }
        } else {
            self.depth = self.depth.saturating_add(1);
            if self.depth > self.limits.max_depth {
                return Err(StreamError::TooDeep {
                    max: self.limits.max_depth,
                });
            }
        }
        self.scan = Scan::Text;
        Ok(None)
    }

    fn close_end(&mut self) -> Result<Option<Done>, StreamError> {
        if self.depth == 0 {
            return Ok(Some(Done::Close));
        }
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            return Ok(Some(Done::Element));
        }
        self.scan = Scan::Text;
        Ok(None)
    }

    /// Only `<?xml …?>` may appear, before the header (RFC 6120 §11.1).
    fn check_decl(&self, s: usize, e: usize) -> Result<(), StreamError> {
        let bytes = self.buf.get(s..e).unwrap_or(&[]);
        let ok = bytes.starts_with(b"<?xml")
            && bytes
                .get(5)
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'?'));
        if ok {
            Ok(())
        } else {
            Err(StreamError::RestrictedXml {
                what: Restricted::ProcessingInstruction,
                offset: self.offset(s),
            })
        }
    }

    fn finish(&mut self, done: Done, s: usize, e: usize) -> Result<StreamItem, StreamError> {
        let bytes = self.buf.get(s..e).unwrap_or(&[]);
        let offset = self.offset(s);
        match done {
            Done::Decl => Err(StreamError::Poisoned),
            Done::Header => {
                let (header, qname, scope) = parse_header(bytes, &self.limits)?;
                self.header = Some((qname, scope));
                Ok(StreamItem::Header(header))
            }
            Done::Close => {
                let name = bytes
                    .get(2..bytes.len().saturating_sub(1))
                    .unwrap_or(&[])
                    .trim_ascii();
                match &self.header {
                    Some((q, _)) if q.as_bytes() == name => {
                        self.scan = Scan::Closed;
                        Ok(StreamItem::Close)
                    }
                    _ => Err(StreamError::NotWellFormed {
                        offset,
                        what: "unexpected end tag at stream level",
                    }),
                }
            }
            Done::Element => {
                let scope = match &self.header {
                    Some((_, scope)) => scope,
                    None => return Err(StreamError::Poisoned),
                };
                let el = tree::parse_element(bytes, offset, scope, &self.limits)?;
                if el.is("error", NS_STREAMS) {
                    return Ok(StreamItem::Error(stream_error_info(&el)));
                }
                Ok(StreamItem::Stanza(el))
            }
        }
    }
}

/// What a scanner step completed.
#[derive(Clone, Copy, Debug)]
enum Done {
    Decl,
    Header,
    Element,
    Close,
}

fn parse_header(
    bytes: &[u8],
    limits: &StreamLimits,
) -> Result<(StreamHeader, String, Bindings), StreamError> {
    let bad = |what| StreamError::BadHeader { what };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not utf-8"))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let start = match reader.read_event() {
        Ok(quick_xml::events::Event::Start(s)) => s,
        _ => return Err(bad("not a start tag")),
    };
    let mut scope: Bindings = Vec::new();
    let el = tree::open(&start, &mut scope, limits, 0).map_err(|_| bad("bad attributes"))?;
    if !el.is("stream", NS_STREAMS) {
        return Err(bad("not <stream:stream> in the streams namespace"));
    }
    let qname = start.name().as_ref().to_owned();
    let get = |n: &str| el.attr(n).map(str::to_owned);
    let header = StreamHeader {
        id: get("id"),
        from: get("from"),
        to: get("to"),
        version: get("version"),
        lang: el
            .attr_ns(Some(super::element::NS_XML), "lang")
            .map(str::to_owned),
        default_ns: scope
            .iter()
            .rev()
            .find(|(p, _)| p.is_empty())
            .map(|(_, u)| u.clone())
            .unwrap_or_default(),
    };
    Ok((header, qname, scope))
}

fn stream_error_info(el: &Element) -> StreamErrorInfo {
    let mut condition = StreamCondition::UndefinedCondition;
    let mut text = None;
    for c in el.children().filter(|c| c.ns() == NS_STREAM_ERRORS) {
        if c.name() == "text" {
            text = Some(c.text());
        } else if let Some(cond) = StreamCondition::from_name(c.name()) {
            condition = cond;
        }
    }
    StreamErrorInfo { condition, text }
}

/// Writes a `<stream:error>` with `condition` (RFC 6120 §4.9), for a stream
/// whose header declared the `stream` prefix.
pub fn write_stream_error(condition: StreamCondition, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<stream:error><");
    out.extend_from_slice(condition.as_str().as_bytes());
    out.extend_from_slice(b" xmlns='");
    out.extend_from_slice(NS_STREAM_ERRORS.as_bytes());
    out.extend_from_slice(b"'/></stream:error>");
}

//! The SIP message facade (RFC 3261 §7): [`parse`] turns one datagram or one
//! framed stream message into a [`Request`] or [`Response`] with typed
//! access to the headers the gateway routes on (Via, From, To, Call-ID,
//! CSeq, Max-Forwards, Content-Type, Content-Length), raw access to all
//! others in order, and the body as a zero-copy slice of the input. Also
//! builds outgoing messages ([`OutgoingRequest`], [`OutgoingResponse`]), the
//! RFC 3261 §8.2.6.2 response skeleton, and [`salvage`]s enough of a broken
//! request to answer it with 400.
//!
//! Rules beyond a plain RFC 3261 parser (and beyond `rsipstack::sip`, used
//! underneath for host checks, see dependencies.md §1.6):
//! - any syntactically valid method token parses (as `Method::Other`, so
//!   the gateway can answer 501, RFC 3261 §8.2.1);
//! - a UDP datagram without Content-Length keeps its whole body (§18.3);
//!   extra octets beyond Content-Length are dropped (RFC 4475 §3.1.1.8);
//!   Content-Length beyond the octets present is an error (§18.3);
//! - compact forms including `u` (Allow-Events) are understood (§7.3.3);
//! - folded values are unfolded (§7.3.1); the body is never decoded.
//!
//! Errors carry offsets only, never message text, so they are safe to log.
//! It does not check header semantics beyond what routing needs (no Route,
//! Require or auth parsing) and does not do transactions (see
//! `sip::transaction`).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod header;
mod outgoing;
mod salvage;
mod uri;

#[cfg(test)]
mod rfc4475_tests;
#[cfg(test)]
mod tests;

use std::io::Write as _;

use bytes::Bytes;

use crate::sip::frame::{Fields, find_head_end, parse_content_length};
use crate::sip::method::is_token_byte;
use crate::sip::{Limits, Method, ParseError, ParseErrorKind, StatusCode, Transport};

use header::{Known, classify, element, same_name, split_commas};
use uri::{Span, parse_uri, sub};

pub use header::{CSeq, NameAddr, Via};
pub use outgoing::{OutgoingRequest, OutgoingResponse};
pub use salvage::{Salvaged, salvage};
pub use uri::SipUri;

/// A parsed SIP message (RFC 3261 §7).
#[derive(Clone, Debug)]
pub enum Message {
    /// A request (§7.1).
    Request(Request),
    /// A response (§7.2).
    Response(Response),
}

impl Message {
    /// Writes the message back: start line, every header in stored order
    /// except Content-Length, a recomputed `Content-Length`, the empty line
    /// and the body. Folded values come out unfolded, compact names stay
    /// compact.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.encode(out),
            Message::Response(r) => r.encode(out),
        }
    }
}

/// A parsed SIP request (RFC 3261 §7.1).
#[derive(Clone, Debug)]
pub struct Request {
    parts: Parts,
    method: Method,
    uri: SipUri,
    max_forwards: Option<u32>,
}

/// A parsed SIP response (RFC 3261 §7.2).
#[derive(Clone, Debug)]
pub struct Response {
    parts: Parts,
    status: StatusCode,
    reason: Span,
}

/// What requests and responses share.
#[derive(Clone, Debug)]
struct Parts {
    raw: Bytes,
    /// The header block as text: start line and fields, each with its CRLF.
    head: Box<str>,
    fields: Vec<Field>,
    vias: Vec<Via>,
    from: NameAddr,
    to: NameAddr,
    call_id: usize,
    cseq: CSeq,
    cseq_field: usize,
    body: Bytes,
}

#[derive(Clone, Debug)]
struct Field {
    name: Span,
    value: Value,
    known: Known,
}

#[derive(Clone, Debug)]
enum Value {
    /// Trimmed value inside `head`.
    Span(Span),
    /// Unfolded value of a folded field.
    Owned(Box<str>),
}

/// Parses one SIP message (a UDP datagram, or a slice produced by
/// [`frame`](crate::sip::frame)). See the module docs for the rules; on
/// `Transport::Tcp` a missing Content-Length is
/// [`ParseErrorKind::MissingContentLength`]. `bytes` is kept (see
/// [`Request::raw`]) and the body is a slice of it.
pub fn parse(bytes: Bytes, transport: Transport, limits: &Limits) -> Result<Message, ParseError> {
    let buf: &[u8] = &bytes;
    let fail =
        |kind: ParseErrorKind, at: usize, el: &'static str| ParseError::at(kind, buf, at, el);

    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let skip = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let rest = buf.get(skip..).unwrap_or_default();
    let head_len = match find_head_end(rest, limits.max_header_bytes) {
        Some(n) => n,
        None if rest.len() >= limits.max_header_bytes => {
            let max = limits.max_header_bytes;
            return Err(fail(
                ParseErrorKind::HeaderBlockTooLarge { max },
                skip.saturating_add(max),
                "header block",
            ));
        }
        None => {
            return Err(fail(
                ParseErrorKind::UnterminatedHeaderBlock,
                buf.len(),
                "header block",
            ));
        }
    };
    let head_bytes = rest.get(..head_len.saturating_sub(2)).unwrap_or_default();
    let head = std::str::from_utf8(head_bytes).map_err(|e| {
        fail(
            ParseErrorKind::InvalidUtf8,
            skip.saturating_add(e.valid_up_to()),
            "header block",
        )
    })?;
    let sl_end = head.find("\r\n").unwrap_or(head.len());
    let start_line = head.get(..sl_end).unwrap_or_default();
    let start = parse_start_line(start_line, limits)
        .map_err(|(kind, at, el)| fail(kind, skip.saturating_add(at), el))?;

    // Header fields (RFC 3261 §7.3).
    let section_at = sl_end.saturating_add(2);
    let section = head.get(section_at..).unwrap_or_default();
    let mut fields = Vec::with_capacity(16);
    let mut vias = Vec::new();
    let mut from = None;
    let mut to = None;
    let mut call_id = None;
    let mut cseq: Option<(CSeq, usize)> = None;
    let mut content_length: Option<usize> = None;
    let mut content_type = false;
    let mut max_forwards = None;
    for (s, e) in Fields::new(section.as_bytes()) {
        let field_at = section_at.saturating_add(s);
        let abs = skip.saturating_add(field_at);
        if fields.len() >= limits.max_headers {
            return Err(fail(
                ParseErrorKind::TooManyHeaders {
                    max: limits.max_headers,
                },
                abs,
                "header block",
            ));
        }
        let text = section.get(s..e).unwrap_or_default();
        let bad_line = |el| fail(ParseErrorKind::BadHeaderLine, abs, el);
        let colon = text.find(':').ok_or_else(|| bad_line("header field"))?;
        let name = text
            .get(..colon)
            .unwrap_or_default()
            .trim_end_matches([' ', '\t']);
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(bad_line("header field"));
        }
        let known = classify(name);
        let el = element(known);
        let value_at = colon.saturating_add(1);
        let raw_value = text.get(value_at..).unwrap_or_default();
        if let Some(bad) = bad_control(raw_value) {
            return Err(fail(
                ParseErrorKind::BadHeaderLine,
                abs.saturating_add(value_at).saturating_add(bad),
                el,
            ));
        }
        let lead = raw_value
            .len()
            .saturating_sub(raw_value.trim_start_matches([' ', '\t']).len());
        let val_abs = abs.saturating_add(value_at).saturating_add(lead);
        let unfolded;
        let (value, stored) = if raw_value.contains('\r') {
            unfolded = unfold(raw_value);
            (unfolded.as_str(), None)
        } else {
            let v = raw_value.trim_matches([' ', '\t']);
            let vs = field_at.saturating_add(value_at).saturating_add(lead);
            (v, Some((vs, vs.saturating_add(v.len()))))
        };
        let bad_value =
            |(kind, at): (ParseErrorKind, usize)| fail(kind, val_abs.saturating_add(at), el);
        let dup = || fail(ParseErrorKind::DuplicateHeader, abs, el);
        match known {
            Known::Via => {
                for (off, part) in split_commas(value) {
                    vias.push(
                        Via::parse(part)
                            .map_err(|(k, at)| bad_value((k, off.saturating_add(at))))?,
                    );
                }
            }
            Known::From | Known::To => {
                let slot = if known == Known::From {
                    &mut from
                } else {
                    &mut to
                };
                if slot.is_some() {
                    return Err(dup());
                }
                *slot = Some(NameAddr::parse(value, limits).map_err(bad_value)?);
            }
            Known::CallId => {
                if call_id.is_some() {
                    return Err(dup());
                }
                if value.is_empty() || value.bytes().any(|b| b.is_ascii_whitespace()) {
                    return Err(bad_value((ParseErrorKind::BadHeaderValue, 0)));
                }
                call_id = Some(fields.len());
            }
            Known::CSeq => {
                if cseq.is_some() {
                    return Err(dup());
                }
                cseq = Some((CSeq::parse(value).map_err(bad_value)?, fields.len()));
            }
            Known::ContentLength => {
                let cl = parse_content_length(value.as_bytes())
                    .ok_or_else(|| bad_value((ParseErrorKind::BadContentLength, 0)))?;
                if content_length.is_some_and(|prev| prev != cl) {
                    return Err(bad_value((ParseErrorKind::BadContentLength, 0)));
                }
                content_length = Some(cl);
            }
            Known::ContentType => {
                if content_type {
                    return Err(dup());
                }
                content_type = true;
            }
            Known::MaxForwards => {
                if max_forwards.is_some() {
                    return Err(dup());
                }
                let ok = !value.is_empty()
                    && value.len() <= 10
                    && value.bytes().all(|b| b.is_ascii_digit());
                let n = ok.then(|| value.parse::<u32>().ok()).flatten();
                max_forwards =
                    Some(n.ok_or_else(|| bad_value((ParseErrorKind::BadHeaderValue, 0)))?);
            }
            Known::Other => {}
        }
        let name_span = (field_at, field_at.saturating_add(name.len()));
        let value = match stored {
            Some(span) => Value::Span(span),
            None => Value::Owned(value.into()),
        };
        fields.push(Field {
            name: name_span,
            value,
            known,
        });
    }

    // Mandatory headers (RFC 3261 §8.1.1, §8.2.6.2).
    let end_of_head = skip.saturating_add(head_len).saturating_sub(2);
    let missing = |el| fail(ParseErrorKind::MissingHeader, end_of_head, el);
    if vias.is_empty() {
        return Err(missing("Via"));
    }
    let from = from.ok_or_else(|| missing("From"))?;
    let to = to.ok_or_else(|| missing("To"))?;
    let call_id = call_id.ok_or_else(|| missing("Call-ID"))?;
    let (cseq, cseq_field) = cseq.ok_or_else(|| missing("CSeq"))?;
    if let StartLine::Request { method, .. } = &start
        && cseq.method() != method
    {
        let at = fields.get(cseq_field).map_or(0, |f| f.name.0);
        return Err(fail(
            ParseErrorKind::CSeqMethodMismatch,
            skip.saturating_add(at),
            "CSeq",
        ));
    }

    // Body (RFC 3261 §18.3, §20.14).
    let body_start = skip.saturating_add(head_len);
    let present = buf.len().saturating_sub(body_start);
    let body_len = match content_length {
        Some(cl) if cl > limits.max_body_bytes => {
            return Err(fail(
                ParseErrorKind::BodyTooLarge {
                    max: limits.max_body_bytes,
                    len: cl,
                },
                body_start,
                "body",
            ));
        }
        Some(cl) if cl > present => {
            return Err(fail(
                ParseErrorKind::TruncatedBody {
                    declared: cl,
                    present,
                },
                buf.len(),
                "body",
            ));
        }
        Some(cl) => cl,
        None if transport == Transport::Tcp => {
            return Err(fail(
                ParseErrorKind::MissingContentLength,
                end_of_head,
                "Content-Length",
            ));
        }
        None if present > limits.max_body_bytes => {
            let max = limits.max_body_bytes;
            return Err(fail(
                ParseErrorKind::BodyTooLarge { max, len: present },
                body_start,
                "body",
            ));
        }
        None => present,
    };
    // In range: body_start <= buf.len() (it ends the found CRLFCRLF) and
    // body_len <= present, so `slice` cannot panic.
    let body = bytes.slice(body_start..body_start.saturating_add(body_len));

    let parts = Parts {
        raw: bytes.clone(),
        head: head.into(),
        fields,
        vias,
        from,
        to,
        call_id,
        cseq,
        cseq_field,
        body,
    };
    Ok(match start {
        StartLine::Request { method, uri } => Message::Request(Request {
            parts,
            method,
            uri,
            max_forwards,
        }),
        StartLine::Response { status, reason } => Message::Response(Response {
            parts,
            status,
            reason,
        }),
    })
}

enum StartLine {
    Request { method: Method, uri: SipUri },
    Response { status: StatusCode, reason: Span },
}

/// Request-Line or Status-Line (RFC 3261 §7.1, §7.2); single SP separators.
fn parse_start_line(
    line: &str,
    limits: &Limits,
) -> Result<StartLine, (ParseErrorKind, usize, &'static str)> {
    if let Some(bad) = line
        .bytes()
        .position(|b| (b.is_ascii_control() && b != b'\t') || b == 0x7f)
    {
        return Err((ParseErrorKind::BadStartLine, bad, "start line"));
    }
    let is_response = line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    if is_response {
        const EL: &str = "Status-Line";
        let sp = line
            .find(' ')
            .ok_or((ParseErrorKind::BadStartLine, line.len(), EL))?;
        check_version(line.get(..sp).unwrap_or_default()).map_err(|k| (k, 0, EL))?;
        let code_at = sp.saturating_add(1);
        let code = line
            .get(code_at..code_at.saturating_add(3))
            .unwrap_or_default();
        let after = line.as_bytes().get(code_at.saturating_add(3)).copied();
        let status = (code.len() == 3
            && code.bytes().all(|b| b.is_ascii_digit())
            && matches!(after, None | Some(b' ')))
        .then(|| code.parse::<u16>().ok().and_then(StatusCode::new))
        .flatten()
        .ok_or((ParseErrorKind::BadStatusCode, code_at, EL))?;
        let reason_at = code_at.saturating_add(4).min(line.len());
        return Ok(StartLine::Response {
            status,
            reason: (reason_at, line.len()),
        });
    }
    const EL: &str = "Request-Line";
    let (Some(sp1), Some(sp2)) = (line.find(' '), line.rfind(' ')) else {
        return Err((ParseErrorKind::BadStartLine, line.len(), EL));
    };
    if sp1 == sp2 {
        return Err((ParseErrorKind::BadStartLine, sp1, EL));
    }
    let method = Method::parse(line.get(..sp1).unwrap_or_default()).ok_or((
        ParseErrorKind::BadMethod,
        0,
        EL,
    ))?;
    let ver_at = sp2.saturating_add(1);
    check_version(line.get(ver_at..).unwrap_or_default()).map_err(|k| (k, ver_at, EL))?;
    let uri_at = sp1.saturating_add(1);
    let uri_text = line.get(uri_at..sp2).unwrap_or_default();
    if uri_text.is_empty() || uri_text.starts_with(' ') || uri_text.ends_with(' ') {
        return Err((ParseErrorKind::BadStartLine, uri_at, EL));
    }
    let uri = parse_uri(uri_text, limits)
        .map_err(|(k, at)| (k, uri_at.saturating_add(at), "Request-URI"))?;
    if !matches!(uri.scheme(), "sip" | "sips" | "tel" | "im" | "pres") {
        return Err((ParseErrorKind::UnsupportedUriScheme, uri_at, "Request-URI"));
    }
    Ok(StartLine::Request { method, uri })
}

/// `SIP/2.0` (RFC 3261 §7.1: the literal is case-insensitive). Another
/// `SIP/x.y` is [`ParseErrorKind::BadVersion`] (505).
fn check_version(v: &str) -> Result<(), ParseErrorKind> {
    let Some(num) = v
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SIP/"))
        .and(v.get(4..))
    else {
        return Err(ParseErrorKind::BadStartLine);
    };
    if num == "2.0" {
        return Ok(());
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match num.split_once('.') {
        Some((a, b)) if digits(a) && digits(b) => Err(ParseErrorKind::BadVersion),
        _ => Err(ParseErrorKind::BadStartLine),
    }
}

/// Position of a control character not allowed in a header value: any
/// except HT, CR/LF other than a CRLF folding before SP/HT, and a control
/// octet escaped inside a quoted string. RFC 3261 §25.1 `quoted-pair` is
/// `"\" (%x00-09 / %x0B-0C / %x0E-7F)`, so `"BEL:\<07> NUL:\<00>"` is a
/// valid display name (RFC 4475 §3.1.1.2); CR and LF can never be quoted.
fn bad_control(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    let mut in_quote = false;
    let mut escaped = false;
    b.iter().enumerate().position(|(i, &c)| {
        let quoted_pair = in_quote && escaped;
        escaped = in_quote && !escaped && c == b'\\';
        if c == b'"' && !quoted_pair {
            in_quote = !in_quote;
        }
        match c {
            b'\t' => false,
            b'\r' => {
                !(b.get(i.saturating_add(1)) == Some(&b'\n')
                    && matches!(b.get(i.saturating_add(2)), Some(b' ' | b'\t')))
            }
            b'\n' => !(i > 0 && b.get(i.saturating_sub(1)) == Some(&b'\r')),
            c if c < 0x20 || c == 0x7f => !quoted_pair,
            _ => false,
        }
    })
}

/// Replaces each folding (CRLF plus LWS) and surrounding LWS by one SP and
/// trims the ends (RFC 3261 §7.3.1).
fn unfold(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, line) in v.split("\r\n").enumerate() {
        let line = line.trim_matches([' ', '\t']);
        if line.is_empty() {
            continue;
        }
        if i > 0 && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

impl Parts {
    fn name(&self, f: &Field) -> &str {
        sub(&self.head, f.name)
    }

    fn value<'a>(&'a self, f: &'a Field) -> &'a str {
        match &f.value {
            Value::Span(s) => sub(&self.head, *s),
            Value::Owned(v) => v,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| same_name(self.name(f), name))
            .map(|f| self.value(f))
    }

    fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.fields
            .iter()
            .filter(move |f| same_name(self.name(f), name))
            .map(|f| self.value(f))
    }

    fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|f| (self.name(f), self.value(f)))
    }

    fn call_id(&self) -> &str {
        self.fields.get(self.call_id).map_or("", |f| self.value(f))
    }

    fn encode_fields_and_body(&self, out: &mut Vec<u8>) {
        for f in self
            .fields
            .iter()
            .filter(|f| f.known != Known::ContentLength)
        {
            out.extend_from_slice(self.name(f).as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(self.value(f).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        // Writing to a Vec cannot fail.
        let _ = write!(out, "Content-Length: {}\r\n\r\n", self.body.len());
        out.extend_from_slice(&self.body);
    }
}

/// Accessors shared by [`Request`] and [`Response`].
macro_rules! common {
    () => {
        /// The topmost Via value (RFC 3261 §8.2.6.2, §18.2.2).
        pub fn top_via(&self) -> &Via {
            // `parse` refuses a message without Via; `vias` is never empty.
            #[allow(clippy::indexing_slicing)]
            &self.parts.vias[0]
        }

        /// Every Via value in order, comma-separated values split (§20.42).
        pub fn vias(&self) -> &[Via] {
            &self.parts.vias
        }

        /// The From header (§20.20).
        pub fn from(&self) -> &NameAddr {
            &self.parts.from
        }

        /// The To header (§20.39).
        pub fn to(&self) -> &NameAddr {
            &self.parts.to
        }

        /// The Call-ID (§20.8), as written.
        pub fn call_id(&self) -> &str {
            self.parts.call_id()
        }

        /// The CSeq (§20.16).
        pub fn cseq(&self) -> &CSeq {
            &self.parts.cseq
        }

        /// The first value of header `name` (case-insensitive; long and
        /// compact forms are equivalent, §7.3.3), trimmed and unfolded.
        pub fn header(&self, name: &str) -> Option<&str> {
            self.parts.header(name)
        }

        /// The value of every header line named `name`, in order (a
        /// comma-separated line is one item).
        pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
            self.parts.header_all(name)
        }

        /// Every header as `(name as written, value trimmed and unfolded)`,
        /// in order, Content-Length included.
        pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
            self.parts.headers()
        }

        /// The Content-Type value exactly as sent (surrounding whitespace
        /// trimmed), long or compact (`c`) form (§20.15).
        pub fn content_type(&self) -> Option<&str> {
            self.parts.header("Content-Type")
        }

        /// The body: opaque bytes, a zero-copy slice of the input, exactly
        /// Content-Length octets (or the rest of a UDP datagram without it).
        pub fn body(&self) -> &Bytes {
            &self.parts.body
        }

        /// The whole input as given to [`parse`].
        pub fn raw(&self) -> &Bytes {
            &self.parts.raw
        }
    };
}

impl Request {
    /// The method (§7.1); unknown tokens are `Method::Other`.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI (§7.1, §19.1).
    pub fn uri(&self) -> &SipUri {
        &self.uri
    }

    /// Max-Forwards (§20.22), if present. A malformed value is a parse
    /// error (element `"Max-Forwards"`).
    pub fn max_forwards(&self) -> Option<u32> {
        self.max_forwards
    }

    common!();

    /// The RFC 3261 §8.2.6.2 response skeleton: every Via (raw, in order),
    /// From, To, Call-ID and CSeq copied. `;tag=<to_tag>` is added to To
    /// when it has no tag, `to_tag` is given and `status` is not 100.
    /// Reason `None` means the default phrase; the body is empty.
    pub fn response(&self, status: StatusCode, to_tag: Option<&str>) -> OutgoingResponse {
        let p = &self.parts;
        let mut headers = Vec::with_capacity(p.vias.len().saturating_add(4));
        headers.extend(
            p.vias
                .iter()
                .map(|v| ("Via".to_owned(), v.raw().to_owned())),
        );
        headers.push(("From".to_owned(), p.from.raw().to_owned()));
        let to = match to_tag {
            Some(tag) if p.to.tag().is_none() && status != StatusCode::TRYING => p.to.with_tag(tag),
            _ => p.to.raw().to_owned(),
        };
        headers.push(("To".to_owned(), to));
        headers.push(("Call-ID".to_owned(), p.call_id().to_owned()));
        let cseq = p.fields.get(p.cseq_field).map_or("", |f| p.value(f));
        headers.push(("CSeq".to_owned(), cseq.to_owned()));
        OutgoingResponse {
            status,
            reason: None,
            headers,
            body: Bytes::new(),
        }
    }

    /// Writes the request back (see [`Message::encode`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.uri.as_str().as_bytes());
        out.extend_from_slice(b" SIP/2.0\r\n");
        self.parts.encode_fields_and_body(out);
    }
}

impl Response {
    /// The status code (§7.2).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase as written (may be empty).
    pub fn reason(&self) -> &str {
        sub(&self.parts.head, self.reason)
    }

    common!();

    /// Writes the response back (see [`Message::encode`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "SIP/2.0 {} {}\r\n",
            self.status.as_u16(),
            self.reason()
        );
        self.parts.encode_fields_and_body(out);
    }
}

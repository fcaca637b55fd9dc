//! Best-effort recovery from a request [`parse`](super::parse) refused:
//! [`salvage`] scans leniently for the headers RFC 3261 §8.2.6.2 needs to
//! answer (Via, From, To, Call-ID, CSeq), so that a malformed request still
//! gets its 400 (or 413/414/416/505) instead of silence, as RFC 4475 §3.1.2
//! and §3.3.1 expect of a robust element. Via and CSeq are required (the
//! sender matches the answer on them); the others are copied when present.
//!
//! It never panics and is bounded: it looks at the first
//! [`SCAN_LIMIT`] bytes and keeps at most [`MAX_VIAS`] Via values. Values with
//! control characters are dropped, so nothing unsafe is echoed back. It does
//! not validate what it copies.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use bytes::Bytes;

use crate::sip::StatusCode;
use crate::sip::method::is_token_byte;

use super::OutgoingResponse;
use super::header::{Known, classify, split_commas};

/// Bytes of input [`salvage`] looks at.
const SCAN_LIMIT: usize = 16 * 1024;
/// Via values [`salvage`] keeps.
const MAX_VIAS: usize = 64;

/// What [`salvage`] recovered from an unparseable message. Values are raw
/// header text, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Salvaged {
    /// The start line looks like a Request-Line (always true when returned
    /// by [`salvage`]).
    pub is_request: bool,
    /// The first token of the Request-Line, if it is a `token`.
    pub method: Option<String>,
    /// Every Via value in order.
    pub vias: Vec<String>,
    /// The first From value.
    pub from: Option<String>,
    /// The first To value.
    pub to: Option<String>,
    /// The first Call-ID value.
    pub call_id: Option<String>,
    /// The first CSeq value.
    pub cseq: Option<String>,
}

/// Leniently scans `buf` (bare LF tolerated, compact names understood).
/// Returns `Some` only for something that looks like a request and has at
/// least one Via and a CSeq (From, To and Call-ID are copied when present).
pub fn salvage(buf: &[u8]) -> Option<Salvaged> {
    let buf = buf.get(..buf.len().min(SCAN_LIMIT)).unwrap_or_default();
    let mut lines = buf
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let start = lines.next()?;
    let start = std::str::from_utf8(start).ok()?;
    let mut words = start.split_ascii_whitespace();
    let method = words.next()?;
    let uri = words.next()?;
    if method.is_empty()
        || uri.is_empty()
        || method
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        || !method.bytes().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    let mut s = Salvaged {
        is_request: true,
        method: method.bytes().all(is_token_byte).then(|| method.to_owned()),
        vias: Vec::new(),
        from: None,
        to: None,
        call_id: None,
        cseq: None,
    };
    // Logical lines: a line starting with SP/HT continues the previous one.
    let mut current: Option<String> = None;
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            current = None;
            continue;
        };
        if line.starts_with([' ', '\t']) {
            if let Some(c) = current.as_mut() {
                c.push(' ');
                c.push_str(line.trim());
            }
            continue;
        }
        if let Some(done) = current.take() {
            take_field(&mut s, &done);
        }
        current = Some(line.to_owned());
    }
    if let Some(done) = current {
        take_field(&mut s, &done);
    }
    // Via and CSeq are what the sender's client transaction matches a
    // response on (RFC 3261 §17.1.3: branch and CSeq method); From, To and
    // Call-ID are copied when present.
    let answerable = !s.vias.is_empty() && s.cseq.is_some();
    answerable.then_some(s)
}

fn take_field(s: &mut Salvaged, line: &str) {
    let Some((name, value)) = line.split_once(':') else {
        return;
    };
    let value = value.trim();
    if value.is_empty() || value.chars().any(|c| c.is_control() && c != '\t') {
        return;
    }
    let first = |slot: &mut Option<String>| {
        if slot.is_none() {
            *slot = Some(value.to_owned());
        }
    };
    match classify(name.trim()) {
        Known::Via => {
            for (_, part) in split_commas(value) {
                let part = part.trim();
                if !part.is_empty() && s.vias.len() < MAX_VIAS {
                    s.vias.push(part.to_owned());
                }
            }
        }
        Known::From => first(&mut s.from),
        Known::To => first(&mut s.to),
        Known::CallId => first(&mut s.call_id),
        Known::CSeq => first(&mut s.cseq),
        _ => {}
    }
}

impl Salvaged {
    /// The RFC 3261 §8.2.6.2 response skeleton from the salvaged values
    /// (see [`Request::response`](super::Request::response)); `None`
    /// without a Via or a CSeq. A request missing From, To or Call-ID (RFC
    /// 4475 §3.3.1 `insuf`) still gets its answer, without the missing
    /// ones: its sender matches it on the Via branch and CSeq (RFC 3261
    /// §17.1.3).
    pub fn response(&self, status: StatusCode, to_tag: Option<&str>) -> Option<OutgoingResponse> {
        if self.vias.is_empty() {
            return None;
        }
        let cseq = self.cseq.as_ref()?;
        let mut headers: Vec<(String, String)> = self
            .vias
            .iter()
            .map(|v| ("Via".to_owned(), v.clone()))
            .collect();
        if let Some(from) = &self.from {
            headers.push(("From".to_owned(), from.clone()));
        }
        if let Some(to) = &self.to {
            let to = match to_tag {
                Some(tag) if status != StatusCode::TRYING && !has_tag(to) => {
                    format!("{to};tag={tag}")
                }
                _ => to.clone(),
            };
            headers.push(("To".to_owned(), to));
        }
        if let Some(call_id) = &self.call_id {
            headers.push(("Call-ID".to_owned(), call_id.clone()));
        }
        headers.push(("CSeq".to_owned(), cseq.clone()));
        Some(OutgoingResponse {
            status,
            reason: None,
            headers,
            body: Bytes::new(),
        })
    }
}

/// Whether a To value carries a `tag` header parameter (after the URI).
fn has_tag(to: &str) -> bool {
    let params = to.rfind('>').and_then(|p| to.get(p..)).unwrap_or(to);
    params.split(';').skip(1).any(|p| {
        p.split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("tag"))
    })
}

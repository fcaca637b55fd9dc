//! Stream framing for SIP over TCP (RFC 3261 §18.3): find where one message
//! ends in a byte stream, cheaply and without a full parse. Also recognises
//! the CRLF keep-alives of RFC 5626 §4.4.1 (and the leading CRLFs RFC 3261
//! §7.5 says to ignore), and enforces the header-block, header-count and
//! body caps of [`Limits`] so a peer cannot make the reader buffer without
//! bound.
//!
//! It does not validate the message: the framed slice goes to
//! [`parse`](crate::sip::parse), which re-checks everything. The small
//! line scanners here are shared with the parser.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use crate::sip::{Limits, ParseError, ParseErrorKind};

/// What the front of a stream buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed {
    /// Leading CR/LF octets: a keep-alive ping or pong (RFC 5626 §4.4.1),
    /// or the CRLFs RFC 3261 §7.5 allows before a start line. Consume
    /// `len` bytes and call [`frame`] again.
    Keepalive {
        /// Number of CR/LF bytes to drop.
        len: usize,
    },
    /// More bytes are needed.
    Partial,
    /// The first `len` bytes are one message (header block plus
    /// Content-Length bytes of body).
    Complete {
        /// Bytes of the message, including its body.
        len: usize,
    },
}

/// Frames the message at the front of `buf` (RFC 3261 §18.3).
///
/// Finds the empty line within `limits.max_header_bytes` (else
/// [`ParseErrorKind::HeaderBlockTooLarge`]), counts header fields
/// ([`ParseErrorKind::TooManyHeaders`]), requires a Content-Length in long
/// or compact (`l`) form ([`ParseErrorKind::MissingContentLength`],
/// [`ParseErrorKind::BadContentLength`]), checks it against
/// `limits.max_body_bytes` ([`ParseErrorKind::BodyTooLarge`]) and returns
/// [`Framed::Complete`] only once the whole body is buffered. Any error
/// means the stream cannot be resynchronised and should be closed (after
/// answering, if the request can be salvaged).
pub fn frame(buf: &[u8], limits: &Limits) -> Result<Framed, ParseError> {
    let lead = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if lead > 0 {
        return Ok(Framed::Keepalive { len: lead });
    }
    let head_end = match find_head_end(buf, limits.max_header_bytes) {
        Some(end) => end,
        None if buf.len() >= limits.max_header_bytes => {
            return Err(ParseError::at(
                ParseErrorKind::HeaderBlockTooLarge {
                    max: limits.max_header_bytes,
                },
                buf,
                limits.max_header_bytes,
                "header block",
            ));
        }
        None => return Ok(Framed::Partial),
    };
    let head = buf.get(..head_end).unwrap_or_default();
    let fields_start = find_crlf(head, 0).map_or(head_end, |i| i.saturating_add(2));
    let section = head
        .get(fields_start..head_end.saturating_sub(2))
        .unwrap_or_default();

    let mut count = 0usize;
    let mut content_length: Option<usize> = None;
    for (start, end) in Fields::new(section) {
        count = count.saturating_add(1);
        let at = fields_start.saturating_add(start);
        if count > limits.max_headers {
            return Err(ParseError::at(
                ParseErrorKind::TooManyHeaders {
                    max: limits.max_headers,
                },
                buf,
                at,
                "header block",
            ));
        }
        let field = section.get(start..end).unwrap_or_default();
        let Some(colon) = field.iter().position(|&b| b == b':') else {
            continue; // the parser reports it
        };
        let name = trim_ws(field.get(..colon).unwrap_or_default());
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = field.get(colon.saturating_add(1)..).unwrap_or_default();
        let bad = || ParseError::at(ParseErrorKind::BadContentLength, buf, at, "Content-Length");
        let cl = parse_content_length(value).ok_or_else(bad)?;
        if content_length.is_some_and(|prev| prev != cl) {
            return Err(bad());
        }
        content_length = Some(cl);
    }
    let Some(cl) = content_length else {
        return Err(ParseError::at(
            ParseErrorKind::MissingContentLength,
            buf,
            head_end,
            "Content-Length",
        ));
    };
    if cl > limits.max_body_bytes {
        return Err(ParseError::at(
            ParseErrorKind::BodyTooLarge {
                max: limits.max_body_bytes,
                len: cl,
            },
            buf,
            head_end,
            "body",
        ));
    }
    match head_end.checked_add(cl) {
        Some(len) if len <= buf.len() => Ok(Framed::Complete { len }),
        _ => Ok(Framed::Partial),
    }
}

/// Index just past the first CRLFCRLF, if it ends within `max` bytes.
pub(crate) fn find_head_end(buf: &[u8], max: usize) -> Option<usize> {
    let window = buf.get(..max.min(buf.len())).unwrap_or_default();
    window
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p.saturating_add(4))
}

/// Index of the first CRLF at or after `from`.
pub(crate) fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let tail = buf.get(from..)?;
    tail.windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p.saturating_add(from))
}

/// Parses a Content-Length value (RFC 3261 §20.14: `1*DIGIT`, surrounding
/// LWS allowed). `None` on anything else, including overflow.
pub(crate) fn parse_content_length(value: &[u8]) -> Option<usize> {
    let digits = trim_lws(value);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0usize, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?
                .checked_add(usize::from(b.wrapping_sub(b'0')))
        } else {
            None
        }
    })
}

/// Trims SP and HT.
pub(crate) fn trim_ws(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |p| p.saturating_add(1));
    s.get(start..end).unwrap_or_default()
}

/// Trims SP, HT, CR and LF (linear white space, RFC 3261 §25.1).
pub(crate) fn trim_lws(s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !ws(b))
        .map_or(start, |p| p.saturating_add(1));
    s.get(start..end).unwrap_or_default()
}

/// Iterates the header fields of a header section (the bytes after the
/// start line's CRLF, up to and including the last field's CRLF), yielding
/// `(start, end)` of each field with its continuation lines (RFC 3261 §7.3.1
/// folding); `end` excludes the final CRLF.
pub(crate) struct Fields<'a> {
    section: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(section: &'a [u8]) -> Self {
        Fields { section, pos: 0 }
    }
}

impl Iterator for Fields<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.pos >= self.section.len() {
            return None;
        }
        let start = self.pos;
        loop {
            match find_crlf(self.section, self.pos) {
                None => {
                    self.pos = self.section.len();
                    return Some((start, self.section.len()));
                }
                Some(i) => {
                    self.pos = i.saturating_add(2);
                    let cont = matches!(self.section.get(self.pos), Some(b' ' | b'\t'));
                    if !cont {
                        return Some((start, i));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nl: 5\r\n\r\nhello";

    #[test]
    fn complete_partial_keepalive() {
        let l = Limits::default();
        assert_eq!(frame(MSG, &l), Ok(Framed::Complete { len: MSG.len() }));
        for cut in 0..MSG.len() {
            let r = frame(MSG.get(..cut).unwrap_or_default(), &l);
            assert_eq!(r, Ok(Framed::Partial), "cut at {cut}");
        }
        let mut two = MSG.to_vec();
        two.extend_from_slice(MSG);
        assert_eq!(frame(&two, &l), Ok(Framed::Complete { len: MSG.len() }));
        assert_eq!(frame(b"\r\n\r\nINV", &l), Ok(Framed::Keepalive { len: 4 }));
        assert_eq!(frame(b"\r\n", &l), Ok(Framed::Keepalive { len: 2 }));
    }

    #[test]
    fn folded_fields() {
        let f: Vec<_> = Fields::new(b"A: 1\r\n 2\r\nB: 3\r\n").collect();
        assert_eq!(f, vec![(0, 8), (10, 14)]);
    }

    #[test]
    fn errors() {
        let l = Limits::default();
        let kind = |b: &[u8], l: &Limits| frame(b, l).map_err(|e| e.kind().clone());
        assert_eq!(
            kind(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", &l),
            Err(ParseErrorKind::MissingContentLength)
        );
        assert_eq!(
            kind(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x1\r\n\r\n", &l),
            Err(ParseErrorKind::BadContentLength)
        );
        assert_eq!(
            kind(
                b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\n",
                &l
            ),
            Err(ParseErrorKind::BadContentLength)
        );
        assert_eq!(
            kind(
                b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999\r\n\r\n",
                &l
            ),
            Err(ParseErrorKind::BodyTooLarge {
                max: 65536,
                len: 99_999_999
            })
        );
        let small = Limits {
            max_header_bytes: 16,
            max_headers: 1,
            ..Limits::default()
        };
        assert_eq!(
            kind(b"OPTIONS sip:a@b SIP/2.0\r\n", &small),
            Err(ParseErrorKind::HeaderBlockTooLarge { max: 16 })
        );
        let few = Limits {
            max_headers: 1,
            ..Limits::default()
        };
        let e = frame(b"OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\n\r\n", &few);
        let e = e.err();
        assert_eq!(
            e.as_ref().map(|e| e.kind()),
            Some(&ParseErrorKind::TooManyHeaders { max: 1 })
        );
        assert_eq!(e.map(|e| (e.line(), e.column())), Some((3, 1)));
    }

    #[test]
    fn content_length_values() {
        assert_eq!(parse_content_length(b" 12 "), Some(12));
        assert_eq!(parse_content_length(b"\r\n 7"), Some(7));
        assert_eq!(parse_content_length(b""), None);
        assert_eq!(parse_content_length(b"1 2"), None);
        assert_eq!(parse_content_length(b"-1"), None);
        assert_eq!(parse_content_length(b"99999999999999999999999999"), None);
    }
}

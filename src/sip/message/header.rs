//! Typed views of the header values the gateway reads: [`NameAddr`]
//! (From/To/Contact, RFC 3261 §20.10, §20.20, §20.39, `name-addr` /
//! `addr-spec` of §25.1), [`Via`] (§20.42, `via-parm`) and [`CSeq`]
//! (§20.16), plus the long/compact header-name table (§7.3.3 and the
//! extensions that register compact forms).
//!
//! Each view keeps the value as written and answers accessors with slices
//! of it; parameters are scanned on demand rather than stored. It does not
//! parse other headers (Route, Contact lists, auth), which stay raw text.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use crate::sip::method::is_token_byte;
use crate::sip::{Limits, Method, ParseErrorKind};

use super::SipUri;
use super::uri::{Span, find_param, is_lws, params, parse_uri, split_hostport, sub};

/// A From, To or Contact value: optional display name, URI, header
/// parameters (RFC 3261 §20.10, §25.1 `name-addr` / `addr-spec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    raw: Box<str>,
    display: Option<Span>,
    uri: SipUri,
    params: Span,
}

impl NameAddr {
    /// Parses one name-addr or addr-spec value. Offsets in the error are
    /// relative to `value`.
    pub(super) fn parse(value: &str, limits: &Limits) -> Result<NameAddr, (ParseErrorKind, usize)> {
        let v = value.trim_matches(is_lws);
        let lead = value
            .len()
            .saturating_sub(value.trim_start_matches(is_lws).len());
        let bad = |at: usize| (ParseErrorKind::BadHeaderValue, lead.saturating_add(at));
        let (display, uri_span, params_at) = if v.starts_with('"') || v.contains('<') {
            // name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
            let (display, lt) = if v.starts_with('"') {
                let close = quoted_end(v, 0).ok_or(bad(0))?;
                let after = v.get(close.saturating_add(1)..).unwrap_or_default();
                let gap = after
                    .len()
                    .saturating_sub(after.trim_start_matches(is_lws).len());
                let lt = close.saturating_add(1).saturating_add(gap);
                if !v.get(lt..).is_some_and(|t| t.starts_with('<')) {
                    return Err(bad(lt));
                }
                (Some((1, close)), lt)
            } else {
                let lt = v.find('<').ok_or(bad(0))?;
                let name = v.get(..lt).unwrap_or_default().trim_matches(is_lws);
                let ok = name
                    .bytes()
                    .all(|b| is_token_byte(b) || matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
                if !ok {
                    return Err(bad(0));
                }
                let display = (!name.is_empty()).then(|| {
                    let start = v.len().saturating_sub(v.trim_start_matches(is_lws).len());
                    (start, start.saturating_add(name.len()))
                });
                (display, lt)
            };
            let uri_at = lt.saturating_add(1);
            let gt = v.get(uri_at..).and_then(|t| t.find('>')).ok_or(bad(lt))?;
            let gt = gt.saturating_add(uri_at);
            (display, (uri_at, gt), gt.saturating_add(1))
        } else {
            // addr-spec: the URI cannot carry ';' params here (§20.10).
            let uri_end = v.find(';').unwrap_or(v.len());
            let uri_end = v
                .get(..uri_end)
                .unwrap_or_default()
                .trim_end_matches(is_lws)
                .len();
            (None, (0, uri_end), uri_end)
        };
        let uri = parse_uri(sub(v, uri_span), limits)
            .map_err(|(k, at)| (k, lead.saturating_add(uri_span.0).saturating_add(at)))?;
        let tail = v.get(params_at..).unwrap_or_default();
        let tail_t = tail.trim_start_matches(is_lws);
        if !(tail_t.is_empty() || tail_t.starts_with(';')) {
            return Err(bad(params_at));
        }
        check_header_params(tail).map_err(|_| bad(params_at))?;
        Ok(NameAddr {
            raw: v.into(),
            display,
            uri,
            params: (params_at, v.len()),
        })
    }

    /// The display name as written, without the surrounding quotes of a
    /// quoted-string (escapes kept). `None` if absent or empty.
    pub fn display_name(&self) -> Option<&str> {
        self.display
            .map(|s| sub(&self.raw, s))
            .filter(|s| !s.is_empty())
    }

    /// The URI.
    pub fn uri(&self) -> &SipUri {
        &self.uri
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// A header parameter (after the URI), name case-insensitive: `None`
    /// when absent, `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(sub(&self.raw, self.params), name)
    }

    /// The header value as written (surrounding whitespace trimmed).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The raw value with `;tag=<tag>` appended, e.g. to give the To of a
    /// response or a B2BUA leg its tag (RFC 3261 §8.2.6.2).
    pub fn with_tag(&self, tag: &str) -> String {
        format!("{};tag={}", self.raw, tag)
    }
}

/// One Via value (RFC 3261 §20.42): `sent-protocol LWS sent-by *(SEMI
/// via-params)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    raw: Box<str>,
    transport: Span,
    sent_by: Span,
    host: Span,
    port: Option<u16>,
    params: Span,
}

impl Via {
    /// Parses one via-parm (no commas). Offsets are relative to `value`.
    pub(super) fn parse(value: &str) -> Result<Via, (ParseErrorKind, usize)> {
        let v = value.trim_matches(is_lws);
        let lead = value
            .len()
            .saturating_sub(value.trim_start_matches(is_lws).len());
        let bad = |at: usize| (ParseErrorKind::BadHeaderValue, lead.saturating_add(at));
        let b = v.as_bytes();
        let mut pos = 0usize;
        let skip_lws = |pos: &mut usize| {
            while b
                .get(*pos)
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
            {
                *pos = pos.saturating_add(1);
            }
        };
        let token = |pos: &mut usize| -> Span {
            let start = *pos;
            while b.get(*pos).is_some_and(|&c| is_token_byte(c)) {
                *pos = pos.saturating_add(1);
            }
            (start, *pos)
        };
        // sent-protocol = protocol-name SLASH protocol-version SLASH transport
        let name = token(&mut pos);
        skip_lws(&mut pos);
        if b.get(pos) != Some(&b'/') || !sub(v, name).eq_ignore_ascii_case("SIP") {
            return Err(bad(0));
        }
        pos = pos.saturating_add(1);
        skip_lws(&mut pos);
        let version = token(&mut pos);
        skip_lws(&mut pos);
        if b.get(pos) != Some(&b'/') || sub(v, version) != "2.0" {
            return Err(bad(version.0));
        }
        pos = pos.saturating_add(1);
        skip_lws(&mut pos);
        let transport = token(&mut pos);
        if transport.0 == transport.1 {
            return Err(bad(transport.0));
        }
        let gap = pos;
        skip_lws(&mut pos);
        if pos == gap {
            return Err(bad(pos));
        }
        // sent-by = host [ COLON port ]
        let host_start = pos;
        if b.get(pos) == Some(&b'[') {
            while b.get(pos).is_some_and(|&c| c != b']') {
                pos = pos.saturating_add(1);
            }
            pos = pos.saturating_add(1);
        } else {
            while b
                .get(pos)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
            {
                pos = pos.saturating_add(1);
            }
        }
        let host = (host_start, pos.min(v.len()));
        let host_end = host.1;
        skip_lws(&mut pos);
        let mut sent_by_end = host_end;
        let mut hostport = sub(v, host).to_owned();
        if b.get(pos) == Some(&b':') {
            pos = pos.saturating_add(1);
            skip_lws(&mut pos);
            let port_start = pos;
            while b.get(pos).is_some_and(u8::is_ascii_digit) {
                pos = pos.saturating_add(1);
            }
            sent_by_end = pos;
            hostport.push(':');
            hostport.push_str(sub(v, (port_start, pos)));
        }
        let (host_len, port) = split_hostport(&hostport).ok_or(bad(host_start))?;
        if host_len != host_end.saturating_sub(host_start)
            || rsipstack::sip::HostWithPort::try_from(hostport.as_str()).is_err()
        {
            return Err(bad(host_start));
        }
        skip_lws(&mut pos);
        let rest = v.get(pos..).unwrap_or_default();
        if !(rest.is_empty() || rest.starts_with(';')) {
            return Err(bad(pos));
        }
        check_header_params(rest).map_err(|_| bad(pos))?;
        Ok(Via {
            raw: v.into(),
            transport,
            sent_by: (host_start, sent_by_end),
            host,
            port,
            params: (pos, v.len()),
        })
    }

    /// The transport token as written, e.g. `"UDP"`.
    pub fn transport(&self) -> &str {
        sub(&self.raw, self.transport)
    }

    /// `host[:port]` as written.
    pub fn sent_by(&self) -> &str {
        sub(&self.raw, self.sent_by)
    }

    /// The sent-by host as written (IPv6 with brackets).
    pub fn host(&self) -> &str {
        sub(&self.raw, self.host)
    }

    /// The sent-by port, if written.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The `branch` parameter (RFC 3261 §8.1.1.7).
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// A via-param, name case-insensitive: `None` when absent, `Some(None)`
    /// for a flag such as `;rport`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(sub(&self.raw, self.params), name)
    }

    /// The via-parm as written (surrounding whitespace trimmed).
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

/// A CSeq value (RFC 3261 §20.16): sequence number and method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    seq: u32,
    method: Method,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`.
    pub(super) fn parse(value: &str) -> Result<CSeq, (ParseErrorKind, usize)> {
        let v = value.trim_matches(is_lws);
        let bad = (ParseErrorKind::BadHeaderValue, 0);
        let digits_end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
        let digits = v.get(..digits_end).unwrap_or_default();
        let rest = v.get(digits_end..).unwrap_or_default();
        let method = rest.trim_start_matches(is_lws);
        if digits.is_empty() || digits.len() > 10 || method.len() == rest.len() {
            return Err(bad);
        }
        let seq = digits.parse::<u32>().map_err(|_| bad.clone())?;
        let method = Method::parse(method).ok_or(bad)?;
        Ok(CSeq { seq, method })
    }

    /// The sequence number.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
}

/// The index of the quote closing the quoted-string that opens at `open`
/// (RFC 3261 §25.1 `quoted-string`, honouring `\` escapes).
fn quoted_end(s: &str, open: usize) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate().skip(open.saturating_add(1)) {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return Some(i);
        }
    }
    None
}

/// Header parameters (`*(SEMI generic-param)`): names are tokens, values
/// tokens, hosts or quoted strings (RFC 3261 §25.1 `generic-param`).
fn check_header_params(s: &str) -> Result<(), ()> {
    for (name, value) in params(s) {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(());
        }
        if let Some(v) = value {
            let ok = if v.starts_with('"') {
                quoted_end(v, 0).is_some_and(|e| e.saturating_add(1) == v.len())
            } else {
                !v.is_empty()
                    && v.bytes()
                        .all(|b| is_token_byte(b) || matches!(b, b':' | b'[' | b']'))
            };
            if !ok {
                return Err(());
            }
        }
    }
    Ok(())
}

/// The headers the parser gives meaning to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Known {
    CallId,
    ContentLength,
    ContentType,
    CSeq,
    From,
    MaxForwards,
    To,
    Via,
    Other,
}

/// Classifies a header name (long or compact, case-insensitive).
pub(super) fn classify(name: &str) -> Known {
    let long = expand(name);
    const TABLE: [(&str, Known); 8] = [
        ("Via", Known::Via),
        ("From", Known::From),
        ("To", Known::To),
        ("Call-ID", Known::CallId),
        ("CSeq", Known::CSeq),
        ("Content-Length", Known::ContentLength),
        ("Content-Type", Known::ContentType),
        ("Max-Forwards", Known::MaxForwards),
    ];
    TABLE
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(long))
        .map_or(Known::Other, |(_, k)| *k)
}

/// The long form of a compact header name (RFC 3261 §7.3.3 and §20; RFC
/// 3265/6665 `o`, `u`; RFC 3515 `r`; RFC 3892 `b`; RFC 4028 `x`; RFC 3841
/// `a`, `j`, `d`; RFC 8224 `y`); other names unchanged.
pub(super) fn expand(name: &str) -> &str {
    let &[c] = name.as_bytes() else {
        return name;
    };
    match c.to_ascii_lowercase() {
        b'a' => "Accept-Contact",
        b'b' => "Referred-By",
        b'c' => "Content-Type",
        b'd' => "Request-Disposition",
        b'e' => "Content-Encoding",
        b'f' => "From",
        b'i' => "Call-ID",
        b'j' => "Reject-Contact",
        b'k' => "Supported",
        b'l' => "Content-Length",
        b'm' => "Contact",
        b'o' => "Event",
        b'r' => "Refer-To",
        b's' => "Subject",
        b't' => "To",
        b'u' => "Allow-Events",
        b'v' => "Via",
        b'x' => "Session-Expires",
        b'y' => "Identity",
        _ => name,
    }
}

/// Whether two header names denote the same header (case-insensitive, long
/// and compact forms equivalent).
pub(super) fn same_name(a: &str, b: &str) -> bool {
    expand(a).eq_ignore_ascii_case(expand(b))
}

/// A static element name for errors about header `name`.
pub(super) fn element(known: Known) -> &'static str {
    match known {
        Known::CallId => "Call-ID",
        Known::ContentLength => "Content-Length",
        Known::ContentType => "Content-Type",
        Known::CSeq => "CSeq",
        Known::From => "From",
        Known::MaxForwards => "Max-Forwards",
        Known::To => "To",
        Known::Via => "Via",
        Known::Other => "header field",
    }
}

/// Splits a list-valued header at top-level commas (outside quotes and
/// angle brackets), yielding `(offset, part)`.
pub(super) fn split_commas(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0usize;
    let mut done = false;
    let mut quoted = false;
    let mut escaped = false;
    let mut angle = false;
    let mut iter = s.bytes().enumerate();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        for (i, b) in iter.by_ref() {
            if escaped {
                escaped = false;
            } else if quoted && b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = !quoted;
            } else if !quoted && b == b'<' {
                angle = true;
            } else if !quoted && b == b'>' {
                angle = false;
            } else if b == b',' && !quoted && !angle {
                let part = (start, s.get(start..i).unwrap_or_default());
                start = i.saturating_add(1);
                return Some(part);
            }
        }
        done = true;
        Some((start, s.get(start..).unwrap_or_default()))
    })
}

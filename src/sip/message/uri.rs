//! [`SipUri`]: a checked URI that keeps its original text. Parses `sip:` and
//! `sips:` (RFC 3261 §19.1.1), `tel:` (RFC 3966 §3), `im:` (RFC 3860 §3) and
//! `pres:` (RFC 3859 §3), and accepts any other `absoluteURI` (RFC 3261
//! §25.1) as an opaque URI whose scheme the caller may refuse with 416.
//!
//! Accessors return slices of the text as written (user still
//! percent-encoded, IPv6 host with brackets). Host and port of `sip:`/`sips:`
//! URIs are cross-checked with `rsipstack::sip::HostWithPort`. It does not
//! compare URIs by the RFC 3261 §19.1.4 rules and does not decode escapes.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::sip::{Limits, ParseError, ParseErrorKind, Transport};

/// A byte range into a stored string.
pub(super) type Span = (usize, usize);

/// `s[span]`, or `""` if the span does not fit (it always does when built
/// by this module).
pub(super) fn sub(s: &str, span: Span) -> &str {
    s.get(span.0..span.1).unwrap_or_default()
}

/// A URI as found in a Request-URI or a name-addr (RFC 3261 §19.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    text: Box<str>,
    scheme: Scheme,
    user: Option<Span>,
    host: Span,
    port: Option<u16>,
    params: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Scheme {
    Sip,
    Sips,
    Tel,
    Im,
    Pres,
    /// Lowercased only when the text was not lowercase already.
    Other(Option<Box<str>>),
}

impl SipUri {
    /// Parses `s` (without the angle brackets of a name-addr). Fails with
    /// [`ParseErrorKind::UriTooLong`] beyond `limits.max_uri_len` bytes and
    /// [`ParseErrorKind::BadUri`] on a syntax error; error offsets are
    /// relative to `s` and the element is `"URI"`.
    pub fn parse(s: &str, limits: &Limits) -> Result<SipUri, ParseError> {
        parse_uri(s, limits).map_err(|(kind, at)| ParseError::at(kind, s.as_bytes(), at, "URI"))
    }

    /// The URI exactly as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scheme, lowercased: `"sip"`, `"sips"`, `"tel"`, `"im"`, `"pres"`
    /// or any other.
    pub fn scheme(&self) -> &str {
        match &self.scheme {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Im => "im",
            Scheme::Pres => "pres",
            Scheme::Other(Some(lower)) => lower,
            Scheme::Other(None) => self.text.split(':').next().unwrap_or_default(),
        }
    }

    /// The user part as written (percent escapes kept), without password.
    /// For `tel:` the telephone-subscriber (RFC 3966 §3). `None` when
    /// absent and for opaque schemes.
    pub fn user(&self) -> Option<&str> {
        self.user.map(|s| sub(&self.text, s))
    }

    /// The host as written (IPv6 references keep their brackets). Empty for
    /// `tel:` and opaque schemes.
    pub fn host(&self) -> &str {
        sub(&self.text, self.host)
    }

    /// The port, if written.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// A `uri-parameter` (RFC 3261 §19.1.1) or `tel:` parameter, name
    /// compared case-insensitively: `None` when absent, `Some(None)` for a
    /// flag such as `;lr`, `Some(Some(value))` otherwise (as written).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(sub(&self.text, self.params), name)
    }

    /// The `;transport=` parameter, if it names a transport the gateway
    /// speaks (RFC 3261 §19.1.1).
    pub fn transport(&self) -> Option<Transport> {
        self.param("transport").flatten().and_then(Transport::parse)
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses a URI, reporting the fault and its offset within `s`.
pub(super) fn parse_uri(s: &str, limits: &Limits) -> Result<SipUri, (ParseErrorKind, usize)> {
    if s.len() > limits.max_uri_len {
        return Err((
            ParseErrorKind::UriTooLong {
                max: limits.max_uri_len,
            },
            limits.max_uri_len,
        ));
    }
    if let Some(bad) = s.bytes().position(|b| !is_uri_byte(b)) {
        return Err((ParseErrorKind::BadUri, bad));
    }
    let bad = |at: usize| (ParseErrorKind::BadUri, at);
    let colon = s.find(':').ok_or(bad(0))?;
    let scheme_text = s.get(..colon).unwrap_or_default();
    let mut sb = scheme_text.bytes();
    if !sb.next().is_some_and(|b| b.is_ascii_alphabetic())
        || !sb.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return Err(bad(0));
    }
    let scheme = if scheme_text.eq_ignore_ascii_case("sip") {
        Scheme::Sip
    } else if scheme_text.eq_ignore_ascii_case("sips") {
        Scheme::Sips
    } else if scheme_text.eq_ignore_ascii_case("tel") {
        Scheme::Tel
    } else if scheme_text.eq_ignore_ascii_case("im") {
        Scheme::Im
    } else if scheme_text.eq_ignore_ascii_case("pres") {
        Scheme::Pres
    } else if scheme_text.bytes().any(|b| b.is_ascii_uppercase()) {
        Scheme::Other(Some(scheme_text.to_ascii_lowercase().into()))
    } else {
        Scheme::Other(None)
    };
    let rest_at = colon.saturating_add(1);
    let rest = s.get(rest_at..).unwrap_or_default();
    if rest.is_empty() {
        return Err(bad(rest_at));
    }
    let end = s.len();
    let mut uri = SipUri {
        text: s.into(),
        scheme,
        user: None,
        host: (end, end),
        port: None,
        params: (end, end),
    };
    match uri.scheme {
        Scheme::Sip | Scheme::Sips | Scheme::Im | Scheme::Pres => {
            parse_authority(&mut uri, s, rest_at)?;
        }
        Scheme::Tel => {
            // RFC 3966 §3: telephone-subscriber *par.
            let num_end = rest.find(';').map_or(end, |p| p.saturating_add(rest_at));
            let number = s.get(rest_at..num_end).unwrap_or_default();
            if number.is_empty()
                || !number.bytes().all(|b| {
                    b.is_ascii_hexdigit()
                        || matches!(
                            b,
                            b'+' | b'-'
                                | b'.'
                                | b'('
                                | b')'
                                | b'*'
                                | b'#'
                                | b'p'
                                | b'w'
                                | b'P'
                                | b'W'
                                | b'%'
                        )
                })
            {
                return Err(bad(rest_at));
            }
            uri.user = Some((rest_at, num_end));
            uri.host = (num_end, num_end);
            uri.params = (num_end, end);
            check_params(s, uri.params)?;
        }
        Scheme::Other(_) => {}
    }
    Ok(uri)
}

/// `[userinfo "@"] hostport *(";" param) ["?" headers]` of sip/sips, and the
/// `user@domain` mailbox of im/pres.
fn parse_authority(
    uri: &mut SipUri,
    s: &str,
    rest_at: usize,
) -> Result<(), (ParseErrorKind, usize)> {
    let bad = |at: usize| (ParseErrorKind::BadUri, at);
    let end = s.len();
    let rest = s.get(rest_at..).unwrap_or_default();
    // No '@' may follow the host (param and header characters exclude it),
    // while the user part may contain ';' and '?' (RFC 3261 §25.1).
    let host_at = match rest.rfind('@') {
        Some(at) => {
            let userinfo = rest.get(..at).unwrap_or_default();
            let user_len = userinfo.find(':').unwrap_or(userinfo.len());
            if user_len == 0 || !escapes_ok(userinfo) {
                return Err(bad(rest_at));
            }
            uri.user = Some((rest_at, rest_at.saturating_add(user_len)));
            rest_at.saturating_add(at).saturating_add(1)
        }
        None => rest_at,
    };
    let after_host = s.get(host_at..).unwrap_or_default();
    let hp_len = after_host.find([';', '?']).unwrap_or(after_host.len());
    let hp_end = host_at.saturating_add(hp_len);
    let hostport = s.get(host_at..hp_end).unwrap_or_default();
    let (host_len, port) = split_hostport(hostport).ok_or(bad(host_at))?;
    uri.host = (host_at, host_at.saturating_add(host_len));
    uri.port = port;
    if matches!(uri.scheme, Scheme::Sip | Scheme::Sips)
        && rsipstack::sip::HostWithPort::try_from(hostport).is_err()
    {
        return Err(bad(host_at));
    }
    let params_end = s
        .get(hp_end..)
        .and_then(|t| t.find('?'))
        .map_or(end, |q| q.saturating_add(hp_end));
    uri.params = (hp_end, params_end);
    check_params(s, uri.params)
}

/// Splits `host[:port]`, validating both (RFC 3261 §25.1 `hostport`).
/// Returns the host length and the port.
pub(super) fn split_hostport(hp: &str) -> Option<(usize, Option<u16>)> {
    let (host_len, port_text) = if let Some(inner) = hp.strip_prefix('[') {
        let close = inner.find(']')?;
        inner.get(..close)?.parse::<Ipv6Addr>().ok()?;
        let host_len = close.saturating_add(2);
        (host_len, hp.get(host_len..)?)
    } else {
        let host_len = hp.find(':').unwrap_or(hp.len());
        let host = hp.get(..host_len)?;
        if !valid_host(host) {
            return None;
        }
        (host_len, hp.get(host_len..)?)
    };
    let port = match port_text.strip_prefix(':') {
        None if port_text.is_empty() => None,
        None => return None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host_len, port))
}

/// A hostname or IPv4 address (RFC 3261 §25.1). Underscores are tolerated
/// because they occur in the wild.
fn valid_host(host: &str) -> bool {
    if host.is_empty() || host.starts_with(['.', '-']) {
        return false;
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<Ipv4Addr>().is_ok();
    }
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Every `%` starts a `%HH` escape (RFC 3261 §25.1 `escaped`).
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b
                .get(i.saturating_add(1))
                .is_some_and(u8::is_ascii_hexdigit)
                && b.get(i.saturating_add(2))
                    .is_some_and(u8::is_ascii_hexdigit))
    })
}

/// `*(";" pname ["=" pvalue])`: every parameter has a non-empty name.
fn check_params(s: &str, span: Span) -> Result<(), (ParseErrorKind, usize)> {
    let text = sub(s, span);
    if text.is_empty() {
        return Ok(());
    }
    if !text.starts_with(';') || !escapes_ok(text) {
        return Err((ParseErrorKind::BadUri, span.0));
    }
    let ok = text
        .split(';')
        .skip(1)
        .all(|p| p.split('=').next().is_some_and(|n| !n.is_empty()) && p.matches('=').count() <= 1);
    if ok {
        Ok(())
    } else {
        Err((ParseErrorKind::BadUri, span.0))
    }
}

/// Printable ASCII except the characters RFC 3261 §25.1 never allows
/// unescaped in a URI.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_graphic()
        && !matches!(
            b,
            b'<' | b'>' | b'"' | b'\\' | b'{' | b'}' | b'|' | b'^' | b'`'
        )
}

/// Iterates `;name[=value]` parameters (leading text before the first `;`
/// is skipped), honouring quoted values and trimming LWS. Yields
/// `(name, value)`.
pub(super) fn params(s: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    let mut rest = s.find(';').and_then(|p| s.get(p..)).unwrap_or_default();
    std::iter::from_fn(move || {
        loop {
            let body = rest.strip_prefix(';')?;
            let mut quoted = false;
            let mut escaped = false;
            let mut end = body.len();
            for (i, b) in body.bytes().enumerate() {
                if escaped {
                    escaped = false;
                } else if quoted && b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    quoted = !quoted;
                } else if b == b';' && !quoted {
                    end = i;
                    break;
                }
            }
            let item = body.get(..end).unwrap_or_default();
            rest = body.get(end..).unwrap_or_default();
            let item = item.trim_matches(is_lws);
            if item.is_empty() {
                continue;
            }
            return Some(match item.split_once('=') {
                Some((n, v)) => (n.trim_matches(is_lws), Some(v.trim_matches(is_lws))),
                None => (item, None),
            });
        }
    })
}

/// Finds a parameter by name, case-insensitively.
pub(super) fn find_param<'a>(s: &'a str, name: &str) -> Option<Option<&'a str>> {
    params(s)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// SP, HT, CR, LF.
pub(super) fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

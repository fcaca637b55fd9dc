//! Character-level transforms behind the address mapping: XEP-0106 JID
//! escaping (`\hh`), RFC 3986 §2.1 percent-encoding of SIP user parts and
//! `gr` values, and the host check shared by both protocols.
//!
//! Everything here works on already-split parts; splitting a JID or a URI is
//! the parent module's job.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::fmt::Write as _;

use super::{AddressError, MAX_PART_BYTES};

/// XEP-0106 §3.2: the ten characters that have an escape, with the two
/// lowercase hex digits that follow the backslash.
const JID_ESCAPES: [(char, &str); 10] = [
    (' ', "20"),
    ('"', "22"),
    ('&', "26"),
    ('\'', "27"),
    ('/', "2f"),
    (':', "3a"),
    ('<', "3c"),
    ('>', "3e"),
    ('@', "40"),
    ('\\', "5c"),
];

/// The character that `\` + `hex` stands for, if `hex` is one of the ten
/// XEP-0106 sequences. Lowercase only: `\2F` is not an escape (XEP-0106 §3.2).
fn unescaped(hex: &str) -> Option<char> {
    JID_ESCAPES.iter().find(|(_, h)| *h == hex).map(|(c, _)| *c)
}

/// The escape digits of `c` when `c` must be escaped in a localpart, i.e.
/// every table entry except the backslash, which is escaped only when it
/// would otherwise start a sequence (XEP-0106 §4.2).
fn escape_of(c: char) -> Option<&'static str> {
    if c == '\\' {
        return None;
    }
    JID_ESCAPES.iter().find(|(ch, _)| *ch == c).map(|(_, h)| *h)
}

/// Characters a JID part can never hold, escaped or not: controls (C0, DEL,
/// C1) and the XML non-characters U+FFFE/U+FFFF, which cannot travel in an
/// XMPP stream (XML 1.0 §2.2, RFC 7622 §3.3 via PRECIS `IdentifierClass`).
pub(super) fn is_forbidden(c: char) -> bool {
    c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// Fails on the first forbidden character of `s`.
pub(super) fn check_forbidden(s: &str) -> Result<(), AddressError> {
    match s.chars().find(|c| is_forbidden(*c)) {
        Some(ch) => Err(AddressError::ForbiddenChar { ch }),
        None => Ok(()),
    }
}

/// Applies the XEP-0106 §4.2 escaping transformation to a decoded localpart
/// (for example a percent-decoded SIP user), giving the localpart as it is
/// written in a JID.
///
/// - space `"` `&` `'` `/` `:` `<` `>` `@` become `\20` … `\40`;
/// - `\` becomes `\5c` only when the next two characters would form one of
///   the ten sequences, so `c:\net` → `c\3a\net` but `c:\5commas` →
///   `c\3a\5c5commas`;
/// - everything else is kept as is (UTF-8 included).
///
/// # Errors
///
/// [`AddressError::EmptyLocal`] for `""`, [`AddressError::EscapedSpaceAtEdge`]
/// when `decoded` starts or ends with a space (XEP-0106 §3.2 forbids `\20`
/// there), [`AddressError::ForbiddenChar`] for controls and
/// [`AddressError::LocalTooLong`] when the escaped result exceeds 1023 bytes
/// (RFC 7622 §3.3.1).
pub fn escape_localpart(decoded: &str) -> Result<String, AddressError> {
    if decoded.is_empty() {
        return Err(AddressError::EmptyLocal);
    }
    if decoded.starts_with(' ') || decoded.ends_with(' ') {
        return Err(AddressError::EscapedSpaceAtEdge);
    }
    check_forbidden(decoded)?;
    let mut out = String::with_capacity(decoded.len());
    for (at, c) in decoded.char_indices() {
        if let Some(hex) = escape_of(c) {
            out.push('\\');
            out.push_str(hex);
        } else if c == '\\' && starts_sequence(decoded.get(at.saturating_add(1)..)) {
            out.push_str("\\5c");
        } else {
            out.push(c);
        }
    }
    if out.len() > MAX_PART_BYTES {
        return Err(AddressError::LocalTooLong { len: out.len() });
    }
    Ok(out)
}

/// Whether `rest` begins with the two hex digits of an XEP-0106 sequence.
fn starts_sequence(rest: Option<&str>) -> bool {
    rest.and_then(|r| r.get(..2)).and_then(unescaped).is_some()
}

/// Applies the XEP-0106 §4.3 unescaping transformation to a localpart as
/// written in a JID. Only the ten lowercase sequences are decoded; any other
/// backslash (`foo\bar`, `\2F`, `\2plus`) stays a literal backslash.
///
/// # Errors
///
/// [`AddressError::EmptyLocal`] for `""`, [`AddressError::LocalTooLong`]
/// beyond 1023 bytes, [`AddressError::EscapedSpaceAtEdge`] when `local` begins
/// or ends with `\20`, [`AddressError::UnescapedChar`] for a raw space `"` `&`
/// `'` `:` `<` `>` (RFC 7622 §3.3.1 disallows them in a localpart) and
/// [`AddressError::ForbiddenChar`] for controls.
pub fn unescape_localpart(local: &str) -> Result<String, AddressError> {
    if local.is_empty() {
        return Err(AddressError::EmptyLocal);
    }
    if local.len() > MAX_PART_BYTES {
        return Err(AddressError::LocalTooLong { len: local.len() });
    }
    if local.starts_with("\\20") || local.ends_with("\\20") {
        return Err(AddressError::EscapedSpaceAtEdge);
    }
    let mut out = String::with_capacity(local.len());
    let mut rest = local;
    while let Some(c) = rest.chars().next() {
        if c == '\\'
            && let Some(ch) = rest.get(1..3).and_then(unescaped)
        {
            out.push(ch);
            rest = rest.get(3..).unwrap_or_default();
            continue;
        }
        if is_forbidden(c) {
            return Err(AddressError::ForbiddenChar { ch: c });
        }
        if escape_of(c).is_some() {
            return Err(AddressError::UnescapedChar { ch: c });
        }
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    Ok(out)
}

/// RFC 3261 §25.1 `unreserved` minus alphanumerics: `mark`.
fn is_mark(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
    )
}

/// Bytes an RFC 3261 §25.1 `user` may hold unescaped: `unreserved` and
/// `user-unreserved` (`& = + $ , ; ? /`). RFC 7247 §6.2 Table 1, "sip" row.
pub(super) fn user_keeps(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || is_mark(b)
        || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

/// Bytes an RFC 3261 §25.1 `pvalue` may hold unescaped: `unreserved` and
/// `param-unreserved` (`[ ] / : & + $`).
pub(super) fn param_keeps(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || is_mark(b)
        || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

/// Percent-encodes `s` byte by byte (RFC 3986 §2.1, uppercase hex), keeping
/// the ASCII bytes `keep` accepts. Non-ASCII text is encoded as its UTF-8
/// octets (RFC 7247 §6.5: `tschüss` → `tsch%C3%BCss`).
pub(super) fn percent_encode(s: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii() && keep(b) {
            out.push(char::from(b));
        } else {
            // Writing into a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes `%hh` escapes (either case) and checks that the result is UTF-8
/// (RFC 7247 §6.4 steps 3–4).
///
/// # Errors
///
/// [`AddressError::BadPercentEncoding`] when a `%` is not followed by two hex
/// digits, [`AddressError::InvalidUtf8`] when the octets are not UTF-8.
pub(super) fn percent_decode(s: &str) -> Result<String, AddressError> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes().enumerate();
    while let Some((at, b)) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hi = bytes.next().and_then(|(_, h)| hex_value(h));
        let lo = bytes.next().and_then(|(_, l)| hex_value(l));
        match (hi, lo) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => return Err(AddressError::BadPercentEncoding { offset: at }),
        }
    }
    String::from_utf8(out).map_err(|_| AddressError::InvalidUtf8)
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Longest host accepted (RFC 1035 §2.3.4 name limit plus a trailing dot).
const MAX_HOST_BYTES: usize = 254;

/// Checks a domain that must be written the same way in a SIP URI and a JID
/// and returns it lowercased (domains compare case-insensitively, RFC 7622
/// §3.2, RFC 3261 §19.1.4).
///
/// Accepted: an ASCII host name (letters, digits, `-`, `.`, no empty label
/// except a final trailing dot) or a bracketed IPv6 reference. A raw IDN
/// U-label is refused: SIP URIs cannot carry one and IDN mapping is outside
/// RFC 7247 §6 (A-labels pass).
///
/// # Errors
///
/// [`AddressError::InvalidDomain`] for anything else.
pub(super) fn canonical_host(host: &str) -> Result<String, AddressError> {
    let bad = || AddressError::InvalidDomain {
        domain: host.to_owned(),
    };
    if host.is_empty() || host.len() > MAX_HOST_BYTES {
        return Err(bad());
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(bad)?;
        let ok = !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return if ok {
            Ok(host.to_ascii_lowercase())
        } else {
            Err(bad())
        };
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if labels_ok {
        Ok(host.to_ascii_lowercase())
    } else {
        Err(bad())
    }
}

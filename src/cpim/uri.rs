//! `im:` (RFC 3860 Appendix A) and `pres:` (RFC 3859 Appendix A) URIs.
//!
//! Owns [`ImUri`], [`PresUri`] and [`UriError`]. Both are `scheme ":"
//! local-part "@" domain [ "?" hname "=" hvalue *( "&" hname "=" hvalue ) ]`,
//! the mailbox being an RFC 2822 addr-spec (dot-atom or quoted-string local
//! part; dot-atom or domain-literal domain).
//!
//! What is accepted, on purpose:
//! - the scheme is case-insensitive and is stored lower-case; everything
//!   after it is kept exactly as written;
//! - a dot-atom local part may hold `%XX` escapes and raw UTF-8
//!   (RFC 6532 style); `?` must be escaped because it starts the headers;
//! - a quoted local part (`"john doe"@example.com`) is accepted raw;
//! - the domain must be ASCII (use A-labels for IDNs).
//!
//! Not supported: an `im:` URI with no mailbox (RFC 3860 allows `[ to ]`, but
//! a gateway cannot route it), RFC 2822 name-addr forms and comments inside
//! the URI, and any resolution (that is RFC 3861, in `route`).
//!
//! Comparison ([`PartialEq`], [`Hash`]) follows RFC 5322 addr-spec practice
//! (standards.md §2.6 [GW]): local part and headers exact, domain ASCII
//! case-insensitive.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Longest URI accepted, in bytes (house style B.11: every input is capped).
/// The cap holds for the URI under either scheme, so an `im:` URI always
/// has a `pres:` twin and back (RFC 3860/3859): the part after the colon
/// may be at most `MAX_URI_LEN - "pres:".len()` bytes.
pub const MAX_URI_LEN: usize = 2048;

/// Whether a URI whose part after `scheme:` is `rest_len` bytes is too long
/// under the longer scheme (`pres:`).
fn too_long(rest_len: usize) -> bool {
    rest_len.saturating_add("pres:".len()) > MAX_URI_LEN
}

/// Why a string is not a valid `im:`/`pres:` URI.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The scheme is missing or is not the expected one (`im`/`pres`).
    #[error("expected the {expected}: scheme")]
    BadScheme {
        /// `"im"` or `"pres"`.
        expected: &'static str,
    },
    /// Nothing after the scheme, or an empty local part.
    #[error("empty local part")]
    EmptyLocalPart,
    /// No `@` between local part and domain.
    #[error("missing @ between local part and domain")]
    MissingAt,
    /// A character not allowed in the local part, at this byte offset of the
    /// local part.
    #[error("invalid character in local part at byte {0}")]
    InvalidLocalPart(usize),
    /// Nothing after the `@`.
    #[error("empty domain")]
    EmptyDomain,
    /// A domain that is neither a dot-atom nor a `[domain-literal]`.
    #[error("invalid domain")]
    InvalidDomain,
    /// A `?hname=hvalue` header without `=` or with a character outside
    /// RFC 2396 `uric`.
    #[error("invalid uri header")]
    InvalidHeader,
    /// Longer than [`MAX_URI_LEN`].
    #[error("uri longer than {MAX_URI_LEN} bytes")]
    TooLong,
}

/// The shared representation: the whole URI plus the split points.
#[derive(Clone, Debug)]
struct AddrUri {
    s: String,
    /// Index of the first byte of the local part (just after `scheme:`).
    local: usize,
    /// Index of the `@`.
    at: usize,
    /// Index of the `?` (or `s.len()` when there are no headers).
    query: usize,
}

/// An `im:` URI naming an INSTANT INBOX (RFC 3860 §3.2, Appendix A).
#[derive(Clone, Debug)]
pub struct ImUri(AddrUri);

/// A `pres:` URI naming a PRESENTITY or WATCHER (RFC 3859 §3.2, Appendix A).
#[derive(Clone, Debug)]
pub struct PresUri(AddrUri);

macro_rules! addr_uri_api {
    ($ty:ident, $scheme:literal) => {
        impl $ty {
            /// Parses a URI of this scheme (case-insensitive scheme; see the
            /// module docs for what the mailbox may contain).
            pub fn parse(s: &str) -> Result<$ty, UriError> {
                AddrUri::parse(s, $scheme).map($ty)
            }

            /// Builds a URI from a user part and a domain, e.g. the parts of
            /// `sip:user@domain` (RFC 3860 §3.2 mapping).
            ///
            /// The user part may be percent-encoded already (valid `%XX`
            /// escapes are kept as they are) or raw UTF-8. Every byte that
            /// cannot stand in a dot-atom local part inside a URI (SP, `"`,
            /// `(`, `)`, `,`, `:`, `;`, `<`, `>`, `@`, `[`, `\`, `]`, `?`,
            /// controls, non-ASCII, a `%` that starts no escape, and a
            /// leading, trailing or doubled `.`) is percent-encoded as UTF-8
            /// octets (RFC 7247 §6.5). The domain must be an ASCII dot-atom
            /// (host name, IPv4) or a `[domain-literal]` (IPv6 reference).
            pub fn new(user: &str, domain: &str) -> Result<$ty, UriError> {
                AddrUri::new($scheme, user, domain).map($ty)
            }

            /// The local part exactly as written (quotes and `%XX` escapes
            /// included).
            pub fn user(&self) -> &str {
                self.0.user()
            }

            /// The domain exactly as written.
            pub fn domain(&self) -> &str {
                self.0.domain()
            }

            /// Whether the domain equals `d`, ignoring ASCII case.
            pub fn domain_eq(&self, d: &str) -> bool {
                self.0.domain().eq_ignore_ascii_case(d)
            }

            /// The `?hname=hvalue` headers, in order, still percent-encoded.
            pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
                self.0.headers()
            }

            /// The whole URI (scheme lower-cased, the rest as written).
            pub fn as_str(&self) -> &str {
                &self.0.s
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0.s)
            }
        }

        impl FromStr for $ty {
            type Err = UriError;
            fn from_str(s: &str) -> Result<$ty, UriError> {
                $ty::parse(s)
            }
        }

        impl PartialEq for $ty {
            fn eq(&self, other: &$ty) -> bool {
                self.0.key_eq(&other.0)
            }
        }

        impl Eq for $ty {}

        impl Hash for $ty {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.0.key_hash(state)
            }
        }
    };
}

addr_uri_api!(ImUri, "im");
addr_uri_api!(PresUri, "pres");

impl ImUri {
    /// The `pres:` URI with the same mailbox and headers (RFC 3922 §5.1.1
    /// pairs the two for one user).
    pub fn to_pres(&self) -> PresUri {
        PresUri(self.0.with_scheme("pres"))
    }
}

impl PresUri {
    /// The `im:` URI with the same mailbox and headers.
    pub fn to_im(&self) -> ImUri {
        ImUri(self.0.with_scheme("im"))
    }
}

impl AddrUri {
    fn parse(s: &str, scheme: &'static str) -> Result<AddrUri, UriError> {
        if s.len() > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        let bad_scheme = UriError::BadScheme { expected: scheme };
        let (sch, rest) = s.split_once(':').ok_or(bad_scheme.clone())?;
        if !sch.eq_ignore_ascii_case(scheme) {
            return Err(bad_scheme);
        }
        if too_long(rest.len()) {
            return Err(UriError::TooLong);
        }
        let local_len = scan_local(rest)?;
        let after_local = rest.get(local_len..).unwrap_or_default();
        let domain_and_query = after_local.strip_prefix('@').ok_or(UriError::MissingAt)?;
        let (domain, query) = match domain_and_query.split_once('?') {
            Some((d, q)) => (d, Some(q)),
            None => (domain_and_query, None),
        };
        check_domain(domain)?;
        if let Some(q) = query {
            check_headers(q)?;
        }
        let local = scheme.len().saturating_add(1);
        let at = local.saturating_add(local_len);
        let query = at.saturating_add(1).saturating_add(domain.len());
        Ok(AddrUri {
            s: format!("{scheme}:{rest}"),
            local,
            at,
            query,
        })
    }

    fn new(scheme: &'static str, user: &str, domain: &str) -> Result<AddrUri, UriError> {
        if user.is_empty() {
            return Err(UriError::EmptyLocalPart);
        }
        check_domain(domain)?;
        let mut s = String::with_capacity(
            scheme
                .len()
                .saturating_add(user.len())
                .saturating_add(domain.len())
                .saturating_add(2),
        );
        s.push_str(scheme);
        s.push(':');
        let local = s.len();
        encode_local(user, &mut s);
        let at = s.len();
        s.push('@');
        s.push_str(domain);
        if too_long(s.len().saturating_sub(scheme.len().saturating_add(1))) {
            return Err(UriError::TooLong);
        }
        let query = s.len();
        Ok(AddrUri {
            s,
            local,
            at,
            query,
        })
    }

    fn user(&self) -> &str {
        self.s.get(self.local..self.at).unwrap_or_default()
    }

    fn domain(&self) -> &str {
        self.s
            .get(self.at.saturating_add(1)..self.query)
            .unwrap_or_default()
    }

    fn query(&self) -> &str {
        self.s
            .get(self.query.saturating_add(1)..)
            .unwrap_or_default()
    }

    fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let q = self.query();
        q.split('&')
            .filter(|_| !q.is_empty())
            .map(|h| h.split_once('=').unwrap_or((h, "")))
    }

    fn with_scheme(&self, scheme: &str) -> AddrUri {
        let tail = self.s.get(self.local..).unwrap_or_default();
        let local = scheme.len().saturating_add(1);
        let shift = |i: usize| i.saturating_sub(self.local).saturating_add(local);
        AddrUri {
            s: format!("{scheme}:{tail}"),
            local,
            at: shift(self.at),
            query: shift(self.query),
        }
    }

    fn key_eq(&self, other: &AddrUri) -> bool {
        self.user() == other.user()
            && self.domain().eq_ignore_ascii_case(other.domain())
            && self.query() == other.query()
    }

    fn key_hash<H: Hasher>(&self, state: &mut H) {
        self.user().hash(state);
        for b in self.domain().bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        self.query().hash(state);
    }
}

/// RFC 2822 atext, minus `?` (it starts URI headers) and `%` (handled as an
/// escape by the callers).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&'*+-/=^_`{|}~".contains(&b)
}

fn is_hex_escape(s: &[u8]) -> bool {
    matches!(s, [b'%', a, b, ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit())
}

/// Returns the byte length of the local part at the start of `rest`.
fn scan_local(rest: &str) -> Result<usize, UriError> {
    let b = rest.as_bytes();
    match b.first() {
        None | Some(b'@') => Err(UriError::EmptyLocalPart),
        Some(b'"') => scan_quoted(b),
        Some(_) => scan_dot_atom(b),
    }
}

fn scan_quoted(b: &[u8]) -> Result<usize, UriError> {
    let mut i = 1usize;
    loop {
        match b.get(i) {
            None => return Err(UriError::MissingAt),
            Some(b'"') => return Ok(i.saturating_add(1)),
            Some(b'\\') => match b.get(i.saturating_add(1)) {
                Some(c) if *c != b'\r' && *c != b'\n' => i = i.saturating_add(2),
                _ => return Err(UriError::InvalidLocalPart(i)),
            },
            Some(&c) if c == b' ' || c == b'\t' || c >= 0x21 && c != 0x7f => {
                i = i.saturating_add(1)
            }
            Some(_) => return Err(UriError::InvalidLocalPart(i)),
        }
    }
}

fn scan_dot_atom(b: &[u8]) -> Result<usize, UriError> {
    let mut i = 0usize;
    let mut atom_len = 0usize;
    loop {
        let rest = b.get(i..).unwrap_or_default();
        match rest.first() {
            None | Some(b'?') => return Err(UriError::MissingAt),
            Some(b'@') if atom_len > 0 => return Ok(i),
            Some(b'.') if atom_len > 0 => {
                atom_len = 0;
                i = i.saturating_add(1);
            }
            Some(b'%') if is_hex_escape(rest) => {
                atom_len = atom_len.saturating_add(1);
                i = i.saturating_add(3);
            }
            Some(&c) if is_atext(c) || c >= 0x80 => {
                atom_len = atom_len.saturating_add(1);
                i = i.saturating_add(1);
            }
            Some(_) => return Err(UriError::InvalidLocalPart(i)),
        }
    }
}

fn check_domain(d: &str) -> Result<(), UriError> {
    let b = d.as_bytes();
    if b.is_empty() {
        return Err(UriError::EmptyDomain);
    }
    if let Some(inner) = b.strip_prefix(b"[") {
        let inner = inner.strip_suffix(b"]").ok_or(UriError::InvalidDomain)?;
        let dtext = |c: &u8| (0x21..=0x7e).contains(c) && !b"[]\\".contains(c);
        return if !inner.is_empty() && inner.iter().all(dtext) {
            Ok(())
        } else {
            Err(UriError::InvalidDomain)
        };
    }
    let atoms_ok = d
        .split('.')
        .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext));
    if atoms_ok {
        Ok(())
    } else {
        Err(UriError::InvalidDomain)
    }
}

/// RFC 2396 `uric` (reserved / unreserved / escaped), after splitting on `&`.
fn check_headers(q: &str) -> Result<(), UriError> {
    let uric = |b: &u8| b.is_ascii_alphanumeric() || b";/?:@&=+$,-_.!~*'()".contains(b);
    for h in q.split('&') {
        let bytes = h.as_bytes();
        if !bytes.contains(&b'=') {
            return Err(UriError::InvalidHeader);
        }
        let mut i = 0usize;
        while let Some(c) = bytes.get(i) {
            if *c == b'%' && is_hex_escape(bytes.get(i..).unwrap_or_default()) {
                i = i.saturating_add(3);
            } else if uric(c) {
                i = i.saturating_add(1);
            } else {
                return Err(UriError::InvalidHeader);
            }
        }
    }
    Ok(())
}

/// Writes `user` as a dot-atom local part, percent-encoding what cannot
/// stand raw (see [`ImUri::new`]).
fn encode_local(user: &str, out: &mut String) {
    let b = user.as_bytes();
    let mut i = 0usize;
    let mut prev_dot = true; // a leading dot is escaped
    while let Some(&c) = b.get(i) {
        let rest = b.get(i..).unwrap_or_default();
        if c == b'%' && is_hex_escape(rest) {
            out.push_str(user.get(i..i.saturating_add(3)).unwrap_or_default());
            i = i.saturating_add(3);
            prev_dot = false;
            continue;
        }
        let last = i.saturating_add(1) == b.len();
        if is_atext(c) || (c == b'.' && !prev_dot && !last) {
            out.push(char::from(c));
        } else {
            push_pct(out, c);
        }
        prev_dot = c == b'.';
        i = i.saturating_add(1);
    }
}

fn push_pct(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    for nibble in [b >> 4, b & 0x0f] {
        out.push(char::from(
            HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
        ));
    }
}

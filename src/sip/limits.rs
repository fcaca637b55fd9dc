//! Resource caps for incoming SIP messages (house style rule 11): header
//! block size, header count, body size and URI length. Every cap has its own
//! [`ParseErrorKind`](crate::sip::ParseErrorKind) variant, and the status it
//! maps to (RFC 3261 §21.4.11 413, §21.4.12 414, else 400) is chosen in
//! `sip::error`.
//!
//! This module only holds the numbers; [`frame`](crate::sip::frame) and
//! [`parse`](crate::sip::parse) enforce them. It does not bound transactions
//! or connections (see `sip::transaction` and `io`).

/// Caps applied by [`frame`](crate::sip::frame) and
/// [`parse`](crate::sip::parse). `Limits::default()` suits a gateway that
/// relays instant messages (RFC 3428 §8 keeps MESSAGE bodies small on UDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Maximum bytes of the start line plus header fields plus the empty
    /// line that ends them (RFC 3261 §7). Default 8192.
    pub max_header_bytes: usize,
    /// Maximum number of header fields (a folded field counts once; a
    /// comma-separated list on one line counts once). Default 64.
    pub max_headers: usize,
    /// Maximum message-body bytes, declared by Content-Length or present in
    /// a UDP datagram (RFC 3261 §20.14). Default 65536.
    pub max_body_bytes: usize,
    /// Maximum length in bytes of a URI: the Request-URI and the URIs of
    /// From/To (RFC 3261 §21.4.12 answers 414). Default 1024.
    pub max_uri_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 8192,
            max_headers: 64,
            max_body_bytes: 65536,
            max_uri_len: 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_docs() {
        let l = Limits::default();
        assert_eq!(
            (
                l.max_header_bytes,
                l.max_headers,
                l.max_body_bytes,
                l.max_uri_len
            ),
            (8192, 64, 65536, 1024)
        );
    }
}

//! Messages the gateway sends: [`OutgoingRequest`] and [`OutgoingResponse`]
//! with their wire encoding (RFC 3261 §7: start line, `Name: value` fields,
//! a computed Content-Length as §18.3/§20.14 require, empty line, body).
//!
//! Values are written as given; CR and LF inside a name or value are
//! replaced by SP so that no caller can inject header lines. It does not
//! check that mandatory headers are present: the translate and transaction
//! layers build them.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::Write as _;

use bytes::Bytes;

use crate::sip::{Method, StatusCode};

use super::header::{Known, classify};

/// A request to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: String,
    /// Header fields in order. A Content-Length here is ignored.
    pub headers: Vec<(String, String)>,
    /// The body, sent byte-exact.
    pub body: Bytes,
}

/// A response to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingResponse {
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase; `None` uses [`StatusCode::reason`].
    pub reason: Option<String>,
    /// Header fields in order. A Content-Length here is ignored.
    pub headers: Vec<(String, String)>,
    /// The body, sent byte-exact.
    pub body: Bytes,
}

impl OutgoingRequest {
    /// Appends a header field.
    pub fn push_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// Writes `METHOD uri SIP/2.0`, the headers, `Content-Length`, the
    /// empty line and the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_clean(out, self.method.as_str());
        out.push(b' ');
        put_clean(out, &self.uri);
        out.extend_from_slice(b" SIP/2.0\r\n");
        encode_rest(out, &self.headers, &self.body);
    }
}

impl OutgoingResponse {
    /// Appends a header field.
    pub fn push_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// Writes `SIP/2.0 code reason`, the headers, `Content-Length`, the
    /// empty line and the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "SIP/2.0 {} ", self.status.as_u16());
        put_clean(out, self.reason.as_deref().unwrap_or(self.status.reason()));
        out.extend_from_slice(b"\r\n");
        encode_rest(out, &self.headers, &self.body);
    }
}

fn encode_rest(out: &mut Vec<u8>, headers: &[(String, String)], body: &Bytes) {
    for (name, value) in headers {
        if classify(name.trim()) == Known::ContentLength {
            continue;
        }
        put_clean(out, name);
        out.extend_from_slice(b": ");
        put_clean(out, value);
        out.extend_from_slice(b"\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(body);
}

/// Appends `s` with CR and LF replaced by SP.
fn put_clean(out: &mut Vec<u8>, s: &str) {
    out.extend(
        s.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

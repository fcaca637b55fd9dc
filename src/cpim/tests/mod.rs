//! Unit tests for the cpim module (house style E.21: sibling test files).
//! Vectors live in `tests/vectors/cpim/` and are compiled in with
//! `include_bytes!`, so the tests need no working directory.

mod builder;
mod errors;
mod op;
mod parse;
mod prop;
mod rfc_examples;
mod uri;

use bytes::Bytes;

use super::CpimMessage;

/// Parses `s`, panicking with the error (tests only).
fn parse(s: &[u8]) -> CpimMessage {
    match CpimMessage::parse(Bytes::copy_from_slice(s)) {
        Ok(m) => m,
        Err(e) => panic!("parse failed: {e} ({:?})", e.kind()),
    }
}

/// A minimal valid message with the given CPIM headers and content.
fn msg(headers: &str, content: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"From: <im:a@example.com>\r\nTo: <im:b@example.org>\r\n");
    v.extend_from_slice(headers.as_bytes());
    v.extend_from_slice(b"\r\nContent-Type: text/plain\r\n\r\n");
    v.extend_from_slice(content);
    v
}

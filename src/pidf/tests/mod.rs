//! Unit tests for the pidf module (house style E.21: sibling test files).
//! Spec examples live in `tests/vectors/pidf/` and are compiled in with
//! `include_bytes!`, so the tests need no working directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod malicious;
mod mapping;
mod prop;
mod reader;
mod vectors;
mod writer;

use super::{Document, Extension, PidfError, build, parse};

/// Parses `bytes`, panicking with the error (tests only).
fn doc(bytes: &[u8]) -> Document {
    match parse(bytes) {
        Ok(d) => d,
        Err(e) => panic!("parse failed: {e}\n{}", String::from_utf8_lossy(bytes)),
    }
}

/// The property the fuzz target checks: an accepted document that the
/// writer accepts reads back equal.
fn round_trip(d: &Document) -> Vec<u8> {
    let bytes = match build(d) {
        Ok(b) => b,
        Err(e) => panic!("build failed: {e}\n{d:#?}"),
    };
    match parse(&bytes) {
        Ok(again) => assert_eq!(&again, d, "\n{}", String::from_utf8_lossy(&bytes)),
        Err(e) => panic!(
            "built document does not parse: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        ),
    }
    bytes
}

/// A presence document with `body` inside `<presence>`, PIDF as the default
/// namespace.
fn wrap(body: &str) -> Vec<u8> {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?>\n\
         <presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:a@example.com'>{body}</presence>"
    )
    .into_bytes()
}

/// An extension from a fragment (tests only).
fn ext(xml: &str) -> Extension {
    match Extension::from_xml(xml) {
        Ok(e) => e,
        Err(e) => panic!("bad fragment {xml}: {e}"),
    }
}

fn err(bytes: &[u8]) -> PidfError {
    match parse(bytes) {
        Ok(d) => panic!("expected an error, got {d:#?}"),
        Err(e) => e,
    }
}

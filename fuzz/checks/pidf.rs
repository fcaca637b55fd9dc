//! Fuzz checks for the PIDF reader and writer (RFC 3863, RFC 4479,
//! RFC 4480, RFC 7248 `<show/>`), house style B.13; the checks behind `fuzz_targets/pidf.rs`.
//!
//! Properties: parsing never panics; a document the reader accepts is
//! either written and read back as the same model (`parse(build(doc)) ==
//! doc`, extensions included, through their canonical fragment text), or
//! refused by the writer only for what the reader tolerates and the writer
//! does not: no tuples, a `<dm:person>` without id, a contact priority that
//! is not a qvalue, or an id used twice across tuples and persons.

use cpim_gateway::pidf::{PidfError, build, parse};

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    let Ok(doc) = parse(data) else { return };
    match build(&doc) {
        Ok(bytes) => match parse(&bytes) {
            Ok(again) => assert_eq!(again, doc, "\n{}", String::from_utf8_lossy(&bytes)),
            Err(e) => panic!(
                "built document does not parse: {e}\n{}",
                String::from_utf8_lossy(&bytes)
            ),
        },
        Err(
            PidfError::ZeroTuples
            | PidfError::MissingPersonId
            | PidfError::BadPriority { .. }
            | PidfError::DuplicateId { .. },
        ) => {}
        Err(e) => panic!("read but not written: {e}\n{doc:#?}"),
    }
}

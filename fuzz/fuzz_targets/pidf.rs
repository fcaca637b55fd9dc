//! Fuzz target for the PIDF reader and writer (RFC 3863, RFC 4479,
//! RFC 4480, RFC 7248 `<show/>`), house style B.13.
//!
//! Properties: parsing never panics; a document the reader accepts is
//! either written and read back as the same model (`parse(build(doc)) ==
//! doc`, extensions included, through their canonical fragment text), or
//! refused by the writer only for what the reader tolerates and the writer
//! does not: no tuples, a `<dm:person>` without id, a contact priority that
//! is not a qvalue, or an id used twice across tuples and persons.

#![no_main]

use cpim_gateway::pidf::{PidfError, build, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});

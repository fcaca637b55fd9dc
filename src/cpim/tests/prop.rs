use bytes::Bytes;
use proptest::prelude::*;

use crate::cpim::{CpimBuilder, CpimMessage, ImUri};

/// The fuzz target's property: parse never panics, keeps the bytes, and an
/// accepted message survives to_builder → build → parse semantically.
fn check_round_trip(input: &[u8]) {
    let bytes = Bytes::copy_from_slice(input);
    match CpimMessage::parse(bytes.clone()) {
        Ok(m) => {
            assert_eq!(m.as_bytes(), &bytes);
            let b = m.to_builder();
            let again = CpimMessage::parse(b.to_bytes()).unwrap();
            assert_eq!(again.to_builder(), b);
        }
        Err(e) => assert!(e.offset() <= input.len()),
    }
    if let Ok(s) = std::str::from_utf8(input) {
        let _ = ImUri::parse(s);
    }
}

fn header_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "(From|To|cc|Subject|NS|Require|DateTime|x\\.Y|Z)(:| :|:;lang=fr|:;a=\"b c\") ?[ -~]{0,20}",
        Just("cc: <im:x@y>".to_owned()),
        Just("DateTime: 2001-02-03T04:05:06Z".to_owned()),
        Just("NS: P <urn:p>".to_owned()),
        "[ -~\\t\\u{e9}\\u{1}]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_round_trip(&input);
    }

    #[test]
    fn structured_inputs_round_trip(
        lines in proptest::collection::vec(header_line(), 0..8),
        eol in prop_oneof![Just("\r\n"), Just("\n")],
        mime in proptest::collection::vec("(Content-Type|Content-ID|X)(:|: ) ?[ -~]{0,10}", 0..3),
        body in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut v = format!("From: <im:a@b>{eol}To: Bob <im:c@d>{eol}");
        for l in &lines {
            v.push_str(l);
            v.push_str(eol);
        }
        v.push_str(eol);
        v.push_str("Content-Type: a/b");
        v.push_str(eol);
        for l in &mime {
            v.push_str(l);
            v.push_str(eol);
        }
        v.push_str(eol);
        let mut input = v.into_bytes();
        input.extend_from_slice(&body);
        check_round_trip(&input);
    }

    #[test]
    fn built_messages_round_trip_exactly(
        display in proptest::option::of("\\PC{0,12}"),
        subject in "\\PC{0,20}|[\\u{0}-\\u{7f}]{0,20}",
        value in "[\\u{0}-\\u{7f}]{0,20}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let a = ImUri::parse("im:a@example.com").unwrap();
        let b = ImUri::parse("im:b@example.org").unwrap();
        let builder = CpimBuilder::new((display.as_deref(), a), (None, b))
            .subject(Some("en"), &subject).unwrap()
            .ns("P", "urn:p").unwrap()
            .header("P.Ext", &value).unwrap()
            .content("application/octet-stream", &[], Bytes::from(body.clone())).unwrap();
        let out = builder.to_bytes();
        let m = CpimMessage::parse(out.clone()).unwrap();
        prop_assert_eq!(m.content(), Bytes::from(body));
        prop_assert_eq!(m.as_bytes(), &out);
        prop_assert_eq!(m.to_builder(), builder);
    }
}

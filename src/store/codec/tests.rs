//! Codec tests: exact bytes, every error, the limits, and two properties
//! (round trip of any field sequence; arbitrary bytes never panic).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use proptest::prelude::*;

use super::*;

const KIND: u8 = 7;

#[test]
fn layout_is_as_documented() {
    let mut enc = Encoder::new(KIND, 3);
    enc.u8(0xab).u16(0x0102).u32(0x0304_0506).bool(true);
    enc.u64(1).i64(-2).opt_u64(None).opt_u64(Some(9));
    enc.str("hé").unwrap().bytes(&[0, 255]).unwrap();
    enc.opt_str(None).unwrap().opt_str(Some("x")).unwrap();
    enc.list_str(&["a", ""]).unwrap();
    let bytes = enc.finish();
    let expected: Vec<u8> = [
        &[KIND, 3, 0xab, 1, 2, 3, 4, 5, 6, 1][..],
        &[0, 0, 0, 0, 0, 0, 0, 1],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe],
        &[0],
        &[1, 0, 0, 0, 0, 0, 0, 0, 9],
        &[0, 0, 0, 3, b'h', 0xc3, 0xa9],
        &[0, 0, 0, 2, 0, 255],
        &[0],
        &[1, 0, 0, 0, 1, b'x'],
        &[0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 0],
    ]
    .concat();
    assert_eq!(bytes, expected);

    let (mut dec, version) = Decoder::new(&bytes, KIND).unwrap();
    assert_eq!(version, 3);
    assert_eq!(dec.u8().unwrap(), 0xab);
    assert_eq!(dec.u16().unwrap(), 0x0102);
    assert_eq!(dec.u32().unwrap(), 0x0304_0506);
    assert!(dec.bool().unwrap());
    assert_eq!(dec.u64().unwrap(), 1);
    assert_eq!(dec.i64().unwrap(), -2);
    assert_eq!(dec.opt_u64().unwrap(), None);
    assert_eq!(dec.opt_u64().unwrap(), Some(9));
    assert_eq!(dec.str().unwrap(), "hé");
    assert_eq!(dec.bytes().unwrap(), &[0, 255]);
    assert_eq!(dec.opt_str().unwrap(), None);
    assert_eq!(dec.opt_str().unwrap(), Some("x"));
    assert_eq!(dec.list_str().unwrap(), vec!["a", ""]);
    dec.end().unwrap();
}

#[test]
fn header_errors() {
    assert_eq!(
        Decoder::new(&[], KIND).unwrap_err(),
        CodecError::Truncated {
            field: "header",
            offset: 0
        }
    );
    assert!(matches!(
        Decoder::new(&[KIND], KIND),
        Err(CodecError::Truncated { .. })
    ));
    assert_eq!(
        Decoder::new(&[8, 1], KIND).unwrap_err(),
        CodecError::WrongKind {
            expected: KIND,
            found: 8
        }
    );
}

#[test]
fn truncated_field_reports_its_offset() {
    let (mut dec, _) = Decoder::new(&[KIND, 1, 0, 0, 0], KIND).unwrap();
    assert_eq!(
        dec.u32().unwrap_err(),
        CodecError::Truncated {
            field: "u32",
            offset: 2
        }
    );
    // A length prefix promising more than is there.
    let (mut dec, _) = Decoder::new(&[KIND, 1, 0, 0, 0, 5, b'a'], KIND).unwrap();
    assert_eq!(
        dec.str().unwrap_err(),
        CodecError::Truncated {
            field: "str",
            offset: 2
        }
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let (mut dec, _) = Decoder::new(&[KIND, 1, 4, 5, 6], KIND).unwrap();
    dec.u8().unwrap();
    assert_eq!(
        dec.end().unwrap_err(),
        CodecError::TrailingBytes {
            offset: 3,
            count: 2
        }
    );
}

#[test]
fn bad_markers_and_utf8() {
    let (mut dec, _) = Decoder::new(&[KIND, 1, 2], KIND).unwrap();
    assert_eq!(
        dec.bool().unwrap_err(),
        CodecError::InvalidTag {
            field: "bool",
            offset: 2,
            tag: 2
        }
    );
    let (mut dec, _) = Decoder::new(&[KIND, 1, 7], KIND).unwrap();
    assert!(matches!(
        dec.opt_str(),
        Err(CodecError::InvalidTag { tag: 7, .. })
    ));
    let (mut dec, _) = Decoder::new(&[KIND, 1, 0xff], KIND).unwrap();
    assert!(matches!(
        dec.opt_u64(),
        Err(CodecError::InvalidTag { tag: 0xff, .. })
    ));
    let (mut dec, _) = Decoder::new(&[KIND, 1, 0, 0, 0, 1, 0xff], KIND).unwrap();
    assert_eq!(
        dec.str().unwrap_err(),
        CodecError::InvalidUtf8 {
            field: "str",
            offset: 2
        }
    );
}

#[test]
fn string_limit_on_encode_and_decode() {
    let at_limit = "a".repeat(MAX_LEN);
    let over = "a".repeat(MAX_LEN + 1);
    let mut enc = Encoder::new(KIND, 1);
    enc.str(&at_limit).unwrap();
    assert!(matches!(
        enc.str(&over),
        Err(CodecError::TooLong { len, max: MAX_LEN, .. }) if len == (MAX_LEN + 1) as u64
    ));
    assert!(enc.bytes(over.as_bytes()).is_err());
    assert!(enc.opt_str(Some(&over)).is_err());
    // The refused writes left nothing behind.
    let bytes = enc.finish();
    assert_eq!(bytes.len(), 2 + 4 + MAX_LEN);
    let (mut dec, _) = Decoder::new(&bytes, KIND).unwrap();
    assert_eq!(dec.str().unwrap().len(), MAX_LEN);
    dec.end().unwrap();

    // A prefix over the limit is refused before the body is looked at.
    let (mut dec, _) = Decoder::new(&[KIND, 1, 0, 1, 0, 1], KIND).unwrap();
    assert_eq!(
        dec.bytes().unwrap_err(),
        CodecError::TooLong {
            field: "bytes",
            offset: 2,
            len: 65_537,
            max: MAX_LEN
        }
    );
    let (mut dec, _) = Decoder::new(&[KIND, 1, 0xff, 0xff, 0xff, 0xff], KIND).unwrap();
    assert!(matches!(dec.str(), Err(CodecError::TooLong { .. })));
}

#[test]
fn list_limit_on_encode_and_decode() {
    let full = vec![""; MAX_ITEMS];
    let mut enc = Encoder::new(KIND, 1);
    enc.list_str(&full).unwrap();
    let over = vec![""; MAX_ITEMS + 1];
    assert!(matches!(
        enc.list_str(&over),
        Err(CodecError::TooLong { max: MAX_ITEMS, .. })
    ));
    let long_item = ["a".repeat(MAX_LEN + 1)];
    assert!(enc.list_str(&long_item).is_err());
    let bytes = enc.finish();
    let (mut dec, _) = Decoder::new(&bytes, KIND).unwrap();
    assert_eq!(dec.list_str().unwrap().len(), MAX_ITEMS);
    dec.end().unwrap();

    let (mut dec, _) = Decoder::new(&[KIND, 1, 0, 0, 0x10, 0x01], KIND).unwrap();
    assert!(matches!(
        dec.list_str(),
        Err(CodecError::TooLong { len: 4097, .. })
    ));
    // A count the input cannot hold fails without a large allocation.
    let (mut dec, _) = Decoder::new(&[KIND, 1, 0, 0, 0x10, 0x00], KIND).unwrap();
    assert!(matches!(
        dec.list_str(),
        Err(CodecError::Truncated { offset: 6, .. })
    ));
}

#[test]
fn errors_read_well() {
    let err = CodecError::TooLong {
        field: "str",
        offset: 12,
        len: 70_000,
        max: MAX_LEN,
    };
    assert_eq!(
        err.to_string(),
        "record: str at byte 12: length 70000 over the limit of 65536"
    );
}

/// One field of a generated record.
#[derive(Clone, Debug, PartialEq)]
enum Field {
    Bool(bool),
    Bytes(Vec<u8>),
    I64(i64),
    ListStr(Vec<String>),
    OptStr(Option<String>),
    OptU64(Option<u64>),
    Str(String),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        any::<bool>().prop_map(Field::Bool),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Field::Bytes),
        any::<i64>().prop_map(Field::I64),
        proptest::collection::vec(".{0,12}", 0..6).prop_map(Field::ListStr),
        proptest::option::of(".{0,20}").prop_map(Field::OptStr),
        any::<Option<u64>>().prop_map(Field::OptU64),
        ".{0,30}".prop_map(Field::Str),
        any::<u8>().prop_map(Field::U8),
        any::<u16>().prop_map(Field::U16),
        any::<u32>().prop_map(Field::U32),
        any::<u64>().prop_map(Field::U64),
    ]
}

fn encode(kind: u8, version: u8, fields: &[Field]) -> Vec<u8> {
    let mut enc = Encoder::new(kind, version);
    for f in fields {
        match f {
            Field::Bool(v) => {
                enc.bool(*v);
            }
            Field::Bytes(v) => {
                enc.bytes(v).unwrap();
            }
            Field::I64(v) => {
                enc.i64(*v);
            }
            Field::ListStr(v) => {
                enc.list_str(v).unwrap();
            }
            Field::OptStr(v) => {
                enc.opt_str(v.as_deref()).unwrap();
            }
            Field::OptU64(v) => {
                enc.opt_u64(*v);
            }
            Field::Str(v) => {
                enc.str(v).unwrap();
            }
            Field::U8(v) => {
                enc.u8(*v);
            }
            Field::U16(v) => {
                enc.u16(*v);
            }
            Field::U32(v) => {
                enc.u32(*v);
            }
            Field::U64(v) => {
                enc.u64(*v);
            }
        }
    }
    enc.finish()
}

/// Reads a field shaped like `like`.
fn read(dec: &mut Decoder<'_>, like: &Field) -> Result<Field, CodecError> {
    Ok(match like {
        Field::Bool(_) => Field::Bool(dec.bool()?),
        Field::Bytes(_) => Field::Bytes(dec.bytes()?.to_vec()),
        Field::I64(_) => Field::I64(dec.i64()?),
        Field::ListStr(_) => {
            Field::ListStr(dec.list_str()?.into_iter().map(str::to_owned).collect())
        }
        Field::OptStr(_) => Field::OptStr(dec.opt_str()?.map(str::to_owned)),
        Field::OptU64(_) => Field::OptU64(dec.opt_u64()?),
        Field::Str(_) => Field::Str(dec.str()?.to_owned()),
        Field::U8(_) => Field::U8(dec.u8()?),
        Field::U16(_) => Field::U16(dec.u16()?),
        Field::U32(_) => Field::U32(dec.u32()?),
        Field::U64(_) => Field::U64(dec.u64()?),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(
        kind in any::<u8>(),
        version in any::<u8>(),
        fields in proptest::collection::vec(field(), 0..12),
    ) {
        let bytes = encode(kind, version, &fields);
        let (mut dec, got_version) = Decoder::new(&bytes, kind).unwrap();
        prop_assert_eq!(got_version, version);
        for f in &fields {
            prop_assert_eq!(&read(&mut dec, f).unwrap(), f);
        }
        prop_assert!(dec.end().is_ok());
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        shape in proptest::collection::vec(field(), 0..16),
    ) {
        // Read with an arbitrary sequence of readers until one fails.
        if let Ok((mut dec, _)) = Decoder::new(&bytes, bytes.first().copied().unwrap_or(0)) {
            let mut failed = false;
            for f in &shape {
                if read(&mut dec, f).is_err() {
                    failed = true;
                    break;
                }
            }
            if !failed {
                let _ = dec.end();
            }
        }
    }

    #[test]
    fn truncating_a_record_is_an_error_not_a_panic(
        fields in proptest::collection::vec(field(), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = encode(KIND, 1, &fields);
        let cut = cut.index(bytes.len());
        let short = &bytes[..cut];
        let outcome = Decoder::new(short, KIND).and_then(|(mut dec, _)| {
            for f in &fields {
                read(&mut dec, f)?;
            }
            dec.end()
        });
        prop_assert!(outcome.is_err());
    }
}

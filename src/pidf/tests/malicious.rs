//! Hostile and broken input: DTDs and entities (XXE, billion laughs),
//! nesting, size, tuple count, bad characters, bad encodings and syntax.
//! Each is refused with its own error, never a panic.

use super::{err, wrap};
use crate::pidf::{MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_TUPLES, PidfError, parse};

#[test]
fn doctype_and_entities_are_refused() {
    let xxe =
        b"<?xml version='1.0'?>\n<!DOCTYPE presence [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n\
        <presence xmlns='urn:ietf:params:xml:ns:pidf' entity='&x;'/>";
    assert!(matches!(err(xxe), PidfError::Doctype { .. }));
    let laughs = b"<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]>\
        <presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:a@b'><note>&lol2;</note></presence>";
    assert!(matches!(err(laughs), PidfError::Doctype { .. }));
    assert!(matches!(
        err(b"<!DOCTYPE presence SYSTEM 'http://example.com/x.dtd'><presence/>"),
        PidfError::Doctype { .. }
    ));
    // Without a DTD, only the predefined entities exist.
    assert!(matches!(
        err(&wrap("<note>&nbsp;</note>")),
        PidfError::UnknownEntity { .. }
    ));
    assert!(matches!(
        err(&wrap("<tuple id='&nbsp;'/>")),
        PidfError::UnknownEntity { .. }
    ));
}

#[test]
fn nesting_is_capped() {
    let nest = |n: usize| {
        let mut s = String::from("<tuple id='t'>");
        for _ in 0..n {
            s.push_str("<e:x xmlns:e='urn:e'>");
        }
        for _ in 0..n {
            s.push_str("</e:x>");
        }
        s.push_str("</tuple>");
        wrap(&s)
    };
    // presence and tuple take two levels.
    assert!(parse(&nest(MAX_DEPTH - 2)).is_ok());
    assert_eq!(
        err(&nest(MAX_DEPTH - 1)),
        PidfError::TooDeep { max: MAX_DEPTH }
    );
    // Deep unclosed input fails on depth before anything else.
    let open = "<a>".repeat(10_000);
    assert_eq!(err(open.as_bytes()), PidfError::TooDeep { max: MAX_DEPTH });
    let empty_at_limit = format!(
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:a@b'>{}<x/>{}</presence>",
        "<x>".repeat(MAX_DEPTH - 1),
        "</x>".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(
        err(empty_at_limit.as_bytes()),
        PidfError::TooDeep { max: MAX_DEPTH }
    );
}

#[test]
fn size_is_capped() {
    let mut big = wrap(&format!("<note>{}</note>", "a".repeat(MAX_DOCUMENT_BYTES)));
    assert_eq!(
        err(&big),
        PidfError::TooLarge {
            len: big.len(),
            max: MAX_DOCUMENT_BYTES
        }
    );
    big.truncate(MAX_DOCUMENT_BYTES);
    // Exactly at the limit it is read (and here found truncated).
    assert!(matches!(
        err(&big),
        PidfError::Malformed { .. } | PidfError::NotXml { .. }
    ));
}

#[test]
fn tuple_count_is_capped() {
    let tuples = |n: usize| {
        let body: String = (0..n).map(|i| format!("<tuple id='t{i}'/>")).collect();
        wrap(&body)
    };
    assert_eq!(
        parse(&tuples(MAX_TUPLES)).map(|d| d.tuples.len()),
        Ok(MAX_TUPLES)
    );
    assert_eq!(
        err(&tuples(MAX_TUPLES + 1)),
        PidfError::TooManyTuples { max: MAX_TUPLES }
    );
}

#[test]
fn characters_xml_forbids_are_refused() {
    assert!(matches!(
        err(&wrap("<note>\u{1}</note>")),
        PidfError::InvalidChar { .. }
    ));
    assert!(matches!(
        err(&wrap("<note>&#1;</note>")),
        PidfError::InvalidChar { .. }
    ));
    assert!(matches!(
        err(&wrap("<note>&#0;</note>")),
        PidfError::InvalidChar { .. }
    ));
    assert!(matches!(
        err(&wrap("<note>&#xFFFE;</note>")),
        PidfError::InvalidChar { .. }
    ));
    assert!(matches!(
        err(&wrap("<note>&#xD800;</note>")),
        PidfError::InvalidChar { .. }
    ));
    assert!(matches!(
        err(&wrap("<note>&#99999999;</note>")),
        PidfError::InvalidChar { .. }
    ));
    assert!(matches!(
        err(&wrap("<tuple id='&#2;'/>")),
        PidfError::InvalidChar { .. }
    ));
    assert!(matches!(
        err(&wrap("<note>\u{FFFF}</note>")),
        PidfError::InvalidChar { .. }
    ));
}

#[test]
fn encodings_other_than_utf8_are_refused() {
    assert_eq!(
        err(b"<presence entity='\xff'/>"),
        PidfError::NotUtf8 { offset: 18 }
    );
    // UTF-16 with its byte order mark.
    assert!(matches!(
        err(b"\xFF\xFE<\0p\0/\0>\0"),
        PidfError::NotUtf8 { .. }
    ));
}

#[test]
fn broken_syntax_is_refused() {
    for text in [
        "",
        "   ",
        "not xml",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'></tuple>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'/><presence/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'/>trailing",
        "leading<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x' entity='y'/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity=x/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='a<b'/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'><note>&amp</note></presence>",
        "<p:presence entity='x'/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' q:entity='x'/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:a='urn:a' xmlns:b='urn:a' a:x='1' b:x='2' entity='x'/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf&amp;' entity='x'/>",
        "<1presence/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'><xmlns:a/></presence>",
        " <?xml version='1.0'?><presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'/>x",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'><?xml version='1.0'?></presence>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'><![CDATA[x]]></presence><![CDATA[y]]>",
    ] {
        assert!(parse(text.as_bytes()).is_err(), "accepted: {text:?}");
    }
    assert!(matches!(
        err(b"<p:presence entity='x'/>"),
        PidfError::UnboundPrefix { .. }
    ));
}

#[test]
fn xml_declaration_may_follow_white_space_only() {
    assert!(
        parse(b"\n<?xml version='1.0'?><presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'/>")
            .is_ok()
    );
    assert!(parse(b"<!-- c --><?xml version='1.0'?><presence xmlns='urn:ietf:params:xml:ns:pidf' entity='x'/>").is_err());
}

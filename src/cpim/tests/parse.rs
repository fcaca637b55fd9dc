use bytes::Bytes;

use super::{msg, parse};
use crate::cpim::{CpimMessage, DateTime, ImUri, unescape};

const EXAMPLE: &[u8] = include_bytes!("../../../tests/vectors/cpim/rfc3862-example.txt");
const BARE_LF: &[u8] = include_bytes!("../../../tests/vectors/cpim/bare-lf.txt");
const NO_SEP: &[u8] = include_bytes!("../../../tests/vectors/cpim/rfc7702-no-separator.txt");
const ODD: &[u8] = include_bytes!("../../../tests/vectors/cpim/odd-spacing-mixed-case.txt");

#[test]
fn rfc3862_example_accessors() {
    let m = parse(EXAMPLE);
    assert_eq!(m.as_bytes().as_ref(), EXAMPLE);
    let from = m.from();
    assert_eq!(from.display(), Some("MR SANDERS"));
    assert_eq!(from.uri(), "im:piglet@100akerwood.com");
    assert_eq!(
        from.im_uri().unwrap(),
        ImUri::parse("im:piglet@100akerwood.com").unwrap()
    );
    let to = m.to();
    assert_eq!(to.len(), 1);
    assert_eq!(to[0].display(), Some("Depressed Donkey"));
    assert!(m.cc().is_empty());
    assert_eq!(m.date_time(), Some("2000-12-13T13:40:00-08:00"));
    let dt = m.date_time_parsed().unwrap();
    assert_eq!(
        (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second),
        (2000, 12, 13, 13, 40, 0)
    );
    assert_eq!(dt.offset_minutes, -480);
    assert_eq!(dt.unix_seconds(), 976_743_600);
    let subjects = m.subject();
    assert_eq!(subjects.len(), 2);
    assert_eq!(subjects[0], (None, "the weather will be fine today".into()));
    assert_eq!(
        subjects[1],
        (Some("fr"), "beau temps prevu pour aujourd'hui".into())
    );
    assert_eq!(
        m.ns(),
        vec![(Some("MyFeatures"), "mid:MessageFeatures@id.foo.com")]
    );
    assert_eq!(m.require(), vec!["MyFeatures.VitalMessageOption"]);
    let ext: Vec<_> = m
        .extension_headers()
        .map(|h| (h.prefix(), h.local_name(), h.value()))
        .collect();
    assert_eq!(
        ext,
        vec![
            (
                Some("MyFeatures"),
                "VitalMessageOption",
                "Confirmation-requested"
            ),
            (Some("MyFeatures"), "WackyMessageOption", "Use-silly-font"),
        ]
    );
    assert_eq!(m.headers().count(), 9);
    assert_eq!(m.content_type(), Some("text/xml; charset=utf-8"));
    let mime: Vec<_> = m.content_headers().collect();
    assert_eq!(
        mime,
        vec![
            ("Content-type", "text/xml; charset=utf-8"),
            ("Content-ID", "<1234567890@foo.com>")
        ]
    );
    assert_eq!(
        m.content().as_ref(),
        b"<body>\r\nOur honey pot is empty again; please bring more.\r\n</body>\r\n"
    );
    let entity = m.content_entity();
    assert!(entity.starts_with(b"Content-type: text/xml"));
    assert!(EXAMPLE.ends_with(&entity));
    assert!(!m.separator_missing());
}

#[test]
fn header_views_expose_name_params_and_offsets() {
    let m = parse(EXAMPLE);
    let h = m.headers().nth(4).unwrap();
    assert_eq!(h.name(), "Subject");
    assert_eq!(h.prefix(), None);
    assert_eq!(h.local_name(), "Subject");
    assert_eq!(h.lang(), Some("fr"));
    assert_eq!(h.params().collect::<Vec<_>>(), vec![("lang", "fr")]);
    assert_eq!(&EXAMPLE[h.offset()..h.offset() + 8], b"Subject:");
}

#[test]
fn bare_lf_is_accepted_and_kept() {
    let m = parse(BARE_LF);
    assert_eq!(m.as_bytes().as_ref(), BARE_LF);
    assert_eq!(m.from().uri(), "im:juliet@capulet.example");
    assert_eq!(m.from().display(), None);
    assert_eq!(m.date_time_parsed().unwrap().second, 60);
    assert_eq!(m.content().as_ref(), b"Wherefore art thou?\n");
    assert_eq!(m.content_type(), Some("text/plain; charset=utf-8"));
}

#[test]
fn missing_separator_is_repaired() {
    let m = parse(NO_SEP);
    assert!(m.separator_missing());
    assert_eq!(m.headers().count(), 3);
    assert_eq!(m.content_type(), Some("text/plain"));
    assert_eq!(m.content().as_ref(), b"hello room");
    assert!(
        m.content_entity()
            .starts_with(b"Content-Type: text/plain\r\n\r\n")
    );
}

#[test]
fn odd_spacing_mixed_case_escapes_and_folding() {
    let m = parse(ODD);
    assert_eq!(m.as_bytes().as_ref(), ODD);
    assert_eq!(m.from().display(), Some("Bob \"the builder\""));
    assert_eq!(m.from().uri(), "im:bob@example.net");
    assert_eq!(m.to()[0].uri(), "im:carol@Example.NET");
    let cc: Vec<_> = m
        .cc()
        .iter()
        .map(|a| (a.display().map(str::to_owned), a.uri().to_owned()))
        .collect();
    assert_eq!(
        cc,
        vec![
            (Some("Dave".into()), "im:dave@example.net".into()),
            (None, "im:erin@example.net".into())
        ]
    );
    let subj = m.subject();
    assert_eq!(
        subj,
        vec![(Some("en-GB"), "colour été \\ tab\there".into())]
    );
    let sh = m.headers().find(|h| h.name() == "subject").unwrap();
    assert_eq!(
        sh.params().collect::<Vec<_>>(),
        vec![("lang", "en-GB"), ("x", "\"a b\"")]
    );
    assert_eq!(sh.value(), "colour \\u00e9t\\u00E9 \\\\ tab\\there");
    let ext: Vec<_> = m
        .extension_headers()
        .map(|h| (h.name(), h.unescaped_value().into_owned()))
        .collect();
    assert_eq!(
        ext,
        vec![
            ("x.Custom", "value\nline2".into()),
            ("Unknown-Header", "kept as is".into())
        ]
    );
    assert_eq!(m.content_type(), Some("text/plain"));
    let disp = m.content_headers().nth(1).unwrap();
    assert_eq!(
        disp,
        ("Content-Disposition", "inline;\r\n  filename=\"a.txt\"")
    );
}

#[test]
fn unescape_rules() {
    assert_eq!(unescape("plain"), "plain");
    assert_eq!(
        unescape(r#"a\\b\"c\'d\be\tf\ng\rh"#),
        "a\\b\"c'd\u{8}e\tf\ng\rh"
    );
    assert_eq!(unescape(r"\u0041\u00e9\u20AC"), "Aé€");
    assert_eq!(unescape(r"\uD83D\uDE00"), "😀");
    assert_eq!(unescape(r"\uD83Dx"), "\u{fffd}x");
    assert_eq!(unescape(r"\uZZ"), "uZZ");
    assert_eq!(unescape(r"\q"), "q");
    assert_eq!(unescape("end\\"), "end");
}

#[test]
fn names_match_case_insensitively_but_prefixed_core_names_are_extensions() {
    let m = parse(&msg(
        "SUBJECT: hi\r\nx.From: not core\r\nrequire: a, b ,c\r\nREQUIRE: d\r\n",
        b"",
    ));
    assert_eq!(m.subject(), vec![(None, "hi".into())]);
    assert_eq!(m.require(), vec!["a", "b", "c", "d"]);
    assert_eq!(m.from().uri(), "im:a@example.com");
    assert_eq!(
        m.extension_headers().map(|h| h.name()).collect::<Vec<_>>(),
        vec!["x.From"]
    );
}

#[test]
fn namespaces_default_and_prefixed() {
    let m = parse(&msg(
        "NS: <urn:example:default>\r\nNS: P <http://example.com/ns>\r\nP.Foo: bar\r\n",
        b"",
    ));
    assert_eq!(
        m.ns(),
        vec![
            (None, "urn:example:default"),
            (Some("P"), "http://example.com/ns")
        ]
    );
}

#[test]
fn name_addr_variants() {
    let m = parse(&msg(
        "cc: im:bare@example.com\r\ncc: \"\" <im:empty@x>\r\ncc: <sip:gr@x> ;gr=urn:uuid:1\r\ncc: Mr\\tX <tel:+1555>\r\n",
        b"",
    ));
    let cc = m.cc();
    assert_eq!(cc[0].uri(), "im:bare@example.com");
    assert_eq!(cc[0].display(), None);
    assert_eq!(cc[1].display(), Some(""));
    assert_eq!(cc[2].uri(), "sip:gr@x");
    assert_eq!(cc[2].trailing_params(), ";gr=urn:uuid:1");
    assert!(cc[2].im_uri().is_err());
    assert_eq!(cc[3].display(), Some("Mr\tX"));
}

#[test]
fn byte_identity_for_many_variants() {
    let mut binary = msg("", b"");
    binary.extend_from_slice(&[0, 1, 2, 0xff, 0xfe, b'\r', b'\n', b'\r', 0, b'\n']);
    let variants: Vec<Vec<u8>> = vec![
        EXAMPLE.to_vec(),
        BARE_LF.to_vec(),
        NO_SEP.to_vec(),
        ODD.to_vec(),
        binary,
        msg("Subject: tabs\\tand \\\"quotes\\\"\r\n", b"\r\n\r\n"),
        b"From:<im:a@b>\nTo:<im:c@d>\r\n\ncontent-type:x/y\n\r\n".to_vec(),
        msg("", b""),
    ];
    for v in variants {
        let m = CpimMessage::parse(Bytes::from(v.clone())).unwrap();
        assert_eq!(m.as_bytes().as_ref(), v.as_slice());
    }
}

#[test]
fn binary_content_is_sliced_exactly() {
    let body: Vec<u8> = (0..=255u8).chain([0, 0, b'\r']).collect();
    let m = parse(&msg("", &body));
    assert_eq!(m.content().as_ref(), body.as_slice());
}

#[test]
fn date_time_parser() {
    let ok = [
        "1985-04-12T23:20:50.52Z",
        "1996-12-19T16:39:57-08:00",
        "1990-12-31t23:59:60z",
        "2000-02-29 00:00:00+14:00",
    ];
    for s in ok {
        assert!(DateTime::parse(s).is_some(), "{s}");
    }
    let dt = DateTime::parse("1985-04-12T23:20:50.52Z").unwrap();
    assert_eq!(dt.nanos, 520_000_000);
    assert_eq!(dt.unix_seconds(), 482_196_050);
    let bad = [
        "1985-04-12",
        "1985-04-12T23:20:50",
        "1985-13-12T23:20:50Z",
        "1900-02-29T00:00:00Z",
        "1985-04-31T00:00:00Z",
        "1985-04-12T24:00:00Z",
        "1985-04-12T23:20:50.Z",
        "1985-04-12T23:20:50+0100",
        "1985-04-12T23:20:50Zjunk",
        "１985-04-12T23:20:50Z",
    ];
    for s in bad {
        assert!(DateTime::parse(s).is_none(), "{s}");
    }
}

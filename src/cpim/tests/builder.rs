use bytes::Bytes;

use super::parse;
use crate::cpim::{BuildError, CORE_NAMESPACE, CpimBuilder, CpimMessage, ImUri};

fn im(s: &str) -> ImUri {
    ImUri::parse(s).unwrap()
}

fn full() -> CpimBuilder {
    CpimBuilder::new(
        (Some("MR SANDERS"), im("im:piglet@100akerwood.com")),
        (None, im("im:eeyore@100akerwood.com")),
    )
    .to((Some("Rabbit \"R\""), im("im:rabbit@100akerwood.com")))
    .cc((Some(" spaced "), im("im:owl@100akerwood.com")))
    .date_time("2000-12-13T13:40:00-08:00")
    .unwrap()
    .subject(None, "tab\there \\ and \"quotes\"")
    .unwrap()
    .subject(Some("fr"), " bonjour ")
    .unwrap()
    .ns("MyFeatures", "mid:MessageFeatures@id.foo.com")
    .unwrap()
    .ns_default(CORE_NAMESPACE)
    .unwrap()
    .require("MyFeatures.VitalMessageOption")
    .unwrap()
    .require("Locale.MustRenderKanji")
    .unwrap()
    .header(
        "MyFeatures.VitalMessageOption",
        "Confirmation-requested\r\nline\u{1}",
    )
    .unwrap()
    .content(
        "text/xml; charset=utf-8",
        &[("Content-ID", "<1234@foo.com>")],
        Bytes::from_static(b"<body>\0\r\n</body>"),
    )
    .unwrap()
}

#[test]
fn output_is_canonical() {
    let out = full().to_bytes();
    let expected: &[u8] = b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
To: <im:eeyore@100akerwood.com>\r\n\
To: \"Rabbit \\\"R\\\"\" <im:rabbit@100akerwood.com>\r\n\
cc: \" spaced \" <im:owl@100akerwood.com>\r\n\
DateTime: 2000-12-13T13:40:00-08:00\r\n\
Subject: tab\\there \\\\ and \"quotes\"\r\n\
Subject:;lang=fr \\u0020bonjour\\u0020\r\n\
NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
NS: <urn:ietf:params:cpim-headers:>\r\n\
Require: MyFeatures.VitalMessageOption,Locale.MustRenderKanji\r\n\
MyFeatures.VitalMessageOption: Confirmation-requested\\r\\nline\\u0001\r\n\
\r\n\
Content-Type: text/xml; charset=utf-8\r\n\
Content-ID: <1234@foo.com>\r\n\
\r\n\
<body>\0\r\n</body>";
    assert_eq!(
        out.as_ref(),
        expected,
        "\n{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn output_has_crlf_and_one_space_after_colons() {
    let out = full().to_bytes();
    let head_len = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&out[..head_len]).unwrap();
    for line in head.split("\r\n") {
        assert!(!line.contains('\n') && !line.contains('\r'));
        assert!(!line.ends_with(' ') && !line.starts_with(' '), "{line:?}");
        let (_, rest) = line.split_once(':').unwrap();
        let rest = rest.strip_prefix(";lang=fr").unwrap_or(rest);
        assert!(rest.starts_with(' ') && !rest.starts_with("  "), "{line:?}");
    }
}

#[test]
fn builder_then_parse_round_trips() {
    let b = full();
    let m = parse(&b.to_bytes());
    assert_eq!(m.from().display(), Some("MR SANDERS"));
    assert_eq!(m.to()[1].display(), Some("Rabbit \"R\""));
    assert_eq!(m.cc()[0].display(), Some(" spaced "));
    assert_eq!(m.subject()[0].1, "tab\there \\ and \"quotes\"");
    assert_eq!(m.subject()[1], (Some("fr"), " bonjour ".into()));
    assert_eq!(
        m.require(),
        vec!["MyFeatures.VitalMessageOption", "Locale.MustRenderKanji"]
    );
    assert_eq!(
        m.extension_headers().next().unwrap().unescaped_value(),
        "Confirmation-requested\r\nline\u{1}"
    );
    assert_eq!(m.content().as_ref(), b"<body>\0\r\n</body>");
    assert_eq!(m.to_builder(), b);
}

#[test]
fn parse_to_builder_round_trips_vectors() {
    for v in [
        &include_bytes!("../../../tests/vectors/cpim/rfc3862-example.txt")[..],
        &include_bytes!("../../../tests/vectors/cpim/bare-lf.txt")[..],
        &include_bytes!("../../../tests/vectors/cpim/rfc7702-no-separator.txt")[..],
        &include_bytes!("../../../tests/vectors/cpim/odd-spacing-mixed-case.txt")[..],
    ] {
        let m = parse(v);
        let b = m.to_builder();
        let again = parse(&b.to_bytes());
        assert_eq!(again.to_builder(), b);
        assert_eq!(again.content(), m.content());
        assert!(!again.separator_missing());
    }
}

#[test]
fn default_content_is_utf8_text() {
    let b = CpimBuilder::new((None, im("im:juliet@x")), (None, im("im:romeo@s")));
    let out = b.to_bytes();
    assert_eq!(
        out.as_ref(),
        b"From: <im:juliet@x>\r\nTo: <im:romeo@s>\r\n\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    );
    let m = CpimMessage::parse(out).unwrap();
    assert!(m.content().is_empty());
}

#[test]
fn builder_rejects_what_it_cannot_emit() {
    let b = || CpimBuilder::new((None, im("im:a@b")), (None, im("im:c@d")));
    assert_eq!(
        b().date_time("yesterday").unwrap_err(),
        BuildError::InvalidDateTime("yesterday".into())
    );
    assert_eq!(
        b().subject(Some("f r"), "x").unwrap_err(),
        BuildError::InvalidLanguage("f r".into())
    );
    assert_eq!(
        b().subject(Some(""), "x").unwrap_err(),
        BuildError::InvalidLanguage("".into())
    );
    assert_eq!(
        b().ns("a.b", "urn:x").unwrap_err(),
        BuildError::InvalidPrefix("a.b".into())
    );
    assert_eq!(
        b().ns("P", "no-scheme").unwrap_err(),
        BuildError::InvalidUri("no-scheme".into())
    );
    assert_eq!(
        b().ns("P", "urn:<x>").unwrap_err(),
        BuildError::InvalidUri("urn:<x>".into())
    );
    assert_eq!(
        b().header("P.Foo", "v").unwrap_err(),
        BuildError::UndeclaredPrefix("P".into())
    );
    assert_eq!(
        b().header("from", "v").unwrap_err(),
        BuildError::ReservedHeaderName("from".into())
    );
    assert_eq!(
        b().header("Content-Type", "v").unwrap_err(),
        BuildError::ReservedHeaderName("Content-Type".into())
    );
    assert_eq!(
        b().header("Bad Name", "v").unwrap_err(),
        BuildError::InvalidHeaderName("Bad Name".into())
    );
    assert_eq!(
        b().header("P.", "v").unwrap_err(),
        BuildError::InvalidHeaderName("P.".into())
    );
    assert!(b().header("X-Plain", "v").is_ok());
    assert!(b().ns("P", "urn:x").unwrap().header("P.From", "v").is_ok());
    assert_eq!(
        b().require("a,b").unwrap_err(),
        BuildError::InvalidHeaderName("a,b".into())
    );
    let body = Bytes::new();
    assert_eq!(
        b().content("a/b\r\nX: y", &[], body.clone()).unwrap_err(),
        BuildError::InvalidMimeValue("a/b\r\nX: y".into())
    );
    assert_eq!(
        b().content("  ", &[], body.clone()).unwrap_err(),
        BuildError::InvalidMimeValue("  ".into())
    );
    assert_eq!(
        b().content("a/b", &[("A:B", "v")], body.clone())
            .unwrap_err(),
        BuildError::InvalidHeaderName("A:B".into())
    );
    assert_eq!(
        b().content("a/b", &[("A", "v\n")], body).unwrap_err(),
        BuildError::InvalidMimeValue("v\n".into())
    );
}

#[test]
fn mime_values_are_trimmed_and_folded_values_unfolded() {
    let b = CpimBuilder::new((None, im("im:a@b")), (None, im("im:c@d")))
        .content("  a/b ", &[("X-Y", " v\t")], Bytes::from_static(b"z"))
        .unwrap();
    let out = b.to_bytes();
    assert!(out.ends_with(b"Content-Type: a/b\r\nX-Y: v\r\n\r\nz"));
    let folded = b"From: <im:a@b>\r\nTo: <im:c@d>\r\n\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\n\r\nx";
    let m = parse(folded);
    assert_eq!(m.content_type(), Some("text/plain;\r\n\tcharset=utf-8"));
    let rebuilt = m.to_builder().to_bytes();
    assert!(rebuilt.ends_with(b"Content-Type: text/plain;\tcharset=utf-8\r\n\r\nx"));
}

/// Found by the `cpim_message` fuzz target (fuzz/regressions/cpim_message):
/// many `Require` lines, each under the parser's 4096-byte line limit,
/// form one list; the builder must not join it into one line past that
/// limit (RFC 3862 §4.7), so parse → build → parse holds.
#[test]
fn a_long_require_list_builds_into_lines_the_parser_accepts() {
    let mut text = String::from("From: <im:a@b.example>\r\nTo: <im:c@d.example>\r\n");
    for i in 0..40 {
        text.push_str(&format!("Require: Feature{i}{}\r\n", "x".repeat(200)));
    }
    text.push_str("\r\nContent-Type: text/plain\r\n\r\nhi");
    let msg = CpimMessage::parse(text.into_bytes().into()).unwrap();
    assert_eq!(msg.require().len(), 40);
    let built = msg.to_builder().to_bytes();
    let again = CpimMessage::parse(built).unwrap();
    assert_eq!(again.require(), msg.require());
    assert_eq!(again.to_builder(), msg.to_builder());
}

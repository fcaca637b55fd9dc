//! Conformance rows (specs/conformance.md B, C, D) for the content mapping,
//! plus e2e round trips and totality properties.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::cpim::{Content, ImUri};
use crate::translate::xmpp_errors::{Condition, stanza_error_for, status_for};

fn content(ct: &str, body: &[u8]) -> Content {
    Content {
        content_type: ct.to_owned(),
        headers: Vec::new(),
        body: Bytes::copy_from_slice(body),
    }
}

fn sip(call_id: &str) -> SipSide {
    SipSide {
        call_id: call_id.to_owned(),
        ..SipSide::default()
    }
}

fn to_x(c: &Content) -> Result<XmppMessageContent, MapError> {
    cpim_to_xmpp(c, &sip("K"), &XmppMapPolicy::default())
}

fn im(s: &str) -> ImUri {
    ImUri::parse(s).unwrap()
}

fn to_s(m: &XmppMessageContent, p: &XmppMapPolicy) -> SipOutcome {
    xmpp_to_sip(
        m,
        p,
        &im("im:juliet@x.example"),
        &im("im:romeo@s.example"),
        Some("2024-05-01T10:00:00Z"),
    )
    .unwrap()
}

fn send(o: SipOutcome) -> SipContent {
    match o {
        SipOutcome::Send(c) => c,
        other => panic!("expected a message, got {other:?}"),
    }
}

const SIGNED_CT: &str =
    "multipart/signed; boundary=next; micalg=sha1; protocol=\"application/pkcs7-signature\"";

fn signed_body() -> Vec<u8> {
    b"--next\r\n\
Content-Type: message/cpim\r\n\
\r\n\
From: <im:juliet@capulet.lit>\r\n\
To: <im:romeo@montague.lit>\r\n\
DateTime: 2003-12-09T11:45:36.66Z\r\n\
\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Wherefore art thou, Romeo?\r\n\
--next\r\n\
Content-Type: application/pkcs7-signature\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; handling=required; filename=smime.p7s\r\n\
\r\n\
MIIBhwYJKoZIhvcNAQcCoIIBeDCCAXQCAQExCzAJBgUrDgMCGgUAMAsGCSqGSIb3\r\n\
DQEHATGCAVMwggFPAgEBMCwwJDEUMBIGA1UEChMLZXhhbXBsZS5jb20xDDAKBgNV\r\n\
--next--\r\n"
        .to_vec()
}

/// What an XML parser hands back for character data: CRLF and lone CR
/// become LF (XML 1.0 §2.11).
fn xml_normalise(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

// ---- B: pager IM -------------------------------------------------------

#[test]
fn b18_text_plain_becomes_body() {
    let x = to_x(&content("text/plain", b"hi")).unwrap();
    assert_eq!(x.body.as_deref(), Some("hi"));
    assert_eq!((x.xhtml_body, x.e2e, x.chat_state), (None, None, None));
}

#[test]
fn b19_subject_and_content_language() {
    let side = SipSide {
        subject: Some("s".into()),
        content_language: Some("cs".into()),
        call_id: "K".into(),
    };
    let x = cpim_to_xmpp(
        &content("text/plain; charset=UTF-8", b"ahoj"),
        &side,
        &XmppMapPolicy::default(),
    )
    .unwrap();
    assert_eq!(x.subject, Some((None, "s".into())));
    assert_eq!(x.lang.as_deref(), Some("cs"));
}

#[test]
fn b20_call_id_becomes_thread() {
    let x = cpim_to_xmpp(
        &content("text/plain", b"x"),
        &sip("a84b4c76e66710@pc33"),
        &XmppMapPolicy::default(),
    )
    .unwrap();
    assert_eq!(x.thread.as_deref(), Some("a84b4c76e66710@pc33"));
}

#[test]
fn b21_to_b23_xmpp_body_thread_lang_to_sip() {
    let m = XmppMessageContent {
        body: Some("hi".into()),
        thread: Some("T".into()),
        lang: Some("fr".into()),
        subject: Some((None, "line\r\nVia: evil".into())),
        ..XmppMessageContent::default()
    };
    let s = send(to_s(&m, &XmppMapPolicy::default()));
    assert_eq!(s.content_type, "text/plain; charset=UTF-8");
    assert_eq!(&s.body[..], b"hi");
    assert_eq!(s.call_id_hint.as_deref(), Some("T"));
    assert_eq!(
        s.extra_headers,
        vec![
            ("Subject".to_owned(), "line  Via: evil".to_owned()),
            ("Content-Language".to_owned(), "fr".to_owned()),
        ]
    );
    // A thread that is not a Call-ID, or a bad language tag, is not mapped.
    let m2 = XmppMessageContent {
        body: Some("x".into()),
        thread: Some("a b".into()),
        lang: Some("en US".into()),
        ..XmppMessageContent::default()
    };
    let s2 = send(to_s(&m2, &XmppMapPolicy::default()));
    assert_eq!((s2.call_id_hint, s2.extra_headers.len()), (None, 0));
}

#[test]
fn b24_d58_over_1300_bytes_is_policy_violation() {
    assert!(sip_size_check(1300, SIP_MESSAGE_SIZE_LIMIT).is_ok());
    let e = sip_size_check(2000, SIP_MESSAGE_SIZE_LIMIT).unwrap_err();
    assert_eq!(
        e,
        MapError::TooLarge {
            size: 2000,
            limit: 1300
        }
    );
    assert_eq!(stanza_error_for(&e).condition, Condition::PolicyViolation);
    // D.58: a signed body over the limit is refused whole, never cut.
    let m = XmppMessageContent {
        e2e: Some(format!(
            "Content-Type: {SIGNED_CT}\r\n\r\n{}",
            "A".repeat(2000)
        )),
        ..XmppMessageContent::default()
    };
    let s = send(to_s(&m, &XmppMapPolicy::default()));
    assert_eq!(s.body.len(), 2000);
    assert!(sip_size_check(s.body.len() + 300, SIP_MESSAGE_SIZE_LIMIT).is_err());
}

#[test]
fn b33_unsupported_type_is_415_with_accept() {
    let e = to_x(&content("application/vnd.foo", b"x")).unwrap_err();
    assert_eq!(e, MapError::UnsupportedType("application/vnd.foo".into()));
    let a = status_for(&e);
    assert_eq!(a.status.as_u16(), 415);
    assert_eq!(a.accept, Some(ACCEPT));
    assert!(to_x(&content("not a type", b"x")).is_err());
}

#[test]
fn b34_text_html_becomes_body_and_xhtml_im() {
    let html = b"<p>Hello <b>there</b> &amp; welcome</p><script>x()</script>";
    let x = to_x(&content("text/html; charset=utf-8", html)).unwrap();
    assert_eq!(x.body.as_deref(), Some("Hello there & welcome"));
    assert_eq!(
        x.xhtml_body.as_deref(),
        Some("<p>Hello <strong>there</strong> &amp; welcome</p>")
    );
    let off = XmppMapPolicy {
        xhtml_im: false,
        ..XmppMapPolicy::default()
    };
    let x = cpim_to_xmpp(&content("text/html", html), &sip("K"), &off).unwrap();
    assert_eq!(x.xhtml_body, None);
    assert!(x.body.is_some());
}

#[test]
fn b38_iscomposing_active_becomes_composing_without_body() {
    let doc = b"<?xml version='1.0' encoding='UTF-8'?>\n<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'>\
        <state>active</state><contenttype>text/plain</contenttype><refresh>60</refresh></isComposing>";
    let x = to_x(&content(ISCOMPOSING_TYPE, doc)).unwrap();
    assert_eq!(x.chat_state, Some(ChatState::Composing));
    assert_eq!(x.body, None);
    let idle = b"<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>idle</state></isComposing>";
    assert_eq!(
        to_x(&content(ISCOMPOSING_TYPE, idle)).unwrap().chat_state,
        Some(ChatState::Paused)
    );
    let p = XmppMapPolicy {
        idle_chat_state: ChatState::Active,
        ..XmppMapPolicy::default()
    };
    assert_eq!(
        cpim_to_xmpp(&content(ISCOMPOSING_TYPE, idle), &sip("K"), &p)
            .unwrap()
            .chat_state,
        Some(ChatState::Active)
    );
    let bad = to_x(&content(ISCOMPOSING_TYPE, b"<nope/>")).unwrap_err();
    assert_eq!(status_for(&bad).status.as_u16(), 400);
}

#[test]
fn b39_chat_states_to_iscomposing() {
    let with = |s| XmppMessageContent {
        chat_state: Some(s),
        ..XmppMessageContent::default()
    };
    let composing = send(to_s(&with(ChatState::Composing), &XmppMapPolicy::default()));
    assert_eq!(composing.content_type, ISCOMPOSING_TYPE);
    let doc = std::str::from_utf8(&composing.body).unwrap();
    assert!(
        doc.contains("<state>active</state>") && doc.contains("<refresh>90</refresh>"),
        "{doc}"
    );
    for s in [ChatState::Paused, ChatState::Inactive, ChatState::Gone] {
        let idle = send(to_s(&with(s), &XmppMapPolicy::default()));
        let doc = std::str::from_utf8(&idle.body).unwrap();
        assert!(
            doc.contains("<state>idle</state>") && !doc.contains("refresh"),
            "{s:?}"
        );
    }
    assert_eq!(
        to_s(&with(ChatState::Active), &XmppMapPolicy::default()),
        SipOutcome::Skip(SkipReason::ActiveChatState)
    );
    assert_eq!(
        to_s(&XmppMessageContent::default(), &XmppMapPolicy::default()),
        SipOutcome::Skip(SkipReason::Empty)
    );
    // A body wins over a chat state.
    let both = XmppMessageContent {
        body: Some("hi".into()),
        chat_state: Some(ChatState::Active),
        ..XmppMessageContent::default()
    };
    assert_eq!(
        send(to_s(&both, &XmppMapPolicy::default())).content_type,
        "text/plain; charset=UTF-8"
    );
    // isComposing round trip through both directions.
    let back = to_x(&content(ISCOMPOSING_TYPE, &composing.body)).unwrap();
    assert_eq!(back.chat_state, Some(ChatState::Composing));
}

#[test]
fn text_charsets_latin1_and_controls() {
    let x = to_x(&content(
        "text/plain; charset=ISO-8859-1",
        b"Gr\xfc\xdfe, caf\xe9",
    ))
    .unwrap();
    assert_eq!(x.body.as_deref(), Some("Grüße, café"));
    let x = to_x(&content("text/plain; charset=\"us-ascii\"", b"plain")).unwrap();
    assert_eq!(x.body.as_deref(), Some("plain"));
    // Stray controls are removed, never sent, never an error by default.
    let x = to_x(&content("text/plain", b"a\x07b\x00c\r\nd\te")).unwrap();
    assert_eq!(x.body.as_deref(), Some("abc\r\nd\te"));
    let strict = XmppMapPolicy {
        strict_control_chars: true,
        ..XmppMapPolicy::default()
    };
    let e = cpim_to_xmpp(&content("text/plain", b"a\x07"), &sip("K"), &strict).unwrap_err();
    assert_eq!(
        e,
        MapError::ControlCharacter {
            field: "body",
            code: 7
        }
    );
    // Invalid UTF-8 is refused (400), an unknown CTE too (415).
    assert_eq!(
        status_for(&to_x(&content("text/plain", b"\xff")).unwrap_err())
            .status
            .as_u16(),
        400
    );
    let mut qp = content("text/plain", b"a=3D");
    qp.headers.push((
        "Content-Transfer-Encoding".into(),
        "quoted-printable".into(),
    ));
    assert_eq!(
        to_x(&qp).unwrap_err(),
        MapError::UnsupportedTransferEncoding("quoted-printable".into())
    );
    // Subject control characters are removed too.
    let side = SipSide {
        subject: Some("a\u{1}b".into()),
        ..sip("K")
    };
    let x = cpim_to_xmpp(
        &content("text/plain", b"x"),
        &side,
        &XmppMapPolicy::default(),
    )
    .unwrap();
    assert_eq!(x.subject, Some((None, "ab".into())));
}

// ---- C: message/cpim ---------------------------------------------------

fn cpim(extra_headers: &str, inner_ct: &str, text: &[u8]) -> Content {
    let mut b = format!(
        "From: MR SANDERS <im:piglet@100akerwood.com>\r\nTo: <im:winnie@100akerwood.com>\r\n\
         NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n{extra_headers}\r\n\
         Content-Type: {inner_ct}\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(text);
    content("message/cpim", &b)
}

#[test]
fn c41_cpim_is_unwrapped_to_the_inner_text() {
    let x = to_x(&cpim(
        "DateTime: 2000-12-13T13:40:00-08:00\r\n",
        "text/plain; charset=utf-8",
        b"Here is the text",
    ))
    .unwrap();
    assert_eq!(x.body.as_deref(), Some("Here is the text"));
    assert_eq!(x.subject, None);
    assert_eq!(x.thread.as_deref(), Some("K"));
    let b = x.body.unwrap();
    assert!(!b.contains("From:") && !b.contains("NS:") && !b.contains("piglet"));
}

#[test]
fn c42_unsatisfiable_require_is_415_with_warning() {
    let e = to_x(&cpim(
        "Require: Locale.MustRenderKanji\r\n",
        "text/plain",
        b"x",
    ))
    .unwrap_err();
    assert_eq!(
        e,
        MapError::UnsatisfiableRequire(vec!["Locale.MustRenderKanji".into()])
    );
    let a = status_for(&e);
    assert_eq!(a.status.as_u16(), 415);
    assert!(
        a.warning
            .as_deref()
            .unwrap()
            .contains("Locale.MustRenderKanji")
    );
    // Honoured names pass; a configured extra name passes.
    assert!(to_x(&cpim("Require: Subject\r\n", "text/plain", b"x")).is_ok());
    let p = XmppMapPolicy {
        extra_require: vec!["Locale.MustRenderKanji".into()],
        ..XmppMapPolicy::default()
    };
    assert!(
        cpim_to_xmpp(
            &cpim("Require: Locale.MustRenderKanji\r\n", "text/plain", b"x"),
            &sip("K"),
            &p
        )
        .is_ok()
    );
}

#[test]
fn c43_inner_iso_2022_jp_is_refused() {
    let e = to_x(&cpim(
        "",
        "text/plain; charset=iso-2022-jp",
        b"\x1b$B$3$s\x1b(B",
    ))
    .unwrap_err();
    assert_eq!(e, MapError::UnsupportedCharset("iso-2022-jp".into()));
    assert_eq!(status_for(&e).status.as_u16(), 415);
}

#[test]
fn c45_cpim_subject_with_lang() {
    let x = to_x(&cpim("Subject:;lang=fr Bonjour\r\n", "text/plain", b"x")).unwrap();
    assert_eq!(x.subject, Some((Some("fr".into()), "Bonjour".into())));
    // The subject in the message language is preferred.
    let mut c = cpim(
        "Subject: Hello\r\nSubject:;lang=de Hallo\r\n",
        "text/plain",
        b"x",
    );
    let x = to_x(&c).unwrap();
    assert_eq!(x.subject, Some((None, "Hello".into())));
    c = cpim(
        "Subject: Hello\r\nSubject:;lang=de Hallo\r\n",
        "text/plain\r\nContent-Language: de",
        b"x",
    );
    let x = to_x(&c).unwrap();
    assert_eq!(
        (x.lang.as_deref(), x.subject),
        (Some("de"), Some((Some("de".into()), "Hallo".into())))
    );
}

#[test]
fn c_cpim_inner_html_latin1_and_errors() {
    let x = to_x(&cpim(
        "",
        "text/html; charset=iso-8859-1",
        b"<i>caf\xe9</i>",
    ))
    .unwrap();
    assert_eq!(
        (x.body.as_deref(), x.xhtml_body.as_deref()),
        (Some("café"), Some("<em>café</em>"))
    );
    let bad = to_x(&content("message/cpim", b"no headers at all")).unwrap_err();
    assert!(matches!(bad, MapError::InvalidCpim(_)));
    assert_eq!(status_for(&bad).status.as_u16(), 400);
    // Envelope in envelope: unwrapped up to the cap.
    let mut c = content("text/plain", b"deep");
    for _ in 0..MAX_CPIM_NESTING {
        let mut b =
            b"From: <im:a@b.example>\r\nTo: <im:c@d.example>\r\n\r\nContent-Type: ".to_vec();
        b.extend_from_slice(c.content_type.as_bytes());
        b.extend_from_slice(b"\r\n\r\n");
        b.extend_from_slice(&c.body);
        c = content("message/cpim", &b);
    }
    assert_eq!(to_x(&c).unwrap().body.as_deref(), Some("deep"));
    let mut b =
        b"From: <im:a@b.example>\r\nTo: <im:c@d.example>\r\n\r\nContent-Type: message/cpim\r\n\r\n"
            .to_vec();
    b.extend_from_slice(&c.body);
    assert_eq!(
        to_x(&content("message/cpim", &b)).unwrap_err(),
        MapError::NestingTooDeep
    );
}

#[test]
fn c48_wrapped_cpim_from_xmpp() {
    let p = XmppMapPolicy {
        wrap_cpim: true,
        ..XmppMapPolicy::default()
    };
    let m = XmppMessageContent {
        body: Some("hi".into()),
        ..XmppMessageContent::default()
    };
    let s = send(to_s(&m, &p));
    assert_eq!(s.content_type, "message/cpim");
    assert_eq!(
        std::str::from_utf8(&s.body).unwrap(),
        "From: <im:juliet@x.example>\r\nTo: <im:romeo@s.example>\r\nDateTime: 2024-05-01T10:00:00Z\r\n\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nhi"
    );
    // And it reads back to the same text, with the subject and language.
    let m = XmppMessageContent {
        body: Some("salut".into()),
        subject: Some((Some("fr".into()), "Objet".into())),
        lang: Some("fr".into()),
        ..XmppMessageContent::default()
    };
    let s = send(to_s(&m, &p));
    let back = to_x(&content(&s.content_type, &s.body)).unwrap();
    assert_eq!(back.body.as_deref(), Some("salut"));
    assert_eq!(back.subject, Some((Some("fr".into()), "Objet".into())));
    assert_eq!(back.lang.as_deref(), Some("fr"));
    // A bad DateTime from the caller is a build error, not a panic.
    let e = xmpp_to_sip(
        &m,
        &p,
        &im("im:a@b.example"),
        &im("im:c@d.example"),
        Some("yesterday"),
    )
    .unwrap_err();
    assert!(matches!(e, MapError::Build(_)));
    // Composing is wrapped too; e2e never is.
    let c = XmppMessageContent {
        chat_state: Some(ChatState::Composing),
        ..XmppMessageContent::default()
    };
    let s = send(to_s(&c, &p));
    assert_eq!(
        to_x(&content(&s.content_type, &s.body)).unwrap().chat_state,
        Some(ChatState::Composing)
    );
}

// ---- D: S/MIME ---------------------------------------------------------

fn signed() -> Content {
    let mut c = content(SIGNED_CT, &signed_body());
    c.headers
        .push(("Content-Disposition".into(), "render".into()));
    c
}

#[test]
fn d53_multipart_signed_goes_into_e2e_unchanged() {
    let x = to_x(&signed()).unwrap();
    let e2e = x.e2e.unwrap();
    let mut expected =
        format!("Content-Type: {SIGNED_CT}\r\nContent-Disposition: render\r\n\r\n").into_bytes();
    expected.extend_from_slice(&signed_body());
    expected.push(b'\n');
    assert_eq!(e2e.as_bytes(), &expected[..]);
    assert_eq!(x.body, None, "no body synthesised from signed content");
    let p = XmppMapPolicy {
        e2e_fallback_body: Some("[signed message]".into()),
        ..XmppMapPolicy::default()
    };
    let x = cpim_to_xmpp(&signed(), &sip("K"), &p).unwrap();
    assert_eq!(x.body.as_deref(), Some("[signed message]"));
}

#[test]
fn e2e_round_trip_is_byte_exact() {
    let original = signed();
    let x = to_x(&original).unwrap();
    for text in [x.e2e.clone().unwrap(), xml_normalise(&x.e2e.unwrap())] {
        let s = send(to_s(
            &XmppMessageContent {
                e2e: Some(text),
                ..XmppMessageContent::default()
            },
            &XmppMapPolicy::default(),
        ));
        assert_eq!(s.content_type, SIGNED_CT);
        assert_eq!(s.body, original.body);
        assert_eq!(
            s.extra_headers,
            vec![("Content-Disposition".to_owned(), "render".to_owned())]
        );
    }
}

#[test]
fn d54_e2e_from_xmpp_keeps_parameters_and_restores_crlf() {
    // RFC 3923 Example 3 style: LF line ends after XML parsing, a folded
    // Content-Type, and formatting newlines around the entity.
    let e2e = "\nContent-Type: multipart/signed; boundary=next; micalg=sha1;\n\tprotocol=application/pkcs7-signature\n\
Content-Transfer-Encoding: 7bit\nMIME-Version: 1.0\n\n--next\nContent-Type: text/plain\n\nhi\n--next--\n\n";
    let m = XmppMessageContent {
        e2e: Some(e2e.into()),
        body: Some("fallback".into()),
        ..XmppMessageContent::default()
    };
    let s = send(to_s(&m, &XmppMapPolicy::default()));
    assert_eq!(
        s.content_type,
        "multipart/signed; boundary=next; micalg=sha1;\tprotocol=application/pkcs7-signature"
    );
    assert_eq!(
        s.extra_headers,
        vec![("Content-Transfer-Encoding".to_owned(), "7bit".to_owned())]
    );
    assert_eq!(
        &s.body[..],
        b"--next\r\nContent-Type: text/plain\r\n\r\nhi\r\n--next--\r\n"
    );
    for bad in [
        "no blank line",
        "X-Foo: bar\n\nbody",
        "Content-Type: nonsense\n\nx",
        "\n\nbody",
    ] {
        let m = XmppMessageContent {
            e2e: Some(bad.into()),
            ..XmppMessageContent::default()
        };
        let e = xmpp_to_sip(
            &m,
            &XmppMapPolicy::default(),
            &im("im:a@b.example"),
            &im("im:c@d.example"),
            None,
        )
        .unwrap_err();
        assert!(matches!(e, MapError::InvalidE2e(_)), "{bad:?}");
        assert_eq!(stanza_error_for(&e).condition, Condition::BadRequest);
    }
}

#[test]
fn d55_pkcs7_mime_base64_round_trip() {
    let ct = "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m";
    let body = b"MIIBHgYJKoZIhvcNAQcDoIIBDzCCAQsCAQAxgcAwgb0CAQAwJjASMRAwDgYDVQQDEwdDYXJs\r\nUlNBAhBGNGvHgABWvBHTbi7NXXHQMA0GCSqGSIb3DQEBAQUABIGAC3EN5nGIiJi2lsGPcP2i";
    let mut c = content(ct, body);
    c.headers
        .push(("Content-Transfer-Encoding".into(), "base64".into()));
    c.headers.push(("Content-Language".into(), "en".into()));
    let x = to_x(&c).unwrap();
    let e2e = x.e2e.clone().unwrap();
    assert!(e2e.contains(std::str::from_utf8(body).unwrap()));
    assert!(
        !e2e.contains("Content-Language"),
        "mapped to xml:lang, not part of the entity"
    );
    assert_eq!(x.lang.as_deref(), Some("en"));
    let s = send(to_s(
        &XmppMessageContent {
            e2e: Some(xml_normalise(&e2e)),
            ..XmppMessageContent::default()
        },
        &XmppMapPolicy::default(),
    ));
    assert_eq!((s.content_type.as_str(), &s.body[..]), (ct, &body[..]));
    assert_eq!(
        s.extra_headers,
        vec![("Content-Transfer-Encoding".to_owned(), "base64".to_owned())]
    );
}

#[test]
fn d56_binary_signature_part_is_refused() {
    let body = b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\
Content-Transfer-Encoding: binary\r\n\r\n0\x82\x01\x87\x06\t*\r\n--b--\r\n";
    let e = to_x(&content(
        "multipart/signed; boundary=b; protocol=\"application/pkcs7-signature\"",
        body,
    ))
    .unwrap_err();
    assert!(matches!(e, MapError::NotXmlRepresentable(_)), "{e:?}");
    let a = status_for(&e);
    assert_eq!((a.status.as_u16(), a.accept), (415, Some(ACCEPT)));
    // Declared binary even when the bytes happen to be text.
    let body = b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\
Content-Transfer-Encoding: binary\r\n\r\nAAAA\r\n--b--\r\n";
    assert_eq!(
        to_x(&content("multipart/signed; boundary=b", body)).unwrap_err(),
        MapError::NotXmlRepresentable(NotRepresentable::BinaryTransferEncoding)
    );
    // Binary CTE on the whole entity.
    let mut c = content("application/pkcs7-mime", b"AAAA");
    c.headers
        .push(("Content-Transfer-Encoding".into(), "Binary".into()));
    assert_eq!(
        to_x(&c).unwrap_err(),
        MapError::NotXmlRepresentable(NotRepresentable::BinaryTransferEncoding)
    );
}

#[test]
fn not_representable_cases() {
    let nr = |ct: &str, body: &[u8]| match to_x(&content(ct, body)) {
        Err(MapError::NotXmlRepresentable(r)) => r,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        nr("application/pkcs7-mime", b"0\x82\x01\xff"),
        NotRepresentable::InvalidUtf8 { .. }
    ));
    assert!(matches!(
        nr("application/pkcs7-mime", b"AA\x00AA"),
        NotRepresentable::ForbiddenChar { code: 0, .. }
    ));
    assert!(matches!(
        nr("application/pkcs7-mime", b"AA\nAA"),
        NotRepresentable::BareLineEnd { .. }
    ));
    assert!(matches!(
        nr("application/pkcs7-mime", b"AA\rAA"),
        NotRepresentable::BareLineEnd { .. }
    ));
    assert!(matches!(
        nr("application/pkcs7-mime", b"AA\r"),
        NotRepresentable::BareLineEnd { .. }
    ));
    assert!(matches!(
        nr("application/pkcs7-mime", "\u{FFFF}".as_bytes()),
        NotRepresentable::ForbiddenChar { code: 0xFFFF, .. }
    ));
    let mut c = content("application/pkcs7-mime", b"AAAA");
    c.headers.push(("Content-Encoding".into(), "gzip".into()));
    assert!(matches!(
        to_x(&c),
        Err(MapError::NotXmlRepresentable(
            NotRepresentable::ContentEncoding(_)
        ))
    ));
}

#[test]
fn cdata_terminator_inside_e2e_is_kept_as_text() {
    let body = b"--b\r\nContent-Type: text/plain\r\n\r\na ]]> b\r\n--b--\r\n";
    let ct = "multipart/signed; boundary=b";
    let x = to_x(&content(ct, body)).unwrap();
    assert!(x.e2e.as_deref().unwrap().contains("a ]]> b"));
    let s = send(to_s(
        &XmppMessageContent {
            e2e: x.e2e,
            ..XmppMessageContent::default()
        },
        &XmppMapPolicy::default(),
    ));
    assert_eq!(&s.body[..], &body[..]);
}

#[test]
fn signed_cpim_is_e2e_not_unwrapped() {
    // message/cpim wrapped inside multipart/signed travels whole.
    let x = to_x(&signed()).unwrap();
    assert!(x.e2e.unwrap().contains("From: <im:juliet@capulet.lit>"));
    assert_eq!(x.body, None);
}

// ---- properties --------------------------------------------------------

proptest! {
    #[test]
    fn e2e_round_trip_any_canonical_body(
        lines in proptest::collection::vec("[ -~]{0,40}", 0..12),
        final_crlf in any::<bool>(),
        normalise in any::<bool>(),
    ) {
        let mut body = lines.join("\r\n");
        if final_crlf { body.push_str("\r\n"); }
        let ct = "application/pkcs7-mime; smime-type=signed-data";
        let x = to_x(&content(ct, body.as_bytes())).unwrap();
        let mut e2e = x.e2e.unwrap();
        if normalise { e2e = xml_normalise(&e2e); }
        let s = send(to_s(&XmppMessageContent { e2e: Some(e2e), ..XmppMessageContent::default() }, &XmppMapPolicy::default()));
        prop_assert_eq!(s.content_type.as_str(), ct);
        prop_assert_eq!(&s.body[..], body.as_bytes());
    }

    #[test]
    fn to_xmpp_is_total(ct in "[a-z/+;= \"-]{0,40}", body in proptest::collection::vec(any::<u8>(), 0..300)) {
        for t in [ct.as_str(), "text/plain", "text/html", "message/cpim", ISCOMPOSING_TYPE, "multipart/signed; boundary=a"] {
            if let Ok(x) = to_x(&content(t, &body)) {
                for s in [&x.body, &x.thread, &x.xhtml_body].into_iter().flatten() {
                    prop_assert!(s.chars().all(super::text::is_xml_char));
                }
            }
        }
    }

    #[test]
    fn to_sip_is_total(e2e in "\\PC{0,200}", body in "\\PC{0,50}", thread in "\\PC{0,20}", lang in "\\PC{0,10}") {
        let m = XmppMessageContent { e2e: Some(e2e), body: Some(body), thread: Some(thread), lang: Some(lang), ..XmppMessageContent::default() };
        if let Ok(SipOutcome::Send(s)) = xmpp_to_sip(&m, &XmppMapPolicy::default(), &im("im:a@b.example"), &im("im:c@d.example"), None) {
            for (_, v) in &s.extra_headers {
                prop_assert!(!v.contains(['\r', '\n']));
            }
            prop_assert!(!s.content_type.contains(['\r', '\n']));
        }
    }

    #[test]
    fn html_is_total_and_well_formed(html in "[<>/a-z \"'=&;#0-9]{0,200}") {
        if let Some(x) = super::html::to_xhtml_im(&html) {
            prop_assert_eq!(x.matches("<p>").count(), x.matches("</p>").count());
            prop_assert!(!x.contains("<script"));
        }
        let _ = super::html::to_plain_text(&html);
    }
}

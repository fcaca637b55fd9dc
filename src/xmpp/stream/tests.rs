//! Framer tests: one byte at a time, every limit, restricted XML, CDATA.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::xmpp::element::Node;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' \
    xmlns:stream='http://etherx.jabber.org/streams' from='cpim.xmpp.test' id='3BF96D32'>";

fn items(input: &[u8], chunk: usize, limits: StreamLimits) -> Result<Vec<StreamItem>, StreamError> {
    let mut p = StreamParser::new(limits);
    let mut out = Vec::new();
    for c in input.chunks(chunk.max(1)) {
        p.feed(c);
        while let Some(i) = p.next_item()? {
            out.push(i);
        }
    }
    Ok(out)
}

fn stream(body: &str) -> Vec<u8> {
    format!("{HEADER}{body}").into_bytes()
}

const MSG: &str = "<message from='romeo@montague.lit/orchard' to='juliet@cpim.xmpp.test' \
    type='chat' id='m1' xml:lang='en'><body>Wherefore &amp; art thou, caf\u{e9} \u{263a}?</body>\
    <body xml:lang='it'><![CDATA[perch\u{e9} <sei> ]]]]><![CDATA[>]]></body>\
    <active xmlns='http://jabber.org/protocol/chatstates'/></message>";

#[test]
fn header_stanzas_keepalive_and_close_one_byte_at_a_time() {
    let input = stream(&format!(" \n{MSG}\n \n<handshake/></stream:stream>"));
    for chunk in [1, 2, 3, 7, 64, input.len()] {
        let got = items(&input, chunk, StreamLimits::default()).unwrap();
        assert_eq!(got.len(), 4, "chunk {chunk}");
        let StreamItem::Header(h) = &got[0] else {
            panic!()
        };
        assert_eq!(h.id.as_deref(), Some("3BF96D32"));
        assert_eq!(h.from.as_deref(), Some("cpim.xmpp.test"));
        assert_eq!(h.default_ns, "jabber:component:accept");
        let StreamItem::Stanza(m) = &got[1] else {
            panic!()
        };
        assert!(m.is("message", "jabber:component:accept"));
        let bodies: Vec<_> = m.children().filter(|c| c.name() == "body").collect();
        assert_eq!(
            bodies[0].text(),
            "Wherefore & art thou, caf\u{e9} \u{263a}?"
        );
        assert_eq!(bodies[1].text(), "perch\u{e9} <sei> ]]>");
        assert_eq!(
            bodies[1].attr_ns(Some(crate::xmpp::element::NS_XML), "lang"),
            Some("it")
        );
        assert!(matches!(&got[2], StreamItem::Stanza(h) if h.name() == "handshake"));
        assert_eq!(got[3], StreamItem::Close);
    }
}

#[test]
fn stream_error_with_condition() {
    let input = stream(
        "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bad secret</text></stream:error>",
    );
    let got = items(&input, 1, StreamLimits::default()).unwrap();
    assert_eq!(
        got[1],
        StreamItem::Error(StreamErrorInfo {
            condition: StreamCondition::NotAuthorized,
            text: Some("bad secret".into()),
        })
    );
}

#[test]
fn limits_each_have_their_error() {
    // The header counts against the limit too; it is under 200 bytes.
    let small = StreamLimits {
        max_stanza_bytes: 200,
        ..StreamLimits::default()
    };
    let big = format!("<message><body>{}</body></message>", "x".repeat(200));
    let e = items(&stream(&big), 1, small).unwrap_err();
    assert!(
        matches!(e, StreamError::StanzaTooLarge { max: 200 }),
        "{e:?}"
    );
    // Exactly at the limit passes.
    let exact = format!("<a>{}</a>", "x".repeat(193));
    assert_eq!(exact.len(), 200);
    let small = StreamLimits {
        max_stanza_bytes: 200,
        ..StreamLimits::default()
    };
    assert_eq!(items(&stream(&exact), 5, small).unwrap().len(), 2);

    let deep = format!("{}{}", "<a>".repeat(33), "</a>".repeat(33));
    let e = items(&stream(&deep), 1, StreamLimits::default()).unwrap_err();
    assert!(matches!(e, StreamError::TooDeep { max: 32 }), "{e:?}");
    let ok = format!("{}{}", "<a>".repeat(32), "</a>".repeat(32));
    assert!(items(&stream(&ok), 1, StreamLimits::default()).is_ok());

    let many = format!("<a>{}</a>", "<b/>".repeat(1024));
    let e = items(&stream(&many), 64, StreamLimits::default()).unwrap_err();
    assert!(
        matches!(e, StreamError::TooManyElements { max: 1024 }),
        "{e:?}"
    );

    let attrs: String = (0..65).map(|i| format!(" a{i}='v'")).collect();
    let e = items(
        &stream(&format!("<a{attrs}/>")),
        64,
        StreamLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, StreamError::TooManyAttributes { max: 64, .. }),
        "{e:?}"
    );
    assert!(!e.is_fatal());
}

#[test]
fn restricted_xml_is_refused() {
    let cases: &[(&str, Restricted)] = &[
        ("<!DOCTYPE x [<!ENTITY a 'b'>]><a/>", Restricted::Dtd),
        ("<a><!-- hi --></a>", Restricted::Comment),
        ("<a><?pi x?></a>", Restricted::ProcessingInstruction),
        ("<a>&xxe;</a>", Restricted::EntityReference),
        ("<a b='&ent;'/>", Restricted::EntityReference),
    ];
    for (body, what) in cases {
        let e = items(&stream(body), 1, StreamLimits::default()).unwrap_err();
        match e {
            StreamError::RestrictedXml { what: w, .. } => assert_eq!(w, *what, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
        assert_eq!(e_condition(body), StreamCondition::RestrictedXml);
    }
    // DTD before the header too.
    let e = items(
        b"<!DOCTYPE stream:stream><stream:stream/>",
        1,
        StreamLimits::default(),
    );
    assert!(matches!(
        e,
        Err(StreamError::RestrictedXml {
            what: Restricted::Dtd,
            ..
        })
    ));
}

fn e_condition(body: &str) -> StreamCondition {
    items(&stream(body), 1, StreamLimits::default())
        .unwrap_err()
        .condition()
}

#[test]
fn predefined_and_char_refs_resolve_bad_ones_refused() {
    let got = items(
        &stream("<a v='&lt;&#10;&quot;'>&lt;&gt;&amp;&apos;&quot;&#x263A;&#65;</a>"),
        1,
        StreamLimits::default(),
    )
    .unwrap();
    let StreamItem::Stanza(a) = &got[1] else {
        panic!()
    };
    assert_eq!(a.text(), "<>&'\"\u{263a}A");
    assert_eq!(a.attr("v"), Some("<\n\""));
    let e = items(&stream("<a>&#1;</a>"), 1, StreamLimits::default()).unwrap_err();
    assert!(!e.is_fatal(), "{e:?}");
    let e = items(&stream("<a>\u{1}</a>"), 1, StreamLimits::default()).unwrap_err();
    assert!(matches!(e, StreamError::BadStanza { .. }), "{e:?}");
}

#[test]
fn non_fatal_error_skips_one_stanza() {
    let mut p = StreamParser::new(StreamLimits::default());
    p.feed(&stream("<a><x:b/></a><c/>"));
    assert!(matches!(p.next_item(), Ok(Some(StreamItem::Header(_)))));
    let e = p.next_item().unwrap_err();
    assert!(matches!(e, StreamError::UnboundPrefix { .. }));
    assert!(matches!(p.next_item(), Ok(Some(StreamItem::Stanza(c))) if c.name() == "c"));
}

#[test]
fn fatal_errors_poison() {
    let mut p = StreamParser::new(StreamLimits::default());
    p.feed(&stream("text<a/>"));
    assert!(p.next_item().unwrap().is_some());
    assert!(matches!(
        p.next_item(),
        Err(StreamError::NotWellFormed { .. })
    ));
    assert!(matches!(p.next_item(), Err(StreamError::Poisoned)));
}

#[test]
fn bad_headers() {
    let e = items(
        b"<stream xmlns='jabber:client'>",
        1,
        StreamLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, StreamError::BadHeader { .. }), "{e:?}");
    let e = items(b"<?php x?><stream:stream/>", 1, StreamLimits::default()).unwrap_err();
    assert!(matches!(e, StreamError::RestrictedXml { .. }), "{e:?}");
    let e = items(&stream("</other>"), 1, StreamLimits::default()).unwrap_err();
    assert!(matches!(e, StreamError::NotWellFormed { .. }), "{e:?}");
}

#[test]
fn cdata_round_trip_with_split_and_cr() {
    let text = "a]]>b]]]>c\r\nd]]";
    let el = Element::new("e2e", "urn:ietf:params:xml:ns:xmpp-e2e").with_cdata(text);
    let wire = String::from_utf8(el.to_bytes("jabber:component:accept").unwrap()).unwrap();
    assert!(wire.contains("<![CDATA[a]]]]><![CDATA[>b]"), "{wire}");
    let got = items(&stream(&wire), 1, StreamLimits::default()).unwrap();
    let StreamItem::Stanza(back) = &got[1] else {
        panic!()
    };
    assert_eq!(back.text(), text);
    assert_eq!(back.nodes(), &[Node::Text(text.into())]);
}

#[test]
fn writer_escapes_and_refuses_control_chars() {
    let el = Element::new("a", "x")
        .with_attr("v", "'\"<&>\n\t\r")
        .with_text("<&>\r\n")
        .with_child(Element::new("b", ""));
    let wire = el.to_bytes("x").unwrap();
    let got = items(
        &stream(&String::from_utf8(wire).unwrap()),
        1,
        StreamLimits::default(),
    );
    let StreamItem::Stanza(back) = &got.unwrap()[1] else {
        panic!()
    };
    // The parse is in the stream's namespace; compare through a re-serialisation.
    assert_eq!(back.attr("v"), Some("'\"<&>\n\t\r"));
    assert_eq!(back.text(), "<&>\r\n");
    assert_eq!(back.children().next().map(Element::ns), Some(""));
    let bad = Element::new("a", "").with_text("x\u{1}");
    assert!(matches!(
        bad.to_bytes(""),
        Err(WriteError::ForbiddenChar { ch: '\u{1}', .. })
    ));
    let bad = Element::new("a", "").with_attr("k", "\u{FFFE}");
    assert!(bad.to_bytes("").is_err());
    assert!(Element::new("1a", "").to_bytes("").is_err());
}

use crate::xmpp::element::WriteError;

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512), split in 0usize..512) {
        let mut input = HEADER.as_bytes().to_vec();
        input.extend_from_slice(&data);
        let (a, b) = input.split_at(split.min(input.len()));
        let mut p = StreamParser::new(StreamLimits::default());
        for c in [a, b] {
            p.feed(c);
            loop {
                match p.next_item() {
                    Ok(Some(StreamItem::Stanza(el))) => {
                        let _ = crate::xmpp::stanza::Message::parse(&el);
                        let _ = crate::xmpp::stanza::Presence::parse(&el);
                        let _ = crate::xmpp::stanza::Iq::parse(&el);
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) if e.is_fatal() => break,
                    Err(_) => {}
                }
            }
        }
    }

    #[test]
    fn markup_like_bytes_never_panic(data in "[<>/a-c:='\"!\\[\\]CDAT&;# x\u{e9}-]{0,200}") {
        let input = stream(&data);
        let _ = items(&input, 3, StreamLimits::default());
    }
}

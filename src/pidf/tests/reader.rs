//! The reader: namespaces and prefixes, tolerances, extensions at every
//! level, `mustUnderstand`, and the required attributes.

use super::{doc, err, ext, round_trip, wrap};
use crate::pidf::{Activity, Basic, PidfError, Show};

const TUPLE: &str = "<tuple id='t1'><status><basic>open</basic></status></tuple>";

#[test]
fn any_prefix_spelling_reads_the_same() {
    let plain = doc(&wrap(TUPLE));
    for text in [
        "<p:presence xmlns:p='urn:ietf:params:xml:ns:pidf' entity='pres:a@example.com'>\
         <p:tuple id='t1'><p:status><p:basic>open</p:basic></p:status></p:tuple></p:presence>",
        // Default namespace redeclared further down, and a prefix for the root only.
        "<x:presence xmlns:x='urn:ietf:params:xml:ns:pidf' entity='pres:a@example.com'>\
         <tuple xmlns='urn:ietf:params:xml:ns:pidf' id='t1'><status><basic>open</basic></status></tuple></x:presence>",
        // The tolerated trailing-colon namespace (standards.md C7).
        "<presence xmlns='urn:ietf:params:xml:ns:pidf:' entity='pres:a@example.com'>\
         <tuple id='t1'><status><basic>open</basic></status></tuple></presence>",
        // Attribute white space, padding and a byte order mark-free CRLF document.
        "<presence\r\n xmlns='urn:ietf:params:xml:ns:pidf'\r\n entity=' pres:a@example.com '>\r\n\
         <tuple id=' t1 '>\r\n<status>\r\n<basic> open </basic>\r\n</status>\r\n</tuple>\r\n</presence>\r\n",
    ] {
        assert_eq!(doc(text.as_bytes()), plain, "{text}");
    }
}

#[test]
fn byte_order_mark_is_skipped() {
    let mut v = b"\xEF\xBB\xBF".to_vec();
    v.extend_from_slice(&wrap(TUPLE));
    assert_eq!(doc(&v), doc(&wrap(TUPLE)));
}

#[test]
fn wrong_namespace_or_root_is_refused() {
    for (text, ns, local) in [
        ("<presence entity='x'/>", "", "presence"),
        (
            "<presence xmlns='urn:ietf:params:xml:ns:cpim-pidf' entity='x'/>",
            "urn:ietf:params:xml:ns:cpim-pidf",
            "presence",
        ),
        (
            "<p:tuple xmlns:p='urn:ietf:params:xml:ns:pidf' id='x'/>",
            "urn:ietf:params:xml:ns:pidf",
            "tuple",
        ),
    ] {
        assert_eq!(
            err(text.as_bytes()),
            PidfError::WrongRoot {
                namespace: ns.into(),
                local_name: local.into()
            }
        );
    }
}

#[test]
fn entity_and_tuple_id_are_required() {
    for text in [
        "<presence xmlns='urn:ietf:params:xml:ns:pidf'/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity=''/>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='  '/>",
        // A namespaced entity attribute is not the entity.
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:p='urn:ietf:params:xml:ns:pidf' p:entity='x'/>",
    ] {
        assert_eq!(err(text.as_bytes()), PidfError::MissingEntity, "{text}");
    }
    assert_eq!(
        err(&wrap("<tuple><status/></tuple>")),
        PidfError::MissingTupleId
    );
    assert_eq!(
        err(&wrap("<tuple id=''><status/></tuple>")),
        PidfError::MissingTupleId
    );
    assert_eq!(
        err(&wrap(&format!("{TUPLE}{TUPLE}"))),
        PidfError::DuplicateId { id: "t1".into() }
    );
}

#[test]
fn zero_tuples_are_read() {
    let d = doc(&wrap("<note>gone fishing</note>"));
    assert!(d.tuples.is_empty());
    assert_eq!(d.notes.len(), 1);
    let d = doc(b"<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:a@b'/>");
    assert!(d.tuples.is_empty());
}

#[test]
fn basic_values() {
    let basic = |b: &str| {
        parse_one(&format!(
            "<tuple id='t'><status><basic>{b}</basic></status></tuple>"
        ))
        .basic
    };
    assert_eq!(basic("open"), Some(Basic::Open));
    assert_eq!(basic("closed"), Some(Basic::Closed));
    assert_eq!(basic("\n  Closed \n"), Some(Basic::Closed));
    assert_eq!(parse_one("<tuple id='t'><status/></tuple>").basic, None);
    assert_eq!(parse_one("<tuple id='t'/>").basic, None);
    assert_eq!(
        err(&wrap(
            "<tuple id='t'><status><basic>busy</basic></status></tuple>"
        )),
        PidfError::BadBasic {
            value: "busy".into()
        }
    );
    assert_eq!(
        err(&wrap(
            "<tuple id='t'><status><basic>open</basic></status><status><basic>open</basic></status></tuple>"
        )),
        PidfError::DuplicateElement { element: "basic" }
    );
}

fn parse_one(tuple: &str) -> crate::pidf::Tuple {
    let mut d = doc(&wrap(tuple));
    assert_eq!(d.tuples.len(), 1);
    d.tuples.remove(0)
}

#[test]
fn xmpp_show_inside_status() {
    let t = parse_one(
        "<tuple id='t'><status><basic>open</basic><show xmlns='jabber:client'> dnd </show></status></tuple>",
    );
    assert_eq!(t.show, Some(Show::Dnd));
    assert!(t.status_extensions.is_empty());
    // A prefix works too.
    let t = parse_one(
        "<tuple id='t' xmlns:j='jabber:client'><status><j:show>xa</j:show></status></tuple>",
    );
    assert_eq!(t.show, Some(Show::Xa));
    // An unknown value, or a second <show>, stays an extension.
    let t = parse_one(
        "<tuple id='t'><status><show xmlns='jabber:client'>online</show>\
         <show xmlns='jabber:client'>chat</show><show xmlns='jabber:client'>away</show></status></tuple>",
    );
    assert_eq!(t.show, Some(Show::Chat));
    assert_eq!(
        t.status_extensions,
        vec![
            ext("<show xmlns='jabber:client'>online</show>"),
            ext("<show xmlns='jabber:client'>away</show>"),
        ]
    );
    round_trip(&doc(&wrap(
        "<tuple id='t'><status><show xmlns='jabber:client'>online</show>\
         <show xmlns='jabber:client'>chat</show></status></tuple>",
    )));
    // <show> in another namespace is an extension.
    let t = parse_one("<tuple id='t'><status><show>away</show></status></tuple>");
    assert_eq!(t.show, None);
    assert_eq!(t.status_extensions[0].namespace, crate::pidf::NS_PIDF);
}

#[test]
fn contact_notes_and_timestamp() {
    let t = parse_one(
        "<tuple id='t'><status><basic>open</basic></status>\
         <note xml:lang='de'>Bin &lt;gleich&gt; zur&#xfc;ck &amp; so</note>\
         <contact priority=' 0.5 '> im:a@example.com </contact>\
         <note><![CDATA[a <b> c]]> &quot;d&quot;</note>\
         <timestamp> 2001-10-27T16:49:29Z </timestamp></tuple>",
    );
    let c = t.contact.unwrap();
    assert_eq!(c.uri, "im:a@example.com");
    assert_eq!(c.priority.as_deref(), Some("0.5"));
    assert_eq!(t.notes[0].lang.as_deref(), Some("de"));
    assert_eq!(t.notes[0].text, "Bin <gleich> zurück & so");
    assert_eq!(t.notes[1].lang, None);
    assert_eq!(t.notes[1].text, "a <b> c \"d\"");
    assert_eq!(t.timestamp.as_deref(), Some("2001-10-27T16:49:29Z"));
    for dup in [
        "<contact>a</contact><contact>b</contact>",
        "<timestamp>a</timestamp><timestamp>b</timestamp>",
    ] {
        assert!(matches!(
            err(&wrap(&format!("<tuple id='t'>{dup}</tuple>"))),
            PidfError::DuplicateElement { .. }
        ));
    }
}

#[test]
fn note_text_keeps_white_space_and_line_ends_are_normalized() {
    let t = parse_one("<tuple id='t'><note>  two\r\nlines&#13; </note></tuple>");
    assert_eq!(t.notes[0].text, "  two\nlines\r ");
    round_trip(&doc(&wrap(
        "<tuple id='t'><note>  two\r\nlines&#13; </note></tuple>",
    )));
}

#[test]
fn person_and_activities() {
    let d = doc(&wrap(&format!(
        "{TUPLE}<dm:person xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' \
         xmlns:r='urn:ietf:params:xml:ns:pidf:rpid' id='p'>\
         <r:activities><r:note>x</r:note><r:on-the-phone/><r:other>juggling</r:other>\
         <r:dancing/><x:knitting xmlns:x='urn:example'/></r:activities>\
         <r:activities><r:busy/></r:activities>\
         <dm:note xml:lang='en'>On a call</dm:note>\
         <r:mood><r:happy/></r:mood>\
         </dm:person>"
    )));
    let p = &d.persons[0];
    assert_eq!(p.id, "p");
    assert_eq!(
        p.activities,
        vec![
            Activity::OnThePhone,
            Activity::Other("juggling".into()),
            Activity::Other("dancing".into()),
            Activity::Other("knitting".into()),
            Activity::Busy,
        ]
    );
    assert_eq!(p.notes[0].text, "On a call");
    assert_eq!(
        p.extensions,
        vec![ext(
            "<r:mood xmlns:r='urn:ietf:params:xml:ns:pidf:rpid'><r:happy/></r:mood>"
        )]
    );
    round_trip(&d);
    // A person without an id is read (the writer refuses it).
    let d = doc(&wrap(&format!(
        "{TUPLE}<person xmlns='urn:ietf:params:xml:ns:pidf:data-model'/>"
    )));
    assert_eq!(d.persons[0].id, "");
}

#[test]
fn every_rpid_activity_name_is_read() {
    for a in Activity::KNOWN {
        let d = doc(&wrap(&format!(
            "{TUPLE}<dm:person xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' \
             xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid' id='p'>\
             <rpid:activities><rpid:{}/></rpid:activities></dm:person>",
            a.name()
        )));
        assert_eq!(d.persons[0].activities, vec![a.clone()]);
        round_trip(&d);
    }
}

#[test]
fn unknown_elements_are_kept_at_every_level() {
    let d = doc(&wrap(
        "<tuple id='t'><status><basic>open</basic><e:s xmlns:e='urn:e' a='1'>S</e:s></status>\
         <e:t xmlns:e='urn:e'><e:deep><plain/></e:deep></e:t>\
         <contact>c</contact><junk>in pidf ns</junk></tuple>\
         <e:p xmlns:e='urn:e' xmlns:f='urn:f' f:attr='v &amp; w'/>",
    ));
    let t = &d.tuples[0];
    assert_eq!(
        t.status_extensions,
        vec![ext("<e:s xmlns:e='urn:e' a='1'>S</e:s>")]
    );
    assert_eq!(
        t.extensions[0].xml,
        r#"<e:t xmlns:e="urn:e" xmlns="urn:ietf:params:xml:ns:pidf"><e:deep><plain/></e:deep></e:t>"#
    );
    assert_eq!(
        t.extensions[1].xml,
        r#"<junk xmlns="urn:ietf:params:xml:ns:pidf">in pidf ns</junk>"#
    );
    assert_eq!(
        d.extensions[0].xml,
        r#"<e:p xmlns:e="urn:e" xmlns:f="urn:f" f:attr="v &amp; w"/>"#
    );
    assert!(d.extensions.iter().all(|e| !e.must_understand));
    // Written back verbatim, in place.
    let built = String::from_utf8(round_trip(&d)).unwrap();
    assert!(
        built.contains(r#"<e:s xmlns:e="urn:e" a="1">S</e:s>"#),
        "{built}"
    );
    assert!(built.contains(r#"<e:p xmlns:e="urn:e" xmlns:f="urn:f" f:attr="v &amp; w"/>"#));
}

#[test]
fn fragments_in_no_namespace_say_so() {
    // Inside a PIDF document an unprefixed element can still be in no
    // namespace; its fragment says xmlns="" so it stays there when moved.
    let d = doc(
        b"<p:presence xmlns:p='urn:ietf:params:xml:ns:pidf' entity='pres:a@b'>\
          <p:tuple id='t'><foo><bar xmlns='urn:x'><baz xmlns=''/></bar></foo></p:tuple></p:presence>",
    );
    assert_eq!(
        d.tuples[0].extensions[0].xml,
        r#"<foo xmlns=""><bar xmlns="urn:x"><baz xmlns=""/></bar></foo>"#
    );
    assert_eq!(d.tuples[0].extensions[0].namespace, "");
    round_trip(&d);
}

#[test]
fn comments_and_processing_instructions_are_skipped() {
    let d = doc(
        b"<?xml version='1.0'?>\n<!-- before --><?pi x?>\
          <presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:a@b'><!-- c -->\
          <tuple id='t'><status><basic>op<!-- c -->en</basic></status><e:x xmlns:e='urn:e'><!-- c --><?p?></e:x></tuple>\
          </presence><!-- after -->\n",
    );
    assert_eq!(d.tuples[0].basic, Some(Basic::Open));
    assert_eq!(d.tuples[0].extensions[0].xml, r#"<e:x xmlns:e="urn:e"/>"#);
}

#[test]
fn must_understand_on_an_unknown_element_refuses_the_document() {
    for attr in [
        "mustUnderstand='true'",
        "mustUnderstand='1'",
        "mustUnderstand=' true '",
        "p:mustUnderstand='true' xmlns:p='urn:ietf:params:xml:ns:pidf'",
        "p:mustUnderstand='1' xmlns:p='urn:ietf:params:xml:ns:pidf:'",
    ] {
        for body in [
            format!("<tuple id='t'><status><e:x xmlns:e='urn:e' {attr}/></status></tuple>"),
            format!("<tuple id='t'><e:x xmlns:e='urn:e' {attr}/></tuple>"),
            format!("{TUPLE}<e:x xmlns:e='urn:e' {attr}/>"),
            format!(
                "{TUPLE}<person xmlns='urn:ietf:params:xml:ns:pidf:data-model' id='p'><e:x xmlns:e='urn:e' {attr}/></person>"
            ),
        ] {
            assert_eq!(
                err(&wrap(&body)),
                PidfError::MustUnderstand {
                    element: "{urn:e}x".into()
                },
                "{body}"
            );
        }
    }
    // false, 0, another namespace, or a known element: fine.
    for attr in [
        "mustUnderstand='false'",
        "mustUnderstand='0'",
        "o:mustUnderstand='true' xmlns:o='urn:other'",
    ] {
        let d = doc(&wrap(&format!(
            "<tuple id='t'><status><e:x xmlns:e='urn:e' {attr}/></status></tuple>"
        )));
        assert_eq!(d.tuples[0].status_extensions.len(), 1);
    }
    let t = parse_one(
        "<tuple id='t'><status><basic mustUnderstand='true'>open</basic></status></tuple>",
    );
    assert_eq!(t.basic, Some(Basic::Open));
    // Nested inside an ignored extension it does not matter (RFC 3863
    // §4.3.1 marks the extension element itself).
    doc(&wrap(
        "<tuple id='t'><e:x xmlns:e='urn:e'><e:y mustUnderstand='true'/></e:x></tuple>",
    ));
}

#[test]
fn extension_from_xml_is_canonical() {
    let a = ext("<e:x xmlns:e='urn:e'  b = \"2\"\ta='1' ><e:y></e:y></e:x>");
    assert_eq!(a.xml, r#"<e:x xmlns:e="urn:e" b="2" a="1"><e:y/></e:x>"#);
    assert_eq!(a.namespace, "urn:e");
    assert_eq!(a.local_name, "x");
    assert!(!a.must_understand);
    assert_eq!(ext(&a.xml), a);
    let m = ext("<x xmlns='urn:e' mustUnderstand='1'/>");
    assert!(m.must_understand);
    assert!(crate::pidf::Extension::from_xml("<a/><b/>").is_err());
    assert!(crate::pidf::Extension::from_xml("<?xml version='1.0'?><a/>").is_err());
    assert!(crate::pidf::Extension::from_xml("text").is_err());
    assert!(crate::pidf::Extension::from_xml("<p:a/>").is_err());
}

//! The writer: exact output for a typical document, refusals, escaping,
//! namespaces declared only when used, extensions in place.

use super::{ext, round_trip};
use crate::pidf::{
    Activity, Basic, Contact, Document, Extension, Note, Person, PidfError, Show, Tuple, build,
    parse,
};

fn tuple(id: &str) -> Tuple {
    Tuple {
        id: id.into(),
        basic: Some(Basic::Open),
        ..Tuple::default()
    }
}

fn one(t: Tuple) -> Document {
    Document {
        entity: "pres:juliet@example.com".into(),
        tuples: vec![t],
        ..Document::default()
    }
}

fn text(d: &Document) -> String {
    String::from_utf8(build(d).unwrap()).unwrap()
}

#[test]
fn typical_gateway_document() {
    let d = Document {
        entity: "pres:juliet@example.com".into(),
        tuples: vec![Tuple {
            id: "ID-balcony".into(),
            basic: Some(Basic::Open),
            show: Some(Show::Away),
            contact: Some(Contact {
                uri: "xmpp:juliet@example.com/balcony".into(),
                priority: Some("0.5".into()),
            }),
            notes: vec![Note {
                lang: Some("en".into()),
                text: "Wherefore art thou?".into(),
            }],
            timestamp: Some("2008-12-18T17:12:56Z".into()),
            ..Tuple::default()
        }],
        persons: vec![Person {
            id: "p-balcony".into(),
            activities: vec![Activity::Away],
            ..Person::default()
        }],
        ..Document::default()
    };
    assert_eq!(
        text(&d),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="pres:juliet@example.com">
  <tuple id="ID-balcony">
    <status>
      <basic>open</basic>
      <show xmlns="jabber:client">away</show>
    </status>
    <contact priority="0.5">xmpp:juliet@example.com/balcony</contact>
    <note xml:lang="en">Wherefore art thou?</note>
    <timestamp>2008-12-18T17:12:56Z</timestamp>
  </tuple>
  <dm:person id="p-balcony">
    <rpid:activities><rpid:away/></rpid:activities>
  </dm:person>
</presence>
"#
    );
    round_trip(&d);
}

#[test]
fn prefixes_are_declared_only_when_used() {
    let plain = text(&one(tuple("t")));
    assert!(
        !plain.contains("xmlns:dm") && !plain.contains("xmlns:rpid"),
        "{plain}"
    );
    let mut d = one(tuple("t"));
    d.persons.push(Person {
        id: "p".into(),
        ..Person::default()
    });
    let with_person = text(&d);
    assert!(with_person.contains("xmlns:dm") && !with_person.contains("xmlns:rpid"));
    let minimal = one(Tuple {
        id: "t".into(),
        ..Tuple::default()
    });
    assert!(text(&minimal).contains("<status/>"));
    round_trip(&minimal);
}

#[test]
fn refusals() {
    let mut d = one(tuple("t"));
    d.tuples.clear();
    assert_eq!(build(&d), Err(PidfError::ZeroTuples));
    let mut d = one(tuple("t"));
    d.entity = " ".into();
    assert_eq!(build(&d), Err(PidfError::MissingEntity));
    d.entity = " pres:a@b".into();
    assert_eq!(build(&d), Err(PidfError::Whitespace { field: "entity" }));
    d.entity = "pres:a\u{1}@b".into();
    assert_eq!(
        build(&d),
        Err(PidfError::Unrepresentable { field: "entity" })
    );
    assert_eq!(build(&one(tuple(""))), Err(PidfError::MissingTupleId));
    let mut d = one(tuple("t"));
    d.tuples.push(tuple("t"));
    assert_eq!(build(&d), Err(PidfError::DuplicateId { id: "t".into() }));
    let mut d = one(tuple("t"));
    d.persons.push(Person {
        id: "t".into(),
        ..Person::default()
    });
    assert_eq!(build(&d), Err(PidfError::DuplicateId { id: "t".into() }));
    d.persons[0].id = String::new();
    assert_eq!(build(&d), Err(PidfError::MissingPersonId));
    for bad in ["2", "1.5", "0.1234", "-0", ".5", "", " 0.5", "1.01", "0,5"] {
        let mut t = tuple("t");
        t.contact = Some(Contact {
            uri: "im:a@b".into(),
            priority: Some(bad.into()),
        });
        assert_eq!(
            build(&one(t)),
            Err(PidfError::BadPriority { value: bad.into() }),
            "{bad}"
        );
    }
    for good in ["0", "1", "0.", "0.5", "0.125", "1.000", "1."] {
        let mut t = tuple("t");
        t.contact = Some(Contact {
            uri: "im:a@b".into(),
            priority: Some(good.into()),
        });
        round_trip(&one(t));
    }
    let mut t = tuple("t");
    t.timestamp = Some("2001-10-27T16:49:29Z\n".into());
    assert_eq!(
        build(&one(t)),
        Err(PidfError::Whitespace { field: "timestamp" })
    );
    let mut t = tuple("t");
    t.notes.push(Note {
        lang: None,
        text: "bell \u{7}".into(),
    });
    assert_eq!(
        build(&one(t)),
        Err(PidfError::Unrepresentable { field: "note" })
    );
}

#[test]
fn escaping_survives_the_round_trip() {
    let mut t = tuple("a\"b'c<&>");
    t.notes.push(Note {
        lang: Some("x-<&\">".into()),
        text: "<tag> & ]]> \r\n\t'\"  ".into(),
    });
    t.contact = Some(Contact {
        uri: "im:a&b@c?<>".into(),
        priority: None,
    });
    let mut d = one(t);
    d.entity = "pres:\"a\"\t&\n<b>\rx".into();
    d.persons.push(Person {
        id: "p".into(),
        activities: vec![
            Activity::Other("a < b & \"c\"".into()),
            Activity::Other(String::new()),
        ],
        notes: vec![Note {
            lang: Some(String::new()),
            text: String::new(),
        }],
        ..Person::default()
    });
    let out = text(&d);
    assert!(
        out.contains("entity=\"pres:&quot;a&quot;&#9;&amp;&#10;&lt;b&gt;&#13;x\""),
        "{out}"
    );
    round_trip(&d);
}

#[test]
fn extensions_are_written_in_place() {
    let mut t = tuple("t");
    t.show = Some(Show::Dnd);
    t.status_extensions = vec![
        ext("<im:im xmlns:im='urn:ietf:params:xml:ns:pidf:im'>busy</im:im>"),
        // A second show is fine after the tuple's own.
        ext("<show xmlns='jabber:client'>away</show>"),
    ];
    t.extensions = vec![ext(
        "<dm:deviceID xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model'>urn:x</dm:deviceID>",
    )];
    let mut d = one(t);
    d.persons.push(Person {
        id: "p".into(),
        activities: vec![Activity::Busy],
        notes: vec![Note {
            lang: None,
            text: "n".into(),
        }],
        extensions: vec![
            ext("<r:mood xmlns:r='urn:ietf:params:xml:ns:pidf:rpid'><r:happy/></r:mood>"),
            ext("<dm:timestamp xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model'>2005-05-30T16:09:44Z</dm:timestamp>"),
            ext("<r:sphere xmlns:r='urn:ietf:params:xml:ns:pidf:rpid'>work</r:sphere>"),
        ],
    });
    d.extensions = vec![ext("<x:y xmlns:x='urn:x'/>")];
    let out = text(&d);
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} not in {out}"));
    assert!(
        at("<basic>") < at("<show xmlns=\"jabber:client\">dnd") && at("dnd</show>") < at("<im:im")
    );
    assert!(at("</status>") < at("<dm:deviceID"));
    // Person: activities, non-data-model extensions, notes, then the rest.
    assert!(at("<rpid:activities>") < at("<r:mood") && at("<r:mood") < at("<dm:note>"));
    assert!(at("<dm:note>") < at("<dm:timestamp") && at("<dm:timestamp") < at("<r:sphere"));
    assert!(at("</dm:person>") < at("<x:y"));
    round_trip(&d);
}

#[test]
fn extensions_that_would_not_read_back_are_refused() {
    let bad = |e: Extension, place: &str| {
        let mut d = one(tuple("t"));
        match place {
            "presence" => d.extensions.push(e),
            "tuple" => d.tuples[0].extensions.push(e),
            "status" => d.tuples[0].status_extensions.push(e),
            _ => d.persons.push(Person {
                id: "p".into(),
                extensions: vec![e],
                ..Person::default()
            }),
        }
        match build(&d) {
            Err(PidfError::BadExtension { .. }) => {}
            other => panic!("{place}: {other:?}"),
        }
    };
    let raw = |xml: &str| Extension {
        namespace: "urn:x".into(),
        local_name: "y".into(),
        xml: xml.into(),
        must_understand: false,
    };
    bad(raw("<x:y xmlns:x='urn:x'/>"), "presence"); // not canonical
    bad(
        raw(r#"<x:y xmlns:x="urn:x"/><x:y xmlns:x="urn:x"/>"#),
        "presence",
    );
    bad(raw(r#"</presence><x:y xmlns:x="urn:x"/>"#), "presence");
    bad(raw(r#"<x:y/>"#), "presence");
    bad(raw(r#"<x:z xmlns:x="urn:x"/>"#), "presence"); // name disagrees
    let mut mu = ext("<x:y xmlns:x='urn:x' mustUnderstand='true'/>");
    mu.must_understand = false;
    bad(mu, "tuple");
    bad(
        ext("<tuple xmlns='urn:ietf:params:xml:ns:pidf' id='u'/>"),
        "presence",
    );
    bad(
        ext("<note xmlns='urn:ietf:params:xml:ns:pidf:'/>"),
        "presence",
    );
    bad(
        ext("<person xmlns='urn:ietf:params:xml:ns:pidf:data-model'/>"),
        "presence",
    );
    bad(
        ext("<contact xmlns='urn:ietf:params:xml:ns:pidf'/>"),
        "tuple",
    );
    bad(
        ext("<basic xmlns='urn:ietf:params:xml:ns:pidf'>open</basic>"),
        "status",
    );
    bad(ext("<show xmlns='jabber:client'>away</show>"), "status");
    bad(
        ext("<note xmlns='urn:ietf:params:xml:ns:pidf:data-model'/>"),
        "person",
    );
    bad(
        ext("<activities xmlns='urn:ietf:params:xml:ns:pidf:rpid'/>"),
        "person",
    );
    // A <show> the reader would not take (bad value) is fine without one.
    let mut t = tuple("t");
    t.status_extensions
        .push(ext("<show xmlns='jabber:client'>online</show>"));
    round_trip(&one(t));
}

#[test]
fn must_understand_extensions_are_written_and_then_refused_by_the_reader() {
    let mut t = tuple("t");
    t.status_extensions
        .push(ext("<x:y xmlns:x='urn:x' mustUnderstand='true'/>"));
    let bytes = build(&one(t)).unwrap();
    assert_eq!(
        parse(&bytes),
        Err(PidfError::MustUnderstand {
            element: "{urn:x}y".into()
        })
    );
}

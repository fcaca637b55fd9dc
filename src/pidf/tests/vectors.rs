//! The RFC examples in `tests/vectors/pidf/`: what they read as, and that
//! each survives build → parse.

use super::{doc, ext, round_trip};
use crate::pidf::{Activity, Basic, Contact, Note, Show};

const RFC3863_BASIC: &[u8] = include_bytes!("../../../tests/vectors/pidf/rfc3863-basic.xml");
const RFC3863_PREFIXED: &[u8] = include_bytes!("../../../tests/vectors/pidf/rfc3863-prefixed.xml");
const RFC3863_EXTENDED: &[u8] = include_bytes!("../../../tests/vectors/pidf/rfc3863-extended.xml");
const RFC4480_RPID: &[u8] = include_bytes!("../../../tests/vectors/pidf/rfc4480-rpid.xml");
const RFC7248_SHOW: &[u8] = include_bytes!("../../../tests/vectors/pidf/rfc7248-show.xml");

pub(super) const ALL: [&[u8]; 5] = [
    RFC3863_BASIC,
    RFC3863_PREFIXED,
    RFC3863_EXTENDED,
    RFC4480_RPID,
    RFC7248_SHOW,
];

fn note(lang: Option<&str>, text: &str) -> Note {
    Note {
        lang: lang.map(str::to_owned),
        text: text.to_owned(),
    }
}

#[test]
fn rfc3863_basic_example() {
    let d = doc(RFC3863_BASIC);
    assert_eq!(d.entity, "pres:someone@example.com");
    assert_eq!(d.tuples.len(), 1);
    let t = &d.tuples[0];
    assert_eq!(t.id, "sg89ae");
    assert_eq!(t.basic, Some(Basic::Open));
    assert_eq!(t.show, None);
    assert_eq!(
        t.contact,
        Some(Contact {
            uri: "tel:+09012345678".into(),
            priority: Some("0.8".into()),
        })
    );
    assert!(t.notes.is_empty() && t.extensions.is_empty() && t.status_extensions.is_empty());
    assert!(d.notes.is_empty() && d.persons.is_empty() && d.extensions.is_empty());
}

#[test]
fn prefixed_example_reads_like_the_default_namespace_one() {
    assert_eq!(doc(RFC3863_PREFIXED), doc(RFC3863_BASIC));
}

#[test]
fn rfc3863_extended_example() {
    let d = doc(RFC3863_EXTENDED);
    assert_eq!(d.tuples.len(), 2);
    let t = &d.tuples[0];
    assert_eq!(t.id, "bs35r9");
    assert_eq!(t.basic, Some(Basic::Open));
    assert_eq!(
        t.status_extensions,
        vec![
            ext(r#"<im:im xmlns:im="urn:ietf:params:xml:ns:pidf:im">busy</im:im>"#),
            ext(
                r#"<myex:location xmlns:myex="http://id.example.com/presence/">home</myex:location>"#
            ),
        ]
    );
    assert_eq!(
        t.status_extensions[0].namespace,
        "urn:ietf:params:xml:ns:pidf:im"
    );
    assert_eq!(t.status_extensions[0].local_name, "im");
    assert_eq!(
        t.status_extensions[0].xml,
        r#"<im:im xmlns:im="urn:ietf:params:xml:ns:pidf:im">busy</im:im>"#
    );
    assert_eq!(
        t.contact.as_ref().map(|c| c.uri.as_str()),
        Some("im:someone@mobilecarrier.net")
    );
    assert_eq!(
        t.notes,
        vec![
            note(Some("en"), "Don't Disturb Please!"),
            note(Some("fr"), "Ne derangez pas, s'il vous plait"),
        ]
    );
    assert_eq!(t.timestamp.as_deref(), Some("2001-10-27T16:49:29Z"));
    let t = &d.tuples[1];
    assert_eq!(t.id, "eg92n8");
    assert_eq!(
        t.contact.as_ref().and_then(|c| c.priority.as_deref()),
        Some("1.0")
    );
    assert_eq!(d.notes, vec![note(None, "I'll be in Tokyo next week")]);
}

#[test]
fn rfc4480_rpid_example() {
    let d = doc(RFC4480_RPID);
    assert_eq!(d.tuples.len(), 2);
    let t = &d.tuples[0];
    let names: Vec<&str> = t.extensions.iter().map(|e| e.local_name.as_str()).collect();
    assert_eq!(names, ["deviceID", "relationship", "service-class"]);
    assert_eq!(
        t.extensions[1].xml,
        r#"<rpid:relationship xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"><rpid:self/></rpid:relationship>"#
    );
    assert_eq!(t.notes.len(), 2);
    // <dm:device> is kept as a presence-level extension.
    assert_eq!(d.extensions.len(), 1);
    assert_eq!(d.extensions[0].local_name, "device");
    assert!(d.extensions[0].xml.starts_with(
        r#"<dm:device xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="pc147">"#
    ));
    assert_eq!(d.persons.len(), 1);
    let p = &d.persons[0];
    assert_eq!(p.id, "p1");
    // The activities' <rpid:note> and from/until are not part of the model.
    assert_eq!(p.activities, vec![Activity::Away]);
    assert_eq!(p.notes, vec![note(None, "Scoring 120")]);
    let names: Vec<&str> = p.extensions.iter().map(|e| e.local_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "class",
            "mood",
            "place-is",
            "place-type",
            "privacy",
            "sphere",
            "status-icon",
            "time-offset",
            "timestamp"
        ]
    );
    // A fragment declares the prefixes it uses, and only those.
    assert_eq!(
        p.extensions[3].xml,
        r#"<rpid:place-type xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:lt="urn:ietf:params:xml:ns:location-type"><lt:residence/></rpid:place-type>"#
    );
}

#[test]
fn rfc7248_show_example() {
    let d = doc(RFC7248_SHOW);
    let t = &d.tuples[0];
    assert_eq!(t.id, "ID-balcony");
    assert_eq!(t.basic, Some(Basic::Open));
    assert_eq!(t.show, Some(Show::Away));
    assert!(t.status_extensions.is_empty());
    assert_eq!(t.notes, vec![note(Some("en"), "retired to the chamber")]);
}

#[test]
fn every_vector_round_trips() {
    for v in ALL {
        let d = doc(v);
        let built = round_trip(&d);
        // And the written form is stable.
        assert_eq!(round_trip(&doc(&built)), built);
    }
}

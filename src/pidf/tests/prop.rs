//! Properties: generated documents survive build → parse unchanged, and
//! arbitrary or mutated bytes never panic and satisfy the fuzz target's
//! property (house style B.13).

use proptest::prelude::*;

use super::{ext, round_trip, vectors};
use crate::pidf::write::escape_text;
use crate::pidf::{
    Activity, Basic, Contact, Document, Extension, Note, Person, PidfError, Show, Tuple, build,
    parse,
};

/// The fuzz target's property: a document the reader accepts is either
/// written and read back equal, or refused by the writer only for what the
/// reader tolerates and the writer does not (no tuples, a person without
/// id, a priority that is not a qvalue, an id used twice).
fn check(input: &[u8]) {
    let Ok(d) = parse(input) else { return };
    match build(&d) {
        Ok(bytes) => assert_eq!(
            parse(&bytes),
            Ok(d),
            "\n{}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(
            PidfError::ZeroTuples
            | PidfError::MissingPersonId
            | PidfError::BadPriority { .. }
            | PidfError::DuplicateId { .. },
        ) => {}
        Err(e) => panic!("read but not written: {e}\n{d:#?}"),
    }
}

/// Any text XML can carry, including markup characters and line ends.
fn any_text() -> impl Strategy<Value = String> {
    "[ -~\t\n\r\u{e9}\u{2028}\u{1F600}]{0,12}"
}

/// Text without white space at the ends, never empty.
fn trimmed_text() -> impl Strategy<Value = String> {
    any_text().prop_map(|s| format!("x{s}y"))
}

fn basic() -> impl Strategy<Value = Option<Basic>> {
    prop_oneof![
        Just(None),
        Just(Some(Basic::Open)),
        Just(Some(Basic::Closed))
    ]
}

fn show() -> impl Strategy<Value = Option<Show>> {
    prop_oneof![
        Just(None),
        Just(Some(Show::Away)),
        Just(Some(Show::Chat)),
        Just(Some(Show::Dnd)),
        Just(Some(Show::Xa)),
    ]
}

fn note() -> impl Strategy<Value = Note> {
    (
        prop_oneof![
            Just(None),
            Just(Some(String::new())),
            trimmed_text().prop_map(Some)
        ],
        any_text(),
    )
        .prop_map(|(lang, text)| Note { lang, text })
}

/// Extension fragments of a few shapes, with generated text and attribute
/// values (escaped here, unescaped by the reader).
fn extension() -> impl Strategy<Value = Extension> {
    (0..5usize, any_text(), any_text()).prop_map(|(shape, text, value)| {
        let mut t = String::new();
        escape_text(&text, &mut t);
        let mut v = String::new();
        crate::pidf::write::escape_attr(&value, &mut v);
        let xml = match shape {
            0 => format!("<e:x xmlns:e='urn:e' a=\"{v}\">{t}</e:x>"),
            1 => format!("<x xmlns='urn:x'><y>{t}</y><f:z xmlns:f='urn:f' f:b=\"{v}\"/></x>"),
            2 => format!(
                "<e:x xmlns:e='urn:e'><none xmlns=''>{t}</none><e:x xmlns:e='urn:other'/></e:x>"
            ),
            3 => format!("<show xmlns='jabber:client'>online{t}</show>"),
            _ => format!("<e:x xmlns:e='urn:e' xml:lang=\"{v}\"/>"),
        };
        ext(&xml)
    })
}

fn person_extension() -> impl Strategy<Value = Extension> {
    prop_oneof![
        extension(),
        Just(ext(
            "<dm:timestamp xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model'>2005-05-30T16:09:44Z</dm:timestamp>"
        )),
        Just(ext(
            "<r:mood xmlns:r='urn:ietf:params:xml:ns:pidf:rpid'><r:happy/></r:mood>"
        )),
    ]
}

fn activity() -> impl Strategy<Value = Activity> {
    prop_oneof![
        proptest::sample::select(Activity::KNOWN.to_vec()),
        any_text().prop_map(Activity::Other),
    ]
}

fn qvalue() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        "0(\\.[0-9]{0,3})?".prop_map(Some),
        "1(\\.0{0,3})?".prop_map(Some),
    ]
}

fn tuple() -> impl Strategy<Value = Tuple> {
    (
        (
            basic(),
            show(),
            proptest::collection::vec(extension(), 0..3),
        ),
        proptest::collection::vec(extension(), 0..3),
        proptest::option::of((any_text().prop_map(|s| format!("im:{s}x")), qvalue())),
        proptest::collection::vec(note(), 0..3),
        proptest::option::of(trimmed_text()),
        trimmed_text(),
    )
        .prop_map(
            |((basic, show, status_extensions), extensions, contact, notes, timestamp, id)| {
                Tuple {
                    id,
                    basic,
                    // A show extension is taken as the tuple's own only when
                    // valid; ours never are ("online…").
                    show,
                    status_extensions,
                    contact: contact.map(|(uri, priority)| Contact { uri, priority }),
                    notes,
                    timestamp,
                    extensions,
                }
            },
        )
}

fn person() -> impl Strategy<Value = Person> {
    (
        proptest::collection::vec(activity(), 0..4),
        proptest::collection::vec(note(), 0..3),
        proptest::collection::vec(person_extension(), 0..4),
    )
        .prop_map(|(activities, notes, extensions)| Person {
            id: String::new(),
            activities,
            notes,
            extensions,
        })
}

fn document() -> impl Strategy<Value = Document> {
    (
        trimmed_text(),
        proptest::collection::vec(tuple(), 1..4),
        proptest::collection::vec(note(), 0..3),
        proptest::collection::vec(person(), 0..3),
        proptest::collection::vec(extension(), 0..3),
    )
        .prop_map(|(entity, mut tuples, notes, mut persons, extensions)| {
            // Ids are unique: number them.
            for (i, t) in tuples.iter_mut().enumerate() {
                t.id = format!("t{i}-{}", t.id);
            }
            for (i, p) in persons.iter_mut().enumerate() {
                p.id = format!("p{i}");
            }
            Document {
                entity,
                tuples,
                notes,
                persons,
                extensions,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_documents_round_trip(d in document()) {
        let bytes = round_trip(&d);
        // Writing is deterministic.
        prop_assert_eq!(build(&d).ok(), Some(bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&input);
    }

    #[test]
    fn arbitrary_markup_never_panics(input in "(<[a-z:]{0,4}( [a-z:]{1,4}='[^']{0,4}')*/?>|</[a-z:]{0,4}>|&[a-z#0-9]{0,4};|[ -~]{0,4}){0,24}") {
        check(input.as_bytes());
        let wrapped = format!("<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:p='urn:ietf:params:xml:ns:pidf' entity='e'>{input}</presence>");
        check(wrapped.as_bytes());
    }

    #[test]
    fn mutated_vectors_never_panic(
        which in 0..vectors::ALL.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut v = vectors::ALL.get(which).map(|v| v.to_vec()).unwrap_or_default();
        for (at, byte) in edits {
            let i = at.index(v.len());
            v[i] = byte;
        }
        check(&v);
    }
}

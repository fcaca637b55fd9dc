//! XMPP presence ⇄ PIDF documents (RFC 7248 §4, RFC 3922 §5–6, RFC 8048):
//! several XMPP resources become one document with one tuple each (ids
//! prefixed `ID-`), and a document's tuples become one XMPP presence per
//! tuple. The show / RPID / basic choices come from
//! `mappings/presence.toml` ([`crate::pidf::mapping`]).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::pidf::mapping::PresenceTable;
use crate::pidf::{self, Basic, Document, Note, Person, Tuple};
use crate::xmpp::stanza::Show;

/// What the gateway knows of one XMPP resource of a presentity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(in crate::gateway) struct ResourceState {
    /// Available (no `type`) or unavailable.
    pub(in crate::gateway) available: bool,
    /// `<show/>`.
    pub(in crate::gateway) show: Option<Show>,
    /// The first `<status/>` text.
    pub(in crate::gateway) status: Option<String>,
    /// `<priority/>`.
    pub(in crate::gateway) priority: Option<i8>,
}

fn table() -> &'static PresenceTable {
    static TABLE: OnceLock<PresenceTable> = OnceLock::new();
    TABLE.get_or_init(PresenceTable::builtin)
}

pub(in crate::gateway) fn show_to_pidf(s: Show) -> pidf::Show {
    match s {
        Show::Away => pidf::Show::Away,
        Show::Chat => pidf::Show::Chat,
        Show::Dnd => pidf::Show::Dnd,
        Show::Xa => pidf::Show::Xa,
    }
}

pub(in crate::gateway) fn show_from_pidf(s: pidf::Show) -> Show {
    match s {
        pidf::Show::Away => Show::Away,
        pidf::Show::Chat => Show::Chat,
        pidf::Show::Dnd => Show::Dnd,
        pidf::Show::Xa => Show::Xa,
    }
}

/// A tuple id for an XMPP resource: `ID-` and the resource with every
/// character outside `[A-Za-z0-9._-]` written as `_xx` hex (an XML ID).
pub(in crate::gateway) fn tuple_id(resource: &str) -> String {
    let mut id = String::with_capacity(resource.len() + 3);
    id.push_str("ID-");
    for b in resource.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-') {
            id.push(char::from(b));
        } else {
            id.push_str(&format!("_{b:02x}"));
        }
    }
    id
}

/// The document for a presentity's resources (RFC 7248 §4.2). With no
/// resource known, one `closed` tuple (a gateway never writes a document
/// without tuples, RFC 3922 §6.3.2). `timestamp` is RFC 3339 text.
pub(in crate::gateway) fn document_for(
    entity: &str,
    contact: &str,
    resources: &BTreeMap<String, ResourceState>,
    timestamp: &str,
) -> Document {
    let mut tuples = Vec::with_capacity(resources.len().max(1));
    let mut activities = Vec::new();
    for (res, r) in resources {
        let st = table().from_xmpp(r.available, r.show.map(show_to_pidf));
        for a in st.activities {
            if !activities.contains(&a) {
                activities.push(a);
            }
        }
        tuples.push(Tuple {
            id: tuple_id(res),
            basic: Some(st.basic),
            show: st.show,
            contact: Some(pidf::Contact {
                uri: contact.to_string(),
                priority: None,
            }),
            notes: r
                .status
                .iter()
                .map(|t| Note {
                    lang: None,
                    text: t.clone(),
                })
                .collect(),
            timestamp: Some(timestamp.to_string()),
            ..Tuple::default()
        });
    }
    if tuples.is_empty() {
        tuples.push(Tuple {
            id: "ID-unavailable".to_string(),
            basic: Some(Basic::Closed),
            contact: Some(pidf::Contact {
                uri: contact.to_string(),
                priority: None,
            }),
            timestamp: Some(timestamp.to_string()),
            ..Tuple::default()
        });
    }
    let persons = if activities.is_empty() {
        Vec::new()
    } else {
        vec![Person {
            id: "p1".to_string(),
            activities,
            ..Person::default()
        }]
    };
    Document {
        entity: entity.to_string(),
        tuples,
        persons,
        ..Document::default()
    }
}

/// One XMPP presence derived from a tuple: the resource name to send it
/// from, and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::gateway) struct TuplePresence {
    /// The tuple id (used as the XMPP resource).
    pub(in crate::gateway) resource: String,
    /// The state.
    pub(in crate::gateway) state: ResourceState,
}

/// The XMPP presences for a document's tuples (RFC 7248 §4.3; RFC 3922
/// §5.2.11: a document without tuples gives none). Person-level RPID
/// activities apply to tuples without a `<show>` of their own, and the
/// person's note to tuples without a note.
pub(in crate::gateway) fn presences_of(doc: &Document) -> Vec<TuplePresence> {
    let activities: Vec<pidf::Activity> = doc
        .persons
        .iter()
        .flat_map(|p| p.activities.iter().cloned())
        .collect();
    let person_note = doc
        .persons
        .iter()
        .flat_map(|p| p.notes.iter())
        .chain(doc.notes.iter())
        .next()
        .map(|n| n.text.clone());
    doc.tuples
        .iter()
        .map(|t| {
            // Person-level activities describe the person, not a device: a
            // tuple that carries its own <show> is read from that alone.
            let shared: &[pidf::Activity] = if t.show.is_some() { &[] } else { &activities };
            let x = table().to_xmpp(t.basic, t.show, shared);
            let status = t
                .notes
                .first()
                .map(|n| n.text.clone())
                .or_else(|| person_note.clone());
            let resource = resource_of(&t.id);
            TuplePresence {
                resource,
                state: ResourceState {
                    available: x.available,
                    show: x.show.map(show_from_pidf),
                    status,
                    priority: None,
                },
            }
        })
        .collect()
}

/// A JID resource from a tuple id: the id without our `ID-` prefix, when
/// it is not empty.
fn resource_of(id: &str) -> String {
    match id.strip_prefix("ID-") {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => id.to_string(),
    }
}

/// RFC 3339 UTC text for Unix milliseconds (`2026-11-23T14:05:09Z`).
pub(in crate::gateway) fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn tuple_ids_are_xml_ids() {
        assert_eq!(tuple_id("phone"), "ID-phone");
        assert_eq!(tuple_id("a b/é"), "ID-a_20b_2f_c3_a9");
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_442_709_000), "2026-11-23T14:05:09Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn resources_become_tuples_and_back() {
        let mut res = BTreeMap::new();
        res.insert(
            "phone".to_string(),
            ResourceState {
                available: true,
                show: Some(Show::Away),
                status: Some("out for lunch".into()),
                priority: Some(5),
            },
        );
        res.insert(
            "desk".to_string(),
            ResourceState {
                available: true,
                ..ResourceState::default()
            },
        );
        let doc = document_for("pres:romeo@xmpp.test", "xmpp:romeo@xmpp.test", &res, "t");
        assert_eq!(doc.tuples.len(), 2);
        assert!(doc.tuples.iter().all(|t| t.basic == Some(Basic::Open)));
        let bytes = pidf::build(&doc).unwrap();
        let back = presences_of(&pidf::parse(&bytes).unwrap());
        let phone = back.iter().find(|p| p.resource == "phone").unwrap();
        assert_eq!(phone.state.show, Some(Show::Away));
        assert_eq!(phone.state.status.as_deref(), Some("out for lunch"));
        assert!(phone.state.available);
    }

    #[test]
    fn no_resources_is_one_closed_tuple() {
        let doc = document_for("pres:a@b", "xmpp:a@b", &BTreeMap::new(), "t");
        assert_eq!(doc.tuples.len(), 1);
        assert_eq!(doc.tuples.first().unwrap().basic, Some(Basic::Closed));
    }
}

//! Interprets a read element tree as a PIDF document (RFC 3863 §4) with the
//! data model's `<dm:person>` (RFC 4479 §3.1), RPID activities (RFC 4480
//! §3.2) and the XMPP `<show/>` inside `<status>` (RFC 7248 §4).
//!
//! Owns [`document`]. Reading is tolerant where RFC 3863 §4.3 asks it to
//! be: unknown elements at presence, tuple, status and person level are kept
//! as [`Extension`]s in document order (unless marked `mustUnderstand`),
//! children may come in any order, several `<status>` or `<rpid:activities>`
//! elements are merged, and the PIDF namespace with a trailing colon is read
//! as PIDF (standards.md C7). Values whose XML Schema type collapses white
//! space (`entity`, `id`, `basic`, `contact`, `priority`, `timestamp`,
//! `xml:lang`) are trimmed; note text is kept as written. A missing
//! `<dm:person id>` is read as an empty id. Inside `<rpid:activities>`,
//! attributes (`from`, `until`, `id`) and `<rpid:note>` are not kept, and an
//! activity element the model does not know becomes [`Activity::Other`] with
//! its local name. It does not check limits on the input bytes or XML
//! syntax (`tree.rs`).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::error::PidfError;
use super::extension::keep;
use super::model::{Activity, Basic, Contact, Document, Note, Person, Show, Tuple};
use super::names::{NS_DATA_MODEL, NS_JABBER_CLIENT, NS_RPID, NS_XML, is_pidf, xml_trim};
use super::tree::Element;

/// Reads the document rooted at `root`, with at most `max_tuples` tuples.
pub(crate) fn document(root: &Element, max_tuples: usize) -> Result<Document, PidfError> {
    if !(is_pidf(&root.ns) && root.local == "presence") {
        return Err(PidfError::WrongRoot {
            namespace: root.ns.clone(),
            local_name: root.local.clone(),
        });
    }
    let entity = root
        .attr(None, "entity")
        .map(xml_trim)
        .filter(|e| !e.is_empty())
        .ok_or(PidfError::MissingEntity)?;
    let mut doc = Document {
        entity: entity.to_owned(),
        ..Document::default()
    };
    for child in root.elements() {
        let ns = child.ns.as_str();
        match child.local.as_str() {
            "tuple" if is_pidf(ns) => {
                if doc.tuples.len() >= max_tuples {
                    return Err(PidfError::TooManyTuples { max: max_tuples });
                }
                let t = tuple(child)?;
                if doc.tuples.iter().any(|x| x.id == t.id) {
                    return Err(PidfError::DuplicateId { id: t.id });
                }
                doc.tuples.push(t);
            }
            "note" if is_pidf(ns) => doc.notes.push(note(child)),
            "person" if ns == NS_DATA_MODEL => doc.persons.push(person(child)?),
            _ => doc.extensions.push(keep(child)?),
        }
    }
    Ok(doc)
}

/// A `<tuple>` (RFC 3863 §4.1.2).
fn tuple(el: &Element) -> Result<Tuple, PidfError> {
    let id = el
        .attr(None, "id")
        .map(xml_trim)
        .filter(|i| !i.is_empty())
        .ok_or(PidfError::MissingTupleId)?;
    let mut t = Tuple {
        id: id.to_owned(),
        ..Tuple::default()
    };
    for child in el.elements() {
        if !is_pidf(&child.ns) {
            t.extensions.push(keep(child)?);
            continue;
        }
        match child.local.as_str() {
            "status" => status(child, &mut t)?,
            "contact" => {
                if t.contact.is_some() {
                    return Err(PidfError::DuplicateElement { element: "contact" });
                }
                t.contact = Some(Contact {
                    uri: xml_trim(&child.text()).to_owned(),
                    priority: child.attr(None, "priority").map(|p| xml_trim(p).to_owned()),
                });
            }
            "note" => t.notes.push(note(child)),
            "timestamp" => {
                if t.timestamp.is_some() {
                    return Err(PidfError::DuplicateElement {
                        element: "timestamp",
                    });
                }
                t.timestamp = Some(xml_trim(&child.text()).to_owned());
            }
            _ => t.extensions.push(keep(child)?),
        }
    }
    Ok(t)
}

/// The children of a `<status>` (RFC 3863 §4.1.3), into `t`.
fn status(el: &Element, t: &mut Tuple) -> Result<(), PidfError> {
    for child in el.elements() {
        let ns = child.ns.as_str();
        match child.local.as_str() {
            "basic" if is_pidf(ns) => {
                if t.basic.is_some() {
                    return Err(PidfError::DuplicateElement { element: "basic" });
                }
                let text = child.text();
                t.basic = Some(Basic::from_text(&text).ok_or_else(|| PidfError::BadBasic {
                    value: xml_trim(&text).to_owned(),
                })?);
            }
            // RFC 7248 §4 carries the XMPP <show/> itself. The first valid
            // one is the tuple's; others stay extensions.
            "show" if ns == NS_JABBER_CLIENT && t.show.is_none() => {
                match Show::from_text(&child.text()) {
                    Some(s) => t.show = Some(s),
                    None => t.status_extensions.push(keep(child)?),
                }
            }
            _ => t.status_extensions.push(keep(child)?),
        }
    }
    Ok(())
}

/// A `<note>` or `<dm:note>` (RFC 3863 §4.1.6, RFC 4479 §3.1).
fn note(el: &Element) -> Note {
    Note {
        lang: el
            .attr(Some(NS_XML), "lang")
            .map(|l| xml_trim(l).to_owned()),
        text: el.text(),
    }
}

/// A `<dm:person>` (RFC 4479 §3.1).
fn person(el: &Element) -> Result<Person, PidfError> {
    let mut p = Person {
        id: el.attr(None, "id").map(xml_trim).unwrap_or("").to_owned(),
        ..Person::default()
    };
    for child in el.elements() {
        let ns = child.ns.as_str();
        match child.local.as_str() {
            "activities" if ns == NS_RPID => activities(child, &mut p.activities),
            "note" if ns == NS_DATA_MODEL => p.notes.push(note(child)),
            _ => p.extensions.push(keep(child)?),
        }
    }
    Ok(p)
}

/// The children of `<rpid:activities>` (RFC 4480 §3.2).
fn activities(el: &Element, out: &mut Vec<Activity>) {
    for child in el.elements() {
        let local = child.local.as_str();
        let activity = if child.ns == NS_RPID {
            match local {
                "note" => continue,
                "other" => Activity::Other(child.text()),
                _ => {
                    Activity::from_name(local).unwrap_or_else(|| Activity::Other(local.to_owned()))
                }
            }
        } else {
            Activity::Other(local.to_owned())
        };
        out.push(activity);
    }
}

//! The strict PIDF writer (RFC 3863 §4, RFC 4479 §3.1, RFC 4480 §3.2,
//! RFC 7248 §4).
//!
//! Owns [`document`]. Output rules, always: an XML declaration with
//! `encoding="UTF-8"` (RFC 3863 §4.1), PIDF as the default namespace, `dm`
//! and `rpid` prefixes declared on `<presence>` only when used, attribute
//! values in double quotes, text and attributes escaped (`write.rs`), schema
//! order inside each element (tuple: status, extensions, contact, notes,
//! timestamp; status: basic, `<show xmlns='jabber:client'>`, extensions;
//! presence: tuples, notes, persons, extensions), and two-space indentation
//! where the reader ignores white space. Extensions are written verbatim.
//!
//! Before writing anything it refuses what could not be read back as the
//! same document: zero tuples (RFC 3922 §6.3.2), an empty entity, empty or
//! duplicate ids, characters XML cannot carry, white space at the ends of
//! trimmed fields, a priority that is not a qvalue, and extensions that
//! fail `extension::check`. The one exception to `parse(build(d)) == d`:
//! an extension with `must_understand` set is written, and the reader then
//! refuses the document, as RFC 3863 §4.3.1 requires of it.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashSet;

use super::error::PidfError;
use super::extension::{Place, check};
use super::model::{Activity, Document, Extension, Note, Person, Tuple};
use super::names::{NS_DATA_MODEL, NS_PIDF, NS_RPID, xml_trim};
use super::tree::is_xml_char;
use super::write::{escape_attr, escape_text};

/// Checks and writes `doc`.
pub(crate) fn document(doc: &Document) -> Result<Vec<u8>, PidfError> {
    validate(doc)?;
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"");
    out.push_str(NS_PIDF);
    out.push('"');
    if !doc.persons.is_empty() {
        out.push_str(" xmlns:dm=\"");
        out.push_str(NS_DATA_MODEL);
        out.push('"');
    }
    if doc.persons.iter().any(|p| !p.activities.is_empty()) {
        out.push_str(" xmlns:rpid=\"");
        out.push_str(NS_RPID);
        out.push('"');
    }
    attr(&mut out, "entity", &doc.entity);
    out.push_str(">\n");
    for t in &doc.tuples {
        tuple(&mut out, t);
    }
    for n in &doc.notes {
        note(&mut out, "  ", "note", n);
    }
    for p in &doc.persons {
        person(&mut out, p);
    }
    extensions(&mut out, "  ", &doc.extensions);
    out.push_str("</presence>\n");
    Ok(out.into_bytes())
}

fn tuple(out: &mut String, t: &Tuple) {
    out.push_str("  <tuple");
    attr(out, "id", &t.id);
    out.push_str(">\n");
    if t.basic.is_none() && t.show.is_none() && t.status_extensions.is_empty() {
        out.push_str("    <status/>\n");
    } else {
        out.push_str("    <status>\n");
        if let Some(b) = t.basic {
            out.push_str("      <basic>");
            out.push_str(b.as_str());
            out.push_str("</basic>\n");
        }
        if let Some(s) = t.show {
            out.push_str("      <show xmlns=\"jabber:client\">");
            out.push_str(s.as_str());
            out.push_str("</show>\n");
        }
        extensions(out, "      ", &t.status_extensions);
        out.push_str("    </status>\n");
    }
    extensions(out, "    ", &t.extensions);
    if let Some(c) = &t.contact {
        out.push_str("    <contact");
        if let Some(p) = &c.priority {
            attr(out, "priority", p);
        }
        out.push('>');
        escape_text(&c.uri, out);
        out.push_str("</contact>\n");
    }
    for n in &t.notes {
        note(out, "    ", "note", n);
    }
    if let Some(ts) = &t.timestamp {
        out.push_str("    <timestamp>");
        escape_text(ts, out);
        out.push_str("</timestamp>\n");
    }
    out.push_str("  </tuple>\n");
}

/// RFC 4479 §3.1 puts `<dm:note>` and `<dm:timestamp>` after the other
/// person children. Extensions are written in model order with the notes
/// inserted before the first data-model one, so the reader gives back the
/// same order.
fn person(out: &mut String, p: &Person) {
    out.push_str("  <dm:person");
    attr(out, "id", &p.id);
    out.push_str(">\n");
    if !p.activities.is_empty() {
        out.push_str("    <rpid:activities>");
        for a in &p.activities {
            match a {
                Activity::Other(text) => {
                    out.push_str("<rpid:other>");
                    escape_text(text, out);
                    out.push_str("</rpid:other>");
                }
                a => {
                    out.push_str("<rpid:");
                    out.push_str(a.name());
                    out.push_str("/>");
                }
            }
        }
        out.push_str("</rpid:activities>\n");
    }
    let split = p
        .extensions
        .iter()
        .position(|e| e.namespace == NS_DATA_MODEL)
        .unwrap_or(p.extensions.len());
    let (before, after) = p.extensions.split_at(split);
    extensions(out, "    ", before);
    for n in &p.notes {
        note(out, "    ", "dm:note", n);
    }
    extensions(out, "    ", after);
    out.push_str("  </dm:person>\n");
}

fn note(out: &mut String, indent: &str, name: &str, n: &Note) {
    out.push_str(indent);
    out.push('<');
    out.push_str(name);
    if let Some(lang) = &n.lang {
        attr(out, "xml:lang", lang);
    }
    out.push('>');
    escape_text(&n.text, out);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn extensions(out: &mut String, indent: &str, exts: &[Extension]) {
    for e in exts {
        out.push_str(indent);
        out.push_str(&e.xml);
        out.push('\n');
    }
}

fn attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_attr(value, out);
    out.push('"');
}

// === checks ===

fn validate(doc: &Document) -> Result<(), PidfError> {
    if doc.tuples.is_empty() {
        return Err(PidfError::ZeroTuples);
    }
    if xml_trim(&doc.entity).is_empty() {
        return Err(PidfError::MissingEntity);
    }
    trimmed("entity", &doc.entity)?;
    for t in &doc.tuples {
        if xml_trim(&t.id).is_empty() {
            return Err(PidfError::MissingTupleId);
        }
    }
    for p in &doc.persons {
        if xml_trim(&p.id).is_empty() {
            return Err(PidfError::MissingPersonId);
        }
    }
    let ids = doc
        .tuples
        .iter()
        .map(|t| t.id.as_str())
        .chain(doc.persons.iter().map(|p| p.id.as_str()));
    let mut seen = HashSet::new();
    for id in ids {
        trimmed("id", id)?;
        if !seen.insert(id) {
            return Err(PidfError::DuplicateId { id: id.to_owned() });
        }
    }
    for t in &doc.tuples {
        validate_tuple(t)?;
    }
    notes(&doc.notes)?;
    for p in &doc.persons {
        notes(&p.notes)?;
        for a in &p.activities {
            if let Activity::Other(text) = a {
                chars("activity", text)?;
            }
        }
        for e in &p.extensions {
            check(e, Place::Person)?;
        }
    }
    for e in &doc.extensions {
        check(e, Place::Presence)?;
    }
    Ok(())
}

fn validate_tuple(t: &Tuple) -> Result<(), PidfError> {
    for e in &t.status_extensions {
        check(
            e,
            Place::Status {
                show_set: t.show.is_some(),
            },
        )?;
    }
    for e in &t.extensions {
        check(e, Place::Tuple)?;
    }
    if let Some(c) = &t.contact {
        trimmed("contact", &c.uri)?;
        if let Some(p) = &c.priority
            && !is_qvalue(p)
        {
            return Err(PidfError::BadPriority { value: p.clone() });
        }
    }
    notes(&t.notes)?;
    if let Some(ts) = &t.timestamp {
        trimmed("timestamp", ts)?;
    }
    Ok(())
}

fn notes(notes: &[Note]) -> Result<(), PidfError> {
    for n in notes {
        chars("note", &n.text)?;
        if let Some(lang) = &n.lang {
            trimmed("xml:lang", lang)?;
        }
    }
    Ok(())
}

/// A field the reader trims: no white space at its ends, XML characters
/// only.
fn trimmed(field: &'static str, value: &str) -> Result<(), PidfError> {
    chars(field, value)?;
    if xml_trim(value).len() != value.len() {
        return Err(PidfError::Whitespace { field });
    }
    Ok(())
}

fn chars(field: &'static str, value: &str) -> Result<(), PidfError> {
    if value.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(PidfError::Unrepresentable { field })
    }
}

/// RFC 3863 §4.1.5 / §4.4 `qvalue`: `0(.d{0,3})?` or `1(.0{0,3})?`.
fn is_qvalue(s: &str) -> bool {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    frac.len() <= 3
        && match int {
            "0" => frac.bytes().all(|b| b.is_ascii_digit()),
            "1" => frac.bytes().all(|b| b == b'0'),
            _ => false,
        }
}

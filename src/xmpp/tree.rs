//! Builds an [`Element`] tree from one complete, framed top-level element,
//! using quick-xml's pull reader, with namespace resolution in the scope of
//! the stream header (XML Namespaces §6; RFC 6120 §4.8).
//!
//! Refuses entity references other than the five predefined ones and
//! numeric character references (RFC 6120 §11.1), any character XML 1.0
//! §2.2 forbids (raw or by reference), comments, processing instructions
//! and DTDs (the framer already refuses those), and more attributes per
//! element than [`StreamLimits::max_attributes`].

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute as QAttr;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::PrefixDeclaration;

use super::element::{Attribute, Element, NS_XML, Node, is_valid_name, is_xml_char};
use super::stream::{Restricted, StreamError, StreamLimits};

/// Namespace bindings in scope: `(prefix, uri)`, `""` is the default.
/// Searched from the end; scopes are truncated on element close.
pub(crate) type Bindings = Vec<(String, String)>;

/// Parses one complete element `src` (starting at stream offset `offset`)
/// with `base` bindings from the stream header.
pub(crate) fn parse_element(
    src: &[u8],
    offset: u64,
    base: &Bindings,
    limits: &StreamLimits,
) -> Result<Element, StreamError> {
    check_raw_chars(src, offset)?;
    let text = std::str::from_utf8(src).map_err(|e| StreamError::InvalidUtf8 {
        offset: offset.saturating_add(e.valid_up_to() as u64),
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut scope: Bindings = base.clone();
    // (element, scope length before its declarations)
    let mut stack: Vec<(Element, usize)> = Vec::new();
    let at = |r: &quick_xml::Reader<&[u8]>| offset.saturating_add(r.buffer_position());
    loop {
        let ev = reader.read_event().map_err(|source| StreamError::Xml {
            offset: at(&reader),
            source,
        })?;
        match ev {
            Event::Start(s) => {
                let mark = scope.len();
                let el = open(&s, &mut scope, limits, at(&reader))?;
                stack.push((el, mark));
            }
            Event::Empty(s) => {
                let mark = scope.len();
                let el = open(&s, &mut scope, limits, at(&reader))?;
                scope.truncate(mark);
                if let Some(done) = close(&mut stack, el) {
                    return Ok(done);
                }
            }
            Event::End(_) => {
                let Some((el, mark)) = stack.pop() else {
                    return Err(StreamError::BadStanza {
                        offset: at(&reader),
                        what: "unexpected end tag",
                    });
                };
                scope.truncate(mark);
                if let Some(done) = close(&mut stack, el) {
                    return Ok(done);
                }
            }
            Event::Text(t) => push_text(&mut stack, t.xml10_content().into_owned()),
            Event::CData(t) => push_text(&mut stack, t.xml10_content().into_owned()),
            Event::GeneralRef(r) => {
                let off = at(&reader);
                let s = match r.resolve_char_ref() {
                    Ok(Some(ch)) if is_xml_char(ch) => ch.to_string(),
                    Ok(Some(_)) | Err(_) => {
                        return Err(StreamError::BadStanza {
                            offset: off,
                            what: "invalid character reference",
                        });
                    }
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&r) {
                        Some(s) => s.to_owned(),
                        None => {
                            return Err(StreamError::RestrictedXml {
                                what: Restricted::EntityReference,
                                offset: off,
                            });
                        }
                    },
                };
                push_text(&mut stack, s);
            }
            Event::Comment(_) => return Err(restricted(Restricted::Comment, at(&reader))),
            Event::PI(_) | Event::Decl(_) => {
                return Err(restricted(Restricted::ProcessingInstruction, at(&reader)));
            }
            Event::DocType(_) => return Err(restricted(Restricted::Dtd, at(&reader))),
            Event::Eof => {
                return Err(StreamError::BadStanza {
                    offset: at(&reader),
                    what: "element not closed",
                });
            }
        }
    }
}

fn restricted(what: Restricted, offset: u64) -> StreamError {
    StreamError::RestrictedXml { what, offset }
}

fn push_text(stack: &mut [(Element, usize)], text: String) {
    if let Some((el, _)) = stack.last_mut() {
        el.push_node(Node::Text(text));
    }
}

/// Attaches a finished element to its parent, or returns it as the root.
fn close(stack: &mut [(Element, usize)], el: Element) -> Option<Element> {
    match stack.last_mut() {
        Some((parent, _)) => {
            parent.push_child(el);
            None
        }
        None => Some(el),
    }
}

fn lookup<'a>(scope: &'a Bindings, prefix: &str) -> Option<&'a str> {
    scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str())
}

/// Reads a start tag: declarations into `scope`, then the resolved
/// element and attributes.
pub(crate) fn open(
    s: &BytesStart<'_>,
    scope: &mut Bindings,
    limits: &StreamLimits,
    offset: u64,
) -> Result<Element, StreamError> {
    let qname = s.name();
    let (local, prefix) = qname.decompose();
    let invalid = |n: &str| StreamError::BadStanza {
        offset,
        what: if n.is_empty() {
            "empty name"
        } else {
            "invalid name"
        },
    };
    if !is_valid_name(local.as_ref()) || prefix.is_some_and(|p| !is_valid_name(p.as_ref())) {
        return Err(invalid(local.as_ref()));
    }
    let mut raw: Vec<QAttr<'_>> = Vec::new();
    for a in s.attributes().with_checks(true) {
        let a = a.map_err(|e| StreamError::Xml {
            offset,
            source: e.into(),
        })?;
        if raw.len() >= limits.max_attributes {
            return Err(StreamError::TooManyAttributes {
                max: limits.max_attributes,
                element: local.as_ref().to_owned(),
            });
        }
        raw.push(a);
    }
    let value = |a: &QAttr<'_>| -> Result<String, StreamError> {
        let v = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|source| match source {
                quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(
                    ..,
                )) => restricted(Restricted::EntityReference, offset),
                source => StreamError::Xml { offset, source },
            })?;
        if v.chars().any(|c| !is_xml_char(c)) {
            return Err(StreamError::BadStanza {
                offset,
                what: "forbidden character in attribute value",
            });
        }
        Ok(v.into_owned())
    };
    for a in &raw {
        match a.key.as_namespace_binding() {
            Some(PrefixDeclaration::Default) => scope.push((String::new(), value(a)?)),
            Some(PrefixDeclaration::Named(p)) => {
                let uri = value(a)?;
                if uri.is_empty() {
                    return Err(StreamError::BadStanza {
                        offset,
                        what: "empty namespace for prefix",
                    });
                }
                scope.push((p.to_owned(), uri));
            }
            None => {}
        }
    }
    let ns = match prefix {
        None => lookup(scope, "").unwrap_or(""),
        Some(p) => lookup(scope, p.as_ref()).ok_or_else(|| StreamError::UnboundPrefix {
            prefix: p.as_ref().to_owned(),
            offset,
        })?,
    }
    .to_owned();
    let mut attrs = Vec::with_capacity(raw.len());
    for a in &raw {
        if a.key.as_namespace_binding().is_some() {
            continue;
        }
        let (name, prefix) = a.key.decompose();
        if !is_valid_name(name.as_ref()) || prefix.is_some_and(|p| !is_valid_name(p.as_ref())) {
            return Err(invalid(name.as_ref()));
        }
        let ans = match prefix {
            None => None,
            Some(p) if p.as_ref() == "xml" => Some(NS_XML.to_owned()),
            Some(p) => Some(
                lookup(scope, p.as_ref())
                    .ok_or_else(|| StreamError::UnboundPrefix {
                        prefix: p.as_ref().to_owned(),
                        offset,
                    })?
                    .to_owned(),
            ),
        };
        if attrs
            .iter()
            .any(|x: &Attribute| x.name == name.as_ref() && x.ns == ans)
        {
            return Err(StreamError::BadStanza {
                offset,
                what: "duplicate attribute",
            });
        }
        attrs.push(Attribute {
            ns: ans,
            name: name.as_ref().to_owned(),
            value: value(a)?,
        });
    }
    Ok(Element::from_parts(local.as_ref().to_owned(), ns, attrs))
}

/// Refuses raw bytes XML 1.0 §2.2 forbids: C0 controls other than TAB,
/// LF, CR, and U+FFFE / U+FFFF (UTF-8 `EF BF BE` / `EF BF BF`).
fn check_raw_chars(src: &[u8], offset: u64) -> Result<(), StreamError> {
    let bad = src.iter().enumerate().find_map(|(i, &b)| {
        let ctl = b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r');
        let nonchar = b == 0xEF
            && src.get(i.saturating_add(1)) == Some(&0xBF)
            && matches!(src.get(i.saturating_add(2)), Some(0xBE | 0xBF));
        (ctl || nonchar).then_some(i)
    });
    match bad {
        Some(i) => Err(StreamError::BadStanza {
            offset: offset.saturating_add(i as u64),
            what: "forbidden character",
        }),
        None => Ok(()),
    }
}

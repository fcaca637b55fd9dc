//! Reads PIDF bytes into a small namespace-resolved element tree, with
//! quick-xml's namespace-aware pull reader (`NsReader`), so any prefix
//! spelling works (Namespaces in XML §5–§6).
//!
//! Owns [`Element`], [`Node`], [`Attr`] and [`read`]. It enforces the
//! resource caps ([`MAX_DEPTH`](super::MAX_DEPTH); the size cap is checked by
//! the caller) and the safety rules: no DTD (so no entity declarations, no
//! external entities), no entity reference other than the five predefined
//! ones, no character XML 1.0 §2.2 forbids (raw or by reference), names
//! that are XML names with at most one colon, and namespace names without
//! `&`, `<` or quotes (so they can be written back as read). Comments and
//! processing instructions are skipped. It does not know PIDF: that is
//! `parse.rs`.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::error::PidfError;
use super::names::is_xml_space;

/// An element with its names resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Element {
    /// The prefix as written (`None` when unprefixed).
    pub(crate) prefix: Option<String>,
    /// The local name.
    pub(crate) local: String,
    /// The namespace URI, empty when none.
    pub(crate) ns: String,
    /// Attributes other than namespace declarations, in document order.
    pub(crate) attrs: Vec<Attr>,
    /// Children; adjacent character data is merged into one [`Node::Text`].
    pub(crate) children: Vec<Node>,
}

/// An attribute with its value normalized (XML 1.0 §3.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attr {
    /// The prefix as written.
    pub(crate) prefix: Option<String>,
    /// The local name.
    pub(crate) local: String,
    /// The namespace URI (`None` for an unprefixed attribute).
    pub(crate) ns: Option<String>,
    /// The value, entity and character references resolved.
    pub(crate) value: String,
}

/// A child of an element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// A child element.
    Element(Element),
    /// Character data (never empty).
    Text(String),
}

impl Element {
    /// Child elements, in order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The concatenated direct character data.
    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// The value of the attribute `local` in namespace `ns`.
    pub(crate) fn attr(&self, ns: Option<&str>, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.local == local && a.ns.as_deref() == ns)
            .map(|a| a.value.as_str())
    }
}

/// What [`read`] accepts around the single element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// A whole document: an XML declaration may come first.
    Document,
    /// A fragment: one element, with only white space, comments or
    /// processing instructions around it.
    Fragment,
}

/// Reads exactly one element (plus the prolog/epilog `input` allows).
pub(crate) fn read(text: &str, input: Input, max_depth: usize) -> Result<Element, PidfError> {
    check_chars(text)?;
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    // Only white space may come before an XML declaration.
    let mut decl_allowed = input == Input::Document;
    loop {
        let before = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| PidfError::NotXml {
            offset: reader.error_position(),
            detail: e.to_string(),
        })?;
        match ev {
            Event::Start(s) => {
                check_depth(stack.len(), max_depth)?;
                let el = open(&reader, &s, before)?;
                stack.push(el);
            }
            Event::Empty(s) => {
                check_depth(stack.len(), max_depth)?;
                let el = open(&reader, &s, before)?;
                attach(&mut stack, &mut root, el, before)?;
            }
            Event::End(_) => {
                let el = stack.pop().ok_or(PidfError::Malformed {
                    offset: before,
                    what: "end tag without start tag",
                })?;
                attach(&mut stack, &mut root, el, before)?;
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                if stack.is_empty() {
                    if !s.chars().all(is_xml_space) {
                        return Err(PidfError::Malformed {
                            offset: before,
                            what: "text outside the root element",
                        });
                    }
                    continue;
                }
                push_text(&mut stack, &s);
            }
            Event::CData(t) => {
                if stack.is_empty() {
                    return Err(PidfError::Malformed {
                        offset: before,
                        what: "CDATA outside the root element",
                    });
                }
                push_text(&mut stack, &t.xml10_content());
            }
            Event::GeneralRef(r) => {
                if stack.is_empty() {
                    return Err(PidfError::Malformed {
                        offset: before,
                        what: "reference outside the root element",
                    });
                }
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => c.to_string(),
                    Ok(Some(_)) | Err(_) => return Err(PidfError::InvalidChar { offset: before }),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&r) {
                        Some(s) => s.to_owned(),
                        None => return Err(PidfError::UnknownEntity { offset: before }),
                    },
                };
                push_text(&mut stack, &c);
            }
            Event::Decl(_) => {
                if !decl_allowed {
                    return Err(PidfError::Malformed {
                        offset: before,
                        what: "misplaced XML declaration",
                    });
                }
            }
            Event::DocType(_) => return Err(PidfError::Doctype { offset: before }),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
        decl_allowed = false;
    }
    if !stack.is_empty() {
        return Err(PidfError::Malformed {
            offset: reader.buffer_position(),
            what: "element not closed",
        });
    }
    root.ok_or(PidfError::Malformed {
        offset: reader.buffer_position(),
        what: "no element",
    })
}

fn check_depth(open: usize, max: usize) -> Result<(), PidfError> {
    if open >= max {
        Err(PidfError::TooDeep { max })
    } else {
        Ok(())
    }
}

/// Attaches a finished element to its parent, or makes it the root.
fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    el: Element,
    offset: u64,
) -> Result<(), PidfError> {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(Node::Element(el));
        Ok(())
    } else if root.is_some() {
        Err(PidfError::Malformed {
            offset,
            what: "more than one root element",
        })
    } else {
        *root = Some(el);
        Ok(())
    }
}

fn push_text(stack: &mut [Element], s: &str) {
    if s.is_empty() {
        return;
    }
    if let Some(el) = stack.last_mut() {
        if let Some(Node::Text(t)) = el.children.last_mut() {
            t.push_str(s);
        } else {
            el.children.push(Node::Text(s.to_owned()));
        }
    }
}

/// Resolves a start tag's names and reads its attributes.
fn open(reader: &NsReader<&[u8]>, s: &BytesStart<'_>, offset: u64) -> Result<Element, PidfError> {
    let malformed = |what| PidfError::Malformed { offset, what };
    let qname = s.name();
    let prefix = qname.prefix().map(|p| p.as_ref().to_owned());
    let (res, local) = reader.resolver().resolve_element(qname);
    let local = local.as_ref().to_owned();
    check_name(prefix.as_deref(), &local).map_err(malformed)?;
    if matches!(prefix.as_deref(), Some("xml" | "xmlns")) {
        return Err(malformed("reserved prefix on an element"));
    }
    let ns = namespace(res, offset)?.unwrap_or_default();
    let mut attrs: Vec<Attr> = Vec::new();
    for a in s.attributes().with_checks(true) {
        let a = a.map_err(|e| PidfError::NotXml {
            offset,
            detail: e.to_string(),
        })?;
        if a.value.contains('<') {
            // XML 1.0 §3.1, WFC: No < in Attribute Values.
            return Err(malformed("'<' in an attribute value"));
        }
        if a.key.as_namespace_binding().is_some() {
            if a.value.contains(['&', '"', '\'']) {
                return Err(malformed(
                    "namespace name with '&' or a quote is not supported",
                ));
            }
            continue;
        }
        let aprefix = a.key.prefix().map(|p| p.as_ref().to_owned());
        let (res, alocal) = reader.resolver().resolve_attribute(a.key);
        let alocal = alocal.as_ref().to_owned();
        check_name(aprefix.as_deref(), &alocal).map_err(malformed)?;
        let ans = namespace(res, offset)?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| match e {
                quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(
                    ..,
                )) => PidfError::UnknownEntity { offset },
                e => PidfError::NotXml {
                    offset,
                    detail: e.to_string(),
                },
            })?
            .into_owned();
        if !value.chars().all(is_xml_char) {
            return Err(PidfError::InvalidChar { offset });
        }
        if attrs
            .iter()
            .any(|x| x.local == alocal && x.ns == ans && x.ns.is_some())
        {
            return Err(malformed("attribute appears twice under two prefixes"));
        }
        attrs.push(Attr {
            prefix: aprefix,
            local: alocal,
            ns: ans,
            value,
        });
    }
    Ok(Element {
        prefix,
        local,
        ns,
        attrs,
        children: Vec::new(),
    })
}

/// `Some(uri)` when bound, `None` when unbound, an error for an unknown
/// prefix.
fn namespace(res: ResolveResult<'_>, offset: u64) -> Result<Option<String>, PidfError> {
    match res {
        ResolveResult::Bound(ns) => Ok(Some(ns.0.to_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(PidfError::UnboundPrefix { prefix, offset }),
    }
}

/// Checks a `prefix:local` pair: both parts XML names without a colon
/// (Namespaces in XML §3 `NCName`).
fn check_name(prefix: Option<&str>, local: &str) -> Result<(), &'static str> {
    if let Some(p) = prefix
        && !is_ncname(p)
    {
        return Err("invalid prefix");
    }
    if !is_ncname(local) {
        return Err("invalid name");
    }
    Ok(())
}

/// XML 1.0 (fifth edition) §2.3 `Name`, without colons.
pub(crate) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start(c) => chars.all(is_name_char),
        _ => false,
    }
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// XML 1.0 §2.2 `Char`.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn check_chars(text: &str) -> Result<(), PidfError> {
    match text.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        Some((i, _)) => Err(PidfError::InvalidChar { offset: i as u64 }),
        None => Ok(()),
    }
}

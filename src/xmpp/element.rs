//! The parsed XML element tree of one stanza, and its writer.
//!
//! [`Element`] holds a namespace-resolved element: local name, namespace URI,
//! attributes (namespace-resolved too, `xmlns` declarations removed),
//! children and text. The stream framer ([`super::stream`]) builds it; the
//! typed stanza views ([`super::stanza`]) read and build it.
//!
//! The writer ([`Element::write_to`]) serialises with `'`-quoted attributes,
//! escapes `<`, `>`, `&`, quotes and CR/LF/TAB in attributes (so that
//! attribute-value normalisation, XML 1.0 §3.3.3, gives the value back), and
//! refuses any character XML 1.0 §2.2 forbids (controls other than TAB, LF,
//! CR; U+FFFE, U+FFFF) with [`WriteError::ForbiddenChar`]: such text must
//! never reach the stream (RFC 6120 §11.1). [`Node::CData`] is a writer hint
//! that emits text as CDATA sections, split around `]]>` (RFC 3923 §3.2).
//! The parser always yields [`Node::Text`] (CDATA content merged, exactly as
//! sent), so use [`Element::text`] to read text regardless of how it was
//! carried.

use std::fmt;

/// `http://www.w3.org/XML/1998/namespace`, the `xml:` prefix (for `xml:lang`).
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// A namespace-resolved XML element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    name: String,
    ns: String,
    attrs: Vec<Attribute>,
    children: Vec<Node>,
}

/// A namespace-resolved attribute. `ns` is `None` for unprefixed attributes
/// (XML Namespaces §6.2: they are in no namespace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI of a prefixed attribute (e.g. [`NS_XML`] for `xml:lang`).
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Value, with entity and character references resolved.
    pub value: String,
}

/// A child of an [`Element`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (text, resolved references and CDATA content merged).
    Text(String),
    /// Character data the writer emits as CDATA sections (split around
    /// `]]>`). Never produced by the parser.
    CData(String),
}

/// Why an element could not be serialised.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Text or an attribute value holds a character XML 1.0 §2.2 forbids.
    #[error("character U+{:04X} in <{element}> is not allowed in XML 1.0", u32::from(*ch))]
    ForbiddenChar {
        /// The element holding the character.
        element: String,
        /// The forbidden character.
        ch: char,
    },
    /// An element or attribute name is not an XML NCName.
    #[error("invalid XML name {name:?}")]
    InvalidName {
        /// The refused name.
        name: String,
    },
}

impl Element {
    /// A new element `name` in namespace `ns` (`""` for no namespace).
    pub fn new(name: impl Into<String>, ns: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ns: ns.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    pub(crate) fn from_parts(name: String, ns: String, attrs: Vec<Attribute>) -> Self {
        Self {
            name,
            ns,
            attrs,
            children: Vec::new(),
        }
    }

    /// Local name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Namespace URI (`""` when none).
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Whether this is `name` in namespace `ns`.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// All attributes, in document order.
    pub fn attrs(&self) -> &[Attribute] {
        &self.attrs
    }

    /// The value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_ns(None, name)
    }

    /// The value of attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, ns: Option<&str>, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name && a.ns.as_deref() == ns)
            .map(|a| a.value.as_str())
    }

    /// Sets (or replaces) the unprefixed attribute `name`.
    pub fn set_attr(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.set_attr_ns(None, name, value);
    }

    /// Sets (or replaces) attribute `name` in namespace `ns`.
    pub fn set_attr_ns(
        &mut self,
        ns: Option<&str>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) {
        let name = name.into();
        let value = value.into();
        match self
            .attrs
            .iter_mut()
            .find(|a| a.name == name && a.ns.as_deref() == ns)
        {
            Some(a) => a.value = value,
            None => self.attrs.push(Attribute {
                ns: ns.map(str::to_owned),
                name,
                value,
            }),
        }
    }

    /// Removes the unprefixed attribute `name`, returning its value.
    pub fn remove_attr(&mut self, name: &str) -> Option<String> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.name == name && a.ns.is_none())?;
        Some(self.attrs.remove(i).value)
    }

    /// Builder form of [`Element::set_attr`].
    #[must_use]
    pub fn with_attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder form of [`Element::push_child`].
    #[must_use]
    pub fn with_child(mut self, child: Self) -> Self {
        self.push_child(child);
        self
    }

    /// Builder form of [`Element::push_text`].
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.push_text(text);
        self
    }

    /// Builder form of [`Element::push_cdata`].
    #[must_use]
    pub fn with_cdata(mut self, text: impl Into<String>) -> Self {
        self.push_cdata(text);
        self
    }

    /// Appends a child element.
    pub fn push_child(&mut self, child: Self) {
        self.children.push(Node::Element(child));
    }

    /// Appends text, merged into a preceding text node (so that the tree
    /// equals what the parser gives back). Empty text is ignored.
    pub fn push_text(&mut self, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        if let Some(Node::Text(prev)) = self.children.last_mut() {
            prev.push_str(&text);
        } else {
            self.children.push(Node::Text(text));
        }
    }

    /// Appends text that the writer emits as CDATA (RFC 3923 §3.2).
    pub fn push_cdata(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.children.push(Node::CData(text));
        }
    }

    pub(crate) fn push_node(&mut self, node: Node) {
        match node {
            Node::Text(t) => self.push_text(t),
            other => self.children.push(other),
        }
    }

    /// All children, in document order.
    pub fn nodes(&self) -> &[Node] {
        &self.children
    }

    /// Child elements, in document order.
    pub fn children(&self) -> impl Iterator<Item = &Self> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The first child element `name` in namespace `ns`.
    pub fn child(&self, name: &str, ns: &str) -> Option<&Self> {
        self.children().find(|e| e.is(name, ns))
    }

    /// The direct text content (text and CDATA children concatenated).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            if let Node::Text(t) | Node::CData(t) = n {
                out.push_str(t);
            }
        }
        out
    }

    /// Whether the element has no children and no text.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Serialises into `out`, with `parent_ns` as the default namespace in
    /// scope (for a top-level stanza, the stream's, e.g.
    /// `jabber:component:accept`): `xmlns` is written only where the
    /// namespace differs. On error nothing is appended.
    pub fn write_to(&self, parent_ns: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        let start = out.len();
        let r = self.write_inner(parent_ns, out);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// Serialises into a new buffer (see [`Element::write_to`]).
    pub fn to_bytes(&self, parent_ns: &str) -> Result<Vec<u8>, WriteError> {
        let mut out = Vec::with_capacity(256);
        self.write_to(parent_ns, &mut out)?;
        Ok(out)
    }

    fn write_inner(&self, parent_ns: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        check_name(&self.name)?;
        out.push(b'<');
        out.extend_from_slice(self.name.as_bytes());
        if self.ns != parent_ns {
            out.extend_from_slice(b" xmlns='");
            escape_into(&self.ns, true, &self.name, out)?;
            out.push(b'\'');
        }
        let mut extra_ns = 0u32;
        for a in &self.attrs {
            check_name(&a.name)?;
            out.push(b' ');
            match a.ns.as_deref() {
                None => {}
                Some(NS_XML) => out.extend_from_slice(b"xml:"),
                Some(ns) => {
                    // Declare a private prefix for a foreign-namespace attribute.
                    let prefix = format!("ns{extra_ns}");
                    extra_ns = extra_ns.saturating_add(1);
                    out.extend_from_slice(b"xmlns:");
                    out.extend_from_slice(prefix.as_bytes());
                    out.extend_from_slice(b"='");
                    escape_into(ns, true, &self.name, out)?;
                    out.extend_from_slice(b"' ");
                    out.extend_from_slice(prefix.as_bytes());
                    out.push(b':');
                }
            }
            out.extend_from_slice(a.name.as_bytes());
            out.extend_from_slice(b"='");
            escape_into(&a.value, true, &self.name, out)?;
            out.push(b'\'');
        }
        if self.children.is_empty() {
            out.extend_from_slice(b"/>");
            return Ok(());
        }
        out.push(b'>');
        for n in &self.children {
            match n {
                Node::Element(e) => e.write_inner(&self.ns, out)?,
                Node::Text(t) => escape_into(t, false, &self.name, out)?,
                Node::CData(t) => write_cdata(t, &self.name, out)?,
            }
        }
        out.extend_from_slice(b"</");
        out.extend_from_slice(self.name.as_bytes());
        out.push(b'>');
        Ok(())
    }
}

impl fmt::Display for Element {
    /// Debug-oriented rendering (the namespace is always written); use
    /// [`Element::write_to`] for the wire.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_bytes("") {
            Ok(b) => f.write_str(&String::from_utf8_lossy(&b)),
            Err(e) => write!(f, "<{} (unwritable: {e})>", self.name),
        }
    }
}

/// Whether `ch` is allowed by the XML 1.0 `Char` production (§2.2).
pub fn is_xml_char(ch: char) -> bool {
    matches!(ch, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Writes `text` as CDATA sections; `]]>` is split as `]]]]><![CDATA[>`
/// (RFC 3923 §3.2). A CR is written as `&#13;` between sections, because
/// XML end-of-line handling (XML 1.0 §2.11) would otherwise turn CR LF into
/// LF: the receiver gets the content exactly, as a MIME entity needs.
fn write_cdata(text: &str, element: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
    check_chars(text, element)?;
    let mut open = false;
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix('\r') {
            if open {
                out.extend_from_slice(b"]]>");
                open = false;
            }
            out.extend_from_slice(b"&#13;");
            rest = tail;
            continue;
        }
        if !open {
            out.extend_from_slice(b"<![CDATA[");
            open = true;
        }
        if let Some(tail) = rest.strip_prefix("]]>") {
            out.extend_from_slice(b"]]]]><![CDATA[>");
            rest = tail;
            continue;
        }
        let cut = rest
            .char_indices()
            .skip(1)
            .find(|&(i, c)| c == '\r' || rest.get(i..).is_some_and(|t| t.starts_with("]]>")))
            .map_or(rest.len(), |(i, _)| i);
        let (head, tail) = rest.split_at_checked(cut).unwrap_or((rest, ""));
        out.extend_from_slice(head.as_bytes());
        rest = tail;
    }
    if open {
        out.extend_from_slice(b"]]>");
    }
    Ok(())
}

fn check_chars(s: &str, element: &str) -> Result<(), WriteError> {
    match s.chars().find(|&c| !is_xml_char(c)) {
        Some(ch) => Err(WriteError::ForbiddenChar {
            element: element.to_owned(),
            ch,
        }),
        None => Ok(()),
    }
}

/// Escapes text (`attr == false`) or a `'`-quoted attribute value.
fn escape_into(s: &str, attr: bool, element: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
    let mut last = 0;
    for (i, ch) in s.char_indices() {
        let rep: &[u8] = match ch {
            '<' => b"&lt;",
            '>' => b"&gt;",
            '&' => b"&amp;",
            '\r' => b"&#13;",
            '\'' if attr => b"&apos;",
            '"' if attr => b"&quot;",
            '\n' if attr => b"&#10;",
            '\t' if attr => b"&#9;",
            c if !is_xml_char(c) => {
                return Err(WriteError::ForbiddenChar {
                    element: element.to_owned(),
                    ch: c,
                });
            }
            _ => continue,
        };
        out.extend_from_slice(s.get(last..i).unwrap_or("").as_bytes());
        out.extend_from_slice(rep);
        last = i.saturating_add(ch.len_utf8());
    }
    out.extend_from_slice(s.get(last..).unwrap_or("").as_bytes());
    Ok(())
}

/// A conservative NCName check (XML Namespaces §3): non-empty, no `:`,
/// no whitespace, markup or control characters, not starting with a digit,
/// `-` or `.`. The parser applies the same check, so what parses writes.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let bad_first = name
        .chars()
        .next()
        .is_none_or(|c| c.is_ascii_digit() || c == '-' || c == '.');
    !(bad_first
        || name.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || !is_xml_char(c)
                || matches!(
                    c,
                    ':' | '<' | '>' | '&' | '\'' | '"' | '=' | '/' | '?' | '!' | ';'
                )
        }))
}

fn check_name(name: &str) -> Result<(), WriteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(WriteError::InvalidName {
            name: name.to_owned(),
        })
    }
}

//! Writes XML text: escaping for character data and attribute values
//! (XML 1.0 §2.4, §3.1, §3.3.3), and the canonical, self-contained form of
//! an element that [`Extension::xml`](super::Extension) holds.
//!
//! Owns [`escape_text`], [`escape_attr`] and [`fragment`]. The fragment form
//! keeps every prefix as written, declares on the fragment root every
//! namespace the fragment uses (including the default one, `xmlns=""` when
//! an unprefixed element has no namespace), redeclares further down only
//! where a prefix is bound differently there, writes attribute values in
//! double quotes and empty elements as `<x/>`. The form is a function of the
//! resolved tree, so reading a fragment and writing it again gives the same
//! text: that is what makes `parse(build(doc)) == doc` hold for extensions.
//! Comments and processing instructions were dropped by the reader. This
//! file does not write whole documents (`build.rs`).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::tree::{Element, Node};

/// Escapes character data. `\r` is written as a reference so that
/// end-of-line normalization (XML 1.0 §2.11) does not turn it into `\n`.
pub(crate) fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Escapes an attribute value for double quotes. Tab, LF and CR are written
/// as references so that attribute-value normalization (XML 1.0 §3.3.3) does
/// not turn them into spaces.
pub(crate) fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Namespace bindings in effect while writing: `(prefix, uri)`, `""` for
/// the default namespace, searched from the end.
type Scope = Vec<(String, String)>;

/// The canonical self-contained text of `el`.
pub(crate) fn fragment(el: &Element) -> String {
    let mut decls = Vec::new();
    collect_used(el, &mut decls);
    let mut out = String::new();
    let mut scope = Scope::new();
    write_element(el, decls, &mut scope, &mut out);
    out
}

/// Every binding the subtree uses, first occurrence of each prefix in
/// document order.
fn collect_used(el: &Element, found: &mut Vec<(String, String)>) {
    for b in own_bindings(el) {
        if !found.iter().any(|(p, _)| *p == b.0) {
            found.push(b);
        }
    }
    for child in el.elements() {
        collect_used(child, found);
    }
}

/// The bindings the element's own name and attribute names need.
fn own_bindings(el: &Element) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![(el.prefix.clone().unwrap_or_default(), el.ns.clone())];
    for a in &el.attrs {
        if let (Some(p), Some(ns)) = (&a.prefix, &a.ns)
            && p != "xml"
            && !v.iter().any(|(q, _)| q == p)
        {
            v.push((p.clone(), ns.clone()));
        }
    }
    v
}

fn lookup<'a>(scope: &'a Scope, prefix: &str) -> Option<&'a str> {
    scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str())
}

fn write_element(el: &Element, decls: Vec<(String, String)>, scope: &mut Scope, out: &mut String) {
    let mark = scope.len();
    out.push('<');
    push_qname(el.prefix.as_deref(), &el.local, out);
    for (p, uri) in decls {
        if p.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(&p);
            out.push_str("=\"");
        }
        // The reader refuses namespace names with '&', '<' or quotes, so
        // the name is written back exactly as it was read.
        out.push_str(&uri);
        out.push('"');
        scope.push((p, uri));
    }
    for a in &el.attrs {
        out.push(' ');
        push_qname(a.prefix.as_deref(), &a.local, out);
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    if el.children.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        for n in &el.children {
            match n {
                Node::Text(t) => escape_text(t, out),
                Node::Element(child) => {
                    let decls = own_bindings(child)
                        .into_iter()
                        .filter(|(p, uri)| lookup(scope, p) != Some(uri.as_str()))
                        .collect();
                    write_element(child, decls, scope, out);
                }
            }
        }
        out.push_str("</");
        push_qname(el.prefix.as_deref(), &el.local, out);
        out.push('>');
    }
    scope.truncate(mark);
}

fn push_qname(prefix: Option<&str>, local: &str, out: &mut String) {
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(local);
}

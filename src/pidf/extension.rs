//! Unknown elements kept as [`Extension`]s (RFC 3863 §4.3), and the
//! `mustUnderstand` rule (RFC 3863 §4.3.1).
//!
//! Owns [`Extension::from_xml`], the conversion of a read element into an
//! extension, the `mustUnderstand` test, and the writer's check that an
//! extension can be inserted verbatim and read back as the same extension
//! (one element, canonical text, not mistakable for a model element where it
//! is written). It does not decide which elements are known: `parse.rs` does.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::error::PidfError;
use super::model::{Extension, Show};
use super::names::{NS_DATA_MODEL, NS_JABBER_CLIENT, NS_RPID, is_pidf, xml_trim};
use super::tree::{self, Element, Input};
use super::write::fragment;
use super::{MAX_DEPTH, MAX_DOCUMENT_BYTES};

impl Extension {
    /// Reads one element, written as a self-contained fragment (every prefix
    /// it uses declared on it or inside it), into an extension with the
    /// canonical `xml` the reader would produce (see the module docs of
    /// `write.rs`: prefixes kept, namespaces declared on the root).
    /// `must_understand` is set from its `mustUnderstand` attribute.
    ///
    /// # Errors
    /// [`PidfError`] when `xml` is not exactly one well-formed element within
    /// the reader's limits.
    pub fn from_xml(xml: &str) -> Result<Extension, PidfError> {
        if xml.len() > MAX_DOCUMENT_BYTES {
            return Err(PidfError::TooLarge {
                len: xml.len(),
                max: MAX_DOCUMENT_BYTES,
            });
        }
        let el = tree::read(xml, Input::Fragment, MAX_DEPTH)?;
        Ok(Extension {
            namespace: el.ns.clone(),
            local_name: el.local.clone(),
            xml: fragment(&el),
            must_understand: must_understand(&el),
        })
    }
}

/// Keeps an element the model does not know, refusing the document when it
/// is marked `mustUnderstand` (RFC 3863 §4.3.1).
pub(crate) fn keep(el: &Element) -> Result<Extension, PidfError> {
    if must_understand(el) {
        return Err(PidfError::MustUnderstand {
            element: format!("{{{}}}{}", el.ns, el.local),
        });
    }
    Ok(Extension {
        namespace: el.ns.clone(),
        local_name: el.local.clone(),
        xml: fragment(el),
        must_understand: false,
    })
}

/// Whether the element carries `mustUnderstand` set to `true` or `1`
/// (RFC 3863 §4.3.1). The attribute is defined in the PIDF namespace; an
/// unprefixed one is accepted too, as a tolerance.
pub(crate) fn must_understand(el: &Element) -> bool {
    el.attrs.iter().any(|a| {
        a.local == "mustUnderstand"
            && a.ns.as_deref().is_none_or(is_pidf)
            && matches!(xml_trim(&a.value), "true" | "1")
    })
}

/// Where an extension is written, for [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A child of `<presence>`.
    Presence,
    /// A child of `<tuple>`.
    Tuple,
    /// A child of `<status>`; `show_set` says whether the tuple's own
    /// `<show>` is written before it.
    Status {
        /// Whether [`super::Tuple::show`] is set.
        show_set: bool,
    },
    /// A child of `<dm:person>`.
    Person,
}

/// Checks that `ext` can be written verbatim at `place` and read back as
/// itself (house style B.13: the writer only produces what the reader gives
/// back unchanged).
pub(crate) fn check(ext: &Extension, place: Place) -> Result<(), PidfError> {
    let bad = |reason| PidfError::BadExtension {
        element: ext.local_name.clone(),
        reason,
    };
    let el = tree::read(&ext.xml, Input::Fragment, MAX_DEPTH)
        .map_err(|_| bad("its xml is not exactly one well-formed element"))?;
    if fragment(&el) != ext.xml {
        return Err(bad(
            "its xml is not in canonical form (use Extension::from_xml)",
        ));
    }
    if el.ns != ext.namespace || el.local != ext.local_name {
        return Err(bad("namespace or local_name disagree with its xml"));
    }
    if must_understand(&el) != ext.must_understand {
        return Err(bad("must_understand disagrees with its xml"));
    }
    let ns = el.ns.as_str();
    let local = el.local.as_str();
    let model = match place {
        Place::Presence => {
            (is_pidf(ns) && matches!(local, "tuple" | "note"))
                || (ns == NS_DATA_MODEL && local == "person")
        }
        Place::Tuple => is_pidf(ns) && matches!(local, "status" | "contact" | "note" | "timestamp"),
        Place::Status { show_set } => {
            (is_pidf(ns) && local == "basic")
                || (!show_set
                    && ns == NS_JABBER_CLIENT
                    && local == "show"
                    && Show::from_text(&el.text()).is_some())
        }
        Place::Person => {
            (ns == NS_DATA_MODEL && local == "note") || (ns == NS_RPID && local == "activities")
        }
    };
    if model {
        return Err(bad("it would be read back as a model element"));
    }
    Ok(())
}

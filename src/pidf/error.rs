//! Why a PIDF document was refused, by the reader ([`super::parse`],
//! [`super::Extension::from_xml`]) or by the writer ([`super::build`]).
//!
//! Owns [`PidfError`]. Reader errors carry the byte offset where the problem
//! was seen when one is known, and the element or field concerned. This file
//! does not parse or write anything itself.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// Why a document (or an extension fragment) was refused.
///
/// Offsets are byte offsets into the input as given (after a UTF-8 byte order
/// mark, if there was one).
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PidfError {
    /// `<basic>` holds something other than `open` or `closed`
    /// (RFC 3863 §4.1.4).
    #[error("<basic> is {value:?}, not open or closed")]
    BadBasic {
        /// The text, trimmed.
        value: String,
    },
    /// The writer was given an [`Extension`](super::Extension) that it cannot
    /// insert safely: its `xml` is not exactly one element in the canonical
    /// form the reader produces, its `namespace`/`local_name`/
    /// `must_understand` disagree with the `xml`, or it would be read back
    /// as a model element (a `<tuple>` at presence level, for instance).
    #[error("extension <{element}> cannot be written: {reason}")]
    BadExtension {
        /// The extension's local name.
        element: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `<contact priority>` that is not a qvalue (RFC 3863 §4.1.5: 0 to 1,
    /// at most three decimals).
    #[error("contact priority {value:?} is not a qvalue between 0 and 1")]
    BadPriority {
        /// The value given.
        value: String,
    },
    /// A document type declaration. Refused outright: no DTD, no entity
    /// declarations, so no entity expansion or external entities (XXE).
    #[error("document type declarations are not accepted (offset {offset})")]
    Doctype {
        /// Where it was seen.
        offset: u64,
    },
    /// A second `<basic>`, `<contact>` or `<timestamp>` in one tuple
    /// (RFC 3863 §4.1.2–§4.1.7 allow at most one).
    #[error("more than one <{element}> in a tuple")]
    DuplicateElement {
        /// The element name.
        element: &'static str,
    },
    /// Two tuples (or, when writing, any two tuples or persons) share an
    /// `id`; ids are XML IDs, unique in the document (RFC 3863 §4.1.2).
    #[error("duplicate id {id:?}")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A character XML 1.0 does not allow (XML 1.0 §2.2), raw or as a
    /// character reference.
    #[error("character not allowed in XML at offset {offset}")]
    InvalidChar {
        /// Where it was seen.
        offset: u64,
    },
    /// The XML is not well-formed (or not namespace-well-formed) in a way the
    /// reader checks itself.
    #[error("malformed XML at offset {offset}: {what}")]
    Malformed {
        /// Where it was seen.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// `<presence>` has no (or an empty) `entity` attribute (RFC 3863
    /// §4.1.1: required).
    #[error("<presence> has no entity")]
    MissingEntity,
    /// The writer was given a `<dm:person>` without an id (RFC 4479 §3.1:
    /// required).
    #[error("<dm:person> has no id")]
    MissingPersonId,
    /// A `<tuple>` has no (or an empty) `id` attribute (RFC 3863 §4.1.2:
    /// required).
    #[error("<tuple> has no id")]
    MissingTupleId,
    /// An element this reader does not understand is marked
    /// `mustUnderstand="true"` (RFC 3863 §4.3.1): the document must not be
    /// processed.
    #[error("element {element} is marked mustUnderstand and is not understood")]
    MustUnderstand {
        /// The element in Clark notation, `{namespace}local`.
        element: String,
    },
    /// The input is not UTF-8 (the only encoding accepted; RFC 3863 §7
    /// makes UTF-8 the one every reader must support).
    #[error("document is not UTF-8 (offset {offset})")]
    NotUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// quick-xml refused the input as XML. The reader's message is kept as
    /// text because `quick_xml::Error` is neither `Clone` nor `Eq`.
    #[error("not XML at offset {offset}: {detail}")]
    NotXml {
        /// Where the reader stopped.
        offset: u64,
        /// The reader's message.
        detail: String,
    },
    /// Elements nest deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    #[error("elements nest deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The input is larger than [`MAX_DOCUMENT_BYTES`](super::MAX_DOCUMENT_BYTES).
    #[error("document of {len} bytes is larger than {max}")]
    TooLarge {
        /// The input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More tuples than [`MAX_TUPLES`](super::MAX_TUPLES).
    #[error("more than {max} tuples")]
    TooManyTuples {
        /// The limit.
        max: usize,
    },
    /// An element or attribute prefix without a namespace declaration in
    /// scope (Namespaces in XML §5).
    #[error("prefix {prefix:?} is not declared (offset {offset})")]
    UnboundPrefix {
        /// The prefix.
        prefix: String,
        /// Where it was seen.
        offset: u64,
    },
    /// An entity reference other than the five predefined ones: with no DTD
    /// there is nothing it could refer to (XML 1.0 §4.1, WFC: Entity
    /// Declared).
    #[error("undeclared entity reference at offset {offset}")]
    UnknownEntity {
        /// Where it was seen.
        offset: u64,
    },
    /// The writer was given a string that XML 1.0 cannot carry (XML 1.0
    /// §2.2: most C0 controls, U+FFFE, U+FFFF).
    #[error("{field} contains a character XML cannot carry")]
    Unrepresentable {
        /// Which field.
        field: &'static str,
    },
    /// The writer was given a value with leading or trailing white space in
    /// a field that the reader trims (the XML Schema types involved collapse
    /// white space), so it would not read back unchanged.
    #[error("{field} has leading or trailing white space")]
    Whitespace {
        /// Which field.
        field: &'static str,
    },
    /// The root element is not PIDF `<presence>` (RFC 3863 §4.1.1).
    #[error("root element is {{{namespace}}}{local_name}, not PIDF presence")]
    WrongRoot {
        /// Its namespace URI (empty when none).
        namespace: String,
        /// Its local name.
        local_name: String,
    },
    /// The writer was asked for a document without tuples: valid PIDF, but
    /// a gateway never generates one (RFC 3922 §6.3.2).
    #[error("a document without tuples is never generated")]
    ZeroTuples,
}

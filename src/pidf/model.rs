//! The PIDF document model (RFC 3863 §4, RFC 4479 data model, RFC 4480
//! RPID activities, RFC 7248 / RFC 8048 `<show/>` carriage). Plain data:
//! [`super::parse`] fills it, [`super::build`] writes it.
//!
//! Elements the model does not know are kept as [`Extension`]s, in document
//! order within their parent, so that a document relayed across the
//! boundary loses nothing it did not have to.

/// A `<presence>` document (RFC 3863 §4.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    /// The `entity` attribute: the presentity's URI (a `pres:` URI when we
    /// write it; RFC 3863 §4.1.1, standards.md C7/C10).
    pub entity: String,
    /// `<tuple>` elements in order (RFC 3863 §4.1.2).
    pub tuples: Vec<Tuple>,
    /// Presence-level `<note>`s (RFC 3863 §4.1.6).
    pub notes: Vec<Note>,
    /// `<dm:person>` elements (RFC 4479 §3.1) with their RPID content.
    pub persons: Vec<Person>,
    /// Other presence-level children (e.g. `<dm:device>`), kept verbatim.
    pub extensions: Vec<Extension>,
}

/// A `<tuple>` (RFC 3863 §4.1.2): one presence tuple. Across the boundary a
/// tuple is one XMPP resource (RFC 3922 §5.2, RFC 7248 §4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tuple {
    /// The `id` attribute (an XML ID).
    pub id: String,
    /// `<status><basic>` (RFC 3863 §4.1.4); `None` when absent.
    pub basic: Option<Basic>,
    /// `<status><show xmlns='jabber:client'>` (RFC 7248 §4, note 7).
    pub show: Option<Show>,
    /// Other children of `<status>`, kept verbatim.
    pub status_extensions: Vec<Extension>,
    /// `<contact>` (RFC 3863 §4.1.5).
    pub contact: Option<Contact>,
    /// Tuple `<note>`s.
    pub notes: Vec<Note>,
    /// `<timestamp>` text, kept as written (RFC 3863 §4.1.7; never
    /// regenerated inside relayed content, standards.md §2.5.2).
    pub timestamp: Option<String>,
    /// Other tuple children, kept verbatim.
    pub extensions: Vec<Extension>,
}

/// `<basic>` values (RFC 3863 §4.1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Basic {
    /// `open`: ready to accept communication.
    Open,
    /// `closed`.
    Closed,
}

/// XMPP `<show/>` values carried in PIDF (RFC 6121 §4.7.2.1, RFC 7248).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Show {
    /// `away`.
    Away,
    /// `chat`.
    Chat,
    /// `dnd`.
    Dnd,
    /// `xa`.
    Xa,
}

/// `<contact>` with its optional `priority` (0 to 1, kept as text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contact {
    /// The contact URI.
    pub uri: String,
    /// The `priority` attribute as written.
    pub priority: Option<String>,
}

/// A `<note>` with its `xml:lang`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Note {
    /// `xml:lang`, if any.
    pub lang: Option<String>,
    /// The text, unescaped.
    pub text: String,
}

/// A `<dm:person>` (RFC 4479 §3.1) with RPID activities (RFC 4480 §3.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    /// The `id` attribute.
    pub id: String,
    /// `<rpid:activities>` children.
    pub activities: Vec<Activity>,
    /// `<dm:note>`s.
    pub notes: Vec<Note>,
    /// Other person children (mood, place-type…), kept verbatim.
    pub extensions: Vec<Extension>,
}

/// RPID activities (RFC 4480 §3.2). Values outside the RFC's list are
/// [`Activity::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Activity {
    /// `appointment`
    Appointment,
    /// `away`
    Away,
    /// `breakfast`
    Breakfast,
    /// `busy`
    Busy,
    /// `dinner`
    Dinner,
    /// `holiday`
    Holiday,
    /// `in-transit`
    InTransit,
    /// `looking-for-work`
    LookingForWork,
    /// `lunch`
    Lunch,
    /// `meal`
    Meal,
    /// `meeting`
    Meeting,
    /// `on-the-phone`
    OnThePhone,
    /// `performance`
    Performance,
    /// `permanent-absence`
    PermanentAbsence,
    /// `playing`
    Playing,
    /// `presentation`
    Presentation,
    /// `shopping`
    Shopping,
    /// `sleeping`
    Sleeping,
    /// `spectator`
    Spectator,
    /// `steering`
    Steering,
    /// `travel`
    Travel,
    /// `tv`
    Tv,
    /// `unknown`
    Unknown,
    /// `vacation`
    Vacation,
    /// `working`
    Working,
    /// `worship`
    Worship,
    /// `<rpid:other>` with its text; also an activity element the model
    /// does not know, by its local name. Always written as `<rpid:other>`.
    Other(String),
}

/// An element the model does not interpret, kept so that it can be written
/// back (RFC 3863 §4.3: unknown extensions are ignored, not removed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extension {
    /// Its namespace URI (empty when none).
    pub namespace: String,
    /// Its local name.
    pub local_name: String,
    /// The element re-serialized as a self-contained fragment: every
    /// namespace it uses is declared on it, so it can be inserted anywhere.
    pub xml: String,
    /// Whether it carried `mustUnderstand="true"` (RFC 3863 §4.3.1).
    pub must_understand: bool,
}

//! The vocabulary shared by the reader, the writer and the mapping table:
//! namespace URIs (standards.md §6.1) and the text forms of [`Basic`],
//! [`Show`] and [`Activity`].
//!
//! Owns the namespace constants and the `as_str`/`from_*` conversions. It
//! does not decide what a value means for XMPP (that is [`super::mapping`]).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::model::{Activity, Basic, Show};

/// The PIDF namespace (RFC 3863 §4; standards.md C7: no trailing colon).
pub const NS_PIDF: &str = "urn:ietf:params:xml:ns:pidf";
/// The PIDF namespace with the erroneous trailing colon some implementations
/// write. Read as [`NS_PIDF`] (standards.md C7); never written.
pub const NS_PIDF_TOLERATED: &str = "urn:ietf:params:xml:ns:pidf:";
/// The presence data model namespace (RFC 4479 §4: `dm:person`, `dm:note`).
pub const NS_DATA_MODEL: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// The RPID namespace (RFC 4480 §6).
pub const NS_RPID: &str = "urn:ietf:params:xml:ns:pidf:rpid";
/// The namespace of the XMPP `<show/>` carried in `<status>` (RFC 7248 §4,
/// RFC 6121 §4.7.2.1).
pub const NS_JABBER_CLIENT: &str = "jabber:client";
/// The namespace bound to the `xml` prefix (Namespaces in XML §3).
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Whether `ns` is the PIDF namespace, in either spelling.
pub(crate) fn is_pidf(ns: &str) -> bool {
    ns == NS_PIDF || ns == NS_PIDF_TOLERATED
}

/// White space as XML defines it (XML 1.0 §2.3 production S).
pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Trims XML white space (the XML Schema `collapse` facet's ends).
pub(crate) fn xml_trim(s: &str) -> &str {
    s.trim_matches(is_xml_space)
}

impl Basic {
    /// The element text (RFC 3863 §4.1.4).
    pub fn as_str(self) -> &'static str {
        match self {
            Basic::Open => "open",
            Basic::Closed => "closed",
        }
    }

    /// Reads `<basic>` text: surrounding white space is ignored and, as a
    /// tolerance, so is ASCII case (`Open`).
    pub fn from_text(text: &str) -> Option<Basic> {
        let t = xml_trim(text);
        if t.eq_ignore_ascii_case("open") {
            Some(Basic::Open)
        } else if t.eq_ignore_ascii_case("closed") {
            Some(Basic::Closed)
        } else {
            None
        }
    }
}

impl Show {
    /// The element text (RFC 6121 §4.7.2.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Show::Away => "away",
            Show::Chat => "chat",
            Show::Dnd => "dnd",
            Show::Xa => "xa",
        }
    }

    /// Reads `<show>` text: surrounding white space and ASCII case are
    /// ignored (a tolerance; RFC 6121 defines lowercase values only).
    pub fn from_text(text: &str) -> Option<Show> {
        let t = xml_trim(text);
        [Show::Away, Show::Chat, Show::Dnd, Show::Xa]
            .into_iter()
            .find(|s| t.eq_ignore_ascii_case(s.as_str()))
    }
}

macro_rules! activities {
    ($($v:ident = $s:literal,)*) => {
        impl Activity {
            /// Every activity RFC 4480 §3.2 names (without `other`).
            pub const KNOWN: &'static [Activity] = &[$(Activity::$v,)*];

            /// The RPID element name (RFC 4480 §3.2); for
            /// [`Activity::Other`], its text.
            pub fn name(&self) -> &str {
                match self {
                    $(Activity::$v => $s,)*
                    Activity::Other(s) => s,
                }
            }

            /// The activity an RPID element name stands for; `None` for
            /// names RFC 4480 §3.2 does not list (and for `other`).
            pub fn from_name(name: &str) -> Option<Activity> {
                match name {
                    $($s => Some(Activity::$v),)*
                    _ => None,
                }
            }
        }
    };
}

activities! {
    Appointment = "appointment",
    Away = "away",
    Breakfast = "breakfast",
    Busy = "busy",
    Dinner = "dinner",
    Holiday = "holiday",
    InTransit = "in-transit",
    LookingForWork = "looking-for-work",
    Lunch = "lunch",
    Meal = "meal",
    Meeting = "meeting",
    OnThePhone = "on-the-phone",
    Performance = "performance",
    PermanentAbsence = "permanent-absence",
    Playing = "playing",
    Presentation = "presentation",
    Shopping = "shopping",
    Sleeping = "sleeping",
    Spectator = "spectator",
    Steering = "steering",
    Travel = "travel",
    Tv = "tv",
    Unknown = "unknown",
    Vacation = "vacation",
    Working = "working",
    Worship = "worship",
}

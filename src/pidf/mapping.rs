//! PLACEHOLDER (replaced by the real table from `mappings/presence.toml`).
use super::{Activity, Basic, Show};

/// Placeholder table.
#[derive(Debug, Default)]
pub struct PresenceTable;

/// PIDF side of an XMPP state.
pub struct TupleStatus {
    /// basic
    pub basic: Basic,
    /// show
    pub show: Option<Show>,
    /// activities
    pub activities: Vec<Activity>,
}

/// XMPP side of a tuple.
pub struct XmppStatus {
    /// available
    pub available: bool,
    /// show
    pub show: Option<Show>,
}

impl PresenceTable {
    /// Placeholder.
    pub fn builtin() -> PresenceTable {
        PresenceTable
    }
    /// Placeholder.
    pub fn from_xmpp(&self, available: bool, show: Option<Show>) -> TupleStatus {
        TupleStatus {
            basic: if available {
                Basic::Open
            } else {
                Basic::Closed
            },
            show,
            activities: Vec::new(),
        }
    }
    /// Placeholder.
    pub fn to_xmpp(&self, basic: Option<Basic>, show: Option<Show>, _a: &[Activity]) -> XmppStatus {
        XmppStatus {
            available: basic == Some(Basic::Open),
            show,
        }
    }
}

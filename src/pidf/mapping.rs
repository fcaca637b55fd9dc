//! The XMPP `<show/>` ⇄ PIDF `<basic>` / `<show/>` / RPID activity table
//! (standards.md §6.4; RFC 7248 §4, RFC 3863 §4.1.4, RFC 4480 §3.2), read
//! from `mappings/presence.toml`.
//!
//! Owns [`PresenceTable`] with its two directions, [`PresenceTable::from_xmpp`]
//! (what a tuple says for an XMPP presence) and [`PresenceTable::to_xmpp`]
//! (what XMPP presence a tuple means), and [`TableError`]. Reading rules,
//! also stated in the TOML file: `<basic>closed</basic>` is unavailable
//! whatever else the tuple says; otherwise an embedded `<show/>` wins, then
//! the first `[[activity]]` row (in file order) whose activity is present. A
//! tuple without `<basic>` counts as available only when it has a `<show/>`
//! or a listed activity, and as unavailable otherwise (a gateway choice). It does not pick
//! a tuple among several, map `<note>` to `<status>` or priorities: callers
//! do.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use serde::Deserialize;

use super::model::{Activity, Basic, Show};

/// The embedded table.
pub const PRESENCE_TABLE: &str = include_str!("../../mappings/presence.toml");

/// What a PIDF tuple carries for one XMPP presence state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TupleStatus {
    /// `<basic>`.
    pub basic: Basic,
    /// The `<show xmlns='jabber:client'>` inside `<status>`.
    pub show: Option<Show>,
    /// RPID activities for SIP-only watchers (for a `<dm:person>`).
    pub activities: Vec<Activity>,
}

/// The XMPP presence a tuple stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XmppStatus {
    /// `false` for `type='unavailable'` (RFC 6121 §4.7.1).
    pub available: bool,
    /// The `<show/>` (RFC 6121 §4.7.2.1); always `None` when unavailable.
    pub show: Option<Show>,
}

/// Why the table text was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// Not TOML of the expected shape.
    #[error("presence table: {0}")]
    Toml(#[from] toml::de::Error),
    /// A value that is not a state, basic, show or activity name.
    #[error("presence table: unknown {field} {value:?}")]
    UnknownValue {
        /// The field.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// An XMPP state or an activity listed twice.
    #[error("presence table: {value:?} is listed twice")]
    Duplicate {
        /// The state or activity.
        value: String,
    },
    /// An XMPP state without a row.
    #[error("presence table: no row for XMPP state {state:?}")]
    MissingState {
        /// The state.
        state: &'static str,
    },
}

/// One `[[xmpp]]` row, as written in the file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmppRow {
    /// `available`, `chat`, `away`, `xa`, `dnd` or `unavailable`.
    pub state: String,
    /// `open` or `closed`.
    pub basic: String,
    /// The embedded show, if any.
    pub show: Option<String>,
    /// RPID activity names.
    pub activities: Vec<String>,
    /// Where the row comes from.
    pub why: String,
}

/// One `[[activity]]` row, as written in the file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityRow {
    /// The RPID activity name.
    pub activity: String,
    /// The XMPP show it gives.
    pub show: String,
    /// Where the row comes from.
    pub why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    xmpp: Vec<XmppRow>,
    activity: Vec<ActivityRow>,
}

/// The XMPP states, in the order of [`PresenceTable`]'s internal array.
const STATES: [(&str, XmppStatus); 6] = [
    ("available", xmpp(true, None)),
    ("chat", xmpp(true, Some(Show::Chat))),
    ("away", xmpp(true, Some(Show::Away))),
    ("xa", xmpp(true, Some(Show::Xa))),
    ("dnd", xmpp(true, Some(Show::Dnd))),
    ("unavailable", xmpp(false, None)),
];

const fn xmpp(available: bool, show: Option<Show>) -> XmppStatus {
    XmppStatus { available, show }
}

/// The loaded table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceTable {
    /// `(state, tuple status)` for each XMPP state.
    states: Vec<(XmppStatus, TupleStatus)>,
    /// Activity → show, in precedence order.
    activities: Vec<(Activity, Show)>,
}

impl PresenceTable {
    /// The table embedded from `mappings/presence.toml`.
    pub fn builtin() -> PresenceTable {
        // The embedded file is parsed by a unit test, so this cannot fail at
        // run time unless the test suite was skipped.
        #[allow(clippy::expect_used)]
        PresenceTable::parse(PRESENCE_TABLE).expect("embedded mappings/presence.toml is valid")
    }

    /// Reads a table in the `presence.toml` format.
    ///
    /// # Errors
    /// [`TableError`] when the text is not a complete, consistent table.
    pub fn parse(text: &str) -> Result<PresenceTable, TableError> {
        let file: TableFile = toml::from_str(text)?;
        let mut states: Vec<(XmppStatus, TupleStatus)> = Vec::new();
        for row in &file.xmpp {
            let state = STATES
                .iter()
                .find(|(name, _)| *name == row.state)
                .map(|(_, s)| *s)
                .ok_or_else(|| unknown("state", &row.state))?;
            if states.iter().any(|(s, _)| *s == state) {
                return Err(TableError::Duplicate {
                    value: row.state.clone(),
                });
            }
            let basic = Basic::from_text(&row.basic)
                .filter(|b| b.as_str() == row.basic)
                .ok_or_else(|| unknown("basic", &row.basic))?;
            let show = row.show.as_deref().map(show_named).transpose()?;
            let activities = row
                .activities
                .iter()
                .map(|a| activity_named(a))
                .collect::<Result<Vec<_>, _>>()?;
            states.push((
                state,
                TupleStatus {
                    basic,
                    show,
                    activities,
                },
            ));
        }
        if let Some((name, _)) = STATES
            .iter()
            .find(|(_, s)| !states.iter().any(|(x, _)| x == s))
        {
            return Err(TableError::MissingState { state: name });
        }
        let mut activities: Vec<(Activity, Show)> = Vec::new();
        for row in &file.activity {
            let a = activity_named(&row.activity)?;
            if activities.iter().any(|(x, _)| *x == a) {
                return Err(TableError::Duplicate {
                    value: row.activity.clone(),
                });
            }
            activities.push((a, show_named(&row.show)?));
        }
        Ok(PresenceTable { states, activities })
    }

    /// The rows of the embedded table, for tests and documentation.
    pub fn builtin_rows() -> (Vec<XmppRow>, Vec<ActivityRow>) {
        toml::from_str::<TableFile>(PRESENCE_TABLE)
            .map(|f| (f.xmpp, f.activity))
            .unwrap_or_default()
    }

    /// What a tuple carries for an XMPP presence: `available` is `false`
    /// for `type='unavailable'` (and `show` is then ignored).
    pub fn from_xmpp(&self, available: bool, show: Option<Show>) -> TupleStatus {
        let key = if available {
            xmpp(true, show)
        } else {
            xmpp(false, None)
        };
        self.states
            .iter()
            .find(|(s, _)| *s == key)
            .map(|(_, t)| t.clone())
            // Unreachable: `parse` requires a row for every state.
            .unwrap_or(TupleStatus {
                basic: if available {
                    Basic::Open
                } else {
                    Basic::Closed
                },
                show: if available { show } else { None },
                activities: Vec::new(),
            })
    }

    /// The XMPP presence a tuple (its `<basic>`, embedded `<show/>` and the
    /// RPID activities that apply to it) stands for. See the module docs for
    /// the precedence rules, and for a tuple without `<basic>`.
    pub fn to_xmpp(
        &self,
        basic: Option<Basic>,
        show: Option<Show>,
        activities: &[Activity],
    ) -> XmppStatus {
        if basic == Some(Basic::Closed) {
            return xmpp(false, None);
        }
        let show = show.or_else(|| {
            self.activities
                .iter()
                .find(|(a, _)| activities.contains(a))
                .map(|(_, s)| *s)
        });
        xmpp(basic == Some(Basic::Open) || show.is_some(), show)
    }
}

fn unknown(field: &'static str, value: &str) -> TableError {
    TableError::UnknownValue {
        field,
        value: value.to_owned(),
    }
}

fn show_named(name: &str) -> Result<Show, TableError> {
    Show::from_text(name)
        .filter(|s| s.as_str() == name)
        .ok_or_else(|| unknown("show", name))
}

fn activity_named(name: &str) -> Result<Activity, TableError> {
    Activity::from_name(name).ok_or_else(|| unknown("activity", name))
}

//! The presence table: every row of `mappings/presence.toml` in both
//! directions, the reading rules, and the loader's refusals.

use crate::pidf::mapping::{PRESENCE_TABLE, TableError};
use crate::pidf::{Activity, Basic, PresenceTable, Show, TupleStatus, XmppStatus};

fn state(name: &str) -> XmppStatus {
    let (available, show) = match name {
        "available" => (true, None),
        "chat" => (true, Some(Show::Chat)),
        "away" => (true, Some(Show::Away)),
        "xa" => (true, Some(Show::Xa)),
        "dnd" => (true, Some(Show::Dnd)),
        "unavailable" => (false, None),
        other => panic!("unknown state {other}"),
    };
    XmppStatus { available, show }
}

#[test]
fn every_xmpp_row_both_directions() {
    let table = PresenceTable::builtin();
    let (rows, _) = PresenceTable::builtin_rows();
    assert_eq!(rows.len(), 6);
    for row in rows {
        let x = state(&row.state);
        let expected = TupleStatus {
            basic: Basic::from_text(&row.basic).unwrap(),
            show: row.show.as_deref().map(|s| Show::from_text(s).unwrap()),
            activities: row
                .activities
                .iter()
                .map(|a| Activity::from_name(a).unwrap())
                .collect(),
        };
        let got = table.from_xmpp(x.available, x.show);
        assert_eq!(got, expected, "{}: {}", row.state, row.why);
        // Read back, the tuple means the same XMPP presence.
        assert_eq!(
            table.to_xmpp(Some(got.basic), got.show, &got.activities),
            x,
            "{}: {}",
            row.state,
            row.why
        );
    }
}

#[test]
fn every_activity_row_both_directions() {
    let table = PresenceTable::builtin();
    let (_, rows) = PresenceTable::builtin_rows();
    assert!(!rows.is_empty());
    for row in rows {
        let a = Activity::from_name(&row.activity).unwrap();
        let show = Show::from_text(&row.show).unwrap();
        let want = XmppStatus {
            available: true,
            show: Some(show),
        };
        // A SIP-only document: basic open (or absent) and the activity.
        assert_eq!(
            table.to_xmpp(Some(Basic::Open), None, std::slice::from_ref(&a)),
            want,
            "{}",
            row.why
        );
        assert_eq!(
            table.to_xmpp(None, None, std::slice::from_ref(&a)),
            want,
            "{}",
            row.why
        );
        // basic closed wins; an embedded show wins over the activity.
        assert_eq!(
            table.to_xmpp(Some(Basic::Closed), None, std::slice::from_ref(&a)),
            XmppStatus {
                available: false,
                show: None
            }
        );
        assert_eq!(
            table
                .to_xmpp(
                    Some(Basic::Open),
                    Some(Show::Chat),
                    std::slice::from_ref(&a)
                )
                .show,
            Some(Show::Chat)
        );
        // The other direction: the XMPP state for that show writes a tuple
        // that reads back as the same show.
        let t = table.from_xmpp(true, Some(show));
        assert_eq!(table.to_xmpp(Some(t.basic), t.show, &t.activities), want);
    }
}

#[test]
fn reading_rules() {
    let table = PresenceTable::builtin();
    let unavailable = XmppStatus {
        available: false,
        show: None,
    };
    // No basic, no show, no listed activity: unavailable.
    assert_eq!(table.to_xmpp(None, None, &[]), unavailable);
    assert_eq!(table.to_xmpp(None, None, &[Activity::Tv]), unavailable);
    assert_eq!(
        table.to_xmpp(None, None, &[Activity::Other("busy".into())]),
        unavailable
    );
    // No basic but an embedded show: available.
    assert_eq!(
        table.to_xmpp(None, Some(Show::Away), &[]),
        XmppStatus {
            available: true,
            show: Some(Show::Away)
        }
    );
    // basic open with unlisted activities: plain available.
    assert_eq!(
        table.to_xmpp(Some(Basic::Open), None, &[Activity::Tv, Activity::Working]),
        XmppStatus {
            available: true,
            show: None
        }
    );
    // Precedence is table order: busy (dnd) beats away, whatever the
    // document order.
    assert_eq!(
        table
            .to_xmpp(
                Some(Basic::Open),
                None,
                &[Activity::Away, Activity::OnThePhone]
            )
            .show,
        Some(Show::Dnd)
    );
    assert_eq!(
        table
            .to_xmpp(
                Some(Basic::Open),
                None,
                &[Activity::Lunch, Activity::Vacation]
            )
            .show,
        Some(Show::Xa)
    );
    // Unavailable ignores the show it is given.
    assert_eq!(
        table.from_xmpp(false, Some(Show::Dnd)),
        table.from_xmpp(false, None)
    );
}

#[test]
fn loader_refusals() {
    assert!(PresenceTable::parse(PRESENCE_TABLE).is_ok());
    let without = |state: &str| {
        let mut out = String::new();
        for block in PRESENCE_TABLE.split("\n\n") {
            if !block.contains(&format!("state = \"{state}\"")) {
                out.push_str(block);
                out.push_str("\n\n");
            }
        }
        out
    };
    assert!(matches!(
        PresenceTable::parse(&without("xa")),
        Err(TableError::MissingState { state: "xa" })
    ));
    let dup = format!(
        "{PRESENCE_TABLE}\n[[xmpp]]\nstate = \"chat\"\nbasic = \"open\"\nactivities = []\nwhy = \"x\"\n"
    );
    assert!(matches!(
        PresenceTable::parse(&dup),
        Err(TableError::Duplicate { .. })
    ));
    let bad = PRESENCE_TABLE.replace("activity = \"busy\"", "activity = \"bsy\"");
    assert!(matches!(
        PresenceTable::parse(&bad),
        Err(TableError::UnknownValue {
            field: "activity",
            ..
        })
    ));
    let bad = PRESENCE_TABLE.replacen("basic = \"open\"", "basic = \"Open\"", 1);
    assert!(matches!(
        PresenceTable::parse(&bad),
        Err(TableError::UnknownValue { field: "basic", .. })
    ));
    let bad = PRESENCE_TABLE.replacen("why =", "because =", 1);
    assert!(matches!(
        PresenceTable::parse(&bad),
        Err(TableError::Toml(_))
    ));
}

//! Tests for the address mapping: every row of `mappings/address.toml`,
//! edge cases, and round-trip properties.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use serde::Deserialize;

use super::*;

const TABLE: &str = include_str!("../../../mappings/address.toml");
const COMPONENT: &str = "cpim.xmpp.test";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    mode: String,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    legacy_percent: bool,
    direction: String,
    #[serde(default)]
    sip: Option<String>,
    #[serde(default)]
    xmpp: Option<String>,
    #[serde(default)]
    error: Option<String>,
    why: String,
}

impl Case {
    fn mode(&self) -> Result<Mode, String> {
        match self.mode.as_str() {
            "same-domain" => Ok(Mode::SameDomain),
            "gateway-subdomain" => Ok(Mode::GatewaySubdomain {
                component: self.component.clone().unwrap_or_else(|| COMPONENT.into()),
                accept_legacy_percent: self.legacy_percent,
            }),
            other => Err(format!("unknown mode {other:?}")),
        }
    }

    /// Checks one direction; `Err` describes the mismatch.
    fn check(&self, mode: &Mode, sip_to_xmpp_dir: bool) -> Result<(), String> {
        let (input, want) = if sip_to_xmpp_dir {
            (&self.sip, &self.xmpp)
        } else {
            (&self.xmpp, &self.sip)
        };
        let input = input.as_deref().ok_or("input column missing")?;
        let got = if sip_to_xmpp_dir {
            SipAddress::parse(input)
                .and_then(|s| super::sip_to_xmpp(mode, &s))
                .map(|j| j.to_string())
        } else {
            XmppAddress::parse(input)
                .and_then(|j| super::xmpp_to_sip(mode, &j))
                .map(|s| s.to_string())
        };
        match (&self.error, got) {
            (Some(e), Err(got)) if got.name() == e => Ok(()),
            (Some(e), got) => Err(format!("expected error {e}, got {got:?}")),
            (None, Ok(got)) if Some(got.as_str()) == want.as_deref() => Ok(()),
            (None, got) => Err(format!("expected {want:?}, got {got:?}")),
        }
    }
}

#[test]
fn every_row_of_mappings_address_toml_holds() {
    let table: Table = toml::from_str(TABLE).expect("mappings/address.toml parses");
    assert!(
        table.case.len() >= 30,
        "the table shrank to {} rows",
        table.case.len()
    );
    let mut failures = Vec::new();
    for (i, case) in table.case.iter().enumerate() {
        let label = format!(
            "row {} ({} {} sip={:?} xmpp={:?}; {})",
            i + 1,
            case.mode,
            case.direction,
            case.sip,
            case.xmpp,
            case.why
        );
        let dirs: &[bool] = match (case.direction.as_str(), &case.error) {
            ("sip-to-xmpp", _) => &[true],
            ("xmpp-to-sip", _) => &[false],
            ("both", None) => &[true, false],
            (d, _) => {
                failures.push(format!("{label}: bad direction {d:?} for this row"));
                continue;
            }
        };
        let mode = match case.mode() {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{label}: {e}"));
                continue;
            }
        };
        for &dir in dirs {
            if let Err(e) = case.check(&mode, dir) {
                let d = if dir { "sip→xmpp" } else { "xmpp→sip" };
                failures.push(format!("{label} {d}: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "address table mismatches:\n{}",
        failures.join("\n")
    );
}

fn gw(legacy: bool) -> Mode {
    Mode::GatewaySubdomain {
        component: COMPONENT.into(),
        accept_legacy_percent: legacy,
    }
}

fn sip(user: &str, host: &str, gr: Option<&str>) -> SipAddress {
    SipAddress {
        secure: false,
        user: Some(user.into()),
        host: host.into(),
        gr: gr.map(Into::into),
    }
}

#[test]
fn jid_parse_splits_resource_first() {
    let j = XmppAddress::parse("a@b/c@d/e").unwrap();
    assert_eq!(j.local.as_deref(), Some("a"));
    assert_eq!(j.domain, "b");
    assert_eq!(j.resource.as_deref(), Some("c@d/e"));
    let j = XmppAddress::parse("b/x@y").unwrap();
    assert_eq!((j.local, j.domain.as_str()), (None, "b"));
    assert_eq!(XmppAddress::parse("a@b/"), Err(AddressError::EmptyResource));
    assert_eq!(XmppAddress::parse("@b"), Err(AddressError::EmptyLocal));
    assert!(matches!(
        XmppAddress::parse("a@"),
        Err(AddressError::InvalidDomain { .. })
    ));
    assert!(matches!(
        XmppAddress::parse(""),
        Err(AddressError::InvalidDomain { .. })
    ));
}

#[test]
fn length_limits_are_1023_bytes() {
    let ok = "a".repeat(MAX_PART_BYTES);
    let long = "a".repeat(MAX_PART_BYTES + 1);
    assert!(sip_to_xmpp(&Mode::SameDomain, &sip(&ok, "x.example", None)).is_ok());
    assert_eq!(
        sip_to_xmpp(&Mode::SameDomain, &sip(&long, "x.example", None)),
        Err(AddressError::LocalTooLong { len: 1024 })
    );
    // Escaping counts: 342 × `'` is 1026 bytes as `\27`.
    assert_eq!(
        sip_to_xmpp(&Mode::SameDomain, &sip(&"'".repeat(342), "x.example", None)),
        Err(AddressError::LocalTooLong { len: 1026 })
    );
    let jid = XmppAddress::parse(&format!("{long}@x.example")).unwrap();
    assert_eq!(
        xmpp_to_sip(&Mode::SameDomain, &jid),
        Err(AddressError::LocalTooLong { len: 1024 })
    );
    assert_eq!(
        sip_to_xmpp(&Mode::SameDomain, &sip("a", "x.example", Some(&long))),
        Err(AddressError::ResourceTooLong { len: 1024 })
    );
    // The host counts in gateway mode.
    let user = "a".repeat(MAX_PART_BYTES - 10);
    assert!(matches!(
        sip_to_xmpp(&gw(false), &sip(&user, "x.example", None)),
        Err(AddressError::LocalTooLong { .. })
    ));
}

#[test]
fn legacy_form_must_fit_once_canonical() {
    // `%` → `\40` grows by two bytes: refuse rather than produce an address
    // that cannot be mapped back.
    let local = format!("{}%x.example", "a".repeat(MAX_PART_BYTES - 11));
    assert_eq!(local.len(), MAX_PART_BYTES - 1);
    let jid = XmppAddress::parse(&format!("{local}@{COMPONENT}")).unwrap();
    assert!(matches!(
        xmpp_to_sip(&gw(true), &jid),
        Err(AddressError::LocalTooLong { .. })
    ));
}

#[test]
fn controls_are_refused_everywhere() {
    let j = XmppAddress::parse("a\u{7}b@x.example").unwrap();
    assert_eq!(
        xmpp_to_sip(&Mode::SameDomain, &j),
        Err(AddressError::ForbiddenChar { ch: '\u{7}' })
    );
    let j = XmppAddress::parse("ab@x.example/r\u{0}").unwrap();
    assert_eq!(
        xmpp_to_sip(&Mode::SameDomain, &j),
        Err(AddressError::ForbiddenChar { ch: '\0' })
    );
    assert_eq!(
        sip_to_xmpp(&Mode::SameDomain, &sip("a\u{85}", "x.example", None)),
        Err(AddressError::ForbiddenChar { ch: '\u{85}' })
    );
}

#[test]
fn wire_parts_decode_and_encode() {
    let s = SipAddress::from_wire("SIP", Some("f%c3%bc"), "X.example", Some("a%20b")).unwrap();
    assert_eq!(s.user.as_deref(), Some("fü"));
    assert_eq!(s.gr.as_deref(), Some("a b"));
    assert_eq!(s.user_wire().as_deref(), Some("f%C3%BC"));
    assert_eq!(s.to_string(), "sip:f%C3%BC@X.example;gr=a%20b");
    assert!(
        SipAddress::from_wire("sips", None, "x", Some(""))
            .unwrap()
            .gr
            .is_none()
    );
    assert_eq!(
        SipAddress::from_wire("im", Some("a"), "x", None),
        Err(AddressError::UnsupportedScheme {
            scheme: "im".into()
        })
    );
    assert_eq!(
        SipAddress::parse("sip:a%zz@x"),
        Err(AddressError::BadPercentEncoding { offset: 1 })
    );
    for bad in ["romeo", "sip:a:pw@x", "sip:a@x:5060", "sip:a@x?subject=hi"] {
        assert!(
            matches!(
                SipAddress::parse(bad),
                Err(AddressError::InvalidSipUri { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(SipAddress::parse("sip:a@[::1];gr").unwrap().host, "[::1]");
}

#[test]
fn escape_helpers_follow_xep_0106() {
    assert_eq!(
        escape_localpart("c:\\cool stuff").unwrap(),
        "c\\3a\\cool\\20stuff"
    );
    assert_eq!(escape_localpart("\\\\").unwrap(), "\\\\");
    assert_eq!(escape_localpart("a\\5c").unwrap(), "a\\5c5c");
    assert_eq!(unescape_localpart("a\\5c5c").unwrap(), "a\\5c");
    assert_eq!(unescape_localpart("foo\\bar").unwrap(), "foo\\bar");
    assert_eq!(unescape_localpart("a\\2").unwrap(), "a\\2");
    assert_eq!(
        unescape_localpart("\\20a"),
        Err(AddressError::EscapedSpaceAtEdge)
    );
    assert_eq!(
        unescape_localpart("a b"),
        Err(AddressError::UnescapedChar { ch: ' ' })
    );
    assert_eq!(escape_localpart(""), Err(AddressError::EmptyLocal));
}

// ---- round-trip properties ---------------------------------------------------

/// Text rich in the characters the mapping treats specially.
fn tricky_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9]{1,3}",
            "[ \"&'/:<>@\\\\%#;?=+$,!~*()\\[\\]^{|}`._-]",
            "\\\\(20|22|26|27|2f|3a|3c|3e|40|5c|2F|5C|2|)",
            "[üß€😀]",
        ],
        1..16,
    )
    .prop_map(|parts| parts.concat())
}

fn host() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]{1,8}(\\.[a-zA-Z0-9-]{0,6}[a-zA-Z0-9]){0,2}"
}

fn modes() -> [Mode; 3] {
    [Mode::SameDomain, gw(false), gw(true)]
}

proptest! {
    /// sip → xmpp → sip gives back the user and gr exactly and the host
    /// lowercased; a mapping fails only for a space at either end.
    #[test]
    fn sip_round_trip(user in tricky_text(), host in host(), gr in prop::option::of(tricky_text())) {
        let src = sip(&user, &host, gr.as_deref());
        prop_assert_eq!(SipAddress::parse(&src.to_string()), Ok(src.clone()));
        for mode in modes() {
            match sip_to_xmpp(&mode, &src) {
                Ok(jid) => {
                    let back = xmpp_to_sip(&mode, &jid);
                    let want = SipAddress { host: host.to_ascii_lowercase(), ..src.clone() };
                    prop_assert_eq!(back, Ok(want), "via {}", jid);
                    prop_assert_eq!(XmppAddress::parse(&jid.to_string()), Ok(jid));
                }
                Err(e) => prop_assert!(
                    e == AddressError::EscapedSpaceAtEdge && (user.starts_with(' ') || user.ends_with(' ')),
                    "{user:?}: {e}"
                ),
            }
        }
    }

    /// xmpp → sip → xmpp reaches the canonical JID, which maps to the same
    /// SIP address again; a JID without backslashes is already canonical.
    #[test]
    fn xmpp_round_trip(local in tricky_text(), host in host(), res in prop::option::of(tricky_text())) {
        for (mode, jid_local) in [
            (Mode::SameDomain, local.clone()),
            (gw(false), format!("{local}\\40{host}")),
            (gw(true), format!("{local}%{host}")),
        ] {
            let domain = match mode { Mode::SameDomain => host.clone(), _ => COMPONENT.to_owned() };
            let jid = XmppAddress { local: Some(jid_local.clone()), domain, resource: res.clone() };
            let Ok(s1) = xmpp_to_sip(&mode, &jid) else { continue };
            let j2 = sip_to_xmpp(&mode, &s1);
            prop_assert!(j2.is_ok(), "{} → {} → {:?}", jid, s1, j2);
            let j2 = j2.unwrap();
            prop_assert_eq!(xmpp_to_sip(&mode, &j2), Ok(s1.clone()));
            prop_assert_eq!(SipAddress::parse(&s1.to_string()), Ok(s1));
            if mode == Mode::SameDomain && !jid_local.contains('\\') {
                prop_assert_eq!(j2.local, Some(jid_local));
                prop_assert_eq!(j2.domain, host.to_ascii_lowercase());
            }
        }
    }
}

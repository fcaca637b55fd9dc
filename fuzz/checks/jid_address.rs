//! Fuzz checks for the SIP ⇄ JID address mapping (RFC 7247 §6, XEP-0106),
//! house style B.13; the checks behind `fuzz_targets/jid_address.rs`.
//!
//! The input, when UTF-8, is tried as a JID, as a SIP user part, as a `gr`
//! value and as a whole SIP URI, in every mode. Properties: nothing panics;
//! whenever one direction accepts an address, the other direction accepts
//! the result and the round trip is exact: sip → xmpp → sip gives back the
//! same address (host lowercased), and xmpp → sip → xmpp reaches a canonical
//! JID that maps to exactly the same SIP address again. Display/parse of both
//! address types round-trips as well.

use cpim_gateway::translate::address::{Mode, SipAddress, XmppAddress, sip_to_xmpp, xmpp_to_sip};

fn modes() -> [Mode; 3] {
    let gateway = |legacy| Mode::GatewaySubdomain {
        component: "cpim.xmpp.test".to_owned(),
        accept_legacy_percent: legacy,
    };
    [Mode::SameDomain, gateway(false), gateway(true)]
}

/// sip → xmpp, and when that succeeds, back again exactly.
fn check_sip(sip: &SipAddress) {
    if let Ok(again) = SipAddress::parse(&sip.to_string()) {
        assert_eq!(&again, sip, "display/parse of {sip}");
    }
    let want = SipAddress {
        host: sip.host.to_ascii_lowercase(),
        ..sip.clone()
    };
    for mode in modes() {
        let Ok(jid) = sip_to_xmpp(&mode, sip) else {
            continue;
        };
        assert_eq!(XmppAddress::parse(&jid.to_string()).as_ref(), Ok(&jid));
        match xmpp_to_sip(&mode, &jid) {
            Ok(back) => assert_eq!(back, want, "{mode:?}: {sip} → {jid} → {back}"),
            Err(e) => panic!("{mode:?}: {sip} → {jid} does not map back: {e}"),
        }
    }
}

/// xmpp → sip → xmpp → sip: the second SIP address equals the first, and
/// the canonical JID is a fixpoint.
fn check_jid(jid: &XmppAddress) {
    for mode in modes() {
        let Ok(sip) = xmpp_to_sip(&mode, jid) else {
            continue;
        };
        let canonical = match sip_to_xmpp(&mode, &sip) {
            Ok(j) => j,
            Err(e) => panic!("{mode:?}: {jid} → {sip} does not map back: {e}"),
        };
        assert_eq!(xmpp_to_sip(&mode, &canonical).as_ref(), Ok(&sip));
        let reparsed = SipAddress::parse(&sip.to_string());
        assert_eq!(reparsed.as_ref(), Ok(&sip), "display/parse of {sip}");
        assert_eq!(sip_to_xmpp(&mode, &sip).as_ref(), Ok(&canonical));
        if matches!(mode, Mode::SameDomain) && !jid.local.as_deref().unwrap_or("").contains('\\') {
            assert_eq!(canonical.local, jid.local, "{jid} is already canonical");
        }
    }
}

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(jid) = XmppAddress::parse(s) {
        assert_eq!(XmppAddress::parse(&jid.to_string()).as_ref(), Ok(&jid));
        check_jid(&jid);
    }
    // As a raw (percent-encoded) SIP user part, and as a gr value.
    if let Ok(sip) = SipAddress::from_wire("sip", Some(s), "Sip.Example", None) {
        check_sip(&sip);
    }
    if let Ok(sip) = SipAddress::from_wire("sip", Some("romeo"), "sip.example", Some(s)) {
        check_sip(&sip);
    }
    // As decoded text (what a JID localpart unescapes to).
    check_sip(&SipAddress {
        secure: false,
        user: Some(s.to_owned()),
        host: "sip.example".to_owned(),
        gr: None,
    });
    if let Ok(sip) = SipAddress::parse(s) {
        check_sip(&sip);
    }
}

//! Fuzz checks for the XMPP stanza views on their own (RFC 6120 §8,
//! `xmpp::stanza`): the input is one stanza after a fixed component stream
//! header, fed whole. Properties: nothing panics; every typed view that
//! accepts the element (message, presence, iq, and the `<error/>` child as
//! `StanzaError`, RFC 6120 §8.3) builds an element that reads back as the
//! same value.

use cpim_gateway::xmpp::stanza::{Iq, Message, Presence, StanzaError};
use cpim_gateway::xmpp::{Element, StreamItem, StreamLimits, StreamParser};

const HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' \
    xmlns:stream='http://etherx.jabber.org/streams' from='cpim.xmpp.test' id='F00D'>";
const NS: &str = "jabber:component:accept";

/// The first stanza of `HEADER` + `bytes`, if one frames.
fn stanza(bytes: &[u8]) -> Option<Element> {
    let mut p = StreamParser::new(StreamLimits::default());
    p.feed(HEADER);
    p.feed(bytes);
    loop {
        match p.next_item() {
            Ok(Some(StreamItem::Stanza(el))) => return Some(el),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Serialises `el` and frames it again.
fn reparse(el: &Element) -> Element {
    let bytes = match el.to_bytes(NS) {
        Ok(b) => b,
        Err(e) => panic!("built stanza does not serialise: {e}"),
    };
    match stanza(&bytes) {
        Some(e) => e,
        None => panic!("re-parse failed:\n{}", String::from_utf8_lossy(&bytes)),
    }
}

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    let Some(el) = stanza(data) else { return };
    if let Ok(m) = Message::parse(&el) {
        let built = m.to_element();
        if built.to_bytes(NS).is_ok() {
            assert_eq!(Message::parse(&reparse(&built)).ok(), Some(m));
        }
    }
    if let Ok(p) = Presence::parse(&el) {
        assert_eq!(Presence::parse(&reparse(&p.to_element())).ok(), Some(p));
    }
    if let Ok(iq) = Iq::parse(&el) {
        assert_eq!(Iq::parse(&reparse(&iq.to_element())).ok(), Some(iq));
    }
    for child in el.children().filter(|c| c.name() == "error") {
        if let Ok(e) = StanzaError::parse(child) {
            let built = e.to_element(NS);
            assert_eq!(StanzaError::parse(&built).ok(), Some(e));
        }
    }
}

//! Fuzz checks for the XMPP stream framer (RFC 6120 §4) and the stanza
//! views (house style B.13; the checks behind `fuzz_targets/xmpp_stream.rs`).
//!
//! The input follows a fixed stream header and is fed in two chunks, split
//! at a position taken from its first byte. Properties: nothing panics;
//! every framed stanza serialises and parses back to an equal `Element`;
//! each typed view (message, presence, iq) that parses round-trips through
//! `to_element`; and a `Jid` that parses round-trips through `Display`.

use cpim_gateway::xmpp::stanza::{Iq, Message, Presence};
use cpim_gateway::xmpp::{Element, Jid, StreamItem, StreamLimits, StreamParser};

const HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' \
    xmlns:stream='http://etherx.jabber.org/streams' from='cpim.xmpp.test' id='3BF96D32'>";
const NS: &str = "jabber:component:accept";

fn reparse(el: &Element) -> Element {
    let bytes = match el.to_bytes(NS) {
        Ok(b) => b,
        Err(e) => panic!("parsed stanza does not serialise: {e}"),
    };
    let mut p = StreamParser::new(StreamLimits::default());
    p.feed(HEADER);
    p.feed(&bytes);
    match (p.next_item(), p.next_item()) {
        (Ok(Some(StreamItem::Header(_))), Ok(Some(StreamItem::Stanza(e)))) => e,
        other => panic!(
            "re-parse failed: {other:?}\n{}",
            String::from_utf8_lossy(&bytes)
        ),
    }
}

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (a, b) = data.split_at(split);
    let mut p = StreamParser::new(StreamLimits::default());
    p.feed(HEADER);
    'chunks: for chunk in [a, b] {
        p.feed(chunk);
        loop {
            match p.next_item() {
                Ok(Some(StreamItem::Stanza(el))) => {
                    assert_eq!(reparse(&el), el);
                    if let Ok(m) = Message::parse(&el) {
                        let built = m.to_element();
                        if built.to_bytes(NS).is_ok() {
                            assert_eq!(Message::parse(&reparse(&built)).ok(), Some(m));
                        }
                    }
                    if let Ok(pr) = Presence::parse(&el) {
                        assert_eq!(Presence::parse(&reparse(&pr.to_element())).ok(), Some(pr));
                    }
                    if let Ok(iq) = Iq::parse(&el) {
                        assert_eq!(Iq::parse(&reparse(&iq.to_element())).ok(), Some(iq));
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) if e.is_fatal() => break 'chunks,
                Err(_) => {}
            }
        }
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(j) = Jid::parse(s)
    {
        assert_eq!(Jid::parse(&j.to_string()), Ok(j));
    }
}

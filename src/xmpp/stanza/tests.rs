//! Stanza view tests: parse ⇄ build round trips, error_reply.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::xmpp::stream::{StreamItem, StreamLimits, StreamParser};

const HEADER: &str = "<stream:stream xmlns='jabber:component:accept' \
    xmlns:stream='http://etherx.jabber.org/streams' id='x'>";

/// Serialise, then frame and parse again as the peer would.
fn wire_round_trip(el: &Element) -> Element {
    let mut p = StreamParser::new(StreamLimits::default());
    p.feed(HEADER.as_bytes());
    p.feed(&el.to_bytes(NS_COMPONENT).unwrap());
    assert!(matches!(p.next_item(), Ok(Some(StreamItem::Header(_)))));
    match p.next_item() {
        Ok(Some(StreamItem::Stanza(e))) => e,
        other => panic!("{other:?}"),
    }
}

fn jid(s: &str) -> Jid {
    Jid::parse(s).unwrap()
}

fn full_message() -> Message {
    Message {
        from: Some(jid("romeo@cpim.xmpp.test")),
        to: Some(jid("juliet@capulet.lit/balcony")),
        id: Some("m-1".into()),
        kind: MessageType::Chat,
        lang: Some("en".into()),
        bodies: vec![
            LangText::new("hi <there> & \"you\""),
            LangText {
                lang: Some("fr".into()),
                text: "salut\r\n".into(),
            },
        ],
        subjects: vec![LangText::new("subj")],
        thread: Some(Thread {
            id: "call-id@host".into(),
            parent: Some("p".into()),
        }),
        html: Some(
            Element::new("html", NS_XHTML_IM).with_child(
                Element::new("body", "http://www.w3.org/1999/xhtml")
                    .with_child(Element::new("p", "http://www.w3.org/1999/xhtml").with_text("hi"))
                    .with_text(" tail"),
            ),
        ),
        e2e: Some("Content-Type: multipart/signed\r\n\r\n]]> x".into()),
        chat_state: Some(ChatState::Composing),
        receipt_request: true,
        error: None,
        extensions: vec![
            Element::new("delay", "urn:xmpp:delay").with_attr("stamp", "2002-09-10T23:08:25Z"),
        ],
    }
}

#[test]
fn message_round_trip() {
    let m = full_message();
    let el = m.to_element();
    assert_eq!(Message::parse(&el).unwrap(), m);
    assert_eq!(Message::parse(&wire_round_trip(&el)).unwrap(), m);
    assert_eq!(m.body(), Some("hi <there> & \"you\""));
    for kind in [
        MessageType::Normal,
        MessageType::Groupchat,
        MessageType::Headline,
    ] {
        let m = Message {
            kind,
            ..Message::default()
        };
        assert_eq!(
            Message::parse(&wire_round_trip(&m.to_element())).unwrap(),
            m
        );
    }
    let mut err = Message::chat(jid("a@cpim.xmpp.test"), jid("b@x.test"), "x");
    err.kind = MessageType::Error;
    err.error = Some(StanzaError {
        kind: ErrorType::Cancel,
        condition: ErrorCondition::Gone,
        text: Some("moved".into()),
        gone_uri: Some("xmpp:b@y.test".into()),
        by: Some("x.test".into()),
    });
    assert_eq!(
        Message::parse(&wire_round_trip(&err.to_element())).unwrap(),
        err
    );
}

#[test]
fn e2e_alt_namespace_accepted_first_emitted() {
    let el = Element::new("message", NS_CLIENT)
        .with_child(Element::new("e2e", NS_E2E_ALT).with_text("payload"));
    let m = Message::parse(&el).unwrap();
    assert_eq!(m.e2e.as_deref(), Some("payload"));
    let wire = String::from_utf8(m.to_element().to_bytes(NS_COMPONENT).unwrap()).unwrap();
    assert!(
        wire.contains("<e2e xmlns='urn:ietf:params:xml:ns:xmpp-e2e'><![CDATA[payload]]></e2e>"),
        "{wire}"
    );
}

#[test]
fn every_chat_state_and_condition_round_trips() {
    for cs in [
        ChatState::Active,
        ChatState::Composing,
        ChatState::Paused,
        ChatState::Inactive,
        ChatState::Gone,
    ] {
        let m = Message {
            chat_state: Some(cs),
            ..Message::default()
        };
        assert_eq!(
            Message::parse(&wire_round_trip(&m.to_element())).unwrap(),
            m
        );
    }
    for &c in ErrorCondition::ALL {
        for kind in [
            ErrorType::Auth,
            ErrorType::Cancel,
            ErrorType::Continue,
            ErrorType::Modify,
            ErrorType::Wait,
        ] {
            let e = StanzaError::new(kind, c).with_text("t");
            let back = StanzaError::parse(&e.to_element(NS_COMPONENT)).unwrap();
            assert_eq!(back, e);
        }
    }
    assert_eq!(ErrorCondition::ALL.len(), 22);
}

#[test]
fn presence_round_trip() {
    let p = Presence {
        from: Some(jid("romeo@cpim.xmpp.test/sip")),
        to: Some(jid("juliet@capulet.lit")),
        id: Some("p1".into()),
        kind: PresenceType::Available,
        lang: None,
        show: Some(Show::Dnd),
        statuses: vec![
            LangText::new("busy"),
            LangText {
                lang: Some("de".into()),
                text: "beschäftigt".into(),
            },
        ],
        priority: Some(-128),
        error: None,
        extensions: vec![],
    };
    assert_eq!(
        Presence::parse(&wire_round_trip(&p.to_element())).unwrap(),
        p
    );
    for kind in [
        PresenceType::Unavailable,
        PresenceType::Subscribe,
        PresenceType::Subscribed,
        PresenceType::Unsubscribe,
        PresenceType::Unsubscribed,
        PresenceType::Probe,
    ] {
        let p = Presence {
            kind,
            priority: Some(127),
            ..Presence::default()
        };
        assert_eq!(
            Presence::parse(&wire_round_trip(&p.to_element())).unwrap(),
            p
        );
    }
    let bad = Element::new("presence", NS_COMPONENT)
        .with_child(Element::new("priority", NS_COMPONENT).with_text("128"));
    assert!(matches!(
        Presence::parse(&bad),
        Err(StanzaParseError::BadPriority(_))
    ));
}

#[test]
fn iq_round_trip_ping_and_disco() {
    let ping = Iq::ping(jid("cpim.xmpp.test"), jid("xmpp.test"), "p1");
    assert_eq!(
        Iq::parse(&wire_round_trip(&ping.to_element())).unwrap(),
        ping
    );
    let disco = ping.result(Some(
        Element::new("query", NS_DISCO_INFO).with_child(
            Element::new("identity", NS_DISCO_INFO)
                .with_attr("category", "gateway")
                .with_attr("type", "sip"),
        ),
    ));
    assert_eq!(disco.to, Some(jid("cpim.xmpp.test")));
    assert_eq!(
        Iq::parse(&wire_round_trip(&disco.to_element())).unwrap(),
        disco
    );
    let no_id = Element::new("iq", NS_COMPONENT).with_attr("type", "get");
    assert_eq!(Iq::parse(&no_id), Err(StanzaParseError::MissingId));
    let two = Element::new("iq", NS_COMPONENT)
        .with_attr("type", "set")
        .with_attr("id", "1")
        .with_child(Element::new("a", "x"))
        .with_child(Element::new("b", "x"));
    assert!(matches!(
        Iq::parse(&two),
        Err(StanzaParseError::IqPayload("set"))
    ));
}

#[test]
fn error_reply_swaps_and_keeps_id() {
    let ping = Iq::ping(jid("juliet@capulet.lit/b"), jid("cpim.xmpp.test"), "q7").to_element();
    let r = error_reply(
        &ping,
        ErrorType::Cancel,
        ErrorCondition::ServiceUnavailable,
        Some("nope"),
    )
    .unwrap();
    let iq = Iq::parse(&r).unwrap();
    assert_eq!(iq.kind, IqType::Error);
    assert_eq!(iq.id, "q7");
    assert_eq!(iq.from, Some(jid("cpim.xmpp.test")));
    assert_eq!(iq.to, Some(jid("juliet@capulet.lit/b")));
    assert_eq!(iq.payload.as_ref().map(Element::name), Some("ping"));
    let e = iq.error.unwrap();
    assert_eq!(
        (e.kind, e.condition, e.text.as_deref()),
        (
            ErrorType::Cancel,
            ErrorCondition::ServiceUnavailable,
            Some("nope")
        )
    );

    let msg = Message::chat(jid("a@x.test"), jid("b@cpim.xmpp.test"), "hi");
    let mut msg = msg;
    msg.id = Some("m9".into());
    let r = error_reply(
        &msg.to_element(),
        ErrorType::Modify,
        ErrorCondition::PolicyViolation,
        None,
    )
    .unwrap();
    let m = Message::parse(&r).unwrap();
    assert_eq!(
        (m.kind, m.id.as_deref(), m.bodies.len()),
        (MessageType::Error, Some("m9"), 0)
    );
    assert_eq!(m.error.unwrap().condition, ErrorCondition::PolicyViolation);
    assert_eq!(
        error_reply(&r, ErrorType::Cancel, ErrorCondition::BadRequest, None),
        Err(StanzaParseError::ErrorToError)
    );
}

proptest::proptest! {
    #[test]
    fn message_text_round_trips(body in "\\PC{0,40}", subj in "[ -~\r\n\t]{0,20}", e2e in "[ -~\r\n\\]>]{0,60}") {
        let m = Message {
            bodies: vec![LangText::new(body)],
            subjects: vec![LangText::new(subj)],
            e2e: Some(e2e),
            ..Message::default()
        };
        let el = m.to_element();
        if el.to_bytes(NS_COMPONENT).is_ok() {
            proptest::prop_assert_eq!(Message::parse(&wire_round_trip(&el)).unwrap(), m);
        }
    }
}

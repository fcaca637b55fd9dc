//! Rich content across the XMPP boundary against real peers: a sipp UAC's
//! isComposing and text/html reach a slixmpp client as a XEP-0085
//! `<composing/>` and as `<body>` plus XEP-0071 XHTML-IM; a slixmpp
//! client's `<composing/>` reaches a sipp UAS as an RFC 3994 `active`
//! with a `<refresh>`, and the content that follows ends it without an
//! `idle`.

use std::time::{Duration, Instant};

use crate::common::prosody::Prosody;
use crate::common::*;

fn section(p: &Prosody) -> String {
    format!(
        "[xmpp]\nserver = \"127.0.0.1:{}\"\ncomponent = \"cpim.xmpp.test\"\nsecret = \"cpim-secret\"\n\
         domains = [\"xmpp.test\"]\nerror_window_ms = 300\n",
        p.component_port
    )
}

fn wait_link(gw: &Gateway) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if gw.metrics().get("xmpp_link_up").copied() == Some(1) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("xmpp link did not come up:\n{}", gw.log());
}

#[test]
fn sip_iscomposing_and_html_reach_the_xmpp_client_as_chat_state_and_xhtml_im() {
    let dir = scratch_dir("xmpp-rich-in");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let gw = Gateway::start("xmpp-rich-in", "", &section(&prosody));
    wait_link(&gw);
    let bob = prosody.spawn_client(
        "bob@xmpp.test",
        "bobpass",
        &[
            "--all-messages",
            "--expect-messages",
            "2",
            "--timeout",
            "20",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mut uac = Sipp::start(&dir, "uac_rich", &uac_args(gw.addr(), "xmpp.test", 1, 15));
    assert!(
        uac.wait(Duration::from_secs(20)).success(),
        "sipp UAC: {}\n{}",
        uac.errors_log(),
        gw.log()
    );
    let out = bob.wait_with_output().expect("bob");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bob: {stdout}\n{}", prosody.log());
    let msgs: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("\"event\": \"message\""))
        .collect();
    assert_eq!(msgs.len(), 2, "{stdout}");
    // 1. isComposing active → <composing/>, no body.
    assert!(
        msgs[0].contains("\"chat_state\": \"composing\"") && msgs[0].contains("\"body\": \"\""),
        "{}",
        msgs[0]
    );
    // 2. text/html → plain body + XHTML-IM (script gone, <b> → <strong>).
    assert!(
        msgs[1].contains("\"body\": \"Hello bob, from alice\""),
        "{}",
        msgs[1]
    );
    assert!(
        msgs[1].contains("strong>bob</") && msgs[1].contains("em>alice</"),
        "xhtml-im: {}",
        msgs[1]
    );
    assert!(!msgs[1].contains("alert"), "{}", msgs[1]);
    assert!(
        msgs.iter()
            .all(|m| m.contains("alice\\\\40sip.test@cpim.xmpp.test")),
        "{stdout}"
    );
    // Both MESSAGEs became stanzas (the 60 s receiver timeout the content
    // cancels is covered in virtual time by gateway::tests::composing).
    assert_eq!(gw.metrics().get("messages_to_xmpp_total"), Some(&2));
}

#[test]
fn xmpp_composing_reaches_a_sipp_uas_as_iscomposing_and_content_ends_it() {
    let dir = scratch_dir("xmpp-rich-out");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let uas_port = free_port();
    let gw = Gateway::start(
        "xmpp-rich-out",
        "",
        &format!(
            "{}\n[[route]]\ndomain = \"example.test\"\nvia = \"sip:127.0.0.1:{uas_port}\"\n",
            section(&prosody)
        ),
    );
    wait_link(&gw);
    let mut uas = Sipp::start(
        &dir,
        "uas_message",
        &[
            "-p".into(),
            uas_port.to_string(),
            "-m".into(),
            "2".into(),
            "-timeout".into(),
            "20s".into(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let to = "romeo\\40example.test@cpim.xmpp.test";
    let out = prosody.client(
        "alice@xmpp.test",
        "alicepass",
        &[
            "--send-state",
            &format!("{to}=composing"),
            "--send-state",
            &format!("{to}=composing"),
            "--send-gap",
            "0.3",
            "--send",
            &format!("{to}=typed it"),
            "--type",
            "chat",
            "--linger",
            "3",
            "--timeout",
            "12",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        uas.wait(Duration::from_secs(15)).success(),
        "{}\n{stdout}\n{}",
        uas.errors_log(),
        gw.log()
    );
    let got: Vec<String> = sipp_logged_messages(&uas.messages_log(), true)
        .into_iter()
        .filter(|m| m.starts_with("MESSAGE "))
        .collect();
    // The duplicate <composing/> is not sent again; the content follows
    // without an idle in between (RFC 3994 §3.2).
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        header_of(&got[0], "Content-Type"),
        Some("application/im-iscomposing+xml")
    );
    let doc = body_of(&got[0]);
    assert!(
        doc.contains("<state>active</state>") && doc.contains("<refresh>90</refresh>"),
        "{doc}"
    );
    assert_eq!(
        header_of(&got[1], "Content-Type"),
        Some("text/plain; charset=UTF-8")
    );
    assert!(body_of(&got[1]).contains("typed it"));
    assert!(
        !stdout.contains("message_error"),
        "no error for chat states: {stdout}"
    );
    assert_eq!(gw.metrics().get("composing_suppressed_total"), Some(&1));
}

//! Self-test of the XMPP interop harness: the real Prosody this harness
//! starts carries a message between two logged-in slixmpp clients, so an
//! XMPP test failure elsewhere is about the gateway, not the peers.

use std::time::Duration;

use crate::common::prosody::Prosody;
use crate::common::*;

#[test]
fn prosody_carries_a_message_between_two_slixmpp_clients() {
    let dir = scratch_dir("prosody-self");
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let bob = prosody.spawn_client(
        "bob@xmpp.test",
        "bobpass",
        &["--expect-messages", "1", "--timeout", "20"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let sent = prosody.client(
        "alice@xmpp.test",
        "alicepass",
        &[
            "--send",
            "bob@xmpp.test=hello bob",
            "--linger",
            "1",
            "--timeout",
            "10",
        ],
    );
    assert!(
        sent.status.success(),
        "alice: {}\n{}",
        String::from_utf8_lossy(&sent.stdout),
        String::from_utf8_lossy(&sent.stderr)
    );
    let out = bob.wait_with_output().expect("bob");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bob did not get the message: {stdout}\n{}\nprosody:\n{}",
        String::from_utf8_lossy(&out.stderr),
        prosody.log()
    );
    assert!(
        stdout.contains("\"body\": \"hello bob\"") || stdout.contains("\"body\":\"hello bob\""),
        "{stdout}"
    );
}

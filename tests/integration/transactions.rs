//! RFC 3261 transactions seen from outside: a retransmitted MESSAGE is
//! relayed once and answered from the stored final; a next hop that never
//! answers gives the sender 408 when Timer F fires (T1 shortened to 50 ms
//! by config, so Timer F is 3.2 s).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::*;

#[test]
fn udp_retransmission_with_same_branch_is_relayed_once() {
    let uas = UdpPeer::bind();
    let gw = Gateway::start(
        "retrans",
        "",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:{}\"\n",
            uas.addr()
        ),
    );
    let uac = UdpPeer::bind();
    let req = request(
        "MESSAGE",
        "sip:bob@example.test",
        uac.addr(),
        "z9hG4bKretr1",
        &[("Content-Type", "text/plain")],
        b"once",
    );
    for _ in 0..3 {
        uac.send(&req, gw.addr());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Everything the next hop sees in 1.2 s: the relayed MESSAGE and the
    // gateway's own Timer E retransmissions of it, all with one branch.
    let got = uas.recv_all(Duration::from_millis(1200));
    assert!(!got.is_empty(), "relayed MESSAGE arrives");
    let branches: BTreeSet<String> = got
        .iter()
        .map(|(raw, _)| {
            let (head, _) = split_message(raw);
            let via = head
                .lines()
                .find(|l| l.starts_with("Via:"))
                .unwrap()
                .to_string();
            via.split("branch=")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        branches.len(),
        1,
        "one outbound transaction for three copies of the request"
    );
    // No response before the final (the server transaction is in Trying).
    assert!(uac.recv(Duration::from_millis(100)).is_none());
    let (raw, from) = &got[0];
    uas.send(&answer(raw, "200 OK"), *from);
    assert_eq!(uac.recv_status(Duration::from_secs(3)), Some(200));
    // A late retransmission is answered from the stored final response.
    uac.send(&req, gw.addr());
    assert_eq!(uac.recv_status(Duration::from_secs(3)), Some(200));
    assert!(
        uas.recv(Duration::from_millis(300)).is_none(),
        "nothing more relayed"
    );
    let m = gw.metrics();
    assert_eq!(m.get("messages_relayed_total"), Some(&1));
    assert_eq!(m.get("sip_retransmissions_absorbed_total"), Some(&3));
}

#[test]
fn silent_next_hop_gives_sipp_uac_408_after_timer_f() {
    let dir = scratch_dir("timer-f");
    let silent = UdpPeer::bind();
    let gw = Gateway::start(
        "timer-f",
        "t1_ms = 50\nt2_ms = 400\n",
        &format!(
            "[[route]]\ndomain = \"example.test\"\nvia = \"sip:{}\"\n",
            silent.addr()
        ),
    );
    let started = std::time::Instant::now();
    let mut uac = Sipp::start(
        &dir,
        "uac_message_408",
        &uac_args(gw.addr(), "example.test", 1, 20),
    );
    let st = uac.wait(Duration::from_secs(25));
    let took = started.elapsed();
    assert!(
        st.success(),
        "sipp UAC did not get 408: {st}\n{}\n{}",
        uac.errors_log(),
        gw.log()
    );
    // Timer F = 64 × 50 ms = 3.2 s: not earlier (sipp's own timeout is 20 s).
    assert!(
        took >= Duration::from_millis(3200),
        "408 came after {took:?}"
    );
    assert_eq!(gw.wait_metric("messages_timeout_total", 1), 1);
    // The silent hop saw the gateway's Timer E retransmissions (T1 = 50 ms).
    // Timer E fires at 50, 150, 350, 750 ms, then every T2 = 400 ms up to 3.2 s.
    let seen = silent.recv_all(Duration::from_millis(100));
    assert!(
        seen.len() >= 8,
        "first send plus Timer E retransmissions, got {}",
        seen.len()
    );
}

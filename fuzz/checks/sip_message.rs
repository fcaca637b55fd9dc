//! Fuzz checks for the SIP message facade (house style rule 13): `parse`
//! as UDP and as TCP, `frame` and `salvage` must never panic, and every
//! message that parses must survive encode → parse with the same start line,
//! header list (Content-Length aside, since `encode` recomputes it) and body.

use cpim_gateway::sip::{Limits, Message, Transport, frame, parse, salvage};

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    let limits = Limits::default();
    let _ = frame(data, &limits);
    if let Some(s) = salvage(data) {
        let _ = s.response(cpim_gateway::sip::StatusCode::BAD_REQUEST, Some("fuzz"));
    }
    for transport in [Transport::Udp, Transport::Tcp] {
        if let Ok(msg) = parse(data.to_vec().into(), transport, &limits) {
            round_trip(&msg, &limits);
        }
    }
}

fn round_trip(msg: &Message, limits: &Limits) {
    let mut out = Vec::new();
    msg.encode(&mut out);
    let again = match parse(out.into(), Transport::Tcp, limits) {
        Ok(m) => m,
        Err(e) => panic!("re-parse failed: {e}"),
    };
    match (msg, &again) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!(a.method(), b.method());
            assert_eq!(a.uri(), b.uri());
            assert_eq!(headers(a.headers()), headers(b.headers()));
            assert_eq!(a.body(), b.body());
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!(a.status(), b.status());
            assert_eq!(a.reason(), b.reason());
            assert_eq!(headers(a.headers()), headers(b.headers()));
            assert_eq!(a.body(), b.body());
        }
        _ => panic!("request/response changed on round trip"),
    }
}

/// Header list without Content-Length, which `encode` recomputes and moves
/// to the end.
fn headers<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    it.filter(|(n, _)| !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("l"))
        .collect()
}

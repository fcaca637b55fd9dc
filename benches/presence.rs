//! Presence scale benchmark (issue 5): memory per active subscription in
//! both directions, measured with `PRESENCE_BENCH_N` (default 100,000)
//! subscriptions each, and the core's SUBSCRIBE → 200 handling rate.
//!
//! The core runs in virtual time with no sockets: every SUBSCRIBE, NOTIFY
//! and response goes through the real parser, transaction layer,
//! subscription tables and record encoding. Memory is the growth of the
//! process's resident set (`/proc/self/statm`) from before the first
//! subscription to after the last one, once every transaction has expired
//! (Timers J/K), divided by the number of subscriptions. Virtual time moves
//! 33 s after every 1,000 subscriptions so that finished transactions are
//! freed as they would be at a steady rate; the allocator may still keep
//! some freed memory, so the figure is an upper bound.
//!
//! `cargo bench --bench presence` (release build); prints one table.
//! Under `cargo test --all-targets` it runs with 2,000 as a smoke test.

#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cpim_gateway::gateway::{Gateway, Output};
use cpim_gateway::sip::{Limits, Message, StatusCode, Transport, parse};

const PIDF: &str = "<?xml version='1.0' encoding='UTF-8'?>\
<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:a@sip.test'>\
<tuple id='t1'><status><basic>open</basic></status><note>here</note></tuple></presence>";

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

struct Core {
    gw: Gateway,
    now: Instant,
    limits: Limits,
}

impl Core {
    fn new(n: usize) -> Core {
        let cfg = cpim_gateway::config::Config::parse(
            &format!(
                "[gateway]\nnode_id = \"bench\"\nrng_seed = 1\n\
                 [[peer]]\nname = \"p\"\naddresses = [\"127.0.0.1\"]\ndomains = [\"sip.test\"]\n\
                 [[route]]\ndomain = \"sip.test\"\nvia = \"sip:127.0.0.1:5070\"\n\
                 [xmpp]\nserver = \"127.0.0.1:5347\"\ncomponent = \"cpim.xmpp.test\"\nsecret = \"s\"\n\
                 domains = [\"xmpp.test\"]\nping_interval_s = 3600\n\
                 [presence]\nmax_total = {}\nmax_per_presentity = {}\n\
                 max_expires_s = 86400\ndefault_expires_s = 86400\n",
                n * 3,
                n
            ),
            "bench",
        )
        .expect("config");
        let mut core = Core {
            gw: Gateway::new(cpim_gateway::io::gateway_config(&cfg)),
            now: Instant::now(),
            limits: Limits::default(),
        };
        core.gw.handle_timeout(core.now);
        core.drain();
        core.gw.handle_xmpp_connected(core.now, 1);
        core.gw.handle_xmpp_bytes(
            core.now,
            1,
            b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' \
              xmlns='jabber:component:accept' from='cpim.xmpp.test' id='x'>",
        );
        core.gw.handle_xmpp_bytes(core.now, 1, b"<handshake/>");
        core.drain();
        assert!(core.gw.xmpp_online());
        core
    }

    /// Drains outputs; returns the SIP requests sent.
    fn drain(&mut self) -> Vec<cpim_gateway::sip::Request> {
        let mut reqs = Vec::new();
        while let Some(o) = self.gw.poll_output() {
            match o {
                Output::SendSip(t) => {
                    if let Ok(Message::Request(r)) = parse(t.payload, t.transport, &self.limits) {
                        reqs.push(r);
                    }
                }
                Output::Timeout(_) => break,
                _ => {}
            }
        }
        reqs
    }

    fn sip(&mut self, from: SocketAddr, bytes: Vec<u8>) -> Vec<cpim_gateway::sip::Request> {
        self.gw
            .handle_sip(self.now, from, Transport::Udp, Bytes::from(bytes));
        self.drain()
    }

    fn answer(
        &mut self,
        from: SocketAddr,
        req: &cpim_gateway::sip::Request,
        extra: &[(&str, &str)],
    ) {
        let mut r = req.response(StatusCode::OK, Some("pa1"));
        for (n, v) in extra {
            r.push_header(*n, *v);
        }
        let mut buf = Vec::new();
        r.encode(&mut buf);
        self.sip(from, buf);
    }

    /// Lets every transaction finish and expire.
    fn settle(&mut self) {
        for _ in 0..40 {
            self.now += Duration::from_secs(1);
            self.gw.handle_timeout(self.now);
            self.drain();
        }
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // as a smoke test with a small count.
    let default_n = if std::env::args().any(|a| a == "--bench") {
        100_000
    } else {
        2_000
    };
    let n: usize = std::env::var("PRESENCE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_n);
    let uac: SocketAddr = "127.0.0.1:5081".parse().unwrap();
    let pa: SocketAddr = "127.0.0.1:5070".parse().unwrap();
    let mut core = Core::new(n);
    core.settle();
    let base = rss_bytes();

    // SIP watchers of XMPP users: SUBSCRIBE → 200 + NOTIFY pending → 200.
    let started = Instant::now();
    for i in 0..n {
        let sub = format!(
            "SUBSCRIBE sip:u{}@xmpp.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKs{i}\r\n\
             From: <sip:w{i}@sip.test>;tag=w{i}\r\nTo: <sip:u{}@xmpp.test>\r\nCall-ID: c{i}@uac\r\n\
             CSeq: 1 SUBSCRIBE\r\nContact: <sip:w{i}@127.0.0.1:5081>\r\nEvent: presence\r\nExpires: 86400\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            i % 1000,
            i % 1000
        );
        for notify in core.sip(uac, sub.into_bytes()) {
            core.answer(uac, &notify, &[]);
        }
        if i % 1000 == 999 {
            // Let the finished transactions of this batch expire (Timer J
            // is 32 s) so that the figure is the subscriptions' own memory;
            // subscriptions last a day, so none expires during the run.
            core.now += Duration::from_secs(33);
            core.gw.handle_timeout(core.now);
            core.drain();
        }
    }
    let elapsed = started.elapsed();
    core.settle();
    let after_in = rss_bytes();
    let counts = core.gw.subscription_counts();
    assert_eq!(
        counts.inbound_pending as usize, n,
        "every SIP watcher subscribed"
    );

    // XMPP watchers of SIP presentities: subscribe → SUBSCRIBE → 200 →
    // NOTIFY active with PIDF → 200.
    let started_out = Instant::now();
    for i in 0..n {
        let stanza = format!(
            "<presence type='subscribe' from='x{i}@xmpp.test' to='a{}\\40sip.test@cpim.xmpp.test'/>",
            i % 1000
        );
        core.gw.handle_xmpp_bytes(core.now, 1, stanza.as_bytes());
        for sub in core.drain() {
            core.answer(pa, &sub, &[("Expires", "86400")]);
            let notify = format!(
                "NOTIFY sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKn{i}\r\n\
                 From: <sip:a@sip.test>;tag=pa1\r\nTo: {};tag={}\r\nCall-ID: {}\r\nCSeq: 1 NOTIFY\r\n\
                 Contact: <sip:pa@127.0.0.1:5070>\r\nEvent: presence\r\nSubscription-State: active;expires=86400\r\n\
                 Max-Forwards: 70\r\nContent-Type: application/pidf+xml\r\nContent-Length: {}\r\n\r\n{PIDF}",
                sub.from().uri().as_str(),
                sub.from().tag().unwrap_or(""),
                sub.call_id(),
                PIDF.len()
            );
            core.sip(pa, notify.into_bytes());
        }
        if i % 1000 == 999 {
            // Let the finished transactions of this batch expire (Timer J
            // is 32 s) so that the figure is the subscriptions' own memory;
            // subscriptions last a day, so none expires during the run.
            core.now += Duration::from_secs(33);
            core.gw.handle_timeout(core.now);
            core.drain();
        }
    }
    let elapsed_out = started_out.elapsed();
    core.settle();
    let after_out = rss_bytes();
    let counts = core.gw.subscription_counts();
    assert_eq!(
        counts.outbound_active as usize, n,
        "every XMPP watcher active"
    );

    let per_in = after_in.saturating_sub(base) as f64 / n as f64;
    let per_out = after_out.saturating_sub(after_in) as f64 / n as f64;
    println!("presence scale, {n} subscriptions per direction (release build, one core)");
    println!("| direction | RSS growth | bytes per subscription | handling rate |");
    println!("|---|---|---|---|");
    println!(
        "| SIP watcher → XMPP (SUBSCRIBE → 200 + NOTIFY pending → 200) | {:.1} MiB | {per_in:.0} | {:.0} SUBSCRIBE/s |",
        after_in.saturating_sub(base) as f64 / 1048576.0,
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "| XMPP watcher → SIP (subscribe → SUBSCRIBE → 200 → NOTIFY active → 200) | {:.1} MiB | {per_out:.0} | {:.0} subscriptions/s |",
        after_out.saturating_sub(after_in) as f64 / 1048576.0,
        n as f64 / elapsed_out.as_secs_f64()
    );
}

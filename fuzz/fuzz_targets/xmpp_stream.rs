//! libFuzzer entry for the `xmpp_stream` checks (`fuzz/checks/xmpp_stream.rs`, where the
//! properties are documented); `fuzz/regressions/xmpp_stream/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::xmpp_stream::check(data));

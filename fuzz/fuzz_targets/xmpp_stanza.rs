//! libFuzzer entry for the `xmpp_stanza` checks (`fuzz/checks/xmpp_stanza.rs`, where the
//! properties are documented); `fuzz/regressions/xmpp_stanza/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::xmpp_stanza::check(data));

//! libFuzzer entry for the `jid_address` checks (`fuzz/checks/jid_address.rs`, where the
//! properties are documented); `fuzz/regressions/jid_address/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::jid_address::check(data));

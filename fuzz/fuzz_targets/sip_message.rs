//! libFuzzer entry for the `sip_message` checks (`fuzz/checks/sip_message.rs`, where the
//! properties are documented); `fuzz/regressions/sip_message/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::sip_message::check(data));

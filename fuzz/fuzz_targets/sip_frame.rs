//! libFuzzer entry for the `sip_frame` checks (`fuzz/checks/sip_frame.rs`, where the
//! properties are documented); `fuzz/regressions/sip_frame/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::sip_frame::check(data));

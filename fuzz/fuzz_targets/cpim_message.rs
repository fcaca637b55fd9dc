//! libFuzzer entry for the `cpim_message` checks (`fuzz/checks/cpim_message.rs`, where the
//! properties are documented); `fuzz/regressions/cpim_message/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::cpim_message::check(data));

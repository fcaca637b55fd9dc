//! libFuzzer entry for the `pidf` checks (`fuzz/checks/pidf.rs`, where the
//! properties are documented); `fuzz/regressions/pidf/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pidf::check(data));

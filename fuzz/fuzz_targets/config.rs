//! libFuzzer entry for the `config` checks (`fuzz/checks/config.rs`, where the
//! properties are documented); `fuzz/regressions/config/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::config::check(data));

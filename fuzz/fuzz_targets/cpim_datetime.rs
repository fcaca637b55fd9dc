//! libFuzzer entry for the `cpim_datetime` checks (`fuzz/checks/cpim_datetime.rs`, where the
//! properties are documented); `fuzz/regressions/cpim_datetime/` replays through the
//! same function under `cargo test`.
#![no_main]

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::cpim_datetime::check(data));

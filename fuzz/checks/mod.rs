//! The fuzz properties, one module per cargo-fuzz target, as plain
//! functions over `&[u8]` that panic on a violated property (house style
//! B.13). Each `fuzz_targets/<name>.rs` is a one-line libFuzzer wrapper
//! around `<name>::check`; `tests/integration/fuzz_regressions.rs` includes
//! this same file with `#[path]` and replays every input in
//! `fuzz/regressions/<name>/` through [`run`] under `cargo test`, without
//! libFuzzer.
#![allow(dead_code)]

pub mod config;
pub mod cpim_datetime;
pub mod cpim_message;
pub mod jid_address;
pub mod pidf;
pub mod sip_frame;
pub mod sip_message;
pub mod xmpp_stanza;
pub mod xmpp_stream;

/// Every target name, as registered in `fuzz/Cargo.toml`.
pub const TARGETS: &[&str] = &[
    "config",
    "cpim_datetime",
    "cpim_message",
    "jid_address",
    "pidf",
    "sip_frame",
    "sip_message",
    "xmpp_stanza",
    "xmpp_stream",
];

/// Runs target `name`'s checks on `data`; `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "config" => config::check(data),
        "cpim_datetime" => cpim_datetime::check(data),
        "cpim_message" => cpim_message::check(data),
        "jid_address" => jid_address::check(data),
        "pidf" => pidf::check(data),
        "sip_frame" => sip_frame::check(data),
        "sip_message" => sip_message::check(data),
        "xmpp_stanza" => xmpp_stanza::check(data),
        "xmpp_stream" => xmpp_stream::check(data),
        _ => return false,
    }
    true
}

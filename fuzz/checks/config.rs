//! Fuzz checks for the configuration reader (`Config::parse`, TOML plus
//! validation): it never panics on any text, and every error it returns
//! names the origin and a 1-based line and column inside the input (or
//! just past its end), so an operator can find the fault.

use cpim_gateway::config::Config;

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Config::parse(src, "fuzz") {
        let lines = src.split('\n').count();
        assert!(e.line() >= 1, "line is 1-based: {e}");
        assert!(e.column() >= 1, "column is 1-based: {e}");
        assert!(e.line() <= lines + 1, "line {} of {lines}: {e}", e.line());
        assert_eq!(e.origin(), "fuzz");
        assert!(
            e.to_string().contains("fuzz"),
            "message names the file: {e}"
        );
    }
}

//! Fuzz checks for the CPIM `DateTime` reader (RFC 3862 §5.4, RFC 3339
//! §5.6 `date-time`): parsing never panics; an accepted value has every
//! field in range, converts to Unix seconds without overflow, and the same
//! instant written canonically (`YYYY-MM-DDTHH:MM:SS[.f]±HH:MM`) parses to
//! the same fields.

use cpim_gateway::cpim::DateTime;

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Some(dt) = DateTime::parse(s) else {
        return;
    };
    assert!((1..=12).contains(&dt.month), "{s:?}");
    assert!((1..=31).contains(&dt.day), "{s:?}");
    assert!(dt.hour <= 23 && dt.minute <= 59 && dt.second <= 60, "{s:?}");
    assert!(dt.nanos < 1_000_000_000, "{s:?}");
    assert!(dt.offset_minutes.unsigned_abs() < 24 * 60, "{s:?}");
    let _ = dt.unix_seconds();
    let sign = if dt.offset_minutes < 0 { '-' } else { '+' };
    let off = dt.offset_minutes.unsigned_abs();
    let canonical = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{sign}{:02}:{:02}",
        dt.year,
        dt.month,
        dt.day,
        dt.hour,
        dt.minute,
        dt.second,
        dt.nanos,
        off / 60,
        off % 60
    );
    match DateTime::parse(&canonical) {
        Some(again) => assert_eq!(again, dt, "{s:?} → {canonical}"),
        None => panic!("canonical form of {s:?} does not parse: {canonical}"),
    }
}

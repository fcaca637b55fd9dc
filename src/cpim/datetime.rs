//! The CPIM `DateTime` header value: an RFC 3339 `date-time` (RFC 3862 §4.4).
//!
//! Owns [`DateTime`], a small checked breakdown of the value, so that the
//! crate needs no calendar dependency. It checks field ranges (including leap
//! years and a leap second `:60`) and can give seconds since the Unix epoch
//! for replay checks (RFC 3923 §6.9). It does not read the clock, convert
//! time zones for display, or format values: the builder copies the caller's
//! validated string.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// A parsed RFC 3339 `date-time` such as `2000-12-13T13:40:00-08:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// Four-digit year.
    pub year: u16,
    /// 1..=12.
    pub month: u8,
    /// 1..=31 (checked against the month).
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=60 (60 only for a leap second).
    pub second: u8,
    /// Fractional seconds in nanoseconds (digits after the ninth are
    /// ignored).
    pub nanos: u32,
    /// Offset from UTC in minutes; `Z` and `-00:00` give 0.
    pub offset_minutes: i16,
}

impl DateTime {
    /// Parses an RFC 3339 `date-time`. Accepts `T`, `t` or a space between
    /// date and time and `Z` or `z` for UTC (RFC 3339 §5.6 notes). Returns
    /// `None` when the syntax or a field range is wrong.
    pub fn parse(s: &str) -> Option<DateTime> {
        let b = s.as_bytes();
        let year = digits(b, 0, 4)?;
        let month = digits(b, 5, 2)?;
        let day = digits(b, 8, 2)?;
        let hour = digits(b, 11, 2)?;
        let minute = digits(b, 14, 2)?;
        let second = digits(b, 17, 2)?;
        let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if seps.iter().any(|&(i, c)| b.get(i) != Some(&c))
            || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        {
            return None;
        }
        let mut i = 19usize;
        let mut nanos = 0u32;
        if b.get(i) == Some(&b'.') {
            i = i.saturating_add(1);
            let start = i;
            while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                if i.saturating_sub(start) < 9 {
                    nanos = nanos.saturating_mul(10).saturating_add(u32::from(c - b'0'));
                }
                i = i.saturating_add(1);
            }
            let n = i.saturating_sub(start);
            if n == 0 {
                return None;
            }
            for _ in n..9 {
                nanos = nanos.saturating_mul(10);
            }
        }
        let offset_minutes = match b.get(i) {
            Some(b'Z' | b'z') if b.len() == i.saturating_add(1) => 0i16,
            Some(&sign @ (b'+' | b'-'))
                if b.len() == i.saturating_add(6) && b.get(i.saturating_add(3)) == Some(&b':') =>
            {
                let oh = digits(b, i.saturating_add(1), 2)?;
                let om = digits(b, i.saturating_add(4), 2)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let total = i16::try_from(oh.saturating_mul(60).saturating_add(om)).ok()?;
                if sign == b'-' { -total } else { total }
            }
            _ => return None,
        };
        let dt = DateTime {
            year: u16::try_from(year).ok()?,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
            hour: u8::try_from(hour).ok()?,
            minute: u8::try_from(minute).ok()?,
            second: u8::try_from(second).ok()?,
            nanos,
            offset_minutes,
        };
        let ok = (1..=12).contains(&dt.month)
            && dt.day >= 1
            && dt.day <= days_in_month(dt.year, dt.month)
            && dt.hour <= 23
            && dt.minute <= 59
            && dt.second <= 60;
        ok.then_some(dt)
    }

    /// Seconds since 1970-01-01T00:00:00Z (a leap second counts as the next
    /// second's start minus one, as POSIX does).
    pub fn unix_seconds(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        let secs =
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        days * 86_400 + secs - i64::from(self.offset_minutes) * 60
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(n)?)?;
    s.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since the epoch for a proleptic Gregorian date (H. Hinnant's
/// algorithm). Inputs are already range-checked.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

//! Time as queueprim keeps it (milliseconds since the Unix epoch) and as users write and read
//! it: humantime durations, RFC 3339 timestamps and relative times for tables.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::text::{printable, visible};

/// Milliseconds since the Unix epoch, UTC. Every timestamp in the store is one of these.
pub type Millis = i64;

/// The latest time queueprim stores: the end of the year 9999, the last RFC 3339 can write.
pub const LATEST: Millis = 253_402_300_799_999;

/// The longest duration accepted anywhere: 100 years as humantime counts them (365.25 days
/// each), so `100y` itself is accepted. Keeps every sum far from overflow.
const MAX_DURATION_MS: i64 = 100 * YEAR_MS;
const YEAR_MS: i64 = 31_557_600_000;

pub fn now() -> Millis {
    to_millis(SystemTime::now())
}

fn to_millis(t: SystemTime) -> Millis {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as Millis,
        Err(e) => -(e.duration().as_millis() as Millis),
    }
}

/// Parses a humantime duration (`90s`, `30m`, `1h 30m`, `7d`) into milliseconds. Parts
/// finer than a millisecond are dropped (`1500us` is 1ms); a duration that is not zero but
/// shorter than 1ms is refused rather than taken as zero.
pub fn parse_duration(s: &str) -> Result<Millis, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        format!(
            "invalid duration '{}': {} (write it like 90s, 30m, 1h 30m or 7d)",
            printable(s),
            // humantime quotes the unit it did not know whole, however long.
            visible(&e.to_string(), 200)
        )
    })?;
    if d > Duration::ZERO && d < Duration::from_millis(1) {
        return Err(format!(
            "duration '{}' is too short: the smallest unit is 1ms",
            printable(s)
        ));
    }
    match Millis::try_from(d.as_millis()) {
        Ok(ms) if ms <= MAX_DURATION_MS => Ok(ms),
        _ => Err(format!(
            "duration '{}' is too long (at most 100 years)",
            printable(s)
        )),
    }
}

/// Like [`parse_duration`], but zero is refused: a zero timeout or extension makes no sense.
pub fn parse_positive_duration(s: &str) -> Result<Millis, String> {
    match parse_duration(s)? {
        0 => Err(format!(
            "duration '{}' must be longer than zero",
            printable(s)
        )),
        ms => Ok(ms),
    }
}

/// Parses an RFC 3339 timestamp: `2026-11-21T09:30:00Z`, with an optional fraction and either
/// `Z`, a numeric offset like `+02:00`, or nothing (taken as UTC).
pub fn parse_timestamp(s: &str) -> Result<Millis, String> {
    let invalid = || {
        format!(
            "invalid time '{}': expected RFC 3339, like 2026-11-21T09:30:00Z",
            printable(s)
        )
    };
    let (local, offset_ms) = split_offset(s.trim()).ok_or_else(invalid)?;
    let t = humantime::parse_rfc3339_weak(local).map_err(|_| invalid())?;
    let ms = to_millis(t) - offset_ms;
    if !(0..=LATEST).contains(&ms) {
        return Err(format!(
            "time '{}' is out of range: use a time between 1970 and 9999",
            printable(s)
        ));
    }
    Ok(ms)
}

/// Splits a trailing `+HH:MM` / `-HH:MM` offset off a timestamp, as milliseconds east of UTC.
/// `None` for an offset that is malformed or out of range; text with no offset at all is
/// returned whole, for the RFC 3339 parser to judge.
fn split_offset(s: &str) -> Option<(&str, i64)> {
    let s = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    // An offset needs at least a date and a time before it, so look only past position 10.
    // A cut inside a multibyte character means the tail is no offset (offsets are ASCII).
    let tail_start = s.len().checked_sub(6).filter(|&start| start >= 10);
    let Some((local, tail)) = tail_start.and_then(|start| s.split_at_checked(start)) else {
        return Some((s, 0));
    };
    let &[sign, h1, h2, colon, m1, m2] = tail.as_bytes() else {
        return Some((s, 0));
    };
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return Some((s, 0)),
    };
    let hours = two_digits(h1, h2)?;
    let minutes = two_digits(m1, m2)?;
    if colon != b':' || hours > 23 || minutes > 59 {
        return None;
    }
    Some((local, sign * (hours * 60 + minutes) * 60_000))
}

/// The number two ASCII digits spell, if both are digits.
fn two_digits(tens: u8, ones: u8) -> Option<i64> {
    let digit = |b: u8| b.is_ascii_digit().then(|| i64::from(b - b'0'));
    Some(digit(tens)? * 10 + digit(ones)?)
}

/// Formats a timestamp as RFC 3339 UTC with milliseconds: `2026-11-21T09:30:00.000Z`.
/// Times outside years 1970–9999 never get stored; clamping keeps formatting total anyway.
pub fn rfc3339(ms: Millis) -> String {
    // Jobs printed together mostly share their times (a batch is stamped once): formatting
    // each distinct time once keeps big outputs cheap.
    thread_local!(static LAST: std::cell::RefCell<(Millis, String)> = const {
        std::cell::RefCell::new((Millis::MIN, String::new()))
    });
    LAST.with_borrow_mut(|(last_ms, last)| {
        if *last_ms != ms {
            let t = UNIX_EPOCH + Duration::from_millis(ms.clamp(0, LATEST) as u64);
            *last = humantime::format_rfc3339_millis(t).to_string();
            *last_ms = ms;
        }
        last.clone()
    })
}

/// A short relative time for tables: `12s ago`, `in 1h 30m`, `3d ago`, `now`.
pub fn relative(ms: Millis, now: Millis) -> String {
    let delta = ms - now;
    // Round to the nearest second, so a delay of 1h shown a moment later still reads 1h.
    let span = short_span((delta.unsigned_abs() + 500) / 1000);
    match delta {
        d if d.abs() < 1000 => "now".to_string(),
        d if d < 0 => format!("{span} ago"),
        _ => format!("in {span}"),
    }
}

/// A duration in whole seconds in at most two units: `45s`, `12m`, `1h 30m`, `3d 4h`.
pub fn short_span(secs: u64) -> String {
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| match small {
        0 => format!("{big}{big_unit}"),
        _ => format!("{big}{big_unit} {small}{small_unit}"),
    };
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => two(s / 3600, "h", s % 3600 / 60, "m"),
        s => two(s / 86_400, "d", s % 86_400 / 3600, "h"),
    }
}

/// A duration in milliseconds as humantime writes it (`30m`, `1h 30m`), for messages.
pub fn human_duration(ms: Millis) -> String {
    humantime::format_duration(Duration::from_millis(ms.max(0) as u64)).to_string()
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_humantime_units() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("1h 30m"), Ok(5_400_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("invalid duration 'soon'"));
        assert!(parse_positive_duration("0s").is_err());
        assert!(parse_duration("1000years").is_err());
    }

    #[test]
    fn the_longest_duration_is_the_100_years_the_message_names() {
        assert_eq!(parse_duration("100y"), Ok(3_155_760_000_000));
        assert_eq!(parse_duration("100years"), parse_duration("36525d"));
        let over = parse_duration("100y 1ms").unwrap_err();
        assert_eq!(over, "duration '100y 1ms' is too long (at most 100 years)");
    }

    #[test]
    fn durations_under_a_millisecond_are_refused_not_taken_as_zero() {
        for short in ["999us", "1ns", "999999ns"] {
            let err = parse_duration(short).unwrap_err();
            assert_eq!(
                err,
                format!("duration '{short}' is too short: the smallest unit is 1ms")
            );
            assert_eq!(parse_positive_duration(short), Err(err));
        }
        assert_eq!(parse_duration("1500us"), Ok(1));
        assert_eq!(parse_duration("0us"), Ok(0));
        assert!(parse_positive_duration("0s")
            .unwrap_err()
            .ends_with("must be longer than zero"));
    }

    #[test]
    fn values_quoted_in_errors_keep_their_control_characters_visible() {
        let duration = parse_duration("x\u{1b}[2J").unwrap_err();
        assert!(
            duration.starts_with(r"invalid duration 'x\u{1b}[2J'"),
            "{duration}"
        );
        let time = parse_timestamp("2026\u{7}").unwrap_err();
        assert!(time.starts_with(r"invalid time '2026\u{7}'"), "{time}");
    }

    #[test]
    fn timestamps_accept_zulu_offsets_and_bare_utc() {
        let zulu = parse_timestamp("2026-11-21T09:30:00Z").unwrap();
        assert_eq!(parse_timestamp("2026-11-21T11:30:00+02:00"), Ok(zulu));
        assert_eq!(parse_timestamp("2026-11-21T04:00:00-05:30"), Ok(zulu));
        assert_eq!(parse_timestamp("2026-11-21 09:30:00"), Ok(zulu));
        assert_eq!(rfc3339(zulu), "2026-11-21T09:30:00.000Z");
        assert!(parse_timestamp("tomorrow").is_err());
        assert!(parse_timestamp("2026-11-21T09:30:00+25:00").is_err());
        assert!(parse_timestamp("2026-11-21T09:30:00++1:00").is_err());
    }

    #[test]
    fn multibyte_characters_where_an_offset_could_be_are_refused_not_a_panic() {
        for text in [
            "2026-11-21T0é12345",
            "2026-11-21T09:3日本",
            "2026-11-21T09:30:00+0🙂",
        ] {
            let err = parse_timestamp(text).unwrap_err();
            assert!(err.starts_with("invalid time '"), "{err}");
        }
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(1_000_000, 1_000_400), "now");
        assert_eq!(relative(0, 125_000), "2m ago");
        assert_eq!(relative(7_200_000, 0), "in 2h");
        assert_eq!(relative(3_600_000, 300), "in 1h");
        assert_eq!(relative(5_400_000, 0), "in 1h 30m");
        assert_eq!(relative(0, 7 * 86_400_000), "7d ago");
    }
}

//! Property tests: durations and RFC 3339 times in any Unicode parse to a value in range or
//! are refused in one clean line, and never panic. `PROPTEST_RNG_SEED` replays a run; see
//! RELIABILITY.md.

use proptest::prelude::*;

use super::*;
use crate::fuzz::{check, config, input};

const DURATIONS: &[&str] = &[
    "90s",
    "30m",
    "1h 30m",
    "7d",
    "250ms",
    "100y",
    "1000years",
    "999us",
    "0s",
    "2 weeks 1ns",
];
const TIMES: &[&str] = &[
    "2026-11-21T09:30:00Z",
    "2026-11-21T09:30:00.250+02:00",
    "2026-11-21T04:00:00-05:30",
    "2026-11-21 09:30:00",
    "9999-12-31T23:59:59.999Z",
    "1970-01-01T00:00:00z",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn durations_are_in_range_or_refused(s in input(DURATIONS)) {
        check(parse_duration(&s), |ms| (0..=MAX_DURATION_MS).contains(ms))?;
        check(parse_positive_duration(&s), |ms| (1..=MAX_DURATION_MS).contains(ms))?;
    }

    #[test]
    fn times_are_in_range_and_read_back_or_refused(s in input(TIMES)) {
        check(parse_timestamp(&s), |ms| {
            (0..=LATEST).contains(ms) && parse_timestamp(&rfc3339(*ms)) == Ok(*ms)
        })?;
    }
}

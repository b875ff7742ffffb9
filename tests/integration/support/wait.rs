//! Waiting without hoping: poll a condition up to a limit that only catches hangs, or sleep
//! until a deadline queueprim reported has passed. Never sleep a guessed "long enough".

use std::thread::sleep;
use std::time::{Duration, Instant};

pub use crate::harness::now_ms;
use crate::harness::{millis, Job};

/// How long something that should happen promptly may take before the test calls it a hang.
/// Generous on purpose: the machine is shared and may be slow for a while, and these limits
/// catch hangs, not slowness. Nothing waits this long unless something is broken.
pub const GENEROUS: Duration = Duration::from_secs(60);

/// Polls until `check` holds; fails the test, naming `what`, if that takes longer than `limit`.
#[track_caller]
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        sleep(Duration::from_millis(10));
    }
}

/// Sleeps until the wall clock reads `ms` (at once if it already has).
pub fn sleep_until(ms: i64) {
    let left = ms - now_ms();
    if left > 0 {
        sleep(Duration::from_millis(left as u64));
    }
}

/// Sleeps until the RFC 3339 time `deadline` (a claim's deadline, a delayed job's visible
/// time) has passed, with a margin.
pub fn sleep_past(deadline: &str) {
    sleep_until(millis(deadline) + 50);
}

/// Sleeps until `job`'s `visible_after` has passed: its claim's deadline if it is claimed,
/// the end of its delay if it is pending.
#[track_caller]
pub fn sleep_past_visible(job: &Job) {
    let at = job.visible_after.as_deref();
    sleep_past(at.unwrap_or_else(|| panic!("the job has no visible_after: {job:?}")));
}

//! Crash tests: real queueprim processes SIGKILLed at awkward moments (shell workers between
//! dequeue and complete, `complete` and `fail` mid-transaction, a large `enqueue --batch`, the
//! `sweep` daemon, `work` runners), then the database is checked: intact, nothing lost,
//! nothing half-written, and every orphaned claim handed out again once its timeout passed.
//! Kill delays come from a seeded generator; each test prints its seed, and
//! `QUEUEPRIM_TEST_SEED=N` replays those delays (the timing of the machine itself cannot be
//! replayed, so a seed reproduces the attempt, not always the exact landing).

sqlite_only! {
    mod batch;
}
mod finishing;
mod poison;
mod runner;
mod shell_workers;
mod sweep;
// Its WAL-watching parts serve the SQLite-only batch and import tests.
#[allow(dead_code)]
pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{Job, TestEnv};

/// Milliseconds, briefly.
fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// The database, read and checked

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn get(env: &TestEnv, id: &str) -> Job {
    env.json(&["get", id])
}

fn list(env: &TestEnv, queue: &str, status: Option<&str>) -> Vec<Job> {
    let mut args = vec!["list", queue, "--limit", "0"];
    if let Some(status) = status {
        args.extend(["--status", status]);
    }
    env.json(&args)
}

/// Claims every visible job of `queue` at once (releasing expired claims first, as every
/// dequeue does), for a long time, as worker `drain`.
fn drain(env: &TestEnv, queue: &str) -> Vec<Job> {
    env.json(&[
        "dequeue",
        queue,
        "--count",
        "10000",
        "--worker",
        "drain",
        "--timeout",
        "1h",
    ])
}

fn by_id(jobs: &[Job]) -> BTreeMap<&str, &Job> {
    jobs.iter().map(|job| (job.id.as_str(), job)).collect()
}

/// The job `drained` holds for `job`, which must be there.
#[track_caller]
fn handed_out_again<'a>(drained: &BTreeMap<&str, &'a Job>, job: &Job) -> &'a Job {
    drained
        .get(job.id.as_str())
        .unwrap_or_else(|| panic!("job was not handed out again: {job:?}"))
}

fn ids(jobs: &[Job]) -> BTreeSet<String> {
    jobs.iter().map(|job| job.id.clone()).collect()
}

/// The reason queueprim records when a claim with this deadline expires.
pub fn expiry_reason(deadline: &str) -> String {
    format!("claim expired at {deadline} without complete or fail")
}

/// The claim deadline of a claimed job.
#[track_caller]
fn deadline(job: &Job) -> &str {
    job.visible_after
        .as_deref()
        .unwrap_or_else(|| panic!("a claimed job has a deadline: {job:?}"))
}

/// Asserts `actual` is `expected` to the last field: nothing missing, nothing half-written.
#[track_caller]
fn assert_same_job(expected: &Job, actual: &Job, what: &str) {
    assert_eq!(
        format!("{actual:#?}"),
        format!("{expected:#?}"),
        "{what}: the job is not exactly as expected"
    );
}

/// Asserts the history of `job` holds only expired claims, one per failed attempt, each
/// naming a worker from `workers`.
#[track_caller]
fn assert_only_expiries(job: &Job, workers: &BTreeSet<String>) {
    assert_eq!(
        job.errors.len() as u32,
        job.attempt_count,
        "one failure record per failed attempt: {job:?}"
    );
    for (n, failure) in job.errors.iter().enumerate() {
        assert_eq!(failure.attempt, n as u32 + 1, "{job:?}");
        assert!(
            failure.reason.starts_with("claim expired at "),
            "nobody failed a job, only claims expired: {job:?}"
        );
        let worker = failure.worker.as_deref().unwrap_or("(none)");
        assert!(
            workers.contains(worker),
            "expired claim of {worker}: {job:?}"
        );
    }
}

/// Asserts that `again`, dequeued after the deadline of `orphaned`'s claim, is that job handed
/// out anew: one more failed attempt, recorded as the expiry of the orphaned claim.
#[track_caller]
fn assert_redelivered(orphaned: &Job, again: &Job) {
    assert_eq!(again.id, orphaned.id);
    assert_eq!(again.status, "claimed", "{again:?}");
    assert_eq!(
        again.attempt_count,
        orphaned.attempt_count + 1,
        "the expired claim counts as a failed attempt: {again:?}"
    );
    let last = again.errors.last().expect("the expiry is recorded");
    assert_eq!(last.attempt, again.attempt_count, "{again:?}");
    assert_eq!(last.worker, orphaned.worker, "{again:?}");
    assert_eq!(last.reason, expiry_reason(deadline(orphaned)), "{again:?}");
    assert_ne!(again.claim, orphaned.claim, "a new claim gets a new token");
}

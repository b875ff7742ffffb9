//! One clock for many hosts: on PostgreSQL every time comes from the database server, so a
//! client whose clock is an hour off neither expires claims early nor makes delayed jobs
//! visible early, and stamps what it writes with the server's time. The client's wall clock
//! is moved for queueprim alone with libfaketime.

use crate::harness::{millis, Cmd, Job, Sweep, TestEnv};
use crate::support::faketime::libfaketime;
use crate::support::wait::now_ms;

/// `args` on `env`'s database, run by a host whose clock is `offset` (like `+1h`) off.
fn skewed(env: &TestEnv, offset: &str, args: &[&str]) -> Cmd {
    env.cmd(args)
        .env("LD_PRELOAD", libfaketime())
        .env("FAKETIME", offset)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
}

/// Asserts an RFC 3339 time is within a minute of the real time now.
#[track_caller]
fn about_now(time: &str) {
    let off = (millis(time) - now_ms()).abs();
    assert!(off < 60_000, "{time} is {off} ms from the real time");
}

#[test]
fn a_fast_client_clock_neither_shows_delayed_jobs_nor_expires_claims_early() {
    let env = TestEnv::new();
    let delayed = env.enqueue("q", "1", &["--delay", "30m"]);
    let run = skewed(&env, "+1h", &["dequeue", "q"]).expect_status(0);
    assert_eq!(
        run.stdout, "",
        "a job delayed 30m is not visible to a host an hour ahead"
    );
    let peeked: Vec<Job> = skewed(&env, "+1h", &["peek", "q"]).expect_status(0).json();
    assert!(peeked.is_empty(), "{peeked:?}");

    env.enqueue("claims", "2", &["--max-retries", "3"]);
    let claimed = env.dequeue("claims", &["--timeout", "30m"]);
    skewed(&env, "+1h", &["dequeue", "claims"])
        .expect_status(0)
        .expect_stdout("");
    let swept: Sweep = skewed(&env, "+1h", &["sweep", "--once"])
        .expect_status(0)
        .json();
    assert_eq!((swept.retried, swept.dead), (0, 0), "no claim expired");
    let still: Job = env.json(&["get", &claimed.id]);
    assert_eq!(still.status, "claimed");
    assert_eq!(still.attempt_count, 0);
    let purged = skewed(
        &env,
        "+1h",
        &["purge", "--older-than", "30m", "--format", "json"],
    )
    .expect_status(0)
    .stdout;
    assert!(purged.contains("\"matched\":0"), "{purged}");
    assert_eq!(env.json::<Job>(&["get", &delayed.id]).status, "pending");
}

#[test]
fn a_slow_client_clock_stamps_jobs_and_deadlines_with_the_server_time() {
    let env = TestEnv::new();
    // The clock really is an hour slow for the process: a SQLite file, stamped with the
    // host's own clock, shows it.
    let file = env.dir().join("host-clock.db");
    let local: Job = skewed(&env, "-1h", &["enqueue", "q", "--payload", "1"])
        .env("QUEUEPRIM_DB", &file)
        .expect_status(0)
        .json();
    let behind = now_ms() - millis(&local.created_at);
    assert!(
        (3_540_000..3_660_000).contains(&behind),
        "{behind} ms behind"
    );
    let job: Job = skewed(&env, "-1h", &["enqueue", "q", "--payload", "1"])
        .expect_status(0)
        .json();
    about_now(&job.created_at);
    let claimed: Job = skewed(&env, "-1h", &["dequeue", "q", "--timeout", "10m"])
        .expect_status(0)
        .json();
    about_now(&claimed.updated_at);
    let deadline = millis(claimed.visible_after.as_deref().expect("a deadline"));
    let lease = deadline - millis(&claimed.updated_at);
    assert_eq!(
        lease, 600_000,
        "the claim lasts its 10m on the server's clock"
    );
    let done: Job = skewed(&env, "-1h", &["complete", &job.id])
        .expect_status(0)
        .json();
    about_now(done.finished_at.as_deref().expect("finished"));
}

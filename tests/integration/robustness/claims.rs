//! A job never runs twice at once. Claim timeouts too short to renew are refused, and the
//! `work` runner stops a command before its claim can expire when no renewal has landed in
//! time (here: the test holds the database's write lock, as a crowd of writers would), so
//! no other worker can take the job while it still runs. Overlap is detected with a lock
//! file per job: a run whose `flock -n` fails started while another still ran.

use std::fs;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use crate::harness::{millis, Counts, Job, TestEnv};
use crate::support::process::{send_signal, wait_for};
use crate::support::wait::{eventually, sleep_until, GENEROUS};

#[test]
fn claim_timeouts_under_a_second_are_refused_naming_the_minimum() {
    let env = TestEnv::new();
    for args in [
        &["dequeue", "q", "--timeout", "1ms"][..],
        &["dequeue", "q", "--timeout", "999ms"],
        &["work", "q", "--timeout", "3ms", "--", "true"],
        &["config", "q", "--timeout", "500ms"],
    ] {
        env.cmd(args)
            .expect_status(2)
            .expect_stdout("")
            .expect_stderr_contains("at least 1s");
    }
    assert!(!env.db().exists(), "nothing was created");
    env.cmd(["dequeue", "q", "--timeout", "1s"])
        .expect_status(0);
    for command in ["dequeue", "work", "config"] {
        let help = env.cmd([command, "--help"]).expect_status(0);
        assert!(
            help.stdout.contains("at least 1s"),
            "{command}: {}",
            help.stdout
        );
    }
}

#[test]
fn work_refuses_a_queue_default_claim_timeout_stored_under_the_minimum() {
    let env = TestEnv::new();
    env.cmd(["config", "q", "--timeout", "1s"]).expect_status(0);
    {
        // As an older queueprim, which accepted any length, could have stored it.
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.execute("UPDATE queue_settings SET timeout_ms = 3", [])
            .unwrap();
    }
    env.enqueue("q", "1", &[]);
    env.cmd(["work", "q", "--until-empty", "--", "true"])
        .expect_status(2)
        .expect_stderr_contains("shorter than the 1s minimum")
        .expect_stderr_contains("config q --timeout");
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.pending, 1, "nothing was claimed");
}

/// A job command that takes the job's lock file without waiting, records an overlap if it
/// cannot, and then runs for `seconds`.
fn locking_job(dir: &Path, seconds: &str) -> String {
    let script = dir.join("job.sh");
    fs::write(
        &script,
        format!(
            r#"#!/bin/sh
exec 9>"{dir}/$QUEUEPRIM_JOB_ID.lock"
if ! flock -n 9; then
    echo "$QUEUEPRIM_JOB_ID" >> "{dir}/overlaps"
    exit 1
fi
echo "$QUEUEPRIM_JOB_ID" >> "{dir}/started"
sleep {seconds}
"#,
            dir = dir.display()
        ),
    )
    .unwrap();
    script.to_str().unwrap().to_string()
}

/// Whether a run of `id` holds its lock file now (`flock -n` from the outside fails).
fn running(dir: &Path, id: &str) -> bool {
    let lock = fs::File::create(dir.join(format!("{id}.lock"))).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor, owned by `lock` for the duration of the call.
    let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    rc != 0
}

/// Stops a runner with SIGTERM and waits for it (hang-catching only).
fn stop(mut runner: Child) -> std::process::Output {
    send_signal(&runner, libc::SIGTERM);
    wait_for(&mut runner, GENEROUS, "the runner after SIGTERM");
    runner.wait_with_output().unwrap()
}

#[test]
fn a_command_whose_claim_cannot_be_renewed_is_stopped_before_the_claim_expires() {
    let env = TestEnv::new();
    let dir = env.dir();
    let script = locking_job(dir, "60");
    let job = env.enqueue("q", "1", &["--max-retries", "5"]);
    let runner = env
        .cmd([
            "work",
            "q",
            "--timeout",
            "1s",
            "--grace",
            "0s",
            "--worker",
            "A",
            "--",
            "sh",
        ])
        .args([&script])
        .spawn();
    eventually(GENEROUS, "the job to start", || {
        dir.join("started").exists()
    });

    // Hold the write lock: no renewal can land while the command runs on. Reads still work.
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let claimed: Job = env.json(&["get", &job.id]);
    assert_eq!(claimed.status, "claimed");
    let deadline = millis(claimed.visible_after.as_deref().unwrap());
    // Past the deadline (and then some), another worker may take the job: by then the
    // command must be gone, though no renewal could have landed.
    sleep_until(deadline + 1_000);
    let still_running = running(dir, &job.id);
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(
        !still_running,
        "the command still ran after its claim expired at {}",
        claimed.visible_after.unwrap()
    );

    // The runner records why, as a failed attempt, once the database lets it.
    eventually(GENEROUS, "the failure to be recorded", || {
        let now: Job = env.json(&["get", &job.id]);
        !now.errors.is_empty()
    });
    let after: Job = env.json(&["get", &job.id]);
    let reason = &after.errors[0].reason;
    assert!(
        reason.contains("stopped before its 1s claim could expire"),
        "{reason}"
    );
    let output = stop(runner);
    assert!(output.status.success(), "{output:?}");
    assert!(!dir.join("overlaps").exists());
}

/// A command that ends on its own while no renewal can land keeps its result. Here the
/// runner is stuck in a renewal (the test holds the write lock) when the command exits, so
/// it hears of the exit only after the guard's time came; but the guard stopped nothing, and
/// nobody else took the job meanwhile.
#[test]
fn a_command_that_ends_on_its_own_while_a_renewal_waits_is_recorded_done() {
    let env = TestEnv::new();
    let dir = env.dir();
    let script = dir.join("job.sh");
    fs::write(
        &script,
        format!(
            r#"#!/bin/sh
touch "{dir}/started"
while [ ! -f "{dir}/go" ]; do sleep 0.01; done
echo '{{"ok":true}}'
touch "{dir}/finished"
"#,
            dir = dir.display()
        ),
    )
    .unwrap();
    let job = env.enqueue("q", "1", &[]);
    // Renewals every 10 s; the guard's time at 20 s; the deadline at 30 s. Wide margins: on
    // a slow machine each step below may come seconds late.
    let runner = env
        .cmd(["work", "q", "--timeout", "30s", "--worker", "A", "--", "sh"])
        .args([script.to_str().unwrap()])
        .spawn();
    eventually(GENEROUS, "the job to start", || {
        dir.join("started").exists()
    });
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let claimed: Job = env.json(&["get", &job.id]);
    let deadline = millis(claimed.visible_after.as_deref().unwrap());
    // Once the first renewal waits for the lock, the command ends, well before the guard's
    // time. (Were the machine so slow that the runner had not begun renewing, it would
    // record the result at once, and the test would pass without testing the guard.)
    sleep_until(deadline - 17_000);
    fs::write(dir.join("go"), "").unwrap();
    eventually(GENEROUS, "the command to finish", || {
        dir.join("finished").exists()
    });
    // Past the guard's time, short of the deadline: the guard acts on a command that is gone.
    sleep_until(deadline - 5_000);
    holder.execute_batch("ROLLBACK").unwrap();

    eventually(GENEROUS, "the result to be recorded", || {
        let now: Job = env.json(&["get", &job.id]);
        now.status != "claimed"
    });
    let after: Job = env.json(&["get", &job.id]);
    assert_eq!(after.status, "done", "{after:?}");
    assert!(after.errors.is_empty(), "{:?}", after.errors);
    assert_eq!(
        after.output.as_ref().map(|o| o.to_string()).as_deref(),
        Some(r#"{"ok":true}"#)
    );
    let output = stop(runner);
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn runners_sharing_a_queue_never_run_one_job_twice_at_once() {
    let env = TestEnv::new();
    let dir = env.dir();
    // Longer than the claim: each run needs renewals to keep its job.
    let script = locking_job(dir, "1.5");
    let jobs: Vec<Job> = (0..3)
        .map(|n| env.enqueue("q", &n.to_string(), &["--max-retries", "100"]))
        .collect();
    // More runners than jobs: one always stands ready to take a job whose claim expires.
    let runners: Vec<Child> = (0..4)
        .map(|n| {
            env.cmd(["work", "q", "--timeout", "1s", "--grace", "0s"])
                .args(["--worker", &format!("w{n}"), "--", "sh"])
                .args([&script])
                .spawn()
        })
        .collect();

    // Meanwhile, hold the write lock longer than a claim, now and then, while commands run:
    // renewals wait, and land only after the deadline, when a waiting runner may also have
    // claimed the job; the runner must have stopped the command by then.
    let started = |dir: &Path| fs::read_to_string(dir.join("started")).unwrap_or_default();
    for round in 1..=4 {
        eventually(GENEROUS, "a command to be running", || {
            started(dir).lines().count() >= round
        });
        let holder = rusqlite::Connection::open(env.db()).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        std::thread::sleep(Duration::from_millis(1_200));
        holder.execute_batch("ROLLBACK").unwrap();
    }
    eventually(GENEROUS, "every job to be done", || {
        let stats: Counts = env.json(&["stats"]);
        stats.done == jobs.len() as u64
    });
    for runner in runners {
        let output = stop(runner);
        assert!(output.status.success(), "{output:?}");
    }

    let overlaps = fs::read_to_string(dir.join("overlaps")).unwrap_or_default();
    assert!(overlaps.is_empty(), "jobs ran twice at once:\n{overlaps}");
    let runs = started(dir).lines().count();
    eprintln!("{runs} runs of {} jobs, none overlapping", jobs.len());
}

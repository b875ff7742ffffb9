//! A job that kills its worker every time.

use std::fs;

use crate::harness::TestEnv;
use crate::support::integrity::assert_integrity;
use crate::support::process::{ended, Ended};
use crate::support::wait::sleep_past;

use super::{deadline, get};

#[test]
fn a_job_that_kills_its_worker_every_time_ends_dead_after_max_retries_plus_one_claims() {
    const MAX_RETRIES: u32 = 2;
    let env = TestEnv::new();
    let retries = MAX_RETRIES.to_string();
    let job = env.enqueue("q", r#"{"poison":true}"#, &["--max-retries", &retries]);
    let attempts_log = env.dir().join("attempts");
    // The job's command SIGKILLs the runner that started it (its parent), as an out-of-memory
    // kill of the worker would; `$1` is the log of attempts.
    let poison = "echo \"$QUEUEPRIM_ATTEMPT\" >> \"$1\"; kill -KILL \"$PPID\"";
    let log_arg = attempts_log.to_str().expect("utf-8 path");
    let run_worker = |worker: &str| {
        env.cmd([
            "work",
            "q",
            "--until-empty",
            "--timeout",
            "1s",
            "--worker",
            worker,
            "--",
            "sh",
            "-c",
            poison,
            "sh",
            log_arg,
        ])
        .spawn()
    };

    for attempt in 1..=MAX_RETRIES + 1 {
        let worker = format!("runner-{attempt}");
        let mut runner = run_worker(&worker);
        let how = ended(runner.wait().expect("reap the runner"));
        assert_eq!(
            how,
            Ended::Killed,
            "attempt {attempt}: the job kills its runner"
        );
        let held = get(&env, &job.id);
        assert_eq!(
            (
                held.status.as_str(),
                held.worker.as_deref(),
                held.attempt_count
            ),
            ("claimed", Some(worker.as_str()), attempt - 1),
            "attempt {attempt}: the dead runner's claim stays until it expires"
        );
        sleep_past(deadline(&held));
    }

    // The last claim has expired too: the next dequeue releases it, the job is out of tries.
    env.assert_empty("q");
    let dead = get(&env, &job.id);
    assert_eq!(
        (dead.status.as_str(), dead.attempt_count),
        ("dead", MAX_RETRIES + 1),
        "{dead:?}"
    );
    let history: Vec<(u32, Option<&str>, bool)> = dead
        .errors
        .iter()
        .map(|f| {
            (
                f.attempt,
                f.worker.as_deref(),
                f.reason.starts_with("claim expired at "),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (1, Some("runner-1"), true),
            (2, Some("runner-2"), true),
            (3, Some("runner-3"), true)
        ]
    );
    assert_eq!(fs::read_to_string(&attempts_log).unwrap(), "1\n2\n3\n");

    // Never delivered again.
    let mut runner = run_worker("runner-4");
    assert_eq!(ended(runner.wait().unwrap()), Ended::Exited(0));
    assert_eq!(fs::read_to_string(&attempts_log).unwrap(), "1\n2\n3\n");
    assert_integrity(&env.db());
}

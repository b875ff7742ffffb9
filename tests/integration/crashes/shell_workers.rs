//! Shell workers, like README's loop, killed at random points of their loop.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::thread::sleep;
use std::time::Duration;

use serde_json::json;

use crate::harness::{Job, TestEnv, BIN};
use crate::support::integrity::assert_integrity;
use crate::support::process::{ended, kill_group, Ended};
use crate::support::rng::Rng;
use crate::support::wait::sleep_past;

use super::{
    assert_only_expiries, assert_redelivered, by_id, deadline, drain, handed_out_again, ids, list,
    ms,
};

/// A worker loop in plain shell, like README's: claim for 1 s, work a moment, complete with
/// the claim token and `{"by":WORKER}` as output; exit 0 on an empty queue. `$0` is
/// queueprim, `$1` the worker's name. Killing its process group can land in the dequeue,
/// between dequeue and complete, or in the complete.
const SHELL_WORKER: &str = r#"
while :; do
  job=$("$0" dequeue q --worker "$1" --timeout 1s) || exit 1
  [ -n "$job" ] || exit 0
  id=$(printf '%s\n' "$job" | sed 's/^{"id":"\([^"]*\)".*/\1/')
  claim=$(printf '%s\n' "$job" | sed 's/.*"claim":"\([^"]*\)".*/\1/')
  sleep 0.02
  "$0" complete "$id" --claim "$claim" --output "{\"by\":\"$1\"}" >/dev/null || exit 1
done
"#;

/// Runs the shell worker `name` for `lifetime`, then SIGKILLs its whole process group (the
/// shell and whatever queueprim command it is in).
fn run_shell_worker_until_killed(env: &TestEnv, name: &str, lifetime: Duration) -> Ended {
    let worker = env
        .isolated("sh")
        .args(["-c", SHELL_WORKER, BIN, name])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the shell worker");
    sleep(lifetime);
    kill_group(worker.id());
    let output = worker.wait_with_output().expect("reap the shell worker");
    let how = ended(output.status);
    assert!(
        matches!(how, Ended::Killed | Ended::Exited(0)),
        "shell worker {name} failed ({how:?}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    how
}

/// Asserts a done job is exactly what the shell worker's complete makes of it.
#[track_caller]
fn assert_completed_by_its_worker(job: &Job) {
    let worker = job.worker.as_deref().expect("a done job names its worker");
    assert_eq!(job.output, Some(json!({ "by": worker })), "{job:?}");
    assert!(
        job.claim.is_some() && job.visible_after.is_none(),
        "{job:?}"
    );
    assert_eq!(job.finished_at.as_ref(), Some(&job.updated_at), "{job:?}");
}

#[test]
fn shell_workers_killed_at_random_points_lose_nothing_and_their_claims_come_back() {
    const JOBS: usize = 40;
    const WORKERS: usize = 8;
    let mut rng = Rng::for_test("shell_workers_killed_at_random_points");
    let env = TestEnv::new();
    let input: String = (0..JOBS).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let enqueued: Vec<Job> = env
        .cmd(["enqueue", "q", "--batch", "--max-retries", "20"])
        .stdin(input)
        .expect_status(0)
        .json();

    let workers: BTreeSet<String> = (0..WORKERS).map(|n| format!("sh-{n}")).collect();
    let (mut killed, mut claims_left_behind) = (0, 0);
    for name in &workers {
        let lifetime = rng.between(ms(0), ms(400));
        if run_shell_worker_until_killed(&env, name, lifetime) == Ended::Killed {
            killed += 1;
        }
        claims_left_behind += list(&env, "q", Some("claimed"))
            .iter()
            .filter(|job| job.worker.as_ref() == Some(name))
            .count();
    }

    let all = list(&env, "q", None);
    assert_eq!(
        ids(&all),
        ids(&enqueued),
        "every enqueued job is still there"
    );
    for job in &all {
        assert_only_expiries(job, &workers);
        match job.status.as_str() {
            "done" => assert_completed_by_its_worker(job),
            "claimed" => assert!(
                job.output.is_none() && workers.contains(job.worker.as_deref().unwrap_or("")),
                "a claim left by a killed worker: {job:?}"
            ),
            "pending" => assert!(job.output.is_none(), "{job:?}"),
            _ => panic!("a job no worker failed cannot be {}: {job:?}", job.status),
        }
    }

    // Every claim the kills left behind comes back once its 1 s timeout has passed.
    let orphaned: Vec<&Job> = all.iter().filter(|j| j.status == "claimed").collect();
    if let Some(latest) = orphaned.iter().map(|job| deadline(job)).max() {
        sleep_past(latest);
    }
    let drained = drain(&env, "q");
    let drained_by_id = by_id(&drained);
    for job in &orphaned {
        assert_redelivered(job, handed_out_again(&drained_by_id, job));
    }
    let done: BTreeSet<String> = ids(&list(&env, "q", Some("done")));
    let unfinished: BTreeSet<String> = ids(&all).difference(&done).cloned().collect();
    assert_eq!(
        ids(&drained),
        unfinished,
        "every job not done is handed out again"
    );
    assert_integrity(&env.db());
    println!(
        "shell workers: {WORKERS} run, {killed} killed mid-loop leaving {claims_left_behind} \
         claims behind; {} jobs done, {} not done handed out by the final dequeue ({} of them \
         claims still orphaned just before it)",
        done.len(),
        drained.len(),
        orphaned.len()
    );
}

//! Waiting and time: `dequeue --wait` (limits, wake-ups, signals), claims that expire, and `sweep`.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::harness::{assert_timestamp, millis, Counts, Job, Run, Sweep, TestEnv, BIN};
use crate::support::process::{run_to_end, send_signal, wait_until_catching, Reaped};
use crate::support::wait::{sleep_past_visible, GENEROUS};

/// Runs `args` to its end, however long that takes, unless it hangs (then the test fails);
/// returns the run and how long it took. How long is only ever checked against a lower
/// bound: an upper one would measure the machine, not queueprim.
#[track_caller]
fn run_timed(env: &TestEnv, args: &[&str]) -> (Run, Duration) {
    let mut command = env.isolated(BIN);
    command.args(args);
    let started = Instant::now();
    let run = run_to_end(command, Vec::new(), GENEROUS);
    let took = started.elapsed();
    let run = run.expect_status(0);
    (run, took)
}

/// Asserts a delayed job was claimed no sooner than it fell due, by queueprim's own clock.
#[track_caller]
fn assert_claimed_once_due(got: &Job, enqueued: &Job) {
    let due = enqueued
        .visible_after
        .as_deref()
        .expect("a delayed job has a visible time");
    assert!(
        millis(&got.updated_at) >= millis(due),
        "a job due at {due} was claimed at {}",
        got.updated_at
    );
}

/// Waits until a spawned queueprim catches SIGINT and SIGTERM: it has opened the database
/// and started its wait, and a signal sent next reaches its handler.
#[track_caller]
fn wait_until_catching_signals(spawned: &mut Reaped) {
    wait_until_catching(spawned.child(), &[libc::SIGINT, libc::SIGTERM]);
}

/// Spawns `dequeue ARGS`, waits until it is waiting, and checks it is still running a moment
/// later (an empty queue must keep it waiting).
fn spawn_waiting(env: &TestEnv, args: &[&str]) -> Reaped {
    let mut spawned = Reaped::new(env.cmd(args).spawn());
    wait_until_catching_signals(&mut spawned);
    sleep(Duration::from_millis(300));
    if let Some(status) = spawned.child().try_wait().expect("try_wait") {
        let done = spawned.finish(GENEROUS, "an exited dequeue");
        panic!("queueprim {args:?} should still be waiting but exited ({status}): {done:?}");
    }
    spawned
}

const NOTHING: Counts = Counts {
    pending: 0,
    claimed: 0,
    done: 0,
    dead: 0,
    total: 0,
};

#[test]
fn wait_with_a_limit_on_an_empty_queue_returns_nothing_after_the_limit() {
    let env = TestEnv::new();
    let (run, took) = run_timed(&env, &["dequeue", "q", "--wait", "1s"]);
    run.expect_stdout("");
    assert!(
        took >= Duration::from_secs(1),
        "dequeue --wait 1s returned after {took:?}, before its limit"
    );
}

#[test]
fn wait_without_a_limit_hands_over_a_job_enqueued_while_it_waits() {
    let env = TestEnv::new();
    let child = spawn_waiting(&env, &["dequeue", "q", "--wait", "--worker", "waiter"]);
    let job = env.enqueue("q", r#"{"n":1}"#, &[]);
    let done = child.finish(GENEROUS, "dequeue --wait");
    assert_eq!(done.code, Some(0), "{done:?}");
    let got: Job = serde_json::from_str(&done.stdout)
        .unwrap_or_else(|e| panic!("dequeue --wait printed no job ({e}): {done:?}"));
    assert_eq!(got.id, job.id);
    assert_eq!(got.status, "claimed");
    assert_eq!(got.worker.as_deref(), Some("waiter"));
    assert_eq!(got.payload, serde_json::json!({"n": 1}));
    let stored: Job = env.json(&["get", &job.id]);
    assert_eq!(stored.status, "claimed");
    assert_eq!(stored.claim, got.claim);
}

#[test]
fn wait_with_count_returns_as_soon_as_one_job_exists() {
    let env = TestEnv::new();
    let child = spawn_waiting(&env, &["dequeue", "q", "--wait", "--count", "3"]);
    let job = env.enqueue("q", r#"{"n":1}"#, &[]);
    let done = child.finish(GENEROUS, "dequeue --wait --count 3");
    assert_eq!(done.code, Some(0), "{done:?}");
    let got: Vec<Job> = serde_json::from_str(&done.stdout)
        .unwrap_or_else(|e| panic!("dequeue --count printed no array ({e}): {done:?}"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].id, job.id);
    assert_eq!(got[0].status, "claimed");
}

#[test]
fn wait_with_a_limit_hands_over_a_job_that_is_already_there() {
    let env = TestEnv::new();
    for args in [
        &["dequeue", "--wait=2s", "q"][..],
        &["dequeue", "q", "--wait", "2s"][..],
        &["dequeue", "--queue", "q", "--wait", "2s"][..],
        &["dequeue", "q", "--wait=2s"][..],
    ] {
        let job = env.enqueue("q", r#"{"n":1}"#, &[]);
        let got: Job = env.json(args);
        assert_eq!(got.id, job.id, "queueprim {args:?}");
        assert_eq!(got.status, "claimed", "queueprim {args:?}");
    }
    env.assert_empty("q");
}

#[test]
fn wait_equals_form_and_queue_first_form_both_time_out_on_an_empty_queue() {
    let env = TestEnv::new();
    for args in [
        &["dequeue", "--wait=1s", "q"][..],
        &["dequeue", "q", "--wait", "1s"][..],
    ] {
        let (run, took) = run_timed(&env, args);
        run.expect_stdout("");
        assert!(
            took >= Duration::from_secs(1),
            "queueprim {args:?} returned after {took:?}, before its limit"
        );
    }
}

#[test]
fn wait_before_a_positional_queue_is_a_usage_error_with_a_hint() {
    let env = TestEnv::new();
    let run = env
        .cmd(["dequeue", "--wait", "q"])
        .expect_status(2)
        .expect_stdout("")
        .expect_stderr_contains("--wait=DUR");
    assert!(
        run.stderr.contains("'q'"),
        "the error should name the value taken for a duration: {}",
        run.stderr
    );
    let run = env
        .cmd(["--format", "json", "dequeue", "--wait", "q"])
        .expect_status(2)
        .expect_stdout("");
    let error = run.json_error();
    assert_eq!(error.kind, "invalid_input");
    assert!(error.message.contains("--wait=DUR"), "{error:?}");
}

#[test]
fn waiting_dequeue_wakes_for_a_delayed_job_enqueued_while_it_waits() {
    let env = TestEnv::new();
    let child = spawn_waiting(&env, &["dequeue", "q", "--wait"]);
    let enqueued_at = Instant::now();
    let job = env.enqueue("q", r#"{"n":1}"#, &["--delay", "1s"]);
    // After this enqueue nothing else commits: the waiter must wake by itself when the delay
    // ends.
    let done = child.finish(GENEROUS, "dequeue --wait with a delayed job");
    let took = enqueued_at.elapsed();
    assert_eq!(done.code, Some(0), "{done:?}");
    let got: Job = serde_json::from_str(&done.stdout)
        .unwrap_or_else(|e| panic!("dequeue --wait printed no job ({e}): {done:?}"));
    assert_eq!(got.id, job.id);
    assert_claimed_once_due(&got, &job);
    assert!(
        took >= Duration::from_secs(1),
        "a job delayed 1s was handed out after {took:?}"
    );
}

#[test]
fn waiting_dequeue_wakes_for_a_delayed_job_enqueued_before_it_started() {
    let env = TestEnv::new();
    let enqueued_at = Instant::now();
    let job = env.enqueue("q", r#"{"n":1}"#, &["--delay", "1s"]);
    // No limit on the wait: only the job falling due can end it (or the hang check).
    let (run, _) = run_timed(&env, &["dequeue", "q", "--wait"]);
    let took = enqueued_at.elapsed();
    let got: Job = run.json();
    assert_eq!(got.id, job.id);
    assert_claimed_once_due(&got, &job);
    assert!(
        took >= Duration::from_secs(1),
        "a job delayed 1s was handed out after {took:?}"
    );
}

/// Interrupts a waiting dequeue with SIG`name` (`signal`) and checks it exits `code`, prints
/// nothing and claims nothing.
fn interrupt_waiting_dequeue(signal: libc::c_int, name: &str, code: i32) {
    let env = TestEnv::new();
    let mut child = spawn_waiting(&env, &["dequeue", "q", "--wait"]);
    send_signal(child.child(), signal);
    let done = child.finish(GENEROUS, "interrupted dequeue --wait");
    assert_eq!(
        done.code,
        Some(code),
        "dequeue --wait after SIG{name}: {done:?}"
    );
    assert_eq!(done.stdout, "", "dequeue --wait after SIG{name}: {done:?}");
    assert_eq!(
        done.stderr.trim_end().lines().count(),
        1,
        "an interruption is reported as one line on stderr: {done:?}"
    );
    let counts: Counts = env.json(&["stats"]);
    assert_eq!(counts, NOTHING);
    // The interrupted waiter left nothing behind: a new job goes to the next worker.
    let job = env.enqueue("q", r#"{"n":1}"#, &[]);
    assert_eq!(env.dequeue("q", &[]).id, job.id);
}

#[test]
fn sigint_while_waiting_exits_130_and_claims_nothing() {
    interrupt_waiting_dequeue(libc::SIGINT, "INT", 130);
}

#[test]
fn sigterm_while_waiting_exits_143_and_claims_nothing() {
    interrupt_waiting_dequeue(libc::SIGTERM, "TERM", 143);
}

#[test]
fn an_expired_claim_is_handed_out_again_by_the_next_dequeue_without_sweep() {
    let env = TestEnv::new();
    let job = env.enqueue("q", r#"{"n":1}"#, &["--max-retries", "1"]);
    let first = env.dequeue("q", &["--worker", "w1", "--timeout", "1s"]);
    assert_eq!(first.id, job.id);
    sleep_past_visible(&first);
    let second = env.dequeue("q", &["--worker", "w2"]);
    assert_eq!(second.id, job.id);
    assert_eq!(second.status, "claimed");
    assert_eq!(second.attempt_count, 1);
    assert_eq!(second.worker.as_deref(), Some("w2"));
    assert_ne!(second.claim, first.claim, "a new claim needs a new token");
    assert_eq!(second.errors.len(), 1, "{:?}", second.errors);
    let failure = &second.errors[0];
    assert_eq!(failure.attempt, 1);
    assert_eq!(failure.worker.as_deref(), Some("w1"));
    assert!(
        failure.reason.contains("expired"),
        "the failure should say the claim expired: {:?}",
        failure.reason
    );
    assert_timestamp(&failure.at);
    // The first worker's token is fenced off now that someone else holds the job.
    let stale = first.claim.expect("dequeue prints the claim token");
    env.cmd(["complete", &job.id, "--claim", &stale])
        .expect_status(4)
        .expect_stdout("");
}

#[test]
fn with_no_retries_an_expired_claim_makes_the_job_dead_on_the_next_dequeue() {
    let env = TestEnv::new();
    let job = env.enqueue("q", r#"{"n":1}"#, &[]);
    assert_eq!(job.max_retries, 0);
    let claimed = env.dequeue("q", &["--worker", "w1", "--timeout", "1s"]);
    sleep_past_visible(&claimed);
    env.assert_empty("q");
    let dead: Job = env.json(&["get", &job.id]);
    assert_eq!(dead.status, "dead");
    assert_eq!(dead.attempt_count, 1);
    assert!(dead.finished_at.is_some(), "{dead:?}");
    assert_eq!(dead.errors.len(), 1, "{:?}", dead.errors);
    assert!(
        dead.errors[0].reason.contains("expired"),
        "{:?}",
        dead.errors[0].reason
    );
    let counts: Counts = env.json(&["stats"]);
    assert_eq!(
        counts,
        Counts {
            dead: 1,
            total: 1,
            ..NOTHING
        }
    );
}

#[test]
fn sweep_once_releases_expired_claims_in_every_queue_and_reports_them() {
    let env = TestEnv::new();
    let retried = env.enqueue("a", r#"{"n":1}"#, &["--max-retries", "1"]);
    let dies = env.enqueue("b", r#"{"n":2}"#, &[]);
    let live = env.enqueue("c", r#"{"n":3}"#, &[]);
    env.dequeue("a", &["--timeout", "1s"]);
    let last = env.dequeue("b", &["--timeout", "1s"]);
    env.dequeue("c", &["--timeout", "30m"]);
    sleep_past_visible(&last);

    let report: Sweep = env.json(&["sweep", "--once"]);
    assert_timestamp(&report.at);
    assert_eq!((report.retried, report.dead), (1, 1), "{report:?}");

    let job: Job = env.json(&["get", &retried.id]);
    assert_eq!((job.status.as_str(), job.attempt_count), ("pending", 1));
    let job: Job = env.json(&["get", &dies.id]);
    assert_eq!((job.status.as_str(), job.attempt_count), ("dead", 1));
    let job: Job = env.json(&["get", &live.id]);
    assert_eq!((job.status.as_str(), job.attempt_count), ("claimed", 0));

    let again: Sweep = env.json(&["sweep", "--once"]);
    assert_eq!((again.retried, again.dead), (0, 0), "{again:?}");
}

#[test]
fn sweep_daemon_releases_an_expired_claim_and_exits_0_on_sigterm() {
    let env = TestEnv::new();
    let job = env.enqueue("q", r#"{"n":1}"#, &["--max-retries", "1"]);
    env.dequeue("q", &["--timeout", "1s"]);
    let mut sweeper = Reaped::new(env.cmd(["sweep", "--interval", "200ms"]).spawn());
    wait_until_catching_signals(&mut sweeper);

    // `get` only reads, so the job turns pending only if the daemon released it.
    let deadline = Instant::now() + GENEROUS;
    loop {
        let current: Job = env.json(&["get", &job.id]);
        if current.status == "pending" {
            assert_eq!(current.attempt_count, 1);
            assert!(current.errors[0].reason.contains("expired"), "{current:?}");
            break;
        }
        assert_eq!(current.status, "claimed");
        assert!(
            Instant::now() < deadline,
            "sweep did not release the expired claim within {GENEROUS:?}"
        );
        sleep(Duration::from_millis(100));
    }

    send_signal(sweeper.child(), libc::SIGTERM);
    let done = sweeper.finish(GENEROUS, "sweep after SIGTERM");
    assert_eq!(done.code, Some(0), "{done:?}");
    let reports: Vec<Sweep> = done
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("sweep printed a line that is not a report ({e}): {line}")
            })
        })
        .collect();
    let released: u64 = reports.iter().map(|r| r.retried).sum();
    let dead: u64 = reports.iter().map(|r| r.dead).sum();
    assert_eq!((released, dead), (1, 0), "{reports:?}");
}

#[test]
fn sweep_daemon_exits_0_on_sigint() {
    let env = TestEnv::new();
    let mut sweeper = Reaped::new(env.cmd(["sweep", "--interval", "200ms"]).spawn());
    wait_until_catching_signals(&mut sweeper);
    send_signal(sweeper.child(), libc::SIGINT);
    let done = sweeper.finish(GENEROUS, "sweep after SIGINT");
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(
        done.stdout, "",
        "nothing was released, so nothing is reported"
    );
}

#[test]
fn a_job_that_could_not_be_printed_goes_back_to_the_queue() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    let mut child = env.cmd(["dequeue", "q"]).spawn();
    // Close the reading end before the job is printed: nobody will ever see it.
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "a closed pipe is not an error");
    let back: Job = env.json(&["get", &job.id]);
    assert_eq!((back.status.as_str(), back.attempt_count), ("pending", 0));
}

#[test]
fn an_interruption_is_a_json_error_of_kind_interrupted_when_json_is_asked_for() {
    let env = TestEnv::new();
    let mut child = spawn_waiting(&env, &["dequeue", "q", "--wait", "--format", "json"]);
    send_signal(child.child(), libc::SIGTERM);
    let done = child.finish(GENEROUS, "interrupted dequeue --wait");
    assert_eq!(done.code, Some(143));
    let error: serde_json::Value =
        serde_json::from_str(done.stderr.trim()).expect("one JSON error");
    assert_eq!(error["error"]["kind"], "interrupted");
}

#[test]
fn count_outside_one_to_ten_thousand_is_bad_input() {
    let env = TestEnv::new();
    for count in ["0", "10001"] {
        env.cmd(["dequeue", "q", "--count", count]).expect_status(2);
    }
    env.cmd(["dequeue", "q", "--count", "10000"])
        .expect_status(0)
        .expect_stdout("[]\n");
}

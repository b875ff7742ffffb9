//! A job's life: complete, fail and the retry rule, extend, claim expiry and `--claim` fencing.

use crate::harness::{Job, TestEnv};
use crate::support::wait::sleep_past_visible;

#[test]
fn complete_stores_output_from_argument_file_or_stdin() {
    let env = TestEnv::new();
    let file = env.dir().join("out.json");
    std::fs::write(&file, "{\n  \"from\": \"file\"\n}\n").unwrap();
    let sources = [
        (r#"{"from":"arg"}"#.to_string(), None),
        (format!("@{}", file.display()), None),
        ("-".to_string(), Some(r#"{"from":"stdin"}"#)),
    ];
    for (value, stdin) in sources {
        let job = env.enqueue("q", "1", &[]);
        env.dequeue("q", &[]);
        let done: Job = env
            .cmd(["complete", &job.id, "--output", &value])
            .stdin(stdin.unwrap_or_default())
            .expect_status(0)
            .json();
        assert_eq!(done.status, "done");
        assert!(done.output.unwrap()["from"].is_string());
    }
}

#[test]
fn fail_retries_until_max_retries_then_the_job_is_dead() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "2"]);
    for attempt in 1..=3u32 {
        let claimed = env.dequeue("q", &["--worker", "w"]);
        assert_eq!(claimed.id, job.id);
        let reason = format!("try {attempt}");
        let failed: Job = env.json(&["fail", &job.id, "--reason", &reason]);
        assert_eq!(failed.attempt_count, attempt);
        let expected = if attempt < 3 { "pending" } else { "dead" };
        assert_eq!(failed.status, expected, "after attempt {attempt}");
    }
    env.assert_empty("q");
    let dead: Job = env.json(&["get", &job.id]);
    let reasons: Vec<&str> = dead.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, vec!["try 1", "try 2", "try 3"]);
    assert!(dead.finished_at.is_some());
}

#[test]
fn fail_dead_skips_remaining_retries() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "5"]);
    env.dequeue("q", &[]);
    let dead: Job = env.json(&["fail", &job.id, "--dead", "--reason", "schema invalid"]);
    assert_eq!((dead.status.as_str(), dead.attempt_count), ("dead", 1));
    env.assert_empty("q");
}

#[test]
fn expired_claim_with_no_retries_left_makes_the_job_dead() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    let claimed = env.dequeue("q", &["--timeout", "1s", "--worker", "crashy"]);
    sleep_past_visible(&claimed);
    env.assert_empty("q");
    let dead: Job = env.json(&["get", &job.id]);
    assert_eq!((dead.status.as_str(), dead.attempt_count), ("dead", 1));
    assert!(
        dead.errors[0].reason.contains("expired"),
        "{:?}",
        dead.errors
    );
    assert_eq!(dead.errors[0].worker.as_deref(), Some("crashy"));
}

#[test]
fn expired_claim_is_redelivered_and_counts_an_attempt() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "1"]);
    let first = env.dequeue("q", &["--timeout", "1s"]);
    sleep_past_visible(&first);
    let second = env.dequeue("q", &[]);
    assert_eq!(second.id, job.id);
    assert_eq!(second.attempt_count, 1);
    assert_ne!(second.claim, first.claim);
}

#[test]
fn claim_fences_a_worker_whose_claim_went_to_someone_else() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "3"]);
    let slow = env.dequeue("q", &["--timeout", "1s", "--worker", "slow"]);
    sleep_past_visible(&slow);
    let fast = env.dequeue("q", &["--worker", "fast"]);
    let stale = slow.claim.unwrap();
    for verb in [&["complete"][..], &["fail"], &["extend", "--by", "1m"]] {
        let mut args = verb.to_vec();
        args.extend([job.id.as_str(), "--claim", stale.as_str()]);
        env.cmd(&args)
            .expect_status(4)
            .expect_stderr_contains("not this job's current claim (worker fast holds it now");
    }
    let done: Job = env.json(&[
        "complete",
        &job.id,
        "--claim",
        fast.claim.as_deref().unwrap(),
    ]);
    assert_eq!(
        (done.status.as_str(), done.worker.as_deref()),
        ("done", Some("fast"))
    );
}

#[test]
fn late_complete_is_accepted_while_nobody_else_took_the_job() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "1"]);
    let claimed = env.dequeue("q", &["--timeout", "1s"]);
    sleep_past_visible(&claimed);
    let token = claimed.claim.unwrap();
    // sweep puts the expired claim back to pending; nobody has claimed it since.
    let sweep: crate::harness::Sweep = env.json(&["sweep", "--once"]);
    assert_eq!(sweep.retried, 1);
    env.cmd(["complete", &job.id])
        .expect_status(4)
        .expect_stderr_contains("--claim");
    let done: Job = env.json(&["complete", &job.id, "--claim", &token]);
    assert_eq!(done.status, "done");
    env.assert_empty("q");
}

#[test]
fn complete_without_claim_acts_on_an_expired_but_unreleased_claim() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    let claimed = env.dequeue("q", &["--timeout", "1s"]);
    sleep_past_visible(&claimed);
    let done: Job = env.json(&["complete", &job.id]);
    assert_eq!((done.status.as_str(), done.attempt_count), ("done", 0));
}

#[test]
fn extend_pushes_the_deadline_so_the_job_is_not_redelivered() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "3"]);
    let claimed = env.dequeue("q", &["--timeout", "1s"]);
    let extended: Job = env.json(&["extend", &job.id, "--by", "1h"]);
    assert!(extended.visible_after > claimed.visible_after);
    // Past the claim's first deadline: only the extension keeps the job from the queue.
    sleep_past_visible(&claimed);
    env.assert_empty("q");
    let still: Job = env.json(&["get", &job.id]);
    assert_eq!((still.status.as_str(), still.attempt_count), ("claimed", 0));
}

#[test]
fn wrong_state_operations_are_conflicts() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    env.cmd(["complete", &job.id])
        .expect_status(4)
        .expect_stderr_contains("pending, not claimed");
    env.dequeue("q", &[]);
    env.json::<Job>(&["complete", &job.id]);
    env.cmd(["complete", &job.id])
        .expect_status(4)
        .expect_stderr_contains("already done");
    env.cmd(["fail", &job.id]).expect_status(4);
    env.cmd(["extend", &job.id, "--by", "1m"]).expect_status(4);
}

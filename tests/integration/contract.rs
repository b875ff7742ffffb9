//! The JSON contract: every command's output parsed into structs that reject unknown fields,
//! and the job object's exact key set and value shapes.

use serde_json::Value;

use crate::harness::{assert_timestamp, Counts, Job, Purge, QueueCounts, Sweep, TestEnv};

const JOB_KEYS: [&str; 23] = [
    "id",
    "queue",
    "type",
    "payload",
    "priority",
    "status",
    "attempts",
    "attempt_count",
    "max_retries",
    "backoff_ms",
    "backoff_max_ms",
    "group",
    "key",
    "worker",
    "claim",
    "claim_deadline",
    "run_after",
    "visible_after",
    "output",
    "errors",
    "created_at",
    "updated_at",
    "finished_at",
];

#[track_caller]
fn assert_job_keys(value: &Value) {
    assert_keys(value, &JOB_KEYS);
}

/// `enqueue` prints the job and whether it was deduplicated.
#[track_caller]
fn assert_enqueued_keys(value: &Value) {
    let mut keys = JOB_KEYS.to_vec();
    keys.push("deduplicated");
    assert_keys(value, &keys);
    assert!(value["deduplicated"].is_boolean());
}

/// `complete` prints the job and the follow-ups it enqueued.
#[track_caller]
fn assert_completed_keys(value: &Value) {
    let mut keys = JOB_KEYS.to_vec();
    keys.push("follow_ups");
    assert_keys(value, &keys);
    assert!(value["follow_ups"].is_array());
}

#[track_caller]
fn assert_keys(value: &Value, expected: &[&str]) {
    let object = value.as_object().expect("a job is a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "job keys");
}

#[test]
fn enqueue_prints_the_complete_job_object() {
    let env = TestEnv::new();
    let raw: Value = env.json(&["enqueue", "mail", "--payload", r#"{"to":"a@b.c"}"#]);
    assert_enqueued_keys(&raw);
    let job: Job = serde_json::from_value(raw).unwrap();
    // As README documents ids: q_ and 15 characters of lowercase Crockford base32.
    let body = job.id.strip_prefix("q_").unwrap_or_default();
    assert_eq!(body.len(), 15, "{}", job.id);
    assert!(
        body.bytes()
            .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)),
        "{}",
        job.id
    );
    assert_eq!(job.queue, "mail");
    assert_eq!(job.job_type, None);
    assert_eq!(job.payload, serde_json::json!({"to": "a@b.c"}));
    assert_eq!((job.priority, job.status.as_str()), (0, "pending"));
    assert_eq!((job.attempt_count, job.max_retries), (0, 0));
    assert_eq!((job.worker, job.claim, job.output), (None, None, None));
    assert!(job.errors.is_empty());
    assert_timestamp(job.visible_after.as_deref().unwrap());
    assert_timestamp(&job.created_at);
    assert_timestamp(&job.updated_at);
    assert_eq!(job.finished_at, None);
}

#[test]
fn every_job_printing_command_prints_the_same_shape() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "[1,2]", &["--type", "t", "--max-retries", "1"]);
    let claimed: Value = env.json(&["dequeue", "q", "--worker", "w1"]);
    assert_job_keys(&claimed);
    let claimed: Job = serde_json::from_value(claimed).unwrap();
    assert_eq!(claimed.id, job.id);
    assert_eq!(claimed.status, "claimed");
    assert_eq!(claimed.worker.as_deref(), Some("w1"));
    assert!(claimed.claim.as_deref().unwrap().starts_with("c_"));

    let extended: Value = env.json(&["extend", &job.id, "--by", "1m"]);
    assert_job_keys(&extended);

    let failed: Value = env.json(&["fail", &job.id, "--reason", "boom"]);
    assert_job_keys(&failed);
    let failed: Job = serde_json::from_value(failed).unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.attempt_count),
        ("pending", 1)
    );
    let failure = &failed.errors[0];
    assert_eq!((failure.attempt, failure.reason.as_str()), (1, "boom"));
    assert_eq!(failure.worker.as_deref(), Some("w1"));
    assert_timestamp(&failure.at);

    env.dequeue("q", &[]);
    let done: Value = env.json(&["complete", &job.id, "--output", r#"{"ok":true}"#]);
    assert_completed_keys(&done);
    let done: Job = serde_json::from_value(done).unwrap();
    assert_eq!(done.status, "done");
    assert_eq!(done.output, Some(serde_json::json!({"ok": true})));
    assert_eq!(done.visible_after, None);
    assert_timestamp(done.finished_at.as_deref().unwrap());

    let got: Value = env.json(&["get", &job.id]);
    assert_job_keys(&got);
    let listed: Vec<Value> = env.json(&["list"]);
    assert_eq!(listed.len(), 1);
    assert_job_keys(&listed[0]);
}

#[test]
fn dequeue_count_prints_an_array_even_when_empty() {
    let env = TestEnv::new();
    let none: Vec<Job> = env.json(&["dequeue", "q", "--count", "5"]);
    assert!(none.is_empty());
    env.cmd(["dequeue", "q", "--count", "5"])
        .expect_status(0)
        .expect_stdout("[]\n");
    env.enqueue("q", "1", &[]);
    let some: Vec<Job> = env.json(&["dequeue", "q", "--count", "5"]);
    assert_eq!(some.len(), 1);
}

#[test]
fn jsonl_prints_one_object_per_line() {
    let env = TestEnv::new();
    for n in 0..3 {
        env.enqueue("q", &n.to_string(), &[]);
    }
    let run = env
        .cmd(["dequeue", "q", "--count", "3", "--format", "jsonl"])
        .expect_status(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    for line in lines {
        let _: Job = serde_json::from_str(line).unwrap();
    }
}

#[test]
fn counts_queues_purge_and_sweep_have_pinned_shapes() {
    let env = TestEnv::new();
    env.enqueue("b", "1", &[]);
    env.enqueue("a", "1", &[]);
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.total, 2);
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    assert_eq!(queues.len(), 2);
    let purge: Purge = env.json(&["purge", "--queue", "a", "--dry-run"]);
    assert_eq!(
        purge,
        Purge {
            matched: 1,
            removed: 0,
            dry_run: true
        }
    );
    let sweep: Sweep = env.json(&["sweep", "--once"]);
    assert_timestamp(&sweep.at);
    assert_eq!((sweep.retried, sweep.dead), (0, 0));
}

#[test]
fn format_env_var_selects_the_output_format() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    let run = env
        .cmd(["stats"])
        .env("QUEUEPRIM_FORMAT", "table")
        .expect_status(0);
    assert!(run.stdout.contains("PENDING"), "{}", run.stdout);
    let run = env
        .cmd(["stats", "--format", "json"])
        .env("QUEUEPRIM_FORMAT", "table")
        .expect_status(0);
    let _: Counts = run.json();
}

#[test]
fn a_terminal_gets_a_table_and_a_pipe_gets_json() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    // `script` gives the command a pseudo-terminal as its stdout.
    let command = format!(
        "{} --db '{}' stats",
        crate::harness::BIN,
        env.db().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("QUEUEPRIM_FORMAT")
        .output()
        .expect("script (util-linux) runs the command on a terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PENDING") && text.contains("TOTAL"), "{text}");
    let piped: Counts = env.json(&["stats"]);
    assert_eq!(piped.pending, 1);
}

#[test]
fn tries_deadlines_and_visibility_each_have_a_field_of_their_own() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "2"]);
    assert_eq!((job.attempts, job.attempt_count), (0, 0));
    assert_eq!(job.claim_deadline, None);
    assert_eq!(job.run_after, job.visible_after);

    let claimed = env.dequeue("q", &["--worker", "w1"]);
    assert_eq!((claimed.attempts, claimed.attempt_count), (1, 0));
    assert_eq!(claimed.claim_deadline, claimed.visible_after);
    assert_eq!(claimed.run_after, None);

    let failed: Job = env.json(&["fail", &job.id, "--reason", "boom", "--retry-in", "0s"]);
    assert_eq!((failed.attempts, failed.attempt_count), (1, 1));
    assert_eq!(
        failed.errors[0].attempt, 1,
        "errors number tries like attempts"
    );
    assert_eq!(failed.claim_deadline, None, "nobody holds it");
    assert_eq!(failed.run_after, failed.visible_after);
    assert_eq!(
        failed.worker.as_deref(),
        Some("w1"),
        "worker stays the last claim's"
    );

    assert_eq!(env.dequeue("q", &["--worker", "w2"]).attempts, 2);
    let released: Job = env.json(&["release", &job.id]);
    assert_eq!(
        (released.attempts, released.attempt_count),
        (1, 1),
        "given back"
    );
    assert_eq!(released.claim_deadline, None);
    assert!(released.run_after.is_some());

    let lapsing = env.dequeue("q", &["--worker", "w3", "--timeout", "1s"]);
    assert_eq!(lapsing.attempts, 2);
    crate::support::wait::sleep_past(lapsing.visible_after.as_deref().unwrap());
    let sweep: Sweep = env.json(&["sweep", "--once"]);
    assert_eq!(sweep.retried, 1);
    let expired: Job = env.json(&["get", &job.id]);
    assert_eq!((expired.attempts, expired.attempt_count), (2, 2));
    assert_eq!(expired.errors[1].attempt, 2);
    let token = lapsing.claim.unwrap();
    let late: Job = env.json(&["complete", &job.id, "--claim", &token]);
    assert_eq!(late.status, "done");
    assert_eq!(
        (late.attempts, late.attempt_count),
        (2, 2),
        "one try, counted once"
    );
    assert_eq!((late.claim_deadline, late.run_after), (None, None));

    let delayed = env.enqueue("q", "2", &["--delay", "1h"]);
    assert!(delayed.run_after.as_deref().unwrap() > delayed.created_at.as_str());
}

#[test]
fn queueprim_attempt_is_the_job_s_attempts() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "1"]);
    let script = r#"echo "$QUEUEPRIM_ATTEMPT"; [ "$QUEUEPRIM_ATTEMPT" -ge 2 ]"#;
    env.cmd(["work", "q", "--until-empty", "--", "sh", "-c", script])
        .expect_status(0);
    let done: Job = env.json(&["get", &job.id]);
    assert_eq!(done.status, "done");
    assert_eq!(done.output, Some(serde_json::json!(2)));
    assert_eq!((done.attempts, done.attempt_count), (2, 1));
    assert_eq!(done.errors[0].attempt, 1);
}

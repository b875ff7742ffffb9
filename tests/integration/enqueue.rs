//! `enqueue`: payload sources and compaction, priority, retries, type, delay and `--at`, how
//! the queue is given, and `--batch` (order, all-or-nothing, line numbers in errors).

use serde_json::json;

use crate::harness::{assert_timestamp, millis, Counts, Job, TestEnv};
use crate::support::wait::now_ms;

/// Checks everything a freshly enqueued job must look like.
#[track_caller]
fn assert_new_job(env: &TestEnv, job: &Job, queue: &str) {
    assert!(job.id.starts_with("q_"), "id {}", job.id);
    assert!(
        job.id.len() > 2
            && job
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "id is not shell-safe: {}",
        job.id
    );
    assert_eq!(job.queue, queue);
    assert_eq!(job.status, "pending");
    assert_eq!(job.attempt_count, 0);
    assert_eq!(job.worker, None);
    assert_eq!(job.claim, None);
    assert_eq!(job.output, None);
    assert!(job.errors.is_empty());
    assert_eq!(job.finished_at, None);
    assert_timestamp(&job.created_at);
    assert_timestamp(&job.updated_at);
    assert_eq!(job.created_at, job.updated_at);
    let visible_after = job
        .visible_after
        .as_deref()
        .expect("pending job has visible_after");
    assert_timestamp(visible_after);
    let created = millis(&job.created_at);
    assert!(
        (env.created_ms()..=now_ms()).contains(&created),
        "created_at {} is not the time of the enqueue",
        job.created_at
    );
}

#[test]
fn payload_from_an_argument_is_stored_and_returned() {
    let env = TestEnv::new();
    let job = env.enqueue("emails", r#"{"to":"a@example.com"}"#, &[]);
    assert_new_job(&env, &job, "emails");
    assert_eq!(job.payload, json!({"to": "a@example.com"}));
    assert_eq!(job.priority, 0);
    assert_eq!(job.max_retries, 0);
    assert_eq!(job.job_type, None);
    assert_eq!(job.visible_after.as_deref(), Some(job.created_at.as_str()));

    let got: Job = env.json(&["get", &job.id]);
    assert_eq!(got.payload, job.payload);
    assert_eq!(got.created_at, job.created_at);
}

#[test]
fn payload_is_compacted_keeping_key_order_and_number_spelling() {
    let env = TestEnv::new();
    let run = env
        .cmd([
            "enqueue",
            "e",
            "--payload",
            "{\"b\": 1.50,\n \"a\": [1, 2]}",
        ])
        .expect_status(0);
    assert!(
        run.stdout.contains(r#""payload":{"b":1.50,"a":[1,2]}"#),
        "{}",
        run.stdout
    );
    let job: Job = run.json();
    let got = env.cmd(["get", &job.id]).expect_status(0);
    assert!(
        got.stdout.contains(r#""payload":{"b":1.50,"a":[1,2]}"#),
        "{}",
        got.stdout
    );

    // Whitespace and escapes inside strings are part of the value and stay as written.
    let run = env
        .cmd([
            "enqueue",
            "e",
            "--payload",
            r#"{ "s" : "a  b\t\"c\" \u00e9", "n": 1e3 }"#,
        ])
        .expect_status(0);
    assert!(
        run.stdout
            .contains(r#""payload":{"s":"a  b\t\"c\" \u00e9","n":1e3}"#),
        "{}",
        run.stdout
    );
}

#[test]
fn payload_can_be_any_json_value() {
    let env = TestEnv::new();
    for (text, value) in [
        ("42", json!(42)),
        ("\"text\"", json!("text")),
        ("null", json!(null)),
        ("true", json!(true)),
        ("[]", json!([])),
    ] {
        let job = env.enqueue("e", text, &[]);
        assert_eq!(job.payload, value, "{text}");
    }
}

#[test]
fn payload_from_a_file_is_read_and_compacted() {
    let env = TestEnv::new();
    let path = env.dir().join("payload.json");
    std::fs::write(&path, "{\n  \"to\": \"b@example.com\",\n  \"n\": 2.0\n}\n").unwrap();
    let run = env
        .cmd(["enqueue", "e", "--payload", &format!("@{}", path.display())])
        .expect_status(0);
    assert!(
        run.stdout
            .contains(r#""payload":{"to":"b@example.com","n":2.0}"#),
        "{}",
        run.stdout
    );
    assert_new_job(&env, &run.json(), "e");
}

#[test]
fn payload_dash_reads_stdin() {
    let env = TestEnv::new();
    let run = env
        .cmd(["enqueue", "e", "--payload", "-"])
        .stdin("{\"from\": \"stdin\",\n \"list\": [3, 2, 1]}\n")
        .expect_status(0);
    assert!(
        run.stdout
            .contains(r#""payload":{"from":"stdin","list":[3,2,1]}"#),
        "{}",
        run.stdout
    );
    assert_new_job(&env, &run.json(), "e");
}

#[test]
fn priority_takes_words_and_integers() {
    let env = TestEnv::new();
    for (given, expected) in [
        ("high", 10),
        ("normal", 0),
        ("low", -10),
        ("-5", -5),
        ("7", 7),
    ] {
        let job = env.enqueue("e", "1", &["--priority", given]);
        assert_eq!(job.priority, expected, "--priority {given}");
        assert_new_job(&env, &job, "e");
        let got: Job = env.json(&["get", &job.id]);
        assert_eq!(got.priority, expected, "stored --priority {given}");
    }
}

#[test]
fn max_retries_is_stored() {
    let env = TestEnv::new();
    let job = env.enqueue("e", "1", &["--max-retries", "3"]);
    assert_eq!(job.max_retries, 3);
    assert_eq!(env.json::<Job>(&["get", &job.id]).max_retries, 3);
    assert_new_job(&env, &job, "e");
}

#[test]
fn type_is_stored_and_used_by_dequeue() {
    let env = TestEnv::new();
    let job = env.enqueue("e", "1", &["--type", "send.email"]);
    assert_new_job(&env, &job, "e");
    assert_eq!(job.job_type.as_deref(), Some("send.email"));
    env.cmd(["dequeue", "e", "--type", "other"])
        .expect_status(0)
        .expect_stdout("");
    let claimed = env.dequeue("e", &["--type", "send.email"]);
    assert_eq!(claimed.id, job.id);
}

#[test]
fn delay_makes_the_job_visible_later() {
    let env = TestEnv::new();
    let job = env.enqueue("e", "1", &["--delay", "1h"]);
    assert_new_job(&env, &job, "e");
    let visible = millis(job.visible_after.as_deref().unwrap());
    let delay = visible - millis(&job.created_at);
    assert!(
        (3_599_000..=3_601_000).contains(&delay),
        "visible_after {} should be an hour after created_at {}",
        job.visible_after.as_deref().unwrap(),
        job.created_at
    );
    env.assert_empty("e");

    let job = env.enqueue("f", "1", &["--delay", "1h 30m"]);
    let delay = millis(job.visible_after.as_deref().unwrap()) - millis(&job.created_at);
    assert!((5_399_000..=5_401_000).contains(&delay), "{delay}");
    env.assert_empty("f");
    assert_eq!(env.json::<Counts>(&["stats"]).pending, 2);
}

#[test]
fn at_in_the_past_is_dequeued_at_once() {
    let env = TestEnv::new();
    let job = env.enqueue("e", "1", &["--at", "2020-01-02T03:04:05Z"]);
    assert_new_job(&env, &job, "e");
    assert_eq!(
        job.visible_after.as_deref(),
        Some("2020-01-02T03:04:05.000Z")
    );
    assert_eq!(env.dequeue("e", &[]).id, job.id);
}

#[test]
fn at_in_the_future_is_not_dequeued() {
    let env = TestEnv::new();
    let job = env.enqueue("e", "1", &["--at", "2999-01-01T00:00:00+02:00"]);
    assert_new_job(&env, &job, "e");
    assert_eq!(
        job.visible_after.as_deref(),
        Some("2998-12-31T22:00:00.000Z")
    );
    env.assert_empty("e");
    assert_eq!(env.json::<Job>(&["get", &job.id]).status, "pending");
}

#[test]
fn delay_and_at_together_exit_2() {
    let env = TestEnv::new();
    env.cmd([
        "enqueue",
        "e",
        "--payload",
        "1",
        "--delay",
        "1m",
        "--at",
        "2030-01-01T00:00:00Z",
    ])
    .expect_status(2)
    .expect_stdout("")
    .expect_stderr_contains("--delay")
    .expect_stderr_contains("--at");
}

#[test]
fn queue_can_be_given_with_the_queue_flag() {
    let env = TestEnv::new();
    let job: Job = env.json(&["enqueue", "--queue", "tenant/acme:v1", "--payload", "1"]);
    assert_new_job(&env, &job, "tenant/acme:v1");
    assert_eq!(env.dequeue("tenant/acme:v1", &[]).id, job.id);
}

#[test]
fn positional_queue_and_queue_flag_together_exit_2() {
    let env = TestEnv::new();
    env.cmd(["enqueue", "a", "--queue", "b", "--payload", "1"])
        .expect_status(2)
        .expect_stdout("")
        .expect_stderr_contains("--queue");
    assert!(!env.db().exists());
}

#[test]
fn missing_queue_exits_2() {
    let env = TestEnv::new();
    env.cmd(["enqueue", "--payload", "1"])
        .expect_status(2)
        .expect_stdout("")
        .expect_stderr_contains("required arguments were not provided: <QUEUE|--queue <QUEUE>>");
    assert!(!env.db().exists());
}

#[test]
fn batch_enqueues_every_line_in_order_skipping_blank_lines() {
    let env = TestEnv::new();
    let jobs: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch"])
        .stdin("{\"n\": 1}\n[1, 2.50]\n\n\"three\"\n")
        .expect_status(0)
        .json();
    assert_eq!(jobs.len(), 3);
    let payloads: Vec<_> = jobs.iter().map(|j| j.payload.clone()).collect();
    assert_eq!(payloads, [json!({"n": 1}), json!([1, 2.5]), json!("three")]);
    for job in &jobs {
        assert_new_job(&env, job, "e");
    }
    let mut ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "ids are unique");

    // Enqueued in line order: dequeue hands them out first line first.
    for job in &jobs {
        assert_eq!(env.dequeue("e", &[]).id, job.id);
    }
}

#[test]
fn batch_applies_the_flags_to_every_job() {
    let env = TestEnv::new();
    let jobs: Vec<Job> = env
        .cmd([
            "enqueue",
            "--queue",
            "e",
            "--batch",
            "--priority",
            "high",
            "--max-retries",
            "2",
            "--type",
            "t",
            "--delay",
            "10m",
        ])
        .stdin("1\n2\n")
        .expect_status(0)
        .json();
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert_new_job(&env, job, "e");
        assert_eq!(job.priority, 10);
        assert_eq!(job.max_retries, 2);
        assert_eq!(job.job_type.as_deref(), Some("t"));
        let delay = millis(job.visible_after.as_deref().unwrap()) - millis(&job.created_at);
        assert!((599_000..=601_000).contains(&delay), "{delay}");
    }
    env.assert_empty("e");
}

#[test]
fn bad_batch_line_is_named_and_nothing_is_enqueued() {
    let env = TestEnv::new();
    env.enqueue("e", "0", &[]);
    let run = env
        .cmd(["--format", "json", "enqueue", "e", "--batch"])
        .stdin("1\n2\n{\"a\":\n4\n5\n")
        .expect_status(2)
        .expect_stdout("");
    let err = run.json_error();
    assert_eq!(err.kind, "invalid_input");
    assert!(err.message.contains("line 3"), "{}", err.message);
    assert!(err.message.contains("not valid JSON"), "{}", err.message);
    assert_eq!(env.json::<Counts>(&["stats"]).total, 1);
    assert_eq!(env.dequeue("e", &[]).payload, json!(0));
    env.assert_empty("e");
}

#[test]
fn batch_line_numbers_count_blank_lines() {
    let env = TestEnv::new();
    env.cmd(["enqueue", "e", "--batch"])
        .stdin("1\n\n\nnope\n")
        .expect_status(2)
        .expect_stdout("")
        .expect_stderr_contains("line 4");
    assert!(!env.db().exists());
}

#[test]
fn invalid_utf8_batch_line_exits_2() {
    let env = TestEnv::new();
    env.enqueue("e", "0", &[]);
    let run = env
        .cmd(["--format", "json", "enqueue", "e", "--batch"])
        .stdin(b"1\n\"\xff\xfe\"\n3\n".to_vec())
        .expect_status(2)
        .expect_stdout("");
    let err = run.json_error();
    assert!(err.message.contains("line 2"), "{}", err.message);
    assert!(err.message.contains("UTF-8"), "{}", err.message);
    assert_eq!(env.json::<Counts>(&["stats"]).total, 1);
}

#[test]
fn batch_over_size_line_exits_2_naming_it() {
    let env = TestEnv::new();
    let big = format!("1\n\"{}\"\n", "x".repeat(1024 * 1024));
    env.cmd(["enqueue", "e", "--batch"])
        .stdin(big)
        .expect_status(2)
        .expect_stdout("")
        .expect_stderr_contains("line 2")
        .expect_stderr_contains("1 MiB");
    assert!(!env.db().exists());
}

#[test]
fn empty_batch_prints_an_empty_array() {
    let env = TestEnv::new();
    env.cmd(["enqueue", "e", "--batch"])
        .stdin("")
        .expect_status(0)
        .expect_stdout("[]\n");
    env.cmd(["enqueue", "e", "--batch"])
        .stdin("\n  \n")
        .expect_status(0)
        .expect_stdout("[]\n");
    assert_eq!(env.json::<Counts>(&["stats"]).total, 0);
}

#[test]
fn batch_with_payload_exits_2() {
    let env = TestEnv::new();
    env.cmd(["enqueue", "e", "--batch", "--payload", "1"])
        .stdin("2\n")
        .expect_status(2)
        .expect_stdout("")
        .expect_stderr_contains("--batch")
        .expect_stderr_contains("--payload");
    assert!(!env.db().exists());
}

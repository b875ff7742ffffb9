//! `enqueue`: payload sources and compaction, priority, retries, type, delay and `--at`, how
//! the queue is given, job ids, and `--batch` (order, all-or-nothing, line numbers in errors,
//! dedup keys, batches longer than what is read before the database is opened, output read
//! from the commit).

use std::io::{Read, Write};
use std::process::Stdio;

use serde_json::{json, Value};

use crate::harness::{assert_timestamp, millis, Counts, Job, TestEnv, BIN};
use crate::support::postgres::cluster;
use crate::support::wait::{eventually, now_ms, GENEROUS};

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

/// Checks a job id is as README describes it: `q_` and 15 characters of lowercase
/// Crockford base32.
#[track_caller]
fn assert_id_shape(id: &str) {
    let body = id
        .strip_prefix("q_")
        .unwrap_or_else(|| panic!("id {id} lacks q_"));
    assert_eq!(body.len(), 15, "id {id}");
    assert!(
        body.bytes()
            .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)),
        "id {id} is not lowercase Crockford base32"
    );
}

/// What a batch reads before it opens the database; longer batches go on inside the
/// transaction (src/cmd/enqueue.rs).
const HEAD_BYTES: usize = 4 * 1024 * 1024;

/// Lines of about `bytes` each, `{"n":N,"pad":"…"}`, numbered from `from`, enough of them to
/// make a batch longer than [`HEAD_BYTES`].
fn long_lines(from: usize, bytes: usize) -> Vec<String> {
    let count = HEAD_BYTES / bytes + 3;
    (from..from + count)
        .map(|n| format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(bytes)))
        .collect()
}

#[test]
fn ids_sort_by_creation_and_within_a_batch_follow_the_lines() {
    let env = TestEnv::new();
    let first = env.enqueue("e", "0", &[]);
    let input: String = (1..=300).map(|n| format!("{n}\n")).collect();
    let jobs: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch"])
        .stdin(input)
        .expect_status(0)
        .json();
    let last = env.enqueue("e", "301", &[]);
    let ids: Vec<&str> = std::iter::once(first.id.as_str())
        .chain(jobs.iter().map(|j| j.id.as_str()))
        .chain([last.id.as_str()])
        .collect();
    ids.iter().for_each(|id| assert_id_shape(id));
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids must increase in creation order: {ids:?}"
    );
}

#[test]
fn batch_prints_every_job_as_it_is_stored() {
    let env = TestEnv::new();
    let run = env
        .cmd([
            "enqueue",
            "e",
            "--batch",
            "--type",
            "t",
            "--priority",
            "-7",
            "--max-retries",
            "4",
            "--backoff",
            "5s",
            "--backoff-max",
            "1m",
            "--delay",
            "1h",
        ])
        .stdin("{\"a\": [1, 2.50]}\n\"two\"\nnull\n")
        .expect_status(0);
    let printed: Vec<Value> = run.json();
    assert_eq!(printed.len(), 3);
    for mut job in printed {
        assert_eq!(job["deduplicated"], json!(false));
        job.as_object_mut().unwrap().remove("deduplicated");
        let stored: Value = env.json(&["get", job["id"].as_str().unwrap()]);
        assert_eq!(job, stored);
    }
    let grouped: Vec<Value> = env
        .cmd(["enqueue", "g", "--batch", "--group", "G", "--key", "k"])
        .stdin("1\n")
        .expect_status(0)
        .json();
    let mut job = grouped[0].clone();
    job.as_object_mut().unwrap().remove("deduplicated");
    assert_eq!(
        job,
        env.json::<Value>(&["get", job["id"].as_str().unwrap()])
    );
}

#[test]
fn batch_with_a_key_adds_one_job_and_every_later_line_gets_it() {
    let env = TestEnv::new();
    let batch = |input: &str| -> Vec<Job> {
        env.cmd(["enqueue", "e", "--batch", "--key", "k"])
            .stdin(input)
            .expect_status(0)
            .json()
    };
    let jobs = batch("1\n2\n\n3\n");
    assert_eq!(jobs.len(), 3);
    let dedup: Vec<Option<bool>> = jobs.iter().map(|j| j.deduplicated).collect();
    assert_eq!(dedup, [Some(false), Some(true), Some(true)]);
    assert!(jobs
        .iter()
        .all(|j| j.id == jobs[0].id && j.payload == json!(1)));
    assert_eq!(env.json::<Counts>(&["stats"]).total, 1);

    // The key is held: a whole later batch finds that job.
    let again = batch("4\n5\n");
    assert!(again
        .iter()
        .all(|j| j.id == jobs[0].id && j.deduplicated == Some(true)));

    // Once the job is done the key is free, and the next batch adds one job again.
    let claimed = env.dequeue("e", &[]);
    env.cmd(["complete", &claimed.id]).expect_status(0);
    let fresh = batch("6\n7\n");
    assert_ne!(fresh[0].id, jobs[0].id);
    assert_eq!(fresh[0].deduplicated, Some(false));
    assert_eq!(fresh[1].id, fresh[0].id);
    assert_eq!(fresh[1].payload, json!(6));
    assert_eq!(env.json::<Counts>(&["stats"]).total, 2);
}

#[test]
fn batch_as_json_lines_and_as_a_table_lists_every_job_in_input_order() {
    let env = TestEnv::new();
    // More than a table page (1,000 rows), to see the pages join up.
    let input: String = (0..2500).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let run = env
        .cmd(["enqueue", "e", "--batch", "--format", "jsonl"])
        .stdin(input.clone())
        .expect_status(0);
    let payloads: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<Job>(line).unwrap().payload)
        .collect();
    let expected: Vec<Value> = (0..2500).map(|n| json!({"n": n})).collect();
    assert_eq!(payloads, expected);

    let run = env
        .cmd(["enqueue", "t", "--batch", "--format", "table"])
        .stdin(input)
        .expect_status(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2501, "one header and a row per job");
    assert!(lines[0].trim_start().starts_with("ID"), "{}", lines[0]);
    assert_eq!(lines.iter().filter(|l| l.contains("PAYLOAD")).count(), 1);
    for (n, line) in lines[1..].iter().enumerate() {
        assert!(line.ends_with(&format!("{{\"n\":{n}}}")), "row {n}: {line}");
        // Every page lines up with the first: the payload column starts at one place.
        assert_eq!(line.find('{'), lines[1].find('{'), "row {n}: {line}");
    }
    env.cmd(["enqueue", "e", "--batch", "--format", "jsonl"])
        .stdin("\n")
        .expect_status(0)
        .expect_stdout("");
}

#[test]
fn batch_longer_than_what_is_read_first_is_added_whole_and_in_order() {
    let env = TestEnv::new();
    let mut lines = long_lines(0, 64 * 1024);
    let big = lines.len();
    lines.extend((big..big + 500).map(|n| format!("{{\"n\":{n}}}")));
    let jobs: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch"])
        .stdin(lines.join("\n\n"))
        .expect_status(0)
        .json();
    assert_eq!(jobs.len(), lines.len());
    for (n, job) in jobs.iter().enumerate() {
        assert_eq!(job.payload["n"], json!(n), "job {n}");
        assert_eq!(job.deduplicated, Some(false));
    }
    assert!(jobs.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(env.json::<Counts>(&["stats"]).pending, lines.len() as u64);
    assert_eq!(env.dequeue("e", &[]).id, jobs[0].id);
}

#[test]
fn bad_line_past_what_is_read_first_is_named_and_nothing_is_enqueued() {
    let env = TestEnv::new();
    env.enqueue("e", "0", &[]);
    let mut lines = long_lines(1, 64 * 1024);
    lines.push(String::new());
    lines.push("{\"unterminated\": ".into());
    lines.push("1".into());
    let bad_line = lines.len() - 1;
    let run = env
        .cmd(["--format", "json", "enqueue", "e", "--batch"])
        .stdin(lines.join("\n"))
        .expect_status(2)
        .expect_stdout("");
    let err = run.json_error();
    assert_eq!(err.kind, "invalid_input");
    assert!(
        err.message.contains(&format!("--batch line {bad_line}:")),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("nothing was enqueued"),
        "{}",
        err.message
    );
    assert_eq!(env.json::<Counts>(&["stats"]).total, 1);
    assert_eq!(env.dequeue("e", &[]).payload, json!(0));
    env.assert_empty("e");
}

#[test]
fn batch_killed_while_reading_past_what_is_read_first_adds_nothing() {
    let env = TestEnv::new();
    env.enqueue("e", "0", &[]);
    let mut child = env
        .isolated(BIN)
        .args(["enqueue", "e", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn enqueue --batch");
    // A pipe holds 64 KiB: once this write returns, the batch has read all but the last
    // few lines, so it is past the head and adding jobs inside its open transaction. Its
    // stdin stays open, so it waits there for more.
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = long_lines(1, 16 * 1024);
    lines.extend(long_lines(lines.len() + 1, 16 * 1024));
    stdin.write_all(lines.join("\n").as_bytes()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    assert_eq!(env.json::<Counts>(&["stats"]).total, 1);
    let jobs: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch"])
        .stdin("1\n2\n")
        .expect_status(0)
        .json();
    assert_eq!(jobs.len(), 2);
    assert_eq!(env.json::<Counts>(&["stats"]).total, 3);
}

#[test]
fn batch_prints_its_jobs_as_committed_while_others_change_them() {
    let env = TestEnv::new();
    let count: u64 = 3000;
    let input: String = (0..count).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let input_path = env.dir().join("batch.jsonl");
    std::fs::write(&input_path, input).unwrap();
    let mut child = env
        .isolated(BIN)
        .args(["enqueue", "e", "--batch", "--format", "jsonl"])
        .stdin(std::fs::File::open(&input_path).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn enqueue --batch");
    // Nobody reads its stdout yet: a megabyte of output fills the pipe, so the batch
    // commits, then stalls part-way through printing.
    eventually(GENEROUS, "the batch to commit", || {
        env.json::<Counts>(&["stats"]).total >= count
    });
    let claimed = env.dequeue("e", &[]);
    env.cmd(["complete", &claimed.id]).expect_status(0);
    env.cmd(["purge", "--queue", "e"]).expect_status(0);
    assert_eq!(env.json::<Counts>(&["stats"]).total, 0);

    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "enqueue --batch failed: {status:?}");
    let jobs: Vec<Job> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(jobs.len(), count as usize);
    for (n, job) in jobs.iter().enumerate() {
        assert_eq!(job.payload, json!({"n": n}), "job {n}");
        assert_eq!(
            job.status, "pending",
            "job {n} as committed, not as claimed later"
        );
        assert_eq!(job.claim, None, "job {n}");
    }
    assert_eq!(jobs[0].id, claimed.id);
}

#[test]
fn jobs_with_ids_of_the_earlier_random_kind_keep_working_beside_new_ones() {
    let env = TestEnv::new();
    let job = env.enqueue("e", "1", &["--key", "k"]);
    // A database from before time-ordered ids: q_ and 10 random characters.
    let old = "q_1m8nqj814jqfwrx";
    let rename = format!("UPDATE {{jobs}} SET id = '{old}' WHERE id = '{}'", job.id);
    match env.schema() {
        Some(schema) => {
            cluster().psql(&rename.replace("{jobs}", &format!("\"{schema}\".jobs")));
        }
        None => {
            let conn = rusqlite::Connection::open(env.db()).unwrap();
            conn.execute(&rename.replace("{jobs}", "jobs"), []).unwrap();
        }
    }
    let got: Job = env.json(&["get", old]);
    assert_eq!(got.payload, json!(1));

    // A batch finds the old job by its key, and adds new jobs beside it.
    let found: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch", "--key", "k"])
        .stdin("2\n3\n")
        .expect_status(0)
        .json();
    assert!(found
        .iter()
        .all(|j| j.id == old && j.deduplicated == Some(true)));
    let table = env
        .cmd(["enqueue", "e", "--batch", "--key", "k", "--format", "table"])
        .stdin("4\n")
        .expect_status(0);
    assert!(table.stdout.contains(old), "{}", table.stdout);
    let added: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch"])
        .stdin("5\n6\n")
        .expect_status(0)
        .json();
    added.iter().for_each(|j| assert_id_shape(&j.id));

    assert_eq!(env.dequeue("e", &[]).id, old);
    env.cmd(["complete", old]).expect_status(0);
    let next = env.dequeue("e", &[]);
    assert_eq!(next.id, added[0].id);
}

/// The ids of queue `queue`'s jobs in enqueue order (`list` is newest first).
fn ids_in_enqueue_order(env: &TestEnv, queue: &str) -> Vec<String> {
    let mut jobs: Vec<Job> = env.json(&["list", queue, "--limit", "0"]);
    jobs.reverse();
    jobs.into_iter().map(|j| j.id).collect()
}

#[test]
fn batch_into_a_group_waits_behind_its_live_job_in_line_order() {
    let env = TestEnv::new();
    let live = env.enqueue("e", "0", &["--group", "g"]);
    // Past one statement's worth of jobs (512), so the order holds across statements.
    let input: String = (1..=600).map(|n| format!("{n}\n")).collect();
    let batch: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch", "--group", "g", "--priority", "9"])
        .stdin(input)
        .expect_status(0)
        .json();
    assert_eq!(batch.len(), 600);
    assert!(batch.iter().all(|j| j.status == "pending"));
    let mut expected = vec![live.id.clone()];
    expected.extend(batch.iter().map(|j| j.id.clone()));
    assert_eq!(ids_in_enqueue_order(&env, "e"), expected);

    // Higher priority, yet each waits for the one before it.
    for (n, job) in std::iter::once(&live).chain(&batch).take(3).enumerate() {
        let claimed = env.dequeue("e", &[]);
        assert_eq!(claimed.id, job.id, "job {n}");
        env.assert_empty("e");
        env.cmd(["complete", &claimed.id]).expect_status(0);
    }
}

#[test]
fn batch_into_an_idle_group_lets_its_first_line_go_and_queues_the_rest() {
    let env = TestEnv::new();
    let batch: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch", "--group", "g"])
        .stdin("1\n2\n3\n")
        .expect_status(0)
        .json();
    let claimed = env.dequeue("e", &[]);
    assert_eq!(claimed.id, batch[0].id);
    env.assert_empty("e");
    env.cmd(["complete", &claimed.id]).expect_status(0);
    assert_eq!(env.dequeue("e", &[]).id, batch[1].id);
}

#[test]
fn batch_takes_its_queue_defaults_and_keeps_line_order_across_statements() {
    let env = TestEnv::new();
    env.cmd(["config", "e", "--max-retries", "3", "--backoff", "2s"])
        .expect_status(0);
    let input: String = (0..1500).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let batch: Vec<Job> = env
        .cmd(["enqueue", "e", "--batch"])
        .stdin(input)
        .expect_status(0)
        .json();
    assert!(batch.iter().all(|j| j.max_retries == 3), "{:?}", batch[0]);
    let ids: Vec<String> = batch.iter().map(|j| j.id.clone()).collect();
    assert_eq!(ids_in_enqueue_order(&env, "e"), ids);
    let stored: Job = env.json(&["get", &ids[1499]]);
    assert_eq!(stored.max_retries, 3);
    assert_eq!(stored.payload, json!({"n": 1499}));
}

#[test]
fn bad_line_of_a_batch_with_a_key_or_a_group_past_what_is_read_first_writes_nothing() {
    let env = TestEnv::new();
    env.enqueue("e", "0", &[]);
    // Past the head, so the first line is in when the bad one is read.
    let mut lines = long_lines(1, 64 * 1024);
    lines.push("{oops".into());
    let bad_line = lines.len();
    for options in [["--key", "k"], ["--group", "g"]] {
        env.cmd(["enqueue", "e", "--batch", options[0], options[1]])
            .stdin(lines.join("\n"))
            .expect_status(2)
            .expect_stderr_contains(&format!("--batch line {bad_line}:"));
    }
    assert_eq!(env.json::<Counts>(&["stats"]).total, 1);
}

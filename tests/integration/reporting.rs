//! Reading and cleaning up: `get`, `list` (filters, limits, formats), `stats`, `queues` and `purge`.

use crate::harness::{Counts, Job, Purge, QueueCounts, TestEnv};

/// The ids of a `list` run with these arguments, in the order printed.
#[track_caller]
fn list_ids(env: &TestEnv, args: &[&str]) -> Vec<String> {
    let mut full = vec!["list", "--format", "json"];
    full.extend_from_slice(args);
    env.json::<Vec<Job>>(&full)
        .into_iter()
        .map(|job| job.id)
        .collect()
}

fn ids(jobs: &[&Job]) -> Vec<String> {
    jobs.iter().map(|job| job.id.clone()).collect()
}

/// Enqueues `n` jobs in one `enqueue --batch`, payloads 0..n.
#[track_caller]
fn enqueue_many(env: &TestEnv, queue: &str, n: usize) {
    let lines: String = (0..n).map(|i| format!("{i}\n")).collect();
    env.cmd(["enqueue", queue, "--batch"])
        .stdin(lines)
        .expect_status(0);
}

fn counts(pending: u64, claimed: u64, done: u64, dead: u64) -> Counts {
    Counts {
        pending,
        claimed,
        done,
        dead,
        total: pending + claimed + done + dead,
    }
}

fn queue_counts(queue: &str, pending: u64, claimed: u64, done: u64, dead: u64) -> QueueCounts {
    QueueCounts {
        queue: queue.to_string(),
        pending,
        claimed,
        done,
        dead,
        total: pending + claimed + done + dead,
        paused: false,
        timeout_ms: None,
        max_retries: None,
        backoff_ms: None,
    }
}

/// One job in each status in `queue`: returns (pending, claimed, done, dead).
#[track_caller]
fn one_of_each(env: &TestEnv, queue: &str) -> (Job, Job, Job, Job) {
    let done = env.enqueue(queue, r#""done""#, &[]);
    let dead = env.enqueue(queue, r#""dead""#, &[]);
    let claimed = env.enqueue(queue, r#""claimed""#, &[]);
    let pending = env.enqueue(queue, r#""pending""#, &[]);
    assert_eq!(env.dequeue(queue, &[]).id, done.id);
    env.cmd(["complete", &done.id]).expect_status(0);
    assert_eq!(env.dequeue(queue, &[]).id, dead.id);
    env.cmd(["fail", &dead.id, "--reason", "broken"])
        .expect_status(0);
    assert_eq!(env.dequeue(queue, &[]).id, claimed.id);
    (pending, claimed, done, dead)
}

// ---------------------------------------------------------------------------------------
// get

#[test]
fn get_prints_the_job_as_stored() {
    let env = TestEnv::new();
    let enqueued = env.enqueue(
        "emails",
        r#"{"to":"a@example.com"}"#,
        &[
            "--type",
            "welcome",
            "--priority",
            "high",
            "--max-retries",
            "2",
        ],
    );

    let got: Job = env.json(&["get", &enqueued.id]);
    assert_eq!(got.id, enqueued.id);
    assert_eq!(got.queue, "emails");
    assert_eq!(got.job_type.as_deref(), Some("welcome"));
    assert_eq!(got.payload, serde_json::json!({"to": "a@example.com"}));
    assert_eq!(got.priority, 10);
    assert_eq!(got.max_retries, 2);
    assert_eq!(got.status, "pending");
    assert_eq!(got.created_at, enqueued.created_at);
}

#[test]
fn get_shows_the_latest_state_of_the_job() {
    let env = TestEnv::new();
    let job = env.enqueue("emails", "1", &[]);
    env.dequeue("emails", &["--worker", "mailer-1"]);
    env.cmd(["complete", &job.id, "--output", r#"{"sent":true}"#])
        .expect_status(0);

    let got: Job = env.json(&["get", &job.id]);
    assert_eq!(got.status, "done");
    assert_eq!(got.worker.as_deref(), Some("mailer-1"));
    assert_eq!(got.output, Some(serde_json::json!({"sent": true})));
    assert!(
        got.finished_at.is_some(),
        "a done job has finished_at: {got:?}"
    );
}

#[test]
fn get_of_an_unknown_id_exits_3() {
    let env = TestEnv::new();
    env.enqueue("emails", "1", &[]);
    env.cmd(["get", "q_0000000000"])
        .expect_status(3)
        .expect_stdout("")
        .expect_stderr_contains("q_0000000000");
}

// ---------------------------------------------------------------------------------------
// list

#[test]
fn list_shows_newest_first() {
    let env = TestEnv::new();
    let a = env.enqueue("work", "1", &[]);
    let b = env.enqueue("work", "2", &["--priority", "high"]);
    let c = env.enqueue("work", "3", &["--priority", "low"]);
    assert_eq!(list_ids(&env, &[]), ids(&[&c, &b, &a]));
}

#[test]
fn list_filters_by_status() {
    let env = TestEnv::new();
    let (pending, claimed, done, dead) = one_of_each(&env, "work");

    assert_eq!(list_ids(&env, &["--status", "pending"]), ids(&[&pending]));
    assert_eq!(list_ids(&env, &["--status", "claimed"]), ids(&[&claimed]));
    assert_eq!(list_ids(&env, &["--status", "done"]), ids(&[&done]));
    assert_eq!(list_ids(&env, &["--status", "dead"]), ids(&[&dead]));
    env.cmd(["list", "--status", "finished"]).expect_status(2);
}

#[test]
fn list_filters_by_type() {
    let env = TestEnv::new();
    let resize1 = env.enqueue("media", "1", &["--type", "resize"]);
    env.enqueue("media", "2", &["--type", "transcode"]);
    env.enqueue("media", "3", &[]);
    let resize2 = env.enqueue("media", "4", &["--type", "resize"]);

    assert_eq!(
        list_ids(&env, &["--type", "resize"]),
        ids(&[&resize2, &resize1])
    );
    assert!(list_ids(&env, &["--type", "thumbnail"]).is_empty());
}

#[test]
fn list_filters_by_worker() {
    let env = TestEnv::new();
    let first = env.enqueue("work", "1", &[]);
    let second = env.enqueue("work", "2", &[]);
    let third = env.enqueue("work", "3", &[]);
    env.enqueue("work", "4", &[]);
    assert_eq!(env.dequeue("work", &["--worker", "box 1"]).id, first.id);
    assert_eq!(env.dequeue("work", &["--worker", "box-2"]).id, second.id);
    assert_eq!(env.dequeue("work", &["--worker", "box 1"]).id, third.id);

    assert_eq!(
        list_ids(&env, &["--worker", "box 1"]),
        ids(&[&third, &first])
    );
    assert_eq!(list_ids(&env, &["--worker", "box-2"]), ids(&[&second]));
    assert!(list_ids(&env, &["--worker", "box"]).is_empty());
}

#[test]
fn list_filters_by_queue_given_positionally_or_with_the_flag() {
    let env = TestEnv::new();
    let acme1 = env.enqueue("tenant/acme", "1", &[]);
    env.enqueue("tenant/globex", "2", &[]);
    let acme2 = env.enqueue("tenant/acme", "3", &[]);
    env.enqueue("tenant", "4", &[]);

    let expected = ids(&[&acme2, &acme1]);
    assert_eq!(list_ids(&env, &["tenant/acme"]), expected);
    assert_eq!(list_ids(&env, &["--queue", "tenant/acme"]), expected);
    assert!(list_ids(&env, &["nobody"]).is_empty());
}

#[test]
fn list_combines_filters() {
    let env = TestEnv::new();
    let (pending_a, ..) = one_of_each(&env, "a");
    one_of_each(&env, "b");
    assert_eq!(
        list_ids(&env, &["a", "--status", "pending"]),
        ids(&[&pending_a])
    );
}

#[test]
fn list_limit_keeps_the_newest_n() {
    let env = TestEnv::new();
    let jobs: Vec<Job> = (0..5)
        .map(|i| env.enqueue("work", &i.to_string(), &[]))
        .collect();
    assert_eq!(
        list_ids(&env, &["--limit", "2"]),
        ids(&[&jobs[4], &jobs[3]])
    );
    assert_eq!(
        list_ids(&env, &["--limit", "1", "--status", "pending"]),
        ids(&[&jobs[4]])
    );
    env.cmd(["list", "--limit", "-1"]).expect_status(2);
    env.cmd(["list", "--limit", "many"]).expect_status(2);
}

#[test]
fn list_limit_0_lists_every_job() {
    let env = TestEnv::new();
    enqueue_many(&env, "work", 250);
    let all: Vec<Job> = env.json(&["list", "--format", "json", "--limit", "0"]);
    assert_eq!(all.len(), 250);
    // Newest first: the batch payloads count up, so the list counts down.
    let payloads: Vec<i64> = all
        .iter()
        .map(|job| job.payload.as_i64().expect("integer payload"))
        .collect();
    let expected: Vec<i64> = (0..250).rev().collect();
    assert_eq!(payloads, expected);
    assert_eq!(list_ids(&env, &["--limit", "249"]).len(), 249);
}

#[test]
fn list_jsonl_prints_one_job_per_line() {
    let env = TestEnv::new();
    let a = env.enqueue("work", r#"{"n":1}"#, &[]);
    let b = env.enqueue("work", r#"{"text":"two\nlines"}"#, &[]);
    let c = env.enqueue("work", "[1,2,3]", &[]);

    let run = env.cmd(["list", "--format", "jsonl"]).expect_status(0);
    assert!(
        run.stdout.ends_with('\n'),
        "jsonl ends with a newline: {:?}",
        run.stdout
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "one line per job:\n{}", run.stdout);
    let parsed: Vec<Job> = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a job ({e}): {line}"))
        })
        .collect();
    assert_eq!(ids(&parsed.iter().collect::<Vec<_>>()), ids(&[&c, &b, &a]));
    assert_eq!(parsed[1].payload, serde_json::json!({"text": "two\nlines"}));
}

#[test]
fn list_jsonl_of_nothing_prints_nothing() {
    let env = TestEnv::new();
    env.enqueue("work", "1", &[]);
    env.cmd(["list", "--format", "jsonl", "--status", "dead"])
        .expect_status(0)
        .expect_stdout("");
}

#[test]
fn list_json_prints_one_array() {
    let env = TestEnv::new();
    let a = env.enqueue("work", "1", &[]);
    let b = env.enqueue("work", "2", &[]);
    let run = env.cmd(["list", "--format", "json"]).expect_status(0);
    let value: serde_json::Value = run.json();
    assert!(
        value.is_array(),
        "list --format json prints an array: {}",
        run.stdout
    );
    let jobs: Vec<Job> = run.json();
    assert_eq!(ids(&jobs.iter().collect::<Vec<_>>()), ids(&[&b, &a]));

    let empty: Vec<Job> = env.json(&["list", "--format", "json", "--status", "dead"]);
    assert!(empty.is_empty());
}

#[test]
fn list_prints_json_when_not_on_a_terminal() {
    let env = TestEnv::new();
    let a = env.enqueue("work", "1", &[]);
    let jobs: Vec<Job> = env.json(&["list"]);
    assert_eq!(ids(&jobs.iter().collect::<Vec<_>>()), ids(&[&a]));
}

#[test]
fn list_table_has_a_header_and_one_line_per_job() {
    let env = TestEnv::new();
    let a = env.enqueue("work", r#"{"n":1}"#, &[]);
    let b = env.enqueue("other", r#"{"n":2}"#, &["--type", "resize"]);
    let c = env.enqueue("work", r#"{"n":3}"#, &[]);
    env.dequeue("other", &["--worker", "w1"]);

    let run = env.cmd(["list", "--format", "table"]).expect_status(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three rows:\n{}", run.stdout);
    let header = lines[0];
    for column in ["ID", "QUEUE", "STATUS"] {
        assert!(header.contains(column), "header lacks {column}: {header}");
    }
    for (line, job) in lines[1..].iter().zip([&c, &b, &a]) {
        assert!(
            line.contains(&job.id),
            "row for {} out of order:\n{}",
            job.id,
            run.stdout
        );
        assert!(line.contains(&job.queue), "row lacks the queue: {line}");
    }
    assert!(
        lines[2].contains("claimed"),
        "row shows the status: {}",
        lines[2]
    );
    assert!(
        lines[1].contains("pending"),
        "row shows the status: {}",
        lines[1]
    );
}

#[test]
fn list_table_does_not_print_control_characters_raw() {
    let env = TestEnv::new();
    // An escaped ESC, and raw C1 CSI and DEL characters, which JSON allows unescaped.
    env.enqueue("work", "\"\\u001b[31mred\"", &[]);
    env.enqueue("work", "\"\u{9b}31mcsi\u{7f}\"", &[]);

    let run = env.cmd(["list", "--format", "table"]).expect_status(0);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    let raw: Vec<char> = run
        .stdout
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        raw.is_empty(),
        "table output has raw control characters {raw:?}:\n{:?}",
        run.stdout
    );
}

#[test]
fn get_table_does_not_print_control_characters_raw() {
    let env = TestEnv::new();
    let job = env.enqueue("work", "\"\u{9b}2J\"", &["--max-retries", "1"]);
    env.dequeue("work", &[]);
    env.cmd(["fail", &job.id, "--reason", "\u{1b}[2Jwiped\u{7}"])
        .expect_status(0);

    let run = env
        .cmd(["get", &job.id, "--format", "table"])
        .expect_status(0);
    assert!(run.stdout.contains(&job.id));
    assert!(
        run.stdout.contains("wiped"),
        "the reason is shown:\n{}",
        run.stdout
    );
    let raw: Vec<char> = run
        .stdout
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        raw.is_empty(),
        "table output has raw control characters {raw:?}:\n{:?}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------------------
// stats and queues

/// alpha: 1 pending, 1 claimed, 1 done, 1 dead; beta: 1 pending, 1 dead.
fn mixed_history(env: &TestEnv) {
    env.enqueue("beta", "1", &[]);
    env.enqueue("beta", "2", &[]);
    let j1 = env.enqueue("alpha", "1", &[]);
    let j2 = env.enqueue("alpha", "2", &[]);
    let j3 = env.enqueue("alpha", "3", &["--max-retries", "1"]);
    env.enqueue("alpha", "4", &[]);

    assert_eq!(env.dequeue("alpha", &[]).id, j1.id);
    env.cmd(["complete", &j1.id]).expect_status(0);
    assert_eq!(env.dequeue("alpha", &[]).id, j2.id);
    env.cmd(["fail", &j2.id]).expect_status(0);
    assert_eq!(env.dequeue("alpha", &[]).id, j3.id);
    // One retry left: back to pending.
    env.cmd(["fail", &j3.id]).expect_status(0);
    // Claims one of the two pending jobs, whichever it is.
    env.dequeue("alpha", &[]);

    let b = env.dequeue("beta", &[]);
    env.cmd(["fail", &b.id, "--dead"]).expect_status(0);
}

#[test]
fn stats_counts_jobs_by_status() {
    let env = TestEnv::new();
    mixed_history(&env);
    assert_eq!(env.json::<Counts>(&["stats"]), counts(2, 1, 1, 2));
}

#[test]
fn stats_of_an_empty_database_is_all_zero() {
    let env = TestEnv::new();
    assert_eq!(env.json::<Counts>(&["stats"]), counts(0, 0, 0, 0));
}

#[test]
fn stats_follow_each_transition() {
    let env = TestEnv::new();
    let job = env.enqueue("work", "1", &[]);
    assert_eq!(env.json::<Counts>(&["stats"]), counts(1, 0, 0, 0));
    env.dequeue("work", &[]);
    assert_eq!(env.json::<Counts>(&["stats"]), counts(0, 1, 0, 0));
    env.cmd(["complete", &job.id]).expect_status(0);
    assert_eq!(env.json::<Counts>(&["stats"]), counts(0, 0, 1, 0));
}

#[test]
fn queues_lists_each_queue_by_name_with_its_counts() {
    let env = TestEnv::new();
    env.enqueue("zeta", "1", &[]);
    mixed_history(&env);
    env.enqueue("tenant/acme", "1", &[]);

    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    assert_eq!(
        queues,
        vec![
            queue_counts("alpha", 1, 1, 1, 1),
            queue_counts("beta", 1, 0, 0, 1),
            queue_counts("tenant/acme", 1, 0, 0, 0),
            queue_counts("zeta", 1, 0, 0, 0),
        ]
    );
}

#[test]
fn queues_of_an_empty_database_is_an_empty_array() {
    let env = TestEnv::new();
    let run = env.cmd(["queues"]).expect_status(0);
    assert_eq!(run.stdout.trim(), "[]");
    assert!(run.json::<Vec<QueueCounts>>().is_empty());
}

#[test]
fn queues_jsonl_prints_one_queue_per_line() {
    let env = TestEnv::new();
    env.enqueue("b", "1", &[]);
    env.enqueue("a", "1", &[]);
    env.enqueue("a", "2", &[]);
    let run = env.cmd(["queues", "--format", "jsonl"]).expect_status(0);
    let parsed: Vec<QueueCounts> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a queue per line"))
        .collect();
    assert_eq!(
        parsed,
        vec![queue_counts("a", 2, 0, 0, 0), queue_counts("b", 1, 0, 0, 0)]
    );
}

// ---------------------------------------------------------------------------------------
// purge

#[test]
fn purge_status_dead_removes_only_dead_jobs() {
    let env = TestEnv::new();
    let (pending, claimed, done, dead) = one_of_each(&env, "work");
    let (.., dead_too) = one_of_each(&env, "other");

    env.cmd(["purge", "--status", "dead"])
        .expect_status(0)
        .expect_stdout("{\"matched\":2,\"removed\":2,\"dry_run\":false}\n");

    for gone in [&dead, &dead_too] {
        env.cmd(["get", &gone.id]).expect_status(3);
    }
    for kept in [&pending, &claimed, &done] {
        env.cmd(["get", &kept.id]).expect_status(0);
    }
    assert_eq!(env.json::<Counts>(&["stats"]), counts(2, 2, 2, 0));
}

#[test]
fn purge_dry_run_reports_matches_and_removes_nothing() {
    let env = TestEnv::new();
    one_of_each(&env, "work");
    one_of_each(&env, "other");
    let before: Counts = env.json(&["stats"]);

    let report: Purge = env.json(&["purge", "--status", "done", "--dry-run"]);
    assert_eq!(
        report,
        Purge {
            matched: 2,
            removed: 0,
            dry_run: true
        }
    );
    assert_eq!(env.json::<Counts>(&["stats"]), before);
}

#[test]
fn purge_queue_removes_only_that_queue_and_spares_claimed_jobs() {
    let env = TestEnv::new();
    one_of_each(&env, "work");
    let (pending, ..) = one_of_each(&env, "work/sub");
    env.enqueue("other", "1", &[]);

    let report: Purge = env.json(&["purge", "--queue", "work"]);
    assert_eq!(
        report,
        Purge {
            matched: 3,
            removed: 3,
            dry_run: false
        }
    );
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    assert_eq!(
        queues,
        vec![
            queue_counts("other", 1, 0, 0, 0),
            queue_counts("work", 0, 1, 0, 0),
            queue_counts("work/sub", 1, 1, 1, 1),
        ]
    );
    let claimed: Purge = env.json(&["purge", "--queue", "work", "--status", "claimed"]);
    assert_eq!((claimed.matched, claimed.removed), (1, 1));
    env.cmd(["get", &pending.id]).expect_status(0);
}

#[test]
fn purge_queue_and_status_together_remove_their_intersection() {
    let env = TestEnv::new();
    let (.., dead_work) = one_of_each(&env, "work");
    let (.., dead_other) = one_of_each(&env, "other");

    let report: Purge = env.json(&["purge", "--queue", "work", "--status", "dead"]);
    assert_eq!((report.matched, report.removed), (1, 1));
    env.cmd(["get", &dead_work.id]).expect_status(3);
    env.cmd(["get", &dead_other.id]).expect_status(0);
    assert_eq!(env.json::<Counts>(&["stats"]), counts(2, 2, 2, 1));
}

#[test]
fn purge_older_than_an_hour_spares_fresh_jobs() {
    let env = TestEnv::new();
    one_of_each(&env, "work");

    let report: Purge = env.json(&["purge", "--older-than", "1h"]);
    assert_eq!(
        report,
        Purge {
            matched: 0,
            removed: 0,
            dry_run: false
        }
    );
    assert_eq!(env.json::<Counts>(&["stats"]), counts(1, 1, 1, 1));
}

#[test]
fn purge_older_than_without_status_matches_only_finished_jobs() {
    let env = TestEnv::new();
    one_of_each(&env, "work");
    one_of_each(&env, "other");

    let dry: Purge = env.json(&["purge", "--older-than", "0s", "--dry-run"]);
    assert_eq!(dry.matched, 4, "done and dead jobs of both queues");

    let report: Purge = env.json(&["purge", "--older-than", "0s", "--queue", "work"]);
    assert_eq!((report.matched, report.removed), (2, 2));
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    assert_eq!(
        queues,
        vec![
            queue_counts("other", 1, 1, 1, 1),
            queue_counts("work", 1, 1, 0, 0)
        ]
    );
    let pending: Purge = env.json(&["purge", "--older-than", "0s", "--status", "pending"]);
    assert_eq!(pending.removed, 2);
}

#[test]
fn purge_all_removes_every_job_but_those_claimed() {
    let env = TestEnv::new();
    one_of_each(&env, "work");
    one_of_each(&env, "other");

    let report: Purge = env.json(&["purge", "--all"]);
    assert_eq!(
        report,
        Purge {
            matched: 6,
            removed: 6,
            dry_run: false
        }
    );
    assert_eq!(env.json::<Counts>(&["stats"]), counts(0, 2, 0, 0));
    env.json::<Purge>(&["purge", "--all", "--status", "claimed"]);
    assert!(env.json::<Vec<QueueCounts>>(&["queues"]).is_empty());
}

#[test]
fn purge_without_a_filter_or_all_is_refused() {
    let env = TestEnv::new();
    one_of_each(&env, "work");
    env.cmd(["purge"])
        .expect_status(2)
        .expect_stdout("")
        .expect_stderr_contains("--all");
    assert_eq!(env.json::<Counts>(&["stats"]), counts(1, 1, 1, 1));
}

#[test]
fn purge_removes_more_jobs_than_one_batch_holds() {
    let env = TestEnv::new();
    let keep = env.enqueue("keep", "1", &[]);
    enqueue_many(&env, "bulk", 12_000);
    assert_eq!(env.json::<Counts>(&["stats"]).pending, 12_001);

    let report: Purge = env.json(&["purge", "--queue", "bulk"]);
    assert_eq!(
        report,
        Purge {
            matched: 12_000,
            removed: 12_000,
            dry_run: false
        }
    );
    assert_eq!(env.json::<Counts>(&["stats"]), counts(1, 0, 0, 0));
    env.cmd(["get", &keep.id]).expect_status(0);
}

#[test]
fn list_reads_past_its_page_size_in_order() {
    let env = TestEnv::new();
    let lines: String = (0..1100).map(|n| format!("{n}\n")).collect();
    env.cmd(["enqueue", "q", "--batch"])
        .stdin(lines)
        .expect_status(0);
    let all: Vec<Job> = env.json(&["list", "--limit", "0"]);
    let ns: Vec<i64> = all.iter().map(|j| j.payload.as_i64().unwrap()).collect();
    assert_eq!(ns, (0..1100).rev().collect::<Vec<_>>());
    let some: Vec<Job> = env.json(&["list", "--limit", "700"]);
    assert_eq!(some.len(), 700);
    assert_eq!(some.last().unwrap().payload.as_i64(), Some(400));
}

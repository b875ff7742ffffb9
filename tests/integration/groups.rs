//! Ordered groups: strict enqueue order and one job in flight per group, without holding up
//! other groups or ungrouped jobs; and dedup keys.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::thread;

use serde_json::Value;

use crate::harness::{millis, Counts, Job, TestEnv};
use crate::support::wait::sleep_past_visible;

fn payload(job: &Job) -> String {
    job.payload.to_string()
}

#[test]
fn a_group_hands_out_one_job_at_a_time_in_enqueue_order() {
    let env = TestEnv::new();
    for n in 1..=3 {
        let job = env.enqueue("q", &n.to_string(), &["--group", "g"]);
        assert_eq!(job.group.as_deref(), Some("g"));
    }
    let first = env.dequeue("q", &[]);
    assert_eq!(payload(&first), "1");
    // The group is busy: nothing else of it is handed out, even with --count.
    let more: Vec<Job> = env.json(&["dequeue", "q", "--count", "10"]);
    assert!(more.is_empty(), "{more:?}");
    env.json::<Job>(&["complete", &first.id]);
    assert_eq!(payload(&env.dequeue("q", &[])), "2");
}

#[test]
fn a_busy_group_does_not_hold_up_other_groups_or_ungrouped_jobs() {
    let env = TestEnv::new();
    env.enqueue("q", r#""a1""#, &["--group", "a", "--priority", "high"]);
    env.enqueue("q", r#""a2""#, &["--group", "a", "--priority", "high"]);
    env.enqueue("q", r#""b1""#, &["--group", "b"]);
    env.enqueue("q", r#""free""#, &[]);
    let claimed: Vec<Job> = env.json(&["dequeue", "q", "--count", "10"]);
    let got: Vec<String> = claimed.iter().map(payload).collect();
    assert_eq!(got, [r#""a1""#, r#""b1""#, r#""free""#]);
    // Waiting group members still count and list as pending.
    let stats: Counts = env.json(&["stats"]);
    assert_eq!((stats.pending, stats.claimed), (1, 3));
}

#[test]
fn a_failing_job_keeps_its_place_at_the_head_of_its_group() {
    let env = TestEnv::new();
    let first = env.enqueue("q", "1", &["--group", "g", "--max-retries", "1"]);
    env.enqueue("q", "2", &["--group", "g"]);
    env.dequeue("q", &[]);
    env.json::<Job>(&["fail", &first.id, "--reason", "flaky"]);
    let again = env.dequeue("q", &[]);
    assert_eq!(
        (again.id.as_str(), again.attempt_count),
        (first.id.as_str(), 1)
    );
    env.json::<Job>(&["fail", &first.id, "--reason", "flaky again"]);
    // Dead now: the group moves on.
    assert_eq!(payload(&env.dequeue("q", &[])), "2");
}

#[test]
fn an_expired_claim_or_a_release_keeps_the_group_in_order() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &["--group", "g", "--max-retries", "1"]);
    env.enqueue("q", "2", &["--group", "g"]);
    let first = env.dequeue("q", &["--timeout", "1s"]);
    sleep_past_visible(&first);
    let again = env.dequeue("q", &[]);
    assert_eq!(again.id, first.id);
    env.json::<Job>(&["release", &first.id]);
    assert_eq!(env.dequeue("q", &[]).id, first.id);
}

#[test]
fn purging_a_groups_live_job_lets_the_group_go_on() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &["--group", "g"]);
    env.enqueue("q", "2", &["--group", "g"]);
    env.dequeue("q", &[]);
    env.cmd(["purge", "q", "--status", "claimed"])
        .expect_status(0);
    assert_eq!(payload(&env.dequeue("q", &[])), "2");
}

#[test]
fn eight_workers_keep_fifty_groups_in_order_with_never_two_in_flight() {
    let env = TestEnv::new();
    for g in 0..50 {
        let lines: String = (0..6)
            .map(|n| format!("{{\"g\":{g},\"n\":{n}}}\n"))
            .collect();
        let group = format!("group-{g}");
        env.cmd(["enqueue", "q", "--batch", "--group", &group])
            .stdin(lines)
            .expect_status(0);
    }
    // (group, n, claimed at, finished at), with times stamped by queueprim under its write
    // lock, so they order claims and completions as the database saw them.
    let log: Mutex<Vec<(String, i64, i64, i64)>> = Mutex::new(Vec::new());
    thread::scope(|s| {
        for w in 0..8 {
            let (env, log) = (&env, &log);
            s.spawn(move || loop {
                let run = env
                    .cmd(["dequeue", "q", "--worker", &format!("w{w}")])
                    .run();
                assert_eq!(run.code, Some(0), "{}", run.stderr);
                if run.stdout.is_empty() {
                    let stats: Counts = env.json(&["stats"]);
                    if stats.pending + stats.claimed == 0 {
                        return;
                    }
                    continue;
                }
                let job: Job = run.json();
                let claim = job.claim.as_deref().unwrap();
                let done: Job = env.json(&["complete", &job.id, "--claim", claim]);
                log.lock().unwrap().push((
                    job.group.clone().unwrap(),
                    job.payload["n"].as_i64().unwrap(),
                    millis(&job.updated_at),
                    millis(done.finished_at.as_deref().unwrap()),
                ));
            });
        }
    });
    let stats: Counts = env.json(&["stats"]);
    assert_eq!((stats.done, stats.total), (300, 300));
    let mut by_group: BTreeMap<String, Vec<(i64, i64, i64)>> = BTreeMap::new();
    for (group, n, claimed, finished) in log.into_inner().unwrap() {
        by_group
            .entry(group)
            .or_default()
            .push((claimed, n, finished));
    }
    assert_eq!(by_group.len(), 50);
    for (group, mut runs) in by_group {
        runs.sort();
        let order: Vec<i64> = runs.iter().map(|r| r.1).collect();
        assert_eq!(
            order,
            (0..6).collect::<Vec<_>>(),
            "{group}: out of enqueue order"
        );
        for pair in runs.windows(2) {
            assert!(
                pair[1].0 >= pair[0].2,
                "{group}: two jobs in flight at once: {pair:?}"
            );
        }
    }
}

#[test]
fn a_key_returns_the_unfinished_job_instead_of_adding_one() {
    let env = TestEnv::new();
    let first = env.enqueue("q", "1", &["--key", "invoice-42"]);
    assert_eq!(first.deduplicated, Some(false));
    assert_eq!(first.key.as_deref(), Some("invoice-42"));
    let again = env.enqueue("q", "2", &["--key", "invoice-42"]);
    assert_eq!(
        (again.id.as_str(), again.deduplicated),
        (first.id.as_str(), Some(true))
    );
    assert_eq!(again.payload, serde_json::json!(1));
    // Another queue, or a key no longer in use, makes a new job.
    let elsewhere = env.enqueue("other", "3", &["--key", "invoice-42"]);
    assert_eq!(elsewhere.deduplicated, Some(false));
    env.dequeue("q", &[]);
    let while_claimed = env.enqueue("q", "4", &["--key", "invoice-42"]);
    assert_eq!(while_claimed.deduplicated, Some(true));
    env.json::<Job>(&["complete", &first.id]);
    let after = env.enqueue("q", "5", &["--key", "invoice-42"]);
    assert_eq!(after.deduplicated, Some(false));
    assert_ne!(after.id, first.id);
}

#[test]
fn concurrent_enqueues_of_one_key_make_exactly_one_job() {
    let env = TestEnv::new();
    let results: Vec<Value> = thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|n| {
                let env = &env;
                s.spawn(move || {
                    env.cmd(["enqueue", "q", "--key", "same", "--payload", &n.to_string()])
                        .expect_status(0)
                        .json::<Value>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: BTreeSet<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    let fresh = results
        .iter()
        .filter(|r| r["deduplicated"] == false)
        .count();
    assert_eq!(fresh, 1);
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.total, 1);
}

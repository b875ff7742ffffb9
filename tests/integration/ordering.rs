//! Dequeue order and selection: priority then FIFO, job types, delays and `--count`.

use crate::harness::{Job, TestEnv};

fn payload_n(job: &Job) -> i64 {
    job.payload["n"].as_i64().expect("payload n")
}

#[test]
fn higher_priority_first_then_first_enqueued_first() {
    let env = TestEnv::new();
    let plan = [
        ("low", 0),
        ("normal", 1),
        ("high", 2),
        ("normal", 3),
        ("7", 4),
        ("high", 5),
    ];
    for (priority, n) in plan {
        let payload = format!(r#"{{"n":{n}}}"#);
        env.enqueue("q", &payload, &["--priority", priority]);
    }
    let order: Vec<i64> = (0..plan.len())
        .map(|_| payload_n(&env.dequeue("q", &[])))
        .collect();
    assert_eq!(order, vec![2, 5, 4, 1, 3, 0]);
    env.assert_empty("q");
}

#[test]
fn negative_priorities_sort_below_zero() {
    let env = TestEnv::new();
    env.enqueue("q", r#"{"n":1}"#, &["--priority", "-5"]);
    env.enqueue("q", r#"{"n":2}"#, &["--priority=-20"]);
    env.enqueue("q", r#"{"n":3}"#, &[]);
    let order: Vec<i64> = (0..3).map(|_| payload_n(&env.dequeue("q", &[]))).collect();
    assert_eq!(order, vec![3, 1, 2]);
}

#[test]
fn queues_are_independent() {
    let env = TestEnv::new();
    env.enqueue("tenant/acme", r#"{"n":1}"#, &[]);
    env.enqueue("tenant/globex", r#"{"n":2}"#, &[]);
    assert_eq!(payload_n(&env.dequeue("tenant/globex", &[])), 2);
    env.assert_empty("tenant/globex");
    assert_eq!(payload_n(&env.dequeue("tenant/acme", &[])), 1);
}

#[test]
fn type_filter_claims_only_that_type_and_untyped_dequeue_takes_any() {
    let env = TestEnv::new();
    env.enqueue("pipeline", r#"{"n":1}"#, &["--type", "embed_document"]);
    env.enqueue("pipeline", r#"{"n":2}"#, &["--type", "ocr"]);
    env.enqueue(
        "pipeline",
        r#"{"n":3}"#,
        &["--type", "embed_document", "--priority", "high"],
    );
    let first = env.dequeue("pipeline", &["--type", "embed_document"]);
    assert_eq!(
        (payload_n(&first), first.job_type.as_deref()),
        (3, Some("embed_document"))
    );
    assert_eq!(
        payload_n(&env.dequeue("pipeline", &["--type", "embed_document"])),
        1
    );
    env.cmd(["dequeue", "pipeline", "--type", "embed_document"])
        .expect_status(0)
        .expect_stdout("");
    assert_eq!(payload_n(&env.dequeue("--queue", &["pipeline"])), 2);
}

#[test]
fn delayed_jobs_wait_their_turn_and_do_not_block_others() {
    let env = TestEnv::new();
    env.enqueue("q", r#"{"n":1}"#, &["--delay", "1h", "--priority", "high"]);
    // Long enough that a loaded machine still looks before it falls due.
    env.enqueue("q", r#"{"n":2}"#, &["--delay", "1500ms"]);
    env.enqueue("q", r#"{"n":3}"#, &[]);
    assert_eq!(payload_n(&env.dequeue("q", &[])), 3);
    env.assert_empty("q");
    std::thread::sleep(std::time::Duration::from_millis(1600));
    assert_eq!(payload_n(&env.dequeue("q", &[])), 2);
    env.assert_empty("q");
}

#[test]
fn count_claims_up_to_n_in_order_each_with_its_own_claim() {
    let env = TestEnv::new();
    for n in 0..5 {
        env.enqueue("q", &format!(r#"{{"n":{n}}}"#), &[]);
    }
    let jobs: Vec<Job> = env.json(&["dequeue", "q", "--count", "3", "--worker", "w"]);
    let ns: Vec<i64> = jobs.iter().map(payload_n).collect();
    assert_eq!(ns, vec![0, 1, 2]);
    let mut claims: Vec<&str> = jobs.iter().map(|j| j.claim.as_deref().unwrap()).collect();
    claims.dedup();
    assert_eq!(claims.len(), 3);
    let rest: Vec<Job> = env.json(&["dequeue", "q", "--count", "10"]);
    assert_eq!(rest.iter().map(payload_n).collect::<Vec<_>>(), vec![3, 4]);
}

#[test]
fn a_delayed_job_keeps_its_place_in_line_once_it_is_due() {
    let env = TestEnv::new();
    env.enqueue("q", r#"{"n":1}"#, &["--delay", "200ms"]);
    env.enqueue("q", r#"{"n":2}"#, &[]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(payload_n(&env.dequeue("q", &[])), 1);
    assert_eq!(payload_n(&env.dequeue("q", &[])), 2);
    let listed: Vec<Job> = env.json(&["list", "--status", "pending"]);
    assert!(listed.is_empty());
}

#[test]
fn delayed_jobs_count_and_list_as_pending() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--delay", "1h"]);
    let listed: Vec<Job> = env.json(&["list", "--status", "pending"]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, job.id);
    let stats: crate::harness::Counts = env.json(&["stats"]);
    assert_eq!((stats.pending, stats.total), (1, 1));
}

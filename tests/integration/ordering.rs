//! Dequeue order and selection: priority then FIFO, job types, delays and `--count`.

use crate::harness::{millis, Job, TestEnv};
use crate::support::wait::{now_ms, sleep_past};

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
    let soon = env.enqueue("q", r#"{"n":2}"#, &["--delay", "1500ms"]);
    env.enqueue("q", r#"{"n":3}"#, &[]);
    let due_at = soon
        .visible_after
        .expect("a delayed job has a visible time");
    let due = millis(&due_at);
    // Looks until jobs 2 and 3 are both handed out. Which a look gets depends on when
    // queueprim made it, by its own clock, so each answer is checked against that time
    // rather than against how fast this machine got there: job 3 first while job 2 is not
    // due, nothing more until it is, then job 2 (enqueued before job 3, so first once due).
    let mut handed_out: Vec<i64> = Vec::new();
    while handed_out.len() < 2 {
        let asked_at = now_ms();
        let run = env.cmd(["dequeue", "q"]).expect_status(0);
        if run.stdout.is_empty() {
            assert!(
                handed_out.contains(&3) && asked_at < due,
                "nothing handed out at {asked_at} after {handed_out:?}; job 2 is due at {due}"
            );
            sleep_past(&due_at);
            continue;
        }
        let job: Job = run.json();
        let claimed_at = millis(&job.updated_at);
        match payload_n(&job) {
            2 => assert!(
                claimed_at >= due,
                "job 2 handed out before it was due: {job:?}"
            ),
            3 => assert!(
                claimed_at < due || handed_out.contains(&2),
                "job 3 handed out ahead of job 2, due since {due_at}: {job:?}"
            ),
            _ => panic!("a job delayed an hour was handed out: {job:?}"),
        }
        handed_out.push(payload_n(&job));
    }
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
    let delayed = env.enqueue("q", r#"{"n":1}"#, &["--delay", "200ms"]);
    env.enqueue("q", r#"{"n":2}"#, &[]);
    sleep_past(delayed.visible_after.as_deref().unwrap());
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

//! Round trips on one engine: what `import` makes of an export is the database it came
//! from, job for job and byte for byte in `get`, `list` and `queues`, and it behaves so.

use serde_json::Value;

use super::{body, format, populate, Db};
use crate::crashes::expiry_reason;
use crate::harness::{Job, TestEnv};
use crate::support::wait::sleep_past;

#[test]
fn every_state_survives_a_round_trip_byte_for_byte() {
    let (from, to) = (TestEnv::new(), TestEnv::new());
    let (src, dst) = (Db::of(&from), Db::of(&to));
    let made = populate(&src);
    let export = src.export(&[]);
    let (_, settings, jobs) = format::parse(&export);
    let report: Value = dst.import(&export, &[]).expect_status(0).json();
    assert_eq!(
        report,
        serde_json::json!({"imported": jobs.len(), "skipped": 0, "settings": settings.len()})
    );
    assert_eq!(dst.list(), src.list(), "list --limit 0, byte for byte");
    assert_eq!(dst.queues(), src.queues(), "queues, byte for byte");
    for job in &jobs {
        let get = |db: &Db| db.cmd(["get", &job.id]).expect_status(0).stdout;
        assert_eq!(get(&dst), get(&src), "get {}", job.id);
    }
    // Where each pending job waits is kept too, which get and list do not show.
    assert_eq!(body(&dst.export(&[])), body(&export));

    // And the imported queues behave as the old ones would.
    let next = dst.dequeue("emails", &["--worker", "new-host"]);
    assert_eq!(next.id, made.pending, "the delayed job stays delayed");
    dst.cmd(["dequeue", "emails"])
        .expect_status(0)
        .expect_stdout("");
    dst.cmd(["dequeue", "orders"])
        .expect_status(0)
        .expect_stdout("");
    dst.cmd(["dequeue", "paused"])
        .expect_status(0)
        .expect_stdout("");
    dst.cmd(["dequeue", "claims"])
        .expect_status(0)
        .expect_stdout("");
    let held: Job = dst.json(&["get", &made.claimed]);
    assert_eq!(
        (held.status.as_str(), held.worker.as_deref()),
        ("claimed", Some("w-claim"))
    );
    let live: Job = dst.json(&["get", &made.group_live]);
    let claim = live.claim.expect("the group's live job keeps its claim");
    dst.cmd(["complete", &made.group_live, "--claim", &claim])
        .expect_status(0);
    let after = dst.dequeue("orders", &[]);
    assert_eq!(after.id, made.group_queued[0], "the group goes on in order");
    let lapsed = dst.dequeue("lapsing", &[]);
    assert_eq!(
        (lapsed.id.as_str(), lapsed.attempts),
        (made.lapsed.as_str(), 2)
    );
    let replayed = dst.dequeue("work", &[]);
    assert_eq!(replayed.id, made.replayed);
    assert_eq!(replayed.errors.len(), 1, "a retried job keeps its history");
}

#[test]
fn an_export_of_some_queues_holds_their_jobs_and_settings_only() {
    let env = TestEnv::new();
    let db = Db::of(&env);
    for queue in ["a", "b", "c"] {
        db.enqueue(queue, "1", &[]);
        db.cmd(["config", queue, "--max-retries", "1"])
            .expect_status(0);
    }
    db.enqueue("a", "2", &[]);
    let (_, settings, jobs) = format::parse(&db.export(&["--queue", "c", "--queue", "a"]));
    let queues: Vec<&str> = settings.iter().map(|s| s.queue.as_str()).collect();
    assert_eq!(queues, ["a", "c"]);
    let jobs: Vec<(&str, &Value)> = jobs
        .iter()
        .map(|j| (j.queue.as_str(), &j.payload))
        .collect();
    assert_eq!(
        jobs,
        [
            ("a", &Value::from(1)),
            ("c", &Value::from(1)),
            ("a", &Value::from(2))
        ]
    );
    // A queue named that holds nothing (a typo, most likely) is said on stderr; the
    // export is still the export of what there is.
    let run = db
        .cmd(["export", "--queue", "a", "--queue", "nope"])
        .expect_status(0)
        .expect_stderr_contains("note: queue nope has no jobs or settings in");
    assert!(!run.stderr.contains(" a "), "{}", run.stderr);
    assert_eq!(format::parse(&run.stdout).2.len(), 2);
    let quiet = db.cmd(["export", "--queue", "b"]).expect_status(0);
    assert_eq!(quiet.stderr, "");
}

#[test]
fn an_export_of_no_database_is_an_export_of_nothing() {
    let (from, to) = (TestEnv::new(), TestEnv::new());
    let run = Db::of(&from)
        .cmd(["export"])
        .expect_status(0)
        .expect_stderr_contains("there is no database");
    let (_, settings, jobs) = format::parse(&run.stdout);
    assert!(settings.is_empty() && jobs.is_empty());
    assert!(!from.db_exists(), "an export creates nothing");
    let report: Value = Db::of(&to).import(&run.stdout, &[]).expect_status(0).json();
    assert_eq!(report["imported"], 0);
}

#[test]
fn imported_jobs_join_a_queue_behind_the_jobs_already_there() {
    let (from, to) = (TestEnv::new(), TestEnv::new());
    let (src, dst) = (Db::of(&from), Db::of(&to));
    let moved: Vec<String> = (1..=3)
        .map(|n| src.enqueue("q", &n.to_string(), &[]).id)
        .collect();
    let there = dst.enqueue("q", "0", &[]).id;
    dst.import(&src.export(&[]), &[]).expect_status(0);
    let claimed: Vec<Job> = dst.json(&["dequeue", "q", "--count", "10"]);
    let order: Vec<&str> = claimed.iter().map(|j| j.id.as_str()).collect();
    let expected: Vec<&str> = std::iter::once(there.as_str())
        .chain(moved.iter().map(String::as_str))
        .collect();
    assert_eq!(order, expected);
}

#[test]
fn a_claim_that_expired_in_between_is_released_by_the_next_dequeue() {
    let (from, to) = (TestEnv::new(), TestEnv::new());
    let (src, dst) = (Db::of(&from), Db::of(&to));
    src.enqueue("q", "1", &["--max-retries", "1"]);
    let claimed = src.dequeue("q", &["--worker", "old-host", "--timeout", "1s"]);
    let export = src.export(&[]);
    let deadline = claimed.claim_deadline.clone().expect("a deadline");
    sleep_past(&deadline);
    dst.import(&export, &[]).expect_status(0);
    let again = dst.dequeue("q", &["--worker", "new-host"]);
    assert_eq!(
        (again.id.as_str(), again.attempt_count),
        (claimed.id.as_str(), 1)
    );
    let failure = &again.errors[0];
    assert_eq!(failure.reason, expiry_reason(&deadline));
    assert_eq!(failure.worker.as_deref(), Some("old-host"));
}

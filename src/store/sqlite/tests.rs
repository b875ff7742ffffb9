//! Store tests that need what the binary cannot offer: the query planner's word on the hot
//! queries, and a clock the test moves by hand.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::reads::{list_sql, FINISHED_SQL};
use super::tx::{ready_sql, GROUP_HAS_LIVE, GROUP_HAS_QUEUED, GROUP_NEXT_QUEUED};
use crate::job::{Backoff, ClaimRequest, NewJob, Status};
use crate::lifecycle::FailOptions;
use crate::store::{Location, OpenOptions, Store, Synchronous};
use crate::time::Millis;

fn store_with_clock(dir: &tempfile::TempDir) -> (Store, Arc<AtomicI64>) {
    let options = OpenOptions {
        synchronous: Synchronous::Normal,
        create_dir: false,
    };
    let location = Location::from(dir.path().join("q.db"));
    let mut store = Store::open(&location, &options).unwrap();
    let now = Arc::new(AtomicI64::new(1_000_000));
    let clock = Arc::clone(&now);
    store.set_clock(Box::new(move || clock.load(Ordering::SeqCst)));
    (store, now)
}

fn new_job(max_retries: u32, backoff: Option<Backoff>) -> NewJob {
    NewJob {
        max_retries: Some(max_retries),
        backoff,
        ..NewJob::new("q", "{}")
    }
}

fn claim_one(store: &mut Store, timeout_ms: Millis) -> Vec<crate::job::Job> {
    let request = ClaimRequest {
        queue: "q".into(),
        job_type: None,
        worker: Some("w".into()),
        timeout_ms: Some(timeout_ms),
        count: 1,
    };
    store.claim(&request).unwrap()
}

/// The plan SQLite chooses for `sql`, one line per step.
fn plan(conn: &rusqlite::Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt.query_map([], |row| row.get::<_, String>(3)).unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[test]
fn hot_queries_walk_an_index_in_order_instead_of_sorting() {
    let dir = tempfile::tempdir().unwrap();
    let _created = store_with_clock(&dir);
    let store = rusqlite::Connection::open(dir.path().join("q.db")).unwrap();
    let sorted = |sql: &str| plan(&store, sql).contains("TEMP B-TREE");
    let claim = ready_sql(false).replace("?1", "'q'").replace("?2", "1");
    assert!(!sorted(&claim), "{}", plan(&store, &claim));
    let typed = ready_sql(true)
        .replace("?1", "'q'")
        .replace("?2", "1")
        .replace("?3", "'t'");
    assert!(!sorted(&typed), "{}", plan(&store, &typed));
    for clause in [
        "WHERE seq < 9",
        "WHERE queue = 'q' AND seq < 9",
        "WHERE queue = 'q' AND status = 'dead' AND seq < 9",
    ] {
        let list = list_sql(clause).replace("LIMIT ?", "LIMIT 500");
        assert!(!sorted(&list), "{clause}: {}", plan(&store, &list));
    }
    // A group's lookups probe its own index, never walk the queue's pending jobs.
    for (sql, index) in [
        (GROUP_HAS_LIVE, "jobs_group_live"),
        (GROUP_HAS_QUEUED, "jobs_group_queued"),
        (GROUP_NEXT_QUEUED, "jobs_group_queued"),
    ] {
        let probe = sql
            .replace("?1", "'q'")
            .replace("?2", "'g'")
            .replace("?3", "1");
        let steps = plan(&store, &probe);
        assert!(steps.contains(&format!("INDEX {index} ")), "{steps}");
        assert!(!sorted(&probe), "{steps}");
    }
}

#[test]
fn throughput_reads_only_the_jobs_finished_since_then() {
    let dir = tempfile::tempdir().unwrap();
    let _created = store_with_clock(&dir);
    let store = rusqlite::Connection::open(dir.path().join("q.db")).unwrap();
    let sql = FINISHED_SQL.replace("?1", "5").replace("?2", "60000");
    let plan = plan(&store, &sql);
    assert!(
        plan.contains("USING COVERING INDEX jobs_finished"),
        "{plan}"
    );
}

#[test]
fn finished_jobs_are_counted_in_the_stretch_they_finished_in() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, now) = store_with_clock(&dir);
    let start = now.load(Ordering::SeqCst);
    store
        .enqueue(&[new_job(0, None), new_job(0, None), new_job(0, None)])
        .unwrap();
    let first = claim_one(&mut store, 60_000).remove(0);
    store.complete(&first.id, None, None, &[]).unwrap();
    now.fetch_add(61_000, Ordering::SeqCst);
    let second = claim_one(&mut store, 60_000).remove(0);
    store.complete(&second.id, None, None, &[]).unwrap();
    let third = claim_one(&mut store, 60_000).remove(0);
    let dead = FailOptions {
        dead: true,
        ..FailOptions::default()
    };
    store.fail(&third.id, None, "x", dead).unwrap();
    let mut counts = |since| -> Vec<(u64, u64, u64)> {
        let rows = store.finished(since, 60_000).unwrap();
        rows.into_iter()
            .map(|f| (f.bucket, f.done, f.dead))
            .collect()
    };
    assert_eq!(counts(start), vec![(0, 1, 0), (1, 1, 1)]);
    assert_eq!(counts(start + 1), vec![(1, 1, 1)], "finished before since");
}

#[test]
fn an_expired_claim_is_redelivered_once_the_clock_passes_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, now) = store_with_clock(&dir);
    store.enqueue(&[new_job(1, None)]).unwrap();
    let first = claim_one(&mut store, 1_000);
    now.fetch_add(999, Ordering::SeqCst);
    assert!(claim_one(&mut store, 1_000).is_empty(), "not expired yet");
    now.fetch_add(1, Ordering::SeqCst);
    let second = claim_one(&mut store, 1_000);
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].attempt_count, 1);
    assert_ne!(second[0].claim, first[0].claim);
}

#[test]
fn backoff_keeps_a_failed_job_out_of_reach_until_its_delay_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, now) = store_with_clock(&dir);
    let backoff = Some(Backoff {
        base: 60_000,
        max: None,
    });
    store.enqueue(&[new_job(3, backoff)]).unwrap();
    let job = claim_one(&mut store, 1_000).remove(0);
    let (failed, _) = store
        .fail(&job.id, None, "x", FailOptions::default())
        .unwrap();
    assert_eq!(failed.status, Status::Pending);
    let delay = failed.visible_after.unwrap() - now.load(Ordering::SeqCst);
    assert!((54_000..=66_000).contains(&delay), "{delay}");
    now.fetch_add(delay - 1, Ordering::SeqCst);
    assert!(claim_one(&mut store, 1_000).is_empty());
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(claim_one(&mut store, 1_000)[0].id, job.id);
}

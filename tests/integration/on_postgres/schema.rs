//! The schema on PostgreSQL: created by the first command that writes, safely when many
//! start at once on a fresh database; refused untouched when a newer build wrote it or
//! another program's tables are there; kept apart per `?schema=` so queue sets can share a
//! database.

use std::thread;

use crate::harness::{Counts, Job, TestEnv};
use crate::support::postgres::cluster;

#[test]
fn many_processes_meeting_a_fresh_database_at_once_all_succeed() {
    let env = TestEnv::new();
    thread::scope(|s| {
        for n in 0..16 {
            let env = &env;
            s.spawn(move || {
                env.cmd(["enqueue", "q", "--payload", &n.to_string()])
                    .expect_status(0);
            });
        }
    });
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.total, 16);
}

#[test]
fn a_schema_written_by_a_newer_build_is_refused_and_left_untouched() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    let schema = env.schema().expect("a schema");
    cluster().psql(&format!(
        "UPDATE \"{schema}\".queueprim_meta SET version = 99"
    ));
    for args in [
        &["enqueue", "q", "--payload", "2"][..],
        &["stats"],
        &["get", &job.id],
    ] {
        env.cmd(args)
            .expect_status(1)
            .expect_stderr_contains("written by a newer queueprim (schema version 99");
    }
    let version = cluster().psql(&format!("SELECT version FROM \"{schema}\".queueprim_meta"));
    assert_eq!(version, "99");
    let rows = cluster().psql(&format!("SELECT count(*) FROM \"{schema}\".jobs"));
    assert_eq!(rows, "1", "nothing was written");
}

#[test]
fn a_schema_holding_another_programs_tables_is_refused() {
    let env = TestEnv::new();
    let schema = env.schema().expect("a schema");
    cluster().psql(&format!(
        "CREATE SCHEMA \"{schema}\"; CREATE TABLE \"{schema}\".orders (id int)"
    ));
    env.cmd(["enqueue", "q", "--payload", "1"])
        .expect_status(1)
        .expect_stderr_contains("holds tables that are not queueprim's");
    let tables = cluster().psql(&format!(
        "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = '{schema}'"
    ));
    assert_eq!(tables, "orders", "nothing was added");
}

#[test]
fn schemas_keep_queue_sets_apart_in_one_database() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let job = a.enqueue("q", "1", &[]);
    b.assert_empty("q");
    b.cmd(["get", &job.id]).expect_status(3);
    let listed: Vec<Job> = a.json(&["list", "q"]);
    assert_eq!(listed.len(), 1);
}

#[test]
fn reading_a_schema_that_is_not_there_creates_nothing() {
    let env = TestEnv::new();
    let none: Vec<Job> = env.json(&["list"]);
    assert!(none.is_empty());
    env.cmd(["stats"]).expect_status(0);
    env.cmd(["info"]).expect_status(0);
    assert!(!env.db_exists(), "a read created the schema");
}

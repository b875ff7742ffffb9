//! Schema versions a file may claim: a negative one, queueprim's mark without a version, and
//! a database restored from `sqlite3 .dump`, which keeps the tables but drops the file's
//! identity (`application_id`, `user_version`).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::assert_unchanged;
use crate::harness::{Counts, Job, TestEnv};

/// "QPRM", queueprim's `application_id`.
const APPLICATION_ID: i64 = 0x5150_524D;
/// The schema version this build writes.
const SCHEMA_VERSION: i64 = 3;

fn pragma(db: &Path, name: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open with rusqlite");
    conn.pragma_query_value(None, name, |row| row.get(0))
        .unwrap_or_else(|e| panic!("read {name}: {e}"))
}

fn set_pragma(db: &Path, name: &str, value: i64) {
    let conn = rusqlite::Connection::open(db).expect("open with rusqlite");
    conn.pragma_update(None, name, value)
        .unwrap_or_else(|e| panic!("set {name}: {e}"));
}

/// A database holding one pending job, closed (everything checkpointed into the file).
fn database_with_a_job(env: &TestEnv) -> Job {
    env.enqueue("q", r#"{"n":1}"#, &[])
}

/// Asserts `args` fail with exit 1 and one line on stderr that contains every `needle`.
#[track_caller]
fn refused(env: &TestEnv, args: &[&str], needles: &[&str]) {
    let run = env.cmd(args).expect_status(1).expect_stdout("");
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "queueprim {args:?}: the error is one line:\n{}",
        run.stderr
    );
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "queueprim {args:?}: the error should say {needle:?}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_negative_schema_version_is_refused_and_left_as_it_is() {
    let env = TestEnv::new();
    database_with_a_job(&env);
    set_pragma(&env.db(), "user_version", -1);
    let before = fs::read(env.db()).unwrap();
    for args in [
        &["stats"][..],
        &["enqueue", "q", "--payload", "2"],
        &["dequeue", "q"],
    ] {
        refused(&env, args, &["schema version -1"]);
    }
    assert_eq!(pragma(&env.db(), "user_version"), -1);
    assert_unchanged(&env.db(), &before);
}

#[test]
fn queueprims_mark_without_a_version_and_other_tables_is_one_line_without_sql() {
    let env = TestEnv::new();
    database_with_a_job(&env);
    {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.execute_batch("DROP INDEX jobs_queue_seq; PRAGMA user_version = 0;")
            .unwrap();
    }
    for args in [&["stats"][..], &["enqueue", "q", "--payload", "2"]] {
        refused(
            &env,
            args,
            &[&env.db().display().to_string(), "user_version"],
        );
        let run = env.cmd(args).run();
        assert!(
            !run.stderr.contains("CREATE"),
            "no SQL in the error: {}",
            run.stderr
        );
    }
    assert_eq!(pragma(&env.db(), "user_version"), 0);
}

#[test]
fn queueprims_mark_without_a_version_but_its_exact_tables_is_recognised() {
    let env = TestEnv::new();
    let job = database_with_a_job(&env);
    set_pragma(&env.db(), "user_version", 0);
    let got: Job = env.json(&["get", &job.id]);
    assert_eq!(got.status, "pending");
    env.enqueue("q", "2", &[]);
    assert_eq!(pragma(&env.db(), "user_version"), SCHEMA_VERSION);
}

/// Restores `from` into a new file `to` the way `sqlite3 FROM .dump | sqlite3 TO` does.
fn dump_and_restore(from: &Path, to: &Path) {
    let dump = Command::new("sqlite3")
        .arg(from)
        .arg(".dump")
        .output()
        .expect("the sqlite3 command-line tool (apt-get install sqlite3; .ci/run installs it)");
    assert!(dump.status.success(), "sqlite3 .dump failed");
    let mut restore = Command::new("sqlite3")
        .arg(to)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run sqlite3");
    use std::io::Write;
    restore
        .stdin
        .take()
        .unwrap()
        .write_all(&dump.stdout)
        .unwrap();
    assert!(restore.wait().unwrap().success(), "sqlite3 restore failed");
}

#[test]
fn a_database_restored_from_a_dump_is_recognised_read_without_writing_and_marked_on_write() {
    let env = TestEnv::new();
    let job = database_with_a_job(&env);
    let restored = env.dir().join("restored.db");
    dump_and_restore(&env.db(), &restored);
    assert_eq!(
        pragma(&restored, "application_id"),
        0,
        "a dump drops the mark"
    );
    let db = restored.to_str().unwrap();

    let before = fs::read(&restored).unwrap();
    let stats: Counts = env.json(&["--db", db, "stats"]);
    assert_eq!((stats.pending, stats.total), (1, 1));
    assert_unchanged(&restored, &before);

    let claimed: Job = env.json(&["--db", db, "dequeue", "q"]);
    assert_eq!(claimed.id, job.id);
    assert_eq!(pragma(&restored, "application_id"), APPLICATION_ID);
    assert_eq!(pragma(&restored, "user_version"), SCHEMA_VERSION);
    let conn = rusqlite::Connection::open(&restored).unwrap();
    let journal: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(journal.to_ascii_lowercase(), "wal");
}

#[test]
fn a_dump_whose_tables_differ_is_refused_with_a_hint_and_untouched() {
    let env = TestEnv::new();
    database_with_a_job(&env);
    let restored = env.dir().join("restored.db");
    dump_and_restore(&env.db(), &restored);
    {
        let conn = rusqlite::Connection::open(&restored).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT)")
            .unwrap();
    }
    let before = fs::read(&restored).unwrap();
    let db = restored.to_str().unwrap();
    for args in [&["--db", db, "stats"][..], &["--db", db, "dequeue", "q"]] {
        refused(
            &env,
            args,
            &["not a queueprim database", ".dump", ".backup"],
        );
    }
    assert_unchanged(&restored, &before);
}

#[test]
fn a_database_at_schema_version_1_is_migrated_keeping_its_jobs() {
    let env = TestEnv::new();
    let job = database_with_a_job(&env);
    // What the build before API tokens left: version 1, no token table (nor the index of
    // finished jobs that came after it).
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.execute_batch("DROP TABLE api_tokens; DROP INDEX jobs_finished; PRAGMA user_version = 1")
        .unwrap();
    drop(conn);
    let got: Job = env.json(&["get", &job.id]);
    assert_eq!(got.status, "pending");
    assert_eq!(pragma(&env.db(), "user_version"), SCHEMA_VERSION);
    let token: serde_json::Value = env.json(&["token", "create", "--queues", "*"]);
    assert!(token["token"].is_string());
}

//! The engine's own verdict on a test's database, read around queueprim rather than through
//! it: SQLite's integrity check of the file, or on PostgreSQL amcheck's check of every index
//! of the test's schema against its table.

use std::path::Path;

use crate::harness::TestEnv;
use crate::support::postgres::cluster;

/// The engine's verdict on the test's database: just `["ok"]` when it is sound.
pub fn integrity_check(env: &TestEnv) -> Vec<String> {
    match env.schema() {
        None => sqlite_integrity_check(&env.db()),
        Some(schema) => amcheck(schema),
    }
}

/// What `PRAGMA integrity_check` says of the file.
fn sqlite_integrity_check(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open the database with rusqlite");
    let report: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect());
    report.expect("run PRAGMA integrity_check")
}

/// amcheck's check of every B-tree index of `schema` against the table (`heapallindexed`):
/// each index entry in order and every row indexed.
fn amcheck(schema: &str) -> Vec<String> {
    let checked = cluster().try_psql(&format!(
        "SELECT count(bt_index_check(c.oid, true)) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_am a ON a.oid = c.relam \
         WHERE n.nspname = '{schema}' AND c.relkind = 'i' AND a.amname = 'btree'"
    ));
    match checked {
        Ok(count) if count == "0" => vec![format!("schema {schema} has no indexes to check")],
        Ok(_) => vec!["ok".into()],
        Err(e) => vec![e],
    }
}

/// Asserts the engine finds the test's database sound.
#[track_caller]
pub fn assert_intact(env: &TestEnv) {
    assert_eq!(
        integrity_check(env),
        ["ok"],
        "integrity check of {:?}",
        env.db_arg()
    );
}

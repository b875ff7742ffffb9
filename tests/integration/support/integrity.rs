//! SQLite's own verdict on a database file, read with rusqlite rather than through queueprim.

use std::path::Path;

/// What `PRAGMA integrity_check` says of the file: just `["ok"]` when it is sound.
pub fn integrity_check(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open the database with rusqlite");
    let report: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect());
    report.expect("run PRAGMA integrity_check")
}

/// Asserts SQLite finds the database file sound.
#[track_caller]
pub fn assert_integrity(db: &Path) {
    assert_eq!(
        integrity_check(db),
        ["ok"],
        "integrity_check of {}",
        db.display()
    );
}

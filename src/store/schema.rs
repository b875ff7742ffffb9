//! Schema versions: numbered SQL files applied in order, tracked by `PRAGMA user_version`,
//! and the checks that keep queueprim from writing to a file that is not its own or that a
//! newer build has written. A shipped migration is never edited; a change is a new file.

use std::thread::sleep;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

const MIGRATIONS: &[&str] = &[include_str!("migrations/001_init.sql")];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `PRAGMA application_id` of a queueprim database: "QPRM".
const APPLICATION_ID: i64 = 0x5150_524D;

/// Makes the database ready for this build: refuses a file that is not queueprim's or that a
/// newer build wrote, without touching it; otherwise ensures WAL mode and applies missing
/// migrations.
pub fn prepare(conn: &mut Connection) -> Result<()> {
    let version = check_version(conn)?;
    check_ownership(conn, version)?;
    ensure_wal(conn)?;
    if version < SCHEMA_VERSION {
        migrate(conn)?;
    }
    Ok(())
}

/// Refuses a database written by a newer build; returns its version otherwise. Runs again
/// inside every write transaction, since a newer build may migrate the file at any moment.
pub fn check_version(conn: &Connection) -> Result<i64> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        bail!(
            "it was written by a newer queueprim (schema version {version}, this build knows \
             up to {SCHEMA_VERSION}); upgrade queueprim to use it"
        );
    }
    Ok(version)
}

/// Refuses another program's SQLite file: one marked with another application id, or an
/// unversioned one that already has tables.
fn check_ownership(conn: &Connection, version: i64) -> Result<()> {
    let app_id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let foreign_tables: i64 = if version == 0 {
        conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |row| row.get(0))?
    } else {
        0
    };
    if (app_id != 0 && app_id != APPLICATION_ID) || foreign_tables > 0 {
        bail!("it is not a queueprim database (it belongs to another program); pick another --db");
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the write lock.
    let version = check_version(&tx)?;
    for (index, script) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(script)
            .with_context(|| format!("cannot apply schema migration {}", index + 1))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

/// Ensures write-ahead logging, which lets readers and one writer work at once. The mode is
/// stored in the file, so this is a read unless the file was created, restored or changed by
/// something else. Changing it needs an exclusive lock that the busy timeout does not cover,
/// so busy is retried here.
fn ensure_wal(conn: &Connection) -> Result<()> {
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    let mut delay = Duration::from_millis(2);
    for _ in 0..200 {
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => bail!("cannot switch the database to WAL mode (it stays in {mode} mode)"),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DatabaseBusy => {
                sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
    bail!("cannot switch the database to WAL mode: it stayed locked by another process")
}

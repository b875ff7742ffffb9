//! Schema versions: numbered SQL files applied in order, tracked by `PRAGMA user_version`.
//! A shipped migration is never edited; a change is a new file at the end of the list.

use std::thread::sleep;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

const MIGRATIONS: &[&str] = &[include_str!("migrations/001_init.sql")];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`], or refuses one written by a newer build
/// without touching it.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version = user_version(conn)?;
    if version > SCHEMA_VERSION {
        bail!(
            "it was written by a newer queueprim (schema version {version}, this build knows \
             up to {SCHEMA_VERSION}); upgrade queueprim to use it"
        );
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    enable_wal(conn)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the write lock.
    let version = user_version(&tx)?;
    for (index, script) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(script)
            .with_context(|| format!("cannot apply schema migration {}", index + 1))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Switches the file to write-ahead logging, which lets readers and one writer work at once.
/// The mode is stored in the file, so this runs only while creating or migrating. Changing it
/// needs an exclusive lock that the busy timeout does not cover, so busy is retried here.
fn enable_wal(conn: &Connection) -> Result<()> {
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

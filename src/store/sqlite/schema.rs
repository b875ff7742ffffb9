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
    let identity = Identity::read(conn)?;
    identity.check()?;
    if !identity.journal_mode.eq_ignore_ascii_case("wal") {
        enable_wal(conn)?;
    }
    if identity.version < SCHEMA_VERSION {
        migrate(conn)?;
    }
    Ok(())
}

/// Refuses a database written by a newer build. Runs again inside every write transaction,
/// since a newer build may migrate the file at any moment.
pub fn check_version(conn: &Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    refuse_newer(version)
}

fn refuse_newer(version: i64) -> Result<()> {
    if version > SCHEMA_VERSION {
        bail!(
            "it was written by a newer queueprim (schema version {version}, this build knows \
             up to {SCHEMA_VERSION}); upgrade queueprim to use it"
        );
    }
    Ok(())
}

/// What a file says about itself, read in one statement so that all of it comes from one
/// snapshot, even while another process is creating the schema.
struct Identity {
    version: i64,
    application_id: i64,
    tables: i64,
    journal_mode: String,
}

impl Identity {
    fn read(conn: &Connection) -> Result<Identity> {
        Ok(conn.query_row(
            "SELECT (SELECT user_version FROM pragma_user_version), \
                    (SELECT application_id FROM pragma_application_id), \
                    (SELECT COUNT(*) FROM sqlite_schema), \
                    (SELECT journal_mode FROM pragma_journal_mode)",
            [],
            |row| {
                Ok(Identity {
                    version: row.get(0)?,
                    application_id: row.get(1)?,
                    tables: row.get(2)?,
                    journal_mode: row.get(3)?,
                })
            },
        )?)
    }

    /// Refuses a newer schema, and another program's file: one marked with another
    /// application id, or an unmarked one that already has tables.
    fn check(&self) -> Result<()> {
        refuse_newer(self.version)?;
        let foreign_id = self.application_id != 0 && self.application_id != APPLICATION_ID;
        let foreign_tables = self.application_id == 0 && self.version == 0 && self.tables > 0;
        if foreign_id || foreign_tables {
            bail!(
                "it is not a queueprim database (it belongs to another program); pick another --db"
            );
        }
        Ok(())
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the write lock.
    let identity = Identity::read(&tx)?;
    identity.check()?;
    for (index, script) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(identity.version as usize)
    {
        tx.execute_batch(script)
            .with_context(|| format!("cannot apply schema migration {}", index + 1))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

/// Switches to write-ahead logging, which lets readers and one writer work at once. The mode
/// is stored in the file, so this runs only when the file was created, restored or changed by
/// something else. Changing it needs an exclusive lock that the busy timeout does not cover,
/// so busy is retried here.
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

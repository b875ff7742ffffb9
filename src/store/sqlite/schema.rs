//! Schema versions: numbered SQL files applied in order, tracked by `PRAGMA user_version`,
//! and the checks that keep queueprim from writing to a file that is not its own or that a
//! newer build has written. A shipped migration is never edited; a change is a new file.
//!
//! A file is queueprim's when it carries queueprim's `application_id` and a schema version,
//! or when its tables, indexes and triggers are exactly those of one of queueprim's schema
//! versions: `sqlite3 .dump` keeps the tables but not the file's header, so a database
//! restored from a dump is recognised by its schema and marked again on its first write.

use std::thread::sleep;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_tokens.sql"),
    include_str!("migrations/003_finished.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `PRAGMA application_id` of a queueprim database: "QPRM".
const APPLICATION_ID: i64 = 0x5150_524D;

/// What a command means to do with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Change jobs: the file is made ready for this build first (WAL mode, migrations, and
    /// queueprim's mark in the header).
    Write,
    /// Only read: nothing is written, so a file without a schema stays as it is and reads as
    /// holding no jobs.
    Read,
}

/// Whether a file holds queueprim's tables yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    Schema,
    /// No schema yet (a new or empty file): nothing to read.
    Nothing,
}

/// Makes the database ready for `access`: refuses a file that is not queueprim's or that a
/// newer build wrote, without touching it; for writes, ensures WAL mode and applies missing
/// migrations.
pub fn prepare(conn: &mut Connection, access: Access) -> Result<Contents> {
    let identity = Identity::read(conn)?;
    let version = identity.version_in_use(conn)?;
    if access == Access::Read {
        if version == 0 {
            return Ok(Contents::Nothing);
        }
        if version == SCHEMA_VERSION {
            return Ok(Contents::Schema);
        }
        // An older schema cannot be read with this build's queries: whichever command opens
        // it first upgrades it, a read included.
    }
    if !identity.journal_mode.eq_ignore_ascii_case("wal") {
        enable_wal(conn)?;
    }
    if !identity.is_current() {
        migrate(conn)?;
    }
    Ok(Contents::Schema)
}

/// Refuses a database written by a newer build. Runs again inside every write transaction,
/// since a newer build may migrate the file at any moment.
pub fn check_version(conn: &Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    refuse_unknown(version)
}

fn refuse_unknown(version: i64) -> Result<()> {
    if version < 0 {
        bail!(
            "it has an invalid schema version {version} (PRAGMA user_version); it is damaged \
             or not queueprim's: restore it from a backup, or pick another --db"
        );
    }
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

    /// Marked as queueprim's, at this build's version.
    fn is_current(&self) -> bool {
        self.application_id == APPLICATION_ID && self.version == SCHEMA_VERSION
    }

    /// The schema version the file is at (0: no schema yet), or why it is refused: a
    /// version that is negative or newer, another program's mark, or tables that match no
    /// schema of queueprim's.
    fn version_in_use(&self, conn: &Connection) -> Result<i64> {
        refuse_unknown(self.version)?;
        let ours = self.application_id == APPLICATION_ID;
        if self.application_id != 0 && !ours {
            bail!(
                "it is not a queueprim database (it belongs to another program); pick another --db"
            );
        }
        if ours && self.version > 0 {
            return Ok(self.version);
        }
        if self.tables == 0 {
            return Ok(0);
        }
        // Tables without queueprim's version: a dump restored, or another program's.
        match recognise(conn)? {
            Some(version) => Ok(version),
            None if ours => bail!(
                "it is marked as a queueprim database, but its schema version (user_version \
                 {}) and its tables match no version of queueprim's schema: it is damaged or was \
                 changed by hand; restore it from a backup",
                self.version
            ),
            None => bail!(
                "it is not a queueprim database (its tables belong to another program); pick \
                 another --db. A queueprim database restored with sqlite3 .dump is recognised \
                 only when its tables are exactly this build's: restore from a .backup copy \
                 instead, which keeps the file's identity"
            ),
        }
    }
}

/// The schema version whose tables, indexes, views and triggers `conn` holds exactly, if
/// any: the migrations are replayed one by one on an empty in-memory database and compared.
/// SQLite stores each CREATE statement's text, and `.dump` replays that text, so a restored
/// dump compares equal; SQLite's own `sqlite_*` tables are left out of the comparison.
fn recognise(conn: &Connection) -> Result<Option<i64>> {
    let found = schema_of(conn)?;
    let reference = Connection::open_in_memory()?;
    for (index, script) in MIGRATIONS.iter().enumerate() {
        reference.execute_batch(script)?;
        if schema_of(&reference)? == found {
            return Ok(Some(index as i64 + 1));
        }
    }
    Ok(None)
}

type SchemaEntry = (String, String, String, Option<String>);

fn schema_of(conn: &Connection) -> Result<Vec<SchemaEntry>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the write lock.
    let from = Identity::read(&tx)?.version_in_use(&tx)?;
    for (index, script) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.execute_batch(script).map_err(|e| {
            anyhow!(
                "cannot apply schema migration {}: {}",
                index + 1,
                without_sql(&e)
            )
        })?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

/// SQLite's message alone: rusqlite appends the whole statement to an error in the SQL
/// text, which for a migration is a page of schema.
fn without_sql(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
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

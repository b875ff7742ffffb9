//! The SQLite engine: one file, opened with the pragmas every connection needs, migrated
//! forward, and written in transactions that take the write lock up front. Writes read the
//! clock after taking the lock, so time spent waiting for another writer never makes a new
//! claim start out expired.

mod errors;
mod files;
mod read_only;
mod reads;
mod rows;
mod schema;
mod serving;
#[cfg(test)]
mod tests;
mod transfer;
mod tx;

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use rusqlite::{ffi, Connection, OpenFlags, Rows, TransactionBehavior};

use super::backend::{
    AddedRows, Backend, BatchFn, Changed, NewRow, ReadBackFn, Readiness, Seq, Stored, WriteFn,
};
use super::{OpenOptions, Synchronous};
use crate::job::{Finished, Job, ListFilter, PurgeFilter, QueueCounts, QueueSettings};
use crate::time::{self, Millis};
use crate::tokens::Token;
use errors::explain;
use files::Found;
pub use schema::SCHEMA_VERSION;
use schema::{Access, Contents};

/// How long a command waits for another process's write lock before giving up. Writes are
/// short, so this is only reached when something holds the lock abnormally long.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest WAL file kept after a checkpoint. Under steady concurrent use the WAL is
/// reused, not deleted; this stops one burst from leaving a huge file behind.
const JOURNAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// SQLite's errors setting up the WAL index, the `-shm` file beside the database.
pub const WAL_INDEX_ERRORS: [i32; 3] = [
    ffi::SQLITE_IOERR_SHMOPEN,
    ffi::SQLITE_IOERR_SHMSIZE,
    ffi::SQLITE_IOERR_SHMMAP,
];

/// An open SQLite database.
pub struct Db {
    conn: Connection,
    /// The file as messages name it.
    name: String,
    /// Why the shared WAL index could not be set up, when this connection keeps its own
    /// instead (see [`connect_ready`]); writes and waits are refused with it.
    no_shared_wal_index: Option<WalIndexFailure>,
    /// The data version a watcher of every queue last saw.
    watched: Option<u64>,
}

impl Db {
    /// Opens the database for a command that writes, creating the file if it is missing.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Db> {
        let name = path.display().to_string();
        let opened = (|| {
            files::look(path)?;
            files::prepare_file(path, options.create_dir)?;
            files::check_writable(path)?;
            connect_ready(path, options.synchronous, Access::Write)?
                .ok_or_else(|| anyhow!("it has no schema after migrating"))
        })();
        let (conn, no_shared_wal_index) =
            opened.map_err(|e| explain(&format!("cannot open database {name}"), e))?;
        Ok(Db::with(conn, name, no_shared_wal_index))
    }

    /// Opens the database for a command that only reads, and writes nothing to it: `None`
    /// when there is nothing to read (no file, an empty one, or one without a schema yet).
    pub fn open_for_reading(path: &Path, options: &OpenOptions) -> Result<Option<Db>> {
        let name = path.display().to_string();
        let opened = (|| {
            if let Found::Nothing | Found::File { len: 0 } = files::look(path)? {
                return Ok(None);
            }
            match files::read_only_reason(path)? {
                None => connect_ready(path, options.synchronous, Access::Read),
                Some(why) => read_only::connect(path, why).map(|conn| conn.map(|c| (c, None))),
            }
        })();
        let opened = opened.map_err(|e| explain(&format!("cannot open database {name}"), e))?;
        Ok(opened.map(|(conn, no_shared_wal_index)| Db::with(conn, name, no_shared_wal_index)))
    }

    fn with(conn: Connection, name: String, no_shared_wal_index: Option<WalIndexFailure>) -> Db {
        Db {
            conn,
            name,
            no_shared_wal_index,
            watched: None,
        }
    }

    /// Runs a read, naming the database in any failure.
    fn reading<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        read(&self.conn).map_err(|e| explain(&format!("cannot read database {}", self.name), e))
    }

    /// Refuses to write or wait on a connection without the shared WAL index. It holds the
    /// file to itself until the process exits, so either would shut every other process out
    /// for as long as this one runs (a dequeue --wait, a worker), even once there is room
    /// again; and there is no room for a write, nor can anyone else commit meanwhile.
    fn require_shared_wal_index(&self, action: &str) -> Result<()> {
        match &self.no_shared_wal_index {
            None => Ok(()),
            Some(failure) => Err(explain(
                &format!("cannot {action} database {}", self.name),
                failure.error().into(),
            )),
        }
    }

    /// A counter that changes whenever another connection commits to the database; cheap
    /// enough to poll while waiting for work.
    fn data_version(&self) -> Result<u64> {
        self.require_shared_wal_index("wait for changes to")?;
        self.reading(|conn| {
            let version: i64 = conn.pragma_query_value(None, "data_version", |row| row.get(0))?;
            Ok(version as u64)
        })
    }
}

/// How often a waiter reads the data version: one cheap pragma read, so this sets the
/// wake-up latency without costing measurable CPU.
const POLL: Duration = Duration::from_millis(25);

impl Backend for Db {
    fn name(&self) -> &str {
        &self.name
    }

    fn most_writes_together(&self) -> usize {
        // Past this, a commit keeps its first callers waiting longer than a second sync
        // would.
        512
    }

    fn now(&mut self) -> Result<Millis> {
        Ok(time::now())
    }

    /// Runs `f` in a transaction that takes the write lock up front (`BEGIN IMMEDIATE`), so
    /// a write never has to upgrade a read lock and fail with "database is locked". `f` gets
    /// the time read once the lock is held.
    fn write(&mut self, fixed_now: Option<Millis>, f: &mut WriteFn) -> Result<()> {
        self.require_shared_wal_index("write to")?;
        let context = format!("cannot write to database {}", self.name);
        let written = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // A newer build may have migrated the file since this one opened it.
            schema::check_version(&tx)?;
            let now = fixed_now.unwrap_or_else(time::now);
            f(&mut tx::SqliteTx::new(&tx, now))?;
            tx.commit()?;
            Ok(())
        })();
        written.map_err(|e| explain(&context, e))
    }

    /// Like [`Backend::write`], then reads the added rows back through a read that starts
    /// before the COMMIT: SQLite keeps a connection's read open across COMMIT while one of
    /// its statements is mid-way, so every row read afterwards comes from the state this
    /// commit made, whatever other processes commit meanwhile.
    fn write_batch(
        &mut self,
        fixed_now: Option<Millis>,
        add: Box<BatchFn>,
        read: Box<ReadBackFn>,
    ) -> Result<()> {
        self.require_shared_wal_index("write to")?;
        let context = format!("cannot write to database {}", self.name);
        // Each multi-row INSERT keeps a statement journal, to undo its rows if one clashes.
        // It holds a few dozen pages, just over what SQLite keeps in memory by default
        // before spilling to a temporary file: kept in memory, a million lines make half as
        // many writes.
        let failed = |e: rusqlite::Error| explain(&context, e.into());
        self.conn
            .pragma_update(None, "temp_store", "MEMORY")
            .map_err(failed)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        schema::check_version(&tx).map_err(|e| explain(&context, e))?;
        let now = fixed_now.unwrap_or_else(time::now);
        let added = (|| {
            let mut batch = tx::SqliteTx::new(&tx, now);
            add(&mut batch)?;
            Ok(batch.added())
        })()
        .map_err(|e| explain(&context, e))?;
        let (first, last) = added.unwrap_or((1, 0));
        let mut stmt = tx
            .prepare("SELECT id, payload FROM jobs WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
            .map_err(failed)?;
        let mut rows = stmt.query([first, last]).map_err(failed)?;
        // Stepped before the COMMIT, so the read holds the snapshot the commit leaves.
        let head = rows
            .next()
            .and_then(|row| row.map(new_row).transpose())
            .map_err(failed)?;
        tx.execute_batch("COMMIT").map_err(failed)?;
        let mut back = ReadBack { head, rows };
        read(&mut back)
    }

    fn get(&mut self, id: &str) -> Result<Option<Job>> {
        self.reading(|conn| reads::get(conn, id))
    }

    fn list(&mut self, filter: &ListFilter, emit: &mut dyn FnMut(Job) -> Result<()>) -> Result<()> {
        let name = self.name.clone();
        reads::list(&self.conn, filter, emit)
            .map_err(|e| explain(&format!("cannot read database {name}"), e))
    }

    fn count_matching(&mut self, filter: &ListFilter) -> Result<u64> {
        self.reading(|conn| reads::count_matching(conn, filter))
    }

    fn counts_by_queue(&mut self) -> Result<Vec<QueueCounts>> {
        self.reading(reads::counts_by_queue)
    }

    fn settings(&mut self, queue: &str) -> Result<QueueSettings> {
        self.reading(|conn| reads::settings(conn, queue))
    }

    fn all_settings(&mut self) -> Result<Vec<(String, QueueSettings)>> {
        self.reading(reads::all_settings)
    }

    fn purge_count(&mut self, filter: &PurgeFilter) -> Result<u64> {
        self.reading(|conn| reads::purge_count(conn, filter))
    }

    fn export_page(
        &mut self,
        queues: &[String],
        after: Seq,
        limit: u64,
    ) -> Result<Vec<(Seq, Stored, Job)>> {
        self.reading(|conn| transfer::export_page(conn, queues, after, limit))
    }

    fn peek(&mut self, queue: &str, limit: u64, now: Millis) -> Result<Vec<Job>> {
        self.reading(|conn| reads::peek(conn, queue, limit, now))
    }

    fn readiness(&mut self, queue: &str, job_type: Option<&str>) -> Result<Readiness> {
        self.reading(|conn| reads::readiness(conn, queue, job_type))
    }

    fn has_unfinished(&mut self, queue: &str, job_type: Option<&str>) -> Result<bool> {
        self.reading(|conn| reads::has_unfinished(conn, queue, job_type))
    }

    fn schema_version(&mut self) -> Result<i64> {
        self.reading(|conn| Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?))
    }

    fn sizes(&mut self) -> Result<(u64, Option<u64>)> {
        let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
        let path = Path::new(&self.name);
        Ok((size(path), Some(size(&files::sidecar(path, "-wal")))))
    }

    fn connected(&mut self) -> bool {
        true
    }

    fn reconnect(&mut self) -> Result<()> {
        Ok(())
    }

    fn changes(&mut self, _queue: &str) -> Result<u64> {
        self.data_version()
    }

    fn wait_for_changes(&mut self, seen: u64, _queue: &str, max: Duration) -> Result<u64> {
        let until = Instant::now() + max;
        loop {
            let version = self.data_version()?;
            let left = until.saturating_duration_since(Instant::now());
            if version != seen || left.is_zero() {
                return Ok(version);
            }
            sleep(left.min(POLL));
        }
    }

    fn wait_for_any_change(&mut self, max: Duration) -> Result<Changed> {
        let mut seen = self.watched;
        let changed = serving::wait_for_any_change(&mut seen, max, || self.data_version());
        self.watched = seen;
        changed
    }

    fn oldest_pending(&mut self) -> Result<Vec<(String, Millis)>> {
        self.reading(serving::oldest_pending)
    }

    fn finished(&mut self, since: Millis, bucket: Millis) -> Result<Vec<Finished>> {
        self.reading(|conn| reads::finished(conn, since, bucket))
    }

    fn tokens(&mut self) -> Result<Vec<Token>> {
        self.reading(serving::tokens)
    }

    fn token_by_hash(&mut self, hash: &str) -> Result<Option<Token>> {
        self.reading(|conn| serving::token_by_hash(conn, hash))
    }
}

/// A batch's added rows, read from the snapshot its commit left.
struct ReadBack<'stmt> {
    /// The first row, read before the COMMIT.
    head: Option<NewRow>,
    rows: Rows<'stmt>,
}

impl AddedRows for ReadBack<'_> {
    fn next_row(&mut self) -> Result<Option<NewRow>> {
        if let Some(row) = self.head.take() {
            return Ok(Some(row));
        }
        Ok(self.rows.next()?.map(new_row).transpose()?)
    }
}

/// An added row's id and payload, as the read-back query selects them.
fn new_row(row: &rusqlite::Row) -> rusqlite::Result<NewRow> {
    Ok(NewRow {
        id: row.get(0)?,
        payload: row.get(1)?,
    })
}

/// Opens a connection (see [`connect`]) and makes the schema ready for `access`, falling
/// back to a WAL index of the connection's own when the shared one cannot be set up, with
/// the reason; `None` when a read finds no schema to read.
///
/// The last process to close the database removes the shared index (the -shm file), so the
/// next one to open it must create it and write 32 KiB into it before reading anything: on a
/// disk that filled up in between, that fails, and so would every command, reads included.
/// Failing there means no other connection has the file open (the first one sizes the
/// index), so this one may lock it exclusively: in exclusive locking mode, set before the
/// first read, SQLite keeps the index in the process's memory and needs no -shm file. Reads
/// then work; writes and waits are refused (see [`Db::require_shared_wal_index`]).
fn connect_ready(path: &Path, synchronous: Synchronous, access: Access) -> Result<Option<Ready>> {
    let ready = |locking: LockingMode| -> Result<(Connection, Contents)> {
        let mut conn = connect(path, synchronous, locking)?;
        let contents = schema::prepare(&mut conn, access)?;
        Ok((conn, contents))
    };
    let (conn, contents, failure) = match ready(LockingMode::Normal) {
        Ok((conn, contents)) => (conn, contents, None),
        Err(err) => match WalIndexFailure::find(&err) {
            // If another process holds the file after all (an index that failed to map, not
            // to be created), the fallback cannot have it: report the original failure.
            Some(failure) => match ready(LockingMode::Exclusive) {
                Ok((conn, contents)) => (conn, contents, Some(failure)),
                Err(_) => return Err(err),
            },
            None => return Err(err),
        },
    };
    Ok(match contents {
        Contents::Schema => Some((conn, failure)),
        Contents::Nothing => None,
    })
}

/// An open connection, and why it has no shared WAL index if it has none.
type Ready = (Connection, Option<WalIndexFailure>);

/// Whether a connection shares the WAL index with other processes (the -shm file) or keeps
/// the database locked to itself, with the index in its own memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LockingMode {
    Normal,
    Exclusive,
}

/// SQLite's error setting up the shared WAL index, kept to refuse writes and waits with.
struct WalIndexFailure(ffi::Error, Option<String>);

impl WalIndexFailure {
    fn find(err: &anyhow::Error) -> Option<WalIndexFailure> {
        err.chain()
            .find_map(|cause| match cause.downcast_ref::<rusqlite::Error>()? {
                rusqlite::Error::SqliteFailure(e, message)
                    if WAL_INDEX_ERRORS.contains(&e.extended_code) =>
                {
                    Some(WalIndexFailure(*e, message.clone()))
                }
                _ => None,
            })
    }

    fn error(&self) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(self.0, self.1.clone())
    }
}

/// Opens a connection with the settings every command relies on.
fn connect(path: &Path, synchronous: Synchronous, locking: LockingMode) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // First, before anything can meet a lock: wait for other writers instead of failing.
    // The exclusive fallback does not wait: it only works when nobody else has the file.
    let patience = match locking {
        LockingMode::Normal => BUSY_TIMEOUT,
        LockingMode::Exclusive => Duration::ZERO,
    };
    conn.busy_timeout(patience)?;
    // Before `synchronous`, which reads the file: the mode must be set before the first read.
    if locking == LockingMode::Exclusive {
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    }
    let level = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", level)?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    Ok(conn)
}

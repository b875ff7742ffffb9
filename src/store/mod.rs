//! The SQLite store, the only module that speaks SQL. It opens the file with the pragmas
//! every connection needs, migrates the schema, and offers queue operations that return
//! domain structs. Writes read the clock after taking the write lock, so time spent waiting
//! for another writer never makes a new claim start out expired; tests can swap the clock.

mod batch;
mod claims;
mod groups;
mod jobs;
mod queries;
mod rows;
mod schema;
mod settings;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{ffi, Connection, OpenFlags, TransactionBehavior};

use crate::error::Error;
use crate::ids::IdGen;
/// How `fail` treats a failure; part of [`Store::fail`]'s signature.
pub use crate::lifecycle::FailOptions;
use crate::time::{self, Millis};

/// How long a command waits for another process's write lock before giving up. Writes are
/// short, so this is only reached when something holds the lock abnormally long.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How hard each commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync on every commit: a command that exited 0 survives power loss.
    Full,
    /// fsync at checkpoints only: survives a crash of the process, not of the machine.
    Normal,
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub synchronous: Synchronous,
    /// Create the parent folder (owner-only) if it is missing. Set for the default path,
    /// where a missing folder is expected; an explicit `--db` in a missing folder is more
    /// likely a typo and gets an error instead.
    pub create_dir: bool,
}

/// The largest WAL file kept after a checkpoint. Under steady concurrent use the WAL is
/// reused, not deleted; this stops one burst from leaving a huge file behind.
const JOURNAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// SQLite's errors setting up the WAL index, the `-shm` file beside the database.
pub const WAL_INDEX_ERRORS: [i32; 3] = [
    ffi::SQLITE_IOERR_SHMOPEN,
    ffi::SQLITE_IOERR_SHMSIZE,
    ffi::SQLITE_IOERR_SHMMAP,
];

/// Where a store gets the current time.
pub type Clock = Box<dyn Fn() -> Millis>;

/// An open queue database.
pub struct Store {
    conn: Connection,
    ids: IdGen,
    path: PathBuf,
    clock: Clock,
    /// Why the shared WAL index could not be set up, when this connection keeps its own
    /// instead (see [`connect_ready`]); writes and waits are refused with it.
    no_shared_wal_index: Option<WalIndexFailure>,
}

impl Store {
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Store> {
        prepare_file(path, options.create_dir)?;
        let (conn, no_shared_wal_index) = connect_ready(path, options.synchronous)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        Ok(Store {
            conn,
            ids: IdGen::new(),
            path: path.to_path_buf(),
            clock: Box::new(time::now),
            no_shared_wal_index,
        })
    }

    /// Replaces the clock, for tests that drive time themselves (the unit tests and the
    /// model check in `tests/`). The command line always uses the system clock.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    fn now(&self) -> Millis {
        (self.clock)()
    }

    /// A counter that changes whenever another connection commits to the database; cheap
    /// enough to poll while waiting for work.
    pub fn data_version(&self) -> Result<i64> {
        self.require_shared_wal_index("wait for changes to")?;
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |row| row.get(0))?)
    }

    /// Runs `f` in a transaction that takes the write lock up front (`BEGIN IMMEDIATE`), so
    /// a write never has to upgrade a read lock and fail with "database is locked". `f` gets
    /// the time read once the lock is held.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction, &mut IdGen, Millis) -> Result<T>,
    ) -> Result<T> {
        self.require_shared_wal_index("write to")?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| cannot_write(&path, e.into()))?;
        // A newer build may have migrated the file since this one opened it.
        schema::check_version(&tx)
            .with_context(|| format!("cannot write to database {}", path.display()))?;
        let now = (self.clock)();
        let value = f(&tx, &mut self.ids, now).map_err(|e| cannot_write(&path, e))?;
        tx.commit().map_err(|e| cannot_write(&path, e.into()))?;
        Ok(value)
    }

    /// Refuses to write or wait on a connection without the shared WAL index. It holds the
    /// file to itself until the process exits, so either would shut every other process out
    /// for as long as this one runs (a dequeue --wait, a worker), even once there is room
    /// again; and there is no room for a write, nor can anyone else commit meanwhile.
    fn require_shared_wal_index(&self, action: &str) -> Result<()> {
        match &self.no_shared_wal_index {
            None => Ok(()),
            Some(failure) => Err(anyhow::Error::new(failure.error())
                .context(format!("cannot {action} database {}", self.path.display()))),
        }
    }
}

/// Names the database in a write that SQLite itself refused (a full disk, an I/O error, a
/// read-only file); errors that already say what they are about, such as a conflict, pass
/// through unchanged.
fn cannot_write(path: &Path, err: anyhow::Error) -> anyhow::Error {
    if err.is::<rusqlite::Error>() {
        err.context(format!("cannot write to database {}", path.display()))
    } else {
        err
    }
}

/// The error for an id that is not in this database; names the file, since the wrong
/// `--db` is the usual cause.
fn no_such_job(path: &Path, id: &str) -> anyhow::Error {
    Error::not_found(format!("no job with id {id} in {}", path.display())).into()
}

/// Makes sure the database file exists with owner-only permissions before SQLite opens it;
/// SQLite creates its -wal and -shm files with the same permissions as the database.
fn prepare_file(path: &Path, create_dir: bool) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let dir = parent_dir(path);
    if !dir.exists() {
        if !create_dir {
            bail!(
                "cannot open database {}: folder {} does not exist (create it, or pick another --db)",
                path.display(),
                dir.display()
            );
        }
        create_private_dir(&dir)?;
    }
    create_private_file(path)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))
}

fn create_private_file(path: &Path) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it first: fine, it did so with the same permissions.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create database {}", path.display())),
    }
}

/// Opens a connection (see [`connect`]) and makes the schema ready, falling back to a WAL
/// index of the connection's own when the shared one cannot be set up, with the reason.
///
/// The last process to close the database removes the shared index (the -shm file), so the
/// next one to open it must create it and write 32 KiB into it before reading anything: on a
/// disk that filled up in between, that fails, and so would every command, reads included.
/// Failing there means no other connection has the file open (the first one sizes the
/// index), so this one may lock it exclusively: in exclusive locking mode, set before the
/// first read, SQLite keeps the index in the process's memory and needs no -shm file. Reads
/// then work; writes and waits are refused (see [`Store::require_shared_wal_index`]).
fn connect_ready(
    path: &Path,
    synchronous: Synchronous,
) -> Result<(Connection, Option<WalIndexFailure>)> {
    let ready = |locking: LockingMode| -> Result<Connection> {
        let mut conn = connect(path, synchronous, locking)?;
        schema::prepare(&mut conn)?;
        Ok(conn)
    };
    match ready(LockingMode::Normal) {
        Ok(conn) => Ok((conn, None)),
        Err(err) => match WalIndexFailure::find(&err) {
            // If another process holds the file after all (an index that failed to map, not
            // to be created), the fallback cannot have it: report the original failure.
            Some(failure) => match ready(LockingMode::Exclusive) {
                Ok(conn) => Ok((conn, Some(failure))),
                Err(_) => Err(err),
            },
            None => Err(err),
        },
    }
}

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

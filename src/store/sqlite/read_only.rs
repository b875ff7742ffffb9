//! Reading a database this process may not write (its permissions, a read-only file system),
//! without writing anything beside it. An ordinary connection would create `-wal` and `-shm`
//! files with the database's read-only permissions, which broke every write once the owner
//! made the database writable again; on a read-only file system it cannot even open.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use anyhow::{bail, Result};
use rusqlite::{Connection, OpenFlags};

use super::files::{sidecar, ReadOnly};
use super::schema::{self, Access, Contents};
use super::BUSY_TIMEOUT;

/// How to read without writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// No write-ahead log holds anything: the database file has every commit, so SQLite may
    /// read it as a file that cannot change, with no locks and no `-shm` (`immutable=1`). A
    /// writer that starts meanwhile (someone allowed to write) logs its commits in a new WAL,
    /// which this read does not see: it reads the state as of its start.
    Immutable,
    /// A write-ahead log is there, and its index: SQLite reads both without writing to
    /// either (`readonly_shm=1`), as it does for another user's database.
    ReadOnlyIndex,
}

/// Opens `db` for reading only; `None` when it has no schema yet.
pub fn connect(db: &Path, why: ReadOnly) -> Result<Option<Connection>> {
    let plan = plan(db, why)?;
    let query = match plan {
        Plan::Immutable => "immutable=1",
        Plan::ReadOnlyIndex => "mode=ro&readonly_shm=1",
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(uri(db, query), flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(match schema::prepare(&mut conn, Access::Read)? {
        Contents::Schema => Some(conn),
        Contents::Nothing => None,
    })
}

/// Chooses how to read from the files beside `db`, or says why it cannot be read: commits
/// that only a write-ahead log holds cannot be read without its index, and creating one is
/// a write.
fn plan(db: &Path, why: ReadOnly) -> Result<Plan> {
    let wal = sidecar(db, "-wal");
    let shm = sidecar(db, "-shm");
    let wal_len = std::fs::metadata(&wal).ok().map(|m| m.len());
    match (wal_len, shm.exists()) {
        (None, _) | (Some(0), false) => Ok(Plan::Immutable),
        (Some(_), true) => {
            for file in [&wal, &shm] {
                if let Err(e) = std::fs::File::open(file) {
                    bail!(
                        "it is read-only ({}) and {} cannot be read: {e}",
                        why.describe(),
                        file.display()
                    );
                }
            }
            Ok(Plan::ReadOnlyIndex)
        }
        (Some(_), false) => bail!(
            "it is read-only ({}) and its write-ahead log {} holds commits not yet in the \
             database, which cannot be read without the log's index ({}); open the database \
             once where it can be written (as its owner, or on a read-write mount), which \
             moves them into the database file",
            why.describe(),
            wal.display(),
            shm.display()
        ),
    }
}

/// An SQLite URI for `path` with `query`: `file://` and the absolute path, percent-encoded
/// where a character would mean something in a URI.
fn uri(path: &Path, query: &str) -> std::path::PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut bytes = b"file://".to_vec();
    for &b in absolute.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            bytes.push(b);
        } else {
            bytes.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    bytes.push(b'?');
    bytes.extend_from_slice(query.as_bytes());
    OsString::from_vec(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_what_would_mean_something() {
        let made = uri(Path::new("/tmp/a b?c#d%e/q.db"), "immutable=1");
        assert_eq!(
            made.to_str().unwrap(),
            "file:///tmp/a%20b%3Fc%23d%25e/q.db?immutable=1"
        );
    }
}

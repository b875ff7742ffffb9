//! The database as a file, before SQLite sees it: refusing what is not a regular file,
//! creating a missing one (and the default folder) owner-only, and finding out whether it
//! can be written, and if not, why.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::error::Error;

/// What is at the database path now.
pub enum Found {
    Nothing,
    /// A regular file (through any symlinks) of this many bytes.
    File {
        len: u64,
    },
}

/// Looks at the database path, refusing anything but a regular file: SQLite would write a
/// `-journal` beside a device (`/dev/null-journal`), wait forever for a writer on a named
/// pipe, and fail on a folder with no reason given. Bad input, like any other bad value.
pub fn look(path: &Path) -> Result<Found> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Nothing),
        // The caller names the database.
        Err(e) => return Err(e.into()),
    };
    let kind = meta.file_type();
    let what = if kind.is_file() {
        return Ok(Found::File { len: meta.len() });
    } else if kind.is_dir() {
        return Err(Error::invalid(format!(
            "cannot use {} as a database: it is a folder; pass --db a file path, such as {}",
            path.display(),
            path.join("queue.db").display()
        ))
        .into());
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    };
    Err(Error::invalid(format!(
        "cannot use {} as a database: it is {what}, not a regular file; pass --db a file path",
        path.display()
    ))
    .into())
}

/// Makes sure the database file exists with owner-only permissions before SQLite opens it;
/// SQLite creates its -wal and -shm files with the same permissions as the database.
///
/// Durable from the start: a new file or folder is only a directory entry, which a power cut
/// may undo until the folder holding it is synced; so is each folder created on the way.
/// Without that, a first `enqueue` could exit 0 and lose its database, folder and all.
pub fn prepare_file(path: &Path, create_dir: bool) -> Result<()> {
    prepare_file_syncing(path, create_dir, &mut sync_dir)
}

/// [`prepare_file`], syncing folders through `sync` (which tests replace to record them).
fn prepare_file_syncing(path: &Path, create_dir: bool, sync: &mut SyncDir<'_>) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let dir = parent_dir(path);
    if !dir.exists() {
        if !create_dir {
            bail!(
                "folder {} does not exist (create it, or pick another --db)",
                dir.display()
            );
        }
        create_private_dirs(&dir, sync)?;
    }
    create_private_file(path)?;
    sync(&dir)
}

/// How a folder is synced.
type SyncDir<'a> = dyn FnMut(&Path) -> Result<()> + 'a;

/// Creates `dir` and each missing folder above it, owner-only, syncing the parent of each
/// one created. A folder another process creates meanwhile is fine, and synced all the
/// same: that process may not have synced it yet.
fn create_private_dirs(dir: &Path, sync: &mut SyncDir<'_>) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .collect();
    for folder in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(0o700).create(folder) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && folder.is_dir() => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create folder {}", folder.display()))
            }
        }
        sync(&parent_dir(folder))?;
    }
    Ok(())
}

/// Syncs a folder, so the entries created in it survive a power cut. A file system that
/// cannot sync folders (EINVAL) has nothing to sync.
fn sync_dir(dir: &Path) -> Result<()> {
    let synced = fs::File::open(dir).and_then(|folder| folder.sync_all());
    match synced {
        Err(e) if e.raw_os_error() != Some(libc::EINVAL) => {
            Err(e).with_context(|| format!("cannot sync folder {}", dir.display()))
        }
        _ => Ok(()),
    }
}

pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn create_private_file(path: &Path) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it first: fine, it did so with the same permissions.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create database {}", path.display())),
    }
}

/// The files SQLite keeps beside a database in WAL mode.
pub const SIDECARS: [&str; 2] = ["-wal", "-shm"];

/// The `-wal` or `-shm` file beside `db`.
pub fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Why a file cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnly {
    Permissions,
    FileSystem,
    /// The immutable attribute (`chattr +i`), which stops even root.
    Immutable,
}

impl ReadOnly {
    pub fn describe(self) -> &'static str {
        match self {
            ReadOnly::Permissions => "file permissions",
            ReadOnly::FileSystem => "read-only file system",
            ReadOnly::Immutable => "immutable attribute",
        }
    }

    fn fix(self, path: &Path) -> String {
        match self {
            ReadOnly::Permissions => format!(
                "give this user write permission (chmod u+w {}, or chown it), or pick another --db",
                path.display()
            ),
            ReadOnly::FileSystem => {
                "remount it read-write, or copy the database to a writable folder and pass --db"
                    .into()
            }
            ReadOnly::Immutable => format!("clear the attribute (chattr -i {})", path.display()),
        }
    }
}

/// Whether this process may write `path`, as the kernel judges it (effective ids, the
/// mount's flags); `None` when it may, or when there is no such file.
pub fn write_access(path: &Path) -> Result<Option<ReadOnly>> {
    match access(path, libc::W_OK) {
        Ok(()) => Ok(None),
        Err(e) => match e.raw_os_error() {
            Some(libc::EROFS) => Ok(Some(ReadOnly::FileSystem)),
            Some(libc::EACCES) => Ok(Some(ReadOnly::Permissions)),
            Some(libc::EPERM) => Ok(Some(ReadOnly::Immutable)),
            Some(libc::ENOENT) => Ok(None),
            _ => Err(e).with_context(|| format!("cannot check access to {}", path.display())),
        },
    }
}

/// `faccessat(2)` with the effective ids, as opening the file will be judged.
fn access(path: &Path, mode: libc::c_int) -> io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid C string that outlives the call; faccessat only reads it.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c_path.as_ptr(), mode, libc::AT_EACCESS) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Why a read must not use an ordinary connection, which would write beside the database:
/// the file, one of its `-wal` and `-shm` files, or (when those must be created) its folder
/// cannot be written. SQLite would otherwise create missing ones with the database's own
/// read-only permissions, and every later write would fail on them.
pub fn read_only_reason(db: &Path) -> Result<Option<ReadOnly>> {
    if let Some(why) = write_access(db)? {
        return Ok(Some(why));
    }
    let mut missing = false;
    for suffix in SIDECARS {
        let file = sidecar(db, suffix);
        if !file.exists() {
            missing = true;
        } else if let Some(why) = write_access(&file)? {
            return Ok(Some(why));
        }
    }
    if missing {
        return write_access(&parent_dir(db));
    }
    Ok(None)
}

/// Refuses, before SQLite opens it, a database that a write would fail on, saying which file
/// is read-only and why: the database, its folder (when SQLite must create its `-wal` and
/// `-shm` there), or one of those files. Repairs the one case queueprim itself once caused.
pub fn check_writable(db: &Path) -> Result<()> {
    if let Some(why) = write_access(db)? {
        bail!(
            "database {} is read-only ({}): {}",
            db.display(),
            why.describe(),
            why.fix(db)
        );
    }
    for suffix in SIDECARS {
        repair_sidecar(db, &sidecar(db, suffix))?;
    }
    let dir = parent_dir(db);
    let must_create = SIDECARS.iter().any(|suffix| !sidecar(db, suffix).exists());
    if must_create {
        if let Some(why) = write_access(&dir)? {
            bail!(
                "database {} cannot be written: its folder {} is read-only ({}), and SQLite must \
                 create {} and {} there; {}",
                db.display(),
                dir.display(),
                why.describe(),
                sidecar(db, "-wal").display(),
                sidecar(db, "-shm").display(),
                why.fix(&dir)
            );
        }
    }
    Ok(())
}

/// A `-wal` or `-shm` file that cannot be written beside a database that can: left by a
/// read while the database was read-only, since SQLite gives the files it creates the
/// database's permissions. Every write would fail on it with "attempt to write a readonly
/// database". This user's own file gets the database's permissions back, as SQLite would
/// have created it now; anyone else's is named, with the fix.
fn repair_sidecar(db: &Path, file: &Path) -> Result<()> {
    let Some(why) = write_access(file)? else {
        return Ok(());
    };
    let meta = fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own = meta.uid() == unsafe { libc::geteuid() };
    if why == ReadOnly::Permissions && own {
        let db_mode = fs::metadata(db)
            .with_context(|| format!("cannot read {}", db.display()))?
            .permissions()
            .mode();
        let mode = db_mode & 0o666;
        fs::set_permissions(file, fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot make {} writable", file.display()))?;
        return Ok(());
    }
    let hint = match why {
        ReadOnly::Permissions => format!(
            "make it writable for this user (chown or chmod u+w {}){}",
            file.display(),
            if file.as_os_str().as_bytes().ends_with(b"-shm") {
                ", or delete it while no process has the database open"
            } else {
                ""
            }
        ),
        other => other.fix(file),
    };
    bail!(
        "database {} cannot be written: {} is read-only ({}; mode {:o}, owner uid {}), \
         probably left by a read while the database was read-only; {hint}",
        db.display(),
        file.display(),
        why.describe(),
        meta.permissions().mode() & 0o7777,
        meta.uid()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn first_use_syncs_the_parent_of_each_folder_it_creates_and_the_databases_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        let folder = home.join(".local/share/queueprim");
        let db = folder.join("queueprim.db");
        let mut synced = Vec::new();
        prepare_file_syncing(&db, true, &mut |dir: &Path| {
            synced.push(dir.to_path_buf());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            synced,
            [
                home.to_path_buf(),
                home.join(".local"),
                home.join(".local/share"),
                folder.clone(),
            ]
        );
        for created in [home.join(".local"), home.join(".local/share"), folder] {
            assert_eq!(mode(&created), 0o700, "{}", created.display());
        }
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn an_existing_database_syncs_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("q.db");
        fs::write(&db, b"").unwrap();
        let mut synced = Vec::new();
        prepare_file_syncing(&db, true, &mut |dir: &Path| {
            synced.push(dir.to_path_buf());
            Ok(())
        })
        .unwrap();
        assert!(synced.is_empty(), "{synced:?}");
    }

    #[test]
    fn a_failed_sync_fails_the_command() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("a/q.db");
        let failed = prepare_file_syncing(&db, true, &mut |dir: &Path| {
            bail!("cannot sync folder {}: injected", dir.display())
        });
        assert!(failed.unwrap_err().to_string().contains("injected"));
    }

    #[test]
    fn syncing_a_real_folder_works() {
        let tmp = tempfile::tempdir().unwrap();
        sync_dir(tmp.path()).unwrap();
    }
}

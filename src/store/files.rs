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
        Err(e) => {
            return Err(e).with_context(|| format!("cannot open database {}", path.display()))
        }
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
pub fn prepare_file(path: &Path, create_dir: bool) -> Result<()> {
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

pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))
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

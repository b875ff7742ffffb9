//! The database as a file, before SQLite sees it: refusing what is not a regular file, and
//! creating a missing one (and the default folder) owner-only.

use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
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

//! Hardening: what an outside attack on queueprim (thousands of processes, SIGKILLs, a full
//! disk, bad inputs) found short, each reproduced with real processes: claims renewed too
//! late, a first use that a power cut could undo, waits timed on the wall clock, read-only
//! files and file systems, files that are not databases, and schema versions.

mod schema;
mod special_files;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The `-wal` or `-shm` file beside a database.
pub fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Which of a database's `-wal` and `-shm` files exist.
pub fn sidecars(db: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| sidecar(db, suffix))
        .filter(|file| file.exists())
        .collect()
}

/// Asserts `path` still holds exactly `before`.
#[track_caller]
pub fn assert_unchanged(path: &Path, before: &[u8]) {
    let after = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        after == before,
        "{} changed: {} bytes before, {} after",
        path.display(),
        before.len(),
        after.len()
    );
}

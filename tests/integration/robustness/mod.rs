//! Hardening: what an outside attack on queueprim (thousands of processes, SIGKILLs, a full
//! disk, bad inputs) found short, each reproduced with real processes: claims renewed too
//! late, a first use that a power cut could undo, waits timed on the wall clock, read-only
//! files and file systems, files that are not databases, and schema versions.

mod claims;
mod clock;
mod first_use;
mod read_only;
mod schema;
mod special_files;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::Run;

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

/// Runs queueprim as a user whom file permissions bind, on databases in the test's folder:
/// as `nobody` when the tests run as root (whom permissions do not stop, as in CI), from a
/// copy of the binary that user can reach; as the current user otherwise.
pub struct Unprivileged {
    bin: PathBuf,
    /// The uid and gid to run as, when not the current user's.
    ids: Option<(u32, u32)>,
    home: PathBuf,
}

/// `nobody` and `nogroup` on Debian and most Linux systems.
const NOBODY: (u32, u32) = (65534, 65534);

impl Unprivileged {
    /// Hands the test's folder to the user queueprim will run as.
    pub fn new(env: &crate::harness::TestEnv) -> Unprivileged {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            return Unprivileged {
                bin: PathBuf::from(crate::harness::BIN),
                ids: None,
                home: env.dir().to_path_buf(),
            };
        }
        set_mode(env.dir(), 0o755);
        let bin = env.dir().join("queueprim-bin");
        fs::copy(crate::harness::BIN, &bin).expect("copy the binary where nobody can run it");
        set_mode(&bin, 0o755);
        std::os::unix::fs::chown(env.dir(), Some(NOBODY.0), Some(NOBODY.1))
            .expect("give the test folder to nobody");
        Unprivileged {
            bin,
            ids: Some(NOBODY),
            home: env.dir().to_path_buf(),
        }
    }

    /// A command run as that user, isolated from the caller's environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(program);
        command
            .env_remove("QUEUEPRIM_DB")
            .env_remove("QUEUEPRIM_FORMAT")
            .env_remove("QUEUEPRIM_SYNCHRONOUS")
            .env("HOME", &self.home)
            .env_remove("XDG_DATA_HOME");
        if let Some((uid, gid)) = self.ids {
            // std drops root's supplementary groups when it sets the uid.
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Runs `queueprim ARGS` as that user.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = retry_while_busy(|| {
            self.command(&self.bin)
                .args(args)
                .stdin(Stdio::null())
                .output()
        })
        .expect("run queueprim");
        Run {
            args: format!("{args:?} as an unprivileged user"),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `spawn` again while the binary is "busy" (ETXTBSY): another test thread may fork
/// while this test copies the binary, and its child holds the copy open for writing until
/// it execs. That lasts moments; the retries are hang-catching.
fn retry_while_busy<T>(mut spawn: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut tries = 0;
    loop {
        match spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 500 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

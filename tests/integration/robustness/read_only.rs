//! Databases queueprim may read but not write: a file without write permission, and a
//! read-only file system. Reads work and leave nothing behind (SQLite would create `-wal`
//! and `-shm` files with the database's read-only permissions, which then broke every write
//! once the owner made the database writable again); writes say exactly what is read-only.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{mode, set_mode, sidecar, sidecars, Unprivileged};
use crate::harness::{Counts, Job, TestEnv, BIN};
use crate::support::privilege::skip_without_privilege;

fn counts(run: &crate::harness::Run) -> Counts {
    run.json()
}

#[test]
fn a_read_only_database_is_read_without_leftovers_and_written_again_once_writable() {
    let env = TestEnv::new();
    let user = Unprivileged::new(&env);
    let db = env.dir().join("queue.db");
    let db_arg = db.to_str().unwrap();
    let job: Job = user
        .run(&["--db", db_arg, "enqueue", "q", "--payload", "1"])
        .expect_status(0)
        .json();
    set_mode(&db, 0o400);

    let stats = counts(&user.run(&["--db", db_arg, "stats"]).expect_status(0));
    assert_eq!((stats.pending, stats.total), (1, 1));
    let got: Job = user
        .run(&["--db", db_arg, "get", &job.id])
        .expect_status(0)
        .json();
    assert_eq!(got.id, job.id);
    user.run(&["--db", db_arg, "list"]).expect_status(0);
    user.run(&["--db", db_arg, "peek", "q"]).expect_status(0);
    assert!(sidecars(&db).is_empty(), "a read left {:?}", sidecars(&db));

    let refused = user
        .run(&["--db", db_arg, "enqueue", "q", "--payload", "2"])
        .expect_status(1)
        .expect_stdout("")
        .expect_stderr_contains(&format!(
            "database {db_arg} is read-only (file permissions)"
        ));
    assert_eq!(refused.stderr.trim_end().lines().count(), 1);
    assert!(sidecars(&db).is_empty(), "a write left {:?}", sidecars(&db));

    set_mode(&db, 0o600);
    user.run(&["--db", db_arg, "enqueue", "q", "--payload", "3"])
        .expect_status(0);
    let stats = counts(&user.run(&["--db", db_arg, "stats"]).expect_status(0));
    assert_eq!(stats.total, 2);
}

/// Reads `db` the way queueprim did before it knew better, and `sqlite3` still does: SQLite
/// creates `-wal` and `-shm` with the database's permissions, here read-only.
fn leave_read_only_sidecars(user: &Unprivileged, db: &Path) {
    set_mode(db, 0o400);
    let status = user
        .command("sqlite3")
        .arg(db)
        .arg("SELECT COUNT(*) FROM jobs")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("the sqlite3 command-line tool (apt-get install sqlite3; .ci/run installs it)");
    assert!(status.success());
    for suffix in ["-wal", "-shm"] {
        assert_eq!(mode(&sidecar(db, suffix)), 0o400, "sqlite3 left {suffix}");
    }
    set_mode(db, 0o600);
}

#[test]
fn read_only_leftovers_of_ones_own_are_made_writable_like_the_database() {
    let env = TestEnv::new();
    let user = Unprivileged::new(&env);
    let db = env.dir().join("queue.db");
    let db_arg = db.to_str().unwrap();
    user.run(&["--db", db_arg, "enqueue", "q", "--payload", "1"])
        .expect_status(0);
    leave_read_only_sidecars(&user, &db);

    user.run(&["--db", db_arg, "enqueue", "q", "--payload", "2"])
        .expect_status(0);
    user.run(&["--db", db_arg, "dequeue", "q"]).expect_status(0);
    for file in sidecars(&db) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn read_only_leftovers_of_someone_elses_are_named_with_the_fix() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip_without_privilege(
            "robustness::read_only::read_only_leftovers_of_someone_elses_are_named_with_the_fix",
            "it leaves files that belong to another user, which only root may do",
        );
        return;
    }
    let env = TestEnv::new();
    let user = Unprivileged::new(&env);
    let db = env.dir().join("queue.db");
    let db_arg = db.to_str().unwrap();
    user.run(&["--db", db_arg, "enqueue", "q", "--payload", "1"])
        .expect_status(0);
    leave_read_only_sidecars(&user, &db);
    let shm = sidecar(&db, "-shm");
    std::os::unix::fs::chown(&shm, Some(0), Some(0)).unwrap();

    let run = user
        .run(&["--db", db_arg, "enqueue", "q", "--payload", "2"])
        .expect_status(1)
        .expect_stderr_contains(shm.to_str().unwrap())
        .expect_stderr_contains("read-only");
    assert!(run.stderr.contains("chmod"), "{}", run.stderr);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// A read-only file system

/// A tmpfs over a folder, seen only by this test's thread and the processes it starts (the
/// thread moves to a mount namespace of its own), that can be made read-only.
struct Mount {
    dir: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs over `dir` for the test `test`; `None` when this process may not (see
    /// [`skip_without_privilege`]), and the test is to return at once.
    fn tmpfs(test: &str, dir: &Path) -> Option<Mount> {
        // SAFETY: unshare has no memory-safety preconditions; CLONE_NEWNS (which implies
        // CLONE_FS) detaches only the calling thread, which libtest runs this test on alone.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            let why = format!(
                "it mounts a tmpfs it can make read-only, and may not make a mount namespace \
                 ({})",
                io::Error::last_os_error()
            );
            skip_without_privilege(test, &why);
            return None;
        }
        // Otherwise a mount below a shared mount would propagate to the machine's namespace.
        mount(
            None,
            Path::new("/"),
            None,
            libc::MS_REC | libc::MS_PRIVATE,
            None,
        );
        fs::create_dir_all(dir).unwrap();
        mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some("size=4m,mode=0755"),
        );
        Some(Mount {
            dir: dir.to_path_buf(),
        })
    }

    fn make_read_only(&self) {
        mount(
            None,
            &self.dir,
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            None,
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let dir = CString::new(self.dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid C string; a lazy unmount cannot fail because files are open.
        unsafe { libc::umount2(dir.as_ptr(), libc::MNT_DETACH) };
    }
}

fn mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) {
    let c = |s: Option<&str>| s.map(|s| CString::new(s).unwrap());
    let (source_c, fstype_c, data_c) = (c(source), c(fstype), c(data));
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    let target_c = CString::new(target.as_os_str().as_bytes()).unwrap();
    // SAFETY: every pointer is null or a valid C string that outlives the call.
    let rc = unsafe {
        libc::mount(
            ptr(&source_c),
            target_c.as_ptr(),
            ptr(&fstype_c),
            flags,
            ptr(&data_c).cast(),
        )
    };
    assert_eq!(
        rc,
        0,
        "mount {source:?} on {}: {}",
        target.display(),
        io::Error::last_os_error()
    );
}

fn queueprim(db: &Path, args: &[&str]) -> crate::harness::Run {
    let output = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("QUEUEPRIM_FORMAT")
        .output()
        .expect("run queueprim");
    crate::harness::Run {
        args: format!("{args:?}"),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn a_database_on_a_read_only_file_system_is_read_and_writes_say_why() {
    let env = TestEnv::new();
    let test =
        "robustness::read_only::a_database_on_a_read_only_file_system_is_read_and_writes_say_why";
    let Some(mount) = Mount::tmpfs(test, &env.dir().join("ro")) else {
        return;
    };
    let db = mount.dir.join("queue.db");
    let job: Job = queueprim(&db, &["enqueue", "q", "--payload", "1"])
        .expect_status(0)
        .json();
    mount.make_read_only();

    let stats = counts(&queueprim(&db, &["stats"]).expect_status(0));
    assert_eq!((stats.pending, stats.total), (1, 1));
    let got: Job = queueprim(&db, &["get", &job.id]).expect_status(0).json();
    assert_eq!(got.id, job.id);
    queueprim(&db, &["list", "q"]).expect_status(0);
    queueprim(&db, &["queues"]).expect_status(0);

    let message = format!(
        "database {} is read-only (read-only file system)",
        db.display()
    );
    for args in [
        &["enqueue", "q", "--payload", "2"][..],
        &["dequeue", "q"],
        &["complete", &job.id],
    ] {
        let run = queueprim(&db, args)
            .expect_status(1)
            .expect_stdout("")
            .expect_stderr_contains(&message);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
}

/// Copies a database whose newest commits are still in its `-wal` (a process holds it open,
/// so nothing checkpoints them into the file) into `to`, with or without its `-shm`.
fn copy_with_uncheckpointed_wal(env: &TestEnv, to: &Path, with_shm: bool) {
    env.enqueue("q", "1", &[]);
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    let _: i64 = holder
        .query_row("SELECT COUNT(*) FROM jobs", [], |row| row.get(0))
        .unwrap();
    env.enqueue("q", "2", &[]);
    let wal = sidecar(&env.db(), "-wal");
    assert!(
        fs::metadata(&wal).unwrap().len() > 0,
        "the WAL holds commits"
    );
    fs::copy(env.db(), to).unwrap();
    fs::copy(&wal, sidecar(to, "-wal")).unwrap();
    if with_shm {
        fs::copy(sidecar(&env.db(), "-shm"), sidecar(to, "-shm")).unwrap();
    }
    drop(holder);
}

#[test]
fn a_read_only_file_system_with_a_write_ahead_log_is_read_with_its_index() {
    let env = TestEnv::new();
    let test = "robustness::read_only::a_read_only_file_system_with_a_write_ahead_log_is_read_with_its_index";
    let Some(mount) = Mount::tmpfs(test, &env.dir().join("ro")) else {
        return;
    };
    let db = mount.dir.join("queue.db");
    copy_with_uncheckpointed_wal(&env, &db, true);
    mount.make_read_only();
    let stats = counts(&queueprim(&db, &["stats"]).expect_status(0));
    assert_eq!(stats.total, 2, "the commit still in the WAL is read too");
}

#[test]
fn a_read_only_file_system_with_a_write_ahead_log_but_no_index_says_what_to_do() {
    let env = TestEnv::new();
    let test = "robustness::read_only::a_read_only_file_system_with_a_write_ahead_log_but_no_index_says_what_to_do";
    let Some(mount) = Mount::tmpfs(test, &env.dir().join("ro")) else {
        return;
    };
    let db = mount.dir.join("queue.db");
    copy_with_uncheckpointed_wal(&env, &db, false);
    mount.make_read_only();
    let wal = sidecar(&db, "-wal");
    let run = queueprim(&db, &["stats"])
        .expect_status(1)
        .expect_stdout("")
        .expect_stderr_contains(wal.to_str().unwrap())
        .expect_stderr_contains("read-only file system");
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
}

#[test]
fn an_immutable_database_is_read_and_writes_say_how_to_clear_the_attribute() {
    let env = TestEnv::new();
    let db = env.db();
    env.enqueue("q", "1", &[]);
    let chattr = |flag: &str| Command::new("chattr").arg(flag).arg(&db).output();
    match chattr("+i") {
        Ok(output) if output.status.success() => {}
        other => {
            eprintln!(
                "skipped: cannot mark a file immutable here (chattr +i needs root and a file \
                 system with attributes): {other:?}"
            );
            return;
        }
    }
    // Everything is checked once the attribute is cleared, or the folder could not go.
    let read = queueprim(&db, &["stats"]);
    let refused = queueprim(&db, &["enqueue", "q", "--payload", "2"]);
    let left = sidecars(&db);
    assert!(chattr("-i").unwrap().status.success(), "chattr -i");
    assert_eq!(counts(&read.expect_status(0)).total, 1);
    refused
        .expect_status(1)
        .expect_stderr_contains("is read-only (immutable attribute)")
        .expect_stderr_contains("chattr -i");
    assert!(left.is_empty(), "{left:?}");
}

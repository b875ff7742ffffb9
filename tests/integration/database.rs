//! The database file: where it goes, its permissions, WAL mode, durability settings, and
//! refusing files it must not touch (missing folders, non-databases, newer schemas).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::{millis, Job, TestEnv, BIN};
use crate::support::process::{has_open, Reaped};
use crate::support::wait::{eventually, now_ms, GENEROUS};

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Asserts a database file and whichever of its -wal and -shm files exist are owner-only.
#[track_caller]
fn assert_owner_only(db: &Path) {
    assert_eq!(mode(db), 0o600, "mode of {}", db.display());
    for suffix in ["-wal", "-shm"] {
        let file = sidecar(db, suffix);
        if file.exists() {
            assert_eq!(mode(&file), 0o600, "mode of {}", file.display());
        }
    }
}

/// `queueprim ARGS` run by `sh` with umask 000, so any owner-only permission comes from
/// queueprim itself; no `--db` or `QUEUEPRIM_*` variable, HOME and XDG_DATA_HOME as given.
fn bare_command(home: &Path, xdg_data_home: Option<&Path>, args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .env_remove("QUEUEPRIM_DB")
        .env_remove("QUEUEPRIM_FORMAT")
        .env_remove("QUEUEPRIM_SYNCHRONOUS")
        .env("HOME", home);
    match xdg_data_home {
        Some(dir) => command.env("XDG_DATA_HOME", dir),
        None => command.env_remove("XDG_DATA_HOME"),
    };
    command
}

#[track_caller]
fn run_ok(mut command: Command) -> Output {
    let output = command.output().expect("run queueprim");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{command:?} failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn parse_job(output: &Output) -> Job {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not a job ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn user_version(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open with rusqlite");
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("read user_version")
}

#[test]
fn a_new_database_file_is_owner_only() {
    let env = TestEnv::new();
    let db = env.dir().join("fresh.db");
    let db_arg = db.to_str().expect("utf-8 path");
    // umask 000: a default-mode file would come out 0644 or 0666.
    let command = bare_command(
        env.dir(),
        None,
        &["--db", db_arg, "enqueue", "work", "--payload", "1"],
    );
    run_ok(command);
    assert_owner_only(&db);

    let env = TestEnv::new();
    env.enqueue("work", "1", &[]);
    assert_owner_only(&env.db());
}

#[test]
fn the_default_database_lives_in_xdg_data_home_in_an_owner_only_folder() {
    let env = TestEnv::new();
    let home = env.dir().join("home");
    let xdg = env.dir().join("xdg");
    fs::create_dir(&home).unwrap();

    let enqueued = parse_job(&run_ok(bare_command(
        &home,
        Some(&xdg),
        &["enqueue", "work", "--payload", "{\"n\":1}"],
    )));

    let folder = xdg.join("queueprim");
    let db = folder.join("queueprim.db");
    assert!(db.is_file(), "{} was not created", db.display());
    assert_eq!(mode(&folder), 0o700, "mode of {}", folder.display());
    assert_owner_only(&db);
    assert!(
        !home.join(".local").exists(),
        "nothing goes under HOME when XDG_DATA_HOME is set"
    );

    // A later process without --db finds the same database.
    let dequeued = parse_job(&run_ok(bare_command(
        &home,
        Some(&xdg),
        &["dequeue", "work"],
    )));
    assert_eq!(dequeued.id, enqueued.id);
}

#[test]
fn without_xdg_data_home_the_default_database_is_under_home_local_share() {
    let env = TestEnv::new();
    let home = env.dir().join("home");
    fs::create_dir(&home).unwrap();

    run_ok(bare_command(
        &home,
        None,
        &["enqueue", "work", "--payload", "1"],
    ));

    let folder = home.join(".local/share/queueprim");
    let db = folder.join("queueprim.db");
    assert!(db.is_file(), "{} was not created", db.display());
    assert_eq!(mode(&folder), 0o700, "mode of {}", folder.display());
    assert_owner_only(&db);
}

#[test]
fn a_db_in_a_missing_folder_is_refused_and_nothing_is_created() {
    let env = TestEnv::new();
    let missing = env.dir().join("no-such-folder");
    let db = missing.join("nested").join("queue.db");
    let db_arg = db.to_str().unwrap();

    for args in [
        vec!["--db", db_arg, "enqueue", "work", "--payload", "1"],
        vec!["--db", db_arg, "dequeue", "work"],
    ] {
        env.cmd(&args)
            .expect_status(1)
            .expect_stdout("")
            .expect_stderr_contains(missing.join("nested").to_str().unwrap());
    }
    assert!(!missing.exists(), "{} was created", missing.display());

    // The same through QUEUEPRIM_DB.
    env.cmd(["enqueue", "work", "--payload", "1"])
        .env("QUEUEPRIM_DB", &db)
        .expect_status(1)
        .expect_stderr_contains(missing.join("nested").to_str().unwrap());
    assert!(!missing.exists(), "{} was created", missing.display());
}

#[test]
fn commands_that_only_read_never_create_a_database() {
    let env = TestEnv::new();
    let db = env.dir().join("typo.db");
    let db_arg = db.to_str().unwrap();
    env.cmd(["--db", db_arg, "list"])
        .expect_status(0)
        .expect_stdout("[]\n");
    let stats: crate::harness::Counts = env.json(&["--db", db_arg, "stats"]);
    assert_eq!(stats.total, 0);
    env.cmd(["--db", db_arg, "queues"])
        .expect_status(0)
        .expect_stdout("[]\n");
    env.cmd(["--db", db_arg, "purge", "--all"]).expect_status(0);
    env.cmd(["--db", db_arg, "get", "q_0000000000"])
        .expect_status(3)
        .expect_stderr_contains("no database at");
    env.cmd(["--db", db_arg, "complete", "q_0000000000"])
        .expect_status(3);
    assert!(!db.exists(), "{} was created", db.display());
    assert_eq!(fs::read_dir(env.dir()).unwrap().count(), 0);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_unchanged() {
    let env = TestEnv::new();
    let notes = env.dir().join("notes.txt");
    let text = "shopping list\n- eggs\n- milk\n".repeat(200);
    fs::write(&notes, &text).unwrap();
    let notes_arg = notes.to_str().unwrap();

    for args in [
        vec!["--db", notes_arg, "enqueue", "work", "--payload", "1"],
        vec!["--db", notes_arg, "dequeue", "work"],
        vec!["--db", notes_arg, "list"],
        vec!["--db", notes_arg, "purge", "--all"],
    ] {
        let run = env
            .cmd(&args)
            .expect_status(1)
            .expect_stdout("")
            .expect_stderr_contains(notes_arg)
            .expect_stderr_contains("not a database");
        assert_eq!(
            run.stderr.trim_end().lines().count(),
            1,
            "one error line: {}",
            run.stderr
        );
    }
    assert_eq!(fs::read_to_string(&notes).unwrap(), text);
    assert!(!sidecar(&notes, "-wal").exists());
}

#[test]
fn a_database_from_a_newer_version_is_refused_by_every_command_and_never_modified() {
    let env = TestEnv::new();
    let job = env.enqueue("work", "1", &[]);
    {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    // Closing the last connection checkpointed everything into the main file.
    let before = fs::read(env.db()).unwrap();
    let wal = sidecar(&env.db(), "-wal");

    let id = job.id.as_str();
    let commands: Vec<Vec<&str>> = vec![
        vec!["enqueue", "work", "--payload", "2"],
        vec!["enqueue", "work", "--batch"],
        vec!["dequeue", "work"],
        vec!["dequeue", "work", "--count", "5"],
        vec!["complete", id],
        vec!["fail", id, "--reason", "x"],
        vec!["extend", id, "--by", "1m"],
        vec!["get", id],
        vec!["list"],
        vec!["stats"],
        vec!["queues"],
        vec!["purge", "--all"],
        vec!["purge", "--status", "pending", "--dry-run"],
        vec!["sweep", "--once"],
    ];
    for args in &commands {
        env.cmd(args)
            .stdin("3\n4\n")
            .expect_status(1)
            .expect_stdout("")
            .expect_stderr_contains("newer");
        assert_eq!(
            fs::read(env.db()).unwrap(),
            before,
            "queueprim {args:?} modified a newer database"
        );
        if wal.exists() {
            assert_eq!(
                fs::metadata(&wal).unwrap().len(),
                0,
                "queueprim {args:?} wrote to the WAL of a newer database"
            );
        }
    }
    assert_eq!(user_version(&env.db()), 99);
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let (count, status): (i64, String) = conn
        .query_row("SELECT COUNT(*), MAX(status) FROM jobs", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!((count, status.as_str()), (1, "pending"));
}

#[test]
fn the_newer_version_error_is_a_json_object_with_format_json() {
    let env = TestEnv::new();
    env.enqueue("work", "1", &[]);
    {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let run = env.cmd(["stats", "--format", "json"]).expect_status(1);
    let error = run.json_error();
    assert!(error.message.contains("newer"), "{error:?}");
}

#[test]
fn a_new_database_is_in_wal_mode() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode.to_ascii_lowercase(), "wal");
}

#[test]
fn jobs_survive_from_one_process_to_the_next() {
    let env = TestEnv::new();
    let enqueued = env.enqueue("work", r#"{"keep":"me"}"#, &["--priority", "7"]);

    let got: Job = env.json(&["get", &enqueued.id]);
    assert_eq!(got.payload, serde_json::json!({"keep": "me"}));

    let claimed = env.dequeue("work", &["--worker", "w"]);
    assert_eq!(claimed.id, enqueued.id);
    assert_eq!(claimed.priority, 7);
    env.cmd(["complete", &claimed.id]).expect_status(0);

    let done: Job = env.json(&["get", &enqueued.id]);
    assert_eq!(done.status, "done");
    env.assert_empty("work");
}

#[test]
fn synchronous_normal_is_accepted_by_flag_and_environment() {
    let env = TestEnv::new();
    env.cmd([
        "--synchronous",
        "normal",
        "enqueue",
        "work",
        "--payload",
        "1",
    ])
    .expect_status(0);
    env.cmd(["enqueue", "work", "--payload", "2"])
        .env("QUEUEPRIM_SYNCHRONOUS", "normal")
        .expect_status(0);
    env.cmd(["enqueue", "work", "--payload", "3", "--synchronous", "full"])
        .expect_status(0);
    let jobs: Vec<Job> = env.json(&["list"]);
    assert_eq!(jobs.len(), 3);
}

#[test]
fn an_unknown_synchronous_mode_is_bad_usage_and_touches_nothing() {
    let env = TestEnv::new();
    env.cmd([
        "--synchronous",
        "bogus",
        "enqueue",
        "work",
        "--payload",
        "1",
    ])
    .expect_status(2)
    .expect_stdout("")
    .expect_stderr_contains("bogus");
    env.cmd(["enqueue", "work", "--payload", "1"])
        .env("QUEUEPRIM_SYNCHRONOUS", "bogus")
        .expect_status(2)
        .expect_stderr_contains("bogus");
    assert!(!env.db().exists(), "bad usage created the database");
}

/// True if this process can create a file in `dir`.
fn can_write_in(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    match fs::File::create(&probe) {
        Ok(_) => {
            fs::remove_file(&probe).unwrap();
            true
        }
        Err(_) => false,
    }
}

/// Runs a program this test process has just written. While any thread forks another
/// command, the child holds a copy of every open descriptor until it execs, the one that
/// wrote the file included, and exec refuses a file open for writing ("text file busy"):
/// that passes as soon as the child execs, so it is tried again, up to the hang limit.
fn output_of_a_fresh_copy(command: &mut Command) -> std::io::Result<Output> {
    let started = std::time::Instant::now();
    loop {
        match command.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && started.elapsed() < GENEROUS => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

#[test]
fn a_db_in_an_unwritable_folder_fails_cleanly_and_creates_nothing() {
    use std::os::unix::process::CommandExt;

    let env = TestEnv::new();
    let locked = env.dir().join("locked");
    fs::create_dir(&locked).unwrap();
    set_mode(&locked, 0o555);
    let db = locked.join("queue.db");
    let args = [
        "--db",
        db.to_str().unwrap(),
        "enqueue",
        "work",
        "--payload",
        "1",
    ];

    let (code, stdout, stderr) = if can_write_in(&locked) {
        // Running as root, which permissions do not stop. Run queueprim as the unprivileged
        // user `nobody` instead, from a copy it can reach, so the folder's mode applies.
        set_mode(env.dir(), 0o755);
        let bin = env.dir().join("queueprim");
        fs::copy(BIN, &bin).unwrap();
        set_mode(&bin, 0o755);
        let mut command = Command::new(&bin);
        command
            .args(args)
            .env_remove("QUEUEPRIM_DB")
            .env_remove("QUEUEPRIM_FORMAT")
            .env_remove("QUEUEPRIM_SYNCHRONOUS")
            .env("HOME", &locked)
            .uid(65534)
            .gid(65534);
        let output = output_of_a_fresh_copy(&mut command).expect("run queueprim as nobody");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    } else {
        let run = env.cmd(args).run();
        (run.code, run.stdout, run.stderr)
    };

    assert_eq!(code, Some(1), "stderr: {stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(locked.to_str().unwrap()),
        "the error names the database or its folder: {stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("permission denied"),
        "the error says why: {stderr}"
    );
    set_mode(&locked, 0o755);
    assert_eq!(
        fs::read_dir(&locked).unwrap().count(),
        0,
        "nothing is created in the unwritable folder"
    );
}

#[test]
fn the_wal_does_not_grow_across_one_command_after_another() {
    let env = TestEnv::new();
    for n in 0..150 {
        env.enqueue("q", &n.to_string(), &[]);
    }
    // The last connection to close checkpoints; without that, each command would leave
    // the whole WAL behind for the next one to append to.
    let wal = sidecar(&env.db(), "-wal");
    let size = fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(
        size < 512 * 1024,
        "WAL is {size} bytes after 150 sequential commands"
    );
}

#[test]
fn another_programs_sqlite_file_is_refused_and_left_unchanged() {
    let env = TestEnv::new();
    let db = env.db();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
            .unwrap();
    }
    let before = fs::read(&db).unwrap();
    env.cmd(["stats"])
        .expect_status(1)
        .expect_stderr_contains("not a queueprim database");
    assert_eq!(fs::read(&db).unwrap(), before);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(
        mode, "delete",
        "the journal mode must not be changed either"
    );
}

#[test]
fn a_database_taken_out_of_wal_mode_is_put_back() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    // By the next command that writes: reading commands write nothing.
    env.cmd(["stats"]).expect_status(0);
    env.cmd(["dequeue", "q"]).expect_status(0);
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// Holds the write lock from this process while `during` runs, then runs `at_commit` in the
/// same transaction and commits.
fn holding_write_lock(db: &Path, during: impl FnOnce(), at_commit: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    during();
    conn.execute_batch(at_commit).unwrap();
    conn.execute_batch("COMMIT").unwrap();
}

/// Spawns `args` while this test holds the write lock, and returns once the process waits
/// for that lock: it has the database open and sleeps, which a command does only in SQLite's
/// busy handler (seen in `/proc/PID/wchan`; where the kernel does not show it, the process
/// gets half a second from opening the database to reach the lock).
fn spawn_waiting_for_the_lock(env: &TestEnv, args: &[&str]) -> Reaped {
    let mut child = Reaped::new(env.cmd(args).spawn());
    let pid = child.child().id();
    let mut shown = true;
    eventually(GENEROUS, "the command to wait for the write lock", || {
        let wchan = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        shown = !matches!(wchan.trim(), "" | "0");
        has_open(pid, &env.db()) && (!shown || wchan.contains("sleep"))
    });
    if !shown {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    child
}

#[test]
fn a_claim_made_after_waiting_for_the_lock_starts_when_the_lock_was_taken() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &["--max-retries", "3"]);
    let mut waiting = None;
    let mut lock_released_at = 0;
    holding_write_lock(
        &env.db(),
        || {
            let mut child = spawn_waiting_for_the_lock(&env, &["dequeue", "q", "--timeout", "1s"]);
            std::thread::sleep(std::time::Duration::from_millis(1500));
            assert!(
                child.child().try_wait().unwrap().is_none(),
                "the dequeue cannot finish while the write lock is held"
            );
            lock_released_at = now_ms();
            waiting = Some(child);
        },
        "",
    );
    let done = waiting
        .unwrap()
        .finish(GENEROUS, "the dequeue that waited for the lock");
    assert_eq!(done.code, Some(0), "{done:?}");
    let job: Job = serde_json::from_str(&done.stdout).unwrap();
    // Had the clock been read before waiting 1.5 s for the lock, this 1 s claim would have
    // started, and ended, before the lock was even released.
    let (start, end) = (
        millis(&job.updated_at),
        millis(job.visible_after.as_deref().unwrap()),
    );
    assert!(
        start >= lock_released_at,
        "the claim starts at {} ({start}), before the lock was released ({lock_released_at})",
        job.updated_at
    );
    assert_eq!(end - start, 1_000, "{job:?}");
    let claimed: Job = env.json(&["get", &job.id]);
    assert_eq!(
        (claimed.status.as_str(), claimed.attempt_count),
        ("claimed", 0)
    );
}

#[test]
fn a_newer_version_written_while_a_command_waited_for_the_lock_is_not_written_to() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    let mut child = None;
    holding_write_lock(
        &env.db(),
        || {
            child = Some(spawn_waiting_for_the_lock(
                &env,
                &["enqueue", "q", "--payload", "2"],
            ));
        },
        "PRAGMA user_version = 99",
    );
    let output = child
        .unwrap()
        .finish(GENEROUS, "the enqueue that waited for the lock");
    assert_eq!(output.code, Some(1), "{output:?}");
    assert!(output.stderr.contains("newer"), "{output:?}");
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let jobs: i64 = conn
        .query_row("SELECT COUNT(*) FROM jobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(jobs, 1);
}

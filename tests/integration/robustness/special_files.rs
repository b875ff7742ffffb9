//! `--db` naming something that is not a database file: a device, a folder, a pipe, or an
//! empty file. Devices, folders and pipes are refused before SQLite opens them (it would
//! write a `-journal` beside `/dev/null`, or wait forever on a pipe); an empty file is a
//! database with no jobs yet, which reading commands report without changing it.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{assert_unchanged, mode, set_mode, sidecars};
use crate::harness::{Counts, TestEnv};

/// Every command that only reads, with the arguments it needs.
const READS: &[&[&str]] = &[
    &["stats"],
    &["queues"],
    &["list"],
    &["list", "q", "--status", "dead"],
    &["peek", "q"],
    &["config", "q"],
];

/// Commands that write, on a queue or a job.
const WRITES: &[&[&str]] = &[
    &["enqueue", "q", "--payload", "1"],
    &["dequeue", "q"],
    &["complete", "q_0000000000"],
    &["purge", "--all"],
    &["sweep", "--once"],
    &["pause", "q"],
];

fn with_db<'a>(db: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--db", db];
    all.extend_from_slice(args);
    all
}

#[test]
fn devices_are_refused_as_bad_input_and_nothing_is_written_beside_them() {
    let env = TestEnv::new();
    for device in ["/dev/null", "/dev/zero", "/dev/full"] {
        let journal = format!("{device}-journal");
        let existed = Path::new(&journal).exists();
        for args in READS
            .iter()
            .chain(WRITES)
            .chain([&["get", "q_0000000000"][..]].iter())
        {
            env.cmd(with_db(device, args))
                .expect_status(2)
                .expect_stdout("")
                .expect_stderr_contains(device)
                .expect_stderr_contains("not a regular file");
        }
        if !existed {
            assert!(!Path::new(&journal).exists(), "{journal} was created");
        }
    }
}

#[test]
fn a_folder_is_refused_as_bad_input() {
    let env = TestEnv::new();
    let dir = env.dir().join("a-folder");
    fs::create_dir(&dir).unwrap();
    let db = dir.to_str().unwrap();
    for args in READS.iter().chain(WRITES) {
        env.cmd(with_db(db, args))
            .expect_status(2)
            .expect_stderr_contains("is a folder");
    }
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    assert!(sidecars(&dir).is_empty());
}

#[test]
fn a_named_pipe_is_refused_at_once_instead_of_waiting_for_a_writer() {
    let env = TestEnv::new();
    let fifo = env.dir().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let db = fifo.to_str().unwrap();
    for args in [&["stats"][..], &["enqueue", "q", "--payload", "1"]] {
        let mut child = env.cmd(with_db(db, args)).spawn();
        // Hang-catching only: opening a pipe for reading blocks until a writer comes.
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("queueprim {args:?} on a named pipe hung");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{stderr}");
    }
}

#[test]
fn reading_commands_report_an_empty_file_as_no_jobs_and_leave_it_as_it_is() {
    let env = TestEnv::new();
    let empty = env.dir().join("empty.db");
    fs::write(&empty, b"").unwrap();
    set_mode(&empty, 0o640);
    let db = empty.to_str().unwrap();

    let stats: Counts = env.json(&["--db", db, "stats"]);
    assert_eq!(stats.total, 0);
    for args in READS {
        env.cmd(with_db(db, args)).expect_status(0);
    }
    env.cmd(["--db", db, "get", "q_0000000000"])
        .expect_status(3)
        .expect_stderr_contains("no job with id q_0000000000");
    assert_eq!(fs::metadata(&empty).unwrap().len(), 0, "still empty");
    assert_eq!(mode(&empty), 0o640, "permissions unchanged");
    assert!(sidecars(&empty).is_empty(), "{:?}", sidecars(&empty));

    // A command that writes makes it a database, as it would a missing file.
    env.cmd(["--db", db, "enqueue", "q", "--payload", "1"])
        .expect_status(0);
    let stats: Counts = env.json(&["--db", db, "stats"]);
    assert_eq!(stats.total, 1);
}

#[test]
fn reading_commands_never_write_to_a_database_with_no_schema_yet() {
    // A file SQLite has initialised (a page, no tables): reading it must not convert it to
    // WAL or create queueprim's tables.
    let env = TestEnv::new();
    let blank = env.dir().join("blank.db");
    {
        let conn = rusqlite::Connection::open(&blank).unwrap();
        conn.execute_batch("PRAGMA page_size = 4096; VACUUM;")
            .unwrap();
    }
    let before = fs::read(&blank).unwrap();
    assert!(!before.is_empty());
    let db = blank.to_str().unwrap();
    for args in READS {
        env.cmd(with_db(db, args)).expect_status(0);
    }
    assert_unchanged(&blank, &before);
    assert!(sidecars(&blank).is_empty(), "{:?}", sidecars(&blank));
}

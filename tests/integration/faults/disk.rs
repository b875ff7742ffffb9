//! A full disk and a file-size limit: the write refused whole with a clear error, reads
//! kept, and everything working again once there is room.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Counts, Job, Run, TestEnv, BIN};
use crate::support::integrity::assert_intact;
use crate::support::process::{run_to_end, send_signal};

use super::tmpfs::{fill_the_disk, Tmpfs};
use super::{
    as_stored, assert_jobs_intact, assert_no_problems, claimed_job, described, error_line_problem,
    snapshot, string_payload,
};

/// What is wrong with a write refused for lack of space, if anything: it must exit 1 (not
/// die of SIGXFSZ) with one line naming the database and saying the disk is full or a
/// write to it failed.
fn out_of_space_problem(run: &Run, db: &Path) -> Option<String> {
    if let Some(problem) = error_line_problem(run, 1) {
        return Some(described(&problem, run));
    }
    let says_why =
        run.stderr.contains("disk is full") || run.stderr.contains("a write to the disk failed");
    if run.stderr.contains(&db.display().to_string()) && says_why {
        return None;
    }
    let problem = "the error should name the database and say the disk is full or the write failed";
    Some(described(problem, run))
}

#[track_caller]
fn assert_out_of_space(run: &Run, db: &Path) {
    if let Some(problem) = out_of_space_problem(run, db) {
        panic!("{problem}");
    }
}

/// Enqueues big payloads, one process each, until one fails, and returns the jobs that
/// were added (as stored) and the failed run. `run` runs one enqueue.
fn enqueue_until_a_write_fails(
    run: impl Fn(&str) -> Run,
    payload_bytes: usize,
) -> (Vec<Value>, Run) {
    let mut added = Vec::new();
    for n in 0..200 {
        let payload = string_payload(payload_bytes, char::from(b'a' + (n % 26) as u8));
        let attempt = run(&payload);
        if attempt.code != Some(0) {
            return (added, attempt);
        }
        added.push(as_stored(&attempt));
    }
    panic!("200 enqueues of {payload_bytes} bytes never filled the space");
}

/// `lines` JSON lines of `bytes` bytes each, for `enqueue --batch`.
fn big_batch(lines: usize, bytes: usize) -> String {
    (0..lines)
        .map(|n| string_payload(bytes, char::from(b'A' + n as u8)) + "\n")
        .collect()
}

/// Checks a failed `enqueue --batch` added none of its jobs.
#[track_caller]
fn assert_batch_added_nothing(run: &Run, env: &TestEnv, jobs_before: usize) {
    assert_out_of_space(run, &env.db());
    let counts: Counts = env.json(&["stats"]);
    assert_eq!(
        counts.total, jobs_before as u64,
        "a failed batch added jobs"
    );
}

/// What goes wrong reading while there is no room: counts, every job, the whole list.
fn read_problems(env: &TestEnv, jobs: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut read = |args: &[&str], check: &dyn Fn(&Run) -> bool| {
        let run = env.cmd(args).run();
        if run.code != Some(0) {
            problems.push(described("a read failed", &run));
        } else if !check(&run) {
            problems.push(described("a read printed the wrong thing", &run));
        }
    };
    read(&["stats"], &|run| {
        run.json::<Counts>().total == jobs.len() as u64
    });
    read(&["list", "--limit", "0"], &|run| {
        run.json::<Vec<Job>>().len() == jobs.len()
    });
    for job in jobs {
        read(&["get", WorkInFlight::id(job)], &|run| {
            &run.json::<Value>() == job
        });
    }
    problems
}

/// A pending and a claimed job in queue `work`, as stored, to see that a full disk changes
/// neither and that work goes on once there is room.
struct WorkInFlight {
    pending: Value,
    claimed: Value,
}

impl WorkInFlight {
    fn set_up(env: &TestEnv) -> WorkInFlight {
        let (claimed, _) = claimed_job(env, "work");
        let pending = env.enqueue("work", r#"{"pending":true}"#, &[]);
        WorkInFlight {
            pending: snapshot(env, &pending.id),
            claimed: snapshot(env, &claimed.id),
        }
    }

    fn jobs(&self) -> Vec<Value> {
        vec![self.pending.clone(), self.claimed.clone()]
    }

    fn id(job: &Value) -> &str {
        job["id"].as_str().expect("an id")
    }

    /// Every kind of write while there is no room: all fail, and no job changes.
    fn write_problems(&self, env: &TestEnv) -> Vec<String> {
        let claimed = Self::id(&self.claimed);
        let runs = [
            env.cmd(["enqueue", "work", "--payload", "1"]).run(),
            env.cmd(["enqueue", "work", "--batch"])
                .stdin("1\n2\n")
                .run(),
            env.cmd(["dequeue", "work", "--worker", "w2"]).run(),
            env.cmd(["complete", claimed, "--output", "{\"ok\":1}"])
                .run(),
            env.cmd(["fail", claimed, "--reason", "no room"]).run(),
        ];
        runs.iter()
            .filter_map(|run| out_of_space_problem(run, &env.db()))
            .collect()
    }

    /// Once there is room again, the pending job can be claimed and the claimed one done.
    #[track_caller]
    fn assert_work_goes_on(&self, env: &TestEnv) {
        let claimed = env.dequeue("work", &["--worker", "w2"]);
        assert_eq!(claimed.id, Self::id(&self.pending));
        let done: Job = env.json(&["complete", Self::id(&self.claimed)]);
        assert_eq!(done.status, "done");
    }
}

/// A `dequeue --wait` on another queue, holding the database open as a waiting worker does.
struct Waiter {
    child: std::process::Child,
}

impl Waiter {
    fn start(env: &TestEnv) -> Waiter {
        let child = env
            .cmd(["dequeue", "idle", "--wait", "--worker", "waiter"])
            .spawn();
        // Nothing else runs now, so the shared-memory file existing means the waiter has
        // the database open (the process that closes it last removes the file).
        let shm = sidecar(&env.db(), "-shm");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !shm.exists() {
            assert!(
                Instant::now() < deadline,
                "the waiting dequeue never opened the database"
            );
            thread::sleep(Duration::from_millis(5));
        }
        Waiter { child }
    }

    /// SIGTERM: the waiter must have lived through the full disk, and leaves claiming nothing.
    fn stop(mut self) {
        let still_running = self.child.try_wait().expect("poll the waiter").is_none();
        send_signal(&self.child, libc::SIGTERM);
        let output = self.child.wait_with_output().expect("wait for the waiter");
        assert!(
            still_running,
            "the waiting dequeue died while the disk was full: {output:?}"
        );
        assert_eq!(output.status.code(), Some(143), "{output:?}");
        assert!(output.stdout.is_empty(), "{output:?}");
    }
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

#[test]
fn a_disk_filled_by_enqueues_refuses_the_write_whole_keeps_reads_and_recovers() {
    let env = TestEnv::new();
    let _tmpfs = Tmpfs::mount(env.dir(), "1m");
    let work = WorkInFlight::set_up(&env);
    // A worker waits on the database all along, as in production; it keeps the WAL and
    // its index in place, so reads need no new space.
    let waiter = Waiter::start(&env);
    // Space held back while the enqueues fill the disk and given back with the filler:
    // what the fill leaves over depends on how the schema's pages fall, so recovery gets
    // room of its own rather than that remainder.
    let ballast = env.dir().join("ballast");
    fs::write(&ballast, vec![0u8; 128 * 1024]).unwrap();

    let (filled, failed) = enqueue_until_a_write_fails(
        |payload| env.cmd(["enqueue", "fill", "--payload", payload]).run(),
        48 * 1024,
    );
    assert!(
        filled.len() >= 3,
        "only {} enqueues fitted in 1 MiB",
        filled.len()
    );
    assert_out_of_space(&failed, &env.db());
    let mut committed = work.jobs();
    committed.extend(filled);
    assert_eq!(env.json::<Counts>(&["stats"]).total, committed.len() as u64);

    let batch = env
        .cmd(["enqueue", "fill", "--batch"])
        .stdin(big_batch(3, 48 * 1024))
        .run();
    assert_batch_added_nothing(&batch, &env, committed.len());

    // Not one byte left for anyone. (A small write may still succeed now, in the WAL space
    // the failed transactions left allocated: that is SQLite reusing it, not a fault.)
    let filler = fill_the_disk(env.dir());
    let reads = read_problems(&env, &committed);
    assert_no_problems(&reads, 2 + committed.len());

    fs::remove_file(filler).unwrap();
    fs::remove_file(ballast).unwrap();
    assert_intact(&env);
    assert_jobs_intact(&env, &committed);
    env.enqueue("fill", "\"after\"", &[]);
    work.assert_work_goes_on(&env);
    waiter.stop();
}

#[test]
fn a_disk_filled_between_commands_refuses_every_write_saying_so_and_still_serves_reads() {
    let env = TestEnv::new();
    let _tmpfs = Tmpfs::mount(env.dir(), "1m");
    let work = WorkInFlight::set_up(&env);
    // The common case: the disk fills up (logs, another program) between two commands, so
    // no WAL or WAL index is left over to write or read in.
    let shm = sidecar(&env.db(), "-shm");
    assert!(
        !shm.exists(),
        "the last command to close removes {}",
        shm.display()
    );
    let filler = fill_the_disk(env.dir());

    let write_problems = work.write_problems(&env);
    let read_problems = read_problems(&env, &work.jobs());

    // Whatever was said, nothing may have changed: check that first, with room to read.
    fs::remove_file(filler).unwrap();
    assert_intact(&env);
    assert_jobs_intact(&env, &work.jobs());
    let problems = [write_problems, read_problems].concat();
    assert_no_problems(&problems, 5 + 2 + work.jobs().len());
    work.assert_work_goes_on(&env);
}

/// A run of `args` whose files may not grow past `bytes` (RLIMIT_FSIZE, `ulimit -f`). The
/// signal that limit raises is left at its default, which kills: queueprim must ignore it.
fn run_with_size_limit(env: &TestEnv, bytes: u64, args: &[&str], stdin: &str) -> Run {
    let mut command = env.isolated(BIN);
    command.args(args);
    // SAFETY: setrlimit is async-signal-safe, as code between fork and exec must be.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run_to_end(command, stdin.as_bytes().to_vec(), Duration::from_secs(30))
}

#[test]
fn a_file_size_limit_refuses_the_write_whole_keeps_reads_and_recovers_once_lifted() {
    let env = TestEnv::new();
    let work = WorkInFlight::set_up(&env);
    // Above the 32 KiB WAL index, so reads fit; far below what the payloads need.
    const LIMIT: u64 = 256 * 1024;
    let limited = |args: &[&str], stdin: &str| run_with_size_limit(&env, LIMIT, args, stdin);

    let (filled, failed) = enqueue_until_a_write_fails(
        |payload| limited(&["enqueue", "fill", "--payload", payload], ""),
        20 * 1024,
    );
    assert!(filled.len() >= 3, "only {} enqueues fitted", filled.len());
    assert_out_of_space(&failed, &env.db());
    let mut committed = work.jobs();
    committed.extend(filled);
    assert_eq!(env.json::<Counts>(&["stats"]).total, committed.len() as u64);

    // More than the limit in one transaction: it cannot fit in the WAL, whatever its state.
    let batch = limited(&["enqueue", "fill", "--batch"], &big_batch(4, 80 * 1024));
    assert_batch_added_nothing(&batch, &env, committed.len());

    for args in [&["stats"][..], &["list", "--limit", "0"]] {
        let read = limited(args, "");
        assert_eq!(
            read.code,
            Some(0),
            "{args:?} under the limit: {}",
            read.stderr
        );
    }
    for job in &committed {
        let read = limited(&["get", WorkInFlight::id(job)], "");
        assert_eq!(read.code, Some(0), "get under the limit: {}", read.stderr);
        assert_eq!(&read.json::<Value>(), job);
    }

    // Lifted: everything committed is there, and writes work again.
    assert_intact(&env);
    assert_jobs_intact(&env, &committed);
    env.enqueue("fill", "\"after\"", &[]);
    work.assert_work_goes_on(&env);
}

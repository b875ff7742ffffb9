//! Faults and bad input: a full disk and a file-size limit, invalid UTF-8 and control
//! characters, every flag of the clap tree given nonsense, and payloads at and over 1 MiB.

use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use clap::{Arg, ArgAction, CommandFactory};
use serde_json::Value;

use crate::harness::{Counts, Job, Run, TestEnv, BIN};

/// The largest payload or output, in bytes of compact JSON.
const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Running queueprim beyond what the harness offers: with a file-size limit, with a
// deadline, and in parallel.

/// Runs `command` to its end, feeding it `stdin`; kills it if it outlives `limit` (a
/// command that wrongly accepted `--wait=…` or `--interval=…` would otherwise run forever)
/// and then reports no exit code.
fn run_to_end(mut command: Command, stdin: Vec<u8>, limit: Duration) -> Run {
    let args = format!("{:?}", command.get_args().collect::<Vec<_>>());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn queueprim");
    let mut pipe = child.stdin.take().expect("stdin");
    let writer = thread::spawn(move || {
        let _ = pipe.write_all(&stdin);
    });
    let pid = child.id() as libc::pid_t;
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let (output, timed_out) = match finished.recv_timeout(limit) {
        Ok(output) => (output, false),
        Err(_) => {
            // SAFETY: the child is not reaped until wait_with_output returns, so the pid
            // still names it (at worst a zombie, which ignores the signal).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            (finished.recv().expect("the waiting thread reports"), true)
        }
    };
    writer.join().expect("stdin writer");
    let output = output.expect("wait for queueprim");
    let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if timed_out {
        stderr.push_str(&format!("[killed: still running after {limit:?}]"));
    }
    Run {
        args,
        code: output.status.code().filter(|_| !timed_out),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    }
}

/// An argument from raw bytes, which need not be UTF-8.
fn raw(bytes: &[u8]) -> OsString {
    OsStr::from_bytes(bytes).to_owned()
}

/// Up to 300 characters of `text`, for failure messages that might hold a 1 MiB payload.
fn clip(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
        None => text.to_string(),
    }
}

/// What is wrong with a run that should have been refused or failed with `code`: it must
/// print nothing on stdout and one plain `error:` line on stderr, with no raw control
/// character a terminal would act on.
fn error_line_problem(run: &Run, code: i32) -> Option<String> {
    let one_line = run.stderr.starts_with("error: ")
        && run.stderr.ends_with('\n')
        && run.stderr.lines().count() == 1;
    let problem = if run.code != Some(code) {
        format!("exited {:?}, expected {code}", run.code)
    } else if !run.stdout.is_empty() {
        format!("printed on stdout: {}", clip(&run.stdout))
    } else if !one_line {
        "stderr is not one error line".to_string()
    } else if run.stderr.trim_end().chars().any(char::is_control) {
        "raw control characters in the error".to_string()
    } else {
        return None;
    };
    Some(problem)
}

/// A problem with a run, followed by the command line and its error, so that sorted lists
/// of problems group alike failures.
fn described(problem: &str, run: &Run) -> String {
    format!(
        "{problem} -- queueprim {} -- {}",
        clip(&run.args),
        clip(run.stderr.trim_end())
    )
}

#[track_caller]
fn assert_one_error_line(run: &Run, code: i32) {
    if let Some(problem) = error_line_problem(run, code) {
        panic!("{}", described(&problem, run));
    }
}

/// Fails the test with every problem found, so one run shows them all.
#[track_caller]
fn assert_no_problems(problems: &[String], out_of: usize) {
    assert!(
        problems.is_empty(),
        "{} of {out_of} command lines misbehaved:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A job as `get` prints it, to compare whole before and after.
fn snapshot(env: &TestEnv, id: &str) -> Value {
    env.json(&["get", id])
}

/// What `enqueue` printed, as `get` would print it (without `deduplicated`).
fn as_stored(enqueued: &Run) -> Value {
    let mut job: Value = enqueued.json();
    job.as_object_mut()
        .expect("a job object")
        .remove("deduplicated");
    job
}

/// Asserts every job recorded earlier is still exactly as it was.
#[track_caller]
fn assert_jobs_intact(env: &TestEnv, jobs: &[Value]) {
    for job in jobs {
        let id = job["id"].as_str().expect("a job id");
        assert_eq!(&snapshot(env, id), job, "job {id} changed");
    }
}

#[track_caller]
fn assert_integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open the database with rusqlite");
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("run integrity_check");
    assert_eq!(verdict, "ok", "integrity_check of {}", db.display());
}

/// A job enqueued and claimed, and its claim token.
fn claimed_job(env: &TestEnv, queue: &str) -> (Job, String) {
    env.enqueue(queue, r#"{"claimed":true}"#, &["--max-retries", "5"]);
    let job = env.dequeue(queue, &["--worker", "w1"]);
    let claim = job.claim.clone().expect("a claimed job has a token");
    (job, claim)
}

// ---------------------------------------------------------------------------------------
// A full disk: a real tmpfs, and a file-size limit

/// A tmpfs mounted over a folder, seen only by this test's thread and the processes it
/// starts: the thread first moves to a mount namespace of its own, so the mount never shows
/// up on the machine and vanishes with the thread even if the test process is killed.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts `size` (like `1m`) over `dir`. Fails, never skips, where that is impossible.
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        // SAFETY: unshare has no memory-safety preconditions; CLONE_NEWNS (which implies
        // CLONE_FS) detaches only the calling thread, which libtest runs this test on alone.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            panic!(
                "the disk-full test needs to mount a small tmpfs, in a mount namespace of its \
                 own, and cannot ({}): run it as root (or with CAP_SYS_ADMIN), as CI does; it \
                 does not skip",
                io::Error::last_os_error()
            );
        }
        // Otherwise a mount below a shared mount (systemd makes / shared) would propagate
        // back to the machine's namespace.
        mount(
            None,
            Path::new("/"),
            None,
            libc::MS_REC | libc::MS_PRIVATE,
            None,
        );
        let options = format!("size={size},mode=0700");
        mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(&options),
        );
        Tmpfs {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let dir = c_path(&self.dir);
        // SAFETY: a valid C string; a lazy unmount cannot fail because files are open.
        unsafe { libc::umount2(dir.as_ptr(), libc::MNT_DETACH) };
    }
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("a path without NUL")
}

fn mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) {
    let c = |s: Option<&str>| s.map(|s| CString::new(s).expect("no NUL"));
    let (source_c, fstype_c, data_c) = (c(source), c(fstype), c(data));
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    let target_c = c_path(target);
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
        "mount {source:?} on {} ({fstype:?}, {data:?}): {}",
        target.display(),
        io::Error::last_os_error()
    );
}

/// Fills the file system holding `dir` with a file until not one more byte fits, and
/// returns the file, to delete when space is to come back.
fn fill_the_disk(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = File::create(&path).expect("create the filler file");
    let chunk = [0u8; 4096];
    loop {
        match file.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    assert_eq!(
        free_bytes(dir),
        0,
        "the disk holding {} is full",
        dir.display()
    );
    path
}

fn free_bytes(dir: &Path) -> u64 {
    let dir = c_path(dir);
    // SAFETY: statvfs writes into the zeroed struct it is given.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(dir.as_ptr(), &mut stats) }, 0);
    stats.f_bavail as u64 * stats.f_frsize as u64
}

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

/// A JSON string payload of `bytes` bytes.
fn string_payload(bytes: usize, fill: char) -> String {
    format!("\"{}\"", fill.to_string().repeat(bytes - 2))
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
        // SAFETY: signalling our own child, which is not reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
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
    assert_integrity_ok(&env.db());
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
    assert_integrity_ok(&env.db());
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
    assert_integrity_ok(&env.db());
    assert_jobs_intact(&env, &committed);
    env.enqueue("fill", "\"after\"", &[]);
    work.assert_work_goes_on(&env);
}

// ---------------------------------------------------------------------------------------
// Invalid UTF-8 and control characters

/// What is wrong with how `args` was refused on a database holding `jobs`, if anything:
/// it must exit 2 naming `flag`, and change nothing.
fn refusal_problem(env: &TestEnv, jobs: &[Value], args: &[OsString], flag: &str) -> Option<String> {
    let counts: Counts = env.json(&["stats"]);
    let run = env.cmd(args).run();
    let problem = error_line_problem(&run, 2).or_else(|| {
        (!run.stderr.contains(flag)).then(|| format!("the error does not name {flag}"))
    });
    // A change is a fault whatever the message: check it at once.
    assert_eq!(
        env.json::<Counts>(&["stats"]),
        counts,
        "after queueprim {}",
        run.args
    );
    assert_jobs_intact(env, jobs);
    problem.map(|p| described(&p, &run))
}

/// A command line from bytes split at spaces, so values can hold any other byte.
fn words(line: &[u8]) -> Vec<OsString> {
    line.split(|b| *b == b' ').map(raw).collect()
}

#[test]
fn names_keys_and_workers_with_invalid_utf8_or_control_characters_are_refused_changing_nothing() {
    let env = TestEnv::new();
    let (claimed, _) = claimed_job(&env, "work");
    let pending = env.enqueue("work", "1", &["--group", "g", "--key", "k"]);
    let jobs = [snapshot(&env, &claimed.id), snapshot(&env, &pending.id)];
    let on_claimed = |command: &[u8], rest: &[u8]| {
        words(&[command, b" ", claimed.id.as_bytes(), b" ", rest].concat())
    };

    let cases: Vec<(Vec<OsString>, &str)> = vec![
        (words(b"enqueue w\xffrk --payload 1"), "[QUEUE]"),
        (words(b"enqueue --queue work\x1b[2J --payload 1"), "--queue"),
        (words(b"enqueue work --payload 1 --type t\xff"), "--type"),
        (words(b"enqueue work --payload 1 --group g\x07"), "--group"),
        (words(b"enqueue work --payload 1 --group g\xc3"), "--group"),
        (words(b"enqueue work --payload 1 --key k\n2"), "--key"),
        (words(b"enqueue work --payload 1 --key k\xe9"), "--key"),
        (words(b"enqueue work --payload \"caf\xe9\""), "--payload"),
        (
            words(b"dequeue work --worker w\x1b]0;owned\x07"),
            "--worker",
        ),
        (words(b"dequeue work --worker w\xff"), "--worker"),
        (words(b"dequeue work --type t\xc2\x9b2J"), "--type"),
        (
            on_claimed(b"complete", b"--enqueue next\x01=1"),
            "--enqueue",
        ),
        (on_claimed(b"complete", b"--enqueue n\xffxt=1"), "--enqueue"),
        (
            on_claimed(b"complete", b"--enqueue next=\"\xff\""),
            "--enqueue",
        ),
        (on_claimed(b"complete", b"--output \"caf\xe9\""), "--output"),
        (on_claimed(b"complete", b"--claim c_\xff"), "--claim"),
        (on_claimed(b"fail", b"--claim c_1\x1b"), "--claim"),
    ];
    let problems: Vec<String> = cases
        .iter()
        .filter_map(|(args, flag)| refusal_problem(&env, &jobs, args, flag))
        .collect();
    assert_no_problems(&problems, cases.len());
}

/// A JSON document with a Latin-1 `é`: not UTF-8.
const LATIN1_JSON: &[u8] = b"{\"to\":\"caf\xe9\"}";

#[test]
fn json_files_and_stdin_with_invalid_utf8_are_refused_naming_the_source_and_write_nothing() {
    let env = TestEnv::new();
    let (claimed, _) = claimed_job(&env, "work");
    let jobs = [snapshot(&env, &claimed.id)];
    let file = env.dir().join("latin1.json");
    fs::write(&file, LATIN1_JSON).unwrap();
    let at_file = format!("@{}", file.display());

    for (args, stdin, needles) in [
        (
            vec!["enqueue", "work", "--payload", &at_file],
            &b""[..],
            vec!["--payload", file.to_str().unwrap(), "UTF-8"],
        ),
        (
            vec!["enqueue", "work", "--payload", "-"],
            LATIN1_JSON,
            vec!["--payload", "stdin", "UTF-8"],
        ),
        (
            vec!["complete", &claimed.id, "--output", &at_file],
            b"",
            vec!["--output", file.to_str().unwrap(), "UTF-8"],
        ),
        (
            vec!["complete", &claimed.id, "--output", "-"],
            LATIN1_JSON,
            vec!["--output", "stdin", "UTF-8"],
        ),
        // JSON strings may not hold raw control characters; the line is named, not echoed.
        (
            vec!["enqueue", "work", "--batch"],
            b"1\n\"bell\x07\"\n",
            vec!["--batch line 2", "nothing was enqueued"],
        ),
        (
            vec!["enqueue", "work", "--batch"],
            b"1\n2\n\r\n{\"to\":\"caf\xe9\"}\n",
            vec!["--batch line 4", "UTF-8"],
        ),
    ] {
        let counts: Counts = env.json(&["stats"]);
        let run = env.cmd(&args).stdin(stdin.to_vec()).run();
        assert_one_error_line(&run, 2);
        for needle in needles {
            assert!(
                run.stderr.contains(needle),
                "{args:?} should say {needle:?}: {}",
                run.stderr
            );
        }
        assert_eq!(env.json::<Counts>(&["stats"]), counts, "after {args:?}");
        assert_jobs_intact(&env, &jobs);

        // On a missing database the same refusal creates nothing.
        let fresh = TestEnv::new();
        let run = fresh.cmd(&args).stdin(stdin.to_vec()).run();
        assert_eq!(
            run.code,
            Some(2),
            "{args:?} on a missing database: {}",
            run.stderr
        );
        assert!(!fresh.db().exists(), "{args:?} created the database");
    }
}

#[test]
fn a_failure_reason_keeps_control_characters_exactly_in_json_and_on_one_table_row() {
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "work");
    let reason = "line one\nline two\ttab \u{1b}[31mred\u{1b}[0m \u{7}bell \u{9b}csi \u{7f}del";
    let failed: Job = env.json(&["fail", &job.id, "--reason", reason]);
    assert_eq!(
        failed.errors.last().map(|e| e.reason.as_str()),
        Some(reason)
    );

    let jsonl = env
        .cmd(["get", &job.id, "--format", "jsonl"])
        .expect_status(0);
    let parsed: Job = serde_json::from_str(jsonl.stdout.trim_end()).expect("one JSON line");
    assert_eq!(parsed.errors[0].reason, reason);
    assert_eq!(jsonl.stdout.lines().count(), 1);

    let table = env
        .cmd(["get", &job.id, "--format", "table"])
        .expect_status(0);
    let row = table
        .stdout
        .lines()
        .find(|line| line.contains("line one"))
        .unwrap_or_else(|| panic!("no error row in:\n{}", table.stdout));
    assert!(
        row.contains("line two") && row.contains("del"),
        "the whole reason is on one row, its newline escaped: {row:?}"
    );
    assert!(
        !row.chars().any(char::is_control),
        "raw control characters in {row:?}"
    );
}

#[test]
fn a_failure_reason_with_invalid_utf8_is_recorded_with_replacement_characters() {
    // Reasons are free text, typically a program's stderr (`--reason "$(tail -c 2000
    // err.log)"`), which need not be UTF-8. Refusing it would leave the job claimed and
    // the failure unrecorded; the built-in runner already stores stderr lossily.
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "work");
    let run = env
        .cmd([
            OsString::from("fail"),
            OsString::from(&job.id),
            OsString::from("--reason"),
        ])
        .args([raw(b"exit 1: caf\xe9 au lait \xff")])
        .run();
    assert_eq!(
        run.code,
        Some(0),
        "fail with a non-UTF-8 reason: {}",
        run.stderr
    );
    let failed: Job = env.json(&["get", &job.id]);
    assert_eq!(
        failed.status, "pending",
        "the failure counted and the job retries"
    );
    assert_eq!(
        failed.errors[0].reason,
        "exit 1: caf\u{fffd} au lait \u{fffd}"
    );
}

// ---------------------------------------------------------------------------------------
// Every value-taking argument of the clap tree given nonsense

/// Values no careful user means: each argument must refuse all of them, except those
/// `may_accept` lists for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nonsense {
    Empty,
    Word,
    Negative,
    Huge,
    Long,
    Control,
    InvalidUtf8,
}

impl Nonsense {
    const ALL: [Nonsense; 7] = [
        Nonsense::Empty,
        Nonsense::Word,
        Nonsense::Negative,
        Nonsense::Huge,
        Nonsense::Long,
        Nonsense::Control,
        Nonsense::InvalidUtf8,
    ];

    fn value(self) -> OsString {
        match self {
            Nonsense::Empty => "".into(),
            Nonsense::Word => "nonsense".into(),
            Nonsense::Negative => "-1".into(),
            Nonsense::Huge => "99999999999999999999999".into(),
            // Longer than any name (128) or key (256) may be.
            Nonsense::Long => "a".repeat(300).into(),
            // An escape sequence that would clear the screen if echoed raw.
            Nonsense::Control => "x\u{1b}[2J".into(),
            Nonsense::InvalidUtf8 => raw(b"x\xff\xfe"),
        }
    }
}

/// Arguments that legitimately take any text at all, and so are not given nonsense here. A
/// new argument missing from this list must refuse every nonsense value.
fn takes_any_text(key: &str) -> bool {
    matches!(
        key,
        // Free text: why a job failed. Its handling has tests of its own above.
        "--reason"
            // A file path: any bytes can name a file.
            | "--db"
            // The worker's command and its arguments, handed to the program untouched.
            | "<CMD>"
    )
}

/// The nonsense values that are legitimate for an argument.
fn may_accept(key: &str) -> &'static [Nonsense] {
    use Nonsense::*;
    match key {
        // Names of queues, types and groups allow letters, digits and - _ . / :, so a word,
        // "-1" and a long number are all good names; worker names and dedup keys are free
        // text without control characters.
        "<QUEUE>" | "--queue" | "--type" | "--group" | "--worker" | "--key" => {
            &[Word, Negative, Huge]
        }
        // JSON documents: -1 and a long integer are JSON numbers.
        "--payload" | "--output" => &[Negative, Huge],
        "--priority" => &[Negative],
        _ => &[],
    }
}

/// One argument of one subcommand, as the user writes it.
struct Target {
    subcommand: String,
    /// `--long` for options and flags, `<VALUE_NAME>` for positionals.
    key: String,
    value_name: String,
    positional: bool,
    takes_value: bool,
    /// A value it must accept, to show the command around it is otherwise valid.
    good: Option<OsString>,
}

impl Target {
    fn new(subcommand: &str, arg: &Arg) -> Target {
        let value_name = arg
            .get_value_names()
            .and_then(|names| names.first())
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), |n| n.to_string());
        let key = match arg.get_long() {
            Some(long) => format!("--{long}"),
            None => format!("<{value_name}>"),
        };
        let takes_value = arg.get_action().takes_values();
        let good =
            (takes_value && !takes_any_text(&key)).then(|| good_value(arg, &key, &value_name));
        Target {
            subcommand: subcommand.to_string(),
            key,
            positional: arg.is_positional(),
            takes_value,
            value_name,
            good,
        }
    }

    /// How clap or queueprim may name it in an error.
    fn names(&self) -> Vec<String> {
        if self.positional {
            vec![
                format!("<{}>", self.value_name),
                format!("[{}]", self.value_name),
            ]
        } else {
            vec![self.key.clone()]
        }
    }
}

/// A value each kind of argument accepts. A new kind fails here until it gets one.
fn good_value(arg: &Arg, key: &str, value_name: &str) -> OsString {
    if let Some(first) = arg.get_possible_values().first() {
        return first.get_name().into();
    }
    let good = match value_name {
        "QUEUE" => "q",
        "ID" => "q_0000000000",
        "TOKEN" => "c_000000000000",
        "JSON|@FILE|-" => "1",
        "QUEUE=JSON" => "next=1",
        // A claim lasts at least 1s.
        "DUR" if key == "--timeout" => "1s",
        // Short enough that --wait, --interval or --grace end at once.
        "DUR" => "1ms",
        "N" => "1",
        "NAME" => "w",
        "TYPE" => "t",
        "GROUP" => "g",
        "KEY" => "k",
        "TIME" => "2030-01-01T00:00:00Z",
        "TEXT" => "x",
        "PRIORITY" => "1",
        other => panic!("no known-good value for {key} ({other}): add one to good_value"),
    };
    good.into()
}

/// Every argument of every subcommand, and the global options (tried on `stats`).
fn targets() -> Vec<Target> {
    let mut cli = queueprim::cli::Cli::command();
    cli.build();
    let mut targets: Vec<Target> = cli
        .get_arguments()
        .filter(|arg| !is_help(arg))
        .map(|arg| Target::new("stats", arg))
        .collect();
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        targets.extend(
            sub.get_arguments()
                .filter(|arg| !is_help(arg) && !arg.is_global_set())
                .map(|arg| Target::new(sub.get_name(), arg)),
        );
    }
    targets
}

fn is_help(arg: &Arg) -> bool {
    matches!(
        arg.get_action(),
        ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
    )
}

/// The shortest valid command line of each subcommand, as (argument, its words) slots so
/// the argument under test can replace its own slot. A new subcommand fails here until it
/// gets one.
fn minimal_invocation(subcommand: &str) -> Vec<(&'static str, Vec<&'static str>)> {
    const ID: &str = "q_0000000000";
    match subcommand {
        "enqueue" => vec![
            ("<QUEUE>", vec!["q"]),
            ("--payload", vec!["--payload", "1"]),
        ],
        "dequeue" | "peek" | "pause" | "resume" | "config" => vec![("<QUEUE>", vec!["q"])],
        "complete" | "fail" | "get" | "release" | "retry" => vec![("<ID>", vec![ID])],
        "extend" => vec![("<ID>", vec![ID]), ("--by", vec!["--by", "1m"])],
        "list" | "stats" | "queues" => vec![],
        "purge" => vec![("--all", vec!["--all"])],
        "sweep" => vec![("--once", vec!["--once"])],
        "work" => vec![
            ("<QUEUE>", vec!["q"]),
            ("--until-empty", vec!["--until-empty"]),
            ("<CMD>", vec!["--", "true"]),
        ],
        other => panic!("no minimal invocation for `queueprim {other}`: add one"),
    }
}

/// The command line trying `value` (or the bare flag, for `None`) for `target`.
fn command_line(target: &Target, value: Option<&OsStr>) -> Vec<OsString> {
    let mut slots = minimal_invocation(&target.subcommand);
    let mut drop_slot = |key: &str| slots.retain(|(k, _)| *k != key);
    drop_slot(&target.key);
    match (target.subcommand.as_str(), target.key.as_str()) {
        // A queue is given one way only, and retry takes ids or --queue.
        (_, "--queue") => {
            drop_slot("<QUEUE>");
            drop_slot("<ID>");
        }
        ("enqueue", "--batch") => drop_slot("--payload"),
        ("retry", "--status") => {
            drop_slot("<ID>");
            slots.push(("--queue", vec!["--queue", "q"]));
        }
        ("enqueue", "--backoff-max") => slots.push(("--backoff", vec!["--backoff", "1s"])),
        _ => {}
    }
    let has_trailing = slots.iter().any(|(k, _)| *k == "<CMD>");
    let mut line: Vec<OsString> = vec![target.subcommand.clone().into()];
    for (key, words) in &slots {
        if *key != "<CMD>" {
            line.extend(words.iter().map(OsString::from));
        }
    }
    match value {
        None => line.push(target.key.clone().into()),
        Some(value) if !target.positional => {
            // --flag=VALUE, so a value like -1 cannot be taken for a flag.
            let mut word = format!("{}=", target.key).into_bytes();
            word.extend_from_slice(value.as_bytes());
            line.push(OsString::from_vec(word));
        }
        Some(value) => {
            if !has_trailing {
                line.push("--".into());
            }
            line.push(value.to_owned());
        }
    }
    for (key, words) in &slots {
        if *key == "<CMD>" {
            line.extend(words.iter().map(OsString::from));
        }
    }
    line
}

/// One command line to run, and what it must do.
struct Case {
    line: Vec<OsString>,
    expect: Expect,
}

enum Expect {
    /// A valid use, proving the rest of the command line right: anything but exit 2.
    Accepted,
    /// Refused with exit 2, naming the argument by one of `names`.
    Refused {
        names: Vec<String>,
        nonsense: Nonsense,
    },
}

fn cases(targets: &[Target]) -> Vec<Case> {
    let mut cases = Vec::new();
    for target in targets.iter().filter(|t| !takes_any_text(&t.key)) {
        cases.push(Case {
            line: command_line(target, target.good.as_deref()),
            expect: Expect::Accepted,
        });
        for nonsense in Nonsense::ALL {
            if target.takes_value && may_accept(&target.key).contains(&nonsense) {
                continue;
            }
            cases.push(Case {
                line: command_line(target, Some(&nonsense.value())),
                expect: Expect::Refused {
                    names: target.names(),
                    nonsense,
                },
            });
        }
    }
    cases
}

/// What is wrong with one case's run, if anything, in words that group alike failures.
fn check_case(case: &Case, db: &Path, run: &Run) -> Option<String> {
    let (names, nonsense) = match &case.expect {
        Expect::Accepted if matches!(run.code, Some(code) if code != 2) => return None,
        Expect::Accepted => return Some(format!("a valid use failed ({:?})", run.code)),
        Expect::Refused { names, nonsense } => (names, *nonsense),
    };
    if let Some(problem) = error_line_problem(run, 2) {
        return Some(problem);
    }
    if !names.iter().any(|n| run.stderr.contains(n.as_str())) {
        Some(format!(
            "the error does not name the argument, as {}",
            names[0]
        ))
    } else if nonsense == Nonsense::Control && misquotes_the_control_value(&run.stderr) {
        Some("the error quotes the value with its control characters dropped".into())
    } else if db.exists() {
        Some("created the database".into())
    } else {
        None
    }
}

/// Whether an error quotes [`Nonsense::Control`] as `'x'` or `'x[2J'`: the escape dropped,
/// so the user is told a value they did not type was wrong. Quoted escaped (`\u{1b}`) or
/// not quoted at all is fine.
fn misquotes_the_control_value(stderr: &str) -> bool {
    stderr.contains("'x'") || stderr.contains("'x[2J'")
}

#[test]
fn every_value_taking_argument_refuses_nonsense_naming_itself_and_creating_nothing() {
    let targets = targets();
    assert!(
        targets.len() > 60,
        "only {} arguments found in the clap tree",
        targets.len()
    );
    let cases = cases(&targets);
    let dir = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(index) else { break };
                let db = dir.path().join(format!("case-{index}.db"));
                let mut command = Command::new(BIN);
                command
                    .args(&case.line)
                    .env_remove("QUEUEPRIM_FORMAT")
                    .env_remove("QUEUEPRIM_SYNCHRONOUS")
                    .env("QUEUEPRIM_DB", &db)
                    .env("HOME", dir.path());
                let run = run_to_end(command, Vec::new(), Duration::from_secs(10));
                if let Some(problem) = check_case(case, &db, &run) {
                    failures.lock().unwrap().push(described(&problem, &run));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert_no_problems(&failures, cases.len());
}

// ---------------------------------------------------------------------------------------
// Payloads at and over the limit

/// A JSON string of exactly `bytes` bytes once compact, with spaces around it that do not
/// count.
fn padded_string_of(bytes: usize) -> String {
    format!("  {}  ", string_payload(bytes, 'x'))
}

#[test]
fn a_batch_line_of_exactly_one_mib_is_enqueued_and_one_byte_more_is_refused_by_line() {
    let env = TestEnv::new();
    let at_limit = format!("1\n{}\n3\n", padded_string_of(MIB));
    let jobs: Vec<Job> = env
        .cmd(["enqueue", "big", "--batch"])
        .stdin(at_limit)
        .expect_status(0)
        .json();
    assert_eq!(jobs.len(), 3);
    let stored = serde_json::to_string(&snapshot(&env, &jobs[1].id)["payload"]).unwrap();
    assert_eq!(stored.len(), MIB);

    let over = format!("1\n\n{}\n4\n", padded_string_of(MIB + 1));
    for env in [&env, &TestEnv::new()] {
        let existed = env.db().exists();
        let run = env
            .cmd(["enqueue", "big", "--batch"])
            .stdin(over.clone())
            .run();
        assert_one_error_line(&run, 2);
        for needle in ["line 3", "1048577", "nothing was enqueued"] {
            assert!(
                run.stderr.contains(needle),
                "should say {needle:?}: {}",
                run.stderr
            );
        }
        assert_eq!(
            env.db().exists(),
            existed,
            "a refused batch created the database"
        );
    }
    assert_eq!(env.json::<Counts>(&["stats"]).total, 3);
}

#[test]
fn complete_output_of_exactly_one_mib_is_stored_and_one_byte_more_is_refused() {
    let env = TestEnv::new();
    let (job, claim) = claimed_job(&env, "work");
    let claimed = snapshot(&env, &job.id);
    let over = env.dir().join("over.json");
    fs::write(&over, padded_string_of(MIB + 1)).unwrap();
    let run = env
        .cmd([
            "complete",
            &job.id,
            "--claim",
            &claim,
            "--output",
            &format!("@{}", over.display()),
        ])
        .run();
    assert_one_error_line(&run, 2);
    for needle in ["--output", "1048577", "1 MiB"] {
        assert!(
            run.stderr.contains(needle),
            "should say {needle:?}: {}",
            run.stderr
        );
    }
    assert_jobs_intact(&env, &[claimed]);

    let at_limit = padded_string_of(MIB);
    let done = env
        .cmd(["complete", &job.id, "--claim", &claim, "--output", "-"])
        .stdin(at_limit.clone())
        .expect_status(0)
        .json::<Job>();
    assert_eq!(done.status, "done");
    let stored = snapshot(&env, &job.id)["output"].clone();
    assert_eq!(stored, serde_json::from_str::<Value>(&at_limit).unwrap());
}

/// Linux refuses one command-line argument over 128 KiB (MAX_ARG_STRLEN), terminating NUL
/// included: the largest `--enqueue QUEUE=JSON` that can be passed at all.
const MAX_ARGUMENT_BYTES: usize = 128 * 1024 - 1;

#[test]
fn a_follow_up_payload_as_long_as_an_argument_can_be_is_enqueued_whole() {
    // `--enqueue` takes its JSON inline only (no @FILE or -), so the kernel's limit on one
    // argument is reached long before the 1 MiB payload limit: the over-limit refusal
    // cannot be reached from a command line, and the largest possible follow-up must fit.
    let env = TestEnv::new();
    let (job, claim) = claimed_job(&env, "work");
    let prefix = "next=";
    let payload = string_payload(MAX_ARGUMENT_BYTES - prefix.len(), 'y');
    let done: Job = env
        .cmd([
            "complete",
            &job.id,
            "--claim",
            &claim,
            "--enqueue",
            &format!("{prefix}{payload}"),
        ])
        .expect_status(0)
        .json();
    assert_eq!(done.status, "done");
    let follow_up = env.dequeue("next", &[]);
    assert_eq!(
        follow_up.payload,
        serde_json::from_str::<Value>(&payload).unwrap()
    );

    let too_long = format!(
        "{prefix}{}",
        string_payload(MAX_ARGUMENT_BYTES + 1 - prefix.len(), 'y')
    );
    let spawned = Command::new(BIN)
        .args(["complete", "q_0000000000", "--enqueue", &too_long])
        .output();
    assert_eq!(
        spawned.err().and_then(|e| e.raw_os_error()),
        Some(libc::E2BIG),
        "one byte more is refused by the kernel, not by queueprim"
    );
}

#[test]
fn failure_reasons_are_kept_up_to_4096_characters_and_cut_with_a_mark_beyond() {
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "work");
    // Characters, not bytes: é is two bytes.
    let exact = "é".repeat(4096);
    let longer = "é".repeat(4097);
    let huge: String = (0..100_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for reason in [&exact, &longer, &huge] {
        env.cmd(["fail", &job.id, "--reason", reason])
            .expect_status(0);
        env.dequeue("work", &[]);
    }
    let errors = env.json::<Job>(&["get", &job.id]).errors;
    assert_eq!(errors.len(), 3);
    assert_eq!(
        errors[0].reason, exact,
        "exactly 4096 characters are kept whole"
    );
    for (stored, given) in [(&errors[1].reason, &longer), (&errors[2].reason, &huge)] {
        let kept: String = given.chars().take(4096).collect();
        assert!(
            stored.starts_with(&kept),
            "the first 4096 characters are kept"
        );
        let mark = &stored[kept.len()..];
        assert!(
            !mark.is_empty() && mark.chars().count() <= 16,
            "the cut is marked, briefly: {mark:?}"
        );
    }
}

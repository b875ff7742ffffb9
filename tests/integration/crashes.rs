//! Crash tests: real queueprim processes SIGKILLed at awkward moments (shell workers between
//! dequeue and complete, `complete` and `fail` mid-transaction, a large `enqueue --batch`, the
//! `sweep` daemon, `work` runners), then the database is checked: intact, nothing lost,
//! nothing half-written, and every orphaned claim handed out again once its timeout passed.
//! Kill delays come from a seeded generator; each test prints its seed, and
//! `QUEUEPRIM_CRASH_SEED=N` replays those delays (the timing of the machine itself cannot be
//! replayed, so a seed reproduces the attempt, not always the exact landing).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::harness::{millis, Failure, Job, QueueCounts, Sweep, TestEnv, BIN};

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/// SplitMix64: tiny and seedable, plenty for spreading kill delays.
struct Rng(u64);

impl Rng {
    /// The generator for one test, seeded from `QUEUEPRIM_CRASH_SEED` or the clock, and the
    /// seed printed (shown by `cargo test` when the test fails). The test's name is mixed in
    /// so one seed given for a whole run still draws different delays in each test.
    fn for_test(test: &str) -> Rng {
        let seed = match std::env::var("QUEUEPRIM_CRASH_SEED") {
            Ok(text) => text.parse().expect("QUEUEPRIM_CRASH_SEED must be a u64"),
            Err(_) => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock after 1970")
                .as_nanos() as u64,
        };
        println!("{test}: seed {seed} (replay with QUEUEPRIM_CRASH_SEED={seed})");
        let salt = test.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
        });
        Rng(seed ^ salt)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration drawn uniformly from `[low, high]`, to the microsecond.
    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high.saturating_sub(low).as_micros() as u64;
        low + Duration::from_micros(self.next_u64() % (span + 1))
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// Processes

/// How a process we meant to kill ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// It finished on its own before the kill came.
    Exited(i32),
    Killed,
}

#[track_caller]
fn ended(status: ExitStatus) -> Ended {
    match (status.code(), status.signal()) {
        (Some(code), _) => Ended::Exited(code),
        (None, Some(libc::SIGKILL)) => Ended::Killed,
        _ => panic!("process ended in an unexpected way: {status:?}"),
    }
}

/// SIGKILLs a child (harmless if it already exited: it is still ours to reap) and reaps it.
fn kill_and_reap(child: &mut Child) -> Ended {
    child.kill().expect("SIGKILL");
    ended(child.wait().expect("reap"))
}

/// SIGKILLs every process in the group that `leader` leads.
fn kill_group(leader: u32) {
    // SAFETY: kill(2) with a negative pid signals a process group and touches no memory; a
    // group that is already gone only makes it return ESRCH.
    unsafe {
        libc::kill(-(leader as libc::pid_t), libc::SIGKILL);
    }
}

/// True while `pid` is a live process: not gone, and not a zombie waiting to be reaped.
fn is_running(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the command name, which is in parentheses and may hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// True if process `pid` has `file` open.
fn has_open(pid: u32, file: &Path) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| fs::read_link(fd.path()).is_ok_and(|target| target == file))
}

/// Polls until `check` holds, for at most `limit`.
#[track_caller]
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        sleep(ms(10));
    }
}

/// A child that is SIGKILLed and reaped when dropped, so a test that fails half-way leaves no
/// runner behind.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        // Both are no-ops for a child already reaped.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process group started by a job's command: killed when dropped, so a command that
/// outlives its runner never outlives the test.
struct CommandGroup {
    leader: u32,
}

impl CommandGroup {
    /// The group whose leader wrote its pid (`echo $$`) to `pid_file`, once it has.
    fn from_pid_file(pid_file: &Path) -> CommandGroup {
        let mut leader = None;
        eventually(
            Duration::from_secs(10),
            "the job's command to start",
            || {
                leader = fs::read_to_string(pid_file)
                    .ok()
                    .and_then(|text| text.trim().parse().ok());
                leader.is_some()
            },
        );
        CommandGroup {
            leader: leader.unwrap(),
        }
    }
}

impl Drop for CommandGroup {
    fn drop(&mut self) {
        kill_group(self.leader);
    }
}

// ---------------------------------------------------------------------------------------------
// Watching a process until the moment to kill it

/// When to SIGKILL a watched process.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// Let it finish (a reference run, timing the phases).
    Never,
    /// This long after it was started.
    After(Duration),
    /// This long after its WAL first grew, that is once it is writing its transaction.
    AfterWalGrows(Duration),
}

/// What was seen of a queueprim process while it was watched, relative to its start.
#[derive(Debug, Clone, Copy)]
struct Watched {
    ended: Ended,
    /// It had the database open when it ended: it had parsed all its input by then, since
    /// commands read and check their input before they open the store.
    db_was_open: bool,
    /// When the WAL file first grew beyond its size at the start: the process was writing
    /// pages, so it was inside its write transaction (or had committed).
    wal_grew_at: Option<Duration>,
    /// When the WAL file went away again: the process committed, checkpointed and closed.
    wal_gone_at: Option<Duration>,
    elapsed: Duration,
}

/// How often a watched process is looked at: often enough to catch a transaction of a few
/// milliseconds, cheap enough not to slow the process down on two cores.
const WATCH_PERIOD: Duration = Duration::from_micros(250);

/// Watches `child` (a queueprim process on `db`, started just now) and SIGKILLs it when
/// `kill_at` says, noting whether it had the database open and when its WAL grew.
fn watch_and_kill(child: &mut Child, db: &Path, kill_at: KillAt) -> Watched {
    let start = Instant::now();
    let wal = wal_path(db);
    let wal_at_start = file_len(&wal);
    let (mut db_was_open, mut wal_grew_at, mut wal_gone_at) = (false, None, None);
    let ended = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break ended(status);
        }
        let now = start.elapsed();
        db_was_open = db_was_open || has_open(child.id(), db);
        match (wal_grew_at, wal.exists()) {
            (None, true) if file_len(&wal) > wal_at_start => wal_grew_at = Some(now),
            (Some(_), false) if wal_gone_at.is_none() => wal_gone_at = Some(now),
            _ => {}
        }
        let due = match kill_at {
            KillAt::Never => false,
            KillAt::After(delay) => now >= delay,
            KillAt::AfterWalGrows(delay) => wal_grew_at.is_some_and(|grew| now >= grew + delay),
        };
        if due {
            break kill_and_reap(child);
        }
        sleep(WATCH_PERIOD);
    };
    Watched {
        ended,
        db_was_open,
        wal_grew_at,
        wal_gone_at,
        elapsed: start.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// The database, read and checked

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Asserts SQLite finds the database file sound: `PRAGMA integrity_check` says just "ok".
#[track_caller]
fn assert_integrity(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open the database with rusqlite");
    let report: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .expect("run PRAGMA integrity_check");
    assert_eq!(report, ["ok"], "integrity_check of {}", db.display());
}

fn get(env: &TestEnv, id: &str) -> Job {
    env.json(&["get", id])
}

fn list(env: &TestEnv, queue: &str, status: Option<&str>) -> Vec<Job> {
    let mut args = vec!["list", queue, "--limit", "0"];
    if let Some(status) = status {
        args.extend(["--status", status]);
    }
    env.json(&args)
}

/// Claims every visible job of `queue` at once (releasing expired claims first, as every
/// dequeue does), for a long time, as worker `drain`.
fn drain(env: &TestEnv, queue: &str) -> Vec<Job> {
    env.json(&[
        "dequeue",
        queue,
        "--count",
        "10000",
        "--worker",
        "drain",
        "--timeout",
        "1h",
    ])
}

fn by_id(jobs: &[Job]) -> BTreeMap<&str, &Job> {
    jobs.iter().map(|job| (job.id.as_str(), job)).collect()
}

/// The job `drained` holds for `job`, which must be there.
#[track_caller]
fn handed_out_again<'a>(drained: &BTreeMap<&str, &'a Job>, job: &Job) -> &'a Job {
    drained
        .get(job.id.as_str())
        .unwrap_or_else(|| panic!("job was not handed out again: {job:?}"))
}

fn ids(jobs: &[Job]) -> BTreeSet<String> {
    jobs.iter().map(|job| job.id.clone()).collect()
}

/// The reason queueprim records when a claim with this deadline expires.
fn expiry_reason(deadline: &str) -> String {
    format!("claim expired at {deadline} without complete or fail")
}

/// The claim deadline of a claimed job.
#[track_caller]
fn deadline(job: &Job) -> &str {
    job.visible_after
        .as_deref()
        .unwrap_or_else(|| panic!("a claimed job has a deadline: {job:?}"))
}

/// Sleeps until the claim deadline `deadline` has passed, with a margin.
fn sleep_past(deadline: &str) {
    let due = millis(deadline) + 50;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    if due > now {
        sleep(ms((due - now) as u64));
    }
}

/// Asserts `actual` is `expected` to the last field: nothing missing, nothing half-written.
#[track_caller]
fn assert_same_job(expected: &Job, actual: &Job, what: &str) {
    assert_eq!(
        format!("{actual:#?}"),
        format!("{expected:#?}"),
        "{what}: the job is not exactly as expected"
    );
}

/// Asserts the history of `job` holds only expired claims, one per failed attempt, each
/// naming a worker from `workers`.
#[track_caller]
fn assert_only_expiries(job: &Job, workers: &BTreeSet<String>) {
    assert_eq!(
        job.errors.len() as u32,
        job.attempt_count,
        "one failure record per failed attempt: {job:?}"
    );
    for (n, failure) in job.errors.iter().enumerate() {
        assert_eq!(failure.attempt, n as u32 + 1, "{job:?}");
        assert!(
            failure.reason.starts_with("claim expired at "),
            "nobody failed a job, only claims expired: {job:?}"
        );
        let worker = failure.worker.as_deref().unwrap_or("(none)");
        assert!(
            workers.contains(worker),
            "expired claim of {worker}: {job:?}"
        );
    }
}

/// Asserts that `again`, dequeued after the deadline of `orphaned`'s claim, is that job handed
/// out anew: one more failed attempt, recorded as the expiry of the orphaned claim.
#[track_caller]
fn assert_redelivered(orphaned: &Job, again: &Job) {
    assert_eq!(again.id, orphaned.id);
    assert_eq!(again.status, "claimed", "{again:?}");
    assert_eq!(
        again.attempt_count,
        orphaned.attempt_count + 1,
        "the expired claim counts as a failed attempt: {again:?}"
    );
    let last = again.errors.last().expect("the expiry is recorded");
    assert_eq!(last.attempt, again.attempt_count, "{again:?}");
    assert_eq!(last.worker, orphaned.worker, "{again:?}");
    assert_eq!(last.reason, expiry_reason(deadline(orphaned)), "{again:?}");
    assert_ne!(again.claim, orphaned.claim, "a new claim gets a new token");
}

// ---------------------------------------------------------------------------------------------
// 1. Shell workers killed at random points of their loop

/// A worker loop in plain shell, like README's: claim for 1 s, work a moment, complete with
/// the claim token and `{"by":WORKER}` as output; exit 0 on an empty queue. `$0` is
/// queueprim, `$1` the worker's name. Killing its process group can land in the dequeue,
/// between dequeue and complete, or in the complete.
const SHELL_WORKER: &str = r#"
while :; do
  job=$("$0" dequeue q --worker "$1" --timeout 1s) || exit 1
  [ -n "$job" ] || exit 0
  id=$(printf '%s\n' "$job" | sed 's/^{"id":"\([^"]*\)".*/\1/')
  claim=$(printf '%s\n' "$job" | sed 's/.*"claim":"\([^"]*\)".*/\1/')
  sleep 0.02
  "$0" complete "$id" --claim "$claim" --output "{\"by\":\"$1\"}" >/dev/null || exit 1
done
"#;

/// Runs the shell worker `name` for `lifetime`, then SIGKILLs its whole process group (the
/// shell and whatever queueprim command it is in).
fn run_shell_worker_until_killed(env: &TestEnv, name: &str, lifetime: Duration) -> Ended {
    let worker = env
        .isolated("sh")
        .args(["-c", SHELL_WORKER, BIN, name])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the shell worker");
    sleep(lifetime);
    kill_group(worker.id());
    let output = worker.wait_with_output().expect("reap the shell worker");
    let how = ended(output.status);
    assert!(
        matches!(how, Ended::Killed | Ended::Exited(0)),
        "shell worker {name} failed ({how:?}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    how
}

/// Asserts a done job is exactly what the shell worker's complete makes of it.
#[track_caller]
fn assert_completed_by_its_worker(job: &Job) {
    let worker = job.worker.as_deref().expect("a done job names its worker");
    assert_eq!(job.output, Some(json!({ "by": worker })), "{job:?}");
    assert!(
        job.claim.is_some() && job.visible_after.is_none(),
        "{job:?}"
    );
    assert_eq!(job.finished_at.as_ref(), Some(&job.updated_at), "{job:?}");
}

#[test]
fn shell_workers_killed_at_random_points_lose_nothing_and_their_claims_come_back() {
    const JOBS: usize = 40;
    const WORKERS: usize = 8;
    let mut rng = Rng::for_test("shell_workers_killed_at_random_points");
    let env = TestEnv::new();
    let input: String = (0..JOBS).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let enqueued: Vec<Job> = env
        .cmd(["enqueue", "q", "--batch", "--max-retries", "20"])
        .stdin(input)
        .expect_status(0)
        .json();

    let workers: BTreeSet<String> = (0..WORKERS).map(|n| format!("sh-{n}")).collect();
    let (mut killed, mut claims_left_behind) = (0, 0);
    for name in &workers {
        let lifetime = rng.between(ms(0), ms(400));
        if run_shell_worker_until_killed(&env, name, lifetime) == Ended::Killed {
            killed += 1;
        }
        claims_left_behind += list(&env, "q", Some("claimed"))
            .iter()
            .filter(|job| job.worker.as_ref() == Some(name))
            .count();
    }

    let all = list(&env, "q", None);
    assert_eq!(
        ids(&all),
        ids(&enqueued),
        "every enqueued job is still there"
    );
    for job in &all {
        assert_only_expiries(job, &workers);
        match job.status.as_str() {
            "done" => assert_completed_by_its_worker(job),
            "claimed" => assert!(
                job.output.is_none() && workers.contains(job.worker.as_deref().unwrap_or("")),
                "a claim left by a killed worker: {job:?}"
            ),
            "pending" => assert!(job.output.is_none(), "{job:?}"),
            _ => panic!("a job no worker failed cannot be {}: {job:?}", job.status),
        }
    }

    // Every claim the kills left behind comes back once its 1 s timeout has passed.
    let orphaned: Vec<&Job> = all.iter().filter(|j| j.status == "claimed").collect();
    if let Some(latest) = orphaned.iter().map(|job| deadline(job)).max() {
        sleep_past(latest);
    }
    let drained = drain(&env, "q");
    let drained_by_id = by_id(&drained);
    for job in &orphaned {
        assert_redelivered(job, handed_out_again(&drained_by_id, job));
    }
    let done: BTreeSet<String> = ids(&list(&env, "q", Some("done")));
    let unfinished: BTreeSet<String> = ids(&all).difference(&done).cloned().collect();
    assert_eq!(
        ids(&drained),
        unfinished,
        "every job not done is handed out again"
    );
    assert_integrity(&env.db());
    println!(
        "shell workers: {WORKERS} run, {killed} killed mid-loop leaving {claims_left_behind} \
         claims behind; {} jobs done, {} not done handed out by the final dequeue ({} of them \
         claims still orphaned just before it)",
        done.len(),
        drained.len(),
        orphaned.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 1 and 6. `complete`, `fail` and `complete --enqueue` killed at random moments

/// What a round runs on its claimed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Complete,
    Fail,
    /// `complete --enqueue follow=…`: the completion and the follow-up in one transaction.
    CompleteWithFollowUp,
}

impl Finish {
    fn args(self, job: &Job) -> Vec<String> {
        let claim = job.claim.clone().expect("a claimed job has a claim token");
        let mut args = match self {
            Finish::Fail => vec![
                "fail".into(),
                job.id.clone(),
                "--reason".into(),
                failure_for(job),
            ],
            _ => vec![
                "complete".into(),
                job.id.clone(),
                "--output".into(),
                output_for(job).to_string(),
            ],
        };
        args.extend(["--claim".into(), claim]);
        if self == Finish::CompleteWithFollowUp {
            args.extend(["--enqueue".into(), format!("follow={}", follow_up_for(job))]);
        }
        args
    }
}

fn output_for(job: &Job) -> Value {
    json!({ "finished": job.id })
}

fn failure_for(job: &Job) -> String {
    format!("failed {}", job.id)
}

fn follow_up_for(job: &Job) -> Value {
    json!({ "after": job.id })
}

/// One claimed job whose finishing command was killed (or allowed to finish).
#[derive(Debug)]
struct Round {
    claimed: Job,
    finish: Finish,
    watched: Watched,
    /// The command's transaction took effect.
    committed: bool,
    /// The size of the WAL once the process was gone: more than nothing means it had begun
    /// writing its commit (the header first, synced, then the pages).
    wal_left: u64,
}

impl Round {
    fn killed(&self) -> bool {
        self.watched.ended == Ended::Killed
    }
}

/// Enqueues a job for round `n` and claims it for 1 s as worker `wN`. Each round's job has a
/// higher priority than every earlier one, so the claim takes it and not an earlier round's
/// job whose expired claim this dequeue released.
fn claim_fresh_job(env: &TestEnv, n: usize) -> Job {
    let priority = n.to_string();
    let enqueued = env.enqueue(
        "q",
        &format!("{{\"round\":{n}}}"),
        &["--priority", &priority, "--max-retries", "3"],
    );
    let worker = format!("w{n}");
    let claimed = env.dequeue("q", &["--worker", &worker, "--timeout", "1s"]);
    assert_eq!(claimed.id, enqueued.id, "round {n} claims its own job");
    claimed
}

/// Finishes a fresh job with `finish`, killed as `kill_at` says, and checks at once that the
/// job is either exactly as claimed or exactly as `finish` makes it.
fn kill_round(env: &TestEnv, n: usize, finish: Finish, kill_at: KillAt) -> Round {
    let claimed = claim_fresh_job(env, n);
    let mut child = env.cmd(finish.args(&claimed)).spawn();
    let watched = watch_and_kill(&mut child, &env.db(), kill_at);
    if let Ended::Exited(code) = watched.ended {
        assert_eq!(code, 0, "round {n}: {finish:?} failed");
    }
    // Looked at before anything opens the database again. The dequeue before closed it last
    // and so removed the WAL: frames in it now were written by the killed process.
    let wal_left = file_len(&wal_path(&env.db()));
    let after = get(env, &claimed.id);
    let committed = after.status != "claimed";
    let what = format!("round {n}: {finish:?} ended {:?}", watched.ended);
    match (committed, finish) {
        (false, _) => assert_same_job(&claimed, &after, &what),
        (true, Finish::Fail) => assert_failed_once(&claimed, &after, &what),
        (true, _) => assert_completed(&claimed, &after, &what),
    }
    if finish == Finish::CompleteWithFollowUp {
        assert_follow_ups(env, &claimed, usize::from(committed), &what);
    }
    Round {
        claimed,
        finish,
        watched,
        committed,
        wal_left,
    }
}

/// Asserts `after` is `claimed` completed with `output_for` it, and nothing else changed.
#[track_caller]
fn assert_completed(claimed: &Job, after: &Job, what: &str) {
    let mut expected = claimed.clone();
    expected.status = "done".into();
    expected.output = Some(output_for(claimed));
    expected.visible_after = None;
    expected.updated_at.clone_from(&after.updated_at);
    expected.finished_at = Some(after.updated_at.clone());
    assert_same_job(&expected, after, what);
}

/// Asserts `after` is `claimed` failed once with `failure_for` it and back to pending.
#[track_caller]
fn assert_failed_once(claimed: &Job, after: &Job, what: &str) {
    let mut expected = claimed.clone();
    expected.status = "pending".into();
    expected.attempt_count = 1;
    expected.visible_after = Some(after.updated_at.clone());
    expected.updated_at.clone_from(&after.updated_at);
    expected.errors = vec![Failure {
        at: after.updated_at.clone(),
        attempt: 1,
        worker: claimed.worker.clone(),
        reason: failure_for(claimed),
    }];
    assert_same_job(&expected, after, what);
}

/// Asserts the follow-up of `claimed` exists exactly `expected` times.
#[track_caller]
fn assert_follow_ups(env: &TestEnv, claimed: &Job, expected: usize, what: &str) {
    let payload = follow_up_for(claimed);
    let found = list(env, "follow", None)
        .iter()
        .filter(|job| job.payload == payload)
        .count();
    assert_eq!(
        found, expected,
        "{what}: the follow-up must exist exactly when the completion does"
    );
}

/// Rounds let to finish first, to time the command on this machine.
const CALIBRATION_ROUNDS: usize = 3;

/// Runs `rounds` kill rounds cycling through `finishes`: the first few undisturbed to time the
/// command, the rest SIGKILLed after a random delay of up to 1.25 times the median run of the
/// commands that finished on their own so far (a running figure, so that a slow start or a
/// busy spell does not skew every delay), so kills land before the process opens the
/// database, in its transaction, and after its commit.
fn run_kill_rounds(env: &TestEnv, rng: &mut Rng, finishes: &[Finish], rounds: usize) -> Vec<Round> {
    let mut done: Vec<Round> = Vec::with_capacity(rounds);
    let mut finished_in: Vec<Duration> = Vec::new();
    for n in 0..rounds {
        let finish = finishes[n % finishes.len()];
        let kill_at = if n < CALIBRATION_ROUNDS {
            KillAt::Never
        } else {
            finished_in.sort();
            let typical = finished_in[finished_in.len() / 2];
            KillAt::After(rng.between(Duration::ZERO, typical.mul_f64(1.25)))
        };
        let round = kill_round(env, n, finish, kill_at);
        if !round.killed() {
            finished_in.push(round.watched.elapsed);
        }
        done.push(round);
    }
    done
}

/// Waits out the claims the kills left behind, then checks that one dequeue hands out again
/// exactly the jobs not done: each orphaned claim as a failed attempt naming its expiry, each
/// committed `fail` with its reason; and that no job is missing.
fn assert_orphaned_claims_come_back(env: &TestEnv, rounds: &[Round]) {
    let orphaned: Vec<&Round> = rounds.iter().filter(|r| !r.committed).collect();
    if let Some(latest) = orphaned.iter().map(|r| deadline(&r.claimed)).max() {
        sleep_past(latest);
    }
    let drained = drain(env, "q");
    let drained_by_id = by_id(&drained);
    let mut expected = BTreeSet::new();
    for round in rounds {
        let claimed = &round.claimed;
        match (round.committed, round.finish) {
            (false, _) => assert_redelivered(claimed, handed_out_again(&drained_by_id, claimed)),
            (true, Finish::Fail) => {
                let again = handed_out_again(&drained_by_id, claimed);
                assert_eq!(again.attempt_count, 1, "{again:?}");
                assert_eq!(again.errors.len(), 1, "{again:?}");
                assert_eq!(again.errors[0].reason, failure_for(claimed), "{again:?}");
            }
            (true, _) => continue,
        }
        expected.insert(claimed.id.clone());
    }
    assert_eq!(ids(&drained), expected, "the jobs handed out again");
    let all: BTreeSet<String> = rounds.iter().map(|r| r.claimed.id.clone()).collect();
    assert_eq!(ids(&list(env, "q", None)), all, "no job lost");
    assert_integrity(&env.db());
}

/// The WAL's header; pages follow it in frames of their own.
const WAL_HEADER_BYTES: u64 = 32;

/// One line of figures: where the kills landed.
fn landing_report(rounds: &[Round]) -> String {
    let count = |pred: &dyn Fn(&Round) -> bool| rounds.iter().filter(|r| pred(r)).count();
    let uncommitted = |r: &Round| r.killed() && !r.committed;
    format!(
        "{} rounds: {} finished before the kill; killed {} before opening the database, {} with \
         it open but before the commit (of these, {} while writing the commit: {} after the WAL \
         header, {} after some pages), {} after the commit",
        rounds.len(),
        count(&|r| !r.killed()),
        count(&|r| uncommitted(r) && !r.watched.db_was_open),
        count(&|r| uncommitted(r) && r.watched.db_was_open),
        count(&|r| uncommitted(r) && r.wal_left > 0),
        count(&|r| uncommitted(r) && r.wal_left == WAL_HEADER_BYTES),
        count(&|r| uncommitted(r) && r.wal_left > WAL_HEADER_BYTES),
        count(&|r| r.killed() && r.committed),
    )
}

/// Asserts some kills landed where atomicity is at stake: after the process opened the
/// database and before its commit took effect. Without them the rounds prove nothing.
#[track_caller]
fn assert_kills_landed_mid_command(rounds: &[Round]) {
    let mid = rounds
        .iter()
        .filter(|r| r.killed() && r.watched.db_was_open && !r.committed)
        .count();
    assert!(
        mid > 0,
        "no kill landed between opening the database and committing: {}",
        landing_report(rounds)
    );
}

#[test]
fn complete_and_fail_killed_at_random_moments_take_effect_fully_or_not_at_all() {
    let mut rng = Rng::for_test("complete_and_fail_killed_at_random_moments");
    let env = TestEnv::new();
    let rounds = run_kill_rounds(&env, &mut rng, &[Finish::Complete, Finish::Fail], 50);
    println!("complete/fail: {}", landing_report(&rounds));
    assert_kills_landed_mid_command(&rounds);
    assert_orphaned_claims_come_back(&env, &rounds);
}

#[test]
fn complete_with_a_follow_up_killed_at_random_moments_does_both_or_neither() {
    let mut rng = Rng::for_test("complete_with_a_follow_up_killed");
    let env = TestEnv::new();
    let rounds = run_kill_rounds(&env, &mut rng, &[Finish::CompleteWithFollowUp], 30);
    println!("complete --enqueue: {}", landing_report(&rounds));
    assert_kills_landed_mid_command(&rounds);
    assert_orphaned_claims_come_back(&env, &rounds);
    // Each follow-up belongs to one completed job, and each completed job has one.
    let done: BTreeSet<String> = rounds
        .iter()
        .filter(|r| r.committed)
        .map(|r| follow_up_for(&r.claimed).to_string())
        .collect();
    let follow_ups: Vec<String> = list(&env, "follow", None)
        .iter()
        .map(|job| job.payload.to_string())
        .collect();
    assert_eq!(follow_ups.len(), done.len(), "one follow-up per completion");
    assert_eq!(follow_ups.into_iter().collect::<BTreeSet<_>>(), done);
}

// ---------------------------------------------------------------------------------------------
// 2. `enqueue --batch` killed mid-transaction

/// Lines in the batch: enough that its transaction spills pages into the WAL long before it
/// commits (SQLite's page cache holds about 2 MiB), which is how a kill is seen to land
/// inside it.
const BATCH_LINES: usize = 20_000;

/// One `enqueue --batch` run on a fresh database, and the jobs it left.
#[derive(Debug)]
struct BatchRound {
    kill_at: KillAt,
    watched: Watched,
    jobs: usize,
}

impl BatchRound {
    /// Killed inside its transaction, proven: the WAL grew before the kill, yet nothing
    /// committed.
    fn killed_mid_transaction(&self) -> bool {
        self.watched.ended == Ended::Killed && self.watched.wal_grew_at.is_some() && self.jobs == 0
    }
}

fn write_batch_input(path: &Path) {
    let lines: String = (0..BATCH_LINES)
        .map(|n| format!("{{\"n\":{n},\"note\":\"a line of a large batch\"}}\n"))
        .collect();
    fs::write(path, lines).expect("write the batch input");
}

/// Runs `enqueue big --batch < input` on a fresh database, kills it as `kill_at` says, and
/// checks the queue holds none or all of the batch, the file is sound and still usable.
fn batch_round(input: &Path, kill_at: KillAt) -> BatchRound {
    let env = TestEnv::new();
    // Created beforehand, so the batch's transaction is its only write; the WAL is removed
    // when this command closes the database.
    env.enqueue("probe", "0", &[]);
    let mut child = env
        .isolated(BIN)
        .args(["enqueue", "big", "--batch"])
        .stdin(File::open(input).expect("open the batch input"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn enqueue --batch");
    let watched = watch_and_kill(&mut child, &env.db(), kill_at);
    assert!(
        matches!(watched.ended, Ended::Killed | Ended::Exited(0)),
        "enqueue --batch failed: {watched:?}"
    );
    // The product opens the database first after the crash, as it would in real life.
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    let jobs = queues
        .iter()
        .find(|q| q.queue == "big")
        .map_or(0, |q| q.total as usize);
    assert!(
        jobs == 0 || jobs == BATCH_LINES,
        "a killed batch left {jobs} of its {BATCH_LINES} jobs ({kill_at:?}, {watched:?})"
    );
    assert_integrity(&env.db());
    if jobs == BATCH_LINES {
        assert_whole_batch(&env.db());
    }
    assert_usable(&env);
    BatchRound {
        kill_at,
        watched,
        jobs,
    }
}

/// Asserts the queue holds each line of the batch exactly once.
#[track_caller]
fn assert_whole_batch(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open the database with rusqlite");
    let (distinct, low, high): (i64, i64, i64) = conn
        .query_row(
            "SELECT COUNT(DISTINCT payload ->> '$.n'), MIN(payload ->> '$.n'), \
             MAX(payload ->> '$.n') FROM jobs WHERE queue = 'big'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("count the batch");
    assert_eq!(
        (distinct, low, high),
        (BATCH_LINES as i64, 0, BATCH_LINES as i64 - 1)
    );
}

/// Asserts the database takes an enqueue, a dequeue and a complete after the crash.
#[track_caller]
fn assert_usable(env: &TestEnv) {
    let job = env.enqueue("after-crash", "{\"ok\":true}", &[]);
    let claimed = env.dequeue("after-crash", &[]);
    assert_eq!(claimed.id, job.id);
    env.cmd(["complete", &job.id]).expect_status(0);
}

#[test]
fn enqueue_batch_killed_at_varied_moments_adds_all_or_nothing() {
    let mut rng = Rng::for_test("enqueue_batch_killed_at_varied_moments");
    let scratch = TestEnv::new();
    let input = scratch.dir().join("batch.jsonl");
    write_batch_input(&input);

    // An undisturbed run times the phases on this machine.
    let reference = batch_round(&input, KillAt::Never);
    assert_eq!(reference.jobs, BATCH_LINES, "{reference:?}");
    let whole_run = reference.watched.elapsed;
    let writing = match (reference.watched.wal_grew_at, reference.watched.wal_gone_at) {
        (Some(grew), Some(gone)) => gone.saturating_sub(grew),
        _ => panic!("the reference batch never grew the WAL: {reference:?}"),
    };

    // Half the kills at any moment of the run (reading input, in the transaction, printing
    // after the commit); half aimed at the transaction, after the WAL started growing.
    let mut rounds = vec![reference];
    for n in 0..8 {
        let kill_at = if n % 2 == 0 {
            KillAt::After(rng.between(Duration::ZERO, whole_run.mul_f64(1.1)))
        } else {
            KillAt::AfterWalGrows(rng.between(Duration::ZERO, writing.mul_f64(0.5)))
        };
        rounds.push(batch_round(&input, kill_at));
    }

    let count = |pred: &dyn Fn(&BatchRound) -> bool| rounds.iter().filter(|r| pred(r)).count();
    let mid = count(&|r| r.killed_mid_transaction());
    let aimed = count(&|r| matches!(r.kill_at, KillAt::AfterWalGrows(_)));
    let aimed_mid =
        count(&|r| matches!(r.kill_at, KillAt::AfterWalGrows(_)) && r.killed_mid_transaction());
    println!(
        "enqueue --batch of {BATCH_LINES}: {} rounds; {} committed all, {} left none: {} killed \
         before opening the database (still reading input), {} after, {} of them proven inside \
         the transaction (WAL grown, nothing committed), {aimed_mid} of the {aimed} aimed there",
        rounds.len(),
        count(&|r| r.jobs == BATCH_LINES),
        count(&|r| r.jobs == 0),
        count(&|r| r.jobs == 0 && !r.watched.db_was_open),
        count(&|r| r.jobs == 0 && r.watched.db_was_open),
        mid,
    );
    for round in &rounds {
        println!("  {round:?}");
    }
    assert!(
        mid >= 2,
        "at least two kills must land inside the transaction for this test to mean anything"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. The sweep daemon killed and restarted while claims expire

/// Parses the JSON lines a killed sweep daemon printed, ignoring a last line it may have been
/// killed in the middle of.
fn sweep_reports(stdout: &[u8]) -> Vec<Sweep> {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<Sweep>()
        .map_while(Result::ok)
        .collect()
}

/// Claims `count` jobs of `queue` for `timeout`.
fn claim_for(env: &TestEnv, queue: &str, count: usize, timeout: &str) -> Vec<Job> {
    let count = count.to_string();
    env.json(&[
        "dequeue",
        queue,
        "--count",
        &count,
        "--worker",
        "gone",
        "--timeout",
        timeout,
    ])
}

#[test]
fn a_sweep_daemon_killed_and_restarted_releases_every_expired_claim_exactly_once() {
    const PER_QUEUE: usize = 12;
    let mut rng = Rng::for_test("sweep_daemon_killed_and_restarted");
    let env = TestEnv::new();
    // Two queues, so each release is checked under both outcomes of the retry rule.
    for (queue, retries) in [("retry", "2"), ("last", "0")] {
        let input: String = (0..PER_QUEUE).map(|n| format!("{n}\n")).collect();
        env.cmd(["enqueue", queue, "--batch", "--max-retries", retries])
            .stdin(input)
            .expect_status(0);
    }
    // Claims whose deadlines fall all through the kill-and-restart loop below.
    let mut claimed = Vec::new();
    for timeout in ["1s", "1400ms", "1800ms", "2200ms"] {
        for queue in ["retry", "last"] {
            claimed.extend(claim_for(&env, queue, PER_QUEUE / 4, timeout));
        }
    }
    assert_eq!(claimed.len(), 2 * PER_QUEUE);
    let latest = claimed.iter().map(deadline).max().unwrap().to_string();

    let (mut reports, mut restarts) = (Vec::new(), 0);
    // Kill and restart until a little past the last deadline, 2.2 s from the claims.
    let stop_killing = Instant::now() + ms(2200 + 300);
    while Instant::now() < stop_killing {
        let mut daemon = env.cmd(["sweep", "--interval", "100ms"]).spawn();
        sleep(rng.between(ms(20), ms(350)));
        daemon.kill().expect("SIGKILL the sweep daemon");
        let output = daemon.wait_with_output().expect("reap the sweep daemon");
        assert_eq!(ended(output.status), Ended::Killed);
        reports.extend(sweep_reports(&output.stdout));
        restarts += 1;
    }
    // A last daemon, past every deadline, stopped the polite way.
    sleep_past(&latest);
    let daemon = env.cmd(["sweep", "--interval", "100ms"]).spawn();
    sleep(ms(400));
    // SAFETY: kill(2) on our own child's pid; no memory effects.
    unsafe {
        libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM);
    }
    let output = daemon.wait_with_output().expect("reap the sweep daemon");
    assert_eq!(
        ended(output.status),
        Ended::Exited(0),
        "SIGTERM stops sweep"
    );
    reports.extend(sweep_reports(&output.stdout));

    // Read with `get`, which releases nothing: what the daemons did is what is stored.
    for job in &claimed {
        let now = get(&env, &job.id);
        let expected_status = if job.queue == "retry" {
            "pending"
        } else {
            "dead"
        };
        assert_eq!(now.status, expected_status, "{now:?}");
        assert_eq!(now.attempt_count, 1, "released exactly once: {now:?}");
        assert_eq!(now.errors.len(), 1, "{now:?}");
        assert_eq!(
            now.errors[0].reason,
            expiry_reason(deadline(job)),
            "{now:?}"
        );
    }
    let unclaimed: Vec<Job> = list(&env, "retry", Some("pending"));
    assert_eq!(unclaimed.len(), PER_QUEUE, "no job lost or doubled");
    let (retried, dead): (u64, u64) = reports
        .iter()
        .fold((0, 0), |(r, d), s| (r + s.retried, d + s.dead));
    // A daemon killed between its commit and its print under-reports; none may over-report.
    assert!(
        retried <= PER_QUEUE as u64 && dead <= PER_QUEUE as u64,
        "{reports:?}"
    );
    assert_integrity(&env.db());
    println!(
        "sweep: {restarts} daemons killed, {} passes reported releasing {retried} retried and \
         {dead} dead of {PER_QUEUE} + {PER_QUEUE}",
        reports.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A job that kills its worker every time

#[test]
fn a_job_that_kills_its_worker_every_time_ends_dead_after_max_retries_plus_one_claims() {
    const MAX_RETRIES: u32 = 2;
    let env = TestEnv::new();
    let retries = MAX_RETRIES.to_string();
    let job = env.enqueue("q", r#"{"poison":true}"#, &["--max-retries", &retries]);
    let attempts_log = env.dir().join("attempts");
    // The job's command SIGKILLs the runner that started it (its parent), as an out-of-memory
    // kill of the worker would; `$1` is the log of attempts.
    let poison = "echo \"$QUEUEPRIM_ATTEMPT\" >> \"$1\"; kill -KILL \"$PPID\"";
    let log_arg = attempts_log.to_str().expect("utf-8 path");
    let run_worker = |worker: &str| {
        env.cmd([
            "work",
            "q",
            "--until-empty",
            "--timeout",
            "1s",
            "--worker",
            worker,
            "--",
            "sh",
            "-c",
            poison,
            "sh",
            log_arg,
        ])
        .spawn()
    };

    for attempt in 1..=MAX_RETRIES + 1 {
        let worker = format!("runner-{attempt}");
        let mut runner = run_worker(&worker);
        let how = ended(runner.wait().expect("reap the runner"));
        assert_eq!(
            how,
            Ended::Killed,
            "attempt {attempt}: the job kills its runner"
        );
        let held = get(&env, &job.id);
        assert_eq!(
            (
                held.status.as_str(),
                held.worker.as_deref(),
                held.attempt_count
            ),
            ("claimed", Some(worker.as_str()), attempt - 1),
            "attempt {attempt}: the dead runner's claim stays until it expires"
        );
        sleep_past(deadline(&held));
    }

    // The last claim has expired too: the next dequeue releases it, the job is out of tries.
    env.assert_empty("q");
    let dead = get(&env, &job.id);
    assert_eq!(
        (dead.status.as_str(), dead.attempt_count),
        ("dead", MAX_RETRIES + 1),
        "{dead:?}"
    );
    let history: Vec<(u32, Option<&str>, bool)> = dead
        .errors
        .iter()
        .map(|f| {
            (
                f.attempt,
                f.worker.as_deref(),
                f.reason.starts_with("claim expired at "),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (1, Some("runner-1"), true),
            (2, Some("runner-2"), true),
            (3, Some("runner-3"), true)
        ]
    );
    assert_eq!(fs::read_to_string(&attempts_log).unwrap(), "1\n2\n3\n");

    // Never delivered again.
    let mut runner = run_worker("runner-4");
    assert_eq!(ended(runner.wait().unwrap()), Ended::Exited(0));
    assert_eq!(fs::read_to_string(&attempts_log).unwrap(), "1\n2\n3\n");
    assert_integrity(&env.db());
}

// ---------------------------------------------------------------------------------------------
// 5. `work` SIGKILLed while its job's command runs

#[test]
fn a_work_runner_killed_mid_job_has_its_claim_redelivered_after_the_timeout() {
    let mut rng = Rng::for_test("work_runner_killed_mid_job");
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &["--max-retries", "1"]);
    let pid_file = env.dir().join("command.pid");
    let mut runner = Reaped(
        env.cmd([
            "work",
            "q",
            "--worker",
            "runner-1",
            "--timeout",
            "1s",
            "--",
            "sh",
            "-c",
            "echo $$ > \"$1\"; exec sleep 30",
            "sh",
            pid_file.to_str().expect("utf-8 path"),
        ])
        .spawn(),
    );
    let command = CommandGroup::from_pid_file(&pid_file);
    // Anywhere in the runner's renewal cycle (it renews every third of the timeout).
    sleep(rng.between(Duration::ZERO, ms(700)));
    assert_eq!(kill_and_reap(&mut runner.0), Ended::Killed);

    let orphaned = get(&env, &job.id);
    assert_eq!(
        (orphaned.status.as_str(), orphaned.attempt_count),
        ("claimed", 0),
        "{orphaned:?}"
    );
    sleep_past(deadline(&orphaned));
    let again = env.dequeue("q", &["--worker", "runner-2", "--timeout", "1m"]);
    assert_redelivered(&orphaned, &again);
    println!(
        "work runner killed: its job's command (pid {}) {} when the job was handed out again",
        command.leader,
        if is_running(command.leader) {
            "was still running"
        } else {
            "had stopped"
        }
    );
}

/// A runner can do nothing once SIGKILLed, but its job's command must not run on unsupervised:
/// the claim expires, another worker runs the job, and the two runs overlap. (As of this
/// writing it does run on: the command has its own process group and nothing ties its life to
/// the runner's.)
#[test]
fn a_job_command_does_not_run_on_after_its_runner_is_sigkilled() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &["--max-retries", "1"]);
    let dir = env.dir().to_str().expect("utf-8 path").to_string();
    // Attempt 1 takes 2 s, longer than its 1 s claim; attempt 2 is quick. `$1` is the folder
    // for its pid and its log of starts and ends.
    let script = r#"echo $$ > "$1/pid.$QUEUEPRIM_ATTEMPT"
echo "start $QUEUEPRIM_ATTEMPT" >> "$1/log"
if [ "$QUEUEPRIM_ATTEMPT" = 1 ]; then sleep 2; fi
echo "end $QUEUEPRIM_ATTEMPT" >> "$1/log""#;
    let work = |worker: &str, until_empty: bool| {
        let mut args = vec!["work", "q", "--worker", worker, "--timeout", "1s"];
        if until_empty {
            args.push("--until-empty");
        }
        args.extend(["--", "sh", "-c", script, "sh", &dir]);
        Reaped(env.cmd(args).spawn())
    };

    let mut first = work("runner-1", false);
    let command = CommandGroup::from_pid_file(&env.dir().join("pid.1"));
    assert_eq!(kill_and_reap(&mut first.0), Ended::Killed);
    let orphaned = get(&env, &job.id);
    sleep_past(deadline(&orphaned));
    let survived_its_claim = is_running(command.leader);

    // Another worker gets the job once the claim expired, and runs it.
    let mut second = work("runner-2", true);
    assert_eq!(ended(second.0.wait().unwrap()), Ended::Exited(0));
    let done = get(&env, &job.id);
    assert_eq!(
        (done.status.as_str(), done.attempt_count),
        ("done", 1),
        "{done:?}"
    );

    eventually(Duration::from_secs(5), "the first command to stop", || {
        !is_running(command.leader)
    });
    let log = fs::read_to_string(env.dir().join("log")).unwrap();
    assert!(
        !survived_its_claim && log == "start 1\nstart 2\nend 2\n",
        "the job's command outlived its SIGKILLed runner (still running when its claim \
         expired: {survived_its_claim}), so the job ran twice at once; log of starts and \
         ends:\n{log}"
    );
}

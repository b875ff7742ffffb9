//! Contention and soak: many actors run real queueprim processes on one database at once
//! (producers, workers that complete, fail, extend and stall past their deadline, a purger,
//! and a `sweep` daemon throughout), then every job must be accounted for exactly once, no
//! two claims on a job may have overlapped, and nothing may have failed except the expected
//! fencing of stale claims.
//!
//! The default test runs for about ten seconds. The soak runs the same scenario for minutes:
//! `QUEUEPRIM_SOAK_SECS=300 QUEUEPRIM_SOAK_PROCS=16 cargo test --release --test integration
//! contention::soak -- --ignored --nocapture`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::ops::RangeInclusive;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use crate::harness::{millis, Counts, ErrorJson, Job, Purge, Run, Sweep, TestEnv};

/// Two queues, so both the per-queue release of expired claims by `dequeue` and the
/// all-queue release by `sweep` get exercised.
const QUEUES: [&str; 2] = ["contention/a", "contention/b"];

/// Claim timeouts the workers ask for: the short ones really expire, under load or when a
/// worker stalls; the long ones outlive everything.
const TIMEOUTS: [&str; 5] = ["1s", "2s", "2s", "5s", "30s"];

/// Producers pause while more jobs than this are pending (as the purger last saw with
/// `stats`), so a long soak keeps a working backlog instead of an ever-growing one.
const BACKLOG: u64 = 60;

/// A stalling worker sleeps past its deadline only when that is at most this far away
/// (milliseconds); a long claim is not worth the wait.
const MAX_STALL_MS: i64 = 2_500;

/// Purges by status, so the removed counts can be matched against the jobs that went
/// missing: done jobs of one queue at once, dead ones everywhere, done ones of any queue
/// once they are two seconds old.
const PURGES: [(&str, &[&str]); 3] = [
    ("done", &["--older-than", "0s", "--queue", QUEUES[0]]),
    ("dead", &["--older-than", "0s"]),
    ("done", &["--older-than", "2s"]),
];

/// How long the sweep daemon gets to exit after SIGTERM, and to install its handlers.
const GENEROUS: Duration = Duration::from_secs(10);

#[test]
fn sixteen_actors_on_one_database_account_for_every_job_and_never_share_a_claim() {
    run(&Scenario {
        label: "contention",
        duration: Duration::from_secs(10),
        actors: 16,
    });
}

/// The same scenario for minutes: `QUEUEPRIM_SOAK_SECS` (default 300) and
/// `QUEUEPRIM_SOAK_PROCS` (default 16, the number of actors) set its size.
#[test]
#[ignore = "a soak of several minutes: run with --ignored"]
fn soak() {
    run(&Scenario {
        label: "soak",
        duration: Duration::from_secs(env_number("QUEUEPRIM_SOAK_SECS", 300)),
        actors: env_number("QUEUEPRIM_SOAK_PROCS", 16) as usize,
    });
}

struct Scenario {
    label: &'static str,
    duration: Duration,
    /// Actor threads, each running one queueprim process after another.
    actors: usize,
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        _ => default,
    }
}

/// Runs the scenario, prints its figures, then fails listing every problem found.
fn run(scenario: &Scenario) {
    assert!(
        scenario.actors >= 4,
        "need at least 4 actors: a purger, a producer and two workers"
    );
    let env = TestEnv::new();
    // Create the database first: racing creation is concurrency.rs's subject, not this one's.
    env.json::<Sweep>(&["sweep", "--once"]);
    let mut sweeper = Sweeper::start(&env);
    let started = Instant::now();
    let logs = run_actors(&env, scenario);
    let elapsed = started.elapsed();
    let sweep = sweeper.stop();
    let ledger = Ledger::merge(logs);
    let state = FinalState::read(&env);

    let mut problems = Vec::new();
    problems.extend(ledger.errors.iter().cloned());
    let (sweep_released, sweep_dead) = check_sweep(&sweep, &mut problems);
    check_claims(&ledger, &mut problems);
    let accounts = check_accounting(&ledger, &state, &mut problems);
    check_refusals(&ledger, &state, &mut problems);
    check_database(&state, &mut problems);

    let tally = Tally::new(scenario, elapsed, &ledger, accounts);
    // Each claim the daemon released is one that expired before its holder ended it.
    if sweep_released > tally.expired {
        problems.push(format!(
            "sweep reports {sweep_released} released claims, but only {} claims expired",
            tally.expired
        ));
    }
    eprintln!(
        "{}: {tally}, sweep released {sweep_released} ({sweep_dead} dead), problems {}",
        scenario.label,
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s), the first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// The actors

/// What an actor does all run long.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// Purges finished jobs and watches the backlog with `stats`.
    Purger,
    /// Enqueues jobs, one at a time or in batches.
    Producer,
    /// Dequeues jobs and finishes them in every way a worker can.
    Worker,
}

/// Actor 0 purges, about a fifth produce, the rest work.
fn role_of(index: usize, actors: usize) -> Role {
    let producers = (actors / 5).max(1);
    match index {
        0 => Role::Purger,
        i if i <= producers => Role::Producer,
        _ => Role::Worker,
    }
}

/// Runs every actor until the scenario's time is up and returns what each one saw.
fn run_actors(env: &TestEnv, scenario: &Scenario) -> Vec<Log> {
    let stop_at = Instant::now() + scenario.duration;
    let backlog = AtomicU64::new(0);
    let seed = now_ms() as u64;
    thread::scope(|s| {
        let handles: Vec<_> = (0..scenario.actors)
            .map(|index| {
                let backlog = &backlog;
                s.spawn(move || {
                    let mut actor = Actor {
                        name: format!("actor-{index}"),
                        env,
                        stop_at,
                        rng: Rng::new(seed ^ (index as u64).wrapping_mul(0x9e37_79b9)),
                        backlog,
                        serial: 0,
                        log: Log::default(),
                    };
                    match role_of(index, scenario.actors) {
                        Role::Purger => actor.purge_and_watch(),
                        Role::Producer => actor.produce(),
                        Role::Worker => actor.work(),
                    }
                    actor.log
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("actor thread"))
            .collect()
    })
}

/// Everything one actor did that the checks need.
#[derive(Default)]
struct Log {
    processes: u64,
    enqueued: Vec<Enqueued>,
    claims: Vec<Claim>,
    refusals: Vec<Refusal>,
    purged: Finished,
    /// Anything unexpected: a failed process, stderr output, a reply that breaks a rule.
    errors: Vec<String>,
}

struct Enqueued {
    id: String,
    max_retries: u32,
}

/// One claim as its holder saw it, times in the product's milliseconds.
#[derive(Debug, Clone)]
struct Claim {
    job: String,
    token: String,
    /// When the claim was made (`updated_at` of the dequeued job).
    start: i64,
    /// Its deadline (`visible_after`), moved by each accepted `extend`.
    deadline: i64,
    /// When the holder's last accepted command on it ran.
    last_accepted: i64,
    /// How the holder ended it, if it did.
    end: Option<End>,
}

#[derive(Debug, Clone, Copy)]
struct End {
    at: i64,
    how: Ending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Completed,
    /// Failed with retries left: back to pending.
    Retried,
    Dead,
}

impl Claim {
    fn from_dequeued(job: &Job, worker: &str) -> Result<Claim, String> {
        match (&job.claim, &job.visible_after) {
            (Some(token), Some(deadline))
                if job.status == "claimed" && job.worker.as_deref() == Some(worker) =>
            {
                let start = millis(&job.updated_at);
                Ok(Claim {
                    job: job.id.clone(),
                    token: token.clone(),
                    start,
                    deadline: millis(deadline),
                    last_accepted: start,
                    end: None,
                })
            }
            _ => Err(format!(
                "{worker} dequeued a job that is not its claim: {job:?}"
            )),
        }
    }

    fn finish(&mut self, at: i64, how: Ending) {
        self.end = Some(End { at, how });
        self.last_accepted = at;
    }

    /// When the claim stopped holding the job: its deadline, or its end if that was sooner.
    fn held_until(&self) -> i64 {
        match self.end {
            Some(end) => end.at.min(self.deadline),
            None => self.deadline,
        }
    }

    /// Whether the deadline passed before the holder ended the claim.
    fn expired(&self) -> bool {
        self.end.is_none_or(|end| end.at > self.deadline)
    }

    fn completed(&self) -> bool {
        self.end.is_some_and(|end| end.how == Ending::Completed)
    }

    /// Ended in a state no claim can follow.
    fn terminal(&self) -> bool {
        self.end
            .is_some_and(|end| matches!(end.how, Ending::Completed | Ending::Dead))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Complete,
    Fail,
    Extend,
}

/// A `complete`, `fail` or `extend` refused with exit 4 (the claim is no longer yours) or
/// exit 3 (the job is gone): expected of a stale claim, and checked to be one.
#[derive(Debug, Clone)]
struct Refusal {
    op: Op,
    code: i32,
    job: String,
    token: String,
    claim_start: i64,
    deadline: i64,
    /// The test's clock once the refused process had exited.
    at: i64,
}

/// Jobs removed by purges, by the status purged.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Finished {
    done: u64,
    dead: u64,
}

/// How a process ended: its result, or a refusal of the kind its exit code names.
enum Reply {
    Accepted(Run),
    Refused(i32, Run),
}

/// Exit 0 with nothing on stderr is a result; exit 3 or 4 with nothing on stdout and the
/// matching JSON error on stderr is a refusal; anything else (exit 1 for "database is
/// locked", any stderr output on success) is an error.
fn classify(run: Run) -> Result<Reply, String> {
    match run.code {
        Some(0) if run.stderr.is_empty() => Ok(Reply::Accepted(run)),
        Some(code @ (3 | 4))
            if run.stdout.is_empty() && error_kind(&run.stderr) == Some(refusal_kind(code)) =>
        {
            Ok(Reply::Refused(code, run))
        }
        _ => Err(format!(
            "queueprim {} exited {:?}; stdout {:?}; stderr {:?}",
            run.args,
            run.code,
            run.stdout.trim_end(),
            run.stderr.trim_end()
        )),
    }
}

fn error_kind(stderr: &str) -> Option<String> {
    serde_json::from_str::<ErrorJson>(stderr.trim())
        .ok()
        .map(|e| e.error.kind)
}

fn refusal_kind(code: i32) -> String {
    if code == 3 { "not_found" } else { "conflict" }.to_string()
}

/// One thread running queueprim processes one after another, in one role.
struct Actor<'a> {
    name: String,
    env: &'a TestEnv,
    stop_at: Instant,
    rng: Rng,
    /// Pending jobs as the purger last counted them.
    backlog: &'a AtomicU64,
    /// Numbers the payloads this actor enqueues.
    serial: u64,
    log: Log,
}

impl Actor<'_> {
    fn running(&self) -> bool {
        Instant::now() < self.stop_at
    }

    /// Runs one process with JSON output; logs an error and returns `None` unless it
    /// succeeded or was refused.
    fn exec(&mut self, args: &[&str], stdin: Option<String>) -> Option<Reply> {
        let mut cmd = self.env.cmd(args).args(["--format", "json"]);
        if let Some(input) = stdin {
            cmd = cmd.stdin(input);
        }
        self.log.processes += 1;
        classify(cmd.run())
            .map_err(|e| self.log.errors.push(e))
            .ok()
    }

    /// Runs a command that nothing should refuse.
    fn exec_accepted(&mut self, args: &[&str], stdin: Option<String>) -> Option<Run> {
        match self.exec(args, stdin)? {
            Reply::Accepted(run) => Some(run),
            Reply::Refused(code, run) => {
                self.error(format!(
                    "queueprim {} was refused with exit {code}: {}",
                    run.args,
                    run.stderr.trim_end()
                ));
                None
            }
        }
    }

    fn parse<T: DeserializeOwned>(&mut self, run: &Run) -> Option<T> {
        serde_json::from_str(&run.stdout)
            .map_err(|e| {
                self.error(format!(
                    "queueprim {} printed {:?}: {e}",
                    run.args, run.stdout
                ))
            })
            .ok()
    }

    fn error(&mut self, message: String) {
        self.log.errors.push(message);
    }

    // --- producer

    fn produce(&mut self) {
        while self.running() {
            if self.backlog.load(Ordering::Relaxed) > BACKLOG {
                thread::sleep(Duration::from_millis(50));
                continue;
            }
            let order = EnqueueOrder::random(&mut self.rng);
            self.enqueue(&order);
        }
    }

    fn next_payload(&mut self) -> String {
        self.serial += 1;
        format!(r#"{{"actor":"{}","n":{}}}"#, self.name, self.serial)
    }

    fn enqueue(&mut self, order: &EnqueueOrder) {
        let payloads: Vec<String> = (0..order.size()).map(|_| self.next_payload()).collect();
        let (max_retries, priority) = (order.max_retries.to_string(), order.priority.to_string());
        let mut args = vec![
            "enqueue",
            order.queue,
            "--max-retries",
            &max_retries,
            "--priority",
            &priority,
        ];
        let stdin = match order.batch {
            Some(_) => {
                args.push("--batch");
                Some(payloads.join("\n") + "\n")
            }
            None => {
                args.extend(["--payload", &payloads[0]]);
                None
            }
        };
        let Some(run) = self.exec_accepted(&args, stdin) else {
            return;
        };
        let jobs: Vec<Job> = match order.batch {
            Some(_) => self.parse(&run).unwrap_or_default(),
            None => self.parse(&run).into_iter().collect(),
        };
        if jobs.len() != payloads.len() {
            self.error(format!(
                "queueprim {} printed {} jobs for {} payloads",
                run.args,
                jobs.len(),
                payloads.len()
            ));
        }
        for job in jobs {
            self.record_enqueued(job, order.max_retries);
        }
    }

    /// Keeps every job enqueue printed, even one that looks wrong, so the accounting covers
    /// it; a wrong one is also an error.
    fn record_enqueued(&mut self, job: Job, max_retries: u32) {
        if job.status != "pending"
            || job.max_retries != max_retries
            || job.deduplicated != Some(false)
        {
            self.error(format!("enqueue printed an unexpected job: {job:?}"));
        }
        self.log.enqueued.push(Enqueued {
            id: job.id,
            max_retries: job.max_retries,
        });
    }

    // --- worker

    fn work(&mut self) {
        while self.running() {
            let request = DequeueRequest::random(&mut self.rng);
            let claims = self.dequeue(&request);
            if claims.is_empty() && !request.wait {
                // An empty queue: give the producers a moment rather than spin processes.
                thread::sleep(Duration::from_millis(25));
            }
            for claim in claims {
                self.handle(claim);
            }
        }
    }

    fn dequeue(&mut self, request: &DequeueRequest) -> Vec<Claim> {
        let args = request.args(&self.name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let Some(run) = self.exec_accepted(&args, None) else {
            return Vec::new();
        };
        let jobs: Vec<Job> = match request.count {
            Some(_) => self.parse(&run).unwrap_or_default(),
            None if run.stdout.is_empty() => Vec::new(),
            None => self.parse(&run).into_iter().collect(),
        };
        let claims: Vec<Claim> = jobs
            .iter()
            .filter_map(|job| {
                Claim::from_dequeued(job, &self.name)
                    .map_err(|e| self.log.errors.push(e))
                    .ok()
            })
            .collect();
        if request.count.is_some_and(|n| claims.len() > n as usize) {
            self.error(format!("queueprim {} claimed too many jobs", run.args));
        }
        claims
    }

    /// Finishes one claim as its plan says, and logs it however it ended.
    fn handle(&mut self, mut claim: Claim) {
        let plan = Plan::random(&mut self.rng);
        if plan.stall {
            self.stall_past(&claim);
        }
        match plan.action {
            Action::Complete => {
                self.complete(&mut claim);
            }
            Action::Fail { dead } => self.fail(&mut claim, dead),
            Action::ExtendThenComplete => self.extend_then_complete(&mut claim),
        }
        self.log.claims.push(claim);
    }

    /// Sleeps until just past the claim's deadline, as a hung worker would, so the claim
    /// expires and may go to someone else before this worker carries on.
    fn stall_past(&mut self, claim: &Claim) {
        let until = claim.deadline + 200 + self.rng.below(400) as i64;
        if until - now_ms() <= MAX_STALL_MS {
            sleep_until(until);
        }
    }

    /// Extends, then outlives the original deadline when it is near, so only the extension
    /// keeps the job from going to someone else before the complete.
    fn extend_then_complete(&mut self, claim: &mut Claim) {
        let original = claim.deadline;
        if !self.extend(claim, "2s") {
            return; // Not ours any more: drop it, as a worker should.
        }
        if original - now_ms() < 1_500 {
            sleep_until(original + 200);
        }
        self.complete(claim);
    }

    fn complete(&mut self, claim: &mut Claim) -> bool {
        let (id, token) = (claim.job.clone(), claim.token.clone());
        let args = [
            "complete",
            &id,
            "--claim",
            &token,
            "--output",
            r#"{"ok":true}"#,
        ];
        let Some(job) = self.claim_command(Op::Complete, &args, claim) else {
            return false;
        };
        if job.status != "done" || job.id != claim.job || job.finished_at.is_none() {
            self.error(format!("complete {id} printed {job:?}"));
            return false;
        }
        claim.finish(
            millis(job.finished_at.as_deref().unwrap_or_default()),
            Ending::Completed,
        );
        true
    }

    /// Fails the job and checks the retry rule: dead with `--dead` or once `attempt_count`
    /// passes `max_retries`, pending before.
    fn fail(&mut self, claim: &mut Claim, dead: bool) {
        let (id, token) = (claim.job.clone(), claim.token.clone());
        let mut args = vec![
            "fail",
            &id,
            "--claim",
            &token,
            "--reason",
            "contention test",
        ];
        if dead {
            args.push("--dead");
        }
        let Some(job) = self.claim_command(Op::Fail, &args, claim) else {
            return;
        };
        let expected = if dead || job.attempt_count > job.max_retries {
            "dead"
        } else {
            "pending"
        };
        if job.status != expected || job.id != claim.job {
            self.error(format!(
                "fail {id} (dead: {dead}) left it {}, expected {expected}: {job:?}",
                job.status
            ));
            return;
        }
        let how = if expected == "dead" {
            Ending::Dead
        } else {
            Ending::Retried
        };
        claim.finish(millis(&job.updated_at), how);
    }

    fn extend(&mut self, claim: &mut Claim, by: &str) -> bool {
        let (id, token) = (claim.job.clone(), claim.token.clone());
        let args = ["extend", &id, "--by", by, "--claim", &token];
        let Some(job) = self.claim_command(Op::Extend, &args, claim) else {
            return false;
        };
        match (&job.visible_after, job.status.as_str()) {
            (Some(deadline), "claimed") if job.claim.as_ref() == Some(&claim.token) => {
                claim.deadline = millis(deadline);
                claim.last_accepted = millis(&job.updated_at);
                true
            }
            _ => {
                self.error(format!("extend {id} printed {job:?}"));
                false
            }
        }
    }

    /// Runs a command on a claimed job and returns the job it printed; a refusal is logged
    /// as one, for the checks to confirm the claim was indeed stale.
    fn claim_command(&mut self, op: Op, args: &[&str], claim: &Claim) -> Option<Job> {
        match self.exec(args, None)? {
            Reply::Accepted(run) => self.parse(&run),
            Reply::Refused(code, _) => {
                self.log.refusals.push(Refusal {
                    op,
                    code,
                    job: claim.job.clone(),
                    token: claim.token.clone(),
                    claim_start: claim.start,
                    deadline: claim.deadline,
                    at: now_ms(),
                });
                None
            }
        }
    }

    // --- purger

    fn purge_and_watch(&mut self) {
        for (status, filters) in PURGES.iter().cycle() {
            if !self.running() {
                break;
            }
            self.purge(status, filters);
            self.watch_backlog();
            thread::sleep(Duration::from_millis(150));
        }
    }

    fn purge(&mut self, status: &str, filters: &[&str]) {
        let mut args = vec!["purge", "--status", status];
        args.extend_from_slice(filters);
        let Some(run) = self.exec_accepted(&args, None) else {
            return;
        };
        let Some(purge) = self.parse::<Purge>(&run) else {
            return;
        };
        if purge.dry_run {
            self.error(format!("queueprim {} says it was a dry run", run.args));
        }
        match status {
            "done" => self.log.purged.done += purge.removed,
            _ => self.log.purged.dead += purge.removed,
        }
    }

    fn watch_backlog(&mut self) {
        let Some(run) = self.exec_accepted(&["stats"], None) else {
            return;
        };
        if let Some(counts) = self.parse::<Counts>(&run) {
            self.backlog.store(counts.pending, Ordering::Relaxed);
        }
    }
}

/// What a producer enqueues next.
struct EnqueueOrder {
    queue: &'static str,
    max_retries: u32,
    priority: i64,
    /// `--batch` of this many payloads, or one `--payload`.
    batch: Option<usize>,
}

impl EnqueueOrder {
    fn random(rng: &mut Rng) -> Self {
        EnqueueOrder {
            queue: rng.pick(&QUEUES),
            max_retries: rng.below(4) as u32,
            priority: rng.pick(&[-10, 0, 0, 10]),
            batch: rng.percent(30).then(|| 2 + rng.below(7) as usize),
        }
    }

    fn size(&self) -> usize {
        self.batch.unwrap_or(1)
    }
}

/// What a worker asks `dequeue` for next.
struct DequeueRequest {
    queue: &'static str,
    timeout: &'static str,
    count: Option<u32>,
    /// `--wait=1s`: block up to a second for a job.
    wait: bool,
}

impl DequeueRequest {
    fn random(rng: &mut Rng) -> Self {
        DequeueRequest {
            queue: rng.pick(&QUEUES),
            timeout: rng.pick(&TIMEOUTS),
            count: rng.percent(35).then(|| 2 + rng.below(4) as u32),
            wait: rng.percent(40),
        }
    }

    fn args(&self, worker: &str) -> Vec<String> {
        let mut args: Vec<String> = ["dequeue", self.queue, "--worker", worker]
            .into_iter()
            .chain(["--timeout", self.timeout])
            .map(String::from)
            .collect();
        if let Some(n) = self.count {
            args.extend(["--count".to_string(), n.to_string()]);
        }
        if self.wait {
            args.push("--wait=1s".to_string());
        }
        args
    }
}

/// How a worker treats one claimed job.
struct Plan {
    /// Sleep past the deadline first, as a hung worker would.
    stall: bool,
    action: Action,
}

enum Action {
    Complete,
    Fail { dead: bool },
    ExtendThenComplete,
}

impl Plan {
    fn random(rng: &mut Rng) -> Self {
        let action = match rng.below(100) {
            0..65 => Action::Complete,
            65..78 => Action::Fail { dead: false },
            78..84 => Action::Fail { dead: true },
            _ => Action::ExtendThenComplete,
        };
        Plan {
            stall: rng.percent(10),
            action,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The sweep daemon

/// `sweep --interval 100ms`, running for the whole scenario. Its output is read as it comes,
/// so a long soak cannot fill the pipe and block it; it is killed if the test panics first.
struct Sweeper {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// What the sweep daemon did.
struct SweepRun {
    code: Option<i32>,
    stopped_in_time: bool,
    stdout: String,
    stderr: String,
}

impl Sweeper {
    fn start(env: &TestEnv) -> Self {
        let mut child = env
            .cmd(["sweep", "--interval", "100ms", "--format", "json"])
            .spawn();
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        let sweeper = Sweeper {
            child,
            stdout,
            stderr,
        };
        wait_until_catching_sigterm(sweeper.child.id());
        sweeper
    }

    /// Sends SIGTERM and waits for the daemon to exit.
    fn stop(&mut self) -> SweepRun {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
        let limit = Instant::now() + GENEROUS;
        let code = loop {
            if let Some(exit) = self.child.try_wait().expect("try_wait") {
                break Some(exit.code());
            }
            if Instant::now() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        SweepRun {
            code: code.flatten(),
            stopped_in_time: code.is_some(),
            stdout: joined(self.stdout.take()),
            stderr: joined(self.stderr.take()),
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

fn joined(reader: Option<JoinHandle<String>>) -> String {
    reader
        .map(|h| h.join().expect("pipe reader"))
        .unwrap_or_default()
}

/// Waits until the process catches SIGTERM (read from `/proc/PID/status`), so the SIGTERM
/// sent at the end reaches queueprim's handler instead of killing it outright. Where `/proc`
/// is missing, it gives the process a second instead.
fn wait_until_catching_sigterm(pid: u32) {
    const SIGTERM_BIT: u64 = 1 << (15 - 1);
    if !Path::new("/proc/self/status").exists() {
        thread::sleep(Duration::from_secs(1));
        return;
    }
    let limit = Instant::now() + GENEROUS;
    loop {
        let caught = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix("SigCgt:"))
                    .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            })
            .unwrap_or(0);
        if caught & SIGTERM_BIT != 0 {
            return;
        }
        assert!(
            Instant::now() < limit,
            "sweep did not install its SIGTERM handler within {GENEROUS:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Checks the daemon exited 0 on SIGTERM, silently on stderr, printing only pass reports;
/// returns how many claims it released and how many of those ended dead.
fn check_sweep(sweep: &SweepRun, problems: &mut Vec<String>) -> (u64, u64) {
    if !sweep.stopped_in_time || sweep.code != Some(0) {
        problems.push(format!(
            "sweep exited {:?} after SIGTERM (within {GENEROUS:?}: {}), expected 0",
            sweep.code, sweep.stopped_in_time
        ));
    }
    if !sweep.stderr.is_empty() {
        problems.push(format!(
            "sweep wrote to stderr: {}",
            sweep.stderr.trim_end()
        ));
    }
    let (mut released, mut dead) = (0, 0);
    for line in sweep.stdout.lines() {
        match serde_json::from_str::<Sweep>(line) {
            Ok(report) => {
                released += report.retried + report.dead;
                dead += report.dead;
            }
            Err(e) => problems.push(format!("sweep printed {line:?}: {e}")),
        }
    }
    (released, dead)
}

// ---------------------------------------------------------------------------------------
// After the run: what the actors saw, and what the database holds

/// Every actor's log, merged.
struct Ledger {
    processes: u64,
    errors: Vec<String>,
    /// Each enqueued job's `max_retries`, by id.
    enqueued: HashMap<String, u32>,
    /// Ids enqueue printed more than once.
    duplicate_ids: Vec<String>,
    /// Every claim, by job, in the order they were made.
    claims: HashMap<String, Vec<Claim>>,
    refusals: Vec<Refusal>,
    purged: Finished,
}

impl Ledger {
    fn merge(logs: Vec<Log>) -> Ledger {
        let mut ledger = Ledger {
            processes: 0,
            errors: Vec::new(),
            enqueued: HashMap::new(),
            duplicate_ids: Vec::new(),
            claims: HashMap::new(),
            refusals: Vec::new(),
            purged: Finished::default(),
        };
        for log in logs {
            ledger.processes += log.processes;
            ledger.errors.extend(log.errors);
            ledger.refusals.extend(log.refusals);
            ledger.purged.done += log.purged.done;
            ledger.purged.dead += log.purged.dead;
            for job in log.enqueued {
                if ledger
                    .enqueued
                    .insert(job.id.clone(), job.max_retries)
                    .is_some()
                {
                    ledger.duplicate_ids.push(job.id);
                }
            }
            for claim in log.claims {
                ledger
                    .claims
                    .entry(claim.job.clone())
                    .or_default()
                    .push(claim);
            }
        }
        for claims in ledger.claims.values_mut() {
            claims.sort_by_key(|c| (c.start, c.held_until()));
        }
        ledger
    }

    fn claims_of(&self, id: &str) -> &[Claim] {
        self.claims.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether a claim other than `token` on the job started after `since` and by `at`:
    /// someone else's claim took over.
    fn taken_over(&self, id: &str, token: &str, since: i64, at: i64) -> bool {
        self.claims_of(id)
            .iter()
            .any(|c| c.token != token && c.start > since && c.start <= at)
    }
}

/// The database once everything has stopped.
struct FinalState {
    jobs: HashMap<String, Job>,
    stats: Counts,
    integrity: Vec<String>,
}

impl FinalState {
    fn read(env: &TestEnv) -> FinalState {
        let jobs: Vec<Job> = env.json(&["list", "--limit", "0", "--format", "json"]);
        FinalState {
            jobs: jobs.into_iter().map(|job| (job.id.clone(), job)).collect(),
            stats: env.json(&["stats", "--format", "json"]),
            integrity: integrity_check(&env.db()),
        }
    }
}

fn integrity_check(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open the database with rusqlite");
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .expect("prepare integrity_check");
    let rows = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .expect("run integrity_check");
    rows.collect::<rusqlite::Result<_>>()
        .expect("read integrity_check")
}

fn check_database(state: &FinalState, problems: &mut Vec<String>) {
    if state.integrity != ["ok"] {
        problems.push(format!("PRAGMA integrity_check says {:?}", state.integrity));
    }
}

/// Checks the claims of every job: unique tokens, no two claims holding a job at once, no
/// claim after the job ended, no other claim slipping in before a holder's accepted
/// command, at most one completion, and no more claims than the attempt budget allows.
fn check_claims(ledger: &Ledger, problems: &mut Vec<String>) {
    let mut tokens = HashSet::new();
    for (id, claims) in &ledger.claims {
        for claim in claims {
            if !tokens.insert(claim.token.as_str()) {
                problems.push(format!("claim token {} was handed out twice", claim.token));
            }
        }
        let Some(&max_retries) = ledger.enqueued.get(id) else {
            problems.push(format!("{id} was claimed but nobody enqueued it"));
            continue;
        };
        check_no_overlap(id, claims, problems);
        check_nothing_after_the_end(id, claims, problems);
        check_accepted_only_while_held(ledger, id, claims, problems);
        let completions = claims.iter().filter(|c| c.completed()).count();
        if completions > 1 {
            problems.push(format!(
                "{id} was completed {completions} times: {claims:?}"
            ));
        }
        if claims.len() > max_retries as usize + 1 {
            problems.push(format!(
                "{id} was claimed {} times with max_retries {max_retries}: {claims:?}",
                claims.len()
            ));
        }
    }
}

/// No claim may start before the one before it stopped holding the job.
fn check_no_overlap(id: &str, claims: &[Claim], problems: &mut Vec<String>) {
    for pair in claims.windows(2) {
        if pair[0].held_until() > pair[1].start {
            problems.push(format!(
                "{id} was held by two claims at once: {:?} and {:?}",
                pair[0], pair[1]
            ));
        }
    }
}

/// A job that was completed or went dead is never claimed again.
fn check_nothing_after_the_end(id: &str, claims: &[Claim], problems: &mut Vec<String>) {
    if let Some(i) = claims.iter().position(Claim::terminal) {
        if i + 1 < claims.len() {
            problems.push(format!(
                "{id} was claimed again after it ended: {:?}",
                &claims[i..]
            ));
        }
    }
}

/// A command accepted on a claim (a late complete included) means nobody else claimed the
/// job between the claim and that command.
fn check_accepted_only_while_held(
    ledger: &Ledger,
    id: &str,
    claims: &[Claim],
    problems: &mut Vec<String>,
) {
    for claim in claims {
        if ledger.taken_over(id, &claim.token, claim.start, claim.last_accepted - 1) {
            problems.push(format!(
                "{id}: a command on claim {} was accepted after another claim took the job: {claims:?}",
                claim.token
            ));
        }
    }
}

/// The status a job must end in, given its claims: done once completed; dead when a fail
/// said so or when every allowed attempt was used; pending otherwise. (Each claim that did
/// not complete is one failed attempt, by `fail` or by expiry.)
fn expected_status(max_retries: u32, claims: &[Claim]) -> &'static str {
    if claims.iter().any(Claim::completed) {
        "done"
    } else if claims
        .iter()
        .any(|c| c.end.is_some_and(|e| e.how == Ending::Dead))
        || claims.len() > max_retries as usize
    {
        "dead"
    } else {
        "pending"
    }
}

/// The failed attempts a job must show: one per claim that did not complete it, plus one
/// for a completing claim that expired before its late complete.
fn expected_attempts(status: &str, claims: &[Claim]) -> RangeInclusive<u32> {
    let n = claims.len() as u32;
    match status {
        "done" => n.saturating_sub(1)..=n,
        _ => n..=n,
    }
}

/// Where the jobs ended, by the accounting.
#[derive(Debug, Default, Clone, Copy)]
struct Accounts {
    done: u64,
    dead: u64,
    pending: u64,
}

/// Checks every enqueued job is in the database exactly as its claims say it must be, or
/// was purged, with the purge counts matching the missing jobs status by status; no job is
/// in the database that nobody enqueued; and `stats` agrees.
fn check_accounting(ledger: &Ledger, state: &FinalState, problems: &mut Vec<String>) -> Accounts {
    for id in &ledger.duplicate_ids {
        problems.push(format!("enqueue printed id {id} more than once"));
    }
    for id in state.jobs.keys() {
        if !ledger.enqueued.contains_key(id) {
            problems.push(format!("{id} is in the database but nobody enqueued it"));
        }
    }
    let mut accounts = Accounts::default();
    let mut missing = Finished::default();
    let mut present = Counts {
        pending: 0,
        claimed: 0,
        done: 0,
        dead: 0,
        total: 0,
    };
    for (id, &max_retries) in &ledger.enqueued {
        let claims = ledger.claims_of(id);
        let expected = expected_status(max_retries, claims);
        match expected {
            "done" => accounts.done += 1,
            "dead" => accounts.dead += 1,
            _ => accounts.pending += 1,
        }
        match state.jobs.get(id) {
            Some(job) => {
                check_final_job(job, expected, claims, problems);
                count_status(&mut present, &job.status);
            }
            None if expected == "done" => missing.done += 1,
            None if expected == "dead" => missing.dead += 1,
            None => problems.push(format!(
                "{id} is gone from the database but should be {expected}: {claims:?}"
            )),
        }
    }
    if missing != ledger.purged {
        problems.push(format!(
            "purges removed {:?}, but the jobs missing from the database are {missing:?}",
            ledger.purged
        ));
    }
    if state.stats != present {
        problems.push(format!(
            "stats says {:?}, the jobs in the database are {present:?}",
            state.stats
        ));
    }
    accounts
}

fn check_final_job(job: &Job, expected: &str, claims: &[Claim], problems: &mut Vec<String>) {
    let attempts = expected_attempts(expected, claims);
    if job.status != expected || !attempts.contains(&job.attempt_count) {
        problems.push(format!(
            "{} ended {} after {} failed attempts, expected {expected} after {attempts:?}; \
             claims {claims:?}",
            job.id, job.status, job.attempt_count
        ));
    }
}

fn count_status(counts: &mut Counts, status: &str) {
    match status {
        "pending" => counts.pending += 1,
        "claimed" => counts.claimed += 1,
        "done" => counts.done += 1,
        _ => counts.dead += 1,
    }
    counts.total += 1;
}

/// Checks every refusal met a stale claim. A complete is refused (exit 4) only once another
/// claim took over, since a late complete is otherwise accepted; a fail or extend also when
/// the claim expired and was released. Exit 3 only for a job purged after its claim expired.
fn check_refusals(ledger: &Ledger, state: &FinalState, problems: &mut Vec<String>) {
    for r in &ledger.refusals {
        let taken_over = ledger.taken_over(&r.job, &r.token, r.claim_start, r.at);
        let expired = r.deadline <= r.at;
        let stale = match (r.code, r.op) {
            (4, Op::Complete) => taken_over,
            (4, _) => taken_over || expired,
            _ => expired && !state.jobs.contains_key(&r.job),
        };
        if !stale {
            problems.push(format!(
                "{:?} of {} was refused with exit {} but its claim was not stale (taken over: \
                 {taken_over}, expired: {expired}, still in the database: {}): {r:?}; claims {:?}",
                r.op,
                r.job,
                r.code,
                state.jobs.contains_key(&r.job),
                ledger.claims_of(&r.job)
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// The figures

/// The run's figures, for the summary line.
struct Tally {
    actors: usize,
    seconds: f64,
    processes: u64,
    enqueued: usize,
    accounts: Accounts,
    purged: Finished,
    claims: usize,
    expired: u64,
    redelivered: usize,
    late_completes: usize,
    fenced: [usize; 3],
    gone: usize,
    errors: usize,
}

impl Tally {
    fn new(scenario: &Scenario, elapsed: Duration, ledger: &Ledger, accounts: Accounts) -> Tally {
        let all_claims = || ledger.claims.values().flatten();
        let fenced = |op: Op| {
            ledger
                .refusals
                .iter()
                .filter(|r| r.code == 4 && r.op == op)
                .count()
        };
        Tally {
            actors: scenario.actors,
            seconds: elapsed.as_secs_f64(),
            processes: ledger.processes,
            enqueued: ledger.enqueued.len(),
            accounts,
            purged: ledger.purged,
            claims: all_claims().count(),
            expired: all_claims().filter(|c| c.expired()).count() as u64,
            redelivered: ledger
                .claims
                .values()
                .flat_map(|claims| claims.windows(2))
                .filter(|pair| pair[0].expired())
                .count(),
            late_completes: all_claims()
                .filter(|c| c.completed() && c.expired())
                .count(),
            fenced: [fenced(Op::Complete), fenced(Op::Fail), fenced(Op::Extend)],
            gone: ledger.refusals.iter().filter(|r| r.code == 3).count(),
            errors: ledger.errors.len(),
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.accounts;
        let finished = (a.done + a.dead) as f64;
        write!(
            f,
            "{} actors for {:.1}s, {} processes ({:.0}/s); jobs enqueued {}, done {}, dead {}, \
             pending {} ({:.1} jobs/s finished); purged {} done + {} dead; claims {}, \
             expired {}, redelivered {}, late completes accepted {}; fenced {} (complete {}, \
             fail {}, extend {}), purged under a stale claim {}; errors {}",
            self.actors,
            self.seconds,
            self.processes,
            self.processes as f64 / self.seconds,
            self.enqueued,
            a.done,
            a.dead,
            a.pending,
            finished / self.seconds,
            self.purged.done,
            self.purged.dead,
            self.claims,
            self.expired,
            self.redelivered,
            self.late_completes,
            self.fenced.iter().sum::<usize>(),
            self.fenced[0],
            self.fenced[1],
            self.fenced[2],
            self.gone,
            self.errors
        )
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers

/// A small deterministic generator (SplitMix64): enough to vary what actors do, without a
/// dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The wall clock in milliseconds since the Unix epoch, as queueprim reads it.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

fn sleep_until(ms: i64) {
    let left = ms - now_ms();
    if left > 0 {
        thread::sleep(Duration::from_millis(left as u64));
    }
}

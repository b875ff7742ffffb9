//! The actors: threads that each run one queueprim process after another in one role
//! (purger, producer or worker), logging everything the checks need.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::harness::{millis, Counts, Job, Purge, Run, TestEnv};
use crate::support::rng::Rng;
use crate::support::wait::{now_ms, sleep_until};

use super::log::{classify, Claim, Ending, Enqueued, Log, Op, Refusal, Reply};
use super::plans::{Action, DequeueRequest, EnqueueOrder, Plan};
use super::{Scenario, BACKLOG, MAX_STALL_MS, PURGES};

/// What an actor does all run long.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    /// Purges finished jobs and watches the backlog with `stats`.
    Purger,
    /// Enqueues jobs, one at a time or in batches.
    Producer,
    /// Dequeues jobs and finishes them in every way a worker can.
    Worker,
}

/// Actor 0 purges, about a fifth produce, the rest work.
pub fn role_of(index: usize, actors: usize) -> Role {
    let producers = (actors / 5).max(1);
    match index {
        0 => Role::Purger,
        i if i <= producers => Role::Producer,
        _ => Role::Worker,
    }
}

/// Runs every actor until the scenario's time is up and returns what each one saw.
pub fn run_actors(env: &TestEnv, scenario: &Scenario) -> Vec<Log> {
    let stop_at = Instant::now() + scenario.duration;
    let backlog = AtomicU64::new(0);
    // One seed for the run, printed; each actor draws from a generator of its own.
    let mut seeds = Rng::for_test(scenario.label);
    let rngs: Vec<Rng> = (0..scenario.actors).map(|_| seeds.fork()).collect();
    thread::scope(|s| {
        let handles: Vec<_> = rngs
            .into_iter()
            .enumerate()
            .map(|(index, rng)| {
                let backlog = &backlog;
                s.spawn(move || {
                    let mut actor = Actor {
                        name: format!("actor-{index}"),
                        env,
                        stop_at,
                        rng,
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

/// One thread running queueprim processes one after another, in one role.
pub struct Actor<'a> {
    pub name: String,
    pub env: &'a TestEnv,
    pub stop_at: Instant,
    pub rng: Rng,
    /// Pending jobs as the purger last counted them.
    pub backlog: &'a AtomicU64,
    /// Numbers the payloads this actor enqueues.
    pub serial: u64,
    pub log: Log,
}

impl Actor<'_> {
    pub fn running(&self) -> bool {
        Instant::now() < self.stop_at
    }

    /// Runs one process with JSON output; logs an error and returns `None` unless it
    /// succeeded or was refused.
    pub fn exec(&mut self, args: &[&str], stdin: Option<String>) -> Option<Reply> {
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
    pub fn exec_accepted(&mut self, args: &[&str], stdin: Option<String>) -> Option<Run> {
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

    pub fn parse<T: DeserializeOwned>(&mut self, run: &Run) -> Option<T> {
        serde_json::from_str(&run.stdout)
            .map_err(|e| {
                self.error(format!(
                    "queueprim {} printed {:?}: {e}",
                    run.args, run.stdout
                ))
            })
            .ok()
    }

    pub fn error(&mut self, message: String) {
        self.log.errors.push(message);
    }

    // --- producer

    pub fn produce(&mut self) {
        while self.running() {
            if self.backlog.load(Ordering::Relaxed) > BACKLOG {
                thread::sleep(Duration::from_millis(50));
                continue;
            }
            let order = EnqueueOrder::random(&mut self.rng);
            self.enqueue(&order);
        }
    }

    pub fn next_payload(&mut self) -> String {
        self.serial += 1;
        format!(r#"{{"actor":"{}","n":{}}}"#, self.name, self.serial)
    }

    pub fn enqueue(&mut self, order: &EnqueueOrder) {
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
    pub fn record_enqueued(&mut self, job: Job, max_retries: u32) {
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

    pub fn work(&mut self) {
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

    pub fn dequeue(&mut self, request: &DequeueRequest) -> Vec<Claim> {
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
    pub fn handle(&mut self, mut claim: Claim) {
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
    pub fn stall_past(&mut self, claim: &Claim) {
        let until = claim.deadline + 200 + self.rng.below(400) as i64;
        if until - now_ms() <= MAX_STALL_MS {
            sleep_until(until);
        }
    }

    /// Extends, then outlives the original deadline when it is near, so only the extension
    /// keeps the job from going to someone else before the complete.
    pub fn extend_then_complete(&mut self, claim: &mut Claim) {
        let original = claim.deadline;
        if !self.extend(claim, "2s") {
            return; // Not ours any more: drop it, as a worker should.
        }
        if original - now_ms() < 1_500 {
            sleep_until(original + 200);
        }
        self.complete(claim);
    }

    pub fn complete(&mut self, claim: &mut Claim) -> bool {
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
    pub fn fail(&mut self, claim: &mut Claim, dead: bool) {
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

    pub fn extend(&mut self, claim: &mut Claim, by: &str) -> bool {
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
    pub fn claim_command(&mut self, op: Op, args: &[&str], claim: &Claim) -> Option<Job> {
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

    pub fn purge_and_watch(&mut self) {
        for (status, filters) in PURGES.iter().cycle() {
            if !self.running() {
                break;
            }
            self.purge(status, filters);
            self.watch_backlog();
            thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn purge(&mut self, status: &str, filters: &[&str]) {
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

    pub fn watch_backlog(&mut self) {
        let Some(run) = self.exec_accepted(&["stats"], None) else {
            return;
        };
        if let Some(counts) = self.parse::<Counts>(&run) {
            self.backlog.store(counts.pending, Ordering::Relaxed);
        }
    }
}

//! The built-in worker loop behind `queueprim work`: claims jobs in-process, runs a command
//! for each, renews claims while commands run, records each result, and shuts down without
//! leaving a job claimed or a child running.

mod finish;
mod guard;
mod process;
mod result;
mod summary;
mod watchdog;

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::error::Error;
use crate::job::{ClaimRequest, Job};
use crate::lifecycle::FailOptions;
use crate::reconnect::reconnect;
use crate::signals::Interrupt;
use crate::store::Store;
use crate::time::{self, Millis};
use crate::watch::Watch;
use finish::{claim_lost, settle, Finish};
use guard::Guard;
use process::JobProcess;
pub use summary::Summary;
use watchdog::Watchdog;

/// How often the runner checks on its commands while they run.
const POLL: Duration = Duration::from_millis(25);
/// How long an idle runner waits for work before checking for signals again.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// How long a command gets between SIGTERM and SIGKILL.
pub const KILL_AFTER: Duration = Duration::from_secs(5);

/// How `work` was asked to run.
pub struct Settings {
    /// Queue, type, worker name and claim timeout; `count` is set per claim.
    pub request: ClaimRequest,
    /// The claim length in force (the worker's, the queue's or the default): renewals keep
    /// a claim this long ahead. Any length is safe (see [`guard`]); `cli::MIN_CLAIM_TIMEOUT`
    /// keeps it long enough for renewals to land.
    pub lease: Millis,
    pub concurrency: usize,
    pub job_timeout: Option<Millis>,
    pub until_empty: bool,
    /// Exit once the queue has no unfinished job at all (see `Store::has_unfinished`).
    pub until_drained: bool,
    pub max_jobs: Option<u64>,
    pub grace: Millis,
    pub command: Vec<OsString>,
    /// The database as the job's command reaches it (`QUEUEPRIM_DB`).
    pub db: OsString,
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    Done,
    /// Failed, back to pending for another try.
    Retry(String),
    /// Failed for the last time.
    Dead(String),
    /// The claim was lost to another worker; nothing was recorded.
    Lost(String),
    /// Stopped by shutdown and given back to the queue without counting an attempt.
    Released,
}

/// One line of the runner's log.
pub struct Event<'a> {
    pub job: &'a Job,
    /// 1 for the first try.
    pub attempt: u32,
    pub duration: Duration,
    pub result: &'a JobResult,
}

/// A job whose command is running.
struct Slot {
    key: u64,
    job: Job,
    process: JobProcess,
    /// When the claim, or its latest renewal that landed, was started.
    renewed_at: Instant,
    timed_out: bool,
    lost: Option<String>,
    stopping: bool,
}

/// The loop's state between ticks.
struct Runner<'a> {
    store: &'a mut Store,
    /// SIGINT/SIGTERM, which also end tries to reach a database server that went away.
    interrupt: &'a Interrupt,
    settings: &'a Settings,
    report: &'a mut dyn FnMut(&Event) -> Result<()>,
    slots: Vec<Slot>,
    claimed: u64,
    /// A command finished since the last look for work: with `--until-drained`, look
    /// again even though no other process committed, to see whether that was the last.
    ran_since_look: bool,
    summary: Summary,
    done_tx: Sender<(u64, io::Result<process::Finished>)>,
    done_rx: Receiver<(u64, io::Result<process::Finished>)>,
    watchdog: Watchdog,
    guard: Guard,
}

/// Runs until the queue is empty (`--until-empty`), `--max-jobs` are done, or SIGINT/SIGTERM
/// and the grace period are over.
pub fn run(
    store: &mut Store,
    settings: &Settings,
    report: &mut dyn FnMut(&Event) -> Result<()>,
) -> Result<Summary> {
    // First, while this is the only thread: the watchdog is forked, not executed.
    let watchdog = Watchdog::start().context("cannot start the watchdog process")?;
    let guard = Guard::start().context("cannot start the claim guard")?;
    let interrupt = Interrupt::install()?;
    let (done_tx, done_rx) = mpsc::channel();
    let mut runner = Runner {
        store,
        interrupt: &interrupt,
        settings,
        report,
        slots: Vec::new(),
        claimed: 0,
        ran_since_look: false,
        summary: Summary::default(),
        done_tx,
        done_rx,
        watchdog,
        guard,
    };
    let mut watch = Watch::new();
    let mut stop_by: Option<Instant> = None;
    loop {
        if stop_by.is_none() && interrupt.received().is_some() {
            stop_by = Some(Instant::now() + Duration::from_millis(settings.grace as u64));
        }
        match runner.turn(&mut watch, stop_by) {
            Ok(Turn::Again) => {}
            Ok(Turn::Stop) => break,
            // The server went away: commands go on (the guard stops any whose claim would
            // lapse before a renewal lands), and so does the runner once it answers again.
            Err(e) if !runner.store.connected() => {
                reconnect(runner.store, e, &interrupt)?;
                watch.reset();
            }
            Err(e) => return Err(e),
        }
    }
    Ok(runner.summary)
}

/// What the runner does after a turn of its loop.
enum Turn {
    Again,
    Stop,
}

impl Runner<'_> {
    /// One turn: renew and police claims, claim work for free slots (unless stopping),
    /// then wait a little for commands to finish or work to come.
    fn turn(&mut self, watch: &mut Watch, stop_by: Option<Instant>) -> Result<Turn> {
        self.police()?;
        match stop_by {
            Some(_) if self.slots.is_empty() => return Ok(Turn::Stop),
            Some(deadline) if Instant::now() >= deadline => {
                self.stop_all()?;
                return Ok(Turn::Stop);
            }
            Some(_) => {}
            None => {
                let found = self.fill(watch)?;
                let settings = self.settings;
                if self.slots.is_empty()
                    && (self.quota_used()
                        || (settings.until_empty && !found)
                        || (!found && self.drained()?))
                {
                    return Ok(Turn::Stop);
                }
            }
        }
        if self.slots.is_empty() && stop_by.is_none() {
            watch.wait(self.store, &self.settings.request.queue, WAIT_SLICE)?;
            self.reap(Duration::ZERO)?;
        } else {
            self.reap(POLL)?;
        }
        Ok(Turn::Again)
    }

    fn quota_used(&self) -> bool {
        self.settings
            .max_jobs
            .is_some_and(|max| self.claimed >= max)
    }

    /// With `--until-drained`, whether the queue (of `--type`) has no unfinished job left.
    fn drained(&mut self) -> Result<bool> {
        let request = &self.settings.request;
        Ok(self.settings.until_drained
            && !self
                .store
                .has_unfinished(&request.queue, request.job_type.as_deref())?)
    }

    /// Claims jobs for free slots when a look could find some, and starts their commands.
    /// Returns whether anything is claimable or running, for `--until-empty` and
    /// `--until-drained` (`false` only after a look that found nothing).
    fn fill(&mut self, watch: &mut Watch) -> Result<bool> {
        let remaining = self
            .settings
            .max_jobs
            .map_or(u64::MAX, |max| max.saturating_sub(self.claimed));
        let free = (self.settings.concurrency - self.slots.len()).min(remaining as usize);
        let ran = std::mem::take(&mut self.ran_since_look);
        let must_look = self.slots.is_empty()
            && (self.settings.until_empty || (self.settings.until_drained && ran));
        let queue = &self.settings.request.queue;
        if free == 0 || !(must_look || watch.should_look(self.store, queue)?) {
            return Ok(true);
        }
        let request = ClaimRequest {
            count: free,
            ..self.settings.request.clone()
        };
        // Before the claim's transaction, which reads the clock for its deadline later.
        let claimed_at = Instant::now();
        let jobs = watch.look(self.store, &request)?;
        if jobs.is_empty() {
            return Ok(!self.slots.is_empty());
        }
        for job in jobs {
            self.claimed += 1;
            if self.too_late_to_start(claimed_at) {
                self.give_back(job)?;
            } else {
                self.start(job, claimed_at)?;
            }
        }
        Ok(true)
    }

    fn lease(&self) -> Duration {
        Duration::from_millis(self.settings.lease.max(0) as u64)
    }

    /// A claim that took half its length to land (the database was that busy) is not worth
    /// starting a command under: the guard would stop it soon after.
    fn too_late_to_start(&self, claimed_at: Instant) -> bool {
        claimed_at.elapsed() >= self.lease() / 2
    }

    /// Gives back a job claimed too late to run, without counting an attempt: it was not
    /// the job's fault. It does not count towards --max-jobs either.
    fn give_back(&mut self, job: Job) -> Result<()> {
        self.claimed -= 1;
        eprintln!(
            "queueprim work: claiming {} took over half of its {} claim; gave it back",
            job.id,
            time::human_duration(self.settings.lease)
        );
        let result = settle(
            self.store
                .release(&job.id, job.claim.as_deref())
                .map(|_| JobResult::Released),
        )?;
        self.summary.count(&job.id, &result);
        let event = Event {
            job: &job,
            attempt: job.attempt_count + 1,
            duration: Duration::ZERO,
            result: &result,
        };
        (self.report)(&event)
    }

    fn start(&mut self, job: Job, claimed_at: Instant) -> Result<()> {
        let env = job_env(&job, &self.settings.db);
        let mut stdin = job.payload.clone().into_bytes();
        stdin.push(b'\n');
        let key = self.claimed;
        match JobProcess::spawn(
            &self.settings.command,
            &env,
            stdin,
            key,
            self.done_tx.clone(),
            self.watchdog.announcer(),
        ) {
            Ok(process) => {
                let lease = self.lease();
                self.guard.watch(key, process.group(), lease, claimed_at);
                self.slots.push(Slot {
                    key,
                    job,
                    process,
                    renewed_at: claimed_at,
                    timed_out: false,
                    lost: None,
                    stopping: false,
                });
                Ok(())
            }
            Err(e) => {
                // The command could not start at all: not the job's fault, so give it back.
                self.store.release(&job.id, job.claim.as_deref())?;
                let program = self.settings.command.first().map(|c| c.to_string_lossy());
                let program = program.unwrap_or_default();
                // The program was found before the first claim, so a file that is "not
                // found" now is the interpreter its #! line names.
                if e.kind() == std::io::ErrorKind::NotFound && Path::new(&*program).is_file() {
                    return Err(Error::invalid(format!(
                        "cannot run {program}: the interpreter its #! line names was not found"
                    ))
                    .into());
                }
                Err(anyhow::Error::new(e).context(format!("cannot run {program}")))
            }
        }
    }

    /// Waits up to `nap` for a command to finish, then records every one that has.
    fn reap(&mut self, nap: Duration) -> Result<()> {
        let mut next = match self.done_rx.recv_timeout(nap) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            // The runner holds a sender, so this cannot happen; were it to, no result could
            // ever come, and waiting on would spin.
            Err(RecvTimeoutError::Disconnected) => bail!("the channel of finished commands closed"),
        };
        while let Some((key, finished)) = next {
            if let Some(index) = self.slots.iter().position(|slot| slot.key == key) {
                let mut slot = self.slots.swap_remove(index);
                slot.process.mark_finished();
                self.watchdog.forget_group(slot.process.group());
                let finished = finished?;
                let late = self.guard.forget(slot.key, finished.ended);
                self.record(slot, finished, late)?;
            }
            next = self.done_rx.try_recv().ok();
        }
        Ok(())
    }

    /// Records how a command ended. `late`: the guard stopped it because no renewal of its
    /// claim landed in time. That is recorded as a failure with that reason, an attempt
    /// counted as the claim's expiry would have counted it, but sooner and with the true
    /// reason, and while the claim is still this runner's (if it is not, nothing is recorded).
    fn record(&mut self, slot: Slot, finished: process::Finished, late: bool) -> Result<()> {
        let Slot {
            job,
            lost,
            timed_out,
            stopping,
            ..
        } = slot;
        let result = if let Some(why) = lost {
            JobResult::Lost(why)
        } else if late {
            let reason = result::failure_reason(&finished, Some(self.late_ending()));
            self.finish(&job, Finish::Fail(reason))?
        } else if stopping {
            self.finish(&job, Finish::Release)?
        } else if finished.status.success() && !timed_out {
            let output = result::output_json(&finished.stdout);
            self.finish(&job, Finish::Complete(output))?
        } else {
            let limit = timed_out.then_some(self.settings.job_timeout).flatten();
            let ending = limit.map(|limit| {
                format!(
                    "timed out after {} (--job-timeout)",
                    time::human_duration(limit)
                )
            });
            self.finish(
                &job,
                Finish::Fail(result::failure_reason(&finished, ending)),
            )?
        };
        self.summary.count(&job.id, &result);
        self.ran_since_look = true;
        let event = Event {
            job: &job,
            attempt: job.attempts(),
            duration: finished.duration,
            result: &result,
        };
        (self.report)(&event)
    }

    /// Records how `job` ended, unless its claim is no longer ours. When the server goes
    /// away meanwhile, it connects again and tries again: a result is never dropped, since
    /// its job would then be claimed and run again once the claim expired. A try cut short
    /// may have committed; if the next try is refused, the job itself says whether the first
    /// one took effect.
    fn finish(&mut self, job: &Job, finish: Finish) -> Result<JobResult> {
        let claim = job.claim.as_deref();
        let mut tried_before = false;
        loop {
            let done = match &finish {
                Finish::Complete(output) => self
                    .store
                    .complete(&job.id, claim, output.clone(), &[])
                    .map(|_| JobResult::Done),
                Finish::Fail(reason) => self
                    .store
                    .fail(&job.id, claim, reason, FailOptions::default())
                    .map(|(_, outcome)| finish.failed(outcome)),
                Finish::Release => self
                    .store
                    .release(&job.id, claim)
                    .map(|_| JobResult::Released),
            };
            match done {
                Err(e) if !self.store.connected() => {
                    reconnect(self.store, e, self.interrupt)?;
                    tried_before = true;
                }
                Err(e) if tried_before && claim_lost(&e) => {
                    let now = self.store.get(&job.id).ok();
                    return match now.and_then(|now| finish.took_effect(job, &now)) {
                        Some(result) => Ok(result),
                        None => settle(Err(e)),
                    };
                }
                other => return settle(other),
            }
        }
    }

    /// How a command stopped by the guard ended, for its failure reason.
    fn late_ending(&self) -> String {
        format!(
            "stopped before its {} claim could expire: no renewal landed within {} (the \
             database was busy or slow)",
            time::human_duration(self.settings.lease),
            time::human_duration(guard::term_point(self.lease()).as_millis() as Millis)
        )
    }

    /// Renews claims well before they expire, and enforces `--job-timeout`. A renewal that
    /// lands late is the guard's business (see [`guard`]): this thread may be held up here,
    /// or anywhere else, for as long as the database makes it wait.
    fn police(&mut self) -> Result<()> {
        let lease = self.lease();
        for slot in &mut self.slots {
            let due = slot.renewed_at.elapsed() >= lease / 3;
            if slot.lost.is_none() && due && !self.guard.stopping(slot.key) {
                let started = Instant::now();
                let renewed =
                    self.store
                        .renew(&slot.job.id, slot.job.claim.as_deref(), self.settings.lease);
                match renewed {
                    Ok(_) => {
                        slot.renewed_at = started;
                        self.guard.renewed(slot.key, started);
                    }
                    Err(e) if claim_lost(&e) => {
                        eprintln!(
                            "queueprim work: lost the claim on {}: {e:#}; stopping its command",
                            slot.job.id
                        );
                        slot.lost = Some(format!("{e:#}"));
                        slot.process.terminate();
                    }
                    Err(e) => return Err(e),
                }
            }
            let over_time = self.settings.job_timeout.is_some_and(|limit| {
                slot.process.running_for() >= Duration::from_millis(limit as u64)
            });
            if over_time && !slot.timed_out {
                slot.timed_out = true;
                slot.process.terminate();
            }
            if slot
                .process
                .terminated_at()
                .is_some_and(|t| t.elapsed() >= KILL_AFTER)
            {
                slot.process.kill();
            }
        }
        Ok(())
    }

    /// After the grace period: stop every command, then give its job back.
    fn stop_all(&mut self) -> Result<()> {
        for slot in &mut self.slots {
            slot.stopping = true;
            slot.process.terminate();
        }
        while !self.slots.is_empty() {
            self.police()?;
            self.reap(POLL)?;
        }
        Ok(())
    }
}

/// What a job's command learns from its environment.
fn job_env(job: &Job, db: &std::ffi::OsStr) -> Vec<(&'static str, String)> {
    vec![
        ("QUEUEPRIM_JOB_ID", job.id.clone()),
        ("QUEUEPRIM_QUEUE", job.queue.clone()),
        (
            "QUEUEPRIM_JOB_TYPE",
            job.job_type.clone().unwrap_or_default(),
        ),
        ("QUEUEPRIM_ATTEMPT", job.attempts().to_string()),
        ("QUEUEPRIM_CLAIM", job.claim.clone().unwrap_or_default()),
        ("QUEUEPRIM_DB", db.to_string_lossy().into_owned()),
    ]
}

//! Group commit: the writes of many callers in one transaction, each under a savepoint of its
//! own, so one commit (one sync to disk) makes them all durable, while a write that fails is
//! undone alone and the others still commit. `serve` sends every write through here. The
//! rules are the same functions the single-write methods run.

use std::sync::Arc;

use anyhow::Result;

use super::backend::Tx;
use super::claims::claim_in;
use super::jobs::{cancel_in, complete_in, enqueue_in, extend_in, fail_in, release_in, replay_in};
use super::{no_such_job, Store};
use crate::error::Error;
use crate::ids::IdGen;
use crate::job::{ClaimRequest, Enqueued, Job, NewJob, Outcome, QueueSettings, SweepReport};
use crate::lifecycle::FailOptions;
use crate::time::Millis;

/// One caller's write.
#[derive(Debug, Clone)]
pub enum Write {
    /// Jobs, all or none.
    Enqueue(Vec<NewJob>),
    Complete {
        id: String,
        claim: Option<String>,
        output: Option<String>,
        follow_ups: Vec<NewJob>,
    },
    Fail {
        id: String,
        claim: Option<String>,
        reason: String,
        options: FailOptions,
    },
    Extend {
        id: String,
        claim: Option<String>,
        by: Millis,
    },
    Release {
        id: String,
        claim: Option<String>,
    },
    Retry {
        id: String,
    },
    Cancel {
        id: String,
    },
    Claim(ClaimRequest),
    Settings {
        queue: String,
        change: SettingsChange,
    },
}

/// What a write did.
#[derive(Debug, Clone)]
pub enum Written {
    Enqueued(Vec<Enqueued>),
    Completed(Job, Vec<Enqueued>),
    Failed(Job, Outcome),
    Job(Job),
    /// Claimed jobs, and the expired claims released on the way.
    Claimed(Vec<Job>, SweepReport),
    Settings(QueueSettings),
}

/// Changes to a queue's settings; what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    /// Forget every default first (pausing is kept).
    pub reset: bool,
    pub paused: Option<bool>,
    pub timeout_ms: Option<Millis>,
    pub max_retries: Option<u32>,
    pub backoff_ms: Option<Millis>,
}

impl SettingsChange {
    pub fn apply(&self, settings: &mut QueueSettings) {
        if self.reset {
            *settings = QueueSettings {
                paused: settings.paused,
                ..QueueSettings::default()
            };
        }
        settings.paused = self.paused.unwrap_or(settings.paused);
        settings.timeout_ms = self.timeout_ms.or(settings.timeout_ms);
        settings.max_retries = self.max_retries.or(settings.max_retries);
        settings.backoff_ms = self.backoff_ms.or(settings.backoff_ms);
    }
}

/// The queues a caller may reach, by name: a job in any other queue is, for that caller,
/// not there.
pub type Scope = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A write and whose it is.
#[derive(Clone)]
pub struct Scoped {
    pub write: Write,
    /// `None`: every queue.
    pub scope: Option<Scope>,
}

impl Store {
    /// The most writes [`Store::write_together`] should be given at once.
    pub fn most_writes_together(&self) -> usize {
        self.db.most_writes_together()
    }

    /// Runs every write in one transaction, each under its own savepoint, and commits once.
    /// Each gets its own result; the outer error is for a transaction that failed whole
    /// (nothing of it was committed).
    pub fn write_together(&mut self, writes: &[Scoped]) -> Result<Vec<Result<Written>>> {
        let name = self.name().to_string();
        self.write(|tx, ids, _| {
            let mut results = Vec::with_capacity(writes.len());
            tx.savepoint()?;
            for (n, scoped) in writes.iter().enumerate() {
                let written = match apply(tx, ids, &name, scoped) {
                    // The engine broke a deadlock by ending this write: the others' locks
                    // may be part of it too, so the whole transaction runs again (the
                    // backend's write does that), rather than this caller hearing a failure.
                    Err(e) if tx.ended_to_retry(&e) => return Err(e),
                    written => written,
                };
                let last = n + 1 == writes.len();
                match (&written, last) {
                    // Undone; the savepoint stays for the next write.
                    (Err(_), _) => tx.rollback_to_savepoint()?,
                    (Ok(_), false) => tx.next_savepoint()?,
                    // The commit keeps what the last savepoint holds.
                    (Ok(_), true) => {}
                }
                results.push(written);
            }
            Ok(results)
        })
    }
}

fn apply(tx: &mut dyn Tx, ids: &mut IdGen, name: &str, scoped: &Scoped) -> Result<Written> {
    if let Some(scope) = &scoped.scope {
        check_scope(tx, name, scope, &scoped.write)?;
    }
    Ok(match &scoped.write {
        Write::Enqueue(jobs) => Written::Enqueued(enqueue_in(tx, ids, jobs)?),
        Write::Complete {
            id,
            claim,
            output,
            follow_ups,
        } => {
            let (job, added) = complete_in(
                tx,
                ids,
                name,
                id,
                claim.as_deref(),
                output.clone(),
                follow_ups,
            )?;
            Written::Completed(job, added)
        }
        Write::Fail {
            id,
            claim,
            reason,
            options,
        } => {
            let (job, outcome) = fail_in(tx, name, id, claim.as_deref(), reason, *options)?;
            Written::Failed(job, outcome)
        }
        Write::Extend { id, claim, by } => {
            Written::Job(extend_in(tx, name, id, claim.as_deref(), *by)?)
        }
        Write::Release { id, claim } => Written::Job(release_in(tx, name, id, claim.as_deref())?),
        Write::Retry { id } => one(replay_in(tx, name, std::slice::from_ref(id))?, name, id)?,
        Write::Cancel { id } => one(cancel_in(tx, name, std::slice::from_ref(id))?, name, id)?,
        Write::Claim(req) => {
            let (jobs, expired) = claim_in(tx, ids, req)?;
            Written::Claimed(jobs, expired)
        }
        Write::Settings { queue, change } => {
            let mut settings = tx.settings(queue)?;
            change.apply(&mut settings);
            tx.write_settings(queue, &settings)?;
            Written::Settings(settings)
        }
    })
}

/// The job a write acts on by id.
/// Refuses a write that reaches outside `scope`. A job elsewhere is not there, and is not
/// locked either: a caller holding another tenant's job id must not be able to hold that
/// job up, or time how long it waits for it. The HTTP layer checks queues named in a
/// request before it gets here; this checks again where the write happens.
fn check_scope(tx: &mut dyn Tx, name: &str, scope: &Scope, write: &Write) -> Result<()> {
    if let Some(id) = job_id(write) {
        return match tx.queue_of(id)? {
            Some(queue) if scope(&queue) => Ok(()),
            _ => Err(no_such_job(name, id)),
        };
    }
    let queue = match write {
        Write::Enqueue(jobs) => jobs
            .iter()
            .map(|job| job.queue.as_str())
            .find(|q| !scope(q)),
        Write::Claim(req) => Some(req.queue.as_str()).filter(|q| !scope(q)),
        Write::Settings { queue, .. } => Some(queue.as_str()).filter(|q| !scope(q)),
        _ => None,
    };
    match queue {
        Some(queue) => {
            Err(Error::not_found(format!("queue {queue} is not one this caller reaches")).into())
        }
        None => Ok(()),
    }
}

fn job_id(write: &Write) -> Option<&str> {
    match write {
        Write::Complete { id, .. }
        | Write::Fail { id, .. }
        | Write::Extend { id, .. }
        | Write::Release { id, .. }
        | Write::Retry { id }
        | Write::Cancel { id } => Some(id),
        Write::Enqueue(_) | Write::Claim(_) | Write::Settings { .. } => None,
    }
}

/// The one job of a write on one id.
fn one(jobs: Vec<Job>, name: &str, id: &str) -> Result<Written> {
    jobs.into_iter()
        .next()
        .map(Written::Job)
        .ok_or_else(|| no_such_job(name, id))
}

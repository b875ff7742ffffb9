//! The single-job writes: enqueue (with dedup keys, groups and queue defaults), complete
//! (with follow-up jobs), fail, extend, renew, release and replay. Each loads the job,
//! applies a `lifecycle` transition and saves it, in one transaction.

use anyhow::Result;

use super::backend::{Deleted, Inserted, Seq, Stored, Tx};
use super::groups::{self, save};
use super::{no_such_job, Store};
use crate::error::{Error, Kind};
use crate::ids::IdGen;
use crate::job::{Backoff, Enqueued, Job, NewJob, Outcome, QueueSettings, Status};
use crate::lifecycle::{self, FailOptions};
use crate::time::Millis;

/// How often an insert draws a new id after a collision before giving up.
pub(super) const ID_ATTEMPTS: usize = 8;

impl Store {
    /// Adds jobs in one transaction: all of them or, on any error, none.
    pub fn enqueue(&mut self, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
        self.write(|tx, ids, _| enqueue_in(tx, ids, jobs))
    }

    /// Completes a job and enqueues `follow_ups`, all in one transaction: if any follow-up
    /// cannot be added, the job stays as it was.
    pub fn complete(
        &mut self,
        id: &str,
        claim: Option<&str>,
        output: Option<String>,
        follow_ups: &[NewJob],
    ) -> Result<(Job, Vec<Enqueued>)> {
        let name = self.name().to_string();
        self.write(|tx, ids, _| complete_in(tx, ids, &name, id, claim, output.clone(), follow_ups))
    }

    pub fn fail(
        &mut self,
        id: &str,
        claim: Option<&str>,
        reason: &str,
        options: FailOptions,
    ) -> Result<(Job, Outcome)> {
        let name = self.name().to_string();
        self.write(|tx, _, _| fail_in(tx, &name, id, claim, reason, options))
    }

    pub fn extend(&mut self, id: &str, claim: Option<&str>, by: Millis) -> Result<Job> {
        let name = self.name().to_string();
        self.write(|tx, _, _| extend_in(tx, &name, id, claim, by))
    }

    /// Keeps a claim alive for at least `lease` from now.
    pub fn renew(&mut self, id: &str, claim: Option<&str>, lease: Millis) -> Result<Job> {
        let name = self.name().to_string();
        self.write(|tx, _, _| {
            transition_in(tx, &name, id, |job, now| {
                lifecycle::renew(job, claim, now + lease, now)
            })
            .map(|(job, ())| job)
        })
    }

    /// Gives a claimed job back to pending without counting an attempt.
    pub fn release(&mut self, id: &str, claim: Option<&str>) -> Result<Job> {
        let name = self.name().to_string();
        self.write(|tx, _, _| release_in(tx, &name, id, claim))
    }

    /// Brings dead (or done) jobs back to pending with a fresh attempt budget, all or none.
    pub fn replay(&mut self, ids: &[String]) -> Result<Vec<Job>> {
        let name = self.name().to_string();
        self.write(|tx, _, _| replay_in(tx, &name, ids))
    }

    /// Brings every dead (or done) job of a queue back to pending, in enqueue order. Of
    /// several jobs sharing a dedup key, only the first comes back; the others are counted
    /// as skipped and stay as they are.
    pub fn replay_queue(&mut self, queue: &str, status: Status) -> Result<(Vec<Job>, usize)> {
        self.write(|tx, _, _| {
            let rows = tx.finished_jobs(queue, status)?;
            let now = tx.now();
            let (mut replayed, mut skipped) = (Vec::with_capacity(rows.len()), 0);
            for (seq, mut job) in rows {
                match replay_one(tx, seq, &mut job, now) {
                    Ok(()) => replayed.push(job),
                    Err(e) if is_conflict(&e) => skipped += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok((replayed, skipped))
        })
    }

    /// Takes pending jobs out for good, all or none: deleted, so their keys are free and
    /// `get` no longer finds them. A claimed, done or dead job refuses (a conflict).
    pub fn cancel(&mut self, ids: &[String]) -> Result<Vec<Job>> {
        let name = self.name().to_string();
        self.write(|tx, _, _| cancel_in(tx, &name, ids))
    }
}

/// [`Store::enqueue`] inside a transaction.
pub(super) fn enqueue_in(
    tx: &mut dyn Tx,
    ids: &mut IdGen,
    jobs: &[NewJob],
) -> Result<Vec<Enqueued>> {
    let mut defaults = Defaults::default();
    jobs.iter()
        .map(|new| insert(tx, ids, &mut defaults, new))
        .collect()
}

/// [`Store::complete`] inside a transaction; `name` names the database in errors.
pub(super) fn complete_in(
    tx: &mut dyn Tx,
    ids: &mut IdGen,
    name: &str,
    id: &str,
    claim: Option<&str>,
    output: Option<String>,
    follow_ups: &[NewJob],
) -> Result<(Job, Vec<Enqueued>)> {
    let (seq, mut job) = tx.load(id)?.ok_or_else(|| no_such_job(name, id))?;
    let now = tx.now();
    lifecycle::complete(&mut job, claim, output, now)?;
    save(tx, seq, &job, now)?;
    let added = enqueue_in(tx, ids, follow_ups)?;
    Ok((job, added))
}

pub(super) fn fail_in(
    tx: &mut dyn Tx,
    name: &str,
    id: &str,
    claim: Option<&str>,
    reason: &str,
    options: FailOptions,
) -> Result<(Job, Outcome)> {
    transition_in(tx, name, id, |job, now| {
        lifecycle::fail(job, claim, reason, options, now)
    })
}

pub(super) fn extend_in(
    tx: &mut dyn Tx,
    name: &str,
    id: &str,
    claim: Option<&str>,
    by: Millis,
) -> Result<Job> {
    transition_in(tx, name, id, |job, now| {
        lifecycle::extend(job, claim, by, now)
    })
    .map(|(job, ())| job)
}

pub(super) fn release_in(
    tx: &mut dyn Tx,
    name: &str,
    id: &str,
    claim: Option<&str>,
) -> Result<Job> {
    transition_in(tx, name, id, |job, now| lifecycle::release(job, claim, now)).map(|(job, ())| job)
}

/// [`Store::replay`] inside a transaction.
pub(super) fn replay_in(tx: &mut dyn Tx, name: &str, ids: &[String]) -> Result<Vec<Job>> {
    let mut jobs = Vec::with_capacity(ids.len());
    for id in ids {
        jobs.push(tx.load(id)?.ok_or_else(|| no_such_job(name, id))?);
    }
    let now = tx.now();
    // In enqueue order, whatever order the ids came in: a group's jobs keep theirs.
    jobs.sort_by_key(|(seq, _)| *seq);
    jobs.dedup_by_key(|(seq, _)| *seq);
    for (seq, job) in &mut jobs {
        replay_one(tx, *seq, job, now)?;
    }
    Ok(jobs.into_iter().map(|(_, job)| job).collect())
}

/// [`Store::cancel`] inside a transaction.
pub(super) fn cancel_in(tx: &mut dyn Tx, name: &str, ids: &[String]) -> Result<Vec<Job>> {
    let mut jobs = Vec::with_capacity(ids.len());
    for id in ids {
        jobs.push(tx.load(id)?.ok_or_else(|| no_such_job(name, id))?);
    }
    jobs.sort_by_key(|(seq, _)| *seq);
    jobs.dedup_by_key(|(seq, _)| *seq);
    for (_, job) in &jobs {
        lifecycle::check_cancel(job)?;
    }
    let mut deleted = Vec::with_capacity(jobs.len());
    for (seq, job) in &jobs {
        tx.delete(*seq)?;
        deleted.push(Deleted {
            queue: job.queue.clone(),
            group: job.group.clone(),
            // A pending job of a group is its live one or waits behind it: either
            // way the group is looked at again once all are gone.
            stored: Stored::Pending,
        });
    }
    // Only once all are gone, so cancelling a group's head and its next job together
    // lets the one after them go.
    let now = tx.now();
    groups::advance_after_delete(tx, &deleted, now)?;
    Ok(jobs.into_iter().map(|(_, job)| job).collect())
}

/// Loads one job, applies `change`, and saves it, inside the caller's transaction.
fn transition_in<T>(
    tx: &mut dyn Tx,
    name: &str,
    id: &str,
    change: impl FnOnce(&mut Job, Millis) -> Result<T, Error>,
) -> Result<(Job, T)> {
    let (seq, mut job) = tx.load(id)?.ok_or_else(|| no_such_job(name, id))?;
    let now = tx.now();
    let result = change(&mut job, now)?;
    save(tx, seq, &job, now)?;
    Ok((job, result))
}

fn is_conflict(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Error>()
        .is_some_and(|e| e.kind == Kind::Conflict)
}

/// Brings one job back, refusing it (as a conflict) when its key is taken meanwhile.
fn replay_one(tx: &mut dyn Tx, seq: Seq, job: &mut Job, now: Millis) -> Result<()> {
    lifecycle::replay(job, now)?;
    if let Some(key) = job.key.as_deref() {
        if let Some(other) = tx.unfinished_with_key(&job.queue, key)? {
            return Err(Error::conflict(format!(
                "cannot retry {}: {} has its key '{key}' and is not finished",
                job.id, other.id
            ))
            .into());
        }
    }
    save(tx, seq, job, now)
}

/// Queue settings read once per queue within one transaction, not once per job: a batch
/// of a hundred thousand jobs asks once.
#[derive(Default)]
pub(super) struct Defaults {
    last: Option<(String, QueueSettings)>,
}

impl Defaults {
    /// The retries and backoff of a job like `new`: its own, or else its queue's.
    pub(super) fn fill_in(
        &mut self,
        tx: &mut dyn Tx,
        new: &NewJob,
    ) -> Result<(u32, Option<Backoff>)> {
        let settings = self.for_queue(tx, &new.queue)?;
        let backoff = new
            .backoff
            .or(settings.backoff_ms.map(|base| Backoff { base, max: None }));
        Ok((
            new.max_retries.or(settings.max_retries).unwrap_or(0),
            backoff,
        ))
    }

    fn for_queue(&mut self, tx: &mut dyn Tx, queue: &str) -> Result<QueueSettings> {
        match &self.last {
            Some((q, settings)) if q == queue => Ok(settings.clone()),
            _ => {
                let settings = tx.settings(queue)?;
                self.last = Some((queue.to_string(), settings.clone()));
                Ok(settings)
            }
        }
    }
}

/// Adds one job, or returns the unfinished job that already has its key.
pub(super) fn insert(
    tx: &mut dyn Tx,
    ids: &mut IdGen,
    defaults: &mut Defaults,
    new: &NewJob,
) -> Result<Enqueued> {
    let (max_retries, backoff) = defaults.fill_in(tx, new)?;
    // A key freed between the look and the insert (its job finished in another
    // transaction) sends the insert round again; a collision of random ids draws another.
    for _ in 0..ID_ATTEMPTS {
        if let Some(key) = new.key.as_deref() {
            if let Some(job) = tx.unfinished_with_key(&new.queue, key)? {
                return Ok(Enqueued {
                    job,
                    deduplicated: true,
                });
            }
        }
        let behind_group = match &new.group {
            Some(group) => {
                tx.lock_group(&new.queue, group)?;
                groups::is_busy(tx, &new.queue, group)?
            }
            None => false,
        };
        let now = tx.now();
        let job = new_job(ids.job_id(now), new, max_retries, backoff, now);
        let stored = Stored::for_pending(&job, behind_group, now);
        match tx.insert(&job, stored)? {
            Inserted::Added(_) => {
                return Ok(Enqueued {
                    job,
                    deduplicated: false,
                })
            }
            Inserted::IdTaken => ids.skip_ahead(),
            Inserted::KeyTaken => {}
        }
    }
    Err(anyhow::anyhow!(
        "cannot enqueue into {}: no free job id after {ID_ATTEMPTS} tries",
        new.queue
    ))
}

pub(super) fn new_job(
    id: String,
    new: &NewJob,
    max_retries: u32,
    backoff: Option<Backoff>,
    now: Millis,
) -> Job {
    Job {
        id,
        queue: new.queue.clone(),
        job_type: new.job_type.clone(),
        payload: new.payload.clone(),
        priority: new.priority,
        status: Status::Pending,
        attempt_count: 0,
        max_retries,
        backoff,
        group: new.group.clone(),
        key: new.key.clone(),
        worker: None,
        claim: None,
        claim_lapsed: false,
        visible_after: Some(new.visible.resolve(now)),
        output: None,
        errors: Vec::new(),
        created_at: now,
        updated_at: now,
        finished_at: None,
    }
}

//! The single-job writes: enqueue (with dedup keys, groups and queue defaults), complete
//! (with follow-up jobs), fail, extend, renew, release and replay. Each loads the job,
//! applies a `lifecycle` transition and saves it, in one transaction.

use std::sync::LazyLock;

use anyhow::Result;
use rusqlite::{params, ErrorCode, OptionalExtension, Statement, Transaction};

use super::rows::{job_from_row, load, pending_status, save, JOB_COLUMNS};
use super::{groups, no_such_job, settings, Store};
use crate::error::Error;
use crate::ids::IdGen;
use crate::job::{Backoff, Enqueued, Job, NewJob, Outcome, QueueSettings, Status};
use crate::lifecycle::{self, FailOptions};
use crate::time::Millis;

impl Store {
    /// Adds jobs in one transaction: all of them or, on any error, none.
    pub fn enqueue(&mut self, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
        self.write(|tx, ids, now| {
            let mut defaults = Defaults::default();
            jobs.iter()
                .map(|new| insert(tx, ids, &mut defaults, new, now))
                .collect()
        })
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
        let missing = no_such_job(&self.path, id);
        self.write(|tx, ids, now| {
            let (seq, mut job) = load(tx, id)?.ok_or(missing)?;
            lifecycle::complete(&mut job, claim, output, now)?;
            save(tx, seq, &job, now)?;
            let mut defaults = Defaults::default();
            let added = follow_ups
                .iter()
                .map(|new| insert(tx, ids, &mut defaults, new, now))
                .collect::<Result<Vec<_>>>()?;
            Ok((job, added))
        })
    }

    pub fn fail(
        &mut self,
        id: &str,
        claim: Option<&str>,
        reason: &str,
        options: FailOptions,
    ) -> Result<(Job, Outcome)> {
        self.transition_with(id, |job, now| {
            lifecycle::fail(job, claim, reason, options, now)
        })
    }

    pub fn extend(&mut self, id: &str, claim: Option<&str>, by: Millis) -> Result<Job> {
        self.transition(id, |job, now| lifecycle::extend(job, claim, by, now))
    }

    /// Keeps a claim alive for at least `lease` from now.
    pub fn renew(&mut self, id: &str, claim: Option<&str>, lease: Millis) -> Result<Job> {
        self.transition(id, |job, now| {
            lifecycle::renew(job, claim, now + lease, now)
        })
    }

    /// Gives a claimed job back to pending without counting an attempt.
    pub fn release(&mut self, id: &str, claim: Option<&str>) -> Result<Job> {
        self.transition(id, |job, now| lifecycle::release(job, claim, now))
    }

    /// Brings dead (or done) jobs back to pending with a fresh attempt budget, all or none.
    pub fn replay(&mut self, ids: &[String]) -> Result<Vec<Job>> {
        let path = self.path.clone();
        self.write(|tx, _, now| {
            let mut jobs = Vec::with_capacity(ids.len());
            for id in ids {
                jobs.push(load(tx, id)?.ok_or_else(|| no_such_job(&path, id))?);
            }
            // In enqueue order, whatever order the ids came in: a group's jobs keep theirs.
            jobs.sort_by_key(|(seq, _)| *seq);
            jobs.dedup_by_key(|(seq, _)| *seq);
            for (seq, job) in &mut jobs {
                replay_one(tx, *seq, job, now)?;
            }
            Ok(jobs.into_iter().map(|(_, job)| job).collect())
        })
    }

    /// Brings every dead (or done) job of a queue back to pending, in enqueue order. Of
    /// several jobs sharing a dedup key, only the first comes back; the others are counted
    /// as skipped and stay as they are.
    pub fn replay_queue(&mut self, queue: &str, status: Status) -> Result<(Vec<Job>, usize)> {
        self.write(|tx, _, now| {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 AND status = ?2 ORDER BY seq"
            );
            let rows: Vec<(i64, Job)> = tx
                .prepare_cached(&sql)?
                .query_map(params![queue, status.as_str()], job_from_row)?
                .collect::<rusqlite::Result<_>>()?;
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

    /// Loads one job, applies `change`, and saves it, all under the write lock.
    fn transition(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut Job, Millis) -> Result<(), Error>,
    ) -> Result<Job> {
        self.transition_with(id, change).map(|(job, ())| job)
    }

    /// [`Store::transition`] for a change that also says what it did.
    fn transition_with<T>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut Job, Millis) -> Result<T, Error>,
    ) -> Result<(Job, T)> {
        let missing = no_such_job(&self.path, id);
        self.write(|tx, _, now| {
            let (seq, mut job) = load(tx, id)?.ok_or(missing)?;
            let result = change(&mut job, now)?;
            save(tx, seq, &job, now)?;
            Ok((job, result))
        })
    }
}

fn is_conflict(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Error>()
        .is_some_and(|e| e.kind == crate::error::Kind::Conflict)
}

/// Brings one job back, refusing it (as a conflict) when its key is taken meanwhile.
fn replay_one(tx: &Transaction, seq: i64, job: &mut Job, now: Millis) -> Result<()> {
    lifecycle::replay(job, now)?;
    if let Some((_, other)) = unfinished_with_key(tx, &job.queue, job.key.as_deref())? {
        return Err(Error::conflict(format!(
            "cannot retry {}: {} has its key '{}' and is not finished",
            job.id,
            other.id,
            job.key.as_deref().unwrap_or_default()
        ))
        .into());
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
    fn for_queue(&mut self, tx: &Transaction, queue: &str) -> Result<&QueueSettings> {
        if self.last.as_ref().is_none_or(|(q, _)| q != queue) {
            self.last = Some((queue.to_string(), settings::read(tx, queue)?));
        }
        Ok(&self.last.as_ref().expect("just filled").1)
    }
}

/// Adds one job, or returns the unfinished job that already has its key.
fn insert(
    tx: &Transaction,
    ids: &mut IdGen,
    defaults: &mut Defaults,
    new: &NewJob,
    now: Millis,
) -> Result<Enqueued> {
    if let Some((_, job)) = unfinished_with_key(tx, &new.queue, new.key.as_deref())? {
        return Ok(Enqueued {
            job,
            deduplicated: true,
        });
    }
    let mut job = prototype(tx, defaults, new, now)?;
    let behind_group = match &new.group {
        Some(group) => groups::is_busy(tx, &new.queue, group)?,
        None => false,
    };
    let mut stmt = tx.prepare_cached(&INSERT_ONE)?;
    bind_shared(
        &mut stmt,
        &job,
        pending_status(&job, behind_group, now),
        now,
    )?;
    stmt.raw_bind_parameter(row_params(0).1, &new.payload)?;
    (job.id, _) = insert_rows(tx, &mut stmt, 1, ids, now)?;
    job.payload = new.payload.clone();
    Ok(Enqueued {
        job,
        deduplicated: false,
    })
}

/// Parameters that every row of [`insert_sql`] shares, bound by [`bind_shared`].
const SHARED_PARAMS: usize = 11;
/// The shared parameter holding the stored status.
pub(super) const STATUS_PARAM: usize = 4;

/// An INSERT of one job.
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| insert_sql(1));

/// An INSERT of `rows` jobs that share every setting: `?1`–`?11` as [`bind_shared`] binds
/// them, then each row's id and payload (see [`row_params`]).
pub(super) fn insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|k| {
            let (id, payload) = row_params(k);
            format!("(?{id}, ?1, ?2, ?{payload}, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)")
        })
        .collect();
    format!(
        "INSERT INTO jobs (id, queue, type, payload, priority, status, max_retries, \
         backoff_ms, backoff_max_ms, job_group, dedup_key, visible_after, created_at, \
         updated_at) VALUES {}",
        values.join(", ")
    )
}

/// The parameters of the id and the payload of row `k` (from 0) in [`insert_sql`].
pub(super) fn row_params(k: usize) -> (usize, usize) {
    (SHARED_PARAMS + 1 + 2 * k, SHARED_PARAMS + 2 + 2 * k)
}

/// The job `new` becomes, with its queue's defaults filled in; its id and payload are left
/// empty, for the insert to fill.
pub(super) fn prototype(
    tx: &Transaction,
    defaults: &mut Defaults,
    new: &NewJob,
    now: Millis,
) -> Result<Job> {
    let defaults = defaults.for_queue(tx, &new.queue)?;
    let backoff = new
        .backoff
        .or(defaults.backoff_ms.map(|base| Backoff { base, max: None }));
    let max_retries = new.max_retries.or(defaults.max_retries).unwrap_or(0);
    Ok(new_job(new, max_retries, backoff, now))
}

/// Binds the parameters every row of an [`insert_sql`] statement shares. They stay bound
/// while a batch binds each row's id and payload.
pub(super) fn bind_shared(
    stmt: &mut Statement,
    job: &Job,
    status: &'static str,
    now: Millis,
) -> Result<()> {
    stmt.raw_bind_parameter(1, &job.queue)?;
    stmt.raw_bind_parameter(2, &job.job_type)?;
    stmt.raw_bind_parameter(3, job.priority)?;
    stmt.raw_bind_parameter(STATUS_PARAM, status)?;
    stmt.raw_bind_parameter(5, job.max_retries)?;
    stmt.raw_bind_parameter(6, job.backoff.map(|b| b.base))?;
    stmt.raw_bind_parameter(7, job.backoff.and_then(|b| b.max))?;
    stmt.raw_bind_parameter(8, &job.group)?;
    stmt.raw_bind_parameter(9, &job.key)?;
    stmt.raw_bind_parameter(10, job.visible_after)?;
    stmt.raw_bind_parameter(11, now)?;
    Ok(())
}

/// Runs an [`insert_sql`] statement of `rows` jobs, bound but for their ids, with new ids;
/// on the rare clash with an id already taken the statement adds nothing, and it runs
/// again with others. Returns the last id and the last new row's `seq`: SQLite numbers the
/// rows of one statement one after the other.
pub(super) fn insert_rows(
    tx: &Transaction,
    stmt: &mut Statement,
    rows: usize,
    ids: &mut IdGen,
    now: Millis,
) -> Result<(String, i64)> {
    let mut attempts = 0;
    loop {
        let mut id = String::new();
        for k in 0..rows {
            id = ids.job_id(now);
            stmt.raw_bind_parameter(row_params(k).0, &id)?;
        }
        match stmt.raw_execute() {
            Ok(_) => return Ok((id, tx.last_insert_rowid())),
            Err(e) if is_id_clash(&e) && attempts < 8 => {
                attempts += 1;
                ids.skip_ahead();
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The unfinished job of the queue that has the new job's key, if it has one, with its
/// `seq`.
pub(super) fn unfinished_with_key(
    tx: &Transaction,
    queue: &str,
    key: Option<&str>,
) -> Result<Option<(i64, Job)>> {
    let Some(key) = key else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 AND dedup_key = ?2 \
         AND status IN ('queued', 'scheduled', 'pending', 'claimed')"
    );
    Ok(tx
        .prepare_cached(&sql)?
        .query_row(params![queue, key], job_from_row)
        .optional()?)
}

/// Whether an insert failed only because its random id is already taken.
fn is_id_clash(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(message))
        if f.code == ErrorCode::ConstraintViolation && message.contains("jobs.id"))
}

/// A new job as it is stored, without its id and payload yet.
fn new_job(new: &NewJob, max_retries: u32, backoff: Option<Backoff>, now: Millis) -> Job {
    Job {
        id: String::new(),
        queue: new.queue.clone(),
        job_type: new.job_type.clone(),
        payload: String::new(),
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

//! Rows in and out of the `jobs` table, and the single-job writes: enqueue, complete, fail
//! and extend. Each write loads the job, applies a `lifecycle` transition and saves it.

use anyhow::Result;
use rusqlite::{params, ErrorCode, OptionalExtension, Row, Transaction};

use super::Store;
use crate::error::Error;
use crate::ids::IdGen;
use crate::job::{Job, NewJob, Outcome, Status};
use crate::lifecycle;
use crate::time::Millis;

/// The columns [`job_from_row`] reads, in its order, after `seq`.
pub(super) const JOB_COLUMNS: &str = "seq, id, queue, type, payload, priority, status, \
    attempt_count, max_retries, worker, claim, claim_lapsed, visible_after, output, errors, \
    created_at, updated_at, finished_at";

/// Builds a job from a row selected with [`JOB_COLUMNS`]; also returns its `seq`.
pub(super) fn job_from_row(row: &Row) -> rusqlite::Result<(i64, Job)> {
    let status: String = row.get(6)?;
    let errors: String = row.get(14)?;
    let job = Job {
        id: row.get(1)?,
        queue: row.get(2)?,
        job_type: row.get(3)?,
        payload: row.get(4)?,
        priority: row.get(5)?,
        status: status_from_db(&status).map_err(|e| conversion_error(6, e))?,
        attempt_count: row.get(7)?,
        max_retries: row.get(8)?,
        worker: row.get(9)?,
        claim: row.get(10)?,
        claim_lapsed: row.get(11)?,
        visible_after: row.get(12)?,
        output: row.get(13)?,
        errors: serde_json::from_str(&errors).map_err(|e| conversion_error(14, e.to_string()))?,
        created_at: row.get(15)?,
        updated_at: row.get(16)?,
        finished_at: row.get(17)?,
    };
    Ok((row.get(0)?, job))
}

/// The stored status as users see it: a scheduled job is pending that is not visible yet.
pub(super) fn status_from_db(s: &str) -> Result<Status, String> {
    match s {
        "scheduled" => Ok(Status::Pending),
        other => Status::parse(other),
    }
}

/// The status to store: pending jobs that are not visible yet are kept apart as scheduled,
/// so the claim index holds only jobs that can be claimed now.
fn status_to_db(job: &Job, now: Millis) -> &'static str {
    match (job.status, job.visible_after) {
        (Status::Pending, Some(visible)) if visible > now => "scheduled",
        (status, _) => status.as_str(),
    }
}

fn conversion_error(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

/// Loads a job by id inside a write transaction; `None` if there is no such job.
pub(super) fn load(tx: &Transaction, id: &str) -> Result<Option<(i64, Job)>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
    Ok(tx
        .prepare_cached(&sql)?
        .query_row([id], job_from_row)
        .optional()?)
}

/// Writes back every column a transition may change.
pub(super) fn save(tx: &Transaction, seq: i64, job: &Job, now: Millis) -> Result<()> {
    let errors = serde_json::to_string(&job.errors)?;
    tx.prepare_cached(
        "UPDATE jobs SET status = ?1, attempt_count = ?2, worker = ?3, claim = ?4, \
         claim_lapsed = ?5, visible_after = ?6, output = ?7, errors = ?8, updated_at = ?9, \
         finished_at = ?10 WHERE seq = ?11",
    )?
    .execute(params![
        status_to_db(job, now),
        job.attempt_count,
        job.worker,
        job.claim,
        job.claim_lapsed,
        job.visible_after,
        job.output,
        errors,
        job.updated_at,
        job.finished_at,
        seq
    ])?;
    Ok(())
}

impl Store {
    /// Adds jobs in one transaction: all of them or, on any error, none.
    pub fn enqueue(&mut self, jobs: &[NewJob]) -> Result<Vec<Job>> {
        self.write(|tx, ids, now| jobs.iter().map(|new| insert(tx, ids, new, now)).collect())
    }

    pub fn complete(
        &mut self,
        id: &str,
        claim: Option<&str>,
        output: Option<String>,
    ) -> Result<Job> {
        self.transition(id, |job, now| lifecycle::complete(job, claim, output, now))
    }

    pub fn fail(
        &mut self,
        id: &str,
        claim: Option<&str>,
        reason: &str,
        force_dead: bool,
    ) -> Result<(Job, Outcome)> {
        let mut outcome = Outcome::Dead;
        let job = self.transition(id, |job, now| {
            outcome = lifecycle::fail(job, claim, reason, force_dead, now)?;
            Ok(())
        })?;
        Ok((job, outcome))
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

    /// Loads one job, applies `change`, and saves it, all under the write lock.
    fn transition(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut Job, Millis) -> Result<(), Error>,
    ) -> Result<Job> {
        let missing = self.no_such_job(id);
        self.write(|tx, _, now| {
            let (seq, mut job) = load(tx, id)?.ok_or(missing)?;
            change(&mut job, now)?;
            save(tx, seq, &job, now)?;
            Ok(job)
        })
    }
}

/// Inserts one job, drawing a fresh id in the rare case the random one is taken.
fn insert(tx: &Transaction, ids: &mut IdGen, new: &NewJob, now: Millis) -> Result<Job> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO jobs (id, queue, type, payload, priority, status, max_retries, \
         visible_after, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?;
    let mut attempts = 0;
    loop {
        let job = new_job(ids.job_id(), new, now);
        let result = stmt.execute(params![
            job.id,
            job.queue,
            job.job_type,
            job.payload,
            job.priority,
            status_to_db(&job, now),
            job.max_retries,
            job.visible_after,
            now
        ]);
        match result {
            Ok(_) => return Ok(job),
            Err(e) if is_id_clash(&e) && attempts < 8 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether an insert failed only because its random id is already taken.
fn is_id_clash(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(message))
        if f.code == ErrorCode::ConstraintViolation && message.contains("jobs.id"))
}

fn new_job(id: String, new: &NewJob, now: Millis) -> Job {
    Job {
        id,
        queue: new.queue.clone(),
        job_type: new.job_type.clone(),
        payload: new.payload.clone(),
        priority: new.priority,
        status: Status::Pending,
        attempt_count: 0,
        max_retries: new.max_retries,
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

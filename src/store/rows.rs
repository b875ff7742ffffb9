//! Jobs in and out of the `jobs` table: the column list, row decoding, and saving a job
//! after a transition, with the stored status it belongs in.

use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::groups;
use crate::job::{Backoff, Job, Status};
use crate::time::Millis;

/// The columns [`job_from_row`] reads, in its order.
pub(super) const JOB_COLUMNS: &str = "seq, id, queue, type, payload, priority, status, \
    attempt_count, max_retries, worker, claim, claim_lapsed, visible_after, output, errors, \
    created_at, updated_at, finished_at, backoff_ms, backoff_max_ms, job_group, dedup_key";

/// Builds a job from a row selected with [`JOB_COLUMNS`]; also returns its `seq`.
pub(super) fn job_from_row(row: &Row) -> rusqlite::Result<(i64, Job)> {
    let status: String = row.get(6)?;
    let errors: String = row.get(14)?;
    let backoff_ms: Option<Millis> = row.get(18)?;
    let backoff_max_ms: Option<Millis> = row.get(19)?;
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
        backoff: backoff_ms.map(|base| Backoff {
            base,
            max: backoff_max_ms,
        }),
        group: row.get(20)?,
        key: row.get(21)?,
    };
    Ok((row.get(0)?, job))
}

/// The stored status as users see it: scheduled and queued jobs are pending.
pub(super) fn status_from_db(s: &str) -> Result<Status, String> {
    match s {
        "scheduled" | "queued" => Ok(Status::Pending),
        other => Status::parse(other),
    }
}

/// Where a pending job is stored: `queued` behind an earlier job of its group, `scheduled`
/// until it is visible, `pending` once it can be claimed.
pub(super) fn pending_status(job: &Job, behind_group: bool, now: Millis) -> &'static str {
    match job.visible_after {
        _ if behind_group => "queued",
        Some(visible) if visible > now => "scheduled",
        _ => "pending",
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

/// Writes back every column a transition may change. A pending job of a group waits behind
/// the group's live job, if another is live; a job that finishes lets the next one of its
/// group go.
pub(super) fn save(tx: &Transaction, seq: i64, job: &Job, now: Millis) -> Result<()> {
    let status = match job.status {
        Status::Pending => {
            let behind = match &job.group {
                Some(group) => groups::other_live(tx, &job.queue, group, seq)?,
                None => false,
            };
            pending_status(job, behind, now)
        }
        other => other.as_str(),
    };
    let errors = serde_json::to_string(&job.errors)?;
    tx.prepare_cached(
        "UPDATE jobs SET status = ?1, attempt_count = ?2, worker = ?3, claim = ?4, \
         claim_lapsed = ?5, visible_after = ?6, output = ?7, errors = ?8, updated_at = ?9, \
         finished_at = ?10 WHERE seq = ?11",
    )?
    .execute(params![
        status,
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
    if let (Some(group), Status::Done | Status::Dead) = (&job.group, job.status) {
        groups::advance(tx, &job.queue, group, now)?;
    }
    Ok(())
}

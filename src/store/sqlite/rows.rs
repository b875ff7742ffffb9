//! Jobs in and out of the `jobs` table: the column list and row decoding.

use rusqlite::Row;

use crate::job::{Backoff, Job};
use crate::store::backend::{Seq, Stored};
use crate::time::Millis;

/// The columns [`job_from_row`] reads, in its order.
pub(super) const JOB_COLUMNS: &str = "seq, id, queue, type, payload, priority, status, \
    attempt_count, max_retries, worker, claim, claim_lapsed, visible_after, output, errors, \
    created_at, updated_at, finished_at, backoff_ms, backoff_max_ms, job_group, dedup_key";

/// Builds a job from a row selected with [`JOB_COLUMNS`]; also returns its `seq`.
pub(super) fn job_from_row(row: &Row) -> rusqlite::Result<(Seq, Job)> {
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
        status: stored_from_db(&status)
            .map_err(|e| conversion_error(6, e))?
            .status(),
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

pub(super) fn stored_from_db(s: &str) -> Result<Stored, String> {
    Stored::parse(s)
}

pub(super) fn conversion_error(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

//! Ordered groups: jobs of one group run one at a time, in enqueue order. Only a group's
//! live job (its head) is ever pending, scheduled or claimed; the rest wait as `queued`,
//! out of the claim index, so a busy group costs other jobs nothing.

use anyhow::Result;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::time::Millis;

/// Whether a job of the group other than `seq` is live (pending, scheduled or claimed).
pub(super) fn other_live(tx: &Transaction, queue: &str, group: &str, seq: i64) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND job_group = ?2 \
             AND status IN ('scheduled', 'pending', 'claimed') AND seq <> ?3)",
        )?
        .query_row(params![queue, group, seq], |row| row.get(0))?)
}

/// Whether a new job of the group has to wait: some job of it is live or already waiting.
pub(super) fn is_busy(tx: &Transaction, queue: &str, group: &str) -> Result<bool> {
    let waiting: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND job_group = ?2 \
             AND status = 'queued')",
        )?
        .query_row(params![queue, group], |row| row.get(0))?;
    Ok(waiting || other_live(tx, queue, group, -1)?)
}

/// Lets the group's next waiting job go, once no job of the group is live.
pub(super) fn advance(tx: &Transaction, queue: &str, group: &str, now: Millis) -> Result<()> {
    if other_live(tx, queue, group, -1)? {
        return Ok(());
    }
    let next: Option<i64> = tx
        .prepare_cached(
            "SELECT seq FROM jobs WHERE queue = ?1 AND job_group = ?2 AND status = 'queued' \
             ORDER BY seq LIMIT 1",
        )?
        .query_row(params![queue, group], |row| row.get(0))
        .optional()?;
    if let Some(seq) = next {
        tx.prepare_cached(
            "UPDATE jobs SET status = CASE WHEN visible_after > ?2 THEN 'scheduled' \
             ELSE 'pending' END WHERE seq = ?1",
        )?
        .execute(params![seq, now])?;
    }
    Ok(())
}

/// After jobs were deleted in bulk: lets every group whose live job was deleted go on.
pub(super) fn advance_all(tx: &Transaction, now: Millis) -> Result<()> {
    tx.prepare_cached(
        "UPDATE jobs SET status = CASE WHEN visible_after > ?1 THEN 'scheduled' \
         ELSE 'pending' END \
         WHERE seq IN (SELECT MIN(w.seq) FROM jobs w WHERE w.status = 'queued' \
           GROUP BY w.queue, w.job_group \
           HAVING NOT EXISTS (SELECT 1 FROM jobs l WHERE l.queue = w.queue \
             AND l.job_group = w.job_group AND l.status IN ('scheduled', 'pending', 'claimed')))",
    )?
    .execute(params![now])?;
    Ok(())
}

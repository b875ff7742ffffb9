//! Moving jobs in and out in SQLite's SQL: `export`'s pages in enqueue order, and
//! `import`'s lookups and exact inserts. The import's transaction holds the write lock, so
//! each lookup is one cached statement per item: an index probe, no round trip.

use anyhow::Result;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, Transaction};

use super::rows::{conversion_error, job_from_row, stored_from_db, JOB_COLUMNS};
use crate::job::Job;
use crate::store::backend::{Holder, Seq, Stored};

/// One page of `export`: jobs after `after` in enqueue order, of `queues` (all if empty).
pub(super) fn export_page(
    conn: &Connection,
    queues: &[String],
    after: Seq,
    limit: u64,
) -> Result<Vec<(Seq, Stored, Job)>> {
    // The primary key in order; a queue filter is checked row by row on the way, so the
    // pages of a whole export read the table once between them.
    let filter = match queues.len() {
        0 => String::new(),
        n => format!("AND queue IN ({}) ", vec!["?"; n].join(", ")),
    };
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE seq > ? {filter}ORDER BY seq LIMIT ?");
    let mut values = vec![Value::Integer(after)];
    values.extend(queues.iter().map(|q| Value::Text(q.clone())));
    values.push(Value::Integer(limit.min(i64::MAX as u64) as i64));
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values.iter()), exported_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn exported_row(row: &Row) -> rusqlite::Result<(Seq, Stored, Job)> {
    let (seq, job) = job_from_row(row)?;
    let status: String = row.get(6)?;
    let stored = stored_from_db(&status).map_err(|e| conversion_error(6, e))?;
    Ok((seq, stored, job))
}

pub(super) fn last_seq(tx: &Transaction) -> Result<Seq> {
    Ok(tx
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM jobs")?
        .query_row([], |row| row.get(0))?)
}

pub(super) fn taken_ids(tx: &Transaction, ids: &[&str]) -> Result<Vec<(String, Seq)>> {
    let mut stmt = tx.prepare_cached("SELECT seq FROM jobs WHERE id = ?1")?;
    let mut taken = Vec::new();
    for id in ids {
        if let Some(seq) = stmt.query_row([id], |row| row.get(0)).optional()? {
            taken.push((id.to_string(), seq));
        }
    }
    Ok(taken)
}

pub(super) fn held_keys(tx: &Transaction, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
    holders(
        tx,
        "SELECT id, seq FROM jobs INDEXED BY jobs_dedup WHERE queue = ?1 AND dedup_key = ?2 \
         AND status IN ('queued', 'scheduled', 'pending', 'claimed')",
        pairs,
    )
}

/// The group's live job, found through `jobs_group_live`, named: left to choose, the
/// planner takes `jobs_queue_status` and walks every pending job of the queue, which in a
/// queue of a million is a million rows for each group looked up.
pub(super) fn live_groups(tx: &Transaction, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
    holders(
        tx,
        "SELECT id, seq FROM jobs INDEXED BY jobs_group_live WHERE queue = ?1 \
         AND job_group = ?2 AND status IN ('scheduled', 'pending', 'claimed') LIMIT 1",
        pairs,
    )
}

/// The job `sql` finds for each (queue, name) pair, where it finds one.
fn holders(tx: &Transaction, sql: &str, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
    let mut stmt = tx.prepare_cached(sql)?;
    let mut found = Vec::new();
    for (queue, name) in pairs {
        let holder = stmt
            .query_row([queue, name], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((id, seq)) = holder {
            found.push(Holder {
                queue: queue.to_string(),
                name: name.to_string(),
                id,
                seq,
            });
        }
    }
    Ok(found)
}

pub(super) fn insert_exact(tx: &Transaction, jobs: &[(Job, Stored)]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO jobs (id, queue, type, payload, priority, status, attempt_count, \
         max_retries, backoff_ms, backoff_max_ms, job_group, dedup_key, worker, claim, \
         claim_lapsed, visible_after, output, errors, created_at, updated_at, finished_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21)",
    )?;
    for (job, stored) in jobs {
        stmt.execute(params![
            job.id,
            job.queue,
            job.job_type,
            job.payload,
            job.priority,
            stored.as_str(),
            job.attempt_count,
            job.max_retries,
            job.backoff.map(|b| b.base),
            job.backoff.and_then(|b| b.max),
            job.group,
            job.key,
            job.worker,
            job.claim,
            job.claim_lapsed,
            job.visible_after,
            job.output,
            serde_json::to_string(&job.errors)?,
            job.created_at,
            job.updated_at,
            job.finished_at,
        ])?;
    }
    Ok(())
}

/// One pass over the jobs imported, each waiting one looking up its group's live job
/// through `jobs_group_live` (named, as in [`live_groups`]).
pub(super) fn stranded_group(tx: &Transaction, after: Seq) -> Result<Option<(String, String)>> {
    Ok(tx
        .prepare_cached(
            "SELECT queue, job_group FROM jobs AS waiting WHERE seq > ?1 AND status = 'queued' \
             AND NOT EXISTS (SELECT 1 FROM jobs AS live INDEXED BY jobs_group_live \
             WHERE live.queue = waiting.queue AND live.job_group = waiting.job_group \
             AND live.status IN ('scheduled', 'pending', 'claimed')) LIMIT 1",
        )?
        .query_row([after], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

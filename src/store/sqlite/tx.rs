//! The rules' transaction operations ([`Tx`]) in SQLite's SQL. The whole transaction holds
//! the write lock (`BEGIN IMMEDIATE`), so nothing here needs row or group locks.

use anyhow::{bail, Result};
use rusqlite::{params, params_from_iter, ErrorCode, OptionalExtension, Transaction};

use super::reads::{self, purge_conditions};
use super::rows::{conversion_error, job_from_row, stored_from_db, JOB_COLUMNS};
use super::serving;
use super::transfer;
use crate::job::{ClaimRequest, Job, PurgeFilter, QueueSettings, Status};
use crate::store::backend::{Deleted, Holder, Inserted, NewRow, Seq, Stored, Tx};
use crate::time::Millis;
use crate::tokens::Token;

pub struct SqliteTx<'a> {
    tx: &'a Transaction<'a>,
    /// Read once the write lock was held: nothing commits until this transaction ends.
    now: Millis,
    /// The `seq`s of the first and last rows [`Tx::insert_many`] added.
    added: Option<(Seq, Seq)>,
}

impl<'a> SqliteTx<'a> {
    pub fn new(tx: &'a Transaction<'a>, now: Millis) -> Self {
        SqliteTx {
            tx,
            now,
            added: None,
        }
    }

    /// The `seq`s of the first and last rows [`Tx::insert_many`] added. Every row between
    /// them is one of those: the transaction holds the write lock, and SQLite numbers new
    /// rows past the largest `seq` (see [`SqliteTx::record_added`]).
    pub fn added(&self) -> Option<(Seq, Seq)> {
        self.added
    }

    /// Notes rows `first..=last` as added.
    fn record_added(&mut self, first: Seq, last: Seq) -> Result<()> {
        match &mut self.added {
            None => self.added = Some((first, last)),
            // A new row gets the largest seq plus one until seq reaches i64::MAX, and a
            // random free one after that: checked, since reading the batch back relies on it.
            Some((_, prev)) if first > *prev => *prev = last,
            Some(_) => bail!("cannot add the batch: the table's row numbers ran out"),
        }
        Ok(())
    }
}

/// Parameters every row of [`insert_many_sql`] shares: `?1`–`?11`.
const SHARED_PARAMS: usize = 11;

/// An INSERT of `rows` jobs that share every setting: `?1`–`?11` the shared columns, then
/// each row's id and payload.
fn insert_many_sql(rows: usize) -> String {
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

/// The parameters of the id and the payload of row `k` (from 0) in [`insert_many_sql`].
fn row_params(k: usize) -> (usize, usize) {
    (SHARED_PARAMS + 1 + 2 * k, SHARED_PARAMS + 2 + 2 * k)
}

// The group queries name their index: without statistics SQLite's planner prefers
// `jobs_queue_status` for them, which walks every pending job of the queue, so each enqueue
// into a group and each group job finishing would cost O(jobs in the queue).

/// Whether a job of group `?2` of queue `?1` other than seq `?3` is live.
pub(super) const GROUP_HAS_LIVE: &str = "SELECT EXISTS (SELECT 1 FROM jobs \
    INDEXED BY jobs_group_live WHERE queue = ?1 AND job_group = ?2 \
    AND status IN ('scheduled', 'pending', 'claimed') AND seq <> ?3)";

/// Whether a job of group `?2` of queue `?1` waits behind its live job.
pub(super) const GROUP_HAS_QUEUED: &str = "SELECT EXISTS (SELECT 1 FROM jobs \
    INDEXED BY jobs_group_queued WHERE queue = ?1 AND job_group = ?2 AND status = 'queued')";

/// The first job waiting in group `?2` of queue `?1`.
pub(super) const GROUP_NEXT_QUEUED: &str = "SELECT seq, visible_after FROM jobs \
    INDEXED BY jobs_group_queued WHERE queue = ?1 AND job_group = ?2 AND status = 'queued' \
    ORDER BY seq LIMIT 1";

/// The claim query: `?1` queue, `?2` limit, `?3` job type when `typed`. It matches the
/// `jobs_ready` and `jobs_ready_by_type` indexes column for column, so it is an index walk,
/// not a sort.
pub(super) fn ready_sql(typed: bool) -> String {
    let type_filter = if typed { "AND type = ?3 " } else { "" };
    format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 {type_filter}AND status = 'pending' \
         ORDER BY priority DESC, seq LIMIT ?2"
    )
}

impl Tx for SqliteTx<'_> {
    fn now(&self) -> Millis {
        self.now
    }

    fn load(&mut self, id: &str) -> Result<Option<(Seq, Job)>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        Ok(self
            .tx
            .prepare_cached(&sql)?
            .query_row([id], job_from_row)
            .optional()?)
    }

    fn queue_of(&mut self, id: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached("SELECT queue FROM jobs WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?)
    }

    fn update(&mut self, seq: Seq, job: &Job, stored: Stored) -> Result<()> {
        let errors = serde_json::to_string(&job.errors)?;
        self.tx
            .prepare_cached(
                "UPDATE jobs SET status = ?1, attempt_count = ?2, worker = ?3, claim = ?4, \
                 claim_lapsed = ?5, visible_after = ?6, output = ?7, errors = ?8, \
                 updated_at = ?9, finished_at = ?10 WHERE seq = ?11",
            )?
            .execute(params![
                stored.as_str(),
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

    fn insert(&mut self, job: &Job, stored: Stored) -> Result<Inserted> {
        let result = self
            .tx
            .prepare_cached(
                "INSERT INTO jobs (id, queue, type, payload, priority, status, max_retries, \
                 backoff_ms, backoff_max_ms, job_group, dedup_key, visible_after, created_at, \
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
                 ?13)",
            )?
            .execute(params![
                job.id,
                job.queue,
                job.job_type,
                job.payload,
                job.priority,
                stored.as_str(),
                job.max_retries,
                job.backoff.map(|b| b.base),
                job.backoff.and_then(|b| b.max),
                job.group,
                job.key,
                job.visible_after,
                job.created_at
            ]);
        match result {
            Ok(_) => Ok(Inserted::Added(self.tx.last_insert_rowid())),
            Err(e) => match unique_violation(&e) {
                Some(Inserted::IdTaken) => Ok(Inserted::IdTaken),
                Some(Inserted::KeyTaken) => Ok(Inserted::KeyTaken),
                _ => Err(e.into()),
            },
        }
    }

    fn insert_many(&mut self, p: &Job, stored: Stored, rows: &[NewRow]) -> Result<Inserted> {
        if p.key.is_some() || rows.is_empty() {
            bail!("cannot add jobs with a key, or no jobs, many at a time");
        }
        // Cached by its text: a batch runs the same full-size statement over and over.
        let mut stmt = self.tx.prepare_cached(&insert_many_sql(rows.len()))?;
        stmt.raw_bind_parameter(1, &p.queue)?;
        stmt.raw_bind_parameter(2, &p.job_type)?;
        stmt.raw_bind_parameter(3, p.priority)?;
        stmt.raw_bind_parameter(4, stored.as_str())?;
        stmt.raw_bind_parameter(5, p.max_retries)?;
        stmt.raw_bind_parameter(6, p.backoff.map(|b| b.base))?;
        stmt.raw_bind_parameter(7, p.backoff.and_then(|b| b.max))?;
        stmt.raw_bind_parameter(8, &p.group)?;
        stmt.raw_bind_parameter(9, &p.key)?;
        stmt.raw_bind_parameter(10, p.visible_after)?;
        stmt.raw_bind_parameter(11, p.created_at)?;
        for (k, row) in rows.iter().enumerate() {
            let (id, payload) = row_params(k);
            stmt.raw_bind_parameter(id, &row.id)?;
            stmt.raw_bind_parameter(payload, &row.payload)?;
        }
        // A failing statement adds none of its rows: SQLite undoes it alone, and the
        // transaction goes on.
        match stmt.raw_execute() {
            Ok(_) => {
                // The rows of one statement are numbered one after the other.
                let last = self.tx.last_insert_rowid();
                let first = last - (rows.len() as i64 - 1);
                self.record_added(first, last)?;
                Ok(Inserted::Added(first))
            }
            Err(e) => match unique_violation(&e) {
                Some(Inserted::IdTaken) => Ok(Inserted::IdTaken),
                _ => Err(e.into()),
            },
        }
    }

    fn delete(&mut self, seq: Seq) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM jobs WHERE seq = ?1")?
            .execute([seq])?;
        Ok(())
    }

    fn unfinished_with_key(&mut self, queue: &str, key: &str) -> Result<Option<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 AND dedup_key = ?2 \
             AND status IN ('queued', 'scheduled', 'pending', 'claimed')"
        );
        Ok(self
            .tx
            .prepare_cached(&sql)?
            .query_row(params![queue, key], job_from_row)
            .optional()?
            .map(|(_, job)| job))
    }

    fn finished_jobs(&mut self, queue: &str, status: Status) -> Result<Vec<(Seq, Job)>> {
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 AND status = ?2 ORDER BY seq");
        let rows = self
            .tx
            .prepare_cached(&sql)?
            .query_map(
                params![queue, Stored::settled(status).as_str()],
                job_from_row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn last_seq(&mut self) -> Result<Seq> {
        transfer::last_seq(self.tx)
    }

    fn taken_ids(&mut self, ids: &[&str]) -> Result<Vec<(String, Seq)>> {
        transfer::taken_ids(self.tx, ids)
    }

    fn held_keys(&mut self, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
        transfer::held_keys(self.tx, pairs)
    }

    fn live_groups(&mut self, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
        transfer::live_groups(self.tx, pairs)
    }

    fn insert_exact(&mut self, jobs: &[(Job, Stored)]) -> Result<()> {
        transfer::insert_exact(self.tx, jobs)
    }

    fn stranded_group(&mut self, after: Seq) -> Result<Option<(String, String)>> {
        transfer::stranded_group(self.tx, after)
    }

    fn lock_group(&mut self, _queue: &str, _group: &str) -> Result<()> {
        Ok(())
    }

    fn group_has_live(&mut self, queue: &str, group: &str, except: Option<Seq>) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(GROUP_HAS_LIVE)?
            .query_row(params![queue, group, except.unwrap_or(-1)], |row| {
                row.get(0)
            })?)
    }

    fn group_has_queued(&mut self, queue: &str, group: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(GROUP_HAS_QUEUED)?
            .query_row(params![queue, group], |row| row.get(0))?)
    }

    fn group_next_queued(
        &mut self,
        queue: &str,
        group: &str,
    ) -> Result<Option<(Seq, Option<Millis>)>> {
        Ok(self
            .tx
            .prepare_cached(GROUP_NEXT_QUEUED)?
            .query_row(params![queue, group], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?)
    }

    fn set_stored(&mut self, seq: Seq, _queue: &str, stored: Stored) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE jobs SET status = ?2 WHERE seq = ?1")?
            .execute(params![seq, stored.as_str()])?;
        Ok(())
    }

    fn expired_claims(
        &mut self,
        queue: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<(Seq, Job)>> {
        // Two statements rather than `?2 IS NULL OR queue = ?2`, which would hide the queue
        // from the planner and cost the `jobs_claim_deadline` range scan.
        let sql = match queue {
            Some(_) => format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?3 AND status = 'claimed' \
                 AND visible_after <= ?1 LIMIT ?2"
            ),
            None => format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'claimed' AND visible_after <= ?1 \
                 LIMIT ?2"
            ),
        };
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let limit = limit as i64;
        let rows = match queue {
            Some(q) => stmt.query_map(params![now, limit, q], job_from_row)?,
            None => stmt.query_map(params![now, limit], job_from_row)?,
        };
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn promote_due(&mut self, queue: &str, now: Millis) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE jobs SET status = 'pending' \
                 WHERE queue = ?1 AND status = 'scheduled' AND visible_after <= ?2",
            )?
            .execute(params![queue, now])?;
        Ok(())
    }

    fn ready(&mut self, req: &ClaimRequest) -> Result<Vec<(Seq, Job)>> {
        let limit = req.count as i64;
        let mut stmt = self.tx.prepare_cached(&ready_sql(req.job_type.is_some()))?;
        let rows = match &req.job_type {
            None => stmt.query_map(params![req.queue, limit], job_from_row)?,
            Some(job_type) => stmt.query_map(params![req.queue, limit, job_type], job_from_row)?,
        };
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn settings(&mut self, queue: &str) -> Result<QueueSettings> {
        reads::settings(self.tx, queue)
    }

    fn write_settings(&mut self, queue: &str, s: &QueueSettings) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO queue_settings (queue, paused, timeout_ms, max_retries, backoff_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (queue) DO UPDATE SET paused = ?2, \
                 timeout_ms = ?3, max_retries = ?4, backoff_ms = ?5",
            )?
            .execute(params![
                queue,
                s.paused,
                s.timeout_ms,
                s.max_retries,
                s.backoff_ms
            ])?;
        Ok(())
    }

    fn purge_batch(&mut self, filter: &PurgeFilter, limit: usize) -> Result<Vec<Deleted>> {
        let cond = purge_conditions(filter);
        let sql = format!(
            "DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs {} LIMIT {limit}) \
             RETURNING queue, job_group, status",
            cond.clause()
        );
        let mut stmt = self.tx.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(cond.params.iter()), |row| {
            let status: String = row.get(2)?;
            Ok(Deleted {
                queue: row.get(0)?,
                group: row.get(1)?,
                stored: stored_from_db(&status).map_err(|e| conversion_error(2, e))?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn savepoint(&mut self) -> Result<()> {
        serving::savepoint(self.tx)
    }

    fn next_savepoint(&mut self) -> Result<()> {
        serving::next_savepoint(self.tx)
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        serving::rollback_to_savepoint(self.tx)
    }

    fn ended_to_retry(&self, _err: &anyhow::Error) -> bool {
        // A write transaction holds SQLite's one write lock: nothing can deadlock with it.
        false
    }

    fn insert_token(&mut self, token: &Token) -> Result<()> {
        serving::insert_token(self.tx, token)
    }

    fn revoke_token(&mut self, id: &str, at: Millis) -> Result<Option<Token>> {
        serving::revoke_token(self.tx, id, at)
    }
}

/// Which unique index an insert ran into, if that is why it failed: a random id already
/// taken, or a dedup key.
fn unique_violation(e: &rusqlite::Error) -> Option<Inserted> {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(message))
            if f.code == ErrorCode::ConstraintViolation =>
        {
            if message.contains("jobs.id") {
                Some(Inserted::IdTaken)
            } else if message.contains("dedup_key") {
                Some(Inserted::KeyTaken)
            } else {
                None
            }
        }
        _ => None,
    }
}

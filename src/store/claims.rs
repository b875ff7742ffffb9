//! Claiming: handing out the next visible jobs in priority-then-FIFO order, releasing claims
//! whose deadline passed, and telling a waiting worker when to look again.

use anyhow::Result;
use rusqlite::{params, Transaction};

use super::jobs::{job_from_row, save, JOB_COLUMNS};
use super::Store;
use crate::job::{ClaimRequest, Job, Outcome, SweepReport};
use crate::lifecycle;
use crate::time::Millis;

impl Store {
    /// Claims up to `req.count` visible jobs. Expired claims in the queue are released first,
    /// in the same transaction, so a dequeue never waits behind one whether or not `sweep`
    /// runs.
    pub fn claim(&mut self, req: &ClaimRequest, now: Millis) -> Result<Vec<Job>> {
        self.write(|tx, ids| {
            release_expired(tx, Some(&req.queue), now)?;
            let mut jobs = Vec::with_capacity(req.count.min(64));
            for (seq, mut job) in ready(tx, req, now)? {
                let token = ids.claim_token();
                lifecycle::claim(
                    &mut job,
                    req.worker.as_deref(),
                    token,
                    now + req.timeout_ms,
                    now,
                );
                save(tx, seq, &job)?;
                jobs.push(job);
            }
            Ok(jobs)
        })
    }

    /// Releases every expired claim in every queue (what `sweep` does).
    pub fn release_expired(&mut self, now: Millis) -> Result<SweepReport> {
        self.write(|tx, _| release_expired(tx, None, now))
    }

    /// Whether a claim made now would find something: a visible pending job or an expired
    /// claim. Read-only and an index walk, so a waiting worker can ask without the write lock.
    pub fn claimable(&self, queue: &str, job_type: Option<&str>, now: Millis) -> Result<bool> {
        let ready: bool = match job_type {
            None => self
                .conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND status = 'pending' \
                 AND visible_after <= ?2 ORDER BY priority DESC, seq)",
                )?
                .query_row(params![queue, now], |row| row.get(0))?,
            Some(t) => self
                .conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND type = ?3 \
                 AND status = 'pending' AND visible_after <= ?2 ORDER BY priority DESC, seq)",
                )?
                .query_row(params![queue, now, t], |row| row.get(0))?,
        };
        Ok(ready || self.next_deadline(queue)?.is_some_and(|t| t <= now))
    }

    /// The earliest time something in this queue (and type) becomes claimable: the nearest
    /// delay or claim deadline; `None` if nothing is pending or claimed there. It scans the
    /// queue's pending jobs, so callers ask only after [`Store::claimable`] said no, when
    /// every pending job is delayed.
    pub fn next_visible(&self, queue: &str, job_type: Option<&str>) -> Result<Option<Millis>> {
        let pending: Option<Millis> = match job_type {
            None => self.conn.prepare_cached(
                "SELECT MIN(visible_after) FROM jobs WHERE queue = ?1 AND status = 'pending'",
            )?
            .query_row([queue], |row| row.get(0))?,
            Some(t) => self.conn.prepare_cached(
                "SELECT MIN(visible_after) FROM jobs WHERE queue = ?1 AND type = ?2 AND status = 'pending'",
            )?
            .query_row([queue, t], |row| row.get(0))?,
        };
        let deadline = self.next_deadline(queue)?;
        Ok([pending, deadline].into_iter().flatten().min())
    }

    /// The earliest claim deadline in a queue, from the `jobs_claim_deadline` index.
    fn next_deadline(&self, queue: &str) -> Result<Option<Millis>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT MIN(visible_after) FROM jobs WHERE queue = ?1 AND status = 'claimed'",
            )?
            .query_row([queue], |row| row.get(0))?)
    }
}

/// The next visible pending jobs in claim order. The statements match the `jobs_ready` and
/// `jobs_ready_by_type` indexes column for column, so this is an index walk, not a sort.
fn ready(tx: &Transaction, req: &ClaimRequest, now: Millis) -> Result<Vec<(i64, Job)>> {
    let limit = req.count as i64;
    let rows = match &req.job_type {
        None => {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 AND status = 'pending' \
                 AND visible_after <= ?2 ORDER BY priority DESC, seq LIMIT ?3"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![req.queue, now, limit], job_from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        }
        Some(job_type) => {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 AND type = ?2 \
                 AND status = 'pending' AND visible_after <= ?3 \
                 ORDER BY priority DESC, seq LIMIT ?4"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![req.queue, job_type, now, limit], job_from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        }
    };
    Ok(rows)
}

/// Applies the expiry rule to every claim past its deadline, in one queue or all of them.
fn release_expired(tx: &Transaction, queue: Option<&str>, now: Millis) -> Result<SweepReport> {
    let expired = {
        // Two statements rather than `?2 IS NULL OR queue = ?2`, which would hide the queue
        // from the planner and cost the `jobs_claim_deadline` range scan.
        let sql = match queue {
            Some(_) => format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?2 AND status = 'claimed' \
                 AND visible_after <= ?1"
            ),
            None => format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'claimed' AND visible_after <= ?1"
            ),
        };
        let mut stmt = tx.prepare_cached(&sql)?;
        let rows = match queue {
            Some(q) => stmt.query_map(params![now, q], job_from_row)?,
            None => stmt.query_map(params![now], job_from_row)?,
        };
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut report = SweepReport::default();
    for (seq, mut job) in expired {
        match lifecycle::expire(&mut job, now) {
            Outcome::Retry => report.retried += 1,
            Outcome::Dead => report.dead += 1,
        }
        save(tx, seq, &job)?;
    }
    Ok(report)
}

//! Claiming: handing out the next visible jobs in priority-then-FIFO order, making delayed
//! jobs visible when they fall due, releasing claims whose deadline passed, and telling a
//! waiting worker whether and when to look again.

use anyhow::Result;
use rusqlite::{params, Transaction};

use super::rows::{job_from_row, save, JOB_COLUMNS};
use super::{settings, Store};
use crate::job::{ClaimRequest, Job, Outcome, SweepReport};
use crate::lifecycle;
use crate::time::Millis;

/// Whether a queue has something to claim.
enum Readiness {
    Now,
    /// Not now; perhaps at this time.
    Later(Option<Millis>),
}

impl Store {
    /// Claims up to `req.count` visible jobs. Expired claims in the queue are released and
    /// due delayed jobs made visible first, in the same transaction, so a dequeue never waits
    /// behind either, whether or not `sweep` runs.
    pub fn claim(&mut self, req: &ClaimRequest) -> Result<Vec<Job>> {
        self.write(|tx, ids, now| {
            release_expired(tx, Some(&req.queue), now)?;
            promote_due(tx, &req.queue, now)?;
            let settings = settings::read(tx, &req.queue)?;
            if settings.paused {
                return Ok(Vec::new());
            }
            let timeout = settings.claim_timeout(req.timeout_ms);
            let mut jobs = Vec::with_capacity(req.count.min(64));
            for (seq, mut job) in ready(tx, req)? {
                let token = ids.claim_token();
                let deadline = now + timeout;
                lifecycle::claim(&mut job, req.worker.as_deref(), token, deadline, now);
                save(tx, seq, &job, now)?;
                jobs.push(job);
            }
            Ok(jobs)
        })
    }

    /// Claims only when a read-only look says there is something, so idle waiters never
    /// queue up for the write lock. With nothing to claim, also returns when to look again
    /// (the next delayed job or claim deadline).
    pub fn try_claim(&mut self, req: &ClaimRequest) -> Result<(Vec<Job>, Option<Millis>)> {
        match self.readiness(&req.queue, req.job_type.as_deref())? {
            Readiness::Now => Ok((self.claim(req)?, None)),
            Readiness::Later(due) => Ok((Vec::new(), due)),
        }
    }

    /// Releases every expired claim in every queue (what `sweep` does).
    pub fn release_expired(&mut self) -> Result<SweepReport> {
        self.write(|tx, _, now| release_expired(tx, None, now))
    }

    /// Whether a claim made now would find something: a visible pending job, a delayed one
    /// that has fallen due, or an expired claim. Read-only and a few index probes.
    fn readiness(&self, queue: &str, job_type: Option<&str>) -> Result<Readiness> {
        // A paused queue has nothing coming; `resume` is a commit, which wakes waiters.
        if settings::read(&self.conn, queue)?.paused {
            return Ok(Readiness::Later(None));
        }
        let next = self.next_due(queue)?;
        let ready: bool = match job_type {
            None => self
                .conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND status = 'pending')",
                )?
                .query_row([queue], |row| row.get(0))?,
            Some(t) => self
                .conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND type = ?2 \
                     AND status = 'pending')",
                )?
                .query_row([queue, t], |row| row.get(0))?,
        };
        if ready || next.is_some_and(|t| t <= self.now()) {
            Ok(Readiness::Now)
        } else {
            Ok(Readiness::Later(next))
        }
    }

    /// The earliest time something more in this queue becomes claimable: the nearest
    /// delayed job or claim deadline; `None` if there is neither. Job types are not told
    /// apart here: a waiter for one type may wake for another's delayed job, look, and sleep
    /// again.
    fn next_due(&self, queue: &str) -> Result<Option<Millis>> {
        let earliest = |status: &str| -> Result<Option<Millis>> {
            let sql = format!(
                "SELECT MIN(visible_after) FROM jobs WHERE queue = ?1 AND status = '{status}'"
            );
            Ok(self
                .conn
                .prepare_cached(&sql)?
                .query_row([queue], |row| row.get(0))?)
        };
        let scheduled = earliest("scheduled")?;
        let deadline = earliest("claimed")?;
        Ok([scheduled, deadline].into_iter().flatten().min())
    }
}

impl Store {
    /// The next jobs a dequeue would get, in order, without claiming them: visible pending
    /// jobs, including delayed ones that have fallen due.
    pub fn peek(&self, queue: &str, limit: u64) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 AND (status = 'pending' \
             OR (status = 'scheduled' AND visible_after <= ?2)) \
             ORDER BY priority DESC, seq LIMIT ?3"
        );
        let rows = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![queue, self.now(), limit as i64], job_from_row)?
            .map(|row| row.map(|(_, job)| job))
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// Makes the queue's delayed jobs that have fallen due visible, keeping their place in line.
fn promote_due(tx: &Transaction, queue: &str, now: Millis) -> Result<()> {
    tx.prepare_cached(
        "UPDATE jobs SET status = 'pending' \
         WHERE queue = ?1 AND status = 'scheduled' AND visible_after <= ?2",
    )?
    .execute(params![queue, now])?;
    Ok(())
}

/// The next pending jobs in claim order. The statements match the `jobs_ready` and
/// `jobs_ready_by_type` indexes column for column, so this is an index walk, not a sort.
fn ready(tx: &Transaction, req: &ClaimRequest) -> Result<Vec<(i64, Job)>> {
    let limit = req.count as i64;
    let mut stmt = tx.prepare_cached(&ready_sql(req.job_type.is_some()))?;
    let rows = match &req.job_type {
        None => stmt.query_map(params![req.queue, limit], job_from_row)?,
        Some(job_type) => stmt.query_map(params![req.queue, limit, job_type], job_from_row)?,
    };
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The claim query: `?1` queue, `?2` limit, `?3` job type when `typed`.
pub(super) fn ready_sql(typed: bool) -> String {
    let type_filter = if typed { "AND type = ?3 " } else { "" };
    format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 {type_filter}AND status = 'pending' \
         ORDER BY priority DESC, seq LIMIT ?2"
    )
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
        save(tx, seq, &job, now)?;
    }
    Ok(report)
}

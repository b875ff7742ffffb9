//! Claiming: handing out the next visible jobs in priority-then-FIFO order, making delayed
//! jobs visible when they fall due, releasing claims whose deadline passed, and telling a
//! waiting worker whether and when to look again.

use std::time::Duration;

use anyhow::Result;

use super::backend::{Changed, Tx};
use super::groups::save;
use super::Store;
use crate::ids::IdGen;
use crate::job::{ClaimRequest, Job, Outcome, SweepReport};
use crate::lifecycle;
use crate::time::Millis;

/// Expired claims released per statement; a transaction goes on until none are left.
const EXPIRED_BATCH: usize = 500;

impl Store {
    /// Claims up to `req.count` visible jobs. Expired claims in the queue are released and
    /// due delayed jobs made visible first, in the same transaction, so a dequeue never waits
    /// behind either, whether or not `sweep` runs.
    pub fn claim(&mut self, req: &ClaimRequest) -> Result<Vec<Job>> {
        self.write(|tx, ids, _| claim_in(tx, ids, req))
            .map(|(jobs, _)| jobs)
    }

    /// Claims only when a read-only look says there is something, so idle waiters never
    /// queue up for a lock. With nothing to claim, also says in how many milliseconds
    /// something stored falls due (the next delayed job or claim deadline), measured on the
    /// store's clock so that a waiter on another host can time it on its own.
    ///
    /// On a server each step is a round trip, so the look is one read, and the clock is
    /// asked only when nothing is claimable yet (in a queue others work on, some claim
    /// always has a deadline).
    pub fn try_claim(&mut self, req: &ClaimRequest) -> Result<(Vec<Job>, Option<Millis>)> {
        match self.claimable(req)? {
            (true, _) => Ok((self.claim(req)?, None)),
            (false, due_in) => Ok((Vec::new(), due_in)),
        }
    }

    /// The read-only look of [`Store::try_claim`]: whether a claim now would find something
    /// and, if not, in how many milliseconds something stored falls due.
    pub fn claimable(&mut self, req: &ClaimRequest) -> Result<(bool, Option<Millis>)> {
        let readiness = self.db.readiness(&req.queue, req.job_type.as_deref())?;
        // A paused queue has nothing coming; `resume` is a commit, which wakes waiters.
        if readiness.paused {
            return Ok((false, None));
        }
        if readiness.ready {
            return Ok((true, None));
        }
        let due_in = match readiness.next_due {
            Some(due) => Some(due - self.now()?),
            None => None,
        };
        if due_in.is_some_and(|ms| ms <= 0) {
            Ok((true, None))
        } else {
            Ok((false, due_in))
        }
    }

    /// Releases every expired claim in every queue (what `sweep` does).
    pub fn release_expired(&mut self) -> Result<SweepReport> {
        self.write(|tx, _, now| release_expired(tx, None, now))
    }

    /// The next jobs a dequeue would get, in order, without claiming them: visible pending
    /// jobs, including delayed ones that have fallen due.
    pub fn peek(&mut self, queue: &str, limit: u64) -> Result<Vec<Job>> {
        let now = self.now()?;
        self.db.peek(queue, limit, now)
    }

    /// Whether the connection to the database is still there (see `reconnect`).
    pub fn connected(&mut self) -> bool {
        self.db.connected()
    }

    /// Connects again after the database server went away.
    pub fn reconnect(&mut self) -> Result<()> {
        self.db.reconnect()
    }

    /// A counter that moves when another process may have made work in `queue` claimable.
    pub fn changes(&mut self, queue: &str) -> Result<u64> {
        self.db.changes(queue)
    }

    /// Waits at most `max` for [`Store::changes`] to move past `seen`.
    pub fn wait_for_changes(&mut self, seen: u64, queue: &str, max: Duration) -> Result<u64> {
        self.db.wait_for_changes(seen, queue, max)
    }

    /// Waits at most `max` for work to become claimable in any queue, for a watcher that
    /// serves many waiters at once.
    pub fn wait_for_any_change(&mut self, max: Duration) -> Result<Changed> {
        self.db.wait_for_any_change(max)
    }
}

/// [`Store::claim`] inside a transaction; also says what expired claims it released.
pub(super) fn claim_in(
    tx: &mut dyn Tx,
    ids: &mut IdGen,
    req: &ClaimRequest,
) -> Result<(Vec<Job>, SweepReport)> {
    let now = tx.now();
    let expired = release_expired(tx, Some(&req.queue), now)?;
    tx.promote_due(&req.queue, now)?;
    let settings = tx.settings(&req.queue)?;
    if settings.paused {
        return Ok((Vec::new(), expired));
    }
    let ready = tx.ready(req)?;
    let now = tx.now();
    let deadline = now + settings.claim_timeout(req.timeout_ms);
    let mut jobs = Vec::with_capacity(ready.len());
    for (seq, mut job) in ready {
        lifecycle::claim(
            &mut job,
            req.worker.as_deref(),
            ids.claim_token(),
            deadline,
            now,
        );
        save(tx, seq, &job, now)?;
        jobs.push(job);
    }
    Ok((jobs, expired))
}

/// Applies the expiry rule to every claim past its deadline by `now`, in one queue or all
/// of them.
fn release_expired(tx: &mut dyn Tx, queue: Option<&str>, now: Millis) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    loop {
        let expired = tx.expired_claims(queue, now, EXPIRED_BATCH)?;
        let last = expired.len() < EXPIRED_BATCH;
        let now = tx.now();
        for (seq, mut job) in expired {
            match lifecycle::expire(&mut job, now) {
                Outcome::Retry => report.retried += 1,
                Outcome::Dead => report.dead += 1,
            }
            save(tx, seq, &job, now)?;
        }
        if last {
            return Ok(report);
        }
    }
}

//! Waiting for work without spinning. A [`Watch`] remembers, from the last look that found
//! nothing, the store's change counter and when the next delayed job or claim deadline
//! falls due; a new look is worth taking only when one of those has moved, or every few
//! seconds in case a wake-up was missed. All of its timing is on the monotonic clock: the
//! store says how long until something falls due, by its own clock, never a wall-clock time.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::job::{ClaimRequest, Job};
use crate::store::Store;

/// How often a waiter looks again even though nothing told it to: a notification can be
/// lost with a dropped connection, and a look costs a few index probes.
const RECHECK: Duration = Duration::from_secs(5);

/// [`RECHECK`]; debug builds take `QUEUEPRIM_TEST_RECHECK_MS` instead, so that a test can
/// tell a waiter woken by a notification from one that looked again on its own.
fn recheck() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("QUEUEPRIM_TEST_RECHECK_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    RECHECK
}

#[derive(Debug, Default)]
pub struct Watch {
    /// The change counter read before the last look that found nothing; `None`: look now.
    seen: Option<u64>,
    /// When something already stored becomes claimable, as of that look.
    due_at: Option<Instant>,
    /// When that look was taken.
    looked_at: Option<Instant>,
}

impl Watch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a look for work could find something new: the first time, once another
    /// process has made work claimable, once a delayed job or a claim deadline falls due,
    /// and every [`RECHECK`].
    pub fn should_look(&self, store: &mut Store, queue: &str) -> Result<bool> {
        let now = Instant::now();
        Ok(match self.seen {
            None => true,
            Some(_) if self.due_at.is_some_and(|due| now >= due) => true,
            Some(_) if self.looked_at.is_some_and(|at| now >= at + recheck()) => true,
            Some(seen) => store.changes(queue)? != seen,
        })
    }

    /// Looks for work: claims what `request` asks for if a look could find something, or
    /// remembers when to look again.
    pub fn look(&mut self, store: &mut Store, request: &ClaimRequest) -> Result<Vec<Job>> {
        // Read before looking, so a change that lands during the look still counts.
        let seen = store.changes(&request.queue)?;
        let (jobs, due_in) = store.try_claim(request)?;
        if jobs.is_empty() {
            let now = Instant::now();
            self.seen = Some(seen);
            self.due_at = due_in.map(|ms| now + Duration::from_millis(ms.max(0) as u64));
            self.looked_at = Some(now);
        } else {
            self.reset();
        }
        Ok(jobs)
    }

    /// Forgets the last look, so the next [`Watch::should_look`] says yes.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Waits at most `max` for a reason to look again: a change in the store, or something
    /// falling due. Returns at once when a look is due anyway.
    pub fn wait(&self, store: &mut Store, queue: &str, max: Duration) -> Result<()> {
        let Some(seen) = self.seen else {
            return Ok(());
        };
        let now = Instant::now();
        let nap = [self.due_at, self.looked_at.map(|at| at + recheck())]
            .into_iter()
            .flatten()
            .map(|t| t.saturating_duration_since(now))
            .fold(max, Duration::min);
        if !nap.is_zero() {
            store.wait_for_changes(seen, queue, nap)?;
        }
        Ok(())
    }
}

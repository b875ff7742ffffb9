//! Waiting for work without spinning. A [`Watch`] remembers the database version at the last
//! look that found nothing, and when the next delayed job or claim deadline falls due; a new
//! look is worth taking only when one of those has changed.

use std::time::Duration;

use anyhow::Result;

use crate::job::{ClaimRequest, Job};
use crate::store::Store;
use crate::time::Millis;

/// How often a waiter checks whether to look again. The check is one cheap pragma read, so
/// this sets the wake-up latency without costing measurable CPU.
pub const POLL_MS: Millis = 25;

#[derive(Debug, Default)]
pub struct Watch {
    /// The data version read before the last look that found nothing; `None`: look now.
    seen: Option<i64>,
    /// When something already stored becomes claimable, as of that look.
    due: Option<Millis>,
}

impl Watch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a look for work could find something new: the first time, once another process
    /// has committed, or once a delayed job or a claim deadline falls due.
    pub fn should_look(&self, store: &Store, now: Millis) -> Result<bool> {
        Ok(match self.seen {
            None => true,
            Some(_) if self.due.is_some_and(|due| now >= due) => true,
            Some(version) => store.data_version()? != version,
        })
    }

    /// Records a look that found nothing.
    fn found_nothing(&mut self, version: i64, due: Option<Millis>) {
        self.seen = Some(version);
        self.due = due;
    }

    /// Looks for work: claims what `request` asks for if a look could find something, or
    /// remembers when to look again.
    pub fn look(&mut self, store: &mut Store, request: &ClaimRequest) -> Result<Vec<Job>> {
        // Read before looking, so a commit that lands during the look still counts.
        let version = store.data_version()?;
        let (jobs, due) = store.try_claim(request)?;
        if jobs.is_empty() {
            self.found_nothing(version, due);
        } else {
            self.reset();
        }
        Ok(jobs)
    }

    /// Forgets the last look, so the next [`Watch::should_look`] says yes.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// How long to sleep before checking again: [`POLL_MS`], or less when something stored
    /// falls due sooner (`now` is the wall clock, as the store's times are). A waiter's own
    /// time limit is its own to apply, on the monotonic clock.
    pub fn nap(&self, now: Millis) -> Duration {
        let ms = self
            .due
            .map_or(POLL_MS, |due| (due - now).clamp(0, POLL_MS));
        Duration::from_millis(ms as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nap_is_one_poll_or_until_something_falls_due() {
        let mut watch = Watch::new();
        assert_eq!(watch.nap(1_000), Duration::from_millis(POLL_MS as u64));
        watch.found_nothing(1, Some(1_010));
        assert_eq!(watch.nap(1_000), Duration::from_millis(10));
        assert_eq!(watch.nap(2_000), Duration::ZERO);
        // A wall clock stepped back a day leaves the nap at one poll, never a day.
        assert_eq!(
            watch.nap(1_010 - 86_400_000),
            Duration::from_millis(POLL_MS as u64)
        );
    }
}

//! Reading and removing: `get`, `list`, counts for `stats` and `queues`, and `purge` in
//! bounded batches.

use anyhow::Result;

use super::groups;
use super::{no_such_job, Store};
use crate::job::{
    Activity, Counts, Finished, Job, ListFilter, PurgeFilter, QueueActivity, QueueCounts, StoreInfo,
};
use crate::time::Millis;

/// Rows deleted per purge transaction: small enough that workers waiting for the write
/// lock are not held up noticeably, large enough that a big purge finishes quickly.
const PURGE_BATCH: usize = 5_000;

impl Store {
    pub fn get(&mut self, id: &str) -> Result<Job> {
        let name = self.name().to_string();
        self.db.get(id)?.ok_or_else(|| no_such_job(&name, id))
    }

    /// Calls `emit` for each matching job, newest first, a page at a time, so neither
    /// memory nor a read transaction grows with the number of jobs.
    pub fn list(
        &mut self,
        filter: &ListFilter,
        mut emit: impl FnMut(Job) -> Result<()>,
    ) -> Result<()> {
        self.db.list(filter, &mut emit)
    }

    /// What `info` tells of the database: its schema version, queues and counts.
    pub fn info(&mut self) -> Result<StoreInfo> {
        let queues = self.queues()?;
        let mut counts = Counts::default();
        for queue in &queues {
            counts.merge(&queue.counts);
        }
        let (size_bytes, wal_bytes) = self.db.sizes()?;
        Ok(StoreInfo {
            schema_version: self.db.schema_version()?,
            size_bytes,
            wal_bytes,
            queues: queues.len() as u64,
            counts,
        })
    }

    /// Whether the queue (or its jobs of one type) has a job that is not finished: pending,
    /// delayed, waiting in its group, backing off, or claimed by anyone. `work
    /// --until-drained` runs until this says no.
    pub fn has_unfinished(&mut self, queue: &str, job_type: Option<&str>) -> Result<bool> {
        self.db.has_unfinished(queue, job_type)
    }

    /// How many jobs `list` would show without its limit.
    pub fn count_matching(&mut self, filter: &ListFilter) -> Result<u64> {
        self.db.count_matching(filter)
    }

    /// Job counts by status over all queues.
    pub fn stats(&mut self) -> Result<Counts> {
        let mut counts = Counts::default();
        for queue in self.db.counts_by_queue()? {
            counts.merge(&queue.counts);
        }
        Ok(counts)
    }

    /// Counts and settings for each queue that has jobs or settings, by queue name.
    pub fn queues(&mut self) -> Result<Vec<QueueCounts>> {
        let mut queues = self.db.counts_by_queue()?;
        for (queue, settings) in self.db.all_settings()? {
            match queues.binary_search_by(|q| q.queue.as_str().cmp(&queue)) {
                Ok(i) => {
                    if let Some(found) = queues.get_mut(i) {
                        found.settings = settings;
                    }
                }
                Err(i) => queues.insert(
                    i,
                    QueueCounts {
                        queue,
                        counts: Counts::default(),
                        settings,
                    },
                ),
            }
        }
        Ok(queues)
    }

    /// For each queue with claimable jobs, when the one visible longest became visible
    /// (the age of the oldest pending job, for metrics).
    pub fn oldest_pending(&mut self) -> Result<Vec<(String, Millis)>> {
        self.db.oldest_pending()
    }

    /// The jobs that finished (done or dead) at `since` or later, per queue and stretch of
    /// `bucket` milliseconds from `since`: throughput, for the dashboard and `top`.
    pub fn finished(&mut self, since: Millis, bucket: Millis) -> Result<Vec<Finished>> {
        self.db.finished(since, bucket)
    }

    /// Every queue's counts and settings, with the jobs that finished over the last `window`
    /// and the age of its oldest claimable job, on the engine's clock (for `top`).
    pub fn activity(&mut self, window: Millis) -> Result<Activity> {
        let at = self.now()?;
        let queues = self.queues()?;
        let oldest = self.oldest_pending()?;
        let finished = self.finished(at - window, window)?;
        let queues = queues
            .into_iter()
            .map(|q| {
                let (done, dead) = finished
                    .iter()
                    .filter(|f| f.queue == q.queue)
                    .fold((0, 0), |(done, dead), f| (done + f.done, dead + f.dead));
                QueueActivity {
                    oldest_pending: oldest
                        .iter()
                        .find(|(queue, _)| *queue == q.queue)
                        .map(|(_, since)| *since),
                    paused: q.settings.paused,
                    queue: q.queue,
                    counts: q.counts,
                    done,
                    dead,
                }
            })
            .collect();
        Ok(Activity { at, window, queues })
    }

    /// Counts the jobs a purge would remove.
    pub fn purge_count(&mut self, filter: &PurgeFilter) -> Result<u64> {
        self.db.purge_count(filter)
    }

    /// Removes matching jobs in batches of [`PURGE_BATCH`], each its own transaction, and
    /// reports the running total to `progress` after each. Returns how many were removed.
    pub fn purge(&mut self, filter: &PurgeFilter, mut progress: impl FnMut(u64)) -> Result<u64> {
        let mut removed = 0;
        loop {
            let n = self.write(|tx, _, now| {
                let deleted = tx.purge_batch(filter, PURGE_BATCH)?;
                // A deleted job may have been the live one of its group.
                groups::advance_after_delete(tx, &deleted, now)?;
                Ok(deleted.len())
            })?;
            removed += n as u64;
            progress(removed);
            if n < PURGE_BATCH {
                return Ok(removed);
            }
        }
    }
}

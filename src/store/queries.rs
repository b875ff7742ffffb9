//! Reading and removing: `get`, `list` (in short pages), counts for `stats`, `queues` and
//! `info`, and `purge` in bounded batches.

use anyhow::Result;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, OptionalExtension};

use super::rows::{job_from_row, status_from_db, JOB_COLUMNS};
use super::{groups, no_such_job, settings, Store};
use crate::job::{Counts, Job, ListFilter, PurgeFilter, QueueCounts, Status, StoreInfo};

/// Rows deleted per purge transaction: small enough that workers waiting for the write
/// lock are not held up noticeably, large enough that a big purge finishes quickly.
const PURGE_BATCH: i64 = 5_000;

/// Rows `list` reads per query. Each page is its own short read, so a slow reader of the
/// output (a pager, a paused pipe) never holds a read transaction open, which would keep
/// the WAL from being checkpointed while writers go on.
const LIST_PAGE: u64 = 500;

/// A `WHERE` clause built from optional filters, with its parameters in order.
#[derive(Default)]
struct Conditions {
    sql: Vec<&'static str>,
    params: Vec<Value>,
}

impl Conditions {
    fn add(&mut self, sql: &'static str, value: Option<Value>) {
        if let Some(value) = value {
            self.sql.push(sql);
            self.params.push(value);
        }
    }

    /// A status as users mean it: pending includes delayed jobs (stored as scheduled) and
    /// jobs waiting behind their group (queued).
    fn add_status(&mut self, status: Option<Status>) {
        match status {
            Some(Status::Pending) => self
                .sql
                .push("status IN ('pending', 'scheduled', 'queued')"),
            Some(other) => self.add("status = ?", Some(Value::Text(other.as_str().into()))),
            None => {}
        }
    }

    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

/// One page of `list`: the filters' clause, then `seq < ?` and `LIMIT ?` as the last two
/// parameters.
pub(super) fn list_sql(clause: &str) -> String {
    format!("SELECT {JOB_COLUMNS} FROM jobs {clause} ORDER BY seq DESC LIMIT ?")
}

fn text(s: Option<&str>) -> Option<Value> {
    s.map(|s| Value::Text(s.to_string()))
}

impl Store {
    /// The newest schema version this build knows and writes.
    pub const SCHEMA_VERSION: i64 = super::schema::SCHEMA_VERSION;

    pub fn get(&self, id: &str) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        self.conn
            .prepare_cached(&sql)?
            .query_row([id], job_from_row)
            .optional()?
            .map(|(_, job)| job)
            .ok_or_else(|| no_such_job(&self.path, id))
    }

    /// Calls `emit` for each matching job, newest first, reading [`LIST_PAGE`] rows at a
    /// time so neither memory nor a read transaction grows with the number of jobs.
    pub fn list(&self, filter: &ListFilter, mut emit: impl FnMut(Job) -> Result<()>) -> Result<()> {
        let mut cond = list_conditions(filter);
        cond.sql.push("seq < ?");
        let sql = list_sql(&cond.clause());
        let mut left = filter.limit.unwrap_or(u64::MAX);
        let mut before = i64::MAX;
        while left > 0 {
            let page = left.min(LIST_PAGE);
            let mut params = cond.params.clone();
            params.extend([Value::Integer(before), Value::Integer(page as i64)]);
            let rows: Vec<(i64, Job)> = self
                .conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(params.iter()), job_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            let fetched = rows.len() as u64;
            for (seq, job) in rows {
                before = seq;
                emit(job)?;
            }
            if fetched < page {
                break;
            }
            left -= fetched;
        }
        Ok(())
    }

    /// How many jobs `list` would show without its limit.
    pub fn count_matching(&self, filter: &ListFilter) -> Result<u64> {
        let cond = list_conditions(filter);
        let sql = format!("SELECT COUNT(*) FROM jobs {}", cond.clause());
        let n: i64 = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(cond.params.iter()), |row| row.get(0))?;
        Ok(n as u64)
    }

    /// The schema version and what the database holds, for `info`.
    pub fn info(&self) -> Result<StoreInfo> {
        let queues = self.queues()?;
        let mut counts = Counts::default();
        for queue in &queues {
            counts.merge(&queue.counts);
        }
        Ok(StoreInfo {
            schema_version: self
                .conn
                .pragma_query_value(None, "user_version", |row| row.get(0))?,
            queues: queues.len() as u64,
            counts,
        })
    }

    /// Whether the queue (or its jobs of one type) has a job that is not finished: pending,
    /// delayed, waiting in its group, backing off, or claimed by anyone. `work
    /// --until-drained` runs until this says no.
    pub fn has_unfinished(&self, queue: &str, job_type: Option<&str>) -> Result<bool> {
        let unfinished = "queue = ?1 AND status IN ('queued', 'scheduled', 'pending', 'claimed')";
        Ok(match job_type {
            None => self
                .conn
                .prepare_cached(&format!(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE {unfinished})"
                ))?
                .query_row([queue], |row| row.get(0))?,
            Some(t) => self
                .conn
                .prepare_cached(&format!(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE {unfinished} AND type = ?2)"
                ))?
                .query_row([queue, t], |row| row.get(0))?,
        })
    }

    /// Job counts by status over all queues.
    pub fn stats(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        for queue in self.counts_by_queue()? {
            counts.merge(&queue.counts);
        }
        Ok(counts)
    }

    /// Counts and settings for each queue that has jobs or settings, by queue name.
    pub fn queues(&self) -> Result<Vec<QueueCounts>> {
        let mut queues = self.counts_by_queue()?;
        for (queue, settings) in settings::read_all(&self.conn)? {
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

    /// Job counts by status for each queue that has jobs, by queue name.
    fn counts_by_queue(&self) -> Result<Vec<QueueCounts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT queue, status, COUNT(*) FROM jobs GROUP BY queue, status ORDER BY queue",
        )?;
        let mut rows = stmt.query([])?;
        let mut out: Vec<QueueCounts> = Vec::new();
        while let Some(row) = rows.next()? {
            let queue: String = row.get(0)?;
            let status = status_from_db(&row.get::<_, String>(1)?).map_err(anyhow::Error::msg)?;
            let n: i64 = row.get(2)?;
            if out.last().is_none_or(|last| last.queue != queue) {
                out.push(QueueCounts {
                    queue,
                    counts: Counts::default(),
                    settings: Default::default(),
                });
            }
            if let Some(last) = out.last_mut() {
                last.counts.add(status, n as u64);
            }
        }
        Ok(out)
    }

    /// Counts the jobs a purge would remove.
    pub fn purge_count(&self, filter: &PurgeFilter) -> Result<u64> {
        let cond = purge_conditions(filter);
        let sql = format!("SELECT COUNT(*) FROM jobs {}", cond.clause());
        let n: i64 = self
            .conn
            .query_row(&sql, params_from_iter(cond.params.iter()), |row| row.get(0))?;
        Ok(n as u64)
    }

    /// Removes matching jobs in batches of [`PURGE_BATCH`], each its own transaction, and
    /// reports the running total to `progress` after each. Returns how many were removed.
    pub fn purge(&mut self, filter: &PurgeFilter, mut progress: impl FnMut(u64)) -> Result<u64> {
        let cond = purge_conditions(filter);
        let sql = format!(
            "DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs {} LIMIT {PURGE_BATCH})",
            cond.clause()
        );
        let mut removed = 0;
        loop {
            let n = self.write(|tx, _, now| {
                let n = tx.execute(&sql, params_from_iter(cond.params.iter()))?;
                // A deleted job may have been the live one of its group.
                groups::advance_all(tx, now)?;
                Ok(n)
            })?;
            removed += n as u64;
            progress(removed);
            if (n as i64) < PURGE_BATCH {
                return Ok(removed);
            }
        }
    }
}

/// Which rows `list` matches.
fn list_conditions(filter: &ListFilter) -> Conditions {
    let mut cond = Conditions::default();
    cond.add("queue = ?", text(filter.queue.as_deref()));
    cond.add_status(filter.status);
    cond.add("type = ?", text(filter.job_type.as_deref()));
    cond.add("worker = ?", text(filter.worker.as_deref()));
    cond
}

/// Which rows a purge matches. Claimed jobs are work in flight: only `--status claimed`
/// removes them. An age filter without a status means finished jobs (done and dead), so a
/// retention purge never takes jobs that are waiting for their time to come.
fn purge_conditions(filter: &PurgeFilter) -> Conditions {
    let mut cond = Conditions::default();
    cond.add("queue = ?", text(filter.queue.as_deref()));
    match filter.status {
        Some(_) => cond.add_status(filter.status),
        None if filter.updated_before.is_some() => cond.sql.push("status IN ('done', 'dead')"),
        None => cond.sql.push("status <> 'claimed'"),
    }
    cond.add("updated_at <= ?", filter.updated_before.map(Value::Integer));
    cond
}

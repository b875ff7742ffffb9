//! Reading and removing: `get`, `list` (streamed row by row), counts for `stats` and
//! `queues`, and `purge` in bounded batches.

use anyhow::Result;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, OptionalExtension};

use super::jobs::{job_from_row, JOB_COLUMNS};
use super::Store;
use crate::job::{Counts, Job, ListFilter, PurgeFilter, QueueCounts, Status};

/// Rows deleted per purge transaction: small enough that workers waiting for the write
/// lock are not held up noticeably, large enough that a big purge finishes quickly.
const PURGE_BATCH: i64 = 5_000;

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

    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

fn text(s: &Option<String>) -> Option<Value> {
    s.clone().map(Value::Text)
}

fn status(s: Option<Status>) -> Option<Value> {
    s.map(|s| Value::Text(s.as_str().to_string()))
}

impl Store {
    pub fn get(&self, id: &str) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        self.conn
            .prepare_cached(&sql)?
            .query_row([id], job_from_row)
            .optional()?
            .map(|(_, job)| job)
            .ok_or_else(|| self.no_such_job(id))
    }

    /// Calls `emit` for each matching job, newest first, without holding them all in memory.
    pub fn list(&self, filter: &ListFilter, mut emit: impl FnMut(Job) -> Result<()>) -> Result<()> {
        let mut cond = Conditions::default();
        cond.add("queue = ?", text(&filter.queue));
        cond.add("status = ?", status(filter.status));
        cond.add("type = ?", text(&filter.job_type));
        cond.add("worker = ?", text(&filter.worker));
        let limit = filter.limit.map_or(-1, |n| n as i64);
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs {} ORDER BY seq DESC LIMIT {limit}",
            cond.clause()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(cond.params.iter()))?;
        while let Some(row) = rows.next()? {
            emit(job_from_row(row)?.1)?;
        }
        Ok(())
    }

    /// Job counts by status over all queues.
    pub fn stats(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        for queue in self.queues()? {
            counts.merge(&queue.counts);
        }
        Ok(counts)
    }

    /// Job counts by status for each queue that has jobs, by queue name.
    pub fn queues(&self) -> Result<Vec<QueueCounts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT queue, status, COUNT(*) FROM jobs GROUP BY queue, status ORDER BY queue",
        )?;
        let mut rows = stmt.query([])?;
        let mut out: Vec<QueueCounts> = Vec::new();
        while let Some(row) = rows.next()? {
            let queue: String = row.get(0)?;
            let status = Status::parse(&row.get::<_, String>(1)?).map_err(anyhow::Error::msg)?;
            let n: i64 = row.get(2)?;
            if out.last().is_none_or(|last| last.queue != queue) {
                out.push(QueueCounts {
                    queue,
                    counts: Counts::default(),
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
            let n =
                self.write(|tx, _| Ok(tx.execute(&sql, params_from_iter(cond.params.iter()))?))?;
            removed += n as u64;
            progress(removed);
            if (n as i64) < PURGE_BATCH {
                return Ok(removed);
            }
        }
    }
}

fn purge_conditions(filter: &PurgeFilter) -> Conditions {
    let mut cond = Conditions::default();
    cond.add("queue = ?", text(&filter.queue));
    cond.add("status = ?", status(filter.status));
    cond.add("updated_at <= ?", filter.updated_before.map(Value::Integer));
    cond
}

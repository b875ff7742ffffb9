//! Reading in SQLite's SQL: one job, `list` in short pages, counts, settings, `peek`, and
//! the cheap look a waiting worker takes before claiming.

use anyhow::Result;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::rows::{job_from_row, stored_from_db, JOB_COLUMNS};
use crate::job::{
    Counts, Finished, Job, ListFilter, PurgeFilter, QueueCounts, QueueSettings, Status,
};
use crate::store::backend::Readiness;
use crate::time::Millis;

/// Rows `list` reads per query. Each page is its own short read, so a slow reader of the
/// output (a pager, a paused pipe) never holds a read transaction open, which would keep
/// the WAL from being checkpointed while writers go on.
const LIST_PAGE: u64 = 500;

/// A `WHERE` clause built from optional filters, with its parameters in order.
#[derive(Default)]
pub(super) struct Conditions {
    sql: Vec<&'static str>,
    pub(super) params: Vec<Value>,
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

    pub(super) fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

fn text(s: Option<&str>) -> Option<Value> {
    s.map(|s| Value::Text(s.to_string()))
}

/// One page of `list`: the filters' clause, then `seq < ?` and `LIMIT ?` as the last two
/// parameters.
pub(super) fn list_sql(clause: &str) -> String {
    format!("SELECT {JOB_COLUMNS} FROM jobs {clause} ORDER BY seq DESC LIMIT ?")
}

pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], job_from_row)
        .optional()?
        .map(|(_, job)| job))
}

/// Which jobs `list` shows.
fn list_conditions(filter: &ListFilter) -> Conditions {
    let mut cond = Conditions::default();
    cond.add("queue = ?", text(filter.queue.as_deref()));
    cond.add_status(filter.status);
    cond.add("type = ?", text(filter.job_type.as_deref()));
    cond.add("worker = ?", text(filter.worker.as_deref()));
    cond
}

pub(super) fn count_matching(conn: &Connection, filter: &ListFilter) -> Result<u64> {
    let cond = list_conditions(filter);
    let sql = format!("SELECT COUNT(*) FROM jobs {}", cond.clause());
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(cond.params.iter()), |row| row.get(0))?;
    Ok(n as u64)
}

pub(super) fn list(
    conn: &Connection,
    filter: &ListFilter,
    emit: &mut dyn FnMut(Job) -> Result<()>,
) -> Result<()> {
    let mut cond = list_conditions(filter);
    cond.sql.push("seq < ?");
    let sql = list_sql(&cond.clause());
    let mut left = filter.limit.unwrap_or(u64::MAX);
    let mut before = i64::MAX;
    while left > 0 {
        let page = left.min(LIST_PAGE);
        let mut params = cond.params.clone();
        params.extend([Value::Integer(before), Value::Integer(page as i64)]);
        let rows: Vec<(i64, Job)> = conn
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

pub(super) fn counts_by_queue(conn: &Connection) -> Result<Vec<QueueCounts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT queue, status, COUNT(*) FROM jobs GROUP BY queue, status ORDER BY queue",
    )?;
    let mut rows = stmt.query([])?;
    let mut out: Vec<QueueCounts> = Vec::new();
    while let Some(row) = rows.next()? {
        let queue: String = row.get(0)?;
        let status = stored_from_db(&row.get::<_, String>(1)?)
            .map_err(anyhow::Error::msg)?
            .status();
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

/// A queue's settings; the defaults (not paused, nothing set) for a queue never configured.
pub(super) fn settings(conn: &Connection, queue: &str) -> Result<QueueSettings> {
    Ok(conn
        .prepare_cached(
            "SELECT paused, timeout_ms, max_retries, backoff_ms FROM queue_settings \
             WHERE queue = ?1",
        )?
        .query_row([queue], |row| {
            Ok(QueueSettings {
                paused: row.get(0)?,
                timeout_ms: row.get(1)?,
                max_retries: row.get(2)?,
                backoff_ms: row.get(3)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

pub(super) fn all_settings(conn: &Connection) -> Result<Vec<(String, QueueSettings)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT queue, paused, timeout_ms, max_retries, backoff_ms FROM queue_settings \
         ORDER BY queue",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get(0)?,
            QueueSettings {
                paused: row.get(1)?,
                timeout_ms: row.get(2)?,
                max_retries: row.get(3)?,
                backoff_ms: row.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which rows a purge matches. Claimed jobs are work in flight: only `--status claimed`
/// removes them. An age filter without a status means finished jobs (done and dead), so a
/// retention purge never takes jobs that are waiting for their time to come.
pub(super) fn purge_conditions(filter: &PurgeFilter) -> Conditions {
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

pub(super) fn purge_count(conn: &Connection, filter: &PurgeFilter) -> Result<u64> {
    let cond = purge_conditions(filter);
    let sql = format!("SELECT COUNT(*) FROM jobs {}", cond.clause());
    let n: i64 = conn.query_row(&sql, params_from_iter(cond.params.iter()), |row| row.get(0))?;
    Ok(n as u64)
}

pub(super) fn peek(conn: &Connection, queue: &str, limit: u64, now: Millis) -> Result<Vec<Job>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE queue = ?1 AND (status = 'pending' \
         OR (status = 'scheduled' AND visible_after <= ?2)) \
         ORDER BY priority DESC, seq LIMIT ?3"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params![queue, now, limit as i64], job_from_row)?
        .map(|row| row.map(|(_, job)| job))
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Whether the queue is paused, whether a claimable job is there, and the earliest delayed
/// job or claim deadline: a few index probes. Job types are not told apart in the
/// deadline: a waiter for one type may wake for another's delayed job, look, and sleep
/// again.
pub(super) fn readiness(
    conn: &Connection,
    queue: &str,
    job_type: Option<&str>,
) -> Result<Readiness> {
    let paused = settings(conn, queue)?.paused;
    let ready: bool = match job_type {
        None => conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND status = 'pending')",
            )?
            .query_row([queue], |row| row.get(0))?,
        Some(t) => conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND type = ?2 \
                 AND status = 'pending')",
            )?
            .query_row([queue, t], |row| row.get(0))?,
    };
    let earliest = |status: &str| -> Result<Option<Millis>> {
        let sql =
            format!("SELECT MIN(visible_after) FROM jobs WHERE queue = ?1 AND status = '{status}'");
        Ok(conn
            .prepare_cached(&sql)?
            .query_row([queue], |row| row.get(0))?)
    };
    let next_due = [earliest("scheduled")?, earliest("claimed")?]
        .into_iter()
        .flatten()
        .min();
    Ok(Readiness {
        paused,
        ready,
        next_due,
    })
}

pub(super) fn has_unfinished(
    conn: &Connection,
    queue: &str,
    job_type: Option<&str>,
) -> Result<bool> {
    let unfinished = "queue = ?1 AND status IN ('queued', 'scheduled', 'pending', 'claimed')";
    Ok(match job_type {
        None => conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE {unfinished})"
            ))?
            .query_row([queue], |row| row.get(0))?,
        Some(t) => conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE {unfinished} AND type = ?2)"
            ))?
            .query_row([queue, t], |row| row.get(0))?,
    })
}

/// Finished jobs per queue (`?1`: since, `?2`: the stretch in milliseconds).
pub(super) const FINISHED_SQL: &str = "SELECT queue, (finished_at - ?1) / ?2 AS bucket, \
     SUM(status = 'done'), SUM(status = 'dead') FROM jobs \
     WHERE status IN ('done', 'dead') AND finished_at >= ?1 \
     GROUP BY queue, bucket ORDER BY queue, bucket";

/// Finished jobs per queue and stretch of time, read through `jobs_finished` from `since`
/// on: the cost follows the jobs that finished since then, not the jobs kept.
pub(super) fn finished(conn: &Connection, since: Millis, bucket: Millis) -> Result<Vec<Finished>> {
    let mut stmt = conn.prepare_cached(FINISHED_SQL)?;
    let rows = stmt.query_map(params![since, bucket.max(1)], |row| {
        Ok(Finished {
            queue: row.get(0)?,
            bucket: row.get::<_, i64>(1)?.max(0) as u64,
            done: row.get::<_, i64>(2)?.max(0) as u64,
            dead: row.get::<_, i64>(3)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

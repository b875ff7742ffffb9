//! Reading in PostgreSQL's SQL: one job, `list` in short pages, counts, settings, `peek`,
//! and the cheap look a waiting worker takes before claiming. Each statement runs on its
//! own (autocommit), so no reader ever holds a snapshot that would keep vacuum from
//! cleaning up behind the workers.

use anyhow::Result;
use postgres::types::{ToSql, Type};
use postgres::Client;

use super::sql::{job_from_row, Sql};
use crate::job::{
    Counts, Finished, Job, ListFilter, PurgeFilter, QueueCounts, QueueSettings, Status,
};
use crate::store::backend::{Readiness, Stored};
use crate::time::Millis;

/// Rows `list` reads per query.
const LIST_PAGE: u64 = 500;

/// A `WHERE` clause built from optional filters, numbering its parameters in order.
#[derive(Default)]
pub struct Conditions {
    sql: Vec<String>,
    values: Vec<(Box<dyn ToSql + Sync>, Type)>,
}

impl Conditions {
    /// Adds `column <op> $n` for a value that is there.
    fn add(&mut self, column_op: &str, value: Option<Box<dyn ToSql + Sync>>, ty: Type) {
        if let Some(value) = value {
            self.values.push((value, ty));
            self.sql.push(format!("{column_op} ${}", self.values.len()));
        }
    }

    fn add_text(&mut self, column: &str, value: Option<&str>) {
        let value = value.map(|v| Box::new(v.to_string()) as Box<dyn ToSql + Sync>);
        self.add(&format!("{column} ="), value, Type::TEXT);
    }

    /// A status as users mean it: pending includes delayed and group-waiting jobs.
    fn add_status(&mut self, status: Option<Status>) {
        match status {
            Some(Status::Pending) => self
                .sql
                .push("status IN ('pending', 'scheduled', 'queued')".into()),
            Some(other) => self.add_text("status", Some(Stored::settled(other).as_str())),
            None => {}
        }
    }

    pub fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }

    pub fn params(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.values
            .iter()
            .map(|(value, ty)| (value.as_ref(), ty.clone()))
            .collect()
    }
}

/// Which rows a purge matches; the same rules as on SQLite (see `purge`'s help).
pub fn purge_conditions(filter: &PurgeFilter) -> Conditions {
    let mut cond = Conditions::default();
    cond.add_text("queue", filter.queue.as_deref());
    match filter.status {
        Some(_) => cond.add_status(filter.status),
        None if filter.updated_before.is_some() => {
            cond.sql.push("status IN ('done', 'dead')".into())
        }
        None => cond.sql.push("status <> 'claimed'".into()),
    }
    let before = filter
        .updated_before
        .map(|t| Box::new(t) as Box<dyn ToSql + Sync>);
    cond.add("updated_at <=", before, Type::INT8);
    cond
}

pub fn get(client: &mut Client, sql: &Sql, id: &str) -> Result<Option<Job>> {
    let rows = client.query_typed(
        &sql.of("SELECT {cols} FROM @jobs WHERE id = $1"),
        &[(&id, Type::TEXT)],
    )?;
    match rows.first() {
        Some(row) => Ok(Some(job_from_row(row)?.2)),
        None => Ok(None),
    }
}

/// Which jobs `list` shows.
fn list_conditions(filter: &ListFilter) -> Conditions {
    let mut cond = Conditions::default();
    cond.add_text("queue", filter.queue.as_deref());
    cond.add_status(filter.status);
    cond.add_text("type", filter.job_type.as_deref());
    cond.add_text("worker", filter.worker.as_deref());
    cond
}

pub fn count_matching(client: &mut Client, sql: &Sql, filter: &ListFilter) -> Result<u64> {
    let cond = list_conditions(filter);
    let statement = sql.of(&format!("SELECT count(*) FROM @jobs {}", cond.clause()));
    let row = client.query_typed_one(&statement, &cond.params())?;
    Ok(row.try_get::<_, i64>(0)? as u64)
}

pub fn list(
    client: &mut Client,
    sql: &Sql,
    filter: &ListFilter,
    emit: &mut dyn FnMut(Job) -> Result<()>,
) -> Result<()> {
    let cond = list_conditions(filter);
    let n = cond.values.len();
    let where_seq = match cond.sql.is_empty() {
        true => format!("WHERE seq < ${}", n + 1),
        false => format!("{} AND seq < ${}", cond.clause(), n + 1),
    };
    let statement = sql.of(&format!(
        "SELECT {{cols}} FROM @jobs {where_seq} ORDER BY seq DESC LIMIT ${}",
        n + 2
    ));
    let mut left = filter.limit.unwrap_or(u64::MAX);
    let mut before = i64::MAX;
    while left > 0 {
        let page = left.min(LIST_PAGE) as i64;
        let mut params = cond.params();
        params.push((&before, Type::INT8));
        params.push((&page, Type::INT8));
        let rows = client.query_typed(&statement, &params)?;
        let fetched = rows.len() as u64;
        let mut last = before;
        for row in &rows {
            let (seq, _, job) = job_from_row(row)?;
            last = seq;
            emit(job)?;
        }
        before = last;
        if fetched < page as u64 {
            break;
        }
        left -= fetched;
    }
    Ok(())
}

pub fn counts_by_queue(client: &mut Client, sql: &Sql) -> Result<Vec<QueueCounts>> {
    let rows = client.query_typed(
        &sql.of("SELECT queue, status, count(*) FROM @jobs GROUP BY queue, status ORDER BY queue"),
        &[],
    )?;
    let mut out: Vec<QueueCounts> = Vec::new();
    for row in &rows {
        let queue: String = row.try_get(0)?;
        let status = Stored::parse(&row.try_get::<_, String>(1)?)
            .map_err(anyhow::Error::msg)?
            .status();
        let n: i64 = row.try_get(2)?;
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
pub fn settings_in(client: &mut Client, sql: &Sql, queue: &str) -> Result<QueueSettings> {
    let rows = client.query_typed(
        &sql.of(
            "SELECT paused, timeout_ms, max_retries, backoff_ms FROM @queue_settings \
             WHERE queue = $1",
        ),
        &[(&queue, Type::TEXT)],
    )?;
    match rows.first() {
        Some(row) => settings_from(row, 0),
        None => Ok(QueueSettings::default()),
    }
}

fn settings_from(row: &postgres::Row, first: usize) -> Result<QueueSettings> {
    let max_retries: Option<i64> = row.try_get(first + 2)?;
    Ok(QueueSettings {
        paused: row.try_get(first)?,
        timeout_ms: row.try_get(first + 1)?,
        max_retries: max_retries.and_then(|n| u32::try_from(n).ok()),
        backoff_ms: row.try_get(first + 3)?,
    })
}

pub fn all_settings(client: &mut Client, sql: &Sql) -> Result<Vec<(String, QueueSettings)>> {
    let rows = client.query_typed(
        &sql.of(
            "SELECT queue, paused, timeout_ms, max_retries, backoff_ms FROM @queue_settings \
             ORDER BY queue",
        ),
        &[],
    )?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, settings_from(row, 1)?)))
        .collect()
}

pub fn purge_count(client: &mut Client, sql: &Sql, filter: &PurgeFilter) -> Result<u64> {
    let cond = purge_conditions(filter);
    let statement = sql.of(&format!("SELECT count(*) FROM @jobs {}", cond.clause()));
    let row = client.query_typed_one(&statement, &cond.params())?;
    Ok(row.try_get::<_, i64>(0)? as u64)
}

pub fn peek(
    client: &mut Client,
    sql: &Sql,
    queue: &str,
    limit: u64,
    now: Millis,
) -> Result<Vec<Job>> {
    let limit = limit.min(i64::MAX as u64) as i64;
    let rows = client.query_typed(
        &sql.of(
            "SELECT {cols} FROM @jobs WHERE queue = $1 AND (status = 'pending' \
             OR (status = 'scheduled' AND visible_after <= $2)) \
             ORDER BY priority DESC, seq LIMIT $3",
        ),
        &[
            (&queue, Type::TEXT),
            (&now, Type::INT8),
            (&limit, Type::INT8),
        ],
    )?;
    rows.iter().map(|row| Ok(job_from_row(row)?.2)).collect()
}

/// Whether the queue is paused, whether a claimable job is there, and the earliest delayed
/// job or claim deadline, in one round trip of four index probes.
pub fn readiness(
    client: &mut Client,
    sql: &Sql,
    queue: &str,
    job_type: Option<&str>,
) -> Result<Readiness> {
    let ready = match job_type {
        None => "EXISTS (SELECT 1 FROM @jobs WHERE queue = $1 AND status = 'pending')",
        Some(_) => {
            "EXISTS (SELECT 1 FROM @jobs WHERE queue = $1 AND type = $2 AND status = 'pending')"
        }
    };
    let statement = sql.of(&format!(
        "SELECT {ready}, \
         (SELECT min(visible_after) FROM @jobs WHERE queue = $1 AND status = 'scheduled'), \
         (SELECT min(visible_after) FROM @jobs WHERE queue = $1 AND status = 'claimed'), \
         coalesce((SELECT paused FROM @queue_settings WHERE queue = $1), false)"
    ));
    let row = match job_type {
        None => client.query_typed_one(&statement, &[(&queue, Type::TEXT)])?,
        Some(t) => client.query_typed_one(&statement, &[(&queue, Type::TEXT), (&t, Type::TEXT)])?,
    };
    let scheduled: Option<i64> = row.try_get(1)?;
    let claimed: Option<i64> = row.try_get(2)?;
    Ok(Readiness {
        paused: row.try_get(3)?,
        ready: row.try_get(0)?,
        next_due: [scheduled, claimed].into_iter().flatten().min(),
    })
}

pub fn has_unfinished(
    client: &mut Client,
    sql: &Sql,
    queue: &str,
    job_type: Option<&str>,
) -> Result<bool> {
    let unfinished = "queue = $1 AND status IN ('queued', 'scheduled', 'pending', 'claimed')";
    let row = match job_type {
        None => client.query_typed_one(
            &sql.of(&format!(
                "SELECT EXISTS (SELECT 1 FROM @jobs WHERE {unfinished})"
            )),
            &[(&queue, Type::TEXT)],
        )?,
        Some(t) => client.query_typed_one(
            &sql.of(&format!(
                "SELECT EXISTS (SELECT 1 FROM @jobs WHERE {unfinished} AND type = $2)"
            )),
            &[(&queue, Type::TEXT), (&t, Type::TEXT)],
        )?,
    };
    Ok(row.try_get(0)?)
}

/// Finished jobs per queue and stretch of time, read through `jobs_finished` from `since`
/// on: the cost follows the jobs that finished since then, not the jobs kept.
pub fn finished(
    client: &mut Client,
    sql: &Sql,
    since: Millis,
    bucket: Millis,
) -> Result<Vec<Finished>> {
    let rows = client.query_typed(
        &sql.of("SELECT queue, (finished_at - $1) / $2 AS bucket, \
             count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'dead') \
             FROM @jobs WHERE status IN ('done', 'dead') AND finished_at >= $1 \
             GROUP BY queue, bucket ORDER BY queue, bucket"),
        &[(&since, Type::INT8), (&bucket.max(1), Type::INT8)],
    )?;
    rows.iter()
        .map(|row| {
            Ok(Finished {
                queue: row.try_get(0)?,
                bucket: row.try_get::<_, i64>(1)?.max(0) as u64,
                done: row.try_get::<_, i64>(2)?.max(0) as u64,
                dead: row.try_get::<_, i64>(3)?.max(0) as u64,
            })
        })
        .collect()
}

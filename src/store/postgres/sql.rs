//! Statements and rows: SQL is written with `@` before each table name, which becomes the
//! quoted schema (`"queueprim".jobs`), so several queue sets can share one database without
//! any session state (which a pooler in transaction mode would lose). Rows decode into
//! jobs without ever panicking on an unexpected value.

use anyhow::{anyhow, Context, Result};
use postgres::Row;

use crate::job::{Backoff, Job};
use crate::store::backend::{Seq, Stored};

/// The columns [`job_from_row`] reads, in its order.
pub const JOB_COLUMNS: &str = "seq, id, queue, type, payload, priority, status, \
    attempt_count, max_retries, worker, claim, claim_lapsed, visible_after, output, errors, \
    created_at, updated_at, finished_at, backoff_ms, backoff_max_ms, job_group, dedup_key";

/// How many columns [`JOB_COLUMNS`] names.
pub const JOB_COLUMN_COUNT: usize = 22;

/// An identifier quoted for SQL: `"name"`, inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Statement text for one schema.
#[derive(Debug, Clone)]
pub struct Sql {
    prefix: String,
}

impl Sql {
    pub fn new(schema: &str) -> Sql {
        Sql {
            prefix: format!("{}.", quote_ident(schema)),
        }
    }

    /// `template` with each `@` replaced by the schema and a dot, and `{cols}` by the job
    /// columns.
    pub fn of(&self, template: &str) -> String {
        template
            .replace("{cols}", JOB_COLUMNS)
            .replace('@', &self.prefix)
    }
}

/// Builds a job from a row selected with [`JOB_COLUMNS`]; also returns its `seq` and where
/// it is stored.
pub fn job_from_row(row: &Row) -> Result<(Seq, Stored, Job)> {
    let stored = Stored::parse(&row.try_get::<_, String>(6)?).map_err(|e| anyhow!(e))?;
    let errors: String = row.try_get(14)?;
    let backoff_ms: Option<i64> = row.try_get(18)?;
    let job = Job {
        id: row.try_get(1)?,
        queue: row.try_get(2)?,
        job_type: row.try_get(3)?,
        payload: row.try_get(4)?,
        priority: row.try_get(5)?,
        status: stored.status(),
        attempt_count: count(row, 7)?,
        max_retries: count(row, 8)?,
        worker: row.try_get(9)?,
        claim: row.try_get(10)?,
        claim_lapsed: row.try_get(11)?,
        visible_after: row.try_get(12)?,
        output: row.try_get(13)?,
        errors: serde_json::from_str(&errors).context("a job's error history is not valid JSON")?,
        created_at: row.try_get(15)?,
        updated_at: row.try_get(16)?,
        finished_at: row.try_get(17)?,
        backoff: backoff_ms.map(|base| Backoff {
            base,
            max: row.try_get(19).ok().flatten(),
        }),
        group: row.try_get(20)?,
        key: row.try_get(21)?,
    };
    Ok((row.try_get(0)?, stored, job))
}

/// A count column (bigint) as the `u32` jobs carry.
fn count(row: &Row, index: usize) -> Result<u32> {
    let value: i64 = row.try_get(index)?;
    u32::try_from(value).map_err(|_| anyhow!("column {index} holds {value}, out of range"))
}

/// An optional `u32` as the bigint stored.
pub fn wide(value: Option<u32>) -> Option<i64> {
    value.map(i64::from)
}

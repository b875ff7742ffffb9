//! Moving jobs in and out in PostgreSQL's SQL: `export`'s pages in enqueue order, and
//! `import`'s lookups and inserts, a batch at a time, so that a million jobs cost a few
//! thousand round trips: each lookup and each insert is one statement over arrays.

use anyhow::Result;
use postgres::types::{ToSql, Type};
use postgres::Client;

use super::sql::{job_from_row, Sql};
use crate::job::Job;
use crate::store::backend::{Holder, Seq, Stored};

/// One page of `export`: jobs after `after` in enqueue order, of `queues` (all if empty).
pub fn export_page(
    client: &mut Client,
    sql: &Sql,
    queues: &[String],
    after: Seq,
    limit: u64,
) -> Result<Vec<(Seq, Stored, Job)>> {
    let limit = limit.min(i64::MAX as u64) as i64;
    let rows = match queues {
        [] => client.query_typed(
            &sql.of("SELECT {cols} FROM @jobs WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[(&after, Type::INT8), (&limit, Type::INT8)],
        )?,
        _ => client.query_typed(
            &sql.of(
                "SELECT {cols} FROM @jobs WHERE seq > $1 AND queue = ANY($3) \
                 ORDER BY seq LIMIT $2",
            ),
            &[
                (&after, Type::INT8),
                (&limit, Type::INT8),
                (&queues, Type::TEXT_ARRAY),
            ],
        )?,
    };
    rows.iter().map(job_from_row).collect()
}

pub fn last_seq(client: &mut Client, sql: &Sql) -> Result<Seq> {
    let row = client.query_typed_one(&sql.of("SELECT coalesce(max(seq), 0) FROM @jobs"), &[])?;
    Ok(row.try_get(0)?)
}

pub fn taken_ids(client: &mut Client, sql: &Sql, ids: &[&str]) -> Result<Vec<(String, Seq)>> {
    let rows = client.query_typed(
        &sql.of("SELECT id, seq FROM @jobs WHERE id = ANY($1)"),
        &[(&ids, Type::TEXT_ARRAY)],
    )?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

pub fn held_keys(client: &mut Client, sql: &Sql, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
    holders(
        client,
        sql,
        "SELECT id, seq FROM @jobs WHERE queue = p.queue AND dedup_key = p.name \
         AND status IN ('queued', 'scheduled', 'pending', 'claimed')",
        pairs,
    )
}

pub fn live_groups(client: &mut Client, sql: &Sql, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
    holders(
        client,
        sql,
        "SELECT id, seq FROM @jobs WHERE queue = p.queue AND job_group = p.name \
         AND status IN ('scheduled', 'pending', 'claimed')",
        pairs,
    )
}

/// The job `lookup` finds for each (queue, name) pair `p`, the pairs passed as two arrays:
/// at most one, by the unique index the lookup matches. Each pair is an index probe of its
/// own (`OFFSET 0` keeps the lateral lookup from being flattened into a join, which reads
/// every live job of every group, or every key, for each batch), and without a `LIMIT`
/// the planner is not tempted to scan the table for an early match. Statistics of a table
/// the import is filling can overestimate the rows each probe finds, and so the cost, past
/// the server's threshold for compiling the plan (JIT), which costs far more than the
/// probes: JIT is turned off for the transaction first.
fn holders(
    client: &mut Client,
    sql: &Sql,
    lookup: &str,
    pairs: &[(&str, &str)],
) -> Result<Vec<Holder>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let (queues, names): (Vec<&str>, Vec<&str>) = pairs.iter().copied().unzip();
    client.batch_execute(
        "SELECT set_config('jit', 'off', true) \
         WHERE current_setting('server_version_num')::int >= 110000",
    )?;
    let statement = format!(
        "SELECT p.queue, p.name, j.id, j.seq FROM unnest($1, $2) AS p(queue, name) \
         CROSS JOIN LATERAL ({lookup} OFFSET 0) AS j"
    );
    let rows = client.query_typed(
        &sql.of(&statement),
        &[(&queues, Type::TEXT_ARRAY), (&names, Type::TEXT_ARRAY)],
    )?;
    rows.iter()
        .map(|row| {
            Ok(Holder {
                queue: row.try_get(0)?,
                name: row.try_get(1)?,
                id: row.try_get(2)?,
                seq: row.try_get(3)?,
            })
        })
        .collect()
}

/// Adds the jobs in one statement, one array per column: `unnest` turns them back into
/// rows, in the arrays' order (`WITH ORDINALITY`), so the identity column numbers them in
/// this order. One unnamed statement, like every other, so that it runs through a pooler
/// in transaction mode (a COPY would prepare a named one).
pub fn insert_exact(client: &mut Client, sql: &Sql, jobs: &[(Job, Stored)]) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let c = Columns::of(jobs)?;
    let params: [(&(dyn ToSql + Sync), Type); 21] = [
        (&c.id, Type::TEXT_ARRAY),
        (&c.queue, Type::TEXT_ARRAY),
        (&c.job_type, Type::TEXT_ARRAY),
        (&c.payload, Type::TEXT_ARRAY),
        (&c.priority, Type::INT8_ARRAY),
        (&c.status, Type::TEXT_ARRAY),
        (&c.attempt_count, Type::INT8_ARRAY),
        (&c.max_retries, Type::INT8_ARRAY),
        (&c.backoff_ms, Type::INT8_ARRAY),
        (&c.backoff_max_ms, Type::INT8_ARRAY),
        (&c.group, Type::TEXT_ARRAY),
        (&c.key, Type::TEXT_ARRAY),
        (&c.worker, Type::TEXT_ARRAY),
        (&c.claim, Type::TEXT_ARRAY),
        (&c.claim_lapsed, Type::BOOL_ARRAY),
        (&c.visible_after, Type::INT8_ARRAY),
        (&c.output, Type::TEXT_ARRAY),
        (&c.errors, Type::TEXT_ARRAY),
        (&c.created_at, Type::INT8_ARRAY),
        (&c.updated_at, Type::INT8_ARRAY),
        (&c.finished_at, Type::INT8_ARRAY),
    ];
    client.execute_typed(&sql.of(INSERT_ROWS), &params)?;
    Ok(())
}

const INSERT_ROWS: &str = "INSERT INTO @jobs (id, queue, type, payload, priority, status, \
    attempt_count, max_retries, backoff_ms, backoff_max_ms, job_group, dedup_key, worker, \
    claim, claim_lapsed, visible_after, output, errors, created_at, updated_at, finished_at) \
    SELECT id, queue, type, payload, priority, status, attempt_count, max_retries, backoff_ms, \
    backoff_max_ms, job_group, dedup_key, worker, claim, claim_lapsed, visible_after, output, \
    errors, created_at, updated_at, finished_at FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, \
    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) WITH ORDINALITY AS \
    u(id, queue, type, payload, priority, status, attempt_count, max_retries, backoff_ms, \
    backoff_max_ms, job_group, dedup_key, worker, claim, claim_lapsed, visible_after, output, \
    errors, created_at, updated_at, finished_at, n) ORDER BY n";

/// A batch of jobs, a column at a time.
struct Columns<'a> {
    id: Vec<&'a str>,
    queue: Vec<&'a str>,
    job_type: Vec<Option<&'a str>>,
    payload: Vec<&'a str>,
    priority: Vec<i64>,
    status: Vec<&'static str>,
    attempt_count: Vec<i64>,
    max_retries: Vec<i64>,
    backoff_ms: Vec<Option<i64>>,
    backoff_max_ms: Vec<Option<i64>>,
    group: Vec<Option<&'a str>>,
    key: Vec<Option<&'a str>>,
    worker: Vec<Option<&'a str>>,
    claim: Vec<Option<&'a str>>,
    claim_lapsed: Vec<bool>,
    visible_after: Vec<Option<i64>>,
    output: Vec<Option<&'a str>>,
    errors: Vec<String>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
    finished_at: Vec<Option<i64>>,
}

impl<'a> Columns<'a> {
    fn of(jobs: &'a [(Job, Stored)]) -> Result<Columns<'a>> {
        let column = |f: &dyn Fn(&'a Job) -> Option<&'a str>| -> Vec<Option<&'a str>> {
            jobs.iter().map(|(job, _)| f(job)).collect()
        };
        Ok(Columns {
            id: jobs.iter().map(|(j, _)| j.id.as_str()).collect(),
            queue: jobs.iter().map(|(j, _)| j.queue.as_str()).collect(),
            job_type: column(&|j| j.job_type.as_deref()),
            payload: jobs.iter().map(|(j, _)| j.payload.as_str()).collect(),
            priority: jobs.iter().map(|(j, _)| j.priority).collect(),
            status: jobs.iter().map(|(_, stored)| stored.as_str()).collect(),
            attempt_count: jobs
                .iter()
                .map(|(j, _)| i64::from(j.attempt_count))
                .collect(),
            max_retries: jobs.iter().map(|(j, _)| i64::from(j.max_retries)).collect(),
            backoff_ms: jobs
                .iter()
                .map(|(j, _)| j.backoff.map(|b| b.base))
                .collect(),
            backoff_max_ms: jobs
                .iter()
                .map(|(j, _)| j.backoff.and_then(|b| b.max))
                .collect(),
            group: column(&|j| j.group.as_deref()),
            key: column(&|j| j.key.as_deref()),
            worker: column(&|j| j.worker.as_deref()),
            claim: column(&|j| j.claim.as_deref()),
            claim_lapsed: jobs.iter().map(|(j, _)| j.claim_lapsed).collect(),
            visible_after: jobs.iter().map(|(j, _)| j.visible_after).collect(),
            output: column(&|j| j.output.as_deref()),
            errors: jobs
                .iter()
                .map(|(j, _)| serde_json::to_string(&j.errors))
                .collect::<serde_json::Result<_>>()?,
            created_at: jobs.iter().map(|(j, _)| j.created_at).collect(),
            updated_at: jobs.iter().map(|(j, _)| j.updated_at).collect(),
            finished_at: jobs.iter().map(|(j, _)| j.finished_at).collect(),
        })
    }
}

pub fn stranded_group(
    client: &mut Client,
    sql: &Sql,
    after: Seq,
) -> Result<Option<(String, String)>> {
    let rows = client.query_typed(
        &sql.of(
            "SELECT queue, job_group FROM @jobs AS waiting WHERE seq > $1 AND status = 'queued' \
             AND NOT EXISTS (SELECT 1 FROM @jobs AS live WHERE live.queue = waiting.queue \
             AND live.job_group = waiting.job_group \
             AND live.status IN ('scheduled', 'pending', 'claimed')) LIMIT 1",
        ),
        &[(&after, Type::INT8)],
    )?;
    match rows.first() {
        Some(row) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
        None => Ok(None),
    }
}

//! Moving jobs in and out in PostgreSQL's SQL: `export`'s pages in enqueue order, and
//! `import`'s lookups and inserts, a batch at a time, so that a million jobs cost a few
//! thousand round trips: each lookup is one statement over arrays, and the jobs go in by
//! binary COPY.

use anyhow::Result;
use postgres::binary_copy::BinaryCopyInWriter;
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

/// The columns `insert_exact` copies, and their types, in order.
const COPIED: &str = "id, queue, type, payload, priority, status, attempt_count, max_retries, \
    backoff_ms, backoff_max_ms, job_group, dedup_key, worker, claim, claim_lapsed, \
    visible_after, output, errors, created_at, updated_at, finished_at";

const COPIED_TYPES: [Type; 21] = [
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BOOL,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
];

/// Adds the jobs in one binary COPY: the identity column numbers them in this order.
pub fn insert_exact(client: &mut Client, sql: &Sql, jobs: &[(Job, Stored)]) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let copy =
        client.copy_in(&sql.of(&format!("COPY @jobs ({COPIED}) FROM STDIN (FORMAT binary)")))?;
    let mut writer = BinaryCopyInWriter::new(copy, &COPIED_TYPES);
    for (job, stored) in jobs {
        let errors = serde_json::to_string(&job.errors)?;
        let row: [&(dyn ToSql + Sync); 21] = [
            &job.id,
            &job.queue,
            &job.job_type,
            &job.payload,
            &job.priority,
            &stored.as_str(),
            &i64::from(job.attempt_count),
            &i64::from(job.max_retries),
            &job.backoff.map(|b| b.base),
            &job.backoff.and_then(|b| b.max),
            &job.group,
            &job.key,
            &job.worker,
            &job.claim,
            &job.claim_lapsed,
            &job.visible_after,
            &job.output,
            &errors,
            &job.created_at,
            &job.updated_at,
            &job.finished_at,
        ];
        writer.write(&row)?;
    }
    writer.finish()?;
    Ok(())
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

//! The rules' transaction operations ([`Tx`]) in PostgreSQL's SQL, under READ COMMITTED and
//! without any global lock: `load` locks its row (`FOR UPDATE`); claims, expiry and the
//! promotion of due jobs lock only rows nobody else holds (`FOR UPDATE SKIP LOCKED`), so
//! workers on many hosts claim side by side; a group's changes are serialised by a
//! transaction-scoped advisory lock on the group alone. Every statement is unnamed
//! (`query_typed`), so it also runs through a pooler in transaction mode.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use postgres::types::{ToSql, Type};
use postgres::Client;

use super::reads::{purge_conditions, settings_in};
use super::serving;
use super::spool::Spool;
use super::sql::{self, job_from_row, wide, Sql};
use super::transfer;
use crate::job::{ClaimRequest, Job, PurgeFilter, QueueSettings, Status};
use crate::store::backend::{Deleted, Holder, Inserted, NewRow, Seq, Stored, Tx};
use crate::time::Millis;
use crate::tokens::Token;

/// Due delayed jobs made claimable per claim; the rest wait for the next claim.
const PROMOTE_BATCH: i64 = 1_000;

pub struct PgTx<'a> {
    client: &'a mut Client,
    sql: &'a Sql,
    schema: &'a str,
    /// See [`Tx::now`].
    now: Millis,
    /// A test's clock stands still: `now` is not moved on.
    fixed: bool,
    /// Queues where this transaction made a job claimable now: each is told once, at commit.
    pub claimable: BTreeSet<String>,
    /// The rows [`Tx::insert_many`] added, kept to be read back after the commit.
    pub added: Spool,
}

/// The server's time, as the last column of a statement's rows. In a locking read it is
/// evaluated as each row is produced: after the statement's snapshot was taken, and after
/// any wait for the row's lock (PostgreSQL produces the row again once the lock is had).
const CLOCK: &str = "floor(extract(epoch FROM clock_timestamp()) * 1000)::int8";

impl<'a> PgTx<'a> {
    pub fn new(
        client: &'a mut Client,
        sql: &'a Sql,
        schema: &'a str,
        now: Millis,
        fixed: bool,
    ) -> Self {
        PgTx {
            client,
            sql,
            schema,
            now,
            fixed,
            claimable: BTreeSet::new(),
            added: Spool::default(),
        }
    }

    /// Moves `now` on to a time the server read after this transaction saw what it saw.
    fn seen_at(&mut self, at: Millis) {
        if !self.fixed {
            self.now = self.now.max(at);
        }
    }

    /// Jobs from a statement selecting `{cols}`, with [`CLOCK`] added as the last column.
    fn rows(
        &mut self,
        template: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<(Seq, Stored, Job)>> {
        let template = template.replace("{cols}", &format!("{{cols}}, {CLOCK}"));
        let rows = self.client.query_typed(&self.sql.of(&template), params)?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            self.seen_at(row.try_get(sql::JOB_COLUMN_COUNT)?);
            jobs.push(job_from_row(row)?);
        }
        Ok(jobs)
    }

    fn jobs(
        &mut self,
        template: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<(Seq, Job)>> {
        Ok(self
            .rows(template, params)?
            .into_iter()
            .map(|(seq, _, job)| (seq, job))
            .collect())
    }

    fn exists(&mut self, template: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> Result<bool> {
        let row = self
            .client
            .query_typed_one(&self.sql.of(template), params)?;
        Ok(row.try_get(0)?)
    }

    fn execute(&mut self, template: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> Result<u64> {
        Ok(self.client.execute_typed(&self.sql.of(template), params)?)
    }

    fn note(&mut self, queue: &str, stored: Stored) {
        if stored == Stored::Pending && !self.claimable.contains(queue) {
            self.claimable.insert(queue.to_string());
        }
    }
}

impl Tx for PgTx<'_> {
    fn now(&self) -> Millis {
        self.now
    }

    fn load(&mut self, id: &str) -> Result<Option<(Seq, Job)>> {
        Ok(self
            .jobs(
                "SELECT {cols} FROM @jobs WHERE id = $1 FOR UPDATE",
                &[(&id, Type::TEXT)],
            )?
            .pop())
    }

    fn queue_of(&mut self, id: &str) -> Result<Option<String>> {
        let row = self.client.query_typed_opt(
            &self.sql.of("SELECT queue FROM @jobs WHERE id = $1"),
            &[(&id, Type::TEXT)],
        )?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    fn update(&mut self, seq: Seq, job: &Job, stored: Stored) -> Result<()> {
        let errors = serde_json::to_string(&job.errors)?;
        self.execute(
            "UPDATE @jobs SET status = $1, attempt_count = $2, worker = $3, claim = $4, \
             claim_lapsed = $5, visible_after = $6, output = $7, errors = $8, \
             updated_at = $9, finished_at = $10 WHERE seq = $11",
            &[
                (&stored.as_str(), Type::TEXT),
                (&i64::from(job.attempt_count), Type::INT8),
                (&job.worker, Type::TEXT),
                (&job.claim, Type::TEXT),
                (&job.claim_lapsed, Type::BOOL),
                (&job.visible_after, Type::INT8),
                (&job.output, Type::TEXT),
                (&errors, Type::TEXT),
                (&job.updated_at, Type::INT8),
                (&job.finished_at, Type::INT8),
                (&seq, Type::INT8),
            ],
        )?;
        self.note(&job.queue, stored);
        Ok(())
    }

    fn insert(&mut self, job: &Job, stored: Stored) -> Result<Inserted> {
        // DO NOTHING, not an error: a key taken by a transaction that committed while this
        // one waited on the index is a deduplication, not a failure.
        let inserted = self.client.query_typed(
            &self.sql.of(
                "INSERT INTO @jobs (id, queue, type, payload, priority, status, max_retries, \
                 backoff_ms, backoff_max_ms, job_group, dedup_key, visible_after, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $13) ON CONFLICT DO NOTHING RETURNING seq",
            ),
            &[
                (&job.id, Type::TEXT),
                (&job.queue, Type::TEXT),
                (&job.job_type, Type::TEXT),
                (&job.payload, Type::TEXT),
                (&job.priority, Type::INT8),
                (&stored.as_str(), Type::TEXT),
                (&i64::from(job.max_retries), Type::INT8),
                (&job.backoff.map(|b| b.base), Type::INT8),
                (&job.backoff.and_then(|b| b.max), Type::INT8),
                (&job.group, Type::TEXT),
                (&job.key, Type::TEXT),
                (&job.visible_after, Type::INT8),
                (&job.created_at, Type::INT8),
            ],
        )?;
        if let Some(row) = inserted.first() {
            self.note(&job.queue, stored);
            return Ok(Inserted::Added(row.try_get(0)?));
        }
        if self.exists(
            "SELECT EXISTS (SELECT 1 FROM @jobs WHERE id = $1)",
            &[(&job.id, Type::TEXT)],
        )? {
            return Ok(Inserted::IdTaken);
        }
        if job.key.is_some() {
            return Ok(Inserted::KeyTaken);
        }
        bail!(
            "cannot enqueue into {}: group {} already has a live job",
            job.queue,
            job.group.as_deref().unwrap_or_default()
        )
    }

    fn insert_many(&mut self, p: &Job, stored: Stored, rows: &[NewRow]) -> Result<Inserted> {
        if p.key.is_some() || (p.group.is_some() && stored.is_live()) || rows.is_empty() {
            bail!("cannot add jobs with a key, a group's live job, or no jobs, many at a time");
        }
        let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
        let payloads: Vec<&str> = rows.iter().map(|row| row.payload.as_str()).collect();
        // One statement for all the rows: arrays unnested in their order, which the
        // identity follows, so `seq` keeps the lines' order. Without a key or a live group
        // job, only an id can clash: the conflict target names that index alone, so the
        // server checks no other ahead of each row.
        let inserted = self.client.query_typed(
            &self.sql.of(
                "INSERT INTO @jobs (id, queue, type, payload, priority, status, max_retries, \
                 backoff_ms, backoff_max_ms, job_group, dedup_key, visible_after, created_at, \
                 updated_at) SELECT r.id, $3, $4, r.payload, $5, $6, $7, $8, $9, $10, NULL, \
                 $11, $12, $12 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY \
                 AS r(id, payload, n) ORDER BY r.n ON CONFLICT (id) DO NOTHING RETURNING seq",
            ),
            &[
                (&ids, Type::TEXT_ARRAY),
                (&payloads, Type::TEXT_ARRAY),
                (&p.queue, Type::TEXT),
                (&p.job_type, Type::TEXT),
                (&p.priority, Type::INT8),
                (&stored.as_str(), Type::TEXT),
                (&i64::from(p.max_retries), Type::INT8),
                (&p.backoff.map(|b| b.base), Type::INT8),
                (&p.backoff.and_then(|b| b.max), Type::INT8),
                (&p.group, Type::TEXT),
                (&p.visible_after, Type::INT8),
                (&p.created_at, Type::INT8),
            ],
        )?;
        let seqs = inserted
            .iter()
            .map(|row| row.try_get::<_, Seq>(0))
            .collect::<Result<Vec<Seq>, _>>()?;
        if seqs.len() < rows.len() {
            // An id was taken. Rows added after it would come before it once it is drawn
            // again: take them out, so the whole statement runs again with new ids.
            self.execute(
                "DELETE FROM @jobs WHERE seq = ANY($1)",
                &[(&seqs, Type::INT8_ARRAY)],
            )?;
            return Ok(Inserted::IdTaken);
        }
        self.added.push(rows)?;
        self.note(&p.queue, stored);
        let first = seqs.iter().min().copied().unwrap_or_default();
        Ok(Inserted::Added(first))
    }

    fn delete(&mut self, seq: Seq) -> Result<()> {
        self.execute("DELETE FROM @jobs WHERE seq = $1", &[(&seq, Type::INT8)])?;
        Ok(())
    }

    fn unfinished_with_key(&mut self, queue: &str, key: &str) -> Result<Option<Job>> {
        Ok(self
            .jobs(
                "SELECT {cols} FROM @jobs WHERE queue = $1 AND dedup_key = $2 \
                 AND status IN ('queued', 'scheduled', 'pending', 'claimed')",
                &[(&queue, Type::TEXT), (&key, Type::TEXT)],
            )?
            .pop()
            .map(|(_, job)| job))
    }

    fn finished_jobs(&mut self, queue: &str, status: Status) -> Result<Vec<(Seq, Job)>> {
        let stored = Stored::settled(status).as_str();
        self.jobs(
            "SELECT {cols} FROM @jobs WHERE queue = $1 AND status = $2 ORDER BY seq FOR UPDATE",
            &[(&queue, Type::TEXT), (&stored, Type::TEXT)],
        )
    }

    fn last_seq(&mut self) -> Result<Seq> {
        transfer::last_seq(self.client, self.sql)
    }

    fn taken_ids(&mut self, ids: &[&str]) -> Result<Vec<(String, Seq)>> {
        transfer::taken_ids(self.client, self.sql, ids)
    }

    fn held_keys(&mut self, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
        transfer::held_keys(self.client, self.sql, pairs)
    }

    fn live_groups(&mut self, pairs: &[(&str, &str)]) -> Result<Vec<Holder>> {
        transfer::live_groups(self.client, self.sql, pairs)
    }

    /// Takes no group locks: an import may hold thousands of groups, more advisory locks
    /// than the server's lock table has room for. The unique index on a group's live job
    /// refuses a concurrent enqueue that would make a second one.
    fn insert_exact(&mut self, jobs: &[(Job, Stored)]) -> Result<()> {
        transfer::insert_exact(self.client, self.sql, jobs)?;
        for (job, stored) in jobs {
            self.note(&job.queue, *stored);
        }
        Ok(())
    }

    fn stranded_group(&mut self, after: Seq) -> Result<Option<(String, String)>> {
        transfer::stranded_group(self.client, self.sql, after)
    }

    fn lock_group(&mut self, queue: &str, group: &str) -> Result<()> {
        // Unit separators keep ("a", "b:c") and ("a:b", "c") apart. A hash collision only
        // serialises two groups that need not be: never wrong, rarely slower.
        let key = format!("queueprim\u{1f}{}\u{1f}{queue}\u{1f}{group}", self.schema);
        // The time is read once the lock is had: the subquery runs first.
        let row = self.client.query_typed_one(
            &format!(
                "SELECT {CLOCK} FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) \
                 AS locked"
            ),
            &[(&key, Type::TEXT)],
        )?;
        self.seen_at(row.try_get(0)?);
        Ok(())
    }

    fn group_has_live(&mut self, queue: &str, group: &str, except: Option<Seq>) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM @jobs WHERE queue = $1 AND job_group = $2 \
             AND status IN ('scheduled', 'pending', 'claimed') AND seq <> $3)",
            &[
                (&queue, Type::TEXT),
                (&group, Type::TEXT),
                (&except.unwrap_or(-1), Type::INT8),
            ],
        )
    }

    fn group_has_queued(&mut self, queue: &str, group: &str) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM @jobs WHERE queue = $1 AND job_group = $2 \
             AND status = 'queued')",
            &[(&queue, Type::TEXT), (&group, Type::TEXT)],
        )
    }

    fn group_next_queued(
        &mut self,
        queue: &str,
        group: &str,
    ) -> Result<Option<(Seq, Option<Millis>)>> {
        let rows = self.client.query_typed(
            &self.sql.of(
                "SELECT seq, visible_after FROM @jobs WHERE queue = $1 AND job_group = $2 \
                 AND status = 'queued' ORDER BY seq LIMIT 1",
            ),
            &[(&queue, Type::TEXT), (&group, Type::TEXT)],
        )?;
        match rows.first() {
            Some(row) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
            None => Ok(None),
        }
    }

    fn set_stored(&mut self, seq: Seq, queue: &str, stored: Stored) -> Result<()> {
        self.execute(
            "UPDATE @jobs SET status = $2 WHERE seq = $1",
            &[(&seq, Type::INT8), (&stored.as_str(), Type::TEXT)],
        )?;
        self.note(queue, stored);
        Ok(())
    }

    fn expired_claims(
        &mut self,
        queue: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<(Seq, Job)>> {
        let limit = limit as i64;
        // A claim another transaction holds is being completed, failed or released right
        // now, or expired by another claimer: skipping it counts each expiry once.
        match queue {
            Some(queue) => self.jobs(
                "SELECT {cols} FROM @jobs WHERE queue = $1 AND status = 'claimed' \
                 AND visible_after <= $2 ORDER BY visible_after LIMIT $3 \
                 FOR UPDATE SKIP LOCKED",
                &[
                    (&queue, Type::TEXT),
                    (&now, Type::INT8),
                    (&limit, Type::INT8),
                ],
            ),
            None => self.jobs(
                "SELECT {cols} FROM @jobs WHERE status = 'claimed' AND visible_after <= $1 \
                 ORDER BY visible_after LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[(&now, Type::INT8), (&limit, Type::INT8)],
            ),
        }
    }

    fn promote_due(&mut self, queue: &str, now: Millis) -> Result<()> {
        // ANY(ARRAY(…)) runs the locking subquery exactly once (an InitPlan); an IN
        // (subquery) may be planned as a join that locks more rows than its LIMIT.
        self.execute(
            "UPDATE @jobs SET status = 'pending' WHERE seq = ANY(ARRAY(SELECT seq FROM @jobs \
             WHERE queue = $1 AND status = 'scheduled' AND visible_after <= $2 \
             ORDER BY visible_after LIMIT $3 FOR UPDATE SKIP LOCKED))",
            &[
                (&queue, Type::TEXT),
                (&now, Type::INT8),
                (&PROMOTE_BATCH, Type::INT8),
            ],
        )?;
        Ok(())
    }

    fn ready(&mut self, req: &ClaimRequest) -> Result<Vec<(Seq, Job)>> {
        let limit = req.count as i64;
        match &req.job_type {
            None => self.jobs(
                "SELECT {cols} FROM @jobs WHERE queue = $1 AND status = 'pending' \
                 ORDER BY priority DESC, seq LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[(&req.queue, Type::TEXT), (&limit, Type::INT8)],
            ),
            Some(job_type) => self.jobs(
                "SELECT {cols} FROM @jobs WHERE queue = $1 AND type = $3 \
                 AND status = 'pending' ORDER BY priority DESC, seq LIMIT $2 \
                 FOR UPDATE SKIP LOCKED",
                &[
                    (&req.queue, Type::TEXT),
                    (&limit, Type::INT8),
                    (job_type, Type::TEXT),
                ],
            ),
        }
    }

    fn settings(&mut self, queue: &str) -> Result<QueueSettings> {
        settings_in(self.client, self.sql, queue)
    }

    fn write_settings(&mut self, queue: &str, s: &QueueSettings) -> Result<()> {
        self.execute(
            "INSERT INTO @queue_settings (queue, paused, timeout_ms, max_retries, backoff_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (queue) DO UPDATE SET paused = $2, \
             timeout_ms = $3, max_retries = $4, backoff_ms = $5",
            &[
                (&queue, Type::TEXT),
                (&s.paused, Type::BOOL),
                (&s.timeout_ms, Type::INT8),
                (&wide(s.max_retries), Type::INT8),
                (&s.backoff_ms, Type::INT8),
            ],
        )?;
        // A resumed queue may have work waiting for it.
        if !s.paused {
            self.note(queue, Stored::Pending);
        }
        Ok(())
    }

    fn purge_batch(&mut self, filter: &PurgeFilter, limit: usize) -> Result<Vec<Deleted>> {
        let cond = purge_conditions(filter);
        let sql = self.sql.of(&format!(
            "DELETE FROM @jobs WHERE seq = ANY(ARRAY(SELECT seq FROM @jobs {} LIMIT {limit} \
             FOR UPDATE)) RETURNING queue, job_group, status",
            cond.clause()
        ));
        let rows = self.client.query_typed(&sql, &cond.params())?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get(2)?;
                Ok(Deleted {
                    queue: row.try_get(0)?,
                    group: row.try_get(1)?,
                    stored: Stored::parse(&status).map_err(anyhow::Error::msg)?,
                })
            })
            .collect()
    }

    fn savepoint(&mut self) -> Result<()> {
        serving::savepoint(self.client)
    }

    fn next_savepoint(&mut self) -> Result<()> {
        serving::next_savepoint(self.client)
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        serving::rollback_to_savepoint(self.client)
    }

    fn ended_to_retry(&self, err: &anyhow::Error) -> bool {
        super::errors::is_retryable(err)
    }

    fn insert_token(&mut self, token: &Token) -> Result<()> {
        serving::insert_token(self.client, self.sql, token)
    }

    fn revoke_token(&mut self, id: &str, at: Millis) -> Result<Option<Token>> {
        serving::revoke_token(self.client, self.sql, id, at)
    }
}

//! The PostgreSQL engine, for producers and workers on many hosts: one connection per
//! process, secured as libpq's `sslmode` says (`tls`), the tables in their own schema,
//! every time read from the server's clock, and waiters woken by LISTEN/NOTIFY (`listen`:
//! on that connection, or on a direct one beside a pooler). Transactions run side by side
//! under READ COMMITTED; `tx` says how each operation stays correct without a global lock.

mod errors;
mod listen;
mod reads;
mod schema;
mod serving;
mod spool;
mod sql;
mod target;
mod tls;
mod transfer;
mod tx;

use std::collections::BTreeSet;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{anyhow, Result};
use postgres::{Client, SimpleQueryMessage};

use super::backend::{Backend, BatchFn, Changed, ReadBackFn, Readiness, Seq, Stored, WriteFn};
use super::{OpenOptions, Synchronous};
use crate::job::{Finished, Job, ListFilter, PurgeFilter, QueueCounts, QueueSettings};
use crate::time::Millis;
use crate::tokens::Token;
use errors::explain;
use listen::Listener;
pub use schema::SCHEMA_VERSION;
use sql::Sql;
pub use target::Target;

/// How long a statement waits for a row or group lock before the command gives up; as long
/// as SQLite waits for its write lock.
const LOCK_TIMEOUT: &str = "30s";
/// How often a transaction the server failed to break a deadlock is run again.
const RETRIES: u32 = 5;

/// An open connection to queueprim's schema on a PostgreSQL server.
pub struct Db {
    client: Client,
    /// Where to connect again after the server went away.
    target: Target,
    sql: Sql,
    schema: String,
    name: String,
    synchronous: Synchronous,
    /// The channel commits notify when they make a job claimable; its payload is the queue.
    channel: String,
    /// Where waiters hear of those notifications.
    listener: Listener,
}

impl Db {
    /// Connects, and creates or migrates the schema when needed.
    pub fn open(target: &Target, options: &OpenOptions) -> Result<Db> {
        let mut db = Db::connect(target, options)?;
        let version = db.reading("open", |client, _| schema::version(client, &target.schema))?;
        if version != Some(SCHEMA_VERSION) {
            db.migrate(version)?;
        }
        Ok(db)
    }

    /// Connects, and returns `None` when queueprim's schema is not on the server: reading
    /// commands then report no jobs and create nothing.
    pub fn open_existing(target: &Target, options: &OpenOptions) -> Result<Option<Db>> {
        let mut db = Db::connect(target, options)?;
        match db.reading("open", |client, _| schema::version(client, &target.schema))? {
            None => Ok(None),
            Some(SCHEMA_VERSION) => Ok(Some(db)),
            Some(version) => {
                db.migrate(Some(version))?;
                Ok(Some(db))
            }
        }
    }

    /// Connects for a command that only reads: `None` when queueprim's schema is not on the
    /// server, and nothing is ever created or migrated.
    pub fn open_for_reading(target: &Target, options: &OpenOptions) -> Result<Option<Db>> {
        let mut db = Db::connect(target, options)?;
        match db.reading("open", |client, _| schema::version(client, &target.schema))? {
            None => Ok(None),
            Some(SCHEMA_VERSION) => Ok(Some(db)),
            Some(version) => {
                let context = format!("cannot read {}", db.name);
                schema::refuse_newer(version).map_err(|e| explain(&context, e))?;
                Err(explain(
                    &context,
                    anyhow!(
                        "its schema is at version {version}, older than this build's                          {SCHEMA_VERSION}; any command that writes migrates it"
                    ),
                ))
            }
        }
    }

    fn connect(target: &Target, options: &OpenOptions) -> Result<Db> {
        let name = target.name().to_string();
        let client =
            tls::connect(target).map_err(|e| explain(&format!("cannot connect to {name}"), e))?;
        let channel = format!("queueprim.{}", target.schema);
        Ok(Db {
            client,
            target: target.clone(),
            sql: Sql::new(&target.schema),
            schema: target.schema.clone(),
            listener: Listener::new(&channel, &target.schema),
            channel,
            name,
            synchronous: options.synchronous,
        })
    }

    fn migrate(&mut self, version: Option<i64>) -> Result<()> {
        let context = format!("cannot set up schema {} on {}", self.schema, self.name);
        if let Some(version) = version {
            schema::refuse_newer(version).map_err(|e| explain(&context, e))?;
        }
        schema::migrate(&mut self.client, &self.schema).map_err(|e| explain(&context, e))
    }

    /// Runs a read, naming the database in any failure.
    fn reading<T>(
        &mut self,
        what: &str,
        read: impl FnOnce(&mut Client, &Sql) -> Result<T>,
    ) -> Result<T> {
        read(&mut self.client, &self.sql)
            .map_err(|e| explain(&format!("cannot {what} {}", self.name), e))
    }

    /// One attempt at a write: see [`Db::transaction`].
    fn write_once(&mut self, fixed_now: Option<Millis>, f: &mut WriteFn) -> Result<()> {
        self.transaction(fixed_now, |tx| f(tx))
    }

    /// Runs `f` in one transaction and commits it: BEGIN, the lock timeout, the durability
    /// asked for, the server's time and the schema version go in one round trip; the
    /// notifications for queues that got claimable work go with the COMMIT.
    fn transaction<T>(
        &mut self,
        fixed_now: Option<Millis>,
        f: impl FnOnce(&mut tx::PgTx) -> Result<T>,
    ) -> Result<T> {
        let relaxed = match self.synchronous {
            Synchronous::Full => "",
            Synchronous::Normal => "SET LOCAL synchronous_commit = off; ",
        };
        let begin = self.sql.of(&format!(
            "BEGIN; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; {relaxed}\
             SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::int8, \
             (SELECT version FROM @queueprim_meta)"
        ));
        let result = self
            .client
            .simple_query(&begin)
            .map_err(anyhow::Error::from)
            .and_then(|messages| {
                let (now, version) = now_and_version(&messages)?;
                schema::refuse_newer(version)?;
                let mut tx = tx::PgTx::new(
                    &mut self.client,
                    &self.sql,
                    &self.schema,
                    fixed_now.unwrap_or(now),
                    fixed_now.is_some(),
                );
                let value = f(&mut tx)?;
                Ok((value, std::mem::take(&mut tx.claimable)))
            });
        let result = result.and_then(|done| {
            self.hold_before_commit()?;
            Ok(done)
        });
        match result {
            Ok((value, claimable)) => {
                let commit = format!("{}COMMIT", self.notifications(&claimable));
                self.client.simple_query(&commit)?;
                Ok(value)
            }
            Err(e) => {
                // The connection may be gone; the server rolls back on its own then.
                let _ = self.client.batch_execute("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Test builds only: with `QUEUEPRIM_TEST_HOLD_COMMIT=KEY`, waits for the advisory lock
    /// KEY just before COMMIT, so a test holding that lock can stop a transaction there and
    /// run another beside it: the interleavings of `tests/integration/interleavings.rs`.
    fn hold_before_commit(&mut self) -> Result<()> {
        #[cfg(debug_assertions)]
        if let Some(key) = std::env::var("QUEUEPRIM_TEST_HOLD_COMMIT")
            .ok()
            .and_then(|key| key.parse::<i64>().ok())
        {
            self.client
                .simple_query(&format!("SELECT pg_advisory_xact_lock_shared({key})"))?;
        }
        Ok(())
    }

    /// `SELECT pg_notify(…);` for each queue, to run just before COMMIT: delivered only if
    /// the transaction commits, once per queue however many jobs it added. Queue names and
    /// the channel hold no quotes (they are checked on input), so they are safe as literals.
    fn notifications(&self, queues: &BTreeSet<String>) -> String {
        queues
            .iter()
            .map(|queue| format!("SELECT pg_notify('{}', '{queue}'); ", self.channel))
            .collect()
    }
}

/// The time and schema version the BEGIN batch selected.
fn now_and_version(messages: &[SimpleQueryMessage]) -> Result<(Millis, i64)> {
    let row = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .ok_or_else(|| anyhow!("the server sent no time"))?;
    let field = |i: usize| -> Result<i64> {
        row.get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("the server sent an unreadable value in column {i}"))
    };
    Ok((field(0)?, field(1)?))
}

impl Backend for Db {
    fn name(&self) -> &str {
        &self.name
    }

    fn most_writes_together(&self) -> usize {
        // Each write runs under a savepoint: a subtransaction. A backend keeps 64 of them in
        // shared memory; past that every other session's snapshot has to look transactions
        // up in pg_subtrans, a known way to slow a whole server.
        64
    }

    fn now(&mut self) -> Result<Millis> {
        self.reading("read the time of", |client, _| {
            let row = client.query_typed_one(
                "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::int8",
                &[],
            )?;
            Ok(row.try_get(0)?)
        })
    }

    fn write(&mut self, fixed_now: Option<Millis>, f: &mut WriteFn) -> Result<()> {
        let context = format!("cannot write to {}", self.name);
        let mut attempt = 0;
        loop {
            match self.write_once(fixed_now, f) {
                Err(e) if errors::is_retryable(&e) && attempt < RETRIES => {
                    attempt += 1;
                    sleep(Duration::from_millis(u64::from(attempt) * 5));
                }
                result => return result.map_err(|e| explain(&context, e)),
            }
        }
    }

    /// Like [`Backend::write`], but never run again: `add` consumes its input. The rows it
    /// added are kept as they were inserted (see `spool.rs` for why that is what the commit
    /// wrote) and read back from there.
    fn write_batch(
        &mut self,
        fixed_now: Option<Millis>,
        add: Box<BatchFn>,
        read: Box<ReadBackFn>,
    ) -> Result<()> {
        let context = format!("cannot write to {}", self.name);
        let mut added = self
            .transaction(fixed_now, |tx| {
                add(tx)?;
                std::mem::take(&mut tx.added).finish()
            })
            .map_err(|e| explain(&context, e))?;
        read(&mut added)
    }

    fn get(&mut self, id: &str) -> Result<Option<Job>> {
        self.reading("read", |client, sql| reads::get(client, sql, id))
    }

    fn list(&mut self, filter: &ListFilter, emit: &mut dyn FnMut(Job) -> Result<()>) -> Result<()> {
        self.reading("read", |client, sql| reads::list(client, sql, filter, emit))
    }

    fn count_matching(&mut self, filter: &ListFilter) -> Result<u64> {
        self.reading("read", |client, sql| {
            reads::count_matching(client, sql, filter)
        })
    }

    fn counts_by_queue(&mut self) -> Result<Vec<QueueCounts>> {
        self.reading("read", reads::counts_by_queue)
    }

    fn settings(&mut self, queue: &str) -> Result<QueueSettings> {
        self.reading("read", |client, sql| reads::settings_in(client, sql, queue))
    }

    fn all_settings(&mut self) -> Result<Vec<(String, QueueSettings)>> {
        self.reading("read", reads::all_settings)
    }

    fn purge_count(&mut self, filter: &PurgeFilter) -> Result<u64> {
        self.reading("read", |client, sql| {
            reads::purge_count(client, sql, filter)
        })
    }

    fn export_page(
        &mut self,
        queues: &[String],
        after: Seq,
        limit: u64,
    ) -> Result<Vec<(Seq, Stored, Job)>> {
        self.reading("read", |client, sql| {
            transfer::export_page(client, sql, queues, after, limit)
        })
    }

    fn peek(&mut self, queue: &str, limit: u64, now: Millis) -> Result<Vec<Job>> {
        self.reading("read", |client, sql| {
            reads::peek(client, sql, queue, limit, now)
        })
    }

    fn readiness(&mut self, queue: &str, job_type: Option<&str>) -> Result<Readiness> {
        self.reading("read", |client, sql| {
            reads::readiness(client, sql, queue, job_type)
        })
    }

    fn has_unfinished(&mut self, queue: &str, job_type: Option<&str>) -> Result<bool> {
        self.reading("read", |client, sql| {
            reads::has_unfinished(client, sql, queue, job_type)
        })
    }

    fn schema_version(&mut self) -> Result<i64> {
        let schema = self.schema.clone();
        self.reading("read", |client, _| {
            Ok(schema::version(client, &schema)?.unwrap_or(0))
        })
    }

    fn sizes(&mut self) -> Result<(u64, Option<u64>)> {
        self.reading("read", |client, sql| {
            let row = client.query_typed_one(
                &sql.of("SELECT pg_total_relation_size('@jobs') \
                     + pg_total_relation_size('@queue_settings')"),
                &[],
            )?;
            Ok((row.try_get::<_, i64>(0)?.max(0) as u64, None))
        })
    }

    fn connected(&mut self) -> bool {
        listen::alive(&mut self.client) && self.listener.connected()
    }

    fn reconnect(&mut self) -> Result<()> {
        // Asked again, not looked up: a connection that hangs is not closed, yet is gone.
        let main_replaced = !listen::alive(&mut self.client);
        if main_replaced {
            let options = OpenOptions {
                synchronous: self.synchronous,
                create_dir: false,
            };
            self.client = Db::connect(&self.target, &options)?.client;
        }
        self.listener
            .reconnect(&mut self.client, &self.name, main_replaced)
    }

    fn changes(&mut self, queue: &str) -> Result<u64> {
        self.listener.changes(&mut self.client, &self.name, queue)
    }

    fn wait_for_changes(&mut self, seen: u64, queue: &str, max: Duration) -> Result<u64> {
        self.listener
            .wait(&mut self.client, &self.name, seen, queue, max)
    }

    fn wait_for_any_change(&mut self, max: Duration) -> Result<Changed> {
        self.listener.wait_any(&mut self.client, &self.name, max)
    }

    fn oldest_pending(&mut self) -> Result<Vec<(String, Millis)>> {
        self.reading("read", serving::oldest_pending)
    }

    fn finished(&mut self, since: Millis, bucket: Millis) -> Result<Vec<Finished>> {
        self.reading("read", |client, sql| {
            reads::finished(client, sql, since, bucket)
        })
    }

    fn tokens(&mut self) -> Result<Vec<Token>> {
        self.reading("read", serving::tokens)
    }

    fn token_by_hash(&mut self, hash: &str) -> Result<Option<Token>> {
        self.reading("read", |client, sql| {
            serving::token_by_hash(client, sql, hash)
        })
    }
}

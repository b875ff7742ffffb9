//! The seam between the queue's rules and a database engine. The rules (`jobs`, `claims`,
//! `groups`, …) are written once against [`Tx`], the operations one transaction offers;
//! each engine (`sqlite/`, `postgres/`) implements [`Backend`] and [`Tx`] with its own SQL.
//! No SQL and no engine type crosses this seam.

use std::time::Duration;

use anyhow::Result;

use crate::job::{
    ClaimRequest, Finished, Job, ListFilter, PurgeFilter, QueueCounts, QueueSettings, Status,
};
use crate::time::Millis;
use crate::tokens::Token;

/// A job's place in enqueue order: the FIFO tie-break and the order within a group.
pub type Seq = i64;

/// Where a job is stored. Users see four statuses; a pending job is stored apart while it
/// waits for its time (`Scheduled`) or behind its group (`Queued`), so that the claim index
/// holds only jobs that can be claimed now and a claim never steps over another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Queued,
    Scheduled,
    Pending,
    Claimed,
    Done,
    Dead,
}

impl Stored {
    pub fn as_str(self) -> &'static str {
        match self {
            Stored::Queued => "queued",
            Stored::Scheduled => "scheduled",
            Stored::Pending => "pending",
            Stored::Claimed => "claimed",
            Stored::Done => "done",
            Stored::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Result<Stored, String> {
        Ok(match s {
            "queued" => Stored::Queued,
            "scheduled" => Stored::Scheduled,
            "pending" => Stored::Pending,
            "claimed" => Stored::Claimed,
            "done" => Stored::Done,
            "dead" => Stored::Dead,
            other => return Err(format!("unknown stored status '{other}'")),
        })
    }

    /// The status users see.
    pub fn status(self) -> Status {
        match self {
            Stored::Queued | Stored::Scheduled | Stored::Pending => Status::Pending,
            Stored::Claimed => Status::Claimed,
            Stored::Done => Status::Done,
            Stored::Dead => Status::Dead,
        }
    }

    /// Where a job of this status is stored, for every status but pending, whose place
    /// depends on its group and its time ([`Stored::for_pending`]).
    pub fn settled(status: Status) -> Stored {
        match status {
            Status::Pending => Stored::Pending,
            Status::Claimed => Stored::Claimed,
            Status::Done => Stored::Done,
            Status::Dead => Stored::Dead,
        }
    }

    /// Where a pending job is stored: queued behind an earlier job of its group, scheduled
    /// until it is visible, pending once it can be claimed.
    pub fn for_pending(job: &Job, behind_group: bool, now: Millis) -> Stored {
        match job.visible_after {
            _ if behind_group => Stored::Queued,
            Some(visible) if visible > now => Stored::Scheduled,
            _ => Stored::Pending,
        }
    }

    /// Whether a job stored so is its group's live job (at most one per group).
    pub fn is_live(self) -> bool {
        matches!(self, Stored::Scheduled | Stored::Pending | Stored::Claimed)
    }
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Added(Seq),
    /// Another job already has this id (a rare collision): draw another and retry.
    IdTaken,
    /// An unfinished job of the queue already has this dedup key (on PostgreSQL possibly
    /// committed by another transaction a moment ago): look it up again.
    KeyTaken,
}

/// A job's own values in [`Tx::insert_many`], beside the prototype all the rows share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRow {
    pub id: String,
    pub payload: String,
}

/// The rows a batch added ([`Tx::insert_many`]), read back after its commit, in the order
/// they were added, as the commit wrote them.
pub trait AddedRows {
    /// The next row added; `None` after the last.
    fn next_row(&mut self) -> Result<Option<NewRow>>;
}

/// A stored job that holds a (queue, name) pair an imported job wants: a dedup key of an
/// unfinished job, or the live place of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub queue: String,
    /// The key or the group.
    pub name: String,
    pub id: String,
    pub seq: Seq,
}

/// A deleted job, as far as its group is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub queue: String,
    pub group: Option<String>,
    pub stored: Stored,
}

/// The operations one write transaction offers the rules. Rows are locked as the engine
/// needs: on PostgreSQL `load` locks the row (`FOR UPDATE`) and the claim paths skip rows
/// others hold (`SKIP LOCKED`); SQLite holds the write lock for the whole transaction.
pub trait Tx {
    /// The time to stamp changes with. SQLite reads it once the transaction holds the write
    /// lock. On PostgreSQL it is read when the transaction begins and moved on to the
    /// server's time at each read that locks rows (which may wait, and which sees what
    /// committed before it): a change is never stamped earlier than a commit it has seen.
    fn now(&self) -> Millis;

    /// The job with this id, locked for this transaction; `None` if there is none.
    fn load(&mut self, id: &str) -> Result<Option<(Seq, Job)>>;
    /// The queue of the job with this id, read without locking it: whether a caller may
    /// touch a job is asked before anything of it is locked.
    fn queue_of(&mut self, id: &str) -> Result<Option<String>>;
    /// Writes back every column a transition may change.
    fn update(&mut self, seq: Seq, job: &Job, stored: Stored) -> Result<()>;
    fn insert(&mut self, job: &Job, stored: Stored) -> Result<Inserted>;
    /// Inserts jobs that are `prototype` but for their ids and payloads (`rows`, in order),
    /// in as few statements as the engine likes: all of them, in this order (their `seq`s
    /// follow it), or none. `Added` holds the first row's `seq`. Rows added so are what
    /// [`Backend::write_batch`] reads back after the commit.
    fn insert_many(&mut self, prototype: &Job, stored: Stored, rows: &[NewRow])
        -> Result<Inserted>;
    fn delete(&mut self, seq: Seq) -> Result<()>;
    /// The unfinished job of `queue` holding dedup key `key`.
    fn unfinished_with_key(&mut self, queue: &str, key: &str) -> Result<Option<Job>>;
    /// Every job of a queue with this (user-visible, finished) status, in enqueue order,
    /// locked.
    fn finished_jobs(&mut self, queue: &str, status: Status) -> Result<Vec<(Seq, Job)>>;

    // `import`: what an imported job would clash with, and an insert that keeps every
    // column as given (see `transfer`).

    /// The highest enqueue position stored so far; jobs inserted later come after it.
    fn last_seq(&mut self) -> Result<Seq>;
    /// Of these ids, the ones a stored job has, with that job's position.
    fn taken_ids(&mut self, ids: &[&str]) -> Result<Vec<(String, Seq)>>;
    /// Of these (queue, dedup key) pairs, the ones an unfinished job holds.
    fn held_keys(&mut self, pairs: &[(&str, &str)]) -> Result<Vec<Holder>>;
    /// Of these (queue, group) pairs, the ones whose group has a live job.
    fn live_groups(&mut self, pairs: &[(&str, &str)]) -> Result<Vec<Holder>>;
    /// Adds jobs exactly as given, every column kept, in this order after every stored job.
    fn insert_exact(&mut self, jobs: &[(Job, Stored)]) -> Result<()>;
    /// A (queue, group) with a job inserted after position `after` that waits behind the
    /// group's live job when the group has none.
    fn stranded_group(&mut self, after: Seq) -> Result<Option<(String, String)>>;

    /// Serialises the transactions that change one group's state, until commit. A no-op
    /// where the whole database is locked for writing anyway.
    fn lock_group(&mut self, queue: &str, group: &str) -> Result<()>;
    /// Whether a job of the group other than `except` is live.
    fn group_has_live(&mut self, queue: &str, group: &str, except: Option<Seq>) -> Result<bool>;
    /// Whether a job of the group waits behind its live job.
    fn group_has_queued(&mut self, queue: &str, group: &str) -> Result<bool>;
    /// The group's first waiting job and when it becomes visible.
    fn group_next_queued(
        &mut self,
        queue: &str,
        group: &str,
    ) -> Result<Option<(Seq, Option<Millis>)>>;
    fn set_stored(&mut self, seq: Seq, queue: &str, stored: Stored) -> Result<()>;

    /// Claims past their deadline, in one queue or all, at most `limit`, skipping rows
    /// another transaction holds.
    fn expired_claims(
        &mut self,
        queue: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<(Seq, Job)>>;
    /// Makes the queue's delayed jobs that have fallen due claimable.
    fn promote_due(&mut self, queue: &str, now: Millis) -> Result<()>;
    /// The next claimable jobs in claim order (priority, then enqueue order), skipping rows
    /// another transaction holds.
    fn ready(&mut self, req: &ClaimRequest) -> Result<Vec<(Seq, Job)>>;

    fn settings(&mut self, queue: &str) -> Result<QueueSettings>;
    fn write_settings(&mut self, queue: &str, settings: &QueueSettings) -> Result<()>;

    /// Deletes up to `limit` jobs matching the filter, reporting each.
    fn purge_batch(&mut self, filter: &PurgeFilter, limit: usize) -> Result<Vec<Deleted>>;

    /// Marks a point this transaction can go back to. Each write of a group commit runs
    /// under one, so a write that fails is undone alone and the others commit.
    fn savepoint(&mut self) -> Result<()>;
    /// Keeps what was done since the savepoint and marks a new one, at once (on PostgreSQL
    /// one round trip between two writes of a group commit, not two).
    fn next_savepoint(&mut self) -> Result<()>;
    /// Undoes what was done since the savepoint, which stays marked for the next write.
    fn rollback_to_savepoint(&mut self) -> Result<()>;
    /// Whether a write's failure was the engine ending the whole transaction so that it
    /// can be run again (PostgreSQL breaking a deadlock), rather than a refusal of the
    /// write: a group commit then runs every write of it again instead of failing one.
    fn ended_to_retry(&self, err: &anyhow::Error) -> bool;

    /// Stores a new API token (its secret only as a hash).
    fn insert_token(&mut self, token: &Token) -> Result<()>;
    /// Marks a token revoked at `at`, unless it already was, and returns it; `None` when
    /// there is no token with that id.
    fn revoke_token(&mut self, id: &str, at: Millis) -> Result<Option<Token>>;
}

/// A write for [`Backend::write`]: runs inside one transaction. It may run more than once
/// when the engine asks to retry (a deadlock broken by PostgreSQL), so it keeps its
/// results, not its side effects.
pub type WriteFn<'a> = dyn FnMut(&mut dyn Tx) -> Result<()> + 'a;

/// The adding half of [`Backend::write_batch`]: runs once, inside the transaction. It reads
/// its input as it goes, so unlike a [`WriteFn`] it can never be run again.
pub type BatchFn<'a> = dyn FnOnce(&mut dyn Tx) -> Result<()> + 'a;

/// The reading half of [`Backend::write_batch`]: runs once, after the commit.
pub type ReadBackFn<'a> = dyn FnOnce(&mut dyn AddedRows) -> Result<()> + 'a;

/// Whether a queue has something to claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The queue is paused: nothing may be claimed from it, whatever is there.
    pub paused: bool,
    /// A claimable job is there now.
    pub ready: bool,
    /// The earliest delayed job or claim deadline of the queue.
    pub next_due: Option<Millis>,
}

/// What a watcher of every queue learnt while it waited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Nothing: the wait ran out.
    Nothing,
    /// Work may have become claimable in these queues.
    Queues(Vec<String>),
    /// Something was committed, in queues the engine cannot name (SQLite): look at all.
    Everything,
}

/// An open database of one engine. `Send`, so a server can keep stores on its own threads.
pub trait Backend: Send {
    /// The database as messages name it: a file, or a server and schema (never a password).
    fn name(&self) -> &str;
    /// The most writes one group commit should take into its transaction.
    fn most_writes_together(&self) -> usize;
    /// The engine's current time: the system clock for SQLite, the server's for PostgreSQL.
    fn now(&mut self) -> Result<Millis>;
    /// Runs `f` in one write transaction and commits it. With `fixed_now` (a test's clock),
    /// [`Tx::now`] is that time throughout.
    fn write(&mut self, fixed_now: Option<Millis>, f: &mut WriteFn) -> Result<()>;
    /// Runs `add` in one write transaction and commits it, then hands `read` the rows `add`
    /// inserted with [`Tx::insert_many`], exactly as committed, whatever other transactions
    /// did to them since. `add` runs once: a failure the engine would retry is returned.
    /// Memory stays flat however many rows there are.
    fn write_batch(
        &mut self,
        fixed_now: Option<Millis>,
        add: Box<BatchFn>,
        read: Box<ReadBackFn>,
    ) -> Result<()>;

    fn get(&mut self, id: &str) -> Result<Option<Job>>;
    /// Calls `emit` for each matching job, newest first, a page at a time.
    fn list(&mut self, filter: &ListFilter, emit: &mut dyn FnMut(Job) -> Result<()>) -> Result<()>;
    /// How many jobs match the filter, whatever its limit.
    fn count_matching(&mut self, filter: &ListFilter) -> Result<u64>;
    /// Counts by status for each queue that has jobs, by queue name.
    fn counts_by_queue(&mut self) -> Result<Vec<QueueCounts>>;
    fn settings(&mut self, queue: &str) -> Result<QueueSettings>;
    /// Every queue that has settings, by name.
    fn all_settings(&mut self) -> Result<Vec<(String, QueueSettings)>>;
    /// One page of `export`: up to `limit` jobs after position `after`, in enqueue order, of
    /// `queues` (of all when it is empty), each with where it is stored.
    fn export_page(
        &mut self,
        queues: &[String],
        after: Seq,
        limit: u64,
    ) -> Result<Vec<(Seq, Stored, Job)>>;
    fn purge_count(&mut self, filter: &PurgeFilter) -> Result<u64>;
    /// The visible pending jobs in claim order, delayed ones due by `now` included.
    fn peek(&mut self, queue: &str, limit: u64, now: Millis) -> Result<Vec<Job>>;
    /// Whether the queue (or its jobs of one type) has a job that is not finished: pending,
    /// delayed, waiting in its group, backing off, or claimed by anyone.
    fn has_unfinished(&mut self, queue: &str, job_type: Option<&str>) -> Result<bool>;
    /// The schema version the database is at.
    fn schema_version(&mut self) -> Result<i64>;
    /// What the database takes up, and SQLite's write-ahead log beside it.
    fn sizes(&mut self) -> Result<(u64, Option<u64>)>;
    /// Whether the queue is paused, whether a claim now would find something, and when
    /// something more falls due. Read-only and cheap, one round trip on a server: every
    /// dequeue and every waiter's look asks it before taking any lock.
    fn readiness(&mut self, queue: &str, job_type: Option<&str>) -> Result<Readiness>;

    /// Whether the connection to the database is still there: false once a PostgreSQL
    /// server went away (restarted, or the network dropped). A SQLite file is always there.
    fn connected(&mut self) -> bool;
    /// Connects again after [`Backend::connected`] said no. Waiters look again afterwards:
    /// notifications sent meanwhile are lost.
    fn reconnect(&mut self) -> Result<()>;

    /// A counter that moves whenever another process may have made work in `queue`
    /// claimable; cheap, never waits.
    fn changes(&mut self, queue: &str) -> Result<u64>;
    /// Waits until [`Backend::changes`] moves past `seen`, at most `max`, and returns it.
    fn wait_for_changes(&mut self, seen: u64, queue: &str, max: Duration) -> Result<u64>;
    /// Waits at most `max` for another commit to make work claimable in any queue: one
    /// watcher for every waiter of a server. The first call only starts watching.
    fn wait_for_any_change(&mut self, max: Duration) -> Result<Changed>;

    /// For each queue with claimable jobs, when the one visible longest became visible.
    fn oldest_pending(&mut self) -> Result<Vec<(String, Millis)>>;
    /// The jobs that finished (done or dead) at `since` or later, counted per queue and per
    /// stretch of `bucket` milliseconds from `since`, by queue then stretch.
    fn finished(&mut self, since: Millis, bucket: Millis) -> Result<Vec<Finished>>;
    /// Every API token, revoked and expired ones included, oldest first.
    fn tokens(&mut self) -> Result<Vec<Token>>;
    /// The token whose secret hashes to `hash`.
    fn token_by_hash(&mut self, hash: &str) -> Result<Option<Token>>;
}

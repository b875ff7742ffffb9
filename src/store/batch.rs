//! `enqueue --batch` in flat memory. Jobs are added one at a time as their lines are read,
//! all in one transaction, and handed out for printing after the commit by reading them
//! back a row at a time. The read starts before the commit and stays open after it, so it
//! sees exactly what the commit wrote, whatever other processes do meanwhile (a worker
//! claiming the first jobs, a purge). Memory holds one job at a time and a few counters.

use anyhow::{anyhow, Context as _, Result};
use rusqlite::{CachedStatement, Connection, Row, Rows, Transaction, TransactionBehavior};

use super::jobs::{
    bind_shared, insert_rows, insert_sql, prototype, row_params, unfinished_with_key, Defaults,
    STATUS_PARAM,
};
use super::rows::{job_from_row, pending_status, JOB_COLUMNS};
use super::{cannot_write, groups, schema, Store};
use crate::ids::IdGen;
use crate::job::{BatchJob, Job, NewJob};
use crate::time::Millis;

/// What became of each line, in input order, as runs: a million added jobs are one number.
#[derive(Debug, Default)]
struct Order {
    /// The `seq` of the first job added. Rows are added at the end of the table while this
    /// transaction holds the write lock, so the batch's jobs are exactly the rows from here
    /// on, in input order.
    first_added: Option<i64>,
    last_added: i64,
    runs: Vec<Run>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// This many jobs added, the next ones in `seq` order.
    Added(u64),
    /// This many lines that found the unfinished job `seq` holding their dedup key.
    Found { seq: i64, lines: u64 },
}

impl Order {
    /// Jobs added with `seq` from `first` to `last`.
    fn added(&mut self, first: i64, last: i64) -> Result<()> {
        // SQLite gives a new row the largest seq plus one, so this holds until seq reaches
        // i64::MAX; checked because the output depends on it.
        if self.first_added.is_some() && first <= self.last_added {
            return Err(anyhow!(
                "cannot add the batch: the table's row numbers ran out"
            ));
        }
        self.first_added.get_or_insert(first);
        self.last_added = last;
        let count = (last - first + 1) as u64;
        match self.runs.last_mut() {
            Some(Run::Added(n)) => *n += count,
            _ => self.runs.push(Run::Added(count)),
        }
        Ok(())
    }

    fn found(&mut self, seq: i64) {
        match self.runs.last_mut() {
            Some(Run::Found { seq: s, lines }) if *s == seq => *lines += 1,
            _ => self.runs.push(Run::Found { seq, lines: 1 }),
        }
    }

    /// The row whose read holds the committed snapshot: the first added, else the first
    /// found; none for an empty batch.
    fn anchor(&self) -> Option<i64> {
        self.first_added
            .or(self.runs.iter().find_map(|run| match run {
                Run::Found { seq, .. } => Some(*seq),
                Run::Added(_) => None,
            }))
    }
}

impl Store {
    /// Adds a job like `template` for each payload `payloads` yields, in one transaction:
    /// all of them or, on any error (a bad line included), none. After the commit, `print`
    /// gets the prototype of the jobs added (the job `template` became, without id and
    /// payload) and every line's job in input order, as the commit left them, read back one
    /// at a time; a line whose dedup key was taken gets the job that holds it.
    pub fn enqueue_stream<T>(
        &mut self,
        template: &NewJob,
        payloads: impl IntoIterator<Item = Result<String>>,
        print: impl FnOnce(&Job, &mut dyn Iterator<Item = Result<BatchJob>>) -> Result<T>,
    ) -> Result<T> {
        self.require_shared_wal_index("write to")?;
        let path = self.path.clone();
        // Each multi-row INSERT keeps a statement journal, to undo its rows if one clashes.
        // It holds a few dozen pages, just over what SQLite keeps in memory by default
        // before spilling to a temporary file: kept in memory, a million lines make half as
        // many writes.
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| cannot_write(&path, e.into()))?;
        schema::check_version(&tx)
            .with_context(|| format!("cannot write to database {}", path.display()))?;
        let now = (self.clock)();
        let (order, prototype) = add_all(&tx, &mut self.ids, template, payloads, now)
            .map_err(|e| cannot_write(&path, e))?;

        // Step a read of the batch's first row before committing: SQLite keeps a
        // connection's read open across COMMIT while one of its statements is mid-way, so
        // everything printed below comes from the state this commit made. The added jobs
        // are the prototype but for id and payload, so only those are read back.
        let failed = |e: rusqlite::Error| cannot_write(&path, e.into());
        let mut stmt = tx
            .prepare("SELECT seq, id, payload FROM jobs WHERE seq >= ?1 ORDER BY seq")
            .map_err(failed)?;
        let mut rows = stmt
            .query([order.anchor().unwrap_or(i64::MAX)])
            .map_err(failed)?;
        let anchor = match rows.next().map_err(failed)? {
            Some(row) => Some(added_from_row(row).map_err(failed)?),
            None if order.anchor().is_some() => {
                return Err(anyhow!("cannot add the batch: its first job is missing"))
            }
            None => None,
        };
        tx.execute_batch("COMMIT").map_err(failed)?;

        let first = anchor.filter(|_| order.first_added.is_some());
        let mut jobs = Committed {
            conn: &tx,
            rows: &mut rows,
            first,
            runs: order.runs.into_iter(),
            current: None,
            found: None,
        };
        print(&prototype, &mut jobs)
    }
}

/// An added job's id and payload, as the read-back query selects them.
fn added_from_row(row: &Row) -> rusqlite::Result<(String, String)> {
    Ok((row.get(1)?, row.get(2)?))
}

/// Jobs per INSERT statement. SQLite sets a statement up once per run (for this schema that
/// includes three temporary tables for the IN lists of its checks and partial indexes), so
/// a million jobs added one per statement spend about half their time on set-up.
const ROWS_PER_INSERT: usize = 512;
/// The most payload bytes held for one INSERT: past this, the jobs held go in one by one,
/// so a batch of large payloads still takes little memory.
const BYTES_PER_INSERT: usize = 1024 * 1024;

/// Adds the batch's jobs inside the open transaction, returning what became of each line.
fn add_all(
    tx: &Transaction,
    ids: &mut IdGen,
    template: &NewJob,
    payloads: impl IntoIterator<Item = Result<String>>,
    now: Millis,
) -> Result<(Order, Job)> {
    let job = prototype(tx, &mut Defaults::default(), template, now)?;
    let mut adder = Adder::new(tx, &job, now)?;
    // The job holding the batch's dedup key: once one line finds or adds it, the rest of
    // the batch finds it too.
    let mut key_holder = None;
    for payload in payloads {
        let payload = payload?;
        if job.key.is_some() && key_holder.is_none() {
            key_holder = unfinished_with_key(tx, &job.queue, job.key.as_deref())?.map(|(s, _)| s);
        }
        match key_holder {
            Some(seq) => adder.order.found(seq),
            None => adder.push(payload, ids)?,
        }
        if job.key.is_some() && key_holder.is_none() {
            adder.flush(ids)?;
            key_holder = Some(adder.order.last_added);
        }
    }
    adder.flush(ids)?;
    Ok((adder.order, job))
}

/// Adds jobs that differ only in their payloads, many per statement.
struct Adder<'tx> {
    tx: &'tx Transaction<'tx>,
    one: CachedStatement<'tx>,
    /// Prepared when a batch first fills it: most batches are small.
    many: Option<CachedStatement<'tx>>,
    /// Payloads waiting for a full statement.
    held: Vec<String>,
    held_bytes: usize,
    /// The batch's group has a job waiting or live, so its next jobs wait behind it.
    behind_group: bool,
    has_group: bool,
    job: Job,
    now: Millis,
    order: Order,
}

impl<'tx> Adder<'tx> {
    fn new(tx: &'tx Transaction<'tx>, job: &Job, now: Millis) -> Result<Self> {
        let behind_group = match &job.group {
            Some(group) => groups::is_busy(tx, &job.queue, group)?,
            None => false,
        };
        let mut adder = Adder {
            tx,
            one: tx.prepare_cached(&insert_sql(1))?,
            many: None,
            held: Vec::with_capacity(ROWS_PER_INSERT),
            held_bytes: 0,
            behind_group,
            has_group: job.group.is_some(),
            job: job.clone(),
            now,
            order: Order::default(),
        };
        // Bound once for the whole batch: only ids and payloads change from job to job.
        let status = adder.status();
        bind_shared(&mut adder.one, job, status, now)?;
        Ok(adder)
    }

    fn status(&self) -> &'static str {
        pending_status(&self.job, self.behind_group, self.now)
    }

    fn push(&mut self, payload: String, ids: &mut IdGen) -> Result<()> {
        self.held_bytes += payload.len();
        self.held.push(payload);
        if self.has_group && !self.behind_group {
            // The group's first job goes in alone; the rest of the group waits behind it.
            self.flush(ids)?;
            self.behind_group = true;
            let status = self.status();
            self.one.raw_bind_parameter(STATUS_PARAM, status)?;
        } else if self.held.len() == ROWS_PER_INSERT {
            self.add_held(ids)?;
        } else if self.held_bytes >= BYTES_PER_INSERT {
            self.flush(ids)?;
        }
        Ok(())
    }

    /// Adds a full statement's worth of payloads.
    fn add_held(&mut self, ids: &mut IdGen) -> Result<()> {
        let many = match &mut self.many {
            Some(many) => many,
            None => {
                let mut many = self.tx.prepare_cached(&insert_sql(ROWS_PER_INSERT))?;
                let status = pending_status(&self.job, self.behind_group, self.now);
                bind_shared(&mut many, &self.job, status, self.now)?;
                self.many.insert(many)
            }
        };
        for (k, payload) in self.held.iter().enumerate() {
            many.raw_bind_parameter(row_params(k).1, payload)?;
        }
        let (_, last) = insert_rows(self.tx, many, ROWS_PER_INSERT, ids, self.now)?;
        self.order.added(last - ROWS_PER_INSERT as i64 + 1, last)?;
        self.held.clear();
        self.held_bytes = 0;
        Ok(())
    }

    /// Adds the payloads held, one per statement.
    fn flush(&mut self, ids: &mut IdGen) -> Result<()> {
        for payload in self.held.drain(..) {
            self.one.raw_bind_parameter(row_params(0).1, &payload)?;
            let (_, seq) = insert_rows(self.tx, &mut self.one, 1, ids, self.now)?;
            self.order.added(seq, seq)?;
        }
        self.held_bytes = 0;
        Ok(())
    }
}

/// The batch's jobs in input order, read from the committed snapshot.
struct Committed<'a, 'stmt> {
    conn: &'a Connection,
    rows: &'a mut Rows<'stmt>,
    /// The first added job's id and payload, read before the commit to hold the snapshot.
    first: Option<(String, String)>,
    runs: std::vec::IntoIter<Run>,
    current: Option<Run>,
    /// The last job found by its key, kept for the other lines that found it.
    found: Option<(i64, Job)>,
}

impl Committed<'_, '_> {
    fn next_added(&mut self) -> Result<BatchJob> {
        let (id, payload) = match self.first.take() {
            Some(row) => row,
            None => self
                .rows
                .next()?
                .map(added_from_row)
                .transpose()?
                .ok_or_else(|| anyhow!("a job of the batch is missing from the database"))?,
        };
        Ok(BatchJob::Added { id, payload })
    }

    fn next_found(&mut self, seq: i64) -> Result<BatchJob> {
        if self.found.as_ref().is_none_or(|(s, _)| *s != seq) {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE seq = ?1");
            let row = self
                .conn
                .prepare_cached(&sql)?
                .query_row([seq], job_from_row)?;
            self.found = Some(row);
        }
        let (_, job) = self.found.as_ref().expect("just loaded");
        Ok(BatchJob::Found(Box::new(job.clone())))
    }
}

impl Iterator for Committed<'_, '_> {
    type Item = Result<BatchJob>;

    fn next(&mut self) -> Option<Self::Item> {
        let run = match self.current.take() {
            Some(run) => run,
            None => self.runs.next()?,
        };
        let (item, rest) = match run {
            Run::Added(n) => (self.next_added(), Run::Added(n - 1)),
            Run::Found { seq, lines } => (
                self.next_found(seq),
                Run::Found {
                    seq,
                    lines: lines - 1,
                },
            ),
        };
        self.current = match rest {
            Run::Added(0) | Run::Found { lines: 0, .. } => None,
            more => Some(more),
        };
        Some(item.context("the batch was enqueued, but reading it back failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenOptions, Synchronous};

    /// A store whose ids come from `seed`, at a fixed time.
    fn store(path: &std::path::Path, seed: u64) -> Store {
        let options = OpenOptions {
            synchronous: Synchronous::Normal,
            create_dir: false,
        };
        let mut store = Store::open(path, &options).unwrap();
        store.set_clock(Box::new(|| 1_764_000_000_000));
        store.ids = IdGen::seeded(seed);
        store
    }

    /// Runs a batch of `payloads` and returns what it printed.
    fn batch(store: &mut Store, payloads: &[String]) -> Vec<BatchJob> {
        let lines = payloads.iter().cloned().map(Ok);
        store
            .enqueue_stream(&NewJob::new("q", ""), lines, |_, jobs| jobs.collect())
            .unwrap()
    }

    #[test]
    fn an_id_taken_by_another_process_is_drawn_again_without_losing_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        // Another process that drew the same start in the same millisecond took the id.
        let taken = store(&path, 7).enqueue(&[NewJob::new("q", "0")]).unwrap();
        let taken = &taken[0].job.id;
        // One statement of 512 jobs starting with that id, then jobs added one by one; and
        // a batch of one, added alone.
        for count in [600, 1] {
            let payloads: Vec<String> = (1..=count).map(|n| n.to_string()).collect();
            let printed = batch(&mut store(&path, 7), &payloads);
            let added: Vec<(String, String)> = printed
                .into_iter()
                .map(|job| match job {
                    BatchJob::Added { id, payload } => (id, payload),
                    BatchJob::Found(job) => panic!("found {}", job.id),
                })
                .collect();
            let payloads_out: Vec<&String> = added.iter().map(|(_, p)| p).collect();
            assert_eq!(payloads_out, payloads.iter().collect::<Vec<_>>());
            assert!(added.iter().all(|(id, _)| id != taken));
            assert!(
                added.windows(2).all(|w| w[0].0 < w[1].0),
                "ids in line order"
            );
        }
        let counts = store(&path, 1).stats().unwrap();
        assert_eq!(counts.total(), 602, "{counts:?}");
    }

    #[test]
    fn order_keeps_runs_of_added_and_found_lines() {
        let mut order = Order::default();
        assert_eq!(order.anchor(), None);
        order.found(3);
        order.found(3);
        assert_eq!(order.anchor(), Some(3));
        order.added(10, 10).unwrap();
        order.added(11, 12).unwrap();
        order.found(10);
        assert_eq!(order.anchor(), Some(10));
        let expected = [
            Run::Found { seq: 3, lines: 2 },
            Run::Added(3),
            Run::Found { seq: 10, lines: 1 },
        ];
        assert_eq!(order.runs, expected);
        assert!(order.added(12, 13).is_err(), "row numbers must go up");
    }
}

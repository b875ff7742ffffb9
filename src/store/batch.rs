//! `enqueue --batch` in flat memory, on either engine. The lines are added as they are read,
//! all in one transaction, many jobs per statement ([`Tx::insert_many`]); after the commit
//! the engine hands back the rows it added exactly as committed ([`Backend::write_batch`]),
//! and they are printed in input order, whatever other processes do to them meanwhile (a
//! worker claiming the first jobs, a purge). Memory holds a statement's worth of jobs and a
//! few counters.
//!
//! The rules are those of a single enqueue, applied once for the whole batch: every line
//! shares the batch's options, so a key or a group decides the same for all of them.
//!
//! - With a dedup key, the first line is enqueued alone ([`jobs::insert`]): it adds the job
//!   holding the key, or finds the unfinished one that does. Every later line has the same
//!   key, so it finds that job (`deduplicated: true`) and adds nothing.
//! - With a group, the first line is enqueued alone too: it becomes the group's live job,
//!   or waits behind the group's jobs. The rest wait behind it, in line order.
//! - Queue defaults are read once; a bad line fails the transaction, so nothing is added.
//!
//! [`Backend::write_batch`]: super::backend::Backend::write_batch

use std::cell::Cell;

use anyhow::{anyhow, Context as _, Result};

use super::backend::{AddedRows, Inserted, NewRow, Stored, Tx};
use super::jobs::{self, new_job, Defaults, ID_ATTEMPTS};
use super::Store;
use crate::ids::IdGen;
use crate::job::{BatchJob, Enqueued, Job, NewJob};
use crate::time::Millis;

/// The most jobs per [`Tx::insert_many`]. SQLite sets a statement up once per run (for this
/// schema that includes three temporary tables for the IN lists of its checks and partial
/// indexes), and PostgreSQL pays a round trip per statement, so a million jobs added one per
/// statement spend most of their time on that.
const ROWS_PER_INSERT: usize = 512;
/// The most payload bytes held for one [`Tx::insert_many`]: past this the jobs held go in,
/// however few, so a batch of large payloads still takes little memory.
const BYTES_PER_INSERT: usize = 1024 * 1024;

/// What became of the batch's lines, in input order: `head`, then `repeats` more lines that
/// found the head's job by its key, then `added` jobs the engine reads back.
#[derive(Debug, Default)]
struct Order {
    /// The first line, enqueued alone because the batch has a key or a group.
    head: Option<Enqueued>,
    /// Lines after the head that found its job by their key (all of them, with a key).
    repeats: u64,
    /// Jobs added with [`Tx::insert_many`], one per remaining line.
    added: u64,
    /// The job the added ones are, but for id and payload.
    prototype: Option<Job>,
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
        let Store { db, ids, clock } = self;
        let fixed_now = clock.as_ref().map(|clock| clock());
        // Handed from the transaction to the read after its commit.
        let order = Cell::new(None);
        let printed = Cell::new(None);
        db.write_batch(
            fixed_now,
            Box::new(|tx| {
                order.set(Some(add_all(tx, ids, template, payloads)?));
                Ok(())
            }),
            Box::new(|rows| {
                let order = order
                    .take()
                    .ok_or_else(|| anyhow!("the batch committed without its order"))?;
                let prototype = order
                    .prototype
                    .clone()
                    .ok_or_else(|| anyhow!("the batch committed without its prototype"))?;
                let mut jobs = Committed::new(order, rows);
                printed.set(Some(print(&prototype, &mut jobs)?));
                Ok(())
            }),
        )?;
        printed
            .take()
            .ok_or_else(|| anyhow!("the batch committed without its output"))
    }
}

/// Adds the batch's jobs inside the open transaction, returning what became of each line.
fn add_all(
    tx: &mut dyn Tx,
    ids: &mut IdGen,
    template: &NewJob,
    payloads: impl IntoIterator<Item = Result<String>>,
) -> Result<Order> {
    let mut payloads = payloads.into_iter();
    let mut order = Order::default();
    let mut defaults = Defaults::default();
    if template.key.is_some() || template.group.is_some() {
        if let Some(first) = payloads.next().transpose()? {
            let line = NewJob {
                payload: first,
                ..template.clone()
            };
            order.head = Some(jobs::insert(tx, ids, &mut defaults, &line)?);
        }
    }
    let (max_retries, backoff) = defaults.fill_in(tx, template)?;
    let now = tx.now();
    let prototype = Job {
        payload: String::new(),
        ..new_job(String::new(), template, max_retries, backoff, now)
    };
    if template.key.is_some() {
        // Each line is still read and checked: a bad one rolls the batch back.
        for payload in payloads {
            payload?;
            order.repeats += 1;
        }
    } else {
        // Behind the head, when there is a group: it holds the group's lock until commit.
        let stored = Stored::for_pending(&prototype, template.group.is_some(), now);
        let mut adder = Adder::new(&prototype, stored, now);
        for payload in payloads {
            adder.push(tx, ids, payload?)?;
        }
        adder.flush(tx, ids)?;
        order.added = adder.added;
    }
    order.prototype = Some(prototype);
    Ok(order)
}

/// Adds jobs that differ only in their payloads, many per statement.
struct Adder<'a> {
    prototype: &'a Job,
    stored: Stored,
    now: Millis,
    /// Payloads waiting for a full statement; their ids are drawn when it runs.
    held: Vec<NewRow>,
    held_bytes: usize,
    added: u64,
}

impl<'a> Adder<'a> {
    fn new(prototype: &'a Job, stored: Stored, now: Millis) -> Self {
        Adder {
            prototype,
            stored,
            now,
            held: Vec::new(),
            held_bytes: 0,
            added: 0,
        }
    }

    fn push(&mut self, tx: &mut dyn Tx, ids: &mut IdGen, payload: String) -> Result<()> {
        self.held_bytes += payload.len();
        self.held.push(NewRow {
            id: String::new(),
            payload,
        });
        if self.held.len() >= ROWS_PER_INSERT || self.held_bytes >= BYTES_PER_INSERT {
            self.flush(tx, ids)?;
        }
        Ok(())
    }

    /// Adds the jobs held, with new ids; on the rare clash with an id already taken, the
    /// statement adds nothing and runs again with others.
    fn flush(&mut self, tx: &mut dyn Tx, ids: &mut IdGen) -> Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        for _ in 0..ID_ATTEMPTS {
            for row in &mut self.held {
                row.id = ids.job_id(self.now);
            }
            match tx.insert_many(self.prototype, self.stored, &self.held)? {
                Inserted::Added(_) => {
                    self.added += self.held.len() as u64;
                    self.held.clear();
                    self.held_bytes = 0;
                    return Ok(());
                }
                Inserted::IdTaken => ids.skip_ahead(),
                Inserted::KeyTaken => {
                    return Err(anyhow!(
                        "cannot enqueue into {}: a job without a key met a key",
                        self.prototype.queue
                    ))
                }
            }
        }
        Err(anyhow!(
            "cannot enqueue into {}: no free job ids after {ID_ATTEMPTS} tries",
            self.prototype.queue
        ))
    }
}

/// The batch's jobs in input order, as committed: the head, its repeats, then the rows the
/// engine reads back.
struct Committed<'a> {
    order: Order,
    /// The head's job, kept for the lines that found it by their key.
    holder: Option<Job>,
    rows: &'a mut dyn AddedRows,
}

impl<'a> Committed<'a> {
    fn new(order: Order, rows: &'a mut dyn AddedRows) -> Self {
        Committed {
            holder: order.head.as_ref().map(|head| head.job.clone()),
            order,
            rows,
        }
    }

    fn next_job(&mut self) -> Result<Option<BatchJob>> {
        if let Some(head) = self.order.head.take() {
            return Ok(Some(BatchJob::Whole(Box::new(head))));
        }
        if self.order.repeats > 0 {
            self.order.repeats -= 1;
            let job = self
                .holder
                .clone()
                .ok_or_else(|| anyhow!("a line found a job by its key, but there is none"))?;
            return Ok(Some(BatchJob::Whole(Box::new(Enqueued {
                job,
                deduplicated: true,
            }))));
        }
        if self.order.added > 0 {
            self.order.added -= 1;
            let row = self
                .rows
                .next_row()?
                .ok_or_else(|| anyhow!("a job of the batch is missing"))?;
            return Ok(Some(BatchJob::Added {
                id: row.id,
                payload: row.payload,
            }));
        }
        Ok(None)
    }
}

impl Iterator for Committed<'_> {
    type Item = Result<BatchJob>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_job()
            .context("the batch was enqueued, but reading it back failed")
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Location, OpenOptions, Synchronous};

    /// A store whose ids come from `seed`, at a fixed time.
    fn store(path: &std::path::Path, seed: u64) -> Store {
        let options = OpenOptions {
            synchronous: Synchronous::Normal,
            create_dir: false,
        };
        let mut store = Store::open(&Location::from(path.to_path_buf()), &options).unwrap();
        store.set_clock(Box::new(|| 1_764_000_000_000));
        store.ids = IdGen::seeded(seed);
        store
    }

    /// Runs a batch of `payloads` and returns the ids and payloads it printed.
    fn batch(store: &mut Store, payloads: &[String]) -> Vec<(String, String)> {
        let lines = payloads.iter().cloned().map(Ok);
        let printed: Vec<BatchJob> = store
            .enqueue_stream(&NewJob::new("q", ""), lines, |_, jobs| jobs.collect())
            .unwrap();
        printed
            .into_iter()
            .map(|job| match job {
                BatchJob::Added { id, payload } => (id, payload),
                BatchJob::Whole(e) => panic!("{} came whole", e.job.id),
            })
            .collect()
    }

    #[test]
    fn an_id_taken_by_another_process_is_drawn_again_without_losing_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        // Another process that drew the same start in the same millisecond took the id.
        let taken = store(&path, 7).enqueue(&[NewJob::new("q", "0")]).unwrap();
        let taken = &taken[0].job.id;
        // One full statement starting with that id, then a short one; and a batch of one.
        for count in [600, 1] {
            let payloads: Vec<String> = (1..=count).map(|n| n.to_string()).collect();
            let added = batch(&mut store(&path, 7), &payloads);
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
}

//! Moving jobs between databases. `export` reads every job with its full state, a page at a
//! time, each page its own short read. `import` adds jobs exactly as exported (state,
//! times, claim and history), all in one transaction, a batch at a time, and refuses what
//! would break the queue's rules: an id taken, two unfinished jobs with one dedup key, two
//! live jobs in one group, or a group whose jobs wait behind no live job.

use std::collections::HashMap;

use anyhow::{anyhow, Result};

use super::backend::{Holder, Seq, Stored, Tx};
use super::Store;
use crate::error::Error;
use crate::job::{Job, QueueSettings};

/// Jobs read per page of an export, as `list` reads them.
const EXPORT_PAGE: u64 = 500;
/// Jobs checked and inserted together by an import: few enough to hold, many enough that
/// PostgreSQL's round trips stay a small part of the time.
const IMPORT_BATCH: usize = 1_000;
/// The most text a batch holds before it is written, whatever its count: payloads and
/// outputs may be large.
const IMPORT_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// One checked line of an import.
#[derive(Debug, Clone)]
pub enum Record {
    /// A job exactly as it was, and where it was stored.
    Job(Box<Job>, Stored),
    /// A queue's settings.
    Settings(String, QueueSettings),
}

/// Where the records of an import come from: each with its line number, `None` at the end.
pub type Source<'a> = dyn FnMut() -> Result<Option<(u64, Record)>> + 'a;

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    /// Jobs whose id was already there (`--skip-existing`).
    pub skipped: u64,
    /// Queues whose settings were written.
    pub settings: u64,
}

impl Store {
    /// Calls `emit` for each job of `queues` (of all when empty) in enqueue order, with
    /// where it is stored, a page at a time: neither memory nor a read transaction grows
    /// with the number of jobs, and a slow reader holds no read open.
    pub fn export(
        &mut self,
        queues: &[String],
        mut emit: impl FnMut(&Job, Stored) -> Result<()>,
    ) -> Result<()> {
        let mut after = 0;
        loop {
            let page = self.db.export_page(queues, after, EXPORT_PAGE)?;
            let fetched = page.len() as u64;
            for (seq, stored, job) in page {
                after = seq;
                emit(&job, stored)?;
            }
            if fetched < EXPORT_PAGE {
                return Ok(());
            }
        }
    }

    /// The settings of `queues` (of every queue when empty) that have any, by name.
    pub fn export_settings(&mut self, queues: &[String]) -> Result<Vec<(String, QueueSettings)>> {
        let mut all = self.db.all_settings()?;
        if !queues.is_empty() {
            all.retain(|(queue, _)| queues.contains(queue));
        }
        Ok(all)
    }

    /// Adds every record `source` yields, in one transaction: all of them or, on any error
    /// (a bad line, a clash, a failure of the database), none. With `skip_existing`, a job
    /// whose id is already stored is left as it is and its record skipped; without, it is
    /// refused as a conflict.
    pub fn import(&mut self, source: &mut Source, skip_existing: bool) -> Result<ImportReport> {
        let name = self.name().to_string();
        let mut started = false;
        self.write(|tx, _, _| {
            // The input is read as the transaction goes: one the engine asks to run again
            // cannot be, as what it read is gone.
            if std::mem::replace(&mut started, true) {
                return Err(anyhow!(
                    "the database ended the import's transaction to break a deadlock, and its \
                     input was already read; nothing was imported, run it again"
                ));
            }
            let start = tx.last_seq()?;
            let mut import = Import {
                tx,
                db: &name,
                start,
                skip_existing,
                batch: Vec::new(),
                batch_bytes: 0,
                report: ImportReport::default(),
            };
            import.run(source)
        })
    }
}

/// An import under way, inside its transaction.
struct Import<'a> {
    tx: &'a mut dyn Tx,
    /// The database, as messages name it.
    db: &'a str,
    /// Jobs stored after this position were added by this import.
    start: Seq,
    skip_existing: bool,
    /// Jobs read but not checked and inserted yet, with their line numbers.
    batch: Vec<(u64, Job, Stored)>,
    batch_bytes: usize,
    report: ImportReport,
}

impl Import<'_> {
    fn run(&mut self, source: &mut Source) -> Result<ImportReport> {
        while let Some((line, record)) = source()? {
            match record {
                Record::Settings(queue, settings) => {
                    self.tx.write_settings(&queue, &settings)?;
                    self.report.settings += 1;
                }
                Record::Job(job, stored) => {
                    self.batch_bytes += size(&job);
                    self.batch.push((line, *job, stored));
                    if self.batch.len() >= IMPORT_BATCH || self.batch_bytes >= IMPORT_BATCH_BYTES {
                        self.flush()?;
                    }
                }
            }
        }
        self.flush()?;
        if let Some((queue, group)) = self.tx.stranded_group(self.start)? {
            return Err(refused(Error::invalid(format!(
                "group {group} of queue {queue} has jobs waiting (stored queued) behind no \
                 live job: its live job (pending, scheduled or claimed) is missing from the \
                 input"
            ))));
        }
        Ok(self.report)
    }

    /// Checks the batch against itself and the database, then inserts what it keeps.
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let skipped = self.check_ids(&batch)?;
        if !skipped.is_empty() {
            batch.retain(|(line, _, _)| !skipped.contains(line));
            self.report.skipped += skipped.len() as u64;
        }
        let keys = pairs(&batch, KEY, |job, stored| {
            let unfinished = !matches!(stored, Stored::Done | Stored::Dead);
            unfinished.then_some(job.key.as_deref()).flatten()
        });
        let held = self.tx.held_keys(&keys.pairs())?;
        keys.check(&held, self)?;
        let groups = pairs(&batch, GROUP, |job, stored| {
            stored.is_live().then_some(job.group.as_deref()).flatten()
        });
        let live = self.tx.live_groups(&groups.pairs())?;
        groups.check(&live, self)?;
        let jobs: Vec<(Job, Stored)> = batch.into_iter().map(|(_, j, s)| (j, s)).collect();
        self.tx.insert_exact(&jobs)?;
        self.report.imported += jobs.len() as u64;
        Ok(())
    }

    /// Refuses an id twice in the input, or one already stored unless such jobs are to be
    /// skipped; returns the lines to skip.
    fn check_ids(&mut self, batch: &[(u64, Job, Stored)]) -> Result<Vec<u64>> {
        let mut lines: HashMap<&str, u64> = HashMap::with_capacity(batch.len());
        for (line, job, _) in batch {
            if let Some(first) = lines.insert(&job.id, *line) {
                return Err(at_line(
                    *line,
                    Error::invalid(format!("job {} is also on line {first}", job.id)),
                ));
            }
        }
        let ids: Vec<&str> = batch.iter().map(|(_, job, _)| job.id.as_str()).collect();
        let mut taken: Vec<(u64, String, Seq)> = self
            .tx
            .taken_ids(&ids)?
            .into_iter()
            .filter_map(|(id, seq)| Some((*lines.get(id.as_str())?, id, seq)))
            .collect();
        taken.sort_unstable();
        let mut skipped = Vec::new();
        for (line, id, seq) in taken {
            if seq > self.start {
                return Err(at_line(
                    line,
                    Error::invalid(format!("job {id} is also on an earlier line")),
                ));
            }
            if !self.skip_existing {
                return Err(at_line(
                    line,
                    Error::conflict(format!(
                        "job {id} is already in {} (--skip-existing leaves such jobs as they \
                         are and imports the rest)",
                        self.db
                    )),
                ));
            }
            skipped.push(line);
        }
        Ok(skipped)
    }
}

/// A rule that gives a (queue, name) pair to one job at a time.
struct Rule {
    /// What a job is that has the pair: `unfinished with dedup key`.
    holds: &'static str,
    /// The rule, as messages state it.
    rule: &'static str,
}

const KEY: Rule = Rule {
    holds: "unfinished with dedup key",
    rule: "a key belongs to one unfinished job of its queue at a time",
};

const GROUP: Rule = Rule {
    holds: "live in group",
    rule: "a group has one live job (pending, delayed or claimed) at a time, the others \
           wait behind it",
};

/// The (queue, name) pairs that jobs of a batch hold under a rule, each with the first
/// line that holds it, and the first line that holds one again.
struct Pairs<'a> {
    rule: Rule,
    first: HashMap<(&'a str, &'a str), (u64, &'a str)>,
    /// (line, id, first line, first id, queue, name).
    twice: Option<(u64, &'a str, u64, &'a str, &'a str, &'a str)>,
}

fn pairs<'a>(
    batch: &'a [(u64, Job, Stored)],
    rule: Rule,
    name: impl Fn(&'a Job, Stored) -> Option<&'a str>,
) -> Pairs<'a> {
    let mut found = Pairs {
        rule,
        first: HashMap::new(),
        twice: None,
    };
    for (line, job, stored) in batch {
        let Some(name) = name(job, *stored) else {
            continue;
        };
        let queue = job.queue.as_str();
        match found.first.get(&(queue, name)) {
            Some(&(first, first_id)) => {
                let again = (*line, job.id.as_str(), first, first_id, queue, name);
                found.twice = found.twice.or(Some(again));
            }
            None => {
                found.first.insert((queue, name), (*line, job.id.as_str()));
            }
        }
    }
    found
}

impl Pairs<'_> {
    fn pairs(&self) -> Vec<(&str, &str)> {
        self.first.keys().copied().collect()
    }

    /// Refuses the first line whose pair another job holds: in this batch or earlier in
    /// the input (bad input), or in the database before the import (a conflict).
    fn check(&self, held: &[Holder], import: &Import) -> Result<()> {
        let Rule { holds, rule } = &self.rule;
        let mut problems: Vec<(u64, Error)> = Vec::new();
        if let Some((line, id, first, first_id, queue, name)) = self.twice {
            problems.push((
                line,
                Error::invalid(format!(
                    "job {id} and job {first_id} on line {first} are both {holds} '{name}' of \
                     queue {queue}; {rule}"
                )),
            ));
        }
        for h in held {
            let Some(&(line, id)) = self.first.get(&(h.queue.as_str(), h.name.as_str())) else {
                continue;
            };
            let about = format!("job {id} is {holds} '{}' of queue {}", h.name, h.queue);
            let error = if h.seq > import.start {
                Error::invalid(format!(
                    "{about}, as is job {} earlier in the input; {rule}",
                    h.id
                ))
            } else {
                Error::conflict(format!(
                    "{about}, as is job {} already in {}; {rule}",
                    h.id, import.db
                ))
            };
            problems.push((line, error));
        }
        match problems.into_iter().min_by_key(|(line, _)| *line) {
            Some((line, error)) => Err(at_line(line, error)),
            None => Ok(()),
        }
    }
}

/// The text a job holds, roughly, to bound a batch's memory.
fn size(job: &Job) -> usize {
    job.payload.len()
        + job.output.as_ref().map_or(0, String::len)
        + job
            .errors
            .iter()
            .map(|e| e.reason.len() + 64)
            .sum::<usize>()
        + 256
}

/// An error about one line of the input.
fn at_line(line: u64, error: Error) -> anyhow::Error {
    refused(Error::new(
        error.kind,
        format!("line {line}: {}", error.message),
    ))
}

/// Says that the import as a whole was refused.
fn refused(error: Error) -> anyhow::Error {
    Error::new(
        error.kind,
        format!("{}; nothing was imported", error.message),
    )
    .into()
}

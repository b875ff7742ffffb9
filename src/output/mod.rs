//! Rendering at the edge: commands hand domain data to a [`Printer`], which writes JSON,
//! JSON lines or a table to stdout. Errors and notes for people go to stderr.

mod json;
mod table;

use std::io::{self, BufWriter, IsTerminal, Stdout, Write};

use anyhow::Result;
use serde::Serialize;

use crate::cli::Format;
use crate::error::Report;
use crate::job::{BatchJob, Counts, Enqueued, Job, QueueCounts, QueueSettings, SweepReport};
use crate::time::{now, rfc3339, Millis};
use crate::worker::{Event, JobResult, Summary};
use json::{
    AddedJson, CountsJson, EnqueuedJson, ErrorBody, ErrorJson, JobJson, PurgeJson, QueueJson,
    QueueSettingsJson, SettingsJson, SweepJson, WorkEventJson, WorkSummaryJson,
};

/// The format to use when none was asked for: tables for a person at a terminal, JSON for
/// pipes and scripts.
pub fn default_format() -> Format {
    if io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    }
}

/// Writes one error to stderr, as a line or as the JSON error object, in a single write so
/// errors from processes sharing a terminal or log never interleave.
pub fn print_error(format: Format, report: &Report) {
    let mut line = match format {
        Format::Json | Format::Jsonl => {
            let body = ErrorJson {
                error: ErrorBody {
                    kind: report.kind,
                    message: &report.message,
                },
            };
            serde_json::to_string(&body).unwrap_or_default()
        }
        Format::Table => format!("error: {}", report.message),
    };
    line.push('\n');
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Rows per table when a long list is printed a page at a time.
const TABLE_PAGE: usize = 1000;

/// Where results go.
pub struct Printer {
    format: Format,
    out: BufWriter<Stdout>,
}

/// What a purge did or would do.
pub struct PurgeOutcome {
    pub matched: u64,
    pub removed: u64,
    pub dry_run: bool,
}

impl Printer {
    pub fn new(format: Format) -> Self {
        Printer {
            format,
            out: BufWriter::new(io::stdout()),
        }
    }

    /// A remark for a person at a terminal (stderr, table format only); scripts never see it.
    pub fn note(&self, text: &str) {
        if self.format == Format::Table {
            eprintln!("{text}");
        }
    }

    pub fn job(&mut self, job: &Job) -> Result<()> {
        match self.format {
            Format::Table => self.table(table::job_detail(job, now())),
            _ => self.line(&JobJson::new(job)?),
        }
    }

    /// A job `enqueue` made or found by its key.
    pub fn enqueued_one(&mut self, e: &Enqueued) -> Result<()> {
        if e.deduplicated {
            self.note(&format!(
                "{} already exists with that key; nothing added",
                e.job.id
            ));
        }
        match self.format {
            Format::Table => self.job(&e.job),
            _ => self.line(&EnqueuedJson::new(e)?),
        }
    }

    /// The jobs of `enqueue --batch`, written as they come: JSON one job at a time, tables
    /// a page at a time. Jobs added are `prototype` with their own id and payload.
    pub fn batch(
        &mut self,
        prototype: &Job,
        jobs: &mut dyn Iterator<Item = Result<BatchJob>>,
    ) -> Result<()> {
        match self.format {
            Format::Table => self.batch_table(prototype, jobs),
            Format::Json | Format::Jsonl => self.batch_json(prototype, jobs),
        }
    }

    fn batch_json(
        &mut self,
        prototype: &Job,
        jobs: &mut dyn Iterator<Item = Result<BatchJob>>,
    ) -> Result<()> {
        let added = AddedJson::new(prototype)?;
        let (open, separator, close): (&[u8], &[u8], &[u8]) = match self.format {
            Format::Json => (b"[", b",", b"]\n"),
            _ => (b"", b"\n", b"\n"),
        };
        self.out.write_all(open)?;
        let mut count = 0u64;
        for job in jobs {
            let job = job?;
            if count > 0 {
                self.out.write_all(separator)?;
            }
            count += 1;
            match job {
                BatchJob::Added { id, payload } => added.write(&mut self.out, &id, &payload)?,
                found @ BatchJob::Found(_) => {
                    let enqueued = found.into_enqueued(prototype);
                    serde_json::to_writer(&mut self.out, &EnqueuedJson::new(&enqueued)?)?;
                }
            }
        }
        // JSON lines of no jobs are no lines at all.
        if self.format == Format::Json || count > 0 {
            self.out.write_all(close)?;
        }
        Ok(())
    }

    /// Tables a page at a time, each page aligned on its own: a batch's jobs all have the
    /// same widths but for a found job's older id, and every page reads times against one
    /// clock reading, so the pages line up.
    fn batch_table(
        &mut self,
        prototype: &Job,
        jobs: &mut dyn Iterator<Item = Result<BatchJob>>,
    ) -> Result<()> {
        let mut page = Vec::with_capacity(TABLE_PAGE);
        let mut first = true;
        let now = now();
        loop {
            page.clear();
            for job in jobs.take(TABLE_PAGE) {
                page.push(job?.into_enqueued(prototype).job);
            }
            if page.is_empty() {
                return Ok(());
            }
            let table = table::job_rows(&page, now).to_string();
            // Later pages leave out the header line.
            for line in table.lines().skip(usize::from(!first)) {
                writeln!(self.out, "{}", line.trim_end())?;
            }
            first = false;
        }
    }

    /// A queue's settings (`config`, `pause`, `resume`).
    pub fn settings(&mut self, queue: &str, settings: &QueueSettings) -> Result<()> {
        match self.format {
            Format::Table => self.text(&table::settings_line(queue, settings)),
            _ => self.line(&QueueSettingsJson {
                queue,
                settings: SettingsJson::new(settings),
            }),
        }
    }

    /// Several jobs: a JSON array, one object per line, or table rows.
    pub fn jobs(&mut self, jobs: &[Job]) -> Result<()> {
        match self.format {
            Format::Table if jobs.is_empty() => Ok(()),
            Format::Table => self.table(table::job_rows(jobs, now())),
            Format::Json => self.array(jobs.iter().map(JobJson::new)),
            Format::Jsonl => jobs
                .iter()
                .try_for_each(|job| self.line(&JobJson::new(job)?)),
        }
    }

    /// Jobs produced one at a time by `produce`, written as they come except for tables,
    /// which need every row to align their columns.
    pub fn job_stream(
        &mut self,
        produce: impl FnOnce(&mut dyn FnMut(Job) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        match self.format {
            Format::Table => {
                let mut rows = Vec::new();
                produce(&mut |job| {
                    rows.push(job);
                    Ok(())
                })?;
                self.jobs(&rows)
            }
            Format::Jsonl => produce(&mut |job| self.line(&JobJson::new(&job)?)),
            Format::Json => {
                self.out.write_all(b"[")?;
                let mut first = true;
                produce(&mut |job| {
                    if !std::mem::take(&mut first) {
                        self.out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut self.out, &JobJson::new(&job)?)?;
                    Ok(())
                })?;
                self.out.write_all(b"]\n")?;
                Ok(())
            }
        }
    }

    pub fn counts(&mut self, counts: &Counts) -> Result<()> {
        match self.format {
            Format::Table => self.table(table::counts(counts)),
            _ => self.line(&CountsJson::new(counts)),
        }
    }

    pub fn queues(&mut self, queues: &[QueueCounts]) -> Result<()> {
        match self.format {
            Format::Table if queues.is_empty() => {
                self.note("no queues yet");
                Ok(())
            }
            Format::Table => self.table(table::queues(queues)),
            Format::Json => self.array(queues.iter().map(|q| Ok(QueueJson::new(q)))),
            Format::Jsonl => queues
                .iter()
                .try_for_each(|q| self.line(&QueueJson::new(q))),
        }
    }

    pub fn purge(&mut self, p: &PurgeOutcome) -> Result<()> {
        match self.format {
            Format::Table if p.dry_run => self.text(&format!("would remove {} jobs", p.matched)),
            Format::Table => self.text(&format!("removed {} jobs", p.removed)),
            _ => self.line(&PurgeJson {
                matched: p.matched,
                removed: p.removed,
                dry_run: p.dry_run,
            }),
        }
    }

    /// One sweep pass, written at once so a daemon's log is current.
    pub fn sweep(&mut self, at: Millis, report: &SweepReport) -> Result<()> {
        match self.format {
            Format::Table => self.text(&format!(
                "{}  released {} expired claims: {} back to pending, {} dead",
                rfc3339(at),
                report.retried + report.dead,
                report.retried,
                report.dead
            ))?,
            _ => self.line(&SweepJson {
                at: rfc3339(at),
                retried: report.retried,
                dead: report.dead,
            })?,
        }
        self.flush()
    }

    /// One finished job of `work`: a line on stderr for people, or a JSON event on stdout.
    pub fn work_event(&mut self, event: &Event) -> Result<()> {
        let (result, reason) = match event.result {
            JobResult::Done => ("done", None),
            JobResult::Retry(r) => ("retry", Some(r.as_str())),
            JobResult::Dead(r) => ("dead", Some(r.as_str())),
            JobResult::Lost(r) => ("lost", Some(r.as_str())),
            JobResult::Released => ("released", None),
        };
        if self.format == Format::Table {
            let seconds = event.duration.as_secs_f64();
            let why = reason
                .map(|r| format!(": {}", short_reason(r)))
                .unwrap_or_default();
            eprintln!(
                "{} try {} {result} in {seconds:.1}s{why}",
                event.job.id, event.attempt
            );
            return Ok(());
        }
        self.line(&WorkEventJson {
            event: "job",
            id: &event.job.id,
            queue: &event.job.queue,
            attempt: event.attempt,
            result,
            reason,
            duration_ms: event.duration.as_millis() as u64,
        })?;
        self.flush()
    }

    /// What `work` did in all, when it exits.
    pub fn work_summary(&mut self, s: &Summary) -> Result<()> {
        if self.format == Format::Table {
            eprintln!(
                "work: {} done, {} to retry, {} dead, {} lost, {} released",
                s.done, s.retried, s.dead, s.lost, s.released
            );
            return Ok(());
        }
        self.line(&WorkSummaryJson {
            event: "summary",
            done: s.done,
            retried: s.retried,
            dead: s.dead,
            lost: s.lost,
            released: s.released,
        })
    }

    pub fn flush(&mut self) -> Result<()> {
        Ok(self.out.flush()?)
    }

    /// A JSON array written item by item, so a big one is never held whole in memory.
    fn array<T: Serialize>(&mut self, items: impl Iterator<Item = Result<T>>) -> Result<()> {
        self.out.write_all(b"[")?;
        for (index, item) in items.enumerate() {
            if index > 0 {
                self.out.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.out, &item?)?;
        }
        self.out.write_all(b"]\n")?;
        Ok(())
    }

    fn line(&mut self, value: &impl Serialize) -> Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    fn table(&mut self, table: comfy_table::Table) -> Result<()> {
        // comfy-table pads every line to the widest; trim so copied output stays clean.
        for line in table.to_string().lines() {
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// A reason on one line: how the command ended and the last thing it said.
fn short_reason(reason: &str) -> String {
    let mut lines = reason.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or_default();
    match lines.next_back() {
        None => first.to_string(),
        Some(last) => {
            let ending = first.split(": ").next().unwrap_or(first);
            format!("{ending}: … {}", last.trim())
        }
    }
}

//! Rendering at the edge: commands hand domain data to a [`Printer`], which writes JSON,
//! JSON lines or a table to stdout. Errors and notes for people go to stderr.

mod columns;
pub mod json;
mod table;
mod top;
mod transfer;

use std::io::{self, BufWriter, IsTerminal, Stdout, Write};

use anyhow::Result;
use serde::Serialize;

use crate::cli::Format;
use crate::error::Report;
use crate::job::{
    BatchJob, Counts, Enqueued, Job, QueueCounts, QueueSettings, StoreInfo, SweepReport,
};
use crate::text::visible;
use crate::time::{now, rfc3339, Millis};
use crate::tokens::Token;
use crate::worker::{Event, JobResult, Summary};
use json::{
    AddedJson, CancelJson, CompletedJson, CountsJson, EnqueuedJson, ErrorBody, ErrorJson, InfoJson,
    JobJson, PurgeJson, QueueJson, QueueSettingsJson, SettingsJson, SweepJson, TokenJson,
    WorkEventJson, WorkSummaryJson, WrittenJson,
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
    /// Colour statuses in tables: stdout is a terminal and NO_COLOR is not set.
    color: bool,
}

/// Whether text written to a stream that `is_terminal` may be coloured: never when
/// NO_COLOR is set to anything (no-color.org) or in a pipe.
pub fn use_color(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// How wide a table may be: the terminal's width, else `COLUMNS`, else 80.
fn table_width() -> usize {
    // A terminal that says it is 0 wide (a pseudo-terminal nobody sized) is no width.
    if let Some(width) = comfy_table::Table::new().width().filter(|&w| w > 0) {
        return usize::from(width);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|w| w.trim().parse().ok())
        .filter(|&w| w >= 20)
        .unwrap_or(80)
}

/// A count with thousands separated: `2,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a purge did or would do.
pub struct PurgeOutcome {
    pub matched: u64,
    pub removed: u64,
    pub dry_run: bool,
}

/// What `info` found: the database file, and what it holds when it exists.
pub struct DbReport {
    /// `sqlite` or `postgresql`.
    pub backend: &'static str,
    /// The file, or the server and schema (never a password).
    pub db: String,
    /// `--db`, `QUEUEPRIM_DB` or `default`.
    pub source: &'static str,
    /// The newest schema version this build knows on that engine.
    pub supported_schema_version: i64,
    pub synchronous: &'static str,
    /// `None` when there is no database at `path`.
    pub info: Option<StoreInfo>,
}

impl Printer {
    pub fn new(format: Format) -> Self {
        Printer {
            format,
            out: BufWriter::new(io::stdout()),
            color: use_color(io::stdout().is_terminal()),
        }
    }

    /// A remark for a person at a terminal (stderr, table format only); scripts never see it.
    pub fn note(&self, text: &str) {
        if self.format == Format::Table {
            eprintln!("{text}");
        }
    }

    /// Something a script must know too, as the result alone would mislead it (a list cut
    /// at its limit): on stderr in every format, after what stdout has so far.
    pub fn notice(&mut self, text: &str) -> Result<()> {
        self.flush()?;
        eprintln!("note: {text}");
        Ok(())
    }

    /// An empty result, said the same way by every command that prints rows.
    fn nothing(&self, what: &str) {
        self.note(&format!("no {what}"));
    }

    pub fn job(&mut self, job: &Job) -> Result<()> {
        match self.format {
            Format::Table => self.table(table::job_detail(job, now(), self.color)),
            _ => self.line(&JobJson::new(job)?),
        }
    }

    /// A job `complete` finished, and the follow-ups it enqueued.
    pub fn completed(&mut self, job: &Job, follow_ups: &[Enqueued]) -> Result<()> {
        for e in follow_ups {
            self.note(&if e.deduplicated {
                format!(
                    "follow-up {} in {} already exists with that key; nothing added",
                    e.job.id,
                    visible(&e.job.queue, 128)
                )
            } else {
                format!(
                    "enqueued follow-up {} in {}",
                    e.job.id,
                    visible(&e.job.queue, 128)
                )
            });
        }
        match self.format {
            Format::Table => self.job(job),
            _ => self.line(&CompletedJson::new(job, follow_ups)?),
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
                whole @ BatchJob::Whole(_) => {
                    let enqueued = whole.into_enqueued(prototype);
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
        let (now, width) = (now(), table_width());
        loop {
            page.clear();
            for job in jobs.take(TABLE_PAGE) {
                page.push(job?.into_enqueued(prototype).job);
            }
            if page.is_empty() {
                if first {
                    self.nothing("jobs");
                }
                return Ok(());
            }
            let lines = table::job_rows(&page, now, width, self.color);
            // Later pages leave out the header line.
            self.lines(lines.get(usize::from(!first)..).unwrap_or_default())?;
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
            Format::Table if jobs.is_empty() => {
                self.nothing("jobs");
                Ok(())
            }
            Format::Table => {
                let lines = table::job_rows(jobs, now(), table_width(), self.color);
                self.lines(&lines)
            }
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
                self.nothing("queues");
                Ok(())
            }
            Format::Table => {
                let lines = table::queues(queues, table_width(), self.color);
                self.lines(&lines)
            }
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

    /// Which database is in use and what it holds.
    pub fn db_info(&mut self, r: &DbReport) -> Result<()> {
        let counts = r.info.as_ref().map(|i| i.counts).unwrap_or_default();
        match self.format {
            Format::Table => self.table(table::db_info(r, &counts)),
            _ => self.line(&InfoJson {
                backend: r.backend,
                db: r.db.clone(),
                db_from: r.source,
                exists: r.info.is_some(),
                schema_version: r.info.as_ref().map(|i| i.schema_version),
                supported_schema_version: r.supported_schema_version,
                size_bytes: r.info.as_ref().map(|i| i.size_bytes),
                wal_bytes: r.info.as_ref().and_then(|i| i.wal_bytes),
                synchronous: r.synchronous,
                queues: r.info.as_ref().map_or(0, |i| i.queues),
                counts: CountsJson::new(&counts),
                version: env!("CARGO_PKG_VERSION"),
            }),
        }
    }

    /// The files `man --dir` wrote into `dir`.
    pub fn written(&mut self, dir: &std::path::Path, files: &[std::path::PathBuf]) -> Result<()> {
        match self.format {
            Format::Table => self.text(&format!(
                "wrote {} man pages into {}",
                files.len(),
                visible(&dir.display().to_string(), usize::MAX)
            )),
            _ => self.line(&WrittenJson {
                written: files.iter().map(|f| f.display().to_string()).collect(),
            }),
        }
    }

    /// The jobs `cancel` removed.
    pub fn cancelled(&mut self, jobs: &[Job]) -> Result<()> {
        let ids: Vec<&str> = jobs.iter().map(|job| job.id.as_str()).collect();
        match self.format {
            Format::Table => self.text(&format!(
                "cancelled {} job{}: {}",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" },
                ids.join(", ")
            )),
            _ => self.line(&CancelJson { cancelled: ids }),
        }
    }

    /// A token just made, with its secret: the only time anyone sees it.
    pub fn token_created(&mut self, token: &Token, secret: &str) -> Result<()> {
        self.note("keep the token now: it is shown only this once (queueprim stores its hash)");
        match self.format {
            Format::Table => {
                self.text(&format!("token: {secret}"))?;
                self.text(&token_line(token))
            }
            _ => self.line(&json::CreatedTokenJson {
                token: secret,
                stored: TokenJson::new(token),
            }),
        }
    }

    /// Tokens (`token list`), or the one `token revoke` revoked.
    pub fn tokens(&mut self, tokens: &[Token]) -> Result<()> {
        match self.format {
            Format::Table if tokens.is_empty() => {
                self.nothing("tokens");
                Ok(())
            }
            Format::Table => {
                let lines: Vec<String> = tokens.iter().map(token_line).collect();
                self.lines(&lines)
            }
            Format::Json => self.array(tokens.iter().map(|t| Ok(TokenJson::new(t)))),
            Format::Jsonl => tokens
                .iter()
                .try_for_each(|t| self.line(&TokenJson::new(t))),
        }
    }

    pub fn token(&mut self, token: &Token) -> Result<()> {
        match self.format {
            Format::Table => self.text(&token_line(token)),
            _ => self.line(&TokenJson::new(token)),
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
            // The time comes first, as "took", so that it cannot be read as a delay before
            // a retry: `q_… try 1 took 0.3s: failed, will retry: exit 1`.
            let seconds = event.duration.as_secs_f64();
            let outcome = match event.result {
                JobResult::Done => "done",
                JobResult::Retry(_) => "failed, will retry",
                JobResult::Dead(_) => "failed, dead",
                JobResult::Lost(_) => "claim lost, nothing recorded",
                JobResult::Released => "stopped, back to pending",
            };
            let why = reason
                .map(|r| format!(": {}", short_reason(r)))
                .unwrap_or_default();
            let outcome = match event.result {
                JobResult::Done => paint(outcome, "32"),
                JobResult::Retry(_) => paint(outcome, "33"),
                JobResult::Dead(_) => paint(outcome, "31"),
                JobResult::Lost(_) | JobResult::Released => paint(outcome, "35"),
            };
            eprintln!(
                "{} try {} took {seconds:.1}s: {outcome}{why}",
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
            let jobs = s.done + s.retried + s.dead + s.lost + s.released;
            eprintln!(
                "work: {jobs} job{} in {} run{}: {} done, {} to retry, {} dead, {} lost, {} released",
                if jobs == 1 { "" } else { "s" },
                s.runs,
                if s.runs == 1 { "" } else { "s" },
                s.done,
                s.retried,
                s.dead,
                s.lost,
                s.released
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
            runs: s.runs,
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

    fn lines(&mut self, lines: &[String]) -> Result<()> {
        for line in lines {
            writeln!(self.out, "{line}")?;
        }
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

/// A token on one line, for people.
fn token_line(token: &Token) -> String {
    let state = match (token.revoked_at, token.expires_at) {
        (Some(at), _) => format!("revoked {}", rfc3339(at)),
        (None, Some(at)) => format!("expires {}", rfc3339(at)),
        (None, None) => "never expires".to_string(),
    };
    format!(
        "{}  {}  queues {}{}  {state}",
        token.id,
        token
            .name
            .as_deref()
            .map(|n| visible(n, 64))
            .unwrap_or_else(|| "-".into()),
        token.queues.join(","),
        if token.produce_only {
            "  produce only"
        } else {
            ""
        },
    )
}

/// `text` in an SGR colour when stderr is a terminal and NO_COLOR is not set.
fn paint(text: &str, sgr: &str) -> String {
    if use_color(io::stderr().is_terminal()) {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_string()
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

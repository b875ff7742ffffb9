//! Tables for people: aligned columns, relative times, long values cut, control characters
//! made visible so a payload cannot garble the terminal.

use comfy_table::presets::NOTHING;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::columns::{self, Align, Column, Fit};
use crate::job::{Counts, Job, QueueCounts, QueueSettings, Status};
use crate::text::visible;
use crate::time::{human_duration, relative, rfc3339, Millis};

/// How much of a payload a list row looks at before fitting it to the width.
const ROW_PAYLOAD_CHARS: usize = 300;
/// How much of a payload or output the single-job view shows.
const DETAIL_VALUE_CHARS: usize = 400;

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if !header.is_empty() {
        table.set_header(header.iter().map(Cell::new));
    }
    table
}

/// A text cell, control characters escaped.
fn text(s: &str) -> columns::Cell {
    columns::Cell::from(visible(s, usize::MAX))
}

fn column(header: &'static str, align: Align, fit: Fit) -> Column {
    Column { header, align, fit }
}

/// One row per job, `width` display columns wide at most. Columns no job uses are left
/// out; long names and the payload are cut, and the times left out, before a line grows
/// past the width.
pub fn job_rows(jobs: &[Job], now: Millis, width: usize, color: bool) -> Vec<String> {
    let show_type = jobs.iter().any(|j| j.job_type.is_some());
    let show_worker = jobs.iter().any(|j| j.worker.is_some());
    let mut header = vec![
        column("ID", Align::Left, Fit::Keep),
        column("QUEUE", Align::Left, Fit::Shrink(8)),
    ];
    header.extend(show_type.then(|| column("TYPE", Align::Left, Fit::Shrink(6))));
    header.extend([
        column("STATUS", Align::Left, Fit::Keep),
        column("PRI", Align::Right, Fit::Keep),
        column("TRIES", Align::Right, Fit::Keep),
    ]);
    header.extend(show_worker.then(|| column("WORKER", Align::Left, Fit::Shrink(8))));
    header.extend([
        column("VISIBLE", Align::Left, Fit::Spare(1)),
        column("CREATED", Align::Left, Fit::Spare(0)),
        column("PAYLOAD", Align::Left, Fit::Shrink(8)),
    ]);
    let rows: Vec<Vec<columns::Cell>> = jobs
        .iter()
        .map(|job| {
            let mut row = vec![text(&job.id), text(&job.queue)];
            if show_type {
                row.push(job.job_type.as_deref().map_or("-".to_string().into(), text));
            }
            row.extend([
                status_cell(job, now),
                job.priority.to_string().into(),
                tries(job).into(),
            ]);
            if show_worker {
                row.push(job.worker.as_deref().map_or("-".to_string().into(), text));
            }
            row.push(
                job.visible_after
                    .map_or("-".into(), |t| relative(t, now))
                    .into(),
            );
            row.push(relative(job.created_at, now).into());
            row.push(visible(&job.payload, ROW_PAYLOAD_CHARS).into());
            row
        })
        .collect();
    columns::render(&header, &rows, width, color)
}

/// One job, field by field.
pub fn job_detail(job: &Job, now: Millis, color: bool) -> Table {
    let mut table = new_table(&[]);
    let when = |t: Millis| format!("{} ({})", relative(t, now), rfc3339(t));
    let mut row = |k: &str, v: String| {
        table.add_row(vec![k.to_string(), v]);
    };
    row("id", job.id.clone());
    row("queue", visible(&job.queue, 200));
    row(
        "type",
        job.job_type
            .as_deref()
            .map_or("-".into(), |t| visible(t, 200)),
    );
    row("status", status_text(job, now, color));
    row("priority", job.priority.to_string());
    row(
        "tries",
        format!(
            "{} of at most {} ({} failed)",
            job.attempts(),
            job.max_attempts(),
            job.attempt_count
        ),
    );
    if let Some(group) = &job.group {
        row("group", visible(group, 200));
    }
    if let Some(key) = &job.key {
        row("key", visible(key, 200));
    }
    if let Some(backoff) = job.backoff {
        let cap = backoff
            .max
            .map(|m| format!(", at most {}", human_duration(m)));
        let text = format!(
            "{}{}",
            human_duration(backoff.base),
            cap.unwrap_or_default()
        );
        row("backoff", text);
    }
    // Worker and claim stay on the job after its claim ends: say which they are.
    let (worker_label, claim_label) = match job.status {
        Status::Claimed => ("worker", "claim"),
        _ => ("last worker", "last claim"),
    };
    row(
        worker_label,
        job.worker
            .as_deref()
            .map_or("-".into(), |w| visible(w, 200)),
    );
    row(claim_label, job.claim.clone().unwrap_or_else(|| "-".into()));
    match (job.claim_deadline(), job.run_after()) {
        (Some(deadline), _) => row("deadline", when(deadline)),
        (None, Some(after)) => row("run after", when(after)),
        (None, None) => {}
    }
    row("created", when(job.created_at));
    row("updated", when(job.updated_at));
    row("finished", job.finished_at.map_or("-".into(), when));
    row("payload", detail_value(&job.payload));
    row(
        "output",
        job.output.as_deref().map_or("-".into(), detail_value),
    );
    for failure in &job.errors {
        let who = failure.worker.as_deref().unwrap_or("-");
        let text = format!(
            "try {} {} by {}: {}",
            failure.attempt,
            relative(failure.at, now),
            visible(who, 40),
            visible(&failure.reason, 200)
        );
        row("error", text);
    }
    table
}

/// A payload or output for the single-job view, saying where to find all of a long one.
fn detail_value(json: &str) -> String {
    let shown = visible(json, DETAIL_VALUE_CHARS);
    if json.chars().count() > DETAIL_VALUE_CHARS {
        format!("{shown} (cut: --format json shows all)")
    } else {
        shown
    }
}

/// `info`, field by field.
pub fn db_info(r: &super::DbReport, counts: &Counts) -> Table {
    let mut table = new_table(&[]);
    let mut row = |k: &str, v: String| {
        table.add_row(vec![k.to_string(), v]);
    };
    let db = visible(&r.db, usize::MAX);
    row("database", format!("{db} (from {})", r.source));
    let supported = r.supported_schema_version;
    match &r.info {
        None => row("exists", "no".into()),
        Some(info) => {
            row(
                "schema",
                format!(
                    "version {} (this build knows up to {supported})",
                    info.schema_version
                ),
            );
            let size = match info.wal_bytes {
                Some(wal) => format!("{} (and {} of WAL)", bytes(info.size_bytes), bytes(wal)),
                None => bytes(info.size_bytes),
            };
            row("size", size);
            row("queues", info.queues.to_string());
        }
    }
    row("synchronous", r.synchronous.to_string());
    row(
        "jobs",
        format!(
            "{} pending, {} claimed, {} done, {} dead ({} in all)",
            counts.pending,
            counts.claimed,
            counts.done,
            counts.dead,
            counts.total()
        ),
    );
    row(
        "version",
        format!("queueprim {}", env!("CARGO_PKG_VERSION")),
    );
    table
}

/// A size in bytes for people: `512 B`, `56.0 KiB`, `3.2 MiB`.
fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", units.get(unit).unwrap_or(&"B"))
    }
}

/// Counts as one row.
pub fn counts(c: &Counts) -> Table {
    let mut table = new_table(&["PENDING", "CLAIMED", "DONE", "DEAD", "TOTAL"]);
    table.add_row(count_cells(c));
    align_right(&mut table, 0..5);
    table
}

fn align_right(table: &mut Table, columns: std::ops::Range<usize>) {
    for index in columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A queue's settings in words: `emails: paused, timeout 5m, 3 retries, backoff 30s`.
pub fn settings_line(queue: &str, s: &QueueSettings) -> String {
    let state = if s.paused { "paused" } else { "running" };
    let defaults = match settings_text(&QueueSettings {
        paused: false,
        ..s.clone()
    }) {
        none if none == "-" => "no defaults set".to_string(),
        some => some,
    };
    format!("{}: {state}, {defaults}", visible(queue, 128))
}

fn settings_text(s: &QueueSettings) -> String {
    let mut parts = Vec::new();
    if s.paused {
        parts.push("paused".to_string());
    }
    if let Some(t) = s.timeout_ms {
        parts.push(format!("timeout {}", human_duration(t)));
    }
    if let Some(n) = s.max_retries {
        parts.push(format!("{n} retries"));
    }
    if let Some(b) = s.backoff_ms {
        parts.push(format!("backoff {}", human_duration(b)));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// Counts and settings per queue, `width` display columns wide at most.
pub fn queues(queues: &[QueueCounts], width: usize, color: bool) -> Vec<String> {
    let count = |header| column(header, Align::Right, Fit::Keep);
    let header = [
        column("QUEUE", Align::Left, Fit::Shrink(8)),
        count("PENDING"),
        count("CLAIMED"),
        count("DONE"),
        count("DEAD"),
        count("TOTAL"),
        column("SETTINGS", Align::Left, Fit::Shrink(10)),
    ];
    let rows: Vec<Vec<columns::Cell>> = queues
        .iter()
        .map(|q| {
            let mut cells = vec![text(&q.queue)];
            cells.extend(count_cells(&q.counts).into_iter().map(columns::Cell::from));
            if let Some(dead) = cells.get_mut(4).filter(|_| q.counts.dead > 0) {
                dead.color = Some(DEAD);
            }
            cells.push(settings_text(&q.settings).into());
            cells
        })
        .collect();
    columns::render(&header, &rows, width, color)
}

fn count_cells(c: &Counts) -> Vec<String> {
    [c.pending, c.claimed, c.done, c.dead, c.total()]
        .iter()
        .map(u64::to_string)
        .collect()
}

/// SGR colours of the statuses, shown at a terminal unless NO_COLOR is set.
const PENDING: &str = "33";
const CLAIMED: &str = "36";
const EXPIRED: &str = "35";
const DONE: &str = "32";
const DEAD: &str = "31";

fn expired(job: &Job, now: Millis) -> bool {
    job.claim_deadline().is_some_and(|deadline| deadline <= now)
}

/// Status in a row, `expired` for a claim whose deadline has passed but that nothing has
/// released yet (still claimed), coloured by status.
fn status_cell(job: &Job, now: Millis) -> columns::Cell {
    let (text, color) = match job.status {
        Status::Claimed if expired(job, now) => ("expired", EXPIRED),
        Status::Pending => ("pending", PENDING),
        Status::Claimed => ("claimed", CLAIMED),
        Status::Done => ("done", DONE),
        Status::Dead => ("dead", DEAD),
    };
    columns::Cell {
        text: text.into(),
        color: Some(color),
    }
}

/// Status in the single-job view, spelling out an expired claim, coloured.
fn status_text(job: &Job, now: Millis, color: bool) -> String {
    let cell = status_cell(job, now);
    let text = match job.status {
        Status::Claimed if expired(job, now) => "claimed (expired, not yet released)",
        status => status.as_str(),
    };
    match cell.color {
        Some(sgr) if color => format!("\x1b[{sgr}m{text}\x1b[0m"),
        _ => text.to_string(),
    }
}

/// Tries so far out of the most allowed, e.g. `2/4`.
fn tries(job: &Job) -> String {
    format!("{}/{}", job.attempts(), job.max_attempts())
}

//! Tables for people: aligned columns, relative times, long values cut, control characters
//! made visible so a payload cannot garble the terminal.

use comfy_table::presets::NOTHING;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use crate::input::visible;
use crate::job::{Counts, Job, QueueCounts, QueueSettings, Status};
use crate::time::{human_duration, relative, rfc3339, Millis};

/// How much of a payload a list row shows.
const ROW_PAYLOAD_CHARS: usize = 40;
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

/// One row per job. Columns no job uses are left out, numbers are right-aligned, and at a
/// terminal the payload gets whatever width the other columns leave.
pub fn job_rows(jobs: &[Job], now: Millis) -> Table {
    let show_type = jobs.iter().any(|j| j.job_type.is_some());
    let show_worker = jobs.iter().any(|j| j.worker.is_some());
    let mut header = vec!["ID", "QUEUE"];
    header.extend(show_type.then_some("TYPE"));
    header.extend(["STATUS", "PRI", "FAILS"]);
    header.extend(show_worker.then_some("WORKER"));
    header.extend(["VISIBLE", "CREATED"]);
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|job| {
            let mut row = vec![job.id.clone(), visible(&job.queue, 32)];
            if show_type {
                row.push(
                    job.job_type
                        .as_deref()
                        .map_or("-".into(), |t| visible(t, 24)),
                );
            }
            row.extend([status_text(job, now), job.priority.to_string(), tries(job)]);
            if show_worker {
                row.push(job.worker.as_deref().map_or("-".into(), |w| visible(w, 24)));
            }
            row.push(job.visible_after.map_or("-".into(), |t| relative(t, now)));
            row.push(relative(job.created_at, now));
            row
        })
        .collect();
    let payload_width = payload_budget(&header, &rows);
    let numeric: Vec<usize> = (0..header.len())
        .filter(|&i| matches!(header[i], "PRI" | "FAILS"))
        .collect();
    header.push("PAYLOAD");
    let mut table = new_table(&header);
    for (mut row, job) in rows.into_iter().zip(jobs) {
        row.push(visible(&job.payload, payload_width));
        table.add_row(row);
    }
    for index in numeric {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// How many characters of payload fit beside the other columns at this terminal; the
/// default when output is not a terminal.
fn payload_budget(header: &[&str], rows: &[Vec<String>]) -> usize {
    let Some(width) = Table::new().width() else {
        return ROW_PAYLOAD_CHARS;
    };
    let used: usize = (0..header.len())
        .map(|i| {
            let widest = rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
            widest.max(header[i].len()) + 2
        })
        .sum();
    (usize::from(width).saturating_sub(used + 3)).clamp(5, 200)
}

/// One job, field by field.
pub fn job_detail(job: &Job, now: Millis) -> Table {
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
    row("status", status_text(job, now));
    row("priority", job.priority.to_string());
    row(
        "failures",
        match job.max_retries {
            0 => format!("{} (tried once at most)", job.attempt_count),
            n => format!(
                "{} (at most {} tries in all)",
                job.attempt_count,
                u64::from(n) + 1
            ),
        },
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
    row(
        "worker",
        job.worker
            .as_deref()
            .map_or("-".into(), |w| visible(w, 200)),
    );
    row("claim", job.claim.clone().unwrap_or_else(|| "-".into()));
    let visible_label = if job.status == Status::Claimed {
        "deadline"
    } else {
        "visible"
    };
    row(visible_label, job.visible_after.map_or("-".into(), when));
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
    let path = visible(&r.path.display().to_string(), usize::MAX);
    row("database", format!("{path} (from {})", r.source));
    let supported = crate::store::Store::SCHEMA_VERSION;
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
            let size = r.size_bytes.unwrap_or(0);
            let wal = r.wal_bytes.unwrap_or(0);
            row(
                "size",
                format!("{} (and {} of WAL)", bytes(size), bytes(wal)),
            );
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
        format!("{value:.1} {}", units[unit])
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

/// Counts and settings per queue.
pub fn queues(queues: &[QueueCounts]) -> Table {
    let mut table = new_table(&[
        "QUEUE", "PENDING", "CLAIMED", "DONE", "DEAD", "TOTAL", "SETTINGS",
    ]);
    for q in queues {
        let mut cells = vec![visible(&q.queue, 64)];
        cells.extend(count_cells(&q.counts));
        cells.push(settings_text(&q.settings));
        table.add_row(cells);
    }
    align_right(&mut table, 1..6);
    table
}

fn count_cells(c: &Counts) -> Vec<String> {
    [c.pending, c.claimed, c.done, c.dead, c.total()]
        .iter()
        .map(u64::to_string)
        .collect()
}

/// Status, flagging a claim whose deadline has passed but that nothing has released yet.
fn status_text(job: &Job, now: Millis) -> String {
    match (job.status, job.visible_after) {
        (Status::Claimed, Some(deadline)) if deadline <= now => "claimed (expired)".into(),
        (status, _) => status.as_str().into(),
    }
}

/// Failed attempts out of the most allowed, e.g. `1/4`.
fn tries(job: &Job) -> String {
    format!("{}/{}", job.attempt_count, u64::from(job.max_retries) + 1)
}

//! Tables for people: aligned columns, relative times, long values cut, control characters
//! made visible so a payload cannot garble the terminal.

use comfy_table::presets::NOTHING;
use comfy_table::{Cell, ContentArrangement, Table};

use crate::job::{Counts, Job, QueueCounts, Status};
use crate::time::{relative, rfc3339, Millis};

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

/// One row per job.
pub fn job_rows(jobs: &[Job], now: Millis) -> Table {
    let mut table = new_table(&[
        "ID", "QUEUE", "TYPE", "STATUS", "PRI", "FAILS", "WORKER", "VISIBLE", "CREATED", "PAYLOAD",
    ]);
    for job in jobs {
        table.add_row(vec![
            job.id.clone(),
            clean(&job.queue, 32),
            job.job_type.as_deref().map_or("-".into(), |t| clean(t, 24)),
            status_text(job, now),
            job.priority.to_string(),
            tries(job),
            job.worker.as_deref().map_or("-".into(), |w| clean(w, 24)),
            job.visible_after.map_or("-".into(), |t| relative(t, now)),
            relative(job.created_at, now),
            clean(&job.payload, ROW_PAYLOAD_CHARS),
        ]);
    }
    table
}

/// One job, field by field.
pub fn job_detail(job: &Job, now: Millis) -> Table {
    let mut table = new_table(&[]);
    let when = |t: Millis| format!("{} ({})", relative(t, now), rfc3339(t));
    let mut row = |k: &str, v: String| {
        table.add_row(vec![k.to_string(), v]);
    };
    row("id", job.id.clone());
    row("queue", clean(&job.queue, 200));
    row(
        "type",
        job.job_type
            .as_deref()
            .map_or("-".into(), |t| clean(t, 200)),
    );
    row("status", status_text(job, now));
    row("priority", job.priority.to_string());
    row(
        "failed",
        format!(
            "{} of {} allowed tries",
            job.attempt_count,
            u64::from(job.max_retries) + 1
        ),
    );
    row(
        "worker",
        job.worker.as_deref().map_or("-".into(), |w| clean(w, 200)),
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
    row("payload", clean(&job.payload, DETAIL_VALUE_CHARS));
    row(
        "output",
        job.output
            .as_deref()
            .map_or("-".into(), |o| clean(o, DETAIL_VALUE_CHARS)),
    );
    for failure in &job.errors {
        let who = failure.worker.as_deref().unwrap_or("-");
        let text = format!(
            "try {} {} by {}: {}",
            failure.attempt,
            relative(failure.at, now),
            clean(who, 40),
            clean(&failure.reason, 200)
        );
        row("error", text);
    }
    table
}

/// Counts as one row.
pub fn counts(c: &Counts) -> Table {
    let mut table = new_table(&["PENDING", "CLAIMED", "DONE", "DEAD", "TOTAL"]);
    table.add_row(count_cells(c));
    table
}

/// Counts per queue.
pub fn queues(queues: &[QueueCounts]) -> Table {
    let mut table = new_table(&["QUEUE", "PENDING", "CLAIMED", "DONE", "DEAD", "TOTAL"]);
    for q in queues {
        let mut cells = vec![clean(&q.queue, 64)];
        cells.extend(count_cells(&q.counts));
        table.add_row(cells);
    }
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

/// A value cut to `max` characters, with control characters escaped.
fn clean(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (count, c) in s.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

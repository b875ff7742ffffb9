//! `top`'s frames: a table of every queue's counts, rates and oldest waiting job, redrawn in
//! place at a terminal (cursor home, each line cleared to its end, the rest of the screen
//! cleared) and fitted to the window; plain lines or one JSON object per frame elsewhere.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;

use super::columns::{self, Align, Cell, Column, Fit};
use super::json::CountsJson;
use super::{table_width, Printer};
use crate::cli::Format;
use crate::job::{Activity, QueueActivity};
use crate::text::visible;
use crate::time::{human_duration, rfc3339, short_span, Millis};

/// Hides the cursor and clears the screen, before the first frame.
const START: &str = "\x1b[?25l\x1b[2J";
/// Shows the cursor again, after the last frame.
const END: &str = "\x1b[?25h";
/// Cursor to the top left corner.
const HOME: &str = "\x1b[H";
/// Clears the line from the cursor on, and the screen below the cursor.
const CLEAR_LINE: &str = "\x1b[K";
const CLEAR_BELOW: &str = "\x1b[J";
const DEAD: &str = "31";
const PAUSED: &str = "33";

impl Printer {
    /// Whether frames are redrawn in place: a table, at a terminal.
    pub fn redraws(&self) -> bool {
        self.format == Format::Table && std::io::stdout().is_terminal()
    }

    /// One frame of `top`: `db` names the database, `problem` says why it could not be read
    /// this time (the last frame's figures are gone then, so none are shown).
    pub fn top(
        &mut self,
        frame: &Activity,
        db: &str,
        problem: Option<&str>,
        first: bool,
    ) -> Result<()> {
        if self.format != Format::Table {
            return self.line(&FrameJson::new(frame));
        }
        let redraw = self.redraws();
        let width = table_width();
        // At a terminal a line longer than the window would wrap and push the frame down.
        let mut lines = vec![columns::fit(&title(frame, db, redraw), width)];
        if let Some(problem) = problem {
            let line = format!("cannot read the database: {}", visible(problem, 300));
            lines.push(columns::fit(&line, width));
        }
        let height = match redraw {
            true => terminal_height().map(|h| h.saturating_sub(lines.len() + 1)),
            false => None,
        };
        if problem.is_none() {
            lines.extend(rows(frame, width, height, self.color));
        }
        match redraw {
            true => {
                if first {
                    self.out.write_all(START.as_bytes())?;
                }
                self.out.write_all(HOME.as_bytes())?;
                for line in &lines {
                    writeln!(self.out, "{line}{CLEAR_LINE}")?;
                }
                self.out.write_all(CLEAR_BELOW.as_bytes())?;
            }
            false => {
                // Frames one after another, a blank line between two.
                if !first {
                    writeln!(self.out)?;
                }
                self.lines(&lines)?;
            }
        }
        self.flush()
    }

    /// After the last frame: the cursor shown again where frames were redrawn.
    pub fn top_end(&mut self) -> Result<()> {
        if self.redraws() {
            self.out.write_all(END.as_bytes())?;
        }
        self.flush()
    }
}

/// The frame's first line: what is shown, from where, and when.
fn title(frame: &Activity, db: &str, redraw: bool) -> String {
    let at = rfc3339(frame.at);
    let every = human_duration(frame.window);
    match redraw {
        // At a terminal the time of day is enough; Ctrl-C is the way out.
        // The database comes last: a long path is what gets cut at a narrow window.
        true => format!(
            "queueprim top  every {every}  {} UTC  Ctrl-C to stop  {}",
            at.get(11..19).unwrap_or(&at),
            visible(db, 200)
        ),
        false => format!("{at}  {}  every {every}", visible(db, 200)),
    }
}

/// The table's lines, at most `height` of them when given (a last line then says how many
/// queues were left out).
fn rows(frame: &Activity, width: usize, height: Option<usize>, color: bool) -> Vec<String> {
    if frame.queues.is_empty() {
        return vec!["no queues yet".to_string()];
    }
    let column = |header, align, fit| Column { header, align, fit };
    // Narrow windows lose the rate of dead jobs first, then the age, the claimed and done
    // counts, and the state; the queue, its pending and dead jobs and its rate stay.
    let header = [
        column("QUEUE", Align::Left, Fit::Shrink(8)),
        column("PENDING", Align::Right, Fit::Keep),
        column("CLAIMED", Align::Right, Fit::Spare(3)),
        column("DONE", Align::Right, Fit::Spare(4)),
        column("DEAD", Align::Right, Fit::Keep),
        column("DONE/S", Align::Right, Fit::Keep),
        column("DEAD/S", Align::Right, Fit::Spare(1)),
        column("OLDEST", Align::Right, Fit::Spare(2)),
        column("STATE", Align::Left, Fit::Spare(5)),
    ];
    // The header takes a line, and a last line may say what was left out.
    let room = height.map(|h| h.saturating_sub(1).max(2));
    let (shown, left_out) = match room {
        Some(room) if frame.queues.len() > room => frame.queues.split_at(room - 1),
        _ => (frame.queues.as_slice(), &[][..]),
    };
    let cells: Vec<Vec<Cell>> = shown.iter().map(|q| row(q, frame)).collect();
    let mut lines = columns::render(&header, &cells, width, color);
    if !left_out.is_empty() {
        let more = format!("… and {} more queues", left_out.len());
        lines.push(columns::fit(&more, width));
    }
    lines
}

fn row(q: &QueueActivity, frame: &Activity) -> Vec<Cell> {
    let mut cells: Vec<Cell> = vec![Cell::from(visible(&q.queue, usize::MAX))];
    let c = &q.counts;
    cells.extend(
        [c.pending, c.claimed, c.done, c.dead]
            .iter()
            .map(|n| Cell::from(n.to_string())),
    );
    cells.push(Cell::from(rate(q.done, frame.window)));
    cells.push(Cell::from(rate(q.dead, frame.window)));
    if let Some(dead) = cells.get_mut(4).filter(|_| c.dead > 0) {
        dead.color = Some(DEAD);
    }
    let oldest = q
        .oldest_pending
        .map(|since| short_span(((frame.at - since).max(0) / 1000) as u64))
        .unwrap_or_else(|| "-".into());
    cells.push(Cell::from(oldest));
    cells.push(match q.paused {
        true => Cell {
            text: "paused".into(),
            color: Some(PAUSED),
        },
        false => Cell::default(),
    });
    cells
}

/// Jobs per second: whole numbers from 100 up, one decimal below, and never a 0 for some.
fn rate(jobs: u64, window: Millis) -> String {
    if jobs == 0 {
        return "0".into();
    }
    match per_second(jobs, window) {
        r if r < 0.1 => "<0.1".into(),
        r if r >= 100.0 => format!("{r:.0}"),
        r => format!("{r:.1}"),
    }
}

fn per_second(jobs: u64, window: Millis) -> f64 {
    jobs as f64 * 1000.0 / window.max(1) as f64
}

/// The terminal's height in lines, when stdout is one.
fn terminal_height() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct it is given, which lives
    // for the whole call; on failure it writes nothing and the zeroed rows are refused.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_row > 0).then_some(usize::from(size.ws_row))
}

/// A frame as JSON, one line each.
#[derive(Serialize)]
struct FrameJson<'a> {
    at: String,
    interval_ms: Millis,
    queues: Vec<QueueFrameJson<'a>>,
}

#[derive(Serialize)]
struct QueueFrameJson<'a> {
    queue: &'a str,
    #[serde(flatten)]
    counts: CountsJson,
    paused: bool,
    done_per_second: f64,
    dead_per_second: f64,
    oldest_pending_ms: Option<Millis>,
}

impl<'a> FrameJson<'a> {
    fn new(frame: &'a Activity) -> Self {
        FrameJson {
            at: rfc3339(frame.at),
            interval_ms: frame.window,
            queues: frame
                .queues
                .iter()
                .map(|q| QueueFrameJson {
                    queue: &q.queue,
                    counts: CountsJson::new(&q.counts),
                    paused: q.paused,
                    done_per_second: per_second(q.done, frame.window),
                    dead_per_second: per_second(q.dead, frame.window),
                    oldest_pending_ms: q.oldest_pending.map(|since| (frame.at - since).max(0)),
                })
                .collect(),
        }
    }
}

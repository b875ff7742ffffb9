//! `top`: every queue's counts and rates, read from the database every `--interval` and
//! redrawn until SIGINT or SIGTERM. It only reads: a database that is not there yet shows
//! no queues until it is, and one that fails a read after the first frame is tried again.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::Context;
use crate::cli::TopArgs;
use crate::error;
use crate::job::Activity;
use crate::output::Printer;
use crate::signals::Interrupt;
use crate::store::Store;
use crate::time;

/// How often the loop checks for SIGINT/SIGTERM while it waits for the next frame.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

pub fn run(args: TopArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let mut store = ctx.open_existing()?;
    // The first reading decides: a database that cannot be read at all is an error.
    let first = read(&mut store, args.interval)?;
    if args.once {
        return out.top(&first, &ctx.db_name(), None, true);
    }
    let interrupt = Interrupt::install()?;
    let shown = show(out, ctx, Ok(first), args.interval, true);
    let result = shown.and_then(|()| frames(&args, ctx, out, &mut store, &interrupt));
    // The cursor comes back whatever happened.
    let ended = out.top_end();
    result.and(ended)
}

/// Every frame after the first, until a signal.
fn frames(
    args: &TopArgs,
    ctx: &Context,
    out: &mut Printer,
    store: &mut Option<Store>,
    interrupt: &Interrupt,
) -> Result<()> {
    let mut next = Instant::now() + Duration::from_millis(args.interval as u64);
    loop {
        // Frames are spaced on the monotonic clock, so a wall clock that jumps does not
        // stop the display.
        while Instant::now() < next {
            if interrupt.received().is_some() {
                return Ok(());
            }
            sleep(
                next.saturating_duration_since(Instant::now())
                    .min(SIGNAL_CHECK),
            );
        }
        if interrupt.received().is_some() {
            return Ok(());
        }
        next += Duration::from_millis(args.interval as u64);
        let frame = reading(ctx, store, args.interval);
        show(out, ctx, frame, args.interval, false)?;
    }
}

/// The next reading, opening the database first when it was not there or failed.
fn reading(ctx: &Context, store: &mut Option<Store>, interval: i64) -> Result<Activity> {
    if store.is_none() {
        *store = ctx.open_if_there()?;
    }
    let frame = read(store, interval);
    if frame.is_err() {
        // A connection that failed may be broken (a server restarted): open anew.
        *store = None;
    }
    frame
}

/// What the store shows now; no queues while there is no database.
fn read(store: &mut Option<Store>, interval: i64) -> Result<Activity> {
    match store {
        Some(store) => store.activity(interval),
        None => Ok(Activity {
            at: time::now(),
            window: interval,
            queues: Vec::new(),
        }),
    }
}

fn show(
    out: &mut Printer,
    ctx: &Context,
    frame: Result<Activity>,
    interval: i64,
    first: bool,
) -> Result<()> {
    let db = ctx.db_name();
    match frame {
        Ok(frame) => out.top(&frame, &db, None, first),
        Err(e) => {
            let problem = error::one_line(&e);
            let empty = Activity {
                at: time::now(),
                window: interval,
                queues: Vec::new(),
            };
            match out.redraws() {
                true => out.top(&empty, &db, Some(&problem), first),
                false => {
                    out.flush()?;
                    eprintln!("note: cannot read the database: {problem}; trying again");
                    Ok(())
                }
            }
        }
    }
}

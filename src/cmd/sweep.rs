//! `sweep`: the optional daemon that releases expired claims every `--interval`.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::Context;
use crate::cli::SweepArgs;
use crate::output::Printer;
use crate::signals::Interrupt;
use crate::time;

/// How often the daemon checks for SIGINT/SIGTERM while it sleeps between passes.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

pub fn run(args: SweepArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let mut store = ctx.open_store()?;
    if args.once {
        let report = store.release_expired()?;
        return out.sweep(time::now(), &report);
    }
    let interrupt = Interrupt::install()?;
    out.note(&format!(
        "sweeping expired claims every {}; stop with Ctrl-C",
        time::human_duration(args.interval)
    ));
    while interrupt.received().is_none() {
        // Passes are spaced on the monotonic clock: a wall clock stepped back a day must not
        // pause the daemon for a day.
        let next_pass = Instant::now() + Duration::from_millis(args.interval as u64);
        let now = time::now();
        let report = store.release_expired()?;
        if report.retried + report.dead > 0 {
            out.sweep(now, &report)?;
        }
        while interrupt.received().is_none() {
            match next_pass.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => sleep(left.min(SIGNAL_CHECK)),
                _ => break,
            }
        }
    }
    Ok(())
}

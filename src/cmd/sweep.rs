//! `sweep`: the optional daemon that releases expired claims every `--interval`.

use std::thread::sleep;
use std::time::Duration;

use anyhow::Result;

use super::Context;
use crate::cli::SweepArgs;
use crate::output::Printer;
use crate::signals::Interrupt;
use crate::time::{self, Millis};

/// How often the daemon checks for SIGINT/SIGTERM while it sleeps between passes.
const SIGNAL_CHECK: Millis = 100;

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
        let now = time::now();
        let report = store.release_expired()?;
        if report.retried + report.dead > 0 {
            out.sweep(now, &report)?;
        }
        let next_pass = now + args.interval;
        while interrupt.received().is_none() && time::now() < next_pass {
            let nap = (next_pass - time::now()).clamp(0, SIGNAL_CHECK);
            sleep(Duration::from_millis(nap as u64));
        }
    }
    Ok(())
}

//! `pause`: stop handing out a queue's jobs.

use anyhow::Result;

use super::Context;
use crate::cli::PauseArgs;
use crate::output::Printer;

pub fn run(args: PauseArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let queue = args.queue.name().to_string();
    let settings = ctx
        .open_store()?
        .update_settings(&queue, |s| s.paused = true)?;
    out.settings(&queue, &settings)
}

//! `resume`: hand out a paused queue's jobs again.

use anyhow::Result;

use super::Context;
use crate::cli::ResumeArgs;
use crate::output::Printer;

pub fn run(args: ResumeArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let queue = args.queue.name().to_string();
    let settings = ctx
        .open_store()?
        .update_settings(&queue, |s| s.paused = false)?;
    out.settings(&queue, &settings)
}

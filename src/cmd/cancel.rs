//! `cancel`: take pending jobs out for good, all or none.

use anyhow::Result;

use super::Context;
use crate::cli::CancelArgs;
use crate::error::Error;
use crate::output::Printer;

pub fn run(args: CancelArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let first = args
        .ids
        .first()
        .ok_or_else(|| Error::usage("cancel needs the ids of the jobs to cancel"))?;
    let jobs = ctx.open_for_job(first)?.cancel(&args.ids)?;
    out.cancelled(&jobs)
}

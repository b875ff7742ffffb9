//! `cancel`: take pending jobs out for good, all or none.

use anyhow::Result;

use super::Context;
use crate::cli::CancelArgs;
use crate::output::Printer;

pub fn run(args: CancelArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let jobs = ctx.open_for_job(&args.ids[0])?.cancel(&args.ids)?;
    out.cancelled(&jobs)
}

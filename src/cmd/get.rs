//! `get`: print one job.

use anyhow::Result;

use super::Context;
use crate::cli::GetArgs;
use crate::output::Printer;

pub fn run(args: GetArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let job = ctx.open_for_job(&args.id)?.get(&args.id)?;
    out.job(&job)
}

//! `release`: give a claimed job back without counting a failed attempt.

use anyhow::Result;

use super::Context;
use crate::cli::ReleaseArgs;
use crate::output::Printer;

pub fn run(args: ReleaseArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let job = ctx
        .open_for_job(&args.id)?
        .release(&args.id, args.claim.as_deref())?;
    out.job(&job)
}

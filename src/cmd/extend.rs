//! `extend`: push a claim's deadline further while work goes on.

use anyhow::Result;

use super::Context;
use crate::cli::ExtendArgs;
use crate::output::Printer;

pub fn run(args: ExtendArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let job = ctx
        .open_for_job(&args.id)?
        .extend(&args.id, args.claim.as_deref(), args.by)?;
    out.job(&job)
}

//! `complete`: mark a claimed job done, with an optional JSON output.

use anyhow::Result;

use super::Context;
use crate::cli::CompleteArgs;
use crate::input::read_json_arg;
use crate::output::Printer;

pub fn run(args: CompleteArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let output = args
        .output
        .as_deref()
        .map(|value| read_json_arg("--output", value))
        .transpose()?;
    let job = ctx
        .open_for_job(&args.id)?
        .complete(&args.id, args.claim.as_deref(), output)?;
    out.job(&job)
}

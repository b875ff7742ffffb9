//! `fail`: record a failed attempt; the retry rule decides between pending and dead.

use anyhow::Result;

use super::Context;
use crate::cli::FailArgs;
use crate::job::Outcome;
use crate::lifecycle::FailOptions;
use crate::output::Printer;

pub fn run(args: FailArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let reason = args.reason.as_deref().unwrap_or("no reason given");
    let (job, outcome) = ctx.open_for_job(&args.id)?.fail(
        &args.id,
        args.claim.as_deref(),
        reason,
        FailOptions {
            dead: args.dead,
            retry_in: args.retry_in,
        },
    )?;
    out.note(&match outcome {
        Outcome::Retry => format!("{} goes back to pending for another try", job.id),
        Outcome::Dead => format!("{} is dead", job.id),
    });
    out.job(&job)
}

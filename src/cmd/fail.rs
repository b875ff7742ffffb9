//! `fail`: record a failed attempt; the retry rule decides between pending and dead.

use anyhow::Result;

use super::Context;
use crate::cli::FailArgs;
use crate::job::Outcome;
use crate::lifecycle::FailOptions;
use crate::output::Printer;

pub fn run(args: FailArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    // A reason is often a program's captured stderr, which need not be UTF-8: refusing it
    // would leave the failure unrecorded, so it is kept with U+FFFD for the bytes that are not.
    let reason = args.reason.as_deref().map(|r| r.to_string_lossy());
    let (job, outcome) = ctx.open_for_job(&args.id)?.fail(
        &args.id,
        args.claim.as_deref(),
        reason.as_deref().unwrap_or("no reason given"),
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

//! `complete`: mark a claimed job done, with an optional JSON output and follow-up jobs
//! enqueued in the same transaction.

use anyhow::Result;

use super::Context;
use crate::cli::CompleteArgs;
use crate::input::read_json_arg;
use crate::job::NewJob;
use crate::output::Printer;

pub fn run(args: CompleteArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let output = args
        .output
        .as_deref()
        .map(|value| read_json_arg("--output", value))
        .transpose()?;
    let follow_ups: Vec<NewJob> = args
        .follow_ups
        .into_iter()
        .map(|(queue, payload)| NewJob::new(queue, payload))
        .collect();
    let (job, added) = ctx.open_for_job(&args.id)?.complete(
        &args.id,
        args.claim.as_deref(),
        output,
        &follow_ups,
    )?;
    for follow_up in &added {
        out.note(&format!(
            "enqueued follow-up {} in {}",
            follow_up.job.id, follow_up.job.queue
        ));
    }
    out.job(&job)
}

//! `complete`: mark a claimed job done, with an optional JSON output and follow-up jobs
//! enqueued in the same transaction.

use anyhow::Result;

use super::Context;
use crate::cli::CompleteArgs;
use crate::error::Error;
use crate::follow_up;
use crate::input::read_json_arg;
use crate::job::NewJob;
use crate::output::Printer;

pub fn run(args: CompleteArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let stdin_readers = args.output.iter().chain(&args.follow_up_objects);
    if stdin_readers.filter(|value| *value == "-").count() > 1 {
        return Err(Error::invalid(
            "only one of --output and --follow-up can read stdin (-); give the others as @FILE",
        )
        .into());
    }
    let output = args
        .output
        .as_deref()
        .map(|value| read_json_arg("--output", value))
        .transpose()?;
    let mut follow_ups: Vec<NewJob> = args
        .follow_ups
        .into_iter()
        .map(|(queue, payload)| NewJob::new(queue, payload))
        .collect();
    for value in &args.follow_up_objects {
        follow_ups.extend(follow_up::read(value)?);
    }
    let (job, added) = ctx.open_for_job(&args.id)?.complete(
        &args.id,
        args.claim.as_deref(),
        output,
        &follow_ups,
    )?;
    out.completed(&job, &added)
}

//! `retry`: bring dead (or done) jobs back to pending with a fresh attempt budget.

use anyhow::Result;

use super::Context;
use crate::cli::{RetryArgs, RetryStatus};
use crate::error::Error;
use crate::job::Status;
use crate::output::Printer;

/// clap requires ids unless --queue is given; said anyway, should that rule ever change.
const NO_JOBS: &str = "retry needs job ids or --queue";

pub fn run(args: RetryArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let jobs = match &args.queue {
        Some(queue) => {
            let status = match args.status {
                RetryStatus::Dead => Status::Dead,
                RetryStatus::Done => Status::Done,
            };
            let (jobs, skipped) = match ctx.open_existing()? {
                Some(mut store) => store.replay_queue(queue, status)?,
                None => (Vec::new(), 0),
            };
            // A script must hear of it too: the jobs it asked back are not all back.
            match skipped {
                0 => {}
                1 => out.notice(
                    "1 job left as it is: its dedup key is taken by an unfinished job of the queue",
                )?,
                n => out.notice(&format!(
                    "{n} jobs left as they are: their dedup keys are taken by unfinished jobs of \
                     the queue"
                ))?,
            }
            jobs
        }
        None => {
            let first = args.ids.first().ok_or_else(|| Error::usage(NO_JOBS))?;
            ctx.open_for_job(first)?.replay(&args.ids)?
        }
    };
    match jobs.len() {
        0 => {}
        1 => out.note("1 job back to pending"),
        n => out.note(&format!("{n} jobs back to pending")),
    }
    out.jobs(&jobs)
}

//! `list`: jobs matching filters, newest first, streamed as they are read.

use anyhow::Result;

use super::Context;
use crate::cli::ListArgs;
use crate::job::ListFilter;
use crate::output::Printer;

pub fn run(args: ListArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let filter = ListFilter {
        queue: args.queue.name().map(str::to_string),
        status: args.status,
        job_type: args.job_type,
        worker: args.worker,
        limit: (args.limit > 0).then_some(args.limit),
    };
    match ctx.open_existing()? {
        Some(mut store) => out.job_stream(|emit| store.list(&filter, emit)),
        None => out.jobs(&[]),
    }
}

//! `list`: jobs matching filters, newest first, streamed as they are read; says when it
//! stopped at its limit.

use anyhow::Result;

use super::Context;
use crate::cli::ListArgs;
use crate::job::ListFilter;
use crate::output::{thousands, Printer};

pub fn run(args: ListArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let filter = ListFilter {
        queue: args.queue.name().map(str::to_string),
        status: args.status,
        job_type: args.job_type,
        worker: args.worker,
        limit: (args.limit > 0).then_some(args.limit),
    };
    let Some(mut store) = ctx.open_existing()? else {
        return out.jobs(&[]);
    };
    let mut shown = 0;
    out.job_stream(|emit| {
        store.list(&filter, |job| {
            shown += 1;
            emit(job)
        })
    })?;
    // A list cut at its limit reads like a whole one: say so, in every format.
    if filter.limit == Some(shown) {
        let total = store.count_matching(&filter)?;
        if total > shown {
            out.notice(&format!(
                "showing the newest {} of {} jobs (--limit N for more, --limit 0 for all)",
                thousands(shown),
                thousands(total)
            ))?;
        }
    }
    Ok(())
}

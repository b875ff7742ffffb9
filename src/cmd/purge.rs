//! `purge`: delete jobs by queue, status and age; refuses to run unfiltered without `--all`.

use std::io::{self, IsTerminal};

use anyhow::Result;

use super::Context;
use crate::cli::PurgeArgs;
use crate::error::Error;
use crate::job::PurgeFilter;
use crate::output::{Printer, PurgeOutcome};
use crate::time;

pub fn run(args: PurgeArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let filter = PurgeFilter {
        queue: args.queue,
        status: args.status,
        updated_before: args.older_than.map(|age| time::now() - age),
    };
    let unfiltered =
        filter.queue.is_none() && filter.status.is_none() && filter.updated_before.is_none();
    if unfiltered && !args.all {
        return Err(Error::usage(
            "purge needs a filter (--queue, --status or --older-than), or --all to delete every job",
        )
        .into());
    }
    let mut store = ctx.open_store()?;
    let matched = store.purge_count(&filter)?;
    let removed = if args.dry_run {
        0
    } else {
        let show_progress = matched > 50_000 && io::stderr().is_terminal();
        store.purge(&filter, |removed| {
            if show_progress {
                eprint!("\rremoved {removed} of {matched} jobs");
            }
        })?
    };
    if !args.dry_run && matched > 50_000 && io::stderr().is_terminal() {
        eprintln!();
    }
    out.purge(&PurgeOutcome {
        matched,
        removed,
        dry_run: args.dry_run,
    })
}

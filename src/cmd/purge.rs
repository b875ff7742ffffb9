//! `purge`: delete jobs by queue, status and age; refuses to run unfiltered without `--all`.

use std::io::{self, IsTerminal};

use anyhow::Result;

use super::Context;
use crate::cli::PurgeArgs;
use crate::error::Error;
use crate::job::PurgeFilter;
use crate::output::{Printer, PurgeOutcome};
use crate::store::Store;

pub fn run(args: PurgeArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let queue = args.queue.name().map(str::to_string);
    if queue.is_none() && args.status.is_none() && args.older_than.is_none() && !args.all {
        return Err(Error::usage(
            "purge needs a filter (a queue, --status or --older-than), or --all to delete every job",
        )
        .into());
    }
    let (matched, removed) = match ctx.open_existing()? {
        Some(mut store) => {
            // The age is counted on the database's clock, which stamped `updated_at`.
            let updated_before = match args.older_than {
                Some(age) => Some(store.now()? - age),
                None => None,
            };
            let filter = PurgeFilter {
                queue,
                status: args.status,
                updated_before,
            };
            purge(&mut store, &filter, args.dry_run)?
        }
        None => (0, 0),
    };
    out.purge(&PurgeOutcome {
        matched,
        removed,
        dry_run: args.dry_run,
    })
}

/// Counts, then (unless a dry run) deletes, showing progress at a terminal when it is long.
fn purge(store: &mut Store, filter: &PurgeFilter, dry_run: bool) -> Result<(u64, u64)> {
    let matched = store.purge_count(filter)?;
    if dry_run {
        return Ok((matched, 0));
    }
    let show_progress = matched > 50_000 && io::stderr().is_terminal();
    let removed = store.purge(filter, |removed| {
        if show_progress {
            eprint!("\rremoved {removed} of {matched} jobs");
        }
    })?;
    if show_progress {
        eprintln!();
    }
    Ok((matched, removed))
}

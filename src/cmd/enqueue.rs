//! `enqueue`: add one job, or a batch from stdin in one all-or-nothing transaction, read,
//! added and printed a job at a time so that its size does not matter.

use std::io::{self, IsTerminal};

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::EnqueueArgs;
use crate::input::{read_batch, read_json_arg};
use crate::job::{Backoff, NewJob, Visible};
use crate::output::Printer;

pub fn run(args: EnqueueArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let queue = args.queue.name().to_string();
    let template = NewJob {
        queue,
        job_type: args.job_type,
        payload: String::new(),
        priority: args.priority,
        max_retries: args.max_retries,
        backoff: args.backoff.map(|base| Backoff {
            base,
            max: args.backoff_max,
        }),
        group: args.group,
        key: args.key,
        visible: match (args.at, args.delay) {
            (Some(at), _) => Visible::At(at),
            (None, Some(delay)) => Visible::After(delay),
            (None, None) => Visible::Now,
        },
    };
    if args.batch {
        if io::stdin().is_terminal() {
            out.note("reading payloads from stdin, one JSON value per line; end with Ctrl-D");
        }
        let mut lines = read_batch(io::stdin().lock());
        let head = read_head(&mut lines)?;
        let mut store = ctx.open_store()?;
        let payloads = head.into_iter().map(Ok).chain(lines);
        store.enqueue_stream(&template, payloads, |prototype, jobs| {
            out.batch(prototype, jobs)
        })
    } else {
        let payload = read_json_arg("--payload", args.payload.as_deref().unwrap_or("-"))?;
        let job = NewJob {
            payload,
            ..template
        };
        let created = ctx.open_store()?.enqueue(&[job])?;
        let created = created.first().context("the enqueue returned no job")?;
        out.enqueued_one(created)
    }
}

/// How much of a batch is read and checked before the database is opened.
const HEAD_BYTES: usize = 4 * 1024 * 1024;

/// Reads a batch's first payloads, up to [`HEAD_BYTES`]. A batch that ends within them is
/// checked whole before the database is opened, like any other input, so a bad line cannot
/// create a database, and the write lock is held only while its jobs are added. A longer
/// batch goes on from the rest of stdin inside the transaction, to keep memory flat.
fn read_head(lines: &mut impl Iterator<Item = Result<String>>) -> Result<Vec<String>> {
    let mut head = Vec::new();
    let mut bytes = 0;
    while bytes < HEAD_BYTES {
        let Some(payload) = lines.next().transpose()? else {
            break;
        };
        bytes += payload.len();
        head.push(payload);
    }
    Ok(head)
}

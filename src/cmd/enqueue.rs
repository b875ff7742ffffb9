//! `enqueue`: add one job, or a batch from stdin in one all-or-nothing transaction.

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
        let jobs: Vec<NewJob> = read_batch(io::stdin().lock())?
            .into_iter()
            .map(|payload| NewJob {
                payload,
                ..template.clone()
            })
            .collect();
        let created = ctx.open_store()?.enqueue(&jobs)?;
        out.enqueued(&created)
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

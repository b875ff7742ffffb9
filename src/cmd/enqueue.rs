//! `enqueue`: add one job, or a batch from stdin in one all-or-nothing transaction.

use std::io::{self, BufRead, IsTerminal};

use anyhow::Result;

use super::{required_queue, Context};
use crate::cli::EnqueueArgs;
use crate::error::Error;
use crate::input::{compact_json, read_json_arg};
use crate::job::{NewJob, Visible};
use crate::output::Printer;

pub fn run(args: EnqueueArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let queue = required_queue(&args.queue)?;
    let template = NewJob {
        queue,
        job_type: args.job_type,
        payload: String::new(),
        priority: args.priority,
        max_retries: args.max_retries,
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
        out.jobs(&created)
    } else {
        let payload = read_json_arg("--payload", args.payload.as_deref().unwrap_or("-"))?;
        let job = NewJob {
            payload,
            ..template
        };
        let created = ctx.open_store()?.enqueue(&[job])?;
        out.job(&created[0])
    }
}

/// Reads newline-delimited JSON payloads, skipping blank lines. Every line is checked before
/// anything is written, so a bad line leaves the queue untouched.
fn read_batch(mut input: impl BufRead) -> Result<Vec<String>> {
    let mut payloads = Vec::new();
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| Error::invalid(format!("--batch line {number}: not valid UTF-8")))?;
        if text.trim().is_empty() {
            continue;
        }
        let payload = compact_json(text).map_err(|e| {
            Error::invalid(format!("--batch line {number}: {e}; nothing was enqueued"))
        })?;
        payloads.push(payload);
    }
    Ok(payloads)
}

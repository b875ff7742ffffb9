//! `enqueue`: add one job, or a batch from stdin in one all-or-nothing transaction.

use std::io::{self, BufRead, IsTerminal, Read};

use anyhow::Result;

use super::Context;
use crate::cli::EnqueueArgs;
use crate::error::Error;
use crate::input::{compact_json, read_json_arg, MAX_RAW_JSON_BYTES};
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
        out.enqueued_one(&created[0])
    }
}

/// The most `--batch` reads from stdin. All of it is checked before anything is written, so
/// it is held in memory; larger loads go in several batches.
const MAX_BATCH_BYTES: u64 = 256 * 1024 * 1024;

/// Reads newline-delimited JSON payloads, skipping blank lines. Every line is checked before
/// anything is written, so a bad line leaves the queue untouched.
fn read_batch(input: impl BufRead) -> Result<Vec<String>> {
    let mut input = input.take(MAX_BATCH_BYTES + 1);
    let mut payloads = Vec::new();
    let mut line = Vec::new();
    let mut total = 0u64;
    for number in 1.. {
        line.clear();
        let read = (&mut input)
            .take(MAX_RAW_JSON_BYTES + 1)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        total += read as u64;
        let bad = |what: String| {
            Error::invalid(format!(
                "--batch line {number}: {what}; nothing was enqueued"
            ))
        };
        if total > MAX_BATCH_BYTES {
            return Err(Error::invalid(format!(
                "--batch input is over {} MiB; nothing was enqueued (split it into several batches)",
                MAX_BATCH_BYTES / (1024 * 1024)
            ))
            .into());
        }
        if read as u64 > MAX_RAW_JSON_BYTES {
            return Err(
                bad("longer than 16 MiB, far over the 1 MiB limit for a payload".into()).into(),
            );
        }
        let text = std::str::from_utf8(&line).map_err(|_| bad("not valid UTF-8".into()))?;
        if text.trim().is_empty() {
            continue;
        }
        // serde_json counts lines within the text it is given: on a single line, only the
        // column means anything.
        let payload = compact_json(text.trim_end())
            .map_err(|e| bad(e.replace(" at line 1 column", " at column")))?;
        payloads.push(payload);
    }
    Ok(payloads)
}

//! `export`: every job with its whole state, and the queue settings, as the export line
//! format on stdout, written as the pages are read.

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};

use anyhow::Result;
use serde::Serialize;

use super::Context;
use crate::cli::ExportArgs;
use crate::time::{now, rfc3339};
use crate::transfer::{EndLine, Header, JobLine, Line, SettingsLine, VERSION};

pub fn run(args: ExportArgs, ctx: &Context) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    let store = ctx.open_existing()?;
    let mut end = EndLine {
        jobs: 0,
        settings: 0,
    };
    // With no database there is nothing to export: an export of nothing, which imports as
    // such, rather than an error a pipeline would have to tell apart.
    let Some(mut store) = store else {
        write_line(&mut out, &header(ctx, now()))?;
        write_line(&mut out, &Line::End(end))?;
        return Ok(out.flush()?);
    };
    write_line(&mut out, &header(ctx, store.now()?))?;
    let mut seen = BTreeSet::new();
    for (queue, settings) in store.export_settings(&args.queues)? {
        write_line(
            &mut out,
            &Line::Settings(SettingsLine::new(&queue, &settings)),
        )?;
        end.settings += 1;
        seen.insert(queue);
    }
    store.export(&args.queues, |job, stored| {
        end.jobs += 1;
        if !seen.contains(&job.queue) {
            seen.insert(job.queue.clone());
        }
        write_line(&mut out, &Line::Job(Box::new(JobLine::new(job, stored)?)))
    })?;
    write_line(&mut out, &Line::End(end))?;
    out.flush()?;
    note_empty_queues(&args.queues, &seen, store.name());
    Ok(())
}

/// A queue asked for by name that had nothing to export is most likely a typo: a pipeline
/// that moves a queue should not carry on believing it moved one. On stderr, in every
/// format, after the export itself.
fn note_empty_queues(asked: &[String], seen: &BTreeSet<String>, db: &str) {
    let empty: BTreeSet<&str> = asked
        .iter()
        .filter(|queue| !seen.contains(*queue))
        .map(String::as_str)
        .collect();
    let named = empty.into_iter().collect::<Vec<_>>();
    match named.as_slice() {
        [] => {}
        [one] => eprintln!("note: queue {one} has no jobs or settings in {db}; none exported"),
        many => eprintln!(
            "note: queues {} have no jobs or settings in {db}; none exported",
            many.join(", ")
        ),
    }
}

fn header(ctx: &Context, at: crate::time::Millis) -> Header {
    Header {
        queueprim_export: VERSION,
        engine: ctx.location.engine().to_string(),
        exported_at: rfc3339(at),
    }
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

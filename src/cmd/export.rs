//! `export`: every job with its whole state, and the queue settings, as the export line
//! format on stdout, written as the pages are read.

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
    for (queue, settings) in store.export_settings(&args.queues)? {
        write_line(
            &mut out,
            &Line::Settings(SettingsLine::new(&queue, &settings)),
        )?;
        end.settings += 1;
    }
    store.export(&args.queues, |job, stored| {
        end.jobs += 1;
        write_line(&mut out, &Line::Job(Box::new(JobLine::new(job, stored)?)))
    })?;
    write_line(&mut out, &Line::End(end))?;
    Ok(out.flush()?)
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

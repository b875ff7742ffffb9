//! `config`: show or set a queue's defaults for jobs and claims.

use anyhow::Result;

use super::Context;
use crate::cli::ConfigArgs;
use crate::output::Printer;

pub fn run(args: ConfigArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let queue = args.queue.name().to_string();
    let changes = args.reset
        || args.timeout.is_some()
        || args.max_retries.is_some()
        || args.backoff.is_some();
    let settings = if changes {
        ctx.open_store()?.update_settings(&queue, |s| {
            if args.reset {
                *s = crate::job::QueueSettings {
                    paused: s.paused,
                    ..Default::default()
                };
            }
            s.timeout_ms = args.timeout.or(s.timeout_ms);
            s.max_retries = args.max_retries.or(s.max_retries);
            s.backoff_ms = args.backoff.or(s.backoff_ms);
        })?
    } else {
        match ctx.open_existing()? {
            Some(mut store) => store.settings(&queue)?,
            None => Default::default(),
        }
    };
    out.settings(&queue, &settings)
}

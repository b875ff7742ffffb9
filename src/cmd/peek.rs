//! `peek`: the next jobs a dequeue would get, without claiming them.

use anyhow::Result;

use super::Context;
use crate::cli::PeekArgs;
use crate::output::Printer;

pub fn run(args: PeekArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let queue = args.queue.name().to_string();
    let jobs = match ctx.open_existing()? {
        Some(mut store) => store.peek(&queue, args.limit)?,
        None => Vec::new(),
    };
    out.jobs(&jobs)
}

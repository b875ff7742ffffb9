//! `queues`: job counts by status for each queue.

use anyhow::Result;

use super::Context;
use crate::output::Printer;

pub fn run(ctx: &Context, out: &mut Printer) -> Result<()> {
    let queues = match ctx.open_existing()? {
        Some(mut store) => store.queues()?,
        None => Vec::new(),
    };
    out.queues(&queues)
}

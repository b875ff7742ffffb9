//! `stats`: job counts by status over every queue.

use anyhow::Result;

use super::Context;
use crate::output::Printer;

pub fn run(ctx: &Context, out: &mut Printer) -> Result<()> {
    let counts = ctx.open_store()?.stats()?;
    out.counts(&counts)
}

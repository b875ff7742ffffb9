//! `stats`: job counts by status over every queue.

use anyhow::Result;

use super::Context;
use crate::output::Printer;

pub fn run(ctx: &Context, out: &mut Printer) -> Result<()> {
    let counts = match ctx.open_existing()? {
        Some(mut store) => store.stats()?,
        None => Default::default(),
    };
    out.counts(&counts)
}

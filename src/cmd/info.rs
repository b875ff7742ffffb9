//! `info`: which database commands use, where that choice came from, and what it holds.

use anyhow::Result;

use super::Context;
use crate::output::{DbReport, Printer};
use crate::store::Synchronous;

pub fn run(ctx: &Context, out: &mut Printer) -> Result<()> {
    let info = match ctx.open_existing()? {
        Some(mut store) => Some(store.info()?),
        None => {
            out.note(
                "no database there yet: the first command that adds or claims jobs creates it",
            );
            None
        }
    };
    out.db_info(&DbReport {
        backend: ctx.location.engine(),
        db: ctx.location.name(),
        source: ctx.db_source.as_str(),
        supported_schema_version: ctx.location.supported_schema_version(),
        synchronous: match ctx.options.synchronous {
            Synchronous::Full => "full",
            Synchronous::Normal => "normal",
        },
        info,
    })
}

//! `info`: which database commands use, where that choice came from, and what it holds.

use std::path::Path;

use anyhow::Result;

use super::Context;
use crate::output::{DbReport, Printer};
use crate::store::Synchronous;

pub fn run(ctx: &Context, out: &mut Printer) -> Result<()> {
    let exists = ctx.db.exists();
    let info = match ctx.open_existing()? {
        Some(store) => Some(store.info()?),
        None => {
            out.note(
                "no database there yet: the first command that adds or claims jobs creates it",
            );
            None
        }
    };
    out.db_info(&DbReport {
        path: ctx.db_path(),
        source: ctx.db_source.as_str(),
        size_bytes: exists.then(|| file_size(&ctx.db)),
        wal_bytes: exists.then(|| file_size(&sidecar(&ctx.db, "-wal"))),
        synchronous: match ctx.options.synchronous {
            Synchronous::Full => "full",
            Synchronous::Normal => "normal",
        },
        info,
    })
}

/// A file's size; 0 when it does not exist (a WAL that was checkpointed away).
fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// SQLite's `-wal` or `-shm` file beside the database.
fn sidecar(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(suffix);
    name.into()
}

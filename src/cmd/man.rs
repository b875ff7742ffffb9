//! `man`: print a man page, or write them all into a folder.

use std::io::Write;

use anyhow::{Context as _, Result};

use crate::cli::ManArgs;
use crate::manual;
use crate::output::Printer;

pub fn run(args: ManArgs, out: &mut Printer) -> Result<()> {
    let Some(dir) = args.dir else {
        let page = manual::page_for(args.command.as_deref()).context("no such man page")?;
        std::io::stdout().lock().write_all(&page)?;
        return Ok(());
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))?;
    let written = manual::write_pages(&dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    out.written(&dir, &written)
}

//! `import`: an export read from stdin, line by line, into the database in one transaction.

use std::io::{self, IsTerminal};

use anyhow::Result;

use super::Context;
use crate::cli::ImportArgs;
use crate::output::Printer;
use crate::transfer::Reader;

pub fn run(args: ImportArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        out.note(
            "reading an export from stdin (queueprim export > FILE makes one); end with Ctrl-D",
        );
    }
    let mut reader = Reader::new(stdin.lock());
    // Input that is no export at all is refused before any database is opened or created.
    reader.header()?;
    let mut store = ctx.open_store()?;
    let report = store.import(&mut || reader.next(), args.skip_existing)?;
    out.imported(&report, store.name())
}

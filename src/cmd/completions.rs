//! `completions`: print a shell's completion script.

use std::io::Write;

use anyhow::Result;

use crate::cli::CompletionsArgs;
use crate::manual;

pub fn run(args: CompletionsArgs) -> Result<()> {
    // Rendered in memory first: the generator panics on a write error, such as a closed pipe.
    let mut script = Vec::new();
    manual::completions(args.shell, &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(())
}

//! What `import` prints. (`export` writes its own line format, whatever the output format.)

use anyhow::Result;
use serde::Serialize;

use super::{thousands, Printer};
use crate::cli::Format;
use crate::store::ImportReport;
use crate::text::visible;

#[derive(Serialize)]
struct ImportJson {
    imported: u64,
    skipped: u64,
    settings: u64,
}

impl Printer {
    /// How many jobs and queue settings an import added to `db`, and skipped.
    pub fn imported(&mut self, r: &ImportReport, db: &str) -> Result<()> {
        match self.format {
            Format::Table => {
                let skipped = match r.skipped {
                    0 => String::new(),
                    n => format!("; skipped {} already there", thousands(n)),
                };
                self.text(&format!(
                    "imported {} and the settings of {} into {}{skipped}",
                    counted(r.imported, "job"),
                    counted(r.settings, "queue"),
                    visible(db, usize::MAX)
                ))
            }
            _ => self.line(&ImportJson {
                imported: r.imported,
                skipped: r.skipped,
                settings: r.settings,
            }),
        }
    }
}

/// `1 job`, `2,000 jobs`.
fn counted(n: u64, what: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {what}{s}", thousands(n))
}

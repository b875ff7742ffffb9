//! Where a batch keeps the rows it added until its commit, to print them afterwards.
//!
//! SQLite reads a batch back from the snapshot its commit left (a read held open across
//! COMMIT). PostgreSQL has no such read without session state: a cursor WITH HOLD, a
//! temporary table or an exported snapshot would each be lost behind a pooler in
//! transaction mode, and reading the rows again after the commit sees whatever others did
//! since (a worker claiming the first jobs, a cancel or a purge). So the batch keeps what it
//! inserted. That is exactly what the commit wrote: each statement returns one `seq` per row
//! it added (or the batch fails), no statement of the batch changes those rows afterwards,
//! and no other transaction can see them, let alone change them, before the commit.
//!
//! The first [`IN_MEMORY`] bytes stay in memory, so a small batch touches no disk; past
//! that, rows go to an anonymous temporary file (in `TMPDIR`, deleted as it is created), so
//! memory stays flat however long the batch. Everything is written out before the COMMIT:
//! a full disk fails the batch, never the output of a committed one.

use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};

use anyhow::{anyhow, Context as _, Result};

use crate::store::backend::{AddedRows, NewRow};

/// The most bytes of rows kept in memory before they go to a temporary file.
const IN_MEMORY: usize = 4 * 1024 * 1024;

/// The rows added so far, each as its id and payload, length-prefixed.
#[derive(Default)]
pub struct Spool {
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
}

impl Spool {
    pub fn push(&mut self, rows: &[NewRow]) -> Result<()> {
        for row in rows {
            self.write(row.id.as_bytes())?;
            self.write(row.payload.as_bytes())?;
        }
        Ok(())
    }

    fn write(&mut self, field: &[u8]) -> Result<()> {
        let len = u32::try_from(field.len()).map_err(|_| anyhow!("a row is over 4 GiB"))?;
        if self.file.is_none() && self.memory.len() + field.len() > IN_MEMORY {
            self.spill()?;
        }
        match &mut self.file {
            Some(file) => {
                file.write_all(&len.to_le_bytes())?;
                file.write_all(field)?;
            }
            None => {
                self.memory.extend_from_slice(&len.to_le_bytes());
                self.memory.extend_from_slice(field);
            }
        }
        Ok(())
    }

    /// Moves what is in memory to a new temporary file, where the rest goes too.
    fn spill(&mut self) -> Result<()> {
        let file = tempfile::tempfile().with_context(|| {
            format!(
                "cannot create a temporary file for the batch's output in {}",
                std::env::temp_dir().display()
            )
        })?;
        let mut file = BufWriter::with_capacity(256 * 1024, file);
        file.write_all(&self.memory)?;
        self.memory = Vec::new();
        self.file = Some(file);
        Ok(())
    }

    /// Writes everything out, ready to be read from the start: called before the COMMIT.
    pub fn finish(self) -> Result<SpoolReader> {
        let source: Box<dyn Read> = match self.file {
            Some(file) => {
                let mut file = file
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .context("cannot write the batch's temporary file")?;
                file.seek(SeekFrom::Start(0))?;
                Box::new(BufReader::with_capacity(256 * 1024, file))
            }
            None => Box::new(Cursor::new(self.memory)),
        };
        Ok(SpoolReader { source })
    }
}

/// The rows of a [`Spool`], in the order they were pushed.
pub struct SpoolReader {
    source: Box<dyn Read>,
}

impl SpoolReader {
    /// The next field, or `None` at the end.
    fn field(&mut self) -> Result<Option<String>> {
        let mut len = [0u8; 4];
        match self.source.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
        self.source.read_exact(&mut bytes)?;
        Ok(Some(String::from_utf8(bytes)?))
    }
}

impl AddedRows for SpoolReader {
    fn next_row(&mut self) -> Result<Option<NewRow>> {
        let Some(id) = self.field()? else {
            return Ok(None);
        };
        let payload = self
            .field()?
            .ok_or_else(|| anyhow!("the batch's temporary file ends inside a row"))?;
        Ok(Some(NewRow { id, payload }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(from: usize, count: usize, pad: usize) -> Vec<NewRow> {
        (from..from + count)
            .map(|n| NewRow {
                id: format!("q_{n:015}"),
                payload: format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(pad)),
            })
            .collect()
    }

    fn read_all(spool: Spool) -> Vec<NewRow> {
        let mut reader = spool.finish().unwrap();
        std::iter::from_fn(|| reader.next_row().unwrap()).collect()
    }

    #[test]
    fn rows_come_back_in_order_from_memory_and_from_a_file() {
        // Small: memory only. Large: past IN_MEMORY, into a file.
        for (count, pad) in [(3, 0), (2_000, 4_000)] {
            let mut spool = Spool::default();
            let all = rows(0, count, pad);
            for chunk in all.chunks(512) {
                spool.push(chunk).unwrap();
            }
            assert_eq!(spool.file.is_some(), count * pad > IN_MEMORY);
            assert_eq!(read_all(spool), all);
        }
        assert!(read_all(Spool::default()).is_empty());
    }
}

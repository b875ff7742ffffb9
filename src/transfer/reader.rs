//! Reading an export line by line, as `import` inserts it: one line held at a time, never
//! longer than [`MAX_LINE_BYTES`], each checked and named by its number when refused. The
//! input must end with the end line, counting what came before, so that an export cut
//! short (its process killed, its pipe broken) is refused rather than imported in part.

use std::io::{BufRead, Read};

use anyhow::Result;

use super::{EndLine, Header, Line, VERSION};
use crate::error::Error;
use crate::store::Record;
use crate::text::visible;

/// The longest line read: far over the largest job (a 1 MiB payload, a 1 MiB output and a
/// full error history), and a bound on memory for endless input.
pub const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

/// An export being read from `input`.
pub struct Reader<R> {
    input: R,
    /// The number of the last line read.
    number: u64,
    line: Vec<u8>,
    jobs: u64,
    settings: u64,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Self {
        Reader {
            input,
            number: 0,
            line: Vec::new(),
            jobs: 0,
            settings: 0,
        }
    }

    /// Reads the header line, refusing input that is not an export this build reads.
    pub fn header(&mut self) -> Result<Header> {
        let parsed: serde_json::Result<Header> = match self.next_line()? {
            Some(text) => serde_json::from_str(text),
            None => {
                return Err(refused(
                    "there is no input: expected the lines queueprim export writes, on stdin"
                        .into(),
                ))
            }
        };
        let header = parsed.map_err(|e| {
            self.bad(format!(
                "not the header of a queueprim export, {{\"queueprim_export\":{VERSION},…}}: {}",
                json_error(&e)
            ))
        })?;
        if header.queueprim_export != VERSION {
            return Err(self.bad(format!(
                "this is version {} of the export format; this build reads version {VERSION}",
                header.queueprim_export
            )));
        }
        Ok(header)
    }

    /// The next job or settings record with its line number; `None` once the end line was
    /// read, its counts agree, and nothing but blank lines follows.
    pub fn next(&mut self) -> Result<Option<(u64, Record)>> {
        let (parsed, object): (serde_json::Result<Line>, bool) = match self.next_line()? {
            Some(text) => (
                serde_json::from_str(text),
                text.trim_start().starts_with('{'),
            ),
            None => {
                return Err(refused(format!(
                    "the input ends after line {} without the export's end line: the export \
                     was cut short",
                    self.number
                )))
            }
        };
        let line = parsed.map_err(|e| match object {
            true => self.bad(json_error(&e)),
            false => self.bad(
                "not a line of an export, which is an object: {\"job\":…}, {\"settings\":…} \
                 or {\"end\":…}"
                    .into(),
            ),
        })?;
        let record = match line {
            Line::Job(job) => {
                self.jobs += 1;
                job.into_record()
            }
            Line::Settings(settings) => {
                self.settings += 1;
                settings.into_record()
            }
            Line::End(end) => return self.end(&end).map(|()| None),
        };
        record
            .map(|record| Some((self.number, record)))
            .map_err(|e| self.bad(e))
    }

    /// Checks the end line's counts, and that nothing but blank lines follows it.
    fn end(&mut self, end: &EndLine) -> Result<()> {
        if (end.jobs, end.settings) != (self.jobs, self.settings) {
            return Err(self.bad(format!(
                "the end line counts {} jobs and {} settings, but {} and {} came before it",
                end.jobs, end.settings, self.jobs, self.settings
            )));
        }
        match self.next_line()? {
            Some(_) => Err(self.bad("there is more after the export's end line".into())),
            None => Ok(()),
        }
    }

    /// The next line that is not blank, without its line break.
    fn next_line(&mut self) -> Result<Option<&str>> {
        loop {
            self.line.clear();
            let read = (&mut self.input)
                .take(MAX_LINE_BYTES + 1)
                .read_until(b'\n', &mut self.line)?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            if read as u64 > MAX_LINE_BYTES {
                return Err(self.bad(format!(
                    "longer than {} MiB, more than any job takes",
                    MAX_LINE_BYTES >> 20
                )));
            }
            if self.line.iter().any(|b| !b.is_ascii_whitespace()) {
                break;
            }
        }
        let number = self.number;
        std::str::from_utf8(&self.line)
            .map(|text| Some(text.trim_end_matches(['\n', '\r'])))
            .map_err(|_| at_line(number, "not valid UTF-8".into()))
    }

    /// An error about the line just read.
    fn bad(&self, what: String) -> anyhow::Error {
        at_line(self.number, what)
    }
}

/// An error about line `number`. What serde quotes of the line (a field's name, a value
/// of the wrong type) is the input's: escaped, and cut should it be huge.
fn at_line(number: u64, what: String) -> anyhow::Error {
    refused(format!("line {number}: {}", visible(&what, QUOTED_CHARS)))
}

/// The most characters of a message about one line.
const QUOTED_CHARS: usize = 500;

fn refused(what: String) -> anyhow::Error {
    Error::invalid(format!("{what}; nothing was imported")).into()
}

/// serde's message for one line: its line number is always 1, only the column means
/// anything.
fn json_error(e: &serde_json::Error) -> String {
    e.to_string().replace(" at line 1 column", " at column")
}

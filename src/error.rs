//! The one typed error: which exit code a failure maps to and what kind it is called in JSON.

use std::fmt;
use std::io;

/// What went wrong, as far as a caller's exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The command line itself is wrong (unknown flag, missing argument): exit 2.
    Usage,
    /// A value is wrong (bad JSON, duration, queue name): exit 2.
    InvalidInput,
    /// No job has that id: exit 3.
    NotFound,
    /// The job is not in a state that allows it, or the claim is no longer the caller's: exit 4.
    Conflict,
    /// A wait was interrupted by this signal number: exit 128 + signal.
    Interrupted(i32),
}

/// A failure the user can act on, carrying its exit code through `anyhow`.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Kind::InvalidInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }

    pub fn interrupted(signal: i32, message: impl Into<String>) -> Self {
        Self::new(Kind::Interrupted(signal), message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// How a failure is reported: exit code, the `kind` word of JSON errors, and the message.
#[derive(Debug)]
pub struct Report {
    pub exit_code: u8,
    pub kind: &'static str,
    pub message: String,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Usage | Kind::InvalidInput => 2,
            Kind::NotFound => 3,
            Kind::Conflict => 4,
            Kind::Interrupted(signal) => {
                u8::try_from(signal).map_or(1, |s| 128u8.saturating_add(s))
            }
        }
    }

    /// The `kind` of JSON errors: part of the output contract.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::InvalidInput => "invalid_input",
            Kind::NotFound => "not_found",
            Kind::Conflict => "conflict",
            Kind::Interrupted(_) => "interrupted",
        }
    }
}

impl Report {
    pub fn new(kind: Kind, message: String) -> Self {
        Report {
            exit_code: kind.exit_code(),
            kind: kind.name(),
            message,
        }
    }
}

/// Classifies any error that reached `main`. `None` means it was a closed stdout pipe,
/// which is not an error: the reader simply stopped reading (`queueprim list | head`).
pub fn classify(err: &anyhow::Error) -> Option<Report> {
    if is_broken_pipe(err) {
        return None;
    }
    let message = one_line(err);
    if let Some(typed) = err.chain().find_map(|e| e.downcast_ref::<Error>()) {
        return Some(Report::new(typed.kind, message));
    }
    let kind = if err
        .chain()
        .any(|e| e.downcast_ref::<rusqlite::Error>().is_some())
    {
        "database"
    } else if err.chain().any(|e| e.downcast_ref::<io::Error>().is_some()) {
        "io"
    } else {
        "runtime"
    };
    Some(Report {
        exit_code: 1,
        kind,
        message,
    })
}

/// The error and its causes on one line, each cause once: SQLite's errors repeat their
/// message in their source. A full disk or a lock held too long gets a hint.
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let repeats = parts
            .last()
            .is_some_and(|last| last.contains(&text) || text.ends_with(last.as_str()));
        if !repeats {
            parts.push(text);
        }
    }
    let mut message = parts.join(": ");
    if let Some(hint) = err.chain().find_map(sqlite_hint) {
        message.push_str(&hint);
    }
    message
}

fn sqlite_hint(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    let error = cause.downcast_ref::<rusqlite::Error>()?;
    // A write that failed part-way leaves no commit record, so the transaction is undone.
    // (A failed fsync is different: the commit may already be whole on disk.)
    let failed_write = matches!(error, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE);
    if failed_write {
        return Some(
            " (a write to the disk failed: it may be full, or the file over a size limit such \
             as `ulimit -f`; nothing was written)"
                .into(),
        );
    }
    if let Some(hint) = wal_index_hint(error) {
        return Some(hint.into());
    }
    match error.sqlite_error_code()? {
        rusqlite::ErrorCode::DiskFull => {
            Some(" (the disk is full: nothing was written; free some space and retry)".into())
        }
        rusqlite::ErrorCode::DatabaseBusy => Some(format!(
            " (another process held the write lock for over {} s; nothing was written, retry)",
            crate::store::BUSY_TIMEOUT.as_secs()
        )),
        _ => None,
    }
}

/// SQLite says only "disk I/O error" when it cannot set up the WAL index, naming no file:
/// the index is the -shm file, created and sized (by writing to it) by the first process to
/// open the database.
fn wal_index_hint(error: &rusqlite::Error) -> Option<&'static str> {
    let rusqlite::Error::SqliteFailure(e, _) = error else {
        return None;
    };
    if e.extended_code == rusqlite::ffi::SQLITE_IOERR_SHMSIZE {
        Some(
            " (a write to the disk failed creating the WAL index, the -shm file beside the \
             database: it may be full, or the file over a size limit such as `ulimit -f`; \
             nothing was written)",
        )
    } else if crate::store::WAL_INDEX_ERRORS.contains(&e.extended_code) {
        Some(
            " (cannot set up the WAL index, the -shm file beside the database: the disk may be \
             full; nothing was written)",
        )
    } else {
        None
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    // serde_json wraps the io::Error it met, and does not expose it as a source.
    err.chain().any(|e| {
        let io_kind = e
            .downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| {
                e.downcast_ref::<serde_json::Error>()
                    .and_then(|j| j.io_error_kind())
            });
        io_kind == Some(io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_failure(extended_code: i32) -> anyhow::Error {
        let cause = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(extended_code),
            Some("disk I/O error".into()),
        );
        anyhow::Error::new(cause).context("cannot write to database q.db")
    }

    #[test]
    fn a_wal_index_that_cannot_be_set_up_is_named_with_the_likely_cause() {
        let sized = classify(&sqlite_failure(rusqlite::ffi::SQLITE_IOERR_SHMSIZE)).unwrap();
        assert_eq!(sized.exit_code, 1);
        assert!(
            sized.message.starts_with(
                "cannot write to database q.db: disk I/O error (a write to the disk failed \
                 creating the WAL index, the -shm file beside the database"
            ),
            "{}",
            sized.message
        );
        let mapped = classify(&sqlite_failure(rusqlite::ffi::SQLITE_IOERR_SHMMAP)).unwrap();
        assert!(
            mapped.message.contains("-shm file") && mapped.message.contains("disk may be full"),
            "{}",
            mapped.message
        );
        let other = classify(&sqlite_failure(rusqlite::ffi::SQLITE_IOERR_READ)).unwrap();
        assert!(!other.message.contains("-shm"), "{}", other.message);
    }
}

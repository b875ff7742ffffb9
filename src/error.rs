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
    /// The database failed (a full disk, an unreachable server, a lock held too long): exit 1.
    Database,
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

    pub fn database(message: impl Into<String>) -> Self {
        Self::new(Kind::Database, message)
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
            Kind::Database => 1,
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
            Kind::Database => "database",
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
    let kind = if err.chain().any(|e| e.downcast_ref::<io::Error>().is_some()) {
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

/// The error and its causes on one line, each cause once: database errors often repeat
/// their message in their source.
pub fn one_line(err: &anyhow::Error) -> String {
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
    parts.join(": ")
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

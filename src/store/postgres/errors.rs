//! PostgreSQL's failures as users read them: one line naming the server (never the
//! password) and what was being done, with a hint where the server's words do not say what
//! to do.

use postgres::error::SqlState;

use crate::error::{self, Error};

/// Turns a failure met while working on the database into a database error (exit 1) that
/// says what was being done (`context`), the server's reason and a hint. Errors that already
/// say what they are about (a conflict, a job not found, bad input) pass through unchanged.
pub fn explain(context: &str, err: anyhow::Error) -> anyhow::Error {
    if err.chain().any(|cause| cause.is::<Error>()) {
        return err;
    }
    if !err.chain().any(|cause| cause.is::<postgres::Error>()) {
        // Not the database's failure (a closed output pipe, say): keep it as it is.
        return err.context(context.to_string());
    }
    let hint = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<postgres::Error>().and_then(hint))
        .unwrap_or_default();
    Error::database(format!("{context}: {}{hint}", error::one_line(&err))).into()
}

/// Whether the server broke a deadlock or a serialisation conflict by failing this
/// transaction: it changed nothing, and running it again will most likely succeed.
pub fn is_retryable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<postgres::Error>().is_some_and(|e| {
            matches!(
                e.code(),
                Some(&SqlState::T_R_DEADLOCK_DETECTED) | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            )
        })
    })
}

fn hint(e: &postgres::Error) -> Option<&'static str> {
    if let Some(code) = e.code() {
        return code_hint(code);
    }
    if e.is_closed() {
        return Some(
            " (the connection to the server was lost: a transaction cut short is rolled back \
             whole by the server)",
        );
    }
    let text = e.to_string();
    if text.contains("error connecting to server") || text.contains("timed out") {
        return Some(" (is the server running and accepting connections there?)");
    }
    None
}

fn code_hint(code: &SqlState) -> Option<&'static str> {
    Some(match code {
        c if *c == SqlState::INVALID_PASSWORD
            || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            " (check the user and password: in the URL, or PGPASSWORD)"
        }
        c if *c == SqlState::INVALID_CATALOG_NAME => {
            " (create the database first, for example with createdb)"
        }
        c if *c == SqlState::INSUFFICIENT_PRIVILEGE => {
            " (the user needs CREATE on the database to set up queueprim's schema, or the \
             schema created for it, and rights on its tables)"
        }
        c if *c == SqlState::LOCK_NOT_AVAILABLE => {
            " (another transaction held a lock for over 30 s; nothing was written, retry)"
        }
        c if *c == SqlState::TOO_MANY_CONNECTIONS => {
            " (the server has no free connection: raise max_connections, or put a pooler \
             such as PgBouncer in front)"
        }
        c if *c == SqlState::ADMIN_SHUTDOWN
            || *c == SqlState::CRASH_SHUTDOWN
            || *c == SqlState::CANNOT_CONNECT_NOW =>
        {
            " (the server is shutting down or starting up; retry in a moment)"
        }
        _ => return None,
    })
}

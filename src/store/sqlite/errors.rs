//! SQLite's failures as users read them: one line naming the database, with a hint where
//! SQLite's own words ("disk I/O error", "database is locked") do not say what to do.

use rusqlite::ffi;

use super::{BUSY_TIMEOUT, WAL_INDEX_ERRORS};
use crate::error::{self, Error};

/// Turns a failure met while working on the database into a database error (exit 1) that
/// says what was being done (`context`), SQLite's reason and a hint. Errors that already say
/// what they are about (a conflict, a job not found, bad input) pass through unchanged.
/// Other failures get the context only.
pub fn explain(context: &str, err: anyhow::Error) -> anyhow::Error {
    if err.chain().any(|cause| cause.is::<Error>()) {
        return err;
    }
    if !err.chain().any(|cause| cause.is::<rusqlite::Error>()) {
        // Not the database's failure (a closed output pipe, say): keep it as it is.
        return err.context(context.to_string());
    }
    let hint = err.chain().find_map(hint).unwrap_or_default();
    Error::database(format!("{context}: {}{hint}", error::one_line(&err))).into()
}

fn hint(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    let error = cause.downcast_ref::<rusqlite::Error>()?;
    // A write that failed part-way leaves no commit record, so the transaction is undone.
    // (A failed fsync is different: the commit may already be whole on disk.)
    let failed_write = matches!(error, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == ffi::SQLITE_IOERR_WRITE);
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
            BUSY_TIMEOUT.as_secs()
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
    if e.extended_code == ffi::SQLITE_IOERR_SHMSIZE {
        Some(
            " (a write to the disk failed creating the WAL index, the -shm file beside the \
             database: it may be full, or the file over a size limit such as `ulimit -f`; \
             nothing was written)",
        )
    } else if WAL_INDEX_ERRORS.contains(&e.extended_code) {
        Some(
            " (cannot set up the WAL index, the -shm file beside the database: the disk may be \
             full; nothing was written)",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_failure(extended_code: i32) -> anyhow::Error {
        let cause = rusqlite::Error::SqliteFailure(
            ffi::Error::new(extended_code),
            Some("disk I/O error".into()),
        );
        explain("cannot write to database q.db", anyhow::Error::new(cause))
    }

    fn message(err: &anyhow::Error) -> String {
        let report = error::classify(err).expect("an error");
        assert_eq!((report.exit_code, report.kind), (1, "database"));
        report.message
    }

    #[test]
    fn a_wal_index_that_cannot_be_set_up_is_named_with_the_likely_cause() {
        let sized = message(&sqlite_failure(ffi::SQLITE_IOERR_SHMSIZE));
        assert!(
            sized.starts_with(
                "cannot write to database q.db: disk I/O error (a write to the disk failed \
                 creating the WAL index, the -shm file beside the database"
            ),
            "{sized}"
        );
        let mapped = message(&sqlite_failure(ffi::SQLITE_IOERR_SHMMAP));
        assert!(
            mapped.contains("-shm file") && mapped.contains("disk may be full"),
            "{mapped}"
        );
        let other = message(&sqlite_failure(ffi::SQLITE_IOERR_READ));
        assert!(!other.contains("-shm"), "{other}");
    }

    #[test]
    fn errors_that_say_what_they_are_about_pass_through() {
        let conflict = explain(
            "cannot write to database q.db",
            Error::conflict("taken").into(),
        );
        let report = error::classify(&conflict).expect("an error");
        assert_eq!((report.exit_code, report.message.as_str()), (4, "taken"));
    }
}

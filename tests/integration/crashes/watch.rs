//! Watching a queueprim process until the moment to kill it, noting what it had done by
//! then: opened the database, grown the WAL, committed.

use std::path::Path;
use std::process::Child;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::support::process::{ended, has_open, kill_and_reap, Ended};

use super::{file_len, wal_path};

/// When to SIGKILL a watched process.
#[derive(Debug, Clone, Copy)]
pub enum KillAt {
    /// Let it finish (a reference run, timing the phases).
    Never,
    /// This long after it was started.
    After(Duration),
    /// This long after it was first seen with the database open.
    AfterDbOpens(Duration),
    /// This long after its WAL first grew, that is once it is writing its transaction.
    AfterWalGrows(Duration),
    /// Once it stands just before its COMMIT, stopped there by the test (PostgreSQL).
    AtCommit,
}

/// What was seen of a queueprim process while it was watched, relative to its start.
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    pub ended: Ended,
    /// It had the database open when it ended: it had parsed all its input by then, since
    /// commands read and check their input before they open the store.
    pub db_was_open: bool,
    /// When it was first seen with the database open.
    pub db_opened_at: Option<Duration>,
    /// When the WAL file first grew beyond its size at the start: the process was writing
    /// pages, so it was inside its write transaction (or had committed).
    pub wal_grew_at: Option<Duration>,
    /// When the WAL file went away again: the process committed, checkpointed and closed.
    pub wal_gone_at: Option<Duration>,
    pub elapsed: Duration,
}

/// How often a watched process is looked at: often enough to catch a transaction of a few
/// milliseconds, cheap enough not to slow the process down on two cores.
pub const WATCH_PERIOD: Duration = Duration::from_micros(250);

/// Watches `child` (a queueprim process on `db`, started just now) and SIGKILLs it when
/// `kill_at` says, noting whether it had the database open and when its WAL grew.
pub fn watch_and_kill(child: &mut Child, db: &Path, kill_at: KillAt) -> Watched {
    let start = Instant::now();
    let wal = wal_path(db);
    let wal_at_start = file_len(&wal);
    let (mut db_opened_at, mut wal_grew_at, mut wal_gone_at) = (None, None, None);
    let ended = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break ended(status);
        }
        let now = start.elapsed();
        if db_opened_at.is_none() && has_open(child.id(), db) {
            db_opened_at = Some(now);
        }
        match (wal_grew_at, wal.exists()) {
            (None, true) if file_len(&wal) > wal_at_start => wal_grew_at = Some(now),
            (Some(_), false) if wal_gone_at.is_none() => wal_gone_at = Some(now),
            _ => {}
        }
        let due = match kill_at {
            KillAt::Never => false,
            KillAt::After(delay) => now >= delay,
            KillAt::AfterDbOpens(delay) => db_opened_at.is_some_and(|open| now >= open + delay),
            KillAt::AfterWalGrows(delay) => wal_grew_at.is_some_and(|grew| now >= grew + delay),
            KillAt::AtCommit => unreachable!("a kill at the commit needs a gate, not watching"),
        };
        if due {
            break kill_and_reap(child);
        }
        sleep(WATCH_PERIOD);
    };
    Watched {
        ended,
        db_was_open: db_opened_at.is_some(),
        db_opened_at,
        wal_grew_at,
        wal_gone_at,
        elapsed: start.elapsed(),
    }
}

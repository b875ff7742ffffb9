//! Moving jobs between databases with `export` and `import`, on the engine of the test
//! binary: every state survives a round trip byte for byte (`round_trip`), the line format
//! is pinned (`format`), an import is all or nothing and keeps the queue's rules (`checks`),
//! and a killed import leaves nothing on SQLite (`crash`; PostgreSQL's, and the moves from
//! one engine to the other, are in `on_postgres/moving.rs`).

mod checks;
mod format;
mod round_trip;
sqlite_only! {
    mod crash;
}

use std::ffi::OsString;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::harness::{Cmd, Job, Run, TestEnv, BIN};
use crate::support::wait::sleep_past;

/// A database jobs move from or to: the test's own (on its binary's engine), or a SQLite
/// file in the test's folder.
pub struct Db<'a> {
    env: &'a TestEnv,
    arg: OsString,
}

impl<'a> Db<'a> {
    /// The test's own database.
    pub fn of(env: &'a TestEnv) -> Db<'a> {
        Db {
            env,
            arg: env.db_arg(),
        }
    }

    /// A SQLite file named `name` in the test's folder, whatever the binary's engine.
    #[allow(dead_code)]
    pub fn sqlite(env: &'a TestEnv, name: &str) -> Db<'a> {
        Db {
            env,
            arg: env.dir().join(name).into_os_string(),
        }
    }

    // The SQLite binary moves jobs within its engine only; these serve the moves between
    // engines (`on_postgres/moving.rs`).
    #[allow(dead_code)]
    pub fn path(&self) -> &Path {
        Path::new(&self.arg)
    }

    /// `queueprim` on this database, for a test that needs the bare `Command` (pipes
    /// between processes, a file on stdin).
    #[allow(dead_code)]
    pub fn process(&self) -> std::process::Command {
        let mut command = self.env.isolated(BIN);
        command.env("QUEUEPRIM_DB", &self.arg);
        command
    }

    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.env.cmd(args).env("QUEUEPRIM_DB", &self.arg)
    }

    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self, args: &[&str]) -> T {
        self.cmd(args).expect_status(0).json()
    }

    #[track_caller]
    pub fn enqueue(&self, queue: &str, payload: &str, extra: &[&str]) -> Job {
        let mut args = vec!["enqueue", queue, "--payload", payload];
        args.extend_from_slice(extra);
        self.json(&args)
    }

    #[track_caller]
    pub fn dequeue(&self, queue: &str, extra: &[&str]) -> Job {
        let mut args = vec!["dequeue", queue];
        args.extend_from_slice(extra);
        self.json(&args)
    }

    /// `export`'s output, which must succeed.
    #[track_caller]
    pub fn export(&self, extra: &[&str]) -> String {
        let mut args = vec!["export"];
        args.extend_from_slice(extra);
        self.cmd(args).expect_status(0).stdout
    }

    /// `import` of `input`, as it ended.
    pub fn import(&self, input: &str, extra: &[&str]) -> Run {
        let mut args = vec!["import"];
        args.extend_from_slice(extra);
        self.cmd(args).stdin(input).run()
    }

    /// `list --limit 0` exactly as printed: every job, newest first.
    #[track_caller]
    pub fn list(&self) -> String {
        self.cmd(["list", "--limit", "0"]).expect_status(0).stdout
    }

    /// `queues` exactly as printed: counts and settings.
    #[track_caller]
    pub fn queues(&self) -> String {
        self.cmd(["queues"]).expect_status(0).stdout
    }
}

/// The ids of what [`populate`] made, by the state each is in.
#[derive(Debug)]
pub struct Populated {
    pub pending: String,
    pub delayed: String,
    pub done: String,
    pub dead: String,
    pub backing_off: String,
    pub claimed: String,
    pub group_live: String,
    pub group_queued: Vec<String>,
    pub replayed: String,
    pub lapsed: String,
}

/// Fills `db` with a job in every state a job can be in, stored every way a pending job
/// can be stored, with errors, outputs, keys, groups, types and settings, in several
/// queues. Takes a second or so: one claim is left to expire.
pub fn populate(db: &Db) -> Populated {
    db.cmd(["config", "emails", "--timeout", "5m", "--max-retries", "3"])
        .args(["--backoff", "30s"])
        .expect_status(0);
    db.cmd(["pause", "paused"]).expect_status(0);
    db.enqueue("paused", "{}", &[]);
    // Whose claim will have expired: pending again, with claim_lapsed set.
    let lapsed = db.enqueue("lapsing", "1", &["--max-retries", "1"]).id;
    let lapsing = db.dequeue("lapsing", &["--worker", "gone", "--timeout", "1s"]);
    let pending = db.enqueue(
        "emails",
        r#"{"to":"ada@example.com","n":1.50,"s":"é\u00e9\n"}"#,
        &["--priority", "high", "--type", "send", "--key", "k-pending"],
    );
    let delayed = db.enqueue("emails", "2", &["--delay", "1h", "--key", "k-delayed"]);
    // One at a time through queue "work", each claimed before the next comes.
    let done = db.enqueue("work", "3", &["--max-retries", "0"]);
    let done_claim = claimed_job(db, "work", &done.id, "w-done");
    db.cmd(["complete", &done.id, "--claim", &done_claim])
        .args(["--output", r#"{"sent":true,"at":[1,2.0]}"#])
        .expect_status(0);
    let dead = db.enqueue("work", "4", &["--max-retries", "0"]);
    let dead_claim = claimed_job(db, "work", &dead.id, "w-dead");
    db.cmd([
        "fail",
        &dead.id,
        "--claim",
        &dead_claim,
        "--reason",
        "smtp said no\nat all",
    ])
    .expect_status(0);
    let backing_off = db.enqueue("work", "5", &["--backoff", "1h", "--max-retries", "2"]);
    let backing_claim = claimed_job(db, "work", &backing_off.id, "w-retry");
    db.cmd([
        "fail",
        &backing_off.id,
        "--claim",
        &backing_claim,
        "--reason",
        "later",
    ])
    .expect_status(0);
    let replayed = db.enqueue("work", "6", &["--max-retries", "0"]);
    let replayed_claim = claimed_job(db, "work", &replayed.id, "w-replay");
    db.cmd(["fail", &replayed.id, "--claim", &replayed_claim, "--dead"])
        .expect_status(0);
    db.cmd(["retry", &replayed.id]).expect_status(0);
    let group_live = db
        .enqueue("orders", r#"{"step":1}"#, &["--group", "c-17"])
        .id;
    let group_queued = vec![
        db.enqueue(
            "orders",
            r#"{"step":2}"#,
            &["--group", "c-17", "--key", "k2"],
        )
        .id,
        db.enqueue(
            "orders",
            r#"{"step":3}"#,
            &["--group", "c-17", "--delay", "1h"],
        )
        .id,
    ];
    let live = db.dequeue("orders", &["--worker", "w-group"]);
    assert_eq!(live.id, group_live);
    let claimed = db.enqueue("claims", "7", &[]).id;
    db.dequeue("claims", &["--worker", "w-claim", "--timeout", "1h"]);
    sleep_past(lapsing.claim_deadline.as_deref().expect("a claim deadline"));
    db.cmd(["sweep", "--once"]).expect_status(0);
    let lapsed_now: Job = db.json(&["get", &lapsed]);
    assert_eq!(
        (lapsed_now.status.as_str(), lapsed_now.attempt_count),
        ("pending", 1)
    );
    Populated {
        pending: pending.id,
        delayed: delayed.id,
        done: done.id,
        dead: dead.id,
        backing_off: backing_off.id,
        claimed,
        group_live,
        group_queued,
        replayed: replayed.id,
        lapsed,
    }
}

/// Claims the next job of `queue` as `worker`, which must be job `id`; returns its claim.
#[track_caller]
fn claimed_job(db: &Db, queue: &str, id: &str, worker: &str) -> String {
    let job = db.dequeue(queue, &["--worker", worker]);
    assert_eq!(job.id, id, "the job claimed next");
    job.claim.expect("a claim")
}

/// An export's lines, parsed.
pub fn lines(export: &str) -> Vec<Value> {
    export
        .lines()
        .map(|line| serde_json::from_str(line).expect("each export line is JSON"))
        .collect()
}

/// An export's lines after the header, exactly as written: what two exports of the same
/// jobs share, whenever and from whichever engine they were made.
pub fn body(export: &str) -> Vec<&str> {
    export.lines().skip(1).collect()
}

/// The export with `edit` applied to each line after the header, as JSON values.
pub fn edited(export: &str, mut edit: impl FnMut(usize, &mut Value)) -> String {
    let mut out = String::new();
    for (n, mut line) in lines(export).into_iter().enumerate() {
        if n > 0 {
            edit(n + 1, &mut line);
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

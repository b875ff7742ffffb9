//! queueprim behind PgBouncer in transaction mode, where consecutive transactions of one
//! client run on whichever server session is free, wiped in between: every command works
//! (no session state, no named prepared statement), many processes share two server
//! sessions, and waiters listen on a direct connection (`QUEUEPRIM_LISTEN_DB`), reconnecting
//! it after a restart, or nowhere.
//!
//! PgBouncer never skips: a machine without it fails here, naming what to install.
//! `QUEUEPRIM_TEST_PGBOUNCER` names the program when it is not on PATH or in /usr/sbin.

mod bouncer;
mod listening;

use std::collections::BTreeSet;
use std::fs;
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::harness::{Counts, Job, BIN};
use crate::support::postgres::cluster;
use crate::support::process::wait_for;
use crate::support::wait::{eventually, GENEROUS};
use bouncer::{Bouncer, Pooled};

#[test]
fn every_kind_of_command_works_through_pgbouncer_in_transaction_mode() {
    let bouncer = Bouncer::start(cluster());
    let db = Pooled::new(&bouncer);
    let before = bouncer.stat("SHOW STATS", "total_xact_count");

    // Enqueue, one and a batch; dedup keys; groups.
    let first: Job = db.json(&["enqueue", "q", "--payload", "{\"n\":1}", "--key", "k1"]);
    let again: Job = db.json(&["enqueue", "q", "--payload", "{\"n\":1}", "--key", "k1"]);
    assert_eq!(
        (again.id.as_str(), again.deduplicated),
        (first.id.as_str(), Some(true))
    );
    let batch: Vec<Job> = db
        .cmd(&["enqueue", "q", "--batch", "--priority", "low"])
        .stdin("{\"n\":2}\n{\"n\":3}\n")
        .expect_status(0)
        .json();
    assert_eq!(batch.len(), 2);
    let charge: Job = db.json(&["enqueue", "orders", "--group", "c17", "--payload", "1"]);
    let ship: Job = db.json(&["enqueue", "orders", "--group", "c17", "--payload", "2"]);

    // Dequeue, extend, complete with follow-ups.
    let job: Job = db.json(&["dequeue", "q", "--worker", "w1"]);
    assert_eq!(job.id, first.id);
    let claim = job.claim.clone().expect("a claim");
    let extended: Job = db.json(&["extend", &job.id, "--by", "10m", "--claim", &claim]);
    assert!(extended.claim_deadline > job.claim_deadline);
    let done: Job = db.json(&[
        "complete",
        &job.id,
        "--claim",
        &claim,
        "--output",
        "{\"ok\":true}",
        "--follow-up",
        "{\"queue\":\"next\",\"payload\":{\"after\":1},\"key\":\"f1\"}",
    ]);
    let follow_ups = done.follow_ups.expect("follow-ups");
    assert_eq!(follow_ups.len(), 1);
    let next: Job = db.json(&["get", &follow_ups[0].id]);
    assert_eq!(
        (next.queue.as_str(), next.status.as_str()),
        ("next", "pending")
    );

    // Fail: retried, then dead.
    let job: Job = db.json(&["dequeue", "q", "--worker", "w2"]);
    assert_eq!(job.id, batch[0].id);
    let claim = job.claim.clone().expect("a claim");
    let dead: Job = db.json(&["fail", &job.id, "--claim", &claim, "--reason", "no"]);
    assert_eq!(dead.status, "dead");

    // Groups hand out one job at a time, in order.
    let heads: Vec<Job> = db.json(&["dequeue", "orders", "--count", "10"]);
    assert_eq!(
        heads.iter().map(|j| &j.id).collect::<Vec<_>>(),
        [&charge.id]
    );
    let claim = heads[0].claim.clone().expect("a claim");
    db.json::<Job>(&["complete", &charge.id, "--claim", &claim]);
    let heads: Vec<Job> = db.json(&["dequeue", "orders", "--count", "10"]);
    assert_eq!(heads.iter().map(|j| &j.id).collect::<Vec<_>>(), [&ship.id]);

    // Reads, settings, purge.
    let stats: Counts = db.json(&["stats"]);
    assert_eq!((stats.done, stats.dead, stats.total), (2, 1, 6));
    db.json::<Value>(&["list", "q", "--status", "dead"]);
    db.json::<Value>(&["queues"]);
    db.json::<Value>(&["info"]);
    db.json::<Value>(&["config", "q", "--timeout", "5m", "--max-retries", "2"]);
    db.json::<Value>(&["pause", "q"]);
    db.cmd(&["dequeue", "q"]).expect_status(0).expect_stdout("");
    db.json::<Value>(&["resume", "q"]);
    let purged: Value = db.json(&["purge", "--queue", "q", "--status", "dead"]);
    assert_eq!(purged["removed"], 1, "{purged}");

    // work, several jobs at once.
    let log = db.env.dir().join("runs.log");
    let script = format!("echo \"$QUEUEPRIM_JOB_ID\" >> '{}'", log.display());
    db.cmd(&[
        "work",
        "next",
        "--concurrency",
        "3",
        "--until-drained",
        "--",
        "sh",
        "-c",
        &script,
    ])
    .expect_status(0);
    db.cmd(&[
        "work",
        "q",
        "--concurrency",
        "3",
        "--until-drained",
        "--",
        "sh",
        "-c",
        &script,
    ])
    .expect_status(0);
    let runs = fs::read_to_string(&log).expect("the run log");
    assert_eq!(runs.lines().count(), 2, "{runs}");
    let stats: Counts = db.json(&["stats"]);
    assert_eq!((stats.pending, stats.claimed, stats.done), (0, 1, 4));

    // It all went through PgBouncer, on at most two server sessions.
    let after = bouncer.stat("SHOW STATS", "total_xact_count");
    assert!(after - before >= 20, "{before} -> {after} transactions");
    assert!(bouncer.stat("SHOW POOLS", "sv_active") + bouncer.stat("SHOW POOLS", "sv_idle") <= 2);
}

#[test]
fn many_processes_at_once_share_two_server_sessions_and_run_each_job_once() {
    let bouncer = Bouncer::start(cluster());
    let db = Pooled::new(&bouncer);
    let log = db.env.dir().join("runs.log");
    let script = format!("echo \"$QUEUEPRIM_JOB_ID\" >> '{}'", log.display());
    let runners: Vec<Child> = (0..3)
        .map(|_| {
            db.cmd(&["work", "q", "--concurrency", "3", "--", "sh", "-c", &script])
                .spawn()
        })
        .collect();
    // Eight producers, each enqueuing five jobs for the runners by separate commands and a
    // batch of five for four shell workers, which claim ten each with dequeue and complete.
    let producer = format!(
        "for n in 1 2 3 4 5; do '{BIN}' enqueue q --payload \"$n\" >/dev/null || exit 1; done; \
         printf '1\\n2\\n3\\n4\\n5\\n' | '{BIN}' enqueue c --batch >/dev/null"
    );
    let claimer = format!(
        "for n in 1 2 3 4 5 6 7 8 9 10; do \
         job=$('{BIN}' dequeue c --wait=2m --format jsonl) || exit 1; \
         [ -n \"$job\" ] || exit 1; id=$(echo \"$job\" | jq -r .id); \
         echo \"$id\" >> '{log}'; \
         '{BIN}' complete \"$id\" --claim \"$(echo \"$job\" | jq -r .claim)\" >/dev/null \
         || exit 1; done",
        log = log.display()
    );
    let shells: Vec<Child> = std::iter::repeat_n(&producer, 8)
        .chain(std::iter::repeat_n(&claimer, 4))
        .map(|script| {
            db.env
                .isolated("sh")
                .env("QUEUEPRIM_DB", &db.url)
                .args(["-c", script])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a shell")
        })
        .collect();
    for mut shell in shells {
        let status = wait_for(&mut shell, GENEROUS * 12, "a producer or claimer");
        let mut stderr = String::new();
        if let Some(mut err) = shell.stderr.take() {
            std::io::Read::read_to_string(&mut err, &mut stderr).expect("stderr");
        }
        assert!(status.success(), "{status:?}: {stderr}");
    }
    eventually(GENEROUS * 12, "all 80 jobs to be done", || {
        let stats: Counts = db.json(&["stats"]);
        assert_eq!(stats.dead, 0);
        stats.done == 80
    });
    for mut runner in runners {
        crate::support::process::send_signal(&runner, libc::SIGTERM);
        let status = wait_for(&mut runner, GENEROUS * 3, "queueprim work");
        assert!(status.success(), "{status:?}");
    }
    let runs = fs::read_to_string(&log).expect("the run log");
    let ids: Vec<&str> = runs.lines().collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!((ids.len(), distinct.len()), (80, 80), "each job ran once");
    let stats: Counts = db.json(&["stats"]);
    assert_eq!((stats.done, stats.total), (80, 80));
    assert!(bouncer.stat("SHOW POOLS", "sv_active") + bouncer.stat("SHOW POOLS", "sv_idle") <= 2);
}

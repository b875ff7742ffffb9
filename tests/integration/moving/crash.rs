//! `import` killed at varied moments on SQLite, inside its transaction too: the database
//! holds all of the export or none of it. (PostgreSQL's are in `on_postgres/moving.rs`.)

use std::fs::{self, File};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::crashes::watch::{watch_and_kill, KillAt, Watched};
use crate::harness::{QueueCounts, TestEnv, BIN};
use crate::support::integrity::assert_intact;
use crate::support::process::Ended;
use crate::support::rng::Rng;

use super::Db;

/// Jobs in the export: enough that the import's transaction spills pages into the WAL long
/// before it commits, which is how a kill is seen to land inside it.
const JOBS: usize = 20_000;

#[derive(Debug)]
struct Round {
    watched: Watched,
    jobs: usize,
}

impl Round {
    /// Killed inside its transaction, proven: the WAL grew before the kill, yet nothing
    /// committed.
    fn killed_mid_transaction(&self) -> bool {
        self.watched.ended == Ended::Killed && self.watched.wal_grew_at.is_some() && self.jobs == 0
    }
}

/// Imports `input` into a fresh database, killing the import as `kill_at` says; checks the
/// database holds none or all of it, is sound, and takes the import again whole.
fn round(input: &Path, kill_at: KillAt) -> Round {
    let env = TestEnv::new();
    // Created beforehand, so the import's transaction is its only write.
    env.enqueue("probe", "0", &[]);
    let mut child = env
        .isolated(BIN)
        .arg("import")
        .stdin(File::open(input).expect("open the export"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn import");
    let watched = watch_and_kill(&mut child, &env.db(), kill_at);
    assert!(
        matches!(watched.ended, Ended::Killed | Ended::Exited(0)),
        "import failed: {watched:?}"
    );
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    let jobs = queues
        .iter()
        .find(|q| q.queue == "moved")
        .map_or(0, |q| q.total as usize);
    assert!(
        jobs == 0 || jobs == JOBS,
        "a killed import left {jobs} of its {JOBS} jobs ({kill_at:?}, {watched:?})"
    );
    assert_intact(&env);
    if jobs == 0 {
        let export = fs::read_to_string(input).expect("read the export");
        Db::of(&env).import(&export, &[]).expect_status(0);
    }
    Round { watched, jobs }
}

#[test]
fn import_killed_at_varied_moments_imports_all_or_nothing() {
    let mut rng = Rng::for_test("import_killed_at_varied_moments");
    let scratch = TestEnv::new();
    let payloads: String = (0..JOBS)
        .map(|n| format!("{{\"n\":{n},\"note\":\"a job of a large import\"}}\n"))
        .collect();
    scratch
        .cmd(["enqueue", "moved", "--batch"])
        .stdin(payloads)
        .expect_status(0);
    let input = scratch.dir().join("export.jsonl");
    fs::write(&input, Db::of(&scratch).export(&[])).expect("write the export");

    let reference = round(&input, KillAt::Never);
    assert_eq!(reference.jobs, JOBS, "{reference:?}");
    let whole_run = reference.watched.elapsed;
    let writing = match (reference.watched.wal_grew_at, reference.watched.wal_gone_at) {
        (Some(grew), Some(gone)) => gone.saturating_sub(grew),
        _ => panic!("the reference import never grew the WAL: {reference:?}"),
    };
    let mut rounds = vec![(KillAt::Never, reference)];
    for n in 0..8 {
        let kill_at = if n % 2 == 0 {
            KillAt::After(rng.between(Duration::ZERO, whole_run.mul_f64(1.1)))
        } else {
            KillAt::AfterWalGrows(rng.between(Duration::ZERO, writing.mul_f64(0.5)))
        };
        rounds.push((kill_at, round(&input, kill_at)));
    }
    let mid = rounds
        .iter()
        .filter(|(_, r)| r.killed_mid_transaction())
        .count();
    println!("import of {JOBS} jobs: {} rounds, {mid} killed inside the transaction", rounds.len());
    for (kill_at, round) in &rounds {
        println!("  {kill_at:?}: {round:?}");
    }
    assert!(
        mid >= 2,
        "at least two kills must land inside the transaction for this test to mean anything"
    );
}

//! `enqueue --batch` killed mid-transaction: all of the batch or none of it.

use std::fs::{self, File};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::{QueueCounts, TestEnv, BIN};
use crate::support::integrity::assert_intact;
use crate::support::process::Ended;
use crate::support::rng::Rng;

use super::watch::{watch_and_kill, KillAt, Watched};

/// Lines in the batch: enough that its transaction spills pages into the WAL long before it
/// commits (SQLite's page cache holds about 2 MiB), which is how a kill is seen to land
/// inside it.
const BATCH_LINES: usize = 20_000;

/// One `enqueue --batch` run on a fresh database, and the jobs it left.
#[derive(Debug)]
struct BatchRound {
    kill_at: KillAt,
    watched: Watched,
    jobs: usize,
}

impl BatchRound {
    /// Killed inside its transaction, proven: the WAL grew before the kill, yet nothing
    /// committed.
    fn killed_mid_transaction(&self) -> bool {
        self.watched.ended == Ended::Killed && self.watched.wal_grew_at.is_some() && self.jobs == 0
    }
}

fn write_batch_input(path: &Path) {
    let lines: String = (0..BATCH_LINES)
        .map(|n| format!("{{\"n\":{n},\"note\":\"a line of a large batch\"}}\n"))
        .collect();
    fs::write(path, lines).expect("write the batch input");
}

/// Runs `enqueue big --batch < input` on a fresh database, kills it as `kill_at` says, and
/// checks the queue holds none or all of the batch, the file is sound and still usable.
fn batch_round(input: &Path, kill_at: KillAt) -> BatchRound {
    let env = TestEnv::new();
    // Created beforehand, so the batch's transaction is its only write; the WAL is removed
    // when this command closes the database.
    env.enqueue("probe", "0", &[]);
    let mut child = env
        .isolated(BIN)
        .args(["enqueue", "big", "--batch"])
        .stdin(File::open(input).expect("open the batch input"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn enqueue --batch");
    let watched = watch_and_kill(&mut child, &env.db(), kill_at);
    assert!(
        matches!(watched.ended, Ended::Killed | Ended::Exited(0)),
        "enqueue --batch failed: {watched:?}"
    );
    // The product opens the database first after the crash, as it would in real life.
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    let jobs = queues
        .iter()
        .find(|q| q.queue == "big")
        .map_or(0, |q| q.total as usize);
    assert!(
        jobs == 0 || jobs == BATCH_LINES,
        "a killed batch left {jobs} of its {BATCH_LINES} jobs ({kill_at:?}, {watched:?})"
    );
    assert_intact(&env);
    if jobs == BATCH_LINES {
        assert_whole_batch(&env.db());
    }
    assert_usable(&env);
    BatchRound {
        kill_at,
        watched,
        jobs,
    }
}

/// Asserts the queue holds each line of the batch exactly once.
#[track_caller]
fn assert_whole_batch(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open the database with rusqlite");
    let (distinct, low, high): (i64, i64, i64) = conn
        .query_row(
            "SELECT COUNT(DISTINCT payload ->> '$.n'), MIN(payload ->> '$.n'), \
             MAX(payload ->> '$.n') FROM jobs WHERE queue = 'big'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("count the batch");
    assert_eq!(
        (distinct, low, high),
        (BATCH_LINES as i64, 0, BATCH_LINES as i64 - 1)
    );
}

/// Asserts the database takes an enqueue, a dequeue and a complete after the crash.
#[track_caller]
fn assert_usable(env: &TestEnv) {
    let job = env.enqueue("after-crash", "{\"ok\":true}", &[]);
    let claimed = env.dequeue("after-crash", &[]);
    assert_eq!(claimed.id, job.id);
    env.cmd(["complete", &job.id]).expect_status(0);
}

/// At most this many kills aimed at the transaction, each halving its window after a miss:
/// by the last, the window is a few microseconds past the first growth of the WAL.
const MAX_AIMED_ROUNDS: usize = 16;

#[test]
fn enqueue_batch_killed_at_varied_moments_adds_all_or_nothing() {
    let mut rng = Rng::for_test("enqueue_batch_killed_at_varied_moments");
    let scratch = TestEnv::new();
    let input = scratch.dir().join("batch.jsonl");
    write_batch_input(&input);

    // An undisturbed run times the phases on this machine.
    let reference = batch_round(&input, KillAt::Never);
    assert_eq!(reference.jobs, BATCH_LINES, "{reference:?}");
    let whole_run = reference.watched.elapsed;
    let writing = match (reference.watched.wal_grew_at, reference.watched.wal_gone_at) {
        (Some(grew), Some(gone)) => gone.saturating_sub(grew),
        _ => panic!("the reference batch never grew the WAL: {reference:?}"),
    };

    // Four kills at any moment of the run (reading input, in the transaction, printing after
    // the commit); then kills aimed at the transaction, after the WAL started growing, until
    // two landed inside it. An aimed kill that came after the commit (the machine is faster
    // now than when the reference was timed) halves the window for the next one; a slower
    // machine only moves an aimed kill nearer the start of the transaction.
    let mut rounds = vec![reference];
    for _ in 0..4 {
        let kill_at = KillAt::After(rng.between(Duration::ZERO, whole_run.mul_f64(1.1)));
        rounds.push(batch_round(&input, kill_at));
    }
    let mut window = writing.mul_f64(0.5);
    for _ in 0..MAX_AIMED_ROUNDS {
        if rounds.iter().filter(|r| r.killed_mid_transaction()).count() >= 2 {
            break;
        }
        let round = batch_round(
            &input,
            KillAt::AfterWalGrows(rng.between(Duration::ZERO, window)),
        );
        if round.jobs == BATCH_LINES {
            window /= 2;
        }
        rounds.push(round);
    }

    let count = |pred: &dyn Fn(&BatchRound) -> bool| rounds.iter().filter(|r| pred(r)).count();
    let mid = count(&|r| r.killed_mid_transaction());
    let aimed = count(&|r| matches!(r.kill_at, KillAt::AfterWalGrows(_)));
    let aimed_mid =
        count(&|r| matches!(r.kill_at, KillAt::AfterWalGrows(_)) && r.killed_mid_transaction());
    println!(
        "enqueue --batch of {BATCH_LINES}: {} rounds; {} committed all, {} left none: {} killed \
         before opening the database (still reading input), {} after, {} of them proven inside \
         the transaction (WAL grown, nothing committed), {aimed_mid} of the {aimed} aimed there",
        rounds.len(),
        count(&|r| r.jobs == BATCH_LINES),
        count(&|r| r.jobs == 0),
        count(&|r| r.jobs == 0 && !r.watched.db_was_open),
        count(&|r| r.jobs == 0 && r.watched.db_was_open),
        mid,
    );
    for round in &rounds {
        println!("  {round:?}");
    }
    assert!(
        mid >= 2,
        "at least two kills must land inside the transaction for this test to mean anything"
    );
}

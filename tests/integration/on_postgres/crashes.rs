//! `enqueue --batch` killed while its transaction is open on the server: the server rolls
//! it back whole, so the queue holds all of the batch or none of it. (complete, fail and
//! complete's follow-ups are killed the same way in `crashes/finishing.rs`, on both
//! engines.)

use std::fs::{self, File};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{QueueCounts, TestEnv, BIN};
use crate::support::integrity::assert_intact;
use crate::support::postgres::{cluster, Gate};
use crate::support::process::{ended, kill_and_reap, Ended};
use crate::support::rng::Rng;
use crate::support::wait::GENEROUS;

const BATCH_LINES: usize = 2_000;

/// How a round's process is stopped.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kill {
    Never,
    /// This long after it started.
    After(Duration),
    /// Once it stands just before its COMMIT, all its rows written.
    AtCommit,
}

/// What a round left: how the process ended, the jobs in the queue, and whether the server
/// rolled back a transaction the process left open.
#[derive(Debug)]
pub(super) struct Round {
    pub ended: Ended,
    pub jobs: usize,
    pub cut: bool,
    pub took: Duration,
}

/// Runs queueprim `args` with `input` on stdin in a fresh schema (`tag` names the round in
/// the server's log), stops it as `kill` says, and checks that `queue` then holds all
/// `expected` jobs or none.
pub(super) fn stdin_round(
    args: &[&str],
    input: &Path,
    queue: &str,
    expected: usize,
    tag: &str,
    kill: Kill,
) -> Round {
    let env = TestEnv::new();
    env.enqueue("probe", "0", &[]);
    let application = format!("{}-{tag}", env.schema().expect("a schema"));
    let mut command = env.isolated(BIN);
    command
        .env("QUEUEPRIM_DB", env.db_arg_as(&application))
        .args(args)
        .stdin(File::open(input).expect("open the input"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let gate = matches!(kill, Kill::AtCommit).then(Gate::close);
    if let Some(gate) = &gate {
        command.env("QUEUEPRIM_TEST_HOLD_COMMIT", gate.key());
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn queueprim");
    let ended = match (kill, gate) {
        (Kill::AtCommit, Some(mut gate)) => {
            gate.wait_for(&application);
            let ended = kill_and_reap(&mut child);
            gate.open();
            ended
        }
        _ => loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break ended(status);
            }
            if matches!(kill, Kill::After(delay) if started.elapsed() >= delay) {
                break kill_and_reap(&mut child);
            }
            assert!(started.elapsed() < GENEROUS * 6, "{args:?} hangs");
            std::thread::sleep(Duration::from_micros(500));
        },
    };
    let took = started.elapsed();
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    let jobs = queues
        .iter()
        .find(|q| q.queue == queue)
        .map_or(0, |q| q.total as usize);
    assert!(
        jobs == 0 || jobs == expected,
        "a killed {args:?} left {jobs} of its {expected} jobs ({kill:?}, {ended:?})"
    );
    assert_intact(&env);
    let cut = cluster().transactions_cut(&application) > 0;
    Round {
        ended,
        jobs,
        cut,
        took,
    }
}

fn batch_round(input: &Path, n: usize, kill: Kill) -> Round {
    let args = ["enqueue", "big", "--batch"];
    stdin_round(&args, input, "big", BATCH_LINES, &format!("batch{n}"), kill)
}

#[test]
fn enqueue_batch_killed_with_its_transaction_open_adds_nothing() {
    let mut rng = Rng::for_test("pg_enqueue_batch_killed");
    let scratch = TestEnv::new();
    let input = scratch.dir().join("batch.jsonl");
    let lines: String = (0..BATCH_LINES)
        .map(|n| format!("{{\"n\":{n},\"note\":\"a line of a large batch\"}}\n"))
        .collect();
    fs::write(&input, lines).expect("write the batch input");
    let reference = batch_round(&input, 0, Kill::Never);
    assert_eq!(
        (reference.ended, reference.jobs),
        (Ended::Exited(0), BATCH_LINES)
    );
    for n in 1..=6 {
        let kill = match n % 2 {
            0 => Kill::AtCommit,
            _ => Kill::After(rng.between(Duration::ZERO, reference.took.mul_f64(1.1))),
        };
        let round = batch_round(&input, n, kill);
        println!("round {n}: {kill:?}: {round:?}");
        if matches!(kill, Kill::AtCommit) {
            assert_eq!(
                (round.ended, round.jobs),
                (Ended::Killed, 0),
                "a batch killed just before its commit added jobs"
            );
        }
        if round.cut {
            assert_eq!(
                round.jobs, 0,
                "a transaction the server rolled back left jobs"
            );
        }
    }
}

//! `enqueue --batch` killed while its transaction is open on the server: the server rolls
//! it back whole, so the queue holds all of the batch or none of it. (complete, fail and
//! complete's follow-ups are killed the same way in `crashes/finishing.rs`, on both
//! engines.)

use std::fs::{self, File};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{QueueCounts, TestEnv, BIN};
use crate::support::integrity::assert_intact;
use crate::support::postgres::{cluster, Gate};
use crate::support::process::{ended, kill_and_reap, Ended};
use crate::support::rng::Rng;

const BATCH_LINES: usize = 2_000;

/// How a round's process is stopped.
#[derive(Debug, Clone, Copy)]
enum Kill {
    Never,
    /// This long after it started.
    After(Duration),
    /// Once it stands just before its COMMIT, every line added.
    AtCommit,
}

/// What a round left: how the process ended, the jobs in the queue, and whether the server
/// rolled back a transaction the process left open.
#[derive(Debug)]
struct Round {
    ended: Ended,
    jobs: usize,
    cut: bool,
    took: Duration,
}

fn spawn_batch(env: &TestEnv, input: &Path, application: &str, gate: Option<&Gate>) -> Child {
    let mut command = env.isolated(BIN);
    command
        .env("QUEUEPRIM_DB", env.db_arg_as(application))
        .args(["enqueue", "big", "--batch"])
        .stdin(File::open(input).expect("open the batch input"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(gate) = gate {
        command.env("QUEUEPRIM_TEST_HOLD_COMMIT", gate.key());
    }
    command.spawn().expect("spawn enqueue --batch")
}

fn batch_round(input: &Path, n: usize, kill: Kill) -> Round {
    let env = TestEnv::new();
    env.enqueue("probe", "0", &[]);
    let application = format!("{}-batch{n}", env.schema().expect("a schema"));
    let started = Instant::now();
    let ended = match kill {
        Kill::AtCommit => {
            let mut gate = Gate::close();
            let mut child = spawn_batch(&env, input, &application, Some(&gate));
            gate.wait_for(&application);
            let ended = kill_and_reap(&mut child);
            gate.open();
            ended
        }
        Kill::Never | Kill::After(_) => {
            let mut child = spawn_batch(&env, input, &application, None);
            loop {
                if let Some(status) = child.try_wait().expect("try_wait") {
                    break ended(status);
                }
                if matches!(kill, Kill::After(delay) if started.elapsed() >= delay) {
                    break kill_and_reap(&mut child);
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        }
    };
    let took = started.elapsed();
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    let jobs = queues
        .iter()
        .find(|q| q.queue == "big")
        .map_or(0, |q| q.total as usize);
    assert!(
        jobs == 0 || jobs == BATCH_LINES,
        "a killed batch left {jobs} of its {BATCH_LINES} jobs ({kill:?}, {ended:?})"
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

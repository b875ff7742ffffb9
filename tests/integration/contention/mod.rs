//! Contention and soak: many actors run real queueprim processes on one database at once
//! (producers, workers that complete, fail, extend and stall past their deadline, a purger,
//! and a `sweep` daemon throughout), then every job must be accounted for exactly once, no
//! two claims on a job may have overlapped, and nothing may have failed except the expected
//! fencing of stale claims.
//!
//! The default test runs for about ten seconds. The soak runs the same scenario for minutes:
//! `QUEUEPRIM_SOAK_SECS=300 QUEUEPRIM_SOAK_PROCS=16 cargo test --release --test integration
//! contention::soak -- --ignored --nocapture`.

mod actors;
mod checks;
mod log;
mod plans;
mod sweeper;
mod tally;

use std::time::{Duration, Instant};

use crate::harness::{Sweep, TestEnv};

use actors::run_actors;
use checks::{check_accounting, check_claims, check_database, check_refusals, FinalState, Ledger};
use sweeper::{check_sweep, Sweeper};
use tally::Tally;

/// Two queues, so both the per-queue release of expired claims by `dequeue` and the
/// all-queue release by `sweep` get exercised.
const QUEUES: [&str; 2] = ["contention/a", "contention/b"];

/// Claim timeouts the workers ask for: the short ones really expire, under load or when a
/// worker stalls; the long ones outlive everything.
const TIMEOUTS: [&str; 5] = ["1s", "2s", "2s", "5s", "30s"];

/// Producers pause while more jobs than this are pending (as the purger last saw with
/// `stats`), so a long soak keeps a working backlog instead of an ever-growing one.
const BACKLOG: u64 = 60;

/// A stalling worker sleeps past its deadline only when that is at most this far away
/// (milliseconds); a long claim is not worth the wait.
const MAX_STALL_MS: i64 = 2_500;

/// Purges by status, so the removed counts can be matched against the jobs that went
/// missing: done jobs of one queue at once, dead ones everywhere, done ones of any queue
/// once they are two seconds old.
const PURGES: [(&str, &[&str]); 3] = [
    ("done", &["--older-than", "0s", "--queue", QUEUES[0]]),
    ("dead", &["--older-than", "0s"]),
    ("done", &["--older-than", "2s"]),
];

#[test]
fn sixteen_actors_on_one_database_account_for_every_job_and_never_share_a_claim() {
    run(&Scenario {
        label: "contention",
        duration: Duration::from_secs(10),
        actors: 16,
    });
}

/// The same scenario for minutes: `QUEUEPRIM_SOAK_SECS` (default 300) and
/// `QUEUEPRIM_SOAK_PROCS` (default 16, the number of actors) set its size.
#[test]
#[ignore = "a soak of several minutes: run with --ignored"]
fn soak() {
    run(&Scenario {
        label: "soak",
        duration: Duration::from_secs(env_number("QUEUEPRIM_SOAK_SECS", 300)),
        actors: env_number("QUEUEPRIM_SOAK_PROCS", 16) as usize,
    });
}

struct Scenario {
    label: &'static str,
    duration: Duration,
    /// Actor threads, each running one queueprim process after another.
    actors: usize,
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        _ => default,
    }
}

/// Runs the scenario, prints its figures, then fails listing every problem found.
fn run(scenario: &Scenario) {
    assert!(
        scenario.actors >= 4,
        "need at least 4 actors: a purger, a producer and two workers"
    );
    let env = TestEnv::new();
    // Create the database first: racing creation is concurrency.rs's subject, not this one's.
    env.json::<Sweep>(&["sweep", "--once"]);
    let mut sweeper = Sweeper::start(&env);
    let started = Instant::now();
    let logs = run_actors(&env, scenario);
    let elapsed = started.elapsed();
    let sweep = sweeper.stop();
    let ledger = Ledger::merge(logs);
    let state = FinalState::read(&env);

    let mut problems = Vec::new();
    problems.extend(ledger.errors.iter().cloned());
    let (sweep_released, sweep_dead) = check_sweep(&sweep, &mut problems);
    check_claims(&ledger, &mut problems);
    let accounts = check_accounting(&ledger, &state, &mut problems);
    check_refusals(&ledger, &state, &mut problems);
    check_database(&state, &mut problems);

    let tally = Tally::new(scenario, elapsed, &ledger, accounts);
    // Each claim the daemon released is one that expired before its holder ended it.
    if sweep_released > tally.expired {
        problems.push(format!(
            "sweep reports {sweep_released} released claims, but only {} claims expired",
            tally.expired
        ));
    }
    eprintln!(
        "{}: {tally}, sweep released {sweep_released} ({sweep_dead} dead), problems {}",
        scenario.label,
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s), the first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

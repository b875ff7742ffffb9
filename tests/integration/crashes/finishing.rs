//! `complete`, `fail` and `complete --enqueue` killed at random moments: each takes effect
//! fully or not at all.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{Cmd, Engine, Failure, Job, TestEnv, ENGINE};
use crate::support::integrity::assert_intact;
use crate::support::postgres::{cluster, Gate};
use crate::support::process::{kill_and_reap, Ended};
use crate::support::rng::Rng;
use crate::support::wait::sleep_past;

use super::watch::{watch_and_kill, KillAt, Watched};
use super::{
    assert_redelivered, assert_same_job, by_id, deadline, drain, file_len, get, handed_out_again,
    ids, list, wal_path,
};

/// What a round runs on its claimed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Complete,
    Fail,
    /// `complete --enqueue follow=…`: the completion and the follow-up in one transaction.
    CompleteWithFollowUp,
}

impl Finish {
    fn args(self, job: &Job) -> Vec<String> {
        let claim = job.claim.clone().expect("a claimed job has a claim token");
        let mut args = match self {
            Finish::Fail => vec![
                "fail".into(),
                job.id.clone(),
                "--reason".into(),
                failure_for(job),
            ],
            _ => vec![
                "complete".into(),
                job.id.clone(),
                "--output".into(),
                output_for(job).to_string(),
            ],
        };
        args.extend(["--claim".into(), claim]);
        if self == Finish::CompleteWithFollowUp {
            args.extend(["--enqueue".into(), format!("follow={}", follow_up_for(job))]);
        }
        args
    }
}

fn output_for(job: &Job) -> Value {
    json!({ "finished": job.id })
}

fn failure_for(job: &Job) -> String {
    format!("failed {}", job.id)
}

fn follow_up_for(job: &Job) -> Value {
    json!({ "after": job.id })
}

/// One claimed job whose finishing command was killed (or allowed to finish).
#[derive(Debug)]
struct Round {
    claimed: Job,
    finish: Finish,
    watched: Watched,
    /// The command's transaction took effect.
    committed: bool,
    /// The size of the WAL once the process was gone: more than nothing means it had begun
    /// writing its commit (the header first, synced, then the pages). SQLite only.
    wal_left: u64,
    /// The PostgreSQL server saw the client go with its transaction open. PostgreSQL only.
    cut_on_server: bool,
    /// Killed while a gate held it just before its COMMIT. PostgreSQL only.
    held: bool,
}

impl Round {
    fn killed(&self) -> bool {
        self.watched.ended == Ended::Killed
    }

    /// Killed inside its transaction, proven: on SQLite it had the database open and had
    /// not committed; on PostgreSQL the server rolled back its open transaction.
    fn killed_mid_transaction(&self) -> bool {
        let inside = match ENGINE {
            Engine::Sqlite => self.watched.db_was_open,
            Engine::Postgres => self.cut_on_server || self.held,
        };
        self.killed() && !self.committed && inside
    }
}

/// Enqueues a job for round `n` and claims it for 1 s as worker `wN`. Each round's job has a
/// higher priority than every earlier one, so the claim takes it and not an earlier round's
/// job whose expired claim this dequeue released.
fn claim_fresh_job(env: &TestEnv, n: usize) -> Job {
    let priority = n.to_string();
    let enqueued = env.enqueue(
        "q",
        &format!("{{\"round\":{n}}}"),
        &["--priority", &priority, "--max-retries", "3"],
    );
    let worker = format!("w{n}");
    let claimed = env.dequeue("q", &["--worker", &worker, "--timeout", "1s"]);
    assert_eq!(claimed.id, enqueued.id, "round {n} claims its own job");
    claimed
}

/// Finishes a fresh job with `finish`, killed as `kill_at` says, and checks at once that the
/// job is either exactly as claimed or exactly as `finish` makes it.
fn kill_round(env: &TestEnv, n: usize, finish: Finish, kill_at: KillAt) -> Round {
    let claimed = claim_fresh_job(env, n);
    let application = format!("{}-r{n}", env.schema().unwrap_or("sqlite"));
    let command = env
        .cmd(finish.args(&claimed))
        .env("QUEUEPRIM_DB", env.db_arg_as(&application));
    let held = matches!(kill_at, KillAt::AtCommit);
    let watched = match kill_at {
        KillAt::AtCommit => kill_at_commit(command, &application),
        _ => watch_and_kill(&mut command.spawn(), &env.db(), kill_at),
    };
    if let Ended::Exited(code) = watched.ended {
        assert_eq!(code, 0, "round {n}: {finish:?} failed");
    }
    // Looked at before anything opens the database again. The dequeue before closed it last
    // and so removed the WAL: frames in it now were written by the killed process.
    let wal_left = file_len(&wal_path(&env.db()));
    let after = get(env, &claimed.id);
    let committed = after.status != "claimed";
    let what = format!("round {n}: {finish:?} ended {:?}", watched.ended);
    match (committed, finish) {
        (false, _) => assert_same_job(&claimed, &after, &what),
        (true, Finish::Fail) => assert_failed_once(&claimed, &after, &what),
        (true, _) => assert_completed(&claimed, &after, &what),
    }
    if finish == Finish::CompleteWithFollowUp {
        assert_follow_ups(env, &claimed, usize::from(committed), &what);
    }
    let cut_on_server = ENGINE == Engine::Postgres && cluster().transactions_cut(&application) > 0;
    Round {
        claimed,
        finish,
        watched,
        committed,
        wal_left,
        cut_on_server,
        held,
    }
}

/// Runs `command` (on PostgreSQL) until it stands just before its COMMIT, stopped there by
/// a gate the test holds, and SIGKILLs it: inside its transaction by construction.
fn kill_at_commit(command: Cmd, application: &str) -> Watched {
    let started = Instant::now();
    let mut gate = Gate::close();
    let mut child = command
        .env("QUEUEPRIM_TEST_HOLD_COMMIT", gate.key())
        .spawn();
    gate.wait_for(application);
    let ended = kill_and_reap(&mut child);
    gate.open();
    Watched {
        ended,
        db_was_open: false,
        db_opened_at: None,
        wal_grew_at: None,
        wal_gone_at: None,
        elapsed: started.elapsed(),
    }
}

/// Asserts `after` is `claimed` completed with `output_for` it, and nothing else changed.
#[track_caller]
fn assert_completed(claimed: &Job, after: &Job, what: &str) {
    let mut expected = claimed.clone();
    expected.status = "done".into();
    expected.output = Some(output_for(claimed));
    expected.visible_after = None;
    expected.claim_deadline = None;
    expected.updated_at.clone_from(&after.updated_at);
    expected.finished_at = Some(after.updated_at.clone());
    assert_same_job(&expected, after, what);
}

/// Asserts `after` is `claimed` failed once with `failure_for` it and back to pending.
#[track_caller]
fn assert_failed_once(claimed: &Job, after: &Job, what: &str) {
    let mut expected = claimed.clone();
    expected.status = "pending".into();
    expected.attempt_count = 1;
    expected.visible_after = Some(after.updated_at.clone());
    (expected.claim_deadline, expected.run_after) = (None, expected.visible_after.clone());
    expected.updated_at.clone_from(&after.updated_at);
    expected.errors = vec![Failure {
        at: after.updated_at.clone(),
        attempt: 1,
        worker: claimed.worker.clone(),
        reason: failure_for(claimed),
    }];
    assert_same_job(&expected, after, what);
}

/// Asserts the follow-up of `claimed` exists exactly `expected` times.
#[track_caller]
fn assert_follow_ups(env: &TestEnv, claimed: &Job, expected: usize, what: &str) {
    let payload = follow_up_for(claimed);
    let found = list(env, "follow", None)
        .iter()
        .filter(|job| job.payload == payload)
        .count();
    assert_eq!(
        found, expected,
        "{what}: the follow-up must exist exactly when the completion does"
    );
}

/// On PostgreSQL every this many rounds a process is stopped just before its COMMIT and
/// killed there, so kills inside the transaction do not depend on luck with timing: the
/// connection and the transaction take a few milliseconds of a command that takes ten.
const HELD_EVERY: usize = 5;

/// Rounds let to finish first, to time the command on this machine.
const CALIBRATION_ROUNDS: usize = 3;

/// Runs `rounds` kill rounds cycling through `finishes`: the first few undisturbed to time the
/// command, then SIGKILLed by turns at any moment of its run and aimed at its time with the
/// database open. Delays are drawn up to 1.25 times the median (whole run, or time with the
/// database open) of the commands that finished on their own so far: a running figure, so a
/// slow start or a busy spell does not skew every delay. Kills so land before the process
/// opens the database, in its transaction, and after its commit; the aimed ones make sure
/// some land mid-command even while the machine is slower than it was when timed, since a
/// slower command only moves a kill aimed after the open nearer to it. On PostgreSQL, where
/// no file shows the open, every `HELD_EVERY`th round is held at its commit instead and the
/// others are killed at any moment.
fn run_kill_rounds(env: &TestEnv, rng: &mut Rng, finishes: &[Finish], rounds: usize) -> Vec<Round> {
    let mut done: Vec<Round> = Vec::with_capacity(rounds);
    let (mut whole_runs, mut open_spans): (Vec<Duration>, Vec<Duration>) = (vec![], vec![]);
    for n in 0..rounds {
        let finish = finishes[n % finishes.len()];
        let kill_at = match n {
            n if n < CALIBRATION_ROUNDS => KillAt::Never,
            n if ENGINE == Engine::Postgres && n % HELD_EVERY == 0 => KillAt::AtCommit,
            // Aimed at the time with the file open: SQLite only, where the open can be seen.
            n if n % 2 == 1 && ENGINE == Engine::Sqlite => {
                KillAt::AfterDbOpens(rng.between(Duration::ZERO, typical(&open_spans)))
            }
            _ => KillAt::After(rng.between(Duration::ZERO, typical(&whole_runs))),
        };
        let round = kill_round(env, n, finish, kill_at);
        if !round.killed() {
            whole_runs.push(round.watched.elapsed);
            if let Some(opened) = round.watched.db_opened_at {
                open_spans.push(round.watched.elapsed.saturating_sub(opened));
            }
        }
        done.push(round);
    }
    done
}

/// 1.25 times the median of `spans` (nothing if there are none yet).
fn typical(spans: &[Duration]) -> Duration {
    let mut sorted = spans.to_vec();
    sorted.sort();
    sorted
        .get(sorted.len() / 2)
        .map_or(Duration::ZERO, |median| median.mul_f64(1.25))
}

/// Waits out the claims the kills left behind, then checks that one dequeue hands out again
/// exactly the jobs not done: each orphaned claim as a failed attempt naming its expiry, each
/// committed `fail` with its reason; and that no job is missing.
fn assert_orphaned_claims_come_back(env: &TestEnv, rounds: &[Round]) {
    let orphaned: Vec<&Round> = rounds.iter().filter(|r| !r.committed).collect();
    if let Some(latest) = orphaned.iter().map(|r| deadline(&r.claimed)).max() {
        sleep_past(latest);
    }
    let drained = drain(env, "q");
    let drained_by_id = by_id(&drained);
    let mut expected = BTreeSet::new();
    for round in rounds {
        let claimed = &round.claimed;
        match (round.committed, round.finish) {
            (false, _) => assert_redelivered(claimed, handed_out_again(&drained_by_id, claimed)),
            (true, Finish::Fail) => {
                let again = handed_out_again(&drained_by_id, claimed);
                assert_eq!(again.attempt_count, 1, "{again:?}");
                assert_eq!(again.errors.len(), 1, "{again:?}");
                assert_eq!(again.errors[0].reason, failure_for(claimed), "{again:?}");
            }
            (true, _) => continue,
        }
        expected.insert(claimed.id.clone());
    }
    assert_eq!(ids(&drained), expected, "the jobs handed out again");
    let all: BTreeSet<String> = rounds.iter().map(|r| r.claimed.id.clone()).collect();
    assert_eq!(ids(&list(env, "q", None)), all, "no job lost");
    assert_intact(env);
}

/// The WAL's header; pages follow it in frames of their own.
const WAL_HEADER_BYTES: u64 = 32;

/// One line of figures: where the kills landed.
fn landing_report(rounds: &[Round]) -> String {
    let count = |pred: &dyn Fn(&Round) -> bool| rounds.iter().filter(|r| pred(r)).count();
    let uncommitted = |r: &Round| r.killed() && !r.committed;
    let landed = match ENGINE {
        Engine::Sqlite => format!(
            "killed {} before opening the database, {} with it open but before the commit (of \
             these, {} while writing the commit: {} after the WAL header, {} after some pages)",
            count(&|r| uncommitted(r) && !r.watched.db_was_open),
            count(&|r| uncommitted(r) && r.watched.db_was_open),
            count(&|r| uncommitted(r) && r.wal_left > 0),
            count(&|r| uncommitted(r) && r.wal_left == WAL_HEADER_BYTES),
            count(&|r| uncommitted(r) && r.wal_left > WAL_HEADER_BYTES),
        ),
        Engine::Postgres => format!(
            "killed {} outside a transaction, {} at random with its transaction open on the \
             server, {} held just before the commit",
            count(&|r| uncommitted(r) && !r.cut_on_server && !r.held),
            count(&|r| uncommitted(r) && r.cut_on_server),
            count(&|r| uncommitted(r) && r.held),
        ),
    };
    format!(
        "{} rounds: {} finished before the kill; {landed}; {} after the commit",
        rounds.len(),
        count(&|r| !r.killed()),
        count(&|r| r.killed() && r.committed),
    )
}

/// Asserts some kills landed where atomicity is at stake: inside the transaction, before
/// its commit took effect. Without them the rounds prove nothing.
#[track_caller]
fn assert_kills_landed_mid_command(rounds: &[Round]) {
    let mid = rounds.iter().filter(|r| r.killed_mid_transaction()).count();
    assert!(
        mid > 0,
        "no kill landed inside a transaction: {}",
        landing_report(rounds)
    );
}

#[test]
fn complete_and_fail_killed_at_random_moments_take_effect_fully_or_not_at_all() {
    let mut rng = Rng::for_test("complete_and_fail_killed_at_random_moments");
    let env = TestEnv::new();
    let rounds = run_kill_rounds(&env, &mut rng, &[Finish::Complete, Finish::Fail], 50);
    println!("complete/fail: {}", landing_report(&rounds));
    assert_kills_landed_mid_command(&rounds);
    assert_orphaned_claims_come_back(&env, &rounds);
}

#[test]
fn complete_with_a_follow_up_killed_at_random_moments_does_both_or_neither() {
    let mut rng = Rng::for_test("complete_with_a_follow_up_killed");
    let env = TestEnv::new();
    let rounds = run_kill_rounds(&env, &mut rng, &[Finish::CompleteWithFollowUp], 30);
    println!("complete --enqueue: {}", landing_report(&rounds));
    assert_kills_landed_mid_command(&rounds);
    assert_orphaned_claims_come_back(&env, &rounds);
    // Each follow-up belongs to one completed job, and each completed job has one.
    let done: BTreeSet<String> = rounds
        .iter()
        .filter(|r| r.committed)
        .map(|r| follow_up_for(&r.claimed).to_string())
        .collect();
    let follow_ups: Vec<String> = list(&env, "follow", None)
        .iter()
        .map(|job| job.payload.to_string())
        .collect();
    assert_eq!(follow_ups.len(), done.len(), "one follow-up per completion");
    assert_eq!(follow_ups.into_iter().collect::<BTreeSet<_>>(), done);
}

//! The racy interleavings of transactions on PostgreSQL, forced deterministically rather
//! than hoped for with sleeps. A test holds an advisory lock that a queueprim process waits
//! for just before its COMMIT (`QUEUEPRIM_TEST_HOLD_COMMIT`, honoured by debug builds), so
//! that process stops with its whole transaction done but not committed. A second process
//! then runs beside it; the test watches `pg_locks` to know where that one waits, lets the
//! first commit, and checks what both left behind.

use std::io::Read;
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::harness::{Job, TestEnv};
use crate::support::postgres::{Gate, Session};
use crate::support::process::wait_for;
use crate::support::wait::{eventually, GENEROUS};

/// `args` on the test's database, connecting as `name` so the test can find its session.
fn named(env: &TestEnv, name: &str, args: &[&str]) -> crate::harness::Cmd {
    env.cmd(args).env("QUEUEPRIM_DB", env.db_arg_as(name))
}

/// Starts `args` so that it stops at `gate`, before its COMMIT, and waits until it has.
fn hold(gate: &mut Gate, env: &TestEnv, args: &[&str]) -> Child {
    let name = format!("held-{}", gate.key());
    let child = named(env, &name, args)
        .env("QUEUEPRIM_TEST_HOLD_COMMIT", gate.key())
        .spawn();
    gate.wait_for(&name);
    child
}

/// What a wait for another transaction's row lock shows as in `pg_locks`.
const ROW_LOCK: &str = "transactionid";

/// Whether a child has exited (it did not stop to wait for a lock).
fn finished(child: &mut Child) -> bool {
    child.try_wait().expect("try_wait").is_some()
}

/// Waits for a child and returns its stdout as a job.
fn job_of(mut child: Child) -> Job {
    let status = wait_for(&mut child, GENEROUS, "the queueprim command");
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert!(status.success(), "{status:?}: {stderr}");
    serde_json::from_str(&stdout).expect("a job")
}

/// Starts `args` beside a held process and waits until it is stuck waiting for a lock of
/// `locktype` or has finished without waiting: either way the interleaving is now fixed,
/// and what it leaves behind is what the test checks.
fn beside(env: &TestEnv, args: &[&str], locktype: &str) -> Child {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("beside-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let mut child = named(env, &name, args).spawn();
    let mut watcher = Session::open();
    eventually(GENEROUS, "the second process to wait or finish", || {
        watcher.waits(&name, locktype) || child.try_wait().expect("try_wait").is_some()
    });
    child
}

fn status_of(env: &TestEnv, id: &str) -> String {
    env.json::<Job>(&["get", id]).status
}

#[test]
fn a_job_joining_a_group_while_its_live_job_finishes_does_not_leave_the_group_stuck() {
    let env = TestEnv::new();
    let a = env.enqueue("q", "1", &["--group", "g"]);
    let claimed = env.dequeue("q", &[]);
    assert_eq!(claimed.id, a.id);
    let mut gate = Gate::close();
    // The complete has marked A done and found no job waiting behind it, uncommitted.
    let complete = hold(&mut gate, &env, &["complete", &a.id]);
    // The enqueue must wait for the group until then, not take A for the live job.
    let enqueue = beside(
        &env,
        &["enqueue", "q", "--payload", "2", "--group", "g"],
        "advisory",
    );
    gate.open();
    assert_eq!(job_of(complete).status, "done");
    let c = job_of(enqueue);
    assert_eq!(status_of(&env, &c.id), "pending");
    assert_eq!(env.dequeue("q", &[]).id, c.id, "the group goes on with C");
}

#[test]
fn a_live_job_finishing_while_another_joins_its_group_lets_the_newcomer_go() {
    let env = TestEnv::new();
    let a = env.enqueue("q", "1", &["--group", "g"]);
    let claimed = env.dequeue("q", &[]);
    assert_eq!(claimed.id, a.id);
    let mut gate = Gate::close();
    // The enqueue has seen A live and queued C behind it, uncommitted.
    let enqueue = hold(
        &mut gate,
        &env,
        &["enqueue", "q", "--payload", "2", "--group", "g"],
    );
    let complete = beside(&env, &["complete", &a.id], "advisory");
    gate.open();
    let c = job_of(enqueue);
    assert_eq!(job_of(complete).status, "done");
    assert_eq!(status_of(&env, &c.id), "pending", "C was let go");
    assert_eq!(env.dequeue("q", &[]).id, c.id);
}

#[test]
fn two_enqueues_of_one_key_at_once_make_exactly_one_job() {
    let env = TestEnv::new();
    let mut gate = Gate::close();
    let first = hold(
        &mut gate,
        &env,
        &["enqueue", "q", "--payload", "1", "--key", "k"],
    );
    // The second insert meets the first's uncommitted key in the unique index and waits
    // for that transaction to end.
    let second = beside(
        &env,
        &["enqueue", "q", "--payload", "2", "--key", "k"],
        "transactionid",
    );
    gate.open();
    let (first, second) = (job_of(first), job_of(second));
    assert_eq!(first.deduplicated, Some(false));
    assert_eq!(second.deduplicated, Some(true));
    assert_eq!(second.id, first.id);
    let jobs: Vec<Job> = env.json(&["list", "q"]);
    assert_eq!(jobs.len(), 1);
}

#[test]
fn a_claim_in_progress_holds_no_lock_another_claimer_waits_for() {
    let env = TestEnv::new();
    let one = env.enqueue("q", "1", &[]);
    let two = env.enqueue("q", "2", &[]);
    let mut gate = Gate::close();
    let first = hold(&mut gate, &env, &["dequeue", "q", "--worker", "a"]);
    // While the first claim is uncommitted, a second claimer skips its row and takes the
    // next job at once: no global lock, and never the same job.
    let mut second = beside(&env, &["dequeue", "q", "--worker", "b"], ROW_LOCK);
    assert!(
        finished(&mut second),
        "the second claim waited for the first"
    );
    assert_eq!(job_of(second).id, two.id);
    let mut third = beside(&env, &["dequeue", "q", "--worker", "c"], ROW_LOCK);
    assert!(finished(&mut third), "the third claim waited for the first");
    gate.open();
    assert_eq!(job_of(first).id, one.id);
}

#[test]
fn an_expired_claim_released_by_two_claimers_at_once_counts_one_failed_attempt() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "3"]);
    let claimed = env.dequeue("q", &["--timeout", "1s"]);
    let mut watcher = Session::open();
    let deadline = crate::harness::millis(claimed.visible_after.as_deref().expect("deadline"));
    eventually(
        GENEROUS,
        "the claim to expire on the server's clock",
        || {
            watcher.count("SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::int8")
                > deadline
        },
    );
    let mut gate = Gate::close();
    // The first claimer has released the expired claim and claimed the job again.
    let first = hold(&mut gate, &env, &["dequeue", "q", "--worker", "a"]);
    // The second skips the row the first holds: it neither waits nor expires it again.
    let mut second = beside(&env, &["dequeue", "q", "--worker", "b"], ROW_LOCK);
    assert!(
        finished(&mut second),
        "the second claim waited for the first"
    );
    let mut sweep = beside(&env, &["sweep", "--once"], ROW_LOCK);
    assert!(finished(&mut sweep), "the sweep waited for the first claim");
    gate.open();
    let again = job_of(first);
    assert_eq!(again.id, job.id);
    assert_eq!(again.attempt_count, 1, "one expiry, counted once");
    assert_eq!(again.errors.len(), 1);
}

#[test]
fn a_completion_and_its_follow_up_are_seen_together_or_not_at_all() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    env.dequeue("q", &[]);
    let mut gate = Gate::close();
    let complete = hold(
        &mut gate,
        &env,
        &["complete", &job.id, "--enqueue", "next={\"n\":2}"],
    );
    assert_eq!(status_of(&env, &job.id), "claimed");
    env.assert_empty("next");
    gate.open();
    assert_eq!(job_of(complete).status, "done");
    let follow_up = env.dequeue("next", &[]);
    assert_eq!(follow_up.payload, serde_json::json!({"n": 2}));
}

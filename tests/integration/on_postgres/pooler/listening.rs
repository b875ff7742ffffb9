//! Waiters behind PgBouncer: woken through a direct connection (`QUEUEPRIM_LISTEN_DB`) and
//! not by their own looks, that connection made again after a server restart, listening
//! nowhere, and values that cannot work refused.

use std::process::Child;
use std::time::Duration;

use serde_json::Value;

use super::bouncer::{Bouncer, Pooled};
use crate::harness::{Job, TestEnv};
use crate::support::postgres::{cluster, private_cluster, Cluster};
use crate::support::process::wait_for;
use crate::support::wait::{eventually, GENEROUS};

/// Debug builds look again on their own only this often: a job found sooner came by a
/// notification.
const NEVER_RECHECK: &str = "3600000";
/// Long enough for a waiter to notice the server went away and to connect again after it
/// is back (its pauses between tries reach 5 s), on a slow machine.
const BACK_AGAIN: Duration = Duration::from_secs(60);

/// Waits until the session `waiter` connected as `application` sits idle after a LISTEN;
/// fails at once, with what it said, if the waiter exits instead.
#[track_caller]
fn until_listening(waiter: &mut Child, server: &Cluster, application: &str, limit: Duration) {
    eventually(limit, "the waiter to listen", || {
        if let Some(status) = waiter.try_wait().expect("try_wait") {
            let (stdout, stderr) = outputs(waiter);
            panic!("the waiter exited ({status:?}) instead of listening: {stdout}{stderr}");
        }
        server
            .try_psql(&format!(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = \
                 '{application}' AND state = 'idle' AND query LIKE 'LISTEN%'"
            ))
            .is_ok_and(|count| count == "1")
    });
}

/// What a finished child printed.
fn outputs(child: &mut Child) -> (String, String) {
    use std::io::Read;
    let (mut stdout, mut stderr) = (String::new(), String::new());
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).expect("read stdout");
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr).expect("read stderr");
    }
    (stdout, stderr)
}

#[test]
fn a_waiter_behind_pgbouncer_is_woken_through_its_direct_listen_connection() {
    let bouncer = Bouncer::start(cluster());
    let db = Pooled::new(&bouncer);
    let direct = format!(
        "{}&application_name=direct_listener",
        db.env.db_arg().to_string_lossy()
    );
    let mut waiter = db
        .cmd(&["dequeue", "q", "--wait", "5m"])
        .env("QUEUEPRIM_LISTEN_DB", &direct)
        .env("QUEUEPRIM_TEST_RECHECK_MS", NEVER_RECHECK)
        .spawn();
    until_listening(&mut waiter, cluster(), "direct_listener", GENEROUS);
    let job: Job = db.json(&["enqueue", "q", "--payload", "1"]);
    let status = wait_for(&mut waiter, GENEROUS * 3, "dequeue --wait");
    let (stdout, stderr) = outputs(&mut waiter);
    assert!(status.success(), "{status:?}: {stderr}");
    let claimed: Job = serde_json::from_str(&stdout).expect("a job");
    assert_eq!(claimed.id, job.id);
}

#[test]
fn the_direct_listen_connection_is_made_again_after_a_server_restart() {
    let server = private_cluster();
    let bouncer = Bouncer::start(&server);
    let db = Pooled::on(&server, &bouncer);
    // Create the schema first, so the waiter's first look finds it.
    db.json::<Value>(&["config", "q", "--timeout", "1m"]);
    let direct = format!(
        "{}&application_name=restarted_listener",
        db.env.db_arg().to_string_lossy()
    );
    let mut waiter = db
        .cmd(&["dequeue", "q", "--wait", "5m"])
        .env("QUEUEPRIM_LISTEN_DB", &direct)
        .env("QUEUEPRIM_TEST_RECHECK_MS", NEVER_RECHECK)
        .spawn();
    until_listening(&mut waiter, &server, "restarted_listener", GENEROUS);
    server.stop();
    server.start_again();
    until_listening(&mut waiter, &server, "restarted_listener", BACK_AGAIN);
    let job: Job = db.json(&["enqueue", "q", "--payload", "1"]);
    let status = wait_for(&mut waiter, GENEROUS * 3, "dequeue --wait");
    let (stdout, stderr) = outputs(&mut waiter);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("connected again to postgresql://"),
        "{stderr}"
    );
    let claimed: Job = serde_json::from_str(&stdout).expect("a job");
    assert_eq!(claimed.id, job.id);
}

#[test]
fn listening_nowhere_still_finds_work_by_looking_again() {
    let bouncer = Bouncer::start(cluster());
    let db = Pooled::new(&bouncer);
    db.json::<Value>(&["config", "q", "--timeout", "1m"]);
    let mut waiter = db
        .cmd(&["dequeue", "q", "--wait", "5m"])
        .env("QUEUEPRIM_LISTEN_DB", "none")
        .env("QUEUEPRIM_TEST_RECHECK_MS", "200")
        .spawn();
    let job: Job = db.json(&["enqueue", "q", "--payload", "1"]);
    let status = wait_for(&mut waiter, GENEROUS * 3, "dequeue --wait");
    let (stdout, stderr) = outputs(&mut waiter);
    assert!(status.success(), "{status:?}: {stderr}");
    let claimed: Job = serde_json::from_str(&stdout).expect("a job");
    assert_eq!(claimed.id, job.id);
}

#[test]
fn a_listen_url_that_is_bad_or_reaches_another_database_is_refused() {
    let env = TestEnv::new();
    env.json::<Value>(&["config", "q", "--timeout", "1m"]);
    let run = env
        .cmd(["dequeue", "q", "--wait", "1s"])
        .env("QUEUEPRIM_LISTEN_DB", "pgbouncer-host:6432")
        .expect_status(2);
    assert!(
        run.stderr
            .contains("invalid QUEUEPRIM_LISTEN_DB 'pgbouncer-host:6432'"),
        "{}",
        run.stderr
    );
    let elsewhere = format!(
        "postgresql://postgres:s3cret-pw@/postgres?host={}",
        cluster().socket_dir.display()
    );
    let run = env
        .cmd(["dequeue", "q", "--wait", "1s"])
        .env("QUEUEPRIM_LISTEN_DB", &elsewhere)
        .expect_status(2);
    assert!(
        run.stderr
            .contains("QUEUEPRIM_LISTEN_DB reaches database 'postgres' but --db reaches 'qp'"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    // Commands that never wait never read it.
    env.cmd(["enqueue", "q", "--payload", "1"])
        .env("QUEUEPRIM_LISTEN_DB", "nonsense")
        .expect_status(0);
}

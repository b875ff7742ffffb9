//! The server going away under queueprim: restarted while `dequeue --wait` and `work` wait
//! or run jobs (they connect again and go on, losing and doubling nothing), a connection
//! cut in the middle of a command (nothing written, exit 1), and a server that is not
//! there at all (exit 1 naming it, never its password).

use std::fs;
use std::time::Duration;

use crate::harness::{Counts, Job, TestEnv};
use crate::support::postgres::{private_cluster, Gate, Session};
use crate::support::process::wait_for;
use crate::support::wait::{eventually, GENEROUS};

/// Long enough for a waiter to notice the server went away and to connect again after it
/// is back (its pauses between tries reach 5 s), on a slow machine.
const BACK_AGAIN: Duration = Duration::from_secs(60);

/// Whether the process connected as `application` to `env`'s server is waiting for work:
/// past its start-up, its session has sat idle for a while (between its looks, a waiter
/// sends nothing for seconds).
fn listening(env: &TestEnv, application: &str) -> bool {
    let mut session = session_for(env);
    session.count(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{application}' \
         AND state = 'idle' AND state_change < clock_timestamp() - interval '300 ms'"
    )) > 0
}

/// What a finished child printed.
fn outputs(child: &mut std::process::Child) -> (String, String) {
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

/// Asserts the process noticed the server go away and connected again: the restart
/// happened under it, not before or after.
#[track_caller]
fn assert_went_through_an_outage(stderr: &str) {
    assert!(
        stderr.contains("lost the connection to postgresql://"),
        "{stderr}"
    );
    assert!(
        stderr.contains("connected again to postgresql://"),
        "{stderr}"
    );
}

fn session_for(env: &TestEnv) -> Session {
    Session::open_url(&env.db_arg().to_string_lossy())
}

#[test]
fn a_waiting_dequeue_connects_again_after_a_server_restart_and_gets_the_job() {
    let server = private_cluster();
    let env = TestEnv::on(&server);
    env.cmd(["config", "q", "--timeout", "1m"]).expect_status(0);
    let mut waiter = env
        .cmd(["dequeue", "q", "--wait", "5m"])
        .env("QUEUEPRIM_DB", env.db_arg_as("waiter"))
        .spawn();
    eventually(GENEROUS, "the waiter to wait", || listening(&env, "waiter"));
    server.stop();
    server.start_again();
    let job = env.enqueue("q", "{\"after\":\"restart\"}", &[]);
    let status = wait_for(&mut waiter, BACK_AGAIN, "dequeue --wait");
    let (stdout, stderr) = outputs(&mut waiter);
    assert!(status.success(), "{status:?}: {stderr}");
    assert_went_through_an_outage(&stderr);
    let claimed: Job = serde_json::from_str(&stdout).expect("a job");
    assert_eq!(claimed.id, job.id);
}

#[test]
fn work_goes_on_after_a_server_restart_running_each_job_exactly_once() {
    let server = private_cluster();
    let env = TestEnv::on(&server);
    let log = env.dir().join("runs.log");
    for n in 0..6 {
        env.enqueue("q", &n.to_string(), &[]);
    }
    let script = format!(
        "echo \"$QUEUEPRIM_JOB_ID\" >> '{}'; sleep 0.5",
        log.display()
    );
    let mut runner = env
        .cmd([
            "work",
            "q",
            "--concurrency",
            "2",
            "--timeout",
            "1m",
            "--until-drained",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .spawn();
    eventually(GENEROUS, "the first job to start", || {
        fs::read_to_string(&log).is_ok_and(|runs| !runs.is_empty())
    });
    server.stop();
    server.start_again();
    let status = wait_for(&mut runner, BACK_AGAIN, "queueprim work");
    let (_, stderr) = outputs(&mut runner);
    assert!(status.success(), "{status:?}: {stderr}");
    assert_went_through_an_outage(&stderr);
    let runs = fs::read_to_string(&log).expect("the run log");
    let mut ids: Vec<&str> = runs.lines().collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!((before, ids.len()), (6, 6), "each job ran once: {runs}");
    let stats: Counts = env.json(&["stats"]);
    assert_eq!((stats.done, stats.total), (6, 6));
}

#[test]
fn a_command_whose_connection_is_cut_mid_transaction_writes_nothing_and_exits_1() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    let claimed = env.dequeue("q", &[]);
    let mut gate = Gate::close();
    let mut complete = env
        .cmd(["complete", &job.id])
        .env("QUEUEPRIM_DB", env.db_arg_as("cut"))
        .env("QUEUEPRIM_TEST_HOLD_COMMIT", gate.key())
        .spawn();
    gate.wait_for("cut");
    let mut admin = Session::open();
    admin.count(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = 'cut'",
    );
    let status = wait_for(&mut complete, GENEROUS, "the cut-off complete");
    gate.open();
    let (_, stderr) = outputs(&mut complete);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot write to postgresql://"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let after: Job = env.json(&["get", &job.id]);
    assert_eq!(
        format!("{after:?}"),
        format!("{claimed:?}"),
        "nothing was written"
    );
}

#[test]
fn an_unreachable_server_is_named_with_a_hint_and_never_its_password() {
    let env = TestEnv::new();
    for args in [&["stats"][..], &["enqueue", "q", "--payload", "1"]] {
        let run = env
            .cmd(args)
            .env(
                "QUEUEPRIM_DB",
                "postgresql://ada:s3cret-pw@127.0.0.1:1/jobs?connect_timeout=5",
            )
            .run();
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(
            run.stderr
                .starts_with("error: cannot connect to postgresql://ada@127.0.0.1:1/jobs"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("is the server running"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
}

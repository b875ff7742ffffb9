//! What a command sends the server before its transaction. Every statement is a round trip,
//! and on a loaded machine or through a pooler a round trip costs more than the work in it
//! (bench/postgres.sh), so a dequeue looks once (paused, claimable, next due) and reads the
//! server's clock only when it must time a wait. The server logs each statement of the
//! command's session (`log_statement`, set for that session alone through the URL's
//! `options`), tagged with its application name.

use std::fs;

use crate::harness::{Job, TestEnv};
use crate::support::postgres::cluster;

/// The statements the server logged for sessions connected as `application`, in order.
fn statements(application: &str) -> Vec<String> {
    let log = fs::read_to_string(cluster().socket_dir.join("server.log")).expect("server log");
    let tag = format!("app={application} LOG:  ");
    log.lines()
        .filter_map(|line| line.split_once(&tag).map(|(_, rest)| rest))
        .filter(|rest| rest.starts_with("statement: ") || rest.starts_with("execute "))
        .map(str::to_string)
        .collect()
}

/// Runs `args` on `env`'s database as `application`, logging every statement it sends;
/// returns its stdout.
fn logged(env: &TestEnv, application: &str, args: &[&str]) -> String {
    let mut db = env.db_arg_as(application);
    db.push("&options=-c%20log_statement%3Dall");
    env.cmd(args)
        .env("QUEUEPRIM_DB", db)
        .expect_status(0)
        .stdout
}

/// The statements sent before the write transaction began (all of them if none did).
fn before_begin(statements: &[String]) -> &[String] {
    let begin = statements
        .iter()
        .position(|s| s.starts_with("statement: BEGIN"))
        .unwrap_or(statements.len());
    statements.get(..begin).unwrap_or_default()
}

#[test]
fn a_dequeue_checks_the_schema_and_looks_once_before_claiming() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    env.enqueue("q", "2", &[]);
    // Another worker holds a claim: its deadline is something that falls due.
    env.dequeue("q", &["--worker", "elsewhere"]);
    let app = format!("rt_ready_{}", env.schema().expect("a schema"));
    let job: Job = serde_json::from_str(&logged(&env, &app, &["dequeue", "q"])).expect("a job");
    assert_eq!(job.status, "claimed");
    let sent = statements(&app);
    let before = before_begin(&sent);
    assert_eq!(
        before.len(),
        2,
        "the schema version and one look, no settings or clock read apart: {before:#?}"
    );
    assert!(
        before.first().is_some_and(|s| s.contains("queueprim_meta")),
        "{before:#?}"
    );
    assert!(
        before.get(1).is_some_and(|s| s.contains("queue_settings")),
        "the look reads the pause with the rest: {before:#?}"
    );
    assert!(sent.len() > before.len(), "the claim ran in a transaction");
}

#[test]
fn a_dequeue_that_finds_nothing_opens_no_transaction() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    env.dequeue("q", &["--worker", "elsewhere"]);
    let app = format!("rt_empty_{}", env.schema().expect("a schema"));
    assert_eq!(logged(&env, &app, &["dequeue", "q"]), "");
    let sent = statements(&app);
    assert_eq!(
        before_begin(&sent).len(),
        sent.len(),
        "no write transaction for nothing: {sent:#?}"
    );
    assert_eq!(
        sent.len(),
        3,
        "the schema version, one look, and the clock to time the claim's deadline: {sent:#?}"
    );
}

#[test]
fn a_paused_queue_is_told_by_the_look_alone() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    env.cmd(["pause", "q"]).expect_status(0);
    let app = format!("rt_paused_{}", env.schema().expect("a schema"));
    assert_eq!(logged(&env, &app, &["dequeue", "q"]), "");
    let sent = statements(&app);
    assert_eq!(sent.len(), 2, "the schema version and one look: {sent:#?}");
}

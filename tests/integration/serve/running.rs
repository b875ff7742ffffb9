//! The server at work: claims that wait (woken by another process's enqueue, answered `[]`
//! at shutdown), many concurrent writers committed together, tokens made, revoked and
//! expired, the access log, and serving without tokens.

use std::collections::HashSet;
use std::thread;

use serde_json::{json, Value};

use super::{encoded, token, Server};
use crate::harness::{Counts, Job, TestEnv};
use crate::support::wait::sleep_past;

#[test]
fn a_waiting_claim_takes_a_job_another_process_enqueues() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    thread::scope(|s| {
        let waiting = s.spawn(|| {
            server.post(
                "/v1/queues/work/claims",
                &tok,
                r#"{"wait":"100s","worker":"remote"}"#,
            )
        });
        server.wait_for_waiting_claims(&tok, "work", 1);
        let job = env.enqueue("work", r#"{"n":1}"#, &[]);
        let got = waiting.join().unwrap().expect(200);
        let got: Vec<Job> = serde_json::from_value(got).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].id.as_str(), got[0].worker.as_deref()),
            (job.id.as_str(), Some("remote"))
        );
    });
    let claimed: Job = env.json(&["get", &env.json::<Vec<Job>>(&["list", "work"])[0].id]);
    assert_eq!(claimed.status, "claimed");
    // And for a job enqueued through the server itself.
    thread::scope(|s| {
        let waiting = s.spawn(|| server.post("/v1/queues/work/claims", &tok, r#"{"wait":"100s"}"#));
        server.wait_for_waiting_claims(&tok, "work", 1);
        let made = server
            .post("/v1/queues/work/jobs", &tok, r#"{"payload":2}"#)
            .expect(201);
        let got = waiting.join().unwrap().expect(200);
        assert_eq!(got[0]["id"], made["id"]);
    });
}

#[test]
fn waiting_claims_of_one_queue_share_the_jobs_that_come() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    let waiters = 6;
    thread::scope(|s| {
        let handles: Vec<_> = (0..waiters)
            .map(|_| s.spawn(|| server.post("/v1/queues/w/claims", &tok, r#"{"wait":"100s"}"#)))
            .collect();
        server.wait_for_waiting_claims(&tok, "w", waiters);
        let lines: String = (0..waiters).map(|n| format!("{n}\n")).collect();
        env.cmd(["enqueue", "w", "--batch"])
            .stdin(lines)
            .expect_status(0);
        let mut ids = HashSet::new();
        for handle in handles {
            let got = handle.join().unwrap().expect(200);
            let got = got.as_array().unwrap();
            assert_eq!(got.len(), 1, "{got:?}");
            ids.insert(got[0]["id"].as_str().unwrap().to_string());
        }
        assert_eq!(ids.len(), waiters, "each job went to one waiter");
    });
}

#[test]
fn sigterm_answers_waiting_claims_with_nothing_and_exits_0() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    let url = server.url.clone();
    let waiting = thread::spawn({
        let tok = tok.clone();
        move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut response = agent
                .post(&format!("{url}/v1/queues/idle/claims"))
                .header("Authorization", &format!("Bearer {tok}"))
                .send(r#"{"wait":"100s"}"#)
                .unwrap();
            (
                response.status().as_u16(),
                response.body_mut().read_to_string().unwrap(),
            )
        }
    });
    server.wait_for_waiting_claims(&tok, "idle", 1);
    let done = server.stop();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let (status, body) = waiting.join().unwrap();
    assert_eq!((status, body.as_str()), (200, "[]\n"));
    assert!(done.stderr.contains("stopping"), "{}", done.stderr);
    assert_eq!(env.json::<Counts>(&["stats"]).claimed, 0);
}

#[test]
fn concurrent_writes_are_each_answered_and_one_failing_spoils_no_other() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    let pending = env.enqueue("c", "0", &[]);
    let (clients, each) = (12, 15);
    let ids: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let (server, tok, pending) = (&server, &tok, &pending);
                s.spawn(move || {
                    let mut ids = Vec::new();
                    for n in 0..each {
                        let body = format!(r#"{{"payload":{{"client":{client},"n":{n}}}}}"#);
                        let made = server.post("/v1/queues/c/jobs", tok, &body).expect(201);
                        ids.push(made["id"].as_str().unwrap().to_string());
                        // A write that fails (the job is not claimed) among the others.
                        server
                            .post(&format!("/v1/jobs/{}/complete", pending.id), tok, "{}")
                            .expect_error(409, "conflict");
                    }
                    ids
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), clients * each);
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.pending as usize, clients * each + 1);
    for id in ids.iter().step_by(37) {
        assert_eq!(env.json::<Job>(&["get", id]).status, "pending");
    }
}

#[test]
fn tokens_are_shown_once_and_stop_working_when_revoked_or_expired() {
    let env = TestEnv::new();
    let made: Value = env.json(&["token", "create", "--queues", "a/*,b", "--name", "ci"]);
    let secret = made["token"].as_str().unwrap().to_string();
    assert_eq!(made["queues"], json!(["a/*", "b"]));
    assert_eq!(
        (made["name"].as_str(), made["produce_only"].as_bool()),
        (Some("ci"), Some(false))
    );
    let short: Value = env.json(&["token", "create", "--queues", "*", "--expires", "1s"]);
    let listed: Value = env.json(&["token", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&secret),
        "list shows no secret"
    );
    assert!(listed[0].get("token").is_none());

    let server = Server::with_tokens(&env);
    server.get("/v1/queues/b/jobs", &secret).expect(200);
    server
        .get("/v1/queues/c/jobs", &secret)
        .expect_error(404, "not_found");

    let revoked: Value = env.json(&["token", "revoke", made["id"].as_str().unwrap()]);
    assert!(revoked["revoked_at"].is_string());
    server
        .get("/v1/stats", &secret)
        .expect_error(401, "unauthorized");
    env.cmd(["token", "revoke", "t_nosuchtoken"])
        .expect_status(3);

    let short_secret = short["token"].as_str().unwrap();
    sleep_past(short["expires_at"].as_str().unwrap());
    server
        .get("/v1/stats", short_secret)
        .expect_error(401, "unauthorized");

    let log = server.log();
    assert!(
        !log.contains(&secret) && !log.contains(short_secret),
        "{log}"
    );
    assert!(
        log.contains(made["id"].as_str().unwrap()),
        "the log names the token by id: {log}"
    );
}

#[test]
fn the_access_log_has_one_line_per_request() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    server.post(
        &format!("/v1/queues/{}/jobs", encoded("a/b")),
        &tok,
        r#"{"payload":1}"#,
    );
    server.get("/v1/jobs/q_missing", &tok);
    server.call("GET", "/healthz", None, None);
    let done = server.stop();
    let lines: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| l.contains(" 127.0.0.1:"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", done.stderr);
    assert!(
        lines[0].contains(" POST /v1/queues/a%2Fb/jobs 201 "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(" GET /v1/jobs/q_missing 404 "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(" GET /healthz 200 ") && lines[2].ends_with(" -"),
        "{}",
        lines[2]
    );
    assert!(!done.stderr.contains(&tok));
}

#[test]
fn serving_without_tokens_is_for_loopback_only() {
    let env = TestEnv::new();
    let refused = env
        .cmd(["serve", "--no-auth", "--listen", "0.0.0.0:0"])
        .expect_status(2);
    assert!(
        refused.stderr.contains("--no-auth is refused"),
        "{}",
        refused.stderr
    );
    let server = Server::start(&env, &["--no-auth"]);
    let made = server
        .call(
            "POST",
            "/v1/queues/open/jobs",
            None,
            Some(r#"{"payload":1}"#),
        )
        .expect(201);
    assert_eq!(made["queue"], "open");
}

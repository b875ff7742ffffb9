//! Tenant isolation, tried the way an attacker would: another tenant's job ids (found or
//! guessed), its queue names in paths, list filters, purges, follow-ups and metrics. All
//! are answered as if nothing were there, and nothing of the other tenant changes.

use serde_json::Value;

use super::api::raw_request;
use super::{encoded, token, Server};
use crate::harness::{Counts, Job, TestEnv};

const THEIRS: &str = "tenant/victim/payments";
const OURS: &str = "tenant/attacker/jobs";

#[test]
fn another_tenant_s_jobs_and_queues_are_not_there_however_they_are_asked_for() {
    let env = TestEnv::new();
    let victim = token(&env, "tenant/victim/*", &[]);
    let attacker = token(&env, "tenant/attacker/*", &[]);
    let server = Server::with_tokens(&env);
    let theirs_jobs = format!("/v1/queues/{}/jobs", encoded(THEIRS));
    let job: Job = serde_json::from_value(
        server
            .post(&theirs_jobs, &victim, r#"{"payload":{"card":"4111"}}"#)
            .expect(201),
    )
    .unwrap();
    let claimed: Job = env.dequeue(THEIRS, &["--worker", "victim-worker"]);
    let other: Job = serde_json::from_value(
        server
            .post(&theirs_jobs, &victim, r#"{"payload":2}"#)
            .expect(201),
    )
    .unwrap();
    let before: Value = env.json(&["list", THEIRS, "--limit", "0"]);

    // A known id answers exactly like an id that never existed.
    let nothing = server.get("/v1/jobs/q_0000000000", &attacker);
    let found = server.get(&format!("/v1/jobs/{}", job.id), &attacker);
    assert_eq!(found.status, 404);
    assert_eq!(
        found.body.replace(&job.id, "ID"),
        nothing.body.replace("q_0000000000", "ID")
    );
    let claim = claimed.claim.as_deref().unwrap();
    for (action, body) in [
        ("complete", format!(r#"{{"claim":"{claim}"}}"#)),
        ("complete", "{}".to_string()),
        ("fail", r#"{"dead":true}"#.to_string()),
        ("extend", r#"{"by":"1h"}"#.to_string()),
        ("release", "{}".to_string()),
        ("retry", "{}".to_string()),
    ] {
        for id in [&job.id, &other.id] {
            server
                .post(&format!("/v1/jobs/{id}/{action}"), &attacker, &body)
                .expect_error(404, "not_found");
        }
    }
    server
        .call(
            "DELETE",
            &format!("/v1/jobs/{}", other.id),
            Some(&attacker),
            None,
        )
        .expect_error(404, "not_found");

    // Their queue, named in any route, is not there.
    let queue = encoded(THEIRS);
    for (method, path, body) in [
        ("GET", theirs_jobs.clone(), None),
        (
            "GET",
            format!("{theirs_jobs}?status=claimed&worker=victim-worker"),
            None,
        ),
        (
            "POST",
            theirs_jobs.clone(),
            Some(r#"{"payload":"planted"}"#),
        ),
        ("POST", format!("/v1/queues/{queue}/claims"), Some("{}")),
        ("DELETE", format!("{theirs_jobs}?all=true"), None),
        ("DELETE", format!("{theirs_jobs}?status=claimed"), None),
        ("GET", format!("/v1/queues/{queue}"), None),
        (
            "PATCH",
            format!("/v1/queues/{queue}"),
            Some(r#"{"paused":true}"#),
        ),
    ] {
        let answer = server.call(method, &path, Some(&attacker), body);
        let message = answer.expect_error(404, "not_found");
        assert_eq!(
            message,
            format!("queue {THEIRS} is not one this token reaches"),
            "{method} {path}"
        );
    }
    // Enqueue creates queues, so its 404 speaks of the token, and says the same of a queue
    // that exists and of one that does not.
    let enqueue_into = |queue: &str| {
        server
            .post(
                &format!("/v1/queues/{}/jobs", encoded(queue)),
                &attacker,
                r#"{"payload":1}"#,
            )
            .expect_error(404, "not_found")
            .replace(queue, "QUEUE")
    };
    assert_eq!(
        enqueue_into(THEIRS),
        enqueue_into("tenant/victim/never-made")
    );
    // A follow-up into their queue is refused, and the completion with it.
    server
        .post(
            &format!("/v1/queues/{}/jobs", encoded(OURS)),
            &attacker,
            r#"{"payload":1}"#,
        )
        .expect(201);
    let mine: Job = serde_json::from_value(
        server
            .post(
                &format!("/v1/queues/{}/claims", encoded(OURS)),
                &attacker,
                "{}",
            )
            .expect(200)[0]
            .clone(),
    )
    .unwrap();
    let smuggle = format!(
        r#"{{"claim":"{}","follow_ups":[{{"queue":"{THEIRS}","payload":"planted"}}]}}"#,
        mine.claim.as_deref().unwrap()
    );
    server
        .post(
            &format!("/v1/jobs/{}/complete", mine.id),
            &attacker,
            &smuggle,
        )
        .expect_error(404, "not_found");
    assert_eq!(env.json::<Job>(&["get", &mine.id]).status, "claimed");
    // Names that only look like a way out are other queues of the attacker's own.
    let dotted = encoded("tenant/attacker/../victim/payments");
    server
        .post(
            &format!("/v1/queues/{dotted}/jobs"),
            &attacker,
            r#"{"payload":"x"}"#,
        )
        .expect(201);
    server
        .post(
            "/v1/queues/tenant/victim/payments/jobs",
            &attacker,
            r#"{"payload":"x"}"#,
        )
        .expect_error(404, "not_found");
    // Unknown filters are refused rather than ignored.
    server
        .get(
            &format!("/v1/queues/{}/jobs?queue={queue}", encoded(OURS)),
            &attacker,
        )
        .expect_error(400, "invalid_input");

    // Lists, counts and metrics leave them out.
    let queues = server.get("/v1/queues", &attacker).expect(200);
    let names: Vec<&str> = queues
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["queue"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tenant/attacker/../victim/payments", OURS]);
    let stats: Counts =
        serde_json::from_value(server.get("/v1/stats", &attacker).expect(200)).unwrap();
    assert_eq!(stats.total, 2, "only the attacker's own jobs: {stats:?}");
    let metrics = server.get("/metrics", &attacker);
    assert_eq!(metrics.status, 200);
    assert!(!metrics.body.contains("tenant/victim"), "{}", metrics.body);
    assert!(
        metrics.body.contains("tenant/attacker/jobs"),
        "{}",
        metrics.body
    );

    // Nothing of theirs changed, and the victim still sees it all.
    let after: Value = env.json(&["list", THEIRS, "--limit", "0"]);
    assert_eq!(before, after);
    let settings: Value = env.json(&["config", THEIRS]);
    assert_eq!(settings["paused"], false);
    let victim_view = server.get(&theirs_jobs, &victim).expect(200);
    assert_eq!(victim_view.as_array().unwrap().len(), 2);
}

#[test]
fn guessed_ids_reveal_nothing() {
    let env = TestEnv::new();
    let victim = token(&env, "tenant/victim/*", &[]);
    let attacker = token(&env, "tenant/attacker/*", &[]);
    let server = Server::with_tokens(&env);
    let path = format!("/v1/queues/{}/jobs", encoded(THEIRS));
    let real: Vec<String> = (0..5)
        .map(|n| {
            server
                .post(&path, &victim, &format!(r#"{{"payload":{n}}}"#))
                .expect(201)["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let guesses = ["q_0000000000", "q_zzzzzzzzzz", "q_1", "q_abcdefghij"];
    for id in real.iter().map(String::as_str).chain(guesses) {
        let answer = server.get(&format!("/v1/jobs/{id}"), &attacker);
        assert_eq!(answer.status, 404);
        assert_eq!(
            answer.json()["error"]["message"],
            format!("no job with id {id}")
        );
    }
}

#[test]
fn a_producer_token_may_only_enqueue() {
    let env = TestEnv::new();
    let producer = token(&env, "tenant/acme/*", &["--produce-only"]);
    let server = Server::with_tokens(&env);
    let path = format!("/v1/queues/{}/jobs", encoded("tenant/acme/in"));
    let job = server
        .post(&path, &producer, r#"{"payload":1}"#)
        .expect(201);
    let id = job["id"].as_str().unwrap();
    for (method, path, body) in [
        (
            "POST",
            format!("/v1/queues/{}/claims", encoded("tenant/acme/in")),
            Some("{}"),
        ),
        ("GET", format!("/v1/jobs/{id}"), None),
        ("DELETE", format!("/v1/jobs/{id}"), None),
        ("GET", path.clone(), None),
        ("GET", "/v1/queues".to_string(), None),
        ("GET", "/metrics".to_string(), None),
    ] {
        server
            .call(method, &path, Some(&producer), body)
            .expect_error(404, "not_found");
    }
    assert_eq!(env.json::<Job>(&["get", id]).status, "pending");

    // A dedup key held by a claimed job: the producer hears of the job, not its claim.
    let keyed = r#"{"payload":2,"key":"k","priority":"high"}"#;
    let made = server.post(&path, &producer, keyed).expect(201);
    let claimed = env.dequeue("tenant/acme/in", &[]);
    assert_eq!(claimed.id, made["id"].as_str().unwrap());
    assert!(claimed.claim.is_some());
    let again = server.post(&path, &producer, keyed).expect(200);
    assert_eq!(again["id"], made["id"]);
    assert_eq!(again["status"], "claimed");
    assert_eq!(again["claim"], Value::Null, "{again}");
}

/// Without tokens the server trusts whoever reaches its loopback address, and a browser on
/// the same machine reaches it too: a page of any site may send it simple requests (a
/// text/plain POST needs no preflight), and a name of the attacker's that resolves to
/// 127.0.0.1 (DNS rebinding) would make it the page's own origin, able to read the answers.
#[test]
fn without_tokens_pages_of_other_sites_and_other_host_names_are_refused() {
    let env = TestEnv::new();
    let server = Server::start(&env, &["--no-auth"]);
    let host = server.url.trim_start_matches("http://").to_string();
    let port = host.rsplit(':').next().unwrap().to_string();
    let body = r#"{"payload":"planted"}"#;
    let send = |method: &str, path: &str, headers: &str| {
        raw_request(
            &server.url,
            &format!(
                "{method} {path} HTTP/1.1\r\n{headers}Content-Type: text/plain\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let jobs = "/v1/queues/open/jobs";
    for headers in [
        format!("Host: {host}\r\nOrigin: https://evil.example\r\n"),
        format!("Host: {host}\r\nOrigin: null\r\n"),
        format!("Host: evil.example:{port}\r\n"),
        format!("Host: evil.example:{port}\r\nOrigin: http://evil.example:{port}\r\n"),
        format!("Host: 127.0.0.1.evil.example:{port}\r\n"),
    ] {
        for (method, path) in [("POST", jobs), ("GET", "/v1/stats"), ("GET", "/metrics")] {
            let answer = send(method, path, &headers);
            assert!(
                answer.starts_with("HTTP/1.1 401"),
                "{method} {path} with {headers:?}: {answer}"
            );
            assert!(answer.contains(r#""kind":"unauthorized""#), "{answer}");
        }
    }
    assert_eq!(env.json::<Counts>(&["stats"]).total, 0, "nothing planted");
    // Programs on the machine, and the server's own pages, go on as before.
    for headers in [
        format!("Host: {host}\r\n"),
        format!("Host: {host}\r\nOrigin: http://{host}\r\n"),
        format!("Host: localhost:{port}\r\n"),
        format!("Host: LOCALHOST:{port}\r\nOrigin: http://localhost:{port}\r\n"),
    ] {
        let answer = send("POST", jobs, &headers);
        assert!(answer.starts_with("HTTP/1.1 201"), "{headers:?}: {answer}");
    }
    assert_eq!(env.json::<Counts>(&["stats"]).total, 4);
}

/// A claim waits up to two minutes after its token was checked: revoking the token must stop
/// it taking jobs that come afterwards.
#[test]
fn a_claim_waiting_when_its_token_is_revoked_takes_nothing() {
    let env = TestEnv::new();
    let made: Value = env.json(&["token", "create", "--queues", "tenant/acme/*"]);
    let revoked = made["token"].as_str().unwrap().to_string();
    let watcher = token(&env, "tenant/acme/*", &[]);
    let server = Server::with_tokens(&env);
    let queue = "tenant/acme/in";
    let claims = format!("/v1/queues/{}/claims", encoded(queue));
    std::thread::scope(|s| {
        let waiting = s.spawn(|| server.post(&claims, &revoked, r#"{"wait":"100s"}"#));
        server.wait_for_waiting_claims(&watcher, queue, 1);
        env.cmd(["token", "revoke", made["id"].as_str().unwrap()])
            .expect_status(0);
        let job = env.enqueue(queue, "1", &[]);
        let answer = waiting.join().unwrap();
        assert!(!answer.body.contains(&job.id), "{}", answer.body);
        assert_eq!(answer.status, 401, "{}", answer.body);
        assert_eq!(env.json::<Job>(&["get", &job.id]).status, "pending");
    });
}

postgres_only! {
    /// A write naming another tenant's job must not lock it: holding the row (as its own
    /// worker's transaction might), the victim's job still answers the attacker 404 at
    /// once, instead of making the attacker wait for the lock (which would show that the id
    /// exists, and hold up the victim's work behind the attacker's group commit).
    #[test]
    fn another_tenant_s_job_is_not_locked_by_a_write_naming_it() {
        use crate::support::postgres::Session;

        let env = TestEnv::new();
        let victim = token(&env, "tenant/victim/*", &[]);
        let attacker = token(&env, "tenant/attacker/*", &[]);
        let server = Server::with_tokens(&env);
        let path = format!("/v1/queues/{}/jobs", encoded(THEIRS));
        let id = server.post(&path, &victim, r#"{"payload":1}"#).expect(201)["id"]
            .as_str()
            .unwrap()
            .to_string();
        let schema = env.schema().unwrap();
        let mut holder = Session::open();
        let mut hold = holder.0.transaction().unwrap();
        let locked = hold
            .execute(
                &format!("SELECT 1 FROM \"{schema}\".jobs WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .unwrap();
        assert_eq!(locked, 1);
        for (verb, body) in [
            ("complete", "{}"),
            ("fail", "{}"),
            ("extend", r#"{"by":"1m"}"#),
            ("release", "{}"),
            ("retry", "{}"),
        ] {
            let answer = server.post(&format!("/v1/jobs/{id}/{verb}"), &attacker, body);
            assert_eq!(answer.status, 404, "{verb}: {}", answer.body);
        }
        let answer = server.call("DELETE", &format!("/v1/jobs/{id}"), Some(&attacker), None);
        assert_eq!(answer.status, 404, "cancel: {}", answer.body);
        hold.rollback().unwrap();
        assert_eq!(env.json::<Job>(&["get", &id]).status, "pending");
    }
}

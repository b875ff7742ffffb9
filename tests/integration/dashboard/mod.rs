//! The dashboard of `queueprim serve`: the routes it added to the API (throughput per queue
//! over the last hour, retrying every dead job of a queue) on this binary's engine, the page
//! and its assets as the server sends them, and `browser`: the page itself in headless
//! Chromium, driven through WebDriver (`webdriver`).

mod browser;
// The PostgreSQL binary runs fewer browser tests, which use less of the client.
#[allow(dead_code)]
mod webdriver;

use serde_json::Value;

use crate::harness::{Job, TestEnv};
use crate::serve::{encoded, token, Server};

const OURS: &str = "tenant/acme/emails";
const THEIRS: &str = "tenant/other/secret";

/// A job of `queue` claimed and failed for good with `reason`.
pub fn dead_job(env: &TestEnv, queue: &str, payload: &str, reason: &str) -> Job {
    let job = env.enqueue(queue, payload, &[]);
    let claimed = env.dequeue(queue, &[]);
    assert_eq!(claimed.id, job.id, "the queue held another job first");
    env.cmd(["fail", &job.id, "--dead", "--reason", reason])
        .expect_status(0);
    job
}

/// A job of `queue` claimed and completed.
pub fn done_job(env: &TestEnv, queue: &str) -> Job {
    let job = env.enqueue(queue, "{}", &[]);
    let claimed = env.dequeue(queue, &[]);
    assert_eq!(claimed.id, job.id, "the queue held another job first");
    env.cmd(["complete", &job.id]).expect_status(0);
    job
}

#[test]
fn throughput_counts_each_minute_s_finished_jobs_of_the_token_s_queues_only() {
    let env = TestEnv::new();
    let ours = token(&env, "tenant/acme/*", &[]);
    done_job(&env, OURS);
    done_job(&env, OURS);
    dead_job(&env, OURS, "{}", "boom");
    done_job(&env, THEIRS);
    env.enqueue(OURS, "{}", &[]);
    let server = Server::with_tokens(&env);
    let body = server.get("/v1/throughput", &ours).expect(200);
    assert_eq!(body["bucket_seconds"], 60);
    let queues = body["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 1, "only the token's queues: {body}");
    let acme = &queues[0];
    assert_eq!(acme["queue"], OURS);
    let sum = |key: &str| -> u64 {
        let minutes = acme[key].as_array().unwrap();
        assert_eq!(minutes.len(), 60, "{key}: one entry a minute");
        minutes.iter().map(|n| n.as_u64().unwrap()).sum()
    };
    assert_eq!((sum("done"), sum("dead")), (2, 1));
    // Whole minutes of the database's clock, the first an hour before the current one.
    let since = crate::harness::millis(body["since"].as_str().unwrap());
    assert_eq!(since % 60_000, 0, "{body}");
    let everyone = token(&env, "*", &[]);
    let all = server.get("/v1/throughput", &everyone).expect(200);
    assert_eq!(all["queues"].as_array().unwrap().len(), 2, "{all}");
    let producer = token(&env, "*", &["--produce-only"]);
    server
        .get("/v1/throughput", &producer)
        .expect_error(404, "not_found");
}

#[test]
fn retrying_a_queue_brings_back_its_dead_jobs_as_retry_queue_does() {
    let env = TestEnv::new();
    let ours = token(&env, "tenant/acme/*", &[]);
    let first = dead_job(&env, OURS, "1", "one");
    let second = dead_job(&env, OURS, "2", "two");
    let done = done_job(&env, OURS);
    let theirs = dead_job(&env, THEIRS, "3", "three");
    let server = Server::with_tokens(&env);
    let path = format!("/v1/queues/{}/retry", encoded(OURS));
    let retried = server.post(&path, &ours, "").expect(200);
    let mut ids: Vec<&str> = retried
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![first.id.as_str(), second.id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    for id in [&first.id, &second.id] {
        let job: Job = env.json(&["get", id]);
        assert_eq!(job.status, "pending");
        assert_eq!(job.attempt_count, 0, "a fresh attempt budget");
    }
    let kept: Job = env.json(&["get", &done.id]);
    assert_eq!(kept.status, "done");
    // Nothing left: an empty array, as `retry --queue` prints.
    assert_eq!(
        server.post(&path, &ours, "{}").expect(200),
        Value::Array(vec![])
    );
    // Done jobs when asked; bad statuses named.
    let again = server
        .post(&path, &ours, r#"{"status":"done"}"#)
        .expect(200);
    assert_eq!(again[0]["id"], done.id.as_str());
    let refused = server
        .post(&path, &ours, r#"{"status":"pending"}"#)
        .expect_error(400, "invalid_input");
    assert!(refused.contains("\"status\""), "{refused}");
    server
        .post(&path, &ours, r#"{"queue":"x"}"#)
        .expect_error(400, "invalid_input");
    // Another tenant's queue is not there, and stays as it is.
    let theirs_path = format!("/v1/queues/{}/retry", encoded(THEIRS));
    server
        .post(&theirs_path, &ours, "")
        .expect_error(404, "not_found");
    let untouched: Job = env.json(&["get", &theirs.id]);
    assert_eq!(untouched.status, "dead");
}

#[test]
fn the_page_and_its_assets_come_from_the_binary_under_a_strict_policy() {
    let env = TestEnv::new();
    let server = Server::with_tokens(&env);
    let page = server.call("GET", "/", None, None);
    assert_eq!(
        page.status, 200,
        "the page needs no token: it holds no data"
    );
    assert!(page.body.contains("/dashboard/app.js"), "{}", page.body);
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    for (path, kind) in [
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/style.css", "text/css"),
        ("/dashboard/icon.svg", "image/svg+xml"),
    ] {
        let asset = server.call("GET", path, None, None);
        assert_eq!(asset.status, 200, "{path}");
        assert!(
            asset.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        assert_eq!(asset.header("x-content-type-options"), Some("nosniff"));
    }
    // Nothing is fetched from elsewhere: every address in the page and its assets is
    // this server's (or the SVG namespace, which is a name, not a fetch).
    for path in ["/", "/dashboard/app.js", "/dashboard/style.css"] {
        let body = server.call("GET", path, None, None).body;
        let outside = body
            .match_indices("://")
            .map(|(at, _)| &body[at.saturating_sub(4)..])
            .find(|rest| !rest.starts_with("http://www.w3.org/2000/svg\""));
        assert!(outside.is_none(), "{path} names another address");
        assert!(!body.contains("url("), "{path} loads something");
        assert!(
            !body.contains("@import") && !body.contains("@font-face"),
            "{path}"
        );
    }
    // The API's data still needs a token.
    assert_eq!(server.call("GET", "/v1/queues", None, None).status, 401);
}

//! The routes, as a producer and a worker use them, and the errors they answer.

use serde_json::{json, Value};

use super::{encoded, token, Server};
use crate::harness::{Counts, Job, QueueCounts, QueueSettings, TestEnv};
use crate::support::process::kill_group;
use crate::support::wait::{eventually, GENEROUS};

const Q: &str = "tenant/acme/mail";

fn jobs_path(queue: &str) -> String {
    format!("/v1/queues/{}/jobs", encoded(queue))
}

fn claims_path(queue: &str) -> String {
    format!("/v1/queues/{}/claims", encoded(queue))
}

#[test]
fn a_producer_and_a_worker_go_round_trip_with_the_cli_s_json() {
    let env = TestEnv::new();
    let tok = token(&env, "tenant/acme/*", &[]);
    let server = Server::with_tokens(&env);

    let made = server
        .post(&jobs_path(Q), &tok, r#"{"payload":{"to":"ada"},"priority":"high","max_retries":2,"type":"email","key":"k1"}"#)
        .expect(201);
    let job: Job = serde_json::from_value(made.clone()).unwrap();
    assert_eq!(
        (job.queue.as_str(), job.priority, job.max_retries),
        (Q, 10, 2)
    );
    assert_eq!(job.deduplicated, Some(false));
    // A key that an unfinished job holds creates nothing: 200, not 201.
    let again: Job = serde_json::from_value(
        server
            .post(
                &jobs_path(Q),
                &tok,
                r#"{"payload":{"to":"bob"},"key":"k1"}"#,
            )
            .expect(200),
    )
    .unwrap();
    assert_eq!(
        (again.id.as_str(), again.deduplicated),
        (job.id.as_str(), Some(true))
    );
    let all_taken: Vec<Job> = serde_json::from_value(
        server
            .post(&jobs_path(Q), &tok, r#"[{"payload":1,"key":"k1"}]"#)
            .expect(200),
    )
    .unwrap();
    assert_eq!(all_taken[0].deduplicated, Some(true));
    let one_new: Vec<Job> = serde_json::from_value(
        server
            .post(
                &jobs_path(Q),
                &tok,
                r#"[{"payload":1,"key":"k1"},{"payload":2,"key":"k2"}]"#,
            )
            .expect(201),
    )
    .unwrap();
    let dedup: Vec<Option<bool>> = one_new.iter().map(|j| j.deduplicated).collect();
    assert_eq!(dedup, [Some(true), Some(false)]);
    let cancelled = server
        .call(
            "DELETE",
            &format!("/v1/jobs/{}", one_new[1].id),
            Some(&tok),
            None,
        )
        .expect(200);
    assert_eq!(cancelled, json!({"cancelled": [one_new[1].id]}));

    // The JSON of a job is exactly what the CLI prints for it.
    let over_http = server
        .get(&format!("/v1/jobs/{}", job.id), &tok)
        .expect(200);
    let from_cli: Value = env.json(&["get", &job.id]);
    assert_eq!(over_http, from_cli);

    let batch = server
        .post(
            &jobs_path(Q),
            &tok,
            r#"[{"payload":1},{"payload":2,"delay":"1h"},{"payload":3,"group":"g"}]"#,
        )
        .expect(201);
    let batch: Vec<Job> = serde_json::from_value(batch).unwrap();
    assert_eq!(batch.len(), 3);
    assert!(batch[1].run_after > batch[0].run_after);

    let claimed: Vec<Job> = serde_json::from_value(
        server
            .post(
                &claims_path(Q),
                &tok,
                r#"{"worker":"w1","count":5,"timeout":"1m"}"#,
            )
            .expect(200),
    )
    .unwrap();
    // The delayed job is not visible yet: the high-priority one first, then FIFO.
    let ids: Vec<&str> = claimed.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        [job.id.as_str(), batch[0].id.as_str(), batch[2].id.as_str()]
    );
    assert!(claimed
        .iter()
        .all(|j| j.status == "claimed" && j.worker.as_deref() == Some("w1")));
    let empty = server.post(&claims_path(Q), &tok, "").expect(200);
    assert_eq!(empty, json!([]));

    let first = &claimed[0];
    let complete = format!(
        r#"{{"claim":"{}","output":{{"sent":true}},"follow_ups":[{{"queue":"tenant/acme/audit","payload":{{"of":"{}"}},"priority":"low"}}]}}"#,
        first.claim.as_deref().unwrap(),
        first.id
    );
    let done: Job = serde_json::from_value(
        server
            .post(&format!("/v1/jobs/{}/complete", first.id), &tok, &complete)
            .expect(200),
    )
    .unwrap();
    assert_eq!(done.status, "done");
    assert_eq!(done.output, Some(json!({"sent": true})));
    let follow_ups = done.follow_ups.unwrap();
    assert_eq!(follow_ups.len(), 1);
    let audit: Job = env.json(&["get", &follow_ups[0].id]);
    assert_eq!(
        (audit.queue.as_str(), audit.priority),
        ("tenant/acme/audit", -10)
    );
    // Completing twice is a conflict.
    server
        .post(&format!("/v1/jobs/{}/complete", first.id), &tok, &complete)
        .expect_error(409, "conflict");

    let second = &claimed[1];
    let claim = second.claim.as_deref().unwrap();
    let extended: Job = serde_json::from_value(
        server
            .post(
                &format!("/v1/jobs/{}/extend", second.id),
                &tok,
                &format!(r#"{{"claim":"{claim}","by":"10m"}}"#),
            )
            .expect(200),
    )
    .unwrap();
    assert!(extended.claim_deadline > second.claim_deadline);
    let failed: Job = serde_json::from_value(
        server
            .post(
                &format!("/v1/jobs/{}/fail", second.id),
                &tok,
                &format!(r#"{{"claim":"{claim}","reason":"smtp down","dead":true}}"#),
            )
            .expect(200),
    )
    .unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.errors[0].reason.as_str()),
        ("dead", "smtp down")
    );
    let retried: Vec<Job> = serde_json::from_value(
        server
            .post(&format!("/v1/jobs/{}/retry", second.id), &tok, "")
            .expect(200),
    )
    .unwrap();
    assert_eq!(retried[0].status, "pending");

    let third = &claimed[2];
    let released: Job = serde_json::from_value(
        server
            .post(
                &format!("/v1/jobs/{}/release", third.id),
                &tok,
                &format!(r#"{{"claim":"{}"}}"#, third.claim.as_deref().unwrap()),
            )
            .expect(200),
    )
    .unwrap();
    assert_eq!(
        (released.status.as_str(), released.attempt_count),
        ("pending", 0)
    );
    let cancelled = server
        .call(
            "DELETE",
            &format!("/v1/jobs/{}", third.id),
            Some(&tok),
            None,
        )
        .expect(200);
    assert_eq!(cancelled, json!({"cancelled": [third.id]}));
    server
        .get(&format!("/v1/jobs/{}", third.id), &tok)
        .expect_error(404, "not_found");

    let pending: Vec<Job> = serde_json::from_value(
        server
            .get(&format!("{}?status=pending", jobs_path(Q)), &tok)
            .expect(200),
    )
    .unwrap();
    let mut pending_ids: Vec<&str> = pending.iter().map(|j| j.id.as_str()).collect();
    pending_ids.sort();
    let mut want = vec![second.id.as_str(), batch[1].id.as_str()];
    want.sort();
    assert_eq!(pending_ids, want);
    let cut = server.get(&format!("{}?limit=1", jobs_path(Q)), &tok);
    assert_eq!(cut.expect(200).as_array().unwrap().len(), 1);
    assert_eq!(cut.header("x-total-count"), Some("3"));

    let queues: Vec<QueueCounts> =
        serde_json::from_value(server.get("/v1/queues", &tok).expect(200)).unwrap();
    let names: Vec<&str> = queues.iter().map(|q| q.queue.as_str()).collect();
    assert_eq!(names, ["tenant/acme/audit", Q]);
    let stats: Counts = serde_json::from_value(server.get("/v1/stats", &tok).expect(200)).unwrap();
    let cli_stats: Counts = env.json(&["stats"]);
    assert_eq!(stats, cli_stats);

    let paused: QueueSettings = serde_json::from_value(
        server
            .call(
                "PATCH",
                &format!("/v1/queues/{}", encoded(Q)),
                Some(&tok),
                Some(r#"{"paused":true,"max_retries":4}"#),
            )
            .expect(200),
    )
    .unwrap();
    assert!(paused.paused && paused.max_retries == Some(4));
    let shown: QueueSettings = serde_json::from_value(
        server
            .get(&format!("/v1/queues/{}", encoded(Q)), &tok)
            .expect(200),
    )
    .unwrap();
    assert_eq!(shown, paused);
    assert_eq!(
        server.post(&claims_path(Q), &tok, "{}").expect(200),
        json!([])
    );

    let path = jobs_path(Q);
    server
        .call("DELETE", &path, Some(&tok), None)
        .expect_error(400, "usage");
    let counted = server
        .call(
            "DELETE",
            &format!("{path}?status=done&dry_run=true"),
            Some(&tok),
            None,
        )
        .expect(200);
    assert_eq!(
        counted,
        json!({"matched": 1, "removed": 0, "dry_run": true})
    );
    let purged = server
        .call("DELETE", &format!("{path}?all=true"), Some(&tok), None)
        .expect(200);
    assert_eq!(
        purged,
        json!({"matched": 3, "removed": 3, "dry_run": false})
    );
    assert_eq!(server.get(&path, &tok).expect(200), json!([]));
}

#[test]
fn bad_requests_get_json_errors_with_the_status_that_fits() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    let jobs = jobs_path("q");
    let claims = claims_path("q");

    let unauthorized = server.call("GET", "/v1/stats", None, None);
    unauthorized.expect_error(401, "unauthorized");
    assert_eq!(unauthorized.header("www-authenticate"), Some("Bearer"));
    server
        .get("/v1/stats", "qp_not_a_token")
        .expect_error(401, "unauthorized");
    server.call("GET", "/v1/stats", None, None);

    for (body, needle) in [
        ("{", "invalid body"),
        (
            r#"{"payload":1,"prio":1}"#,
            "unknown field `prio`: a job takes payload, priority,",
        ),
        (
            r#"[{"payload":1},{"payload":1,"prio":1}]"#,
            "job 2: unknown field `prio`",
        ),
        (
            r#"{"payload":1,"max_retries":-1}"#,
            "\"max_retries\" must be a whole number from 0 to 4294967295, not integer -1",
        ),
        (
            r#"[{"payload":1},{"payload":1,"max_retries":"x"}]"#,
            "job 2: \"max_retries\" must be",
        ),
        ("5", "the body must be a JSON object, not integer 5"),
        (r#"{"priority":1}"#, "missing field `payload`"),
        (r#"{"payload":1,"delay":"soon"}"#, "\"delay\""),
        (r#"{"payload":1,"priority":"urgent"}"#, "\"priority\""),
        (r#"{"payload":1,"queue":"other"}"#, "named in the path"),
        (
            r#"[{"payload":1},{"payload":2,"type":"bad type"}]"#,
            "job 2",
        ),
    ] {
        let message = server
            .post(&jobs, &tok, body)
            .expect_error(400, "invalid_input");
        assert!(message.contains(needle), "{body}: {message}");
        // The path names the queue: a job's fields never offer one, nor the parser's types.
        for leak in ["`queue`, ", "u32", "expected one of"] {
            assert!(!message.contains(leak), "{body}: {message}");
        }
    }
    // A value of the wrong type or range names its field and what it takes, in one line.
    for (method, path, body, needle) in [
        (
            "POST",
            claims.clone(),
            r#"{"count":-1}"#,
            "\"count\" must be a whole number from 1 to 10000, not integer -1",
        ),
        (
            "POST",
            claims.clone(),
            r#"{"wait":60}"#,
            "\"wait\" must be a duration in a string, like \"30s\", not integer 60",
        ),
        (
            "DELETE",
            format!("{jobs}?all=yes"),
            "",
            "invalid query: \"all\" must be true or false, not \"yes\"",
        ),
        (
            "GET",
            format!("{jobs}?limit=-1"),
            "",
            "invalid query: \"limit\" must be a whole number from 1 to 1000, not \"-1\"",
        ),
        (
            "PATCH",
            "/v1/queues/q".to_string(),
            r#"{"paused":"yes"}"#,
            "\"paused\" must be true or false, not string \"yes\"",
        ),
    ] {
        let message = server
            .call(method, &path, Some(&tok), Some(body))
            .expect_error(400, "invalid_input");
        assert_eq!(message, needle, "{method} {path} {body}");
    }
    let message = server
        .get(&format!("{jobs}?colour=red"), &tok)
        .expect_error(400, "invalid_input");
    assert!(message.contains("unknown field `colour`"), "{message}");
    assert_eq!(
        env.json::<Counts>(&["stats"]).total,
        0,
        "a refused batch adds nothing"
    );

    for body in [
        r#"{"wait":"3m"}"#,
        r#"{"count":0}"#,
        r#"{"timeout":"10ms"}"#,
        r#"{"worker":""}"#,
    ] {
        server
            .post(&claims, &tok, body)
            .expect_error(400, "invalid_input");
    }
    server
        .post("/v1/queues/bad%20name/jobs", &tok, r#"{"payload":1}"#)
        .expect_error(400, "invalid_input");
    server
        .get("/v1/jobs/c_123", &tok)
        .expect_error(400, "invalid_input");
    server
        .get("/v1/jobs/q_nothere", &tok)
        .expect_error(404, "not_found");
    server
        .get("/v1/nowhere", &tok)
        .expect_error(404, "not_found");
    server
        .post("/v1/jobs/q_nothere/extend", &tok, "{}")
        .expect_error(400, "invalid_input");
    server
        .post(
            "/v1/jobs/q_nothere/fail",
            &tok,
            r#"{"dead":true,"retry_in":"1s"}"#,
        )
        .expect_error(400, "usage");
    server
        .get(&format!("{jobs}?status=lost"), &tok)
        .expect_error(400, "invalid_input");

    // A payload over 1 MiB is refused by the parser; a body over the limit before reading.
    let big = format!(r#"{{"payload":"{}"}}"#, "x".repeat(1024 * 1024));
    let message = server
        .post(&jobs, &tok, &big)
        .expect_error(400, "invalid_input");
    assert!(message.contains("over the limit"), "{message}");
    // Refused on its declared length, before the client sends it (Expect: 100-continue),
    // so the test does not race the server closing a half-read connection.
    let head = format!(
        "POST {jobs} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        2 * 1024 * 1024
    );
    let answer = raw_request(&server.url, &head);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""kind":"too_large""#), "{answer}");
    // In the README's words.
    assert!(answer.contains("over 1 MiB and 64 KiB"), "{answer}");

    // A queue's slashes written as they are: the 404 says how to write it.
    for (method, path) in [
        ("POST", "/v1/queues/tenant/acme/mail/jobs"),
        ("GET", "/v1/queues/tenant/acme/mail"),
    ] {
        let message = server
            .call(method, path, Some(&tok), Some("{}"))
            .expect_error(404, "not_found");
        assert!(
            message.contains("tenant/acme/mail is tenant%2Facme%2Fmail"),
            "{message}"
        );
    }
    let message = server
        .get("/v1/nowhere", &tok)
        .expect_error(404, "not_found");
    assert_eq!(message, "no such route: see /openapi.json");

    let openapi = server.call("GET", "/openapi.json", None, None).expect(200);
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(openapi["paths"]["/v1/queues/{queue}/claims"]["post"].is_object());
    assert_eq!(
        server.call("GET", "/healthz", None, None).expect(200),
        json!({"ok": true})
    );
}

/// Sends `head` as it is and reads the answer until the server closes the connection.
pub fn raw_request(url: &str, head: &str) -> String {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(crate::support::wait::GENEROUS))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_method_a_route_does_not_have_is_a_json_error_naming_the_methods_it_has() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    for (method, path) in [
        ("PATCH", "/v1/jobs/q_0000000000"),
        ("DELETE", "/v1/stats"),
        ("POST", "/v1/queues"),
        ("GET", "/v1/jobs/q_0000000000/complete"),
    ] {
        for token in [Some(tok.as_str()), None] {
            let answer = server.call(method, path, token, None);
            let message = answer.expect_error(405, "usage");
            assert!(message.contains(method), "{method} {path}: {message}");
            assert!(answer.header("allow").is_some(), "{method} {path}");
        }
    }
}

#[test]
fn retrying_a_job_answers_what_retry_prints() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    let mut dead = Vec::new();
    for _ in 0..2 {
        let job = env.enqueue("q", "{}", &[]);
        env.dequeue("q", &[]);
        env.cmd(["fail", &job.id, "--dead"]).expect_status(0);
        dead.push(job.id);
    }
    let from_cli: Value = env.json(&["retry", &dead[0]]);
    let over_http = server
        .post(&format!("/v1/jobs/{}/retry", dead[1]), &tok, "")
        .expect(200);
    assert!(from_cli.is_array(), "{from_cli}");
    assert!(over_http.is_array(), "{over_http}");
    let now: Value = env.json(&["get", &dead[1]]);
    assert_eq!(over_http, json!([now]));
}

/// Every kind of error the API can answer is in its OpenAPI document, and the README's
/// serve section names each.
#[test]
fn every_error_kind_is_in_the_openapi_document_and_the_readme() {
    let env = TestEnv::new();
    let server = Server::with_tokens(&env);
    let doc = server.call("GET", "/openapi.json", None, None).expect(200);
    let kinds =
        &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["kind"]["enum"];
    let kinds: Vec<&str> = kinds
        .as_array()
        .unwrap_or_else(|| panic!("Error.kind is not an enum: {kinds}"))
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    for seen in [
        "usage",
        "invalid_input",
        "unauthorized",
        "not_found",
        "conflict",
        "too_large",
        "database",
        "timeout",
        "internal",
    ] {
        assert!(kinds.contains(&seen), "{seen} missing from {kinds:?}");
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let serving = readme
        .split("## Serving over HTTP")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a serve section");
    for kind in &kinds {
        assert!(
            serving.contains(&format!("`{kind}`")),
            "README's serve section does not name {kind}"
        );
    }
}

/// The README's curl worker loop, run as written against a real server: it does the jobs,
/// and an error answer makes it pause instead of asking again at once.
#[test]
fn the_readme_s_curl_worker_loop_works_and_pauses_on_errors() {
    let env = TestEnv::new();
    let tok = token(&env, "tenant/acme/*", &[]);
    let server = Server::with_tokens(&env);
    let good = env.enqueue(Q, r#"{"to":"ada"}"#, &[]);
    let bad = env.enqueue(Q, r#"{"from":"bob"}"#, &[]);

    let finished = |id: &str| {
        let job: Job = env.json(&["get", id]);
        matches!(job.status.as_str(), "done" | "dead")
    };
    let run = CurlLoop::start(&server, &tok);
    eventually(GENEROUS, "the loop to finish both jobs", || {
        finished(&good.id) && finished(&bad.id)
    });
    assert!(!run.paused(), "{}", run.stderr());
    drop(run);
    let good: Job = env.json(&["get", &good.id]);
    assert_eq!(
        (good.status.as_str(), good.output),
        ("done", Some(json!({"ok": true})))
    );
    let bad: Job = env.json(&["get", &bad.id]);
    assert_eq!(
        (bad.status.as_str(), bad.errors[0].reason.as_str()),
        ("dead", "do_work failed")
    );

    // A refused token: one claim, then the pause (a `sleep` that never ends here).
    let run = CurlLoop::start(&server, "qp_not_a_token");
    eventually(GENEROUS, "the loop to pause", || run.paused());
    let refused = " POST /v1/queues/tenant%2Facme%2Fmail/claims 401 ";
    eventually(GENEROUS, "the refused claim in the log", || {
        server.log().contains(refused)
    });
    assert_eq!(server.log().matches(refused).count(), 1, "{}", server.log());
    assert!(
        run.stderr().contains("claim refused: {"),
        "{}",
        run.stderr()
    );
}

/// The README's curl loop running in a process group of its own, with `sleep` replaced by
/// one that notes the pause and then waits until the test ends.
struct CurlLoop {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl CurlLoop {
    fn start(server: &Server, token: &str) -> CurlLoop {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let script = readme
            .split("```bash\n")
            .filter_map(|block| block.split("```").next())
            .find(|block| block.contains("$Q/claims"))
            .expect("the curl worker loop is a ```bash block in README.md")
            .replace("http://queue.internal:8080", &server.url);
        let dir = tempfile::tempdir().unwrap();
        let write_program = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        write_program("do_work", "#!/bin/sh\njq -e .to >/dev/null\n");
        write_program(
            "sleep",
            "#!/bin/sh\necho \"$@\" >>\"$(dirname \"$0\")/slept\"\nexec /bin/sleep 600\n",
        );
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let child = std::process::Command::new("bash")
            .args(["-c", &script])
            .current_dir(dir.path())
            .env("PATH", path)
            .env("TOKEN", token)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
            .process_group(0)
            .spawn()
            .expect("bash");
        CurlLoop { child, dir }
    }

    /// Whether it paused (called `sleep`).
    fn paused(&self) -> bool {
        self.dir.path().join("slept").exists()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }
}

impl Drop for CurlLoop {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.wait();
    }
}

//! The server's promises under faults, with real processes: `serve` SIGKILLed while many
//! clients enqueue, or claim and complete (every 201 or 200 it gave stands, exactly once;
//! nothing half-written; claims it held come back when they time out), the PostgreSQL
//! server restarted under it (503s during the outage, working again after it without a
//! restart of its own, waiting claims woken), its limits (connection cap, idle connections,
//! SIGTERM with requests in flight), a long-poll whose client went away, and `/metrics`.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use serde_json::Value;

use super::{token, Server};
use crate::harness::{Counts, Job, TestEnv};
use crate::support::integrity::assert_intact;
use crate::support::rng::Rng;
use crate::support::wait::{eventually, sleep_past, GENEROUS};

/// How many times each kill test kills a server.
const KILLS: usize = 3;

/// A request that may fail to get through (the server was killed): the status and body, or
/// `None`.
fn attempt(server: &Server, path: &str, tok: &str, body: &str) -> Option<(u16, Value)> {
    let mut response = server
        .agent
        .post(&format!("{}{path}", server.url))
        .header("Authorization", &format!("Bearer {tok}"))
        .header("Content-Type", "application/json")
        .send(body)
        .ok()?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().ok()?;
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("an answer that is not JSON ({e}): {status} {text}"));
    Some((status, value))
}

/// SIGKILLs the server process `pid` once `ready` holds.
fn kill_when(pid: u32, what: &str, ready: impl Fn() -> bool) {
    eventually(GENEROUS, what, ready);
    // SAFETY: the child is reaped only by its `Reaped` after this, so the pid still names it.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
}

/// Every job of `queue`, by the CLI.
fn all_jobs(env: &TestEnv, queue: &str) -> Vec<Job> {
    env.json(&["list", queue, "--limit", "0"])
}

/// The value of a series of a scrape (0 when it is not there).
fn metric(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

#[test]
fn enqueues_answered_201_survive_sigkill_exactly_once() {
    let mut rng = Rng::for_test("enqueues_answered_201_survive_sigkill_exactly_once");
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    // Every marker whose job (or batch) was answered 201, with the id it was given.
    let mut acked: HashMap<String, String> = HashMap::new();
    // Every batch sent, answered or not: its markers.
    let mut batches: Vec<Vec<String>> = Vec::new();
    for round in 0..KILLS {
        let mut server = Server::with_tokens(&env);
        let pid = server.process.child().id();
        let clients = 16 + rng.below(17) as usize;
        let kill_after = 10 + rng.below(150) as usize;
        println!("round {round}: {clients} clients, killed after {kill_after} answers");
        let answered = AtomicUsize::new(0);
        let stopped = AtomicUsize::new(0);
        let results = Mutex::new((Vec::new(), Vec::new()));
        thread::scope(|s| {
            for client in 0..clients {
                let mut rng = rng.fork();
                let (server, tok, answered, stopped, results) =
                    (&server, &tok, &answered, &stopped, &results);
                s.spawn(move || {
                    for n in 0..100_000 {
                        let base = format!("r{round}c{client}n{n}");
                        let markers: Vec<String> = match rng.percent(20) {
                            true => (0..3).map(|i| format!("{base}b{i}")).collect(),
                            false => vec![base],
                        };
                        let jobs: Vec<String> = markers
                            .iter()
                            .map(|m| format!(r#"{{"payload":{{"m":"{m}"}}}}"#))
                            .collect();
                        let body = match markers.len() {
                            1 => jobs[0].clone(),
                            _ => format!("[{}]", jobs.join(",")),
                        };
                        if markers.len() > 1 {
                            results.lock().unwrap().1.push(markers.clone());
                        }
                        let Some((status, made)) = attempt(server, "/v1/queues/f/jobs", tok, &body)
                        else {
                            break;
                        };
                        assert_eq!(status, 201, "{made}");
                        let made = match made.as_array() {
                            Some(items) => items.clone(),
                            None => vec![made],
                        };
                        let ids = made.iter().map(|j| j["id"].as_str().unwrap().to_string());
                        let mut results = results.lock().unwrap();
                        for (marker, id) in markers.into_iter().zip(ids) {
                            results.0.push((marker, id));
                        }
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    stopped.fetch_add(1, Ordering::SeqCst);
                });
            }
            kill_when(pid, "enough enqueues answered", || {
                answered.load(Ordering::SeqCst) >= kill_after
                    || stopped.load(Ordering::SeqCst) == clients
            });
        });
        server.process.kill();
        let (answers, sent) = results.into_inner().unwrap();
        acked.extend(answers);
        batches.extend(sent);
        check_enqueued(&env, &acked, &batches);
        println!("round {round}: {} jobs answered 201 so far", acked.len());
    }
    // A server started on what the killed ones left serves every job of it.
    let server = Server::with_tokens(&env);
    let stored: HashSet<String> = all_jobs(&env, "f").into_iter().map(|j| j.id).collect();
    let claimed = server
        .post("/v1/queues/f/claims", &tok, r#"{"count":10000}"#)
        .expect(200);
    let claimed: HashSet<String> = claimed
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(claimed, stored);
}

/// Every acknowledged job is stored once with what was sent; no marker is stored twice;
/// every batch is stored whole or not at all; the database is sound.
#[track_caller]
fn check_enqueued(env: &TestEnv, acked: &HashMap<String, String>, batches: &[Vec<String>]) {
    assert_intact(env);
    let jobs = all_jobs(env, "f");
    let mut by_marker: HashMap<String, Vec<String>> = HashMap::new();
    for job in &jobs {
        let marker = job.payload["m"].as_str().expect("a marker").to_string();
        by_marker.entry(marker).or_default().push(job.id.clone());
    }
    for (marker, ids) in &by_marker {
        assert_eq!(ids.len(), 1, "{marker} stored more than once: {ids:?}");
    }
    for (marker, id) in acked {
        assert_eq!(
            by_marker.get(marker),
            Some(&vec![id.clone()]),
            "{marker} was answered 201 as {id}"
        );
    }
    for batch in batches {
        let stored = batch.iter().filter(|m| by_marker.contains_key(*m)).count();
        assert!(
            stored == 0 || stored == batch.len(),
            "half a batch: {batch:?}"
        );
    }
    assert!(jobs.len() >= acked.len());
}

#[test]
fn claims_and_completions_survive_sigkill() {
    let mut rng = Rng::for_test("claims_and_completions_survive_sigkill");
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let total = 400;
    let lines: String = (0..total).map(|n| format!("{n}\n")).collect();
    env.cmd(["enqueue", "c", "--batch", "--max-retries", "1000"])
        .stdin(lines)
        .expect_status(0);
    // Each job whose completion was answered 200, as many times as it was.
    let mut completed: Vec<String> = Vec::new();
    for round in 0..KILLS {
        let mut server = Server::with_tokens(&env);
        let pid = server.process.child().id();
        let workers = 16 + rng.below(17) as usize;
        let kill_after = 5 + rng.below(60) as usize;
        println!("round {round}: {workers} workers, killed after {kill_after} completions");
        let done = Mutex::new(Vec::new());
        let stopped = AtomicUsize::new(0);
        thread::scope(|s| {
            for worker in 0..workers {
                let mut rng = rng.fork();
                let (server, tok, done, stopped) = (&server, &tok, &done, &stopped);
                s.spawn(move || {
                    work(server, tok, &format!("w{round}.{worker}"), &mut rng, done);
                    stopped.fetch_add(1, Ordering::SeqCst);
                });
            }
            kill_when(pid, "enough completions answered", || {
                done.lock().unwrap().len() >= kill_after
                    || stopped.load(Ordering::SeqCst) == workers
            });
        });
        server.process.kill();
        completed.extend(done.into_inner().unwrap());
        assert_intact(&env);
        let jobs = all_jobs(&env, "c");
        assert_eq!(jobs.len(), total, "no job lost");
        let status: HashMap<&str, &str> = jobs
            .iter()
            .map(|j| (j.id.as_str(), j.status.as_str()))
            .collect();
        for id in &completed {
            assert_eq!(status[id.as_str()], "done", "{id} was answered 200");
        }
        assert!(status.values().all(|s| *s != "dead"), "{status:?}");
    }
    let unique: HashSet<&String> = completed.iter().collect();
    assert_eq!(unique.len(), completed.len(), "a job completed twice");

    // What the last server held comes back once its claims time out.
    let held: Vec<Job> = all_jobs(&env, "c")
        .into_iter()
        .filter(|j| j.status == "claimed")
        .collect();
    println!(
        "{} completions answered 200, {} claims held by the last killed server",
        completed.len(),
        held.len()
    );
    let server = Server::with_tokens(&env);
    let mut drained = Vec::new();
    let mut looks = 0;
    while env.json::<Counts>(&["stats"]).done < total as u64 {
        looks += 1;
        assert!(looks < 100, "the jobs left never came back");
        let got = server
            .post(
                "/v1/queues/c/claims",
                &tok,
                r#"{"count":500,"wait":"60s","timeout":"10m"}"#,
            )
            .expect(200);
        for job in got.as_array().unwrap() {
            let id = job["id"].as_str().unwrap();
            let body = format!(r#"{{"claim":{}}}"#, job["claim"]);
            server
                .post(&format!("/v1/jobs/{id}/complete"), &tok, &body)
                .expect(200);
            drained.push(id.to_string());
        }
    }
    let drained: HashSet<String> = drained.into_iter().collect();
    assert!(
        drained.iter().all(|id| !unique.contains(id)),
        "completed twice"
    );
    for job in &held {
        assert!(drained.contains(&job.id), "{} never came back", job.id);
    }
    let scrape = server.get("/metrics", &tok).body;
    assert_eq!(
        metric(&scrape, r#"queueprim_expiries_total{queue="c"}"#),
        held.len() as f64,
        "{scrape}"
    );
}

/// One worker: claims a few jobs at a time and completes each, noting the completions
/// answered 200, until the queue has nothing claimable or the server is gone.
fn work(server: &Server, tok: &str, name: &str, rng: &mut Rng, done: &Mutex<Vec<String>>) {
    loop {
        let count = 1 + rng.below(3);
        let body = format!(r#"{{"worker":"{name}","timeout":"5s","count":{count}}}"#);
        let Some((status, jobs)) = attempt(server, "/v1/queues/c/claims", tok, &body) else {
            return;
        };
        assert_eq!(status, 200, "{jobs}");
        let jobs = jobs.as_array().unwrap();
        if jobs.is_empty() {
            return;
        }
        for job in jobs {
            let id = job["id"].as_str().unwrap();
            let body = format!(r#"{{"claim":{}}}"#, job["claim"]);
            let Some((status, answer)) =
                attempt(server, &format!("/v1/jobs/{id}/complete"), tok, &body)
            else {
                return;
            };
            match status {
                200 => done.lock().unwrap().push(id.to_string()),
                // The claim ran out on a slow machine and the job went to another worker.
                409 => {}
                _ => panic!("complete answered {status}: {answer}"),
            }
        }
    }
}

#[test]
fn a_long_poll_whose_client_went_away_claims_nothing() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    let address = server.url.trim_start_matches("http://").to_string();
    let body = r#"{"wait":"100s","worker":"gone"}"#;
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /v1/queues/away/claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    server.wait_for_waiting_claims(&tok, "away", 1);
    drop(stream);
    // The server noticed: nobody waits any more.
    eventually(GENEROUS, "the abandoned claim to stop waiting", || {
        !server
            .get("/metrics", &tok)
            .body
            .contains("queueprim_waiting_claims{queue=\"away\"}")
    });
    let job = env.enqueue("away", "1", &[]);
    let got: Job = env.json(&["get", &job.id]);
    assert_eq!(got.status, "pending");
    let claimed = server
        .post("/v1/queues/away/claims", &tok, r#"{"worker":"here"}"#)
        .expect(200);
    assert_eq!(claimed[0]["id"], job.id.as_str());
}

postgres_only! {
    #[test]
    fn serve_rides_out_a_database_server_restart() {
        use crate::support::postgres::private_cluster;
        let cluster = private_cluster();
        let env = TestEnv::on(&cluster);
        let tok = token(&env, "*", &[]);
        let server = Server::with_tokens(&env);
        let before = server
            .post("/v1/queues/other/jobs", &tok, r#"{"payload":1}"#)
            .expect(201);
        thread::scope(|s| {
            let across = s.spawn(|| {
                server.post("/v1/queues/q/claims", &tok, r#"{"wait":"100s","worker":"across"}"#)
            });
            server.wait_for_waiting_claims(&tok, "q", 1);
            cluster.stop();
            // Writes and reads alike are refused with the database named as the cause.
            server
                .post("/v1/queues/q/jobs", &tok, r#"{"payload":2}"#)
                .expect_error(503, "database");
            server
                .get(&format!("/v1/jobs/{}", before["id"].as_str().unwrap()), &tok)
                .expect_error(503, "database");
            server
                .call("GET", "/healthz", None, None)
                .expect_error(503, "database");
            cluster.start_again();
            // Working again at once, with no restart of its own.
            server.call("GET", "/healthz", None, None).expect(200);
            let after = server.post("/v1/queues/other/jobs", &tok, r#"{"payload":3}"#);
            assert_eq!(after.status, 201, "{}", server.log());
            let after = after.json();
            server
                .get(&format!("/v1/jobs/{}", after["id"].as_str().unwrap()), &tok)
                .expect(200);
            // The claim that waited through the outage takes a job another process enqueues.
            let job = env.enqueue("q", "4", &[]);
            let got = across.join().unwrap().expect(200);
            assert_eq!(got[0]["id"], job.id.as_str(), "{got}");
        });
        // The watcher listens again: a new waiting claim is woken by another process.
        eventually(GENEROUS, "the watcher to listen again", || {
            server.log().contains("hearing the wake-ups of waiting claims again")
        });
        thread::scope(|s| {
            let waiting = s.spawn(|| {
                server.post("/v1/queues/q/claims", &tok, r#"{"wait":"100s"}"#)
            });
            server.wait_for_waiting_claims(&tok, "q", 1);
            let job = env.enqueue("q", "5", &[]);
            let got = waiting.join().unwrap().expect(200);
            assert_eq!(got[0]["id"], job.id.as_str(), "{got}");
        });
        assert_eq!(env.json::<Counts>(&["stats"]).total, 4);
    }
}

/// Sends the head of a request now; its body is left for later.
fn send_head(address: &str, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(GENEROUS)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

/// Reads one answer's status line and headers (and a body of Content-Length), as text.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => answer.push(byte[0]),
            other => panic!(
                "the answer stopped ({other:?}) after {:?}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    let head = String::from_utf8_lossy(&answer).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

#[test]
fn sigterm_lets_requests_in_flight_finish_and_exits_0() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let mut server = Server::with_tokens(&env);
    let address = server.url.trim_start_matches("http://").to_string();
    // Requests whose bodies are still coming: each waits for the server's 100 Continue,
    // which says the request is in the server's hands.
    let mut in_flight: Vec<(TcpStream, String)> = (0..3)
        .map(|n| {
            let body = format!(r#"{{"payload":{{"n":{n}}}}}"#);
            let mut stream = send_head(
                &address,
                &format!(
                    "POST /v1/queues/t/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\
                     Expect: 100-continue\r\n\r\n",
                    body.len()
                ),
            );
            let go = read_answer(&mut stream);
            assert!(go.starts_with("HTTP/1.1 100"), "{go}");
            (stream, body)
        })
        .collect();
    crate::support::process::send_signal(server.process.child(), libc::SIGTERM);
    eventually(GENEROUS, "the server to stop accepting", || {
        server.log().contains("stopping")
    });
    let refused = TcpStream::connect(&address);
    assert!(
        refused.is_err(),
        "a new connection was accepted after SIGTERM"
    );
    for (stream, body) in &mut in_flight {
        stream.write_all(body.as_bytes()).unwrap();
        let answer = read_answer(stream);
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
    let Server { process, log, .. } = server;
    let done = process.finish(GENEROUS, "serve after SIGTERM");
    assert_eq!(done.code, Some(0), "{}", log.lock().unwrap());
    assert_eq!(env.json::<Counts>(&["stats"]).pending, 3);
}

#[test]
fn connections_past_the_cap_wait_to_be_served() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::start(&env, &["--max-connections", "2"]);
    let address = server.url.trim_start_matches("http://").to_string();
    let request =
        format!("GET /v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\r\n");
    // Two kept-alive connections take both places.
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = send_head(&address, &request);
            assert!(read_answer(&mut stream).starts_with("HTTP/1.1 200"));
            stream
        })
        .collect();
    // A third is let in by the kernel but not served...
    let mut third = send_head(&address, &request);
    // ...while the held ones still are.
    held[0].write_all(request.as_bytes()).unwrap();
    assert!(read_answer(&mut held[0]).starts_with("HTTP/1.1 200"));
    third.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let early = third.read(&mut byte);
    assert!(
        matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "served past the cap: {early:?}"
    );
    third.set_nonblocking(false).unwrap();
    // A place comes free: it is served, not refused.
    drop(held.remove(0));
    let answer = read_answer(&mut third);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::start(&env, &["--idle-timeout", "2s"]);
    let address = server.url.trim_start_matches("http://").to_string();
    let mut stream = send_head(
        &address,
        &format!("GET /v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\r\n"),
    );
    assert!(read_answer(&mut stream).starts_with("HTTP/1.1 200"));
    // This limit only catches a connection kept forever.
    stream.set_read_timeout(Some(GENEROUS)).unwrap();
    let mut rest = Vec::new();
    let closed = stream.read_to_end(&mut rest);
    assert!(
        matches!(closed, Ok(0)),
        "the idle connection was not closed: {closed:?} {rest:?}"
    );
}

#[test]
fn metrics_count_jobs_and_move_with_claims_completions_failures_and_expiries() {
    let env = TestEnv::new();
    let tok = token(&env, "*", &[]);
    let server = Server::with_tokens(&env);
    let scrape = || server.get("/metrics", &tok).body;
    let series = |name: &str| format!(r#"{name}{{queue="m"}}"#);
    let jobs = |status: &str| format!(r#"queueprim_jobs{{queue="m",status="{status}"}}"#);
    for n in 0..4 {
        server
            .post(
                "/v1/queues/m/jobs",
                &tok,
                &format!(r#"{{"payload":{n},"max_retries":5}}"#),
            )
            .expect(201);
    }
    let first = scrape();
    assert_eq!(metric(&first, &jobs("pending")), 4.0, "{first}");
    assert!(
        first.contains(&series("queueprim_oldest_pending_age_seconds")),
        "{first}"
    );
    assert_eq!(metric(&first, &series("queueprim_claims_total")), 0.0);

    let claim = |timeout: &str| {
        let got = server
            .post(
                "/v1/queues/m/claims",
                &tok,
                &format!(r#"{{"timeout":"{timeout}"}}"#),
            )
            .expect(200);
        serde_json::from_value::<Vec<Job>>(got).unwrap().remove(0)
    };
    let a = claim("10m");
    let b = claim("10m");
    let c = claim("1s");
    server
        .post(
            &format!("/v1/jobs/{}/complete", a.id),
            &tok,
            &format!(r#"{{"claim":"{}"}}"#, a.claim.unwrap()),
        )
        .expect(200);
    server
        .post(
            &format!("/v1/jobs/{}/fail", b.id),
            &tok,
            &format!(r#"{{"claim":"{}"}}"#, b.claim.unwrap()),
        )
        .expect(200);
    // c's claim runs out; the next claim on the queue releases it.
    sleep_past(c.claim_deadline.as_deref().unwrap());
    claim("10m");
    let second = scrape();
    assert_eq!(
        metric(&second, &series("queueprim_claims_total")),
        4.0,
        "{second}"
    );
    assert_eq!(
        metric(&second, &series("queueprim_completions_total")),
        1.0,
        "{second}"
    );
    assert_eq!(
        metric(&second, &series("queueprim_failures_total")),
        1.0,
        "{second}"
    );
    assert_eq!(
        metric(&second, &series("queueprim_expiries_total")),
        1.0,
        "{second}"
    );
    assert_eq!(metric(&second, &jobs("done")), 1.0, "{second}");
    assert_eq!(metric(&second, &jobs("claimed")), 1.0, "{second}");
    assert_eq!(metric(&second, &jobs("pending")), 2.0, "{second}");

    // Nothing claimable (what failed or expired may wait out a backoff): no oldest
    // pending age for the queue.
    loop {
        let got = server
            .post(
                "/v1/queues/m/claims",
                &tok,
                r#"{"count":10,"timeout":"10m"}"#,
            )
            .expect(200);
        if got.as_array().unwrap().is_empty() {
            break;
        }
    }
    let third = scrape();
    assert!(
        !third.contains(&series("queueprim_oldest_pending_age_seconds")),
        "{third}"
    );
    assert_eq!(
        server.call("GET", "/healthz", None, None).expect(200),
        serde_json::json!({"ok": true})
    );
}

postgres_only! {
    /// A group commit that PostgreSQL ends to break a deadlock runs again, and its callers
    /// hear how it went the second time, not a 503. Forced, not hoped for: the test's own
    /// transaction holds the next job of a group, so completing the group's live job waits
    /// for it, then asks for the live job itself. With its deadlock_timeout far longer than
    /// the server's, it is the server's transaction that PostgreSQL ends.
    #[test]
    fn a_group_commit_ended_by_a_deadlock_runs_again() {
        use crate::support::postgres::Session;
        let env = TestEnv::new();
        let tok = token(&env, "*", &[]);
        let live = env.enqueue("q", "1", &["--group", "g"]);
        let next = env.enqueue("q", "2", &["--group", "g"]);
        let claimed = env.dequeue("q", &[]);
        assert_eq!(claimed.id, live.id);
        let server = Server::start_cmd(
            env.cmd(["serve", "--listen", "127.0.0.1:0"])
                .env("QUEUEPRIM_DB", env.db_arg_as("serve-deadlock")),
        );
        let schema = env.schema().expect("a PostgreSQL schema");
        let mut holder = Session::open();
        let mut watcher = Session::open();
        holder
            .0
            .batch_execute(&format!(
                "SET deadlock_timeout = '60s'; BEGIN; \
                 UPDATE {schema}.jobs SET priority = priority WHERE id = '{}'",
                next.id
            ))
            .unwrap();
        thread::scope(|s| {
            let complete = s.spawn(|| {
                server.post(
                    &format!("/v1/jobs/{}/complete", live.id),
                    &tok,
                    &format!(r#"{{"claim":"{}"}}"#, claimed.claim.as_deref().unwrap()),
                )
            });
            // The complete has marked the live job done and waits for the next one.
            eventually(GENEROUS, "the server's complete to wait for the held job", || {
                watcher.waits("serve-deadlock", "transactionid")
            });
            // Waits in turn for the live job: a deadlock, which the server's side detects
            // first and is ended for. This returns once that transaction is rolled back.
            holder
                .0
                .batch_execute(&format!(
                    "UPDATE {schema}.jobs SET priority = priority WHERE id = '{}'",
                    live.id
                ))
                .unwrap();
            holder.0.batch_execute("ROLLBACK").unwrap();
            let done = complete.join().unwrap();
            assert_eq!(done.status, 200, "{}", server.log());
        });
        assert_eq!(env.json::<Job>(&["get", &live.id]).status, "done");
        assert_eq!(env.dequeue("q", &[]).id, next.id, "the group went on");
    }
}

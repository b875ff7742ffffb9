//! `queueprim serve` over real HTTP: a server process per test on a free port, on this
//! binary's engine, and a plain HTTP client. `api` covers the routes and their errors,
//! `tenants` tries to cross from one tenant to another as an attacker would, `running`
//! covers waiting claims, group commit, shutdown, tokens and the access log, `faults` the
//! server killed under load, the database server restarted under it, its limits and its
//! metrics.

mod api;
mod faults;
mod running;
mod tenants;
mod together;

use std::io::{BufRead, BufReader};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::harness::TestEnv;
use crate::support::process::{send_signal, Finished, Reaped};
use crate::support::wait::{eventually, GENEROUS};

/// A running `queueprim serve`, killed if the test ends without stopping it.
pub struct Server {
    process: Reaped,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// Everything it wrote to stderr so far.
    log: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "answer: {}", self.body);
        self.json()
    }

    /// Asserts a JSON error of this status and kind, and returns its message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, kind: &str) -> String {
        let body = self.expect(status);
        assert_eq!(body["error"]["kind"], kind, "{}", self.body);
        body["error"]["message"].as_str().unwrap().to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Server {
    /// Starts `serve` with `args` on a free port, and waits until it listens.
    pub fn start(env: &TestEnv, args: &[&str]) -> Server {
        Server::start_cmd(env.cmd(["serve", "--listen", "127.0.0.1:0"]).args(args))
    }

    /// Starts `command` (a `serve` on port 0 set up as the test needs), and waits until it
    /// listens.
    pub fn start_cmd(command: crate::harness::Cmd) -> Server {
        let mut process = Reaped::new(command.spawn());
        let stderr = process.child().stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (listening, address) = mpsc::channel();
        let kept = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.split("listening on ").nth(1) {
                    let _ = listening.send(at.trim().to_string());
                }
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let url = match address.recv_timeout(GENEROUS) {
            Ok(url) => url,
            Err(_) => panic!(
                "serve did not say where it listens:\n{}",
                log.lock().unwrap()
            ),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(180)))
            .build()
            .into();
        Server {
            process,
            url,
            log,
            agent,
        }
    }

    /// Starts `serve` with tokens required.
    pub fn with_tokens(env: &TestEnv) -> Server {
        Server::start(env, &[])
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends a request; `token` as a bearer token, `body` as the body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let url = format!("{}{path}", self.url);
        let auth = token.map(|t| format!("Bearer {t}"));
        macro_rules! with_auth {
            ($request:expr) => {{
                let request = $request;
                match &auth {
                    Some(auth) => request.header("Authorization", auth),
                    None => request,
                }
            }};
        }
        let body = body.unwrap_or("");
        let result = match method {
            "GET" => with_auth!(self.agent.get(&url)).call(),
            "DELETE" => with_auth!(self.agent.delete(&url)).call(),
            "POST" => with_auth!(self.agent.post(&url))
                .header("Content-Type", "application/json")
                .send(body),
            "PATCH" => with_auth!(self.agent.patch(&url))
                .header("Content-Type", "application/json")
                .send(body),
            other => panic!("no such method in these tests: {other}"),
        };
        let mut response =
            result.unwrap_or_else(|e| panic!("{method} {path} failed: {e}\n{}", self.log()));
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        Answer {
            status: response.status().as_u16(),
            body: response
                .body_mut()
                .with_config()
                .limit(64 * 1024 * 1024)
                .read_to_string()
                .expect("a body"),
            headers,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Answer {
        self.call("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: &str) -> Answer {
        self.call("POST", path, Some(token), Some(body))
    }

    /// Waits until `n` claims wait on `queue` (as /metrics counts them).
    pub fn wait_for_waiting_claims(&self, token: &str, queue: &str, n: usize) {
        let line = format!("queueprim_waiting_claims{{queue=\"{queue}\"}} {n}\n");
        eventually(GENEROUS, &format!("{n} claims waiting on {queue}"), || {
            self.get("/metrics", token).body.contains(&line)
        });
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn stop(mut self) -> Finished {
        send_signal(self.process.child(), libc::SIGTERM);
        let done = self.process.finish(GENEROUS, "serve after SIGTERM");
        Finished {
            stderr: self.log.lock().unwrap().clone(),
            ..done
        }
    }
}

/// A token reaching `patterns`, made with the CLI.
pub fn token(env: &TestEnv, patterns: &str, extra: &[&str]) -> String {
    let mut args = vec!["token", "create", "--queues", patterns];
    args.extend_from_slice(extra);
    let made: Value = env.json(&args);
    made["token"].as_str().expect("a token").to_string()
}

/// A queue name as a path segment.
pub fn encoded(queue: &str) -> String {
    queue.replace('/', "%2F").replace(':', "%3A")
}

//! Load test of `queueprim serve` on loopback, behind BENCHMARKS.md's "HTTP" section:
//! requests/s and p50/p99 latency for enqueue and for claim + complete, with 1 and 32
//! clients (threads with keep-alive connections), against the CLI doing the same and
//! against one-row durable SQLite transactions, all measured in one run, round by round;
//! then how soon a waiting claim wakes for another process's enqueue, and what 200 idle
//! long-polls cost the server. `cargo bench --bench serve`; `BENCH_QUICK=1` for a smoke run.

// A benchmark harness fails loudly on a broken setup and indexes what it built itself:
// the product's lints against panics (Cargo.toml [lints]) are for the shipped code.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const QP: &str = env!("CARGO_BIN_EXE_queueprim");

struct Plan {
    rounds: usize,
    /// Requests per measurement of the HTTP API.
    requests: usize,
    /// Commands per measurement of the CLI.
    commands: usize,
    /// One-row transactions per baseline measurement.
    transactions: usize,
    wakeups: usize,
    idle_waiters: usize,
    idle_for: Duration,
}

fn plan() -> Plan {
    if std::env::var_os("BENCH_QUICK").is_some() {
        Plan {
            rounds: 1,
            requests: 320,
            commands: 32,
            transactions: 200,
            wakeups: 3,
            idle_waiters: 20,
            idle_for: Duration::from_secs(1),
        }
    } else {
        Plan {
            rounds: 5,
            requests: 6_400,
            commands: 320,
            transactions: 3_000,
            wakeups: 21,
            idle_waiters: 200,
            idle_for: Duration::from_secs(10),
        }
    }
}

/// A rate and the latencies behind it.
#[derive(Clone, Copy, Default)]
struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn figures(count: usize, wall: Duration, mut latencies: Vec<Duration>) -> Figures {
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        per_second: count as f64 / wall.as_secs_f64(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn median_figures(all: &[Figures]) -> Figures {
    Figures {
        per_second: median(all.iter().map(|f| f.per_second).collect()),
        p50_ms: median(all.iter().map(|f| f.p50_ms).collect()),
        p99_ms: median(all.iter().map(|f| f.p99_ms).collect()),
    }
}

/// A running server on a fresh database.
struct Server {
    child: Child,
    url: String,
    token: String,
    db: PathBuf,
}

impl Server {
    fn start(dir: &Path, name: &str) -> Server {
        let db = dir.join(format!("{name}.db"));
        let made: Value = json_of(
            Command::new(QP)
                .env("QUEUEPRIM_DB", &db)
                .args(["token", "create", "--queues", "*"]),
        );
        let mut child = Command::new(QP)
            .env("QUEUEPRIM_DB", &db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let stderr = child.stderr.take().unwrap();
        let (tell, told) = mpsc::channel();
        // Reads the access log away as fast as it comes, as a log collector would.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.split("listening on ").nth(1) {
                    let _ = tell.send(at.trim().to_string());
                }
            }
        });
        let url = told
            .recv_timeout(Duration::from_secs(30))
            .expect("serve listens");
        Server {
            child,
            url,
            token: made["token"].as_str().unwrap().to_string(),
            db,
        }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    fn post(&self, agent: &ureq::Agent, path: &str, body: &str) -> (u16, String) {
        let mut response = agent
            .post(&format!("{}{path}", self.url))
            .header("Authorization", &format!("Bearer {}", self.token))
            .send(body)
            .expect("a request");
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own unreaped child; no memory effects.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn json_of(command: &mut Command) -> Value {
    let out = command.output().expect("run queueprim");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Runs `each` from `clients` threads until `total` calls are made; wall time and every
/// call's latency.
fn load(clients: usize, total: usize, each: impl Fn(usize) + Sync) -> (Duration, Vec<Duration>) {
    let per_client = total / clients;
    let started = Instant::now();
    let latencies: Vec<Duration> = thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let each = &each;
                s.spawn(move || {
                    (0..per_client)
                        .map(|_| {
                            let t = Instant::now();
                            each(client);
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    (started.elapsed(), latencies)
}

fn http_enqueue(server: &Server, clients: usize, total: usize) -> Figures {
    let agents: Vec<ureq::Agent> = (0..clients).map(|_| Server::agent()).collect();
    let (wall, latencies) = load(clients, total, |client| {
        let (status, body) = server.post(
            &agents[client],
            "/v1/queues/bench/jobs",
            r#"{"payload":{"n":1}}"#,
        );
        assert_eq!(status, 201, "{body}");
    });
    figures(total, wall, latencies)
}

fn http_claim_complete(server: &Server, clients: usize, total: usize) -> Figures {
    seed(&server.db, "work", total);
    let agents: Vec<ureq::Agent> = (0..clients).map(|_| Server::agent()).collect();
    let (wall, latencies) = load(clients, total, |client| {
        let agent = &agents[client];
        let (status, body) = server.post(agent, "/v1/queues/work/claims", r#"{"worker":"bench"}"#);
        assert_eq!(status, 200, "{body}");
        let jobs: Value = serde_json::from_str(&body).unwrap();
        let job = &jobs[0];
        let path = format!(
            "/v1/jobs/{}/complete",
            job["id"].as_str().expect("a job to claim")
        );
        let claim = format!(r#"{{"claim":"{}"}}"#, job["claim"].as_str().unwrap());
        assert_eq!(server.post(agent, &path, &claim).0, 200);
    });
    figures(total, wall, latencies)
}

/// `count` pending jobs in `queue`, in one batch.
fn seed(db: &Path, queue: &str, count: usize) {
    let lines: String = (0..count).map(|n| format!("{n}\n")).collect();
    let mut child = Command::new(QP)
        .env("QUEUEPRIM_DB", db)
        .args(["enqueue", queue, "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), lines.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

fn cli(db: &Path, args: &[&str]) -> String {
    let out = Command::new(QP)
        .env("QUEUEPRIM_DB", db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cli_enqueue(db: &Path, clients: usize, total: usize) -> Figures {
    let (wall, latencies) = load(clients, total, |_| {
        cli(db, &["enqueue", "bench", "--payload", r#"{"n":1}"#]);
    });
    figures(total, wall, latencies)
}

fn cli_claim_complete(db: &Path, clients: usize, total: usize) -> Figures {
    seed(db, "work", total);
    let (wall, latencies) = load(clients, total, |_| {
        let job: Value =
            serde_json::from_str(&cli(db, &["dequeue", "work", "--worker", "bench"])).unwrap();
        cli(
            db,
            &[
                "complete",
                job["id"].as_str().unwrap(),
                "--claim",
                job["claim"].as_str().unwrap(),
            ],
        );
    });
    figures(total, wall, latencies)
}

/// One-row durable write transactions on queueprim's schema, one after another.
fn raw_transactions(db: &Path, count: usize) -> Figures {
    // Creates the database with queueprim's schema.
    cli(db, &["enqueue", "raw", "--payload", "0"]);
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    let mut latencies = Vec::with_capacity(count);
    let started = Instant::now();
    for n in 0..count {
        let t = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.execute(
            "INSERT INTO jobs (id, queue, payload, status, visible_after, created_at, updated_at) \
             VALUES (?1, 'raw', '{\"n\":1}', 'pending', 0, 0, 0)",
            [format!("q_raw{n}x{}", started.elapsed().as_nanos())],
        )
        .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        latencies.push(t.elapsed());
    }
    figures(count, started.elapsed(), latencies)
}

/// Milliseconds from an enqueue by another process to the claim of a waiting request, by
/// queueprim's own timestamps (the job's `created_at` and its claim's `updated_at`).
fn wakeups(server: &Server, rounds: usize) -> Vec<f64> {
    let agent = Server::agent();
    (0..rounds)
        .map(|_| {
            let waiting = thread::scope(|s| {
                let claim =
                    s.spawn(|| server.post(&agent, "/v1/queues/wake/claims", r#"{"wait":"60s"}"#));
                wait_for_waiters(server, "wake", 1);
                cli(&server.db, &["enqueue", "wake", "--payload", "1"]);
                claim.join().unwrap()
            });
            let jobs: Value = serde_json::from_str(&waiting.1).unwrap();
            let job = &jobs[0];
            let ms = |field: &str| {
                let t = humantime::parse_rfc3339(job[field].as_str().unwrap()).unwrap();
                t.duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64()
                    * 1000.0
            };
            ms("updated_at") - ms("created_at")
        })
        .collect()
}

fn wait_for_waiters(server: &Server, queue: &str, n: usize) {
    let agent = Server::agent();
    let line = format!("queueprim_waiting_claims{{queue=\"{queue}\"}} {n}\n");
    let started = Instant::now();
    loop {
        let mut response = agent
            .get(&format!("{}/metrics", server.url))
            .header("Authorization", &format!("Bearer {}", server.token))
            .call()
            .unwrap();
        if response
            .body_mut()
            .read_to_string()
            .unwrap()
            .contains(&line)
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "waiters did not start"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The server's CPU time (user + system), from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat: 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Duration::from_secs_f64(ticks as f64 / per_second)
}

/// Share of one core the server spends while `waiters` claims wait on an empty queue.
fn idle_cost(server: &Server, waiters: usize, window: Duration) -> f64 {
    let agents: Vec<ureq::Agent> = (0..waiters).map(|_| Server::agent()).collect();
    thread::scope(|s| {
        for agent in &agents {
            s.spawn(move || server.post(agent, "/v1/queues/idle/claims", r#"{"wait":"120s"}"#));
        }
        wait_for_waiters(server, "idle", waiters);
        let before = cpu_time(server.pid());
        let started = Instant::now();
        thread::sleep(window);
        let share =
            (cpu_time(server.pid()) - before).as_secs_f64() / started.elapsed().as_secs_f64();
        // Ends the waits: the server answers them [] as it stops.
        // SAFETY: kill(2) on our own child; no memory effects.
        unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGTERM) };
        share
    })
}

fn row(what: &str, f: Figures, base: f64) {
    println!(
        "| {what} | {:.0} | {:.2} | {:.2} | {:.2}x |",
        f.per_second,
        f.p50_ms,
        f.p99_ms,
        f.per_second / base
    );
}

fn main() {
    let plan = plan();
    let dir = tempfile::tempdir().unwrap();
    let (mut raw, mut enq1, mut enq32, mut cc1, mut cc32) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut cli_enq, mut cli_cc) = (vec![], vec![]);
    for round in 0..plan.rounds {
        let name = |what: &str| format!("{what}{round}");
        let db = dir.path().join(name("raw.db"));
        raw.push(raw_transactions(&db, plan.transactions));
        {
            let server = Server::start(dir.path(), &name("http"));
            enq1.push(http_enqueue(&server, 1, plan.requests / 8));
            enq32.push(http_enqueue(&server, 32, plan.requests));
            cc1.push(http_claim_complete(&server, 1, plan.requests / 8));
            cc32.push(http_claim_complete(&server, 32, plan.requests));
        }
        let db = dir.path().join(name("cli.db"));
        cli_enq.push(cli_enqueue(&db, 32, plan.commands));
        cli_cc.push(cli_claim_complete(&db, 32, plan.commands));
        eprintln!("round {} of {} done", round + 1, plan.rounds);
    }
    let raw = median_figures(&raw);
    println!(
        "## HTTP: enqueue and claim + complete ({} rounds, medians)\n",
        plan.rounds
    );
    println!("| what | per second | p50 ms | p99 ms | vs raw durable transactions |");
    println!("|---|---|---|---|---|");
    row(
        "one-row durable SQLite transactions, one after another (baseline)",
        raw,
        raw.per_second,
    );
    row(
        "HTTP enqueue, 1 client",
        median_figures(&enq1),
        raw.per_second,
    );
    row(
        "HTTP enqueue, 32 clients",
        median_figures(&enq32),
        raw.per_second,
    );
    row(
        "CLI enqueue, 32 processes at a time",
        median_figures(&cli_enq),
        raw.per_second,
    );
    row(
        "HTTP claim + complete, 1 client (pairs)",
        median_figures(&cc1),
        raw.per_second,
    );
    row(
        "HTTP claim + complete, 32 clients (pairs)",
        median_figures(&cc32),
        raw.per_second,
    );
    row(
        "CLI dequeue + complete, 32 at a time (pairs)",
        median_figures(&cli_cc),
        raw.per_second,
    );
    let enqueue_ratio = median_figures(&enq32).per_second / median_figures(&cli_enq).per_second;
    let pair_ratio = median_figures(&cc32).per_second / median_figures(&cli_cc).per_second;
    println!("\nHTTP ÷ CLI with 32 at a time: enqueue {enqueue_ratio:.1}x, claim + complete {pair_ratio:.1}x");

    let server = Server::start(dir.path(), "wake");
    let mut woke = wakeups(&server, plan.wakeups);
    woke.sort_by(f64::total_cmp);
    println!(
        "\nWake-up, enqueue by another process to claim by a waiting request ({} rounds): median {:.0} ms, max {:.0} ms",
        woke.len(),
        median(woke.clone()),
        woke.last().copied().unwrap_or(0.0)
    );
    let share = idle_cost(&server, plan.idle_waiters, plan.idle_for);
    println!(
        "Idle cost: {} waiting claims for {:?}: {:.2}% of one core",
        plan.idle_waiters,
        plan.idle_for,
        share * 100.0
    );
}

//! Load test of `queueprim serve` on loopback, behind BENCHMARKS.md's "HTTP" section, on
//! SQLite and on a throwaway PostgreSQL server: requests/s and p50/p99 latency for enqueue
//! and for claim + complete, with 1 and 32 clients (keep-alive connections driven from one
//! event loop, as wrk drives them),
//! against the CLI doing the same and against one-row durable transactions on the same
//! engine, all measured in one run, round by round; then how soon a waiting claim wakes
//! for another process's enqueue, and what 200 idle long-polls cost. `cargo bench --bench
//! serve`; `BENCH_QUICK=1` for a smoke run; `PG_BIN` names the PostgreSQL server binaries'
//! folder when they are not in /usr/lib/postgresql/*/bin.

// A benchmark harness fails loudly on a broken setup and indexes what it built itself:
// the product's lints against panics (Cargo.toml [lints]) are for the shipped code.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used
)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
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

/// A throwaway PostgreSQL cluster: initdb and postgres in a temporary folder owned by the
/// server's user, durable as a production server is (`fsync` and `synchronous_commit` on,
/// the defaults), reachable only through a Unix socket in that folder.
struct Cluster {
    dir: PathBuf,
    /// The shell that runs the server. When its stdin closes, as the harness ends however
    /// it ends (a panic, an abort or Ctrl-C included), it stops the server and removes the
    /// folder.
    keeper: Child,
}

/// The database every schema of the benchmark lives in.
const DATABASE: &str = "bench";

impl Cluster {
    fn start() -> Cluster {
        let bin = server_bin();
        let dir = tempfile::Builder::new()
            .prefix("queueprim-bench-pg-")
            .tempdir()
            .unwrap()
            .keep();
        let as_owner = server_user(&dir);
        let initdb = in_shell(&format!(
            "{as_owner} '{}' -D '{}/data' -U postgres -A trust -E UTF8 --locale=C --no-sync \
             --no-instructions",
            bin.join("initdb").display(),
            dir.display()
        ))
        .current_dir(&dir)
        .output()
        .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        // Sized as bench/common.sh's pg_start: enough connections for 32 CLI processes and
        // the server's pool at once.
        let script = format!(
            "{as_owner} '{postgres}' -D '{dir}/data' -k '{dir}' -c listen_addresses='' \
             -c max_connections=200 -c shared_buffers=256MB >>'{dir}/server.log' 2>&1 & \
             pid=$!; cat >/dev/null; kill -INT $pid; wait $pid; rm -rf '{dir}'",
            postgres = bin.join("postgres").display(),
            dir = dir.display()
        );
        let keeper = in_shell(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Out of the terminal's process group, so that Ctrl-C ends the harness and the
            // keeper then stops the server, rather than both dying at once.
            .process_group(0)
            .spawn()
            .expect("start the PostgreSQL server");
        let cluster = Cluster { dir, keeper };
        let mut admin = cluster.connect("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .unwrap();
        cluster
    }

    /// A connection to `database`, once the server takes them.
    fn connect(&self, database: &str) -> postgres::Client {
        let started = Instant::now();
        loop {
            match postgres::Config::new()
                .host_path(&self.dir)
                .user("postgres")
                .dbname(database)
                .connect(postgres::NoTls)
            {
                Ok(client) => return client,
                Err(e) => assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the PostgreSQL server did not start: {e}\n{}",
                    std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
                ),
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// queueprim's URL for `schema` in the benchmark's database, over the Unix socket.
    fn url(&self, schema: &str) -> String {
        format!(
            "postgresql:///{DATABASE}?host={}&user=postgres&schema={schema}",
            self.dir.display()
        )
    }

    /// CPU time of the server's processes (the postmaster and its children), from /proc.
    fn cpu_time(&self) -> Duration {
        let pid_file = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap();
        let postmaster: u32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
        let children = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| stat_fields(pid).is_some_and(|f| f[1] == postmaster.to_string()));
        std::iter::once(postmaster)
            .chain(children)
            .map(|pid| stat_fields(pid).map_or(Duration::ZERO, |f| cpu_of(&f)))
            .sum()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        drop(self.keeper.stdin.take());
        let _ = self.keeper.wait();
    }
}

/// Where the PostgreSQL server binaries are: `PG_BIN`, or the newest of Debian's.
fn server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PG_BIN") {
        return PathBuf::from(bin);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort_by_key(|bin| {
        let version = bin.parent().and_then(|v| v.file_name());
        version.and_then(|v| v.to_str()?.parse::<u32>().ok())
    });
    found.pop().expect(
        "bench: PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BIN)",
    )
}

/// The prefix that runs a command as the server's user: as root, the `postgres` user (initdb
/// and postgres refuse root), who then owns `dir`; otherwise nothing.
fn server_user(dir: &Path) -> &'static str {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return "";
    }
    let chowned = Command::new("chown")
        .arg("postgres:")
        .arg(dir)
        .status()
        .expect("run chown");
    assert!(
        chowned.success(),
        "cannot hand {} to the postgres user",
        dir.display()
    );
    "setpriv --reuid=postgres --regid=postgres --init-groups"
}

fn in_shell(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

/// Where a measurement's queues live.
enum Engine {
    /// Files in the scratch folder.
    Sqlite(PathBuf),
    /// Schemas on the throwaway server.
    Postgres(Cluster),
}

impl Engine {
    fn name(&self) -> &'static str {
        match self {
            Engine::Sqlite(_) => "SQLite",
            Engine::Postgres(_) => "PostgreSQL",
        }
    }

    /// `--db` for a fresh database called `name`: a file, or a schema of its own.
    fn db(&self, name: &str) -> String {
        match self {
            Engine::Sqlite(dir) => dir.join(format!("{name}.db")).display().to_string(),
            Engine::Postgres(cluster) => cluster.url(name),
        }
    }

    /// CPU time of the database server, when there is one.
    fn server_cpu_time(&self) -> Option<Duration> {
        match self {
            Engine::Sqlite(_) => None,
            Engine::Postgres(cluster) => Some(cluster.cpu_time()),
        }
    }
}

/// A running server on a fresh database.
struct Server {
    child: Child,
    url: String,
    token: String,
    db: String,
}

impl Server {
    fn start(db: String) -> Server {
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

/// One keep-alive connection of the load client.
struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
    auth: String,
}

impl Conn {
    async fn open(server: &Server) -> Conn {
        let host = server.url.trim_start_matches("http://").to_string();
        let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::task::spawn_local(connection);
        Conn {
            send,
            host,
            auth: format!("Bearer {}", server.token),
        }
    }

    async fn post(&mut self, path: &str, body: &str) -> (u16, Bytes) {
        let request = hyper::Request::post(path)
            .header("host", &self.host)
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .unwrap();
        self.send
            .ready()
            .await
            .expect("the connection takes a request");
        let response = self.send.send_request(request).await.expect("a request");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    }
}

/// Runs `each` over `clients` keep-alive connections until `total` calls are made; wall
/// time and every call's latency. The connections share one thread's event loop, as wrk's
/// do: threads with blocking clients cost more CPU than the server they load, on a machine
/// whose cores the two share, and would measure the client.
fn load_http(
    server: &Server,
    clients: usize,
    total: usize,
    each: impl AsyncFn(&mut Conn),
) -> (Duration, Vec<Duration>) {
    let per_client = total / clients;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&runtime, async {
        let mut conns = Vec::with_capacity(clients);
        for _ in 0..clients {
            conns.push(Conn::open(server).await);
        }
        let each = &each;
        let started = Instant::now();
        let runs = conns.into_iter().map(|mut conn| async move {
            let mut latencies = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                let t = Instant::now();
                each(&mut conn).await;
                latencies.push(t.elapsed());
            }
            latencies
        });
        let latencies = futures_util::future::join_all(runs).await;
        (started.elapsed(), latencies.into_iter().flatten().collect())
    })
}

fn http_enqueue(server: &Server, clients: usize, total: usize) -> Figures {
    let (wall, latencies) = load_http(server, clients, total, async |conn: &mut Conn| {
        let (status, body) = conn
            .post("/v1/queues/bench/jobs", r#"{"payload":{"n":1}}"#)
            .await;
        assert_eq!(status, 201, "{body:?}");
    });
    figures(total, wall, latencies)
}

fn http_claim_complete(server: &Server, clients: usize, total: usize) -> Figures {
    seed(&server.db, "work", total);
    let (wall, latencies) = load_http(server, clients, total, async |conn: &mut Conn| {
        let (status, body) = conn
            .post("/v1/queues/work/claims", r#"{"worker":"bench"}"#)
            .await;
        assert_eq!(status, 200, "{body:?}");
        let jobs: Value = serde_json::from_slice(&body).unwrap();
        let job = &jobs[0];
        let path = format!(
            "/v1/jobs/{}/complete",
            job["id"].as_str().expect("a job to claim")
        );
        let claim = format!(r#"{{"claim":"{}"}}"#, job["claim"].as_str().unwrap());
        assert_eq!(conn.post(&path, &claim).await.0, 200);
    });
    figures(total, wall, latencies)
}

/// `count` pending jobs in `queue`, in one batch.
fn seed(db: &str, queue: &str, count: usize) {
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

fn cli(db: &str, args: &[&str]) -> String {
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

fn cli_enqueue(db: &str, clients: usize, total: usize) -> Figures {
    let (wall, latencies) = load(clients, total, |_| {
        cli(db, &["enqueue", "bench", "--payload", r#"{"n":1}"#]);
    });
    figures(total, wall, latencies)
}

fn cli_claim_complete(db: &str, clients: usize, total: usize) -> Figures {
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

/// The baseline's connection: one-row durable write transactions one after another, over
/// one connection kept open for the whole run, as the server's connections are.
enum Baseline {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client, postgres::Statement),
}

impl Baseline {
    /// On SQLite as `cli.rs` measures them (a one-column table, WAL, synchronous=FULL, the
    /// statement prepared once), starting with a WAL that has been filled and restarted
    /// once: a WAL file that is still growing costs a metadata sync per commit, which the
    /// server's long-lived WAL does not pay either. On PostgreSQL BEGIN, an INSERT prepared
    /// once and COMMIT into a one-column table of its own schema on the same server,
    /// warmed the same way.
    fn open(engine: &Engine) -> Baseline {
        let mut baseline = match engine {
            Engine::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.join("raw.db")).unwrap();
                conn.execute_batch(
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (n INTEGER);",
                )
                .unwrap();
                Baseline::Sqlite(conn)
            }
            Engine::Postgres(cluster) => {
                let mut client = cluster.connect(DATABASE);
                client
                    .batch_execute("CREATE SCHEMA raw; CREATE TABLE raw.t (n integer)")
                    .unwrap();
                let insert = client.prepare("INSERT INTO raw.t VALUES ($1)").unwrap();
                Baseline::Postgres(client, insert)
            }
        };
        baseline.run(1_200);
        baseline
    }

    fn label(&self) -> &'static str {
        match self {
            Baseline::Sqlite(_) => {
                "one-row durable SQLite transactions, one after another (baseline)"
            }
            Baseline::Postgres(..) => {
                "one-row durable PostgreSQL INSERT transactions, one after another over one connection (baseline)"
            }
        }
    }

    fn run(&mut self, count: usize) -> Figures {
        let mut latencies = Vec::with_capacity(count);
        let started = Instant::now();
        for n in 0..count {
            let t = Instant::now();
            self.one(n as i32);
            latencies.push(t.elapsed());
        }
        figures(count, started.elapsed(), latencies)
    }

    fn one(&mut self, n: i32) {
        match self {
            Baseline::Sqlite(conn) => {
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                conn.prepare_cached("INSERT INTO t VALUES (?1)")
                    .unwrap()
                    .execute([n])
                    .unwrap();
                conn.execute_batch("COMMIT").unwrap();
            }
            Baseline::Postgres(client, insert) => {
                let mut tx = client.transaction().unwrap();
                tx.execute(&*insert, &[&n]).unwrap();
                tx.commit().unwrap();
            }
        }
    }
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

/// The fields of /proc/PID/stat after the process's name (the state first, then the
/// parent's pid), or None when the process is gone.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// CPU time (user + system) from a process's stat fields.
fn cpu_of(fields: &[String]) -> Duration {
    // utime and stime are fields 14 and 15 of stat: 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Duration::from_secs_f64(ticks as f64 / per_second)
}

fn cpu_time(pid: u32) -> Duration {
    cpu_of(&stat_fields(pid).expect("the server runs"))
}

/// Shares of one core that `serve`, and the database server if there is one, spend while
/// `waiters` claims wait on an empty queue.
fn idle_cost(
    engine: &Engine,
    server: &Server,
    waiters: usize,
    window: Duration,
) -> (f64, Option<f64>) {
    let agents: Vec<ureq::Agent> = (0..waiters).map(|_| Server::agent()).collect();
    thread::scope(|s| {
        for agent in &agents {
            s.spawn(move || server.post(agent, "/v1/queues/idle/claims", r#"{"wait":"120s"}"#));
        }
        wait_for_waiters(server, "idle", waiters);
        let before = (cpu_time(server.pid()), engine.server_cpu_time());
        let started = Instant::now();
        thread::sleep(window);
        let (serve, database) = (cpu_time(server.pid()), engine.server_cpu_time());
        let elapsed = started.elapsed().as_secs_f64();
        let share = |spent: Duration| spent.as_secs_f64() / elapsed;
        let database = database
            .zip(before.1)
            .map(|(after, was)| share(after - was));
        // Ends the waits: the server answers them [] as it stops.
        // SAFETY: kill(2) on our own child; no memory effects.
        unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGTERM) };
        (share(serve - before.0), database)
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

/// Every measurement of the throughput table, one per round.
#[derive(Default)]
struct Lanes {
    raw: Vec<Figures>,
    enq1: Vec<Figures>,
    enq32: Vec<Figures>,
    cli_enq: Vec<Figures>,
    cc1: Vec<Figures>,
    cc32: Vec<Figures>,
    cli_cc: Vec<Figures>,
}

/// One round on one engine: the subjects each on a fresh database, with the baseline run
/// between them, so that a disk that is slower for a while (other work on the machine)
/// weighs on both alike.
fn measure_round(
    engine: &Engine,
    baseline: &mut Baseline,
    plan: &Plan,
    round: usize,
    lanes: &mut Lanes,
) {
    lanes.raw.push(baseline.run(plan.transactions));
    {
        let server = Server::start(engine.db(&format!("http{round}")));
        lanes.enq1.push(http_enqueue(&server, 1, plan.requests / 8));
        lanes.enq32.push(http_enqueue(&server, 32, plan.requests));
        lanes.raw.push(baseline.run(plan.transactions));
        lanes
            .cc1
            .push(http_claim_complete(&server, 1, plan.requests / 8));
        lanes
            .cc32
            .push(http_claim_complete(&server, 32, plan.requests));
    }
    lanes.raw.push(baseline.run(plan.transactions));
    let db = engine.db(&format!("cli{round}"));
    lanes.cli_enq.push(cli_enqueue(&db, 32, plan.commands));
    lanes
        .cli_cc
        .push(cli_claim_complete(&db, 32, plan.commands));
}

fn report(engine: &Engine, baseline: &Baseline, lanes: &Lanes, rounds: usize) {
    let raw = median_figures(&lanes.raw);
    let [enq1, enq32, cli_enq, cc1, cc32, cli_cc] = [
        &lanes.enq1,
        &lanes.enq32,
        &lanes.cli_enq,
        &lanes.cc1,
        &lanes.cc32,
        &lanes.cli_cc,
    ]
    .map(|all| median_figures(all));
    println!(
        "\n## HTTP on {}: enqueue and claim + complete ({rounds} rounds, medians)\n",
        engine.name()
    );
    println!("| what | per second | p50 ms | p99 ms | vs raw durable transactions |");
    println!("|---|---|---|---|---|");
    let base = raw.per_second;
    row(baseline.label(), raw, base);
    row("HTTP enqueue, 1 client", enq1, base);
    row("HTTP enqueue, 32 clients", enq32, base);
    row("CLI enqueue, 32 processes at a time", cli_enq, base);
    row("HTTP claim + complete, 1 client (pairs)", cc1, base);
    row("HTTP claim + complete, 32 clients (pairs)", cc32, base);
    row("CLI dequeue + complete, 32 at a time (pairs)", cli_cc, base);
    println!(
        "\n{}, 32 at a time: HTTP ÷ CLI enqueue {:.1}x, claim + complete {:.1}x; \
         HTTP ÷ baseline enqueue {:.1}x, claim + complete {:.1}x",
        engine.name(),
        enq32.per_second / cli_enq.per_second,
        cc32.per_second / cli_cc.per_second,
        enq32.per_second / base,
        cc32.per_second / base,
    );
}

/// Wake-up latency and idle cost on `engine`.
fn waiting(engine: &Engine, plan: &Plan) {
    let server = Server::start(engine.db("wake"));
    let mut woke = wakeups(&server, plan.wakeups);
    woke.sort_by(f64::total_cmp);
    println!(
        "\n{}: wake-up, enqueue by another process to claim by a waiting request ({} rounds): median {:.0} ms, max {:.0} ms",
        engine.name(),
        woke.len(),
        median(woke.clone()),
        woke.last().copied().unwrap_or(0.0)
    );
    let (serve, database) = idle_cost(engine, &server, plan.idle_waiters, plan.idle_for);
    let database = database.map_or(String::new(), |share| {
        format!(", the PostgreSQL server's processes {:.2}%", share * 100.0)
    });
    println!(
        "{}: idle cost, {} waiting claims for {:?}: serve {:.2}% of one core{database}",
        engine.name(),
        plan.idle_waiters,
        plan.idle_for,
        serve * 100.0
    );
}

fn main() {
    let plan = plan();
    eprintln!("load average at the start: {}", load_average());
    let dir = tempfile::tempdir().unwrap();
    // Started first, so that a machine without PostgreSQL's server binaries fails at once.
    let engines = [
        Engine::Sqlite(dir.path().to_path_buf()),
        Engine::Postgres(Cluster::start()),
    ];
    let mut baselines: Vec<Baseline> = engines.iter().map(Baseline::open).collect();
    let mut lanes: Vec<Lanes> = engines.iter().map(|_| Lanes::default()).collect();
    for round in 0..plan.rounds {
        for ((engine, baseline), lanes) in engines.iter().zip(&mut baselines).zip(&mut lanes) {
            measure_round(engine, baseline, &plan, round, lanes);
        }
        eprintln!("round {} of {} done", round + 1, plan.rounds);
    }
    for ((engine, baseline), lanes) in engines.iter().zip(&baselines).zip(&lanes) {
        report(engine, baseline, lanes, plan.rounds);
    }
    drop(baselines);
    for engine in &engines {
        waiting(engine, &plan);
    }
    println!(
        "\nLoad average at the end (1, 5, 15 minutes): {}",
        load_average()
    );
}

/// The machine's load average over 1, 5 and 15 minutes: these machines are shared, and
/// only ratios measured in one run compare.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

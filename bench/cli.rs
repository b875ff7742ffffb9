//! The benchmark harness behind BENCHMARKS.md: real processes, each subject timed
//! interleaved with its baseline, medians reported as ratios. `cargo bench --bench cli`;
//! `BENCH_QUICK=1` for a seconds-long smoke run. See BENCHMARKS.md for the method.

// A benchmark harness fails loudly on a broken setup and indexes what it built itself:
// the product's lints against panics (Cargo.toml [lints]) are for the shipped code.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::string_slice,
    clippy::unwrap_used
)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use queueprim::job::{ClaimRequest, NewJob};
use queueprim::store::{Location, OpenOptions, Store, Synchronous};

const QP: &str = env!("CARGO_BIN_EXE_queueprim");

/// How hard to try: full runs for the tables, a smoke run for CI.
struct Plan {
    rounds: usize,
    million: usize,
    batch: usize,
    cycles: usize,
    workers_jobs: usize,
}

fn plan() -> Plan {
    if std::env::var_os("BENCH_QUICK").is_some() {
        Plan {
            rounds: 5,
            million: 2_000,
            batch: 2_000,
            cycles: 200,
            workers_jobs: 80,
        }
    } else {
        Plan {
            rounds: 41,
            million: 1_000_000,
            batch: 100_000,
            cycles: 3_000,
            workers_jobs: 800,
        }
    }
}

/// One finished process: its wall time and what it printed.
struct Sample {
    wall: Duration,
    stdout: String,
}

/// Runs a command to the end, timing it from spawn to exit.
fn run(mut command: Command, stdin: Option<&[u8]>) -> Sample {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = command.spawn().expect("spawn");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    let wall = start.elapsed();
    assert!(status.success(), "{command:?} failed");
    Sample { wall, stdout }
}

/// Peak resident memory of one run of `args`, in MiB, as GNU time reports it. (Measured
/// apart from the timed runs: a child's own rusage would count this harness's memory at the
/// moment it was spawned.)
fn peak_rss_mib(db: &Path, args: &[&str], stdin: Option<&[u8]>) -> f64 {
    let mut command = Command::new("/usr/bin/time");
    command
        .args(["-f", "%M", QP, "--db"])
        .arg(db)
        .args(["--format", "json"])
        .args(args);
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .expect("/usr/bin/time (Debian package time)");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    let kib: f64 = text
        .lines()
        .last()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(0.0);
    kib / 1024.0
}

fn qp(db: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(QP);
    command
        .arg("--db")
        .arg(db)
        .arg("--format")
        .arg("json")
        .args(args);
    command
}

/// The sqlite3 shell running `sql` the way queueprim runs a command: a busy timeout, then
/// synchronous=FULL, then the statement.
fn sqlite(db: &Path, sql: &str) -> Command {
    let mut command = Command::new("sqlite3");
    command
        .args(["-bail", "-cmd", ".timeout 30000"])
        .arg(db)
        .arg(format!("PRAGMA synchronous=FULL; {sql}"));
    command
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A fresh queueprim database, filled with `jobs` pending jobs in queue `q`.
fn filled_db(dir: &Path, name: &str, jobs: usize) -> PathBuf {
    let db = dir.join(name);
    let lines: String = (0..jobs).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let mut command = qp(&db, &["--synchronous", "normal", "enqueue", "q", "--batch"]);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "filling {name}");
    db
}

fn id_of(json: &str) -> String {
    let start = json.find("\"id\":\"").expect("a job") + 6;
    json[start..start + json[start..].find('"').unwrap()].to_string()
}

/// A local redis-server with appendfsync always, if one is installed.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(dir: &Path) -> Option<Redis> {
        let port = 20_000 + (std::process::id() % 20_000) as u16;
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Redis { child, port };
        for _ in 0..100 {
            if redis
                .cli(&["PING"])
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
            {
                return Some(redis);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn cli(&self, args: &[&str]) -> Command {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port.to_string()]).args(args);
        command
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak memory of each kind of command, the big ones at full size.
fn memory(dir: &Path, plan: &Plan) {
    let db = filled_db(dir, "memory.db", plan.million);
    let lines: String = (0..plan.batch)
        .map(|n| format!("{{\"n\":{n}}}\n"))
        .collect();
    let claimed = run(qp(&db, &["dequeue", "q"]), None);
    let id = id_of(&claimed.stdout);
    let rows: Vec<(String, f64)> = vec![
        (
            "enqueue".into(),
            peak_rss_mib(&db, &["enqueue", "q", "--payload", "1"], None),
        ),
        ("dequeue".into(), peak_rss_mib(&db, &["dequeue", "q"], None)),
        (
            "complete".into(),
            peak_rss_mib(&db, &["complete", &id], None),
        ),
        ("stats".into(), peak_rss_mib(&db, &["stats"], None)),
        (
            format!("list --limit 0 --format jsonl ({} jobs)", plan.million),
            peak_rss_mib(&db, &["list", "--limit", "0", "--format", "jsonl"], None),
        ),
        (
            format!("enqueue --batch ({} jobs)", plan.batch),
            peak_rss_mib(
                &dir.join("memory-batch.db"),
                &["enqueue", "q", "--batch"],
                Some(lines.as_bytes()),
            ),
        ),
    ];
    println!("\n### Peak memory (max RSS, GNU time)\n\n| command | MiB |\n|---|---|");
    for (what, mib) in rows {
        println!("| {what} | {mib:.1} |");
    }
}

/// Table 1: One invocation of enqueue, dequeue and complete against the sqlite3 shell doing the
/// same statement on the same schema, and redis-cli against redis-server.
fn per_invocation(dir: &Path, plan: &Plan) {
    let ours = filled_db(dir, "inv-q.db", 0);
    let theirs = filled_db(dir, "inv-s.db", 0);
    let redis = Redis::start(dir);
    let mut t: [Vec<f64>; 9] = Default::default();
    let payload = r#"{"n":1}"#;
    for round in 0..plan.rounds {
        let enq = run(qp(&ours, &["enqueue", "q", "--payload", payload]), None);
        t[0].push(ms(enq.wall));
        let deq = run(qp(&ours, &["dequeue", "q"]), None);
        t[3].push(ms(deq.wall));
        let done = run(qp(&ours, &["complete", &id_of(&deq.stdout)]), None);
        t[6].push(ms(done.wall));

        let insert = "INSERT INTO jobs (id, queue, payload, status, max_retries, visible_after, \
             created_at, updated_at) VALUES ('q_'||lower(hex(randomblob(5))), 'q', '{\"n\":1}', \
             'pending', 0, CAST((julianday('now')-2440587.5)*86400000 AS INTEGER), CAST((julianday('now')-2440587.5)*86400000 AS INTEGER), \
             CAST((julianday('now')-2440587.5)*86400000 AS INTEGER));";
        t[1].push(ms(run(sqlite(&theirs, insert), None).wall));
        let claim = "BEGIN IMMEDIATE; UPDATE jobs SET status='claimed', \
             claim='c_'||lower(hex(randomblob(6))), visible_after=CAST((julianday('now')-2440587.5)*86400000 AS INTEGER)+1800000, \
             updated_at=CAST((julianday('now')-2440587.5)*86400000 AS INTEGER) WHERE seq = (SELECT seq FROM jobs WHERE \
             queue='q' AND status='pending' ORDER BY priority DESC, seq LIMIT 1) RETURNING id; COMMIT;";
        let claimed = run(sqlite(&theirs, claim), None);
        t[4].push(ms(claimed.wall));
        let finish = format!(
            "UPDATE jobs SET status='done', visible_after=NULL, finished_at=CAST((julianday('now')-2440587.5)*86400000 AS INTEGER), \
             updated_at=CAST((julianday('now')-2440587.5)*86400000 AS INTEGER) WHERE id='{}' AND status='claimed';",
            claimed.stdout.trim()
        );
        t[7].push(ms(run(sqlite(&theirs, &finish), None).wall));

        if let Some(redis) = &redis {
            let value = format!("{payload}{round}");
            t[2].push(ms(run(redis.cli(&["LPUSH", "q", &value]), None).wall));
            t[5].push(ms(run(
                redis.cli(&["LMOVE", "q", "processing", "RIGHT", "LEFT"]),
                None,
            )
            .wall));
            t[8].push(ms(run(
                redis.cli(&["LREM", "processing", "1", &value]),
                None,
            )
            .wall));
        }
    }
    println!(
        "\n### 1. One invocation (median of {} interleaved rounds)\n",
        plan.rounds
    );
    println!("| command | queueprim | sqlite3 shell | ratio | redis-cli | redis-cli ÷ queueprim |");
    println!("|---|---|---|---|---|---|");
    let names = ["enqueue", "dequeue", "complete"];
    for (i, name) in names.iter().enumerate() {
        let (q, s) = (median(t[3 * i].clone()), median(t[3 * i + 1].clone()));
        let r = if t[3 * i + 2].is_empty() {
            f64::NAN
        } else {
            median(t[3 * i + 2].clone())
        };
        println!(
            "| {name} | {q:.2} ms | {s:.2} ms | {:.2}× | {r:.2} ms | {:.2}× |",
            q / s,
            r / q
        );
    }
    if redis.is_none() {
        println!("\n(redis-server not found: redis columns left empty)");
    }
}

/// Table 2: dequeue and complete with 1,000,000 stored jobs against 1,000.
fn scale(dir: &Path, plan: &Plan) {
    let small = filled_db(dir, "small.db", 1_000);
    let large = filled_db(dir, "large.db", plan.million);
    let mut t: [Vec<f64>; 4] = Default::default();
    for _ in 0..plan.rounds {
        for (i, db) in [&small, &large].into_iter().enumerate() {
            let deq = run(qp(db, &["dequeue", "q"]), None);
            t[i].push(ms(deq.wall));
            t[2 + i].push(ms(
                run(qp(db, &["complete", &id_of(&deq.stdout)]), None).wall
            ));
        }
    }
    println!(
        "\n### 2. Stored jobs: {} against 1,000 (median of {} rounds)\n",
        plan.million, plan.rounds
    );
    println!("| command | 1,000 jobs | {} jobs | ratio |", plan.million);
    println!("|---|---|---|---|");
    for (name, a, b) in [("dequeue", 0, 1), ("complete", 2, 3)] {
        let (s, l) = (median(t[a].clone()), median(t[b].clone()));
        println!("| {name} | {s:.2} ms | {l:.2} ms | {:.2}× |", l / s);
    }
}

/// The raw insert rate of SQLite on queueprim's own schema: one transaction, one prepared
/// statement, the same columns a queueprim enqueue writes, ids in creation order as its own.
fn raw_insert_rate(db: &Path, jobs: usize) -> f64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .unwrap();
    conn.execute_batch(include_str!("../src/store/sqlite/migrations/001_init.sql"))
        .unwrap();
    let start = Instant::now();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt = conn
            .prepare(
                "INSERT INTO jobs (id, queue, type, payload, priority, status, max_retries, \
                 visible_after, created_at, updated_at) VALUES (?1, 'q', NULL, ?2, 0, 'pending', \
                 0, ?3, ?3, ?3)",
            )
            .unwrap();
        for n in 0..jobs {
            // Ids in creation order, as queueprim's are: the unique index is appended to.
            let id = format!("q_{n:015}");
            stmt.execute(rusqlite::params![id, format!("{{\"n\":{n}}}"), n as i64])
                .unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    jobs as f64 / start.elapsed().as_secs_f64()
}

/// Table 3: `enqueue --batch` throughput against SQLite's raw insert rate.
fn batch(dir: &Path, plan: &Plan) {
    let lines: String = (0..plan.batch)
        .map(|n| format!("{{\"n\":{n}}}\n"))
        .collect();
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for round in 0..plan.rounds.min(7) {
        let db = dir.join(format!("batch-{round}.db"));
        let sample = run(
            qp(&db, &["enqueue", "q", "--batch"]),
            Some(lines.as_bytes()),
        );
        ours.push(plan.batch as f64 / sample.wall.as_secs_f64());
        raw.push(raw_insert_rate(
            &dir.join(format!("raw-{round}.db")),
            plan.batch,
        ));
    }
    let (o, r) = (median(ours), median(raw));
    println!(
        "\n### 3. Batch enqueue of {} jobs (median of {} rounds)\n",
        plan.batch,
        plan.rounds.min(7)
    );
    println!("| what | jobs/s | ratio |\n|---|---|---|");
    println!("| raw SQLite inserts, one transaction (baseline) | {r:.0} | 1.00× |");
    println!(
        "| `queueprim enqueue --batch` (whole process, JSON out) | {o:.0} | {:.2}× |",
        o / r
    );
}

fn open_store(db: &Path) -> Store {
    let options = OpenOptions {
        synchronous: Synchronous::Full,
        create_dir: false,
    };
    Store::open(&Location::from(db.to_path_buf()), &options).unwrap()
}

fn new_job(n: usize) -> NewJob {
    NewJob::new("q", format!("{{\"n\":{n}}}"))
}

fn claim_request(count: usize) -> ClaimRequest {
    ClaimRequest {
        queue: "q".into(),
        job_type: None,
        worker: None,
        timeout_ms: None,
        count,
    }
}

/// Table 4: `dequeue --count` throughput, and the in-process cycle of the `work` runner (enqueue,
/// claim, complete: three transactions) against SQLite's rate of one-row write transactions.
fn cycles(dir: &Path, plan: &Plan) {
    let db = filled_db(dir, "count.db", plan.batch);
    let mut counted = Vec::new();
    for _ in 0..plan.rounds.min(7) {
        let sample = run(qp(&db, &["dequeue", "q", "--count", "1000"]), None);
        counted.push(1000.0 / sample.wall.as_secs_f64());
    }
    let cycle_db = filled_db(dir, "cycle.db", 0);
    let mut store = open_store(&cycle_db);
    let start = Instant::now();
    for n in 0..plan.cycles {
        store.enqueue(&[new_job(n)]).unwrap();
        let job = store.claim(&claim_request(1)).unwrap().remove(0);
        store
            .complete(&job.id, job.claim.as_deref(), None, &[])
            .unwrap();
    }
    let cycle_rate = plan.cycles as f64 / start.elapsed().as_secs_f64();
    let raw_db = dir.join("raw-tx.db");
    let conn = rusqlite::Connection::open(&raw_db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (n INTEGER);",
    )
    .unwrap();
    let start = Instant::now();
    for n in 0..plan.cycles {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.execute("INSERT INTO t VALUES (?1)", [n as i64])
            .unwrap();
        conn.execute_batch("COMMIT").unwrap();
    }
    let tx_rate = plan.cycles as f64 / start.elapsed().as_secs_f64();
    let c = median(counted);
    println!("\n### 4. Claiming in bulk, and the runner's in-process cycle\n");
    println!("| what | rate | vs raw transactions |\n|---|---|---|");
    println!("| raw SQLite one-row write transactions (baseline) | {tx_rate:.0} tx/s | 1.00× |");
    println!(
        "| in-process cycle: enqueue + claim + complete (3 tx) | {cycle_rate:.0} jobs/s | {:.2}× |",
        cycle_rate / tx_rate
    );
    println!(
        "| `dequeue --count 1000` (one process) | {c:.0} jobs/s | {:.2}× |",
        c / tx_rate
    );
}

/// Table 6: Eight CLI workers (dequeue + complete processes) against the machine's spawn rate of
/// eight concurrent spawners.
fn workers(dir: &Path, plan: &Plan) {
    let db = filled_db(dir, "workers.db", plan.workers_jobs);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| loop {
                let deq = run(qp(&db, &["dequeue", "q"]), None);
                if deq.stdout.trim().is_empty() {
                    return;
                }
                run(qp(&db, &["complete", &id_of(&deq.stdout)]), None);
            });
        }
    });
    let jobs_rate = plan.workers_jobs as f64 / start.elapsed().as_secs_f64();
    let spawns = plan.workers_jobs * 2;
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..spawns / 8 {
                    run(Command::new("true"), None);
                }
            });
        }
    });
    let spawn_rate = spawns as f64 / start.elapsed().as_secs_f64();
    println!("\n### 6. Eight concurrent CLI workers\n");
    println!("| what | rate | ratio |\n|---|---|---|");
    println!(
        "| spawn bound: 8 spawners of `true`, 2 spawns per job (baseline) | {:.0} jobs/s | 1.00× |",
        spawn_rate / 2.0
    );
    println!(
        "| 8 workers, each `dequeue` then `complete` | {jobs_rate:.0} jobs/s | {:.2}× |",
        jobs_rate / (spawn_rate / 2.0)
    );
}

fn main() {
    let plan = plan();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "## queueprim benchmarks ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // BENCH_ONLY=batch (or any section's name) runs just that section.
    let only = std::env::var("BENCH_ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if wanted("invocation") {
        per_invocation(dir.path(), &plan);
    }
    if wanted("scale") {
        scale(dir.path(), &plan);
    }
    if wanted("batch") {
        batch(dir.path(), &plan);
    }
    if wanted("cycles") {
        cycles(dir.path(), &plan);
    }
    if wanted("workers") {
        workers(dir.path(), &plan);
    }
    if wanted("memory") {
        memory(dir.path(), &plan);
    }
}

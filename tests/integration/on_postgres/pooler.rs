//! queueprim behind PgBouncer in transaction mode, where consecutive transactions of one
//! client run on whichever server session is free, wiped in between: every command works
//! (no session state, no named prepared statement), many processes share two server
//! sessions, and waiters listen on a direct connection (`QUEUEPRIM_LISTEN_DB`), reconnecting
//! it after a restart, or nowhere.
//!
//! PgBouncer never skips: a machine without it fails here, naming what to install.
//! `QUEUEPRIM_TEST_PGBOUNCER` names the program when it is not on PATH or in /usr/sbin.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Cmd, Counts, Job, TestEnv, BIN};
use crate::support::postgres::{cluster, private_cluster, server_owner, Cluster, DATABASE};
use crate::support::process::wait_for;
use crate::support::wait::{eventually, GENEROUS};

/// The port PgBouncer's socket is named after; it listens on no TCP port at all.
const PORT: u16 = 6432;
/// Debug builds look again on their own only this often: a job found sooner came by a
/// notification.
const NEVER_RECHECK: &str = "3600000";
/// Long enough for a waiter to notice the server went away and to connect again after it
/// is back (its pauses between tries reach 5 s), on a slow machine.
const BACK_AGAIN: Duration = Duration::from_secs(60);

/// A PgBouncer of the test's own in front of `cluster`, on a Unix socket in its folder.
struct Bouncer {
    dir: PathBuf,
    /// Runs PgBouncer; stops it and removes the folder when its stdin closes (on drop, or
    /// when the test binary exits however it exits).
    keeper: Option<(Child, ChildStdin)>,
}

impl Bouncer {
    fn start(cluster: &Cluster) -> Bouncer {
        let program = pgbouncer().unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::Builder::new()
            .prefix("queueprim-pgbouncer-")
            .tempdir()
            .expect("a folder for PgBouncer")
            .keep();
        let owner = server_owner().expect("the server's user");
        fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").expect("users.txt");
        let ini = dir.join("pgbouncer.ini");
        fs::write(&ini, config(cluster, &dir)).expect("pgbouncer.ini");
        if let Some((uid, gid)) = owner {
            for path in [dir.clone(), ini.clone(), dir.join("users.txt")] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown");
            }
        }
        let as_owner = match owner {
            Some((uid, gid)) => format!("setpriv --reuid={uid} --regid={gid} --clear-groups "),
            None => String::new(),
        };
        let script = format!(
            "{as_owner}{} '{}' >>'{log}' 2>&1 & pid=$!; while read line; do :; done; \
             kill -TERM $pid; wait $pid; rm -rf '{dir}'",
            program.display(),
            ini.display(),
            log = dir.join("pgbouncer.log").display(),
            dir = dir.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start PgBouncer");
        let stdin = child.stdin.take().expect("the keeper's stdin");
        let bouncer = Bouncer {
            dir,
            keeper: Some((child, stdin)),
        };
        eventually(GENEROUS, "PgBouncer to take connections", || {
            bouncer.try_admin("SHOW VERSION").is_ok()
        });
        bouncer
    }

    /// A URL for `schema` through PgBouncer.
    fn url(&self, schema: &str) -> String {
        format!(
            "postgresql:///{DATABASE}?host={}&port={PORT}&user=postgres&schema={schema}",
            self.dir.display()
        )
    }

    /// A command of PgBouncer's admin console (`SHOW …`), its rows unaligned.
    fn admin(&self, command: &str) -> String {
        self.try_admin(command).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_admin(&self, command: &str) -> Result<String, String> {
        let out = Command::new(cluster().bin.join("psql"))
            .args(["-X", "-A", "-F", "|", "-h"])
            .arg(&self.dir)
            .args(["-p", &PORT.to_string(), "-U", "postgres", "pgbouncer", "-c"])
            .arg(command)
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        match out.status.success() {
            true => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
            false => Err(format!(
                "{command}: {}{}",
                String::from_utf8_lossy(&out.stderr),
                fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
            )),
        }
    }

    /// A column of one database's row of an admin `SHOW` command.
    fn stat(&self, command: &str, column: &str) -> i64 {
        let out = self.admin(command);
        let mut lines = out.lines();
        let header: Vec<&str> = lines.next().expect("a header").split('|').collect();
        let at = header
            .iter()
            .position(|c| *c == column)
            .unwrap_or_else(|| panic!("no column {column} in {out}"));
        // No row yet: nothing went to the database so far.
        lines
            .find(|line| line.split('|').next() == Some(DATABASE))
            .map_or(0, |row| {
                row.split('|')
                    .nth(at)
                    .expect("the column")
                    .parse()
                    .expect("a number")
            })
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.keeper.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// Transaction pooling with two server sessions per database, shared by every client, and
/// each session wiped (`DISCARD ALL`) after every transaction: whatever a command kept in
/// its session from one transaction to the next (a named prepared statement, a `SET`, a
/// LISTEN, a session advisory lock) would be gone, as it may be on any transaction pooler.
fn config(cluster: &Cluster, dir: &Path) -> String {
    format!(
        "[databases]\n\
         {DATABASE} = host={socket} port={port} dbname={DATABASE}\n\
         [pgbouncer]\n\
         unix_socket_dir = {dir}\n\
         listen_port = {PORT}\n\
         auth_type = trust\n\
         auth_file = {dir}/users.txt\n\
         admin_users = postgres\n\
         pool_mode = transaction\n\
         default_pool_size = 2\n\
         server_reset_query = DISCARD ALL\n\
         server_reset_query_always = 1\n\
         max_client_conn = 200\n\
         pidfile = {dir}/pgbouncer.pid\n",
        socket = cluster.socket_dir.display(),
        port = cluster.port,
        dir = dir.display()
    )
}

/// The PgBouncer program.
fn pgbouncer() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("QUEUEPRIM_TEST_PGBOUNCER") {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("pgbouncer"))
        .find(|program| program.is_file())
        .ok_or_else(|| {
            "pgbouncer not found: install it (apt-get install pgbouncer) or set \
             QUEUEPRIM_TEST_PGBOUNCER to the program"
                .to_string()
        })
}

/// A test's schema, reached through PgBouncer.
struct Pooled {
    env: TestEnv,
    url: String,
}

impl Pooled {
    fn new(bouncer: &Bouncer) -> Pooled {
        let env = TestEnv::new();
        let url = bouncer.url(env.schema().expect("a schema"));
        Pooled { env, url }
    }

    fn on(cluster: &Cluster, bouncer: &Bouncer) -> Pooled {
        let env = TestEnv::on(cluster);
        let url = bouncer.url(env.schema().expect("a schema"));
        Pooled { env, url }
    }

    fn cmd(&self, args: &[&str]) -> Cmd {
        self.env.cmd(args).env("QUEUEPRIM_DB", &self.url)
    }

    #[track_caller]
    fn json<T: serde::de::DeserializeOwned>(&self, args: &[&str]) -> T {
        self.cmd(args).expect_status(0).json()
    }
}

#[test]
fn every_kind_of_command_works_through_pgbouncer_in_transaction_mode() {
    let bouncer = Bouncer::start(cluster());
    let db = Pooled::new(&bouncer);
    let before = bouncer.stat("SHOW STATS", "total_xact_count");

    // Enqueue, one and a batch; dedup keys; groups.
    let first: Job = db.json(&["enqueue", "q", "--payload", "{\"n\":1}", "--key", "k1"]);
    let again: Job = db.json(&["enqueue", "q", "--payload", "{\"n\":1}", "--key", "k1"]);
    assert_eq!(
        (again.id.as_str(), again.deduplicated),
        (first.id.as_str(), Some(true))
    );
    let batch: Vec<Job> = db
        .cmd(&["enqueue", "q", "--batch", "--priority", "low"])
        .stdin("{\"n\":2}\n{\"n\":3}\n")
        .expect_status(0)
        .json();
    assert_eq!(batch.len(), 2);
    let charge: Job = db.json(&["enqueue", "orders", "--group", "c17", "--payload", "1"]);
    let ship: Job = db.json(&["enqueue", "orders", "--group", "c17", "--payload", "2"]);

    // Dequeue, extend, complete with follow-ups.
    let job: Job = db.json(&["dequeue", "q", "--worker", "w1"]);
    assert_eq!(job.id, first.id);
    let claim = job.claim.clone().expect("a claim");
    let extended: Job = db.json(&["extend", &job.id, "--by", "10m", "--claim", &claim]);
    assert!(extended.claim_deadline > job.claim_deadline);
    let done: Job = db.json(&[
        "complete",
        &job.id,
        "--claim",
        &claim,
        "--output",
        "{\"ok\":true}",
        "--follow-up",
        "{\"queue\":\"next\",\"payload\":{\"after\":1},\"key\":\"f1\"}",
    ]);
    let follow_ups = done.follow_ups.expect("follow-ups");
    assert_eq!(follow_ups.len(), 1);
    let next: Job = db.json(&["get", &follow_ups[0].id]);
    assert_eq!(
        (next.queue.as_str(), next.status.as_str()),
        ("next", "pending")
    );

    // Fail: retried, then dead.
    let job: Job = db.json(&["dequeue", "q", "--worker", "w2"]);
    assert_eq!(job.id, batch[0].id);
    let claim = job.claim.clone().expect("a claim");
    let dead: Job = db.json(&["fail", &job.id, "--claim", &claim, "--reason", "no"]);
    assert_eq!(dead.status, "dead");

    // Groups hand out one job at a time, in order.
    let heads: Vec<Job> = db.json(&["dequeue", "orders", "--count", "10"]);
    assert_eq!(
        heads.iter().map(|j| &j.id).collect::<Vec<_>>(),
        [&charge.id]
    );
    let claim = heads[0].claim.clone().expect("a claim");
    db.json::<Job>(&["complete", &charge.id, "--claim", &claim]);
    let heads: Vec<Job> = db.json(&["dequeue", "orders", "--count", "10"]);
    assert_eq!(heads.iter().map(|j| &j.id).collect::<Vec<_>>(), [&ship.id]);

    // Reads, settings, purge.
    let stats: Counts = db.json(&["stats"]);
    assert_eq!((stats.done, stats.dead, stats.total), (2, 1, 6));
    db.json::<Value>(&["list", "q", "--status", "dead"]);
    db.json::<Value>(&["queues"]);
    db.json::<Value>(&["info"]);
    db.json::<Value>(&["config", "q", "--timeout", "5m", "--max-retries", "2"]);
    db.json::<Value>(&["pause", "q"]);
    db.cmd(&["dequeue", "q"]).expect_status(0).expect_stdout("");
    db.json::<Value>(&["resume", "q"]);
    let purged: Value = db.json(&["purge", "--queue", "q", "--status", "dead"]);
    assert_eq!(purged["removed"], 1, "{purged}");

    // work, several jobs at once.
    let log = db.env.dir().join("runs.log");
    let script = format!("echo \"$QUEUEPRIM_JOB_ID\" >> '{}'", log.display());
    db.cmd(&[
        "work",
        "next",
        "--concurrency",
        "3",
        "--until-drained",
        "--",
        "sh",
        "-c",
        &script,
    ])
    .expect_status(0);
    db.cmd(&[
        "work",
        "q",
        "--concurrency",
        "3",
        "--until-drained",
        "--",
        "sh",
        "-c",
        &script,
    ])
    .expect_status(0);
    let runs = fs::read_to_string(&log).expect("the run log");
    assert_eq!(runs.lines().count(), 2, "{runs}");
    let stats: Counts = db.json(&["stats"]);
    assert_eq!((stats.pending, stats.claimed, stats.done), (0, 1, 4));

    // It all went through PgBouncer, on at most two server sessions.
    let after = bouncer.stat("SHOW STATS", "total_xact_count");
    assert!(after - before >= 20, "{before} -> {after} transactions");
    assert!(bouncer.stat("SHOW POOLS", "sv_active") + bouncer.stat("SHOW POOLS", "sv_idle") <= 2);
}

#[test]
fn many_processes_at_once_share_two_server_sessions_and_run_each_job_once() {
    let bouncer = Bouncer::start(cluster());
    let db = Pooled::new(&bouncer);
    let log = db.env.dir().join("runs.log");
    let script = format!("echo \"$QUEUEPRIM_JOB_ID\" >> '{}'", log.display());
    let runners: Vec<Child> = (0..3)
        .map(|_| {
            db.cmd(&["work", "q", "--concurrency", "3", "--", "sh", "-c", &script])
                .spawn()
        })
        .collect();
    // Eight producers, each enqueuing five jobs for the runners by separate commands and a
    // batch of five for four shell workers, which claim ten each with dequeue and complete.
    let producer = format!(
        "for n in 1 2 3 4 5; do '{BIN}' enqueue q --payload \"$n\" >/dev/null || exit 1; done; \
         printf '1\\n2\\n3\\n4\\n5\\n' | '{BIN}' enqueue c --batch >/dev/null"
    );
    let claimer = format!(
        "for n in 1 2 3 4 5 6 7 8 9 10; do \
         job=$('{BIN}' dequeue c --wait=2m --format jsonl) || exit 1; \
         [ -n \"$job\" ] || exit 1; id=$(echo \"$job\" | jq -r .id); \
         echo \"$id\" >> '{log}'; \
         '{BIN}' complete \"$id\" --claim \"$(echo \"$job\" | jq -r .claim)\" >/dev/null \
         || exit 1; done",
        log = log.display()
    );
    let shells: Vec<Child> = std::iter::repeat_n(&producer, 8)
        .chain(std::iter::repeat_n(&claimer, 4))
        .map(|script| {
            db.env
                .isolated("sh")
                .env("QUEUEPRIM_DB", &db.url)
                .args(["-c", script])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a shell")
        })
        .collect();
    for mut shell in shells {
        let status = wait_for(&mut shell, GENEROUS * 12, "a producer or claimer");
        let mut stderr = String::new();
        if let Some(mut err) = shell.stderr.take() {
            std::io::Read::read_to_string(&mut err, &mut stderr).expect("stderr");
        }
        assert!(status.success(), "{status:?}: {stderr}");
    }
    eventually(GENEROUS * 12, "all 80 jobs to be done", || {
        let stats: Counts = db.json(&["stats"]);
        assert_eq!(stats.dead, 0);
        stats.done == 80
    });
    for mut runner in runners {
        crate::support::process::send_signal(&runner, libc::SIGTERM);
        let status = wait_for(&mut runner, GENEROUS * 3, "queueprim work");
        assert!(status.success(), "{status:?}");
    }
    let runs = fs::read_to_string(&log).expect("the run log");
    let ids: Vec<&str> = runs.lines().collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!((ids.len(), distinct.len()), (80, 80), "each job ran once");
    let stats: Counts = db.json(&["stats"]);
    assert_eq!((stats.done, stats.total), (80, 80));
    assert!(bouncer.stat("SHOW POOLS", "sv_active") + bouncer.stat("SHOW POOLS", "sv_idle") <= 2);
}

/// Waits until the session `waiter` connected as `application` sits idle after a LISTEN;
/// fails at once, with what it said, if the waiter exits instead.
#[track_caller]
fn until_listening(waiter: &mut Child, server: &Cluster, application: &str, limit: Duration) {
    eventually(limit, "the waiter to listen", || {
        if let Some(status) = waiter.try_wait().expect("try_wait") {
            let (stdout, stderr) = outputs(waiter);
            panic!("the waiter exited ({status:?}) instead of listening: {stdout}{stderr}");
        }
        server
            .try_psql(&format!(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = \
                 '{application}' AND state = 'idle' AND query LIKE 'LISTEN%'"
            ))
            .is_ok_and(|count| count == "1")
    });
}

/// What a finished child printed.
fn outputs(child: &mut Child) -> (String, String) {
    use std::io::Read;
    let (mut stdout, mut stderr) = (String::new(), String::new());
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).expect("read stdout");
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr).expect("read stderr");
    }
    (stdout, stderr)
}

#[test]
fn a_waiter_behind_pgbouncer_is_woken_through_its_direct_listen_connection() {
    let bouncer = Bouncer::start(cluster());
    let db = Pooled::new(&bouncer);
    let direct = format!(
        "{}&application_name=direct_listener",
        db.env.db_arg().to_string_lossy()
    );
    let mut waiter = db
        .cmd(&["dequeue", "q", "--wait", "5m"])
        .env("QUEUEPRIM_LISTEN_DB", &direct)
        .env("QUEUEPRIM_TEST_RECHECK_MS", NEVER_RECHECK)
        .spawn();
    until_listening(&mut waiter, cluster(), "direct_listener", GENEROUS);
    let job: Job = db.json(&["enqueue", "q", "--payload", "1"]);
    let status = wait_for(&mut waiter, GENEROUS * 3, "dequeue --wait");
    let (stdout, stderr) = outputs(&mut waiter);
    assert!(status.success(), "{status:?}: {stderr}");
    let claimed: Job = serde_json::from_str(&stdout).expect("a job");
    assert_eq!(claimed.id, job.id);
}

#[test]
fn the_direct_listen_connection_is_made_again_after_a_server_restart() {
    let server = private_cluster();
    let bouncer = Bouncer::start(&server);
    let db = Pooled::on(&server, &bouncer);
    // Create the schema first, so the waiter's first look finds it.
    db.json::<Value>(&["config", "q", "--timeout", "1m"]);
    let direct = format!(
        "{}&application_name=restarted_listener",
        db.env.db_arg().to_string_lossy()
    );
    let mut waiter = db
        .cmd(&["dequeue", "q", "--wait", "5m"])
        .env("QUEUEPRIM_LISTEN_DB", &direct)
        .env("QUEUEPRIM_TEST_RECHECK_MS", NEVER_RECHECK)
        .spawn();
    until_listening(&mut waiter, &server, "restarted_listener", GENEROUS);
    server.stop();
    server.start_again();
    until_listening(&mut waiter, &server, "restarted_listener", BACK_AGAIN);
    let job: Job = db.json(&["enqueue", "q", "--payload", "1"]);
    let status = wait_for(&mut waiter, GENEROUS * 3, "dequeue --wait");
    let (stdout, stderr) = outputs(&mut waiter);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("connected again to postgresql://"),
        "{stderr}"
    );
    let claimed: Job = serde_json::from_str(&stdout).expect("a job");
    assert_eq!(claimed.id, job.id);
}

#[test]
fn listening_nowhere_still_finds_work_by_looking_again() {
    let bouncer = Bouncer::start(cluster());
    let db = Pooled::new(&bouncer);
    db.json::<Value>(&["config", "q", "--timeout", "1m"]);
    let mut waiter = db
        .cmd(&["dequeue", "q", "--wait", "5m"])
        .env("QUEUEPRIM_LISTEN_DB", "none")
        .env("QUEUEPRIM_TEST_RECHECK_MS", "200")
        .spawn();
    let job: Job = db.json(&["enqueue", "q", "--payload", "1"]);
    let status = wait_for(&mut waiter, GENEROUS * 3, "dequeue --wait");
    let (stdout, stderr) = outputs(&mut waiter);
    assert!(status.success(), "{status:?}: {stderr}");
    let claimed: Job = serde_json::from_str(&stdout).expect("a job");
    assert_eq!(claimed.id, job.id);
}

#[test]
fn a_listen_url_that_is_bad_or_reaches_another_database_is_refused() {
    let env = TestEnv::new();
    env.json::<Value>(&["config", "q", "--timeout", "1m"]);
    let run = env
        .cmd(["dequeue", "q", "--wait", "1s"])
        .env("QUEUEPRIM_LISTEN_DB", "pgbouncer-host:6432")
        .expect_status(2);
    assert!(
        run.stderr
            .contains("invalid QUEUEPRIM_LISTEN_DB 'pgbouncer-host:6432'"),
        "{}",
        run.stderr
    );
    let elsewhere = format!(
        "postgresql://postgres:s3cret-pw@/postgres?host={}",
        cluster().socket_dir.display()
    );
    let run = env
        .cmd(["dequeue", "q", "--wait", "1s"])
        .env("QUEUEPRIM_LISTEN_DB", &elsewhere)
        .expect_status(2);
    assert!(
        run.stderr
            .contains("QUEUEPRIM_LISTEN_DB reaches database 'postgres' but --db reaches 'qp'"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    // Commands that never wait never read it.
    env.cmd(["enqueue", "q", "--payload", "1"])
        .env("QUEUEPRIM_LISTEN_DB", "nonsense")
        .expect_status(0);
}

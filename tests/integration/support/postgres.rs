//! A throwaway PostgreSQL cluster for the tests: initdb and postgres in a temporary folder,
//! reachable only through a Unix socket there, started once per test binary and stopped
//! with it. As root it runs as the `postgres` system user, since the server refuses root.
//! Each test gets its own schema (`?schema=t_…`), so tests share the server, not data.
//!
//! A server that cannot start fails the tests that need it: PostgreSQL tests never skip.
//! `QUEUEPRIM_TEST_PG_BIN` names the folder of the server binaries when they are not
//! where Debian puts them (`/usr/lib/postgresql/*/bin`) or on PATH (`pg_config --bindir`).

use std::ffi::CString;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The database every test schema lives in.
pub const DATABASE: &str = "qp";

/// A running cluster.
pub struct Cluster {
    pub socket_dir: PathBuf,
    /// The server's port: its socket's name in `socket_dir`, and its TCP port if it has one.
    pub port: u16,
    pub bin: PathBuf,
    /// The shell that runs the server. Its stdin takes `stop` and `start` lines, and keeps
    /// the cluster alive: when this process exits, the pipe closes and the keeper stops the
    /// server and removes its folder.
    keeper: Mutex<(Child, ChildStdin)>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static SCHEMAS: AtomicU64 = AtomicU64::new(0);

/// The cluster most tests share, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| Cluster::start().unwrap_or_else(|e| panic!("{e}")))
}

/// A cluster of its own, for a test that stops and starts the server (the shared one must
/// stay up for the others).
pub fn private_cluster() -> Cluster {
    Cluster::start().unwrap_or_else(|e| panic!("{e}"))
}

/// A cluster of its own with more server settings (`-c name=value`, later ones winning),
/// for a test of a server set up otherwise: TLS on a TCP port, say.
pub fn private_cluster_with(settings: &[(&str, &str)]) -> Cluster {
    Cluster::start_with(settings).unwrap_or_else(|e| panic!("{e}"))
}

impl Cluster {
    /// A URL for `schema` in the test database, over the Unix socket.
    pub fn url(&self, schema: &str) -> String {
        let port = match self.port {
            5432 => String::new(),
            port => format!("&port={port}"),
        };
        format!(
            "postgresql:///{DATABASE}?host={}{port}&user=postgres&schema={schema}",
            self.socket_dir.display()
        )
    }

    /// How many transactions of clients connected as `application` the server saw cut
    /// short: the client went away (killed) with its transaction open, so the server rolled
    /// it back. Waits until no such client is still connected, since a backend logs that
    /// as it ends.
    pub fn transactions_cut(&self, application: &str) -> usize {
        crate::support::wait::eventually(
            crate::support::wait::GENEROUS,
            "the killed clients' sessions to end",
            || {
                self.psql(&format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{application}'"
                )) == "0"
            },
        );
        let log = fs::read_to_string(self.socket_dir.join("server.log")).unwrap_or_default();
        let marker = format!(
            "app={application} LOG:  unexpected EOF on client connection with an open transaction"
        );
        log.lines().filter(|line| line.contains(&marker)).count()
    }

    /// A schema name no other test of this binary uses.
    pub fn fresh_schema(&self) -> String {
        format!(
            "t{}_{}",
            std::process::id(),
            SCHEMAS.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Runs SQL through `psql` against the test database, returning its unaligned output.
    #[track_caller]
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Cluster::psql`], with a failure as the error it printed.
    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", DATABASE, "-c", sql])
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        match out.status.success() {
            true => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
            false => Err(format!(
                "psql {sql}: {}",
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }

    fn start() -> Result<Cluster, String> {
        Cluster::start_with(&[])
    }

    fn start_with(settings: &[(&str, &str)]) -> Result<Cluster, String> {
        let bin = server_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("queueprim-pg-")
            .tempdir()
            .map_err(|e| format!("cannot make a folder for the test server: {e}"))?
            .keep();
        let owner = server_owner()?;
        if let Some((uid, gid)) = owner {
            chown(&dir, uid, gid)?;
        }
        let data = dir.join("data");
        let initdb = run_as(owner, Command::new(bin.join("initdb")))
            .current_dir(&dir)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .output()
            .map_err(|e| format!("cannot run initdb from {}: {e}", bin.display()))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        let keeper = keep_server(&bin, &dir, &data, owner, settings)?;
        let port = settings
            .iter()
            .find(|(name, _)| *name == "port")
            .map_or(Ok(5432), |(_, port)| port.parse())
            .map_err(|e| format!("a test server's port: {e}"))?;
        let cluster = Cluster {
            socket_dir: dir.clone(),
            port,
            bin,
            keeper: Mutex::new(keeper),
        };
        cluster.wait_until_ready(&dir.join("server.log"))?;
        cluster.psql_admin(&format!("CREATE DATABASE {DATABASE}"))?;
        cluster.psql("CREATE EXTENSION amcheck");
        Ok(cluster)
    }

    /// Stops the server the way an operator's restart does (a fast shutdown: every
    /// connection is cut and every open transaction rolled back), and waits until it is
    /// down.
    #[track_caller]
    pub fn stop(&self) {
        self.tell_keeper("stop");
        crate::support::wait::eventually(
            crate::support::wait::GENEROUS,
            "the test server to stop",
            || !self.is_ready(),
        );
    }

    /// Starts the server again after [`Cluster::stop`], and waits until it takes connections.
    #[track_caller]
    pub fn start_again(&self) {
        self.tell_keeper("start");
        self.wait_until_ready(&self.socket_dir.join("server.log"))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[track_caller]
    fn tell_keeper(&self, line: &str) {
        use std::io::Write;
        let mut keeper = self.keeper.lock().expect("the keeper's lock");
        writeln!(keeper.1, "{line}").expect("talk to the server keeper");
    }

    fn is_ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .arg("-q")
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string()])
            .status()
            .is_ok_and(|status| status.success())
    }

    fn wait_until_ready(&self, log: &Path) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .arg("-q")
                .arg("-h")
                .arg(&self.socket_dir)
                .args(["-p", &self.port.to_string()])
                .status()
                .map_err(|e| format!("cannot run pg_isready: {e}"))?;
            if ready.success() {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(60) {
                let log = fs::read_to_string(log).unwrap_or_default();
                return Err(format!("the test PostgreSQL server did not start:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn psql_admin(&self, sql: &str) -> Result<(), String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-c", sql])
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!("{sql}: {}", String::from_utf8_lossy(&out.stderr))),
        }
    }
}

/// Starts the server under a shell that stops and starts it on `stop` and `start` lines,
/// and stops it and removes its folder once its stdin closes: that is, when the test binary
/// exits, however it exits.
fn keep_server(
    bin: &Path,
    dir: &Path,
    data: &Path,
    owner: Option<(u32, u32)>,
    settings: &[(&str, &str)],
) -> Result<(Child, ChildStdin), String> {
    let mut server = format!(
        "{} -D '{}' -k '{}' -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=400 -c shared_buffers=64MB \
         -c log_line_prefix='%m [%p] app=%a ' -c client_connection_check_interval=100ms",
        bin.join("postgres").display(),
        data.display(),
        dir.display()
    );
    for (name, value) in settings {
        server.push_str(&format!(" -c {name}='{value}'"));
    }
    let as_owner = match owner {
        Some((uid, gid)) => format!("setpriv --reuid={uid} --regid={gid} --clear-groups "),
        None => String::new(),
    };
    let script = format!(
        "run() {{ {as_owner}{server} >>'{log}' 2>&1 & pid=$!; }}; \
         halt() {{ kill -INT $pid; wait $pid; }}; \
         run; while read line; do case $line in stop) halt;; start) run;; esac; done; \
         halt; rm -rf '{dir}'",
        log = dir.join("server.log").display(),
        dir = dir.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the test PostgreSQL server: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin for the server keeper")?;
    Ok((child, stdin))
}

/// Where the server binaries are.
fn server_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("QUEUEPRIM_TEST_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut debian: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    debian.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(newest) = debian.pop() {
        return Ok(newest);
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        .filter(|bin| bin.join("initdb").exists());
    from_pg_config.ok_or_else(|| {
        "PostgreSQL server binaries not found: install them (apt-get install postgresql) or \
         set QUEUEPRIM_TEST_PG_BIN to the folder holding initdb and postgres"
            .to_string()
    })
}

/// As root, the `postgres` system user (initdb and postgres refuse to run as root).
pub fn server_owner() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").map_err(|e| e.to_string())?;
    // SAFETY: getpwnam with a valid C string; the record is copied out at once, and tests
    // start the cluster once, under a OnceLock.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return Err(
            "running as root but there is no `postgres` user to run the test server \
                    as (install postgresql, which creates it)"
                .into(),
        );
    }
    // SAFETY: a non-null record from getpwnam.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some((uid, gid)))
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| format!("cannot hand {} to the postgres user: {e}", path.display()))
}

/// `command`, run as `owner` when there is one.
fn run_as(owner: Option<(u32, u32)>, mut command: Command) -> Command {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
    command
}

/// A connection of the test's own to the test database.
pub struct Session(pub postgres::Client);

impl Session {
    /// A session on the shared cluster's test database.
    pub fn open() -> Session {
        let config = format!(
            "host={} user=postgres dbname={DATABASE}",
            cluster().socket_dir.display()
        );
        Session(postgres::Client::connect(&config, postgres::NoTls).expect("connect"))
    }

    /// A session on the server and database a queueprim URL names (its schema is queueprim's
    /// own parameter, left out).
    pub fn open_url(url: &str) -> Session {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.starts_with("schema="))
            .collect();
        let url = format!("{base}?{}", kept.join("&"));
        Session(postgres::Client::connect(&url, postgres::NoTls).expect("connect"))
    }

    #[track_caller]
    pub fn count(&mut self, sql: &str) -> i64 {
        self.0.query_one(sql, &[]).expect(sql).get(0)
    }

    /// Whether the process connected as `application` waits for a lock of `locktype`
    /// (`advisory`, or `transactionid` for another transaction's row or key).
    pub fn waits(&mut self, application: &str, locktype: &str) -> bool {
        let sql = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                   WHERE a.application_name = $1 AND l.locktype = $2 AND NOT l.granted";
        let row = self
            .0
            .query_one(sql, &[&application, &locktype])
            .expect(sql);
        row.get::<_, i64>(0) > 0
    }
}

/// An advisory lock the test holds to stop a queueprim process just before its COMMIT: a
/// debug build run with `QUEUEPRIM_TEST_HOLD_COMMIT=KEY` waits for lock KEY there.
pub struct Gate {
    session: Session,
    key: i64,
}

impl Gate {
    /// Takes a lock no other test uses.
    pub fn close() -> Gate {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let key = 7_000_000 + NEXT.fetch_add(1, Ordering::Relaxed) as i64;
        let mut session = Session::open();
        session
            .0
            .execute("SELECT pg_advisory_lock($1)", &[&key])
            .expect("take the gate");
        Gate { session, key }
    }

    /// The value of `QUEUEPRIM_TEST_HOLD_COMMIT` that stops a process at this gate.
    pub fn key(&self) -> String {
        self.key.to_string()
    }

    /// Waits until the process connected as `application` stands at the gate: its
    /// transaction done, not committed.
    pub fn wait_for(&mut self, application: &str) {
        crate::support::wait::eventually(
            crate::support::wait::GENEROUS,
            "the held process to reach its COMMIT",
            || self.session.waits(application, "advisory"),
        );
    }

    pub fn open(mut self) {
        self.session
            .0
            .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
            .expect("open the gate");
    }
}

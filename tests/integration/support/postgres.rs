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

/// The running cluster of this test binary.
pub struct Cluster {
    pub socket_dir: PathBuf,
    pub bin: PathBuf,
    /// Its stdin keeps the cluster alive: when this process exits, the pipe closes and the
    /// keeper stops the server and removes its folder.
    _keeper: Mutex<(Child, ChildStdin)>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static SCHEMAS: AtomicU64 = AtomicU64::new(0);

/// The cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| Cluster::start().unwrap_or_else(|e| panic!("{e}")))
}

impl Cluster {
    /// A URL for `schema` in the test database, over the Unix socket.
    pub fn url(&self, schema: &str) -> String {
        format!(
            "postgresql:///{DATABASE}?host={}&user=postgres&schema={schema}",
            self.socket_dir.display()
        )
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
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .args(["-U", "postgres", "-d", DATABASE, "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn start() -> Result<Cluster, String> {
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
        let keeper = keep_server(&bin, &dir, &data, owner)?;
        let cluster = Cluster {
            socket_dir: dir.clone(),
            bin,
            _keeper: Mutex::new(keeper),
        };
        cluster.wait_until_ready(&dir.join("server.log"))?;
        cluster.psql_admin(&format!("CREATE DATABASE {DATABASE}"))?;
        Ok(cluster)
    }

    fn wait_until_ready(&self, log: &Path) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .arg("-q")
                .arg("-h")
                .arg(&self.socket_dir)
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
            .args(["-U", "postgres", "-d", "postgres", "-c", sql])
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!("{sql}: {}", String::from_utf8_lossy(&out.stderr))),
        }
    }
}

/// Starts the server under a shell that stops it, and removes its folder, once its stdin
/// closes: that is, when the test binary exits, however it exits.
fn keep_server(
    bin: &Path,
    dir: &Path,
    data: &Path,
    owner: Option<(u32, u32)>,
) -> Result<(Child, ChildStdin), String> {
    let server = format!(
        "{} -D '{}' -k '{}' -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=400 -c shared_buffers=64MB",
        bin.join("postgres").display(),
        data.display(),
        dir.display()
    );
    let as_owner = match owner {
        Some((uid, gid)) => format!("setpriv --reuid={uid} --regid={gid} --clear-groups "),
        None => String::new(),
    };
    let script = format!(
        "{as_owner}{server} >'{log}' 2>&1 & pid=$!; read _; kill -INT $pid; wait $pid; \
         rm -rf '{dir}'",
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
fn server_owner() -> Result<Option<(u32, u32)>, String> {
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

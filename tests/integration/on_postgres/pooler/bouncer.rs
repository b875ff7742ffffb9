//! A PgBouncer of a test's own, in transaction mode in front of a test server, and a test's
//! schema reached through it.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::harness::{Cmd, TestEnv};
use crate::support::postgres::{cluster, server_owner, Cluster, DATABASE};
use crate::support::wait::{eventually, GENEROUS};

/// The port PgBouncer's socket is named after; it listens on no TCP port at all.
const PORT: u16 = 6432;

/// A PgBouncer of the test's own in front of `cluster`, on a Unix socket in its folder.
pub struct Bouncer {
    dir: PathBuf,
    /// Runs PgBouncer; stops it and removes the folder when its stdin closes (on drop, or
    /// when the test binary exits however it exits).
    keeper: Option<(Child, ChildStdin)>,
}

impl Bouncer {
    pub fn start(cluster: &Cluster) -> Bouncer {
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
    pub fn url(&self, schema: &str) -> String {
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
    pub fn stat(&self, command: &str, column: &str) -> i64 {
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
pub struct Pooled {
    pub env: TestEnv,
    pub url: String,
}

impl Pooled {
    pub fn new(bouncer: &Bouncer) -> Pooled {
        let env = TestEnv::new();
        let url = bouncer.url(env.schema().expect("a schema"));
        Pooled { env, url }
    }

    pub fn on(cluster: &Cluster, bouncer: &Bouncer) -> Pooled {
        let env = TestEnv::on(cluster);
        let url = bouncer.url(env.schema().expect("a schema"));
        Pooled { env, url }
    }

    pub fn cmd(&self, args: &[&str]) -> Cmd {
        self.env.cmd(args).env("QUEUEPRIM_DB", &self.url)
    }

    #[track_caller]
    pub fn json<T: serde::de::DeserializeOwned>(&self, args: &[&str]) -> T {
        self.cmd(args).expect_status(0).json()
    }
}

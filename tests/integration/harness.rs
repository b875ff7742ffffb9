//! The test harness: a fresh database per test and a builder that runs the real binary and
//! checks its exit code, stdout and stderr with readable failures.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::support::postgres;

pub const BIN: &str = env!("CARGO_BIN_EXE_queueprim");

/// The engine the tests of this binary run on: each test binary's root names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub const ENGINE: Engine = crate::ENGINE;

/// One test's database and a temporary folder (its home, its files): a SQLite file in that
/// folder, or a schema of its own on the test PostgreSQL server.
pub struct TestEnv {
    dir: tempfile::TempDir,
    /// The schema, on PostgreSQL.
    schema: Option<String>,
    /// The URL of a server of the test's own, when it is not on the shared one.
    server: Option<String>,
    created_ms: i64,
}

impl TestEnv {
    pub fn new() -> Self {
        let created_ms = now_ms();
        let schema = match ENGINE {
            Engine::Sqlite => None,
            Engine::Postgres => Some(postgres::cluster().fresh_schema()),
        };
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
            schema,
            server: None,
            created_ms,
        }
    }

    /// A test's database on `cluster`, a PostgreSQL server of the test's own.
    pub fn on(cluster: &postgres::Cluster) -> Self {
        let created_ms = now_ms();
        let schema = cluster.fresh_schema();
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
            server: Some(cluster.url(&schema)),
            schema: Some(schema),
            created_ms,
        }
    }

    /// When this environment was made, by the wall clock: anything queueprim stamped for
    /// this test happened at or after it.
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite file, for tests of SQLite's own behaviour.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("queue.db")
    }

    /// What `--db` / `QUEUEPRIM_DB` is set to: the file, or the server's URL.
    pub fn db_arg(&self) -> OsString {
        match (&self.server, &self.schema) {
            (Some(url), _) => url.into(),
            (None, None) => self.db().into_os_string(),
            (None, Some(schema)) => postgres::cluster().url(schema).into(),
        }
    }

    /// [`TestEnv::db_arg`] for a process that connects as `application`, so the test can
    /// find its session on the PostgreSQL server (SQLite has no such thing).
    pub fn db_arg_as(&self, application: &str) -> OsString {
        let mut arg = self.db_arg();
        if self.schema.is_some() {
            arg.push(format!("&application_name={application}"));
        }
        arg
    }

    /// The database as the library opens it, for tests that drive the store directly.
    pub fn location(&self) -> queueprim::store::Location {
        queueprim::store::Location::parse(&self.db_arg()).expect("a test database location")
    }

    /// The test's schema, on PostgreSQL.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Whether the database exists: the file, or queueprim's schema on the server.
    pub fn db_exists(&self) -> bool {
        match &self.schema {
            None => self.db().exists(),
            Some(schema) => {
                let found = postgres::cluster().psql(&format!(
                    "SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"
                ));
                found == "1"
            }
        }
    }

    /// `program` (queueprim, or a shell that runs it) on this test's database, isolated
    /// from the caller's environment; for tests that need the bare `Command` (`pre_exec`,
    /// a process group, a file on stdin).
    pub fn isolated(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_remove("QUEUEPRIM_FORMAT")
            .env_remove("QUEUEPRIM_SYNCHRONOUS")
            .env("QUEUEPRIM_DB", self.db_arg())
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"));
        command
    }

    /// A `queueprim` command on this test's database, isolated from the caller's environment.
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.isolated(BIN);
        command.args(args);
        Cmd {
            command,
            stdin: Vec::new(),
        }
    }

    /// Runs a command that must succeed and parses its stdout as JSON.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self, args: &[&str]) -> T {
        self.cmd(args).expect_status(0).json()
    }

    /// Enqueues a payload and returns the new job.
    #[track_caller]
    pub fn enqueue(&self, queue: &str, payload: &str, extra: &[&str]) -> Job {
        let mut args = vec!["enqueue", queue, "--payload", payload];
        args.extend_from_slice(extra);
        self.json(&args)
    }

    /// Dequeues one job, which must be there.
    #[track_caller]
    pub fn dequeue(&self, queue: &str, extra: &[&str]) -> Job {
        let mut args = vec!["dequeue", queue];
        args.extend_from_slice(extra);
        self.json(&args)
    }

    /// Asserts the queue hands out nothing right now.
    #[track_caller]
    pub fn assert_empty(&self, queue: &str) {
        self.cmd(["dequeue", queue])
            .expect_status(0)
            .expect_stdout("");
    }
}

/// A command being built.
pub struct Cmd {
    command: Command,
    stdin: Vec<u8>,
}

impl Cmd {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = input.into();
        self
    }

    /// Starts the command without waiting, stdout and stderr piped.
    pub fn spawn(mut self) -> Child {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn queueprim")
    }

    /// Runs to completion and returns what it did.
    pub fn run(mut self) -> Run {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn queueprim");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = std::mem::take(&mut self.stdin);
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().expect("wait for queueprim");
        writer.join().expect("stdin writer");
        Run {
            args: format!("{:?}", self.command.get_args().collect::<Vec<_>>()),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn expect_status(self, code: i32) -> Run {
        self.run().expect_status(code)
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub args: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn expect_status(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "queueprim {} exited {:?}, expected {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn expect_stdout(self, expected: &str) -> Self {
        assert_eq!(self.stdout, expected, "stdout of queueprim {}", self.args);
        self
    }

    #[track_caller]
    pub fn expect_stderr_contains(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr of queueprim {} should contain {needle:?}, was:\n{}",
            self.args,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout of queueprim {} is not the expected JSON ({e}):\n{}",
                self.args, self.stdout
            )
        })
    }

    /// The JSON error object printed on stderr with `--format json`.
    #[track_caller]
    pub fn json_error(&self) -> ErrorBody {
        let parsed: ErrorJson = serde_json::from_str(self.stderr.trim()).unwrap_or_else(|e| {
            panic!(
                "stderr of queueprim {} is not a JSON error ({e}):\n{}",
                self.args, self.stderr
            )
        });
        parsed.error
    }
}

// The JSON contract, pinned: parsing fails on any field added, removed or retyped.

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub id: String,
    pub queue: String,
    #[serde(rename = "type")]
    pub job_type: Option<String>,
    pub payload: Value,
    pub priority: i64,
    pub status: String,
    pub attempts: u32,
    pub attempt_count: u32,
    pub max_retries: u32,
    pub backoff_ms: Option<i64>,
    pub backoff_max_ms: Option<i64>,
    pub group: Option<String>,
    pub key: Option<String>,
    pub worker: Option<String>,
    pub claim: Option<String>,
    pub claim_deadline: Option<String>,
    pub run_after: Option<String>,
    pub visible_after: Option<String>,
    pub output: Option<Value>,
    pub errors: Vec<Failure>,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    /// Printed by `enqueue` only.
    #[serde(default)]
    pub deduplicated: Option<bool>,
    /// Printed by `complete` only.
    #[serde(default)]
    pub follow_ups: Option<Vec<FollowUp>>,
}

/// A follow-up job `complete` enqueued.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub id: String,
    pub queue: String,
    pub deduplicated: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub at: String,
    pub attempt: u32,
    pub worker: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub pending: u64,
    pub claimed: u64,
    pub done: u64,
    pub dead: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueCounts {
    pub queue: String,
    pub pending: u64,
    pub claimed: u64,
    pub done: u64,
    pub dead: u64,
    pub total: u64,
    pub paused: bool,
    pub timeout_ms: Option<i64>,
    pub max_retries: Option<u32>,
    pub backoff_ms: Option<i64>,
}

/// What `config`, `pause` and `resume` print.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    pub queue: String,
    pub paused: bool,
    pub timeout_ms: Option<i64>,
    pub max_retries: Option<u32>,
    pub backoff_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purge {
    pub matched: u64,
    pub removed: u64,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    pub at: String,
    pub retried: u64,
    pub dead: u64,
}

/// What `info` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    pub backend: String,
    pub db: String,
    pub db_from: String,
    pub exists: bool,
    pub schema_version: Option<i64>,
    pub supported_schema_version: i64,
    pub size_bytes: Option<u64>,
    pub wal_bytes: Option<u64>,
    pub synchronous: String,
    pub queues: u64,
    pub counts: Counts,
    pub version: String,
}

/// What `cancel` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cancelled {
    pub cancelled: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorJson {
    pub error: ErrorBody,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub kind: String,
    pub message: String,
}

/// Checks a timestamp has the documented shape: RFC 3339 UTC with milliseconds.
#[track_caller]
pub fn assert_timestamp(s: &str) {
    let b = s.as_bytes();
    let shape_ok = b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        shape_ok,
        "not an RFC 3339 UTC timestamp with milliseconds: {s}"
    );
}

/// The wall clock in milliseconds since the Unix epoch, as queueprim reads it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// A timestamp from queueprim's JSON as milliseconds since the Unix epoch.
#[track_caller]
pub fn millis(rfc3339: &str) -> i64 {
    assert_timestamp(rfc3339);
    let t = humantime::parse_rfc3339(rfc3339).expect("an RFC 3339 timestamp");
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

//! The command line: every clap type, and the help text that becomes `--help` and the man
//! pages. Parsing and validation of single values happen here; behaviour lives in `cmd`.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::builder::{
    EnumValueParser, OsStringValueParser, PossibleValue, StringValueParser, TypedValueParser,
};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::input::{
    parse_claim, parse_group, parse_job_id, parse_job_type, parse_key, parse_priority, parse_queue,
    parse_worker,
};
use crate::text::{escape_invalid_utf8, printable};
use crate::time::{parse_duration, parse_positive_duration, parse_timestamp, Millis};

/// A durable work queue on one SQLite file, or on a PostgreSQL server (--db postgresql://…).
///
/// Producers enqueue JSON jobs; workers dequeue them with a visibility timeout, then complete
/// or fail them. Jobs survive restarts, run highest priority first, retry on failure and end
/// dead when they cannot succeed. Every command opens the database, runs one transaction,
/// prints its result and exits; any number may run at once on one database. `serve` puts
/// the same queue behind an HTTP API, with a dashboard.
///
/// Output: JSON when stdout is not a terminal, a table when it is (see --format). Errors are
/// one line on stderr; with --format json, one JSON object: {"error":{"kind":..,"message":..}}.
///
/// Exit status: 0 success (an empty dequeue too); 1 runtime error (database, I/O); 2 bad
/// usage or bad input; 3 no such job; 4 conflict (the job's state does not allow it, or the
/// claim is no longer yours); 130 or 143 interrupted by SIGINT or SIGTERM while waiting.
/// A closed output pipe is not an error.
///
/// Environment: QUEUEPRIM_DB (--db), QUEUEPRIM_FORMAT (--format), QUEUEPRIM_SYNCHRONOUS
/// (--synchronous).
#[derive(Debug, Parser)]
#[command(name = "queueprim", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The options every command takes, listed apart from each command's own.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB
    /// [default: ~/.local/share/queueprim/queueprim.db; see info]
    #[arg(
        long,
        global = true,
        env = "QUEUEPRIM_DB",
        hide_env_values = true,
        value_name = "PATH|URL"
    )]
    pub db: Option<PathBuf>,

    /// Output format [default: table on a terminal, json otherwise]
    #[arg(
        long,
        global = true,
        env = "QUEUEPRIM_FORMAT",
        hide_env_values = true,
        value_parser = utf8(EnumValueParser::<Format>::new()),
        value_name = "FORMAT"
    )]
    pub format: Option<Format>,

    /// full syncs every commit to disk; normal survives a crash of queueprim, not of the
    /// machine holding the database
    #[arg(
        long,
        global = true,
        env = "QUEUEPRIM_SYNCHRONOUS",
        hide_env_values = true,
        value_enum,
        value_parser = utf8(EnumValueParser::<SyncMode>::new()),
        value_name = "MODE",
        default_value_t = SyncMode::Full
    )]
    pub synchronous: SyncMode,

    /// Where `db` came from; set after parsing, for `info`.
    #[arg(skip)]
    pub db_source: DbSource,
}

/// Where the database path came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DbSource {
    /// The user data folder.
    #[default]
    Default,
    /// The --db flag.
    Flag,
    /// The QUEUEPRIM_DB variable.
    Env,
}

impl DbSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DbSource::Default => "default",
            DbSource::Flag => "--db",
            DbSource::Env => "QUEUEPRIM_DB",
        }
    }
}

/// table: aligned columns for people; json: one document (an array for lists); jsonl: one
/// object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncMode {
    Full,
    Normal,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Enqueue(EnqueueArgs),
    Dequeue(DequeueArgs),
    Complete(CompleteArgs),
    Fail(FailArgs),
    Extend(ExtendArgs),
    Get(GetArgs),
    List(ListArgs),
    /// Count jobs by status over every queue.
    ///
    /// Example: queueprim stats
    Stats,
    /// Count jobs by status for each queue.
    ///
    /// Example: queueprim queues
    Queues,
    Purge(PurgeArgs),
    /// Show which database commands use and what it holds.
    ///
    /// Prints where the database is and where that came from (--db, QUEUEPRIM_DB or the
    /// default), whether it exists, its schema version and the newest this build knows,
    /// its size, the durability commits use, and its queues and jobs by status. Creates
    /// nothing: a database that does not exist is reported as such.
    ///
    /// Example: queueprim info
    Info,
    Sweep(SweepArgs),
    Top(TopArgs),
    Work(WorkArgs),
    Retry(RetryArgs),
    Release(ReleaseArgs),
    Cancel(CancelArgs),
    Peek(PeekArgs),
    Pause(PauseArgs),
    Resume(ResumeArgs),
    Config(ConfigArgs),
    Export(ExportArgs),
    Import(ImportArgs),
    Serve(ServeArgs),
    Token(TokenArgs),
    Completions(CompletionsArgs),
    Man(ManArgs),
}

/// The queue a command works on, given either as the first argument or with --queue.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct QueueArg {
    /// Queue name: 1-128 characters of A-Z a-z 0-9 - _ . / : (slashes namespace, e.g. tenant/acme)
    #[arg(value_name = "QUEUE", value_parser = utf8(parse_queue))]
    pub positional: Option<String>,

    /// Queue name, instead of the positional QUEUE
    #[arg(long = "queue", value_name = "QUEUE", value_parser = utf8(parse_queue))]
    pub flag: Option<String>,
}

impl QueueArg {
    pub fn name(&self) -> &str {
        // clap's required group guarantees exactly one of the two.
        self.positional
            .as_deref()
            .or(self.flag.as_deref())
            .unwrap_or_default()
    }
}

/// A queue to filter by, optionally, given either as the first argument or with --queue.
#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub struct QueueFilter {
    /// Only jobs in this queue
    #[arg(value_name = "QUEUE", value_parser = utf8(parse_queue))]
    pub positional: Option<String>,

    /// Only jobs in this queue, instead of the positional QUEUE
    #[arg(long = "queue", value_name = "QUEUE", value_parser = utf8(parse_queue))]
    pub flag: Option<String>,
}

impl QueueFilter {
    pub fn name(&self) -> Option<&str> {
        self.positional.as_deref().or(self.flag.as_deref())
    }
}

/// How dequeue and work claim jobs.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    #[command(flatten)]
    pub queue: QueueArg,

    /// Name this worker; stored on the job for debugging [work's default: HOST:PID]
    #[arg(long, value_name = "NAME", value_parser = utf8(parse_worker))]
    pub worker: Option<String>,

    /// Claim only jobs of this type
    #[arg(long = "type", value_name = "TYPE", value_parser = utf8(parse_job_type))]
    pub job_type: Option<String>,

    /// How long a claim lasts before the job is handed out again, at least 1s (work renews it
    /// while the command runs, so there it only bounds how long a crashed runner's jobs stay
    /// claimed) [default: the queue's (see config), else 30m]
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_claim_timeout))]
    pub timeout: Option<Millis>,
}

/// The shortest claim accepted (`--timeout` of dequeue, work and config). `work` renews a
/// claim every third of it and stops the command at two thirds if no renewal has landed, so
/// a renewal (one small write: 10–25 ms on a loaded machine, more while other writers hold
/// the lock) gets a third of the claim to land, and the stopped command a third to be gone
/// before the deadline. At 1 s that is over 300 ms each, more than ten times a renewal; much
/// shorter, and scheduling delays alone on a busy machine would stop jobs. A `dequeue` caller
/// heartbeating with `extend`, a process start plus the same write, needs the same room.
pub const MIN_CLAIM_TIMEOUT: Millis = 1_000;

/// A claim timeout: a duration of at least [`MIN_CLAIM_TIMEOUT`].
pub fn parse_claim_timeout(s: &str) -> Result<Millis, String> {
    let ms = parse_positive_duration(s)?;
    if ms < MIN_CLAIM_TIMEOUT {
        return Err(format!(
            "claim timeout '{}' is too short: it must be at least 1s, so that renewals (each a \
             write to the database) can land before it expires",
            printable(s)
        ));
    }
    Ok(ms)
}

/// Add a job to a queue and print it.
///
/// The payload is any JSON value up to 1 MiB (compacted). --batch reads one JSON payload per
/// line from stdin and adds them all in one transaction: all or nothing, and a bad line is
/// named by its number; blank lines are skipped. It prints the new jobs as an array.
///
/// Example: queueprim enqueue emails --payload '{"to":"a@example.com"}' --priority high
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    #[command(flatten)]
    pub queue: QueueArg,

    /// The job's payload: JSON, @FILE to read it from a file, or - to read stdin
    #[arg(
        long,
        value_name = "JSON|@FILE|-",
        value_parser = utf8(StringValueParser::new()),
        required_unless_present = "batch"
    )]
    pub payload: Option<String>,

    /// Read newline-delimited JSON payloads from stdin, enqueue all in one transaction
    #[arg(long, conflicts_with = "payload")]
    pub batch: bool,

    /// Higher runs first: an integer, or high (10), normal (0), low (-10)
    #[arg(long, value_parser = utf8(parse_priority), default_value = "normal", allow_negative_numbers = true)]
    pub priority: i64,

    /// Retries after the first failure; the job is tried at most N + 1 times [default: the
    /// queue's (see config), else 0]
    #[arg(long, value_name = "N", value_parser = utf8(clap::value_parser!(u32)))]
    pub max_retries: Option<u32>,

    /// Wait this long before the first retry, twice as long before each next one (with a
    /// little jitter) [default: the queue's, else none]
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_positive_duration))]
    pub backoff: Option<Millis>,

    /// Never wait longer than this between retries [default: 1d]
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_positive_duration), requires = "backoff")]
    pub backoff_max: Option<Millis>,

    /// Ordered group: jobs of one group run one at a time, in enqueue order (other groups and
    /// ungrouped jobs are not held up)
    #[arg(long, value_name = "GROUP", value_parser = utf8(parse_group))]
    pub group: Option<String>,

    /// Dedup key: while a job with this key is pending or claimed in the queue, return that
    /// job instead of adding another
    #[arg(long, value_name = "KEY", value_parser = utf8(parse_key))]
    pub key: Option<String>,

    /// Make the job visible only after this long (e.g. 90s, 1h 30m)
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_duration), conflicts_with = "at")]
    pub delay: Option<Millis>,

    /// Make the job visible only from this time (RFC 3339, e.g. 2026-12-01T09:00:00Z)
    #[arg(long, value_name = "TIME", value_parser = utf8(parse_timestamp))]
    pub at: Option<Millis>,

    /// Job type, so specialised workers can claim only theirs (dequeue --type)
    #[arg(long = "type", value_name = "TYPE", value_parser = utf8(parse_job_type))]
    pub job_type: Option<String>,
}

/// Claim the next visible job and print it.
///
/// Jobs come highest priority first, then oldest first. The claim lasts --timeout; complete,
/// fail or extend it before then, or the job is released and counts a failed attempt. An
/// empty queue prints nothing and exits 0 ([] with --count). --wait blocks until a job
/// comes (at most DUR if given); SIGINT or SIGTERM while waiting claims nothing and exits
/// 130 or 143.
///
/// Example: JOB=$(queueprim dequeue emails --worker mailer-1 --wait 20s)
#[derive(Debug, Args)]
#[command(mut_arg("timeout", |a| a.help(DEQUEUE_TIMEOUT)))]
#[command(mut_arg("worker", |a| a.help("Name this worker; stored on the job (its \"worker\" field) and shown by list")))]
pub struct DequeueArgs {
    #[command(flatten)]
    pub claim: ClaimArgs,

    /// Block until a job is available; with DUR, at most that long (write --wait=DUR or put
    /// the queue first when the queue is positional)
    #[arg(long, value_name = "DUR", num_args = 0..=1, default_missing_value = "forever", value_parser = utf8(parse_wait))]
    pub wait: Option<Wait>,

    /// Claim up to N jobs (1 to 10000) at once and print them as an array
    #[arg(long, value_name = "N", value_parser = utf8(clap::value_parser!(u32).range(1..=10_000)))]
    pub count: Option<u32>,
}

const DEQUEUE_TIMEOUT: &str =
    "How long the claim lasts, at least 1s. A claim not completed, failed or \
extended by then expires, and that counts a failed attempt: with the default --max-retries 0 \
the job is then dead. A late complete --claim TOKEN still makes it done, as long as nobody \
has claimed it since [default: the queue's (see config), else 30m]";

const WORK_TIMEOUT: &str = "How long each claim lasts, at least 1s. While a command runs its \
claim is renewed every third of this, so it only bounds how long the jobs of a runner that crashed \
stay claimed (each such expiry counts a failed attempt) [default: the queue's (see config), \
else 30m]";

/// How long `dequeue --wait` may block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Forever,
    For(Millis),
}

fn parse_wait(s: &str) -> Result<Wait, String> {
    if s == "forever" {
        return Ok(Wait::Forever);
    }
    parse_duration(s).map(Wait::For).map_err(|e| {
        // `dequeue --wait emails` takes the queue for a duration. A value starting with a dash
        // came from `--wait=-1` (clap takes no such word after a bare --wait), and one that
        // is no queue name was not meant as one: neither gets the hint.
        if s.starts_with('-') || parse_queue(s).is_err() {
            e
        } else {
            format!(
                "{e}; if '{}' is a queue, put it before --wait or write --wait=DUR",
                printable(s)
            )
        }
    })
}

/// Mark a claimed job done.
///
/// Pass --claim with the token dequeue printed: if your claim expired and the job went to
/// another worker, complete is then refused (exit 4) instead of overwriting their run. A
/// late complete, after the claim expired but before anyone else claimed the job, is
/// accepted with that token, even when the expiry made the job dead: it becomes done.
///
/// Example: queueprim complete q_1m8nqj814jqfwrx --claim c_8k2m4x7q9r1t --output '{"sent":true}'
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The job's id
    #[arg(value_parser = utf8(parse_job_id))]
    pub id: String,

    /// Result to store on the job: JSON, @FILE, or - for stdin
    #[arg(long, value_name = "JSON|@FILE|-", value_parser = utf8(StringValueParser::new()))]
    pub output: Option<String>,

    /// Act only if this is still the job's claim (the "claim" field printed by dequeue)
    #[arg(long, value_name = "TOKEN", value_parser = utf8(parse_claim))]
    pub claim: Option<String>,

    /// Also enqueue this follow-up job, in the same transaction: the completion and every
    /// follow-up commit together or not at all (repeatable)
    #[arg(long = "enqueue", value_name = "QUEUE=JSON", value_parser = utf8(parse_follow_up))]
    pub follow_ups: Vec<(String, String)>,

    /// Also enqueue follow-ups written as JSON objects with enqueue's options, e.g.
    /// {"queue":"mail","payload":{..},"priority":"high","delay":"90s"} (also "type",
    /// "group", "key", "at", "max_retries", "backoff", "backoff_max"); @FILE or - reads any
    /// number of them, one after another (repeatable; after the --enqueue ones)
    #[arg(long = "follow-up", value_name = "OBJECT|@FILE|-", value_parser = utf8(StringValueParser::new()))]
    pub follow_up_objects: Vec<String>,
}

/// `QUEUE=JSON` for `complete --enqueue`.
fn parse_follow_up(s: &str) -> Result<(String, String), String> {
    let (queue, json) = s.split_once('=').ok_or_else(|| {
        format!(
            "expected QUEUE=JSON, like 'emails={{\"to\":\"a@b.c\"}}', got '{}'",
            printable(s)
        )
    })?;
    let queue = parse_queue(queue)?;
    let payload =
        crate::input::compact_json(json).map_err(|e| format!("follow-up payload: {e}"))?;
    Ok((queue, payload))
}

/// Record a failed attempt on a claimed job.
///
/// While attempt_count < max_retries the job goes back to pending for another try; otherwise,
/// or with --dead, it becomes dead. The reason is kept in the job's errors.
///
/// Example: queueprim fail q_1m8nqj814jqfwrx --claim c_8k2m4x7q9r1t --reason "smtp timeout"
#[derive(Debug, Args)]
pub struct FailArgs {
    /// The job's id
    #[arg(value_parser = utf8(parse_job_id))]
    pub id: String,

    /// Why it failed (kept in the job's errors; cut at 4096 characters)
    #[arg(long, value_name = "TEXT", value_parser = clap::value_parser!(OsString))]
    pub reason: Option<OsString>,

    /// Make the job dead now, whatever retries it has left
    #[arg(long)]
    pub dead: bool,

    /// If the job is retried, wait this long first (instead of its backoff)
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_duration), conflicts_with = "dead")]
    pub retry_in: Option<Millis>,

    /// Act only if this is still the job's claim
    #[arg(long, value_name = "TOKEN", value_parser = utf8(parse_claim))]
    pub claim: Option<String>,
}

/// Push a claim's deadline further (a heartbeat for long jobs).
///
/// The new deadline is the old one plus DUR, or now plus DUR if the old one has passed and
/// nobody has taken the job yet.
///
/// Example: queueprim extend q_1m8nqj814jqfwrx --by 30m --claim c_8k2m4x7q9r1t
#[derive(Debug, Args)]
pub struct ExtendArgs {
    /// The job's id
    #[arg(value_parser = utf8(parse_job_id))]
    pub id: String,

    /// How much longer the claim should last
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_positive_duration))]
    pub by: Millis,

    /// Act only if this is still the job's claim
    #[arg(long, value_name = "TOKEN", value_parser = utf8(parse_claim))]
    pub claim: Option<String>,
}

/// Print one job.
///
/// Example: queueprim get q_1m8nqj814jqfwrx
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The job's id
    #[arg(value_parser = utf8(parse_job_id))]
    pub id: String,
}

/// List jobs, newest first.
///
/// Example: queueprim list emails --status dead --limit 20
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub queue: QueueFilter,

    /// Only jobs with this status: pending, claimed, done or dead
    #[arg(long, value_name = "STATUS", value_parser = status_parser())]
    pub status: Option<crate::job::Status>,

    /// Only jobs of this type
    #[arg(long = "type", value_name = "TYPE", value_parser = utf8(parse_job_type))]
    pub job_type: Option<String>,

    /// Only jobs last claimed by this worker
    #[arg(long, value_name = "NAME", value_parser = utf8(parse_worker))]
    pub worker: Option<String>,

    /// At most N jobs; 0 lists them all
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = utf8(clap::value_parser!(u64)))]
    pub limit: u64,
}

/// Statuses as a fixed set, so help and completions list them.
fn status_parser() -> impl TypedValueParser<Value = crate::job::Status> {
    utf8(clap::builder::PossibleValuesParser::new([
        "pending", "claimed", "done", "dead",
    ]))
    .try_map(|s| crate::job::Status::parse(&s))
}

/// Delete jobs matching filters and print how many.
///
/// At least one filter is required, or --all. --older-than matches jobs last updated more
/// than DUR ago (for done and dead jobs, when they finished). Claimed jobs are work in flight
/// and are deleted only with --status claimed; --older-than without --status means done and
/// dead jobs only. Large purges run in batches of 5000, each its own transaction, so workers
/// keep running meanwhile.
///
/// Example: queueprim purge --status dead --older-than 7d
#[derive(Debug, Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub queue: QueueFilter,

    /// Only jobs with this status
    #[arg(long, value_name = "STATUS", value_parser = status_parser())]
    pub status: Option<crate::job::Status>,

    /// Only jobs last updated more than DUR ago
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_duration))]
    pub older_than: Option<Millis>,

    /// Count what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Allow a purge with no filter: delete every job that is not claimed
    #[arg(long)]
    pub all: bool,
}

/// Release expired claims, now and then, until stopped.
///
/// Dequeue already releases expired claims of its own queue, so sweep is optional: it keeps
/// list, stats and queues current and turns jobs that kept crashing their workers dead
/// without waiting for the next dequeue. Prints a line for each pass that released
/// something; exits 0 on SIGINT or SIGTERM.
///
/// Example: queueprim sweep --interval 30s
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Time between passes
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_positive_duration), default_value = "10s")]
    pub interval: Millis,

    /// Make one pass, print what it did, and exit
    #[arg(long)]
    pub once: bool,
}

/// Watch every queue's counts and rates, redrawn in place until Ctrl-C.
///
/// Reads the database directly, on either engine (no server needed), and writes nothing.
/// Each frame shows, per queue, its jobs by status, how many finished per second over the
/// last interval (done/s, dead/s), how long its oldest claimable job has waited, and whether
/// it is paused. At a terminal the frame is redrawn in place, fitted to the window; in a
/// pipe each frame follows the last as plain lines (--format table) or as one JSON object
/// per line. SIGINT (Ctrl-C) or SIGTERM stops it with exit 0.
///
/// Example: queueprim top --interval 5s
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Time between frames; the rates are counted over it
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_top_interval), default_value = "2s")]
    pub interval: Millis,

    /// Print one frame and exit
    #[arg(long)]
    pub once: bool,
}

/// A frame interval: at least 100ms, so a typo cannot turn `top` into a busy loop.
fn parse_top_interval(s: &str) -> Result<Millis, String> {
    let interval = parse_positive_duration(s)?;
    match interval >= 100 {
        true => Ok(interval),
        false => Err(format!("'{}' is too short: at least 100ms", printable(s))),
    }
}

/// Run a command for each job: the worker loop, built in.
///
/// Claims jobs like dequeue (same order, --type filter, --timeout claims) and runs CMD once
/// per job, directly, without a shell. CMD gets the payload as one line of JSON on stdin, and
/// QUEUEPRIM_JOB_ID, QUEUEPRIM_QUEUE, QUEUEPRIM_JOB_TYPE, QUEUEPRIM_ATTEMPT (1 for the first
/// try), QUEUEPRIM_CLAIM and QUEUEPRIM_DB in its environment. While CMD runs, its claim is
/// renewed every third of --timeout, so a long job is never handed to anyone else while it
/// runs. If no renewal has landed by two thirds of the claim (a database too busy or slow),
/// CMD is stopped (SIGTERM, then SIGKILL at three quarters) before the claim can expire, and
/// the job fails with that reason; if the claim is lost anyway, CMD is stopped and nothing is
/// recorded.
///
/// Exit 0 completes the job with CMD's stdout as output (stored as JSON when it parses, as a
/// string otherwise). Another exit code or a signal fails it, with the reason and the end of
/// CMD's stderr, and the retry rule applies. CMD's stderr passes through to ours.
///
/// SIGINT or SIGTERM stops claiming at once; running commands get --grace to finish, then
/// SIGTERM (and SIGKILL 5 s later), and their jobs go back to pending without counting an
/// attempt. One line per job goes to stderr; with --format json or jsonl, one JSON event per
/// job goes to stdout instead, and a summary at exit.
///
/// Example: queueprim work emails --concurrency 4 -- ./send-email.sh --from ops@example.com
#[derive(Debug, Args)]
#[command(mut_arg("timeout", |a| a.help(WORK_TIMEOUT)))]
#[command(mut_arg("worker", |a| a.help("Name this runner; stored on the jobs it claims [default: HOST:PID]")))]
pub struct WorkArgs {
    #[command(flatten)]
    pub claim: ClaimArgs,

    /// Run up to N jobs at once
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = utf8(clap::value_parser!(u16).range(1..=256)))]
    pub concurrency: u16,

    /// Stop a command running longer than this (SIGTERM, SIGKILL 5 s later) and fail its job
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_positive_duration))]
    pub job_timeout: Option<Millis>,

    /// Exit once no job is visible and none is running
    #[arg(long)]
    pub until_empty: bool,

    /// Exit once the queue (of --type) has no unfinished job left: none visible, delayed,
    /// backing off or waiting in its group, and none claimed, here or by anyone else (their
    /// jobs may fail and come back). A paused queue with jobs is not drained.
    #[arg(long, conflicts_with = "until_empty")]
    pub until_drained: bool,

    /// Exit after N jobs have been run
    #[arg(long, value_name = "N", value_parser = utf8(clap::value_parser!(u64).range(1..)))]
    pub max_jobs: Option<u64>,

    /// On SIGINT/SIGTERM, how long running commands may finish before they are stopped
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_duration), default_value = "30s")]
    pub grace: Millis,

    /// The command to run for each job, after --
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

/// Bring dead jobs back to pending with a fresh attempt budget.
///
/// Give job ids (of dead or done jobs), or --queue to retry every dead job of a queue (or
/// every done one, with --status done, to run them again). Retried jobs keep their error
/// history and their place in line. With ids, all or nothing: if one id cannot be retried,
/// none is. With --queue, every job that can be: one whose dedup key an unfinished job of
/// the queue holds stays as it is, and a note on stderr counts those.
///
/// Example: queueprim retry --queue emails
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Jobs to retry
    #[arg(value_name = "ID", value_parser = utf8(parse_job_id), required_unless_present = "queue")]
    pub ids: Vec<String>,

    /// Retry every dead job of this queue
    #[arg(long, value_name = "QUEUE", value_parser = utf8(parse_queue), conflicts_with = "ids")]
    pub queue: Option<String>,

    /// With --queue: which jobs to retry
    #[arg(long, value_enum, default_value_t = RetryStatus::Dead, requires = "queue")]
    pub status: RetryStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetryStatus {
    Dead,
    Done,
}

/// Give a claimed job back to the queue without counting a failed attempt.
///
/// Example: queueprim release q_1m8nqj814jqfwrx --claim c_8k2m4x7q9r1t
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The job's id
    #[arg(value_parser = utf8(parse_job_id))]
    pub id: String,

    /// Act only if this is still the job's claim
    #[arg(long, value_name = "TOKEN", value_parser = utf8(parse_claim))]
    pub claim: Option<String>,
}

/// Take pending jobs out of their queue for good.
///
/// Pending jobs, delayed ones and those waiting in their group included, are deleted: get
/// then exits 3. A claimed job is refused (exit 4), and so are done and dead ones (purge
/// deletes those). All or nothing: if one id cannot be cancelled, none is. Cancelling frees
/// the job's dedup key and lets the next job of its group go. Prints the ids cancelled.
///
/// Example: queueprim cancel q_1m8nqj814jqfwrx q_9w2n5b8d1e
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Jobs to cancel
    #[arg(value_name = "ID", required = true, value_parser = utf8(parse_job_id))]
    pub ids: Vec<String>,
}

/// Show the next jobs a dequeue would get, in order, without claiming them.
///
/// Lists visible pending jobs as the queue stands: an expired claim that no dequeue has
/// released yet is not shown, and a paused queue shows what comes once it is resumed.
///
/// Example: queueprim peek emails --limit 5
#[derive(Debug, Args)]
pub struct PeekArgs {
    #[command(flatten)]
    pub queue: QueueArg,

    /// At most N jobs
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = utf8(clap::value_parser!(u64).range(1..=1000)))]
    pub limit: u64,
}

/// Stop handing out a queue's jobs; enqueue still accepts them.
///
/// Waiting dequeues and workers keep waiting, and go on when the queue is resumed.
///
/// Example: queueprim pause emails
#[derive(Debug, Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub queue: QueueArg,
}

/// Hand out a paused queue's jobs again.
///
/// Example: queueprim resume emails
#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub queue: QueueArg,
}

/// Show or set a queue's defaults, used by jobs and claims that do not set their own.
///
/// With no option, prints the queue's settings.
///
/// Example: queueprim config emails --timeout 5m --max-retries 3 --backoff 30s
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub queue: QueueArg,

    /// Claim length for dequeue and work, at least 1s
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_claim_timeout))]
    pub timeout: Option<Millis>,

    /// Retries for new jobs
    #[arg(long, value_name = "N", value_parser = utf8(clap::value_parser!(u32)))]
    pub max_retries: Option<u32>,

    /// Retry backoff for new jobs
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_positive_duration))]
    pub backoff: Option<Millis>,

    /// Forget every default first (pausing is kept)
    #[arg(long)]
    pub reset: bool,
}

/// Write jobs and queue settings as lines of JSON, to move them to another database.
///
/// Writes the settings of the queues, then every job (of each --queue, else all) in enqueue
/// order with its whole state: status and where a pending job waits (delayed, or behind its
/// group), attempts, claim and deadline, output, errors and times. import reads it into
/// any database, SQLite or PostgreSQL. The lines are always this format (README, "Moving a
/// queue"), whatever --format says. Jobs are read a page at a time, each page its own short
/// read, so workers carry on meanwhile; a job that changes while the export runs is written
/// as its page found it, so stop producers and workers first for an exact copy.
///
/// Example: queueprim --db old.db export | queueprim --db postgresql://app@db.internal/app import
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only the jobs and settings of this queue (repeatable)
    #[arg(long = "queue", value_name = "QUEUE", value_parser = utf8(parse_queue))]
    pub queues: Vec<String>,
}

/// Add the jobs and queue settings of an export, read from stdin, in one transaction.
///
/// Each job comes back exactly as exported: its id, state, claim and deadline, history and
/// times (a claim that expired meanwhile is released by the next dequeue, as usual). All or
/// nothing: a bad line is named by its number and nothing is imported, and so is input cut
/// short, without export's end line. A job whose id is already in the database is a
/// conflict (exit 4) unless --skip-existing; so are two unfinished jobs of a queue with one
/// dedup key, and two live jobs in one group, counting the jobs already there. Imported
/// jobs come after those in line; settings in the export replace the queue's. On SQLite
/// the import holds the write lock until it commits: other writers wait.
///
/// Example: queueprim --db postgresql://app@db.internal/app export | queueprim --db new.db import
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Leave a job whose id is already in the database as it is, skip its line, and import
    /// the rest [default: refuse the whole import, exit 4]
    #[arg(long)]
    pub skip_existing: bool,
}

/// Serve the queue over HTTP, for producers and workers that cannot run the CLI.
///
/// Serves the same database as every command (a SQLite file or a PostgreSQL URL) as a JSON
/// API: enqueue, claim (with long-polling), complete, fail, extend, release, retry, cancel,
/// get, list, queues, stats, settings and purge, plus /metrics (Prometheus), /healthz and
/// /openapi.json, and a dashboard for browsers at / (sign in with a token). Every request
/// but /healthz, /openapi.json and the dashboard's page needs a token (see token
/// create), and sees only the queues it was given: any other queue or job is answered 404.
/// Writes arriving together are committed together, each answered once durable. One line
/// per request goes to stderr. SIGTERM or SIGINT stops accepting, lets requests in flight
/// finish (waiting claims answer [] having claimed nothing) and exits 0.
///
/// Example: queueprim serve --listen 0.0.0.0:8080
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one; the log says which)
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080", value_parser = utf8(parse_listen))]
    pub listen: std::net::SocketAddr,

    /// Serve without tokens: every caller reaches every queue. Refused unless --listen is a
    /// loopback address
    #[arg(long)]
    pub no_auth: bool,

    /// Connections served at once; more wait to be accepted
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = utf8(clap::value_parser!(u32).range(1..=100_000)))]
    pub max_connections: u32,

    /// Close a connection that sends no request (or not the rest of its headers) for this
    /// long
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = utf8(parse_positive_duration))]
    pub idle_timeout: Millis,
}

/// An address to listen on, as `HOST:PORT` with a numeric host.
fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|_| {
        format!(
            "invalid address '{}': expected an IP address and port, like 127.0.0.1:8080 or \
             [::1]:8080",
            printable(s)
        )
    })
}

/// Create, list and revoke the API tokens of serve.
///
/// A token reaches the queues its patterns match (tenant/acme/* for every queue under
/// tenant/acme/, * for all). Only a hash of it is stored: create prints the token once.
///
/// Example: queueprim token create --queues 'tenant/acme/*' --name acme-producer
#[derive(Debug, Args)]
#[command(disable_help_subcommand = true)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    Create(TokenCreateArgs),
    /// List every token (never their secrets), revoked and expired ones included.
    ///
    /// Example: queueprim token list
    List,
    Revoke(TokenRevokeArgs),
}

/// Make a token and print it, once.
///
/// Example: queueprim token create --queues 'tenant/acme/*' --expires 90d
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Queue patterns the token reaches, comma-separated or repeated: a queue name, with *
    /// for any characters (tenant/acme/*), or * for every queue
    #[arg(long, value_name = "PATTERN", required = true, value_delimiter = ',', value_parser = utf8(crate::tokens::parse_pattern))]
    pub queues: Vec<String>,

    /// A name for people (shown by token list)
    #[arg(long, value_name = "NAME", value_parser = utf8(parse_worker))]
    pub name: Option<String>,

    /// The token stops working after this long [default: never]
    #[arg(long, value_name = "DUR", value_parser = utf8(parse_positive_duration))]
    pub expires: Option<Millis>,

    /// The token may only enqueue jobs (a producer): every other route answers 404
    #[arg(long)]
    pub produce_only: bool,
}

/// Revoke a token for good; requests with it get 401 from then on.
///
/// Example: queueprim token revoke t_8k2m4x7q9r
#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's id (t_…), as token list shows it
    #[arg(value_name = "ID", value_parser = utf8(parse_token_id))]
    pub id: String,
}

/// A token id as `token create` prints it.
fn parse_token_id(s: &str) -> Result<String, String> {
    let body = s.strip_prefix("t_").unwrap_or("");
    if !body.is_empty() && body.len() <= 62 && body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(s.to_string());
    }
    Err(format!(
        "invalid token id '{}': expected an id like t_8k2m4x7q9r (the \"id\" that token create \
         and token list print, not the token itself)",
        printable(s)
    ))
}

/// Print the shell completion script for SHELL.
///
/// Load it the way your shell loads completions; the man page queueprim-completions(1) and
/// the README show where each shell looks.
///
/// Example: queueprim completions bash > ~/.local/share/bash-completion/completions/queueprim
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Print a man page, or write every page into a folder.
///
/// With no COMMAND, prints queueprim(1); read it with man -l -. --dir writes all the pages
/// (queueprim.1 and queueprim-COMMAND.1) into DIR, creating it, so that man finds them when
/// DIR is a man1 folder on its path.
///
/// Example: queueprim man --dir ~/.local/share/man/man1
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print [default: the main page]
    #[arg(value_name = "COMMAND", value_parser = utf8(clap::builder::PossibleValuesParser::new(PAGES)))]
    pub command: Option<String>,

    /// Write every page into this folder instead (e.g. ~/.local/share/man/man1)
    #[arg(long, value_name = "DIR", value_parser = clap::value_parser!(PathBuf), conflicts_with = "command")]
    pub dir: Option<PathBuf>,
}

/// The commands that have a page of their own, as `man COMMAND` names them.
pub const PAGES: [&str; 31] = [
    "enqueue",
    "dequeue",
    "complete",
    "fail",
    "extend",
    "get",
    "list",
    "stats",
    "queues",
    "purge",
    "info",
    "sweep",
    "top",
    "work",
    "retry",
    "release",
    "cancel",
    "peek",
    "pause",
    "resume",
    "config",
    "export",
    "import",
    "serve",
    "token",
    "token-create",
    "token-list",
    "token-revoke",
    "completions",
    "man",
    "queueprim",
];

/// `parser` for an argument whose value must be UTF-8, refusing other bytes like any
/// invalid value: `invalid value 'w\xff' for '--worker <NAME>': not valid UTF-8`.
/// clap's own check, in its `&str` parsers, says only that "invalid UTF-8 was detected in
/// one or more arguments", leaving the user to find which. Every argument that takes text
/// goes through here, except those kept as bytes (`--db`, `--reason`, the worker's command).
fn utf8<P: TypedValueParser>(parser: P) -> Utf8<P> {
    Utf8(parser)
}

#[derive(Clone)]
struct Utf8<P>(P);

impl<P: TypedValueParser> TypedValueParser for Utf8<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<P::Value, clap::Error> {
        if value.to_str().is_some() {
            return self.0.parse_ref(cmd, arg, value);
        }
        // clap's errors naming the argument can only be made by its parsers: this one quotes
        // the value it is given, with the bytes that are not UTF-8 written as \xNN.
        let refuse = |_: OsString| Err::<P::Value, _>("not valid UTF-8");
        let quoted = escape_invalid_utf8(value);
        OsStringValueParser::new()
            .try_map(refuse)
            .parse_ref(cmd, arg, OsStr::new(&quoted))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        self.0.possible_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_wait_suggests_moving_the_queue_only_when_it_could_be_one() {
        assert_eq!(parse_wait("forever"), Ok(Wait::Forever));
        assert_eq!(parse_wait("2s"), Ok(Wait::For(2000)));
        assert!(parse_wait("emails")
            .unwrap_err()
            .contains("put it before --wait"));
        // Only `--wait=-1` gets a dash-led value to the parser: the hint would repeat it.
        assert!(!parse_wait("-1").unwrap_err().contains("--wait=DUR"));
        let control = parse_wait("x\u{1b}[2J").unwrap_err();
        assert!(!control.contains("--wait=DUR"), "{control}");
        assert!(control.contains(r"'x\u{1b}[2J'"), "{control}");
    }

    #[test]
    fn every_command_has_a_man_page_name() {
        use clap::CommandFactory;
        let mut names: Vec<String> = Cli::command()
            .get_subcommands()
            .flat_map(|c| {
                let nested = c
                    .get_subcommands()
                    .filter(|n| n.get_name() != "help")
                    .map(|n| format!("{}-{}", c.get_name(), n.get_name()));
                std::iter::once(c.get_name().to_string()).chain(nested.collect::<Vec<_>>())
            })
            .chain(["queueprim".to_string()])
            .collect();
        let mut pages: Vec<String> = PAGES.iter().map(|p| p.to_string()).collect();
        names.sort();
        pages.sort();
        assert_eq!(names, pages);
    }

    #[test]
    fn claim_timeouts_start_at_one_second() {
        assert_eq!(parse_claim_timeout("1s"), Ok(1_000));
        assert_eq!(parse_claim_timeout("30m"), Ok(1_800_000));
        let short = parse_claim_timeout("999ms").unwrap_err();
        assert!(short.contains("'999ms' is too short"), "{short}");
        assert!(short.contains("at least 1s"), "{short}");
        assert!(parse_claim_timeout("0s")
            .unwrap_err()
            .contains("longer than zero"));
    }

    #[test]
    fn a_follow_up_without_equals_is_quoted_back_escaped() {
        let err = parse_follow_up("next\u{7}").unwrap_err();
        assert!(err.ends_with(r"got 'next\u{7}'"), "{err}");
    }
}

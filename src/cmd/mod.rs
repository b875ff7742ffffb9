//! One module per subcommand. Each validates its input, opens the store, runs one operation
//! and hands the result to the printer.

mod cancel;
mod complete;
mod completions;
mod config;
mod dequeue;
mod enqueue;
mod export;
mod extend;
mod fail;
mod get;
mod import;
mod info;
mod list;
mod man;
mod pause;
mod peek;
mod purge;
mod queues;
mod release;
mod resume;
mod retry;
mod serve;
mod stats;
mod sweep;
mod token;
mod top;
mod work;

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::cli::{ClaimArgs, Cli, Command, DbSource, GlobalArgs, SyncMode};
use crate::error::Error;
use crate::job::ClaimRequest;
use crate::output::Printer;
use crate::store::{Location, OpenOptions, Store, Synchronous};

/// What every command may need besides its own arguments.
pub struct Context {
    location: Location,
    db_source: DbSource,
    options: OpenOptions,
    /// The command only reads: [`Context::open_existing`] then opens the database without
    /// writing anything to it (see [`only_reads`]).
    reads: bool,
}

impl Context {
    fn new(global: &GlobalArgs, reads: bool) -> Result<Context> {
        let (location, create_dir) = match &global.db {
            Some(db) => (Location::parse(db.as_os_str())?, false),
            None => (Location::Sqlite(default_db_path()?), true),
        };
        let synchronous = match global.synchronous {
            SyncMode::Full => Synchronous::Full,
            SyncMode::Normal => Synchronous::Normal,
        };
        Ok(Context {
            location,
            db_source: global.db_source,
            options: OpenOptions {
                synchronous,
                create_dir,
            },
            reads,
        })
    }

    /// The database as a child process should be pointed at it (`QUEUEPRIM_DB`).
    pub fn db_for_child(&self) -> OsString {
        self.location.for_child()
    }

    /// The database as messages name it: a file, or a server and schema.
    pub fn db_name(&self) -> String {
        self.location.name()
    }

    /// How to open the database again and again, from any thread (for `serve`).
    pub fn opener(&self) -> impl Fn() -> Result<Store> + Send + Sync + 'static {
        let (location, options) = (self.location.clone(), self.options.clone());
        move || Store::open(&location, &options)
    }

    /// Opens the database, creating it if needed. Commands call this only after their input
    /// has been checked, so bad input never creates or touches a database.
    pub fn open_store(&self) -> Result<Store> {
        Store::open(&self.location, &self.options)
    }

    /// Opens the database only if it exists. Commands that read, or act on jobs that must
    /// already exist, use this: a mistyped `--db` then leaves no stray database behind. A
    /// command that only reads writes nothing: an empty file, or one without a schema yet,
    /// reads as no database. Their empty result would not tell a missing database from an
    /// empty one, so a note on stderr says which, whatever the output format.
    pub fn open_existing(&self) -> Result<Option<Store>> {
        let store = self.open_if_there()?;
        if store.is_none() {
            eprintln!(
                "note: there is no database at {} (from {}); nothing to show",
                self.location.name(),
                self.db_source.as_str()
            );
        }
        Ok(store)
    }

    /// Opens the database that must hold job `id`.
    pub fn open_for_job(&self, id: &str) -> Result<Store> {
        self.open_if_there()?.ok_or_else(|| {
            Error::not_found(format!(
                "no job with id {id}: there is no database at {} yet",
                self.location.name()
            ))
            .into()
        })
    }

    /// The database if there is one, opened for reading only when the command only reads.
    pub fn open_if_there(&self) -> Result<Option<Store>> {
        if self.reads {
            Store::open_for_reading(&self.location, &self.options)
        } else {
            Store::open_existing(&self.location, &self.options)
        }
    }
}

/// `queueprim.db` in the user data folder, e.g. `~/.local/share/queueprim/queueprim.db`.
fn default_db_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "queueprim").context(
        "cannot find a home folder for the default database; pass --db or set QUEUEPRIM_DB",
    )?;
    Ok(dirs.data_dir().join("queueprim.db"))
}

/// What `dequeue` and `work` ask of the store, for `count` jobs at a time.
fn claim_request(args: ClaimArgs, count: usize) -> ClaimRequest {
    ClaimRequest {
        queue: args.queue.name().to_string(),
        job_type: args.job_type,
        worker: args.worker,
        timeout_ms: args.timeout,
        count,
    }
}

/// Commands that only read. `config` only reads through [`Context::open_existing`], when
/// it shows settings; setting them opens the store for writing.
fn only_reads(command: &Command) -> bool {
    matches!(
        command,
        Command::Get(_)
            | Command::List(_)
            | Command::Stats
            | Command::Queues
            | Command::Peek(_)
            | Command::Config(_)
            | Command::Info
            | Command::Export(_)
            | Command::Top(_)
            | Command::Token(crate::cli::TokenArgs {
                command: crate::cli::TokenCommand::List
            })
    )
}

pub fn run(cli: Cli, out: &mut Printer) -> Result<()> {
    let ctx = Context::new(&cli.global, only_reads(&cli.command))?;
    match cli.command {
        Command::Enqueue(args) => enqueue::run(args, &ctx, out),
        Command::Dequeue(args) => dequeue::run(args, &ctx, out),
        Command::Complete(args) => complete::run(args, &ctx, out),
        Command::Fail(args) => fail::run(args, &ctx, out),
        Command::Extend(args) => extend::run(args, &ctx, out),
        Command::Get(args) => get::run(args, &ctx, out),
        Command::List(args) => list::run(args, &ctx, out),
        Command::Stats => stats::run(&ctx, out),
        Command::Queues => queues::run(&ctx, out),
        Command::Purge(args) => purge::run(args, &ctx, out),
        Command::Info => info::run(&ctx, out),
        Command::Sweep(args) => sweep::run(args, &ctx, out),
        Command::Top(args) => top::run(args, &ctx, out),
        Command::Work(args) => work::run(args, &ctx, out),
        Command::Retry(args) => retry::run(args, &ctx, out),
        Command::Release(args) => release::run(args, &ctx, out),
        Command::Cancel(args) => cancel::run(args, &ctx, out),
        Command::Peek(args) => peek::run(args, &ctx, out),
        Command::Pause(args) => pause::run(args, &ctx, out),
        Command::Resume(args) => resume::run(args, &ctx, out),
        Command::Config(args) => config::run(args, &ctx, out),
        Command::Export(args) => export::run(args, &ctx),
        Command::Import(args) => import::run(args, &ctx, out),
        Command::Serve(args) => serve::run(args, &ctx),
        Command::Token(args) => token::run(args, &ctx, out),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args, out),
    }
}

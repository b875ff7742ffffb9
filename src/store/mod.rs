//! The store: every read and write of the queue, on either engine. The rules (`jobs`,
//! `batch`, `claims`, `groups`, `settings`, `queries`) are written once against the
//! [`backend`] seam; `sqlite/` and `postgres/` each hold one engine's SQL, connection
//! set-up, migrations and error mapping. Commands see only [`Store`], which returns domain
//! structs.

mod backend;
mod batch;
mod claims;
mod groups;
mod jobs;
mod location;
mod postgres;
mod queries;
mod settings;
mod sqlite;
mod together;
mod tokens;
mod transfer;

use anyhow::{anyhow, Result};

use crate::error::Error;
use crate::ids::IdGen;
use crate::time::Millis;
use backend::{Backend, Tx};

/// How `fail` treats a failure; part of [`Store::fail`]'s signature.
pub use crate::lifecycle::FailOptions;
pub use backend::Changed;
pub use backend::Stored;
pub use location::Location;
pub use together::{Scope, Scoped, SettingsChange, Write, Written};
pub use tokens::NewToken;
pub use transfer::{ImportReport, Record};

/// How hard each commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// SQLite syncs every commit; PostgreSQL commits as the server is configured to. A
    /// command that exited 0 survives power loss.
    Full,
    /// SQLite syncs at checkpoints only; PostgreSQL commits without waiting for its WAL
    /// flush (`synchronous_commit = off`). Survives a crash of queueprim, not of the machine
    /// holding the database.
    Normal,
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub synchronous: Synchronous,
    /// Create the parent folder (owner-only) of a SQLite file if it is missing. Set for the
    /// default path, where a missing folder is expected; an explicit `--db` in a missing
    /// folder is more likely a typo and gets an error instead.
    pub create_dir: bool,
}

/// Where a store gets the current time, when a test drives it. `Send`, like the store.
pub type Clock = Box<dyn Fn() -> Millis + Send>;

/// An open queue database.
pub struct Store {
    db: Box<dyn Backend>,
    ids: IdGen,
    /// A test's clock; otherwise the engine's (the server's, on PostgreSQL).
    clock: Option<Clock>,
}

impl Store {
    /// Opens the database, creating it (or its schema) if needed.
    pub fn open(location: &Location, options: &OpenOptions) -> Result<Store> {
        let db: Box<dyn Backend> = match location {
            Location::Sqlite(path) => Box::new(sqlite::Db::open(path, options)?),
            Location::Postgres(target) => Box::new(postgres::Db::open(target, options)?),
        };
        Ok(Store::with(db))
    }

    /// Opens the database only if it exists (a SQLite file, or queueprim's schema on the
    /// server). Commands that only read use this, so a mistyped `--db` leaves nothing
    /// behind.
    pub fn open_existing(location: &Location, options: &OpenOptions) -> Result<Option<Store>> {
        let db: Option<Box<dyn Backend>> = match location {
            Location::Sqlite(path) if !path.exists() => None,
            Location::Sqlite(path) => Some(Box::new(sqlite::Db::open(path, options)?)),
            Location::Postgres(target) => postgres::Db::open_existing(target, options)?
                .map(|db| Box::new(db) as Box<dyn Backend>),
        };
        Ok(db.map(Store::with))
    }

    /// Opens the database for a command that only reads, writing nothing to it: `None` when
    /// there is nothing to read (no file, an empty one, no schema on the server yet).
    pub fn open_for_reading(location: &Location, options: &OpenOptions) -> Result<Option<Store>> {
        let db: Option<Box<dyn Backend>> = match location {
            Location::Sqlite(path) => sqlite::Db::open_for_reading(path, options)?
                .map(|db| Box::new(db) as Box<dyn Backend>),
            Location::Postgres(target) => postgres::Db::open_for_reading(target, options)?
                .map(|db| Box::new(db) as Box<dyn Backend>),
        };
        Ok(db.map(Store::with))
    }

    fn with(db: Box<dyn Backend>) -> Store {
        Store {
            db,
            ids: IdGen::new(),
            clock: None,
        }
    }

    /// Replaces the clock, for tests that drive time themselves (the unit tests and the
    /// model check). The command line always uses the engine's clock.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = Some(clock);
    }

    /// The current time, as every write of this store sees it.
    pub fn now(&mut self) -> Result<Millis> {
        match &self.clock {
            Some(clock) => Ok(clock()),
            None => self.db.now(),
        }
    }

    /// The database as messages name it.
    pub fn name(&self) -> &str {
        self.db.name()
    }

    /// Runs `f` in one write transaction. `f` gets the time the transaction began with (once
    /// it holds the write lock, on SQLite); rules that stamp changes after reading rows ask
    /// [`Tx::now`] again. `f` may run again if the engine asks for a retry, so it returns
    /// its result rather than keeping it.
    fn write<T>(
        &mut self,
        mut f: impl FnMut(&mut dyn Tx, &mut IdGen, Millis) -> Result<T>,
    ) -> Result<T> {
        let Store { db, ids, clock } = self;
        let fixed_now = clock.as_ref().map(|clock| clock());
        let mut value = None;
        db.write(fixed_now, &mut |tx| {
            let now = tx.now();
            value = Some(f(tx, ids, now)?);
            Ok(())
        })?;
        value.ok_or_else(|| anyhow!("a write committed without its result"))
    }
}

/// The error for an id that is not in database `name`; names it, since the wrong `--db` is
/// the usual cause.
fn no_such_job(name: &str, id: &str) -> anyhow::Error {
    Error::not_found(format!("no job with id {id} in {name}")).into()
}

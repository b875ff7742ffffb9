//! Which database `--db` names: a PostgreSQL server by URL, or else a SQLite file.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use anyhow::Result;

use super::postgres::Target;

/// The database a command works on.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(Box<Target>),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL names a server; anything else is a file path.
    /// A bad URL is bad input (exit 2), refused before anything connects.
    pub fn parse(db: &OsStr) -> Result<Location> {
        match db.to_str() {
            Some(text) if Target::is_url(text) => {
                Ok(Location::Postgres(Box::new(Target::parse(text)?)))
            }
            _ => Ok(Location::Sqlite(PathBuf::from(db))),
        }
    }

    /// The database as messages name it: the file, or the server and schema (no password).
    pub fn name(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(target) => target.name().to_string(),
        }
    }

    /// The engine, as `info` names it.
    pub fn engine(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgresql",
        }
    }

    /// The newest schema version this build knows on this engine.
    pub fn supported_schema_version(&self) -> i64 {
        match self {
            Location::Sqlite(_) => super::sqlite::SCHEMA_VERSION,
            Location::Postgres(_) => super::postgres::SCHEMA_VERSION,
        }
    }

    /// The value a child process (a `work` command) gets as `QUEUEPRIM_DB` to reach the
    /// same database: an absolute path, since it may run in another folder, or the URL.
    pub fn for_child(&self) -> OsString {
        match self {
            Location::Sqlite(path) => std::path::absolute(path)
                .unwrap_or_else(|_| path.clone())
                .into_os_string(),
            Location::Postgres(target) => target.url().into(),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::Sqlite(path)
    }
}

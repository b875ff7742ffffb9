//! Schema versions on PostgreSQL: numbered SQL files applied in order inside queueprim's own
//! schema, tracked in `queueprim_meta`, under an advisory lock so that any number of
//! processes meeting a fresh database at once all succeed. A schema written by a newer
//! build, or one holding another program's tables, is refused untouched.

use anyhow::{bail, Result};
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, GenericClient};

use super::sql::quote_ident;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_tokens.sql"),
    include_str!("migrations/003_finished.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema's version, or `None` when queueprim's schema is not there (yet).
pub fn version(client: &mut impl GenericClient, schema: &str) -> Result<Option<i64>> {
    let sql = format!("SELECT version FROM {}.queueprim_meta", quote_ident(schema));
    match client.query_typed(&sql, &[]) {
        Ok(rows) => match rows.first() {
            Some(row) => Ok(Some(i64::from(row.try_get::<_, i32>(0)?))),
            None => Ok(Some(0)),
        },
        Err(e) if missing(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether an error says the schema or its table does not exist.
fn missing(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::UNDEFINED_TABLE) | Some(&SqlState::INVALID_SCHEMA_NAME)
    )
}

/// Refuses a schema that a newer build has written.
pub fn refuse_newer(version: i64) -> Result<()> {
    if version > SCHEMA_VERSION {
        bail!(
            "it was written by a newer queueprim (schema version {version}, this build knows \
             up to {SCHEMA_VERSION}); upgrade queueprim to use it"
        );
    }
    Ok(())
}

/// Creates the schema if needed and applies the missing migrations, all in one transaction
/// under a lock only migrations take.
pub fn migrate(client: &mut Client, schema: &str) -> Result<()> {
    let quoted = quote_ident(schema);
    let mut tx = client.transaction()?;
    let lock_key = format!("queueprim migrate {schema}");
    tx.execute_typed(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[(&lock_key, Type::TEXT)],
    )?;
    require_utf8(&mut tx)?;
    tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {quoted}"))?;
    // Read again under the lock: another process may have migrated meanwhile.
    let row = tx.query_typed_one(
        "SELECT to_regclass($1) IS NOT NULL, \
                (SELECT count(*) FROM pg_tables WHERE schemaname = $2)",
        &[
            (&format!("{quoted}.queueprim_meta"), Type::TEXT),
            (&schema, Type::TEXT),
        ],
    )?;
    let (has_meta, tables): (bool, i64) = (row.try_get(0)?, row.try_get(1)?);
    if !has_meta && tables > 0 {
        bail!(
            "schema {schema} holds tables that are not queueprim's; pick another with \
             ?schema=NAME in the URL"
        );
    }
    let current = match has_meta {
        true => version(&mut tx, schema)?.unwrap_or(0),
        false => 0,
    };
    refuse_newer(current)?;
    if current < SCHEMA_VERSION {
        tx.batch_execute(&format!("SET LOCAL search_path TO {quoted}"))?;
        for (index, script) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch_execute(script).map_err(|e| {
                anyhow::Error::new(e)
                    .context(format!("cannot apply schema migration {}", index + 1))
            })?;
        }
        tx.execute_typed(
            "UPDATE queueprim_meta SET version = $1",
            &[(&(SCHEMA_VERSION as i32), Type::INT4)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Refuses a database whose encoding cannot hold every payload: JSON is Unicode.
fn require_utf8(tx: &mut postgres::Transaction) -> Result<()> {
    let row = tx.query_typed_one(
        "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()",
        &[],
    )?;
    let encoding: String = row.try_get(0)?;
    if encoding != "UTF8" {
        bail!(
            "the database's encoding is {encoding}, which cannot hold every JSON payload; \
             create it with ENCODING 'UTF8'"
        );
    }
    Ok(())
}

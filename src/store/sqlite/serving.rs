//! What `serve` needs of SQLite beyond the commands' operations: savepoints for group
//! commit, API tokens, the age of each queue's oldest claimable job, and a watcher of every
//! queue at once (`PRAGMA data_version`, which cannot say which queue changed).

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::store::backend::Changed;
use crate::time::Millis;
use crate::tokens::Token;

/// The savepoint each write of a group commit runs under (they never nest).
const SAVEPOINT: &str = "queueprim_write";

pub fn savepoint(conn: &Connection) -> Result<()> {
    Ok(conn.execute_batch(&format!("SAVEPOINT {SAVEPOINT}"))?)
}

pub fn next_savepoint(conn: &Connection) -> Result<()> {
    Ok(conn.execute_batch(&format!("RELEASE {SAVEPOINT}; SAVEPOINT {SAVEPOINT}"))?)
}

/// Rolling back to a savepoint keeps it open, for the next write.
pub fn rollback_to_savepoint(conn: &Connection) -> Result<()> {
    Ok(conn.execute_batch(&format!("ROLLBACK TO {SAVEPOINT}"))?)
}

const TOKEN_COLUMNS: &str =
    "id, name, secret_hash, queues, produce_only, created_at, expires_at, revoked_at";

fn token_from_row(row: &Row) -> rusqlite::Result<Token> {
    let queues: String = row.get(3)?;
    Ok(Token {
        id: row.get(0)?,
        name: row.get(1)?,
        hash: row.get(2)?,
        queues: serde_json::from_str(&queues).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
        })?,
        produce_only: row.get(4)?,
        created_at: row.get(5)?,
        expires_at: row.get(6)?,
        revoked_at: row.get(7)?,
    })
}

pub fn insert_token(conn: &Connection, token: &Token) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            token.id,
            token.name,
            token.hash,
            serde_json::to_string(&token.queues)?,
            token.produce_only,
            token.created_at,
            token.expires_at,
            token.revoked_at
        ],
    )?;
    Ok(())
}

pub fn revoke_token(conn: &Connection, id: &str, at: Millis) -> Result<Option<Token>> {
    Ok(conn
        .query_row(
            &format!(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1 \
                 RETURNING {TOKEN_COLUMNS}"
            ),
            params![id, at],
            token_from_row,
        )
        .optional()?)
}

pub fn tokens(conn: &Connection) -> Result<Vec<Token>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], token_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn token_by_hash(conn: &Connection, hash: &str) -> Result<Option<Token>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1"
        ))?
        .query_row([hash], token_from_row)
        .optional()?)
}

/// Reads only claimable rows, through the partial index that holds them.
pub fn oldest_pending(conn: &Connection) -> Result<Vec<(String, Millis)>> {
    let mut stmt = conn.prepare(
        "SELECT queue, min(visible_after) FROM jobs WHERE status = 'pending' \
         GROUP BY queue ORDER BY queue",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get(0)?, row.get::<_, Option<Millis>>(1)?.unwrap_or(0)))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How often the watcher reads the data version: one read of shared memory, so this sets
/// the wake-up latency without costing measurable CPU.
const POLL: Duration = Duration::from_millis(25);

/// Waits at most `max` for `version()` to move from `*seen`; the first call only reads it.
/// Any commit of another connection moves it, so every queue may have changed.
pub fn wait_for_any_change(
    seen: &mut Option<u64>,
    max: Duration,
    mut version: impl FnMut() -> Result<u64>,
) -> Result<Changed> {
    let Some(last) = *seen else {
        *seen = Some(version()?);
        return Ok(Changed::Everything);
    };
    let until = Instant::now() + max;
    loop {
        let now = version()?;
        if now != last {
            *seen = Some(now);
            return Ok(Changed::Everything);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Changed::Nothing);
        }
        sleep(left.min(POLL));
    }
}

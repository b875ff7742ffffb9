//! What `serve` needs of PostgreSQL beyond the commands' operations: savepoints for group
//! commit, API tokens, and the age of each queue's oldest claimable job. Its watcher of every
//! queue listens where the commands' waiters do (`listen`).

use anyhow::{anyhow, Result};
use postgres::types::Type;
use postgres::{Client, Row};

use super::sql::Sql;
use crate::time::Millis;
use crate::tokens::Token;

/// The savepoint each write of a group commit runs under (they never nest).
const SAVEPOINT: &str = "queueprim_write";

pub fn savepoint(client: &mut Client) -> Result<()> {
    Ok(client.batch_execute(&format!("SAVEPOINT {SAVEPOINT}"))?)
}

/// Both statements in one round trip.
pub fn next_savepoint(client: &mut Client) -> Result<()> {
    Ok(client.batch_execute(&format!(
        "RELEASE SAVEPOINT {SAVEPOINT}; SAVEPOINT {SAVEPOINT}"
    ))?)
}

/// Also what brings a transaction that met an error back to life. The savepoint stays.
pub fn rollback_to_savepoint(client: &mut Client) -> Result<()> {
    Ok(client.batch_execute(&format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}"))?)
}

const TOKEN_COLUMNS: &str =
    "id, name, secret_hash, queues, produce_only, created_at, expires_at, revoked_at";

fn token_from_row(row: &Row) -> Result<Token> {
    let queues: String = row.try_get(3)?;
    Ok(Token {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        hash: row.try_get(2)?,
        queues: serde_json::from_str(&queues)
            .map_err(|e| anyhow!("a token's queues are not valid JSON: {e}"))?,
        produce_only: row.try_get(4)?,
        created_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        revoked_at: row.try_get(7)?,
    })
}

pub fn insert_token(client: &mut Client, sql: &Sql, token: &Token) -> Result<()> {
    let queues = serde_json::to_string(&token.queues)?;
    client.execute_typed(
        &sql.of(&format!(
            "INSERT INTO @api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )),
        &[
            (&token.id, Type::TEXT),
            (&token.name, Type::TEXT),
            (&token.hash, Type::TEXT),
            (&queues, Type::TEXT),
            (&token.produce_only, Type::BOOL),
            (&token.created_at, Type::INT8),
            (&token.expires_at, Type::INT8),
            (&token.revoked_at, Type::INT8),
        ],
    )?;
    Ok(())
}

pub fn revoke_token(client: &mut Client, sql: &Sql, id: &str, at: Millis) -> Result<Option<Token>> {
    let rows = client.query_typed(
        &sql.of(&format!(
            "UPDATE @api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 \
             RETURNING {TOKEN_COLUMNS}"
        )),
        &[(&id, Type::TEXT), (&at, Type::INT8)],
    )?;
    rows.first().map(token_from_row).transpose()
}

pub fn tokens(client: &mut Client, sql: &Sql) -> Result<Vec<Token>> {
    let rows = client.query_typed(
        &sql.of(&format!(
            "SELECT {TOKEN_COLUMNS} FROM @api_tokens ORDER BY created_at, id"
        )),
        &[],
    )?;
    rows.iter().map(token_from_row).collect()
}

pub fn token_by_hash(client: &mut Client, sql: &Sql, hash: &str) -> Result<Option<Token>> {
    let rows = client.query_typed(
        &sql.of(&format!(
            "SELECT {TOKEN_COLUMNS} FROM @api_tokens WHERE secret_hash = $1"
        )),
        &[(&hash, Type::TEXT)],
    )?;
    rows.first().map(token_from_row).transpose()
}

/// Reads only claimable rows, through the partial index that holds them.
pub fn oldest_pending(client: &mut Client, sql: &Sql) -> Result<Vec<(String, Millis)>> {
    let rows = client.query_typed(
        &sql.of(
            "SELECT queue, min(visible_after) FROM @jobs WHERE status = 'pending' \
             GROUP BY queue ORDER BY queue",
        ),
        &[],
    )?;
    rows.iter()
        .map(|row| {
            let oldest: Option<i64> = row.try_get(1)?;
            Ok((row.try_get(0)?, oldest.unwrap_or(0)))
        })
        .collect()
}

//! Per-queue settings: pause and resume, and the defaults a queue gives jobs and claims that
//! do not choose their own.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};

use super::Store;
use crate::job::QueueSettings;

/// A queue's settings; the defaults (not paused, nothing set) for a queue never configured.
pub(super) fn read(conn: &Connection, queue: &str) -> Result<QueueSettings> {
    Ok(conn
        .prepare_cached(
            "SELECT paused, timeout_ms, max_retries, backoff_ms FROM queue_settings \
             WHERE queue = ?1",
        )?
        .query_row([queue], |row| {
            Ok(QueueSettings {
                paused: row.get(0)?,
                timeout_ms: row.get(1)?,
                max_retries: row.get(2)?,
                backoff_ms: row.get(3)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Every queue that has settings, by name.
pub(super) fn read_all(conn: &Connection) -> Result<Vec<(String, QueueSettings)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT queue, paused, timeout_ms, max_retries, backoff_ms FROM queue_settings \
         ORDER BY queue",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get(0)?,
            QueueSettings {
                paused: row.get(1)?,
                timeout_ms: row.get(2)?,
                max_retries: row.get(3)?,
                backoff_ms: row.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn write(conn: &Connection, queue: &str, s: &QueueSettings) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO queue_settings (queue, paused, timeout_ms, max_retries, backoff_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (queue) DO UPDATE SET paused = ?2, \
         timeout_ms = ?3, max_retries = ?4, backoff_ms = ?5",
    )?
    .execute(params![
        queue,
        s.paused,
        s.timeout_ms,
        s.max_retries,
        s.backoff_ms
    ])?;
    Ok(())
}

impl Store {
    pub fn settings(&self, queue: &str) -> Result<QueueSettings> {
        read(&self.conn, queue)
    }

    /// Changes a queue's settings with `change`, under the write lock, and returns them.
    pub fn update_settings(
        &mut self,
        queue: &str,
        change: impl FnOnce(&mut QueueSettings),
    ) -> Result<QueueSettings> {
        self.write(|tx, _, _| {
            let mut settings = read(tx, queue)?;
            change(&mut settings);
            write(tx, queue, &settings)?;
            Ok(settings)
        })
    }
}

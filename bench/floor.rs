//! The floor `bench/batch.sh` measures `enqueue --batch` against: a program using SQLite
//! directly (the same bundled build as queueprim) that inserts every line of a file in one
//! transaction, one prepared INSERT per line, into a fresh database with queueprim's pragmas.
//!
//! Usage: batch_floor DB INPUT minimal|queueprim
//!   minimal:   a minimal queue table (seq, unique id, queue, payload, status, priority)
//!              with one partial index like the claim's, jobs_ready
//!   queueprim: queueprim's own schema, every index included, and the columns it writes

// A benchmark tool fails loudly on a broken setup: the product's lints against panics
// (Cargo.toml [lints]) are for the shipped code.
#![allow(clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{BufRead, BufReader};

use rusqlite::{params, Connection};

const MINIMAL: &str = "CREATE TABLE jobs (
        seq      INTEGER PRIMARY KEY,
        id       TEXT    NOT NULL UNIQUE,
        queue    TEXT    NOT NULL,
        payload  TEXT    NOT NULL,
        status   TEXT    NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX jobs_ready ON jobs (queue, priority DESC, seq) WHERE status = 'pending';";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, input, schema] = args.as_slice() else {
        eprintln!("usage: batch_floor DB INPUT minimal|queueprim");
        std::process::exit(2);
    };
    let conn = Connection::open(db).expect("open the database");
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .expect("pragmas");
    let (ddl, insert) = match schema.as_str() {
        "minimal" => (
            MINIMAL,
            "INSERT INTO jobs (id, queue, payload, status, priority) \
             VALUES (?1, 'q', ?2, 'pending', 0)",
        ),
        "queueprim" => (
            include_str!("../src/store/sqlite/migrations/001_init.sql"),
            "INSERT INTO jobs (id, queue, payload, status, priority, max_retries, \
             visible_after, created_at, updated_at) VALUES (?1, 'q', ?2, 'pending', 0, 0, \
             ?3, ?3, ?3)",
        ),
        other => panic!("unknown schema {other}"),
    };
    conn.execute_batch(ddl).expect("create the table");
    let now = 1_764_000_000_000_i64;
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    {
        let mut stmt = conn.prepare(insert).expect("prepare");
        let lines = BufReader::new(File::open(input).expect("open the input")).lines();
        for (n, line) in lines.enumerate() {
            // Ids in creation order, as queueprim's are: the unique index is appended to.
            let id = format!("q_{n:015}");
            match schema.as_str() {
                "minimal" => stmt.execute(params![id, line.expect("read")]),
                _ => stmt.execute(params![id, line.expect("read"), now]),
            }
            .expect("insert");
        }
    }
    conn.execute_batch("COMMIT").expect("commit");
}

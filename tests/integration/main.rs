//! Integration tests: the real binary, real processes, a fresh database each. Built as one
//! test binary so `cargo test` links once.

// Tests assert by panicking and index what they built themselves: the product's lints
// against panics (Cargo.toml [lints]) are for the shipped code.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::string_slice,
    clippy::unreachable,
    clippy::unwrap_used
)]

/// This binary runs every test on SQLite; `tests/postgres.rs` runs the ones that hold on
/// both engines on PostgreSQL.
const ENGINE: harness::Engine = harness::Engine::Sqlite;

/// Tests of SQLite's own behaviour (its file, its WAL, its locks): compiled into this
/// binary only.
macro_rules! sqlite_only {
    ($($item:item)*) => { $($item)* };
}

/// Tests of PostgreSQL's own behaviour (its server restarted) are left out here.
macro_rules! postgres_only {
    ($($item:item)*) => {};
}

// Shared with the PostgreSQL binary, which uses some helpers this one does not.
#[allow(dead_code)]
mod harness;
#[allow(dead_code)]
mod support;

mod concurrency;
mod contention;
mod contract;
mod crashes;
mod dashboard;
mod database;
mod docs;
mod enqueue;
mod errors;
mod faults;
mod first_contact;
mod follow_ups;
mod groups;
mod lifecycle;
mod model;
mod moving;
mod ordering;
mod queue_controls;
mod reporting;
mod robustness;
mod serve;
mod top;
mod waiting;
mod work;

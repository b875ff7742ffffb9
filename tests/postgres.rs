//! The integration tests that hold on both engines, run on PostgreSQL: the same files as
//! `tests/integration/`, against a throwaway server this binary starts (see
//! `support/postgres.rs`), each test in a schema of its own.

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

const ENGINE: harness::Engine = harness::Engine::Postgres;

/// Tests of SQLite's own behaviour (its file, its WAL, its locks) are left out here.
macro_rules! sqlite_only {
    ($($item:item)*) => {};
}

/// Tests of PostgreSQL's own behaviour (its server restarted), kept here.
macro_rules! postgres_only {
    ($($item:item)*) => { $($item)* };
}

// Shared with the SQLite binary, which uses some helpers this one does not.
#[allow(dead_code)]
#[path = "integration/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "integration/support/mod.rs"]
mod support;

#[path = "integration/concurrency.rs"]
mod concurrency;
#[path = "integration/contention/mod.rs"]
mod contention;
#[path = "integration/contract.rs"]
mod contract;
#[path = "integration/crashes/mod.rs"]
mod crashes;
#[path = "integration/dashboard/mod.rs"]
mod dashboard;
#[path = "integration/enqueue.rs"]
mod enqueue;
#[path = "integration/errors.rs"]
mod errors;
#[path = "integration/follow_ups.rs"]
mod follow_ups;
#[path = "integration/groups.rs"]
mod groups;
#[path = "integration/lifecycle.rs"]
mod lifecycle;
#[path = "integration/model.rs"]
mod model;
#[path = "integration/moving/mod.rs"]
mod moving;
#[path = "integration/on_postgres/mod.rs"]
mod on_postgres;
#[path = "integration/ordering.rs"]
mod ordering;
#[path = "integration/queue_controls.rs"]
mod queue_controls;
#[path = "integration/reporting.rs"]
mod reporting;
#[path = "integration/serve/mod.rs"]
mod serve;
#[path = "integration/top.rs"]
mod top;
#[path = "integration/waiting.rs"]
mod waiting;
#[path = "integration/work.rs"]
mod work;

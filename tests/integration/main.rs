//! Integration tests: the real binary, real processes, a fresh database each. Built as one
//! test binary so `cargo test` links once.

mod harness;

mod concurrency;
mod contention;
mod contract;
mod crashes;
mod database;
mod docs;
mod enqueue;
mod errors;
mod faults;
mod follow_ups;
mod groups;
mod lifecycle;
mod model;
mod ordering;
mod queue_controls;
mod reporting;
mod robustness;
mod waiting;
mod work;

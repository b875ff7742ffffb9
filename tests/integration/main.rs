//! Integration tests: the real binary, real processes, a fresh database each. Built as one
//! test binary so `cargo test` links once.

mod harness;

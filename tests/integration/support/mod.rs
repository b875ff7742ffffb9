//! What the test modules share beyond the harness: seeded randomness (`rng`), child
//! processes (`process`), waiting on conditions and deadlines (`wait`), and SQLite's own
//! check of a database file (`integrity`).

pub mod integrity;
pub mod process;
pub mod rng;
pub mod wait;

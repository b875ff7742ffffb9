//! What the test modules share beyond the harness: seeded randomness (`rng`), child
//! processes (`process`), waiting on conditions and deadlines (`wait`), SQLite's own check
//! of a database file (`integrity`), and tests that need root (`privilege`).

pub mod integrity;
pub mod privilege;
pub mod process;
pub mod rng;
pub mod wait;

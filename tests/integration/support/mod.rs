//! What the test modules share beyond the harness: seeded randomness (`rng`), child
//! processes (`process`), waiting on conditions and deadlines (`wait`), the engine's own
//! check of a test's database (`integrity`), the throwaway PostgreSQL server (`postgres`),
//! and tests that need root (`privilege`).

pub mod faketime;
pub mod integrity;
pub mod postgres;
pub mod privilege;
pub mod process;
pub mod rng;
pub mod wait;

//! What only PostgreSQL needs proven: transactions running side by side (`interleavings`),
//! clients killed with a transaction open on the server (`crashes`), one clock for hosts
//! whose clocks differ (`clock`), waking waiters by notification (`waking`), the schema and
//! its migrations (`schema`), URLs that keep their passwords out of every message
//! (`urls`), and the statements a dequeue sends before its transaction (`round_trips`).

mod clock;
mod crashes;
mod interleavings;
mod outages;
mod round_trips;
mod schema;
mod urls;
mod waking;

//! What only PostgreSQL needs proven: transactions running side by side (`interleavings`),
//! clients killed with a transaction open on the server (`crashes`), one clock for hosts
//! whose clocks differ (`clock`), waking waiters by notification (`waking`), the schema and
//! its migrations (`schema`), and URLs that keep their passwords out of every message
//! (`urls`).

mod crashes;
mod interleavings;
mod outages;
mod tls;

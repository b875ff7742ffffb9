//! What only PostgreSQL needs proven: transactions running side by side (`interleavings`),
//! clients killed with a transaction open on the server (`crashes`), one clock for hosts
//! whose clocks differ (`clock`), waking waiters by notification (`waking`), the schema and
//! its migrations (`schema`), URLs that keep their passwords out of every message
//! (`urls`), TLS as libpq's sslmode means it (`tls`), PgBouncer in transaction mode in front
//! of the server (`pooler`), queues moved from SQLite to PostgreSQL and back (`moving`),
//! and the statements a dequeue sends before its transaction (`round_trips`).

mod clock;
mod crashes;
mod interleavings;
mod moving;
mod outages;
mod pooler;
mod round_trips;
mod schema;
mod tls;
mod urls;
mod waking;

//! `queueprim serve`: the queue over HTTP, on the same store as every command. `server`
//! accepts connections; `routes` maps paths to the handlers in `jobs` and `queues`; `auth`
//! finds each request's token and what it reaches; `body` reads requests with the CLI's
//! parsers; `errors` answers failures; `db` holds the store's connections (readers, and
//! one writer that commits concurrent writes together); `waiting` serves long-polling
//! claims from one watcher; `metrics` and `openapi` describe the server.

mod activity;
mod auth;
mod body;
mod dashboard;
mod db;
mod errors;
mod jobs;
mod metrics;
mod openapi;
mod queues;
mod routes;
mod server;
mod waiting;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::watch;

pub use db::Opener;
use db::{Readers, Writer};
use errors::{ApiError, ApiResult};
use metrics::Metrics;
use waiting::Hub;

/// How `serve` was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    /// Requests need a token; off only on a loopback address.
    pub auth: bool,
    pub max_connections: usize,
    /// How long a connection may sit without sending a request.
    pub idle_timeout: std::time::Duration,
}

/// What every request handler shares.
pub struct App {
    readers: Readers,
    writer: Writer,
    hub: Arc<Hub>,
    metrics: Metrics,
    auth: bool,
    /// Turns true when the server starts shutting down: waiting claims answer `[]`.
    shutdown: watch::Receiver<bool>,
}

/// Runs the server until SIGTERM or SIGINT; `open` opens a connection to the database.
pub fn serve(options: Options, open: Opener) -> Result<()> {
    // Listening first: an address that cannot be had touches no database. Then every
    // connection is opened before a request is taken: a database that cannot be opened
    // fails the command at once.
    let listener = std::net::TcpListener::bind(options.listen)
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    listener.set_nonblocking(true)?;
    let reader = open()?;
    let (writer, writer_thread) = Writer::start(open()?, Arc::clone(&open))?;
    let hub = Arc::new(Hub::default());
    let stop_watching = Arc::new(AtomicBool::new(false));
    let watcher = waiting::start_watcher(
        Arc::clone(&hub),
        open()?,
        Arc::clone(&open),
        Arc::clone(&stop_watching),
    )?;
    let (stopping, shutdown) = watch::channel(false);
    let app = Arc::new(App {
        readers: Readers::new(Arc::clone(&open), reader),
        writer,
        hub,
        metrics: Metrics::default(),
        auth: options.auth,
        shutdown,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("queueprim-serve")
        .build()?;
    let served = runtime.block_on(server::run(
        Arc::clone(&app),
        listener,
        options.max_connections,
        options.idle_timeout,
        stopping,
    ));
    // Dropping the runtime drops the last handles to the writer, which then finishes what
    // was sent to it and stops.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    // The last handle to the stores goes here, outside the runtime: closing a PostgreSQL
    // connection blocks, which is not allowed on the runtime's threads.
    drop(app);
    stop_watching.store(true, Ordering::SeqCst);
    let _ = writer_thread.join();
    let _ = watcher.join();
    served
}

/// A JSON answer, ending in a newline as the CLI's output does (so `curl` in a terminal
/// leaves the prompt on a line of its own).
fn respond(status: StatusCode, value: &impl Serialize) -> ApiResult<Response> {
    let mut text = serde_json::to_string(value).map_err(ApiError::internal)?;
    text.push('\n');
    Ok((
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response())
}

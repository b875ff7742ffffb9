//! The listening side: accepting connections up to a cap, serving HTTP/1.1 on each with an
//! idle timeout, and shutting down on SIGTERM or SIGINT: stop accepting, let requests in
//! flight finish (waiting claims answer `[]`), then return.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use super::routes::{self, Peer};
use super::App;

/// How long requests in flight get to finish once shutdown starts.
const GRACE: Duration = Duration::from_secs(30);

/// Accepts and serves until a signal says stop; `stopping` is told when it does.
pub async fn run(
    app: Arc<App>,
    listener: std::net::TcpListener,
    max_connections: usize,
    idle_timeout: Duration,
    stopping: watch::Sender<bool>,
) -> Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let bound = listener.local_addr()?;
    eprintln!("queueprim serve: listening on http://{bound}");
    let router = routes::router(app);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        // A connection is accepted only with a free slot: past the cap, new ones wait in
        // the kernel's backlog instead of being dropped.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot?,
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    eprintln!("queueprim serve: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        let service = router
            .clone()
            .map_request(move |mut req: axum::extract::Request<_>| {
                req.extensions_mut().insert(Peer(peer));
                req
            });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(idle_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = watched.await;
            drop(slot);
        });
    }
    drop(listener);
    eprintln!("queueprim serve: stopping: finishing requests in flight");
    let _ = stopping.send(true);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(GRACE) => {
            eprintln!("queueprim serve: requests still running after {}s; stopping anyway", GRACE.as_secs());
        }
    }
    Ok(())
}

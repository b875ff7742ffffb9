//! The server's connections to the store, which is synchronous: a few readers lent out to
//! blocking threads, and one writer thread that commits whatever writes have arrived
//! together (group commit), answering each caller once the commit is durable.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{anyhow, Result};
use tokio::sync::{oneshot, Semaphore};

use crate::error::{self, Error, Kind};
use crate::store::{Scoped, Store, Written};

/// Opens a connection to the server's database.
pub type Opener = Arc<dyn Fn() -> Result<Store> + Send + Sync>;

/// Reading connections open at most at once.
const READERS: usize = 4;
/// The most writes one transaction takes: past this, a commit would keep its first
/// callers waiting longer than a second sync would.
const MOST_TOGETHER: usize = 512;

/// A store that is never closed on a thread of the async runtime: closing a PostgreSQL
/// connection blocks, which the runtime forbids (it would panic). Wherever the last handle
/// goes, the connection is closed on a thread of its own.
struct Pooled(Option<Store>);

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(store) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = thread::Builder::new().spawn(move || drop(store));
            }
        }
    }
}

/// A small pool of reading connections, opened when first needed.
pub struct Readers {
    idle: Mutex<Vec<Pooled>>,
    permits: Semaphore,
    open: Opener,
}

impl Readers {
    pub fn new(open: Opener, first: Store) -> Readers {
        Readers {
            idle: Mutex::new(vec![Pooled(Some(first))]),
            permits: Semaphore::new(READERS),
            open,
        }
    }

    /// Runs `read` on a blocking thread with a connection of the pool.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| anyhow!("the server is shutting down"))?;
        let idle = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let open = Arc::clone(&self.open);
        let (store, result) = tokio::task::spawn_blocking(move || {
            let mut store = match idle.and_then(|mut pooled| pooled.0.take()) {
                Some(store) => store,
                None => match open() {
                    Ok(store) => store,
                    Err(e) => return (None, Err(e)),
                },
            };
            let result = read(&mut store);
            // A connection that failed may be broken (a server restarted): it is closed
            // here, on this thread, since closing one may block.
            match is_database_failure(&result) {
                true => (None, result),
                false => (Some(Pooled(Some(store))), result),
            }
        })
        .await
        .map_err(|e| anyhow!("a read stopped: {e}"))?;
        if let Some(store) = store {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(store);
            }
        }
        result
    }
}

fn is_database_failure<T>(result: &Result<T>) -> bool {
    match result {
        Ok(_) => false,
        Err(e) => !matches!(
            e.chain()
                .find_map(|e| e.downcast_ref::<Error>())
                .map(|e| e.kind),
            Some(Kind::Usage | Kind::InvalidInput | Kind::NotFound | Kind::Conflict)
        ),
    }
}

/// One write waiting for the writer, and where its result goes.
struct Waiting {
    write: Scoped,
    reply: oneshot::Sender<Result<Written>>,
}

/// The way to the writer thread.
#[derive(Clone)]
pub struct Writer {
    queue: Sender<Waiting>,
}

impl Writer {
    /// Starts the writer thread on `store`. It stops once every [`Writer`] is dropped and
    /// what was sent is written.
    pub fn start(store: Store, open: Opener) -> Result<(Writer, thread::JoinHandle<()>)> {
        let (queue, arrived) = mpsc::channel();
        let handle = thread::Builder::new()
            .name("queueprim-writer".into())
            .spawn(move || write_loop(store, open, arrived))?;
        Ok((Writer { queue }, handle))
    }

    /// Commits `write` (with whatever else arrives meanwhile) and returns its result once
    /// it is durable.
    pub async fn write(&self, write: Scoped) -> Result<Written> {
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Waiting { write, reply })
            .map_err(|_| anyhow!("the server is shutting down"))?;
        result
            .await
            .map_err(|_| anyhow!("the writer stopped before answering"))?
    }
}

fn write_loop(store: Store, open: Opener, arrived: Receiver<Waiting>) {
    let mut store = Some(store);
    while let Ok(first) = arrived.recv() {
        let mut batch = vec![first];
        while batch.len() < MOST_TOGETHER {
            match arrived.try_recv() {
                Ok(next) => batch.push(next),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let (writes, replies): (Vec<Scoped>, Vec<_>) =
            batch.into_iter().map(|w| (w.write, w.reply)).unzip();
        if store.is_none() {
            store = open()
                .map_err(|e| eprintln!("queueprim serve: cannot reopen the database: {e:#}"))
                .ok();
        }
        let results = match store.as_mut() {
            Some(open_store) => open_store.write_together(&writes),
            None => Err(Error::database("the database cannot be opened").into()),
        };
        match results {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                // Nothing of the batch was committed; the connection may be broken, so the
                // next batch gets a new one.
                store = None;
                for reply in replies {
                    let _ = reply.send(Err(copy(&e)));
                }
            }
        }
    }
}

/// The same failure for every caller of a batch that failed whole.
fn copy(e: &anyhow::Error) -> anyhow::Error {
    let kind = e
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>())
        .map_or(Kind::Database, |typed| typed.kind);
    Error::new(kind, error::one_line(e)).into()
}

//! The server's connections to the store, which is synchronous: a few readers lent out to
//! blocking threads, and one writer thread that commits whatever writes have arrived
//! together (group commit), answering each caller once the commit is durable. A connection
//! that sat idle is asked whether it is still there before it is used, and replaced if not
//! (a database server restarted meanwhile leaves it dead), so the first requests after an
//! outage do not fail on it.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use tokio::sync::{oneshot, Semaphore};

use crate::error::{self, Error, Kind};
use crate::job::Job;
use crate::store::{Scoped, Store, Write, Written};

/// Opens a connection to the server's database.
pub type Opener = Arc<dyn Fn() -> Result<Store> + Send + Sync>;

/// Reading connections open at most at once.
const READERS: usize = 4;
/// How long a connection may sit unused before it is asked whether it is still there (one
/// round trip): far shorter than a database server takes to restart, and long enough that a
/// busy server never asks.
const PROBE_AFTER: Duration = Duration::from_millis(50);

/// A store that is never closed on a thread of the async runtime: closing a PostgreSQL
/// connection blocks, which the runtime forbids (it would panic). Wherever the last handle
/// goes, the connection is closed on a thread of its own. Also when it was last used.
struct Pooled(Option<Store>, Instant);

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
            idle: Mutex::new(vec![Pooled(Some(first), Instant::now())]),
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
            let kept = idle.and_then(|mut pooled| pooled.0.take().map(|store| (store, pooled.1)));
            let mut store = match live(kept, &open) {
                Ok(store) => store,
                Err(e) => return (None, Err(e)),
            };
            let result = read(&mut store);
            // A connection that failed may be broken (a server restarted): it is closed
            // here, on this thread, since closing one may block.
            match is_database_failure(&result) {
                true => (None, result),
                false => (Some(Pooled(Some(store), Instant::now())), result),
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

/// `kept` (a connection, and when it was last used) if it is still there, else a new one.
/// One that sat idle is asked first: the server may have restarted under it, and then only a
/// request would find out, by failing (a write could not even tell whether it committed).
fn live(kept: Option<(Store, Instant)>, open: &Opener) -> Result<Store> {
    match kept {
        Some((store, used)) if used.elapsed() < PROBE_AFTER => Ok(store),
        Some((mut store, _)) => match store.now() {
            Ok(_) => Ok(store),
            Err(_) => {
                drop(store);
                open()
            }
        },
        None => open(),
    }
}

fn is_database_failure<T>(result: &Result<T>) -> bool {
    result.as_ref().err().is_some_and(is_database_error)
}

/// Whether a failure is the database's (it may have gone away, and the connection with it)
/// rather than a refusal of the request itself.
pub fn is_database_error(e: &anyhow::Error) -> bool {
    !matches!(
        e.chain()
            .find_map(|e| e.downcast_ref::<Error>())
            .map(|e| e.kind),
        Some(Kind::Usage | Kind::InvalidInput | Kind::NotFound | Kind::Conflict)
    )
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
    // How many writes one transaction takes depends on the engine (see the backends).
    let most = store.most_writes_together();
    let mut store = Some((store, Instant::now()));
    while let Ok(first) = arrived.recv() {
        let mut batch = vec![first];
        while batch.len() < most {
            match arrived.try_recv() {
                Ok(next) => batch.push(next),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let (writes, replies): (Vec<Scoped>, Vec<_>) =
            batch.into_iter().map(|w| (w.write, w.reply)).unzip();
        // Checked before the transaction begins, when a failure still means that nothing
        // was written: a connection that died unnoticed while idle is replaced, instead of
        // failing a whole batch of callers who could not tell whether it committed.
        let mut writing = match live(store.take(), &open) {
            Ok(fresh) => fresh,
            Err(e) => {
                eprintln!("queueprim serve: cannot reopen the database: {e:#}");
                let e: anyhow::Error = Error::database("the database cannot be opened").into();
                for reply in replies {
                    let _ = reply.send(Err(copy(&e)));
                }
                continue;
            }
        };
        match writing.write_together(&writes) {
            Ok(results) => {
                let orphans = answer(replies, results);
                if give_back(&mut writing, orphans) {
                    store = Some((writing, Instant::now()));
                }
            }
            Err(e) => {
                // Nothing of the batch was committed, or the connection broke at COMMIT and
                // nobody can tell (the callers hear a failure, never a success); either way
                // the next batch gets a new connection.
                drop(writing);
                for reply in replies {
                    let _ = reply.send(Err(copy(&e)));
                }
            }
        }
    }
}

/// Sends each caller its result; returns the jobs claimed for callers that are gone (the
/// client went away, or the request timed out) while the claim committed.
fn answer(
    replies: Vec<oneshot::Sender<Result<Written>>>,
    results: Vec<Result<Written>>,
) -> Vec<Job> {
    let mut orphans = Vec::new();
    for (reply, result) in replies.into_iter().zip(results) {
        if let Err(Ok(Written::Claimed(jobs, _))) = reply.send(result) {
            orphans.extend(jobs);
        }
    }
    orphans
}

/// Releases jobs claimed for nobody, so they go to the next claim at once rather than after
/// their claim times out. A claim answered to a client that then loses the answer (the
/// connection drops as it is sent) cannot be seen here: that job comes back when its claim
/// times out, as any claim whose worker died does. False if the connection may be broken.
fn give_back(store: &mut Store, jobs: Vec<Job>) -> bool {
    if jobs.is_empty() {
        return true;
    }
    let releases: Vec<Scoped> = jobs
        .into_iter()
        .map(|job| Scoped {
            write: Write::Release {
                id: job.id,
                claim: job.claim,
            },
            scope: None,
        })
        .collect();
    match store.write_together(&releases) {
        Ok(_) => true,
        Err(e) => {
            eprintln!(
                "queueprim serve: cannot release jobs claimed for a request that went away \
                 (they come back when their claims time out): {e:#}"
            );
            false
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

//! Long-polling claims that cost nothing while they wait. One watcher thread waits on the
//! store for commits that made work claimable (LISTEN/NOTIFY on PostgreSQL, which names the
//! queue; SQLite's data version, which cannot, so there every queue counts as changed) and
//! moves a version counter per queue. Waiting claims sleep on their queue's counter, a
//! claim deadline or delayed job they know of, their own time limit, and shutdown; they
//! never poll the database. Of the waiters of one queue and job type, only one looks per
//! change: the others see that a look at least as new as their wake-up found nothing.
//! A look that fails once the claim is waiting (the database went away) does not end it: it
//! waits on, and the watcher's reconnecting wakes it to look again; only a wait that runs
//! out with its last look failed answers the failure instead of `[]`. A claim whose first
//! look fails answers at once: it never began to wait, and its caller may as well retry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::watch;
use tokio::time::sleep_until;

use super::db::{is_database_error, Opener};
use super::App;
use crate::job::{ClaimRequest, Job};
use crate::store::{Changed, Scoped, Store, Write, Written};

/// How long the watcher waits on the store at once, so it notices shutdown.
const WATCH_SLICE: Duration = Duration::from_millis(500);
/// How often a waiter looks even though nothing told it to: a wake-up can be lost while
/// the watcher reconnects, and a look is one cheap read.
const RECHECK: Duration = Duration::from_secs(15);
/// How long the watcher waits before opening the database again after it failed.
const REOPEN_AFTER: Duration = Duration::from_secs(1);

/// The queues' change counters, shared by the watcher and the waiters.
#[derive(Default)]
pub struct Hub {
    queues: Mutex<HashMap<String, Arc<QueueWatch>>>,
}

/// One queue's counter, and what its waiters last found.
struct QueueWatch {
    version: watch::Sender<u64>,
    /// Claims past their first look, waiting. (Subscribers of `version` are more: a claim
    /// subscribes before its first look, so that a commit during the look still wakes it.)
    waiting: AtomicUsize,
    /// Per job type (`None`: any): the newest look that found nothing. Held while looking,
    /// so waiters of one queue look one at a time.
    looked: tokio::sync::Mutex<HashMap<Option<String>, Looked>>,
}

impl Hub {
    /// The queue's watch, made when its first waiter comes.
    fn watch(&self, queue: &str) -> Arc<QueueWatch> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let entry = queues.entry(queue.to_string()).or_insert_with(|| {
            Arc::new(QueueWatch {
                version: watch::channel(0).0,
                waiting: AtomicUsize::new(0),
                looked: tokio::sync::Mutex::new(HashMap::new()),
            })
        });
        Arc::clone(entry)
    }

    /// How many claims wait on each queue now: those whose first look found nothing.
    pub fn waiting(&self) -> Vec<(String, usize)> {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let mut waiting: Vec<(String, usize)> = queues
            .iter()
            .map(|(queue, watch)| (queue.clone(), watch.waiting.load(Ordering::SeqCst)))
            .filter(|(_, n)| *n > 0)
            .collect();
        waiting.sort();
        waiting
    }

    /// Moves the counters of these queues (all of them for `Everything`), and forgets
    /// queues nobody waits on any more.
    pub fn changed(&self, changed: &Changed) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues
            .retain(|_, watch| Arc::strong_count(watch) > 1 || watch.version.receiver_count() > 0);
        match changed {
            Changed::Nothing => {}
            Changed::Everything => queues
                .values()
                .for_each(|watch| watch.version.send_modify(|v| *v += 1)),
            Changed::Queues(names) => names
                .iter()
                .filter_map(|name| queues.get(name))
                .for_each(|watch| watch.version.send_modify(|v| *v += 1)),
        }
    }
}

/// A look that found nothing.
#[derive(Debug, Clone, Copy)]
struct Looked {
    /// The queue's version before it looked.
    version: u64,
    /// When it ended.
    at: Instant,
    /// When something it saw stored falls due.
    due: Option<Instant>,
    /// Whether it failed (the database away) rather than found nothing.
    failed: bool,
}

/// Starts the watcher thread; it stops once `stop` is set.
pub fn start_watcher(
    hub: Arc<Hub>,
    store: Store,
    open: Opener,
    stop: Arc<AtomicBool>,
) -> Result<thread::JoinHandle<()>> {
    Ok(thread::Builder::new()
        .name("queueprim-watcher".into())
        .spawn(move || watch_loop(&hub, store, &open, &stop))?)
}

fn watch_loop(hub: &Hub, store: Store, open: &Opener, stop: &AtomicBool) {
    let mut store = Some(store);
    while !stop.load(Ordering::SeqCst) {
        let Some(watching) = store.as_mut() else {
            thread::sleep(REOPEN_AFTER);
            store = open()
                .map_err(|e| eprintln!("queueprim serve: cannot reopen the database: {e:#}"))
                .ok();
            if store.is_some() {
                // Whatever happened meanwhile went unheard. (Not before: waiters woken while
                // the database is away would only fail to look.)
                eprintln!("queueprim serve: hearing the wake-ups of waiting claims again");
                hub.changed(&Changed::Everything);
            }
            continue;
        };
        match watching.wait_for_any_change(WATCH_SLICE) {
            Ok(changed) => hub.changed(&changed),
            Err(e) => {
                eprintln!("queueprim serve: lost the wake-ups of waiting claims: {e:#}");
                store = None;
            }
        }
    }
}

/// Claims for `req`, waiting up to `wait` for something to claim. Empty when the wait ran
/// out or the server is shutting down.
pub async fn claim(
    app: &App,
    req: ClaimRequest,
    scoped: Scoped,
    token: Option<String>,
    wait: Duration,
) -> Result<Vec<Job>> {
    let give_up = Instant::now() + wait;
    // The first look is every claim's own, taken at once: busy workers that find work
    // never queue up behind each other. Watching starts before it, so a commit that lands
    // during the look still wakes the wait that follows.
    let watch = (!wait.is_zero()).then(|| app.hub.watch(&req.queue));
    let version = watch.as_ref().map(|watch| {
        let mut version = watch.version.subscribe();
        version.borrow_and_update();
        version
    });
    // The caller's token was checked as the request came in: only later looks check again.
    let (jobs, due_in) = look(app, &req, &scoped, None).await?;
    let (Some(watch), Some(mut version)) = (watch, version) else {
        return Ok(jobs);
    };
    if !jobs.is_empty() {
        return Ok(jobs);
    }
    let _counted = Waiting::count(&watch);
    let mut due_at = due_in.map(|ms| Instant::now() + Duration::from_millis(ms.max(0) as u64));
    let mut shutdown = app.shutdown.clone();
    let mut since = Instant::now();
    // The failure of the last look this claim relied on, answered if the wait runs out.
    let mut failure: Option<anyhow::Error> = None;
    loop {
        if *shutdown.borrow() {
            return Ok(Vec::new());
        }
        if Instant::now() >= give_up {
            return failure.map_or(Ok(Vec::new()), Err);
        }
        let wake = [Some(give_up), due_at, Some(since + RECHECK)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(give_up);
        tokio::select! {
            _ = version.changed() => {}
            _ = sleep_until(wake.into()) => {
                // A time reached: only a look newer than it will do.
                since = Instant::now();
            }
            _ = shutdown.changed() => return Ok(Vec::new()),
        }
        let seen = *version.borrow_and_update();
        // Of the waiters of one queue and type, one looks per change: the others find a
        // look that started after what woke them, and wait again.
        let mut looked = watch.looked.lock().await;
        match looked.get(&req.job_type) {
            Some(last) if last.version >= seen && last.at >= since => {
                due_at = last.due;
                if !last.failed {
                    failure = None;
                }
            }
            _ => {
                let (due_in, failed) = match look(app, &req, &scoped, token.as_deref()).await {
                    Ok((jobs, _)) if !jobs.is_empty() => return Ok(jobs),
                    Ok((_, due_in)) => {
                        failure = None;
                        (due_in, false)
                    }
                    Err(e) if e.is::<TokenGone>() => return Err(e),
                    Err(e) if is_database_error(&e) => {
                        eprintln!(
                            "queueprim serve: a waiting claim on {} could not look, and waits on: {}",
                            crate::text::visible(&req.queue, 80),
                            crate::error::one_line(&e)
                        );
                        failure = Some(e);
                        (None, true)
                    }
                    Err(e) => return Err(e),
                };
                let now = Instant::now();
                due_at = due_in.map(|ms| now + Duration::from_millis(ms.max(0) as u64));
                let last = Looked {
                    version: seen,
                    at: now,
                    due: due_at,
                    failed,
                };
                looked.insert(req.job_type.clone(), last);
                since = now;
            }
        }
    }
}

/// A claim counted among its queue's waiting claims until it ends (answered, or dropped
/// with a request that went away).
struct Waiting(Arc<QueueWatch>);

impl Waiting {
    fn count(watch: &Arc<QueueWatch>) -> Waiting {
        watch.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(Arc::clone(watch))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One look: a read that says whether a claim would find something, then the claim
/// itself through the writer. Also says when something stored falls due.
///
/// `token`: the hash of the caller's token, to check first that it is still live: a token
/// revoked (or expired) while its claim waited must not take the jobs that come after.
async fn look(
    app: &App,
    req: &ClaimRequest,
    scoped: &Scoped,
    token: Option<&str>,
) -> Result<(Vec<Job>, Option<i64>)> {
    if let Some(hash) = token.map(str::to_string) {
        let live = app
            .readers
            .read(move |store| store.authenticate(&hash))
            .await?;
        if live.is_none() {
            return Err(TokenGone.into());
        }
    }
    let probe = req.clone();
    let (ready, due_in) = app
        .readers
        .read(move |store| store.claimable(&probe))
        .await?;
    if !ready {
        return Ok((Vec::new(), due_in));
    }
    let write = Scoped {
        write: Write::Claim(req.clone()),
        scope: scoped.scope.clone(),
    };
    match app.writer.write(write).await? {
        Written::Claimed(jobs, expired) => {
            app.metrics.claimed(
                &req.queue,
                jobs.len() as u64,
                expired.retried + expired.dead,
            );
            Ok((jobs, None))
        }
        _ => Ok((Vec::new(), None)),
    }
}

/// A waiting claim's token was revoked, or expired, while it waited.
#[derive(Debug)]
pub struct TokenGone;

impl std::fmt::Display for TokenGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the token was revoked or expired while the claim waited; it took nothing")
    }
}

impl std::error::Error for TokenGone {}

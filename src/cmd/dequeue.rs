//! `dequeue`: claim the next visible jobs, optionally waiting for one to arrive.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::{claim_request, Context};
use crate::cli::{DequeueArgs, Wait};
use crate::error::Error;
use crate::job::{ClaimRequest, Job};
use crate::output::Printer;
use crate::reconnect::reconnect;
use crate::signals::{self, Interrupt};
use crate::store::Store;
use crate::watch::Watch;

pub fn run(args: DequeueArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let request = claim_request(args.claim, args.count.unwrap_or(1) as usize);
    let mut store = ctx.open_store()?;
    let jobs = match args.wait {
        None => store.try_claim(&request)?.0,
        Some(wait) => wait_for_jobs(&mut store, &request, wait)?,
    };
    if jobs.is_empty() && args.count.is_none() {
        out.note(&format!("no visible job in queue {}", request.queue));
    }
    let printed = match (args.count, jobs.first()) {
        (Some(_), _) => out.jobs(&jobs),
        (None, Some(job)) => out.job(job),
        (None, None) => Ok(()),
    };
    // Nobody will see a job that could not be printed (say, stdout was closed): give it
    // back at once rather than let its claim expire and count a failed attempt.
    if let Err(e) = printed.and_then(|()| out.flush()) {
        release_all(&mut store, &jobs)?;
        return Err(e);
    }
    Ok(())
}

fn release_all(store: &mut Store, jobs: &[Job]) -> Result<()> {
    jobs.iter()
        .try_for_each(|job| store.release(&job.id, job.claim.as_deref()).map(drop))
}

/// How long a wait goes without checking for SIGINT/SIGTERM.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Claims as soon as something is claimable, waiting in between. Empty when the wait ran
/// out; an interruption claims nothing. The wait is timed on the monotonic clock: a wall
/// clock stepped back or forward (NTP, a suspended laptop, an operator) neither stretches
/// it nor cuts it short.
fn wait_for_jobs(store: &mut Store, request: &ClaimRequest, wait: Wait) -> Result<Vec<Job>> {
    let interrupt = Interrupt::install()?;
    let give_up_at = match wait {
        Wait::Forever => None,
        Wait::For(ms) => Some(Instant::now() + Duration::from_millis(ms.max(0) as u64)),
    };
    let mut watch = Watch::new();
    loop {
        check(&interrupt)?;
        match look_or_wait(store, request, &mut watch, give_up_at) {
            Ok(Some(jobs)) if jobs.is_empty() => return Ok(jobs),
            Ok(Some(jobs)) => return hand_over(store, jobs, &interrupt),
            Ok(None) => {}
            // The server went away (a restart, a dropped network): a claim cut short was
            // rolled back, or else expires and comes back; carry on once it answers.
            Err(e) if !store.connected() => {
                reconnect(store, e, &interrupt)?;
                watch.reset();
            }
            Err(e) => return Err(e),
        }
    }
}

/// One turn of the wait: claims if a look could find something, else waits a little for a
/// reason to look again. `Some` when done: the jobs claimed, or none once the time is up.
fn look_or_wait(
    store: &mut Store,
    request: &ClaimRequest,
    watch: &mut Watch,
    give_up_at: Option<Instant>,
) -> Result<Option<Vec<Job>>> {
    if watch.should_look(store, &request.queue)? {
        let jobs = watch.look(store, request)?;
        if !jobs.is_empty() {
            return Ok(Some(jobs));
        }
    }
    let left = give_up_at.map(|t| t.saturating_duration_since(Instant::now()));
    if left.is_some_and(|left| left.is_zero()) {
        return Ok(Some(Vec::new()));
    }
    let nap = left.map_or(SIGNAL_CHECK, |left| left.min(SIGNAL_CHECK));
    watch.wait(store, &request.queue, nap)?;
    Ok(None)
}

/// A signal that arrived while the claim was being committed still means "claim nothing":
/// the jobs go back to pending untouched.
fn hand_over(store: &mut Store, jobs: Vec<Job>, interrupt: &Interrupt) -> Result<Vec<Job>> {
    if interrupt.received().is_some() {
        release_all(store, &jobs)?;
        check(interrupt)?;
    }
    Ok(jobs)
}

fn check(interrupt: &Interrupt) -> Result<()> {
    match interrupt.received() {
        Some(signal) => Err(Error::interrupted(
            signal,
            format!(
                "interrupted by {} while waiting; no job was claimed",
                signals::name(signal)
            ),
        )
        .into()),
        None => Ok(()),
    }
}

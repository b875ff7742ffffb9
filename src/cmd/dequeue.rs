//! `dequeue`: claim the next visible jobs, optionally waiting for one to arrive.

use std::thread::sleep;
use std::time::Duration;

use anyhow::Result;

use super::{required_queue, Context};
use crate::cli::{DequeueArgs, Wait};
use crate::error::Error;
use crate::job::{ClaimRequest, Job};
use crate::output::Printer;
use crate::signals::{self, Interrupt};
use crate::store::Store;
use crate::time::{self, Millis};

/// How often a waiting dequeue looks for new commits. Looking is one cheap pragma read, so
/// this sets the wake-up latency without costing measurable CPU.
const POLL: Millis = 25;

pub fn run(args: DequeueArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let request = ClaimRequest {
        queue: required_queue(&args.queue)?,
        job_type: args.job_type,
        worker: args.worker,
        timeout_ms: args.timeout,
        count: args.count.unwrap_or(1) as usize,
    };
    let mut store = ctx.open_store()?;
    let jobs = match args.wait {
        None => store.claim(&request, time::now())?,
        Some(wait) => wait_for_jobs(&mut store, &request, wait)?,
    };
    if jobs.is_empty() {
        out.note(&format!("no visible job in queue {}", request.queue));
    }
    match (args.count, jobs.first()) {
        (Some(_), _) => out.jobs(&jobs),
        (None, Some(job)) => out.job(job),
        (None, None) => Ok(()),
    }
}

/// Claims as soon as something is claimable, sleeping in between. Empty when the wait ran
/// out; an interruption claims nothing.
fn wait_for_jobs(store: &mut Store, request: &ClaimRequest, wait: Wait) -> Result<Vec<Job>> {
    let interrupt = Interrupt::install()?;
    let give_up_at = match wait {
        Wait::Forever => None,
        Wait::For(ms) => Some(time::now() + ms),
    };
    loop {
        check(&interrupt)?;
        // Read the version before looking, so a commit that lands after the look is seen.
        let version = store.data_version()?;
        let now = time::now();
        let next = store.next_visible(&request.queue, request.job_type.as_deref())?;
        if next.is_some_and(|t| t <= now) {
            let jobs = store.claim(request, now)?;
            if !jobs.is_empty() {
                return hand_over(store, jobs, &interrupt);
            }
        }
        if give_up_at.is_some_and(|t| now >= t) {
            return Ok(Vec::new());
        }
        let wake_at = [next, give_up_at].into_iter().flatten().min();
        sleep_until_change(store, version, wake_at, &interrupt)?;
    }
}

/// A signal that arrived while the claim was being committed still means "claim nothing":
/// the jobs go back to pending untouched.
fn hand_over(store: &mut Store, jobs: Vec<Job>, interrupt: &Interrupt) -> Result<Vec<Job>> {
    if interrupt.received().is_some() {
        for job in &jobs {
            store.release(&job.id, job.claim.as_deref(), time::now())?;
        }
        check(interrupt)?;
    }
    Ok(jobs)
}

fn sleep_until_change(
    store: &Store,
    version: i64,
    wake_at: Option<Millis>,
    interrupt: &Interrupt,
) -> Result<()> {
    loop {
        let now = time::now();
        let nap = wake_at.map_or(POLL, |t| (t - now).clamp(0, POLL));
        sleep(Duration::from_millis(nap as u64));
        if interrupt.received().is_some()
            || wake_at.is_some_and(|t| time::now() >= t)
            || store.data_version()? != version
        {
            return Ok(());
        }
    }
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

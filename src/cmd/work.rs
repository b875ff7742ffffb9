//! `work`: the built-in worker loop; runs a command for each job (see `worker`).

use std::ffi::OsStr;
use std::path::Path;

use anyhow::Result;

use super::{claim_request, Context};
use crate::cli::{WorkArgs, MIN_CLAIM_TIMEOUT};
use crate::error::Error;
use crate::output::Printer;
use crate::time::{self, Millis};
use crate::worker::{self, Settings};

/// clap requires the command; said anyway, should that rule ever change.
const NO_COMMAND: &str = "work needs a command to run, after --";

pub fn run(args: WorkArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    let mut request = claim_request(args.claim, 1);
    request.worker = request.worker.or_else(|| Some(default_worker_name()));
    let program = args
        .command
        .first()
        .ok_or_else(|| Error::usage(NO_COMMAND))?;
    check_runnable(program)?;
    let mut store = ctx.open_store()?;
    // Renewals keep the claim one lease ahead, so settle its length now.
    let lease = store
        .settings(&request.queue)?
        .claim_timeout(request.timeout_ms);
    check_lease(&request.queue, lease)?;
    request.timeout_ms = Some(lease);
    let settings = Settings {
        request,
        lease,
        concurrency: usize::from(args.concurrency),
        job_timeout: args.job_timeout,
        until_empty: args.until_empty,
        until_drained: args.until_drained,
        max_jobs: args.max_jobs,
        grace: args.grace,
        command: args.command,
        db: ctx.db_for_child(),
    };
    let summary = worker::run(&mut store, &settings, &mut |event| out.work_event(event))?;
    out.work_summary(&summary)
}

/// Refuses a queue default claim timeout below the minimum, which only an older queueprim
/// could have stored: the runner would stop every command before its claim expired.
fn check_lease(queue: &str, lease: Millis) -> Result<()> {
    if lease >= MIN_CLAIM_TIMEOUT {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "queue {queue}'s default claim timeout is {}, shorter than the 1s minimum; pass \
         --timeout, or set a longer default: queueprim config {queue} --timeout 30m",
        time::human_duration(lease)
    ))
    .into())
}

/// Refuses a command that cannot be found before any job is claimed, so a typo does not
/// fail every job in the queue.
fn check_runnable(program: &OsStr) -> Result<()> {
    let path = Path::new(program);
    let found = if path.components().count() > 1 {
        path.is_file()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|dirs| std::env::split_paths(&dirs).any(|dir| dir.join(path).is_file()))
    };
    if found {
        return Ok(());
    }
    let why = if path.is_dir() {
        "a folder, not a command"
    } else {
        "no such command (give a path, or a program on PATH)"
    };
    Err(Error::invalid(format!("cannot run '{}': {why}", program.to_string_lossy())).into())
}

/// `HOST:PID`, which tells apart runners on one machine and across machines sharing a disk.
fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

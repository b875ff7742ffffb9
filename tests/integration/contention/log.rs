//! What each actor logs: the jobs it enqueued, its claims and how they ended, the refusals
//! it met, what it purged, and anything unexpected.

use crate::harness::{millis, ErrorJson, Job, Run};

/// Everything one actor did that the checks need.
#[derive(Default)]
pub struct Log {
    pub processes: u64,
    pub enqueued: Vec<Enqueued>,
    pub claims: Vec<Claim>,
    pub refusals: Vec<Refusal>,
    pub purged: Finished,
    /// Anything unexpected: a failed process, stderr output, a reply that breaks a rule.
    pub errors: Vec<String>,
}

pub struct Enqueued {
    pub id: String,
    pub max_retries: u32,
}

/// One claim as its holder saw it, times in the product's milliseconds.
#[derive(Debug, Clone)]
pub struct Claim {
    pub job: String,
    pub token: String,
    /// When the claim was made (`updated_at` of the dequeued job).
    pub start: i64,
    /// Its deadline (`visible_after`), moved by each accepted `extend`.
    pub deadline: i64,
    /// When the holder's last accepted command on it ran.
    pub last_accepted: i64,
    /// How the holder ended it, if it did.
    pub end: Option<End>,
}

#[derive(Debug, Clone, Copy)]
pub struct End {
    pub at: i64,
    pub how: Ending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Completed,
    /// Failed with retries left: back to pending.
    Retried,
    Dead,
}

impl Claim {
    pub fn from_dequeued(job: &Job, worker: &str) -> Result<Claim, String> {
        match (&job.claim, &job.visible_after) {
            (Some(token), Some(deadline))
                if job.status == "claimed" && job.worker.as_deref() == Some(worker) =>
            {
                let start = millis(&job.updated_at);
                Ok(Claim {
                    job: job.id.clone(),
                    token: token.clone(),
                    start,
                    deadline: millis(deadline),
                    last_accepted: start,
                    end: None,
                })
            }
            _ => Err(format!(
                "{worker} dequeued a job that is not its claim: {job:?}"
            )),
        }
    }

    pub fn finish(&mut self, at: i64, how: Ending) {
        self.end = Some(End { at, how });
        self.last_accepted = at;
    }

    /// When the claim stopped holding the job: its deadline, or its end if that was sooner.
    pub fn held_until(&self) -> i64 {
        match self.end {
            Some(end) => end.at.min(self.deadline),
            None => self.deadline,
        }
    }

    /// Whether the deadline passed before the holder ended the claim.
    pub fn expired(&self) -> bool {
        self.end.is_none_or(|end| end.at > self.deadline)
    }

    pub fn completed(&self) -> bool {
        self.end.is_some_and(|end| end.how == Ending::Completed)
    }

    /// Ended in a state no claim can follow.
    pub fn terminal(&self) -> bool {
        self.end
            .is_some_and(|end| matches!(end.how, Ending::Completed | Ending::Dead))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Complete,
    Fail,
    Extend,
}

/// A `complete`, `fail` or `extend` refused with exit 4 (the claim is no longer yours) or
/// exit 3 (the job is gone): expected of a stale claim, and checked to be one.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub op: Op,
    pub code: i32,
    pub job: String,
    pub token: String,
    pub claim_start: i64,
    pub deadline: i64,
    /// The test's clock once the refused process had exited.
    pub at: i64,
}

/// Jobs removed by purges, by the status purged.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    pub done: u64,
    pub dead: u64,
}

/// How a process ended: its result, or a refusal of the kind its exit code names.
pub enum Reply {
    Accepted(Run),
    Refused(i32, Run),
}

/// Exit 0 with nothing on stderr is a result; exit 3 or 4 with nothing on stdout and the
/// matching JSON error on stderr is a refusal; anything else (exit 1 for "database is
/// locked", any stderr output on success) is an error.
pub fn classify(run: Run) -> Result<Reply, String> {
    match run.code {
        Some(0) if run.stderr.is_empty() => Ok(Reply::Accepted(run)),
        Some(code @ (3 | 4))
            if run.stdout.is_empty() && error_kind(&run.stderr) == Some(refusal_kind(code)) =>
        {
            Ok(Reply::Refused(code, run))
        }
        _ => Err(format!(
            "queueprim {} exited {:?}; stdout {:?}; stderr {:?}",
            run.args,
            run.code,
            run.stdout.trim_end(),
            run.stderr.trim_end()
        )),
    }
}

pub fn error_kind(stderr: &str) -> Option<String> {
    serde_json::from_str::<ErrorJson>(stderr.trim())
        .ok()
        .map(|e| e.error.kind)
}

pub fn refusal_kind(code: i32) -> String {
    if code == 3 { "not_found" } else { "conflict" }.to_string()
}

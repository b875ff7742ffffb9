//! How a run's result is recorded, and how an earlier try of that record, cut off by a lost
//! connection, is recognised once the runner has connected again.

use anyhow::Result;

use super::JobResult;
use crate::error::{Error, Kind};
use crate::job::{clip_reason, Job, Outcome, Status};

/// How a run's job is recorded.
pub(super) enum Finish {
    Complete(Option<String>),
    Fail(String),
    Release,
}

impl Finish {
    pub(super) fn failed(&self, outcome: Outcome) -> JobResult {
        let reason = match self {
            Finish::Fail(reason) => reason.clone(),
            _ => String::new(),
        };
        match outcome {
            Outcome::Retry => JobResult::Retry(reason),
            Outcome::Dead => JobResult::Dead(reason),
        }
    }

    /// Whether `now` (the job as it is) shows that an earlier try of this record, cut short
    /// by a lost connection, committed after all; the result it had, if so.
    pub(super) fn took_effect(&self, claimed: &Job, now: &Job) -> Option<JobResult> {
        if now.claim != claimed.claim {
            return None;
        }
        match self {
            Finish::Complete(_) => (now.status == Status::Done).then_some(JobResult::Done),
            Finish::Fail(reason) => {
                let ours = now
                    .errors
                    .last()
                    .is_some_and(|f| f.reason == clip_reason(reason))
                    && now.attempt_count == claimed.attempt_count + 1;
                match now.status {
                    Status::Pending if ours => Some(self.failed(Outcome::Retry)),
                    Status::Dead if ours => Some(self.failed(Outcome::Dead)),
                    _ => None,
                }
            }
            // An expiry would have left the claim lapsed; a release does not.
            Finish::Release => {
                (now.status == Status::Pending && !now.claim_lapsed).then_some(JobResult::Released)
            }
        }
    }
}

/// A conflict or a vanished job means another worker owns the job now: report it as lost
/// instead of stopping the whole runner.
pub(super) fn settle(outcome: Result<JobResult>) -> Result<JobResult> {
    match outcome {
        Err(e) if claim_lost(&e) => Ok(JobResult::Lost(format!("{e:#}"))),
        other => other,
    }
}

pub(super) fn claim_lost(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<Error>().map(|e| e.kind),
        Some(Kind::Conflict | Kind::NotFound)
    )
}

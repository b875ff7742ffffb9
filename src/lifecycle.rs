//! How a job moves between states. Each transition is a pure function that checks the job may
//! take it and changes it in place; the store loads, applies and saves inside one transaction.

use crate::error::Error;
use crate::job::{
    clip_reason, failure_outcome, record_failure, retry_delay, Failure, Job, Outcome, Status,
};
use crate::text::visible;
use crate::time::{rfc3339, Millis, LATEST};

/// Hands a pending job to a worker until `deadline`.
pub fn claim(job: &mut Job, worker: Option<&str>, token: String, deadline: Millis, now: Millis) {
    job.status = Status::Claimed;
    job.worker = worker.map(str::to_string);
    job.claim = Some(token);
    job.claim_lapsed = false;
    job.visible_after = Some(deadline);
    job.updated_at = now;
}

/// Marks a job done. Accepted from the claim's holder, or late from a holder whose claim
/// expired as long as nobody else has claimed the job since.
pub fn complete(
    job: &mut Job,
    claim: Option<&str>,
    output: Option<String>,
    now: Millis,
) -> Result<(), Error> {
    check_holder(job, "complete", claim, true)?;
    // `claim_lapsed` is left as it is: set only on a late complete, whose try was counted
    // when the claim expired (see `Job::attempts`).
    job.status = Status::Done;
    job.output = output;
    job.visible_after = None;
    job.updated_at = now;
    job.finished_at = Some(now);
    Ok(())
}

/// How a failure asks to be handled.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailOptions {
    /// Dead at once, whatever retries are left.
    pub dead: bool,
    /// This retry's delay, instead of the job's backoff.
    pub retry_in: Option<Millis>,
}

/// Records a failed attempt and applies the retry rule.
pub fn fail(
    job: &mut Job,
    claim: Option<&str>,
    reason: &str,
    options: FailOptions,
    now: Millis,
) -> Result<Outcome, Error> {
    check_holder(job, "fail", claim, false)?;
    Ok(count_failure(job, reason, options, now))
}

/// Pushes a claim's deadline `by` further, counted from now if it has already passed.
pub fn extend(job: &mut Job, claim: Option<&str>, by: Millis, now: Millis) -> Result<(), Error> {
    check_holder(job, "extend", claim, false)?;
    let deadline = job.visible_after.unwrap_or(now).max(now) + by;
    if deadline > LATEST {
        return Err(Error::invalid(format!(
            "cannot extend {}: the deadline would pass the year 9999",
            job.id
        )));
    }
    job.visible_after = Some(deadline);
    job.updated_at = now;
    Ok(())
}

/// Keeps a live claim alive until at least `deadline` (the runner's automatic heartbeat).
pub fn renew(
    job: &mut Job,
    claim: Option<&str>,
    deadline: Millis,
    now: Millis,
) -> Result<(), Error> {
    check_holder(job, "renew the claim of", claim, false)?;
    job.visible_after = Some(job.visible_after.unwrap_or(deadline).max(deadline));
    job.updated_at = now;
    Ok(())
}

/// Gives a claim back without counting an attempt: the job is visible again at once.
pub fn release(job: &mut Job, claim: Option<&str>, now: Millis) -> Result<(), Error> {
    check_holder(job, "release", claim, false)?;
    job.status = Status::Pending;
    job.visible_after = Some(now);
    job.updated_at = now;
    Ok(())
}

/// Releases a claim whose deadline has passed: a failed attempt under the retry rule, so a
/// job that keeps crashing its workers ends dead instead of looping forever.
pub fn expire(job: &mut Job, now: Millis) -> Outcome {
    let deadline = job.visible_after.unwrap_or(now);
    let reason = format!(
        "claim expired at {} without complete or fail",
        rfc3339(deadline)
    );
    let outcome = count_failure(job, &reason, FailOptions::default(), now);
    job.claim_lapsed = true;
    outcome
}

/// Brings a dead (or done) job back to pending with a fresh attempt budget; its error
/// history stays.
pub fn replay(job: &mut Job, now: Millis) -> Result<(), Error> {
    if !matches!(job.status, Status::Dead | Status::Done) {
        return Err(Error::conflict(format!(
            "cannot retry {}: it is {}; only dead or done jobs can be retried",
            job.id,
            job.status.as_str()
        )));
    }
    job.status = Status::Pending;
    job.attempt_count = 0;
    job.claim_lapsed = false;
    job.visible_after = Some(now);
    job.output = None;
    job.finished_at = None;
    job.updated_at = now;
    Ok(())
}

/// Checks that a job may be cancelled: only a pending job (delayed or waiting in its group
/// included) can be; a claimed one belongs to its holder, a finished one to `purge`.
pub fn check_cancel(job: &Job) -> Result<(), Error> {
    let why = match job.status {
        Status::Pending => return Ok(()),
        Status::Claimed => match &job.worker {
            Some(worker) => format!(
                "worker {} holds it; let it finish, or release it and cancel it then",
                visible(worker, 128)
            ),
            None => "it is claimed; let its holder finish, or release it and cancel it then".into(),
        },
        Status::Done => "it is already done; purge deletes finished jobs".into(),
        Status::Dead => "it is dead; purge deletes finished jobs, retry runs it again".into(),
    };
    Err(Error::conflict(format!("cannot cancel {}: {why}", job.id)))
}

fn count_failure(job: &mut Job, reason: &str, options: FailOptions, now: Millis) -> Outcome {
    let outcome = failure_outcome(job.attempt_count, job.max_retries, options.dead);
    job.attempt_count += 1;
    let failure = Failure {
        at: now,
        attempt: job.attempt_count,
        worker: job.worker.clone(),
        reason: clip_reason(reason),
    };
    record_failure(&mut job.errors, failure);
    job.claim_lapsed = false;
    job.updated_at = now;
    match outcome {
        Outcome::Retry => {
            let delay = options
                .retry_in
                .unwrap_or_else(|| retry_delay(job.backoff, &job.id, job.attempt_count));
            job.status = Status::Pending;
            job.visible_after = Some(now.saturating_add(delay).min(LATEST));
        }
        Outcome::Dead => {
            job.status = Status::Dead;
            job.visible_after = None;
            job.finished_at = Some(now);
        }
    }
    outcome
}

/// Checks that the caller may act on the job's claim. Without a token, whoever holds the
/// current claim may act; with one, it must be the job's claim (fencing a worker whose claim
/// expired and went to someone else).
fn check_holder(job: &Job, verb: &str, token: Option<&str>, late_ok: bool) -> Result<(), Error> {
    let own_token = token.is_none_or(|t| job.claim.as_deref() == Some(t));
    let late = late_ok && job.claim_lapsed && token.is_some() && own_token;
    match job.status {
        Status::Claimed if own_token => Ok(()),
        Status::Pending | Status::Dead if late => Ok(()),
        Status::Claimed | Status::Pending if !own_token => Err(Error::conflict(format!(
            "cannot {verb} {}: claim {} is not this job's current claim ({})",
            job.id,
            token.unwrap_or_default(),
            holder_phrase(job)
        ))),
        _ => Err(Error::conflict(format!(
            "cannot {verb} {}: {}{}",
            job.id,
            state_phrase(job),
            late_hint(job, late_ok, token)
        ))),
    }
}

/// Who holds the job now, for a caller whose token is not the job's claim. Worded for any
/// such token, one that was an earlier claim of the job or one that never was, and never
/// naming the current token, which belongs to its holder alone.
fn holder_phrase(job: &Job) -> String {
    match (job.status, &job.worker) {
        (Status::Claimed, Some(worker)) => {
            format!(
                "worker {} holds it now; leave the job to it",
                visible(worker, 128)
            )
        }
        (Status::Claimed, None) => "another claim holds it now; leave the job to it".into(),
        _ => "the job is pending and nobody holds it; dequeue it to work on it".into(),
    }
}

fn state_phrase(job: &Job) -> String {
    match job.status {
        Status::Pending if job.claim_lapsed => {
            "its claim expired and it went back to pending".into()
        }
        Status::Pending => "it is pending, not claimed".into(),
        Status::Claimed => "it is claimed".into(),
        Status::Done => "it is already done".into(),
        Status::Dead if job.claim_lapsed => {
            "its claim expired on its last allowed attempt, so it is dead".into()
        }
        Status::Dead => format!(
            "it is dead (failed {} time{})",
            job.attempt_count,
            if job.attempt_count == 1 { "" } else { "s" }
        ),
    }
}

/// `late_ok` is set for `complete` only, the one verb a lapsed claim may still use.
fn late_hint(job: &Job, late_ok: bool, token: Option<&str>) -> &'static str {
    let may_be_late = matches!(job.status, Status::Pending | Status::Dead);
    if late_ok && may_be_late && job.claim_lapsed && token.is_none() {
        "; pass --claim with the token from dequeue to complete it late"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed_job(max_retries: u32) -> Job {
        let mut job = Job {
            id: "q_test".into(),
            queue: "q".into(),
            job_type: None,
            payload: "{}".into(),
            priority: 0,
            status: Status::Pending,
            attempt_count: 0,
            max_retries,
            backoff: None,
            group: None,
            key: None,
            worker: None,
            claim: None,
            claim_lapsed: false,
            visible_after: Some(0),
            output: None,
            errors: vec![],
            created_at: 0,
            updated_at: 0,
            finished_at: None,
        };
        claim(&mut job, Some("w1"), "c_one".into(), 1_000, 0);
        job
    }

    #[test]
    fn fencing_refuses_a_stale_token() {
        let mut job = claimed_job(0);
        let err = complete(&mut job, Some("c_other"), None, 10).unwrap_err();
        assert!(
            err.message
                .contains("not this job's current claim (worker w1 holds it now"),
            "{}",
            err.message
        );
        assert!(
            !err.message.contains("c_one"),
            "the live token stays secret"
        );
        assert!(complete(&mut job, Some("c_one"), None, 10).is_ok());
        assert_eq!(job.status, Status::Done);
    }

    #[test]
    fn expiry_counts_as_an_attempt_and_allows_a_late_complete() {
        let mut job = claimed_job(1);
        assert_eq!(expire(&mut job, 2_000), Outcome::Retry);
        assert_eq!((job.status, job.attempt_count), (Status::Pending, 1));
        assert!(fail(
            &mut job,
            Some("c_one"),
            "late",
            FailOptions::default(),
            2_100
        )
        .is_err());
        assert!(complete(&mut job, None, None, 2_100)
            .unwrap_err()
            .message
            .contains("--claim"));
        assert!(complete(&mut job, Some("c_one"), None, 2_100).is_ok());
    }

    #[test]
    fn extend_counts_from_now_once_the_deadline_passed() {
        let mut job = claimed_job(0);
        extend(&mut job, None, 500, 100).unwrap();
        assert_eq!(job.visible_after, Some(1_500));
        extend(&mut job, None, 500, 5_000).unwrap();
        assert_eq!(job.visible_after, Some(5_500));
    }
}

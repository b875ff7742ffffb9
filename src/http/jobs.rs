//! The routes that act on jobs: enqueue (one or a batch), claim (waiting if asked), and a
//! job's complete, fail, extend, release, retry, get and cancel. Each checks its input with
//! the CLI's parsers, sends one write through group commit (or one read), and answers with
//! the CLI's JSON.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::value::RawValue;

use super::auth::{no_queue, Caller};
use super::body::{
    self, Body, ClaimBody, CompleteBody, Empty, ExtendBody, FailBody, JobId, QueueName,
    ReleaseBody, MOST_CLAIMED,
};
use super::errors::{ApiError, ApiResult};
use super::{respond, waiting, App};
use crate::cli::parse_claim_timeout;
use crate::follow_up;
use crate::input::{compact_json, parse_job_type, parse_worker};
use crate::job::{ClaimRequest, NewJob};
use crate::lifecycle::FailOptions;
use crate::output::json::{CancelJson, CompletedJson, EnqueuedJson, JobJson};
use crate::store::{Scoped, Write, Written};
use crate::time::{parse_duration, parse_positive_duration};

/// The most jobs one enqueue request may carry.
const MOST_IN_BATCH: usize = 10_000;
/// The longest a claim may wait for work: past this, proxies and clients tend to give up
/// on a request; ask again when it returns `[]`.
pub const MOST_WAIT: Duration = Duration::from_secs(120);

type Shared = State<Arc<App>>;

/// `POST /v1/queues/{queue}/jobs`: one job object, or an array of them (all or nothing).
/// 201 when a job was made; 200 when every job's dedup key was taken, so nothing was.
pub async fn enqueue(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    QueueName(queue): QueueName,
    Body(body): Body<Box<RawValue>>,
) -> ApiResult<Response> {
    caller.require_queue(&queue)?;
    let (batch, specs) = body::parse_jobs(&body)?;
    if specs.len() > MOST_IN_BATCH {
        return Err(ApiError::invalid(format!(
            "a batch holds at most {MOST_IN_BATCH} jobs; send several"
        )));
    }
    let jobs = specs
        .into_iter()
        .enumerate()
        .map(|(index, spec)| {
            follow_up::new_job(spec, Some(&queue)).map_err(|e| match batch {
                true => ApiError::invalid(format!("job {}: {e}; nothing was enqueued", index + 1)),
                false => ApiError::invalid(e),
            })
        })
        .collect::<ApiResult<Vec<NewJob>>>()?;
    let written = commit(&app, &caller, Write::Enqueue(jobs), || {
        no_queue(&queue).message
    })
    .await?;
    let Written::Enqueued(mut list) = written else {
        return Err(ApiError::internal("an enqueue answered something else"));
    };
    if caller.only_produces() {
        // A job that held the dedup key may be claimed: its claim token lets whoever holds
        // it complete or fail the job, which a producer may not.
        list.iter_mut()
            .for_each(|enqueued| enqueued.job.claim = None);
    }
    let status = match list.iter().any(|e| !e.deduplicated) {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    };
    if batch {
        let items = list
            .iter()
            .map(EnqueuedJson::new)
            .collect::<anyhow::Result<Vec<_>>>();
        respond(status, &items.map_err(ApiError::internal)?)
    } else {
        let first = list
            .first()
            .ok_or_else(|| ApiError::internal("an enqueue added no job"))?;
        respond(
            status,
            &EnqueuedJson::new(first).map_err(ApiError::internal)?,
        )
    }
}

/// `POST /v1/queues/{queue}/claims`: up to `count` jobs, `[]` when none came in time.
pub async fn claim(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    QueueName(queue): QueueName,
    Body(body): Body<ClaimBody>,
) -> ApiResult<Response> {
    caller.require_queue(&queue)?;
    caller.require_consumer()?;
    let count = body.count.unwrap_or(1);
    if !(1..=MOST_CLAIMED).contains(&count) {
        return Err(ApiError::invalid(format!(
            "\"count\": {count} is not between 1 and {MOST_CLAIMED}"
        )));
    }
    let wait = body::field("wait", body.wait.as_deref(), parse_duration)?.unwrap_or(0);
    let wait = Duration::from_millis(wait.max(0) as u64);
    if wait > MOST_WAIT {
        return Err(ApiError::invalid(format!(
            "\"wait\": at most {}s; ask again when the claim returns []",
            MOST_WAIT.as_secs()
        )));
    }
    let req = ClaimRequest {
        queue: queue.clone(),
        job_type: body::field("type", body.job_type.as_deref(), parse_job_type)?,
        worker: body::field("worker", body.worker.as_deref(), parse_worker)?,
        timeout_ms: body::field("timeout", body.timeout.as_deref(), parse_claim_timeout)?,
        count: count as usize,
    };
    let scoped = Scoped {
        write: Write::Claim(req.clone()),
        scope: caller.scope(),
    };
    let jobs = waiting::claim(&app, req, scoped, caller.token_hash(), wait)
        .await
        .map_err(|e| match e.downcast_ref::<waiting::TokenGone>() {
            Some(gone) => ApiError::unauthorized(gone.to_string()),
            None => ApiError::from_store(e, || no_queue(&queue).message),
        })?;
    let items = jobs
        .iter()
        .map(JobJson::new)
        .collect::<anyhow::Result<Vec<_>>>();
    respond(StatusCode::OK, &items.map_err(ApiError::internal)?)
}

/// `POST /v1/jobs/{id}/complete`: with its output and follow-up jobs, all in one commit.
pub async fn complete(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    JobId(id): JobId,
    Body(body): Body<CompleteBody>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let output = body
        .output
        .map(|raw| compact_json(raw.get()))
        .transpose()
        .map_err(|e| ApiError::invalid(format!("\"output\": {e}")))?;
    let follow_ups = body
        .follow_ups
        .into_iter()
        .enumerate()
        .map(|(index, spec)| {
            let job = follow_up::new_job(spec, None)
                .map_err(|e| ApiError::invalid(format!("follow-up {}: {e}", index + 1)))?;
            match caller.reaches(&job.queue) {
                true => Ok(job),
                false => Err(no_queue(&job.queue)),
            }
        })
        .collect::<ApiResult<Vec<NewJob>>>()?;
    let write = Write::Complete {
        id: id.clone(),
        claim: body::claim(body.claim.as_deref())?,
        output,
        follow_ups,
    };
    match write_job(&app, &caller, write, &id).await? {
        Written::Completed(job, added) => {
            app.metrics.completed(&job.queue);
            respond(
                StatusCode::OK,
                &CompletedJson::new(&job, &added).map_err(ApiError::internal)?,
            )
        }
        _ => Err(ApiError::internal("a completion answered something else")),
    }
}

/// `POST /v1/jobs/{id}/fail`: the retry rule decides between pending and dead.
pub async fn fail(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    JobId(id): JobId,
    Body(body): Body<FailBody>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let retry_in = body::field("retry_in", body.retry_in.as_deref(), parse_duration)?;
    if body.dead && retry_in.is_some() {
        return Err(ApiError::usage(
            "\"dead\" and \"retry_in\" cannot both be given",
        ));
    }
    let write = Write::Fail {
        id: id.clone(),
        claim: body::claim(body.claim.as_deref())?,
        reason: body.reason.unwrap_or_else(|| "no reason given".into()),
        options: FailOptions {
            dead: body.dead,
            retry_in,
        },
    };
    match write_job(&app, &caller, write, &id).await? {
        Written::Failed(job, _) => {
            app.metrics.failed(&job.queue);
            job_response(&job)
        }
        _ => Err(ApiError::internal("a failure answered something else")),
    }
}

/// `POST /v1/jobs/{id}/extend`: pushes the claim's deadline by `by`.
pub async fn extend(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    JobId(id): JobId,
    Body(body): Body<ExtendBody>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let by = body::field("by", body.by.as_deref(), parse_positive_duration)?
        .ok_or_else(|| ApiError::invalid("\"by\" is required: how much longer, like \"30m\""))?;
    let write = Write::Extend {
        id: id.clone(),
        claim: body::claim(body.claim.as_deref())?,
        by,
    };
    one_job(&app, &caller, write, &id).await
}

/// `POST /v1/jobs/{id}/release`: back to pending without counting an attempt.
pub async fn release(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    JobId(id): JobId,
    Body(body): Body<ReleaseBody>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let write = Write::Release {
        id: id.clone(),
        claim: body::claim(body.claim.as_deref())?,
    };
    one_job(&app, &caller, write, &id).await
}

/// `POST /v1/jobs/{id}/retry`: a dead (or done) job back to pending, fresh attempts; the
/// answer is an array of that one job, as `retry` prints.
pub async fn retry(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    JobId(id): JobId,
    Body(Empty {}): Body<Empty>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    match write_job(&app, &caller, Write::Retry { id: id.clone() }, &id).await? {
        // An array, as `retry ID…` prints, like a cancel's list of ids.
        Written::Job(job) => respond(
            StatusCode::OK,
            &[JobJson::new(&job).map_err(ApiError::internal)?],
        ),
        _ => Err(ApiError::internal("a retry answered something else")),
    }
}

/// `DELETE /v1/jobs/{id}`: cancels a pending job.
pub async fn cancel(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    JobId(id): JobId,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    match write_job(&app, &caller, Write::Cancel { id: id.clone() }, &id).await? {
        Written::Job(job) => respond(
            StatusCode::OK,
            &CancelJson {
                cancelled: vec![job.id.as_str()],
            },
        ),
        _ => Err(ApiError::internal("a cancel answered something else")),
    }
}

/// `GET /v1/jobs/{id}`.
pub async fn get(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    JobId(id): JobId,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let wanted = id.clone();
    let job = app
        .readers
        .read(move |store| store.get(&wanted))
        .await
        .map_err(|e| ApiError::from_store(e, || no_job(&id)))?;
    match caller.reaches(&job.queue) {
        true => job_response(&job),
        false => Err(ApiError::not_found(no_job(&id))),
    }
}

fn no_job(id: &str) -> String {
    format!("no job with id {id}")
}

fn job_response(job: &crate::job::Job) -> ApiResult<Response> {
    respond(
        StatusCode::OK,
        &JobJson::new(job).map_err(ApiError::internal)?,
    )
}

async fn one_job(app: &App, caller: &Caller, write: Write, id: &str) -> ApiResult<Response> {
    match write_job(app, caller, write, id).await? {
        Written::Job(job) => job_response(&job),
        _ => Err(ApiError::internal("a write answered something else")),
    }
}

/// A write on job `id`: one outside the caller's queues is not found.
async fn write_job(app: &App, caller: &Caller, write: Write, id: &str) -> ApiResult<Written> {
    commit(app, caller, write, || no_job(id)).await
}

async fn commit(
    app: &App,
    caller: &Caller,
    write: Write,
    missing: impl FnOnce() -> String,
) -> ApiResult<Written> {
    let scoped = Scoped {
        write,
        scope: caller.scope(),
    };
    app.writer
        .write(scoped)
        .await
        .map_err(|e| ApiError::from_store(e, missing))
}

//! The routes that read or change queues: a queue's jobs, every queue the caller reaches,
//! the counts over them, a queue's settings (and pause/resume), purge, and the metrics.
//! Lists and counts leave out every queue the caller does not reach.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::Caller;
use super::body::{
    self, Body, ListParams, Params, PurgeParams, QueueName, SettingsBody, MOST_LISTED,
};
use super::errors::{ApiError, ApiResult};
use super::{respond, App};
use crate::cli::parse_claim_timeout;
use crate::input::{parse_job_type, parse_worker};
use crate::job::{Counts, ListFilter, PurgeFilter, Status};
use crate::output::json::{
    CountsJson, JobJson, PurgeJson, QueueJson, QueueSettingsJson, SettingsJson,
};
use crate::store::{Scoped, SettingsChange, Write, Written};
use crate::time::{parse_duration, parse_positive_duration};

type Shared = State<Arc<App>>;

fn status(value: Option<&str>) -> ApiResult<Option<Status>> {
    body::field("status", value, Status::parse)
}

/// `GET /v1/queues/{queue}/jobs`: newest first, at most `limit` (100 unless said); when
/// cut at the limit, `x-total-count` says how many match.
pub async fn list(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    QueueName(queue): QueueName,
    Params(params): Params<ListParams>,
) -> ApiResult<Response> {
    caller.require_queue(&queue)?;
    caller.require_consumer()?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=MOST_LISTED).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "\"limit\": {limit} is not between 1 and {MOST_LISTED}"
        )));
    }
    let filter = ListFilter {
        queue: Some(queue),
        status: status(params.status.as_deref())?,
        job_type: body::field("type", params.job_type.as_deref(), parse_job_type)?,
        worker: body::field("worker", params.worker.as_deref(), parse_worker)?,
        limit: Some(limit),
    };
    let (jobs, total) = app
        .readers
        .read(move |store| {
            let mut jobs = Vec::new();
            store.list(&filter, |job| {
                jobs.push(job);
                Ok(())
            })?;
            let total = match jobs.len() as u64 == limit {
                true => Some(store.count_matching(&filter)?),
                false => None,
            };
            Ok((jobs, total))
        })
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    let items = jobs
        .iter()
        .map(JobJson::new)
        .collect::<anyhow::Result<Vec<_>>>();
    let mut response = respond(StatusCode::OK, &items.map_err(ApiError::internal)?)?;
    if let Some(total) = total.filter(|&total| total > limit) {
        response
            .headers_mut()
            .insert("x-total-count", HeaderValue::from(total));
    }
    Ok(response)
}

/// `GET /v1/queues`: counts and settings of each queue the caller reaches.
pub async fn queues(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let queues = app
        .readers
        .read(|store| store.queues())
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    let visible: Vec<QueueJson> = queues
        .iter()
        .filter(|q| caller.reaches(&q.queue))
        .map(QueueJson::new)
        .collect();
    respond(StatusCode::OK, &visible)
}

/// `GET /v1/stats`: job counts by status over the queues the caller reaches.
pub async fn stats(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let queues = app
        .readers
        .read(|store| store.queues())
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    let mut counts = Counts::default();
    for queue in queues.iter().filter(|q| caller.reaches(&q.queue)) {
        counts.merge(&queue.counts);
    }
    respond(StatusCode::OK, &CountsJson::new(&counts))
}

/// `GET /v1/queues/{queue}`: the queue's settings (defaults for a queue never set).
pub async fn settings(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    QueueName(queue): QueueName,
) -> ApiResult<Response> {
    caller.require_queue(&queue)?;
    caller.require_consumer()?;
    let wanted = queue.clone();
    let settings = app
        .readers
        .read(move |store| store.settings(&wanted))
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    respond(
        StatusCode::OK,
        &QueueSettingsJson {
            queue: &queue,
            settings: SettingsJson::new(&settings),
        },
    )
}

/// `PATCH /v1/queues/{queue}`: pause or resume, and the defaults, as `config` sets them.
pub async fn configure(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    QueueName(queue): QueueName,
    Body(body): Body<SettingsBody>,
) -> ApiResult<Response> {
    caller.require_queue(&queue)?;
    caller.require_consumer()?;
    let change = SettingsChange {
        reset: body.reset,
        paused: body.paused,
        timeout_ms: body::field("timeout", body.timeout.as_deref(), parse_claim_timeout)?,
        max_retries: body.max_retries,
        backoff_ms: body::field("backoff", body.backoff.as_deref(), parse_positive_duration)?,
    };
    let scoped = Scoped {
        write: Write::Settings {
            queue: queue.clone(),
            change,
        },
        scope: caller.scope(),
    };
    let written = app
        .writer
        .write(scoped)
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    let Written::Settings(settings) = written else {
        return Err(ApiError::internal(
            "a settings change answered something else",
        ));
    };
    respond(
        StatusCode::OK,
        &QueueSettingsJson {
            queue: &queue,
            settings: SettingsJson::new(&settings),
        },
    )
}

/// `DELETE /v1/queues/{queue}/jobs`: purge with the CLI's rules. A filter (`status` or
/// `older_than`) or `all=true` is required; claimed jobs go only with `status=claimed`;
/// `older_than` alone means done and dead jobs.
pub async fn purge(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    QueueName(queue): QueueName,
    Params(params): Params<PurgeParams>,
) -> ApiResult<Response> {
    caller.require_queue(&queue)?;
    caller.require_consumer()?;
    let status = status(params.status.as_deref())?;
    let older_than = body::field("older_than", params.older_than.as_deref(), parse_duration)?;
    if status.is_none() && older_than.is_none() && !params.all {
        return Err(ApiError::usage(
            "purge needs a filter (status or older_than), or all=true to delete every job of \
             the queue that is not claimed",
        ));
    }
    let dry_run = params.dry_run;
    let (matched, removed) = app
        .readers
        .read(move |store| {
            // The age is counted on the database's clock, which stamped `updated_at`.
            let updated_before = match older_than {
                Some(age) => Some(store.now()? - age),
                None => None,
            };
            let filter = PurgeFilter {
                queue: Some(queue),
                status,
                updated_before,
            };
            let matched = store.purge_count(&filter)?;
            let removed = match dry_run {
                true => 0,
                false => store.purge(&filter, |_| {})?,
            };
            Ok((matched, removed))
        })
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    respond(
        StatusCode::OK,
        &PurgeJson {
            matched,
            removed,
            dry_run,
        },
    )
}

/// `GET /metrics`, for the queues the caller reaches.
pub async fn metrics(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let (queues, oldest, now) = app
        .readers
        .read(|store| Ok((store.queues()?, store.oldest_pending()?, store.now()?)))
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    let text = app
        .metrics
        .render(&queues, &oldest, &app.hub.waiting(), now, |queue| {
            caller.reaches(queue)
        });
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response())
}

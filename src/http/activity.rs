//! What the dashboard needs beyond the other routes, for any client too: the jobs that
//! finished in each of the last 60 minutes per queue (`GET /v1/throughput`), and every dead
//! (or done) job of a queue back to pending at once, as `retry --queue` does
//! (`POST /v1/queues/{queue}/retry`). Both see only the queues the caller reaches.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::{Body, QueueName};
use super::errors::{ApiError, ApiResult};
use super::{respond, App};
use crate::job::{Finished, Status};
use crate::output::json::JobJson;
use crate::time::{rfc3339, Millis};

/// One bar of the chart: a minute.
const MINUTE: Millis = 60_000;
/// Bars in the chart: the last hour, the current minute last.
const MINUTES: usize = 60;

#[derive(Serialize)]
struct ThroughputJson {
    /// The start of the first minute.
    since: String,
    bucket_seconds: u32,
    queues: Vec<QueueThroughputJson>,
}

#[derive(Serialize)]
struct QueueThroughputJson {
    queue: String,
    /// Jobs finished done, and dead, in each minute from `since` on.
    done: Vec<u64>,
    dead: Vec<u64>,
}

/// `GET /v1/throughput`: per queue that finished anything in the last hour, the jobs done
/// and dead in each minute, on whole minutes of the database's clock.
pub async fn throughput(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    caller.require_consumer()?;
    let (since, finished) = app
        .readers
        .read(|store| {
            let now = store.now()?;
            let since = (now.div_euclid(MINUTE) - (MINUTES as i64 - 1)) * MINUTE;
            Ok((since, store.finished(since, MINUTE)?))
        })
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    let queues = per_queue(finished, |queue| caller.reaches(queue));
    respond(
        StatusCode::OK,
        &ThroughputJson {
            since: rfc3339(since),
            bucket_seconds: (MINUTE / 1000) as u32,
            queues,
        },
    )
}

/// Minutes laid out in full, by queue name, for the queues `visible` lets through.
fn per_queue(finished: Vec<Finished>, visible: impl Fn(&str) -> bool) -> Vec<QueueThroughputJson> {
    let mut queues: BTreeMap<String, QueueThroughputJson> = BTreeMap::new();
    for f in finished.into_iter().filter(|f| visible(&f.queue)) {
        let entry = queues
            .entry(f.queue.clone())
            .or_insert_with(|| QueueThroughputJson {
                queue: f.queue,
                done: vec![0; MINUTES],
                dead: vec![0; MINUTES],
            });
        // A job stamped after the reading's clock (another host's commit) lands past the
        // last minute and is left for the next reading.
        let minute = usize::try_from(f.bucket).unwrap_or(usize::MAX);
        if let Some(done) = entry.done.get_mut(minute) {
            *done += f.done;
        }
        if let Some(dead) = entry.dead.get_mut(minute) {
            *dead += f.dead;
        }
    }
    queues.into_values().collect()
}

/// `POST /v1/queues/{queue}/retry`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryQueueBody {
    /// `dead` (the default) or `done`.
    pub status: Option<String>,
}

/// `POST /v1/queues/{queue}/retry`: every dead job of the queue (or every done one) back to
/// pending with a fresh attempt budget, in one transaction. Jobs whose dedup key an
/// unfinished job holds stay as they are; `x-skipped-count` says how many.
pub async fn retry_queue(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    QueueName(queue): QueueName,
    Body(body): Body<RetryQueueBody>,
) -> ApiResult<Response> {
    caller.require_queue(&queue)?;
    caller.require_consumer()?;
    let status = match body.status.as_deref() {
        None | Some("dead") => Status::Dead,
        Some("done") => Status::Done,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "\"status\": '{}' is not dead or done",
                crate::text::printable(other)
            )))
        }
    };
    // One transaction of the queue's own, like a purge: it may be large, and it must not
    // hold up the group commit of everyone else's writes.
    let (jobs, skipped) = app
        .readers
        .read(move |store| store.replay_queue(&queue, status))
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    let items = jobs
        .iter()
        .map(JobJson::new)
        .collect::<anyhow::Result<Vec<_>>>();
    let mut response = respond(StatusCode::OK, &items.map_err(ApiError::internal)?)?;
    if skipped > 0 {
        response
            .headers_mut()
            .insert("x-skipped-count", HeaderValue::from(skipped));
    }
    Ok(response)
}

/// Paths or schemas of the OpenAPI document, by name.
pub type Named = Vec<(&'static str, Value)>;

/// These routes in the OpenAPI document: (path, item) pairs, and their schemas.
pub fn openapi(
    operation: impl Fn(&str, Vec<Value>, Option<Value>, (&str, Value), &[&str]) -> Value,
    queue_param: Value,
) -> (Named, Named) {
    let read = &["401", "404", "503"];
    let write = &["400", "401", "404", "409", "503"];
    let minutes = json!({ "type": "array", "items": { "type": "integer" }, "minItems": MINUTES, "maxItems": MINUTES });
    let paths = vec![
        (
            "/v1/throughput",
            json!({ "get": operation(
                "Jobs finished done and dead in each of the last 60 minutes, per queue this token reaches that finished any",
                vec![],
                None,
                ("200", json!({ "$ref": "#/components/schemas/Throughput" })),
                read,
            ) }),
        ),
        (
            "/v1/queues/{queue}/retry",
            json!({ "post": operation(
                "Bring every dead (or done) job of a queue back to pending, as retry --queue; x-skipped-count counts those whose dedup key is taken",
                vec![queue_param],
                Some(json!({ "$ref": "#/components/schemas/RetryQueue" })),
                ("200", json!({ "type": "array", "items": { "$ref": "#/components/schemas/Job" } })),
                write,
            ) }),
        ),
    ];
    let schemas = vec![
        (
            "Throughput",
            json!({
                "type": "object", "required": ["since", "bucket_seconds", "queues"],
                "properties": {
                    "since": { "type": "string", "description": "The start of the first minute" },
                    "bucket_seconds": { "type": "integer" },
                    "queues": { "type": "array", "items": {
                        "type": "object", "required": ["queue", "done", "dead"],
                        "properties": { "queue": { "type": "string" }, "done": minutes.clone(), "dead": minutes }
                    } }
                }
            }),
        ),
        (
            "RetryQueue",
            json!({ "type": "object", "additionalProperties": false, "properties": { "status": { "type": "string", "enum": ["dead", "done"], "default": "dead" } } }),
        ),
    ];
    (paths, schemas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_laid_out_in_full_for_visible_queues_only() {
        let finished = vec![
            Finished {
                queue: "a".into(),
                bucket: 0,
                done: 2,
                dead: 1,
            },
            Finished {
                queue: "a".into(),
                bucket: 59,
                done: 3,
                dead: 0,
            },
            Finished {
                queue: "a".into(),
                bucket: 60,
                done: 9,
                dead: 9,
            },
            Finished {
                queue: "secret".into(),
                bucket: 1,
                done: 1,
                dead: 0,
            },
        ];
        let queues = per_queue(finished, |q| q != "secret");
        assert_eq!(queues.len(), 1);
        let a = &queues[0];
        assert_eq!((a.done.len(), a.dead.len()), (MINUTES, MINUTES));
        assert_eq!((a.done[0], a.dead[0], a.done[59]), (2, 1, 3));
        assert_eq!(
            a.done.iter().sum::<u64>(),
            5,
            "past the last minute: left out"
        );
    }
}

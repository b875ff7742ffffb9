//! What requests carry, read with the command line's own parsers (`input`, `time`,
//! `follow_up`) so the API and the CLI accept exactly the same values. Bodies are JSON (an
//! empty body reads as `{}`), unknown fields are refused, and every mistake is a 400 that
//! names the field.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::errors::{ApiError, ApiResult};
use crate::input::{parse_claim, parse_job_id, parse_queue};

/// The largest body read: a 1 MiB payload (or output) and room for the rest of the request.
pub const MAX_BODY: usize = 1024 * 1024 + 64 * 1024;

/// A JSON body; an empty one reads as `{}`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(Body)
    }
}

/// Parses a body as `T`, naming the mistake.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| ApiError::invalid("the body is not valid UTF-8"))?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_json::from_str(text).map_err(|e| ApiError::invalid(format!("invalid body: {e}")))
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => ApiError::invalid(format!("cannot read the body: {}", rejection.body_text())),
    }
}

/// The answer to a body over [`MAX_BODY`].
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "the body is over {MAX_BODY} bytes: a payload may be 1 MiB, and a batch must fit in \
             one body (send several)"
        ),
    )
}

/// The query string, parsed as `T`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Params(value))
            .map_err(|e: QueryRejection| {
                ApiError::invalid(format!("invalid query: {}", e.body_text()))
            })
    }
}

/// The one value of a path (`{queue}` or `{id}`), percent-decoded.
async fn path_value<S: Send + Sync>(parts: &mut Parts, state: &S) -> ApiResult<String> {
    Path::<String>::from_request_parts(parts, state)
        .await
        .map(|Path(value)| value)
        .map_err(|e: PathRejection| ApiError::invalid(format!("invalid path: {}", e.body_text())))
}

/// A queue named in the path (`tenant%2Facme` for `tenant/acme`), checked like `--queue`.
pub struct QueueName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for QueueName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let value = path_value(parts, state).await?;
        parse_queue(&value)
            .map(QueueName)
            .map_err(ApiError::invalid)
    }
}

/// A job id named in the path, checked like the commands' ID.
pub struct JobId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for JobId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let value = path_value(parts, state).await?;
        parse_job_id(&value).map(JobId).map_err(ApiError::invalid)
    }
}

/// An optional field checked with one of the CLI's parsers, naming the field when it fails.
pub fn field<T>(
    name: &str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> ApiResult<Option<T>> {
    value
        .map(|v| parse(v).map_err(|e| ApiError::invalid(format!("\"{name}\": {e}"))))
        .transpose()
}

/// A claim token, if given.
pub fn claim(value: Option<&str>) -> ApiResult<Option<String>> {
    field("claim", value, parse_claim)
}

/// `POST /v1/queues/{queue}/claims`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    pub worker: Option<String>,
    pub timeout: Option<String>,
    pub count: Option<u32>,
    #[serde(rename = "type")]
    pub job_type: Option<String>,
    pub wait: Option<String>,
}

/// `POST /v1/jobs/{id}/complete`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    pub claim: Option<String>,
    pub output: Option<Box<RawValue>>,
    #[serde(default)]
    pub follow_ups: Vec<crate::follow_up::Spec>,
}

/// `POST /v1/jobs/{id}/fail`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailBody {
    pub claim: Option<String>,
    pub reason: Option<String>,
    #[serde(default)]
    pub dead: bool,
    pub retry_in: Option<String>,
}

/// `POST /v1/jobs/{id}/extend`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    pub claim: Option<String>,
    pub by: Option<String>,
}

/// `POST /v1/jobs/{id}/release`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    pub claim: Option<String>,
}

/// `POST /v1/jobs/{id}/retry`: nothing to say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `PATCH /v1/queues/{queue}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    pub paused: Option<bool>,
    pub timeout: Option<String>,
    pub max_retries: Option<u32>,
    pub backoff: Option<String>,
    #[serde(default)]
    pub reset: bool,
}

/// `GET /v1/queues/{queue}/jobs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub job_type: Option<String>,
    pub worker: Option<String>,
    pub limit: Option<u64>,
}

/// `DELETE /v1/queues/{queue}/jobs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeParams {
    pub status: Option<String>,
    pub older_than: Option<String>,
    #[serde(default)]
    pub all: bool,
    #[serde(default)]
    pub dry_run: bool,
}

//! What requests carry, read with the command line's own parsers (`input`, `time`,
//! `follow_up`) so the API and the CLI accept exactly the same values. Bodies are JSON (an
//! empty body reads as `{}`), unknown fields are refused, and every mistake is a 400 that
//! names the field.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::errors::{ApiError, ApiResult, ErrorKind};
use crate::follow_up::Spec;
use crate::input::{parse_claim, parse_job_id, parse_queue};
use crate::text::printable;

/// The largest body read: a 1 MiB payload (or output) and room for the rest of the request.
pub const MAX_BODY: usize = 1024 * 1024 + 64 * 1024;
/// The most jobs one claim may take, as `dequeue --count`.
pub const MOST_CLAIMED: u32 = 10_000;
/// The most jobs one list returns.
pub const MOST_LISTED: u64 = 1_000;

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
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut reader)
        .map_err(|e| ApiError::invalid(body_mistake(e)))?;
    reader
        .end()
        .map_err(|e| ApiError::invalid(format!("invalid body: {e}")))?;
    Ok(value)
}

/// The jobs of an enqueue body: one object, or an array of them (`true`: a batch).
pub fn parse_jobs(raw: &RawValue) -> ApiResult<(bool, Vec<Spec>)> {
    let batch = raw.get().trim_start().starts_with('[');
    let specs = match batch {
        true => parse_json(raw.get().as_bytes()),
        false => parse_json(raw.get().as_bytes()).map(|spec| vec![spec]),
    };
    // The parser offers `queue` among the fields, which the path names here.
    specs.map(|specs| (batch, specs)).map_err(|e| ApiError {
        message: with_job_fields(e.message),
        ..e
    })
}

/// What a job in an enqueue body may hold.
const JOB_FIELDS: &str = "payload, priority, max_retries, type, group, key, backoff, \
                          backoff_max, delay or at (the queue is named in the path)";

/// An unknown field's message listing the fields of an enqueued job.
fn with_job_fields(message: String) -> String {
    match message.split_once("`, expected one of ") {
        Some((unknown, _)) if unknown.contains("unknown field `") => {
            format!("{unknown}`: a job takes {JOB_FIELDS}")
        }
        _ => message,
    }
}

/// A body's mistake in one line: a value of the wrong type or range names its field and
/// what it accepts, not the parser's types; in a batch, the job is named by its number.
fn body_mistake(error: serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().clone();
    let said = error.into_inner().to_string();
    let (job, field) = split_job(&path);
    let prefix = job.map_or(String::new(), |n| format!("job {n}: "));
    match wrong_value(&said) {
        Some(got) => {
            let what = match (field.as_str(), job) {
                ("", None) => "the body".to_string(),
                ("", Some(n)) => format!("job {n}"),
                (field, _) => format!("{prefix}\"{field}\""),
            };
            format!("{what} must be {}, not {got}", accepts(&path))
        }
        None if job.is_some() => format!("{prefix}{said}"),
        None => format!("invalid body: {said}"),
    }
}

/// The value the parser found, when its message says a value was of the wrong type or
/// out of range (serde's `invalid type: integer `-1`, expected u32`).
fn wrong_value(said: &str) -> Option<String> {
    let rest = said
        .strip_prefix("invalid type: ")
        .or_else(|| said.strip_prefix("invalid value: "))?;
    let got = rest.split_once(", expected").map_or(rest, |(got, _)| got);
    Some(got.replace('`', ""))
}

/// The job number (from 1) a path starts in, for a batch, and the rest of the path.
fn split_job(path: &serde_path_to_error::Path) -> (Option<usize>, String) {
    let text = path.to_string();
    let text = if text == "." { String::new() } else { text };
    let job = match path.iter().next() {
        Some(serde_path_to_error::Segment::Seq { index }) => Some(index + 1),
        _ => None,
    };
    match (job, text.split_once(']')) {
        (Some(n), Some((_, rest))) => (Some(n), rest.trim_start_matches('.').to_string()),
        _ => (None, text),
    }
}

/// What the field at the end of `path` accepts, in words.
fn accepts(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let field = match path.iter().next_back() {
        Some(Segment::Map { key }) => key.as_str(),
        Some(Segment::Seq { .. }) | None => return "a JSON object".into(),
        _ => "",
    };
    match field {
        "all" | "dry_run" | "paused" | "reset" | "dead" => "true or false".into(),
        "count" => format!("a whole number from 1 to {MOST_CLAIMED}"),
        "limit" => format!("a whole number from 1 to {MOST_LISTED}"),
        "max_retries" => format!("a whole number from 0 to {}", u32::MAX),
        "follow_ups" => "an array of jobs, each a JSON object".into(),
        "timeout" | "wait" | "by" | "retry_in" | "backoff" | "backoff_max" | "delay"
        | "older_than" => "a duration in a string, like \"30s\"".into(),
        "at" => "an RFC 3339 time in a string".into(),
        _ => "a string".into(),
    }
}

/// `1 MiB and 64 KiB` for a size in bytes, as the README writes limits.
pub fn in_binary_units(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    let parts: Vec<String> = [(bytes / MIB, "MiB"), ((bytes % MIB) / KIB, "KiB")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    match (parts.is_empty(), bytes % KIB) {
        (false, 0) => parts.join(" and "),
        _ => format!("{bytes} bytes"),
    }
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
        ErrorKind::TooLarge,
        format!(
            "the body is over {}: a payload may be 1 MiB, and a batch must fit in one body \
             (send several)",
            in_binary_units(MAX_BODY)
        ),
    )
}

/// The query string, parsed as `T`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let query = parts.uri.query().unwrap_or("");
        let reader = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(reader)
            .map(Params)
            .map_err(|e| ApiError::invalid(query_mistake(query, e)))
    }
}

/// A query's mistake in one line: a value a parameter does not take names the parameter,
/// what it accepts and what was given.
fn query_mistake(
    query: &str,
    error: serde_path_to_error::Error<serde::de::value::Error>,
) -> String {
    let path = error.path().clone();
    let said = error.into_inner().to_string();
    match path.iter().next_back() {
        Some(serde_path_to_error::Segment::Map { key }) if !said.starts_with("unknown field") => {
            let given = form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default();
            format!(
                "invalid query: \"{key}\" must be {}, not \"{}\"",
                accepts(&path),
                printable(&given)
            )
        }
        _ => format!("invalid query: {said}"),
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

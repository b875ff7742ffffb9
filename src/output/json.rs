//! The JSON shapes: the stable contract that scripts and jq pipelines read. Field names and
//! types here change only with a documented, versioned change.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::job::{Counts, Enqueued, Failure, Job, QueueCounts, QueueSettings};
use crate::time::rfc3339;
use crate::tokens::Token;

#[derive(Serialize)]
pub struct JobJson<'a> {
    id: &'a str,
    queue: &'a str,
    #[serde(rename = "type")]
    job_type: Option<&'a str>,
    payload: Box<RawValue>,
    priority: i64,
    status: &'static str,
    attempts: u32,
    attempt_count: u32,
    max_retries: u32,
    backoff_ms: Option<i64>,
    backoff_max_ms: Option<i64>,
    group: Option<&'a str>,
    key: Option<&'a str>,
    worker: Option<&'a str>,
    claim: Option<&'a str>,
    claim_deadline: Option<String>,
    run_after: Option<String>,
    visible_after: Option<String>,
    output: Option<Box<RawValue>>,
    errors: Vec<FailureJson<'a>>,
    created_at: String,
    updated_at: String,
    finished_at: Option<String>,
}

#[derive(Serialize)]
struct FailureJson<'a> {
    at: String,
    attempt: u32,
    worker: Option<&'a str>,
    reason: &'a str,
}

/// Stored JSON text, embedded as JSON rather than as a string. It was validated on the way in.
fn raw(text: &str) -> anyhow::Result<Box<RawValue>> {
    Ok(RawValue::from_string(text.to_string())?)
}

impl<'a> JobJson<'a> {
    pub fn new(job: &'a Job) -> anyhow::Result<Self> {
        Ok(JobJson {
            id: &job.id,
            queue: &job.queue,
            job_type: job.job_type.as_deref(),
            payload: raw(&job.payload)?,
            priority: job.priority,
            status: job.status.as_str(),
            attempts: job.attempts(),
            attempt_count: job.attempt_count,
            max_retries: job.max_retries,
            backoff_ms: job.backoff.map(|b| b.base),
            backoff_max_ms: job.backoff.and_then(|b| b.max),
            group: job.group.as_deref(),
            key: job.key.as_deref(),
            worker: job.worker.as_deref(),
            claim: job.claim.as_deref(),
            claim_deadline: job.claim_deadline().map(rfc3339),
            run_after: job.run_after().map(rfc3339),
            visible_after: job.visible_after.map(rfc3339),
            output: job.output.as_deref().map(raw).transpose()?,
            errors: job.errors.iter().map(FailureJson::new).collect(),
            created_at: rfc3339(job.created_at),
            updated_at: rfc3339(job.updated_at),
            finished_at: job.finished_at.map(rfc3339),
        })
    }
}

impl<'a> FailureJson<'a> {
    fn new(failure: &'a Failure) -> Self {
        FailureJson {
            at: rfc3339(failure.at),
            attempt: failure.attempt,
            worker: failure.worker.as_deref(),
            reason: &failure.reason,
        }
    }
}

#[derive(Serialize)]
pub struct CountsJson {
    pending: u64,
    claimed: u64,
    done: u64,
    dead: u64,
    total: u64,
}

impl CountsJson {
    pub fn new(c: &Counts) -> Self {
        CountsJson {
            pending: c.pending,
            claimed: c.claimed,
            done: c.done,
            dead: c.dead,
            total: c.total(),
        }
    }
}

/// `enqueue`'s output: the job, and whether it was there already.
#[derive(Serialize)]
pub struct EnqueuedJson<'a> {
    #[serde(flatten)]
    job: JobJson<'a>,
    deduplicated: bool,
}

impl<'a> EnqueuedJson<'a> {
    pub fn new(e: &'a Enqueued) -> anyhow::Result<Self> {
        Ok(EnqueuedJson {
            job: JobJson::new(&e.job)?,
            deduplicated: e.deduplicated,
        })
    }
}

/// `complete`'s output: the job, and the follow-ups it enqueued.
#[derive(Serialize)]
pub struct CompletedJson<'a> {
    #[serde(flatten)]
    job: JobJson<'a>,
    follow_ups: Vec<FollowUpJson<'a>>,
}

/// A follow-up job by id; `deduplicated` when its key found an unfinished job instead.
#[derive(Serialize)]
struct FollowUpJson<'a> {
    id: &'a str,
    queue: &'a str,
    deduplicated: bool,
}

impl<'a> CompletedJson<'a> {
    pub fn new(job: &'a Job, follow_ups: &'a [Enqueued]) -> anyhow::Result<Self> {
        Ok(CompletedJson {
            job: JobJson::new(job)?,
            follow_ups: follow_ups
                .iter()
                .map(|e| FollowUpJson {
                    id: &e.job.id,
                    queue: &e.job.queue,
                    deduplicated: e.deduplicated,
                })
                .collect(),
        })
    }
}

/// `enqueue`'s output for the many jobs of a batch that differ only in id and payload: the
/// rest is rendered once, and each job's id and payload are written between its pieces.
/// Ids are letters, digits and `_`, and payloads compact JSON as stored, so what comes out
/// is byte for byte what [`EnqueuedJson`] writes.
pub struct AddedJson {
    /// Up to the id's opening quote, then up to the payload, then the rest.
    pieces: [String; 3],
}

impl AddedJson {
    pub fn new(prototype: &Job) -> anyhow::Result<Self> {
        const ID: &str = "@ID@";
        const PAYLOAD: &str = "\"@PAYLOAD@\"";
        let marked = Enqueued {
            job: Job {
                id: ID.into(),
                payload: PAYLOAD.into(),
                ..prototype.clone()
            },
            deduplicated: false,
        };
        let text = serde_json::to_string(&EnqueuedJson::new(&marked)?)?;
        // The id is the first field. Fields before the payload (queue, type) cannot hold a
        // quote, and later ones write theirs escaped, so the first marker is the payload.
        let cut = |text: &str, marker: &str| -> anyhow::Result<(String, String)> {
            let (before, after) = text
                .split_once(marker)
                .ok_or_else(|| anyhow::anyhow!("no {marker} in rendered job"))?;
            Ok((before.to_string(), after.to_string()))
        };
        let (head, rest) = cut(&text, &format!("{{\"id\":\"{ID}"))?;
        let (middle, tail) = cut(&rest, &format!("\"payload\":{PAYLOAD}"))?;
        Ok(AddedJson {
            pieces: [
                format!("{head}{{\"id\":\""),
                format!("{middle}\"payload\":"),
                tail,
            ],
        })
    }

    pub fn write(
        &self,
        out: &mut impl std::io::Write,
        id: &str,
        payload: &str,
    ) -> std::io::Result<()> {
        let [head, middle, tail] = &self.pieces;
        out.write_all(head.as_bytes())?;
        out.write_all(id.as_bytes())?;
        out.write_all(middle.as_bytes())?;
        out.write_all(payload.as_bytes())?;
        out.write_all(tail.as_bytes())
    }
}

#[derive(Serialize)]
pub struct QueueJson<'a> {
    queue: &'a str,
    #[serde(flatten)]
    counts: CountsJson,
    #[serde(flatten)]
    settings: SettingsJson,
}

impl<'a> QueueJson<'a> {
    pub fn new(q: &'a QueueCounts) -> Self {
        QueueJson {
            queue: &q.queue,
            counts: CountsJson::new(&q.counts),
            settings: SettingsJson::new(&q.settings),
        }
    }
}

/// A queue's settings, as `queues`, `config`, `pause` and `resume` print them.
#[derive(Serialize)]
pub struct SettingsJson {
    paused: bool,
    timeout_ms: Option<i64>,
    max_retries: Option<u32>,
    backoff_ms: Option<i64>,
}

impl SettingsJson {
    pub fn new(s: &QueueSettings) -> Self {
        SettingsJson {
            paused: s.paused,
            timeout_ms: s.timeout_ms,
            max_retries: s.max_retries,
            backoff_ms: s.backoff_ms,
        }
    }
}

#[derive(Serialize)]
pub struct QueueSettingsJson<'a> {
    pub queue: &'a str,
    #[serde(flatten)]
    pub settings: SettingsJson,
}

#[derive(Serialize)]
pub struct PurgeJson {
    pub matched: u64,
    pub removed: u64,
    pub dry_run: bool,
}

/// What `info` prints.
#[derive(Serialize)]
pub struct InfoJson<'a> {
    pub backend: &'static str,
    pub db: String,
    pub db_from: &'static str,
    pub exists: bool,
    pub schema_version: Option<i64>,
    pub supported_schema_version: i64,
    pub size_bytes: Option<u64>,
    pub wal_bytes: Option<u64>,
    pub synchronous: &'a str,
    pub queues: u64,
    pub counts: CountsJson,
    pub version: &'static str,
}

/// The files `man --dir` wrote.
#[derive(Serialize)]
pub struct WrittenJson {
    pub written: Vec<String>,
}

/// What `cancel` removed.
#[derive(Serialize)]
pub struct CancelJson<'a> {
    pub cancelled: Vec<&'a str>,
}

#[derive(Serialize)]
pub struct SweepJson {
    pub at: String,
    pub retried: u64,
    pub dead: u64,
}

/// One finished job of `work`.
#[derive(Serialize)]
pub struct WorkEventJson<'a> {
    pub event: &'static str,
    pub id: &'a str,
    pub queue: &'a str,
    pub attempt: u32,
    /// `done`, `retry`, `dead`, `lost` or `released`.
    pub result: &'static str,
    pub reason: Option<&'a str>,
    pub duration_ms: u64,
}

/// The totals `work` prints when it exits: each job once, by its last result here, and
/// the commands run in all.
#[derive(Serialize)]
pub struct WorkSummaryJson {
    pub event: &'static str,
    pub done: u64,
    pub retried: u64,
    pub dead: u64,
    pub lost: u64,
    pub released: u64,
    pub runs: u64,
}

#[derive(Serialize)]
pub struct ErrorJson<'a> {
    pub error: ErrorBody<'a>,
}

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub kind: &'a str,
    pub message: &'a str,
}

/// An API token as `token list` and `token revoke` print it: never its secret.
#[derive(Serialize)]
pub struct TokenJson<'a> {
    id: &'a str,
    name: Option<&'a str>,
    queues: &'a [String],
    produce_only: bool,
    created_at: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

impl<'a> TokenJson<'a> {
    pub fn new(token: &'a Token) -> Self {
        TokenJson {
            id: &token.id,
            name: token.name.as_deref(),
            queues: &token.queues,
            produce_only: token.produce_only,
            created_at: rfc3339(token.created_at),
            expires_at: token.expires_at.map(rfc3339),
            revoked_at: token.revoked_at.map(rfc3339),
        }
    }
}

/// What `token create` prints: the secret, once, and the token.
#[derive(Serialize)]
pub struct CreatedTokenJson<'a> {
    pub token: &'a str,
    #[serde(flatten)]
    pub stored: TokenJson<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Backoff, Status};

    fn job(key: Option<&str>, job_type: Option<&str>) -> Job {
        Job {
            id: String::new(),
            queue: "tenant/acme:v1".into(),
            job_type: job_type.map(Into::into),
            payload: String::new(),
            priority: -3,
            status: Status::Pending,
            attempt_count: 0,
            max_retries: 2,
            backoff: Some(Backoff {
                base: 1000,
                max: None,
            }),
            group: Some("g".into()),
            key: key.map(Into::into),
            worker: None,
            claim: None,
            claim_lapsed: false,
            visible_after: Some(1_764_000_000_123),
            output: None,
            errors: Vec::new(),
            created_at: 1_764_000_000_000,
            updated_at: 1_764_000_000_000,
            finished_at: None,
        }
    }

    #[test]
    fn added_jobs_are_written_exactly_as_serde_writes_them() {
        let keys = [None, Some("k"), Some(r#"","payload":"@PAYLOAD@" @ID@ \"#)];
        for (key, job_type) in keys.into_iter().zip([None, Some("t"), Some("t")]) {
            let prototype = job(key, job_type);
            let added = AddedJson::new(&prototype).unwrap();
            for (id, payload) in [("q_1m8navtvf88ypa1", r#"{"a":[1,"x y"]}"#), ("q_0", "null")] {
                let mut spliced = Vec::new();
                added.write(&mut spliced, id, payload).unwrap();
                let enqueued = Enqueued {
                    job: Job {
                        id: id.into(),
                        payload: payload.into(),
                        ..prototype.clone()
                    },
                    deduplicated: false,
                };
                let expected = serde_json::to_string(&EnqueuedJson::new(&enqueued).unwrap());
                assert_eq!(String::from_utf8(spliced).unwrap(), expected.unwrap());
            }
        }
    }
}

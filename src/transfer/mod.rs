//! The export line format, version 1: what `export` writes and `import` reads back, on
//! either engine. A stable contract, like the job JSON (README, "Moving a queue"): a header
//! line, the settings of the queues, one line per job in enqueue order with every column
//! of its state, and an end line counting them, so that input cut short is refused whole.
//! Times are integer milliseconds since the Unix epoch, exactly as stored.

mod reader;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::cli::MIN_CLAIM_TIMEOUT;
use crate::input::{
    compact_json, parse_claim, parse_group, parse_job_id, parse_job_type, parse_key, parse_queue,
    parse_worker,
};
use crate::job::{Backoff, Failure, Job, QueueSettings, Status, ERROR_HISTORY};
use crate::store::{Record, Stored};
use crate::time::{Millis, LATEST};

pub use reader::Reader;

/// The version this build writes and the only one it reads.
pub const VERSION: u32 = 1;

/// The first line: `{"queueprim_export":1,"engine":"sqlite","exported_at":"…"}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub queueprim_export: u32,
    /// `sqlite` or `postgresql`: where the jobs came from (for people; import ignores it).
    pub engine: String,
    /// When the export began, RFC 3339 (for people; import ignores it).
    pub exported_at: String,
}

/// Every line after the header: an object with one key naming what the line is.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    Settings(SettingsLine),
    Job(Box<JobLine>),
    End(EndLine),
}

/// A queue's settings, as `config` prints them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsLine {
    pub queue: String,
    pub paused: bool,
    pub timeout_ms: Option<Millis>,
    pub max_retries: Option<u32>,
    pub backoff_ms: Option<Millis>,
}

/// The last line: how many job and settings lines came before it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndLine {
    pub jobs: u64,
    pub settings: u64,
}

/// One job with every column of its state. `status` is what users see; `stored` says where
/// a pending job waits: `pending` (claimable), `scheduled` (until `visible_after`) or
/// `queued` (behind its group's live job); for the other statuses it is the status.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobLine {
    pub id: String,
    pub queue: String,
    #[serde(rename = "type")]
    pub job_type: Option<String>,
    pub payload: Box<RawValue>,
    pub priority: i64,
    pub status: String,
    pub stored: String,
    pub attempt_count: u32,
    pub max_retries: u32,
    pub backoff_ms: Option<Millis>,
    pub backoff_max_ms: Option<Millis>,
    pub group: Option<String>,
    pub key: Option<String>,
    pub worker: Option<String>,
    pub claim: Option<String>,
    pub claim_lapsed: bool,
    pub visible_after: Option<Millis>,
    pub output: Option<Box<RawValue>>,
    pub errors: Vec<FailureLine>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
}

/// One failed attempt of a job's history.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureLine {
    pub at: Millis,
    pub attempt: u32,
    pub worker: Option<String>,
    pub reason: String,
}

impl SettingsLine {
    pub fn new(queue: &str, s: &QueueSettings) -> SettingsLine {
        SettingsLine {
            queue: queue.to_string(),
            paused: s.paused,
            timeout_ms: s.timeout_ms,
            max_retries: s.max_retries,
            backoff_ms: s.backoff_ms,
        }
    }

    /// The settings, checked as `config` checks them.
    pub fn into_record(self) -> Result<Record, String> {
        let queue = parse_queue(&self.queue)?;
        if self
            .timeout_ms
            .is_some_and(|t| !(MIN_CLAIM_TIMEOUT..=LATEST).contains(&t))
        {
            return Err("timeout_ms must be at least 1000 (a claim lasts at least 1s)".into());
        }
        if self.backoff_ms.is_some_and(|b| !(1..=LATEST).contains(&b)) {
            return Err("backoff_ms must be more than 0".into());
        }
        let settings = QueueSettings {
            paused: self.paused,
            timeout_ms: self.timeout_ms,
            max_retries: self.max_retries,
            backoff_ms: self.backoff_ms,
        };
        Ok(Record::Settings(queue, settings))
    }
}

impl JobLine {
    pub fn new(job: &Job, stored: Stored) -> anyhow::Result<JobLine> {
        Ok(JobLine {
            id: job.id.clone(),
            queue: job.queue.clone(),
            job_type: job.job_type.clone(),
            payload: RawValue::from_string(job.payload.clone())?,
            priority: job.priority,
            status: job.status.as_str().to_string(),
            stored: stored.as_str().to_string(),
            attempt_count: job.attempt_count,
            max_retries: job.max_retries,
            backoff_ms: job.backoff.map(|b| b.base),
            backoff_max_ms: job.backoff.and_then(|b| b.max),
            group: job.group.clone(),
            key: job.key.clone(),
            worker: job.worker.clone(),
            claim: job.claim.clone(),
            claim_lapsed: job.claim_lapsed,
            visible_after: job.visible_after,
            output: job.output.clone().map(RawValue::from_string).transpose()?,
            errors: job.errors.iter().map(FailureLine::new).collect(),
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: job.finished_at,
        })
    }

    /// The job, checked: every value as its command-line option would accept it, and a
    /// state whose fields agree with it.
    pub fn into_record(self) -> Result<Record, String> {
        let status = Status::parse(&self.status)?;
        let stored = Stored::parse(&self.stored)?;
        if stored.status() != status {
            return Err(format!(
                "status '{}' does not go with stored '{}' (a pending job is stored pending, \
                 scheduled or queued, any other as its status)",
                self.status, self.stored
            ));
        }
        check_state(&self, stored)?;
        let priority = i32::try_from(self.priority)
            .map_err(|_| format!("priority {} is not a 32-bit integer", self.priority))?;
        let job = Job {
            id: parse_job_id(&self.id)?,
            queue: parse_queue(&self.queue)?,
            job_type: self.job_type.as_deref().map(parse_job_type).transpose()?,
            payload: compact_json(self.payload.get()).map_err(|e| format!("payload: {e}"))?,
            priority: i64::from(priority),
            status,
            attempt_count: self.attempt_count,
            max_retries: self.max_retries,
            backoff: backoff(self.backoff_ms, self.backoff_max_ms)?,
            group: self.group.as_deref().map(parse_group).transpose()?,
            key: self.key.as_deref().map(parse_key).transpose()?,
            worker: self.worker.as_deref().map(parse_worker).transpose()?,
            claim: self.claim.as_deref().map(parse_claim).transpose()?,
            claim_lapsed: self.claim_lapsed,
            visible_after: self.visible_after,
            output: self
                .output
                .map(|o| compact_json(o.get()).map_err(|e| format!("output: {e}")))
                .transpose()?,
            errors: failures(self.errors)?,
            created_at: time("created_at", self.created_at)?,
            updated_at: time("updated_at", self.updated_at)?,
            finished_at: self
                .finished_at
                .map(|t| time("finished_at", t))
                .transpose()?,
        };
        Ok(Record::Job(Box::new(job), stored))
    }
}

/// The fields each state must have, or must not: a time to be visible from (or the claim's
/// deadline) while unfinished, a claim while claimed, a finishing time once finished.
fn check_state(line: &JobLine, stored: Stored) -> Result<(), String> {
    let finished = matches!(stored, Stored::Done | Stored::Dead);
    let state = &line.stored;
    match (line.visible_after, finished) {
        (None, false) => return Err(format!("a {state} job needs visible_after")),
        (Some(_), true) => return Err(format!("a {state} job has no visible_after")),
        (Some(t), false) => {
            time("visible_after", t)?;
        }
        (None, true) => {}
    }
    match (line.finished_at, finished) {
        (None, true) => Err(format!("a {state} job needs finished_at")),
        (Some(_), false) => Err(format!("a {state} job has no finished_at")),
        _ if stored == Stored::Claimed && line.claim.is_none() => {
            Err("a claimed job needs its claim".into())
        }
        _ => Ok(()),
    }
}

fn backoff(base: Option<Millis>, max: Option<Millis>) -> Result<Option<Backoff>, String> {
    let positive = |t: Millis| (1..=LATEST).contains(&t);
    match (base, max) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err("backoff_max_ms needs backoff_ms".into()),
        (Some(base), max) if positive(base) && max.is_none_or(positive) => {
            Ok(Some(Backoff { base, max }))
        }
        _ => Err("backoff_ms and backoff_max_ms must be more than 0".into()),
    }
}

fn failures(lines: Vec<FailureLine>) -> Result<Vec<Failure>, String> {
    if lines.len() > ERROR_HISTORY {
        return Err(format!(
            "errors holds {} failures; a job keeps at most {ERROR_HISTORY}",
            lines.len()
        ));
    }
    lines
        .into_iter()
        .map(|f| {
            if f.attempt == 0 {
                return Err("errors[].attempt starts at 1".to_string());
            }
            Ok(Failure {
                at: time("errors[].at", f.at)?,
                attempt: f.attempt,
                worker: f.worker.as_deref().map(parse_worker).transpose()?,
                reason: f.reason,
            })
        })
        .collect()
}

/// A time as stored: milliseconds from 1970 to the end of the year 9999.
fn time(field: &str, t: Millis) -> Result<Millis, String> {
    if (0..=LATEST).contains(&t) {
        Ok(t)
    } else {
        Err(format!(
            "{field} {t} is not a time queueprim keeps (milliseconds since 1970, up to the \
             year 9999)"
        ))
    }
}

impl FailureLine {
    fn new(f: &Failure) -> FailureLine {
        FailureLine {
            at: f.at,
            attempt: f.attempt,
            worker: f.worker.clone(),
            reason: f.reason.clone(),
        }
    }
}

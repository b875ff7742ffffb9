//! The job and its life: the domain types every layer shares, and the retry rule that decides
//! where a failed attempt goes.

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// How long a claim lasts when neither the worker nor the queue's settings say.
pub const DEFAULT_TIMEOUT_MS: Millis = 30 * 60 * 1000;

/// How many failure records a job keeps; older ones are dropped first.
pub const ERROR_HISTORY: usize = 20;
/// Failure reasons are cut to this many characters so one runaway log cannot bloat a job.
pub const MAX_REASON_CHARS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Pending,
    Claimed,
    Done,
    Dead,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Pending, Status::Claimed, Status::Done, Status::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Claimed => "claimed",
            Status::Done => "done",
            Status::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Result<Status, String> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown status '{s}': use pending, claimed, done or dead"))
    }
}

/// One failed attempt, kept on the job for whoever investigates it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub at: Millis,
    /// Which attempt failed (1 for the first).
    pub attempt: u32,
    pub worker: Option<String>,
    pub reason: String,
}

/// A job as stored. Payload and output are compact JSON text, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub queue: String,
    pub job_type: Option<String>,
    pub payload: String,
    pub priority: i64,
    pub status: Status,
    pub attempt_count: u32,
    pub max_retries: u32,
    pub backoff: Option<Backoff>,
    /// Jobs of one group run one at a time, in enqueue order.
    pub group: Option<String>,
    /// While this job is unfinished, enqueueing its key again returns it instead.
    pub key: Option<String>,
    pub worker: Option<String>,
    pub claim: Option<String>,
    /// The last claim ended by expiring, so its holder may still `complete` late.
    pub claim_lapsed: bool,
    /// Pending: when it may be dequeued. Claimed: the claim's deadline. Otherwise `None`.
    pub visible_after: Option<Millis>,
    pub output: Option<String>,
    pub errors: Vec<Failure>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
}

impl Job {
    /// Tries counted so far, the running one included: what `QUEUEPRIM_ATTEMPT` tells a
    /// command and what `errors[].attempt` numbers. `attempt_count` counts only the failed
    /// ones. A released claim gives its try back; `retry` starts the count again. A claim
    /// that expired is counted by its failure, so its late `complete` (which leaves
    /// `claim_lapsed` set) adds no second try.
    pub fn attempts(&self) -> u32 {
        let running_or_succeeded = match self.status {
            Status::Claimed => true,
            Status::Done => !self.claim_lapsed,
            Status::Pending | Status::Dead => false,
        };
        self.attempt_count + u32::from(running_or_succeeded)
    }

    /// The deadline of the claim that holds the job now; `None` unless it is claimed.
    pub fn claim_deadline(&self) -> Option<Millis> {
        self.visible_after
            .filter(|_| self.status == Status::Claimed)
    }

    /// When a pending job may be dequeued; `None` unless it is pending.
    pub fn run_after(&self) -> Option<Millis> {
        self.visible_after
            .filter(|_| self.status == Status::Pending)
    }

    /// The most tries the retry rule allows.
    pub fn max_attempts(&self) -> u64 {
        u64::from(self.max_retries) + 1
    }
}

/// Exponential retry delays: `base`, then twice that for each further failed attempt, never
/// more than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Millis,
    pub max: Option<Millis>,
}

/// What `enqueue` asks for; the store gives it an id and timestamps. Settings left `None`
/// come from the queue's defaults (`config`).
#[derive(Debug, Clone)]
pub struct NewJob {
    pub queue: String,
    pub job_type: Option<String>,
    pub payload: String,
    pub priority: i64,
    pub max_retries: Option<u32>,
    pub backoff: Option<Backoff>,
    pub group: Option<String>,
    pub key: Option<String>,
    pub visible: Visible,
}

/// The result of enqueueing one job.
#[derive(Debug, Clone)]
pub struct Enqueued {
    pub job: Job,
    /// An unfinished job with the same key already existed; `job` is that job.
    pub deduplicated: bool,
}

/// One line of `enqueue --batch` as it is read back after the commit.
#[derive(Debug, Clone)]
pub enum BatchJob {
    /// A job added: the batch's prototype job with this id and payload.
    Added { id: String, payload: String },
    /// A job in full: the one a line with a key or a group added alone, or the unfinished
    /// job that held the batch's dedup key (`deduplicated`).
    Whole(Box<Enqueued>),
}

impl BatchJob {
    /// The job as `enqueue` reports it.
    pub fn into_enqueued(self, prototype: &Job) -> Enqueued {
        match self {
            BatchJob::Added { id, payload } => Enqueued {
                job: Job {
                    id,
                    payload,
                    ..prototype.clone()
                },
                deduplicated: false,
            },
            BatchJob::Whole(enqueued) => *enqueued,
        }
    }
}

/// A queue's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueSettings {
    /// A paused queue accepts jobs and hands out none.
    pub paused: bool,
    /// Defaults for jobs and claims that do not say otherwise.
    pub timeout_ms: Option<Millis>,
    pub max_retries: Option<u32>,
    pub backoff_ms: Option<Millis>,
}

impl NewJob {
    /// A job with every option at its default (and the queue's defaults where it has them).
    pub fn new(queue: impl Into<String>, payload: impl Into<String>) -> NewJob {
        NewJob {
            queue: queue.into(),
            job_type: None,
            payload: payload.into(),
            priority: 0,
            max_retries: None,
            backoff: None,
            group: None,
            key: None,
            visible: Visible::Now,
        }
    }
}

/// When a new job may first be dequeued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visible {
    Now,
    /// This long after it is enqueued.
    After(Millis),
    At(Millis),
}

impl Visible {
    pub fn resolve(self, now: Millis) -> Millis {
        match self {
            Visible::Now => now,
            Visible::After(delay) => now + delay,
            Visible::At(at) => at,
        }
    }
}

/// What `dequeue` asks for.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub queue: String,
    pub job_type: Option<String>,
    pub worker: Option<String>,
    /// `None`: the queue's default timeout, or [`DEFAULT_TIMEOUT_MS`].
    pub timeout_ms: Option<Millis>,
    pub count: usize,
}

impl QueueSettings {
    /// How long a claim lasts: the worker's choice, else the queue's, else the default.
    pub fn claim_timeout(&self, requested: Option<Millis>) -> Millis {
        requested.or(self.timeout_ms).unwrap_or(DEFAULT_TIMEOUT_MS)
    }
}

/// Job counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub claimed: u64,
    pub done: u64,
    pub dead: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.pending + self.claimed + self.done + self.dead
    }

    pub fn merge(&mut self, other: &Counts) {
        self.pending += other.pending;
        self.claimed += other.claimed;
        self.done += other.done;
        self.dead += other.dead;
    }

    pub fn add(&mut self, status: Status, n: u64) {
        match status {
            Status::Pending => self.pending += n,
            Status::Claimed => self.claimed += n,
            Status::Done => self.done += n,
            Status::Dead => self.dead += n,
        }
    }
}

/// What `info` reads from an open database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// The schema version the database is at.
    pub schema_version: i64,
    /// What the database takes up: the file, or the schema's tables and indexes.
    pub size_bytes: u64,
    /// SQLite's write-ahead log beside the file; `None` on PostgreSQL.
    pub wal_bytes: Option<u64>,
    /// Queues that have jobs or settings.
    pub queues: u64,
    pub counts: Counts,
}

/// Counts and settings for one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCounts {
    pub queue: String,
    pub counts: Counts,
    pub settings: QueueSettings,
}

/// How many jobs of one queue finished within one stretch of time: the `bucket`-th stretch
/// of a read of throughput (`Store::finished`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub queue: String,
    pub bucket: u64,
    pub done: u64,
    pub dead: u64,
}

/// What `top` shows of the queues at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The engine's time of the reading.
    pub at: Millis,
    /// The stretch of time the finished jobs were counted over, ending at `at`.
    pub window: Millis,
    pub queues: Vec<QueueActivity>,
}

/// One queue in an [`Activity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueActivity {
    pub queue: String,
    pub counts: Counts,
    pub paused: bool,
    /// Jobs that finished done, and dead, within the window.
    pub done: u64,
    pub dead: u64,
    /// Since when the queue's oldest claimable job has been claimable.
    pub oldest_pending: Option<Millis>,
}

/// Which jobs `list` shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub queue: Option<String>,
    pub status: Option<Status>,
    pub job_type: Option<String>,
    pub worker: Option<String>,
    /// `None` lists every match.
    pub limit: Option<u64>,
}

/// Which jobs `purge` removes. At least one field is set, or the caller said `--all`.
#[derive(Debug, Clone, Default)]
pub struct PurgeFilter {
    pub queue: Option<String>,
    pub status: Option<Status>,
    /// Only jobs last updated at or before this time.
    pub updated_before: Option<Millis>,
}

/// What releasing expired claims did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Claims that expired and went back to pending for another try.
    pub retried: u64,
    /// Claims that expired on their last allowed attempt, so the job is now dead.
    pub dead: u64,
}

/// Where a failed attempt sends the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Retry,
    Dead,
}

/// The retry rule: while `attempt_count < max_retries` (counted before this failure) the job
/// goes back to pending; otherwise, or when the caller says so, it is dead. A job is thus
/// tried at most `max_retries + 1` times.
pub fn failure_outcome(attempt_count: u32, max_retries: u32, force_dead: bool) -> Outcome {
    if !force_dead && attempt_count < max_retries {
        Outcome::Retry
    } else {
        Outcome::Dead
    }
}

/// The cap on backoff delays when a job names none: a day, so a job that keeps failing is
/// retried daily rather than parked for years by the doubling.
pub const DEFAULT_BACKOFF_MAX: Millis = 24 * 3600 * 1000;

/// The delay before retry number `attempt` (1 for the retry after the first failure): the
/// backoff doubled per earlier failure, spread by up to ±10% so jobs that failed together
/// do not all return at once, never more than the cap. At the cap the spread only shortens,
/// so capped jobs still come back apart. The spread comes from the job's id and the
/// attempt, so the rule stays a pure function.
pub fn retry_delay(backoff: Option<Backoff>, id: &str, attempt: u32) -> Millis {
    let Some(Backoff { base, max }) = backoff else {
        return 0;
    };
    let max = max.unwrap_or(DEFAULT_BACKOFF_MAX);
    // base × 2^(attempt − 1), saturating: doubling goes on until it meets any cap.
    let doubled = 2i64
        .checked_pow(attempt.saturating_sub(1))
        .and_then(|factor| base.checked_mul(factor))
        .unwrap_or(Millis::MAX);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes().chain(attempt.to_le_bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let spread = (hash % 2001) as i64 - 1000; // -1000..=1000, in tenths of a percent
    if doubled >= max {
        max - (max / 10).saturating_mul(spread.abs()) / 1000
    } else {
        let jitter = (doubled / 10).saturating_mul(spread) / 1000;
        doubled.saturating_add(jitter).min(max)
    }
}

/// Adds a failure to a job's history, keeping only the newest [`ERROR_HISTORY`].
pub fn record_failure(errors: &mut Vec<Failure>, failure: Failure) {
    errors.push(failure);
    if errors.len() > ERROR_HISTORY {
        errors.drain(..errors.len() - ERROR_HISTORY);
    }
}

/// Cuts a reason to [`MAX_REASON_CHARS`], marking the cut.
pub fn clip_reason(reason: &str) -> String {
    if reason.chars().count() <= MAX_REASON_CHARS {
        return reason.to_string();
    }
    let mut clipped: String = reason.chars().take(MAX_REASON_CHARS).collect();
    clipped.push_str("… [cut]");
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_rule_allows_max_retries_plus_one_tries() {
        assert_eq!(failure_outcome(0, 0, false), Outcome::Dead);
        assert_eq!(failure_outcome(0, 3, false), Outcome::Retry);
        assert_eq!(failure_outcome(2, 3, false), Outcome::Retry);
        assert_eq!(failure_outcome(3, 3, false), Outcome::Dead);
        assert_eq!(failure_outcome(0, 3, true), Outcome::Dead);
    }

    #[test]
    fn backoff_doubles_caps_and_spreads_a_little() {
        let backoff = Some(Backoff {
            base: 1_000,
            max: Some(5_000),
        });
        assert_eq!(retry_delay(None, "q_a", 3), 0);
        for (attempt, nominal) in [(1, 1_000), (2, 2_000), (3, 4_000), (4, 5_000), (9, 5_000)] {
            let delay = retry_delay(backoff, "q_a", attempt);
            assert!(
                (nominal * 9 / 10..=nominal * 11 / 10).contains(&delay),
                "{attempt}: {delay}"
            );
            assert!(delay <= 5_000, "the cap holds after jitter: {delay}");
        }
        let huge = Some(Backoff {
            base: i64::MAX / 4,
            max: None,
        });
        assert!(retry_delay(huge, "q_a", 90) <= DEFAULT_BACKOFF_MAX);
        let capped: std::collections::HashSet<i64> = (0..50)
            .map(|n| retry_delay(backoff, &format!("q_{n}"), 9))
            .collect();
        assert!(capped.len() > 10, "jobs at the cap still come back apart");
        let spread: std::collections::HashSet<i64> = (0..50)
            .map(|n| retry_delay(backoff, &format!("q_{n}"), 1))
            .collect();
        assert!(spread.len() > 10, "jitter should differ between jobs");
    }

    #[test]
    fn backoff_keeps_doubling_up_to_a_cap_of_any_length() {
        const CENTURY: Millis = 3_155_760_000_000;
        let backoff = Some(Backoff {
            base: 1,
            max: Some(CENTURY),
        });
        // 2^41 ms (about 70 years) is still under the cap: the delay must be near it.
        let nominal = 1i64 << 41;
        let delay = retry_delay(backoff, "q_a", 42);
        assert!(
            (nominal * 9 / 10..=nominal * 11 / 10).contains(&delay),
            "{delay}"
        );
        for attempt in [43, 63, 64, 65, 1_000, u32::MAX] {
            let delay = retry_delay(backoff, "q_a", attempt);
            assert!(
                (CENTURY * 9 / 10..=CENTURY).contains(&delay),
                "{attempt}: {delay}"
            );
        }
        let widest = Some(Backoff {
            base: Millis::MAX,
            max: Some(Millis::MAX),
        });
        assert!(retry_delay(widest, "q_a", 7) > Millis::MAX / 10 * 9);
        let half = Some(Backoff {
            base: Millis::MAX / 2,
            max: Some(Millis::MAX),
        });
        for id in ["q_a", "q_b", "q_c", "q_d"] {
            assert!(retry_delay(half, id, 1) > Millis::MAX / 20 * 9, "{id}");
        }
    }

    #[test]
    fn history_keeps_the_newest_failures() {
        let mut errors = Vec::new();
        for attempt in 1..=25 {
            let failure = Failure {
                at: 0,
                attempt,
                worker: None,
                reason: "x".into(),
            };
            record_failure(&mut errors, failure);
        }
        assert_eq!(errors.len(), ERROR_HISTORY);
        assert_eq!(errors.first().unwrap().attempt, 6);
        assert_eq!(errors.last().unwrap().attempt, 25);
    }

    #[test]
    fn long_reasons_are_clipped() {
        assert_eq!(clip_reason("short"), "short");
        let clipped = clip_reason(&"é".repeat(MAX_REASON_CHARS + 10));
        assert!(clipped.ends_with("… [cut]"));
    }
}

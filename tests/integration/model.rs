//! The model check: random sequences of operations and clock moves, run both against the
//! real store on a real SQLite file and against a small in-memory model of the contract
//! written from CONTRACT.md and the README, not from the code. Every answer must agree:
//! which jobs a claim hands out and in what order (priority, then first in, first out;
//! delays; ordered groups; types; pause), the retry rule and backoff, expiry, fencing by
//! claim token (including the late complete), dedup keys, release and retry.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use queueprim::error::{Error, Kind};
use queueprim::job::{Backoff, ClaimRequest, Counts, Job, NewJob, Status, Visible};
use queueprim::store::{FailOptions, OpenOptions, Store, Synchronous};

use crate::harness::TestEnv;

use crate::support::rng::seed_for;

const QUEUES: [&str; 2] = ["alpha", "beta"];
const TYPES: [&str; 2] = ["mail", "resize"];
const GROUPS: [&str; 2] = ["g1", "g2"];
const KEYS: [&str; 2] = ["k1", "k2"];
const WORKERS: [&str; 2] = ["w1", "w2"];
/// Where the test clock starts: any fixed time well inside the supported range.
const START: i64 = 1_700_000_000_000;
/// The claim timeout when neither the dequeue nor the queue names one: 30 minutes.
const DEFAULT_TIMEOUT: i64 = 30 * 60 * 1000;
/// The backoff jobs get when an enqueue asks for one: 1 s doubling, capped at 4 s.
const BACKOFF: Backoff = Backoff {
    base: 1_000,
    max: Some(4_000),
};
/// How many failure records a job keeps (README: older ones are dropped).
const ERROR_HISTORY: usize = 20;

/// Which job a command acts on: the `n`th of the claimed (or lapsed) jobs when `active`
/// and there are any, else the `n`th of all jobs, both wrapping around.
#[derive(Debug, Clone, Copy)]
struct Pick {
    n: usize,
    active: bool,
}

/// Which claim token a command passes.
#[derive(Debug, Clone, Copy)]
enum Token {
    /// No `--claim`: act on whoever holds the claim.
    Absent,
    /// The job's latest token.
    Latest,
    /// One of the job's earlier tokens (or the latest if it has only one).
    Earlier(usize),
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        queue: usize,
        job_type: Option<usize>,
        priority: i64,
        max_retries: u32,
        backoff: bool,
        delay: Option<i64>,
        group: Option<usize>,
        key: Option<usize>,
    },
    Dequeue {
        queue: usize,
        job_type: Option<usize>,
        worker: usize,
        count: usize,
        timeout: Option<i64>,
    },
    Complete {
        job: Pick,
        token: Token,
    },
    Fail {
        job: Pick,
        token: Token,
        dead: bool,
        retry_in: Option<i64>,
    },
    Extend {
        job: Pick,
        token: Token,
        by: i64,
    },
    Release {
        job: Pick,
        token: Token,
    },
    Retry {
        job: Pick,
    },
    CompleteUnknown,
    Sweep,
    Pause {
        queue: usize,
    },
    Resume {
        queue: usize,
    },
    Advance {
        ms: i64,
    },
}

/// Times in whole quarter seconds, so deadlines and clock moves often meet exactly and the
/// boundaries (a claim expiring at its deadline, a delay ending) are exercised.
fn quarter_seconds(range: std::ops::Range<i64>) -> impl Strategy<Value = i64> {
    range.prop_map(|n| n * 250)
}

/// Mostly the first queue, so jobs meet each other there; the second checks that queues
/// stay apart.
fn queue() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(0), 1 => Just(1)]
}

fn token() -> impl Strategy<Value = Token> {
    prop_oneof![
        1 => Just(Token::Absent),
        3 => Just(Token::Latest),
        1 => (0..4usize).prop_map(Token::Earlier),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let enqueue = (
        queue(),
        proptest::option::weighted(0.3, 0..TYPES.len()),
        -1i64..=1,
        0u32..3,
        proptest::bool::weighted(0.3),
        proptest::option::weighted(0.2, quarter_seconds(0..12)),
        proptest::option::weighted(0.5, 0..GROUPS.len()),
        proptest::option::weighted(0.2, 0..KEYS.len()),
    )
        .prop_map(
            |(queue, job_type, priority, max_retries, backoff, delay, group, key)| Op::Enqueue {
                queue,
                job_type,
                priority,
                max_retries,
                backoff,
                delay,
                group,
                key,
            },
        );
    let dequeue = (
        queue(),
        proptest::option::weighted(0.2, 0..TYPES.len()),
        0..WORKERS.len(),
        1usize..=3,
        proptest::option::weighted(0.8, quarter_seconds(2..16)),
    )
        .prop_map(|(queue, job_type, worker, count, timeout)| Op::Dequeue {
            queue,
            job_type,
            worker,
            count,
            timeout,
        });
    let job = || {
        (any::<usize>(), proptest::bool::weighted(0.7)).prop_map(|(n, active)| Pick { n, active })
    };
    prop_oneof![
        6 => enqueue,
        6 => dequeue,
        4 => (job(), token()).prop_map(|(job, token)| Op::Complete { job, token }),
        4 => (job(), token(), proptest::bool::weighted(0.2),
              proptest::option::weighted(0.2, quarter_seconds(0..12)))
            .prop_map(|(job, token, dead, retry_in)| Op::Fail { job, token, dead, retry_in }),
        2 => (job(), token(), quarter_seconds(1..12)).prop_map(|(job, token, by)| Op::Extend { job, token, by }),
        2 => (job(), token()).prop_map(|(job, token)| Op::Release { job, token }),
        2 => job().prop_map(|job| Op::Retry { job }),
        1 => Just(Op::CompleteUnknown),
        1 => Just(Op::Sweep),
        1 => (0..QUEUES.len()).prop_map(|queue| Op::Pause { queue }),
        2 => (0..QUEUES.len()).prop_map(|queue| Op::Resume { queue }),
        5 => quarter_seconds(0..20).prop_map(|ms| Op::Advance { ms }),
    ]
}

/// What the model knows of one job.
#[derive(Debug, Clone)]
struct ModelJob {
    id: String,
    queue: usize,
    job_type: Option<usize>,
    priority: i64,
    max_retries: u32,
    backoff: bool,
    group: Option<usize>,
    key: Option<usize>,
    status: Status,
    /// Pending, but waiting behind an earlier job of its group.
    behind_group: bool,
    /// Pending: visible from; claimed: the deadline.
    visible_after: Option<i64>,
    attempts: u32,
    failures_recorded: usize,
    /// Every claim token the job was given, oldest first.
    tokens: Vec<String>,
    /// The last claim ended by expiring, so its holder may still complete late.
    lapsed: bool,
    worker: Option<usize>,
    completed_with_output: bool,
    finished: bool,
    /// Went back to pending with a jittered backoff the model has yet to check and adopt.
    backoff_to_check: bool,
}

impl ModelJob {
    fn unfinished(&self) -> bool {
        matches!(self.status, Status::Pending | Status::Claimed)
    }

    fn token(&self, which: Token) -> Option<String> {
        match which {
            Token::Absent => None,
            Token::Latest => self.tokens.last().cloned(),
            Token::Earlier(n) => self
                .tokens
                .get(n.min(self.tokens.len().saturating_sub(1)))
                .cloned(),
        }
    }

    /// Whether a command passing `token` acts on this job's claim: no token means whoever
    /// holds it.
    fn holds(&self, token: &Option<String>) -> bool {
        token.is_none() || token.as_ref() == self.tokens.last()
    }
}

/// The contract, kept in memory: jobs in enqueue order, paused queues and the clock.
#[derive(Debug, Default)]
struct Model {
    jobs: Vec<ModelJob>,
    paused: [bool; 2],
    now: i64,
}

/// A write's outcome, as far as the contract's exit codes tell them apart.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Ok,
    Conflict,
    NotFound,
}

impl Model {
    /// The retry rule (CONTRACT §3 `fail`): while attempts so far are fewer than
    /// `max_retries`, back to pending after the backoff; otherwise, or when forced, dead.
    /// Returns whether the job goes back to pending.
    fn count_failure(&mut self, index: usize, force_dead: bool, retry_in: Option<i64>) -> bool {
        let now = self.now;
        let job = &mut self.jobs[index];
        let retry = !force_dead && job.attempts < job.max_retries;
        job.attempts += 1;
        job.failures_recorded = (job.failures_recorded + 1).min(ERROR_HISTORY);
        job.lapsed = false;
        if retry {
            job.status = Status::Pending;
            let jittered = job.backoff && retry_in.is_none();
            let delay = match retry_in {
                Some(delay) => delay,
                None if job.backoff => nominal_backoff(job.attempts),
                None => 0,
            };
            // The nominal delay stands in until the step ends and `adopt_backoffs` checks
            // the store's jittered one; both are far enough off that the job is not
            // claimable meanwhile.
            job.visible_after = Some(now + delay);
            job.backoff_to_check = jittered;
        } else {
            job.status = Status::Dead;
            job.visible_after = None;
            job.finished = true;
            self.advance_group(index);
        }
        retry
    }

    /// A claim past its deadline goes back under the retry rule, as a failed attempt.
    fn expire_claims(&mut self, queue: Option<usize>) -> (u64, u64) {
        let (mut retried, mut dead) = (0, 0);
        for index in 0..self.jobs.len() {
            let job = &self.jobs[index];
            let expired = job.status == Status::Claimed
                && queue.is_none_or(|q| q == job.queue)
                && job
                    .visible_after
                    .is_some_and(|deadline| deadline <= self.now);
            if expired {
                if self.count_failure(index, false, None) {
                    retried += 1;
                } else {
                    dead += 1;
                }
                self.jobs[index].lapsed = true;
            }
        }
        (retried, dead)
    }

    /// When a group's job finishes, the group's next job in enqueue order may go.
    fn advance_group(&mut self, finished: usize) {
        let (queue, Some(group)) = (self.jobs[finished].queue, self.jobs[finished].group) else {
            return;
        };
        let same_group = |j: &ModelJob| j.queue == queue && j.group == Some(group);
        let live = self
            .jobs
            .iter()
            .any(|j| same_group(j) && j.unfinished() && !j.behind_group);
        if !live {
            if let Some(next) = self
                .jobs
                .iter_mut()
                .find(|j| same_group(j) && j.unfinished() && j.behind_group)
            {
                next.behind_group = false;
            }
        }
    }

    fn group_busy(&self, queue: usize, group: Option<usize>, except: usize) -> bool {
        group.is_some_and(|g| {
            self.jobs.iter().enumerate().any(|(i, j)| {
                i != except && j.queue == queue && j.group == Some(g) && j.unfinished()
            })
        })
    }

    fn unfinished_with_key(&self, queue: usize, key: Option<usize>) -> Option<usize> {
        key.and_then(|k| {
            self.jobs
                .iter()
                .position(|j| j.queue == queue && j.key == Some(k) && j.unfinished())
        })
    }

    /// The jobs a claim hands out, in order: visible pending jobs of the queue (and type),
    /// not waiting behind their group, highest priority first, then oldest first.
    fn claimable(&self, queue: usize, job_type: Option<usize>, count: usize) -> Vec<usize> {
        let mut ready: Vec<usize> = (0..self.jobs.len())
            .filter(|&i| {
                let j = &self.jobs[i];
                j.queue == queue
                    && j.status == Status::Pending
                    && !j.behind_group
                    && j.visible_after.is_some_and(|t| t <= self.now)
                    && (job_type.is_none() || j.job_type == job_type)
            })
            .collect();
        ready.sort_by_key(|&i| (-self.jobs[i].priority, i));
        ready.truncate(count);
        ready
    }

    fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for job in &self.jobs {
            counts.add(job.status, 1);
        }
        counts
    }
}

/// The real store, on a temporary file or a fresh schema on the test server (the engine of
/// this test binary), with a clock the test moves.
struct Subject {
    store: Store,
    clock: Arc<AtomicI64>,
    _env: TestEnv,
}

impl Subject {
    fn new() -> Subject {
        let env = TestEnv::new();
        // Commit durability is not under test here, and skipping the fsyncs keeps hundreds
        // of cases quick.
        let options = OpenOptions {
            synchronous: Synchronous::Normal,
            create_dir: false,
        };
        let mut store = Store::open(&env.location(), &options).expect("open store");
        let clock = Arc::new(AtomicI64::new(START));
        let reading = Arc::clone(&clock);
        store.set_clock(Box::new(move || reading.load(Ordering::SeqCst)));
        Subject {
            store,
            clock,
            _env: env,
        }
    }
}

fn verdict<T>(result: &anyhow::Result<T>) -> Verdict {
    match result {
        Ok(_) => Verdict::Ok,
        Err(e) => match e.downcast_ref::<Error>().map(|e| e.kind) {
            Some(Kind::Conflict) => Verdict::Conflict,
            Some(Kind::NotFound) => Verdict::NotFound,
            _ => panic!("unexpected error from the store: {e:#}"),
        },
    }
}

/// Runs one operation on both sides and checks that their answers agree.
fn step(model: &mut Model, subject: &mut Subject, op: &Op) -> Result<(), TestCaseError> {
    match *op {
        Op::Enqueue {
            queue,
            job_type,
            priority,
            max_retries,
            backoff,
            delay,
            group,
            key,
        } => enqueue(
            model,
            subject,
            ModelJob {
                id: String::new(),
                queue,
                job_type,
                priority,
                max_retries,
                backoff,
                group,
                key,
                status: Status::Pending,
                behind_group: false,
                visible_after: Some(model.now + delay.unwrap_or(0)),
                attempts: 0,
                failures_recorded: 0,
                tokens: Vec::new(),
                lapsed: false,
                worker: None,
                completed_with_output: false,
                finished: false,
                backoff_to_check: false,
            },
        ),
        Op::Dequeue {
            queue,
            job_type,
            worker,
            count,
            timeout,
        } => dequeue(model, subject, queue, job_type, worker, count, timeout),
        Op::Complete { job, token } => complete(model, subject, job, token),
        Op::Fail {
            job,
            token,
            dead,
            retry_in,
        } => fail(model, subject, job, token, dead, retry_in),
        Op::Extend { job, token, by } => extend(model, subject, job, token, by),
        Op::Release { job, token } => release(model, subject, job, token),
        Op::Retry { job } => retry(model, subject, job),
        Op::CompleteUnknown => {
            let result = subject.store.complete("q_0000000000", None, None, &[]);
            prop_assert_eq!(verdict(&result), Verdict::NotFound);
            Ok(())
        }
        Op::Sweep => {
            let expected = model.expire_claims(None);
            let report = subject.store.release_expired().expect("sweep");
            prop_assert_eq!((report.retried, report.dead), expected, "sweep");
            adopt_backoffs(model, subject)
        }
        Op::Pause { queue } | Op::Resume { queue } => {
            let paused = matches!(op, Op::Pause { .. });
            model.paused[queue] = paused;
            subject
                .store
                .update_settings(QUEUES[queue], |s| s.paused = paused)
                .expect("pause or resume");
            Ok(())
        }
        Op::Advance { ms } => {
            model.now += ms;
            subject.clock.store(model.now, Ordering::SeqCst);
            Ok(())
        }
    }
}

fn enqueue(
    model: &mut Model,
    subject: &mut Subject,
    mut new: ModelJob,
) -> Result<(), TestCaseError> {
    let request = NewJob {
        job_type: new.job_type.map(|t| TYPES[t].to_string()),
        priority: new.priority,
        max_retries: Some(new.max_retries),
        backoff: new.backoff.then_some(BACKOFF),
        group: new.group.map(|g| GROUPS[g].to_string()),
        key: new.key.map(|k| KEYS[k].to_string()),
        visible: Visible::After(new.visible_after.unwrap_or(model.now) - model.now),
        ..NewJob::new(QUEUES[new.queue], "{}")
    };
    let added = subject.store.enqueue(&[request]).expect("enqueue");
    let added = &added[0];
    match model.unfinished_with_key(new.queue, new.key) {
        Some(existing) => {
            prop_assert!(added.deduplicated, "the key is taken: {added:?}");
            prop_assert_eq!(&added.job.id, &model.jobs[existing].id);
        }
        None => {
            prop_assert!(!added.deduplicated, "nothing had the key: {added:?}");
            new.id = added.job.id.clone();
            new.behind_group = model.group_busy(new.queue, new.group, usize::MAX);
            model.jobs.push(new);
        }
    }
    Ok(())
}

fn dequeue(
    model: &mut Model,
    subject: &mut Subject,
    queue: usize,
    job_type: Option<usize>,
    worker: usize,
    count: usize,
    timeout: Option<i64>,
) -> Result<(), TestCaseError> {
    model.expire_claims(Some(queue));
    let expected = if model.paused[queue] {
        Vec::new()
    } else {
        model.claimable(queue, job_type, count)
    };
    let request = ClaimRequest {
        queue: QUEUES[queue].to_string(),
        job_type: job_type.map(|t| TYPES[t].to_string()),
        worker: Some(WORKERS[worker].to_string()),
        timeout_ms: timeout,
        count,
    };
    let claimed = subject.store.claim(&request).expect("claim");
    let expected_ids: Vec<&str> = expected
        .iter()
        .map(|&i| model.jobs[i].id.as_str())
        .collect();
    let claimed_ids: Vec<&str> = claimed.iter().map(|j| j.id.as_str()).collect();
    prop_assert_eq!(claimed_ids, expected_ids, "claim order");
    let deadline = model.now + timeout.unwrap_or(DEFAULT_TIMEOUT);
    for (&index, job) in expected.iter().zip(&claimed) {
        let token = job.claim.clone().expect("a claimed job has a token");
        let mine = &mut model.jobs[index];
        prop_assert!(!mine.tokens.contains(&token), "a claim token was reused");
        mine.tokens.push(token);
        mine.status = Status::Claimed;
        mine.visible_after = Some(deadline);
        mine.worker = Some(worker);
        mine.lapsed = false;
    }
    adopt_backoffs(model, subject)
}

/// Picks an existing job for an operation: mostly one that is claimed or whose claim lapsed
/// (`active`), where commands have something to act on, otherwise any job.
fn pick(model: &Model, pick: Pick) -> Option<usize> {
    let active: Vec<usize> = (0..model.jobs.len())
        .filter(|&i| model.jobs[i].status == Status::Claimed || model.jobs[i].lapsed)
        .collect();
    if pick.active && !active.is_empty() {
        Some(active[pick.n % active.len()])
    } else {
        (!model.jobs.is_empty()).then(|| pick.n % model.jobs.len())
    }
}

fn complete(
    model: &mut Model,
    subject: &mut Subject,
    job: Pick,
    token: Token,
) -> Result<(), TestCaseError> {
    let Some(index) = pick(model, job) else {
        return Ok(());
    };
    let mine = &model.jobs[index];
    let token = mine.token(token);
    // CONTRACT §3: the holder completes; a late complete with the expired claim's token is
    // accepted as long as nobody has claimed the job since.
    let allowed = match mine.status {
        Status::Claimed => mine.holds(&token),
        Status::Pending | Status::Dead => {
            mine.lapsed && token.is_some() && token.as_ref() == mine.tokens.last()
        }
        Status::Done => false,
    };
    let output = format!("{{\"n\":{index}}}");
    let result = subject
        .store
        .complete(&mine.id, token.as_deref(), Some(output), &[]);
    prop_assert_eq!(
        verdict(&result),
        verdict_for(allowed),
        "complete {:?}",
        mine
    );
    if allowed {
        let mine = &mut model.jobs[index];
        mine.status = Status::Done;
        mine.visible_after = None;
        mine.lapsed = false;
        mine.completed_with_output = true;
        mine.finished = true;
        model.advance_group(index);
    }
    Ok(())
}

/// Runs a command only the claim's holder may give (fail, extend, release) on a picked job
/// and checks the store accepted it exactly when the model says the token holds the claim.
/// Returns the job's index when it was accepted, for the caller to apply to the model.
fn as_holder(
    model: &Model,
    subject: &mut Subject,
    job: Pick,
    token: Token,
    command: &str,
    run: impl FnOnce(&mut Store, &str, Option<&str>) -> Verdict,
) -> Result<Option<usize>, TestCaseError> {
    let Some(index) = pick(model, job) else {
        return Ok(None);
    };
    let mine = &model.jobs[index];
    let token = mine.token(token);
    let allowed = mine.status == Status::Claimed && mine.holds(&token);
    let verdict = run(&mut subject.store, &mine.id, token.as_deref());
    prop_assert_eq!(verdict, verdict_for(allowed), "{} {:?}", command, mine);
    Ok(allowed.then_some(index))
}

fn fail(
    model: &mut Model,
    subject: &mut Subject,
    job: Pick,
    token: Token,
    dead: bool,
    retry_in: Option<i64>,
) -> Result<(), TestCaseError> {
    let options = FailOptions { dead, retry_in };
    let accepted = as_holder(model, subject, job, token, "fail", |store, id, token| {
        verdict(&store.fail(id, token, "it broke", options))
    })?;
    if let Some(index) = accepted {
        model.count_failure(index, dead, retry_in);
        adopt_backoffs(model, subject)?;
    }
    Ok(())
}

fn extend(
    model: &mut Model,
    subject: &mut Subject,
    job: Pick,
    token: Token,
    by: i64,
) -> Result<(), TestCaseError> {
    let accepted = as_holder(model, subject, job, token, "extend", |store, id, token| {
        verdict(&store.extend(id, token, by))
    })?;
    if let Some(index) = accepted {
        let now = model.now;
        let mine = &mut model.jobs[index];
        // Pushed from the deadline, or from now if the deadline has already passed.
        mine.visible_after = mine.visible_after.map(|deadline| deadline.max(now) + by);
    }
    Ok(())
}

fn release(
    model: &mut Model,
    subject: &mut Subject,
    job: Pick,
    token: Token,
) -> Result<(), TestCaseError> {
    let accepted = as_holder(model, subject, job, token, "release", |store, id, token| {
        verdict(&store.release(id, token))
    })?;
    if let Some(index) = accepted {
        let now = model.now;
        let mine = &mut model.jobs[index];
        // Back to pending at once, without counting an attempt.
        mine.status = Status::Pending;
        mine.visible_after = Some(now);
    }
    Ok(())
}

fn retry(model: &mut Model, subject: &mut Subject, job: Pick) -> Result<(), TestCaseError> {
    let Some(index) = pick(model, job) else {
        return Ok(());
    };
    let mine = &model.jobs[index];
    // Only dead or done jobs come back, and not while another unfinished job has their key.
    let allowed = matches!(mine.status, Status::Dead | Status::Done)
        && model.unfinished_with_key(mine.queue, mine.key).is_none();
    let result = subject.store.replay(std::slice::from_ref(&mine.id));
    prop_assert_eq!(verdict(&result), verdict_for(allowed), "retry {:?}", mine);
    if allowed {
        let now = model.now;
        let behind = model.group_busy(mine.queue, mine.group, index);
        let mine = &mut model.jobs[index];
        mine.status = Status::Pending;
        mine.attempts = 0;
        mine.lapsed = false;
        mine.visible_after = Some(now);
        mine.completed_with_output = false;
        mine.finished = false;
        mine.behind_group = behind;
    }
    Ok(())
}

fn verdict_for(allowed: bool) -> Verdict {
    if allowed {
        Verdict::Ok
    } else {
        Verdict::Conflict
    }
}

/// The backoff before retry number `attempt`: the base doubled per earlier failure, capped.
fn nominal_backoff(attempt: u32) -> i64 {
    let doubled = BACKOFF.base << (attempt - 1).min(20);
    doubled.min(BACKOFF.max.expect("the test backoff has a cap"))
}

/// Backoff delays carry a little jitter, so the model cannot predict them exactly: for each
/// job that just went back to pending with a backoff, it checks that the store's delay is
/// the nominal one within ±10% and under the cap, then takes it.
fn adopt_backoffs(model: &mut Model, subject: &mut Subject) -> Result<(), TestCaseError> {
    let now = model.now;
    let cap = BACKOFF.max.expect("the test backoff has a cap");
    for job in model.jobs.iter_mut().filter(|j| j.backoff_to_check) {
        let stored = subject.store.get(&job.id).expect("get");
        let delay = stored
            .visible_after
            .expect("a pending job has a visible time")
            - now;
        let nominal = nominal_backoff(job.attempts);
        let (low, high) = (
            nominal - nominal / 10 - 1,
            (nominal + nominal / 10 + 1).min(cap),
        );
        prop_assert!(
            (low..=high).contains(&delay),
            "retry {} of {} waits {delay} ms; nominal {nominal} ms",
            job.attempts,
            job.id
        );
        job.visible_after = stored.visible_after;
        job.backoff_to_check = false;
    }
    Ok(())
}

/// Compares every job and the overall counts.
fn same_state(model: &Model, subject: &mut Subject) -> Result<(), TestCaseError> {
    for (index, mine) in model.jobs.iter().enumerate() {
        let stored: Job = subject.store.get(&mine.id).expect("get");
        let what = format!("job {index} ({}) model {mine:?} store {stored:?}", mine.id);
        prop_assert_eq!(stored.status, mine.status, "{}", what);
        prop_assert_eq!(stored.attempt_count, mine.attempts, "{}", what);
        prop_assert_eq!(stored.visible_after, mine.visible_after, "{}", what);
        prop_assert_eq!(stored.claim.as_ref(), mine.tokens.last(), "{}", what);
        prop_assert_eq!(
            stored.worker.as_deref(),
            mine.worker.map(|w| WORKERS[w]),
            "{}",
            what
        );
        prop_assert_eq!(stored.errors.len(), mine.failures_recorded, "{}", what);
        prop_assert_eq!(
            stored.output.is_some(),
            mine.completed_with_output,
            "{}",
            what
        );
        prop_assert_eq!(stored.finished_at.is_some(), mine.finished, "{}", what);
    }
    prop_assert_eq!(subject.store.stats().expect("stats"), model.counts());
    Ok(())
}

/// Runs `ops` on a fresh store and a fresh model, comparing every job after each step.
fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model {
        now: START,
        ..Model::default()
    };
    let mut subject = Subject::new();
    for (n, op) in ops.iter().enumerate() {
        step(&mut model, &mut subject, op)
            .map_err(|e| TestCaseError::fail(format!("step {n} {op:?}: {e}")))?;
        same_state(&model, &mut subject)
            .map_err(|e| TestCaseError::fail(format!("after step {n} {op:?}: {e}")))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: case_count(),
        // A failure prints its shrunk case; no regression files are written into the tree.
        failure_persistence: None,
        // The suite's seed, printed, so `QUEUEPRIM_TEST_SEED` replays the whole run.
        rng_seed: RngSeed::Fixed(seed_for("model")),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_store_agrees_with_the_model_of_the_contract(ops in proptest::collection::vec(op(), 1..80)) {
        run(&ops)?;
    }
}

/// 200 cases by default; `QUEUEPRIM_MODEL_CASES` asks for more (a longer hunt by hand).
fn case_count() -> u32 {
    std::env::var("QUEUEPRIM_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

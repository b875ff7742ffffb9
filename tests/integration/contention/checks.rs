//! After the run: every actor's log merged into one ledger, the database as it was left,
//! and the checks that every job is accounted for once and no claim was shared.

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

use crate::harness::{Counts, Job, TestEnv};
use crate::support::integrity::integrity_check;

use super::log::{Claim, Ending, Finished, Log, Op, Refusal};

/// Every actor's log, merged.
pub struct Ledger {
    pub processes: u64,
    pub errors: Vec<String>,
    /// Each enqueued job's `max_retries`, by id.
    pub enqueued: HashMap<String, u32>,
    /// Ids enqueue printed more than once.
    pub duplicate_ids: Vec<String>,
    /// Every claim, by job, in the order they were made.
    pub claims: HashMap<String, Vec<Claim>>,
    pub refusals: Vec<Refusal>,
    pub purged: Finished,
}

impl Ledger {
    pub fn merge(logs: Vec<Log>) -> Ledger {
        let mut ledger = Ledger {
            processes: 0,
            errors: Vec::new(),
            enqueued: HashMap::new(),
            duplicate_ids: Vec::new(),
            claims: HashMap::new(),
            refusals: Vec::new(),
            purged: Finished::default(),
        };
        for log in logs {
            ledger.processes += log.processes;
            ledger.errors.extend(log.errors);
            ledger.refusals.extend(log.refusals);
            ledger.purged.done += log.purged.done;
            ledger.purged.dead += log.purged.dead;
            for job in log.enqueued {
                if ledger
                    .enqueued
                    .insert(job.id.clone(), job.max_retries)
                    .is_some()
                {
                    ledger.duplicate_ids.push(job.id);
                }
            }
            for claim in log.claims {
                ledger
                    .claims
                    .entry(claim.job.clone())
                    .or_default()
                    .push(claim);
            }
        }
        for claims in ledger.claims.values_mut() {
            claims.sort_by_key(|c| (c.start, c.held_until()));
        }
        ledger
    }

    pub fn claims_of(&self, id: &str) -> &[Claim] {
        self.claims.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether a claim other than `token` on the job started after `since` and by `at`:
    /// someone else's claim took over.
    pub fn taken_over(&self, id: &str, token: &str, since: i64, at: i64) -> bool {
        self.claims_of(id)
            .iter()
            .any(|c| c.token != token && c.start > since && c.start <= at)
    }
}

/// The database once everything has stopped.
pub struct FinalState {
    pub jobs: HashMap<String, Job>,
    pub stats: Counts,
    pub integrity: Vec<String>,
}

impl FinalState {
    pub fn read(env: &TestEnv) -> FinalState {
        let jobs: Vec<Job> = env.json(&["list", "--limit", "0", "--format", "json"]);
        FinalState {
            jobs: jobs.into_iter().map(|job| (job.id.clone(), job)).collect(),
            stats: env.json(&["stats", "--format", "json"]),
            integrity: integrity_check(&env.db()),
        }
    }
}

pub fn check_database(state: &FinalState, problems: &mut Vec<String>) {
    if state.integrity != ["ok"] {
        problems.push(format!("PRAGMA integrity_check says {:?}", state.integrity));
    }
}

/// Checks the claims of every job: unique tokens, no two claims holding a job at once, no
/// claim after the job ended, no other claim slipping in before a holder's accepted
/// command, at most one completion, and no more claims than the attempt budget allows.
pub fn check_claims(ledger: &Ledger, problems: &mut Vec<String>) {
    let mut tokens = HashSet::new();
    for (id, claims) in &ledger.claims {
        for claim in claims {
            if !tokens.insert(claim.token.as_str()) {
                problems.push(format!("claim token {} was handed out twice", claim.token));
            }
        }
        let Some(&max_retries) = ledger.enqueued.get(id) else {
            problems.push(format!("{id} was claimed but nobody enqueued it"));
            continue;
        };
        check_no_overlap(id, claims, problems);
        check_nothing_after_the_end(id, claims, problems);
        check_accepted_only_while_held(ledger, id, claims, problems);
        let completions = claims.iter().filter(|c| c.completed()).count();
        if completions > 1 {
            problems.push(format!(
                "{id} was completed {completions} times: {claims:?}"
            ));
        }
        if claims.len() > max_retries as usize + 1 {
            problems.push(format!(
                "{id} was claimed {} times with max_retries {max_retries}: {claims:?}",
                claims.len()
            ));
        }
    }
}

/// No claim may start before the one before it stopped holding the job.
pub fn check_no_overlap(id: &str, claims: &[Claim], problems: &mut Vec<String>) {
    for pair in claims.windows(2) {
        if pair[0].held_until() > pair[1].start {
            problems.push(format!(
                "{id} was held by two claims at once: {:?} and {:?}",
                pair[0], pair[1]
            ));
        }
    }
}

/// A job that was completed or went dead is never claimed again.
pub fn check_nothing_after_the_end(id: &str, claims: &[Claim], problems: &mut Vec<String>) {
    if let Some(i) = claims.iter().position(Claim::terminal) {
        if i + 1 < claims.len() {
            problems.push(format!(
                "{id} was claimed again after it ended: {:?}",
                &claims[i..]
            ));
        }
    }
}

/// A command accepted on a claim (a late complete included) means nobody else claimed the
/// job between the claim and that command.
pub fn check_accepted_only_while_held(
    ledger: &Ledger,
    id: &str,
    claims: &[Claim],
    problems: &mut Vec<String>,
) {
    for claim in claims {
        if ledger.taken_over(id, &claim.token, claim.start, claim.last_accepted - 1) {
            problems.push(format!(
                "{id}: a command on claim {} was accepted after another claim took the job: {claims:?}",
                claim.token
            ));
        }
    }
}

/// The status a job must end in, given its claims: done once completed; dead when a fail
/// said so or when every allowed attempt was used; pending otherwise. (Each claim that did
/// not complete is one failed attempt, by `fail` or by expiry.)
pub fn expected_status(max_retries: u32, claims: &[Claim]) -> &'static str {
    if claims.iter().any(Claim::completed) {
        "done"
    } else if claims
        .iter()
        .any(|c| c.end.is_some_and(|e| e.how == Ending::Dead))
        || claims.len() > max_retries as usize
    {
        "dead"
    } else {
        "pending"
    }
}

/// The failed attempts a job must show: one per claim that did not complete it, plus one
/// for a completing claim that expired before its late complete.
pub fn expected_attempts(status: &str, claims: &[Claim]) -> RangeInclusive<u32> {
    let n = claims.len() as u32;
    match status {
        "done" => n.saturating_sub(1)..=n,
        _ => n..=n,
    }
}

/// Where the jobs ended, by the accounting.
#[derive(Debug, Default, Clone, Copy)]
pub struct Accounts {
    pub done: u64,
    pub dead: u64,
    pub pending: u64,
}

/// Checks every enqueued job is in the database exactly as its claims say it must be, or
/// was purged, with the purge counts matching the missing jobs status by status; no job is
/// in the database that nobody enqueued; and `stats` agrees.
pub fn check_accounting(
    ledger: &Ledger,
    state: &FinalState,
    problems: &mut Vec<String>,
) -> Accounts {
    for id in &ledger.duplicate_ids {
        problems.push(format!("enqueue printed id {id} more than once"));
    }
    for id in state.jobs.keys() {
        if !ledger.enqueued.contains_key(id) {
            problems.push(format!("{id} is in the database but nobody enqueued it"));
        }
    }
    let mut accounts = Accounts::default();
    let mut missing = Finished::default();
    let mut present = Counts {
        pending: 0,
        claimed: 0,
        done: 0,
        dead: 0,
        total: 0,
    };
    for (id, &max_retries) in &ledger.enqueued {
        let claims = ledger.claims_of(id);
        let expected = expected_status(max_retries, claims);
        match expected {
            "done" => accounts.done += 1,
            "dead" => accounts.dead += 1,
            _ => accounts.pending += 1,
        }
        match state.jobs.get(id) {
            Some(job) => {
                check_final_job(job, expected, claims, problems);
                count_status(&mut present, &job.status);
            }
            None if expected == "done" => missing.done += 1,
            None if expected == "dead" => missing.dead += 1,
            None => problems.push(format!(
                "{id} is gone from the database but should be {expected}: {claims:?}"
            )),
        }
    }
    if missing != ledger.purged {
        problems.push(format!(
            "purges removed {:?}, but the jobs missing from the database are {missing:?}",
            ledger.purged
        ));
    }
    if state.stats != present {
        problems.push(format!(
            "stats says {:?}, the jobs in the database are {present:?}",
            state.stats
        ));
    }
    accounts
}

pub fn check_final_job(job: &Job, expected: &str, claims: &[Claim], problems: &mut Vec<String>) {
    let attempts = expected_attempts(expected, claims);
    if job.status != expected || !attempts.contains(&job.attempt_count) {
        problems.push(format!(
            "{} ended {} after {} failed attempts, expected {expected} after {attempts:?}; \
             claims {claims:?}",
            job.id, job.status, job.attempt_count
        ));
    }
}

pub fn count_status(counts: &mut Counts, status: &str) {
    match status {
        "pending" => counts.pending += 1,
        "claimed" => counts.claimed += 1,
        "done" => counts.done += 1,
        _ => counts.dead += 1,
    }
    counts.total += 1;
}

/// Checks every refusal met a stale claim. A complete is refused (exit 4) only once another
/// claim took over, since a late complete is otherwise accepted; a fail or extend also when
/// the claim expired and was released. Exit 3 only for a job purged after its claim expired.
pub fn check_refusals(ledger: &Ledger, state: &FinalState, problems: &mut Vec<String>) {
    for r in &ledger.refusals {
        let taken_over = ledger.taken_over(&r.job, &r.token, r.claim_start, r.at);
        let expired = r.deadline <= r.at;
        let stale = match (r.code, r.op) {
            (4, Op::Complete) => taken_over,
            (4, _) => taken_over || expired,
            _ => expired && !state.jobs.contains_key(&r.job),
        };
        if !stale {
            problems.push(format!(
                "{:?} of {} was refused with exit {} but its claim was not stale (taken over: \
                 {taken_over}, expired: {expired}, still in the database: {}): {r:?}; claims {:?}",
                r.op,
                r.job,
                r.code,
                state.jobs.contains_key(&r.job),
                ledger.claims_of(&r.job)
            ));
        }
    }
}

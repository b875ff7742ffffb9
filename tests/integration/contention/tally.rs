//! The run's figures, for the summary line.

use std::time::Duration;

use super::checks::{Accounts, Ledger};
use super::log::{Finished, Op};
use super::Scenario;

/// The run's figures, for the summary line.
pub struct Tally {
    pub actors: usize,
    pub seconds: f64,
    pub processes: u64,
    pub enqueued: usize,
    pub accounts: Accounts,
    pub purged: Finished,
    pub claims: usize,
    pub expired: u64,
    pub redelivered: usize,
    pub late_completes: usize,
    pub fenced: [usize; 3],
    pub gone: usize,
    pub errors: usize,
}

impl Tally {
    pub fn new(
        scenario: &Scenario,
        elapsed: Duration,
        ledger: &Ledger,
        accounts: Accounts,
    ) -> Tally {
        let all_claims = || ledger.claims.values().flatten();
        let fenced = |op: Op| {
            ledger
                .refusals
                .iter()
                .filter(|r| r.code == 4 && r.op == op)
                .count()
        };
        Tally {
            actors: scenario.actors,
            seconds: elapsed.as_secs_f64(),
            processes: ledger.processes,
            enqueued: ledger.enqueued.len(),
            accounts,
            purged: ledger.purged,
            claims: all_claims().count(),
            expired: all_claims().filter(|c| c.expired()).count() as u64,
            redelivered: ledger
                .claims
                .values()
                .flat_map(|claims| claims.windows(2))
                .filter(|pair| pair[0].expired())
                .count(),
            late_completes: all_claims()
                .filter(|c| c.completed() && c.expired())
                .count(),
            fenced: [fenced(Op::Complete), fenced(Op::Fail), fenced(Op::Extend)],
            gone: ledger.refusals.iter().filter(|r| r.code == 3).count(),
            errors: ledger.errors.len(),
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.accounts;
        let finished = (a.done + a.dead) as f64;
        write!(
            f,
            "{} actors for {:.1}s, {} processes ({:.0}/s); jobs enqueued {}, done {}, dead {}, \
             pending {} ({:.1} jobs/s finished); purged {} done + {} dead; claims {}, \
             expired {}, redelivered {}, late completes accepted {}; fenced {} (complete {}, \
             fail {}, extend {}), purged under a stale claim {}; errors {}",
            self.actors,
            self.seconds,
            self.processes,
            self.processes as f64 / self.seconds,
            self.enqueued,
            a.done,
            a.dead,
            a.pending,
            finished / self.seconds,
            self.purged.done,
            self.purged.dead,
            self.claims,
            self.expired,
            self.redelivered,
            self.late_completes,
            self.fenced.iter().sum::<usize>(),
            self.fenced[0],
            self.fenced[1],
            self.fenced[2],
            self.gone,
            self.errors
        )
    }
}

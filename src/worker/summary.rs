//! What `work` reports when it exits: each job counted once, by the last result it had.

use std::collections::HashMap;

use super::JobResult;

/// Totals reported when the runner exits: each job once, by the last result it had here,
/// and how many commands ran in all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub done: u64,
    pub retried: u64,
    pub dead: u64,
    pub lost: u64,
    pub released: u64,
    pub runs: u64,
    /// Jobs counted as retried or lost, which may come back to this runner: if one does,
    /// its next result replaces that count. Only these are remembered, so a runner that
    /// lives for months does not keep every id it ever ran.
    may_return: HashMap<String, MayReturn>,
}

/// Why a job counted in a [`Summary`] may still come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MayReturn {
    Retried,
    Lost,
}

impl Summary {
    pub(super) fn count(&mut self, id: &str, result: &JobResult) {
        match self.may_return.remove(id) {
            Some(MayReturn::Retried) => self.retried -= 1,
            Some(MayReturn::Lost) => self.lost -= 1,
            None => {}
        }
        self.runs += 1;
        let comes_back = match result {
            JobResult::Done => {
                self.done += 1;
                None
            }
            JobResult::Retry(_) => {
                self.retried += 1;
                Some(MayReturn::Retried)
            }
            JobResult::Dead(_) => {
                self.dead += 1;
                None
            }
            JobResult::Lost(_) => {
                self.lost += 1;
                Some(MayReturn::Lost)
            }
            JobResult::Released => {
                self.released += 1;
                None
            }
        };
        if let Some(why) = comes_back {
            self.may_return.insert(id.to_string(), why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_a_job_once_by_its_last_result() {
        let mut summary = Summary::default();
        summary.count("q_a", &JobResult::Retry("boom".into()));
        summary.count("q_b", &JobResult::Lost("gone".into()));
        summary.count("q_a", &JobResult::Retry("boom".into()));
        summary.count("q_a", &JobResult::Done);
        summary.count("q_b", &JobResult::Dead("boom".into()));
        summary.count("q_c", &JobResult::Retry("boom".into()));
        let counts = (summary.done, summary.retried, summary.dead, summary.lost);
        assert_eq!(counts, (1, 1, 1, 0));
        assert_eq!(summary.runs, 6);
        assert_eq!(summary.may_return.len(), 1, "only q_c may still come back");
    }
}

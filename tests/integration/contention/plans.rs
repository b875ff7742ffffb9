//! What an actor does next, drawn from its generator: the enqueue a producer makes, the
//! dequeue a worker asks for, and how the worker treats each job it claimed.

use crate::support::rng::Rng;

use super::{QUEUES, TIMEOUTS};

/// What a producer enqueues next.
pub struct EnqueueOrder {
    pub queue: &'static str,
    pub max_retries: u32,
    pub priority: i64,
    /// `--batch` of this many payloads, or one `--payload`.
    pub batch: Option<usize>,
}

impl EnqueueOrder {
    pub fn random(rng: &mut Rng) -> Self {
        EnqueueOrder {
            queue: rng.pick(&QUEUES),
            max_retries: rng.below(4) as u32,
            priority: rng.pick(&[-10, 0, 0, 10]),
            batch: rng.percent(30).then(|| 2 + rng.below(7) as usize),
        }
    }

    pub fn size(&self) -> usize {
        self.batch.unwrap_or(1)
    }
}

/// What a worker asks `dequeue` for next.
pub struct DequeueRequest {
    pub queue: &'static str,
    pub timeout: &'static str,
    pub count: Option<u32>,
    /// `--wait=1s`: block up to a second for a job.
    pub wait: bool,
}

impl DequeueRequest {
    pub fn random(rng: &mut Rng) -> Self {
        DequeueRequest {
            queue: rng.pick(&QUEUES),
            timeout: rng.pick(&TIMEOUTS),
            count: rng.percent(35).then(|| 2 + rng.below(4) as u32),
            wait: rng.percent(40),
        }
    }

    pub fn args(&self, worker: &str) -> Vec<String> {
        let mut args: Vec<String> = ["dequeue", self.queue, "--worker", worker]
            .into_iter()
            .chain(["--timeout", self.timeout])
            .map(String::from)
            .collect();
        if let Some(n) = self.count {
            args.extend(["--count".to_string(), n.to_string()]);
        }
        if self.wait {
            args.push("--wait=1s".to_string());
        }
        args
    }
}

/// How a worker treats one claimed job.
pub struct Plan {
    /// Sleep past the deadline first, as a hung worker would.
    pub stall: bool,
    pub action: Action,
}

pub enum Action {
    Complete,
    Fail { dead: bool },
    ExtendThenComplete,
}

impl Plan {
    pub fn random(rng: &mut Rng) -> Self {
        let action = match rng.below(100) {
            0..65 => Action::Complete,
            65..78 => Action::Fail { dead: false },
            78..84 => Action::Fail { dead: true },
            _ => Action::ExtendThenComplete,
        };
        Plan {
            stall: rng.percent(10),
            action,
        }
    }
}

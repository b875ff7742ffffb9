//! `GET /metrics` in Prometheus's text format: jobs by queue and status and the age of each
//! queue's oldest claimable job, read from the store at each scrape, and counters of what
//! this server did since it started (claims, completions, failures, expired claims it
//! released), by queue. A token sees only its own queues.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::job::{QueueCounts, Status};
use crate::time::Millis;

/// What this server counted, per queue.
#[derive(Default)]
pub struct Metrics {
    queues: Mutex<BTreeMap<String, Counters>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    claims: u64,
    completions: u64,
    failures: u64,
    expiries: u64,
}

impl Metrics {
    fn count(&self, queue: &str, add: impl FnOnce(&mut Counters)) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        match queues.get_mut(queue) {
            Some(counters) => add(counters),
            None => {
                let mut counters = Counters::default();
                add(&mut counters);
                queues.insert(queue.to_string(), counters);
            }
        }
    }

    pub fn claimed(&self, queue: &str, jobs: u64, expired: u64) {
        if jobs + expired > 0 {
            self.count(queue, |c| {
                c.claims += jobs;
                c.expiries += expired;
            });
        }
    }

    pub fn completed(&self, queue: &str) {
        self.count(queue, |c| c.completions += 1);
    }

    pub fn failed(&self, queue: &str) {
        self.count(queue, |c| c.failures += 1);
    }

    /// The text of a scrape: the store's figures and this server's counters, for the queues
    /// `visible` lets through.
    pub fn render(
        &self,
        queues: &[QueueCounts],
        oldest: &[(String, Millis)],
        waiting: &[(String, usize)],
        now: Millis,
        visible: impl Fn(&str) -> bool,
    ) -> String {
        let mut out = String::new();
        header(
            &mut out,
            "queueprim_jobs",
            "gauge",
            "Jobs stored, by queue and status.",
        );
        for q in queues.iter().filter(|q| visible(&q.queue)) {
            for status in Status::ALL {
                let n = match status {
                    Status::Pending => q.counts.pending,
                    Status::Claimed => q.counts.claimed,
                    Status::Done => q.counts.done,
                    Status::Dead => q.counts.dead,
                };
                let _ = writeln!(
                    out,
                    "queueprim_jobs{{queue=\"{}\",status=\"{}\"}} {n}",
                    q.queue,
                    status.as_str()
                );
            }
        }
        header(
            &mut out,
            "queueprim_oldest_pending_age_seconds",
            "gauge",
            "How long the queue's longest-waiting claimable job has been claimable.",
        );
        for (queue, since) in oldest.iter().filter(|(q, _)| visible(q)) {
            let age = (now - since).max(0) as f64 / 1000.0;
            let _ = writeln!(
                out,
                "queueprim_oldest_pending_age_seconds{{queue=\"{queue}\"}} {age}"
            );
        }
        header(
            &mut out,
            "queueprim_waiting_claims",
            "gauge",
            "Claims waiting for work on this server now.",
        );
        for (queue, n) in waiting.iter().filter(|(q, _)| visible(q)) {
            let _ = writeln!(out, "queueprim_waiting_claims{{queue=\"{queue}\"}} {n}");
        }
        let counters = self.queues.lock().map(|q| q.clone()).unwrap_or_default();
        let visible_counters: Vec<(&String, &Counters)> =
            counters.iter().filter(|(q, _)| visible(q)).collect();
        let series: [Series; 4] = [
            (
                "queueprim_claims_total",
                "Jobs claimed through this server.",
                |c| c.claims,
            ),
            (
                "queueprim_completions_total",
                "Jobs completed through this server.",
                |c| c.completions,
            ),
            (
                "queueprim_failures_total",
                "Failed attempts recorded through this server.",
                |c| c.failures,
            ),
            (
                "queueprim_expiries_total",
                "Expired claims this server released.",
                |c| c.expiries,
            ),
        ];
        for (name, help, value) in series {
            header(&mut out, name, "counter", help);
            for (queue, c) in &visible_counters {
                let _ = writeln!(out, "{name}{{queue=\"{queue}\"}} {}", value(c));
            }
        }
        out
    }
}

/// A counter's name, help and value.
type Series = (&'static str, &'static str, fn(&Counters) -> u64);

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

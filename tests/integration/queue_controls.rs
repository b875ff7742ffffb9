//! Retry control and queue control: backoff, `fail --retry-in`, `retry` of dead jobs,
//! `release`, `peek`, `pause`/`resume` and per-queue defaults with `config`.

use std::time::{Duration, Instant};

use crate::harness::{millis, Job, QueueCounts, QueueSettings, TestEnv};
use crate::support::process::{wait_until_catching, Reaped};
use crate::support::wait::{sleep_past_visible, GENEROUS};

/// User and system CPU ticks a process has used so far, from `/proc/PID/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// How far in the future a pending job becomes visible, in ms after its last update.
fn delay_of(job: &Job) -> i64 {
    millis(job.visible_after.as_deref().unwrap()) - millis(&job.updated_at)
}

#[test]
fn backoff_delays_each_retry_twice_as_long_up_to_the_cap() {
    let env = TestEnv::new();
    let job = env.enqueue(
        "q",
        "1",
        &[
            "--max-retries",
            "5",
            "--backoff",
            "200ms",
            "--backoff-max",
            "500ms",
        ],
    );
    assert_eq!((job.backoff_ms, job.backoff_max_ms), (Some(200), Some(500)));
    let mut delays = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let claimed = loop {
            let run = env.cmd(["dequeue", "q"]).expect_status(0);
            if !run.stdout.is_empty() {
                break run.json::<Job>();
            }
            assert!(start.elapsed() < GENEROUS, "the retry never became visible");
            std::thread::sleep(Duration::from_millis(20));
        };
        let failed: Job = env.json(&["fail", &claimed.id, "--reason", "again"]);
        assert_eq!(failed.status, "pending");
        delays.push(delay_of(&failed));
    }
    // 200, 400, then capped at 500; each within the ±10% jitter.
    for (delay, nominal) in delays.iter().zip([200, 400, 500]) {
        assert!(
            (nominal * 9 / 10..=nominal * 11 / 10).contains(delay),
            "{delays:?}"
        );
    }
}

#[test]
fn a_job_waiting_out_its_backoff_is_not_handed_out() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "1", "--backoff", "1h"]);
    env.dequeue("q", &[]);
    env.json::<Job>(&["fail", &job.id]);
    env.assert_empty("q");
}

#[test]
fn retry_in_sets_this_retrys_delay() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "2", "--backoff", "1h"]);
    env.dequeue("q", &[]);
    let failed: Job = env.json(&["fail", &job.id, "--retry-in", "0s"]);
    assert_eq!(delay_of(&failed), 0);
    assert_eq!(env.dequeue("q", &[]).id, job.id);
    let failed: Job = env.json(&["fail", &job.id, "--retry-in", "10m"]);
    assert_eq!(delay_of(&failed), 600_000);
    env.cmd(["fail", &job.id, "--retry-in", "1s", "--dead"])
        .expect_status(2);
}

#[test]
fn retry_brings_dead_jobs_back_with_a_fresh_budget_and_their_history() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &["--max-retries", "1"]);
    for _ in 0..2 {
        env.dequeue("q", &[]);
        env.json::<Job>(&["fail", &job.id, "--reason", "broken"]);
    }
    let replayed: Vec<Job> = env.json(&["retry", &job.id]);
    assert_eq!(replayed.len(), 1);
    let back = &replayed[0];
    assert_eq!((back.status.as_str(), back.attempt_count), ("pending", 0));
    assert_eq!(back.errors.len(), 2, "the error history stays");
    assert_eq!(env.dequeue("q", &[]).id, job.id);
    // Only dead or done jobs can be retried.
    env.cmd(["retry", &job.id]).expect_status(4);
    env.cmd(["retry", "q_0000000000"]).expect_status(3);
}

#[test]
fn retry_by_queue_replays_every_dead_job_of_that_queue_only() {
    let env = TestEnv::new();
    for queue in ["a", "a", "b"] {
        let job = env.enqueue(queue, "1", &[]);
        env.dequeue(queue, &[]);
        env.json::<Job>(&["fail", &job.id]);
    }
    let replayed: Vec<Job> = env.json(&["retry", "--queue", "a"]);
    assert_eq!(replayed.len(), 2);
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    assert_eq!((queues[0].pending, queues[0].dead), (2, 0));
    assert_eq!((queues[1].pending, queues[1].dead), (0, 1));
    env.cmd(["retry"]).expect_status(2);
}

#[test]
fn release_gives_a_claim_back_without_counting_an_attempt() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    let claimed = env.dequeue("q", &[]);
    env.cmd(["release", &job.id, "--claim", "c_000000000000"])
        .expect_status(4);
    let released: Job = env.json(&[
        "release",
        &job.id,
        "--claim",
        claimed.claim.as_deref().unwrap(),
    ]);
    assert_eq!(
        (released.status.as_str(), released.attempt_count),
        ("pending", 0)
    );
    assert_eq!(env.dequeue("q", &[]).id, job.id);
    env.json::<Job>(&["complete", &job.id]);
    env.cmd(["release", &job.id]).expect_status(4);
}

#[test]
fn peek_shows_the_next_jobs_in_dequeue_order_without_claiming() {
    let env = TestEnv::new();
    env.enqueue("q", r#""low""#, &["--priority", "low"]);
    env.enqueue("q", r#""high""#, &["--priority", "high"]);
    env.enqueue("q", r#""later""#, &["--delay", "1h"]);
    env.enqueue("q", r#""normal""#, &[]);
    let peeked: Vec<Job> = env.json(&["peek", "q", "--limit", "2"]);
    let order: Vec<String> = peeked.iter().map(|j| j.payload.to_string()).collect();
    assert_eq!(order, [r#""high""#, r#""normal""#]);
    assert!(peeked
        .iter()
        .all(|j| j.status == "pending" && j.claim.is_none()));
    assert_eq!(env.dequeue("q", &[]).payload, serde_json::json!("high"));
}

#[test]
fn a_paused_queue_takes_jobs_and_hands_out_none_until_resumed() {
    let env = TestEnv::new();
    let paused: QueueSettings = env.json(&["pause", "q"]);
    assert!(paused.paused);
    let job = env.enqueue("q", "1", &[]);
    env.assert_empty("q");
    env.enqueue("other", "1", &[]);
    env.dequeue("other", &[]);
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    let q = queues.iter().find(|q| q.queue == "q").unwrap();
    assert!(q.paused);
    // A waiting worker keeps waiting and gets the job once the queue is resumed.
    let mut waiter = Reaped::new(env.cmd(["dequeue", "q", "--wait"]).spawn());
    wait_until_catching(waiter.child(), &[libc::SIGTERM]);
    let resumed: QueueSettings = env.json(&["resume", "q"]);
    assert!(!resumed.paused);
    let out = waiter.finish(GENEROUS, "the waiter on a resumed queue");
    assert_eq!(out.code, Some(0), "{out:?}");
    let got: Job = serde_json::from_str(&out.stdout).expect("the waiter got the job");
    assert_eq!(got.id, job.id);
}

#[test]
fn config_sets_defaults_for_new_jobs_and_claims() {
    let env = TestEnv::new();
    let none: QueueSettings = env.json(&["config", "q"]);
    assert_eq!(
        (none.timeout_ms, none.max_retries, none.backoff_ms),
        (None, None, None)
    );
    let set: QueueSettings = env.json(&[
        "config",
        "q",
        "--timeout",
        "5m",
        "--max-retries",
        "3",
        "--backoff",
        "30s",
    ]);
    assert_eq!(
        (set.timeout_ms, set.max_retries, set.backoff_ms),
        (Some(300_000), Some(3), Some(30_000))
    );
    let job = env.enqueue("q", "1", &[]);
    assert_eq!((job.max_retries, job.backoff_ms), (3, Some(30_000)));
    let own = env.enqueue("q", "2", &["--max-retries", "0"]);
    assert_eq!(own.max_retries, 0, "a job's own setting wins");
    let claimed = env.dequeue("q", &[]);
    let lease = millis(claimed.visible_after.as_deref().unwrap()) - millis(&claimed.updated_at);
    assert_eq!(lease, 300_000);
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    assert_eq!(queues[0].max_retries, Some(3));
    let reset: QueueSettings = env.json(&["config", "q", "--reset"]);
    assert_eq!(
        (reset.timeout_ms, reset.max_retries, reset.backoff_ms),
        (None, None, None)
    );
}

#[test]
fn a_waiter_on_a_paused_queue_sleeps_even_with_work_due() {
    let env = TestEnv::new();
    let delayed = env.enqueue("q", "1", &["--delay", "100ms"]);
    env.json::<QueueSettings>(&["pause", "q"]);
    sleep_past_visible(&delayed);
    let mut waiter = Reaped::new(env.cmd(["dequeue", "q", "--wait"]).spawn());
    // Counted from when it is waiting, so a slow start cannot hide a spin.
    wait_until_catching(waiter.child(), &[libc::SIGTERM]);
    let before = cpu_ticks(waiter.child().id());
    std::thread::sleep(Duration::from_millis(1500));
    let ticks = cpu_ticks(waiter.child().id()) - before;
    assert!(
        waiter.child().try_wait().unwrap().is_none(),
        "a waiter on a paused queue stopped waiting"
    );
    // A spinning waiter burns about 100 ticks a second, all it can get.
    assert!(
        ticks < 30,
        "a waiter on a paused queue used {ticks} CPU ticks in 1.5 s"
    );
}

#[test]
fn retry_keeps_a_groups_order_whatever_order_the_ids_are_given() {
    let env = TestEnv::new();
    let a = env.enqueue("q", r#""a""#, &["--group", "g"]);
    let b = env.enqueue("q", r#""b""#, &["--group", "g"]);
    for job in [&a, &b] {
        assert_eq!(env.dequeue("q", &[]).id, job.id);
        env.json::<Job>(&["fail", &job.id]);
    }
    env.json::<Vec<Job>>(&["retry", &b.id, &a.id]);
    assert_eq!(env.dequeue("q", &[]).id, a.id);
}

#[test]
fn retry_by_queue_brings_back_one_job_per_dedup_key() {
    let env = TestEnv::new();
    for _ in 0..2 {
        let job = env.enqueue("q", "1", &["--key", "k"]);
        env.dequeue("q", &[]);
        env.json::<Job>(&["fail", &job.id]);
    }
    // A script hears of the job left behind, not only a person at a terminal.
    let run = env
        .cmd(["--format", "json", "retry", "--queue", "q"])
        .expect_status(0)
        .expect_stderr_contains("note: 1 job left as it is: its dedup key is taken");
    let replayed: Vec<Job> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(replayed.len(), 1);
    let queues: Vec<QueueCounts> = env.json(&["queues"]);
    assert_eq!((queues[0].pending, queues[0].dead), (1, 1));
}

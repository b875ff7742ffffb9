//! The sweep daemon killed and restarted while claims expire.

use std::thread::sleep;
use std::time::Instant;

use crate::harness::{Job, Sweep, TestEnv};
use crate::support::integrity::assert_intact;
use crate::support::process::{ended, send_signal, Ended};
use crate::support::rng::Rng;
use crate::support::wait::sleep_past;

use super::{deadline, expiry_reason, get, list, ms};

/// Parses the JSON lines a killed sweep daemon printed, ignoring a last line it may have been
/// killed in the middle of.
fn sweep_reports(stdout: &[u8]) -> Vec<Sweep> {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<Sweep>()
        .map_while(Result::ok)
        .collect()
}

/// Claims `count` jobs of `queue` for `timeout`.
fn claim_for(env: &TestEnv, queue: &str, count: usize, timeout: &str) -> Vec<Job> {
    let count = count.to_string();
    env.json(&[
        "dequeue",
        queue,
        "--count",
        &count,
        "--worker",
        "gone",
        "--timeout",
        timeout,
    ])
}

#[test]
fn a_sweep_daemon_killed_and_restarted_releases_every_expired_claim_exactly_once() {
    const PER_QUEUE: usize = 12;
    let mut rng = Rng::for_test("sweep_daemon_killed_and_restarted");
    let env = TestEnv::new();
    // Two queues, so each release is checked under both outcomes of the retry rule.
    for (queue, retries) in [("retry", "2"), ("last", "0")] {
        let input: String = (0..PER_QUEUE).map(|n| format!("{n}\n")).collect();
        env.cmd(["enqueue", queue, "--batch", "--max-retries", retries])
            .stdin(input)
            .expect_status(0);
    }
    // Claims whose deadlines fall all through the kill-and-restart loop below.
    let mut claimed = Vec::new();
    for timeout in ["1s", "1400ms", "1800ms", "2200ms"] {
        for queue in ["retry", "last"] {
            claimed.extend(claim_for(&env, queue, PER_QUEUE / 4, timeout));
        }
    }
    assert_eq!(claimed.len(), 2 * PER_QUEUE);
    let latest = claimed.iter().map(deadline).max().unwrap().to_string();

    let (mut reports, mut restarts) = (Vec::new(), 0);
    // Kill and restart until a little past the last deadline, 2.2 s from the claims.
    let stop_killing = Instant::now() + ms(2200 + 300);
    while Instant::now() < stop_killing {
        let mut daemon = env.cmd(["sweep", "--interval", "100ms"]).spawn();
        sleep(rng.between(ms(20), ms(350)));
        daemon.kill().expect("SIGKILL the sweep daemon");
        let output = daemon.wait_with_output().expect("reap the sweep daemon");
        assert_eq!(ended(output.status), Ended::Killed);
        reports.extend(sweep_reports(&output.stdout));
        restarts += 1;
    }
    // A last daemon, past every deadline, stopped the polite way.
    sleep_past(&latest);
    let daemon = env.cmd(["sweep", "--interval", "100ms"]).spawn();
    sleep(ms(400));
    send_signal(&daemon, libc::SIGTERM);
    let output = daemon.wait_with_output().expect("reap the sweep daemon");
    assert_eq!(
        ended(output.status),
        Ended::Exited(0),
        "SIGTERM stops sweep"
    );
    reports.extend(sweep_reports(&output.stdout));

    // Read with `get`, which releases nothing: what the daemons did is what is stored.
    for job in &claimed {
        let now = get(&env, &job.id);
        let expected_status = if job.queue == "retry" {
            "pending"
        } else {
            "dead"
        };
        assert_eq!(now.status, expected_status, "{now:?}");
        assert_eq!(now.attempt_count, 1, "released exactly once: {now:?}");
        assert_eq!(now.errors.len(), 1, "{now:?}");
        assert_eq!(
            now.errors[0].reason,
            expiry_reason(deadline(job)),
            "{now:?}"
        );
    }
    let unclaimed: Vec<Job> = list(&env, "retry", Some("pending"));
    assert_eq!(unclaimed.len(), PER_QUEUE, "no job lost or doubled");
    let (retried, dead): (u64, u64) = reports
        .iter()
        .fold((0, 0), |(r, d), s| (r + s.retried, d + s.dead));
    // A daemon killed between its commit and its print under-reports; none may over-report.
    assert!(
        retried <= PER_QUEUE as u64 && dead <= PER_QUEUE as u64,
        "{reports:?}"
    );
    assert_intact(&env);
    println!(
        "sweep: {restarts} daemons killed, {} passes reported releasing {retried} retried and \
         {dead} dead of {PER_QUEUE} + {PER_QUEUE}",
        reports.len()
    );
}

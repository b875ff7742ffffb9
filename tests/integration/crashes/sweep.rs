//! The sweep daemon killed and restarted while claims expire.

use std::thread::sleep;

use crate::harness::{millis, Counts, Job, Sweep, TestEnv};
use crate::support::integrity::assert_intact;
use crate::support::process::{ended, send_signal, wait_until_catching, Ended, Reaped};
use crate::support::rng::Rng;
use crate::support::wait::{eventually, now_ms, GENEROUS};

use super::{deadline, expiry_reason, get, ms};

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

/// Claim timeouts whose deadlines fall all through the kill-and-restart loop.
const TIMEOUTS: [&str; 4] = ["1s", "1400ms", "1800ms", "2200ms"];

/// Jobs claimed per queue.
const PER_QUEUE: usize = 3;

/// Each set of claims gets queues of its own, one where the job retries and one where it
/// dies, so each release is checked under both outcomes of the retry rule. No command but
/// `sweep` ever touches a queue after its one claim: a `dequeue` releases the expired claims
/// of its queue, and on a slow machine a later claim on the same queue would release (and
/// take again) claims that had already expired. Here only the daemons release anything, and
/// however slow the machine, each claim can be released only once.
fn claim_everything(env: &TestEnv) -> Vec<Job> {
    let mut claimed = Vec::new();
    for timeout in TIMEOUTS {
        for (kind, retries) in [("retry", "2"), ("last", "0")] {
            let queue = format!("{kind}/{timeout}");
            let input: String = (0..PER_QUEUE).map(|n| format!("{n}\n")).collect();
            env.cmd(["enqueue", &queue, "--batch", "--max-retries", retries])
                .stdin(input)
                .expect_status(0);
            claimed.extend(claim_for(env, &queue, PER_QUEUE, timeout));
        }
    }
    claimed
}

#[test]
fn a_sweep_daemon_killed_and_restarted_releases_every_expired_claim_exactly_once() {
    let jobs = PER_QUEUE * TIMEOUTS.len();
    let mut rng = Rng::for_test("sweep_daemon_killed_and_restarted");
    let env = TestEnv::new();
    let claimed = claim_everything(&env);
    assert_eq!(claimed.len(), 2 * jobs);
    let latest = claimed.iter().map(|j| millis(deadline(j))).max().unwrap();

    let (mut reports, mut restarts) = (Vec::new(), 0);
    // Kill and restart until a little past the last deadline, as queueprim set it.
    while now_ms() < latest + 300 {
        let mut daemon = env.cmd(["sweep", "--interval", "100ms"]).spawn();
        sleep(rng.between(ms(20), ms(350)));
        daemon.kill().expect("SIGKILL the sweep daemon");
        let output = daemon.wait_with_output().expect("reap the sweep daemon");
        assert_eq!(ended(output.status), Ended::Killed);
        reports.extend(sweep_reports(&output.stdout));
        restarts += 1;
    }
    // A last daemon, started past every deadline, releases whatever is left; once nothing
    // is claimed any more it is stopped the polite way. (`stats` only reads.)
    let mut daemon = Reaped::new(env.cmd(["sweep", "--interval", "100ms"]).spawn());
    wait_until_catching(daemon.child(), &[libc::SIGTERM]);
    eventually(GENEROUS, "the last daemon to release every claim", || {
        env.json::<Counts>(&["stats"]).claimed == 0
    });
    send_signal(daemon.child(), libc::SIGTERM);
    let last = daemon.finish(GENEROUS, "sweep after SIGTERM");
    assert_eq!(last.code, Some(0), "SIGTERM stops sweep: {last:?}");
    reports.extend(sweep_reports(last.stdout.as_bytes()));

    // Read with `get`, which releases nothing: what the daemons did is what is stored, and
    // each job's history says how often its claim was released.
    for job in &claimed {
        let now = get(&env, &job.id);
        let expected_status = if job.queue.starts_with("retry/") {
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
    let counts: Counts = env.json(&["stats"]);
    assert_eq!(
        (counts.pending, counts.claimed, counts.dead, counts.total),
        (jobs as u64, 0, jobs as u64, 2 * jobs as u64),
        "no job lost or doubled"
    );
    let (retried, dead): (u64, u64) = reports
        .iter()
        .fold((0, 0), |(r, d), s| (r + s.retried, d + s.dead));
    // A daemon killed between its commit and its print under-reports; none may over-report.
    assert!(retried <= jobs as u64 && dead <= jobs as u64, "{reports:?}");
    assert_intact(&env);
    println!(
        "sweep: {restarts} daemons killed, {} passes reported releasing {retried} retried and \
         {dead} dead of {jobs} + {jobs}",
        reports.len()
    );
}

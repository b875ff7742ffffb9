//! `complete --enqueue`: the completion and its follow-up jobs commit together or not at all,
//! even when the process is killed in the middle.

use std::time::Duration;

use crate::harness::{Counts, Job, TestEnv};
use crate::support::integrity::assert_integrity;

#[test]
fn follow_ups_are_enqueued_with_the_completion() {
    let env = TestEnv::new();
    let job = env.enqueue("stage/1", r#"{"doc":7}"#, &[]);
    env.dequeue("stage/1", &[]);
    let done: Job = env.json(&[
        "complete",
        &job.id,
        "--enqueue",
        r#"stage/2={"doc": 7, "step": "embed"}"#,
        "--enqueue",
        "notify=\"doc 7 ready\"",
    ]);
    assert_eq!(done.status, "done");
    let next = env.dequeue("stage/2", &[]);
    assert_eq!(next.payload, serde_json::json!({"doc": 7, "step": "embed"}));
    assert_eq!(
        env.dequeue("notify", &[]).payload,
        serde_json::json!("doc 7 ready")
    );
}

#[test]
fn a_bad_follow_up_is_refused_and_the_job_stays_claimed() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    env.dequeue("q", &[]);
    for bad in ["next={oops", "no-equals-sign", "bad queue={}"] {
        env.cmd(["complete", &job.id, "--enqueue", "ok={}", "--enqueue", bad])
            .expect_status(2);
    }
    let still: Job = env.json(&["get", &job.id]);
    assert_eq!(still.status, "claimed");
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.total, 1, "no follow-up was written");
}

#[test]
fn a_refused_completion_writes_no_follow_up() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    env.cmd(["complete", &job.id, "--enqueue", "next={}"])
        .expect_status(4);
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.total, 1);
}

#[test]
fn killed_mid_completion_it_is_all_or_nothing() {
    let env = TestEnv::new();
    let mut outcomes = (0, 0);
    for round in 0..12u64 {
        let job = env.enqueue("q", &round.to_string(), &[]);
        env.dequeue("q", &[]);
        // Many follow-ups make the transaction long enough to be killed inside it.
        let follow_ups: Vec<String> = (0..3000)
            .map(|n| format!("next/{round}={{\"n\":{n}}}"))
            .collect();
        let mut args = vec!["complete".to_string(), job.id.clone()];
        for f in &follow_ups {
            args.extend(["--enqueue".to_string(), f.clone()]);
        }
        let mut child = env.cmd(&args).spawn();
        std::thread::sleep(Duration::from_millis(5 + round * 7));
        let _ = child.kill();
        let _ = child.wait();
        let state: Job = env.json(&["get", &job.id]);
        let queue = format!("next/{round}");
        let added = env
            .json::<Vec<Job>>(&["list", &queue, "--limit", "0"])
            .len();
        match state.status.as_str() {
            "done" => {
                assert_eq!(added, 3000, "round {round}: done, but not every follow-up");
                outcomes.0 += 1;
            }
            "claimed" => {
                assert_eq!(
                    added, 0,
                    "round {round}: not done, yet follow-ups were written"
                );
                outcomes.1 += 1;
                env.json::<Job>(&["complete", &job.id]);
            }
            other => panic!("round {round}: unexpected status {other}"),
        }
    }
    assert!(
        outcomes.1 > 0,
        "no kill landed before the commit: {outcomes:?}"
    );
    assert_integrity(&env.db());
}

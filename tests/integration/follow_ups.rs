//! `complete --enqueue` and `--follow-up`: the completion and its follow-up jobs commit
//! together or not at all, even when the process is killed in the middle; the output names
//! them; a follow-up can carry every option of `enqueue`.

use std::time::Duration;

use crate::harness::{Counts, FollowUp, Job, TestEnv};
use crate::support::integrity::assert_intact;

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
    assert_intact(&env);
}

#[test]
fn complete_prints_the_follow_ups_it_enqueued() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    let claim = env.dequeue("q", &[]).claim.unwrap();
    let kept = env.enqueue("audit", "0", &["--key", "k"]);
    let follow_up = r#"{"queue":"audit","payload":2,"key":"k"}"#;
    let done: Job = env.json(&[
        "complete",
        &job.id,
        "--claim",
        &claim,
        "--enqueue",
        "next=1",
        "--follow-up",
        follow_up,
    ]);
    let follow_ups = done.follow_ups.unwrap();
    assert_eq!(follow_ups.len(), 2);
    let next = env.dequeue("next", &[]);
    assert_eq!(
        follow_ups[0],
        FollowUp {
            id: next.id,
            queue: "next".into(),
            deduplicated: false
        }
    );
    assert_eq!(
        follow_ups[1],
        FollowUp {
            id: kept.id,
            queue: "audit".into(),
            deduplicated: true
        }
    );

    let plain = env.enqueue("q", "2", &[]);
    env.dequeue("q", &[]);
    let done: Job = env.json(&["complete", &plain.id]);
    assert_eq!(
        done.follow_ups,
        Some(vec![]),
        "always there, empty when none"
    );
}

#[test]
fn a_follow_up_carries_enqueue_s_options() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    env.dequeue("q", &[]);
    let object = r#"{"queue":"mail","payload":{"to":"a"},"priority":"high","type":"send",
        "group":"g","key":"k1","delay":"1h","max_retries":3,"backoff":"30s","backoff_max":"5m"}"#;
    let done: Job = env.json(&["complete", &job.id, "--follow-up", object]);
    let id = &done.follow_ups.unwrap()[0].id;
    let made: Job = env.json(&["get", id]);
    assert_eq!(made.payload, serde_json::json!({"to": "a"}));
    assert_eq!((made.priority, made.max_retries), (10, 3));
    assert_eq!(made.job_type.as_deref(), Some("send"));
    assert_eq!(
        (made.group.as_deref(), made.key.as_deref()),
        (Some("g"), Some("k1"))
    );
    assert_eq!(
        (made.backoff_ms, made.backoff_max_ms),
        (Some(30_000), Some(300_000))
    );
    assert!(made.run_after.unwrap() > made.created_at, "delayed an hour");
}

#[test]
fn many_follow_ups_come_from_a_file_or_stdin() {
    let env = TestEnv::new();
    let lines: String = (0..50)
        .map(|n| format!("{{\"queue\":\"fan\",\"payload\":{{\"n\":{n}}}}}\n"))
        .collect();
    let file = env.dir().join("follow-ups.jsonl");
    std::fs::write(&file, &lines).unwrap();
    let from_file = format!("@{}", file.display());
    for source in [from_file.as_str(), "-"] {
        let job = env.enqueue("q", "1", &[]);
        env.dequeue("q", &[]);
        let done: Job = env
            .cmd(["complete", &job.id, "--follow-up", source])
            .stdin(lines.clone())
            .expect_status(0)
            .json();
        assert_eq!(done.follow_ups.unwrap().len(), 50, "{source}");
    }
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.pending, 100);
}

#[test]
fn a_bad_follow_up_object_is_refused_naming_it_and_nothing_is_written() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    env.dequeue("q", &[]);
    let good = r#"{"queue":"a","payload":1}"#;
    for (bad, says) in [
        (
            r#"{"queue":"a","payload":1,"prio":1}"#,
            "unknown field `prio`",
        ),
        (r#"{"queue":"a","payload":1,"delay":"soon"}"#, "\"delay\""),
        (r#"{"queue":"a"}"#, "missing field `payload`"),
        (
            r#"{"queue":"a","payload":1,"priority":"urgent"}"#,
            "\"priority\"",
        ),
    ] {
        let objects = format!("{good}\n{bad}");
        env.cmd(["complete", &job.id, "--follow-up", &objects])
            .expect_status(2)
            .expect_stderr_contains("object 2")
            .expect_stderr_contains(says);
    }
    env.cmd(["complete", &job.id, "--output", "-", "--follow-up", "-"])
        .expect_status(2)
        .expect_stderr_contains("only one of --output and --follow-up");
    let still: Job = env.json(&["get", &job.id]);
    assert_eq!(still.status, "claimed");
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.total, 1);
}

//! Payloads, batch lines, outputs and reasons at and over their limits.

use std::fs;
use std::process::Command;

use serde_json::Value;

use crate::harness::{Counts, Job, TestEnv, BIN};

use super::{
    assert_jobs_intact, assert_one_error_line, claimed_job, snapshot, string_payload, MIB,
};

/// A JSON string of exactly `bytes` bytes once compact, with spaces around it that do not
/// count.
fn padded_string_of(bytes: usize) -> String {
    format!("  {}  ", string_payload(bytes, 'x'))
}

#[test]
fn a_batch_line_of_exactly_one_mib_is_enqueued_and_one_byte_more_is_refused_by_line() {
    let env = TestEnv::new();
    let at_limit = format!("1\n{}\n3\n", padded_string_of(MIB));
    let jobs: Vec<Job> = env
        .cmd(["enqueue", "big", "--batch"])
        .stdin(at_limit)
        .expect_status(0)
        .json();
    assert_eq!(jobs.len(), 3);
    let stored = serde_json::to_string(&snapshot(&env, &jobs[1].id)["payload"]).unwrap();
    assert_eq!(stored.len(), MIB);

    let over = format!("1\n\n{}\n4\n", padded_string_of(MIB + 1));
    for env in [&env, &TestEnv::new()] {
        let existed = env.db().exists();
        let run = env
            .cmd(["enqueue", "big", "--batch"])
            .stdin(over.clone())
            .run();
        assert_one_error_line(&run, 2);
        for needle in ["line 3", "1048577", "nothing was enqueued"] {
            assert!(
                run.stderr.contains(needle),
                "should say {needle:?}: {}",
                run.stderr
            );
        }
        assert_eq!(
            env.db().exists(),
            existed,
            "a refused batch created the database"
        );
    }
    assert_eq!(env.json::<Counts>(&["stats"]).total, 3);
}

#[test]
fn complete_output_of_exactly_one_mib_is_stored_and_one_byte_more_is_refused() {
    let env = TestEnv::new();
    let (job, claim) = claimed_job(&env, "work");
    let claimed = snapshot(&env, &job.id);
    let over = env.dir().join("over.json");
    fs::write(&over, padded_string_of(MIB + 1)).unwrap();
    let run = env
        .cmd([
            "complete",
            &job.id,
            "--claim",
            &claim,
            "--output",
            &format!("@{}", over.display()),
        ])
        .run();
    assert_one_error_line(&run, 2);
    for needle in ["--output", "1048577", "1 MiB"] {
        assert!(
            run.stderr.contains(needle),
            "should say {needle:?}: {}",
            run.stderr
        );
    }
    assert_jobs_intact(&env, &[claimed]);

    let at_limit = padded_string_of(MIB);
    let done = env
        .cmd(["complete", &job.id, "--claim", &claim, "--output", "-"])
        .stdin(at_limit.clone())
        .expect_status(0)
        .json::<Job>();
    assert_eq!(done.status, "done");
    let stored = snapshot(&env, &job.id)["output"].clone();
    assert_eq!(stored, serde_json::from_str::<Value>(&at_limit).unwrap());
}

/// Linux refuses one command-line argument over 128 KiB (MAX_ARG_STRLEN), terminating NUL
/// included: the largest `--enqueue QUEUE=JSON` that can be passed at all.
const MAX_ARGUMENT_BYTES: usize = 128 * 1024 - 1;

#[test]
fn a_follow_up_payload_as_long_as_an_argument_can_be_is_enqueued_whole() {
    // `--enqueue` takes its JSON inline only (no @FILE or -), so the kernel's limit on one
    // argument is reached long before the 1 MiB payload limit: the over-limit refusal
    // cannot be reached from a command line, and the largest possible follow-up must fit.
    let env = TestEnv::new();
    let (job, claim) = claimed_job(&env, "work");
    let prefix = "next=";
    let payload = string_payload(MAX_ARGUMENT_BYTES - prefix.len(), 'y');
    let done: Job = env
        .cmd([
            "complete",
            &job.id,
            "--claim",
            &claim,
            "--enqueue",
            &format!("{prefix}{payload}"),
        ])
        .expect_status(0)
        .json();
    assert_eq!(done.status, "done");
    let follow_up = env.dequeue("next", &[]);
    assert_eq!(
        follow_up.payload,
        serde_json::from_str::<Value>(&payload).unwrap()
    );

    let too_long = format!(
        "{prefix}{}",
        string_payload(MAX_ARGUMENT_BYTES + 1 - prefix.len(), 'y')
    );
    let spawned = Command::new(BIN)
        .args(["complete", "q_0000000000", "--enqueue", &too_long])
        .output();
    assert_eq!(
        spawned.err().and_then(|e| e.raw_os_error()),
        Some(libc::E2BIG),
        "one byte more is refused by the kernel, not by queueprim"
    );
}

#[test]
fn failure_reasons_are_kept_up_to_4096_characters_and_cut_with_a_mark_beyond() {
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "work");
    // Characters, not bytes: é is two bytes.
    let exact = "é".repeat(4096);
    let longer = "é".repeat(4097);
    let huge: String = (0..100_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for reason in [&exact, &longer, &huge] {
        env.cmd(["fail", &job.id, "--reason", reason])
            .expect_status(0);
        env.dequeue("work", &[]);
    }
    let errors = env.json::<Job>(&["get", &job.id]).errors;
    assert_eq!(errors.len(), 3);
    assert_eq!(
        errors[0].reason, exact,
        "exactly 4096 characters are kept whole"
    );
    for (stored, given) in [(&errors[1].reason, &longer), (&errors[2].reason, &huge)] {
        let kept: String = given.chars().take(4096).collect();
        assert!(
            stored.starts_with(&kept),
            "the first 4096 characters are kept"
        );
        let mark = &stored[kept.len()..];
        assert!(
            !mark.is_empty() && mark.chars().count() <= 16,
            "the cut is marked, briefly: {mark:?}"
        );
    }
}

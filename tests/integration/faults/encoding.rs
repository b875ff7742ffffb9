//! Invalid UTF-8 and control characters in names, keys, workers, tokens, payloads, outputs
//! and failure reasons.

use std::ffi::OsString;
use std::fs;

use serde_json::Value;

use crate::harness::{Counts, Job, TestEnv};

use super::{
    assert_jobs_intact, assert_no_problems, assert_one_error_line, claimed_job, described,
    error_line_problem, raw, snapshot,
};

/// What is wrong with how `args` was refused on a database holding `jobs`, if anything:
/// it must exit 2 naming `flag`, and change nothing.
fn refusal_problem(env: &TestEnv, jobs: &[Value], args: &[OsString], flag: &str) -> Option<String> {
    let counts: Counts = env.json(&["stats"]);
    let run = env.cmd(args).run();
    let problem = error_line_problem(&run, 2).or_else(|| {
        (!run.stderr.contains(flag)).then(|| format!("the error does not name {flag}"))
    });
    // A change is a fault whatever the message: check it at once.
    assert_eq!(
        env.json::<Counts>(&["stats"]),
        counts,
        "after queueprim {}",
        run.args
    );
    assert_jobs_intact(env, jobs);
    problem.map(|p| described(&p, &run))
}

/// A command line from bytes split at spaces, so values can hold any other byte.
fn words(line: &[u8]) -> Vec<OsString> {
    line.split(|b| *b == b' ').map(raw).collect()
}

#[test]
fn names_keys_and_workers_with_invalid_utf8_or_control_characters_are_refused_changing_nothing() {
    let env = TestEnv::new();
    let (claimed, _) = claimed_job(&env, "work");
    let pending = env.enqueue("work", "1", &["--group", "g", "--key", "k"]);
    let jobs = [snapshot(&env, &claimed.id), snapshot(&env, &pending.id)];
    let on_claimed = |command: &[u8], rest: &[u8]| {
        words(&[command, b" ", claimed.id.as_bytes(), b" ", rest].concat())
    };

    let cases: Vec<(Vec<OsString>, &str)> = vec![
        (words(b"enqueue w\xffrk --payload 1"), "[QUEUE]"),
        (words(b"enqueue --queue work\x1b[2J --payload 1"), "--queue"),
        (words(b"enqueue work --payload 1 --type t\xff"), "--type"),
        (words(b"enqueue work --payload 1 --group g\x07"), "--group"),
        (words(b"enqueue work --payload 1 --group g\xc3"), "--group"),
        (words(b"enqueue work --payload 1 --key k\n2"), "--key"),
        (words(b"enqueue work --payload 1 --key k\xe9"), "--key"),
        (words(b"enqueue work --payload \"caf\xe9\""), "--payload"),
        (
            words(b"dequeue work --worker w\x1b]0;owned\x07"),
            "--worker",
        ),
        (words(b"dequeue work --worker w\xff"), "--worker"),
        (words(b"dequeue work --type t\xc2\x9b2J"), "--type"),
        (
            on_claimed(b"complete", b"--enqueue next\x01=1"),
            "--enqueue",
        ),
        (on_claimed(b"complete", b"--enqueue n\xffxt=1"), "--enqueue"),
        (
            on_claimed(b"complete", b"--enqueue next=\"\xff\""),
            "--enqueue",
        ),
        (on_claimed(b"complete", b"--output \"caf\xe9\""), "--output"),
        (on_claimed(b"complete", b"--claim c_\xff"), "--claim"),
        (on_claimed(b"fail", b"--claim c_1\x1b"), "--claim"),
    ];
    let problems: Vec<String> = cases
        .iter()
        .filter_map(|(args, flag)| refusal_problem(&env, &jobs, args, flag))
        .collect();
    assert_no_problems(&problems, cases.len());
}

/// A JSON document with a Latin-1 `é`: not UTF-8.
const LATIN1_JSON: &[u8] = b"{\"to\":\"caf\xe9\"}";

#[test]
fn json_files_and_stdin_with_invalid_utf8_are_refused_naming_the_source_and_write_nothing() {
    let env = TestEnv::new();
    let (claimed, _) = claimed_job(&env, "work");
    let jobs = [snapshot(&env, &claimed.id)];
    let file = env.dir().join("latin1.json");
    fs::write(&file, LATIN1_JSON).unwrap();
    let at_file = format!("@{}", file.display());

    for (args, stdin, needles) in [
        (
            vec!["enqueue", "work", "--payload", &at_file],
            &b""[..],
            vec!["--payload", file.to_str().unwrap(), "UTF-8"],
        ),
        (
            vec!["enqueue", "work", "--payload", "-"],
            LATIN1_JSON,
            vec!["--payload", "stdin", "UTF-8"],
        ),
        (
            vec!["complete", &claimed.id, "--output", &at_file],
            b"",
            vec!["--output", file.to_str().unwrap(), "UTF-8"],
        ),
        (
            vec!["complete", &claimed.id, "--output", "-"],
            LATIN1_JSON,
            vec!["--output", "stdin", "UTF-8"],
        ),
        // JSON strings may not hold raw control characters; the line is named, not echoed.
        (
            vec!["enqueue", "work", "--batch"],
            b"1\n\"bell\x07\"\n",
            vec!["--batch line 2", "nothing was enqueued"],
        ),
        (
            vec!["enqueue", "work", "--batch"],
            b"1\n2\n\r\n{\"to\":\"caf\xe9\"}\n",
            vec!["--batch line 4", "UTF-8"],
        ),
    ] {
        let counts: Counts = env.json(&["stats"]);
        let run = env.cmd(&args).stdin(stdin.to_vec()).run();
        assert_one_error_line(&run, 2);
        for needle in needles {
            assert!(
                run.stderr.contains(needle),
                "{args:?} should say {needle:?}: {}",
                run.stderr
            );
        }
        assert_eq!(env.json::<Counts>(&["stats"]), counts, "after {args:?}");
        assert_jobs_intact(&env, &jobs);

        // On a missing database the same refusal creates nothing.
        let fresh = TestEnv::new();
        let run = fresh.cmd(&args).stdin(stdin.to_vec()).run();
        assert_eq!(
            run.code,
            Some(2),
            "{args:?} on a missing database: {}",
            run.stderr
        );
        assert!(!fresh.db().exists(), "{args:?} created the database");
    }
}

#[test]
fn a_failure_reason_keeps_control_characters_exactly_in_json_and_on_one_table_row() {
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "work");
    let reason = "line one\nline two\ttab \u{1b}[31mred\u{1b}[0m \u{7}bell \u{9b}csi \u{7f}del";
    let failed: Job = env.json(&["fail", &job.id, "--reason", reason]);
    assert_eq!(
        failed.errors.last().map(|e| e.reason.as_str()),
        Some(reason)
    );

    let jsonl = env
        .cmd(["get", &job.id, "--format", "jsonl"])
        .expect_status(0);
    let parsed: Job = serde_json::from_str(jsonl.stdout.trim_end()).expect("one JSON line");
    assert_eq!(parsed.errors[0].reason, reason);
    assert_eq!(jsonl.stdout.lines().count(), 1);

    let table = env
        .cmd(["get", &job.id, "--format", "table"])
        .expect_status(0);
    let row = table
        .stdout
        .lines()
        .find(|line| line.contains("line one"))
        .unwrap_or_else(|| panic!("no error row in:\n{}", table.stdout));
    assert!(
        row.contains("line two") && row.contains("del"),
        "the whole reason is on one row, its newline escaped: {row:?}"
    );
    assert!(
        !row.chars().any(char::is_control),
        "raw control characters in {row:?}"
    );
}

#[test]
fn a_failure_reason_with_invalid_utf8_is_recorded_with_replacement_characters() {
    // Reasons are free text, typically a program's stderr (`--reason "$(tail -c 2000
    // err.log)"`), which need not be UTF-8. Refusing it would leave the job claimed and
    // the failure unrecorded; the built-in runner already stores stderr lossily.
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "work");
    let run = env
        .cmd([
            OsString::from("fail"),
            OsString::from(&job.id),
            OsString::from("--reason"),
        ])
        .args([raw(b"exit 1: caf\xe9 au lait \xff")])
        .run();
    assert_eq!(
        run.code,
        Some(0),
        "fail with a non-UTF-8 reason: {}",
        run.stderr
    );
    let failed: Job = env.json(&["get", &job.id]);
    assert_eq!(
        failed.status, "pending",
        "the failure counted and the job retries"
    );
    assert_eq!(
        failed.errors[0].reason,
        "exit 1: caf\u{fffd} au lait \u{fffd}"
    );
}

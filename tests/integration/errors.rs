//! Exit codes and error messages: usage and bad input (2), unknown job (3), wrong state or
//! stale claim (4), JSON and plain error shapes, bad input writing nothing, closed pipes.

use std::io::Read;

use crate::harness::{Counts, ErrorBody, Job, Purge, Run, TestEnv};
use crate::support::wait::sleep_past_visible;

/// Checks a failed run printed nothing on stdout and exactly one JSON error object on one
/// line of stderr, and returns that object.
#[track_caller]
fn json_error(run: Run, code: i32) -> ErrorBody {
    let run = run.expect_status(code).expect_stdout("");
    assert!(
        run.stderr.ends_with('\n') && run.stderr.lines().count() == 1,
        "stderr of queueprim {} should be one JSON line, was:\n{}",
        run.args,
        run.stderr
    );
    run.json_error()
}

/// Runs `args` with `--format json` and checks it fails with `code`, one JSON error on stderr.
#[track_caller]
fn rejects(env: &TestEnv, args: &[&str], code: i32) -> ErrorBody {
    json_error(env.cmd(["--format", "json"]).args(args).run(), code)
}

/// A job that has been claimed, with the claim token it holds.
fn claimed_job(env: &TestEnv, queue: &str, extra: &[&str]) -> (Job, String) {
    env.enqueue(queue, r#"{"n":1}"#, extra);
    let job = env.dequeue(queue, &[]);
    let claim = job.claim.clone().expect("a dequeued job has a claim");
    (job, claim)
}

#[test]
fn unknown_flag_exits_2_as_a_usage_error_naming_the_flag() {
    let env = TestEnv::new();
    let err = rejects(&env, &["enqueue", "e", "--payload", "1", "--bogus"], 2);
    assert_eq!(err.kind, "usage");
    assert!(err.message.contains("--bogus"), "{}", err.message);

    let err = rejects(&env, &["frobnicate"], 2);
    assert_eq!(err.kind, "usage");
    assert!(err.message.contains("frobnicate"), "{}", err.message);
}

#[test]
fn missing_argument_exits_2_and_names_it() {
    let env = TestEnv::new();
    for (args, needle) in [
        (&["get"][..], "<ID>"),
        (&["complete"][..], "<ID>"),
        (&["extend", "q_abc"][..], "--by"),
        (&["enqueue", "e"][..], "--payload"),
    ] {
        env.cmd(["--format", "table"])
            .args(args)
            .expect_status(2)
            .expect_stdout("")
            .expect_stderr_contains("error:")
            .expect_stderr_contains(needle);
    }
}

#[test]
fn json_usage_error_names_the_missing_argument() {
    let env = TestEnv::new();
    for (args, needle) in [
        (&["get"][..], "<ID>"),
        (&["extend", "q_abc"][..], "--by"),
        (&["enqueue", "e"][..], "--payload"),
    ] {
        let err = rejects(&env, args, 2);
        assert_eq!(err.kind, "usage");
        assert!(
            err.message.contains(needle),
            "JSON error for {args:?} should name {needle}, was: {}",
            err.message
        );
    }
}

#[test]
fn invalid_json_names_the_flag_and_the_json_problem() {
    let env = TestEnv::new();
    let err = rejects(&env, &["enqueue", "e", "--payload", r#"{"a":"#], 2);
    assert_eq!(err.kind, "invalid_input");
    assert!(err.message.contains("--payload"), "{}", err.message);
    assert!(err.message.contains("not valid JSON"), "{}", err.message);
    assert!(err.message.contains("line 1 column"), "{}", err.message);

    for payload in ["{bad}", "1 2", "[1,]", "'single'", "NaN"] {
        let err = rejects(&env, &["enqueue", "e", "--payload", payload], 2);
        assert!(
            err.message.contains("not valid JSON"),
            "{payload}: {}",
            err.message
        );
    }

    let err = rejects(&env, &["enqueue", "e", "--payload", "  "], 2);
    assert!(err.message.contains("--payload"), "{}", err.message);
    assert!(err.message.contains("got nothing"), "{}", err.message);

    let run = env
        .cmd(["--format", "json", "enqueue", "e", "--payload", "-"])
        .stdin("")
        .run();
    let err = json_error(run, 2);
    assert!(err.message.contains("--payload (stdin)"), "{}", err.message);

    let err = rejects(&env, &["complete", "q_abc", "--output", "{oops"], 2);
    assert_eq!(err.kind, "invalid_input");
    assert!(err.message.contains("--output"), "{}", err.message);
    assert!(err.message.contains("not valid JSON"), "{}", err.message);
}

#[test]
fn bad_durations_exit_2_naming_the_value() {
    let env = TestEnv::new();
    for (args, value) in [
        (
            &["enqueue", "e", "--payload", "1", "--delay", "soon"][..],
            "soon",
        ),
        (
            &["enqueue", "e", "--payload", "1", "--delay", "5"][..],
            "'5'",
        ),
        (&["dequeue", "e", "--timeout", "0s"][..], "0s"),
        (&["dequeue", "e", "--timeout=-1m"][..], "-1m"),
        (&["extend", "q_abc", "--by", "0s"][..], "0s"),
        (&["purge", "--older-than", "forever"][..], "forever"),
        (&["sweep", "--interval", "0s"][..], "0s"),
    ] {
        let err = rejects(&env, args, 2);
        assert!(err.message.contains(value), "{args:?}: {}", err.message);
    }
}

#[test]
fn bad_queue_names_exit_2() {
    let env = TestEnv::new();
    let long = "a".repeat(129);
    for name in [
        "",
        "has space",
        long.as_str(),
        "ctl\u{1}char",
        "tab\there",
        "caf\u{e9}",
        "a*b",
    ] {
        for args in [
            vec!["enqueue", name, "--payload", "1"],
            vec!["enqueue", "--queue", name, "--payload", "1"],
            vec!["dequeue", name],
            vec!["list", name],
            vec!["purge", "--queue", name],
        ] {
            let err = rejects(&env, &args, 2);
            assert!(
                err.message.contains("queue name"),
                "{args:?}: {}",
                err.message
            );
        }
    }
    let err = rejects(&env, &["enqueue", &long, "--payload", "1"], 2);
    assert!(err.message.contains("128"), "{}", err.message);
    let err = rejects(&env, &["enqueue", "ctl\u{1}char", "--payload", "1"], 2);
    assert!(err.message.contains(r"\u{1}"), "{}", err.message);

    // The limit is inclusive: 128 characters of the documented set are fine.
    let ok = "a".repeat(127) + "/";
    assert_eq!(env.enqueue(&ok, "1", &[]).queue, ok);
}

#[test]
fn bad_job_types_and_worker_names_exit_2() {
    let env = TestEnv::new();
    let err = rejects(
        &env,
        &["enqueue", "e", "--payload", "1", "--type", "a b"],
        2,
    );
    assert!(err.message.contains("job type"), "{}", err.message);
    let err = rejects(&env, &["dequeue", "e", "--type", ""], 2);
    assert!(err.message.contains("job type"), "{}", err.message);
    let err = rejects(&env, &["dequeue", "e", "--worker", "w\u{7}"], 2);
    assert!(err.message.contains("worker name"), "{}", err.message);
}

#[test]
fn bad_priority_exits_2() {
    let env = TestEnv::new();
    for priority in ["urgent", "1.5", "99999999999", "", "10x"] {
        let err = rejects(
            &env,
            &["enqueue", "e", "--payload", "1", "--priority", priority],
            2,
        );
        assert!(
            err.message.contains("priority"),
            "{priority}: {}",
            err.message
        );
        assert!(err.message.contains("high, normal, low"), "{}", err.message);
    }
    let err = rejects(
        &env,
        &["enqueue", "e", "--payload", "1", "--max-retries=-1"],
        2,
    );
    assert!(err.message.contains("--max-retries"), "{}", err.message);
}

#[test]
fn bad_at_time_exits_2() {
    let env = TestEnv::new();
    for at in [
        "tomorrow",
        "2026-13-01T00:00:00Z",
        "2026-11-21T09:30:00+25:00",
        "2026-11-21T25:00:00Z",
        "",
    ] {
        let err = rejects(&env, &["enqueue", "e", "--payload", "1", "--at", at], 2);
        assert!(err.message.contains("--at"), "{at}: {}", err.message);
        assert!(err.message.contains("RFC 3339"), "{at}: {}", err.message);
    }
}

#[test]
fn bad_status_exits_2() {
    let env = TestEnv::new();
    for args in [
        &["list", "--status", "finished"][..],
        &["list", "--status", ""][..],
        &["purge", "--status", "bogus"][..],
    ] {
        let err = rejects(&env, args, 2);
        assert!(
            err.message.contains("pending, claimed, done, dead"),
            "{args:?}: {}",
            err.message
        );
    }
}

#[test]
fn bad_job_id_or_claim_token_exits_2() {
    let env = TestEnv::new();
    let long = format!("q_{}", "a".repeat(80));
    for id in ["q bad", "", "q-1", "q_;rm", long.as_str()] {
        for args in [
            vec!["get", id],
            vec!["complete", id],
            vec!["fail", id],
            vec!["extend", id, "--by", "1m"],
        ] {
            let err = rejects(&env, &args, 2);
            assert!(
                err.message.contains("invalid job id"),
                "{args:?}: {}",
                err.message
            );
        }
    }
    for token in ["bad token", "", "c-1", "c_\u{1}"] {
        for args in [
            vec!["complete", "q_abc", "--claim", token],
            vec!["fail", "q_abc", "--claim", token],
            vec!["extend", "q_abc", "--by", "1m", "--claim", token],
        ] {
            let err = rejects(&env, &args, 2);
            assert!(
                err.message.contains("invalid claim token"),
                "{args:?}: {}",
                err.message
            );
        }
    }
}

#[test]
fn unknown_id_exits_3_and_names_the_id() {
    let env = TestEnv::new();
    env.enqueue("e", "1", &[]);
    for args in [
        &["get", "q_nothere"][..],
        &["complete", "q_nothere"][..],
        &["fail", "q_nothere", "--reason", "x"][..],
        &["extend", "q_nothere", "--by", "1m"][..],
    ] {
        let err = rejects(&env, args, 3);
        assert_eq!(err.kind, "not_found", "{args:?}");
        assert!(
            err.message.contains("q_nothere"),
            "{args:?}: {}",
            err.message
        );
    }
    env.cmd(["--format", "table", "get", "q_nothere"])
        .expect_status(3)
        .expect_stdout("")
        .expect_stderr_contains("q_nothere");
}

#[test]
fn completing_a_pending_job_is_a_conflict() {
    let env = TestEnv::new();
    let job = env.enqueue("e", "1", &[]);
    let err = rejects(&env, &["complete", &job.id], 4);
    assert_eq!(err.kind, "conflict");
    assert!(err.message.contains(&job.id), "{}", err.message);
    assert!(err.message.contains("pending"), "{}", err.message);
    let after: Job = env.json(&["get", &job.id]);
    assert_eq!(after.status, "pending");
    assert_eq!(after.finished_at, None);
}

#[test]
fn completing_twice_is_a_conflict_and_keeps_the_first_output() {
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "e", &[]);
    let done: Job = env.json(&["complete", &job.id, "--output", r#"{"first":true}"#]);
    assert_eq!(done.status, "done");

    let err = rejects(
        &env,
        &["complete", &job.id, "--output", r#"{"second":true}"#],
        4,
    );
    assert_eq!(err.kind, "conflict");
    assert!(err.message.contains(&job.id), "{}", err.message);
    assert!(err.message.contains("done"), "{}", err.message);

    let after: Job = env.json(&["get", &job.id]);
    assert_eq!(after.output, Some(serde_json::json!({"first": true})));
    assert_eq!(after.finished_at, done.finished_at);
}

#[test]
fn failing_a_done_job_is_a_conflict() {
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "e", &["--max-retries", "3"]);
    env.json::<Job>(&["complete", &job.id]);
    let err = rejects(&env, &["fail", &job.id, "--reason", "late"], 4);
    assert_eq!(err.kind, "conflict");
    assert!(err.message.contains(&job.id), "{}", err.message);
    let after: Job = env.json(&["get", &job.id]);
    assert_eq!(after.status, "done");
    assert_eq!(after.attempt_count, 0);
    assert!(after.errors.is_empty());
}

#[test]
fn extending_a_dead_job_is_a_conflict() {
    let env = TestEnv::new();
    let (job, _) = claimed_job(&env, "e", &[]);
    let dead: Job = env.json(&["fail", &job.id, "--reason", "boom"]);
    assert_eq!(dead.status, "dead");
    let err = rejects(&env, &["extend", &job.id, "--by", "10m"], 4);
    assert_eq!(err.kind, "conflict");
    assert!(err.message.contains(&job.id), "{}", err.message);
    assert!(err.message.contains("dead"), "{}", err.message);
    let after: Job = env.json(&["get", &job.id]);
    assert_eq!(after.status, "dead");
    assert_eq!(after.visible_after, None);
}

#[test]
fn stale_claim_after_the_job_was_reclaimed_is_a_conflict() {
    let env = TestEnv::new();
    env.enqueue("e", "1", &["--max-retries", "2"]);
    let first = env.dequeue("e", &["--timeout", "1s", "--worker", "w1"]);
    let old = first.claim.clone().unwrap();
    sleep_past_visible(&first);
    let second = env.dequeue("e", &["--worker", "w2"]);
    assert_eq!(second.id, first.id, "the expired job is claimed again");
    let new = second.claim.clone().unwrap();
    assert_ne!(new, old);

    for args in [
        vec!["complete", &first.id, "--claim", &old],
        vec!["fail", &first.id, "--claim", &old, "--reason", "late"],
        vec!["extend", &first.id, "--by", "1h", "--claim", &old],
    ] {
        let err = rejects(&env, &args, 4);
        assert_eq!(err.kind, "conflict", "{args:?}");
        assert!(err.message.contains(&first.id), "{args:?}: {}", err.message);
        assert!(err.message.contains(&old), "{args:?}: {}", err.message);
    }
    let after: Job = env.json(&["get", &first.id]);
    assert_eq!(after.status, "claimed");
    assert_eq!(after.claim.as_deref(), Some(new.as_str()));
    assert_eq!(after.worker.as_deref(), Some("w2"));
    assert_eq!(after.visible_after, second.visible_after);

    let done: Job = env.json(&["complete", &first.id, "--claim", &new]);
    assert_eq!(done.status, "done");
}

#[test]
fn json_errors_are_one_object_on_stderr_with_the_right_kind() {
    let env = TestEnv::new();
    let pending = env.enqueue("e", "1", &[]);
    for (args, code, kind) in [
        (&["enqueue", "--nope"][..], 2, "usage"),
        (&["enqueue", "e", "--payload", "{"][..], 2, "invalid_input"),
        (&["get", "q_missing"][..], 3, "not_found"),
        (&["complete", pending.id.as_str()][..], 4, "conflict"),
    ] {
        for format in ["json", "jsonl"] {
            let err = json_error(env.cmd(["--format", format]).args(args).run(), code);
            assert_eq!(err.kind, kind, "{format} {args:?}");
            assert!(!err.message.is_empty());
            assert!(!err.message.starts_with("error:"), "{}", err.message);
        }
    }
}

#[test]
fn format_json_from_the_environment_or_after_the_command_applies_to_usage_errors() {
    let env = TestEnv::new();
    let run = env
        .cmd(["enqueue", "e", "--payload", "1", "--bogus"])
        .env("QUEUEPRIM_FORMAT", "json")
        .run();
    assert_eq!(json_error(run, 2).kind, "usage");

    let run = env
        .cmd(["get", "q_x", "--bogus", "--format=json"])
        .env("QUEUEPRIM_FORMAT", "table")
        .run();
    assert_eq!(json_error(run, 2).kind, "usage");

    let run = env
        .cmd(["get", "q_x"])
        .env("QUEUEPRIM_FORMAT", "json")
        .run();
    assert_eq!(json_error(run, 3).kind, "not_found");
}

#[test]
fn plain_errors_are_one_line_starting_with_error() {
    let env = TestEnv::new();
    let pending = env.enqueue("e", "1", &[]);
    for (args, code, needle) in [
        (&["enqueue", "e", "--payload", "{"][..], 2, "--payload"),
        (&["get", "q_missing"][..], 3, "q_missing"),
        (
            &["complete", pending.id.as_str()][..],
            4,
            pending.id.as_str(),
        ),
        (&["purge"][..], 2, "--all"),
    ] {
        let run = env
            .cmd(["--format", "table"])
            .args(args)
            .expect_status(code)
            .expect_stdout("");
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.ends_with('\n'), "{args:?}: {:?}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
    // Usage errors come from clap with its usage hint below, but lead with the same line.
    let run = env
        .cmd(["--format", "table", "enqueue", "--nope"])
        .expect_status(2)
        .expect_stdout("");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains("--nope"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_values_are_reported_as_invalid_input_not_usage() {
    // error.rs documents InvalidInput as "a value is wrong (bad JSON, duration, queue
    // name)" and Usage as "the command line itself is wrong (unknown flag, missing
    // argument)"; scripts should see the same kind for a bad duration as for bad JSON.
    let env = TestEnv::new();
    for args in [
        &["enqueue", "e", "--payload", "1", "--delay", "soon"][..],
        &["enqueue", "bad name", "--payload", "1"][..],
        &["enqueue", "e", "--payload", "1", "--priority", "urgent"][..],
        &["list", "--status", "bogus"][..],
        &["get", "q bad"][..],
    ] {
        let err = rejects(&env, args, 2);
        assert_eq!(err.kind, "invalid_input", "{args:?}: {}", err.message);
    }
}

#[test]
fn rejected_enqueues_leave_the_counts_unchanged() {
    let env = TestEnv::new();
    env.enqueue("e", "1", &[]);
    let before: Counts = env.json(&["stats"]);
    assert_eq!(before.total, 1);
    let big = format!("\"{}\"", "x".repeat(1024 * 1024));
    let bad: Vec<Vec<&str>> = vec![
        vec!["enqueue", "e", "--payload", "{bad"],
        vec!["enqueue", "e", "--payload", "1", "--delay", "soon"],
        vec!["enqueue", "bad name", "--payload", "1"],
        vec!["enqueue", "--payload", "1"],
        vec!["enqueue", "e", "--payload", "1", "--priority", "urgent"],
        vec!["enqueue", "e", "--payload", "1", "--at", "never"],
        vec![
            "enqueue",
            "e",
            "--payload",
            "1",
            "--delay",
            "1m",
            "--at",
            "2030-01-01T00:00:00Z",
        ],
        vec!["enqueue", "e", "--payload", "1", "--type", ""],
        vec!["enqueue", "e", "--payload", "@/nonexistent/payload.json"],
        vec!["enqueue", "e", "--payload", "1", "--wat"],
    ];
    for args in &bad {
        rejects(&env, args, 2);
        assert_eq!(env.json::<Counts>(&["stats"]), before, "after {args:?}");
    }
    let run = env
        .cmd(["--format", "json", "enqueue", "e", "--payload", "-"])
        .stdin(big)
        .run();
    json_error(run, 2);
    let run = env
        .cmd(["--format", "json", "enqueue", "e", "--batch"])
        .stdin("1\n2\n[\n")
        .run();
    json_error(run, 2);
    assert_eq!(env.json::<Counts>(&["stats"]), before);
}

#[test]
fn rejected_commands_do_not_create_the_database() {
    let env = TestEnv::new();
    let commands: Vec<Vec<&str>> = vec![
        vec!["enqueue", "e", "--payload", "{bad"],
        vec!["enqueue", "e", "--payload", "@/nonexistent/payload.json"],
        vec!["enqueue", "--payload", "1"],
        vec!["enqueue", "bad name", "--payload", "1"],
        vec!["enqueue", "e", "--payload", "1", "--delay", "soon"],
        vec!["enqueue", "e", "--bogus"],
        vec!["dequeue", "e", "--timeout", "0s"],
        vec!["dequeue"],
        vec!["complete", "q_abc", "--output", "{bad"],
        vec!["get", "not an id"],
        vec!["list", "--status", "bogus"],
        vec!["purge"],
        vec!["purge", "--dry-run"],
        vec!["frobnicate"],
    ];
    for args in &commands {
        rejects(&env, args, 2);
        assert!(
            !env.db().exists(),
            "queueprim {args:?} created the database although it was rejected"
        );
    }
    let run = env
        .cmd(["--format", "json", "enqueue", "e", "--batch"])
        .stdin("1\nnope\n")
        .run();
    json_error(run, 2);
    assert!(!env.db().exists(), "a rejected batch created the database");
    assert_eq!(
        std::fs::read_dir(env.dir()).unwrap().count(),
        0,
        "nothing at all is written next to the database"
    );
}

#[test]
fn closed_stdout_pipe_is_success() {
    let env = TestEnv::new();
    let lines: String = (0..2000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    let jobs: Vec<Job> = env
        .cmd(["enqueue", "big", "--batch"])
        .stdin(lines)
        .expect_status(0)
        .json();
    assert_eq!(jobs.len(), 2000);

    for format in ["json", "jsonl", "table"] {
        let mut child = env
            .cmd(["list", "--limit", "0", "--format", format])
            .spawn();
        let mut stdout = child.stdout.take().unwrap();
        let mut head = [0u8; 8];
        stdout.read_exact(&mut head).unwrap();
        drop(stdout);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "list --format {format} into a closed pipe: {status:?}, stderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert_eq!(stderr, "", "list --format {format} into a closed pipe");
    }
}

#[test]
fn payload_of_exactly_one_mib_compact_is_accepted() {
    let env = TestEnv::new();
    // 1 MiB once compacted, but the spaces around it make the text itself longer.
    let inner = "x".repeat(1024 * 1024 - 4);
    let path = env.dir().join("limit.json");
    std::fs::write(&path, format!("[ \"{inner}\" ]\n")).unwrap();
    let arg = format!("@{}", path.display());
    let job = env.enqueue("e", &arg, &[]);
    assert_eq!(job.payload, serde_json::json!([inner]));
    assert_eq!(env.json::<Counts>(&["stats"]).total, 1);
}

#[test]
fn payload_one_byte_over_one_mib_is_rejected() {
    let env = TestEnv::new();
    let over = format!("\"{}\"", "x".repeat(1024 * 1024 - 1));
    assert_eq!(over.len(), 1024 * 1024 + 1);
    let run = env
        .cmd(["--format", "json", "enqueue", "e", "--payload", "-"])
        .stdin(over)
        .run();
    let err = json_error(run, 2);
    assert_eq!(err.kind, "invalid_input");
    assert!(err.message.contains("--payload"), "{}", err.message);
    assert!(err.message.contains("1048577"), "{}", err.message);
    assert!(err.message.contains("1 MiB"), "{}", err.message);
    assert!(!env.db().exists());
}

#[test]
fn missing_payload_file_exits_2_naming_the_file() {
    let env = TestEnv::new();
    let path = env.dir().join("no-such-payload.json");
    let arg = format!("@{}", path.display());
    let err = rejects(&env, &["enqueue", "e", "--payload", &arg], 2);
    assert_eq!(err.kind, "invalid_input");
    assert!(err.message.contains("--payload"), "{}", err.message);
    assert!(
        err.message.contains(&path.display().to_string()),
        "{}",
        err.message
    );

    let err = rejects(&env, &["complete", "q_abc", "--output", &arg], 2);
    assert!(
        err.message.contains("no-such-payload.json"),
        "{}",
        err.message
    );
}

#[test]
fn purge_without_a_filter_exits_2_and_deletes_nothing() {
    let env = TestEnv::new();
    env.enqueue("a", "1", &[]);
    env.enqueue("b", "2", &[]);
    for args in [&["purge"][..], &["purge", "--dry-run"][..]] {
        let err = rejects(&env, args, 2);
        assert!(err.message.contains("filter"), "{}", err.message);
        assert!(err.message.contains("--all"), "{}", err.message);
        assert_eq!(env.json::<Counts>(&["stats"]).total, 2, "after {args:?}");
    }
    // The refusal is about the missing filter: --all is the explicit way to purge it all.
    let purge: Purge = env.json(&["purge", "--all", "--dry-run"]);
    assert_eq!((purge.matched, purge.removed, purge.dry_run), (2, 0, true));
}

#[test]
fn endless_input_is_refused_without_reading_it_all() {
    let env = TestEnv::new();
    // 17 MiB of a valid-looking string: over the raw read cap, refused as too big.
    let mut big = vec![b'"'];
    big.extend(std::iter::repeat_n(b'x', 17 * 1024 * 1024));
    env.cmd(["enqueue", "q", "--payload", "-"])
        .stdin(big.clone())
        .expect_status(2)
        .expect_stderr_contains("over the 1 MiB limit");
    env.cmd(["enqueue", "q", "--batch"])
        .stdin(big)
        .expect_status(2)
        .expect_stderr_contains("line 1");
    assert!(!env.db().exists());
}

#[test]
fn extending_past_the_year_9999_is_refused_and_the_job_stays_readable() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "1", &[]);
    env.dequeue("q", &["--timeout", "99y"]);
    let mut refused = false;
    for _ in 0..90 {
        let run = env.cmd(["extend", &job.id, "--by", "99y"]).run();
        if run.code == Some(2) {
            assert!(run.stderr.contains("9999"), "{}", run.stderr);
            refused = true;
            break;
        }
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    assert!(refused, "extending by 99 years 90 times must hit the limit");
    let still: Job = env.json(&["get", &job.id]);
    assert!(still.visible_after.unwrap().starts_with("99"));
    let _: Vec<Job> = env.json(&["list"]);
}

#[test]
fn ids_and_tokens_mixed_up_get_a_hint() {
    let env = TestEnv::new();
    env.cmd(["complete", "c_8k2m4x7q9r1t"])
        .expect_status(2)
        .expect_stderr_contains("is a claim token, not a job id");
    env.cmd(["get", "\"q_1m8nqj814jqfwrx\""])
        .expect_status(2)
        .expect_stderr_contains("use jq -r");
    env.cmd([
        "complete",
        "q_1m8nqj814jqfwrx",
        "--claim",
        "q_1m8nqj814jqfwrx",
    ])
    .expect_status(2)
    .expect_stderr_contains("invalid claim token");
}

#[test]
fn errors_are_plain_lines_unless_json_is_asked_for() {
    let env = TestEnv::new();
    // Results default to JSON here (stdout is a pipe), errors do not.
    let run = env.cmd(["get", "q_0000000000"]).expect_status(3);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    let run = env
        .cmd(["get", "q_0000000000"])
        .env("QUEUEPRIM_FORMAT", "jsonl")
        .expect_status(3);
    assert_eq!(run.json_error().kind, "not_found");
}

#[test]
fn empty_environment_variables_count_as_unset() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    let stats: crate::harness::Counts = env
        .cmd(["stats"])
        .env("QUEUEPRIM_FORMAT", "")
        .env("QUEUEPRIM_SYNCHRONOUS", "")
        .expect_status(0)
        .json();
    assert_eq!(stats.total, 1);
}

#[test]
#[cfg(unix)]
fn environment_values_that_are_not_utf8_are_quoted_with_their_bytes_in_hex() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    for (name, flag) in [
        ("QUEUEPRIM_FORMAT", "--format <FORMAT>"),
        ("QUEUEPRIM_SYNCHRONOUS", "--synchronous <MODE>"),
    ] {
        let run = env
            .cmd(["stats"])
            .env(name, std::ffi::OsStr::from_bytes(b"j\xffson"))
            .run()
            .expect_status(2)
            .expect_stdout("");
        assert_eq!(
            run.stderr,
            format!("error: invalid value 'j\\xffson' for '{flag}': not valid UTF-8\n")
        );
    }
    assert!(!env.db().exists(), "nothing is created");
}

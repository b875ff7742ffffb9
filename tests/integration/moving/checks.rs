//! An import is all or nothing, and keeps the queue's rules: a bad line anywhere (after
//! whole batches were inserted, too) leaves the database as it was and is named by its
//! number; so is input cut short; ids, dedup keys and groups already taken are conflicts;
//! input that is no export creates no database.

use serde_json::{json, Value};

use super::{edited, lines, Db};
use crate::harness::{Run, TestEnv};

/// Jobs in the source of the bad-line cases: more than one batch of the import (1,000), so
/// that the bad line comes after a batch was already inserted in the transaction.
const JOBS: usize = 1_300;
/// The line the cases spoil: a job line of the second batch.
const BAD: usize = 1_200;

/// An export of [`JOBS`] jobs in queue `q`, with a key and a group each for some.
fn big_export(env: &TestEnv) -> String {
    let db = Db::of(env);
    let payloads: String = (0..JOBS).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    db.cmd(["enqueue", "q", "--batch"])
        .stdin(payloads)
        .expect_status(0);
    db.enqueue("q", "1", &["--key", "k"]);
    db.enqueue("q", "2", &["--group", "g"]);
    db.cmd(["config", "q", "--max-retries", "2"])
        .expect_status(0);
    db.export(&[])
}

/// What a database holds, as its commands print it.
fn state(db: &Db) -> (String, String) {
    (db.list(), db.queues())
}

/// Imports `input` into `db`, which must refuse it with `code`, saying `says` about line
/// `line` (if any), and be left exactly as it was.
#[track_caller]
fn refused(db: &Db, input: &str, code: i32, line: Option<usize>, says: &str) -> Run {
    let before = state(db);
    let run = db.import(input, &[]).expect_status(code);
    if let Some(line) = line {
        assert!(
            run.stderr.contains(&format!("error: line {line}: ")),
            "{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains(says), "{says:?} in {}", run.stderr);
    assert!(
        run.stderr.contains("nothing was imported"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(
        !run.stderr.contains('\u{1b}'),
        "escapes escaped: {}",
        run.stderr
    );
    assert_eq!(state(db), before, "a refused import changed the database");
    run
}

/// `export` with line `n` (1-based) replaced by `with`.
fn with_line(export: &str, n: usize, with: &str) -> String {
    let mut out: Vec<&str> = export.lines().collect();
    out[n - 1] = with;
    out.join("\n") + "\n"
}

#[test]
fn a_bad_line_after_a_whole_batch_imports_nothing_and_is_named() {
    let (from, to) = (TestEnv::new(), TestEnv::new());
    let export = big_export(&from);
    let dst = Db::of(&to);
    dst.enqueue("q", r#""there before""#, &["--key", "other"]);
    dst.cmd(["config", "q", "--max-retries", "7"])
        .expect_status(0);
    let job = |edit: &dyn Fn(&mut Value)| {
        edited(&export, |n, line| {
            if n == BAD {
                edit(&mut line["job"]);
            }
        })
    };
    let cases: Vec<(String, &str)> = vec![
        (with_line(&export, BAD, "{\"job\":"), "EOF while parsing"),
        (with_line(&export, BAD, "[1,2]"), "not a line of an export"),
        (
            with_line(&export, BAD, &lines(&export)[0].to_string()),
            "unknown variant",
        ),
        (
            job(&|j| j["colour"] = json!("red")),
            "unknown field `colour`",
        ),
        (
            job(&|j| j["\u{1b}[2J"] = json!(1)),
            r"unknown field `\u{1b}[2J`",
        ),
        (
            job(&|j| j["queue"] = json!("no spaces")),
            "queue name 'no spaces'",
        ),
        (
            job(&|j| j["id"] = json!("c_1")),
            "claim token, not a job id",
        ),
        (
            job(&|j| j["stored"] = json!("claimed")),
            "does not go with stored",
        ),
        (
            job(&|j| j["visible_after"] = json!(null)),
            "needs visible_after",
        ),
        (job(&|j| j["finished_at"] = json!(1)), "has no finished_at"),
        (
            job(&|j| j["created_at"] = json!(-5)),
            "created_at -5 is not a time",
        ),
        (
            job(&|j| j["priority"] = json!(1_i64 << 40)),
            "not a 32-bit integer",
        ),
        (
            job(&|j| j["backoff_max_ms"] = json!(10)),
            "backoff_max_ms needs backoff_ms",
        ),
        (
            job(&|j| j["payload"] = json!("x".repeat(1 << 20))),
            "payload: ",
        ),
        (
            job(&|j| j["errors"] = json!([{"at": 1, "attempt": 0, "worker": null, "reason": ""}])),
            "attempt starts at 1",
        ),
    ];
    for (input, says) in cases {
        refused(&dst, &input, 2, Some(BAD), says);
    }
    let total = export.lines().count();
    let cut = export
        .lines()
        .take(total - 1)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    refused(
        &dst,
        &cut,
        2,
        None,
        &format!("ends after line {} without", total - 1),
    );
    let end = lines(&export)[total - 1].clone();
    let miscounted = with_line(
        &export,
        total,
        &json!({"end": {"jobs": 1, "settings": 1}}).to_string(),
    );
    refused(
        &dst,
        &miscounted,
        2,
        Some(total),
        "the end line counts 1 jobs",
    );
    let more = format!("{export}{end}\n");
    refused(
        &dst,
        &more,
        2,
        Some(total + 1),
        "more after the export's end line",
    );
    let huge = format!("{{\"job\":{}}}", "x".repeat(17 << 20));
    refused(
        &dst,
        &with_line(&export, BAD, &huge),
        2,
        Some(BAD),
        "longer than 16 MiB",
    );
    let mut bytes = with_line(&export, BAD, "\u{1}").into_bytes();
    let at = bytes.iter().position(|&b| b == 1).unwrap();
    bytes[at] = 0xff;
    let before = state(&dst);
    let run = dst.cmd(["import"]).stdin(bytes).expect_status(2);
    assert!(
        run.stderr.contains(&format!("line {BAD}: not valid UTF-8")),
        "{}",
        run.stderr
    );
    assert_eq!(state(&dst), before);
    // The same export, unspoilt, goes in whole.
    let report: Value = dst.import(&export, &[]).expect_status(0).json();
    assert_eq!(report["imported"], JOBS + 2);
}

#[test]
fn input_that_is_no_export_creates_no_database() {
    let env = TestEnv::new();
    let db = Db::of(&env);
    let cases = [
        ("", "there is no input"),
        ("\n  \n", "there is no input"),
        ("hello\n", "line 1: not the header of a queueprim export"),
        ("[{\"id\":\"q_1\"}]\n", "line 1: not the header"),
        (
            "{\"queueprim_export\":2,\"engine\":\"sqlite\",\"exported_at\":\"x\"}\n",
            "line 1: this is version 2 of the export format; this build reads version 1",
        ),
    ];
    for (input, says) in cases {
        let run = db.import(input, &[]).expect_status(2);
        assert!(run.stderr.contains(says), "{says:?} in {}", run.stderr);
        assert!(!env.db_exists(), "refused input created a database");
    }
}

#[test]
fn an_id_already_there_is_a_conflict_unless_told_to_skip_it() {
    let (from, to) = (TestEnv::new(), TestEnv::new());
    let (src, dst) = (Db::of(&from), Db::of(&to));
    let first = src.enqueue("q", "1", &[]).id;
    src.enqueue("q", "2", &[]);
    dst.import(&src.export(&[]), &[]).expect_status(0);
    let newer = src.enqueue("q", "3", &[]).id;
    let export = src.export(&[]);
    let run = refused(
        &dst,
        &export,
        4,
        Some(2),
        &format!("job {first} is already in"),
    );
    assert!(run.stderr.contains("--skip-existing"), "{}", run.stderr);
    // With --skip-existing the jobs there are left as they are, even where they differ.
    let there = dst.dequeue("q", &["--worker", "target"]);
    assert_eq!(there.id, first);
    let report: Value = dst
        .import(&export, &["--skip-existing"])
        .expect_status(0)
        .json();
    assert_eq!(report, json!({"imported": 1, "skipped": 2, "settings": 0}));
    let kept: crate::harness::Job = dst.json(&["get", &first]);
    assert_eq!(kept.worker.as_deref(), Some("target"));
    dst.json::<crate::harness::Job>(&["get", &newer]);
}

#[test]
fn an_id_twice_in_the_input_is_refused_even_when_skipping() {
    let (from, to) = (TestEnv::new(), TestEnv::new());
    let export = big_export(&from);
    let dst = Db::of(&to);
    let id_on = |n: usize| lines(&export)[n - 1]["job"]["id"].clone();
    let same_batch = edited(&export, |n, line| {
        if n == 10 {
            line["job"]["id"] = id_on(5);
        }
    });
    refused(&dst, &same_batch, 2, Some(10), "is also on line 5");
    let across = edited(&export, |n, line| {
        if n == BAD {
            line["job"]["id"] = id_on(5);
        }
    });
    let run = dst
        .cmd(["import", "--skip-existing"])
        .stdin(across)
        .expect_status(2);
    assert!(
        run.stderr.contains(&format!(
            "line {BAD}: job {} is also on an earlier line",
            id_on(5).as_str().unwrap()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn dedup_keys_and_groups_keep_their_rules_across_the_input_and_the_database() {
    let (from, to) = (TestEnv::new(), TestEnv::new());
    let (src, dst) = (Db::of(&from), Db::of(&to));
    // Finished jobs may share a key with each other and with an unfinished one.
    for _ in 0..2 {
        src.enqueue("q", "1", &["--key", "k"]);
        let job = src.dequeue("q", &[]);
        src.cmd(["complete", &job.id]).expect_status(0);
    }
    src.enqueue("q", "2", &["--key", "k"]);
    src.enqueue("q", "3", &["--group", "g"]);
    src.enqueue("q", "4", &["--group", "g"]);
    src.enqueue("other", "5", &["--group", "g", "--key", "k"]);
    let export = src.export(&[]);
    // Line 1 is the header, lines 2-3 the done jobs, 4 the keyed one, 5-6 the group's.
    let set = |target: usize, field: &str, value: Value| {
        edited(&export, |n, line| {
            if n == target {
                line["job"][field] = value.clone();
            }
        })
    };
    refused(
        &dst,
        &set(5, "key", json!("k")),
        2,
        Some(5),
        "are both unfinished with dedup key 'k' of queue q",
    );
    let queued_made_live = set(6, "stored", json!("pending"));
    refused(
        &dst,
        &queued_made_live,
        2,
        Some(6),
        "are both live in group 'g' of queue q",
    );
    let live_made_queued = set(5, "stored", json!("queued"));
    refused(
        &dst,
        &live_made_queued,
        2,
        None,
        "group g of queue q has jobs waiting",
    );

    // Against jobs already in the database: conflicts.
    let held = dst.enqueue("q", r#""there""#, &["--key", "k"]).id;
    refused(
        &dst,
        &export,
        4,
        Some(4),
        &format!("as is job {held} already in"),
    );
    dst.cmd(["cancel", &held]).expect_status(0);
    let live = dst.enqueue("q", r#""there""#, &["--group", "g"]).id;
    refused(
        &dst,
        &export,
        4,
        Some(5),
        &format!("as is job {live} already in"),
    );
    // Jobs waiting in a group whose live job is already there may join it.
    let waiting_only = edited(&export, |n, line| {
        if n == 5 {
            line["job"]["stored"] = json!("queued");
        }
    });
    let report: Value = dst.import(&waiting_only, &[]).expect_status(0).json();
    assert_eq!(report["imported"], 6);
}

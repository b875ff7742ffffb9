//! What a new user, or a program that read only `--help`, trips over first: refused command
//! lines that point at the fix, fencing shown the way to do it, fields that cannot be
//! misread, and the everyday commands (`cancel`, `info`, `completions`, `man`).

use crate::harness::{Cancelled, Counts, Info, Job, TestEnv};

// ---------------------------------------------------------------------------------------
// Hints that point at the fix

/// The one-line error of a refused command line, which must exit 2.
#[track_caller]
fn refusal(env: &TestEnv, args: &[&str]) -> String {
    let run = env.cmd(args).expect_status(2);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    run.stderr
}

#[test]
fn a_payload_under_another_name_points_at_payload() {
    let env = TestEnv::new();
    let err = refusal(&env, &["enqueue", "q", "--data", "{}"]);
    assert!(err.contains("--payload"), "{err}");
    assert!(!err.contains("'--at'"), "no guess by spelling: {err}");
    let err = refusal(&env, &["enqueue", "q", r#"{"to":"a"}"#]);
    assert!(err.contains(r#"--payload '{"to":"a"}'"#), "{err}");
}

#[test]
fn extend_with_a_bare_duration_points_at_by() {
    let env = TestEnv::new();
    let err = refusal(&env, &["extend", "q_1m8nqj814jqfwrx", "30s"]);
    assert!(err.contains("--by 30s"), "{err}");
}

#[test]
fn work_with_the_command_before_the_dashes_points_at_them() {
    let env = TestEnv::new();
    let err = refusal(&env, &["work", "q", "./x.sh"]);
    assert!(err.contains("-- ./x.sh"), "{err}");
}

#[test]
fn a_claim_token_without_its_flag_points_at_claim() {
    let env = TestEnv::new();
    for verb in ["complete", "fail", "extend", "release"] {
        let err = refusal(&env, &[verb, "q_1m8nqj814jqfwrx", "c_8k2m4x7q9r1t"]);
        assert!(err.contains("--claim c_8k2m4x7q9r1t"), "{verb}: {err}");
    }
}

#[test]
fn retry_with_nothing_to_retry_mentions_queue() {
    let env = TestEnv::new();
    let err = refusal(&env, &["retry"]);
    assert!(err.contains("--queue"), "{err}");
}

#[test]
fn work_says_why_a_command_it_found_cannot_run() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    let folder = env.dir().join("tools");
    std::fs::create_dir(&folder).unwrap();
    let err = refusal(&env, &["work", "q", "--", folder.to_str().unwrap()]);
    assert!(err.contains("a folder, not a command"), "{err}");
    let script = env.dir().join("job.sh");
    std::fs::write(&script, "#!/no/such/interpreter\necho hi\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = refusal(
        &env,
        &["work", "q", "--until-empty", "--", script.to_str().unwrap()],
    );
    assert!(
        err.contains("the interpreter its #! line names was not found"),
        "{err}"
    );
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.pending, 1, "the job was given back: {stats:?}");
}

#[test]
fn a_database_in_a_missing_folder_is_named_once() {
    let env = TestEnv::new();
    let db = env.dir().join("nowhere").join("q.db");
    let run = env
        .cmd([
            "enqueue",
            "q",
            "--payload",
            "1",
            "--db",
            db.to_str().unwrap(),
        ])
        .expect_status(1);
    assert_eq!(
        run.stderr.matches("cannot open database").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("does not exist (create it"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_token_that_is_not_the_job_s_claim_is_refused_without_telling_the_live_one() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    let claimed = env.dequeue("q", &["--worker", "w1"]);
    let live = claimed.claim.clone().unwrap();
    let run = env
        .cmd(["complete", &claimed.id, "--claim", "c_aaaaaaaaaaaa"])
        .expect_status(4);
    assert!(
        run.stderr.contains(
            "claim c_aaaaaaaaaaaa is not this job's current claim (worker w1 holds it now"
        ),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("since"),
        "it never was: {}",
        run.stderr
    );
    assert!(!run.stderr.contains(&live), "{}", run.stderr);
    let still: Job = env.json(&["get", &claimed.id]);
    assert_eq!(still.status, "claimed");
}

// ---------------------------------------------------------------------------------------
// cancel

#[test]
fn cancel_takes_pending_jobs_out_for_good() {
    let env = TestEnv::new();
    let now = env.enqueue("q", "1", &[]);
    let later = env.enqueue("q", "2", &["--delay", "1h"]);
    let done: Cancelled = env.json(&["cancel", &now.id, &later.id, &now.id]);
    assert_eq!(done.cancelled, vec![now.id.clone(), later.id.clone()]);
    for id in [&now.id, &later.id] {
        env.cmd(["get", id]).expect_status(3);
    }
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.total, 0);
}

#[test]
fn cancel_refuses_claimed_and_finished_jobs_and_then_cancels_none() {
    let env = TestEnv::new();
    let claimed = env.enqueue("q", "1", &[]);
    let pending = env.enqueue("q", "2", &[]);
    env.dequeue("q", &["--worker", "w1"]);
    let run = env
        .cmd(["cancel", &pending.id, &claimed.id])
        .expect_status(4);
    assert!(
        run.stderr
            .contains(&format!("cannot cancel {}: worker w1 holds it", claimed.id)),
        "{}",
        run.stderr
    );
    let still: Job = env.json(&["get", &pending.id]);
    assert_eq!(still.status, "pending", "all or nothing");

    env.json::<Job>(&["complete", &claimed.id]);
    env.cmd(["cancel", &claimed.id])
        .expect_status(4)
        .expect_stderr_contains("purge");
    env.cmd(["cancel", &pending.id, "q_0000000000"])
        .expect_status(3)
        .expect_stderr_contains("q_0000000000");
    env.json::<Job>(&["get", &pending.id]);
}

#[test]
fn cancelling_a_group_s_head_lets_the_next_one_go() {
    let env = TestEnv::new();
    let head = env.enqueue("q", "1", &["--group", "g"]);
    let waiting = env.enqueue("q", "2", &["--group", "g"]);
    let last = env.enqueue("q", "3", &["--group", "g"]);
    env.json::<Cancelled>(&["cancel", &waiting.id]);
    env.json::<Cancelled>(&["cancel", &head.id]);
    assert_eq!(env.dequeue("q", &[]).id, last.id);
}

#[test]
fn cancelling_a_keyed_job_frees_its_key() {
    let env = TestEnv::new();
    let first = env.enqueue("q", "1", &["--key", "k"]);
    env.json::<Cancelled>(&["cancel", &first.id]);
    let second = env.enqueue("q", "2", &["--key", "k"]);
    assert_eq!(second.deduplicated, Some(false));
    assert_ne!(second.id, first.id);
}

// ---------------------------------------------------------------------------------------
// info, and reading a database that is not there

#[test]
fn info_names_the_database_where_it_came_from_and_what_it_holds() {
    let env = TestEnv::new();
    let db = env.db();
    let before: Info = env.json(&["info"]);
    assert_eq!(before.db, db.display().to_string());
    assert_eq!(before.db_from, "QUEUEPRIM_DB");
    assert!(!before.exists);
    assert_eq!((before.schema_version, before.size_bytes), (None, None));
    assert!(!db.exists(), "info creates nothing");

    env.enqueue("a", "1", &[]);
    env.enqueue("b", "1", &[]);
    env.dequeue("b", &[]);
    let after: Info = env.json(&["info"]);
    assert!(after.exists);
    assert_eq!(after.backend, "sqlite");
    assert_eq!(after.schema_version, Some(after.supported_schema_version));
    assert!(after.size_bytes.unwrap() > 0);
    assert_eq!(after.synchronous, "full");
    assert_eq!(after.queues, 2);
    assert_eq!((after.counts.pending, after.counts.claimed), (1, 1));
    assert_eq!(after.version, env!("CARGO_PKG_VERSION"));

    let other = env.dir().join("other.db");
    let flagged: Info = env.json(&["info", "--db", other.to_str().unwrap()]);
    assert_eq!((flagged.db_from.as_str(), flagged.exists), ("--db", false));
    let defaulted: Info = env
        .cmd(["info", "--synchronous", "normal"])
        .env_remove("QUEUEPRIM_DB")
        .expect_status(0)
        .json();
    assert_eq!(defaulted.db_from, "default");
    assert_eq!(defaulted.synchronous, "normal");
    assert!(
        defaulted.db.ends_with("queueprim/queueprim.db"),
        "{}",
        defaulted.db
    );
}

#[test]
fn reading_a_database_that_is_not_there_says_so_on_stderr() {
    let env = TestEnv::new();
    let missing = env.dir().join("typo.db");
    let missing = missing.to_str().unwrap();
    for (args, stdout) in [
        (vec!["list"], "[]\n"),
        (vec!["queues"], "[]\n"),
        (vec!["peek", "q"], "[]\n"),
        (vec!["list", "--format", "jsonl"], ""),
    ] {
        let mut args = args.clone();
        args.extend(["--db", missing]);
        env.cmd(&args)
            .expect_status(0)
            .expect_stdout(stdout)
            .expect_stderr_contains(&format!("no database at {missing} (from --db)"));
    }
    let top = env
        .cmd(["top", "--once", "--format", "json", "--db", missing])
        .expect_status(0)
        .expect_stderr_contains(&format!("no database at {missing} (from --db)"));
    assert!(top.stdout.contains(r#""queues":[]"#), "{}", top.stdout);
    assert!(!std::path::Path::new(missing).exists());
    env.enqueue("q", "1", &[]);
    let run = env.cmd(["list"]).expect_status(0);
    assert_eq!(run.stderr, "", "a database that is there gets no note");
}

// ---------------------------------------------------------------------------------------
// Tables for people

use unicode_width::UnicodeWidthStr;

/// A table command's stdout lines, in a pipe, at the given `COLUMNS` (none: the default).
fn table(env: &TestEnv, args: &[&str], columns: Option<&str>) -> crate::harness::Run {
    let mut cmd = env
        .cmd(args)
        .args(["--format", "table"])
        .env_remove("COLUMNS");
    if let Some(columns) = columns {
        cmd = cmd.env("COLUMNS", columns);
    }
    cmd.expect_status(0)
}

/// The display column where `needle` starts in `line`.
fn column_of(line: &str, needle: &str) -> Option<usize> {
    line.find(needle).map(|at| line[..at].width())
}

fn wide_jobs(env: &TestEnv) {
    let long_queue = "tenant/a-very-long-queue-name-that-goes-on-and-on-for-a-while";
    env.enqueue(
        long_queue,
        r#"{"msg":"日本語のテキストです、とても長いペイロードです"}"#,
        &["--type", "resize-images-to-thumbnails"],
    );
    env.enqueue(
        "q",
        r#"{"party":"🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉"}"#,
        &[],
    );
    env.enqueue(
        "q",
        r#"{"plain":"ascii text that is quite long, longer than the rest"}"#,
        &[],
    );
    env.dequeue(
        "q",
        &[
            "--worker",
            "a-worker-name-that-is-far-too-long-for-any-table:12345",
        ],
    );
}

#[test]
fn list_and_queues_fit_80_columns_with_wide_characters_aligned() {
    let env = TestEnv::new();
    wide_jobs(&env);
    for args in [&["list"][..], &["queues"]] {
        let run = table(&env, args, None);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert!(lines.len() >= 3, "{}", run.stdout);
        for line in &lines {
            assert!(
                line.width() <= 80,
                "{} columns: {line}\n{}",
                line.width(),
                run.stdout
            );
        }
    }
    let run = table(&env, &["list"], None);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let status_at = column_of(lines[0], "STATUS").unwrap();
    for line in &lines[1..] {
        let at = ["pending", "claimed"]
            .iter()
            .find_map(|s| column_of(line, s))
            .unwrap();
        assert_eq!(at, status_at, "aligned by display width:\n{}", run.stdout);
    }
    assert!(
        run.stdout.contains('…'),
        "long values are cut: {}",
        run.stdout
    );
    assert!(!run
        .stdout
        .contains("a-very-long-queue-name-that-goes-on-and-on"));
    assert!(!run.stdout.contains("far-too-long-for-any-table"));

    let wider = table(&env, &["list"], Some("160"));
    assert!(
        wider.stdout.lines().any(|l| l.width() > 80),
        "{}",
        wider.stdout
    );
    assert!(wider.stdout.lines().all(|l| l.width() <= 160));
}

#[test]
fn list_says_when_it_stopped_at_its_limit() {
    let env = TestEnv::new();
    for n in 0..3 {
        env.enqueue("q", &n.to_string(), &[]);
    }
    let run = table(&env, &["list", "--limit", "2"], None);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    assert!(
        run.stderr.contains("showing the newest 2 of 3 jobs"),
        "{}",
        run.stderr
    );
    let jobs: Vec<Job> = env
        .cmd(["list", "--limit", "2"])
        .expect_status(0)
        .expect_stderr_contains("2 of 3")
        .json();
    assert_eq!(jobs.len(), 2, "JSON stays the array; the note is on stderr");
    let whole = env.cmd(["list", "--limit", "3"]).expect_status(0);
    assert_eq!(whole.stderr, "", "not cut, no note");
}

#[test]
fn empty_results_say_so_the_same_way_in_every_table_command() {
    let env = TestEnv::new();
    env.enqueue("other", "1", &[]);
    env.dequeue("other", &[]);
    for (args, says) in [
        (&["list", "--status", "dead"][..], "no jobs"),
        (&["peek", "q"], "no jobs"),
        (&["retry", "--queue", "q"], "no jobs"),
        (&["dequeue", "q", "--count", "5"], "no jobs"),
    ] {
        let run = table(&env, args, None);
        assert_eq!(
            (run.stdout.as_str(), run.stderr.trim()),
            ("", says),
            "{args:?}"
        );
    }
    let fresh = TestEnv::new();
    let run = fresh.cmd(["queues", "--format", "table"]).expect_status(0);
    assert!(run.stderr.ends_with("no queues\n"), "{}", run.stderr);
}

/// Runs queueprim on a pseudo-terminal (`script`), returning what the terminal showed.
fn on_a_terminal(env: &TestEnv, args: &str, no_color: bool) -> String {
    let command = format!(
        "{} --db '{}' {args}",
        crate::harness::BIN,
        env.db().display()
    );
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env_remove("QUEUEPRIM_FORMAT")
        .env_remove("NO_COLOR");
    if no_color {
        script.env("NO_COLOR", "1");
    }
    let out = script
        .output()
        .expect("script (util-linux) runs the command on a terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn statuses_are_coloured_on_a_terminal_only() {
    let env = TestEnv::new();
    let done = env.enqueue("q", "1", &[]);
    env.dequeue("q", &[]);
    env.json::<Job>(&["complete", &done.id]);
    env.enqueue("q", "2", &[]);
    let shown = on_a_terminal(&env, "list", false);
    assert!(shown.contains("\x1b[32mdone\x1b[0m"), "{shown:?}");
    assert!(shown.contains("\x1b[33mpending\x1b[0m"), "{shown:?}");
    let plain = on_a_terminal(&env, "list", true);
    assert!(
        plain.contains("done") && !plain.contains('\x1b'),
        "NO_COLOR: {plain:?}"
    );
    let piped = table(&env, &["list"], None);
    assert!(!piped.stdout.contains('\x1b'), "{:?}", piped.stdout);
}

// ---------------------------------------------------------------------------------------
// Fencing is the way shown; help stays short

use clap::CommandFactory;
use queueprim::cli::Cli;

/// Every subcommand's name, from the clap tree.
fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// The lines of `text` that call complete, fail or extend on a job.
fn finishing_calls(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("Usage:"))
        .filter(|l| {
            [
                "queueprim complete ",
                "queueprim fail ",
                "queueprim extend ",
            ]
            .iter()
            .any(|verb| l.replace("\\-", "-").contains(verb))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_example_that_finishes_a_job_passes_its_claim() {
    let env = TestEnv::new();
    let mut texts = vec![];
    for name in subcommands() {
        texts.push((
            format!("{name} --help"),
            env.cmd([name.as_str(), "--help"]).expect_status(0).stdout,
        ));
    }
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for doc in ["README.md", "AGENTS.md"] {
        texts.push((doc.into(), std::fs::read_to_string(root.join(doc)).unwrap()));
    }
    for page in std::fs::read_dir(root.join("man")).unwrap() {
        let page = page.unwrap().path();
        texts.push((
            page.display().to_string(),
            std::fs::read_to_string(&page).unwrap(),
        ));
    }
    let mut seen = 0;
    for (source, text) in &texts {
        for call in finishing_calls(text) {
            seen += 1;
            assert!(
                call.replace("\\-", "-").contains("--claim"),
                "{source}: {call}"
            );
        }
    }
    assert!(seen >= 10, "the examples were found: {seen}");
}

#[test]
fn dequeue_s_timeout_says_what_expiry_does_and_a_late_complete_then_works() {
    let env = TestEnv::new();
    let help = env.cmd(["dequeue", "--help"]).expect_status(0).stdout;
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "counts a failed attempt: with the default --max-retries 0 the job is then dead"
        ),
        "{help}"
    );
    assert!(
        flat.contains("late complete --claim TOKEN still makes it done"),
        "{help}"
    );

    let job = env.enqueue("q", "1", &[]);
    let claimed = env.dequeue("q", &["--timeout", "1s"]);
    let claim = claimed.claim.unwrap();
    crate::support::wait::sleep_past(claimed.visible_after.as_deref().unwrap());
    let sweep: crate::harness::Sweep = env.json(&["sweep", "--once"]);
    assert_eq!(sweep.dead, 1);
    let done: Job = env.json(&["complete", &job.id, "--claim", &claim]);
    assert_eq!(
        (done.status.as_str(), done.attempts, done.attempt_count),
        ("done", 1, 1)
    );
}

#[test]
fn help_lists_global_options_once_apart_and_keeps_to_its_own_command() {
    let env = TestEnv::new();
    for name in subcommands() {
        let help = env.cmd([name.as_str(), "--help"]).expect_status(0).stdout;
        let (own, global) = help
            .split_once("Global options:")
            .unwrap_or_else(|| panic!("{name}: no Global options heading:\n{help}"));
        let own = own
            .split_once("\nOptions:")
            .map_or(own, |(_, options)| options);
        for flag in ["--db ", "--format ", "--synchronous "] {
            assert!(!own.contains(flag), "{name}: {flag} among its own options");
            assert_eq!(global.matches(flag).count(), 1, "{name}: {flag} once");
        }
    }
    let dequeue = env.cmd(["dequeue", "--help"]).expect_status(0).stdout;
    for other in ["renew", "work's", "HOST:PID"] {
        assert!(
            !dequeue.contains(other),
            "dequeue's help explains work: {other}"
        );
    }
    let work = env.cmd(["work", "--help"]).expect_status(0).stdout;
    assert!(work.contains("renewed"), "{work}");
}

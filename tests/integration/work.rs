//! `queueprim work`: real commands run per job, claims renewed while they run, results
//! recorded under the retry rule, and shutdown that leaves no claimed job and no child.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::harness::{millis, Counts, Job, TestEnv};
use crate::support::process::{send_signal, wait_for};
use crate::support::wait::{eventually, now_ms, GENEROUS};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobEvent {
    event: String,
    id: String,
    queue: String,
    attempt: u32,
    result: String,
    reason: Option<String>,
    duration_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryEvent {
    event: String,
    done: u64,
    retried: u64,
    dead: u64,
    lost: u64,
    released: u64,
    runs: u64,
}

/// Runs `work QUEUE --until-empty [extra] -- sh -c SCRIPT` to the end.
#[track_caller]
fn work_until_empty(env: &TestEnv, extra: &[&str], script: &str) -> crate::harness::Run {
    let mut args = vec!["work", "q", "--until-empty"];
    args.extend_from_slice(extra);
    args.extend(["--", "sh", "-c", script]);
    env.cmd(&args).expect_status(0)
}

fn get(env: &TestEnv, id: &str) -> Job {
    env.json(&["get", id])
}

/// Processes whose command line contains `marker`, from /proc.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) && !cmdline.contains("sh -c") {
            found.push(cmdline);
        }
    }
    found
}

#[test]
fn command_gets_the_payload_on_stdin_and_the_job_in_its_environment() {
    let env = TestEnv::new();
    let job = env.enqueue(
        "q",
        r#"{"to": "ada@example.com", "n": 1.50}"#,
        &["--type", "mail"],
    );
    let out = env.dir().join("seen");
    let script = format!(
        "cat > {dir}/stdin; env | grep '^QUEUEPRIM_' | sort > {dir}/env",
        dir = shell_quote(&out)
    );
    std::fs::create_dir(&out).unwrap();
    work_until_empty(&env, &["--worker", "w-1"], &script);
    let stdin = std::fs::read_to_string(out.join("stdin")).unwrap();
    assert_eq!(stdin, "{\"to\":\"ada@example.com\",\"n\":1.50}\n");
    let vars = std::fs::read_to_string(out.join("env")).unwrap();
    let claimed = get(&env, &job.id);
    for expected in [
        format!("QUEUEPRIM_JOB_ID={}", job.id),
        "QUEUEPRIM_QUEUE=q".to_string(),
        "QUEUEPRIM_JOB_TYPE=mail".to_string(),
        "QUEUEPRIM_ATTEMPT=1".to_string(),
        format!("QUEUEPRIM_CLAIM={}", claimed.claim.as_deref().unwrap()),
        format!("QUEUEPRIM_DB={}", env.db_arg().to_string_lossy()),
    ] {
        assert!(
            vars.lines().any(|l| l == expected),
            "missing {expected} in\n{vars}"
        );
    }
    assert_eq!(
        (claimed.status.as_str(), claimed.worker.as_deref()),
        ("done", Some("w-1"))
    );
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn stdout_becomes_the_output_as_json_or_as_a_string() {
    let env = TestEnv::new();
    let json_job = env.enqueue("q", r#"{"kind":"json"}"#, &[]);
    let text_job = env.enqueue("q", r#"{"kind":"text"}"#, &[]);
    let quiet_job = env.enqueue("q", r#"{"kind":"quiet"}"#, &[]);
    let script = r#"case "$(cat)" in
        *json*) printf '{ "sum" : 3,\n "ok": true }\n' ;;
        *text*) echo "all good" ;;
        *) : ;;
    esac"#;
    work_until_empty(&env, &[], script);
    assert_eq!(
        get(&env, &json_job.id).output,
        Some(serde_json::json!({"sum": 3, "ok": true}))
    );
    assert_eq!(
        get(&env, &text_job.id).output,
        Some(serde_json::json!("all good\n"))
    );
    let quiet = get(&env, &quiet_job.id);
    assert_eq!((quiet.status.as_str(), quiet.output), ("done", None));
}

#[test]
fn failing_command_records_its_exit_and_stderr_tail_under_the_retry_rule() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &["--max-retries", "1"]);
    let script = "echo noise >&2; echo \"attempt $QUEUEPRIM_ATTEMPT broke\" >&2; exit 3";
    let started = Instant::now();
    let run = work_until_empty(&env, &["--format", "json"], script);
    let whole_run = started.elapsed();
    let failed = get(&env, &job.id);
    assert_eq!((failed.status.as_str(), failed.attempt_count), ("dead", 2));
    let reasons: Vec<&str> = failed.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "exit 3: noise\nattempt 1 broke",
            "exit 3: noise\nattempt 2 broke"
        ]
    );

    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "two job events and a summary:\n{}",
        run.stdout
    );
    let first: JobEvent = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        (first.event.as_str(), first.result.as_str(), first.attempt),
        ("job", "retry", 1)
    );
    assert_eq!(
        (first.id.as_str(), first.queue.as_str()),
        (job.id.as_str(), "q")
    );
    assert!(first.reason.unwrap().starts_with("exit 3"));
    assert!(
        Duration::from_millis(first.duration_ms) <= whole_run,
        "a job's duration ({} ms) is part of the runner's ({whole_run:?})",
        first.duration_ms
    );
    let second: JobEvent = serde_json::from_str(lines[1]).unwrap();
    assert_eq!((second.result.as_str(), second.attempt), ("dead", 2));
    let summary: SummaryEvent = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(summary.event, "summary");
    assert_eq!(
        (summary.done, summary.retried, summary.dead),
        (0, 0, 1),
        "one job, counted once by its last result"
    );
    assert_eq!((summary.lost, summary.released, summary.runs), (0, 0, 2));
}

#[test]
fn command_killed_by_a_signal_fails_with_the_signal_named() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &[]);
    work_until_empty(&env, &[], "echo about to die >&2; kill -9 $$");
    let dead = get(&env, &job.id);
    assert_eq!(dead.status, "dead");
    assert_eq!(dead.errors[0].reason, "signal 9 (SIGKILL): about to die");
}

/// One of the few tests that need the machine to keep up a little (RELIABILITY.md lists
/// them): the runner renews every third of the claim, and its claim guard stops a command
/// two thirds into a claim no renewal has extended, so a renewal may land up to a third of
/// the claim (1 s here) late.
#[test]
fn a_job_running_three_times_its_claim_timeout_completes_once_without_redelivery() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &["--max-retries", "5"]);
    let mut runner = env
        .cmd([
            "work",
            "q",
            "--until-empty",
            "--timeout",
            "3s",
            "--",
            "sh",
            "-c",
            "sleep 9; echo finished",
        ])
        .spawn();
    let mut claimed = get(&env, &job.id);
    eventually(GENEROUS, "the runner to claim the job", || {
        claimed = get(&env, &job.id);
        claimed.status == "claimed"
    });
    let first_deadline = millis(claimed.visible_after.as_deref().unwrap());
    // While the command runs past its claim several times over, nobody else gets the job:
    // other workers look until it is done, long after the claim's first deadline.
    let start = Instant::now();
    let mut looked_past_the_first_deadline = false;
    while get(&env, &job.id).status == "claimed" {
        let asked_at = now_ms();
        env.assert_empty("q");
        looked_past_the_first_deadline |= asked_at > first_deadline;
        assert!(start.elapsed() < GENEROUS, "the job never finished");
        sleep(Duration::from_millis(100));
    }
    assert!(
        looked_past_the_first_deadline,
        "the job finished before its first claim ran out, so nothing was renewed"
    );
    assert!(wait_for(&mut runner, GENEROUS, "queueprim work").success());
    let done = get(&env, &job.id);
    assert_eq!((done.status.as_str(), done.attempt_count), ("done", 0));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    assert_eq!(done.output, Some(serde_json::json!("finished\n")));
}

#[test]
fn concurrency_runs_jobs_side_by_side() {
    let env = TestEnv::new();
    for n in 0..4 {
        env.enqueue("q", &n.to_string(), &[]);
    }
    let rendezvous = env.dir().join("rendezvous");
    std::fs::create_dir(&rendezvous).unwrap();
    // Each job checks in, then waits for all four to have checked in: only jobs that run at
    // the same time can all succeed.
    let script = format!(
        "touch {dir}/$QUEUEPRIM_JOB_ID; i=0; \
         while [ $(ls {dir} | wc -l) -lt 4 ]; do i=$((i+1)); [ $i -gt 1200 ] && exit 1; sleep 0.05; done",
        dir = shell_quote(&rendezvous)
    );
    work_until_empty(&env, &["--concurrency", "4"], &script);
    let stats: Counts = env.json(&["stats"]);
    assert_eq!((stats.done, stats.total), (4, 4));
}

#[test]
fn job_timeout_stops_the_command_and_fails_the_job() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &[]);
    // The command must have written "started" before the timeout strikes: two seconds are
    // for a loaded machine to start a shell, not a measurement.
    let run = work_until_empty(
        &env,
        &["--job-timeout", "2s"],
        "echo started >&2; exec sleep 30",
    );
    let failed = get(&env, &job.id);
    assert_eq!(failed.status, "dead");
    assert_eq!(
        failed.errors[0].reason,
        "timed out after 2s (--job-timeout): started"
    );
    let event: JobEvent = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(event.result, "dead");
}

#[test]
fn sigterm_mid_job_gives_the_job_back_and_leaves_no_process_behind() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &[]);
    // The job starts a grandchild; both must be gone when the runner has exited. The marker
    // names this test process, so a copy of the suite running beside it is not mistaken
    // for this one.
    let marker = format!("37.{:07}", std::process::id());
    let script = format!("sleep {marker} & wait");
    let mut runner = env
        .cmd(["work", "q", "--grace", "300ms", "--", "sh", "-c", &script])
        .spawn();
    eventually(GENEROUS, "the job to start", || {
        !processes_with(&marker).is_empty()
    });
    send_signal(&runner, libc::SIGTERM);
    let status = wait_for(&mut runner, GENEROUS, "queueprim work");
    assert_eq!(status.code(), Some(0));
    let released = get(&env, &job.id);
    assert_eq!(
        (released.status.as_str(), released.attempt_count),
        ("pending", 0)
    );
    assert!(released.errors.is_empty());
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    let stats: Counts = env.json(&["stats"]);
    assert_eq!(stats.claimed, 0);
}

#[test]
fn sigint_lets_a_running_job_finish_within_the_grace_period() {
    let env = TestEnv::new();
    let first = env.enqueue("q", "1", &[]);
    let second = env.enqueue("q", "2", &[]);
    let flag = env.dir().join("started");
    let script = format!("touch {}; sleep 1; echo ok", shell_quote(&flag));
    let mut runner = env
        .cmd(["work", "q", "--grace", "20s", "--", "sh", "-c", &script])
        .spawn();
    eventually(GENEROUS, "the first job to start", || flag.exists());
    send_signal(&runner, libc::SIGINT);
    assert_eq!(
        wait_for(&mut runner, GENEROUS, "queueprim work").code(),
        Some(0)
    );
    assert_eq!(get(&env, &first.id).status, "done");
    // Nothing new is claimed once the signal came.
    assert_eq!(get(&env, &second.id).status, "pending");
}

#[test]
fn max_jobs_stops_after_n_and_until_empty_after_the_last() {
    let env = TestEnv::new();
    for n in 0..5 {
        env.enqueue("q", &n.to_string(), &[]);
    }
    env.cmd(["work", "q", "--max-jobs", "2", "--", "true"])
        .expect_status(0);
    let stats: Counts = env.json(&["stats"]);
    assert_eq!((stats.done, stats.pending), (2, 3));
    env.cmd(["work", "--queue", "q", "--until-empty", "--", "true"])
        .expect_status(0);
    let stats: Counts = env.json(&["stats"]);
    assert_eq!((stats.done, stats.pending), (5, 0));
}

#[test]
fn type_filter_and_priority_order_apply_as_in_dequeue() {
    let env = TestEnv::new();
    env.enqueue("q", r#""low""#, &["--priority", "low", "--type", "a"]);
    env.enqueue("q", r#""high""#, &["--priority", "high", "--type", "a"]);
    env.enqueue("q", r#""other""#, &["--type", "b"]);
    let log = env.dir().join("order");
    let script = format!("cat >> {}", shell_quote(&log));
    work_until_empty(&env, &["--type", "a"], &script);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "\"high\"\n\"low\"\n"
    );
    let stats: Counts = env.json(&["stats"]);
    assert_eq!((stats.done, stats.pending), (2, 1));
}

#[test]
fn a_claim_lost_while_running_is_reported_and_nothing_is_recorded() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &[]);
    let flag = env.dir().join("started");
    let script = format!("touch {}; sleep 20", shell_quote(&flag));
    let mut runner = env
        .cmd([
            "work",
            "q",
            "--until-empty",
            "--timeout",
            "1s",
            "--format",
            "jsonl",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .spawn();
    eventually(GENEROUS, "the job to start", || flag.exists());
    // The job disappears under the runner; its next renewal finds the claim gone.
    env.cmd(["purge", "--queue", "q", "--status", "claimed"])
        .expect_status(0);
    assert!(wait_for(&mut runner, GENEROUS, "queueprim work").success());
    let output = runner.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let event: JobEvent = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        (event.id.as_str(), event.result.as_str()),
        (job.id.as_str(), "lost")
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("lost the claim"));
}

#[test]
fn a_command_that_does_not_exist_is_refused_before_claiming() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &[]);
    env.cmd(["work", "q", "--", "definitely-not-a-command-3141"])
        .expect_status(2)
        .expect_stderr_contains("definitely-not-a-command-3141");
    assert_eq!(get(&env, &job.id).status, "pending");
    env.cmd(["work", "q"]).expect_status(2);
}

#[test]
fn the_per_job_line_says_how_long_a_try_took_and_the_summary_counts_jobs_once() {
    let env = TestEnv::new();
    let flaky = env.enqueue("q", "{}", &["--max-retries", "1"]);
    let script = r#"[ "$QUEUEPRIM_ATTEMPT" -ge 2 ] || { echo boom >&2; exit 1; }"#;
    let run = work_until_empty(&env, &["--format", "table"], script);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with(&flaky.id) || l.starts_with("work:"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", run.stderr);
    assert!(
        lines[0].starts_with(&format!("{} try 1 took ", flaky.id))
            && lines[0].contains("s: failed, will retry: exit 1"),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains("retry in"), "{}", lines[0]);
    assert!(lines[1].contains("try 2 took ") && lines[1].ends_with("s: done"));
    assert_eq!(
        lines[2],
        "work: 1 job in 2 runs: 1 done, 0 to retry, 0 dead, 0 lost, 0 released"
    );
}

#[test]
fn until_drained_waits_for_delayed_and_backing_off_jobs() {
    let env = TestEnv::new();
    let now = env.enqueue("q", "{}", &[]);
    let later = env.enqueue("q", "{}", &["--delay", "1s"]);
    let flaky = env.enqueue(
        "q",
        r#"{"flaky":true}"#,
        &["--max-retries", "1", "--backoff", "500ms"],
    );
    let script = r#"grep -q flaky && [ "$QUEUEPRIM_ATTEMPT" -lt 2 ] && exit 1; exit 0"#;

    let run = env
        .cmd([
            "work",
            "q",
            "--until-drained",
            "--format",
            "json",
            "--",
            "sh",
            "-c",
            script,
        ])
        .expect_status(0);
    for job in [&now, &later, &flaky] {
        assert_eq!(get(&env, &job.id).status, "done", "{}", run.stdout);
    }
    let summary: SummaryEvent = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!((summary.done, summary.retried), (3, 0), "{}", run.stdout);
    assert_eq!(summary.runs, 4, "{}", run.stdout);
}

#[test]
fn until_empty_leaves_delayed_jobs_that_until_drained_would_wait_for() {
    let env = TestEnv::new();
    let later = env.enqueue("q", "{}", &["--delay", "1h"]);
    work_until_empty(&env, &[], "exit 0");
    assert_eq!(get(&env, &later.id).status, "pending");
}

#[test]
fn until_drained_waits_for_jobs_claimed_by_others() {
    let env = TestEnv::new();
    let theirs = env.enqueue("q", "{}", &[]);
    let claim = env.dequeue("q", &["--worker", "other"]).claim.unwrap();
    let mine = env.enqueue("q", "{}", &[]);
    let mut runner = env
        .cmd(["work", "q", "--until-drained", "--", "sh", "-c", "exit 0"])
        .spawn();
    eventually(GENEROUS, "the runner to do its job", || {
        get(&env, &mine.id).status == "done"
    });
    assert!(
        runner.try_wait().unwrap().is_none(),
        "the other worker's job is not finished, so the queue is not drained"
    );
    env.json::<Job>(&["complete", &theirs.id, "--claim", &claim]);
    assert!(wait_for(&mut runner, GENEROUS, "queueprim work --until-drained").success());
}

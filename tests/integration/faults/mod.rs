//! Faults and bad input: a full disk and a file-size limit, invalid UTF-8 and control
//! characters, every flag of the clap tree given nonsense, and payloads at and over 1 MiB.

mod disk;
mod encoding;
mod nonsense;
mod sizes;
mod tmpfs;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use serde_json::Value;

use crate::harness::{Job, Run, TestEnv};

/// The largest payload or output, in bytes of compact JSON.
const MIB: usize = 1024 * 1024;

/// An argument from raw bytes, which need not be UTF-8.
fn raw(bytes: &[u8]) -> OsString {
    OsStr::from_bytes(bytes).to_owned()
}

/// Up to 300 characters of `text`, for failure messages that might hold a 1 MiB payload.
fn clip(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
        None => text.to_string(),
    }
}

/// What is wrong with a run that should have been refused or failed with `code`: it must
/// print nothing on stdout and one plain `error:` line on stderr, with no raw control
/// character a terminal would act on.
fn error_line_problem(run: &Run, code: i32) -> Option<String> {
    let one_line = run.stderr.starts_with("error: ")
        && run.stderr.ends_with('\n')
        && run.stderr.lines().count() == 1;
    let problem = if run.code != Some(code) {
        format!("exited {:?}, expected {code}", run.code)
    } else if !run.stdout.is_empty() {
        format!("printed on stdout: {}", clip(&run.stdout))
    } else if !one_line {
        "stderr is not one error line".to_string()
    } else if run.stderr.trim_end().chars().any(char::is_control) {
        "raw control characters in the error".to_string()
    } else {
        return None;
    };
    Some(problem)
}

/// A problem with a run, followed by the command line and its error, so that sorted lists
/// of problems group alike failures.
fn described(problem: &str, run: &Run) -> String {
    format!(
        "{problem} -- queueprim {} -- {}",
        clip(&run.args),
        clip(run.stderr.trim_end())
    )
}

#[track_caller]
fn assert_one_error_line(run: &Run, code: i32) {
    if let Some(problem) = error_line_problem(run, code) {
        panic!("{}", described(&problem, run));
    }
}

/// Fails the test with every problem found, so one run shows them all.
#[track_caller]
fn assert_no_problems(problems: &[String], out_of: usize) {
    assert!(
        problems.is_empty(),
        "{} of {out_of} command lines misbehaved:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A job as `get` prints it, to compare whole before and after.
fn snapshot(env: &TestEnv, id: &str) -> Value {
    env.json(&["get", id])
}

/// What `enqueue` printed, as `get` would print it (without `deduplicated`).
fn as_stored(enqueued: &Run) -> Value {
    let mut job: Value = enqueued.json();
    job.as_object_mut()
        .expect("a job object")
        .remove("deduplicated");
    job
}

/// Asserts every job recorded earlier is still exactly as it was.
#[track_caller]
fn assert_jobs_intact(env: &TestEnv, jobs: &[Value]) {
    for job in jobs {
        let id = job["id"].as_str().expect("a job id");
        assert_eq!(&snapshot(env, id), job, "job {id} changed");
    }
}

/// A job enqueued and claimed, and its claim token.
fn claimed_job(env: &TestEnv, queue: &str) -> (Job, String) {
    env.enqueue(queue, r#"{"claimed":true}"#, &["--max-retries", "5"]);
    let job = env.dequeue(queue, &["--worker", "w1"]);
    let claim = job.claim.clone().expect("a claimed job has a token");
    (job, claim)
}

/// A JSON string payload of `bytes` bytes.
fn string_payload(bytes: usize, fill: char) -> String {
    format!("\"{}\"", fill.to_string().repeat(bytes - 2))
}

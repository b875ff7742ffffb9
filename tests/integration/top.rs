//! `queueprim top`: one frame with `--once`, frames one after another in a pipe (JSON lines
//! or plain tables, never a terminal's escape codes), rates counted over the interval, and
//! SIGINT ending it with exit 0, on this binary's engine.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::thread;

use serde::Deserialize;

use crate::harness::TestEnv;
use crate::support::process::{send_signal, Reaped};
use crate::support::wait::GENEROUS;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Frame {
    at: String,
    interval_ms: i64,
    queues: Vec<QueueFrame>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueFrame {
    queue: String,
    pending: u64,
    claimed: u64,
    done: u64,
    dead: u64,
    total: u64,
    paused: bool,
    done_per_second: f64,
    dead_per_second: f64,
    oldest_pending_ms: Option<i64>,
}

fn finish(env: &TestEnv, queue: &str, dead: bool) {
    let job = env.enqueue(queue, "{}", &[]);
    assert_eq!(env.dequeue(queue, &[]).id, job.id);
    match dead {
        true => env.cmd(["fail", &job.id, "--dead"]).expect_status(0),
        false => env.cmd(["complete", &job.id]).expect_status(0),
    };
}

#[test]
fn one_frame_shows_each_queue_s_counts_rates_and_oldest_waiting_job() {
    let env = TestEnv::new();
    finish(&env, "emails", false);
    finish(&env, "emails", false);
    finish(&env, "emails", true);
    env.enqueue("emails", "{}", &[]);
    env.enqueue("later", "{}", &["--delay", "1h"]);
    env.cmd(["pause", "later"]).expect_status(0);
    let frame: Frame = env.json(&["top", "--once", "--interval", "1h"]);
    crate::harness::assert_timestamp(&frame.at);
    assert_eq!(frame.interval_ms, 3_600_000);
    let names: Vec<&str> = frame.queues.iter().map(|q| q.queue.as_str()).collect();
    assert_eq!(names, ["emails", "later"]);
    let emails = &frame.queues[0];
    assert_eq!(
        (
            emails.pending,
            emails.claimed,
            emails.done,
            emails.dead,
            emails.total
        ),
        (1, 0, 2, 1, 4)
    );
    assert!(!emails.paused);
    // Finished within the last hour: two done and one dead, per second.
    assert!(
        (emails.done_per_second * 3600.0 - 2.0).abs() < 1e-9,
        "{emails:?}"
    );
    assert!(
        (emails.dead_per_second * 3600.0 - 1.0).abs() < 1e-9,
        "{emails:?}"
    );
    assert!(
        emails.oldest_pending_ms.is_some_and(|ms| ms >= 0),
        "{emails:?}"
    );
    let later = &frame.queues[1];
    assert!(later.paused);
    assert_eq!(
        later.oldest_pending_ms, None,
        "a delayed job is not waiting yet"
    );
}

#[test]
fn a_table_frame_fits_the_width_without_escape_codes() {
    let env = TestEnv::new();
    let long = format!("tenant/acme/{}", "x".repeat(60));
    finish(&env, &long, true);
    let run = env
        .cmd(["top", "--once", "--format", "table"])
        .env("COLUMNS", "50")
        .expect_status(0);
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[1].starts_with("QUEUE"), "{}", run.stdout);
    assert!(lines[2].starts_with("tenant/acme/x"), "{}", run.stdout);
    for line in &lines {
        assert!(
            unicode_width::UnicodeWidthStr::width(*line) <= 50,
            "{line:?} is wider than 50"
        );
    }
}

#[test]
fn frames_follow_each_other_until_sigint_ends_it_with_exit_0() {
    let env = TestEnv::new();
    env.enqueue("emails", "{}", &[]);
    let mut top = Reaped::new(
        env.cmd(["top", "--interval", "200ms", "--format", "jsonl"])
            .spawn(),
    );
    let stdout = top.child().stdout.take().unwrap();
    let (frames, arriving) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = frames.send(line);
        }
    });
    let next = || -> Frame {
        let line = arriving.recv_timeout(GENEROUS).expect("a frame");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let first = next();
    assert_eq!(first.queues[0].pending, 1);
    // A job finished while it runs shows up in a later frame, with a rate.
    let job = env.dequeue("emails", &[]);
    env.cmd(["complete", &job.id]).expect_status(0);
    let deadline = std::time::Instant::now() + GENEROUS;
    loop {
        let frame = next();
        let emails = &frame.queues[0];
        if emails.done == 1 {
            assert_eq!(emails.pending, 0);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no frame showed the job done"
        );
    }
    send_signal(top.child(), libc::SIGINT);
    let ended = top.finish(GENEROUS, "top after SIGINT");
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
}

#[test]
fn frames_in_a_pipe_are_plain_lines_one_after_another() {
    let env = TestEnv::new();
    env.enqueue("emails", "{}", &[]);
    let mut top = Reaped::new(
        env.cmd(["top", "--interval", "100ms", "--format", "table"])
            .spawn(),
    );
    let stdout = top.child().stdout.take().unwrap();
    let (lines, arriving) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // Frames of a title, the header and a row each, a blank line between: the third
    // header means two have been read whole.
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|l: &&String| l.starts_with("QUEUE"))
        .count()
        < 3
    {
        seen.push(arriving.recv_timeout(GENEROUS).expect("a line"));
    }
    send_signal(top.child(), libc::SIGTERM);
    let ended = top.finish(GENEROUS, "top after SIGTERM");
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let text = seen.join("\n");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(seen.iter().any(|l| l.is_empty()), "{text}");
    assert!(
        seen.iter().filter(|l| l.starts_with("emails ")).count() >= 2,
        "{text}"
    );
}

#[test]
fn without_a_database_it_shows_no_queues_and_creates_nothing() {
    let env = TestEnv::new();
    let frame: Frame = env.json(&["top", "--once"]);
    assert!(frame.queues.is_empty());
    assert!(!env.db_exists());
    let refused = env.cmd(["top", "--interval", "10ms"]).expect_status(2);
    assert!(
        refused.stderr.contains("at least 100ms"),
        "{}",
        refused.stderr
    );
}

/// The pid of `parent`'s only child.
fn only_child(parent: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

#[test]
fn at_a_terminal_frames_are_redrawn_in_place_and_the_cursor_comes_back() {
    let env = TestEnv::new();
    env.enqueue("emails", "{}", &[]);
    // script(1) gives top a terminal; `exec` makes top its only child.
    let mut command = env.isolated("script");
    command
        .args([
            "-qefc",
            &format!("exec {} top --interval 200ms", crate::harness::BIN),
        ])
        .arg("/dev/null")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut script = Reaped::new(command.spawn().expect("script(1), from util-linux"));
    let stdout = script.child().stdout.take().unwrap();
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let written = std::sync::Arc::clone(&screen);
    thread::spawn(move || {
        use std::io::Read;
        let mut stdout = stdout;
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            written
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    crate::support::wait::eventually(GENEROUS, "two frames drawn", || {
        screen.lock().unwrap().matches("\u{1b}[H").count() >= 2
    });
    let top = only_child(script.child().id()).expect("top under script");
    // SAFETY: kill(2) on a live process of this test; no memory effects.
    assert_eq!(unsafe { libc::kill(top as libc::pid_t, libc::SIGINT) }, 0);
    let ended = script.finish(GENEROUS, "top after SIGINT");
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let screen = screen.lock().unwrap().clone();
    assert!(
        screen.starts_with("\u{1b}[?25l\u{1b}[2J\u{1b}[H"),
        "the screen is not cleared first: {screen:?}"
    );
    assert!(screen.contains("Ctrl-C to stop"), "{screen:?}");
    assert!(screen.contains("emails"), "{screen:?}");
    assert!(
        screen.trim_end().ends_with("\u{1b}[?25h"),
        "the cursor is not shown again: {screen:?}"
    );
}

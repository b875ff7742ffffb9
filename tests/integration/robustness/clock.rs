//! `dequeue --wait=DUR` is timed on the monotonic clock: stepping the wall clock back must
//! not stretch the wait (a day back made it hang for a day), nor stepping it forward cut it
//! short. The wall clock is stepped for queueprim alone with libfaketime, which reads the
//! offset from a file on every call, leaving the monotonic clock alone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::harness::{Job, TestEnv};
use crate::support::faketime::libfaketime;

/// A wall clock offset that the test can step while queueprim runs.
struct FakeClock {
    offset_file: PathBuf,
}

impl FakeClock {
    fn new(dir: &Path) -> FakeClock {
        let clock = FakeClock {
            offset_file: dir.join("faketime-offset"),
        };
        clock.step("+0");
        clock
    }

    /// Sets the offset from the real time, like `-1d` or `+1h`.
    fn step(&self, offset: &str) {
        fs::write(&self.offset_file, format!("{offset}\n")).unwrap();
    }

    /// `queueprim ARGS` on `env`'s database, on this clock.
    fn spawn(&self, env: &TestEnv, args: &[&str]) -> Child {
        env.cmd(args)
            .env("LD_PRELOAD", libfaketime())
            .env("FAKETIME_TIMESTAMP_FILE", &self.offset_file)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .spawn()
    }
}

/// Waits until `child` sleeps between looks for work, so the wait has begun, with its end
/// fixed, before the clock is stepped.
fn wait_until_sleeping(child: &mut Child) {
    let syscall = format!("/proc/{}/syscall", child.id());
    let sleeps = [libc::SYS_nanosleep, libc::SYS_clock_nanosleep];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now_in: Option<i64> = fs::read_to_string(&syscall)
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse().ok());
        if now_in.is_some_and(|n| sleeps.contains(&n)) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("queueprim exited ({status}) before it began waiting");
        }
        assert!(Instant::now() < deadline, "queueprim never began waiting");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` to exit, failing after `limit` (hang-catching only).
fn exit_within(child: Child, limit: Duration, what: &str) -> std::process::Output {
    let mut child = child;
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{what}: still waiting after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_wait_ends_on_time_when_the_wall_clock_steps_back_a_day() {
    let env = TestEnv::new();
    let clock = FakeClock::new(env.dir());
    let mut dequeue = clock.spawn(&env, &["dequeue", "q", "--wait=2s"]);
    wait_until_sleeping(&mut dequeue);
    clock.step("-1d");
    let output = exit_within(dequeue, Duration::from_secs(60), "dequeue --wait=2s");
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty(), "nothing was claimed");
}

#[test]
fn a_wait_does_not_end_early_when_the_wall_clock_steps_forward_an_hour() {
    let env = TestEnv::new();
    let clock = FakeClock::new(env.dir());
    let mut dequeue = clock.spawn(&env, &["dequeue", "q", "--wait=10m"]);
    wait_until_sleeping(&mut dequeue);
    clock.step("+1h");
    // A wait timed on the wall clock ends within one poll (25 ms) of the step; watch for
    // that for a second, then give the waiter a job it must still be there to take.
    let watch_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < watch_until {
        if let Some(status) = dequeue.try_wait().unwrap() {
            panic!("dequeue --wait=10m gave up ({status}) when the clock stepped forward");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let job = env.enqueue("q", r#"{"n":1}"#, &[]);
    let output = exit_within(dequeue, Duration::from_secs(60), "dequeue --wait=10m");
    assert!(output.status.success(), "{output:?}");
    let claimed: Job = serde_json::from_slice(&output.stdout).expect("the job");
    assert_eq!(claimed.id, job.id);
}

#[test]
fn sweep_passes_keep_their_interval_when_the_wall_clock_steps_back_a_day() {
    let env = TestEnv::new();
    let job = env.enqueue("q", r#"{"n":1}"#, &["--max-retries", "1"]);
    let clock = FakeClock::new(env.dir());
    let mut sweep = clock.spawn(&env, &["sweep", "--interval", "1s"]);
    wait_until_sleeping(&mut sweep);
    clock.step("-1d");
    // Claimed on the same stepped clock, so the sweeper sees the claim expire a second
    // later; a daemon spacing its passes on the wall clock sleeps a day first.
    let dequeue = clock.spawn(&env, &["dequeue", "q", "--timeout", "1s"]);
    let output = exit_within(dequeue, Duration::from_secs(60), "dequeue");
    let claimed: Job = serde_json::from_slice(&output.stdout).expect("the job");
    assert_eq!(claimed.id, job.id);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now: Job = env.json(&["get", &job.id]);
        if now.status == "pending" {
            assert_eq!(now.attempt_count, 1, "released as an expired claim");
            break;
        }
        if Instant::now() > deadline {
            let _ = sweep.kill();
            panic!("sweep never released the expired claim: {now:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    sweep.kill().unwrap();
    sweep.wait().unwrap();
}

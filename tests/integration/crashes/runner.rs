//! `work` SIGKILLed while its job's command runs.

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::harness::TestEnv;
use crate::support::process::{ended, is_running, kill_group, Ended, Reaped};
use crate::support::rng::Rng;
use crate::support::wait::{eventually, sleep_past, GENEROUS};

use super::{assert_redelivered, deadline, get, ms};

/// A process group started by a job's command: killed when dropped, so a command that
/// outlives its runner never outlives the test.
struct CommandGroup {
    leader: u32,
}

impl CommandGroup {
    /// The group whose leader wrote its pid (`echo $$`) to `pid_file`, once it has.
    fn from_pid_file(pid_file: &Path) -> CommandGroup {
        let mut leader = None;
        eventually(GENEROUS, "the job's command to start", || {
            leader = fs::read_to_string(pid_file)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            leader.is_some()
        });
        CommandGroup {
            leader: leader.unwrap(),
        }
    }
}

impl Drop for CommandGroup {
    fn drop(&mut self) {
        kill_group(self.leader);
    }
}

#[test]
fn a_work_runner_killed_mid_job_has_its_claim_redelivered_after_the_timeout() {
    let mut rng = Rng::for_test("work_runner_killed_mid_job");
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &["--max-retries", "1"]);
    let pid_file = env.dir().join("command.pid");
    let mut runner = Reaped::new(
        env.cmd([
            "work",
            "q",
            "--worker",
            "runner-1",
            "--timeout",
            "1s",
            "--",
            "sh",
            "-c",
            "echo $$ > \"$1\"; exec sleep 30",
            "sh",
            pid_file.to_str().expect("utf-8 path"),
        ])
        .spawn(),
    );
    let command = CommandGroup::from_pid_file(&pid_file);
    // Anywhere in the runner's renewal cycle (it renews every third of the timeout).
    sleep(rng.between(Duration::ZERO, ms(700)));
    assert_eq!(runner.kill(), Ended::Killed);

    let orphaned = get(&env, &job.id);
    assert_eq!(
        (orphaned.status.as_str(), orphaned.attempt_count),
        ("claimed", 0),
        "{orphaned:?}"
    );
    sleep_past(deadline(&orphaned));
    let again = env.dequeue("q", &["--worker", "runner-2", "--timeout", "1m"]);
    assert_redelivered(&orphaned, &again);
    println!(
        "work runner killed: its job's command (pid {}) {} when the job was handed out again",
        command.leader,
        if is_running(command.leader) {
            "was still running"
        } else {
            "had stopped"
        }
    );
}

/// A runner can do nothing once SIGKILLed, but its job's command must not run on unsupervised:
/// once the claim expired another worker would run the job, and the two runs would overlap.
/// The runner's watchdog stops the command's process group. How soon is not asserted (a
/// loaded machine may be slow to schedule it; claims last minutes in practice, one second
/// here): the test waits for the command to stop, within a limit that only catches a
/// watchdog that never acts, and only then lets the claim expire and the next worker in.
#[test]
fn a_job_command_does_not_run_on_after_its_runner_is_sigkilled() {
    let env = TestEnv::new();
    let job = env.enqueue("q", "{}", &["--max-retries", "1"]);
    let dir = env.dir().to_str().expect("utf-8 path").to_string();
    // Attempt 1 would take ten minutes, far past its 1 s claim and this test; attempt 2 is
    // quick. `$1` is the folder for its log of starts and ends and its pid, written once the
    // start is logged, since the runner is killed as soon as the pid is there.
    let script = r#"echo "start $QUEUEPRIM_ATTEMPT" >> "$1/log"
echo $$ > "$1/pid.$QUEUEPRIM_ATTEMPT"
if [ "$QUEUEPRIM_ATTEMPT" = 1 ]; then sleep 600; fi
echo "end $QUEUEPRIM_ATTEMPT" >> "$1/log""#;
    let work = |worker: &str, until_empty: bool| {
        let mut args = vec!["work", "q", "--worker", worker, "--timeout", "1s"];
        if until_empty {
            args.push("--until-empty");
        }
        args.extend(["--", "sh", "-c", script, "sh", &dir]);
        Reaped::new(env.cmd(args).spawn())
    };

    let mut first = work("runner-1", false);
    let command = CommandGroup::from_pid_file(&env.dir().join("pid.1"));
    assert_eq!(first.kill(), Ended::Killed);
    let killed_at = Instant::now();
    eventually(
        GENEROUS,
        "the watchdog to stop the SIGKILLed runner's command",
        || !is_running(command.leader),
    );
    let stopped_after = killed_at.elapsed();
    let orphaned = get(&env, &job.id);
    assert_eq!(
        (orphaned.status.as_str(), orphaned.worker.as_deref()),
        ("claimed", Some("runner-1")),
        "{orphaned:?}"
    );
    sleep_past(deadline(&orphaned));

    // Another worker gets the job once the claim expired, and runs it.
    let mut second = work("runner-2", true);
    assert_eq!(ended(second.child().wait().unwrap()), Ended::Exited(0));
    let done = get(&env, &job.id);
    assert_eq!(
        (done.status.as_str(), done.attempt_count),
        ("done", 1),
        "{done:?}"
    );
    let log = fs::read_to_string(env.dir().join("log")).unwrap();
    assert_eq!(
        log, "start 1\nstart 2\nend 2\n",
        "attempt 1 must never end: it was stopped with its runner, and only attempt 2 ran on"
    );
    println!("the SIGKILLed runner's command was stopped {stopped_after:?} after the kill");
}

//! The sweep daemon that runs throughout the scenario, and the check of what it reported.

use std::io::Read;
use std::process::Child;
use std::thread::{self, JoinHandle};

use crate::harness::{Sweep, TestEnv};
use crate::support::process::{send_signal, wait_at_most, wait_until_catching};
use crate::support::wait::GENEROUS;

/// `sweep --interval 100ms`, running for the whole scenario. Its output is read as it comes,
/// so a long soak cannot fill the pipe and block it; it is killed if the test panics first.
pub struct Sweeper {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// What the sweep daemon did.
pub struct SweepRun {
    pub code: Option<i32>,
    pub stopped_in_time: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Sweeper {
    pub fn start(env: &TestEnv) -> Self {
        let mut child = env
            .cmd(["sweep", "--interval", "100ms", "--format", "json"])
            .spawn();
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        let mut sweeper = Sweeper {
            child,
            stdout,
            stderr,
        };
        // So the SIGTERM sent at the end reaches queueprim's handler instead of killing it.
        wait_until_catching(&mut sweeper.child, &[libc::SIGTERM]);
        sweeper
    }

    /// Sends SIGTERM and waits for the daemon to exit.
    pub fn stop(&mut self) -> SweepRun {
        send_signal(&self.child, libc::SIGTERM);
        let code = match wait_at_most(&mut self.child, GENEROUS) {
            Some(exit) => Some(exit.code()),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                None
            }
        };
        SweepRun {
            code: code.flatten(),
            stopped_in_time: code.is_some(),
            stdout: joined(self.stdout.take()),
            stderr: joined(self.stderr.take()),
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

fn joined(reader: Option<JoinHandle<String>>) -> String {
    reader
        .map(|h| h.join().expect("pipe reader"))
        .unwrap_or_default()
}

/// Checks the daemon exited 0 on SIGTERM, silently on stderr, printing only pass reports;
/// returns how many claims it released and how many of those ended dead.
pub fn check_sweep(sweep: &SweepRun, problems: &mut Vec<String>) -> (u64, u64) {
    if !sweep.stopped_in_time || sweep.code != Some(0) {
        problems.push(format!(
            "sweep exited {:?} after SIGTERM (within {GENEROUS:?}: {}), expected 0",
            sweep.code, sweep.stopped_in_time
        ));
    }
    if !sweep.stderr.is_empty() {
        problems.push(format!(
            "sweep wrote to stderr: {}",
            sweep.stderr.trim_end()
        ));
    }
    let (mut released, mut dead) = (0, 0);
    for line in sweep.stdout.lines() {
        match serde_json::from_str::<Sweep>(line) {
            Ok(report) => {
                released += report.retried + report.dead;
                dead += report.dead;
            }
            Err(e) => problems.push(format!("sweep printed {line:?}: {e}")),
        }
    }
    (released, dead)
}

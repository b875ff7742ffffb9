//! Child processes in tests: how they ended, signalling and killing them (alone or with
//! their process group), what `/proc` says of them, and waiting on them with limits that
//! only catch hangs.

use std::fs;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, sleep};
use std::time::{Duration, Instant};

use crate::harness::Run;

use super::wait::GENEROUS;

/// How a process we may have killed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited on its own, with this code.
    Exited(i32),
    /// SIGKILL.
    Killed,
}

#[track_caller]
pub fn ended(status: ExitStatus) -> Ended {
    match (status.code(), status.signal()) {
        (Some(code), _) => Ended::Exited(code),
        (None, Some(libc::SIGKILL)) => Ended::Killed,
        _ => panic!("process ended in an unexpected way: {status:?}"),
    }
}

/// SIGKILLs a child (harmless if it already exited: it is still ours to reap) and reaps it.
pub fn kill_and_reap(child: &mut Child) -> Ended {
    child.kill().expect("SIGKILL");
    ended(child.wait().expect("reap"))
}

/// SIGKILLs every process in the group that `leader` leads.
pub fn kill_group(leader: u32) {
    // SAFETY: kill(2) with a negative pid signals a process group and touches no memory; a
    // group that is already gone only makes it return ESRCH.
    unsafe {
        libc::kill(-(leader as libc::pid_t), libc::SIGKILL);
    }
}

/// Sends `signal` (`libc::SIGTERM`…) to a child that is not reaped yet.
#[track_caller]
pub fn send_signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on our own unreaped child's pid; no memory effects.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill -{signal} {}", child.id());
}

/// True while `pid` is a live process: not gone, and not a zombie waiting to be reaped.
pub fn is_running(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the command name, which is in parentheses and may hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// True if process `pid` has `file` open.
pub fn has_open(pid: u32, file: &Path) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| fs::read_link(fd.path()).is_ok_and(|target| target == file))
}

/// Waits until the child catches every one of `signals` (read from `/proc/PID/status`), so a
/// signal sent next reaches queueprim's handler instead of killing the process outright,
/// and so the child is known to have got past its start (a waiting dequeue: opened the
/// database and started its wait). Where `/proc` is missing, it gives the child a second.
#[track_caller]
pub fn wait_until_catching(child: &mut Child, signals: &[libc::c_int]) {
    let wanted: u64 = signals
        .iter()
        .map(|s| 1u64 << (s - 1))
        .fold(0, |a, b| a | b);
    let status_path = format!("/proc/{}/status", child.id());
    let deadline = Instant::now() + GENEROUS;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("queueprim exited ({status}) before it installed its signal handlers");
        }
        match fs::read_to_string(&status_path) {
            Ok(text) => {
                let caught = text
                    .lines()
                    .find_map(|line| line.strip_prefix("SigCgt:"))
                    .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                    .unwrap_or(0);
                if caught & wanted == wanted {
                    return;
                }
            }
            Err(_) if !Path::new("/proc/self/status").exists() => {
                sleep(Duration::from_secs(1));
                return;
            }
            Err(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "queueprim did not install its handlers for signals {signals:?} within {GENEROUS:?}"
        );
        sleep(Duration::from_millis(10));
    }
}

/// Waits for the child to exit, at most `limit`: its status, or `None` if it is still
/// running (and not touched).
pub fn wait_at_most(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        sleep(Duration::from_millis(20));
    }
}

/// Waits for the child to exit; one still running after `limit` is killed and the test
/// fails, naming `what`.
#[track_caller]
pub fn wait_for(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    match wait_at_most(child, limit) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {limit:?}");
        }
    }
}

/// What a child did once it exited.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A child that is SIGKILLed and reaped when dropped, so a test that fails half-way leaves
/// no waiting dequeue, daemon or runner behind.
pub struct Reaped(Option<Child>);

impl Reaped {
    pub fn new(child: Child) -> Reaped {
        Reaped(Some(child))
    }

    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child still owned")
    }

    /// SIGKILLs and reaps it now.
    pub fn kill(&mut self) -> Ended {
        kill_and_reap(self.child())
    }

    /// Waits for the child to exit, at most `limit`, and collects its output; a child still
    /// running then is killed and the test fails, showing what it printed.
    #[track_caller]
    pub fn finish(mut self, limit: Duration, what: &str) -> Finished {
        let mut child = self.0.take().expect("child still owned");
        if wait_at_most(&mut child, limit).is_none() {
            let _ = child.kill();
            let output = child.wait_with_output().expect("wait after kill");
            panic!(
                "{what} did not exit within {limit:?}\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let output = child.wait_with_output().expect("collect output");
        Finished {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            // Both are no-ops for a child that already exited and was reaped.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `command` to its end, feeding it `stdin`; kills it if it outlives `limit` (a
/// command that wrongly accepted `--wait=…` or `--interval=…` would otherwise run forever)
/// and then reports no exit code.
pub fn run_to_end(mut command: Command, stdin: Vec<u8>, limit: Duration) -> Run {
    let args = format!("{:?}", command.get_args().collect::<Vec<_>>());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn queueprim");
    let mut pipe = child.stdin.take().expect("stdin");
    let writer = thread::spawn(move || {
        let _ = pipe.write_all(&stdin);
    });
    let pid = child.id() as libc::pid_t;
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let (output, timed_out) = match finished.recv_timeout(limit) {
        Ok(output) => (output, false),
        Err(_) => {
            // SAFETY: the child is not reaped until wait_with_output returns, so the pid
            // still names it (at worst a zombie, which ignores the signal).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            (finished.recv().expect("the waiting thread reports"), true)
        }
    };
    writer.join().expect("stdin writer");
    let output = output.expect("wait for queueprim");
    let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if timed_out {
        stderr.push_str(&format!("[killed: still running after {limit:?}]"));
    }
    Run {
        args,
        code: output.status.code().filter(|_| !timed_out),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    }
}

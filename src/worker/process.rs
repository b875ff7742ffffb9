//! One job's command: started directly (no shell) in its own process group, with the payload
//! on stdin, stdout captured, stderr passed through while its tail is kept; signalled and
//! reaped as a group so nothing it started outlives it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
use std::thread;
use std::time::{Duration, Instant};

use super::watchdog::Announcer;
use crate::input::MAX_JSON_BYTES;
use crate::signals;

/// How much of stderr is kept for the failure reason.
const STDERR_TAIL_BYTES: usize = 2048;

/// What a job's command printed on stdout, up to [`MAX_JSON_BYTES`].
pub struct Captured {
    pub bytes: Vec<u8>,
    /// How many bytes it printed in all, kept or not.
    pub total: usize,
}

/// A command that ended.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Captured,
    pub stderr_tail: String,
    pub duration: Duration,
    /// When the command exited, as soon as it was seen to.
    pub ended: Instant,
}

/// A running command. A thread waits for it and sends its [`Finished`] on the channel given
/// to [`JobProcess::spawn`], so the runner hears of an exit at once instead of polling.
pub struct JobProcess {
    pid: u32,
    started: Instant,
    terminated_at: Option<Instant>,
    finished: bool,
}

impl JobProcess {
    /// Starts `argv` with `env` added and `stdin_data` on its stdin, telling the watchdog
    /// through `announcer` before it runs; when it ends, sends `(key, result)` on `done`.
    pub fn spawn(
        argv: &[OsString],
        env: &[(&str, String)],
        stdin_data: Vec<u8>,
        key: u64,
        done: Sender<(u64, io::Result<Finished>)>,
        announcer: Announcer,
    ) -> io::Result<Self> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command to run"))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a terminal's Ctrl-C reaches the runner only, which then
            // decides when the job should stop; and the group can be signalled as a whole.
            .process_group(0);
        // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
        // calls (`signal`, `getpid`, `write`).
        unsafe {
            command.pre_exec(move || {
                signals::restore_file_size_limit_signal();
                announcer.announce_self();
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let pid = child.id();
        // All three were asked for as pipes above, so they are there.
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(
                "the command's standard streams are not pipes",
            ));
        };
        // A command may exit without reading its input; a broken pipe here is not an error.
        thread::spawn(move || {
            let _ = stdin.write_all(&stdin_data);
        });
        let stdout = thread::spawn(move || capture(stdout));
        let stderr = thread::spawn(move || pass_through_keeping_tail(stderr));
        let started = Instant::now();
        thread::spawn(move || {
            let result = child.wait().map(|status| {
                let ended = Instant::now();
                // Anything the command left running in its group dies with it, so the output
                // pipes close and nothing outlives the job.
                signal_group(pid, libc::SIGKILL);
                Finished {
                    status,
                    stdout: stdout.join().unwrap_or_else(|_| empty()),
                    stderr_tail: stderr.join().unwrap_or_default(),
                    duration: ended - started,
                    ended,
                }
            });
            let _ = done.send((key, result));
        });
        Ok(JobProcess {
            pid,
            started,
            terminated_at: None,
            finished: false,
        })
    }

    /// The command's process group (its own pid, as it leads the group).
    pub fn group(&self) -> u32 {
        self.pid
    }

    pub fn running_for(&self) -> Duration {
        self.started.elapsed()
    }

    /// When [`JobProcess::terminate`] was first called.
    pub fn terminated_at(&self) -> Option<Instant> {
        self.terminated_at
    }

    /// Records that its [`Finished`] arrived, so dropping it signals nothing.
    pub fn mark_finished(&mut self) {
        self.finished = true;
    }

    /// Asks the command's whole process group to stop (SIGTERM).
    pub fn terminate(&mut self) {
        self.terminated_at.get_or_insert_with(Instant::now);
        signal_group(self.pid, libc::SIGTERM);
    }

    /// Stops the command's whole process group at once (SIGKILL).
    pub fn kill(&mut self) {
        signal_group(self.pid, libc::SIGKILL);
    }
}

impl Drop for JobProcess {
    /// A runner that stops for any reason takes its commands with it.
    fn drop(&mut self) {
        if !self.finished {
            self.kill();
        }
    }
}

pub fn signal_group(pid: u32, signal: i32) {
    // The child leads its own group (process_group(0)), so its pid is the group id.
    // SAFETY: kill(2) with a negative pid signals that process group; it has no memory
    // effects, and a group that is already gone only makes it return ESRCH.
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}

fn empty() -> Captured {
    Captured {
        bytes: Vec::new(),
        total: 0,
    }
}

/// Reads all of stdout, keeping the first [`MAX_JSON_BYTES`] + 1 bytes (one more than can be
/// stored, so an over-long output is recognised) and counting the rest.
fn capture(mut stdout: impl Read) -> Captured {
    let mut captured = empty();
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = stdout.read(&mut buf) {
        let Some(chunk) = buf.get(..n).filter(|chunk| !chunk.is_empty()) else {
            break;
        };
        let room = (MAX_JSON_BYTES + 1).saturating_sub(captured.bytes.len());
        // No cut when the whole chunk fits.
        captured
            .bytes
            .extend_from_slice(chunk.get(..room).unwrap_or(chunk));
        captured.total += n;
    }
    captured
}

/// Copies stderr to the runner's stderr as it comes and returns its last bytes.
fn pass_through_keeping_tail(mut stderr: impl Read) -> String {
    let mut tail: VecDeque<u8> = VecDeque::with_capacity(STDERR_TAIL_BYTES);
    let mut buf = [0u8; 8192];
    while let Ok(n) = stderr.read(&mut buf) {
        let Some(chunk) = buf.get(..n).filter(|chunk| !chunk.is_empty()) else {
            break;
        };
        let _ = io::stderr().write_all(chunk);
        tail.extend(chunk);
        let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
        tail.drain(..excess);
    }
    String::from_utf8_lossy(tail.make_contiguous())
        .trim()
        .to_string()
}

/// How a command ended, in words: `exit 3`, `signal 9 (SIGKILL)`.
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal} ({})", signals::name(signal)),
        (None, None) => "ended abnormally".into(),
    }
}

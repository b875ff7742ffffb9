//! The claim guard: a thread that stops a job's command before its claim can expire when no
//! renewal has landed in time. The runner renews claims from its own thread, between other
//! database work, and a renewal may wait for other writers; had the command run on past the
//! deadline, another worker could claim the job and run it at the same time.
//!
//! Each claim is measured on the monotonic clock from when the claim, or its latest renewal
//! that landed, was *started*: the deadline the database records is read once the write lock
//! is held, later, so this never overestimates the time left. The guard signals the command's
//! process group: SIGTERM at two thirds of the claim, SIGKILL at three quarters, leaving a
//! quarter of the claim for the command to be gone before anyone else may take the job.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::process::signal_group;

/// When, into a claim, the guard asks the command to stop.
pub fn term_point(lease: Duration) -> Duration {
    lease * 2 / 3
}

/// When, into a claim, the guard stops the command outright.
pub fn kill_point(lease: Duration) -> Duration {
    lease * 3 / 4
}

/// The guard's handle, held by the runner. Dropping it stops the thread.
pub struct Guard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    watched: HashMap<u64, Watched>,
    closing: bool,
}

/// One running command and the claim it runs under.
struct Watched {
    group: u32,
    lease: Duration,
    /// When the claim or its latest renewal that landed was started.
    since: Instant,
    /// The last signal the guard sent: none yet, SIGTERM or SIGKILL.
    sent: Option<i32>,
    /// When the guard sent its first signal.
    stopped_at: Option<Instant>,
}

impl Watched {
    /// The next signal due, and when.
    fn next(&self) -> Option<(Instant, i32)> {
        match self.sent {
            None => Some((self.since + term_point(self.lease), libc::SIGTERM)),
            Some(libc::SIGTERM) => Some((self.since + kill_point(self.lease), libc::SIGKILL)),
            Some(_) => None,
        }
    }
}

impl Guard {
    pub fn start() -> io::Result<Guard> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("claim guard".into())
            .spawn(move || keep_watch(&for_thread))?;
        Ok(Guard {
            shared,
            thread: Some(thread),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The guard's thread only signals and sleeps; a panic there poisons nothing of use.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Watches the command with key `key` in process group `group`, claimed for `lease`
    /// by a claim started at `since`.
    pub fn watch(&self, key: u64, group: u32, lease: Duration, since: Instant) {
        let watched = Watched {
            group,
            lease,
            since,
            sent: None,
            stopped_at: None,
        };
        self.state().watched.insert(key, watched);
        self.shared.changed.notify_one();
    }

    /// A renewal started at `since` has landed. Once the guard has begun stopping the
    /// command, it finishes: a late renewal does not bring it back.
    pub fn renewed(&self, key: u64, since: Instant) {
        if let Some(watched) = self.state().watched.get_mut(&key) {
            if watched.sent.is_none() && since > watched.since {
                watched.since = since;
            }
        }
        self.shared.changed.notify_one();
    }

    /// Whether the guard has begun stopping the command: renewing its claim is pointless.
    pub fn stopping(&self, key: u64) -> bool {
        self.state()
            .watched
            .get(&key)
            .is_some_and(|watched| watched.sent.is_some())
    }

    /// The command has ended, at `ended`: stop watching it. Returns whether the guard
    /// stopped it. A command that ended on its own before the guard's first signal was not
    /// stopped, even if the runner hears of its exit only later (held up, say, by a database
    /// that went away): its result stands.
    pub fn forget(&self, key: u64, ended: Instant) -> bool {
        self.state()
            .watched
            .remove(&key)
            .and_then(|watched| watched.stopped_at)
            .is_some_and(|stopped_at| stopped_at <= ended)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.state().closing = true;
        self.shared.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The guard's thread: sends each signal as it falls due, and sleeps until the next one or
/// until the runner changes what is watched.
fn keep_watch(shared: &Shared) {
    let mut state = shared
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    while !state.closing {
        let now = Instant::now();
        let mut wake_at: Option<Instant> = None;
        for watched in state.watched.values_mut() {
            while let Some((at, signal)) = watched.next() {
                if at > now {
                    wake_at = Some(wake_at.map_or(at, |t| t.min(at)));
                    break;
                }
                // A group that already ended (its exit not yet reported to the runner) makes
                // this return ESRCH, harmlessly.
                signal_group(watched.group, signal);
                watched.sent = Some(signal);
                watched.stopped_at.get_or_insert(now);
            }
        }
        state = match wake_at {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                shared
                    .changed
                    .wait_timeout(state, wait)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0
            }
            None => shared
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    fn sleeper() -> std::process::Child {
        Command::new("sleep")
            .arg("30")
            .process_group(0)
            .stdout(Stdio::null())
            .spawn()
            .expect("run sleep")
    }

    /// Waits for `child` to end (hang-catching only), returning the signal that ended it.
    fn ended_by(child: &mut std::process::Child) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.signal();
            }
            assert!(Instant::now() < deadline, "the command was never stopped");
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_claim_that_is_not_renewed_gets_its_command_stopped() {
        let guard = Guard::start().unwrap();
        let mut child = sleeper();
        guard.watch(1, child.id(), Duration::from_millis(300), Instant::now());
        // SIGTERM first; SIGKILL too if the machine is slow enough that both fall due.
        assert!(matches!(
            ended_by(&mut child),
            Some(libc::SIGTERM | libc::SIGKILL)
        ));
        assert!(guard.stopping(1));
        assert!(
            guard.forget(1, Instant::now()),
            "the guard says it stopped it"
        );
    }

    #[test]
    fn a_claim_watched_from_a_time_already_past_is_stopped_at_once() {
        let guard = Guard::start().unwrap();
        let mut child = sleeper();
        let long_ago = Instant::now() - Duration::from_secs(10);
        guard.watch(1, child.id(), Duration::from_secs(1), long_ago);
        // Both signals are due: the last one sent is SIGKILL.
        assert!(matches!(
            ended_by(&mut child),
            Some(libc::SIGTERM | libc::SIGKILL)
        ));
        assert!(guard.forget(1, Instant::now()));
    }

    #[test]
    fn renewals_keep_the_command_running_and_forgetting_it_stops_the_watch() {
        let guard = Guard::start().unwrap();
        let mut child = sleeper();
        let lease = Duration::from_secs(3600);
        guard.watch(7, child.id(), lease, Instant::now());
        guard.renewed(7, Instant::now());
        assert!(!guard.stopping(7));
        assert!(child.try_wait().unwrap().is_none());
        assert!(
            !guard.forget(7, Instant::now()),
            "the guard did not stop it"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_command_that_ended_before_the_guard_signalled_was_not_stopped_by_it() {
        let guard = Guard::start().unwrap();
        let mut child = sleeper();
        child.kill().unwrap();
        child.wait().unwrap();
        let ended = Instant::now();
        // Its exit is heard of only after the guard's time came.
        guard.watch(3, child.id(), Duration::from_millis(300), ended);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !guard.stopping(3) {
            assert!(Instant::now() < deadline, "the guard never acted");
            thread::sleep(Duration::from_millis(10));
        }
        assert!(!guard.forget(3, ended), "it ended on its own");
    }

    #[test]
    fn the_stop_points_leave_a_quarter_of_the_claim() {
        let lease = Duration::from_secs(1);
        assert!(Duration::from_millis(333) < term_point(lease));
        assert!(term_point(lease) < kill_point(lease));
        assert_eq!(lease - kill_point(lease), Duration::from_millis(250));
    }
}

//! A second process that outlives a runner killed outright (SIGKILL, the OOM killer) just
//! long enough to stop its jobs' commands. Without it a command would run on as an orphan
//! while its claim expires and another worker starts the same job: the job would run twice
//! at once. The runner tells the watchdog each command's process group as it starts and
//! ends; when the runner dies, the pipe between them closes, and the watchdog kills the
//! groups still listed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The runner's end: a pipe to the watchdog process.
pub struct Watchdog {
    /// `None` only while being dropped.
    to_watchdog: Option<File>,
    pid: libc::pid_t,
}

impl Watchdog {
    /// Forks the watchdog. Must be called while the process has one thread only (before any
    /// command is started): the child of a multi-threaded fork may not allocate, and the
    /// watchdog does.
    pub fn start() -> io::Result<Watchdog> {
        let (read_end, write_end) = pipe()?;
        // A Ctrl-C between the fork and `detach` would kill the young watchdog along with
        // the runner's group; hold such signals until it has left the group.
        let held = hold_stop_signals();
        // SAFETY: the process is single-threaded here (see above), so the child is a full
        // copy that may run ordinary Rust code; it never returns from `watch`.
        let forked = unsafe { libc::fork() };
        if forked == 0 {
            drop(write_end);
            watch(read_end, &held)
        }
        release_signals(&held);
        match forked {
            -1 => Err(io::Error::last_os_error()),
            pid => Ok(Watchdog {
                to_watchdog: Some(File::from(write_end)),
                pid,
            }),
        }
    }

    /// What a newly forked command uses to announce its process group, before it execs.
    pub fn announcer(&self) -> Announcer {
        Announcer {
            fd: self
                .to_watchdog
                .as_ref()
                .map_or(-1, |pipe| pipe.as_raw_fd()),
        }
    }

    /// The command in process group `pgid` has ended and its group was killed.
    pub fn forget_group(&mut self, pgid: u32) {
        // A watchdog that is gone cannot be helped; the runner's own shutdown still stops
        // its commands, so a failed write is not worth stopping the work for.
        // One write of one short line: never interleaved with a child's announcement.
        if let Some(pipe) = &mut self.to_watchdog {
            let _ = pipe.write_all(format!("-{pgid}\n").as_bytes());
        }
    }
}

/// Lets a command tell the watchdog its process group from inside the child, between fork
/// and exec. Announced any later, by the runner once `spawn` returns, a runner killed in
/// between would leave a running command the watchdog never heard of. The child holds the
/// pipe open until it execs (the descriptor closes on exec), so the watchdog cannot see the
/// runner's death before the announcement.
#[derive(Clone, Copy)]
pub struct Announcer {
    fd: RawFd,
}

impl Announcer {
    /// Writes `+PID` (the child leads its own group). Between fork and exec only
    /// async-signal-safe calls are allowed: `getpid` and `write`, with the line formatted
    /// on the stack. A line this short is written whole, never interleaved with others.
    pub fn announce_self(self) {
        if self.fd < 0 {
            return;
        }
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() } as u32;
        let mut line = [0u8; 16];
        let len = group_line(&mut line, pid);
        // SAFETY: writes `len` initialised bytes from a live stack buffer to a pipe. SIGPIPE
        // is ignored around it (the child has it at its default by now): if the watchdog is
        // gone, the write fails and the command still runs, instead of dying of the signal
        // and counting as a failed attempt.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            libc::write(self.fd, line.as_ptr().cast(), len);
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

/// Formats `+PID\n` into `line` without allocating; returns its length.
fn group_line(line: &mut [u8; 16], pid: u32) -> usize {
    // Least significant first; a u32 has at most 10 digits, and the line room for 14.
    let mut digits = [0u8; 10];
    let (mut n, mut count) = (pid, 0);
    for digit in &mut digits {
        *digit = b'0' + (n % 10) as u8;
        count += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let text = digits.iter().take(count).rev();
    let bytes = std::iter::once(&b'+')
        .chain(text)
        .chain(std::iter::once(&b'\n'));
    let mut len = 0;
    for (slot, byte) in line.iter_mut().zip(bytes) {
        *slot = *byte;
        len += 1;
    }
    len
}

impl Drop for Watchdog {
    /// A runner that exits normally has stopped its commands already; closing the pipe lets
    /// the watchdog exit, and waiting for it leaves no zombie.
    fn drop(&mut self) {
        drop(self.to_watchdog.take());
        // SAFETY: waiting for our own child; a null status pointer is allowed.
        unsafe {
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

/// A pipe whose ends close on exec, so no job command inherits the write end and keeps the
/// watchdog waiting after the runner has died.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The watchdog's whole life: follow the list of groups until the runner's end of the pipe
/// closes, then kill what is left and exit. It never returns: a panic must not unwind into
/// the copy of the runner it was forked from.
fn watch(from_runner: OwnedFd, held: &libc::sigset_t) -> ! {
    detach();
    release_signals(held);
    let groups = std::panic::catch_unwind(|| follow(from_runner)).unwrap_or_default();
    for pgid in groups {
        // SAFETY: kill(2) on a process group; a group already gone returns ESRCH.
        unsafe {
            libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
        }
    }
    // SAFETY: _exit skips the runner's destructors and exit handlers, which belong to the
    // runner (its database connection above all), not to this copy of it.
    unsafe { libc::_exit(0) }
}

/// Reads `+PGID` and `-PGID` lines until the pipe closes; returns the groups still running.
fn follow(from_runner: OwnedFd) -> Vec<u32> {
    let mut groups: Vec<u32> = Vec::new();
    for line in BufReader::new(File::from(from_runner)).lines() {
        let Ok(line) = line else { break };
        let (sign, pgid) = line.split_at(1.min(line.len()));
        let Ok(pgid) = pgid.parse::<u32>() else {
            continue;
        };
        match sign {
            "+" => groups.push(pgid),
            // One entry only: a pid reused by the next command may already be listed again.
            "-" => {
                if let Some(at) = groups.iter().position(|&g| g == pgid) {
                    groups.swap_remove(at);
                }
            }
            _ => {}
        }
    }
    groups
}

/// The signals that stop a runner, which the watchdog must outlive.
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Blocks the stop signals; returns the mask to restore.
fn hold_stop_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data that sigemptyset initialises; sigprocmask only changes
    // this thread's (the only thread's) mask.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        for signal in STOP_SIGNALS {
            libc::sigaddset(&mut block, signal);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &block, &mut previous);
        previous
    }
}

fn release_signals(previous: &libc::sigset_t) {
    // SAFETY: restores a mask sigprocmask returned earlier.
    unsafe {
        libc::sigprocmask(libc::SIG_SETMASK, previous, std::ptr::null_mut());
    }
}

/// Keeps the watchdog out of the signals meant for the runner: a Ctrl-C or a kill of the
/// runner's process group must not take the watchdog too, or nothing would be left to clean
/// up. Its stdout and stderr are let go, so a pipe reading the runner's output ends when
/// the runner does.
fn detach() {
    // SAFETY: plain system calls on this process's own state.
    unsafe {
        libc::setpgid(0, 0);
        for signal in STOP_SIGNALS.into_iter().chain([libc::SIGPIPE]) {
            libc::signal(signal, libc::SIG_IGN);
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in [0, 1, 2] {
                libc::dup2(null, fd);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::group_line;

    #[test]
    fn group_lines_are_formatted_without_allocating() {
        let mut line = [0u8; 16];
        for (pid, expected) in [(0, "+0\n"), (7, "+7\n"), (4_194_304, "+4194304\n")] {
            let len = group_line(&mut line, pid);
            assert_eq!(&line[..len], expected.as_bytes());
        }
        let len = group_line(&mut line, u32::MAX);
        assert_eq!(&line[..len], b"+4294967295\n");
    }
}

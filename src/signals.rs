//! SIGINT and SIGTERM as a flag that long waits check, so `dequeue --wait` and `sweep` can
//! stop between transactions instead of dying in the middle of one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Result;
use signal_hook::consts::{SIGINT, SIGTERM};

/// Remembers the first SIGINT or SIGTERM received after [`Interrupt::install`].
pub struct Interrupt {
    received: Arc<AtomicUsize>,
}

impl Interrupt {
    pub fn install() -> Result<Self> {
        let received = Arc::new(AtomicUsize::new(0));
        for signal in [SIGINT, SIGTERM] {
            signal_hook::flag::register_usize(signal, Arc::clone(&received), signal as usize)?;
        }
        Ok(Interrupt { received })
    }

    /// The signal received so far, if any.
    pub fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal as i32),
        }
    }
}

/// Turns a file-size limit (`ulimit -f`) into a write error instead of a kill: SQLite then
/// reports the failed write, the transaction rolls back, and the user gets a message and
/// exit 1 rather than a process dead of SIGXFSZ with no word of why.
pub fn ignore_file_size_limit_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Undoes [`ignore_file_size_limit_signal`] in a child about to `exec`: ignored signals are
/// inherited across exec, and a job's command should meet its limits as it would anywhere.
/// Only async-signal-safe calls are allowed between fork and exec; `signal` is one.
pub fn restore_file_size_limit_signal() {
    // SAFETY: as above, resetting a disposition to SIG_DFL has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
    }
}

/// The conventional name of a signal number, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

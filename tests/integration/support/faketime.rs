//! libfaketime, which makes the wall clock a process reads differ from the real one (its
//! monotonic clock left alone): for hosts whose clocks are off, or stepped.

use std::fs;
use std::path::PathBuf;

/// The library to preload, from the Debian package `faketime`.
pub fn libfaketime() -> PathBuf {
    let candidates = fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("faketime/libfaketime.so.1"))
        .chain([PathBuf::from("/usr/lib/faketime/libfaketime.so.1")]);
    candidates
        .into_iter()
        .find(|lib| lib.exists())
        .expect("the clock tests need libfaketime (apt-get install faketime; .ci/run installs it)")
}

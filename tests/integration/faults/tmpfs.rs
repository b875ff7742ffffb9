//! A small tmpfs of the test's own, mounted in a private mount namespace, and filling it.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::support::privilege::skip_without_privilege;

/// A tmpfs mounted over a folder, seen only by this test's thread and the processes it
/// starts: the thread first moves to a mount namespace of its own, so the mount never shows
/// up on the machine and vanishes with the thread even if the test process is killed.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts `size` (like `1m`) over `dir` for the test `test`; `None` when this process
    /// may not (see [`skip_without_privilege`]), and the test is to return at once.
    pub fn mount(test: &str, dir: &Path, size: &str) -> Option<Tmpfs> {
        // SAFETY: unshare has no memory-safety preconditions; CLONE_NEWNS (which implies
        // CLONE_FS) detaches only the calling thread, which libtest runs this test on alone.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            let error = io::Error::last_os_error();
            assert_eq!(
                error.raw_os_error(),
                Some(libc::EPERM),
                "unshare(CLONE_NEWNS): {error}"
            );
            let why =
                format!("it mounts a small tmpfs, and may not make a mount namespace ({error})");
            skip_without_privilege(test, &why);
            return None;
        }
        // Otherwise a mount below a shared mount (systemd makes / shared) would propagate
        // back to the machine's namespace.
        mount(
            None,
            Path::new("/"),
            None,
            libc::MS_REC | libc::MS_PRIVATE,
            None,
        );
        let options = format!("size={size},mode=0700");
        mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(&options),
        );
        Some(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let dir = c_path(&self.dir);
        // SAFETY: a valid C string; a lazy unmount cannot fail because files are open.
        unsafe { libc::umount2(dir.as_ptr(), libc::MNT_DETACH) };
    }
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("a path without NUL")
}

fn mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) {
    let c = |s: Option<&str>| s.map(|s| CString::new(s).expect("no NUL"));
    let (source_c, fstype_c, data_c) = (c(source), c(fstype), c(data));
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    let target_c = c_path(target);
    // SAFETY: every pointer is null or a valid C string that outlives the call.
    let rc = unsafe {
        libc::mount(
            ptr(&source_c),
            target_c.as_ptr(),
            ptr(&fstype_c),
            flags,
            ptr(&data_c).cast(),
        )
    };
    assert_eq!(
        rc,
        0,
        "mount {source:?} on {} ({fstype:?}, {data:?}): {}",
        target.display(),
        io::Error::last_os_error()
    );
}

/// Fills the file system holding `dir` with a file until not one more byte fits, and
/// returns the file, to delete when space is to come back.
pub fn fill_the_disk(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = File::create(&path).expect("create the filler file");
    let chunk = [0u8; 4096];
    loop {
        match file.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    assert_eq!(
        free_bytes(dir),
        0,
        "the disk holding {} is full",
        dir.display()
    );
    path
}

fn free_bytes(dir: &Path) -> u64 {
    let dir = c_path(dir);
    // SAFETY: statvfs writes into the zeroed struct it is given.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(dir.as_ptr(), &mut stats) }, 0);
    stats.f_bavail as u64 * stats.f_frsize as u64
}

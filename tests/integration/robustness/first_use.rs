//! The first command on a new machine creates `~/.local`, `~/.local/share`,
//! `~/.local/share/queueprim` and the database file. A new directory entry survives a power
//! cut only once the folder holding it is synced, so each created folder's parent, and the
//! database's folder, must be synced before the command exits 0. Watched with strace, which
//! reports every sync with the path of the file or folder synced.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::mode;
use crate::harness::{TestEnv, BIN};

/// The folders and files `fsync`ed or `fdatasync`ed by `queueprim ARGS` with HOME at `home`
/// and no `--db`, or `None` when strace is not installed.
fn synced_by_first_use(home: &Path, trace: &Path, args: &[&str]) -> Option<BTreeSet<PathBuf>> {
    let status = Command::new("strace")
        .args(["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(trace)
        .arg(BIN)
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("QUEUEPRIM_DB")
        .env_remove("QUEUEPRIM_SYNCHRONOUS")
        .stdout(std::process::Stdio::null())
        .status();
    let status = match status {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("run strace: {e}"),
    };
    assert!(status.success(), "queueprim {args:?} under strace failed");
    // Lines like `1234 fdatasync(5</home/u/.local/share/queueprim>) = 0`.
    let text = fs::read_to_string(trace).unwrap();
    Some(
        text.lines()
            .filter(|line| line.ends_with("= 0"))
            .filter_map(|line| {
                let start = line.find('<')? + 1;
                let end = line[start..].find('>')? + start;
                Some(PathBuf::from(&line[start..end]))
            })
            .collect(),
    )
}

#[test]
fn first_use_syncs_each_folder_it_creates_and_the_new_databases_folder() {
    let env = TestEnv::new();
    let home = env.dir().join("home");
    fs::create_dir(&home).unwrap();
    let Some(synced) = synced_by_first_use(
        &home,
        &env.dir().join("trace"),
        &["enqueue", "q", "--payload", "1"],
    ) else {
        eprintln!("skipped: strace is not installed (apt-get install strace; .ci/run installs it)");
        return;
    };
    let folders = [
        home.clone(),
        home.join(".local"),
        home.join(".local/share"),
        home.join(".local/share/queueprim"),
    ];
    for folder in &folders {
        assert!(
            synced.contains(folder),
            "{} was not synced after an entry was created in it; synced: {synced:?}",
            folder.display()
        );
    }
    for folder in &folders[1..] {
        assert_eq!(mode(folder), 0o700, "{} is owner-only", folder.display());
    }
    assert_eq!(mode(&folders[3].join("queueprim.db")), 0o600);
}

#[test]
fn a_new_database_in_an_existing_folder_syncs_that_folder() {
    let env = TestEnv::new();
    let db = env.dir().join("queue.db");
    let trace = env.dir().join("trace");
    let db_arg = db.to_str().unwrap();
    let Some(synced) = synced_by_first_use(
        env.dir(),
        &trace,
        &["--db", db_arg, "enqueue", "q", "--payload", "1"],
    ) else {
        eprintln!("skipped: strace is not installed (apt-get install strace; .ci/run installs it)");
        return;
    };
    assert!(synced.contains(env.dir()), "synced: {synced:?}");
}

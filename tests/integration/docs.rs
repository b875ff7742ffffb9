//! The documentation is tested like code: man pages and completions must match the clap tree
//! (`QUEUEPRIM_BLESS=1` regenerates them), and the README's examples must run as written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use clap_complete::Shell;
use queueprim::cli::Cli;

use crate::harness::{Job, TestEnv, BIN};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn blessing() -> bool {
    std::env::var_os("QUEUEPRIM_BLESS").is_some()
}

/// Generates into a temporary folder and compares with the committed one, file by file; or,
/// when blessing, replaces the committed folder's contents.
fn check_generated(folder: &str, generate: impl Fn(&Path)) {
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path());
    let committed = repo().join(folder);
    if blessing() {
        let _ = fs::remove_dir_all(&committed);
        fs::create_dir_all(&committed).unwrap();
        generate(&committed);
        return;
    }
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let stale = "is stale: run `QUEUEPRIM_BLESS=1 cargo test --test integration docs` and commit";
    assert_eq!(names(&committed), names(fresh.path()), "{folder}/ {stale}");
    for name in names(fresh.path()) {
        let want = fs::read(fresh.path().join(&name)).unwrap();
        let have = fs::read(committed.join(&name)).unwrap();
        assert!(want == have, "{folder}/{name} {stale}");
    }
}

#[test]
fn man_pages_are_current() {
    check_generated("man", |dir| {
        clap_mangen::generate_to(Cli::command(), dir).unwrap();
    });
}

#[test]
fn completions_are_current() {
    check_generated("completions", |dir| {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            clap_complete::generate_to(shell, &mut Cli::command(), "queueprim", dir).unwrap();
        }
    });
}

/// The fenced blocks of README.md in the given language, in order.
fn readme_blocks(language: &str) -> Vec<String> {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let fence = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match &mut current {
            None if line.trim_end() == fence => current = Some(String::new()),
            Some(block) if line.starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Runs a bash script with `queueprim` on the PATH and the test's database.
fn bash(env: &TestEnv, script: &str, timeout_secs: u32) -> std::process::Output {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("timeout")
        .args([&timeout_secs.to_string(), "bash", "-c", script])
        .current_dir(env.dir())
        .env("PATH", path)
        .env("QUEUEPRIM_DB", env.db())
        .env_remove("QUEUEPRIM_FORMAT")
        .output()
        .expect("bash")
}

#[test]
fn readme_examples_run_in_order() {
    assert!(
        Command::new("jq").arg("--version").output().is_ok(),
        "the README examples need jq on the PATH (apt-get install jq)"
    );
    let env = TestEnv::new();
    let blocks = readme_blocks("sh");
    assert!(
        blocks.len() >= 8,
        "README should have its examples in ```sh blocks"
    );
    let script = format!("set -euo pipefail\n{}", blocks.join("\n"));
    let out = bash(&env, &script, 60);
    assert!(
        out.status.success(),
        "README examples failed ({:?})\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn readme_worker_loop_completes_good_jobs_and_fails_bad_ones() {
    let env = TestEnv::new();
    let script = readme_blocks("bash")
        .into_iter()
        .find(|block| block.contains("while true"))
        .expect("the worker loop is a ```bash block in README.md");
    let good = env.enqueue("builds/ci", r#"{"commit":"4f2a"}"#, &[]);
    let bad = env.enqueue("builds/ci", r#"{"branch":"main"}"#, &[]);
    // The loop runs forever by design: let it drain the queue, then stop it.
    let out = bash(&env, &script, 4);
    assert_eq!(
        out.status.code(),
        Some(124),
        "the loop should still be running when stopped"
    );
    let good: Job = env.json(&["get", &good.id]);
    assert_eq!(good.status, "done");
    assert_eq!(good.worker.as_deref(), Some("builder-01"));
    let bad: Job = env.json(&["get", &bad.id]);
    assert_eq!(bad.status, "dead");
    assert!(
        bad.errors[0].reason.starts_with("do_work exited"),
        "{:?}",
        bad.errors
    );
}

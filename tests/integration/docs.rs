//! The documentation is tested like code: man pages and completions must match the clap tree
//! (`QUEUEPRIM_BLESS=1` regenerates them), and the README's examples must run as written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use queueprim::manual;

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
        manual::write_pages(dir).unwrap();
    });
}

#[test]
fn completions_are_current() {
    check_generated("completions", |dir| {
        manual::write_completions(dir).unwrap();
    });
}

/// What the committed files hold is what the binary itself prints and installs.
#[test]
fn the_binary_prints_the_committed_completions_and_installs_the_committed_man_pages() {
    let env = TestEnv::new();
    for (shell, file) in [
        ("bash", "queueprim.bash"),
        ("zsh", "_queueprim"),
        ("fish", "queueprim.fish"),
    ] {
        let printed = env.cmd(["completions", shell]).expect_status(0).stdout;
        let committed = fs::read_to_string(repo().join("completions").join(file)).unwrap();
        assert!(
            printed == committed,
            "completions {shell} differs from completions/{file}"
        );
    }
    let dir = env.dir().join("share/man/man1");
    let written: serde_json::Value = env.json(&["man", "--dir", dir.to_str().unwrap()]);
    let count = written["written"].as_array().unwrap().len();
    assert_eq!(count, fs::read_dir(repo().join("man")).unwrap().count());
    for page in fs::read_dir(repo().join("man")).unwrap() {
        let page = page.unwrap();
        let installed = fs::read(dir.join(page.file_name())).unwrap();
        assert!(
            installed == fs::read(page.path()).unwrap(),
            "{:?}",
            page.file_name()
        );
    }
    let main = env.cmd(["man"]).expect_status(0).stdout;
    assert_eq!(
        main,
        fs::read_to_string(repo().join("man/queueprim.1")).unwrap()
    );
    let work = env.cmd(["man", "work"]).expect_status(0).stdout;
    assert_eq!(
        work,
        fs::read_to_string(repo().join("man/queueprim-work.1")).unwrap()
    );
}

/// Man pages stand alone: values in the synopsis, and the sections a reader looks for.
#[test]
fn man_pages_have_the_sections_a_reader_looks_for() {
    for page in fs::read_dir(repo().join("man")).unwrap() {
        let path = page.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for section in ["SYNOPSIS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
            assert!(
                text.contains(&format!(".SH \"{section}\""))
                    || text.contains(&format!(".SH {section}")),
                "{name} lacks {section}"
            );
        }
        if !name.contains("completions") && !name.contains("-man.") {
            assert!(
                text.contains(".SH ENVIRONMENT") && text.contains(".SH FILES"),
                "{name}"
            );
        }
    }
    let dequeue = fs::read_to_string(repo().join("man/queueprim-dequeue.1")).unwrap();
    let synopsis = dequeue
        .split(".SH SYNOPSIS")
        .nth(1)
        .unwrap()
        .split(".SH")
        .next()
        .unwrap();
    for shown in [
        r"\fB\-\-worker\fR \fINAME\fR",
        r"\fB\-\-wait\fR [\fIDUR\fR]",
        r"\fB\-\-count\fR \fIN\fR",
    ] {
        assert!(synopsis.contains(shown), "{shown} in {synopsis}");
    }
    let main = fs::read_to_string(repo().join("man/queueprim.1")).unwrap();
    for part in [
        ".SH \"JSON OUTPUT\"",
        ".SH GUARANTEES",
        "claim_deadline",
        "attempts",
        "QUEUEPRIM_DB",
    ] {
        assert!(main.contains(part), "queueprim.1 lacks {part}");
    }
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

//! Every value-taking argument of the clap tree given nonsense.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use clap::{Arg, ArgAction, CommandFactory};

use crate::harness::{Run, BIN};
use crate::support::process::run_to_end;
use crate::support::wait::GENEROUS;

use super::{assert_no_problems, described, error_line_problem, raw};

/// Values no careful user means: each argument must refuse all of them, except those
/// `may_accept` lists for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nonsense {
    Empty,
    Word,
    Negative,
    Huge,
    Long,
    Control,
    InvalidUtf8,
}

impl Nonsense {
    const ALL: [Nonsense; 7] = [
        Nonsense::Empty,
        Nonsense::Word,
        Nonsense::Negative,
        Nonsense::Huge,
        Nonsense::Long,
        Nonsense::Control,
        Nonsense::InvalidUtf8,
    ];

    fn value(self) -> OsString {
        match self {
            Nonsense::Empty => "".into(),
            Nonsense::Word => "nonsense".into(),
            Nonsense::Negative => "-1".into(),
            Nonsense::Huge => "99999999999999999999999".into(),
            // Longer than any name (128) or key (256) may be.
            Nonsense::Long => "a".repeat(300).into(),
            // An escape sequence that would clear the screen if echoed raw.
            Nonsense::Control => "x\u{1b}[2J".into(),
            Nonsense::InvalidUtf8 => raw(b"x\xff\xfe"),
        }
    }
}

/// Arguments that legitimately take any text at all, and so are not given nonsense here. A
/// new argument missing from this list must refuse every nonsense value.
fn takes_any_text(key: &str) -> bool {
    matches!(
        key,
        // Free text: why a job failed. Its handling has tests of its own above.
        "--reason"
            // A file path: any bytes can name a file.
            | "--db"
            // The worker's command and its arguments, handed to the program untouched.
            | "<CMD>"
    )
}

/// The nonsense values that are legitimate for an argument.
fn may_accept(key: &str) -> &'static [Nonsense] {
    use Nonsense::*;
    match key {
        // Names of queues, types and groups allow letters, digits and - _ . / :, so a word,
        // "-1" and a long number are all good names; worker names and dedup keys are free
        // text without control characters.
        "<QUEUE>" | "--queue" | "--type" | "--group" | "--worker" | "--key" => {
            &[Word, Negative, Huge]
        }
        // JSON documents: -1 and a long integer are JSON numbers.
        "--payload" | "--output" => &[Negative, Huge],
        "--priority" => &[Negative],
        _ => &[],
    }
}

/// One argument of one subcommand, as the user writes it.
struct Target {
    subcommand: String,
    /// `--long` for options and flags, `<VALUE_NAME>` for positionals.
    key: String,
    value_name: String,
    positional: bool,
    takes_value: bool,
    /// A value it must accept, to show the command around it is otherwise valid.
    good: Option<OsString>,
}

impl Target {
    fn new(subcommand: &str, arg: &Arg) -> Target {
        let value_name = arg
            .get_value_names()
            .and_then(|names| names.first())
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), |n| n.to_string());
        let key = match arg.get_long() {
            Some(long) => format!("--{long}"),
            None => format!("<{value_name}>"),
        };
        let takes_value = arg.get_action().takes_values();
        let good =
            (takes_value && !takes_any_text(&key)).then(|| good_value(arg, &key, &value_name));
        Target {
            subcommand: subcommand.to_string(),
            key,
            positional: arg.is_positional(),
            takes_value,
            value_name,
            good,
        }
    }

    /// How clap or queueprim may name it in an error.
    fn names(&self) -> Vec<String> {
        if self.positional {
            vec![
                format!("<{}>", self.value_name),
                format!("[{}]", self.value_name),
            ]
        } else {
            vec![self.key.clone()]
        }
    }
}

/// A value each kind of argument accepts. A new kind fails here until it gets one.
fn good_value(arg: &Arg, key: &str, value_name: &str) -> OsString {
    if let Some(first) = arg.get_possible_values().first() {
        return first.get_name().into();
    }
    let good = match value_name {
        "QUEUE" => "q",
        "ID" => "q_0000000000",
        "TOKEN" => "c_000000000000",
        "JSON|@FILE|-" => "1",
        "QUEUE=JSON" => "next=1",
        // Short enough that --wait, --interval or --grace end at once.
        "DUR" => "1ms",
        "N" => "1",
        "NAME" => "w",
        "TYPE" => "t",
        "GROUP" => "g",
        "KEY" => "k",
        "TIME" => "2030-01-01T00:00:00Z",
        "TEXT" => "x",
        "PRIORITY" => "1",
        other => panic!("no known-good value for {key} ({other}): add one to good_value"),
    };
    good.into()
}

/// Every argument of every subcommand, and the global options (tried on `stats`).
fn targets() -> Vec<Target> {
    let mut cli = queueprim::cli::Cli::command();
    cli.build();
    let mut targets: Vec<Target> = cli
        .get_arguments()
        .filter(|arg| !is_help(arg))
        .map(|arg| Target::new("stats", arg))
        .collect();
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        targets.extend(
            sub.get_arguments()
                .filter(|arg| !is_help(arg) && !arg.is_global_set())
                .map(|arg| Target::new(sub.get_name(), arg)),
        );
    }
    targets
}

fn is_help(arg: &Arg) -> bool {
    matches!(
        arg.get_action(),
        ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
    )
}

/// The shortest valid command line of each subcommand, as (argument, its words) slots so
/// the argument under test can replace its own slot. A new subcommand fails here until it
/// gets one.
fn minimal_invocation(subcommand: &str) -> Vec<(&'static str, Vec<&'static str>)> {
    const ID: &str = "q_0000000000";
    match subcommand {
        "enqueue" => vec![
            ("<QUEUE>", vec!["q"]),
            ("--payload", vec!["--payload", "1"]),
        ],
        "dequeue" | "peek" | "pause" | "resume" | "config" => vec![("<QUEUE>", vec!["q"])],
        "complete" | "fail" | "get" | "release" | "retry" => vec![("<ID>", vec![ID])],
        "extend" => vec![("<ID>", vec![ID]), ("--by", vec!["--by", "1m"])],
        "list" | "stats" | "queues" => vec![],
        "purge" => vec![("--all", vec!["--all"])],
        "sweep" => vec![("--once", vec!["--once"])],
        "work" => vec![
            ("<QUEUE>", vec!["q"]),
            ("--until-empty", vec!["--until-empty"]),
            ("<CMD>", vec!["--", "true"]),
        ],
        other => panic!("no minimal invocation for `queueprim {other}`: add one"),
    }
}

/// The command line trying `value` (or the bare flag, for `None`) for `target`.
fn command_line(target: &Target, value: Option<&OsStr>) -> Vec<OsString> {
    let mut slots = minimal_invocation(&target.subcommand);
    let mut drop_slot = |key: &str| slots.retain(|(k, _)| *k != key);
    drop_slot(&target.key);
    match (target.subcommand.as_str(), target.key.as_str()) {
        // A queue is given one way only, and retry takes ids or --queue.
        (_, "--queue") => {
            drop_slot("<QUEUE>");
            drop_slot("<ID>");
        }
        ("enqueue", "--batch") => drop_slot("--payload"),
        ("retry", "--status") => {
            drop_slot("<ID>");
            slots.push(("--queue", vec!["--queue", "q"]));
        }
        ("enqueue", "--backoff-max") => slots.push(("--backoff", vec!["--backoff", "1s"])),
        _ => {}
    }
    let has_trailing = slots.iter().any(|(k, _)| *k == "<CMD>");
    let mut line: Vec<OsString> = vec![target.subcommand.clone().into()];
    for (key, words) in &slots {
        if *key != "<CMD>" {
            line.extend(words.iter().map(OsString::from));
        }
    }
    match value {
        None => line.push(target.key.clone().into()),
        Some(value) if !target.positional => {
            // --flag=VALUE, so a value like -1 cannot be taken for a flag.
            let mut word = format!("{}=", target.key).into_bytes();
            word.extend_from_slice(value.as_bytes());
            line.push(OsString::from_vec(word));
        }
        Some(value) => {
            if !has_trailing {
                line.push("--".into());
            }
            line.push(value.to_owned());
        }
    }
    for (key, words) in &slots {
        if *key == "<CMD>" {
            line.extend(words.iter().map(OsString::from));
        }
    }
    line
}

/// One command line to run, and what it must do.
struct Case {
    line: Vec<OsString>,
    expect: Expect,
}

enum Expect {
    /// A valid use, proving the rest of the command line right: anything but exit 2.
    Accepted,
    /// Refused with exit 2, naming the argument by one of `names`.
    Refused {
        names: Vec<String>,
        nonsense: Nonsense,
    },
}

fn cases(targets: &[Target]) -> Vec<Case> {
    let mut cases = Vec::new();
    for target in targets.iter().filter(|t| !takes_any_text(&t.key)) {
        cases.push(Case {
            line: command_line(target, target.good.as_deref()),
            expect: Expect::Accepted,
        });
        for nonsense in Nonsense::ALL {
            if target.takes_value && may_accept(&target.key).contains(&nonsense) {
                continue;
            }
            cases.push(Case {
                line: command_line(target, Some(&nonsense.value())),
                expect: Expect::Refused {
                    names: target.names(),
                    nonsense,
                },
            });
        }
    }
    cases
}

/// What is wrong with one case's run, if anything, in words that group alike failures.
fn check_case(case: &Case, db: &Path, run: &Run) -> Option<String> {
    let (names, nonsense) = match &case.expect {
        Expect::Accepted if matches!(run.code, Some(code) if code != 2) => return None,
        Expect::Accepted => return Some(format!("a valid use failed ({:?})", run.code)),
        Expect::Refused { names, nonsense } => (names, *nonsense),
    };
    if let Some(problem) = error_line_problem(run, 2) {
        return Some(problem);
    }
    if !names.iter().any(|n| run.stderr.contains(n.as_str())) {
        Some(format!(
            "the error does not name the argument, as {}",
            names[0]
        ))
    } else if nonsense == Nonsense::Control && misquotes_the_control_value(&run.stderr) {
        Some("the error quotes the value with its control characters dropped".into())
    } else if db.exists() {
        Some("created the database".into())
    } else {
        None
    }
}

/// Whether an error quotes [`Nonsense::Control`] as `'x'` or `'x[2J'`: the escape dropped,
/// so the user is told a value they did not type was wrong. Quoted escaped (`\u{1b}`) or
/// not quoted at all is fine.
fn misquotes_the_control_value(stderr: &str) -> bool {
    stderr.contains("'x'") || stderr.contains("'x[2J'")
}

#[test]
fn every_value_taking_argument_refuses_nonsense_naming_itself_and_creating_nothing() {
    let targets = targets();
    assert!(
        targets.len() > 60,
        "only {} arguments found in the clap tree",
        targets.len()
    );
    let cases = cases(&targets);
    let dir = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(index) else { break };
                let db = dir.path().join(format!("case-{index}.db"));
                let mut command = Command::new(BIN);
                command
                    .args(&case.line)
                    .env_remove("QUEUEPRIM_FORMAT")
                    .env_remove("QUEUEPRIM_SYNCHRONOUS")
                    .env("QUEUEPRIM_DB", &db)
                    .env("HOME", dir.path());
                let run = run_to_end(command, Vec::new(), GENEROUS);
                if let Some(problem) = check_case(case, &db, &run) {
                    failures.lock().unwrap().push(described(&problem, &run));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert_no_problems(&failures, cases.len());
}

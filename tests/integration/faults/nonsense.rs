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
/// `may_accept` lists for it, which it must take without failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nonsense {
    Empty,
    Word,
    Negative,
    Huge,
    Long,
    Control,
    LineBreak,
    InvalidUtf8,
    Accented,
    Wide,
    Emoji,
    Combining,
    OffsetMultibyte,
    FractionMultibyte,
    Vast,
}

impl Nonsense {
    const ALL: [Nonsense; 15] = [
        Nonsense::Empty,
        Nonsense::Word,
        Nonsense::Negative,
        Nonsense::Huge,
        Nonsense::Long,
        Nonsense::Control,
        Nonsense::LineBreak,
        Nonsense::InvalidUtf8,
        Nonsense::Accented,
        Nonsense::Wide,
        Nonsense::Emoji,
        Nonsense::Combining,
        Nonsense::OffsetMultibyte,
        Nonsense::FractionMultibyte,
        Nonsense::Vast,
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
            // A line break, which must not split the one-line error.
            Nonsense::LineBreak => "x\ny".into(),
            Nonsense::InvalidUtf8 => raw(b"x\xff\xfe"),
            // Characters of two, three and four bytes, and a letter with a combining
            // accent: what code cutting text by bytes instead of characters panics on.
            Nonsense::Accented => "é".into(),
            Nonsense::Wide => "日本".into(),
            Nonsense::Emoji => "🙂".into(),
            Nonsense::Combining => "e\u{301}".into(),
            // Multibyte right where a time's offset, and its fraction, are read.
            Nonsense::OffsetMultibyte => "2026-11-21T0é12345".into(),
            Nonsense::FractionMultibyte => "2026-11-21T09:30:00.5é+02:00".into(),
            // As long as one argument can be: Linux refuses to start a program given a
            // single argument over 128 KiB. Values of 1 MiB come through files and stdin
            // (sizes.rs).
            Nonsense::Vast => "é".repeat(60_000).into(),
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
            | "--dir"
            // The worker's command and its arguments, handed to the program untouched.
            | "<CMD>"
    )
}

/// The nonsense values that are legitimate for an argument.
fn may_accept(key: &str) -> &'static [Nonsense] {
    use Nonsense::*;
    match key {
        // Names of queues, types and groups allow letters, digits and - _ . / :, so a word,
        // "-1" and a long number are all good names.
        "<QUEUE>" | "--queue" | "--type" | "--group" => &[Word, Negative, Huge],
        // Worker names and dedup keys are free text without control characters.
        "--worker" | "--key" => &[
            Word,
            Negative,
            Huge,
            Accented,
            Wide,
            Emoji,
            Combining,
            OffsetMultibyte,
            FractionMultibyte,
        ],
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
    /// The environment variable it can also be given by.
    env: Option<String>,
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
            env: arg.get_env().map(|var| var.to_string_lossy().into_owned()),
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
        "OBJECT|@FILE|-" => r#"{"queue":"next","payload":1}"#,
        // A claim lasts at least 1s.
        "DUR" if key == "--timeout" => "1s",
        // top's frames come at least 100ms apart (and --once ends it at once).
        "DUR" if key == "--interval" => "100ms",
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
        "ADDR:PORT" => held_address(),
        other => panic!("no known-good value for {key} ({other}): add one to good_value"),
    };
    good.into()
}

/// A loopback address this test process listens on for as long as it runs: `serve`
/// given it cannot listen, so it exits at once rather than serving.
fn held_address() -> &'static str {
    static HELD: std::sync::OnceLock<(std::net::TcpListener, &'static str)> =
        std::sync::OnceLock::new();
    HELD.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        (listener, Box::leak(address.into_boxed_str()))
    })
    .1
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
        "complete" | "fail" | "get" | "release" | "retry" | "cancel" => vec![("<ID>", vec![ID])],
        "extend" => vec![("<ID>", vec![ID]), ("--by", vec!["--by", "1m"])],
        "list" | "stats" | "queues" | "info" | "man" | "export" | "import" => vec![],
        "completions" => vec![("<SHELL>", vec!["bash"])],
        "purge" => vec![("--all", vec!["--all"])],
        "sweep" => vec![("--once", vec!["--once"])],
        "top" => vec![("--once", vec!["--once"])],
        // On an address already taken, so that serve exits (1) instead of serving.
        "serve" => vec![("--listen", vec!["--listen", held_address()])],
        "work" => vec![
            ("<QUEUE>", vec!["q"]),
            ("--until-empty", vec!["--until-empty"]),
            ("<CMD>", vec!["--", "true"]),
        ],
        other => panic!("no minimal invocation for `queueprim {other}`: add one"),
    }
}

/// What a command line reads on stdin: `import` an export of nothing (without one, every
/// use of it is refused), the others nothing.
fn stdin_for(line: &[OsString]) -> Vec<u8> {
    match line.first().and_then(|word| word.to_str()) {
        Some("import") => concat!(
            r#"{"queueprim_export":1,"engine":"sqlite","exported_at":"2026-01-01T00:00:00.000Z"}"#,
            "\n",
            r#"{"end":{"jobs":0,"settings":0}}"#,
            "\n"
        )
        .into(),
        _ => Vec::new(),
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
        ("work", "--until-drained") => drop_slot("--until-empty"),
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

/// The shortest valid command line of a subcommand, as is.
fn minimal_line(subcommand: &str) -> Vec<OsString> {
    let words = minimal_invocation(subcommand)
        .into_iter()
        .flat_map(|(_, w)| w);
    std::iter::once(subcommand)
        .chain(words)
        .map(OsString::from)
        .collect()
}

/// One command line to run, and what it must do.
struct Case {
    line: Vec<OsString>,
    /// An environment variable set for the run, for values given that way.
    env: Option<(String, OsString)>,
    expect: Expect,
}

enum Expect {
    /// A valid use, proving the rest of the command line right, or nonsense the argument
    /// may take: anything but exit 2.
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
            env: None,
            expect: Expect::Accepted,
        });
        for nonsense in Nonsense::ALL {
            let taken = target.takes_value && may_accept(&target.key).contains(&nonsense);
            if taken && cannot_be_written(target, &nonsense.value()) {
                continue;
            }
            let expect = || match taken {
                true => Expect::Accepted,
                false => Expect::Refused {
                    names: target.names(),
                    nonsense,
                },
            };
            cases.push(Case {
                line: command_line(target, Some(&nonsense.value())),
                env: None,
                expect: expect(),
            });
            if let Some(var) = &target.env {
                cases.push(Case {
                    line: minimal_line(&target.subcommand),
                    env: Some((var.clone(), nonsense.value())),
                    // An empty QUEUEPRIM_* variable is taken as unset.
                    expect: match nonsense {
                        Nonsense::Empty => Expect::Accepted,
                        _ => expect(),
                    },
                });
            }
        }
    }
    cases
}

/// Whether a valid value cannot be written as this argument: before the `--` of `work`,
/// clap reads a dash-led word as a flag, so such a queue is given with --queue (a target of
/// its own).
fn cannot_be_written(target: &Target, value: &OsStr) -> bool {
    let trailing = minimal_invocation(&target.subcommand)
        .iter()
        .any(|(key, _)| *key == "<CMD>");
    target.positional && trailing && value.as_bytes().starts_with(b"-")
}

/// A run that ended as no input may end it: by a signal (an abort is 134 in a shell), by
/// a panic (101), or with a panic's message; or one that hung.
fn crash(run: &Run) -> Option<String> {
    match run.code {
        None => Some("killed by a signal, or hung".into()),
        Some(101) => Some("panicked (exit 101)".into()),
        _ if run.stderr.contains("panicked") => Some("printed a panic message".into()),
        _ => None,
    }
}

/// What is wrong with one case's run, if anything, in words that group alike failures.
fn check_case(case: &Case, db: &Path, run: &Run) -> Option<String> {
    if let Some(crash) = crash(run) {
        return Some(crash);
    }
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
        // Two runs at a time: as fast as three on two cores, and gentler on the tests that
        // run beside this one (three made the sweep crash test's claims expire early).
        for _ in 0..2 {
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
                if let Some((var, value)) = &case.env {
                    command.env(var, value);
                }
                let run = run_to_end(command, stdin_for(&case.line), GENEROUS);
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

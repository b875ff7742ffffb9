//! What the property tests over user input share: a configuration that prints its seed and
//! replays one from `PROPTEST_RNG_SEED`, text a user or a fuzzer might type, and the check
//! that an error message is one clean line. Its own test runs every value-taking argument of
//! the clap tree on such text.

use std::hash::{BuildHasher, RandomState};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};

/// proptest's defaults (256 cases; `PROPTEST_CASES` changes that) with a seed that is
/// printed, so a failure can be run again exactly: `PROPTEST_RNG_SEED=N cargo test NAME`.
/// No regression files are written into the tree; the seed is the record.
pub fn config() -> Config {
    let mut config = Config::default();
    let seed = match config.rng_seed {
        RngSeed::Fixed(seed) => seed,
        RngSeed::Random => RandomState::new().hash_one("queueprim"),
    };
    // Shown only when the test fails (the test harness keeps a passing test's output).
    eprintln!("proptest seed {seed}: replay with PROPTEST_RNG_SEED={seed}");
    config.rng_seed = RngSeed::Fixed(seed);
    config.failure_persistence = None;
    config
}

/// Characters that trip parsers: multibyte ones of two, three and four bytes, a combining
/// mark, controls and line breaks, a byte-order mark, a right-to-left override, the
/// replacement character, and the ASCII that durations, times, ids and JSON are made of.
const TRICKY: &[char] = &[
    'é', '日', '本', '🙂', '\u{301}', '\0', '\u{1b}', '\n', '\r', '\t', '\u{7f}', '\u{85}',
    '\u{a0}', '\u{2028}', '\u{feff}', '\u{202e}', '\u{fffd}', ' ', '0', '1', '2', '9', '-', '+',
    ':', '.', '_', '/', '=', '@', 'T', 'Z', 'z', 'q', 'c', 's', 'm', 'h', 'd', 'y', 'u', '"', '\\',
    '{', '}', '[', ']', ',',
];

fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![3 => proptest::sample::select(TRICKY), 1 => any::<char>()]
}

/// Up to 40 characters, mostly [`TRICKY`] ones, the rest anything Unicode has.
pub fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(tricky_char(), 0..40).prop_map(String::from_iter)
}

/// One change to a valid value, at a position chosen by an [`Index`].
#[derive(Debug, Clone)]
enum Edit {
    Insert(char),
    Replace(char),
    Remove,
    CutAt,
}

fn edit() -> impl Strategy<Value = (Index, Edit)> {
    let edit = prop_oneof![
        tricky_char().prop_map(Edit::Insert),
        tricky_char().prop_map(Edit::Replace),
        Just(Edit::Remove),
        Just(Edit::CutAt),
    ];
    (any::<Index>(), edit)
}

fn apply(chars: &mut Vec<char>, (at, edit): (Index, Edit)) {
    let i = at.index(chars.len() + 1);
    match edit {
        Edit::Insert(c) => chars.insert(i, c),
        Edit::Replace(c) if i < chars.len() => chars[i] = c,
        Edit::Remove if i < chars.len() => {
            chars.remove(i);
        }
        Edit::CutAt => chars.truncate(i),
        _ => {}
    }
}

/// One of `samples` (valid values) with one to three characters inserted, replaced or
/// removed, or cut short: text that passes the first checks and reaches the code behind
/// them, as `2026-11-21T0é12345` reached an offset sliced inside a character.
pub fn near(samples: &'static [&'static str]) -> impl Strategy<Value = String> {
    let edits = proptest::collection::vec(edit(), 1..4);
    (proptest::sample::select(samples), edits).prop_map(|(sample, edits)| {
        let mut chars: Vec<char> = sample.chars().collect();
        edits.into_iter().for_each(|e| apply(&mut chars, e));
        chars.into_iter().collect()
    })
}

/// Text near one of `samples`, or any text at all.
pub fn input(samples: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![near(samples), text(), Just(String::new())]
}

/// Whether `c` would break a one-line message or be acted on by a terminal.
fn breaks_a_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// An error message as queueprim promises them: one line, not empty, nothing a terminal
/// acts on, starting lowercase.
pub fn check_message(message: &str) -> Result<(), TestCaseError> {
    prop_assert!(!message.trim().is_empty(), "empty message");
    prop_assert!(
        !message.chars().any(breaks_a_line),
        "message not one clean line: {message:?}"
    );
    prop_assert!(
        !message.starts_with(char::is_uppercase),
        "message starts uppercase: {message:?}"
    );
    Ok(())
}

/// Checks a parser's answer: a value `valid` accepts, or a clean message.
pub fn check<T: std::fmt::Debug>(
    result: Result<T, String>,
    valid: impl FnOnce(&T) -> bool,
) -> Result<(), TestCaseError> {
    match result {
        Ok(value) => {
            prop_assert!(valid(&value), "accepted a value it should not: {value:?}");
            Ok(())
        }
        Err(message) => check_message(&message),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::Cli;

    /// Every value-taking argument, as (subcommand, how to write it): `--name=` for options,
    /// nothing for positionals. The global options are tried on `stats`.
    fn arguments() -> Vec<(String, Option<String>)> {
        let mut cli = Cli::command();
        cli.build();
        let mut found = Vec::new();
        let mut add = |sub: &str, arg: &clap::Arg| {
            if arg.get_action().takes_values() {
                let flag = arg.get_long().map(|long| format!("--{long}="));
                found.push((sub.to_string(), flag));
            }
        };
        cli.get_arguments().for_each(|arg| add("stats", arg));
        for sub in cli.get_subcommands() {
            sub.get_arguments()
                .filter(|arg| !arg.is_global_set())
                .for_each(|arg| add(sub.get_name(), arg));
        }
        found
    }

    /// Valid values of every kind the arguments take, to be changed a little.
    const VALUES: &[&str] = &[
        "q",
        "tenant/acme:v1",
        "q_1m8nqj814jqfwrx",
        "c_8k2m4x7q9r1t",
        "{\"to\":\"a@b.c\"}",
        "next={\"n\":1}",
        "90s",
        "1h 30m",
        "250ms",
        "100y",
        "2026-11-21T09:30:00Z",
        "2026-11-21T09:30:00.250+02:00",
        "high",
        "-3",
        "10000",
        "dead",
        "json",
        "forever",
    ];

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn every_argument_given_any_text_parses_or_is_refused_in_one_line(
            which in any::<Index>(),
            value in input(VALUES),
        ) {
            let arguments = arguments();
            let (sub, flag) = which.get(&arguments);
            let mut line = vec!["queueprim".to_string(), sub.clone()];
            match flag {
                Some(flag) => line.push(format!("{flag}{value}")),
                None => line.extend(["--".to_string(), value]),
            }
            if let Err(e) = Cli::try_parse_from(&line) {
                let kind = e.kind();
                if kind != clap::error::ErrorKind::DisplayHelp {
                    check_message(&crate::one_line(&e, None))?;
                }
            }
        }
    }

    #[test]
    fn the_clap_tree_has_value_taking_arguments_to_try() {
        let arguments = arguments();
        assert!(arguments.len() > 60, "{}", arguments.len());
        assert!(arguments.iter().any(|(_, flag)| flag.is_none()));
    }
}

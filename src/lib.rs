//! queueprim: a durable work queue on a single SQLite file.
//!
//! The tree shows the architecture: `cli` holds the clap types, `cmd` one file per
//! subcommand, `store` all SQL, `lifecycle` the state transitions, `output` the rendering.

/// The clap tree, public so the man pages and completions can be generated from it.
pub mod cli;
mod cmd;
/// The typed error and its exit codes; public so tests can tell a conflict from a failure.
pub mod error;
mod follow_up;
#[cfg(test)]
mod fuzz;
mod hints;
mod http;
mod ids;
mod input;
/// The domain types the store speaks in; public, with `store`, for the benchmark harness.
pub mod job;
mod lifecycle;
/// The man pages and completions, generated from `cli`; public for the test that keeps the
/// committed ones current.
pub mod manual;
mod output;
mod reconnect;
mod signals;
pub mod store;
mod text;
mod time;
/// API tokens of `serve`; public, as the store speaks of them.
pub mod tokens;
mod transfer;
mod watch;
mod worker;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, DbSource, Format};
use error::{Kind, Report};
use output::Printer;

/// Parses the command line, runs the command and turns the outcome into an exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    ignore_empty_env();
    signals::ignore_file_size_limit_signal();
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match parse(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, &args),
    };
    // Errors are JSON only when asked for: JSON results are the default in a pipe, but an
    // error there is most often read by a person at the terminal.
    let error_format = cli.global.format.unwrap_or(Format::Table);
    let format = cli.global.format.unwrap_or_else(output::default_format);
    let mut out = Printer::new(format);
    let result = cmd::run(cli, &mut out).and_then(|()| out.flush());
    match result.map_err(|e| error::classify(&e)) {
        Ok(()) | Err(None) => ExitCode::SUCCESS,
        Err(Some(report)) => {
            output::print_error(error_format, &report);
            ExitCode::from(report.exit_code)
        }
    }
}

/// Parses the command line, noting where the database path came from.
fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    let mut matches = Cli::command().try_get_matches_from(args)?;
    // A global option's value is recorded on the subcommand it was given to.
    let mut level = Some(&matches);
    let mut source = None;
    while let Some(m) = level {
        source = m.value_source("db").or(source);
        level = m.subcommand().map(|(_, sub)| sub);
    }
    let mut cli = Cli::from_arg_matches_mut(&mut matches)?;
    cli.global.db_source = match source {
        Some(ValueSource::CommandLine) => DbSource::Flag,
        Some(ValueSource::EnvVariable) => DbSource::Env,
        _ => DbSource::Default,
    };
    Ok(cli)
}

/// Treats an empty `QUEUEPRIM_*` variable as unset, as shells and service files often leave
/// them (`QUEUEPRIM_DB= queueprim stats`); clap would take it as a missing value.
fn ignore_empty_env() {
    for name in ["QUEUEPRIM_DB", "QUEUEPRIM_FORMAT", "QUEUEPRIM_SYNCHRONOUS"] {
        if std::env::var_os(name).is_some_and(|v| v.is_empty()) {
            // Still single-threaded here, before anything reads the environment.
            std::env::remove_var(name);
        }
    }
}

/// Reports a command line clap could not parse, as one line like every other error. Help and
/// version are not errors. With JSON output requested, the error is the usual JSON object.
fn usage_error(e: clap::Error, args: &[OsString]) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    let kind = match e.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => Kind::InvalidInput,
        _ => Kind::Usage,
    };
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let report = Report::new(kind, one_line(&e, hints::for_error(&e, &words)));
    output::print_error(requested_format(args), &report);
    ExitCode::from(report.exit_code)
}

/// Condenses clap's multi-line error to one line: the error itself, the arguments it lists
/// and a tip (`tip`, which knows what the command wanted, else clap's own), without the
/// usage block. Control characters a user typed are made visible.
///
/// clap's rendered text has already lost them (its plain rendering strips escape sequences
/// and control characters), so it would quote a value the user did not type: `'x'` for
/// `x\e[2J`. An error about one value is therefore written here from clap's parts instead.
fn one_line(e: &clap::Error, tip: Option<String>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for paragraph in e.render().to_string().split("\n\n") {
        let text = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        if parts.is_empty() {
            let rendered = text.trim_start_matches("error: ").to_string();
            parts.push(value_error(e).unwrap_or(rendered));
        } else if text.starts_with("tip:") && tip.is_none() {
            parts.push(format!("({text})"));
        }
    }
    if let Some(tip) = tip {
        parts.push(format!("(tip: {tip})"));
    }
    text::visible(&parts.join(" "), usize::MAX)
}

/// The most characters of a refused value quoted back: enough to recognise it, and a
/// megabyte pasted by mistake is not echoed whole.
const QUOTED_VALUE_CHARS: usize = 200;

/// The first paragraph of an error about one value, worded as clap words it, from the
/// argument, the value exactly as typed (escaped), the values allowed and the parser's
/// reason. `None` for other errors, which quote no value.
fn value_error(e: &clap::Error) -> Option<String> {
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(text)) => Some(text.as_str()),
        _ => None,
    };
    let arg = text(ContextKind::InvalidArg)?;
    let value = text::visible(text(ContextKind::InvalidValue)?, QUOTED_VALUE_CHARS);
    let mut line = match e.kind() {
        ErrorKind::InvalidValue if value.is_empty() => {
            format!("a value is required for '{arg}' but none was supplied")
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            format!("invalid value '{value}' for '{arg}'")
        }
        ErrorKind::TooManyValues => {
            format!("unexpected value '{value}' for '{arg}' found; no more were expected")
        }
        _ => return None,
    };
    if let Some(ContextValue::Strings(allowed)) = e.get(ContextKind::ValidValue) {
        if !allowed.is_empty() {
            line.push_str(&format!(" [possible values: {}]", allowed.join(", ")));
        }
    }
    if let Some(reason) = std::error::Error::source(e) {
        line.push_str(&format!(
            ": {}",
            text::visible(&reason.to_string(), usize::MAX)
        ));
    }
    Some(line)
}

/// The output format named on a command line that failed to parse, read by hand; plain
/// lines unless JSON was asked for.
fn requested_format(args: &[OsString]) -> Format {
    let mut named: Option<String> = std::env::var("QUEUEPRIM_FORMAT").ok();
    let mut args = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        if arg == "--format" {
            named = args.next().map(|v| v.into_owned());
        } else if let Some(value) = arg.strip_prefix("--format=") {
            named = Some(value.to_string());
        }
    }
    match named.as_deref() {
        Some("json") => Format::Json,
        Some("jsonl") => Format::Jsonl,
        _ => Format::Table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn refusal(args: &[&str]) -> String {
        let args = std::iter::once("queueprim").chain(args.iter().copied());
        one_line(&Cli::try_parse_from(args).expect_err("refused"), None)
    }

    #[test]
    fn a_refused_value_is_quoted_as_typed_with_control_characters_escaped() {
        assert_eq!(
            refusal(&["list", "--limit=x\u{1b}[2J"]),
            r"invalid value 'x\u{1b}[2J' for '--limit <N>': invalid digit found in string"
        );
        assert_eq!(
            refusal(&["list", "--status=\u{7}"]),
            r"invalid value '\u{7}' for '--status <STATUS>' [possible values: pending, claimed, done, dead]"
        );
        assert_eq!(
            refusal(&["purge", "--all=\u{1b}"]),
            r"unexpected value '\u{1b}' for '--all' found; no more were expected"
        );
    }

    #[test]
    fn a_huge_refused_value_is_quoted_cut() {
        let huge = format!("--limit={}", "9".repeat(1 << 20));
        let line = refusal(&["list", &huge]);
        let quoted = format!("'{}…'", "9".repeat(QUOTED_VALUE_CHARS));
        assert!(line.starts_with(&format!("invalid value {quoted} for '--limit <N>'")));
        assert!(line.len() < 400, "{line}");
    }

    #[test]
    fn errors_that_quote_no_value_keep_clap_s_wording_and_tips() {
        assert_eq!(
            refusal(&["list", "--status", "dea"]),
            "invalid value 'dea' for '--status <STATUS>' [possible values: pending, claimed, \
             done, dead] (tip: a similar value exists: 'dead')"
        );
        assert_eq!(
            refusal(&["list", "--bogus"]),
            "unexpected argument '--bogus' found (tip: to pass '--bogus' as a value, use '-- \
             --bogus')"
        );
    }

    #[test]
    #[cfg(unix)]
    fn a_value_that_is_not_utf8_is_refused_naming_its_argument() {
        use std::os::unix::ffi::OsStrExt;
        let worker = std::ffi::OsStr::from_bytes(b"w\xff");
        let args = [
            "queueprim".as_ref(),
            "dequeue".as_ref(),
            "q".as_ref(),
            "--worker".as_ref(),
            worker,
        ];
        let e = Cli::try_parse_from(args).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
        assert_eq!(
            one_line(&e, None),
            r"invalid value 'w\xff' for '--worker <NAME>': not valid UTF-8"
        );
        let format = std::ffi::OsStr::from_bytes(b"\xffjson");
        let e = Cli::try_parse_from(["queueprim".as_ref(), "--format".as_ref(), format])
            .expect_err("refused");
        assert_eq!(
            one_line(&e, None),
            r"invalid value '\xffjson' for '--format <FORMAT>': not valid UTF-8"
        );
    }
}

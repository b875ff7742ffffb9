//! queueprim: a durable work queue on a single SQLite file.
//!
//! The tree shows the architecture: `cli` holds the clap types, `cmd` one file per
//! subcommand, `store` all SQL, `lifecycle` the state transitions, `output` the rendering.

/// The clap tree, public so the man pages and completions can be generated from it.
pub mod cli;
mod cmd;
/// The typed error and its exit codes; public so tests can tell a conflict from a failure.
pub mod error;
mod ids;
mod input;
/// The domain types the store speaks in; public, with `store`, for the benchmark harness.
pub mod job;
mod lifecycle;
mod output;
mod signals;
pub mod store;
mod time;
mod watch;
mod worker;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use cli::{Cli, Format};
use error::{Kind, Report};
use output::Printer;

/// Parses the command line, runs the command and turns the outcome into an exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    ignore_empty_env();
    signals::ignore_file_size_limit_signal();
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
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
    let report = Report::new(kind, one_line(&e.render().to_string()));
    output::print_error(requested_format(args), &report);
    ExitCode::from(report.exit_code)
}

/// Condenses clap's multi-line error to one line: the error itself, the arguments it lists
/// and any tip, without the usage block. Control characters a user typed are made visible.
fn one_line(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for paragraph in rendered.split("\n\n") {
        let text = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        if parts.is_empty() {
            parts.push(text.trim_start_matches("error: ").to_string());
        } else if text.starts_with("tip:") {
            parts.push(format!("({text})"));
        }
    }
    input::visible(&parts.join(" "), usize::MAX)
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

//! The man pages and shell completions, generated from the clap tree: what `queueprim man`
//! and `queueprim completions` print, and what `man/` and `completions/` hold (a test keeps
//! those current). A page stands alone: its synopsis shows each option's value, and after
//! the options come EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES, OUTPUT and SEE ALSO.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

use crate::cli::Cli;

mod text;

/// The shells `completions` writes for, as the committed `completions/` folder has them.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "queueprim", out);
}

/// Writes every completion script into `dir`, named as each shell looks for it.
pub fn write_completions(dir: &Path) -> io::Result<()> {
    for shell in SHELLS {
        clap_complete::generate_to(shell, &mut Cli::command(), "queueprim", dir)?;
    }
    Ok(())
}

/// Every page: `queueprim.1` and one `queueprim-COMMAND.1` per subcommand, with its text.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = vec![("queueprim.1".to_string(), page(&root, None))];
    for sub in root.get_subcommands() {
        let name = format!("queueprim-{}.1", sub.get_name());
        pages.push((name, page(sub, Some(sub.get_name()))));
        // A command with commands of its own (token) gets a page for each of them too.
        for nested in sub.get_subcommands().filter(|n| n.get_name() != "help") {
            let words = format!("{} {}", sub.get_name(), nested.get_name());
            let name = format!("queueprim-{}-{}.1", sub.get_name(), nested.get_name());
            pages.push((name, page(nested, Some(&words))));
        }
    }
    pages
}

/// One page by its command (`None` or `"queueprim"` for the main one).
pub fn page_for(command: Option<&str>) -> Option<Vec<u8>> {
    let file = match command {
        None | Some("queueprim") => "queueprim.1".to_string(),
        Some(name) => format!("queueprim-{}.1", name.replace(' ', "-")),
    };
    pages()
        .into_iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| text)
}

/// Writes every page into `dir`, returning the files written.
pub fn write_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    pages()
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            Ok(path)
        })
        .collect()
}

/// A page: clap_mangen's title, name, description and options, a synopsis that shows the
/// values, and the sections a man page is expected to have.
fn page(cmd: &clap::Command, sub: Option<&str>) -> Vec<u8> {
    let version = env!("CARGO_PKG_VERSION");
    let man = Man::new(cmd.clone().version(version))
        .source(format!("queueprim {version}"))
        .manual("queueprim manual");
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut part = |render: &dyn Fn(&mut Vec<u8>) -> io::Result<()>| {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail; a page cut short would still show.
        let _ = render(&mut out);
        parts.push(out);
    };
    part(&|w| man.render_title(w));
    part(&|w| man.render_name_section(w));
    part(&|w| synopsis(cmd, sub).to_writer(w));
    part(&|w| man.render_description_section(w));
    part(&|w| man.render_options_section(w));
    if cmd.has_subcommands() {
        part(&|w| man.render_subcommands_section(w));
    }
    part(&|w| sections(sub).to_writer(w));
    part(&|w| man.render_version_section(w));
    join(parts)
}

/// Joins rendered parts, keeping the preamble roff puts before each only once.
fn join(parts: Vec<Vec<u8>>) -> Vec<u8> {
    let preamble = Roff::new().render().into_bytes();
    let mut page = preamble.clone();
    for part in parts {
        page.extend_from_slice(part.strip_prefix(preamble.as_slice()).unwrap_or(&part));
    }
    page
}

/// `queueprim [global options] dequeue [--worker NAME] [--wait [DUR]] … [QUEUE]`.
fn synopsis(cmd: &clap::Command, sub: Option<&str>) -> Roff {
    // Global options go before the command: after `work`'s `--` they would be the job's.
    let mut line: Vec<Inline> = vec![
        bold("queueprim"),
        roman(" ["),
        italic("global options"),
        roman("]"),
    ];
    match sub {
        Some(sub) => line.extend([roman(" "), bold(sub)]),
        None => line.extend([roman(" "), italic("command"), roman(" ...")]),
    }
    let mut own: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set() && !is_help(a))
        .collect();
    own.sort_by_key(|a| a.get_display_order());
    for arg in own.iter().filter(|a| !a.is_positional()) {
        line.push(roman(" ["));
        line.push(bold(format!("--{}", arg.get_long().unwrap_or_default())));
        if arg.get_num_args().is_some_and(|n| n.takes_values()) {
            let value = value_name(arg);
            if arg.get_num_args().is_some_and(|n| n.min_values() == 0) {
                line.extend([roman(" ["), italic(value), roman("]")]);
            } else {
                line.extend([roman(" "), italic(value)]);
            }
        }
        line.push(roman("]"));
        if matches!(arg.get_action(), clap::ArgAction::Append) {
            line.push(roman("..."));
        }
    }
    for arg in own.iter().filter(|a| a.is_positional()) {
        let value = value_name(arg);
        let many = matches!(arg.get_action(), clap::ArgAction::Append);
        let dots = if many { "..." } else { "" };
        if arg.is_last_set() {
            line.extend([
                roman(" "),
                bold("--"),
                roman(" "),
                italic(value),
                roman(dots),
            ]);
        } else if arg.is_required_set() {
            line.extend([roman(" "), italic(value), roman(dots)]);
        } else {
            line.extend([roman(" ["), italic(value), roman(format!("]{dots}"))]);
        }
    }
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    roff.text(line);
    roff
}

fn value_name(arg: &clap::Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map_or_else(
            || arg.get_id().to_string().to_uppercase(),
            |n| n.to_string(),
        )
}

fn is_help(arg: &clap::Arg) -> bool {
    matches!(
        arg.get_action(),
        clap::ArgAction::Help
            | clap::ArgAction::HelpShort
            | clap::ArgAction::HelpLong
            | clap::ArgAction::Version
    )
}

/// The sections after the options, for the main page (`None`) or one subcommand.
fn sections(sub: Option<&str>) -> Roff {
    let sections = text::for_page(sub);
    let mut roff = Roff::new();
    for (heading, paragraphs) in sections {
        roff.control("SH", [heading]);
        for paragraph in paragraphs {
            match paragraph {
                text::Para::Text(text) => {
                    roff.control("PP", []);
                    roff.text([roman(text)]);
                }
                text::Para::Item(term, text) => {
                    roff.control("TP", []);
                    roff.text([bold(term)]);
                    roff.text([roman(text)]);
                }
                text::Para::Example(what, lines) => {
                    roff.control("PP", []);
                    roff.text([roman(what)]);
                    roff.control("RS", ["4"]);
                    roff.control("nf", []);
                    for line in lines {
                        roff.text([roman(*line)]);
                    }
                    roff.control("fi", []);
                    roff.control("RE", []);
                }
            }
        }
    }
    roff
}

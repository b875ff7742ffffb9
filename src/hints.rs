//! Tips for command lines that clap refuses, pointed at the fix: the mistakes people and
//! programs make when they first use queueprim (`enqueue --data`, `extend ID 30s`, `work Q
//! ./x.sh`, a claim token given without `--claim`…). clap's own tip, when there is one, is
//! a guess by spelling; these know what the command wanted.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::input::parse_claim;
use crate::text::printable;
use crate::time::parse_duration;

/// A tip for an error clap reported on `args` (the whole command line), if one is known.
pub fn for_error(e: &clap::Error, args: &[String]) -> Option<String> {
    let command = subcommand(args)?;
    match e.kind() {
        ErrorKind::UnknownArgument => {
            let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
                return None;
            };
            unexpected(command, arg)
        }
        ErrorKind::MissingRequiredArgument if command == "retry" => Some(
            "give the ids of dead or done jobs, or --queue QUEUE to retry every dead job of a \
             queue"
                .into(),
        ),
        _ => None,
    }
}

/// The subcommand named on the command line: the first word that is not an option or the
/// value of a global option.
fn subcommand(args: &[String]) -> Option<&str> {
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--db" | "--format" | "--synchronous" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => return Some(w),
        }
    }
    None
}

/// A tip for `arg`, which `command` did not expect.
fn unexpected(command: &str, arg: &str) -> Option<String> {
    let flag = arg.split('=').next().unwrap_or(arg);
    let shown = printable(arg);
    let tip = match (command, flag) {
        ("enqueue", "--data" | "--json" | "--body" | "--message" | "--job" | "-d") => {
            "the job's JSON goes in --payload: queueprim enqueue QUEUE --payload '{\"to\":\"a@b.c\"}'"
                .to_string()
        }
        ("complete", "--result" | "--data" | "--json") => {
            "the job's result goes in --output: queueprim complete ID --claim TOKEN --output JSON"
                .to_string()
        }
        ("fail", "--error" | "--message" | "--msg") => {
            "the failure's text goes in --reason: queueprim fail ID --claim TOKEN --reason TEXT"
                .to_string()
        }
        (_, "--token") => "the claim token goes in --claim: --claim TOKEN".to_string(),
        (_, f) if f.starts_with('-') => return None,
        (_, word) if parse_claim(word).is_ok() => format!(
            "pass the claim token with --claim: queueprim {command} ID --claim {shown}"
        ),
        ("extend", word) if parse_duration(word).is_ok() => {
            format!("give the time with --by: queueprim extend ID --by {shown}")
        }
        ("work", _) => format!(
            "put the command after --: queueprim work QUEUE [OPTIONS] -- {shown} [ARGS...]"
        ),
        ("enqueue", _) => {
            format!("the payload goes in --payload: queueprim enqueue QUEUE --payload '{shown}'")
        }
        ("complete", _) => format!(
            "a result goes in --output: queueprim complete ID --claim TOKEN --output '{shown}'"
        ),
        ("fail", _) => {
            format!("a reason goes in --reason: queueprim fail ID --claim TOKEN --reason '{shown}'")
        }
        _ => return None,
    };
    Some(tip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_subcommand_is_found_past_global_options() {
        assert_eq!(
            subcommand(&words("queueprim --db x.db --format json extend q_1")),
            Some("extend")
        );
        assert_eq!(subcommand(&words("queueprim --db")), None);
    }

    #[test]
    fn tips_name_the_flag_the_command_wanted() {
        let tip = |command, arg| unexpected(command, arg).unwrap_or_default();
        assert!(tip("enqueue", "--data").contains("--payload"));
        assert!(tip("enqueue", "--data={}").contains("--payload"));
        assert!(tip("extend", "30s").contains("--by 30s"));
        assert!(tip("work", "./x.sh").contains("-- ./x.sh"));
        assert!(tip("complete", "c_8k2m4x7q9r1t").contains("--claim c_8k2m4x7q9r1t"));
        assert!(tip("fail", "smtp timeout").contains("--reason 'smtp timeout'"));
        assert_eq!(unexpected("list", "--bogus"), None);
        assert_eq!(unexpected("extend", "soon"), None);
    }
}

//! Checking what users type: names, priorities, worker names and JSON documents. Every
//! function here either returns a clean value or a message naming what was wrong.

use std::io::{BufRead, IsTerminal, Read};

use crate::error::Error;
use crate::text::{describe_char, printable, visible};

/// The largest payload or output accepted, measured as the stored compact JSON.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Names of queues and job types: 1–128 characters from a shell- and URL-safe set.
pub const MAX_NAME_CHARS: usize = 128;

/// Checks a queue name: 1–128 characters of `A-Z a-z 0-9 - _ . / :`.
pub fn parse_queue(s: &str) -> Result<String, String> {
    parse_name("queue name", s)
}

/// Checks a job type, which follows the same rules as queue names.
pub fn parse_job_type(s: &str) -> Result<String, String> {
    parse_name("job type", s)
}

fn parse_name(what: &str, s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(format!("{what} is longer than {MAX_NAME_CHARS} characters"));
    }
    if let Some(bad) = s.chars().find(|c| !is_name_char(*c)) {
        return Err(format!(
            "{what} '{}' contains {}: use only letters, digits and - _ . / :",
            printable(s),
            describe_char(bad)
        ));
    }
    Ok(s.to_string())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':')
}

/// Checks a group name, which follows the same rules as queue names.
pub fn parse_group(s: &str) -> Result<String, String> {
    parse_name("group", s)
}

/// Checks a dedup key: 1–256 characters with no control characters.
pub fn parse_key(s: &str) -> Result<String, String> {
    parse_text("dedup key", s, 256)
}

/// Checks a worker name: 1–128 characters with no control characters.
pub fn parse_worker(s: &str) -> Result<String, String> {
    parse_text("worker name", s, MAX_NAME_CHARS)
}

/// Free text of 1 to `max` characters, none of them control characters.
fn parse_text(what: &str, s: &str, max: usize) -> Result<String, String> {
    if s.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if s.chars().count() > max {
        return Err(format!("{what} is longer than {max} characters"));
    }
    if let Some(bad) = s.chars().find(|c| c.is_control()) {
        return Err(format!("{what} contains {}", describe_char(bad)));
    }
    Ok(s.to_string())
}

/// Checks a claim token as printed by `dequeue`: `c_` and letters or digits.
pub fn parse_claim(s: &str) -> Result<String, String> {
    check_token(
        s,
        "c_",
        "claim token",
        "the \"claim\" value printed by dequeue, like c_8k2m4x7q9r1t",
    )
}

/// Checks a job id as printed by `enqueue`: `q_` and letters or digits.
pub fn parse_job_id(s: &str) -> Result<String, String> {
    if s.starts_with("c_") {
        return Err(format!(
            "'{}' is a claim token, not a job id: pass the job's \"id\" (q_…), and the token with --claim",
            printable(s)
        ));
    }
    check_token(s, "q_", "job id", "an id like q_1m8nqj814jqfwrx")
}

fn check_token(s: &str, prefix: &str, what: &str, expected: &str) -> Result<String, String> {
    let body = s.strip_prefix(prefix).unwrap_or("");
    if !body.is_empty() && s.len() <= 64 && body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(s.to_string());
    }
    let hint = if s.starts_with('"') {
        " (it is still quoted: use jq -r)"
    } else {
        ""
    };
    Err(format!(
        "invalid {what} '{}': expected {expected}{hint}",
        printable(s)
    ))
}

/// Parses a priority: an integer (higher runs first) or `high`, `normal`, `low`.
pub fn parse_priority(s: &str) -> Result<i64, String> {
    match s.to_ascii_lowercase().as_str() {
        "high" => Ok(10),
        "normal" => Ok(0),
        "low" => Ok(-10),
        other => other.parse::<i32>().map(i64::from).map_err(|_| {
            format!(
                "invalid priority '{}': use high, normal, low or an integer between {} and {}",
                printable(s),
                i32::MIN,
                i32::MAX
            )
        }),
    }
}

/// The most raw text read for one JSON document (file, stdin or a `--batch` line) before
/// it is compacted: generous for indentation, and a bound on memory for endless input.
pub const MAX_RAW_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// Where a JSON document comes from on the command line: inline, `@FILE`, or `-` for stdin.
pub fn read_json_arg(flag: &str, value: &str) -> anyhow::Result<String> {
    let (text, origin) = if value == "-" {
        if std::io::stdin().is_terminal() {
            eprintln!("reading {flag} from stdin; end with Ctrl-D");
        }
        let text = read_capped(std::io::stdin().lock())
            .map_err(|e| Error::invalid(format!("cannot read {flag} from stdin: {e}")))?;
        (text, "stdin".to_string())
    } else if let Some(path) = value.strip_prefix('@') {
        // Any byte can be in a path: quoted whole, control characters escaped.
        let quoted = visible(path, usize::MAX);
        let text = std::fs::File::open(path)
            .and_then(read_capped)
            .map_err(|e| Error::invalid(format!("cannot read {flag} file '{quoted}': {e}")))?;
        (text, format!("file '{quoted}'"))
    } else {
        (value.to_string(), "argument".to_string())
    };
    compact_json(&text)
        .map_err(|e| Error::invalid(format!("invalid {flag} ({origin}): {e}")).into())
}

/// Reads UTF-8 text, refusing more than [`MAX_RAW_JSON_BYTES`] instead of exhausting memory.
fn read_capped(input: impl Read) -> std::io::Result<String> {
    let mut text = String::new();
    input
        .take(MAX_RAW_JSON_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_RAW_JSON_BYTES {
        return Err(std::io::Error::other(too_big()));
    }
    Ok(text)
}

fn too_big() -> String {
    format!(
        "more than {} MiB, far over the {} MiB limit for a payload",
        MAX_RAW_JSON_BYTES >> 20,
        MAX_JSON_BYTES >> 20
    )
}

/// Reads newline-delimited JSON payloads for `--batch`, one line at a time, so a batch of any
/// size takes little memory: each payload comes out compacted, blank lines are skipped, and
/// a bad line ends the batch with an error naming its number. The caller adds the payloads
/// in one transaction, which that error then rolls back.
pub fn read_batch<R: BufRead>(input: R) -> BatchLines<R> {
    BatchLines {
        input,
        number: 0,
        line: Vec::new(),
        done: false,
    }
}

/// The payloads of a `--batch`, as [`read_batch`] reads them.
pub struct BatchLines<R> {
    input: R,
    /// The number of the last line read, counting blank ones, for error messages.
    number: u64,
    /// The line being read, its buffer reused.
    line: Vec<u8>,
    done: bool,
}

impl<R: BufRead> BatchLines<R> {
    fn read_payload(&mut self) -> anyhow::Result<Option<String>> {
        loop {
            self.line.clear();
            self.number += 1;
            let read = (&mut self.input)
                .take(MAX_RAW_JSON_BYTES + 1)
                .read_until(b'\n', &mut self.line)?;
            if read == 0 {
                return Ok(None);
            }
            let number = self.number;
            let bad = |what: String| {
                Error::invalid(format!(
                    "--batch line {number}: {what}; nothing was enqueued"
                ))
            };
            if read as u64 > MAX_RAW_JSON_BYTES {
                return Err(bad(too_big()).into());
            }
            let text =
                std::str::from_utf8(&self.line).map_err(|_| bad("not valid UTF-8".into()))?;
            if text.trim().is_empty() {
                continue;
            }
            // serde_json counts lines within the text it is given: on a single line, only the
            // column means anything. Only JSON's own whitespace is cut: `42` and a U+0085 is
            // no JSON, whatever Unicode calls that character.
            let payload = compact_json(text.trim_end_matches(JSON_WHITESPACE))
                .map_err(|e| bad(e.replace(" at line 1 column", " at column")))?;
            return Ok(Some(payload));
        }
    }
}

impl<R: BufRead> Iterator for BatchLines<R> {
    type Item = anyhow::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read_payload().transpose();
        self.done = !matches!(item, Some(Ok(_)));
        item
    }
}

/// Validates a JSON document and returns it compact (no insignificant whitespace), exactly
/// as written otherwise: key order, number spelling and escapes are kept. Fails when the
/// document is not JSON or is larger than [`MAX_JSON_BYTES`] once compacted.
pub fn compact_json(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("expected a JSON value, got nothing".into());
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| format!("not valid JSON: {e}"))?;
    let compact = strip_whitespace(text);
    if compact.len() > MAX_JSON_BYTES {
        return Err(format!(
            "{} bytes is over the limit of {MAX_JSON_BYTES} bytes (1 MiB)",
            compact.len()
        ));
    }
    Ok(compact)
}

/// The whitespace JSON allows between tokens (RFC 8259).
const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Removes whitespace outside strings. Only valid JSON reaches here, so tracking string
/// boundaries and backslash escapes is all it takes.
fn strip_whitespace(json: &str) -> String {
    // Most machine-written JSON (a `--batch` line from jq -c) has none: copy it as it is.
    if !json
        .bytes()
        .any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !JSON_WHITESPACE.contains(&c) {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_the_documented_set_only() {
        assert_eq!(
            parse_queue("tenant/acme:v1.2_x-y"),
            Ok("tenant/acme:v1.2_x-y".into())
        );
        assert!(parse_queue("").is_err());
        assert!(parse_queue(&"a".repeat(129)).is_err());
        assert!(parse_queue(&"a".repeat(128)).is_ok());
        let err = parse_queue("has space").unwrap_err();
        assert!(err.contains("contains a space"), "{err}");
        assert!(parse_queue("tab\there").is_err());
    }

    #[test]
    fn priorities_take_words_and_integers() {
        assert_eq!(parse_priority("HIGH"), Ok(10));
        assert_eq!(parse_priority("low"), Ok(-10));
        assert_eq!(parse_priority("-3"), Ok(-3));
        assert!(parse_priority("urgent").is_err());
        assert!(parse_priority("99999999999").is_err());
    }

    #[test]
    fn json_is_compacted_but_otherwise_kept() {
        let text = "{ \"b\" : [1, 2.50],\n \"a\": \"x y\\\" z\" }";
        assert_eq!(
            compact_json(text).unwrap(),
            r#"{"b":[1,2.50],"a":"x y\" z"}"#
        );
        assert_eq!(compact_json(" 42 ").unwrap(), "42");
        assert!(compact_json("{\"a\":")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(compact_json("   ").is_err());
    }

    #[test]
    fn a_batch_line_is_json_up_to_its_line_break_and_nothing_else() {
        let read = |text: &str| {
            read_batch(text.as_bytes())
                .collect::<anyhow::Result<Vec<String>>>()
                .map_err(|e| e.to_string())
        };
        assert_eq!(read("1 \t\r\n\n 2\n"), Ok(vec!["1".into(), "2".into()]));
        for line in ["42\u{85}\n", "42\u{a0}", "[1]\u{2028}"] {
            let err = read(line).unwrap_err();
            assert!(err.starts_with("--batch line 1: not valid JSON"), "{err}");
        }
    }

    #[test]
    fn json_size_limit_counts_the_compact_form() {
        let at_limit = format!("\"{}\"", "x".repeat(MAX_JSON_BYTES - 2));
        assert!(compact_json(&at_limit).is_ok());
        let over = format!("\"{}\"", "x".repeat(MAX_JSON_BYTES - 1));
        assert!(compact_json(&over).unwrap_err().contains("over the limit"));
    }
}

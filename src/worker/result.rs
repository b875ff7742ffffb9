//! Turning a finished command into what the queue records: its stdout as the job's output,
//! or a failure reason made of how it ended and the tail of its stderr.

use super::process::{describe_exit, Captured, Finished};
use crate::input::{compact_json, MAX_JSON_BYTES};

/// How much of an over-long, non-JSON stdout is kept as the output string.
const CUT_OUTPUT_BYTES: usize = 64 * 1024;

/// The job's output: stdout as JSON when it parses as JSON, as a JSON string otherwise, and
/// `None` when the command printed nothing. A stdout too large to store is cut, and says so.
pub fn output_json(stdout: &Captured) -> Option<String> {
    let text = String::from_utf8_lossy(&stdout.bytes);
    if text.trim().is_empty() {
        return None;
    }
    if stdout.total <= MAX_JSON_BYTES {
        if let Ok(json) = compact_json(&text) {
            return Some(json);
        }
        let as_string = json_string(&text);
        if as_string.len() <= MAX_JSON_BYTES {
            return Some(as_string);
        }
    }
    let cut: String = text
        .chars()
        .scan(0, |bytes, c| {
            *bytes += c.len_utf8();
            (*bytes <= CUT_OUTPUT_BYTES).then_some(c)
        })
        .collect();
    let note = format!(
        "{cut}\n… [output cut: the command printed {} bytes]",
        stdout.total
    );
    Some(json_string(&note))
}

/// Text as a JSON string. (`Value`'s `Display` cannot fail, unlike `serde_json::to_string`
/// in general; for a string it never does either.)
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Why a command's run counts as failed: how it ended (or `ending`, when the runner stopped
/// it and says why), then the end of what it said.
pub fn failure_reason(finished: &Finished, ending: Option<String>) -> String {
    let ending = ending.unwrap_or_else(|| describe_exit(finished.status));
    if finished.stderr_tail.is_empty() {
        ending
    } else {
        format!("{ending}: {}", finished.stderr_tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(text: &str) -> Captured {
        Captured {
            bytes: text.as_bytes().to_vec(),
            total: text.len(),
        }
    }

    #[test]
    fn json_stdout_is_stored_as_json_and_text_as_a_string() {
        assert_eq!(
            output_json(&captured("{\"a\": 1}\n")).as_deref(),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(
            output_json(&captured("done\n")).as_deref(),
            Some(r#""done\n""#)
        );
        assert_eq!(output_json(&captured("  \n")), None);
    }

    #[test]
    fn huge_stdout_is_cut_with_a_note() {
        let big = Captured {
            bytes: vec![b'x'; MAX_JSON_BYTES + 1],
            total: 5 * MAX_JSON_BYTES,
        };
        let out = output_json(&big).unwrap();
        assert!(out.len() < CUT_OUTPUT_BYTES + 200);
        assert!(
            out.contains("output cut: the command printed 5242880 bytes"),
            "{}",
            out.get(out.len() - 80..).unwrap_or(&out)
        );
    }
}

//! Property tests: every reader of user text, given any Unicode (and any bytes where bytes
//! can come), returns a clean value or one clean line saying why not, and never panics.
//! `PROPTEST_RNG_SEED` replays a run; see RELIABILITY.md.

use std::io::Write;

use proptest::prelude::*;

use super::*;
use crate::error::Kind;
use crate::fuzz::{check, check_message, config, input, near, text};

const NAMES: &[&str] = &["q", "emails", "tenant/acme:v1.2_x-y", "a-b.c_d"];
const FREE_TEXT: &[&str] = &["worker-1", "host 7 / pid 42", "order:42", "é日本🙂"];
const TOKENS: &[&str] = &[
    "q_1m8nqj814jqfwrx",
    "c_8k2m4x7q9r1t",
    "\"q_1m8nqj814jqfwrx\"",
];
const PRIORITIES: &[&str] = &["high", "normal", "LOW", "-3", "2147483647", "-2147483648"];
const JSON: &[&str] = &[
    "{\"to\":\"a@b.c\",\"n\":[1,2.50,-3e4]}",
    "[true, false, null]",
    "\"é日本🙂\\u00e9\\n\"",
    "  42  ",
    "{\"a\": {\"b\": [\"\\\"\"]}}",
];

fn is_name(s: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
}

fn is_free_text(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.chars().count()) && !s.chars().any(char::is_control)
}

fn is_token(s: &str, prefix: &str) -> bool {
    s.len() <= 64
        && s.strip_prefix(prefix)
            .is_some_and(|body| !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A compacted document: within the limit, still the same JSON, and already compact.
fn is_compact_of(compact: &str, text: &str) -> bool {
    let same = serde_json::from_str::<serde_json::Value>(compact).ok()
        == serde_json::from_str::<serde_json::Value>(text).ok();
    same && compact.len() <= MAX_JSON_BYTES && compact_json(compact).as_deref() == Ok(compact)
}

/// An error from a reader returning `anyhow`: a bad-input error in one clean line.
fn check_refusal(e: &anyhow::Error) -> Result<(), TestCaseError> {
    let kind = e.downcast_ref::<Error>().map(|e| e.kind);
    prop_assert_eq!(kind, Some(Kind::InvalidInput), "{:#}", e);
    check_message(&e.to_string())
}

/// Batch input: lines near valid JSON, any text, or bytes that are not UTF-8.
fn batch_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        near(JSON).prop_map(String::into_bytes),
        text().prop_map(String::into_bytes),
        Just(b"{\"a\":\"caf\xe9\"}".to_vec()),
        Just(Vec::new()),
    ];
    proptest::collection::vec(line, 0..6).prop_map(|lines| lines.join(&b'\n'))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn names_are_clean_or_refused(s in input(NAMES)) {
        check(parse_queue(&s), |v| v == &s && is_name(v))?;
        check(parse_job_type(&s), |v| v == &s && is_name(v))?;
        check(parse_group(&s), |v| v == &s && is_name(v))?;
    }

    #[test]
    fn worker_names_and_keys_are_clean_or_refused(s in input(FREE_TEXT)) {
        check(parse_worker(&s), |v| v == &s && is_free_text(v, MAX_NAME_CHARS))?;
        check(parse_key(&s), |v| v == &s && is_free_text(v, 256))?;
    }

    #[test]
    fn job_ids_and_claim_tokens_are_clean_or_refused(s in input(TOKENS)) {
        check(parse_job_id(&s), |v| v == &s && is_token(v, "q_"))?;
        check(parse_claim(&s), |v| v == &s && is_token(v, "c_"))?;
    }

    #[test]
    fn priorities_are_in_range_or_refused(s in input(PRIORITIES)) {
        check(parse_priority(&s), |p| i32::try_from(*p).is_ok())?;
    }

    #[test]
    fn json_documents_are_compacted_or_refused(s in input(JSON)) {
        check(compact_json(&s), |c| is_compact_of(c, &s))?;
        // Inline on the command line ("-" would read the test's stdin, "@" a file).
        if s != "-" && !s.starts_with('@') {
            match read_json_arg("--payload", &s) {
                Ok(c) => prop_assert!(is_compact_of(&c, &s), "{c:?}"),
                Err(e) => check_refusal(&e)?,
            }
        }
    }

    #[test]
    fn json_files_of_any_bytes_are_read_or_refused(
        bytes in prop_oneof![
            near(JSON).prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..64),
        ],
    ) {
        let mut file = tempfile::NamedTempFile::new()?;
        file.write_all(&bytes)?;
        let arg = format!("@{}", file.path().display());
        match read_json_arg("--payload", &arg) {
            Ok(c) => prop_assert!(is_compact_of(&c, &String::from_utf8_lossy(&bytes))),
            Err(e) => check_refusal(&e)?,
        }
    }

    #[test]
    fn json_file_names_of_any_text_are_refused_in_one_line(name in text()) {
        // Relative to a folder that does not exist, so no name can reach a real file.
        let arg = format!("@/nonexistent-queueprim-folder/{name}");
        match read_json_arg("--output", &arg) {
            Ok(c) => prop_assert!(false, "read {arg:?} as {c:?}"),
            Err(e) => check_refusal(&e)?,
        }
    }

    #[test]
    fn batches_of_any_lines_are_read_whole_or_refused_by_line(bytes in batch_bytes()) {
        match read_batch(bytes.as_slice()).collect::<anyhow::Result<Vec<String>>>() {
            Ok(payloads) => {
                let text = String::from_utf8_lossy(&bytes);
                let lines = text.lines().filter(|l| !l.trim().is_empty());
                prop_assert_eq!(payloads.len(), lines.clone().count());
                for (payload, line) in payloads.iter().zip(lines) {
                    prop_assert!(is_compact_of(payload, line), "{payload:?} from {line:?}");
                }
            }
            Err(e) => {
                check_refusal(&e)?;
                prop_assert!(e.to_string().starts_with("--batch line "), "{e}");
            }
        }
    }
}

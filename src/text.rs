//! Quoting text back to people: what a user typed or a job wrote, escaped so it cannot move
//! the cursor, recolour a terminal or break a one-line message. A leaf: it uses nothing else
//! of the crate, so every module may quote values without an import cycle.

use std::ffi::OsStr;
use std::fmt::Write;

/// User input quoted back in a message: cut to 60 characters, control characters visible.
pub fn printable(s: &str) -> String {
    visible(s, 60)
}

/// A string cut to `max` characters (marked with …), with control characters and line
/// breaks escaped so that nothing a user or a job wrote can move the cursor, recolour a
/// terminal or split a message over two lines.
pub fn visible(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (count, c) in s.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        if needs_escape(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Control characters, and the two Unicode line breaks that are not control characters
/// (U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR).
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Text that is not all UTF-8, quoted back: its UTF-8 parts as they are, other bytes as
/// `\xNN` (`caf\xe9` for Latin-1 `café`).
pub fn escape_invalid_utf8(text: &OsStr) -> String {
    let mut out = String::new();
    for chunk in text.as_encoded_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// One character named in a message: `a space`, `the character \u{9}`, or `'é'`.
pub fn describe_char(c: char) -> String {
    if c == ' ' {
        "a space".to_string()
    } else if needs_escape(c) || c.is_whitespace() {
        format!("the character {}", c.escape_unicode())
    } else {
        format!("'{c}'")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn control_characters_and_line_breaks_are_escaped_and_the_rest_kept() {
        assert_eq!(visible("é日本🙂e\u{301}", 60), "é日本🙂e\u{301}");
        assert_eq!(visible("a\nb\u{1b}[2J", 60), r"a\nb\u{1b}[2J");
        assert_eq!(visible("a\u{2028}b", 60), r"a\u{2028}b");
        assert_eq!(visible("abcdef", 3), "abc…");
        assert_eq!(printable(&"x".repeat(61)), format!("{}…", "x".repeat(60)));
    }

    #[test]
    fn characters_are_described_by_name_or_code_when_invisible() {
        assert_eq!(describe_char(' '), "a space");
        assert_eq!(describe_char('\t'), r"the character \u{9}");
        assert_eq!(describe_char('\u{a0}'), r"the character \u{a0}");
        assert_eq!(describe_char('é'), "'é'");
    }

    #[test]
    #[cfg(unix)]
    fn bytes_that_are_not_utf8_are_quoted_as_hex_and_the_rest_kept() {
        use std::os::unix::ffi::OsStrExt;
        let latin1 = OsStr::from_bytes(b"caf\xe9 cr\xe8me \xff\xfe");
        assert_eq!(escape_invalid_utf8(latin1), r"caf\xe9 cr\xe8me \xff\xfe");
        let mixed = OsStr::from_bytes("é\u{1b}".as_bytes());
        assert_eq!(escape_invalid_utf8(mixed), "é\u{1b}");
    }

    proptest! {
        #![proptest_config(crate::fuzz::config())]

        #[test]
        fn quoted_text_is_one_line_with_nothing_a_terminal_acts_on(s in any::<String>()) {
            let quoted = printable(&s);
            prop_assert!(!quoted.chars().any(needs_escape), "{quoted:?}");
        }

        #[test]
        #[cfg(unix)]
        fn any_bytes_are_quoted_as_their_utf8_and_hex(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            use std::os::unix::ffi::OsStrExt;
            let quoted = escape_invalid_utf8(OsStr::from_bytes(&bytes));
            match std::str::from_utf8(&bytes) {
                Ok(s) => prop_assert_eq!(quoted, s),
                Err(_) => prop_assert!(quoted.contains("\\x"), "{quoted:?}"),
            }
        }
    }
}

//! The API tokens of `queueprim serve`: what one reaches (queue patterns, producing only or
//! everything), how its secret is made (random bytes from the operating system) and how it
//! is kept (only a SHA-256 hash of it is stored, so the database never holds a usable token).

use sha2::{Digest, Sha256};

use crate::text::printable;
use crate::time::Millis;

/// Crockford's base32 in lowercase, as job ids use: shell-safe, no look-alike letters.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Random bytes in a secret: 256 bits, past any guessing.
const SECRET_BYTES: usize = 32;
/// Random characters in a token's public id.
const ID_CHARS: usize = 10;
/// The longest queue pattern: a queue name's length.
const MAX_PATTERN_CHARS: usize = 128;

/// A token as stored: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Public and stable (`t_…`): names the token in `token list`, `token revoke` and the
    /// access log.
    pub id: String,
    pub name: Option<String>,
    /// SHA-256 of the secret, in hex.
    pub hash: String,
    /// Queue patterns: a name, or a name with `*` standing for any characters
    /// (`tenant/acme/*`); `*` alone reaches every queue.
    pub queues: Vec<String>,
    /// May only enqueue.
    pub produce_only: bool,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

impl Token {
    /// Whether the token reaches `queue`.
    pub fn reaches(&self, queue: &str) -> bool {
        self.queues.iter().any(|pattern| matches(pattern, queue))
    }

    /// Whether the token can be used at `now`: not revoked, not expired.
    pub fn is_live(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

/// A freshly made token: the secret the caller gets once, its id, and the hash to store.
pub struct Secret {
    pub secret: String,
    pub id: String,
    pub hash: String,
}

/// Makes a token from the operating system's randomness.
pub fn generate() -> anyhow::Result<Secret> {
    let mut bytes = [0u8; SECRET_BYTES + ID_CHARS];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read random bytes for a token: {e}"))?;
    let (secret_bytes, id_bytes) = bytes.split_at(SECRET_BYTES);
    let secret = format!("qp_{}", base32(secret_bytes));
    let id: String = id_bytes.iter().map(|b| letter(*b)).collect();
    Ok(Secret {
        hash: hash(&secret),
        id: format!("t_{id}"),
        secret,
    })
}

/// The stored form of a secret: SHA-256 in lowercase hex.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One alphabet character for the low five bits of `b`.
fn letter(b: u8) -> char {
    // `b & 31` is below 32, the alphabet's length.
    #[allow(clippy::indexing_slicing)]
    let c = ALPHABET[usize::from(b & 31)];
    c as char
}

/// Bytes in base32, five bits per character.
fn base32(bytes: &[u8]) -> String {
    let (mut out, mut buffer, mut bits) = (String::new(), 0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(letter((buffer >> bits) as u8));
        }
    }
    if bits > 0 {
        out.push(letter((buffer << (5 - bits)) as u8));
    }
    out
}

/// Checks a queue pattern: the characters of a queue name, and `*` for any characters.
pub fn parse_pattern(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("a queue pattern must not be empty".into());
    }
    if s.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!(
            "queue pattern is longer than {MAX_PATTERN_CHARS} characters"
        ));
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '*');
    if !s.chars().all(allowed) {
        return Err(format!(
            "invalid queue pattern '{}': use a queue name, with * for any characters \
             (tenant/acme/*), or * for every queue",
            printable(s)
        ));
    }
    Ok(s.to_string())
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters (slashes
/// included). Linear: a `*` that matched too little is widened, never backtracked further.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match (p.get(pi), n.get(ni)) {
            (Some(b'*'), _) => {
                star = Some((pi, ni));
                pi += 1;
            }
            (Some(a), Some(b)) if a == b => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((star_pi, star_ni)) => {
                    pi = star_pi + 1;
                    ni = star_ni + 1;
                    star = Some((star_pi, star_ni + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_with_stars_for_any_characters() {
        assert!(matches("tenant/acme/*", "tenant/acme/mail"));
        assert!(matches("tenant/acme/*", "tenant/acme/mail/high"));
        assert!(!matches("tenant/acme/*", "tenant/acme"));
        assert!(!matches("tenant/acme/*", "tenant/acmex/mail"));
        assert!(!matches("tenant/acme/*", "tenant/other/mail"));
        assert!(matches("*", "anything"));
        assert!(matches("emails", "emails"));
        assert!(!matches("emails", "emails2"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("*/mail", "tenant/acme/mail"));
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.id, b.id);
        assert!(
            a.secret.starts_with("qp_") && a.secret.len() == 3 + 52,
            "{}",
            a.secret
        );
        assert!(a.id.starts_with("t_") && a.id.len() == 12);
        assert_eq!(a.hash, hash(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.secret));
    }

    #[test]
    fn patterns_are_checked() {
        assert_eq!(parse_pattern(" tenant/acme/* "), Ok("tenant/acme/*".into()));
        assert!(parse_pattern("").is_err());
        assert!(parse_pattern("a b").is_err());
        assert!(parse_pattern(&"a".repeat(129)).is_err());
    }

    #[test]
    fn a_token_is_live_until_revoked_or_expired() {
        let mut token = Token {
            id: "t_x".into(),
            name: None,
            hash: String::new(),
            queues: vec!["q/*".into()],
            produce_only: false,
            created_at: 0,
            expires_at: Some(100),
            revoked_at: None,
        };
        assert!(token.is_live(99) && !token.is_live(100));
        token.expires_at = None;
        assert!(token.is_live(i64::MAX));
        token.revoked_at = Some(5);
        assert!(!token.is_live(0));
        assert!(token.reaches("q/a") && !token.reaches("r/a"));
    }
}

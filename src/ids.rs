//! Short random identifiers: job ids (`q_…`) and claim tokens (`c_…`). Lowercase letters and
//! digits only, so they are safe unquoted in any shell and in file names.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Crockford's base32 in lowercase: no i, l, o or u, so ids survive being read aloud.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Random characters in a job id: 50 bits. The store retries on the rare collision.
const JOB_ID_CHARS: usize = 10;
/// Random characters in a claim token: 60 bits, as a token is a fence worth guessing hard.
const CLAIM_CHARS: usize = 12;

/// A small generator seeded from the operating system's randomness once per process.
pub struct IdGen {
    state: u64,
}

impl IdGen {
    pub fn new() -> Self {
        // RandomState draws its keys from the OS; hashing the pid and clock on top costs
        // nothing and keeps two processes started at once apart even if that were weak.
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        IdGen {
            state: hasher.finish(),
        }
    }

    pub fn job_id(&mut self) -> String {
        self.token("q_", JOB_ID_CHARS)
    }

    pub fn claim_token(&mut self) -> String {
        self.token("c_", CLAIM_CHARS)
    }

    fn token(&mut self, prefix: &str, chars: usize) -> String {
        let mut out = String::with_capacity(prefix.len() + chars);
        out.push_str(prefix);
        let mut bits = self.next_u64();
        for _ in 0..chars {
            // `bits & 31` is below 32, the alphabet's length.
            #[allow(clippy::indexing_slicing)]
            out.push(ALPHABET[(bits & 31) as usize] as char);
            bits >>= 5;
        }
        out
    }

    /// splitmix64: tiny, fast, and well distributed for a seeded 64-bit state.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Default for IdGen {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_prefixed_shell_safe_and_distinct() {
        let mut gen = IdGen::new();
        let ids: HashSet<String> = (0..10_000).map(|_| gen.job_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in &ids {
            assert_eq!(id.len(), 2 + JOB_ID_CHARS);
            assert!(id.starts_with("q_"));
            assert!(id.bytes().skip(2).all(|b| ALPHABET.contains(&b)));
        }
        assert!(gen.claim_token().starts_with("c_"));
    }
}

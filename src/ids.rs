//! Short identifiers: job ids (`q_…`) and claim tokens (`c_…`). Lowercase letters and
//! digits only, so they are safe unquoted in any shell and in file names.
//!
//! Job ids start with the time they were made, so they sort by creation time and a batch's
//! ids land at the end of the id index instead of at random places in it (which, for a
//! million jobs, cost most of the batch's time). Claim tokens are random throughout.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use crate::time::Millis;

/// Crockford's base32 in lowercase: no i, l, o or u, so ids survive being read aloud. Its
/// characters are in ASCII order, so ids of one length sort as the numbers they spell.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Bits of a job id after its millisecond timestamp: where a process's ids for one
/// millisecond start (at random, so two processes rarely meet) and count up from.
const JOB_RANDOM_BITS: u32 = 30;
/// Characters in a job id after `q_`: 9 for the milliseconds since 1970 (enough until the
/// year 3084) and 6 for the random part.
pub const JOB_ID_CHARS: usize = 15;
/// Random characters in a claim token: 60 bits, as a token is a fence worth guessing hard.
const CLAIM_CHARS: usize = 12;

/// A small generator seeded from the operating system's randomness once per process.
pub struct IdGen {
    state: u64,
    /// The number the last job id spelled; the next one is always larger.
    last_job: u128,
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
            last_job: 0,
        }
    }

    /// A generator that draws the same numbers as every other of the same seed, for tests
    /// that need two "processes" to clash.
    #[cfg(test)]
    pub fn seeded(state: u64) -> Self {
        IdGen { state, last_job: 0 }
    }

    /// A job id for a job made at `now`: the time, then a random start that later ids of
    /// the same millisecond count up from. Strictly increasing within a process, even when
    /// many ids share a millisecond or the clock steps back.
    pub fn job_id(&mut self, now: Millis) -> String {
        let millisecond = u128::from(now.max(0) as u64) << JOB_RANDOM_BITS;
        self.last_job = if millisecond > self.last_job {
            millisecond | u128::from(self.random_bits(JOB_RANDOM_BITS))
        } else {
            self.last_job + 1
        };
        spell("q_", self.last_job, JOB_ID_CHARS)
    }

    /// After a job id turned out to be taken, most likely by another process counting up
    /// from a start close to this one's: jump ahead, out of that process's run.
    pub fn skip_ahead(&mut self) {
        self.last_job += u128::from(self.random_bits(JOB_RANDOM_BITS));
    }

    pub fn claim_token(&mut self) -> String {
        let bits = self.next_u64() >> (64 - 5 * CLAIM_CHARS as u32);
        spell("c_", u128::from(bits), CLAIM_CHARS)
    }

    /// The top `n` bits of the next random number.
    fn random_bits(&mut self, n: u32) -> u64 {
        self.next_u64() >> (64 - n)
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

/// `prefix` and the low `chars * 5` bits of `value` in base32, most significant first.
fn spell(prefix: &str, value: u128, chars: usize) -> String {
    let mut out = String::with_capacity(prefix.len() + chars);
    out.push_str(prefix);
    for index in (0..chars).rev() {
        // Masked to five bits: below 32, the alphabet's length.
        #[allow(clippy::indexing_slicing)]
        out.push(ALPHABET[((value >> (5 * index)) & 31) as usize] as char);
    }
    out
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

    #[track_caller]
    fn assert_job_id_shape(id: &str) {
        assert_eq!(id.len(), 2 + JOB_ID_CHARS, "{id}");
        assert!(id.starts_with("q_"), "{id}");
        assert!(id.bytes().skip(2).all(|b| ALPHABET.contains(&b)), "{id}");
    }

    #[test]
    fn ids_are_prefixed_shell_safe_and_distinct() {
        let mut gen = IdGen::new();
        let ids: HashSet<String> = (0..10_000).map(|n| gen.job_id(n / 100)).collect();
        assert_eq!(ids.len(), 10_000);
        ids.iter().for_each(|id| assert_job_id_shape(id));
        let token = gen.claim_token();
        assert!(
            token.starts_with("c_") && token.len() == 2 + CLAIM_CHARS,
            "{token}"
        );
    }

    #[test]
    fn job_ids_sort_by_creation_time_and_within_a_millisecond() {
        let mut gen = IdGen::new();
        // Now and in the year 3000; many per millisecond; the clock stepping back.
        let times = [
            1_764_000_000_000,
            1_764_000_000_000,
            1_764_000_000_001,
            32_503_680_000_000,
        ];
        let mut ids: Vec<String> = times.iter().map(|&t| gen.job_id(t)).collect();
        ids.extend((0..1000).map(|_| gen.job_id(32_503_680_000_000)));
        ids.push(gen.job_id(1_000));
        ids.push(gen.job_id(-5));
        ids.iter().for_each(|id| assert_job_id_shape(id));
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }

    #[test]
    fn job_ids_start_with_their_millisecond() {
        let (mut a, mut b) = (IdGen::new(), IdGen::new());
        let (early, late) = (a.job_id(1_764_000_000_000), b.job_id(1_764_000_000_001));
        assert!(early < late, "{early} {late}");
        assert_eq!(
            early.as_bytes()[..11],
            a.job_id(1_764_000_000_000).as_bytes()[..11],
            "same time part"
        );
        let (one, other) = (IdGen::new().job_id(5), IdGen::new().job_id(5));
        assert_eq!(one.as_bytes()[..11], other.as_bytes()[..11]);
        assert_ne!(one, other, "each process starts at its own random place");
    }

    #[test]
    fn skipping_ahead_keeps_ids_increasing() {
        let mut gen = IdGen::new();
        let before = gen.job_id(7);
        gen.skip_ahead();
        assert!(gen.job_id(7) > before);
    }
}

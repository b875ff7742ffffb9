//! The one generator of every randomised test: SplitMix64, tiny and seedable. A test takes
//! its generator from [`Rng::for_test`], which prints the seed; `QUEUEPRIM_TEST_SEED=N`
//! replays it. (Where real processes race, a seed reproduces what the test tried, not
//! always how the machine's timing played out.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The variable that replays a seed.
pub const SEED_VAR: &str = "QUEUEPRIM_TEST_SEED";

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The generator for the test `name`, seeded by [`seed_for`].
    pub fn for_test(name: &str) -> Rng {
        Rng::new(seed_for(name))
    }

    /// A generator of its own for a part of the test (an actor thread), drawn from this one
    /// so the whole test still follows from its one seed.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `p` times in a hundred.
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A duration drawn uniformly from `[low, high]`, to the microsecond.
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high.saturating_sub(low).as_micros() as u64;
        low + Duration::from_micros(self.next_u64() % (span + 1))
    }
}

/// The seed of the test `name`: from `QUEUEPRIM_TEST_SEED` or the clock, printed (`cargo
/// test` shows it when the test fails). The name is mixed in, so one seed given for a whole
/// run still draws differently in each test, and replays each of them.
pub fn seed_for(name: &str) -> u64 {
    let seed = match std::env::var(SEED_VAR) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR} must be a whole number, not {text:?}")),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos() as u64,
    };
    println!("{name}: seed {seed} (replay with {SEED_VAR}={seed})");
    seed ^ salt(name)
}

/// FNV-1a of the name.
fn salt(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    })
}

//! How long to wait before a retry: exponential backoff with jitter. Whether to
//! retry at all is decided apart: a failed call is retried `maxRetries` times,
//! unless its [`RetryAction`](crate::outcome::RetryAction) says a retry cannot help.

use std::time::Duration;

/// Exponential backoff: `base * 2^(retry-1)`, jittered, capped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry (the job's `retryDelay`).
    pub base: Duration,
    /// No delay exceeds this. By default 30 seconds.
    pub max: Duration,
    /// Each delay is moved uniformly within ±`jitter` of itself (0.25 = ±25%), so
    /// processes that failed together do not retry together. 0 disables it.
    pub jitter: f64,
}

impl Backoff {
    /// The policy with its defaults for a base delay.
    pub fn new(base: Duration) -> Self {
        Backoff { base, max: Duration::from_secs(30), jitter: 0.25 }
    }

    /// The delay before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32, rng: &mut Rng) -> Duration {
        let exp = retry.saturating_sub(1).min(62);
        let raw = self.base.as_secs_f64() * (1u64 << exp) as f64;
        let factor = if self.jitter > 0.0 { 1.0 + self.jitter * (2.0 * rng.unit() - 1.0) } else { 1.0 };
        let secs = (raw * factor).min(self.max.as_secs_f64()).max(0.0);
        Duration::from_secs_f64(secs)
    }
}

/// The randomness of the jitter: a small fast generator (xorshift64*: jitter needs
/// spread, not secrecy), or one fixed draw, which makes a backoff exact (tests).
#[derive(Debug, Clone)]
pub struct Rng(Source);

#[derive(Debug, Clone)]
enum Source {
    Xorshift(u64),
    Fixed(f64),
}

impl Rng {
    /// Seeded from the clock and the process, different in every process.
    pub fn from_entropy() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Self::seeded(nanos ^ ((std::process::id() as u64) << 32) ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// A fixed sequence, for tests.
    pub fn seeded(seed: u64) -> Self {
        Rng(Source::Xorshift(seed.max(1)))
    }

    /// Always draws `unit` (in [0, 1)): 0.5 is no jitter, 0 the shortest delay.
    pub fn fixed(unit: f64) -> Self {
        Rng(Source::Fixed(unit.clamp(0.0, 1.0 - f64::EPSILON)))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        match &mut self.0 {
            Source::Fixed(u) => (*u * (1u64 << 53) as f64) as u64 * (1 << 11),
            Source::Xorshift(x) => {
                *x ^= *x >> 12;
                *x ^= *x << 25;
                *x ^= *x >> 27;
                x.wrapping_mul(0x2545_f491_4f6c_dd1d)
            }
        }
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        match self.0 {
            Source::Fixed(u) => u,
            Source::Xorshift(_) => (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_without_jitter() {
        let b = Backoff { jitter: 0.0, ..Backoff::new(Duration::from_millis(100)) };
        let mut rng = Rng::seeded(1);
        let got: Vec<u128> = (1..=5).map(|r| b.delay(r, &mut rng).as_millis()).collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1600]);
    }

    #[test]
    fn backoff_grows_to_max() {
        let b = Backoff { jitter: 0.0, ..Backoff::new(Duration::from_secs(1)) };
        let mut rng = Rng::seeded(1);
        assert_eq!(b.delay(6, &mut rng), Duration::from_secs(30));
        assert_eq!(b.delay(1000, &mut rng), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        let b = Backoff::new(Duration::from_millis(400));
        let mut rng = Rng::seeded(42);
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..1000 {
            let d = b.delay(1, &mut rng).as_secs_f64();
            assert!((0.3..=0.5).contains(&d), "{d}");
            seen_low |= d < 0.35;
            seen_high |= d > 0.45;
        }
        assert!(seen_low && seen_high, "jitter spreads both ways");
    }

    #[test]
    fn a_fixed_draw_makes_the_jittered_backoff_exact() {
        let b = Backoff::new(Duration::from_millis(100));
        let delays = |u: f64| -> Vec<u128> {
            let mut rng = Rng::fixed(u);
            (1..=4).map(|r| b.delay(r, &mut rng).as_micros()).collect()
        };
        assert_eq!(delays(0.5), vec![100_000, 200_000, 400_000, 800_000]);
        assert_eq!(delays(0.0), vec![75_000, 150_000, 300_000, 600_000]);
        assert!(delays(1.0)
            .iter()
            .zip([125_000, 250_000, 500_000, 1_000_000])
            .all(|(d, hi)| *d <= hi && *d + 1 >= hi));
    }

    #[test]
    fn zero_base_never_waits() {
        let b = Backoff::new(Duration::ZERO);
        assert_eq!(b.delay(3, &mut Rng::seeded(7)), Duration::ZERO);
    }
}

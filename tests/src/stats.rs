//! Small helpers to report measured times.

use std::fmt;
use std::time::Duration;

/// A duration printed in milliseconds with one decimal: `12.3 ms`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Millis(pub Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} ms", self.0.as_secs_f64() * 1000.0)
    }
}

/// The `p`-th percentile (0..=100, nearest rank) of `values`.
///
/// # Panics
/// When `values` is empty.
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    assert!(!values.is_empty(), "percentile of no values");
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

//! The shutdown time budget: stop starting batches when the next one would not fit,
//! judged from how long earlier batches of the job took in this process.

use std::time::{Duration, Instant};

/// How much of a delivery run's time is left.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    started: Instant,
    limit: Option<Duration>,
}

impl Budget {
    /// A budget of `limit` from `started`.
    pub fn new(started: Instant, limit: Duration) -> Self {
        Budget { started, limit: Some(limit) }
    }

    /// No limit (an explicit `flush()`).
    pub fn unlimited(started: Instant) -> Self {
        Budget { started, limit: None }
    }

    /// Whether `more` still fits at `now`.
    pub fn fits(&self, now: Instant, more: Duration) -> bool {
        match self.limit {
            None => true,
            Some(limit) => now.saturating_duration_since(self.started) + more <= limit,
        }
    }
}

/// A moving average of batch durations; each new one weighs [`EstimatedDuration::WEIGHT`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EstimatedDuration(Option<f64>);

impl EstimatedDuration {
    /// The weight of the newest measurement.
    pub const WEIGHT: f64 = 0.3;

    /// Adds a measured batch duration.
    pub fn record(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        self.0 = Some(match self.0 {
            None => s,
            Some(avg) => avg + Self::WEIGHT * (s - avg),
        });
    }

    /// The estimate; zero before anything was measured.
    pub fn get(&self) -> Duration {
        Duration::from_secs_f64(self.0.unwrap_or(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_moves_toward_new_durations() {
        let mut e = EstimatedDuration::default();
        assert_eq!(e.get(), Duration::ZERO);
        e.record(Duration::from_millis(100));
        assert_eq!(e.get(), Duration::from_millis(100));
        e.record(Duration::from_millis(200));
        assert_eq!(e.get().as_millis(), 130);
    }

    #[test]
    fn budget_fits_until_the_limit() {
        let t0 = Instant::now();
        let b = Budget::new(t0, Duration::from_secs(1));
        assert!(b.fits(t0, Duration::from_millis(1000)));
        assert!(!b.fits(t0 + Duration::from_millis(500), Duration::from_millis(501)));
        assert!(Budget::unlimited(t0).fits(t0 + Duration::from_secs(99), Duration::from_secs(99)));
    }
}

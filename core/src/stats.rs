//! Per-job counters, as `stats()` reports them, and the batch durations the daemon's
//! metrics show.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Counters of one job in this process. Items unless named otherwise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStats {
    /// Accepted by `submitItem`.
    pub submitted: u64,
    /// In batches the callable accepted.
    pub delivered: u64,
    /// Successful calls.
    pub batches: u64,
    /// Batches that failed every attempt.
    pub failed_batches: u64,
    /// Retry calls made.
    pub retries: u64,
    /// Written to the failure store.
    pub persisted: u64,
    /// Written to the spool by this process.
    pub spooled: u64,
    /// Lost because the spool or the failure store refused them.
    pub dropped: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// Unix time of the last call to the callable.
    pub last_flush_at: Option<f64>,
    /// How long the calls took.
    pub durations: Histogram,
}

impl JobStats {
    /// Adds what another thread or process did for the same job: its delivery
    /// counters, and its last error when its last call is the later one (or when
    /// this one has none). `submitted` and `spooled` are the producer's own.
    pub fn absorb(&mut self, o: &JobStats) {
        self.delivered += o.delivered;
        self.batches += o.batches;
        self.failed_batches += o.failed_batches;
        self.retries += o.retries;
        self.persisted += o.persisted;
        self.dropped += o.dropped;
        self.durations.add(&o.durations);
        if o.last_flush_at > self.last_flush_at {
            self.last_flush_at = o.last_flush_at;
            if o.last_error.is_some() {
                self.last_error = o.last_error.clone();
            }
        }
        if self.last_error.is_none() {
            self.last_error = o.last_error.clone();
        }
    }
}

/// Upper bounds of [`Histogram`]'s buckets, in seconds (the last bucket, `+Inf`, is
/// implied): from a fast in-process call to a slow collector's timeout.
pub const DURATION_BUCKETS: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0];

/// Durations counted per bucket of [`DURATION_BUCKETS`] (not cumulative; the last
/// count is above the last bound), with their sum: what a Prometheus histogram needs,
/// and small enough for a status file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Observations per bucket; empty until the first.
    pub counts: Vec<u64>,
    /// Their sum, in seconds.
    pub sum: f64,
}

impl Histogram {
    /// Counts one duration.
    pub fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        self.counts.resize(DURATION_BUCKETS.len() + 1, 0);
        let i = DURATION_BUCKETS.iter().position(|&le| s <= le).unwrap_or(DURATION_BUCKETS.len());
        self.counts[i] += 1;
        self.sum += s;
    }

    /// Adds another histogram's observations.
    pub fn add(&mut self, o: &Histogram) {
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&o.counts) {
            *mine += theirs;
        }
        self.sum += o.sum;
    }

    /// Whether nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|&n| n == 0)
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(upper bound, observations at or below it)` for each bound and `+Inf`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let bounds = DURATION_BUCKETS.iter().copied().chain(std::iter::once(f64::INFINITY));
        bounds.enumerate().scan(0u64, move |total, (i, le)| {
            *total += self.counts.get(i).copied().unwrap_or(0);
            Some((le, *total))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_into_buckets_and_sums_up() {
        let mut h = Histogram::default();
        assert!(h.is_empty());
        for ms in [0, 1, 2, 40, 40, 70_000] {
            h.observe(Duration::from_millis(ms));
        }
        let cum: Vec<(f64, u64)> = h.cumulative().collect();
        assert_eq!(cum.len(), DURATION_BUCKETS.len() + 1);
        assert_eq!(cum[0], (0.001, 2)); // 0 and 1 ms: "le" is inclusive
        assert_eq!(cum[1], (0.0025, 3));
        assert_eq!(cum[5], (0.05, 5));
        assert_eq!(cum[DURATION_BUCKETS.len() - 1], (60.0, 5));
        assert_eq!(cum[DURATION_BUCKETS.len()], (f64::INFINITY, 6));
        assert_eq!(h.count(), 6);
        assert!((h.sum - 70.083).abs() < 1e-9);
        let mut twice = h.clone();
        twice.add(&h);
        assert_eq!((twice.count(), twice.sum), (12, h.sum * 2.0));
        let mut empty = Histogram::default();
        empty.add(&h);
        assert_eq!(empty, h);
    }

    #[test]
    fn absorbing_sums_delivery_and_keeps_the_later_error() {
        let mut mine = JobStats {
            submitted: 5,
            delivered: 1,
            last_error: Some("old".into()),
            last_flush_at: Some(1.0),
            ..Default::default()
        };
        let theirs = JobStats {
            submitted: 9,
            delivered: 2,
            retries: 3,
            last_error: Some("new".into()),
            last_flush_at: Some(2.0),
            ..Default::default()
        };
        mine.absorb(&theirs);
        assert_eq!((mine.submitted, mine.delivered, mine.retries), (5, 3, 3));
        assert_eq!((mine.last_error.as_deref(), mine.last_flush_at), (Some("new"), Some(2.0)));
        // An older call with an error fills only a missing one.
        let mut none = JobStats { last_flush_at: Some(3.0), ..Default::default() };
        none.absorb(&theirs);
        assert_eq!((none.last_error.as_deref(), none.last_flush_at), (Some("new"), Some(3.0)));
    }
}

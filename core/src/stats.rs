//! Per-job counters, as `stats()` reports them.

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

#[cfg(test)]
mod tests {
    use super::*;

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

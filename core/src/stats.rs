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

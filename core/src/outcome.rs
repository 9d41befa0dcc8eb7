//! What one call of a job's callable came to, and what it asks of the retry loop.
//! The loop decides nothing from message text: a call that failed says whether a
//! retry may help, and an HTTP sink's answer keeps its status and `Retry-After`.

use std::time::Duration;

/// What a call of the job's callable came to.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// It returned anything but `false`; or the collector answered 2xx.
    Accepted,
    /// It returned `false` or threw, or a request failed.
    Failed(CallError),
    /// The script is ending (`exit()` in the callable): stop at once, touch nothing.
    Abort,
}

impl CallOutcome {
    /// A failure to retry with the job's backoff.
    pub fn failed(message: impl Into<String>) -> Self {
        CallOutcome::Failed(CallError::new(message))
    }
}

/// Why a call failed, and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    /// Why, for `lastError` and the failure store.
    pub message: String,
    /// Whether and when to try again.
    pub retry: RetryAction,
    /// The HTTP answer, when a collector gave one.
    pub http: Option<HttpAnswer>,
}

impl CallError {
    /// A failure to retry with the job's backoff.
    pub fn new(message: impl Into<String>) -> Self {
        CallError { message: message.into(), retry: RetryAction::Backoff, http: None }
    }
}

/// Whether and when a failed call is tried again (within the job's `maxRetries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// After the job's backoff.
    Backoff,
    /// After the job's backoff, but not sooner than this (the other side asked).
    NotBefore(Duration),
    /// Not at all: retrying cannot help (an HTTP 4xx); the batch is stored as failed now.
    Never,
}

impl RetryAction {
    /// Whether a retry may help.
    pub fn retries(self) -> bool {
        self != RetryAction::Never
    }

    /// The least wait before the retry.
    pub fn at_least(self) -> Duration {
        match self {
            RetryAction::NotBefore(d) => d,
            RetryAction::Backoff | RetryAction::Never => Duration::ZERO,
        }
    }
}

/// A collector's answer to a failed post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// Its `Retry-After`, parsed and capped, whether or not a retry is made.
    pub retry_after: Option<Duration>,
}

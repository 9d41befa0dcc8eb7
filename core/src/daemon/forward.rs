//! Forwarding (`asyncbatch daemon --forward redis://…`): the workers cut batches from
//! the spool as they do to deliver them — by `batchSize` and `callPeriod`, progress
//! recorded after each — and append each batch to its job's Redis stream instead of
//! calling its callable. Redis down, unreachable or out of memory is waited out with
//! the job's backoff: a batch is never given up on, and what waits stays on disk.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::clock::Tick;
use crate::daemon::worker::{self, Report, StatusTarget};
use crate::delivery::{self, Host};
use crate::ledger::JobId;
use crate::outcome::{CallError, CallOutcome, RetryAction};
use crate::transport::redis::Streams;

/// Delivery through `streams`: everything else is the host's.
struct Forwarder<'a, H: Host> {
    host: &'a H,
    streams: RefCell<Streams>,
    prefix: String,
    hostname: String,
    /// Set while Redis refuses: one log line when that starts, one when it ends.
    failing: std::cell::Cell<bool>,
}

impl<H: Host> Host for Forwarder<'_, H> {
    type State = H::State;

    fn with<R>(&self, f: impl FnOnce(&mut Self::State) -> R) -> R {
        self.host.with(f)
    }

    fn call(&self, job: JobId, items: &Batch, id: &BatchId) -> CallOutcome {
        let ident = delivery::ledger(self.host, |l| l.job(job).id.clone());
        match self.streams.borrow_mut().add(&self.prefix, &ident, id, &self.hostname, items) {
            Ok(_) => {
                if self.failing.replace(false) {
                    self.host.log("asyncbatch daemon: forwarding to redis again");
                }
                CallOutcome::Accepted
            }
            Err(e) => {
                if !self.failing.replace(true) {
                    self.host.log(&format!(
                        "asyncbatch daemon: cannot forward: {e}; batches wait in the spool and are tried again"
                    ));
                }
                CallOutcome::Failed(CallError {
                    message: e.to_string(),
                    retry: RetryAction::Backoff,
                    http: None,
                })
            }
        }
    }

    fn now(&self) -> Instant {
        self.host.now()
    }

    fn tick(&self) -> Tick {
        self.host.tick()
    }

    fn sleep(&self, d: Duration) {
        self.host.sleep(d)
    }

    fn log(&self, msg: &str) {
        self.host.log(msg)
    }

    fn warn(&self, msg: &str) {
        self.host.warn(msg)
    }

    fn should_stop(&self) -> bool {
        self.host.should_stop()
    }
}

/// Runs a forwarding worker over `jobs` until the host says stop.
pub fn run<H: Host>(
    host: &H,
    jobs: &[JobId],
    streams: Streams,
    prefix: &str,
    status: Option<StatusTarget>,
) -> Report {
    // Forwarding never stores a batch as failed: Redis unreachable is waited out.
    delivery::ledger(host, |l| {
        for &j in jobs {
            l.job_mut(j).config.max_retries = u32::MAX;
        }
    });
    let forwarder = Forwarder {
        host,
        streams: RefCell::new(streams),
        prefix: prefix.to_string(),
        hostname: crate::secure_fs::hostname(),
        failing: std::cell::Cell::new(false),
    };
    worker::run(&forwarder, jobs, worker::Until::Stopped, status)
}

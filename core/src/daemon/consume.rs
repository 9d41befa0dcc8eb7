//! Consuming (`asyncbatch consume --redis redis://…`): a worker reads its jobs'
//! streams through a consumer group, calls the job's callable once per entry (an
//! entry is a batch, cut on the producer host, under its batch id) with the job's
//! retries, backoff and failure store, then acknowledges and deletes the entry.
//!
//! A consumer that dies leaves its entries pending; another claims them once they
//! have been pending longer than `claimIdle` (longer than the longest batch takes).
//! An entry delivered more than `maxDeliveries` times (a batch that kills its
//! consumer) is moved to the failure store instead: a dead letter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::daemon::worker::{self, Report, StatusTarget};
use crate::delivery::{self, BatchEnd, Host, Limit};
use crate::failure_store::FailureRecord;
use crate::ledger::JobId;
use crate::naming;
use crate::transport::redis::{self, Entry, RedisFailure, Streams};

/// How a consumer reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumeOptions {
    /// `redis://host[:port][/db]`.
    pub url: String,
    /// The consumer group.
    pub group: String,
    /// Stream keys are this followed by the job identifier.
    pub prefix: String,
    /// An entry pending this long is claimed from the consumer that has it.
    pub claim_idle: Duration,
    /// Deliveries of one entry before it is a dead letter.
    pub max_deliveries: usize,
}

/// The longest a read waits for new entries (a stop is seen at least this often).
const BLOCK: Duration = Duration::from_millis(500);
/// Entries taken per read.
const COUNT: usize = 16;
/// The longest wait before trying Redis again after it failed.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Runs a consuming worker over `jobs` until the host says stop. `consumer` names it
/// in the group (unique per process: `{host}-{pid}`).
pub fn run<H: Host>(
    host: &H,
    jobs: &[JobId],
    mut streams: Streams,
    opts: &ConsumeOptions,
    consumer: &str,
    status: Option<StatusTarget>,
) -> Report {
    let idents: Vec<Vec<u8>> =
        delivery::ledger(host, |l| jobs.iter().map(|&j| l.job(j).id.clone()).collect());
    let by_ident: HashMap<Vec<u8>, JobId> = idents.iter().cloned().zip(jobs.iter().copied()).collect();
    let started = naming::unix_secs();
    let mut report = Report::default();
    let mut grouped = false;
    let mut backoff = Duration::from_millis(100);
    let mut next_claim = Instant::now();
    let mut last_status = Instant::now() - Duration::from_secs(10);
    while !host.should_stop() {
        if let Some(target) = &status {
            if last_status.elapsed() >= Duration::from_secs(1) {
                worker::write_status(host, target, started, jobs);
                last_status = Instant::now();
            }
        }
        let round = (|| -> Result<(), RedisFailure> {
            if !grouped {
                for ident in &idents {
                    streams.ensure_group(&opts.prefix, ident, &opts.group)?;
                }
                grouped = true;
            }
            if Instant::now() >= next_claim {
                for (ident, &j) in idents.iter().zip(jobs) {
                    claim(host, &mut streams, opts, consumer, ident, j, &mut report)?;
                }
                next_claim = Instant::now() + (opts.claim_idle / 2).max(Duration::from_secs(1));
            }
            let read = streams.read(&opts.prefix, &idents, &opts.group, consumer, COUNT, BLOCK)?;
            for (ident, id) in read {
                let Some(&j) = by_ident.get(&ident) else { continue };
                if !deliver(host, &mut streams, opts, &ident, j, id, &mut report)? {
                    break;
                }
            }
            Ok(())
        })();
        match round {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                delivery::log_once(host, &format!("asyncbatch consume: {e}; trying again"));
                host.sleep(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    if let Some(target) = &status {
        worker::write_status(host, target, started, jobs);
    }
    report
}

/// Claims the entries of `ident`'s stream pending too long for other consumers, and
/// delivers them, or dead-letters those delivered too many times.
fn claim<H: Host>(
    host: &H,
    streams: &mut Streams,
    opts: &ConsumeOptions,
    consumer: &str,
    ident: &[u8],
    j: JobId,
    report: &mut Report,
) -> Result<(), RedisFailure> {
    let (claimed, gone) =
        streams.claim(&opts.prefix, ident, &opts.group, consumer, opts.claim_idle, COUNT)?;
    // Pending entries whose data was deleted: acknowledged, nothing to deliver.
    streams.done(&opts.prefix, ident, &opts.group, &gone)?;
    if claimed.is_empty() {
        return Ok(());
    }
    // Counters are for `status`: they never hold up a delivery (Redis at maxmemory
    // refuses them).
    let _ = streams.count(&opts.prefix, ident, "claims", claimed.len() as u64);
    let entries: Vec<String> = claimed.iter().map(|c| c.id.clone()).collect();
    let deliveries = streams.deliveries(&opts.prefix, ident, &opts.group, &entries)?;
    for (id, times) in claimed.into_iter().zip(deliveries) {
        if times > opts.max_deliveries {
            dead_letter(host, streams, opts, ident, j, id, times)?;
        } else if !deliver(host, streams, opts, ident, j, id, report)? {
            break;
        }
    }
    Ok(())
}

/// Delivers one entry and acknowledges it; false when the worker is stopping (the
/// entry stays pending, for this worker's successor or another consumer).
fn deliver<H: Host>(
    host: &H,
    streams: &mut Streams,
    opts: &ConsumeOptions,
    ident: &[u8],
    j: JobId,
    id: redis::StreamIdOf,
    report: &mut Report,
) -> Result<bool, RedisFailure> {
    let entry = match redis::decode_entry(ident, id) {
        Ok(e) => e,
        Err((entry, why)) => {
            // Not ours to deliver: acknowledged so that no consumer takes it again,
            // and left in the stream for whoever wrote it.
            delivery::log_once(
                host,
                &format!(
                    "asyncbatch consume: entry {entry} of stream {}: {why}; acknowledged and left in the stream",
                    String::from_utf8_lossy(&redis::stream_key(&opts.prefix, ident))
                ),
            );
            streams.ack(&opts.prefix, ident, &opts.group, &[entry])?;
            return Ok(true);
        }
    };
    let Entry { entry, batch, items, .. } = entry;
    match delivery::run_batch(host, j, &items, &batch, &Limit::none(host.now())) {
        BatchEnd::Delivered => report.delivered += items.len() as u64,
        BatchEnd::Failed => report.failed_batches += 1,
        BatchEnd::Stopped | BatchEnd::Aborted => return Ok(false),
    }
    streams.done(&opts.prefix, ident, &opts.group, &[entry])?;
    Ok(true)
}

/// Moves an entry delivered `times` times without an acknowledgement to the failure
/// store, with its history, and removes it from the stream.
fn dead_letter<H: Host>(
    host: &H,
    streams: &mut Streams,
    opts: &ConsumeOptions,
    ident: &[u8],
    j: JobId,
    id: redis::StreamIdOf,
    times: usize,
) -> Result<(), RedisFailure> {
    let stream = String::from_utf8_lossy(&redis::stream_key(&opts.prefix, ident)).into_owned();
    let (entry, line) = match redis::decode_entry(ident, id) {
        Ok(Entry { entry, batch, items, host: from, .. }) => {
            let first = redis::entry_millis(&entry).map_or(0.0, |ms| ms as f64 / 1000.0);
            let record = FailureRecord {
                job: ident.to_vec(),
                attempts: times.min(u32::MAX as usize) as u32,
                last_error: format!(
                    "delivered {times} times without being acknowledged (its consumers stopped or crashed); \
                     dead letter from {stream} entry {entry}, forwarded by {from}"
                ),
                first_attempt_at: first,
                failed_at: naming::unix_secs(),
                pid: std::process::id(),
                host: crate::secure_fs::hostname(),
                batch_id: Some(batch),
                items,
            };
            let line = delivery::ledger(host, |l| l.store_failure(j, &record));
            (entry, line)
        }
        Err((entry, why)) => {
            let line = format!("asyncbatch consume: entry {entry} of stream {stream}: {why}; acknowledged");
            (entry, line)
        }
    };
    host.log(&line);
    let _ = streams.count(&opts.prefix, ident, "deadLetters", 1);
    streams.done(&opts.prefix, ident, &opts.group, &[entry])
}

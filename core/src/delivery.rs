//! Delivering a job: spooled segments first, then the queue, in batches of at most
//! `batchSize`, each call retried with backoff and stored as failed when every
//! attempt fails; at shutdown, within the time budget, the rest spooled.
//!
//! The loop reaches PHP only through [`Host`], and borrows the [`Runtime`] only
//! between calls (see the note on `runtime`).

use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::budget::Budget;
use crate::clock::Tick;
use crate::failure_store::FailureRecord;
use crate::naming;
use crate::retry::Backoff;
use crate::runtime::{Held, JobId, Runtime};
use crate::secure_fs::{self, StorageError};
use crate::spool::{Claimed, Finished};

/// What a call of the job's callable came to.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// It returned anything but `false`.
    Accepted,
    /// It returned `false` or threw (the message says which), or a request failed.
    Failed {
        /// Why, for `lastError` and the failure store.
        message: String,
        /// Retrying cannot help (an HTTP 4xx): store the batch as failed now.
        permanent: bool,
        /// The other side asked to wait at least this long (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The script is ending (`exit()` in the callable): stop at once, touch nothing.
    Abort,
}

impl CallOutcome {
    /// A failure to retry with the job's backoff.
    pub fn failed(message: impl Into<String>) -> Self {
        CallOutcome::Failed { message: message.into(), permanent: false, retry_after: None }
    }
}

/// What the delivery loop needs from its embedder (the extension, or a test).
pub trait Host {
    /// Runs `f` on the runtime. Never called from within `f`.
    fn with<R>(&self, f: impl FnOnce(&mut Runtime) -> R) -> R;
    /// Calls job `job`'s callable with `items`.
    fn call(&self, job: JobId, items: &Batch) -> CallOutcome;
    /// The time.
    fn now(&self) -> Instant {
        Instant::now()
    }
    /// The coarse time queued items are stamped with.
    fn tick(&self) -> Tick {
        crate::clock::coarse_now()
    }
    /// Waits before a retry.
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
    /// Writes a line to the log (PHP's `error_log()`).
    fn log(&self, msg: &str);
    /// Raises a warning (PHP's `E_WARNING`).
    fn warn(&self, msg: &str);
    /// Whether the process was asked to stop (a daemon's SIGTERM): no retry waits then.
    fn should_stop(&self) -> bool {
        false
    }
}

/// Why a delivery runs, which decides what it takes and whether a budget applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The end of the request: everything, within `asyncbatch.shutdown_budget`.
    Shutdown,
    /// `flush()`: what is pending now, no budget.
    Flush,
    /// A CLI `submitItem` found a batch due: full batches, and the rest when
    /// `callPeriod` has passed. Memory only.
    Due,
}

/// What a delivery run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    /// Items in batches the callables accepted.
    pub delivered: u64,
    /// The budget ran out; the rest was spooled.
    pub stopped: bool,
    /// A callable ended the script.
    pub aborted: bool,
}

/// How a batch's delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchEnd {
    /// The callable accepted it.
    Delivered,
    /// Every attempt failed; it is in the failure store (or counted dropped).
    Failed,
    /// The budget ran out, or the process is stopping, before it was done.
    Stopped,
    /// The callable ended the script.
    Aborted,
}

/// Delivers `jobs` in order.
pub fn deliver<H: Host>(host: &H, jobs: &[JobId], mode: Mode) -> Report {
    let now = host.now();
    let tick = host.tick();
    let (was_delivering, budget) = host.with(|rt| {
        rt.after_fork();
        rt.runs += 1;
        // Everything this run takes from memory is on disk before the first
        // callable runs, whichever of them ends the process.
        if mode != Mode::Due {
            for &j in jobs {
                let n = rt.job(j).queue.len();
                rt.journal_queue(j, n, tick);
            }
        }
        let was = std::mem::replace(&mut rt.delivering, true);
        let budget = if mode == Mode::Shutdown {
            let started = *rt.shutdown.delivery_started.get_or_insert(now);
            Budget::new(started, rt.settings().shutdown_budget)
        } else {
            Budget::unlimited(now)
        };
        (was, budget)
    });
    let mut report = Report::default();
    for &j in jobs {
        if report.stopped || report.aborted {
            break;
        }
        // Daemon processes leave the spool to the daemon's workers; HttpSink jobs'
        // segments are the HTTP sender's.
        if mode != Mode::Due && !host.with(|rt| rt.daemon_process || rt.spool_is_the_senders(j)) {
            deliver_spooled(host, j, mode, &budget, &mut report);
        }
        if !report.stopped && !report.aborted {
            deliver_queue(host, j, mode, &budget, &mut report);
        }
    }
    let warnings = host.with(|rt| {
        rt.delivering = was_delivering;
        // Journals of jobs a stopped run did not reach; an aborted run leaves them
        // on disk for the next reader (Runtime::end_request).
        if !report.aborted {
            for &j in jobs {
                if rt.has_journal_of_this_run(j) {
                    rt.journal_close(j, mode == Mode::Shutdown);
                }
            }
        }
        if report.stopped && mode == Mode::Shutdown {
            for j in rt.registered_jobs().to_vec() {
                rt.spill(j);
            }
        }
        rt.take_warnings()
    });
    for w in warnings {
        host.warn(&w);
    }
    report
}

/// Whether the budget lets another batch of `j` start now.
fn may_start<H: Host>(host: &H, j: JobId, mode: Mode, budget: &Budget) -> bool {
    if mode != Mode::Shutdown {
        return true;
    }
    let now = host.now();
    host.with(|rt| rt.shutdown.batches == 0 || budget.fits(now, rt.job(j).estimate.get()))
}

fn deliver_queue<H: Host>(host: &H, j: JobId, mode: Mode, budget: &Budget, report: &mut Report) {
    let tick = host.tick();
    let (journaled, queued) = host.with(|rt| (rt.has_journal_of_this_run(j), rt.job(j).queue.len()));
    if journaled {
        if !deliver_journaled(host, j, mode, budget, report) {
            return;
        }
        // At shutdown, what earlier callables of this run submitted to this job is
        // delivered in its turn too; what its own callable submits waits.
        if mode != Mode::Shutdown || queued == 0 || !host.with(|rt| rt.journal_queue(j, queued, tick)) {
            return;
        }
    } else {
        // Shutdown: what earlier callables submitted to a job that had nothing
        // queued; flush() leaves that queued.
        let n = host.with(|rt| match mode {
            Mode::Shutdown => queued,
            Mode::Flush => 0,
            Mode::Due => rt.due_items(j, tick),
        });
        if !host.with(|rt| rt.journal_queue(j, n, tick)) {
            return;
        }
    }
    deliver_journaled(host, j, mode, budget, report);
}

/// Delivers `j`'s journaled items batch by batch; false when it stopped early.
fn deliver_journaled<H: Host>(host: &H, j: JobId, mode: Mode, budget: &Budget, report: &mut Report) -> bool {
    loop {
        if !may_start(host, j, mode, budget) {
            report.stopped = true;
            break;
        }
        let Some(batch) = host.with(|rt| rt.journal_front(j)) else { break };
        match run_batch(host, j, &batch, budget) {
            BatchEnd::Delivered => {
                report.delivered += batch.len() as u64;
                host.with(|rt| rt.journal_done(j, batch.len()));
            }
            BatchEnd::Failed => host.with(|rt| rt.journal_done(j, batch.len())),
            BatchEnd::Stopped => {
                report.stopped = true;
                break;
            }
            // The script is ending: the journal stays for the next reader, and
            // the end of the request keeps it (Runtime::end_request).
            BatchEnd::Aborted => {
                report.aborted = true;
                return false;
            }
        }
    }
    host.with(|rt| rt.journal_close(j, mode == Mode::Shutdown));
    !report.stopped
}

/// Calls the callable with one batch until it accepts it, retries are used up (the
/// batch is stored as failed) or the budget or the script ends.
pub fn run_batch<H: Host>(host: &H, j: JobId, batch: &Batch, budget: &Budget) -> BatchEnd {
    let (max_retries, backoff) = host.with(|rt| {
        let c = &rt.job(j).config;
        (c.max_retries, Backoff::new(c.retry_delay))
    });
    let first_attempt_at = naming::unix_secs();
    let mut attempts: u32 = 0;
    loop {
        let t0 = host.now();
        let outcome = host.call(j, batch);
        let took = host.now().saturating_duration_since(t0);
        attempts += 1;
        host.with(|rt| {
            rt.shutdown.batches += 1;
            let job = rt.job_mut(j);
            job.estimate.record(took);
            job.stats.last_flush_at = Some(naming::unix_secs());
            match &outcome {
                CallOutcome::Accepted => {
                    job.stats.delivered += batch.len() as u64;
                    job.stats.batches += 1;
                }
                CallOutcome::Failed { message, .. } => job.stats.last_error = Some(message.clone()),
                CallOutcome::Abort => {}
            }
        });
        let (msg, permanent, retry_after) = match outcome {
            CallOutcome::Accepted => return BatchEnd::Delivered,
            CallOutcome::Abort => return BatchEnd::Aborted,
            CallOutcome::Failed { message, permanent, retry_after } => (message, permanent, retry_after),
        };
        if attempts > max_retries || permanent {
            let log = host.with(|rt| {
                let record = FailureRecord {
                    job: rt.job(j).id.clone(),
                    attempts,
                    last_error: msg,
                    first_attempt_at,
                    failed_at: naming::unix_secs(),
                    pid: std::process::id(),
                    host: secure_fs::hostname(),
                    items: batch.clone(),
                };
                rt.job_mut(j).stats.failed_batches += 1;
                rt.store_failure(j, &record)
            });
            if let Some(line) = log {
                host.log(&line);
            }
            return BatchEnd::Failed;
        }
        let delay = host.with(|rt| backoff.delay(attempts, &mut rt.rng)).max(retry_after.unwrap_or_default());
        if !budget.fits(host.now(), delay) || host.should_stop() {
            return BatchEnd::Stopped;
        }
        host.with(|rt| rt.job_mut(j).stats.retries += 1);
        if !delay.is_zero() {
            host.sleep(delay);
        }
    }
}

fn deliver_spooled<H: Host>(host: &H, j: JobId, mode: Mode, budget: &Budget, report: &mut Report) {
    let paths = match host.with(|rt| rt.spooled_segments(j)) {
        Ok(p) => p,
        Err(e) => {
            warn_once(host, &format!("asyncbatch: cannot read the spool: {e}"));
            return;
        }
    };
    for path in paths {
        if report.stopped || report.aborted {
            return;
        }
        match host.with(|rt| rt.spool().and_then(|s| s.claim(&path))) {
            Ok(Some(claimed)) => deliver_segment(host, j, claimed, mode, budget, report),
            Ok(None) => {}
            Err(e) => warn_once(host, &format!("asyncbatch: cannot read the spool: {e}")),
        }
    }
}

/// Splits a claimed segment into the items of job `id` and the frames of other jobs,
/// which go back to the spool for whoever has those jobs. Also says what damage the
/// segment had, for the log line when it is finished. `None` when the other frames
/// could not be written: the claim is then released and the segment stays whole.
pub fn split_claimed<H: Host>(
    host: &H,
    mut claimed: Claimed,
    id: &[u8],
) -> Option<(Claimed, Batch, Option<String>)> {
    let damage = claimed.scan.is_damaged().then(|| {
        let s = &claimed.scan;
        let path = claimed.path().display().to_string();
        if s.bad_header {
            format!("{path}: bad header")
        } else {
            format!("{path}: skipped {} bytes", s.corrupt_bytes + s.tail_bytes)
        }
    });
    let frames = std::mem::take(&mut claimed.scan.frames);
    let mut items = Batch::new();
    for frame in frames {
        if frame.job == id {
            items.append(frame.items);
            continue;
        }
        let k = naming::jobkey(&frame.job);
        let written = host.with(|rt| rt.spool().and_then(|s| s.write(&k, &[(&frame.job, &frame.items)])));
        if let Err(e) = written {
            warn_once(host, &format!("asyncbatch: cannot write to the spool: {e}"));
            claimed.release();
            return None;
        }
    }
    Some((claimed, items, damage))
}

fn deliver_segment<H: Host>(
    host: &H,
    j: JobId,
    claimed: Claimed,
    mode: Mode,
    budget: &Budget,
    report: &mut Report,
) {
    let (id, key, batch_size) = host.with(|rt| {
        let job = rt.job(j);
        (job.id.clone(), job.key.clone(), job.config.batch_size)
    });
    // Progress counts the segment's items in order: it can be recorded only when
    // they are all this job's.
    let one_job = claimed.scan.frames.iter().all(|f| f.job == id);
    let Some((claimed, mut items, damage)) = split_claimed(host, claimed, &id) else { return };

    let ticket = host.with(|rt| rt.hold(Held::Segment(claimed)));
    while !items.is_empty() {
        if !may_start(host, j, mode, budget) {
            report.stopped = true;
            break;
        }
        let batch = items.split_front(batch_size);
        let end = run_batch(host, j, &batch, budget);
        if one_job && matches!(end, BatchEnd::Delivered | BatchEnd::Failed) && !items.is_empty() {
            // A crash from here on delivers again only the batch in flight.
            if let Err(e) = host.with(|rt| rt.record_progress(ticket, batch.len() as u64)) {
                warn_once(host, &format!("asyncbatch: cannot record delivery progress: {e}"));
            }
        }
        match end {
            BatchEnd::Delivered => report.delivered += batch.len() as u64,
            BatchEnd::Failed => {}
            end @ (BatchEnd::Stopped | BatchEnd::Aborted) => {
                let rest = std::mem::replace(&mut items, batch);
                items.append(rest);
                if matches!(end, BatchEnd::Aborted) {
                    report.aborted = true;
                } else {
                    report.stopped = true;
                }
                break;
            }
        }
    }
    let Some(Held::Segment(claimed)) = host.with(|rt| rt.unhold(ticket)) else { return };
    let kept: Result<(), StorageError> = if items.is_empty() {
        Ok(())
    } else {
        host.with(|rt| rt.spool().and_then(|s| s.write(&key, &[(&id, &items)]))).map(|_| ())
    };
    match kept {
        Ok(()) => match claimed.finish() {
            Ok(Finished::Quarantined(to)) => host.log(&format!(
                "asyncbatch: corrupt spool segment {}; kept as {}",
                damage.unwrap_or_default(),
                to.display()
            )),
            Ok(Finished::Removed) => {}
            Err(e) => warn_once(host, &format!("asyncbatch: {e}")),
        },
        Err(e) => {
            // The segment stays whole for a later reader: nothing is lost, some
            // items will be delivered twice.
            warn_once(host, &format!("asyncbatch: cannot write to the spool: {e}"));
            claimed.release();
        }
    }
}

fn warn_once<H: Host>(host: &H, msg: &str) {
    if host.with(|rt| rt.first_time(msg)) {
        host.warn(msg);
    }
}

/// Replays the failure files of `jobs` through their callables, once each. Returns
/// the number of items delivered.
pub fn retry_failed<H: Host>(host: &H, jobs: &[JobId]) -> Result<u64, StorageError> {
    let was_delivering = host.with(|rt| std::mem::replace(&mut rt.delivering, true));
    let result = retry_jobs(host, jobs);
    host.with(|rt| rt.delivering = was_delivering);
    result
}

fn retry_jobs<H: Host>(host: &H, jobs: &[JobId]) -> Result<u64, StorageError> {
    let mut delivered = 0;
    for &j in jobs {
        let id = host.with(|rt| rt.job(j).id.clone());
        let paths = host.with(|rt| rt.failure_store().and_then(|s| s.list(Some(&id))))?;
        for path in paths {
            // One file that cannot be opened (a symlink, say) does not hold up the rest.
            let claimed = match host.with(|rt| rt.failure_store().and_then(|s| s.claim(&path))) {
                Ok(Some(claimed)) => claimed,
                Ok(None) => continue,
                Err(e) => {
                    warn_once(host, &format!("asyncbatch: skipping failure file {}: {e}", path.display()));
                    continue;
                }
            };
            let mut record = match &claimed.record {
                Ok(r) if r.job == id => r.clone(),
                Ok(_) => continue, // another job whose name routes here
                Err(e) => {
                    warn_once(
                        host,
                        &format!("asyncbatch: skipping corrupt failure file {}: {e}", path.display()),
                    );
                    continue;
                }
            };
            let ticket = host.with(|rt| rt.hold(Held::Failure(claimed)));
            let t0 = host.now();
            let outcome = host.call(j, &record.items);
            let took = host.now().saturating_duration_since(t0);
            let Some(Held::Failure(claimed)) = host.with(|rt| rt.unhold(ticket)) else { continue };
            let n = record.items.len() as u64;
            let stored = host.with(|rt| {
                let job = rt.job_mut(j);
                job.estimate.record(took);
                job.stats.last_flush_at = Some(naming::unix_secs());
                match &outcome {
                    CallOutcome::Accepted => {
                        job.stats.delivered += n;
                        job.stats.batches += 1;
                        rt.failure_store().and_then(|s| s.remove(claimed))
                    }
                    CallOutcome::Failed { message: msg, .. } => {
                        job.stats.last_error = Some(msg.clone());
                        record.attempts += 1;
                        record.last_error = msg.clone();
                        record.failed_at = naming::unix_secs();
                        rt.failure_store().and_then(|s| s.replace(claimed, &record))
                    }
                    CallOutcome::Abort => Ok(()),
                }
            });
            match outcome {
                CallOutcome::Accepted => delivered += n,
                CallOutcome::Abort => return Ok(delivered),
                CallOutcome::Failed { .. } => {}
            }
            if let Err(e) = stored {
                warn_once(host, &format!("asyncbatch: {e}"));
            }
        }
    }
    Ok(delivered)
}

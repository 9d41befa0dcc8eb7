//! Delivering a job: spooled segments first, then the queue, in batches of at most
//! `batchSize`, each call retried with backoff and stored as failed when every
//! attempt fails; at shutdown, within the time budget, the rest spooled.
//!
//! The loop reaches PHP only through [`Host`], and borrows the state only between
//! calls (see the note on [`crate::runtime`]). [`run_batch`], [`deliver_spooled`]
//! and [`retry_failed`] need only a [`Ledger`]; [`deliver`], which takes from the
//! queues, needs a [`Runtime`].

use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::budget::Budget;
use crate::clock::Tick;
use crate::failure_store::FailureRecord;
use crate::ledger::{HasLedger, Held, JobId, Ledger};
use crate::naming;
use crate::outcome::CallOutcome;
use crate::retry::Backoff;
use crate::runtime::{HasRuntime, Runtime};
use crate::secure_fs::{self, StorageError};
use crate::spool::{Claimed, Finished, Run};

/// What the delivery loop needs from its embedder (the extension, the HTTP sender's
/// thread, or a test).
pub trait Host {
    /// The state delivery runs on.
    type State: HasLedger;
    /// Runs `f` on the state. Never called from within `f`.
    fn with<R>(&self, f: impl FnOnce(&mut Self::State) -> R) -> R;
    /// Calls job `job`'s callable with `items`, the batch `id`.
    fn call(&self, job: JobId, items: &Batch, id: &BatchId) -> CallOutcome;
    /// The pieces `items` must be sent in when one call cannot take them whole (an
    /// HTTP sink's byte cap); `None` when they go in one call.
    fn split(&self, _job: JobId, _items: &Batch) -> Option<Pieces> {
        None
    }
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

/// Runs `f` on the host's ledger.
pub fn ledger<H: Host, R>(host: &H, f: impl FnOnce(&mut Ledger) -> R) -> R {
    host.with(|s| f(s.ledger()))
}

fn runtime<H: Host, R>(host: &H, f: impl FnOnce(&mut Runtime) -> R) -> R
where
    H::State: HasRuntime,
{
    host.with(|s| f(s.runtime()))
}

/// Raises `msg` as a warning, once per process.
pub fn warn_once<H: Host>(host: &H, msg: &str) {
    if ledger(host, |l| l.first_time(msg)) {
        host.warn(msg);
    }
}

/// Logs `msg`, once per process (a daemon worker, which has no request to warn in).
pub fn log_once<H: Host>(host: &H, msg: &str) {
    if ledger(host, |l| l.first_time(msg)) {
        host.log(msg);
    }
}

/// Raises the warnings the ledger queued.
pub fn raise_warnings<H: Host>(host: &H) {
    for w in ledger(host, |l| l.notices().take()) {
        host.warn(&w);
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

/// A batch cut into pieces that each fit one call, and the items too big for any.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pieces {
    /// The pieces, in order.
    pub sends: Vec<Batch>,
    /// Items no call can take, each with why.
    pub too_big: Vec<(Batch, String)>,
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

/// How far a delivery run may go: a budget, and the calls made before the run (its
/// first batch starts whatever the budget says).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    budget: Budget,
    calls_before: Option<u64>,
}

impl Limit {
    /// No limit: `flush()`, a due batch, the daemon, the HTTP sender.
    pub fn none(now: Instant) -> Self {
        Limit { budget: Budget::unlimited(now), calls_before: None }
    }

    /// The shutdown budget: `budget` from `started`, when `calls_before` calls had
    /// been made.
    pub fn shutdown(started: Instant, budget: Duration, calls_before: u64) -> Self {
        Limit { budget: Budget::new(started, budget), calls_before: Some(calls_before) }
    }

    /// Whether the budget lets another batch of `j` start at `now`.
    fn may_start(&self, now: Instant, ledger: &Ledger, j: JobId) -> bool {
        match self.calls_before {
            None => true,
            Some(before) => ledger.calls() == before || self.budget.fits(now, ledger.job(j).estimate.get()),
        }
    }
}

/// Whether `limit` lets another batch of `j` start now.
pub fn may_start<H: Host>(host: &H, j: JobId, limit: &Limit) -> bool {
    let now = host.now();
    ledger(host, |l| limit.may_start(now, l, j))
}

/// Delivers `jobs` in order; first what the spool holds for those of them in
/// `from_spool`, then their queues.
pub fn deliver<H: Host>(host: &H, jobs: &[JobId], from_spool: &[JobId], mode: Mode) -> Report
where
    H::State: HasRuntime,
{
    let now = host.now();
    let tick = host.tick();
    let (run, was_delivering, limit) = runtime(host, |rt| {
        rt.after_fork();
        let run = rt.start_run();
        // Everything this run takes from memory is on disk before the first
        // callable runs, whichever of them ends the process.
        if mode != Mode::Due {
            for &j in jobs {
                let n = rt.queued(j);
                rt.journal_queue(j, n, tick, run);
            }
        }
        let was = rt.set_delivering(true);
        let limit = if mode == Mode::Shutdown {
            let (started, calls) = rt.shutdown_started(now);
            Limit::shutdown(started, rt.settings().shutdown_budget, calls)
        } else {
            Limit::none(now)
        };
        (run, was, limit)
    });
    let mut report = Report::default();
    for &j in jobs {
        if report.stopped || report.aborted {
            break;
        }
        if mode != Mode::Due && from_spool.contains(&j) {
            deliver_spooled(host, j, &limit, &mut report);
        }
        if !report.stopped && !report.aborted {
            deliver_queue(host, j, run, mode, &limit, &mut report);
        }
    }
    runtime(host, |rt| {
        rt.set_delivering(was_delivering);
        // Journals of jobs a stopped run did not reach; an aborted run leaves them
        // on disk for the next reader (Runtime::end_request).
        if !report.aborted {
            for &j in jobs {
                if rt.has_journal_of(j, run) {
                    rt.journal_close(j, mode == Mode::Shutdown);
                }
            }
        }
        if report.stopped && mode == Mode::Shutdown {
            for j in rt.registered_jobs().to_vec() {
                rt.spill(j);
            }
        }
    });
    raise_warnings(host);
    report
}

fn deliver_queue<H: Host>(host: &H, j: JobId, run: u64, mode: Mode, limit: &Limit, report: &mut Report)
where
    H::State: HasRuntime,
{
    let tick = host.tick();
    let (journaled, queued) = runtime(host, |rt| (rt.has_journal_of(j, run), rt.queued(j)));
    if journaled {
        if !deliver_journaled(host, j, mode, limit, report) {
            return;
        }
        // At shutdown, what earlier callables of this run submitted to this job is
        // delivered in its turn too; what its own callable submits waits.
        if mode != Mode::Shutdown
            || queued == 0
            || !runtime(host, |rt| rt.journal_queue(j, queued, tick, run))
        {
            return;
        }
    } else {
        // Shutdown: what earlier callables submitted to a job that had nothing
        // queued; flush() leaves that queued.
        let n = runtime(host, |rt| match mode {
            Mode::Shutdown => queued,
            Mode::Flush => 0,
            Mode::Due => rt.due_items(j, tick),
        });
        if !runtime(host, |rt| rt.journal_queue(j, n, tick, run)) {
            return;
        }
    }
    deliver_journaled(host, j, mode, limit, report);
}

/// Delivers `j`'s journaled items batch by batch; false when it stopped early.
fn deliver_journaled<H: Host>(host: &H, j: JobId, mode: Mode, limit: &Limit, report: &mut Report) -> bool
where
    H::State: HasRuntime,
{
    loop {
        if !may_start(host, j, limit) {
            report.stopped = true;
            break;
        }
        let Some((batch, id)) = runtime(host, |rt| rt.journal_front(j)) else { break };
        match run_batch(host, j, &batch, &id, limit) {
            BatchEnd::Delivered => {
                report.delivered += batch.len() as u64;
                runtime(host, |rt| rt.journal_done(j, batch.len()));
            }
            BatchEnd::Failed => runtime(host, |rt| rt.journal_done(j, batch.len())),
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
    runtime(host, |rt| rt.journal_close(j, mode == Mode::Shutdown));
    !report.stopped
}

/// Delivers one batch under its id: whole, or in the pieces the host cuts it into
/// (each under its piece id). A run that stops midway leaves the whole batch to be
/// sent again, cut the same way, under the same piece ids: the items too big for any
/// piece are stored last, so they are stored once; a piece that was stored as failed
/// before the stop is stored again (at-least-once, in the failure store too).
pub fn run_batch<H: Host>(host: &H, j: JobId, batch: &Batch, id: &BatchId, limit: &Limit) -> BatchEnd {
    let Some(pieces) = host.split(j, batch) else {
        return run_whole(host, j, batch, id, limit);
    };
    let mut end = BatchEnd::Delivered;
    for (i, piece) in pieces.sends.iter().enumerate() {
        match run_whole(host, j, piece, &id.piece(i), limit) {
            BatchEnd::Delivered => {}
            BatchEnd::Failed => end = BatchEnd::Failed,
            stopped => return stopped,
        }
    }
    let at = naming::unix_secs();
    for (k, (item, why)) in pieces.too_big.into_iter().enumerate() {
        let piece = id.piece(pieces.sends.len() + k);
        let line = ledger(host, |l| {
            let record = failure(l, j, 0, why, at, piece, item);
            l.store_failure(j, &record)
        });
        host.log(&line);
        end = BatchEnd::Failed;
    }
    end
}

fn failure(
    l: &Ledger,
    j: JobId,
    attempts: u32,
    why: String,
    first: f64,
    id: BatchId,
    items: Batch,
) -> FailureRecord {
    FailureRecord {
        job: l.job(j).id.clone(),
        attempts,
        last_error: why,
        first_attempt_at: first,
        failed_at: naming::unix_secs(),
        pid: std::process::id(),
        host: secure_fs::hostname(),
        batch_id: Some(id),
        items,
    }
}

/// Calls the callable with one batch until it accepts it, retries are used up (the
/// batch is stored as failed) or the budget or the script ends.
fn run_whole<H: Host>(host: &H, j: JobId, batch: &Batch, id: &BatchId, limit: &Limit) -> BatchEnd {
    let (max_retries, backoff) = ledger(host, |l| {
        let c = &l.job(j).config;
        (c.max_retries, Backoff::new(c.retry_delay))
    });
    let first_attempt_at = naming::unix_secs();
    let mut attempts: u32 = 0;
    loop {
        let t0 = host.now();
        let outcome = host.call(j, batch, id);
        let took = host.now().saturating_duration_since(t0);
        attempts += 1;
        ledger(host, |l| l.record_call(j, batch.len(), took, &outcome));
        let error = match outcome {
            CallOutcome::Accepted => return BatchEnd::Delivered,
            CallOutcome::Abort => return BatchEnd::Aborted,
            CallOutcome::Failed(error) => error,
        };
        if attempts > max_retries || !error.retry.retries() {
            let line = ledger(host, |l| {
                let record = failure(l, j, attempts, error.message, first_attempt_at, *id, batch.clone());
                l.store_failure(j, &record)
            });
            host.log(&line);
            return BatchEnd::Failed;
        }
        let delay = ledger(host, |l| backoff.delay(attempts, l.rng())).max(error.retry.at_least());
        if !limit.budget.fits(host.now(), delay) || host.should_stop() {
            return BatchEnd::Stopped;
        }
        ledger(host, |l| l.job_mut(j).stats.retries += 1);
        if !delay.is_zero() {
            host.sleep(delay);
        }
    }
}

/// Delivers the spooled segments that hold items of `j`, oldest first.
pub fn deliver_spooled<H: Host>(host: &H, j: JobId, limit: &Limit, report: &mut Report) {
    let paths = match ledger(host, |l| l.spooled_segments(j)) {
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
        match ledger(host, |l| l.spool().and_then(|s| s.claim(&path))) {
            Ok(Some(claimed)) => deliver_segment(host, j, claimed, limit, report),
            Ok(None) => {}
            Err(e) => warn_once(host, &format!("asyncbatch: cannot read the spool: {e}")),
        }
    }
}

/// Splits a claimed segment into the runs of items of job `id` (frames of batches
/// already cut stay whole, under their ids; the others are merged) and the frames of
/// other jobs, which go back to the spool for whoever has those jobs. Also says what
/// damage the segment had, for the log line when it is finished. `None` when the
/// other frames could not be written: the claim is then released and the segment
/// stays whole.
pub fn split_claimed<H: Host>(
    host: &H,
    mut claimed: Claimed,
    id: &[u8],
) -> Option<(Claimed, Vec<Run>, Option<String>)> {
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
    let mut runs: Vec<Run> = Vec::new();
    for frame in frames {
        if frame.job == id {
            match (frame.batch, runs.last_mut()) {
                (None, Some((None, items))) => items.append(frame.items),
                (batch, _) => runs.push((batch, frame.items)),
            }
            continue;
        }
        let k = naming::jobkey(&frame.job);
        let run = [(frame.batch, frame.items)];
        let written = ledger(host, |l| l.spool().and_then(|s| s.write_runs(&k, &frame.job, &run)));
        if let Err(e) = written {
            warn_once(host, &format!("asyncbatch: cannot write to the spool: {e}"));
            claimed.release();
            return None;
        }
    }
    Some((claimed, runs, damage))
}

/// Removes a segment whose items are all done, logging where a damaged one was kept.
pub fn finish_segment<H: Host>(host: &H, claimed: Claimed, damage: Option<String>) {
    match claimed.finish() {
        Ok(Finished::Quarantined(to)) => host.log(&format!(
            "asyncbatch: corrupt spool segment {}; kept as {}",
            damage.unwrap_or_default(),
            to.display()
        )),
        Ok(Finished::Removed) => {}
        Err(e) => warn_once(host, &format!("asyncbatch: {e}")),
    }
}

fn deliver_segment<H: Host>(host: &H, j: JobId, claimed: Claimed, limit: &Limit, report: &mut Report) {
    let (id, key, batch_size) = ledger(host, |l| {
        let job = l.job(j);
        (job.id.clone(), job.key.clone(), job.config.batch_size)
    });
    // Progress counts the segment's items in order: it can be recorded only when
    // they are all this job's.
    let one_job = claimed.scan.frames.iter().all(|f| f.job == id);
    let Some((claimed, runs, damage)) = split_claimed(host, claimed, &id) else { return };
    let mut runs: std::collections::VecDeque<Run> = runs.into();

    let ticket = ledger(host, |l| l.hold(Held::Segment(claimed)));
    while let Some((cut, mut items)) = runs.pop_front() {
        if !may_start(host, j, limit) {
            report.stopped = true;
            runs.push_front((cut, items));
            break;
        }
        // A batch cut before it was spooled goes whole, under its id.
        let (batch, batch_id) = match cut {
            Some(b) => (std::mem::take(&mut items), b),
            None => (items.split_front(batch_size), BatchId::new()),
        };
        if !items.is_empty() {
            runs.push_front((None, items));
        }
        let end = run_batch(host, j, &batch, &batch_id, limit);
        if one_job && matches!(end, BatchEnd::Delivered | BatchEnd::Failed) && !runs.is_empty() {
            // A crash from here on delivers again only the batch in flight.
            if let Err(e) = ledger(host, |l| l.record_progress(ticket, batch.len() as u64)) {
                warn_once(host, &format!("asyncbatch: cannot record delivery progress: {e}"));
            }
        }
        match end {
            BatchEnd::Delivered => report.delivered += batch.len() as u64,
            BatchEnd::Failed => {}
            end @ (BatchEnd::Stopped | BatchEnd::Aborted) => {
                // It was called: it keeps its id in the spool.
                runs.push_front((Some(batch_id), batch));
                if matches!(end, BatchEnd::Aborted) {
                    report.aborted = true;
                } else {
                    report.stopped = true;
                }
                break;
            }
        }
    }
    let Some(Held::Segment(claimed)) = ledger(host, |l| l.unhold(ticket)) else { return };
    let kept: Result<(), StorageError> = if runs.is_empty() {
        Ok(())
    } else {
        let runs: Vec<Run> = runs.into();
        ledger(host, |l| l.spool().and_then(|s| s.write_runs(&key, &id, &runs))).map(|_| ())
    };
    match kept {
        Ok(()) => finish_segment(host, claimed, damage),
        Err(e) => {
            // The segment stays whole for a later reader: nothing is lost, some
            // items will be delivered twice.
            warn_once(host, &format!("asyncbatch: cannot write to the spool: {e}"));
            claimed.release();
        }
    }
}

/// What one replay of a stored batch did.
struct Replayed {
    /// Accepted when every call was; else the first failure.
    outcome: CallOutcome,
    /// Items in the calls accepted.
    delivered: usize,
    /// Items too big for any call, and why.
    too_big: Option<(Batch, String)>,
}

/// One call for a stored batch, or one per piece when the host cuts it, up to the
/// first piece that fails.
fn call_once<H: Host>(host: &H, j: JobId, items: &Batch, id: &BatchId) -> Replayed {
    let call = |items: &Batch, id: &BatchId| {
        let t0 = host.now();
        let outcome = host.call(j, items, id);
        let took = host.now().saturating_duration_since(t0);
        ledger(host, |l| l.record_call(j, items.len(), took, &outcome));
        outcome
    };
    let Some(pieces) = host.split(j, items) else {
        let outcome = call(items, id);
        let delivered = if matches!(outcome, CallOutcome::Accepted) { items.len() } else { 0 };
        return Replayed { outcome, delivered, too_big: None };
    };
    let mut delivered = 0;
    for (i, piece) in pieces.sends.iter().enumerate() {
        let outcome = call(piece, &id.piece(i));
        if !matches!(outcome, CallOutcome::Accepted) {
            return Replayed { outcome, delivered, too_big: None };
        }
        delivered += piece.len();
    }
    let mut too_big: Option<(Batch, String)> = None;
    for (item, why) in pieces.too_big {
        match &mut too_big {
            Some((b, _)) => b.append(item),
            None => too_big = Some((item, why)),
        }
    }
    Replayed { outcome: CallOutcome::Accepted, delivered, too_big }
}

/// Replays the failure files of `jobs` through their callables, once each. Returns
/// the number of items delivered.
pub fn retry_failed<H: Host>(host: &H, jobs: &[JobId]) -> Result<u64, StorageError>
where
    H::State: HasRuntime,
{
    let was_delivering = runtime(host, |rt| rt.set_delivering(true));
    let result = retry_jobs(host, jobs);
    runtime(host, |rt| rt.set_delivering(was_delivering));
    result
}

fn retry_jobs<H: Host>(host: &H, jobs: &[JobId]) -> Result<u64, StorageError> {
    let mut delivered = 0;
    for &j in jobs {
        let id = ledger(host, |l| l.job(j).id.clone());
        let paths = ledger(host, |l| l.failure_store().and_then(|s| s.list(Some(&id))))?;
        for path in paths {
            // One file that cannot be opened (a symlink, say) does not hold up the rest.
            let claimed = match ledger(host, |l| l.failure_store().and_then(|s| s.claim(&path))) {
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
            // A version 1 file has no id: it gets one now, which its rewrite keeps.
            let batch_id = *record.batch_id.get_or_insert_with(BatchId::new);
            let ticket = ledger(host, |l| l.hold(Held::Failure(claimed)));
            let Replayed { outcome, delivered: n, too_big } = call_once(host, j, &record.items, &batch_id);
            let Some(Held::Failure(claimed)) = ledger(host, |l| l.unhold(ticket)) else { continue };
            let stored = ledger(host, |l| match (&outcome, too_big) {
                (CallOutcome::Accepted, None) => l.failure_store().and_then(|s| s.remove(claimed)),
                // What was sent is delivered; what no call can take stays.
                (CallOutcome::Accepted, Some((items, why))) => {
                    record.items = items;
                    record.last_error = why;
                    record.failed_at = naming::unix_secs();
                    l.failure_store().and_then(|s| s.replace(claimed, &record))
                }
                (CallOutcome::Failed(error), _) => {
                    record.attempts += 1;
                    record.last_error = error.message.clone();
                    record.failed_at = naming::unix_secs();
                    l.failure_store().and_then(|s| s.replace(claimed, &record))
                }
                (CallOutcome::Abort, _) => Ok(()),
            });
            delivered += n as u64;
            if matches!(outcome, CallOutcome::Abort) {
                return Ok(delivered);
            }
            if let Err(e) = stored {
                warn_once(host, &format!("asyncbatch: {e}"));
            }
        }
    }
    Ok(delivered)
}

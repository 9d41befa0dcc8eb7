//! The HTTP sender of a PHP process: a background thread that batches sink jobs'
//! items across requests (by `batchSize` and `callPeriod`) and posts them, one batch
//! at a time, with the job's retries, backoff and failure store.
//!
//! Every item not yet delivered is in the shared state — queued, or the one batch in
//! flight — never only on the thread's stack: when the process exits and the thread
//! does not finish in time, the PHP thread spools all of it. The thread keeps its own
//! [`Ledger`] of the sink jobs, under the PHP thread's job ids.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::background::{spool_left, Background, Lifecycle};
use crate::batch::{Batch, ItemQueue};
use crate::batch_id::BatchId;
use crate::clock::{self, Tick};
use crate::config::JobConfig;
use crate::delivery::{self, BatchEnd, Host, Limit, Pieces};
use crate::http::cap;
use crate::http::client::{Client, HttpCounters};
use crate::http::config::SinkConfig;
use crate::ledger::{DiskConfig, JobId, Ledger};
use crate::outcome::CallOutcome;
use crate::stats::JobStats;
use crate::sync::MutexGuard;

/// How often the thread looks in the spool for segments of its jobs (left by a
/// process that exited before posting them).
const SPOOL_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct SenderJob {
    id: Vec<u8>,
    config: JobConfig,
    sink: Option<Arc<SinkConfig>>,
    counters: Arc<HttpCounters>,
    queue: ItemQueue,
    /// What the thread counted for it, copied after each batch.
    stats: JobStats,
    /// Set at registration, cleared once the thread's ledger has it.
    changed: bool,
}

#[derive(Debug, Default)]
struct State {
    jobs: Vec<SenderJob>,
    requested: u64,
    completed: u64,
    stop: bool,
    stopped: bool,
    inflight: Option<(JobId, Batch, BatchId)>,
    logs: Vec<String>,
}

impl Lifecycle for State {
    fn stop_requested(&self) -> bool {
        self.stop
    }
    fn request_stop(&mut self) {
        self.stop = true;
    }
    fn has_stopped(&self) -> bool {
        self.stopped
    }
    fn mark_stopped(&mut self) {
        self.stopped = true;
    }
}

/// A process's HTTP sender.
#[derive(Debug)]
pub struct HttpSender {
    bg: Arc<Background<State>>,
    disk: DiskConfig,
}

impl HttpSender {
    /// A new sender and its thread, storing failed batches and reading the spool
    /// where `disk` says.
    pub fn start(disk: DiskConfig) -> std::io::Result<HttpSender> {
        let thread_disk = disk.clone();
        let bg = Background::start("asyncbatch-http", State::default(), move |bg| run(&bg, thread_disk))?;
        Ok(HttpSender { bg, disk })
    }

    /// Whether it was made in this process, not inherited over a fork.
    #[inline]
    pub fn is_this_process(&self) -> bool {
        self.bg.is_this_process()
    }

    /// Sets (or updates, at each registration) a sink job. Does not wake the thread:
    /// a request must not pay for a context switch (the thread looks again within
    /// `callPeriod`).
    pub fn set_job(
        &self,
        job: JobId,
        id: &[u8],
        config: &JobConfig,
        sink: &Arc<SinkConfig>,
        counters: &Arc<HttpCounters>,
    ) {
        let mut st = self.bg.lock();
        if st.jobs.len() <= job {
            st.jobs.resize_with(job + 1, SenderJob::default);
        }
        let j = &mut st.jobs[job];
        if j.sink.as_deref() == Some(&**sink) && j.config == *config {
            return; // the same registration as in the last request
        }
        j.id = id.to_vec();
        j.config = config.clone();
        j.sink = Some(Arc::clone(sink));
        j.counters = Arc::clone(counters);
        j.changed = true;
    }

    /// Queues one item that `encode` writes in place; returns the job's queue length.
    #[inline]
    pub fn push_with<E>(
        &self,
        job: JobId,
        now: Tick,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut st = self.bg.lock();
        let j = &mut st.jobs[job];
        j.queue.push_with(now, encode)?;
        let len = j.queue.len();
        // Only a full batch wakes the thread; it finds the others when it looks,
        // at least every callPeriod.
        if len == j.config.batch_size {
            self.bg.wake.notify_one();
        }
        Ok(len)
    }

    /// Takes a job's queued items back (the memory cap, when posting cannot keep up).
    pub fn take(&self, job: JobId) -> Batch {
        self.bg.lock().jobs.get_mut(job).map(|j| j.queue.take_all()).unwrap_or_default()
    }

    /// Items of `job` not yet delivered, and what the thread counted for it.
    pub fn job_state(&self, job: JobId) -> Option<(usize, JobStats)> {
        let st = self.bg.lock();
        let j = st.jobs.get(job).filter(|j| j.sink.is_some())?;
        let inflight = st.inflight.as_ref().filter(|(k, ..)| *k == job).map_or(0, |(_, b, _)| b.len());
        Some((j.queue.len() + inflight, j.stats.clone()))
    }

    /// Log lines the thread wants written (by the PHP thread).
    pub fn take_logs(&self) -> Vec<String> {
        std::mem::take(&mut self.bg.lock().logs)
    }

    /// Posts everything queued now, waiting until it is delivered or stored as
    /// failed; returns the items of `jobs` delivered meanwhile.
    pub fn flush(&self, jobs: &[JobId]) -> u64 {
        let mut st = self.bg.lock();
        if st.stopped {
            return 0;
        }
        let delivered = |st: &State| -> u64 {
            jobs.iter().filter_map(|&j| st.jobs.get(j)).map(|j| j.stats.delivered).sum()
        };
        let before = delivered(&st);
        st.requested += 1;
        let target = st.requested;
        self.bg.wake.notify_one();
        let (st, _) = self.bg.wait_done(st, None, |st| st.completed >= target || st.stopped);
        delivered(&st) - before
    }

    /// At process exit: lets the thread post what is queued for at most `timeout`,
    /// then spools what is left (the batch in flight included). Returns log lines.
    pub fn shutdown(&self, timeout: Duration) -> Vec<String> {
        let (left, mut logs) = self.bg.stop(timeout, |st| {
            let mut left: Vec<(Vec<u8>, Batch, Option<BatchId>)> = Vec::new();
            // The batch in flight keeps its id: whoever posts it next sends the same key.
            if let Some((j, batch, id)) = st.inflight.take() {
                left.push((st.jobs[j].id.clone(), batch, Some(id)));
            }
            for job in &mut st.jobs {
                let b = job.queue.take_all();
                if !b.is_empty() {
                    left.push((job.id.clone(), b, None));
                }
            }
            (left, std::mem::take(&mut st.logs))
        });
        logs.extend(spool_left(&self.disk, left, "items of HTTP sinks"));
        logs
    }
}

/// The thread's way to deliver: its own ledger (configs, counters, the failure
/// store), HTTP for calls.
struct ThreadHost<'a> {
    bg: &'a Background<State>,
    ledger: std::cell::RefCell<Ledger>,
    client: Client,
}

impl Host for ThreadHost<'_> {
    type State = Ledger;

    fn with<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        f(&mut self.ledger.borrow_mut())
    }

    fn call(&self, job: JobId, items: &Batch, id: &BatchId) -> CallOutcome {
        let (sink, counters) = self.with(|l| {
            let j = l.job(job);
            (j.sink.clone(), Arc::clone(&j.http))
        });
        match sink {
            Some(sink) => self.client.post(&sink, items, id, &counters),
            None => CallOutcome::failed("the job has no HTTP sink"),
        }
    }

    fn split(&self, job: JobId, items: &Batch) -> Option<Pieces> {
        let sink = self.with(|l| l.job(job).sink.clone())?;
        cap::split(&sink, items)
    }

    fn sleep(&self, d: Duration) {
        let deadline = Instant::now() + d;
        let mut st = self.bg.lock();
        while !st.stop && Instant::now() < deadline {
            st = self.bg.nap(st, Some(deadline));
        }
    }

    fn log(&self, msg: &str) {
        self.bg.lock().logs.push(msg.to_string());
    }

    fn warn(&self, msg: &str) {
        self.log(msg);
    }

    fn should_stop(&self) -> bool {
        self.bg.lock().stop
    }
}

/// What the thread does next.
enum Next {
    Post(JobId, Batch),
    Wait(Option<Instant>),
    FlushDone,
    Stopped,
}

fn pick(st: &mut State) -> Next {
    let flushing = st.completed < st.requested;
    let draining = st.stop || flushing;
    let now = clock::coarse_now();
    let mut earliest: Option<Duration> = None;
    for (j, job) in st.jobs.iter_mut().enumerate() {
        if job.sink.is_none() {
            continue;
        }
        if job.queue.is_empty() {
            // Nothing yet: look again after a call period.
            let p = job.config.call_period;
            earliest = Some(earliest.map_or(p, |e: Duration| e.min(p)));
            continue;
        }
        let waited = job.queue.oldest_at().map(|t| now.saturating_sub(t)).unwrap_or_default();
        if draining || job.queue.len() >= job.config.batch_size || waited >= job.config.call_period {
            let batch = job.queue.take(job.config.batch_size);
            return Next::Post(j, batch);
        }
        let left = job.config.call_period - waited;
        earliest = Some(earliest.map_or(left, |e: Duration| e.min(left)));
    }
    if st.stop {
        return Next::Stopped;
    }
    if flushing {
        return Next::FlushDone;
    }
    Next::Wait(earliest.map(|d| Instant::now() + d))
}

/// Gives the thread's ledger every registration made since it last looked.
fn sync_jobs(host: &ThreadHost<'_>, st: &mut State) {
    for (j, job) in st.jobs.iter_mut().enumerate() {
        if !std::mem::take(&mut job.changed) {
            continue;
        }
        host.with(|l| {
            let entry = l.set(j, &job.id, job.config.clone());
            entry.sink = job.sink.clone();
            entry.http = Arc::clone(&job.counters);
        });
    }
}

/// Copies the thread's counters of every sink job into the shared state.
fn copy_stats(st: &mut State, host: &ThreadHost<'_>) {
    host.with(|l| {
        for (j, job) in st.jobs.iter_mut().enumerate() {
            if job.sink.is_some() && j < l.len() {
                job.stats = l.job(j).stats.clone();
            }
        }
    });
}

fn sink_jobs(st: &State) -> Vec<JobId> {
    (0..st.jobs.len()).filter(|&j| st.jobs[j].sink.is_some()).collect()
}

fn run(bg: &Background<State>, disk: DiskConfig) {
    let host = ThreadHost { bg, ledger: std::cell::RefCell::new(Ledger::new(disk)), client: Client::new() };
    let mut next_spool = Instant::now();
    let mut spooled_for_flush = 0u64;
    // Jobs whose spool segments were looked at at least once.
    let mut spool_seen: Vec<JobId> = Vec::new();
    loop {
        // Under the lock: what to do next.
        let work = {
            let mut st: MutexGuard<'_, State> = bg.lock();
            loop {
                if st.stopped {
                    return;
                }
                sync_jobs(&host, &mut st);
                let flush_pending = st.completed < st.requested && spooled_for_flush < st.requested;
                // Every job gets one look at the spool, even in a short-lived process
                // that is already stopping (its exit timeout bounds it).
                let unseen = sink_jobs(&st).iter().any(|j| !spool_seen.contains(j));
                if unseen || (!st.stop && (Instant::now() >= next_spool || flush_pending)) {
                    spooled_for_flush = st.requested;
                    break None;
                }
                match pick(&mut st) {
                    Next::Post(j, batch) => {
                        let id = BatchId::new();
                        st.inflight = Some((j, batch.clone(), id));
                        break Some((j, batch, id));
                    }
                    Next::FlushDone => {
                        st.completed = st.requested;
                        bg.done.notify_all();
                    }
                    Next::Stopped => {
                        bg.say_stopped(&mut st);
                        return;
                    }
                    Next::Wait(at) => {
                        let until = at.map_or(next_spool, |a| a.min(next_spool));
                        st = bg.nap(st, Some(until));
                    }
                }
            }
        };
        let Some((job, batch, id)) = work else {
            // The spool: segments of our jobs a process left (spooled at its exit).
            let jobs = sink_jobs(&bg.lock());
            for &j in &jobs {
                let mut report = delivery::Report::default();
                delivery::deliver_spooled(&host, j, &Limit::none(host.now()), &mut report);
            }
            delivery::raise_warnings(&host);
            spool_seen = jobs;
            next_spool = Instant::now() + SPOOL_EVERY;
            copy_stats(&mut bg.lock(), &host);
            continue;
        };
        let end = delivery::run_batch(&host, job, &batch, &id, &Limit::none(host.now()));
        let mut st = bg.lock();
        if st.stopped {
            return; // exit timed out: the PHP thread spooled everything
        }
        copy_stats(&mut st, &host);
        if end == BatchEnd::Stopped {
            // Only a stop ends a batch early here: it stays in flight, and the PHP
            // thread spools it under its id with what is queued.
            bg.say_stopped(&mut st);
            return;
        }
        st.inflight = None;
        bg.done.notify_all();
    }
}

//! The worker process's HTTP sender: a background thread that batches sink jobs'
//! items across requests (by `batchSize` and `callPeriod`) and posts them, one batch
//! at a time, with the job's retries, backoff and failure store.
//!
//! Every item not yet delivered is in the shared state — queued, or the one batch in
//! flight — never only on the thread's stack: when the process exits and the thread
//! does not finish in time, the PHP thread spools all of it.

use std::cell::RefCell;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::batch::{Batch, ItemQueue};
use crate::budget::Budget;
use crate::clock::{self, Tick};
use crate::config::JobConfig;
use crate::delivery::{self, BatchEnd, CallOutcome, Host};
use crate::http::client::{Client, HttpCounters};
use crate::http::config::SinkConfig;
use crate::item::printable_id;
use crate::runtime::{JobId, Runtime};
use crate::settings::Settings;
use crate::spool::Spool;
use crate::stats::JobStats;
use crate::sync::{Condvar, Mutex};

#[derive(Debug, Default)]
struct SenderJob {
    id: Vec<u8>,
    config: JobConfig,
    sink: Option<Arc<SinkConfig>>,
    counters: Arc<HttpCounters>,
    queue: ItemQueue,
    stats: JobStats,
    /// The job in the thread's own runtime.
    thread_job: Option<JobId>,
}

#[derive(Debug, Default)]
struct State {
    jobs: Vec<SenderJob>,
    requested: u64,
    completed: u64,
    stop: bool,
    stopped: bool,
    inflight: Option<(usize, Batch)>,
    logs: Vec<String>,
}

/// A process's HTTP sender.
#[derive(Debug)]
pub struct HttpSender {
    state: Mutex<State>,
    wake: Condvar,
    done: Condvar,
    /// The fork generation it was made in (a forked child must make its own).
    fork_generation: u64,
    settings: Settings,
    /// The thread, joined once it stopped: a thread still ending when the process
    /// exits leaves its thread-local storage behind.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl HttpSender {
    /// A new sender and its thread.
    pub fn start(settings: Settings) -> std::io::Result<Arc<HttpSender>> {
        let sender = Arc::new(HttpSender {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
            fork_generation: crate::fork::generation(),
            settings,
            thread: Mutex::new(None),
        });
        let thread_side = Arc::clone(&sender);
        let handle =
            std::thread::Builder::new().name("asyncbatch-http".into()).spawn(move || run(thread_side))?;
        *sender.thread.lock() = Some(handle);
        Ok(sender)
    }

    /// Whether it was made in this process, not inherited over a fork (its thread
    /// did not come along). No system call: a submit asks.
    pub fn is_this_process(&self) -> bool {
        self.fork_generation == crate::fork::generation()
    }

    /// Sets (or updates, at each registration) a sink job. Does not wake the thread:
    /// a request must not pay for a context switch (the thread looks again within
    /// `callPeriod`).
    pub fn set_job(
        &self,
        job: usize,
        id: &[u8],
        config: JobConfig,
        sink: Arc<SinkConfig>,
        counters: Arc<HttpCounters>,
    ) {
        let mut st = self.state.lock();
        if st.jobs.len() <= job {
            st.jobs.resize_with(job + 1, SenderJob::default);
        }
        let j = &mut st.jobs[job];
        if j.sink.as_deref() == Some(&*sink) && j.config == config {
            return; // the same registration as in the last request
        }
        j.id = id.to_vec();
        j.config = config;
        j.sink = Some(sink);
        j.counters = counters;
    }

    /// Queues one item that `encode` writes in place; returns the job's queue length.
    #[inline]
    pub fn push_with<E>(
        &self,
        job: usize,
        now: Tick,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut st = self.state.lock();
        let j = &mut st.jobs[job];
        j.queue.push_with(now, encode)?;
        let len = j.queue.len();
        // Only a full batch wakes the thread; it finds the others when it looks,
        // at least every callPeriod.
        if len == j.config.batch_size {
            self.wake.notify_one();
        }
        Ok(len)
    }

    /// Takes a job's queued items back (the memory cap, when posting cannot keep up).
    pub fn take(&self, job: usize) -> Batch {
        self.state.lock().jobs.get_mut(job).map(|j| j.queue.take_all()).unwrap_or_default()
    }

    /// Items of `job` not yet delivered, what the thread counted for it, and its
    /// HTTP counters.
    pub fn job_state(&self, job: usize) -> Option<(usize, JobStats)> {
        let st = self.state.lock();
        let j = st.jobs.get(job).filter(|j| j.sink.is_some())?;
        let inflight = st.inflight.as_ref().filter(|(k, _)| *k == job).map_or(0, |(_, b)| b.len());
        Some((j.queue.len() + inflight, j.stats.clone()))
    }

    /// Log lines the thread wants written (by the PHP thread).
    pub fn take_logs(&self) -> Vec<String> {
        std::mem::take(&mut self.state.lock().logs)
    }

    /// Posts everything queued now, waiting until it is delivered or stored as
    /// failed; returns the items of `jobs` delivered meanwhile.
    pub fn flush(&self, jobs: &[usize]) -> u64 {
        let mut st = self.state.lock();
        if st.stopped {
            return 0;
        }
        let delivered = |st: &State| -> u64 {
            jobs.iter().filter_map(|&j| st.jobs.get(j)).map(|j| j.stats.delivered).sum()
        };
        let before = delivered(&st);
        st.requested += 1;
        let target = st.requested;
        self.wake.notify_one();
        while st.completed < target && !st.stopped {
            st = self.done.wait(st);
        }
        delivered(&st) - before
    }

    /// At process exit: lets the thread post what is queued for at most `timeout`,
    /// then spools what is left (the batch in flight included). Returns log lines.
    pub fn shutdown(&self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock();
        st.stop = true;
        self.wake.notify_one();
        while !st.stopped {
            let (guard, timed_out) = self.done.wait_until(st, deadline);
            st = guard;
            if timed_out {
                break;
            }
        }
        let mut left: Vec<(Vec<u8>, Batch)> = Vec::new();
        if let Some((j, batch)) = st.inflight.take() {
            left.push((st.jobs[j].id.clone(), batch));
        }
        for job in &mut st.jobs {
            let b = job.queue.take_all();
            if !b.is_empty() {
                left.push((job.id.clone(), b));
            }
        }
        let ended = st.stopped;
        // The thread, if still running, must not deliver what is now spooled.
        st.stopped = true;
        let mut logs = std::mem::take(&mut st.logs);
        drop(st);
        if ended {
            // It returns right after saying so; one still posting is left be.
            if let Some(handle) = self.thread.lock().take() {
                let _ = handle.join();
            }
        }
        if left.is_empty() {
            return logs;
        }
        match Spool::open(&self.settings.spool_dir) {
            Ok(mut spool) => {
                for (id, items) in left {
                    if let Err(e) = spool.write(&crate::naming::jobkey(&id), &[(&id, &items)]) {
                        logs.push(format!(
                            "asyncbatch: cannot write to the spool: {e}; {} items for job '{}' dropped",
                            items.len(),
                            printable_id(&id)
                        ));
                    }
                }
            }
            Err(e) => logs.push(format!(
                "asyncbatch: cannot write to the spool: {e}; items of HTTP sinks dropped at exit"
            )),
        }
        logs
    }
}

/// The thread's way to deliver: its own runtime (configs, counters, the failure
/// store), HTTP for calls.
struct ThreadHost<'a> {
    sender: &'a HttpSender,
    rt: RefCell<Runtime>,
    client: Client,
    sinks: RefCell<Vec<(Arc<SinkConfig>, Arc<HttpCounters>)>>,
}

impl Host for ThreadHost<'_> {
    fn with<R>(&self, f: impl FnOnce(&mut Runtime) -> R) -> R {
        f(&mut self.rt.borrow_mut())
    }

    fn call(&self, job: JobId, items: &Batch) -> CallOutcome {
        let (sink, counters) = self.sinks.borrow()[job].clone();
        self.client.post(&sink, items, &counters)
    }

    fn sleep(&self, d: Duration) {
        let deadline = Instant::now() + d;
        let mut st = self.sender.state.lock();
        while !st.stop {
            let (guard, timed_out) = self.sender.wake.wait_until(st, deadline);
            st = guard;
            if timed_out {
                break;
            }
        }
    }

    fn log(&self, msg: &str) {
        self.sender.state.lock().logs.push(msg.to_string());
    }

    fn warn(&self, msg: &str) {
        self.log(msg);
    }

    fn should_stop(&self) -> bool {
        self.sender.state.lock().stop
    }
}

/// The batch to post next: (job, batch, its thread job), or how long to wait.
enum Next {
    Post(usize, Batch),
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

/// How often the thread looks in the spool for segments of its jobs (left by a
/// process that exited before posting them).
const SPOOL_EVERY: Duration = Duration::from_secs(2);

/// Makes the thread's runtime know every sink job (under its own ids), with the
/// latest config, sink and counters.
fn sync_jobs(host: &ThreadHost<'_>, st: &mut State) {
    for job in st.jobs.iter_mut() {
        let Some(sink) = job.sink.clone() else { continue };
        let tj = match job.thread_job {
            Some(tj) => {
                host.with(|rt| rt.job_mut(tj).config = job.config.clone());
                tj
            }
            None => {
                let tj = host.with(|rt| rt.register(&job.id, job.config.clone()));
                job.thread_job = Some(tj);
                tj
            }
        };
        let mut sinks = host.sinks.borrow_mut();
        if sinks.len() <= tj {
            sinks.resize_with(tj + 1, || (Arc::clone(&sink), Arc::clone(&job.counters)));
        }
        sinks[tj] = (sink, Arc::clone(&job.counters));
    }
}

fn run(sender: Arc<HttpSender>) {
    let mut rt = Runtime::new();
    rt.begin_request(sender.settings.clone(), true);
    let host = ThreadHost {
        sender: &sender,
        rt: RefCell::new(rt),
        client: Client::new(),
        sinks: RefCell::new(Vec::new()),
    };
    let mut next_spool = Instant::now();
    let mut spooled_for_flush = 0u64;
    // Thread jobs whose spool segments were looked at at least once.
    let mut spool_seen: Vec<JobId> = Vec::new();
    loop {
        // Under the lock: what to do next.
        let work = {
            let mut st = sender.state.lock();
            loop {
                if st.stopped {
                    return;
                }
                sync_jobs(&host, &mut st);
                let flush_pending = st.completed < st.requested && spooled_for_flush < st.requested;
                // Every job gets one look at the spool, even in a short-lived process
                // that is already stopping (its exit timeout bounds it).
                let unseen = st.jobs.iter().filter_map(|j| j.thread_job).any(|tj| !spool_seen.contains(&tj));
                if unseen || (!st.stop && (Instant::now() >= next_spool || flush_pending)) {
                    spooled_for_flush = st.requested;
                    break None;
                }
                match pick(&mut st) {
                    Next::Post(j, batch) => {
                        st.inflight = Some((j, batch.clone()));
                        let tj = st.jobs[j].thread_job.expect("synced");
                        break Some((j, tj, batch));
                    }
                    Next::FlushDone => {
                        st.completed = st.requested;
                        sender.done.notify_all();
                    }
                    Next::Stopped => {
                        st.stopped = true;
                        sender.done.notify_all();
                        return;
                    }
                    Next::Wait(at) => {
                        let until = at.map_or(next_spool, |a| a.min(next_spool));
                        st = sender.wake.wait_until(st, until).0;
                    }
                }
            }
        };
        let Some((job, tj, batch)) = work else {
            // The spool: segments of our jobs a process left (spooled at its exit).
            let jobs: Vec<JobId> = host.with(|rt| rt.registered_jobs().to_vec());
            for &tj in &jobs {
                delivery::deliver(&host, &[tj], delivery::Mode::Flush);
            }
            spool_seen = jobs;
            next_spool = Instant::now() + SPOOL_EVERY;
            publish_stats(&sender, &host);
            continue;
        };
        let end = delivery::run_batch(&host, tj, &batch, &Budget::unlimited(host.now()));
        let mut st = sender.state.lock();
        if st.stopped {
            return; // exit timed out: the PHP thread spooled everything
        }
        st.inflight = None;
        copy_stats(&mut st, &host);
        if end == BatchEnd::Stopped {
            // Stopping, and this batch failed: it goes back to the front and the
            // thread ends; the PHP thread spools what is left.
            let at = st.jobs[job].queue.oldest_at().unwrap_or_default();
            st.jobs[job].queue.put_back(batch, at);
            if st.stop {
                st.stopped = true;
                sender.done.notify_all();
                return;
            }
        }
        sender.done.notify_all();
    }
}

/// Copies the thread's counters of every job into the shared state.
fn copy_stats(st: &mut State, host: &ThreadHost<'_>) {
    for job in st.jobs.iter_mut() {
        if let Some(tj) = job.thread_job {
            job.stats = host.with(|rt| rt.job(tj).stats.clone());
        }
    }
}

fn publish_stats(sender: &HttpSender, host: &ThreadHost<'_>) {
    copy_stats(&mut sender.state.lock(), host);
}

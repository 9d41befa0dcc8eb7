//! The producer side of a PHP process: where each submitted item goes — the job's
//! queue in this process (the shutdown runner), the outbox to the daemon (the
//! daemon runner), or the HTTP sender (a job whose callable is an HttpSink) — the
//! background threads that carry it, flushing across all three, the extension's
//! shutdown function, the end of the request and of the process, and stats merged
//! from all three.
//!
//! The extension keeps one [`Producer`] per process and reaches it through a
//! [`Sapi`]; the calls here that may run PHP code take the host, the others are
//! methods.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::Tick;
use crate::config::JobConfig;
use crate::daemon::status;
use crate::delivery::{self, Host, Mode};
use crate::fork;
use crate::http::client::HttpCounts;
use crate::http::config::SinkConfig;
use crate::http::sender::HttpSender;
use crate::ledger::{DiskConfig, HasLedger, JobId, Ledger};
use crate::outbox::{Outbox, OutboxConfig, Transport};
use crate::runtime::{AfterPush, HasRuntime, HookStep, Runtime, ShutdownPhase, UnknownJob};
use crate::secure_fs::StorageError;
use crate::settings::{RunnerKind, Settings, SettingsCache, TransportKind};
use crate::stats::JobStats;

/// How long a daemon's status may be old and the daemon still count as alive.
const DAEMON_ALIVE_WITHIN: f64 = 5.0;
/// How often `auto` looks at the daemon's status.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Which runner this request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunMode {
    /// Deliver in this process at the end of the request.
    #[default]
    Shutdown,
    /// Hand items to the daemon.
    Daemon,
}

/// What the producer needs from PHP beyond what delivery needs: the settings, the
/// SAPI, and its two hooks.
pub trait Sapi: Host<State = Producer> {
    /// This request's settings and the warnings resolving them gave.
    fn settings(&self) -> (Settings, Vec<String>);
    /// Whether this SAPI runs one script rather than requests, as the CLI
    /// ([`crate::sapi::SapiKind::script`]).
    fn is_cli(&self) -> bool;
    /// Registers the extension's shutdown function; false when PHP refused.
    fn register_shutdown_function(&self) -> bool;
    /// Sends the response now, where the SAPI can ([`crate::sapi::SapiKind::finish_request`]).
    fn finish_request(&self);
}

/// A submit that went in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    /// The job.
    pub job: JobId,
    /// Whether a batch is due now (CLI).
    pub after: AfterPush,
    /// Whether warnings wait to be raised (a spill the spool refused, say).
    pub warnings: bool,
}

/// Why a submit did not go straight in.
#[derive(Debug, PartialEq)]
pub enum Refused<E> {
    /// The request is not set up for it yet: set it up ([`prepare_submit`]), then
    /// encode and [`Producer::push_encoded`].
    NotReady,
    /// No such job in this request.
    Unknown(UnknownJob),
    /// The encoder refused the item.
    Encode(E),
}

/// Why `flush()` or `retryFailed()` failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A job not registered in this request.
    #[error(transparent)]
    UnknownJob(#[from] UnknownJob),
    /// The failure store cannot be used.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One job's line of `stats()`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobReport {
    /// The identifier.
    pub id: Vec<u8>,
    /// Its counters, with what the background threads did for it.
    pub stats: JobStats,
    /// Items waiting in memory, in this thread or a background one.
    pub queued: u64,
    /// An HttpSink job's requests.
    pub http: Option<HttpReport>,
}

/// An HttpSink job's requests, for `stats()`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReport {
    /// Requests, bytes and statuses.
    pub counts: HttpCounts,
    /// Retry requests.
    pub retries: u64,
    /// Batches that ended in the failure store.
    pub failures: u64,
}

/// Whether the daemon runs, as its status file says; read at most once a second.
#[derive(Debug, Default)]
struct DaemonProbe {
    seen: Option<(Instant, bool)>,
}

impl DaemonProbe {
    fn alive(&mut self, spool_dir: &Path) -> bool {
        if let Some((at, alive)) = self.seen {
            if at.elapsed() < PROBE_EVERY {
                return alive;
            }
        }
        let alive = status::read_json::<status::DaemonStatus>(&spool_dir.join(status::DAEMON_STATUS))
            .is_some_and(|st| st.is_alive(DAEMON_ALIVE_WITHIN));
        self.seen = Some((Instant::now(), alive));
        alive
    }
}

/// The producer side of a process.
#[derive(Debug)]
pub struct Producer {
    rt: Runtime,
    mode: RunMode,
    daemon_process: bool,
    outbox: Option<Outbox>,
    http: Option<HttpSender>,
    probe: DaemonProbe,
    settings: SettingsCache,
    fork_generation: u64,
}

impl Default for Producer {
    fn default() -> Self {
        Self::new()
    }
}

impl HasLedger for Producer {
    fn ledger(&mut self) -> &mut Ledger {
        self.rt.ledger()
    }
}

impl HasRuntime for Producer {
    fn runtime(&mut self) -> &mut Runtime {
        &mut self.rt
    }
}

impl Producer {
    /// A producer with no job and no thread.
    pub fn new() -> Self {
        Producer {
            rt: Runtime::new(),
            mode: RunMode::Shutdown,
            daemon_process: false,
            outbox: None,
            http: None,
            probe: DaemonProbe::default(),
            settings: SettingsCache::default(),
            fork_generation: fork::generation(),
        }
    }

    /// The jobs and queues, read-only.
    pub fn jobs(&self) -> &Runtime {
        &self.rt
    }

    /// The settings cache (see [`SettingsCache::get`]).
    pub fn settings_cache(&mut self) -> &mut SettingsCache {
        &mut self.settings
    }

    /// In a child after `fork()`: the parent's threads did not come along, and their
    /// state may be locked: forget them without touching it. Forgets the parent's
    /// queues too (the parent delivers those). Cheap when nothing forked.
    #[inline]
    pub fn after_fork(&mut self) {
        let g = fork::generation();
        if g != self.fork_generation {
            self.fork_generation = g;
            std::mem::forget(self.outbox.take());
            std::mem::forget(self.http.take());
        }
        self.rt.after_fork();
    }

    /// Makes this a daemon process (master, receiver, worker, drain): it never uses
    /// the daemon runner and never reads the spool at the end of a request (that is
    /// the daemon workers' job).
    pub fn mark_daemon_process(&mut self) {
        self.daemon_process = true;
    }

    /// Whether this is a daemon process.
    pub fn is_daemon_process(&self) -> bool {
        self.daemon_process
    }

    /// This request's runner.
    pub fn mode(&self) -> RunMode {
        self.mode
    }

    /// Starts a request: its settings, and its runner (`auto` picks the daemon
    /// while its status says it runs).
    pub fn begin_request(&mut self, settings: Settings, cli: bool) {
        self.after_fork();
        self.mode = match settings.runner {
            _ if self.daemon_process => RunMode::Shutdown,
            RunnerKind::Shutdown => RunMode::Shutdown,
            // The spool runner hands off as the daemon runner does, to the spool only
            // (settings.transport says so).
            RunnerKind::Daemon | RunnerKind::Spool => RunMode::Daemon,
            RunnerKind::Auto if self.probe.alive(&settings.spool_dir) => RunMode::Daemon,
            RunnerKind::Auto => RunMode::Shutdown,
        };
        self.rt.begin_request(settings, cli);
    }

    /// Registers (or re-registers) a job for this request; `sink` when its callable
    /// is an HttpSink, whose batches are posted from Rust (the HTTP sender, the
    /// daemon), never by PHP code.
    pub fn register(&mut self, id: &[u8], config: JobConfig, sink: Option<Arc<SinkConfig>>) -> JobId {
        let j = self.rt.register(id, config);
        let Some(sink) = sink else { return j };
        self.rt.job_mut(j).sink = Some(sink);
        // The sender starts now, not at the first submit: it also posts what earlier
        // processes spooled for the job.
        if self.mode == RunMode::Shutdown {
            let _ = self.http_sender();
        }
        if let Some(sender) = self.http.as_ref().filter(|s| s.is_this_process()) {
            let job = self.rt.job(j);
            sender.set_job(j, &job.id, &job.config, job.sink.as_ref().expect("set"), &job.http);
        }
        j
    }

    /// Whether a submit to `j` goes straight in: the request's runner is ready for it
    /// (the shutdown runner's function is registered, unless the job's items go to
    /// the HTTP sender).
    #[inline]
    fn ready_for_submit(&self, j: JobId) -> bool {
        self.mode == RunMode::Daemon || self.rt.phase().is_armed() || self.rt.job(j).sink.is_some()
    }

    /// `submitItem()` in the common case, in one borrow: the item is encoded by
    /// `encode` (given the item size limit) straight into where it goes.
    #[inline]
    pub fn try_submit<E>(
        &mut self,
        id: &[u8],
        now: Tick,
        encode: impl FnOnce(&mut Vec<u8>, usize) -> Result<(), E>,
    ) -> Result<Submitted, Refused<E>> {
        self.after_fork();
        if !self.rt.in_request() {
            return Err(Refused::NotReady);
        }
        let j = self.rt.registered(id).map_err(Refused::Unknown)?;
        if !self.ready_for_submit(j) {
            return Err(Refused::NotReady);
        }
        let max = self.rt.settings().max_item_size;
        let after = self.push_with(j, now, |buf| encode(buf, max)).map_err(Refused::Encode)?;
        Ok(Submitted { job: j, after, warnings: self.rt.ledger().has_warnings() })
    }

    /// The encoding of the item just submitted to `j`, when it waits in this
    /// process for `j`'s callable (not handed to the daemon or an HttpSink): the
    /// host may keep the value it came from and give that to the callable, instead of
    /// decoding these bytes again, when the batch holds them.
    pub fn last_queued_here(&self, j: JobId) -> Option<&[u8]> {
        if self.mode == RunMode::Daemon || self.rt.job(j).sink.is_some() {
            return None;
        }
        self.rt.last_queued(j)
    }

    /// Queues an item encoded apart (one whose encoding ran PHP code).
    pub fn push_encoded(&mut self, j: JobId, item: &[u8], now: Tick) -> Submitted {
        let after = self
            .push_with::<()>(j, now, |buf| {
                buf.extend_from_slice(item);
                Ok(())
            })
            .unwrap_or(AfterPush::Queued);
        Submitted { job: j, after, warnings: self.rt.ledger().has_warnings() }
    }

    /// Routes one item: to the daemon's outbox, the HTTP sender, or the job's queue.
    /// A background queue at the job's memory cap goes to the spool.
    #[inline]
    fn push_with<E>(
        &mut self,
        j: JobId,
        now: Tick,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<AfterPush, E> {
        if self.mode == RunMode::Daemon {
            if self.outbox().is_ok() {
                let outbox = self.outbox.as_ref().expect("started");
                let len = outbox.push_with(j, &self.rt.job(j).id, now, encode)?;
                if handed_off(&mut self.rt, j, len) {
                    let batch = outbox.take(j);
                    self.rt.ledger().spool_batch(j, &batch);
                }
                return Ok(AfterPush::Queued);
            }
            // No thread could be started: deliver as the shutdown runner would.
            self.mode = RunMode::Shutdown;
        }
        if self.rt.job(j).sink.is_some() && self.http_sender().is_ok() {
            let sender = self.http.as_ref().expect("started");
            let len = sender.push_with(j, now, encode)?;
            if handed_off(&mut self.rt, j, len) {
                let batch = sender.take(j);
                self.rt.ledger().spool_batch(j, &batch);
            }
            return Ok(AfterPush::Queued);
        }
        self.rt.push_with(j, now, encode)
    }

    /// The process's outbox (daemon mode), its sender thread started on first use.
    fn outbox(&mut self) -> std::io::Result<&Outbox> {
        self.after_fork();
        if self.outbox.is_none() {
            let s = self.rt.settings();
            let transport = match s.transport {
                TransportKind::Sysv => Transport::Sysv { key: s.queue_key, mode: s.queue_mode },
                TransportKind::Spool => Transport::Spool,
            };
            let config = OutboxConfig {
                transport,
                spool_dir: s.spool_dir.clone(),
                default_base: s.default_base.clone(),
            };
            self.outbox = Some(Outbox::start(config)?);
        }
        Ok(self.outbox.as_ref().expect("started"))
    }

    /// The process's HTTP sender, its thread started on first use; it learns every
    /// sink job of the process.
    fn http_sender(&mut self) -> std::io::Result<&HttpSender> {
        self.after_fork();
        if self.http.is_none() {
            let sender = HttpSender::start(DiskConfig::from(self.rt.settings()))?;
            for j in self.rt.all_jobs() {
                let job = self.rt.job(j);
                if let Some(sink) = &job.sink {
                    sender.set_job(j, &job.id, &job.config, sink, &job.http);
                }
            }
            self.http = Some(sender);
        }
        Ok(self.http.as_ref().expect("started"))
    }

    fn live_outbox(&self) -> Option<&Outbox> {
        self.outbox.as_ref().filter(|o| o.is_this_process())
    }

    fn live_http(&self) -> Option<&HttpSender> {
        self.http.as_ref().filter(|s| s.is_this_process())
    }

    /// Whether the HTTP sender of this process posts `j`'s spooled segments (so a
    /// delivery in the PHP thread leaves them alone).
    fn sender_posts_spool_of(&self, j: JobId) -> bool {
        self.rt.job(j).sink.is_some() && self.live_http().is_some()
    }

    /// Which of `jobs` a delivery in the PHP thread reads the spool for: none in a
    /// daemon process (the daemon workers do), no HttpSink job the sender posts.
    pub fn spool_readers(&self, jobs: &[JobId]) -> Vec<JobId> {
        if self.daemon_process {
            return Vec::new();
        }
        jobs.iter().copied().filter(|&j| !self.sender_posts_spool_of(j)).collect()
    }

    /// Whether a delivery at shutdown has work: a registered job (not one the HTTP
    /// sender posts) with items queued or spooled.
    pub fn has_pending_work(&mut self) -> bool {
        let jobs: Vec<JobId> =
            self.rt.registered_jobs().iter().copied().filter(|&j| !self.sender_posts_spool_of(j)).collect();
        if self.rt.has_queued(&jobs) {
            return true;
        }
        let readers = self.spool_readers(&jobs);
        readers.iter().any(|&j| self.rt.ledger().spooled_segments(j).is_ok_and(|s| !s.is_empty()))
    }

    /// The jobs `flush(id)` or `retryFailed(id)` acts on: the one named, or every job
    /// registered in this request.
    pub fn jobs_for(&self, id: Option<&[u8]>) -> Result<Vec<JobId>, UnknownJob> {
        match id {
            Some(id) => Ok(vec![self.rt.registered(id)?]),
            None => Ok(self.rt.registered_jobs().to_vec()),
        }
    }

    /// What the background threads left to say: warnings (each reason once per
    /// process) and log lines.
    pub fn take_thread_messages(&mut self) -> (Vec<String>, Vec<String>) {
        let from_outbox = self.live_outbox().map(Outbox::take_warnings).unwrap_or_default();
        let logs = self.live_http().map(HttpSender::take_logs).unwrap_or_default();
        let notices = self.rt.ledger().notices();
        let warnings =
            from_outbox.into_iter().filter(|(key, _)| notices.first_time(key)).map(|(_, m)| m).collect();
        (warnings, logs)
    }

    /// `stats()`: every job of the process, with what the background threads did
    /// for it. A forked child reports none of what its parent holds.
    pub fn stats(&mut self) -> Vec<JobReport> {
        self.after_fork();
        let outbox = self.live_outbox();
        let http = self.live_http();
        self.rt
            .all_jobs()
            .into_iter()
            .map(|j| {
                let job = self.rt.job(j);
                let mut stats = job.stats.clone();
                let mut queued = self.rt.queued(j) as u64;
                // Daemon mode: what the sender thread did for this job in this process.
                if let Some(o) = outbox {
                    let (waiting, c) = o.job_state(j);
                    queued += waiting as u64;
                    stats.spooled += c.spooled;
                    stats.dropped += c.dropped;
                    if c.last_error.is_some() {
                        stats.last_error = c.last_error;
                    }
                }
                // HttpSink jobs: what the HTTP sender delivered for it.
                if let Some((waiting, t)) = http.and_then(|h| h.job_state(j)) {
                    queued += waiting as u64;
                    stats.absorb(&t);
                }
                let http = job.sink.is_some().then(|| HttpReport {
                    counts: job.http.snapshot(),
                    retries: stats.retries,
                    failures: stats.failed_batches,
                });
                JobReport { id: job.id.clone(), stats, queued, http }
            })
            .collect()
    }

    /// Ends the request (RSHUTDOWN): what is still queued goes to the spool. Returns
    /// warnings to log (no PHP code may run now).
    pub fn end_request(&mut self) -> Vec<String> {
        self.rt.end_request()
    }

    /// Process exit (MSHUTDOWN): the journal files kept between runs go; the
    /// background threads get the exit timeout to hand off or post what they hold;
    /// the rest is written to the spool. `settings` gives the timeout when no
    /// request is under way. Returns the lines to log.
    pub fn end_process(&mut self, settings: &Settings) -> Vec<String> {
        self.rt.remove_journal_files();
        self.after_fork();
        if self.outbox.is_none() && self.http.is_none() {
            return Vec::new();
        }
        let timeout =
            if self.rt.in_request() { self.rt.settings().exit_timeout } else { settings.exit_timeout };
        // Both get the whole timeout: they work side by side.
        let deadline = Instant::now() + timeout;
        let mut lines = Vec::new();
        if let Some(outbox) = self.outbox.take() {
            for (key, w) in outbox.shutdown(timeout) {
                // Once per reason, as during requests.
                if self.rt.ledger().first_time(&key) {
                    lines.push(w);
                }
            }
        }
        if let Some(http) = self.http.take() {
            lines.extend(http.shutdown(deadline.saturating_duration_since(Instant::now())));
        }
        lines
    }

    /// Hands what `jobs` hold in background threads over now: to the daemon
    /// (`Some(items handed)`: nothing else to do), or posted by the HTTP sender
    /// (`None`, with the items it delivered added to `delivered`).
    fn flush_threads(&self, jobs: &[JobId], delivered: &mut u64) -> Option<u64> {
        if self.mode == RunMode::Daemon {
            let timeout = self.rt.settings().exit_timeout;
            return Some(self.live_outbox().map_or(0, |o| o.flush(timeout)));
        }
        let sinks: Vec<JobId> = jobs.iter().copied().filter(|&j| self.rt.job(j).sink.is_some()).collect();
        if let (Some(sender), false) = (self.live_http(), sinks.is_empty()) {
            *delivered += sender.flush(&sinks);
        }
        None
    }
}

/// Counts an item handed to a background thread, whose queue of the job is now
/// `len` long; true at the job's memory cap (the thread is not keeping up: its
/// queue goes to the spool).
fn handed_off(rt: &mut Runtime, j: JobId, len: usize) -> bool {
    let job = rt.job_mut(j);
    job.stats.submitted += 1;
    len >= job.config.max_queue_size
}

/// Starts the request's state at its first API call.
pub fn ensure_request<S: Sapi>(host: &S) {
    if host.with(|p| p.rt.in_request()) {
        return;
    }
    let (settings, warnings) = host.settings();
    let cli = host.is_cli();
    let warnings: Vec<String> = host.with(|p| {
        p.begin_request(settings, cli);
        warnings.into_iter().filter(|w| p.rt.ledger().first_time(w)).collect()
    });
    for w in warnings {
        host.warn(&w);
    }
    raise_thread_messages(host);
}

/// Registers the shutdown function when this request's runner needs it and it is
/// not registered: a request whose jobs are all HttpSinks never does (their items
/// are posted by the HTTP sender), so it pays nothing at its end.
pub fn arm<S: Sapi>(host: &S) {
    let next = host.with(|p| {
        let phase = p.rt.phase();
        (p.mode == RunMode::Shutdown).then(|| phase.armed().map(|next| (phase, next))).flatten()
    });
    if let Some((phase, next)) = next {
        host.with(|p| p.rt.set_phase(next));
        if !host.register_shutdown_function() {
            host.with(|p| p.rt.set_phase(phase));
        }
    }
}

/// Raises what the background threads wanted said: the daemon runner's sender's
/// warnings (once per reason), the HTTP sender's log lines.
pub fn raise_thread_messages<S: Sapi>(host: &S) {
    let (warnings, logs) = host.with(Producer::take_thread_messages);
    for w in warnings {
        host.warn(&w);
    }
    for line in logs {
        host.log(&line);
    }
}

/// `registerAsyncJob()`, its config checked.
pub fn register<S: Sapi>(host: &S, id: &[u8], config: JobConfig, sink: Option<Arc<SinkConfig>>) -> JobId {
    ensure_request(host);
    let is_sink = sink.is_some();
    let j = host.with(|p| p.register(id, config, sink));
    if !is_sink {
        arm(host);
    }
    j
}

/// Sets the request up for a submit to `id` that [`Producer::try_submit`] refused as
/// not ready, or whose item needs PHP code to encode; returns the job and the item
/// size limit.
pub fn prepare_submit<S: Sapi>(host: &S, id: &[u8]) -> Result<(JobId, usize), UnknownJob> {
    ensure_request(host);
    if host.with(|p| p.rt.registered(id).is_ok_and(|j| p.rt.job(j).sink.is_none())) {
        arm(host);
    }
    host.with(|p| Ok((p.rt.registered(id)?, p.rt.settings().max_item_size)))
}

/// After a submit: raises its warnings, and delivers a batch that is due (CLI).
#[inline]
pub fn after_submit<S: Sapi>(host: &S, s: Submitted) {
    if s.warnings {
        delivery::raise_warnings(host);
    }
    if s.after == AfterPush::Due {
        delivery::deliver(host, &[s.job], &[], Mode::Due);
    }
}

/// `flush()`: delivers now; in daemon mode, hands what is queued to the daemon now
/// and returns how many items that was.
pub fn flush<S: Sapi>(host: &S, id: Option<&[u8]>) -> Result<u64, UnknownJob> {
    ensure_request(host);
    arm(host);
    let jobs = host.with(|p| p.jobs_for(id))?;
    let mut delivered = 0;
    if let Some(handed) = host.with(|p| p.flush_threads(&jobs, &mut delivered)) {
        raise_thread_messages(host);
        return Ok(handed);
    }
    let spool = host.with(|p| p.spool_readers(&jobs));
    delivered += delivery::deliver(host, &jobs, &spool, Mode::Flush).delivered;
    raise_thread_messages(host);
    Ok(delivered)
}

/// `endRequest()`: what the end of a php-fpm request does, for a long-running
/// worker whose requests do not end PHP's (the framework calls it once the
/// response is sent): every job's spooled segments, then its queue, delivered
/// within `asyncbatch.shutdown_budget` counted from now; what the budget leaves is
/// spooled, for the next call. Items with a background thread (an HttpSink) are
/// that thread's, which delivers them idle worker or not; under the daemon and
/// spool runners what is queued is handed over now (to the queue, the spool), as a
/// php-fpm worker's exit would. From the first call on, a due batch waits for the
/// next call instead of being delivered at the `submitItem()` that finds it due.
/// Returns the items delivered.
pub fn end_of_request<S: Sapi>(host: &S) -> u64 {
    ensure_request(host);
    arm(host);
    let Some((jobs, spool)) = host.with(|p| {
        if p.mode == RunMode::Daemon {
            let timeout = p.rt.settings().exit_timeout;
            if let Some(o) = p.live_outbox() {
                o.flush(timeout);
            }
        }
        (p.mode != RunMode::Daemon).then(|| {
            p.rt.end_worker_request();
            let jobs = p.rt.registered_jobs().to_vec();
            let spool = p.spool_readers(&jobs);
            (jobs, spool)
        })
    }) else {
        return 0;
    };
    let delivered = delivery::deliver(host, &jobs, &spool, Mode::Shutdown).delivered;
    raise_thread_messages(host);
    delivered
}

/// `retryFailed()`.
pub fn retry_failed<S: Sapi>(host: &S, id: Option<&[u8]>) -> Result<u64, ApiError> {
    ensure_request(host);
    let jobs = host.with(|p| p.jobs_for(id))?;
    Ok(delivery::retry_failed(host, &jobs)?)
}

/// The extension's shutdown function: the first run puts it after the shutdown
/// functions registered since; the next releases the client and delivers.
pub fn run_shutdown_function<S: Sapi>(host: &S) {
    let step = host.with(|p| {
        if !p.rt.in_request() {
            return HookStep::Nothing;
        }
        let (next, step) = p.rt.phase().run();
        p.rt.set_phase(next);
        step
    });
    match step {
        HookStep::Nothing => {}
        HookStep::Defer => {
            if !host.register_shutdown_function() {
                host.with(|p| p.rt.set_phase(ShutdownPhase::Done));
            }
        }
        HookStep::Deliver => {
            if host.with(|p| p.rt.settings().finish_request && p.has_pending_work()) {
                host.finish_request();
            }
            // What callables submit meanwhile does not register this function again
            // (a callable that always submits would loop): it waits in the spool for
            // the next request.
            let (jobs, spool) = host.with(|p| {
                let jobs = p.rt.registered_jobs().to_vec();
                let spool = p.spool_readers(&jobs);
                (jobs, spool)
            });
            delivery::deliver(host, &jobs, &spool, Mode::Shutdown);
            host.with(|p| p.rt.set_phase(ShutdownPhase::Done));
        }
    }
}

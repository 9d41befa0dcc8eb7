//! The per-process state of the shutdown runner: jobs (config, queue, counters),
//! the request's registrations, and the spool and failure store it opens lazily.
//!
//! Nothing here calls PHP. The extension keeps one `Runtime` per process and only
//! borrows it between PHP calls, so a callable may submit items, register jobs or
//! even end the process (a fatal error skips the Rust frames in between) and the
//! state stays whole: an in-flight batch is held here, not on the delivering stack.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::batch::{Batch, ItemQueue};
use crate::budget::EstimatedDuration;
use crate::clock::Tick;
use crate::config::JobConfig;
use crate::failure_store::{ClaimedFailure, FailureRecord, FailureStore};
use crate::fork;
use crate::http::client::HttpCounters;
use crate::http::config::SinkConfig;
use crate::http::sender::HttpSender;
use crate::item::printable_id;
use crate::naming;
use crate::outbox::{Outbox, OutboxConfig, Transport};
use crate::retry::Rng;
use crate::secure_fs::{self, StorageError};
use crate::settings::{Settings, TransportKind};
use crate::spool::{Claimed, Journal, JournalFile, Spool};
use crate::stats::JobStats;

/// The once-per-process key of a spool write failure: one warning per reason, however
/// many items and whichever thread hit it.
pub fn spool_warning_key(e: &StorageError) -> String {
    match e {
        // Not the path: every failed write names a new file.
        StorageError::Io { op, source, .. } => format!("spool:{op}:{}", source.kind()),
        other => format!("spool:{other}"),
    }
}

/// "1 item", "2 items".
fn items(n: u64) -> String {
    if n == 1 {
        "1 item".into()
    } else {
        format!("{n} items")
    }
}

/// Which runner this request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunMode {
    /// Deliver in this process at the end of the request.
    #[default]
    Shutdown,
    /// Hand items to the daemon.
    Daemon,
}

/// Index of a job in the process; stable for the life of the process.
pub type JobId = usize;

/// A job known to this process.
#[derive(Debug)]
pub struct Job {
    /// The identifier.
    pub id: Vec<u8>,
    /// Its file-name routing key.
    pub key: String,
    /// The config of its latest registration.
    pub config: JobConfig,
    /// Items waiting in memory.
    pub queue: ItemQueue,
    /// Counters.
    pub stats: JobStats,
    /// Moving average of its batch durations.
    pub estimate: EstimatedDuration,
    /// Items a delivery took from the queue, written ahead to the spool, until
    /// each is delivered or stored.
    pub journaled: Option<Journaled>,
    /// Its journal file between runs, emptied, for the next run to write over.
    pub journal_file: Option<JournalFile>,
    /// The HTTP sink it posts to, when its callable is an `AsyncBatch\HttpSink`.
    pub sink: Option<Arc<SinkConfig>>,
    /// Its HTTP counters (for the life of the process, across registrations).
    pub http: Arc<HttpCounters>,
    registered: bool,
}

impl Job {
    /// Identifier for messages.
    pub fn name(&self) -> String {
        printable_id(&self.id)
    }
}

/// Items a delivery run took from a job's queue: on disk in a journal before any
/// callable sees them, and taken out of it batch by batch as each is delivered or
/// stored. What is left when the request ends was cut short by `exit()`, a fatal
/// error or a kill: it stays in the journal for the next reader.
#[derive(Debug)]
pub struct Journaled {
    /// The items not done yet, in order; the first batch may be in flight.
    pub items: Batch,
    /// When the oldest of them was queued.
    pub at: Tick,
    /// The journal; `None` when it could not be written (the items then live in
    /// memory only, as they did before).
    pub journal: Option<Journal>,
    /// The delivery run that took them ([`Runtime::runs`]).
    pub run: u64,
}

/// What `submit` asks of the caller.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterPush {
    /// Nothing: the item waits.
    Queued,
    /// A batch is due (CLI): deliver the job now.
    Due,
}

/// Something a delivery holds while PHP code runs, kept here so the end of the
/// request can let go of it even if that code never returned.
#[derive(Debug)]
pub enum Held {
    /// A claimed spool segment.
    Segment(Claimed),
    /// A claimed failure file.
    Failure(ClaimedFailure),
}

/// Where the runner's own shutdown function stands in this request.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownState {
    /// A registration is waiting to run.
    pub pending: bool,
    /// It already ran once and put itself last.
    pub deferred: bool,
    /// A delivery run started at this moment.
    pub delivery_started: Option<std::time::Instant>,
    /// Calls made since; the first batch always starts, whatever the budget.
    pub batches: u64,
}

/// The per-process state.
#[derive(Debug)]
pub struct Runtime {
    jobs: Vec<Job>,
    index: HashMap<Vec<u8>, JobId, rustc_hash::FxBuildHasher>,
    order: Vec<JobId>,
    settings: Option<Settings>,
    spool: Option<Spool>,
    failures: Option<FailureStore>,
    held: HashMap<u64, Held>,
    next_ticket: u64,
    warned: HashSet<String>,
    pending_warnings: Vec<String>,
    /// The shutdown function's state in this request.
    pub shutdown: ShutdownState,
    /// True in the CLI SAPI: due batches are delivered at `submitItem`.
    pub cli: bool,
    /// A delivery is running (callables must not trigger another).
    pub delivering: bool,
    /// Delivery runs so far in this process; numbers [`Journaled::run`].
    pub runs: u64,
    /// Jitter for backoff.
    pub rng: Rng,
    /// This request's runner.
    pub mode: RunMode,
    /// A daemon process (master, receiver, worker, drain): it never reads the spool
    /// at the end of a request, that is the workers' job.
    pub daemon_process: bool,
    outbox: Option<Arc<Outbox>>,
    http_sender: Option<Arc<HttpSender>>,
    fork_generation: u64,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    /// An empty runtime.
    pub fn new() -> Self {
        Runtime {
            jobs: Vec::new(),
            index: HashMap::default(),
            order: Vec::new(),
            settings: None,
            spool: None,
            failures: None,
            held: HashMap::new(),
            next_ticket: 0,
            warned: HashSet::new(),
            pending_warnings: Vec::new(),
            shutdown: ShutdownState::default(),
            cli: false,
            delivering: false,
            runs: 0,
            rng: Rng::from_entropy(),
            mode: RunMode::Shutdown,
            daemon_process: false,
            outbox: None,
            http_sender: None,
            fork_generation: fork::generation(),
        }
    }

    /// In a child after `fork()`: forgets what the parent holds (its queues, its
    /// outbox, its claims): the parent delivers those. Cheap when nothing forked.
    #[inline]
    pub fn after_fork(&mut self) {
        let g = fork::generation();
        if g == self.fork_generation {
            return;
        }
        self.fork_generation = g;
        for job in &mut self.jobs {
            job.queue = ItemQueue::new();
            // The parent's journal files are the parent's: close them, touch nothing.
            if let Some(journal) = job.journaled.take().and_then(|jr| jr.journal) {
                journal.keep();
            }
            job.journal_file = None;
        }
        // The parent's threads did not come along; their state may be locked.
        std::mem::forget(self.outbox.take());
        std::mem::forget(self.http_sender.take());
        self.held.clear();
        self.rng = Rng::from_entropy();
    }

    /// Whether a request is under way (the first API call of a request starts one).
    pub fn in_request(&self) -> bool {
        self.settings.is_some()
    }

    /// Starts a request with its settings.
    pub fn begin_request(&mut self, settings: Settings, cli: bool) {
        self.begin_request_in(settings, cli, RunMode::Shutdown);
    }

    /// Starts a request with its settings and runner.
    pub fn begin_request_in(&mut self, settings: Settings, cli: bool, mode: RunMode) {
        self.after_fork();
        self.settings = Some(settings);
        self.cli = cli;
        self.mode = if self.daemon_process { RunMode::Shutdown } else { mode };
        self.shutdown = ShutdownState::default();
    }

    /// Whether `submitItem` for job `j` can go straight in: the request is set up,
    /// and its runner's needs are met (the shutdown runner's function is registered,
    /// unless the job's items go to the HTTP sender).
    #[inline]
    pub fn ready_for_submit(&self, j: JobId) -> bool {
        self.settings.is_some()
            && (self.mode == RunMode::Daemon || self.shutdown.pending || self.jobs[j].sink.is_some())
    }

    /// The process's outbox (daemon mode), its sender thread started on first use.
    pub fn outbox(&mut self) -> std::io::Result<Arc<Outbox>> {
        self.after_fork();
        if let Some(o) = &self.outbox {
            return Ok(Arc::clone(o));
        }
        let s = self.settings();
        let transport = match s.transport {
            TransportKind::Sysv => Transport::Sysv { key: s.queue_key, mode: s.queue_mode },
            TransportKind::Spool => Transport::Spool,
        };
        let config =
            OutboxConfig { transport, spool_dir: s.spool_dir.clone(), default_base: s.default_base.clone() };
        let o = Outbox::start(config)?;
        self.outbox = Some(Arc::clone(&o));
        Ok(o)
    }

    /// The outbox if one was started in this process.
    pub fn existing_outbox(&self) -> Option<&Arc<Outbox>> {
        self.outbox.as_ref().filter(|o| o.is_this_process())
    }

    /// This request's settings.
    pub fn settings(&self) -> &Settings {
        self.settings.as_ref().expect("settings are resolved at the first API call of a request")
    }

    /// Registers (or re-registers) a job for this request.
    pub fn register(&mut self, id: &[u8], config: JobConfig) -> JobId {
        let job = match self.index.get(id) {
            Some(&j) => j,
            None => {
                let j = self.jobs.len();
                self.jobs.push(Job {
                    id: id.to_vec(),
                    key: naming::jobkey(id),
                    config: config.clone(),
                    queue: ItemQueue::new(),
                    stats: JobStats::default(),
                    estimate: EstimatedDuration::default(),
                    journaled: None,
                    journal_file: None,
                    sink: None,
                    http: Arc::default(),
                    registered: false,
                });
                self.index.insert(id.to_vec(), j);
                j
            }
        };
        let entry = &mut self.jobs[job];
        entry.config = config;
        entry.sink = None;
        if !entry.registered {
            entry.registered = true;
            self.order.push(job);
        }
        job
    }

    /// Registers a job whose callable is an HTTP sink: its batches are posted from
    /// Rust (the HTTP sender thread, the daemon), never by PHP code.
    pub fn register_sink(&mut self, id: &[u8], config: JobConfig, sink: SinkConfig) -> JobId {
        let j = self.register(id, config);
        self.jobs[j].sink = Some(Arc::new(sink));
        // The sender starts now, not at the first submit: it also posts what earlier
        // processes spooled for the job.
        if self.mode == RunMode::Shutdown {
            let _ = self.http_sender();
        }
        if let Some(sender) = self.existing_http_sender() {
            let job = &self.jobs[j];
            sender.set_job(
                j,
                &job.id,
                job.config.clone(),
                Arc::clone(job.sink.as_ref().expect("set")),
                Arc::clone(&job.http),
            );
        }
        j
    }

    /// The process's HTTP sender, its thread started on first use; it learns every
    /// sink job of the process.
    pub fn http_sender(&mut self) -> std::io::Result<Arc<HttpSender>> {
        self.after_fork();
        if let Some(s) = &self.http_sender {
            return Ok(Arc::clone(s));
        }
        let sender = HttpSender::start(self.settings().clone())?;
        for (j, job) in self.jobs.iter().enumerate() {
            if let Some(sink) = &job.sink {
                sender.set_job(j, &job.id, job.config.clone(), Arc::clone(sink), Arc::clone(&job.http));
            }
        }
        self.http_sender = Some(Arc::clone(&sender));
        Ok(sender)
    }

    /// The HTTP sender if one was started in this process.
    pub fn existing_http_sender(&self) -> Option<&Arc<HttpSender>> {
        self.http_sender.as_ref().filter(|s| s.is_this_process())
    }

    /// The job registered in this request under `id`.
    pub fn registered(&self, id: &[u8]) -> Option<JobId> {
        self.index.get(id).copied().filter(|&j| self.jobs[j].registered)
    }

    /// Jobs registered in this request, in registration order.
    pub fn registered_jobs(&self) -> &[JobId] {
        &self.order
    }

    /// Every job of the process: this request's first, in registration order.
    pub fn all_jobs(&self) -> Vec<JobId> {
        let mut all = self.order.clone();
        all.extend((0..self.jobs.len()).filter(|j| !self.jobs[*j].registered));
        all
    }

    /// A job.
    pub fn job(&self, j: JobId) -> &Job {
        &self.jobs[j]
    }

    /// A job, mutably.
    pub fn job_mut(&mut self, j: JobId) -> &mut Job {
        &mut self.jobs[j]
    }

    /// Queues one encoded item.
    pub fn push(&mut self, j: JobId, item: &[u8], now: Tick) -> AfterPush {
        self.push_with::<()>(j, now, |buf| {
            buf.extend_from_slice(item);
            Ok(())
        })
        .expect("copying cannot fail")
    }

    /// Queues one item that `encode` writes straight into the job's queue; when it
    /// fails nothing is queued and no counter moves.
    #[inline]
    pub fn push_with<E>(
        &mut self,
        j: JobId,
        now: Tick,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<AfterPush, E> {
        if self.mode == RunMode::Daemon {
            if let Ok(outbox) = self.outbox() {
                let len = outbox.push_with(j, &self.jobs[j].id, now, encode)?;
                self.jobs[j].stats.submitted += 1;
                // The sender is not keeping up: do not hold more in memory.
                if len >= self.jobs[j].config.max_queue_size {
                    let batch = outbox.take(j);
                    self.spool_batch(j, &batch);
                }
                return Ok(AfterPush::Queued);
            }
            // No thread could be started: deliver as the shutdown runner would.
            self.mode = RunMode::Shutdown;
        }
        if self.jobs[j].sink.is_some() {
            if let Ok(sender) = self.http_sender() {
                let len = sender.push_with(j, now, encode)?;
                self.jobs[j].stats.submitted += 1;
                if len >= self.jobs[j].config.max_queue_size {
                    let batch = sender.take(j);
                    self.spool_batch(j, &batch);
                }
                return Ok(AfterPush::Queued);
            }
        }
        let cli = self.cli;
        let delivering = self.delivering;
        let job = &mut self.jobs[j];
        job.queue.push_with(now, encode)?;
        job.stats.submitted += 1;
        let len = job.queue.len();
        if cli && !delivering && (len >= job.config.batch_size || self.period_passed(j, now)) {
            return Ok(AfterPush::Due);
        }
        if len >= self.jobs[j].config.max_queue_size {
            self.spill(j);
        }
        Ok(AfterPush::Queued)
    }

    fn period_passed(&self, j: JobId, now: Tick) -> bool {
        let job = &self.jobs[j];
        job.queue.oldest_at().is_some_and(|t| now.saturating_sub(t) >= job.config.call_period)
    }

    /// How many queued items of `j` a CLI delivery takes now: the full batches, or
    /// everything once the oldest item has waited `callPeriod`.
    pub fn due_items(&self, j: JobId, now: Tick) -> usize {
        let len = self.jobs[j].queue.len();
        if self.period_passed(j, now) {
            len
        } else {
            len - len % self.jobs[j].config.batch_size
        }
    }

    /// Writes a job's whole queue to the spool (memory cap reached, or end of request).
    pub fn spill(&mut self, j: JobId) {
        let batch = self.jobs[j].queue.take_all();
        self.spool_batch(j, &batch)
    }

    /// Writes items of `j` to a new spool segment; on failure counts them dropped and
    /// queues a warning (each reason once per process) for [`Runtime::take_warnings`].
    pub fn spool_batch(&mut self, j: JobId, batch: &Batch) {
        if batch.is_empty() {
            return;
        }
        let key = self.jobs[j].key.clone();
        let id = self.jobs[j].id.clone();
        let result = self.spool().and_then(|s| s.write(&key, &[(&id, batch)]));
        let job = &mut self.jobs[j];
        match result {
            Ok(_) => job.stats.spooled += batch.len() as u64,
            Err(e) => {
                job.stats.dropped += batch.len() as u64;
                let why = e.to_string();
                let msg = format!(
                    "asyncbatch: cannot write to the spool: {why}; {} items for job '{}' dropped",
                    batch.len(),
                    job.name()
                );
                job.stats.last_error = Some(msg.clone());
                if self.warned.insert(spool_warning_key(&e)) {
                    self.pending_warnings.push(msg);
                }
            }
        }
    }

    /// The spool of this request's settings, opened (and checked) on first use.
    pub fn spool(&mut self) -> Result<&mut Spool, StorageError> {
        let dir = self.settings().spool_dir.clone();
        if self.spool.as_ref().is_none_or(|s| s.dir() != dir) {
            self.check_default_base()?;
            self.spool = Some(Spool::open(&dir)?);
        }
        Ok(self.spool.as_mut().expect("just opened"))
    }

    /// The failure store of this request's settings, opened on first use.
    pub fn failure_store(&mut self) -> Result<&mut FailureStore, StorageError> {
        let dir = self.settings().failure_dir.clone();
        let cap = self.settings().failure_cap_bytes;
        if self.failures.as_ref().is_none_or(|s| s.dir() != dir) {
            self.check_default_base()?;
            self.failures = Some(FailureStore::open(&dir, cap)?);
        }
        Ok(self.failures.as_mut().expect("just opened"))
    }

    fn check_default_base(&self) -> Result<(), StorageError> {
        match &self.settings().default_base {
            Some(base) => secure_fs::ensure_private_dir(base, "directory"),
            None => Ok(()),
        }
    }

    /// Ready spool segments that may hold items of `j` (its own, and those of several
    /// jobs), oldest first.
    pub fn spooled_segments(&mut self, j: JobId) -> Result<Vec<PathBuf>, StorageError> {
        let key = vec![self.jobs[j].key.clone(), naming::MIXED_JOBKEY.to_string()];
        // Do not create the directory just to find it empty.
        if !self.settings().spool_dir.exists() {
            return Ok(Vec::new());
        }
        self.spool()?.ready(Some(&key))
    }

    /// Whether any registered job has queued items or spooled segments.
    pub fn has_pending_work(&mut self) -> bool {
        // HttpSink jobs' items, queued or spooled, are the HTTP sender's.
        let order: Vec<JobId> =
            self.order.iter().copied().filter(|&j| !self.spool_is_the_senders(j)).collect();
        if order.iter().any(|&j| !self.jobs[j].queue.is_empty()) {
            return true;
        }
        order.iter().any(|&j| self.spooled_segments(j).is_ok_and(|s| !s.is_empty()))
    }

    /// Whether the HTTP sender of this process posts `j`'s spooled segments (so the
    /// end of a request leaves them alone).
    pub fn spool_is_the_senders(&self, j: JobId) -> bool {
        self.jobs[j].sink.is_some() && self.existing_http_sender().is_some()
    }

    /// Stores a failed batch; on refusal counts it dropped. Returns the message to
    /// log, if any.
    pub fn store_failure(&mut self, j: JobId, record: &FailureRecord) -> Option<String> {
        let n = record.items.len() as u64;
        let result = self.failure_store().and_then(|s| s.store(record));
        let job = &mut self.jobs[j];
        match result {
            Ok(path) => {
                job.stats.persisted += n;
                Some(format!(
                    "asyncbatch: job '{}': a batch of {} failed {} times ({}); stored in {}",
                    job.name(),
                    items(n),
                    record.attempts,
                    record.last_error,
                    path.display()
                ))
            }
            Err(e) => {
                job.stats.dropped += n;
                let msg = match &e {
                    StorageError::Full { .. } => format!(
                        "asyncbatch: {e}; dropped a failed batch of {n} items for job '{}'",
                        job.name()
                    ),
                    _ => format!(
                        "asyncbatch: cannot store a failed batch: {e}; dropped {n} items for job '{}'",
                        job.name()
                    ),
                };
                job.stats.last_error = Some(msg.clone());
                Some(msg)
            }
        }
    }

    /// Keeps something a delivery holds while PHP runs; returns its ticket.
    pub fn hold(&mut self, h: Held) -> u64 {
        self.next_ticket += 1;
        self.held.insert(self.next_ticket, h);
        self.next_ticket
    }

    /// Records progress on a held segment (see [`Claimed::record_progress`]).
    pub fn record_progress(&mut self, ticket: u64, n: u64) -> Result<(), StorageError> {
        match self.held.get_mut(&ticket) {
            Some(Held::Segment(claimed)) => claimed.record_progress(n),
            _ => Ok(()),
        }
    }

    /// Takes back what [`Runtime::hold`] kept.
    pub fn unhold(&mut self, ticket: u64) -> Option<Held> {
        self.held.remove(&ticket)
    }

    /// Whether warnings wait to be raised.
    pub fn has_warnings(&self) -> bool {
        !self.pending_warnings.is_empty()
    }

    /// Warnings queued since the last call, for the embedder to raise.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.pending_warnings)
    }

    /// Records a warning key; true the first time in this process.
    pub fn first_time(&mut self, key: &str) -> bool {
        self.warned.insert(key.to_string())
    }

    /// Whether `j` has journaled items of the current delivery run.
    pub fn has_journal_of_this_run(&self, j: JobId) -> bool {
        self.jobs[j].journaled.as_ref().is_some_and(|jr| jr.run == self.runs)
    }

    /// Takes up to `n` of `j`'s queued items for the current delivery run and writes
    /// them to a journal first. False when there is nothing to take, or when items
    /// of an earlier run are still journaled (a callable that ended the script:
    /// they are not offered again in this process).
    pub fn journal_queue(&mut self, j: JobId, n: usize, now: Tick) -> bool {
        if n == 0 || self.jobs[j].queue.is_empty() || self.jobs[j].journaled.is_some() {
            return false;
        }
        let at = self.jobs[j].queue.oldest_at().unwrap_or(now);
        let items = self.jobs[j].queue.take(n);
        let (key, id) = (self.jobs[j].key.clone(), self.jobs[j].id.clone());
        let reuse = self.jobs[j].journal_file.take();
        let journal = match self.spool().and_then(|s| s.journal(&key, &id, &items, reuse)) {
            Ok(journal) => Some(journal),
            Err(e) => {
                // Delivery goes on from memory; only a crash could lose them now.
                // Its own key: it must not silence a later warning about drops.
                if self.warned.insert(format!("journal {}", spool_warning_key(&e))) {
                    self.pending_warnings.push(format!(
                        "asyncbatch: cannot write to the spool: {e}; job '{}' is delivered without its journal",
                        self.jobs[j].name()
                    ));
                }
                None
            }
        };
        self.jobs[j].journaled = Some(Journaled { items, at, journal, run: self.runs });
        true
    }

    /// The next batch of `j`'s journaled items (they stay journaled until
    /// [`Runtime::journal_done`]).
    pub fn journal_front(&self, j: JobId) -> Option<Batch> {
        let jr = self.jobs[j].journaled.as_ref()?;
        let n = self.jobs[j].config.batch_size.min(jr.items.len());
        (n > 0).then(|| {
            let mut front = Batch::new();
            jr.items.iter().take(n).for_each(|item| front.push(item));
            front
        })
    }

    /// The first `n` journaled items of `j` are delivered or stored.
    pub fn journal_done(&mut self, j: JobId, n: usize) {
        let Some(jr) = self.jobs[j].journaled.as_mut() else { return };
        jr.items.split_front(n);
        let recorded = jr.journal.as_mut().map(|journal| journal.record_done(n as u64));
        if let Some(Err(e)) = recorded {
            // Without progress a crash would deliver the done batches again: no loss.
            if self.warned.insert(format!("progress {}", spool_warning_key(&e))) {
                self.pending_warnings.push(format!("asyncbatch: cannot record delivery progress: {e}"));
            }
        }
    }

    /// Ends `j`'s journaled run: what is left (the budget ran out, or the process
    /// is stopping) goes to a regular segment at shutdown, else back to the front of
    /// the queue; then the journal is removed. If the segment cannot be written
    /// the journal stays on disk, so the items are still there for a later reader.
    pub fn journal_close(&mut self, j: JobId, to_spool: bool) {
        let Some(jr) = self.jobs[j].journaled.take() else { return };
        if jr.items.is_empty() {
            self.finish_journal(j, jr.journal);
            return;
        }
        if !to_spool {
            self.jobs[j].queue.put_back(jr.items, jr.at);
            self.finish_journal(j, jr.journal);
            return;
        }
        let (key, id) = (self.jobs[j].key.clone(), self.jobs[j].id.clone());
        match (self.spool().and_then(|s| s.write(&key, &[(&id, &jr.items)])), jr.journal) {
            (Ok(_), journal) => {
                self.jobs[j].stats.spooled += jr.items.len() as u64;
                self.finish_journal(j, journal);
            }
            (Err(_), Some(journal)) => {
                self.jobs[j].stats.spooled += jr.items.len() as u64;
                journal.keep();
            }
            (Err(_), None) => {
                // Counted dropped, with its warning, by spill().
                self.jobs[j].queue.put_back(jr.items, jr.at);
                self.spill(j);
            }
        }
    }

    /// A journal whose items are all elsewhere now: its file is kept for the job's
    /// next run.
    fn finish_journal(&mut self, j: JobId, journal: Option<Journal>) {
        if let Some(journal) = journal {
            self.jobs[j].journal_file = journal.finish();
        }
    }

    /// At process exit: removes the journal files kept between runs.
    pub fn remove_journal_files(&mut self) {
        self.after_fork();
        for job in &mut self.jobs {
            if let Some(file) = job.journal_file.take() {
                file.remove();
            }
        }
    }

    /// Ends the request: batches in flight go back to their queues, queues to the
    /// spool, claims are released, registrations forgotten. Returns warnings.
    pub fn end_request(&mut self) -> Vec<String> {
        if self.settings.is_some() {
            self.after_fork();
            for j in 0..self.jobs.len() {
                // A delivery cut short: its items are already on disk.
                if let Some(jr) = self.jobs[j].journaled.take() {
                    match jr.journal {
                        Some(journal) => {
                            self.jobs[j].stats.spooled += jr.items.len() as u64;
                            journal.keep();
                        }
                        None => self.jobs[j].queue.put_back(jr.items, jr.at),
                    }
                }
                if !self.jobs[j].queue.is_empty() {
                    self.spill(j);
                }
            }
        }
        self.held.clear();
        for job in &mut self.jobs {
            job.registered = false;
        }
        self.order.clear();
        self.settings = None;
        self.shutdown = ShutdownState::default();
        self.delivering = false;
        self.take_warnings()
    }
}

//! The jobs of a PHP process and their queues: the registry (a registration lasts
//! for the request; a job's counters for the process), each job's items waiting in
//! memory, the write-ahead journal of what a delivery took from them, and the
//! request's settings and shutdown phase.
//!
//! Nothing here calls PHP or starts a thread. The extension only borrows the
//! runtime between PHP calls, so a callable may submit items, register jobs or
//! even end the process (a fatal error skips the Rust frames in between) and the
//! state stays whole: a batch in flight is held here, not on the delivering stack.

use std::collections::HashMap;
use std::time::Instant;

use crate::batch::{Batch, ItemQueue};
use crate::batch_id::BatchId;
use crate::clock::Tick;
use crate::config::JobConfig;
use crate::fork;
use crate::item::printable_id;
use crate::ledger::{spool_warning_key, DiskConfig, HasLedger, Job, JobId, Ledger};
use crate::settings::Settings;
use crate::spool::{Journal, JournalFile};

/// A job not registered in this request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown job '{job}': register it with registerAsyncJob() first")]
pub struct UnknownJob {
    /// The identifier, printable.
    pub job: String,
}

impl UnknownJob {
    /// The error for identifier `id`.
    pub fn new(id: &[u8]) -> Self {
        UnknownJob { job: printable_id(id) }
    }
}

/// What `push` asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPush {
    /// Nothing: the item waits.
    Queued,
    /// A batch is due (CLI): deliver the job now.
    Due,
}

/// Where the extension's shutdown function stands in this request. The function
/// puts itself after the application's shutdown functions (it runs once to register
/// itself again), then delivers; a submit after that registers it once more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ShutdownPhase {
    /// Not registered.
    #[default]
    Idle,
    /// Registered, not run yet.
    Armed,
    /// Ran once and registered itself again, to run after the shutdown functions
    /// registered meanwhile.
    Deferred,
    /// Delivering: what callables submit now waits in the spool.
    Delivering,
    /// Delivered.
    Done,
    /// Registered again after delivery, for items submitted since.
    Late,
}

/// What the shutdown function does when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookStep {
    /// Nothing (no request is under way).
    Nothing,
    /// Register itself again.
    Defer,
    /// Release the client and deliver.
    Deliver,
}

impl ShutdownPhase {
    /// Whether the function is registered (or delivering), so a submit needs nothing.
    pub fn is_armed(self) -> bool {
        !matches!(self, ShutdownPhase::Idle | ShutdownPhase::Done)
    }

    /// The phase once the function is registered, when a submit must register it.
    pub fn armed(self) -> Option<ShutdownPhase> {
        match self {
            ShutdownPhase::Idle => Some(ShutdownPhase::Armed),
            ShutdownPhase::Done => Some(ShutdownPhase::Late),
            _ => None,
        }
    }

    /// What the function does when it runs, and the phase after.
    pub fn run(self) -> (ShutdownPhase, HookStep) {
        match self {
            ShutdownPhase::Armed => (ShutdownPhase::Deferred, HookStep::Defer),
            ShutdownPhase::Deferred | ShutdownPhase::Late => (ShutdownPhase::Delivering, HookStep::Deliver),
            other => (other, HookStep::Nothing),
        }
    }
}

/// The request under way.
#[derive(Debug)]
struct Request {
    settings: Settings,
    cli: bool,
    phase: ShutdownPhase,
    /// When delivery at shutdown started, and the calls made before it: the budget
    /// counts from there, and its first batch always starts.
    shutdown_started: Option<(Instant, u64)>,
    /// The application ends its requests itself (`endRequest()`, in a long-running
    /// worker): a due batch then waits for the next end instead of running inside
    /// the request that submits to it.
    ends_marked: bool,
}

/// Items a delivery run took from a job's queue: on disk in a journal before any
/// callable sees them, and taken out of it batch by batch as each is delivered or
/// stored. What is left when the request ends was cut short by `exit()`, a fatal
/// error or a kill: it stays in the journal for the next reader.
#[derive(Debug)]
struct Journaled {
    /// The items not done yet, in order; the first batch may be in flight.
    items: Batch,
    /// When the oldest of them was queued.
    at: Tick,
    /// The journal; `None` when it could not be written (the items then live in
    /// memory only).
    journal: Option<Journal>,
    /// The delivery run that took them.
    run: u64,
    /// The id of the first batch and its length, once it is cut.
    cut: Option<(BatchId, usize)>,
}

/// A job's items in this process.
#[derive(Debug, Default)]
struct Queued {
    queue: ItemQueue,
    journaled: Option<Journaled>,
    /// Its journal file between runs, emptied, for the next run to write over.
    journal_file: Option<JournalFile>,
    registered: bool,
}

/// The jobs and queues of a process.
#[derive(Debug)]
pub struct Runtime {
    ledger: Ledger,
    queued: Vec<Queued>,
    index: HashMap<Vec<u8>, JobId, rustc_hash::FxBuildHasher>,
    order: Vec<JobId>,
    request: Option<Request>,
    delivering: bool,
    runs: u64,
    fork_generation: u64,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl HasLedger for Runtime {
    fn ledger(&mut self) -> &mut Ledger {
        &mut self.ledger
    }
}

/// State that the queue side of delivery can run on.
pub trait HasRuntime: HasLedger {
    /// The runtime.
    fn runtime(&mut self) -> &mut Runtime;
}

impl HasRuntime for Runtime {
    fn runtime(&mut self) -> &mut Runtime {
        self
    }
}

impl Runtime {
    /// An empty runtime.
    pub fn new() -> Self {
        Runtime {
            ledger: Ledger::new(DiskConfig::default()),
            queued: Vec::new(),
            index: HashMap::default(),
            order: Vec::new(),
            request: None,
            delivering: false,
            runs: 0,
            fork_generation: fork::generation(),
        }
    }

    /// In a child after `fork()`: forgets the parent's queues, journals and claims
    /// (the parent delivers those). Cheap when nothing forked.
    #[inline]
    pub fn after_fork(&mut self) {
        let g = fork::generation();
        if g == self.fork_generation {
            return;
        }
        self.fork_generation = g;
        for q in &mut self.queued {
            q.queue = ItemQueue::new();
            // The parent's journal files are the parent's: close them, touch nothing.
            if let Some(journal) = q.journaled.take().and_then(|jr| jr.journal) {
                journal.keep();
            }
            q.journal_file = None;
        }
        self.ledger.after_fork();
    }

    /// Whether a request is under way (the first API call of a request starts one).
    pub fn in_request(&self) -> bool {
        self.request.is_some()
    }

    /// Starts a request with its settings.
    pub fn begin_request(&mut self, settings: Settings, cli: bool) {
        self.after_fork();
        self.ledger.disk().configure(DiskConfig::from(&settings));
        self.request = Some(Request {
            settings,
            cli,
            phase: ShutdownPhase::Idle,
            shutdown_started: None,
            ends_marked: false,
        });
    }

    fn request(&self) -> &Request {
        self.request.as_ref().expect("a request is begun at the first API call")
    }

    /// This request's settings.
    pub fn settings(&self) -> &Settings {
        &self.request().settings
    }

    /// Where the shutdown function stands.
    pub fn phase(&self) -> ShutdownPhase {
        self.request.as_ref().map_or(ShutdownPhase::Idle, |r| r.phase)
    }

    /// Moves the shutdown function to `phase`.
    pub fn set_phase(&mut self, phase: ShutdownPhase) {
        if let Some(r) = &mut self.request {
            r.phase = phase;
        }
    }

    /// When delivery at shutdown started in this request (now, if it starts now),
    /// and the calls made before.
    pub fn shutdown_started(&mut self, now: Instant) -> (Instant, u64) {
        let calls = self.ledger.calls();
        let r = self.request.as_mut().expect("a request is begun at the first API call");
        *r.shutdown_started.get_or_insert((now, calls))
    }

    /// An end of request in a long-running worker (`endRequest()`): the next
    /// delivery of [`Mode::Shutdown`] has a budget of its own, and from now on the
    /// CLI delivers due batches at these ends only, never inside a request.
    ///
    /// [`Mode::Shutdown`]: crate::delivery::Mode::Shutdown
    pub fn end_worker_request(&mut self) {
        if let Some(r) = self.request.as_mut() {
            r.shutdown_started = None;
            r.ends_marked = true;
        }
    }

    /// Whether a delivery is running (callables must not start another).
    pub fn is_delivering(&self) -> bool {
        self.delivering
    }

    /// Marks a delivery as running or not; returns what it was.
    pub fn set_delivering(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.delivering, on)
    }

    /// Starts a delivery run; its number tells its journals from earlier runs'.
    pub fn start_run(&mut self) -> u64 {
        self.runs += 1;
        self.runs
    }

    /// Registers (or re-registers) a job for this request.
    pub fn register(&mut self, id: &[u8], config: JobConfig) -> JobId {
        let j = match self.index.get(id) {
            Some(&j) => {
                let job = self.ledger.job_mut(j);
                job.config = config;
                job.sink = None;
                j
            }
            None => {
                let j = self.ledger.add(id, config);
                self.queued.push(Queued::default());
                self.index.insert(id.to_vec(), j);
                j
            }
        };
        if !std::mem::replace(&mut self.queued[j].registered, true) {
            self.order.push(j);
        }
        j
    }

    /// The job registered in this request under `id`.
    pub fn registered(&self, id: &[u8]) -> Result<JobId, UnknownJob> {
        self.index.get(id).copied().filter(|&j| self.queued[j].registered).ok_or_else(|| UnknownJob::new(id))
    }

    /// Jobs registered in this request, in registration order.
    pub fn registered_jobs(&self) -> &[JobId] {
        &self.order
    }

    /// Every job of the process: this request's first, in registration order.
    pub fn all_jobs(&self) -> Vec<JobId> {
        let mut all = self.order.clone();
        all.extend((0..self.queued.len()).filter(|&j| !self.queued[j].registered));
        all
    }

    /// A job.
    pub fn job(&self, j: JobId) -> &Job {
        self.ledger.job(j)
    }

    /// A job, mutably.
    pub fn job_mut(&mut self, j: JobId) -> &mut Job {
        self.ledger.job_mut(j)
    }

    /// Items of `j` waiting in memory.
    pub fn queued(&self, j: JobId) -> usize {
        self.queued[j].queue.len()
    }

    /// The encoding of `j`'s newest item in memory.
    pub fn last_queued(&self, j: JobId) -> Option<&[u8]> {
        self.queued[j].queue.last()
    }

    /// Queues one encoded item.
    pub fn push(&mut self, j: JobId, item: &[u8], now: Tick) -> AfterPush {
        self.push_with::<()>(j, now, |buf| {
            buf.extend_from_slice(item);
            Ok(())
        })
        .unwrap_or(AfterPush::Queued)
    }

    /// Queues one item that `encode` writes straight into the job's queue (an item
    /// it refuses leaves the queue as it was). At the memory cap, the queue goes to
    /// the spool.
    #[inline]
    pub fn push_with<E>(
        &mut self,
        j: JobId,
        now: Tick,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<AfterPush, E> {
        let q = &mut self.queued[j].queue;
        q.push_with(now, encode)?;
        let len = q.len();
        let job = self.ledger.job_mut(j);
        job.stats.submitted += 1;
        // The CLI delivers a due batch at submit, unless the application ends its
        // requests itself: a worker's request must not wait on a callable.
        let due_in_cli = self.request.as_ref().is_some_and(|r| r.cli && !r.ends_marked) && !self.delivering;
        if due_in_cli && (len >= job.config.batch_size || self.period_passed(j, now)) {
            return Ok(AfterPush::Due);
        }
        if len >= self.ledger.job(j).config.max_queue_size {
            self.spill(j);
        }
        Ok(AfterPush::Queued)
    }

    fn period_passed(&self, j: JobId, now: Tick) -> bool {
        let period = self.ledger.job(j).config.call_period;
        self.queued[j].queue.oldest_at().is_some_and(|t| now.saturating_sub(t) >= period)
    }

    /// How many queued items of `j` a CLI delivery takes now: the full batches, or
    /// everything once the oldest item has waited `callPeriod`.
    pub fn due_items(&self, j: JobId, now: Tick) -> usize {
        let len = self.queued(j);
        if self.period_passed(j, now) {
            len
        } else {
            len - len % self.ledger.job(j).config.batch_size
        }
    }

    /// Writes a job's whole queue to the spool (memory cap reached, or end of request).
    pub fn spill(&mut self, j: JobId) {
        let batch = self.queued[j].queue.take_all();
        self.ledger.spool_batch(j, &batch)
    }

    /// Whether any of `jobs` has items in memory.
    pub fn has_queued(&self, jobs: &[JobId]) -> bool {
        jobs.iter().any(|&j| !self.queued[j].queue.is_empty())
    }

    /// Whether `j` has journaled items of the delivery run `run`.
    pub fn has_journal_of(&self, j: JobId, run: u64) -> bool {
        self.queued[j].journaled.as_ref().is_some_and(|jr| jr.run == run)
    }

    /// Takes up to `n` of `j`'s queued items for delivery run `run` and writes them to
    /// a journal first. False when there is nothing to take, or when items of an
    /// earlier run are still journaled (a callable that ended the script: they are
    /// not offered again in this process).
    pub fn journal_queue(&mut self, j: JobId, n: usize, now: Tick, run: u64) -> bool {
        let q = &mut self.queued[j];
        if n == 0 || q.queue.is_empty() || q.journaled.is_some() {
            return false;
        }
        let at = q.queue.oldest_at().unwrap_or(now);
        let items = q.queue.take(n);
        let reuse = q.journal_file.take();
        let (key, id) = (self.ledger.job(j).key.clone(), self.ledger.job(j).id.clone());
        let journal = match self.ledger.spool().and_then(|s| s.journal(&key, &id, &items, reuse)) {
            Ok(journal) => Some(journal),
            Err(e) => {
                // Delivery goes on from memory; only a crash could lose them now.
                // Its own key: it must not silence a later warning about drops.
                let msg = format!(
                    "asyncbatch: cannot write to the spool: {e}; job '{}' is delivered without its journal",
                    printable_id(&id)
                );
                self.ledger.notices().warn_once(&format!("journal {}", spool_warning_key(&e)), msg);
                None
            }
        };
        self.queued[j].journaled = Some(Journaled { items, at, journal, run, cut: None });
        true
    }

    /// The next batch of `j`'s journaled items (they stay journaled until
    /// [`Runtime::journal_done`]).
    pub fn journal_front(&mut self, j: JobId) -> Option<(Batch, BatchId)> {
        let batch_size = self.ledger.job(j).config.batch_size;
        let jr = self.queued[j].journaled.as_mut()?;
        let n = batch_size.min(jr.items.len());
        (n > 0).then(|| {
            let mut front = Batch::new();
            jr.items.iter().take(n).for_each(|item| front.push(item));
            let id = match jr.cut {
                Some((id, len)) if len == n => id,
                _ => jr.cut.insert((BatchId::new(), n)).0,
            };
            (front, id)
        })
    }

    /// The first `n` journaled items of `j` are delivered or stored.
    pub fn journal_done(&mut self, j: JobId, n: usize) {
        let Some(jr) = self.queued[j].journaled.as_mut() else { return };
        jr.items.split_front(n);
        jr.cut = None;
        let recorded = jr.journal.as_mut().map(|journal| journal.record_done(n as u64));
        if let Some(Err(e)) = recorded {
            // Without progress a crash would deliver the done batches again: no loss.
            let msg = format!("asyncbatch: cannot record delivery progress: {e}");
            self.ledger.notices().warn_once(&format!("progress {}", spool_warning_key(&e)), msg);
        }
    }

    /// Ends `j`'s journaled run: what is left (the budget ran out, or the process
    /// is stopping) goes to a regular segment at shutdown, else back to the front of
    /// the queue; then the journal is removed. If the segment cannot be written
    /// the journal stays on disk, so the items are still there for a later reader.
    pub fn journal_close(&mut self, j: JobId, to_spool: bool) {
        let Some(jr) = self.queued[j].journaled.take() else { return };
        if jr.items.is_empty() {
            self.finish_journal(j, jr.journal);
            return;
        }
        if !to_spool {
            self.queued[j].queue.put_back(jr.items, jr.at);
            self.finish_journal(j, jr.journal);
            return;
        }
        let (key, id) = (self.ledger.job(j).key.clone(), self.ledger.job(j).id.clone());
        // A batch that was called keeps its id in the spool.
        let runs = match jr.cut {
            Some((cut, n)) if n <= jr.items.len() => {
                let mut rest = jr.items.clone();
                let front = rest.split_front(n);
                vec![(Some(cut), front), (None, rest)]
            }
            _ => vec![(None, jr.items.clone())],
        };
        let written = self.ledger.spool().and_then(|s| s.write_runs(&key, &id, &runs));
        match (written, jr.journal) {
            (Ok(_), journal) => {
                self.ledger.job_mut(j).stats.spooled += jr.items.len() as u64;
                self.finish_journal(j, journal);
            }
            (Err(_), Some(journal)) => {
                self.ledger.job_mut(j).stats.spooled += jr.items.len() as u64;
                journal.keep();
            }
            (Err(_), None) => {
                // Counted dropped, with its warning, by spill().
                self.queued[j].queue.put_back(jr.items, jr.at);
                self.spill(j);
            }
        }
    }

    /// A journal whose items are all elsewhere now: its file is kept for the job's
    /// next run.
    fn finish_journal(&mut self, j: JobId, journal: Option<Journal>) {
        if let Some(journal) = journal {
            self.queued[j].journal_file = journal.finish();
        }
    }

    /// At process exit: removes the journal files kept between runs.
    pub fn remove_journal_files(&mut self) {
        self.after_fork();
        for q in &mut self.queued {
            if let Some(file) = q.journal_file.take() {
                file.remove();
            }
        }
    }

    /// Ends the request: batches in flight go back to their queues, queues to the
    /// spool, claims are released, registrations forgotten. Returns warnings.
    pub fn end_request(&mut self) -> Vec<String> {
        if self.request.is_some() {
            self.after_fork();
            for j in 0..self.queued.len() {
                // A delivery cut short: its items are already on disk.
                if let Some(jr) = self.queued[j].journaled.take() {
                    match jr.journal {
                        Some(journal) => {
                            self.ledger.job_mut(j).stats.spooled += jr.items.len() as u64;
                            journal.keep();
                        }
                        None => self.queued[j].queue.put_back(jr.items, jr.at),
                    }
                }
                if !self.queued[j].queue.is_empty() {
                    self.spill(j);
                }
            }
        }
        self.ledger.release_held();
        for q in &mut self.queued {
            q.registered = false;
        }
        self.order.clear();
        self.request = None;
        self.delivering = false;
        self.ledger.notices().take()
    }
}

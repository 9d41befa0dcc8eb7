//! What delivering a job needs apart from PHP: each job's identity, config and
//! counters, the disk (the spool and the failure store, opened on first use),
//! warnings given once per process, backoff randomness, and what a delivery holds
//! while a callable runs.
//!
//! The PHP thread's [`Runtime`](crate::runtime::Runtime) keeps one beside its queues;
//! the HTTP sender's thread keeps one of its own for the sink jobs it posts.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::batch::Batch;
use crate::budget::EstimatedDuration;
use crate::config::JobConfig;
use crate::failure_store::{ClaimedFailure, FailureRecord, FailureStore};
use crate::http::client::HttpCounters;
use crate::http::config::SinkConfig;
use crate::item::printable_id;
use crate::naming;
use crate::outcome::CallOutcome;
use crate::retry::Rng;
use crate::secure_fs::{self, StorageError};
use crate::settings::Settings;
use crate::spool::{Claimed, Spool};
use crate::stats::JobStats;

/// Index of a job in the process; stable for the life of the process.
pub type JobId = usize;

/// A job as delivery sees it.
#[derive(Debug, Default)]
pub struct Job {
    /// The identifier.
    pub id: Vec<u8>,
    /// Its file-name routing key.
    pub key: String,
    /// The config of its latest registration.
    pub config: JobConfig,
    /// Counters.
    pub stats: JobStats,
    /// Moving average of its batch durations.
    pub estimate: EstimatedDuration,
    /// The HTTP sink it posts to, when its callable is an `AsyncBatch\HttpSink`.
    pub sink: Option<Arc<SinkConfig>>,
    /// Its HTTP counters (for the life of the process, across registrations).
    pub http: Arc<HttpCounters>,
}

impl Job {
    /// A job with no items yet.
    pub fn new(id: &[u8], config: JobConfig) -> Job {
        Job { id: id.to_vec(), key: naming::jobkey(id), config, ..Default::default() }
    }

    /// Identifier for messages.
    pub fn name(&self) -> String {
        printable_id(&self.id)
    }
}

/// Where the disk is: the directories of the settings in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskConfig {
    /// The spool directory.
    pub spool_dir: PathBuf,
    /// The failure store's directory.
    pub failure_dir: PathBuf,
    /// The failure store's size cap.
    pub failure_cap_bytes: u64,
    /// Checked to be private before the default directories under it are used.
    pub default_base: Option<PathBuf>,
}

impl From<&Settings> for DiskConfig {
    fn from(s: &Settings) -> Self {
        DiskConfig {
            spool_dir: s.spool_dir.clone(),
            failure_dir: s.failure_dir.clone(),
            failure_cap_bytes: s.failure_cap_bytes,
            default_base: s.default_base.clone(),
        }
    }
}

/// The spool and the failure store, each opened (and checked) on first use.
#[derive(Debug, Default)]
pub struct Disk {
    config: DiskConfig,
    spool: Option<Spool>,
    failures: Option<FailureStore>,
}

impl Disk {
    /// The disk of `config`; nothing is opened yet.
    pub fn new(config: DiskConfig) -> Self {
        Disk { config, spool: None, failures: None }
    }

    /// Uses the directories of `config` from now on (a request's settings).
    pub fn configure(&mut self, config: DiskConfig) {
        self.config = config;
    }

    /// The spool directory.
    pub fn spool_dir(&self) -> &Path {
        &self.config.spool_dir
    }

    /// The spool, opened on first use.
    pub fn spool(&mut self) -> Result<&mut Spool, StorageError> {
        if self.spool.as_ref().is_none_or(|s| s.dir() != self.config.spool_dir) {
            self.check_default_base()?;
            self.spool = Some(Spool::open(&self.config.spool_dir)?);
        }
        Ok(self.spool.as_mut().expect("just opened"))
    }

    /// The failure store, opened on first use.
    pub fn failure_store(&mut self) -> Result<&mut FailureStore, StorageError> {
        if self.failures.as_ref().is_none_or(|s| s.dir() != self.config.failure_dir) {
            self.check_default_base()?;
            self.failures =
                Some(FailureStore::open(&self.config.failure_dir, self.config.failure_cap_bytes)?);
        }
        Ok(self.failures.as_mut().expect("just opened"))
    }

    fn check_default_base(&self) -> Result<(), StorageError> {
        match &self.config.default_base {
            Some(base) => secure_fs::ensure_private_dir(base, "directory"),
            None => Ok(()),
        }
    }
}

/// The once-per-process key of a spool write failure: one warning per reason, however
/// many items and whichever thread hit it.
pub fn spool_warning_key(e: &StorageError) -> String {
    match e {
        // Not the path: every failed write names a new file.
        StorageError::Io { op, source, .. } => format!("spool:{op}:{}", source.kind()),
        other => format!("spool:{other}"),
    }
}

/// The message of items dropped because the spool refused them.
pub fn dropped_message(e: &StorageError, n: usize, job: &[u8]) -> String {
    format!("asyncbatch: cannot write to the spool: {e}; {n} items for job '{}' dropped", printable_id(job))
}

/// Warnings, each given once per process, queued for the embedder to raise.
#[derive(Debug, Default)]
pub struct Notices {
    said: HashSet<String>,
    pending: Vec<String>,
}

impl Notices {
    /// True the first time `key` is seen in this process.
    pub fn first_time(&mut self, key: &str) -> bool {
        if self.said.contains(key) {
            return false;
        }
        self.said.insert(key.to_string())
    }

    /// Queues `msg` unless a warning of `key` was given already.
    pub fn warn_once(&mut self, key: &str, msg: String) {
        if self.first_time(key) {
            self.pending.push(msg);
        }
    }

    /// Whether warnings wait to be raised.
    pub fn any(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The warnings queued since the last call.
    pub fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.pending)
    }
}

/// Something a delivery holds while PHP code runs, kept in the ledger so the end of
/// the request can let go of it even if that code never returned.
#[derive(Debug)]
pub enum Held {
    /// A claimed spool segment.
    Segment(Claimed),
    /// A claimed failure file.
    Failure(ClaimedFailure),
}

/// The per-process state of delivery.
#[derive(Debug)]
pub struct Ledger {
    jobs: Vec<Job>,
    disk: Disk,
    notices: Notices,
    held: HashMap<u64, Held>,
    next_ticket: u64,
    rng: Rng,
    calls: u64,
}

/// State that delivery can run on: a [`Ledger`], or something that has one.
pub trait HasLedger {
    /// The ledger.
    fn ledger(&mut self) -> &mut Ledger;
}

impl HasLedger for Ledger {
    fn ledger(&mut self) -> &mut Ledger {
        self
    }
}

impl Ledger {
    /// An empty ledger writing to the disk of `config`.
    pub fn new(config: DiskConfig) -> Self {
        Ledger {
            jobs: Vec::new(),
            disk: Disk::new(config),
            notices: Notices::default(),
            held: HashMap::new(),
            next_ticket: 0,
            rng: Rng::from_entropy(),
            calls: 0,
        }
    }

    /// Adds a job; returns its id.
    pub fn add(&mut self, id: &[u8], config: JobConfig) -> JobId {
        self.jobs.push(Job::new(id, config));
        self.jobs.len() - 1
    }

    /// Puts job `j` in place, keeping its counters when it is the same job (the
    /// HTTP sender's thread uses the ids of the PHP thread's jobs).
    pub fn set(&mut self, j: JobId, id: &[u8], config: JobConfig) -> &mut Job {
        if self.jobs.len() <= j {
            self.jobs.resize_with(j + 1, Job::default);
        }
        let job = &mut self.jobs[j];
        if job.id != id {
            *job = Job::new(id, config);
        } else {
            job.config = config;
        }
        job
    }

    /// How many jobs it knows.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether it knows no job.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// A job.
    pub fn job(&self, j: JobId) -> &Job {
        &self.jobs[j]
    }

    /// A job, mutably.
    pub fn job_mut(&mut self, j: JobId) -> &mut Job {
        &mut self.jobs[j]
    }

    /// The disk.
    pub fn disk(&mut self) -> &mut Disk {
        &mut self.disk
    }

    /// The spool, opened on first use.
    pub fn spool(&mut self) -> Result<&mut Spool, StorageError> {
        self.disk.spool()
    }

    /// The failure store, opened on first use.
    pub fn failure_store(&mut self) -> Result<&mut FailureStore, StorageError> {
        self.disk.failure_store()
    }

    /// The warnings given once per process.
    pub fn notices(&mut self) -> &mut Notices {
        &mut self.notices
    }

    /// Whether warnings wait to be raised.
    pub fn has_warnings(&self) -> bool {
        self.notices.any()
    }

    /// Records a warning key; true the first time in this process.
    pub fn first_time(&mut self, key: &str) -> bool {
        self.notices.first_time(key)
    }

    /// Jitter for backoff.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Uses `rng` for jitter from now on (tests take a seeded one).
    pub fn set_rng(&mut self, rng: Rng) {
        self.rng = rng;
    }

    /// Calls of callables made in this process.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// Counts one call of `j`'s callable with `n` items, which took `took`.
    pub fn record_call(&mut self, j: JobId, n: usize, took: Duration, outcome: &CallOutcome) {
        self.calls += 1;
        let job = &mut self.jobs[j];
        job.estimate.record(took);
        job.stats.durations.observe(took);
        job.stats.last_flush_at = Some(naming::unix_secs());
        match outcome {
            CallOutcome::Accepted => {
                job.stats.delivered += n as u64;
                job.stats.batches += 1;
            }
            CallOutcome::Failed(e) => job.stats.last_error = Some(e.message.clone()),
            CallOutcome::Abort => {}
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

    /// Takes back what [`Ledger::hold`] kept.
    pub fn unhold(&mut self, ticket: u64) -> Option<Held> {
        self.held.remove(&ticket)
    }

    /// Lets go of everything held (the end of a request; or, after a fork, the
    /// parent's claims).
    pub fn release_held(&mut self) {
        self.held.clear();
    }

    /// Forgets what the parent held and draws new jitter (in a child after fork()).
    pub fn after_fork(&mut self) {
        self.held.clear();
        self.rng = Rng::from_entropy();
    }

    /// Writes items of `j` to a new spool segment; on failure counts them dropped and
    /// queues a warning (each reason once per process).
    pub fn spool_batch(&mut self, j: JobId, batch: &Batch) {
        if batch.is_empty() {
            return;
        }
        let (key, id) = (self.jobs[j].key.clone(), self.jobs[j].id.clone());
        let result = self.disk.spool().and_then(|s| s.write(&key, &[(&id, batch)]));
        let job = &mut self.jobs[j];
        match result {
            Ok(_) => job.stats.spooled += batch.len() as u64,
            Err(e) => {
                job.stats.dropped += batch.len() as u64;
                let msg = dropped_message(&e, batch.len(), &id);
                job.stats.last_error = Some(msg.clone());
                self.notices.warn_once(&spool_warning_key(&e), msg);
            }
        }
    }

    /// Ready spool segments that may hold items of `j` (its own, and those of several
    /// jobs), oldest first.
    pub fn spooled_segments(&mut self, j: JobId) -> Result<Vec<PathBuf>, StorageError> {
        // Do not create the directory just to find it empty.
        if !self.disk.spool_dir().exists() {
            return Ok(Vec::new());
        }
        let keys = [self.jobs[j].key.clone(), naming::MIXED_JOBKEY.to_string()];
        self.disk.spool()?.ready(Some(&keys))
    }

    /// Stores a failed batch; on refusal counts it dropped. Returns the line to log.
    pub fn store_failure(&mut self, j: JobId, record: &FailureRecord) -> String {
        let n = record.items.len() as u64;
        let result = self.disk.failure_store().and_then(|s| s.store(record));
        let job = &mut self.jobs[j];
        job.stats.failed_batches += 1;
        match result {
            Ok(path) => {
                job.stats.persisted += n;
                format!(
                    "asyncbatch: job '{}': a batch of {} failed {} times ({}); stored in {}",
                    job.name(),
                    items(n),
                    record.attempts,
                    record.last_error,
                    path.display()
                )
            }
            Err(e) => {
                job.stats.dropped += n;
                let msg = match &e {
                    StorageError::Full { .. } => {
                        format!(
                            "asyncbatch: {e}; dropped a failed batch of {n} items for job '{}'",
                            job.name()
                        )
                    }
                    _ => format!(
                        "asyncbatch: cannot store a failed batch: {e}; dropped {n} items for job '{}'",
                        job.name()
                    ),
                };
                job.stats.last_error = Some(msg.clone());
                msg
            }
        }
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

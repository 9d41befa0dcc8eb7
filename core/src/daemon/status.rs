//! The daemon's status files: each daemon worker and the receiver write their own,
//! the master merges them into `daemon.status` for `asyncbatch status` and for PHP
//! processes in `auto` mode deciding whether the daemon is alive.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::naming;
use crate::secure_fs;
use crate::stats::{Histogram, JobStats};

/// The merged status file's name in the spool directory.
pub const DAEMON_STATUS: &str = "daemon.status";

/// Per-job delivery counters of the daemon.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCounters {
    /// Items delivered.
    pub delivered: u64,
    /// Successful calls.
    pub batches: u64,
    /// Batches that failed every attempt.
    pub failed_batches: u64,
    /// Retry calls.
    pub retries: u64,
    /// Items written to the failure store.
    pub persisted: u64,
    /// Items lost to a refusing failure store.
    pub dropped: u64,
    /// The last error.
    pub last_error: Option<String>,
    /// Unix time of the last call.
    pub last_flush_at: Option<f64>,
    /// How long the calls took.
    #[serde(skip_serializing_if = "Histogram::is_empty", default)]
    pub durations: Histogram,
    /// An HttpSink job's requests.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub http: Option<HttpEntry>,
}

/// An HttpSink job's requests, as in `stats()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpEntry {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Request body bytes as sent.
    pub bytes: u64,
    /// Responses per status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Retry requests.
    pub retries: u64,
    /// Batches that ended in the failure store.
    pub failures: u64,
}

impl HttpEntry {
    fn add(&mut self, o: &HttpEntry) {
        self.requests += o.requests;
        self.bytes += o.bytes;
        for (code, n) in &o.statuses {
            *self.statuses.entry(*code).or_insert(0) += n;
        }
        self.retries += o.retries;
        self.failures += o.failures;
    }
}

impl From<&JobStats> for JobCounters {
    fn from(s: &JobStats) -> Self {
        JobCounters {
            delivered: s.delivered,
            batches: s.batches,
            failed_batches: s.failed_batches,
            retries: s.retries,
            persisted: s.persisted,
            dropped: s.dropped,
            last_error: s.last_error.clone(),
            last_flush_at: s.last_flush_at,
            durations: s.durations.clone(),
            http: None,
        }
    }
}

impl JobCounters {
    /// The counters as a process's own.
    fn stats(&self) -> JobStats {
        JobStats {
            delivered: self.delivered,
            batches: self.batches,
            failed_batches: self.failed_batches,
            retries: self.retries,
            persisted: self.persisted,
            dropped: self.dropped,
            last_error: self.last_error.clone(),
            last_flush_at: self.last_flush_at,
            durations: self.durations.clone(),
            ..Default::default()
        }
    }

    /// Adds another process's counters.
    pub fn add(&mut self, o: &JobCounters) {
        let mut sum = self.stats();
        sum.absorb(&o.stats());
        let mut http = self.http.take();
        if let Some(h) = &o.http {
            http.get_or_insert_with(HttpEntry::default).add(h);
        }
        *self = JobCounters { http, ..JobCounters::from(&sum) };
    }
}

/// One worker's status (`daemon.w{index}.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStatus {
    /// Its number.
    pub index: usize,
    /// Its pid.
    pub pid: u32,
    /// When it started.
    pub started_at: f64,
    /// When it wrote this.
    pub heartbeat_at: f64,
    /// Counters per job, by identifier.
    pub jobs: BTreeMap<String, JobCounters>,
    /// Jobkeys of its jobs (to tell unknown jobs' segments).
    pub keys: Vec<String>,
}

impl WorkerStatus {
    /// A status for worker `index` of this process.
    pub fn new(index: usize, started_at: f64) -> Self {
        WorkerStatus {
            index,
            pid: std::process::id(),
            started_at,
            heartbeat_at: naming::unix_secs(),
            ..Default::default()
        }
    }
}

/// The receiver's status (`daemon.receiver.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStatus {
    /// Its pid.
    pub pid: u32,
    /// Messages taken off the queue.
    pub messages: u64,
    /// Items in them.
    pub items: u64,
    /// Items in them per job, by identifier.
    #[serde(default)]
    pub jobs: BTreeMap<String, u64>,
    /// Messages that were not ours, kept as `foreign.*.msg`.
    pub foreign_messages: u64,
    /// The last error.
    pub last_error: Option<String>,
}

/// A worker in the merged status.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerEntry {
    /// Its number.
    pub index: usize,
    /// Its pid (0 while restarting).
    pub pid: u32,
    /// How often it was restarted.
    pub restarts: u32,
}

/// The queue in the merged status.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QueueEntry {
    /// Its key, `0x…`.
    pub key: String,
    /// Messages waiting.
    pub messages: u64,
    /// Bytes waiting.
    pub bytes: u64,
}

/// The spool in the merged status.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SpoolEntry {
    /// Segments waiting (`.seg` and `.part`).
    pub segments: u64,
    /// Their size.
    pub bytes: u64,
}

/// What the receiver took off the queue, in the merged status.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReceivedEntry {
    /// Messages.
    pub messages: u64,
    /// Items in them per job, by identifier.
    pub items: BTreeMap<String, u64>,
}

/// Segments of a job no worker registered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UnknownJob {
    /// How many.
    pub segments: u64,
}

/// `daemon.status`: the documented format.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonStatus {
    /// Format version (1).
    pub v: u32,
    /// The master's pid.
    pub pid: u32,
    /// When the daemon started.
    pub started_at: f64,
    /// When the master last wrote this (every second).
    pub heartbeat_at: f64,
    /// The bootstrap file.
    pub bootstrap: String,
    /// The workers.
    pub workers: Vec<WorkerEntry>,
    /// The queue, when there is one.
    pub queue: Option<QueueEntry>,
    /// The spool.
    pub spool: SpoolEntry,
    /// Counters per job, summed over the workers' lives in this daemon.
    pub jobs: BTreeMap<String, JobCounters>,
    /// Jobs whose segments wait because no worker registered them, by jobkey.
    pub unknown_jobs: BTreeMap<String, UnknownJob>,
    /// Messages that were not ours.
    pub foreign_messages: u64,
    /// What the receiver took off the queue (none without a queue, or for a consumer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<ReceivedEntry>,
    /// The last error, of any job or process.
    pub last_error: Option<String>,
}

impl DaemonStatus {
    /// Whether this status says a daemon is running now: its master's pid is alive and
    /// it wrote the file less than `max_age` seconds ago.
    pub fn is_alive(&self, max_age: f64) -> bool {
        naming::unix_secs() - self.heartbeat_at < max_age && pid_alive(self.pid)
    }
}

/// Whether a process exists.
pub fn pid_alive(pid: u32) -> bool {
    crate::spool::pid_alive(pid)
}

/// Writes `value` as JSON to `path` atomically (temp file, rename).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut data = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    data.push(b'\n');
    write_atomic(path, &data)
}

/// Writes `path` whole, so that a reader sees the old content or the new.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = tmp_path(path);
    let _ = std::fs::remove_file(&tmp);
    let mut f = secure_fs::create_new(&tmp)?;
    f.write_all(data)?;
    std::fs::rename(&tmp, path)
}

fn tmp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Reads a JSON status file; `None` when missing or unreadable.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let f = secure_fs::open_existing(path).ok()?;
    serde_json::from_reader(std::io::BufReader::new(f)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_in_the_documented_shape() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(DAEMON_STATUS);
        let mut st = DaemonStatus {
            v: 1,
            pid: std::process::id(),
            heartbeat_at: naming::unix_secs(),
            ..Default::default()
        };
        st.jobs.insert("logs".into(), JobCounters { delivered: 5, ..Default::default() });
        write_json(&p, &st).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        for key in [
            "\"heartbeatAt\"",
            "\"failedBatches\"",
            "\"unknownJobs\"",
            "\"foreignMessages\"",
            "\"lastFlushAt\"",
        ] {
            assert!(text.contains(key), "{key} in {text}");
        }
        let back: DaemonStatus = read_json(&p).unwrap();
        assert_eq!(back.jobs["logs"].delivered, 5);
        assert!(back.is_alive(5.0));
        let old = DaemonStatus { heartbeat_at: 0.0, ..back };
        assert!(!old.is_alive(5.0));
    }
}

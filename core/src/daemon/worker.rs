//! A daemon worker: claims the per-job segments of the spool (what the receiver took
//! off the queue, and what producers spooled), batches each job's items across all of them by `batchSize` and
//! `callPeriod`, calls the callables, and records after each batch how far it got in
//! each segment, so that a worker that dies costs at most its batch in flight.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::daemon::status::{self, WorkerStatus};
use crate::delivery::{self, BatchEnd, Host, Limit};
use crate::ledger::JobId;
use crate::naming;
use crate::spool::Claimed;

/// A job holds segments until it has this many batches' worth of items.
const HOLD_BATCHES: usize = 2;
/// The longest an idle worker sleeps before looking again.
const IDLE_MAX: Duration = Duration::from_millis(50);

/// What a worker run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    /// Items delivered.
    pub delivered: u64,
    /// Batches that ended in the failure store or were dropped.
    pub failed_batches: u64,
    /// A drain that stopped for its time limit with items left for the next run.
    pub out_of_time: bool,
}

/// When a worker run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Until {
    /// When the host says stop (a daemon worker).
    Stopped,
    /// When nothing is left for the jobs (a drain); with a time limit, also when
    /// the next batch would not end within it, judged as the shutdown budget judges.
    Drained(Option<Duration>),
}

/// Where and as what a worker reports itself.
pub struct StatusTarget {
    /// The status file.
    pub path: PathBuf,
    /// The worker's number (1-based).
    pub index: usize,
}

struct Source {
    claimed: Claimed,
    items: Batch,
    created: f64,
    damage: Option<String>,
}

struct JobState {
    j: JobId,
    id: Vec<u8>,
    key: String,
    batch_size: usize,
    call_period: Duration,
    sources: VecDeque<Source>,
    pending: usize,
}

impl JobState {
    fn oldest(&self) -> Option<f64> {
        self.sources.front().map(|s| s.created)
    }

    fn due(&self, drain: bool, now: f64) -> Option<usize> {
        if self.pending >= self.batch_size {
            return Some(self.batch_size);
        }
        let waited = self.oldest().is_some_and(|t| now - t >= self.call_period.as_secs_f64());
        (self.pending > 0 && (drain || waited)).then_some(self.pending)
    }

    /// The first `n` items, left in place until they are committed, and their batch
    /// id: derived from the segments and positions they are at, so that a worker
    /// that cuts them again after a crash sends them under the same id.
    fn peek(&self, n: usize) -> (Batch, BatchId) {
        let mut batch = Batch::new();
        let mut place = Vec::new();
        let mut left = n;
        for s in &self.sources {
            let taken = left.min(s.items.len());
            for item in s.items.iter().take(taken) {
                batch.push(item);
            }
            // The name without `.part` or `.seg`: a segment its writer left as
            // `.part` may be finished under the other name before the next cut.
            let name = s.claimed.path().file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default();
            let stem = name.strip_suffix(b".part").or_else(|| name.strip_suffix(b".seg")).unwrap_or(name);
            place.extend_from_slice(stem);
            place.extend_from_slice(&s.claimed.done().to_le_bytes());
            place.extend_from_slice(&(taken as u64).to_le_bytes());
            left -= taken;
            if left == 0 {
                break;
            }
        }
        let ms = self.oldest().map_or(0, |t| (t * 1000.0) as u64);
        (batch, BatchId::derived(ms, &place))
    }
}

/// Runs the worker loop over `jobs` until the host says stop, or as `until` says.
pub fn run<H: Host>(host: &H, jobs: &[JobId], until: Until, status: Option<StatusTarget>) -> Report {
    let drain = matches!(until, Until::Drained(_));
    let time_limit = match until {
        Until::Drained(Some(max)) => {
            Some(Limit::shutdown(host.now(), max, delivery::ledger(host, |l| l.calls())))
        }
        _ => None,
    };
    let mut jobs: Vec<JobState> = delivery::ledger(host, |l| {
        jobs.iter()
            .map(|&j| {
                let job = l.job(j);
                JobState {
                    j,
                    id: job.id.clone(),
                    key: job.key.clone(),
                    batch_size: job.config.batch_size,
                    call_period: job.config.call_period,
                    sources: VecDeque::new(),
                    pending: 0,
                }
            })
            .collect()
    });
    let started = naming::unix_secs();
    let mut held: HashSet<PathBuf> = HashSet::new();
    let mut report = Report::default();
    let mut idle = Duration::from_millis(1);
    let mut last_status = Instant::now() - Duration::from_secs(10);
    loop {
        if host.should_stop() {
            break;
        }
        let mut worked = false;
        let mut left = false;
        for job in &mut jobs {
            if report.out_of_time {
                break;
            }
            top_up(host, job, &mut held);
            while let Some(n) = job.due(drain, naming::unix_secs()) {
                worked = true;
                let (batch, id) = job.peek(n);
                if time_limit.is_some_and(|l| !delivery::may_start(host, job.j, &l)) {
                    report.out_of_time = true;
                    break;
                }
                let limit = time_limit.unwrap_or_else(|| Limit::none(host.now()));
                match delivery::run_batch(host, job.j, &batch, &id, &limit) {
                    BatchEnd::Delivered => {
                        report.delivered += n as u64;
                        commit(host, job, n, &mut held);
                    }
                    BatchEnd::Failed => {
                        report.failed_batches += 1;
                        commit(host, job, n, &mut held);
                    }
                    BatchEnd::Stopped => {
                        report.out_of_time = time_limit.is_some() && !host.should_stop();
                        break;
                    }
                    BatchEnd::Aborted => break,
                }
                if host.should_stop() {
                    break;
                }
            }
            left |= job.pending > 0;
        }
        if let Some(target) = &status {
            if last_status.elapsed() >= Duration::from_secs(1) {
                write_status(host, target, started, &jobs.iter().map(|j| j.j).collect::<Vec<_>>());
                last_status = Instant::now();
            }
        }
        if drain && !worked && !left || report.out_of_time {
            break;
        }
        if worked {
            idle = Duration::from_millis(1);
        } else {
            host.sleep(idle);
            idle = (idle * 2).min(IDLE_MAX);
        }
    }
    if let Some(target) = &status {
        write_status(host, target, started, &jobs.iter().map(|j| j.j).collect::<Vec<_>>());
    }
    // Dropping the sources releases their claims; their progress is recorded.
    report
}

/// Claims more segments of the job, oldest first, until it holds enough items.
fn top_up<H: Host>(host: &H, job: &mut JobState, held: &mut HashSet<PathBuf>) {
    if job.pending >= job.batch_size * HOLD_BATCHES {
        return;
    }
    let ready = match delivery::ledger(host, |l| {
        l.spool().and_then(|s| s.ready(Some(std::slice::from_ref(&job.key))))
    }) {
        Ok(r) => r,
        Err(e) => {
            delivery::log_once(host, &format!("asyncbatch: cannot read the spool: {e}"));
            return;
        }
    };
    for path in ready {
        if job.pending >= job.batch_size * HOLD_BATCHES {
            break;
        }
        if held.contains(&path) {
            continue;
        }
        let claimed = match delivery::ledger(host, |l| l.spool().and_then(|s| s.claim(&path))) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                delivery::log_once(host, &format!("asyncbatch: cannot read the spool: {e}"));
                continue;
            }
        };
        let Some((claimed, runs, damage)) = delivery::split_claimed(host, claimed, &job.id) else {
            continue;
        };
        // The daemon cuts its own batches: those cut elsewhere are merged.
        let mut items = Batch::new();
        runs.into_iter().for_each(|(_, run)| items.append(run));
        if items.is_empty() {
            delivery::finish_segment(host, claimed, damage);
            continue;
        }
        let created = path
            .file_name()
            .and_then(|n| naming::created_micros(&n.to_string_lossy()))
            .map(|us| us as f64 / 1e6)
            .unwrap_or_else(naming::unix_secs);
        job.pending += items.len();
        held.insert(path);
        job.sources.push_back(Source { claimed, items, created, damage });
    }
}

/// Marks the first `n` items done: whole segments are removed, a partly done one
/// records its progress.
fn commit<H: Host>(host: &H, job: &mut JobState, mut n: usize, held: &mut HashSet<PathBuf>) {
    job.pending -= n;
    while n > 0 {
        let Some(front) = job.sources.front_mut() else { return };
        let k = n.min(front.items.len());
        front.items.split_front(k);
        n -= k;
        if front.items.is_empty() {
            let s = job.sources.pop_front().expect("front exists");
            held.remove(s.claimed.path());
            delivery::finish_segment(host, s.claimed, s.damage);
        } else if let Err(e) = front.claimed.record_progress(k as u64) {
            delivery::log_once(host, &format!("asyncbatch: {e}"));
        }
    }
}

/// Writes a worker's status file: the counters of `jobs` (read by the master).
pub fn write_status<H: Host>(host: &H, target: &StatusTarget, started: f64, jobs: &[JobId]) {
    let st = delivery::ledger(host, |l| {
        let mut st = WorkerStatus::new(target.index, started);
        for &jid in jobs {
            let j = l.job(jid);
            let mut counters = status::JobCounters::from(&j.stats);
            if j.sink.is_some() {
                let h = j.http.snapshot();
                counters.http = Some(status::HttpEntry {
                    requests: h.requests,
                    bytes: h.bytes,
                    statuses: h.statuses,
                    retries: j.stats.retries,
                    failures: j.stats.failed_batches,
                });
            }
            st.jobs.insert(crate::item::printable_id(&j.id), counters);
            st.keys.push(j.key.clone());
        }
        st
    });
    if let Err(e) = status::write_json(&target.path, &st) {
        delivery::log_once(host, &format!("asyncbatch: cannot write {}: {e}", target.path.display()));
    }
}

//! The producer side of the daemon runner: an outbox per PHP process that
//! `submitItem` writes into, and a background thread that takes it every few
//! milliseconds and hands it to the daemon: SysV messages, or the spool when the queue is full, an
//! item is too large for a message, or the queue cannot be used.
//!
//! The outbox is a mutex-guarded set of per-job queues rather than a channel of
//! items: a submit encodes straight into it (one uncontended lock, no allocation),
//! and the thread takes whole queues at a time. The PHP thread never waits on I/O;
//! the sender never runs PHP code.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::background::{spool_left, Background, Lifecycle};
use crate::batch::{Batch, ItemQueue};
use crate::clock::Tick;
use crate::frame::Frame;
use crate::ledger::{dropped_message, spool_warning_key, DiskConfig};
use crate::secure_fs;
use crate::spool::{JobSegments, Spool};
use crate::transport::message::Packer;
use crate::transport::sysv::{self, Queue, SendError};

/// How often the sender takes the outbox while items wait.
const SEND_EVERY: Duration = Duration::from_millis(2);
/// Items waiting that make the sender go at once.
const BACKLOG: usize = 1024;
/// A spool segment the sender writes to is made ready for readers this often.
const SEGMENT_EVERY: Duration = Duration::from_millis(100);
const SEGMENT_MAX_BYTES: u64 = 1 << 20;

/// Where the sender sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// A SysV message queue.
    Sysv {
        /// Its key.
        key: i32,
        /// Mode when created.
        mode: u32,
    },
    /// The spool only.
    Spool,
}

/// The outbox's settings, fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Where messages go.
    pub transport: Transport,
    /// The spool directory, for the fallback.
    pub spool_dir: PathBuf,
    /// Checked like the spool directory when the defaults are used.
    pub default_base: Option<PathBuf>,
}

/// Per-job counters of what the sender did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutCounters {
    /// Items sent as messages.
    pub sent: u64,
    /// Items written to the spool.
    pub spooled: u64,
    /// Items the spool refused.
    pub dropped: u64,
    /// The last error.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
struct OutJob {
    id: Vec<u8>,
    queue: ItemQueue,
    counters: OutCounters,
}

#[derive(Debug, Default)]
struct State {
    jobs: Vec<OutJob>,
    queued: usize,
    requested: u64,
    completed: u64,
    /// Items queued since the last flush, which the next flush reports handed off.
    accepted: u64,
    stop: bool,
    stopped: bool,
    warnings: Vec<(String, String)>,
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

/// The process's outbox: the per-job queues and the sender thread.
#[derive(Debug)]
pub struct Outbox {
    bg: Arc<Background<State>>,
    config: OutboxConfig,
}

impl Outbox {
    /// A new outbox and its sender thread.
    pub fn start(config: OutboxConfig) -> std::io::Result<Outbox> {
        let thread_config = config.clone();
        let bg = Background::start("asyncbatch-sender", State::default(), move |bg| {
            Sender::new(thread_config, bg).run()
        })?;
        Ok(Outbox { bg, config })
    }

    /// Whether it was made in this process, not inherited over a fork.
    #[inline]
    pub fn is_this_process(&self) -> bool {
        self.bg.is_this_process()
    }

    /// Queues one item of job `job` (identifier `id`) that `encode` writes in place;
    /// returns the job's queue length.
    #[inline]
    pub fn push_with<E>(
        &self,
        job: usize,
        id: &[u8],
        now: Tick,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut st = self.bg.lock();
        if st.jobs.len() <= job {
            st.jobs.resize_with(job + 1, OutJob::default);
        }
        if st.jobs[job].id.is_empty() {
            st.jobs[job].id = id.to_vec();
        }
        st.jobs[job].queue.push_with(now, encode)?;
        st.queued += 1;
        st.accepted += 1;
        let len = st.jobs[job].queue.len();
        // Wake the sender for the first item, and again for every full backlog step:
        // a fast producer must not wait for its next round.
        if st.queued == 1 || st.queued.is_multiple_of(BACKLOG) {
            self.bg.wake.notify_one();
        }
        Ok(len)
    }

    /// Takes a job's queued items back (to spool them in the caller's thread when
    /// the sender cannot keep up).
    pub fn take(&self, job: usize) -> Batch {
        let mut st = self.bg.lock();
        let b = st.jobs[job].queue.take_all();
        st.queued -= b.len();
        b
    }

    /// Items of `job` waiting, and what the sender did for it.
    pub fn job_state(&self, job: usize) -> (usize, OutCounters) {
        let st = self.bg.lock();
        st.jobs.get(job).map(|j| (j.queue.len(), j.counters.clone())).unwrap_or_default()
    }

    /// Warnings the sender left for the PHP thread to raise, each with the key of its
    /// reason (raise one per key and process).
    pub fn take_warnings(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.bg.lock().warnings)
    }

    /// Hands everything queued to the transport now, waiting at most `timeout`;
    /// returns how many items were queued since the last flush and are handed off
    /// now (whether the sender took them during this call or just before it). A
    /// stopped outbox takes nothing.
    pub fn flush(&self, timeout: Duration) -> u64 {
        let mut st = self.bg.lock();
        if st.stopped {
            return 0;
        }
        let accepted = std::mem::take(&mut st.accepted);
        st.requested += 1;
        let target = st.requested;
        self.bg.wake.notify_one();
        let deadline = Instant::now() + timeout;
        let (st, done) = self.bg.wait_done(st, Some(deadline), |st| st.completed >= target);
        // Timed out: what the sender has not taken yet is not handed off.
        if done {
            accepted
        } else {
            accepted.saturating_sub(st.queued as u64)
        }
    }

    /// At process exit: lets the sender hand off what is queued for at most
    /// `timeout`, then writes what is left to the spool from this thread. Returns
    /// warnings not raised yet, as (reason key, message): the sender's, and items
    /// that could not be stored at all.
    pub fn shutdown(&self, timeout: Duration) -> Vec<(String, String)> {
        let left = self.stop(timeout);
        // What the sender met in its last rounds (a refused queue or spool) was
        // never raised: no request follows.
        let mut warnings = self.take_warnings();
        let disk = DiskConfig {
            spool_dir: self.config.spool_dir.clone(),
            default_base: self.config.default_base.clone(),
            ..Default::default()
        };
        let left = left.into_iter().map(|(id, items)| (id, items, None)).collect();
        for msg in spool_left(&disk, left, "queued items") {
            warnings.push((msg.clone(), msg));
        }
        warnings
    }

    /// Stops the sender after it sent what is queued, waiting at most `timeout`.
    /// Returns what it did not take, per job, for the caller to spool.
    pub fn stop(&self, timeout: Duration) -> Vec<(Vec<u8>, Batch)> {
        self.bg.stop(timeout, |st| {
            let mut left = Vec::new();
            for job in &mut st.jobs {
                let b = job.queue.take_all();
                if !b.is_empty() {
                    left.push((job.id.clone(), b));
                }
            }
            st.queued = 0;
            left
        })
    }
}

/// The background thread's side.
struct Sender {
    config: OutboxConfig,
    bg: Arc<Background<State>>,
    queue: Option<Queue>,
    queue_refused: bool,
    msgmax: usize,
    scratch: Vec<u8>,
    segments: Option<JobSegments>,
}

/// What one round did for one job.
#[derive(Default)]
struct Round {
    sent: u64,
    spooled: u64,
    dropped: u64,
    error: Option<String>,
}

impl Sender {
    fn new(config: OutboxConfig, bg: Arc<Background<State>>) -> Self {
        Sender {
            config,
            bg,
            queue: None,
            queue_refused: false,
            msgmax: sysv::msgmax(),
            scratch: Vec::new(),
            segments: None,
        }
    }

    fn run(mut self) {
        loop {
            let (taken, flush_target, stop) = {
                let mut st = self.bg.lock();
                if st.queued == 0 && st.completed == st.requested {
                    // A segment to make ready soon: wake for it.
                    st = self.bg.nap(st, self.segments.as_ref().and_then(JobSegments::next_due));
                }
                if st.queued > 0 && st.queued < BACKLOG && st.completed == st.requested && !st.stop {
                    // Let a trickle gather into fuller messages; a backlog goes at once.
                    drop(st);
                    std::thread::sleep(SEND_EVERY);
                    st = self.bg.lock();
                }
                let mut taken = Vec::new();
                for (j, job) in st.jobs.iter_mut().enumerate() {
                    if !job.queue.is_empty() {
                        taken.push((j, job.id.clone(), job.queue.take_all()));
                    }
                }
                st.queued = 0;
                (taken, st.requested, st.stop)
            };
            let rounds = self.send(&taken);
            self.rotate_segment(stop);
            let mut st = self.bg.lock();
            for ((j, _, _), round) in taken.iter().zip(rounds) {
                let c = &mut st.jobs[*j].counters;
                c.sent += round.sent;
                c.spooled += round.spooled;
                c.dropped += round.dropped;
                if round.error.is_some() {
                    c.last_error = round.error;
                }
            }
            st.completed = flush_target;
            if stop && st.queued == 0 {
                self.bg.say_stopped(&mut st);
                return;
            }
            self.bg.done.notify_all();
        }
    }

    fn warn(&self, key: String, msg: String) {
        self.bg.lock().warnings.push((key, msg));
    }

    fn open_queue(&mut self) -> Option<Queue> {
        if let (None, false, Transport::Sysv { key, mode }) =
            (&self.queue, self.queue_refused, &self.config.transport)
        {
            match Queue::open(*key, *mode) {
                Ok(q) => self.queue = Some(q),
                Err(e) => {
                    self.queue_refused = true;
                    self.warn(format!("queue:{e}"), format!("asyncbatch: {e}; items go to the spool"));
                }
            }
        }
        self.queue
    }

    fn send(&mut self, taken: &[(usize, Vec<u8>, Batch)]) -> Vec<Round> {
        let mut rounds: Vec<Round> = taken.iter().map(|_| Round::default()).collect();
        let queue = self.open_queue();
        let mut to_spool: Vec<(usize, &[u8], Batch)> = Vec::new();
        match queue {
            None => {
                to_spool.extend(taken.iter().enumerate().map(|(i, (_, id, b))| (i, id.as_slice(), b.clone())))
            }
            Some(q) => {
                let mut full = false;
                for (i, (_, id, items)) in taken.iter().enumerate() {
                    if full {
                        to_spool.push((i, id, items.clone()));
                        continue;
                    }
                    let mut packer = Packer::new(self.msgmax);
                    if let Some(over) = packer.add(id, items) {
                        to_spool.push((i, id, over.items));
                    }
                    for (message, count) in packer.finish_counted() {
                        if full {
                            self.requeue_message(&message, i, id, &mut to_spool);
                            continue;
                        }
                        match q.send(&message, &mut self.scratch) {
                            Ok(()) => rounds[i].sent += count,
                            Err(SendError::Full) => {
                                full = true;
                                self.requeue_message(&message, i, id, &mut to_spool);
                            }
                            Err(SendError::Unusable(why)) => {
                                self.queue = None;
                                full = true;
                                rounds[i].error = Some(format!("message queue: {why}"));
                                self.requeue_message(&message, i, id, &mut to_spool);
                            }
                        }
                    }
                }
            }
        }
        for (i, id, items) in to_spool {
            match self.append_to_segment(id, &items) {
                Ok(()) => rounds[i].spooled += items.len() as u64,
                Err(e) => {
                    rounds[i].dropped += items.len() as u64;
                    let msg = dropped_message(&e, items.len(), id);
                    rounds[i].error = Some(msg.clone());
                    self.warn(spool_warning_key(&e), msg);
                }
            }
        }
        rounds
    }

    /// Puts the items of an unsent message on the list for the spool.
    fn requeue_message<'a>(
        &self,
        message: &[u8],
        i: usize,
        id: &'a [u8],
        to_spool: &mut Vec<(usize, &'a [u8], Batch)>,
    ) {
        if let Some(frames) = crate::transport::message::decode(message) {
            let mut items = Batch::new();
            for f in frames {
                items.append(f.items);
            }
            to_spool.push((i, id, items));
        }
    }

    fn append_to_segment(&mut self, id: &[u8], items: &Batch) -> Result<(), secure_fs::StorageError> {
        if self.segments.is_none() {
            if let Some(base) = &self.config.default_base {
                secure_fs::ensure_private_dir(base, "directory")?;
            }
            let spool = Spool::open(&self.config.spool_dir)?;
            self.segments = Some(JobSegments::new(spool, SEGMENT_EVERY, SEGMENT_MAX_BYTES));
        }
        let frame = Frame { job: id.to_vec(), items: items.clone(), batch: None };
        self.segments.as_mut().expect("opened").append(std::slice::from_ref(&frame))
    }

    fn rotate_segment(&mut self, force: bool) {
        if let Some(journal) = &mut self.segments {
            if let Err(e) = journal.rotate(force) {
                self.warn(format!("rotate:{e}"), format!("asyncbatch: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame;
    use crate::item::Value;

    fn config(dir: &std::path::Path, transport: Transport) -> OutboxConfig {
        OutboxConfig { transport, spool_dir: dir.join("spool"), default_base: None }
    }

    fn push(o: &Outbox, job: usize, v: i64) {
        o.push_with::<()>(job, if job == 0 { b"logs" } else { b"j" }, Tick::ZERO, |buf| {
            buf.extend_from_slice(&Value::Int(v).encode());
            Ok(())
        })
        .unwrap();
    }

    fn spooled_items(dir: &std::path::Path) -> Vec<Value> {
        let mut out = Vec::new();
        let mut names: Vec<_> =
            std::fs::read_dir(dir.join("spool")).unwrap().flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            let scan = frame::scan_segment(&std::fs::read(&p).unwrap());
            for f in scan.frames {
                out.extend(f.items.iter().map(|b| Value::decode(b).unwrap()));
            }
        }
        out
    }

    #[test]
    fn the_spool_transport_writes_segments() {
        let t = tempfile::tempdir().unwrap();
        let o = Outbox::start(config(t.path(), Transport::Spool)).unwrap();
        for i in 0..100 {
            push(&o, 0, i);
        }
        assert_eq!(o.flush(Duration::from_secs(5)), 100);
        assert!(o.stop(Duration::from_secs(5)).is_empty());
        let items = spooled_items(t.path());
        assert_eq!(items, (0..100).map(Value::Int).collect::<Vec<_>>());
        assert_eq!(o.job_state(0).1.spooled, 100);
    }

    #[test]
    fn a_full_queue_sends_the_rest_to_the_spool() {
        let t = tempfile::tempdir().unwrap();
        let key = 0x5b00_0000 | (std::process::id() as i32 & 0xffff) << 4;
        let o = Outbox::start(config(t.path(), Transport::Sysv { key, mode: 0o600 })).unwrap();
        // Far more than the default 16 KiB queue holds.
        for i in 0..20_000 {
            push(&o, 0, i);
        }
        o.flush(Duration::from_secs(5));
        let (_, c) = o.job_state(0);
        assert_eq!(c.sent + c.spooled, 20_000);
        assert!(c.sent > 0 && c.spooled > 0, "{c:?}");
        o.stop(Duration::from_secs(5));
        // Everything is in the queue or the spool, in order within each.
        let q = Queue::open_existing(key).unwrap().unwrap();
        let mut buf = Vec::new();
        let mut from_queue = Vec::new();
        while q.receive(&mut buf).unwrap().is_some() {
            for f in crate::transport::message::decode(&buf).unwrap() {
                from_queue.extend(f.items.iter().map(|b| Value::decode(b).unwrap()));
            }
        }
        q.remove();
        let mut all = from_queue;
        all.extend(spooled_items(t.path()));
        all.sort_by_key(|v| match v {
            Value::Int(i) => *i,
            _ => -1,
        });
        assert_eq!(all, (0..20_000).map(Value::Int).collect::<Vec<_>>());
    }

    #[test]
    fn stop_returns_nothing_when_the_sender_kept_up() {
        let t = tempfile::tempdir().unwrap();
        let o = Outbox::start(config(t.path(), Transport::Spool)).unwrap();
        push(&o, 0, 1);
        assert!(o.stop(Duration::from_secs(5)).is_empty());
        assert_eq!(spooled_items(t.path()), vec![Value::Int(1)]);
        assert_eq!(o.flush(Duration::from_millis(10)), 0, "a stopped outbox takes nothing");
    }

    #[test]
    fn an_unusable_spool_counts_drops_and_warns() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("spool"), b"a file").unwrap();
        let o = Outbox::start(config(t.path(), Transport::Spool)).unwrap();
        push(&o, 0, 1);
        o.flush(Duration::from_secs(5));
        assert_eq!(o.job_state(0).1.dropped, 1);
        let w = o.take_warnings();
        assert!(w[0].1.contains("not a directory"), "{w:?}");
    }
}

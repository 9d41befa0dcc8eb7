//! A background thread of a PHP process and the state it shares with the PHP
//! thread: the scaffold of the daemon runner's sender ([`crate::outbox`]) and of the
//! HTTP sender ([`crate::http::sender`]).
//!
//! The thread is started on first use, never in MINIT (php-fpm forks its workers
//! after it). One inherited over `fork()` is told apart without a system call: its
//! thread did not come along. At process exit it is asked to stop, given a bounded
//! time, and joined once it said it stopped (a thread still ending when the process
//! exits leaves its thread-local storage behind); what it did not take is written
//! to the spool from the PHP thread.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::ledger::{dropped_message, Disk, DiskConfig};
use crate::naming;
use crate::sync::{Condvar, Mutex, MutexGuard};

/// The part of a shared state that says how the thread's life stands.
pub trait Lifecycle {
    /// The PHP thread asked the thread to stop.
    fn stop_requested(&self) -> bool;
    /// Asks the thread to stop.
    fn request_stop(&mut self);
    /// The thread said it stopped (or the PHP thread gave up on it).
    fn has_stopped(&self) -> bool;
    /// Marks the thread stopped.
    fn mark_stopped(&mut self);
}

/// A thread and the state it shares.
#[derive(Debug)]
pub struct Background<S> {
    state: Mutex<S>,
    /// Wakes the thread: new items, a flush, the stop.
    pub wake: Condvar,
    /// Wakes the PHP thread: a round done, the stop.
    pub done: Condvar,
    fork_generation: u64,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<S: Lifecycle + Send + 'static> Background<S> {
    /// Starts thread `name` running `run` on a new shared `state`.
    pub fn start(
        name: &str,
        state: S,
        run: impl FnOnce(Arc<Background<S>>) + Send + 'static,
    ) -> std::io::Result<Arc<Background<S>>> {
        let bg = Arc::new(Background {
            state: Mutex::new(state),
            wake: Condvar::new(),
            done: Condvar::new(),
            fork_generation: crate::fork::generation(),
            thread: Mutex::new(None),
        });
        let thread_side = Arc::clone(&bg);
        let handle = std::thread::Builder::new().name(name.into()).spawn(move || run(thread_side))?;
        *bg.thread.lock() = Some(handle);
        Ok(bg)
    }

    /// Whether it was made in this process, not inherited over a fork. No system
    /// call: a submit asks.
    #[inline]
    pub fn is_this_process(&self) -> bool {
        self.fork_generation == crate::fork::generation()
    }

    /// Locks the shared state.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, S> {
        self.state.lock()
    }

    /// Waits on `done` until `ready` holds or `deadline` passes; says whether it holds.
    pub fn wait_done<'a>(
        &self,
        mut st: MutexGuard<'a, S>,
        deadline: Option<Instant>,
        ready: impl Fn(&S) -> bool,
    ) -> (MutexGuard<'a, S>, bool) {
        while !ready(&st) {
            match deadline {
                None => st = self.done.wait(st),
                Some(d) => {
                    let (guard, timed_out) = self.done.wait_until(st, d);
                    st = guard;
                    if timed_out {
                        let ok = ready(&st);
                        return (st, ok);
                    }
                }
            }
        }
        (st, true)
    }

    /// The thread side: sleeps on `wake` until `deadline` (or a notification), unless
    /// a stop was asked.
    pub fn nap<'a>(&self, st: MutexGuard<'a, S>, deadline: Option<Instant>) -> MutexGuard<'a, S> {
        if st.stop_requested() {
            return st;
        }
        match deadline {
            None => self.wake.wait(st),
            Some(d) => self.wake.wait_until(st, d).0,
        }
    }

    /// The thread side: says it stopped; the caller returns right after.
    pub fn say_stopped(&self, st: &mut S) {
        st.mark_stopped();
        self.done.notify_all();
    }

    /// Asks the thread to stop and waits for it at most `timeout`; then `take` takes
    /// what is left from the state (the thread, if still running, sees it marked
    /// stopped and gives up). The thread is joined if it stopped in time.
    pub fn stop<T>(&self, timeout: Duration, take: impl FnOnce(&mut S) -> T) -> T {
        let mut st = self.state.lock();
        st.request_stop();
        self.wake.notify_all();
        let (mut st, ended) = self.wait_done(st, Some(Instant::now() + timeout), S::has_stopped);
        let left = take(&mut st);
        st.mark_stopped();
        drop(st);
        if ended {
            // It returns right after saying so; one still working is left be.
            if let Some(handle) = self.thread.lock().take() {
                let _ = handle.join();
            }
        }
        left
    }
}

/// Writes what a thread left, per job, to the spool from the calling thread (a batch
/// it had cut under its id).
/// Returns a message for what could not be written (`what` names those items when
/// the spool cannot be opened at all).
pub fn spool_left(
    disk: &DiskConfig,
    left: Vec<(Vec<u8>, Batch, Option<BatchId>)>,
    what: &str,
) -> Vec<String> {
    if left.is_empty() {
        return Vec::new();
    }
    let mut disk = Disk::new(disk.clone());
    let spool = match disk.spool() {
        Ok(spool) => spool,
        Err(e) => return vec![format!("asyncbatch: cannot write to the spool: {e}; {what} dropped at exit")],
    };
    let mut messages = Vec::new();
    for (id, items, batch) in left {
        let n = items.len();
        let key = naming::jobkey(&id);
        let written = spool.write_runs(&key, &id, &[(batch, items)]);
        if let Err(e) = written {
            messages.push(dropped_message(&e, n, &id));
        }
    }
    messages
}

//! The mutex and condition variable the background threads share with the PHP
//! thread: std's futex-based ones, which keep all their state in the lock itself.
//!
//! Not parking_lot's: it keeps every parked thread in one process-wide table, and a
//! child forked while one of our threads was parked inherits that entry. It points
//! into the thread's storage, which glibc frees when the child starts a thread of its
//! own; the child's next wait then writes into freed memory.
//!
//! A lock is taken even if a thread panicked while holding it: what it guards are
//! queues and counters, still whole, and losing them would lose items.

use std::sync::PoisonError;
use std::time::Instant;

pub use std::sync::MutexGuard;

/// A mutex whose `lock` never fails.
#[derive(Debug, Default)]
pub struct Mutex<T>(std::sync::Mutex<T>);

impl<T> Mutex<T> {
    /// A new mutex.
    pub const fn new(value: T) -> Self {
        Mutex(std::sync::Mutex::new(value))
    }

    /// Locks it, waiting as long as it takes.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A condition variable for [`Mutex`].
#[derive(Debug, Default)]
pub struct Condvar(std::sync::Condvar);

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Self {
        Condvar(std::sync::Condvar::new())
    }

    /// Waits for a notification (or a spurious wake-up).
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a notification until `deadline`; also says whether the deadline
    /// passed.
    pub fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Instant,
    ) -> (MutexGuard<'a, T>, bool) {
        let timeout = deadline.saturating_duration_since(Instant::now());
        let (guard, result) = self.0.wait_timeout(guard, timeout).unwrap_or_else(PoisonError::into_inner);
        (guard, result.timed_out())
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}

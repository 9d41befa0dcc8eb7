//! Signals in daemon processes: SIGTERM and SIGINT ask to stop, SIGHUP to reopen the
//! log. Handlers only set flags; loops look at them.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static HUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    match sig {
        libc::SIGHUP => HUP.store(true, Ordering::SeqCst),
        _ => STOP.store(true, Ordering::SeqCst),
    }
}

/// Installs the handlers (restarting interrupted system calls, so a callable's I/O
/// is not broken by a signal).
pub fn install() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a handler that only stores to atomics.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Whether a stop was asked for.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Asks to stop (tests, or the master's death).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether a SIGHUP came since the last call.
pub fn take_hup() -> bool {
    HUP.swap(false, Ordering::SeqCst)
}

/// Clears inherited flags in a new child.
pub fn reset() {
    STOP.store(false, Ordering::SeqCst);
    HUP.store(false, Ordering::SeqCst);
}

/// Makes this (child) process get SIGTERM when its parent dies; returns false when
/// the parent is already gone.
pub fn die_with_parent(parent: libc::pid_t) -> bool {
    // SAFETY: plain process-control calls.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        libc::getppid() == parent
    }
}

/// Sleeps, waking early when a stop is asked for.
pub fn sleep(d: std::time::Duration) {
    let deadline = std::time::Instant::now() + d;
    while !stop_requested() {
        let now = std::time::Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(std::time::Duration::from_millis(20)));
    }
}

/// Holds the stop and reload signals back while it lives (a callable running in a
/// daemon worker); they are delivered when it is dropped.
pub struct BlockedDuringCall {
    old: libc::sigset_t,
}

impl BlockedDuringCall {
    /// Blocks SIGTERM, SIGINT and SIGHUP for this thread.
    pub fn new() -> Self {
        // SAFETY: signal sets are plain data; pthread_sigmask on the current thread.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::sigaddset(&mut set, sig);
            }
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            BlockedDuringCall { old }
        }
    }
}

impl Default for BlockedDuringCall {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for BlockedDuringCall {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in new().
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}

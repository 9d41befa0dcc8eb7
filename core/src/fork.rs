//! Noticing `fork()` (pcntl_fork, php-fpm's workers) without a system call per
//! submit: a child handler bumps a counter; code that keeps per-process state
//! compares it with the value it saw last.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Installs the handler (once per process; children inherit it).
pub fn install() {
    // SAFETY: registering a handler that only touches an atomic.
    INSTALL.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(in_child));
    });
}

/// Changes in every child after a fork.
#[inline]
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_child_sees_a_new_generation() {
        super::install();
        let before = super::generation();
        // SAFETY: the child only reads an atomic and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = if super::generation() == before + 1 { 0 } else { 1 };
            unsafe { libc::_exit(code) };
        }
        let mut st = 0;
        unsafe { libc::waitpid(pid, &mut st, 0) };
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0);
        assert_eq!(super::generation(), before, "the parent is unchanged");
    }
}

//! The clock items are stamped with when queued: CLOCK_MONOTONIC_COARSE, a few
//! nanoseconds to read (no syscall, no counter read), with the kernel tick's
//! resolution (1-4 ms), plenty for `callPeriod`.

use std::time::Duration;

/// A point in time, as a duration since an arbitrary fixed moment (boot).
pub type Tick = Duration;

/// Now, coarsely.
#[inline]
pub fn coarse_now() -> Tick {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to fill; this clock id exists on every Linux since 2.6.32.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn coarse_time_moves_forward() {
        let a = super::coarse_now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = super::coarse_now();
        assert!(b > a && b - a >= std::time::Duration::from_millis(10), "{a:?} {b:?}");
    }
}

//! Running a command under a timeout, and waiting for a condition.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What a finished command left.
#[derive(Debug)]
pub struct Output {
    /// Exit status (a killed command has no code).
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr, lossily decoded.
    pub stderr: String,
    /// From spawn to exit.
    pub elapsed: Duration,
    /// True when the timeout killed it.
    pub timed_out: bool,
}

impl Output {
    /// stdout, lossily decoded.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Panics with both streams unless the command exited with status 0.
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(
            self.status.success() && !self.timed_out,
            "{what} failed ({}{})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            if self.timed_out { ", killed by the timeout" } else { "" },
            self.stdout_str(),
            self.stderr
        );
        self
    }
}

/// Runs `command` with stdin from `stdin` (empty if `None`), captures both output
/// streams, and kills it with SIGKILL if it is still running after `timeout`.
pub fn run_with_timeout(command: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child =
        command.spawn().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
    let pid = child.id() as libc::pid_t;

    // The watchdog kills the child at the deadline unless told it has exited.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if done_rx.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) {
            // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        } else {
            false
        }
    });

    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&input);
        });
    }
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let mut stdout = Vec::new();
    let _ = out_pipe.read_to_end(&mut stdout);
    let status = child.wait().expect("wait for child");
    let elapsed = start.elapsed();
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Output { status, stdout, stderr, elapsed, timed_out }
}

/// Calls `condition` every `every` until it returns true or `timeout` has passed.
/// Returns whether it became true: assert it, saying what was waited for.
#[must_use = "a wait that timed out must fail the test: assert the result"]
pub fn wait_until(timeout: Duration, every: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(every);
    }
}

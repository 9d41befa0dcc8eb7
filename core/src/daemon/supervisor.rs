//! The daemon's master: starts the receiver and the workers, restarts those that
//! die, merges their status into `daemon.status`, and stops them all on SIGTERM.
//!
//! Workers are forked and *return* to the PHP script that called
//! [`supervise`], which then loads the application's bootstrap in them: the master
//! itself never runs application code, so nothing of it (connections, state) is
//! shared by the workers.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::daemon::consume::ConsumeOptions;
use crate::daemon::lock::ProcessLock;
use crate::daemon::metrics::{self, HostGauges};
use crate::daemon::metrics_endpoint::Endpoint;
use crate::daemon::options::DaemonOptions;
use crate::daemon::receiver::{Receiver, Step};
use crate::daemon::signals;
use crate::daemon::status::{
    self, DaemonStatus, JobCounters, QueueEntry, ReceivedEntry, ReceiverStatus, SpoolEntry, UnknownJob,
    WorkerEntry, WorkerStatus,
};
use crate::naming;
use crate::spool::Spool;
use crate::transport::sysv::Queue;

/// How long the first start of a worker may take (loading the bootstrap).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A process that lived this long starts its backoff over.
const BACKOFF_RESET: Duration = Duration::from_secs(60);

static READY_FD: AtomicI32 = AtomicI32::new(-1);
static WORKER_INDEX: AtomicUsize = AtomicUsize::new(0);

/// What the daemon's workers do.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Mode {
    /// Call the jobs' callables (`asyncbatch daemon`).
    #[default]
    Deliver,
    /// Append each batch to its job's Redis stream (`asyncbatch daemon --forward`).
    Forward {
        /// `redis://…`.
        url: String,
    },
    /// Read the jobs' Redis streams and call their callables (`asyncbatch consume`).
    Consume(ConsumeOptions),
}

impl Mode {
    /// The command, in log lines and the names of its files: `daemon` or `consume`
    /// (a host may run both, on one spool directory).
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Consume(_) => "consume",
            _ => "daemon",
        }
    }
}

static MODE: std::sync::Mutex<Mode> = std::sync::Mutex::new(Mode::Deliver);

/// What this process's daemon workers do (set by [`supervise`], inherited by forks).
pub fn mode() -> Mode {
    MODE.lock().map(|m| m.clone()).unwrap_or_default()
}

/// The status file of a worker of the `name` command.
pub fn worker_status_file(name: &str, index: usize) -> String {
    format!("{name}.w{index}.json")
}

/// How the daemon runs.
pub struct Options {
    /// What the workers do.
    pub mode: Mode,
    /// Daemon workers and the stop timeout.
    pub daemon: DaemonOptions,
    /// The bootstrap file, for messages and the status.
    pub bootstrap: String,
    /// The spool directory (received segments, status, locks).
    pub spool_dir: PathBuf,
    /// The failure store's directory, measured for the metrics.
    pub failure_dir: PathBuf,
    /// The queue, when the transport is SysV.
    pub queue: Option<Queue>,
    /// Where to serve the metrics (`--metrics`), if anywhere.
    pub metrics: Option<SocketAddr>,
}

/// What the calling process is, when [`supervise`] returns.
#[derive(Debug, PartialEq, Eq)]
pub enum Role {
    /// A new worker: load the bootstrap, then run the worker loop.
    Worker {
        /// Its number, from 1.
        index: usize,
    },
    /// The master, done.
    Master {
        /// The exit code for the daemon.
        exit_code: i32,
    },
}

/// This worker's number (0 outside daemon workers).
pub fn worker_index() -> usize {
    WORKER_INDEX.load(Ordering::SeqCst)
}

/// Tells the master this worker is ready (after the bootstrap) or why it is not.
pub fn announce(ready: Result<(), &str>) {
    let fd = READY_FD.swap(-1, Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let line = match ready {
        Ok(()) => "R\n".to_string(),
        Err(why) => format!("E {}\n", why.replace('\n', " ")),
    };
    // SAFETY: our end of the readiness pipe, written once and closed.
    unsafe {
        libc::write(fd, line.as_ptr().cast(), line.len());
        libc::close(fd);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Receiver,
    Worker(usize),
}

struct Slot {
    kind: Kind,
    pid: libc::pid_t,
    started: Instant,
    restarts: u32,
    backoff: Duration,
    restart_at: Option<Instant>,
    ready: Option<OwnedFd>,
    last: WorkerStatus,
}

/// What a fork gave.
enum Forked {
    Parent(libc::pid_t, Option<OwnedFd>),
    Worker(usize),
}

/// Runs the master; returns in new workers and when the daemon is done. `log`
/// writes a line to the daemon's log; `fatal` a line that ends it (start-up
/// errors), which the caller also shows where the operator looks first.
pub fn supervise(opts: Options, log: &dyn Fn(&str), fatal: &dyn Fn(&str)) -> Role {
    if let Ok(mut m) = MODE.lock() {
        *m = opts.mode.clone();
    }
    let name = opts.mode.name();
    let spool = match Spool::open(&opts.spool_dir) {
        Ok(s) => s,
        Err(e) => {
            log(&format!("asyncbatch {name}: {e}"));
            return Role::Master { exit_code: 1 };
        }
    };
    let lock = match ProcessLock::take(spool.dir(), name) {
        Ok(Ok(l)) => l,
        Ok(Err(pid)) => {
            log(&format!(
                "asyncbatch {name}: another {name} is running on {} (pid {pid})",
                spool.dir().display()
            ));
            return Role::Master { exit_code: 1 };
        }
        Err(e) => {
            log(&format!("asyncbatch {name}: {e}"));
            return Role::Master { exit_code: 1 };
        }
    };
    let endpoint = match opts.metrics.map(Endpoint::bind).transpose() {
        Ok(e) => e,
        Err(e) => {
            fatal(&format!(
                "asyncbatch {name}: cannot serve the metrics on {}: {e}",
                opts.metrics.map(|a| a.to_string()).unwrap_or_default()
            ));
            return Role::Master { exit_code: 1 };
        }
    };
    signals::install();
    let mut master = Master {
        opts,
        spool,
        lock: Some(lock),
        slots: Vec::new(),
        started_at: naming::unix_secs(),
        retired: BTreeMap::new(),
        reported_unknown: Default::default(),
        pid: std::process::id() as libc::pid_t,
        endpoint,
        metrics: String::new(),
    };
    match master.run(log, fatal) {
        Ok(code) => Role::Master { exit_code: code },
        Err(index) => Role::Worker { index },
    }
}

struct Master {
    opts: Options,
    spool: Spool,
    lock: Option<ProcessLock>,
    slots: Vec<Slot>,
    started_at: f64,
    retired: BTreeMap<String, JobCounters>,
    reported_unknown: std::collections::HashSet<String>,
    pid: libc::pid_t,
    endpoint: Option<Endpoint>,
    /// The metrics as last rendered.
    metrics: String,
}

impl Master {
    /// `Ok(exit code)` in the master; `Err(index)` in a new worker.
    fn run(&mut self, log: &dyn Fn(&str), fatal: &dyn Fn(&str)) -> Result<i32, usize> {
        // A consumer reads Redis, not this host's queue.
        if !matches!(self.opts.mode, Mode::Consume(_)) {
            self.slots.push(self.slot(Kind::Receiver));
        }
        let name = self.opts.mode.name();
        for i in 1..=self.opts.daemon.workers {
            self.slots.push(self.slot(Kind::Worker(i)));
        }
        for i in 0..self.slots.len() {
            self.start(i, log)?;
        }
        // Every worker's first start must get through the bootstrap.
        for i in 0..self.slots.len() {
            if let Err(why) = self.wait_ready(i) {
                fatal(&format!("asyncbatch {name}: {why}"));
                self.stop_all(Duration::from_secs(2));
                self.cleanup();
                return Ok(1);
            }
        }
        log(&format!(
            "asyncbatch {name}: running (pid {}) with {} workers{}; bootstrap {}",
            self.pid,
            self.opts.daemon.workers,
            match &self.opts.mode {
                Mode::Deliver => String::new(),
                Mode::Forward { url } => format!(" forwarding to {}", crate::http::config::redacted_url(url)),
                Mode::Consume(c) =>
                    format!(" consuming {} as group '{}'", crate::http::config::redacted_url(&c.url), c.group),
            },
            self.opts.bootstrap
        ));
        let mut last_status = Instant::now() - Duration::from_secs(10);
        loop {
            if signals::stop_requested() {
                log(&format!("asyncbatch {name}: stopping"));
                self.stop_all(self.opts.daemon.stop_timeout);
                self.cleanup();
                log(&format!("asyncbatch {name}: stopped"));
                return Ok(0);
            }
            if signals::take_hup() {
                log(&format!("asyncbatch {name}: SIGHUP: log reopened"));
            }
            self.reap(log);
            for i in 0..self.slots.len() {
                if self.slots[i].restart_at.is_some_and(|t| Instant::now() >= t) {
                    self.start(i, log)?;
                }
            }
            if last_status.elapsed() >= Duration::from_secs(1) {
                self.write_status(log);
                last_status = Instant::now();
            }
            if let Some(e) = &self.endpoint {
                e.serve(&self.metrics);
            }
            signals::sleep(Duration::from_millis(100));
        }
    }

    fn slot(&self, kind: Kind) -> Slot {
        Slot {
            kind,
            pid: 0,
            started: Instant::now(),
            restarts: 0,
            backoff: BACKOFF_FIRST,
            restart_at: None,
            ready: None,
            last: WorkerStatus::default(),
        }
    }

    fn start(&mut self, i: usize, log: &dyn Fn(&str)) -> Result<(), usize> {
        let kind = self.slots[i].kind;
        match self.fork(kind, log) {
            Forked::Worker(index) => Err(index),
            Forked::Parent(pid, ready) => {
                let s = &mut self.slots[i];
                s.pid = pid;
                s.started = Instant::now();
                s.restart_at = None;
                s.ready = ready;
                Ok(())
            }
        }
    }

    fn fork(&mut self, kind: Kind, log: &dyn Fn(&str)) -> Forked {
        let mut fds = [-1 as RawFd; 2];
        let want_pipe = matches!(kind, Kind::Worker(_));
        // SAFETY: a pipe for the readiness line, closed on exec.
        if want_pipe && unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            fds = [-1, -1];
        }
        // SAFETY: fork; the child only returns to PHP (a worker) or runs the
        // receiver loop and _exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            log(&format!("asyncbatch daemon: fork: {}", std::io::Error::last_os_error()));
            return Forked::Parent(0, None);
        }
        if pid > 0 {
            if fds[1] >= 0 {
                unsafe { libc::close(fds[1]) };
            }
            let read = (fds[0] >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fds[0]) });
            return Forked::Parent(pid, read);
        }
        // The child.
        signals::reset();
        signals::install();
        if !signals::die_with_parent(self.pid) {
            unsafe { libc::_exit(1) };
        }
        if let Some(lock) = self.lock.take() {
            lock.forget_in_child();
        }
        self.endpoint = None; // the listening socket is the master's
        for s in &mut self.slots {
            s.ready = None; // close the master's read ends
        }
        if fds[0] >= 0 {
            unsafe { libc::close(fds[0]) };
        }
        match kind {
            Kind::Receiver => {
                run_receiver(self.opts.queue, &self.opts.spool_dir, log);
                unsafe { libc::_exit(0) };
            }
            Kind::Worker(index) => {
                READY_FD.store(fds[1], Ordering::SeqCst);
                WORKER_INDEX.store(index, Ordering::SeqCst);
                Forked::Worker(index)
            }
        }
    }

    fn wait_ready(&mut self, i: usize) -> Result<(), String> {
        let Kind::Worker(index) = self.slots[i].kind else { return Ok(()) };
        let Some(fd) = self.slots[i].ready.take() else { return Ok(()) };
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut line = Vec::new();
        let mut file = std::fs::File::from(fd);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "worker {index} did not load the bootstrap {} within {}s",
                    self.opts.bootstrap,
                    READY_TIMEOUT.as_secs()
                ));
            }
            let mut pfd = libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(1000) as i32) };
            if rc <= 0 {
                continue;
            }
            let mut buf = [0u8; 512];
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    line.extend_from_slice(&buf[..n]);
                    if line.contains(&b'\n') {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let text = String::from_utf8_lossy(&line).trim().to_string();
        if text == "R" {
            return Ok(());
        }
        if let Some(why) = text.strip_prefix("E ") {
            return Err(format!("worker {index}: {why}"));
        }
        // Say how it ended: an exception's message was printed by PHP itself.
        let pid = self.slots[i].pid;
        let mut how = "exited".to_string();
        for _ in 0..50 {
            let mut st = 0;
            // SAFETY: reaps our own child if it exited.
            if unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) } == pid {
                self.slots[i].pid = 0;
                how = describe_exit(st);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "worker {index} {how} while loading the bootstrap {}, before it was ready",
            self.opts.bootstrap
        ))
    }

    fn reap(&mut self, log: &dyn Fn(&str)) {
        loop {
            let mut st = 0;
            // SAFETY: reaps any exited child without waiting.
            let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
            if pid <= 0 {
                return;
            }
            let Some(i) = self.slots.iter().position(|s| s.pid == pid) else { continue };
            let s = &mut self.slots[i];
            if s.started.elapsed() >= BACKOFF_RESET {
                s.backoff = BACKOFF_FIRST;
            }
            let delay = s.backoff;
            s.backoff = (s.backoff * 2).min(BACKOFF_MAX);
            s.restarts += 1;
            s.pid = 0;
            s.restart_at = Some(Instant::now() + delay);
            s.ready = None;
            let what = match s.kind {
                Kind::Receiver => "the receiver".to_string(),
                Kind::Worker(k) => format!("worker {k}"),
            };
            // Keep what the worker delivered in this daemon's totals.
            let last = std::mem::take(&mut s.last);
            for (job, c) in last.jobs {
                self.retired.entry(job).or_default().add(&c);
            }
            log(&format!(
                "asyncbatch daemon: {what} (pid {pid}) {}; restarting in {:.1}s",
                describe_exit(st),
                delay.as_secs_f64()
            ));
        }
    }

    fn stop_all(&mut self, timeout: Duration) {
        let pids: Vec<libc::pid_t> = self.slots.iter().map(|s| s.pid).filter(|&p| p > 0).collect();
        for &pid in &pids {
            // SAFETY: signalling our own children.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + timeout;
        let mut alive: Vec<libc::pid_t> = pids;
        while !alive.is_empty() && Instant::now() < deadline {
            alive.retain(|&pid| {
                let mut st = 0;
                // SAFETY: reaps this child if it exited.
                unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) == 0 }
            });
            std::thread::sleep(Duration::from_millis(20));
        }
        for &pid in &alive {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        for s in &mut self.slots {
            s.pid = 0;
            s.restart_at = None;
        }
    }

    fn cleanup(&mut self) {
        let dir = self.spool.dir().to_path_buf();
        let name = self.opts.mode.name();
        let _ = std::fs::remove_file(dir.join(format!("{name}.status")));
        let _ = std::fs::remove_file(dir.join(metrics::file_name(name)));
        let _ = std::fs::remove_file(dir.join("daemon.receiver.json"));
        for s in &self.slots {
            if let Kind::Worker(k) = s.kind {
                let _ = std::fs::remove_file(dir.join(worker_status_file(name, k)));
            }
        }
        self.lock = None;
    }

    fn write_status(&mut self, log: &dyn Fn(&str)) {
        let dir = self.spool.dir().to_path_buf();
        let mut st = DaemonStatus {
            v: 1,
            pid: self.pid as u32,
            started_at: self.started_at,
            heartbeat_at: naming::unix_secs(),
            bootstrap: self.opts.bootstrap.clone(),
            ..Default::default()
        };
        let mut jobs = self.retired.clone();
        let mut keys = std::collections::HashSet::new();
        for s in &mut self.slots {
            match s.kind {
                Kind::Worker(k) => {
                    if s.pid > 0 {
                        if let Some(ws) = status::read_json::<WorkerStatus>(
                            &dir.join(worker_status_file(self.opts.mode.name(), k)),
                        ) {
                            if ws.pid == s.pid as u32 {
                                s.last = ws;
                            }
                        }
                    }
                    for (job, c) in &s.last.jobs {
                        jobs.entry(job.clone()).or_default().add(c);
                    }
                    keys.extend(s.last.keys.iter().cloned());
                    st.workers.push(WorkerEntry { index: k, pid: s.pid.max(0) as u32, restarts: s.restarts });
                }
                Kind::Receiver => {
                    if let Some(rs) = status::read_json::<ReceiverStatus>(&dir.join("daemon.receiver.json")) {
                        st.foreign_messages = rs.foreign_messages;
                        st.received = Some(ReceivedEntry { messages: rs.messages, items: rs.jobs });
                        if rs.last_error.is_some() {
                            st.last_error = rs.last_error;
                        }
                    }
                }
            }
        }
        st.last_error = jobs
            .values()
            .filter(|c| c.last_error.is_some())
            .max_by(|a, b| a.last_flush_at.partial_cmp(&b.last_flush_at).unwrap_or(std::cmp::Ordering::Equal))
            .and_then(|c| c.last_error.clone())
            .or(st.last_error);
        st.jobs = jobs;
        if let Some(q) = self.opts.queue {
            if let Ok(qs) = q.stat() {
                st.queue = Some(QueueEntry {
                    key: format!("{:#x}", q.key()),
                    messages: qs.messages,
                    bytes: qs.bytes,
                });
            }
        }
        let host = HostGauges::measure(&dir, &self.opts.failure_dir);
        let spool = SpoolEntry {
            segments: host.spool.values().map(|f| f.files).sum(),
            bytes: host.spool.values().map(|f| f.bytes).sum(),
        };
        // Until a worker said which jobs it has, every job would look unknown.
        if !keys.is_empty() {
            for (key, segments) in super::unknown_segments(&dir, &keys) {
                st.unknown_jobs.insert(key, UnknownJob { segments });
            }
        }
        for key in st.unknown_jobs.keys() {
            if self.reported_unknown.insert(key.clone()) {
                log(&format!(
                    "asyncbatch daemon: segments for job key '{key}' wait in the spool, but the bootstrap registers no such job; they are kept"
                ));
            }
        }
        st.spool = spool;
        let name = self.opts.mode.name();
        if let Err(e) = status::write_json(&dir.join(format!("{name}.status")), &st) {
            log(&format!("asyncbatch {name}: cannot write the status: {e}"));
        }
        self.metrics = metrics::render(Some(&st), &host, st.heartbeat_at);
        // Not logged when it fails: the status above says the same thing first.
        let _ = status::write_atomic(&dir.join(metrics::file_name(name)), self.metrics.as_bytes());
    }
}

fn describe_exit(st: i32) -> String {
    if libc::WIFEXITED(st) {
        format!("exited with code {}", libc::WEXITSTATUS(st))
    } else if libc::WIFSIGNALED(st) {
        format!("was killed by signal {}", libc::WTERMSIG(st))
    } else {
        "stopped".into()
    }
}

/// The receiver process's loop: take the queue into segments, split mixed segments, report.
pub fn run_receiver(queue: Option<Queue>, spool_dir: &std::path::Path, log: &dyn Fn(&str)) {
    let spool = match Spool::open(spool_dir) {
        Ok(s) => s,
        Err(e) => {
            log(&format!("asyncbatch daemon: receiver: {e}"));
            return;
        }
    };
    let status_path = spool_dir.join("daemon.receiver.json");
    let mut r = Receiver::new(queue, spool);
    let mut idle = Duration::from_millis(1);
    let mut last_split = Instant::now() - Duration::from_secs(1);
    let mut last_status = Instant::now() - Duration::from_secs(10);
    let mut last_error = String::new();
    let mut lines = Vec::new();
    while !signals::stop_requested() {
        let mut took = false;
        match r.step(&mut lines) {
            Ok(Step::Took) => took = true,
            Ok(Step::Empty) => {}
            Err(e) => {
                if e != last_error {
                    lines.push(format!("asyncbatch daemon: receiver: {e}; retrying"));
                    r.status.last_error = Some(e.clone());
                    last_error = e;
                }
                signals::sleep(Duration::from_millis(100));
            }
        }
        if last_split.elapsed() >= Duration::from_millis(100) {
            took |= r.split_mixed(&mut lines) > 0;
            last_split = Instant::now();
        }
        if let Err(e) = r.rotate(false) {
            lines.push(format!("asyncbatch daemon: receiver: {e}"));
        }
        for l in lines.drain(..) {
            log(&l);
        }
        if last_status.elapsed() >= Duration::from_secs(1) {
            let _ = status::write_json(&status_path, &r.status);
            last_status = Instant::now();
        }
        if took {
            idle = Duration::from_millis(1);
        } else {
            // A segment being written is made ready soon even when nothing comes.
            let nap = if r.is_writing() { idle.min(Duration::from_millis(5)) } else { idle };
            signals::sleep(nap);
            idle = (idle * 2).min(Duration::from_millis(10));
        }
    }
    // Stopping: what is still on the queue goes to the spool first. A queue may go
    // away with the daemon (a container's IPC namespace does); the spool stays.
    // Bounded, since producers may still be sending.
    let deadline = Instant::now() + STOP_INGEST;
    while Instant::now() < deadline {
        match r.step(&mut lines) {
            Ok(Step::Took) => {
                let _ = r.rotate(false);
            }
            Ok(Step::Empty) => break,
            Err(e) => {
                lines.push(format!("asyncbatch daemon: receiver: {e}"));
                break;
            }
        }
    }
    let _ = r.rotate(true);
    for l in lines.drain(..) {
        log(&l);
    }
    let _ = status::write_json(&status_path, &r.status);
}

/// The longest the receiver keeps taking the queue into segments once asked to stop.
const STOP_INGEST: Duration = Duration::from_secs(2);

/// Drains what the queue holds into received segments and splits mixed segments, for a
/// one-shot drain. Returns log lines.
pub fn ingest_all(queue: Option<Queue>, spool: Spool) -> Vec<String> {
    let mut r = Receiver::new(queue, spool);
    let mut lines = Vec::new();
    loop {
        match r.step(&mut lines) {
            Ok(Step::Took) => {
                let _ = r.rotate(false);
            }
            Ok(Step::Empty) => break,
            Err(e) => {
                lines.push(format!("asyncbatch drain: {e}"));
                break;
            }
        }
    }
    let _ = r.rotate(true);
    r.split_mixed(&mut lines);
    let _ = r.rotate(true);
    lines
}

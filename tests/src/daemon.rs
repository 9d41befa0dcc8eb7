//! The asyncbatch daemon (`php/bin/asyncbatch daemon`) as a test runs it: in a
//! process group of its own, its output in a file, its status read from the
//! spool directory, and every process of it killed on drop.

use std::fs::{self, File, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::json::Json;
use crate::paths::{extension_so, php_binary, repo_root};
use crate::process::wait_until;
use crate::sandbox::Sandbox;

/// How long a daemon may take to come up (workers forked, bootstrap loaded).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// A status older than this means the daemon is not alive (docs/internals.md).
const HEARTBEAT_MAX_AGE: f64 = 5.0;

static INSTANCE: AtomicU32 = AtomicU32::new(0);

/// The command line `php/bin/asyncbatch` with the extension and a sandbox's
/// settings; `cmd` is `daemon`, `drain`, `status`, ...
pub fn asyncbatch_cli(ini: &[(String, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(php_binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ASYNCBATCH_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg("-d")
        .arg(format!("extension={}", extension_so().display()))
        .arg("-d")
        .arg("display_errors=stderr")
        .arg("-d")
        .arg("log_errors=0");
    for (key, value) in ini {
        cmd.arg("-d").arg(format!("{key}={value}"));
    }
    cmd.arg(repo_root().join("php/bin/asyncbatch")).args(args);
    cmd
}

/// Settings of a daemon to start; see [`Daemon::builder`].
#[derive(Clone, Debug)]
pub struct DaemonBuilder {
    dir: PathBuf,
    spool_dir: PathBuf,
    bootstrap: PathBuf,
    ini: Vec<(String, String)>,
    env: Vec<(String, String)>,
    workers: Option<u32>,
    stop_timeout: Option<f64>,
    log: Option<PathBuf>,
    /// `daemon` or `consume`.
    command: &'static str,
    /// Options after the others (`--forward URL`, `--redis URL`, ...).
    extra: Vec<String>,
    /// The network namespace it runs in (`ip netns exec`), when not this one.
    netns: Option<String>,
}

impl DaemonBuilder {
    /// `asyncbatch consume --redis url` instead of `asyncbatch daemon`.
    pub fn consume(mut self, url: &str) -> Self {
        self.command = "consume";
        self.extra.extend(["--redis".into(), url.into()]);
        self
    }

    /// `--forward url`: the daemon forwards batches to Redis.
    pub fn forward(mut self, url: &str) -> Self {
        self.extra.extend(["--forward".into(), url.into()]);
        self
    }

    /// Runs it in network namespace `ns` (a host of [`crate::Hosts`]).
    pub fn netns(mut self, ns: &str) -> Self {
        self.netns = Some(ns.to_string());
        self
    }

    /// Any other option and its value (`--claim-idle 2`).
    pub fn arg(mut self, name: &str, value: impl ToString) -> Self {
        self.extra.extend([name.into(), value.to_string()]);
        self
    }

    /// An ini setting (`-d key=value`), after the sandbox's.
    pub fn ini(mut self, key: &str, value: impl ToString) -> Self {
        self.ini.retain(|(k, _)| k != key);
        self.ini.push((key.into(), value.to_string()));
        self
    }

    /// An environment variable of the daemon (its workers inherit it).
    pub fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.push((key.into(), value.to_string()));
        self
    }

    /// `--workers n` (the daemon's default is 2).
    pub fn workers(mut self, n: u32) -> Self {
        self.workers = Some(n);
        self
    }

    /// `--stop-timeout s` (the daemon's default is 10).
    pub fn stop_timeout(mut self, seconds: f64) -> Self {
        self.stop_timeout = Some(seconds);
        self
    }

    /// `--log path`.
    pub fn log(mut self, path: &Path) -> Self {
        self.log = Some(path.to_path_buf());
        self
    }

    /// The ini settings the daemon gets.
    pub fn ini_settings(&self) -> &[(String, String)] {
        &self.ini
    }

    /// The command that [`DaemonBuilder::spawn`] runs.
    pub fn command(&self) -> Command {
        let mut args =
            vec![self.command.to_string(), "--bootstrap".into(), self.bootstrap.display().to_string()];
        if let Some(n) = self.workers {
            args.extend(["--workers".into(), n.to_string()]);
        }
        if let Some(s) = self.stop_timeout {
            args.extend(["--stop-timeout".into(), s.to_string()]);
        }
        if let Some(log) = &self.log {
            args.extend(["--log".into(), log.display().to_string()]);
        }
        args.extend(self.extra.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = asyncbatch_cli(&self.ini, &args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        match &self.netns {
            Some(ns) => crate::netns::Hosts::wrap(ns, &cmd),
            None => cmd,
        }
    }

    /// Starts the daemon and returns at once (see [`Daemon::wait_running`]).
    pub fn spawn(&self) -> Daemon {
        let n = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let out_path = self.dir.join(format!("daemon-{n}.out"));
        let out = File::create(&out_path).expect("create the daemon's output file");
        let mut cmd = self.command();
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            // Its own process group: killed whole on drop.
            .process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start the daemon: {e}"));
        Daemon {
            pid: child.id() as i32,
            child,
            out_path,
            spool_dir: self.spool_dir.clone(),
            workers: self.workers.unwrap_or(2),
            status_file: format!("{}.status", self.command),
            exit: None,
            known: Vec::new(),
        }
    }

    /// Starts the daemon and waits until its status says it runs with all its
    /// workers.
    ///
    /// # Panics
    /// When it exits or does not come up in time, with its output.
    pub fn start(&self) -> Daemon {
        let mut daemon = self.spawn();
        daemon.wait_running(START_TIMEOUT);
        daemon
    }
}

/// A running daemon. Dropping it kills every process of it.
pub struct Daemon {
    pid: i32,
    child: Child,
    out_path: PathBuf,
    spool_dir: PathBuf,
    workers: u32,
    /// `daemon.status` or `consume.status`.
    status_file: String,
    exit: Option<ExitStatus>,
    /// Every process ever seen in its tree, to kill them all at the end.
    known: Vec<i32>,
}

impl Daemon {
    /// A daemon for `sandbox` (its spool, failure directory and queue, runner
    /// `daemon`) loading `bootstrap`; its output goes to the sandbox.
    pub fn builder(sandbox: &Sandbox, bootstrap: &Path) -> DaemonBuilder {
        DaemonBuilder {
            dir: sandbox.path().to_path_buf(),
            spool_dir: sandbox.spool_dir(),
            bootstrap: bootstrap.to_path_buf(),
            ini: sandbox.daemon_ini(),
            env: Vec::new(),
            workers: None,
            stop_timeout: None,
            log: None,
            command: "daemon",
            extra: Vec::new(),
            netns: None,
        }
    }

    /// The master's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// What the daemon wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    /// `{spool_dir}/daemon.status` (`consume.status`), parsed; `None` when missing
    /// or unreadable.
    pub fn status(&self) -> Option<Json> {
        let text = fs::read_to_string(self.spool_dir.join(&self.status_file)).ok()?;
        Json::parse(&text).ok()
    }

    /// Its exit status, if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// Waits up to `timeout` for the master to exit; `None` when it still runs.
    #[must_use = "assert that it exited"]
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let exited = wait_until(timeout, Duration::from_millis(10), || self.try_exit().is_some());
        if exited {
            self.exit
        } else {
            None
        }
    }

    /// Waits until the status names this master, is fresh and lists all its
    /// workers with a pid.
    ///
    /// # Panics
    /// When the daemon exits first or `timeout` passes, with its output.
    pub fn wait_running(&mut self, timeout: Duration) {
        let start = Instant::now();
        let mut last = None;
        let up = wait_until(timeout, Duration::from_millis(20), || {
            if self.try_exit().is_some() {
                return true;
            }
            last = self.status();
            last.as_ref().is_some_and(|s| self.is_running(s))
        });
        if let Some(status) = self.try_exit() {
            panic!("the daemon exited at start ({status})\n--- its output ---\n{}", self.output());
        }
        assert!(
            up,
            "the daemon did not report running with {} workers within {:?}\nlast status: {}\n--- its output ---\n{}",
            self.workers,
            start.elapsed(),
            last.map(|s| s.to_string()).unwrap_or_else(|| "(none)".into()),
            self.output()
        );
        self.remember_tree();
    }

    fn is_running(&self, status: &Json) -> bool {
        let workers = status.get("workers").items();
        status.get("pid").as_i64() == Some(self.pid as i64)
            && status.get("heartbeatAt").as_f64().is_some_and(|t| unix_now() - t < HEARTBEAT_MAX_AGE)
            && workers.len() == self.workers as usize
            && workers.iter().all(|w| w.get("pid").as_i64().is_some_and(|p| p > 0 && pid_alive(p as i32)))
    }

    /// The worker pids of the current status.
    pub fn worker_pids(&self) -> Vec<i32> {
        self.status()
            .map(|s| {
                s.get("workers")
                    .items()
                    .iter()
                    .filter_map(|w| w.get("pid").as_i64())
                    .map(|p| p as i32)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The master and every process below it now (receiver, workers).
    pub fn tree(&self) -> Vec<i32> {
        let mut tree = vec![self.pid];
        tree.extend(descendants(self.pid));
        tree
    }

    fn remember_tree(&mut self) {
        for pid in self.tree() {
            if !self.known.contains(&pid) {
                self.known.push(pid);
            }
        }
    }

    /// Sends `signal` to the master.
    pub fn signal(&mut self, signal: i32) {
        self.remember_tree();
        if self.try_exit().is_none() {
            // SAFETY: kill(2) to our child, not yet reaped.
            unsafe { libc::kill(self.pid, signal) };
        }
    }

    /// SIGTERM, then waits up to `timeout` for the master to exit; returns its
    /// exit status (None: still running) and how long it took.
    #[must_use = "assert that it exited"]
    pub fn terminate(&mut self, timeout: Duration) -> (Option<ExitStatus>, Duration) {
        let start = Instant::now();
        self.signal(libc::SIGTERM);
        let status = self.wait_exit(timeout);
        (status, start.elapsed())
    }

    /// SIGKILL to the master and every process of its tree at once (as a crash
    /// or the OOM killer would), then waits until they are all gone.
    pub fn kill_all(&mut self) {
        self.remember_tree();
        // SAFETY: signals to our process group and to processes we saw in it.
        unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        for &pid in &self.known {
            if pid_alive(pid) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        if let Ok(status) = self.child.wait() {
            self.exit.get_or_insert(status);
        }
        let known = self.known.clone();
        let gone = wait_until(Duration::from_secs(10), Duration::from_millis(10), || {
            known.iter().all(|&p| !pid_alive(p))
        });
        assert!(gone, "processes of the daemon survived SIGKILL: {:?}", known);
    }

    /// Pids of processes of this daemon still alive (master included).
    pub fn survivors(&mut self) -> Vec<i32> {
        self.remember_tree();
        self.known.iter().copied().filter(|&p| pid_alive(p)).collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.try_exit().is_none() || !self.survivors().is_empty() {
            self.kill_all();
        }
    }
}

/// Reads `{spool_dir}/daemon.status`.
pub fn read_status(spool_dir: &Path) -> Option<Json> {
    let text = fs::read_to_string(spool_dir.join("daemon.status")).ok()?;
    Json::parse(&text).ok()
}

/// Whether process `pid` exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The processes below `pid` (children, their children, ...), from /proc.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.filter_map(|e| e.ok()) {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse::<i32>().ok()) {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parent_of {
            if pp == parent && !found.contains(&p) {
                found.push(p);
                frontier.push(p);
            }
        }
    }
    found
}

/// Appends `text` to `path` (for marking phases in a log a test reads).
pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = OpenOptions::new().create(true).append(true).open(path).expect("open for append");
    f.write_all(text.as_bytes()).expect("append");
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs_f64()
}

/// A command running in the background in a process group of its own, its
/// stdout and stderr in files; killed (the whole group) on drop.
pub struct Background {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    exit: Option<ExitStatus>,
    started: Instant,
    ended: Option<Duration>,
}

impl Background {
    /// Starts `cmd`; its output goes to `{dir}/{name}.stdout` and `.stderr`.
    pub fn spawn(mut cmd: Command, dir: &Path, name: &str) -> Background {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        cmd.stdin(Stdio::null())
            .stdout(File::create(&stdout).expect("create stdout file"))
            .stderr(File::create(&stderr).expect("create stderr file"))
            .process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
        Background { child, stdout, stderr, exit: None, started: Instant::now(), ended: None }
    }

    /// Like [`Background::spawn`], with stdout and stderr both appended to
    /// `{dir}/{name}.log`, opened with `O_APPEND`: for a program that also opens
    /// `/dev/stdout` itself (supervisord's `stdout_logfile=/dev/stdout`), whose
    /// writes through its own offset would otherwise overwrite the others.
    /// [`Background::stdout`] and [`Background::stderr`] both read that file.
    pub fn spawn_appending(mut cmd: Command, dir: &Path, name: &str) -> Background {
        let log = dir.join(format!("{name}.log"));
        let file = OpenOptions::new().create(true).append(true).open(&log).expect("create the log file");
        cmd.stdin(Stdio::null()).stdout(file.try_clone().expect("dup")).stderr(file).process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
        Background {
            child,
            stdout: log.clone(),
            stderr: log,
            exit: None,
            started: Instant::now(),
            ended: None,
        }
    }

    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Its exit status, if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
                self.ended = Some(self.started.elapsed());
            }
        }
        self.exit
    }

    /// Waits up to `timeout` for it to exit; `None` when it still runs.
    #[must_use = "assert that it exited"]
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let exited = wait_until(timeout, Duration::from_millis(5), || self.try_exit().is_some());
        if exited {
            self.exit
        } else {
            None
        }
    }

    /// From its start to its exit (as seen by polling), once it has exited.
    pub fn ran_for(&self) -> Option<Duration> {
        self.ended
    }

    /// What it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let pid = self.pid();
        let below = descendants(pid);
        // SAFETY: signals to our child's process group and to processes below it.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        for p in below {
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

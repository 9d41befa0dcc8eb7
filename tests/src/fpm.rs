//! A php-fpm master with one pool, in a directory of its own, stopped on drop.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fcgi::{fcgi_request, FcgiResponse};
use crate::paths::php_fpm_binary;
use crate::php::Php;
use crate::process::wait_until;

/// How long a pool may take to come up, and to go down gracefully.
const START_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Default time limit of one FastCGI request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of a pool to start; see [`FpmPool::builder`].
#[derive(Clone, Debug)]
pub struct FpmBuilder {
    side: Option<Php>,
    children: u32,
    dynamic: Option<(u32, u32, u32)>,
    max_requests: u32,
    master_ini: Vec<(String, String)>,
    admin_values: Vec<(String, String)>,
    env: Vec<(String, String)>,
    pool_settings: Vec<(String, String)>,
}

impl FpmBuilder {
    /// `pm = static` with `n` children (the default is 2).
    pub fn children(mut self, n: u32) -> Self {
        self.children = n;
        self.dynamic = None;
        self
    }

    /// `pm = dynamic` with at most `max_children`, starting `start` and keeping
    /// between `min_spare` and `max_spare` idle.
    pub fn dynamic(mut self, max_children: u32, start: u32, min_spare: u32, max_spare: u32) -> Self {
        self.children = max_children;
        self.dynamic = Some((start, min_spare, max_spare));
        self
    }

    /// A line `key = value` in the pool's section (`request_terminate_timeout`, say).
    pub fn pool_setting(mut self, key: &str, value: impl ToString) -> Self {
        self.pool_settings.push((key.into(), value.to_string()));
        self
    }

    /// `pm.max_requests`: recycle a worker after this many requests (0: never, the default).
    pub fn max_requests(mut self, n: u32) -> Self {
        self.max_requests = n;
        self
    }

    /// An ini setting given to the master with `-d`, as if it were in php.ini:
    /// workers inherit it and `get_cfg_var()` sees it. Use this for `asyncbatch.*`.
    pub fn ini(mut self, key: &str, value: impl ToString) -> Self {
        self.master_ini.push((key.into(), value.to_string()));
        self
    }

    /// Several [`FpmBuilder::ini`] settings.
    pub fn inis(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        self.master_ini.extend(pairs);
        self
    }

    /// A `php_admin_value[key] = value` line of the pool.
    pub fn admin_value(mut self, key: &str, value: impl ToString) -> Self {
        self.admin_values.push((key.into(), value.to_string()));
        self
    }

    /// An `env[key] = value` line of the pool (workers see it with `getenv()`).
    pub fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.push((key.into(), value.to_string()));
        self
    }

    /// Writes the configuration into `dir/fpm/`, starts php-fpm, and returns once
    /// its socket accepts connections and its workers are forked.
    ///
    /// The extension is loaded by the master (`-d extension=`, like php.ini), so
    /// its MINIT runs before php-fpm forks, as in production; the polyfill with
    /// `php_admin_value[auto_prepend_file]`.
    ///
    /// # Panics
    /// When php-fpm does not come up, with its log.
    pub fn start(self, dir: &Path) -> FpmPool {
        let dir = dir.join("fpm");
        fs::create_dir_all(&dir).expect("create the pool directory");
        let socket = dir.join("fpm.sock");
        let log = dir.join("fpm.log");
        let php_errors = dir.join("php-errors.log");
        let conf_path = dir.join("php-fpm.conf");
        let is_root = unsafe { libc::geteuid() } == 0;

        let mut master_ini = Vec::new();
        let mut admin_values = vec![
            ("error_log".to_string(), php_errors.display().to_string()),
            ("log_errors".to_string(), "On".to_string()),
            ("display_errors".to_string(), "Off".to_string()),
        ];
        match self.side {
            Some(Php::Extension) => master_ini.push(Php::Extension.load_ini()),
            Some(Php::Polyfill) => admin_values.push(Php::Polyfill.load_ini()),
            None => {}
        }
        master_ini.extend(self.master_ini.iter().cloned());
        admin_values.extend(self.admin_values.iter().cloned());

        let mut conf = String::new();
        let _ = writeln!(conf, "[global]");
        let _ = writeln!(conf, "pid = {}", dir.join("fpm.pid").display());
        let _ = writeln!(conf, "error_log = {}", log.display());
        let _ = writeln!(conf, "log_level = notice");
        let _ = writeln!(conf, "daemonize = no");
        let _ = writeln!(conf, "process_control_timeout = 10s");
        let _ = writeln!(conf);
        let _ = writeln!(conf, "[e2e]");
        if is_root {
            // php-fpm refuses to run a pool as root unless told so (-R) and the
            // user is named; as non-root the lines would only draw a notice.
            let _ = writeln!(conf, "user = root");
            let _ = writeln!(conf, "group = root");
        }
        let _ = writeln!(conf, "listen = {}", socket.display());
        let _ = writeln!(conf, "listen.backlog = 128");
        match self.dynamic {
            None => {
                let _ = writeln!(conf, "pm = static");
                let _ = writeln!(conf, "pm.max_children = {}", self.children);
            }
            Some((start, min_spare, max_spare)) => {
                let _ = writeln!(conf, "pm = dynamic");
                let _ = writeln!(conf, "pm.max_children = {}", self.children);
                let _ = writeln!(conf, "pm.start_servers = {start}");
                let _ = writeln!(conf, "pm.min_spare_servers = {min_spare}");
                let _ = writeln!(conf, "pm.max_spare_servers = {max_spare}");
            }
        }
        let _ = writeln!(conf, "pm.max_requests = {}", self.max_requests);
        let _ = writeln!(conf, "request_terminate_timeout = 60s");
        let _ = writeln!(conf, "catch_workers_output = yes");
        let _ = writeln!(conf, "decorate_workers_output = no");
        let _ = writeln!(conf, "clear_env = yes");
        for (key, value) in &self.env {
            let _ = writeln!(conf, "env[{key}] = {value}");
        }
        for (key, value) in &admin_values {
            let _ = writeln!(conf, "php_admin_value[{key}] = {value}");
        }
        // Last, so that they win over the defaults above.
        for (key, value) in &self.pool_settings {
            let _ = writeln!(conf, "{key} = {value}");
        }
        fs::write(&conf_path, &conf).expect("write php-fpm.conf");

        let mut cmd = Command::new(php_fpm_binary());
        cmd.arg("--nodaemonize").arg("--fpm-config").arg(&conf_path);
        if is_root {
            cmd.arg("--allow-to-run-as-root");
        }
        for (key, value) in &master_ini {
            cmd.arg("-d").arg(format!("{key}={value}"));
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ASYNCBATCH_") {
                cmd.env_remove(key);
            }
        }
        let output = File::create(dir.join("fpm.stdout")).expect("create fpm.stdout");
        cmd.stdin(Stdio::null())
            .stdout(output.try_clone().expect("dup"))
            .stderr(output)
            // Its own process group: on drop the whole group is killed, workers
            // included, whatever state the master is in.
            .process_group(0);
        let child =
            cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", php_fpm_binary().display()));

        let mut pool = FpmPool {
            dir,
            socket,
            log,
            php_errors,
            child,
            stopped: false,
            children: self.children,
            config: self,
        };
        pool.wait_ready();
        pool
    }
}

/// A running php-fpm master and its pool. Dropping it stops php-fpm (SIGQUIT,
/// then SIGKILL to the whole process group after a timeout).
pub struct FpmPool {
    dir: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    php_errors: PathBuf,
    child: Child,
    stopped: bool,
    children: u32,
    config: FpmBuilder,
}

impl FpmPool {
    /// A pool loading `side` (`Php::Extension` or `Php::Polyfill`), 2 static children.
    pub fn builder(side: Php) -> FpmBuilder {
        FpmBuilder { side: Some(side), ..Self::plain() }
    }

    /// A pool with plain PHP: no asyncbatch loaded.
    pub fn plain() -> FpmBuilder {
        FpmBuilder {
            side: None,
            children: 2,
            dynamic: None,
            max_requests: 0,
            master_ini: Vec::new(),
            admin_values: Vec::new(),
            env: Vec::new(),
            pool_settings: Vec::new(),
        }
    }

    /// The directory holding the configuration, the socket and the logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pool's unix socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The master's pid.
    pub fn master_pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The settings the pool was started with.
    pub fn config(&self) -> &FpmBuilder {
        &self.config
    }

    /// A GET request for `script` with `query` (no leading `?`).
    pub fn get(&self, script: &Path, query: &str) -> FcgiResponse {
        fcgi_request(&self.socket, script, query, REQUEST_TIMEOUT)
    }

    /// Like [`FpmPool::get`], panicking unless the response has status 200 and
    /// the script ran without error, with the logs in the message.
    pub fn get_ok(&self, script: &Path, query: &str) -> FcgiResponse {
        let response = self.get(script, query);
        if !response.ok() {
            panic!(
                "request {}?{} failed: {}\n--- body ---\n{}\n--- stderr ---\n{}\n{}",
                script.display(),
                query,
                response.summary(),
                response.body_str(),
                response.stderr,
                self.logs()
            );
        }
        response
    }

    /// The master's log (and the workers' stderr).
    pub fn fpm_log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// PHP's error log of the workers (`error_log()`, warnings, fatal errors).
    pub fn php_errors(&self) -> String {
        fs::read_to_string(&self.php_errors).unwrap_or_default()
    }

    /// Both logs, headed, for failure messages.
    pub fn logs(&self) -> String {
        format!("--- php-fpm log ---\n{}--- PHP error log ---\n{}", self.fpm_log(), self.php_errors())
    }

    /// Lines of the master's log saying that a worker died abnormally: killed by a
    /// signal (a crash) or exited with a non-zero code.
    pub fn worker_deaths(&self) -> Vec<String> {
        self.fpm_log()
            .lines()
            .filter(|l| {
                l.contains("exited on signal")
                    || (l.contains("exited with code") && !l.contains("exited with code 0"))
            })
            .map(str::to_owned)
            .collect()
    }

    /// Panics, with the logs, if a worker died abnormally.
    pub fn assert_no_worker_died(&self) {
        let deaths = self.worker_deaths();
        assert!(deaths.is_empty(), "php-fpm workers died:\n{}\n{}", deaths.join("\n"), self.logs());
    }

    /// The pids of the master's child processes (the workers).
    pub fn worker_pids(&self) -> Vec<i32> {
        let master = self.master_pid();
        let mut pids = Vec::new();
        if let Ok(entries) = fs::read_dir("/proc") {
            for entry in entries.filter_map(|e| e.ok()) {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                    continue;
                };
                // Fields after the command name, which is in parentheses.
                let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                    continue;
                };
                let fields: Vec<&str> = rest.split_whitespace().collect();
                if fields.get(1).and_then(|p| p.parse::<i32>().ok()) == Some(master) {
                    pids.push(pid);
                }
            }
        }
        pids.sort_unstable();
        pids
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        let expected = match self.config.dynamic {
            None => self.children,
            Some((start_servers, _, _)) => start_servers,
        } as usize;
        let ready = wait_until(START_TIMEOUT, Duration::from_millis(10), || {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true; // exited: reported below
            }
            UnixStream::connect(&self.socket).is_ok() && self.worker_pids().len() >= expected
        });
        if let Ok(Some(status)) = self.child.try_wait() {
            self.stopped = true;
            panic!(
                "php-fpm exited at start ({status}).\n--- output ---\n{}\n{}",
                fs::read_to_string(self.dir.join("fpm.stdout")).unwrap_or_default(),
                self.logs()
            );
        }
        assert!(
            ready,
            "php-fpm did not accept connections on {} with {} workers within {:?}\n{}",
            self.socket.display(),
            expected,
            start.elapsed(),
            self.logs()
        );
    }

    /// Stops php-fpm gracefully (SIGQUIT: workers finish their current request),
    /// then kills what is left of its process group. Returns whether the master
    /// exited by itself in time.
    pub fn stop(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        self.stopped = true;
        let pid = self.master_pid();
        // SAFETY: signals to a child we spawned and have not reaped.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
        let exited = wait_until(STOP_TIMEOUT, Duration::from_millis(20), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        // The group id is the master's pid (process_group(0)); stray workers die too.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = self.child.wait();
        exited
    }
}

impl Drop for FpmPool {
    fn drop(&mut self) {
        self.stop();
    }
}

//! A real `redis-server` on a free loopback port, its data in a directory of its
//! own (append-only file, fsynced at every write by default), stopped on drop; and
//! `redis-cli` against it.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::wait_until;

/// How long a redis-server may take to answer PING after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A redis-server the test owns.
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    /// The network namespace it runs in, when not this one.
    netns: Option<String>,
}

/// Whether `redis-server` is installed; the reason when not.
pub fn redis_available() -> Result<(), String> {
    match Command::new("redis-server").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("redis-server --version failed: {}", String::from_utf8_lossy(&o.stderr))),
        Err(e) => Err(format!("redis-server is not installed ({e}): scripts/deps.sh installs it")),
    }
}

impl RedisServer {
    /// Starts one in `dir` with `appendonly yes` and `appendfsync always`, plus `extra`
    /// settings (`["maxmemory", "2mb"]`...).
    ///
    /// # Panics
    /// When redis-server is missing or does not answer in time.
    pub fn start(dir: &Path, extra: &[&str]) -> RedisServer {
        Self::start_on(None, dir, extra)
    }

    /// Like [`RedisServer::start`], in network namespace `netns` (`ip netns`), on
    /// port 6379 of every address there.
    pub fn start_in(netns: &str, dir: &Path, extra: &[&str]) -> RedisServer {
        Self::start_on(Some(netns), dir, extra)
    }

    fn start_on(netns: Option<&str>, dir: &Path, extra: &[&str]) -> RedisServer {
        if let Err(why) = redis_available() {
            panic!("{why}");
        }
        fs::create_dir_all(dir).expect("the redis directory");
        let port = match netns {
            Some(_) => 6379,
            None => {
                TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
            }
        };
        let bind = if netns.is_some() { "0.0.0.0" } else { "127.0.0.1" };
        let mut args: Vec<String> = [
            "--bind",
            bind,
            "--port",
            &port.to_string(),
            "--dir",
            &dir.display().to_string(),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            "redis.log",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut i = 0;
        while i + 1 < extra.len() {
            args.push(format!("--{}", extra[i]));
            args.push(extra[i + 1].to_string());
            i += 2;
        }
        let mut r =
            RedisServer { port, dir: dir.to_path_buf(), args, child: None, netns: netns.map(String::from) };
        r.restart();
        r
    }

    /// `redis://127.0.0.1:{port}/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts it (again, after [`RedisServer::kill`]), on the same port and data, and
    /// waits until it answers.
    pub fn restart(&mut self) {
        let child = self
            .command("redis-server", &self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let up =
            wait_until(START_TIMEOUT, Duration::from_millis(20), || self.cli(&["PING"]).trim() == "PONG");
        assert!(up, "redis-server on port {} did not answer PING:\n{}", self.port, self.log());
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `redis-cli -p port ARGS`, its output (errors included).
    pub fn cli(&self, args: &[&str]) -> String {
        let mut full = vec!["-h".to_string(), "127.0.0.1".into(), "-p".into(), self.port.to_string()];
        full.extend(args.iter().map(|a| a.to_string()));
        let out = self.command("redis-cli", &full).output().expect("run redis-cli");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    fn command(&self, program: &str, args: &[String]) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]).args(args);
                c
            }
            None => {
                let mut c = Command::new(program);
                c.args(args);
                c
            }
        }
    }

    /// Its log.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

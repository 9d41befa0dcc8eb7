//! A real forward proxy on loopback for the HttpSink tests: Debian's tinyproxy,
//! allowing CONNECT to any port, its log kept to tell which requests went through it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::wait_until;

/// A running tinyproxy, stopped when dropped.
pub struct Tinyproxy {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tinyproxy {
    /// Starts tinyproxy on a free loopback port; panics, with its output, when it
    /// does not listen within 10 s.
    pub fn start() -> Tinyproxy {
        let binary = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("tinyproxy is not installed (bash scripts/deps.sh installs it)");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let log = dir.path().join("tinyproxy.log");
        // No ConnectPort line: CONNECT to any port (the tests' servers have random ones).
        // As root it must switch to a user; it logs to stderr in the foreground.
        let user = if crate::skip::is_root() { "User nobody\nGroup nogroup\n" } else { "" };
        let conf = format!(
            "{user}Port {port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Info\nMaxClients 50\nAllow 127.0.0.1\n\
             DisableViaHeader Yes\n"
        );
        let conf_path = dir.path().join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).expect("write tinyproxy.conf");
        let out = std::fs::File::create(&log).expect("create the log");
        let child = Command::new(binary)
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup the log"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let mut proxy = Tinyproxy { child, addr, log, _dir: dir };
        let up = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        if !up {
            let _ = proxy.child.kill();
            panic!("tinyproxy did not listen on {addr}:\n{}", proxy.log_text());
        }
        proxy
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The requests it logged (`CONNECT host:port`, `POST http://...`), in order.
    pub fn requests(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter_map(|l| l.split_once("): ").map(|(_, r)| r.to_string()))
            .filter(|r| r.starts_with("CONNECT ") || r.starts_with("POST "))
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Hosts made of Linux network namespaces (root only): a hub namespace and host
//! namespaces, each host joined to the hub by a veth pair of its own /30 subnet
//! (`10.77.{n}.1` on the hub side, `10.77.{n}.2` on the host side). A command runs
//! on a host through `ip netns exec` (which execs it: the pid is the command's). A
//! host's link can be cut and restored. Everything is removed on drop.

use std::ffi::OsString;
use std::process::Command;

use crate::process::run_with_timeout;

/// The namespaces of one test.
pub struct Hosts {
    prefix: String,
    hosts: Vec<String>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = run_with_timeout(Command::new("ip").args(args), None, std::time::Duration::from_secs(20));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}{}", args.join(" "), out.stdout_str(), out.stderr))
    }
}

impl Hosts {
    /// A hub and `n` hosts (`{prefix}-h1` ... `{prefix}-h{n}`); `prefix` keeps the
    /// names of concurrent tests apart.
    pub fn new(prefix: &str, n: usize) -> Result<Hosts, String> {
        let mut h = Hosts { prefix: prefix.to_string(), hosts: Vec::new() };
        ip(&["netns", "add", &h.hub()])?;
        ip(&["netns", "exec", &h.hub(), "ip", "link", "set", "lo", "up"])?;
        for i in 1..=n {
            let name = format!("{prefix}-h{i}");
            ip(&["netns", "add", &name])?;
            h.hosts.push(name.clone());
            let (host_if, hub_if) = (format!("{prefix}{i}h"), format!("{prefix}{i}r"));
            ip(&["link", "add", &host_if, "type", "veth", "peer", "name", &hub_if])?;
            ip(&["link", "set", &host_if, "netns", &name])?;
            ip(&["link", "set", &hub_if, "netns", &h.hub()])?;
            ip(&[
                "netns",
                "exec",
                &h.hub(),
                "ip",
                "addr",
                "add",
                &format!("10.77.{i}.1/30"),
                "dev",
                &hub_if,
            ])?;
            ip(&["netns", "exec", &name, "ip", "addr", "add", &format!("10.77.{i}.2/30"), "dev", &host_if])?;
            ip(&["netns", "exec", &h.hub(), "ip", "link", "set", &hub_if, "up"])?;
            ip(&["netns", "exec", &name, "ip", "link", "set", &host_if, "up"])?;
            ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"])?;
        }
        Ok(h)
    }

    /// The hub's namespace.
    pub fn hub(&self) -> String {
        format!("{}-hub", self.prefix)
    }

    /// Host `i`'s namespace (from 1).
    pub fn host(&self, i: usize) -> String {
        self.hosts[i - 1].clone()
    }

    /// The hub's address as host `i` reaches it.
    pub fn hub_addr_for(&self, i: usize) -> String {
        format!("10.77.{i}.1")
    }

    /// Cuts (`up` false) or restores host `i`'s link, on the hub's side.
    pub fn link(&self, i: usize, up: bool) -> Result<(), String> {
        let hub_if = format!("{}{i}r", self.prefix);
        ip(&["netns", "exec", &self.hub(), "ip", "link", "set", &hub_if, if up { "up" } else { "down" }])
    }

    /// `cmd`, to run in namespace `ns`: its program, arguments, environment and
    /// directory, behind `ip netns exec ns`.
    pub fn wrap(ns: &str, cmd: &Command) -> Command {
        let mut out = Command::new("ip");
        out.arg("netns").arg("exec").arg(ns).arg(cmd.get_program());
        out.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => out.env(k, v),
                None => out.env_remove(k),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            out.current_dir(dir);
        }
        out
    }

    /// Whether namespaces can be made here (root with CAP_SYS_ADMIN and `ip`).
    pub fn available() -> Result<(), String> {
        let probe = format!("abprobe{}", std::process::id());
        ip(&["netns", "add", &probe])?;
        ip(&["netns", "del", &probe])
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Removing a namespace removes its end of each veth pair, and so the pair.
        let mut names: Vec<OsString> = self.hosts.iter().map(OsString::from).collect();
        names.push(self.hub().into());
        for n in names {
            let _ = Command::new("ip").arg("netns").arg("del").arg(n).status();
        }
    }
}

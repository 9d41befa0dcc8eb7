//! The `asyncbatch.*` ini settings: names and defaults declared once, parsed in
//! [`Settings::resolve`], which never fails: a bad value is reported and replaced by
//! its default, so a typo in php.ini cannot take a site down.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which runner delivers items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerKind {
    /// The daemon when its status says it is alive, else the shutdown runner.
    Auto,
    /// Deliver at the end of each request, in the PHP process.
    Shutdown,
    /// Hand items to the per-host daemon.
    Daemon,
    /// Write items to the spool off the request's path, for a cron `drain` to
    /// deliver; requests never call a callable nor read the spool.
    Spool,
}

impl RunnerKind {
    fn parse(s: &str) -> Option<RunnerKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Some(RunnerKind::Auto),
            "shutdown" => Some(RunnerKind::Shutdown),
            "daemon" => Some(RunnerKind::Daemon),
            "spool" => Some(RunnerKind::Spool),
            _ => None,
        }
    }

    /// The ini spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerKind::Auto => "auto",
            RunnerKind::Shutdown => "shutdown",
            RunnerKind::Daemon => "daemon",
            RunnerKind::Spool => "spool",
        }
    }
}

/// One ini setting: its name and its default as php.ini would spell it.
pub struct IniDef {
    /// Full name, `asyncbatch.…`.
    pub name: &'static str,
    /// Default value.
    pub default: &'static str,
    /// One line for the README and phpinfo.
    pub doc: &'static str,
}

/// How PHP processes hand items to the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// A SysV message queue, the spool as fallback.
    Sysv,
    /// The spool only.
    Spool,
}

/// Every setting the extension registers.
pub const INI: [IniDef; 11] = [
    IniDef {
        name: "asyncbatch.runner",
        default: "auto",
        doc: "auto, shutdown, daemon or spool; the environment variable ASYNCBATCH_RUNNER overrides it",
    },
    IniDef {
        name: "asyncbatch.spool_dir",
        default: "",
        doc: "spool segments; empty: {sys_get_temp_dir()}/asyncbatch-{euid}/spool",
    },
    IniDef {
        name: "asyncbatch.failure_dir",
        default: "",
        doc: "failed batches; empty: {sys_get_temp_dir()}/asyncbatch-{euid}/failed",
    },
    IniDef {
        name: "asyncbatch.failure_dir_max_mb",
        default: "64",
        doc: "cap on the failure store's size in MiB; 0 refuses every write",
    },
    IniDef {
        name: "asyncbatch.finish_request",
        default: "1",
        doc: "release the client with fastcgi_finish_request() before delivering at shutdown",
    },
    IniDef {
        name: "asyncbatch.shutdown_budget",
        default: "10",
        doc: "seconds of delivery at the end of a request; what does not fit is spooled",
    },
    IniDef {
        name: "asyncbatch.max_item_size",
        default: "1048576",
        doc: "largest item in bytes, MessagePack-encoded",
    },
    IniDef {
        name: "asyncbatch.transport",
        default: "sysv",
        doc: "how PHP processes hand items to the daemon: sysv (message queue, spool as fallback) or spool",
    },
    IniDef {
        name: "asyncbatch.queue_key",
        default: "",
        doc: "SysV queue key, decimal or 0x hex; empty: derived from the spool directory",
    },
    IniDef {
        name: "asyncbatch.queue_mode",
        default: "0600",
        doc: "permissions of a queue the extension creates (octal)",
    },
    IniDef {
        name: "asyncbatch.exit_timeout",
        default: "1",
        doc: "seconds a process at exit waits for its background threads (items for the daemon, HttpSink batches) before spooling what they hold",
    },
];

/// The resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `asyncbatch.runner`, after `ASYNCBATCH_RUNNER`.
    pub runner: RunnerKind,
    /// `asyncbatch.spool_dir`, resolved.
    pub spool_dir: PathBuf,
    /// `asyncbatch.failure_dir`, resolved.
    pub failure_dir: PathBuf,
    /// The directory the two defaults live in, when either is defaulted; it is
    /// checked like them, since whoever owns it could swap them.
    pub default_base: Option<PathBuf>,
    /// `asyncbatch.failure_dir_max_mb`, in bytes.
    pub failure_cap_bytes: u64,
    /// `asyncbatch.finish_request`.
    pub finish_request: bool,
    /// `asyncbatch.shutdown_budget`.
    pub shutdown_budget: Duration,
    /// `asyncbatch.max_item_size`.
    pub max_item_size: usize,
    /// `asyncbatch.transport`.
    pub transport: TransportKind,
    /// `asyncbatch.queue_key`, or the key derived from the spool directory.
    pub queue_key: i32,
    /// `asyncbatch.queue_mode`.
    pub queue_mode: u32,
    /// `asyncbatch.exit_timeout`.
    pub exit_timeout: Duration,
}

impl Settings {
    /// Resolves the settings from ini values (`ini(name)`), the environment's
    /// `ASYNCBATCH_RUNNER`, the temp directory and the effective uid. Returns them
    /// with one warning per bad value.
    pub fn resolve(
        ini: impl Fn(&str) -> Option<String>,
        env_runner: Option<String>,
        temp_dir: &Path,
        euid: u32,
    ) -> (Settings, Vec<String>) {
        let mut warnings = Vec::new();
        let get =
            |name: &'static str| -> String { ini(name).unwrap_or_else(|| default_of(name).to_string()) };
        let mut invalid = |name: &str, value: &str| {
            warnings
                .push(format!("asyncbatch: invalid value '{value}' for {name}, using {}", default_of(name)))
        };

        let runner_value = get("asyncbatch.runner");
        let mut runner = RunnerKind::parse(&runner_value).unwrap_or_else(|| {
            invalid("asyncbatch.runner", &runner_value);
            RunnerKind::Auto
        });
        if let Some(env) = env_runner.filter(|e| !e.trim().is_empty()) {
            match RunnerKind::parse(&env) {
                Some(r) => runner = r,
                None => invalid("ASYNCBATCH_RUNNER", &env),
            }
        }

        let base = temp_dir.join(format!("asyncbatch-{euid}"));
        let spool = get("asyncbatch.spool_dir");
        let failure = get("asyncbatch.failure_dir");
        let default_base = (spool.is_empty() || failure.is_empty()).then(|| base.clone());
        let spool_dir = if spool.is_empty() { base.join("spool") } else { PathBuf::from(spool) };
        let failure_dir = if failure.is_empty() { base.join("failed") } else { PathBuf::from(failure) };

        let mut number = |name: &'static str| -> f64 {
            let v = get(name);
            match v.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => n,
                _ => {
                    invalid(name, &v);
                    default_of(name).parse().expect("defaults parse")
                }
            }
        };
        let failure_cap_bytes = (number("asyncbatch.failure_dir_max_mb") * 1024.0 * 1024.0) as u64;
        let shutdown_budget = Duration::from_secs_f64(number("asyncbatch.shutdown_budget").min(86_400.0));
        let max_item_size = number("asyncbatch.max_item_size").min(u32::MAX as f64) as usize;
        let exit_timeout = Duration::from_secs_f64(number("asyncbatch.exit_timeout").min(3600.0));

        let fr = get("asyncbatch.finish_request");
        let finish_request = match fr.trim().to_ascii_lowercase().as_str() {
            "1" | "on" | "yes" | "true" => true,
            "0" | "off" | "no" | "false" | "" => false,
            _ => {
                invalid("asyncbatch.finish_request", &fr);
                true
            }
        };

        let tr = get("asyncbatch.transport");
        let transport = match tr.trim().to_ascii_lowercase().as_str() {
            "sysv" | "" => TransportKind::Sysv,
            "spool" => TransportKind::Spool,
            _ => {
                invalid("asyncbatch.transport", &tr);
                TransportKind::Sysv
            }
        };
        // The spool runner is the daemon runner's hand-off with the spool as its only
        // transport: no daemon reads a queue on such a host.
        let transport = if runner == RunnerKind::Spool { TransportKind::Spool } else { transport };
        let key_value = get("asyncbatch.queue_key");
        let queue_key = match crate::transport::sysv::parse_key(&key_value) {
            Some(Ok(k)) => k,
            Some(Err(_)) => {
                invalid("asyncbatch.queue_key", &key_value);
                crate::transport::sysv::derive_key(&spool_dir)
            }
            None => crate::transport::sysv::derive_key(&spool_dir),
        };
        let mode_value = get("asyncbatch.queue_mode");
        let queue_mode = match u32::from_str_radix(mode_value.trim().trim_start_matches("0o"), 8) {
            Ok(m) if m <= 0o777 && m & 0o600 == 0o600 => m,
            _ => {
                invalid("asyncbatch.queue_mode", &mode_value);
                0o600
            }
        };

        let settings = Settings {
            runner,
            spool_dir,
            failure_dir,
            default_base,
            failure_cap_bytes,
            finish_request,
            shutdown_budget,
            max_item_size,
            transport,
            queue_key,
            queue_mode,
            exit_timeout,
        };
        (settings, warnings)
    }
}

/// The settings last resolved, kept while their raw values are the same: resolving
/// is cheap but not free (paths, keys, warnings), and a php-fpm worker needs the
/// settings at every request.
#[derive(Debug, Default)]
pub struct SettingsCache {
    last: Option<Resolved>,
}

/// Raw values (owned), and the settings and warnings they gave.
type Resolved = (Vec<Option<Vec<u8>>>, Settings, Vec<String>);

impl SettingsCache {
    /// The settings of `raw` — the values of [`INI`] in order, then
    /// `ASYNCBATCH_RUNNER`, as the engine holds them — resolved again (in the temp
    /// directory and for the effective uid `context` gives) only when they changed.
    /// Returns them with the warnings resolving them gave. The values are borrowed:
    /// a request whose settings did not change allocates nothing to find that out.
    pub fn get(
        &mut self,
        raw: &[Option<&[u8]>],
        context: impl FnOnce() -> (PathBuf, u32),
    ) -> (Settings, Vec<String>) {
        if let Some((last_raw, settings, warnings)) = &self.last {
            if last_raw.len() == raw.len() && last_raw.iter().zip(raw).all(|(a, b)| a.as_deref() == *b) {
                return (settings.clone(), warnings.clone());
            }
        }
        let (temp_dir, euid) = context();
        let text = |v: &Option<&[u8]>| v.map(|b| String::from_utf8_lossy(b).into_owned());
        let env = raw.get(INI.len()).and_then(text);
        let (settings, warnings) = Settings::resolve(
            |name| INI.iter().position(|d| d.name == name).and_then(|i| raw.get(i).and_then(text)),
            env,
            &temp_dir,
            euid,
        );
        let kept = raw.iter().map(|v| v.map(<[u8]>::to_vec)).collect();
        self.last = Some((kept, settings.clone(), warnings.clone()));
        (settings, warnings)
    }
}

fn default_of(name: &str) -> &'static str {
    match name {
        "ASYNCBATCH_RUNNER" => "auto",
        _ => INI.iter().find(|d| d.name == name).map(|d| d.default).unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(pairs: &[(&str, &str)], env: Option<&str>) -> (Settings, Vec<String>) {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::resolve(|k| map.get(k).cloned(), env.map(String::from), Path::new("/tmp"), 33)
    }

    #[test]
    fn defaults_live_under_the_temp_dir_per_uid() {
        let (s, w) = resolve(&[], None);
        assert!(w.is_empty());
        assert_eq!(s.runner, RunnerKind::Auto);
        assert_eq!(s.spool_dir, PathBuf::from("/tmp/asyncbatch-33/spool"));
        assert_eq!(s.failure_dir, PathBuf::from("/tmp/asyncbatch-33/failed"));
        assert_eq!(s.default_base, Some(PathBuf::from("/tmp/asyncbatch-33")));
        assert_eq!(s.failure_cap_bytes, 64 << 20);
        assert!(s.finish_request);
        assert_eq!(s.shutdown_budget, Duration::from_secs(10));
        assert_eq!(s.max_item_size, 1 << 20);
    }

    #[test]
    fn the_environment_overrides_the_runner() {
        let (s, _) = resolve(&[("asyncbatch.runner", "daemon")], Some("shutdown"));
        assert_eq!(s.runner, RunnerKind::Shutdown);
    }

    #[test]
    fn the_spool_runner_has_the_spool_for_its_transport() {
        let (s, w) = resolve(&[("asyncbatch.runner", "Spool"), ("asyncbatch.transport", "sysv")], None);
        assert!(w.is_empty());
        assert_eq!((s.runner, s.transport), (RunnerKind::Spool, TransportKind::Spool));
        let (s, _) = resolve(&[], Some("spool"));
        assert_eq!((s.runner, s.transport), (RunnerKind::Spool, TransportKind::Spool));
    }

    #[test]
    fn bad_values_warn_and_fall_back() {
        let (s, w) = resolve(&[("asyncbatch.shutdown_budget", "-1"), ("asyncbatch.runner", "fast")], None);
        assert_eq!(s.shutdown_budget, Duration::from_secs(10));
        assert_eq!(s.runner, RunnerKind::Auto);
        assert_eq!(
            w,
            vec![
                "asyncbatch: invalid value 'fast' for asyncbatch.runner, using auto".to_string(),
                "asyncbatch: invalid value '-1' for asyncbatch.shutdown_budget, using 10".to_string(),
            ]
        );
    }

    #[test]
    fn the_queue_key_is_configured_or_derived_from_the_spool_dir() {
        let (s, _) = resolve(&[("asyncbatch.queue_key", "0x1234")], None);
        assert_eq!(s.queue_key, 0x1234);
        let (a, _) = resolve(&[("asyncbatch.spool_dir", "/a")], None);
        let (b, _) = resolve(&[("asyncbatch.spool_dir", "/b")], None);
        assert_ne!(a.queue_key, b.queue_key);
        assert_eq!(a.queue_mode, 0o600);
        assert_eq!(a.transport, TransportKind::Sysv);
        let (c, w) =
            resolve(&[("asyncbatch.queue_mode", "0066"), ("asyncbatch.transport", "carrier pigeon")], None);
        assert_eq!((c.queue_mode, c.transport), (0o600, TransportKind::Sysv));
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn the_cache_resolves_again_only_when_a_raw_value_changes() {
        let mut cache = SettingsCache::default();
        let mut raw: Vec<Option<&[u8]>> = vec![None; INI.len() + 1];
        let mut resolved = 0;
        let mut get = |cache: &mut SettingsCache, raw: &Vec<Option<&[u8]>>| {
            cache.get(raw, || {
                resolved += 1;
                (PathBuf::from("/tmp"), 33)
            })
        };
        let (a, _) = get(&mut cache, &raw);
        let (b, _) = get(&mut cache, &raw);
        assert_eq!(a, b);
        raw[INI.len()] = Some(b"shutdown");
        let (c, _) = get(&mut cache, &raw);
        assert_eq!(c.runner, RunnerKind::Shutdown);
        raw[0] = Some(b"bogus");
        let (d, w) = get(&mut cache, &raw);
        assert_eq!((d.runner, w.len()), (RunnerKind::Shutdown, 1));
        assert_eq!(resolved, 3);
    }

    #[test]
    fn explicit_dirs_have_no_default_base() {
        let (s, _) = resolve(&[("asyncbatch.spool_dir", "/a"), ("asyncbatch.failure_dir", "/b")], None);
        assert_eq!(s.default_base, None);
    }
}

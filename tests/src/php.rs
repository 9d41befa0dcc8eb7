//! The two implementations of asyncbatch, and running PHP CLI scripts with one.

use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::paths::{extension_so, find_extension_so, find_polyfill_autoload, php_binary, polyfill_autoload};
use crate::process::{run_with_timeout, Output};

/// Which implementation of asyncbatch a PHP process gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Php {
    /// The Rust extension, `libasyncbatch.so`, loaded with `extension=`.
    Extension,
    /// The pure-PHP polyfill, `php/autoload.php`, loaded with `auto_prepend_file=`.
    Polyfill,
}

impl Php {
    /// Both sides, the extension first.
    pub const BOTH: [Php; 2] = [Php::Extension, Php::Polyfill];

    /// `extension` or `polyfill`.
    pub fn name(self) -> &'static str {
        match self {
            Php::Extension => "extension",
            Php::Polyfill => "polyfill",
        }
    }

    /// The ini setting that loads this side, as it would be written in php.ini.
    ///
    /// # Panics
    /// When the extension is not built or the polyfill is missing.
    pub fn load_ini(self) -> (String, String) {
        match self {
            Php::Extension => ("extension".into(), extension_so().display().to_string()),
            Php::Polyfill => ("auto_prepend_file".into(), polyfill_autoload().display().to_string()),
        }
    }

    /// The `php` command-line flags that load this side: `-d extension=…` or
    /// `-d auto_prepend_file=…`.
    pub fn cli_flags(self) -> Vec<String> {
        let (key, value) = self.load_ini();
        vec!["-d".into(), format!("{key}={value}")]
    }

    /// A `php` command with this side loaded.
    pub fn cli(self) -> PhpCommand {
        PhpCommand::new(Some(self))
    }

    /// Whether this side can be used: loads it in `php` and constructs an
    /// `AsyncBatchRunner`. `Err` says what went wrong.
    pub fn check(self) -> Result<(), String> {
        match self {
            Php::Extension => find_extension_so().map(drop)?,
            Php::Polyfill => find_polyfill_autoload().map(drop)?,
        }
        let probe = "$r = new AsyncBatchRunner(); \
            foreach (['registerAsyncJob', 'submitItem', 'flush', 'stats', 'retryFailed'] as $m) { \
                if (!method_exists($r, $m)) { echo \"AsyncBatchRunner has no method $m()\"; exit(1); } \
            } echo 'ok';";
        let out = self.cli().code(probe).run();
        if out.status.success() && out.stdout_str() == "ok" {
            Ok(())
        } else {
            Err(format!(
                "php with the {} does not offer the AsyncBatchRunner API ({}):\n{}{}",
                self.name(),
                out.status,
                out.stdout_str(),
                out.stderr
            ))
        }
    }
}

impl fmt::Display for Php {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `php` CLI invocation, built step by step.
///
/// The child gets the caller's environment minus `ASYNCBATCH_*` variables (so a
/// runner chosen in the developer's shell does not leak into a test), plus what
/// [`PhpCommand::env`] adds.
pub struct PhpCommand {
    side: Option<Php>,
    ini: Vec<(String, String)>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    cwd: Option<std::path::PathBuf>,
}

impl PhpCommand {
    /// A `php` command loading `side` (or plain PHP with `None`).
    pub fn new(side: Option<Php>) -> Self {
        let mut ini = vec![("display_errors".into(), "stderr".into())];
        if let Some(side) = side {
            ini.push(side.load_ini());
        }
        PhpCommand {
            side,
            ini,
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            timeout: Duration::from_secs(60),
            cwd: None,
        }
    }

    /// Adds `-d key=value`.
    pub fn ini(mut self, key: &str, value: impl ToString) -> Self {
        self.ini.push((key.into(), value.to_string()));
        self
    }

    /// Adds several `-d key=value`.
    pub fn inis(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        self.ini.extend(pairs);
        self
    }

    /// Runs `script` with `args`.
    pub fn script(mut self, script: &Path, args: &[&str]) -> Self {
        self.args.push(script.into());
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    /// Runs `code` with `-r`. PHP applies `auto_prepend_file` to script files
    /// only, so with the polyfill the code starts by requiring its loader.
    pub fn code(mut self, code: &str) -> Self {
        let code = match self.side {
            Some(Php::Polyfill) => format!("require {:?}; {code}", polyfill_autoload().display().to_string()),
            _ => code.to_string(),
        };
        self.args.push("-r".into());
        self.args.push(code.into());
        self
    }

    /// Sets an environment variable of the child.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Feeds `input` on stdin.
    pub fn stdin(mut self, input: &[u8]) -> Self {
        self.stdin = Some(input.to_vec());
        self
    }

    /// Kills the process after `timeout` (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs in `dir`.
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// The command that [`PhpCommand::run`] runs.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(php_binary());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ASYNCBATCH_") {
                cmd.env_remove(key);
            }
        }
        for (key, value) in &self.ini {
            cmd.arg("-d").arg(format!("{key}={value}"));
        }
        cmd.args(&self.args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Runs to completion (or the timeout).
    pub fn run(&self) -> Output {
        run_with_timeout(&mut self.command(), self.stdin.as_deref(), self.timeout)
    }
}

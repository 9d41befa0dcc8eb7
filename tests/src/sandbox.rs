//! A temporary directory per test, with the asyncbatch directories in it.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A temporary directory removed on drop (kept when `ASYNCBATCH_E2E_KEEP` is set,
/// for looking at what a failed test left).
pub struct Sandbox {
    dir: Option<TempDir>,
}

impl Sandbox {
    /// Creates an empty directory under the system temporary directory.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("asyncbatch-e2e-")
            .tempdir()
            .expect("create a temporary directory");
        Sandbox { dir: Some(dir) }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("sandbox is alive").path()
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// Where the spool goes (`asyncbatch.spool_dir`); not created: asyncbatch creates it.
    pub fn spool_dir(&self) -> PathBuf {
        self.join("spool")
    }

    /// Where failed batches go (`asyncbatch.failure_dir`); not created.
    pub fn failure_dir(&self) -> PathBuf {
        self.join("failed")
    }

    /// The ini settings pointing asyncbatch at this sandbox's directories.
    pub fn asyncbatch_ini(&self) -> Vec<(String, String)> {
        vec![
            ("asyncbatch.spool_dir".into(), self.spool_dir().display().to_string()),
            ("asyncbatch.failure_dir".into(), self.failure_dir().display().to_string()),
        ]
    }

    /// The SysV key of this sandbox's message queue: the key the extension derives
    /// from its spool directory, unique to the sandbox. Given explicitly too
    /// ([`Sandbox::daemon_ini`]), and the queue is removed on drop.
    pub fn queue_key(&self) -> i32 {
        crate::sysv::derived_queue_key(&self.spool_dir().display().to_string())
    }

    /// [`Sandbox::asyncbatch_ini`] plus the runner `daemon` and this sandbox's
    /// queue key: what producers and the daemon of a test share.
    pub fn daemon_ini(&self) -> Vec<(String, String)> {
        let mut ini = self.asyncbatch_ini();
        ini.push(("asyncbatch.runner".into(), "daemon".into()));
        ini.push(("asyncbatch.queue_key".into(), self.queue_key().to_string()));
        ini
    }

    /// Names of the files in `dir` ending with `suffix`, sorted; empty when `dir`
    /// does not exist.
    pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = match fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect(),
            Err(_) => Vec::new(),
        };
        found.sort();
        found
    }

    /// Names of the files in `dir` that hold something, sorted: all but the
    /// header-only `.part` files the extension keeps, one per job and process, for
    /// its next journal (removed when the process exits).
    pub fn files_holding_items(dir: &Path) -> Vec<PathBuf> {
        let mut found = Self::files_ending(dir, "");
        found.retain(|p| {
            !(p.to_string_lossy().ends_with(".part") && fs::metadata(p).is_ok_and(|m| m.len() <= 8))
        });
        found
    }

    /// Reads a file as text, empty when it does not exist.
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.join(name)).unwrap_or_default()
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // The message queue a test's processes may have created outlives them.
        if self.dir.is_some() {
            crate::sysv::remove_queue(self.queue_key());
        }
        if std::env::var_os("ASYNCBATCH_E2E_KEEP").is_some() {
            if let Some(dir) = self.dir.take() {
                eprintln!("keeping {}", dir.keep().display());
            }
        }
    }
}

//! Process locks in the spool directory (`daemon.lock`, `drain.lock`): an flock held
//! for the life of the process, with the holder's pid written inside for messages.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::secure_fs::{self, StorageError};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct ProcessLock {
    file: File,
}

impl ProcessLock {
    /// Takes `{dir}/{name}.lock`. `Ok(Err(pid))` when another process holds it (pid as
    /// it wrote it, 0 if unknown).
    pub fn take(dir: &Path, name: &str) -> Result<Result<ProcessLock, u32>, StorageError> {
        let path = dir.join(format!("{name}.lock"));
        let mut file = match secure_fs::create_new(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                secure_fs::open_existing(&path).map_err(|e| StorageError::io("open", &path, e))?
            }
            Err(e) => return Err(StorageError::io("create", &path, e)),
        };
        if !secure_fs::try_lock(&file).map_err(|e| StorageError::io("lock", &path, e))? {
            let mut s = String::new();
            let _ = file.read_to_string(&mut s);
            return Ok(Err(s.trim().parse().unwrap_or(0)));
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        Ok(Ok(ProcessLock { file }))
    }

    /// Gives the lock up in a forked child without releasing the parent's hold
    /// (closing our descriptor leaves the parent's open).
    pub fn forget_in_child(self) {
        drop(self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_learns_the_holders_pid() {
        let t = tempfile::tempdir().unwrap();
        let first = ProcessLock::take(t.path(), "drain").unwrap().unwrap();
        assert_eq!(ProcessLock::take(t.path(), "drain").unwrap().unwrap_err(), std::process::id());
        drop(first);
        assert!(ProcessLock::take(t.path(), "drain").unwrap().is_ok());
    }
}

//! Files and directories another local user cannot subvert: private directories
//! (0700, ours, not group/world writable, not a symlink), files created 0600 with
//! O_EXCL and opened without following symlinks, and flock-based claims.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A storage problem, with the path it concerns.
#[derive(Debug, Error)]
pub enum StorageError {
    /// A directory that exists but may not be used.
    #[error("refusing to use {what} {path}: {reason}")]
    Refused {
        /// "spool directory", "failure directory".
        what: &'static str,
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A system call failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was attempted ("create directory", "write").
        op: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The failure store is at its size cap.
    #[error("failure store {dir} is full ({used} of {cap} bytes used)")]
    Full {
        /// The directory.
        dir: PathBuf,
        /// Bytes used now.
        used: u64,
        /// The cap.
        cap: u64,
    },
}

impl StorageError {
    /// Wraps an OS error.
    pub fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        StorageError::Io { op, path: path.to_path_buf(), source }
    }
}

/// The effective uid of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates `path` (and missing parents) with mode 0700, or checks that the existing
/// directory is safe: not a symlink, a directory, owned by us, not writable by group
/// or others.
pub fn ensure_private_dir(path: &Path, what: &'static str) -> Result<(), StorageError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(|e| StorageError::io("create directory", path, e))?;
        }
        Err(e) => return Err(StorageError::io("inspect directory", path, e)),
        Ok(_) => {}
    }
    let meta = fs::symlink_metadata(path).map_err(|e| StorageError::io("inspect directory", path, e))?;
    let refuse = |reason: String| StorageError::Refused { what, path: path.to_path_buf(), reason };
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("not a directory".into()));
    }
    let me = euid();
    if meta.uid() != me {
        return Err(refuse(format!("owned by uid {}, not {me}", meta.uid())));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refuse(format!("writable by group or others (mode {mode:04o})")));
    }
    Ok(())
}

/// Creates a new file, 0600, failing if anything (a symlink included) is at `path`.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Opens an existing file for reading and writing, refusing a symlink.
pub fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
}

/// Takes an exclusive flock without waiting; `false` when another process holds it.
pub fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: the fd is valid for the life of `file`.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

/// Takes an exclusive flock, waiting for it.
pub fn lock(file: &File) -> io::Result<()> {
    loop {
        // SAFETY: the fd is valid for the life of `file`.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Whether `path` still names the file `file` has open (it was not renamed away or
/// replaced between our open and our lock).
pub fn still_at(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Opens and locks an existing file as a claim: `None` when another process holds
/// it, or it vanished or changed under us.
pub fn claim(path: &Path) -> io::Result<Option<File>> {
    let file = match open_existing(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !try_lock(&file)? || !still_at(&file, path) {
        return Ok(None);
    }
    Ok(Some(file))
}

/// Flushes a directory entry change (a rename, a new file) to disk.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// This host's name, for records.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_private_directories() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b/spool");
        ensure_private_dir(&d, "spool directory").unwrap();
        let mode = fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_private_dir(&d, "spool directory").unwrap();
    }

    #[test]
    fn refuses_world_writable_and_symlinked_directories() {
        let t = tempfile::tempdir().unwrap();
        let open = t.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        let e = ensure_private_dir(&open, "spool directory").unwrap_err();
        assert!(e.to_string().ends_with("writable by group or others (mode 0777)"), "{e}");

        let link = t.path().join("link");
        std::os::unix::fs::symlink(t.path(), &link).unwrap();
        let e = ensure_private_dir(&link, "spool directory").unwrap_err();
        assert!(e.to_string().ends_with("it is a symbolic link"), "{e}");

        let file = t.path().join("file");
        fs::write(&file, b"x").unwrap();
        let e = ensure_private_dir(&file, "failure directory").unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }

    #[test]
    fn refuses_directories_of_other_users() {
        if euid() != 0 {
            return; // only root can make a directory another user owns
        }
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("theirs");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
        let e = ensure_private_dir(&d, "spool directory").unwrap_err();
        assert!(e.to_string().contains("owned by uid 65534, not 0"), "{e}");
    }

    #[test]
    fn never_follows_a_planted_symlink() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("victim");
        fs::write(&target, b"precious").unwrap();
        let planted = t.path().join("x.seg");
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        assert!(create_new(&planted).is_err());
        assert!(open_existing(&planted).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"precious");
    }

    #[test]
    fn a_claim_excludes_other_claims() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x");
        fs::write(&p, b"x").unwrap();
        let first = claim(&p).unwrap().expect("free");
        // flock locks belong to the open file description: a second open conflicts.
        assert!(claim(&p).unwrap().is_none());
        drop(first);
        assert!(claim(&p).unwrap().is_some());
        fs::remove_file(&p).unwrap();
        assert!(claim(&p).unwrap().is_none());
    }
}

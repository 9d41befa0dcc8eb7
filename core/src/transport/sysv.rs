//! A SysV message queue, through `libc`: PHP's sysvmsg extension is not needed.
//!
//! Sends never wait (`IPC_NOWAIT`). Receiving can peek at the head message without
//! removing it (`MSG_COPY`), so the daemon journals a message before it takes it.

use std::io;
use std::path::Path;

use thiserror::Error;

use crate::secure_fs::euid;

/// Linux's `MSG_COPY` (not in every libc crate version).
const MSG_COPY: i32 = 0o40000;
/// Every message carries this type.
const MTYPE: libc::c_long = 1;

/// Why a queue cannot be used.
#[derive(Debug, Error)]
pub enum QueueError {
    /// It exists but belongs to someone else or is open to others.
    #[error("refusing to use message queue {key:#x}: {reason}")]
    Refused {
        /// The key.
        key: i32,
        /// Why.
        reason: String,
    },
    /// A system call failed.
    #[error("message queue {key:#x}: {op}: {source}")]
    Sys {
        /// The key.
        key: i32,
        /// The call.
        op: &'static str,
        /// The error.
        source: io::Error,
    },
}

/// Why a send did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The queue is full (nobody reads it fast enough, or at all).
    Full,
    /// The queue was removed or cannot be written.
    Unusable(String),
}

/// What `msgctl(IPC_STAT)` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStat {
    /// Messages waiting.
    pub messages: u64,
    /// Bytes waiting.
    pub bytes: u64,
    /// The queue's capacity in bytes.
    pub capacity: u64,
    /// Owner.
    pub uid: u32,
    /// Permission bits.
    pub mode: u32,
}

/// An open queue.
#[derive(Debug, Clone, Copy)]
pub struct Queue {
    id: i32,
    key: i32,
}

fn sys(key: i32, op: &'static str) -> QueueError {
    QueueError::Sys { key, op, source: io::Error::last_os_error() }
}

/// The largest message the kernel accepts (`kernel.msgmax`).
pub fn msgmax() -> usize {
    std::fs::read_to_string("/proc/sys/kernel/msgmax")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(8192)
}

/// The owner of the queue with `key`, from `/proc/sysvipc/msg` (columns: key,
/// msqid, perms, cbytes, qnum, lspid, lrpid, uid, ...).
fn owner_in_proc(key: i32) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/sysvipc/msg").ok()?;
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        (cols.first()?.parse::<i64>().ok()? as i32 == key).then(|| cols.get(7)?.parse().ok()).flatten()
    })
}

/// The key for a spool directory when none is configured.
pub fn derive_key(spool_dir: &Path) -> i32 {
    let path = spool_dir.to_string_lossy();
    let path = path.trim_end_matches('/');
    match (crc32fast::hash(path.as_bytes()) & 0x7fff_ffff) as i32 {
        0 => 1,
        k => k,
    }
}

/// Parses `asyncbatch.queue_key`: decimal or `0x` hex; empty: none.
pub fn parse_key(s: &str) -> Option<Result<i32, String>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => s.parse::<i64>(),
    };
    Some(match parsed {
        Ok(k) if k != 0 && (i32::MIN as i64..=u32::MAX as i64).contains(&k) => Ok(k as u32 as i32),
        _ => Err(format!("invalid queue key '{s}'")),
    })
}

impl Queue {
    /// Opens the queue with `key`, creating it with `mode` if it does not exist. An
    /// existing queue must belong to us and allow no more than `mode`.
    pub fn open(key: i32, mode: u32) -> Result<Queue, QueueError> {
        // SAFETY: plain system calls on integers.
        let id = unsafe { libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | (mode & 0o777) as i32) };
        if id >= 0 {
            return Ok(Queue { id, key });
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
            return Err(sys(key, "create"));
        }
        Queue::open_existing(key)?.ok_or_else(|| sys(key, "open"))?.checked(mode)
    }

    /// Opens an existing queue, if there is one, refusing it as [`Queue::open`]
    /// does: what reads a queue (a drain) must not take another user's messages.
    pub fn open_existing_checked(key: i32, mode: u32) -> Result<Option<Queue>, QueueError> {
        Queue::open_existing(key)?.map(|q| q.checked(mode)).transpose()
    }

    /// This queue, if it belongs to us and allows no more than `mode`.
    fn checked(self, mode: u32) -> Result<Queue, QueueError> {
        let key = self.key;
        let me = euid();
        let st = match self.stat() {
            Ok(st) => st,
            // Only a queue of another user hides its state from us; the kernel's
            // table, readable by all, still names the owner.
            Err(QueueError::Sys { source, .. }) if source.raw_os_error() == Some(libc::EACCES) => {
                let reason = match owner_in_proc(key) {
                    Some(uid) => format!("owned by uid {uid}, not {me}"),
                    None => format!("owned by another user (uid {me} may not read its state)"),
                };
                return Err(QueueError::Refused { key, reason });
            }
            Err(e) => return Err(e),
        };
        if st.uid != me {
            return Err(QueueError::Refused { key, reason: format!("owned by uid {}, not {me}", st.uid) });
        }
        if st.mode & 0o777 & !(mode & 0o777) != 0 {
            return Err(QueueError::Refused {
                key,
                reason: format!("its mode {:04o} allows more than {:04o}", st.mode & 0o777, mode & 0o777),
            });
        }
        Ok(self)
    }

    /// Opens an existing queue without creating one; `None` when there is none.
    pub fn open_existing(key: i32) -> Result<Option<Queue>, QueueError> {
        // SAFETY: a plain system call.
        let id = unsafe { libc::msgget(key, 0) };
        if id >= 0 {
            return Ok(Some(Queue { id, key }));
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::ENOENT) => Ok(None),
            _ => Err(sys(key, "open")),
        }
    }

    /// The key.
    pub fn key(&self) -> i32 {
        self.key
    }

    /// Sends one message without waiting.
    pub fn send(&self, body: &[u8], scratch: &mut Vec<u8>) -> Result<(), SendError> {
        scratch.clear();
        scratch.extend_from_slice(&MTYPE.to_ne_bytes());
        scratch.extend_from_slice(body);
        // SAFETY: `scratch` holds an mtype followed by `body.len()` bytes.
        let rc = unsafe { libc::msgsnd(self.id, scratch.as_ptr().cast(), body.len(), libc::IPC_NOWAIT) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EAGAIN) => Err(SendError::Full),
            Some(libc::EINTR) => Err(SendError::Full),
            _ => Err(SendError::Unusable(err.to_string())),
        }
    }

    fn rcv(&self, buf: &mut Vec<u8>, flags: i32) -> Result<Option<usize>, QueueError> {
        loop {
            let cap = buf.capacity().max(msgmax() + 8);
            buf.clear();
            buf.reserve(cap);
            let room = buf.capacity() - 8;
            // SAFETY: the buffer has room for an mtype and `room` bytes.
            let n =
                unsafe { libc::msgrcv(self.id, buf.as_mut_ptr().cast(), room, 0, flags | libc::IPC_NOWAIT) };
            if n >= 0 {
                // SAFETY: the kernel wrote the mtype and n bytes.
                unsafe { buf.set_len(8 + n as usize) };
                buf.drain(..8);
                return Ok(Some(n as usize));
            }
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::ENOMSG) | Some(libc::EAGAIN) => return Ok(None),
                Some(libc::EINTR) => continue,
                Some(libc::E2BIG) if room < (64 << 20) => buf.reserve(room * 2),
                _ => return Err(sys(self.key, "receive")),
            }
        }
    }

    /// Copies the head message into `buf` without removing it; `None` when empty.
    /// Needs a kernel with `CONFIG_CHECKPOINT_RESTORE` (ENOSYS otherwise).
    pub fn peek(&self, buf: &mut Vec<u8>) -> Result<Option<usize>, QueueError> {
        self.rcv(buf, MSG_COPY)
    }

    /// Removes the head message into `buf`; `None` when empty.
    pub fn receive(&self, buf: &mut Vec<u8>) -> Result<Option<usize>, QueueError> {
        self.rcv(buf, 0)
    }

    /// The queue's state.
    pub fn stat(&self) -> Result<QueueStat, QueueError> {
        // SAFETY: msqid_ds is plain data filled by the kernel.
        let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
        if unsafe { libc::msgctl(self.id, libc::IPC_STAT, &mut ds) } != 0 {
            return Err(sys(self.key, "stat"));
        }
        Ok(QueueStat {
            messages: ds.msg_qnum as u64,
            bytes: ds.__msg_cbytes as u64,
            capacity: ds.msg_qbytes as u64,
            uid: ds.msg_perm.uid,
            mode: ds.msg_perm.mode as u32,
        })
    }

    /// Raises the queue's capacity (root only above `kernel.msgmnb`).
    pub fn set_capacity(&self, bytes: u64) -> Result<(), QueueError> {
        // SAFETY: as in `stat`.
        let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
        if unsafe { libc::msgctl(self.id, libc::IPC_STAT, &mut ds) } != 0 {
            return Err(sys(self.key, "stat"));
        }
        ds.msg_qbytes = bytes as _;
        if unsafe { libc::msgctl(self.id, libc::IPC_SET, &mut ds) } != 0 {
            return Err(sys(self.key, "set capacity"));
        }
        Ok(())
    }

    /// Removes the queue (tests, tools).
    pub fn remove(self) {
        // SAFETY: a plain system call.
        unsafe { libc::msgctl(self.id, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> i32 {
        0x5a00_0000 | (std::process::id() as i32 & 0xffff) << 4 | (crate::naming::unix_micros() as i32 & 0xf)
    }

    #[test]
    fn send_peek_receive() {
        let q = Queue::open(test_key(), 0o600).unwrap();
        let mut scratch = Vec::new();
        q.send(b"first", &mut scratch).unwrap();
        q.send(b"second", &mut scratch).unwrap();
        let mut buf = Vec::new();
        assert_eq!(q.peek(&mut buf).unwrap(), Some(5));
        assert_eq!(buf, b"first");
        assert_eq!(q.stat().unwrap().messages, 2, "a peek removes nothing");
        assert_eq!(q.receive(&mut buf).unwrap(), Some(5));
        assert_eq!(buf, b"first");
        assert_eq!(q.receive(&mut buf).unwrap(), Some(6));
        assert_eq!(q.receive(&mut buf).unwrap(), None);
        q.remove();
    }

    #[test]
    fn a_full_queue_says_so_at_once() {
        let q = Queue::open(test_key() ^ 0x100, 0o600).unwrap();
        let cap = q.stat().unwrap().capacity as usize;
        let body = vec![7u8; 1024];
        let mut scratch = Vec::new();
        let mut sent = 0;
        let result = loop {
            match q.send(&body, &mut scratch) {
                Ok(()) => sent += 1024,
                other => break other,
            }
            assert!(sent <= cap + 1024);
        };
        assert_eq!(result, Err(SendError::Full));
        q.remove();
    }

    #[test]
    fn a_queue_with_wider_permissions_is_refused() {
        let key = test_key() ^ 0x200;
        let q = Queue::open(key, 0o666).unwrap();
        let e = Queue::open(key, 0o600).unwrap_err();
        assert!(e.to_string().contains("allows more than 0600"), "{e}");
        q.remove();
    }

    #[test]
    fn keys_parse_and_derive() {
        assert_eq!(parse_key(""), None);
        assert_eq!(parse_key("0x1A2b"), Some(Ok(0x1a2b)));
        assert_eq!(parse_key("42"), Some(Ok(42)));
        assert!(parse_key("0").unwrap().is_err());
        assert!(parse_key("nope").unwrap().is_err());
        let k = derive_key(Path::new("/tmp/x/spool/"));
        assert_eq!(k, derive_key(Path::new("/tmp/x/spool")));
        assert!(k > 0);
    }
}

//! SysV message queues seen from a test: find, inspect, create, send to and
//! remove the queue of a sandbox, through the kernel calls (no PHP).

use std::io;

/// The message queue id of `key`, if a queue with that key exists.
pub fn queue_id(key: i32) -> Option<i32> {
    // SAFETY: msgget(2) with flags 0 only looks the key up.
    let id = unsafe { libc::msgget(key, 0) };
    (id >= 0).then_some(id)
}

/// What `msgctl(IPC_STAT)` says of the queue of `key`: messages on it, owner uid
/// and mode bits. `None` when there is no such queue.
pub fn queue_stat(key: i32) -> Option<QueueStat> {
    let id = queue_id(key)?;
    // SAFETY: msqid_ds is plain data; IPC_STAT fills it.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    if unsafe { libc::msgctl(id, libc::IPC_STAT, &mut ds) } != 0 {
        return None;
    }
    Some(QueueStat {
        messages: ds.msg_qnum as u64,
        uid: ds.msg_perm.uid,
        mode: ds.msg_perm.mode as u32 & 0o777,
    })
}

/// See [`queue_stat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueStat {
    /// Messages waiting on the queue.
    pub messages: u64,
    /// The owner's uid.
    pub uid: u32,
    /// Permission bits.
    pub mode: u32,
}

/// Bytes on the queue of `key` and the most it holds (`msg_cbytes`, `msg_qbytes`);
/// `None` when there is no such queue.
pub fn queue_bytes(key: i32) -> Option<(u64, u64)> {
    let id = queue_id(key)?;
    // SAFETY: msqid_ds is plain data; IPC_STAT fills it.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    if unsafe { libc::msgctl(id, libc::IPC_STAT, &mut ds) } != 0 {
        return None;
    }
    Some((ds.__msg_cbytes as u64, ds.msg_qbytes as u64))
}

/// Removes the queue of `key` if there is one; returns whether one was removed.
pub fn remove_queue(key: i32) -> bool {
    match queue_id(key) {
        // SAFETY: IPC_RMID takes no buffer.
        Some(id) => unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) == 0 },
        None => false,
    }
}

/// Creates the queue of `key` with permission bits `mode` (it must not exist).
pub fn create_queue(key: i32, mode: i32) -> io::Result<i32> {
    // SAFETY: msgget(2) creating a new queue.
    let id = unsafe { libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | mode) };
    if id < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(id)
    }
}

/// Makes `uid` the owner of the queue of `key` (`msgctl(IPC_SET)`; root may give
/// a queue away).
pub fn set_queue_owner(key: i32, uid: u32) -> io::Result<()> {
    let id = queue_id(key).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    // SAFETY: IPC_STAT then IPC_SET of the same plain-data structure.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    if unsafe { libc::msgctl(id, libc::IPC_STAT, &mut ds) } != 0 {
        return Err(io::Error::last_os_error());
    }
    ds.msg_perm.uid = uid;
    if unsafe { libc::msgctl(id, libc::IPC_SET, &mut ds) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Puts one message of type `mtype` with body `body` on the queue of `key`
/// (created 0600 if missing), without waiting.
pub fn send_message(key: i32, mtype: i64, body: &[u8]) -> io::Result<()> {
    // SAFETY: msgget(2) creating or opening the queue.
    let id = unsafe { libc::msgget(key, libc::IPC_CREAT | 0o600) };
    if id < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = Vec::with_capacity(8 + body.len());
    buf.extend_from_slice(&mtype.to_ne_bytes());
    buf.extend_from_slice(body);
    // SAFETY: buf holds the long mtype followed by body.len() bytes.
    let rc = unsafe { libc::msgsnd(id, buf.as_ptr().cast(), body.len(), libc::IPC_NOWAIT) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The key the extension derives from a spool directory when
/// `asyncbatch.queue_key` is empty: `crc32(dir) & 0x7fffffff`, 1 when that is 0.
pub fn derived_queue_key(spool_dir: &str) -> i32 {
    let key = crate::spool::crc32(spool_dir.trim_end_matches('/').as_bytes()) & 0x7fff_ffff;
    if key == 0 {
        1
    } else {
        key as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_created_filled_inspected_and_removed() {
        // A key no test uses: derived from this test's own temporary directory.
        let dir = tempfile::tempdir().unwrap();
        let key = derived_queue_key(&dir.path().display().to_string());
        remove_queue(key);
        create_queue(key, 0o600).unwrap();
        send_message(key, 1, b"hello").unwrap();
        let stat = queue_stat(key).unwrap();
        assert_eq!(stat.messages, 1);
        assert_eq!(stat.mode, 0o600);
        assert!(remove_queue(key));
        assert_eq!(queue_stat(key), None);
    }

    #[test]
    fn derived_key_matches_php() {
        // php -r 'echo crc32("/tmp/clitest/spool") & 0x7fffffff;'
        assert_eq!(derived_queue_key("/tmp/clitest/spool/"), 0x5632_0475);
    }
}

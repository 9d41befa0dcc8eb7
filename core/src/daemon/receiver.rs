//! The receiver: takes messages off the queue into received segments — per-job spool
//! segments — before anything else happens to them.
//!
//! Each message is peeked (`MSG_COPY`), its frames appended to a received segment, and only
//! then removed. A SIGKILL at any point leaves it in the queue, in a segment, or
//! (between the write and the removal) in both: delivered twice, never lost. Without
//! `MSG_COPY` (a kernel without CONFIG_CHECKPOINT_RESTORE) the message is received
//! first: a kill between that and the write loses it; the receiver logs this once.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::daemon::status::ReceiverStatus;

use crate::naming::{self, MIXED_JOBKEY};
use crate::secure_fs;
use crate::spool::{JobSegments, Spool};
use crate::transport::message;
use crate::transport::sysv::{Queue, QueueError};

/// A received segment is made ready for workers this often...
pub const ROTATE_EVERY: Duration = Duration::from_millis(20);
/// ...or when it reaches this size.
pub const ROTATE_BYTES: u64 = 1 << 20;

/// The receiver's state.
pub struct Receiver {
    queue: Option<Queue>,
    segments: JobSegments,
    buf: Vec<u8>,
    removed: Vec<u8>,
    copy: bool,
    /// Its counters.
    pub status: ReceiverStatus,
    foreign_seq: u64,
}

/// What one step found.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A message was written to a segment (or kept as foreign).
    Took,
    /// The queue is empty (or there is none).
    Empty,
}

impl Receiver {
    /// A receiver for `queue` (none: only the spool's mixed segments) writing to `spool`.
    pub fn new(queue: Option<Queue>, spool: Spool) -> Self {
        Receiver {
            queue,
            segments: JobSegments::new(spool, ROTATE_EVERY, ROTATE_BYTES),
            buf: Vec::new(),
            removed: Vec::new(),
            copy: true,
            status: ReceiverStatus { pid: std::process::id(), ..Default::default() },
            foreign_seq: 0,
        }
    }

    /// Takes one message off the queue into a received segment. Log lines it wants written
    /// are pushed to `log`.
    pub fn step(&mut self, log: &mut Vec<String>) -> Result<Step, String> {
        let Some(q) = self.queue else { return Ok(Step::Empty) };
        if self.copy {
            match q.peek(&mut self.buf) {
                Ok(None) => return Ok(Step::Empty),
                Ok(Some(_)) => {
                    self.write_message(log)?;
                    // Remove it; should the head not be what we peeked (another reader
                    // is at work), write what we removed too: nothing may be lost.
                    if q.receive(&mut self.removed).map_err(|e| e.to_string())?.is_some()
                        && self.removed != self.buf
                    {
                        std::mem::swap(&mut self.buf, &mut self.removed);
                        self.write_message(log)?;
                    }
                    return Ok(Step::Took);
                }
                Err(QueueError::Sys { source, .. }) if source.raw_os_error() == Some(libc::ENOSYS) => {
                    self.copy = false;
                    log.push("asyncbatch: this kernel cannot peek at queue messages (MSG_COPY); a daemon killed between receiving a message and writing it to the spool loses that message".into());
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        match q.receive(&mut self.buf).map_err(|e| e.to_string())? {
            None => Ok(Step::Empty),
            Some(_) => {
                self.write_message(log)?;
                Ok(Step::Took)
            }
        }
    }

    fn write_message(&mut self, log: &mut Vec<String>) -> Result<(), String> {
        match message::decode(&self.buf) {
            Some(frames) => {
                self.segments.append(&frames).map_err(|e| e.to_string())?;
                self.status.messages += 1;
                for f in &frames {
                    self.status.items += f.items.len() as u64;
                    *self.status.jobs.entry(crate::item::printable_id(&f.job)).or_insert(0) +=
                        f.items.len() as u64;
                }
            }
            None => {
                self.foreign_seq += 1;
                let name = format!(
                    "foreign.{:016}.{}.{}.msg",
                    naming::unix_micros(),
                    std::process::id(),
                    self.foreign_seq
                );
                let path: PathBuf = self.segments.spool().dir().join(name);
                let kept = secure_fs::create_new(&path).and_then(|mut f| f.write_all(&self.buf));
                if self.status.foreign_messages == 0 {
                    log.push(format!(
                        "asyncbatch: a message on the queue was not an asyncbatch message ({} bytes); kept as {}{}",
                        self.buf.len(),
                        path.display(),
                        kept.err().map(|e| format!(" (failed: {e})")).unwrap_or_default()
                    ));
                }
                self.status.foreign_messages += 1;
            }
        }
        Ok(())
    }

    /// Splits the spool's segments of several jobs (`~`: the format has them, older
    /// producers wrote them when the queue was full) into per-job segments. Returns how many it split.
    pub fn split_mixed(&mut self, log: &mut Vec<String>) -> usize {
        let ready = match self.segments.spool().ready(Some(&[MIXED_JOBKEY.to_string()])) {
            Ok(r) => r,
            Err(e) => {
                log.push(format!("asyncbatch: cannot read the spool: {e}"));
                return 0;
            }
        };
        let mut n = 0;
        for path in ready {
            let Ok(Some(mut claimed)) = self.segments.spool().claim(&path) else { continue };
            let frames = std::mem::take(&mut claimed.scan.frames);
            if let Err(e) = self.segments.append(&frames) {
                log.push(format!("asyncbatch: cannot write to the spool: {e}"));
                claimed.release();
                break;
            }
            // The per-job segments must be on disk before the mixed one goes.
            if let Err(e) = self.segments.rotate(true) {
                log.push(format!("asyncbatch: {e}"));
                claimed.release();
                break;
            }
            let damaged = claimed.scan.is_damaged();
            match claimed.finish() {
                Ok(crate::spool::Finished::Quarantined(to)) if damaged => log.push(format!(
                    "asyncbatch: corrupt spool segment {}; kept as {}",
                    path.display(),
                    to.display()
                )),
                Ok(_) => {}
                Err(e) => log.push(format!("asyncbatch: {e}")),
            }
            n += 1;
        }
        n
    }

    /// Makes received segments ready when due (`force`: all of them).
    pub fn rotate(&mut self, force: bool) -> Result<(), String> {
        self.segments.rotate(force).map_err(|e| e.to_string())
    }

    /// Whether received segments are open.
    pub fn is_writing(&self) -> bool {
        self.segments.is_writing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;
    use crate::frame;
    use crate::item::Value;
    use crate::transport::message::Packer;

    fn batch(from: i64, n: i64) -> Batch {
        let mut b = Batch::new();
        for i in from..from + n {
            b.push(&Value::Int(i).encode());
        }
        b
    }

    fn received_items(dir: &std::path::Path, key: &str) -> Vec<i64> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n.starts_with(&format!("{key}.")) && n.ends_with(".seg"))
            .collect();
        names.sort();
        let mut out = Vec::new();
        for n in names {
            for f in frame::scan_segment(&std::fs::read(dir.join(n)).unwrap()).frames {
                out.extend(f.items.iter().map(|b| match Value::decode(b).unwrap() {
                    Value::Int(i) => i,
                    _ => -1,
                }));
            }
        }
        out
    }

    #[test]
    fn messages_are_written_per_job_then_removed() {
        let t = tempfile::tempdir().unwrap();
        let key = 0x5c00_0000 | (std::process::id() as i32 & 0xffff) << 4;
        let q = Queue::open(key, 0o600).unwrap();
        let mut scratch = Vec::new();
        for round in 0..3 {
            let mut p = Packer::new(8192);
            p.add(b"logs", &batch(round * 10, 10));
            p.add(b"metrics", &batch(1000 + round, 1));
            for m in p.finish() {
                q.send(&m, &mut scratch).unwrap();
            }
        }
        q.send(b"not ours", &mut scratch).unwrap();
        let mut r = Receiver::new(Some(q), Spool::open(t.path()).unwrap());
        let mut log = Vec::new();
        while r.step(&mut log).unwrap() == Step::Took {}
        r.rotate(true).unwrap();
        assert_eq!(q.stat().unwrap().messages, 0);
        assert_eq!(received_items(t.path(), "logs"), (0..30).collect::<Vec<_>>());
        assert_eq!(received_items(t.path(), "metrics"), vec![1000, 1001, 1002]);
        assert_eq!(r.status.foreign_messages, 1);
        assert_eq!(log.len(), 1, "{log:?}");
        let foreign: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("foreign."))
            .collect();
        assert_eq!(std::fs::read(foreign[0].path()).unwrap(), b"not ours");
        q.remove();
    }

    #[test]
    fn mixed_segments_are_split_per_job() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        spool
            .write(MIXED_JOBKEY, &[(b"a", &batch(0, 2)), (b"b", &batch(5, 1)), (b"a", &batch(2, 1))])
            .unwrap();
        let mut r = Receiver::new(None, Spool::open(t.path()).unwrap());
        let mut log = Vec::new();
        assert_eq!(r.split_mixed(&mut log), 1);
        assert_eq!(received_items(t.path(), "a"), vec![0, 1, 2]);
        assert_eq!(received_items(t.path(), "b"), vec![5]);
        assert_eq!(received_items(t.path(), MIXED_JOBKEY), Vec::<i64>::new());
    }
}

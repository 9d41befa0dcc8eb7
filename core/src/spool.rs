//! The spool: segment files of frames, written by whoever cannot deliver now and
//! claimed by whoever can. See `docs/internals.md` ("Spool") for the protocol.
//!
//! A claim is an flock on the segment, not a rename: a reader that dies releases it
//! with its file descriptors, and the segment, still in place, is taken whole by the
//! next reader (at-least-once).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::frame::{self, Frame, Scan, SEGMENT_HEADER};
use crate::naming;
use crate::secure_fs::{self, StorageError};

/// A `.part` segment whose writer is gone is read like a finished segment (its torn
/// tail skipped): at once when the pid in its name is dead, otherwise (the pid was
/// reused) once its lock is free and it has not changed for this long. The wait
/// covers the instant between a live writer's create and its lock.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(5);

fn writer_is_dead(name: &str) -> bool {
    naming::writer_pid(name).is_some_and(|pid| pid != std::process::id() && !pid_alive(pid))
}

/// Whether a process exists.
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    unsafe {
        libc::kill(pid as i32, 0) == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// The progress file next to a segment being delivered: the number of its items
/// (in order) that are done, as a u64 LE.
pub fn progress_path(segment: &Path) -> PathBuf {
    let mut name = segment.as_os_str().to_owned();
    name.push(".done");
    PathBuf::from(name)
}

/// Writes `done` to the progress file of `segment`, opening it into `file` (created,
/// or left by an earlier reader) the first time.
fn write_progress(segment: &Path, file: &mut Option<File>, done: u64) -> Result<(), StorageError> {
    use std::os::unix::fs::FileExt;
    let p = progress_path(segment);
    if file.is_none() {
        *file = Some(match secure_fs::create_new(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                secure_fs::open_existing(&p).map_err(|e| StorageError::io("open", &p, e))?
            }
            Err(e) => return Err(StorageError::io("create", &p, e)),
        });
    }
    let f = file.as_ref().expect("opened");
    f.write_all_at(&done.to_le_bytes(), 0).map_err(|e| StorageError::io("write", &p, e))
}

fn read_progress(segment: &Path) -> u64 {
    let mut buf = [0u8; 8];
    match secure_fs::open_existing(&progress_path(segment)).and_then(|mut f| f.read_exact(&mut buf)) {
        Ok(()) => u64::from_le_bytes(buf),
        Err(_) => 0,
    }
}

/// Items of one job in order: a batch already cut, under its id, or items not cut yet.
pub type Run = (Option<BatchId>, Batch);

/// Drops the first `n` items of the frames, in order.
fn skip_items(frames: &mut Vec<Frame>, mut n: u64) {
    while n > 0 && !frames.is_empty() {
        let len = frames[0].items.len() as u64;
        if len <= n {
            frames.remove(0);
            n -= len;
        } else {
            frames[0].items.split_front(n as usize);
            // What is left of a batch is not that batch: it gets an id of its own.
            frames[0].batch = None;
            n = 0;
        }
    }
}

/// Whether a segment file of `len` bytes holds more than its header (a process's
/// journal file between runs holds only the header).
pub fn holds_frames(len: u64) -> bool {
    len > SEGMENT_HEADER.len() as u64
}

/// Segments larger than this are not read into memory: renamed `.corrupt`.
pub const MAX_SEGMENT_BYTES: u64 = 512 << 20;

/// How long a reader trusts that a live writer's `.part` it found holding only the
/// header still does: it looks again after this (at once if the writer died).
const IDLE_JOURNAL_RECHECK: Duration = Duration::from_secs(1);

/// A spool directory, checked and ready.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    seq: u64,
    /// Header-only `.part` files of live writers (every php-fpm worker keeps one per
    /// job between requests), by name, with when that was checked: a listing passes
    /// over them without reading their metadata.
    idle_journals: RefCell<HashMap<String, Instant>>,
}

impl Spool {
    /// Opens (creating it 0700 if needed) the spool directory.
    pub fn open(dir: &Path) -> Result<Spool, StorageError> {
        secure_fs::ensure_private_dir(dir, "spool directory")?;
        Ok(Spool { dir: dir.to_path_buf(), seq: 0, idle_journals: RefCell::default() })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a new segment for `jobkey` (or [`naming::MIXED_JOBKEY`]).
    pub fn create(&mut self, jobkey: &str) -> Result<SegmentWriter, StorageError> {
        let (file, part) = self.create_part(jobkey)?;
        let mut w = SegmentWriter { file, part, done: false, written: 0 };
        secure_fs::lock(&w.file).map_err(|e| StorageError::io("lock", &w.part, e))?;
        w.write_all(SEGMENT_HEADER)?;
        Ok(w)
    }

    /// A new `.part` file for `jobkey`, not locked yet.
    fn create_part(&mut self, jobkey: &str) -> Result<(File, PathBuf), StorageError> {
        self.seq += 1;
        let name = naming::file_name(jobkey, &self.seq.to_string(), "part");
        let part = self.dir.join(&name);
        let file = secure_fs::create_new(&part).map_err(|e| StorageError::io("create", &part, e))?;
        Ok((file, part))
    }

    /// Writes one finished segment holding `frames`.
    pub fn write(&mut self, jobkey: &str, frames: &[(&[u8], &Batch)]) -> Result<PathBuf, StorageError> {
        let mut w = self.create(jobkey)?;
        let mut buf = Vec::new();
        for (job, items) in frames {
            frame::write_frames(&mut buf, job, items);
        }
        w.write_all(&buf)?;
        w.finish()
    }

    /// Writes one finished segment holding `job`'s runs of items in order, each
    /// either a batch already cut (under its id) or items not cut yet.
    pub fn write_runs(&mut self, jobkey: &str, job: &[u8], runs: &[Run]) -> Result<PathBuf, StorageError> {
        let mut w = self.create(jobkey)?;
        let mut buf = Vec::new();
        for (id, items) in runs.iter().filter(|(_, items)| !items.is_empty()) {
            match id {
                // A batch too large for one frame loses its id (it is cut again).
                Some(id) if items.byte_len() + job.len() + 64 <= frame::MAX_FRAME => {
                    frame::write_frame_of(&mut buf, job, items, Some(id))
                }
                _ => frame::write_frames(&mut buf, job, items),
            }
        }
        w.write_all(&buf)?;
        w.finish()
    }

    /// Writes items taken from memory to a journal before their callable runs: a
    /// `.part` segment this process keeps locked while it delivers them. A process
    /// that dies mid-call leaves it, and the next reader takes it like any `.part`
    /// of a dead writer, skipping what [`Journal::record_done`] recorded.
    ///
    /// `reuse` is the job's file from an earlier run ([`Journal::finish`]): it is
    /// written over, which costs a request one write instead of a file created and
    /// removed in the directory. A new file is made when there is none or it fails.
    pub fn journal(
        &mut self,
        jobkey: &str,
        job: &[u8],
        items: &Batch,
        reuse: Option<JournalFile>,
    ) -> Result<Journal, StorageError> {
        let mut frame = Vec::with_capacity(items.byte_len() + job.len() + 16);
        frame::write_frames(&mut frame, job, items);
        // A file in another directory (the spool moved between requests) goes.
        let reuse = reuse.and_then(|f| {
            if f.part.parent() == Some(self.dir.as_path()) {
                return Some(f);
            }
            f.remove();
            None
        });
        let file = match reuse.map(|f| f.write_over(&frame)) {
            Some(Ok(file)) => file,
            Some(Err(_)) | None => {
                let (file, part) = self.create_part(jobkey)?;
                let journal = JournalFile { file, part };
                let mut bytes = Vec::with_capacity(SEGMENT_HEADER.len() + frame.len());
                bytes.extend_from_slice(SEGMENT_HEADER);
                bytes.extend_from_slice(&frame);
                let written = secure_fs::lock(&journal.file)
                    .map_err(|e| StorageError::io("lock", &journal.part, e))
                    .and_then(|()| {
                        (&journal.file)
                            .write_all(&bytes)
                            .map_err(|e| StorageError::io("write", &journal.part, e))
                    });
                if let Err(e) = written {
                    journal.remove();
                    return Err(e);
                }
                journal
            }
        };
        Ok(Journal { file: Some(file), total: items.len() as u64, done: 0, progress: None, kept: false })
    }

    /// Segments that can be read, oldest first: every `.seg`, and every `.part` left
    /// by a dead writer. `jobkeys` limits them to those jobs (`None`: all).
    pub fn ready(&self, jobkeys: Option<&[String]>) -> Result<Vec<PathBuf>, StorageError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| StorageError::io("list", &self.dir, e))?;
        let now = SystemTime::now();
        let mut found: Vec<(String, PathBuf)> = Vec::new();
        let mut idle = self.idle_journals.borrow_mut();
        let mut still_idle = HashMap::new();
        for entry in entries.flatten() {
            let name = match entry.file_name().into_string() {
                Ok(n) => n,
                Err(_) => continue,
            };
            let wanted = match jobkeys {
                None => true,
                Some(keys) => naming::jobkey_of(&name).is_some_and(|k| keys.iter().any(|w| w == k)),
            };
            if !wanted {
                if let Some(at) = idle.remove(&name) {
                    still_idle.insert(name, at);
                }
                continue;
            }
            let ready = if name.ends_with(".seg") {
                true
            } else if name.ends_with(".part") {
                // A live writer's journal between runs holds nothing: passed over
                // without trying its lock, and without looking at it again for a
                // while (unless its writer died).
                let dead = writer_is_dead(&name);
                let recent = |at: &Instant| at.elapsed() < IDLE_JOURNAL_RECHECK;
                if let Some(at) = idle.remove(&name).filter(|at| !dead && recent(at)) {
                    still_idle.insert(name, at);
                    continue;
                }
                let meta = if dead { None } else { entry.metadata().ok() };
                if meta.as_ref().is_some_and(|m| !holds_frames(m.len())) {
                    still_idle.insert(name, Instant::now());
                    continue;
                }
                dead || meta.is_some_and(|m| {
                    m.modified().is_ok_and(|m| now.duration_since(m).unwrap_or_default() > ABANDONED_AFTER)
                })
            } else {
                false
            };
            if ready {
                // Sort on what follows the jobkey: the creation time.
                let age_key = name.split_once('.').map(|(_, rest)| rest.to_string()).unwrap_or_default();
                found.push((age_key, entry.path()));
            }
        }
        // Only what this listing saw: the rest is gone.
        *idle = still_idle;
        found.sort();
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    /// Whether any segment for these jobs is ready (cheap check before a delivery run).
    pub fn has_ready(&self, jobkeys: &[String]) -> bool {
        self.ready(Some(jobkeys)).is_ok_and(|r| !r.is_empty())
    }

    /// Claims a segment and reads it; `None` when another process has it or it is gone.
    pub fn claim(&self, path: &Path) -> Result<Option<Claimed>, StorageError> {
        let Some(mut file) = secure_fs::claim(path).map_err(|e| StorageError::io("open", path, e))? else {
            return Ok(None);
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut scan = if size > MAX_SEGMENT_BYTES {
            Scan { bad_header: true, tail_bytes: size as usize, ..Scan::default() }
        } else {
            let mut data = Vec::with_capacity(size as usize);
            file.read_to_end(&mut data).map_err(|e| StorageError::io("read", path, e))?;
            frame::scan_segment(&data)
        };
        // A reader before us delivered part of it and recorded how much.
        let done = read_progress(path);
        skip_items(&mut scan.frames, done);
        Ok(Some(Claimed { path: path.to_path_buf(), file, scan, done, progress: None }))
    }
}

/// A set of segments being written, one per job: the daemon's received segments, and
/// those a PHP process's sender spools to. Each is made ready for readers after
/// `every` or at `max_bytes`.
pub struct JobSegments {
    spool: Spool,
    writers: HashMap<String, (SegmentWriter, Instant)>,
    every: Duration,
    max_bytes: u64,
}

impl JobSegments {
    /// Per-job segments in `spool`, made ready every `every` or at `max_bytes`.
    pub fn new(spool: Spool, every: Duration, max_bytes: u64) -> Self {
        JobSegments { spool, writers: HashMap::new(), every, max_bytes }
    }

    /// When the oldest open segment is due, if any is open.
    pub fn next_due(&self) -> Option<Instant> {
        self.writers.values().map(|(_, at)| *at + self.every).min()
    }

    /// The spool it writes to.
    pub fn spool(&mut self) -> &mut Spool {
        &mut self.spool
    }

    /// Appends frames, each to its job's segment.
    pub fn append(&mut self, frames: &[Frame]) -> Result<(), StorageError> {
        for f in frames {
            let key = naming::jobkey(&f.job);
            if !self.writers.contains_key(&key) {
                let w = self.spool.create(&key)?;
                self.writers.insert(key.clone(), (w, Instant::now()));
            }
            let (w, _) = self.writers.get_mut(&key).expect("just made");
            match &f.batch {
                Some(id) => w.append_batch(&f.job, &f.items, id)?,
                None => w.append(&f.job, &f.items)?,
            }
        }
        Ok(())
    }

    /// Makes segments ready: those old or large enough, or all (`force`).
    pub fn rotate(&mut self, force: bool) -> Result<(), StorageError> {
        let due: Vec<String> = self
            .writers
            .iter()
            .filter(|(_, (w, at))| force || at.elapsed() >= self.every || w.len() >= self.max_bytes)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            let (w, _) = self.writers.remove(&k).expect("listed");
            w.finish()?;
        }
        Ok(())
    }

    /// Whether segments are being written.
    pub fn is_writing(&self) -> bool {
        !self.writers.is_empty()
    }
}

/// A segment being written; it becomes visible to readers at [`SegmentWriter::finish`].
/// Dropped unfinished, it is removed: nothing half-written is left to deliver.
#[derive(Debug)]
pub struct SegmentWriter {
    file: File,
    part: PathBuf,
    done: bool,
    written: u64,
}

impl SegmentWriter {
    /// Appends one frame.
    pub fn append(&mut self, job: &[u8], items: &Batch) -> Result<(), StorageError> {
        let mut buf = Vec::with_capacity(items.byte_len() + job.len() + 16);
        frame::write_frames(&mut buf, job, items);
        self.write_all(&buf)
    }

    /// Appends one frame of a batch already cut, under its id.
    pub fn append_batch(&mut self, job: &[u8], items: &Batch, id: &BatchId) -> Result<(), StorageError> {
        let mut buf = Vec::with_capacity(items.byte_len() + job.len() + 64);
        frame::write_frame_of(&mut buf, job, items, Some(id));
        self.write_all(&buf)
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        self.file.write_all(bytes).map_err(|e| StorageError::io("write", &self.part, e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far, header included.
    pub fn len(&self) -> u64 {
        self.written
    }

    /// True when only the header is written.
    pub fn is_empty(&self) -> bool {
        self.written <= SEGMENT_HEADER.len() as u64
    }

    /// Makes the segment ready for readers.
    pub fn finish(mut self) -> Result<PathBuf, StorageError> {
        let seg = self.part.with_extension("seg");
        fs::rename(&self.part, &seg).map_err(|e| StorageError::io("rename", &self.part, e))?;
        self.done = true;
        Ok(seg)
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.part);
        }
    }
}

/// Items on their way to a callable, on disk in a locked `.part` segment with, once
/// a batch of several is done, a `.done` progress file. [`Journal::finish`] empties
/// it for the job's next run; dropped, it removes both (every item was delivered,
/// stored, or written elsewhere); [`Journal::keep`] leaves them for the next reader.
#[derive(Debug)]
pub struct Journal {
    file: Option<JournalFile>,
    total: u64,
    done: u64,
    progress: Option<File>,
    kept: bool,
}

impl Journal {
    /// The `.part` file.
    pub fn path(&self) -> &Path {
        &self.file.as_ref().expect("held until dropped").part
    }

    /// Records that `n` more items (in order) are done; true when that was the
    /// last of them. Progress is written only while items remain: one batch costs
    /// no more than the journal's write.
    pub fn record_done(&mut self, n: u64) -> Result<bool, StorageError> {
        self.done = (self.done + n).min(self.total);
        if self.done == self.total {
            return Ok(true);
        }
        let part = &self.file.as_ref().expect("held until dropped").part;
        write_progress(part, &mut self.progress, self.done)?;
        Ok(false)
    }

    /// Leaves the journal on disk for another reader (its items were not all done
    /// and are nowhere else), giving up the lock.
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// Every item is delivered, stored or written elsewhere: returns the file,
    /// emptied and still locked, for the job's next run. A journal that recorded
    /// progress is removed instead (with its `.done`, so that no stale progress can
    /// apply to the next items), as is one that cannot be emptied.
    pub fn finish(mut self) -> Option<JournalFile> {
        if self.progress.is_some() {
            return None;
        }
        let file = self.file.take()?;
        match file.file.set_len(SEGMENT_HEADER.len() as u64) {
            Ok(()) => Some(file),
            Err(_) => {
                file.remove();
                None
            }
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let Some(file) = self.file.take() else { return };
        // Part first, so that a crash in between leaves the items, never a stray
        // progress file that applies to nothing.
        if !self.kept {
            let progress = progress_path(&file.part);
            file.remove();
            if self.progress.is_some() {
                let _ = fs::remove_file(progress);
            }
        }
    }
}

/// A job's journal file between runs: a `.part` segment holding only the header,
/// kept open and locked by its process. Readers pass over it while its writer
/// lives; the process removes it when it exits ([`JournalFile::remove`]), and one
/// left by a killed process is read (nothing) and removed like any `.part` of a
/// dead writer. Dropped, it is only closed.
#[derive(Debug)]
pub struct JournalFile {
    file: File,
    part: PathBuf,
}

impl JournalFile {
    /// The `.part` file.
    pub fn path(&self) -> &Path {
        &self.part
    }

    /// Writes `frame` after the header (the file is empty but for it).
    fn write_over(self, frame: &[u8]) -> Result<JournalFile, StorageError> {
        use std::os::unix::fs::FileExt;
        match self.file.write_all_at(frame, SEGMENT_HEADER.len() as u64) {
            Ok(()) => Ok(self),
            Err(e) => {
                let err = StorageError::io("write", &self.part, e);
                self.remove();
                Err(err)
            }
        }
    }

    /// Removes the file.
    pub fn remove(self) {
        let _ = fs::remove_file(&self.part);
    }
}

/// A segment this process holds the claim on.
#[derive(Debug)]
pub struct Claimed {
    path: PathBuf,
    file: File,
    /// What it holds (without the items an earlier reader recorded as done).
    pub scan: Scan,
    done: u64,
    progress: Option<File>,
}

/// What became of a finished claim.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// Removed.
    Removed,
    /// Kept for inspection under this name, because bytes in it could not be read.
    Quarantined(PathBuf),
}

impl Claimed {
    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Items of the segment done by earlier readers and by this one.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// Records that `n` more of the segment's remaining items (in order) are done,
    /// so that a reader taking over after a crash skips them.
    pub fn record_progress(&mut self, n: u64) -> Result<(), StorageError> {
        self.done += n;
        write_progress(&self.path, &mut self.progress, self.done)
    }

    /// Call when every frame was delivered, stored or re-spooled: removes the file,
    /// or renames it `.corrupt` when bytes in it had to be skipped (a torn tail
    /// included), so that nothing unread is ever deleted.
    pub fn finish(self) -> Result<Finished, StorageError> {
        let quarantine = self.scan.is_damaged();
        let result = if quarantine {
            let to = self.path.with_extension("corrupt");
            fs::rename(&self.path, &to)
                .map(|_| Finished::Quarantined(to))
                .map_err(|e| StorageError::io("rename", &self.path, e))
        } else {
            fs::remove_file(&self.path)
                .map(|_| Finished::Removed)
                .map_err(|e| StorageError::io("remove", &self.path, e))
        };
        let _ = fs::remove_file(progress_path(&self.path));
        drop(self.file);
        result
    }

    /// Gives the claim up, leaving the segment for another reader.
    pub fn release(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Value;

    fn items(n: i64) -> Batch {
        let mut b = Batch::new();
        for i in 0..n {
            b.push(&Value::Int(i).encode());
        }
        b
    }

    #[test]
    fn written_segments_are_claimed_once_and_removed() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(&t.path().join("spool")).unwrap();
        let b = items(3);
        spool.write("logs", &[(b"logs", &b)]).unwrap();
        spool.write("other", &[(b"other", &b)]).unwrap();

        let ready = spool.ready(Some(&["logs".to_string()])).unwrap();
        assert_eq!(ready.len(), 1);
        let claimed = spool.claim(&ready[0]).unwrap().expect("free");
        assert!(spool.claim(&ready[0]).unwrap().is_none(), "a claim excludes others");
        assert_eq!(claimed.scan.frames[0].items, b);
        assert_eq!(claimed.finish().unwrap(), Finished::Removed);
        assert!(spool.ready(Some(&["logs".to_string()])).unwrap().is_empty());
        assert_eq!(spool.ready(None).unwrap().len(), 1);
    }

    #[test]
    fn a_released_claim_is_taken_again_whole() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        let p = spool.write("logs", &[(b"logs", &items(2))]).unwrap();
        spool.claim(&p).unwrap().unwrap().release();
        let again = spool.claim(&p).unwrap().unwrap();
        assert_eq!(again.scan.frames[0].items.len(), 2);
    }

    #[test]
    fn unfinished_writers_leave_nothing() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        let mut w = spool.create("logs").unwrap();
        w.append(b"logs", &items(1)).unwrap();
        drop(w);
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_finished_journal_is_emptied_and_written_over_by_the_next_run() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        let first = spool.journal("logs", b"logs", &items(5), None).unwrap();
        let path = first.path().to_path_buf();
        let file = first.finish().expect("kept for the next run");
        assert_eq!((file.path(), fs::metadata(&path).unwrap().len()), (path.as_path(), 8));

        let second = spool.journal("logs", b"logs", &items(2), Some(file)).unwrap();
        assert_eq!(second.path(), path, "the same file, written over");
        let scan = frame::scan_segment(&fs::read(&path).unwrap());
        assert_eq!(
            (scan.frames.len(), scan.frames[0].items.clone(), scan.is_damaged()),
            (1, items(2), false)
        );
        drop(second);
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0, "dropped, it is removed");
    }

    #[test]
    fn a_journal_with_progress_is_removed_not_kept() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        let mut j = spool.journal("logs", b"logs", &items(4), None).unwrap();
        assert!(!j.record_done(2).unwrap());
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 2, "the part and its .done");
        assert!(j.finish().is_none());
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_emptied_journal_is_passed_over_while_its_writer_lives_and_removed_after() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        let file = spool.journal("logs", b"logs", &items(1), None).unwrap().finish().unwrap();
        // Old enough to count as abandoned, were it not empty.
        let old = SystemTime::now() - Duration::from_secs(60);
        File::options().write(true).open(file.path()).unwrap().set_modified(old).unwrap();
        assert!(spool.ready(None).unwrap().is_empty(), "ours, and it holds nothing");

        // The same file left by a process that is gone.
        let dead = t.path().join(format!("logs.{:016}.{}.1.part", 1, i32::MAX));
        fs::copy(file.path(), &dead).unwrap();
        assert_eq!(spool.ready(None).unwrap(), vec![dead.clone()]);
        let claimed = spool.claim(&dead).unwrap().expect("free");
        assert!(claimed.scan.frames.is_empty() && !claimed.scan.is_damaged());
        assert_eq!(claimed.finish().unwrap(), Finished::Removed);
        file.remove();
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_idle_journal_passed_over_is_taken_at_once_when_its_writer_dies() {
        let t = tempfile::tempdir().unwrap();
        let spool = Spool::open(t.path()).unwrap();
        let mut writer = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let part = t.path().join(format!("logs.{:016}.{}.1.part", 1, writer.id()));
        fs::write(&part, SEGMENT_HEADER).unwrap();
        assert!(spool.ready(None).unwrap().is_empty(), "its writer lives");
        assert!(spool.idle_journals.borrow().contains_key(part.file_name().unwrap().to_str().unwrap()));
        writer.kill().unwrap();
        writer.wait().unwrap();
        assert_eq!(spool.ready(None).unwrap(), vec![part], "no waiting for the next look");
    }

    #[test]
    fn in_progress_parts_are_not_ready_until_abandoned() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        let mut w = spool.create("logs").unwrap();
        w.append(b"logs", &items(1)).unwrap();
        assert!(spool.ready(None).unwrap().is_empty());
        let seg = w.finish().unwrap();
        assert_eq!(spool.ready(None).unwrap(), vec![seg]);
    }

    #[test]
    fn recorded_progress_is_skipped_by_the_next_reader() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        let p = spool.write("logs", &[(b"logs", &items(3)), (b"logs", &items(4))]).unwrap();
        let mut c = spool.claim(&p).unwrap().unwrap();
        c.record_progress(2).unwrap();
        c.record_progress(2).unwrap();
        c.release();
        let again = spool.claim(&p).unwrap().unwrap();
        assert_eq!(again.done(), 4);
        let left: Vec<_> =
            again.scan.frames.iter().flat_map(|f| f.items.iter().map(|b| b.to_vec())).collect();
        let want: Vec<_> = items(4).iter().skip(1).map(|b| b.to_vec()).collect();
        assert_eq!(left, want, "the last 3 items of the second frame");
        again.finish().unwrap();
        assert!(!progress_path(&p).exists());
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn damaged_segments_are_quarantined_after_reading() {
        let t = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(t.path()).unwrap();
        let p =
            spool.write("logs", &[(b"logs", &items(2)), (b"logs", &items(3)), (b"logs", &items(4))]).unwrap();
        let mut data = fs::read(&p).unwrap();
        let mid = data.len() / 2;
        data[mid] ^= 0x55;
        fs::write(&p, &data).unwrap();
        let c = spool.claim(&p).unwrap().unwrap();
        assert!(c.scan.corrupt_bytes > 0);
        assert_eq!(c.scan.frames.len(), 2);
        match c.finish().unwrap() {
            Finished::Quarantined(to) => assert!(to.to_string_lossy().ends_with(".corrupt")),
            other => panic!("{other:?}"),
        }
        assert!(spool.ready(None).unwrap().is_empty());
    }
}

//! The failure store: one file per batch that failed every attempt, written
//! atomically, capped in total size, replayed by `retryFailed`. The format is
//! versioned and documented in `docs/internals.md` ("Failure files").

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::msgpack::{self, DecodeError, Reader};
use crate::naming;
use crate::retry::Rng;
use crate::secure_fs::{self, StorageError};

/// First bytes of every failure file: magic, then the format version as u16 LE.
pub const MAGIC: &[u8; 6] = b"ABFAIL";
/// The format version written (2 added `batchId`); versions 1 and 2 are read.
pub const VERSION: u16 = 2;

/// Failure files larger than this are not read into memory.
const MAX_FILE_BYTES: u64 = 512 << 20;

/// A failed batch and what is known of its failure.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    /// The job identifier.
    pub job: Vec<u8>,
    /// Calls made so far.
    pub attempts: u32,
    /// Why the last call failed.
    pub last_error: String,
    /// Unix time of the first call.
    pub first_attempt_at: f64,
    /// Unix time of the last failed call.
    pub failed_at: f64,
    /// The process that stored it.
    pub pid: u32,
    /// The host that stored it.
    pub host: String,
    /// The batch's id; none in a version 1 file (its first retry gives it one).
    pub batch_id: Option<BatchId>,
    /// The batch.
    pub items: Batch,
}

/// Why a failure file cannot be read.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CorruptRecord {
    /// Not a failure file, or a version this code does not know.
    #[error("not an asyncbatch failure file (bad magic or version)")]
    BadHeader,
    /// The body does not match its checksum or length.
    #[error("checksum mismatch or truncated body")]
    Checksum,
    /// The body does not decode.
    #[error("bad body: {0}")]
    Body(#[from] DecodeError),
    /// `batchId` is not a batch id.
    #[error("bad batchId")]
    BadBatchId,
    /// A required field is missing.
    #[error("missing field '{0}'")]
    Missing(&'static str),
}

impl FailureRecord {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.items.byte_len() + 256);
        msgpack::write_map_len(&mut body, 10);
        let field = |body: &mut Vec<u8>, k: &str| msgpack::write_bytes(body, k.as_bytes());
        field(&mut body, "v");
        msgpack::write_int(&mut body, VERSION as i64);
        field(&mut body, "job");
        msgpack::write_bytes(&mut body, &self.job);
        field(&mut body, "attempts");
        msgpack::write_int(&mut body, self.attempts as i64);
        field(&mut body, "lastError");
        msgpack::write_bytes(&mut body, self.last_error.as_bytes());
        field(&mut body, "firstAttemptAt");
        msgpack::write_f64(&mut body, self.first_attempt_at);
        field(&mut body, "failedAt");
        msgpack::write_f64(&mut body, self.failed_at);
        field(&mut body, "pid");
        msgpack::write_int(&mut body, self.pid as i64);
        field(&mut body, "host");
        msgpack::write_bytes(&mut body, self.host.as_bytes());
        // Every record written has an id (a version 1 record gets one at its retry).
        let id = self.batch_id.unwrap_or_default();
        field(&mut body, "batchId");
        msgpack::write_bytes(&mut body, id.text().as_bytes());
        field(&mut body, "items");
        self.items.write_array(&mut body);

        let mut out = Vec::with_capacity(body.len() + 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Reads a file's bytes.
    pub fn decode(data: &[u8]) -> Result<FailureRecord, CorruptRecord> {
        if data.len() < 16 || &data[..6] != MAGIC || !matches!(u16::from_le_bytes([data[6], data[7]]), 1 | 2)
        {
            return Err(CorruptRecord::BadHeader);
        }
        let len = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(data[12..16].try_into().expect("4 bytes"));
        let body = &data[16..];
        if body.len() != len || crc32fast::hash(body) != crc {
            return Err(CorruptRecord::Checksum);
        }
        let mut r = Reader::new(body);
        let n = r.read_map_len()?;
        let (mut job, mut attempts, mut last_error, mut first, mut failed, mut pid, mut host, mut items) =
            (None, None, None, None, None, None, None, None);
        let mut batch_id = None;
        for _ in 0..n {
            let key = r.read_bytes()?;
            match key {
                b"job" => job = Some(r.read_bytes()?.to_vec()),
                b"attempts" => attempts = Some(r.read_int()?.clamp(0, u32::MAX as i64) as u32),
                b"lastError" => last_error = Some(String::from_utf8_lossy(r.read_bytes()?).into_owned()),
                b"firstAttemptAt" => first = Some(r.read_f64()?),
                b"failedAt" => failed = Some(r.read_f64()?),
                b"pid" => pid = Some(r.read_int()?.clamp(0, u32::MAX as i64) as u32),
                b"host" => host = Some(String::from_utf8_lossy(r.read_bytes()?).into_owned()),
                b"batchId" => {
                    batch_id = Some(BatchId::parse(r.read_bytes()?).ok_or(CorruptRecord::BadBatchId)?)
                }
                b"items" => items = Some(Batch::read_array(&mut r)?),
                _ => {
                    r.skip_value()?;
                }
            }
        }
        if r.remaining() != 0 {
            return Err(DecodeError::Trailing(r.remaining()).into());
        }
        Ok(FailureRecord {
            job: job.ok_or(CorruptRecord::Missing("job"))?,
            attempts: attempts.ok_or(CorruptRecord::Missing("attempts"))?,
            last_error: last_error.unwrap_or_default(),
            first_attempt_at: first.unwrap_or(0.0),
            failed_at: failed.unwrap_or(0.0),
            pid: pid.unwrap_or(0),
            host: host.unwrap_or_default(),
            batch_id,
            items: items.ok_or(CorruptRecord::Missing("items"))?,
        })
    }
}

/// A failure directory, checked and ready.
#[derive(Debug)]
pub struct FailureStore {
    dir: PathBuf,
    cap_bytes: u64,
    rng: Rng,
}

impl FailureStore {
    /// Opens (creating it 0700 if needed) the failure directory.
    pub fn open(dir: &Path, cap_bytes: u64) -> Result<FailureStore, StorageError> {
        secure_fs::ensure_private_dir(dir, "failure directory")?;
        Ok(FailureStore { dir: dir.to_path_buf(), cap_bytes, rng: Rng::from_entropy() })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes used by failure files now.
    pub fn used_bytes(&self) -> u64 {
        let Ok(entries) = fs::read_dir(&self.dir) else { return 0 };
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".fail"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }

    /// Stores a record in a new file: temp file, fsync, rename. Refused with
    /// [`StorageError::Full`] when it would take the store over its cap.
    pub fn store(&mut self, record: &FailureRecord) -> Result<PathBuf, StorageError> {
        let data = record.encode();
        let used = self.used_bytes();
        if used + data.len() as u64 > self.cap_bytes {
            return Err(StorageError::Full { dir: self.dir.clone(), used, cap: self.cap_bytes });
        }
        let unique = format!("{:08x}", self.rng.next_u64() as u32);
        let name = naming::file_name(&naming::jobkey(&record.job), &unique, "fail");
        let path = self.dir.join(&name);
        self.write_atomically(&path, &data)?;
        Ok(path)
    }

    fn write_atomically(&self, path: &Path, data: &[u8]) -> Result<(), StorageError> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let result = (|| {
            let mut f = secure_fs::create_new(&tmp).map_err(|e| StorageError::io("create", &tmp, e))?;
            f.write_all(data).map_err(|e| StorageError::io("write", &tmp, e))?;
            f.sync_all().map_err(|e| StorageError::io("sync", &tmp, e))?;
            fs::rename(&tmp, path).map_err(|e| StorageError::io("rename", &tmp, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        } else {
            secure_fs::sync_dir(&self.dir);
        }
        result
    }

    /// Failure files, oldest first; only those whose name routes to `job` when given
    /// (the record inside is checked again after reading).
    pub fn list(&self, job: Option<&[u8]>) -> Result<Vec<PathBuf>, StorageError> {
        let key = job.map(naming::jobkey);
        let entries = fs::read_dir(&self.dir).map_err(|e| StorageError::io("list", &self.dir, e))?;
        let mut found: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                if !name.ends_with(".fail") || name.starts_with('.') {
                    return None;
                }
                if let Some(k) = &key {
                    if naming::jobkey_of(&name) != Some(k.as_str()) {
                        return None;
                    }
                }
                let age = name.split_once('.').map(|(_, r)| r.to_string()).unwrap_or_default();
                Some((age, e.path()))
            })
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    /// Claims and reads a failure file; `None` when another process has it or it is gone.
    pub fn claim(&self, path: &Path) -> Result<Option<ClaimedFailure>, StorageError> {
        let Some(mut file) = secure_fs::claim(path).map_err(|e| StorageError::io("open", path, e))? else {
            return Ok(None);
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let record = if size > MAX_FILE_BYTES {
            Err(CorruptRecord::BadHeader)
        } else {
            let mut data = Vec::with_capacity(size as usize);
            file.read_to_end(&mut data).map_err(|e| StorageError::io("read", path, e))?;
            FailureRecord::decode(&data)
        };
        Ok(Some(ClaimedFailure { path: path.to_path_buf(), _lock: file, record }))
    }

    /// Removes a claimed file (its batch was delivered).
    pub fn remove(&self, claimed: ClaimedFailure) -> Result<(), StorageError> {
        fs::remove_file(&claimed.path).map_err(|e| StorageError::io("remove", &claimed.path, e))
    }

    /// Replaces a claimed file's record (after another failed attempt), atomically.
    pub fn replace(&self, claimed: ClaimedFailure, record: &FailureRecord) -> Result<(), StorageError> {
        self.write_atomically(&claimed.path, &record.encode())
    }
}

/// A failure file this process holds the claim on.
#[derive(Debug)]
pub struct ClaimedFailure {
    path: PathBuf,
    _lock: fs::File,
    /// Its record, or why it cannot be read.
    pub record: Result<FailureRecord, CorruptRecord>,
}

impl ClaimedFailure {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Value;

    fn record(job: &[u8], n: i64) -> FailureRecord {
        let mut items = Batch::new();
        for i in 0..n {
            items.push(&Value::Map(vec![(crate::item::Key::Bytes(b"i".to_vec()), Value::Int(i))]).encode());
        }
        FailureRecord {
            job: job.to_vec(),
            attempts: 4,
            last_error: "RuntimeException: boom".into(),
            first_attempt_at: 1_700_000_000.25,
            failed_at: 1_700_000_001.5,
            pid: 42,
            host: "web-1".into(),
            batch_id: Some(BatchId::from_parts(1_700_000_000_250, [7; 10])),
            items,
        }
    }

    #[test]
    fn records_round_trip() {
        let r = record(b"logs", 3);
        assert_eq!(FailureRecord::decode(&r.encode()).unwrap(), r);
    }

    #[test]
    fn the_documented_header() {
        let data = record(b"logs", 1).encode();
        assert_eq!(&data[..8], b"ABFAIL\x02\x00");
        let len = u32::from_le_bytes(data[8..12].try_into().unwrap()) as usize;
        assert_eq!(len, data.len() - 16);
        assert_eq!(u32::from_le_bytes(data[12..16].try_into().unwrap()), crc32fast::hash(&data[16..]));
        // The body starts with the map header and the "v" field.
        assert_eq!(&data[16..20], &[0x8a, 0xa1, b'v', 0x02]);
    }

    #[test]
    fn version_1_files_are_read_without_an_id() {
        // A version 1 file as the previous release wrote it: nine keys, no batchId.
        let r = record(b"logs", 2);
        let mut body = Vec::new();
        msgpack::write_map_len(&mut body, 9);
        let kv = |body: &mut Vec<u8>, k: &str| msgpack::write_bytes(body, k.as_bytes());
        kv(&mut body, "v");
        msgpack::write_int(&mut body, 1);
        kv(&mut body, "job");
        msgpack::write_bytes(&mut body, b"logs");
        kv(&mut body, "attempts");
        msgpack::write_int(&mut body, 4);
        kv(&mut body, "lastError");
        msgpack::write_bytes(&mut body, r.last_error.as_bytes());
        kv(&mut body, "firstAttemptAt");
        msgpack::write_f64(&mut body, r.first_attempt_at);
        kv(&mut body, "failedAt");
        msgpack::write_f64(&mut body, r.failed_at);
        kv(&mut body, "pid");
        msgpack::write_int(&mut body, 42);
        kv(&mut body, "host");
        msgpack::write_bytes(&mut body, b"web-1");
        kv(&mut body, "items");
        r.items.write_array(&mut body);
        let mut data = b"ABFAIL\x01\x00".to_vec();
        data.extend_from_slice(&(body.len() as u32).to_le_bytes());
        data.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        data.extend_from_slice(&body);
        let read = FailureRecord::decode(&data).unwrap();
        assert_eq!(read, FailureRecord { batch_id: None, ..r });
        // Version 3 is not known.
        data[6] = 3;
        assert_eq!(FailureRecord::decode(&data), Err(CorruptRecord::BadHeader));
    }

    #[test]
    fn damage_is_detected() {
        let mut data = record(b"logs", 2).encode();
        let last = data.len() - 1;
        data[last] ^= 1;
        assert_eq!(FailureRecord::decode(&data), Err(CorruptRecord::Checksum));
        assert_eq!(FailureRecord::decode(b"nonsense"), Err(CorruptRecord::BadHeader));
    }

    #[test]
    fn store_list_claim_remove() {
        let t = tempfile::tempdir().unwrap();
        let mut store = FailureStore::open(&t.path().join("failed"), 1 << 20).unwrap();
        let a = store.store(&record(b"logs", 2)).unwrap();
        store.store(&record(b"other", 1)).unwrap();
        assert_eq!(store.list(Some(b"logs")).unwrap(), vec![a.clone()]);
        assert_eq!(store.list(None).unwrap().len(), 2);
        let c = store.claim(&a).unwrap().unwrap();
        assert!(store.claim(&a).unwrap().is_none());
        assert_eq!(c.record.as_ref().unwrap().items.len(), 2);
        store.remove(c).unwrap();
        assert_eq!(store.list(Some(b"logs")).unwrap(), Vec::<PathBuf>::new());
    }

    #[test]
    fn replace_keeps_the_name() {
        let t = tempfile::tempdir().unwrap();
        let mut store = FailureStore::open(t.path(), 1 << 20).unwrap();
        let p = store.store(&record(b"logs", 1)).unwrap();
        let c = store.claim(&p).unwrap().unwrap();
        let mut r = c.record.clone().unwrap();
        r.attempts += 1;
        store.replace(c, &r).unwrap();
        let again = store.claim(&p).unwrap().unwrap();
        assert_eq!(again.record.unwrap().attempts, 5);
    }

    #[test]
    fn the_cap_refuses_and_says_how_full() {
        let t = tempfile::tempdir().unwrap();
        let one = record(b"logs", 10).encode().len() as u64;
        let mut store = FailureStore::open(t.path(), one + 10).unwrap();
        store.store(&record(b"logs", 10)).unwrap();
        match store.store(&record(b"logs", 10)) {
            Err(StorageError::Full { used, cap, .. }) => {
                assert_eq!(used, one);
                assert_eq!(cap, one + 10);
            }
            other => panic!("{other:?}"),
        }
        let mut zero = FailureStore::open(&t.path().join("z"), 0).unwrap();
        assert!(matches!(zero.store(&record(b"x", 1)), Err(StorageError::Full { .. })));
    }
}

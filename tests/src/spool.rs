//! Writing spool segments the way docs/internals.md describes them, so that a
//! test can put work in the spool without a PHP process.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Writes a finished segment (`.seg`) for job `job` holding one frame per entry
/// of `frames`, each frame a list of string items. Creates `dir` (0700) if needed.
/// Returns the segment's path.
///
/// The job identifier must be plain (`A-Z a-z 0-9 _ -`), which is then its jobkey.
pub fn write_segment(dir: &Path, job: &str, frames: &[Vec<String>]) -> PathBuf {
    assert!(
        job.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "write_segment takes plain job identifiers"
    );
    let frames: Vec<(&str, Vec<String>)> = frames.iter().map(|f| (job, f.clone())).collect();
    write_frames(dir, job, &frames)
}

/// Writes a finished segment of several jobs (jobkey `~`): one frame per entry of
/// `frames`, each a job identifier and its string items. Returns its path.
pub fn write_mixed_segment(dir: &Path, frames: &[(&str, Vec<String>)]) -> PathBuf {
    write_frames(dir, "~", frames)
}

fn write_frames(dir: &Path, jobkey: &str, frames: &[(&str, Vec<String>)]) -> PathBuf {
    DirBuilder::new().recursive(true).mode(0o700).create(dir).expect("create the spool directory");
    let micros = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_micros();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let name = format!("{jobkey}.{micros:016}.{}.{seq}", std::process::id());
    let part = dir.join(format!("{name}.part"));
    let seg = dir.join(format!("{name}.seg"));

    let mut bytes = b"ABSPOOL\x01".to_vec();
    append_frames(&mut bytes, frames);
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(&part).expect("create the segment");
    file.write_all(&bytes).expect("write the segment");
    file.sync_all().expect("sync the segment");
    fs::rename(&part, &seg).expect("publish the segment");
    seg
}

fn encode_str(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    match len {
        0..=31 => out.push(0xa0 | len as u8),
        32..=255 => out.extend_from_slice(&[0xd9, len as u8]),
        256..=65535 => {
            out.push(0xda);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(s.as_bytes());
}

fn encode_array_len(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=15 => out.push(0x90 | len as u8),
        16..=65535 => {
            out.push(0xdc);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdd);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

/// The body of a SysV message as producers send it to the daemon: `ABQ` 0x01, then
/// one spool frame per entry of `frames` (a job identifier and its string items).
pub fn queue_message(frames: &[(&str, Vec<String>)]) -> Vec<u8> {
    let mut bytes = b"ABQ\x01".to_vec();
    append_frames(&mut bytes, frames);
    bytes
}

/// Appends one spool frame per entry: length, CRC-32, MessagePack `[identifier, items]`.
fn append_frames(bytes: &mut Vec<u8>, frames: &[(&str, Vec<String>)]) {
    for (job, items) in frames {
        let mut payload = vec![0x92]; // [identifier, items]
        encode_str(&mut payload, job);
        encode_array_len(&mut payload, items.len());
        for item in items {
            encode_str(&mut payload, item);
        }
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
    }
}

/// One frame read back from a spool segment: the job it is for, and its items,
/// each as text when it is a MessagePack string (or bin), else `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct SpoolFrame {
    /// The segment it was read from.
    pub segment: PathBuf,
    /// The job identifier.
    pub job: String,
    /// The items, in order.
    pub items: Vec<Option<String>>,
}

/// Reads the frames of every segment in `dir` that a reader would deliver — the
/// finished ones (`.seg`) and those of writers that died or are still writing
/// (`.part`: journals too) — oldest first. `.done` progress files are not applied:
/// after a clean exit there are none. A frame that does not check (bad length,
/// CRC or payload) ends the reading of its segment. Empty when `dir` is missing.
pub fn read_spool(dir: &Path) -> Vec<SpoolFrame> {
    let mut segments: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg" || x == "part"))
        .collect();
    // Names start with the jobkey, then the creation time: sort by the time.
    segments.sort_by_key(|p| {
        let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
        (name.split('.').nth(1).unwrap_or("").to_string(), name)
    });
    let mut frames = Vec::new();
    for segment in segments {
        let Ok(bytes) = fs::read(&segment) else { continue };
        if !bytes.starts_with(b"ABSPOOL\x01") {
            continue;
        }
        let mut at = 8;
        while at + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap());
            let Some(payload) = bytes.get(at + 8..at + 8 + len) else { break };
            if len == 0 || crc32(payload) != crc {
                break;
            }
            match decode_frame(payload) {
                Some((job, items)) => frames.push(SpoolFrame { segment: segment.clone(), job, items }),
                None => break,
            }
            at += 8 + len;
        }
    }
    frames
}

/// Items in the segments of `dir` ([`read_spool`]), per job.
pub fn spool_item_counts(dir: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for frame in read_spool(dir) {
        *counts.entry(frame.job).or_insert(0) += frame.items.len();
    }
    counts
}

/// `[identifier, [item, ...]]`, or `[identifier, [item, ...], batch id]` for a batch
/// that was cut before it was spooled.
fn decode_frame(payload: &[u8]) -> Option<(String, Vec<Option<String>>)> {
    let mut r = Reader { bytes: payload, at: 0 };
    let with_id = match r.byte()? {
        0x92 => false,
        0x93 => true,
        _ => return None,
    };
    let job = r.text()?;
    let n = match r.byte()? {
        b @ 0x90..=0x9f => (b & 0x0f) as usize,
        0xdc => r.uint(2)? as usize,
        0xdd => r.uint(4)? as usize,
        _ => return None,
    };
    let mut items = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let start = r.at;
        match r.text() {
            Some(text) => items.push(Some(text)),
            None => {
                r.at = start;
                r.skip(0)?;
                items.push(None);
            }
        }
    }
    if with_id && r.text()?.len() != 36 {
        return None;
    }
    (r.at == payload.len()).then_some((job, items))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let out = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }

    fn uint(&mut self, n: usize) -> Option<u64> {
        Some(self.take(n)?.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }

    /// A str or bin, lossily as text; `None` (position undefined) for anything else.
    fn text(&mut self) -> Option<String> {
        let len = match self.byte()? {
            b @ 0xa0..=0xbf => (b & 0x1f) as usize,
            0xd9 | 0xc4 => self.uint(1)? as usize,
            0xda | 0xc5 => self.uint(2)? as usize,
            0xdb | 0xc6 => self.uint(4)? as usize,
            _ => return None,
        };
        Some(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    /// Skips one value of any type.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > 512 {
            return None;
        }
        let b = self.byte()?;
        let (len, children) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * (b & 0x0f) as usize),
            0x90..=0x9f => (0, (b & 0x0f) as usize),
            0xa0..=0xbf => ((b & 0x1f) as usize, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 | 0xca => (4, 0),
            0xcf | 0xd3 | 0xcb => (8, 0),
            0xd9 | 0xc4 => (self.uint(1)? as usize, 0),
            0xda | 0xc5 => (self.uint(2)? as usize, 0),
            0xdb | 0xc6 => (self.uint(4)? as usize, 0),
            0xdc => (0, self.uint(2)? as usize),
            0xdd => (0, self.uint(4)? as usize),
            0xde => (0, 2 * self.uint(2)? as usize),
            0xdf => (0, 2 * self.uint(4)? as usize),
            _ => return None,
        };
        self.take(len)?;
        for _ in 0..children {
            self.skip(depth + 1)?;
        }
        Some(())
    }
}

/// CRC-32 (IEEE 802.3), as PHP's `crc32()`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_php() {
        // php -r 'echo crc32("The quick brown fox jumped over the lazy dog.");'
        assert_eq!(crc32(b"The quick brown fox jumped over the lazy dog."), 2191738434);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn segments_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        write_segment(&spool, "e2e", &[vec!["a".into(), "bc".into()], vec!["x".repeat(300)]]);
        write_mixed_segment(&spool, &[("j1", vec!["1".into()]), ("j2", vec![])]);
        let frames = read_spool(&spool);
        let got: Vec<(String, usize)> = frames.iter().map(|f| (f.job.clone(), f.items.len())).collect();
        assert_eq!(got, [("e2e".into(), 2), ("e2e".into(), 1), ("j1".into(), 1), ("j2".into(), 0)]);
        assert_eq!(frames[0].items, [Some("a".to_string()), Some("bc".to_string())]);
        let counts = spool_item_counts(&spool);
        assert_eq!(counts.get("e2e"), Some(&3));
        // Items that are not strings are counted, as None.
        let mut r = Reader {
            bytes: &[0x94, 0xc0, 0x81, 0xa1, b'k', 0x91, 0x01, 0x01, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0],
            at: 0,
        };
        assert_eq!(r.skip(0), Some(()));
        assert_eq!(r.at, r.bytes.len());
    }

    #[test]
    fn segment_has_header_and_checked_frames() {
        let dir = tempfile::tempdir().unwrap();
        let seg = write_segment(&dir.path().join("spool"), "e2e", &[vec!["a".into(), "bc".into()]]);
        let bytes = fs::read(&seg).unwrap();
        let payload = [0x92, 0xa3, b'e', b'2', b'e', 0x92, 0xa1, b'a', 0xa2, b'b', b'c'];
        let mut expected = b"ABSPOOL\x01".to_vec();
        expected.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        expected.extend_from_slice(&crc32(&payload).to_le_bytes());
        expected.extend_from_slice(&payload);
        assert_eq!(bytes, expected);
        assert!(seg.to_string_lossy().ends_with(".seg"));
    }
}

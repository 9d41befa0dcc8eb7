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
    for (job, items) in frames {
        let mut payload = Vec::new();
        payload.push(0x92); // [identifier, items]
        encode_str(&mut payload, job);
        encode_array_len(&mut payload, items.len());
        for item in items {
            encode_str(&mut payload, item);
        }
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
    }
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

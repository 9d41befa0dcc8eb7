//! File names of spool segments and failure files: `{jobkey}.{micros}.{pid}.{n}.{ext}`.
//!
//! The jobkey keeps a readable form of the identifier so a reader can pick the
//! files of the jobs it has without opening every file; the frames inside still say
//! which job each item is for.

use std::time::{SystemTime, UNIX_EPOCH};

/// The jobkey of a segment holding items of several jobs.
pub const MIXED_JOBKEY: &str = "~";

/// The routing key of a job identifier: `A-Z a-z 0-9 _ -` kept, other bytes `%XX`;
/// over 100 characters it is cut to 80 plus `~` and the crc32 of the identifier.
pub fn jobkey(id: &[u8]) -> String {
    let mut key = String::with_capacity(id.len());
    for &b in id {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            key.push(b as char);
        } else {
            key.push_str(&format!("%{b:02X}"));
        }
    }
    if key.len() > 100 {
        key.truncate(80);
        key.push_str(&format!("~{:08x}", crc32fast::hash(id)));
    }
    key
}

/// The jobkey part of a file name.
pub fn jobkey_of(file_name: &str) -> Option<&str> {
    file_name.split_once('.').map(|(k, _)| k)
}

/// The creation time (microseconds since the epoch) in a file name made by
/// [`file_name`].
pub fn created_micros(file_name: &str) -> Option<u128> {
    file_name.split('.').nth(1)?.parse().ok()
}

/// The pid of the process that made a file name made by [`file_name`].
pub fn writer_pid(file_name: &str) -> Option<u32> {
    file_name.split('.').nth(2)?.parse().ok()
}

/// Microseconds since the epoch, as used in names.
pub fn unix_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0)
}

/// Seconds since the epoch, as stored in records.
pub fn unix_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// A fresh file name: oldest sorts first.
pub fn file_name(jobkey: &str, unique: &str, ext: &str) -> String {
    format!("{jobkey}.{:016}.{}.{unique}.{ext}", unix_micros(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_identifiers_stay_readable() {
        assert_eq!(jobkey(b"logs"), "logs");
        assert_eq!(jobkey(b"app-audit_2"), "app-audit_2");
    }

    #[test]
    fn other_bytes_are_escaped() {
        assert_eq!(jobkey(b"a.b/c"), "a%2Eb%2Fc");
        assert_eq!(jobkey(&[0xff, b' ']), "%FF%20");
        assert_eq!(jobkey(b"~"), "%7E");
    }

    #[test]
    fn long_identifiers_are_cut_and_hashed() {
        let id = [b'/'; 128];
        let k = jobkey(&id);
        assert_eq!(k.len(), 89);
        assert!(k.starts_with("%2F%2F"));
        assert_eq!(&k[80..81], "~");
        assert_ne!(jobkey(&[b'/'; 127]), k);
    }

    #[test]
    fn names_carry_the_jobkey_and_sort_by_age() {
        let a = file_name("logs", "1", "seg");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = file_name("logs", "0", "seg");
        assert_eq!(jobkey_of(&a), Some("logs"));
        assert!(a < b);
    }
}

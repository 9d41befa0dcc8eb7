//! Batch ids: a UUIDv7 given to a batch when it is first cut for a call, kept with it
//! through retries, the failure store and the spool, and sent as the HTTP sink's
//! `Idempotency-Key` (or to a callable that asks for it), so that a receiver can drop
//! the duplicates at-least-once delivery allows.
//!
//! Time-ordered (RFC 9562, version 7), so that a receiver can keep the ids it has seen
//! for a bounded window.

use std::fmt;

/// A batch's id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchId([u8; 16]);

impl BatchId {
    /// A new id: the time in milliseconds, then 74 random bits.
    pub fn new() -> BatchId {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let (a, b) = next_random();
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&a.to_le_bytes());
        random[8..].copy_from_slice(&b.to_le_bytes()[..2]);
        BatchId::from_parts(ms, random)
    }

    /// An id that is the same whenever the same items are cut again: of `ms` (when
    /// the first of them was spooled) and a hash of where they are (`place`).
    pub fn derived(ms: u64, place: &[u8]) -> BatchId {
        use std::hash::Hasher;
        let half = |salt: u8| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            h.write_u8(salt);
            h.write(place);
            h.finish().to_le_bytes()
        };
        let (a, b) = (half(1), half(2));
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&a);
        random[8..].copy_from_slice(&b[..2]);
        BatchId::from_parts(ms, random)
    }

    /// The id of `ms` and these random bytes (the version and variant bits are set).
    pub fn from_parts(ms: u64, random: [u8; 10]) -> BatchId {
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        b[6..].copy_from_slice(&random);
        b[6] = 0x70 | (b[6] & 0x0f);
        b[8] = 0x80 | (b[8] & 0x3f);
        BatchId(b)
    }

    /// The id of the `i`-th piece of this batch (when a byte cap splits it): the
    /// same for the same batch and index, so a split made again sends the same ids.
    pub fn piece(&self, i: usize) -> BatchId {
        let mut b = self.0;
        let tail = u16::from_be_bytes([b[14], b[15]]) ^ (i as u16).wrapping_add(1);
        b[14..].copy_from_slice(&tail.to_be_bytes());
        BatchId(b)
    }

    /// Reads the text form: 36 characters, lowercase hex with dashes.
    pub fn parse(text: &[u8]) -> Option<BatchId> {
        if text.len() != 36 {
            return None;
        }
        let mut b = [0u8; 16];
        let mut n = 0;
        let mut i = 0;
        while i < 36 {
            if matches!(i, 8 | 13 | 18 | 23) {
                if text[i] != b'-' {
                    return None;
                }
                i += 1;
                continue;
            }
            b[n] = (hex(text[i])? << 4) | hex(text[i + 1])?;
            n += 1;
            i += 2;
        }
        Some(BatchId(b))
    }

    /// The text form, as written to disk and sent.
    pub fn text(&self) -> String {
        self.to_string()
    }
}

impl Default for BatchId {
    fn default() -> Self {
        BatchId::new()
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchId({self})")
    }
}

thread_local! {
    /// A generator per thread, seeded from the kernel in each process (a forked
    /// php-fpm worker must not repeat its parent's ids): the pid it was seeded in
    /// and its state.
    static GENERATOR: std::cell::Cell<(u32, u64, u64)> = const { std::cell::Cell::new((0, 0, 0)) };
}

/// 128 random bits: xorshift128+ seeded with 128 bits from `getrandom(2)` (no system
/// call per batch; ids need to be unique, not secret).
fn next_random() -> (u64, u64) {
    GENERATOR.with(|g| {
        let (pid, mut s0, mut s1) = g.get();
        let me = std::process::id();
        if pid != me || (s0 | s1) == 0 {
            let mut seed = [0u8; 16];
            fill_random(&mut seed);
            s0 = u64::from_le_bytes(seed[..8].try_into().expect("8 bytes"));
            s1 = u64::from_le_bytes(seed[8..].try_into().expect("8 bytes")) | 1;
        }
        let mut out = [0u64; 2];
        for o in &mut out {
            let (mut x, y) = (s0, s1);
            s0 = y;
            x ^= x << 23;
            s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
            *o = s1.wrapping_add(y);
        }
        g.set((me, s0, s1));
        (out[0], out[1])
    })
}

/// Random bytes from the kernel; the clock and the pid, mixed, if it has none.
fn fill_random(out: &mut [u8]) {
    // SAFETY: `out` is a writable buffer of its length.
    let n = unsafe { libc::getrandom(out.as_mut_ptr().cast(), out.len(), 0) };
    if n == out.len() as isize {
        return;
    }
    let mut rng = crate::retry::Rng::from_entropy();
    for chunk in out.chunks_mut(8) {
        let r = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_a_version_7_uuid_that_reads_back() {
        let id = BatchId::from_parts(0x0190_1234_5678, [0xff; 10]);
        assert_eq!(id.text(), "01901234-5678-7fff-bfff-ffffffffffff");
        assert_eq!(BatchId::parse(id.text().as_bytes()), Some(id));
        let fresh = BatchId::new();
        assert_eq!(BatchId::parse(fresh.text().as_bytes()), Some(fresh));
        assert_eq!(&fresh.text()[14..15], "7");
        assert!(matches!(&fresh.text()[19..20], "8" | "9" | "a" | "b"));
        let many: std::collections::HashSet<_> = (0..10_000).map(|_| BatchId::new()).collect();
        assert_eq!(many.len(), 10_000);
    }

    #[test]
    fn derived_ids_depend_only_on_the_place() {
        let a = BatchId::derived(1_700_000_000_000, b"seg-1:0:100");
        assert_eq!(a, BatchId::derived(1_700_000_000_000, b"seg-1:0:100"));
        assert_ne!(a, BatchId::derived(1_700_000_000_000, b"seg-1:0:99"));
        assert_eq!(&a.text()[14..15], "7");
    }

    #[test]
    fn bad_text_is_refused() {
        for bad in [
            "",
            "01901234-5678-7fff-bfff-fffffffffff",
            "01901234-5678-7fff-bfff-fffffffffffff",
            "01901234_5678-7fff-bfff-ffffffffffff",
            "01901234-5678-7fff-bfff-fffffffffffF",
            "0190123g-5678-7fff-bfff-ffffffffffff",
        ] {
            assert_eq!(BatchId::parse(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn pieces_differ_from_the_batch_and_each_other_and_are_stable() {
        let id = BatchId::from_parts(1, [0; 10]);
        assert_eq!(id.piece(0).text(), "00000000-0001-7000-8000-000000000001");
        assert_eq!(id.piece(1).text(), "00000000-0001-7000-8000-000000000002");
        let ids: std::collections::HashSet<_> = (0..1000).map(|i| id.piece(i)).chain([id]).collect();
        assert_eq!(ids.len(), 1001);
        assert_eq!(id.piece(7), id.piece(7));
    }
}

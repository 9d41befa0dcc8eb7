//! Spool frames: `u32 LE length | u32 LE CRC-32 | payload`, the payload being the
//! MessagePack array `[identifier, [item, ...]]`, or `[identifier, [item, ...], batch
//! id]` for a batch that was cut (and called) before it was spooled. Reading never trusts the bytes: a
//! bad frame is skipped by scanning for the next offset where a whole valid frame
//! starts.

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::msgpack::{self, DecodeError, Reader};

/// First bytes of every segment: magic and format version 1.
pub const SEGMENT_HEADER: &[u8; 8] = b"ABSPOOL\x01";

/// Largest payload accepted.
pub const MAX_FRAME: usize = 64 << 20;

/// Appends one frame for `job`'s `items` to `out`.
pub fn write_frame(out: &mut Vec<u8>, job: &[u8], items: &Batch) {
    write_frame_of(out, job, items, None);
}

/// Appends one frame for `job`'s `items`, carrying `batch` when they are a batch
/// already cut: its reader delivers them as that one batch, under that id.
pub fn write_frame_of(out: &mut Vec<u8>, job: &[u8], items: &Batch, batch: Option<&BatchId>) {
    let at = out.len();
    out.extend_from_slice(&[0; 8]);
    msgpack::write_array_len(out, if batch.is_some() { 3 } else { 2 });
    msgpack::write_bytes(out, job);
    items.write_array(out);
    if let Some(id) = batch {
        msgpack::write_bytes(out, id.text().as_bytes());
    }
    let payload = &out[at + 8..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    out[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The payload a frame is given at most when a job's items are split over several
/// (one item larger than this gets a frame of its own): far below [`MAX_FRAME`], so
/// every frame written is one a reader takes.
pub const FRAME_TARGET: usize = 4 << 20;

/// Appends `items` of `job` as one frame, or in order as several of about
/// [`FRAME_TARGET`] bytes when they are more.
pub fn write_frames(out: &mut Vec<u8>, job: &[u8], items: &Batch) {
    if items.byte_len() <= FRAME_TARGET {
        return write_frame(out, job, items);
    }
    let mut chunk = Batch::new();
    for item in items.iter() {
        if !chunk.is_empty() && chunk.byte_len() + item.len() > FRAME_TARGET {
            write_frame(out, job, &std::mem::take(&mut chunk));
        }
        chunk.push(item);
    }
    if !chunk.is_empty() {
        write_frame(out, job, &chunk);
    }
}

/// The items of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The job identifier.
    pub job: Vec<u8>,
    /// Its items.
    pub items: Batch,
    /// The batch they are, when they were cut as one before they were spooled.
    pub batch: Option<BatchId>,
}

/// What a segment held.
#[derive(Debug, Default, PartialEq)]
pub struct Scan {
    /// Valid frames, in order.
    pub frames: Vec<Frame>,
    /// Bytes skipped before the last valid frame: damage inside the file.
    pub corrupt_bytes: usize,
    /// Bytes after the last valid frame: a torn write, or damage at the end.
    pub tail_bytes: usize,
    /// The file did not start with [`SEGMENT_HEADER`].
    pub bad_header: bool,
}

impl Scan {
    /// Whether anything was skipped.
    pub fn is_damaged(&self) -> bool {
        self.bad_header || self.corrupt_bytes > 0 || self.tail_bytes > 0
    }
}

/// Reads every valid frame of a whole segment file's bytes.
pub fn scan_segment(data: &[u8]) -> Scan {
    if data.len() < SEGMENT_HEADER.len() || &data[..SEGMENT_HEADER.len()] != SEGMENT_HEADER {
        return Scan { bad_header: true, tail_bytes: data.len(), ..Scan::default() };
    }
    scan_frames(&data[SEGMENT_HEADER.len()..])
}

/// Reads every valid frame of `data`, skipping damage.
pub fn scan_frames(data: &[u8]) -> Scan {
    let mut scan = Scan::default();
    let mut pos = 0;
    let mut skipped_since_good = 0;
    while pos < data.len() {
        match frame_at(data, pos) {
            Some((frame, len)) => {
                scan.corrupt_bytes += skipped_since_good;
                skipped_since_good = 0;
                scan.frames.push(frame);
                pos += len;
            }
            None => {
                skipped_since_good += 1;
                pos += 1;
            }
        }
    }
    scan.tail_bytes = skipped_since_good;
    scan
}

fn frame_at(data: &[u8], pos: usize) -> Option<(Frame, usize)> {
    let head = data.get(pos..pos + 8)?;
    let len = u32::from_le_bytes(head[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..].try_into().ok()?);
    if len == 0 || len > MAX_FRAME {
        return None;
    }
    let payload = data.get(pos + 8..pos + 8 + len)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let frame = decode_payload(payload).ok()?;
    Some((frame, 8 + len))
}

/// Decodes a frame payload.
pub fn decode_payload(payload: &[u8]) -> Result<Frame, DecodeError> {
    let mut r = Reader::new(payload);
    let n = r.read_array_len()?;
    if n != 2 && n != 3 {
        return Err(DecodeError::Expected("[identifier, items] or [identifier, items, batch id]"));
    }
    let job = r.read_bytes()?.to_vec();
    let items = Batch::read_array(&mut r)?;
    let batch = match n {
        3 => Some(BatchId::parse(r.read_bytes()?).ok_or(DecodeError::Expected("a batch id"))?),
        _ => None,
    };
    if r.remaining() != 0 {
        return Err(DecodeError::Trailing(r.remaining()));
    }
    Ok(Frame { job, items, batch })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_large_items_are_split_into_frames_every_reader_takes() {
        // 100 items of 900 KB: one frame would be over MAX_FRAME and refused.
        let mut items = Batch::new();
        let big = crate::item::Value::str(&"x".repeat(900_000)).encode();
        for _ in 0..100 {
            items.push(&big);
        }
        let mut data = SEGMENT_HEADER.to_vec();
        write_frames(&mut data, b"logs", &items);
        let scan = scan_segment(&data);
        assert!(!scan.is_damaged(), "{scan:?}");
        assert!(scan.frames.len() > 1);
        assert_eq!(scan.frames.iter().map(|f| f.items.len()).sum::<usize>(), 100);
        assert!(scan.frames.iter().all(|f| f.items.byte_len() <= FRAME_TARGET));
    }
    use crate::item::Value;
    use proptest::prelude::*;

    fn batch(n: i64) -> Batch {
        let mut b = Batch::new();
        for i in 0..n {
            b.push(&Value::List(vec![Value::Int(i), Value::str("line\n\0")]).encode());
        }
        b
    }

    fn segment(frames: &[(&[u8], i64)]) -> Vec<u8> {
        let mut out = SEGMENT_HEADER.to_vec();
        for (job, n) in frames {
            write_frame(&mut out, job, &batch(*n));
        }
        out
    }

    #[test]
    fn reads_back_what_was_written() {
        let data = segment(&[(b"logs", 3), (b"metrics", 1)]);
        let scan = scan_segment(&data);
        assert!(!scan.is_damaged());
        assert_eq!(scan.frames.len(), 2);
        assert_eq!(scan.frames[0], Frame { job: b"logs".to_vec(), items: batch(3), batch: None });
        assert_eq!(scan.frames[1].job, b"metrics");
    }

    #[test]
    fn a_frame_of_a_cut_batch_carries_its_id() {
        let id = BatchId::from_parts(1_700_000_000_000, [3; 10]);
        let mut data = SEGMENT_HEADER.to_vec();
        write_frame_of(&mut data, b"logs", &batch(2), Some(&id));
        write_frame(&mut data, b"logs", &batch(1));
        let scan = scan_segment(&data);
        assert!(!scan.is_damaged());
        assert_eq!(scan.frames[0].batch, Some(id));
        assert_eq!(scan.frames[1].batch, None);
        // A third element that is not an id makes the frame invalid.
        let mut payload = Vec::new();
        msgpack::write_array_len(&mut payload, 3);
        msgpack::write_bytes(&mut payload, b"logs");
        batch(1).write_array(&mut payload);
        msgpack::write_bytes(&mut payload, b"not-an-id");
        assert!(decode_payload(&payload).is_err());
    }

    #[test]
    fn a_torn_tail_is_skipped() {
        let data = segment(&[(b"logs", 3), (b"logs", 2)]);
        let torn = &data[..data.len() - 5];
        let scan = scan_segment(torn);
        assert_eq!(scan.frames.len(), 1);
        assert_eq!(scan.corrupt_bytes, 0);
        assert!(scan.tail_bytes > 0);
    }

    #[test]
    fn damage_in_the_middle_is_skipped_and_later_frames_found() {
        let mut data = segment(&[(b"a", 2), (b"b", 2), (b"c", 2)]);
        let first_len = 8 + u32::from_le_bytes(data[8..12].try_into().unwrap()) as usize;
        data[8 + first_len + 12] ^= 0xff; // inside the second frame's payload
        let scan = scan_segment(&data);
        let jobs: Vec<_> = scan.frames.iter().map(|f| f.job.clone()).collect();
        assert_eq!(jobs, vec![b"a".to_vec(), b"c".to_vec()]);
        assert!(scan.corrupt_bytes > 0);
        assert_eq!(scan.tail_bytes, 0);
    }

    #[test]
    fn a_bad_header_is_reported() {
        let mut data = segment(&[(b"a", 1)]);
        data[0] = b'X';
        let scan = scan_segment(&data);
        assert!(scan.bad_header);
        assert!(scan.frames.is_empty());
    }

    #[test]
    fn the_documented_layout() {
        let mut out = Vec::new();
        let mut b = Batch::new();
        b.push(&[0x01]);
        write_frame(&mut out, b"j", &b);
        let payload = [0x92, 0xa1, b'j', 0x91, 0x01];
        assert_eq!(&out[..4], &(payload.len() as u32).to_le_bytes());
        assert_eq!(&out[4..8], &crc32fast::hash(&payload).to_le_bytes());
        assert_eq!(&out[8..], &payload);
    }

    proptest! {
        // Whatever the bytes, scanning terminates and never panics.
        #[test]
        fn scanning_garbage_is_safe(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let scan = scan_frames(&data);
            prop_assert!(scan.corrupt_bytes + scan.tail_bytes <= data.len());
        }

        // Truncating a good segment anywhere keeps every whole frame before the cut.
        #[test]
        fn truncation_keeps_whole_frames(cut in 0usize..400) {
            let data = segment(&[(b"a", 2), (b"b", 3), (b"c", 1)]);
            let cut = cut.min(data.len());
            let scan = scan_segment(&data[..cut]);
            let full = scan_segment(&data);
            prop_assert!(scan.frames.len() <= full.frames.len());
            prop_assert_eq!(&scan.frames[..], &full.frames[..scan.frames.len()]);
        }
    }
}

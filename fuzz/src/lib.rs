//! What the fuzz targets check, kept in a library so that the targets stay one line
//! each and the seed corpus is made by the same code (`examples/make_corpus.rs`).
//!
//! Every check takes arbitrary bytes. It must not panic, overflow the stack or
//! allocate more than the input justifies, and whatever decodes must encode and
//! decode again to the same value.

use asyncbatch_core::batch::Batch;
use asyncbatch_core::failure_store::{FailureRecord, MAGIC, VERSION};
use asyncbatch_core::frame::{self, Frame, Scan, SEGMENT_HEADER};
use asyncbatch_core::http::json;
use asyncbatch_core::item::Value;
use asyncbatch_core::msgpack::{Reader, MAX_DEPTH};
use asyncbatch_core::transport::message;

pub mod seeds;

/// Spool bytes: a segment file, frames, a queue message, a frame payload.
pub fn check_spool_frames(data: &[u8]) {
    let segment = frame::scan_segment(data);
    check_scan(&segment, data.len());
    if data.starts_with(SEGMENT_HEADER) {
        assert_eq!(segment, frame::scan_frames(&data[SEGMENT_HEADER.len()..]));
    } else {
        assert!(segment.bad_header && segment.frames.is_empty());
    }
    check_scan(&frame::scan_frames(data), data.len());
    if let Some(frames) = message::decode(data) {
        frames.iter().for_each(check_frame);
    }

    // The input as the payload of one frame with a right length and CRC, so that
    // the payload decoder sees what random bytes would almost never get past the
    // CRC with. A frame at the start of a segment is read if its payload decodes.
    let payload = frame::decode_payload(data);
    let mut seg = SEGMENT_HEADER.to_vec();
    seg.extend_from_slice(&(data.len() as u32).to_le_bytes());
    seg.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    seg.extend_from_slice(data);
    let scan = frame::scan_segment(&seg);
    check_scan(&scan, seg.len());
    match payload {
        Ok(f) if !data.is_empty() => {
            check_frame(&f);
            assert!(!scan.is_damaged(), "{scan:?}");
            assert_eq!(scan.frames, vec![f]);
        }
        Ok(_) => unreachable!("an empty payload decoded"),
        Err(_) => {}
    }
    // Whatever follows intact frames (a torn write, damage), they are read.
    let mut items = Batch::new();
    items.push(&Value::Int(1).encode());
    items.push(&Value::str("x").encode());
    let mut seg = SEGMENT_HEADER.to_vec();
    frame::write_frame(&mut seg, b"a", &items);
    frame::write_frame(&mut seg, b"b", &items);
    seg.extend_from_slice(data);
    let scan = frame::scan_segment(&seg);
    check_scan(&scan, seg.len());
    assert!(scan.frames.len() >= 2 && scan.frames[0].job == b"a" && scan.frames[1].job == b"b");
    assert!(scan.frames[..2].iter().all(|f| f.items == items));
}

fn check_scan(scan: &Scan, len: usize) {
    assert!(scan.corrupt_bytes + scan.tail_bytes <= len, "{scan:?} of {len} bytes");
    scan.frames.iter().for_each(check_frame);
}

/// A frame read from the spool: its items are items, and writing it again gives a
/// frame that reads back the same.
fn check_frame(f: &Frame) {
    for item in f.items.iter() {
        let v = Value::decode(item).expect("an item of a frame decodes");
        check_value(item, &v);
    }
    let mut out = SEGMENT_HEADER.to_vec();
    frame::write_frame_of(&mut out, &f.job, &f.items, f.batch.as_ref());
    let again = frame::scan_segment(&out);
    assert!(!again.is_damaged(), "{again:?}");
    assert_eq!(again.frames.len(), 1);
    assert_eq!(&again.frames[0], f);
}

/// One MessagePack item, decoded as the extension decodes items for a callable
/// (`msgpack::decode`, with the depth limit).
pub fn check_item(data: &[u8]) {
    let decoded = Value::decode(data);
    // Skipping checks the same things as decoding.
    let mut r = Reader::new(data);
    let skipped = r.skip_value().map(|s| s.len());
    match &decoded {
        Ok(v) => {
            assert_eq!(skipped, Ok(data.len()));
            check_value(data, v);
        }
        Err(_) => assert!(skipped.is_err() || skipped.is_ok_and(|n| n < data.len())),
    }
    // A batch of items, as frames and failure files hold them.
    let mut r = Reader::new(data);
    if let Ok(batch) = Batch::read_array(&mut r) {
        for item in batch.iter() {
            let v = Value::decode(item).expect("an item of a batch decodes");
            check_value(item, &v);
        }
    }
}

/// `v` was decoded from `bytes`: it re-encodes to bytes that decode to the same
/// value, the encoding is stable, and the JSON of both encodings is the same.
fn check_value(bytes: &[u8], v: &Value) {
    assert!(depth(v) <= MAX_DEPTH, "nesting {} over the limit", depth(v));
    let enc = v.encode();
    let back = Value::decode(&enc).expect("a re-encoded item decodes");
    assert!(same_value(v, &back), "{v:?} came back as {back:?}");
    assert_eq!(back.encode(), enc, "encoding is not stable");
    let mut a = Vec::new();
    let mut b = Vec::new();
    json::write_item(bytes, &mut a).expect("an item that decodes is written as JSON");
    json::write_item(&enc, &mut b).expect("an item that decodes is written as JSON");
    assert_eq!(a, b, "the JSON depends on the encoding's form");
}

/// A failure file: read it, and (the input as the body of a file with a right
/// header) read its body.
pub fn check_failure_file(data: &[u8]) {
    check_record(data);
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&VERSION.to_le_bytes());
    file.extend_from_slice(&(data.len() as u32).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    file.extend_from_slice(data);
    check_record(&file);
}

fn check_record(data: &[u8]) {
    let Ok(r) = FailureRecord::decode(data) else { return };
    for item in r.items.iter() {
        let v = Value::decode(item).expect("an item of a failure file decodes");
        check_value(item, &v);
    }
    let enc = r.encode();
    let back = FailureRecord::decode(&enc).expect("a re-encoded record decodes");
    assert!(same_record(&r, &back), "{r:?} came back as {back:?}");
    assert_eq!(back.encode(), enc, "encoding is not stable");
}

/// Equality with floats compared bit for bit (NaN is a value like any other here).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, x), (ky, y))| kx == ky && same_value(x, y))
        }
        _ => a == b,
    }
}

fn same_record(a: &FailureRecord, b: &FailureRecord) -> bool {
    a.job == b.job
        && a.attempts == b.attempts
        && a.last_error == b.last_error
        && a.first_attempt_at.to_bits() == b.first_attempt_at.to_bits()
        && a.failed_at.to_bits() == b.failed_at.to_bits()
        && a.pid == b.pid
        && a.host == b.host
        && a.items == b.items
}

/// Levels of arrays: a scalar is 0.
fn depth(v: &Value) -> usize {
    match v {
        Value::List(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Map(pairs) => 1 + pairs.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

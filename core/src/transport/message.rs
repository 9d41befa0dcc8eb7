//! A queue message: `ABQ` 0x01, then one or more spool frames. Built to fit the
//! queue's size limit; checked on receipt like any spool bytes.

use crate::batch::Batch;
use crate::frame::{self, Frame};

/// The first bytes of every message: magic and format version 1.
pub const MESSAGE_HEADER: &[u8; 4] = b"ABQ\x01";

/// Fixed cost of a frame besides its items: length, CRC, array and identifier headers.
pub fn frame_overhead(job: &[u8]) -> usize {
    8 + 1 + 5 + job.len() + 5
}

/// Packs frames into messages of at most `max` bytes each. Items are taken in order;
/// an item that cannot fit in a message of its own is returned apart, for the spool.
pub struct Packer {
    max: usize,
    messages: Vec<(Vec<u8>, u64)>,
    current: Vec<u8>,
    current_items: u64,
}

/// What did not fit in any message.
pub struct Oversized {
    /// The job.
    pub job: Vec<u8>,
    /// Its items too large for one message.
    pub items: Batch,
}

impl Packer {
    /// A packer for messages of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Packer { max, messages: Vec::new(), current: Vec::new(), current_items: 0 }
    }

    fn room(&self) -> usize {
        let used = if self.current.is_empty() { MESSAGE_HEADER.len() } else { self.current.len() };
        self.max.saturating_sub(used)
    }

    fn seal(&mut self) {
        if !self.current.is_empty() {
            self.messages.push((std::mem::take(&mut self.current), std::mem::take(&mut self.current_items)));
        }
    }

    fn emit(&mut self, job: &[u8], items: &Batch) {
        if self.current.is_empty() {
            self.current.extend_from_slice(MESSAGE_HEADER);
        }
        frame::write_frame(&mut self.current, job, items);
        self.current_items += items.len() as u64;
    }

    /// Adds a job's items; returns those too large for any message.
    pub fn add(&mut self, job: &[u8], items: &Batch) -> Option<Oversized> {
        let overhead = frame_overhead(job);
        let mut oversized = Batch::new();
        let mut chunk = Batch::new();
        for item in items.iter() {
            if item.len() + overhead + MESSAGE_HEADER.len() > self.max {
                oversized.push(item);
                continue;
            }
            if chunk.byte_len() + item.len() + overhead > self.room() {
                if !chunk.is_empty() {
                    self.emit(job, &chunk);
                    chunk = Batch::new();
                }
                self.seal();
            }
            chunk.push(item);
        }
        if !chunk.is_empty() {
            self.emit(job, &chunk);
        }
        (!oversized.is_empty()).then(|| Oversized { job: job.to_vec(), items: oversized })
    }

    /// The messages, in order.
    pub fn finish(self) -> Vec<Vec<u8>> {
        self.finish_counted().into_iter().map(|(m, _)| m).collect()
    }

    /// The messages in order, each with the number of items it holds (so a sender
    /// need not read a message again to count them).
    pub fn finish_counted(mut self) -> Vec<(Vec<u8>, u64)> {
        self.seal();
        self.messages
    }
}

/// Reads a message's frames; `None` when it is not one of ours or any byte of it
/// is bad (a message is all or nothing).
pub fn decode(message: &[u8]) -> Option<Vec<Frame>> {
    let body = message.strip_prefix(MESSAGE_HEADER.as_slice())?;
    let scan = frame::scan_frames(body);
    if scan.corrupt_bytes > 0 || scan.tail_bytes > 0 || scan.frames.is_empty() {
        return None;
    }
    Some(scan.frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Value;

    fn batch(n: usize, size: usize) -> Batch {
        let mut b = Batch::new();
        for i in 0..n {
            b.push(&Value::Bytes(vec![b'a' + (i % 26) as u8; size]).encode());
        }
        b
    }

    #[test]
    fn messages_respect_the_limit_and_keep_every_item_in_order() {
        let mut p = Packer::new(8192);
        let a = batch(300, 100);
        let b = batch(5, 10);
        assert!(p.add(b"logs", &a).is_none());
        assert!(p.add(b"metrics", &b).is_none());
        let messages = p.finish_counted();
        assert!(messages.len() >= 4);
        let mut logs = Batch::new();
        let mut metrics = Batch::new();
        for (m, count) in &messages {
            assert!(m.len() <= 8192, "{}", m.len());
            let frames = decode(m).unwrap();
            assert_eq!(*count, frames.iter().map(|f| f.items.len() as u64).sum::<u64>());
            for f in frames {
                if f.job == b"logs" {
                    logs.append(f.items)
                } else {
                    metrics.append(f.items)
                }
            }
        }
        assert_eq!(logs, a);
        assert_eq!(metrics, b);
    }

    #[test]
    fn items_too_large_for_a_message_are_set_apart() {
        let mut p = Packer::new(1024);
        let mut b = batch(2, 10);
        b.append(batch(1, 2000));
        let over = p.add(b"logs", &b).expect("one oversized item");
        assert_eq!(over.items.len(), 1);
        let messages = p.finish();
        assert_eq!(messages.len(), 1);
        assert_eq!(decode(&messages[0]).unwrap()[0].items.len(), 2);
    }

    #[test]
    fn foreign_or_damaged_messages_are_refused() {
        assert!(decode(b"hello").is_none());
        let mut p = Packer::new(1024);
        p.add(b"logs", &batch(3, 10));
        let mut m = p.finish().remove(0);
        assert!(decode(&m).is_some());
        let last = m.len() - 1;
        m[last] ^= 1;
        assert!(decode(&m).is_none());
    }
}

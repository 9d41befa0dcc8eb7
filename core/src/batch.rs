//! Encoded items in order: the [`ItemQueue`] a job fills, and the [`Batch`]es taken
//! from it. Items stay MessagePack bytes from submit to delivery.

use crate::clock::Tick;
use crate::msgpack::{self, DecodeError, Reader};

/// Items, each a MessagePack value, stored back to back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one encoded item.
    pub fn push(&mut self, item: &[u8]) {
        self.bytes.extend_from_slice(item);
        self.ends.push(self.bytes.len());
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Encoded size of all items.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The items' bytes, back to back.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Each item's encoding.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let item = &self.bytes[start..end];
            start = end;
            item
        })
    }

    /// Appends the batch as a MessagePack array (`[item, item, ...]`).
    pub fn write_array(&self, out: &mut Vec<u8>) {
        msgpack::write_array_len(out, self.len());
        out.extend_from_slice(&self.bytes);
    }

    /// Reads a MessagePack array of items, checking each one.
    pub fn read_array(r: &mut Reader<'_>) -> Result<Batch, DecodeError> {
        let n = r.read_array_len()?;
        let mut batch = Batch { bytes: Vec::new(), ends: Vec::with_capacity(n.min(r.remaining())) };
        for _ in 0..n {
            batch.push(r.skip_value()?);
        }
        Ok(batch)
    }

    /// Splits off the first `n` items (all of them if fewer).
    pub fn split_front(&mut self, n: usize) -> Batch {
        if n >= self.len() {
            return std::mem::take(self);
        }
        let cut = self.ends[n - 1];
        let rest_bytes = self.bytes.split_off(cut);
        let rest_ends = self.ends.split_off(n).into_iter().map(|e| e - cut).collect();
        Batch {
            bytes: std::mem::replace(&mut self.bytes, rest_bytes),
            ends: std::mem::replace(&mut self.ends, rest_ends),
        }
    }

    /// Moves all items of `other` to the end of this batch.
    pub fn append(&mut self, other: Batch) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        self.ends.extend(other.ends.into_iter().map(|e| e + base));
    }
}

/// The items a job holds in memory, oldest first.
///
/// Taking a batch from the front moves a cursor; the storage is compacted when the
/// consumed part outweighs the rest, so taking every batch of a long queue stays
/// linear.
#[derive(Debug, Default)]
pub struct ItemQueue {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    head_item: usize,
    head_byte: usize,
    oldest_at: Option<Tick>,
}

impl ItemQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one encoded item queued at `now`.
    #[inline]
    pub fn push(&mut self, item: &[u8], now: Tick) {
        let _ = self.push_with::<()>(now, |buf| {
            buf.extend_from_slice(item);
            Ok(())
        });
    }

    /// Appends one item that `encode` writes straight into the queue's buffer; if it
    /// fails, whatever it wrote is removed and the queue is as before.
    #[inline]
    pub fn push_with<E>(
        &mut self,
        now: Tick,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.bytes.len();
        if let Err(e) = encode(&mut self.bytes) {
            self.bytes.truncate(start);
            return Err(e);
        }
        if self.oldest_at.is_none() {
            self.oldest_at = Some(now);
        }
        self.ends.push(self.bytes.len());
        Ok(())
    }

    /// Items waiting.
    #[inline]
    pub fn len(&self) -> usize {
        self.ends.len() - self.head_item
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Encoded bytes waiting.
    pub fn byte_len(&self) -> usize {
        self.bytes.len() - self.head_byte
    }

    /// The newest waiting item's encoding.
    pub fn last(&self) -> Option<&[u8]> {
        if self.is_empty() {
            return None;
        }
        let n = self.ends.len();
        let start = if n - 1 > self.head_item { self.ends[n - 2] } else { self.head_byte };
        Some(&self.bytes[start..self.ends[n - 1]])
    }

    /// When the oldest waiting item was queued.
    pub fn oldest_at(&self) -> Option<Tick> {
        self.oldest_at
    }

    /// Takes up to `n` items from the front.
    pub fn take(&mut self, n: usize) -> Batch {
        let n = n.min(self.len());
        let mut batch = Batch::new();
        if n == 0 {
            return batch;
        }
        let last = self.head_item + n;
        let end = self.ends[last - 1];
        batch.bytes.extend_from_slice(&self.bytes[self.head_byte..end]);
        batch.ends.extend(self.ends[self.head_item..last].iter().map(|e| e - self.head_byte));
        self.head_item = last;
        self.head_byte = end;
        self.after_take();
        batch
    }

    /// Takes everything.
    pub fn take_all(&mut self) -> Batch {
        self.take(self.len())
    }

    /// Puts a batch back at the front, as if never taken (it keeps its place in line).
    pub fn put_back(&mut self, batch: Batch, queued_at: Tick) {
        if batch.is_empty() {
            return;
        }
        let mut rest = self.take_all();
        let mut all = batch;
        all.append(std::mem::take(&mut rest));
        self.bytes = all.bytes;
        self.ends = all.ends;
        self.head_item = 0;
        self.head_byte = 0;
        self.oldest_at = Some(match self.oldest_at {
            Some(t) if t < queued_at => t,
            _ => queued_at,
        });
    }

    fn after_take(&mut self) {
        if self.head_item == self.ends.len() {
            self.bytes.clear();
            self.ends.clear();
            self.head_item = 0;
            self.head_byte = 0;
            self.oldest_at = None;
            // A flood may have grown the buffers; do not keep megabytes at rest.
            if self.bytes.capacity() > 1 << 20 {
                self.bytes.shrink_to(64 << 10);
                self.ends.shrink_to(1024);
            }
        } else if self.head_byte > self.bytes.len() / 2 {
            self.bytes.drain(..self.head_byte);
            let base = self.head_byte;
            self.ends.drain(..self.head_item);
            for e in &mut self.ends {
                *e -= base;
            }
            self.head_item = 0;
            self.head_byte = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn item(i: u32) -> Vec<u8> {
        let mut out = Vec::new();
        msgpack::write_int(&mut out, i as i64 * 1000);
        out
    }

    #[test]
    fn takes_in_order_and_resets_when_empty() {
        let now = Tick::ZERO;
        let mut q = ItemQueue::new();
        for i in 0..5 {
            q.push(&item(i), now);
        }
        let b = q.take(2);
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![&item(0)[..], &item(1)[..]]);
        assert_eq!(q.len(), 3);
        let rest = q.take_all();
        assert_eq!(rest.len(), 3);
        assert!(q.is_empty());
        assert_eq!(q.oldest_at(), None);
    }

    #[test]
    fn last_is_the_newest_waiting_item() {
        let now = Tick::ZERO;
        let mut q = ItemQueue::new();
        assert_eq!(q.last(), None);
        q.push(&item(0), now);
        assert_eq!(q.last(), Some(&item(0)[..]));
        q.push(&item(1), now);
        q.push(&item(2), now);
        assert_eq!(q.last(), Some(&item(2)[..]));
        q.take(2);
        assert_eq!(q.last(), Some(&item(2)[..]));
        q.take(1);
        assert_eq!(q.last(), None);
        q.push(&item(3), now);
        assert_eq!(q.last(), Some(&item(3)[..]));
    }

    #[test]
    fn a_failed_encoding_leaves_nothing() {
        let mut q = ItemQueue::new();
        q.push(&item(1), Duration::ZERO);
        let r: Result<(), &str> = q.push_with(Duration::ZERO, |buf| {
            buf.extend_from_slice(b"partial");
            Err("no")
        });
        assert!(r.is_err());
        assert_eq!(q.len(), 1);
        assert_eq!(q.take_all().bytes(), &item(1)[..]);
    }

    #[test]
    fn put_back_keeps_the_place_in_line() {
        let now = Tick::ZERO;
        let mut q = ItemQueue::new();
        for i in 0..4 {
            q.push(&item(i), now);
        }
        let b = q.take(2);
        q.push(&item(4), now);
        q.put_back(b, now);
        let all = q.take_all();
        let want: Vec<Vec<u8>> = (0..5).map(item).collect();
        assert_eq!(all.iter().map(|s| s.to_vec()).collect::<Vec<_>>(), want);
    }

    #[test]
    fn batch_array_round_trips() {
        let mut b = Batch::new();
        for i in 0..20 {
            b.push(&item(i));
        }
        let mut out = Vec::new();
        b.write_array(&mut out);
        let back = Batch::read_array(&mut Reader::new(&out)).unwrap();
        assert_eq!(back, b);
    }

    proptest! {
        // Every item ends up in exactly one batch, in order, none over the size.
        #[test]
        fn batches_partition_the_queue(
            sizes in proptest::collection::vec(0u32..50, 0..300),
            batch_size in 1usize..40,
            pushes_between in 0usize..5,
        ) {
            let now = Tick::ZERO;
            let mut q = ItemQueue::new();
            let mut next = 0u32;
            let mut seen = Vec::new();
            for (round, _) in sizes.iter().enumerate() {
                for _ in 0..=pushes_between {
                    q.push(&item(next), now);
                    next += 1;
                }
                if round % 3 == 0 {
                    let b = q.take(batch_size);
                    prop_assert!(b.len() <= batch_size);
                    seen.extend(b.iter().map(|s| s.to_vec()));
                }
            }
            while !q.is_empty() {
                let b = q.take(batch_size);
                prop_assert!(!b.is_empty() && b.len() <= batch_size);
                seen.extend(b.iter().map(|s| s.to_vec()));
            }
            let want: Vec<Vec<u8>> = (0..next).map(item).collect();
            prop_assert_eq!(seen, want);
        }

        #[test]
        fn split_front_keeps_everything(n in 0usize..30, cut in 1usize..40) {
            let mut b = Batch::new();
            for i in 0..n as u32 { b.push(&item(i)); }
            let orig = b.clone();
            let front = b.split_front(cut);
            let mut joined = front.clone();
            joined.append(b);
            prop_assert_eq!(joined, orig);
            prop_assert!(front.len() <= cut);
        }
    }
}

//! Properties over generated inputs: items survive encoding whatever they hold,
//! batching never loses, repeats, splits wrongly or reorders a producer's items, and
//! the spool reader keeps every intact frame before damage.
//!
//! (Unit tests next to the code cover the single-producer queue, `split_front` and
//! scanning garbage; the fuzz targets in fuzz/ cover hostile bytes.)

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use asyncbatch_core::batch::{Batch, ItemQueue};
use asyncbatch_core::clock::Tick;
use asyncbatch_core::config::JobConfig;
use asyncbatch_core::daemon::worker;
use asyncbatch_core::delivery::{self, Host, Mode};
use asyncbatch_core::frame::{self, Frame, SEGMENT_HEADER};
use asyncbatch_core::item::{Key, Value};
use asyncbatch_core::msgpack::{self, DecodeError, Reader, MAX_DEPTH};
use asyncbatch_core::outcome::CallOutcome;
use asyncbatch_core::spool::Spool;
use common::Mock;
use proptest::collection::vec;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Items

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z_]{0,12}".prop_map(String::into_bytes),
        any::<String>().prop_map(String::into_bytes),
        vec(any::<u8>(), 0..64),
        // Past the fixstr and str8 lengths.
        (0usize..400, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![any::<i64>().prop_map(Key::Int), (-2i64..20).prop_map(Key::Int), bytes().prop_map(Key::Bytes)]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        // Around every boundary of the integer forms.
        prop_oneof![-70_000i64..70_000, (-40i64..300)].prop_map(Value::Int),
        (0u32..64, any::<bool>()).prop_map(|(s, neg)| {
            let v = (1i64 << s.min(62)) - 1;
            Value::Int(if neg { -v - 1 } else { v })
        }),
        any::<f64>().prop_map(Value::Float),
        // NaNs with any payload, infinities, subnormals, -0.0.
        any::<u64>().prop_map(|b| Value::Float(f64::from_bits(b))),
        bytes().prop_map(Value::Bytes),
    ]
}

/// Arbitrary items, nested up to 8 levels.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(8, 200, 10, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..10).prop_map(Value::List),
            vec((key(), inner), 0..10).prop_map(Value::Map),
        ]
    })
}

/// Equality with floats compared bit for bit (a NaN equals itself).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, x), (ky, y))| kx == ky && same(x, y))
        }
        _ => a == b,
    }
}

/// Wraps `inner` in `levels` arrays, lists and maps by turns.
fn nest(inner: Value, levels: usize) -> Value {
    (0..levels).fold(inner, |v, i| {
        if i % 2 == 0 {
            Value::List(vec![v])
        } else {
            Value::Map(vec![(Key::Bytes(b"k".to_vec()), v)])
        }
    })
}

proptest! {
    // Whatever an item holds, it decodes to itself; the encoding is canonical
    // (encoding the decoded value gives the same bytes) and skipping it takes
    // exactly its bytes.
    #[test]
    fn items_round_trip(v in value()) {
        let enc = v.encode();
        let back = Value::decode(&enc);
        prop_assert!(back.as_ref().is_ok_and(|b| same(b, &v)), "{:?} came back as {:?}", v, back);
        prop_assert_eq!(back.unwrap().encode(), enc.clone());
        let mut r = Reader::new(&enc);
        prop_assert_eq!(r.skip_value().map(<[u8]>::len), Ok(enc.len()));
    }

    // Skipping a value checks what decoding checks: on an item, on any cut of it,
    // with any byte of it changed, and on random bytes, both accept the same
    // bytes or refuse them for the same reason.
    #[test]
    fn skipping_agrees_with_decoding(
        v in value(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        noise in vec(any::<u8>(), 0..48),
    ) {
        let enc = v.encode();
        let mut changed = enc.clone();
        changed[at.index(enc.len())] = byte;
        for input in [&enc[..], &enc[..cut.index(enc.len())], &changed[..], &noise[..]] {
            let decoded = {
                let mut r = Reader::new(input);
                r.decode(&mut asyncbatch_core::item::ValueBuilder).map(|_| r.position())
            };
            let skipped = Reader::new(input).skip_value().map(<[u8]>::len);
            prop_assert_eq!(skipped, decoded, "{:02x?}", input);
        }
    }

    // Every strict prefix of an item is refused as truncated, never misread; any
    // byte after it is refused as trailing.
    #[test]
    fn cut_or_extended_items_are_refused(v in value(), cut in any::<prop::sample::Index>(), extra in any::<u8>()) {
        let enc = v.encode();
        let cut = cut.index(enc.len());
        prop_assert_eq!(Value::decode(&enc[..cut]), Err(DecodeError::Truncated));
        let mut longer = enc.clone();
        longer.push(extra);
        prop_assert_eq!(Value::decode(&longer), Err(DecodeError::Trailing(1)));
    }

    // Nesting is accepted up to MAX_DEPTH levels and refused beyond, whatever the
    // mix of lists and maps.
    #[test]
    fn nesting_is_limited_at_max_depth(levels in prop_oneof![0usize..20, (MAX_DEPTH - 3)..(MAX_DEPTH + 4)], leaf in scalar()) {
        let v = nest(leaf, levels);
        let enc = v.encode();
        let decoded = Value::decode(&enc);
        let skipped = Reader::new(&enc).skip_value().map(<[u8]>::len);
        if levels <= MAX_DEPTH {
            prop_assert!(decoded.is_ok_and(|d| same(&d, &v)));
            prop_assert_eq!(skipped, Ok(enc.len()));
        } else {
            prop_assert_eq!(decoded, Err(DecodeError::TooDeep));
            prop_assert_eq!(skipped, Err(DecodeError::TooDeep));
        }
    }

    // A header may promise up to 2^32-1 entries or bytes; with the body missing
    // the item is refused as truncated (at once: nothing is sized from the header).
    #[test]
    fn length_headers_are_not_trusted(
        marker in prop::sample::select(vec![0xc6u8, 0xdb, 0xdd, 0xdf]),
        len in prop_oneof![Just(u32::MAX), any::<u32>()],
        body in vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = vec![marker];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&body);
        // Enough body for the header's promise: it may decode (or not); otherwise
        // it must not.
        let needed = if marker == 0xdf { 2 * len as u64 } else { len as u64 };
        if needed > body.len() as u64 {
            prop_assert_eq!(Value::decode(&bytes).err(), Some(DecodeError::Truncated));
        }
    }
}

fn str_marker(n: usize) -> u8 {
    match n {
        0..=31 => 0xa0 | n as u8,
        32..=0xff => 0xd9,
        0x100..=0xffff => 0xda,
        _ => 0xdb,
    }
}

fn bin_marker(n: usize) -> u8 {
    match n {
        0 => 0xa0, // no bytes are valid UTF-8: a fixstr
        1..=0xff => 0xc4,
        0x100..=0xffff => 0xc5,
        _ => 0xc6,
    }
}

fn container_marker(n: usize, fix: u8, forms: [u8; 2]) -> u8 {
    match n {
        0..=15 => fix | n as u8,
        16..=0xffff => forms[0],
        _ => forms[1],
    }
}

// Each length class of strings, arrays and maps uses its documented header.
#[test]
fn length_classes_use_their_headers() {
    for n in [0usize, 1, 15, 16, 31, 32, 255, 256, 65_535, 65_536] {
        let s = Value::Bytes(vec![b'a'; n]);
        let b = Value::Bytes(vec![0xff; n]);
        let l = Value::List(vec![Value::Nil; n]);
        let m = Value::Map((0..n as i64).map(|i| (Key::Int(i), Value::Nil)).collect());
        for (v, want) in [
            (&s, str_marker(n)),
            (&b, bin_marker(n)),
            (&l, container_marker(n, 0x90, [0xdc, 0xdd])),
            (&m, container_marker(n, 0x80, [0xde, 0xdf])),
        ] {
            let enc = v.encode();
            assert_eq!(enc[0], want, "length {n}");
            assert!(same(&Value::decode(&enc).unwrap(), v), "length {n}");
        }
    }
}

// ---------------------------------------------------------------------------
// Batching

/// The item `seq` of producer `p`.
fn tagged(p: usize, seq: usize) -> Value {
    Value::List(vec![Value::Int(p as i64), Value::Int(seq as i64)])
}

fn untag(v: &Value) -> (usize, usize) {
    match v {
        Value::List(pair) => match pair[..] {
            [Value::Int(p), Value::Int(s)] => (p as usize, s as usize),
            _ => panic!("not a tagged item: {v:?}"),
        },
        _ => panic!("not a tagged item: {v:?}"),
    }
}

/// Checks what was delivered, batch by batch, against what `producers` submitted:
/// no batch empty or over `batch_size`, every item in exactly one batch, each
/// producer's items in the order it submitted them.
fn check_batches(
    batches: &[Vec<Value>],
    batch_size: usize,
    submitted: &[usize],
) -> Result<(), TestCaseError> {
    let mut next = vec![0usize; submitted.len()];
    for b in batches {
        prop_assert!(
            !b.is_empty() && b.len() <= batch_size,
            "a batch of {} (batchSize {})",
            b.len(),
            batch_size
        );
        for v in b {
            let (p, seq) = untag(v);
            prop_assert_eq!(seq, next[p], "producer {}: item {} where {} was due", p, seq, next[p]);
            next[p] += 1;
        }
    }
    prop_assert_eq!(&next[..], submitted, "items delivered per producer");
    Ok(())
}

#[derive(Debug, Clone)]
enum QueueOp {
    /// Producer p queues its next item.
    Push(usize),
    /// A batch is taken and delivered.
    Take,
    /// A batch is taken, its call is cut short, and it is put back.
    TakeAndPutBack,
}

fn queue_op(producers: usize) -> impl Strategy<Value = QueueOp> {
    prop_oneof![
        6 => (0..producers).prop_map(QueueOp::Push),
        2 => Just(QueueOp::Take),
        1 => Just(QueueOp::TakeAndPutBack),
    ]
}

fn queue_case() -> impl Strategy<Value = (usize, usize, Vec<QueueOp>)> {
    (1usize..5, 1usize..25).prop_flat_map(|(producers, batch_size)| {
        (Just(producers), Just(batch_size), vec(queue_op(producers), 0..300))
    })
}

proptest! {
    // The queue a job fills, taken by batchSize as the delivery loop takes it, with
    // batches put back (a call cut short at shutdown) and producers interleaved.
    #[test]
    fn the_queue_batches_every_item_once_in_order(case in queue_case()) {
        let (producers, batch_size, ops) = case;
        let mut q = ItemQueue::new();
        let mut submitted = vec![0usize; producers];
        let mut delivered: Vec<Vec<Value>> = Vec::new();
        let decode = |b: &Batch| b.iter().map(|i| Value::decode(i).unwrap()).collect::<Vec<_>>();
        for op in ops {
            match op {
                QueueOp::Push(p) => {
                    q.push(&tagged(p, submitted[p]).encode(), Tick::ZERO);
                    submitted[p] += 1;
                }
                QueueOp::Take => {
                    let b = q.take(batch_size);
                    if !b.is_empty() {
                        delivered.push(decode(&b));
                    }
                }
                QueueOp::TakeAndPutBack => {
                    let b = q.take(batch_size);
                    prop_assert!(b.len() <= batch_size);
                    let before = q.len();
                    let n = b.len();
                    q.put_back(b, Tick::ZERO);
                    prop_assert_eq!(q.len(), before + n);
                }
            }
        }
        while !q.is_empty() {
            delivered.push(decode(&q.take(batch_size)));
        }
        check_batches(&delivered, batch_size, &submitted)?;
    }
}

fn job(batch_size: usize) -> JobConfig {
    JobConfig {
        batch_size,
        max_retries: 1000,
        retry_delay: Duration::ZERO,
        max_queue_size: 1_000_000,
        ..JobConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    // The delivery loop (the shutdown runner's), with calls that fail and are
    // retried and callables that submit more: the accepted batches hold every item
    // once, none over batchSize, each producer's in order.
    #[test]
    fn delivery_batches_every_item_once_in_order(
        batch_size in 1usize..25,
        producers in 1usize..4,
        first in vec(0usize..4, 0..200),
        fails in vec(any::<bool>(), 0..40),
        more in vec(prop::option::of(0usize..4), 0..40),
    ) {
        let t = tempfile::tempdir().unwrap();
        let m = Mock::new(t.path());
        let submitted = Rc::new(RefCell::new(vec![0usize; producers]));
        let accepted = Rc::new(RefCell::new(Vec::<Vec<Value>>::new()));
        let j = {
            let (submitted, accepted) = (Rc::clone(&submitted), Rc::clone(&accepted));
            let (mut fails, mut more) = (fails.into_iter(), more.into_iter());
            let jid = Rc::new(std::cell::Cell::new(0));
            let jid2 = Rc::clone(&jid);
            let j = m.register("logs", job(batch_size), move |m: &Mock, items: &[Value]| {
                // A callable may queue more items of the job while it runs.
                if let Some(Some(p)) = more.next() {
                    let p = p % submitted.borrow().len();
                    let seq = submitted.borrow()[p];
                    let now = m.tick();
                    let _ = m.rt.borrow_mut().push(jid2.get(), &tagged(p, seq).encode(), now);
                    submitted.borrow_mut()[p] += 1;
                }
                if fails.next() == Some(true) {
                    return CallOutcome::failed("try again");
                }
                accepted.borrow_mut().push(items.to_vec());
                CallOutcome::Accepted
            });
            jid.set(j);
            j
        };
        for p in first {
            let p = p % producers;
            let seq = submitted.borrow()[p];
            let now = m.tick();
            let _ = m.rt.borrow_mut().push(j, &tagged(p, seq).encode(), now);
            submitted.borrow_mut()[p] += 1;
        }
        // Flush until nothing is left: items queued by a callable during a flush
        // wait for the next one.
        for _ in 0..100 {
            if m.rt.borrow().queued(j) == 0 {
                break;
            }
            delivery::deliver(&m, &[j], &[j], Mode::Flush);
        }
        prop_assert!((m.rt.borrow().queued(j) == 0));
        for (_, items) in m.calls.borrow().iter() {
            prop_assert!(!items.is_empty() && items.len() <= batch_size);
        }
        check_batches(&accepted.borrow(), batch_size, &submitted.borrow())?;
    }
}

/// A spool segment's frames: (producer, items) each.
fn segments_case() -> impl Strategy<Value = (usize, Vec<Vec<(usize, usize)>>)> {
    (1usize..30, vec(vec((0usize..3, 1usize..15), 1..4), 1..7))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    // The daemon worker batches a job across every segment of the spool (producers'
    // frames, in the order they were written): every item once, none over
    // batchSize, each producer's in order.
    #[test]
    fn the_daemon_worker_batches_every_item_once_in_order(case in segments_case(), fails in vec(any::<bool>(), 0..20)) {
        let (batch_size, segments) = case;
        let t = tempfile::tempdir().unwrap();
        let m = Mock::new(t.path());
        let accepted = Rc::new(RefCell::new(Vec::<Vec<Value>>::new()));
        {
            let accepted = Rc::clone(&accepted);
            let mut fails = fails.into_iter();
            m.register("logs", job(batch_size), move |_: &Mock, items: &[Value]| {
                if fails.next() == Some(true) {
                    return CallOutcome::failed("try again");
                }
                accepted.borrow_mut().push(items.to_vec());
                CallOutcome::Accepted
            });
        }
        let mut spool = Spool::open(&t.path().join("spool")).unwrap();
        let mut submitted = vec![0usize; 3];
        for frames in &segments {
            let batches: Vec<Batch> = frames
                .iter()
                .map(|&(p, n)| {
                    let mut b = Batch::new();
                    for _ in 0..n {
                        b.push(&tagged(p, submitted[p]).encode());
                        submitted[p] += 1;
                    }
                    b
                })
                .collect();
            let refs: Vec<(&[u8], &Batch)> = batches.iter().map(|b| (&b"logs"[..], b)).collect();
            spool.write("logs", &refs).unwrap();
        }
        let report = worker::run(&m, &m.jobs(), worker::Until::Drained(None), None);
        let total: usize = submitted.iter().sum();
        prop_assert_eq!(report.delivered, total as u64);
        check_batches(&accepted.borrow(), batch_size, &submitted)?;
    }
}

// ---------------------------------------------------------------------------
// The spool reader

fn frames_case() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<Value>)>> {
    vec((prop_oneof![Just(b"logs".to_vec()), bytes()], vec(value(), 0..4)), 1..6)
}

fn write_segment(frames: &[(Vec<u8>, Vec<Value>)]) -> (Vec<u8>, Vec<Frame>, Vec<usize>) {
    let mut data = SEGMENT_HEADER.to_vec();
    let mut want = Vec::new();
    let mut starts = Vec::new();
    for (job, values) in frames {
        let mut items = Batch::new();
        for v in values {
            items.push(&v.encode());
        }
        starts.push(data.len());
        frame::write_frame(&mut data, job, &items);
        want.push(Frame { job: job.clone(), items, batch: None });
    }
    starts.push(data.len());
    (data, want, starts)
}

#[derive(Debug, Clone)]
enum Tail {
    /// One more frame, cut short (a write torn by a crash).
    Torn(usize),
    /// Bytes that are not a frame.
    Garbage(Vec<u8>),
    /// Zeros, as a file system may leave after a crash.
    Zeros(usize),
}

fn tail() -> impl Strategy<Value = Tail> {
    prop_oneof![
        any::<usize>().prop_map(Tail::Torn),
        vec(any::<u8>(), 1..200).prop_map(Tail::Garbage),
        (1usize..100).prop_map(Tail::Zeros),
    ]
}

proptest! {
    // Whatever ends a segment (a torn frame, garbage, zeros), every intact frame
    // before it is read, and the end is reported as damage, never as a frame.
    #[test]
    fn a_damaged_tail_keeps_every_frame_before_it(frames in frames_case(), end in tail(), last in vec(value(), 1..4)) {
        let (mut data, want, _) = write_segment(&frames);
        let intact = data.len();
        match &end {
            Tail::Torn(cut) => {
                let mut items = Batch::new();
                for v in &last {
                    items.push(&v.encode());
                }
                let mut extra = Vec::new();
                frame::write_frame(&mut extra, b"logs", &items);
                data.extend_from_slice(&extra[..1 + cut % (extra.len() - 1)]);
            }
            Tail::Garbage(g) => data.extend_from_slice(g),
            Tail::Zeros(n) => data.resize(data.len() + n, 0),
        }
        let scan = frame::scan_segment(&data);
        prop_assert!(scan.frames.len() >= want.len());
        prop_assert_eq!(&scan.frames[..want.len()], &want[..]);
        prop_assert_eq!(scan.corrupt_bytes, 0);
        if !matches!(end, Tail::Garbage(_)) {
            // Garbage could hold a frame by a 2^-32 chance; a torn frame or zeros not.
            prop_assert_eq!(scan.frames.len(), want.len());
            prop_assert_eq!(scan.tail_bytes, data.len() - intact);
        }
        prop_assert!(scan.is_damaged());
    }

    // A byte damaged inside one frame loses that frame only: every frame before and
    // after it is read.
    #[test]
    fn damage_inside_a_frame_loses_only_that_frame(
        frames in frames_case(),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (mut data, want, starts) = write_segment(&frames);
        let k = which.index(want.len());
        let (start, end) = (starts[k], starts[k + 1]);
        // Damage the length or the payload (the CRC of the payload catches any
        // change of one byte); a damaged length points the CRC at other bytes.
        data[start + at.index(end - start)] ^= xor;
        let scan = frame::scan_segment(&data);
        let mut expected = want.clone();
        expected.remove(k);
        prop_assert_eq!(&scan.frames, &expected);
        if k + 1 < want.len() {
            prop_assert_eq!(scan.corrupt_bytes, end - start);
            prop_assert_eq!(scan.tail_bytes, 0);
        } else {
            prop_assert_eq!(scan.corrupt_bytes, 0);
            prop_assert_eq!(scan.tail_bytes, end - start);
        }
    }
}

// A map key that is neither an integer nor a string is refused, with its marker.
#[test]
fn map_keys_must_be_ints_or_strings() {
    for key in [Value::Nil, Value::Bool(true), Value::Float(1.0), Value::List(vec![])] {
        let mut bytes = Vec::new();
        msgpack::write_map_len(&mut bytes, 1);
        key.encode_into(&mut bytes);
        msgpack::write_nil(&mut bytes);
        assert_eq!(Value::decode(&bytes), Err(DecodeError::BadKey(bytes[1])));
    }
}

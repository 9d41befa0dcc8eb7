//! The seed corpus: a few valid inputs per target, made by the real encoders (and a
//! few hand-written MessagePack forms the encoders never write but readers accept).
//! `cargo run --example make_corpus` (in fuzz/) writes them to `corpus/<target>/`.

use asyncbatch_core::batch::Batch;
use asyncbatch_core::failure_store::FailureRecord;
use asyncbatch_core::frame::{self, SEGMENT_HEADER};
use asyncbatch_core::item::{Key, Value};
use asyncbatch_core::msgpack;
use asyncbatch_core::transport::message::{self, MESSAGE_HEADER};

/// Seeds of one target: file name and bytes.
pub type Seeds = Vec<(&'static str, Vec<u8>)>;

/// Every target and its seeds.
pub fn all() -> Vec<(&'static str, Seeds)> {
    vec![("spool_frames", spool_frames()), ("item", item()), ("failure_file", failure_file())]
}

fn key(k: &str) -> Key {
    Key::Bytes(k.as_bytes().to_vec())
}

/// A log record as applications queue them.
pub fn log_record(i: i64) -> Value {
    Value::Map(vec![
        (key("level"), Value::str("info")),
        (key("message"), Value::str("user logged in")),
        (
            key("context"),
            Value::Map(vec![
                (key("user"), Value::Int(42 + i)),
                (key("tags"), Value::List(vec![Value::str("a"), Value::str("b\u{e9}")])),
                (Key::Int(7), Value::Nil),
            ]),
        ),
        (key("ts"), Value::Float(1_700_000_000.25 + i as f64)),
    ])
}

/// One value of every kind, each length class of strings and integers.
pub fn scalars() -> Value {
    Value::List(vec![
        Value::Nil,
        Value::Bool(true),
        Value::Bool(false),
        Value::Int(0),
        Value::Int(-1),
        Value::Int(200),
        Value::Int(-200),
        Value::Int(70_000),
        Value::Int(-70_000),
        Value::Int(i64::MAX),
        Value::Int(i64::MIN),
        Value::Float(-0.5),
        Value::Float(f64::NAN),
        Value::str(""),
        Value::str(&"s".repeat(40)),
        Value::str(&"m".repeat(300)),
        Value::Bytes(vec![0xff, 0x00, 0xfe]),
        Value::List(vec![]),
        Value::Map(vec![]),
    ])
}

fn items(values: &[Value]) -> Batch {
    let mut b = Batch::new();
    for v in values {
        b.push(&v.encode());
    }
    b
}

fn logs(n: i64) -> Batch {
    items(&(0..n).map(log_record).collect::<Vec<_>>())
}

/// Spool segments, a queue message, a bare frame payload.
pub fn spool_frames() -> Seeds {
    let mut segment = SEGMENT_HEADER.to_vec();
    frame::write_frame(&mut segment, b"logs", &logs(3));
    frame::write_frame(&mut segment, b"metrics", &items(&[scalars()]));
    frame::write_frame(&mut segment, b"logs", &logs(1));

    let torn = segment[..segment.len() - 5].to_vec();
    let mut damaged = segment.clone();
    let second = SEGMENT_HEADER.len() + 8 + u32::from_le_bytes(segment[8..12].try_into().unwrap()) as usize;
    damaged[second + 20] ^= 0x55;

    let mut p = message::Packer::new(8192);
    p.add(b"logs", &logs(2));
    p.add(b"app\0id", &items(&[Value::Int(1)]));
    let msg = p.finish().remove(0);
    assert!(msg.starts_with(MESSAGE_HEADER));

    let mut one = Vec::new();
    frame::write_frame(&mut one, b"logs", &logs(2));
    let payload = one[8..].to_vec();

    // A batch that was cut (and called) before it was spooled carries its id.
    let mut cut = SEGMENT_HEADER.to_vec();
    let id = asyncbatch_core::batch_id::BatchId::from_parts(1_700_000_000_250, [7; 10]);
    frame::write_frame_of(&mut cut, b"logs", &logs(2), Some(&id));
    frame::write_frame(&mut cut, b"logs", &logs(1));

    vec![
        ("segment", segment),
        ("segment-torn", torn),
        ("segment-damaged", damaged),
        ("header-only", SEGMENT_HEADER.to_vec()),
        ("message", msg),
        ("payload", payload),
        ("segment-with-batch-id", cut),
    ]
}

/// Items, and forms of MessagePack that only other writers use.
pub fn item() -> Seeds {
    let mut nested = Value::Int(1);
    for i in 0..30 {
        nested = if i % 2 == 0 {
            Value::List(vec![nested, Value::Nil])
        } else {
            Value::Map(vec![(key("k"), nested), (Key::Int(-5), Value::Bool(true))])
        };
    }
    let mut at_limit = vec![0x91u8; msgpack::MAX_DEPTH - 1];
    at_limit.push(0x90);
    let mut batch = Vec::new();
    logs(3).write_array(&mut batch);
    let other_forms = vec![
        0x9c, // array of 12
        0xcc, 0x01, // uint8 1
        0xcd, 0x00, 0x02, // uint16 2
        0xce, 0x00, 0x00, 0x00, 0x03, // uint32 3
        0xcf, 0, 0, 0, 0, 0, 0, 0, 4, // uint64 4
        0xd0, 0x05, // int8 5
        0xd1, 0xff, 0xfa, // int16 -6
        0xd2, 0, 0, 0, 7, // int32 7
        0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf8, // int64 -8
        0xca, 0x3f, 0xc0, 0x00, 0x00, // float32 1.5
        0xd9, 0x02, b'h', b'i', // str8 "hi"
        0xc4, 0x02, b'o', b'k', // bin8 "ok"
        0xde, 0x00, 0x01, 0xda, 0x00, 0x01, b'k', 0xdc, 0x00, 0x00, // map16 {str16 "k": array16 []}
    ];
    vec![
        ("record", log_record(0).encode()),
        ("scalars", scalars().encode()),
        ("nested", nested.encode()),
        ("at-depth-limit", at_limit),
        ("batch", batch),
        ("other-forms", other_forms),
    ]
}

fn record(items: Batch) -> FailureRecord {
    FailureRecord {
        job: b"logs".to_vec(),
        attempts: 4,
        last_error: "RuntimeException: boom".into(),
        first_attempt_at: 1_700_000_000.25,
        failed_at: 1_700_000_001.5,
        pid: 4242,
        host: "web-1".into(),
        batch_id: Some(asyncbatch_core::batch_id::BatchId::from_parts(1_700_000_000_250, [9; 10])),
        items,
    }
}

/// Failure files, and bodies (the target also reads its input as a body).
pub fn failure_file() -> Seeds {
    let file = record(logs(3)).encode();
    let body = file[16..].to_vec();
    // A body another version might write: an unknown key, an integer time, the
    // optional fields left out.
    let mut other = Vec::new();
    msgpack::write_map_len(&mut other, 5);
    for (k, v) in
        [("job", Value::str("logs")), ("attempts", Value::Int(1)), ("failedAt", Value::Int(1_700_000_000))]
    {
        msgpack::write_bytes(&mut other, k.as_bytes());
        v.encode_into(&mut other);
    }
    msgpack::write_bytes(&mut other, b"future");
    Value::List(vec![Value::Int(1), Value::str("x")]).encode_into(&mut other);
    msgpack::write_bytes(&mut other, b"items");
    items(&[scalars()]).write_array(&mut other);
    vec![
        ("record", file),
        ("record-empty", record(Batch::new()).encode()),
        ("body", body),
        ("body-other-writer", other),
    ]
}

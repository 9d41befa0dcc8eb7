//! Items: the owned [`Value`] model of what PHP code queues, and why an item can be
//! refused ([`ItemError`]).
//!
//! The extension never builds a `Value` on the hot path: it writes MessagePack
//! straight from the PHP array. `Value` is for tests, for tools and for code that
//! needs to look inside items.

use std::fmt;

use thiserror::Error;

use crate::msgpack::{self, Build, DecodeError, MAX_DEPTH};

/// A PHP array key.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// An integer key.
    Int(i64),
    /// A string key (any bytes).
    Bytes(Vec<u8>),
}

/// An item, or part of one, as PHP sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `string`: any bytes.
    Bytes(Vec<u8>),
    /// An array whose keys are 0, 1, 2, ... in order.
    List(Vec<Value>),
    /// Any other array, in its order.
    Map(Vec<(Key, Value)>),
}

impl Value {
    /// A string value from text.
    pub fn str(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }

    /// Appends this value's MessagePack encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Nil => msgpack::write_nil(out),
            Value::Bool(b) => msgpack::write_bool(out, *b),
            Value::Int(i) => msgpack::write_int(out, *i),
            Value::Float(f) => msgpack::write_f64(out, *f),
            Value::Bytes(b) => msgpack::write_bytes(out, b),
            Value::List(items) => {
                msgpack::write_array_len(out, items.len());
                for v in items {
                    v.encode_into(out);
                }
            }
            Value::Map(pairs) => {
                msgpack::write_map_len(out, pairs.len());
                for (k, v) in pairs {
                    match k {
                        Key::Int(i) => msgpack::write_int(out, *i),
                        Key::Bytes(b) => msgpack::write_bytes(out, b),
                    }
                    v.encode_into(out);
                }
            }
        }
    }

    /// This value's MessagePack encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes exactly one value.
    pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
        msgpack::decode(bytes, &mut ValueBuilder)
    }
}

/// Builds [`Value`]s from MessagePack, the way PHP would build arrays: a map whose
/// keys are 0..n in order is still a map here, as PHP keeps it a list only by value.
pub struct ValueBuilder;

/// A container being decoded.
pub enum Partial {
    /// A list.
    List(Vec<Value>),
    /// A map.
    Map(Vec<(Key, Value)>),
}

impl Build<'_> for ValueBuilder {
    type Value = Value;
    type Container = Partial;

    fn nil(&mut self) -> Value {
        Value::Nil
    }
    fn bool(&mut self, v: bool) -> Value {
        Value::Bool(v)
    }
    fn int(&mut self, v: i64) -> Value {
        Value::Int(v)
    }
    fn float(&mut self, v: f64) -> Value {
        Value::Float(v)
    }
    fn bytes(&mut self, v: &[u8]) -> Value {
        Value::Bytes(v.to_vec())
    }
    fn list(&mut self, len: usize) -> Partial {
        Partial::List(Vec::with_capacity(len.min(1024)))
    }
    fn map(&mut self, len: usize) -> Partial {
        Partial::Map(Vec::with_capacity(len.min(1024)))
    }
    fn push(&mut self, c: &mut Partial, v: Value) {
        match c {
            Partial::List(items) => items.push(v),
            Partial::Map(pairs) => {
                let k = pairs.len() as i64;
                pairs.push((Key::Int(k), v))
            }
        }
    }
    fn insert_int(&mut self, c: &mut Partial, k: i64, v: Value) {
        if let Partial::Map(pairs) = c {
            pairs.push((Key::Int(k), v));
        }
    }
    fn insert_bytes(&mut self, c: &mut Partial, k: &[u8], v: Value) {
        if let Partial::Map(pairs) = c {
            pairs.push((Key::Bytes(k.to_vec()), v));
        }
    }
    fn finish(&mut self, c: Partial) -> Value {
        match c {
            Partial::List(items) => Value::List(items),
            Partial::Map(pairs) => Value::Map(pairs),
        }
    }
}

/// One step into an item: the key of an array element.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStep {
    /// `[3]`
    Index(i64),
    /// `['key']`
    Key(Vec<u8>),
}

/// Where inside an item something was found, printed as `$item['ctx'][0]`.
///
/// Built while an error travels up out of the walk, so the walk itself never pays
/// for it: steps are pushed innermost first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemPath {
    innermost_first: Vec<PathStep>,
}

impl ItemPath {
    /// The item itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// Adds the step taken at an outer level.
    pub fn push_outer(&mut self, step: PathStep) {
        self.innermost_first.push(step);
    }
}

impl fmt::Display for ItemPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$item")?;
        for step in self.innermost_first.iter().rev() {
            match step {
                PathStep::Index(i) => write!(f, "[{i}]")?,
                PathStep::Key(k) => write!(f, "['{}']", String::from_utf8_lossy(k))?,
            }
        }
        Ok(())
    }
}

const ALLOWED: &str =
    "items may contain only null, bool, int, float, string, arrays and JsonSerializable objects";

/// What is wrong with an item; nothing of it was queued.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ItemErrorKind {
    /// An object that is not `JsonSerializable` (a closure, too).
    #[error("{path} is an object of class {class}; {ALLOWED}")]
    Object {
        /// Where.
        path: ItemPath,
        /// Its class name.
        class: String,
    },
    /// A resource.
    #[error("{path} is a resource; {ALLOWED}")]
    Resource {
        /// Where.
        path: ItemPath,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("it nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Encoded size over `asyncbatch.max_item_size`.
    #[error("it is {size} bytes encoded, over asyncbatch.max_item_size ({max})")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
}

impl ItemErrorKind {
    /// Records that the problem sits one step further in, as the error travels out.
    pub fn within(mut self, step: PathStep) -> Self {
        match &mut self {
            ItemErrorKind::Object { path, .. } | ItemErrorKind::Resource { path } => path.push_outer(step),
            ItemErrorKind::TooDeep | ItemErrorKind::TooLarge { .. } => {}
        }
        self
    }
}

/// An item refused for a job.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("Cannot queue item for job '{job}': {kind}")]
pub struct ItemError {
    /// The job identifier, printable.
    pub job: String,
    /// What is wrong.
    pub kind: ItemErrorKind,
}

/// The integer a string array key stands for in PHP (`"12"` is the key `12`):
/// a canonical decimal in range, no sign but `-`, no leading zero, not `-0`.
#[inline]
pub fn php_numeric_key(k: &[u8]) -> Option<i64> {
    match k.first() {
        Some(b'0'..=b'9' | b'-') => {}
        _ => return None,
    }
    let digits = k.strip_prefix(b"-").unwrap_or(k);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && k.len() > 1 {
        return None;
    }
    std::str::from_utf8(k).ok()?.parse().ok()
}

/// Prints a job identifier for messages: lossy UTF-8, NUL as `\0`.
pub fn printable_id(id: &[u8]) -> String {
    String::from_utf8_lossy(id).replace('\0', "\\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: Vec<(Key, Value)>) -> Value {
        Value::Map(pairs)
    }

    #[test]
    fn round_trips_every_kind() {
        let v = Value::List(vec![
            Value::Nil,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(0),
            Value::Int(-1),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Float(1.0),
            Value::Float(-0.0),
            Value::Bytes(b"a\0b\nc".to_vec()),
            Value::Bytes(vec![0xff, 0xfe]),
            Value::str("h\u{e9}llo \u{1f600}"),
            map(vec![
                (Key::Int(12), Value::Int(1)),
                (Key::Bytes(b"007".to_vec()), Value::Float(2.5)),
                (Key::Int(-3), Value::List(vec![])),
            ]),
        ]);
        assert_eq!(Value::decode(&v.encode()).unwrap(), v);
    }

    #[test]
    fn integers_use_the_documented_forms() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0xcc, 0x80]),
            (255, &[0xcc, 0xff]),
            (256, &[0xcd, 0x01, 0x00]),
            (65536, &[0xce, 0, 1, 0, 0]),
            (1 << 32, &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
            (-1, &[0xff]),
            (-32, &[0xe0]),
            (-33, &[0xd0, 0xdf]),
            (-129, &[0xd1, 0xff, 0x7f]),
            (-32769, &[0xd2, 0xff, 0xff, 0x7f, 0xff]),
            (i64::MIN, &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for (v, bytes) in cases {
            assert_eq!(Value::Int(*v).encode(), *bytes, "{v}");
        }
    }

    #[test]
    fn every_short_length_is_copied_exactly() {
        for n in 0..40 {
            let ascii: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let mut utf8 = ascii.clone();
            if n >= 2 {
                utf8[n - 2..].copy_from_slice("\u{e9}".as_bytes());
            }
            let mut binary = ascii.clone();
            if n >= 1 {
                binary[n / 2] = 0xff;
            }
            for bytes in [ascii, utf8, binary] {
                let v = Value::Bytes(bytes.clone());
                let enc = v.encode();
                assert_eq!(Value::decode(&enc).unwrap(), v, "length {n}");
                let is_str = matches!(enc[0], 0xa0..=0xbf | 0xd9..=0xdb);
                assert_eq!(is_str, std::str::from_utf8(&bytes).is_ok(), "length {n}");
            }
        }
    }

    #[test]
    fn strings_are_str_when_utf8_and_bin_otherwise() {
        assert_eq!(Value::str("ab").encode(), b"\xa2ab");
        assert_eq!(Value::Bytes(vec![0xff]).encode(), b"\xc4\x01\xff");
        assert_eq!(Value::Bytes(vec![b'x'; 40]).encode()[..2], [0xd9, 40]);
    }

    #[test]
    fn rejects_hostile_input() {
        assert_eq!(Value::decode(&[0x92, 0x01]), Err(DecodeError::Truncated));
        assert_eq!(Value::decode(&[0xc1]), Err(DecodeError::Unsupported(0xc1)));
        assert_eq!(Value::decode(&[0x81, 0xc0, 0x01]), Err(DecodeError::BadKey(0xc0)));
        assert_eq!(Value::decode(&[0x01, 0x02]), Err(DecodeError::Trailing(1)));
        let big = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(Value::decode(&big), Err(DecodeError::IntOutOfRange(u64::MAX)));
        // An array32 header promising four billion items in five bytes.
        assert_eq!(Value::decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]), Err(DecodeError::Truncated));
        let deep = vec![0x91u8; 100_000];
        assert_eq!(Value::decode(&deep), Err(DecodeError::TooDeep));
    }

    #[test]
    fn nesting_up_to_the_limit_is_accepted() {
        let mut bytes = vec![0x91u8; MAX_DEPTH - 1];
        bytes.push(0x90);
        assert!(Value::decode(&bytes).is_ok());
        let mut bytes = vec![0x91u8; MAX_DEPTH];
        bytes.push(0x90);
        assert_eq!(Value::decode(&bytes), Err(DecodeError::TooDeep));
    }

    #[test]
    fn skip_value_returns_exactly_one_value() {
        let a = Value::List(vec![Value::Int(1), Value::str("x")]).encode();
        let mut both = a.clone();
        both.extend_from_slice(&[0xc0]);
        let mut r = msgpack::Reader::new(&both);
        assert_eq!(r.skip_value().unwrap(), &a[..]);
        assert_eq!(r.skip_value().unwrap(), &[0xc0]);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn numeric_keys_follow_php() {
        let yes: &[(&[u8], i64)] = &[
            (b"0", 0),
            (b"12", 12),
            (b"-1", -1),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
        ];
        for (k, v) in yes {
            assert_eq!(php_numeric_key(k), Some(*v));
        }
        let no: &[&[u8]] =
            &[b"", b"-", b"-0", b"007", b"+1", b" 1", b"1a", b"1.5", b"9223372036854775808", b"00"];
        for k in no {
            assert_eq!(php_numeric_key(k), None, "{}", String::from_utf8_lossy(k));
        }
    }

    #[test]
    fn paths_print_outermost_first() {
        let kind = ItemErrorKind::Resource { path: ItemPath::root() }
            .within(PathStep::Index(0))
            .within(PathStep::Key(b"ctx".to_vec()));
        let e = ItemError { job: "logs".into(), kind };
        assert_eq!(
            e.to_string(),
            "Cannot queue item for job 'logs': $item['ctx'][0] is a resource; items may contain \
             only null, bool, int, float, string, arrays and JsonSerializable objects"
        );
    }
}

//! `format => 'otlp'`: a batch as an OTLP/HTTP JSON `ExportLogsServiceRequest`
//! (resourceLogs → scopeLogs → logRecords), built from Monolog-shaped items
//! (`message`, `context`, `level`, `level_name`, `channel`, `datetime`, `extra`),
//! byte for byte what the polyfill's json_encode() of the same structure gives
//! (php/src/Internal/Otlp.php). The mapping is in docs/internals.md.
//!
//! - one scopeLogs per `channel` (the instrumentation scope's name), in the order
//!   the channels first appear; items without one go to scope `asyncbatch`;
//! - `timeUnixNano` from `datetime` (RFC 3339, as the Monolog formatter writes it;
//!   or Unix seconds), `severityNumber` from `level` (Monolog's scale),
//!   `severityText` from `level_name`, `body` from `message`, `attributes` from
//!   `context` then `extra`, `traceId`/`spanId` from their `trace_id`/`traceId` and
//!   `span_id`/`spanId` (hex) instead of attributes;
//! - an item of another shape is the record's `body`, whole.

use crate::batch::Batch;
use crate::http::json::{write_float, write_int, write_string};
use crate::item::{Key, Value};
use crate::msgpack::DecodeError;

/// The request body for `batch`, with `resource` as the resource's attributes.
pub fn body(batch: &Batch, resource: &[(String, Value)], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let items: Vec<Value> = batch.iter().map(Value::decode).collect::<Result<_, _>>()?;
    // Scopes in the order their channel first appears.
    let mut scopes: Vec<(&[u8], Vec<&Value>)> = Vec::new();
    for item in &items {
        let channel = record(item).and_then(|r| match get(r, b"channel") {
            Some(Value::Bytes(c)) => Some(c.as_slice()),
            _ => None,
        });
        let name = channel.unwrap_or(b"asyncbatch");
        match scopes.iter_mut().find(|(n, _)| *n == name) {
            Some((_, records)) => records.push(item),
            None => scopes.push((name, vec![item])),
        }
    }
    out.extend_from_slice(b"{\"resourceLogs\":[{\"resource\":{\"attributes\":");
    key_values(resource.iter().map(|(k, v)| (k.as_bytes(), v)), out);
    out.extend_from_slice(b"},\"scopeLogs\":[");
    for (i, (name, records)) in scopes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"scope\":{\"name\":");
        write_string(name, out);
        out.extend_from_slice(b"},\"logRecords\":[");
        for (j, item) in records.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            log_record(item, out);
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]}]}");
    Ok(())
}

/// The item's fields when it is Monolog-shaped: a map with a `message`.
fn record(item: &Value) -> Option<&[(Key, Value)]> {
    match item {
        Value::Map(fields) if get(fields, b"message").is_some() => Some(fields),
        _ => None,
    }
}

fn get<'a>(fields: &'a [(Key, Value)], name: &[u8]) -> Option<&'a Value> {
    fields.iter().find(|(k, _)| matches!(k, Key::Bytes(b) if b == name)).map(|(_, v)| v)
}

/// The entries of `context` or `extra`: a map's, or a list's under its indexes.
fn entries(v: Option<&Value>) -> Vec<(Key, &Value)> {
    match v {
        Some(Value::Map(m)) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(Value::List(l)) => l.iter().enumerate().map(|(i, v)| (Key::Int(i as i64), v)).collect(),
        _ => Vec::new(),
    }
}

fn log_record(item: &Value, out: &mut Vec<u8>) {
    let Some(fields) = record(item) else {
        out.extend_from_slice(b"{\"body\":");
        any_value(item, out);
        out.extend_from_slice(b",\"attributes\":[]}");
        return;
    };
    out.push(b'{');
    if let Some(nanos) = get(fields, b"datetime").and_then(unix_nanos) {
        out.extend_from_slice(b"\"timeUnixNano\":\"");
        out.extend_from_slice(nanos.to_string().as_bytes());
        out.extend_from_slice(b"\",");
    }
    if let Some(Value::Int(level)) = get(fields, b"level") {
        out.extend_from_slice(b"\"severityNumber\":");
        write_int(severity_number(*level), out);
        out.push(b',');
    }
    if let Some(Value::Bytes(name)) = get(fields, b"level_name") {
        out.extend_from_slice(b"\"severityText\":");
        write_string(name, out);
        out.push(b',');
    }
    out.extend_from_slice(b"\"body\":");
    any_value(get(fields, b"message").expect("a record has a message"), out);
    out.extend_from_slice(b",\"attributes\":");
    let (context, extra) = (entries(get(fields, b"context")), entries(get(fields, b"extra")));
    let all = || context.iter().chain(&extra).map(|(k, v)| (k, *v));
    let ids = [(&b"traceId"[..], &b"trace_id"[..], 32), (&b"spanId"[..], &b"span_id"[..], 16)];
    let id_of = |(camel, snake, len): (&[u8], &[u8], usize)| {
        all().find_map(|(k, v)| match (k, v) {
            (Key::Bytes(k), Value::Bytes(hex)) if (k == camel || k == snake) && is_hex_id(hex, len) => {
                Some(hex.to_ascii_lowercase())
            }
            _ => None,
        })
    };
    let (trace, span) = (id_of(ids[0]), id_of(ids[1]));
    let is_id = |k: &Key| matches!(k, Key::Bytes(k) if ids.iter().any(|(c, s, _)| k == c || k == s));
    key_values(all().filter(|(k, _)| !is_id(k)).map(|(k, v)| (key_bytes(k), v)), out);
    for (name, id) in [(&b"traceId"[..], trace), (&b"spanId"[..], span)] {
        if let Some(id) = id {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name);
            out.extend_from_slice(b"\":");
            write_string(&id, out);
        }
    }
    out.push(b'}');
}

fn is_hex_id(s: &[u8], len: usize) -> bool {
    s.len() == len && s.iter().all(u8::is_ascii_hexdigit) && s.iter().any(|&c| c != b'0')
}

fn key_bytes(k: &Key) -> std::borrow::Cow<'_, [u8]> {
    match k {
        Key::Bytes(b) => std::borrow::Cow::Borrowed(b),
        Key::Int(i) => std::borrow::Cow::Owned(i.to_string().into_bytes()),
    }
}

/// A JSON list of KeyValue; a later key replaces an earlier one where it stands
/// (OTLP keys are unique).
fn key_values<'a, K: AsRef<[u8]>>(pairs: impl Iterator<Item = (K, &'a Value)>, out: &mut Vec<u8>) {
    let mut kept: Vec<(K, &Value)> = Vec::new();
    for (k, v) in pairs {
        match kept.iter_mut().find(|(old, _)| old.as_ref() == k.as_ref()) {
            Some(slot) => slot.1 = v,
            None => kept.push((k, v)),
        }
    }
    out.push(b'[');
    for (i, (k, v)) in kept.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        write_string(k.as_ref(), out);
        out.extend_from_slice(b",\"value\":");
        any_value(v, out);
        out.push(b'}');
    }
    out.push(b']');
}

/// A PHP value as an OTLP AnyValue.
fn any_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Nil => out.extend_from_slice(b"{}"),
        Value::Bool(b) => {
            out.extend_from_slice(if *b { b"{\"boolValue\":true}" } else { b"{\"boolValue\":false}" })
        }
        Value::Int(i) => {
            out.extend_from_slice(b"{\"intValue\":\"");
            write_int(*i, out);
            out.extend_from_slice(b"\"}");
        }
        Value::Float(f) => {
            out.extend_from_slice(b"{\"doubleValue\":");
            match (f.is_nan(), f.is_infinite()) {
                (true, _) => out.extend_from_slice(b"\"NaN\""),
                (_, true) if *f > 0.0 => out.extend_from_slice(b"\"Infinity\""),
                (_, true) => out.extend_from_slice(b"\"-Infinity\""),
                _ => write_float(*f, out),
            }
            out.push(b'}');
        }
        Value::Bytes(s) => {
            out.extend_from_slice(b"{\"stringValue\":");
            write_string(s, out);
            out.push(b'}');
        }
        Value::List(items) => array_value(items.iter(), out),
        Value::Map(pairs) if is_list(pairs) => array_value(pairs.iter().map(|(_, v)| v), out),
        Value::Map(pairs) => {
            out.extend_from_slice(b"{\"kvlistValue\":{\"values\":");
            key_values(pairs.iter().map(|(k, v)| (key_bytes(k), v)), out);
            out.extend_from_slice(b"}}");
        }
    }
}

fn array_value<'a>(items: impl Iterator<Item = &'a Value>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"arrayValue\":{\"values\":[");
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        any_value(v, out);
    }
    out.extend_from_slice(b"]}}");
}

/// Keys 0, 1, 2... in order: a PHP list.
fn is_list(pairs: &[(Key, Value)]) -> bool {
    pairs.iter().enumerate().all(|(i, (k, _))| matches!(k, Key::Int(n) if *n == i as i64))
}

/// Monolog's levels on OTLP's severity numbers: DEBUG 5, INFO 9, NOTICE 10,
/// WARNING 13, ERROR 17, CRITICAL 18, ALERT 19, EMERGENCY 21.
pub fn severity_number(level: i64) -> i64 {
    match level {
        ..200 => 5,
        200..250 => 9,
        250..300 => 10,
        300..400 => 13,
        400..500 => 17,
        500..550 => 18,
        550..600 => 19,
        _ => 21,
    }
}

/// Nanoseconds since the epoch of a `datetime`: RFC 3339 (`2026-12-03T08:00:00.123456+01:00`,
/// a space for the `T`, `Z` or an offset with or without its colon), or Unix seconds.
pub fn unix_nanos(v: &Value) -> Option<u64> {
    let s = match v {
        Value::Int(secs) => return u64::try_from(*secs).ok()?.checked_mul(1_000_000_000),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?,
        _ => return None,
    };
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| std::str::from_utf8(part).ok()?.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut pos = 19;
    let mut nanos: i64 = 0;
    if b.get(pos) == Some(&b'.') {
        let digits = b[pos + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = num(pos + 1, digits)? * 10_i64.pow(9 - digits as u32);
        pos += 1 + digits;
    }
    let offset = match &b[pos..] {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                5 if rest[2] == b':' => (num(pos + 1, 2)?, num(pos + 4, 2)?),
                4 => (num(pos + 1, 2)?, num(pos + 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            (h * 3600 + m * 60) * if *sign == b'+' { 1 } else { -1 }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()?.checked_mul(1_000_000_000)?.checked_add(nanos as u64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_as_the_monolog_formatter_writes_them() {
        let t = |s: &str| unix_nanos(&Value::str(s));
        assert_eq!(t("1970-01-01T00:00:00+00:00"), Some(0));
        assert_eq!(t("2026-12-03T08:00:00.123456+00:00"), Some(1_796_284_800_123_456_000));
        assert_eq!(t("2026-12-03T09:00:00.123456+01:00"), t("2026-12-03T08:00:00.123456Z"));
        assert_eq!(t("2026-12-03 07:30:00-0030"), t("2026-12-03T08:00:00Z"));
        assert_eq!(t("2000-02-29T12:00:00.5Z"), Some(951_825_600_500_000_000));
        assert_eq!(unix_nanos(&Value::Int(2)), Some(2_000_000_000));
        for bad in [
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-12-03T08:00:00",
            "2026-12-03T08:00:00.Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn monolog_levels_map_to_otlp_severities() {
        let got: Vec<i64> = [100, 200, 250, 300, 400, 500, 550, 600].map(severity_number).to_vec();
        assert_eq!(got, [5, 9, 10, 13, 17, 18, 19, 21]);
    }

    #[test]
    fn records_are_grouped_by_channel_with_ids_out_of_the_attributes() {
        let rec = |channel: &str, msg: &str| {
            Value::Map(vec![
                (Key::Bytes(b"message".to_vec()), Value::str(msg)),
                (
                    Key::Bytes(b"context".to_vec()),
                    Value::Map(vec![
                        (Key::Bytes(b"user".to_vec()), Value::Int(7)),
                        (Key::Bytes(b"trace_id".to_vec()), Value::str("4BF92F3577B34DA6A3CE929D0E0E4736")),
                        (Key::Bytes(b"tags".to_vec()), Value::List(vec![Value::str("a"), Value::Nil])),
                    ]),
                ),
                (Key::Bytes(b"level".to_vec()), Value::Int(400)),
                (Key::Bytes(b"level_name".to_vec()), Value::str("ERROR")),
                (Key::Bytes(b"channel".to_vec()), Value::str(channel)),
                (Key::Bytes(b"datetime".to_vec()), Value::str("1970-01-01T00:00:01+00:00")),
                (
                    Key::Bytes(b"extra".to_vec()),
                    Value::Map(vec![(Key::Bytes(b"user".to_vec()), Value::Float(0.5))]),
                ),
            ])
        };
        let mut b = Batch::new();
        for v in [rec("app", "one"), Value::Int(3), rec("app", "two")] {
            b.push(&v.encode());
        }
        let mut out = Vec::new();
        body(&b, &[("service.name".into(), Value::str("shop"))], &mut out).unwrap();
        let record = |msg: &str| {
            format!(
                "{{\"timeUnixNano\":\"1000000000\",\"severityNumber\":17,\"severityText\":\"ERROR\",\
                 \"body\":{{\"stringValue\":\"{msg}\"}},\"attributes\":[{{\"key\":\"user\",\"value\":{{\"doubleValue\":0.5}}}},\
                 {{\"key\":\"tags\",\"value\":{{\"arrayValue\":{{\"values\":[{{\"stringValue\":\"a\"}},{{}}]}}}}}}],\
                 \"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}}"
            )
        };
        let want = format!(
            "{{\"resourceLogs\":[{{\"resource\":{{\"attributes\":[{{\"key\":\"service.name\",\"value\":{{\"stringValue\":\"shop\"}}}}]}},\
             \"scopeLogs\":[{{\"scope\":{{\"name\":\"app\"}},\"logRecords\":[{},{}]}},\
             {{\"scope\":{{\"name\":\"asyncbatch\"}},\"logRecords\":[{{\"body\":{{\"intValue\":\"3\"}},\"attributes\":[]}}]}}]}}]}}",
            record("one"),
            record("two")
        );
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}

//! Items as JSON, byte for byte what PHP's
//! `json_encode($v, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE |
//! JSON_PRESERVE_ZERO_FRACTION | JSON_INVALID_UTF8_SUBSTITUTE |
//! JSON_PARTIAL_OUTPUT_ON_ERROR)` gives for the same PHP value, so the extension
//! and the polyfill send the same bodies.

use crate::msgpack::{DecodeError, Head, Reader};

/// Appends the JSON of one MessagePack item.
pub fn write_item(item: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let mut r = Reader::new(item);
    write_value(&mut r, out)
}

fn write_value(r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    match r.head()? {
        Head::Nil => out.extend_from_slice(b"null"),
        Head::Bool(true) => out.extend_from_slice(b"true"),
        Head::Bool(false) => out.extend_from_slice(b"false"),
        Head::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Head::Float(f) => write_float(f, out),
        Head::Bytes(b) => write_string(b, out),
        Head::List(n) => {
            out.push(b'[');
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                write_value(r, out)?;
            }
            out.push(b']');
        }
        Head::Map(n) => {
            // PHP writes an array whose keys are 0..n-1 in order as a JSON list.
            if n > 0 && is_list_map(r, n)? {
                out.push(b'[');
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    r.skip_value()?;
                    write_value(r, out)?;
                }
                out.push(b']');
                return Ok(());
            }
            out.push(if n == 0 { b'[' } else { b'{' });
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                match r.head()? {
                    Head::Int(k) => {
                        out.push(b'"');
                        out.extend_from_slice(k.to_string().as_bytes());
                        out.push(b'"');
                    }
                    Head::Bytes(k) => write_string(k, out),
                    _ => return Err(DecodeError::Expected("a map key")),
                }
                out.push(b':');
                write_value(r, out)?;
            }
            out.push(if n == 0 { b']' } else { b'}' });
        }
    }
    Ok(())
}

fn is_list_map(r: &Reader<'_>, n: usize) -> Result<bool, DecodeError> {
    let mut probe = r.clone();
    for expected in 0..n as i64 {
        match probe.head()? {
            Head::Int(k) if k == expected => {}
            _ => return Ok(false),
        }
        probe.skip_value()?;
    }
    Ok(true)
}

/// A float as `php_gcvt()` writes it with `serialize_precision = -1`, plus `.0` for a
/// whole number (PRESERVE_ZERO_FRACTION); NAN and INF as `0` (PARTIAL_OUTPUT_ON_ERROR).
pub fn write_float(f: f64, out: &mut Vec<u8>) {
    if !f.is_finite() {
        out.push(b'0');
        return;
    }
    let start = out.len();
    if f == 0.0 {
        out.extend_from_slice(if f.is_sign_negative() { b"-0" } else { b"0" });
    } else {
        // Rust's `{:e}` has the shortest digits that read back exactly, as zend_dtoa's mode 0.
        let sci = format!("{:e}", f.abs());
        let (mantissa, exp) = sci.split_once('e').expect("scientific format");
        let exp: i32 = exp.parse().expect("exponent");
        let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        let decpt = exp + 1;
        if f < 0.0 {
            out.push(b'-');
        }
        if if decpt < 0 { decpt < -3 } else { decpt > 17 } {
            out.push(digits[0]);
            out.push(b'.');
            if digits.len() > 1 {
                out.extend_from_slice(&digits[1..]);
            } else {
                out.push(b'0');
            }
            out.push(b'e');
            out.push(if decpt - 1 < 0 { b'-' } else { b'+' });
            out.extend_from_slice((decpt - 1).abs().to_string().as_bytes());
        } else if decpt <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
            out.extend_from_slice(&digits);
        } else {
            let decpt = decpt as usize;
            for i in 0..decpt {
                out.push(*digits.get(i).unwrap_or(&b'0'));
            }
            if digits.len() > decpt {
                out.push(b'.');
                out.extend_from_slice(&digits[decpt..]);
            }
        }
    }
    if !out[start..].contains(&b'.') && !out[start..].contains(&b'e') {
        out.extend_from_slice(b".0");
    }
}

/// A string: `"`, `\`, and control characters escaped (`\b \f \n \r \t`, else
/// `\u00XX`), U+2028 and U+2029 escaped, other text as is, invalid UTF-8 replaced by
/// U+FFFD the way PHP's `php_next_utf8_char()` delimits it.
pub fn write_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut pos = 0;
    while pos < s.len() {
        let c = s[pos];
        if c < 0x80 {
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0..=0x1f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
                _ => out.push(c),
            }
            pos += 1;
            continue;
        }
        match next_utf8(s, pos) {
            Ok((ch, len)) => {
                if ch == 0x2028 || ch == 0x2029 {
                    out.extend_from_slice(format!("\\u{ch:04x}").as_bytes());
                } else {
                    out.extend_from_slice(&s[pos..pos + len]);
                }
                pos += len;
            }
            Err(skip) => {
                out.extend_from_slice("\u{fffd}".as_bytes());
                pos += skip;
            }
        }
    }
    out.push(b'"');
}

fn lead(c: u8) -> bool {
    c < 0x80 || (0xc2..=0xf4).contains(&c)
}

fn trail(c: u8) -> bool {
    (0x80..=0xbf).contains(&c)
}

/// One multi-byte character at `pos`: `Ok((code point, length))`, or `Err(bytes to
/// skip)` for an invalid sequence, as `php_next_utf8_char()` decides.
fn next_utf8(s: &[u8], pos: usize) -> Result<(u32, usize), usize> {
    let c = s[pos];
    let avail = s.len() - pos;
    let at = |i: usize| s[pos + i];
    if c < 0xc2 {
        Err(1)
    } else if c < 0xe0 {
        if avail < 2 {
            return Err(1);
        }
        if !trail(at(1)) {
            return Err(if lead(at(1)) { 1 } else { 2 });
        }
        Ok((((c as u32 & 0x1f) << 6) | (at(1) as u32 & 0x3f), 2))
    } else if c < 0xf0 {
        if avail < 3 || !trail(at(1)) || !trail(at(2)) {
            return Err(if avail < 2 || lead(at(1)) {
                1
            } else if avail < 3 || lead(at(2)) {
                2
            } else {
                3
            });
        }
        let ch = ((c as u32 & 0x0f) << 12) | ((at(1) as u32 & 0x3f) << 6) | (at(2) as u32 & 0x3f);
        if ch < 0x800 || (0xd800..=0xdfff).contains(&ch) {
            return Err(3);
        }
        Ok((ch, 3))
    } else if c < 0xf5 {
        if avail < 4 || !trail(at(1)) || !trail(at(2)) || !trail(at(3)) {
            return Err(if avail < 2 || lead(at(1)) {
                1
            } else if avail < 3 || lead(at(2)) {
                2
            } else if avail < 4 || lead(at(3)) {
                3
            } else {
                4
            });
        }
        let ch = ((c as u32 & 0x07) << 18)
            | ((at(1) as u32 & 0x3f) << 12)
            | ((at(2) as u32 & 0x3f) << 6)
            | (at(3) as u32 & 0x3f);
        if !(0x10000..=0x10ffff).contains(&ch) {
            return Err(4);
        }
        Ok((ch, 4))
    } else {
        Err(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{Key, Value};

    fn json(v: &Value) -> String {
        let mut out = Vec::new();
        write_item(&v.encode(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_print_as_php_json_encode_does() {
        // Expected values printed by PHP 8.2's json_encode with the sink's flags.
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (1e25, "1.0e+25"),
            (1e15, "1000000000000000.0"),
            (1e16, "10000000000000000.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-5"),
            (1.5e-7, "1.5e-7"),
            (2.5, "2.5"),
            (100.0, "100.0"),
            (1e20, "1.0e+20"),
            (0.1 + 0.2, "0.30000000000000004"),
            (5e-324, "5.0e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "0"),
            (f64::INFINITY, "0"),
        ];
        for (f, want) in cases {
            assert_eq!(json(&Value::Float(f)), want, "{f:e}");
        }
    }

    #[test]
    fn strings_escape_as_php_does() {
        let v = Value::List(vec![
            Value::str("a/b"),
            Value::Bytes(b"\x00\x01\x1f\x7f".to_vec()),
            Value::str("\u{e9}\u{2028}\u{2029}"),
            Value::str("\"\\"),
            Value::Bytes(b"a\xffb".to_vec()),
            Value::Bytes(b"\xc3".to_vec()),
            Value::Bytes(b"\xe2\x82".to_vec()),
            Value::str("ok\u{1f600}"),
            Value::Bytes(b"\xed\xa0\x80".to_vec()),
            Value::str("\n\r\t\x08\x0c"),
        ]);
        assert_eq!(
            json(&v),
            "[\"a/b\",\"\\u0000\\u0001\\u001f\x7f\",\"\u{e9}\\u2028\\u2029\",\"\\\"\\\\\",\"a\u{fffd}b\",\"\u{fffd}\",\"\u{fffd}\",\"ok\u{1f600}\",\"\u{fffd}\",\"\\n\\r\\t\\b\\f\"]"
        );
    }

    #[test]
    fn arrays_are_lists_or_objects_as_php_decides() {
        let v = Value::List(vec![
            Value::List(vec![]),
            Value::Map(vec![(Key::Int(1), Value::Int(1))]),
            Value::Map(vec![(Key::Bytes(b"a".to_vec()), Value::Int(1)), (Key::Int(5), Value::Int(2))]),
            Value::Map(vec![(Key::Int(0), Value::str("x")), (Key::Int(1), Value::str("y"))]),
            Value::List(vec![Value::Float(1.0), Value::Nil, Value::Bool(true), Value::Int(-7)]),
        ]);
        assert_eq!(json(&v), r#"[[],{"1":1},{"a":1,"5":2},["x","y"],[1.0,null,true,-7]]"#);
    }
}

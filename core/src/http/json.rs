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
        Head::Int(i) => write_int(i, out),
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
                        write_int(k, out);
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

/// An integer in decimal, without allocating (a batch has many).
pub fn write_int(i: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[pos..]);
}

/// A float as `php_gcvt()` writes it with `serialize_precision = -1`, plus `.0` for a
/// whole number (PRESERVE_ZERO_FRACTION); NAN and INF as `0` (PARTIAL_OUTPUT_ON_ERROR).
pub fn write_float(f: f64, out: &mut Vec<u8>) {
    if !f.is_finite() {
        out.push(b'0');
        return;
    }
    if f == 0.0 {
        out.extend_from_slice(if f.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    if !write_few_decimals(f, out) {
        write_shortest(f, out);
    }
}

/// A finite, non-zero float in its shortest digits, placed as `php_gcvt()` does.
fn write_shortest(f: f64, out: &mut Vec<u8>) {
    // ryu's digits are the shortest that read back exactly, as zend_dtoa's mode 0
    // gives (at most 17), in "12.5", "1e-7" or "1.2345e17"; read them and the
    // decimal point's place back out of it.
    let mut buf = ryu::Buffer::new();
    let (mut digits, ndigits, decpt) = shortest_digits(buf.format_finite(f.abs()).as_bytes());
    let ndigits = break_tie_to_even(f.abs(), &mut digits, ndigits, decpt);
    let digits = &digits[..ndigits];
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
        write_int(i64::from((decpt - 1).abs()), out);
    } else if decpt <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
        out.extend_from_slice(digits);
    } else {
        let decpt = decpt as usize;
        if digits.len() > decpt {
            out.extend_from_slice(&digits[..decpt]);
            out.push(b'.');
            out.extend_from_slice(&digits[decpt..]);
        } else {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', decpt - digits.len()));
            out.extend_from_slice(b".0");
        }
    }
}

/// Powers of ten a double holds exactly.
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];

/// Writes `f` when it is, to the last bit, a number of at most 6 decimals between
/// 0.001 and 10^15 (timestamps, durations, amounts: most floats of a log record);
/// false for any other. Its digits are then the shortest that read back, as PHP's:
/// `m / 10^k` for the fewest decimals `k`, unique as `m` stays below 2^50 (the
/// doubles near `f` lie much closer than `10^-k` apart), and PHP prints such a
/// number without an exponent.
fn write_few_decimals(f: f64, out: &mut Vec<u8>) -> bool {
    let a = f.abs();
    if !(1e-3..1e15).contains(&a) {
        return false;
    }
    for (k, &scale) in POW10.iter().enumerate() {
        let x = a * scale;
        if x >= (1u64 << 50) as f64 {
            return false;
        }
        let m = x.round();
        // Division of two exact doubles rounds once: this is how `m e-k` reads back.
        if m / scale != a {
            continue;
        }
        let m = m as u64;
        let unit = POW10[k] as u64;
        if f < 0.0 {
            out.push(b'-');
        }
        write_int((m / unit) as i64, out);
        out.push(b'.');
        if k == 0 {
            out.push(b'0');
        } else {
            let mut digits = [b'0'; 6];
            let mut frac = m % unit;
            for d in digits[..k].iter_mut().rev() {
                *d = b'0' + (frac % 10) as u8;
                frac /= 10;
            }
            out.extend_from_slice(&digits[..k]);
        }
        return true;
    }
    false
}

/// The significant digits (at most 17) of ryu's text of a positive float, their
/// count, and the decimal point's place: the value is 0.DIGITS × 10^decpt.
fn shortest_digits(text: &[u8]) -> ([u8; 17], usize, i32) {
    let (mantissa, exp) = match text.iter().position(|&b| b == b'e') {
        Some(e) => (
            &text[..e],
            std::str::from_utf8(&text[e + 1..]).ok().and_then(|x| x.parse::<i32>().ok()).unwrap_or(0),
        ),
        None => (text, 0),
    };
    let point = mantissa.iter().position(|&b| b == b'.').unwrap_or(mantissa.len());
    let mut decpt = point as i32 + exp;
    let mut digits = [b'0'; 17];
    let mut n = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if n == 0 && b == b'0' {
            decpt -= 1; // a leading zero: "0.001"
        } else if n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1; // "100.0"
    }
    (digits, n.max(1), decpt)
}

/// Where `x` lies exactly halfway between two shortest candidates, zend_dtoa takes
/// the one with an even last digit; ryu (and Rust's `{:e}`) may take the odd one.
/// `digits` (`ndigits` of them, the value `0.d1d2... × 10^decpt`) are changed to the
/// even neighbour when `x` is exactly the midpoint and the neighbour reads back as
/// `x`. Returns the number of digits (a trailing zero is dropped, as zend_dtoa does).
fn break_tie_to_even(x: f64, digits: &mut [u8; 17], ndigits: usize, decpt: i32) -> usize {
    let last = digits[ndigits - 1] - b'0';
    if last.is_multiple_of(2) {
        return ndigits;
    }
    let d: u64 = digits[..ndigits].iter().fold(0, |acc, &c| acc * 10 + u64::from(c - b'0'));
    // The midpoints below and above, in units of 10^(decpt - ndigits - 1).
    let scale = decpt - ndigits as i32 - 1;
    let neighbour = if equals_decimal(x, d * 10 - 5, scale) {
        d - 1
    } else if last != 9 && equals_decimal(x, d * 10 + 5, scale) {
        d + 1
    } else {
        return ndigits;
    };
    let mut text = [0u8; 17];
    let mut n = neighbour;
    for i in (0..ndigits).rev() {
        text[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    // The neighbour must read back as x (near a power of two the gap below is smaller).
    let reads_back = format!("0.{}e{decpt}", std::str::from_utf8(&text[..ndigits]).unwrap_or("0"))
        .parse::<f64>()
        .is_ok_and(|y| y == x);
    if !reads_back {
        return ndigits;
    }
    digits[..ndigits].copy_from_slice(&text[..ndigits]);
    let mut len = ndigits;
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    len
}

/// Whether the finite, positive `x` is exactly `k × 10^scale`.
fn equals_decimal(x: f64, k: u64, scale: i32) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 { (fraction, -1074) } else { (fraction | (1 << 52), biased - 1075) };
    if m == 0 || k == 0 {
        return false;
    }
    // x = m' × 2^(e + tm), k = k' × 2^tk with m', k' odd; 10^scale = 2^scale × 5^scale.
    let (tm, tk) = (m.trailing_zeros() as i32, k.trailing_zeros() as i32);
    let (m_odd, k_odd) = (u128::from(m >> tm), u128::from(k >> tk));
    if e + tm != tk + scale {
        return false;
    }
    let Some(five) = 5u128.checked_pow(scale.unsigned_abs()) else { return false };
    if scale >= 0 {
        k_odd.checked_mul(five) == Some(m_odd)
    } else {
        m_odd.checked_mul(five) == Some(k_odd)
    }
}

/// The bytes a JSON string cannot hold as they are: controls, `"`, `\\`, and every
/// byte of a multi-byte character (checked, then copied or replaced).
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = c < 0x20 || c == b'"' as usize || c == b'\\' as usize || c >= 0x80;
        c += 1;
    }
    t
};

/// A string: `"`, `\`, and control characters escaped (`\b \f \n \r \t`, else
/// `\u00XX`), U+2028 and U+2029 escaped, other text as is, invalid UTF-8 replaced by
/// U+FFFD the way PHP's `php_next_utf8_char()` delimits it.
pub fn write_string(s: &[u8], out: &mut Vec<u8>) {
    let Some(first) = s.iter().position(|&c| SPECIAL[c as usize]) else {
        // Most strings of a log record: copied whole.
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    };
    out.push(b'"');
    out.extend_from_slice(&s[..first]);
    let mut pos = first;
    while pos < s.len() {
        // Runs of plain ASCII are copied at once: most of a log line.
        let run = s[pos..].iter().position(|&c| SPECIAL[c as usize]);
        let end = run.map_or(s.len(), |r| pos + r);
        out.extend_from_slice(&s[pos..end]);
        pos = end;
        if pos == s.len() {
            break;
        }
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
                _ => write_unicode_escape(u32::from(c), out),
            }
            pos += 1;
            continue;
        }
        match next_utf8(s, pos) {
            Ok((ch, len)) => {
                if ch == 0x2028 || ch == 0x2029 {
                    write_unicode_escape(ch, out);
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

/// `\uXXXX`, lower-case hex, for a code point below U+10000.
fn write_unicode_escape(ch: u32, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((ch >> shift) & 0xf) as usize]);
    }
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
            // Exactly halfway between two 16-digit candidates (.25 and .75 are exact
            // here): the even one.
            (847788045577606.0 + 0.25, "847788045577606.2"),
            (847788045577606.0 + 0.75, "847788045577606.8"),
            (f64::NAN, "0"),
            (f64::INFINITY, "0"),
        ];
        for (f, want) in cases {
            assert_eq!(json(&Value::Float(f)), want, "{f:e}");
        }
    }

    /// The digits and decimal point of Rust's own shortest `{:e}`, ties to even.
    fn std_digits(f: f64) -> (String, i32) {
        let sci = format!("{f:e}");
        let (m, e) = sci.split_once('e').unwrap();
        let mut digits = [b'0'; 17];
        let m = m.replace('.', "");
        digits[..m.len()].copy_from_slice(m.as_bytes());
        let decpt = e.parse::<i32>().unwrap() + 1;
        let n = break_tie_to_even(f, &mut digits, m.len(), decpt);
        (String::from_utf8(digits[..n].to_vec()).unwrap(), decpt)
    }

    proptest::proptest! {
        #[test]
        fn ryu_gives_the_digits_std_gives(bits in proptest::num::u64::ANY) {
            let f = f64::from_bits(bits).abs();
            proptest::prop_assume!(f.is_finite() && f != 0.0);
            let mut buf = ryu::Buffer::new();
            let (mut digits, n, decpt) = shortest_digits(buf.format_finite(f).as_bytes());
            let n = break_tie_to_even(f, &mut digits, n, decpt);
            let (want, want_decpt) = std_digits(f);
            proptest::prop_assert_eq!((std::str::from_utf8(&digits[..n]).unwrap(), decpt), (want.as_str(), want_decpt));
        }
    }

    proptest::proptest! {
        #[test]
        fn few_decimals_print_as_the_shortest_digits_do(
            m in 0u64..(1 << 52),
            k in 0u32..9,
            neg in proptest::bool::ANY,
            bits in proptest::num::u64::ANY,
        ) {
            let decimal = m as f64 / 10f64.powi(k as i32) * if neg { -1.0 } else { 1.0 };
            for f in [decimal, f64::from_bits(bits), (m % 100_000) as f64 / 100.0, m as f64 / 1e6 + 1.7e9] {
                let mut fast = Vec::new();
                if write_few_decimals(f, &mut fast) {
                    let mut shortest = Vec::new();
                    write_shortest(f, &mut shortest);
                    proptest::prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(shortest).unwrap(), "{:e}", f);
                }
            }
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

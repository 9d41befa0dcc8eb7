//! MessagePack, the subset items use: writing without allocation, reading into any
//! [`Build`]er (the extension builds PHP arrays, tests build [`Value`](crate::item::Value)s).
//!
//! The exact forms written are documented in `docs/internals.md`: shortest integers
//! with unsigned formats for values >= 0, float64 always, `str` for valid UTF-8 and
//! `bin` otherwise.

use thiserror::Error;

/// Deepest nesting of arrays accepted, when writing and when reading.
pub const MAX_DEPTH: usize = 512;

/// Appends a nil.
#[inline]
pub fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

/// Appends a bool.
#[inline]
pub fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xc3 } else { 0xc2 });
}

/// Appends an integer in its shortest form.
#[inline]
pub fn write_int(out: &mut Vec<u8>, v: i64) {
    if (0..128).contains(&v) {
        out.push(v as u8);
    } else if (-32..0).contains(&v) {
        out.push(v as i8 as u8);
    } else {
        write_int_slow(out, v);
    }
}

fn write_int_slow(out: &mut Vec<u8>, v: i64) {
    match v {
        128..=0xff => out.extend_from_slice(&[0xcc, v as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        0x1_0000_0000.. => {
            out.push(0xcf);
            out.extend_from_slice(&(v as u64).to_be_bytes());
        }
        -128..=-33 => out.extend_from_slice(&[0xd0, v as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(v as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(v as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// Appends a float64.
#[inline]
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_bits().to_be_bytes());
}

/// Appends a PHP string: `str` when the bytes are UTF-8, `bin` otherwise.
#[inline(always)]
pub fn write_bytes(out: &mut Vec<u8>, v: &[u8]) {
    let n = v.len();
    if n < 32 {
        // The common case (keys, levels, short values): fixstr, copied and checked
        // for ASCII in one pass.
        out.reserve(n + 1);
        let at = out.len();
        // SAFETY: capacity for n + 1 more bytes was just reserved.
        let ascii = unsafe {
            let p = out.as_mut_ptr().add(at);
            *p = 0xa0 | n as u8;
            copy_short(v, p.add(1))
        };
        if ascii {
            // SAFETY: the header and n bytes were written.
            unsafe { out.set_len(at + 1 + n) };
            return;
        }
    }
    out.reserve(n + 5);
    if v.is_ascii() || std::str::from_utf8(v).is_ok() {
        write_str_header(out, n);
    } else {
        write_bin_header(out, n);
    }
    out.extend_from_slice(v);
}

/// Copies fewer than 32 bytes to `dst` with (possibly overlapping) word loads and
/// stores, and tells whether they are all ASCII.
///
/// # Safety
/// `dst` must be valid for `src.len()` bytes of writes.
#[inline(always)]
unsafe fn copy_short(src: &[u8], dst: *mut u8) -> bool {
    let n = src.len();
    let s = src.as_ptr();
    // SAFETY: every load reads inside `src` and every store writes inside
    // `dst[..n]`, by the length checks of each arm.
    unsafe {
        if n >= 16 {
            let a = std::ptr::read_unaligned(s as *const u128);
            let b = std::ptr::read_unaligned(s.add(n - 16) as *const u128);
            std::ptr::write_unaligned(dst as *mut u128, a);
            std::ptr::write_unaligned(dst.add(n - 16) as *mut u128, b);
            (a | b) & 0x8080_8080_8080_8080_8080_8080_8080_8080 == 0
        } else if n >= 8 {
            let a = std::ptr::read_unaligned(s as *const u64);
            let b = std::ptr::read_unaligned(s.add(n - 8) as *const u64);
            std::ptr::write_unaligned(dst as *mut u64, a);
            std::ptr::write_unaligned(dst.add(n - 8) as *mut u64, b);
            (a | b) & 0x8080_8080_8080_8080 == 0
        } else if n >= 4 {
            let a = std::ptr::read_unaligned(s as *const u32);
            let b = std::ptr::read_unaligned(s.add(n - 4) as *const u32);
            std::ptr::write_unaligned(dst as *mut u32, a);
            std::ptr::write_unaligned(dst.add(n - 4) as *mut u32, b);
            (a | b) & 0x8080_8080 == 0
        } else {
            let mut acc = 0u8;
            for i in 0..n {
                let c = *s.add(i);
                *dst.add(i) = c;
                acc |= c;
            }
            acc < 0x80
        }
    }
}

#[inline]
fn write_str_header(out: &mut Vec<u8>, len: usize) {
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn write_bin_header(out: &mut Vec<u8>, len: usize) {
    if len <= 0xff {
        out.extend_from_slice(&[0xc4, len as u8]);
    } else if len <= 0xffff {
        out.push(0xc5);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xc6);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Appends the header of an array of `len` values.
#[inline(always)]
pub fn write_array_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x90 | len as u8);
    } else if len <= 0xffff {
        out.push(0xdc);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Appends the header of a map of `len` key/value pairs.
#[inline(always)]
pub fn write_map_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0xde);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Why bytes could not be read as an item.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("truncated MessagePack value")]
    Truncated,
    /// A marker items never use (ext types, reserved `0xc1`).
    #[error("unsupported MessagePack type 0x{0:02x}")]
    Unsupported(u8),
    /// A map key that is neither an integer nor a string.
    #[error("unsupported map key type 0x{0:02x}")]
    BadKey(u8),
    /// A uint64 above PHP_INT_MAX.
    #[error("integer {0} is out of PHP's range")]
    IntOutOfRange(u64),
    /// Arrays nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Bytes left over after the value.
    #[error("{0} trailing bytes after the value")]
    Trailing(usize),
    /// Something else was expected at this place (frames and records).
    #[error("expected {0}")]
    Expected(&'static str),
}

/// Receives decoded values; the decoder drives it depth-first. Strings borrow from
/// the input (`'de`), so a builder may keep them while the input lives.
pub trait Build<'de> {
    /// A finished value.
    type Value;
    /// An array or map under construction.
    type Container;
    /// `null`.
    fn nil(&mut self) -> Self::Value;
    /// A bool.
    fn bool(&mut self, v: bool) -> Self::Value;
    /// An integer.
    fn int(&mut self, v: i64) -> Self::Value;
    /// A float.
    fn float(&mut self, v: f64) -> Self::Value;
    /// A string (`str` or `bin`).
    fn bytes(&mut self, v: &'de [u8]) -> Self::Value;
    /// Starts a list of `len` values.
    fn list(&mut self, len: usize) -> Self::Container;
    /// Starts a map of `len` pairs.
    fn map(&mut self, len: usize) -> Self::Container;
    /// Appends to a list.
    fn push(&mut self, c: &mut Self::Container, v: Self::Value);
    /// Inserts under an integer key.
    fn insert_int(&mut self, c: &mut Self::Container, k: i64, v: Self::Value);
    /// Inserts under a string key.
    fn insert_bytes(&mut self, c: &mut Self::Container, k: &'de [u8], v: Self::Value);
    /// Finishes a container.
    fn finish(&mut self, c: Self::Container) -> Self::Value;
}

// How `Reader::skip_value` reads a marker: 1 to 9 is a scalar of that many bytes
// in all; the others name a form; SLOW goes through `Reader::head` (longer
// strings and containers, uint64 and its range, markers items never use).
const SLOW: u8 = 0;
const FIXSTR: u8 = 0x40;
const STR8: u8 = 0x41;
const FIXMAP: u8 = 0x42;
const FIXARRAY: u8 = 0x43;

static SKIP: [u8; 256] = {
    let mut t = [SLOW; 256];
    let mut m = 0;
    while m < 256 {
        t[m] = match m as u8 {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 1,
            0xcc | 0xd0 => 2,
            0xcd | 0xd1 => 3,
            0xce | 0xd2 | 0xca => 5,
            0xd3 | 0xcb => 9,
            0xa0..=0xbf => FIXSTR,
            0xd9 | 0xc4 => STR8,
            0x80..=0x8f => FIXMAP,
            0x90..=0x9f => FIXARRAY,
            _ => SLOW,
        };
        m += 1;
    }
    t
};

/// Markers a map key may start with: integers and strings.
static KEY_MARKER: [bool; 256] = {
    let mut t = [false; 256];
    let mut m = 0;
    while m < 256 {
        t[m] = matches!(m as u8, 0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xcf | 0xd0..=0xd3 | 0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6);
        m += 1;
    }
    t
};

/// A cursor over MessagePack bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// The head of a value: a scalar, or a container and its length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Head<'a> {
    /// `null`.
    Nil,
    /// A bool.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (`str` or `bin`).
    Bytes(&'a [u8]),
    /// An array of this many values follows.
    List(usize),
    /// A map of this many pairs follows.
    Map(usize),
}

impl<'a> Reader<'a> {
    /// Reads from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not consumed yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn advance(&mut self, n: usize) -> Result<(), DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated);
        }
        self.pos += n;
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    fn len_then_bytes(&mut self, len: usize) -> Result<Head<'a>, DecodeError> {
        Ok(Head::Bytes(self.take(len)?))
    }

    /// Reads the next value's head (a container's children follow it).
    pub fn head(&mut self) -> Result<Head<'a>, DecodeError> {
        let m = self.u8()?;
        Ok(match m {
            0x00..=0x7f => Head::Int(m as i64),
            0x80..=0x8f => Head::Map((m & 0x0f) as usize),
            0x90..=0x9f => Head::List((m & 0x0f) as usize),
            0xa0..=0xbf => self.len_then_bytes((m & 0x1f) as usize)?,
            0xc0 => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 | 0xd9 => {
                let n = self.u8()? as usize;
                self.len_then_bytes(n)?
            }
            0xc5 | 0xda => {
                let n = u16::from_be_bytes(self.be()?) as usize;
                self.len_then_bytes(n)?
            }
            0xc6 | 0xdb => {
                let n = u32::from_be_bytes(self.be()?) as usize;
                self.len_then_bytes(n)?
            }
            0xca => Head::Float(f32::from_be_bytes(self.be()?) as f64),
            0xcb => Head::Float(f64::from_be_bytes(self.be()?)),
            0xcc => Head::Int(self.u8()? as i64),
            0xcd => Head::Int(u16::from_be_bytes(self.be()?) as i64),
            0xce => Head::Int(u32::from_be_bytes(self.be()?) as i64),
            0xcf => {
                let v = u64::from_be_bytes(self.be()?);
                Head::Int(i64::try_from(v).map_err(|_| DecodeError::IntOutOfRange(v))?)
            }
            0xd0 => Head::Int(i8::from_be_bytes(self.be()?) as i64),
            0xd1 => Head::Int(i16::from_be_bytes(self.be()?) as i64),
            0xd2 => Head::Int(i32::from_be_bytes(self.be()?) as i64),
            0xd3 => Head::Int(i64::from_be_bytes(self.be()?)),
            0xdc => Head::List(u16::from_be_bytes(self.be()?) as usize),
            0xdd => Head::List(u32::from_be_bytes(self.be()?) as usize),
            0xde => Head::Map(u16::from_be_bytes(self.be()?) as usize),
            0xdf => Head::Map(u32::from_be_bytes(self.be()?) as usize),
            0xe0..=0xff => Head::Int((m as i8) as i64),
            _ => return Err(DecodeError::Unsupported(m)),
        })
    }

    /// Reads an array header and returns its length.
    pub fn read_array_len(&mut self) -> Result<usize, DecodeError> {
        match self.head()? {
            Head::List(n) => Ok(n),
            _ => Err(DecodeError::Expected("an array")),
        }
    }

    /// Reads a map header and returns its length.
    pub fn read_map_len(&mut self) -> Result<usize, DecodeError> {
        match self.head()? {
            Head::Map(n) => Ok(n),
            _ => Err(DecodeError::Expected("a map")),
        }
    }

    /// Reads a string (`str` or `bin`).
    pub fn read_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        match self.head()? {
            Head::Bytes(b) => Ok(b),
            _ => Err(DecodeError::Expected("a string")),
        }
    }

    /// Reads an integer.
    pub fn read_int(&mut self) -> Result<i64, DecodeError> {
        match self.head()? {
            Head::Int(i) => Ok(i),
            _ => Err(DecodeError::Expected("an integer")),
        }
    }

    /// Reads a float (an integer is accepted too).
    pub fn read_f64(&mut self) -> Result<f64, DecodeError> {
        match self.head()? {
            Head::Float(f) => Ok(f),
            Head::Int(i) => Ok(i as f64),
            _ => Err(DecodeError::Expected("a number")),
        }
    }

    /// Skips one whole value and returns its bytes, checked the way [`Reader::decode`]
    /// checks it.
    pub fn skip_value(&mut self) -> Result<&'a [u8], DecodeError> {
        // The same checks as decoding into a builder that keeps nothing, in one
        // loop over the bytes: splitting a batch into its items reads every byte of
        // every item once, and a daemon does that for each item it is handed.
        let start = self.pos;
        // Values left to read in each open container (a map's keys count, so a
        // value read when its map's count is even is a key).
        // Left uninitialised: filling 512 levels would cost more than most items.
        let mut open = [const { std::mem::MaybeUninit::<(usize, bool)>::uninit() }; MAX_DEPTH];
        let mut depth = 0;
        // SAFETY (each `top`): levels below `depth` were written when opened.
        let top = |open: &mut [std::mem::MaybeUninit<(usize, bool)>], depth: usize| unsafe {
            &mut *open[depth - 1].as_mut_ptr()
        };
        loop {
            let is_key = depth > 0 && {
                let (left, map) = *top(&mut open, depth);
                map && left.is_multiple_of(2)
            };
            let m = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
            let kind = if is_key && !KEY_MARKER[m as usize] { SLOW } else { SKIP[m as usize] };
            let container = match kind {
                1..=9 => {
                    self.advance(kind as usize)?;
                    None
                }
                FIXSTR => {
                    self.advance(1 + (m & 0x1f) as usize)?;
                    None
                }
                STR8 => {
                    let len = *self.buf.get(self.pos + 1).ok_or(DecodeError::Truncated)?;
                    self.advance(2 + len as usize)?;
                    None
                }
                FIXMAP => {
                    self.pos += 1;
                    Some((2 * (m & 0x0f) as usize, true))
                }
                FIXARRAY => {
                    self.pos += 1;
                    Some(((m & 0x0f) as usize, false))
                }
                _ => match self.head()? {
                    Head::Int(_) | Head::Bytes(_) => None,
                    _ if is_key => return Err(DecodeError::BadKey(m)),
                    Head::List(n) => Some((n, false)),
                    Head::Map(n) => Some((n.saturating_mul(2), true)),
                    _ => None,
                },
            };
            if let Some((n, map)) = container {
                if depth + 1 > MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
                if n > self.remaining() {
                    return Err(DecodeError::Truncated);
                }
                if n > 0 {
                    open[depth].write((n, map));
                    depth += 1;
                    continue;
                }
            }
            // One value done: close every container it completes.
            loop {
                if depth == 0 {
                    return Ok(&self.buf[start..self.pos]);
                }
                let level = top(&mut open, depth);
                level.0 -= 1;
                if level.0 > 0 {
                    break;
                }
                depth -= 1;
            }
        }
    }

    /// Decodes one value into `b`.
    pub fn decode<B: Build<'a>>(&mut self, b: &mut B) -> Result<B::Value, DecodeError> {
        self.decode_at(b, 0)
    }

    /// A fixstr (short strings: most keys and values of a log record) read in place.
    #[inline(always)]
    fn fixstr(&mut self, m: u8) -> Option<&'a [u8]> {
        let n = (m & 0x1f) as usize;
        let s = self.buf.get(self.pos + 1..self.pos + 1 + n)?;
        self.pos += 1 + n;
        Some(s)
    }

    fn decode_at<B: Build<'a>>(&mut self, b: &mut B, depth: usize) -> Result<B::Value, DecodeError> {
        // The commonest markers first, without building a Head.
        if let Some(&m) = self.buf.get(self.pos) {
            if m < 0x80 {
                self.pos += 1;
                return Ok(b.int(m as i64));
            }
            if m & 0xe0 == 0xa0 {
                if let Some(s) = self.fixstr(m) {
                    return Ok(b.bytes(s));
                }
            }
        }
        Ok(match self.head()? {
            Head::Nil => b.nil(),
            Head::Bool(v) => b.bool(v),
            Head::Int(v) => b.int(v),
            Head::Float(v) => b.float(v),
            Head::Bytes(v) => b.bytes(v),
            Head::List(n) => {
                if depth + 1 > MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
                if n > self.remaining() {
                    return Err(DecodeError::Truncated);
                }
                let mut c = b.list(n);
                for _ in 0..n {
                    let v = self.decode_at(b, depth + 1)?;
                    b.push(&mut c, v);
                }
                b.finish(c)
            }
            Head::Map(n) => {
                if depth + 1 > MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
                if n.saturating_mul(2) > self.remaining() {
                    return Err(DecodeError::Truncated);
                }
                let mut c = b.map(n);
                for _ in 0..n {
                    let key_marker = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
                    if key_marker & 0xe0 == 0xa0 {
                        if let Some(k) = self.fixstr(key_marker) {
                            let v = self.decode_at(b, depth + 1)?;
                            b.insert_bytes(&mut c, k, v);
                            continue;
                        }
                    }
                    match self.head()? {
                        Head::Int(k) => {
                            let v = self.decode_at(b, depth + 1)?;
                            b.insert_int(&mut c, k, v);
                        }
                        Head::Bytes(k) => {
                            let v = self.decode_at(b, depth + 1)?;
                            b.insert_bytes(&mut c, k, v);
                        }
                        _ => return Err(DecodeError::BadKey(key_marker)),
                    }
                }
                b.finish(c)
            }
        })
    }
}

/// Decodes exactly one value from `buf` (no trailing bytes).
pub fn decode<'a, B: Build<'a>>(buf: &'a [u8], b: &mut B) -> Result<B::Value, DecodeError> {
    let mut r = Reader::new(buf);
    let v = r.decode(b)?;
    match r.remaining() {
        0 => Ok(v),
        n => Err(DecodeError::Trailing(n)),
    }
}

//! Word-aligned primitives: a bounds-checked body reader and the matching writers.
//!
//! All integers are little-endian; text is UTF-8 plus one NUL, zero-padded to 8 bytes; a blob is
//! a `u64` length, the bytes, and zero padding to 8 bytes (docs/wire-protocol.md §1).

use bytes::{BufMut, BytesMut};

use crate::error::{Error, Result};

/// Size of a protocol word in bytes.
pub const WORD: usize = 8;

/// Rounds `n` up to the next multiple of 8.
pub const fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// A cursor over a message body that never reads out of bounds.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading `buf` at offset 0.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Current offset in the body.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes the next `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::Truncated {
                what,
                offset: self.pos,
                needed: n,
                len: self.buf.len(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian two's complement `i64`.
    pub fn i64(&mut self, what: &'static str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// Reads an IEEE-754 binary64.
    pub fn f64(&mut self, what: &'static str) -> Result<f64> {
        Ok(f64::from_bits(self.u64(what)?))
    }

    /// Returns the next `u64` without consuming it, if 8 bytes remain.
    pub fn peek_u64(&self) -> Option<u64> {
        let b = self.buf.get(self.pos..self.pos + WORD)?;
        let mut a = [0u8; WORD];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }

    /// Reads a NUL-terminated, zero-padded UTF-8 text.
    pub fn text(&mut self, what: &'static str) -> Result<&'a str> {
        let start = self.pos;
        let rest = &self.buf[start..];
        let nul = rest.iter().position(|&b| b == 0).ok_or(Error::MissingNul {
            what,
            offset: start,
        })?;
        let text = std::str::from_utf8(&rest[..nul]).map_err(|_| Error::InvalidUtf8 {
            what,
            offset: start,
        })?;
        let total = pad8(nul + 1);
        let padded = self.bytes(total, what)?;
        check_zero(&padded[nul + 1..], start + nul + 1, what)?;
        Ok(text)
    }

    /// Reads a length-prefixed, zero-padded blob.
    pub fn blob(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let len = self.u64(what)?;
        let start = self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= self.remaining())
            .ok_or(Error::Truncated {
                what,
                offset: start,
                needed: usize::try_from(len).unwrap_or(usize::MAX),
                len: self.buf.len(),
            })?;
        let data = self.bytes(len, what)?;
        self.padding(len, what)?;
        Ok(data)
    }

    /// Skips the zero padding that follows `len` bytes of data.
    pub fn padding(&mut self, len: usize, what: &'static str) -> Result<()> {
        let start = self.pos;
        let pad = self.bytes(pad8(len) - len, what)?;
        check_zero(pad, start, what)
    }

    /// Skips `n` bytes whose content is ignored (for example Go's parameter-header padding).
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<()> {
        self.bytes(n, what).map(|_| ())
    }
}

fn check_zero(pad: &[u8], offset: usize, what: &'static str) -> Result<()> {
    match pad.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(i) => Err(Error::BadPadding {
            what,
            offset: offset + i,
        }),
    }
}

/// Writes a NUL-terminated text padded to a word boundary.
pub fn put_text(buf: &mut BytesMut, text: &str, what: &'static str) -> Result<()> {
    if text.as_bytes().contains(&0) {
        return Err(Error::InteriorNul { what });
    }
    buf.put_slice(text.as_bytes());
    put_zeros(buf, pad8(text.len() + 1) - text.len());
    Ok(())
}

/// Writes a length-prefixed blob padded to a word boundary.
pub fn put_blob(buf: &mut BytesMut, data: &[u8]) {
    buf.put_u64_le(data.len() as u64);
    buf.put_slice(data);
    put_zeros(buf, pad8(data.len()) - data.len());
}

/// Writes `n` zero bytes.
pub fn put_zeros(buf: &mut BytesMut, n: usize) {
    buf.put_bytes(0, n);
}

//! A bounds-checked reader over a byte slice that tells "need more input" apart from "corrupt",
//! so the same parsing code serves complete buffers and incremental input.

use crate::error::Error;
use crate::lzf;
use crate::num::i64_bytes;

/// Why a parse step stopped.
#[derive(Debug)]
pub(crate) enum PErr {
    /// The buffer ended; parsing can succeed once it holds at least this many bytes.
    Incomplete(usize),
    /// The data is invalid.
    Fail(Error),
}

impl From<Error> for PErr {
    fn from(e: Error) -> Self {
        PErr::Fail(e)
    }
}

/// Result of a parse step.
pub(crate) type PResult<T> = Result<T, PErr>;

/// A decoded length-or-encoding prefix.
pub(crate) enum Len {
    /// A plain length.
    Len(u64),
    /// A special string encoding (the low 6 bits of a `11xxxxxx` byte).
    Enc(u8),
}

/// Reads RDB primitives from `buf`, whose first byte is at absolute offset `base`.
pub(crate) struct Cursor<'a> {
    /// The bytes available.
    pub buf: &'a [u8],
    /// Position of the next byte to read.
    pub pos: usize,
    /// Absolute offset of `buf[0]` in the whole input.
    pub base: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8], base: u64) -> Cursor<'a> {
        Cursor { buf, pos: 0, base }
    }

    /// Bytes left after the position.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// A corruption error located at buffer position `at`.
    pub fn corrupt_at(&self, at: usize, reason: &'static str) -> PErr {
        PErr::Fail(Error::Corrupt {
            offset: self.base + at as u64,
            reason,
        })
    }

    /// An initial capacity for `n` claimed elements of at least `min_bytes` each, bounded by
    /// what the remaining input can hold.
    pub fn cap(&self, n: u64, min_bytes: usize) -> usize {
        let fit = self.remaining() / min_bytes.max(1);
        usize::try_from(n).map_or(fit, |n| n.min(fit))
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> PResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(PErr::Incomplete(self.pos.saturating_add(n)));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes the next `n` bytes, `n` as read from the input.
    pub fn take_len(&mut self, n: u64) -> PResult<&'a [u8]> {
        match usize::try_from(n) {
            Ok(n) => self.take(n),
            Err(_) => Err(PErr::Incomplete(usize::MAX)),
        }
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> PResult<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// One byte.
    pub fn u8(&mut self) -> PResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian signed 64-bit integer (millisecond times).
    pub fn i64_le(&mut self) -> PResult<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A length or a special string encoding.
    pub fn len_or_enc(&mut self) -> PResult<Len> {
        let at = self.pos;
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Len((b & 0x3F) as u64),
            1 => Len::Len((((b & 0x3F) as u64) << 8) | self.u8()? as u64),
            2 => match b {
                0x80 => Len::Len(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Len::Len(u64::from_be_bytes(self.array()?)),
                _ => return Err(self.corrupt_at(at, "unknown length encoding")),
            },
            _ => Len::Enc(b & 0x3F),
        })
    }

    /// A plain length.
    pub fn len(&mut self) -> PResult<u64> {
        let at = self.pos;
        match self.len_or_enc()? {
            Len::Len(n) => Ok(n),
            Len::Enc(_) => Err(self.corrupt_at(at, "string encoding where a length was expected")),
        }
    }

    /// An RDB string (raw, integer-encoded or LZF-compressed).
    pub fn string(&mut self) -> PResult<Vec<u8>> {
        let at = self.pos;
        match self.len_or_enc()? {
            Len::Len(n) => Ok(self.take_len(n)?.to_vec()),
            Len::Enc(0) => Ok(i64_bytes(self.u8()? as i8 as i64)),
            Len::Enc(1) => Ok(i64_bytes(i16::from_le_bytes(self.array()?) as i64)),
            Len::Enc(2) => Ok(i64_bytes(i32::from_le_bytes(self.array()?) as i64)),
            Len::Enc(3) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let data = self.take_len(clen)?;
                let ulen = usize::try_from(ulen)
                    .ok()
                    .filter(|&u| u <= data.len().saturating_mul(lzf::MAX_EXPANSION))
                    .ok_or_else(|| {
                        self.corrupt_at(at, "LZF string longer than its data can expand to")
                    })?;
                lzf::decompress(data, ulen)
                    .map_err(|_| self.corrupt_at(at, "invalid LZF compressed string"))
            }
            Len::Enc(_) => Err(self.corrupt_at(at, "unknown string encoding")),
        }
    }
}

//! Listpack: the compact sequence Redis 7 uses inside small hashes, sets, sorted sets, list nodes
//! and stream nodes (`uint32 total bytes, uint16 count, entries, 0xFF`; each entry is an
//! encoding, its data, and a back-length).

use crate::num::{canonical_i64, i64_bytes};

/// Size of the header (total bytes + element count).
const HEADER: usize = 6;

/// One decoded listpack element, borrowing string data from the listpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpItem<'a> {
    /// An integer-encoded element.
    Int(i64),
    /// A string element.
    Str(&'a [u8]),
}

impl LpItem<'_> {
    /// The element as Redis returns it: integers as their decimal text.
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            LpItem::Int(v) => i64_bytes(v),
            LpItem::Str(s) => s.to_vec(),
        }
    }

    /// The element as an integer (strings only if canonical decimal).
    pub fn as_int(self) -> Option<i64> {
        match self {
            LpItem::Int(v) => Some(v),
            LpItem::Str(s) => canonical_i64(s),
        }
    }
}

/// Number of bytes the back-length of an entry of `len` encoding+data bytes takes.
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Appends the back-length of an entry of `len` encoding+data bytes.
fn push_backlen(out: &mut Vec<u8>, len: usize) {
    let n = backlen_size(len);
    for i in (0..n).rev() {
        let group = ((len >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { group } else { group | 128 });
    }
}

/// Validates a whole listpack and returns its elements in order.
pub fn parse(lp: &[u8]) -> Result<Vec<LpItem<'_>>, &'static str> {
    if lp.len() < HEADER + 1 {
        return Err("listpack too short");
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err("listpack total size mismatch");
    }
    let count = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    let end = lp.len() - 1;
    if lp[end] != 0xFF {
        return Err("listpack not terminated");
    }
    let mut items = Vec::with_capacity(count.min((end - HEADER) / 2));
    let mut pos = HEADER;
    while pos < end {
        let b = lp[pos];
        let need = |n: usize| -> Result<&[u8], &'static str> {
            lp.get(pos + 1..pos + 1 + n)
                .filter(|_| pos + 1 + n <= end)
                .ok_or("listpack entry overruns")
        };
        let (item, size) = if b & 0x80 == 0 {
            (LpItem::Int((b & 0x7F) as i64), 1)
        } else if b & 0xC0 == 0x80 {
            let len = (b & 0x3F) as usize;
            (LpItem::Str(need(len)?), 1 + len)
        } else if b & 0xE0 == 0xC0 {
            let d = need(1)?;
            let u = (((b & 0x1F) as i64) << 8) | d[0] as i64;
            (LpItem::Int(if u >= 1 << 12 { u - (1 << 13) } else { u }), 2)
        } else if b & 0xF0 == 0xE0 {
            let d = need(1)?;
            let len = (((b & 0x0F) as usize) << 8) | d[0] as usize;
            let s = lp
                .get(pos + 2..pos + 2 + len)
                .filter(|_| pos + 2 + len <= end)
                .ok_or("listpack entry overruns")?;
            (LpItem::Str(s), 2 + len)
        } else {
            match b {
                0xF0 => {
                    let d = need(4)?;
                    let len = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize;
                    let s = pos
                        .checked_add(5 + len)
                        .filter(|&e| e <= end)
                        .map(|e| &lp[pos + 5..e])
                        .ok_or("listpack entry overruns")?;
                    (LpItem::Str(s), 5 + len)
                }
                0xF1 => {
                    let d = need(2)?;
                    (LpItem::Int(i16::from_le_bytes([d[0], d[1]]) as i64), 3)
                }
                0xF2 => {
                    let d = need(3)?;
                    let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
                    (LpItem::Int(v as i64), 4)
                }
                0xF3 => {
                    let d = need(4)?;
                    (
                        LpItem::Int(i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64),
                        5,
                    )
                }
                0xF4 => {
                    let d = need(8)?;
                    (
                        LpItem::Int(i64::from_le_bytes([
                            d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
                        ])),
                        9,
                    )
                }
                0xFF => return Err("listpack terminator before end"),
                _ => return Err("invalid listpack entry encoding"),
            }
        };
        let bl = backlen_size(size);
        let back = lp
            .get(pos + size..pos + size + bl)
            .filter(|_| pos + size + bl <= end)
            .ok_or("listpack entry overruns")?;
        let mut want = Vec::with_capacity(5);
        push_backlen(&mut want, size);
        if back != want.as_slice() {
            return Err("listpack entry back-length mismatch");
        }
        items.push(item);
        pos += size + bl;
    }
    if count != 65535 && count != items.len() {
        return Err("listpack element count mismatch");
    }
    Ok(items)
}

/// Builds a listpack the way Redis's `lpAppend` does.
#[derive(Debug, Clone)]
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// An empty listpack.
    pub fn new() -> Builder {
        Builder {
            buf: vec![0; HEADER],
            count: 0,
        }
    }

    /// Total size the listpack would have if finished now (header and terminator included).
    pub fn total_bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Number of elements appended.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends an element, integer-encoded when it is canonical decimal text (as Redis does).
    pub fn push(&mut self, s: &[u8]) {
        match canonical_i64(s) {
            Some(v) => self.push_int(v),
            None => self.push_str(s),
        }
    }

    /// Appends an integer element in its smallest encoding.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 { (1 << 13) + v } else { v } as u16;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push((u & 0xFF) as u8);
        } else if (-32768..=32767).contains(&v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8388608..=8388607).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        let size = self.buf.len() - start;
        push_backlen(&mut self.buf, size);
        self.count += 1;
    }

    /// Appends a string element (never integer-encoded).
    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xE0 | (len >> 8) as u8);
            self.buf.push((len & 0xFF) as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let size = self.buf.len() - start;
        push_backlen(&mut self.buf, size);
        self.count += 1;
    }

    /// Appends every element of another builder.
    pub fn append_builder(&mut self, other: &Builder) {
        self.buf.extend_from_slice(&other.buf[HEADER..]);
        self.count += other.count;
    }

    /// The finished listpack bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_examples() {
        // HSET h1 f1 v1 f2 22
        let lp = b"\x15\x00\x00\x00\x04\x00\x82f1\x03\x82v1\x03\x82f2\x03\x16\x01\xff";
        let items = parse(lp).unwrap();
        assert_eq!(
            items,
            vec![
                LpItem::Str(b"f1"),
                LpItem::Str(b"v1"),
                LpItem::Str(b"f2"),
                LpItem::Int(22)
            ]
        );
        let mut b = Builder::new();
        for s in [&b"f1"[..], b"v1", b"f2", b"22"] {
            b.push(s);
        }
        assert_eq!(b.finish(), lp.to_vec());
        // RPUSH l1 a b 1 1000
        let lp = b"\x12\x00\x00\x00\x04\x00\x81a\x02\x81b\x02\x01\x01\xc3\xe8\x02\xff";
        let items: Vec<Vec<u8>> = parse(lp)
            .unwrap()
            .into_iter()
            .map(LpItem::to_bytes)
            .collect();
        assert_eq!(
            items,
            vec![
                b"a".to_vec(),
                b"b".to_vec(),
                b"1".to_vec(),
                b"1000".to_vec()
            ]
        );
    }

    #[test]
    fn all_encodings_round_trip() {
        let ints = [
            0, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768, 8388607, -8388608,
            8388608,
        ];
        let more = [
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MAX,
            i64::MIN,
        ];
        let strs = [
            vec![],
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'w'; 4096],
            vec![b'v'; 20000],
        ];
        let mut b = Builder::new();
        for v in ints.iter().chain(more.iter()) {
            b.push_int(*v);
        }
        for s in &strs {
            b.push_str(s);
        }
        let lp = b.finish();
        let items = parse(&lp).unwrap();
        let mut want: Vec<LpItem> = ints
            .iter()
            .chain(more.iter())
            .map(|v| LpItem::Int(*v))
            .collect();
        want.extend(strs.iter().map(|s| LpItem::Str(s)));
        assert_eq!(items, want);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\x07\x00\x00\x00\x00\x00\xff").unwrap().is_empty());
        assert!(parse(b"\x07\x00\x00\x00\x01\x00\xff").is_err());
        assert!(parse(b"\x09\x00\x00\x00\x01\x00\x01\x02\xff").is_err());
        assert!(parse(b"\x09\x00\x00\x00\x01\x00\xf5\x01\xff").is_err());
    }
}

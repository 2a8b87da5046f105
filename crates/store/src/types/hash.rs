//! The hash value type: a compact listpack while small, a hash table once it outgrows the
//! `hash-max-listpack-*` limits (and never back, as in Redis).

use super::EncodingLimits;
use crate::dict::Dict;
use std::fmt;

/// Redis never grows a listpack past 1 GiB (`LISTPACK_MAX_SAFETY_SIZE`); such a hash converts.
pub const LISTPACK_MAX_SAFE_BYTES: usize = 1 << 30;

/// Bytes the varint length prefix of an `n`-byte entry takes.
fn prefix_len(mut n: usize) -> usize {
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes
}

/// Appends the LEB128 varint encoding of `n` to `out`.
fn write_prefix(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Decodes the entry starting at `pos`: the range of its bytes in `buf`.
fn read_entry(buf: &[u8], pos: usize) -> (usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = buf[i];
        i += 1;
        len |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (i, i + len)
}

/// Bytes of the entry count that heads a non-empty listpack buffer.
const HEADER: usize = 4;

/// A sequence of byte strings packed into one exactly-sized allocation: a little-endian `u32`
/// entry count, then each entry preceded by its length as a varint. The counterpart of Redis's
/// listpack; one boxed slice (not a `Vec`) keeps the owning value to 16 bytes, and resizing to
/// the exact length on every change keeps a small hash at about its payload size, as Redis's
/// listpack reallocs do. An empty listpack allocates nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Box<[u8]>,
}

impl Listpack {
    /// An empty listpack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries (strings, not pairs).
    pub fn len(&self) -> usize {
        match self.buf.get(..HEADER) {
            Some(h) => u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => 0,
        }
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the whole encoding (what Redis's listpack safety limit is checked against).
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Iterates over the entries in order.
    pub fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            buf: &self.buf,
            pos: HEADER,
        }
    }

    /// Runs `f` on the buffer as a vector (header included, created if empty), then stores it
    /// back at its exact length with the entry count adjusted by `delta`.
    fn edit(&mut self, delta: i64, f: impl FnOnce(&mut Vec<u8>)) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        if v.is_empty() {
            v.reserve_exact(HEADER);
            v.extend_from_slice(&[0; HEADER]);
        }
        f(&mut v);
        let count = u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as i64 + delta;
        if count == 0 {
            self.buf = Box::default();
            return;
        }
        v[..HEADER].copy_from_slice(&(count as u32).to_le_bytes());
        // Exact size: no realloc after a `reserve_exact` growth, a shrink after removals.
        self.buf = v.into_boxed_slice();
    }

    /// Appends entries.
    pub fn push_all(&mut self, items: &[&[u8]]) {
        let extra: usize = items.iter().map(|s| prefix_len(s.len()) + s.len()).sum();
        self.edit(items.len() as i64, |v| {
            v.reserve_exact(extra);
            for s in items {
                write_prefix(v, s.len());
                v.extend_from_slice(s);
            }
        });
    }

    /// Replaces the entry whose encoding spans `start..end` of the buffer with `s`.
    fn replace_at(&mut self, start: usize, end: usize, s: &[u8]) {
        let mut enc = Vec::with_capacity(prefix_len(s.len()) + s.len());
        write_prefix(&mut enc, s.len());
        enc.extend_from_slice(s);
        self.edit(0, |v| {
            let old = end - start;
            if enc.len() > old {
                v.reserve_exact(enc.len() - old);
            }
            v.splice(start..end, enc);
        });
    }

    /// Removes the bytes `start..end`, which hold `entries` whole entries.
    fn remove_range(&mut self, start: usize, end: usize, entries: usize) {
        self.edit(-(entries as i64), |v| {
            v.drain(start..end);
        });
    }
}

impl fmt::Debug for Listpack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// Iterator over a [`Listpack`]'s entries.
#[derive(Clone)]
pub struct ListpackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (start, end) = read_entry(self.buf, self.pos);
        self.pos = end;
        Some(&self.buf[start..end])
    }
}

/// Where a field sits in a listpack hash.
struct Slot {
    /// First byte of the field's encoding.
    field_start: usize,
    /// First byte of the value's encoding.
    value_start: usize,
    /// One past the value's last byte.
    value_end: usize,
}

impl Listpack {
    /// Finds `field` among the even (field) entries of a pair list.
    fn find_field(&self, field: &[u8]) -> Option<Slot> {
        let mut pos = HEADER;
        while pos < self.buf.len() {
            let (fs, fe) = read_entry(&self.buf, pos);
            let (_, ve) = read_entry(&self.buf, fe);
            if &self.buf[fs..fe] == field {
                return Some(Slot {
                    field_start: pos,
                    value_start: fe,
                    value_end: ve,
                });
            }
            pos = ve;
        }
        None
    }
}

/// The hash table of a large hash.
pub type HashTable = Dict<Box<[u8]>, Box<[u8]>>;

/// A hash value.
#[derive(Debug, Clone, PartialEq)]
pub enum Hash {
    /// Field/value pairs in insertion order in one buffer (OBJECT ENCODING `listpack`).
    Listpack(Listpack),
    /// A hash table from field to value (OBJECT ENCODING `hashtable`).
    Table(Box<HashTable>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Listpack::new())
    }
}

impl Hash {
    /// An empty hash in the compact encoding, as Redis's `createHashObject`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes used, the boxed enum included.
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<Hash>()
            + match self {
                Hash::Listpack(lp) => lp.bytes(),
                Hash::Table(d) => {
                    std::mem::size_of::<HashTable>()
                        + d.heap_bytes()
                        + d.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>()
                }
            }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.len() / 2,
            Hash::Table(d) => d.len(),
        }
    }

    /// True when the hash has no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(lp) => lp.find_field(field).map(|s| {
                let (vs, ve) = read_entry(&lp.buf, s.value_start);
                &lp.buf[vs..ve]
            }),
            Hash::Table(d) => d.get(field).map(|v| &v[..]),
        }
    }

    /// True if `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => lp.find_field(field).is_some(),
            Hash::Table(d) => d.contains_key(field),
        }
    }

    /// Sets `field` to `value`; true if the field is new. Converts to a hash table first when
    /// either string is longer than `hash-max-listpack-value` (or the listpack would pass its
    /// safety size), and after inserting when there are more than `hash-max-listpack-entries`
    /// fields, as Redis's `hashTypeSet` does.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &EncodingLimits) -> bool {
        if let Hash::Listpack(lp) = self {
            let max = limits.hash_max_listpack_value;
            if field.len() > max
                || value.len() > max
                || lp.bytes() + field.len() + value.len() > LISTPACK_MAX_SAFE_BYTES
            {
                self.convert_to_table();
            }
        }
        match self {
            Hash::Listpack(lp) => {
                if let Some(slot) = lp.find_field(field) {
                    lp.replace_at(slot.value_start, slot.value_end, value);
                    return false;
                }
                lp.push_all(&[field, value]);
                if lp.len() / 2 > limits.hash_max_listpack_entries {
                    self.convert_to_table();
                }
                true
            }
            Hash::Table(d) => {
                if let Some(v) = d.get_mut(field) {
                    *v = value.into();
                    return false;
                }
                d.insert(field.into(), value.into());
                true
            }
        }
    }

    /// Removes `field`; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => match lp.find_field(field) {
                Some(slot) => {
                    lp.remove_range(slot.field_start, slot.value_end, 2);
                    true
                }
                None => false,
            },
            Hash::Table(d) => d.remove(field).is_some(),
        }
    }

    /// Moves every pair into a hash table (Redis's `hashTypeConvert`), keeping insertion order
    /// as the order of insertion into the table.
    pub fn convert_to_table(&mut self) {
        if let Hash::Listpack(lp) = self {
            let mut d = HashTable::new();
            d.reserve(lp.len() / 2);
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                d.insert(f.into(), v.into());
            }
            *self = Hash::Table(Box::new(d));
        }
    }

    /// Iterates over (field, value) pairs: insertion order for a listpack, table order otherwise.
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            Hash::Listpack(lp) => HashIter::Listpack(lp.iter()),
            Hash::Table(d) => HashIter::Table(d.iter()),
        }
    }

    /// The pair at position `i` of a listpack hash (None for tables or out of range).
    pub fn listpack_pair(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(_) => self.iter().nth(i),
            Hash::Table(_) => None,
        }
    }

    /// A random pair: uniform over a listpack, Redis's fair sampling over a table.
    /// `rnd` is the caller's randomness; None only when empty.
    pub fn random_pair(&self, rnd: u64) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(lp) => {
                if lp.is_empty() {
                    return None;
                }
                let i = (rnd % (lp.len() / 2) as u64) as usize;
                self.listpack_pair(i)
            }
            Hash::Table(d) => d.random_entry(rnd).map(|(f, v)| (&f[..], &v[..])),
        }
    }

    /// One HSCAN step: calls `f` for the pairs the cursor covers and returns the next cursor.
    /// A listpack hash is returned whole in one call with cursor 0, as Redis does.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        match self {
            Hash::Listpack(_) => {
                for (k, v) in self.iter() {
                    f(k, v);
                }
                0
            }
            Hash::Table(d) => d.scan(cursor, |k, v| f(k, v)),
        }
    }
}

/// Iterator over a [`Hash`]'s (field, value) pairs.
pub enum HashIter<'a> {
    /// Over a listpack's alternating entries.
    Listpack(ListpackIter<'a>),
    /// Over a table.
    Table(crate::dict::Iter<'a, Box<[u8]>, Box<[u8]>>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => Some((it.next()?, it.next()?)),
            HashIter::Table(it) => it.next().map(|(f, v)| (&f[..], &v[..])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            ..EncodingLimits::default()
        }
    }

    #[test]
    fn varint_prefixes_round_trip() {
        for n in [0usize, 1, 127, 128, 300, 16_383, 16_384, 1 << 21, 1 << 30] {
            let mut buf = Vec::new();
            write_prefix(&mut buf, n);
            assert_eq!(buf.len(), prefix_len(n), "{n}");
            buf.resize(buf.len() + n, 0);
            assert_eq!(read_entry(&buf, 0), (prefix_len(n), prefix_len(n) + n));
        }
    }

    #[test]
    fn listpack_keeps_insertion_order_and_updates_in_place() {
        let l = EncodingLimits::default();
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", &l));
        assert!(h.set(b"b", b"", &l));
        assert!(h.set(b"", b"empty field", &l));
        assert!(!h.set(b"a", &[b'x'; 60], &l));
        assert_eq!(h.encoding(), "listpack");
        let pairs: Vec<_> = h.iter().collect();
        assert_eq!(
            pairs,
            vec![
                (&b"a"[..], &[b'x'; 60][..]),
                (b"b", b""),
                (b"", b"empty field")
            ]
        );
        assert_eq!(h.get(b"b"), Some(&b""[..]));
        assert_eq!(h.get(b"c"), None);
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.len(), 2);
        assert_eq!(h.listpack_pair(1), Some((&b""[..], &b"empty field"[..])));
        assert!(h.remove(b"a") && h.remove(b""));
        assert!(h.is_empty());
    }

    #[test]
    fn converts_at_the_configured_limits() {
        let l = limits(2, 4);
        let mut h = Hash::new();
        h.set(b"f1", b"1234", &l);
        h.set(b"f2", b"v", &l);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f3", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 3);
        assert_eq!(h.get(b"f1"), Some(&b"1234"[..]));
        // Long values convert even when they replace an existing field.
        let mut h = Hash::new();
        h.set(b"f", b"v", &l);
        assert!(!h.set(b"f", b"12345", &l));
        assert_eq!(h.encoding(), "hashtable");
        // Long fields too; and a table never goes back.
        let mut h = Hash::new();
        h.set(b"field", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
        h.remove(b"field");
        h.set(b"f", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
        // Zero entries allowed: the first insert converts.
        let mut h = Hash::new();
        h.set(b"f", b"v", &limits(0, 64));
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn small_hashes_stay_compact() {
        let l = EncodingLimits::default();
        let mut h = Hash::new();
        for i in 0..10 {
            h.set(
                format!("field:{i}").as_bytes(),
                format!("value:{i}").as_bytes(),
                &l,
            );
        }
        let Hash::Listpack(lp) = &h else {
            panic!("listpack")
        };
        assert_eq!(lp.bytes(), HEADER + 10 * (1 + 7 + 1 + 7));
        assert_eq!(
            std::mem::size_of::<Hash>(),
            16,
            "one boxed slice, niche-packed with the table"
        );
        assert_eq!(h.memory_usage(), 16 + 164);
        // Emptying frees the buffer.
        for i in 0..10 {
            h.remove(format!("field:{i}").as_bytes());
        }
        let Hash::Listpack(lp) = &h else {
            panic!("listpack")
        };
        assert_eq!(lp.bytes(), 0);
    }

    #[test]
    fn scan_and_random_cover_both_encodings() {
        let l = limits(4, 64);
        let mut h = Hash::new();
        for i in 0..3 {
            h.set(&[b'a' + i], b"v", &l);
        }
        let mut seen = Vec::new();
        assert_eq!(h.scan(123, |f, _| seen.push(f.to_vec())), 0);
        assert_eq!(seen, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        for r in 0..20 {
            assert!(h.random_pair(r).is_some());
        }
        for i in 0..100u8 {
            h.set(&[i, i], b"v", &l);
        }
        assert_eq!(h.encoding(), "hashtable");
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = h.scan(cursor, |f, _| {
                seen.insert(f.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 103);
        assert!(Hash::new().random_pair(1).is_none());
    }
}

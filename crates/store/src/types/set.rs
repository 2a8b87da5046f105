//! The set value type: an intset (sorted integers) while every member is an integer and there
//! are at most `set-max-intset-entries` of them, a hash table otherwise. Redis 7.0 has no
//! listpack sets.

use super::EncodingLimits;
use crate::dict::Dict;
use crate::num::parse_i64;
use std::borrow::Cow;
use std::fmt;

/// The byte width integers need: 2, 4 or 8 (Redis's `_intsetValueEncoding`).
fn width_for(v: i64) -> u8 {
    if i64::from(v as i16) == v {
        2
    } else if i64::from(v as i32) == v {
        4
    } else {
        8
    }
}

/// A sorted set of distinct integers stored at the narrowest width that holds them all: one
/// exactly-sized allocation holding the width byte (2, 4 or 8) and then the members in
/// little-endian order, like Redis's intset. A boxed slice keeps the owning value to 16 bytes;
/// a fresh intset allocates nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IntSet {
    buf: Box<[u8]>,
}

impl IntSet {
    /// An empty intset of 16-bit width.
    pub fn new() -> Self {
        Self::default()
    }

    /// The member bytes (after the width byte).
    fn data(&self) -> &[u8] {
        self.buf.get(1..).unwrap_or_default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.data().len() / self.width() as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.data().is_empty()
    }

    /// Bytes per element (2, 4 or 8). Only ever grows, as in Redis.
    pub fn width(&self) -> u8 {
        self.buf.first().copied().unwrap_or(2)
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// The member at sorted position `i`.
    pub fn get(&self, i: usize) -> i64 {
        let w = self.width() as usize;
        let b = &self.data()[i * w..i * w + w];
        match w {
            2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            _ => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        }
    }

    /// Appends the encoding of `v` at width `w` to `out`.
    fn encode(out: &mut Vec<u8>, v: i64, w: u8) {
        match w {
            2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }

    /// Binary search: Ok(position) if present, Err(insertion point) otherwise.
    fn search(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// True if `v` is a member.
    pub fn contains(&self, v: i64) -> bool {
        width_for(v) <= self.width() && self.search(v).is_ok()
    }

    /// Adds `v`; true if it was not there.
    pub fn insert(&mut self, v: i64) -> bool {
        let width = self.width();
        let need = width_for(v);
        if need > width {
            // A value that needs a wider encoding is below or above every member.
            let mut buf = Vec::with_capacity(1 + (self.len() + 1) * need as usize);
            buf.push(need);
            if v < 0 {
                Self::encode(&mut buf, v, need);
            }
            for i in 0..self.len() {
                Self::encode(&mut buf, self.get(i), need);
            }
            if v >= 0 {
                Self::encode(&mut buf, v, need);
            }
            self.buf = buf.into_boxed_slice();
            return true;
        }
        let Err(pos) = self.search(v) else {
            return false;
        };
        let w = width as usize;
        let mut buf = std::mem::take(&mut self.buf).into_vec();
        if buf.is_empty() {
            buf.push(width);
        }
        // Grow exactly, as Redis's intsetResize does.
        buf.reserve_exact(w);
        let mut enc = Vec::with_capacity(w);
        Self::encode(&mut enc, v, width);
        let at = 1 + pos * w;
        buf.splice(at..at, enc);
        self.buf = buf.into_boxed_slice();
        true
    }

    /// Removes `v`; true if it was there. The width never shrinks.
    pub fn remove(&mut self, v: i64) -> bool {
        if width_for(v) > self.width() {
            return false;
        }
        let Ok(pos) = self.search(v) else {
            return false;
        };
        let w = self.width() as usize;
        let mut buf = std::mem::take(&mut self.buf).into_vec();
        let at = 1 + pos * w;
        buf.drain(at..at + w);
        self.buf = buf.into_boxed_slice();
        true
    }

    /// Iterates in ascending order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = i64> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

impl fmt::Debug for IntSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One member as a set yields it: an integer from an intset, bytes from a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    /// A member of an intset.
    Int(i64),
    /// A member of a hash-table set.
    Str(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes (integers in decimal).
    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Member::Int(n) => Cow::Owned(n.to_string().into_bytes()),
            Member::Str(s) => Cow::Borrowed(s),
        }
    }

    /// The member as an owned boxed string, for storing elsewhere.
    pub fn to_boxed(&self) -> Box<[u8]> {
        match self {
            Member::Int(n) => n.to_string().into_bytes().into_boxed_slice(),
            Member::Str(s) => (*s).into(),
        }
    }
}

/// The hash table of a large set.
pub type SetTable = Dict<Box<[u8]>, ()>;

/// A set value.
#[derive(Debug, Clone, PartialEq)]
pub enum Set {
    /// Sorted integers (OBJECT ENCODING `intset`).
    Intset(IntSet),
    /// A hash table of members (OBJECT ENCODING `hashtable`).
    Table(Box<SetTable>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Intset(IntSet::new())
    }
}

impl Set {
    /// An empty intset-encoded set, as Redis's `createIntsetObject` (the STORE commands' target).
    pub fn new_intset() -> Self {
        Set::Intset(IntSet::new())
    }

    /// An empty hash-table set.
    pub fn new_table() -> Self {
        Set::Table(Box::default())
    }

    /// An empty set in the encoding Redis's `setTypeCreate` picks for a first member: an intset
    /// if it is an integer, a hash table otherwise.
    pub fn for_member(first: &[u8]) -> Self {
        if parse_i64(first).is_some() {
            Self::new_intset()
        } else {
            Self::new_table()
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes used, the boxed enum included.
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<Set>()
            + match self {
                Set::Intset(s) => s.bytes(),
                Set::Table(d) => {
                    std::mem::size_of::<SetTable>()
                        + d.heap_bytes()
                        + d.keys().map(|m| m.len()).sum::<usize>()
                }
            }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            Set::Intset(s) => s.len(),
            Set::Table(d) => d.len(),
        }
    }

    /// True when the set has no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Intset(s) => parse_i64(member).is_some_and(|v| s.contains(v)),
            Set::Table(d) => d.contains_key(member),
        }
    }

    /// Adds `member`; true if it is new. An intset turns into a table when given a non-integer
    /// or when it grows past `set-max-intset-entries`, as Redis's `setTypeAdd`.
    pub fn add(&mut self, member: &[u8], limits: &EncodingLimits) -> bool {
        match self {
            Set::Intset(s) => match parse_i64(member) {
                Some(v) => {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > limits.set_max_intset_entries {
                        self.convert_to_table();
                    }
                    true
                }
                None => {
                    self.convert_to_table();
                    self.add(member, limits)
                }
            },
            Set::Table(d) => {
                let (_, inserted) = d.get_or_insert_with(member, || (member.into(), ()));
                inserted
            }
        }
    }

    /// True if a member yielded by another set is here (integers compare without text when
    /// this is an intset).
    pub fn contains_member(&self, m: &Member<'_>) -> bool {
        match (self, m) {
            (Set::Intset(s), Member::Int(v)) => s.contains(*v),
            (set, m) => set.contains(&m.to_bytes()),
        }
    }

    /// Adds a member yielded by another set, as [`Set::add`] would.
    pub fn add_member(&mut self, m: &Member<'_>, limits: &EncodingLimits) -> bool {
        match (&mut *self, m) {
            (Set::Intset(s), Member::Int(v)) => {
                if !s.insert(*v) {
                    return false;
                }
                if s.len() > limits.set_max_intset_entries {
                    self.convert_to_table();
                }
                true
            }
            (set, m) => set.add(&m.to_bytes(), limits),
        }
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Intset(s) => parse_i64(member).is_some_and(|v| s.remove(v)),
            Set::Table(d) => d.remove(member).is_some(),
        }
    }

    /// Removes a member that this set yielded.
    pub fn remove_member(&mut self, member: &Member<'_>) -> bool {
        match (self, member) {
            (Set::Intset(s), Member::Int(v)) => s.remove(*v),
            (this, m) => {
                let bytes = m.to_bytes().into_owned();
                this.remove(&bytes)
            }
        }
    }

    /// Moves every member into a hash table (Redis's `setTypeConvert`).
    pub fn convert_to_table(&mut self) {
        if let Set::Intset(s) = self {
            let mut d = SetTable::new();
            d.reserve(s.len());
            for v in s.iter() {
                d.insert(v.to_string().into_bytes().into_boxed_slice(), ());
            }
            *self = Set::Table(Box::new(d));
        }
    }

    /// Iterates over the members: ascending for an intset, table order otherwise.
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            Set::Intset(s) => SetIter::Intset(s, 0),
            Set::Table(d) => SetIter::Table(d.iter()),
        }
    }

    /// A random member: uniform over an intset, Redis's fair sampling over a table.
    /// `rnd` is the caller's randomness; None only when empty.
    pub fn random_member(&self, rnd: u64) -> Option<Member<'_>> {
        match self {
            Set::Intset(s) => {
                if s.is_empty() {
                    return None;
                }
                Some(Member::Int(s.get((rnd % s.len() as u64) as usize)))
            }
            Set::Table(d) => d.random_entry(rnd).map(|(m, _)| Member::Str(&m[..])),
        }
    }

    /// One SSCAN step: calls `f` for the members the cursor covers and returns the next cursor.
    /// An intset is returned whole in one call with cursor 0, as Redis does.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(Member<'a>)) -> u64 {
        match self {
            Set::Intset(s) => {
                for v in s.iter() {
                    f(Member::Int(v));
                }
                0
            }
            Set::Table(d) => d.scan(cursor, |m, _| f(Member::Str(&m[..]))),
        }
    }
}

/// Iterator over a [`Set`]'s members.
pub enum SetIter<'a> {
    /// Over an intset, by position.
    Intset(&'a IntSet, usize),
    /// Over a table.
    Table(crate::dict::Iter<'a, Box<[u8]>, ()>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            SetIter::Intset(s, i) => {
                if *i >= s.len() {
                    return None;
                }
                *i += 1;
                Some(Member::Int(s.get(*i - 1)))
            }
            SetIter::Table(it) => it.next().map(|(m, _)| Member::Str(&m[..])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn intset_widens_and_stays_sorted() {
        let mut s = IntSet::new();
        assert!(s.insert(5));
        assert!(s.insert(-3));
        assert!(!s.insert(5));
        assert_eq!(s.width(), 2);
        assert!(s.insert(100_000));
        assert_eq!(s.width(), 4);
        assert!(s.insert(i64::MIN));
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 5, 100_000]);
        assert!(s.remove(i64::MIN));
        assert_eq!(s.width(), 8, "never narrows");
        assert!(!s.remove(7));
        assert!(s.contains(100_000) && !s.contains(i64::MAX));
    }

    #[test]
    fn encodings_follow_set_type_create_and_limits() {
        let l = EncodingLimits {
            set_max_intset_entries: 3,
            ..EncodingLimits::default()
        };
        assert_eq!(Set::for_member(b"12").encoding(), "intset");
        assert_eq!(Set::for_member(b"012").encoding(), "hashtable");
        let mut s = Set::for_member(b"1");
        for m in [&b"1"[..], b"2", b"3"] {
            assert!(s.add(m, &l));
        }
        assert!(!s.add(b"3", &l));
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"4", &l));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"4") && !s.contains(b"04"));
        // A non-integer converts at once; removing it does not convert back.
        let mut s = Set::new_intset();
        s.add(b"1", &l);
        assert!(s.add(b"x", &l));
        assert_eq!(s.encoding(), "hashtable");
        s.remove(b"x");
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"1") && !s.contains(b"+1"));
    }

    #[test]
    fn random_and_scan() {
        let l = EncodingLimits::default();
        let mut s = Set::new_intset();
        assert!(s.random_member(3).is_none());
        for i in 0..10 {
            s.add(i.to_string().as_bytes(), &l);
        }
        let mut all = Vec::new();
        assert_eq!(s.scan(99, |m| all.push(m)), 0);
        assert_eq!(all.len(), 10);
        assert!(matches!(s.random_member(12345), Some(Member::Int(0..=9))));
        s.add(b"x", &l);
        let m = s.random_member(7).unwrap().to_boxed();
        assert!(s.contains(&m));
        assert!(s.remove_member(&Member::Str(&m)));
    }

    #[test]
    fn small_sets_stay_compact() {
        let l = EncodingLimits::default();
        let mut s = Set::new_intset();
        for i in 0..10 {
            s.add(i.to_string().as_bytes(), &l);
        }
        assert_eq!(
            std::mem::size_of::<Set>(),
            16,
            "one boxed slice, niche-packed with the table"
        );
        assert_eq!(s.memory_usage(), 16 + 1 + 20);
    }

    proptest! {
        #[test]
        fn intset_matches_btreeset(ops in proptest::collection::vec((any::<bool>(), any::<i64>().prop_map(|v| v >> (v as u64 % 64))), 1..200)) {
            let mut s = IntSet::new();
            let mut model = BTreeSet::new();
            for (add, v) in ops {
                if add {
                    prop_assert_eq!(s.insert(v), model.insert(v));
                } else {
                    prop_assert_eq!(s.remove(v), model.remove(&v));
                }
                prop_assert_eq!(s.len(), model.len());
            }
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
        }
    }
}

//! The list value: a quicklist of listpacks, laid out node for node as Redis 7.0 lays it out.
//!
//! Every node is a real listpack (Redis's byte format), and nodes are filled, split and merged
//! with Redis's rules for `list-max-listpack-size`. So memory use matches the real server, OBJECT
//! ENCODING says `quicklist` as in 7.0 (the listpack encoding for small lists came with 7.2),
//! MEMORY USAGE can be computed as Redis computes it, and RDB/DUMP can write the nodes as they are.
//! `list-compress-depth` (LZF of interior nodes) is not applied: nodes stay uncompressed.

use std::collections::VecDeque;

/// Byte budgets of a node for `list-max-listpack-size` -1 .. -5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// A node limited by entry count never grows past this many bytes (unless it holds one element).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis's over-estimate of the bytes one new entry adds to a listpack.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// What Redis 7.0 subtracts from the sum of two node sizes when deciding whether they may merge.
const MERGE_OVERLAP: usize = 11;
/// The largest positive fill Redis accepts (16-bit field).
const FILL_MAX: i64 = (1 << 15) - 1;
/// The smallest (largest byte class) fill Redis accepts.
const FILL_MIN: i64 = -5;
/// Nodes MEMORY USAGE looks at before extrapolating (Redis's default SAMPLES).
const MEMORY_SAMPLES: usize = 5;
/// `sizeof(quicklist)` and `sizeof(quicklistNode)` on 64-bit Redis.
const QUICKLIST_SIZE: usize = 40;
const QUICKLIST_NODE_SIZE: usize = 40;

/// One element as stored: listpacks keep canonical integers as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    /// An element whose bytes are the canonical decimal form of this integer.
    Int(i64),
    /// Any other element.
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The element's bytes.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Int(n) => n.to_string().into_bytes(),
            Elem::Str(s) => s.to_vec(),
        }
    }

    /// True if the element's bytes are those of `needle`.
    #[inline]
    pub fn matches(self, needle: &Needle) -> bool {
        match self {
            Elem::Int(n) => needle.int == Some(n),
            Elem::Str(s) => needle.int.is_none() && s == needle.bytes,
        }
    }
}

/// A value to compare list elements with, parsed once (as Redis's `lpCompare` would).
#[derive(Debug, Clone, Copy)]
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    /// Prepares `bytes` for comparisons.
    pub fn new(bytes: &'a [u8]) -> Self {
        Needle {
            bytes,
            int: as_int(bytes),
        }
    }
}

/// The integer a listpack would store `ele` as, if it is a canonical decimal integer.
#[inline]
fn as_int(ele: &[u8]) -> Option<i64> {
    if ele.is_empty() || ele.len() > 20 {
        return None;
    }
    crate::num::parse_i64(ele)
}

/// Listpack primitives over a `Vec<u8>` holding exactly one listpack.
mod lp {
    use super::Elem;

    /// Header: total bytes (u32 LE) and element count (u16 LE, 65535 = unknown).
    pub const HDR: usize = 6;
    /// The terminator byte.
    pub const EOF: u8 = 0xFF;

    /// An empty listpack.
    pub fn empty() -> Vec<u8> {
        vec![7, 0, 0, 0, 0, 0, EOF]
    }

    /// Number of entries.
    #[inline]
    pub fn count(lp: &[u8]) -> usize {
        u16::from_le_bytes([lp[4], lp[5]]) as usize
    }

    /// Rewrites the header for the current length and `count` entries.
    #[inline]
    pub fn set_header(lp: &mut [u8], count: usize) {
        let total = lp.len() as u32;
        lp[0..4].copy_from_slice(&total.to_le_bytes());
        let n = if count >= 65535 {
            65535u16
        } else {
            count as u16
        };
        lp[4..6].copy_from_slice(&n.to_le_bytes());
    }

    /// Bytes used by the back-length field of an entry of `len` bytes.
    #[inline]
    pub fn backlen_size(len: usize) -> usize {
        if len <= 127 {
            1
        } else if len < 16383 {
            2
        } else if len < 2_097_151 {
            3
        } else if len < 268_435_455 {
            4
        } else {
            5
        }
    }

    /// Writes the back-length of an entry of `len` bytes; returns how many bytes it took.
    fn encode_backlen(len: usize, out: &mut [u8; 5]) -> usize {
        let n = backlen_size(len);
        // The first byte holds the highest 7 bits without the continuation flag; the last byte,
        // read first when walking backwards, holds the lowest 7 bits.
        for (i, slot) in out.iter_mut().take(n).enumerate() {
            let shift = 7 * (n - 1 - i);
            let bits = ((len >> shift) & 127) as u8;
            *slot = if i == 0 { bits } else { bits | 128 };
        }
        n
    }

    /// The encoding header of `ele` (and, for integers, its whole payload).
    pub struct Encoded {
        head: [u8; 9],
        head_len: usize,
        /// True when the element's bytes follow the header (string encodings).
        string: bool,
    }

    /// Chooses the encoding Redis's `lpEncodeGetType` chooses for `ele`.
    pub fn encode(ele: &[u8]) -> Encoded {
        let mut head = [0u8; 9];
        if let Some(v) = super::as_int(ele) {
            let head_len = if (0..=127).contains(&v) {
                head[0] = v as u8;
                1
            } else if (-4096..=4095).contains(&v) {
                let u = if v < 0 { (1 << 13) + v } else { v } as u16;
                head[0] = (u >> 8) as u8 | 0xC0;
                head[1] = u as u8;
                2
            } else if (-32768..=32767).contains(&v) {
                head[0] = 0xF1;
                head[1..3].copy_from_slice(&(v as i16).to_le_bytes());
                3
            } else if (-8_388_608..=8_388_607).contains(&v) {
                head[0] = 0xF2;
                head[1..4].copy_from_slice(&(v as i32).to_le_bytes()[..3]);
                4
            } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
                head[0] = 0xF3;
                head[1..5].copy_from_slice(&(v as i32).to_le_bytes());
                5
            } else {
                head[0] = 0xF4;
                head[1..9].copy_from_slice(&v.to_le_bytes());
                9
            };
            return Encoded {
                head,
                head_len,
                string: false,
            };
        }
        let len = ele.len();
        let head_len = if len < 64 {
            head[0] = 0x80 | len as u8;
            1
        } else if len < 4096 {
            head[0] = 0xE0 | (len >> 8) as u8;
            head[1] = len as u8;
            2
        } else {
            head[0] = 0xF0;
            head[1..5].copy_from_slice(&(len as u32).to_le_bytes());
            5
        };
        Encoded {
            head,
            head_len,
            string: true,
        }
    }

    /// Bytes the entry for `ele` takes, back-length included.
    pub fn entry_size(ele: &[u8], enc: &Encoded) -> usize {
        let body = enc.head_len + if enc.string { ele.len() } else { 0 };
        body + backlen_size(body)
    }

    /// Writes the entry for `ele` into `dst`, which is exactly `entry_size` bytes long.
    fn write_entry(dst: &mut [u8], ele: &[u8], enc: &Encoded) {
        let mut at = enc.head_len;
        dst[..at].copy_from_slice(&enc.head[..enc.head_len]);
        if enc.string {
            dst[at..at + ele.len()].copy_from_slice(ele);
            at += ele.len();
        }
        let mut bl = [0u8; 5];
        let n = encode_backlen(at, &mut bl);
        dst[at..at + n].copy_from_slice(&bl[..n]);
    }

    /// Grows `lp` to hold `extra` more bytes. Capacity follows jemalloc's size classes, as
    /// Redis's exact reallocations effectively do, so a full node wastes what Redis's wastes.
    fn reserve(lp: &mut Vec<u8>, extra: usize) {
        let need = lp.len() + extra;
        if need > lp.capacity() {
            let target = crate::cmd::keys::jemalloc_size(need).max(need);
            lp.reserve_exact(target - lp.len());
        }
    }

    /// Gives memory back after deletions once less than half the buffer is used.
    fn maybe_shrink(lp: &mut Vec<u8>) {
        if lp.capacity() > 64 && lp.len() * 2 < lp.capacity() {
            let target = crate::cmd::keys::jemalloc_size(lp.len()).max(lp.len());
            lp.shrink_to(target);
        }
    }

    /// Inserts `ele` as a new entry starting at byte `pos` (an entry start or the terminator).
    pub fn insert(lp: &mut Vec<u8>, pos: usize, ele: &[u8]) {
        let enc = encode(ele);
        let size = entry_size(ele, &enc);
        reserve(lp, size);
        let old_len = lp.len();
        lp.resize(old_len + size, 0);
        lp.copy_within(pos..old_len, pos + size);
        write_entry(&mut lp[pos..pos + size], ele, &enc);
        let n = count(lp) + 1;
        set_header(lp, n);
    }

    /// Replaces the entry at `pos` with `ele`.
    pub fn replace(lp: &mut Vec<u8>, pos: usize, ele: &[u8]) {
        let old = entry_len(lp, pos);
        let enc = encode(ele);
        let size = entry_size(ele, &enc);
        if size > old {
            reserve(lp, size - old);
        }
        let n = count(lp);
        let old_len = lp.len();
        if size > old {
            lp.resize(old_len + size - old, 0);
            lp.copy_within(pos + old..old_len, pos + size);
        } else if size < old {
            lp.copy_within(pos + old..old_len, pos + size);
            lp.truncate(old_len - (old - size));
        }
        write_entry(&mut lp[pos..pos + size], ele, &enc);
        set_header(lp, n);
        maybe_shrink(lp);
    }

    /// Removes the `removed` entries occupying bytes `start..end`.
    pub fn delete(lp: &mut Vec<u8>, start: usize, end: usize, removed: usize) {
        let n = count(lp) - removed;
        lp.drain(start..end);
        set_header(lp, n);
        maybe_shrink(lp);
    }

    /// Decodes the entry at `pos`: the element and the length of encoding plus data.
    #[inline]
    pub fn decode(lp: &[u8], pos: usize) -> (Elem<'_>, usize) {
        let b = lp[pos];
        if b & 0x80 == 0 {
            return (Elem::Int(b as i64), 1);
        }
        if b & 0xC0 == 0x80 {
            let len = (b & 0x3F) as usize;
            return (Elem::Str(&lp[pos + 1..pos + 1 + len]), 1 + len);
        }
        if b & 0xE0 == 0xC0 {
            let u = (((b & 0x1F) as i64) << 8) | lp[pos + 1] as i64;
            let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
            return (Elem::Int(v), 2);
        }
        if b & 0xF0 == 0xE0 {
            let len = (((b & 0x0F) as usize) << 8) | lp[pos + 1] as usize;
            return (Elem::Str(&lp[pos + 2..pos + 2 + len]), 2 + len);
        }
        match b {
            0xF0 => {
                let len = u32::from_le_bytes([lp[pos + 1], lp[pos + 2], lp[pos + 3], lp[pos + 4]])
                    as usize;
                (Elem::Str(&lp[pos + 5..pos + 5 + len]), 5 + len)
            }
            0xF1 => (
                Elem::Int(i16::from_le_bytes([lp[pos + 1], lp[pos + 2]]) as i64),
                3,
            ),
            0xF2 => {
                let u = lp[pos + 1] as i32 | (lp[pos + 2] as i32) << 8 | (lp[pos + 3] as i32) << 16;
                // Sign-extend the 24-bit value.
                (Elem::Int(((u << 8) >> 8) as i64), 4)
            }
            0xF3 => {
                let v = i32::from_le_bytes([lp[pos + 1], lp[pos + 2], lp[pos + 3], lp[pos + 4]]);
                (Elem::Int(v as i64), 5)
            }
            _ => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&lp[pos + 1..pos + 9]);
                (Elem::Int(i64::from_le_bytes(raw)), 9)
            }
        }
    }

    /// Total bytes of the entry at `pos`, back-length included.
    #[inline]
    pub fn entry_len(lp: &[u8], pos: usize) -> usize {
        let body = decode(lp, pos).1;
        body + backlen_size(body)
    }

    /// Start of the entry that ends right before byte `end`, or None at the first entry.
    #[inline]
    pub fn prev(lp: &[u8], end: usize) -> Option<usize> {
        if end <= HDR {
            return None;
        }
        let mut i = end - 1;
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let b = lp[i];
            len |= ((b & 127) as usize) << shift;
            if b & 128 == 0 {
                break;
            }
            shift += 7;
            i -= 1;
        }
        Some(i - len)
    }

    /// Start of entry number `index` (which must exist), walking from the nearer end.
    pub fn seek(lp: &[u8], index: usize) -> usize {
        let n = count(lp);
        if index <= n / 2 {
            let mut pos = HDR;
            for _ in 0..index {
                pos += entry_len(lp, pos);
            }
            pos
        } else {
            let mut end = lp.len() - 1;
            for _ in index..n {
                end = prev(lp, end).expect("entry exists");
            }
            end
        }
    }

    /// Checks that `lp` is a well-formed listpack (as loaded from an RDB); returns its count.
    pub fn validate(lp: &[u8]) -> Option<usize> {
        if lp.len() < HDR + 1 || lp[lp.len() - 1] != EOF {
            return None;
        }
        if u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize != lp.len() {
            return None;
        }
        let end = lp.len() - 1;
        let mut pos = HDR;
        let mut n = 0usize;
        while pos < end {
            let body = entry_body_len_checked(lp, pos, end)?;
            let bl = backlen_size(body);
            if pos + body + bl > end {
                return None;
            }
            let mut raw = [0u8; 5];
            let written = encode_backlen(body, &mut raw);
            if lp[pos + body..pos + body + bl] != raw[..written] {
                return None;
            }
            pos += body + bl;
            n += 1;
        }
        let declared = count(lp);
        if (declared != 65535 && declared != n) || n >= 65535 {
            return None;
        }
        Some(n)
    }

    /// Like `decode(..).1` but never reads past `end`.
    fn entry_body_len_checked(lp: &[u8], pos: usize, end: usize) -> Option<usize> {
        let b = lp[pos];
        let need = |n: usize| if pos + n <= end { Some(()) } else { None };
        let len = if b & 0x80 == 0 {
            1
        } else if b & 0xC0 == 0x80 {
            1 + (b & 0x3F) as usize
        } else if b & 0xE0 == 0xC0 {
            2
        } else if b & 0xF0 == 0xE0 {
            need(2)?;
            2 + ((((b & 0x0F) as usize) << 8) | lp[pos + 1] as usize)
        } else {
            match b {
                0xF0 => {
                    need(5)?;
                    5 + u32::from_le_bytes([lp[pos + 1], lp[pos + 2], lp[pos + 3], lp[pos + 4]])
                        as usize
                }
                0xF1 => 3,
                0xF2 => 4,
                0xF3 => 5,
                0xF4 => 9,
                _ => return None,
            }
        };
        need(len)?;
        Some(len)
    }
}

/// A list: a deque of listpack nodes, none of them empty.
#[derive(Clone)]
pub struct List {
    nodes: VecDeque<Vec<u8>>,
    len: usize,
    fill: i32,
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Lists are equal when they hold the same elements, however their nodes are cut.
impl PartialEq for List {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Default for List {
    fn default() -> Self {
        List::new(-2)
    }
}

/// Redis's `_quicklistNodeSizeMeetsOptimizationRequirement`: within a negative fill's byte class.
#[inline]
fn within_size_class(size: usize, fill: i32) -> bool {
    if fill >= 0 {
        return false;
    }
    match SIZE_LEVELS.get((-fill - 1) as usize) {
        Some(&limit) => size <= limit,
        None => false,
    }
}

/// Redis's `_quicklistNodeAllowInsert`: may `node` take one more element of `size` bytes?
#[inline]
fn allow_insert(node: Option<&Vec<u8>>, fill: i32, size: usize) -> bool {
    let Some(node) = node else { return false };
    let new_size = node.len() + size + SIZE_ESTIMATE_OVERHEAD;
    if within_size_class(new_size, fill) {
        true
    } else if new_size > SIZE_SAFETY_LIMIT {
        false
    } else {
        (lp::count(node) as i64) < fill as i64
    }
}

/// Redis's `_quicklistNodeAllowMerge`: may two neighbouring nodes become one?
fn allow_merge(a: Option<&Vec<u8>>, b: Option<&Vec<u8>>, fill: i32) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    let merged = (a.len() + b.len()).saturating_sub(MERGE_OVERLAP);
    if within_size_class(merged, fill) {
        true
    } else if merged > SIZE_SAFETY_LIMIT {
        false
    } else {
        (lp::count(a) + lp::count(b)) as i64 <= fill as i64
    }
}

/// A listpack holding just `ele`.
fn node_with(ele: &[u8]) -> Vec<u8> {
    let mut node = lp::empty();
    lp::insert(&mut node, lp::HDR, ele);
    node
}

impl List {
    /// An empty list whose nodes follow `list-max-listpack-size` = `fill` (clamped as Redis does).
    pub fn new(fill: i64) -> List {
        List {
            nodes: VecDeque::with_capacity(1),
            len: 0,
            fill: fill.clamp(FILL_MIN, FILL_MAX) as i32,
        }
    }

    /// A list holding `items` in order.
    pub fn from_elements<I, T>(fill: i64, items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut list = List::new(fill);
        for item in items {
            list.push_back(item.as_ref());
        }
        list
    }

    /// Rebuilds a list from listpack nodes (as an RDB stores them); None if one is malformed.
    /// Empty listpacks are skipped, as Redis skips them when loading.
    pub fn from_listpacks(fill: i64, nodes: Vec<Vec<u8>>) -> Option<List> {
        let mut list = List::new(fill);
        for node in nodes {
            let n = lp::validate(&node)?;
            if n == 0 {
                continue;
            }
            let mut node = node;
            lp::set_header(&mut node, n);
            list.len += n;
            list.nodes.push_back(node);
        }
        Some(list)
    }

    /// The nodes' listpacks, head first (what RDB type 18, `QUICKLIST_2`, stores).
    pub fn listpacks(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.nodes.iter().map(|n| n.as_slice())
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the list holds no element (never stored in a database).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fill (`list-max-listpack-size`) fixed when the list was created.
    pub fn fill(&self) -> i64 {
        self.fill as i64
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Adds `ele` at the head (Redis's `quicklistPushHead`).
    pub fn push_front(&mut self, ele: &[u8]) {
        if allow_insert(self.nodes.front(), self.fill, ele.len()) {
            let head = self.nodes.front_mut().expect("checked");
            lp::insert(head, lp::HDR, ele);
        } else {
            self.nodes.push_front(node_with(ele));
        }
        self.len += 1;
    }

    /// Adds `ele` at the tail (Redis's `quicklistPushTail`).
    pub fn push_back(&mut self, ele: &[u8]) {
        if allow_insert(self.nodes.back(), self.fill, ele.len()) {
            let tail = self.nodes.back_mut().expect("checked");
            let end = tail.len() - 1;
            lp::insert(tail, end, ele);
        } else {
            self.nodes.push_back(node_with(ele));
        }
        self.len += 1;
    }

    /// Removes and returns the head element.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let (elem, body) = lp::decode(node, lp::HDR);
        let value = elem.to_vec();
        if lp::count(node) == 1 {
            self.nodes.pop_front();
        } else {
            let end = lp::HDR + body + lp::backlen_size(body);
            lp::delete(node, lp::HDR, end, 1);
        }
        self.len -= 1;
        Some(value)
    }

    /// Removes and returns the tail element.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let end = node.len() - 1;
        let pos = lp::prev(node, end).expect("nodes are never empty");
        let value = lp::decode(node, pos).0.to_vec();
        if lp::count(node) == 1 {
            self.nodes.pop_back();
        } else {
            lp::delete(node, pos, end, 1);
        }
        self.len -= 1;
        Some(value)
    }

    /// Node number and offset inside it of element `index` (< len), seeking from the nearer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        debug_assert!(index < self.len);
        if index <= (self.len - 1) / 2 {
            let mut acc = 0;
            for (i, node) in self.nodes.iter().enumerate() {
                let n = lp::count(node);
                if acc + n > index {
                    return (i, index - acc);
                }
                acc += n;
            }
        } else {
            let mut acc = self.len;
            for (i, node) in self.nodes.iter().enumerate().rev() {
                let n = lp::count(node);
                acc -= n;
                if acc <= index {
                    return (i, index - acc);
                }
            }
        }
        unreachable!("index below len is in some node")
    }

    /// The element at `index` (0 = head), if it exists.
    pub fn get(&self, index: usize) -> Option<Elem<'_>> {
        if index >= self.len {
            return None;
        }
        let (node, offset) = self.locate(index);
        let lp = &self.nodes[node];
        Some(lp::decode(lp, lp::seek(lp, offset)).0)
    }

    /// Replaces the element at `index` (Redis's `quicklistReplaceAtIndex`); false if out of range.
    pub fn set(&mut self, index: usize, ele: &[u8]) -> bool {
        if index >= self.len {
            return false;
        }
        let (node, offset) = self.locate(index);
        let lp = &mut self.nodes[node];
        let pos = lp::seek(lp, offset);
        lp::replace(lp, pos, ele);
        true
    }

    /// Elements from the head.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Elements from `index` towards the tail.
    pub fn iter_from(&self, index: usize) -> Iter<'_> {
        if index >= self.len {
            return Iter {
                list: self,
                node: 0,
                pos: 0,
                remaining: 0,
            };
        }
        let (node, offset) = self.locate(index);
        let pos = lp::seek(&self.nodes[node], offset);
        Iter {
            list: self,
            node,
            pos,
            remaining: self.len - index,
        }
    }

    /// Elements from `index` towards the head.
    pub fn iter_rev_from(&self, index: usize) -> RevIter<'_> {
        if index >= self.len {
            return RevIter {
                list: self,
                node: 0,
                end: 0,
                remaining: 0,
            };
        }
        let (node, offset) = self.locate(index);
        let lp = &self.nodes[node];
        let start = lp::seek(lp, offset);
        RevIter {
            list: self,
            node,
            end: start + lp::entry_len(lp, start),
            remaining: index + 1,
        }
    }

    /// Elements from the tail.
    pub fn iter_rev(&self) -> RevIter<'_> {
        self.iter_rev_from(self.len.saturating_sub(1))
    }

    /// Removes `count` elements from `start` on (Redis's `quicklistDelRange`: no node merging).
    pub fn remove_range(&mut self, start: usize, count: usize) {
        if start >= self.len || count == 0 {
            return;
        }
        let mut left = count.min(self.len - start);
        let (mut node, mut offset) = self.locate(start);
        self.len -= left;
        while left > 0 {
            let lp = &mut self.nodes[node];
            let n = lp::count(lp);
            let del = left.min(n - offset);
            if del == n {
                self.nodes.remove(node);
            } else {
                let from = lp::seek(lp, offset);
                let mut to = from;
                for _ in 0..del {
                    to += lp::entry_len(lp, to);
                }
                lp::delete(lp, from, to, del);
                node += 1;
            }
            left -= del;
            offset = 0;
        }
    }

    /// Removes up to `limit` elements equal to `needle` (0 = all), scanning from the head or
    /// from the tail as LREM does; returns how many were removed.
    pub fn remove_matching(&mut self, needle: &Needle, limit: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let node_order: Vec<usize> = if from_tail {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        let mut emptied = Vec::new();
        'nodes: for i in node_order {
            let lp = &mut self.nodes[i];
            if from_tail {
                let mut end = lp.len() - 1;
                while let Some(pos) = lp::prev(lp, end) {
                    if lp::decode(lp, pos).0.matches(needle) {
                        lp::delete(lp, pos, end, 1);
                        removed += 1;
                        if removed == limit {
                            if lp::count(lp) == 0 {
                                emptied.push(i);
                            }
                            break 'nodes;
                        }
                    }
                    end = pos;
                }
            } else {
                let mut pos = lp::HDR;
                while lp[pos] != lp::EOF {
                    let (elem, body) = lp::decode(lp, pos);
                    let size = body + lp::backlen_size(body);
                    if elem.matches(needle) {
                        lp::delete(lp, pos, pos + size, 1);
                        removed += 1;
                        if removed == limit {
                            if lp::count(lp) == 0 {
                                emptied.push(i);
                            }
                            break 'nodes;
                        }
                    } else {
                        pos += size;
                    }
                }
            }
            if lp::count(lp) == 0 {
                emptied.push(i);
            }
        }
        emptied.sort_unstable();
        for i in emptied.into_iter().rev() {
            self.nodes.remove(i);
        }
        self.len -= removed;
        removed
    }

    /// Inserts `ele` before or after the first element equal to `pivot` (LINSERT); false if the
    /// pivot is not found.
    pub fn insert_at_pivot(&mut self, pivot: &Needle, ele: &[u8], after: bool) -> bool {
        let mut found = None;
        'search: for (i, lp) in self.nodes.iter().enumerate() {
            let mut pos = lp::HDR;
            let mut offset = 0;
            while lp[pos] != lp::EOF {
                let (elem, body) = lp::decode(lp, pos);
                if elem.matches(pivot) {
                    found = Some((i, offset, pos));
                    break 'search;
                }
                pos += body + lp::backlen_size(body);
                offset += 1;
            }
        }
        let Some((node, offset, pos)) = found else {
            return false;
        };
        self.insert_next_to(node, offset, pos, ele, after);
        true
    }

    /// Redis's `_quicklistInsert`: puts `ele` next to entry `offset` (at byte `pos`) of `node`,
    /// using a neighbour, a new node or a split as Redis would.
    fn insert_next_to(&mut self, node: usize, offset: usize, pos: usize, ele: &[u8], after: bool) {
        let fill = self.fill;
        let size = ele.len();
        let count = lp::count(&self.nodes[node]);
        let full = !allow_insert(Some(&self.nodes[node]), fill, size);
        let at_tail = after && offset == count - 1;
        let at_head = !after && offset == 0;
        let avail_next = at_tail && allow_insert(self.nodes.get(node + 1), fill, size);
        let avail_prev = at_head && node > 0 && allow_insert(self.nodes.get(node - 1), fill, size);
        self.len += 1;
        if !full {
            let lp = &mut self.nodes[node];
            let at = if after {
                pos + lp::entry_len(lp, pos)
            } else {
                pos
            };
            lp::insert(lp, at, ele);
        } else if at_tail && avail_next {
            lp::insert(&mut self.nodes[node + 1], lp::HDR, ele);
        } else if at_head && avail_prev {
            let prev = &mut self.nodes[node - 1];
            let end = prev.len() - 1;
            lp::insert(prev, end, ele);
        } else if at_tail || at_head {
            let at = if after { node + 1 } else { node };
            self.nodes.insert(at, node_with(ele));
        } else {
            // Split: with `after`, the node keeps [0, offset] and the new node takes the rest;
            // otherwise the node keeps [offset, end] and the new node takes what precedes it.
            let lp = &mut self.nodes[node];
            let mut split_at = pos;
            let mut moved = offset;
            if after {
                split_at += lp::entry_len(lp, pos);
                moved = count - offset - 1;
            }
            let mut new_node = lp::empty();
            if after {
                new_node.splice(lp::HDR..lp::HDR, lp[split_at..lp.len() - 1].iter().copied());
                lp::set_header(&mut new_node, moved);
                let end = lp.len() - 1;
                lp::delete(lp, split_at, end, moved);
                lp::insert(&mut new_node, lp::HDR, ele);
                self.nodes.insert(node + 1, new_node);
                self.merge_around(node);
            } else {
                new_node.splice(lp::HDR..lp::HDR, lp[lp::HDR..split_at].iter().copied());
                lp::set_header(&mut new_node, moved);
                lp::delete(lp, lp::HDR, split_at, moved);
                let end = new_node.len() - 1;
                lp::insert(&mut new_node, end, ele);
                self.nodes.insert(node, new_node);
                self.merge_around(node + 1);
            }
        }
    }

    /// Appends node `at + 1`'s entries to node `at` and drops it (Redis's `lpMerge`).
    fn merge_pair(&mut self, at: usize) {
        let right = self.nodes.remove(at + 1).expect("merge needs a right node");
        let left = &mut self.nodes[at];
        let n = lp::count(left) + lp::count(&right);
        let end = left.len() - 1;
        left.splice(end..end, right[lp::HDR..right.len() - 1].iter().copied());
        lp::set_header(left, n);
    }

    /// Redis's `_quicklistMergeNodes`: after a split, tries to merge the nodes around `center`.
    fn merge_around(&mut self, mut center: usize) {
        let fill = self.fill;
        if center >= 2 && allow_merge(self.nodes.get(center - 1), self.nodes.get(center - 2), fill)
        {
            self.merge_pair(center - 2);
            center -= 1;
        }
        if allow_merge(self.nodes.get(center + 1), self.nodes.get(center + 2), fill) {
            self.merge_pair(center + 1);
        }
        let target = if center >= 1
            && allow_merge(self.nodes.get(center), self.nodes.get(center - 1), fill)
        {
            self.merge_pair(center - 1);
            center - 1
        } else {
            center
        };
        if allow_merge(self.nodes.get(target), self.nodes.get(target + 1), fill) {
            self.merge_pair(target);
        }
    }

    /// The encoding OBJECT ENCODING reports: always `quicklist` in Redis 7.0.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// MEMORY USAGE's figure for the list as Redis computes it, without the object header: the
    /// quicklist, plus nodes and their listpack allocations sampled over the first five nodes.
    pub fn memory_usage(&self) -> usize {
        let mut sampled = 0usize;
        let mut samples = 0usize;
        for node in self.nodes.iter().take(MEMORY_SAMPLES) {
            sampled += QUICKLIST_NODE_SIZE + crate::cmd::keys::jemalloc_size(node.len());
            samples += 1;
        }
        if samples == 0 {
            return QUICKLIST_SIZE;
        }
        QUICKLIST_SIZE + (sampled as f64 / samples as f64 * self.nodes.len() as f64) as usize
    }
}

/// Forward iterator over a list's elements.
pub struct Iter<'a> {
    list: &'a List,
    node: usize,
    pos: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    #[inline]
    fn next(&mut self) -> Option<Elem<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let mut lp = &self.list.nodes[self.node];
        if lp[self.pos] == lp::EOF {
            self.node += 1;
            self.pos = lp::HDR;
            lp = &self.list.nodes[self.node];
        }
        let (elem, body) = lp::decode(lp, self.pos);
        self.pos += body + lp::backlen_size(body);
        self.remaining -= 1;
        Some(elem)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Backward iterator over a list's elements.
pub struct RevIter<'a> {
    list: &'a List,
    node: usize,
    /// Byte just past the next entry to return.
    end: usize,
    remaining: usize,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = Elem<'a>;

    #[inline]
    fn next(&mut self) -> Option<Elem<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let mut lp = &self.list.nodes[self.node];
        if self.end <= lp::HDR {
            self.node -= 1;
            lp = &self.list.nodes[self.node];
            self.end = lp.len() - 1;
        }
        let pos = lp::prev(lp, self.end).expect("entry before end");
        self.end = pos;
        self.remaining -= 1;
        Some(lp::decode(lp, pos).0)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for RevIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(list: &List) -> Vec<String> {
        list.iter()
            .map(|e| String::from_utf8(e.to_vec()).unwrap())
            .collect()
    }

    /// (bytes, count) of every node, as a DUMP of the real server shows them.
    fn layout(list: &List) -> Vec<(usize, usize)> {
        list.listpacks()
            .map(|lp| (lp.len(), lp::count(lp)))
            .collect()
    }

    #[test]
    fn listpack_encodings_match_redis_bytes() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"a", &[0x81, b'a', 2]),
            (b"0", &[0x00, 1]),
            (b"127", &[0x7F, 1]),
            (b"128", &[0xC0, 0x80, 2]),
            (b"-1", &[0xDF, 0xFF, 2]),
            (b"-4096", &[0xD0, 0x00, 2]),
            (b"4096", &[0xF1, 0x00, 0x10, 3]),
            (b"-32769", &[0xF2, 0xFF, 0x7F, 0xFF, 4]),
            (b"8388608", &[0xF3, 0x00, 0x00, 0x80, 0x00, 5]),
            (b"2147483648", &[0xF4, 0, 0, 0, 0x80, 0, 0, 0, 0, 9]),
            (b"007", &[0x83, b'0', b'0', b'7', 4]),
            (b"-0", &[0x82, b'-', b'0', 3]),
        ];
        for (ele, bytes) in cases {
            let node = node_with(ele);
            assert_eq!(
                &node[lp::HDR..node.len() - 1],
                *bytes,
                "{:?}",
                String::from_utf8_lossy(ele)
            );
            assert_eq!(lp::decode(&node, lp::HDR).0.to_vec(), ele.to_vec());
            assert_eq!(lp::validate(&node), Some(1));
        }
        // Long strings: 12-bit and 32-bit length headers and multi-byte back-lengths.
        for len in [63usize, 64, 127, 200, 4095, 4096, 20000] {
            let ele = vec![b'x'; len];
            let node = node_with(&ele);
            assert_eq!(lp::validate(&node), Some(1));
            assert_eq!(lp::decode(&node, lp::HDR).0.to_vec(), ele);
            assert_eq!(lp::prev(&node, node.len() - 1), Some(lp::HDR));
        }
        for v in [
            i64::MIN,
            i64::MAX,
            -8_388_608,
            8_388_607,
            -4097,
            4095,
            -4096,
            12345678901,
        ] {
            let s = v.to_string();
            let node = node_with(s.as_bytes());
            assert_eq!(lp::decode(&node, lp::HDR).0, Elem::Int(v));
        }
    }

    #[test]
    fn nodes_fill_like_redis_for_the_default_size_class() {
        // Observed on 7.0.15: 2000 RPUSH of "abcdefgh" make nodes of 817, 817 and 366 entries.
        let list = List::from_elements(-2, std::iter::repeat_n(b"abcdefgh", 2000));
        assert_eq!(layout(&list), vec![(8177, 817), (8177, 817), (3667, 366)]);
        // And 200 elements of 100 bytes: 79, 79, 42.
        let big = vec![b'a'; 100];
        let list = List::from_elements(-2, std::iter::repeat_n(&big, 200));
        assert_eq!(layout(&list), vec![(8144, 79), (8144, 79), (4333, 42)]);
    }

    #[test]
    fn count_fill_limits_entries_per_node() {
        let list = List::from_elements(3, ["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(
            layout(&list).iter().map(|l| l.1).collect::<Vec<_>>(),
            vec![3, 3, 1]
        );
        let mut list = List::new(3);
        for x in ["a", "b", "c", "d"] {
            list.push_front(x.as_bytes());
        }
        assert_eq!(items(&list), ["d", "c", "b", "a"]);
        assert_eq!(
            layout(&list).iter().map(|l| l.1).collect::<Vec<_>>(),
            vec![1, 3]
        );
    }

    #[test]
    fn push_pop_index_and_iterate_across_nodes() {
        let mut list = List::new(4);
        for i in 0..50 {
            list.push_back(i.to_string().as_bytes());
            list.push_front(format!("f{i}").as_bytes());
        }
        assert_eq!(list.len(), 100);
        let all = items(&list);
        for (i, want) in all.iter().enumerate() {
            assert_eq!(&list.get(i).unwrap().to_vec(), want.as_bytes());
            let fwd: Vec<String> = list
                .iter_from(i)
                .map(|e| String::from_utf8(e.to_vec()).unwrap())
                .collect();
            assert_eq!(fwd, all[i..]);
            let back: Vec<String> = list
                .iter_rev_from(i)
                .map(|e| String::from_utf8(e.to_vec()).unwrap())
                .collect();
            let mut want_back = all[..=i].to_vec();
            want_back.reverse();
            assert_eq!(back, want_back);
        }
        assert_eq!(list.pop_front().unwrap(), b"f49");
        assert_eq!(list.pop_back().unwrap(), b"49");
        assert!(list.set(0, b"head"));
        assert!(!list.set(98, b"x"));
        assert_eq!(list.get(0), Some(Elem::Str(b"head")));
        while list.pop_back().is_some() {}
        assert!(list.is_empty());
        assert_eq!(list.node_count(), 0);
    }

    #[test]
    fn remove_range_and_matching_drop_empty_nodes() {
        let mut list = List::from_elements(2, ["a", "b", "a", "c", "a", "d", "a"]);
        assert_eq!(list.remove_matching(&Needle::new(b"a"), 2, true), 2);
        assert_eq!(items(&list), ["a", "b", "a", "c", "d"]);
        assert_eq!(
            layout(&list).len(),
            3,
            "the tail node that held only an a is gone"
        );
        assert_eq!(list.remove_matching(&Needle::new(b"a"), 0, false), 2);
        assert_eq!(items(&list), ["b", "c", "d"]);
        assert_eq!(layout(&list), vec![(10, 1), (10, 1), (10, 1)]);
        let mut list = List::from_elements(3, (0..20).map(|i| i.to_string()));
        list.remove_range(2, 10);
        assert_eq!(
            items(&list),
            ["0", "1", "12", "13", "14", "15", "16", "17", "18", "19"]
        );
        assert_eq!(list.len(), 10);
        list.remove_range(0, 100);
        assert!(list.is_empty() && list.node_count() == 0);
        let mut ints = List::from_elements(-2, ["1", "01", "1", "x"]);
        assert_eq!(ints.remove_matching(&Needle::new(b"1"), 0, false), 2);
        assert_eq!(items(&ints), ["01", "x"]);
    }

    #[test]
    fn linsert_splits_full_nodes_like_redis() {
        // Observed on 7.0.15: 2000 x "abcdefgh", LSET -5 to 9000 bytes, LINSERT before it a
        // 300-byte element: the last node splits into (3921 bytes, 362) and (9054, 5)...
        let mut list = List::from_elements(-2, std::iter::repeat_n(b"abcdefgh", 2000));
        assert!(list.set(5, &[b'x'; 5000]));
        assert!(list.set(1995, &[b'x'; 9000]));
        assert_eq!(layout(&list), vec![(13174, 817), (8177, 817), (12664, 366)]);
        assert!(list.insert_at_pivot(&Needle::new(&[b'x'; 9000]), &[b'y'; 300], false));
        assert_eq!(
            layout(&list),
            vec![(13174, 817), (8177, 817), (3921, 362), (9054, 5)]
        );
        assert_eq!(list.len(), 2001);
        assert_eq!(list.get(1995).unwrap().to_vec(), vec![b'y'; 300]);
        assert!(!list.insert_at_pivot(&Needle::new(b"nope"), b"z", true));
    }

    #[test]
    fn from_listpacks_validates() {
        let list = List::from_elements(-2, ["a", "1", "bb"]);
        let nodes: Vec<Vec<u8>> = list.listpacks().map(|l| l.to_vec()).collect();
        let back = List::from_listpacks(-2, nodes.clone()).unwrap();
        assert_eq!(back, list);
        let mut bad = nodes[0].clone();
        let n = bad.len();
        bad[n - 2] ^= 0x40;
        assert!(List::from_listpacks(-2, vec![bad]).is_none());
        assert!(List::from_listpacks(-2, vec![vec![7, 0, 0, 0, 0, 0]]).is_none());
        assert!(List::from_listpacks(-2, vec![lp::empty()])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn memory_usage_follows_redis_formula() {
        // Redis 7.0.15 reports 144 for `RPUSH l a` (16 robj + 32 key sds and dict entry).
        let list = List::from_elements(-2, ["a"]);
        assert_eq!(list.memory_usage() + 16 + 8 + 24, 144);
        let list = List::from_elements(-2, std::iter::repeat_n(b"abcdefgh", 2000));
        assert_eq!(list.memory_usage() + 16 + 8 + 24, 20688);
    }
}

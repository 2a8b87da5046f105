//! The sorted-set value, in Redis's two encodings.
//!
//! * `listpack`: one exactly-sized byte buffer of (member, score) entries kept sorted by
//!   score, then member bytes, with integral scores stored as compact integers ([`Listpack`]).
//!   Small sets live here; lookups by member and by rank are linear, as in Redis's listpack.
//! * `skiplist`: a member -> score [`Dict`] plus a skiplist with spans (Pugh's skiplist with
//!   per-link rank counts, as Redis's `zskiplist`), so that insert, delete, rank and
//!   rank -> element are O(log n) and range walks are O(log n + m).
//!
//! A set starts compact and converts to the skiplist when it would exceed
//! `zset-max-listpack-entries` elements or hold a member longer than `zset-max-listpack-value`
//! bytes ([`ZSet::insert`]); it never converts back on its own. The STORE commands build their
//! result whole and pick the encoding from its final size ([`ZSet::from_sorted`]), as Redis's
//! `zsetConvertToListpackIfNeeded`.
//!
//! Ranks are 0-based everywhere in this module. Scores are never NaN (callers reject NaN), so
//! the (score, member) order is total.

use crate::dict::Dict;
use crate::types::EncodingLimits;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// Levels a skiplist node may have (Redis's `ZSKIPLIST_MAXLEVEL`).
const MAX_LEVEL: usize = 32;
/// Chance, out of 65536, that a node gets one more level (Redis's `ZSKIPLIST_P` = 0.25).
const LEVEL_P: u64 = 0x4000;
/// The "no node" link.
const NIL: u32 = u32::MAX;
/// Arena index of the header node, which holds no element.
const HEAD: u32 = 0;

/// The (score, member) order of a sorted set.
#[inline]
pub fn cmp_entry(score_a: f64, member_a: &[u8], score_b: f64, member_b: &[u8]) -> Ordering {
    match score_a.partial_cmp(&score_b) {
        Some(Ordering::Equal) | None => member_a.cmp(member_b),
        Some(o) => o,
    }
}

// ---------------------------------------------------------------------------------------------
// The compact encoding
// ---------------------------------------------------------------------------------------------

/// Scores below this tag are small integers stored in the tag byte itself, biased by
/// [`SMALL_BIAS`] (so -16..=223 take one byte).
const TAG_INT: u8 = 0xF0;
/// Bias of the one-byte small integers.
const SMALL_BIAS: i64 = 16;
/// Tags `TAG_INT + n` for `n` in 1..=7 prefix an `n`-byte little-endian two's complement
/// integer; this tag prefixes the 8 bytes of an `f64` (little-endian).
const TAG_F64: u8 = 0xF8;
/// Integral scores up to this magnitude round-trip exactly through an `i64`.
const MAX_INT_SCORE: f64 = 9_007_199_254_740_992.0; // 2^53

/// The integer a score is stored as, when it is integral and exactly representable. Like
/// Redis's listpack (which stores such a score as an integer), -0 becomes 0; every other
/// score survives exactly.
#[inline]
fn int_score(score: f64) -> Option<i64> {
    // `as` saturates, so only an integral score in range converts back to itself (and this
    // needs no call to `trunc`, which baseline x86-64 lacks as an instruction).
    let v = score as i64;
    (v as f64 == score && v.unsigned_abs() <= MAX_INT_SCORE as u64).then_some(v)
}

/// Bytes `v` takes as a sign-extended little-endian integer (1..=7 for |v| <= 2^53).
#[inline]
fn int_width(v: i64) -> usize {
    let bits =
        64 - if v < 0 {
            v.leading_ones()
        } else {
            v.leading_zeros()
        } + 1;
    (bits as usize).div_ceil(8)
}

/// Bytes a score takes in the compact encoding.
#[inline]
fn score_len(score: f64) -> usize {
    match int_score(score) {
        Some(v) if (0..i64::from(TAG_INT)).contains(&(v + SMALL_BIAS)) => 1,
        Some(v) => 1 + int_width(v),
        None => 9,
    }
}

/// Writes `score` at the start of `out` (which holds at least [`score_len`] bytes); returns
/// the bytes written.
#[inline]
fn write_score(out: &mut [u8], score: f64) -> usize {
    match int_score(score) {
        Some(v) if (0..i64::from(TAG_INT)).contains(&(v + SMALL_BIAS)) => {
            out[0] = (v + SMALL_BIAS) as u8;
            1
        }
        Some(v) => {
            let n = int_width(v);
            out[0] = TAG_INT + n as u8;
            out[1..=n].copy_from_slice(&v.to_le_bytes()[..n]);
            1 + n
        }
        None => {
            out[0] = TAG_F64;
            out[1..9].copy_from_slice(&score.to_le_bytes());
            9
        }
    }
}

/// Decodes the score at `pos`: the score and the position after it.
#[inline(always)]
fn read_score(buf: &[u8], pos: usize) -> (f64, usize) {
    let tag = buf[pos];
    if tag < TAG_INT {
        return ((i64::from(tag) - SMALL_BIAS) as f64, pos + 1);
    }
    if tag == TAG_F64 {
        let b: [u8; 8] = buf[pos + 1..pos + 9].try_into().expect("8 bytes");
        return (f64::from_le_bytes(b), pos + 9);
    }
    let n = usize::from(tag - TAG_INT);
    // Load 8 bytes when the buffer has them (the shift drops the ones past the integer).
    let raw = match buf.get(pos + 1..pos + 9) {
        Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
        None => buf[pos + 1..pos + 1 + n]
            .iter()
            .rev()
            .fold(0, |v, &b| (v << 8) | u64::from(b)),
    };
    let shift = 64 - 8 * n as u32;
    ((((raw << shift) as i64) >> shift) as f64, pos + 1 + n)
}

/// Bytes the LEB128 varint of `n` takes.
#[inline]
fn varint_len(mut n: usize) -> usize {
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes
}

/// Writes the LEB128 varint of `n` at the start of `out`; returns the bytes written.
#[inline]
fn write_varint(out: &mut [u8], mut n: usize) -> usize {
    let mut i = 0;
    while n >= 0x80 {
        out[i] = (n as u8 & 0x7f) | 0x80;
        n >>= 7;
        i += 1;
    }
    out[i] = n as u8;
    i + 1
}

/// Decodes the varint at `pos`: its value and the position after it.
#[inline]
fn read_varint(buf: &[u8], pos: usize) -> (usize, usize) {
    let b = buf[pos];
    if b < 0x80 {
        return (usize::from(b), pos + 1);
    }
    let mut n = usize::from(b & 0x7f);
    let mut shift = 7;
    let mut i = pos + 1;
    loop {
        let b = buf[i];
        i += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            return (n, i);
        }
        shift += 7;
    }
}

/// Bytes one (member, score) entry takes.
#[inline]
fn entry_len(member: &[u8], score: f64) -> usize {
    let rest = score_len(score) + member.len();
    varint_len(rest) + rest
}

/// Writes an entry at the start of `out` (exactly [`entry_len`] bytes); returns its length.
#[inline]
fn write_entry(out: &mut [u8], member: &[u8], score: f64) -> usize {
    let rest = score_len(score) + member.len();
    let mut n = write_varint(out, rest);
    n += write_score(&mut out[n..], score);
    out[n..n + member.len()].copy_from_slice(member);
    n + member.len()
}

/// Decodes the entry at `pos`: member, score and the position of the next entry.
#[inline(always)]
fn read_entry(buf: &[u8], pos: usize) -> (&[u8], f64, usize) {
    let (rest, start) = read_len(buf, pos);
    let next = start + rest;
    let (score, member) = read_score(buf, start);
    (&buf[member..next], score, next)
}

/// [`read_varint`] for an entry length, inlining the one-byte case (entries up to 127 bytes).
#[inline(always)]
fn read_len(buf: &[u8], pos: usize) -> (usize, usize) {
    let b = buf[pos];
    if b < 0x80 {
        (usize::from(b), pos + 1)
    } else {
        read_varint_slow(buf, pos)
    }
}

#[inline(never)]
fn read_varint_slow(buf: &[u8], pos: usize) -> (usize, usize) {
    read_varint(buf, pos)
}

/// The position of the entry after the one at `pos`.
#[inline(always)]
fn skip_entry(buf: &[u8], pos: usize) -> usize {
    let (rest, start) = read_len(buf, pos);
    start + rest
}

/// Redis's listpack, for sorted sets: one exactly-sized allocation holding the element count
/// (a varint), then every element as `[length varint][score][member]` in (score, member)
/// order, the length covering the score and the member (so a walk that skips entries reads one
/// byte of each). A score that is an integer of magnitude up to 2^53 is stored as one byte
/// (-16..=223) or a tag and 1..=7 bytes; any other score as a tag and its 8 bytes. An empty
/// listpack allocates nothing.
///
/// A boxed slice (not a `Vec`) keeps [`ZSet`] at 16 bytes; every change reallocates to the
/// exact new length, as Redis's listpack does, so a small set costs about its payload.
#[derive(Clone, Default)]
struct Listpack {
    buf: Box<[u8]>,
}

impl Listpack {
    /// Builds a listpack from elements sorted by (score, member), in one allocation.
    fn from_sorted<'a>(items: impl Iterator<Item = (&'a [u8], f64)> + Clone) -> Self {
        let (mut n, mut bytes) = (0, 0);
        for (m, s) in items.clone() {
            n += 1;
            bytes += entry_len(m, s);
        }
        if n == 0 {
            return Listpack::default();
        }
        let mut buf = vec![0u8; varint_len(n) + bytes].into_boxed_slice();
        let mut pos = write_varint(&mut buf, n);
        for (m, s) in items {
            pos += write_entry(&mut buf[pos..], m, s);
        }
        debug_assert_eq!(pos, buf.len());
        Listpack { buf }
    }

    /// Number of elements.
    #[inline]
    fn len(&self) -> usize {
        if self.buf.is_empty() {
            0
        } else {
            read_varint(&self.buf, 0).0
        }
    }

    /// Position of the first entry (the end of the buffer when empty).
    #[inline]
    fn first(&self) -> usize {
        if self.buf.is_empty() {
            0
        } else {
            read_varint(&self.buf, 0).1
        }
    }

    /// Walks the entries in order.
    #[inline]
    fn entries(&self) -> LpIter<'_> {
        LpIter {
            buf: &self.buf,
            pos: self.first(),
        }
    }

    /// Position of the entry at 0-based `rank` (the end of the buffer when out of range).
    fn offset_of(&self, rank: usize) -> usize {
        let mut pos = self.first();
        for _ in 0..rank {
            if pos >= self.buf.len() {
                break;
            }
            pos = skip_entry(&self.buf, pos);
        }
        pos
    }

    /// The rank, position range and score of `member`.
    fn find(&self, member: &[u8]) -> Option<(usize, usize, usize, f64)> {
        let buf = &self.buf[..];
        let mut pos = self.first();
        let mut rank = 0;
        let last = member.last().copied();
        while pos < buf.len() {
            let (rest, start) = read_len(buf, pos);
            let next = start + rest;
            // A member ends its entry: comparing last bytes first skips most entries without
            // decoding their score.
            if last.is_none_or(|b| buf[next - 1] == b) {
                let (score, m) = read_score(buf, start);
                if buf[m..next] == *member {
                    return Some((rank, pos, next, score));
                }
            }
            pos = next;
            rank += 1;
        }
        None
    }

    /// Position of the first entry not before (score, member) among those at `from..to`
    /// (`to` if there is none).
    fn insert_pos(&self, score: f64, member: &[u8], from: usize, to: usize) -> usize {
        let buf = &self.buf[..];
        let mut pos = from;
        while pos < to {
            let (m, s, next) = read_entry(buf, pos);
            if cmp_entry(s, m, score, member) != Ordering::Less {
                return pos;
            }
            pos = next;
        }
        to
    }

    /// Replaces the bytes in `range` with `new_len` bytes (zeroed) by reallocating to the new
    /// exact size; returns them to be filled in.
    fn splice(&mut self, range: std::ops::Range<usize>, new_len: usize) -> &mut [u8] {
        let old_len = range.len();
        if new_len != old_len {
            let mut v = Vec::from(std::mem::take(&mut self.buf));
            let total = v.len();
            if new_len > old_len {
                let extra = new_len - old_len;
                v.reserve_exact(extra);
                v.resize(total + extra, 0);
                v.copy_within(range.end..total, range.end + extra);
            } else {
                let less = old_len - new_len;
                v.copy_within(range.end..total, range.end - less);
                v.truncate(total - less);
            }
            // Exact capacity: `into_boxed_slice` then reallocates only after a shrink.
            self.buf = v.into_boxed_slice();
        }
        &mut self.buf[range.start..range.start + new_len]
    }

    /// Records a new element count (a count of 0 frees the buffer).
    fn set_len(&mut self, n: usize) {
        if n == 0 {
            self.buf = Box::default();
            return;
        }
        let old_width = varint_len(self.len());
        let dst = self.splice(0..old_width, varint_len(n));
        write_varint(dst, n);
    }

    /// Inserts an element that is not present, in order.
    fn insert(&mut self, member: &[u8], score: f64) {
        let n = self.len();
        let elen = entry_len(member, score);
        if n == 0 {
            let mut buf = vec![0u8; 1 + elen].into_boxed_slice();
            buf[0] = 1;
            write_entry(&mut buf[1..], member, score);
            self.buf = buf;
            return;
        }
        let at = self.insert_pos(score, member, self.first(), self.buf.len());
        write_entry(self.splice(at..at, elen), member, score);
        self.set_len(n + 1);
    }

    /// Gives `member` (present at `start..end` with score `old`) the score `new`, moving it
    /// to its new place.
    fn update(&mut self, member: &[u8], start: usize, end: usize, old: f64, new: f64) {
        // Only the entries on the side the score moves to can be passed.
        let to = if new > old {
            self.insert_pos(new, member, end, self.buf.len())
        } else {
            self.insert_pos(new, member, self.first(), start)
        };
        let elen = entry_len(member, new);
        if to == start || to == end {
            write_entry(self.splice(start..end, elen), member, new);
        } else if elen == end - start {
            // Same size: rotate the entries in between and rewrite the entry, in place.
            let at = if to <= start {
                self.buf.copy_within(to..start, to + elen);
                to
            } else {
                self.buf.copy_within(end..to, start);
                to - elen
            };
            write_entry(&mut self.buf[at..at + elen], member, new);
        } else if to <= start {
            self.splice(start..end, 0);
            write_entry(self.splice(to..to, elen), member, new);
        } else {
            write_entry(self.splice(to..to, elen), member, new);
            self.splice(start..end, 0);
        }
    }

    /// Removes the entries at `start..end`, which hold `count` elements.
    fn remove_bytes(&mut self, start: usize, end: usize, count: usize) {
        let n = self.len() - count;
        if n == 0 {
            self.buf = Box::default();
        } else {
            self.splice(start..end, 0);
            self.set_len(n);
        }
    }
}

/// The entries of a listpack in order.
#[derive(Clone)]
struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (m, s, next) = read_entry(self.buf, self.pos);
        self.pos = next;
        Some((m, s))
    }
}

/// One forward link of a skiplist node and how many elements it skips over.
#[derive(Debug, Clone, Copy)]
struct Level {
    forward: u32,
    span: u32,
}

/// Links a node keeps inside itself; 15 nodes in 16 need no more (P = 1/4 per extra level).
const INLINE_LEVELS: usize = 2;

/// The "no link" value of an unused level.
const NO_LINK: Level = Level {
    forward: NIL,
    span: 0,
};

/// A skiplist node, stored in the arena. Its lowest links live inline, so a step along the
/// list touches one cache line for most nodes; taller nodes keep the rest in `high`. Freed
/// slots keep an empty member and height 0.
#[derive(Debug, Clone)]
struct Node {
    member: Arc<[u8]>,
    score: f64,
    backward: u32,
    height: u8,
    low: [Level; INLINE_LEVELS],
    /// Links `INLINE_LEVELS..height`.
    high: Option<Box<[Level]>>,
}

impl Node {
    fn new(member: Arc<[u8]>, score: f64, height: usize) -> Node {
        let high = (height > INLINE_LEVELS)
            .then(|| vec![NO_LINK; height - INLINE_LEVELS].into_boxed_slice());
        Node {
            member,
            score,
            backward: NIL,
            height: height as u8,
            low: [NO_LINK; INLINE_LEVELS],
            high,
        }
    }

    #[inline]
    fn link(&self, lvl: usize) -> Level {
        if lvl < INLINE_LEVELS {
            self.low[lvl]
        } else {
            self.high.as_ref().expect("level below the node's height")[lvl - INLINE_LEVELS]
        }
    }

    #[inline]
    fn link_mut(&mut self, lvl: usize) -> &mut Level {
        if lvl < INLINE_LEVELS {
            &mut self.low[lvl]
        } else {
            &mut self.high.as_mut().expect("level below the node's height")[lvl - INLINE_LEVELS]
        }
    }
}

/// Redis's `zskiplist` over an arena of nodes addressed by `u32`, with spans for ranks.
#[derive(Debug, Clone)]
struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    level: usize,
    rng: u64,
    /// Shared empty member for the header and freed slots (no allocation per free).
    empty: Arc<[u8]>,
}

impl SkipList {
    fn new() -> Self {
        let empty: Arc<[u8]> = Arc::from(&[][..]);
        let head = Node::new(empty.clone(), 0.0, MAX_LEVEL);
        SkipList {
            nodes: vec![head],
            free: Vec::new(),
            tail: NIL,
            len: 0,
            level: 1,
            rng: 0x2545_F491_4F6C_DD1D,
            empty,
        }
    }

    #[inline]
    fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    #[inline]
    fn link(&self, i: u32, lvl: usize) -> Level {
        self.nodes[i as usize].link(lvl)
    }

    #[inline]
    fn link_mut(&mut self, i: u32, lvl: usize) -> &mut Level {
        self.nodes[i as usize].link_mut(lvl)
    }

    #[inline]
    fn forward(&self, i: u32, lvl: usize) -> u32 {
        self.link(i, lvl).forward
    }

    /// A level between 1 and 32 with P(level > k) = 0.25^k, as `zslRandomLevel`.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        loop {
            // xorshift64: cheap, and the level sequence needs no stronger randomness.
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            if (self.rng & 0xFFFF) < LEVEL_P && level < MAX_LEVEL {
                level += 1;
            } else {
                return level;
            }
        }
    }

    fn alloc(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// True if node `x` sorts before (score, member).
    #[inline]
    fn before(&self, x: u32, score: f64, member: &[u8]) -> bool {
        let n = self.node(x);
        cmp_entry(n.score, &n.member, score, member) == Ordering::Less
    }

    /// Inserts an element that is not present (`zslInsert`).
    fn insert(&mut self, member: Arc<[u8]>, score: f64) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.link(x, i);
                if l.forward != NIL && self.before(l.forward, score, &member) {
                    rank[i] += l.span;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.link_mut(HEAD, i).span = self.len as u32;
            }
            self.level = level;
        }
        let new = self.alloc(Node::new(member, score, level));
        for i in 0..level {
            let upd = self.link(update[i], i);
            *self.link_mut(new, i) = Level {
                forward: upd.forward,
                span: upd.span - (rank[0] - rank[i]),
            };
            *self.link_mut(update[i], i) = Level {
                forward: new,
                span: (rank[0] - rank[i]) + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.link_mut(u, i).span += 1;
        }
        self.nodes[new as usize].backward = if update[0] == HEAD { NIL } else { update[0] };
        let next = self.forward(new, 0);
        if next != NIL {
            self.nodes[next as usize].backward = new;
        } else {
            self.tail = new;
        }
        self.len += 1;
    }

    /// Unlinks node `x` given its predecessors at every level (`zslDeleteNode`) and frees it.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) -> Node {
        let height = self.node(x).height as usize;
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.link(u, i);
            if i < height && ul.forward == x {
                let xl = self.link(x, i);
                *self.link_mut(u, i) = Level {
                    forward: xl.forward,
                    span: ul.span + xl.span - 1,
                };
            } else {
                self.link_mut(u, i).span -= 1;
            }
        }
        let next = self.forward(x, 0);
        let back = self.node(x).backward;
        if next != NIL {
            self.nodes[next as usize].backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.forward(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let freed = Node::new(self.empty.clone(), 0.0, 0);
        self.free.push(x);
        std::mem::replace(&mut self.nodes[x as usize], freed)
    }

    /// The predecessors of the first node not before (score, member), at every level.
    fn find_update(&self, score: f64, member: &[u8]) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.forward(x, i);
                if f != NIL && self.before(f, score, member) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        update
    }

    /// Removes (score, member); returns the node's member if it was there (`zslDelete`).
    fn delete(&mut self, score: f64, member: &[u8]) -> Option<Arc<[u8]>> {
        let update = self.find_update(score, member);
        let x = self.forward(update[0], 0);
        if x != NIL && self.node(x).score == score && *self.node(x).member == *member {
            Some(self.unlink(x, &update).member)
        } else {
            None
        }
    }

    /// Number of leading elements for which `before` holds; `before` must hold for a prefix.
    fn count_prefix(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.forward != NIL
                    && before(self.node(l.forward).score, &self.node(l.forward).member)
                {
                    rank += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
        }
        rank
    }

    /// The 0-based rank of (score, member), if present (`zslGetRank` minus one).
    fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.forward == NIL {
                    break;
                }
                let n = self.node(l.forward);
                if cmp_entry(n.score, &n.member, score, member) != Ordering::Greater {
                    rank += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            // Comparing the score first spares reading the member for nodes that cannot match.
            if x != HEAD && self.node(x).score == score && *self.node(x).member == *member {
                return Some(rank - 1);
            }
        }
        None
    }

    /// The node at 0-based `rank` (`zslGetElementByRank`).
    fn node_at(&self, rank: usize) -> u32 {
        if rank >= self.len {
            return NIL;
        }
        let target = rank + 1;
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.forward != NIL && traversed + l.span as usize <= target {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if traversed == target {
                return x;
            }
        }
        NIL
    }

    /// Removes the elements at 0-based ranks `start..=end`, calling `f` for each in order
    /// (`zslDeleteRangeByRank`).
    fn delete_ranks(&mut self, start: usize, end: usize, mut f: impl FnMut(Arc<[u8]>, f64)) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.forward != NIL && traversed + l.span as usize <= start {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let mut x = self.forward(x, 0);
        let mut rank = start;
        while x != NIL && rank <= end {
            let next = self.forward(x, 0);
            let node = self.unlink(x, &update);
            f(node.member, node.score);
            rank += 1;
            x = next;
        }
    }

    /// Rebuilds the arena when most of it is freed slots, so a set that shrank gives its
    /// memory back (amortised: a rebuild follows at least three removals per element kept).
    fn maybe_compact(&mut self) {
        if self.nodes.len() <= 64 || self.len * 4 >= self.nodes.len() {
            return;
        }
        let mut fresh = SkipList::new();
        fresh.rng = self.rng;
        fresh.nodes.reserve(self.len);
        let mut x = self.forward(HEAD, 0);
        while x != NIL {
            let n = self.node(x);
            // Appending in order: every insert lands after the current tail.
            fresh.insert(n.member.clone(), n.score);
            x = n.link(0).forward;
        }
        *self = fresh;
    }

    fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self
                .nodes
                .iter()
                .map(|n| {
                    n.high
                        .as_ref()
                        .map_or(0, |h| h.len() * std::mem::size_of::<Level>())
                        + n.member.len()
                })
                .sum::<usize>()
            + self.free.capacity() * 4
    }
}

/// The large encoding: member -> score for O(1) lookups, and the ordered skiplist.
#[derive(Debug, Clone)]
struct Big {
    dict: Dict<Arc<[u8]>, f64>,
    list: SkipList,
}

impl Big {
    fn new() -> Self {
        Big {
            dict: Dict::new(),
            list: SkipList::new(),
        }
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        let m: Arc<[u8]> = Arc::from(member);
        self.list.insert(m.clone(), score);
        self.dict.insert(m, score);
    }
}

#[derive(Clone)]
enum Repr {
    /// Sorted by (score, member).
    Listpack(Listpack),
    Skiplist(Box<Big>),
}

/// A sorted set.
#[derive(Clone)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new_listpack()
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
    }
}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

/// Walks a sorted set from a rank, forwards or backwards.
pub struct Iter<'a>(IterState<'a>);

enum IterState<'a> {
    Done,
    /// Listpack, forwards.
    Lp(LpIter<'a>),
    /// Listpack, backwards: the positions of the entries still to visit, last one first (a
    /// listpack entry cannot be decoded from its end).
    LpRev {
        buf: &'a [u8],
        todo: Vec<usize>,
    },
    /// Skiplist, from node `x`.
    Skip {
        list: &'a SkipList,
        x: u32,
        rev: bool,
    },
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterState::Done => None,
            IterState::Lp(it) => it.next(),
            IterState::LpRev { buf, todo } => {
                let pos = todo.pop()?;
                let (m, s, _) = read_entry(buf, pos);
                Some((m, s))
            }
            IterState::Skip { list, x, rev } => {
                if *x == NIL || *x == HEAD {
                    return None;
                }
                let list: &'a SkipList = list;
                let n = list.node(*x);
                *x = if *rev { n.backward } else { n.link(0).forward };
                Some((&n.member[..], n.score))
            }
        }
    }
}

impl ZSet {
    /// An empty set in the compact encoding.
    pub fn new_listpack() -> Self {
        ZSet {
            repr: Repr::Listpack(Listpack::default()),
        }
    }

    /// An empty set in the skiplist encoding.
    pub fn new_skiplist() -> Self {
        ZSet {
            repr: Repr::Skiplist(Box::new(Big::new())),
        }
    }

    /// An empty set in the encoding ZADD picks for a new key from its first member's length.
    pub fn for_first_member(member_len: usize, limits: &EncodingLimits) -> Self {
        if limits.zset_max_listpack_entries == 0 || member_len > limits.zset_max_listpack_value {
            Self::new_skiplist()
        } else {
            Self::new_listpack()
        }
    }

    /// A set holding `items`, which must be sorted by (score, member) with distinct members;
    /// compact when it fits the limits (`zsetConvertToListpackIfNeeded` on a finished result).
    pub fn from_sorted(items: Vec<(Box<[u8]>, f64)>, limits: &EncodingLimits) -> Self {
        let fits = items.len() <= limits.zset_max_listpack_entries
            && items
                .iter()
                .all(|(m, _)| m.len() <= limits.zset_max_listpack_value);
        if fits {
            let lp = Listpack::from_sorted(items.iter().map(|(m, s)| (&m[..], *s)));
            return ZSet {
                repr: Repr::Listpack(lp),
            };
        }
        let mut big = Big::new();
        big.dict.reserve(items.len());
        for (m, s) in items {
            big.insert(&m, s);
        }
        ZSet {
            repr: Repr::Skiplist(Box::new(big)),
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Skiplist(_) => "skiplist",
        }
    }

    /// True in the compact encoding.
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    /// Approximate heap bytes used.
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<ZSet>()
            + match &self.repr {
                Repr::Listpack(lp) => lp.buf.len(),
                Repr::Skiplist(big) => {
                    std::mem::size_of::<Big>() + big.dict.heap_bytes() + big.list.heap_bytes()
                }
            }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len(),
            Repr::Skiplist(big) => big.list.len,
        }
    }

    /// True when the set has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(member).map(|(_, _, _, s)| s),
            Repr::Skiplist(big) => big.dict.get(member).copied(),
        }
    }

    /// Turns a compact set into the skiplist encoding (`zsetConvert`).
    pub fn convert_to_skiplist(&mut self) {
        if let Repr::Listpack(lp) = &self.repr {
            let mut big = Big::new();
            big.dict.reserve(lp.len());
            for (m, s) in lp.entries() {
                big.insert(m, s);
            }
            self.repr = Repr::Skiplist(Box::new(big));
        }
    }

    /// Adds a member that is not present, converting to the skiplist first when the compact
    /// form would outgrow `limits` (as `zsetAdd`).
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &EncodingLimits) {
        debug_assert!(!score.is_nan());
        if let Repr::Listpack(lp) = &self.repr {
            if lp.len() + 1 > limits.zset_max_listpack_entries
                || member.len() > limits.zset_max_listpack_value
            {
                self.convert_to_skiplist();
            }
        }
        match &mut self.repr {
            Repr::Listpack(lp) => lp.insert(member, score),
            Repr::Skiplist(big) => big.insert(member, score),
        }
    }

    /// Changes the score of a present member from `old` to `new`.
    pub fn update_score(&mut self, member: &[u8], old: f64, new: f64) {
        match &mut self.repr {
            Repr::Listpack(lp) => {
                if let Some((_, start, end, cur)) = lp.find(member) {
                    lp.update(member, start, end, cur, new);
                }
            }
            Repr::Skiplist(big) => {
                if let Some(m) = big.list.delete(old, member) {
                    big.list.insert(m, new);
                    if let Some(s) = big.dict.get_mut(member) {
                        *s = new;
                    }
                }
            }
        }
    }

    /// Removes `member`, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Listpack(lp) => {
                let (_, start, end, score) = lp.find(member)?;
                lp.remove_bytes(start, end, 1);
                Some(score)
            }
            Repr::Skiplist(big) => {
                let (_, score) = big.dict.remove(member)?;
                big.list.delete(score, member);
                big.list.maybe_compact();
                Some(score)
            }
        }
    }

    /// The 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(member).map(|(rank, _, _, _)| rank),
            Repr::Skiplist(big) => {
                let score = *big.dict.get(member)?;
                big.list.rank(score, member)
            }
        }
    }

    /// The element at 0-based ascending `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Listpack(lp) => {
                let pos = lp.offset_of(rank);
                (pos < lp.buf.len()).then(|| {
                    let (m, s, _) = read_entry(&lp.buf, pos);
                    (m, s)
                })
            }
            Repr::Skiplist(big) => {
                let x = big.list.node_at(rank);
                (x != NIL).then(|| {
                    let n = big.list.node(x);
                    (&n.member[..], n.score)
                })
            }
        }
    }

    /// Walks from 0-based `rank` towards the end (or the start when `rev`); empty if `rank`
    /// is out of range.
    pub fn iter_from(&self, rank: usize, rev: bool) -> Iter<'_> {
        Iter(match &self.repr {
            Repr::Listpack(lp) if rank >= lp.len() => IterState::Done,
            Repr::Listpack(lp) if !rev => IterState::Lp(LpIter {
                buf: &lp.buf,
                pos: lp.offset_of(rank),
            }),
            Repr::Listpack(lp) => {
                let mut todo = Vec::with_capacity(rank + 1);
                let mut pos = lp.first();
                for _ in 0..=rank {
                    todo.push(pos);
                    pos = skip_entry(&lp.buf, pos);
                }
                IterState::LpRev { buf: &lp.buf, todo }
            }
            Repr::Skiplist(big) => match big.list.node_at(rank) {
                NIL => IterState::Done,
                x => IterState::Skip {
                    list: &big.list,
                    x,
                    rev,
                },
            },
        })
    }

    /// All elements in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Listpack(lp) => Iter(IterState::Lp(lp.entries())),
            Repr::Skiplist(_) => self.iter_from(0, false),
        }
    }

    /// All elements in descending order.
    pub fn iter_rev(&self) -> Iter<'_> {
        match self.len() {
            0 => Iter(IterState::Done),
            n => self.iter_from(n - 1, true),
        }
    }

    /// Number of leading elements for which `before(score, member)` holds. `before` must hold
    /// on a prefix of the order (a lower bound); O(log n) in the skiplist encoding.
    pub fn count_prefix(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.entries().take_while(|&(m, s)| before(s, m)).count(),
            Repr::Skiplist(big) => big.list.count_prefix(before),
        }
    }

    /// Index of the first element for which `pred` holds, found the way Redis's own walk
    /// finds it: a linear scan in the compact encoding, a skiplist descent otherwise (the two
    /// agree whenever `pred` is monotone, i.e. false on a prefix and true after it).
    pub fn first_where(&self, pred: impl Fn(f64, &[u8]) -> bool) -> Option<usize> {
        match &self.repr {
            Repr::Listpack(lp) => lp.entries().position(|(m, s)| pred(s, m)),
            Repr::Skiplist(big) => {
                let r = big.list.count_prefix(|s, m| !pred(s, m));
                (r < big.list.len).then_some(r)
            }
        }
    }

    /// Index of the last element for which `pred` holds, found as Redis does (a backwards scan
    /// in the compact encoding, a skiplist descent otherwise); `pred` should hold on a prefix.
    pub fn last_where(&self, pred: impl Fn(f64, &[u8]) -> bool) -> Option<usize> {
        match &self.repr {
            // The last match of a forward scan is the first match of a backwards one.
            Repr::Listpack(lp) => lp
                .entries()
                .enumerate()
                .filter(|&(_, (m, s))| pred(s, m))
                .last()
                .map(|(i, _)| i),
            Repr::Skiplist(big) => big.list.count_prefix(pred).checked_sub(1),
        }
    }

    /// Removes the elements at 0-based ranks `start..=end` (clamped), calling `f` with each in
    /// ascending order; returns how many were removed.
    pub fn remove_range(
        &mut self,
        start: usize,
        end: usize,
        mut f: impl FnMut(&[u8], f64),
    ) -> usize {
        let len = self.len();
        if start >= len || start > end {
            return 0;
        }
        let end = end.min(len - 1);
        let count = end - start + 1;
        match &mut self.repr {
            Repr::Listpack(lp) => {
                let from = lp.offset_of(start);
                let mut it = LpIter {
                    buf: &lp.buf,
                    pos: from,
                };
                for (m, s) in it.by_ref().take(count) {
                    f(m, s);
                }
                let to = it.pos;
                lp.remove_bytes(from, to, count);
            }
            Repr::Skiplist(big) => {
                let Big { dict, list } = &mut **big;
                list.delete_ranks(start, end, |m, s| {
                    dict.remove(&m[..]);
                    f(&m, s);
                });
                list.maybe_compact();
            }
        }
        count
    }

    /// A random element, uniform in the compact encoding and Redis's fair dict sampling in the
    /// skiplist one; `rnd` is the caller's randomness. None only when empty.
    pub fn random_element(&self, rnd: u64) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Listpack(lp) => match lp.len() {
                0 => None,
                n => self.get((rnd % n as u64) as usize),
            },
            Repr::Skiplist(big) => big.dict.random_entry(rnd).map(|(m, s)| (&m[..], *s)),
        }
    }

    /// One ZSCAN step: the compact encoding is returned whole with cursor 0 (as Redis does);
    /// the skiplist encoding walks its dict with the reverse-binary cursor.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], f64)) -> u64 {
        match &self.repr {
            Repr::Listpack(lp) => {
                for (m, s) in lp.entries() {
                    f(m, s);
                }
                0
            }
            Repr::Skiplist(big) => big.dict.scan(cursor, |m, s| f(m, *s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits {
            zset_max_listpack_entries: entries,
            zset_max_listpack_value: value,
            ..EncodingLimits::default()
        }
    }

    fn contents(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
    }

    /// Checks the skiplist's spans, back links and tail against a plain walk of level 0.
    fn check_invariants(z: &ZSet) {
        let Repr::Skiplist(big) = &z.repr else { return };
        let l = &big.list;
        let mut order = Vec::new();
        let mut x = l.forward(HEAD, 0);
        let mut prev = NIL;
        while x != NIL {
            assert_eq!(l.node(x).backward, prev);
            order.push(x);
            prev = x;
            x = l.forward(x, 0);
        }
        assert_eq!(l.tail, prev);
        assert_eq!(order.len(), l.len);
        assert_eq!(big.dict.len(), l.len);
        let pos = |n: u32| {
            if n == HEAD {
                0
            } else {
                order.iter().position(|&o| o == n).unwrap() + 1
            }
        };
        for lvl in 0..l.level {
            let mut x = HEAD;
            loop {
                let lv = l.node(x).link(lvl);
                if lv.forward == NIL {
                    break;
                }
                assert_eq!(
                    lv.span as usize,
                    pos(lv.forward) - pos(x),
                    "span at level {lvl}"
                );
                x = lv.forward;
            }
        }
        for w in order.windows(2) {
            let (a, b) = (l.node(w[0]), l.node(w[1]));
            assert_eq!(
                cmp_entry(a.score, &a.member, b.score, &b.member),
                Ordering::Less
            );
        }
    }

    #[test]
    fn converts_at_the_thresholds() {
        let lim = limits(3, 4);
        let mut z = ZSet::new_listpack();
        for (i, m) in ["a", "b", "c"].iter().enumerate() {
            z.insert(m.as_bytes(), i as f64, &lim);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"d", 0.5, &lim);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(
            contents(&z).iter().map(|(m, _)| m[0]).collect::<Vec<_>>(),
            b"adbc"
        );
        let mut z = ZSet::new_listpack();
        z.insert(b"abcd", 1.0, &lim);
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"abcde", 1.0, &lim);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"abcde");
        assert_eq!(z.encoding(), "skiplist", "never converts back by itself");
        assert_eq!(ZSet::for_first_member(5, &lim).encoding(), "skiplist");
        assert_eq!(ZSet::for_first_member(4, &lim).encoding(), "listpack");
        assert_eq!(
            ZSet::for_first_member(1, &limits(0, 64)).encoding(),
            "skiplist"
        );
        let items: Vec<(Box<[u8]>, f64)> = vec![(b"a"[..].into(), 1.0), (b"b"[..].into(), 2.0)];
        assert_eq!(
            ZSet::from_sorted(items.clone(), &lim).encoding(),
            "listpack"
        );
        assert_eq!(
            ZSet::from_sorted(items, &limits(1, 64)).encoding(),
            "skiplist"
        );
    }

    #[test]
    fn ties_order_by_member_bytes() {
        let lim = limits(0, 0);
        let mut z = ZSet::new_skiplist();
        for m in ["b", "a", "ab", "", "B"] {
            z.insert(m.as_bytes(), 1.0, &lim);
        }
        z.insert(b"z", -0.0, &lim);
        let order: Vec<Vec<u8>> = z.iter().map(|(m, _)| m.to_vec()).collect();
        assert_eq!(
            order,
            vec![
                b"z".to_vec(),
                b"".to_vec(),
                b"B".to_vec(),
                b"a".to_vec(),
                b"ab".to_vec(),
                b"b".to_vec()
            ]
        );
        assert_eq!(z.rank(b"ab"), Some(4));
        assert_eq!(z.get(1), Some((&b""[..], 1.0)));
        check_invariants(&z);
    }

    #[test]
    fn shrinking_sets_give_their_arena_back() {
        let lim = limits(0, 64);
        let mut z = ZSet::new_skiplist();
        for i in 0..10_000 {
            z.insert(format!("m{i}").as_bytes(), (i % 97) as f64, &lim);
        }
        z.remove_range(0, 9_899, |_, _| {});
        let victims: Vec<Vec<u8>> = z.iter().take(50).map(|(m, _)| m.to_vec()).collect();
        for m in victims {
            assert!(z.remove(&m).is_some());
        }
        let Repr::Skiplist(big) = &z.repr else {
            panic!()
        };
        assert!(
            big.list.nodes.len() < 1_000,
            "arena of {} slots",
            big.list.nodes.len()
        );
        assert_eq!(z.len(), 50);
        check_invariants(&z);
        let scores: Vec<f64> = z.iter().map(|(_, s)| s).collect();
        assert!(scores.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn listpack_scores_round_trip() {
        let scores = [
            0.0,
            1.0,
            -1.0,
            -16.0,
            -17.0,
            223.0,
            224.0,
            127.0,
            128.0,
            -128.0,
            -129.0,
            32_767.0,
            -32_769.0,
            2_147_483_648.0,
            1_700_000_000_123.0,
            9_007_199_254_740_992.0,
            -9_007_199_254_740_992.0,
            9_007_199_254_740_994.0,
            -9_007_199_254_740_994.0,
            0.1,
            -2.5,
            1e300,
            -1e-300,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for &s in &scores {
            let mut buf = [0u8; 9];
            let n = write_score(&mut buf, s);
            assert_eq!(n, score_len(s), "{s}");
            assert_eq!(read_score(&buf, 0), (s, n), "{s}");
        }
        assert_eq!(score_len(5.0), 1);
        assert_eq!(score_len(1000.0), 3);
        assert_eq!(score_len(0.5), 9);
        let lim = limits(128, 64);
        let mut z = ZSet::new_listpack();
        for (i, &s) in scores.iter().enumerate() {
            z.insert(format!("m{i}").as_bytes(), s, &lim);
        }
        z.insert(b"negzero", -0.0, &lim);
        assert!(z.is_listpack());
        let got = z.score(b"negzero").unwrap();
        assert!(got == 0.0 && got.is_sign_positive(), "-0 is kept as 0");
        for (i, &s) in scores.iter().enumerate() {
            assert_eq!(z.score(format!("m{i}").as_bytes()), Some(s));
        }
        let got: Vec<f64> = z.iter().map(|(_, s)| s).collect();
        assert!(got.windows(2).all(|w| w[0] <= w[1]), "{got:?}");
        // The skiplist keeps -0 as given (Redis converts it only on the listpack side).
        let mut big = ZSet::new_skiplist();
        big.insert(b"a", -0.0, &lim);
        assert!(big.score(b"a").unwrap().is_sign_negative());
    }

    #[test]
    fn listpack_is_one_exact_buffer() {
        let lim = limits(128, 64);
        let mut z = ZSet::new_listpack();
        for i in 0..10 {
            z.insert(format!("member{i}").as_bytes(), i as f64, &lim);
        }
        assert_eq!(std::mem::size_of::<ZSet>(), 16);
        // Count, then per member: length, 7 bytes, one-byte score.
        let Repr::Listpack(lp) = &z.repr else {
            panic!()
        };
        assert_eq!(lp.buf.len(), 1 + 10 * 9);
        assert_eq!(z.memory_usage(), 16 + 91);
        z.remove_range(0, 9, |_, _| {});
        let Repr::Listpack(lp) = &z.repr else {
            panic!()
        };
        assert!(lp.buf.is_empty());
        assert!(z.is_empty());
        assert_eq!(z.iter().count(), 0);
        assert_eq!(z.iter_rev().count(), 0);
    }

    #[test]
    fn long_members_and_counts_past_one_varint_byte() {
        // Counts cross 127 -> 128 (two-byte count) and members are longer than 127 bytes.
        let lim = limits(1000, 1000);
        let mut z = ZSet::new_listpack();
        let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
        for i in 0..300usize {
            let m = if i % 7 == 0 {
                vec![b'a' + (i % 26) as u8; 130 + i]
            } else {
                format!("k{i:04}").into_bytes()
            };
            let s = ((i * 37) % 101) as f64 - 50.0 + if i % 5 == 0 { 0.25 } else { 0.0 };
            z.insert(&m, s, &lim);
            model.push((m, s));
        }
        let sort = |v: &mut Vec<(Vec<u8>, f64)>| v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        sort(&mut model);
        assert!(z.is_listpack());
        assert_eq!(z.len(), 300);
        assert_eq!(contents(&z), model);
        // Updates that change the entry size, both directions.
        for (i, m) in model
            .clone()
            .iter()
            .map(|(m, _)| m.clone())
            .enumerate()
            .step_by(3)
        {
            let old = z.score(&m).unwrap();
            let new = if i % 2 == 0 {
                old * 1000.5
            } else {
                (i as f64) - 150.0
            };
            z.update_score(&m, old, new);
            model.iter_mut().find(|(x, _)| *x == m).unwrap().1 = new;
        }
        sort(&mut model);
        assert_eq!(contents(&z), model);
        let rev: Vec<_> = z.iter_rev().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(rev, model.iter().rev().cloned().collect::<Vec<_>>());
        // Shrink back through 128 -> 127.
        let mut removed = Vec::new();
        assert_eq!(
            z.remove_range(10, 181, |m, s| removed.push((m.to_vec(), s))),
            172
        );
        let expected: Vec<_> = model.drain(10..=181).collect();
        assert_eq!(removed, expected);
        assert_eq!(z.len(), 128);
        let victim = model.remove(50).0;
        assert!(z.remove(&victim).is_some());
        assert_eq!(z.len(), 127);
        assert_eq!(contents(&z), model);
        for (i, (m, s)) in model.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.get(i), Some((&m[..], *s)));
        }
        let Repr::Listpack(lp) = &z.repr else {
            panic!()
        };
        let payload: usize = model.iter().map(|(m, s)| entry_len(m, *s)).sum();
        assert_eq!(lp.buf.len(), 1 + payload, "exactly sized");
        z.convert_to_skiplist();
        assert_eq!(contents(&z), model);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, f64),
        Remove(u8),
        Update(u8, f64),
        RemoveRange(u8, u8),
    }

    /// Scores that collide often (small integers), plus a pool that exercises every compact
    /// score encoding and its boundaries.
    fn score() -> impl Strategy<Value = f64> {
        const POOL: &[f64] = &[
            -0.0,
            0.5,
            -2.25,
            -16.0,
            -17.0,
            223.0,
            224.0,
            -129.0,
            40_000.0,
            -8_388_609.0,
            1_700_000_000_123.0,
            9_007_199_254_740_992.0,
            -9_007_199_254_740_992.0,
            9_007_199_254_740_994.0,
            1e300,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        prop_oneof![
            4 => any::<i8>().prop_map(|s| f64::from(s % 16)),
            1 => proptest::sample::select(POOL),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            // Members from a small pool collide often; the full byte range grows sets past the
            // arena-compaction threshold.
            4 => (any::<u8>(), score()).prop_map(|(m, s)| Op::Insert(m % 64, s)),
            3 => (any::<u8>(), score()).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => any::<u8>().prop_map(|m| Op::Remove(m % 64)),
            2 => (any::<u8>(), score()).prop_map(|(m, s)| Op::Update(m % 64, s)),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRange(a % 70, b)),
        ]
    }

    fn member(m: u8) -> Vec<u8> {
        format!("m{m}").into_bytes()
    }

    proptest! {
        #[test]
        fn ranks_and_ranges_match_a_sorted_vec(ops in proptest::collection::vec(op(), 1..600), small in any::<bool>()) {
            let lim = if small { limits(128, 64) } else { limits(8, 64) };
            let mut z = ZSet::new_listpack();
            let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
            let sort = |v: &mut Vec<(Vec<u8>, f64)>| v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        let m = member(m);
                        if z.score(&m).is_none() {
                            z.insert(&m, s, &lim);
                            model.push((m, s));
                            sort(&mut model);
                        }
                    }
                    Op::Remove(m) => {
                        let m = member(m);
                        let expected = model.iter().position(|(x, _)| *x == m).map(|i| model.remove(i).1);
                        prop_assert_eq!(z.remove(&m), expected);
                    }
                    Op::Update(m, s) => {
                        let m = member(m);
                        if let Some(old) = z.score(&m) {
                            z.update_score(&m, old, s);
                            model.iter_mut().find(|(x, _)| *x == m).unwrap().1 = s;
                            sort(&mut model);
                        }
                    }
                    Op::RemoveRange(a, b) => {
                        let (a, b) = (a as usize, b as usize);
                        let mut removed = Vec::new();
                        let n = z.remove_range(a, b, |m, s| removed.push((m.to_vec(), s)));
                        let expected: Vec<_> = if a < model.len() && a <= b {
                            model.drain(a..=b.min(model.len() - 1)).collect()
                        } else {
                            Vec::new()
                        };
                        prop_assert_eq!(n, expected.len());
                        prop_assert_eq!(removed, expected);
                    }
                }
                check_invariants(&z);
            }
            prop_assert_eq!(z.len(), model.len());
            prop_assert_eq!(contents(&z), model.clone());
            let rev: Vec<_> = z.iter_rev().map(|(m, s)| (m.to_vec(), s)).collect();
            prop_assert_eq!(rev, model.iter().rev().cloned().collect::<Vec<_>>());
            for (i, (m, s)) in model.iter().enumerate() {
                prop_assert_eq!(z.rank(m), Some(i));
                prop_assert_eq!(z.get(i), Some((&m[..], *s)));
                prop_assert_eq!(z.score(m), Some(*s));
                let fwd: Vec<_> = z.iter_from(i, false).map(|(m, _)| m.to_vec()).collect();
                prop_assert_eq!(fwd, model[i..].iter().map(|(m, _)| m.clone()).collect::<Vec<_>>());
                let back: Vec<_> = z.iter_from(i, true).map(|(m, _)| m.to_vec()).collect();
                prop_assert_eq!(back, model[..=i].iter().rev().map(|(m, _)| m.clone()).collect::<Vec<_>>());
            }
            prop_assert_eq!(z.get(model.len()), None);
            prop_assert_eq!(z.iter_from(model.len(), false).count(), 0);
            for bound in -17..17 {
                let b = bound as f64;
                let below = model.iter().filter(|(_, s)| *s < b).count();
                prop_assert_eq!(z.count_prefix(|s, _| s < b), below);
                let upto = model.iter().filter(|(_, s)| *s <= b).count();
                prop_assert_eq!(z.first_where(|s, _| s > b), (upto < model.len()).then_some(upto));
                prop_assert_eq!(z.last_where(|s, _| s <= b), upto.checked_sub(1));
            }
        }
    }
}

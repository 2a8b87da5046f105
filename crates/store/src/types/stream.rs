//! The stream value: entries ordered by ID, kept in nodes cut exactly where Redis cuts its
//! radix tree of listpacks (so approximate trimming, XINFO's node counts and node-boundary
//! effects match), plus the consumer groups with their pending entries lists.
//!
//! A node stores its entries as compact records (varint lengths, IDs as deltas from the node's
//! first ID, field names omitted when they repeat the node's first entry), and tracks the size
//! the same entries would take in a Redis listpack, which is what decides when a node is full.

use crate::num::parse_i64;
use crate::types::EncodingLimits;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// A stream entry ID: a millisecond time and a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`, below every valid entry ID.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest ID.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// The ID `ms-seq`.
    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// True for `0-0`.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The next ID in order, or None after [`StreamId::MAX`].
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID in order, or None before `0-0`.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// The `ms-seq` text of the ID.
    pub fn to_bytes(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// The ID as Redis keys its radix trees: 16 big-endian bytes.
    fn radix_key(self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An ID argument as parsed: the ID, and whether the sequence was given (false for `ms-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedId {
    /// The ID, with `missing_seq` as the sequence when only `ms` was written.
    pub id: StreamId,
    /// False only for XADD's `ms-*` form.
    pub seq_given: bool,
}

/// Parses an ID argument as Redis's `streamGenericParseIDOrReply`: `ms-seq` or `ms` (the
/// sequence then being `missing_seq`), `-` and `+` unless `strict`, and `ms-*` when
/// `allow_auto_seq` (XADD). Each part is read like C's `string2ull`, quirks included.
pub fn parse_id(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_auto_seq: bool,
) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    // Redis copies the argument into a C string: everything after a NUL byte is invisible.
    let s = match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    if s == b"-" || s == b"+" {
        if strict {
            return None;
        }
        let id = if s == b"-" {
            StreamId::MIN
        } else {
            StreamId::MAX
        };
        return Some(ParsedId {
            id,
            seq_given: true,
        });
    }
    let (ms_part, seq_part) = match s.iter().position(|&b| b == b'-') {
        Some(dash) => (&s[..dash], Some(&s[dash + 1..])),
        None => (s, None),
    };
    let ms = string_to_u64(ms_part)?;
    match seq_part {
        Some(b"*") if allow_auto_seq => Some(ParsedId {
            id: StreamId::new(ms, 0),
            seq_given: false,
        }),
        Some(part) => Some(ParsedId {
            id: StreamId::new(ms, string_to_u64(part)?),
            seq_given: true,
        }),
        None => Some(ParsedId {
            id: StreamId::new(ms, missing_seq),
            seq_given: true,
        }),
    }
}

/// Redis's `string2ull`: a strict integer first, else C's `strtoull` (leading spaces, a sign,
/// leading zeros, and a `-` that wraps around), rejecting empty input and overflow.
fn string_to_u64(s: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// Sizes of listpack elements, to know when Redis would start a new node.
mod listpack {
    use crate::num::parse_i64;

    /// Bytes of the length trailer of an element whose encoding takes `len` bytes.
    fn backlen(len: usize) -> usize {
        match len {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        }
    }

    /// Bytes an integer element takes.
    pub fn int_len(v: i64) -> usize {
        let enc = match v {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8_388_608..=8_388_607 => 4,
            -2_147_483_648..=2_147_483_647 => 5,
            _ => 9,
        };
        enc + 1
    }

    /// Bytes a string element takes (strings that read as integers are stored as integers).
    pub fn str_len(s: &[u8]) -> usize {
        if let Some(v) = parse_i64(s) {
            return int_len(v);
        }
        let n = s.len();
        let enc = if n < 64 {
            1 + n
        } else if n < 4096 {
            2 + n
        } else {
            5 + n
        };
        enc + backlen(enc)
    }

    /// Header and terminator of an empty listpack.
    pub const EMPTY: usize = 7;
}

/// The largest listpack Redis builds for a stream node, whatever `stream-node-max-bytes` says.
const NODE_MAX_BYTES_CAP: usize = 1 << 30;

/// Entry flag: the entry was deleted (a tombstone kept until its node goes away).
const FLAG_DELETED: u8 = 1;
/// Entry flag: the entry has the same field names as the node's first entry.
const FLAG_SAME_FIELDS: u8 = 2;

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_varint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// Reads varints and length-prefixed byte strings from a node's buffers.
#[derive(Clone)]
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.buf[self.pos];
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    fn bytes(&mut self) -> &'a [u8] {
        let n = self.varint() as usize;
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        b
    }
}

/// A record of a node as decoded: where its flags byte is, and its items.
struct Record<'a> {
    /// Offset of the flags byte in the node's records.
    flags_at: usize,
    flags: u8,
    id: StreamId,
    /// Number of field-value pairs.
    pairs: usize,
    /// The encoded items: values only with `FLAG_SAME_FIELDS`, else field, value, ...
    items: &'a [u8],
}

/// A run of entries that share a key in Redis's radix tree (one listpack there).
#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// The field names of the entry that opened the node, length-prefixed.
    master_fields: Box<[u8]>,
    /// How many names `master_fields` holds.
    master_count: usize,
    /// Entry records: total length, flags, ID deltas from the node key, the field count unless
    /// the names are the master ones, then the items.
    records: Vec<u8>,
    /// Entries not deleted.
    live: u64,
    /// Tombstones still in the node.
    deleted: u64,
    /// Listpack bytes of everything but the header and the two counters.
    lp_body: usize,
    /// ID of the node's last record, deleted or not.
    last: StreamId,
}

impl Node {
    /// Bytes the node's listpack would take in Redis.
    fn lp_bytes(&self) -> usize {
        listpack::EMPTY
            + listpack::int_len(self.live as i64)
            + listpack::int_len(self.deleted as i64)
            + self.lp_body
    }

    /// Decodes the record at `pos`; returns it and the offset of the next one.
    fn record_at(&self, key: StreamId, pos: usize) -> (Record<'_>, usize) {
        let mut r = Reader::new(&self.records);
        r.pos = pos;
        let len = r.varint() as usize;
        let end = r.pos + len;
        let flags_at = r.pos;
        let flags = self.records[flags_at];
        r.pos += 1;
        let id = StreamId::new(
            key.ms.wrapping_add(r.varint()),
            key.seq.wrapping_add(r.varint()),
        );
        let pairs = if flags & FLAG_SAME_FIELDS != 0 {
            self.master_count
        } else {
            r.varint() as usize
        };
        (
            Record {
                flags_at,
                flags,
                id,
                pairs,
                items: &self.records[r.pos..end],
            },
            end,
        )
    }

    /// Offsets of every record, in order.
    fn record_offsets(&self) -> Vec<usize> {
        let mut offsets = Vec::with_capacity((self.live + self.deleted) as usize);
        let mut r = Reader::new(&self.records);
        while r.pos < self.records.len() {
            offsets.push(r.pos);
            let len = r.varint() as usize;
            r.pos += len;
        }
        offsets
    }

    fn entry<'a>(&'a self, rec: Record<'a>) -> EntryRef<'a> {
        EntryRef {
            id: rec.id,
            pairs: rec.pairs,
            master: (rec.flags & FLAG_SAME_FIELDS != 0).then_some(&self.master_fields[..]),
            items: rec.items,
        }
    }
}

/// One entry of a stream, borrowed.
#[derive(Clone)]
pub struct EntryRef<'a> {
    /// The entry's ID.
    pub id: StreamId,
    pairs: usize,
    master: Option<&'a [u8]>,
    items: &'a [u8],
}

impl<'a> EntryRef<'a> {
    /// Number of field-value pairs.
    pub fn pair_count(&self) -> usize {
        self.pairs
    }

    /// The field-value pairs in the order they were added.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let mut names = self.master.map(Reader::new);
        let mut items = Reader::new(self.items);
        (0..self.pairs).map(move |_| {
            let field = match names.as_mut() {
                Some(n) => n.bytes(),
                None => items.bytes(),
            };
            (field, items.bytes())
        })
    }
}

/// How XADD and XTRIM cut a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimBy {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Remove entries with an ID below this one.
    MinId(StreamId),
}

/// Why an entry could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddError {
    /// The ID is not above the stream's last ID.
    IdTooSmall,
    /// The fields and values together exceed what one node can hold.
    TooLarge,
}

/// The entries of a stream and the counters that describe its history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entries {
    /// Nodes keyed by the ID of the entry that opened them.
    nodes: BTreeMap<StreamId, Node>,
    /// Entries not deleted.
    pub length: u64,
    /// The largest ID ever added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's ID as last recorded (`0-0` when empty).
    pub first_id: StreamId,
    /// The largest ID removed by XDEL (or set by XSETID).
    pub max_deleted_id: StreamId,
    /// Entries added over the stream's whole life.
    pub entries_added: i64,
}

impl Entries {
    /// The ID XADD would give an entry: `requested` (an explicit ID, or `ms-*` when its sequence
    /// is not given) or one from the clock `now_ms`.
    pub fn next_id(&self, requested: Option<ParsedId>, now_ms: i64) -> Result<StreamId, AddError> {
        let last = self.last_id;
        match requested {
            None => {
                let now = now_ms.max(0) as u64;
                if now > last.ms {
                    Ok(StreamId::new(now, 0))
                } else {
                    last.next().ok_or(AddError::IdTooSmall)
                }
            }
            Some(p) => {
                let id = if !p.seq_given && p.id.ms == last.ms {
                    if last.seq == u64::MAX {
                        return Err(AddError::IdTooSmall);
                    }
                    StreamId::new(last.ms, last.seq + 1)
                } else {
                    p.id
                };
                if id <= last {
                    return Err(AddError::IdTooSmall);
                }
                Ok(id)
            }
        }
    }

    /// Appends an entry with `id` (which must be above `last_id`) and the interleaved
    /// `fields_values`, opening a new node where Redis would.
    pub fn append<T: AsRef<[u8]>>(
        &mut self,
        id: StreamId,
        fields_values: &[T],
        limits: &EncodingLimits,
    ) -> Result<(), AddError> {
        let total: usize = fields_values.iter().map(|b| b.as_ref().len()).sum();
        if total > NODE_MAX_BYTES_CAP {
            return Err(AddError::TooLarge);
        }
        let pairs = fields_values.len() / 2;
        let max_bytes = match limits.stream_node_max_bytes {
            0 => NODE_MAX_BYTES_CAP,
            n => n.min(NODE_MAX_BYTES_CAP),
        };
        let max_entries = limits.stream_node_max_entries as u64;
        let tail_full = match self.nodes.values().next_back() {
            None => true,
            Some(tail) => {
                tail.lp_bytes() + total >= max_bytes
                    || (max_entries != 0 && tail.live + tail.deleted >= max_entries)
            }
        };
        if tail_full {
            if let Some(tail) = self.nodes.values_mut().next_back() {
                tail.records.shrink_to_fit();
            }
            let mut names = Vec::new();
            let mut lp_body = listpack::int_len(pairs as i64) + listpack::int_len(0);
            for pair in fields_values.chunks(2) {
                put_bytes(&mut names, pair[0].as_ref());
                lp_body += listpack::str_len(pair[0].as_ref());
            }
            let node = Node {
                master_fields: names.into_boxed_slice(),
                master_count: pairs,
                records: Vec::new(),
                live: 0,
                deleted: 0,
                lp_body,
                last: id,
            };
            self.nodes.insert(id, node);
        }
        let (&key, node) = self
            .nodes
            .iter_mut()
            .next_back()
            .expect("a tail node exists");
        let same = pairs == node.master_count && {
            let mut names = Reader::new(&node.master_fields);
            fields_values
                .chunks(2)
                .all(|pair| names.bytes() == pair[0].as_ref())
        };
        let ms_delta = id.ms.wrapping_sub(key.ms);
        let seq_delta = id.seq.wrapping_sub(key.seq);
        let mut rec = Vec::with_capacity(total + 4 * fields_values.len() + 24);
        rec.push(if same { FLAG_SAME_FIELDS } else { 0 });
        put_varint(&mut rec, ms_delta);
        put_varint(&mut rec, seq_delta);
        let mut lp = listpack::int_len(rec[0] as i64)
            + listpack::int_len(ms_delta as i64)
            + listpack::int_len(seq_delta as i64);
        if !same {
            put_varint(&mut rec, pairs as u64);
            lp += listpack::int_len(pairs as i64);
        }
        for pair in fields_values.chunks(2) {
            if !same {
                put_bytes(&mut rec, pair[0].as_ref());
                lp += listpack::str_len(pair[0].as_ref());
            }
            put_bytes(&mut rec, pair[1].as_ref());
            lp += listpack::str_len(pair[1].as_ref());
        }
        // The trailing element counts the entry's elements, so Redis can walk it backwards.
        let elements = pairs + 3 + if same { 0 } else { pairs + 1 };
        lp += listpack::int_len(elements as i64);
        put_varint(&mut node.records, rec.len() as u64);
        node.records.extend_from_slice(&rec);
        node.live += 1;
        node.lp_body += lp;
        node.last = id;
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// The live entries with IDs in `start..=end`, in order or reversed.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        let nodes: Box<dyn Iterator<Item = (&StreamId, &Node)> + '_> = if start > end {
            Box::new(std::iter::empty())
        } else if rev {
            Box::new(self.nodes.range(..=end).rev())
        } else {
            // The node holding `start` is keyed at or before it.
            let from = self
                .nodes
                .range(..=start)
                .next_back()
                .map_or(start, |(k, _)| *k);
            Box::new(self.nodes.range(from..))
        };
        Range {
            nodes,
            current: None,
            start,
            end,
            rev,
            done: start > end,
        }
    }

    /// Every live entry, in order.
    pub fn iter(&self) -> Range<'_> {
        self.range(StreamId::MIN, StreamId::MAX, false)
    }

    /// The live entry with `id`.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        self.range(id, id, false).next()
    }

    /// True if a live entry has `id`.
    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The ID of the last live entry.
    pub fn last_live_id(&self) -> Option<StreamId> {
        self.range(StreamId::MIN, StreamId::MAX, true)
            .next()
            .map(|e| e.id)
    }

    /// The ID of the first entry still stored, tombstones included (what Redis writes as the
    /// exact MINID when it rewrites an approximate trim); MAX when there is none.
    pub fn first_stored_id(&self) -> StreamId {
        match self.nodes.iter().next() {
            Some((&key, node)) if !node.records.is_empty() => node.record_at(key, 0).0.id,
            _ => StreamId::MAX,
        }
    }

    /// Deletes the live entry `id`; false if there is none. A node whose last live entry goes
    /// is dropped, as Redis drops the listpack.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let mut pos = 0;
        let found = loop {
            if pos >= node.records.len() {
                break None;
            }
            let (rec, next) = node.record_at(key, pos);
            if rec.id == id && rec.flags & FLAG_DELETED == 0 {
                break Some(rec.flags_at);
            }
            if rec.id > id {
                break None;
            }
            pos = next;
        };
        let Some(flags_at) = found else { return false };
        if node.live == 1 {
            self.nodes.remove(&key);
        } else {
            node.records[flags_at] |= FLAG_DELETED;
            node.live -= 1;
            node.deleted += 1;
        }
        self.length -= 1;
        true
    }

    /// Updates the history counters after XDEL removed entries: the largest deleted ID, and
    /// the first entry's ID when `first_deleted` (the recorded first entry was among them).
    pub fn note_xdel(&mut self, max_deleted: StreamId, first_deleted: bool) {
        if max_deleted > self.max_deleted_id {
            self.max_deleted_id = max_deleted;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if first_deleted {
            self.first_id = self.first_live_id();
        }
    }

    fn first_live_id(&self) -> StreamId {
        self.iter().next().map_or(StreamId::MIN, |e| e.id)
    }

    /// Trims as Redis's `streamTrim`: whole nodes from the front, then (unless `approx`)
    /// entries inside the first node that must stay; `limit` (0: none) bounds the entries
    /// removed with whole nodes. Returns how many entries were removed.
    pub fn trim(&mut self, by: TrimBy, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        while let Some(mut first) = self.nodes.first_entry() {
            if let TrimBy::MaxLen(max) = by {
                if self.length <= max {
                    break;
                }
            }
            let key = *first.key();
            let node = first.get_mut();
            let entries = node.live;
            if limit != 0 && removed + entries > limit {
                break;
            }
            let whole = match by {
                TrimBy::MaxLen(max) => self.length - entries >= max,
                TrimBy::MinId(min) => node.last < min,
            };
            if whole {
                first.remove();
                self.length -= entries;
                removed += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut pos = 0;
            while pos < node.records.len() {
                let (rec, next) = node.record_at(key, pos);
                let stop = match by {
                    TrimBy::MaxLen(max) => self.length <= max,
                    TrimBy::MinId(min) => rec.id >= min,
                };
                if stop {
                    break;
                }
                if rec.flags & FLAG_DELETED == 0 {
                    let at = rec.flags_at;
                    node.records[at] |= FLAG_DELETED;
                    node.live -= 1;
                    node.deleted += 1;
                    self.length -= 1;
                    removed += 1;
                }
                pos = next;
            }
            break;
        }
        self.first_id = if self.length == 0 {
            StreamId::MIN
        } else {
            self.first_live_id()
        };
        removed
    }

    /// Nodes (listpacks) the stream has: XINFO's `radix-tree-keys`.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes of the radix tree Redis would build over the node keys: XINFO's
    /// `radix-tree-nodes`. A compressed trie of 16-byte keys: one node per branching point,
    /// per run of single-child positions, and per key end, plus the root.
    pub fn radix_tree_nodes(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.radix_key()).collect();
        if keys.is_empty() {
            return 1;
        }
        fn count(keys: &[[u8; 16]], depth: usize) -> u64 {
            if depth == 16 {
                return 1;
            }
            let (first, last) = (&keys[0], &keys[keys.len() - 1]);
            let common = (depth..16).take_while(|&i| first[i] == last[i]).count();
            if common > 0 {
                return 1 + count(keys, depth + common);
            }
            let mut total = 1;
            let mut i = 0;
            while i < keys.len() {
                let byte = keys[i][depth];
                let j = i + keys[i..].iter().take_while(|k| k[depth] == byte).count();
                total += count(&keys[i..j], depth + 1);
                i = j;
            }
            total
        }
        count(&keys, 0)
    }

    /// True if a tombstone may lie in `start..=end` (None: unbounded), as Redis's
    /// `streamRangeHasTombstones` judges from the largest deleted ID.
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() || self.first_id > self.max_deleted_id
        {
            return false;
        }
        let start = start.unwrap_or(StreamId::MIN);
        let end = end.unwrap_or(StreamId::MAX);
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// How many entries had been added up to `id`, when it can be known (Redis's
    /// `streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_distance(&self, id: StreamId) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.length as i64);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.length as i64 + 1);
            }
        }
        None
    }

    /// Approximate heap bytes used.
    pub fn memory_usage(&self) -> usize {
        self.nodes
            .values()
            .map(|n| {
                std::mem::size_of::<Node>() + 32 + n.records.capacity() + n.master_fields.len()
            })
            .sum()
    }
}

/// Iterator over a range of live entries.
pub struct Range<'a> {
    nodes: Box<dyn Iterator<Item = (&'a StreamId, &'a Node)> + 'a>,
    /// The node being walked: its key, the node, and its record offsets left to visit (in
    /// visiting order, reversed so the next one is at the end).
    current: Option<(StreamId, &'a Node, Vec<usize>)>,
    start: StreamId,
    end: StreamId,
    rev: bool,
    done: bool,
}

impl<'a> Iterator for Range<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        while !self.done {
            if let Some((key, node, offsets)) = self.current.as_mut() {
                let (key, node) = (*key, *node);
                if let Some(pos) = offsets.pop() {
                    let (rec, _) = node.record_at(key, pos);
                    if self.rev {
                        if rec.id < self.start {
                            self.done = true;
                            return None;
                        }
                        if rec.id > self.end {
                            continue;
                        }
                    } else {
                        if rec.id > self.end {
                            self.done = true;
                            return None;
                        }
                        if rec.id < self.start {
                            continue;
                        }
                    }
                    if rec.flags & FLAG_DELETED != 0 {
                        continue;
                    }
                    return Some(node.entry(rec));
                }
                self.current = None;
            }
            match self.nodes.next() {
                Some((key, node)) => {
                    let mut offsets = node.record_offsets();
                    if !self.rev {
                        offsets.reverse();
                    }
                    self.current = Some((*key, node, offsets));
                }
                None => self.done = true,
            }
        }
        None
    }
}

/// A delivered entry not yet acknowledged (Redis's NACK).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEntry {
    /// The consumer it was last delivered to.
    pub consumer: Arc<[u8]>,
    /// When it was last delivered (unix ms).
    pub delivery_time: i64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consumer {
    /// When the consumer last read or claimed (unix ms).
    pub seen_time: i64,
    /// IDs of the group's pending entries owned by this consumer.
    pub pending: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerGroup {
    /// The last ID delivered to the group.
    pub last_id: StreamId,
    /// The logical read counter of `last_id`, when known.
    pub entries_read: Option<i64>,
    /// The group's pending entries.
    pub pending: BTreeMap<StreamId, PendingEntry>,
    /// Consumers by name.
    pub consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

impl ConsumerGroup {
    /// A group positioned after `last_id`.
    pub fn new(last_id: StreamId, entries_read: Option<i64>) -> Self {
        ConsumerGroup {
            last_id,
            entries_read,
            pending: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Creates consumer `name` seen at `now`; false if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            Arc::from(name),
            Consumer {
                seen_time: now,
                pending: BTreeSet::new(),
            },
        );
        true
    }

    /// The stored name of consumer `name`, creating it (seen at `now`) if needed; the flag
    /// tells whether it was created. An existing consumer's seen time is refreshed.
    pub fn touch_consumer(&mut self, name: &[u8], now: i64) -> (Arc<[u8]>, bool) {
        let created = self.create_consumer(name, now);
        if let Some(c) = self.consumers.get_mut(name) {
            c.seen_time = now;
        }
        let stored = self
            .consumers
            .get_key_value(name)
            .map(|(k, _)| k.clone())
            .expect("just ensured");
        (stored, created)
    }

    /// Removes consumer `name` and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pending {
            self.pending.remove(id);
        }
        Some(consumer.pending.len())
    }

    /// Records that `id` was delivered to `consumer` at `now` by a read (a fresh delivery count
    /// of 1, moving the entry from another consumer if it was pending there).
    pub fn deliver(&mut self, id: StreamId, consumer: &Arc<[u8]>, now: i64) {
        if let Some(old) = self.pending.get(&id).map(|p| p.consumer.clone()) {
            if let Some(c) = self.consumers.get_mut(&old) {
                c.pending.remove(&id);
            }
        }
        self.pending.insert(
            id,
            PendingEntry {
                consumer: consumer.clone(),
                delivery_time: now,
                delivery_count: 1,
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pending.insert(id);
        }
    }

    /// Gives pending entry `id` to `consumer`, creating the entry (delivered once) when absent,
    /// as XCLAIM does; returns it for the caller to update its delivery data.
    pub fn assign(&mut self, id: StreamId, consumer: &Arc<[u8]>) -> &mut PendingEntry {
        let previous = self.pending.get(&id).map(|p| p.consumer.clone());
        if previous.as_ref() != Some(consumer) {
            if let Some(c) = previous.and_then(|old| self.consumers.get_mut(&old)) {
                c.pending.remove(&id);
            }
            if let Some(c) = self.consumers.get_mut(consumer) {
                c.pending.insert(id);
            }
        }
        let entry = self.pending.entry(id).or_insert_with(|| PendingEntry {
            consumer: consumer.clone(),
            delivery_time: 0,
            delivery_count: 1,
        });
        entry.consumer = consumer.clone();
        entry
    }

    /// Drops pending entry `id` from the group and its consumer; returns it if it existed.
    pub fn ack(&mut self, id: StreamId) -> Option<PendingEntry> {
        let entry = self.pending.remove(&id)?;
        if let Some(c) = self.consumers.get_mut(&entry.consumer) {
            c.pending.remove(&id);
        }
        Some(entry)
    }

    /// Approximate heap bytes used.
    fn memory_usage(&self) -> usize {
        self.pending.len() * 64
            + self
                .consumers
                .iter()
                .map(|(name, c)| 64 + name.len() + c.pending.len() * 24)
                .sum::<usize>()
    }
}

/// A stream value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    /// The entries and their history counters.
    pub entries: Entries,
    /// Consumer groups by name.
    pub groups: BTreeMap<Box<[u8]>, ConsumerGroup>,
}

impl Stream {
    /// An empty stream.
    pub fn new() -> Self {
        Stream::default()
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    /// Approximate heap bytes used.
    pub fn memory_usage(&self) -> usize {
        self.entries.memory_usage()
            + self
                .groups
                .iter()
                .map(|(name, g)| 96 + name.len() + g.memory_usage())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn add(s: &mut Entries, i: StreamId, pairs: &[&str], limits: &EncodingLimits) {
        s.append(i, pairs, limits).unwrap();
    }

    #[test]
    fn parses_ids_like_redis() {
        let p = |s: &str| parse_id(s.as_bytes(), 0, true, true).map(|p| (p.id, p.seq_given));
        assert_eq!(p("5-3"), Some((id(5, 3), true)));
        assert_eq!(p("5"), Some((id(5, 0), true)));
        assert_eq!(p("5-*"), Some((id(5, 0), false)));
        assert_eq!(p("-"), None);
        assert_eq!(p("+"), None);
        assert_eq!(p("01-1"), Some((id(1, 1), true)));
        assert_eq!(p(" 8"), Some((id(8, 0), true)));
        assert_eq!(p("+9"), Some((id(9, 0), true)));
        assert_eq!(p("11--1"), None);
        assert_eq!(p("11--01"), Some((id(11, u64::MAX), true)));
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(p("1-*x"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("1-"), None);
        let loose = parse_id(b"+", 0, false, false).unwrap();
        assert_eq!(loose.id, StreamId::MAX);
        assert_eq!(
            parse_id(b"7", u64::MAX, false, false).unwrap().id,
            id(7, u64::MAX)
        );
        assert_eq!(parse_id(b"5\0junk", 0, true, false).unwrap().id, id(5, 0));
        assert_eq!(parse_id(&[b'1'; 128], 0, true, false), None);
    }

    #[test]
    fn nodes_split_at_redis_entry_and_byte_limits() {
        let limits = EncodingLimits::default();
        let mut s = Entries::default();
        for i in 1..=250 {
            add(&mut s, id(i, 0), &["f", "v"], &limits);
        }
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.length, 250);
        // Big values fill a node by bytes first.
        let mut big = Entries::default();
        let v = "x".repeat(1000);
        for i in 1..=10 {
            add(&mut big, id(i, 0), &["f", &v], &limits);
        }
        assert_eq!(big.node_count(), 3, "as Redis 7.0 with 4096-byte nodes");
    }

    #[test]
    fn ranges_skip_tombstones_both_ways() {
        let limits = EncodingLimits {
            stream_node_max_entries: 3,
            ..EncodingLimits::default()
        };
        let mut s = Entries::default();
        for i in 1..=10 {
            add(&mut s, id(i, 1), &["a", "1", "b", "2"], &limits);
        }
        add(&mut s, id(11, 1), &["c", "3"], &limits);
        assert!(s.delete(id(5, 1)));
        assert!(!s.delete(id(5, 1)));
        let fwd: Vec<u64> = s
            .range(id(3, 0), id(8, 0), false)
            .map(|e| e.id.ms)
            .collect();
        assert_eq!(fwd, vec![3, 4, 6, 7]);
        let back: Vec<u64> = s.range(id(3, 0), id(8, 0), true).map(|e| e.id.ms).collect();
        assert_eq!(back, vec![7, 6, 4, 3]);
        let last = s.get(id(11, 1)).unwrap();
        let pairs: Vec<_> = last.pairs().collect();
        assert_eq!(pairs, vec![(&b"c"[..], &b"3"[..])]);
        let same = s.get(id(2, 1)).unwrap();
        assert_eq!(
            same.pairs().collect::<Vec<_>>(),
            vec![(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"2"[..])]
        );
    }

    #[test]
    fn deleting_a_nodes_last_entry_drops_the_node() {
        let limits = EncodingLimits {
            stream_node_max_entries: 2,
            ..EncodingLimits::default()
        };
        let mut s = Entries::default();
        for i in 1..=4 {
            add(&mut s, id(i, 0), &["a", "1"], &limits);
        }
        assert_eq!(s.node_count(), 2);
        s.delete(id(1, 0));
        assert_eq!(s.node_count(), 2);
        s.delete(id(2, 0));
        assert_eq!(s.node_count(), 1);
        assert_eq!(s.first_stored_id(), id(3, 0));
    }

    #[test]
    fn trimming_exact_and_approximate() {
        let limits = EncodingLimits::default();
        let mut s = Entries::default();
        for i in 1..=250 {
            add(&mut s, id(i, 0), &["f", "v"], &limits);
        }
        assert_eq!(s.trim(TrimBy::MaxLen(120), true, 10_000), 100);
        assert_eq!(s.length, 150);
        assert_eq!(s.trim(TrimBy::MaxLen(120), false, 0), 30);
        assert_eq!(s.first_id, id(131, 0));
        assert_eq!(s.trim(TrimBy::MinId(id(200, 0)), false, 0), 69);
        assert_eq!(s.iter().next().unwrap().id, id(200, 0));
        assert_eq!(
            s.first_stored_id(),
            id(101, 0),
            "tombstones stay until their node goes"
        );
        // LIMIT counts live entries: the one left in the second node fits, the third node not.
        assert_eq!(s.trim(TrimBy::MaxLen(0), true, 10), 1);
        assert_eq!(s.length, 50);
    }

    #[test]
    fn radix_tree_node_counts() {
        let limits = EncodingLimits {
            stream_node_max_entries: 1,
            ..EncodingLimits::default()
        };
        let mut s = Entries::default();
        assert_eq!(s.radix_tree_nodes(), 1);
        add(&mut s, id(1, 1), &["a", "1"], &limits);
        assert_eq!(s.radix_tree_nodes(), 2);
        add(&mut s, id(2, 1), &["a", "1"], &limits);
        // root run of 7 equal bytes, a branch, then two runs each ending in a key.
        assert_eq!(s.radix_tree_nodes(), 6);
    }

    #[test]
    fn next_ids() {
        let limits = EncodingLimits::default();
        let mut s = Entries::default();
        assert_eq!(s.next_id(None, 100), Ok(id(100, 0)));
        add(&mut s, id(100, 5), &["a", "1"], &limits);
        assert_eq!(s.next_id(None, 50), Ok(id(100, 6)));
        let star = |ms| {
            Some(ParsedId {
                id: id(ms, 0),
                seq_given: false,
            })
        };
        assert_eq!(s.next_id(star(100), 0), Ok(id(100, 6)));
        assert_eq!(s.next_id(star(99), 0), Err(AddError::IdTooSmall));
        assert_eq!(s.next_id(star(101), 0), Ok(id(101, 0)));
        let exact = Some(ParsedId {
            id: id(100, 5),
            seq_given: true,
        });
        assert_eq!(s.next_id(exact, 0), Err(AddError::IdTooSmall));
    }
}

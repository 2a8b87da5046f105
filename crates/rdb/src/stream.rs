//! Streams (types 15, 19, 21): radix-tree nodes keyed by master ID, each a listpack of a master
//! entry followed by delta-encoded entries, then metadata and consumer groups.
//!
//! Node listpack layout (Redis `t_stream.c`):
//! `count, deleted, num-fields, field_1..field_N, 0` (master entry), then per entry
//! `flags, ms-diff, seq-diff, [num-fields, field_1, value_1, ... | value_1 ... value_N], lp-count`,
//! where flags bit 1 = deleted, bit 2 = same fields as the master entry (field names omitted),
//! the diffs are relative to the master ID, and lp-count = N+3 (same fields) or 2N+4.

use std::collections::HashSet;

use crate::cursor::{Cursor, PResult};
use crate::encode::{write_len, write_string};
use crate::listpack::{self, LpItem};
use crate::model::{PendingEntry, StreamConsumer, StreamEntry, StreamGroup, StreamId, StreamValue};
use crate::types::{STREAM_LISTPACKS_2, STREAM_LISTPACKS_3};

/// Entry flag: deleted.
const FLAG_DELETED: i64 = 1;
/// Entry flag: same field names as the master entry.
const FLAG_SAMEFIELDS: i64 = 2;
/// Largest listpack a stream node may grow to.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// Reads a 16-byte raw big-endian ID.
fn raw_id(c: &mut Cursor<'_>) -> PResult<StreamId> {
    Ok(StreamId::from_be_bytes(c.array()?))
}

/// Reads an ID stored as two lengths.
fn len_id(c: &mut Cursor<'_>) -> PResult<StreamId> {
    Ok(StreamId {
        ms: c.len()?,
        seq: c.len()?,
    })
}

/// Decodes one node's listpack, appending live entries; `last` tracks ordering across nodes.
fn parse_node(
    master: StreamId,
    items: &[LpItem<'_>],
    out: &mut Vec<StreamEntry>,
    last: &mut Option<StreamId>,
) -> Result<(), &'static str> {
    let int = |i: usize| {
        items
            .get(i)
            .and_then(|x| x.as_int())
            .ok_or("invalid stream listpack integer")
    };
    let count = int(0)?;
    let deleted = int(1)?;
    let nfields = usize::try_from(int(2)?).map_err(|_| "negative stream master field count")?;
    let master_fields = items
        .get(3..3 + nfields.min(items.len()))
        .filter(|f| f.len() == nfields);
    let master_fields = master_fields.ok_or("stream master entry overruns the listpack")?;
    let mut pos = 3 + nfields;
    if int(pos)? != 0 {
        return Err("stream master entry not terminated by 0");
    }
    pos += 1;
    let (mut live, mut dead) = (0i64, 0i64);
    while pos < items.len() {
        let flags = int(pos)?;
        let id = StreamId {
            ms: master.ms.wrapping_add(int(pos + 1)? as u64),
            seq: master.seq.wrapping_add(int(pos + 2)? as u64),
        };
        pos += 3;
        if id < master || last.is_some_and(|l| id <= l) {
            return Err("stream entry IDs out of order");
        }
        *last = Some(id);
        let (n, fields) = if flags & FLAG_SAMEFIELDS != 0 {
            let values = items
                .get(pos..pos + nfields)
                .filter(|_| pos + nfields <= items.len());
            let values = values.ok_or("stream entry overruns the listpack")?;
            pos += nfields;
            let f = master_fields
                .iter()
                .zip(values)
                .map(|(f, v)| (f.to_bytes(), v.to_bytes()))
                .collect::<Vec<_>>();
            (nfields, f)
        } else {
            let n = usize::try_from(int(pos)?).map_err(|_| "negative stream entry field count")?;
            pos += 1;
            let kv = n
                .checked_mul(2)
                .and_then(|m| items.get(pos..pos.checked_add(m)?));
            let kv = kv.ok_or("stream entry overruns the listpack")?;
            pos += 2 * n;
            (
                n,
                kv.chunks_exact(2)
                    .map(|p| (p[0].to_bytes(), p[1].to_bytes()))
                    .collect(),
            )
        };
        let want = if flags & FLAG_SAMEFIELDS != 0 {
            n + 3
        } else {
            2 * n + 4
        };
        if int(pos)? != want as i64 {
            return Err("stream entry lp-count mismatch");
        }
        pos += 1;
        if flags & FLAG_DELETED != 0 {
            dead += 1;
        } else {
            live += 1;
            out.push(StreamEntry { id, fields });
        }
    }
    if live != count || dead != deleted {
        return Err("stream node entry counts mismatch");
    }
    Ok(())
}

/// `streamEstimateDistanceFromFirstEverEntry` for type-15 groups, which lack `entries-read`.
fn estimate_entries_read(s: &StreamValue, id: StreamId) -> Option<u64> {
    let length = s.entries.len() as u64;
    if s.entries_added == 0 {
        return Some(0);
    }
    if length == 0 && id <= s.last_id {
        return Some(s.entries_added);
    }
    if id == s.last_id {
        return Some(s.entries_added);
    } else if id > s.last_id {
        return None;
    }
    let zero = StreamId::default();
    if s.max_deleted_id == zero || s.max_deleted_id < s.first_id {
        if id < s.first_id {
            return Some(s.entries_added - length);
        } else if id == s.first_id {
            return Some(s.entries_added - length + 1);
        }
    }
    None
}

/// Reads a stream value of type `t` (15, 19 or 21).
pub(crate) fn read(c: &mut Cursor<'_>, t: u8) -> PResult<StreamValue> {
    let nodes = c.len()?;
    let mut s = StreamValue::default();
    let mut last: Option<StreamId> = None;
    let mut prev_master: Option<StreamId> = None;
    for _ in 0..nodes {
        let at = c.pos;
        let key = c.string()?;
        let key: [u8; 16] = key
            .try_into()
            .map_err(|_| c.corrupt_at(at, "stream node key is not a 16-byte ID"))?;
        let master = StreamId::from_be_bytes(key);
        if prev_master.is_some_and(|p| p >= master) {
            return Err(c.corrupt_at(at, "stream nodes out of order"));
        }
        prev_master = Some(master);
        let at = c.pos;
        let lp = c.string()?;
        let items = listpack::parse(&lp).map_err(|r| c.corrupt_at(at, r))?;
        if items.is_empty() {
            return Err(c.corrupt_at(at, "empty listpack inside stream"));
        }
        parse_node(master, &items, &mut s.entries, &mut last).map_err(|r| c.corrupt_at(at, r))?;
    }
    let at = c.pos;
    let length = c.len()?;
    if length != s.entries.len() as u64 {
        return Err(c.corrupt_at(at, "stream length differs from its entries"));
    }
    s.last_id = len_id(c)?;
    if t >= STREAM_LISTPACKS_2 {
        s.first_id = len_id(c)?;
        s.max_deleted_id = len_id(c)?;
        s.entries_added = c.len()?;
    } else {
        s.first_id = s.entries.first().map(|e| e.id).unwrap_or_default();
        s.entries_added = length;
    }
    let ngroups = c.len()?;
    let mut group_names = HashSet::new();
    for _ in 0..ngroups {
        let at = c.pos;
        let name = c.string()?;
        if !group_names.insert(name.clone()) {
            return Err(c.corrupt_at(at, "duplicated consumer group name"));
        }
        let last_id = len_id(c)?;
        let entries_read = if t >= STREAM_LISTPACKS_2 {
            Some(c.len()?).filter(|&v| v != u64::MAX)
        } else {
            estimate_entries_read(&s, last_id)
        };
        let n = c.len()?;
        let mut pending = Vec::with_capacity(c.cap(n, 25));
        let mut pel = HashSet::new();
        for _ in 0..n {
            let at = c.pos;
            let id = raw_id(c)?;
            if !pel.insert(id) {
                return Err(c.corrupt_at(at, "duplicated global PEL entry"));
            }
            pending.push(PendingEntry {
                id,
                delivery_time_ms: c.i64_le()?,
                delivery_count: c.len()?,
            });
        }
        let n = c.len()?;
        let mut consumers = Vec::with_capacity(c.cap(n, 10));
        let mut consumer_names = HashSet::new();
        for _ in 0..n {
            let at = c.pos;
            let name = c.string()?;
            if !consumer_names.insert(name.clone()) {
                return Err(c.corrupt_at(at, "duplicate stream consumer"));
            }
            let seen_time_ms = c.i64_le()?;
            let active_time_ms = if t >= STREAM_LISTPACKS_3 {
                Some(c.i64_le()?)
            } else {
                None
            };
            let k = c.len()?;
            let mut ids = Vec::with_capacity(c.cap(k, 16));
            let mut own = HashSet::new();
            for _ in 0..k {
                let at = c.pos;
                let id = raw_id(c)?;
                if !pel.contains(&id) {
                    return Err(c.corrupt_at(at, "consumer PEL entry not found in group PEL"));
                }
                if !own.insert(id) {
                    return Err(c.corrupt_at(at, "duplicated consumer PEL entry"));
                }
                ids.push(id);
            }
            consumers.push(StreamConsumer {
                name,
                seen_time_ms,
                active_time_ms,
                pending: ids,
            });
        }
        s.groups.push(StreamGroup {
            name,
            last_id,
            entries_read,
            pending,
            consumers,
        });
    }
    Ok(s)
}

/// Encoded size of a listpack integer element (encoding, data and back-length).
fn lp_int_size(v: i64) -> usize {
    let mut b = listpack::Builder::new();
    b.push_int(v);
    b.total_bytes() - 7
}

/// A node being filled: master ID and fields, entry count, and the listpack after `count`.
struct Node {
    master: StreamId,
    fields: Vec<Vec<u8>>,
    count: i64,
    body: listpack::Builder,
}

impl Node {
    /// Total listpack size as Redis sees it (`count` encoded at its current value).
    fn lp_bytes(&self) -> usize {
        self.body.total_bytes() + lp_int_size(self.count)
    }

    /// The finished listpack.
    fn finish(self) -> (StreamId, Vec<u8>) {
        let mut b = listpack::Builder::new();
        b.push_int(self.count);
        b.append_builder(&self.body);
        (self.master, b.finish())
    }
}

/// Splits entries into node listpacks exactly as successive `XADD`s would in Redis 7.0.
fn build_nodes(s: &StreamValue, max_bytes: usize, max_entries: usize) -> Vec<(StreamId, Vec<u8>)> {
    let max_bytes = if max_bytes == 0 || max_bytes > LISTPACK_MAX_SIZE {
        LISTPACK_MAX_SIZE
    } else {
        max_bytes
    };
    let mut nodes = Vec::new();
    let mut cur: Option<Node> = None;
    for e in &s.entries {
        let totelelen: usize = e.fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        if let Some(n) = &cur {
            if n.lp_bytes() + totelelen >= max_bytes
                || (max_entries != 0 && n.count as usize >= max_entries)
            {
                nodes.push(cur.take().map(Node::finish).expect("node"));
            }
        }
        let node = cur.get_or_insert_with(|| {
            let mut body = listpack::Builder::new();
            body.push_int(0); // deleted
            body.push_int(e.fields.len() as i64);
            for (f, _) in &e.fields {
                body.push(f);
            }
            body.push_int(0); // master entry terminator
            Node {
                master: e.id,
                fields: e.fields.iter().map(|(f, _)| f.clone()).collect(),
                count: 0,
                body,
            }
        });
        let same = node.fields.len() == e.fields.len()
            && node.fields.iter().zip(&e.fields).all(|(a, (b, _))| a == b);
        let b = &mut node.body;
        b.push_int(if same { FLAG_SAMEFIELDS } else { 0 });
        b.push_int(e.id.ms.wrapping_sub(node.master.ms) as i64);
        b.push_int(e.id.seq.wrapping_sub(node.master.seq) as i64);
        if !same {
            b.push_int(e.fields.len() as i64);
        }
        for (f, v) in &e.fields {
            if !same {
                b.push(f);
            }
            b.push(v);
        }
        let n = e.fields.len() as i64;
        b.push_int(if same { n + 3 } else { 2 * n + 4 });
        node.count += 1;
    }
    nodes.extend(cur.map(Node::finish));
    nodes
}

/// Writes a stream as type 19 (`STREAM_LISTPACKS_2`).
pub(crate) fn write(
    out: &mut Vec<u8>,
    s: &StreamValue,
    compress: bool,
    max_bytes: usize,
    max_entries: usize,
) {
    let nodes = build_nodes(s, max_bytes, max_entries);
    write_len(out, nodes.len() as u64);
    for (id, lp) in &nodes {
        write_string(out, &id.to_be_bytes(), compress);
        write_string(out, lp, compress);
    }
    write_len(out, s.entries.len() as u64);
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        write_len(out, id.ms);
        write_len(out, id.seq);
    }
    write_len(out, s.entries_added);
    write_len(out, s.groups.len() as u64);
    for g in &s.groups {
        write_string(out, &g.name, compress);
        write_len(out, g.last_id.ms);
        write_len(out, g.last_id.seq);
        write_len(out, g.entries_read.unwrap_or(u64::MAX));
        write_len(out, g.pending.len() as u64);
        for p in &g.pending {
            out.extend_from_slice(&p.id.to_be_bytes());
            out.extend_from_slice(&p.delivery_time_ms.to_le_bytes());
            write_len(out, p.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for c in &g.consumers {
            write_string(out, &c.name, compress);
            out.extend_from_slice(&c.seen_time_ms.to_le_bytes());
            write_len(out, c.pending.len() as u64);
            for id in &c.pending {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
}

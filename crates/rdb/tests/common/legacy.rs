//! Test-only writers for encodings Redis 7.0 no longer writes (ziplist, zipmap, type-15 streams,
//! string-score zsets), to build old-format files that real redis-server 7.0 still loads.

use rdb::num::canonical_i64;
use rdb::{StreamEntry, StreamId};

/// Appends an RDB length.
pub fn len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends a raw RDB string.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A ziplist as Redis ≤ 6.2 builds it (integer-encodes canonical integers shorter than 32 bytes).
pub fn ziplist(items: &[Vec<u8>]) -> Vec<u8> {
    let mut zl = vec![0u8; 10];
    let mut prev = 0usize;
    let mut tail = 10usize;
    for it in items {
        let start = zl.len();
        tail = start;
        if prev < 254 {
            zl.push(prev as u8);
        } else {
            zl.push(0xFE);
            zl.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match canonical_i64(it).filter(|_| it.len() < 32) {
            Some(v @ 0..=12) => zl.push(0xF1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => zl.extend_from_slice(&[0xFE, v as i8 as u8]),
            Some(v) if i16::try_from(v).is_ok() => {
                zl.push(0xC0);
                zl.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-8388608..=8388607).contains(&v) => {
                zl.push(0xF0);
                zl.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                zl.push(0xD0);
                zl.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                zl.push(0xE0);
                zl.extend_from_slice(&v.to_le_bytes());
            }
            None => {
                let n = it.len();
                if n <= 63 {
                    zl.push(n as u8);
                } else if n <= 16383 {
                    zl.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
                } else {
                    zl.push(0x80);
                    zl.extend_from_slice(&(n as u32).to_be_bytes());
                }
                zl.extend_from_slice(it);
            }
        }
        prev = zl.len() - start;
    }
    zl.push(0xFF);
    let total = zl.len() as u32;
    zl[0..4].copy_from_slice(&total.to_le_bytes());
    zl[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
    zl[8..10].copy_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
    zl
}

/// A zipmap (Redis ≤ 2.4 small hash).
pub fn zipmap(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut zm = vec![pairs.len().min(254) as u8];
    let zlen = |zm: &mut Vec<u8>, n: usize| {
        if n < 254 {
            zm.push(n as u8);
        } else {
            zm.push(254);
            zm.extend_from_slice(&(n as u32).to_le_bytes());
        }
    };
    for (k, v) in pairs {
        zlen(&mut zm, k.len());
        zm.extend_from_slice(k);
        zlen(&mut zm, v.len());
        zm.push(0); // free
        zm.extend_from_slice(v);
    }
    zm.push(0xFF);
    zm
}

/// Node listpacks of a stream, one node per `per_node` entries; `deleted` entries are kept in
/// the listpack with the deleted flag (they must not be in the live entry list given).
pub fn stream_nodes(entries: &[(StreamEntry, bool)], per_node: usize) -> Vec<(StreamId, Vec<u8>)> {
    let mut out = Vec::new();
    for chunk in entries.chunks(per_node) {
        let master = chunk[0].0.id;
        let mfields: Vec<&Vec<u8>> = chunk[0].0.fields.iter().map(|(f, _)| f).collect();
        let live = chunk.iter().filter(|(_, d)| !d).count() as i64;
        let dead = chunk.len() as i64 - live;
        let mut b = rdb::listpack::Builder::new();
        b.push_int(live);
        b.push_int(dead);
        b.push_int(mfields.len() as i64);
        for f in &mfields {
            b.push(f);
        }
        b.push_int(0);
        for (e, deleted) in chunk {
            let same = e.fields.len() == mfields.len()
                && e.fields.iter().zip(&mfields).all(|((f, _), m)| f == *m);
            b.push_int(if same { 2 } else { 0 } | if *deleted { 1 } else { 0 });
            b.push_int((e.id.ms - master.ms) as i64);
            b.push_int(e.id.seq.wrapping_sub(master.seq) as i64);
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
        }
        out.push((master, b.finish()));
    }
    out
}

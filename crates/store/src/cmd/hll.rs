//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST.
//!
//! An HLL is an ordinary string value holding Redis's own representation byte for byte, so that
//! GET, SET, DUMP, RDB files and replication carry it between us and real Redis unchanged:
//!
//! * a 16-byte header: `HYLL`, the encoding byte (0 dense, 1 sparse), 3 unused bytes, and the
//!   cached cardinality as a little-endian u64 whose top bit set means "stale";
//! * dense: 16384 registers of 6 bits packed LSB first (12288 bytes);
//! * sparse: run-length opcodes ZERO `00xxxxxx` (1..64 zero registers), XZERO
//!   `01xxxxxx yyyyyyyy` (1..16384 zero registers) and VAL `1vvvvvxx` (1..4 registers holding
//!   1..32), promoted to dense when a register needs more than 32 or the string would outgrow
//!   `hll-sparse-max-bytes`.
//!
//! Every edit follows Redis's algorithm step by step (where a run is split, which adjacent VAL
//! opcodes are merged afterwards), because the resulting bytes are visible to clients.

use super::keys::error_with_arg;
use super::Ctx;
use crate::keyspace::{notify, Keyspace, WRONGTYPE};
use crate::value::Value;

/// Bytes in the header that precedes both encodings.
const HDR_SIZE: usize = 16;
/// Bits of the hash that select a register.
const P: u32 = 14;
/// Bits of the hash left to count the run of zeroes in.
const Q: u32 = 64 - P;
/// Number of registers.
const REGISTERS: usize = 1 << P;
/// Bits per dense register.
const BITS: usize = 6;
/// Largest value a dense register holds.
const REGISTER_MAX: u16 = (1 << BITS) - 1;
/// Length of a dense HLL string, header included.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
/// Encoding byte of the dense representation.
const DENSE: u8 = 0;
/// Encoding byte of the sparse representation.
const SPARSE: u8 = 1;
/// Largest register value a sparse VAL opcode can hold.
const SPARSE_VAL_MAX_VALUE: u8 = 32;
/// Longest run a VAL opcode covers.
const SPARSE_VAL_MAX_LEN: usize = 4;
/// Longest run a one-byte ZERO opcode covers.
const SPARSE_ZERO_MAX_LEN: usize = 64;
/// Longest run an XZERO opcode covers.
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2), the estimator's bias constant for an infinite number of registers.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// Seed of the element hash (MurmurHash64A), fixed by Redis's format.
const HASH_SEED: u64 = 0xadc8_3b19;

/// Reply for a string (or integer) value that is not an HLL.
pub const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
/// Reply for an HLL whose sparse opcodes do not add up to 16384 registers.
pub const CORRUPTED: &str = "INVALIDOBJ Corrupted HLL object detected";

/// The sparse representation does not describe exactly 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupted;

// ------------------------------------------------------------------------------------------
// Hashing

/// MurmurHash2, 64-bit version, reading 8-byte blocks little-endian as Redis does on every
/// architecture.
pub fn murmurhash64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().expect("8-byte block"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the length of its `000..1` pattern (1..=Q+1).
pub fn pattern_len(element: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(element, HASH_SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The sentinel bit bounds the count at Q+1 when the remaining bits are all zero.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ------------------------------------------------------------------------------------------
// Dense registers (`regs` is the part after the header)

/// Register `i` of a dense array. The byte after the last register reads as zero, as the
/// terminator of Redis's sds string does.
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u16;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX) as u8
}

/// Stores `val` (at most 63) in register `i` of a dense array.
fn dense_store(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = val as u16;
    regs[byte] = ((regs[byte] as u16 & !(REGISTER_MAX << fb)) | (v << fb)) as u8;
    if let Some(b1) = regs.get_mut(byte + 1) {
        *b1 = ((*b1 as u16 & !(REGISTER_MAX >> (8 - fb))) | (v >> (8 - fb))) as u8;
    }
}

/// Raises register `i` to `count` if it is lower; true if it changed.
fn dense_raise(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_store(regs, i, count);
        true
    } else {
        false
    }
}

// ------------------------------------------------------------------------------------------
// Sparse opcodes

/// One decoded sparse opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `n` zero registers, one byte.
    Zero(usize),
    /// `n` zero registers, two bytes.
    XZero(usize),
    /// `n` registers holding `value`, one byte.
    Val(u8, usize),
}

impl Op {
    /// Registers covered.
    fn run(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    /// Bytes the opcode takes.
    fn size(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
}

/// Decodes the opcode at `pos`. An XZERO cut short by the end of the string reads a zero
/// second byte, as Redis reads the sds terminator there.
fn decode_op(buf: &[u8], pos: usize) -> Op {
    let b = buf[pos];
    if b & 0xc0 == 0 {
        Op::Zero((b & 0x3f) as usize + 1)
    } else if b & 0x80 != 0 {
        Op::Val(((b >> 2) & 0x1f) + 1, (b & 0x3) as usize + 1)
    } else {
        let low = buf.get(pos + 1).copied().unwrap_or(0) as usize;
        Op::XZero((((b & 0x3f) as usize) << 8 | low) + 1)
    }
}

/// The VAL opcode for `len` (1..=4) registers holding `value` (1..=32).
fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

/// Appends the shortest zero-run opcode for `len` registers (ZERO up to 64, else XZERO).
fn push_zero_run(seq: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        let l = len - 1;
        seq.push(0x40 | (l >> 8) as u8);
        seq.push((l & 0xff) as u8);
    } else {
        seq.push((len - 1) as u8);
    }
}

/// The opcodes of a sparse HLL string (header included in `buf`), in order.
fn sparse_ops(buf: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut pos = HDR_SIZE;
    std::iter::from_fn(move || {
        if pos >= buf.len() {
            return None;
        }
        let op = decode_op(buf, pos);
        pos += op.size();
        Some(op)
    })
}

/// A fresh empty HLL: sparse, one XZERO covering every register, cached cardinality 0.
pub fn new_hll() -> Vec<u8> {
    let mut buf = Vec::with_capacity(HDR_SIZE + 2);
    buf.extend_from_slice(b"HYLL");
    buf.push(SPARSE);
    buf.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        push_zero_run(&mut buf, run);
        left -= run;
    }
    buf
}

/// Marks the cached cardinality stale.
fn invalidate_cache(buf: &mut [u8]) {
    buf[15] |= 0x80;
}

/// The cached cardinality, if it is valid.
fn cached_card(buf: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(buf[8..16].try_into().expect("8-byte field"));
    (card >> 63 == 0).then_some(card)
}

/// Rewrites a sparse HLL as dense in place (header and cached cardinality kept). As the
/// redis-server 7.0.15 we follow (which carries the fix for CVE-2025-32023), the opcodes must
/// cover exactly 16384 registers: running past the end is an error, not a silent stop.
fn sparse_to_dense(buf: &mut Vec<u8>) -> Result<(), Corrupted> {
    if buf[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&buf[..HDR_SIZE]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    let mut idx = 0usize;
    for op in sparse_ops(buf) {
        let run = op.run();
        if idx + run > REGISTERS {
            return Err(Corrupted);
        }
        if let Op::Val(value, _) = op {
            for i in idx..idx + run {
                dense_store(regs, i, value);
            }
        }
        idx += run;
    }
    if idx != REGISTERS {
        return Err(Corrupted);
    }
    *buf = dense;
    Ok(())
}

/// Raises register `index` of a sparse HLL to `count`, splitting the opcode that covers it the
/// way Redis does, or promotes the HLL to dense. True if the register changed.
fn sparse_raise(
    buf: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupted> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote_and_raise(buf, index, count);
    }
    // Step 1: find the opcode covering `index`, and the one before it.
    let end = buf.len();
    let mut pos = HDR_SIZE;
    let mut first = 0usize;
    let mut prev = None;
    let mut span = 0usize;
    while pos < end {
        let op = decode_op(buf, pos);
        span = op.run();
        if index < first + span {
            break;
        }
        prev = Some(pos);
        pos += op.size();
        first += span;
    }
    if span == 0 || pos >= end {
        return Err(Corrupted);
    }
    let op = decode_op(buf, pos);

    // Step 2: the trivial in-place updates.
    match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => {
            buf[pos] = val_op(count, 1);
            merge_adjacent_vals(buf, prev.unwrap_or(HDR_SIZE));
            invalidate_cache(buf);
            return Ok(true);
        }
        _ => {}
    }

    // Step 3: split the run into (before, our register, after).
    let last = first + span - 1;
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Zero(_) | Op::XZero(_) => {
            if index != first {
                push_zero_run(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zero_run(&mut seq, last - index);
            }
        }
        Op::Val(current, _) => {
            if index != first {
                seq.push(val_op(current, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(current, last - index));
            }
        }
    }
    let old_size = op.size();
    let new_len = end + seq.len() - old_size;
    if seq.len() > old_size && new_len > max_bytes {
        return promote_and_raise(buf, index, count);
    }
    // A forged string can end in half an XZERO: Redis still counts two bytes for it, so the
    // new sequence loses its last byte to the same length Redis keeps. (Redis leaves that byte
    // just past the end of its buffer, where a later read of the half opcode finds it; we read
    // zero there, so only such forged values can diverge from Redis.)
    let tail_start = (pos + old_size).min(end);
    buf.splice(pos..tail_start, seq);
    buf.truncate(new_len);

    // Step 4: merge VAL opcodes the split made adjacent.
    merge_adjacent_vals(buf, prev.unwrap_or(HDR_SIZE));
    invalidate_cache(buf);
    Ok(true)
}

/// Converts to dense and raises the register there (the sparse form could not hold it).
fn promote_and_raise(buf: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupted> {
    sparse_to_dense(buf)?;
    dense_raise(&mut buf[HDR_SIZE..], index, count);
    Ok(true)
}

/// Joins neighbouring VAL opcodes with the same value while their runs fit one opcode,
/// looking at up to five opcodes from `start` as Redis does.
fn merge_adjacent_vals(buf: &mut Vec<u8>, start: usize) {
    let mut p = start;
    let mut budget = 5;
    while p < buf.len() && budget > 0 {
        budget -= 1;
        let op = decode_op(buf, p);
        let Op::Val(v1, n1) = op else {
            p += op.size();
            continue;
        };
        if p + 1 < buf.len() {
            if let Op::Val(v2, n2) = decode_op(buf, p + 1) {
                if v1 == v2 && n1 + n2 <= SPARSE_VAL_MAX_LEN {
                    buf[p + 1] = val_op(v1, n1 + n2);
                    buf.remove(p);
                    // Stay on the merged opcode: it may merge with the next one too.
                    continue;
                }
            }
        }
        p += 1;
    }
}

// ------------------------------------------------------------------------------------------
// Whole-HLL operations

/// Adds `element` to the HLL in `buf`; true if a register changed.
pub fn hll_add(
    buf: &mut Vec<u8>,
    element: &[u8],
    sparse_max_bytes: usize,
) -> Result<bool, Corrupted> {
    let (index, count) = pattern_len(element);
    hll_raise(buf, index, count, sparse_max_bytes)
}

/// Raises register `index` of the HLL in `buf` to `count`; true if it changed.
fn hll_raise(
    buf: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max_bytes: usize,
) -> Result<bool, Corrupted> {
    match buf[4] {
        DENSE => Ok(dense_raise(&mut buf[HDR_SIZE..], index, count)),
        SPARSE => sparse_raise(buf, index, count, sparse_max_bytes),
        _ => Err(Corrupted),
    }
}

/// Raises each of `max` to the matching register of the HLL in `buf` (already validated);
/// sparse opcodes must cover exactly 16384 registers, as for [`sparse_to_dense`].
fn merge_registers(max: &mut [u8], buf: &[u8]) -> Result<(), Corrupted> {
    if buf[4] == DENSE {
        let regs = &buf[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(regs, i));
        }
        return Ok(());
    }
    let mut i = 0usize;
    for op in sparse_ops(buf) {
        let run = op.run();
        if i + run > REGISTERS {
            return Err(Corrupted);
        }
        if let Op::Val(value, _) = op {
            for m in &mut max[i..i + run] {
                *m = (*m).max(value);
            }
        }
        i += run;
    }
    if i == REGISTERS {
        Ok(())
    } else {
        Err(Corrupted)
    }
}

/// How many registers hold each value (values above 63 cannot occur).
type Histogram = [u64; 64];

/// The register histogram of an HLL string, and whether its sparse form was well formed.
fn histogram(buf: &[u8]) -> (Histogram, bool) {
    let mut hist = [0u64; 64];
    if buf[4] == DENSE {
        let regs = &buf[HDR_SIZE..];
        for i in 0..REGISTERS {
            hist[dense_get(regs, i) as usize] += 1;
        }
        return (hist, true);
    }
    let mut idx = 0usize;
    for op in sparse_ops(buf) {
        match op {
            Op::Zero(n) | Op::XZero(n) => hist[0] += n as u64,
            Op::Val(value, n) => hist[value as usize] += n as u64,
        }
        idx += op.run();
    }
    (hist, idx == REGISTERS)
}

/// The histogram of plain one-byte-per-register values (multi-key PFCOUNT).
fn raw_histogram(regs: &[u8]) -> Histogram {
    let mut hist = [0u64; 64];
    for &r in regs {
        hist[r as usize & 63] += 1;
    }
    hist
}

/// Ertl's sigma function ("New cardinality estimation algorithms for HyperLogLog sketches").
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// Ertl's tau function.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        // Redis writes pow(1 - x, 2), which its compiler folds into this exact product.
        z -= (1.0 - x) * (1.0 - x) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate of Redis 7.0 (Ertl's improved raw estimator) from a histogram.
fn estimate(hist: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - hist[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += hist[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(hist[0] as f64 / m);
    let e = ALPHA_INF * m * m / z;
    // C's llroundl gives LLONG_MIN for what does not fit (infinite or huge estimates of forged
    // registers), which Redis then reads back as 2^63; follow it to the same reply.
    if e.is_nan() || e >= 9_223_372_036_854_775_808.0 {
        1 << 63
    } else {
        e.round() as u64
    }
}

// ------------------------------------------------------------------------------------------
// Keyspace access

/// The bytes of a string value stored as bytes (not as an integer).
fn sds_bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Emb(b) => Some(&b[..]),
        Value::Raw(b) => Some(&b[..]),
        Value::RawBuf(b) => Some(&b[..]),
        _ => None,
    }
}

/// Checks that `v` holds an HLL, as Redis's `isHLLObjectOrReply`: the error to reply if not.
fn check_hll(v: &Value) -> Result<&[u8], &'static str> {
    if !v.is_string() {
        return Err(WRONGTYPE);
    }
    let Some(b) = sds_bytes(v) else {
        return Err(NOT_HLL);
    };
    let valid = b.len() >= HDR_SIZE
        && &b[..4] == b"HYLL"
        && b[4] <= SPARSE
        && (b[4] != DENSE || b.len() == DENSE_SIZE);
    if valid {
        Ok(b)
    } else {
        Err(NOT_HLL)
    }
}

/// Looks `key` up for writing: its HLL buffer made private and growable (Redis's
/// `dbUnshareStringValue`), None if missing, or the error to reply.
fn hll_for_write<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    key: &[u8],
) -> Result<Option<&'k mut Vec<u8>>, &'static str> {
    match ks.get_mut(db, key) {
        None => Ok(None),
        Some(v) => {
            check_hll(v)?;
            Ok(Some(v.make_raw()))
        }
    }
}

/// The HLL buffer of `key`, created empty if missing (so an existing key was already checked).
fn hll_or_create<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8]) -> &'k mut Vec<u8> {
    if ks.get_mut(db, key).is_none() {
        ks.set(db, key, Value::raw_buf(new_hll()), false);
    }
    ks.get_mut(db, key).expect("just stored").make_raw()
}

/// Merges the HLLs at `argv[from..]` into one-byte registers; missing keys count as empty.
/// Replies the error and returns None on a non-HLL or corrupted value; else also reports
/// whether any input was dense.
fn merge_keys(ctx: &mut Ctx, from: usize) -> Option<(Vec<u8>, bool)> {
    let mut max = vec![0u8; REGISTERS];
    let mut any_dense = false;
    for j in from..ctx.argv.len() {
        let Some(v) = ctx.ks.get(ctx.db, ctx.arg(j)) else {
            continue;
        };
        let bytes = match check_hll(v) {
            Ok(b) => b,
            Err(e) => {
                ctx.out.error(e);
                return None;
            }
        };
        any_dense |= bytes[4] == DENSE;
        if merge_registers(&mut max, bytes).is_err() {
            ctx.out.error(CORRUPTED);
            return None;
        }
    }
    Some((max, any_dense))
}

// ------------------------------------------------------------------------------------------
// Commands

/// PFADD key [element ...]
pub fn pfadd(ctx: &mut Ctx) {
    let (db, key) = (ctx.db, ctx.arg(1));
    let max_bytes = ctx.ks.limits.hll_sparse_max_bytes;
    let mut updated = 0u64;
    let buf = match hll_for_write(ctx.ks, db, key) {
        Err(e) => return ctx.out.error(e),
        Ok(Some(buf)) => buf,
        Ok(None) => {
            updated += 1;
            hll_or_create(ctx.ks, db, key)
        }
    };
    for element in &ctx.argv[2..] {
        match hll_add(buf, element, max_bytes) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            // Redis keeps what was already changed but neither signals nor propagates it.
            Err(Corrupted) => return ctx.out.error(CORRUPTED),
        }
    }
    if updated > 0 {
        invalidate_cache(buf);
        ctx.ks.changed(db, key, notify::STRING, "pfadd");
        // Redis counts one change per updated register (and one for the creation).
        ctx.ks.dirty += updated - 1;
    }
    ctx.out.int((updated > 0) as i64);
}

/// PFCOUNT key [key ...]
pub fn pfcount(ctx: &mut Ctx) {
    if ctx.argv.len() > 2 {
        // The cardinality of the union, computed on a temporary one-byte-per-register HLL.
        let Some((max, _)) = merge_keys(ctx, 1) else {
            return;
        };
        return ctx.out.int(estimate(&raw_histogram(&max)) as i64);
    }
    let (db, key) = (ctx.db, ctx.arg(1));
    match ctx.ks.get(db, key) {
        None => return ctx.out.int(0),
        Some(v) => {
            if let Err(e) = check_hll(v) {
                return ctx.out.error(e);
            }
        }
    }
    let buf = match hll_for_write(ctx.ks, db, key) {
        Ok(Some(buf)) => buf,
        _ => return ctx.out.int(0),
    };
    if let Some(card) = cached_card(buf) {
        return ctx.out.int(card as i64);
    }
    let (hist, well_formed) = histogram(buf);
    if !well_formed {
        return ctx.out.error(CORRUPTED);
    }
    let card = estimate(&hist);
    buf[8..16].copy_from_slice(&card.to_le_bytes());
    // The cache is part of the string's bytes, so Redis treats the refresh as a change: it
    // breaks WATCH, counts dirty and propagates PFCOUNT itself (no keyspace event), although
    // the command is flagged read-only.
    ctx.ks.touch(db, key);
    ctx.ks.dirty += 1;
    ctx.propagate_as(ctx.argv.to_vec());
    // A forged HLL can cache 2^63, which Redis replies as a negative long long.
    ctx.out.int(card as i64);
}

/// PFMERGE destkey [sourcekey ...]
pub fn pfmerge(ctx: &mut Ctx) {
    // The destination is read as one of the inputs (argv[1]), which also validates it.
    let Some((max, any_dense)) = merge_keys(ctx, 1) else {
        return;
    };
    let (db, key) = (ctx.db, ctx.arg(1));
    let max_bytes = ctx.ks.limits.hll_sparse_max_bytes;
    let buf = hll_or_create(ctx.ks, db, key);
    if any_dense && sparse_to_dense(buf).is_err() {
        return ctx.out.error(CORRUPTED);
    }
    for (i, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if buf[4] == DENSE {
            dense_raise(&mut buf[HDR_SIZE..], i, m);
        } else {
            // As Redis, a failure here is ignored: the inputs were all checked above.
            let _ = sparse_raise(buf, i, m, max_bytes);
        }
    }
    invalidate_cache(buf);
    // Redis raises "pfadd" for a merge: it is a mass add of elements.
    ctx.ks.changed(db, key, notify::STRING, "pfadd");
    ctx.out.ok();
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
pub fn pfdebug(ctx: &mut Ctx) {
    let (db, key, sub) = (ctx.db, ctx.arg(2), ctx.arg(1));
    let buf = match hll_for_write(ctx.ks, db, key) {
        Err(e) => return ctx.out.error(e),
        Ok(None) => return ctx.out.error("ERR The specified key does not exist"),
        Ok(Some(buf)) => buf,
    };
    if sub.eq_ignore_ascii_case(b"getreg") {
        let converted = buf[4] == SPARSE;
        if converted && sparse_to_dense(buf).is_err() {
            return ctx.out.error(CORRUPTED);
        }
        ctx.out.array(REGISTERS);
        for i in 0..REGISTERS {
            ctx.out.int(dense_get(&buf[HDR_SIZE..], i) as i64);
        }
        if converted {
            // Counted as a change so the conversion is propagated.
            ctx.ks.dirty += 1;
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if buf[4] != SPARSE {
            return ctx.out.error("ERR HLL encoding is not sparse");
        }
        let decoded: Vec<String> = sparse_ops(buf)
            .map(|op| match op {
                Op::Zero(n) => format!("z:{n}"),
                Op::XZero(n) => format!("Z:{n}"),
                Op::Val(v, n) => format!("v:{v},{n}"),
            })
            .collect();
        ctx.out.bulk(decoded.join(" ").as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        ctx.out
            .simple(if buf[4] == DENSE { "dense" } else { "sparse" });
    } else if sub.eq_ignore_ascii_case(b"todense") {
        let converted = buf[4] == SPARSE;
        if converted {
            if sparse_to_dense(buf).is_err() {
                return ctx.out.error(CORRUPTED);
            }
            ctx.ks.dirty += 1;
        }
        ctx.out.int(converted as i64);
    } else {
        error_with_arg(
            ctx.out,
            "ERR Unknown PFDEBUG subcommand '",
            sub,
            usize::MAX,
            "'",
        );
    }
}

/// PFSELFTEST
pub fn pfselftest(ctx: &mut Ctx) {
    let sparse_max = ctx.ks.limits.hll_sparse_max_bytes;
    match selftest(ctx.ks, sparse_max, 1000, 10_000_000) {
        Ok(()) => ctx.out.ok(),
        Err(msg) => ctx.out.error(&msg),
    }
}

/// Redis's self-test: `cycles` rounds of random register writes read back, then `elements`
/// distinct elements added to a dense and a sparse HLL whose estimates must agree and stay
/// within six standard errors at every power of ten.
fn selftest(
    ks: &mut Keyspace,
    sparse_max: usize,
    cycles: usize,
    elements: u64,
) -> Result<(), String> {
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..cycles {
        // Ten 6-bit values from each random word keeps this quick in debug builds too.
        let mut bits = 0u64;
        for (i, e) in expected.iter_mut().enumerate() {
            if i % 10 == 0 {
                bits = ks.next_random();
            }
            *e = (bits & REGISTER_MAX as u64) as u8;
            bits >>= BITS;
            dense_store(&mut dense[HDR_SIZE..], i, *e);
        }
        for (i, &e) in expected.iter().enumerate() {
            let got = dense_get(&dense[HDR_SIZE..], i);
            if got != e {
                return Err(format!(
                    "TESTFAILED Register {i} should be {e} but is {got}"
                ));
            }
        }
    }

    dense[HDR_SIZE..].fill(0);
    let mut sparse = new_hll();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint = 1u64;
    let seed = ks.next_random();
    for j in 1..=elements {
        let element = (j ^ seed).to_le_bytes();
        let (index, count) = pattern_len(&element);
        dense_raise(&mut dense[HDR_SIZE..], index, count);
        let _ = hll_raise(&mut sparse, index, count, sparse_max);
        if j != checkpoint {
            continue;
        }
        if j < (sparse_max / 2) as u64 && sparse[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let card = estimate(&histogram(&dense).0);
        if card != estimate(&histogram(&sparse).0) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - card as i64).unsigned_abs();
        // At 10 a collision is likely enough to give a false failure: allow one.
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use resp::{Out, Protocol};

    fn run(ks: &mut Keyspace, args: &[&[u8]]) -> (Vec<u8>, Option<Vec<Vec<Bytes>>>) {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = Out::new(Protocol::Resp2);
        let f: fn(&mut Ctx) = match &args[0].to_ascii_lowercase()[..] {
            b"pfadd" => pfadd,
            b"pfcount" => pfcount,
            b"pfmerge" => pfmerge,
            b"pfdebug" => pfdebug,
            other => panic!("no command {other:?}"),
        };
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        f(&mut ctx);
        let propagate = ctx.propagate.take();
        (out.buf, propagate)
    }

    fn reply(ks: &mut Keyspace, args: &[&[u8]]) -> Vec<u8> {
        run(ks, args).0
    }

    fn raw(ks: &mut Keyspace, key: &[u8]) -> Vec<u8> {
        ks.get(0, key)
            .and_then(|v| v.as_bytes())
            .expect("string")
            .into_owned()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn murmur_matches_redis_register_choices() {
        // PFADD h2 c; PFDEBUG GETREG h2 on Redis 7.0 shows register 8436 set to 1.
        assert_eq!(murmurhash64a(b"", 0), 0);
        assert_eq!(pattern_len(b"c"), (8436, 1));
    }

    #[test]
    fn sparse_bytes_match_redis() {
        let mut ks = Keyspace::new(1);
        assert_eq!(
            reply(&mut ks, &[b"PFADD", b"h", b"a", b"b", b"c"]),
            b":1\r\n"
        );
        // GET h on redis-server 7.0.15 after the same PFADD.
        assert_eq!(
            raw(&mut ks, b"h"),
            hex("48594c4c01000000000000000000008060f38050b1844bfb80425a")
        );
        assert_eq!(ks.get(0, b"h").unwrap().encoding(), "raw");
        assert_eq!(
            reply(&mut ks, &[b"PFDEBUG", b"DECODE", b"h"]),
            b"$44\r\nZ:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n"
        );
        assert_eq!(reply(&mut ks, &[b"PFADD", b"h", b"a"]), b":0\r\n");
        assert_eq!(reply(&mut ks, &[b"PFADD", b"h"]), b":0\r\n");
    }

    #[test]
    fn empty_pfadd_creates_a_key_with_a_stale_cache() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        assert_eq!(reply(&mut ks, &[b"PFADD", b"h"]), b":1\r\n");
        // GET h on Redis 7.0: the creation counts as an update, so the cache is marked stale.
        assert_eq!(
            raw(&mut ks, b"h"),
            hex("48594c4c0100000000000000000000807fff")
        );
        assert_eq!(
            ks.notifications.iter().map(|n| n.event).collect::<Vec<_>>(),
            vec!["new", "pfadd"]
        );
        assert!(run(&mut ks, &[b"PFCOUNT", b"h"]).1.is_some());
        let dirty = ks.dirty;
        let (r, prop) = run(&mut ks, &[b"PFCOUNT", b"h"]);
        assert_eq!(r, b":0\r\n");
        assert!(prop.is_none(), "a valid cache is not rewritten");
        assert_eq!(ks.dirty, dirty);
    }

    #[test]
    fn pfcount_caches_and_propagates_the_refresh() {
        let mut ks = Keyspace::new(1);
        reply(&mut ks, &[b"PFADD", b"h", b"a", b"b", b"c"]);
        ks.watch(9, 0, b"h");
        ks.notify_flags = !0;
        let dirty = ks.dirty;
        let (r, prop) = run(&mut ks, &[b"PFCOUNT", b"h"]);
        assert_eq!(r, b":3\r\n");
        assert_eq!(
            prop,
            Some(vec![vec![
                Bytes::from_static(b"PFCOUNT"),
                Bytes::from_static(b"h")
            ]])
        );
        assert_eq!(ks.dirty, dirty + 1);
        assert_eq!(ks.invalidated_watchers, vec![9]);
        assert!(ks.notifications.iter().all(|n| n.event != "pfadd"));
        assert_eq!(&raw(&mut ks, b"h")[8..16], &[3, 0, 0, 0, 0, 0, 0, 0]);
        let (r, prop) = run(&mut ks, &[b"PFCOUNT", b"h"]);
        assert_eq!(r, b":3\r\n");
        assert!(prop.is_none());
    }

    #[test]
    fn dirty_counts_each_register_update() {
        let mut ks = Keyspace::new(1);
        reply(&mut ks, &[b"PFADD", b"h", b"a", b"b", b"c"]);
        assert_eq!(ks.dirty, 4, "creation plus three registers, as Redis");
        reply(&mut ks, &[b"PFADD", b"h", b"a", b"d"]);
        assert_eq!(ks.dirty, 5);
    }

    #[test]
    fn wrong_values_are_refused() {
        let mut ks = Keyspace::new(1);
        ks.set(
            0,
            b"s",
            Value::string(b"hello world, this is not an hll"),
            false,
        );
        ks.set(0, b"i", Value::string(b"12345"), false);
        let not_hll = b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
        assert_eq!(reply(&mut ks, &[b"PFADD", b"s", b"a"]), not_hll);
        assert_eq!(reply(&mut ks, &[b"PFADD", b"i", b"a"]), not_hll);
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"s"]), not_hll);
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"x", b"s"]), not_hll);
        assert_eq!(reply(&mut ks, &[b"PFMERGE", b"d", b"s"]), not_hll);
        assert!(ks.get(0, b"d").is_none());
        assert_eq!(reply(&mut ks, &[b"PFDEBUG", b"ENCODING", b"s"]), not_hll);
        assert_eq!(
            reply(&mut ks, &[b"PFDEBUG", b"ENCODING", b"nokey"]),
            b"-ERR The specified key does not exist\r\n"
        );
        let mut dense_short = b"HYLL\x00\x00\x00\x00".to_vec();
        dense_short.extend_from_slice(&[0; 20]);
        ks.set(0, b"ds", Value::string(&dense_short), false);
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"ds"]), not_hll);
    }

    #[test]
    fn corrupted_sparse_is_detected() {
        let mut ks = Keyspace::new(1);
        // XZERO:16383 leaves one register undescribed.
        ks.set(
            0,
            b"c",
            Value::string(&hex("48594c4c01000000000000000000008070fe")),
            false,
        );
        let corrupt = b"-INVALIDOBJ Corrupted HLL object detected\r\n";
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"c"]), corrupt);
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"c", b"c"]), corrupt);
        assert_eq!(reply(&mut ks, &[b"PFMERGE", b"d", b"c"]), corrupt);
        assert_eq!(reply(&mut ks, &[b"PFDEBUG", b"GETREG", b"c"]), corrupt);
        // 16380 zeros and seven registers: four too many. Redis 7.0.15 refuses to merge or
        // convert it even though the first 16384 registers are well formed.
        let over = hex("48594c4c01000000000000000000008070fb80808080808080");
        ks.set(0, b"o", Value::string(&over), false);
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"o", b"o"]), corrupt);
        assert_eq!(reply(&mut ks, &[b"PFDEBUG", b"TODENSE", b"o"]), corrupt);
    }

    #[test]
    fn sparse_promotes_to_dense_at_the_byte_limit() {
        let mut ks = Keyspace::new(1);
        ks.limits.hll_sparse_max_bytes = 40;
        let mut n = 0;
        while ks
            .get(0, b"h")
            .is_none_or(|v| v.as_bytes().unwrap()[4] == SPARSE)
        {
            let e = format!("e{n}");
            reply(&mut ks, &[b"PFADD", b"h", e.as_bytes()]);
            n += 1;
            let len = raw(&mut ks, b"h").len();
            assert!(len <= 40 || len == DENSE_SIZE, "length {len}");
        }
        assert_eq!(raw(&mut ks, b"h").len(), DENSE_SIZE);
        assert_eq!(
            reply(&mut ks, &[b"PFDEBUG", b"ENCODING", b"h"]),
            b"+dense\r\n"
        );
        assert_eq!(
            reply(&mut ks, &[b"PFDEBUG", b"DECODE", b"h"]),
            b"-ERR HLL encoding is not sparse\r\n"
        );
        assert_eq!(
            reply(&mut ks, &[b"PFCOUNT", b"h"]),
            format!(":{n}\r\n").into_bytes()
        );
    }

    #[test]
    fn sparse_and_dense_agree_and_estimate_well() {
        let mut sparse = new_hll();
        let mut dense = new_hll();
        sparse_to_dense(&mut dense).unwrap();
        for i in 0..5000u32 {
            let e = i.to_string();
            hll_add(&mut sparse, e.as_bytes(), 3000).unwrap();
            hll_add(&mut dense, e.as_bytes(), 3000).unwrap();
            if i % 97 == 0 {
                let mut converted = sparse.clone();
                sparse_to_dense(&mut converted).unwrap();
                assert_eq!(converted[16..], dense[16..], "after {i}");
            }
        }
        let card = estimate(&histogram(&dense).0);
        assert!((4900..5100).contains(&card), "{card}");
    }

    #[test]
    fn pfmerge_unions_and_notifies() {
        let mut ks = Keyspace::new(1);
        reply(&mut ks, &[b"PFADD", b"a", b"1", b"2", b"3"]);
        reply(&mut ks, &[b"PFADD", b"b", b"3", b"4"]);
        ks.notify_flags = !0;
        assert_eq!(
            reply(&mut ks, &[b"PFMERGE", b"d", b"a", b"b", b"missing"]),
            b"+OK\r\n"
        );
        assert_eq!(ks.notifications.last().unwrap().event, "pfadd");
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"d"]), b":4\r\n");
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"a", b"b"]), b":4\r\n");
        assert_eq!(
            reply(&mut ks, &[b"PFDEBUG", b"ENCODING", b"d"]),
            b"+sparse\r\n"
        );
        assert_eq!(reply(&mut ks, &[b"PFDEBUG", b"TODENSE", b"b"]), b":1\r\n");
        assert_eq!(reply(&mut ks, &[b"PFDEBUG", b"TODENSE", b"b"]), b":0\r\n");
        assert_eq!(reply(&mut ks, &[b"PFMERGE", b"e", b"a", b"b"]), b"+OK\r\n");
        assert_eq!(
            reply(&mut ks, &[b"PFDEBUG", b"ENCODING", b"e"]),
            b"+dense\r\n"
        );
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"e"]), b":4\r\n");
        assert_eq!(reply(&mut ks, &[b"PFMERGE", b"only"]), b"+OK\r\n");
        assert_eq!(
            raw(&mut ks, b"only"),
            hex("48594c4c0100000000000000000000807fff")
        );
    }

    #[test]
    fn pfdebug_getreg_and_unknown_subcommand() {
        let mut ks = Keyspace::new(1);
        reply(&mut ks, &[b"PFADD", b"h", b"c"]);
        let dirty = ks.dirty;
        let r = reply(&mut ks, &[b"PFDEBUG", b"GETREG", b"h"]);
        assert!(r.starts_with(b"*16384\r\n:0\r\n"));
        assert_eq!(r.windows(4).filter(|w| w == b":1\r\n").count(), 1);
        assert_eq!(ks.dirty, dirty + 1, "the conversion is propagated");
        assert_eq!(
            reply(&mut ks, &[b"PFDEBUG", b"foo\r\nx", b"h"]),
            b"-ERR Unknown PFDEBUG subcommand 'foo  x'\r\n"
        );
    }

    #[test]
    fn forged_dense_with_huge_registers_replies_like_redis() {
        let mut ks = Keyspace::new(1);
        let mut buf = vec![0u8; DENSE_SIZE];
        buf[..4].copy_from_slice(b"HYLL");
        buf[15] = 0x80;
        for i in 0..REGISTERS {
            dense_store(&mut buf[HDR_SIZE..], i, 51);
        }
        ks.set(0, b"d", Value::string_owned(buf), false);
        assert_eq!(
            reply(&mut ks, &[b"PFCOUNT", b"d"]),
            b":-9223372036854775808\r\n"
        );
        assert_eq!(
            reply(&mut ks, &[b"PFCOUNT", b"d"]),
            b":-9223372036854775808\r\n"
        );
    }

    #[test]
    fn embstr_hll_becomes_raw_when_used() {
        let mut ks = Keyspace::new(1);
        ks.set(
            0,
            b"h",
            Value::string(&hex("48594c4c0100000000000000000000007fff")),
            false,
        );
        assert_eq!(ks.get(0, b"h").unwrap().encoding(), "embstr");
        assert_eq!(reply(&mut ks, &[b"PFCOUNT", b"h"]), b":0\r\n");
        assert_eq!(ks.get(0, b"h").unwrap().encoding(), "raw");
    }

    #[test]
    fn selftest_passes_in_small() {
        let mut ks = Keyspace::new(1);
        assert_eq!(selftest(&mut ks, 3000, 3, 100_000), Ok(()));
    }
}

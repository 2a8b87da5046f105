//! Bit commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO.
//!
//! Strings are big-endian bit arrays: bit 0 is the most significant bit of byte 0. Offsets are
//! bounded by `proto-max-bulk-len` bytes, as in Redis 7.0.

use super::{Ctx, NOT_INT, SYNTAX};
use crate::keyspace::{notify, WRONGTYPE};
use crate::num::parse_i64;
use crate::value::Value;
use std::borrow::Cow;

/// Reply for an offset that is not a non-negative integer below `proto-max-bulk-len * 8`.
pub const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
/// Reply for a SETBIT value that is not 0 or 1.
pub const BAD_BIT: &str = "ERR bit is not an integer or out of range";
/// Reply for a BITPOS bit that is not 0 or 1.
pub const BAD_BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
/// Reply for a malformed BITFIELD type.
pub const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
/// Reply for an unknown BITFIELD OVERFLOW mode.
pub const BAD_OVERFLOW: &str = "ERR Invalid OVERFLOW type specified";
/// Reply for a write subcommand sent to BITFIELD_RO.
pub const RO_ONLY_GET: &str = "ERR BITFIELD_RO only supports the GET subcommand";
/// Reply for BITOP NOT with more than one source.
pub const NOT_ONE_KEY: &str = "ERR BITOP NOT must be called with a single source key.";

/// Case-insensitive keyword match with C `strcasecmp` semantics (the argument ends at a NUL).
fn cstr_eq_ic(arg: &[u8], word: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// Parses a bit offset as Redis's `getBitOffsetFromArgument`. With `hash` and `bits > 0`, the
/// `#N` form means `N * bits` (wrapping, as the C multiplication does).
fn parse_offset(arg: &[u8], hash: bool, bits: u32, max_len: u64) -> Option<u64> {
    let use_hash = hash && bits > 0 && arg.first() == Some(&b'#');
    let mut v = parse_i64(if use_hash { &arg[1..] } else { arg })?;
    if use_hash {
        v = v.wrapping_mul(bits as i64);
    }
    if v < 0 || (v >> 3) as u64 >= max_len {
        return None;
    }
    Some(v as u64)
}

/// The string bytes of `v`, or None when it is not a string.
fn string_bytes(v: &Value) -> Option<Cow<'_, [u8]>> {
    if v.is_string() {
        v.as_bytes()
    } else {
        None
    }
}

/// The string at `key` grown (zero-filled) to hold bit `max_bit`, created if missing, as
/// Redis's `lookupStringForBitCommand`. Returns whether it was created or grew, or None
/// (after replying WRONGTYPE) for another type.
fn string_for_write<'k>(
    ctx: &'k mut Ctx,
    key: &[u8],
    max_bit: u64,
) -> Option<(&'k mut Vec<u8>, bool)> {
    let need = (max_bit >> 3) as usize + 1;
    let db = ctx.db;
    let exists = match ctx.ks.get_mut(db, key) {
        None => false,
        Some(v) if v.is_string() => true,
        Some(_) => {
            ctx.out.error(WRONGTYPE);
            return None;
        }
    };
    if !exists {
        ctx.ks.set(db, key, Value::raw_buf(vec![0; need]), false);
    }
    let buf = ctx.ks.get_mut(db, key)?.make_raw();
    let grew = buf.len() < need;
    if grew {
        buf.resize(need, 0);
    }
    Some((buf, grew || !exists))
}

/// SETBIT key offset value
pub fn setbit(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(offset) = parse_offset(&argv[2], false, 0, ctx.ks.max_string_len) else {
        return ctx.out.error(BAD_OFFSET);
    };
    let on = match parse_i64(&argv[3]) {
        Some(v) if v & !1 == 0 => v as u8,
        _ => return ctx.out.error(BAD_BIT),
    };
    let Some((buf, grew)) = string_for_write(ctx, &argv[1], offset) else {
        return;
    };
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u32;
    let old = (buf[byte] >> shift) & 1;
    // 7.0 counts a change only when the string was created or grew, or the bit flipped.
    if grew || old != on {
        buf[byte] = (buf[byte] & !(1 << shift)) | (on << shift);
        ctx.ks.changed(ctx.db, &argv[1], notify::STRING, "setbit");
    }
    ctx.out.int(old as i64);
}

/// GETBIT key offset
pub fn getbit(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(offset) = parse_offset(&argv[2], false, 0, ctx.ks.max_string_len) else {
        return ctx.out.error(BAD_OFFSET);
    };
    let bit = match ctx.ks.get(ctx.db, &argv[1]) {
        None => 0,
        Some(v) => match string_bytes(v) {
            Some(b) => {
                let byte = (offset >> 3) as usize;
                b.get(byte).map_or(0, |&x| (x >> (7 - (offset & 7))) & 1)
            }
            None => return ctx.out.error(WRONGTYPE),
        },
    };
    ctx.out.int(bit as i64);
}

/// Number of set bits in `bytes`.
fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        n += u64::from_ne_bytes(c.try_into().expect("8 bytes")).count_ones() as u64;
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Masks of the bits outside a bit range `[start, end]` in its first and last byte.
fn edge_masks(start: i64, end: i64) -> (u8, u8) {
    let first = !((1u32 << (8 - (start & 7))) - 1) as u8;
    let last = ((1u32 << (7 - (end & 7))) - 1) as u8;
    (first, last)
}

/// BITCOUNT key [start end [BYTE|BIT]]
pub fn bitcount(ctx: &mut Ctx) {
    let argv = ctx.argv;
    // Redis 7.0 looks the key up before parsing the range: a missing key answers 0 whatever follows.
    let bytes = match ctx.ks.get(ctx.db, &argv[1]) {
        None => return ctx.out.int(0),
        Some(v) => match string_bytes(v) {
            Some(b) => b,
            None => return ctx.out.error(WRONGTYPE),
        },
    };
    let len = bytes.len() as i64;
    let (start, end, first_mask, last_mask) = match argv.len() {
        2 => (0, len - 1, 0u8, 0u8),
        4 | 5 => {
            let Some(mut start) = parse_i64(&argv[2]) else {
                return ctx.out.error(NOT_INT);
            };
            let Some(mut end) = parse_i64(&argv[3]) else {
                return ctx.out.error(NOT_INT);
            };
            // 7.0 answers an inverted negative range before looking at BYTE|BIT.
            if start < 0 && end < 0 && start > end {
                return ctx.out.int(0);
            }
            let mut is_bit = false;
            if argv.len() == 5 {
                if cstr_eq_ic(&argv[4], "bit") {
                    is_bit = true;
                } else if !cstr_eq_ic(&argv[4], "byte") {
                    return ctx.out.error(SYNTAX);
                }
            }
            let total = if is_bit { len << 3 } else { len };
            if start < 0 {
                start += total;
            }
            if end < 0 {
                end += total;
            }
            start = start.max(0);
            end = end.max(0);
            if end >= total {
                end = total - 1;
            }
            let (mut fm, mut lm) = (0, 0);
            if is_bit && start <= end {
                (fm, lm) = edge_masks(start, end);
                start >>= 3;
                end >>= 3;
            }
            (start, end, fm, lm)
        }
        _ => return ctx.out.error(SYNTAX),
    };
    if start > end {
        return ctx.out.int(0);
    }
    let (s, e) = (start as usize, end as usize);
    let mut count = popcount(&bytes[s..=e]);
    count -= (bytes[s] & first_mask).count_ones() as u64;
    count -= (bytes[e] & last_mask).count_ones() as u64;
    ctx.out.int(count as i64);
}

/// First bit equal to `bit` in bit positions `[from, to]` of `bytes` (both within the string).
fn find_bit(bytes: &[u8], from: u64, to: u64, bit: bool) -> Option<u64> {
    let (sb, eb) = ((from >> 3) as usize, (to >> 3) as usize);
    let (first_out, last_out) = edge_masks(from as i64, to as i64);
    // Bytes with every bit the opposite of what we look for are skipped.
    let skip = if bit { 0x00u8 } else { 0xff };
    let adjust = |b: u8, out: u8| if bit { b & !out } else { b | out };
    let hit = |b: u8, i: usize| -> u64 {
        let lz = if bit {
            b.leading_zeros()
        } else {
            (!b).leading_zeros()
        };
        (i as u64) * 8 + lz as u64
    };
    let mut i = sb;
    while i <= eb {
        let mut b = bytes[i];
        if i == sb {
            b = adjust(b, first_out);
        }
        if i == eb {
            b = adjust(b, last_out);
        }
        if b != skip {
            return Some(hit(b, i));
        }
        i += 1;
        // Word-at-a-time over the middle bytes.
        let word_skip = u64::from_ne_bytes([skip; 8]);
        while i + 8 <= eb {
            let w = u64::from_ne_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
            if w != word_skip {
                break;
            }
            i += 8;
        }
    }
    None
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
pub fn bitpos(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(bit) = parse_i64(&argv[2]) else {
        return ctx.out.error(NOT_INT);
    };
    if bit != 0 && bit != 1 {
        return ctx.out.error(BAD_BITPOS_BIT);
    }
    let bit = bit == 1;
    // A missing key is an infinite run of zeros.
    let bytes = match ctx.ks.get(ctx.db, &argv[1]) {
        None => return ctx.out.int(if bit { -1 } else { 0 }),
        Some(v) => match string_bytes(v) {
            Some(b) => b,
            None => return ctx.out.error(WRONGTYPE),
        },
    };
    let len = bytes.len() as i64;
    let mut end_given = false;
    // The searched range in bits, inclusive.
    let (from, to) = match argv.len() {
        3 => (0, len * 8 - 1),
        4..=6 => {
            let Some(mut start) = parse_i64(&argv[3]) else {
                return ctx.out.error(NOT_INT);
            };
            let mut is_bit = false;
            if argv.len() == 6 {
                if cstr_eq_ic(&argv[5], "bit") {
                    is_bit = true;
                } else if !cstr_eq_ic(&argv[5], "byte") {
                    return ctx.out.error(SYNTAX);
                }
            }
            let mut end = if argv.len() >= 5 {
                let Some(e) = parse_i64(&argv[4]) else {
                    return ctx.out.error(NOT_INT);
                };
                end_given = true;
                e
            } else {
                len - 1
            };
            let total = if is_bit { len << 3 } else { len };
            // 7.0 has no early exit for two negative indexes in the wrong order: both clamp to 0.
            if start < 0 {
                start += total;
            }
            if end < 0 {
                end += total;
            }
            start = start.max(0);
            end = end.max(0);
            if end >= total {
                end = total - 1;
            }
            if start > end {
                return ctx.out.int(-1);
            }
            if is_bit {
                (start, end)
            } else {
                (start * 8, end * 8 + 7)
            }
        }
        _ => return ctx.out.error(SYNTAX),
    };
    if from > to {
        return ctx.out.int(-1);
    }
    let pos = match find_bit(&bytes, from as u64, to as u64, bit) {
        Some(p) => p as i64,
        // Without an explicit end the string is seen as padded with zeros on the right.
        None if !bit && !end_given => to + 1,
        None => -1,
    };
    ctx.out.int(pos);
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]
pub fn bitop(ctx: &mut Ctx) {
    #[derive(Clone, Copy, PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let argv = ctx.argv;
    let name = &argv[1];
    let op = if cstr_eq_ic(name, "and") {
        Op::And
    } else if cstr_eq_ic(name, "or") {
        Op::Or
    } else if cstr_eq_ic(name, "xor") {
        Op::Xor
    } else if cstr_eq_ic(name, "not") {
        Op::Not
    } else {
        return ctx.out.error(SYNTAX);
    };
    if op == Op::Not && argv.len() != 4 {
        return ctx.out.error(NOT_ONE_KEY);
    }
    let db = ctx.db;
    let sources = &argv[3..];
    // First pass: read lookups (expiry, hit/miss stats) and type checks, in argument order.
    let mut max_len = 0usize;
    for key in sources {
        match ctx.ks.get(db, key) {
            None => {}
            Some(v) if v.is_string() => max_len = max_len.max(v.str_len()),
            Some(_) => return ctx.out.error(WRONGTYPE),
        }
    }
    let mut result = Vec::new();
    if max_len > 0 {
        let ks = &*ctx.ks;
        let srcs: Vec<Cow<[u8]>> = sources
            .iter()
            .map(|k| {
                ks.entry(db, k)
                    .and_then(|e| e.value.as_bytes())
                    .unwrap_or(Cow::Borrowed(&[]))
            })
            .collect();
        result = vec![0u8; max_len];
        result[..srcs[0].len()].copy_from_slice(&srcs[0]);
        match op {
            Op::Not => result.iter_mut().for_each(|b| *b = !*b),
            Op::And => {
                for s in &srcs[1..] {
                    result.iter_mut().zip(s.iter()).for_each(|(r, b)| *r &= b);
                    // Bytes past a shorter source are ANDed with zero.
                    result[s.len()..].iter_mut().for_each(|r| *r = 0);
                }
            }
            Op::Or => {
                for s in &srcs[1..] {
                    result.iter_mut().zip(s.iter()).for_each(|(r, b)| *r |= b);
                }
            }
            Op::Xor => {
                for s in &srcs[1..] {
                    result.iter_mut().zip(s.iter()).for_each(|(r, b)| *r ^= b);
                }
            }
        }
    }
    let dest = &argv[2];
    if max_len > 0 {
        // BITOP stores a raw-encoded string whatever its length, and drops any TTL.
        ctx.ks
            .set(db, dest, Value::Raw(result.into_boxed_slice()), false);
        ctx.ks.changed(db, dest, notify::STRING, "set");
    } else if ctx.ks.remove_entry(db, dest).is_some() {
        // Like Redis's dbDelete: no expiry check, so a logically expired destination (still
        // present on a replica) is deleted too.
        ctx.ks.changed(db, dest, notify::GENERIC, "del");
    }
    ctx.out.int(max_len as i64);
}

/// What to do when a BITFIELD write leaves the type's range.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

#[derive(Clone, Copy, Debug)]
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    value: i64,
    overflow: Overflow,
}

/// Parses a BITFIELD type (`i1`..`i64`, `u1`..`u63`) as Redis does (the width ends at a NUL).
fn parse_field_type(arg: &[u8]) -> Option<(bool, u32)> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return None,
    };
    let rest = &arg[1..];
    let rest = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
    let bits = parse_i64(rest)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return None;
    }
    Some((signed, bits as u32))
}

/// Reads an unsigned field of `bits` bits at bit `offset`; bytes past the end read as zero.
fn get_unsigned(buf: &[u8], offset: u64, bits: u32) -> u64 {
    let byte = (offset >> 3) as usize;
    let mut window = [0u8; 16];
    if byte < buf.len() {
        let n = (buf.len() - byte).min(9);
        window[..n].copy_from_slice(&buf[byte..byte + n]);
    }
    let w = u128::from_be_bytes(window);
    let shift = 128 - (offset & 7) as u32 - bits;
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    (w >> shift) as u64 & mask
}

/// Reads a signed (two's complement) field.
fn get_signed(buf: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(buf, offset, bits);
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`; the buffer must be long enough.
fn set_field(buf: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let bit = (value >> (bits as u64 - 1 - i)) & 1;
        let pos = offset + i;
        let byte = (pos >> 3) as usize;
        let shift = 7 - (pos & 7);
        buf[byte] = (buf[byte] & !(1 << shift)) | ((bit as u8) << shift);
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: whether `value + incr` leaves `bits` bits, and the
/// value to store instead for WRAP and SAT.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let limit = if value > max || (incr > 0 && incr > max_incr) {
        max
    } else if incr < 0 && incr < min_incr {
        0
    } else {
        return None;
    };
    Some(match ow {
        Overflow::Wrap => {
            value.wrapping_add(incr as u64) & !u64::MAX.checked_shl(bits).unwrap_or(0)
        }
        _ => limit,
    })
}

/// Redis's `checkSignedBitfieldOverflow`, with its wrapping intermediate arithmetic.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let limit = if value > max
        || (bits != 64 && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr)
    {
        max
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        min
    } else {
        return None;
    };
    Some(match ow {
        Overflow::Wrap => {
            let mut c = (value as u64).wrapping_add(incr as u64);
            if bits < 64 {
                let mask = u64::MAX << bits;
                if c & (1u64 << (bits - 1)) != 0 {
                    c |= mask;
                } else {
                    c &= !mask;
                }
            }
            c as i64
        }
        _ => limit,
    })
}

/// Executes one SET or INCRBY on `buf`: the reply value and whether the field's value changed,
/// or None when OVERFLOW FAIL refused the write.
fn write_field(buf: &mut [u8], f: &Field) -> Option<(i64, bool)> {
    if f.signed {
        let old = get_signed(buf, f.offset, f.bits);
        let (new, overflow, reply) = if f.op == FieldOp::IncrBy {
            let o = signed_overflow(old, f.value, f.bits, f.overflow);
            let new = o.unwrap_or_else(|| old.wrapping_add(f.value));
            (new, o.is_some(), new)
        } else {
            let o = signed_overflow(f.value, 0, f.bits, f.overflow);
            (o.unwrap_or(f.value), o.is_some(), old)
        };
        if overflow && f.overflow == Overflow::Fail {
            return None;
        }
        set_field(buf, f.offset, f.bits, new as u64);
        Some((reply, new != old))
    } else {
        let old = get_unsigned(buf, f.offset, f.bits);
        let (new, overflow, reply) = if f.op == FieldOp::IncrBy {
            let o = unsigned_overflow(old, f.value, f.bits, f.overflow);
            let new = o.unwrap_or_else(|| old.wrapping_add(f.value as u64));
            (new, o.is_some(), new)
        } else {
            let o = unsigned_overflow(f.value as u64, 0, f.bits, f.overflow);
            (o.unwrap_or(f.value as u64), o.is_some(), old)
        };
        if overflow && f.overflow == Overflow::Fail {
            return None;
        }
        set_field(buf, f.offset, f.bits, new);
        Some((reply as i64, new != old))
    }
}

/// Reads one field for GET.
fn read_field(buf: &[u8], f: &Field) -> i64 {
    if f.signed {
        get_signed(buf, f.offset, f.bits)
    } else {
        get_unsigned(buf, f.offset, f.bits) as i64
    }
}

fn bitfield_generic(ctx: &mut Ctx, read_only_cmd: bool) {
    let argv = ctx.argv;
    let max_len = ctx.ks.max_string_len;
    let mut fields: Vec<Field> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut writes = false;
    let mut highest_write: u64 = 0;
    let mut j = 2;
    while j < argv.len() {
        let remaining = argv.len() - j - 1;
        let sub = &argv[j];
        let op = if cstr_eq_ic(sub, "get") && remaining >= 2 {
            FieldOp::Get
        } else if cstr_eq_ic(sub, "set") && remaining >= 3 {
            FieldOp::Set
        } else if cstr_eq_ic(sub, "incrby") && remaining >= 3 {
            FieldOp::IncrBy
        } else if cstr_eq_ic(sub, "overflow") && remaining >= 1 {
            let mode = &argv[j + 1];
            overflow = if cstr_eq_ic(mode, "wrap") {
                Overflow::Wrap
            } else if cstr_eq_ic(mode, "sat") {
                Overflow::Sat
            } else if cstr_eq_ic(mode, "fail") {
                Overflow::Fail
            } else {
                return ctx.out.error(BAD_OVERFLOW);
            };
            j += 2;
            continue;
        } else {
            return ctx.out.error(SYNTAX);
        };
        let Some((signed, bits)) = parse_field_type(&argv[j + 1]) else {
            return ctx.out.error(BAD_TYPE);
        };
        let Some(offset) = parse_offset(&argv[j + 2], true, bits, max_len) else {
            return ctx.out.error(BAD_OFFSET);
        };
        let mut value = 0;
        if op != FieldOp::Get {
            writes = true;
            highest_write = highest_write.max(offset + bits as u64 - 1);
            match parse_i64(&argv[j + 3]) {
                Some(v) => value = v,
                None => return ctx.out.error(NOT_INT),
            }
        }
        fields.push(Field {
            op,
            offset,
            bits,
            signed,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }

    let key = &argv[1];
    if !writes {
        let bytes = match ctx.ks.get(ctx.db, key) {
            None => Cow::Borrowed(&[][..]),
            Some(v) => match string_bytes(v) {
                Some(b) => b,
                None => return ctx.out.error(WRONGTYPE),
            },
        };
        ctx.out.array(fields.len());
        for f in &fields {
            ctx.out.int(read_field(&bytes, f));
        }
        return;
    }
    if read_only_cmd {
        return ctx.out.error(RO_ONLY_GET);
    }
    // As in Redis 7.0, a write counts as a change when it alters the field's value or when the
    // string was created or grown; a write refused by OVERFLOW FAIL never counts (even though the
    // key was created or grown for it).
    let Some((buf, grew)) = string_for_write(ctx, key, highest_write) else {
        return;
    };
    let mut replies: Vec<Option<i64>> = Vec::with_capacity(fields.len());
    let mut changes: u64 = 0;
    for f in &fields {
        if f.op == FieldOp::Get {
            replies.push(Some(read_field(buf, f)));
        } else {
            let r = write_field(buf, f);
            if let Some((_, changed)) = r {
                if grew || changed {
                    changes += 1;
                }
            }
            replies.push(r.map(|(n, _)| n));
        }
    }
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(n) => ctx.out.int(n),
            None => ctx.out.null(),
        }
    }
    if changes > 0 {
        ctx.ks.changed(ctx.db, key, notify::STRING, "setbit");
        // Redis counts every changing write in `dirty`.
        ctx.ks.dirty += changes - 1;
    }
}

/// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ...
pub fn bitfield(ctx: &mut Ctx) {
    bitfield_generic(ctx, false);
}

/// BITFIELD_RO key [GET type offset ...]
pub fn bitfield_ro(ctx: &mut Ctx) {
    bitfield_generic(ctx, true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Keyspace;
    use crate::types::list::List;
    use bytes::Bytes;
    use resp::{Out, Protocol};

    /// Runs `f` with binary arguments and returns the raw reply.
    fn call(ks: &mut Keyspace, proto: Protocol, f: fn(&mut Ctx), args: &[&[u8]]) -> Vec<u8> {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = Out::new(proto);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        f(&mut ctx);
        out.buf
    }

    /// Runs `f` with space-separated arguments (RESP2) and returns the reply as text.
    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        String::from_utf8(call(ks, Protocol::Resp2, f, &args)).expect("utf8 reply")
    }

    fn set(ks: &mut Keyspace, key: &str, val: &[u8]) {
        ks.set(0, key.as_bytes(), Value::string(val), false);
    }

    fn get(ks: &mut Keyspace, key: &str) -> Option<Vec<u8>> {
        ks.get(0, key.as_bytes())
            .map(|v| v.as_bytes().expect("string").into_owned())
    }

    fn err(msg: &str) -> String {
        format!("-{msg}\r\n")
    }

    fn put_list(ks: &mut Keyspace, key: &str) {
        let mut l = List::default();
        l.push_back(b"a");
        ks.set(0, key.as_bytes(), Value::List(Box::new(l)), false);
    }

    #[test]
    fn wrong_type_comes_after_argument_checks() {
        let mut ks = Keyspace::new(16);
        put_list(&mut ks, "l");
        let wt = err(WRONGTYPE);
        assert_eq!(run(&mut ks, setbit, "setbit l 0 1"), wt);
        assert_eq!(run(&mut ks, setbit, "setbit l -1 1"), err(BAD_OFFSET));
        assert_eq!(run(&mut ks, getbit, "getbit l 0"), wt);
        assert_eq!(run(&mut ks, getbit, "getbit l x"), err(BAD_OFFSET));
        // BITCOUNT and BITPOS look the key up before parsing their range.
        assert_eq!(run(&mut ks, bitcount, "bitcount l"), wt);
        assert_eq!(run(&mut ks, bitcount, "bitcount l a b"), wt);
        assert_eq!(run(&mut ks, bitpos, "bitpos l 1 x"), wt);
        assert_eq!(run(&mut ks, bitpos, "bitpos l 2"), err(BAD_BITPOS_BIT));
        assert_eq!(run(&mut ks, bitop, "bitop and d nokey l"), wt);
        assert!(get(&mut ks, "d").is_none());
        assert_eq!(run(&mut ks, bitfield, "bitfield l get u8 0"), wt);
        assert_eq!(run(&mut ks, bitfield, "bitfield l set u8 0 1"), wt);
        assert_eq!(
            run(&mut ks, bitfield, "bitfield l get u8 x"),
            err(BAD_OFFSET)
        );
        assert_eq!(run(&mut ks, bitfield_ro, "bitfield_ro l get u8 0"), wt);
        assert_eq!(
            run(&mut ks, bitfield_ro, "bitfield_ro l set u8 0 1"),
            err(RO_ONLY_GET)
        );
        assert_eq!(ks.dirty, 0);
        // BITOP overwrites a destination of another type.
        set(&mut ks, "a", b"x");
        assert_eq!(run(&mut ks, bitop, "bitop or l a"), ":1\r\n");
        assert_eq!(get(&mut ks, "l").unwrap(), b"x");
        assert_eq!(ks.dirty, 1);
    }

    #[test]
    fn bitop_deletes_a_logically_expired_destination_on_a_replica() {
        let mut ks = Keyspace::new(16);
        ks.replica_mode = true;
        set(&mut ks, "d", b"x");
        ks.set_expire(0, b"d", 10);
        ks.now_ms = 20;
        assert_eq!(run(&mut ks, bitop, "bitop or d nokey"), ":0\r\n");
        assert!(ks.dbs[0].is_empty());
        assert_eq!(ks.dirty, 1);
    }

    #[test]
    fn setbit_sets_clears_grows_and_counts_changes() {
        let mut ks = Keyspace::new(16);
        assert_eq!(run(&mut ks, setbit, "setbit k 7 1"), ":0\r\n");
        assert_eq!(get(&mut ks, "k").unwrap(), b"\x01");
        assert_eq!(ks.dirty, 1);
        // Same value again: no change, no dirty.
        assert_eq!(run(&mut ks, setbit, "setbit k 7 1"), ":1\r\n");
        assert_eq!(run(&mut ks, setbit, "setbit k 0 0"), ":0\r\n");
        assert_eq!(ks.dirty, 1);
        assert_eq!(run(&mut ks, setbit, "setbit k 7 0"), ":1\r\n");
        assert_eq!(ks.dirty, 2);
        // Growing counts even when the bit stays 0.
        assert_eq!(run(&mut ks, setbit, "setbit k 23 0"), ":0\r\n");
        assert_eq!(get(&mut ks, "k").unwrap(), b"\x00\x00\x00");
        assert_eq!(ks.dirty, 3);
        assert_eq!(ks.entry(0, b"k").unwrap().value.encoding(), "raw");
        // An int-encoded value is edited as its decimal text.
        set(&mut ks, "n", b"1");
        assert_eq!(run(&mut ks, setbit, "setbit n 6 1"), ":0\r\n");
        assert_eq!(get(&mut ks, "n").unwrap(), b"3");
    }

    #[test]
    fn setbit_and_getbit_errors() {
        let mut ks = Keyspace::new(16);
        for off in ["-1", "x", "4294967296", "1.0", "#1", ""] {
            assert_eq!(
                run(&mut ks, setbit, &format!("setbit k {off} 1")),
                err(BAD_OFFSET),
                "{off}"
            );
            assert_eq!(
                run(&mut ks, getbit, &format!("getbit k {off}")),
                err(BAD_OFFSET),
                "{off}"
            );
        }
        for bit in ["2", "-1", "a", "01", ""] {
            assert_eq!(
                run(&mut ks, setbit, &format!("setbit k 0 {bit}")),
                err(BAD_BIT),
                "{bit}"
            );
        }
        // The offset error wins over the bit error.
        assert_eq!(run(&mut ks, setbit, "setbit k -1 2"), err(BAD_OFFSET));
        assert!(get(&mut ks, "k").is_none());
        assert_eq!(ks.dirty, 0);
        // The largest offset is proto-max-bulk-len * 8 - 1.
        ks.max_string_len = 1024 * 1024;
        assert_eq!(run(&mut ks, setbit, "setbit k 8388608 1"), err(BAD_OFFSET));
        assert_eq!(run(&mut ks, setbit, "setbit k 8388607 1"), ":0\r\n");
        assert_eq!(ks.get(0, b"k").unwrap().str_len(), 1024 * 1024);
        assert_eq!(run(&mut ks, getbit, "getbit k 8388607"), ":1\r\n");
        assert_eq!(run(&mut ks, getbit, "getbit k 8388608"), err(BAD_OFFSET));
    }

    #[test]
    fn getbit_reads_missing_short_and_int_values() {
        let mut ks = Keyspace::new(16);
        assert_eq!(run(&mut ks, getbit, "getbit nokey 100"), ":0\r\n");
        set(&mut ks, "k", b"123"); // "1" = 0x31
        let bits: String = (0..8)
            .map(|i| run(&mut ks, getbit, &format!("getbit k {i}")))
            .collect();
        assert_eq!(bits, ":0\r\n:0\r\n:1\r\n:1\r\n:0\r\n:0\r\n:0\r\n:1\r\n");
        assert_eq!(run(&mut ks, getbit, "getbit k 4294967295"), ":0\r\n");
        assert_eq!(ks.dirty, 0);
    }

    #[test]
    fn bitcount_ranges_in_bytes_and_bits() {
        let mut ks = Keyspace::new(16);
        set(&mut ks, "k", b"foobar");
        let cases = [
            ("bitcount k", 26),
            ("bitcount k 0 0", 4),
            ("bitcount k 1 1", 6),
            ("bitcount k 1 1 BYTE", 6),
            ("bitcount k 5 30 BIT", 17),
            ("bitcount k 5 30 bit", 17),
            ("bitcount k 0 -1", 26),
            ("bitcount k -2 -1", 7),
            ("bitcount k -100 100", 26),
            ("bitcount k 3 2", 0),
            ("bitcount k 6 10", 0),
            ("bitcount k -1 -2", 0),
            ("bitcount k 0 0 bit", 0),
            ("bitcount k 1 1 bit", 1),
            ("bitcount k 47 47 bit", 0),
            ("bitcount k -1 -1 bit", 0),
            (
                "bitcount k -9223372036854775808 9223372036854775807 bit",
                26,
            ),
        ];
        for (cmd, n) in cases {
            assert_eq!(run(&mut ks, bitcount, cmd), format!(":{n}\r\n"), "{cmd}");
        }
        set(&mut ks, "e", b"");
        assert_eq!(run(&mut ks, bitcount, "bitcount e"), ":0\r\n");
        assert_eq!(run(&mut ks, bitcount, "bitcount e 0 -1 bit"), ":0\r\n");
        set(&mut ks, "n", b"-1"); // "-1" = 0x2d 0x31
        assert_eq!(run(&mut ks, bitcount, "bitcount n"), ":7\r\n");
    }

    #[test]
    fn bitcount_errors_and_7_0_check_order() {
        let mut ks = Keyspace::new(16);
        // A missing key answers 0 before any argument is looked at.
        for cmd in [
            "bitcount nokey a b",
            "bitcount nokey 1",
            "bitcount nokey 1 2 x y",
        ] {
            assert_eq!(run(&mut ks, bitcount, cmd), ":0\r\n", "{cmd}");
        }
        set(&mut ks, "k", b"foobar");
        assert_eq!(run(&mut ks, bitcount, "bitcount k 1"), err(SYNTAX));
        assert_eq!(run(&mut ks, bitcount, "bitcount k 1 2 3 4"), err(SYNTAX));
        assert_eq!(run(&mut ks, bitcount, "bitcount k 1 2 bits"), err(SYNTAX));
        assert_eq!(run(&mut ks, bitcount, "bitcount k a 2"), err(NOT_INT));
        assert_eq!(run(&mut ks, bitcount, "bitcount k 1 b x"), err(NOT_INT));
        // An inverted negative range answers 0 before the unit is checked.
        assert_eq!(run(&mut ks, bitcount, "bitcount k -1 -2 bits"), ":0\r\n");
        assert_eq!(run(&mut ks, bitcount, "bitcount k 1 2 bits"), err(SYNTAX));
    }

    #[test]
    fn bitpos_documented_examples() {
        let mut ks = Keyspace::new(16);
        set(&mut ks, "mykey", b"\xff\xf0\x00");
        assert_eq!(run(&mut ks, bitpos, "bitpos mykey 0"), ":12\r\n");
        set(&mut ks, "mykey", b"\x00\xff\xf0");
        assert_eq!(run(&mut ks, bitpos, "bitpos mykey 1 0"), ":8\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos mykey 1 2"), ":16\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos mykey 1 2 -1 BYTE"), ":16\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos mykey 1 7 15 BIT"), ":8\r\n");
        set(&mut ks, "mykey", b"\x00\x00\x00");
        assert_eq!(run(&mut ks, bitpos, "bitpos mykey 1"), ":-1\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos mykey 1 7 -3 BIT"), ":-1\r\n");
    }

    #[test]
    fn bitpos_edges() {
        let mut ks = Keyspace::new(16);
        // A missing key is all zeros; an empty string has no bit at all.
        assert_eq!(run(&mut ks, bitpos, "bitpos nokey 0"), ":0\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos nokey 1"), ":-1\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos nokey 1 a b c d"), ":-1\r\n");
        set(&mut ks, "e", b"");
        assert_eq!(run(&mut ks, bitpos, "bitpos e 0"), ":-1\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos e 1"), ":-1\r\n");
        // All ones: looking for 0 finds the first bit after the string unless an end is given.
        set(&mut ks, "ones", &[0xff; 20]);
        assert_eq!(run(&mut ks, bitpos, "bitpos ones 0"), ":160\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos ones 0 3"), ":160\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos ones 0 3 -1"), ":-1\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos ones 0 0 159 bit"), ":-1\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos ones 1 -1"), ":152\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos ones 0 30"), ":-1\r\n");
        // Long runs are skipped a word at a time; the hit is exact.
        let mut v = vec![0u8; 40];
        v[33] = 0x08;
        set(&mut ks, "z", &v);
        assert_eq!(run(&mut ks, bitpos, "bitpos z 1"), ":268\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos z 1 3 -1 bit"), ":268\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos z 1 269 -1 bit"), ":-1\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos z 0 264 267 bit"), ":264\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos z 1 0 267 bit"), ":-1\r\n");
        // 7.0 clamps an inverted negative range to byte 0 instead of answering -1.
        set(&mut ks, "k", b"foobar");
        assert_eq!(run(&mut ks, bitpos, "bitpos k 1 -100 -200"), ":1\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos k 1 3 2"), ":-1\r\n");
        assert_eq!(run(&mut ks, bitpos, "bitpos k 0 100"), ":-1\r\n");
        // Int-encoded values are searched as text.
        set(&mut ks, "n", b"123");
        assert_eq!(run(&mut ks, bitpos, "bitpos n 1"), ":2\r\n");
    }

    #[test]
    fn bitpos_errors_in_redis_order() {
        let mut ks = Keyspace::new(16);
        assert_eq!(run(&mut ks, bitpos, "bitpos nokey 2"), err(BAD_BITPOS_BIT));
        assert_eq!(run(&mut ks, bitpos, "bitpos nokey x"), err(NOT_INT));
        set(&mut ks, "k", b"foobar");
        assert_eq!(run(&mut ks, bitpos, "bitpos k 1 a"), err(NOT_INT));
        assert_eq!(run(&mut ks, bitpos, "bitpos k 1 x 0 foo"), err(NOT_INT));
        assert_eq!(run(&mut ks, bitpos, "bitpos k 1 0 x foo"), err(SYNTAX));
        assert_eq!(run(&mut ks, bitpos, "bitpos k 1 0 x bit"), err(NOT_INT));
        assert_eq!(
            run(&mut ks, bitpos, "bitpos k 1 0 -1 bit extra"),
            err(SYNTAX)
        );
    }

    #[test]
    fn bitop_and_or_xor_not() {
        let mut ks = Keyspace::new(16);
        set(&mut ks, "key1", b"foobar");
        set(&mut ks, "key2", b"abcdef");
        assert_eq!(run(&mut ks, bitop, "bitop AND dest key1 key2"), ":6\r\n");
        assert_eq!(get(&mut ks, "dest").unwrap(), b"`bc`ab");
        assert_eq!(ks.entry(0, b"dest").unwrap().value.encoding(), "raw");
        assert_eq!(run(&mut ks, bitop, "bitop or dest key1 key2"), ":6\r\n");
        assert_eq!(get(&mut ks, "dest").unwrap(), b"goofev");
        set(&mut ks, "a", b"\x0f\xf0\xaa");
        set(&mut ks, "b", b"\xff");
        assert_eq!(run(&mut ks, bitop, "bitop xor d a b"), ":3\r\n");
        assert_eq!(get(&mut ks, "d").unwrap(), b"\xf0\xf0\xaa");
        // Shorter and missing sources are zero-padded.
        assert_eq!(run(&mut ks, bitop, "bitop and d a b"), ":3\r\n");
        assert_eq!(get(&mut ks, "d").unwrap(), b"\x0f\x00\x00");
        assert_eq!(run(&mut ks, bitop, "bitop or d nokey b"), ":1\r\n");
        assert_eq!(get(&mut ks, "d").unwrap(), b"\xff");
        assert_eq!(run(&mut ks, bitop, "bitop not d a"), ":3\r\n");
        assert_eq!(get(&mut ks, "d").unwrap(), b"\xf0\x0f\x55");
        // Destination may be a source.
        assert_eq!(run(&mut ks, bitop, "bitop NOT d d"), ":3\r\n");
        assert_eq!(get(&mut ks, "d").unwrap(), b"\x0f\xf0\xaa");
        set(&mut ks, "n", b"12");
        assert_eq!(run(&mut ks, bitop, "bitop Xor d n n"), ":2\r\n");
        assert_eq!(get(&mut ks, "d").unwrap(), b"\x00\x00");
    }

    #[test]
    fn bitop_empty_result_deletes_destination() {
        let mut ks = Keyspace::new(16);
        set(&mut ks, "d", b"x");
        ks.set_expire(0, b"d", 1_000_000);
        set(&mut ks, "e", b"");
        let before = ks.dirty;
        assert_eq!(run(&mut ks, bitop, "bitop and d nokey e"), ":0\r\n");
        assert!(get(&mut ks, "d").is_none());
        assert_eq!(ks.dirty, before + 1);
        // Nothing to delete: no change at all.
        assert_eq!(run(&mut ks, bitop, "bitop or d nokey"), ":0\r\n");
        assert_eq!(ks.dirty, before + 1);
        // A stored result replaces the value and drops the TTL.
        set(&mut ks, "d", b"x");
        ks.set_expire(0, b"d", 1_000_000);
        assert_eq!(run(&mut ks, bitop, "bitop or d d"), ":1\r\n");
        assert_eq!(ks.expire_of(0, b"d"), None);
    }

    #[test]
    fn bitop_errors() {
        let mut ks = Keyspace::new(16);
        assert_eq!(run(&mut ks, bitop, "bitop not d a b"), err(NOT_ONE_KEY));
        assert_eq!(run(&mut ks, bitop, "bitop nand d a"), err(SYNTAX));
        assert_eq!(run(&mut ks, bitop, "bitop andx d a"), err(SYNTAX));
        // strcasecmp stops at a NUL, as Redis's does.
        set(&mut ks, "a", b"\x01");
        assert_eq!(
            call(
                &mut ks,
                Protocol::Resp2,
                bitop,
                &[b"bitop", b"or\0junk", b"d", b"a"]
            ),
            b":1\r\n"
        );
    }

    #[test]
    fn bitfield_documented_examples() {
        let mut ks = Keyspace::new(16);
        assert_eq!(
            run(&mut ks, bitfield, "bitfield mykey INCRBY i5 100 1 GET u4 0"),
            "*2\r\n:1\r\n:0\r\n"
        );
        let cmd = "bitfield mykey incrby u2 100 1 OVERFLOW SAT incrby u2 102 1";
        let expect = [
            "*2\r\n:1\r\n:1\r\n",
            "*2\r\n:2\r\n:2\r\n",
            "*2\r\n:3\r\n:3\r\n",
            "*2\r\n:0\r\n:3\r\n",
        ];
        for e in expect {
            assert_eq!(run(&mut ks, bitfield, cmd), e);
        }
        assert_eq!(
            run(
                &mut ks,
                bitfield,
                "bitfield mykey OVERFLOW FAIL incrby u2 102 1"
            ),
            "*1\r\n$-1\r\n"
        );
        let r3 = call(
            &mut ks,
            Protocol::Resp3,
            bitfield,
            &[
                b"bitfield",
                b"mykey",
                b"overflow",
                b"fail",
                b"incrby",
                b"u2",
                b"102",
                b"1",
            ],
        );
        assert_eq!(r3, b"*1\r\n_\r\n");
        // `#N` offsets are multiplied by the type's width.
        assert_eq!(
            run(
                &mut ks,
                bitfield,
                "bitfield h SET i8 #0 100 SET i8 #1 200 GET u8 #1 GET u8 8"
            ),
            "*4\r\n:0\r\n:0\r\n:200\r\n:200\r\n"
        );
        assert_eq!(get(&mut ks, "h").unwrap(), b"d\xc8");
    }

    #[test]
    fn bitfield_i64_and_u63_limits() {
        let mut ks = Keyspace::new(16);
        let max = i64::MAX;
        let min = i64::MIN;
        let r = run(
            &mut ks,
            bitfield,
            &format!("bitfield k set i64 0 {max} incrby i64 0 1 get i64 0"),
        );
        assert_eq!(r, format!("*3\r\n:0\r\n:{min}\r\n:{min}\r\n"));
        let r = run(
            &mut ks,
            bitfield,
            "bitfield k overflow sat incrby i64 0 -1 overflow fail incrby i64 0 -1 get i64 0",
        );
        assert_eq!(r, format!("*3\r\n:{min}\r\n$-1\r\n:{min}\r\n"));
        let r = run(
            &mut ks,
            bitfield,
            &format!(
                "bitfield k overflow sat incrby i64 0 {max} incrby i64 0 {max} incrby i64 0 {max}"
            ),
        );
        assert_eq!(r, format!("*3\r\n:-1\r\n:{}\r\n:{max}\r\n", max - 1));
        // u63 is the widest unsigned type.
        let umax = (1u64 << 63) - 1;
        let r = run(&mut ks, bitfield, &format!("bitfield u set u63 0 {umax} incrby u63 0 1 overflow sat incrby u63 0 -1 incrby u63 0 -1 set u63 0 -1"));
        assert_eq!(r, format!("*5\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n"));
        assert_eq!(
            run(&mut ks, bitfield, "bitfield u get u63 0"),
            format!("*1\r\n:{umax}\r\n")
        );
        let r = run(
            &mut ks,
            bitfield,
            &format!("bitfield u overflow fail incrby u63 0 1 overflow wrap incrby u63 0 {max}"),
        );
        assert_eq!(r, format!("*2\r\n$-1\r\n:{}\r\n", umax - 1));
        // Negative SET values on unsigned types overflow.
        let r = run(
            &mut ks,
            bitfield,
            "bitfield v set u8 0 -1 overflow sat set u8 0 -1 overflow fail set u8 0 -1 get u8 0",
        );
        assert_eq!(r, "*4\r\n:0\r\n:255\r\n$-1\r\n:255\r\n");
        // Redis's quirk: saturating i64::MIN into i8 gives +127 (its overflow check wraps).
        let r = run(
            &mut ks,
            bitfield,
            &format!(
                "bitfield w overflow sat set i8 0 {min} set i8 0 -4611686018427387904 get i8 0"
            ),
        );
        assert_eq!(r, "*3\r\n:0\r\n:127\r\n:-128\r\n");
        let r = run(
            &mut ks,
            bitfield,
            &format!("bitfield w overflow wrap set i8 0 {min} set i1 8 1 get i1 8"),
        );
        assert_eq!(r, "*3\r\n:-128\r\n:0\r\n:-1\r\n");
    }

    #[test]
    fn bitfield_reads_without_writing() {
        let mut ks = Keyspace::new(16);
        assert_eq!(run(&mut ks, bitfield, "bitfield nokey"), "*0\r\n");
        assert_eq!(
            run(&mut ks, bitfield, "bitfield nokey get i64 1000 get u1 0"),
            "*2\r\n:0\r\n:0\r\n"
        );
        assert!(get(&mut ks, "nokey").is_none());
        set(&mut ks, "k", b"123");
        assert_eq!(
            run(
                &mut ks,
                bitfield,
                "bitfield k get u8 0 get u16 #1 get i64 24"
            ),
            "*3\r\n:49\r\n:13056\r\n:0\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                bitfield_ro,
                "bitfield_ro k overflow sat get u8 0 get i8 0"
            ),
            "*2\r\n:49\r\n:49\r\n"
        );
        assert_eq!(ks.dirty, 0);
        assert_eq!(ks.entry(0, b"k").unwrap().value.encoding(), "int");
    }

    #[test]
    fn bitfield_counts_only_changing_writes() {
        let mut ks = Keyspace::new(16);
        // A new key: every successful write counts.
        run(
            &mut ks,
            bitfield,
            "bitfield k set u8 0 0 set u8 0 0 incrby u8 0 0",
        );
        assert_eq!(ks.dirty, 3);
        // Same value, no growth: nothing changed.
        assert_eq!(
            run(&mut ks, bitfield, "bitfield k set u8 0 0 incrby u8 0 0"),
            "*2\r\n:0\r\n:0\r\n"
        );
        assert_eq!(ks.dirty, 3);
        run(&mut ks, bitfield, "bitfield k set u8 0 5 set u8 0 5");
        assert_eq!(ks.dirty, 4);
        // A refused write creates the key but is not a change.
        assert_eq!(
            run(&mut ks, bitfield, "bitfield f overflow fail set u8 0 256"),
            "*1\r\n$-1\r\n"
        );
        assert_eq!(get(&mut ks, "f").unwrap(), b"\x00");
        assert_eq!(ks.dirty, 4);
    }

    #[test]
    fn bitfield_errors() {
        let mut ks = Keyspace::new(16);
        for t in [
            "u64", "I8", "i65", "u0", "i0", "u08", "x8", "u", "", "i-1", "u+8",
        ] {
            assert_eq!(
                run(&mut ks, bitfield, &format!("bitfield k get {t} 0")),
                err(BAD_TYPE),
                "{t}"
            );
        }
        for off in ["#-1", "-1", "x", "4294967296", "#536870912", "#", "1.5"] {
            assert_eq!(
                run(&mut ks, bitfield, &format!("bitfield k get u8 {off}")),
                err(BAD_OFFSET),
                "{off}"
            );
        }
        assert_eq!(
            run(&mut ks, bitfield, "bitfield k get u8 4294967295"),
            "*1\r\n:0\r\n"
        );
        assert_eq!(
            run(&mut ks, bitfield, "bitfield k get u8 #536870911"),
            "*1\r\n:0\r\n"
        );
        // #N * bits wraps like the C multiplication: 2^61 * 8 is offset 0.
        set(&mut ks, "s", b"f");
        assert_eq!(
            run(&mut ks, bitfield, "bitfield s get i8 #2305843009213693952"),
            "*1\r\n:102\r\n"
        );
        assert_eq!(
            run(&mut ks, bitfield, "bitfield k overflow foo"),
            err(BAD_OVERFLOW)
        );
        assert_eq!(run(&mut ks, bitfield, "bitfield k get u8"), err(SYNTAX));
        assert_eq!(run(&mut ks, bitfield, "bitfield k set u8 0"), err(SYNTAX));
        assert_eq!(run(&mut ks, bitfield, "bitfield k overflow"), err(SYNTAX));
        assert_eq!(run(&mut ks, bitfield, "bitfield k foo"), err(SYNTAX));
        assert_eq!(
            run(&mut ks, bitfield, "bitfield k set u8 0 x"),
            err(NOT_INT)
        );
        assert_eq!(
            run(&mut ks, bitfield, "bitfield k incrby u8 0 1.5"),
            err(NOT_INT)
        );
        // Parsing finishes before anything runs.
        assert_eq!(
            run(&mut ks, bitfield, "bitfield k set u8 0 1 get u99 0"),
            err(BAD_TYPE)
        );
        assert_eq!(
            run(&mut ks, bitfield_ro, "bitfield_ro k set u8 0 1"),
            err(RO_ONLY_GET)
        );
        assert_eq!(
            run(&mut ks, bitfield_ro, "bitfield_ro k get u8 0 incrby u8 0 1"),
            err(RO_ONLY_GET)
        );
        assert!(get(&mut ks, "k").is_none());
        assert_eq!(ks.dirty, 0);
    }

    #[test]
    fn bitfield_writes_may_pass_the_bulk_limit_by_a_field() {
        let mut ks = Keyspace::new(16);
        ks.max_string_len = 1024 * 1024;
        assert_eq!(
            run(&mut ks, bitfield, "bitfield z set i64 8388607 1"),
            "*1\r\n:0\r\n"
        );
        assert_eq!(ks.get(0, b"z").unwrap().str_len(), 1_048_584);
    }
}

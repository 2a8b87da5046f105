//! Hash commands: HSET and friends, counters, whole-hash reads, HSCAN and HRANDFIELD.
//!
//! Also home of what the hash and set families share: *SCAN option parsing and replies, and
//! the small random generator behind HRANDFIELD, SRANDMEMBER and SPOP.

use super::keys::parse_cursor;
use super::{eq_ic, Ctx, NOT_FLOAT, NOT_INT, SYNTAX};
use crate::glob::glob_match;
use crate::keyspace::{notify, Keyspace};
use crate::num::{incr_by_float, parse_i64, IncrFloatError};
use crate::types::hash::Hash;
use crate::value::Value;
use bytes::Bytes;
use resp::Out;

/// The reply of a *SCAN on a missing key: cursor 0 and no elements.
const EMPTY_SCAN: &[u8] = b"*2\r\n$1\r\n0\r\n*0\r\n";

/// Error for a count of `i64::MIN`, which cannot be negated (Redis asks for -LONG_MAX..LONG_MAX).
pub(crate) const COUNT_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

/// A small SplitMix64 generator for the random picks of one command, seeded from the keyspace's
/// generator so that a seeded keyspace replays the same choices.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded from the keyspace.
    pub(crate) fn from_keyspace(ks: &mut Keyspace) -> Self {
        Rng(ks.next_random())
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The options of HSCAN/SSCAN (and ZSCAN): `[MATCH pattern] [COUNT count]`.
pub(crate) struct ScanOptions<'a> {
    /// The pattern, unless it is absent or `*`.
    pub pattern: Option<&'a [u8]>,
    /// How much work to do per call (a hint).
    pub count: usize,
}

/// Parses the options starting at `argv[start]` as Redis's `scanGenericCommand` does for a
/// collection (no TYPE); on failure returns the error to reply.
pub(crate) fn parse_scan_options(
    argv: &[Bytes],
    start: usize,
) -> Result<ScanOptions<'_>, &'static str> {
    let mut opts = ScanOptions {
        pattern: None,
        count: 10,
    };
    let mut i = start;
    while i < argv.len() {
        let has_value = argv.len() - i >= 2;
        if eq_ic(&argv[i], "count") && has_value {
            let n = parse_i64(&argv[i + 1]).ok_or(NOT_INT)?;
            if n < 1 {
                return Err(SYNTAX);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ic(&argv[i], "match") && has_value {
            let p = &argv[i + 1][..];
            opts.pattern = (p != b"*").then_some(p);
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    Ok(opts)
}

/// Writes a *SCAN reply: the cursor (as Redis, a signed decimal) and the elements.
pub(crate) fn reply_scan<T: AsRef<[u8]>>(out: &mut Out, cursor: u64, items: &[T]) {
    out.array(2);
    out.bulk_int(cursor as i64);
    out.array(items.len());
    for item in items {
        out.bulk(item.as_ref());
    }
}

/// Replies to a *SCAN whose key is missing.
pub(crate) fn reply_empty_scan(out: &mut Out) {
    out.raw(EMPTY_SCAN);
}

/// What a read lookup of a hash found.
enum Found<'k> {
    Missing,
    Hash(&'k Hash),
    WrongType,
}

/// Read lookup (counting hits and misses) of the hash at `key`.
fn lookup_read<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8]) -> Found<'k> {
    match ks.get(db, key) {
        None => Found::Missing,
        Some(Value::Hash(h)) => Found::Hash(h),
        Some(_) => Found::WrongType,
    }
}

/// Write lookup of the hash at `key`: Ok(None) when missing, Err after replying WRONGTYPE.
fn lookup_write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k mut Hash>, ()> {
    match ctx.ks.get_mut(ctx.db, key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => {
            ctx.out.error(crate::keyspace::WRONGTYPE);
            Err(())
        }
    }
}

/// The hash at `key`, created empty if missing (Redis's `hashTypeLookupWriteOrCreate`);
/// None after replying WRONGTYPE.
fn lookup_write_or_create<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Option<&'k mut Hash> {
    let db = ctx.db;
    match ctx.ks.get_mut(db, key) {
        None => {
            ctx.ks.set(db, key, Value::Hash(Box::default()), false);
        }
        Some(Value::Hash(_)) => {}
        Some(_) => {
            ctx.wrongtype();
            return None;
        }
    }
    match ctx.ks.get_mut(db, key) {
        Some(Value::Hash(h)) => Some(h),
        _ => unreachable!("hash just looked up or created"),
    }
}

fn hset_generic(ctx: &mut Ctx, name: &str) {
    if ctx.argv.len() % 2 == 1 {
        return ctx.out.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
    }
    let key = ctx.arg(1);
    let limits = ctx.ks.limits;
    let argv = ctx.argv;
    let Some(h) = lookup_write_or_create(ctx, key) else {
        return;
    };
    let mut created = 0;
    for pair in argv[2..].chunks_exact(2) {
        if h.set(&pair[0], &pair[1], &limits) {
            created += 1;
        }
    }
    let pairs = (argv.len() - 2) / 2;
    ctx.ks.changed_n(ctx.db, key, notify::HASH, "hset", pairs);
    if name == "hset" {
        ctx.out.int(created);
    } else {
        ctx.out.ok();
    }
}

/// HSET key field value [field value ...]
pub fn hset(ctx: &mut Ctx) {
    hset_generic(ctx, "hset");
}

/// HMSET key field value [field value ...]: HSET that replies +OK.
pub fn hmset(ctx: &mut Ctx) {
    hset_generic(ctx, "hmset");
}

/// HSETNX key field value
pub fn hsetnx(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    let (field, value) = (ctx.arg(2), ctx.arg(3));
    let limits = ctx.ks.limits;
    let Some(h) = lookup_write_or_create(ctx, key) else {
        return;
    };
    if h.contains(field) {
        return ctx.out.int(0);
    }
    h.set(field, value, &limits);
    ctx.ks.changed(ctx.db, key, notify::HASH, "hset");
    ctx.out.int(1);
}

/// HGET key field
pub fn hget(ctx: &mut Ctx) {
    match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => ctx.out.null(),
        Found::Hash(h) => match h.get(&ctx.argv[2]) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        },
        Found::WrongType => ctx.wrongtype(),
    }
}

/// HMGET key field [field ...]
pub fn hmget(ctx: &mut Ctx) {
    let h = match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => None,
        Found::Hash(h) => Some(h),
        Found::WrongType => return ctx.wrongtype(),
    };
    ctx.out.array(ctx.argv.len() - 2);
    for field in &ctx.argv[2..] {
        match h.and_then(|h| h.get(field)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
}

/// HDEL key field [field ...]
pub fn hdel(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    let argv = ctx.argv;
    let Ok(found) = lookup_write(ctx, key) else {
        return;
    };
    let Some(h) = found else {
        return ctx.out.int(0);
    };
    let mut deleted = 0;
    let mut emptied = false;
    for field in &argv[2..] {
        if h.remove(field) {
            deleted += 1;
            if h.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.ks.changed_n(ctx.db, key, notify::HASH, "hdel", deleted);
        if emptied {
            ctx.ks.delete_emptied(ctx.db, key);
        }
    }
    ctx.out.int(deleted as i64);
}

/// HLEN key
pub fn hlen(ctx: &mut Ctx) {
    match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => ctx.out.int(0),
        Found::Hash(h) => ctx.out.int(h.len() as i64),
        Found::WrongType => ctx.wrongtype(),
    }
}

/// HSTRLEN key field
pub fn hstrlen(ctx: &mut Ctx) {
    match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => ctx.out.int(0),
        Found::Hash(h) => ctx
            .out
            .int(h.get(&ctx.argv[2]).map_or(0, |v| v.len() as i64)),
        Found::WrongType => ctx.wrongtype(),
    }
}

/// HEXISTS key field
pub fn hexists(ctx: &mut Ctx) {
    match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => ctx.out.int(0),
        Found::Hash(h) => ctx.out.int(i64::from(h.contains(&ctx.argv[2]))),
        Found::WrongType => ctx.wrongtype(),
    }
}

/// What HKEYS, HVALS and HGETALL return.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Fields,
    Values,
    Both,
}

fn hgetall_generic(ctx: &mut Ctx, part: Part) {
    let h = match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => {
            // HGETALL's empty reply is an empty map (`%0` in RESP3), the others an empty array.
            return if part == Part::Both {
                ctx.out.map(0)
            } else {
                ctx.out.array(0)
            };
        }
        Found::Hash(h) => h,
        Found::WrongType => return ctx.wrongtype(),
    };
    if part == Part::Both {
        ctx.out.map(h.len());
    } else {
        ctx.out.array(h.len());
    }
    for (f, v) in h.iter() {
        if part != Part::Values {
            ctx.out.bulk(f);
        }
        if part != Part::Fields {
            ctx.out.bulk(v);
        }
    }
}

/// HKEYS key
pub fn hkeys(ctx: &mut Ctx) {
    hgetall_generic(ctx, Part::Fields);
}

/// HVALS key
pub fn hvals(ctx: &mut Ctx) {
    hgetall_generic(ctx, Part::Values);
}

/// HGETALL key: a flat array in RESP2, a map in RESP3.
pub fn hgetall(ctx: &mut Ctx) {
    hgetall_generic(ctx, Part::Both);
}

/// HINCRBY key field increment
pub fn hincrby(ctx: &mut Ctx) {
    let Some(incr) = ctx.int_arg(3) else { return };
    let key = ctx.arg(1);
    let field = ctx.arg(2);
    let limits = ctx.ks.limits;
    let Some(h) = lookup_write_or_create(ctx, key) else {
        return;
    };
    let current = match h.get(field) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return ctx.out.error("ERR hash value is not an integer"),
        },
    };
    let Some(new) = current.checked_add(incr) else {
        return ctx.out.error("ERR increment or decrement would overflow");
    };
    h.set(field, new.to_string().as_bytes(), &limits);
    ctx.ks.changed(ctx.db, key, notify::HASH, "hincrby");
    ctx.out.int(new);
}

/// HINCRBYFLOAT key field increment: long-double arithmetic, propagated as HSET of the result.
pub fn hincrbyfloat(ctx: &mut Ctx) {
    let incr = ctx.arg(3);
    // The increment is checked before the key: adding it to nothing fails only if it is bad.
    match incr_by_float(None, incr) {
        Ok(_) => {}
        Err(IncrFloatError::NanOrInfinity) => return ctx.out.error("ERR value is NaN or Infinity"),
        Err(_) => return ctx.out.error(NOT_FLOAT),
    }
    let key = ctx.arg(1);
    let field = ctx.arg(2);
    let limits = ctx.ks.limits;
    let Some(h) = lookup_write_or_create(ctx, key) else {
        return;
    };
    let text = match incr_by_float(h.get(field), incr) {
        Ok(t) => t,
        Err(IncrFloatError::NotAFloat) => return ctx.out.error("ERR hash value is not a float"),
        Err(IncrFloatError::NanOrInfinity) => {
            return ctx.out.error("ERR increment would produce NaN or Infinity")
        }
        Err(IncrFloatError::BadIncrement) => return ctx.out.error(NOT_FLOAT),
    };
    h.set(field, &text, &limits);
    ctx.ks.changed(ctx.db, key, notify::HASH, "hincrbyfloat");
    ctx.out.bulk(&text);
    // Replicas and the AOF get the result, so float formatting can never make them differ.
    ctx.propagate_as(vec![
        Bytes::from_static(b"HSET"),
        ctx.argv[1].clone(),
        ctx.argv[2].clone(),
        Bytes::from(text),
    ]);
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
pub fn hscan(ctx: &mut Ctx) {
    let Some(mut cursor) = parse_cursor(ctx.arg(2)) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let h = match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => return reply_empty_scan(ctx.out),
        Found::Hash(h) => h,
        Found::WrongType => return ctx.wrongtype(),
    };
    let opts = match parse_scan_options(ctx.argv, 3) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let mut items: Vec<&[u8]> = Vec::new();
    if let Hash::Table(_) = h {
        // Redis counts fields and values alike, and bounds sparse tables to 10*COUNT buckets.
        let count = opts.count.saturating_mul(2);
        let mut budget = count.saturating_mul(10);
        loop {
            cursor = h.scan(cursor, |f, v| {
                items.push(f);
                items.push(v);
            });
            if cursor == 0 || budget == 0 {
                break;
            }
            budget -= 1;
            if items.len() >= count {
                break;
            }
        }
    } else {
        cursor = h.scan(cursor, |f, v| {
            items.push(f);
            items.push(v);
        });
    }
    if let Some(p) = opts.pattern {
        let mut kept = Vec::with_capacity(items.len());
        for pair in items.chunks_exact(2) {
            if glob_match(p, pair[0], false) {
                kept.extend_from_slice(pair);
            }
        }
        items = kept;
    }
    reply_scan(ctx.out, cursor, &items);
}

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield(ctx: &mut Ctx) {
    let argc = ctx.argv.len();
    if argc >= 3 {
        let Some(count) = ctx.int_arg(2) else { return };
        if count == i64::MIN {
            return ctx.out.error(COUNT_RANGE);
        }
        if argc > 4 || (argc == 4 && !eq_ic(ctx.arg(3), "withvalues")) {
            return ctx.syntax_error();
        }
        let with_values = argc == 4;
        // Room for the doubled reply length.
        if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            return ctx.out.error("ERR value is out of range");
        }
        return hrandfield_with_count(ctx, count, with_values);
    }
    let mut rng = Rng::from_keyspace(ctx.ks);
    match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => ctx.out.null(),
        Found::Hash(h) => match h.random_pair(rng.next_u64()) {
            Some((f, _)) => ctx.out.bulk(f),
            None => ctx.out.null(),
        },
        Found::WrongType => ctx.wrongtype(),
    }
}

/// Writes one HRANDFIELD pick: the field, and with WITHVALUES the value (as a pair in RESP3).
fn reply_pick(out: &mut Out, field: &[u8], value: &[u8], with_values: bool) {
    if with_values && out.resp3() {
        out.array(2);
    }
    out.bulk(field);
    if with_values {
        out.bulk(value);
    }
}

/// Writes the array header of HRANDFIELD with `n` picks.
fn reply_picks_header(out: &mut Out, n: usize, with_values: bool) {
    if with_values && !out.resp3() {
        out.array(n * 2);
    } else {
        out.array(n);
    }
}

fn hrandfield_with_count(ctx: &mut Ctx, count: i64, with_values: bool) {
    let mut rng = Rng::from_keyspace(ctx.ks);
    let h = match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => return ctx.out.array(0),
        Found::Hash(h) => h,
        Found::WrongType => return ctx.wrongtype(),
    };
    let unique = count >= 0;
    let n = count.unsigned_abs() as usize;
    if n == 0 || h.is_empty() {
        return ctx.out.array(0);
    }
    // Negative count: independent picks, repeats allowed (and a single pick is the same thing).
    if !unique || n == 1 {
        reply_picks_header(ctx.out, n, with_values);
        let listpack_len = match h {
            Hash::Listpack(_) => Some(h.len()),
            Hash::Table(_) => None,
        };
        let pairs: Vec<(&[u8], &[u8])> = if listpack_len.is_some() {
            h.iter().collect()
        } else {
            Vec::new()
        };
        for _ in 0..n {
            let (f, v) = match listpack_len {
                Some(len) => pairs[rng.below(len)],
                None => h.random_pair(rng.next_u64()).expect("not empty"),
            };
            reply_pick(ctx.out, f, v, with_values);
        }
        return;
    }
    let size = h.len();
    // Asking for at least the whole hash returns it whole, in its own order.
    if n >= size {
        reply_picks_header(ctx.out, size, with_values);
        for (f, v) in h.iter() {
            reply_pick(ctx.out, f, v, with_values);
        }
        return;
    }
    reply_picks_header(ctx.out, n, with_values);
    if n * 3 > size || matches!(h, Hash::Listpack(_)) {
        // A large share (or a small hash): shuffle the first `n` of all pairs into place.
        let mut pairs: Vec<(&[u8], &[u8])> = h.iter().collect();
        for i in 0..n {
            let j = i + rng.below(size - i);
            pairs.swap(i, j);
        }
        for &(f, v) in &pairs[..n] {
            reply_pick(ctx.out, f, v, with_values);
        }
    } else {
        // A small share of a big table: draw until `n` distinct fields came up.
        let mut seen: std::collections::HashSet<&[u8]> =
            std::collections::HashSet::with_capacity(n);
        let mut picks = Vec::with_capacity(n);
        while picks.len() < n {
            let (f, v) = h.random_pair(rng.next_u64()).expect("not empty");
            if seen.insert(f) {
                picks.push((f, v));
            }
        }
        for (f, v) in picks {
            reply_pick(ctx.out, f, v, with_values);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::EncodingLimits;
    use resp::Protocol;

    fn run_proto(
        ks: &mut Keyspace,
        f: fn(&mut Ctx),
        args: &[&str],
        proto: Protocol,
    ) -> (Vec<u8>, Option<Vec<Vec<Bytes>>>) {
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut out = Out::new(proto);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        f(&mut ctx);
        let p = ctx.propagate.take();
        (out.buf, p)
    }

    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> Vec<u8> {
        run_proto(ks, f, args, Protocol::Resp2).0
    }

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn encoding(ks: &Keyspace, key: &str) -> &'static str {
        ks.entry(0, key.as_bytes())
            .map_or("none", |e| e.value.encoding())
    }

    /// A command and its arguments.
    type Case<'a> = (fn(&mut Ctx), &'a [&'a str]);

    const WRONG: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn hset_hget_and_friends() {
        let mut ks = Keyspace::new(1);
        assert_eq!(
            s(&run(&mut ks, hset, &["HSET", "h", "a", "1", "b", "2"])),
            ":2\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hset, &["HSET", "h", "a", "x", "c", "3"])),
            ":1\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hmset, &["HMSET", "h", "d", "4"])),
            "+OK\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hset, &["HSET", "h", "a", "1", "b"])),
            "-ERR wrong number of arguments for 'hset' command\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hmset, &["HMSET", "h", "a", "1", "b"])),
            "-ERR wrong number of arguments for 'hmset' command\r\n"
        );
        assert_eq!(s(&run(&mut ks, hget, &["HGET", "h", "a"])), "$1\r\nx\r\n");
        assert_eq!(s(&run(&mut ks, hget, &["HGET", "h", "zz"])), "$-1\r\n");
        assert_eq!(s(&run(&mut ks, hget, &["HGET", "nokey", "a"])), "$-1\r\n");
        assert_eq!(
            s(&run(&mut ks, hmget, &["HMGET", "h", "a", "zz", "d"])),
            "*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n4\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hmget, &["HMGET", "nokey", "a"])),
            "*1\r\n$-1\r\n"
        );
        assert_eq!(s(&run(&mut ks, hlen, &["HLEN", "h"])), ":4\r\n");
        assert_eq!(s(&run(&mut ks, hstrlen, &["HSTRLEN", "h", "d"])), ":1\r\n");
        assert_eq!(s(&run(&mut ks, hstrlen, &["HSTRLEN", "h", "zz"])), ":0\r\n");
        assert_eq!(s(&run(&mut ks, hexists, &["HEXISTS", "h", "c"])), ":1\r\n");
        assert_eq!(s(&run(&mut ks, hexists, &["HEXISTS", "h", "zz"])), ":0\r\n");
        assert_eq!(
            s(&run(&mut ks, hsetnx, &["HSETNX", "h", "c", "9"])),
            ":0\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hsetnx, &["HSETNX", "h", "e", "5"])),
            ":1\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hkeys, &["HKEYS", "h"])),
            "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hvals, &["HVALS", "h"])),
            "*5\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"
        );
        assert_eq!(s(&run(&mut ks, hgetall, &["HGETALL", "nokey"])), "*0\r\n");
        assert_eq!(
            s(&run_proto(&mut ks, hgetall, &["HGETALL", "nokey"], Protocol::Resp3).0),
            "%0\r\n"
        );
        assert_eq!(
            s(&run_proto(&mut ks, hkeys, &["HKEYS", "nokey"], Protocol::Resp3).0),
            "*0\r\n"
        );
        run(&mut ks, hdel, &["HDEL", "h", "b", "c", "d", "e"]);
        assert_eq!(
            s(&run(&mut ks, hgetall, &["HGETALL", "h"])),
            "*2\r\n$1\r\na\r\n$1\r\nx\r\n"
        );
        assert_eq!(
            s(&run_proto(&mut ks, hgetall, &["HGETALL", "h"], Protocol::Resp3).0),
            "%1\r\n$1\r\na\r\n$1\r\nx\r\n"
        );
        assert_eq!(encoding(&ks, "h"), "listpack");
    }

    #[test]
    fn every_command_checks_the_type() {
        let mut ks = Keyspace::new(1);
        ks.set(0, b"str", Value::string(b"x"), false);
        let cmds: &[Case] = &[
            (hset, &["HSET", "str", "a", "1"]),
            (hmset, &["HMSET", "str", "a", "1"]),
            (hsetnx, &["HSETNX", "str", "a", "1"]),
            (hget, &["HGET", "str", "a"]),
            (hmget, &["HMGET", "str", "a"]),
            (hdel, &["HDEL", "str", "a"]),
            (hlen, &["HLEN", "str"]),
            (hstrlen, &["HSTRLEN", "str", "a"]),
            (hexists, &["HEXISTS", "str", "a"]),
            (hkeys, &["HKEYS", "str"]),
            (hvals, &["HVALS", "str"]),
            (hgetall, &["HGETALL", "str"]),
            (hincrby, &["HINCRBY", "str", "a", "1"]),
            (hincrbyfloat, &["HINCRBYFLOAT", "str", "a", "1"]),
            (hscan, &["HSCAN", "str", "0"]),
            (hrandfield, &["HRANDFIELD", "str"]),
            (hrandfield, &["HRANDFIELD", "str", "2", "WITHVALUES"]),
        ];
        for (f, args) in cmds {
            assert_eq!(s(&run(&mut ks, *f, args)), WRONG, "{args:?}");
        }
        assert_eq!(ks.dirty, 0);
    }

    #[test]
    fn hdel_deletes_the_emptied_key_and_notifies() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        run(&mut ks, hset, &["HSET", "h", "a", "1", "b", "2"]);
        assert_eq!(ks.dirty, 2);
        ks.notifications.clear();
        assert_eq!(s(&run(&mut ks, hdel, &["HDEL", "h", "zz"])), ":0\r\n");
        assert_eq!(ks.dirty, 2);
        assert!(ks.notifications.is_empty());
        assert_eq!(
            s(&run(&mut ks, hdel, &["HDEL", "h", "a", "a", "b", "c"])),
            ":2\r\n"
        );
        assert_eq!(ks.dirty, 4);
        let events: Vec<_> = ks.notifications.iter().map(|n| n.event).collect();
        assert_eq!(events, vec!["hdel", "del"]);
        assert!(!ks.exists(0, b"h"));
        assert_eq!(s(&run(&mut ks, hdel, &["HDEL", "h", "a"])), ":0\r\n");
    }

    #[test]
    fn hincrby_rules() {
        let mut ks = Keyspace::new(1);
        assert_eq!(
            s(&run(&mut ks, hincrby, &["HINCRBY", "h", "n", "5"])),
            ":5\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hincrby, &["HINCRBY", "h", "n", "-7"])),
            ":-2\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hincrby, &["HINCRBY", "h", "n", "x"])),
            "-ERR value is not an integer or out of range\r\n"
        );
        run(
            &mut ks,
            hset,
            &["HSET", "h", "s", "abc", "big", "9223372036854775807"],
        );
        assert_eq!(
            s(&run(&mut ks, hincrby, &["HINCRBY", "h", "s", "1"])),
            "-ERR hash value is not an integer\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hincrby, &["HINCRBY", "h", "big", "1"])),
            "-ERR increment or decrement would overflow\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hincrby, &["HINCRBY", "nokey", "n", "x"])),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert!(!ks.exists(0, b"nokey"));
        // A long field converts the hash even on the increment path.
        let long = "f".repeat(65);
        run(&mut ks, hincrby, &["HINCRBY", "h", &long, "1"]);
        assert_eq!(encoding(&ks, "h"), "hashtable");
    }

    #[test]
    fn hincrbyfloat_rules_and_propagation() {
        let mut ks = Keyspace::new(1);
        let (r, p) = run_proto(
            &mut ks,
            hincrbyfloat,
            &["HINCRBYFLOAT", "h", "f", "10.5"],
            Protocol::Resp2,
        );
        assert_eq!(s(&r), "$4\r\n10.5\r\n");
        let want: Vec<Bytes> = ["HSET", "h", "f", "10.5"]
            .iter()
            .map(|a| Bytes::from(a.to_string()))
            .collect();
        assert_eq!(p, Some(vec![want]));
        let (r, _) = run_proto(
            &mut ks,
            hincrbyfloat,
            &["HINCRBYFLOAT", "h", "f", "0.1"],
            Protocol::Resp3,
        );
        assert_eq!(s(&r), "$4\r\n10.6\r\n", "a bulk string in RESP3 too");
        assert_eq!(
            s(&run(
                &mut ks,
                hincrbyfloat,
                &["HINCRBYFLOAT", "h", "f", "inf"]
            )),
            "-ERR value is NaN or Infinity\r\n"
        );
        assert_eq!(
            s(&run(
                &mut ks,
                hincrbyfloat,
                &["HINCRBYFLOAT", "h", "f", "nan"]
            )),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            s(&run(
                &mut ks,
                hincrbyfloat,
                &["HINCRBYFLOAT", "h", "f", "abc"]
            )),
            "-ERR value is not a valid float\r\n"
        );
        ks.set(0, b"str", Value::string(b"x"), false);
        assert_eq!(
            s(&run(
                &mut ks,
                hincrbyfloat,
                &["HINCRBYFLOAT", "str", "f", "abc"]
            )),
            "-ERR value is not a valid float\r\n",
            "the increment is checked before the type"
        );
        run(
            &mut ks,
            hset,
            &["HSET", "h", "s", "abc", "m", "1.7976931348623157e308"],
        );
        assert_eq!(
            s(&run(
                &mut ks,
                hincrbyfloat,
                &["HINCRBYFLOAT", "h", "s", "1"]
            )),
            "-ERR hash value is not a float\r\n"
        );
        let r = run(
            &mut ks,
            hincrbyfloat,
            &["HINCRBYFLOAT", "h", "big", "1e400"],
        );
        assert!(
            r.starts_with(b"$401\r\n1000"),
            "long double range: {}",
            s(&r)
        );
        assert_eq!(encoding(&ks, "h"), "hashtable", "a 401-byte value converts");
    }

    #[test]
    fn hscan_listpack_is_one_call_and_table_follows_the_cursor() {
        let mut ks = Keyspace::new(1);
        run(&mut ks, hset, &["HSET", "h", "a", "1", "b", "2", "ab", "3"]);
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "h", "77", "COUNT", "1"])),
            "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "h", "0", "MATCH", "a*"])),
            "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "nokey", "0"])),
            "*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "h", "x"])),
            "-ERR invalid cursor\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "h", "0", "COUNT", "0"])),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "h", "0", "COUNT", "x"])),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "h", "0", "TYPE", "hash"])),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "h", "0", "MATCH"])),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hscan, &["HSCAN", "nokey", "0", "COUNT", "0"])),
            "*2\r\n$1\r\n0\r\n*0\r\n"
        );

        for i in 0..1000 {
            let f = format!("f{i}");
            run(&mut ks, hset, &["HSET", "big", &f, "v"]);
        }
        assert_eq!(encoding(&ks, "big"), "hashtable");
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let r = run(
                &mut ks,
                hscan,
                &["HSCAN", "big", &cursor, "COUNT", "20", "MATCH", "f1*"],
            );
            let (frame, _) = resp::parse_frame(&r).unwrap().unwrap();
            let resp::Frame::Array(parts) = frame else {
                panic!()
            };
            let resp::Frame::Bulk(c) = &parts[0] else {
                panic!()
            };
            let resp::Frame::Array(items) = &parts[1] else {
                panic!()
            };
            for pair in items.chunks(2) {
                let (resp::Frame::Bulk(f), resp::Frame::Bulk(v)) = (&pair[0], &pair[1]) else {
                    panic!()
                };
                assert_eq!(v, b"v");
                assert!(f.starts_with(b"f1"));
                seen.insert(f.clone());
            }
            cursor = String::from_utf8(c.clone()).unwrap();
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 111);
        assert!(calls > 5, "the table is walked in steps");
    }

    #[test]
    fn hrandfield_shapes() {
        let mut ks = Keyspace::new(1);
        run(&mut ks, hset, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(
            s(&run(&mut ks, hrandfield, &["HRANDFIELD", "nokey"])),
            "$-1\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hrandfield, &["HRANDFIELD", "nokey", "3"])),
            "*0\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hrandfield, &["HRANDFIELD", "h", "0"])),
            "*0\r\n"
        );
        assert_eq!(
            s(&run(
                &mut ks,
                hrandfield,
                &["HRANDFIELD", "h", "5", "WITHVALUES"]
            )),
            "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            s(&run_proto(&mut ks, hrandfield, &["HRANDFIELD", "h", "3", "WITHVALUES"], Protocol::Resp3).0),
            "*3\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            s(&run(
                &mut ks,
                hrandfield,
                &["HRANDFIELD", "h", "-9223372036854775808"]
            )),
            format!("-{COUNT_RANGE}\r\n")
        );
        assert_eq!(
            s(&run(
                &mut ks,
                hrandfield,
                &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"]
            )),
            "-ERR value is out of range\r\n"
        );
        assert_eq!(
            s(&run(
                &mut ks,
                hrandfield,
                &["HRANDFIELD", "h", "1", "WITHVALUE"]
            )),
            "-ERR syntax error\r\n"
        );
        ks.set(0, b"str", Value::string(b"x"), false);
        assert_eq!(
            s(&run(&mut ks, hrandfield, &["HRANDFIELD", "str", "1", "x"])),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            s(&run(&mut ks, hrandfield, &["HRANDFIELD", "str", "x"])),
            "-ERR value is not an integer or out of range\r\n"
        );

        let limits = EncodingLimits {
            hash_max_listpack_entries: 2,
            ..EncodingLimits::default()
        };
        for big in [false, true] {
            if big {
                ks.limits = limits;
                run(&mut ks, hset, &["HSET", "h", "d", "4", "e", "5"]);
                assert_eq!(encoding(&ks, "h"), "hashtable");
            }
            let n = if big { 5 } else { 3 };
            for _ in 0..50 {
                let r = run(
                    &mut ks,
                    hrandfield,
                    &["HRANDFIELD", "h", "-7", "WITHVALUES"],
                );
                let (resp::Frame::Array(items), _) = resp::parse_frame(&r).unwrap().unwrap() else {
                    panic!()
                };
                assert_eq!(items.len(), 14);
                for k in [2usize, n - 1] {
                    let r = run(&mut ks, hrandfield, &["HRANDFIELD", "h", &k.to_string()]);
                    let (resp::Frame::Array(items), _) = resp::parse_frame(&r).unwrap().unwrap()
                    else {
                        panic!()
                    };
                    let distinct: std::collections::HashSet<_> =
                        items.iter().map(|f| format!("{f:?}")).collect();
                    assert_eq!(distinct.len(), k, "unique picks");
                }
                let r = run(&mut ks, hrandfield, &["HRANDFIELD", "h"]);
                assert!(r.starts_with(b"$1\r\n"));
            }
        }
    }

    #[test]
    fn encoding_conversion_thresholds() {
        let mut ks = Keyspace::new(1);
        ks.limits.hash_max_listpack_entries = 3;
        ks.limits.hash_max_listpack_value = 5;
        run(
            &mut ks,
            hset,
            &["HSET", "h", "a", "1", "b", "2", "c", "12345"],
        );
        assert_eq!(encoding(&ks, "h"), "listpack");
        run(&mut ks, hset, &["HSET", "h", "d", "4"]);
        assert_eq!(encoding(&ks, "h"), "hashtable");
        run(&mut ks, hdel, &["HDEL", "h", "a", "b", "c"]);
        assert_eq!(encoding(&ks, "h"), "hashtable", "never converts back");
        run(&mut ks, hsetnx, &["HSETNX", "h2", "f", "123456"]);
        assert_eq!(encoding(&ks, "h2"), "hashtable");
        run(&mut ks, hset, &["HSET", "h3", "f", "1"]);
        run(
            &mut ks,
            hincrbyfloat,
            &["HINCRBYFLOAT", "h3", "f", "0.00001"],
        );
        assert_eq!(
            encoding(&ks, "h3"),
            "hashtable",
            "the 7-byte result is too long"
        );
    }

    #[test]
    fn writes_count_dirty_and_notify_like_redis() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        run(&mut ks, hset, &["HSET", "h", "a", "1", "a", "1"]);
        assert_eq!(ks.dirty, 2);
        run(&mut ks, hsetnx, &["HSETNX", "h", "a", "1"]);
        assert_eq!(ks.dirty, 2);
        run(&mut ks, hincrby, &["HINCRBY", "h", "a", "1"]);
        run(&mut ks, hincrbyfloat, &["HINCRBYFLOAT", "h", "a", "1"]);
        let events: Vec<_> = ks
            .notifications
            .iter()
            .filter(|n| n.class == notify::HASH)
            .map(|n| n.event)
            .collect();
        assert_eq!(events, vec!["hset", "hincrby", "hincrbyfloat"]);
        assert_eq!(ks.dirty, 4);
        assert_eq!(s(&run(&mut ks, hget, &["HGET", "h", "a"])), "$1\r\n3\r\n");
    }
}

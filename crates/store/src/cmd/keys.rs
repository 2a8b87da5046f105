//! Generic key commands: DEL, EXISTS, TYPE, RENAME, COPY, MOVE, SWAPDB, KEYS, SCAN, RANDOMKEY,
//! TOUCH, DBSIZE, FLUSHDB, FLUSHALL, OBJECT and MEMORY USAGE, as Redis 7.0 runs them.

use super::{eq_ic, Ctx, DB_RANGE, NOT_INT, NO_SUCH_KEY, SYNTAX};
use crate::glob::glob_match;
use crate::keyspace::{notify, Entry};
use crate::num::parse_i64;
use crate::value::Value;
use resp::Out;

/// The reply when a command's source and destination are the same object.
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
/// The reply for an integer argument outside the range of a C `int`.
pub const INT_RANGE: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";
/// The reply of OBJECT FREQ while no LFU maxmemory policy is selected.
pub const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
/// The reference count Redis reports for its shared integer objects (`OBJ_SHARED_REFCOUNT`).
pub const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Integers below this are shared objects in Redis (`OBJ_SHARED_INTEGERS`).
pub const SHARED_INTEGERS: i64 = 10_000;

/// The part of `arg` before its first NUL byte, as C string functions see it.
pub(crate) fn cstr(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    }
}

/// Writes the error `-<prefix><arg><suffix>` the way Redis formats a `%.<max>s` argument into an
/// error: cut at a NUL byte and at `max` bytes, CR and LF turned into spaces.
pub(crate) fn error_with_arg(out: &mut Out, prefix: &str, arg: &[u8], max: usize, suffix: &str) {
    let arg = cstr(arg);
    let arg = &arg[..arg.len().min(max)];
    let mut line = Vec::with_capacity(prefix.len() + arg.len() + suffix.len() + 3);
    line.push(b'-');
    line.extend_from_slice(prefix.as_bytes());
    line.extend_from_slice(arg);
    line.extend_from_slice(suffix.as_bytes());
    for b in &mut line[1..] {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    line.extend_from_slice(b"\r\n");
    out.raw(&line);
}

/// Parses argument `i` as Redis's `getIntFromObjectOrReply`: a strict integer that fits a C
/// `int`; on failure replies `msg` (or Redis's default texts) and returns None.
fn int32_arg(ctx: &mut Ctx, i: usize, msg: Option<&str>) -> Option<i64> {
    match parse_i64(ctx.arg(i)) {
        None => {
            ctx.out.error(msg.unwrap_or(NOT_INT));
            None
        }
        Some(v) if v < i32::MIN as i64 || v > i32::MAX as i64 => {
            ctx.out.error(msg.unwrap_or(INT_RANGE));
            None
        }
        Some(v) => Some(v),
    }
}

/// `v` as a database index if it names one of the configured databases.
fn db_index(ctx: &Ctx, v: i64) -> Option<usize> {
    (v >= 0 && (v as u64) < ctx.ks.dbs.len() as u64).then_some(v as usize)
}

fn del_generic(ctx: &mut Ctx) {
    let mut deleted = 0;
    for i in 1..ctx.argv.len() {
        let key = ctx.arg(i);
        // Lazy expiry first (a primary deletes and propagates an expired key here), then the
        // plain removal, which on a replica also drops a key that is only logically expired.
        ctx.ks.expire_if_needed(ctx.db, key);
        if ctx.ks.remove_entry(ctx.db, key).is_some() {
            ctx.ks.changed(ctx.db, key, notify::GENERIC, "del");
            deleted += 1;
        }
    }
    ctx.out.int(deleted);
}

/// DEL key [key ...]
pub fn del(ctx: &mut Ctx) {
    del_generic(ctx);
}

/// UNLINK key [key ...] (DEL with the memory freed in the background in Redis; same effects here).
pub fn unlink(ctx: &mut Ctx) {
    del_generic(ctx);
}

/// EXISTS key [key ...]: counts every argument that names a live key, repeats included.
pub fn exists(ctx: &mut Ctx) {
    let mut count = 0;
    for i in 1..ctx.argv.len() {
        if ctx
            .ks
            .lookup_read(ctx.db, ctx.arg(i), false, true)
            .is_some()
        {
            count += 1;
        }
    }
    ctx.out.int(count);
}

/// TYPE key
pub fn type_(ctx: &mut Ctx) {
    let name = match ctx.ks.lookup_read(ctx.db, ctx.arg(1), false, true) {
        Some(e) => e.value.value_type().name(),
        None => "none",
    };
    ctx.out.simple(name);
}

fn rename_generic(ctx: &mut Ctx, nx: bool) {
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    if ctx.ks.get_mut(ctx.db, src).is_none() {
        return ctx.out.error(NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { ctx.out.int(0) } else { ctx.out.ok() };
    }
    if ctx.ks.get_mut(ctx.db, dst).is_some() && nx {
        return ctx.out.int(0);
    }
    let Some((entry, when)) = ctx.ks.take(ctx.db, src) else {
        return ctx.out.error(NO_SUCH_KEY);
    };
    ctx.ks.put(ctx.db, dst, entry, when);
    ctx.ks.touch(ctx.db, src);
    ctx.ks.notify(notify::GENERIC, "rename_from", ctx.db, src);
    ctx.ks.changed(ctx.db, dst, notify::GENERIC, "rename_to");
    if nx {
        ctx.out.int(1)
    } else {
        ctx.out.ok()
    }
}

/// RENAME key newkey
pub fn rename(ctx: &mut Ctx) {
    rename_generic(ctx, false);
}

/// RENAMENX key newkey
pub fn renamenx(ctx: &mut Ctx) {
    rename_generic(ctx, true);
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy(ctx: &mut Ctx) {
    let mut replace = false;
    let mut dst_db = ctx.db;
    let mut j = 3;
    while j < ctx.argv.len() {
        let opt = ctx.arg(j);
        if eq_ic(opt, "replace") {
            replace = true;
        } else if eq_ic(opt, "db") && j + 1 < ctx.argv.len() {
            let Some(v) = int32_arg(ctx, j + 1, None) else {
                return;
            };
            let Some(d) = db_index(ctx, v) else {
                return ctx.out.error(DB_RANGE);
            };
            dst_db = d;
            j += 1;
        } else {
            return ctx.out.error(SYNTAX);
        }
        j += 1;
    }
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    if dst_db == ctx.db && src == dst {
        return ctx.out.error(SAME_OBJECT);
    }
    let Some(value) = ctx.ks.get(ctx.db, src).cloned() else {
        return ctx.out.int(0);
    };
    let when = ctx.ks.expire_of(ctx.db, src);
    if ctx.ks.get_mut(dst_db, dst).is_some() {
        if !replace {
            return ctx.out.int(0);
        }
        ctx.ks.remove_entry(dst_db, dst);
    }
    let lru = ctx.ks.lru_clock();
    ctx.ks.put(dst_db, dst, Entry { value, lru }, when);
    ctx.ks.changed(dst_db, dst, notify::GENERIC, "copy_to");
    ctx.out.int(1);
}

/// MOVE key db
pub fn move_(ctx: &mut Ctx) {
    let Some(v) = int32_arg(ctx, 2, None) else {
        return;
    };
    let Some(dst_db) = db_index(ctx, v) else {
        return ctx.out.error(DB_RANGE);
    };
    if dst_db == ctx.db {
        return ctx.out.error(SAME_OBJECT);
    }
    let key = ctx.arg(1);
    if ctx.ks.get_mut(ctx.db, key).is_none() || ctx.ks.get_mut(dst_db, key).is_some() {
        return ctx.out.int(0);
    }
    let Some((entry, when)) = ctx.ks.take(ctx.db, key) else {
        return ctx.out.int(0);
    };
    ctx.ks.put(dst_db, key, entry, when);
    ctx.ks.touch(ctx.db, key);
    ctx.ks.notify(notify::GENERIC, "move_from", ctx.db, key);
    ctx.ks.changed(dst_db, key, notify::GENERIC, "move_to");
    ctx.out.int(1);
}

/// SWAPDB index1 index2
pub fn swapdb(ctx: &mut Ctx) {
    let Some(a) = int32_arg(ctx, 1, Some("ERR invalid first DB index")) else {
        return;
    };
    let Some(b) = int32_arg(ctx, 2, Some("ERR invalid second DB index")) else {
        return;
    };
    let (Some(a), Some(b)) = (db_index(ctx, a), db_index(ctx, b)) else {
        return ctx.out.error(DB_RANGE);
    };
    if a != b {
        ctx.ks.swap_db(a, b);
    }
    ctx.ks.dirty += 1;
    ctx.out.ok();
}

/// KEYS pattern: every live key matching the glob (expired keys are skipped, not deleted).
pub fn keys(ctx: &mut Ctx) {
    let pattern = ctx.arg(1);
    let all = pattern == b"*";
    let ks = &*ctx.ks;
    let found: Vec<&[u8]> = ks.dbs[ctx.db]
        .data
        .keys()
        .map(|k| &k[..])
        .filter(|k| (all || glob_match(pattern, k, false)) && !ks.is_logically_expired(ctx.db, k))
        .collect();
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(k);
    }
}

/// Parses a SCAN cursor as Redis does with `strtoul(s, &end, 10)`: no leading space, an optional
/// sign (a negative value wraps), decimal digits up to the end (or a NUL), no overflow; the
/// empty string is cursor 0.
pub fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = cstr(arg);
    if s.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
pub fn scan(ctx: &mut Ctx) {
    let Some(mut cursor) = parse_cursor(ctx.arg(1)) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let argc = ctx.argv.len();
    let mut i = 2;
    while i < argc {
        let opt = ctx.arg(i);
        let has_value = argc - i >= 2;
        if eq_ic(opt, "count") && has_value {
            let Some(n) = ctx.int_arg(i + 1) else { return };
            if n < 1 {
                return ctx.out.error(SYNTAX);
            }
            count = n;
        } else if eq_ic(opt, "match") && has_value {
            let p = ctx.arg(i + 1);
            pattern = (p != b"*").then_some(p);
        } else if eq_ic(opt, "type") && has_value {
            type_name = Some(cstr(ctx.arg(i + 1)));
        } else {
            return ctx.out.error(SYNTAX);
        }
        i += 2;
    }

    // Visit buckets until COUNT keys are collected, the iteration ends, or 10*COUNT more
    // buckets were visited (so a sparse table cannot make one call take long).
    let mut batch: Vec<crate::keyspace::Key> = Vec::new();
    let mut budget = count.saturating_mul(10);
    let data = &ctx.ks.dbs[ctx.db].data;
    loop {
        cursor = data.scan(cursor, |k, _| batch.push(k.clone()));
        if cursor == 0 || budget == 0 {
            break;
        }
        budget -= 1;
        if batch.len() as u64 >= count as u64 {
            break;
        }
    }

    let mut keys = Vec::with_capacity(batch.len());
    for key in batch {
        if let Some(p) = pattern {
            if !glob_match(p, &key, false) {
                continue;
            }
        }
        if let Some(want) = type_name {
            let have = match ctx.ks.lookup_read(ctx.db, &key, false, true) {
                Some(e) => e.value.value_type().name(),
                None => "none",
            };
            if !want.eq_ignore_ascii_case(have.as_bytes()) {
                continue;
            }
        }
        if ctx.ks.expire_if_needed(ctx.db, &key) {
            continue;
        }
        keys.push(key);
    }
    ctx.out.array(2);
    ctx.out.bulk(cursor.to_string().as_bytes());
    ctx.out.array(keys.len());
    for k in &keys {
        ctx.out.bulk(k);
    }
}

/// RANDOMKEY
pub fn randomkey(ctx: &mut Ctx) {
    match ctx.ks.random_key(ctx.db) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
}

/// TOUCH key [key ...]: counts the live keys and refreshes their access time.
pub fn touch(ctx: &mut Ctx) {
    let mut touched = 0;
    for i in 1..ctx.argv.len() {
        if ctx.ks.get(ctx.db, ctx.arg(i)).is_some() {
            touched += 1;
        }
    }
    ctx.out.int(touched);
}

/// DBSIZE: keys in the selected database, including expired ones not yet removed.
pub fn dbsize(ctx: &mut Ctx) {
    let n = ctx.ks.dbs[ctx.db].len();
    ctx.out.int(n as i64);
}

/// Checks FLUSHDB/FLUSHALL's optional ASYNC|SYNC argument, replying the syntax error if bad.
fn flush_args_ok(ctx: &mut Ctx) -> bool {
    let ok = match ctx.argv.len() {
        1 => true,
        2 => eq_ic(ctx.arg(1), "sync") || eq_ic(ctx.arg(1), "async"),
        _ => false,
    };
    if !ok {
        ctx.out.error(SYNTAX);
    }
    ok
}

/// FLUSHDB [ASYNC|SYNC]: empties the selected database. Counts one change per removed key and
/// is propagated as sent even when nothing was removed (`ctx.propagate` is set to force it).
pub fn flushdb(ctx: &mut Ctx) {
    if !flush_args_ok(ctx) {
        return;
    }
    let removed = ctx.ks.flush_db(ctx.db);
    ctx.ks.dirty += removed as u64;
    ctx.propagate_as(ctx.argv.to_vec());
    ctx.out.ok();
}

/// FLUSHALL [ASYNC|SYNC]: empties every database. Counts one change per removed key and is
/// propagated as sent even on an empty dataset (`ctx.propagate` is set to force it).
pub fn flushall(ctx: &mut Ctx) {
    if !flush_args_ok(ctx) {
        return;
    }
    let mut removed = 0;
    for db in 0..ctx.ks.dbs.len() {
        removed += ctx.ks.flush_db(db);
    }
    ctx.ks.dirty += removed as u64;
    ctx.ks.flushed_all = true;
    ctx.propagate_as(ctx.argv.to_vec());
    ctx.out.ok();
}

/// Replies Redis's unknown-subcommand error for container `argv[0]` and subcommand `argv[1]`.
fn unknown_subcommand(ctx: &mut Ctx) {
    let container = String::from_utf8_lossy(ctx.arg(0)).to_ascii_uppercase();
    let suffix = format!("'. Try {container} HELP.");
    let sub = ctx.arg(1);
    error_with_arg(ctx.out, "ERR unknown subcommand '", sub, 128, &suffix);
}

/// Replies the arity error Redis gives for subcommand `container|sub`.
fn sub_arity(ctx: &mut Ctx, container: &str, sub: &str) {
    ctx.out.error(&format!(
        "ERR wrong number of arguments for '{container}|{sub}' command"
    ));
}

/// Replies a help text as Redis's `addReplyHelp` does: a header line, the lines, and HELP.
fn reply_help(out: &mut Out, container: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        out.simple(line);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// OBJECT's help lines, as in Redis 7.0.
const OBJECT_HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

/// A subcommand: its lower-case name, its arity (counting the container) and its function.
type SubCommand = (&'static str, usize, fn(&mut Ctx));

/// OBJECT's subcommands.
const OBJECT_SUBCOMMANDS: [SubCommand; 5] = [
    ("help", 2, object_help),
    ("encoding", 3, object_encoding),
    ("freq", 3, object_freq),
    ("idletime", 3, object_idletime),
    ("refcount", 3, object_refcount),
];

/// OBJECT subcommand ...: dispatches to the subcommands below with Redis's subcommand and
/// arity errors, for a command table that registers OBJECT as one command of arity -2.
pub fn object(ctx: &mut Ctx) {
    if ctx.argv.len() < 2 {
        return ctx
            .out
            .error("ERR wrong number of arguments for 'object' command");
    }
    let sub = ctx.arg(1);
    match OBJECT_SUBCOMMANDS
        .iter()
        .find(|(name, _, _)| eq_ic(sub, name))
    {
        None => unknown_subcommand(ctx),
        Some(&(name, arity, _)) if ctx.argv.len() != arity => sub_arity(ctx, "object", name),
        Some(&(_, _, f)) => f(ctx),
    }
}

/// OBJECT HELP
pub fn object_help(ctx: &mut Ctx) {
    reply_help(ctx.out, "OBJECT", OBJECT_HELP);
}

/// What the OBJECT subcommands report about a value.
struct ObjectInfo {
    encoding: &'static str,
    shared: bool,
    lru: u32,
}

/// Looks up OBJECT's key (no access-time update, no keymiss event); replies nil and returns
/// None when it is missing.
fn object_lookup(ctx: &mut Ctx) -> Option<ObjectInfo> {
    let info = ctx
        .ks
        .lookup_read(ctx.db, ctx.arg(2), false, false)
        .map(|e| ObjectInfo {
            encoding: e.value.encoding(),
            shared: matches!(e.value, Value::Int(n) if (0..SHARED_INTEGERS).contains(&n)),
            lru: e.lru,
        });
    if info.is_none() {
        ctx.out.null();
    }
    info
}

/// OBJECT ENCODING key
pub fn object_encoding(ctx: &mut Ctx) {
    if let Some(info) = object_lookup(ctx) {
        ctx.out.bulk(info.encoding.as_bytes());
    }
}

/// OBJECT REFCOUNT key: Redis shares the integers 0..9999 (reported as `INT_MAX`).
pub fn object_refcount(ctx: &mut Ctx) {
    if let Some(info) = object_lookup(ctx) {
        ctx.out.int(if info.shared { SHARED_REFCOUNT } else { 1 });
    }
}

/// OBJECT IDLETIME key: seconds since the key was last accessed.
pub fn object_idletime(ctx: &mut Ctx) {
    if let Some(info) = object_lookup(ctx) {
        let idle = ctx.ks.lru_clock().saturating_sub(info.lru);
        ctx.out.int(i64::from(idle));
    }
}

/// OBJECT FREQ key: always the "no LFU policy" error for an existing key (no LFU support yet).
pub fn object_freq(ctx: &mut Ctx) {
    if object_lookup(ctx).is_some() {
        ctx.out.error(LFU_NOT_SELECTED);
    }
}

/// MEMORY's help lines, as in Redis 7.0.
const MEMORY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

/// MEMORY HELP
pub fn memory_help(ctx: &mut Ctx) {
    reply_help(ctx.out, "MEMORY", MEMORY_HELP);
}

/// Bytes jemalloc really allocates for a request of `n` bytes (its size classes: multiples of
/// 16 up to 128, then four classes per doubling).
pub fn jemalloc_size(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return (n + 15) & !15;
    }
    let lg = usize::BITS - 1 - (n - 1).leading_zeros();
    let delta = 1usize << (lg - 2);
    (n + delta - 1) & !(delta - 1)
}

/// Allocation size of a Redis sds string with room for `alloc` bytes (header type by size).
fn sds_size(alloc: usize) -> usize {
    let header = match alloc {
        0..=31 => 1,
        32..=255 => 3,
        256..=65_535 => 5,
        _ if alloc as u64 <= u64::from(u32::MAX) => 9,
        _ => 17,
    };
    jemalloc_size(header + alloc + 1)
}

/// Size of a Redis object header (`robj`).
const ROBJ_SIZE: usize = 16;
/// Size of a Redis hash table entry (`dictEntry`).
const DICT_ENTRY_SIZE: usize = 24;

/// MEMORY USAGE's figure for a key and its value: what Redis 7.0 with jemalloc reports for
/// strings, and `Value::memory_usage` plus the same key and entry overhead for other types.
pub fn key_memory_usage(key: &[u8], value: &Value) -> usize {
    let value_size = match value {
        Value::Int(_) => ROBJ_SIZE,
        Value::Emb(b) => jemalloc_size(ROBJ_SIZE + 3 + b.len() + 1),
        Value::Raw(b) => ROBJ_SIZE + sds_size(b.len()),
        Value::RawBuf(v) => ROBJ_SIZE + sds_size(v.capacity().max(v.len())),
        // Lists report Redis's own figure for their quicklist.
        Value::List(l) => ROBJ_SIZE + l.memory_usage(),
        _ => value.memory_usage(),
    };
    value_size + sds_size(key.len()) + DICT_ENTRY_SIZE
}

/// MEMORY USAGE key [SAMPLES count]
pub fn memory_usage(ctx: &mut Ctx) {
    let mut j = 3;
    while j < ctx.argv.len() {
        if eq_ic(ctx.arg(j), "samples") && j + 1 < ctx.argv.len() {
            let Some(n) = ctx.int_arg(j + 1) else { return };
            if n < 0 {
                return ctx.out.error(SYNTAX);
            }
            j += 2;
        } else {
            return ctx.out.error(SYNTAX);
        }
    }
    // Like Redis, a plain table lookup: a key past its deadline but not yet removed still counts.
    let key = ctx.arg(2);
    match ctx.ks.dbs[ctx.db].data.get(key) {
        Some(e) => {
            let n = key_memory_usage(key, &e.value);
            ctx.out.int(n as i64);
        }
        None => ctx.out.null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Keyspace;
    use bytes::Bytes;
    use resp::{parse_frame, Frame, Protocol};
    use std::collections::HashSet;

    type Propagated = Option<Vec<Vec<Bytes>>>;

    fn argv(args: &[&str]) -> Vec<Bytes> {
        args.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    /// Runs one command in `db`, returning the reply bytes and the propagation override.
    fn run_in(
        ks: &mut Keyspace,
        db: usize,
        f: fn(&mut Ctx),
        args: &[&str],
    ) -> (Vec<u8>, Propagated) {
        let argv = argv(args);
        let mut out = Out::new(Protocol::Resp2);
        let mut ctx = Ctx::new(ks, db, &mut out, &argv);
        f(&mut ctx);
        let propagate = ctx.propagate.take();
        (out.buf, propagate)
    }

    /// Runs one command in db 0 and returns the reply bytes.
    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> Vec<u8> {
        run_in(ks, 0, f, args).0
    }

    fn set(ks: &mut Keyspace, db: usize, key: &str, value: &str) {
        ks.set(db, key.as_bytes(), Value::string(value.as_bytes()), false);
    }

    fn events(ks: &mut Keyspace) -> Vec<(&'static str, usize, String)> {
        ks.notifications
            .drain(..)
            .map(|n| (n.event, n.db, String::from_utf8_lossy(&n.key).into_owned()))
            .collect()
    }

    fn ev(event: &'static str, db: usize, key: &str) -> (&'static str, usize, String) {
        (event, db, key.to_string())
    }

    fn keyspace() -> Keyspace {
        let mut ks = Keyspace::new(16);
        ks.now_ms = 1_700_000_000_000;
        ks.notify_flags = notify::KEYEVENT | notify::GENERIC | notify::KEY_MISS | notify::EXPIRED;
        ks
    }

    #[test]
    fn del_and_unlink_count_deleted_keys_once() {
        let mut ks = keyspace();
        set(&mut ks, 0, "k", "v");
        set(&mut ks, 0, "k2", "v");
        ks.watch(1, 0, b"k");
        ks.watch(2, 0, b"nokey");
        let (reply, propagate) = run_in(&mut ks, 0, del, &["DEL", "k", "k", "k2", "nokey"]);
        assert_eq!(reply, b":2\r\n");
        assert_eq!(propagate, None, "DEL propagates as sent");
        assert_eq!(ks.dirty, 2);
        assert_eq!(events(&mut ks), vec![ev("del", 0, "k"), ev("del", 0, "k2")]);
        assert_eq!(ks.invalidated_watchers, vec![1]);
        set(&mut ks, 0, "u", "v");
        assert_eq!(run(&mut ks, unlink, &["UNLINK", "u", "nokey"]), b":1\r\n");
        assert_eq!(run(&mut ks, del, &["del", "nokey"]), b":0\r\n");
        assert_eq!(ks.dirty, 3, "deleting nothing is not a change");
    }

    #[test]
    fn del_of_an_expired_key_expires_it_on_a_primary_and_deletes_it_on_a_replica() {
        let mut ks = keyspace();
        set(&mut ks, 0, "e", "v");
        ks.set_expire(0, b"e", ks.now_ms - 1);
        assert_eq!(run(&mut ks, del, &["DEL", "e"]), b":0\r\n");
        assert_eq!(ks.propagated, vec![(0, argv(&["DEL", "e"]))]);
        assert_eq!(events(&mut ks), vec![ev("expired", 0, "e")]);
        assert_eq!(ks.dirty, 0);

        let mut ks = keyspace();
        ks.replica_mode = true;
        set(&mut ks, 0, "e", "v");
        ks.set_expire(0, b"e", ks.now_ms - 1);
        assert_eq!(run(&mut ks, del, &["DEL", "e"]), b":1\r\n");
        assert!(ks.dbs[0].is_empty() && ks.dbs[0].expires.is_empty());
        assert!(ks.propagated.is_empty());
    }

    #[test]
    fn exists_counts_repeats_and_type_names_values() {
        let mut ks = keyspace();
        set(&mut ks, 0, "a", "1");
        assert_eq!(
            run(&mut ks, exists, &["EXISTS", "a", "a", "a", "b"]),
            b":3\r\n"
        );
        assert_eq!(ks.stats.keyspace_hits, 3);
        assert_eq!(ks.stats.keyspace_misses, 1);
        assert_eq!(events(&mut ks), vec![ev("keymiss", 0, "b")]);
        assert_eq!(run(&mut ks, type_, &["TYPE", "a"]), b"+string\r\n");
        assert_eq!(run(&mut ks, type_, &["TYPE", "nokey"]), b"+none\r\n");
        ks.set_expire(0, b"a", ks.now_ms - 1);
        assert_eq!(run(&mut ks, type_, &["TYPE", "a"]), b"+none\r\n");
        assert_eq!(run(&mut ks, exists, &["EXISTS", "a"]), b":0\r\n");
    }

    #[test]
    fn rename_moves_value_and_deadline() {
        let mut ks = keyspace();
        assert_eq!(
            run(&mut ks, rename, &["RENAME", "nokey", "x"]),
            b"-ERR no such key\r\n"
        );
        assert_eq!(
            run(&mut ks, rename, &["RENAME", "nokey", "nokey"]),
            b"-ERR no such key\r\n"
        );
        assert_eq!(
            run(&mut ks, renamenx, &["RENAMENX", "nokey", "nokey"]),
            b"-ERR no such key\r\n"
        );
        set(&mut ks, 0, "a", "1");
        set(&mut ks, 0, "b", "2");
        ks.set_expire(0, b"a", ks.now_ms + 5000);
        ks.notifications.clear();
        assert_eq!(run(&mut ks, rename, &["RENAME", "a", "a"]), b"+OK\r\n");
        assert_eq!(run(&mut ks, renamenx, &["RENAMENX", "a", "a"]), b":0\r\n");
        assert_eq!(run(&mut ks, renamenx, &["RENAMENX", "a", "b"]), b":0\r\n");
        assert_eq!(ks.dirty, 0);
        ks.watch(7, 0, b"a");
        ks.watch(8, 0, b"b");
        let (reply, propagate) = run_in(&mut ks, 0, rename, &["RENAME", "a", "b"]);
        assert_eq!(reply, b"+OK\r\n");
        assert_eq!(propagate, None);
        assert_eq!(ks.dirty, 1);
        assert_eq!(
            events(&mut ks),
            vec![ev("rename_from", 0, "a"), ev("rename_to", 0, "b")]
        );
        assert_eq!(ks.invalidated_watchers, vec![7, 8]);
        assert_eq!(ks.get(0, b"b"), Some(&Value::Int(1)));
        assert_eq!(ks.expire_of(0, b"b"), Some(ks.now_ms + 5000));
        assert!(ks.expire_of(0, b"a").is_none() && !ks.exists(0, b"a"));
        assert_eq!(run(&mut ks, renamenx, &["RENAMENX", "b", "c"]), b":1\r\n");
        assert_eq!(ks.expire_of(0, b"c"), Some(ks.now_ms + 5000));
    }

    #[test]
    fn copy_checks_options_then_copies_with_deadline() {
        let mut ks = keyspace();
        set(&mut ks, 0, "b", "hello");
        ks.set_expire(0, b"b", ks.now_ms + 1000);
        ks.notifications.clear();
        let same = b"-ERR source and destination objects are the same\r\n";
        assert_eq!(run(&mut ks, copy, &["COPY", "b", "b"]), same);
        assert_eq!(run(&mut ks, copy, &["COPY", "nokey", "nokey"]), same);
        assert_eq!(run(&mut ks, copy, &["COPY", "b", "b", "DB", "0"]), same);
        let range = b"-ERR DB index is out of range\r\n";
        assert_eq!(run(&mut ks, copy, &["COPY", "b", "c", "db", "16"]), range);
        assert_eq!(run(&mut ks, copy, &["COPY", "b", "c", "db", "-1"]), range);
        assert_eq!(
            run(&mut ks, copy, &["COPY", "b", "c", "db", "99", "foo"]),
            range
        );
        assert_eq!(
            run(&mut ks, copy, &["COPY", "b", "c", "db", "x"]),
            b"-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            run(&mut ks, copy, &["COPY", "b", "c", "db", "3000000000"]),
            b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(
            run(&mut ks, copy, &["COPY", "b", "c", "db"]),
            b"-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, copy, &["COPY", "b", "c", "foo"]),
            b"-ERR syntax error\r\n"
        );
        assert_eq!(run(&mut ks, copy, &["COPY", "nokey", "c"]), b":0\r\n");
        assert_eq!(ks.dirty, 0);
        ks.notifications.clear();

        assert_eq!(run(&mut ks, copy, &["COPY", "b", "c"]), b":1\r\n");
        assert_eq!(run(&mut ks, copy, &["COPY", "b", "c"]), b":0\r\n");
        assert_eq!(
            run(&mut ks, copy, &["COPY", "b", "c", "REPLACE", "replace"]),
            b":1\r\n"
        );
        assert_eq!(ks.expire_of(0, b"c"), Some(ks.now_ms + 1000));
        ks.watch(3, 1, b"b");
        let (reply, propagate) = run_in(&mut ks, 0, copy, &["copy", "b", "b", "db", "1"]);
        assert_eq!(reply, b":1\r\n");
        assert_eq!(propagate, None);
        assert_eq!(ks.invalidated_watchers, vec![3]);
        assert_eq!(ks.dirty, 3);
        let evs = events(&mut ks);
        assert_eq!(
            evs,
            vec![
                ev("copy_to", 0, "c"),
                ev("copy_to", 0, "c"),
                ev("copy_to", 1, "b")
            ]
        );
        assert_eq!(
            ks.get(1, b"b").and_then(|v| v.as_bytes()).as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(
            ks.get(0, b"b").and_then(|v| v.as_bytes()).as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(ks.expire_of(1, b"b"), Some(ks.now_ms + 1000));
    }

    #[test]
    fn move_checks_then_moves_with_deadline() {
        let mut ks = keyspace();
        set(&mut ks, 0, "b", "1");
        ks.set_expire(0, b"b", ks.now_ms + 1000);
        let same = b"-ERR source and destination objects are the same\r\n";
        assert_eq!(run(&mut ks, move_, &["MOVE", "b", "0"]), same);
        assert_eq!(run(&mut ks, move_, &["MOVE", "nokey", "0"]), same);
        assert_eq!(
            run(&mut ks, move_, &["MOVE", "b", "16"]),
            b"-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            run(&mut ks, move_, &["MOVE", "b", "x"]),
            b"-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            run(&mut ks, move_, &["MOVE", "b", "3000000000"]),
            b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(run(&mut ks, move_, &["MOVE", "nokey", "1"]), b":0\r\n");
        set(&mut ks, 2, "b", "other");
        assert_eq!(run(&mut ks, move_, &["MOVE", "b", "2"]), b":0\r\n");
        ks.notifications.clear();
        ks.watch(5, 0, b"b");
        ks.watch(6, 1, b"b");
        assert_eq!(run(&mut ks, move_, &["MOVE", "b", "1"]), b":1\r\n");
        assert_eq!(ks.dirty, 1);
        assert_eq!(
            events(&mut ks),
            vec![ev("move_from", 0, "b"), ev("move_to", 1, "b")]
        );
        assert_eq!(ks.invalidated_watchers, vec![5, 6]);
        assert!(!ks.exists(0, b"b"));
        assert_eq!(ks.expire_of(1, b"b"), Some(ks.now_ms + 1000));
        assert_eq!(ks.get(1, b"b"), Some(&Value::Int(1)));
    }

    #[test]
    fn swapdb_validates_and_swaps() {
        let mut ks = keyspace();
        set(&mut ks, 0, "a", "1");
        let swap = |ks: &mut Keyspace, a: &str, b: &str| run(ks, swapdb, &["SWAPDB", a, b]);
        assert_eq!(swap(&mut ks, "0", "x"), b"-ERR invalid second DB index\r\n");
        assert_eq!(swap(&mut ks, "x", "0"), b"-ERR invalid first DB index\r\n");
        assert_eq!(
            swap(&mut ks, "3000000000", "0"),
            b"-ERR invalid first DB index\r\n"
        );
        assert_eq!(
            swap(&mut ks, "0", "16"),
            b"-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            swap(&mut ks, "-1", "0"),
            b"-ERR DB index is out of range\r\n"
        );
        assert_eq!(ks.dirty, 0);
        ks.watch(9, 0, b"a");
        assert_eq!(swap(&mut ks, "0", "0"), b"+OK\r\n");
        assert!(ks.invalidated_watchers.is_empty());
        assert_eq!(swap(&mut ks, "0", "3"), b"+OK\r\n");
        assert_eq!(ks.dirty, 2);
        assert_eq!(ks.invalidated_watchers, vec![9]);
        assert!(ks.exists(3, b"a") && !ks.exists(0, b"a"));
        let (_, propagate) = run_in(&mut ks, 0, swapdb, &["swapdb", "3", "0"]);
        assert_eq!(propagate, None);
    }

    #[test]
    fn keys_matches_globs_and_skips_expired_keys_without_deleting() {
        let mut ks = keyspace();
        for k in ["one", "two", "three", "four"] {
            set(&mut ks, 0, k, "x");
        }
        ks.set_expire(0, b"two", ks.now_ms - 1);
        let reply = run(&mut ks, keys, &["KEYS", "*"]);
        let mut got = bulk_strings(&reply);
        got.sort();
        assert_eq!(got, ["four", "one", "three"]);
        let mut got = bulk_strings(&run(&mut ks, keys, &["KEYS", "t*"]));
        got.sort();
        assert_eq!(got, ["three"]);
        assert_eq!(
            run(&mut ks, keys, &["KEYS", "[o]ne"]),
            b"*1\r\n$3\r\none\r\n"
        );
        assert_eq!(run(&mut ks, keys, &["KEYS", "nomatch"]), b"*0\r\n");
        assert_eq!(ks.dbs[0].len(), 4, "KEYS does not delete expired keys");
        assert!(ks.propagated.is_empty());
    }

    fn bulk_strings(reply: &[u8]) -> Vec<String> {
        let (frame, used) = parse_frame(reply).unwrap().unwrap();
        assert_eq!(used, reply.len());
        match frame {
            Frame::Array(items) => items
                .into_iter()
                .map(|f| match f {
                    Frame::Bulk(b) => String::from_utf8(b).unwrap(),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    /// Parses a SCAN reply into (cursor, keys).
    fn scan_reply(reply: &[u8]) -> (u64, Vec<String>) {
        let (frame, used) = parse_frame(reply).unwrap().unwrap();
        assert_eq!(used, reply.len());
        let Frame::Array(mut parts) = frame else {
            panic!("not an array")
        };
        assert_eq!(parts.len(), 2);
        let keys = match parts.pop() {
            Some(Frame::Array(items)) => items
                .into_iter()
                .map(|f| match f {
                    Frame::Bulk(b) => String::from_utf8(b).unwrap(),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("bad keys {other:?}"),
        };
        let cursor = match parts.pop() {
            Some(Frame::Bulk(b)) => std::str::from_utf8(&b).unwrap().parse().unwrap(),
            other => panic!("bad cursor {other:?}"),
        };
        (cursor, keys)
    }

    #[test]
    fn scan_cursor_parsing_follows_strtoul() {
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"00"), Some(0));
        assert_eq!(parse_cursor(b"+0"), Some(0));
        assert_eq!(parse_cursor(b"12"), Some(12));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"7\0junk"), Some(7));
        for bad in [
            "18446744073709551616",
            " 0",
            "0 ",
            "x",
            "0x10",
            "+",
            "-",
            "1.5",
        ] {
            assert_eq!(parse_cursor(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn scan_argument_errors() {
        let mut ks = keyspace();
        set(&mut ks, 0, "a", "1");
        let syntax = b"-ERR syntax error\r\n";
        assert_eq!(
            run(&mut ks, scan, &["SCAN", "x"]),
            b"-ERR invalid cursor\r\n"
        );
        assert_eq!(
            run(&mut ks, scan, &["SCAN", "x", "COUNT", "0"]),
            b"-ERR invalid cursor\r\n"
        );
        assert_eq!(run(&mut ks, scan, &["SCAN", "0", "COUNT", "0"]), syntax);
        assert_eq!(run(&mut ks, scan, &["SCAN", "0", "count", "-1"]), syntax);
        assert_eq!(
            run(&mut ks, scan, &["SCAN", "0", "COUNT", "x"]),
            b"-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(run(&mut ks, scan, &["SCAN", "0", "COUNT"]), syntax);
        assert_eq!(run(&mut ks, scan, &["SCAN", "0", "MATCH"]), syntax);
        assert_eq!(run(&mut ks, scan, &["SCAN", "0", "TYPE"]), syntax);
        assert_eq!(run(&mut ks, scan, &["SCAN", "0", "foo", "bar"]), syntax);
        assert_eq!(
            run(&mut ks, scan, &["SCAN", "0"]),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
        );
        assert_eq!(
            run(&mut ks, scan, &["SCAN", "", "type", "STRING"]),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
        );
        assert_eq!(
            run(&mut ks, scan, &["SCAN", "0", "TYPE", "list"]),
            b"*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(
            run(&mut ks, scan, &["SCAN", "0", "MATCH", "b"]),
            b"*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                scan,
                &["SCAN", "0", "MATCH", "[a]", "COUNT", "1000"]
            ),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
        );
    }

    #[test]
    fn scan_filters_and_removes_expired_keys() {
        let mut ks = keyspace();
        set(&mut ks, 0, "live", "1");
        set(&mut ks, 0, "dead", "1");
        ks.set_expire(0, b"dead", ks.now_ms - 1);
        let (cursor, keys) = scan_reply(&run(&mut ks, scan, &["SCAN", "0", "COUNT", "100"]));
        assert_eq!((cursor, keys), (0, vec!["live".to_string()]));
        assert_eq!(ks.dbs[0].len(), 1, "SCAN deletes the expired keys it meets");
        assert_eq!(ks.propagated, vec![(0, argv(&["DEL", "dead"]))]);

        // Redis quirk: the TYPE filter's lookup removes an expired key first, so it has type
        // "none" and is no longer expired when the expiry filter runs.
        set(&mut ks, 0, "dead", "1");
        ks.set_expire(0, b"dead", ks.now_ms - 1);
        let reply = run(&mut ks, scan, &["SCAN", "0", "TYPE", "none"]);
        assert_eq!(reply, b"*2\r\n$1\r\n0\r\n*1\r\n$4\r\ndead\r\n");
        assert_eq!(ks.dbs[0].len(), 1);
    }

    #[test]
    fn scan_full_iteration_returns_every_key_present_throughout() {
        let mut ks = keyspace();
        ks.seed(42);
        let stable: Vec<String> = (0..500).map(|i| format!("stable:{i}")).collect();
        for k in &stable {
            set(&mut ks, 0, k, "v");
        }
        for i in 0..300 {
            set(&mut ks, 0, &format!("doomed:{i}"), "v");
        }
        let mut seen = HashSet::new();
        let mut cursor = 0u64;
        let mut round = 0;
        let mut max_buckets = 0;
        loop {
            let c = cursor.to_string();
            let (next, keys) = scan_reply(&run(&mut ks, scan, &["SCAN", &c, "COUNT", "7"]));
            seen.extend(keys);
            cursor = next;
            if cursor == 0 {
                break;
            }
            // Churn between calls: the table grows (inserts) and later shrinks (deletes).
            max_buckets = max_buckets.max(ks.dbs[0].data.bucket_count());
            if round < 60 {
                for i in 0..60 {
                    set(&mut ks, 0, &format!("new:{round}:{i}"), "v");
                }
            } else if round < 120 {
                for i in 0..60 {
                    let k = format!("new:{}:{i}", round - 60);
                    ks.remove(0, k.as_bytes());
                }
                for i in (round - 60) * 5..(round - 59) * 5 {
                    ks.remove(0, format!("doomed:{i}").as_bytes());
                }
                // What the server cron does: shrink sparse tables, a little rehashing.
                ks.dbs[0].data.shrink_if_needed();
                ks.dbs[0].data.rehash_steps(1);
            }
            round += 1;
            assert!(round < 100_000, "the iteration terminates");
        }
        assert!(round > 120, "the churn happened during the iteration");
        // It grew to 8192 buckets and, with 500 keys left, is shrinking (or has shrunk) again.
        assert!(max_buckets >= 8192);
        let d = &ks.dbs[0].data;
        assert!(
            d.is_rehashing() || d.bucket_count() <= 1024,
            "the table shrank"
        );
        for k in &stable {
            assert!(
                seen.contains(k),
                "{k} was present throughout but not returned"
            );
        }
    }

    #[test]
    fn scan_count_bounds_the_work_per_call() {
        let mut ks = keyspace();
        for i in 0..1000 {
            set(&mut ks, 0, &format!("k{i}"), "v");
        }
        let (cursor, keys) = scan_reply(&run(&mut ks, scan, &["SCAN", "0", "COUNT", "10"]));
        assert_ne!(cursor, 0);
        assert!(keys.len() >= 10 && keys.len() < 40, "{}", keys.len());
        let (cursor, keys) = scan_reply(&run(&mut ks, scan, &["SCAN", "0", "COUNT", "5000"]));
        assert_eq!((cursor, keys.len()), (0, 1000));
    }

    #[test]
    fn randomkey_touch_and_dbsize() {
        let mut ks = keyspace();
        assert_eq!(run(&mut ks, randomkey, &["RANDOMKEY"]), b"$-1\r\n");
        let mut out3 = Out::new(Protocol::Resp3);
        let a = argv(&["RANDOMKEY"]);
        randomkey(&mut Ctx::new(&mut ks, 0, &mut out3, &a));
        assert_eq!(out3.buf, b"_\r\n");
        set(&mut ks, 0, "only", "v");
        set(&mut ks, 0, "gone", "v");
        ks.set_expire(0, b"gone", ks.now_ms - 1);
        assert_eq!(run(&mut ks, dbsize, &["DBSIZE"]), b":2\r\n");
        for _ in 0..10 {
            assert_eq!(run(&mut ks, randomkey, &["RANDOMKEY"]), b"$4\r\nonly\r\n");
        }
        ks.now_ms += 10_000;
        assert_eq!(
            run(&mut ks, touch, &["TOUCH", "only", "nokey", "only"]),
            b":2\r\n"
        );
        assert_eq!(
            ks.dbs[0].data.get(&b"only"[..]).unwrap().lru,
            ks.lru_clock()
        );
        assert_eq!(run_in(&mut ks, 1, dbsize, &["DBSIZE"]).0, b":0\r\n");
    }

    #[test]
    fn flushdb_and_flushall_always_propagate() {
        let mut ks = keyspace();
        let (reply, propagate) = run_in(&mut ks, 0, flushdb, &["flushdb"]);
        assert_eq!(reply, b"+OK\r\n");
        assert_eq!(propagate, Some(vec![argv(&["flushdb"])]));
        assert_eq!(ks.dirty, 0);
        let (reply, propagate) = run_in(&mut ks, 0, flushall, &["FLUSHALL", "async"]);
        assert_eq!(reply, b"+OK\r\n");
        assert_eq!(propagate, Some(vec![argv(&["FLUSHALL", "async"])]));
        for bad in [&["FLUSHDB", "foo"][..], &["FLUSHDB", "sync", "async"]] {
            assert_eq!(
                run_in(&mut ks, 0, flushdb, bad),
                (b"-ERR syntax error\r\n".to_vec(), None)
            );
        }
        assert_eq!(
            run(&mut ks, flushall, &["FLUSHALL", "now"]),
            b"-ERR syntax error\r\n"
        );

        set(&mut ks, 0, "a", "1");
        set(&mut ks, 0, "b", "1");
        set(&mut ks, 1, "a", "1");
        set(&mut ks, 2, "c", "1");
        ks.watch(1, 1, b"a");
        assert_eq!(
            run_in(&mut ks, 1, flushdb, &["FLUSHDB", "SYNC"]).0,
            b"+OK\r\n"
        );
        assert_eq!(ks.dirty, 1);
        assert_eq!(ks.invalidated_watchers, vec![1]);
        assert_eq!(ks.dbs[0].len(), 2);
        assert_eq!(run(&mut ks, flushall, &["FLUSHALL"]), b"+OK\r\n");
        assert_eq!(ks.dirty, 4);
        assert!(ks.dbs.iter().all(|d| d.is_empty()));
        assert!(ks.notifications.is_empty());
    }

    #[test]
    fn object_subcommands() {
        let mut ks = keyspace();
        assert_eq!(
            run(&mut ks, object, &["object"]),
            b"-ERR wrong number of arguments for 'object' command\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["object", "foo"]),
            b"-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["Object", "foo\r\nbar", "x"]),
            b"-ERR unknown subcommand 'foo  bar'. Try OBJECT HELP.\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["object", "ENCODING"]),
            b"-ERR wrong number of arguments for 'object|encoding' command\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["object", "help", "x"]),
            b"-ERR wrong number of arguments for 'object|help' command\r\n"
        );
        let help: &[u8] = b"*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n+    Return the kind of internal representation used in order to store the value\r\n+    associated with a <key>.\r\n+FREQ <key>\r\n+    Return the access frequency index of the <key>. The returned integer is\r\n+    proportional to the logarithm of the recent access frequency of the key.\r\n+IDLETIME <key>\r\n+    Return the idle time of the <key>, that is the approximated number of\r\n+    seconds elapsed since the last access to the key.\r\n+REFCOUNT <key>\r\n+    Return the number of references of the value associated with the specified\r\n+    <key>.\r\n+HELP\r\n+    Prints this help.\r\n";
        assert_eq!(run(&mut ks, object, &["OBJECT", "help"]), help);
        for sub in ["encoding", "freq", "idletime", "refcount"] {
            assert_eq!(run(&mut ks, object, &["OBJECT", sub, "nokey"]), b"$-1\r\n");
        }
        assert!(ks.notifications.is_empty(), "OBJECT raises no keymiss");
        set(&mut ks, 0, "small", "5");
        set(&mut ks, 0, "big", "10000");
        set(&mut ks, 0, "emb", "hello");
        set(&mut ks, 0, "raw", &"x".repeat(45));
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "encoding", "small"]),
            b"$3\r\nint\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "encoding", "emb"]),
            b"$6\r\nembstr\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "encoding", "raw"]),
            b"$3\r\nraw\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "refcount", "small"]),
            b":2147483647\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "refcount", "big"]),
            b":1\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "refcount", "emb"]),
            b":1\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "freq", "emb"]),
            format!("-{LFU_NOT_SELECTED}\r\n").as_bytes()
        );
        ks.now_ms += 42_000;
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "idletime", "emb"]),
            b":42\r\n"
        );
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "idletime", "emb"]),
            b":42\r\n",
            "OBJECT does not touch"
        );
        run(&mut ks, touch, &["TOUCH", "emb"]);
        assert_eq!(
            run(&mut ks, object, &["OBJECT", "idletime", "emb"]),
            b":0\r\n"
        );
    }

    #[test]
    fn memory_usage_matches_redis_for_strings() {
        let mut ks = keyspace();
        // (key length, value, MEMORY USAGE on Redis 7.0.15 with jemalloc)
        let cases: &[(usize, String, i64)] = &[
            (1, "5".into(), 48),
            (1, "123456789012345678".into(), 48),
            (1, "".into(), 64),
            (1, "v".repeat(12), 64),
            (1, "v".repeat(20), 80),
            (1, "v".repeat(44), 96),
            (1, "v".repeat(45), 112),
            (1, "v".repeat(100), 160),
            (1, "v".repeat(200), 272),
            (1, "v".repeat(1000), 1072),
            (1, "v".repeat(5000), 5168),
            (1, "v".repeat(40000), 41008),
            (14, "v".repeat(3), 72),
            (29, "v".repeat(3), 88),
            (31, "v".repeat(3), 104),
            (32, "v".repeat(45), 152),
            (253, "v".repeat(100), 472),
            (256, "v".repeat(1000), 1384),
            (65535, "v".repeat(44), 82008),
            (65536, "v".repeat(5000), 87080),
        ];
        for (klen, value, want) in cases {
            let key = "k".repeat(*klen);
            set(&mut ks, 0, &key, value);
            let got = run(&mut ks, memory_usage, &["MEMORY", "USAGE", &key]);
            assert_eq!(
                got,
                format!(":{want}\r\n").as_bytes(),
                "key {klen} value {}",
                value.len()
            );
            ks.remove(0, key.as_bytes());
        }
        set(&mut ks, 0, "k", "v");
        ks.set(0, b"old", Value::Int(1), false);
        ks.set_expire(0, b"old", ks.now_ms - 1);
        let reply = run(&mut ks, memory_usage, &["MEMORY", "USAGE", "old"]);
        assert_eq!(reply, b":48\r\n", "like Redis, no expiry check");
        assert_eq!(
            run(&mut ks, memory_usage, &["MEMORY", "USAGE", "nokey"]),
            b"$-1\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                memory_usage,
                &["MEMORY", "USAGE", "k", "SAMPLES", "0"]
            ),
            b":64\r\n"
        );
        let syntax = b"-ERR syntax error\r\n";
        assert_eq!(
            run(
                &mut ks,
                memory_usage,
                &["MEMORY", "USAGE", "k", "SAMPLES", "-1"]
            ),
            syntax
        );
        assert_eq!(
            run(&mut ks, memory_usage, &["MEMORY", "USAGE", "k", "SAMPLES"]),
            syntax
        );
        assert_eq!(
            run(&mut ks, memory_usage, &["MEMORY", "USAGE", "k", "foo"]),
            syntax
        );
        assert_eq!(
            run(
                &mut ks,
                memory_usage,
                &["MEMORY", "USAGE", "nokey", "SAMPLES", "x"]
            ),
            b"-ERR value is not an integer or out of range\r\n"
        );
        let help = run(&mut ks, memory_help, &["MEMORY", "HELP"]);
        assert!(help.starts_with(b"*14\r\n+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n"));
        assert!(help.ends_with(b"+    sampled up to <count> times (default: 5, 0 means sample all).\r\n+HELP\r\n+    Prints this help.\r\n"));
    }

    #[test]
    fn jemalloc_size_classes() {
        let pairs = [
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 32),
            (33, 48),
            (128, 128),
            (129, 160),
            (257, 320),
        ];
        for (n, class) in pairs {
            assert_eq!(jemalloc_size(n), class, "{n}");
        }
        assert_eq!(jemalloc_size(65_541), 81_920);
        assert_eq!(jemalloc_size(40_006), 40_960);
    }
}

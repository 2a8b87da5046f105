//! Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD, XSETID, the consumer
//! groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM) and XINFO.
//!
//! Group commands never propagate themselves when they read: XREADGROUP, XCLAIM and XAUTOCLAIM
//! propagate one idempotent `XCLAIM ... FORCE JUSTID LASTID` per entry they hand over, plus
//! `XGROUP SETID` / `XGROUP CREATECONSUMER` where Redis 7.0 does, so replicas and the AOF end
//! up with the same group state.

use super::keys::{cstr, error_with_arg};
use super::{eq_ic, Ctx, TimeoutReply, NOT_INT, NO_SUCH_KEY, SYNTAX};
use crate::keyspace::{notify, Keyspace, WRONGTYPE};
use crate::num::parse_i64;
use crate::types::stream::{
    parse_id, AddError, ConsumerGroup, Entries, EntryRef, ParsedId, Stream, StreamId, TrimBy,
};
use crate::value::Value;
use bytes::Bytes;
use resp::Out;
use std::ops::Bound;
use std::sync::Arc;

/// The reply for an unparsable ID.
const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
/// XREAD/XREADGROUP's default COUNT once a blocked client is served.
const BLOCKED_DEFAULT_COUNT: i64 = 1000;
/// What a blocked XREADGROUP gets when its key was deleted or replaced by another type.
const BLOCKED_KEY_GONE: &str = "UNBLOCKED the stream key no longer exists";
/// What a blocked XREADGROUP gets when its group was destroyed.
const BLOCKED_GROUP_GONE: &str =
    "NOGROUP the consumer group this client was blocked on no longer exists";
/// Largest buffer (16 bytes per COUNT) XAUTOCLAIM sizes up front: beyond it Redis's allocation
/// fails on a 64-bit Linux host (observed: 80 TiB passes, a byte more does not).
const AUTOCLAIM_MAX_ALLOC: u128 = 80 << 40;

/// Case-insensitive keyword match on the C-string view of an argument, as `strcasecmp` sees it.
fn kw(arg: &[u8], word: &str) -> bool {
    eq_ic(cstr(arg), word)
}

/// Writes `-<parts...>` as an error line, with CR and LF turned into spaces (arguments are
/// formatted with `%s`, so each stops at a NUL byte).
fn error_parts(out: &mut Out, parts: &[&[u8]]) {
    let mut line = vec![b'-'];
    for p in parts {
        line.extend(
            p.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    }
    line.extend_from_slice(b"\r\n");
    out.raw(&line);
}

/// `-NOGROUP No such key '<key>' or consumer group '<group>'<suffix>`.
fn no_key_or_group(out: &mut Out, key: &[u8], group: &[u8], suffix: &str) {
    error_parts(
        out,
        &[
            b"NOGROUP No such key '",
            cstr(key),
            b"' or consumer group '",
            cstr(group),
            b"'",
            suffix.as_bytes(),
        ],
    );
}

/// `-NOGROUP No such consumer group '<group>' for key name '<key>'`.
fn no_group_for_key(out: &mut Out, group: &[u8], key: &[u8]) {
    error_parts(
        out,
        &[
            b"NOGROUP No such consumer group '",
            cstr(group),
            b"' for key name '",
            cstr(key),
            b"'",
        ],
    );
}

/// Redis's `addReplySubcommandSyntaxError` for a container.
fn subcommand_syntax_error(ctx: &mut Ctx, container: &str) {
    let suffix = format!("'. Try {container} HELP.");
    error_with_arg(
        ctx.out,
        "ERR unknown subcommand or wrong number of arguments for '",
        ctx.arg(1),
        128,
        &suffix,
    );
}

/// Read lookup (counts a hit or miss): the stream at `key`, None when missing, Err (after
/// replying WRONGTYPE) for another type.
fn read_stream<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    key: &[u8],
    out: &mut Out,
) -> Result<Option<&'k Stream>, ()> {
    match ks.get(db, key) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => {
            out.error(WRONGTYPE);
            Err(())
        }
    }
}

/// Write lookup: like [`read_stream`] without hit/miss accounting, for changing the stream.
fn write_stream<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    key: &[u8],
    out: &mut Out,
) -> Result<Option<&'k mut Stream>, ()> {
    match ks.get_mut(db, key) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => {
            out.error(WRONGTYPE);
            Err(())
        }
    }
}

/// The stream at `key`, known to exist, for changing it after a read lookup.
fn stream_mut<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8]) -> &'k mut Stream {
    match ks.get_mut(db, key) {
        Some(Value::Stream(s)) => s,
        _ => unreachable!("the stream was looked up by this command"),
    }
}

/// Parses a strict ID (no `-`/`+`) from argument `i`, replying the error on failure.
fn strict_id_arg(ctx: &mut Ctx, i: usize) -> Option<StreamId> {
    let parsed = parse_id(ctx.arg(i), 0, true, false).map(|p| p.id);
    if parsed.is_none() {
        ctx.out.error(INVALID_ID);
    }
    parsed
}

/// Parses the start of an interval (`-`, an ID, or `(ID` for exclusive), as an inclusive ID.
fn interval_start(ctx: &mut Ctx, i: usize) -> Option<StreamId> {
    let (id, exclusive) = interval_id(ctx, i, 0)?;
    if !exclusive {
        return Some(id);
    }
    let next = id.next();
    if next.is_none() {
        ctx.out.error("ERR invalid start ID for the interval");
    }
    next
}

/// Parses the end of an interval (`+`, an ID, or `(ID`), as an inclusive ID.
fn interval_end(ctx: &mut Ctx, i: usize) -> Option<StreamId> {
    let (id, exclusive) = interval_id(ctx, i, u64::MAX)?;
    if !exclusive {
        return Some(id);
    }
    let prev = id.prev();
    if prev.is_none() {
        ctx.out.error("ERR invalid end ID for the interval");
    }
    prev
}

fn interval_id(ctx: &mut Ctx, i: usize, missing_seq: u64) -> Option<(StreamId, bool)> {
    let arg = ctx.arg(i);
    let exclusive = arg.len() > 1 && arg[0] == b'(';
    let parsed = if exclusive {
        parse_id(&arg[1..], missing_seq, true, false)
    } else {
        parse_id(arg, missing_seq, false, false)
    };
    match parsed {
        Some(p) => Some((p.id, exclusive)),
        None => {
            ctx.out.error(INVALID_ID);
            None
        }
    }
}

/// Bytes of an ID, for replies and propagated arguments.
fn id_bytes(id: StreamId) -> Bytes {
    Bytes::from(id.to_bytes())
}

/// Writes one entry: `[id, [field, value, ...]]`.
fn reply_entry(out: &mut Out, e: &EntryRef) {
    out.array(2);
    out.bulk(&e.id.to_bytes());
    out.array(e.pair_count() * 2);
    for (f, v) in e.pairs() {
        out.bulk(f);
        out.bulk(v);
    }
}

/// Runs `body`, which writes `n` items and returns `n`, and puts the header of an aggregate of
/// `n` in front of them (`map` for a map header, else an array).
fn deferred(out: &mut Out, map: bool, body: impl FnOnce(&mut Out) -> usize) -> usize {
    let start = out.len();
    let n = body(out);
    let mut header = Out::new(out.proto);
    if map {
        header.map(n);
    } else {
        header.array(n);
    }
    out.buf.splice(start..start, header.buf);
    n
}

/// Writes up to `count` (0: all) entries of `start..=end` as an array; returns how many.
fn reply_range(
    out: &mut Out,
    entries: &Entries,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) -> usize {
    deferred(out, false, |out| {
        let mut n = 0;
        for e in entries.range(start, end, rev) {
            reply_entry(out, &e);
            n += 1;
            if n == count {
                break;
            }
        }
        n
    })
}

/// The propagated `XCLAIM` that hands `id` over idempotently on replicas:
/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID last`.
fn propagated_claim(
    key: &Bytes,
    group_name: &Bytes,
    group: &ConsumerGroup,
    id_arg: Bytes,
    id: StreamId,
) -> Vec<Bytes> {
    let nack = &group.pending[&id];
    vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        group_name.clone(),
        Bytes::copy_from_slice(&nack.consumer),
        Bytes::from_static(b"0"),
        id_arg,
        Bytes::from_static(b"TIME"),
        Bytes::from(nack.delivery_time.to_string()),
        Bytes::from_static(b"RETRYCOUNT"),
        Bytes::from((nack.delivery_count as i64).to_string()),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        id_bytes(group.last_id),
    ]
}

/// The propagated `XGROUP SETID key group last ENTRIESREAD n`.
fn propagated_setid(key: &Bytes, group_name: &Bytes, group: &ConsumerGroup) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        key.clone(),
        group_name.clone(),
        id_bytes(group.last_id),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(group.entries_read.unwrap_or(-1).to_string()),
    ]
}

/// What XADD and XTRIM were asked to do.
struct AddTrimArgs {
    /// The trimming strategy, if any.
    trim: Option<TrimBy>,
    /// `~` was given.
    approx: bool,
    /// Most entries removed with whole nodes (0: no bound).
    limit: u64,
    /// Index of the MAXLEN/MINID threshold argument.
    trim_arg: usize,
    /// XADD's explicit ID, if not `*`.
    id: Option<ParsedId>,
    /// Index of XADD's ID argument.
    id_pos: usize,
    /// XADD's NOMKSTREAM.
    no_mkstream: bool,
}

/// Parses XADD's and XTRIM's options (Redis's `streamParseAddOrTrimArgsOrReply`); replies the
/// error and returns None on failure.
fn parse_add_trim(ctx: &mut Ctx, xadd: bool) -> Option<AddTrimArgs> {
    let argc = ctx.argv.len();
    let mut args = AddTrimArgs {
        trim: None,
        approx: false,
        limit: 0,
        trim_arg: 0,
        id: None,
        id_pos: argc,
        no_mkstream: false,
    };
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let mut i = 2;
    while i < argc {
        let more = argc - 1 - i;
        let opt = ctx.arg(i);
        if xadd && cstr(opt) == b"*" {
            args.id_pos = i;
            break;
        } else if (kw(opt, "maxlen") || kw(opt, "minid")) && more > 0 {
            let maxlen = kw(opt, "maxlen");
            if args.trim.is_some() {
                ctx.out
                    .error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return None;
            }
            args.approx = false;
            let next = cstr(ctx.arg(i + 1));
            if more >= 2 && next == b"~" {
                args.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            if maxlen {
                let n = ctx.int_arg(i + 1)?;
                if n < 0 {
                    ctx.out.error("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                args.trim = Some(TrimBy::MaxLen(n as u64));
            } else {
                args.trim = Some(TrimBy::MinId(strict_id_arg(ctx, i + 1)?));
            }
            i += 1;
            args.trim_arg = i;
        } else if kw(opt, "limit") && more > 0 {
            limit = ctx.int_arg(i + 1)?;
            if limit < 0 {
                ctx.out.error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            limit_given = true;
            i += 1;
        } else if xadd && kw(opt, "nomkstream") {
            args.no_mkstream = true;
        } else if xadd {
            match parse_id(opt, 0, true, true) {
                Some(p) => args.id = Some(p),
                None => {
                    ctx.out.error(INVALID_ID);
                    return None;
                }
            }
            args.id_pos = i;
            break;
        } else {
            ctx.out.error(SYNTAX);
            return None;
        }
        i += 1;
    }
    if limit != 0 && args.trim.is_none() {
        ctx.out
            .error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && args.trim.is_none() {
        ctx.out
            .error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if ctx.ks.replica_mode {
        // Commands from our primary carry exact, already rewritten thresholds (with the
        // LIMIT as the client sent it): obey them without a bound, as Redis does.
        args.limit = 0;
    } else if limit_given {
        if !args.approx {
            ctx.out
                .error("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
        args.limit = limit as u64;
    } else if args.approx {
        let default = (ctx.ks.limits.stream_node_max_entries as u64).saturating_mul(100);
        args.limit = if default == 0 || default > 10_000 {
            10_000
        } else {
            default
        };
    }
    Some(args)
}

/// Turns an approximate trim into the exact one that happened, for replicas and the AOF:
/// `~` becomes `=` and the threshold becomes the resulting length or first ID.
fn rewrite_trim(argv: &mut [Bytes], args: &AddTrimArgs, entries: &Entries) {
    argv[args.trim_arg - 1] = Bytes::from_static(b"=");
    argv[args.trim_arg] = match args.trim {
        Some(TrimBy::MaxLen(_)) => Bytes::from(entries.length.to_string()),
        _ => id_bytes(entries.first_stored_id()),
    };
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [...]
pub fn xadd(ctx: &mut Ctx) {
    let Some(args) = parse_add_trim(ctx, true) else {
        return;
    };
    let field_pos = args.id_pos + 1;
    let argc = ctx.argv.len();
    if field_pos > argc || argc - field_pos < 2 || (argc - field_pos) % 2 == 1 {
        ctx.out
            .error("ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if let Some(p) = args.id {
        if p.seq_given && p.id.is_zero() {
            ctx.out
                .error("ERR The ID specified in XADD must be greater than 0-0");
            return;
        }
    }
    let (db, key) = (ctx.db, ctx.arg(1));
    match write_stream(ctx.ks, db, key, ctx.out) {
        Err(()) => return,
        Ok(Some(_)) => {}
        Ok(None) if args.no_mkstream => return ctx.out.null(),
        Ok(None) => {
            ctx.ks.set(db, key, Value::Stream(Box::default()), false);
        }
    }
    let limits = ctx.ks.limits;
    let now = ctx.now_ms();
    let s = stream_mut(ctx.ks, db, key);
    if s.entries.last_id == StreamId::MAX {
        ctx.out
            .error("ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    let added = s.entries.next_id(args.id, now).and_then(|id| {
        s.entries
            .append(id, &ctx.argv[field_pos..], &limits)
            .map(|()| id)
    });
    let id = match added {
        Ok(id) => id,
        Err(AddError::IdTooSmall) => {
            ctx.out.error(
                "ERR The ID specified in XADD is equal or smaller than the target stream top item",
            );
            return;
        }
        Err(AddError::TooLarge) => {
            ctx.out.error("ERR Elements are too large to be stored");
            return;
        }
    };
    ctx.out.bulk(&id.to_bytes());
    let mut trimmed = 0;
    let mut rewritten: Option<Vec<Bytes>> = None;
    if let Some(by) = args.trim {
        trimmed = s.entries.trim(by, args.approx, args.limit);
        if args.approx {
            let mut argv = ctx.argv.to_vec();
            rewrite_trim(&mut argv, &args, &s.entries);
            rewritten = Some(argv);
        }
    }
    if args.id.is_none_or(|p| !p.seq_given) {
        rewritten.get_or_insert_with(|| ctx.argv.to_vec())[args.id_pos] = id_bytes(id);
    }
    ctx.ks.changed(db, key, notify::STREAM, "xadd");
    if trimmed > 0 {
        ctx.ks.notify(notify::STREAM, "xtrim", db, key);
    }
    if let Some(argv) = rewritten {
        ctx.propagate_as(argv);
    }
    ctx.ks.signal_ready(db, key);
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
pub fn xtrim(ctx: &mut Ctx) {
    let Some(args) = parse_add_trim(ctx, false) else {
        return;
    };
    let (db, key) = (ctx.db, ctx.arg(1));
    let s = match write_stream(ctx.ks, db, key, ctx.out) {
        Err(()) => return,
        Ok(None) => return ctx.out.int(0),
        Ok(Some(s)) => s,
    };
    let by = args.trim.expect("XTRIM always has a strategy");
    let removed = s.entries.trim(by, args.approx, args.limit);
    if removed > 0 {
        if args.approx {
            let mut argv = ctx.argv.to_vec();
            rewrite_trim(&mut argv, &args, &s.entries);
            ctx.propagate_as(argv);
        }
        ctx.ks.changed(db, key, notify::STREAM, "xtrim");
        ctx.ks.dirty += removed - 1;
    }
    ctx.out.int(removed as i64);
}

/// XLEN key
pub fn xlen(ctx: &mut Ctx) {
    match read_stream(ctx.ks, ctx.db, ctx.arg(1), ctx.out) {
        Err(()) => {}
        Ok(None) => ctx.out.int(0),
        Ok(Some(s)) => ctx.out.int(s.entries.length as i64),
    }
}

/// XRANGE key start end [COUNT count]
pub fn xrange(ctx: &mut Ctx) {
    range_generic(ctx, false);
}

/// XREVRANGE key end start [COUNT count]
pub fn xrevrange(ctx: &mut Ctx) {
    range_generic(ctx, true);
}

fn range_generic(ctx: &mut Ctx, rev: bool) {
    let (start_arg, end_arg) = if rev { (3, 2) } else { (2, 3) };
    let Some(start) = interval_start(ctx, start_arg) else {
        return;
    };
    let Some(end) = interval_end(ctx, end_arg) else {
        return;
    };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < ctx.argv.len() {
        if kw(ctx.arg(j), "count") && j + 1 < ctx.argv.len() {
            let Some(n) = ctx.int_arg(j + 1) else { return };
            count = n.max(0);
            j += 2;
        } else {
            return ctx.syntax_error();
        }
    }
    let s = match read_stream(ctx.ks, ctx.db, ctx.arg(1), ctx.out) {
        Err(()) => return,
        Ok(None) => return ctx.out.array(0),
        Ok(Some(s)) => s,
    };
    match count {
        0 => ctx.out.null_array(),
        -1 => {
            reply_range(ctx.out, &s.entries, start, end, 0, rev);
        }
        n => {
            reply_range(ctx.out, &s.entries, start, end, n as usize, rev);
        }
    }
}

/// XDEL key id [id ...]
pub fn xdel(ctx: &mut Ctx) {
    let (db, key) = (ctx.db, ctx.arg(1));
    match write_stream(ctx.ks, db, key, ctx.out) {
        Err(()) => return,
        Ok(None) => return ctx.out.int(0),
        Ok(Some(_)) => {}
    }
    let mut ids = Vec::with_capacity(ctx.argv.len() - 2);
    for j in 2..ctx.argv.len() {
        let Some(id) = strict_id_arg(ctx, j) else {
            return;
        };
        ids.push(id);
    }
    let s = stream_mut(ctx.ks, db, key);
    let first = s.entries.first_id;
    let mut deleted = 0u64;
    let mut first_deleted = false;
    let mut max_deleted = StreamId::MIN;
    for id in ids {
        if s.entries.delete(id) {
            first_deleted |= id == first;
            max_deleted = max_deleted.max(id);
            deleted += 1;
        }
    }
    if deleted > 0 {
        s.entries.note_xdel(max_deleted, first_deleted);
        ctx.ks.changed(db, key, notify::STREAM, "xdel");
        ctx.ks.dirty += deleted - 1;
    }
    ctx.out.int(deleted as i64);
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
pub fn xsetid(ctx: &mut Ctx) {
    let Some(id) = strict_id_arg(ctx, 2) else {
        return;
    };
    let mut entries_added: Option<i64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < ctx.argv.len() {
        let more = ctx.argv.len() - 1 - i;
        let opt = ctx.arg(i);
        if kw(opt, "ENTRIESADDED") && more > 0 {
            let Some(n) = ctx.int_arg(i + 1) else { return };
            if n < 0 {
                ctx.out.error("ERR entries_added must be positive");
                return;
            }
            entries_added = Some(n);
        } else if kw(opt, "MAXDELETEDID") && more > 0 {
            let Some(m) = strict_id_arg(ctx, i + 1) else {
                return;
            };
            if id < m {
                ctx.out.error(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                );
                return;
            }
            max_deleted = m;
        } else {
            return ctx.syntax_error();
        }
        i += 2;
    }
    let (db, key) = (ctx.db, ctx.arg(1));
    let s = match write_stream(ctx.ks, db, key, ctx.out) {
        Err(()) => return,
        Ok(None) => return ctx.out.error(NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    if s.entries.length > 0 {
        if s.entries.last_live_id().is_some_and(|top| id < top) {
            ctx.out
                .error("ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if entries_added.is_some_and(|n| (s.entries.length as i64) > n) {
            ctx.out
                .error("ERR The entries_added specified in XSETID is smaller than the target stream length");
            return;
        }
    }
    s.entries.last_id = id;
    if let Some(n) = entries_added {
        s.entries.entries_added = n;
    }
    if !max_deleted.is_zero() {
        s.entries.max_deleted_id = max_deleted;
    }
    ctx.out.ok();
    ctx.ks.dirty += 1;
    ctx.ks.notify(notify::STREAM, "xsetid", db, key);
}

/// XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]
pub fn xread(ctx: &mut Ctx) {
    read_generic(ctx, false);
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [...] id [...]
pub fn xreadgroup(ctx: &mut Ctx) {
    read_generic(ctx, true);
}

fn read_generic(ctx: &mut Ctx, group_mode: bool) {
    let argc = ctx.argv.len();
    let mut deadline: Option<Option<i64>> = None;
    let mut count: i64 = 0;
    let mut streams_arg = 0;
    let mut noack = false;
    let mut group_args: Option<(usize, usize)> = None;
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        let opt = ctx.arg(i);
        if kw(opt, "BLOCK") && more > 0 {
            i += 1;
            let Some(d) = ctx.timeout_ms_arg(i) else {
                return;
            };
            deadline = Some(d);
        } else if kw(opt, "COUNT") && more > 0 {
            i += 1;
            let Some(n) = ctx.int_arg(i) else { return };
            count = n.max(0);
        } else if kw(opt, "STREAMS") && more > 0 {
            streams_arg = i + 1;
            if !(argc - streams_arg).is_multiple_of(2) {
                ctx.out.error(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                );
                return;
            }
            break;
        } else if kw(opt, "GROUP") && more >= 2 {
            if !group_mode {
                ctx.out
                    .error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            group_args = Some((i + 1, i + 2));
            i += 2;
        } else if kw(opt, "NOACK") {
            if !group_mode {
                ctx.out
                    .error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            noack = true;
        } else {
            return ctx.syntax_error();
        }
        i += 1;
    }
    if streams_arg == 0 {
        return ctx.syntax_error();
    }
    if group_mode && group_args.is_none() {
        ctx.out.error("ERR Missing GROUP option for XREADGROUP");
        return;
    }
    let nstreams = (argc - streams_arg) / 2;
    let group_name = group_args.map(|(g, _)| ctx.argv[g].clone());
    let db = ctx.db;

    // Resolve every key's starting ID (MAX stands for `>`), checking types and groups.
    let rerun = ctx.retrying;
    let mut ids = Vec::with_capacity(nstreams);
    for k in 0..nstreams {
        let key = ctx.arg(streams_arg + k);
        let id_arg = ctx.arg(streams_arg + nstreams + k);
        let s = match ctx.ks.get(db, key) {
            Some(Value::Stream(s)) => Some(&**s),
            None => None,
            Some(_) if !rerun => return ctx.out.error(WRONGTYPE),
            // A blocked XREAD keeps waiting on a key that stopped being a stream.
            Some(_) if !group_mode => None,
            Some(_) => return ctx.out.error(BLOCKED_KEY_GONE),
        };
        if let Some(g) = &group_name {
            match s.map(|s| s.groups.contains_key(&g[..])) {
                Some(true) => {}
                None if rerun => return ctx.out.error(BLOCKED_KEY_GONE),
                Some(false) if rerun => return ctx.out.error(BLOCKED_GROUP_GONE),
                _ => return no_key_or_group(ctx.out, key, g, " in XREADGROUP with GROUP option"),
            }
        }
        let id = if cstr(id_arg) == b"$" {
            if group_mode {
                ctx.out.error(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this \
                     consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just \
                     return an empty result set.",
                );
                return;
            }
            s.map_or(StreamId::MIN, |s| s.entries.last_id)
        } else if cstr(id_arg) == b">" {
            if !group_mode {
                ctx.out.error(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                );
                return;
            }
            StreamId::MAX
        } else {
            let Some(id) = strict_id_arg(ctx, streams_arg + nstreams + k) else {
                return;
            };
            id
        };
        ids.push(id);
    }

    // Serve every stream that has something for us.
    let now = ctx.now_ms();
    let consumer_name = group_args.map(|(_, c)| ctx.argv[c].clone());
    let mut propagate = Vec::new();
    let reply_start = ctx.out.len();
    let as_map = ctx.out.resp3();
    let served = deferred(ctx.out, as_map, |out| {
        let mut served = 0;
        for (k, &gt) in ids.iter().enumerate() {
            let key = &ctx.argv[streams_arg + k];
            if !matches!(ctx.ks.get(db, key), Some(Value::Stream(_))) {
                continue;
            }
            let s = stream_mut(ctx.ks, db, key);
            let outcome = match (&group_name, &consumer_name) {
                (Some(g), Some(c)) => {
                    let ask = GroupRead {
                        key,
                        group: g,
                        consumer: c,
                        start_after: gt,
                        count,
                        noack,
                        now,
                    };
                    serve_group(s, &ask, out, &mut propagate)
                }
                _ => serve_plain(s, key, gt, count, out),
            };
            let Some(created_consumer) = outcome else {
                continue;
            };
            served += 1;
            if group_name.is_some() {
                if created_consumer {
                    ctx.ks
                        .notify(notify::STREAM, "xgroup-createconsumer", db, key);
                    ctx.ks.dirty += 1;
                }
                ctx.ks.dirty += 1;
            }
        }
        served
    });
    if group_mode {
        ctx.propagate = Some(propagate);
    }
    if served > 0 {
        return;
    }
    // Nothing was written but the (empty) header: replace it by the no-data reply or block.
    ctx.out.truncate(reply_start);
    match deadline {
        Some(deadline) if ctx.may_block => {
            let keys: Vec<Bytes> = ctx.argv[streams_arg..streams_arg + nstreams].to_vec();
            let retry = retry_argv(ctx.argv, streams_arg, nstreams, &ids, count);
            ctx.block_on(keys, deadline, TimeoutReply::NullArray);
            if let Some(b) = ctx.block.as_mut() {
                b.retry_argv = Some(retry);
            }
        }
        _ => ctx.out.null_array(),
    }
}

/// The arguments a blocked XREAD/XREADGROUP is re-run with: the command name marked as a
/// re-run, `$` pinned to the last ID seen when it blocked, and COUNT 1000 when none was given
/// (what Redis serves blocked readers).
fn retry_argv(
    argv: &[Bytes],
    streams_arg: usize,
    nstreams: usize,
    ids: &[StreamId],
    count: i64,
) -> Vec<Bytes> {
    let mut retry = Vec::with_capacity(argv.len() + 2);
    retry.push(argv[0].clone());
    retry.extend_from_slice(&argv[1..streams_arg - 1]);
    if count == 0 {
        retry.push(Bytes::from_static(b"COUNT"));
        retry.push(Bytes::from(BLOCKED_DEFAULT_COUNT.to_string()));
    }
    retry.extend_from_slice(&argv[streams_arg - 1..streams_arg + nstreams]);
    for (k, id) in ids.iter().enumerate() {
        let arg = &argv[streams_arg + nstreams + k];
        retry.push(if cstr(arg) == b"$" {
            id_bytes(*id)
        } else {
            arg.clone()
        });
    }
    retry
}

/// Serves XREAD from one stream: entries after `after`, if there are any. Returns
/// Some(false) when it wrote the stream's reply.
fn serve_plain(
    s: &Stream,
    key: &Bytes,
    after: StreamId,
    count: i64,
    out: &mut Out,
) -> Option<bool> {
    if s.entries.length == 0 || s.entries.last_live_id().is_none_or(|top| top <= after) {
        return None;
    }
    let start = after.next()?;
    if !out.resp3() {
        out.array(2);
    }
    out.bulk(key);
    reply_range(out, &s.entries, start, StreamId::MAX, count as usize, false);
    Some(false)
}

/// One XREADGROUP request against one stream.
struct GroupRead<'a> {
    key: &'a Bytes,
    group: &'a Bytes,
    consumer: &'a Bytes,
    /// The ID after which to read: MAX for `>`, else the history position.
    start_after: StreamId,
    count: i64,
    noack: bool,
    now: i64,
}

/// Serves XREADGROUP from one stream: new entries for `>` (when the group is behind), or the
/// consumer's own pending history. Returns Some(consumer was created) when it wrote a reply.
fn serve_group(
    s: &mut Stream,
    ask: &GroupRead,
    out: &mut Out,
    propagate: &mut Vec<Vec<Bytes>>,
) -> Option<bool> {
    let Stream { entries, groups } = s;
    let group = groups.get_mut(&ask.group[..])?;
    let history = ask.start_after != StreamId::MAX;
    let after = if history {
        ask.start_after
    } else if entries.length > 0
        && entries
            .last_live_id()
            .is_some_and(|top| top > group.last_id)
    {
        group.last_id
    } else {
        return None;
    };
    if !out.resp3() {
        out.array(2);
    }
    out.bulk(ask.key);
    let (consumer, created) = group.touch_consumer(ask.consumer, ask.now);
    if created && ask.noack {
        propagate.push(vec![
            Bytes::from_static(b"XGROUP"),
            Bytes::from_static(b"CREATECONSUMER"),
            ask.key.clone(),
            ask.group.clone(),
            ask.consumer.clone(),
        ]);
    }
    let start = after.next().unwrap_or(StreamId::MAX);
    let count = ask.count as usize;
    if history {
        reply_history(entries, group, &consumer, start, count, ask.now, out);
        return Some(created);
    }
    let mut moved_last_id = false;
    deferred(out, false, |out| {
        let mut n = 0;
        for e in entries.range(start, StreamId::MAX, false) {
            if e.id > group.last_id {
                let tracked =
                    group.entries_read.is_some() && !entries.range_has_tombstones(Some(e.id), None);
                if tracked {
                    group.entries_read = group.entries_read.map(|r| r + 1);
                } else if entries.entries_added != 0 {
                    group.entries_read = entries.estimate_distance(e.id);
                }
                group.last_id = e.id;
                moved_last_id = true;
            }
            reply_entry(out, &e);
            if !ask.noack {
                group.deliver(e.id, &consumer, ask.now);
                propagate.push(propagated_claim(
                    ask.key,
                    ask.group,
                    group,
                    id_bytes(e.id),
                    e.id,
                ));
            }
            n += 1;
            if n == count {
                break;
            }
        }
        n
    });
    // Without NOACK every delivery's XCLAIM carries the new last ID already.
    if moved_last_id && ask.noack {
        propagate.push(propagated_setid(ask.key, ask.group, group));
    }
    Some(created)
}

/// Writes the consumer's pending entries from `start` (up to `count`, 0: all): deleted
/// entries come back as `[id, nil]`; the others count as delivered again.
fn reply_history(
    entries: &Entries,
    group: &mut ConsumerGroup,
    consumer: &Arc<[u8]>,
    start: StreamId,
    count: usize,
    now: i64,
    out: &mut Out,
) {
    let ids: Vec<StreamId> = group.consumers[consumer]
        .pending
        .range(start..)
        .take(if count == 0 { usize::MAX } else { count })
        .copied()
        .collect();
    out.array(ids.len());
    for id in ids {
        match entries.get(id) {
            Some(e) => {
                reply_entry(out, &e);
                if let Some(p) = group.pending.get_mut(&id) {
                    p.delivery_time = now;
                    p.delivery_count += 1;
                }
            }
            None => {
                out.array(2);
                out.bulk(&id.to_bytes());
                out.null_array();
            }
        }
    }
}

/// XACK key group id [id ...]
pub fn xack(ctx: &mut Ctx) {
    let (db, key, group) = (ctx.db, ctx.arg(1), ctx.arg(2));
    let has_group = match read_stream(ctx.ks, db, key, ctx.out) {
        Err(()) => return,
        Ok(s) => s.is_some_and(|s| s.groups.contains_key(group)),
    };
    if !has_group {
        return ctx.out.int(0);
    }
    let mut ids = Vec::with_capacity(ctx.argv.len() - 3);
    for j in 3..ctx.argv.len() {
        let Some(id) = strict_id_arg(ctx, j) else {
            return;
        };
        ids.push(id);
    }
    let g = stream_mut(ctx.ks, db, key)
        .groups
        .get_mut(group)
        .expect("checked above");
    let acked = ids.into_iter().filter(|&id| g.ack(id).is_some()).count() as u64;
    ctx.ks.dirty += acked;
    ctx.out.int(acked as i64);
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]
pub fn xpending(ctx: &mut Ctx) {
    let argc = ctx.argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return ctx.syntax_error();
    }
    let mut range = None;
    let mut min_idle = 0;
    let mut consumer: Option<&[u8]> = None;
    if argc >= 6 {
        let mut at = 3;
        if kw(ctx.arg(3), "IDLE") {
            let Some(n) = ctx.int_arg(4) else { return };
            min_idle = n;
            if argc < 8 {
                return ctx.syntax_error();
            }
            at += 2;
        }
        let Some(count) = ctx.int_arg(at + 2) else {
            return;
        };
        let Some(start) = interval_start(ctx, at) else {
            return;
        };
        let Some(end) = interval_end(ctx, at + 1) else {
            return;
        };
        if at + 3 < argc {
            consumer = Some(ctx.arg(at + 3));
        }
        range = Some((start, end, count.max(0) as usize));
    }
    let (key, group_name) = (ctx.arg(1), ctx.arg(2));
    let now = ctx.now_ms();
    let Ok(s) = read_stream(ctx.ks, ctx.db, key, ctx.out) else {
        return;
    };
    let Some(group) = s.and_then(|s| s.groups.get(group_name)) else {
        return no_key_or_group(ctx.out, key, group_name, "");
    };
    let out = &mut *ctx.out;
    let Some((start, end, count)) = range else {
        out.array(4);
        out.int(group.pending.len() as i64);
        let (Some(first), Some(last)) = (
            group.pending.keys().next(),
            group.pending.keys().next_back(),
        ) else {
            out.null();
            out.null();
            out.null_array();
            return;
        };
        out.bulk(&first.to_bytes());
        out.bulk(&last.to_bytes());
        let owners: Vec<_> = group
            .consumers
            .iter()
            .filter(|(_, c)| !c.pending.is_empty())
            .collect();
        out.array(owners.len());
        for (name, c) in owners {
            out.array(2);
            out.bulk(name);
            out.bulk_int(c.pending.len() as i64);
        }
        return;
    };
    let ids: Box<dyn Iterator<Item = &StreamId>> = match consumer {
        Some(name) => match group.consumers.get(name) {
            Some(c) => Box::new(c.pending.range(start..)),
            None => return out.array(0),
        },
        None => Box::new(group.pending.range(start..).map(|(id, _)| id)),
    };
    deferred(out, false, |out| {
        let mut n = 0;
        for &id in ids.take_while(|&&id| id <= end) {
            if n == count {
                break;
            }
            let p = &group.pending[&id];
            if min_idle != 0 && now - p.delivery_time < min_idle {
                continue;
            }
            out.array(4);
            out.bulk(&id.to_bytes());
            out.bulk(&p.consumer);
            out.int((now - p.delivery_time).max(0));
            out.int(p.delivery_count as i64);
            n += 1;
        }
        n
    });
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]
pub fn xclaim(ctx: &mut Ctx) {
    let (db, key, group_name) = (ctx.db, ctx.arg(1), ctx.arg(2));
    let Ok(s) = read_stream(ctx.ks, db, key, ctx.out) else {
        return;
    };
    let Some(group_last) = s.and_then(|s| s.groups.get(group_name)).map(|g| g.last_id) else {
        return no_key_or_group(ctx.out, key, group_name, "");
    };
    let Some(min_idle) = parse_i64(ctx.arg(4)) else {
        ctx.out
            .error("ERR Invalid min-idle-time argument for XCLAIM");
        return;
    };
    let min_idle = min_idle.max(0);
    let argc = ctx.argv.len();
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argc {
        match parse_id(ctx.arg(j), 0, true, false) {
            Some(p) => ids.push((p.id, j)),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now_ms();
    let (mut force, mut justid) = (false, false);
    let mut delivery_time: Option<i64> = None;
    let mut retry_count: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < argc {
        let more = argc - 1 - j;
        let opt = ctx.arg(j);
        if kw(opt, "FORCE") {
            force = true;
        } else if kw(opt, "JUSTID") {
            justid = true;
        } else if kw(opt, "IDLE") && more > 0 {
            j += 1;
            let Some(idle) = parse_i64(ctx.arg(j)) else {
                ctx.out.error("ERR Invalid IDLE option argument for XCLAIM");
                return;
            };
            delivery_time = Some(now.wrapping_sub(idle));
        } else if kw(opt, "TIME") && more > 0 {
            j += 1;
            let Some(t) = parse_i64(ctx.arg(j)) else {
                ctx.out.error("ERR Invalid TIME option argument for XCLAIM");
                return;
            };
            delivery_time = Some(t);
        } else if kw(opt, "RETRYCOUNT") && more > 0 {
            j += 1;
            let Some(n) = parse_i64(ctx.arg(j)) else {
                ctx.out
                    .error("ERR Invalid RETRYCOUNT option argument for XCLAIM");
                return;
            };
            retry_count = n;
        } else if kw(opt, "LASTID") && more > 0 {
            j += 1;
            let Some(id) = strict_id_arg(ctx, j) else {
                return;
            };
            last_id = id;
        } else {
            error_parts(
                ctx.out,
                &[b"ERR Unrecognized XCLAIM option '", cstr(opt), b"'"],
            );
            return;
        }
        j += 1;
    }
    // A delivery time in the future (or negative) is clamped to now rather than refused.
    let delivery_time = delivery_time
        .filter(|&t| (0..=now).contains(&t))
        .unwrap_or(now);

    let argv = ctx.argv;
    let (key_b, group_b, consumer_name) = (&argv[1], &argv[2], ctx.arg(3));
    let s = stream_mut(ctx.ks, db, key);
    let Stream { entries, groups } = s;
    let group = groups.get_mut(group_name).expect("checked above");
    let mut propagate = Vec::new();
    let mut propagate_last_id = false;
    if last_id > group_last {
        group.last_id = last_id;
        propagate_last_id = true;
    }
    let mut changes = 0u64;
    let mut created_consumer = false;
    let mut consumer: Option<Arc<[u8]>> = None;
    deferred(ctx.out, false, |out| {
        let mut n = 0;
        for &(id, arg) in &ids {
            if !entries.contains(id) {
                // The entry is gone: drop it from the PEL, and tell replicas to do the same.
                if group.pending.contains_key(&id) {
                    propagate.push(propagated_claim(
                        key_b,
                        group_b,
                        group,
                        argv[arg].clone(),
                        id,
                    ));
                    propagate_last_id = false;
                    changes += 1;
                    group.ack(id);
                }
                continue;
            }
            // FORCE makes a pending entry for an entry nobody was given; it has no idle time.
            let fresh = force && !group.pending.contains_key(&id);
            if !fresh {
                let Some(p) = group.pending.get(&id) else {
                    continue;
                };
                if min_idle != 0 && now - p.delivery_time < min_idle {
                    continue;
                }
            }
            let owner = match &consumer {
                Some(c) => c.clone(),
                None => {
                    let (c, created) = group.touch_consumer(consumer_name, now);
                    created_consumer = created;
                    consumer = Some(c.clone());
                    c
                }
            };
            let p = group.assign(id, &owner);
            p.delivery_time = delivery_time;
            if retry_count >= 0 {
                p.delivery_count = retry_count as u64;
            } else if !justid {
                p.delivery_count += 1;
            }
            if justid {
                out.bulk(&id.to_bytes());
            } else if let Some(e) = entries.get(id) {
                reply_entry(out, &e);
            }
            n += 1;
            propagate.push(propagated_claim(
                key_b,
                group_b,
                group,
                argv[arg].clone(),
                id,
            ));
            propagate_last_id = false;
            changes += 1;
        }
        n
    });
    if propagate_last_id {
        propagate.push(propagated_setid(key_b, group_b, group));
        changes += 1;
    }
    if created_consumer {
        ctx.ks
            .notify(notify::STREAM, "xgroup-createconsumer", db, key);
        changes += 1;
    }
    ctx.ks.dirty += changes;
    ctx.propagate = Some(propagate);
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub fn xautoclaim(ctx: &mut Ctx) {
    let Some(min_idle) = parse_i64(ctx.arg(4)) else {
        ctx.out
            .error("ERR Invalid min-idle-time argument for XAUTOCLAIM");
        return;
    };
    let min_idle = min_idle.max(0);
    let Some(start) = interval_start(ctx, 5) else {
        return;
    };
    let mut count: i64 = 100;
    let mut justid = false;
    let argc = ctx.argv.len();
    let mut j = 6;
    while j < argc {
        let more = argc - 1 - j;
        let opt = ctx.arg(j);
        if kw(opt, "COUNT") && more > 0 {
            // COUNT is bounded so that the deleted-IDs buffer (16 bytes each) can be sized.
            match parse_i64(ctx.arg(j + 1)) {
                Some(n) if (1..=i64::MAX / 16).contains(&n) => count = n,
                _ => {
                    ctx.out.error("ERR COUNT must be > 0");
                    return;
                }
            }
            j += 1;
        } else if kw(opt, "JUSTID") {
            justid = true;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let (db, key, group_name) = (ctx.db, ctx.arg(1), ctx.arg(2));
    let Ok(s) = read_stream(ctx.ks, db, key, ctx.out) else {
        return;
    };
    if !s.is_some_and(|s| s.groups.contains_key(group_name)) {
        return no_key_or_group(ctx.out, key, group_name, "");
    }
    if count as u128 * 16 > AUTOCLAIM_MAX_ALLOC {
        ctx.out
            .error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
        return;
    }
    let now = ctx.now_ms();
    let argv = ctx.argv;
    let (key_b, group_b, consumer_name) = (&argv[1], &argv[2], ctx.arg(3));
    let s = stream_mut(ctx.ks, db, key);
    let Stream { entries, groups } = s;
    let group = groups.get_mut(group_name).expect("checked above");
    let mut propagate = Vec::new();
    let mut deleted = Vec::new();
    let mut changes = 0u64;
    let mut created_consumer = false;
    let mut consumer: Option<Arc<[u8]>> = None;
    let mut attempts = count.saturating_mul(10);
    let mut from = Bound::Included(start);
    let out = &mut *ctx.out;
    out.array(3);
    let cursor_at = out.len();
    deferred(out, false, |out| {
        let mut n = 0;
        while attempts > 0 && count > 0 {
            attempts -= 1;
            let Some((&id, p)) = group.pending.range((from, Bound::Unbounded)).next() else {
                break;
            };
            if !entries.contains(id) {
                // Gone from the stream: drop it from the PEL (and on replicas); it uses up COUNT.
                propagate.push(propagated_claim(key_b, group_b, group, id_bytes(id), id));
                changes += 1;
                group.ack(id);
                deleted.push(id);
                count -= 1;
                from = Bound::Included(id);
                continue;
            }
            from = Bound::Excluded(id);
            if min_idle != 0 && now - p.delivery_time < min_idle {
                continue;
            }
            let owner = match &consumer {
                Some(c) => c.clone(),
                None => {
                    let (c, created) = group.touch_consumer(consumer_name, now);
                    created_consumer = created;
                    consumer = Some(c.clone());
                    c
                }
            };
            let p = group.assign(id, &owner);
            p.delivery_time = now;
            if !justid {
                p.delivery_count += 1;
            }
            if justid {
                out.bulk(&id.to_bytes());
            } else if let Some(e) = entries.get(id) {
                reply_entry(out, &e);
            }
            n += 1;
            count -= 1;
            propagate.push(propagated_claim(key_b, group_b, group, id_bytes(id), id));
            changes += 1;
        }
        n
    });
    let cursor = group
        .pending
        .range((from, Bound::Unbounded))
        .next()
        .map_or(StreamId::MIN, |(id, _)| *id);
    let mut head = Out::new(out.proto);
    head.bulk(&cursor.to_bytes());
    out.buf.splice(cursor_at..cursor_at, head.buf);
    out.array(deleted.len());
    for id in &deleted {
        out.bulk(&id.to_bytes());
    }
    if created_consumer {
        ctx.ks
            .notify(notify::STREAM, "xgroup-createconsumer", db, key);
        changes += 1;
    }
    ctx.ks.dirty += changes;
    ctx.propagate = Some(propagate);
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]
pub fn xgroup_create(ctx: &mut Ctx) {
    xgroup(ctx);
}

/// XGROUP SETID key group id|$ [ENTRIESREAD n]
pub fn xgroup_setid(ctx: &mut Ctx) {
    xgroup(ctx);
}

/// XGROUP DESTROY key group
pub fn xgroup_destroy(ctx: &mut Ctx) {
    xgroup(ctx);
}

/// XGROUP CREATECONSUMER key group consumer
pub fn xgroup_createconsumer(ctx: &mut Ctx) {
    xgroup(ctx);
}

/// XGROUP DELCONSUMER key group consumer
pub fn xgroup_delconsumer(ctx: &mut Ctx) {
    xgroup(ctx);
}

/// XGROUP HELP
pub fn xgroup_help(ctx: &mut Ctx) {
    reply_help(ctx.out, "XGROUP", XGROUP_HELP);
}

/// XGROUP's help lines, as in Redis 7.0.
const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// XINFO's help lines, as in Redis 7.0.
const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

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

/// Parses ENTRIESREAD's value at `i`: -1 (unknown) or a count.
fn entries_read_arg(ctx: &mut Ctx, i: usize) -> Option<Option<i64>> {
    let n = ctx.int_arg(i)?;
    if n < -1 {
        ctx.out
            .error("ERR value for ENTRIESREAD must be positive or -1");
        return None;
    }
    Some((n >= 0).then_some(n))
}

/// The XGROUP subcommands, sharing Redis's order of checks.
fn xgroup(ctx: &mut Ctx) {
    let sub = ctx.arg(1);
    let argc = ctx.argv.len();
    let (db, key, group_name) = (ctx.db, ctx.arg(2), ctx.arg(3));
    // The ID (CREATE, SETID) or consumer name (CREATECONSUMER, DELCONSUMER), if any.
    let arg4 = ctx.argv.get(4).cloned().unwrap_or_default();
    let mut mkstream = false;
    let mut entries_read: Option<i64> = None;
    if kw(sub, "CREATE") {
        let mut i = 5;
        while i < argc {
            if kw(ctx.arg(i), "MKSTREAM") {
                mkstream = true;
                i += 1;
            } else if kw(ctx.arg(i), "ENTRIESREAD") && i + 1 < argc {
                let Some(n) = entries_read_arg(ctx, i + 1) else {
                    return;
                };
                entries_read = n;
                i += 2;
            } else {
                return subcommand_syntax_error(ctx, "XGROUP");
            }
        }
    }
    let Ok(s) = write_stream(ctx.ks, db, key, ctx.out) else {
        return;
    };
    let exists = s.is_some();
    let has_group = s.is_some_and(|s| s.groups.contains_key(group_name));
    if !mkstream {
        if !exists {
            ctx.out.error(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the \
                 MKSTREAM option to create an empty stream automatically.",
            );
            return;
        }
        let needs_group = kw(sub, "SETID") || kw(sub, "CREATECONSUMER") || kw(sub, "DELCONSUMER");
        if needs_group && !has_group {
            return no_group_for_key(ctx.out, group_name, key);
        }
    }
    let now = ctx.now_ms();
    if kw(sub, "CREATE") && (5..=8).contains(&argc) {
        let id = if cstr(ctx.arg(4)) == b"$" {
            match ctx.ks.get_mut(db, key) {
                Some(Value::Stream(s)) => s.entries.last_id,
                _ => StreamId::MIN,
            }
        } else {
            let Some(id) = strict_id_arg(ctx, 4) else {
                return;
            };
            id
        };
        if !exists {
            ctx.ks.set(db, key, Value::Stream(Box::default()), false);
        }
        let s = stream_mut(ctx.ks, db, key);
        if s.groups.contains_key(group_name) {
            ctx.out
                .error("BUSYGROUP Consumer Group name already exists");
            return;
        }
        s.groups
            .insert(group_name.into(), ConsumerGroup::new(id, entries_read));
        ctx.out.ok();
        ctx.ks.dirty += 1;
        ctx.ks.notify(notify::STREAM, "xgroup-create", db, key);
    } else if kw(sub, "SETID") && (argc == 5 || argc == 7) {
        let s = stream_mut(ctx.ks, db, key);
        let id = if cstr(&arg4) == b"$" {
            s.entries.last_id
        } else {
            match parse_id(&arg4, 0, false, false) {
                Some(p) => p.id,
                None => return ctx.out.error(INVALID_ID),
            }
        };
        let mut entries_read = None;
        if argc == 7 {
            if !kw(ctx.arg(5), "ENTRIESREAD") {
                return subcommand_syntax_error(ctx, "XGROUP");
            }
            let Some(n) = entries_read_arg(ctx, 6) else {
                return;
            };
            entries_read = n;
        }
        let g = stream_mut(ctx.ks, db, key)
            .groups
            .get_mut(group_name)
            .expect("checked above");
        g.last_id = id;
        g.entries_read = entries_read;
        ctx.out.ok();
        ctx.ks.dirty += 1;
        ctx.ks.notify(notify::STREAM, "xgroup-setid", db, key);
    } else if kw(sub, "DESTROY") && argc == 4 {
        if !has_group {
            return ctx.out.int(0);
        }
        stream_mut(ctx.ks, db, key).groups.remove(group_name);
        ctx.out.int(1);
        ctx.ks.dirty += 1;
        ctx.ks.notify(notify::STREAM, "xgroup-destroy", db, key);
        // Readers blocked on the group must learn it is gone.
        ctx.ks.signal_ready(db, key);
    } else if kw(sub, "CREATECONSUMER") && argc == 5 {
        let g = stream_mut(ctx.ks, db, key)
            .groups
            .get_mut(group_name)
            .expect("checked above");
        let created = g.create_consumer(&arg4, now);
        ctx.out.int(created as i64);
        if created {
            ctx.ks.dirty += 1;
            ctx.ks
                .notify(notify::STREAM, "xgroup-createconsumer", db, key);
        }
    } else if kw(sub, "DELCONSUMER") && argc == 5 {
        let g = stream_mut(ctx.ks, db, key)
            .groups
            .get_mut(group_name)
            .expect("checked above");
        match g.delete_consumer(&arg4) {
            None => ctx.out.int(0),
            Some(pending) => {
                ctx.out.int(pending as i64);
                ctx.ks.dirty += 1;
                ctx.ks.notify(notify::STREAM, "xgroup-delconsumer", db, key);
            }
        }
    } else {
        subcommand_syntax_error(ctx, "XGROUP");
    }
}

/// XINFO HELP
pub fn xinfo_help(ctx: &mut Ctx) {
    reply_help(ctx.out, "XINFO", XINFO_HELP);
}

/// XINFO's key lookup: replies `no such key` or WRONGTYPE and returns None when not a stream.
fn xinfo_stream_of<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    key: &[u8],
    out: &mut Out,
) -> Option<&'k Stream> {
    match read_stream(ks, db, key, out) {
        Err(()) => None,
        Ok(None) => {
            out.error(NO_SUCH_KEY);
            None
        }
        Ok(Some(s)) => Some(s),
    }
}

/// Writes a group's lag: entries added after its last delivered ID, or nil when unknown.
fn reply_lag(out: &mut Out, entries: &Entries, group: &ConsumerGroup) {
    let lag = if entries.entries_added == 0 {
        Some(0)
    } else if let Some(read) = group
        .entries_read
        .filter(|_| !entries.range_has_tombstones(Some(group.last_id), None))
    {
        Some(entries.entries_added - read)
    } else {
        entries
            .estimate_distance(group.last_id)
            .map(|read| entries.entries_added - read)
    };
    match lag {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

fn reply_entries_read(out: &mut Out, group: &ConsumerGroup) {
    match group.entries_read {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

/// XINFO GROUPS key
pub fn xinfo_groups(ctx: &mut Ctx) {
    let Some(s) = xinfo_stream_of(ctx.ks, ctx.db, ctx.arg(2), ctx.out) else {
        return;
    };
    let out = &mut *ctx.out;
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pending.len() as i64);
        out.bulk(b"last-delivered-id");
        out.bulk(&g.last_id.to_bytes());
        out.bulk(b"entries-read");
        reply_entries_read(out, g);
        out.bulk(b"lag");
        reply_lag(out, &s.entries, g);
    }
}

/// XINFO CONSUMERS key group
pub fn xinfo_consumers(ctx: &mut Ctx) {
    let now = ctx.now_ms();
    let (key, group_name) = (ctx.arg(2), ctx.arg(3));
    let Some(s) = xinfo_stream_of(ctx.ks, ctx.db, key, ctx.out) else {
        return;
    };
    let Some(g) = s.groups.get(group_name) else {
        return no_group_for_key(ctx.out, group_name, key);
    };
    let out = &mut *ctx.out;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(3);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pending.len() as i64);
        out.bulk(b"idle");
        out.int((now - c.seen_time).max(0));
    }
}

/// XINFO STREAM key [FULL [COUNT count]]
pub fn xinfo_stream(ctx: &mut Ctx) {
    let Some(s) = xinfo_stream_of(ctx.ks, ctx.db, ctx.arg(2), ctx.out) else {
        return;
    };
    let opts = &ctx.argv[3..];
    let mut count: i64 = 10;
    let full = !opts.is_empty();
    if full {
        if (opts.len() != 1 && opts.len() != 3)
            || !kw(&opts[0], "full")
            || (opts.len() == 3 && !kw(&opts[1], "count"))
        {
            return subcommand_syntax_error(ctx, "XINFO");
        }
        if opts.len() == 3 {
            let Some(n) = parse_i64(&opts[2]) else {
                return ctx.out.error(NOT_INT);
            };
            count = if n < 0 { 10 } else { n };
        }
    }
    let out = &mut *ctx.out;
    let e = &s.entries;
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(e.length as i64);
    out.bulk(b"radix-tree-keys");
    out.int(e.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(e.radix_tree_nodes() as i64);
    out.bulk(b"last-generated-id");
    out.bulk(&e.last_id.to_bytes());
    out.bulk(b"max-deleted-entry-id");
    out.bulk(&e.max_deleted_id.to_bytes());
    out.bulk(b"entries-added");
    out.int(e.entries_added);
    out.bulk(b"recorded-first-entry-id");
    out.bulk(&e.first_id.to_bytes());
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        out.bulk(b"first-entry");
        match e.iter().next() {
            Some(first) => reply_entry(out, &first),
            None => out.null(),
        }
        out.bulk(b"last-entry");
        match e.range(StreamId::MIN, StreamId::MAX, true).next() {
            Some(last) => reply_entry(out, &last),
            None => out.null(),
        }
        return;
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    out.bulk(b"entries");
    reply_range(out, e, StreamId::MIN, StreamId::MAX, count as usize, false);
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        out.bulk(&g.last_id.to_bytes());
        out.bulk(b"entries-read");
        reply_entries_read(out, g);
        out.bulk(b"lag");
        reply_lag(out, e, g);
        out.bulk(b"pel-count");
        out.int(g.pending.len() as i64);
        out.bulk(b"pending");
        out.array(g.pending.len().min(limit));
        for (id, p) in g.pending.iter().take(limit) {
            out.array(4);
            out.bulk(&id.to_bytes());
            out.bulk(&p.consumer);
            out.int(p.delivery_time);
            out.int(p.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"pel-count");
            out.int(c.pending.len() as i64);
            out.bulk(b"pending");
            out.array(c.pending.len().min(limit));
            for id in c.pending.iter().take(limit) {
                let p = &g.pending[id];
                out.array(3);
                out.bulk(&id.to_bytes());
                out.int(p.delivery_time);
                out.int(p.delivery_count as i64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::BlockRequest;
    use crate::types::EncodingLimits;
    use resp::Protocol;

    /// What one command run left behind.
    struct Run {
        reply: Vec<u8>,
        propagate: Option<Vec<Vec<Bytes>>>,
        block: Option<BlockRequest>,
    }

    fn argv(args: &[&str]) -> Vec<Bytes> {
        args.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn run_with(
        ks: &mut Keyspace,
        proto: Protocol,
        may_block: bool,
        f: fn(&mut Ctx),
        args: &[Bytes],
    ) -> Run {
        run_ctx(ks, proto, may_block, false, f, args)
    }

    /// Runs a command as the server does when it re-runs a blocked one.
    fn rerun(ks: &mut Keyspace, proto: Protocol, f: fn(&mut Ctx), args: &[Bytes]) -> Run {
        run_ctx(ks, proto, true, true, f, args)
    }

    fn run_ctx(
        ks: &mut Keyspace,
        proto: Protocol,
        may_block: bool,
        retrying: bool,
        f: fn(&mut Ctx),
        args: &[Bytes],
    ) -> Run {
        let mut out = Out::new(proto);
        let mut ctx = Ctx::new(ks, 0, &mut out, args);
        ctx.may_block = may_block;
        ctx.retrying = retrying;
        f(&mut ctx);
        let (propagate, block) = (ctx.propagate.take(), ctx.block.take());
        Run {
            reply: out.buf,
            propagate,
            block,
        }
    }

    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> Run {
        run_with(ks, Protocol::Resp2, true, f, &argv(args))
    }

    /// Runs a command and returns its reply as text.
    fn reply(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> String {
        String::from_utf8(run(ks, f, args).reply).unwrap()
    }

    fn cmds(list: &[&[&str]]) -> Vec<Vec<Bytes>> {
        list.iter().map(|c| argv(c)).collect()
    }

    fn events(ks: &mut Keyspace) -> Vec<&'static str> {
        ks.notifications.drain(..).map(|n| n.event).collect()
    }

    fn keyspace() -> Keyspace {
        let mut ks = Keyspace::new(16);
        ks.now_ms = 1000;
        ks.notify_flags = !0;
        ks
    }

    #[test]
    fn xadd_generates_ids_and_propagates_them() {
        let mut ks = keyspace();
        let r = run(&mut ks, xadd, &["XADD", "s", "*", "a", "1"]);
        assert_eq!(r.reply, b"$6\r\n1000-0\r\n");
        assert_eq!(
            r.propagate,
            Some(cmds(&[&["XADD", "s", "1000-0", "a", "1"]]))
        );
        let r = run(&mut ks, xadd, &["xadd", "s", "1000-*", "b", "2"]);
        assert_eq!(r.reply, b"$6\r\n1000-1\r\n");
        assert_eq!(
            r.propagate,
            Some(cmds(&[&["xadd", "s", "1000-1", "b", "2"]]))
        );
        let r = run(&mut ks, xadd, &["XADD", "s", "2000-0", "c", "3"]);
        assert_eq!(r.propagate, None, "an explicit ID is propagated as sent");
        assert_eq!(
            reply(&mut ks, xadd, &["XADD", "s", "5-5", "a", "1"]),
            "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"
        );
        assert_eq!(
            reply(&mut ks, xadd, &["XADD", "t", "0-0", "a", "1"]),
            "-ERR The ID specified in XADD must be greater than 0-0\r\n"
        );
        assert_eq!(
            reply(&mut ks, xadd, &["XADD", "t", "NOMKSTREAM", "*", "a", "1"]),
            "$-1\r\n"
        );
        assert!(!ks.exists(0, b"t"));
        assert_eq!(events(&mut ks), vec!["new", "xadd", "xadd", "xadd"]);
        assert_eq!(ks.get(0, b"s").unwrap().encoding(), "stream");
        assert_eq!(reply(&mut ks, xlen, &["XLEN", "s"]), ":3\r\n");
    }

    #[test]
    fn approximate_trims_propagate_as_exact() {
        let mut ks = keyspace();
        for id in ["1-0", "2-0", "3-0", "4-0"] {
            run(&mut ks, xadd, &["XADD", "s", id, "a", "1"]);
        }
        // The whole (only) node goes, the new entry with it, as Redis does.
        let r = run(
            &mut ks,
            xadd,
            &["XADD", "s", "MAXLEN", "~", "0", "*", "a", "1"],
        );
        assert_eq!(
            r.propagate,
            Some(cmds(&[&[
                "XADD", "s", "MAXLEN", "=", "0", "1000-0", "a", "1"
            ]]))
        );
        assert_eq!(reply(&mut ks, xlen, &["XLEN", "s"]), ":0\r\n");
        assert_eq!(
            events(&mut ks),
            vec!["new", "xadd", "xadd", "xadd", "xadd", "xadd", "xtrim"]
        );
        for id in ["2000-0", "2001-0"] {
            run(&mut ks, xadd, &["XADD", "s", id, "a", "1"]);
        }
        let r = run(
            &mut ks,
            xadd,
            &[
                "xadd", "s", "maxlen", "~", "1", "LIMIT", "5", "3000-*", "a", "1",
            ],
        );
        assert_eq!(
            r.propagate,
            Some(cmds(&[&[
                "xadd", "s", "maxlen", "=", "3", "LIMIT", "5", "3000-0", "a", "1"
            ]]))
        );
        let r = run(&mut ks, xtrim, &["XTRIM", "s", "MINID", "~", "5000"]);
        assert_eq!(r.reply, b":3\r\n");
        let max = StreamId::MAX.to_string();
        assert_eq!(
            r.propagate,
            Some(cmds(&[&["XTRIM", "s", "MINID", "=", &max]]))
        );
        let r = run(&mut ks, xtrim, &["XTRIM", "s", "MAXLEN", "~", "0"]);
        assert_eq!((r.reply, r.propagate), (b":0\r\n".to_vec(), None));
    }

    #[test]
    fn trim_and_limit_errors() {
        let mut ks = keyspace();
        let cases: &[(&[&str], &str)] = &[
            (
                &["XADD", "s", "LIMIT", "5", "*", "a", "1"],
                "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy\r\n",
            ),
            (
                &["XADD", "s", "MAXLEN", "5", "LIMIT", "5", "*", "a", "1"],
                "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n",
            ),
            (
                &["XADD", "s", "MAXLEN", "1", "MINID", "5", "*", "a", "1"],
                "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n",
            ),
            (&["XADD", "s", "MAXLEN", "-1", "*", "a", "1"], "-ERR The MAXLEN argument must be >= 0.\r\n"),
            (&["XADD", "s", "MAXLEN", "5", "*"], "-ERR wrong number of arguments for 'xadd' command\r\n"),
            (
                &["XTRIM", "s", "LIMIT", "0"],
                "-ERR syntax error, XTRIM must be called with a trimming strategy\r\n",
            ),
            (&["XTRIM", "s", "MAXLEN", "1", "x"], "-ERR syntax error\r\n"),
        ];
        for (args, want) in cases {
            let f = if args[0] == "XADD" { xadd } else { xtrim };
            assert_eq!(reply(&mut ks, f, args), *want, "{args:?}");
        }
        // A replica obeys its primary's rewritten `= n LIMIT m`.
        ks.replica_mode = true;
        assert_eq!(
            reply(
                &mut ks,
                xadd,
                &["XADD", "s", "MAXLEN", "=", "5", "LIMIT", "5", "1-1", "a", "1"]
            ),
            "$3\r\n1-1\r\n"
        );
    }

    #[test]
    fn ranges_and_exclusive_bounds() {
        let mut ks = keyspace();
        for id in ["1-1", "1-2", "2-0"] {
            run(&mut ks, xadd, &["XADD", "s", id, "f", "v"]);
        }
        let entry = |id: &str| {
            format!(
                "*2\r\n${}\r\n{id}\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
                id.len()
            )
        };
        assert_eq!(
            reply(&mut ks, xrange, &["XRANGE", "s", "(1-1", "+"]),
            format!("*2\r\n{}{}", entry("1-2"), entry("2-0"))
        );
        assert_eq!(
            reply(
                &mut ks,
                xrevrange,
                &["XREVRANGE", "s", "+", "-", "COUNT", "1"]
            ),
            format!("*1\r\n{}", entry("2-0"))
        );
        assert_eq!(
            reply(&mut ks, xrange, &["XRANGE", "s", "1", "(2"]),
            format!("*3\r\n{}{}{}", entry("1-1"), entry("1-2"), entry("2-0"))
        );
        assert_eq!(
            reply(&mut ks, xrange, &["XRANGE", "s", "-", "+", "COUNT", "0"]),
            "*-1\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xrange,
                &["XRANGE", "nokey", "-", "+", "COUNT", "0"]
            ),
            "*0\r\n"
        );
        assert_eq!(
            reply(&mut ks, xrange, &["XRANGE", "s", "(-", "+"]),
            format!("-{INVALID_ID}\r\n")
        );
        assert_eq!(
            reply(&mut ks, xrange, &["XRANGE", "s", "-", "(0-0"]),
            "-ERR invalid end ID for the interval\r\n"
        );
        let max = format!("({}", StreamId::MAX);
        assert_eq!(
            reply(&mut ks, xrange, &["XRANGE", "s", &max, "+"]),
            "-ERR invalid start ID for the interval\r\n"
        );
    }

    #[test]
    fn xdel_updates_history_and_breaks_watch() {
        let mut ks = keyspace();
        for id in ["1-1", "2-1", "3-1"] {
            run(&mut ks, xadd, &["XADD", "s", id, "f", "v"]);
        }
        ks.notifications.clear();
        ks.watch(7, 0, b"s");
        assert_eq!(
            reply(&mut ks, xdel, &["XDEL", "s", "1-1", "3-1", "9-9"]),
            ":2\r\n"
        );
        assert_eq!(ks.invalidated_watchers, vec![7]);
        assert_eq!(events(&mut ks), vec!["xdel"]);
        let Some(Value::Stream(s)) = ks.get(0, b"s") else {
            panic!()
        };
        assert_eq!(
            (
                s.entries.first_id,
                s.entries.max_deleted_id,
                s.entries.length
            ),
            (StreamId::new(2, 1), StreamId::new(3, 1), 1)
        );
        assert_eq!(reply(&mut ks, xdel, &["XDEL", "nokey", "bad"]), ":0\r\n");
        assert_eq!(
            reply(&mut ks, xdel, &["XDEL", "s", "bad"]),
            format!("-{INVALID_ID}\r\n")
        );
    }

    /// A stream `s` with entries 1-1, 2-1, 3-1 and group `g` at 0.
    fn with_group() -> Keyspace {
        let mut ks = keyspace();
        for id in ["1-1", "2-1", "3-1"] {
            run(&mut ks, xadd, &["XADD", "s", id, "a", "1"]);
        }
        assert_eq!(
            reply(&mut ks, xgroup_create, &["XGROUP", "CREATE", "s", "g", "0"]),
            "+OK\r\n"
        );
        ks.notifications.clear();
        ks
    }

    fn claim(consumer: &str, id: &str, count: &str, last: &str) -> Vec<Bytes> {
        argv(&[
            "XCLAIM",
            "s",
            "g",
            consumer,
            "0",
            id,
            "TIME",
            "1000",
            "RETRYCOUNT",
            count,
            "FORCE",
            "JUSTID",
            "LASTID",
            last,
        ])
    }

    #[test]
    fn xreadgroup_propagates_claims_setid_and_consumer_creation() {
        let mut ks = with_group();
        ks.watch(7, 0, b"s");
        let r = run(
            &mut ks,
            xreadgroup,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c1",
                "COUNT",
                "2",
                "STREAMS",
                "s",
                ">",
            ],
        );
        assert!(r
            .reply
            .starts_with(b"*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n"));
        assert_eq!(
            r.propagate,
            Some(vec![
                claim("c1", "1-1", "1", "1-1"),
                claim("c1", "2-1", "1", "2-1")
            ])
        );
        assert_eq!(events(&mut ks), vec!["xgroup-createconsumer"]);
        // History reads and reads with nothing new propagate nothing.
        let r = run(
            &mut ks,
            xreadgroup,
            &["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"],
        );
        assert_eq!(r.propagate, Some(vec![]));
        // NOACK: the new consumer and the group's position, as Redis 7.0 sends them.
        let r = run(
            &mut ks,
            xreadgroup,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c3",
                "NOACK",
                "STREAMS",
                "s",
                ">",
            ],
        );
        assert_eq!(
            r.propagate,
            Some(cmds(&[
                &["XGROUP", "CREATECONSUMER", "s", "g", "c3"],
                &["XGROUP", "SETID", "s", "g", "3-1", "ENTRIESREAD", "3"]
            ]))
        );
        let r = run(
            &mut ks,
            xreadgroup,
            &["XREADGROUP", "GROUP", "g", "c4", "STREAMS", "s", ">"],
        );
        assert_eq!((r.reply, r.propagate), (b"*-1\r\n".to_vec(), Some(vec![])));
        assert!(
            ks.invalidated_watchers.is_empty(),
            "group reads do not touch the key"
        );
        assert_eq!(
            reply(&mut ks, xpending, &["XPENDING", "s", "g"]),
            "*4\r\n:2\r\n$3\r\n1-1\r\n$3\r\n2-1\r\n*1\r\n*2\r\n$2\r\nc1\r\n$1\r\n2\r\n"
        );
        assert_eq!(
            reply(&mut ks, xinfo_groups, &["XINFO", "GROUPS", "s"]),
            "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:2\r\n$7\r\npending\r\n:2\r\n\
             $17\r\nlast-delivered-id\r\n$3\r\n3-1\r\n$12\r\nentries-read\r\n:3\r\n$3\r\nlag\r\n:0\r\n"
        );
    }

    #[test]
    fn blocking_reads_block_with_pinned_arguments() {
        let mut ks = with_group();
        let r = run(
            &mut ks,
            xread,
            &["XREAD", "BLOCK", "100", "STREAMS", "s", "nokey", "$", "$"],
        );
        assert!(r.reply.is_empty(), "a blocking command writes no reply");
        let block = r.block.expect("blocked");
        assert_eq!(block.keys, argv(&["s", "nokey"]));
        assert_eq!(block.deadline_ms, Some(1100));
        assert_eq!(block.timeout_reply, TimeoutReply::NullArray);
        let retry = block.retry_argv.expect("retry arguments");
        assert_eq!(&retry[0][..], b"XREAD");
        assert_eq!(
            &retry[1..],
            &argv(&["BLOCK", "100", "COUNT", "1000", "STREAMS", "s", "nokey", "3-1", "0-0"])[..]
        );
        // Inside MULTI it answers as on timeout.
        let r = run_with(
            &mut ks,
            Protocol::Resp2,
            false,
            xread,
            &argv(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
        );
        assert_eq!((r.reply, r.block), (b"*-1\r\n".to_vec(), None));
        // The re-run serves once data arrived.
        run(&mut ks, xadd, &["XADD", "s", "4-1", "b", "2"]);
        let r = rerun(&mut ks, Protocol::Resp3, xread, &retry);
        assert_eq!(
            r.reply,
            b"%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n4-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        // A key that stops being a stream keeps a blocked XREAD waiting.
        ks.set(0, b"s", Value::string(b"x"), false);
        let r = rerun(&mut ks, Protocol::Resp2, xread, &retry);
        assert!(r.reply.is_empty() && r.block.is_some());
    }

    #[test]
    fn blocked_group_readers_learn_the_group_or_key_is_gone() {
        let mut ks = with_group();
        run(
            &mut ks,
            xreadgroup,
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        );
        let r = run(
            &mut ks,
            xreadgroup,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c2",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        );
        let block = r.block.expect("blocked");
        assert_eq!(block.deadline_ms, None);
        let retry = block.retry_argv.unwrap();
        assert_eq!(
            &retry[1..],
            &argv(&["GROUP", "g", "c2", "BLOCK", "0", "COUNT", "1000", "STREAMS", "s", ">"])[..]
        );
        let Some(Value::Stream(s)) = ks.get(0, b"s") else {
            panic!()
        };
        assert!(
            !s.groups[&b"g"[..]].consumers.contains_key(&b"c2"[..]),
            "no consumer until served"
        );
        ks.blocking_keys
            .insert((0, crate::keyspace::Key::from(&b"s"[..])));
        assert_eq!(
            reply(&mut ks, xgroup_destroy, &["XGROUP", "DESTROY", "s", "g"]),
            ":1\r\n"
        );
        assert_eq!(ks.ready_keys, vec![(0, Bytes::from_static(b"s"))]);
        let r = rerun(&mut ks, Protocol::Resp2, xreadgroup, &retry);
        assert_eq!(r.reply, format!("-{BLOCKED_GROUP_GONE}\r\n").into_bytes());
        ks.remove(0, b"s");
        let r = rerun(&mut ks, Protocol::Resp2, xreadgroup, &retry);
        assert_eq!(r.reply, format!("-{BLOCKED_KEY_GONE}\r\n").into_bytes());
        // The same command sent by a client gets the ordinary error.
        let r = run(
            &mut ks,
            xreadgroup,
            &["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"],
        );
        assert_eq!(
            r.reply,
            b"-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option\r\n"
        );
    }

    #[test]
    fn xclaim_and_xautoclaim_propagate_what_they_change() {
        let mut ks = with_group();
        run(
            &mut ks,
            xreadgroup,
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        );
        ks.now_ms = 2000;
        let r = run(
            &mut ks,
            xclaim,
            &["XCLAIM", "s", "g", "c2", "0", "01-1", "2-1", "JUSTID"],
        );
        assert_eq!(r.reply, b"*2\r\n$3\r\n1-1\r\n$3\r\n2-1\r\n");
        let mut first = claim("c2", "01-1", "1", "3-1");
        first[7] = Bytes::from_static(b"2000");
        let mut second = claim("c2", "2-1", "1", "3-1");
        second[7] = Bytes::from_static(b"2000");
        assert_eq!(
            r.propagate,
            Some(vec![first, second]),
            "the ID as the client wrote it"
        );
        // Nothing claimable, but LASTID moves the group: only SETID goes out.
        let r = run(
            &mut ks,
            xclaim,
            &["XCLAIM", "s", "g", "c2", "100000", "1-1", "LASTID", "50-0"],
        );
        assert_eq!(r.reply, b"*0\r\n");
        assert_eq!(
            r.propagate,
            Some(cmds(&[&[
                "XGROUP",
                "SETID",
                "s",
                "g",
                "50-0",
                "ENTRIESREAD",
                "3"
            ]]))
        );
        // Deleted entries leave the PEL (and count towards COUNT).
        run(&mut ks, xdel, &["XDEL", "s", "1-1"]);
        let r = run(
            &mut ks,
            xautoclaim,
            &["XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "1"],
        );
        assert_eq!(r.reply, b"*3\r\n$3\r\n2-1\r\n*0\r\n*1\r\n$3\r\n1-1\r\n");
        let mut gone = claim("c2", "1-1", "1", "50-0");
        gone[7] = Bytes::from_static(b"2000");
        assert_eq!(r.propagate, Some(vec![gone]));
        let r = run(
            &mut ks,
            xautoclaim,
            &["XAUTOCLAIM", "s", "g", "c3", "0", "0", "JUSTID"],
        );
        assert_eq!(
            r.reply,
            b"*3\r\n$3\r\n0-0\r\n*2\r\n$3\r\n2-1\r\n$3\r\n3-1\r\n*0\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xclaim,
                &["XCLAIM", "s", "g", "c", "0", "1-1", "FOO"]
            ),
            "-ERR Unrecognized XCLAIM option 'FOO'\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xautoclaim,
                &["XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "0"]
            ),
            "-ERR COUNT must be > 0\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xautoclaim,
                &["XAUTOCLAIM", "s", "nog", "c", "0", "0"]
            ),
            "-NOGROUP No such key 's' or consumer group 'nog'\r\n"
        );
    }

    #[test]
    fn group_management_events_and_errors() {
        let mut ks = keyspace();
        assert_eq!(
            reply(&mut ks, xgroup_create, &["XGROUP", "CREATE", "s", "g", "$"]),
            "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the \
             MKSTREAM option to create an empty stream automatically.\r\n"
        );
        ks.watch(7, 0, b"s");
        assert_eq!(
            reply(
                &mut ks,
                xgroup_create,
                &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]
            ),
            "+OK\r\n"
        );
        assert_eq!(
            reply(&mut ks, xgroup_create, &["XGROUP", "CREATE", "s", "g", "$"]),
            "-BUSYGROUP Consumer Group name already exists\r\n"
        );
        assert_eq!(
            reply(&mut ks, xgroup_create, &["XGROUP", "CREATE", "s", "g2", "$", "FOO"]),
            "-ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.\r\n"
        );
        assert_eq!(
            reply(&mut ks, xgroup_setid, &["XGROUP", "SETID", "s", "nog", "0"]),
            "-NOGROUP No such consumer group 'nog' for key name 's'\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xgroup_setid,
                &["XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "-2"]
            ),
            "-ERR value for ENTRIESREAD must be positive or -1\r\n"
        );
        assert_eq!(
            reply(&mut ks, xgroup_setid, &["XGROUP", "SETID", "s", "g", "-"]),
            "+OK\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xgroup_createconsumer,
                &["XGROUP", "CREATECONSUMER", "s", "g", "c"]
            ),
            ":1\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xgroup_createconsumer,
                &["XGROUP", "CREATECONSUMER", "s", "g", "c"]
            ),
            ":0\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xgroup_delconsumer,
                &["XGROUP", "DELCONSUMER", "s", "g", "c"]
            ),
            ":0\r\n"
        );
        assert_eq!(
            reply(&mut ks, xgroup_destroy, &["XGROUP", "DESTROY", "s", "g"]),
            ":1\r\n"
        );
        assert_eq!(
            reply(&mut ks, xgroup_destroy, &["XGROUP", "DESTROY", "s", "g"]),
            ":0\r\n"
        );
        assert_eq!(
            reply(
                &mut ks,
                xsetid,
                &[
                    "XSETID",
                    "s",
                    "5-0",
                    "ENTRIESADDED",
                    "3",
                    "MAXDELETEDID",
                    "1-0"
                ]
            ),
            "+OK\r\n"
        );
        assert_eq!(
            events(&mut ks),
            vec![
                "new",
                "xgroup-create",
                "xgroup-setid",
                "xgroup-createconsumer",
                "xgroup-delconsumer",
                "xgroup-destroy",
                "xsetid"
            ]
        );
        assert!(
            ks.invalidated_watchers.is_empty(),
            "as in Redis, group changes do not break WATCH"
        );
        assert_eq!(
            reply(&mut ks, xsetid, &["XSETID", "nokey", "1-0"]),
            "-ERR no such key\r\n"
        );
        assert!(reply(&mut ks, xgroup_help, &["XGROUP", "HELP"])
            .starts_with("*17\r\n+XGROUP <subcommand>"));
        assert!(
            reply(&mut ks, xinfo_help, &["XINFO", "HELP"]).starts_with("*9\r\n+XINFO <subcommand>")
        );
    }

    #[test]
    fn xinfo_stream_shapes() {
        let mut ks = keyspace();
        run(
            &mut ks,
            xgroup_create,
            &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
        );
        let want = "*20\r\n$6\r\nlength\r\n:0\r\n$15\r\nradix-tree-keys\r\n:0\r\n$16\r\nradix-tree-nodes\r\n:1\r\n\
                    $17\r\nlast-generated-id\r\n$3\r\n0-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n\
                    $13\r\nentries-added\r\n:0\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n$6\r\ngroups\r\n:1\r\n\
                    $11\r\nfirst-entry\r\n$-1\r\n$10\r\nlast-entry\r\n$-1\r\n";
        assert_eq!(
            reply(&mut ks, xinfo_stream, &["XINFO", "STREAM", "s"]),
            want
        );
        let r = run_with(
            &mut ks,
            Protocol::Resp3,
            true,
            xinfo_stream,
            &argv(&["XINFO", "STREAM", "s", "FULL"]),
        );
        assert!(r.reply.starts_with(b"%9\r\n$6\r\nlength\r\n:0\r\n"));
        assert!(r.reply.ends_with(
            b"$6\r\ngroups\r\n*1\r\n%7\r\n$4\r\nname\r\n$1\r\ng\r\n$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n\
              $12\r\nentries-read\r\n_\r\n$3\r\nlag\r\n:0\r\n$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n\
              $9\r\nconsumers\r\n*0\r\n"
        ));
        assert_eq!(
            reply(&mut ks, xinfo_stream, &["XINFO", "STREAM", "nokey"]),
            "-ERR no such key\r\n"
        );
        assert_eq!(
            reply(&mut ks, xinfo_stream, &["XINFO", "STREAM", "s", "FULL", "COUNT"]),
            "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n"
        );
        ks.set(0, b"str", Value::string(b"x"), false);
        for (f, args) in [
            (
                xinfo_stream as fn(&mut Ctx),
                &["XINFO", "STREAM", "str"][..],
            ),
            (xlen, &["XLEN", "str"]),
            (xrange, &["XRANGE", "str", "-", "+"]),
            (xadd, &["XADD", "str", "*", "a", "1"]),
            (xread, &["XREAD", "STREAMS", "str", "0"]),
            (xack, &["XACK", "str", "g", "1-1"]),
            (xpending, &["XPENDING", "str", "g"]),
            (xgroup_create, &["XGROUP", "CREATE", "str", "g", "$"]),
        ] {
            assert_eq!(
                reply(&mut ks, f, args),
                format!("-{WRONGTYPE}\r\n"),
                "{args:?}"
            );
        }
    }

    /// The command function for a propagated (or client) command.
    fn handler(argv: &[Bytes]) -> fn(&mut Ctx) {
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_uppercase();
        let sub = argv
            .get(1)
            .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
            .unwrap_or_default();
        match (name.as_str(), sub.as_str()) {
            ("XADD", _) => xadd,
            ("XDEL", _) => xdel,
            ("XTRIM", _) => xtrim,
            ("XACK", _) => xack,
            ("XCLAIM", _) => xclaim,
            ("XAUTOCLAIM", _) => xautoclaim,
            ("XSETID", _) => xsetid,
            ("XREADGROUP", _) => xreadgroup,
            ("XGROUP", "CREATE") => xgroup_create,
            ("XGROUP", "SETID") => xgroup_setid,
            ("XGROUP", "DESTROY") => xgroup_destroy,
            ("XGROUP", "CREATECONSUMER") => xgroup_createconsumer,
            ("XGROUP", "DELCONSUMER") => xgroup_delconsumer,
            other => panic!("no handler for {other:?}"),
        }
    }

    /// A group as the replica sees it: name, last delivered ID, PEL as text.
    type GroupView = (Vec<u8>, StreamId, Vec<String>);

    /// What a replica can rebuild of a stream from the propagated commands: the entries and
    /// counters, and per group its position and PEL (not the read counters or consumers that
    /// own nothing, which Redis 7.0 does not propagate).
    fn replicated_view(ks: &mut Keyspace) -> Option<(Vec<String>, Vec<GroupView>)> {
        let Some(Value::Stream(s)) = ks.get(0, b"s") else {
            return None;
        };
        let groups = s
            .groups
            .iter()
            .map(|(name, g)| {
                let pel = g
                    .pending
                    .iter()
                    .map(|(id, p)| {
                        let owner = String::from_utf8_lossy(&p.consumer).into_owned();
                        format!("{id} {owner} {} {}", p.delivery_time, p.delivery_count)
                    })
                    .collect();
                (name.to_vec(), g.last_id, pel)
            })
            .collect();
        let e = &s.entries;
        let mut entries = vec![format!(
            "{} {} {} {} {}",
            e.length, e.last_id, e.first_id, e.max_deleted_id, e.entries_added
        )];
        entries.extend(
            e.iter()
                .map(|x| format!("{} {:?}", x.id, x.pairs().collect::<Vec<_>>())),
        );
        Some((entries, groups))
    }

    #[test]
    fn replaying_what_was_propagated_rebuilds_the_stream() {
        for seed in 1..=40u64 {
            let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = move |n: u64| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n
            };
            // The replica cuts its nodes differently: approximate trims must arrive exact.
            let (mut primary, mut replica) = (keyspace(), keyspace());
            primary.limits = EncodingLimits {
                stream_node_max_entries: 3,
                ..EncodingLimits::default()
            };
            replica.limits = EncodingLimits {
                stream_node_max_entries: 5,
                ..EncodingLimits::default()
            };
            replica.replica_mode = true;
            for _ in 0..300 {
                let (c, g, id) = (
                    format!("c{}", next(3)),
                    format!("g{}", next(2)),
                    format!("{}-{}", next(40), next(2)),
                );
                let args: Vec<String> = match next(12) {
                    0..=2 => {
                        let mut a = vec!["XADD".to_string(), "s".into()];
                        match next(4) {
                            0 => a.extend(["MAXLEN".into(), "~".into(), next(8).to_string()]),
                            1 => a.extend(["MINID".into(), "=".into(), next(40).to_string()]),
                            _ => {}
                        }
                        a.extend(["*".into(), "f".into(), next(100).to_string()]);
                        a
                    }
                    3 => vec!["XDEL".into(), "s".into(), id],
                    4 => vec![
                        "XTRIM".into(),
                        "s".into(),
                        "MAXLEN".into(),
                        "~".into(),
                        next(10).to_string(),
                    ],
                    5 => vec![
                        "XGROUP".into(),
                        "CREATE".into(),
                        "s".into(),
                        g,
                        "0".into(),
                        "MKSTREAM".into(),
                    ],
                    6 => vec![
                        "XGROUP".into(),
                        "SETID".into(),
                        "s".into(),
                        g,
                        next(40).to_string(),
                    ],
                    7 => {
                        let mut a = vec![
                            "XREADGROUP".into(),
                            "GROUP".into(),
                            g,
                            c,
                            "COUNT".into(),
                            "2".into(),
                        ];
                        if next(4) == 0 {
                            a.push("NOACK".into());
                        }
                        a.extend(["STREAMS".into(), "s".into(), ">".into()]);
                        a
                    }
                    8 => vec!["XACK".into(), "s".into(), g, id],
                    9 => {
                        let mut a = vec!["XCLAIM".into(), "s".into(), g, c, "0".into(), id];
                        match next(3) {
                            0 => a.push("FORCE".into()),
                            1 => a.extend(["LASTID".into(), format!("{}-0", next(60))]),
                            _ => a.push("JUSTID".into()),
                        }
                        a
                    }
                    10 => vec![
                        "XAUTOCLAIM".into(),
                        "s".into(),
                        g,
                        c,
                        "0".into(),
                        "0".into(),
                        "COUNT".into(),
                        "2".into(),
                    ],
                    _ => vec!["XGROUP".into(), "DELCONSUMER".into(), "s".into(), g, c],
                };
                let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.clone())).collect();
                let now = primary.now_ms + next(3) as i64;
                primary.now_ms = now;
                replica.now_ms = now;
                let dirty = primary.dirty;
                let r = run_with(&mut primary, Protocol::Resp2, true, handler(&argv), &argv);
                let sent = match r.propagate {
                    Some(list) => list,
                    None if primary.dirty != dirty => vec![argv.clone()],
                    None => vec![],
                };
                for cmd in sent {
                    let applied =
                        run_with(&mut replica, Protocol::Resp2, true, handler(&cmd), &cmd);
                    assert!(
                        !applied.reply.starts_with(b"-"),
                        "seed {seed}: {args:?} sent {cmd:?} failed"
                    );
                }
                assert_eq!(
                    replicated_view(&mut primary),
                    replicated_view(&mut replica),
                    "seed {seed} after {args:?}"
                );
            }
        }
    }
}

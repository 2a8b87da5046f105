//! List commands: pushes and pops at both ends, ranges and indexes, LINSERT/LREM/LTRIM/LPOS,
//! moves between lists, and the blocking pops, which are served at once when they can be and
//! otherwise ask the server to block the client (see [`Ctx::block_on`]).

use super::{eq_ic, int_bytes, Ctx, TimeoutReply, NOT_INT, NO_SUCH_KEY};
use crate::keyspace::{notify, Keyspace, WRONGTYPE};
use crate::num::parse_i64;
use crate::types::list::{Elem, List, Needle};
use crate::value::Value;
use bytes::Bytes;
use resp::Out;

/// Which end of a list an operation works on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    /// LEFT: the head.
    Head,
    /// RIGHT: the tail.
    Tail,
}

impl End {
    fn pop_event(self) -> &'static str {
        match self {
            End::Head => "lpop",
            End::Tail => "rpop",
        }
    }

    fn push_event(self) -> &'static str {
        match self {
            End::Head => "lpush",
            End::Tail => "rpush",
        }
    }

    /// The non-blocking pop a blocking pop is propagated as.
    fn pop_command(self) -> Bytes {
        Bytes::from_static(match self {
            End::Head => b"LPOP",
            End::Tail => b"RPOP",
        })
    }
}

/// Parses LEFT / RIGHT (any case).
fn parse_end(arg: &[u8]) -> Option<End> {
    if eq_ic(arg, "left") {
        Some(End::Head)
    } else if eq_ic(arg, "right") {
        Some(End::Tail)
    } else {
        None
    }
}

/// A list key's lookup found a value of another type.
struct WrongType;

/// The list at `key` for reading (counts a hit or a miss).
fn list_read<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    key: &[u8],
) -> Result<Option<&'k List>, WrongType> {
    match ks.get(db, key) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(WrongType),
    }
}

/// The list at `key` for writing.
fn list_write<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    key: &[u8],
) -> Result<Option<&'k mut List>, WrongType> {
    match ks.get_mut(db, key) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(WrongType),
    }
}

/// Replies with one element as a bulk string.
#[inline]
fn reply_elem(out: &mut Out, elem: Elem) {
    match elem {
        Elem::Str(s) => out.bulk(s),
        Elem::Int(n) => {
            let mut buf = [0u8; 20];
            out.bulk(format_i64(n, &mut buf));
        }
    }
}

/// Formats `n` in decimal into `buf` without allocating.
fn format_i64(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Pushes `value` at `end`.
#[inline]
fn push(list: &mut List, end: End, value: &[u8]) {
    match end {
        End::Head => list.push_front(value),
        End::Tail => list.push_back(value),
    }
}

/// Pops from `end` of a list that is not empty.
#[inline]
fn pop(list: &mut List, end: End) -> Vec<u8> {
    match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
    .expect("stored lists are never empty")
}

/// A new list with the configured node size.
fn new_list(ks: &Keyspace) -> List {
    List::new(ks.limits.list_max_listpack_size)
}

/// Redis's `listElementsRemoved`: the pop event, the key's deletion when the list is empty,
/// and `count` changes to the dirty counter.
fn elements_removed(ctx: &mut Ctx, key: &[u8], end: End, count: usize, now_empty: bool) {
    ctx.ks.changed(ctx.db, key, notify::LIST, end.pop_event());
    ctx.ks.dirty += count.saturating_sub(1) as u64;
    if now_empty {
        delete_empty(ctx, key);
    }
}

/// Deletes a key whose list became empty, with the `del` event Redis raises.
fn delete_empty(ctx: &mut Ctx, key: &[u8]) {
    ctx.ks.remove(ctx.db, key);
    ctx.ks.notify(notify::GENERIC, "del", ctx.db, key);
}

/// Replies `count` elements popped from `end` (in pop order) and removes them.
fn pop_range(out: &mut Out, list: &mut List, end: End, count: usize) {
    let n = count.min(list.len());
    out.array(n);
    match end {
        End::Head => {
            for elem in list.iter().take(n) {
                reply_elem(out, elem);
            }
            list.remove_range(0, n);
        }
        End::Tail => {
            for elem in list.iter_rev().take(n) {
                reply_elem(out, elem);
            }
            let len = list.len();
            list.remove_range(len - n, n);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pushes

fn push_generic(ctx: &mut Ctx, end: End, only_if_exists: bool) {
    let key = ctx.arg(1);
    let values = &ctx.argv[2..];
    let len = match list_write(ctx.ks, ctx.db, key) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(Some(list)) => {
            for v in values {
                push(list, end, v);
            }
            list.len()
        }
        Ok(None) => {
            if only_if_exists {
                return ctx.out.int(0);
            }
            let mut list = new_list(ctx.ks);
            for v in values {
                push(&mut list, end, v);
            }
            let len = list.len();
            ctx.ks.set(ctx.db, key, Value::List(Box::new(list)), false);
            len
        }
    };
    ctx.out.int(len as i64);
    ctx.ks.changed(ctx.db, key, notify::LIST, end.push_event());
    // Redis counts one change per pushed element.
    ctx.ks.dirty += values.len() as u64 - 1;
}

/// LPUSH key element [element ...]
pub fn lpush(ctx: &mut Ctx) {
    push_generic(ctx, End::Head, false);
}

/// RPUSH key element [element ...]
pub fn rpush(ctx: &mut Ctx) {
    push_generic(ctx, End::Tail, false);
}

/// LPUSHX key element [element ...]
pub fn lpushx(ctx: &mut Ctx) {
    push_generic(ctx, End::Head, true);
}

/// RPUSHX key element [element ...]
pub fn rpushx(ctx: &mut Ctx) {
    push_generic(ctx, End::Tail, true);
}

// ---------------------------------------------------------------------------------------------
// Pops

fn pop_generic(ctx: &mut Ctx, end: End, name: &str) {
    if ctx.argv.len() > 3 {
        return ctx.out.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
    }
    let with_count = ctx.argv.len() == 3;
    let mut count = 0usize;
    if with_count {
        match parse_i64(ctx.arg(2)) {
            Some(n) if n >= 0 => count = n as usize,
            _ => return ctx.out.error("ERR value is out of range, must be positive"),
        }
    }
    let key = ctx.arg(1);
    let (removed, now_empty) = match list_write(ctx.ks, ctx.db, key) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(None) if with_count => return ctx.out.null_array(),
        Ok(None) => return ctx.out.null(),
        Ok(Some(_)) if with_count && count == 0 => return ctx.out.array(0),
        Ok(Some(list)) => {
            let removed = if with_count {
                let n = count.min(list.len());
                pop_range(ctx.out, list, end, n);
                n
            } else {
                let value = pop(list, end);
                ctx.out.bulk(&value);
                1
            };
            (removed, list.is_empty())
        }
    };
    elements_removed(ctx, key, end, removed, now_empty);
}

/// LPOP key [count]
pub fn lpop(ctx: &mut Ctx) {
    pop_generic(ctx, End::Head, "lpop");
}

/// RPOP key [count]
pub fn rpop(ctx: &mut Ctx) {
    pop_generic(ctx, End::Tail, "rpop");
}

// ---------------------------------------------------------------------------------------------
// Reads

/// LLEN key
pub fn llen(ctx: &mut Ctx) {
    match list_read(ctx.ks, ctx.db, ctx.arg(1)) {
        Err(WrongType) => ctx.out.error(WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(list)) => ctx.out.int(list.len() as i64),
    }
}

/// Redis's range normalisation: negative indexes count from the tail; returns (start, count).
fn normalize_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut end = if end < 0 { end + len } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, (end - start + 1) as usize))
}

/// LRANGE key start stop
pub fn lrange(ctx: &mut Ctx) {
    let Some(start) = ctx.int_arg(2) else { return };
    let Some(stop) = ctx.int_arg(3) else { return };
    let list = match list_read(ctx.ks, ctx.db, ctx.arg(1)) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(None) => return ctx.out.array(0),
        Ok(Some(list)) => list,
    };
    match normalize_range(start, stop, list.len()) {
        None => ctx.out.array(0),
        Some((from, n)) => {
            ctx.out.array(n);
            for elem in list.iter_from(from).take(n) {
                reply_elem(ctx.out, elem);
            }
        }
    }
}

/// An index that may count from the tail, resolved against `len`.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 { index + len as i64 } else { index };
    (index >= 0 && index < len as i64).then_some(index as usize)
}

/// LINDEX key index
pub fn lindex(ctx: &mut Ctx) {
    let raw_index = ctx.arg(2);
    let list = match list_read(ctx.ks, ctx.db, ctx.arg(1)) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(None) => return ctx.out.null(),
        Ok(Some(list)) => list,
    };
    // Like Redis, the index is parsed only once the key is known to hold a list.
    let Some(index) = parse_i64(raw_index) else {
        return ctx.out.error(NOT_INT);
    };
    match resolve_index(index, list.len()).and_then(|i| list.get(i)) {
        Some(elem) => reply_elem(ctx.out, elem),
        None => ctx.out.null(),
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos(ctx: &mut Ctx) {
    let (mut rank, mut count, mut maxlen) = (1i64, -1i64, 0i64);
    let mut j = 3;
    while j < ctx.argv.len() {
        let opt = ctx.arg(j);
        let has_value = j + 1 < ctx.argv.len();
        if eq_ic(opt, "rank") && has_value {
            let Some(r) = ctx.int_arg(j + 1) else { return };
            if r == 0 {
                return ctx.out.error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                     or use negative to start from the end of the list",
                );
            }
            rank = r;
        } else if eq_ic(opt, "count") && has_value {
            match parse_i64(ctx.arg(j + 1)) {
                Some(c) if c >= 0 => count = c,
                _ => return ctx.out.error("ERR COUNT can't be negative"),
            }
        } else if eq_ic(opt, "maxlen") && has_value {
            match parse_i64(ctx.arg(j + 1)) {
                Some(m) if m >= 0 => maxlen = m,
                _ => return ctx.out.error("ERR MAXLEN can't be negative"),
            }
        } else {
            return ctx.syntax_error();
        }
        j += 2;
    }
    // A negative rank searches from the tail. Redis negates it in C `long` arithmetic, so
    // LONG_MIN stays negative and then matches from the first hit on; wrapping keeps that.
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let needle = Needle::new(ctx.arg(2));
    let list = match list_read(ctx.ks, ctx.db, ctx.arg(1)) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(None) if count != -1 => return ctx.out.array(0),
        Ok(None) => return ctx.out.null(),
        Ok(Some(list)) => list,
    };
    let len = list.len() as i64;
    let elems: Box<dyn Iterator<Item = Elem>> = if from_tail {
        Box::new(list.iter_rev())
    } else {
        Box::new(list.iter())
    };
    let (mut index, mut matches, mut match_index) = (0i64, 0i64, -1i64);
    let mut positions = Vec::new();
    for elem in elems {
        if maxlen != 0 && index >= maxlen {
            break;
        }
        if elem.matches(&needle) {
            matches += 1;
            match_index = if from_tail { len - index - 1 } else { index };
            if matches >= rank {
                if count == -1 {
                    break;
                }
                positions.push(match_index);
                if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
                    break;
                }
            }
        }
        index += 1;
        match_index = -1;
    }
    if count != -1 {
        ctx.out.array(positions.len());
        for p in positions {
            ctx.out.int(p);
        }
    } else if match_index != -1 {
        ctx.out.int(match_index);
    } else {
        ctx.out.null();
    }
}

// ---------------------------------------------------------------------------------------------
// Edits in place

/// LSET key index element
pub fn lset(ctx: &mut Ctx) {
    let (key, raw_index, value) = (ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let list = match list_write(ctx.ks, ctx.db, key) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(None) => return ctx.out.error(NO_SUCH_KEY),
        Ok(Some(list)) => list,
    };
    let Some(index) = parse_i64(raw_index) else {
        return ctx.out.error(NOT_INT);
    };
    let replaced = match resolve_index(index, list.len()) {
        Some(i) => list.set(i, value),
        None => false,
    };
    if !replaced {
        return ctx.out.error("ERR index out of range");
    }
    ctx.out.ok();
    ctx.ks.changed(ctx.db, key, notify::LIST, "lset");
}

/// LINSERT key BEFORE|AFTER pivot element
pub fn linsert(ctx: &mut Ctx) {
    let after = if eq_ic(ctx.arg(2), "after") {
        true
    } else if eq_ic(ctx.arg(2), "before") {
        false
    } else {
        return ctx.syntax_error();
    };
    let (key, pivot, value) = (ctx.arg(1), ctx.arg(3), ctx.arg(4));
    let list = match list_write(ctx.ks, ctx.db, key) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(list)) => list,
    };
    if !list.insert_at_pivot(&Needle::new(pivot), value, after) {
        return ctx.out.int(-1);
    }
    ctx.out.int(list.len() as i64);
    ctx.ks.changed(ctx.db, key, notify::LIST, "linsert");
}

/// LREM key count element
pub fn lrem(ctx: &mut Ctx) {
    let Some(count) = ctx.int_arg(2) else { return };
    let (key, needle) = (ctx.arg(1), Needle::new(ctx.arg(3)));
    let list = match list_write(ctx.ks, ctx.db, key) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(list)) => list,
    };
    // `unsigned_abs` keeps i64::MIN a (never reached) limit, as Redis's overflowing negation does.
    let limit = count.unsigned_abs().min(usize::MAX as u64) as usize;
    let removed = list.remove_matching(&needle, limit, count < 0);
    let now_empty = list.is_empty();
    if removed > 0 {
        ctx.ks.changed(ctx.db, key, notify::LIST, "lrem");
        ctx.ks.dirty += removed as u64 - 1;
    }
    if now_empty {
        delete_empty(ctx, key);
    }
    ctx.out.int(removed as i64);
}

/// LTRIM key start stop
pub fn ltrim(ctx: &mut Ctx) {
    let Some(start) = ctx.int_arg(2) else { return };
    let Some(stop) = ctx.int_arg(3) else { return };
    let key = ctx.arg(1);
    let list = match list_write(ctx.ks, ctx.db, key) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(None) => return ctx.out.ok(),
        Ok(Some(list)) => list,
    };
    let len = list.len();
    let (left, right) = match normalize_range(start, stop, len) {
        None => (len, 0),
        Some((from, n)) => (from, len - from - n),
    };
    list.remove_range(0, left);
    let remaining = list.len();
    list.remove_range(remaining - right, right);
    let now_empty = list.is_empty();
    // Redis raises the event and breaks WATCHes even when nothing was trimmed, but only counts
    // (and so propagates) removed elements.
    ctx.ks.touch(ctx.db, key);
    ctx.ks.notify(notify::LIST, "ltrim", ctx.db, key);
    ctx.ks.dirty += (left + right) as u64;
    if now_empty {
        delete_empty(ctx, key);
    }
    ctx.out.ok();
}

// ---------------------------------------------------------------------------------------------
// Moves

/// Redis's `lmoveGenericCommand`: pops from the source and pushes onto the destination.
/// Returns true if an element moved (the caller may then rewrite what is propagated).
fn move_generic(ctx: &mut Ctx, from: End, to: End) -> bool {
    let src = ctx.arg(1);
    let dst = ctx.arg(2);
    match list_write(ctx.ks, ctx.db, src) {
        Err(WrongType) => {
            ctx.out.error(WRONGTYPE);
            return false;
        }
        Ok(None) => {
            ctx.out.null();
            return false;
        }
        Ok(Some(_)) => {}
    }
    if let Err(WrongType) = list_write(ctx.ks, ctx.db, dst) {
        ctx.out.error(WRONGTYPE);
        return false;
    }
    let value = match list_write(ctx.ks, ctx.db, src) {
        Ok(Some(list)) => pop(list, from),
        _ => unreachable!("source checked above"),
    };
    // The source is not deleted yet, so with src == dst the element goes back into it.
    match list_write(ctx.ks, ctx.db, dst) {
        Ok(Some(list)) => push(list, to, &value),
        _ => {
            let mut list = new_list(ctx.ks);
            push(&mut list, to, &value);
            ctx.ks.set(ctx.db, dst, Value::List(Box::new(list)), false);
        }
    }
    ctx.ks.touch(ctx.db, dst);
    ctx.ks.notify(notify::LIST, to.push_event(), ctx.db, dst);
    ctx.out.bulk(&value);
    let now_empty = matches!(list_write(ctx.ks, ctx.db, src), Ok(Some(list)) if list.is_empty());
    ctx.ks.changed(ctx.db, src, notify::LIST, from.pop_event());
    if now_empty {
        delete_empty(ctx, src);
    }
    true
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
pub fn lmove(ctx: &mut Ctx) {
    let Some(from) = parse_end(ctx.arg(3)) else {
        return ctx.syntax_error();
    };
    let Some(to) = parse_end(ctx.arg(4)) else {
        return ctx.syntax_error();
    };
    move_generic(ctx, from, to);
}

/// RPOPLPUSH source destination
pub fn rpoplpush(ctx: &mut Ctx) {
    move_generic(ctx, End::Tail, End::Head);
}

// ---------------------------------------------------------------------------------------------
// Multi-key pops

/// The keys and options of LMPOP / BLMPOP, parsed as Redis does.
struct MpopArgs {
    keys: std::ops::Range<usize>,
    end: End,
    count: usize,
}

fn parse_mpop(ctx: &mut Ctx, numkeys_idx: usize) -> Option<MpopArgs> {
    let argc = ctx.argv.len();
    let numkeys = match parse_i64(ctx.arg(numkeys_idx)) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.out.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    if numkeys >= (argc - numkeys_idx - 1) as u64 {
        ctx.syntax_error();
        return None;
    }
    let where_idx = numkeys_idx + numkeys as usize + 1;
    let Some(end) = parse_end(ctx.arg(where_idx)) else {
        ctx.syntax_error();
        return None;
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argc {
        if count.is_none() && eq_ic(ctx.arg(j), "count") && j + 1 < argc {
            match parse_i64(ctx.arg(j + 1)) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => {
                    ctx.out.error("ERR count should be greater than 0");
                    return None;
                }
            }
            j += 2;
        } else {
            ctx.syntax_error();
            return None;
        }
    }
    Some(MpopArgs {
        keys: numkeys_idx + 1..where_idx,
        end,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first non-empty list among `args.keys`: replies `[key, [elements]]` and
/// propagates `LPOP|RPOP key n`. Returns false (with nothing written) when all are empty;
/// true after serving or after a WRONGTYPE reply.
fn mpop_serve(ctx: &mut Ctx, args: &MpopArgs) -> bool {
    for j in args.keys.clone() {
        let key = ctx.arg(j);
        let (n, now_empty) = match list_write(ctx.ks, ctx.db, key) {
            Err(WrongType) => {
                ctx.out.error(WRONGTYPE);
                return true;
            }
            Ok(None) => continue,
            Ok(Some(list)) => {
                let n = args.count.min(list.len());
                ctx.out.array(2);
                ctx.out.bulk(key);
                pop_range(ctx.out, list, args.end, n);
                (n, list.is_empty())
            }
        };
        elements_removed(ctx, key, args.end, n, now_empty);
        ctx.propagate_as(vec![
            args.end.pop_command(),
            ctx.argv[j].clone(),
            int_bytes(n as i64),
        ]);
        return true;
    }
    false
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn lmpop(ctx: &mut Ctx) {
    let Some(args) = parse_mpop(ctx, 1) else {
        return;
    };
    if !mpop_serve(ctx, &args) {
        ctx.out.null_array();
    }
}

// ---------------------------------------------------------------------------------------------
// Blocking variants: serve now if possible, else block (or, where blocking is not allowed,
// answer as a timeout would).

fn blocking_pop(ctx: &mut Ctx, end: End) {
    let last = ctx.argv.len() - 1;
    let Some(deadline) = ctx.timeout_secs_arg(last) else {
        return;
    };
    for j in 1..last {
        let key = ctx.arg(j);
        let now_empty = match list_write(ctx.ks, ctx.db, key) {
            Err(WrongType) => return ctx.out.error(WRONGTYPE),
            Ok(None) => continue,
            Ok(Some(list)) => {
                let value = pop(list, end);
                ctx.out.array(2);
                ctx.out.bulk(key);
                ctx.out.bulk(&value);
                list.is_empty()
            }
        };
        elements_removed(ctx, key, end, 1, now_empty);
        ctx.propagate_as(vec![end.pop_command(), ctx.argv[j].clone()]);
        return;
    }
    if !ctx.may_block {
        return ctx.out.null_array();
    }
    let keys = ctx.argv[1..last].to_vec();
    ctx.block_on(keys, deadline, TimeoutReply::NullArray);
}

/// BLPOP key [key ...] timeout
pub fn blpop(ctx: &mut Ctx) {
    blocking_pop(ctx, End::Head);
}

/// BRPOP key [key ...] timeout
pub fn brpop(ctx: &mut Ctx) {
    blocking_pop(ctx, End::Tail);
}

/// The blocking moves: `timeout_idx` is where the timeout is; once served, what is propagated
/// is `rewrite` (LMOVE or RPOPLPUSH).
fn blocking_move(ctx: &mut Ctx, from: End, to: End, timeout_idx: usize, rewrite: Vec<Bytes>) {
    let Some(deadline) = ctx.timeout_secs_arg(timeout_idx) else {
        return;
    };
    match list_write(ctx.ks, ctx.db, ctx.arg(1)) {
        Err(WrongType) => return ctx.out.error(WRONGTYPE),
        Ok(Some(_)) => {}
        // Redis 7.0 answers a MULTI/script BLMOVE on an empty source with a null bulk, but a
        // timed-out blocked one with a null array.
        Ok(None) if !ctx.may_block => return ctx.out.null(),
        Ok(None) => {
            let keys = vec![ctx.argv[1].clone()];
            return ctx.block_on(keys, deadline, TimeoutReply::NullArray);
        }
    }
    if move_generic(ctx, from, to) {
        ctx.propagate_as(rewrite);
    }
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
pub fn blmove(ctx: &mut Ctx) {
    let Some(from) = parse_end(ctx.arg(3)) else {
        return ctx.syntax_error();
    };
    let Some(to) = parse_end(ctx.arg(4)) else {
        return ctx.syntax_error();
    };
    let rewrite = vec![
        Bytes::from_static(b"LMOVE"),
        ctx.argv[1].clone(),
        ctx.argv[2].clone(),
        ctx.argv[3].clone(),
        ctx.argv[4].clone(),
    ];
    blocking_move(ctx, from, to, 5, rewrite);
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(ctx: &mut Ctx) {
    let rewrite = vec![
        Bytes::from_static(b"RPOPLPUSH"),
        ctx.argv[1].clone(),
        ctx.argv[2].clone(),
    ];
    blocking_move(ctx, End::Tail, End::Head, 3, rewrite);
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn blmpop(ctx: &mut Ctx) {
    let Some(args) = parse_mpop(ctx, 2) else {
        return;
    };
    let Some(deadline) = ctx.timeout_secs_arg(1) else {
        return;
    };
    if mpop_serve(ctx, &args) {
        return;
    }
    if !ctx.may_block {
        return ctx.out.null_array();
    }
    let keys = ctx.argv[args.keys].to_vec();
    ctx.block_on(keys, deadline, TimeoutReply::NullArray);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::BlockRequest;
    use crate::keyspace::Keyspace;
    use resp::Protocol;

    type Propagated = Option<Vec<Vec<Bytes>>>;
    /// A command function.
    type Cmd = fn(&mut Ctx);

    fn argv(args: &[&str]) -> Vec<Bytes> {
        args.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn keyspace() -> Keyspace {
        let mut ks = Keyspace::new(16);
        ks.now_ms = 1_700_000_000_000;
        ks.notify_flags = !0;
        ks
    }

    /// Runs one command: reply bytes, propagation override, block request.
    fn exec(
        ks: &mut Keyspace,
        proto: Protocol,
        may_block: bool,
        f: fn(&mut Ctx),
        args: &[&str],
    ) -> (Vec<u8>, Propagated, Option<BlockRequest>) {
        let argv = argv(args);
        let mut out = Out::new(proto);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        ctx.may_block = may_block;
        f(&mut ctx);
        let (propagate, block) = (ctx.propagate.take(), ctx.block.take());
        (out.buf, propagate, block)
    }

    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> Vec<u8> {
        exec(ks, Protocol::Resp2, true, f, args).0
    }

    fn run3(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> Vec<u8> {
        exec(ks, Protocol::Resp3, true, f, args).0
    }

    fn events(ks: &mut Keyspace) -> Vec<(&'static str, String)> {
        ks.notifications
            .drain(..)
            .map(|n| (n.event, String::from_utf8_lossy(&n.key).into_owned()))
            .collect()
    }

    fn ev(event: &'static str, key: &str) -> (&'static str, String) {
        (event, key.to_string())
    }

    fn bulks(items: &[&str]) -> Vec<u8> {
        let mut out = Out::new(Protocol::Resp2);
        out.bulk_array(items);
        out.buf
    }

    fn range(ks: &mut Keyspace, key: &str) -> Vec<u8> {
        run(ks, lrange, &["LRANGE", key, "0", "-1"])
    }

    const WRONG: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn pushes_create_lists_and_count_each_element() {
        let mut ks = keyspace();
        ks.watch(9, 0, b"l");
        assert_eq!(
            run(&mut ks, rpush, &["RPUSH", "l", "a", "b", "c"]),
            b":3\r\n"
        );
        assert_eq!(run(&mut ks, lpush, &["LPUSH", "l", "x", "y"]), b":5\r\n");
        assert_eq!(range(&mut ks, "l"), bulks(&["y", "x", "a", "b", "c"]));
        assert_eq!(ks.dirty, 5);
        assert_eq!(ks.invalidated_watchers, vec![9, 9]);
        assert_eq!(
            events(&mut ks),
            vec![ev("new", "l"), ev("rpush", "l"), ev("lpush", "l")]
        );
        assert_eq!(run(&mut ks, lpushx, &["LPUSHX", "nokey", "a"]), b":0\r\n");
        assert_eq!(run(&mut ks, rpushx, &["RPUSHX", "l", "z", "1"]), b":7\r\n");
        assert!(!ks.exists(0, b"nokey"));
        assert_eq!(
            ks.dbs[0].data.get(&b"l"[..]).unwrap().value.encoding(),
            "quicklist"
        );
        assert_eq!(run(&mut ks, llen, &["LLEN", "l"]), b":7\r\n");
        assert_eq!(run(&mut ks, llen, &["LLEN", "nokey"]), b":0\r\n");
    }

    #[test]
    fn new_lists_take_the_configured_node_size() {
        let mut ks = keyspace();
        ks.limits.list_max_listpack_size = 2;
        run(&mut ks, rpush, &["RPUSH", "l", "a", "b", "c", "d", "e"]);
        ks.limits.list_max_listpack_size = -2;
        run(&mut ks, rpush, &["RPUSH", "l", "f"]);
        let Some(Value::List(list)) = ks.peek(0, b"l") else {
            panic!("list")
        };
        assert_eq!(
            list.fill(),
            2,
            "the fill is fixed when the list is created, as in Redis"
        );
        assert_eq!(list.node_count(), 3);
    }

    #[test]
    fn every_command_refuses_other_types() {
        let mut ks = keyspace();
        ks.set(0, b"s", Value::string(b"x"), false);
        run(&mut ks, rpush, &["RPUSH", "l", "a"]);
        let cases: &[(Cmd, &[&str])] = &[
            (lpush, &["LPUSH", "s", "a"]),
            (rpushx, &["RPUSHX", "s", "a"]),
            (lpop, &["LPOP", "s"]),
            (rpop, &["RPOP", "s", "0"]),
            (llen, &["LLEN", "s"]),
            (lrange, &["LRANGE", "s", "0", "1"]),
            (lindex, &["LINDEX", "s", "x"]),
            (lset, &["LSET", "s", "x", "v"]),
            (linsert, &["LINSERT", "s", "before", "a", "b"]),
            (lrem, &["LREM", "s", "0", "a"]),
            (ltrim, &["LTRIM", "s", "0", "1"]),
            (lpos, &["LPOS", "s", "a"]),
            (lmove, &["LMOVE", "s", "l", "left", "left"]),
            (lmove, &["LMOVE", "l", "s", "left", "left"]),
            (rpoplpush, &["RPOPLPUSH", "l", "s"]),
            (lmpop, &["LMPOP", "2", "nokey", "s", "left"]),
            (blpop, &["BLPOP", "nokey", "s", "l", "0"]),
            (brpop, &["BRPOP", "s", "0"]),
            (blmove, &["BLMOVE", "s", "l", "left", "right", "0"]),
            (brpoplpush, &["BRPOPLPUSH", "l", "s", "0"]),
            (blmpop, &["BLMPOP", "0", "1", "s", "left"]),
        ];
        for (f, args) in cases {
            assert_eq!(run(&mut ks, *f, args), WRONG, "{args:?}");
        }
        assert_eq!(range(&mut ks, "l"), bulks(&["a"]), "nothing moved");
        assert_eq!(
            run(&mut ks, rpoplpush, &["RPOPLPUSH", "nokey", "s"]),
            b"$-1\r\n"
        );
    }

    #[test]
    fn pops_with_and_without_count() {
        let mut ks = keyspace();
        run(&mut ks, rpush, &["RPUSH", "l", "a", "b", "c", "d", "e"]);
        ks.dirty = 0;
        events(&mut ks);
        assert_eq!(run(&mut ks, lpop, &["LPOP", "l"]), b"$1\r\na\r\n");
        assert_eq!(run(&mut ks, rpop, &["RPOP", "l", "2"]), bulks(&["e", "d"]));
        assert_eq!(ks.dirty, 3, "one per popped element");
        assert_eq!(run(&mut ks, lpop, &["LPOP", "l", "0"]), b"*0\r\n");
        assert_eq!(
            run(&mut ks, lpop, &["LPOP", "l", "-1"]),
            b"-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            run(&mut ks, lpop, &["LPOP", "l", "x"]),
            b"-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            run(&mut ks, lpop, &["LPOP", "l", "1", "2"]),
            b"-ERR wrong number of arguments for 'lpop' command\r\n"
        );
        assert_eq!(run(&mut ks, lpop, &["LPOP", "l", "10"]), bulks(&["b", "c"]));
        assert!(!ks.exists(0, b"l"));
        assert_eq!(
            events(&mut ks),
            vec![
                ev("lpop", "l"),
                ev("rpop", "l"),
                ev("lpop", "l"),
                ev("del", "l")
            ]
        );
        assert_eq!(run(&mut ks, lpop, &["LPOP", "l"]), b"$-1\r\n");
        assert_eq!(run(&mut ks, lpop, &["LPOP", "l", "1"]), b"*-1\r\n");
        assert_eq!(run(&mut ks, lpop, &["LPOP", "l", "0"]), b"*-1\r\n");
        assert_eq!(run3(&mut ks, rpop, &["RPOP", "l", "1"]), b"_\r\n");
        assert_eq!(run3(&mut ks, rpop, &["RPOP", "l"]), b"_\r\n");
    }

    #[test]
    fn ranges_and_indexes_follow_redis_normalisation() {
        let mut ks = keyspace();
        run(
            &mut ks,
            rpush,
            &["RPUSH", "l", "a", "1", "-200", "100000000000", "007"],
        );
        assert_eq!(
            range(&mut ks, "l"),
            bulks(&["a", "1", "-200", "100000000000", "007"])
        );
        assert_eq!(
            run(&mut ks, lrange, &["LRANGE", "l", "-2", "100"]),
            bulks(&["100000000000", "007"])
        );
        assert_eq!(
            run(&mut ks, lrange, &["LRANGE", "l", "-100", "0"]),
            bulks(&["a"])
        );
        assert_eq!(run(&mut ks, lrange, &["LRANGE", "l", "3", "2"]), b"*0\r\n");
        assert_eq!(run(&mut ks, lrange, &["LRANGE", "l", "5", "10"]), b"*0\r\n");
        assert_eq!(
            run(
                &mut ks,
                lrange,
                &["LRANGE", "l", "-9223372036854775808", "9223372036854775807"]
            ),
            range(&mut ks, "l")
        );
        assert_eq!(
            run(&mut ks, lrange, &["LRANGE", "nokey", "0", "1"]),
            b"*0\r\n"
        );
        assert_eq!(
            run(&mut ks, lrange, &["LRANGE", "nokey", "x", "1"]),
            b"-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            run(&mut ks, lindex, &["LINDEX", "l", "-1"]),
            b"$3\r\n007\r\n"
        );
        assert_eq!(
            run(&mut ks, lindex, &["LINDEX", "l", "2"]),
            b"$4\r\n-200\r\n"
        );
        assert_eq!(run(&mut ks, lindex, &["LINDEX", "l", "5"]), b"$-1\r\n");
        assert_eq!(run(&mut ks, lindex, &["LINDEX", "nokey", "x"]), b"$-1\r\n");
        assert_eq!(
            run(&mut ks, lindex, &["LINDEX", "l", "x"]),
            b"-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(run3(&mut ks, lindex, &["LINDEX", "l", "9"]), b"_\r\n");
    }

    #[test]
    fn lset_linsert_lrem_ltrim() {
        let mut ks = keyspace();
        assert_eq!(
            run(&mut ks, lset, &["LSET", "l", "0", "x"]),
            b"-ERR no such key\r\n"
        );
        run(&mut ks, rpush, &["RPUSH", "l", "a", "b", "a", "c", "a"]);
        events(&mut ks);
        ks.dirty = 0;
        assert_eq!(run(&mut ks, lset, &["LSET", "l", "-1", "z"]), b"+OK\r\n");
        assert_eq!(
            run(&mut ks, lset, &["LSET", "l", "5", "z"]),
            b"-ERR index out of range\r\n"
        );
        assert_eq!(
            run(&mut ks, lset, &["LSET", "l", "x", "z"]),
            b"-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            run(&mut ks, linsert, &["LINSERT", "l", "AFTER", "a", "n"]),
            b":6\r\n"
        );
        assert_eq!(
            run(&mut ks, linsert, &["LINSERT", "l", "before", "c", "m"]),
            b":7\r\n"
        );
        assert_eq!(
            run(&mut ks, linsert, &["LINSERT", "l", "before", "nope", "m"]),
            b":-1\r\n"
        );
        assert_eq!(
            run(&mut ks, linsert, &["LINSERT", "l", "middle", "a", "m"]),
            b"-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, linsert, &["LINSERT", "nokey", "before", "a", "m"]),
            b":0\r\n"
        );
        assert_eq!(
            range(&mut ks, "l"),
            bulks(&["a", "n", "b", "a", "m", "c", "z"])
        );
        assert_eq!(run(&mut ks, lrem, &["LREM", "l", "-1", "a"]), b":1\r\n");
        assert_eq!(range(&mut ks, "l"), bulks(&["a", "n", "b", "m", "c", "z"]));
        assert_eq!(run(&mut ks, lrem, &["LREM", "l", "0", "q"]), b":0\r\n");
        assert_eq!(
            run(&mut ks, lrem, &["LREM", "l", "x", "q"]),
            b"-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(ks.dirty, 4);
        assert_eq!(
            events(&mut ks),
            vec![
                ev("lset", "l"),
                ev("linsert", "l"),
                ev("linsert", "l"),
                ev("lrem", "l")
            ]
        );
        // LTRIM that removes nothing still raises its event and breaks WATCH, but is no change.
        ks.watch(3, 0, b"l");
        assert_eq!(run(&mut ks, ltrim, &["LTRIM", "l", "0", "-1"]), b"+OK\r\n");
        assert_eq!(ks.dirty, 4);
        assert_eq!(ks.invalidated_watchers, vec![3]);
        assert_eq!(events(&mut ks), vec![ev("ltrim", "l")]);
        assert_eq!(run(&mut ks, ltrim, &["LTRIM", "l", "1", "-2"]), b"+OK\r\n");
        assert_eq!(range(&mut ks, "l"), bulks(&["n", "b", "m", "c"]));
        assert_eq!(ks.dirty, 6);
        assert_eq!(run(&mut ks, ltrim, &["LTRIM", "l", "3", "1"]), b"+OK\r\n");
        assert!(!ks.exists(0, b"l"));
        assert_eq!(
            events(&mut ks),
            vec![ev("ltrim", "l"), ev("ltrim", "l"), ev("del", "l")]
        );
        assert_eq!(
            run(&mut ks, ltrim, &["LTRIM", "nokey", "0", "1"]),
            b"+OK\r\n"
        );
        assert_eq!(
            run(&mut ks, ltrim, &["LTRIM", "nokey", "x", "1"]),
            b"-ERR value is not an integer or out of range\r\n"
        );
        run(&mut ks, rpush, &["RPUSH", "r", "a", "a"]);
        assert_eq!(
            run(&mut ks, lrem, &["LREM", "r", "-9223372036854775808", "a"]),
            b":2\r\n"
        );
        assert!(!ks.exists(0, b"r"));
    }

    #[test]
    fn lpos_options_and_errors() {
        let mut ks = keyspace();
        run(
            &mut ks,
            rpush,
            &["RPUSH", "l", "a", "b", "c", "a", "d", "a"],
        );
        let cases: &[(&[&str], &[u8])] = &[
            (&["LPOS", "l", "a"], b":0\r\n"),
            (&["LPOS", "l", "a", "RANK", "2"], b":3\r\n"),
            (&["LPOS", "l", "a", "rank", "-1"], b":5\r\n"),
            (&["LPOS", "l", "a", "rank", "-2", "maxlen", "2"], b"$-1\r\n"),
            (&["LPOS", "l", "a", "rank", "-2", "maxlen", "3"], b":3\r\n"),
            (&["LPOS", "l", "a", "count", "0"], b"*3\r\n:0\r\n:3\r\n:5\r\n"),
            (&["LPOS", "l", "a", "count", "2", "rank", "2"], b"*2\r\n:3\r\n:5\r\n"),
            (&["LPOS", "l", "a", "count", "0", "rank", "-1"], b"*3\r\n:5\r\n:3\r\n:0\r\n"),
            (&["LPOS", "l", "a", "rank", "2", "count", "0", "maxlen", "4"], b"*1\r\n:3\r\n"),
            (&["LPOS", "l", "a", "rank", "-9223372036854775808"], b":5\r\n"),
            (&["LPOS", "l", "a", "rank", "-9223372036854775808", "count", "1"], b"*3\r\n:5\r\n:3\r\n:0\r\n"),
            (&["LPOS", "l", "a", "rank", "9223372036854775807", "count", "0"], b"*0\r\n"),
            (&["LPOS", "l", "z"], b"$-1\r\n"),
            (&["LPOS", "l", "z", "count", "1"], b"*0\r\n"),
            (&["LPOS", "nokey", "z", "count", "1"], b"*0\r\n"),
            (&["LPOS", "nokey", "z"], b"$-1\r\n"),
            (&["LPOS", "l", "a", "rank", "0"], b"-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
            (&["LPOS", "l", "a", "rank", "x"], b"-ERR value is not an integer or out of range\r\n"),
            (&["LPOS", "l", "a", "count", "x"], b"-ERR COUNT can't be negative\r\n"),
            (&["LPOS", "l", "a", "maxlen", "-1"], b"-ERR MAXLEN can't be negative\r\n"),
            (&["LPOS", "l", "a", "count"], b"-ERR syntax error\r\n"),
            (&["LPOS", "l", "a", "foo", "1"], b"-ERR syntax error\r\n"),
        ];
        for (args, want) in cases {
            assert_eq!(run(&mut ks, lpos, args), *want, "{args:?}");
        }
        assert_eq!(run3(&mut ks, lpos, &["LPOS", "l", "z"]), b"_\r\n");
    }

    #[test]
    fn lmove_and_rpoplpush_move_elements_with_redis_events() {
        let mut ks = keyspace();
        run(&mut ks, rpush, &["RPUSH", "src", "a", "b"]);
        events(&mut ks);
        ks.dirty = 0;
        let (reply, propagate, _) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            lmove,
            &["LMOVE", "src", "dst", "LEFT", "right"],
        );
        assert_eq!(reply, b"$1\r\na\r\n");
        assert_eq!(propagate, None, "LMOVE propagates as sent");
        assert_eq!(ks.dirty, 1);
        assert_eq!(
            events(&mut ks),
            vec![ev("new", "dst"), ev("rpush", "dst"), ev("lpop", "src")]
        );
        assert_eq!(
            run(&mut ks, rpoplpush, &["RPOPLPUSH", "src", "dst"]),
            b"$1\r\nb\r\n"
        );
        assert_eq!(
            events(&mut ks),
            vec![ev("lpush", "dst"), ev("rpop", "src"), ev("del", "src")]
        );
        assert_eq!(range(&mut ks, "dst"), bulks(&["b", "a"]));
        // Rotation of a one-element list keeps the key.
        run(&mut ks, rpush, &["RPUSH", "one", "x"]);
        assert_eq!(
            run(&mut ks, lmove, &["LMOVE", "one", "one", "left", "right"]),
            b"$1\r\nx\r\n"
        );
        assert_eq!(range(&mut ks, "one"), bulks(&["x"]));
        assert_eq!(
            run(&mut ks, rpoplpush, &["RPOPLPUSH", "dst", "dst"]),
            b"$1\r\na\r\n"
        );
        assert_eq!(range(&mut ks, "dst"), bulks(&["a", "b"]));
        assert_eq!(
            run(&mut ks, lmove, &["LMOVE", "dst", "x", "up", "left"]),
            b"-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, lmove, &["LMOVE", "nokey", "x", "left", "left"]),
            b"$-1\r\n"
        );
        assert_eq!(
            run3(&mut ks, lmove, &["LMOVE", "nokey", "x", "left", "left"]),
            b"_\r\n"
        );
    }

    #[test]
    fn lmpop_pops_from_the_first_non_empty_list() {
        let mut ks = keyspace();
        run(&mut ks, rpush, &["RPUSH", "b", "1", "2", "3"]);
        let (reply, propagate, _) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            lmpop,
            &["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"],
        );
        assert_eq!(
            reply,
            b"*2\r\n$1\r\nb\r\n*3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n"
        );
        assert_eq!(propagate, Some(vec![argv(&["RPOP", "b", "3"])]));
        assert!(!ks.exists(0, b"b"));
        assert_eq!(
            run(&mut ks, lmpop, &["LMPOP", "2", "a", "b", "left"]),
            b"*-1\r\n"
        );
        run(&mut ks, rpush, &["RPUSH", "a", "x", "y"]);
        let (reply, propagate, _) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            lmpop,
            &["LMPOP", "1", "a", "left"],
        );
        assert_eq!(reply, b"*2\r\n$1\r\na\r\n*1\r\n$1\r\nx\r\n");
        assert_eq!(propagate, Some(vec![argv(&["LPOP", "a", "1"])]));
        let cases: &[(&[&str], &[u8])] = &[
            (
                &["LMPOP", "0", "a", "left"],
                b"-ERR numkeys should be greater than 0\r\n",
            ),
            (
                &["LMPOP", "x", "a", "left"],
                b"-ERR numkeys should be greater than 0\r\n",
            ),
            (&["LMPOP", "2", "a", "left"], b"-ERR syntax error\r\n"),
            (
                &["LMPOP", "9223372036854775807", "a", "left"],
                b"-ERR syntax error\r\n",
            ),
            (&["LMPOP", "1", "a", "middle"], b"-ERR syntax error\r\n"),
            (
                &["LMPOP", "1", "a", "left", "count", "0"],
                b"-ERR count should be greater than 0\r\n",
            ),
            (
                &["LMPOP", "1", "a", "left", "count", "1", "count", "1"],
                b"-ERR syntax error\r\n",
            ),
            (
                &["LMPOP", "1", "a", "left", "count"],
                b"-ERR syntax error\r\n",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(run(&mut ks, lmpop, args), *want, "{args:?}");
        }
        assert_eq!(
            run3(&mut ks, lmpop, &["LMPOP", "1", "nokey", "left"]),
            b"_\r\n"
        );
    }

    #[test]
    fn blocking_pops_serve_at_once_and_propagate_plain_pops() {
        let mut ks = keyspace();
        run(&mut ks, rpush, &["RPUSH", "b", "x", "y"]);
        let (reply, propagate, block) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            blpop,
            &["BLPOP", "a", "b", "0"],
        );
        assert_eq!(reply, b"*2\r\n$1\r\nb\r\n$1\r\nx\r\n");
        assert_eq!(propagate, Some(vec![argv(&["LPOP", "b"])]));
        assert_eq!(block, None);
        let (reply, propagate, _) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            brpop,
            &["BRPOP", "b", "1.5"],
        );
        assert_eq!(reply, b"*2\r\n$1\r\nb\r\n$1\r\ny\r\n");
        assert_eq!(propagate, Some(vec![argv(&["RPOP", "b"])]));
        assert!(!ks.exists(0, b"b"));

        run(&mut ks, rpush, &["RPUSH", "s", "1", "2"]);
        let (reply, propagate, _) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            blmove,
            &["BLMOVE", "s", "d", "right", "LEFT", "0"],
        );
        assert_eq!(reply, b"$1\r\n2\r\n");
        assert_eq!(
            propagate,
            Some(vec![argv(&["LMOVE", "s", "d", "right", "LEFT"])])
        );
        let (reply, propagate, _) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            brpoplpush,
            &["BRPOPLPUSH", "s", "d", "0"],
        );
        assert_eq!(reply, b"$1\r\n1\r\n");
        assert_eq!(propagate, Some(vec![argv(&["RPOPLPUSH", "s", "d"])]));
        assert_eq!(range(&mut ks, "d"), bulks(&["1", "2"]));

        let (reply, propagate, _) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            blmpop,
            &["BLMPOP", "0", "2", "s", "d", "left", "count", "9"],
        );
        assert_eq!(reply, b"*2\r\n$1\r\nd\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
        assert_eq!(propagate, Some(vec![argv(&["LPOP", "d", "2"])]));
    }

    #[test]
    fn blocking_pops_block_on_empty_keys_or_answer_as_a_timeout() {
        let mut ks = keyspace();
        let now = ks.now_ms;
        let (reply, propagate, block) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            blpop,
            &["BLPOP", "a", "b", "0.25"],
        );
        assert!(reply.is_empty(), "a blocked client gets no reply yet");
        assert_eq!(propagate, None);
        assert_eq!(
            block,
            Some(BlockRequest {
                keys: argv(&["a", "b"]),
                deadline_ms: Some(now + 250),
                timeout_reply: TimeoutReply::NullArray,
                retry_argv: None,
            })
        );
        let (_, _, block) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            brpoplpush,
            &["BRPOPLPUSH", "s", "d", "0"],
        );
        let block = block.unwrap();
        assert_eq!(
            (block.keys, block.deadline_ms, block.timeout_reply),
            (argv(&["s"]), None, TimeoutReply::NullArray)
        );
        let (_, _, block) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            blmove,
            &["BLMOVE", "s", "d", "left", "left", "1"],
        );
        assert_eq!(block.unwrap().keys, argv(&["s"]));
        let (_, _, block) = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            blmpop,
            &["BLMPOP", "0", "2", "x", "y", "left"],
        );
        assert_eq!(block.unwrap().keys, argv(&["x", "y"]));

        // Inside MULTI or a script: the timeout reply at once (BLMOVE's is a null bulk there).
        let cases: &[(Cmd, &[&str], &[u8])] = &[
            (blpop, &["BLPOP", "a", "0"], b"*-1\r\n"),
            (brpop, &["BRPOP", "a", "0"], b"*-1\r\n"),
            (blmpop, &["BLMPOP", "0", "1", "a", "left"], b"*-1\r\n"),
            (
                blmove,
                &["BLMOVE", "a", "b", "left", "left", "0"],
                b"$-1\r\n",
            ),
            (brpoplpush, &["BRPOPLPUSH", "a", "b", "0"], b"$-1\r\n"),
        ];
        for (f, args, want) in cases {
            let (reply, _, block) = exec(&mut ks, Protocol::Resp2, false, *f, args);
            assert_eq!((reply.as_slice(), block), (*want, None), "{args:?}");
        }
        let (reply, _, _) = exec(&mut ks, Protocol::Resp3, false, blpop, &["BLPOP", "a", "0"]);
        assert_eq!(reply, b"_\r\n");

        let errors: &[(Cmd, &[&str], &[u8])] = &[
            (
                blpop,
                &["BLPOP", "a", "-1"],
                b"-ERR timeout is negative\r\n",
            ),
            (
                blpop,
                &["BLPOP", "a", "x"],
                b"-ERR timeout is not a float or out of range\r\n",
            ),
            (
                blmpop,
                &["BLMPOP", "x", "0", "a", "left"],
                b"-ERR numkeys should be greater than 0\r\n",
            ),
            (
                blmpop,
                &["BLMPOP", "x", "1", "a", "middle"],
                b"-ERR syntax error\r\n",
            ),
            (
                blmpop,
                &["BLMPOP", "x", "1", "a", "left"],
                b"-ERR timeout is not a float or out of range\r\n",
            ),
            (
                blmove,
                &["BLMOVE", "a", "b", "up", "left", "x"],
                b"-ERR syntax error\r\n",
            ),
            (
                blmove,
                &["BLMOVE", "a", "b", "left", "left", "x"],
                b"-ERR timeout is not a float or out of range\r\n",
            ),
        ];
        for (f, args, want) in errors {
            let (reply, _, block) = exec(&mut ks, Protocol::Resp2, true, *f, args);
            assert_eq!((reply.as_slice(), block), (*want, None), "{args:?}");
        }
    }

    #[test]
    fn a_push_that_creates_a_blocked_on_key_signals_it_ready() {
        let mut ks = keyspace();
        ks.blocking_keys
            .insert((0, crate::keyspace::Key::from(&b"q"[..])));
        run(&mut ks, rpush, &["RPUSH", "q", "a"]);
        assert_eq!(ks.ready_keys, vec![(0, Bytes::from_static(b"q"))]);
        ks.ready_keys.clear();
        run(&mut ks, lmove, &["LMOVE", "q", "q", "left", "left"]);
        assert!(
            ks.ready_keys.is_empty(),
            "existing lists are not signalled, as in Redis 7.0"
        );
    }

    #[test]
    fn lrange_of_many_nodes_and_integer_elements() {
        let mut ks = keyspace();
        ks.limits.list_max_listpack_size = 4;
        let items: Vec<String> = (0..100)
            .map(|i| {
                if i % 2 == 0 {
                    i.to_string()
                } else {
                    format!("e{i}")
                }
            })
            .collect();
        let mut args = vec!["RPUSH", "l"];
        args.extend(items.iter().map(|s| s.as_str()));
        run(&mut ks, rpush, &args);
        let want: Vec<&str> = items[37..=80].iter().map(|s| s.as_str()).collect();
        assert_eq!(
            run(&mut ks, lrange, &["LRANGE", "l", "37", "80"]),
            bulks(&want)
        );
        let want: Vec<&str> = items[90..].iter().rev().map(|s| s.as_str()).collect();
        assert_eq!(run(&mut ks, rpop, &["RPOP", "l", "10"]), bulks(&want));
    }

    /// Differential check against a real Redis 7.0 (`REDOUBT_TEST_REDIS=127.0.0.1:PORT cargo
    /// test -p store -- --ignored lists_match_real_redis`): random list commands run on both,
    /// and every reply and every node's listpack bytes (read back with DUMP) must be identical.
    #[test]
    #[ignore]
    fn lists_match_real_redis() {
        use std::io::{Read, Write};
        let Ok(addr) = std::env::var("REDOUBT_TEST_REDIS") else {
            eprintln!("REDOUBT_TEST_REDIS not set; skipping");
            return;
        };
        let mut conn = std::net::TcpStream::connect(addr).expect("connect to redis");
        let mut pending: Vec<u8> = Vec::new();
        let mut call = |args: &[Vec<u8>]| -> Vec<u8> {
            conn.write_all(&resp::encode_command(args)).unwrap();
            loop {
                if let Ok(Some((_, used))) = resp::parse_frame(&pending) {
                    return pending.drain(..used).collect();
                }
                let mut buf = [0u8; 65536];
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "redis closed the connection");
                pending.extend_from_slice(&buf[..n]);
            }
        };
        let to_args = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        call(&to_args(&["FLUSHALL"]));
        call(&to_args(&["CONFIG", "SET", "rdbcompression", "no"]));

        /// Reads an RDB length; returns (value, next position).
        fn rdb_len(d: &[u8], p: usize) -> (usize, usize) {
            match d[p] >> 6 {
                0 => ((d[p] & 0x3F) as usize, p + 1),
                1 => ((((d[p] & 0x3F) as usize) << 8) | d[p + 1] as usize, p + 2),
                _ if d[p] == 0x80 => (
                    u32::from_be_bytes(d[p + 1..p + 5].try_into().unwrap()) as usize,
                    p + 5,
                ),
                _ => panic!("unexpected RDB length encoding {:#x}", d[p]),
            }
        }
        /// The listpacks of a DUMP of a quicklist.
        fn dumped_nodes(frame: &[u8]) -> Vec<Vec<u8>> {
            let Ok(Some((resp::Frame::Bulk(payload), _))) = resp::parse_frame(frame) else {
                return Vec::new();
            };
            assert_eq!(payload[0], 18, "QUICKLIST_2 object");
            let (n, mut p) = rdb_len(&payload, 1);
            let mut nodes = Vec::new();
            for _ in 0..n {
                let (container, q) = rdb_len(&payload, p);
                assert_eq!(container, 2, "packed node");
                let (len, q) = rdb_len(&payload, q);
                nodes.push(payload[q..q + len].to_vec());
                p = q + len;
            }
            nodes
        }

        let seeds: Vec<u64> = match std::env::var("REDOUBT_TEST_SEED") {
            Ok(s) => vec![s.parse().unwrap()],
            Err(_) => (1..=std::env::var("REDOUBT_TEST_SEEDS").map_or(40, |n| n.parse().unwrap()))
                .collect(),
        };
        for seed in seeds {
            let mut ks = keyspace();
            call(&to_args(&["FLUSHALL"]));
            call(&to_args(&["CONFIG", "SET", "list-max-listpack-size", "-2"]));
            let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = move |n: u64| -> u64 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n.max(1)
            };
            let fills = ["-1", "-2", "1", "2", "3", "5", "16", "128", "0"];
            for step in 0..600 {
                let element = |next: &mut dyn FnMut(u64) -> u64| -> String {
                    match next(10) {
                        0..=2 => next(40).to_string(),
                        3 => format!("-{}", next(5000)),
                        4 => (next(1 << 40) as i64 - (1 << 39)).to_string(),
                        5 => "007".to_string(),
                        6 | 7 => format!("e{}", next(20)),
                        8 => "m".repeat(40 + next(300) as usize),
                        _ => {
                            if next(8) == 0 {
                                "L".repeat(3000 + next(3000) as usize)
                            } else {
                                format!("{}{}", "s".repeat(next(30) as usize), next(10))
                            }
                        }
                    }
                };
                let key = if next(2) == 0 { "k0" } else { "k1" };
                let end =
                    |next: &mut dyn FnMut(u64) -> u64| if next(2) == 0 { "left" } else { "right" };
                let idx = |next: &mut dyn FnMut(u64) -> u64| (next(40) as i64 - 20).to_string();
                let pivot =
                    |ks: &mut Keyspace, next: &mut dyn FnMut(u64) -> u64, key: &str| -> String {
                        match ks.peek(0, key.as_bytes()) {
                            Some(Value::List(l)) if next(4) != 0 => {
                                let i = next(l.len() as u64) as usize;
                                String::from_utf8(l.get(i).unwrap().to_vec()).unwrap()
                            }
                            _ => "e1".to_string(),
                        }
                    };
                let mut cmd: Vec<String> = match next(15) {
                    0..=2 => {
                        let mut v = vec![
                            if next(2) == 0 { "RPUSH" } else { "LPUSH" }.to_string(),
                            key.to_string(),
                        ];
                        for _ in 0..1 + next(6) {
                            v.push(element(&mut next));
                        }
                        v
                    }
                    3 => {
                        let mut v = vec![
                            if next(2) == 0 { "LPOP" } else { "RPOP" }.to_string(),
                            key.to_string(),
                        ];
                        if next(2) == 0 {
                            v.push(next(6).to_string());
                        }
                        v
                    }
                    4..=6 => {
                        let p = pivot(&mut ks, &mut next, key);
                        let w = if next(2) == 0 { "BEFORE" } else { "AFTER" };
                        vec![
                            "LINSERT".into(),
                            key.into(),
                            w.into(),
                            p,
                            element(&mut next),
                        ]
                    }
                    7 => vec![
                        "LSET".into(),
                        key.into(),
                        idx(&mut next),
                        element(&mut next),
                    ],
                    8 => {
                        let p = pivot(&mut ks, &mut next, key);
                        vec![
                            "LREM".into(),
                            key.into(),
                            (next(5) as i64 - 2).to_string(),
                            p,
                        ]
                    }
                    9 => vec!["LTRIM".into(), key.into(), idx(&mut next), idx(&mut next)],
                    10 => vec![
                        "LMOVE".into(),
                        "k0".into(),
                        key.into(),
                        end(&mut next).into(),
                        end(&mut next).into(),
                    ],
                    11 => vec!["LRANGE".into(), key.into(), idx(&mut next), idx(&mut next)],
                    12 => {
                        let p = pivot(&mut ks, &mut next, key);
                        let mut v = vec!["LPOS".into(), key.into(), p];
                        if next(2) == 0 {
                            v.extend(["RANK".into(), (next(5) as i64 - 2).to_string()]);
                        }
                        if next(2) == 0 {
                            v.extend(["COUNT".into(), next(3).to_string()]);
                        }
                        if next(3) == 0 {
                            v.extend(["MAXLEN".into(), next(10).to_string()]);
                        }
                        v
                    }
                    13 => vec![
                        "LMPOP".into(),
                        "2".into(),
                        "k1".into(),
                        "k0".into(),
                        end(&mut next).into(),
                        "COUNT".into(),
                        (1 + next(4)).to_string(),
                    ],
                    _ => {
                        let fill = fills[next(fills.len() as u64) as usize];
                        ks.limits.list_max_listpack_size = fill.parse().unwrap();
                        vec![
                            "CONFIG".into(),
                            "SET".into(),
                            "list-max-listpack-size".into(),
                            fill.into(),
                        ]
                    }
                };
                let theirs = call(
                    &cmd.iter()
                        .map(|s| s.as_bytes().to_vec())
                        .collect::<Vec<_>>(),
                );
                if std::env::var("REDOUBT_TEST_VERBOSE").is_ok() {
                    eprintln!(
                        "{step}: {:?}",
                        cmd.iter()
                            .map(|a| if a.len() > 40 {
                                format!("<{} bytes>", a.len())
                            } else {
                                a.clone()
                            })
                            .collect::<Vec<_>>()
                    );
                }
                if cmd[0] == "CONFIG" {
                    continue;
                }
                let f: Cmd = match cmd[0].as_str() {
                    "RPUSH" => rpush,
                    "LPUSH" => lpush,
                    "LPOP" => lpop,
                    "RPOP" => rpop,
                    "LINSERT" => linsert,
                    "LSET" => lset,
                    "LREM" => lrem,
                    "LTRIM" => ltrim,
                    "LMOVE" => lmove,
                    "LRANGE" => lrange,
                    "LPOS" => lpos,
                    _ => lmpop,
                };
                let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
                let ours = run(&mut ks, f, &args);
                let short = |c: &mut Vec<String>| {
                    for a in c.iter_mut() {
                        if a.len() > 40 {
                            *a = format!("{}..({} bytes)", &a[..8], a.len());
                        }
                    }
                    c.clone()
                };
                assert_eq!(
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&theirs),
                    "seed {seed} step {step}: {:?}",
                    short(&mut cmd)
                );
                for k in ["k0", "k1"] {
                    let want = dumped_nodes(&call(&to_args(&["DUMP", k])));
                    let got: Vec<Vec<u8>> = match ks.peek(0, k.as_bytes()) {
                        Some(Value::List(l)) => l.listpacks().map(|n| n.to_vec()).collect(),
                        _ => Vec::new(),
                    };
                    let shape = |nodes: &[Vec<u8>]| {
                        nodes
                            .iter()
                            .map(|n| (n.len(), u16::from_le_bytes([n[4], n[5]])))
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(
                        shape(&got),
                        shape(&want),
                        "seed {seed} step {step}: {:?} layout of {k}",
                        short(&mut cmd)
                    );
                    assert!(
                        got == want,
                        "seed {seed} step {step}: listpack bytes of {k} differ"
                    );
                }
            }
        }
        call(&to_args(&["CONFIG", "SET", "list-max-listpack-size", "-2"]));
    }
}

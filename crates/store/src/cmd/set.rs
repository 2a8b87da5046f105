//! Set commands: membership, random picks and pops, moves, the algebra (SINTER, SUNION, SDIFF
//! and their STORE forms, SINTERCARD) and SSCAN.

use super::hash::{parse_scan_options, reply_empty_scan, reply_scan, Rng, COUNT_RANGE};
use super::keys::parse_cursor;
use super::{Ctx, NOT_INT};
use crate::glob::glob_match;
use crate::keyspace::{notify, Keyspace, WRONGTYPE};
use crate::num::parse_i64;
use crate::types::set::{Member, Set};
use crate::types::EncodingLimits;
use crate::value::Value;
use bytes::Bytes;
use resp::Out;
use std::borrow::Cow;

/// SPOP switches from "pop one at a time" to "keep the few that remain" when fewer than
/// count/5 members would remain (Redis's `SPOP_MOVE_STRATEGY_MUL`).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// What a read lookup of a set found.
enum Found<'k> {
    Missing,
    Set(&'k Set),
    WrongType,
}

/// Read lookup (counting hits and misses) of the set at `key`.
fn lookup_read<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8]) -> Found<'k> {
    match ks.get(db, key) {
        None => Found::Missing,
        Some(Value::Set(s)) => Found::Set(s),
        Some(_) => Found::WrongType,
    }
}

/// Write lookup of the set at `key`: Ok(None) when missing, Err after replying WRONGTYPE.
fn lookup_write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k mut Set>, ()> {
    match ctx.ks.get_mut(ctx.db, key) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => {
            ctx.out.error(WRONGTYPE);
            Err(())
        }
    }
}

/// The set at `key` for writing, after a lookup that found it.
fn set_mut<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8]) -> &'k mut Set {
    match ks.get_mut(db, key) {
        Some(Value::Set(s)) => s,
        _ => unreachable!("set looked up before"),
    }
}

/// Writes one member as a bulk string.
fn reply_member(out: &mut Out, m: &Member<'_>) {
    match m {
        Member::Int(n) => out.bulk_int(*n),
        Member::Str(s) => out.bulk(s),
    }
}

/// SADD key member [member ...]
pub fn sadd(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    let limits = ctx.ks.limits;
    let argv = ctx.argv;
    let Ok(found) = lookup_write(ctx, key) else {
        return;
    };
    if found.is_none() {
        // The first member decides the encoding (Redis's setTypeCreate).
        ctx.ks.set(
            ctx.db,
            key,
            Value::Set(Box::new(Set::for_member(&argv[2]))),
            false,
        );
    }
    let set = set_mut(ctx.ks, ctx.db, key);
    let mut added = 0;
    for m in &argv[2..] {
        if set.add(m, &limits) {
            added += 1;
        }
    }
    if added > 0 {
        ctx.ks.changed_n(ctx.db, key, notify::SET, "sadd", added);
    }
    ctx.out.int(added as i64);
}

/// SREM key member [member ...]
pub fn srem(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    let argv = ctx.argv;
    let Ok(found) = lookup_write(ctx, key) else {
        return;
    };
    let Some(set) = found else {
        return ctx.out.int(0);
    };
    let mut removed = 0;
    let mut emptied = false;
    for m in &argv[2..] {
        if set.remove(m) {
            removed += 1;
            if set.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if removed > 0 {
        ctx.ks.changed_n(ctx.db, key, notify::SET, "srem", removed);
        if emptied {
            ctx.ks.delete_emptied(ctx.db, key);
        }
    }
    ctx.out.int(removed as i64);
}

/// SCARD key
pub fn scard(ctx: &mut Ctx) {
    match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => ctx.out.int(0),
        Found::Set(s) => ctx.out.int(s.len() as i64),
        Found::WrongType => ctx.wrongtype(),
    }
}

/// SISMEMBER key member
pub fn sismember(ctx: &mut Ctx) {
    match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => ctx.out.int(0),
        Found::Set(s) => ctx.out.int(i64::from(s.contains(&ctx.argv[2]))),
        Found::WrongType => ctx.wrongtype(),
    }
}

/// SMISMEMBER key member [member ...]
pub fn smismember(ctx: &mut Ctx) {
    let set = match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => None,
        Found::Set(s) => Some(s),
        Found::WrongType => return ctx.wrongtype(),
    };
    ctx.out.array(ctx.argv.len() - 2);
    for m in &ctx.argv[2..] {
        ctx.out.int(i64::from(set.is_some_and(|s| s.contains(m))));
    }
}

/// SMEMBERS key: a set reply in RESP3 (Redis runs it as a one-key SINTER).
pub fn smembers(ctx: &mut Ctx) {
    sinter_generic(ctx, 1, ctx.argv.len(), None, None);
}

/// SMOVE source destination member
pub fn smove(ctx: &mut Ctx) {
    let (src, dst, member) = (ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let db = ctx.db;
    // Both keys are looked up (and lazily expired) before anything is decided.
    let src_kind = ctx.ks.get_mut(db, src).map(|v| matches!(v, Value::Set(_)));
    let dst_kind = ctx.ks.get_mut(db, dst).map(|v| matches!(v, Value::Set(_)));
    let Some(src_is_set) = src_kind else {
        return ctx.out.int(0);
    };
    if !src_is_set || dst_kind == Some(false) {
        return ctx.wrongtype();
    }
    if src == dst {
        let has = set_mut(ctx.ks, db, src).contains(member);
        return ctx.out.int(i64::from(has));
    }
    let set = set_mut(ctx.ks, db, src);
    if !set.remove(member) {
        return ctx.out.int(0);
    }
    let emptied = set.is_empty();
    ctx.ks.changed(db, src, notify::SET, "srem");
    if emptied {
        ctx.ks.remove(db, src);
        ctx.ks.notify(notify::GENERIC, "del", db, src);
    }
    if dst_kind.is_none() {
        ctx.ks.set(
            db,
            dst,
            Value::Set(Box::new(Set::for_member(member))),
            false,
        );
    }
    let limits = ctx.ks.limits;
    if set_mut(ctx.ks, db, dst).add(member, &limits) {
        ctx.ks.changed(db, dst, notify::SET, "sadd");
    }
    ctx.out.int(1);
}

/// SPOP key [count]: propagated as SREM of each popped member, or DEL when it takes them all.
pub fn spop(ctx: &mut Ctx) {
    match ctx.argv.len() {
        2 => {}
        3 => return spop_with_count(ctx),
        _ => return ctx.syntax_error(),
    }
    let key = ctx.arg(1);
    let mut rng = Rng::from_keyspace(ctx.ks);
    let Ok(found) = lookup_write(ctx, key) else {
        return;
    };
    let Some(set) = found else {
        return ctx.out.null();
    };
    let popped = set
        .random_member(rng.next_u64())
        .expect("sets are never empty")
        .to_boxed();
    set.remove(&popped);
    let emptied = set.is_empty();
    ctx.out.bulk(&popped);
    ctx.ks.changed(ctx.db, key, notify::SET, "spop");
    if emptied {
        ctx.ks.remove(ctx.db, key);
        ctx.ks.notify(notify::GENERIC, "del", ctx.db, key);
    }
    ctx.propagate_as(vec![
        Bytes::from_static(b"SREM"),
        ctx.argv[1].clone(),
        Bytes::from(popped.into_vec()),
    ]);
}

fn spop_with_count(ctx: &mut Ctx) {
    // Redis gives the same reply for a count that is not an integer and for a negative one.
    let Some(count) = parse_i64(ctx.arg(2)).filter(|&n| n >= 0) else {
        return ctx.out.error("ERR value is out of range, must be positive");
    };
    let count = count as u64;
    let key = ctx.arg(1);
    let db = ctx.db;
    let limits = ctx.ks.limits;
    let mut rng = Rng::from_keyspace(ctx.ks);
    let Ok(found) = lookup_write(ctx, key) else {
        return;
    };
    let Some(set) = found else {
        return ctx.out.set(0);
    };
    if count == 0 {
        return ctx.out.set(0);
    }
    let size = set.len();
    // Redis counts the whole requested count as changes, whatever it pops.
    ctx.ks.changed_n(
        db,
        key,
        notify::SET,
        "spop",
        usize::try_from(count).unwrap_or(usize::MAX),
    );

    if count >= size as u64 {
        // Everything goes: reply as SUNION of the one set would, then drop the key.
        let all = union_of(&[Some(set_mut(ctx.ks, db, key) as &Set)], &limits);
        reply_set(ctx.out, &all);
        ctx.ks.remove(db, key);
        ctx.ks.notify(notify::GENERIC, "del", db, key);
        ctx.propagate_as(vec![Bytes::from_static(b"DEL"), ctx.argv[1].clone()]);
        return;
    }

    let count = count as usize;
    let remaining = size - count;
    let set = set_mut(ctx.ks, db, key);
    let mut popped: Vec<Box<[u8]>> = Vec::with_capacity(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // Few to pop: take them one at a time.
        ctx.out.set(count);
        for _ in 0..count {
            let m = set
                .random_member(rng.next_u64())
                .expect("not empty")
                .to_boxed();
            set.remove(&m);
            ctx.out.bulk(&m);
            popped.push(m);
        }
    } else {
        // Most go: move the few that stay into a new set, and pop what is left of the old one.
        let mut kept: Option<Set> = None;
        for _ in 0..remaining {
            let m = set
                .random_member(rng.next_u64())
                .expect("not empty")
                .to_boxed();
            let keep = kept.get_or_insert_with(|| Set::for_member(&m));
            keep.add(&m, &limits);
            set.remove(&m);
        }
        ctx.out.set(count);
        for m in set.iter() {
            reply_member(ctx.out, &m);
            popped.push(m.to_boxed());
        }
        // The new set replaces the old value (its TTL stays), possibly in another encoding.
        *set = kept.expect("something remains");
    }
    let srem = Bytes::from_static(b"SREM");
    ctx.propagate = Some(
        popped
            .into_iter()
            .map(|m| vec![srem.clone(), ctx.argv[1].clone(), Bytes::from(m.into_vec())])
            .collect(),
    );
}

/// SRANDMEMBER key [count]
pub fn srandmember(ctx: &mut Ctx) {
    match ctx.argv.len() {
        2 => {}
        3 => return srandmember_with_count(ctx),
        _ => return ctx.syntax_error(),
    }
    let mut rng = Rng::from_keyspace(ctx.ks);
    match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => ctx.out.null(),
        Found::Set(s) => match s.random_member(rng.next_u64()) {
            Some(m) => reply_member(ctx.out, &m),
            None => ctx.out.null(),
        },
        Found::WrongType => ctx.wrongtype(),
    }
}

fn srandmember_with_count(ctx: &mut Ctx) {
    let Some(count) = parse_i64(ctx.arg(2)) else {
        return ctx.out.error(NOT_INT);
    };
    if count == i64::MIN {
        return ctx.out.error(COUNT_RANGE);
    }
    let mut rng = Rng::from_keyspace(ctx.ks);
    let set = match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => return ctx.out.array(0),
        Found::Set(s) => s,
        Found::WrongType => return ctx.wrongtype(),
    };
    let unique = count >= 0;
    let n = count.unsigned_abs() as usize;
    if n == 0 {
        return ctx.out.array(0);
    }
    // Negative count: independent picks, repeats allowed (and a single pick is the same thing).
    if !unique || n == 1 {
        ctx.out.array(n);
        for _ in 0..n {
            let m = set.random_member(rng.next_u64()).expect("not empty");
            reply_member(ctx.out, &m);
        }
        return;
    }
    let size = set.len();
    // Asking for at least the whole set returns it whole, in its own order.
    if n >= size {
        ctx.out.array(size);
        for m in set.iter() {
            reply_member(ctx.out, &m);
        }
        return;
    }
    ctx.out.array(n);
    if n * 3 > size || matches!(set, Set::Intset(_)) {
        // A large share (or an intset): shuffle the first `n` of all members into place.
        let mut all: Vec<Member<'_>> = set.iter().collect();
        for i in 0..n {
            let j = i + rng.below(size - i);
            all.swap(i, j);
        }
        for m in &all[..n] {
            reply_member(ctx.out, m);
        }
    } else {
        // A small share of a big table: draw until `n` distinct members came up.
        let mut seen: std::collections::HashSet<Member<'_>> =
            std::collections::HashSet::with_capacity(n);
        let mut picks = Vec::with_capacity(n);
        while picks.len() < n {
            let m = set.random_member(rng.next_u64()).expect("not empty");
            if seen.insert(m) {
                picks.push(m);
            }
        }
        for m in &picks {
            reply_member(ctx.out, m);
        }
    }
}

/// Looks up every key of `keys` as Redis's set algebra does (read lookups, counting hits and
/// misses); None after replying WRONGTYPE, else which keys exist.
fn lookup_sets(ctx: &mut Ctx, keys: &[Bytes]) -> Option<Vec<bool>> {
    let mut present = Vec::with_capacity(keys.len());
    for key in keys {
        match lookup_read(ctx.ks, ctx.db, key) {
            Found::Missing => present.push(false),
            Found::Set(_) => present.push(true),
            Found::WrongType => {
                ctx.wrongtype();
                return None;
            }
        }
    }
    Some(present)
}

/// The sets of `keys` that `lookup_sets` found (None for missing keys), borrowed together.
fn borrow_sets<'k>(
    ks: &'k Keyspace,
    db: usize,
    keys: &[Bytes],
    present: &[bool],
) -> Vec<Option<&'k Set>> {
    keys.iter()
        .zip(present)
        .map(|(key, &here)| {
            if !here {
                return None;
            }
            match ks.dbs[db].data.get(&key[..]).map(|e| &e.value) {
                Some(Value::Set(s)) => Some(&**s),
                _ => unreachable!("set looked up before"),
            }
        })
        .collect()
}

/// Writes a set as a set reply (`~` in RESP3), in its iteration order.
fn reply_set(out: &mut Out, set: &Set) {
    out.set(set.len());
    for m in set.iter() {
        reply_member(out, &m);
    }
}

/// Stores `result` at `dst` as the STORE commands do (an empty result deletes `dst`) and
/// replies with its size.
fn store_result(ctx: &mut Ctx, dst: &[u8], result: Set, event: &'static str) {
    let db = ctx.db;
    let n = result.len();
    if n > 0 {
        ctx.ks.set(db, dst, Value::Set(Box::new(result)), false);
        ctx.ks.changed(db, dst, notify::SET, event);
    } else if ctx.ks.remove_entry(db, dst).is_some() {
        // Like Redis's dbDelete, even a key past its deadline counts as deleted here.
        ctx.ks.changed(db, dst, notify::GENERIC, "del");
    }
    ctx.out.int(n as i64);
}

/// The intersection of the sets named by `argv[first..end]`: replied, counted (up to `limit`,
/// 0 for no limit) or stored at `dst`.
fn sinter_generic(
    ctx: &mut Ctx,
    first: usize,
    end: usize,
    dst: Option<&[u8]>,
    card_limit: Option<usize>,
) {
    let keys = &ctx.argv[first..end];
    let Some(present) = lookup_sets(ctx, keys) else {
        return;
    };
    let limits = ctx.ks.limits;
    if present.contains(&false) {
        // Intersecting with an empty set is empty.
        return match (dst, card_limit) {
            (Some(dst), _) => store_result(ctx, dst, Set::new_intset(), "sinterstore"),
            (None, Some(_)) => ctx.out.int(0),
            (None, None) => ctx.out.set(0),
        };
    }
    let mut sets: Vec<(&[u8], &Set)> = {
        let borrowed = borrow_sets(ctx.ks, ctx.db, keys, &present);
        keys.iter()
            .map(|k| &k[..])
            .zip(borrowed.into_iter().map(|s| s.expect("present")))
            .collect()
    };
    // Walk the smallest set (stable, as glibc's merge-sort qsort) and probe the others.
    sets.sort_by_key(|(_, s)| s.len());
    let (first_key, smallest) = sets[0];
    let mut found: Vec<Member<'_>> = Vec::new();
    for m in smallest.iter() {
        let in_all = sets[1..]
            .iter()
            .all(|&(k, s)| k == first_key || s.contains_member(&m));
        if in_all {
            found.push(m);
            if card_limit.is_some_and(|l| l > 0 && found.len() >= l) {
                break;
            }
        }
    }
    match (dst, card_limit) {
        (None, Some(_)) => ctx.out.int(found.len() as i64),
        (None, None) => {
            ctx.out.set(found.len());
            for m in &found {
                reply_member(ctx.out, m);
            }
        }
        (Some(dst), _) => {
            let mut result = Set::new_intset();
            for m in &found {
                result.add_member(m, &limits);
            }
            store_result(ctx, dst, result, "sinterstore");
        }
    }
}

/// The union of `sets` (None = missing key) built as Redis does, into a set that starts as an
/// intset: its encoding, and so the reply order, follow from the members.
fn union_of(sets: &[Option<&Set>], limits: &EncodingLimits) -> Set {
    let mut result = Set::new_intset();
    for s in sets.iter().flatten() {
        for m in s.iter() {
            result.add_member(&m, limits);
        }
    }
    result
}

/// The difference of `sets[0]` minus the others, choosing between Redis's two algorithms by
/// the same estimate of work.
fn diff_of(keys: &[Bytes], sets: &[Option<&Set>], limits: &EncodingLimits) -> Set {
    let mut result = Set::new_intset();
    let Some(first) = sets[0] else { return result };
    // The same key given again subtracts everything.
    if keys[1..].iter().any(|k| *k == keys[0]) {
        return result;
    }
    let others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
    let present = 1 + others.len();
    let one_work = first.len() * present / 2;
    let two_work: usize = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
    if one_work <= two_work {
        // Keep each member of the first set that no other set has, probing the biggest first.
        let mut others = others;
        others.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for m in first.iter() {
            if !others.iter().any(|s| s.contains_member(&m)) {
                result.add_member(&m, limits);
            }
        }
    } else {
        // Copy the first set, then remove every member of the others.
        for m in first.iter() {
            result.add_member(&m, limits);
        }
        'outer: for s in &others {
            for m in s.iter() {
                result.remove_member(&m);
                if result.is_empty() {
                    break 'outer;
                }
            }
        }
    }
    result
}

/// Whether `sunion_diff` computes a union or a difference.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

fn sunion_diff(ctx: &mut Ctx, first: usize, dst: Option<&[u8]>, op: SetOp) {
    let keys = &ctx.argv[first..];
    let Some(present) = lookup_sets(ctx, keys) else {
        return;
    };
    let limits = ctx.ks.limits;
    let result = {
        let sets = borrow_sets(ctx.ks, ctx.db, keys, &present);
        match op {
            SetOp::Union => union_of(&sets, &limits),
            SetOp::Diff => diff_of(keys, &sets, &limits),
        }
    };
    match dst {
        None => reply_set(ctx.out, &result),
        Some(dst) => {
            let event = if op == SetOp::Union {
                "sunionstore"
            } else {
                "sdiffstore"
            };
            store_result(ctx, dst, result, event);
        }
    }
}

/// SINTER key [key ...]
pub fn sinter(ctx: &mut Ctx) {
    sinter_generic(ctx, 1, ctx.argv.len(), None, None);
}

/// SINTERSTORE destination key [key ...]
pub fn sinterstore(ctx: &mut Ctx) {
    let dst = ctx.arg(1);
    sinter_generic(ctx, 2, ctx.argv.len(), Some(dst), None);
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn sintercard(ctx: &mut Ctx) {
    let argc = ctx.argv.len();
    let numkeys = match parse_i64(ctx.arg(1)) {
        Some(n) if n >= 1 => n as u64,
        _ => return ctx.out.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > (argc - 2) as u64 {
        return ctx
            .out
            .error("ERR Number of keys can't be greater than number of args");
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0usize;
    let mut j = end;
    while j < argc {
        if super::eq_ic(ctx.arg(j), "limit") && j + 1 < argc {
            match parse_i64(ctx.arg(j + 1)) {
                Some(l) if l >= 0 => limit = usize::try_from(l).unwrap_or(usize::MAX),
                _ => return ctx.out.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.syntax_error();
        }
    }
    sinter_generic(ctx, 2, end, None, Some(limit));
}

/// SUNION key [key ...]
pub fn sunion(ctx: &mut Ctx) {
    sunion_diff(ctx, 1, None, SetOp::Union);
}

/// SUNIONSTORE destination key [key ...]
pub fn sunionstore(ctx: &mut Ctx) {
    let dst = ctx.arg(1);
    sunion_diff(ctx, 2, Some(dst), SetOp::Union);
}

/// SDIFF key [key ...]
pub fn sdiff(ctx: &mut Ctx) {
    sunion_diff(ctx, 1, None, SetOp::Diff);
}

/// SDIFFSTORE destination key [key ...]
pub fn sdiffstore(ctx: &mut Ctx) {
    let dst = ctx.arg(1);
    sunion_diff(ctx, 2, Some(dst), SetOp::Diff);
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
pub fn sscan(ctx: &mut Ctx) {
    let Some(mut cursor) = parse_cursor(ctx.arg(2)) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let set = match lookup_read(ctx.ks, ctx.db, ctx.argv[1].as_ref()) {
        Found::Missing => return reply_empty_scan(ctx.out),
        Found::Set(s) => s,
        Found::WrongType => return ctx.wrongtype(),
    };
    let opts = match parse_scan_options(ctx.argv, 3) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let mut items: Vec<Cow<'_, [u8]>> = Vec::new();
    if let Set::Table(_) = set {
        // Bounded to 10*COUNT buckets so a sparse table cannot make one call long.
        let mut budget = opts.count.saturating_mul(10);
        loop {
            cursor = set.scan(cursor, |m| {
                if let Member::Str(s) = m {
                    items.push(Cow::Borrowed(s));
                }
            });
            if cursor == 0 || budget == 0 {
                break;
            }
            budget -= 1;
            if items.len() >= opts.count {
                break;
            }
        }
    } else {
        cursor = set.scan(cursor, |m| {
            items.push(Cow::Owned(m.to_bytes().into_owned()))
        });
    }
    if let Some(p) = opts.pattern {
        items.retain(|m| glob_match(p, m, false));
    }
    reply_scan(ctx.out, cursor, &items);
}

#[cfg(test)]
mod tests {
    use super::*;
    use resp::{Frame, Protocol};
    use std::collections::BTreeSet;

    type Propagated = Option<Vec<Vec<Bytes>>>;

    fn run_proto(
        ks: &mut Keyspace,
        f: fn(&mut Ctx),
        args: &[&str],
        proto: Protocol,
    ) -> (Vec<u8>, Propagated) {
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

    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> String {
        String::from_utf8_lossy(&run_proto(ks, f, args, Protocol::Resp2).0).into_owned()
    }

    fn encoding(ks: &Keyspace, key: &str) -> &'static str {
        ks.entry(0, key.as_bytes())
            .map_or("none", |e| e.value.encoding())
    }

    /// The bulk strings of an array or set reply, sorted.
    fn members(reply: &[u8]) -> Vec<String> {
        let (frame, used) = resp::parse_frame(reply).unwrap().unwrap();
        assert_eq!(used, reply.len());
        let (Frame::Array(items) | Frame::Set(items)) = frame else {
            panic!("{frame:?}")
        };
        let mut v: Vec<String> = items
            .into_iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8(b).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        v.sort();
        v
    }

    fn strs(v: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    fn cmd(args: &[&str]) -> Vec<Bytes> {
        args.iter().map(|a| Bytes::from(a.to_string())).collect()
    }

    /// A command and its arguments.
    type Case<'a> = (fn(&mut Ctx), &'a [&'a str]);

    const WRONG: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn sadd_srem_membership() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        assert_eq!(
            run(&mut ks, sadd, &["SADD", "s", "1", "2", "2", "3"]),
            ":3\r\n"
        );
        assert_eq!(encoding(&ks, "s"), "intset");
        assert_eq!(ks.dirty, 3);
        assert_eq!(run(&mut ks, sadd, &["SADD", "s", "1"]), ":0\r\n");
        assert_eq!(ks.dirty, 3);
        assert_eq!(run(&mut ks, scard, &["SCARD", "s"]), ":3\r\n");
        assert_eq!(run(&mut ks, scard, &["SCARD", "nokey"]), ":0\r\n");
        assert_eq!(run(&mut ks, sismember, &["SISMEMBER", "s", "2"]), ":1\r\n");
        assert_eq!(run(&mut ks, sismember, &["SISMEMBER", "s", "02"]), ":0\r\n");
        assert_eq!(
            run(&mut ks, sismember, &["SISMEMBER", "nokey", "2"]),
            ":0\r\n"
        );
        assert_eq!(
            run(&mut ks, smismember, &["SMISMEMBER", "s", "1", "x", "3"]),
            "*3\r\n:1\r\n:0\r\n:1\r\n"
        );
        assert_eq!(
            run(&mut ks, smismember, &["SMISMEMBER", "nokey", "1"]),
            "*1\r\n:0\r\n"
        );
        assert_eq!(
            run(&mut ks, smembers, &["SMEMBERS", "s"]),
            "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            String::from_utf8(run_proto(&mut ks, smembers, &["SMEMBERS", "s"], Protocol::Resp3).0)
                .unwrap(),
            "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            String::from_utf8(
                run_proto(&mut ks, smembers, &["SMEMBERS", "nokey"], Protocol::Resp3).0
            )
            .unwrap(),
            "~0\r\n"
        );
        assert_eq!(run(&mut ks, sadd, &["SADD", "s", "a"]), ":1\r\n");
        assert_eq!(encoding(&ks, "s"), "hashtable");
        ks.notifications.clear();
        assert_eq!(run(&mut ks, srem, &["SREM", "s", "x", "1"]), ":1\r\n");
        assert_eq!(run(&mut ks, srem, &["SREM", "s", "x"]), ":0\r\n");
        assert_eq!(
            run(&mut ks, srem, &["SREM", "s", "2", "3", "a", "more"]),
            ":3\r\n"
        );
        assert!(!ks.exists(0, b"s"));
        let events: Vec<_> = ks.notifications.iter().map(|n| n.event).collect();
        assert_eq!(events, vec!["srem", "srem", "del"]);
        assert_eq!(run(&mut ks, srem, &["SREM", "s", "x"]), ":0\r\n");
        // The first member picks the encoding.
        run(&mut ks, sadd, &["SADD", "t", "x", "1"]);
        assert_eq!(encoding(&ks, "t"), "hashtable");
    }

    #[test]
    fn every_command_checks_the_type() {
        let mut ks = Keyspace::new(1);
        ks.set(0, b"str", Value::string(b"x"), false);
        run(&mut ks, sadd, &["SADD", "s", "1"]);
        let cmds: &[Case] = &[
            (sadd, &["SADD", "str", "a"]),
            (srem, &["SREM", "str", "a"]),
            (scard, &["SCARD", "str"]),
            (sismember, &["SISMEMBER", "str", "a"]),
            (smismember, &["SMISMEMBER", "str", "a"]),
            (smembers, &["SMEMBERS", "str"]),
            (spop, &["SPOP", "str"]),
            (spop, &["SPOP", "str", "1"]),
            (srandmember, &["SRANDMEMBER", "str"]),
            (srandmember, &["SRANDMEMBER", "str", "-3"]),
            (smove, &["SMOVE", "str", "s", "1"]),
            (smove, &["SMOVE", "s", "str", "1"]),
            (sinter, &["SINTER", "nokey", "str"]),
            (sintercard, &["SINTERCARD", "2", "nokey", "str"]),
            (sinterstore, &["SINTERSTORE", "d", "nokey", "str"]),
            (sunion, &["SUNION", "s", "str"]),
            (sunionstore, &["SUNIONSTORE", "d", "s", "str"]),
            (sdiff, &["SDIFF", "nokey", "str"]),
            (sdiffstore, &["SDIFFSTORE", "d", "s", "str"]),
            (sscan, &["SSCAN", "str", "0"]),
        ];
        for (f, args) in cmds {
            assert_eq!(run(&mut ks, *f, args), WRONG, "{args:?}");
        }
        assert_eq!(ks.dirty, 1);
        assert!(!ks.exists(0, b"d"));
        // SMOVE from a missing source never looks at the destination's type.
        assert_eq!(
            run(&mut ks, smove, &["SMOVE", "nokey", "str", "1"]),
            ":0\r\n"
        );
    }

    #[test]
    fn intset_converts_at_the_limit_and_never_back() {
        let mut ks = Keyspace::new(1);
        ks.limits.set_max_intset_entries = 4;
        run(&mut ks, sadd, &["SADD", "s", "1", "2", "3", "4"]);
        assert_eq!(encoding(&ks, "s"), "intset");
        run(&mut ks, sadd, &["SADD", "s", "5"]);
        assert_eq!(encoding(&ks, "s"), "hashtable");
        run(&mut ks, srem, &["SREM", "s", "5", "4"]);
        assert_eq!(encoding(&ks, "s"), "hashtable");
        ks.limits.set_max_intset_entries = 0;
        run(&mut ks, sadd, &["SADD", "z", "1"]);
        assert_eq!(encoding(&ks, "z"), "hashtable");
    }

    #[test]
    fn spop_replies_and_propagation() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        assert_eq!(run(&mut ks, spop, &["SPOP", "nokey"]), "$-1\r\n");
        assert_eq!(run(&mut ks, spop, &["SPOP", "nokey", "3"]), "*0\r\n");
        assert_eq!(
            String::from_utf8(run_proto(&mut ks, spop, &["SPOP", "nokey", "3"], Protocol::Resp3).0)
                .unwrap(),
            "~0\r\n"
        );
        assert_eq!(
            run(&mut ks, spop, &["SPOP", "s", "-1"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            run(&mut ks, spop, &["SPOP", "s", "x"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            run(&mut ks, spop, &["SPOP", "s", "1", "2"]),
            "-ERR syntax error\r\n"
        );

        run(&mut ks, sadd, &["SADD", "s", "a", "b", "c", "d", "e"]);
        let dirty = ks.dirty;
        let (r, p) = run_proto(&mut ks, spop, &["SPOP", "s", "0"], Protocol::Resp2);
        assert_eq!(r, b"*0\r\n");
        assert_eq!((p, ks.dirty), (None, dirty));

        let (r, p) = run_proto(&mut ks, spop, &["SPOP", "s"], Protocol::Resp2);
        let popped = String::from_utf8(r[4..5].to_vec()).unwrap();
        assert_eq!(p, Some(vec![cmd(&["SREM", "s", &popped])]));
        assert_eq!(run(&mut ks, scard, &["SCARD", "s"]), ":4\r\n");

        let (r, p) = run_proto(&mut ks, spop, &["SPOP", "s", "2"], Protocol::Resp2);
        let got = members(&r);
        assert_eq!(got.len(), 2);
        let mut srems: Vec<String> = p
            .unwrap()
            .iter()
            .map(|c| {
                assert_eq!(&c[..2], &cmd(&["SREM", "s"])[..]);
                String::from_utf8(c[2].to_vec()).unwrap()
            })
            .collect();
        srems.sort();
        assert_eq!(srems, got);

        ks.notifications.clear();
        let before = ks.dirty;
        let (r, p) = run_proto(&mut ks, spop, &["SPOP", "s", "5"], Protocol::Resp3);
        assert!(r.starts_with(b"~2\r\n"));
        assert_eq!(p, Some(vec![cmd(&["DEL", "s"])]));
        assert_eq!(ks.dirty - before, 5, "Redis counts the requested count");
        assert!(!ks.exists(0, b"s"));
        let events: Vec<_> = ks.notifications.iter().map(|n| n.event).collect();
        assert_eq!(events, vec!["spop", "del"]);
    }

    #[test]
    fn spop_most_of_a_set_rebuilds_it_and_may_change_encoding() {
        let mut ks = Keyspace::new(1);
        run(
            &mut ks,
            sadd,
            &["SADD", "s", "a", "1", "2", "3", "4", "5", "6"],
        );
        run(&mut ks, srem, &["SREM", "s", "a"]);
        assert_eq!(encoding(&ks, "s"), "hashtable");
        ks.set_expire(0, b"s", 1_000_000);
        let (r, p) = run_proto(&mut ks, spop, &["SPOP", "s", "5"], Protocol::Resp2);
        let got = members(&r);
        assert_eq!(got.len(), 5);
        assert_eq!(p.unwrap().len(), 5);
        assert_eq!(
            encoding(&ks, "s"),
            "intset",
            "the kept member starts a new set"
        );
        assert_eq!(ks.expire_of(0, b"s"), Some(1_000_000), "the TTL stays");
        let left = members(
            run_proto(&mut ks, smembers, &["SMEMBERS", "s"], Protocol::Resp2)
                .0
                .as_slice(),
        );
        let mut all: Vec<String> = got.into_iter().chain(left).collect();
        all.sort();
        assert_eq!(all, strs(&["1", "2", "3", "4", "5", "6"]));
        // The whole set of a table whose members are all integers comes back sorted.
        run(&mut ks, sadd, &["SADD", "t", "x", "3", "1", "2"]);
        run(&mut ks, srem, &["SREM", "t", "x"]);
        assert_eq!(
            run(&mut ks, spop, &["SPOP", "t", "10"]),
            "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
    }

    #[test]
    fn srandmember_shapes() {
        let mut ks = Keyspace::new(1);
        assert_eq!(
            run(&mut ks, srandmember, &["SRANDMEMBER", "nokey"]),
            "$-1\r\n"
        );
        assert_eq!(
            run(&mut ks, srandmember, &["SRANDMEMBER", "nokey", "5"]),
            "*0\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                srandmember,
                &["SRANDMEMBER", "nokey", "-9223372036854775808"]
            ),
            format!("-{COUNT_RANGE}\r\n")
        );
        assert_eq!(
            run(&mut ks, srandmember, &["SRANDMEMBER", "nokey", "1", "2"]),
            "-ERR syntax error\r\n"
        );
        run(&mut ks, sadd, &["SADD", "s", "3", "1", "2"]);
        assert_eq!(
            run(&mut ks, srandmember, &["SRANDMEMBER", "s", "0"]),
            "*0\r\n"
        );
        assert_eq!(
            run(&mut ks, srandmember, &["SRANDMEMBER", "s", "3"]),
            "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            String::from_utf8(
                run_proto(
                    &mut ks,
                    srandmember,
                    &["SRANDMEMBER", "s", "30"],
                    Protocol::Resp3
                )
                .0
            )
            .unwrap(),
            "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
            "an array, not a set, in RESP3"
        );
        for i in 0..200 {
            run(&mut ks, sadd, &["SADD", "big", &format!("m{i}")]);
        }
        for key in ["s", "big"] {
            let size = if key == "s" { 3 } else { 200 };
            for _ in 0..30 {
                let r = run_proto(
                    &mut ks,
                    srandmember,
                    &["SRANDMEMBER", key, "-10"],
                    Protocol::Resp2,
                )
                .0;
                assert_eq!(members(&r).len(), 10);
                for n in [2usize, size - 1, 5.min(size - 1)] {
                    let r = run_proto(
                        &mut ks,
                        srandmember,
                        &["SRANDMEMBER", key, &n.to_string()],
                        Protocol::Resp2,
                    )
                    .0;
                    let got: BTreeSet<String> = members(&r).into_iter().collect();
                    assert_eq!(got.len(), n, "distinct");
                }
            }
        }
    }

    #[test]
    fn smove_rules() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        run(&mut ks, sadd, &["SADD", "a", "1", "2"]);
        assert_eq!(run(&mut ks, smove, &["SMOVE", "a", "a", "1"]), ":1\r\n");
        assert_eq!(run(&mut ks, smove, &["SMOVE", "a", "a", "9"]), ":0\r\n");
        assert_eq!(run(&mut ks, smove, &["SMOVE", "a", "b", "9"]), ":0\r\n");
        let dirty = ks.dirty;
        ks.notifications.clear();
        assert_eq!(run(&mut ks, smove, &["SMOVE", "a", "b", "1"]), ":1\r\n");
        assert_eq!(encoding(&ks, "b"), "intset");
        assert_eq!(ks.dirty - dirty, 2);
        run(&mut ks, sadd, &["SADD", "c", "2"]);
        ks.notifications.clear();
        assert_eq!(run(&mut ks, smove, &["SMOVE", "a", "c", "2"]), ":1\r\n");
        assert!(!ks.exists(0, b"a"));
        let events: Vec<_> = ks.notifications.iter().map(|n| n.event).collect();
        assert_eq!(
            events,
            vec!["srem", "del"],
            "no sadd when the destination had it"
        );
        run(&mut ks, sadd, &["SADD", "d", "x"]);
        run(&mut ks, smove, &["SMOVE", "d", "e", "x"]);
        assert_eq!(encoding(&ks, "e"), "hashtable");
    }

    #[test]
    fn algebra() {
        let mut ks = Keyspace::new(1);
        run(&mut ks, sadd, &["SADD", "a", "1", "2", "3", "4"]);
        run(&mut ks, sadd, &["SADD", "b", "3", "4", "5", "x"]);
        run(&mut ks, sadd, &["SADD", "c", "4", "x", "y"]);
        assert_eq!(
            run(&mut ks, sinter, &["SINTER", "a", "b"]),
            "*2\r\n$1\r\n3\r\n$1\r\n4\r\n"
        );
        assert_eq!(
            members(
                run_proto(&mut ks, sinter, &["SINTER", "b", "c"], Protocol::Resp2)
                    .0
                    .as_slice()
            ),
            strs(&["4", "x"])
        );
        assert_eq!(
            run(&mut ks, sinter, &["SINTER", "a", "b", "c"]),
            "*1\r\n$1\r\n4\r\n"
        );
        assert_eq!(run(&mut ks, sinter, &["SINTER", "a", "nokey"]), "*0\r\n");
        assert_eq!(
            run(&mut ks, sintercard, &["SINTERCARD", "2", "a", "b"]),
            ":2\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                sintercard,
                &["SINTERCARD", "2", "a", "b", "LIMIT", "1"]
            ),
            ":1\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                sintercard,
                &["SINTERCARD", "2", "a", "a", "limit", "0"]
            ),
            ":4\r\n"
        );
        assert_eq!(
            run(&mut ks, sintercard, &["SINTERCARD", "0", "a"]),
            "-ERR numkeys should be greater than 0\r\n"
        );
        assert_eq!(
            run(&mut ks, sintercard, &["SINTERCARD", "x", "a"]),
            "-ERR numkeys should be greater than 0\r\n"
        );
        assert_eq!(
            run(&mut ks, sintercard, &["SINTERCARD", "3", "a", "b"]),
            "-ERR Number of keys can't be greater than number of args\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                sintercard,
                &["SINTERCARD", "1", "a", "LIMIT", "-1"]
            ),
            "-ERR LIMIT can't be negative\r\n"
        );
        assert_eq!(
            run(&mut ks, sintercard, &["SINTERCARD", "1", "a", "LIMIT"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, sintercard, &["SINTERCARD", "1", "a", "foo"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, sunion, &["SUNION", "a", "nokey"]),
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"
        );
        assert_eq!(
            members(
                run_proto(&mut ks, sunion, &["SUNION", "a", "b", "c"], Protocol::Resp2)
                    .0
                    .as_slice()
            ),
            strs(&["1", "2", "3", "4", "5", "x", "y"])
        );
        assert_eq!(
            run(&mut ks, sdiff, &["SDIFF", "a", "b"]),
            "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
        );
        assert_eq!(run(&mut ks, sdiff, &["SDIFF", "a", "b", "a"]), "*0\r\n");
        assert_eq!(run(&mut ks, sdiff, &["SDIFF", "nokey", "a"]), "*0\r\n");
        assert_eq!(
            members(
                run_proto(
                    &mut ks,
                    sdiff,
                    &["SDIFF", "b", "a", "nokey"],
                    Protocol::Resp2
                )
                .0
                .as_slice()
            ),
            strs(&["5", "x"])
        );
        // The other algorithm: a big first set against small ones.
        for i in 0..100 {
            run(&mut ks, sadd, &["SADD", "big", &i.to_string()]);
        }
        assert_eq!(run(&mut ks, sdiff, &["SDIFF", "a", "big"]), "*0\r\n");
        let r = run_proto(
            &mut ks,
            sdiff,
            &["SDIFF", "big", "a", "b", "c"],
            Protocol::Resp2,
        )
        .0;
        assert_eq!(members(&r).len(), 95);
        assert_eq!(
            String::from_utf8(run_proto(&mut ks, sunion, &["SUNION", "a"], Protocol::Resp3).0)
                .unwrap(),
            "~4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"
        );
    }

    #[test]
    fn store_commands() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        run(&mut ks, sadd, &["SADD", "a", "1", "2", "x"]);
        run(&mut ks, sadd, &["SADD", "b", "1", "2", "y"]);
        assert_eq!(
            run(&mut ks, sinterstore, &["SINTERSTORE", "d", "a", "b"]),
            ":2\r\n"
        );
        assert_eq!(
            encoding(&ks, "d"),
            "intset",
            "a result of integers is an intset again"
        );
        assert_eq!(
            run(&mut ks, smembers, &["SMEMBERS", "d"]),
            "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
        );
        ks.set_expire(0, b"d", 1_000_000);
        assert_eq!(
            run(&mut ks, sunionstore, &["SUNIONSTORE", "d", "a", "b"]),
            ":4\r\n"
        );
        assert_eq!(encoding(&ks, "d"), "hashtable");
        assert_eq!(ks.expire_of(0, b"d"), None, "storing drops the TTL");
        assert_eq!(
            run(&mut ks, sdiffstore, &["SDIFFSTORE", "d", "a", "b"]),
            ":1\r\n"
        );
        assert_eq!(
            run(&mut ks, smembers, &["SMEMBERS", "d"]),
            "*1\r\n$1\r\nx\r\n"
        );
        ks.notifications.clear();
        let dirty = ks.dirty;
        assert_eq!(
            run(&mut ks, sinterstore, &["SINTERSTORE", "d", "a", "nokey"]),
            ":0\r\n"
        );
        assert!(!ks.exists(0, b"d"));
        assert_eq!(ks.dirty, dirty + 1);
        assert_eq!(
            run(&mut ks, sdiffstore, &["SDIFFSTORE", "d", "a", "a"]),
            ":0\r\n"
        );
        assert_eq!(ks.dirty, dirty + 1, "nothing to delete, nothing changed");
        let events: Vec<_> = ks
            .notifications
            .iter()
            .filter(|n| n.class != notify::KEY_MISS)
            .map(|n| n.event)
            .collect();
        assert_eq!(events, vec!["del"]);
        // The destination may be one of the sources.
        assert_eq!(
            run(&mut ks, sunionstore, &["SUNIONSTORE", "a", "a", "b"]),
            ":4\r\n"
        );
        assert_eq!(run(&mut ks, scard, &["SCARD", "a"]), ":4\r\n");
        // Big intsets become tables past the limit.
        ks.limits.set_max_intset_entries = 2;
        run(&mut ks, sadd, &["SADD", "i", "1", "2"]);
        run(&mut ks, sadd, &["SADD", "j", "3"]);
        run(&mut ks, sunionstore, &["SUNIONSTORE", "u", "i", "j"]);
        assert_eq!(encoding(&ks, "u"), "hashtable");
    }

    #[test]
    fn sscan_rules() {
        let mut ks = Keyspace::new(1);
        run(&mut ks, sadd, &["SADD", "s", "10", "2", "11"]);
        assert_eq!(
            run(
                &mut ks,
                sscan,
                &["SSCAN", "s", "99", "MATCH", "1*", "COUNT", "1"]
            ),
            "*2\r\n$1\r\n0\r\n*2\r\n$2\r\n10\r\n$2\r\n11\r\n"
        );
        assert_eq!(
            run(&mut ks, sscan, &["SSCAN", "nokey", "0"]),
            "*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(
            run(&mut ks, sscan, &["SSCAN", "s", "-x"]),
            "-ERR invalid cursor\r\n"
        );
        assert_eq!(
            run(&mut ks, sscan, &["SSCAN", "s", "0", "COUNT", "-1"]),
            "-ERR syntax error\r\n"
        );
        for i in 0..500 {
            run(&mut ks, sadd, &["SADD", "t", &format!("m{i}")]);
        }
        let mut seen = BTreeSet::new();
        let mut cursor = "0".to_string();
        loop {
            let r = run_proto(
                &mut ks,
                sscan,
                &["SSCAN", "t", &cursor, "COUNT", "7"],
                Protocol::Resp2,
            )
            .0;
            let (Frame::Array(parts), _) = resp::parse_frame(&r).unwrap().unwrap() else {
                panic!()
            };
            let Frame::Bulk(c) = &parts[0] else { panic!() };
            let Frame::Array(items) = &parts[1] else {
                panic!()
            };
            for it in items {
                let Frame::Bulk(b) = it else { panic!() };
                seen.insert(b.clone());
            }
            cursor = String::from_utf8(c.clone()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 500);
    }
}

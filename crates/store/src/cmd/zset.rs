//! Sorted-set commands: ZADD and friends, ranks and ranges (by rank, score and lex), pops
//! (blocking ones included), the set operations, ZRANDMEMBER and ZSCAN.
//!
//! Every command follows Redis 7.0's `t_zset.c` in the order it checks its arguments, the
//! shape of its reply in RESP2 and RESP3, the keyspace events it raises and what it propagates
//! (ZMPOP and the blocking pops travel as `ZPOPMIN`/`ZPOPMAX`). Range lookups walk the data
//! the way Redis does (find the first or last element in range, then walk while in range), so
//! even unusual requests (LIMIT offsets, lex ranges over mixed scores in a compact set) give
//! Redis's answers.

use super::keys::parse_cursor;
use super::{eq_ic, int_bytes, Ctx, TimeoutReply, NOT_INT, SYNTAX};
use crate::glob::glob_match;
use crate::keyspace::{notify, Keyspace, WRONGTYPE};
use crate::num::{parse_f64, parse_i64};
use crate::types::set::Set;
use crate::types::zset::{cmp_entry, ZSet};
use crate::types::EncodingLimits;
use crate::value::Value;
use bytes::Bytes;
use resp::{format_double, Out};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// Reply when an increment produces NaN (`+inf` plus `-inf`).
pub const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";
/// Reply for an unparsable score range bound.
pub const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
/// Reply for an unparsable lex range bound.
pub const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";
/// Reply for a negative or non-integer pop count.
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
/// The reply ZSCAN gives for a missing key.
const EMPTY_SCAN: &[u8] = b"*2\r\n$1\r\n0\r\n*0\r\n";

// ---------------------------------------------------------------------------------------------
// Lookups and replies shared by the family (and by GEO).

/// Looks `key` up for reading (counting a hit or miss); on a key of another type writes
/// WRONGTYPE and returns Err.
pub(crate) fn zset_for_read<'k>(
    ks: &'k mut Keyspace,
    out: &mut Out,
    db: usize,
    key: &[u8],
) -> Result<Option<&'k ZSet>, ()> {
    match ks.get(db, key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => {
            out.error(WRONGTYPE);
            Err(())
        }
    }
}

/// Looks `key` up for writing; on a key of another type writes WRONGTYPE and returns Err.
fn zset_for_write<'k>(
    ks: &'k mut Keyspace,
    out: &mut Out,
    db: usize,
    key: &[u8],
) -> Result<Option<&'k mut ZSet>, ()> {
    match ks.get_mut(db, key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => {
            out.error(WRONGTYPE);
            Err(())
        }
    }
}

/// Replies with elements: members only, or with scores as a flat array in RESP2 and as
/// [member, score] pairs in RESP3.
pub(crate) fn reply_elements(out: &mut Out, items: &[(&[u8], f64)], withscores: bool) {
    let resp3 = out.resp3();
    out.array(if withscores && !resp3 {
        items.len() * 2
    } else {
        items.len()
    });
    for (m, s) in items {
        if withscores && resp3 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(*s);
        }
    }
}

/// Stores `items` (sorted, distinct) at `dst` as a STORE command does: a non-empty result
/// replaces the key and raises `event`; an empty one deletes the key (raising `del`).
/// Replies with the stored cardinality.
fn store_result(ctx: &mut Ctx, dst: &[u8], items: Vec<(Box<[u8]>, f64)>, event: &'static str) {
    let n = items.len();
    if n > 0 {
        let limits = ctx.ks.limits;
        let z = ZSet::from_sorted(items, &limits);
        ctx.ks.set(ctx.db, dst, Value::ZSet(Box::new(z)), false);
        ctx.ks.changed(ctx.db, dst, notify::ZSET, event);
    } else if ctx.ks.remove(ctx.db, dst).is_some() {
        ctx.ks.changed(ctx.db, dst, notify::GENERIC, "del");
    }
    ctx.out.int(n as i64);
}

// ---------------------------------------------------------------------------------------------
// Ranges.

/// A range of elements given by two bounds, as Redis's `zrangespec`/`zlexrangespec`.
pub(crate) trait Range {
    /// True when no element can be in range (min above max, or equal with an open end).
    fn always_empty(&self) -> bool;
    /// The element is at or above the lower bound.
    fn gte_min(&self, score: f64, member: &[u8]) -> bool;
    /// The element is at or below the upper bound.
    fn lte_max(&self, score: f64, member: &[u8]) -> bool;
}

/// A score interval with optionally open ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// The lower bound is excluded.
    pub minex: bool,
    /// The upper bound is excluded.
    pub maxex: bool,
}

/// Parses like C's `strtod` applied to a C string that must be consumed whole, which is how
/// Redis reads score range bounds: text stops at a NUL byte, leading white space is allowed,
/// an empty string is 0, overflow gives an infinity, NaN is refused.
fn strtod_whole(s: &[u8]) -> Option<f64> {
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    if s.is_empty() {
        return Some(0.0);
    }
    if let Some(v) = parse_f64(s) {
        return Some(v);
    }
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let body = &s[start..];
    if let Some(v) = parse_f64(body) {
        return Some(v);
    }
    // What parse_f64 refuses beyond white space is over- and underflow, which strtod accepts.
    std::str::from_utf8(body)
        .ok()?
        .parse::<f64>()
        .ok()
        .filter(|v| !v.is_nan())
}

impl ScoreRange {
    /// Parses `min` and `max` as Redis's `zslParseRange` (`(` opens a bound).
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let bound = |a: &[u8]| -> Option<(f64, bool)> {
            match a.first() {
                Some(b'(') => strtod_whole(&a[1..]).map(|v| (v, true)),
                _ => strtod_whole(a).map(|v| (v, false)),
            }
        };
        let (min, minex) = bound(min)?;
        let (max, maxex) = bound(max)?;
        Some(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }
}

impl Range for ScoreRange {
    fn always_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }

    fn gte_min(&self, score: f64, _: &[u8]) -> bool {
        if self.minex {
            score > self.min
        } else {
            score >= self.min
        }
    }

    fn lte_max(&self, score: f64, _: &[u8]) -> bool {
        if self.maxex {
            score < self.max
        } else {
            score <= self.max
        }
    }
}

/// One end of a lex range: `-`, `+` or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LexBound {
    /// `-`: below every string.
    Min,
    /// A string bound.
    Str(Vec<u8>),
    /// `+`: above every string.
    Max,
}

impl LexBound {
    /// Where this bound sorts relative to `member` (Redis's `sdscmplex(bound, member)`).
    fn cmp_member(&self, member: &[u8]) -> Ordering {
        match self {
            LexBound::Min => Ordering::Less,
            LexBound::Max => Ordering::Greater,
            LexBound::Str(s) => s[..].cmp(member),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            LexBound::Min => 0,
            LexBound::Str(_) => 1,
            LexBound::Max => 2,
        }
    }
}

/// A lex interval as Redis's `zlexrangespec`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LexRange {
    min: LexBound,
    max: LexBound,
    minex: bool,
    maxex: bool,
}

impl LexRange {
    /// Parses `min` and `max` as Redis's `zslParseLexRange`.
    fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        // A lone `+`/`-` is checked as a C string: a NUL right after it still counts as alone.
        let item = |a: &[u8]| -> Option<(LexBound, bool)> {
            let alone = a.len() == 1 || a.get(1) == Some(&0);
            match a.first()? {
                b'+' if alone => Some((LexBound::Max, true)),
                b'-' if alone => Some((LexBound::Min, true)),
                b'(' => Some((LexBound::Str(a[1..].to_vec()), true)),
                b'[' => Some((LexBound::Str(a[1..].to_vec()), false)),
                _ => None,
            }
        };
        let (min, minex) = item(min)?;
        let (max, maxex) = item(max)?;
        Some(LexRange {
            min,
            max,
            minex,
            maxex,
        })
    }
}

impl Range for LexRange {
    fn always_empty(&self) -> bool {
        let cmp = match (&self.min, &self.max) {
            (LexBound::Str(a), LexBound::Str(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        };
        cmp == Ordering::Greater || (cmp == Ordering::Equal && (self.minex || self.maxex))
    }

    fn gte_min(&self, _: f64, member: &[u8]) -> bool {
        match self.min.cmp_member(member) {
            Ordering::Less => true,
            Ordering::Equal => !self.minex,
            Ordering::Greater => false,
        }
    }

    fn lte_max(&self, _: f64, member: &[u8]) -> bool {
        match self.max.cmp_member(member) {
            Ordering::Greater => true,
            Ordering::Equal => !self.maxex,
            Ordering::Less => false,
        }
    }
}

/// Redis's `zslIsInRange`: false when the range cannot hold any element of `z`.
fn may_intersect(z: &ZSet, r: &impl Range) -> bool {
    if r.always_empty() || z.is_empty() {
        return false;
    }
    let (lm, ls) = z.get(z.len() - 1).expect("non-empty");
    let (fm, fs) = z.get(0).expect("non-empty");
    r.gte_min(ls, lm) && r.lte_max(fs, fm)
}

/// Rank of the first element in range (`zslFirstInRange`).
pub(crate) fn first_in_range(z: &ZSet, r: &impl Range) -> Option<usize> {
    if !may_intersect(z, r) {
        return None;
    }
    let i = z.first_where(|s, m| r.gte_min(s, m))?;
    let (m, s) = z.get(i)?;
    r.lte_max(s, m).then_some(i)
}

/// Rank of the last element in range (`zslLastInRange`).
fn last_in_range(z: &ZSet, r: &impl Range) -> Option<usize> {
    if !may_intersect(z, r) {
        return None;
    }
    let i = z.last_where(|s, m| r.lte_max(s, m))?;
    let (m, s) = z.get(i)?;
    r.gte_min(s, m).then_some(i)
}

/// Number of elements from the first in range walking forward while in range.
fn count_in_range(z: &ZSet, r: &impl Range) -> usize {
    let Some(first) = first_in_range(z, r) else {
        return 0;
    };
    if z.is_listpack() {
        // Redis walks the listpack, stopping at the first element past the upper bound.
        return z
            .iter_from(first, false)
            .take_while(|(m, s)| r.lte_max(*s, m))
            .count();
    }
    match last_in_range(z, r) {
        Some(last) if last >= first => last - first + 1,
        _ => 0,
    }
}

/// The elements of a BYSCORE/BYLEX request: from the first (or, reversed, the last) element
/// in range, skip `offset` elements, then take up to `limit` (negative: all) while in range.
fn walk_range<'z>(
    z: &'z ZSet,
    r: &impl Range,
    offset: i64,
    limit: i64,
    rev: bool,
) -> Vec<(&'z [u8], f64)> {
    let start = if rev {
        last_in_range(z, r)
    } else {
        first_in_range(z, r)
    };
    let (Some(start), Ok(offset)) = (start, usize::try_from(offset)) else {
        return Vec::new();
    };
    let pos = if rev {
        start.checked_sub(offset)
    } else {
        start.checked_add(offset)
    };
    let Some(pos) = pos else { return Vec::new() };
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    z.iter_from(pos, rev)
        .take_while(|(m, s)| {
            if rev {
                r.gte_min(*s, m)
            } else {
                r.lte_max(*s, m)
            }
        })
        .take(take)
        .collect()
}

/// Resolves Redis's start/end rank arguments against `len`: None when the range is empty.
fn rank_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 {
        start.saturating_add(llen)
    } else {
        start
    };
    let end = if end < 0 {
        end.saturating_add(llen)
    } else {
        end
    };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    Some((start as usize, end.min(llen - 1) as usize))
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM.

/// The options of ZADD (and of GEOADD, which runs ZADD).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ZaddFlags {
    /// Only add new elements.
    pub nx: bool,
    /// Only update existing elements.
    pub xx: bool,
    /// Only update when the new score is greater.
    pub gt: bool,
    /// Only update when the new score is less.
    pub lt: bool,
    /// Reply with added + changed instead of added.
    pub ch: bool,
    /// Increment instead of set (one pair only).
    pub incr: bool,
}

/// What `zset_add` did with one element.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AddOutcome {
    /// A new element with this score.
    Added(f64),
    /// An existing element's score changed to this.
    Updated(f64),
    /// An existing element kept this score (it was processed, nothing changed).
    Same(f64),
    /// Nothing to do because of NX/XX/GT/LT.
    Skipped,
    /// The increment produced NaN.
    Nan,
}

/// Adds or updates one element as Redis's `zsetAdd`.
fn zset_add(
    z: &mut ZSet,
    member: &[u8],
    score: f64,
    f: &ZaddFlags,
    limits: &EncodingLimits,
) -> AddOutcome {
    match z.score(member) {
        Some(cur) => {
            if f.nx {
                return AddOutcome::Skipped;
            }
            let mut new = score;
            if f.incr {
                new += cur;
                if new.is_nan() {
                    return AddOutcome::Nan;
                }
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return AddOutcome::Skipped;
            }
            // -0 and 0 compare equal: no change, as in Redis.
            if new != cur {
                z.update_score(member, cur, new);
                AddOutcome::Updated(new)
            } else {
                AddOutcome::Same(new)
            }
        }
        None if f.xx => AddOutcome::Skipped,
        None => {
            z.insert(member, score, limits);
            AddOutcome::Added(score)
        }
    }
}

/// The body of ZADD once its arguments are valid: looks the key up (creating it unless XX),
/// applies every (score, member) pair, replies, notifies. Returns true if the set changed.
pub(crate) fn zadd_apply(ctx: &mut Ctx, f: ZaddFlags, pairs: &[(f64, &[u8])]) -> bool {
    let key = ctx.arg(1);
    let db = ctx.db;
    let limits = ctx.ks.limits;
    let exists = match zset_for_write(ctx.ks, ctx.out, db, key) {
        Ok(found) => found.is_some(),
        Err(()) => return false,
    };
    let (mut added, mut updated, mut processed) = (0usize, 0usize, 0usize);
    let mut last_score = 0.0;
    if exists || !f.xx {
        if !exists {
            let z = ZSet::for_first_member(pairs[0].1.len(), &limits);
            ctx.ks.set(db, key, Value::ZSet(Box::new(z)), false);
        }
        let Some(Value::ZSet(z)) = ctx.ks.get_mut(db, key) else {
            unreachable!("just checked or created")
        };
        let mut nan = false;
        for &(score, member) in pairs {
            match zset_add(z, member, score, &f, &limits) {
                AddOutcome::Added(s) => {
                    added += 1;
                    processed += 1;
                    last_score = s;
                }
                AddOutcome::Updated(s) => {
                    updated += 1;
                    processed += 1;
                    last_score = s;
                }
                AddOutcome::Same(s) => {
                    processed += 1;
                    last_score = s;
                }
                AddOutcome::Skipped => {}
                AddOutcome::Nan => {
                    nan = true;
                    break;
                }
            }
        }
        if z.is_empty() {
            // Only reachable if nothing was added to a key created above: never leave it empty.
            ctx.ks.remove(db, key);
        }
        if nan {
            // Only INCR can produce NaN, and it has a single pair: nothing changed.
            ctx.out.error(NAN_ERR);
            return false;
        }
    }
    if f.incr {
        if processed > 0 {
            ctx.out.double(last_score);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out
            .int((if f.ch { added + updated } else { added }) as i64);
    }
    if added + updated > 0 {
        ctx.ks.changed_n(
            db,
            key,
            notify::ZSET,
            if f.incr { "zincr" } else { "zadd" },
            added + updated,
        );
        return true;
    }
    false
}

/// ZADD and ZINCRBY: options, then score/member pairs.
fn zadd_generic(ctx: &mut Ctx, mut f: ZaddFlags) {
    let argc = ctx.argv.len();
    let mut idx = 2;
    while idx < argc {
        let opt = ctx.arg(idx);
        if eq_ic(opt, "nx") {
            f.nx = true;
        } else if eq_ic(opt, "xx") {
            f.xx = true;
        } else if eq_ic(opt, "ch") {
            f.ch = true;
        } else if eq_ic(opt, "incr") {
            f.incr = true;
        } else if eq_ic(opt, "gt") {
            f.gt = true;
        } else if eq_ic(opt, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let rest = argc - idx;
    if rest == 0 || !rest.is_multiple_of(2) {
        return ctx.syntax_error();
    }
    if f.nx && f.xx {
        return ctx
            .out
            .error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return ctx
            .out
            .error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && rest > 2 {
        return ctx
            .out
            .error("ERR INCR option supports a single increment-element pair");
    }
    let mut pairs = Vec::with_capacity(rest / 2);
    for j in (idx..argc).step_by(2) {
        let Some(score) = ctx.float_arg(j) else {
            return;
        };
        pairs.push((score, ctx.arg(j + 1)));
    }
    zadd_apply(ctx, f, &pairs);
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
pub fn zadd(ctx: &mut Ctx) {
    zadd_generic(ctx, ZaddFlags::default());
}

/// ZINCRBY key increment member
pub fn zincrby(ctx: &mut Ctx) {
    zadd_generic(
        ctx,
        ZaddFlags {
            incr: true,
            ..ZaddFlags::default()
        },
    );
}

/// ZREM key member [member ...]
pub fn zrem(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    let db = ctx.db;
    let z = match zset_for_write(ctx.ks, ctx.out, db, key) {
        Ok(Some(z)) => z,
        Ok(None) => return ctx.out.int(0),
        Err(()) => return,
    };
    let mut deleted = 0;
    for m in &ctx.argv[2..] {
        if z.remove(m).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    let emptied = z.is_empty();
    if deleted > 0 {
        ctx.ks.changed_n(db, key, notify::ZSET, "zrem", deleted);
        if emptied {
            ctx.ks.delete_emptied(db, key);
        }
    }
    ctx.out.int(deleted as i64);
}

// ---------------------------------------------------------------------------------------------
// Reads of single values.

/// ZCARD key
pub fn zcard(ctx: &mut Ctx) {
    match zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) {
        Ok(Some(z)) => ctx.out.int(z.len() as i64),
        Ok(None) => ctx.out.int(0),
        Err(()) => {}
    }
}

/// ZSCORE key member
pub fn zscore(ctx: &mut Ctx) {
    let member = ctx.arg(2);
    match zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) {
        Ok(Some(z)) => match z.score(member) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        },
        Ok(None) => ctx.out.null(),
        Err(()) => {}
    }
}

/// ZMSCORE key member [member ...]
pub fn zmscore(ctx: &mut Ctx) {
    let Ok(z) = zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) else {
        return;
    };
    ctx.out.array(ctx.argv.len() - 2);
    for m in &ctx.argv[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
}

fn zrank_generic(ctx: &mut Ctx, rev: bool) {
    let member = ctx.arg(2);
    match zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) {
        Ok(Some(z)) => match z.rank(member) {
            Some(r) => ctx.out.int((if rev { z.len() - 1 - r } else { r }) as i64),
            None => ctx.out.null(),
        },
        Ok(None) => ctx.out.null(),
        Err(()) => {}
    }
}

/// ZRANK key member
pub fn zrank(ctx: &mut Ctx) {
    zrank_generic(ctx, false);
}

/// ZREVRANK key member
pub fn zrevrank(ctx: &mut Ctx) {
    zrank_generic(ctx, true);
}

/// ZCOUNT key min max
pub fn zcount(ctx: &mut Ctx) {
    let Some(range) = ScoreRange::parse(ctx.arg(2), ctx.arg(3)) else {
        return ctx.out.error(NOT_FLOAT_RANGE);
    };
    match zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) {
        Ok(Some(z)) => ctx.out.int(count_in_range(z, &range) as i64),
        Ok(None) => ctx.out.int(0),
        Err(()) => {}
    }
}

/// ZLEXCOUNT key min max
pub fn zlexcount(ctx: &mut Ctx) {
    let Some(range) = LexRange::parse(ctx.arg(2), ctx.arg(3)) else {
        return ctx.out.error(NOT_LEX_RANGE);
    };
    match zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) {
        Ok(Some(z)) => ctx.out.int(count_in_range(z, &range) as i64),
        Ok(None) => ctx.out.int(0),
        Err(()) => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The ZRANGE family.

/// How a ZRANGE-like command selects elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    /// Not fixed by the command: ZRANGE's BYSCORE/BYLEX options decide (default rank).
    Auto,
    Rank,
    Score,
    Lex,
}

/// The direction of a ZRANGE-like command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Not fixed by the command: ZRANGE's REV option decides (default forward).
    Auto,
    Forward,
    Reverse,
}

/// Redis's `zrangeGenericCommand`: the key is at `key_idx` (min and max follow), `store` is
/// ZRANGESTORE's destination argument.
fn zrange_generic(
    ctx: &mut Ctx,
    key_idx: usize,
    store: Option<usize>,
    mut kind: RangeKind,
    mut dir: Direction,
) {
    let argc = ctx.argv.len();
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = key_idx + 3;
    while j < argc {
        let opt = ctx.arg(j);
        let left = argc - j - 1;
        if store.is_none() && eq_ic(opt, "withscores") {
            withscores = true;
        } else if eq_ic(opt, "limit") && left >= 2 {
            let Some(o) = ctx.int_arg(j + 1) else { return };
            let Some(l) = ctx.int_arg(j + 2) else { return };
            offset = o;
            limit = l;
            j += 2;
        } else if dir == Direction::Auto && eq_ic(opt, "rev") {
            dir = Direction::Reverse;
        } else if kind == RangeKind::Auto && eq_ic(opt, "bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && eq_ic(opt, "byscore") {
            kind = RangeKind::Score;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let rev = dir == Direction::Reverse;
    if kind == RangeKind::Auto {
        kind = RangeKind::Rank;
    }
    if limit != -1 && kind == RangeKind::Rank {
        return ctx.out.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
    }
    if withscores && kind == RangeKind::Lex {
        return ctx
            .out
            .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    let (mut min_idx, mut max_idx) = (key_idx + 1, key_idx + 2);
    if rev && kind != RangeKind::Rank {
        // The reversed score and lex forms take the range as max, min.
        std::mem::swap(&mut min_idx, &mut max_idx);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match kind {
        RangeKind::Score => match ScoreRange::parse(ctx.arg(min_idx), ctx.arg(max_idx)) {
            Some(r) => Parsed::Score(r),
            None => return ctx.out.error(NOT_FLOAT_RANGE),
        },
        RangeKind::Lex => match LexRange::parse(ctx.arg(min_idx), ctx.arg(max_idx)) {
            Some(r) => Parsed::Lex(r),
            None => return ctx.out.error(NOT_LEX_RANGE),
        },
        _ => {
            let Some(start) = ctx.int_arg(min_idx) else {
                return;
            };
            let Some(end) = ctx.int_arg(max_idx) else {
                return;
            };
            Parsed::Rank(start, end)
        }
    };
    let key = ctx.arg(key_idx);
    let z = match zset_for_read(ctx.ks, ctx.out, ctx.db, key) {
        Ok(Some(z)) => z,
        Ok(None) => {
            match store {
                Some(dst) => store_result(ctx, ctx.arg(dst), Vec::new(), "zrangestore"),
                None => ctx.out.array(0),
            }
            return;
        }
        Err(()) => return,
    };
    let items: Vec<(&[u8], f64)> = match parsed {
        Parsed::Rank(start, end) => match rank_bounds(start, end, z.len()) {
            Some((s, e)) => {
                let first = if rev { z.len() - 1 - s } else { s };
                z.iter_from(first, rev).take(e - s + 1).collect()
            }
            None => Vec::new(),
        },
        Parsed::Score(r) => {
            if offset > 0 && offset as u64 >= z.len() as u64 {
                Vec::new()
            } else {
                walk_range(z, &r, offset, limit, rev)
            }
        }
        Parsed::Lex(r) => {
            if offset > 0 && offset as u64 >= z.len() as u64 {
                Vec::new()
            } else {
                walk_range(z, &r, offset, limit, rev)
            }
        }
    };
    match store {
        None => reply_elements(ctx.out, &items, withscores),
        Some(dst) => {
            let mut owned: Vec<(Box<[u8]>, f64)> =
                items.iter().map(|(m, s)| (Box::from(*m), *s)).collect();
            if rev {
                owned.reverse();
            }
            store_result(ctx, ctx.arg(dst), owned, "zrangestore");
        }
    }
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange(ctx: &mut Ctx) {
    zrange_generic(ctx, 1, None, RangeKind::Auto, Direction::Auto);
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
pub fn zrangestore(ctx: &mut Ctx) {
    zrange_generic(ctx, 2, Some(1), RangeKind::Auto, Direction::Auto);
}

/// ZREVRANGE key start stop [WITHSCORES]
pub fn zrevrange(ctx: &mut Ctx) {
    zrange_generic(ctx, 1, None, RangeKind::Rank, Direction::Reverse);
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub fn zrangebyscore(ctx: &mut Ctx) {
    zrange_generic(ctx, 1, None, RangeKind::Score, Direction::Forward);
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub fn zrevrangebyscore(ctx: &mut Ctx) {
    zrange_generic(ctx, 1, None, RangeKind::Score, Direction::Reverse);
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex(ctx: &mut Ctx) {
    zrange_generic(ctx, 1, None, RangeKind::Lex, Direction::Forward);
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub fn zrevrangebylex(ctx: &mut Ctx) {
    zrange_generic(ctx, 1, None, RangeKind::Lex, Direction::Reverse);
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*.

fn zremrange_generic(ctx: &mut Ctx, kind: RangeKind) {
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let (parsed, event) = match kind {
        RangeKind::Score => match ScoreRange::parse(ctx.arg(2), ctx.arg(3)) {
            Some(r) => (Parsed::Score(r), "zremrangebyscore"),
            None => return ctx.out.error(NOT_FLOAT_RANGE),
        },
        RangeKind::Lex => match LexRange::parse(ctx.arg(2), ctx.arg(3)) {
            Some(r) => (Parsed::Lex(r), "zremrangebylex"),
            None => return ctx.out.error(NOT_LEX_RANGE),
        },
        _ => {
            let Some(start) = ctx.int_arg(2) else { return };
            let Some(end) = ctx.int_arg(3) else { return };
            (Parsed::Rank(start, end), "zremrangebyrank")
        }
    };
    let key = ctx.arg(1);
    let db = ctx.db;
    let z = match zset_for_write(ctx.ks, ctx.out, db, key) {
        Ok(Some(z)) => z,
        Ok(None) => return ctx.out.int(0),
        Err(()) => return,
    };
    let span = match parsed {
        Parsed::Rank(start, end) => rank_bounds(start, end, z.len()),
        Parsed::Score(r) => first_in_range(z, &r).map(|f| {
            let n = z
                .iter_from(f, false)
                .take_while(|(m, s)| r.lte_max(*s, m))
                .count();
            (f, f + n - 1)
        }),
        Parsed::Lex(r) => first_in_range(z, &r).map(|f| {
            let n = z
                .iter_from(f, false)
                .take_while(|(m, s)| r.lte_max(*s, m))
                .count();
            (f, f + n - 1)
        }),
    };
    let deleted = match span {
        Some((s, e)) => z.remove_range(s, e, |_, _| {}),
        None => 0,
    };
    let emptied = z.is_empty();
    if deleted > 0 {
        ctx.ks.changed_n(db, key, notify::ZSET, event, deleted);
        if emptied {
            ctx.ks.delete_emptied(db, key);
        }
    }
    ctx.out.int(deleted as i64);
}

/// ZREMRANGEBYRANK key start stop
pub fn zremrangebyrank(ctx: &mut Ctx) {
    zremrange_generic(ctx, RangeKind::Rank);
}

/// ZREMRANGEBYSCORE key min max
pub fn zremrangebyscore(ctx: &mut Ctx) {
    zremrange_generic(ctx, RangeKind::Score);
}

/// ZREMRANGEBYLEX key min max
pub fn zremrangebylex(ctx: &mut Ctx) {
    zremrange_generic(ctx, RangeKind::Lex);
}

// ---------------------------------------------------------------------------------------------
// Pops.

/// How a pop replies, after Redis's `genericZpopCommand` arguments.
#[derive(Debug, Clone, Copy)]
struct PopReply {
    /// Reply with the key first (BZPOP*, ZMPOP, BZMPOP).
    emit_key: bool,
    /// Elements as [member, score] pairs rather than a flat list.
    nested: bool,
    /// A null array (instead of an empty one) when there is nothing to pop.
    nil_when_empty: bool,
}

/// Pops from the first non-empty sorted set among the keys at `key_idx` (checking types on
/// the way, as Redis does). `count` None is the single-element form. Returns the index of the
/// key popped from and how many elements were popped, if any.
fn zpop_generic(
    ctx: &mut Ctx,
    key_idx: &[usize],
    max: bool,
    count: Option<i64>,
    how: PopReply,
) -> Option<(usize, usize)> {
    let db = ctx.db;
    let mut found = None;
    for &i in key_idx {
        match zset_for_write(ctx.ks, ctx.out, db, ctx.arg(i)) {
            Ok(None) => continue,
            Ok(Some(_)) => {
                found = Some(i);
                break;
            }
            Err(()) => return None,
        }
    }
    let Some(i) = found else {
        if how.nil_when_empty {
            ctx.out.null_array();
        } else {
            ctx.out.array(0);
        }
        return None;
    };
    if count == Some(0) {
        ctx.out.array(0);
        return None;
    }
    let key = ctx.arg(i);
    let Some(Value::ZSet(z)) = ctx.ks.get_mut(db, key) else {
        unreachable!("found above")
    };
    let want = count.unwrap_or(1).max(1) as u64;
    let n = (z.len() as u64).min(want) as usize;
    let out = &mut *ctx.out;
    match (how.nested, how.emit_key) {
        (false, false) => out.array(n * 2),
        (true, false) => out.array(n),
        (false, true) => {
            out.array(n * 2 + 1);
            out.bulk(key);
        }
        (true, true) => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    let len = z.len();
    let (start, end) = if max { (len - n, len - 1) } else { (0, n - 1) };
    let mut popped: Vec<(Box<[u8]>, f64)> = Vec::with_capacity(n);
    z.remove_range(start, end, |m, s| popped.push((m.into(), s)));
    if max {
        popped.reverse();
    }
    for (m, s) in &popped {
        if how.nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
    let emptied = z.is_empty();
    ctx.ks.changed_n(
        db,
        key,
        notify::ZSET,
        if max { "zpopmax" } else { "zpopmin" },
        n,
    );
    if emptied {
        ctx.ks.delete_emptied(db, key);
    }
    Some((i, n))
}

/// The command a pop is propagated as: `ZPOPMIN|ZPOPMAX key [count]`, the count being the
/// number of elements actually popped (as Redis 7.0 writes it).
fn pop_propagation(ctx: &mut Ctx, key_arg: usize, max: bool, popped: Option<usize>) {
    let mut argv = vec![
        Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" }),
        ctx.argv[key_arg].clone(),
    ];
    if let Some(n) = popped {
        argv.push(int_bytes(n as i64));
    }
    ctx.propagate_as(argv);
}

fn zpop_min_max(ctx: &mut Ctx, max: bool) {
    if ctx.argv.len() > 3 {
        return ctx.syntax_error();
    }
    let mut count = None;
    if ctx.argv.len() == 3 {
        match parse_i64(ctx.arg(2)) {
            Some(c) if c >= 0 => count = Some(c),
            _ => return ctx.out.error(NOT_POSITIVE),
        }
    }
    let nested = ctx.out.resp3() && count.is_some();
    zpop_generic(
        ctx,
        &[1],
        max,
        count,
        PopReply {
            emit_key: false,
            nested,
            nil_when_empty: false,
        },
    );
}

/// ZPOPMIN key [count]
pub fn zpopmin(ctx: &mut Ctx) {
    zpop_min_max(ctx, false);
}

/// ZPOPMAX key [count]
pub fn zpopmax(ctx: &mut Ctx) {
    zpop_min_max(ctx, true);
}

/// Parses `numkeys key... MIN|MAX [COUNT count]` from `numkeys_idx` (Redis's
/// `zmpopGenericCommand`): returns the key indices, MAX, and the count.
fn parse_mpop(ctx: &mut Ctx, numkeys_idx: usize) -> Option<(Vec<usize>, bool, i64)> {
    let argc = ctx.argv.len();
    let numkeys = match parse_i64(ctx.arg(numkeys_idx)) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.out.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_idx = (numkeys_idx as u64 + 1)
        .checked_add(numkeys)
        .filter(|&w| w < argc as u64);
    let Some(where_idx) = where_idx.map(|w| w as usize) else {
        ctx.syntax_error();
        return None;
    };
    let max = if eq_ic(ctx.arg(where_idx), "min") {
        false
    } else if eq_ic(ctx.arg(where_idx), "max") {
        true
    } else {
        ctx.syntax_error();
        return None;
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argc {
        if count.is_none() && eq_ic(ctx.arg(j), "count") && j + 1 < argc {
            match parse_i64(ctx.arg(j + 1)) {
                Some(c) if c >= 1 => count = Some(c),
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
    Some((
        (numkeys_idx + 1..where_idx).collect(),
        max,
        count.unwrap_or(1),
    ))
}

const MPOP_REPLY: PopReply = PopReply {
    emit_key: true,
    nested: true,
    nil_when_empty: true,
};

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
pub fn zmpop(ctx: &mut Ctx) {
    let Some((keys, max, count)) = parse_mpop(ctx, 1) else {
        return;
    };
    if let Some((i, n)) = zpop_generic(ctx, &keys, max, Some(count), MPOP_REPLY) {
        pop_propagation(ctx, i, max, Some(n));
    }
}

/// The blocking pops: serve from the first non-empty key, else block (or, when blocking is
/// not allowed, answer as on timeout).
fn blocking_pop(
    ctx: &mut Ctx,
    keys: &[usize],
    max: bool,
    count: Option<i64>,
    how: PopReply,
    deadline: Option<i64>,
) {
    let db = ctx.db;
    for &i in keys {
        match zset_for_write(ctx.ks, ctx.out, db, ctx.arg(i)) {
            Ok(None) => continue,
            Ok(Some(z)) if z.is_empty() => continue,
            Ok(Some(_)) => {
                if let Some((_, n)) = zpop_generic(ctx, &[i], max, count, how) {
                    pop_propagation(ctx, i, max, count.map(|_| n));
                }
                return;
            }
            Err(()) => return,
        }
    }
    if !ctx.may_block {
        return ctx.out.null_array();
    }
    let keys = keys.iter().map(|&i| ctx.argv[i].clone()).collect();
    ctx.block_on(keys, deadline, TimeoutReply::NullArray);
}

fn bzpop_min_max(ctx: &mut Ctx, max: bool) {
    let argc = ctx.argv.len();
    let Some(deadline) = ctx.timeout_secs_arg(argc - 1) else {
        return;
    };
    let keys: Vec<usize> = (1..argc - 1).collect();
    blocking_pop(
        ctx,
        &keys,
        max,
        None,
        PopReply {
            emit_key: true,
            nested: false,
            nil_when_empty: false,
        },
        deadline,
    );
}

/// BZPOPMIN key [key ...] timeout
pub fn bzpopmin(ctx: &mut Ctx) {
    bzpop_min_max(ctx, false);
}

/// BZPOPMAX key [key ...] timeout
pub fn bzpopmax(ctx: &mut Ctx) {
    bzpop_min_max(ctx, true);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
pub fn bzmpop(ctx: &mut Ctx) {
    let Some((keys, max, count)) = parse_mpop(ctx, 2) else {
        return;
    };
    let Some(deadline) = ctx.timeout_secs_arg(1) else {
        return;
    };
    blocking_pop(ctx, &keys, max, Some(count), MPOP_REPLY, deadline);
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD.

/// An input of a set operation: a sorted set, a plain set (every score 1), or nothing.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Sorted(z) => z.len(),
            Source::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Sorted(z) => z.score(member),
            Source::Plain(s) => s.contains(member).then_some(1.0),
        }
    }

    /// Calls `f` with every element; sorted sets are walked from the highest element down,
    /// as Redis's `zuiNext` does.
    fn for_each(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self {
            Source::Missing => {}
            Source::Sorted(z) => {
                for (m, s) in z.iter_rev() {
                    if !f(m, s) {
                        return;
                    }
                }
            }
            Source::Plain(set) => {
                for m in set.iter() {
                    if !f(&m.to_bytes(), 1.0) {
                        return;
                    }
                }
            }
        }
    }

    fn same_as(&self, other: &Source<'_>) -> bool {
        match (self, other) {
            (Source::Sorted(a), Source::Sorted(b)) => std::ptr::eq(*a, *b),
            (Source::Plain(a), Source::Plain(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

/// The set operation of a ZUNION-like command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores of an element found in several inputs combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate` (a NaN sum, `inf + -inf`, becomes 0).
    fn apply(self, target: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *target += val;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if val < *target {
                    *target = val;
                }
            }
            Aggregate::Max => {
                if val > *target {
                    *target = val;
                }
            }
        }
    }
}

/// Redis's `zunionInterDiffGenericCommand`. `dst` is the destination argument of the STORE
/// forms; `name` is the command's name for the numkeys error.
fn zsetop_generic(
    ctx: &mut Ctx,
    dst: Option<usize>,
    numkeys_idx: usize,
    op: SetOp,
    card_only: bool,
    name: &str,
) {
    let argc = ctx.argv.len();
    let Some(setnum) = ctx.int_arg(numkeys_idx) else {
        return;
    };
    if setnum < 1 {
        return ctx.out.error(&format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ));
    }
    if setnum as u64 > (argc - numkeys_idx - 1) as u64 {
        return ctx.syntax_error();
    }
    let setnum = setnum as usize;
    let key_idx: Vec<usize> = (numkeys_idx + 1..numkeys_idx + 1 + setnum).collect();
    let db = ctx.db;
    for &i in &key_idx {
        match ctx.ks.get(db, ctx.arg(i)) {
            Some(Value::ZSet(_)) | Some(Value::Set(_)) | None => {}
            Some(_) => return ctx.wrongtype(),
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut aggregate = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = numkeys_idx + 1 + setnum;
    while j < argc {
        let remaining = argc - j;
        let opt = ctx.arg(j);
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ic(opt, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                match parse_f64(ctx.arg(j)) {
                    Some(v) => *w = v,
                    None => return ctx.out.error("ERR weight value is not a float"),
                }
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(opt, "aggregate") {
            let a = ctx.arg(j + 1);
            aggregate = if eq_ic(a, "sum") {
                Aggregate::Sum
            } else if eq_ic(a, "min") {
                Aggregate::Min
            } else if eq_ic(a, "max") {
                Aggregate::Max
            } else {
                return ctx.syntax_error();
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq_ic(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(opt, "limit") {
            match parse_i64(ctx.arg(j + 1)) {
                Some(l) if l >= 0 => limit = l as usize,
                _ => return ctx.out.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.syntax_error();
        }
    }

    let ks: &Keyspace = ctx.ks;
    let mut sources: Vec<(Source, f64)> = key_idx
        .iter()
        .zip(&weights)
        .map(|(&i, &w)| {
            let src = match ks.entry(db, ctx.arg(i)).map(|e| &e.value) {
                Some(Value::ZSet(z)) => Source::Sorted(z),
                Some(Value::Set(s)) => Source::Plain(s),
                _ => Source::Missing,
            };
            (src, w)
        })
        .collect();
    if op != SetOp::Diff {
        // Smallest first (a stable sort, as glibc's merge-sorting qsort): the order in which
        // scores are summed must be Redis's for the float results to match.
        sources.sort_by_key(|(s, _)| s.len());
    }
    let mut result: Vec<(Box<[u8]>, f64)> = Vec::new();
    let mut cardinality = 0usize;
    match op {
        SetOp::Inter => {
            let (first, w0) = sources[0];
            if first.len() > 0 {
                first.for_each(|m, s0| {
                    let mut score = w0 * s0;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (src, w) in &sources[1..] {
                        let found = if src.same_as(&first) {
                            Some(s0)
                        } else {
                            src.score(m)
                        };
                        match found {
                            Some(v) => aggregate.apply(&mut score, v * w),
                            None => return true,
                        }
                    }
                    if card_only {
                        cardinality += 1;
                        return !(limit > 0 && cardinality >= limit);
                    }
                    result.push((m.into(), score));
                    true
                });
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<Box<[u8]>, f64> = HashMap::new();
            for (src, w) in &sources {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(cur) => aggregate.apply(cur, score),
                        None => {
                            acc.insert(m.into(), score);
                        }
                    }
                    true
                });
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            let (first, _) = sources[0];
            first.for_each(|m, s| {
                let elsewhere = sources[1..]
                    .iter()
                    .any(|(src, _)| src.same_as(&first) || src.score(m).is_some());
                if !elsewhere {
                    result.push((m.into(), s));
                }
                true
            });
        }
    }
    if card_only {
        return ctx.out.int(cardinality as i64);
    }
    result.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    match dst {
        Some(d) => {
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, ctx.arg(d), result, event);
        }
        None => {
            let items: Vec<(&[u8], f64)> = result.iter().map(|(m, s)| (&m[..], *s)).collect();
            reply_elements(ctx.out, &items, withscores);
        }
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zunion(ctx: &mut Ctx) {
    zsetop_generic(ctx, None, 1, SetOp::Union, false, "zunion");
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zinter(ctx: &mut Ctx) {
    zsetop_generic(ctx, None, 1, SetOp::Inter, false, "zinter");
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub fn zdiff(ctx: &mut Ctx) {
    zsetop_generic(ctx, None, 1, SetOp::Diff, false, "zdiff");
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
pub fn zunionstore(ctx: &mut Ctx) {
    zsetop_generic(ctx, Some(1), 2, SetOp::Union, false, "zunionstore");
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
pub fn zinterstore(ctx: &mut Ctx) {
    zsetop_generic(ctx, Some(1), 2, SetOp::Inter, false, "zinterstore");
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub fn zdiffstore(ctx: &mut Ctx) {
    zsetop_generic(ctx, Some(1), 2, SetOp::Diff, false, "zdiffstore");
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn zintercard(ctx: &mut Ctx) {
    zsetop_generic(ctx, None, 1, SetOp::Inter, true, "zintercard");
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN.

/// ZRANDMEMBER key [count [WITHSCORES]]
pub fn zrandmember(ctx: &mut Ctx) {
    let argc = ctx.argv.len();
    if argc < 3 {
        let rnd = ctx.ks.next_random();
        match zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) {
            Ok(Some(z)) => match z.random_element(rnd) {
                Some((m, _)) => ctx.out.bulk(m),
                None => ctx.out.null(),
            },
            Ok(None) => ctx.out.null(),
            Err(()) => {}
        }
        return;
    }
    let Some(l) = ctx.int_arg(2) else { return };
    if l == i64::MIN {
        return ctx.out.error(&format!(
            "ERR value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        ));
    }
    let withscores = match argc {
        3 => false,
        4 if eq_ic(ctx.arg(3), "withscores") => true,
        _ => return ctx.syntax_error(),
    };
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return ctx.out.error("ERR value is out of range");
    }
    zrandmember_with_count(ctx, l, withscores);
}

fn zrandmember_with_count(ctx: &mut Ctx, l: i64, withscores: bool) {
    let db = ctx.db;
    let size = match zset_for_read(ctx.ks, ctx.out, db, ctx.arg(1)) {
        Ok(Some(z)) => z.len() as u64,
        Ok(None) => return ctx.out.array(0),
        Err(()) => return,
    };
    let count = l.unsigned_abs();
    let unique = l >= 0;
    if count == 0 {
        return ctx.out.array(0);
    }
    let resp3 = ctx.out.resp3();
    let header = |out: &mut Out, n: u64| {
        out.array(if withscores && !resp3 {
            (n * 2) as usize
        } else {
            n as usize
        })
    };
    let emit = |out: &mut Out, m: &[u8], s: f64| {
        if withscores && resp3 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(s);
        }
    };
    // Picks come from a generator seeded by the keyspace's, so they can be drawn while the set
    // is borrowed, and streamed: a huge negative count allocates nothing but the reply.
    let mut rng = Picker(ctx.ks.next_random());
    let Some(Value::ZSet(z)) = ctx.ks.entry(db, ctx.arg(1)).map(|e| &e.value) else {
        return;
    };
    if !unique || count == 1 {
        // Elements may repeat: `count` independent uniform picks.
        header(ctx.out, count);
        for _ in 0..count {
            let (m, s) = z.get(rng.below(size) as usize).expect("rank below size");
            emit(ctx.out, m, s);
        }
        return;
    }
    if count >= size {
        // The whole set, walked from the top as Redis's iterator does.
        header(ctx.out, size);
        for (m, s) in z.iter_rev() {
            emit(ctx.out, m, s);
        }
        return;
    }
    // A random subset of distinct elements (count < size, so this is bounded by the set).
    let mut chosen: Vec<u64>;
    if count * 3 > size {
        // Many of them: start from everything and drop random elements.
        chosen = (0..size).collect();
        while chosen.len() as u64 > count {
            let i = rng.below(chosen.len() as u64) as usize;
            chosen.swap_remove(i);
        }
    } else {
        chosen = Vec::with_capacity(count as usize);
        let mut seen = HashSet::new();
        while (chosen.len() as u64) < count {
            let r = rng.below(size);
            if seen.insert(r) {
                chosen.push(r);
            }
        }
    }
    if z.is_listpack() {
        // Redis samples a compact set in its stored order.
        chosen.sort_unstable();
    }
    header(ctx.out, count);
    for r in chosen {
        let (m, s) = z.get(r as usize).expect("rank below size");
        emit(ctx.out, m, s);
    }
}

/// A splitmix64 stream for ZRANDMEMBER's picks.
struct Picker(u64);

impl Picker {
    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
pub fn zscan(ctx: &mut Ctx) {
    let Some(mut cursor) = parse_cursor(ctx.arg(2)) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let db = ctx.db;
    match zset_for_read(ctx.ks, ctx.out, db, ctx.arg(1)) {
        Ok(Some(_)) => {}
        Ok(None) => return ctx.out.raw(EMPTY_SCAN),
        Err(()) => return,
    }
    let argc = ctx.argv.len();
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < argc {
        let opt = ctx.arg(i);
        let has_value = argc - i >= 2;
        if eq_ic(opt, "count") && has_value {
            let Some(n) = parse_i64(ctx.arg(i + 1)) else {
                return ctx.out.error(NOT_INT);
            };
            if n < 1 {
                return ctx.out.error(SYNTAX);
            }
            count = n;
        } else if eq_ic(opt, "match") && has_value {
            let p = ctx.arg(i + 1);
            pattern = (p != b"*").then_some(p);
        } else {
            return ctx.out.error(SYNTAX);
        }
        i += 2;
    }
    let Some(Value::ZSet(z)) = ctx.ks.entry(db, ctx.arg(1)).map(|e| &e.value) else {
        return;
    };
    let mut batch: Vec<(&[u8], f64)> = Vec::new();
    if z.is_listpack() {
        cursor = z.scan(cursor, |m, s| batch.push((m, s)));
    } else {
        // Redis counts members and scores separately against COUNT, and bounds the buckets
        // visited to 10 * COUNT.
        let mut budget = count.saturating_mul(10);
        loop {
            cursor = z.scan(cursor, |m, s| batch.push((m, s)));
            if cursor == 0 || budget == 0 || (batch.len() as i64) * 2 >= count {
                break;
            }
            budget -= 1;
        }
    }
    if let Some(p) = pattern {
        batch.retain(|(m, _)| glob_match(p, m, false));
    }
    ctx.out.array(2);
    ctx.out.bulk(cursor.to_string().as_bytes());
    ctx.out.array(batch.len() * 2);
    for (m, s) in batch {
        ctx.out.bulk(m);
        ctx.out.bulk(format_double(s).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::BlockRequest;
    use resp::Protocol;

    /// What one command left behind.
    struct Run {
        reply: String,
        propagate: Option<Vec<Vec<Bytes>>>,
        block: Option<BlockRequest>,
    }

    fn exec(
        ks: &mut Keyspace,
        proto: Protocol,
        may_block: bool,
        f: fn(&mut Ctx),
        args: &[&str],
    ) -> Run {
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut out = Out::new(proto);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        ctx.may_block = may_block;
        f(&mut ctx);
        let (propagate, block) = (ctx.propagate.take(), ctx.block.take());
        Run {
            reply: String::from_utf8_lossy(&out.buf).into_owned(),
            propagate,
            block,
        }
    }

    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> String {
        exec(ks, Protocol::Resp2, true, f, args).reply
    }

    fn run3(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> String {
        exec(ks, Protocol::Resp3, true, f, args).reply
    }

    fn encoding(ks: &Keyspace, key: &str) -> &'static str {
        ks.entry(0, key.as_bytes())
            .map(|e| e.value.encoding())
            .unwrap_or("none")
    }

    fn events(ks: &mut Keyspace) -> Vec<String> {
        ks.notifications
            .drain(..)
            .filter(|n| n.event != "keymiss")
            .map(|n| format!("{}:{}", n.event, String::from_utf8_lossy(&n.key)))
            .collect()
    }

    fn cmd(args: &[&str]) -> Vec<Vec<Bytes>> {
        vec![args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()]
    }

    const WT: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn zadd_flags_and_their_errors() {
        let mut ks = Keyspace::new(1);
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]),
            ":3\r\n"
        );
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "CH", "10", "a", "2", "b"]),
            ":1\r\n"
        );
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "NX", "20", "a", "4", "d"]),
            ":1\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zadd,
                &["ZADD", "z", "XX", "CH", "40", "a", "5", "e"]
            ),
            ":1\r\n"
        );
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "GT", "CH", "1", "a"]),
            ":0\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zadd,
                &["ZADD", "z", "LT", "CH", "1", "a", "0", "b"]
            ),
            ":2\r\n"
        );
        assert_eq!(run(&mut ks, zscore, &["ZSCORE", "z", "a"]), "$1\r\n1\r\n");
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "nx", "xx", "1", "a"]),
            "-ERR XX and NX options at the same time are not compatible\r\n"
        );
        for opts in [["gt", "lt"], ["gt", "nx"], ["lt", "nx"]] {
            assert_eq!(
                run(&mut ks, zadd, &["ZADD", "z", opts[0], opts[1], "1", "a"]),
                "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
            );
        }
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "incr", "1", "a", "2", "b"]),
            "-ERR INCR option supports a single increment-element pair\r\n"
        );
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "1", "a", "2"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "x", "a"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "nan", "a"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            run(&mut ks, zincrby, &["ZINCRBY", "z", "nx", "a"]),
            "-ERR syntax error\r\n"
        );
        ks.set(0, b"s", Value::string(b"v"), false);
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "s", "x", "a"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(run(&mut ks, zadd, &["ZADD", "s", "1", "a"]), WT);
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "new", "XX", "1", "a"]),
            ":0\r\n"
        );
        assert!(ks.entry(0, b"new").is_none(), "XX never creates the key");
    }

    #[test]
    fn incr_replies_nan_and_propagation() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        let r = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            zadd,
            &["ZADD", "z", "INCR", "+inf", "a"],
        );
        assert_eq!(r.reply, "$3\r\ninf\r\n");
        assert!(r.propagate.is_none(), "a ZADD propagates as sent");
        assert_eq!(events(&mut ks), vec!["new:z", "zincr:z"]);
        assert_eq!(
            run(&mut ks, zincrby, &["ZINCRBY", "z", "-inf", "a"]),
            "-ERR resulting score is not a number (NaN)\r\n"
        );
        assert!(events(&mut ks).is_empty());
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "XX", "INCR", "1", "b"]),
            "$-1\r\n"
        );
        assert_eq!(
            run3(&mut ks, zadd, &["ZADD", "z", "XX", "INCR", "1", "b"]),
            "_\r\n"
        );
        assert_eq!(
            run3(&mut ks, zincrby, &["ZINCRBY", "z", "1.5", "c"]),
            ",1.5\r\n"
        );
        let dirty = ks.dirty;
        events(&mut ks);
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "INCR", "0", "c"]),
            "$3\r\n1.5\r\n"
        );
        assert_eq!(ks.dirty, dirty, "an unchanged score is not a change");
        assert!(events(&mut ks).is_empty());
        // -0 is kept as 0 by the compact encoding but the reply shows the computed value.
        assert_eq!(
            run(&mut ks, zincrby, &["ZINCRBY", "n", "-0", "m"]),
            "$2\r\n-0\r\n"
        );
        assert_eq!(run(&mut ks, zscore, &["ZSCORE", "n", "m"]), "$1\r\n0\r\n");
    }

    #[test]
    fn encodings_follow_the_limits() {
        let mut ks = Keyspace::new(1);
        ks.limits.zset_max_listpack_entries = 3;
        ks.limits.zset_max_listpack_value = 5;
        run(&mut ks, zadd, &["ZADD", "e", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(encoding(&ks, "e"), "listpack");
        run(&mut ks, zadd, &["ZADD", "e", "4", "d"]);
        assert_eq!(encoding(&ks, "e"), "skiplist");
        run(&mut ks, zrem, &["ZREM", "e", "a", "b", "c"]);
        assert_eq!(
            encoding(&ks, "e"),
            "skiplist",
            "no conversion back on removal"
        );
        run(&mut ks, zadd, &["ZADD", "long", "1", "abcdef"]);
        assert_eq!(encoding(&ks, "long"), "skiplist");
        run(
            &mut ks,
            zadd,
            &["ZADD", "dups", "1", "a", "1", "a", "1", "a", "1", "a"],
        );
        assert_eq!(encoding(&ks, "dups"), "listpack");
        // STORE results are compact again when they fit.
        run(&mut ks, zunionstore, &["ZUNIONSTORE", "u", "1", "e"]);
        assert_eq!(encoding(&ks, "u"), "listpack");
        run(
            &mut ks,
            zadd,
            &["ZADD", "big", "1", "a", "2", "b", "3", "c", "4", "d"],
        );
        run(&mut ks, zrangestore, &["ZRANGESTORE", "r", "big", "0", "2"]);
        assert_eq!(encoding(&ks, "r"), "listpack");
        run(
            &mut ks,
            zrangestore,
            &["ZRANGESTORE", "r", "big", "0", "-1"],
        );
        assert_eq!(encoding(&ks, "r"), "skiplist");
        ks.limits.zset_max_listpack_entries = 0;
        run(&mut ks, zadd, &["ZADD", "zero", "1", "a"]);
        assert_eq!(encoding(&ks, "zero"), "skiplist");
    }

    #[test]
    fn ranges_by_rank_score_and_lex_in_both_encodings() {
        for entries in [128, 0] {
            let mut ks = Keyspace::new(1);
            ks.limits.zset_max_listpack_entries = entries;
            run(
                &mut ks,
                zadd,
                &["ZADD", "k", "1", "a", "2", "b", "3", "c", "4", "d"],
            );
            let r = |ks: &mut Keyspace, f: fn(&mut Ctx), a: &[&str]| run(ks, f, a);
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "1", "2", "WITHSCORES"]),
                "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "0", "0", "REV"]),
                "*1\r\n$1\r\nd\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "-100", "1"]),
                "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "(1", "3", "BYSCORE"]),
                "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
            );
            assert_eq!(
                r(
                    &mut ks,
                    zrange,
                    &["ZRANGE", "k", "3", "(1", "BYSCORE", "REV"]
                ),
                "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
            );
            assert_eq!(
                r(
                    &mut ks,
                    zrange,
                    &["ZRANGE", "k", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"]
                ),
                "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"
            );
            assert_eq!(
                r(
                    &mut ks,
                    zrange,
                    &["ZRANGE", "k", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"]
                ),
                "*0\r\n"
            );
            assert_eq!(
                r(
                    &mut ks,
                    zrange,
                    &["ZRANGE", "k", "-inf", "+inf", "BYSCORE", "LIMIT", "3", "2"]
                ),
                "*1\r\n$1\r\nd\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "\"\"", "3", "BYSCORE"]),
                "-ERR min or max is not a float\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "(", "3", "BYSCORE"]),
                "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", " 1", "1e999", "BYSCORE"]),
                "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "1 ", "3", "BYSCORE"]),
                "-ERR min or max is not a float\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "[b", "(d", "BYLEX"]),
                "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
            );
            assert_eq!(
                r(
                    &mut ks,
                    zrange,
                    &["ZRANGE", "k", "+", "-", "BYLEX", "REV", "LIMIT", "1", "2"]
                ),
                "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "", "+", "BYLEX"]),
                "-ERR min or max not valid string range item\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "k", "0", "-1", "LIMIT", "0", "1"]),
                "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"
            );
            assert_eq!(
                r(
                    &mut ks,
                    zrangebylex,
                    &["ZRANGEBYLEX", "k", "-", "+", "WITHSCORES"]
                ),
                "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"
            );
            assert_eq!(
                r(&mut ks, zrevrange, &["ZREVRANGE", "k", "0", "-1", "REV"]),
                "-ERR syntax error\r\n"
            );
            assert_eq!(
                r(
                    &mut ks,
                    zrevrangebyscore,
                    &["ZREVRANGEBYSCORE", "k", "+inf", "-inf", "LIMIT", "1", "2"]
                ),
                "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
            );
            assert_eq!(r(&mut ks, zcount, &["ZCOUNT", "k", "(1", "(4"]), ":2\r\n");
            assert_eq!(
                r(&mut ks, zlexcount, &["ZLEXCOUNT", "k", "(a", "+"]),
                ":3\r\n"
            );
            assert_eq!(r(&mut ks, zrank, &["ZRANK", "k", "c"]), ":2\r\n");
            assert_eq!(r(&mut ks, zrevrank, &["ZREVRANK", "k", "c"]), ":1\r\n");
            assert_eq!(
                r(&mut ks, zmscore, &["ZMSCORE", "k", "a", "x"]),
                "*2\r\n$1\r\n1\r\n$-1\r\n"
            );
            assert_eq!(
                run3(&mut ks, zrange, &["ZRANGE", "k", "0", "0", "WITHSCORES"]),
                "*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
            );
            assert_eq!(
                r(&mut ks, zrange, &["ZRANGE", "nokey", "x", "1"]),
                "-ERR value is not an integer or out of range\r\n"
            );
            assert_eq!(r(&mut ks, zrange, &["ZRANGE", "nokey", "0", "1"]), "*0\r\n");
        }
    }

    #[test]
    fn removals_delete_emptied_keys_and_notify() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        run(
            &mut ks,
            zadd,
            &["ZADD", "k", "1", "a", "2", "b", "3", "c", "4", "d"],
        );
        events(&mut ks);
        assert_eq!(
            run(
                &mut ks,
                zremrangebyscore,
                &["ZREMRANGEBYSCORE", "k", "(1", "3"]
            ),
            ":2\r\n"
        );
        assert_eq!(
            run(&mut ks, zremrangebylex, &["ZREMRANGEBYLEX", "k", "x", "y"]),
            "-ERR min or max not valid string range item\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zremrangebyrank,
                &["ZREMRANGEBYRANK", "k", "5", "10"]
            ),
            ":0\r\n"
        );
        assert_eq!(events(&mut ks), vec!["zremrangebyscore:k"]);
        let dirty = ks.dirty;
        assert_eq!(
            run(&mut ks, zrem, &["ZREM", "k", "a", "x", "d", "y"]),
            ":2\r\n"
        );
        assert_eq!(ks.dirty, dirty + 2);
        assert_eq!(events(&mut ks), vec!["zrem:k", "del:k"]);
        assert!(ks.entry(0, b"k").is_none());
        assert_eq!(run(&mut ks, zrem, &["ZREM", "k", "a"]), ":0\r\n");
    }

    #[test]
    fn pops_reply_shapes_events_and_propagation() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        run(
            &mut ks,
            zadd,
            &[
                "ZADD", "k", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
            ],
        );
        events(&mut ks);
        let r = exec(&mut ks, Protocol::Resp2, true, zpopmin, &["ZPOPMIN", "k"]);
        assert_eq!(r.reply, "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
        assert!(r.propagate.is_none());
        assert_eq!(
            run3(&mut ks, zpopmax, &["ZPOPMAX", "k", "1"]),
            "*1\r\n*2\r\n$1\r\ne\r\n,5\r\n"
        );
        assert_eq!(
            run3(&mut ks, zpopmin, &["ZPOPMIN", "k"]),
            "*2\r\n$1\r\nb\r\n,2\r\n"
        );
        assert_eq!(
            run(&mut ks, zpopmin, &["ZPOPMIN", "k", "-1"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(run(&mut ks, zpopmin, &["ZPOPMIN", "k", "0"]), "*0\r\n");
        assert_eq!(events(&mut ks), vec!["zpopmin:k", "zpopmax:k", "zpopmin:k"]);
        let r = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            zmpop,
            &["ZMPOP", "2", "nokey", "k", "MAX", "COUNT", "10"],
        );
        assert_eq!(
            r.reply,
            "*2\r\n$1\r\nk\r\n*2\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            r.propagate,
            Some(cmd(&["ZPOPMAX", "k", "2"])),
            "the count actually popped"
        );
        assert_eq!(events(&mut ks), vec!["zpopmax:k", "del:k"]);
        assert_eq!(run(&mut ks, zmpop, &["ZMPOP", "1", "k", "MIN"]), "*-1\r\n");
        assert_eq!(run(&mut ks, zpopmin, &["ZPOPMIN", "k"]), "*0\r\n");
        assert_eq!(
            run(&mut ks, zmpop, &["ZMPOP", "0", "k", "MIN"]),
            "-ERR numkeys should be greater than 0\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zmpop,
                &["ZMPOP", "9223372036854775807", "k", "MIN"]
            ),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, zmpop, &["ZMPOP", "1", "k", "MIN", "COUNT", "0"]),
            "-ERR count should be greater than 0\r\n"
        );
        ks.set(0, b"s", Value::string(b"v"), false);
        assert_eq!(
            run(&mut ks, zmpop, &["ZMPOP", "2", "nokey", "s", "MIN"]),
            WT
        );
    }

    #[test]
    fn blocking_pops_serve_block_or_time_out() {
        let mut ks = Keyspace::new(1);
        ks.now_ms = 1_000;
        run(&mut ks, zadd, &["ZADD", "k", "1", "a", "2", "b", "3", "c"]);
        let r = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            bzpopmin,
            &["BZPOPMIN", "nokey", "k", "0"],
        );
        assert_eq!(r.reply, "*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n");
        assert_eq!(r.propagate, Some(cmd(&["ZPOPMIN", "k"])));
        assert!(r.block.is_none());
        let r = exec(
            &mut ks,
            Protocol::Resp3,
            true,
            bzmpop,
            &["BZMPOP", "0", "1", "k", "MAX", "COUNT", "5"],
        );
        assert_eq!(
            r.reply,
            "*2\r\n$1\r\nk\r\n*2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n"
        );
        assert_eq!(r.propagate, Some(cmd(&["ZPOPMAX", "k", "2"])));
        // Nothing to serve: block with no reply written.
        let r = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            bzpopmax,
            &["BZPOPMAX", "k", "x", "1.5"],
        );
        assert_eq!(r.reply, "");
        let block = r.block.expect("blocked");
        assert_eq!(
            block.keys,
            vec![Bytes::from_static(b"k"), Bytes::from_static(b"x")]
        );
        assert_eq!(block.deadline_ms, Some(2_500));
        assert_eq!(block.timeout_reply, TimeoutReply::NullArray);
        let r = exec(
            &mut ks,
            Protocol::Resp2,
            true,
            bzmpop,
            &["BZMPOP", "0", "1", "k", "MIN"],
        );
        assert_eq!(
            (r.reply.as_str(), r.block.map(|b| b.deadline_ms)),
            ("", Some(None))
        );
        // Inside MULTI: the timeout reply at once.
        let r = exec(
            &mut ks,
            Protocol::Resp2,
            false,
            bzpopmin,
            &["BZPOPMIN", "k", "0"],
        );
        assert_eq!((r.reply.as_str(), r.block.is_none()), ("*-1\r\n", true));
        assert_eq!(run3(&mut ks, bzmpop, &["BZMPOP", "0", "1", "k", "MIN"]), "");
        assert_eq!(
            run(&mut ks, bzpopmin, &["BZPOPMIN", "k", "-1"]),
            "-ERR timeout is negative\r\n"
        );
        assert_eq!(
            run(&mut ks, bzmpop, &["BZMPOP", "x", "1", "k", "foo"]),
            "-ERR syntax error\r\n"
        );
        ks.set(0, b"s", Value::string(b"v"), false);
        assert_eq!(run(&mut ks, bzpopmin, &["BZPOPMIN", "nokey", "s", "0"]), WT);
    }

    #[test]
    fn set_operations_take_plain_sets_as_score_one() {
        let mut ks = Keyspace::new(1);
        run(&mut ks, zadd, &["ZADD", "z1", "1", "a", "2", "b", "3", "c"]);
        run(
            &mut ks,
            zadd,
            &["ZADD", "z2", "10", "b", "20", "c", "30", "d"],
        );
        let limits = ks.limits;
        let mut s1 = Set::for_member(b"a");
        for m in ["a", "b", "x"] {
            s1.add(m.as_bytes(), &limits);
        }
        ks.set(0, b"s1", Value::Set(Box::new(s1)), false);
        let mut s2 = Set::for_member(b"1");
        for m in ["1", "2", "3"] {
            s2.add(m.as_bytes(), &limits);
        }
        ks.set(0, b"s2", Value::Set(Box::new(s2)), false);
        run(&mut ks, zadd, &["ZADD", "zn", "1", "1", "2", "2"]);
        let w = |s: &str| s.to_string();
        assert_eq!(
            run(&mut ks, zunion, &["ZUNION", "3", "z1", "z2", "s1", "WITHSCORES"]),
            w("*10\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$2\r\n13\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n30\r\n")
        );
        assert_eq!(
            run(&mut ks, zinter, &["ZINTER", "2", "z1", "s1", "WITHSCORES"]),
            "*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            run(&mut ks, zdiff, &["ZDIFF", "2", "s1", "z1", "WITHSCORES"]),
            "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"
        );
        assert_eq!(
            run(&mut ks, zunion, &["ZUNION", "2", "s2", "zn", "WITHSCORES"]),
            "*6\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zintercard,
                &["ZINTERCARD", "2", "z1", "z2", "LIMIT", "1"]
            ),
            ":1\r\n"
        );
        assert_eq!(
            run(&mut ks, zunion, &["ZUNION", "2", "z1", "z2", "WEIGHTS", "1", "-1", "AGGREGATE", "MAX", "WITHSCORES"]),
            "*8\r\n$1\r\nd\r\n$3\r\n-30\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            run(&mut ks, zunion, &["ZUNION", "0", "z1"]),
            "-ERR at least 1 input key is needed for 'zunion' command\r\n"
        );
        assert_eq!(
            run(&mut ks, zunion, &["ZUNION", "2", "z1"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, zunion, &["ZUNION", "1", "z1", "WEIGHTS", "x"]),
            "-ERR weight value is not a float\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zintercard,
                &["ZINTERCARD", "1", "z1", "LIMIT", "-1"]
            ),
            "-ERR LIMIT can't be negative\r\n"
        );
        ks.set(0, b"str", Value::string(b"v"), false);
        assert_eq!(
            run(
                &mut ks,
                zunion,
                &["ZUNION", "2", "str", "z1", "WEIGHTS", "x"]
            ),
            WT
        );
        // inf + -inf sums to 0, and 0 * inf weights to 0.
        run(&mut ks, zadd, &["ZADD", "i1", "+inf", "a", "1", "c"]);
        run(&mut ks, zadd, &["ZADD", "i2", "-inf", "a", "+inf", "c"]);
        assert_eq!(
            run(&mut ks, zinter, &["ZINTER", "2", "i1", "i2", "WITHSCORES"]),
            "*4\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nc\r\n$3\r\ninf\r\n"
        );
        ks.notify_flags = !0;
        assert_eq!(
            run(&mut ks, zinterstore, &["ZINTERSTORE", "d", "2", "z1", "z2"]),
            ":2\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zinterstore,
                &["ZINTERSTORE", "d", "2", "z1", "nokey"]
            ),
            ":0\r\n"
        );
        assert_eq!(events(&mut ks), vec!["new:d", "zinterstore:d", "del:d"]);
        assert!(ks.entry(0, b"d").is_none());
    }

    #[test]
    fn zrangestore_replaces_or_deletes_the_destination() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        run(
            &mut ks,
            zadd,
            &["ZADD", "src", "1", "a", "2", "b", "3", "c"],
        );
        ks.set(0, b"dst", Value::string(b"v"), false);
        events(&mut ks);
        assert_eq!(
            run(
                &mut ks,
                zrangestore,
                &["ZRANGESTORE", "dst", "src", "+inf", "2", "BYSCORE", "REV"]
            ),
            ":2\r\n"
        );
        assert_eq!(
            run(&mut ks, zrange, &["ZRANGE", "dst", "0", "-1"]),
            "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zrangestore,
                &["ZRANGESTORE", "dst", "src", "0", "-1", "WITHSCORES"]
            ),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zrangestore,
                &["ZRANGESTORE", "dst", "nokey", "0", "-1"]
            ),
            ":0\r\n"
        );
        assert_eq!(events(&mut ks), vec!["zrangestore:dst", "del:dst"]);
        assert_eq!(
            run(
                &mut ks,
                zrangestore,
                &["ZRANGESTORE", "dst", "nokey", "0", "-1"]
            ),
            ":0\r\n"
        );
        assert!(events(&mut ks).is_empty());
    }

    #[test]
    fn zscan_and_zrandmember() {
        let mut ks = Keyspace::new(1);
        run(
            &mut ks,
            zadd,
            &["ZADD", "k", "1", "a", "2.5", "b", "-0", "z"],
        );
        assert_eq!(
            run(&mut ks, zscan, &["ZSCAN", "k", "7", "COUNT", "1"]),
            "*2\r\n$1\r\n0\r\n*6\r\n$1\r\nz\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n"
        );
        assert_eq!(
            run(&mut ks, zscan, &["ZSCAN", "k", "0", "MATCH", "b*"]),
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$3\r\n2.5\r\n"
        );
        assert_eq!(
            run(&mut ks, zscan, &["ZSCAN", "k", "0", "TYPE", "zset"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, zscan, &["ZSCAN", "nokey", "0", "foo"]),
            "*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(
            run(&mut ks, zscan, &["ZSCAN", "nokey", "x"]),
            "-ERR invalid cursor\r\n"
        );
        // A whole set comes back from the top, as Redis's iterator walks it.
        assert_eq!(
            run(
                &mut ks,
                zrandmember,
                &["ZRANDMEMBER", "k", "5", "WITHSCORES"]
            ),
            "*6\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nz\r\n$1\r\n0\r\n"
        );
        assert_eq!(
            run(&mut ks, zrandmember, &["ZRANDMEMBER", "nokey", "5"]),
            "*0\r\n"
        );
        assert_eq!(
            run(&mut ks, zrandmember, &["ZRANDMEMBER", "nokey"]),
            "$-1\r\n"
        );
        assert_eq!(
            run(&mut ks, zrandmember, &["ZRANDMEMBER", "k", "-9223372036854775808"]),
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                zrandmember,
                &["ZRANDMEMBER", "k", "9223372036854775807", "WITHSCORES"]
            ),
            "-ERR value is out of range\r\n"
        );
        let r = run3(
            &mut ks,
            zrandmember,
            &["ZRANDMEMBER", "k", "-4", "WITHSCORES"],
        );
        assert!(r.starts_with("*4\r\n*2\r\n"), "{r}");
        let r = run(&mut ks, zrandmember, &["ZRANDMEMBER", "k", "2"]);
        assert!(r.starts_with("*2\r\n"), "{r}");
        // Large sets: a full ZSCAN sees every member.
        ks.limits.zset_max_listpack_entries = 0;
        let mut args = vec!["ZADD".to_string(), "big".to_string()];
        for i in 0..300 {
            args.push(i.to_string());
            args.push(format!("m{i}"));
        }
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run(&mut ks, zadd, &args);
        let mut seen = HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let reply = run(&mut ks, zscan, &["ZSCAN", "big", &cursor, "COUNT", "20"]);
            let (frame, _) = resp::parse_frame(reply.as_bytes()).unwrap().unwrap();
            let resp::Frame::Array(parts) = frame else {
                panic!("{reply}")
            };
            let resp::Frame::Bulk(c) = &parts[0] else {
                panic!()
            };
            let resp::Frame::Array(items) = &parts[1] else {
                panic!()
            };
            for pair in items.chunks(2) {
                if let resp::Frame::Bulk(m) = &pair[0] {
                    seen.insert(m.clone());
                }
            }
            cursor = String::from_utf8(c.clone()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 300);
    }

    type Case = (fn(&mut Ctx), &'static [&'static str]);

    #[test]
    fn every_command_refuses_other_types() {
        let mut ks = Keyspace::new(1);
        ks.set(0, b"s", Value::string(b"v"), false);
        let cases: &[Case] = &[
            (zadd, &["ZADD", "s", "1", "a"]),
            (zincrby, &["ZINCRBY", "s", "1", "a"]),
            (zrem, &["ZREM", "s", "a"]),
            (zcard, &["ZCARD", "s"]),
            (zscore, &["ZSCORE", "s", "a"]),
            (zmscore, &["ZMSCORE", "s", "a"]),
            (zrank, &["ZRANK", "s", "a"]),
            (zrevrank, &["ZREVRANK", "s", "a"]),
            (zcount, &["ZCOUNT", "s", "0", "1"]),
            (zlexcount, &["ZLEXCOUNT", "s", "-", "+"]),
            (zrange, &["ZRANGE", "s", "0", "1"]),
            (zrangestore, &["ZRANGESTORE", "d", "s", "0", "1"]),
            (zrevrange, &["ZREVRANGE", "s", "0", "1"]),
            (zrangebyscore, &["ZRANGEBYSCORE", "s", "0", "1"]),
            (zrevrangebyscore, &["ZREVRANGEBYSCORE", "s", "1", "0"]),
            (zrangebylex, &["ZRANGEBYLEX", "s", "-", "+"]),
            (zrevrangebylex, &["ZREVRANGEBYLEX", "s", "+", "-"]),
            (zremrangebyrank, &["ZREMRANGEBYRANK", "s", "0", "1"]),
            (zremrangebyscore, &["ZREMRANGEBYSCORE", "s", "0", "1"]),
            (zremrangebylex, &["ZREMRANGEBYLEX", "s", "-", "+"]),
            (zpopmin, &["ZPOPMIN", "s"]),
            (zpopmax, &["ZPOPMAX", "s", "0"]),
            (zmpop, &["ZMPOP", "1", "s", "MIN"]),
            (bzpopmin, &["BZPOPMIN", "s", "0"]),
            (bzpopmax, &["BZPOPMAX", "s", "0"]),
            (bzmpop, &["BZMPOP", "0", "1", "s", "MAX"]),
            (zunion, &["ZUNION", "1", "s"]),
            (zinter, &["ZINTER", "1", "s"]),
            (zdiff, &["ZDIFF", "1", "s"]),
            (zunionstore, &["ZUNIONSTORE", "d", "1", "s"]),
            (zinterstore, &["ZINTERSTORE", "d", "1", "s"]),
            (zdiffstore, &["ZDIFFSTORE", "d", "1", "s"]),
            (zintercard, &["ZINTERCARD", "1", "s"]),
            (zrandmember, &["ZRANDMEMBER", "s"]),
            (zrandmember, &["ZRANDMEMBER", "s", "0"]),
            (zscan, &["ZSCAN", "s", "0"]),
        ];
        for (f, args) in cases {
            assert_eq!(run(&mut ks, *f, args), WT, "{args:?}");
        }
    }
}

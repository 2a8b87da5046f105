//! SORT and SORT_RO: sorting lists, sets and sorted sets by their elements or by external keys
//! (`BY pattern`), fetching related keys (`GET pattern`), and storing the result as a list.
//!
//! The details follow Redis 7.0 closely, because they are visible to clients and replicas:
//! which keys are looked up and when, the "don't sort" shortcuts of `BY <constant>`, the
//! numeric parsing of C `strtod`, the stable sort of the full result and the partial quicksort
//! that Redis uses when both `BY` and a narrowing `LIMIT` are given (its order of ties shows).

use super::{eq_ic, Ctx, SYNTAX};
use crate::keyspace::{notify, Keyspace, WRONGTYPE};
use crate::types::list::{Elem, List};
use crate::types::set::Member;
use crate::value::Value;
use std::cmp::Ordering;

/// The reply when an element or weight is not a number in a numeric sort.
const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst]
pub fn sort(ctx: &mut Ctx) {
    sort_generic(ctx, false);
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
pub fn sort_ro(ctx: &mut Ctx) {
    sort_generic(ctx, true);
}

/// The parsed options of one SORT.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    /// The BY pattern (None when absent or when a set is sorted anyway, see below).
    by: Option<&'a [u8]>,
    /// BY a pattern without `*`: keep the collection's own order.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

/// Parses the options as Redis does, replying with its error on a bad one.
fn parse_options<'a>(ctx: &mut Ctx<'a>, readonly: bool) -> Option<Options<'a>> {
    let argv = ctx.argv;
    let mut o = Options {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        by: None,
        dontsort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j][..];
        if eq_ic(a, "asc") {
            o.desc = false;
        } else if eq_ic(a, "desc") {
            o.desc = true;
        } else if eq_ic(a, "alpha") {
            o.alpha = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            o.limit_start = ctx.int_arg(j + 1)?;
            o.limit_count = ctx.int_arg(j + 2)?;
            j += 2;
        } else if !readonly && eq_ic(a, "store") && left >= 1 {
            o.store = Some(&argv[j + 1][..]);
            j += 1;
        } else if eq_ic(a, "by") && left >= 1 {
            let pattern = &argv[j + 1][..];
            o.by = Some(pattern);
            // A pattern without `*` names no per-element key: nothing to sort by.
            if !c_str(pattern).contains(&b'*') {
                o.dontsort = true;
            }
            j += 1;
        } else if eq_ic(a, "get") && left >= 1 {
            o.gets.push(&argv[j + 1][..]);
            j += 1;
        } else {
            ctx.out.error(SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// The type of the value sorted (a missing key sorts as an empty list).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// One element to sort, with what it sorts by.
struct Item {
    obj: Box<[u8]>,
    /// The numeric weight (numeric sorts).
    score: f64,
    /// The looked-up weight (ALPHA sorts with BY); None when the key was missing.
    cmpobj: Option<Box<[u8]>>,
}

impl Item {
    fn new(obj: Box<[u8]>) -> Self {
        Item {
            obj,
            score: 0.0,
            cmpobj: None,
        }
    }
}

fn sort_generic(ctx: &mut Ctx, readonly: bool) {
    let Some(mut o) = parse_options(ctx, readonly) else {
        return;
    };
    let db = ctx.db;
    let key = ctx.arg(1);
    let kind = match ctx.ks.get(db, key) {
        None => None,
        Some(Value::List(_)) => Some(Kind::List),
        Some(Value::Set(_)) => Some(Kind::Set),
        Some(Value::ZSet(_)) => Some(Kind::ZSet),
        Some(_) => {
            ctx.out.error(WRONGTYPE);
            return;
        }
    };
    // A set has no order of its own: when the result is stored (and so replicated), sort it
    // anyway so that replicas store the same list.
    if o.dontsort && kind == Some(Kind::Set) && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    // Like Redis, SORT converts a compact sorted set to its skiplist form for good.
    if kind == Some(Kind::ZSet) {
        if let Some(e) = ctx.ks.dbs[db].data.get_mut(key) {
            if let Value::ZSet(z) = &mut e.value {
                z.convert_to_skiplist();
            }
        }
    }

    let (mut items, start, end) = load(ctx.ks, db, key, kind, &o);
    let vectorlen = items.len() as i64;

    let mut conversion_error = false;
    if !o.dontsort {
        for item in items.iter_mut() {
            // Whether the weight read is usable; missing weights leave 0 (or no cmpobj).
            let ok = match o.by {
                Some(pattern) => by_pattern(ctx.ks, db, pattern, &item.obj, |found| match found {
                    None => true,
                    Some(found) if o.alpha => {
                        item.cmpobj = Some(found.to_boxed());
                        true
                    }
                    Some(Found::Int(n)) => {
                        item.score = n as f64;
                        true
                    }
                    Some(Found::Str(s)) => score_of(s).map(|d| item.score = d).is_some(),
                }),
                None if o.alpha => true,
                None => score_of(&item.obj).map(|d| item.score = d).is_some(),
            };
            conversion_error |= !ok;
        }
        // Sorting has no side effects: skip it when nothing of it would show.
        if !conversion_error && end >= start {
            let spec = Spec {
                desc: o.desc,
                alpha: o.alpha,
                by: o.by.is_some(),
                store: o.store.is_some(),
            };
            let cmp = |a: &Item, b: &Item| spec.compare(a, b);
            if o.by.is_some() && (start != 0 || end != vectorlen - 1) {
                pqsort(&mut items, start as usize, end as usize, &cmp);
            } else {
                // glibc's qsort is a merge sort: stable, as this one.
                items.sort_by(cmp);
            }
        }
    }

    if conversion_error {
        ctx.out.error(NOT_DOUBLE);
        return;
    }
    let range = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &items[..0]
    };
    let outputlen = range.len() * o.gets.len().max(1);
    match o.store {
        None => {
            ctx.out.array(outputlen);
            for item in range {
                if o.gets.is_empty() {
                    ctx.out.bulk(&item.obj);
                }
                for pattern in &o.gets {
                    let out = &mut *ctx.out;
                    by_pattern(ctx.ks, db, pattern, &item.obj, |found| match found {
                        None => out.null(),
                        Some(Found::Int(n)) => out.bulk_int(n),
                        Some(Found::Str(s)) => out.bulk(s),
                    });
                }
            }
        }
        Some(dst) => {
            let mut list = List::new(ctx.ks.limits.list_max_listpack_size);
            for item in range {
                if o.gets.is_empty() {
                    list.push_back(&item.obj);
                }
                for pattern in &o.gets {
                    by_pattern(ctx.ks, db, pattern, &item.obj, |found| match found {
                        None => list.push_back(b""),
                        Some(Found::Int(n)) => list.push_back(n.to_string().as_bytes()),
                        Some(Found::Str(s)) => list.push_back(s),
                    });
                }
            }
            if outputlen > 0 {
                ctx.ks.set(db, dst, Value::List(Box::new(list)), false);
                ctx.ks
                    .changed_n(db, dst, notify::LIST, "sortstore", outputlen);
            } else if ctx.ks.remove_entry(db, dst).is_some() {
                // As Redis's dbDelete: even a key past its deadline counts as deleted.
                ctx.ks.changed(db, dst, notify::GENERIC, "del");
            }
            ctx.out.int(outputlen as i64);
        }
    }
}

/// Loads the elements to sort and the output range [start, end] (empty when end < start), as
/// Redis's LIMIT normalisation gives it. Lists and sorted sets that need no sorting load only
/// that range, in their own order (reversed by DESC).
fn load(
    ks: &Keyspace,
    db: usize,
    key: &[u8],
    kind: Option<Kind>,
    o: &Options,
) -> (Vec<Item>, i64, i64) {
    let value = kind
        .and_then(|_| ks.dbs[db].data.get(key))
        .map(|e| &e.value);
    let len = match value {
        Some(Value::List(l)) => l.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::ZSet(z)) => z.len(),
        _ => 0,
    } as i64;
    // Clamping first keeps the arithmetic in range whatever LIMIT says.
    let mut start = o.limit_start.clamp(0, len);
    let count = o.limit_count.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let whole = start == 0 && end == len - 1;
    let direct = o.dontsort && matches!(kind, Some(Kind::List | Kind::ZSet) | None);
    let take = if direct && !whole {
        (end - start + 1).max(0) as usize
    } else {
        len as usize
    };
    let mut items = Vec::with_capacity(take);
    match value {
        Some(Value::List(l)) if direct && end >= start => {
            let s = start as usize;
            let boxed = |e: Elem| Item::new(e.to_vec().into_boxed_slice());
            if o.desc {
                items.extend(l.iter_rev_from(l.len() - s - 1).take(take).map(boxed));
            } else {
                items.extend(l.iter_from(s).take(take).map(boxed));
            }
            end -= start;
            start = 0;
        }
        // An empty range of a list loads nothing, and keeps start and end as they are.
        Some(Value::List(_)) if direct => {}
        Some(Value::List(l)) => {
            items.extend(l.iter().map(|e| Item::new(e.to_vec().into_boxed_slice())));
        }
        Some(Value::Set(s)) => {
            items.extend(s.iter().map(|m: Member| Item::new(m.to_boxed())));
        }
        Some(Value::ZSet(z)) if direct => {
            if take > 0 {
                let s = start as usize;
                let iter = if o.desc {
                    z.iter_from(z.len() - s - 1, true)
                } else {
                    z.iter_from(s, false)
                };
                items.extend(iter.take(take).map(|(m, _)| Item::new(m.into())));
            }
            end -= start;
            start = 0;
        }
        Some(Value::ZSet(z)) => {
            items.extend(z.iter().map(|(m, _)| Item::new(m.into())));
        }
        _ => {}
    }
    (items, start, end)
}

/// What a pattern lookup found.
#[derive(Clone, Copy)]
enum Found<'v> {
    Int(i64),
    Str(&'v [u8]),
}

impl Found<'_> {
    fn to_boxed(self) -> Box<[u8]> {
        match self {
            Found::Int(n) => n.to_string().into_bytes().into_boxed_slice(),
            Found::Str(s) => s.into(),
        }
    }
}

/// The bytes of `s` up to its first NUL: what C string functions see of it.
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` of the
/// pattern is replaced by the element and the key read (a string, or with `->field` after
/// the `*`, a field of a hash). A pattern without `*` finds nothing. Calls `f` with the result.
fn by_pattern<R>(
    ks: &mut Keyspace,
    db: usize,
    pattern: &[u8],
    subst: &[u8],
    f: impl FnOnce(Option<Found<'_>>) -> R,
) -> R {
    if pattern.first() == Some(&b'#') && matches!(pattern.get(1), None | Some(0)) {
        return f(Some(Found::Str(subst)));
    }
    // Redis searches the pattern with C string functions, which stop at a NUL byte.
    let c = c_str(pattern);
    let Some(star) = c.iter().position(|&b| b == b'*') else {
        return f(None);
    };
    let arrow = c[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&i| i + 2 < c.len());
    let (key_end, field) = match arrow {
        Some(i) => (i, Some(&pattern[i + 2..])),
        None => (pattern.len(), None),
    };
    let mut name = Vec::with_capacity(key_end - 1 + subst.len());
    name.extend_from_slice(&pattern[..star]);
    name.extend_from_slice(subst);
    name.extend_from_slice(&pattern[star + 1..key_end]);
    match (ks.get(db, &name), field) {
        (Some(Value::Hash(h)), Some(field)) => f(h.get(field).map(Found::Str)),
        (Some(Value::Int(n)), None) => f(Some(Found::Int(*n))),
        (Some(Value::Emb(s)), None) => f(Some(Found::Str(s))),
        (Some(Value::Raw(s)), None) => f(Some(Found::Str(s))),
        (Some(Value::RawBuf(s)), None) => f(Some(Found::Str(s))),
        _ => f(None),
    }
}

extern "C" {
    fn strtod(s: *const std::os::raw::c_char, end: *mut *mut std::os::raw::c_char) -> f64;
}

/// C `errno` around a `strtod` call: glibc (and bionic) say exactly when a result is out of range.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod errno {
    use std::os::raw::c_int;

    extern "C" {
        fn __errno_location() -> *mut c_int;
    }

    /// `ERANGE` on Linux.
    const ERANGE: c_int = 34;

    pub fn clear() {
        // SAFETY: errno is a valid thread-local int.
        unsafe { *__errno_location() = 0 }
    }

    pub fn out_of_range(_value: f64, _text: &[u8]) -> bool {
        // SAFETY: as above.
        unsafe { *__errno_location() == ERANGE }
    }
}

/// Elsewhere: the cases glibc reports, told from the result (overflow to an infinity that was
/// not written as one, or a result below the normal range).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod errno {
    pub fn clear() {}

    pub fn out_of_range(value: f64, text: &[u8]) -> bool {
        let literal_inf = text
            .iter()
            .find(|b| !b.is_ascii_whitespace() && **b != b'+' && **b != b'-')
            .is_some_and(|b| b.eq_ignore_ascii_case(&b'i'));
        (value.is_infinite() && !literal_inf) || (value != 0.0 && !value.is_normal())
    }
}

/// A weight as SORT reads it: C `strtod` over the string up to its first NUL, which must be
/// consumed whole (so the empty string is 0, leading blanks pass, trailing ones do not), with
/// neither NaN nor a range error (overflow, or an inexact result below the normal range).
fn score_of(s: &[u8]) -> Option<f64> {
    let c = c_str(s);
    let mut small = [0u8; 64];
    let mut big = Vec::new();
    let buf: &[u8] = if c.len() < small.len() {
        small[..c.len()].copy_from_slice(c);
        &small[..=c.len()]
    } else {
        big.reserve_exact(c.len() + 1);
        big.extend_from_slice(c);
        big.push(0);
        &big
    };
    let mut end: *mut std::os::raw::c_char = std::ptr::null_mut();
    errno::clear();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod reads up to that NUL and
    // stores a pointer into `buf` in `end`.
    let (value, consumed) = unsafe {
        let value = strtod(buf.as_ptr().cast(), &mut end);
        let consumed = end.cast_const().cast::<u8>().offset_from(buf.as_ptr()) as usize;
        (value, consumed)
    };
    let bad = consumed != c.len() || errno::out_of_range(value, c) || value.is_nan();
    (!bad).then_some(value)
}

/// How two items compare (Redis's `sortCompare`).
struct Spec {
    desc: bool,
    alpha: bool,
    by: bool,
    store: bool,
}

impl Spec {
    fn compare(&self, a: &Item, b: &Item) -> Ordering {
        let ord = if !self.alpha {
            if a.score > b.score {
                Ordering::Greater
            } else if a.score < b.score {
                Ordering::Less
            } else {
                // Equal weights: the elements' bytes decide, so the result is deterministic.
                a.obj.cmp(&b.obj)
            }
        } else if self.by {
            match (&a.cmpobj, &b.cmpobj) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => self.collate(x, y),
            }
        } else {
            self.collate(&a.obj, &b.obj)
        };
        if self.desc {
            ord.reverse()
        } else {
            ord
        }
    }

    /// Stored results compare binary-safe; replies use strcoll, which in the C locale is
    /// strcmp: byte order up to the first NUL.
    fn collate(&self, a: &[u8], b: &[u8]) -> Ordering {
        if self.store {
            a.cmp(b)
        } else {
            c_str(a).cmp(c_str(b))
        }
    }
}

/// Redis's partial quicksort (`pqsort`, the Bentley–McIlroy quicksort of BSD libc that skips
/// partitions outside [lo, hi]): afterwards positions lo..=hi hold what a full sort would put
/// there. The order it leaves equal items in is part of SORT's output, so the algorithm is
/// followed step for step, as Redis 7.0 has it (without the later switch to insertion sort
/// after a partition that swapped nothing); partitions wait on an explicit stack rather than
/// the call stack.
fn pqsort<T>(v: &mut [T], lo: usize, hi: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    let overlaps = |base: usize, n: usize| !(hi < base || lo >= base + n);
    let mut todo = vec![(0usize, v.len())];
    while let Some((mut base, mut n)) = todo.pop() {
        loop {
            if n < 7 {
                insertion_sort(v, base, n, cmp);
                break;
            }
            let mut pm = base + n / 2;
            if n > 7 {
                let mut pl = base;
                let mut pn = base + n - 1;
                if n > 40 {
                    let d = n / 8;
                    pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                    pm = med3(v, pm - d, pm, pm + d, cmp);
                    pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
                }
                pm = med3(v, pl, pm, pn, cmp);
            }
            v.swap(base, pm);
            // Items equal to the pivot gather at both ends, smaller and larger ones between.
            let (mut pa, mut pb) = (base + 1, base + 1);
            let (mut pc, mut pd) = (base + n - 1, base + n - 1);
            loop {
                while pb <= pc {
                    let r = cmp(&v[pb], &v[base]);
                    if r == Ordering::Greater {
                        break;
                    }
                    if r == Ordering::Equal {
                        v.swap(pa, pb);
                        pa += 1;
                    }
                    pb += 1;
                }
                while pb <= pc {
                    let r = cmp(&v[pc], &v[base]);
                    if r == Ordering::Less {
                        break;
                    }
                    if r == Ordering::Equal {
                        v.swap(pc, pd);
                        pd -= 1;
                    }
                    pc -= 1;
                }
                if pb > pc {
                    break;
                }
                v.swap(pb, pc);
                pb += 1;
                pc -= 1;
            }
            let pn = base + n;
            let r = (pa - base).min(pb - pa);
            swap_runs(v, base, pb - r, r);
            let r = (pd - pc).min(pn - pd - 1);
            swap_runs(v, pb, pn - r, r);
            let left = pb - pa;
            if left > 1 && overlaps(base, left) {
                todo.push((base, left));
            }
            let right = pd - pc;
            if right > 1 && overlaps(pn - right, right) {
                base = pn - right;
                n = right;
                continue;
            }
            break;
        }
    }
}

fn insertion_sort<T>(v: &mut [T], base: usize, n: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    for pm in base + 1..base + n {
        let mut pl = pm;
        while pl > base && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
            v.swap(pl, pl - 1);
            pl -= 1;
        }
    }
}

/// The index of the median of three.
fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    let lt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Less;
    let gt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Greater;
    if lt(a, b) {
        if lt(b, c) {
            b
        } else if lt(a, c) {
            c
        } else {
            a
        }
    } else if gt(b, c) {
        b
    } else if lt(a, c) {
        a
    } else {
        c
    }
}

/// Swaps the `n` items from `a` with the `n` items from `b`, pairwise in order.
fn swap_runs<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{hash, list, set, string, zset};
    use bytes::Bytes;
    use proptest::prelude::*;
    use resp::{Out, Protocol};

    type Propagated = Option<Vec<Vec<Bytes>>>;

    fn exec(
        ks: &mut Keyspace,
        proto: Protocol,
        f: fn(&mut Ctx),
        args: &[&[u8]],
    ) -> (Vec<u8>, Propagated) {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = Out::new(proto);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        f(&mut ctx);
        let p = ctx.propagate.take();
        (out.buf, p)
    }

    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        String::from_utf8_lossy(&exec(ks, Protocol::Resp2, f, &args).0).into_owned()
    }

    /// The reply to SORT `args` (after the key) as its bulk strings, nil as "(nil)".
    fn sorted(ks: &mut Keyspace, args: &str) -> Vec<String> {
        let mut argv = vec!["SORT"];
        argv.extend(args.split(' '));
        let reply = run(ks, sort, &argv);
        parse_bulks(&reply)
    }

    fn parse_bulks(reply: &str) -> Vec<String> {
        let (frame, _) = resp::parse_frame(reply.as_bytes())
            .unwrap()
            .unwrap_or_else(|| panic!("incomplete {reply:?}"));
        let resp::Frame::Array(items) = frame else {
            panic!("not an array: {reply:?}")
        };
        items
            .into_iter()
            .map(|f| match f {
                resp::Frame::Bulk(b) => String::from_utf8(b).unwrap(),
                resp::Frame::Null => "(nil)".to_string(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn keyspace() -> Keyspace {
        let mut ks = Keyspace::new(16);
        ks.notify_flags = !0;
        ks
    }

    const WRONG: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    const NOT_DBL: &str = "-ERR One or more scores can't be converted into double\r\n";

    #[test]
    fn numeric_and_alpha_sorts_of_a_list() {
        let mut ks = keyspace();
        run(
            &mut ks,
            list::rpush,
            &[
                "RPUSH", "l", "3", "1", "2", "10", "-5", "2.5", "0x10", "inf", "-inf", " 7", "",
            ],
        );
        assert_eq!(
            sorted(&mut ks, "l"),
            strs(&["-inf", "-5", "", "1", "2", "2.5", "3", " 7", "10", "0x10", "inf"])
        );
        assert_eq!(
            sorted(&mut ks, "l DESC LIMIT 0 3"),
            strs(&["inf", "0x10", "10"])
        );
        assert_eq!(
            sorted(&mut ks, "l ALPHA"),
            strs(&["", " 7", "-5", "-inf", "0x10", "1", "10", "2", "2.5", "3", "inf"])
        );
        // Equal numbers fall back to the elements' bytes.
        run(
            &mut ks,
            list::rpush,
            &["RPUSH", "e", "1.0", "1", "01", "1e0"],
        );
        assert_eq!(sorted(&mut ks, "e"), strs(&["01", "1", "1.0", "1e0"]));
        assert_eq!(sorted(&mut ks, "e DESC"), strs(&["1e0", "1.0", "1", "01"]));
        // Not numbers.
        run(&mut ks, list::rpush, &["RPUSH", "bad", "1", "x", "2"]);
        assert_eq!(run(&mut ks, sort, &["SORT", "bad"]), NOT_DBL);
        assert_eq!(sorted(&mut ks, "bad ALPHA"), strs(&["1", "2", "x"]));
        run(&mut ks, list::rpush, &["RPUSH", "nan", "nan"]);
        assert_eq!(run(&mut ks, sort, &["SORT", "nan"]), NOT_DBL);
    }

    #[test]
    fn weights_parse_as_c_strtod() {
        assert_eq!(score_of(b""), Some(0.0));
        assert_eq!(score_of(b"  12"), Some(12.0));
        assert_eq!(score_of(b"12 "), None);
        assert_eq!(score_of(b" "), None);
        assert_eq!(score_of(b"0x1p4"), Some(16.0));
        assert_eq!(score_of(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(score_of(b"1e308"), Some(1e308));
        assert_eq!(score_of(b"12\0junk"), Some(12.0), "C strings end at NUL");
        assert_eq!(score_of(b"nan"), None);
        assert_eq!(score_of(b"1e309"), None, "overflow");
        assert_eq!(score_of(b"1e-400"), None, "underflow");
        assert_eq!(score_of(b"1e-310"), None, "inexact subnormal");
        assert_eq!(
            score_of(b"0x1p-1074"),
            Some(f64::from_bits(1)),
            "exact subnormal"
        );
        let long = format!("{}5", "0".repeat(100));
        assert_eq!(score_of(long.as_bytes()), Some(5.0));
        // An earlier range error does not linger.
        assert_eq!(score_of(b"1.5"), Some(1.5));
    }

    #[test]
    fn limit_is_normalised_like_redis() {
        let mut ks = keyspace();
        run(
            &mut ks,
            list::rpush,
            &["RPUSH", "l", "5", "4", "3", "2", "1"],
        );
        let cases: &[(&str, &[&str])] = &[
            ("0 2", &["1", "2"]),
            ("3 10", &["4", "5"]),
            ("-3 2", &["1", "2"]),
            ("2 -1", &["3", "4", "5"]),
            ("2 -100", &["3", "4", "5"]),
            ("0 0", &[]),
            ("5 1", &[]),
            ("100 1", &[]),
            ("2 9223372036854775807", &["3", "4", "5"]),
            ("9223372036854775807 9223372036854775807", &[]),
            (
                "-9223372036854775808 -9223372036854775808",
                &["1", "2", "3", "4", "5"],
            ),
        ];
        for (limit, want) in cases {
            for by in ["", " BY nosort", " BY w_*"] {
                let got = sorted(&mut ks, &format!("l LIMIT {limit}{by}"));
                let want: Vec<String> = if by == " BY nosort" {
                    // The list's own order: 5 4 3 2 1.
                    let all = ["5", "4", "3", "2", "1"];
                    let full = sorted(&mut ks, &format!("l LIMIT {limit}"));
                    let n = full.len();
                    let start = if n == 0 {
                        0
                    } else {
                        all.iter()
                            .position(|e| e == &full[0])
                            .map(|p| 4 - p)
                            .unwrap()
                    };
                    strs(&all[start..start + n])
                } else {
                    strs(want)
                };
                assert_eq!(got, want, "LIMIT {limit}{by}");
            }
        }
        assert_eq!(
            run(&mut ks, sort, &["SORT", "l", "LIMIT", "x", "1"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            run(&mut ks, sort, &["SORT", "l", "LIMIT", "1"]),
            "-ERR syntax error\r\n"
        );
    }

    #[test]
    fn by_and_get_patterns() {
        let mut ks = keyspace();
        run(&mut ks, list::rpush, &["RPUSH", "ids", "1", "2", "3"]);
        run(
            &mut ks,
            string::mset,
            &[
                "MSET", "w_1", "30", "w_2", "10", "w_3", "20", "name_2", "two",
            ],
        );
        run(
            &mut ks,
            hash::hset,
            &["HSET", "h_1", "age", "5", "n", "one"],
        );
        run(&mut ks, hash::hset, &["HSET", "h_3", "age", "1"]);
        assert_eq!(sorted(&mut ks, "ids BY w_*"), strs(&["2", "3", "1"]));
        assert_eq!(
            sorted(&mut ks, "ids BY w_* DESC GET # GET w_*"),
            strs(&["1", "30", "3", "20", "2", "10"])
        );
        // Missing weights count as 0 (numeric) or sort first (ALPHA).
        assert_eq!(sorted(&mut ks, "ids BY h_*->age"), strs(&["2", "3", "1"]));
        assert_eq!(
            sorted(&mut ks, "ids BY h_*->n ALPHA"),
            strs(&["2", "3", "1"])
        );
        assert_eq!(
            sorted(&mut ks, "ids BY h_*->n ALPHA DESC"),
            strs(&["1", "2", "3"])
        );
        assert_eq!(
            sorted(
                &mut ks,
                "ids GET name_* GET h_*->n GET h_*->age GET fixed GET #"
            ),
            strs(&[
                "(nil)", "one", "5", "(nil)", "1", "two", "(nil)", "(nil)", "(nil)", "2", "(nil)",
                "(nil)", "1", "(nil)", "3"
            ])
        );
        // `->` right after `*` without a field name is part of the key; a hash read as a
        // string (or a string read as a hash) is missing.
        run(&mut ks, string::set, &["SET", "w_1->", "arrow"]);
        assert_eq!(
            sorted(&mut ks, "ids BY nosort GET w_*-> GET h_* GET w_*->x"),
            strs(&[
                "arrow", "(nil)", "(nil)", "(nil)", "(nil)", "(nil)", "(nil)", "(nil)", "(nil)"
            ])
        );
        // A weight that is not a number fails the whole sort, after all lookups.
        run(&mut ks, string::set, &["SET", "w_2", "abc"]);
        assert_eq!(run(&mut ks, sort, &["SORT", "ids", "BY", "w_*"]), NOT_DBL);
        // NUL bytes end the pattern as C sees it.
        let r = exec(
            &mut ks,
            Protocol::Resp2,
            sort,
            &[
                b"SORT", b"ids", b"BY", b"nosort", b"GET", b"#\0x", b"GET", b"w_\0*",
            ],
        )
        .0;
        assert_eq!(
            parse_bulks(std::str::from_utf8(&r).unwrap()),
            strs(&["1", "(nil)", "2", "(nil)", "3", "(nil)"])
        );
        let r = exec(
            &mut ks,
            Protocol::Resp2,
            sort,
            &[b"SORT", b"ids", b"BY", b"w_\0*", b"DESC"],
        )
        .0;
        assert_eq!(
            parse_bulks(std::str::from_utf8(&r).unwrap()),
            strs(&["3", "2", "1"]),
            "no `*`: unsorted"
        );
        // RESP3 nulls.
        let r = exec(
            &mut ks,
            Protocol::Resp3,
            sort,
            &[
                b"SORT", b"ids", b"BY", b"nosort", b"GET", b"nokey_*", b"LIMIT", b"0", b"1",
            ],
        )
        .0;
        assert_eq!(r, b"*1\r\n_\r\n");
    }

    #[test]
    fn lookups_count_hits_and_misses() {
        let mut ks = keyspace();
        run(&mut ks, list::rpush, &["RPUSH", "ids", "1", "2"]);
        run(&mut ks, string::set, &["SET", "w_1", "1"]);
        ks.stats = Default::default();
        ks.notifications.clear();
        sorted(&mut ks, "ids BY w_* GET w_* GET #");
        assert_eq!((ks.stats.keyspace_hits, ks.stats.keyspace_misses), (3, 2));
        let misses: Vec<_> = ks.notifications.iter().map(|n| n.key.clone()).collect();
        assert_eq!(
            misses,
            vec![Bytes::from_static(b"w_2"), Bytes::from_static(b"w_2")]
        );
    }

    #[test]
    fn by_constant_keeps_each_types_order() {
        let mut ks = keyspace();
        run(&mut ks, list::rpush, &["RPUSH", "l", "5", "3", "9", "1"]);
        assert_eq!(sorted(&mut ks, "l BY nosort"), strs(&["5", "3", "9", "1"]));
        assert_eq!(
            sorted(&mut ks, "l BY nosort DESC LIMIT 1 2"),
            strs(&["9", "3"])
        );
        assert_eq!(sorted(&mut ks, "l BY nosort DESC LIMIT 3 5"), strs(&["5"]));
        run(
            &mut ks,
            zset::zadd,
            &["ZADD", "z", "3", "c", "1", "a", "2", "b"],
        );
        assert_eq!(ks.entry(0, b"z").unwrap().value.encoding(), "listpack");
        assert_eq!(sorted(&mut ks, "z BY nosort"), strs(&["a", "b", "c"]));
        assert_eq!(
            ks.entry(0, b"z").unwrap().value.encoding(),
            "skiplist",
            "SORT converts the sorted set for good"
        );
        assert_eq!(
            sorted(&mut ks, "z BY nosort DESC LIMIT 1 5"),
            strs(&["b", "a"])
        );
        assert_eq!(
            sorted(&mut ks, "z BY nosort LIMIT 2 0"),
            Vec::<String>::new()
        );
        assert_eq!(sorted(&mut ks, "z ALPHA DESC"), strs(&["c", "b", "a"]));
        // A set keeps its iteration order (DESC ignored) unless the result is stored, when it
        // is sorted ALPHA (DESC applies) so that replicas agree.
        run(&mut ks, set::sadd, &["SADD", "s", "30", "4", "200"]);
        assert_eq!(
            sorted(&mut ks, "s BY nosort DESC"),
            strs(&["4", "30", "200"])
        );
        assert_eq!(
            run(
                &mut ks,
                sort,
                &["SORT", "s", "BY", "nosort", "DESC", "STORE", "d"]
            ),
            ":3\r\n"
        );
        assert_eq!(
            run(&mut ks, list::lrange, &["LRANGE", "d", "0", "-1"]),
            "*3\r\n$1\r\n4\r\n$2\r\n30\r\n$3\r\n200\r\n"
        );
    }

    #[test]
    fn store_replaces_deletes_and_notifies() {
        let mut ks = keyspace();
        run(&mut ks, list::rpush, &["RPUSH", "src", "3", "1", "2"]);
        run(&mut ks, string::set, &["SET", "dst", "x"]);
        ks.set_expire(0, b"dst", 1_000_000);
        ks.watch(7, 0, b"dst");
        ks.notifications.clear();
        let dirty = ks.dirty;
        let (reply, prop) = exec(
            &mut ks,
            Protocol::Resp2,
            sort,
            &[
                b"SORT", b"src", b"GET", b"#", b"GET", b"nokey_*", b"STORE", b"dst",
            ],
        );
        assert_eq!(reply, b":6\r\n");
        assert_eq!(prop, None, "propagated as is");
        assert_eq!(ks.dirty, dirty + 6);
        assert_eq!(ks.expire_of(0, b"dst"), None);
        assert_eq!(ks.invalidated_watchers, vec![7]);
        assert_eq!(ks.entry(0, b"dst").unwrap().value.encoding(), "quicklist");
        assert_eq!(
            run(&mut ks, list::lrange, &["LRANGE", "dst", "0", "-1"]),
            "*6\r\n$1\r\n1\r\n$0\r\n\r\n$1\r\n2\r\n$0\r\n\r\n$1\r\n3\r\n$0\r\n\r\n"
        );
        let events: Vec<_> = ks
            .notifications
            .drain(..)
            .filter(|n| n.class != notify::KEY_MISS)
            .map(|n| (n.event, n.key))
            .collect();
        assert_eq!(events, vec![("sortstore", Bytes::from_static(b"dst"))]);
        // An empty result deletes the destination (one change), or does nothing.
        let dirty = ks.dirty;
        assert_eq!(
            run(
                &mut ks,
                sort,
                &["SORT", "src", "LIMIT", "9", "9", "STORE", "dst"]
            ),
            ":0\r\n"
        );
        assert!(!ks.exists(0, b"dst"));
        assert_eq!(ks.dirty, dirty + 1);
        assert_eq!(
            run(&mut ks, sort, &["SORT", "nokey", "STORE", "dst"]),
            ":0\r\n"
        );
        assert_eq!(ks.dirty, dirty + 1);
        let events: Vec<_> = ks
            .notifications
            .drain(..)
            .filter(|n| n.class != notify::KEY_MISS)
            .map(|n| n.event)
            .collect();
        assert_eq!(events, vec!["del"]);
        // A new destination; the source itself may be the destination.
        assert_eq!(
            run(&mut ks, sort, &["SORT", "src", "DESC", "STORE", "src"]),
            ":3\r\n"
        );
        assert_eq!(sorted(&mut ks, "src BY nosort"), strs(&["3", "2", "1"]));
        // A failed sort stores nothing.
        run(&mut ks, list::rpush, &["RPUSH", "bad", "x"]);
        assert_eq!(
            run(&mut ks, sort, &["SORT", "bad", "STORE", "src"]),
            NOT_DBL
        );
        assert_eq!(sorted(&mut ks, "src BY nosort"), strs(&["3", "2", "1"]));
    }

    #[test]
    fn errors_and_sort_ro() {
        let mut ks = keyspace();
        run(&mut ks, string::set, &["SET", "str", "v"]);
        run(&mut ks, list::rpush, &["RPUSH", "l", "2", "1"]);
        assert_eq!(run(&mut ks, sort, &["SORT", "str"]), WRONG);
        assert_eq!(run(&mut ks, sort_ro, &["SORT_RO", "str"]), WRONG);
        assert_eq!(
            run(&mut ks, sort, &["SORT", "str", "foo"]),
            "-ERR syntax error\r\n",
            "options first"
        );
        assert_eq!(run(&mut ks, sort, &["SORT", "nokey"]), "*0\r\n");
        for bad in [
            &["SORT", "l", "BY"][..],
            &["SORT", "l", "GET"],
            &["SORT", "l", "STORE"],
            &["SORT", "l", "LIMIT", "1"],
        ] {
            assert_eq!(run(&mut ks, sort, bad), "-ERR syntax error\r\n", "{bad:?}");
        }
        assert_eq!(
            run(&mut ks, sort_ro, &["SORT_RO", "l", "STORE", "d"]),
            "-ERR syntax error\r\n"
        );
        assert!(!ks.exists(0, b"d"));
        assert_eq!(
            run(
                &mut ks,
                sort_ro,
                &["SORT_RO", "l", "desc", "alpha", "limit", "0", "1"]
            ),
            "*1\r\n$1\r\n2\r\n"
        );
    }

    #[test]
    fn partial_sort_leaves_ties_as_redis_does() {
        // Checked against redis-server 7.0.15: one weight, the other keys missing.
        let mut ks = keyspace();
        run(
            &mut ks,
            list::rpush,
            &["RPUSH", "k", "247", "647", "864", "182", "71", "263", "677"],
        );
        run(&mut ks, hash::hset, &["HSET", "h_182", "f", "0"]);
        assert_eq!(
            sorted(&mut ks, "k BY h_*->f ALPHA LIMIT 2 4"),
            strs(&["864", "247", "71", "263"])
        );
        assert_eq!(
            sorted(&mut ks, "k BY h_*->f ALPHA LIMIT 1 7"),
            strs(&["647", "864", "247", "71", "263", "182"])
        );
        assert_eq!(
            sorted(&mut ks, "k BY h_*->f ALPHA"),
            strs(&["247", "647", "864", "71", "263", "677", "182"])
        );
        let mut ks = keyspace();
        run(
            &mut ks,
            list::rpush,
            &[
                "RPUSH", "t", "c", "a", "b", "d", "e", "f", "g", "h", "i", "j",
            ],
        );
        assert_eq!(
            sorted(&mut ks, "t BY nokey_* ALPHA LIMIT 2 3"),
            strs(&["b", "d", "e"])
        );
        assert_eq!(
            sorted(&mut ks, "t BY nokey_* ALPHA DESC LIMIT 1 4"),
            strs(&["a", "b", "d", "e"])
        );
    }

    #[test]
    fn huge_limits_and_many_gets_stay_bounded() {
        let mut ks = keyspace();
        run(&mut ks, list::rpush, &["RPUSH", "l", "1", "2"]);
        let mut args = vec!["SORT", "l", "LIMIT", "0", "9223372036854775807"];
        for _ in 0..1000 {
            args.extend(["GET", "#"]);
        }
        let reply = run(&mut ks, sort, &args);
        assert!(reply.starts_with("*2000\r\n"));
        assert_eq!(
            sorted(
                &mut ks,
                "l BY nosort LIMIT 9223372036854775806 9223372036854775807"
            ),
            Vec::<String>::new()
        );
    }

    proptest! {
        #[test]
        fn pqsort_sorts_the_requested_range(
            v in proptest::collection::vec(0u32..1000, 0..300),
            a in 0usize..300,
            b in 0usize..300,
        ) {
            prop_assume!(!v.is_empty());
            let n = v.len();
            let (lo, hi) = (a.min(b) % n, a.max(b) % n);
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            let mut got = v.clone();
            pqsort(&mut got, lo, hi, &|x: &u32, y: &u32| x.cmp(y));
            let mut want = v.clone();
            want.sort();
            prop_assert_eq!(&got[lo..=hi], &want[lo..=hi]);
            got.sort();
            prop_assert_eq!(got, want, "a permutation");
        }

        #[test]
        fn any_arguments_are_answered(args in proptest::collection::vec(
            prop_oneof![
                Just("BY".to_string()), Just("GET".to_string()), Just("LIMIT".to_string()),
                Just("STORE".to_string()), Just("ALPHA".to_string()), Just("DESC".to_string()),
                Just("#".to_string()), Just("w_*".to_string()), Just("h_*->f".to_string()),
                Just("nosort".to_string()), Just("d".to_string()),
                any::<i64>().prop_map(|n| n.to_string()), "[a-z*#>-]{0,4}",
            ],
            0..12,
        ), key in prop_oneof![Just("l"), Just("s"), Just("z"), Just("str"), Just("none")]) {
            let mut ks = keyspace();
            run(&mut ks, list::rpush, &["RPUSH", "l", "3", "1", "x", "2"]);
            run(&mut ks, set::sadd, &["SADD", "s", "3", "1", "b"]);
            run(&mut ks, zset::zadd, &["ZADD", "z", "1", "a", "2", "3"]);
            run(&mut ks, string::mset, &["MSET", "str", "v", "w_1", "2", "w_3", "1.5"]);
            run(&mut ks, hash::hset, &["HSET", "h_x", "f", "9"]);
            let mut argv = vec!["SORT", key];
            argv.extend(args.iter().map(|s| s.as_str()));
            for f in [sort as fn(&mut Ctx), sort_ro] {
                let reply = run(&mut ks, f, &argv);
                prop_assert!(resp::parse_frame(reply.as_bytes()).unwrap().is_some(), "{reply:?}");
            }
        }
    }
}

//! LCS: the longest common subsequence of two strings, with Redis 7.0's replies.

use super::{Ctx, NOT_INT, SYNTAX};
use crate::num::parse_i64;
use std::borrow::Cow;

/// Reply when a key holds something other than a string (LCS does not use WRONGTYPE).
pub const NOT_STRINGS: &str = "ERR The specified keys must contain string values";
/// Reply when both LEN and IDX are given.
pub const LEN_AND_IDX: &str = "ERR If you want both the length and indexes, please just use IDX.";
/// Reply when a string is too long to index with 32 bits.
pub const TOO_LONG: &str = "ERR String too long for LCS";
/// Reply when the dynamic-programming table would exceed `proto-max-bulk-len` bytes.
pub const TABLE_TOO_BIG: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
/// Reply when the table cannot be allocated.
pub const ALLOC_FAILED: &str =
    "ERR Insufficient memory, failed allocating transient memory for LCS";

/// Case-insensitive keyword match with C `strcasecmp` semantics (the argument ends at a NUL).
fn cstr_eq_ic(arg: &[u8], word: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// One matching range: positions in the first and second string, inclusive, and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    a: (u32, u32),
    b: (u32, u32),
    len: u32,
}

/// Length of the LCS using two rows only.
fn lcs_len(a: &[u8], b: &[u8]) -> u32 {
    let mut prev = vec![0u32; b.len() + 1];
    let mut cur = vec![0u32; b.len() + 1];
    for &ca in a {
        for j in 1..=b.len() {
            cur[j] = if ca == b[j - 1] {
                prev[j - 1] + 1
            } else {
                prev[j].max(cur[j - 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The LCS string and its matching ranges (last first), walking the full table backwards with
/// Redis's tie-breaking. None if the table cannot be allocated.
fn lcs_full(a: &[u8], b: &[u8], min_match: u64) -> Option<(Vec<u8>, Vec<Range>)> {
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let cells = (alen + 1) * w;
    let mut t: Vec<u32> = Vec::new();
    t.try_reserve_exact(cells).ok()?;
    t.resize(cells, 0);
    for i in 1..=alen {
        let (done, rest) = t.split_at_mut(i * w);
        let prev = &done[(i - 1) * w..];
        let cur = &mut rest[..w];
        let ca = a[i - 1];
        for j in 1..=blen {
            cur[j] = if ca == b[j - 1] {
                prev[j - 1] + 1
            } else {
                prev[j].max(cur[j - 1])
            };
        }
    }
    let at = |i: usize, j: usize| t[i * w + j];
    let mut idx = at(alen, blen) as usize;
    let mut lcs = vec![0u8; idx];
    let mut ranges = Vec::new();
    // `None` means no range is being tracked.
    let mut cur: Option<Range> = None;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            lcs[idx - 1] = a[i - 1];
            let (ai, bj) = ((i - 1) as u32, (j - 1) as u32);
            match &mut cur {
                None => {
                    cur = Some(Range {
                        a: (ai, ai),
                        b: (bj, bj),
                        len: 0,
                    })
                }
                Some(r) => {
                    if r.a.0 == i as u32 && r.b.0 == j as u32 {
                        r.a.0 -= 1;
                        r.b.0 -= 1;
                    } else {
                        emit = true;
                    }
                }
            }
            if let Some(r) = &cur {
                if r.a.0 == 0 || r.b.0 == 0 {
                    emit = true;
                }
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            if cur.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some(mut r) = cur.take() {
                r.len = r.a.1 - r.a.0 + 1;
                if min_match == 0 || r.len as u64 >= min_match {
                    ranges.push(r);
                }
            }
        }
    }
    Some((lcs, ranges))
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
pub fn lcs(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let db = ctx.db;
    // Both keys are looked up (hits and misses counted) before either type is checked.
    let a_ok = ctx.ks.get(db, &argv[1]).is_none_or(|v| v.is_string());
    let b_ok = ctx.ks.get(db, &argv[2]).is_none_or(|v| v.is_string());
    if !a_ok || !b_ok {
        return ctx.out.error(NOT_STRINGS);
    }
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let opt = &argv[j];
        let more = argv.len() - 1 - j;
        if cstr_eq_ic(opt, "IDX") {
            get_idx = true;
        } else if cstr_eq_ic(opt, "LEN") {
            get_len = true;
        } else if cstr_eq_ic(opt, "WITHMATCHLEN") {
            with_match_len = true;
        } else if cstr_eq_ic(opt, "MINMATCHLEN") && more > 0 {
            let Some(n) = parse_i64(&argv[j + 1]) else {
                return ctx.out.error(NOT_INT);
            };
            min_match = n.max(0);
            j += 1;
        } else {
            return ctx.out.error(SYNTAX);
        }
        j += 1;
    }
    if get_idx && get_len {
        return ctx.out.error(LEN_AND_IDX);
    }
    let ks = &*ctx.ks;
    let bytes_of = |k: &[u8]| -> Cow<'_, [u8]> {
        ks.entry(db, k)
            .and_then(|e| e.value.as_bytes())
            .unwrap_or(Cow::Borrowed(&[]))
    };
    let (a, b) = (bytes_of(&argv[1]), bytes_of(&argv[2]));
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return ctx.out.error(TOO_LONG);
    }
    // Redis allocates (len1+1)*(len2+1) 32-bit cells and refuses tables over proto-max-bulk-len.
    let cells = (a.len() as u128 + 1) * (b.len() as u128 + 1);
    if cells * 4 > ctx.ks.max_string_len as u128 || cells * 4 > isize::MAX as u128 {
        return ctx.out.error(TABLE_TOO_BIG);
    }
    if get_len {
        // Only the length is needed: two rows are enough.
        return ctx.out.int(lcs_len(&a, &b) as i64);
    }
    let Some((common, ranges)) = lcs_full(&a, &b, min_match as u64) else {
        return ctx.out.error(ALLOC_FAILED);
    };
    if !get_idx {
        return ctx.out.bulk(&common);
    }
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"matches");
    out.array(ranges.len());
    for r in &ranges {
        out.array(2 + with_match_len as usize);
        out.array(2);
        out.int(r.a.0 as i64);
        out.int(r.a.1 as i64);
        out.array(2);
        out.int(r.b.0 as i64);
        out.int(r.b.1 as i64);
        if with_match_len {
            out.int(r.len as i64);
        }
    }
    out.bulk(b"len");
    out.int(common.len() as i64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Keyspace;
    use crate::types::list::List;
    use crate::value::Value;
    use bytes::Bytes;
    use resp::{Out, Protocol};

    fn call(ks: &mut Keyspace, proto: Protocol, line: &str) -> Vec<u8> {
        let argv: Vec<Bytes> = line
            .split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut out = Out::new(proto);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        lcs(&mut ctx);
        out.buf
    }

    fn run(ks: &mut Keyspace, line: &str) -> String {
        String::from_utf8(call(ks, Protocol::Resp2, line)).expect("utf8 reply")
    }

    fn docs_keyspace() -> Keyspace {
        let mut ks = Keyspace::new(16);
        ks.set(0, b"key1", Value::string(b"ohmytext"), false);
        ks.set(0, b"key2", Value::string(b"mynewtext"), false);
        ks
    }

    const MATCHES: &str = "*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n";

    #[test]
    fn documented_examples_resp2() {
        let mut ks = docs_keyspace();
        assert_eq!(run(&mut ks, "LCS key1 key2"), "$6\r\nmytext\r\n");
        assert_eq!(run(&mut ks, "LCS key1 key2 LEN"), ":6\r\n");
        assert_eq!(
            run(&mut ks, "LCS key1 key2 IDX"),
            format!("*4\r\n$7\r\nmatches\r\n{MATCHES}$3\r\nlen\r\n:6\r\n")
        );
        assert_eq!(
            run(&mut ks, "LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN"),
            "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
        );
        assert_eq!(
            run(&mut ks, "lcs key1 key2 withmatchlen idx"),
            "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
             *3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n"
        );
        // A negative MINMATCHLEN means 0; WITHMATCHLEN and MINMATCHLEN alone are accepted.
        assert_eq!(
            run(&mut ks, "lcs key1 key2 minmatchlen -5 idx"),
            format!("*4\r\n$7\r\nmatches\r\n{MATCHES}$3\r\nlen\r\n:6\r\n")
        );
        assert_eq!(
            run(&mut ks, "lcs key1 key2 minmatchlen 3 withmatchlen"),
            "$6\r\nmytext\r\n"
        );
        assert_eq!(ks.dirty, 0);
    }

    #[test]
    fn idx_is_a_map_in_resp3() {
        let mut ks = docs_keyspace();
        let r = call(&mut ks, Protocol::Resp3, "LCS key1 key2 IDX");
        assert_eq!(
            String::from_utf8(r).unwrap(),
            format!("%2\r\n$7\r\nmatches\r\n{MATCHES}$3\r\nlen\r\n:6\r\n")
        );
        let r = call(&mut ks, Protocol::Resp3, "LCS key1 nokey IDX WITHMATCHLEN");
        assert_eq!(r, b"%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
    }

    #[test]
    fn missing_keys_are_empty_strings() {
        let mut ks = docs_keyspace();
        assert_eq!(run(&mut ks, "lcs nokey key2"), "$0\r\n\r\n");
        assert_eq!(run(&mut ks, "lcs nokey nokey2 len"), ":0\r\n");
        assert_eq!(
            run(&mut ks, "lcs key1 nokey idx"),
            "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"
        );
    }

    #[test]
    fn ranges_reach_the_start_of_either_string() {
        let mut ks = Keyspace::new(16);
        ks.set(0, b"a", Value::string(b"abcXdef"), false);
        ks.set(0, b"b", Value::string(b"abcdef"), false);
        assert_eq!(run(&mut ks, "lcs a b"), "$6\r\nabcdef\r\n");
        assert_eq!(
            run(&mut ks, "lcs a b idx withmatchlen"),
            "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:6\r\n*2\r\n:3\r\n:5\r\n:3\r\n\
             *3\r\n*2\r\n:0\r\n:2\r\n*2\r\n:0\r\n:2\r\n:3\r\n$3\r\nlen\r\n:6\r\n"
        );
        // Integers are compared as their text.
        ks.set(0, b"n", Value::string(b"12345"), false);
        ks.set(0, b"m", Value::string(b"x2y4"), false);
        assert_eq!(run(&mut ks, "lcs n m"), "$2\r\n24\r\n");
    }

    #[test]
    fn errors_in_redis_order() {
        let mut ks = docs_keyspace();
        assert_eq!(
            run(&mut ks, "lcs key1 key2 len idx"),
            format!("-{LEN_AND_IDX}\r\n")
        );
        assert_eq!(
            run(&mut ks, "lcs key1 key2 idx len foo"),
            format!("-{SYNTAX}\r\n")
        );
        assert_eq!(
            run(&mut ks, "lcs key1 key2 minmatchlen"),
            format!("-{SYNTAX}\r\n")
        );
        assert_eq!(
            run(&mut ks, "lcs key1 key2 minmatchlen x"),
            format!("-{NOT_INT}\r\n")
        );
        assert_eq!(run(&mut ks, "lcs nokey key2 foo"), format!("-{SYNTAX}\r\n"));
    }

    #[test]
    fn other_types_are_refused_before_options_are_parsed() {
        let mut ks = docs_keyspace();
        let mut l = List::default();
        l.push_back(b"a");
        ks.set(0, b"l", Value::List(Box::new(l)), false);
        let refused = format!("-{NOT_STRINGS}\r\n");
        assert_eq!(run(&mut ks, "lcs key1 l"), refused);
        assert_eq!(run(&mut ks, "lcs l key1 foo"), refused);
        assert_eq!(run(&mut ks, "lcs l nokey len idx"), refused);
    }

    #[test]
    fn table_is_bounded_by_proto_max_bulk_len() {
        let mut ks = Keyspace::new(16);
        ks.max_string_len = 1024 * 1024;
        ks.set(0, b"a", Value::string(&[b'x'; 511]), false);
        ks.set(0, b"b", Value::string(&[b'x'; 511]), false);
        // 512 * 512 * 4 bytes is exactly the limit.
        assert_eq!(run(&mut ks, "lcs a b len"), ":511\r\n");
        ks.set(0, b"b", Value::string(&[b'x'; 512]), false);
        assert_eq!(run(&mut ks, "lcs a b len"), format!("-{TABLE_TOO_BIG}\r\n"));
        assert_eq!(run(&mut ks, "lcs a b idx"), format!("-{TABLE_TOO_BIG}\r\n"));
        // Option errors come first.
        assert_eq!(
            run(&mut ks, "lcs a b len idx"),
            format!("-{LEN_AND_IDX}\r\n")
        );
        // One empty side keeps the table small whatever the other's length.
        ks.set(0, b"big", Value::string(&vec![b'y'; 200_000]), false);
        assert_eq!(run(&mut ks, "lcs big nokey"), "$0\r\n\r\n");
    }

    #[test]
    fn length_only_agrees_with_the_full_table() {
        let mut seed: u64 = 42;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let la = (rnd() % 40) as usize;
            let lb = (rnd() % 40) as usize;
            let a: Vec<u8> = (0..la).map(|_| b"abc"[(rnd() % 3) as usize]).collect();
            let b: Vec<u8> = (0..lb).map(|_| b"abc"[(rnd() % 3) as usize]).collect();
            let (common, ranges) = lcs_full(&a, &b, 0).unwrap();
            assert_eq!(lcs_len(&a, &b) as usize, common.len());
            let covered: u32 = ranges.iter().map(|r| r.len).sum();
            assert_eq!(covered as usize, common.len());
            for r in &ranges {
                assert_eq!(
                    &a[r.a.0 as usize..=r.a.1 as usize],
                    &b[r.b.0 as usize..=r.b.1 as usize]
                );
            }
        }
    }
}

//! Glob-style pattern matching as Redis's KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET use it.
//!
//! The semantics are exactly those of Redis 7.0's `stringmatchlen`, quirks included:
//!
//! * `*` matches any run of bytes, `?` any single byte, `\x` the byte `x`;
//! * `[...]` is a class: `^` right after `[` negates it, `a-z` is a range (a reversed range
//!   `z-a` means the same), `\x` inside a class matches `x` (case-sensitively, even when
//!   matching without case), and a `]` right after `[` (or `[^`) closes an empty class;
//! * an unterminated class (`[abc` at the end of the pattern) takes the rest of the pattern as
//!   its members, so `[` alone never matches and `[^` matches any single byte;
//! * a range's bounds compare as C `char`s, which are signed, so bytes >= 0x80 sort below
//!   ASCII;
//! * case folding (`nocase`) is ASCII-only, as `tolower` in the C locale;
//! * the empty string matches only the empty pattern (`*` does not match it).
//!
//! Redis matches recursively and, for patterns such as `a*a*a*a*a*b`, in exponential time.
//! Every pattern element except `*` consumes exactly one byte, so backtracking to the most
//! recent `*` alone is enough: this implementation is iterative, allocation-free, and runs in
//! O(pattern length x string length) in the worst case, with the same results.

/// One element of a pattern, as `stringmatchlen` consumes it.
#[derive(Clone, Copy)]
enum Token {
    /// A run of one or more `*`.
    Star,
    /// `?`: any byte.
    Any,
    /// A literal byte (possibly escaped).
    Lit(u8),
    /// A class: `body` starts after `[` / `[^`.
    Class { body: usize, negated: bool },
}

/// The byte at `i`, or 0 past the end (Redis's patterns are NUL-terminated sds strings).
#[inline]
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

/// C's `tolower` in the C locale on a (signed) `char` value.
#[inline]
fn lower(c: i32) -> i32 {
    if (b'A' as i32..=b'Z' as i32).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// Runs Redis's class loop over `p[body..]` against byte `c`.
/// Returns whether `c` is a member (before negation) and how many bytes of the pattern the
/// class body consumes, closing `]` included.
fn class(p: &[u8], body: usize, c: u8, nocase: bool) -> (bool, usize) {
    let mut i = body;
    let mut matched = false;
    loop {
        let len = p.len() - i;
        let p0 = at(p, i);
        if p0 == b'\\' && len >= 2 {
            i += 1;
            if p[i] == c {
                matched = true;
            }
        } else if p0 == b']' {
            break;
        } else if len == 0 {
            // Unterminated class: Redis steps back one byte so that the final
            // increment below lands exactly on the end of the pattern.
            return (matched, i - body);
        } else if len >= 3 && p[i + 1] == b'-' {
            let (mut start, mut end) = (p0 as i8 as i32, p[i + 2] as i8 as i32);
            let mut ch = c as i8 as i32;
            if start > end {
                std::mem::swap(&mut start, &mut end);
            }
            if nocase {
                start = lower(start);
                end = lower(end);
                ch = lower(ch);
            }
            i += 2;
            if ch >= start && ch <= end {
                matched = true;
            }
        } else if nocase {
            if lower(p0 as i8 as i32) == lower(c as i8 as i32) {
                matched = true;
            }
        } else if p0 == c {
            matched = true;
        }
        i += 1;
    }
    (matched, i + 1 - body)
}

/// Parses the pattern element starting at `i` (which must be in bounds); returns it and its
/// length in bytes.
fn token(p: &[u8], i: usize) -> (Token, usize) {
    match p[i] {
        b'*' => {
            let mut j = i + 1;
            while j < p.len() && p[j] == b'*' {
                j += 1;
            }
            (Token::Star, j - i)
        }
        b'?' => (Token::Any, 1),
        b'\\' if i + 1 < p.len() => (Token::Lit(p[i + 1]), 2),
        b'[' => {
            let negated = at(p, i + 1) == b'^';
            let body = i + 1 + negated as usize;
            let (_, consumed) = class(p, body, 0, false);
            (Token::Class { body, negated }, body - i + consumed)
        }
        c => (Token::Lit(c), 1),
    }
}

/// Whether the single-byte element `t` matches byte `c`.
#[inline]
fn matches_one(p: &[u8], t: Token, c: u8, nocase: bool) -> bool {
    match t {
        Token::Star | Token::Any => true,
        Token::Lit(l) => {
            if nocase {
                l.eq_ignore_ascii_case(&c)
            } else {
                l == c
            }
        }
        Token::Class { body, negated } => class(p, body, c, nocase).0 != negated,
    }
}

/// Matches `string` against the glob `pattern` exactly as Redis's `stringmatchlen` does,
/// optionally ignoring ASCII case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    if string.is_empty() {
        return pattern.is_empty();
    }
    let (mut pi, mut si) = (0usize, 0usize);
    // After the most recent `*`: where the rest of the pattern starts, and the string
    // position that rest is currently being tried at.
    let mut backtrack: Option<(usize, usize)> = None;
    while si < string.len() {
        if pi < pattern.len() {
            let (t, n) = token(pattern, pi);
            if let Token::Star = t {
                if pi + n == pattern.len() {
                    return true;
                }
                backtrack = Some((pi + n, si));
                pi += n;
                continue;
            }
            if matches_one(pattern, t, string[si], nocase) {
                pi += n;
                si += 1;
                continue;
            }
        }
        match backtrack {
            Some((bp, bs)) => {
                pi = bp;
                si = bs + 1;
                backtrack = Some((bp, bs + 1));
            }
            None => return false,
        }
    }
    // The string is consumed: only `*`s may remain.
    while pi < pattern.len() {
        match token(pattern, pi) {
            (Token::Star, n) => pi += n,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    /// A direct transcription of Redis 7.0's recursive `stringmatchlen`, as the oracle.
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        fn at(b: &[u8], i: usize) -> i32 {
            b.get(i).map_or(0, |&c| c as i8 as i32)
        }
        fn low(c: i32) -> i32 {
            if (65..=90).contains(&c) {
                c + 32
            } else {
                c
            }
        }
        fn rec(p: &[u8], mut pi: usize, s: &[u8], mut si: usize, nocase: bool) -> bool {
            let plen = |pi: usize| p.len() as isize - pi as isize;
            while plen(pi) > 0 && si < s.len() {
                match at(p, pi) as u8 {
                    b'*' => {
                        while plen(pi) > 0 && at(p, pi + 1) == b'*' as i32 {
                            pi += 1;
                        }
                        if plen(pi) == 1 {
                            return true;
                        }
                        while si < s.len() {
                            if rec(p, pi + 1, s, si, nocase) {
                                return true;
                            }
                            si += 1;
                        }
                        return false;
                    }
                    b'?' => si += 1,
                    b'[' => {
                        pi += 1;
                        let not = at(p, pi) == b'^' as i32;
                        if not {
                            pi += 1;
                        }
                        let mut m = false;
                        let mut q = pi as isize;
                        loop {
                            let len = p.len() as isize - q;
                            let c0 = at(p, q as usize);
                            if c0 == b'\\' as i32 && len >= 2 {
                                q += 1;
                                if at(p, q as usize) == s[si] as i8 as i32 {
                                    m = true;
                                }
                            } else if c0 == b']' as i32 {
                                break;
                            } else if len == 0 {
                                q -= 1;
                                break;
                            } else if len >= 3 && at(p, q as usize + 1) == b'-' as i32 {
                                let (mut a, mut b) = (c0, at(p, q as usize + 2));
                                let mut c = s[si] as i8 as i32;
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                if nocase {
                                    a = low(a);
                                    b = low(b);
                                    c = low(c);
                                }
                                q += 2;
                                if c >= a && c <= b {
                                    m = true;
                                }
                            } else if (!nocase && c0 == s[si] as i8 as i32)
                                || (nocase && low(c0) == low(s[si] as i8 as i32))
                            {
                                m = true;
                            }
                            q += 1;
                        }
                        pi = q as usize;
                        if not {
                            m = !m;
                        }
                        if !m {
                            return false;
                        }
                        si += 1;
                    }
                    c => {
                        let mut c = c;
                        if c == b'\\' && plen(pi) >= 2 {
                            pi += 1;
                            c = p[pi];
                        }
                        let (a, b) = (c as i8 as i32, s[si] as i8 as i32);
                        if (!nocase && a != b) || (nocase && low(a) != low(b)) {
                            return false;
                        }
                        si += 1;
                    }
                }
                pi += 1;
                if si == s.len() {
                    while at(p, pi) == b'*' as i32 {
                        pi += 1;
                    }
                    break;
                }
            }
            plen(pi) == 0 && si == s.len()
        }
        rec(p, 0, s, 0, nocase)
    }

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn basics() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hellO"));
        assert!(mi("hello", "hElLo"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("*", "anything"));
        assert!(m("**", "x"));
        assert!(m("a*", "a"));
        assert!(m("*a", "a"));
        assert!(!m("a*?", "a"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(!m("a*b*c", "aXbY"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn empty_string_matches_only_empty_pattern() {
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
        assert!(m("", ""));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed range");
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(
            m("[a-]", "]"),
            "'-' followed by ']' makes ']' the range end"
        );
        assert!(!m("[]", "x") && m("[^]", "x"), "empty class");
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(
            m("[a\\", "\\"),
            "unterminated class with a trailing backslash"
        );
        assert!(
            !mi("[\\A]", "a"),
            "escapes inside a class are case-sensitive"
        );
        assert!(mi("[A]", "a"));
        assert!(mi("[A-C]", "b"));
        assert!(mi("[a-c]", "B"));
    }

    #[test]
    fn unterminated_class() {
        assert!(!m("[", "a"));
        assert!(!m("[", "["));
        assert!(m("[^", "a"));
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "bc"), "the class eats the rest of the pattern");
        assert!(m("x[ab", "xa"));
        assert!(m("[^ab", "c"));
        assert!(!m("[^ab", "a"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?", "?"));
        assert!(m("a\\", "a\\"), "a trailing backslash is literal");
        assert!(m("\\[a]", "[a]"));
        assert!(mi("\\A", "a"), "a top-level escape still folds case");
    }

    #[test]
    fn signed_char_ranges() {
        // 0xff is -1 as a C char: [a-\xff] is the range -1..='a', so it holds 'Z' but not 0x80.
        assert!(glob_match(b"[a-\xff]", b"Z", false));
        assert!(!glob_match(b"[a-\xff]", b"\x80", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        assert!(glob_match(b"\xe9", b"\xe9", true));
        assert!(
            !glob_match(b"\xc9", b"\xe9", true),
            "no folding beyond ASCII"
        );
    }

    #[test]
    fn binary_and_nul_bytes() {
        assert!(glob_match(b"a\0*", b"a\0bc", false));
        assert!(glob_match(b"[\0]", b"\0", false));
        assert!(!glob_match(b"[\0]", b"a", false));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let s = vec![b'a'; 10_000];
        let mut p = b"a*".repeat(5_000);
        p.push(b'b');
        let start = std::time::Instant::now();
        assert!(!glob_match(&p, &s, false));
        assert!(glob_match(&b"*a".repeat(5_000), &s, false));
        assert!(!glob_match(&b"*?".repeat(10_001), &s, false));
        // Deep nesting is not recursion here: a huge number of stars cannot blow the stack.
        let many = b"*x".repeat(200_000);
        assert!(!glob_match(&many, b"xxxy", false));
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn agrees_with_the_reference_on_random_inputs() {
        // A small deterministic xorshift generator over an alphabet rich in metacharacters.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let palpha = b"ab*?[]^-\\AB\x80\xff";
        let salpha = b"ab-]^\\[*?AB\x80\xff";
        for _ in 0..200_000 {
            let plen = (next() % 8) as usize;
            let slen = (next() % 6) as usize;
            let p: Vec<u8> = (0..plen)
                .map(|_| palpha[(next() % palpha.len() as u64) as usize])
                .collect();
            let s: Vec<u8> = (0..slen)
                .map(|_| salpha[(next() % salpha.len() as u64) as usize])
                .collect();
            for nocase in [false, true] {
                assert_eq!(
                    glob_match(&p, &s, nocase),
                    reference(&p, &s, nocase),
                    "pattern {:?} string {:?} nocase {}",
                    String::from_utf8_lossy(&p),
                    String::from_utf8_lossy(&s),
                    nocase
                );
            }
        }
    }
}

//! Redis's argument splitter (sdssplitargs), used by inline requests and config files.
//!
//! The C original works on a NUL-terminated string, so a NUL byte ends the
//! input here too. Blanks between tokens are C `isspace` characters (space,
//! `\t`, `\n`, `\v`, `\f`, `\r`), but an unquoted token only ends at space,
//! `\t`, `\n`, `\r` or the end: `\v` and `\f` inside a token are kept.

/// `isspace()` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits a line into arguments as Redis does; `None` on unbalanced quotes.
///
/// Empty or all-blank input gives `Some(vec![])`. Input stops at the first
/// NUL byte, as in C.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    // Reads like a C string: 0 past the end.
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut args = Vec::new();
    let mut p = 0usize;
    loop {
        while p < line.len() && is_c_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                        current.push(hi * 16 + lo);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a blank or the end.
                    let next = at(p + 1);
                    if next != 0 && !is_c_space(next) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    let next = at(p + 1);
                    if next != 0 && !is_c_space(next) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        p += 1;
                        break;
                    }
                    0 => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => current.push(c),
                }
            }
            p += 1;
        }
        args.push(current);
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn split(s: &[u8]) -> Option<Vec<Vec<u8>>> {
        split_args(s)
    }

    fn v(items: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
        Some(items.iter().map(|s| s.to_vec()).collect())
    }

    #[test]
    fn blanks_and_plain_tokens() {
        assert_eq!(split(b""), v(&[]));
        assert_eq!(split(b"   \t\r\n "), v(&[]));
        assert_eq!(split(b"set  k\tv\r\n"), v(&[b"set", b"k", b"v"]));
        assert_eq!(split(b"  ping"), v(&[b"ping"]));
        // \v and \f are skipped between tokens but kept inside one.
        assert_eq!(split(b"\x0b\x0ca\x0bb"), v(&[b"a\x0bb"]));
    }

    #[test]
    fn double_quotes() {
        assert_eq!(split(br#"echo "a b""#), v(&[b"echo", b"a b"]));
        assert_eq!(split(br#""""#), v(&[b""]));
        assert_eq!(
            split(br#""\n\r\t\b\a\\\"\q""#),
            v(&[b"\n\r\t\x08\x07\\\"q"])
        );
        assert_eq!(split(br#""\x41\x4a\x4G\x""#), v(&[b"AJx4Gx"]));
        assert_eq!(split(br#""\x00\xff""#), v(&[b"\x00\xff"]));
        assert_eq!(split(br#""\x41\x4""#), v(&[b"Ax4"]));
        // A quote may start in the middle of a token.
        assert_eq!(split(br#"ab"c d" e"#), v(&[b"abc d", b"e"]));
        // The closing quote may be followed by any C blank, \v included.
        assert_eq!(split(b"\"a\"\x0bb"), v(&[b"a", b"b"]));
    }

    #[test]
    fn single_quotes() {
        assert_eq!(split(br"'a\'b' 'c\d' '\n'"), v(&[b"a'b", br"c\d", br"\n"]));
        assert_eq!(split(b"''"), v(&[b""]));
        assert_eq!(split(br#"'say "hi"'"#), v(&[br#"say "hi""#]));
        assert_eq!(split(b"x'y z'"), v(&[b"xy z"]));
    }

    #[test]
    fn unbalanced() {
        assert_eq!(split(br#"echo "a"b"#), None);
        assert_eq!(split(br#"echo 'a'b"#), None);
        assert_eq!(split(br#"ping "abc"#), None);
        assert_eq!(split(br#"ping 'abc"#), None);
        assert_eq!(split(br#""abc\"#), None);
        assert_eq!(split(br#""abc\""#), None);
        assert_eq!(split(br"'abc\'"), None);
    }

    #[test]
    fn nul_ends_the_line() {
        assert_eq!(split(b"a b\0c d"), v(&[b"a", b"b"]));
        assert_eq!(split(b"\"a\0\""), None);
        assert_eq!(split(b"\0\"abc"), v(&[]));
    }
}

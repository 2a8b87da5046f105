//! LZF, the tiny LZ77 variant Redis uses for compressed strings (written from the format
//! description: literal runs of 1–32 bytes and back-references of 3–264 bytes up to 8 KiB back).

/// Largest output a compressed stream can describe per input byte (a 3-byte back-reference
/// expands to 264 bytes), used to refuse claimed lengths the input cannot back.
pub const MAX_EXPANSION: usize = 88;

/// Longest back-reference.
const MAX_MATCH: usize = 264;
/// Farthest back-reference distance.
const MAX_DISTANCE: usize = 8192;
/// Longest literal run.
const MAX_LITERAL: usize = 32;

/// Why a compressed stream is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzfError {
    /// The stream ends inside a literal run or a back-reference.
    Truncated,
    /// A back-reference points before the start of the output.
    BadReference,
    /// The output would not be exactly the announced length.
    WrongLength,
}

impl std::fmt::Display for LzfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LzfError::Truncated => "truncated LZF stream",
            LzfError::BadReference => "LZF back-reference before start of output",
            LzfError::WrongLength => "LZF output length differs from the announced length",
        })
    }
}

impl std::error::Error for LzfError {}

/// Decompresses `input`, which must expand to exactly `ulen` bytes. The caller bounds `ulen`
/// (at most `input.len() * MAX_EXPANSION` can ever succeed; larger values fail before allocating).
pub fn decompress(input: &[u8], ulen: usize) -> Result<Vec<u8>, LzfError> {
    if ulen > input.len().saturating_mul(MAX_EXPANSION) {
        return Err(LzfError::WrongLength);
    }
    let mut out: Vec<u8> = Vec::with_capacity(ulen);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run).ok_or(LzfError::Truncated)?;
            if out.len() + run > ulen {
                return Err(LzfError::WrongLength);
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip).ok_or(LzfError::Truncated)? as usize;
                ip += 1;
            }
            let low = *input.get(ip).ok_or(LzfError::Truncated)? as usize;
            ip += 1;
            let back = (((ctrl & 0x1F) << 8) | low) + 1;
            let len = len + 2;
            if back > out.len() {
                return Err(LzfError::BadReference);
            }
            if out.len() + len > ulen {
                return Err(LzfError::WrongLength);
            }
            let start = out.len() - back;
            if back >= len {
                out.extend_from_within(start..start + len);
            } else {
                for k in 0..len {
                    let b = out[start + k];
                    out.push(b);
                }
            }
        }
    }
    if out.len() != ulen {
        return Err(LzfError::WrongLength);
    }
    Ok(out)
}

/// Compresses `input`; `None` when the result would be longer than `max_out` bytes (Redis keeps
/// a compressed string only when it is at most `len - 4` bytes).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    let bits = (usize::BITS - n.max(2).leading_zeros()).clamp(8, 14);
    let mut table = vec![0u32; 1 << bits];
    let mut out = Vec::with_capacity(max_out.min(n + n / 32 + 1));
    let mut lit_start = 0;
    let mut i = 0;
    let hash = |p: usize| -> usize {
        let v = (input[p] as u32) << 16 | (input[p + 1] as u32) << 8 | input[p + 2] as u32;
        (v.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
    };
    while i + 2 < n {
        let h = hash(i);
        let cand = table[h] as usize;
        table[h] = (i + 1) as u32;
        if cand != 0 {
            let r = cand - 1;
            let dist = i - r;
            if dist <= MAX_DISTANCE && input[r..r + 3] == input[i..i + 3] {
                let max_len = MAX_MATCH.min(n - i);
                let mut len = 3;
                while len < max_len && input[r + len] == input[i + len] {
                    len += 1;
                }
                emit_literals(&mut out, &input[lit_start..i]);
                emit_reference(&mut out, dist - 1, len);
                if out.len() > max_out {
                    return None;
                }
                // Index a couple of positions inside the match so later repeats find it.
                let end = i + len;
                let mut p = end.saturating_sub(2).max(i + 1);
                while p < end && p + 2 < n {
                    table[hash(p)] = (p + 1) as u32;
                    p += 1;
                }
                i = end;
                lit_start = i;
                continue;
            }
        }
        i += 1;
    }
    emit_literals(&mut out, &input[lit_start..]);
    (out.len() <= max_out).then_some(out)
}

/// Appends literal runs of at most 32 bytes each.
fn emit_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let run = lit.len().min(MAX_LITERAL);
        out.push((run - 1) as u8);
        out.extend_from_slice(&lit[..run]);
        lit = &lit[run..];
    }
}

/// Appends one back-reference (`off` = distance - 1, `len` = 3..=264 bytes).
fn emit_reference(out: &mut Vec<u8>, off: usize, len: usize) {
    let l = len - 2;
    if l < 7 {
        out.push(((l << 5) | (off >> 8)) as u8);
    } else {
        out.push(((7 << 5) | (off >> 8)) as u8);
        out.push((l - 7) as u8);
    }
    out.push((off & 0xFF) as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_example() {
        // key `big` = 62 × 'a' from a real 7.0 dump.
        let c = [0x01, 0x61, 0x61, 0xE0, 0x31, 0x00, 0x01, 0x61, 0x61];
        assert_eq!(decompress(&c, 62).unwrap(), vec![b'a'; 62]);
        assert_eq!(decompress(&c, 61), Err(LzfError::WrongLength));
        assert_eq!(decompress(&c, 63), Err(LzfError::WrongLength));
        assert_eq!(decompress(&c[..4], 62), Err(LzfError::Truncated));
        assert_eq!(
            decompress(&[0xE0, 0x00, 0x00], 9),
            Err(LzfError::BadReference)
        );
    }

    #[test]
    fn round_trips() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            b"a".to_vec(),
            vec![b'a'; 1000],
            b"hello hello hello hello hello world".to_vec(),
        ];
        let mut x = 12345u32;
        let noise: Vec<u8> = (0..20000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 7) as u8 + b'a'
            })
            .collect();
        cases.push(noise);
        for c in cases {
            let z = compress(&c, usize::MAX).unwrap();
            assert_eq!(decompress(&z, c.len()).unwrap(), c);
        }
        assert!(compress(&[b'x'; 100], 10).unwrap().len() <= 10);
        assert!(compress(b"abcdefghijklmnopqrstuvwxyz", 20).is_none());
    }
}

//! LZF, the tiny LZ77 variant Redis uses for compressed strings (written from the format
//! description: literal runs of 1–32 bytes and back-references of 3–264 bytes up to 8 KiB back).

/// Largest output a compressed stream can describe per input byte (a 3-byte back-reference
/// expands to 264 bytes), used to refuse claimed lengths the input cannot back.
pub const MAX_EXPANSION: usize = 88;

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

/// Compresses `input` exactly as Redis's bundled liblzf 3.6 (`lzf_compress` with HLOG 16,
/// VERY_FAST, no ULTRA_FAST) does, so payloads are byte-identical to Redis's; `None` when the
/// result would not fit in `max_out` bytes (Redis passes `len - 4`).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let in_end = input.len();
    if in_end == 0 {
        return None;
    }
    let out_end = max_out;
    let mut out = vec![0u8; max_out.min(in_end + in_end / 32 + 8) + 8];
    HTAB.with(|t| {
        let mut t = t.borrow_mut();
        let (generation, table) = &mut *t;
        *generation = generation.wrapping_add(1);
        if *generation == 0 {
            table.fill(0);
            *generation = 1;
        }
        compress_with(input, &mut out, out_end, table, *generation).map(|n| {
            out.truncate(n);
            out
        })
    })
}

thread_local! {
    /// The hash table of [`compress`], reused across calls: allocating and zeroing 256 KiB per
    /// value made snapshots of many small compressible values dozens of times slower. An entry
    /// holds `generation << 32 | offset`; entries of earlier calls read as empty, so every call
    /// sees a zeroed table and the output stays identical to liblzf's.
    static HTAB: std::cell::RefCell<(u32, Vec<u64>)> =
        std::cell::RefCell::new((0, vec![0u64; 1 << 16]));
}

/// The body of [`compress`] over a reusable table; the compressed length.
fn compress_with(
    input: &[u8],
    out: &mut [u8],
    out_end: usize,
    table: &mut [u64],
    generation: u32,
) -> Option<usize> {
    const HLOG: u32 = 16;
    const MAX_LIT: usize = 1 << 5;
    const MAX_OFF: usize = 1 << 13;
    const MAX_REF: usize = (1 << 8) + (1 << 3);
    let in_end = input.len();
    let idx = |h: u32| -> usize {
        ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HLOG) - 1)) as usize
    };
    let tag = u64::from(generation) << 32;
    let mut htab = HashTab { table, tag };
    let (mut ip, mut op, mut lit) = (0usize, 1usize, 0usize);
    let mut hval: u32 = match input {
        [a, b, ..] => (u32::from(*a) << 8) | u32::from(*b),
        _ => 0,
    };
    while ip + 2 < in_end {
        hval = (hval << 8) | u32::from(input[ip + 2]);
        let slot = idx(hval);
        let r = htab.get(slot);
        htab.set(slot, ip);
        if r > 0
            && r < ip
            && ip - r - 1 < MAX_OFF
            && input[r + 2] == input[ip + 2]
            && input[r] == input[ip]
            && input[r + 1] == input[ip + 1]
        {
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_end - ip - len).min(MAX_REF);
            if op + 3 + 1 >= out_end && op - usize::from(lit == 0) + 3 + 1 >= out_end {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            let mut unrolled_all = true;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        unrolled_all = false;
                        break;
                    }
                }
            }
            if unrolled_all {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 2; // the reference's last byte, then a new literal run
            lit = 0;
            ip += len + 1;
            if ip + 2 >= in_end {
                break;
            }
            ip -= 2;
            hval = (u32::from(input[ip]) << 8) | u32::from(input[ip + 1]);
            for _ in 0..2 {
                hval = (hval << 8) | u32::from(input[ip + 2]);
                htab.set(idx(hval), ip);
                ip += 1;
            }
        } else {
            if op >= out_end {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_end {
        return None;
    }
    while ip < in_end {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    Some(op)
}

/// A view of the reusable table for one call: slots written by earlier calls read as 0 (the
/// start of the input, which is never a valid reference).
struct HashTab<'a> {
    table: &'a mut [u64],
    tag: u64,
}

impl HashTab<'_> {
    fn get(&self, slot: usize) -> usize {
        let e = self.table[slot];
        if e & !0xffff_ffff == self.tag {
            (e & 0xffff_ffff) as usize
        } else {
            0
        }
    }

    fn set(&mut self, slot: usize, ip: usize) {
        self.table[slot] = self.tag | ip as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_calls_do_not_change_the_output() {
        let a: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 13) as u8 + b'a').collect();
        let b: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 11) as u8 + b'a').collect();
        let fresh = std::thread::spawn({
            let b = b.clone();
            move || compress(&b, b.len() - 4)
        })
        .join()
        .unwrap();
        assert!(compress(&a, a.len() - 4).is_some());
        assert_eq!(compress(&b, b.len() - 4), fresh);
        assert!(fresh.is_some());
    }

    #[test]
    fn compresses_like_redis() {
        let c = [0x01, 0x61, 0x61, 0xE0, 0x31, 0x00, 0x01, 0x61, 0x61];
        assert_eq!(compress(&[b'a'; 62], 58).unwrap(), c);
        assert_eq!(compress(b"abcdefghijklmnopqrstuvwxyz0123456789", 32), None);
    }

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

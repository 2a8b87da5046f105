//! Number parsing and formatting exactly as Redis does it (string2ll, strtod, long double).

use std::os::raw::{c_char, c_int};

extern "C" {
    fn redoubt_ld_incr(
        cur: *const c_char,
        cur_len: usize,
        incr: *const c_char,
        incr_len: usize,
        out: *mut c_char,
        cap: usize,
        out_len: *mut usize,
    ) -> c_int;
    fn redoubt_strtod(s: *const c_char, len: usize, out: *mut f64) -> c_int;
}

/// Parses a strict decimal i64 as Redis's `string2ll`: no sign but `-`, no spaces, no leading zeros.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    rdb::num::canonical_i64(s)
}

/// Parses a double as Redis's `getDoubleFromObject`: C strtod, whole string, no NaN, no overflow.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let mut out = 0f64;
    // SAFETY: the C side copies at most `len` bytes from `s` and writes one f64 to `out`.
    let ok = unsafe { redoubt_strtod(s.as_ptr() as *const c_char, s.len(), &mut out) };
    (ok == 1).then_some(out)
}

/// Why INCRBYFLOAT could not compute a result.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum IncrFloatError {
    /// The stored value is not a valid float.
    NotAFloat,
    /// The increment is not a valid float.
    BadIncrement,
    /// The result would be NaN or infinity.
    NanOrInfinity,
}

/// Adds `incr` to `current` (None = 0) in long double precision and formats the result as Redis does.
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrFloatError> {
    let mut buf = [0u8; 5200];
    let mut len = 0usize;
    let (cp, cl) = match current {
        Some(c) => (c.as_ptr() as *const c_char, c.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: inputs are valid for their lengths; the C side writes at most `cap` bytes to `buf`.
    let rc = unsafe {
        redoubt_ld_incr(
            cp,
            cl,
            incr.as_ptr() as *const c_char,
            incr.len(),
            buf.as_mut_ptr() as *mut c_char,
            buf.len(),
            &mut len,
        )
    };
    match rc {
        0 => Ok(buf[..len].to_vec()),
        1 => Err(IncrFloatError::NotAFloat),
        2 => Err(IncrFloatError::BadIncrement),
        _ => Err(IncrFloatError::NanOrInfinity),
    }
}

/// The decimal text of an integer.
pub fn i64_to_bytes(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"9223372036854775808"[..],
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"",
            b"-",
            b"1a",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn doubles_as_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        for bad in [&b"nan"[..], b" 1", b"1 ", b"", b"1e999", b"abc"] {
            assert_eq!(parse_f64(bad), None);
        }
    }

    #[test]
    fn incr_by_float_matches_redis_text() {
        assert_eq!(incr_by_float(Some(b"10.50"), b"0.1").unwrap(), b"10.6");
        assert_eq!(incr_by_float(None, b"5.0e3").unwrap(), b"5000");
        assert_eq!(incr_by_float(Some(b"3"), b"-3").unwrap(), b"0");
        assert_eq!(
            incr_by_float(Some(b"abc"), b"1"),
            Err(IncrFloatError::NotAFloat)
        );
        assert_eq!(
            incr_by_float(Some(b"1"), b"x"),
            Err(IncrFloatError::BadIncrement)
        );
        assert_eq!(
            incr_by_float(Some(b"1"), b"inf"),
            Err(IncrFloatError::NanOrInfinity)
        );
    }
}

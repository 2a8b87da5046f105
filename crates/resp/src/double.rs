//! Double formatting as Redis prints it.
//!
//! Pure Rust re-implementations of the C `printf` conversions Redis uses.
//! Rust's exact float formatting (`{:.Ne}`, `{:.N}`) is correctly rounded
//! with ties to even on the exact binary value, which is what glibc does, so
//! only the layout of `%g` has to be redone here.

/// `%.17g` formatting, with `inf` / `-inf`.
///
/// NaN prints as `nan` (Redis never sends one).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    format_g(d, 17)
}

/// `%.<precision>g` for a finite value (precision >= 1).
fn format_g(d: f64, precision: usize) -> String {
    // `%e` with precision P-1 gives the P significant digits, correctly
    // rounded, and the exponent X after rounding.
    let e = format!("{:.*e}", precision - 1, d);
    let (mantissa, exp) = e.split_once('e').expect("exponent in {:e} output");
    let exp: i32 = exp.parse().expect("integer exponent in {:e} output");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(|b| b.is_ascii_digit()).collect();
    debug_assert_eq!(digits.len(), precision);

    let mut out = String::with_capacity(precision + 8);
    if negative {
        out.push('-');
    }
    if exp < -4 || exp >= precision as i32 {
        // Exponent style: d.ddd with trailing zeros removed, e±XX.
        out.push(digits[0] as char);
        let frac = strip_zeros(&digits[1..]);
        if !frac.is_empty() {
            out.push('.');
            out.extend(frac.iter().map(|&b| b as char));
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
    } else if exp >= 0 {
        // Fixed style with P-1-X decimals: the same digits, point after X+1.
        let int_len = exp as usize + 1;
        out.extend(digits[..int_len].iter().map(|&b| b as char));
        let frac = strip_zeros(&digits[int_len..]);
        if !frac.is_empty() {
            out.push('.');
            out.extend(frac.iter().map(|&b| b as char));
        }
    } else {
        // -4 <= X < 0: 0.000ddd
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.extend(strip_zeros(&digits).iter().map(|&b| b as char));
    }
    out
}

fn strip_zeros(digits: &[u8]) -> &[u8] {
    let end = digits.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1);
    &digits[..end]
}

/// Human formatting: `%.17f` with trailing zeros removed (INCRBYFLOAT-style for f64).
///
/// Like Redis's `ld2string(..., LD_STR_HUMAN)`: a result of `-0` prints as
/// `0`; infinities print as `inf` / `-inf`, NaN as `nan`.
pub fn format_human_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let mut s = format!("{:.17}", d);
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(f64::NAN), "nan");
        assert_eq!(format_double(0.0), "0");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_human_double(0.1), "0.10000000000000001");
        assert_eq!(format_human_double(3.0), "3");
        assert_eq!(format_human_double(-0.0), "0");
        assert_eq!(format_human_double(f64::INFINITY), "inf");
        assert_eq!(format_human_double(f64::NEG_INFINITY), "-inf");
    }
}

//! Number text conversions with Redis's exact rules (`string2ll`, `ll2string`, `d2string`).

/// Parses `s` as a 64-bit integer only if it is its canonical decimal form (Redis `string2ll`:
/// no sign other than a leading `-`, no leading zeros, no `-0`, at most 20 bytes).
pub fn canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Decimal text of an integer.
pub fn i64_bytes(v: i64) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Formats a score the way Redis 7.0 stores it in a listpack (`d2string`): `inf`/`-inf`/`nan`,
/// `0`/`-0`, integer text for integral values within ±2^52, otherwise `%.17g`.
pub fn d2string(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if v == 0.0 {
        if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        }
    } else if v > -4503599627370495.0 && v < 4503599627370496.0 && v == (v as i64) as f64 {
        (v as i64).to_string()
    } else {
        format_g17(v)
    }
}

/// C's `%.17g` for a finite non-zero value.
pub fn format_g17(v: f64) -> String {
    let sci = format!("{v:.16e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let mant = trim_fraction_zeros(mant);
        format!(
            "{mant}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        )
    } else {
        let prec = (16 - exp) as usize;
        trim_fraction_zeros(&format!("{v:.prec$}")).to_string()
    }
}

/// Drops trailing zeros of a fraction, and the point if nothing is left after it.
fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Parses a score stored as text (`strtod` on Redis-written text: decimal, exponent, `inf`, `nan`).
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    std::str::from_utf8(s).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers() {
        for ok in [
            "0",
            "1",
            "-1",
            "123",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert_eq!(
                canonical_i64(ok.as_bytes()).map(|v| v.to_string()),
                Some(ok.to_string())
            );
        }
        for bad in [
            "",
            "-",
            "-0",
            "007",
            "+1",
            " 1",
            "1 ",
            "9223372036854775808",
            "1a",
            "-01",
        ] {
            assert_eq!(canonical_i64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn g17_matches_c() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (1e20, "1e+20"),
            (1.0e-5, "1.0000000000000001e-05"),
            (123456.789, "123456.789"),
            (1.1, "1.1000000000000001"),
            (0.3, "0.29999999999999999"),
            (1e16 + 0.5, "10000000000000000"),
            (0.0001, "0.0001"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g17(*v), *want, "{v}");
        }
        assert_eq!(d2string(3.0), "3");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(f64::INFINITY), "inf");
        assert_eq!(d2string(4503599627370496.0), "4503599627370496");
    }
}

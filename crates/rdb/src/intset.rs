//! Intset: a sorted array of unique integers of one width (RDB type 11).
//! Layout: `uint32 LE width (2, 4 or 8), uint32 LE count, count × signed LE integers`.

/// Validates an intset (width, size, strictly ascending order) and returns its values.
pub fn parse(is: &[u8]) -> Result<Vec<i64>, &'static str> {
    if is.len() < 8 {
        return Err("intset too short");
    }
    let width = u32::from_le_bytes([is[0], is[1], is[2], is[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err("invalid intset encoding");
    }
    let count = u32::from_le_bytes([is[4], is[5], is[6], is[7]]) as usize;
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(is.len()) {
        return Err("intset size mismatch");
    }
    let mut out = Vec::with_capacity(count);
    for c in is[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&p| p >= v) {
            return Err("intset not sorted or has duplicates");
        }
        out.push(v);
    }
    Ok(out)
}

/// Builds an intset from values that are sorted ascending and unique, in the narrowest width.
pub fn build(values: &[i64]) -> Vec<u8> {
    let width: usize = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_example_and_widths() {
        let is = b"\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00";
        assert_eq!(parse(is).unwrap(), vec![1, 2, 3]);
        assert_eq!(build(&[1, 2, 3]), is.to_vec());
        for vals in [vec![-70000, 5], vec![i64::MIN, 0, i64::MAX], vec![]] {
            assert_eq!(parse(&build(&vals)).unwrap(), vals);
        }
        assert!(parse(&build(&[3, 1])).is_err());
        assert!(parse(b"\x03\x00\x00\x00\x00\x00\x00\x00").is_err());
    }
}

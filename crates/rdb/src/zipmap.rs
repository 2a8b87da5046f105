//! Zipmap (Redis ≤ 2.4 small hashes, RDB type 9): read only.
//! Layout: `zmlen`, then `len key len free value <free bytes>` pairs, then 0xFF.

use crate::model::Pairs;

/// Reads one zipmap length (1 byte below 254, else 254 + uint32 LE); returns it and its size.
fn read_len(zm: &[u8], pos: usize) -> Result<(usize, usize), &'static str> {
    match zm.get(pos) {
        Some(&b) if b < 254 => Ok((b as usize, 1)),
        Some(254) => {
            let d = zm.get(pos + 1..pos + 5).ok_or("zipmap entry overruns")?;
            Ok((u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize, 5))
        }
        Some(_) => Err("zipmap terminator inside an entry"),
        None => Err("zipmap entry overruns"),
    }
}

/// Validates a whole zipmap and returns its field/value pairs in order.
pub fn parse(zm: &[u8]) -> Result<Pairs, &'static str> {
    if zm.len() < 2 {
        return Err("zipmap too short");
    }
    let zmlen = zm[0] as usize;
    let mut pos = 1;
    let mut out = Vec::new();
    loop {
        match zm.get(pos) {
            None => return Err("zipmap not terminated"),
            Some(0xFF) => {
                pos += 1;
                break;
            }
            Some(_) => {}
        }
        let (klen, n) = read_len(zm, pos)?;
        pos += n;
        let key = pos
            .checked_add(klen)
            .and_then(|e| zm.get(pos..e))
            .ok_or("zipmap entry overruns")?;
        pos += klen;
        let (vlen, n) = read_len(zm, pos)?;
        pos += n;
        let free = *zm.get(pos).ok_or("zipmap entry overruns")? as usize;
        pos += 1;
        let val = pos
            .checked_add(vlen)
            .and_then(|e| zm.get(pos..e))
            .ok_or("zipmap entry overruns")?;
        pos += vlen + free;
        if pos > zm.len() {
            return Err("zipmap entry overruns");
        }
        out.push((key.to_vec(), val.to_vec()));
    }
    if pos != zm.len() {
        return Err("zipmap has data after its terminator");
    }
    if zmlen < 254 && zmlen != out.len() {
        return Err("zipmap element count mismatch");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let zm = b"\x02\x03foo\x03\x00bar\x01k\x01\x02vxx\xff";
        assert_eq!(
            parse(zm).unwrap(),
            vec![
                (b"foo".to_vec(), b"bar".to_vec()),
                (b"k".to_vec(), b"v".to_vec())
            ]
        );
        assert!(parse(&zm[..zm.len() - 1]).is_err());
        assert!(parse(b"\x01\xff").is_err());
    }
}

//! Ziplist (Redis ≤ 6.2 compact lists, hashes, sorted sets and quicklist nodes): read only.
//! Layout: `uint32 zlbytes, uint32 zltail, uint16 zllen, entries, 0xFF`; each entry is a
//! previous-entry length, an encoding and data.

use crate::listpack::LpItem;

/// Size of the header.
const HEADER: usize = 10;

/// Validates a whole ziplist and returns its elements in order (integers as [`LpItem::Int`]).
pub fn parse(zl: &[u8]) -> Result<Vec<LpItem<'_>>, &'static str> {
    if zl.len() < HEADER + 1 {
        return Err("ziplist too short");
    }
    let zlbytes = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    if zlbytes != zl.len() {
        return Err("ziplist total size mismatch");
    }
    let zltail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let count = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    let end = zl.len() - 1;
    if zl[end] != 0xFF {
        return Err("ziplist not terminated");
    }
    let get = |from: usize, n: usize| -> Result<&[u8], &'static str> {
        from.checked_add(n)
            .filter(|&e| e <= end)
            .map(|e| &zl[from..e])
            .ok_or("ziplist entry overruns")
    };
    let mut items = Vec::with_capacity(count.min((end - HEADER) / 2));
    let mut pos = HEADER;
    let mut prev_size = 0usize;
    let mut last_start = HEADER;
    while pos < end {
        let start = pos;
        let prevlen = match zl[pos] {
            b @ 0..=253 => {
                pos += 1;
                b as usize
            }
            0xFE => {
                let d = get(pos + 1, 4)?;
                pos += 5;
                u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize
            }
            _ => return Err("ziplist terminator before end"),
        };
        if prevlen != prev_size {
            return Err("ziplist previous-entry length mismatch");
        }
        let e = *get(pos, 1)?.first().ok_or("ziplist entry overruns")?;
        let item = match e >> 6 {
            0 => {
                let len = (e & 0x3F) as usize;
                let s = get(pos + 1, len)?;
                pos += 1 + len;
                LpItem::Str(s)
            }
            1 => {
                let d = get(pos + 1, 1)?;
                let len = (((e & 0x3F) as usize) << 8) | d[0] as usize;
                let s = get(pos + 2, len)?;
                pos += 2 + len;
                LpItem::Str(s)
            }
            2 => {
                let d = get(pos + 1, 4)?;
                let len = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
                let s = get(pos + 5, len)?;
                pos += 5 + len;
                LpItem::Str(s)
            }
            _ => {
                let (v, n) = match e {
                    0xC0 => {
                        let d = get(pos + 1, 2)?;
                        (i16::from_le_bytes([d[0], d[1]]) as i64, 2)
                    }
                    0xD0 => {
                        let d = get(pos + 1, 4)?;
                        (i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64, 4)
                    }
                    0xE0 => {
                        let d = get(pos + 1, 8)?;
                        (
                            i64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]),
                            8,
                        )
                    }
                    0xF0 => {
                        let d = get(pos + 1, 3)?;
                        ((i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8) as i64, 3)
                    }
                    0xFE => (get(pos + 1, 1)?[0] as i8 as i64, 1),
                    0xF1..=0xFD => ((e & 0x0F) as i64 - 1, 0),
                    _ => return Err("invalid ziplist entry encoding"),
                };
                pos += 1 + n;
                LpItem::Int(v)
            }
        };
        items.push(item);
        prev_size = pos - start;
        last_start = start;
    }
    if zltail != last_start {
        return Err("ziplist tail offset mismatch");
    }
    if count != 65535 && count != items.len() {
        return Err("ziplist element count mismatch");
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_encodings() {
        // Hand-built: "ab", 12 (immediate), -2 (int8), 300 (int16), 70000 (int24), 1<<40 (int64).
        let mut zl = vec![0u8; 10];
        let mut prev = 0usize;
        let mut tail = 10;
        let entries: Vec<Vec<u8>> = vec![
            vec![0x02, b'a', b'b'],
            vec![0xFD],
            vec![0xFE, 0xFE],
            [vec![0xC0], 300i16.to_le_bytes().to_vec()].concat(),
            [vec![0xF0], 70000i32.to_le_bytes()[..3].to_vec()].concat(),
            [vec![0xE0], (1i64 << 40).to_le_bytes().to_vec()].concat(),
            [vec![0xD0], (-100000i32).to_le_bytes().to_vec()].concat(),
        ];
        for e in &entries {
            tail = zl.len();
            zl.push(prev as u8);
            zl.extend_from_slice(e);
            prev = e.len() + 1;
        }
        zl.push(0xFF);
        let n = zl.len() as u32;
        zl[0..4].copy_from_slice(&n.to_le_bytes());
        zl[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        zl[8..10].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        let items = parse(&zl).unwrap();
        assert_eq!(
            items,
            vec![
                LpItem::Str(b"ab"),
                LpItem::Int(12),
                LpItem::Int(-2),
                LpItem::Int(300),
                LpItem::Int(70000),
                LpItem::Int(1 << 40),
                LpItem::Int(-100000)
            ]
        );
        let mut bad = zl.clone();
        bad[11] = 9;
        assert!(parse(&bad).is_err());
    }
}

//! Decoding of values and top-level items, and the front end over a complete buffer
//! ([`decode_all`]); the incremental front ends are in `push.rs`.

use crate::crc64::crc64;
use crate::cursor::{Cursor, PErr, PResult};
use crate::error::Error;
use crate::listpack::{self, LpItem};
use crate::model::{Entry, Item, ModuleAux, ModuleElem, ModuleValue, Pairs, RdbValue};
use crate::num::{i64_bytes, parse_f64};
use crate::{intset, stream, types, ziplist, zipmap};

/// Decoder settings.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Verify the CRC-64 after EOF (a stored 0 means "not computed" and is always accepted).
    pub verify_checksum: bool,
    /// Highest accepted header version: 10 behaves exactly like Redis 7.0; the default 11 also
    /// reads Redis 7.2 files (listpack sets, type-21 streams).
    pub max_version: u32,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            verify_checksum: true,
            max_version: 11,
        }
    }
}

/// A whole decoded file.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbFile {
    /// The header's version.
    pub version: u32,
    /// Every item, ending with [`Item::Eof`].
    pub items: Vec<Item>,
}

/// Per-key prefixes (`EXPIRETIME*`, `IDLE`, `FREQ`) seen but not yet attached to a key.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pending {
    expire_ms: Option<i64>,
    lru_idle: Option<u64>,
    lfu_freq: Option<u8>,
}

/// Parses the 9-byte header and returns the version.
pub(crate) fn parse_header(c: &mut Cursor<'_>, max_version: u32) -> PResult<u32> {
    let h: [u8; 9] = c.array()?;
    if &h[..5] != b"REDIS" || !h[5..].iter().all(u8::is_ascii_digit) {
        return Err(PErr::Fail(Error::BadMagic));
    }
    let v = h[5..].iter().fold(0u32, |a, d| a * 10 + (d - b'0') as u32);
    if v < 1 || v > max_version {
        return Err(PErr::Fail(Error::UnsupportedVersion(v)));
    }
    Ok(v)
}

/// Parses one top-level item, attaching and clearing `pending` prefixes when it is a key.
/// `last_type` receives the value type byte of a key.
pub(crate) fn parse_item(
    c: &mut Cursor<'_>,
    pending: &mut Pending,
    last_type: &mut Option<u8>,
) -> PResult<Item> {
    loop {
        let at = c.pos;
        let op = c.u8()?;
        let item = match op {
            0xFF => Item::Eof,
            0xFE => Item::SelectDb(c.len()?),
            0xFD => {
                let secs = i32::from_le_bytes(c.array()?) as i64;
                pending.expire_ms = Some(secs * 1000);
                continue;
            }
            0xFC => {
                pending.expire_ms = Some(c.i64_le()?);
                continue;
            }
            0xFB => Item::ResizeDb {
                db_size: c.len()?,
                expires_size: c.len()?,
            },
            0xFA => Item::Aux {
                key: c.string()?,
                value: c.string()?,
            },
            0xF9 => {
                pending.lfu_freq = Some(c.u8()?);
                continue;
            }
            0xF8 => {
                pending.lru_idle = Some(c.len()?);
                continue;
            }
            0xF7 => {
                let module_id = c.len()?;
                let when_at = c.pos;
                if c.len()? != MODULE_OPCODE_UINT {
                    return Err(c.corrupt_at(when_at, "module aux 'when' opcode is not UINT"));
                }
                let when = c.len()?;
                Item::ModuleAux(ModuleAux {
                    module_id,
                    when,
                    elems: read_module_elems(c)?,
                })
            }
            0xF6 => {
                return Err(PErr::Fail(Error::Unsupported {
                    offset: c.base + at as u64,
                    what: "pre-release function format (Redis 7.0 release candidates)",
                }))
            }
            0xF5 => Item::Function(c.string()?),
            t if types::is_value_type(t) => {
                let key = c.string()?;
                let value = read_value(c, t, at)?;
                let p = std::mem::take(pending);
                *last_type = Some(t);
                Item::Entry(Entry {
                    key,
                    value,
                    expire_ms: p.expire_ms,
                    lru_idle: p.lru_idle,
                    lfu_freq: p.lfu_freq,
                })
            }
            byte => {
                return Err(PErr::Fail(Error::UnknownType {
                    offset: c.base + at as u64,
                    byte,
                }))
            }
        };
        return Ok(item);
    }
}

/// Module opcode: end of a module's data.
const MODULE_OPCODE_EOF: u64 = 0;
/// Module opcode: signed integer.
const MODULE_OPCODE_SINT: u64 = 1;
/// Module opcode: unsigned integer.
const MODULE_OPCODE_UINT: u64 = 2;
/// Module opcode: binary float.
const MODULE_OPCODE_FLOAT: u64 = 3;
/// Module opcode: binary double.
const MODULE_OPCODE_DOUBLE: u64 = 4;
/// Module opcode: string.
const MODULE_OPCODE_STRING: u64 = 5;

/// Reads opcode-tagged module data up to and including the EOF opcode.
fn read_module_elems(c: &mut Cursor<'_>) -> PResult<Vec<ModuleElem>> {
    let mut elems = Vec::new();
    loop {
        let at = c.pos;
        elems.push(match c.len()? {
            MODULE_OPCODE_EOF => return Ok(elems),
            MODULE_OPCODE_SINT => ModuleElem::SInt(c.len()? as i64),
            MODULE_OPCODE_UINT => ModuleElem::UInt(c.len()?),
            MODULE_OPCODE_FLOAT => ModuleElem::Float(f32::from_le_bytes(c.array()?)),
            MODULE_OPCODE_DOUBLE => ModuleElem::Double(f64::from_le_bytes(c.array()?)),
            MODULE_OPCODE_STRING => ModuleElem::String(c.string()?),
            _ => return Err(c.corrupt_at(at, "unknown module opcode")),
        });
    }
}

/// Reads `n` strings.
fn read_strings(c: &mut Cursor<'_>) -> PResult<Vec<Vec<u8>>> {
    let n = c.len()?;
    let mut v = Vec::with_capacity(c.cap(n, 1));
    for _ in 0..n {
        v.push(c.string()?);
    }
    Ok(v)
}

/// Reads a string-encoded double (type 3 scores): length byte, 253 = NaN, 254 = +inf, 255 = -inf.
fn read_string_double(c: &mut Cursor<'_>) -> PResult<f64> {
    let at = c.pos;
    Ok(match c.u8()? {
        253 => f64::NAN,
        254 => f64::INFINITY,
        255 => f64::NEG_INFINITY,
        n => parse_f64(c.take(n as usize)?)
            .ok_or_else(|| c.corrupt_at(at, "invalid string-encoded double"))?,
    })
}

/// Reads a string holding an encoded blob and validates it with `parse`.
fn read_blob<T>(
    c: &mut Cursor<'_>,
    parse: impl FnOnce(&[u8]) -> Result<T, &'static str>,
) -> PResult<T> {
    let at = c.pos;
    let blob = c.string()?;
    parse(&blob).map_err(|r| c.corrupt_at(at, r))
}

/// Pairs up a flat field, value, field, value... list.
fn hash_pairs(items: Vec<LpItem<'_>>) -> Result<Pairs, &'static str> {
    if !items.len().is_multiple_of(2) {
        return Err("odd number of elements in a hash encoding");
    }
    Ok(items
        .chunks_exact(2)
        .map(|kv| (kv[0].to_bytes(), kv[1].to_bytes()))
        .collect())
}

/// Pairs up a flat member, score, member, score... list.
fn zset_pairs(items: Vec<LpItem<'_>>) -> Result<Vec<(Vec<u8>, f64)>, &'static str> {
    if !items.len().is_multiple_of(2) {
        return Err("odd number of elements in a sorted-set encoding");
    }
    items
        .chunks_exact(2)
        .map(|kv| {
            Ok((
                kv[0].to_bytes(),
                score_of(kv[1]).ok_or("invalid score in a sorted-set encoding")?,
            ))
        })
        .collect()
}

/// A sorted-set score stored as a listpack/ziplist element.
fn score_of(it: LpItem<'_>) -> Option<f64> {
    match it {
        LpItem::Int(v) => Some(v as f64),
        LpItem::Str(s) => parse_f64(s),
    }
}

/// Parses a listpack into strings.
fn lp_strings(b: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    Ok(listpack::parse(b)?
        .into_iter()
        .map(LpItem::to_bytes)
        .collect())
}

/// Parses a ziplist into strings.
fn zl_strings(b: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    Ok(ziplist::parse(b)?
        .into_iter()
        .map(LpItem::to_bytes)
        .collect())
}

/// Reads the value of RDB object type `t` (whose type byte was at position `type_at`).
pub(crate) fn read_value(c: &mut Cursor<'_>, t: u8, type_at: usize) -> PResult<RdbValue> {
    use types::*;
    Ok(match t {
        STRING => RdbValue::String(c.string()?),
        LIST => RdbValue::List(read_strings(c)?),
        SET => RdbValue::Set(read_strings(c)?),
        ZSET => {
            let n = c.len()?;
            let mut v = Vec::with_capacity(c.cap(n, 2));
            for _ in 0..n {
                let m = c.string()?;
                v.push((m, read_string_double(c)?));
            }
            RdbValue::ZSet(v)
        }
        HASH => {
            let n = c.len()?;
            let mut v = Vec::with_capacity(c.cap(n, 2));
            for _ in 0..n {
                let f = c.string()?;
                v.push((f, c.string()?));
            }
            RdbValue::Hash(v)
        }
        ZSET_2 => {
            let n = c.len()?;
            let mut v = Vec::with_capacity(c.cap(n, 9));
            for _ in 0..n {
                let m = c.string()?;
                v.push((m, f64::from_le_bytes(c.array()?)));
            }
            RdbValue::ZSet(v)
        }
        MODULE => {
            return Err(PErr::Fail(Error::Unsupported {
                offset: c.base + type_at as u64,
                what: "pre-4.0 module value (type 6)",
            }))
        }
        MODULE_2 => {
            let type_id = c.len()?;
            RdbValue::Module(ModuleValue {
                type_id,
                elems: read_module_elems(c)?,
            })
        }
        HASH_ZIPMAP => RdbValue::Hash(read_blob(c, zipmap::parse)?),
        LIST_ZIPLIST => RdbValue::List(read_blob(c, zl_strings)?),
        SET_INTSET => RdbValue::Set(
            read_blob(c, intset::parse)?
                .into_iter()
                .map(i64_bytes)
                .collect(),
        ),
        ZSET_ZIPLIST => RdbValue::ZSet(read_blob(c, |b| zset_pairs(ziplist::parse(b)?))?),
        HASH_ZIPLIST => RdbValue::Hash(read_blob(c, |b| hash_pairs(ziplist::parse(b)?))?),
        LIST_QUICKLIST => {
            let n = c.len()?;
            let mut v = Vec::new();
            for _ in 0..n {
                v.extend(read_blob(c, zl_strings)?);
            }
            RdbValue::List(v)
        }
        HASH_LISTPACK => RdbValue::Hash(read_blob(c, |b| hash_pairs(listpack::parse(b)?))?),
        ZSET_LISTPACK => RdbValue::ZSet(read_blob(c, |b| zset_pairs(listpack::parse(b)?))?),
        LIST_QUICKLIST_2 => {
            let n = c.len()?;
            let mut v = Vec::new();
            for _ in 0..n {
                let at = c.pos;
                match c.len()? {
                    QUICKLIST_NODE_PLAIN => v.push(c.string()?),
                    QUICKLIST_NODE_PACKED => v.extend(read_blob(c, lp_strings)?),
                    _ => return Err(c.corrupt_at(at, "unknown quicklist node container")),
                }
            }
            RdbValue::List(v)
        }
        SET_LISTPACK => RdbValue::Set(read_blob(c, lp_strings)?),
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 => {
            RdbValue::Stream(Box::new(stream::read(c, t)?))
        }
        byte => {
            return Err(PErr::Fail(Error::UnknownType {
                offset: c.base + type_at as u64,
                byte,
            }))
        }
    })
}

/// Decodes a complete RDB file held in memory (header through checksum; bytes after the
/// checksum are ignored, as Redis does).
pub fn decode_all(bytes: &[u8], opts: &DecodeOptions) -> Result<RdbFile, Error> {
    let fail = |e: PErr| match e {
        PErr::Incomplete(_) => Error::Truncated,
        PErr::Fail(e) => e,
    };
    let mut c = Cursor::new(bytes, 0);
    let version = parse_header(&mut c, opts.max_version).map_err(fail)?;
    let mut items = Vec::new();
    let mut pending = Pending::default();
    let mut last_type = None;
    loop {
        let item = parse_item(&mut c, &mut pending, &mut last_type).map_err(fail)?;
        let eof = item == Item::Eof;
        items.push(item);
        if eof {
            break;
        }
    }
    if version >= 5 {
        let computed = crc64(0, &bytes[..c.pos]);
        let stored = u64::from_le_bytes(c.array().map_err(fail)?);
        if opts.verify_checksum && stored != 0 && stored != computed {
            return Err(Error::ChecksumMismatch { stored, computed });
        }
    }
    Ok(RdbFile { version, items })
}

/// Decodes one value of object type `t` from a complete buffer; returns it and the bytes used.
pub fn decode_value(t: u8, bytes: &[u8]) -> Result<(RdbValue, usize), Error> {
    if !types::is_value_type(t) {
        return Err(Error::UnknownType { offset: 0, byte: t });
    }
    let mut c = Cursor::new(bytes, 0);
    match read_value(&mut c, t, 0) {
        Ok(v) => Ok((v, c.pos)),
        Err(PErr::Incomplete(_)) => Err(Error::Truncated),
        Err(PErr::Fail(e)) => Err(e),
    }
}

//! `DUMP`/`RESTORE` payloads: object type byte, value, 2-byte LE RDB version, then the CRC-64
//! (LE) of everything before it.

use crate::crc64::crc64;
use crate::decode::decode_value;
use crate::encode::{encode_value, EncodeOptions, RDB_VERSION};
use crate::error::Error;
use crate::model::RdbValue;

/// Highest payload version Redis 7.0's `RESTORE` accepts.
pub const DUMP_MAX_VERSION: u16 = 10;

/// Why a `RESTORE` payload was refused.
#[derive(Debug)]
pub enum DumpError {
    /// Too short, version above 10, or wrong checksum (Redis: "DUMP payload version or
    /// checksum are wrong").
    BadFooter,
    /// The footer is fine but the value does not decode (Redis: "Bad data format").
    BadData(Error),
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::BadFooter => f.write_str("DUMP payload version or checksum are wrong"),
            DumpError::BadData(_) => f.write_str("Bad data format"),
        }
    }
}

impl std::error::Error for DumpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DumpError::BadData(e) => Some(e),
            DumpError::BadFooter => None,
        }
    }
}

/// Serializes a value as `DUMP` does.
pub fn dump_payload(value: &RdbValue, opts: &EncodeOptions) -> Vec<u8> {
    let mut out = vec![0];
    let t = encode_value(value, opts, &mut out);
    out[0] = t;
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a payload's footer as Redis 7.0's `verifyDumpPayload` does; returns its RDB version.
/// With `skip_checksum` (`skip-checksum-validation`), only the version is checked.
pub fn verify_dump_payload(payload: &[u8], skip_checksum: bool) -> Result<u16, DumpError> {
    if payload.len() < 10 {
        return Err(DumpError::BadFooter);
    }
    let footer = &payload[payload.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > DUMP_MAX_VERSION {
        return Err(DumpError::BadFooter);
    }
    if !skip_checksum {
        let mut stored = [0u8; 8];
        stored.copy_from_slice(&footer[2..]);
        if crc64(0, &payload[..payload.len() - 8]) != u64::from_le_bytes(stored) {
            return Err(DumpError::BadFooter);
        }
    }
    Ok(version)
}

/// Verifies and decodes a payload (as `RESTORE`); bytes between the value and the footer are
/// ignored, as Redis does.
pub fn decode_dump_payload(payload: &[u8], skip_checksum: bool) -> Result<RdbValue, DumpError> {
    verify_dump_payload(payload, skip_checksum)?;
    let body = &payload[..payload.len() - 10];
    let (&t, rest) = body
        .split_first()
        .ok_or(DumpError::BadData(Error::Truncated))?;
    decode_value(t, rest)
        .map(|(v, _)| v)
        .map_err(DumpError::BadData)
}

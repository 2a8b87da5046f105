//! The decoder's error type.

use std::fmt;

/// Why RDB data could not be decoded.
#[derive(Debug)]
pub enum Error {
    /// The input ended in the middle of the file (or of a DUMP payload).
    Truncated,
    /// The underlying reader failed.
    Io(std::io::Error),
    /// The file does not start with `REDIS` and four ASCII digits.
    BadMagic,
    /// The header's version is outside the accepted range.
    UnsupportedVersion(u32),
    /// An object type or opcode byte that no supported version defines.
    UnknownType {
        /// Absolute byte offset of the type byte.
        offset: u64,
        /// The byte.
        byte: u8,
    },
    /// The data is malformed.
    Corrupt {
        /// Absolute byte offset where the problem was found (start of the enclosing blob for
        /// listpacks, ziplists and intsets).
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// Well-formed data this crate cannot represent (pre-4.0 module values, pre-GA functions).
    Unsupported {
        /// Absolute byte offset of the item.
        offset: u64,
        /// What it is.
        what: &'static str,
    },
    /// The stored CRC-64 differs from the computed one.
    ChecksumMismatch {
        /// The 8 bytes after the EOF opcode.
        stored: u64,
        /// The CRC-64 of everything before them.
        computed: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("unexpected end of RDB data"),
            Error::Io(e) => write!(f, "I/O error reading RDB data: {e}"),
            Error::BadMagic => f.write_str("wrong signature trying to load DB from file"),
            Error::UnsupportedVersion(v) => write!(f, "can't handle RDB format version {v}"),
            Error::UnknownType { offset, byte } => {
                write!(
                    f,
                    "unknown RDB object type or opcode {byte} at offset {offset}"
                )
            }
            Error::Corrupt { offset, reason } => {
                write!(f, "corrupt RDB data at offset {offset}: {reason}")
            }
            Error::Unsupported { offset, what } => {
                write!(f, "unsupported RDB content at offset {offset}: {what}")
            }
            Error::ChecksumMismatch { stored, computed } => {
                write!(
                    f,
                    "wrong RDB checksum: stored {stored:016x}, computed {computed:016x}"
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

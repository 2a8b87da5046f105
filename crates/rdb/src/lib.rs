//! The RDB snapshot format of Redis, with no I/O of its own.
//!
//! * Decoding reads versions 1–11: every object type and encoding Redis ever wrote (strings with
//!   integer and LZF encodings; linked, ziplist, quicklist and quicklist-2 lists; hashtable,
//!   intset and listpack sets; string-score, binary-score, ziplist and listpack sorted sets;
//!   hashtable, zipmap, ziplist and listpack hashes; streams of types 15, 19 and 21 with consumer
//!   groups; opcode-tagged module values), the opcodes AUX, RESIZEDB, EXPIRETIME(_MS), SELECTDB,
//!   IDLE, FREQ, FUNCTION2, MODULE_AUX and EOF, and the CRC-64. Every length is checked against
//!   the input before it is trusted; malformed input is an [`Error`], never a panic.
//!   Front ends: [`decode_all`] (a buffer), [`PushDecoder`] (bytes as they arrive), [`Decoder`]
//!   (any `std::io::Read`).
//! * Encoding writes `REDIS0010` files that Redis 7.0 loads, choosing the encodings Redis 7.0
//!   itself would ([`EncodeOptions`] carries the thresholds): [`Encoder`] over any `Write`.
//! * [`dump_payload`] / [`decode_dump_payload`] implement the `DUMP`/`RESTORE` format.
//!
//! The data model ([`Item`], [`Entry`], [`RdbValue`], [`StreamValue`]) knows nothing of any
//! server's store types. Decoding keeps the file's order and does not reject duplicate members
//! or empty aggregates (Redis treats the former as corruption and skips the latter): the loader
//! inserting into its own structures decides.

#![warn(missing_docs)]

pub mod crc64;
mod cursor;
mod decode;
mod dump;
mod encode;
mod error;
pub mod intset;
pub mod listpack;
pub mod lzf;
mod model;
pub mod num;
mod push;
mod stream;
pub mod types;
pub mod ziplist;
pub mod zipmap;

pub use decode::{decode_all, decode_value, DecodeOptions, RdbFile};
pub use dump::{
    decode_dump_payload, dump_payload, verify_dump_payload, DumpError, DUMP_MAX_VERSION,
};
pub use encode::{
    encode_to_vec, encode_value, value_type, AuxFields, EncodeOptions, Encoder, ReplAux,
    RDB_VERSION,
};
pub use error::Error;
pub use model::{
    module_type_name, Entry, Item, ModuleAux, ModuleElem, ModuleValue, Pairs, PendingEntry,
    RdbValue, StreamConsumer, StreamEntry, StreamGroup, StreamId, StreamValue,
};
pub use push::{Decoder, PushDecoder};

//! RDB object type codes and opcode bytes.

/// String.
pub const STRING: u8 = 0;
/// Linked list (legacy): length + strings.
pub const LIST: u8 = 1;
/// Hashtable set: length + strings.
pub const SET: u8 = 2;
/// Sorted set with string-encoded scores (legacy).
pub const ZSET: u8 = 3;
/// Hashtable hash: length + field/value strings.
pub const HASH: u8 = 4;
/// Skiplist sorted set with binary double scores.
pub const ZSET_2: u8 = 5;
/// Pre-4.0 module value (unsupported).
pub const MODULE: u8 = 6;
/// Module value with opcode-tagged payload.
pub const MODULE_2: u8 = 7;
/// Zipmap hash (Redis ≤ 2.4).
pub const HASH_ZIPMAP: u8 = 9;
/// Ziplist list (Redis ≤ 3.0).
pub const LIST_ZIPLIST: u8 = 10;
/// Intset set.
pub const SET_INTSET: u8 = 11;
/// Ziplist sorted set (Redis ≤ 6.2).
pub const ZSET_ZIPLIST: u8 = 12;
/// Ziplist hash (Redis ≤ 6.2).
pub const HASH_ZIPLIST: u8 = 13;
/// Quicklist of ziplists (Redis 3.2–6.2).
pub const LIST_QUICKLIST: u8 = 14;
/// Stream, Redis 5.0–6.2 layout.
pub const STREAM_LISTPACKS: u8 = 15;
/// Listpack hash.
pub const HASH_LISTPACK: u8 = 16;
/// Listpack sorted set.
pub const ZSET_LISTPACK: u8 = 17;
/// Quicklist of listpack (or plain) nodes (Redis 7.0).
pub const LIST_QUICKLIST_2: u8 = 18;
/// Stream, Redis 7.0 layout.
pub const STREAM_LISTPACKS_2: u8 = 19;
/// Listpack set (Redis 7.2).
pub const SET_LISTPACK: u8 = 20;
/// Stream, Redis 7.2 layout (consumer active time).
pub const STREAM_LISTPACKS_3: u8 = 21;

/// Quicklist-2 node holding one raw element.
pub const QUICKLIST_NODE_PLAIN: u64 = 1;
/// Quicklist-2 node holding a listpack.
pub const QUICKLIST_NODE_PACKED: u64 = 2;

/// Opcode: function library (Redis 7.0).
pub const OP_FUNCTION2: u8 = 0xF5;
/// Opcode: pre-GA function (7.0 release candidates; unsupported).
pub const OP_FUNCTION_PRE_GA: u8 = 0xF6;
/// Opcode: module auxiliary data.
pub const OP_MODULE_AUX: u8 = 0xF7;
/// Opcode: LRU idle seconds of the next key.
pub const OP_IDLE: u8 = 0xF8;
/// Opcode: LFU counter of the next key.
pub const OP_FREQ: u8 = 0xF9;
/// Opcode: auxiliary field.
pub const OP_AUX: u8 = 0xFA;
/// Opcode: database size hints.
pub const OP_RESIZEDB: u8 = 0xFB;
/// Opcode: expiry of the next key in ms.
pub const OP_EXPIRETIME_MS: u8 = 0xFC;
/// Opcode: expiry of the next key in seconds (legacy).
pub const OP_EXPIRETIME: u8 = 0xFD;
/// Opcode: select database.
pub const OP_SELECTDB: u8 = 0xFE;
/// Opcode: end of file.
pub const OP_EOF: u8 = 0xFF;

/// True for every object type byte this crate can decode (or report as unsupported).
pub fn is_value_type(t: u8) -> bool {
    matches!(t, 0..=7 | 9..=21)
}

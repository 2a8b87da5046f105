//! The crate's plain data model: what an RDB file contains, independent of any server's types.

/// A stream entry ID (`<ms>-<seq>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// Builds an ID from its two parts.
    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The 16-byte big-endian form used as radix-tree key and in PELs.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// Parses the 16-byte big-endian form.
    pub fn from_be_bytes(b: [u8; 16]) -> StreamId {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId {
            ms: u64::from_be_bytes(ms),
            seq: u64::from_be_bytes(seq),
        }
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One live stream entry: its ID and field/value pairs in insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// The entry's ID.
    pub id: StreamId,
    /// Field/value pairs.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A pending (delivered, not yet acknowledged) entry in a consumer group's PEL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEntry {
    /// The entry's ID.
    pub id: StreamId,
    /// Unix time in ms of the last delivery.
    pub delivery_time_ms: i64,
    /// Number of deliveries.
    pub delivery_count: u64,
}

/// A consumer of a group, with the IDs it owns in the group's PEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConsumer {
    /// The consumer's name.
    pub name: Vec<u8>,
    /// Unix time in ms the consumer was last seen.
    pub seen_time_ms: i64,
    /// Unix time in ms of its last successful interaction (RDB type 21 / Redis 7.2 only).
    pub active_time_ms: Option<i64>,
    /// IDs it owns, each present in the group's `pending`.
    pub pending: Vec<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamGroup {
    /// The group's name.
    pub name: Vec<u8>,
    /// Last ID delivered to the group.
    pub last_id: StreamId,
    /// Logical read counter (`entries-read`); `None` when unknown (stored as 2^64-1).
    pub entries_read: Option<u64>,
    /// The group's PEL, in ascending ID order as Redis writes it.
    pub pending: Vec<PendingEntry>,
    /// The consumers, in name order as Redis writes them.
    pub consumers: Vec<StreamConsumer>,
}

/// A stream: live entries in ascending ID order plus the stream's metadata and groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamValue {
    /// Live (not deleted) entries, ascending by ID.
    pub entries: Vec<StreamEntry>,
    /// The last ID ever generated (`last-generated-id`).
    pub last_id: StreamId,
    /// First live entry's ID (`0-0` when empty; computed for type 15).
    pub first_id: StreamId,
    /// Largest ID ever deleted (`max-deleted-entry-id`; `0-0` for type 15).
    pub max_deleted_id: StreamId,
    /// Count of all entries ever added (`entries-added`; the length for type 15).
    pub entries_added: u64,
    /// Consumer groups, in name order as Redis writes them.
    pub groups: Vec<StreamGroup>,
}

/// One owned element of a module's self-describing serialization.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleElem {
    /// `RedisModule_SaveSigned`.
    SInt(i64),
    /// `RedisModule_SaveUnsigned`.
    UInt(u64),
    /// `RedisModule_SaveFloat`.
    Float(f32),
    /// `RedisModule_SaveDouble`.
    Double(f64),
    /// `RedisModule_SaveStringBuffer`.
    String(Vec<u8>),
}

/// A module data type value (RDB type 7): the module type ID and its opcode-tagged payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleValue {
    /// 64-bit module type ID (9-character name and 10-bit encoding version, see [`module_type_name`]).
    pub type_id: u64,
    /// The payload, in order.
    pub elems: Vec<ModuleElem>,
}

/// A module's auxiliary data (opcode 0xF7).
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleAux {
    /// 64-bit module type ID.
    pub module_id: u64,
    /// When it was saved: 1 = before the keyspace, 2 = after.
    pub when: u64,
    /// The payload, in order.
    pub elems: Vec<ModuleElem>,
}

/// Splits a 64-bit module type ID into its 9-character name and encoding version.
pub fn module_type_name(id: u64) -> (String, u16) {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut name = [0u8; 9];
    let mut v = id >> 10;
    for j in (0..9).rev() {
        name[j] = CSET[(v & 63) as usize];
        v >>= 6;
    }
    (
        String::from_utf8_lossy(&name).into_owned(),
        (id & 1023) as u16,
    )
}

/// Field/value pairs of a hash (or a stream entry), in order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A key's value in the RDB's plain model. Aggregates keep the order found in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    /// A string.
    String(Vec<u8>),
    /// A list, head to tail.
    List(Vec<Vec<u8>>),
    /// A set's members.
    Set(Vec<Vec<u8>>),
    /// A sorted set's (member, score) pairs.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A hash's (field, value) pairs.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// A stream.
    Stream(Box<StreamValue>),
    /// A module data type value.
    Module(ModuleValue),
}

impl RdbValue {
    /// Redis's `TYPE` name of the value (`string`, `list`, `set`, `zset`, `hash`, `stream`, or
    /// the module type's name).
    pub fn type_name(&self) -> String {
        match self {
            RdbValue::String(_) => "string".into(),
            RdbValue::List(_) => "list".into(),
            RdbValue::Set(_) => "set".into(),
            RdbValue::ZSet(_) => "zset".into(),
            RdbValue::Hash(_) => "hash".into(),
            RdbValue::Stream(_) => "stream".into(),
            RdbValue::Module(m) => module_type_name(m.type_id).0,
        }
    }

    /// True for a list, set, sorted set or hash with no elements (Redis skips such keys when
    /// loading and never writes them).
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            RdbValue::List(v) | RdbValue::Set(v) => v.is_empty(),
            RdbValue::ZSet(v) => v.is_empty(),
            RdbValue::Hash(v) => v.is_empty(),
            _ => false,
        }
    }
}

/// A key with its value and per-key metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: RdbValue,
    /// Absolute expiry, unix ms (`EXPIRETIME_MS`, or `EXPIRETIME` seconds × 1000).
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (`IDLE`, written with an LRU maxmemory-policy).
    pub lru_idle: Option<u64>,
    /// LFU logarithmic counter (`FREQ`, written with an LFU maxmemory-policy).
    pub lfu_freq: Option<u8>,
}

impl Entry {
    /// A key with no expiry and no LRU/LFU data.
    pub fn new(key: impl Into<Vec<u8>>, value: RdbValue) -> Entry {
        Entry {
            key: key.into(),
            value,
            expire_ms: None,
            lru_idle: None,
            lfu_freq: None,
        }
    }
}

/// One top-level record of an RDB file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `AUX` field (0xFA): informational key/value such as `redis-ver` or `repl-id`.
    Aux {
        /// The field name.
        key: Vec<u8>,
        /// The field value (integers appear as decimal text).
        value: Vec<u8>,
    },
    /// `MODULE_AUX` (0xF7): a module's auxiliary data.
    ModuleAux(ModuleAux),
    /// `FUNCTION2` (0xF5): one function library's source code.
    Function(Vec<u8>),
    /// `SELECTDB` (0xFE): the following keys belong to this database.
    SelectDb(u64),
    /// `RESIZEDB` (0xFB): size hints for the current database.
    ResizeDb {
        /// Number of keys.
        db_size: u64,
        /// Number of keys with an expiry.
        expires_size: u64,
    },
    /// A key and its value.
    Entry(Entry),
    /// `EOF` (0xFF), after which the checksum was verified. Always the last item.
    Eof,
}

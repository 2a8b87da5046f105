//! The values a key can hold.

use crate::num::parse_i64;
use crate::small::SmallBytes;
use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

/// The longest string Redis keeps in its compact `embstr` encoding.
pub const EMBSTR_MAX: usize = 44;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string that is the canonical decimal form of an integer (`int` encoding).
    Int(i64),
    /// A short immutable string (`embstr` encoding); up to 22 bytes need no allocation.
    Emb(SmallBytes),
    /// A longer string, allocated at its exact length (`raw` encoding): what SET, loading and
    /// replication store. The bytes are the value's only allocation (Redis needs two: the
    /// `robj` and the sds), which is most of a long string's overhead.
    Raw(Box<[u8]>),
    /// A `raw` string with room to grow in place: what APPEND, SETRANGE, SETBIT and PFADD
    /// leave behind (see [`Value::make_raw`]).
    RawBuf(Box<Vec<u8>>),
    /// A list.
    List(Box<List>),
    /// A hash.
    Hash(Box<Hash>),
    /// A set.
    Set(Box<Set>),
    /// A sorted set.
    ZSet(Box<ZSet>),
    /// A stream.
    Stream(Box<Stream>),
}

/// The kind of a value, as TYPE names it and WRONGTYPE checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// A string.
    String,
    /// A list.
    List,
    /// A hash.
    Hash,
    /// A set.
    Set,
    /// A sorted set.
    ZSet,
    /// A stream.
    Stream,
}

impl ValueType {
    /// The name TYPE and SCAN TYPE use.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
            ValueType::Stream => "stream",
        }
    }
}

impl Value {
    /// A string value with the encoding Redis's `tryObjectEncoding` would choose.
    pub fn string(bytes: &[u8]) -> Value {
        if bytes.len() <= 20 {
            if let Some(n) = parse_i64(bytes) {
                return Value::Int(n);
            }
        }
        if bytes.len() <= EMBSTR_MAX {
            Value::Emb(bytes.into())
        } else {
            Value::Raw(bytes.into())
        }
    }

    /// A string value that takes ownership of `bytes`.
    pub fn string_owned(bytes: Vec<u8>) -> Value {
        if bytes.len() <= EMBSTR_MAX {
            Value::string(&bytes)
        } else {
            Value::Raw(bytes.into_boxed_slice())
        }
    }

    /// A `raw` string value of any length that is about to be edited in place.
    pub fn raw_buf(bytes: Vec<u8>) -> Value {
        Value::RawBuf(Box::new(bytes))
    }

    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Int(_) | Value::Emb(_) | Value::Raw(_) | Value::RawBuf(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
            Value::Stream(_) => ValueType::Stream,
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Emb(_) => "embstr",
            Value::Raw(_) | Value::RawBuf(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// True for string values.
    pub fn is_string(&self) -> bool {
        matches!(self.value_type(), ValueType::String)
    }

    /// The bytes of a string value (integers are formatted), or None for other types.
    pub fn as_bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            Value::Int(n) => Some(std::borrow::Cow::Owned(n.to_string().into_bytes())),
            Value::Emb(b) => Some(std::borrow::Cow::Borrowed(b)),
            Value::Raw(b) => Some(std::borrow::Cow::Borrowed(b)),
            Value::RawBuf(v) => Some(std::borrow::Cow::Borrowed(v)),
            _ => None,
        }
    }

    /// The length in bytes of a string value.
    pub fn str_len(&self) -> usize {
        match self {
            Value::Int(n) => {
                let mut len = if *n < 0 { 2 } else { 1 };
                let mut v = n.unsigned_abs();
                while v >= 10 {
                    v /= 10;
                    len += 1;
                }
                len
            }
            Value::Emb(b) => b.len(),
            Value::Raw(b) => b.len(),
            Value::RawBuf(v) => v.len(),
            _ => 0,
        }
    }

    /// A growable buffer for in-place edits (APPEND, SETRANGE, SETBIT): turns the value raw.
    ///
    /// An exactly sized [`Value::Raw`] becomes a [`Value::RawBuf`] without copying its bytes;
    /// from then on the buffer grows geometrically, as Redis's `sdsMakeRoomFor` does.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Value::RawBuf(_)) {
            let bytes = match std::mem::replace(self, Value::Int(0)) {
                Value::Raw(b) => b.into_vec(),
                other => other.as_bytes().map(|b| b.into_owned()).unwrap_or_default(),
            };
            *self = Value::RawBuf(Box::new(bytes));
        }
        match self {
            Value::RawBuf(v) => v,
            _ => unreachable!("just made raw"),
        }
    }

    /// Approximate bytes of memory the value uses, for MEMORY USAGE and INFO.
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Int(_) => 0,
                Value::Emb(b) => b.heap_bytes(),
                Value::Raw(b) => b.len(),
                Value::RawBuf(v) => std::mem::size_of::<Vec<u8>>() + v.capacity(),
                Value::List(l) => l.memory_usage(),
                Value::Hash(h) => h.memory_usage(),
                Value::Set(s) => s.memory_usage(),
                Value::ZSet(z) => z.memory_usage(),
                Value::Stream(s) => s.memory_usage(),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(Value::string(b"123").encoding(), "int");
        assert_eq!(Value::string(b"0123").encoding(), "embstr");
        assert_eq!(Value::string(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Value::string(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(Value::Int(-120).str_len(), 4);
        assert_eq!(Value::Int(i64::MIN).str_len(), 20);
        assert_eq!(
            std::mem::size_of::<Value>(),
            24,
            "a value fits in three words"
        );
    }

    #[test]
    fn long_strings_are_exactly_sized_until_edited() {
        let bytes = vec![b'v'; 100];
        let v = Value::string(&bytes);
        assert!(matches!(&v, Value::Raw(b) if b.len() == 100));
        assert_eq!(v.memory_usage(), 24 + 100);
        let owned = Value::string_owned(bytes.clone());
        assert!(matches!(&owned, Value::Raw(_)));
        assert_eq!(owned, v);

        // The first edit keeps the allocation (no copy), then grows it in place.
        let mut v = v;
        let before = match &v {
            Value::Raw(b) => b.as_ptr(),
            _ => unreachable!(),
        };
        assert_eq!(v.make_raw().as_ptr(), before);
        assert!(matches!(&v, Value::RawBuf(_)));
        assert_eq!(v.encoding(), "raw");
        v.make_raw().extend_from_slice(b"tail");
        assert_eq!(v.str_len(), 104);
        assert_eq!(&v.as_bytes().unwrap()[100..], b"tail");

        // Short strings and integers become growable raw strings too.
        let mut i = Value::string(b"12");
        i.make_raw().push(b'3');
        assert_eq!(
            (i.encoding(), &*i.as_bytes().unwrap()),
            ("raw", &b"123"[..])
        );
        let mut e = Value::string(b"abc");
        e.make_raw().push(b'd');
        assert_eq!(
            (e.encoding(), &*e.as_bytes().unwrap()),
            ("raw", &b"abcd"[..])
        );
        assert_eq!(Value::raw_buf(Vec::new()).encoding(), "raw");
    }

    proptest::proptest! {
        #[test]
        fn strings_round_trip(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100),
        ) {
            for v in [Value::string(&bytes), Value::string_owned(bytes.clone())] {
                proptest::prop_assert_eq!(&*v.as_bytes().unwrap(), &bytes[..]);
                proptest::prop_assert_eq!(v.str_len(), bytes.len());
                let raw = v.encoding() == "raw";
                proptest::prop_assert_eq!(raw, bytes.len() > EMBSTR_MAX);
                let mut v = v;
                v.make_raw().extend_from_slice(&tail);
                let mut want = bytes.clone();
                want.extend_from_slice(&tail);
                proptest::prop_assert_eq!(&*v.as_bytes().unwrap(), &want[..]);
                proptest::prop_assert_eq!(v.encoding(), "raw");
            }
        }
    }
}

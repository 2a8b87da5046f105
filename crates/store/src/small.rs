//! Short byte strings stored inline, without a heap allocation: keys and small string values.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

const INLINE: usize = 22;

/// A byte string: up to 22 bytes inline (24 bytes in all), longer ones on the heap.
#[derive(Clone)]
pub enum SmallBytes {
    /// Short bytes stored in place.
    Inline {
        /// Number of bytes used in `data`.
        len: u8,
        /// The bytes.
        data: [u8; INLINE],
    },
    /// Longer bytes, boxed.
    Heap(Box<[u8]>),
}

impl SmallBytes {
    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, data } => &data[..*len as usize],
            SmallBytes::Heap(b) => b,
        }
    }

    /// The bytes as an owned vector.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            SmallBytes::Inline { len, data } => data[..len as usize].to_vec(),
            SmallBytes::Heap(b) => b.into_vec(),
        }
    }

    /// Heap bytes owned beyond the 24 bytes of the value itself.
    pub fn heap_bytes(&self) -> usize {
        match self {
            SmallBytes::Inline { .. } => 0,
            SmallBytes::Heap(b) => b.len(),
        }
    }
}

impl From<&[u8]> for SmallBytes {
    #[inline]
    fn from(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut data = [0u8; INLINE];
            data[..bytes.len()].copy_from_slice(bytes);
            SmallBytes::Inline {
                len: bytes.len() as u8,
                data,
            }
        } else {
            SmallBytes::Heap(bytes.into())
        }
    }
}

impl From<Vec<u8>> for SmallBytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE {
            SmallBytes::from(&v[..])
        } else {
            SmallBytes::Heap(v.into_boxed_slice())
        }
    }
}

impl From<&bytes::Bytes> for SmallBytes {
    fn from(b: &bytes::Bytes) -> Self {
        SmallBytes::from(&b[..])
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for SmallBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for SmallBytes {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for SmallBytes {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Same as hashing the `[u8]`, as `Borrow` requires.
        self.as_bytes().hash(state)
    }
}

impl PartialEq for SmallBytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SmallBytes {}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn h<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut s = DefaultHasher::new();
        t.hash(&mut s);
        s.finish()
    }

    #[test]
    fn small_keys_are_inline_and_hash_like_slices() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        for len in [0usize, 1, 21, 22, 23, 100] {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let k = SmallBytes::from(&bytes[..]);
            assert_eq!(k.as_bytes(), &bytes[..]);
            assert_eq!(h(&k), h(&bytes[..]));
            assert_eq!(matches!(k, SmallBytes::Inline { .. }), len <= 22);
            assert_eq!(k.clone().into_vec(), bytes);
        }
    }
}

//! The hash value type (placeholder until its family lands).

/// A hash value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hash {}

impl Hash {
    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "unknown"
    }

    /// Approximate heap bytes used.
    pub fn memory_usage(&self) -> usize {
        0
    }
}

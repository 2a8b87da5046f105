//! The zset value type (placeholder until its family lands).

/// A zset value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZSet {}

impl ZSet {
    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "unknown"
    }

    /// Approximate heap bytes used.
    pub fn memory_usage(&self) -> usize {
        0
    }
}

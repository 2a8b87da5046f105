//! The stream value type (placeholder until its family lands).

/// A stream value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {}

impl Stream {
    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "unknown"
    }

    /// Approximate heap bytes used.
    pub fn memory_usage(&self) -> usize {
        0
    }
}

//! The set value type (placeholder until its family lands).

/// A set value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Set {}

impl Set {
    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "unknown"
    }

    /// Approximate heap bytes used.
    pub fn memory_usage(&self) -> usize {
        0
    }
}

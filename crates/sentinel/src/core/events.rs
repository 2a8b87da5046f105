//! Sentinel events: logged at their level and published on the channel named as their type.

/// An event's level: what is logged at the default verbosity and what is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Logged at `loglevel debug` only, never published.
    Debug,
    /// Published; logged at `loglevel verbose`.
    Verbose,
    /// Published and logged (`*`).
    Notice,
    /// Published, logged (`#`) and handed to the notification script.
    Warning,
}

impl Level {
    /// The mark Redis puts in a log line for this level.
    pub fn mark(self) -> char {
        match self {
            Level::Debug => '.',
            Level::Verbose => '-',
            Level::Notice => '*',
            Level::Warning => '#',
        }
    }
}

/// One event, such as `+sdown master mymaster 127.0.0.1 6379`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its level.
    pub level: Level,
    /// Its type, which is also the pub/sub channel (`+switch-master`).
    pub kind: String,
    /// The message published on the channel.
    pub message: String,
}

impl Event {
    /// The log line text: type and message.
    pub fn log_line(&self) -> String {
        format!("{} {}", self.kind, self.message)
    }

    /// Whether subscribers see it.
    pub fn published(&self) -> bool {
        self.level != Level::Debug
    }
}

//! Redoubt's Sentinel: detects a failed primary and promotes a replica, compatible with Redis
//! 7.0's Sentinel on the wire, in its events and in its config file.
//!
//! [`core`] decides: instances, timers, SDOWN/ODOWN, votes, the failover state machine, the
//! replies to SENTINEL commands and the config file's state lines, all as a pure state machine
//! fed with inputs and the current time. [`shell`] does the talking: links to the monitored
//! servers and other sentinels, the client-facing port, pub/sub of events, the log and the
//! config file.

pub mod core;
pub mod shell;

//! Server-level commands, one file per family.

pub mod admin;
pub mod client;
pub mod connection;
pub mod multi;
pub mod pubsub;

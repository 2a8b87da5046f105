//! The keyspace: databases, values, expiry, and the data commands, with no I/O.

pub mod cmd;
pub mod dict;
pub mod glob;
pub mod keyspace;
pub mod num;
pub mod rdbconv;
pub mod rewrite;
pub mod small;
pub mod types;
pub mod value;

pub use cmd::Ctx;
pub use keyspace::{Entry, Key, Keyspace};
pub use value::Value;

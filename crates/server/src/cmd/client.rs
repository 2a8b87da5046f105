//! CLIENT subcommands.

use crate::commands::Command;

/// CLIENT subcommands.
pub static SUBCOMMANDS: &[Command] = &[];

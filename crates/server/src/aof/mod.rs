//! The append-only file: Redis 7.0's multi-part layout (manifest, base, incremental files).


use crate::child::{Exit, RunningChild};
use crate::state::State;

/// What follows the end of an AOF rewrite child.
pub fn rewrite_done(_st: &mut State, _c: &RunningChild, _exit: Exit, _now_ms: i64) {}

/// Removes the base file a killed rewrite child was writing.
pub fn remove_temp_base(_st: &State, _pid: libc::pid_t) {}

/// The MISCONF error while writing the AOF fails, if it does.
pub fn disk_error(_st: &State) -> Option<String> {
    None
}

/// Writes and fsyncs what the AOF buffer holds before the process exits.
pub fn flush_for_shutdown(_st: &mut State) {}

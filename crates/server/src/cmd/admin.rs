//! Server administration: INFO, CONFIG, COMMAND, TIME, SHUTDOWN, MONITOR, SLOWLOG, LATENCY, DEBUG.

use crate::client::Session;
use crate::commands::{flag::*, Command, Handler::Server};
use crate::dispatch::Exec;
use crate::state::State;
use bytes::Bytes;
use resp::Out;

/// Replies with a HELP text: `<NAME> <subcommand> [<arg> ...]. Subcommands are:` then the lines, then HELP.
pub fn help_reply(out: &mut Out, name: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Print this help.");
}

/// Sends the MONITOR line for a command to every monitor.
pub fn feed_monitors(st: &mut State, sess: &Session, argv: &[Bytes], now_ms: i64) {
    let _ = (st, sess, argv, now_ms);
}

/// INFO [section ...]
pub fn info(ex: &mut Exec) {
    ex.out.verbatim(b"# Server\r\n");
}

/// TIME
pub fn time(ex: &mut Exec) {
    let us = crate::clock::unix_us();
    ex.out.array(2);
    ex.out.bulk_int(us / 1_000_000);
    ex.out.bulk_int(us % 1_000_000);
}

/// LASTSAVE
pub fn lastsave(ex: &mut Exec) {
    ex.out.int(ex.st.start_ms / 1000);
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
pub fn shutdown(ex: &mut Exec) {
    ex.st.shutdown_requested = true;
    ex.sess.close_after_reply = true;
}

/// MONITOR
pub fn monitor(ex: &mut Exec) {
    ex.out.ok();
}

/// DEBUG subcommand ...
pub fn debug(ex: &mut Exec) {
    ex.out.error("ERR unknown subcommand");
}

/// MEMORY HELP
pub fn memory_help(ex: &mut Exec) {
    help_reply(
        ex.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

/// COMMAND (no subcommand): every command's INFO.
pub fn command_all(ex: &mut Exec) {
    ex.out.array(0);
}

/// CONFIG subcommands.
pub static CONFIG_SUBCOMMANDS: &[Command] = &[];
/// COMMAND subcommands.
pub static COMMAND_SUBCOMMANDS: &[Command] = &[];
/// SLOWLOG subcommands.
pub static SLOWLOG_SUBCOMMANDS: &[Command] = &[];
/// LATENCY subcommands.
pub static LATENCY_SUBCOMMANDS: &[Command] = &[];

#[allow(dead_code)]
fn _unused() -> (u32, fn(&mut Exec)) {
    (ADMIN, |_| ())
}
#[allow(dead_code)]
const _S: Option<crate::commands::Handler> = Some(Server(info));

//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD / EXISTS / FLUSH / KILL / DEBUG / HELP.

use super::engine::{self, Engine, Kind};
use super::{sflag, sha1_hex, Script};
use crate::commands::flag::*;
use crate::commands::{Command, Handler};
use crate::dispatch::Exec;
use mlua::ffi;

/// The NOSCRIPT error.
const NOSCRIPT_ERR: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// EVAL script numkeys [key ...] [arg ...]
pub fn eval(ex: &mut Exec) {
    eval_generic(ex, false, false);
}

/// EVAL_RO script numkeys [key ...] [arg ...]
pub fn eval_ro(ex: &mut Exec) {
    eval_generic(ex, false, true);
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
pub fn evalsha(ex: &mut Exec) {
    eval_generic(ex, true, false);
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
pub fn evalsha_ro(ex: &mut Exec) {
    eval_generic(ex, true, true);
}

/// Parses numkeys as Redis's EVAL/FCALL do; the error is the reply.
pub(crate) fn parse_numkeys(ex: &Exec, bad_int: &str) -> Result<usize, String> {
    let Some(n) = store::num::parse_i64(&ex.argv[2]) else {
        return Err(bad_int.to_string());
    };
    if n > ex.argv.len() as i64 - 3 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    if n < 0 {
        return Err("ERR Number of keys can't be negative".into());
    }
    Ok(n as usize)
}

fn eval_generic(ex: &mut Exec, evalsha: bool, ro: bool) {
    // Scripts are shown to MONITOR before the commands they run.
    crate::cmd::admin::feed_monitors(ex.st, ex.sess, ex.argv, ex.now_ms);
    if evalsha && ex.argv[1].len() != 40 {
        return ex.out.error(NOSCRIPT_ERR);
    }
    let numkeys = match parse_numkeys(ex, store::cmd::NOT_INT) {
        Ok(n) => n,
        Err(e) => return ex.out.error(&e),
    };
    let sha = if evalsha {
        let mut sha = [0u8; 40];
        for (i, b) in ex.argv[1].iter().enumerate() {
            sha[i] = b.to_ascii_lowercase();
        }
        sha
    } else {
        // Known bodies skip the SHA1 (a hash lookup is cheaper).
        match ex.st.scripting.sha_by_body.get(&ex.argv[1][..]) {
            Some(sha) => *sha,
            None => sha1_hex(&ex.argv[1]),
        }
    };
    let mut eng = ex
        .st
        .scripting
        .eval
        .take()
        .unwrap_or_else(|| Engine::new(Kind::Eval));
    let found = ex.st.scripting.scripts.get(&sha).map(|s| (s.fref, s.flags));
    let (fref, flags) = match found {
        Some(f) => f,
        None if evalsha => {
            ex.st.scripting.eval = Some(eng);
            return ex.out.error(NOSCRIPT_ERR);
        }
        None => match create(&mut eng, ex.st, &ex.argv[1], sha) {
            Ok(f) => f,
            Err(e) => {
                ex.st.scripting.eval = Some(eng);
                return ex.out.error(&e);
            }
        },
    };
    if let Err(e) = super::prepare_for_run(ex.st, ex.sess, flags, ro) {
        ex.st.scripting.eval = Some(eng);
        return ex.out.error(&e);
    }
    let name = String::from_utf8_lossy(&sha).into_owned();
    super::run(ex, &mut eng, fref, name, flags, ro, true, numkeys);
    if ex.st.scripting.eval.is_none() {
        ex.st.scripting.eval = Some(eng);
    }
}

/// Parses a script's shebang line (`#!lua flags=...`): its flags, or the error reply.
pub(crate) fn shebang_flags(body: &[u8]) -> Result<u32, String> {
    Ok(parse_shebang(body)?.0)
}

/// The flags and the length of the shebang line (0 without one).
fn parse_shebang(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((sflag::EVAL_COMPAT, 0));
    }
    let Some(len) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..len]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = 0;
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            match sflag::NAMES.iter().find(|(_, n)| *n == f) {
                Some((bit, _)) => flags |= bit,
                None => {
                    return Err(format!("ERR Unexpected flag in script shebang: {f}"));
                }
            }
        }
    }
    Ok((flags, len))
}

/// Compiles and caches a script (`luaCreateFunction`): its registry ref and flags.
fn create(
    eng: &mut Engine,
    st: &mut crate::state::State,
    body: &bytes::Bytes,
    sha: [u8; 40],
) -> Result<(std::ffi::c_int, u32), String> {
    let (flags, shebang_len) = parse_shebang(body)?;
    let l = eng.l;
    // SAFETY: compiling pushes the function or the message; both are popped.
    let fref = unsafe {
        if engine::load_text(l, &body[shebang_len..], c"@user_script") != 0 {
            let msg = engine::opt_bytes(l, -1)
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .unwrap_or_default();
            ffi::lua_pop(l, 1);
            return Err(format!(
                "ERR Error compiling script (new function): {}",
                msg.trim_end_matches(['\r', '\n'])
            ));
        }
        ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX)
    };
    st.scripting.scripts.insert(sha, Script { flags, fref });
    st.scripting
        .sha_by_body
        .insert(bytes::Bytes::copy_from_slice(body), sha);
    Ok((fref, flags))
}

macro_rules! sub {
    ($name:literal, $arity:expr, $flags:expr, $since:literal, $f:expr, $summary:literal) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            group: "scripting",
            summary: $summary,
            since: $since,
            handler: Handler::Server($f),
            subcommands: &[],
        }
    };
}

/// SCRIPT subcommands, in Redis's COMMAND order.
pub static SCRIPT_SUBCOMMANDS: &[Command] = &[
    sub!(
        "debug",
        3,
        NOSCRIPT,
        "3.2.0",
        script_debug,
        "Set the debug mode for executed scripts."
    ),
    sub!(
        "load",
        3,
        NOSCRIPT | STALE,
        "2.6.0",
        script_load,
        "Load the specified Lua script into the script cache."
    ),
    sub!(
        "flush",
        -2,
        NOSCRIPT,
        "2.6.0",
        script_flush,
        "Remove all the scripts from the script cache."
    ),
    sub!(
        "help",
        2,
        LOADING | STALE,
        "5.0.0",
        script_help,
        "Show helpful text about the different subcommands"
    ),
    sub!(
        "exists",
        -3,
        NOSCRIPT,
        "2.6.0",
        script_exists,
        "Check existence of scripts in the script cache."
    ),
    sub!(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        "2.6.0",
        script_kill,
        "Kill the script currently in execution."
    ),
];

/// SCRIPT LOAD script
fn script_load(ex: &mut Exec) {
    let body = ex.argv[2].clone();
    let sha = sha1_hex(&body);
    if !ex.st.scripting.scripts.contains_key(&sha) {
        let mut eng = ex
            .st
            .scripting
            .eval
            .take()
            .unwrap_or_else(|| Engine::new(Kind::Eval));
        let r = create(&mut eng, ex.st, &body, sha);
        ex.st.scripting.eval = Some(eng);
        if let Err(e) = r {
            return ex.out.error(&e);
        }
    }
    ex.out.bulk(&sha);
}

/// SCRIPT EXISTS sha1 [sha1 ...]
fn script_exists(ex: &mut Exec) {
    ex.out.array(ex.argv.len() - 2);
    for a in &ex.argv[2..] {
        let found = a.len() == 40 && {
            let mut sha = [0u8; 40];
            for (i, b) in a.iter().enumerate() {
                sha[i] = b.to_ascii_lowercase();
            }
            ex.st.scripting.scripts.contains_key(&sha)
        };
        ex.out.int(found as i64);
    }
}

/// SCRIPT FLUSH [ASYNC|SYNC]
fn script_flush(ex: &mut Exec) {
    let ok = match ex.argv.len() {
        2 => true,
        3 => ex.argv[2].eq_ignore_ascii_case(b"sync") || ex.argv[2].eq_ignore_ascii_case(b"async"),
        _ => false,
    };
    if !ok {
        return ex
            .out
            .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    ex.st.scripting.scripts.clear();
    ex.st.scripting.sha_by_body.clear();
    ex.st.scripting.eval = None;
    ex.out.ok();
}

/// SCRIPT KILL (with the lock: nothing runs; a busy script is killed without it).
fn script_kill(ex: &mut Exec) {
    super::kill_not_busy(ex);
}

/// SCRIPT DEBUG YES|SYNC|NO: the interactive debugger is not available.
fn script_debug(ex: &mut Exec) {
    let mode = &ex.argv[2];
    if mode.eq_ignore_ascii_case(b"no") {
        ex.out.ok();
    } else if mode.eq_ignore_ascii_case(b"yes") || mode.eq_ignore_ascii_case(b"sync") {
        ex.out
            .error("ERR The Lua debugger (SCRIPT DEBUG) is not supported by this server");
    } else {
        ex.out.error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }
}

const SCRIPT_HELP: &[&str] = &[
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
];

/// SCRIPT HELP
fn script_help(ex: &mut Exec) {
    crate::cmd::admin::help_reply(ex.out, "SCRIPT", SCRIPT_HELP);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs() {
        assert_eq!(parse_shebang(b"return 1"), Ok((sflag::EVAL_COMPAT, 0)));
        assert_eq!(parse_shebang(b"#!lua\nreturn 1"), Ok((0, 5)));
        assert_eq!(
            parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((sflag::NO_WRITES | sflag::ALLOW_OOM, 31))
        );
        assert_eq!(
            parse_shebang(b"#!lua"),
            Err("ERR Invalid script shebang".into())
        );
        assert_eq!(
            parse_shebang(b"#!lua flags=bad\n"),
            Err("ERR Unexpected flag in script shebang: bad".into())
        );
        assert_eq!(
            parse_shebang(b"#!lua name=x\n"),
            Err("ERR Unknown lua shebang option: name=x".into())
        );
        assert_eq!(
            parse_shebang(b"#! lua\n"),
            Err("ERR Unexpected engine in script shebang: #!".into())
        );
    }
}

//! The `redis` table scripts see (`redis.call`, `redis.pcall`, `redis.error_reply`, ...), and
//! Redis's replacements of `pcall` and `math.random`.

use super::engine::{
    core, mark_ignore_stats, opt_bytes, push_bytes, push_cstr, push_error, raw_set_field, set_fn,
    set_num, Core, Kind, Lua,
};
use bytes::Bytes;
use mlua::ffi;
use std::ffi::c_int;

/// `PROPAGATE_AOF`.
pub(crate) const REPL_AOF: u8 = 1;
/// `PROPAGATE_REPL`.
pub(crate) const REPL_REPLICA: u8 = 2;

/// Registers the `redis` table and the overrides in the real globals (at setup).
pub(crate) unsafe fn register(l: Lua, core: *mut Core, kind: Kind) {
    unsafe {
        // pcall that turns a Redis error table back into its message.
        ffi::lua_pushcfunction(l, lua_pcall_w);
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"pcall".as_ptr());

        ffi::lua_createtable(l, 0, 32);
        set_fn(l, core, c"call", redis_call);
        set_fn(l, core, c"pcall", redis_pcall);
        register_log(l, core);
        register_version(l);
        set_fn(l, core, c"setresp", redis_setresp);
        set_fn(l, core, c"sha1hex", redis_sha1hex);
        set_fn(l, core, c"error_reply", redis_error_reply);
        set_fn(l, core, c"status_reply", redis_status_reply);
        set_fn(l, core, c"set_repl", redis_set_repl);
        set_num(l, c"REPL_NONE", 0.0);
        set_num(l, c"REPL_AOF", REPL_AOF as f64);
        set_num(l, c"REPL_SLAVE", REPL_REPLICA as f64);
        set_num(l, c"REPL_REPLICA", REPL_REPLICA as f64);
        set_num(l, c"REPL_ALL", (REPL_AOF | REPL_REPLICA) as f64);
        set_fn(l, core, c"acl_check_cmd", redis_acl_check_cmd);
        if kind == Kind::Eval {
            set_fn(l, core, c"breakpoint", redis_breakpoint);
            set_fn(l, core, c"debug", redis_debug);
            set_fn(l, core, c"replicate_commands", redis_replicate_commands);
        }
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"redis".as_ptr());

        ffi::lua_getfield_(l, ffi::LUA_GLOBALSINDEX, c"math".as_ptr());
        set_fn(l, core, c"random", math_random);
        set_fn(l, core, c"randomseed", math_randomseed);
        ffi::lua_pop(l, 1);
    }
}

/// `redis.log` and the `LOG_*` levels, on the table on top.
pub(crate) unsafe fn register_log(l: Lua, core: *mut Core) {
    unsafe {
        set_fn(l, core, c"log", redis_log);
        set_num(l, c"LOG_DEBUG", 0.0);
        set_num(l, c"LOG_VERBOSE", 1.0);
        set_num(l, c"LOG_NOTICE", 2.0);
        set_num(l, c"LOG_WARNING", 3.0);
    }
}

/// `REDIS_VERSION` and `REDIS_VERSION_NUM`, on the table on top.
pub(crate) unsafe fn register_version(l: Lua) {
    let num = crate::REDIS_VERSION
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0))
        .fold(0u32, |acc, p| (acc << 8) | p);
    unsafe {
        set_num(l, c"REDIS_VERSION_NUM", num as f64);
        push_bytes(l, crate::REDIS_VERSION.as_bytes());
        raw_set_field(l, -2, c"REDIS_VERSION");
    }
}

/// Raises the error table on top.
unsafe fn raise(l: Lua) -> ! {
    unsafe { ffi::lua_error(l) }
}

/// Pushes error `msg` and raises it.
unsafe fn fail(l: Lua, msg: &[u8]) -> ! {
    unsafe {
        push_error(l, msg);
        raise(l)
    }
}

unsafe extern "C-unwind" fn redis_call(l: Lua) -> c_int {
    unsafe { generic_call(l, true) }
}

unsafe extern "C-unwind" fn redis_pcall(l: Lua) -> c_int {
    unsafe { generic_call(l, false) }
}

/// Collects the call's arguments into `argv` (numbers as `%.17g`); false if one is neither a
/// string nor a number.
unsafe fn collect_args(l: Lua, argv: &mut Vec<Bytes>) -> bool {
    let argc = unsafe { ffi::lua_gettop(l) };
    argv.clear();
    for j in 1..=argc {
        unsafe {
            match ffi::lua_type(l, j) {
                ffi::LUA_TNUMBER => {
                    let n = ffi::lua_tonumber(l, j);
                    argv.push(Bytes::from(resp::format_double(n)));
                }
                ffi::LUA_TSTRING => {
                    argv.push(Bytes::copy_from_slice(opt_bytes(l, j).unwrap_or_default()));
                }
                _ => return false,
            }
        }
    }
    true
}

/// `luaRedisGenericCommand`: runs a command for the script; raises its error for
/// `redis.call`, returns it as a table for `redis.pcall`.
unsafe fn generic_call(l: Lua, raise_error: bool) -> c_int {
    unsafe {
        let core = core(l);
        if core.run.is_null() {
            fail(
                l,
                b"redis.call/pcall can only be called inside a script invocation",
            );
        }
        let ctx = &mut *core.run;
        if ffi::lua_gettop(l) == 0 {
            push_error(
                l,
                b"Please specify at least one argument for this redis lib call",
            );
            return if raise_error { raise(l) } else { 1 };
        }
        let mut argv = std::mem::take(&mut ctx.argv);
        let ok = collect_args(l, &mut argv);
        ffi::lua_settop(l, 0);
        if !ok {
            argv.clear();
            ctx.argv = argv;
            push_error(
                l,
                b"Lua redis lib command arguments must be strings or integers",
            );
            return if raise_error { raise(l) } else { 1 };
        }
        let result = super::script_call(ctx, &argv);
        argv.clear();
        ctx.argv = argv;
        if let Err(e) = result {
            ctx.err = e;
            push_error(l, ctx.err.as_bytes());
            mark_ignore_stats(l);
            return if raise_error { raise(l) } else { 1 };
        }
        let is_error = ctx.out.buf.first() == Some(&b'-');
        super::convert::push_reply(l, &ctx.out.buf);
        if raise_error && is_error {
            raise(l);
        }
        1
    }
}

/// Redis's `pcall`: like Lua's, but an error table with a string `err` is returned as that
/// string (Redis 6 compatibility).
unsafe extern "C-unwind" fn lua_pcall_w(l: Lua) -> c_int {
    unsafe {
        let argc = ffi::lua_gettop(l);
        ffi::luaL_checkany(l, 1);
        ffi::lua_pushboolean(l, 1);
        ffi::lua_insert(l, 1);
        if ffi::lua_pcall(l, argc - 1, ffi::LUA_MULTRET, 0) != 0 {
            ffi::lua_remove(l, 1);
            if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
                ffi::lua_getfield_(l, -1, c"err".as_ptr());
                if ffi::lua_isstring(l, -1) != 0 {
                    ffi::lua_replace(l, -2);
                } else {
                    ffi::lua_pop(l, 1);
                }
            }
            ffi::lua_pushboolean(l, 0);
            ffi::lua_insert(l, 1);
        }
        ffi::lua_gettop(l)
    }
}

unsafe extern "C-unwind" fn redis_sha1hex(l: Lua) -> c_int {
    unsafe {
        if ffi::lua_gettop(l) != 1 {
            fail(l, b"wrong number of arguments");
        }
        let hex = {
            let s = opt_bytes(l, 1).unwrap_or_default();
            super::sha1_hex(s)
        };
        push_bytes(l, &hex);
        1
    }
}

unsafe extern "C-unwind" fn redis_error_reply(l: Lua) -> c_int {
    unsafe {
        if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
            push_error(l, b"wrong number or type of arguments");
            return 1;
        }
        let s = opt_bytes(l, 1).unwrap_or_default();
        if s.first() == Some(&b'-') {
            push_error(l, s);
        } else {
            // Prepend '-' without allocating on our side: Lua concatenates.
            push_cstr(l, c"-");
            ffi::lua_pushvalue(l, 1);
            ffi::lua_concat(l, 2);
            let s = opt_bytes(l, -1).unwrap_or_default();
            push_error(l, s);
        }
        1
    }
}

unsafe extern "C-unwind" fn redis_status_reply(l: Lua) -> c_int {
    unsafe {
        if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
            push_error(l, b"wrong number or type of arguments");
            return 1;
        }
        ffi::lua_createtable(l, 0, 1);
        push_cstr(l, c"ok");
        ffi::lua_pushvalue(l, -3);
        ffi::lua_settable(l, -3);
        1
    }
}

unsafe extern "C-unwind" fn redis_log(l: Lua) -> c_int {
    unsafe {
        let argc = ffi::lua_gettop(l);
        if argc < 2 {
            fail(l, b"redis.log() requires two arguments or more.");
        }
        if ffi::lua_isnumber(l, 1) == 0 {
            fail(l, b"First argument must be a number (log level).");
        }
        let level = ffi::lua_tonumber(l, 1) as i64;
        let level = match level {
            0 => crate::log::Level::Debug,
            1 => crate::log::Level::Verbose,
            2 => crate::log::Level::Notice,
            3 => crate::log::Level::Warning,
            _ => fail(l, b"Invalid debug level."),
        };
        let mut line = Vec::new();
        for j in 2..=argc {
            if let Some(s) = opt_bytes(l, j) {
                if j != 2 {
                    line.push(b' ');
                }
                line.extend_from_slice(s);
            }
        }
        crate::log::log(level, &String::from_utf8_lossy(&line));
        0
    }
}

unsafe extern "C-unwind" fn redis_setresp(l: Lua) -> c_int {
    unsafe {
        let core = core(l);
        if core.run.is_null() {
            fail(
                l,
                b"redis.setresp can only be called inside a script invocation",
            );
        }
        if ffi::lua_gettop(l) != 1 {
            fail(l, b"redis.setresp() requires one argument.");
        }
        let resp = ffi::lua_tonumber(l, 1) as i64;
        if resp != 2 && resp != 3 {
            fail(l, b"RESP version must be 2 or 3.");
        }
        (*core.run).resp = resp as u8;
        0
    }
}

unsafe extern "C-unwind" fn redis_set_repl(l: Lua) -> c_int {
    unsafe {
        let core = core(l);
        if core.run.is_null() {
            fail(
                l,
                b"redis.set_repl can only be called inside a script invocation",
            );
        }
        if ffi::lua_gettop(l) != 1 {
            fail(l, b"redis.set_repl() requires two arguments.");
        }
        let flags = ffi::lua_tonumber(l, -1) as i64;
        if flags & !((REPL_AOF | REPL_REPLICA) as i64) != 0 {
            fail(
                l,
                b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            );
        }
        (*core.run).repl = flags as u8;
        0
    }
}

unsafe extern "C-unwind" fn redis_acl_check_cmd(l: Lua) -> c_int {
    unsafe {
        let core = core(l);
        if core.run.is_null() {
            fail(
                l,
                b"redis.acl_check_cmd can only be called inside a script invocation",
            );
        }
        let ctx = &mut *core.run;
        if ffi::lua_gettop(l) == 0 {
            fail(
                l,
                b"Please specify at least one argument for this redis lib call",
            );
        }
        let mut argv = std::mem::take(&mut ctx.argv);
        let ok = collect_args(l, &mut argv);
        ffi::lua_settop(l, 0);
        let found = ok && super::lookup_for_script(&argv).is_some();
        argv.clear();
        ctx.argv = argv;
        if !ok {
            fail(
                l,
                b"Lua redis lib command arguments must be strings or integers",
            );
        }
        if !found {
            fail(l, b"Invalid command passed to redis.acl_check_cmd()");
        }
        // The only user is `default`, allowed everything.
        ffi::lua_pushboolean(l, 1);
        1
    }
}

unsafe extern "C-unwind" fn redis_breakpoint(l: Lua) -> c_int {
    unsafe { ffi::lua_pushboolean(l, 0) };
    1
}

unsafe extern "C-unwind" fn redis_debug(_l: Lua) -> c_int {
    0
}

unsafe extern "C-unwind" fn redis_replicate_commands(l: Lua) -> c_int {
    unsafe { ffi::lua_pushboolean(l, 1) };
    1
}

/// `redisLrand48()`: the 48-bit linear congruential generator Redis ships (drand48's).
pub(crate) fn lrand48(state: &mut u64) -> i32 {
    *state = (state.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & ((1 << 48) - 1);
    (*state >> 17) as i32
}

/// `redisSrand48(seed)`.
pub(crate) fn srand48(seed: i32) -> u64 {
    (((seed as u32) as u64) << 16) | 0x330E
}

/// The state `redisLrand48` starts from.
pub(crate) const RAND48_INIT: u64 = 0x1234_ABCD_330E;

unsafe extern "C-unwind" fn math_random(l: Lua) -> c_int {
    unsafe {
        let core = core(l);
        if core.run.is_null() {
            ffi::luaL_where(l, 1);
            push_cstr(
                l,
                c"math.random can only be called inside a script invocation",
            );
            ffi::lua_concat(l, 2);
            raise(l);
        }
        let max = i32::MAX as f64;
        let r = (lrand48(&mut (*core.run).rand) as f64 % max) / max;
        match ffi::lua_gettop(l) {
            0 => ffi::lua_pushnumber(l, r),
            1 => {
                let u = ffi::luaL_checkinteger(l, 1) as c_int;
                if u < 1 {
                    ffi::luaL_argerror(l, 1, c"interval is empty".as_ptr());
                }
                ffi::lua_pushnumber(l, (r * u as f64).floor() + 1.0);
            }
            2 => {
                let lo = ffi::luaL_checkinteger(l, 1) as c_int;
                let up = ffi::luaL_checkinteger(l, 2) as c_int;
                if lo > up {
                    ffi::luaL_argerror(l, 2, c"interval is empty".as_ptr());
                }
                ffi::lua_pushnumber(l, (r * (up as f64 - lo as f64 + 1.0)).floor() + lo as f64);
            }
            _ => {
                ffi::luaL_where(l, 1);
                push_cstr(l, c"wrong number of arguments");
                ffi::lua_concat(l, 2);
                raise(l);
            }
        }
        1
    }
}

unsafe extern "C-unwind" fn math_randomseed(l: Lua) -> c_int {
    unsafe {
        let core = core(l);
        if core.run.is_null() {
            ffi::luaL_where(l, 1);
            push_cstr(
                l,
                c"math.randomseed can only be called inside a script invocation",
            );
            ffi::lua_concat(l, 2);
            raise(l);
        }
        let seed = ffi::luaL_checkinteger(l, 1) as c_int;
        (*core.run).rand = srand48(seed);
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rand48_matches_redis() {
        // redis-server 7.0's first math.random(1000) after start is 397, then 0.84048536971234.
        let mut s = RAND48_INIT;
        let max = i32::MAX as f64;
        let r1 = (lrand48(&mut s) as f64 % max) / max;
        assert_eq!((r1 * 1000.0).floor() + 1.0, 397.0);
        let r2 = (lrand48(&mut s) as f64 % max) / max;
        assert_eq!(format!("{r2:.14}"), "0.84048536971234");
    }
}

//! Conversions between RESP replies and Lua values, in both directions, with Redis's rules:
//! integers become numbers, bulk strings strings, nil bulk/array `false` (RESP3 null `nil`),
//! status and error replies `{ok=...}`/`{err=...}` tables, RESP3 doubles `{double=...}`, maps
//! `{map=...}`, sets `{set=...}`; back: numbers are truncated to integers, `true` is `:1`,
//! `false` and `nil` are null, tables are arrays up to the first nil unless they are one of
//! the special single-field tables.

use super::engine::{mark_ignore_stats, opt_bytes, push_bytes, push_error, raw_set_field, Lua};
use mlua::ffi;
use resp::Out;
use std::ffi::{c_int, CStr};

// ---------------------------------------------------------------------------------------------
// RESP -> Lua (a command's reply inside redis.call).
// ---------------------------------------------------------------------------------------------

/// Pushes the Lua value for the (complete, server-produced) reply in `buf`.
pub(crate) unsafe fn push_reply(l: Lua, buf: &[u8]) {
    let mut pos = 0;
    unsafe { push_one(l, buf, &mut pos, true) };
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let start = *pos;
    let end = buf[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(buf.len(), |p| start + p);
    *pos = (end + 2).min(buf.len());
    &buf[start..end]
}

fn int_of(b: &[u8]) -> i64 {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn double_of(b: &[u8]) -> f64 {
    match b {
        b"inf" => f64::INFINITY,
        b"-inf" => f64::NEG_INFINITY,
        b"nan" | b"-nan" => f64::NAN,
        _ => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0),
    }
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> &'a [u8] {
    let start = (*pos).min(buf.len());
    let end = (start + n).min(buf.len());
    *pos = (end + 2).min(buf.len());
    &buf[start..end]
}

/// Parses one value at `pos`; pushes it when `push` (attributes are parsed and dropped).
unsafe fn push_one(l: Lua, buf: &[u8], pos: &mut usize, push: bool) {
    if *pos >= buf.len() {
        if push {
            unsafe { ffi::lua_pushnil(l) };
        }
        return;
    }
    let t = buf[*pos];
    *pos += 1;
    let head = line(buf, pos);
    unsafe {
        if push && ffi::lua_checkstack(l, 5) == 0 {
            crate::warning!("lua stack limit reach when parsing redis.call reply");
            std::process::abort();
        }
        match t {
            b'+' => {
                if push {
                    ffi::lua_createtable(l, 0, 1);
                    push_bytes(l, head);
                    raw_set_field(l, -2, c"ok");
                }
            }
            b'-' => {
                if push {
                    // push_error wants "-CODE msg".
                    let start = *pos - head.len() - 3;
                    push_error(l, &buf[start..start + head.len() + 1]);
                    mark_ignore_stats(l);
                }
            }
            b':' => {
                if push {
                    ffi::lua_pushnumber(l, int_of(head) as f64);
                }
            }
            b'$' | b'=' => {
                let n = int_of(head);
                if n < 0 {
                    if push {
                        ffi::lua_pushboolean(l, 0);
                    }
                    return;
                }
                let data = take(buf, pos, n as usize);
                if !push {
                    return;
                }
                if t == b'$' {
                    push_bytes(l, data);
                } else {
                    let (fmt, text) = if data.len() >= 4 {
                        (&data[..3], &data[4..])
                    } else {
                        (&data[..0], data)
                    };
                    ffi::lua_createtable(l, 0, 1);
                    ffi::lua_createtable(l, 0, 2);
                    push_bytes(l, text);
                    raw_set_field(l, -2, c"string");
                    push_bytes(l, fmt);
                    raw_set_field(l, -2, c"format");
                    raw_set_field(l, -2, c"verbatim_string");
                }
            }
            b'*' | b'>' => {
                let n = int_of(head);
                if n < 0 {
                    if push {
                        ffi::lua_pushboolean(l, 0);
                    }
                    return;
                }
                if push {
                    ffi::lua_createtable(l, (n as usize).min(1 << 16) as c_int, 0);
                }
                for j in 0..n {
                    if push {
                        ffi::lua_pushnumber(l, (j + 1) as f64);
                    }
                    push_one(l, buf, pos, push);
                    if push {
                        ffi::lua_settable(l, -3);
                    }
                }
            }
            b'%' | b'~' => {
                let n = int_of(head).max(0);
                if push {
                    ffi::lua_createtable(l, 0, 1);
                    ffi::lua_createtable(l, 0, (n as usize).min(1 << 16) as c_int);
                }
                for _ in 0..n {
                    push_one(l, buf, pos, push);
                    if t == b'%' {
                        push_one(l, buf, pos, push);
                    } else if push {
                        ffi::lua_pushboolean(l, 1);
                    }
                    if push {
                        ffi::lua_settable(l, -3);
                    }
                }
                if push {
                    let name: &CStr = if t == b'%' { c"map" } else { c"set" };
                    raw_set_field(l, -2, name);
                }
            }
            b'|' => {
                let n = int_of(head).max(0);
                for _ in 0..2 * n {
                    push_one(l, buf, pos, false);
                }
                push_one(l, buf, pos, push);
            }
            b'_' => {
                if push {
                    ffi::lua_pushnil(l);
                }
            }
            b'#' => {
                if push {
                    ffi::lua_pushboolean(l, (head == b"t") as c_int);
                }
            }
            b',' => {
                if push {
                    ffi::lua_createtable(l, 0, 1);
                    ffi::lua_pushnumber(l, double_of(head));
                    raw_set_field(l, -2, c"double");
                }
            }
            b'(' => {
                if push {
                    ffi::lua_createtable(l, 0, 1);
                    push_bytes(l, head);
                    raw_set_field(l, -2, c"big_number");
                }
            }
            _ => {
                if push {
                    ffi::lua_pushnil(l);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lua -> RESP (the script's result).
// ---------------------------------------------------------------------------------------------

/// `(long long)` of a double as x86-64 computes it: out of range and NaN give `i64::MIN`.
pub(crate) fn c_cast_i64(d: f64) -> i64 {
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// `sdsmapchars(s, "\r\n", "  ")`.
fn spaces_for_newlines(s: &[u8]) -> Vec<u8> {
    s.iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect()
}

fn header(out: &mut Out, prefix: u8, n: usize) {
    out.buf.push(prefix);
    out.buf.extend_from_slice(n.to_string().as_bytes());
    out.buf.extend_from_slice(b"\r\n");
}

/// An aggregate being written by [`reply_from_lua`]; its tables stay on the Lua stack, as in
/// Redis's recursive version, so the stack limit hits at the same depth.
enum Frame {
    /// Array table on top; `next` is the next index.
    Array { next: usize },
    /// `[t, map, key]` on the stack between pairs (`key_done`: the key was just written and
    /// the value is next).
    Map { key_done: bool },
    /// `[t, set, key]` on the stack between members.
    Set,
}

/// Writes the reply for the value on top of the stack and pops it (`luaReplyToRedisReply`,
/// without native recursion). `script_resp3` is the script's own protocol (redis.setresp),
/// which decides how booleans are sent; `out.proto` is the caller's.
pub(crate) unsafe fn reply_from_lua(l: Lua, out: &mut Out, script_resp3: bool) {
    let mut frames: Vec<Frame> = Vec::new();
    let mut have_value = true;
    unsafe {
        loop {
            if have_value {
                have_value = false;
                if let Some(f) = value_reply(l, out, script_resp3) {
                    frames.push(f);
                }
            }
            // Advance the innermost aggregate.
            let Some(top) = frames.last_mut() else {
                break;
            };
            match top {
                Frame::Array { next } => {
                    ffi::lua_pushnumber(l, *next as f64);
                    ffi::lua_rawget_(l, -2);
                    if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                        ffi::lua_pop(l, 2);
                        frames.pop();
                    } else {
                        *next += 1;
                        have_value = true;
                    }
                }
                Frame::Map { key_done } => {
                    if *key_done {
                        // The key was written; the value is on top.
                        *key_done = false;
                        have_value = true;
                    } else if ffi::lua_next(l, -2) != 0 {
                        ffi::lua_pushvalue(l, -2);
                        *key_done = true;
                        have_value = true;
                    } else {
                        ffi::lua_pop(l, 2);
                        frames.pop();
                    }
                }
                Frame::Set => {
                    if ffi::lua_next(l, -2) != 0 {
                        ffi::lua_pop(l, 1);
                        ffi::lua_pushvalue(l, -1);
                        have_value = true;
                    } else {
                        ffi::lua_pop(l, 2);
                        frames.pop();
                    }
                }
            }
        }
    }
}

/// Writes the value on top: scalars and special tables are written and popped; an aggregate
/// writes its header, leaves its table(s) on the stack and returns its frame.
unsafe fn value_reply(l: Lua, out: &mut Out, script_resp3: bool) -> Option<Frame> {
    unsafe {
        if ffi::lua_checkstack(l, 4) == 0 {
            out.error("ERR reached lua stack limit");
            ffi::lua_pop(l, 1);
            return None;
        }
        match ffi::lua_type(l, -1) {
            ffi::LUA_TSTRING => out.bulk(opt_bytes(l, -1).unwrap_or_default()),
            ffi::LUA_TBOOLEAN => {
                let b = ffi::lua_toboolean(l, -1) != 0;
                if !script_resp3 {
                    if b {
                        out.int(1);
                    } else {
                        out.null();
                    }
                } else {
                    out.bool(b);
                }
            }
            ffi::LUA_TNUMBER => out.int(c_cast_i64(ffi::lua_tonumber(l, -1))),
            ffi::LUA_TTABLE => return table_reply(l, out),
            _ => out.null(),
        }
        ffi::lua_pop(l, 1);
        None
    }
}

/// The table branch of [`value_reply`].
unsafe fn table_reply(l: Lua, out: &mut Out) -> Option<Frame> {
    unsafe {
        // Error reply.
        if raw_get_type(l, c"err") == ffi::LUA_TSTRING {
            ffi::lua_pop(l, 1);
            let (msg, _, _) = super::engine::error_info(l);
            let mut s = Vec::with_capacity(msg.len() + 3);
            s.push(b'-');
            s.extend_from_slice(&spaces_for_newlines(&msg));
            s.extend_from_slice(b"\r\n");
            out.raw(&s);
            ffi::lua_pop(l, 1);
            return None;
        }
        ffi::lua_pop(l, 1);
        // Status reply.
        if raw_get_type(l, c"ok") == ffi::LUA_TSTRING {
            let s = cstr_prefix(opt_bytes(l, -1).unwrap_or_default());
            let mut line = Vec::with_capacity(s.len() + 3);
            line.push(b'+');
            line.extend_from_slice(&spaces_for_newlines(s));
            line.extend_from_slice(b"\r\n");
            out.raw(&line);
            ffi::lua_pop(l, 2);
            return None;
        }
        ffi::lua_pop(l, 1);
        // Double.
        if raw_get_type(l, c"double") == ffi::LUA_TNUMBER {
            out.double(ffi::lua_tonumber(l, -1));
            ffi::lua_pop(l, 2);
            return None;
        }
        ffi::lua_pop(l, 1);
        // Big number.
        if raw_get_type(l, c"big_number") == ffi::LUA_TSTRING {
            let s = spaces_for_newlines(opt_bytes(l, -1).unwrap_or_default());
            if out.resp3() {
                out.buf.push(b'(');
                out.buf.extend_from_slice(&s);
                out.buf.extend_from_slice(b"\r\n");
            } else {
                out.bulk(&s);
            }
            ffi::lua_pop(l, 2);
            return None;
        }
        ffi::lua_pop(l, 1);
        // Verbatim string.
        if raw_get_type(l, c"verbatim_string") == ffi::LUA_TTABLE {
            if raw_get_type(l, c"format") == ffi::LUA_TSTRING {
                ffi::lua_pushstring_(l, c"string".as_ptr());
                ffi::lua_rawget_(l, -3);
                if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                    let text = opt_bytes(l, -1).unwrap_or_default();
                    let fmt = opt_bytes(l, -2).unwrap_or_default();
                    if out.resp3() {
                        let mut f = [b'\0'; 3];
                        for (i, b) in fmt.iter().take(3).enumerate() {
                            f[i] = *b;
                        }
                        header(out, b'=', text.len() + 4);
                        out.buf.extend_from_slice(&f);
                        out.buf.push(b':');
                        out.buf.extend_from_slice(text);
                        out.buf.extend_from_slice(b"\r\n");
                    } else {
                        out.bulk(text);
                    }
                    ffi::lua_pop(l, 4);
                    return None;
                }
                ffi::lua_pop(l, 1);
            }
            ffi::lua_pop(l, 1);
        }
        ffi::lua_pop(l, 1);
        // Map: [t, map, nil] then pairs.
        if raw_get_type(l, c"map") == ffi::LUA_TTABLE {
            out.map(count_pairs(l));
            ffi::lua_pushnil(l);
            return Some(Frame::Map { key_done: false });
        }
        ffi::lua_pop(l, 1);
        // Set: [t, set, nil] then members.
        if raw_get_type(l, c"set") == ffi::LUA_TTABLE {
            out.set(count_pairs(l));
            ffi::lua_pushnil(l);
            return Some(Frame::Set);
        }
        ffi::lua_pop(l, 1);
        // Array, up to the first nil.
        let mut n = 0usize;
        loop {
            ffi::lua_rawgeti_(l, -1, (n + 1) as c_int);
            let nil = ffi::lua_type(l, -1) == ffi::LUA_TNIL;
            ffi::lua_pop(l, 1);
            if nil {
                break;
            }
            n += 1;
        }
        out.array(n);
        Some(Frame::Array { next: 1 })
    }
}

/// The part of a string before its first NUL (C string semantics, as Redis's status reply).
fn cstr_prefix(s: &[u8]) -> &[u8] {
    &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())]
}

/// Pushes `t[name]` (raw) of the table on top and returns its type.
unsafe fn raw_get_type(l: Lua, name: &CStr) -> c_int {
    unsafe {
        ffi::lua_pushstring_(l, name.as_ptr());
        ffi::lua_rawget_(l, -2);
        ffi::lua_type(l, -1)
    }
}

/// The number of pairs of the table on top.
unsafe fn count_pairs(l: Lua) -> usize {
    let mut n = 0;
    unsafe {
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_pop(l, 1);
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::super::engine::{load_text, Engine, Kind};
    use super::*;
    use resp::Protocol;

    /// Runs `code` (no sandbox call context needed for pure values) and converts its result.
    fn convert(code: &str, proto: Protocol, script_resp3: bool) -> Vec<u8> {
        let eng = Engine::new(Kind::Eval);
        let l = eng.l;
        let mut out = Out::new(proto);
        unsafe {
            assert_eq!(load_text(l, code.as_bytes(), c"@t"), 0);
            assert_eq!(ffi::lua_pcall(l, 0, 1, 0), 0);
            reply_from_lua(l, &mut out, script_resp3);
            assert_eq!(ffi::lua_gettop(l), 0);
        }
        out.buf
    }

    fn roundtrip(reply: &[u8], code: &str) -> Vec<u8> {
        let eng = Engine::new(Kind::Eval);
        let l = eng.l;
        let mut out = Out::new(Protocol::Resp3);
        unsafe {
            assert_eq!(load_text(l, code.as_bytes(), c"@t"), 0);
            push_reply(l, reply);
            assert_eq!(ffi::lua_pcall(l, 1, 1, 0), 0);
            reply_from_lua(l, &mut out, true);
        }
        out.buf
    }

    #[test]
    fn lua_to_resp2() {
        let p = Protocol::Resp2;
        assert_eq!(convert("return 3.99", p, false), b":3\r\n");
        assert_eq!(convert("return -3.99", p, false), b":-3\r\n");
        assert_eq!(
            convert("return 1e30", p, false),
            b":-9223372036854775808\r\n"
        );
        assert_eq!(convert("return true", p, false), b":1\r\n");
        assert_eq!(convert("return false", p, false), b"$-1\r\n");
        assert_eq!(convert("return nil", p, false), b"$-1\r\n");
        assert_eq!(
            convert("return {1,'a',nil,4}", p, false),
            b"*2\r\n:1\r\n$1\r\na\r\n"
        );
        assert_eq!(convert("return {err='E x\\ny'}", p, false), b"-E x y\r\n");
        assert_eq!(convert("return {ok='fine'}", p, false), b"+fine\r\n");
        assert_eq!(convert("return {double=1.5}", p, false), b"$3\r\n1.5\r\n");
        assert_eq!(
            convert("return {map={a=1}}", p, false),
            b"*2\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(
            convert("return {set={a=true}}", p, false),
            b"*1\r\n$1\r\na\r\n"
        );
    }

    #[test]
    fn lua_to_resp3() {
        let p = Protocol::Resp3;
        assert_eq!(convert("return false", p, false), b"_\r\n");
        assert_eq!(convert("return false", p, true), b"#f\r\n");
        assert_eq!(convert("return {double=1.5}", p, false), b",1.5\r\n");
        assert_eq!(convert("return {big_number='12'}", p, false), b"(12\r\n");
        assert_eq!(
            convert(
                "return {verbatim_string={format='txt', string='hi'}}",
                p,
                false
            ),
            b"=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            convert("return {map={a=1}}", p, false),
            b"%1\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(
            convert("return {set={a=true}}", p, false),
            b"~1\r\n$1\r\na\r\n"
        );
    }

    #[test]
    fn self_reference_stops_at_the_stack_limit() {
        let out = convert("local t = {} t[1] = t return t", Protocol::Resp2, false);
        assert!(out.ends_with(b"-ERR reached lua stack limit\r\n"));
    }

    #[test]
    fn resp_to_lua_and_back() {
        let id = "local v = ... return v";
        assert_eq!(roundtrip(b":5\r\n", id), b":5\r\n");
        assert_eq!(roundtrip(b"$2\r\nhi\r\n", id), b"$2\r\nhi\r\n");
        assert_eq!(roundtrip(b"$-1\r\n", id), b"#f\r\n");
        assert_eq!(roundtrip(b"*-1\r\n", id), b"#f\r\n");
        assert_eq!(roundtrip(b"_\r\n", id), b"_\r\n");
        assert_eq!(roundtrip(b"+OK\r\n", id), b"+OK\r\n");
        assert_eq!(roundtrip(b"-ERR bad\r\n", id), b"-ERR bad\r\n");
        assert_eq!(roundtrip(b",1.5\r\n", id), b",1.5\r\n");
        assert_eq!(roundtrip(b"#t\r\n", id), b"#t\r\n");
        assert_eq!(
            roundtrip(b"*2\r\n:1\r\n$1\r\nx\r\n", id),
            b"*2\r\n:1\r\n$1\r\nx\r\n"
        );
        assert_eq!(
            roundtrip(b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n", id),
            b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n"
        );
        assert_eq!(roundtrip(b"=8\r\ntxt:abcd\r\n", id), b"=8\r\ntxt:abcd\r\n");
        assert_eq!(
            roundtrip(b"|1\r\n$1\r\na\r\n$1\r\nb\r\n:7\r\n", id),
            b":7\r\n"
        );
    }
}

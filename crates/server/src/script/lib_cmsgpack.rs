//! The `cmsgpack` library (lua-cmsgpack 0.4.0's API and encoding, as Redis ships it):
//! `cmsgpack.pack(...)`, `cmsgpack.unpack(data)`, `cmsgpack.unpack_one(data [, offset])`,
//! `cmsgpack.unpack_limit(data, limit [, offset])`.

use super::engine::{opt_bytes, push_bytes, Lua};
use mlua::ffi;
use std::ffi::{c_int, CStr};

/// Tables nested deeper than this are packed as nil.
const MAX_NESTING: usize = 16;

thread_local! {
    static SCRATCH: std::cell::UnsafeCell<Vec<u8>> = const { std::cell::UnsafeCell::new(Vec::new()) };
}

/// Raises `msg` with the caller's position (luaL_error); `msg` is consumed first.
unsafe fn fail(l: Lua, msg: String) -> ! {
    let m = msg.into_bytes();
    unsafe {
        ffi::luaL_where(l, 1);
        push_bytes(l, &m);
    }
    drop(m);
    unsafe {
        ffi::lua_concat(l, 2);
        ffi::lua_error(l)
    }
}

// ---------------------------------------------------------------------------------------------
// Packing.
// ---------------------------------------------------------------------------------------------

fn encode_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(out: &mut Vec<u8>, n: f64) {
    let as_int = super::convert::c_cast_i64(n);
    if !n.is_infinite() && as_int as f64 == n {
        encode_int(out, as_int);
    } else {
        let f = n as f32;
        if f as f64 == n || (n.is_nan() && f.is_nan()) {
            out.push(0xca);
            out.extend_from_slice(&f.to_be_bytes());
        } else {
            out.push(0xcb);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn encode_len(out: &mut Vec<u8>, n: usize, fix: u8, mid: u8, big: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(mid);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(big);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// `table_is_an_array`: keys exactly 1..n.
unsafe fn is_array(l: Lua) -> bool {
    let mut count = 0.0f64;
    let mut max = 0.0f64;
    unsafe {
        let top = ffi::lua_gettop(l);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_pop(l, 1);
            let n = ffi::lua_tonumber(l, -1);
            if ffi::lua_type(l, -1) != ffi::LUA_TNUMBER || n <= 0.0 || n.floor() != n {
                ffi::lua_settop(l, top);
                return false;
            }
            if n > max {
                max = n;
            }
            count += 1.0;
        }
        ffi::lua_settop(l, top);
    }
    max == count
}

/// Packs the value on top and pops it.
unsafe fn encode_value(l: Lua, out: &mut Vec<u8>, level: usize) {
    unsafe {
        let mut t = ffi::lua_type(l, -1);
        if t == ffi::LUA_TTABLE && level == MAX_NESTING {
            t = ffi::LUA_TNIL;
        }
        match t {
            ffi::LUA_TSTRING => encode_bytes(out, opt_bytes(l, -1).unwrap_or_default()),
            ffi::LUA_TBOOLEAN => out.push(if ffi::lua_toboolean(l, -1) != 0 {
                0xc3
            } else {
                0xc2
            }),
            ffi::LUA_TNUMBER => encode_number(out, ffi::lua_tonumber(l, -1)),
            ffi::LUA_TTABLE => {
                if ffi::lua_checkstack(l, 3) == 0 {
                    out.push(0xc0);
                } else if is_array(l) {
                    let len = ffi::lua_objlen(l, -1);
                    encode_len(out, len, 0x90, 0xdc, 0xdd);
                    for j in 1..=len {
                        ffi::lua_rawgeti_(l, -1, j as c_int);
                        encode_value(l, out, level + 1);
                    }
                } else {
                    let mut len = 0;
                    ffi::lua_pushnil(l);
                    while ffi::lua_next(l, -2) != 0 {
                        ffi::lua_pop(l, 1);
                        len += 1;
                    }
                    encode_len(out, len, 0x80, 0xde, 0xdf);
                    ffi::lua_pushnil(l);
                    while ffi::lua_next(l, -2) != 0 {
                        ffi::lua_pushvalue(l, -2);
                        encode_value(l, out, level + 1);
                        encode_value(l, out, level + 1);
                    }
                }
            }
            _ => out.push(0xc0),
        }
        ffi::lua_pop(l, 1);
    }
}

unsafe extern "C-unwind" fn pack(l: Lua) -> c_int {
    unsafe {
        let n = ffi::lua_gettop(l);
        if n == 0 {
            ffi::luaL_argerror(l, 0, c"MessagePack pack needs input.".as_ptr());
            return 0;
        }
        let out = &mut *SCRATCH.with(|s| s.get());
        out.clear();
        for i in 1..=n {
            ffi::lua_pushvalue(l, i);
            encode_value(l, out, 0);
        }
        push_bytes(l, out);
        if out.capacity() > 1 << 20 {
            *out = Vec::new();
        }
        1
    }
}

// ---------------------------------------------------------------------------------------------
// Unpacking.
// ---------------------------------------------------------------------------------------------

enum Bad {
    Eof,
    Format,
}

struct Cur<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        if self.data.len() - self.pos < n {
            return Err(Bad::Eof);
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, Bad> {
        Ok(self.take(n)?.iter().fold(0u64, |a, b| (a << 8) | *b as u64))
    }
}

/// Decodes one value at the cursor and pushes it.
unsafe fn decode_value(l: Lua, c: &mut Cur) -> Result<(), Bad> {
    unsafe {
        ffi::luaL_checkstack(l, 2, c"too many nested values".as_ptr());
        let t = c.take(1)?[0];
        match t {
            0x00..=0x7f => ffi::lua_pushnumber(l, t as f64),
            0xe0..=0xff => ffi::lua_pushnumber(l, t as i8 as f64),
            0xcc => ffi::lua_pushnumber(l, c.uint(1)? as f64),
            0xcd => ffi::lua_pushnumber(l, c.uint(2)? as f64),
            0xce => ffi::lua_pushnumber(l, c.uint(4)? as f64),
            0xcf => ffi::lua_pushnumber(l, c.uint(8)? as f64),
            0xd0 => ffi::lua_pushnumber(l, c.uint(1)? as u8 as i8 as f64),
            0xd1 => ffi::lua_pushnumber(l, c.uint(2)? as u16 as i16 as f64),
            0xd2 => ffi::lua_pushnumber(l, c.uint(4)? as u32 as i32 as f64),
            0xd3 => ffi::lua_pushnumber(l, c.uint(8)? as i64 as f64),
            0xc0 => ffi::lua_pushnil(l),
            0xc2 => ffi::lua_pushboolean(l, 0),
            0xc3 => ffi::lua_pushboolean(l, 1),
            0xca => ffi::lua_pushnumber(l, f32::from_bits(c.uint(4)? as u32) as f64),
            0xcb => ffi::lua_pushnumber(l, f64::from_bits(c.uint(8)?)),
            0xa0..=0xbf => push_bytes(l, c.take((t & 0x1f) as usize)?),
            0xd9 | 0xc4 => {
                let n = c.uint(1)? as usize;
                push_bytes(l, c.take(n)?)
            }
            0xda | 0xc5 => {
                let n = c.uint(2)? as usize;
                push_bytes(l, c.take(n)?)
            }
            0xdb | 0xc6 => {
                let n = c.uint(4)? as usize;
                push_bytes(l, c.take(n)?)
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                let n = match t {
                    0xdc => c.uint(2)? as usize,
                    0xdd => c.uint(4)? as usize,
                    _ => (t & 0x0f) as usize,
                };
                ffi::lua_createtable(l, 0, 0);
                for j in 1..=n {
                    ffi::lua_pushnumber(l, j as f64);
                    decode_value(l, c)?;
                    ffi::lua_settable(l, -3);
                }
            }
            0x80..=0x8f | 0xde | 0xdf => {
                let n = match t {
                    0xde => c.uint(2)? as usize,
                    0xdf => c.uint(4)? as usize,
                    _ => (t & 0x0f) as usize,
                };
                ffi::lua_createtable(l, 0, 0);
                for _ in 0..n {
                    decode_value(l, c)?;
                    decode_value(l, c)?;
                    if ffi::lua_type(l, -2) == ffi::LUA_TNIL {
                        ffi::lua_pop(l, 2);
                        continue;
                    }
                    ffi::lua_settable(l, -3);
                }
            }
            _ => return Err(Bad::Format),
        }
        Ok(())
    }
}

/// `mp_unpack_full`.
unsafe fn unpack_full(l: Lua, limit: i64, offset: i64) -> c_int {
    unsafe {
        let Some(data) = opt_bytes(l, 1) else {
            ffi::luaL_typerror(l, 1, c"string".as_ptr());
            return 0;
        };
        let len = data.len() as i64;
        let decode_all = limit == 0 && offset == 0;
        if offset < 0 || limit < 0 {
            fail(
                l,
                format!("Invalid request to unpack with offset of {offset} and limit of {len}."),
            );
        } else if offset > len {
            fail(
                l,
                format!("Start offset {offset} greater than input length {len}."),
            );
        }
        let limit = if decode_all { i64::MAX } else { limit };
        let mut c = Cur {
            data,
            pos: offset as usize,
        };
        let mut cnt: c_int = 0;
        while c.pos < data.len() && (cnt as i64) < limit {
            match decode_value(l, &mut c) {
                Ok(()) => {}
                Err(Bad::Eof) => {
                    ffi::lua_settop(l, 1);
                    fail(l, "Missing bytes in input.".into())
                }
                Err(Bad::Format) => {
                    ffi::lua_settop(l, 1);
                    fail(l, "Bad data format in input.".into())
                }
            }
            cnt += 1;
        }
        if !decode_all {
            let left = data.len() - c.pos;
            ffi::luaL_checkstack(l, 1, c"in function mp_unpack_full".as_ptr());
            ffi::lua_pushinteger(
                l,
                if left == 0 {
                    -1
                } else {
                    c.pos as ffi::lua_Integer
                },
            );
            ffi::lua_insert(l, 2);
            cnt += 1;
        }
        cnt
    }
}

unsafe extern "C-unwind" fn unpack(l: Lua) -> c_int {
    unsafe { unpack_full(l, 0, 0) }
}

unsafe extern "C-unwind" fn unpack_one(l: Lua) -> c_int {
    unsafe {
        let offset = ffi::luaL_optinteger(l, 2, 0) as i64;
        let top = ffi::lua_gettop(l);
        ffi::lua_pop(l, top - 1);
        unpack_full(l, 1, offset)
    }
}

unsafe extern "C-unwind" fn unpack_limit(l: Lua) -> c_int {
    unsafe {
        let limit = ffi::luaL_checkinteger(l, 2) as i64;
        let offset = ffi::luaL_optinteger(l, 3, 0) as i64;
        let top = ffi::lua_gettop(l);
        ffi::lua_pop(l, top - 1);
        unpack_full(l, limit, offset)
    }
}

/// Registers `cmsgpack` as a global table.
pub(crate) unsafe fn open(l: Lua) {
    let funcs: [(&CStr, ffi::lua_CFunction); 4] = [
        (c"pack", pack),
        (c"unpack", unpack),
        (c"unpack_one", unpack_one),
        (c"unpack_limit", unpack_limit),
    ];
    unsafe {
        ffi::lua_createtable(l, 0, 8);
        for (name, f) in funcs {
            ffi::lua_pushcfunction(l, f);
            ffi::lua_setfield(l, -2, name.as_ptr());
        }
        for (k, v) in [
            (c"_NAME", &b"lua-cmsgpack"[..]),
            (c"_VERSION", b"lua-cmsgpack 0.4.0"),
            (c"_COPYRIGHT", b"Copyright (C) 2012, Salvatore Sanfilippo"),
            (c"_DESCRIPTION", b"MessagePack C implementation for Lua"),
        ] {
            push_bytes(l, v);
            ffi::lua_setfield(l, -2, k.as_ptr());
        }
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"cmsgpack".as_ptr());
    }
}

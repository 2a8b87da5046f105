//! The `bit` library (LuaBitOp's API, as Redis ships it): 32-bit operations on Lua numbers.

use super::engine::{push_bytes, Lua};
use mlua::ffi;
use std::ffi::c_int;

/// A number as LuaBitOp reads it: rounded to an integer, taken modulo 2^32 (the 2^52+2^51
/// trick, which also decides how halves round).
unsafe fn barg(l: Lua, idx: c_int) -> u32 {
    unsafe {
        let n = ffi::lua_tonumber(l, idx);
        let b = (n + 6_755_399_441_055_744.0).to_bits() as u32;
        if b == 0 && ffi::lua_isnumber(l, idx) == 0 {
            ffi::luaL_typerror(l, idx, c"number".as_ptr());
        }
        b
    }
}

unsafe fn ret(l: Lua, b: u32) -> c_int {
    unsafe { ffi::lua_pushnumber(l, b as i32 as f64) };
    1
}

unsafe extern "C-unwind" fn tobit(l: Lua) -> c_int {
    unsafe { ret(l, barg(l, 1)) }
}

unsafe extern "C-unwind" fn bnot(l: Lua) -> c_int {
    unsafe { ret(l, !barg(l, 1)) }
}

unsafe fn fold(l: Lua, f: fn(u32, u32) -> u32) -> c_int {
    unsafe {
        let mut b = barg(l, 1);
        for i in 2..=ffi::lua_gettop(l) {
            b = f(b, barg(l, i));
        }
        ret(l, b)
    }
}

unsafe extern "C-unwind" fn band(l: Lua) -> c_int {
    unsafe { fold(l, |a, b| a & b) }
}

unsafe extern "C-unwind" fn bor(l: Lua) -> c_int {
    unsafe { fold(l, |a, b| a | b) }
}

unsafe extern "C-unwind" fn bxor(l: Lua) -> c_int {
    unsafe { fold(l, |a, b| a ^ b) }
}

unsafe fn shift(l: Lua, f: fn(u32, u32) -> u32) -> c_int {
    unsafe {
        let b = barg(l, 1);
        let n = barg(l, 2) & 31;
        ret(l, f(b, n))
    }
}

unsafe extern "C-unwind" fn lshift(l: Lua) -> c_int {
    unsafe { shift(l, |b, n| b << n) }
}

unsafe extern "C-unwind" fn rshift(l: Lua) -> c_int {
    unsafe { shift(l, |b, n| b >> n) }
}

unsafe extern "C-unwind" fn arshift(l: Lua) -> c_int {
    unsafe { shift(l, |b, n| ((b as i32) >> n) as u32) }
}

unsafe extern "C-unwind" fn rol(l: Lua) -> c_int {
    unsafe { shift(l, |b, n| b.rotate_left(n)) }
}

unsafe extern "C-unwind" fn ror(l: Lua) -> c_int {
    unsafe { shift(l, |b, n| b.rotate_right(n)) }
}

unsafe extern "C-unwind" fn bswap(l: Lua) -> c_int {
    unsafe { ret(l, barg(l, 1).swap_bytes()) }
}

unsafe extern "C-unwind" fn tohex(l: Lua) -> c_int {
    unsafe {
        let mut b = barg(l, 1);
        let mut n: i32 = if ffi::lua_isnone(l, 2) != 0 {
            8
        } else {
            barg(l, 2) as i32
        };
        let digits: &[u8; 16] = if n < 0 {
            n = if n == i32::MIN { i32::MAX } else { -n };
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let n = n.min(8) as usize;
        let mut buf = [0u8; 8];
        for i in (0..n).rev() {
            buf[i] = digits[(b & 15) as usize];
            b >>= 4;
        }
        push_bytes(l, &buf[..n]);
        1
    }
}

/// Registers `bit` as a global table.
pub(crate) unsafe fn open(l: Lua) {
    let funcs: [(&std::ffi::CStr, ffi::lua_CFunction); 12] = [
        (c"tobit", tobit),
        (c"bnot", bnot),
        (c"band", band),
        (c"bor", bor),
        (c"bxor", bxor),
        (c"lshift", lshift),
        (c"rshift", rshift),
        (c"arshift", arshift),
        (c"rol", rol),
        (c"ror", ror),
        (c"bswap", bswap),
        (c"tohex", tohex),
    ];
    unsafe {
        ffi::lua_createtable(l, 0, funcs.len() as c_int);
        for (name, f) in funcs {
            ffi::lua_pushcfunction(l, f);
            ffi::lua_setfield(l, -2, name.as_ptr());
        }
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"bit".as_ptr());
    }
}

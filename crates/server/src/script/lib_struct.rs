//! The `struct` library (Roberto Ierusalimschy's, version 0.2 as Redis ships it):
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, data [, pos])`, `struct.size(fmt)`.
//!
//! Formats: `>` big endian, `<` little endian, `![n]` alignment, `x` padding, `b/B` char,
//! `h/H` short, `l/L` long, `T` size_t, `i/I[n]` integer of n bytes, `c[n]` n chars (`c0`:
//! whole string / previous number), `s` zero-terminated string, `f` float, `d` double.

use super::engine::{opt_bytes, push_bytes, Lua};
use mlua::ffi;
use std::ffi::{c_int, CString};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

/// An error to raise once nothing of ours is left on the native stack.
enum Fail {
    /// `luaL_error` (with position).
    Msg(String),
    /// `luaL_argerror(narg, msg)`.
    Arg(c_int, String),
    /// `luaL_typerror(narg, "number"/"string")`.
    Type(c_int, &'static std::ffi::CStr),
}

unsafe fn raise(l: Lua, f: Fail) -> ! {
    unsafe {
        match f {
            Fail::Msg(m) => {
                let m = m.into_bytes();
                ffi::luaL_where(l, 1);
                push_bytes(l, &m);
                drop(m);
                ffi::lua_concat(l, 2);
                ffi::lua_error(l)
            }
            Fail::Arg(n, m) => {
                let c = CString::new(m).unwrap_or_default();
                push_bytes(l, c.as_bytes_with_nul());
                drop(c);
                let p = ffi::lua_tolstring(l, -1, std::ptr::null_mut());
                ffi::luaL_argerror(l, n, p);
                ffi::lua_error(l)
            }
            Fail::Type(n, t) => {
                ffi::luaL_typerror(l, n, t.as_ptr());
                ffi::lua_error(l)
            }
        }
    }
}

fn getnum(fmt: &[u8], i: &mut usize, df: usize) -> Result<usize, Fail> {
    if *i >= fmt.len() || !fmt[*i].is_ascii_digit() {
        return Ok(df);
    }
    let mut a: usize = 0;
    while *i < fmt.len() && fmt[*i].is_ascii_digit() {
        let d = (fmt[*i] - b'0') as usize;
        if a > (i32::MAX as usize) / 10 || a * 10 > i32::MAX as usize - d {
            return Err(Fail::Msg("integral size overflow".into()));
        }
        a = a * 10 + d;
        *i += 1;
    }
    Ok(a)
}

fn optsize(opt: u8, fmt: &[u8], i: &mut usize) -> Result<usize, Fail> {
    Ok(match opt {
        b'B' | b'b' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' => 8,
        b'f' => 4,
        b'd' => 8,
        b'x' => 1,
        b'c' => getnum(fmt, i, 1)?,
        b'i' | b'I' => {
            let sz = getnum(fmt, i, 4)?;
            if sz > MAXINTSIZE {
                return Err(Fail::Msg(format!(
                    "integral size {sz} is larger than limit of {MAXINTSIZE}"
                )));
            }
            sz
        }
        _ => 0,
    })
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

/// Options that change the header or are ignored; `Err` for an unknown option.
fn commoncases(opt: u8, fmt: &[u8], i: &mut usize, h: &mut Header) -> Result<(), Fail> {
    match opt {
        b' ' => Ok(()),
        b'>' => {
            h.little = false;
            Ok(())
        }
        b'<' => {
            h.little = true;
            Ok(())
        }
        b'!' => {
            let a = getnum(fmt, i, MAXALIGN)?;
            if a == 0 || a & (a - 1) != 0 {
                return Err(Fail::Msg(format!("alignment {a} is not a power of 2")));
            }
            h.align = a;
            Ok(())
        }
        _ => Err(Fail::Arg(
            1,
            format!("invalid format option '{}'", opt as char),
        )),
    }
}

fn is_known(opt: u8) -> bool {
    matches!(
        opt,
        b'B' | b'b'
            | b'H'
            | b'h'
            | b'L'
            | b'l'
            | b'T'
            | b'f'
            | b'd'
            | b'x'
            | b'c'
            | b'i'
            | b'I'
            | b's'
    )
}

unsafe fn check_number(l: Lua, arg: c_int) -> Result<f64, Fail> {
    unsafe {
        if ffi::lua_isnumber(l, arg) == 0 {
            return Err(Fail::Type(arg, c"number"));
        }
        Ok(ffi::lua_tonumber(l, arg))
    }
}

unsafe fn pack_into(l: Lua, out: &mut Vec<u8>) -> Result<(), Fail> {
    unsafe {
        let Some(fmt) = opt_bytes(l, 1) else {
            return Err(Fail::Type(1, c"string"));
        };
        let fmt = fmt.to_vec();
        let mut h = Header {
            little: true,
            align: 1,
        };
        let mut arg = 2;
        let mut i = 0;
        while i < fmt.len() {
            let opt = fmt[i];
            i += 1;
            let mut size = optsize(opt, &fmt, &mut i)?;
            let toalign = gettoalign(out.len(), &h, opt, size);
            out.resize(out.len() + toalign, 0);
            match opt {
                b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                    let n = check_number(l, arg)?;
                    arg += 1;
                    let mut value: u64 = if n < 0.0 {
                        super::convert::c_cast_i64(n) as u64
                    } else if n >= 18_446_744_073_709_551_616.0 || n.is_nan() {
                        0x8000_0000_0000_0000
                    } else {
                        n as u64
                    };
                    let mut buf = [0u8; MAXINTSIZE];
                    for b in buf.iter_mut().take(size) {
                        *b = (value & 0xff) as u8;
                        value = if value == 0 { 0 } else { value >> 8 };
                    }
                    if !h.little {
                        buf[..size].reverse();
                    }
                    out.extend_from_slice(&buf[..size]);
                }
                b'x' => out.push(0),
                b'f' => {
                    let f = check_number(l, arg)? as f32;
                    arg += 1;
                    let b = if h.little {
                        f.to_le_bytes()
                    } else {
                        f.to_be_bytes()
                    };
                    out.extend_from_slice(&b);
                }
                b'd' => {
                    let d = check_number(l, arg)?;
                    arg += 1;
                    let b = if h.little {
                        d.to_le_bytes()
                    } else {
                        d.to_be_bytes()
                    };
                    out.extend_from_slice(&b);
                }
                b'c' | b's' => {
                    let Some(s) = opt_bytes(l, arg) else {
                        return Err(Fail::Type(arg, c"string"));
                    };
                    arg += 1;
                    if size == 0 {
                        size = s.len();
                    }
                    if s.len() < size {
                        return Err(Fail::Arg(arg, "string too short".into()));
                    }
                    out.extend_from_slice(&s[..size]);
                    if opt == b's' {
                        out.push(0);
                    }
                }
                _ => commoncases(opt, &fmt, &mut i, &mut h)?,
            }
        }
        Ok(())
    }
}

unsafe extern "C-unwind" fn pack(l: Lua) -> c_int {
    unsafe {
        // As the original: a nil separates the arguments from the buffer (so a missing
        // argument reads as nil in errors).
        ffi::lua_pushnil(l);
        let mut out = Vec::new();
        match pack_into(l, &mut out) {
            Ok(()) => {
                push_bytes(l, &out);
                drop(out);
                1
            }
            Err(f) => {
                drop(out);
                raise(l, f)
            }
        }
    }
}

/// `getinteger`: bytes beyond 8 shift out, as in the C original.
fn getinteger(b: &[u8], little: bool, signed: bool) -> Result<f64, Fail> {
    let size = b.len();
    let mut l: u64 = 0;
    for i in 0..size {
        let byte = if little { b[size - 1 - i] } else { b[i] };
        l = (l << 8) | byte as u64;
    }
    if !signed {
        return Ok(l as f64);
    }
    let mask = !0u64 << ((size * 8 - 1) & 63);
    if l & mask != 0 {
        l |= mask;
    }
    Ok(l as i64 as f64)
}

unsafe fn unpack_inner(l: Lua) -> Result<c_int, Fail> {
    unsafe {
        let Some(fmt) = opt_bytes(l, 1) else {
            return Err(Fail::Type(1, c"string"));
        };
        let Some(data) = opt_bytes(l, 2) else {
            return Err(Fail::Type(2, c"string"));
        };
        let ld = data.len();
        let start = if ffi::lua_isnoneornil(l, 3) != 0 {
            1
        } else {
            check_number(l, 3)? as i64
        };
        if start < 1 {
            return Err(Fail::Arg(3, "offset must be 1 or greater".into()));
        }
        let mut pos = (start - 1) as usize;
        let mut h = Header {
            little: true,
            align: 1,
        };
        ffi::lua_settop(l, 2);
        let mut i = 0;
        while i < fmt.len() {
            let opt = fmt[i];
            i += 1;
            let mut size = optsize(opt, fmt, &mut i)?;
            pos += gettoalign(pos, &h, opt, size);
            if pos + size > ld {
                return Err(Fail::Arg(2, "data string too short".into()));
            }
            ffi::luaL_checkstack(l, 2, c"too many results".as_ptr());
            match opt {
                b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                    let signed = opt.is_ascii_lowercase();
                    let v = getinteger(&data[pos..pos + size], h.little, signed)?;
                    ffi::lua_pushnumber(l, v);
                }
                b'x' => {}
                b'f' => {
                    let mut b = [0u8; 4];
                    b.copy_from_slice(&data[pos..pos + 4]);
                    let f = if h.little {
                        f32::from_le_bytes(b)
                    } else {
                        f32::from_be_bytes(b)
                    };
                    ffi::lua_pushnumber(l, f as f64);
                }
                b'd' => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&data[pos..pos + 8]);
                    let d = if h.little {
                        f64::from_le_bytes(b)
                    } else {
                        f64::from_be_bytes(b)
                    };
                    ffi::lua_pushnumber(l, d);
                }
                b'c' => {
                    if size == 0 {
                        if ffi::lua_gettop(l) == 2 || ffi::lua_isnumber(l, -1) == 0 {
                            return Err(Fail::Msg("format 'c0' needs a previous size".into()));
                        }
                        size = ffi::lua_tonumber(l, -1) as usize;
                        ffi::lua_pop(l, 1);
                        if pos + size > ld {
                            return Err(Fail::Arg(2, "data string too short".into()));
                        }
                    }
                    push_bytes(l, &data[pos..pos + size]);
                }
                b's' => {
                    let Some(e) = data[pos..].iter().position(|&b| b == 0) else {
                        return Err(Fail::Msg("unfinished string in data".into()));
                    };
                    size = e + 1;
                    push_bytes(l, &data[pos..pos + e]);
                }
                _ => commoncases(opt, fmt, &mut i, &mut h)?,
            }
            pos += size;
        }
        ffi::lua_pushinteger(l, (pos + 1) as ffi::lua_Integer);
        Ok(ffi::lua_gettop(l) - 2)
    }
}

unsafe extern "C-unwind" fn unpack(l: Lua) -> c_int {
    unsafe {
        match unpack_inner(l) {
            Ok(n) => n,
            Err(f) => {
                ffi::lua_settop(l, 3);
                raise(l, f)
            }
        }
    }
}

unsafe fn size_inner(l: Lua) -> Result<usize, Fail> {
    unsafe {
        let Some(fmt) = opt_bytes(l, 1) else {
            return Err(Fail::Type(1, c"string"));
        };
        let mut h = Header {
            little: true,
            align: 1,
        };
        let mut pos = 0;
        let mut i = 0;
        while i < fmt.len() {
            let opt = fmt[i];
            i += 1;
            let size = optsize(opt, fmt, &mut i)?;
            pos += gettoalign(pos, &h, opt, size);
            if opt == b's' {
                return Err(Fail::Arg(1, "option 's' has no fixed size".into()));
            } else if opt == b'c' && size == 0 {
                return Err(Fail::Arg(1, "option 'c0' has no fixed size".into()));
            }
            if !is_known(opt) {
                commoncases(opt, fmt, &mut i, &mut h)?;
            }
            pos += size;
        }
        Ok(pos)
    }
}

unsafe extern "C-unwind" fn size(l: Lua) -> c_int {
    unsafe {
        match size_inner(l) {
            Ok(n) => {
                ffi::lua_pushinteger(l, n as ffi::lua_Integer);
                1
            }
            Err(f) => raise(l, f),
        }
    }
}

/// Registers `struct` as a global table.
pub(crate) unsafe fn open(l: Lua) {
    unsafe {
        ffi::lua_createtable(l, 0, 3);
        ffi::lua_pushcfunction(l, pack);
        ffi::lua_setfield(l, -2, c"pack".as_ptr());
        ffi::lua_pushcfunction(l, unpack);
        ffi::lua_setfield(l, -2, c"unpack".as_ptr());
        ffi::lua_pushcfunction(l, size);
        ffi::lua_setfield(l, -2, c"size".as_ptr());
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"struct".as_ptr());
    }
}

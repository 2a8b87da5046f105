//! The `cjson` library (lua-cjson 2.1.0's API and output, as Redis ships it):
//! `cjson.encode`, `cjson.decode`, the configuration functions, `cjson.new` and `cjson.null`.

use super::engine::{opt_bytes, push_bytes, Lua};
use mlua::ffi;
use std::ffi::{c_int, c_void, CStr};

/// One instance's settings (a userdata, upvalue of its functions).
#[repr(C)]
#[derive(Clone, Copy)]
struct Config {
    sparse_convert: bool,
    sparse_ratio: c_int,
    sparse_safe: c_int,
    encode_max_depth: c_int,
    decode_max_depth: c_int,
    /// 0: refuse, 1: allow, 2: as null.
    encode_invalid_numbers: c_int,
    decode_invalid_numbers: bool,
    keep_buffer: bool,
    precision: usize,
}

const DEFAULT: Config = Config {
    sparse_convert: false,
    sparse_ratio: 2,
    sparse_safe: 10,
    encode_max_depth: 1000,
    decode_max_depth: 1000,
    encode_invalid_numbers: 0,
    decode_invalid_numbers: true,
    keep_buffer: true,
    precision: 14,
};

unsafe fn config<'a>(l: Lua) -> &'a mut Config {
    unsafe { &mut *(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *mut Config) }
}

thread_local! {
    static SCRATCH: std::cell::UnsafeCell<Vec<u8>> = const { std::cell::UnsafeCell::new(Vec::new()) };
}

/// The thread's scratch buffer: it stays reachable if Lua unwinds past us with longjmp.
fn scratch() -> *mut Vec<u8> {
    SCRATCH.with(|s| s.get())
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

/// `luaL_argerror(narg, msg)`.
unsafe fn arg_error(l: Lua, narg: c_int, msg: &CStr) -> ! {
    unsafe {
        ffi::luaL_argerror(l, narg, msg.as_ptr());
        ffi::lua_error(l)
    }
}

/// C's `%.<prec>g`.
pub(crate) fn fmt_g(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let p = prec.max(1);
    let sci = format!("{:.*e}", p - 1, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", trim(mant), sign, exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{:.*}", decimals, x))
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding.
// ---------------------------------------------------------------------------------------------

enum EncErr {
    /// "Cannot serialise <type>: <reason>" for the value at a stack index.
    Value(c_int, &'static str),
    Depth(c_int),
}

fn escape(b: u8) -> Option<&'static [u8]> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    static TABLE: std::sync::OnceLock<Vec<Option<Vec<u8>>>> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        (0..=255u8)
            .map(|c| match c {
                b'\x08' => Some(b"\\b".to_vec()),
                b'\t' => Some(b"\\t".to_vec()),
                b'\n' => Some(b"\\n".to_vec()),
                b'\x0c' => Some(b"\\f".to_vec()),
                b'\r' => Some(b"\\r".to_vec()),
                b'"' => Some(b"\\\"".to_vec()),
                b'\\' => Some(b"\\\\".to_vec()),
                b'/' => Some(b"\\/".to_vec()),
                0..=31 | 127 => Some(vec![
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]),
                _ => None,
            })
            .collect()
    });
    t[b as usize].as_deref()
}

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    for &b in s {
        match escape(b) {
            Some(e) => out.extend_from_slice(e),
            None => out.push(b),
        }
    }
    out.push(b'"');
}

unsafe fn append_number(l: Lua, cfg: &Config, out: &mut Vec<u8>, idx: c_int) -> Result<(), EncErr> {
    let n = unsafe { ffi::lua_tonumber(l, idx) };
    if !n.is_finite() {
        match cfg.encode_invalid_numbers {
            0 => return Err(EncErr::Value(idx, "must not be NaN or Inf")),
            2 => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
            _ => {}
        }
    }
    out.extend_from_slice(fmt_g(n, cfg.precision).as_bytes());
    Ok(())
}

/// `lua_array_length`: the array size of the table on top, or None for an object.
unsafe fn array_length(l: Lua, cfg: &Config) -> Result<Option<usize>, EncErr> {
    let mut max: f64 = 0.0;
    let mut items: f64 = 0.0;
    unsafe {
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            if ffi::lua_type(l, -2) == ffi::LUA_TNUMBER {
                let k = ffi::lua_tonumber(l, -2);
                if k.floor() == k && k >= 1.0 {
                    if k > max {
                        max = k;
                    }
                    items += 1.0;
                    ffi::lua_pop(l, 1);
                    continue;
                }
            }
            ffi::lua_pop(l, 2);
            return Ok(None);
        }
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio as f64 && max > cfg.sparse_safe as f64
    {
        if !cfg.sparse_convert {
            return Err(EncErr::Value(-1, "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max as usize))
}

unsafe fn append_data(l: Lua, cfg: &Config, out: &mut Vec<u8>, depth: c_int) -> Result<(), EncErr> {
    unsafe {
        match ffi::lua_type(l, -1) {
            ffi::LUA_TSTRING => append_string(out, opt_bytes(l, -1).unwrap_or_default()),
            ffi::LUA_TNUMBER => append_number(l, cfg, out, -1)?,
            ffi::LUA_TBOOLEAN => {
                if ffi::lua_toboolean(l, -1) != 0 {
                    out.extend_from_slice(b"true")
                } else {
                    out.extend_from_slice(b"false")
                }
            }
            ffi::LUA_TNIL => out.extend_from_slice(b"null"),
            ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, -1).is_null() => {
                out.extend_from_slice(b"null")
            }
            ffi::LUA_TTABLE => {
                let depth = depth + 1;
                if depth > cfg.encode_max_depth {
                    return Err(EncErr::Depth(depth));
                }
                if ffi::lua_checkstack(l, 3) == 0 {
                    return Err(EncErr::Depth(depth));
                }
                match array_length(l, cfg)? {
                    Some(len) if len > 0 => {
                        out.push(b'[');
                        for i in 1..=len {
                            if i > 1 {
                                out.push(b',');
                            }
                            ffi::lua_rawgeti_(l, -1, i as c_int);
                            append_data(l, cfg, out, depth)?;
                            ffi::lua_pop(l, 1);
                        }
                        out.push(b']');
                    }
                    _ => {
                        out.push(b'{');
                        let mut comma = false;
                        ffi::lua_pushnil(l);
                        while ffi::lua_next(l, -2) != 0 {
                            if comma {
                                out.push(b',');
                            }
                            comma = true;
                            match ffi::lua_type(l, -2) {
                                ffi::LUA_TNUMBER => {
                                    out.push(b'"');
                                    append_number(l, cfg, out, -2)?;
                                    out.extend_from_slice(b"\":");
                                }
                                ffi::LUA_TSTRING => {
                                    append_string(out, opt_bytes(l, -2).unwrap_or_default());
                                    out.push(b':');
                                }
                                _ => {
                                    return Err(EncErr::Value(
                                        -2,
                                        "table key must be a number or string",
                                    ))
                                }
                            }
                            append_data(l, cfg, out, depth)?;
                            ffi::lua_pop(l, 1);
                        }
                        out.push(b'}');
                    }
                }
            }
            _ => return Err(EncErr::Value(-1, "type not supported")),
        }
        Ok(())
    }
}

unsafe extern "C-unwind" fn encode(l: Lua) -> c_int {
    unsafe {
        if ffi::lua_gettop(l) != 1 {
            arg_error(l, 1, c"expected 1 argument");
        }
        let cfg = *config(l);
        let buf = &mut *scratch();
        buf.clear();
        let msg = match append_data(l, &cfg, buf, 0) {
            Ok(()) => {
                push_bytes(l, buf);
                if buf.capacity() > 1 << 20 {
                    *buf = Vec::new();
                }
                return 1;
            }
            Err(EncErr::Value(idx, reason)) => {
                let t = CStr::from_ptr(ffi::lua_typename(l, ffi::lua_type(l, idx)));
                format!("Cannot serialise {}: {reason}", t.to_string_lossy())
            }
            Err(EncErr::Depth(d)) => format!("Cannot serialise, excessive nesting ({d})"),
        };
        // Drop what the walk left on the stack before raising.
        ffi::lua_settop(l, 1);
        fail(l, msg)
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

struct Parser<'a> {
    data: &'a [u8],
    i: usize,
    cfg: Config,
    depth: c_int,
    /// Decoded text of the last string token (kept in the thread's scratch buffer).
    tmp: *mut Vec<u8>,
}

enum DecErr {
    Expected(&'static str, Tok, usize),
    Depth(c_int, usize),
}

/// C's strtod on a prefix: the value and the bytes used (0 if none).
pub(crate) fn strtod_prefix(s: &[u8]) -> (f64, usize) {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let lower: Vec<u8> = rest
        .iter()
        .take(8)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    if lower.starts_with(b"infinity") {
        return (sign * f64::INFINITY, i + 8);
    }
    if lower.starts_with(b"inf") {
        return (sign * f64::INFINITY, i + 3);
    }
    if lower.starts_with(b"nan") {
        let mut n = i + 3;
        if s.get(n) == Some(&b'(') {
            if let Some(close) = s[n..].iter().position(|&b| b == b')') {
                if s[n + 1..n + close]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    n += close + 1;
                }
            }
        }
        return (f64::NAN, n);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        let mut j = 2;
        let mut v = 0.0f64;
        let mut any = false;
        while let Some(d) = rest.get(j).and_then(|b| (*b as char).to_digit(16)) {
            v = v * 16.0 + d as f64;
            j += 1;
            any = true;
        }
        let mut scale = 0i32;
        if rest.get(j) == Some(&b'.') {
            let mut k = j + 1;
            let mut frac_any = false;
            while let Some(d) = rest.get(k).and_then(|b| (*b as char).to_digit(16)) {
                v = v * 16.0 + d as f64;
                scale -= 4;
                k += 1;
                frac_any = true;
            }
            if frac_any || any {
                j = k;
                any = any || frac_any;
            }
        }
        if !any {
            // Just the "0".
            return (sign * 0.0, i + 1);
        }
        if matches!(rest.get(j), Some(b'p') | Some(b'P')) {
            let (e, n) = parse_exp(&rest[j + 1..]);
            if n > 0 {
                scale += e;
                j += 1 + n;
            }
        }
        return (sign * v * 2f64.powi(scale), i + j);
    }
    let mut j = 0;
    while rest.get(j).is_some_and(|b| b.is_ascii_digit()) {
        j += 1;
    }
    let int_digits = j;
    if rest.get(j) == Some(&b'.') {
        let mut k = j + 1;
        while rest.get(k).is_some_and(|b| b.is_ascii_digit()) {
            k += 1;
        }
        if int_digits > 0 || k > j + 1 {
            j = k;
        }
    }
    if j == 0 || (j == 1 && rest[0] == b'.') {
        return (0.0, 0);
    }
    if matches!(rest.get(j), Some(b'e') | Some(b'E')) {
        let (_, n) = parse_exp(&rest[j + 1..]);
        if n > 0 {
            j += 1 + n;
        }
    }
    let text = std::str::from_utf8(&rest[..j]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    (sign * v, i + j)
}

/// An exponent `[+-]digits`: its value and length (0 if none).
fn parse_exp(s: &[u8]) -> (i32, usize) {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: i32 = 0;
    while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add((d - b'0') as i32);
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    (if neg { -v } else { v }, i)
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn is_invalid_number(&self) -> bool {
        let mut i = self.i;
        if self.at(i) == b'+' {
            return true;
        }
        if self.at(i) == b'-' {
            i += 1;
        }
        if self.at(i) == b'0' {
            let c2 = self.at(i + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        } else if self.at(i) <= b'9' {
            return false;
        }
        let rest: Vec<u8> = (0..3)
            .map(|k| self.at(i + k).to_ascii_lowercase())
            .collect();
        rest == b"inf" || rest == b"nan"
    }

    fn number(&mut self) -> (Tok, usize) {
        let start = self.i;
        let (v, n) = strtod_prefix(&self.data[self.i..]);
        if n == 0 {
            return (Tok::Error("invalid number"), start);
        }
        self.i += n;
        (Tok::Num(v), start)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for k in 0..4 {
            v = (v << 4) | (self.at(at + k) as char).to_digit(16)?;
        }
        Some(v)
    }

    /// A `\uXXXX` escape (with surrogate pairs) at `self.i`, appended as UTF-8.
    fn unicode_escape(&mut self, tmp: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.i + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.i + 6) != b'\\' || self.at(self.i + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.i + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut b = [0u8; 4];
        let n = if cp <= 0x7F {
            b[0] = cp as u8;
            1
        } else if cp <= 0x7FF {
            b[0] = ((cp >> 6) | 0xC0) as u8;
            b[1] = ((cp & 0x3F) | 0x80) as u8;
            2
        } else if cp <= 0xFFFF {
            b[0] = ((cp >> 12) | 0xE0) as u8;
            b[1] = (((cp >> 6) & 0x3F) | 0x80) as u8;
            b[2] = ((cp & 0x3F) | 0x80) as u8;
            3
        } else {
            b[0] = ((cp >> 18) | 0xF0) as u8;
            b[1] = (((cp >> 12) & 0x3F) | 0x80) as u8;
            b[2] = (((cp >> 6) & 0x3F) | 0x80) as u8;
            b[3] = ((cp & 0x3F) | 0x80) as u8;
            4
        };
        tmp.extend_from_slice(&b[..n]);
        self.i += len;
        true
    }

    fn string(&mut self) -> (Tok, usize) {
        let start = self.i;
        // SAFETY: the scratch buffer is only used by this parse.
        let tmp = unsafe { &mut *self.tmp };
        tmp.clear();
        self.i += 1;
        loop {
            let ch = self.at(self.i);
            if ch == b'"' {
                break;
            }
            if ch == 0 && self.i >= self.data.len() {
                return (Tok::Error("unexpected end of string"), self.i);
            }
            if ch == 0 {
                return (Tok::Error("unexpected end of string"), self.i);
            }
            if ch == b'\\' {
                let e = self.at(self.i + 1);
                let c = match e {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => 12,
                    b'r' => b'\r',
                    b'u' => {
                        if self.unicode_escape(tmp) {
                            continue;
                        }
                        return (Tok::Error("invalid unicode escape code"), self.i);
                    }
                    _ => return (Tok::Error("invalid escape code"), self.i),
                };
                tmp.push(c);
                self.i += 2;
                continue;
            }
            tmp.push(ch);
            self.i += 1;
        }
        self.i += 1;
        (Tok::Str, start)
    }

    /// The next token and where it starts.
    fn next(&mut self) -> (Tok, usize) {
        while matches!(self.at(self.i), b' ' | b'\t' | b'\n' | b'\r') && self.i < self.data.len() {
            self.i += 1;
        }
        let start = self.i;
        let ch = self.at(self.i);
        if self.i >= self.data.len() || ch == 0 {
            return (Tok::End, start);
        }
        let single = match ch {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = single {
            self.i += 1;
            return (t, start);
        }
        let unknown = matches!(
            ch,
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'"' | b'+' | b'-'
        ) || ch.is_ascii_digit();
        if !unknown {
            return (Tok::Error("invalid token"), start);
        }
        let rest = &self.data[self.i..];
        if ch == b'"' {
            return self.string();
        }
        if ch == b'-' || ch.is_ascii_digit() {
            if !self.cfg.decode_invalid_numbers && self.is_invalid_number() {
                return (Tok::Error("invalid number"), start);
            }
            return self.number();
        }
        if rest.starts_with(b"true") {
            self.i += 4;
            return (Tok::Bool(true), start);
        }
        if rest.starts_with(b"false") {
            self.i += 5;
            return (Tok::Bool(false), start);
        }
        if rest.starts_with(b"null") {
            self.i += 4;
            return (Tok::Null, start);
        }
        if self.cfg.decode_invalid_numbers && self.is_invalid_number() {
            return self.number();
        }
        (Tok::Error("invalid token"), start)
    }

    unsafe fn value(&mut self, l: Lua, tok: (Tok, usize)) -> Result<(), DecErr> {
        unsafe {
            match tok.0 {
                Tok::Str => push_bytes(l, &*self.tmp),
                Tok::Num(n) => ffi::lua_pushnumber(l, n),
                Tok::Bool(b) => ffi::lua_pushboolean(l, b as c_int),
                Tok::Null => ffi::lua_pushlightuserdata(l, std::ptr::null_mut::<c_void>()),
                Tok::ObjBegin => self.object(l)?,
                Tok::ArrBegin => self.array(l)?,
                t => return Err(DecErr::Expected("value", t, tok.1)),
            }
            Ok(())
        }
    }

    unsafe fn descend(&mut self, l: Lua, slots: c_int) -> Result<(), DecErr> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth || unsafe { ffi::lua_checkstack(l, slots) } == 0 {
            return Err(DecErr::Depth(self.depth, self.i));
        }
        Ok(())
    }

    unsafe fn object(&mut self, l: Lua) -> Result<(), DecErr> {
        unsafe {
            self.descend(l, 3)?;
            ffi::lua_createtable(l, 0, 0);
            let mut tok = self.next();
            if tok.0 == Tok::ObjEnd {
                self.depth -= 1;
                return Ok(());
            }
            loop {
                if tok.0 != Tok::Str {
                    return Err(DecErr::Expected("object key string", tok.0, tok.1));
                }
                push_bytes(l, &*self.tmp);
                tok = self.next();
                if tok.0 != Tok::Colon {
                    return Err(DecErr::Expected("colon", tok.0, tok.1));
                }
                let v = self.next();
                self.value(l, v)?;
                ffi::lua_rawset(l, -3);
                tok = self.next();
                if tok.0 == Tok::ObjEnd {
                    self.depth -= 1;
                    return Ok(());
                }
                if tok.0 != Tok::Comma {
                    return Err(DecErr::Expected("comma or object end", tok.0, tok.1));
                }
                tok = self.next();
            }
        }
    }

    unsafe fn array(&mut self, l: Lua) -> Result<(), DecErr> {
        unsafe {
            self.descend(l, 2)?;
            ffi::lua_createtable(l, 0, 0);
            let mut tok = self.next();
            if tok.0 == Tok::ArrEnd {
                self.depth -= 1;
                return Ok(());
            }
            let mut i = 1;
            loop {
                self.value(l, tok)?;
                ffi::lua_rawseti_(l, -2, i);
                i += 1;
                tok = self.next();
                if tok.0 == Tok::ArrEnd {
                    self.depth -= 1;
                    return Ok(());
                }
                if tok.0 != Tok::Comma {
                    return Err(DecErr::Expected("comma or array end", tok.0, tok.1));
                }
                tok = self.next();
            }
        }
    }
}

unsafe extern "C-unwind" fn decode(l: Lua) -> c_int {
    unsafe {
        if ffi::lua_gettop(l) != 1 {
            arg_error(l, 1, c"expected 1 argument");
        }
        let Some(data) = opt_bytes(l, 1) else {
            ffi::luaL_typerror(l, 1, c"string".as_ptr());
            return 0;
        };
        if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
            fail(l, "JSON parser does not support UTF-16 or UTF-32".into());
        }
        let mut p = Parser {
            data,
            i: 0,
            cfg: *config(l),
            depth: 0,
            tmp: scratch(),
        };
        let first = p.next();
        let r = match p.value(l, first) {
            Ok(()) => {
                let end = p.next();
                if end.0 != Tok::End {
                    Err(DecErr::Expected("the end", end.0, end.1))
                } else {
                    Ok(())
                }
            }
            Err(e) => Err(e),
        };
        if r.is_err() {
            ffi::lua_settop(l, 1);
        }
        match r {
            Ok(()) => 1,
            Err(DecErr::Expected(exp, tok, at)) => fail(
                l,
                format!(
                    "Expected {exp} but found {} at character {}",
                    tok.name(),
                    at + 1
                ),
            ),
            Err(DecErr::Depth(d, at)) => fail(
                l,
                format!("Found too many nested data structures ({d}) at character {at}"),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration.
// ---------------------------------------------------------------------------------------------

unsafe fn check_args(l: Lua, max: c_int) {
    unsafe {
        if ffi::lua_gettop(l) > max {
            arg_error(l, max + 1, c"found too many arguments");
        }
    }
}

unsafe fn opt_int(l: Lua, idx: c_int, lo: i64, hi: i64, msg: &CStr) -> Option<c_int> {
    unsafe {
        if ffi::lua_isnoneornil(l, idx) != 0 {
            return None;
        }
        let v = ffi::luaL_checkinteger(l, idx) as i64;
        if v < lo || v > hi {
            arg_error(l, idx, msg);
        }
        Some(v as c_int)
    }
}

unsafe fn opt_bool(l: Lua, idx: c_int) -> Option<bool> {
    unsafe {
        if ffi::lua_isnoneornil(l, idx) != 0 {
            return None;
        }
        if ffi::lua_type(l, idx) == ffi::LUA_TBOOLEAN {
            return Some(ffi::lua_toboolean(l, idx) != 0);
        }
        let s = opt_bytes(l, idx).unwrap_or_default();
        match s {
            b"on" => Some(true),
            b"off" => Some(false),
            _ => arg_error(l, idx, c"invalid option"),
        }
    }
}

unsafe extern "C-unwind" fn encode_sparse_array(l: Lua) -> c_int {
    unsafe {
        check_args(l, 3);
        let cfg = config(l);
        if let Some(b) = opt_bool(l, 1) {
            cfg.sparse_convert = b;
        }
        if let Some(r) = opt_int(
            l,
            2,
            0,
            i32::MAX as i64,
            c"expected integer between 0 and 2147483647",
        ) {
            cfg.sparse_ratio = r;
        }
        if let Some(s) = opt_int(
            l,
            3,
            0,
            i32::MAX as i64,
            c"expected integer between 0 and 2147483647",
        ) {
            cfg.sparse_safe = s;
        }
        ffi::lua_pushboolean(l, cfg.sparse_convert as c_int);
        ffi::lua_pushinteger(l, cfg.sparse_ratio as ffi::lua_Integer);
        ffi::lua_pushinteger(l, cfg.sparse_safe as ffi::lua_Integer);
        3
    }
}

unsafe extern "C-unwind" fn encode_max_depth(l: Lua) -> c_int {
    unsafe {
        check_args(l, 1);
        let cfg = config(l);
        if let Some(d) = opt_int(
            l,
            1,
            1,
            i32::MAX as i64,
            c"expected integer between 1 and 2147483647",
        ) {
            cfg.encode_max_depth = d;
        }
        ffi::lua_pushinteger(l, cfg.encode_max_depth as ffi::lua_Integer);
        1
    }
}

unsafe extern "C-unwind" fn decode_max_depth(l: Lua) -> c_int {
    unsafe {
        check_args(l, 1);
        let cfg = config(l);
        if let Some(d) = opt_int(
            l,
            1,
            1,
            i32::MAX as i64,
            c"expected integer between 1 and 2147483647",
        ) {
            cfg.decode_max_depth = d;
        }
        ffi::lua_pushinteger(l, cfg.decode_max_depth as ffi::lua_Integer);
        1
    }
}

unsafe extern "C-unwind" fn encode_number_precision(l: Lua) -> c_int {
    unsafe {
        check_args(l, 1);
        let cfg = config(l);
        if let Some(p) = opt_int(l, 1, 1, 14, c"expected integer between 1 and 14") {
            cfg.precision = p as usize;
        }
        ffi::lua_pushinteger(l, cfg.precision as ffi::lua_Integer);
        1
    }
}

unsafe extern "C-unwind" fn encode_keep_buffer(l: Lua) -> c_int {
    unsafe {
        check_args(l, 1);
        let cfg = config(l);
        if let Some(b) = opt_bool(l, 1) {
            cfg.keep_buffer = b;
        }
        ffi::lua_pushboolean(l, cfg.keep_buffer as c_int);
        1
    }
}

unsafe extern "C-unwind" fn encode_invalid_numbers(l: Lua) -> c_int {
    unsafe {
        check_args(l, 1);
        let cfg = config(l);
        if ffi::lua_isnoneornil(l, 1) == 0 {
            if ffi::lua_type(l, 1) == ffi::LUA_TBOOLEAN {
                cfg.encode_invalid_numbers = ffi::lua_toboolean(l, 1);
            } else {
                cfg.encode_invalid_numbers = match opt_bytes(l, 1).unwrap_or_default() {
                    b"on" => 1,
                    b"off" => 0,
                    b"null" => 2,
                    _ => arg_error(l, 1, c"invalid option"),
                };
            }
        }
        match cfg.encode_invalid_numbers {
            2 => push_bytes(l, b"null"),
            n => ffi::lua_pushboolean(l, n),
        }
        1
    }
}

unsafe extern "C-unwind" fn decode_invalid_numbers(l: Lua) -> c_int {
    unsafe {
        check_args(l, 1);
        let cfg = config(l);
        if let Some(b) = opt_bool(l, 1) {
            cfg.decode_invalid_numbers = b;
        }
        ffi::lua_pushboolean(l, cfg.decode_invalid_numbers as c_int);
        1
    }
}

unsafe extern "C-unwind" fn new_instance(l: Lua) -> c_int {
    unsafe {
        push_instance(l);
        1
    }
}

/// Pushes a new cjson table with its own configuration.
unsafe fn push_instance(l: Lua) {
    let funcs: [(&CStr, ffi::lua_CFunction); 10] = [
        (c"encode", encode),
        (c"decode", decode),
        (c"encode_sparse_array", encode_sparse_array),
        (c"encode_max_depth", encode_max_depth),
        (c"decode_max_depth", decode_max_depth),
        (c"encode_number_precision", encode_number_precision),
        (c"encode_keep_buffer", encode_keep_buffer),
        (c"encode_invalid_numbers", encode_invalid_numbers),
        (c"decode_invalid_numbers", decode_invalid_numbers),
        (c"new", new_instance),
    ];
    unsafe {
        ffi::lua_createtable(l, 0, 14);
        let cfg = ffi::lua_newuserdata(l, std::mem::size_of::<Config>()) as *mut Config;
        cfg.write(DEFAULT);
        let ud = ffi::lua_gettop(l);
        for (name, f) in funcs {
            ffi::lua_pushvalue(l, ud);
            ffi::lua_pushcclosure(l, f, 1);
            ffi::lua_setfield(l, -3, name.as_ptr());
        }
        ffi::lua_pop(l, 1);
        ffi::lua_pushlightuserdata(l, std::ptr::null_mut());
        ffi::lua_setfield(l, -2, c"null".as_ptr());
        push_bytes(l, b"cjson");
        ffi::lua_setfield(l, -2, c"_NAME".as_ptr());
        push_bytes(l, b"2.1.0");
        ffi::lua_setfield(l, -2, c"_VERSION".as_ptr());
    }
}

/// Registers `cjson` as a global table.
pub(crate) unsafe fn open(l: Lua) {
    unsafe {
        push_instance(l);
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"cjson".as_ptr());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_g() {
        assert_eq!(fmt_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(fmt_g(1e100, 14), "1e+100");
        assert_eq!(fmt_g(123456789012345678.0, 14), "1.2345678901235e+17");
        assert_eq!(fmt_g(-1.5e-7, 14), "-1.5e-07");
        assert_eq!(fmt_g(100.0, 14), "100");
        assert_eq!(fmt_g(0.0001, 14), "0.0001");
        assert_eq!(fmt_g(-0.0, 14), "-0");
    }

    #[test]
    fn strtod() {
        assert_eq!(strtod_prefix(b"0x10"), (16.0, 4));
        assert_eq!(strtod_prefix(b"1e2]"), (100.0, 3));
        assert_eq!(strtod_prefix(b"-1.5,"), (-1.5, 4));
        assert_eq!(strtod_prefix(b"Infinity").0, f64::INFINITY);
        assert_eq!(strtod_prefix(b"x"), (0.0, 0));
        assert_eq!(strtod_prefix(b"1e"), (1.0, 1));
    }
}

//! The embedded Lua 5.1 interpreter (mlua's vendored build), driven through its C API as Redis
//! drives its own: a state with a bounded heap, the libraries Redis exposes and nothing else,
//! read-only globals, and a run loop that turns the result or the error into a reply.
//!
//! Safety rules for the C functions registered here: Lua reports errors with `longjmp`, so a
//! function that may raise (any `lua_error`, and any allocating call while the heap limit is
//! enforced) keeps no value with a destructor on its own stack at that point; buffers it needs
//! live in the [`RunCtx`] instead.

use super::convert;
use mlua::ffi;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::null_mut;

/// A Lua state pointer.
pub(crate) type Lua = *mut ffi::lua_State;

/// How many instructions run between two checks of the time limit and the kill flag.
pub(crate) const HOOK_EVERY: c_int = 100_000;

/// Lua heap bound: past it allocations fail and the script gets "not enough memory".
pub const LUA_HEAP_LIMIT: usize = 512 << 20;

/// Which of Redis's two interpreters this is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// EVAL scripts: KEYS and ARGV are globals.
    Eval,
    /// FUNCTION libraries: functions get keys and args as arguments.
    Function,
}

/// Per-engine data the C functions reach through their first upvalue.
pub(crate) struct Core {
    /// Bytes the Lua heap holds.
    pub used: usize,
    /// The heap bound.
    pub limit: usize,
    /// Enforce the bound (only while user code runs inside a protected call).
    pub enforce: bool,
    /// The script being run, or null.
    pub run: *mut super::RunCtx,
    /// The library being loaded (FUNCTION LOAD), or null.
    pub load: *mut super::function::LoadCtx,
    /// Which interpreter.
    pub kind: Kind,
    /// Calls since the last incremental GC step.
    pub gc_calls: u32,
}

unsafe extern "C" fn heap_alloc(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    // SAFETY: `ud` is the engine's boxed Core, alive as long as the state.
    let core = unsafe { &mut *(ud as *mut Core) };
    let old = if ptr.is_null() { 0 } else { osize };
    if nsize == 0 {
        if !ptr.is_null() {
            // SAFETY: blocks come from realloc below.
            unsafe { libc::free(ptr) };
            core.used = core.used.saturating_sub(old);
        }
        return null_mut();
    }
    if core.enforce && nsize > old && core.used - old + nsize > core.limit {
        return null_mut();
    }
    // SAFETY: `ptr` is null or a block from this allocator.
    let p = unsafe { libc::realloc(ptr, nsize) };
    if !p.is_null() {
        core.used = core.used - old + nsize;
    }
    p
}

unsafe extern "C-unwind" fn at_panic(l: Lua) -> c_int {
    // An error outside any protected call: Redis aborts too; say why first.
    let msg = unsafe { opt_bytes(l, -1) }.unwrap_or(b"?");
    crate::warning!("Lua panic: {}", String::from_utf8_lossy(msg));
    std::process::abort();
}

// ---------------------------------------------------------------------------------------------
// Stack helpers.
// ---------------------------------------------------------------------------------------------

/// Pushes a byte string.
#[inline]
pub(crate) unsafe fn push_bytes(l: Lua, b: &[u8]) {
    unsafe { ffi::lua_pushlstring_(l, b.as_ptr() as *const c_char, b.len()) };
}

/// Pushes a C string literal.
#[inline]
pub(crate) unsafe fn push_cstr(l: Lua, s: &CStr) {
    unsafe { ffi::lua_pushstring_(l, s.as_ptr()) };
}

/// The bytes of the string (or number, converted in place as Lua does) at `idx`.
pub(crate) unsafe fn opt_bytes<'a>(l: Lua, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = unsafe { ffi::lua_tolstring(l, idx, &mut len) };
    if p.is_null() {
        None
    } else {
        // SAFETY: Lua keeps the string alive while it is on the stack.
        Some(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
    }
}

/// `t[k] = v` for the table at `idx` with a C-string key, `v` on top (raw).
pub(crate) unsafe fn raw_set_field(l: Lua, idx: c_int, k: &CStr) {
    unsafe {
        let idx = ffi::lua_absindex(l, idx);
        push_cstr(l, k);
        ffi::lua_insert(l, -2);
        ffi::lua_rawset(l, idx);
    }
}

/// Registers C function `f` as field `name` of the table on top, with the engine's Core as
/// its upvalue.
pub(crate) unsafe fn set_fn(l: Lua, core: *mut Core, name: &CStr, f: ffi::lua_CFunction) {
    unsafe {
        ffi::lua_pushlightuserdata(l, core as *mut c_void);
        ffi::lua_pushcclosure(l, f, 1);
        raw_set_field(l, -2, name);
    }
}

/// Sets number field `name` of the table on top.
pub(crate) unsafe fn set_num(l: Lua, name: &CStr, n: f64) {
    unsafe {
        ffi::lua_pushnumber(l, n);
        raw_set_field(l, -2, name);
    }
}

/// The Core of the running C function (its first upvalue).
#[inline]
pub(crate) unsafe fn core<'a>(l: Lua) -> &'a mut Core {
    unsafe { &mut *(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *mut Core) }
}

/// Pushes Redis's error table `{err = "CODE msg"}` from `-CODE msg` or `msg` (which gets
/// `ERR`), trimming CR/LF at both ends, as Redis's `luaPushErrorBuff`.
pub(crate) unsafe fn push_error(l: Lua, raw: &[u8]) {
    let (code, msg): (&[u8], &[u8]) = if raw.first() == Some(&b'-') {
        match raw.iter().position(|&b| b == b' ') {
            Some(sp) => (&raw[1..sp], &raw[sp + 1..]),
            None => (b"ERR", &raw[1..]),
        }
    } else {
        (b"ERR", raw)
    };
    let trim = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = msg.iter().position(|b| !trim(b)).unwrap_or(msg.len());
    let end = msg.iter().rposition(|b| !trim(b)).map_or(start, |e| e + 1);
    let msg = &msg[start..end.max(start)];
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        push_cstr(l, c"err");
        push_bytes(l, code);
        push_cstr(l, c" ");
        push_bytes(l, msg);
        ffi::lua_concat(l, 3);
        ffi::lua_rawset(l, -3);
    }
}

/// Marks the error table on top as already counted in the error statistics.
pub(crate) unsafe fn mark_ignore_stats(l: Lua) {
    unsafe {
        ffi::lua_pushboolean(l, 1);
        raw_set_field(l, -2, c"ignore_error_stats_update");
    }
}

/// Raises Lua error `msg` prefixed with the position of the calling Lua code (`luaL_error`).
pub(crate) unsafe fn raise_where(l: Lua, msg: &[u8]) -> ! {
    unsafe {
        ffi::luaL_where(l, 1);
        push_bytes(l, msg);
        ffi::lua_concat(l, 2);
        ffi::lua_error(l)
    }
}

/// Raises the plain string `msg` as a Lua error.
pub(crate) unsafe fn raise_plain(l: Lua, msg: &[u8]) -> ! {
    unsafe {
        push_bytes(l, msg);
        ffi::lua_error(l)
    }
}

// ---------------------------------------------------------------------------------------------
// Protection: Redis makes the globals and the library tables read-only inside its Lua. Our Lua
// is unpatched, so protected tables are empty proxies whose metatable reads through to the
// real table and refuses writes; the base functions that bypass metatables (rawset, rawget,
// next, pairs, ipairs, setmetatable, getmetatable) are wrapped to honour the proxies.
// ---------------------------------------------------------------------------------------------

/// Registry key of the table mapping proxy -> real table.
const PROXIES: &CStr = c"redoubt.proxies";
/// Registry key of the table mapping proxy -> the metatable getmetatable shows.
const PUBMETA: &CStr = c"redoubt.pubmeta";
/// Registry key of the real globals.
pub(crate) const REAL_GLOBALS: &CStr = c"redoubt.globals";
/// Registry key of the metatable of the globals proxy (its __index is switched while loading
/// a library).
pub(crate) const GLOBALS_META: &CStr = c"redoubt.globalsmeta";
/// Registry key of the library-loading globals (FUNCTION LOAD).
pub(crate) const LOAD_GLOBALS: &CStr = c"redoubt.loadglobals";

unsafe extern "C-unwind" fn index_error(l: Lua) -> c_int {
    unsafe {
        let name = opt_bytes(l, 2).unwrap_or(b"?");
        let mut msg = Vec::with_capacity(64 + name.len());
        msg.extend_from_slice(b"Script attempted to access nonexistent global variable '");
        msg.extend_from_slice(name);
        msg.push(b'\'');
        ffi::luaL_where(l, 1);
        push_bytes(l, &msg);
        drop(msg);
        ffi::lua_concat(l, 2);
        ffi::lua_error(l)
    }
}

unsafe extern "C-unwind" fn readonly_error(l: Lua) -> c_int {
    unsafe { raise_where(l, b"Attempt to modify a readonly table") }
}

/// Pushes the real table behind the proxy at `idx`, or nothing and false.
unsafe fn push_real(l: Lua, idx: c_int) -> bool {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
            return false;
        }
        let idx = ffi::lua_absindex(l, idx);
        ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, PROXIES.as_ptr());
        ffi::lua_pushvalue(l, idx);
        ffi::lua_rawget_(l, -2);
        ffi::lua_remove(l, -2);
        if ffi::lua_isnil(l, -1) != 0 {
            ffi::lua_pop(l, 1);
            return false;
        }
        true
    }
}

/// True if the table at `idx` is a proxy or the real table behind one.
unsafe fn is_protected(l: Lua, idx: c_int) -> bool {
    unsafe {
        if push_real(l, idx) {
            ffi::lua_pop(l, 1);
            return true;
        }
        false
    }
}

unsafe extern "C-unwind" fn rawset_w(l: Lua) -> c_int {
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::luaL_checkany(l, 2);
        ffi::luaL_checkany(l, 3);
        if is_protected(l, 1) {
            raise_plain(l, b"Attempt to modify a readonly table");
        }
        ffi::lua_settop(l, 3);
        ffi::lua_rawset(l, 1);
        1
    }
}

unsafe extern "C-unwind" fn rawget_w(l: Lua) -> c_int {
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::luaL_checkany(l, 2);
        ffi::lua_settop(l, 2);
        if push_real(l, 1) {
            ffi::lua_replace(l, 1);
        }
        ffi::lua_rawget_(l, 1);
        1
    }
}

unsafe extern "C-unwind" fn next_w(l: Lua) -> c_int {
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::lua_settop(l, 2);
        if push_real(l, 1) {
            ffi::lua_replace(l, 1);
        }
        if ffi::lua_next(l, 1) != 0 {
            2
        } else {
            ffi::lua_pushnil(l);
            1
        }
    }
}

unsafe extern "C-unwind" fn pairs_w(l: Lua) -> c_int {
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_pushvalue(l, 1);
        ffi::lua_pushnil(l);
        3
    }
}

unsafe extern "C-unwind" fn ipairs_aux(l: Lua) -> c_int {
    unsafe {
        let i = ffi::luaL_checkinteger(l, 2) + 1;
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        if push_real(l, 1) {
            ffi::lua_replace(l, 1);
        }
        ffi::lua_pushinteger(l, i);
        ffi::lua_rawgeti_(l, 1, i as c_int);
        if ffi::lua_isnil(l, -1) != 0 {
            0
        } else {
            2
        }
    }
}

unsafe extern "C-unwind" fn ipairs_w(l: Lua) -> c_int {
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::lua_pushcfunction(l, ipairs_aux);
        ffi::lua_pushvalue(l, 1);
        ffi::lua_pushinteger(l, 0);
        3
    }
}

unsafe extern "C-unwind" fn setmetatable_w(l: Lua) -> c_int {
    unsafe {
        if ffi::lua_type(l, 1) == ffi::LUA_TTABLE && is_protected(l, 1) {
            raise_plain(l, b"Attempt to modify a readonly table");
        }
        // The original, kept as this closure's upvalue.
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_insert(l, 1);
        let n = ffi::lua_gettop(l) - 1;
        ffi::lua_call(l, n, 1);
        1
    }
}

unsafe extern "C-unwind" fn getmetatable_w(l: Lua) -> c_int {
    unsafe {
        ffi::luaL_checkany(l, 1);
        if ffi::lua_type(l, 1) == ffi::LUA_TTABLE && is_protected(l, 1) {
            ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, PUBMETA.as_ptr());
            ffi::lua_pushvalue(l, 1);
            ffi::lua_rawget_(l, -2);
            return 1;
        }
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_insert(l, 1);
        ffi::lua_settop(l, 2);
        ffi::lua_call(l, 1, 1);
        1
    }
}

/// Wraps a `table.*` function that writes its first argument: refused on protected tables.
unsafe extern "C-unwind" fn table_write_w(l: Lua) -> c_int {
    unsafe {
        if ffi::lua_type(l, 1) == ffi::LUA_TTABLE && is_protected(l, 1) {
            raise_plain(l, b"Attempt to modify a readonly table");
        }
        let n = ffi::lua_gettop(l);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_insert(l, 1);
        ffi::lua_call(l, n, ffi::LUA_MULTRET);
        ffi::lua_gettop(l)
    }
}

/// Replaces the table on top by a read-only proxy of it (pushing the proxy); `pubmeta` is what
/// getmetatable shows for it (a value on the stack, or 0 for nil); `missing` makes reading an
/// absent key an error.
unsafe fn make_proxy(l: Lua, pubmeta: c_int) -> c_int {
    unsafe {
        let pubmeta = if pubmeta != 0 {
            ffi::lua_absindex(l, pubmeta)
        } else {
            0
        };
        let real = ffi::lua_gettop(l);
        ffi::lua_createtable(l, 0, 0); // proxy
        let proxy = ffi::lua_gettop(l);
        ffi::lua_createtable(l, 0, 2); // its metatable
        ffi::lua_pushvalue(l, real);
        raw_set_field(l, -2, c"__index");
        ffi::lua_pushcfunction(l, readonly_error);
        raw_set_field(l, -2, c"__newindex");
        ffi::lua_setmetatable(l, proxy);
        // Registry maps.
        ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, PROXIES.as_ptr());
        ffi::lua_pushvalue(l, proxy);
        ffi::lua_pushvalue(l, real);
        ffi::lua_rawset(l, -3);
        // The real table counts as protected too (rawset through getmetatable leaks).
        ffi::lua_pushvalue(l, real);
        ffi::lua_pushvalue(l, real);
        ffi::lua_rawset(l, -3);
        ffi::lua_pop(l, 1);
        if pubmeta != 0 {
            ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, PUBMETA.as_ptr());
            ffi::lua_pushvalue(l, proxy);
            ffi::lua_pushvalue(l, pubmeta);
            ffi::lua_rawset(l, -3);
            ffi::lua_pop(l, 1);
        }
        ffi::lua_remove(l, real);
        ffi::lua_gettop(l)
    }
}

/// Gives the table on top an `__index` that raises "nonexistent global variable".
unsafe fn set_error_metatable(l: Lua) {
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushcfunction(l, index_error);
        raw_set_field(l, -2, c"__index");
        ffi::lua_setmetatable(l, -2);
    }
}

/// A read-only view of a fresh `{__index = <error function>}`, what Redis's getmetatable(_G)
/// shows; pushed.
unsafe fn push_public_globals_meta(l: Lua) {
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushcfunction(l, index_error);
        raw_set_field(l, -2, c"__index");
        make_proxy(l, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Loading code: binary chunks are refused (parsed as text), as Redis's Lua does.
// ---------------------------------------------------------------------------------------------

/// `luaO_chunkid` for a string source (`[string "..."]`), for the binary-chunk error.
fn chunk_id(source: &[u8]) -> Vec<u8> {
    if let Some(rest) = source.strip_prefix(b"=") {
        let n = rest.len().min(59);
        return rest[..n].to_vec();
    }
    if let Some(rest) = source.strip_prefix(b"@") {
        let rest: &[u8] = rest;
        if rest.len() > 59 {
            let mut v = b"...".to_vec();
            v.extend_from_slice(&rest[rest.len() - 56..]);
            return v;
        }
        return rest.to_vec();
    }
    // The C string ends at the first NUL.
    let source = &source[..source.iter().position(|&b| b == 0).unwrap_or(source.len())];
    let line_end = source
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(source.len());
    let room = 60 - 15;
    let mut len = line_end.min(room);
    let mut v = b"[string \"".to_vec();
    if line_end < source.len() || source.len() > room {
        len = len.min(room);
        v.extend_from_slice(&source[..len]);
        v.extend_from_slice(b"...");
    } else {
        v.extend_from_slice(source);
    }
    v.extend_from_slice(b"\"]");
    v
}

/// Compiles `code` named `name` (pushes the function, or an error message); 0 on success.
pub(crate) unsafe fn load_text(l: Lua, code: &[u8], name: &CStr) -> c_int {
    if code.first() == Some(&0x1b) {
        let mut msg = chunk_id(name.to_bytes());
        msg.extend_from_slice(b":1: unexpected symbol near 'char(27)'");
        unsafe { push_bytes(l, &msg) };
        return ffi::LUA_ERRSYNTAX;
    }
    unsafe { ffi::luaL_loadbuffer(l, code.as_ptr() as *const c_char, code.len(), name.as_ptr()) }
}

unsafe extern "C-unwind" fn loadstring_w(l: Lua) -> c_int {
    unsafe {
        let Some(code) = opt_bytes(l, 1) else {
            ffi::luaL_checklstring(l, 1, null_mut());
            return 0;
        };
        let name_idx = if ffi::lua_isnoneornil(l, 2) != 0 {
            1
        } else {
            2
        };
        let name = ffi::luaL_checklstring(l, name_idx, null_mut());
        let status = load_text(l, code, CStr::from_ptr(name));
        if status == 0 {
            1
        } else {
            ffi::lua_pushnil(l);
            ffi::lua_insert(l, -2);
            2
        }
    }
}

/// The Lua prelude for `load(f [, name])`: gathers the pieces, then loads them as text.
const LOAD_PRELUDE: &[u8] = b"local loadstring, concat, type = ...\n\
return function(f, name)\n\
  local parts = {}\n\
  while true do\n\
    local p = f()\n\
    if p == nil or p == '' then break end\n\
    if type(p) ~= 'string' then return nil, 'reader function must return a string' end\n\
    parts[#parts + 1] = p\n\
  end\n\
  return loadstring(concat(parts), name or '=(load)')\n\
end\n";

// ---------------------------------------------------------------------------------------------
// The engine.
// ---------------------------------------------------------------------------------------------

/// One Lua interpreter.
pub(crate) struct Engine {
    /// The state.
    pub l: Lua,
    /// Its Core, boxed so C functions can point at it.
    pub core: Box<Core>,
    /// Registry reference of the error handler.
    pub errh: c_int,
    /// Registry reference of the real globals table.
    pub globals: c_int,
}

// SAFETY: the state is only touched by whoever holds the server state lock.
unsafe impl Send for Engine {}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: the state is ours and no longer used.
        unsafe { ffi::lua_close(self.l) };
    }
}

/// Redis's error handler (7.0): adds where the error happened to a table error.
const ERR_HANDLER_CODE: &[u8] = b"local dbg = ...\n\
return function(err)\n\
  local i = dbg.getinfo(2,'nSl')\n\
  if i and i.what == 'C' then\n\
    i = dbg.getinfo(3,'nSl')\n\
  end\n\
  if type(err) ~= 'table' then\n\
    err = {err='ERR ' .. tostring(err)}\n\
  end\n\
  if i then\n\
    err['source'] = i.source\n\
    err['line'] = i.currentline\n\
  end\n\
  return err\n\
end\n";

impl Engine {
    /// A new interpreter of `kind` with the sandbox Redis sets up.
    pub fn new(kind: Kind) -> Box<Engine> {
        let mut core = Box::new(Core {
            used: 0,
            limit: LUA_HEAP_LIMIT,
            enforce: false,
            run: null_mut(),
            load: null_mut(),
            kind,
            gc_calls: 0,
        });
        let core_ptr: *mut Core = &mut *core;
        // SAFETY: plain Lua C API use on a fresh state; nothing can fail but allocation,
        // which the unenforced allocator only fails on real exhaustion (then abort).
        unsafe {
            let l = ffi::lua_newstate(heap_alloc, core_ptr as *mut c_void);
            assert!(!l.is_null(), "cannot create the Lua state");
            ffi::lua_atpanic(l, at_panic);
            let (errh, globals) = setup(l, core_ptr, kind);
            Box::new(Engine {
                l,
                core,
                errh,
                globals,
            })
        }
    }

    /// Bytes the Lua heap uses (`used_memory_lua`).
    pub fn memory(&self) -> usize {
        self.core.used
    }
}

unsafe fn open_lib(l: Lua, name: &CStr, f: ffi::lua_CFunction) {
    unsafe {
        ffi::lua_pushcfunction(l, f);
        push_cstr(l, name);
        ffi::lua_call(l, 1, 0);
    }
}

/// Builds the sandbox; returns the registry refs of the error handler and the real globals.
unsafe fn setup(l: Lua, core: *mut Core, kind: Kind) -> (c_int, c_int) {
    unsafe {
        ffi::lua_createtable(l, 0, 0);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, PROXIES.as_ptr());
        ffi::lua_createtable(l, 0, 0);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, PUBMETA.as_ptr());

        open_lib(l, c"", ffi::luaopen_base);
        open_lib(l, c"table", ffi::luaopen_table);
        open_lib(l, c"string", ffi::luaopen_string);
        open_lib(l, c"math", ffi::luaopen_math);
        open_lib(l, c"debug", ffi::luaopen_debug);
        super::lib_cjson::open(l);
        super::lib_struct::open(l);
        super::lib_cmsgpack::open(l);
        super::lib_bit::open(l);

        // Globals Redis removes or never had.
        for name in [
            c"print",
            c"dofile",
            c"loadfile",
            c"getfenv",
            c"setfenv",
            c"newproxy",
            c"module",
            c"require",
            c"package",
        ] {
            ffi::lua_pushnil(l);
            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, name.as_ptr());
        }
        // loadstring / load refuse binary chunks.
        ffi::lua_pushcfunction(l, loadstring_w);
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"loadstring".as_ptr());
        let st = ffi::luaL_loadbuffer(
            l,
            LOAD_PRELUDE.as_ptr() as *const c_char,
            LOAD_PRELUDE.len(),
            c"=load".as_ptr(),
        );
        debug_assert_eq!(st, 0);
        ffi::lua_pushcfunction(l, loadstring_w);
        ffi::lua_getfield_(l, ffi::LUA_GLOBALSINDEX, c"table".as_ptr());
        ffi::lua_getfield_(l, -1, c"concat".as_ptr());
        ffi::lua_remove(l, -2);
        ffi::lua_getfield_(l, ffi::LUA_GLOBALSINDEX, c"type".as_ptr());
        ffi::lua_call(l, 3, 1);
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"load".as_ptr());

        // redis.* and the overrides of pcall and math.random.
        super::api::register(l, core, kind);

        // The error handler, built with the debug library which then disappears.
        let st = ffi::luaL_loadbuffer(
            l,
            ERR_HANDLER_CODE.as_ptr() as *const c_char,
            ERR_HANDLER_CODE.len(),
            c"@err_handler_def".as_ptr(),
        );
        debug_assert_eq!(st, 0);
        ffi::lua_getfield_(l, ffi::LUA_GLOBALSINDEX, c"debug".as_ptr());
        ffi::lua_call(l, 1, 1);
        if kind == Kind::Eval {
            ffi::lua_pushvalue(l, -1);
            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"__redis__err__handler".as_ptr());
        }
        let errh = ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX);
        ffi::lua_pushnil(l);
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"debug".as_ptr());

        // Wrappers of the functions that bypass metatables.
        wrap_base(l);

        // Protect the library tables: each becomes a read-only proxy.
        for name in [
            c"string",
            c"math",
            c"table",
            c"coroutine",
            c"cjson",
            c"bit",
            c"struct",
            c"cmsgpack",
            c"redis",
        ] {
            ffi::lua_getfield_(l, ffi::LUA_GLOBALSINDEX, name.as_ptr());
            if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
                ffi::lua_pop(l, 1);
                continue;
            }
            let is_string = name == c"string";
            make_proxy(l, 0);
            if is_string {
                // ("x"):upper() and getmetatable('').__index == string, as in Redis.
                push_cstr(l, c"");
                ffi::lua_getmetatable(l, -1);
                ffi::lua_pushvalue(l, -3);
                raw_set_field(l, -2, c"__index");
                ffi::lua_pop(l, 2);
            }
            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, name.as_ptr());
        }

        // The globals: the real table reads as an error when a name is missing; scripts see a
        // read-only proxy of it.
        ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
        let real = ffi::lua_gettop(l);
        set_error_metatable(l);
        push_public_globals_meta(l);
        let pubmeta = ffi::lua_gettop(l);
        ffi::lua_pushvalue(l, real);
        let proxy = make_proxy(l, pubmeta);
        ffi::lua_getmetatable(l, proxy);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, GLOBALS_META.as_ptr());
        // _G is the proxy.
        ffi::lua_pushvalue(l, proxy);
        raw_set_field(l, real, c"_G");
        ffi::lua_pushvalue(l, real);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REAL_GLOBALS.as_ptr());
        ffi::lua_pushvalue(l, proxy);
        ffi::lua_replace(l, ffi::LUA_GLOBALSINDEX);
        ffi::lua_pushvalue(l, real);
        let globals = ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX);
        ffi::lua_settop(l, 0);

        if kind == Kind::Function {
            super::function::setup_load_globals(l, core);
        }
        ffi::lua_gc(l, ffi::LUA_GCCOLLECT, 0);
        (errh, globals)
    }
}

/// Replaces rawset, rawget, next, pairs, ipairs, setmetatable, getmetatable and the writing
/// table.* functions by versions that honour the read-only proxies.
unsafe fn wrap_base(l: Lua) {
    unsafe {
        let g = ffi::LUA_GLOBALSINDEX;
        ffi::lua_pushcfunction(l, rawset_w);
        ffi::lua_setfield(l, g, c"rawset".as_ptr());
        ffi::lua_pushcfunction(l, rawget_w);
        ffi::lua_setfield(l, g, c"rawget".as_ptr());
        ffi::lua_pushcfunction(l, next_w);
        ffi::lua_pushvalue(l, -1);
        ffi::lua_setfield(l, g, c"next".as_ptr());
        ffi::lua_pushcclosure(l, pairs_w, 1);
        ffi::lua_setfield(l, g, c"pairs".as_ptr());
        ffi::lua_pushcfunction(l, ipairs_w);
        ffi::lua_setfield(l, g, c"ipairs".as_ptr());
        for (name, f) in [
            (c"setmetatable", setmetatable_w as ffi::lua_CFunction),
            (c"getmetatable", getmetatable_w as ffi::lua_CFunction),
        ] {
            ffi::lua_getfield_(l, g, name.as_ptr());
            ffi::lua_pushcclosure(l, f, 1);
            ffi::lua_setfield(l, g, name.as_ptr());
        }
        ffi::lua_getfield_(l, g, c"table".as_ptr());
        for name in [c"insert", c"remove", c"sort", c"setn"] {
            ffi::lua_getfield_(l, -1, name.as_ptr());
            ffi::lua_pushcclosure(l, table_write_w, 1);
            ffi::lua_setfield(l, -2, name.as_ptr());
        }
        ffi::lua_pop(l, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Running.
// ---------------------------------------------------------------------------------------------

/// The count hook: time limit and kill flag.
pub(crate) unsafe extern "C-unwind" fn count_hook(l: Lua, _ar: *mut ffi::lua_Debug) {
    let core = CURRENT.with(|c| c.get());
    if core.is_null() {
        return;
    }
    // SAFETY: set for the duration of a run or a load by their callers.
    let core = unsafe { &mut *core };
    if !core.load.is_null() {
        // SAFETY: valid while a library loads.
        if unsafe { super::function::load_timed_out(&*core.load) } {
            unsafe {
                ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKLINE, 0);
                push_error(l, b"FUNCTION LOAD timeout");
                ffi::lua_error(l);
            }
        }
        return;
    }
    if core.run.is_null() {
        return;
    }
    // SAFETY: the run context outlives the call.
    let killed = super::interrupt(unsafe { &mut *core.run });
    if killed {
        crate::warning!("Lua script killed by user with SCRIPT KILL.");
        unsafe {
            ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKLINE, 0);
            push_error(l, b"Script killed by user with SCRIPT KILL...");
            ffi::lua_error(l);
        }
    }
}

thread_local! {
    /// The Core of the engine running on this thread (for the hook, which has no upvalues).
    pub(crate) static CURRENT: std::cell::Cell<*mut Core> = const { std::cell::Cell::new(null_mut()) };
}

/// Runs the function referenced by `fref` (eval: no arguments, KEYS/ARGV set as globals;
/// function: keys and args tables as arguments) under `ctx`, writing the reply to `out`.
pub(crate) fn call(
    eng: &mut Engine,
    ctx: &mut super::RunCtx,
    fref: c_int,
    keys: &[bytes::Bytes],
    args: &[bytes::Bytes],
    out: &mut resp::Out,
) {
    let l = eng.l;
    let core: *mut Core = &mut *eng.core;
    // SAFETY: stack discipline below mirrors Redis's luaCallFunction; errors inside user
    // code are caught by lua_pcall; the conversions run unprotected with the heap bound off.
    unsafe {
        (*core).run = ctx;
        CURRENT.with(|c| c.set(core));
        let threshold = ctx.threshold_ms;
        if threshold > 0 {
            ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKCOUNT, HOOK_EVERY);
        }
        ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, eng.errh);
        ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, fref);
        let nargs = if (*core).kind == Kind::Eval {
            ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, eng.globals);
            push_array(l, keys);
            raw_set_field(l, -2, c"KEYS");
            push_array(l, args);
            raw_set_field(l, -2, c"ARGV");
            ffi::lua_pop(l, 1);
            0
        } else {
            push_array(l, keys);
            push_array(l, args);
            2
        };
        (*core).enforce = true;
        let err = ffi::lua_pcall(l, nargs, 1, -(nargs + 2));
        (*core).enforce = false;
        (*core).gc_calls += 1;
        if err == ffi::LUA_ERRMEM || (*core).used > (*core).limit / 2 {
            // Lua 5.1 has no emergency collection: reclaim what the failed script left.
            ffi::lua_gc(l, ffi::LUA_GCCOLLECT, 0);
            (*core).gc_calls = 0;
        } else if (*core).gc_calls >= 50 {
            ffi::lua_gc(l, ffi::LUA_GCSTEP, 50);
            (*core).gc_calls = 0;
        }
        if err != 0 {
            error_reply(l, ctx, out);
            ffi::lua_pop(l, 1);
        } else {
            convert::reply_from_lua(l, out, ctx.resp == 3);
        }
        ffi::lua_pop(l, 1); // the error handler
        if threshold > 0 || ctx.killed {
            ffi::lua_sethook(l, None, 0, 0);
        }
        (*core).run = null_mut();
        CURRENT.with(|c| c.set(null_mut()));
        debug_assert_eq!(ffi::lua_gettop(l), 0);
        ffi::lua_settop(l, 0);
    }
}

/// Pushes a Lua array of the given strings.
pub(crate) unsafe fn push_array(l: Lua, items: &[bytes::Bytes]) {
    unsafe {
        ffi::lua_createtable(l, items.len().min(1 << 20) as c_int, 0);
        for (i, it) in items.iter().enumerate() {
            push_bytes(l, it);
            ffi::lua_rawseti_(l, -2, (i + 1) as c_int);
        }
    }
}

/// The reply for the error object on top (`luaCallFunction`'s error branch).
unsafe fn error_reply(l: Lua, ctx: &super::RunCtx, out: &mut resp::Out) {
    unsafe {
        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
            let msg = opt_bytes(l, -1).unwrap_or(b"execution failure");
            let msg = &msg[..msg.len().min(100)];
            let mut s = format!("ERR Error running script {}, ", ctx.name);
            s.push_str(String::from_utf8_lossy(msg).trim_end_matches(['\r', '\n']));
            out.error(&s);
            return;
        }
        let (msg, source, line) = error_info(l);
        let mut s = Vec::with_capacity(msg.len() + 80);
        s.push(b'-');
        s.extend_from_slice(&msg);
        if let (Some(src), Some(line)) = (source, line) {
            s.extend_from_slice(b" script: ");
            s.extend_from_slice(ctx.name.as_bytes());
            s.extend_from_slice(b", on ");
            s.extend_from_slice(&src);
            s.push(b':');
            s.extend_from_slice(&line);
            s.push(b'.');
        }
        // Redis writes the text as is; keep the protocol intact.
        for b in s.iter_mut() {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        s.extend_from_slice(b"\r\n");
        out.raw(&s);
    }
}

/// `luaExtractErrorInformation` for the error table on top: (err, source, line).
pub(crate) unsafe fn error_info(l: Lua) -> (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>) {
    unsafe {
        let mut msg = Vec::new();
        if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
            msg.extend_from_slice(b"ERR ");
            msg.extend_from_slice(opt_bytes(l, -1).unwrap_or_default());
            return (msg, None, None);
        }
        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
            return (msg, None, None);
        }
        // Raw reads: no metamethod may run here, outside any protected call.
        let field = |name: &CStr| -> Option<Vec<u8>> {
            push_cstr(l, name);
            ffi::lua_rawget_(l, -2);
            let t = ffi::lua_type(l, -1);
            let v = if t == ffi::LUA_TSTRING || t == ffi::LUA_TNUMBER {
                opt_bytes(l, -1).map(|b| b.to_vec())
            } else {
                None
            };
            ffi::lua_pop(l, 1);
            v
        };
        let err = field(c"err");
        let source = field(c"source");
        let line = field(c"line");
        (err.unwrap_or_default(), source, line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ids() {
        assert_eq!(chunk_id(b"\x1bLuaQ\x00\x01"), b"[string \"\x1bLuaQ\"]");
        assert_eq!(chunk_id(b"=(load)"), b"(load)");
        assert_eq!(chunk_id(b"a\nb"), b"[string \"a...\"]");
    }

    #[test]
    fn error_tables() {
        let eng = Engine::new(Kind::Eval);
        let l = eng.l;
        unsafe {
            push_error(l, b"-WRONGTYPE Operation against\r\n");
            ffi::lua_getfield_(l, -1, c"err".as_ptr());
            assert_eq!(opt_bytes(l, -1).unwrap(), b"WRONGTYPE Operation against");
            ffi::lua_settop(l, 0);
            push_error(l, b"-MY");
            ffi::lua_getfield_(l, -1, c"err".as_ptr());
            assert_eq!(opt_bytes(l, -1).unwrap(), b"ERR MY");
            ffi::lua_settop(l, 0);
            push_error(l, b"plain words");
            ffi::lua_getfield_(l, -1, c"err".as_ptr());
            assert_eq!(opt_bytes(l, -1).unwrap(), b"ERR plain words");
            ffi::lua_settop(l, 0);
        }
    }
}

//! Functions: FUNCTION LOAD / DELETE / FLUSH / LIST / DUMP / RESTORE / STATS / KILL / HELP,
//! FCALL and FCALL_RO. Libraries are Lua code that registers named functions with
//! `redis.register_function`; they live in their own interpreter, persist in RDB files as
//! `FUNCTION2` records and replicate as the FUNCTION commands that changed them.

use super::engine::{self, opt_bytes, push_error, raw_set_field, set_fn, Core, Engine, Kind, Lua};
use super::sflag;
use crate::commands::flag::*;
use crate::commands::{Command, Handler};
use crate::dispatch::Exec;
use bytes::Bytes;
use mlua::ffi;
use std::collections::HashMap;
use std::ffi::{c_int, CStr};
use std::time::Instant;

/// FUNCTION LOAD's time limit for running a library's top level, in ms.
const LOAD_TIMEOUT_MS: u64 = 500;

/// One registered function.
pub(crate) struct FunctionInfo {
    /// Its name as registered.
    pub name: String,
    /// Its description.
    pub desc: Option<Bytes>,
    /// [`sflag`] bits.
    pub flags: u32,
    /// Registry reference of the callback.
    pub fref: c_int,
}

/// One library.
pub(crate) struct Library {
    /// Its name (case-sensitive).
    pub name: String,
    /// The code as loaded, shebang included.
    pub code: Bytes,
    /// Its functions in registration order.
    pub functions: Vec<FunctionInfo>,
}

/// The libraries and their interpreter.
#[derive(Default)]
pub(crate) struct Functions {
    /// The interpreter (created on first use, taken out while a function runs).
    pub engine: Option<Box<Engine>>,
    /// The libraries in load order.
    pub libraries: Vec<Library>,
    /// Lower-case function name -> (library index, function index).
    index: HashMap<Vec<u8>, (usize, usize), ahash::RandomState>,
}

impl Functions {
    fn reindex(&mut self) {
        self.index.clear();
        for (li, lib) in self.libraries.iter().enumerate() {
            for (fi, f) in lib.functions.iter().enumerate() {
                self.index
                    .entry(f.name.to_ascii_lowercase().into_bytes())
                    .or_insert((li, fi));
            }
        }
    }

    fn find(&self, name: &[u8]) -> Option<(usize, usize)> {
        self.index.get(&name.to_ascii_lowercase()).copied()
    }

    /// The flags of function `name`, if it exists.
    pub fn flags_of(&self, name: &[u8]) -> Option<u32> {
        self.find(name)
            .map(|(li, fi)| self.libraries[li].functions[fi].flags)
    }

    /// Every library's code.
    pub fn codes(&self) -> Vec<Bytes> {
        self.libraries.iter().map(|l| l.code.clone()).collect()
    }

    /// Bytes used by the interpreter.
    pub fn memory(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.memory())
    }

    /// (libraries, functions).
    pub fn counts(&self) -> (usize, usize) {
        (self.libraries.len(), self.functions_count())
    }

    fn functions_count(&self) -> usize {
        self.libraries.iter().map(|l| l.functions.len()).sum()
    }

    fn engine(&mut self) -> &mut Engine {
        self.engine
            .get_or_insert_with(|| Engine::new(Kind::Function))
    }

    /// Drops library `li`'s compiled functions.
    fn release(&mut self, lib: &Library) {
        if let Some(eng) = self.engine.as_ref() {
            for f in &lib.functions {
                // SAFETY: refs made by this engine.
                unsafe { ffi::luaL_unref(eng.l, ffi::LUA_REGISTRYINDEX, f.fref) };
            }
        }
    }

    /// `functionsCreateWithLibraryCtx`: loads `code`, replacing a library of the same name
    /// when `replace`. Returns the library name or the error message (without `ERR`).
    pub fn create(
        &mut self,
        code: &Bytes,
        replace: bool,
        timeout_ms: u64,
    ) -> Result<String, String> {
        let md = lib_metadata(code)?;
        if !valid_name(md.name.as_bytes()) {
            return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
        }
        if !md.engine.eq_ignore_ascii_case("lua") {
            return Err(format!("Engine '{}' not found", md.engine));
        }
        let old = self.libraries.iter().position(|l| l.name == md.name);
        if old.is_some() && !replace {
            return Err(format!("Library '{}' already exists", md.name));
        }
        let functions = self.compile(&code[md.code_start..], timeout_ms)?;
        let new = Library {
            name: md.name.clone(),
            code: code.clone(),
            functions,
        };
        if new.functions.is_empty() {
            self.release(&new);
            return Err("No functions registered".into());
        }
        for f in &new.functions {
            if let Some((li, _)) = self.find(f.name.as_bytes()) {
                if Some(li) != old {
                    let msg = format!("Function {} already exists", f.name);
                    self.release(&new);
                    return Err(msg);
                }
            }
        }
        if let Some(i) = old {
            let lib = self.libraries.remove(i);
            self.release(&lib);
        }
        self.libraries.push(new);
        self.reindex();
        Ok(md.name)
    }

    /// Runs a library's top level with the loading API; returns what it registered.
    fn compile(&mut self, code: &[u8], timeout_ms: u64) -> Result<Vec<FunctionInfo>, String> {
        let eng = self.engine();
        let l = eng.l;
        let core: *mut Core = &mut *eng.core;
        let mut load = LoadCtx {
            start: Instant::now(),
            timeout_ms,
            functions: Vec::new(),
        };
        // SAFETY: the loading globals are switched in and out around a protected call; the
        // hook sees the load context through the thread's current engine.
        unsafe {
            if engine::load_text(l, code, c"@user_function") != 0 {
                let msg = opt_bytes(l, -1)
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .unwrap_or_default();
                ffi::lua_pop(l, 1);
                return Err(format!("Error compiling function: {msg}"));
            }
            switch_globals(l, true);
            (*core).load = &mut load;
            engine::CURRENT.with(|c| c.set(core));
            ffi::lua_sethook(
                l,
                Some(engine::count_hook),
                ffi::LUA_MASKCOUNT,
                engine::HOOK_EVERY,
            );
            (*core).enforce = true;
            let status = ffi::lua_pcall(l, 0, 0, 0);
            (*core).enforce = false;
            ffi::lua_sethook(l, None, 0, 0);
            engine::CURRENT.with(|c| c.set(std::ptr::null_mut()));
            (*core).load = std::ptr::null_mut();
            switch_globals(l, false);
            if status != 0 {
                let (msg, _, _) = engine::error_info(l);
                ffi::lua_pop(l, 1);
                for f in &load.functions {
                    ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, f.fref);
                }
                return Err(format!(
                    "Error registering functions: {}",
                    String::from_utf8_lossy(&msg)
                ));
            }
            ffi::lua_settop(l, 0);
        }
        Ok(load.functions)
    }

    /// FUNCTION FLUSH: a new interpreter, no libraries.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.index.clear();
        self.engine = None;
    }
}

/// What a library's shebang says.
struct LibMeta {
    engine: String,
    name: String,
    code_start: usize,
}

/// `functionExtractLibMetaData`.
fn lib_metadata(code: &[u8]) -> Result<LibMeta, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]).into_owned();
    let mut parts = line.split_ascii_whitespace();
    let Some(first) = parts.next() else {
        return Err("Invalid library metadata".into());
    };
    let engine = first.get(2..).unwrap_or("").to_string();
    let mut name: Option<String> = None;
    for part in parts {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(format!("Invalid metadata value given: {part}"));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok(LibMeta {
        engine,
        name,
        code_start: end,
    })
}

/// `[a-zA-Z0-9_]+`.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// What `redis.register_function` fills while a library loads.
pub(crate) struct LoadCtx {
    start: Instant,
    timeout_ms: u64,
    functions: Vec<FunctionInfo>,
}

/// The load hook's check.
pub(crate) fn load_timed_out(load: &LoadCtx) -> bool {
    load.timeout_ms > 0 && load.start.elapsed().as_millis() as u64 > load.timeout_ms
}

/// Points the globals proxy at the loading API (`true`) or back at the real globals.
unsafe fn switch_globals(l: Lua, loading: bool) {
    unsafe {
        ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, engine::GLOBALS_META.as_ptr());
        let src = if loading {
            engine::LOAD_GLOBALS
        } else {
            engine::REAL_GLOBALS
        };
        ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, src.as_ptr());
        raw_set_field(l, -2, c"__index");
        ffi::lua_pop(l, 1);
    }
}

unsafe extern "C-unwind" fn index_error_load(l: Lua) -> c_int {
    unsafe {
        let name = opt_bytes(l, 2).unwrap_or(b"?");
        let mut msg = b"Script attempted to access nonexistent global variable '".to_vec();
        msg.extend_from_slice(name);
        msg.push(b'\'');
        ffi::luaL_where(l, 1);
        engine::push_bytes(l, &msg);
        drop(msg);
        ffi::lua_concat(l, 2);
        ffi::lua_error(l)
    }
}

unsafe extern "C-unwind" fn readonly_error_load(l: Lua) -> c_int {
    unsafe { engine::raise_where(l, b"Attempt to modify a readonly table") }
}

/// Builds the globals a library's top level sees: only a `redis` table with
/// `register_function`, `log` and the version (at engine setup).
pub(crate) unsafe fn setup_load_globals(l: Lua, core: *mut Core) {
    unsafe {
        // The loading `redis` table, read-only, erroring on unknown names.
        ffi::lua_createtable(l, 0, 8);
        set_fn(l, core, c"register_function", register_function);
        super::api::register_log(l, core);
        super::api::register_version(l);
        error_meta(l);
        let lib_redis = ffi::lua_gettop(l);
        // Its read-only view.
        ffi::lua_createtable(l, 0, 0);
        ffi::lua_createtable(l, 0, 2);
        ffi::lua_pushvalue(l, lib_redis);
        raw_set_field(l, -2, c"__index");
        ffi::lua_pushcfunction(l, readonly_error_load);
        raw_set_field(l, -2, c"__newindex");
        ffi::lua_setmetatable(l, -2);
        // The loading globals: { redis = view }, erroring on unknown names.
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushvalue(l, -2);
        raw_set_field(l, -2, c"redis");
        error_meta(l);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, engine::LOAD_GLOBALS.as_ptr());
        ffi::lua_settop(l, 0);
    }
}

/// Gives the table on top a metatable whose __index raises "nonexistent global variable".
unsafe fn error_meta(l: Lua) {
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushcfunction(l, index_error_load);
        raw_set_field(l, -2, c"__index");
        ffi::lua_setmetatable(l, -2);
    }
}

/// What register_function was given.
struct Registration {
    name: Option<String>,
    desc: Option<Bytes>,
    flags: u32,
    fref: Option<c_int>,
}

/// Reads the flags table on top: Err on an unknown flag.
unsafe fn read_flags(l: Lua) -> Result<u32, ()> {
    let mut flags = 0;
    let mut j = 1;
    unsafe {
        loop {
            ffi::lua_pushnumber(l, j as f64);
            ffi::lua_gettable(l, -2);
            j += 1;
            if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                ffi::lua_pop(l, 1);
                break;
            }
            if ffi::lua_isstring(l, -1) == 0 {
                ffi::lua_pop(l, 1);
                return Err(());
            }
            let s = opt_bytes(l, -1).unwrap_or_default();
            let found = super::sflag::NAMES
                .iter()
                .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(s));
            ffi::lua_pop(l, 1);
            match found {
                Some((bit, _)) => flags |= bit,
                None => return Err(()),
            }
        }
    }
    Ok(flags)
}

/// Reads register_function's arguments; on error the callback ref (if made) is released.
unsafe fn read_registration(l: Lua, reg: &mut Registration) -> Result<(), &'static CStr> {
    unsafe {
        let argc = ffi::lua_gettop(l);
        if !(1..=2).contains(&argc) {
            return Err(c"wrong number of arguments to redis.register_function");
        }
        if argc == 2 {
            if ffi::lua_isstring(l, 1) == 0 {
                return Err(c"first argument to redis.register_function must be a string");
            }
            reg.name =
                Some(String::from_utf8_lossy(opt_bytes(l, 1).unwrap_or_default()).into_owned());
            if ffi::lua_type(l, 2) != ffi::LUA_TFUNCTION {
                return Err(c"second argument to redis.register_function must be a function");
            }
            ffi::lua_pushvalue(l, 2);
            reg.fref = Some(ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX));
            return Ok(());
        }
        if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
            return Err(c"calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
        }
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, 1) != 0 {
            if ffi::lua_isstring(l, -2) == 0 {
                return Err(c"named argument key given to redis.register_function is not a string");
            }
            // Copy the key so lua_tolstring cannot change a number key under lua_next.
            ffi::lua_pushvalue(l, -2);
            let key =
                String::from_utf8_lossy(opt_bytes(l, -1).unwrap_or_default()).to_ascii_lowercase();
            ffi::lua_pop(l, 1);
            match key.as_str() {
                "function_name" => {
                    if ffi::lua_isstring(l, -1) == 0 {
                        return Err(c"function_name argument given to redis.register_function must be a string");
                    }
                    reg.name = Some(
                        String::from_utf8_lossy(opt_bytes(l, -1).unwrap_or_default()).into_owned(),
                    );
                }
                "description" => {
                    if ffi::lua_isstring(l, -1) == 0 {
                        return Err(c"description argument given to redis.register_function must be a string");
                    }
                    reg.desc = Some(Bytes::copy_from_slice(opt_bytes(l, -1).unwrap_or_default()));
                }
                "callback" => {
                    if ffi::lua_type(l, -1) != ffi::LUA_TFUNCTION {
                        return Err(c"callback argument given to redis.register_function must be a function");
                    }
                    if let Some(r) = reg.fref.take() {
                        ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, r);
                    }
                    reg.fref = Some(ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX));
                    continue;
                }
                "flags" => {
                    if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
                        return Err(c"flags argument to redis.register_function must be a table representing function flags");
                    }
                    match read_flags(l) {
                        Ok(f) => reg.flags = f,
                        Err(()) => return Err(c"unknown flag given"),
                    }
                }
                _ => return Err(c"unknown argument given to redis.register_function"),
            }
            ffi::lua_pop(l, 1);
        }
        if reg.name.is_none() {
            return Err(c"redis.register_function must get a function name argument");
        }
        if reg.fref.is_none() {
            return Err(c"redis.register_function must get a callback argument");
        }
        Ok(())
    }
}

unsafe extern "C-unwind" fn register_function(l: Lua) -> c_int {
    unsafe {
        let core: &mut Core = engine::core(l);
        if core.load.is_null() {
            push_error(
                l,
                b"redis.register_function can only be called on FUNCTION LOAD command",
            );
            ffi::lua_error(l);
        }
        let load = &mut *core.load;
        let mut reg = Registration {
            name: None,
            desc: None,
            flags: 0,
            fref: None,
        };
        let err: Option<&'static CStr> = match read_registration(l, &mut reg) {
            Err(e) => Some(e),
            Ok(()) => {
                let name = reg.name.as_deref().unwrap_or("");
                if !valid_name(name.as_bytes()) {
                    Some(c"Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
                } else if load.functions.iter().any(|f| f.name == name) {
                    Some(c"Function already exists in the library")
                } else {
                    None
                }
            }
        };
        match err {
            Some(e) => {
                if let Some(r) = reg.fref.take() {
                    ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, r);
                }
                drop(reg);
                ffi::lua_settop(l, 0);
                push_error(l, e.to_bytes());
                ffi::lua_error(l)
            }
            None => {
                load.functions.push(FunctionInfo {
                    name: reg.name.take().unwrap_or_default(),
                    desc: reg.desc.take(),
                    flags: reg.flags,
                    fref: reg.fref.take().unwrap_or(ffi::LUA_NOREF),
                });
                0
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// FCALL.
// ---------------------------------------------------------------------------------------------

/// FCALL function numkeys [key ...] [arg ...]
pub fn fcall(ex: &mut Exec) {
    fcall_generic(ex, false);
}

/// FCALL_RO function numkeys [key ...] [arg ...]
pub fn fcall_ro(ex: &mut Exec) {
    fcall_generic(ex, true);
}

fn fcall_generic(ex: &mut Exec, ro: bool) {
    crate::cmd::admin::feed_monitors(ex.st, ex.sess, ex.argv, ex.now_ms);
    let funcs = &mut ex.st.scripting.functions;
    let Some((li, fi)) = funcs.find(&ex.argv[1]) else {
        return ex.out.error("ERR Function not found");
    };
    let numkeys = match super::eval::parse_numkeys(ex, "ERR Bad number of keys provided") {
        Ok(n) => n,
        Err(e) => return ex.out.error(&e),
    };
    let funcs = &mut ex.st.scripting.functions;
    let f = &funcs.libraries[li].functions[fi];
    let (fref, flags, name) = (f.fref, f.flags, f.name.clone());
    if let Err(e) = super::prepare_for_run(ex.st, ex.sess, flags, ro) {
        return ex.out.error(&e);
    }
    let Some(mut eng) = ex.st.scripting.functions.engine.take() else {
        return ex.out.error("ERR Function not found");
    };
    super::run(ex, &mut eng, fref, name, flags, ro, false, numkeys);
    if ex.st.scripting.functions.engine.is_none() {
        ex.st.scripting.functions.engine = Some(eng);
    }
}

// ---------------------------------------------------------------------------------------------
// FUNCTION subcommands.
// ---------------------------------------------------------------------------------------------

macro_rules! sub {
    ($name:literal, $arity:expr, $flags:expr, $f:expr, $summary:literal) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            group: "scripting",
            summary: $summary,
            since: "7.0.0",
            handler: Handler::Server($f),
            subcommands: &[],
        }
    };
}

/// FUNCTION subcommands, in Redis's COMMAND order.
pub static FUNCTION_SUBCOMMANDS: &[Command] = &[
    sub!(
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        function_stats,
        "Return information about the function currently running (name, description, duration)"
    ),
    sub!(
        "flush",
        -2,
        WRITE | NOSCRIPT,
        function_flush,
        "Deleting all functions"
    ),
    sub!(
        "restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        function_restore,
        "Restore all the functions on the given payload"
    ),
    sub!(
        "delete",
        3,
        WRITE | NOSCRIPT,
        function_delete,
        "Delete a function by name"
    ),
    sub!(
        "dump",
        2,
        NOSCRIPT,
        function_dump,
        "Dump all functions into a serialized binary payload"
    ),
    sub!(
        "list",
        -2,
        NOSCRIPT,
        function_list,
        "List information about all the functions"
    ),
    sub!(
        "help",
        2,
        LOADING | STALE,
        function_help,
        "Show helpful text about the different subcommands"
    ),
    sub!(
        "load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        function_load,
        "Create a function with the given arguments (name, code, description)"
    ),
    sub!(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        function_kill,
        "Kill the function currently in execution."
    ),
];

/// Marks the change and propagates the command as sent (replicas and the AOF replay it).
fn changed(ex: &mut Exec) {
    ex.st.ks.dirty += 1;
    let argv = ex.argv.to_vec();
    crate::dispatch::propagate(
        ex.st,
        ex.sess.db,
        ex.argv,
        Some(vec![argv]),
        0,
        &FUNCTION_SUBCOMMANDS[7],
    );
}

/// FUNCTION LOAD [REPLACE] code
fn function_load(ex: &mut Exec) {
    let mut replace = false;
    let mut pos = 2;
    while pos < ex.argv.len() - 1 {
        let a = &ex.argv[pos];
        pos += 1;
        if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
            continue;
        }
        return ex.out.error(&format!(
            "ERR Unknown option given: {}",
            String::from_utf8_lossy(a)
        ));
    }
    let code = ex.argv[pos].clone();
    let timeout = if ex.sess.from_master || ex.sess.id == u64::MAX {
        0
    } else {
        LOAD_TIMEOUT_MS
    };
    match ex.st.scripting.functions.create(&code, replace, timeout) {
        Ok(name) => {
            changed(ex);
            ex.out.bulk(name.as_bytes());
        }
        Err(e) => ex.out.error(&format!("ERR {e}")),
    }
}

/// FUNCTION DELETE library-name
fn function_delete(ex: &mut Exec) {
    let funcs = &mut ex.st.scripting.functions;
    let Some(i) = funcs
        .libraries
        .iter()
        .position(|l| l.name.as_bytes() == &ex.argv[2][..])
    else {
        return ex.out.error("ERR Library not found");
    };
    let lib = funcs.libraries.remove(i);
    funcs.release(&lib);
    funcs.reindex();
    changed(ex);
    ex.out.ok();
}

/// FUNCTION FLUSH [ASYNC|SYNC]
fn function_flush(ex: &mut Exec) {
    if ex.argv.len() > 3 {
        return subcommand_syntax_error(ex);
    }
    if ex.argv.len() == 3
        && !ex.argv[2].eq_ignore_ascii_case(b"sync")
        && !ex.argv[2].eq_ignore_ascii_case(b"async")
    {
        return ex
            .out
            .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    ex.st.scripting.functions.flush();
    changed(ex);
    ex.out.ok();
}

/// FUNCTION KILL (with the lock: nothing runs).
fn function_kill(ex: &mut Exec) {
    super::kill_not_busy(ex);
}

/// FUNCTION STATS (with the lock: nothing runs).
fn function_stats(ex: &mut Exec) {
    let f = &ex.st.scripting.functions;
    let (libs, funcs) = (f.libraries.len(), f.functions_count());
    let out = &mut *ex.out;
    out.map(2);
    out.bulk(b"running_script");
    out.null();
    engines_stats(out, libs, funcs);
}

fn engines_stats(out: &mut resp::Out, libs: usize, funcs: usize) {
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs as i64);
    out.bulk(b"functions_count");
    out.int(funcs as i64);
}

/// FUNCTION STATS while a function is busy (no lock: the counts are unknown, reported as 0).
pub(crate) fn stats_while_busy(w: &super::Watch, out: &mut resp::Out) {
    use std::sync::atomic::Ordering;
    let (name, argv) = w.running_info.lock().clone();
    let started = w.started_ms.load(Ordering::Relaxed);
    out.map(2);
    out.bulk(b"running_script");
    out.map(3);
    out.bulk(b"name");
    out.bulk(name.as_bytes());
    out.bulk(b"command");
    out.bulk_array(&argv);
    out.bulk(b"duration_ms");
    out.int((crate::clock::unix_ms() - started).max(0));
    let (libs, funcs) = w.function_counts.lock().as_ref().copied().unwrap_or((0, 0));
    engines_stats(out, libs, funcs);
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
fn function_list(ex: &mut Exec) {
    let mut with_code = false;
    let mut pattern: Option<Bytes> = None;
    let mut i = 2;
    while i < ex.argv.len() {
        let a = &ex.argv[i];
        if !with_code && a.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
            i += 1;
            continue;
        }
        if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
            if i >= ex.argv.len() - 1 {
                return ex.out.error("ERR library name argument was not given");
            }
            pattern = Some(ex.argv[i + 1].clone());
            i += 2;
            continue;
        }
        return ex.out.error(&format!(
            "ERR Unknown argument {}",
            String::from_utf8_lossy(a)
        ));
    }
    let libs: Vec<&Library> = ex
        .st
        .scripting
        .functions
        .libraries
        .iter()
        .filter(|l| {
            pattern
                .as_ref()
                .is_none_or(|p| store::glob::glob_match(p, l.name.as_bytes(), true))
        })
        .collect();
    let out = &mut *ex.out;
    out.array(libs.len());
    for lib in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.desc {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = sflag::NAMES
                .iter()
                .filter(|(b, _)| f.flags & b != 0)
                .map(|(_, n)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
}

/// The FUNCTION2 records of `codes` followed by the RDB version and the CRC-64.
pub fn dump_payload(codes: &[Bytes], compression: bool) -> Vec<u8> {
    let opts = rdb::EncodeOptions {
        compression,
        checksum: false,
        ..Default::default()
    };
    let items: Vec<rdb::Item> = codes
        .iter()
        .map(|c| rdb::Item::Function(c.to_vec()))
        .collect();
    let file = rdb::encode_to_vec(&items, &opts);
    // Strip the `REDIS0010` header and the EOF opcode + checksum the file form adds.
    let mut out = file[9..file.len() - 9].to_vec();
    out.extend_from_slice(&(rdb::RDB_VERSION as u16).to_le_bytes());
    let crc = rdb::crc64::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// FUNCTION DUMP
fn function_dump(ex: &mut Exec) {
    let codes = ex.st.scripting.functions.codes();
    let payload = dump_payload(&codes, ex.st.cfg.rdbcompression);
    ex.out.bulk(&payload);
}

/// The library codes of a FUNCTION DUMP payload, or the error reply text.
fn parse_payload(data: &[u8], skip_checksum: bool) -> Result<Vec<Bytes>, String> {
    if rdb::verify_dump_payload(data, skip_checksum).is_err() {
        return Err("DUMP payload version or checksum are wrong".into());
    }
    let body = &data[..data.len() - 10];
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(body);
    file.push(0xFF);
    file.extend_from_slice(&[0u8; 8]);
    let mut dec = rdb::PushDecoder::new(rdb::DecodeOptions {
        verify_checksum: false,
        ..Default::default()
    });
    dec.feed(&file);
    dec.finish();
    let mut codes = Vec::new();
    loop {
        match dec.next_item() {
            Ok(Some(rdb::Item::Function(code))) => codes.push(Bytes::from(code)),
            Ok(Some(rdb::Item::Eof)) | Ok(None) => break,
            Ok(Some(_)) => return Err("given type is not a function".into()),
            Err(rdb::Error::Unsupported { .. }) => {
                return Err("Pre-GA function format not supported".into())
            }
            Err(_) => return Err("can not read data type".into()),
        }
    }
    Ok(codes)
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]
fn function_restore(ex: &mut Exec) {
    if ex.argv.len() > 4 {
        return subcommand_syntax_error(ex);
    }
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy =
        match ex.argv.get(3) {
            None => Policy::Append,
            Some(p) if p.eq_ignore_ascii_case(b"append") => Policy::Append,
            Some(p) if p.eq_ignore_ascii_case(b"replace") => Policy::Replace,
            Some(p) if p.eq_ignore_ascii_case(b"flush") => Policy::Flush,
            Some(_) => return ex.out.error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ),
        };
    let codes = match parse_payload(&ex.argv[2], false) {
        Ok(c) => c,
        Err(e) => return ex.out.error(&format!("ERR {e}")),
    };
    // Load the payload on its own first (its errors come first, as in Redis).
    let mut fresh = Functions::default();
    for code in &codes {
        if let Err(e) = fresh.create(code, false, 0) {
            return ex.out.error(&format!("ERR {e}"));
        }
    }
    let current = &ex.st.scripting.functions;
    let merged = if policy == Policy::Flush {
        fresh
    } else {
        // libraryJoin: library collisions, then function collisions.
        for lib in &fresh.libraries {
            if policy == Policy::Append && current.libraries.iter().any(|l| l.name == lib.name) {
                return ex
                    .out
                    .error(&format!("ERR Library {} already exists", lib.name));
            }
        }
        let kept: Vec<&Library> = current
            .libraries
            .iter()
            .filter(|l| !fresh.libraries.iter().any(|n| n.name == l.name))
            .collect();
        for lib in &fresh.libraries {
            for f in &lib.functions {
                let clash = kept.iter().any(|k| {
                    k.functions
                        .iter()
                        .any(|g| g.name.eq_ignore_ascii_case(&f.name))
                });
                if clash {
                    return ex
                        .out
                        .error(&format!("ERR Function {} already exists", f.name));
                }
            }
        }
        let mut all: Vec<Bytes> = kept.iter().map(|l| l.code.clone()).collect();
        all.extend(fresh.libraries.iter().map(|l| l.code.clone()));
        let mut merged = Functions::default();
        for code in &all {
            if let Err(e) = merged.create(code, false, 0) {
                return ex.out.error(&format!("ERR {e}"));
            }
        }
        merged
    };
    ex.st.scripting.functions = merged;
    changed(ex);
    ex.out.ok();
}

fn subcommand_syntax_error(ex: &mut Exec) {
    let msg = format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        String::from_utf8_lossy(&ex.argv[1][..ex.argv[1].len().min(128)])
    );
    ex.out.error(&msg);
}

const FUNCTION_HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];

/// FUNCTION HELP
fn function_help(ex: &mut Exec) {
    crate::cmd::admin::help_reply(ex.out, "FUNCTION", FUNCTION_HELP);
}

// ---------------------------------------------------------------------------------------------
// Persistence.
// ---------------------------------------------------------------------------------------------

/// Replaces the libraries by those of an RDB being loaded; the error is the load failure.
pub fn load_from_rdb(st: &mut crate::state::State, codes: &[Vec<u8>]) -> Result<(), String> {
    let mut fresh = Functions::default();
    for code in codes {
        let code = Bytes::copy_from_slice(code);
        if let Err(e) = fresh.create(&code, false, 0) {
            return Err(format!("Failed loading library, {e}"));
        }
    }
    st.scripting.functions = fresh;
    Ok(())
}

/// Moves the libraries of a state loaded aside (a replica's full sync) into `into`.
pub fn adopt_loaded(into: &mut crate::state::State, from: &mut crate::state::State) {
    into.scripting.functions = std::mem::take(&mut from.scripting.functions);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Bytes {
        Bytes::from(s.to_string())
    }

    #[test]
    fn metadata_errors() {
        assert_eq!(
            lib_metadata(b"return 1").err().unwrap(),
            "Missing library metadata"
        );
        assert_eq!(
            lib_metadata(b"#!lua").err().unwrap(),
            "Invalid library metadata"
        );
        assert_eq!(
            lib_metadata(b"#!lua foo=bar\n").err().unwrap(),
            "Invalid metadata value given: foo=bar"
        );
        assert_eq!(
            lib_metadata(b"#!lua\n").err().unwrap(),
            "Library name was not given"
        );
        let md = lib_metadata(b"#!lua name=lib\nx").unwrap();
        assert_eq!(
            (md.engine.as_str(), md.name.as_str(), md.code_start),
            ("lua", "lib", 14)
        );
    }

    #[test]
    fn load_register_and_delete() {
        let mut f = Functions::default();
        let lib = "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return 1 end)\nredis.register_function{function_name='f2', callback=function() end, flags={'no-writes'}, description='d'}";
        assert_eq!(f.create(&code(lib), false, 500).unwrap(), "mylib");
        assert_eq!(f.functions_count(), 2);
        assert_eq!(f.flags_of(b"F2"), Some(sflag::NO_WRITES));
        assert_eq!(
            f.create(&code(lib), false, 500).unwrap_err(),
            "Library 'mylib' already exists"
        );
        assert_eq!(f.create(&code(lib), true, 500).unwrap(), "mylib");
        let clash = "#!lua name=other\nredis.register_function('f1', function() end)";
        assert_eq!(
            f.create(&code(clash), false, 500).unwrap_err(),
            "Function f1 already exists"
        );
        let none = "#!lua name=none\nlocal x = 1";
        assert_eq!(
            f.create(&code(none), false, 500).unwrap_err(),
            "No functions registered"
        );
        let bad = "#!lua name=bad\nredis.call('ping')";
        assert_eq!(
            f.create(&code(bad), false, 500).unwrap_err(),
            "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"
        );
        let syntax = "#!lua name=bad\nfunction(";
        assert!(f
            .create(&code(syntax), false, 500)
            .unwrap_err()
            .starts_with("Error compiling function: user_function:2:"));
    }

    #[test]
    fn load_timeout() {
        let mut f = Functions::default();
        let lib = "#!lua name=slow\nwhile true do end";
        assert_eq!(
            f.create(&code(lib), false, 50).unwrap_err(),
            "Error registering functions: ERR FUNCTION LOAD timeout"
        );
    }

    #[test]
    fn dump_roundtrip() {
        let codes = vec![code(
            "#!lua name=a\nredis.register_function('a', function() return 1 end)",
        )];
        let p = dump_payload(&codes, true);
        assert_eq!(p[0], 0xF5);
        assert_eq!(parse_payload(&p, false).unwrap(), codes);
        let mut bad = p.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(parse_payload(&bad, false).is_err());
    }
}

//! Scripting, as Redis 7.0 does it: EVAL/EVALSHA and SCRIPT (Lua 5.1 scripts cached by
//! SHA1), FUNCTION and FCALL (named functions in libraries that persist and replicate).
//!
//! A script runs while its command holds the state lock, so it is atomic like any command.
//! Every `redis.call` goes through [`crate::dispatch::execute`] while the script's own
//! command is still executing, so its effects propagate as one MULTI/EXEC unit. Other clients
//! learn that a script runs past `busy-reply-threshold` through [`Watch`], which lives beside
//! the lock: they get `-BUSY`, and SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE set flags the
//! Lua hook of the running script observes.

mod api;
mod convert;
mod engine;
pub mod eval;
pub mod function;
mod lib_bit;
mod lib_cjson;
mod lib_cmsgpack;
mod lib_struct;

use crate::client::Session;
use crate::commands::{self, flag, Command, Handler};
use crate::state::{Shared, State};
use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use engine::LUA_HEAP_LIMIT;

/// The client id of the script's own (never registered) client.
pub const CLIENT_ID: u64 = u64::MAX - 1;

/// Script flags (`#!lua flags=...`, `redis.register_function{flags=...}`).
pub(crate) mod sflag {
    /// `no-writes`.
    pub const NO_WRITES: u32 = 1;
    /// `allow-oom`.
    pub const ALLOW_OOM: u32 = 2;
    /// `allow-stale`.
    pub const ALLOW_STALE: u32 = 4;
    /// `no-cluster`.
    pub const NO_CLUSTER: u32 = 8;
    /// No shebang: Redis 6 compatible EVAL.
    pub const EVAL_COMPAT: u32 = 16;
    /// Names in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (NO_WRITES, "no-writes"),
        (ALLOW_OOM, "allow-oom"),
        (ALLOW_STALE, "allow-stale"),
        (NO_CLUSTER, "no-cluster"),
    ];
}

/// Flags of one run.
pub(crate) mod rflag {
    /// Writes are refused.
    pub const READ_ONLY: u32 = 1;
    /// Commands may run past maxmemory.
    pub const ALLOW_OOM: u32 = 2;
    /// EVAL (as opposed to FCALL).
    pub const EVAL_MODE: u32 = 4;
    /// A write command ran.
    pub const WRITE_DIRTY: u32 = 8;
}

/// What other connections can see of the running script without the state lock.
#[derive(Default)]
pub struct Watch {
    /// A script runs (its command holds the lock).
    running: AtomicBool,
    /// It has run past `busy-reply-threshold`: others get -BUSY.
    busy: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE asked it to stop.
    kill: AtomicBool,
    /// SHUTDOWN NOSAVE was asked while it ran.
    shutdown: AtomicBool,
    /// It already wrote (then only SHUTDOWN NOSAVE stops it).
    wrote: AtomicBool,
    /// It is an EVAL (else a function).
    eval_mode: AtomicBool,
    /// It was sent by our primary.
    from_master: AtomicBool,
    /// Clients must authenticate (requirepass), for connections that arrive meanwhile.
    auth_required: AtomicBool,
    /// When it started (unix ms).
    started_ms: AtomicI64,
    /// Name and command, for FUNCTION STATS.
    running_info: Mutex<(String, Vec<Bytes>)>,
    /// Libraries and functions when it started, for FUNCTION STATS.
    function_counts: Mutex<Option<(usize, usize)>>,
}

impl Watch {
    /// True while a script runs past the busy threshold.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }
}

/// A cached EVAL script.
pub(crate) struct Script {
    /// Its shebang flags ([`sflag`]).
    pub flags: u32,
    /// Registry reference of its compiled function.
    pub fref: std::ffi::c_int,
}

/// Everything scripting keeps in the server state.
pub struct Scripting {
    /// The EVAL interpreter (taken out while a script runs; created on first use).
    pub(crate) eval: Option<Box<engine::Engine>>,
    /// SHA1 (lower-case hex) -> script.
    pub(crate) scripts: std::collections::HashMap<[u8; 40], Script, ahash::RandomState>,
    /// Body -> SHA1 of the cached scripts.
    pub(crate) sha_by_body: std::collections::HashMap<Bytes, [u8; 40], ahash::RandomState>,
    /// FUNCTION libraries and their interpreter.
    pub(crate) functions: function::Functions,
    /// The script client's session (taken out while a script runs).
    pub(crate) client: Option<Box<Session>>,
    /// `redisLrand48`'s state, shared by EVAL and functions.
    pub(crate) rand: u64,
    /// Seen by other connections without the lock.
    pub watch: Arc<Watch>,
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting {
            eval: None,
            scripts: Default::default(),
            sha_by_body: Default::default(),
            functions: function::Functions::default(),
            client: None,
            rand: api::RAND48_INIT,
            watch: Arc::new(Watch::default()),
        }
    }
}

impl Scripting {
    /// Number of cached scripts (`number_of_cached_scripts`).
    pub fn cached_scripts(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes used by the EVAL interpreter (`used_memory_lua`).
    pub fn eval_memory(&self) -> usize {
        self.eval.as_ref().map_or(0, |e| e.memory())
    }

    /// Bytes used by the functions interpreter (`used_memory_vm_functions`).
    pub fn functions_memory(&self) -> usize {
        self.functions.memory()
    }

    /// (libraries, functions) loaded.
    pub fn function_counts(&self) -> (usize, usize) {
        self.functions.counts()
    }

    /// The source of every function library, for RDB snapshots and AOF rewrites.
    pub fn library_codes(&self) -> Vec<Bytes> {
        self.functions.codes()
    }
}

/// The context of one script run, reached by the Lua C functions through the engine.
pub(crate) struct RunCtx {
    /// The server state (its lock is held by the caller for the whole run).
    pub st: *mut State,
    /// The script client's session.
    pub sess: *mut Session,
    /// The caller is our primary (its scripts are never refused).
    pub from_master: bool,
    /// The time the script runs at (keys expire relative to it).
    pub now_ms: i64,
    /// [`rflag`] bits.
    pub flags: u32,
    /// The script's protocol for command replies (redis.setresp).
    pub resp: u8,
    /// Where its commands propagate (redis.set_repl).
    pub repl: u8,
    /// The SHA1 or function name (error messages).
    pub name: String,
    /// `redisLrand48` state during the run.
    pub rand: u64,
    /// The OOM state when it started (Redis's `script_oom`).
    pub oom: bool,
    /// When it started.
    pub start: Instant,
    /// `busy-reply-threshold` in ms (0: never busy).
    pub threshold_ms: i64,
    /// It ran past the threshold.
    pub timedout: bool,
    /// It was killed.
    pub killed: bool,
    /// Shared with other connections.
    pub watch: Arc<Watch>,
    /// Scratch: the arguments of the command being called.
    pub argv: Vec<Bytes>,
    /// Scratch: its reply.
    pub out: resp::Out,
    /// Scratch: the error of a refused call.
    pub err: String,
    /// The command that runs the script (FUNCTION STATS while busy).
    pub caller_argv: *const [Bytes],
    /// (libraries, functions) when it started (FUNCTION STATS while busy).
    pub function_counts: (usize, usize),
}

/// Lower-case hex SHA1 of `data`.
pub(crate) fn sha1_hex(data: &[u8]) -> [u8; 40] {
    let digest = sha1_smol::Sha1::from(data).digest().bytes();
    let mut out = [0u8; 40];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// The command a script asked for (container subcommands resolved), as `lookupCommand`.
pub(crate) fn lookup_for_script(
    argv: &[Bytes],
) -> Option<(Option<&'static Command>, &'static Command)> {
    let cmd = commands::lookup(&argv[0])?;
    match cmd.handler {
        Handler::Container | Handler::ContainerOr(_) if argv.len() >= 2 => {
            match commands::lookup_sub(cmd, &argv[1]) {
                Some(sub) => Some((Some(cmd), sub)),
                None => None,
            }
        }
        _ => Some((None, cmd)),
    }
}

/// Runs `argv` for the script (`scriptCall`): Redis's checks, then the command through the
/// normal execution path, its reply left in `ctx.out`. `Err` is a refusal before execution.
pub(crate) fn script_call(ctx: &mut RunCtx, argv: &[Bytes]) -> Result<(), String> {
    // SAFETY: the caller holds the state lock for the whole run; the engine and the script
    // session are out of the state meanwhile, so these are the only references.
    let st = unsafe { &mut *ctx.st };
    let sess = unsafe { &mut *ctx.sess };
    let Some((parent, cmd)) = lookup_for_script(argv) else {
        return Err("Unknown Redis command called from script".into());
    };
    if !cmd.arity_ok(argv.len()) {
        return Err("Wrong number of args calling Redis command from script".into());
    }
    if cmd.has(flag::NOSCRIPT) {
        return Err("This Redis command is not allowed from script".into());
    }
    if let Some(msg) = crate::repl::deny(st, ctx.from_master, false, cmd.has(flag::STALE)) {
        if msg.starts_with("MASTERDOWN") {
            return Err("Can not execute the command on a stale replica".into());
        }
    }
    let is_write = cmd.has(flag::WRITE);
    if ctx.flags & rflag::READ_ONLY != 0 && (is_write || cmd.has(flag::MAY_REPLICATE)) {
        return Err("Write commands are not allowed from read-only scripts.".into());
    }
    if is_write {
        if let Some(msg) = crate::repl::deny(st, ctx.from_master, true, true) {
            if msg.starts_with("READONLY") {
                return Err(format!("-{msg}"));
            }
        }
        if let Some(msg) = crate::persist::disk_error(st) {
            return Err(format!("-{msg}"));
        }
    }
    if ctx.flags & rflag::ALLOW_OOM == 0
        && st.cfg.maxmemory > 0
        && !ctx.from_master
        && !st.repl.is_replica()
        && ctx.flags & rflag::WRITE_DIRTY == 0
        && ctx.oom
        && cmd.has(flag::DENYOOM)
    {
        return Err("-OOM command not allowed when used memory > 'maxmemory'.".into());
    }
    if is_write {
        ctx.flags |= rflag::WRITE_DIRTY;
        ctx.watch.wrote.store(true, Ordering::Release);
    }
    if (cmd.name == "xread" || cmd.name == "xreadgroup") && has_block_option(argv) {
        return Err(format!(
            "{} command is not allowed with BLOCK option from scripts",
            cmd.name
        ));
    }
    ctx.out.buf.clear();
    ctx.out.proto = if ctx.resp == 3 {
        resp::Protocol::Resp3
    } else {
        resp::Protocol::Resp2
    };
    let before = st.prop.pending.len();
    crate::dispatch::execute(st, sess, &mut ctx.out, parent, cmd, argv, ctx.now_ms);
    let all = api::REPL_AOF | api::REPL_REPLICA;
    if ctx.repl != all && st.prop.pending.len() > before {
        if ctx.repl == 0 {
            st.prop.pending.truncate(before);
        } else {
            for i in before..st.prop.pending.len() {
                st.prop.only.push((i, ctx.repl));
            }
        }
    }
    Ok(())
}

/// True if XREAD/XREADGROUP's options before STREAMS include BLOCK.
fn has_block_option(argv: &[Bytes]) -> bool {
    for a in &argv[1..] {
        if a.eq_ignore_ascii_case(b"streams") {
            return false;
        }
        if a.eq_ignore_ascii_case(b"block") {
            return true;
        }
    }
    false
}

/// Called by the Lua hook: detects the busy threshold; true when the script must stop.
pub(crate) fn interrupt(ctx: &mut RunCtx) -> bool {
    if !ctx.timedout {
        let elapsed = ctx.start.elapsed().as_millis() as i64;
        if elapsed < ctx.threshold_ms {
            return false;
        }
        crate::warning!(
            "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command.",
            elapsed,
            if ctx.flags & rflag::EVAL_MODE != 0 {
                "SCRIPT KILL"
            } else {
                "FUNCTION KILL"
            }
        );
        ctx.timedout = true;
        // What FUNCTION STATS shows while the script keeps the lock.
        // SAFETY: the caller's arguments outlive the run.
        let argv = unsafe { &*ctx.caller_argv }.to_vec();
        *ctx.watch.running_info.lock() = (ctx.name.clone(), argv);
        *ctx.watch.function_counts.lock() = Some(ctx.function_counts);
        ctx.watch
            .started_ms
            .store(crate::clock::unix_ms() - elapsed, Ordering::Relaxed);
        ctx.watch.busy.store(true, Ordering::Release);
    }
    release_worker();
    if ctx.watch.kill.load(Ordering::Acquire) {
        ctx.killed = true;
        return true;
    }
    false
}

/// Hands this runtime worker's duties to another thread while the script keeps this one
/// (tokio's block_in_place), so connections are still served: Redis processes events from
/// inside a busy script for the same reason. Once handed off, further calls return at once.
fn release_worker() {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let multi =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if multi {
        let _ = std::panic::catch_unwind(|| {
            tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(1)))
        });
    }
}

/// `scriptPrepareForRun`'s refusals for a script with `flags` run by `sess` (`ro`: the
/// *_RO variant).
pub(crate) fn prepare_for_run(
    st: &State,
    sess: &Session,
    flags: u32,
    ro: bool,
) -> Result<(), String> {
    let repl = &st.repl;
    let running_stale = repl.is_replica() && !repl.link_up() && !st.cfg.replica_serve_stale_data;
    if flags & sflag::EVAL_COMPAT != 0 {
        if running_stale {
            return Err(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                    .into(),
            );
        }
        return Ok(());
    }
    if flags & sflag::ALLOW_OOM == 0 && st.cfg.maxmemory > 0 && is_oom(st) {
        return Err("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'".into());
    }
    if running_stale && flags & sflag::ALLOW_STALE == 0 {
        return Err("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.".into());
    }
    if flags & sflag::NO_WRITES == 0 {
        if repl.is_replica() && st.cfg.replica_read_only && !sess.from_master {
            return Err("ERR Can not run script with write flag on readonly replica".into());
        }
        if !repl.is_replica() {
            if let Some(msg) = crate::persist::disk_error(st) {
                if msg.starts_with("MISCONF Redis is configured to save RDB") {
                    return Err("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.".into());
                }
                return Err(msg);
            }
        }
        if ro {
            return Err("ERR Can not execute a script with write flag using *_ro command.".into());
        }
    }
    Ok(())
}

/// Used memory is above maxmemory (the sample the OOM check of commands uses).
fn is_oom(st: &State) -> bool {
    st.cfg.maxmemory > 0 && st.info.used_memory_sample > st.cfg.maxmemory
}

/// The flags processCommand checks for EVAL/FCALL: those of a script with a shebang (or a
/// function) replace the command's write/denyoom/stale flags, as Redis's
/// `scriptFlagsToCmdFlags`.
pub fn command_flags(st: &State, cmd: &Command, argv: &[Bytes]) -> u32 {
    // The flags only matter to the OOM, MISCONF, READONLY/MASTERDOWN and NOREPLICAS checks.
    let matters = st.cfg.maxmemory > 0
        || st.repl.is_replica()
        || st.cfg.min_replicas_to_write > 0
        || crate::persist::disk_error(st).is_some();
    if !matters {
        return cmd.flags;
    }
    let script_flags = if cmd.name.starts_with("eval") {
        match argv.get(1) {
            Some(a) if cmd.name.starts_with("evalsha") => {
                if a.len() != 40 {
                    return cmd.flags;
                }
                let mut sha = [0u8; 40];
                for (i, b) in a.iter().enumerate() {
                    sha[i] = b.to_ascii_lowercase();
                }
                st.scripting.scripts.get(&sha).map(|s| s.flags)
            }
            Some(body) => {
                let sha = sha1_hex(body);
                match st.scripting.scripts.get(&sha) {
                    Some(s) => Some(s.flags),
                    None => eval::shebang_flags(body).ok(),
                }
            }
            None => None,
        }
    } else {
        argv.get(1)
            .and_then(|name| st.scripting.functions.flags_of(name))
    };
    let Some(sf) = script_flags else {
        return cmd.flags;
    };
    if sf & sflag::EVAL_COMPAT != 0 {
        return cmd.flags;
    }
    let mut f = cmd.flags & !(flag::STALE | flag::DENYOOM | flag::WRITE);
    if sf & (sflag::ALLOW_OOM | sflag::NO_WRITES) == 0 {
        f |= flag::DENYOOM;
    }
    if sf & sflag::NO_WRITES == 0 {
        f |= flag::WRITE;
    }
    if sf & sflag::ALLOW_STALE != 0 {
        f |= flag::STALE;
    }
    f & !flag::MAY_REPLICATE
}

/// Runs a script body prepared by EVAL or FCALL: takes the engine and the script client out
/// of the state, publishes the run in the [`Watch`], calls, and puts everything back.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    ex: &mut crate::dispatch::Exec,
    eng: &mut engine::Engine,
    fref: std::ffi::c_int,
    name: String,
    script_flags: u32,
    ro: bool,
    eval_mode: bool,
    numkeys: usize,
) {
    let st: &mut State = ex.st;
    let mut client = st.scripting.client.take().unwrap_or_else(|| {
        let mut s = Session::new(
            CLIENT_ID,
            true,
            Arc::new(crate::client::ClientHandle::default()),
        );
        s.in_exec = true;
        Box::new(s)
    });
    client.db = ex.sess.db;
    client.from_master = ex.sess.from_master;
    let watch = st.scripting.watch.clone();
    let mut flags = 0;
    if eval_mode {
        flags |= rflag::EVAL_MODE;
    }
    let compat = script_flags & sflag::EVAL_COMPAT != 0;
    if ro || (!compat && script_flags & sflag::NO_WRITES != 0) {
        flags |= rflag::READ_ONLY;
    }
    if !compat && script_flags & sflag::ALLOW_OOM != 0 {
        flags |= rflag::ALLOW_OOM;
    }
    let threshold_ms = st.cfg.busy_reply_threshold as i64;
    let mut ctx = RunCtx {
        st: std::ptr::null_mut(),
        sess: &mut *client as *mut Session,
        from_master: ex.sess.from_master,
        now_ms: ex.now_ms,
        flags,
        resp: 2,
        repl: api::REPL_AOF | api::REPL_REPLICA,
        name,
        rand: st.scripting.rand,
        oom: is_oom(st),
        start: Instant::now(),
        threshold_ms,
        timedout: false,
        killed: false,
        watch: watch.clone(),
        argv: Vec::new(),
        out: resp::Out::default(),
        err: String::new(),
        caller_argv: ex.argv as *const [Bytes],
        function_counts: st.scripting.functions.counts(),
    };
    watch.eval_mode.store(eval_mode, Ordering::Relaxed);
    watch
        .from_master
        .store(ex.sess.from_master, Ordering::Relaxed);
    watch
        .auth_required
        .store(st.cfg.requirepass.is_some(), Ordering::Relaxed);
    watch.wrote.store(false, Ordering::Relaxed);
    watch.kill.store(false, Ordering::Relaxed);
    watch.shutdown.store(false, Ordering::Relaxed);
    watch.running.store(true, Ordering::Release);
    let keys = &ex.argv[3..3 + numkeys];
    let args = &ex.argv[3 + numkeys..];
    let reply_start = ex.out.len();
    ctx.st = st;
    engine::call(eng, &mut ctx, fref, keys, args, ex.out);
    // The state is ours again.
    let st: &mut State = ex.st;
    watch.running.store(false, Ordering::Release);
    watch.busy.store(false, Ordering::Release);
    watch.kill.store(false, Ordering::Release);
    st.scripting.rand = ctx.rand;
    st.scripting.client = Some(client);
    if watch.shutdown.swap(false, Ordering::AcqRel) {
        // SHUTDOWN NOSAVE arrived while the script ran: exit without saving, as Redis does.
        crate::warning!("User requested shutdown...");
        ex.out.truncate(reply_start);
        crate::persist::prepare_for_shutdown(st, crate::config::shutdown::NOSAVE);
        st.shutdown_requested = true;
        ex.sess.close_after_reply = true;
    }
}

// ---------------------------------------------------------------------------------------------
// Other connections while a script is busy.
// ---------------------------------------------------------------------------------------------

/// Locks the state, unless a script holds it past the busy threshold (then None): waits in
/// short slices so the thread never sleeps behind a script that will not end by itself.
pub fn lock_unless_busy(shared: &Shared) -> Option<parking_lot::MutexGuard<'_, State>> {
    loop {
        if let Some(g) = shared.state.try_lock_for(Duration::from_millis(10)) {
            return Some(g);
        }
        if shared.script_watch.busy() {
            return None;
        }
    }
}

/// Waits (asynchronously) until no script is busy and the state is free, so a following
/// `state.lock()` does not park a runtime thread behind a long script.
pub async fn wait_not_busy(shared: &Shared) {
    loop {
        if !shared.script_watch.busy() {
            if let Some(g) = shared.state.try_lock_for(Duration::from_millis(10)) {
                drop(g);
                return;
            }
            if !shared.script_watch.busy() {
                continue;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A new connection while a script is busy: its requests get what [`serve_busy`] answers
/// until the script ends (or one must wait for it); returns the bytes not consumed, or None
/// when the connection is done.
pub async fn busy_gate<S>(shared: &Shared, stream: &mut S) -> Option<bytes::BytesMut>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = bytes::BytesMut::new();
    let limits = resp::Limits {
        max_bulk_len: 512 << 20,
        authenticated: true,
    };
    let authenticated = !shared.script_watch.auth_required.load(Ordering::Relaxed);
    let mut sess = Session::new(
        0,
        authenticated,
        Arc::new(crate::client::ClientHandle::default()),
    );
    let mut out = resp::Out::default();
    loop {
        if !shared.script_watch.busy() {
            wait_not_busy(shared).await;
            if !shared.script_watch.busy() {
                return Some(buf);
            }
        }
        let before = buf.clone();
        let mut parser = resp::RequestParser::new();
        match parser.next(&mut buf, &limits) {
            Ok(Some(req)) => {
                let mut pending = std::collections::VecDeque::from([req.args]);
                let close = serve_busy(shared, &mut sess, &mut pending, &mut out);
                if !out.is_empty() {
                    if stream.write_all(&out.buf).await.is_err() {
                        return None;
                    }
                    out.buf.clear();
                }
                if close {
                    return None;
                }
                if !pending.is_empty() {
                    // It waits for the script: keep its bytes for the connection.
                    buf = before;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            Ok(None) => {
                buf = before;
                buf.reserve(16 * 1024);
                tokio::select! {
                    r = stream.read_buf(&mut buf) => {
                        if !matches!(r, Ok(n) if n > 0) {
                            return None;
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                }
            }
            Err(_) => {
                buf = before;
                wait_not_busy(shared).await;
                return Some(buf);
            }
        }
    }
}

/// What a connection does with its pending requests while a script is busy (the lock is not
/// held): -BUSY for most, SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE acted on at once.
/// Requests that must wait for the script (other allowed commands) stay queued. Returns true
/// when the connection should close.
pub fn serve_busy(
    shared: &Shared,
    sess: &mut Session,
    pending: &mut std::collections::VecDeque<Vec<Bytes>>,
    out: &mut resp::Out,
) -> bool {
    let w = &shared.script_watch;
    while let Some(argv) = pending.front() {
        let Some(cmd) = commands::lookup(&argv[0]) else {
            let msg = crate::dispatch::unknown_command_error(argv);
            out.error(&msg);
            pending.pop_front();
            continue;
        };
        let sub = if argv.len() >= 2 {
            commands::lookup_sub(cmd, &argv[1])
        } else {
            None
        };
        let eff = sub.unwrap_or(cmd);
        if !sess.authenticated && !eff.has(flag::NO_AUTH) {
            out.error("NOAUTH Authentication required.");
            pending.pop_front();
            continue;
        }
        if !eff.has(flag::ALLOW_BUSY) {
            out.error(busy_error(w));
            pending.pop_front();
            continue;
        }
        let name = eff.name;
        let parent = sub.map(|_| cmd.name);
        match (parent, name) {
            (Some("script"), "kill") | (Some("function"), "kill") => {
                let is_eval = parent == Some("script");
                match kill(w, is_eval) {
                    Ok(()) => out.ok(),
                    Err(e) => out.error(e),
                }
                pending.pop_front();
            }
            (None, "shutdown") => {
                let nosave = argv[1..].iter().any(|a| a.eq_ignore_ascii_case(b"nosave"));
                let save = argv[1..].iter().any(|a| a.eq_ignore_ascii_case(b"save"));
                if nosave && !save {
                    w.shutdown.store(true, Ordering::Release);
                    w.kill.store(true, Ordering::Release);
                    pending.clear();
                    return true;
                }
                out.error(busy_error(w));
                pending.pop_front();
            }
            (Some("function"), "stats") => {
                if w.eval_mode.load(Ordering::Relaxed) {
                    out.error(busy_error(w));
                } else {
                    function::stats_while_busy(w, out);
                }
                pending.pop_front();
            }
            // Allowed, but needs the state: it runs once the script ends.
            _ => break,
        }
    }
    false
}

/// The -BUSY error for the running script's kind.
fn busy_error(w: &Watch) -> &'static str {
    if w.eval_mode.load(Ordering::Relaxed) {
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    } else {
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    }
}

/// `scriptKill` for a busy script.
fn kill(w: &Watch, is_eval: bool) -> Result<(), &'static str> {
    if w.from_master.load(Ordering::Relaxed) {
        return Err("UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.");
    }
    if w.wrote.load(Ordering::Acquire) {
        return Err("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
    }
    let eval_mode = w.eval_mode.load(Ordering::Relaxed);
    if is_eval && !eval_mode {
        return Err(busy_error_for(false));
    }
    if !is_eval && eval_mode {
        return Err(busy_error_for(true));
    }
    w.kill.store(true, Ordering::Release);
    Ok(())
}

fn busy_error_for(eval_mode: bool) -> &'static str {
    if eval_mode {
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    } else {
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    }
}

/// SCRIPT KILL / FUNCTION KILL when they get the lock: no script runs then.
pub(crate) fn kill_not_busy(ex: &mut crate::dispatch::Exec) {
    ex.out.error("NOTBUSY No scripts in execution right now.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_empty() {
        assert_eq!(&sha1_hex(b""), b"da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn block_option() {
        let v = |a: &[&str]| {
            a.iter()
                .map(|s| Bytes::from(s.to_string()))
                .collect::<Vec<_>>()
        };
        assert!(has_block_option(&v(&[
            "xread", "BLOCK", "0", "STREAMS", "s", "$"
        ])));
        assert!(!has_block_option(&v(&["xread", "STREAMS", "block", "$"])));
    }
}

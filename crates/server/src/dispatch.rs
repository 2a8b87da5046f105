//! From a parsed request to its reply: the checks in Redis's order, MULTI queueing,
//! execution under the state lock, and what every command leaves behind
//! (statistics, keyspace events, broken WATCHes, MONITOR, SLOWLOG).

use crate::client::{ReplyMode, Session};
use crate::commands::{self, flag, static_name, Command, Handler};
use crate::pubsub::publish_notifications;
use crate::slowlog::SlowEntry;
use crate::state::State;
use bytes::Bytes;
use resp::Out;

/// What a server-level command can see and change.
pub struct Exec<'a> {
    /// The whole server state (the lock is held).
    pub st: &'a mut State,
    /// The calling client's session.
    pub sess: &'a mut Session,
    /// Where the reply goes.
    pub out: &'a mut Out,
    /// The arguments, name first.
    pub argv: &'a [Bytes],
    /// The current time (unix ms).
    pub now_ms: i64,
}

impl Exec<'_> {
    /// Argument `i`.
    pub fn arg(&self, i: usize) -> &[u8] {
        &self.argv[i]
    }
}

/// What the connection does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next request.
    Continue,
    /// Write the replies so far and close.
    Close,
    /// CLIENT PAUSE holds this request: retry it once the pause ends.
    Paused,
    /// The command blocked the client (BLPOP, ...): wait until served or timed out.
    Blocked,
}

/// Builds Redis's unknown-command error text.
pub fn unknown_command_error(argv: &[Bytes]) -> String {
    let name = String::from_utf8_lossy(&argv[0][..argv[0].len().min(128)]).into_owned();
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let s = String::from_utf8_lossy(&a[..a.len().min(room)]);
        args.push('\'');
        args.push_str(&s);
        args.push_str("' ");
    }
    format!("ERR unknown command '{name}', with args beginning with: {args}")
}

fn reject(
    st: &mut State,
    sess: &mut Session,
    out: &mut Out,
    stats_name: Option<&'static str>,
    msg: &str,
) {
    if sess.multi.is_some() {
        sess.multi_error = true;
    }
    if let Some(n) = stats_name {
        st.stats.commands.entry(n).or_default().rejected_calls += 1;
    }
    count_error(st, msg);
    if stats_name == Some("exec") && sess.multi.is_some() {
        // A refused EXEC discards the transaction, as Redis's `execCommandAbort`.
        crate::cmd::multi::discard_transaction(st, sess);
        crate::cmd::multi::unwatch_all(st, sess);
        out.error(&format!(
            "EXECABORT Transaction discarded because of: {msg}"
        ));
        return;
    }
    out.error(msg);
}

fn count_error(st: &mut State, msg: &str) {
    let code = msg.split(' ').next().unwrap_or("ERR").to_string();
    *st.stats.error_codes.entry(code).or_default() += 1;
    st.stats.total_error_replies += 1;
}

const SUBSCRIBE_CONTEXT_OK: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// Resolves `argv` to a command (and its container), or replies with the lookup/arity error.
pub fn resolve(
    st: &mut State,
    sess: &mut Session,
    out: &mut Out,
    argv: &[Bytes],
) -> Option<(Option<&'static Command>, &'static Command)> {
    let Some(cmd) = commands::lookup(&argv[0]) else {
        reject(st, sess, out, None, &unknown_command_error(argv));
        return None;
    };
    if let Handler::Container | Handler::ContainerOr(_) = cmd.handler {
        if argv.len() < 2 {
            if let Handler::ContainerOr(_) = cmd.handler {
                return Some((None, cmd));
            }
            reject(
                st,
                sess,
                out,
                Some(cmd.name),
                &format!("ERR wrong number of arguments for '{}' command", cmd.name),
            );
            return None;
        }
        let Some(sub) = commands::lookup_sub(cmd, &argv[1]) else {
            let msg = format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                String::from_utf8_lossy(&argv[1][..argv[1].len().min(128)]),
                cmd.name.to_ascii_uppercase()
            );
            reject(st, sess, out, None, &msg);
            return None;
        };
        if !sub.arity_ok(argv.len()) {
            let name = static_name(Some(cmd), sub);
            reject(
                st,
                sess,
                out,
                Some(name),
                &format!("ERR wrong number of arguments for '{name}' command"),
            );
            return None;
        }
        return Some((Some(cmd), sub));
    }
    if !cmd.arity_ok(argv.len()) {
        reject(
            st,
            sess,
            out,
            Some(cmd.name),
            &format!("ERR wrong number of arguments for '{}' command", cmd.name),
        );
        return None;
    }
    Some((None, cmd))
}

/// Handles one request: checks, MULTI queueing, execution.
pub fn dispatch(
    st: &mut State,
    sess: &mut Session,
    out: &mut Out,
    argv: &[Bytes],
    now_ms: i64,
) -> Flow {
    let first = &argv[0];
    if first.eq_ignore_ascii_case(b"post") || first.eq_ignore_ascii_case(b"host:") {
        crate::warning!(
            "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted."
        );
        return Flow::Close;
    }
    let reply_start = out.len();
    let flow = dispatch_checked(st, sess, out, argv, now_ms);
    match sess.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off => out.truncate(reply_start),
        ReplyMode::SkipThis => {
            out.truncate(reply_start);
            sess.reply_mode = ReplyMode::On;
        }
        ReplyMode::Skip => sess.reply_mode = ReplyMode::SkipThis,
    }
    flow
}

fn dispatch_checked(
    st: &mut State,
    sess: &mut Session,
    out: &mut Out,
    argv: &[Bytes],
    now_ms: i64,
) -> Flow {
    let Some((parent, cmd)) = resolve(st, sess, out, argv) else {
        return Flow::Continue;
    };
    let name = static_name(parent, cmd);
    // EVAL/FCALL of a script with declared flags: those decide write/denyoom/stale.
    let flags = if cmd.has(flag::SCRIPT) {
        crate::script::command_flags(st, cmd, argv)
    } else {
        cmd.flags
    };
    if !sess.authenticated && !cmd.has(flag::NO_AUTH) && !sess.from_master {
        reject(st, sess, out, Some(name), "NOAUTH Authentication required.");
        return Flow::Continue;
    }
    if sess.multi.is_some() && cmd.has(flag::NO_MULTI) {
        reject(
            st,
            sess,
            out,
            Some(name),
            "ERR Command not allowed inside a transaction",
        );
        return Flow::Continue;
    }
    let maxmemory = st.cfg.maxmemory;
    // Our primary's stream is applied whatever our own limits (replica-ignore-maxmemory, and
    // a replica never refuses its primary's writes over a disk error).
    if maxmemory > 0
        && !sess.from_master
        && flags & flag::DENYOOM != 0
        && st.info.used_memory_sample > maxmemory
    {
        reject(
            st,
            sess,
            out,
            Some(name),
            "OOM command not allowed when used memory > 'maxmemory'.",
        );
        return Flow::Continue;
    }
    if !sess.from_master
        && (flags & flag::WRITE != 0
            || cmd.name == "ping"
            || (cmd.name == "exec" && queued_write(sess)))
    {
        if let Some(msg) = crate::persist::disk_error(st) {
            reject(st, sess, out, Some(name), &msg);
            return Flow::Continue;
        }
    }
    let is_write = flags & flag::WRITE != 0 || (cmd.name == "exec" && queued_write(sess));
    if let Some(msg) = crate::repl::deny(st, sess.from_master, is_write, flags & flag::STALE != 0) {
        reject(st, sess, out, Some(name), msg);
        return Flow::Continue;
    }
    if st.loading.is_some() && !cmd.has(flag::LOADING) {
        reject(
            st,
            sess,
            out,
            Some(name),
            "LOADING Redis is loading the dataset in memory",
        );
        return Flow::Continue;
    }
    if sess.subscription_count() > 0
        && !out.resp3()
        && parent.is_none()
        && !SUBSCRIBE_CONTEXT_OK.contains(&cmd.name)
    {
        let msg = format!(
            "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
        reject(st, sess, out, Some(name), &msg);
        return Flow::Continue;
    }
    if sess.subscription_count() > 0 && !out.resp3() && parent.is_some() {
        let msg = format!(
            "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
        reject(st, sess, out, Some(name), &msg);
        return Flow::Continue;
    }
    if sess.multi.is_some()
        && !matches!(
            cmd.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if let Some(q) = sess.multi.as_mut() {
            q.push(argv.to_vec());
        }
        out.raw(b"+QUEUED\r\n");
        return Flow::Continue;
    }
    if !sess.from_master && paused_for(st, cmd, argv, now_ms) {
        return Flow::Paused;
    }
    execute(st, sess, out, parent, cmd, argv, now_ms)
}

/// Whether the transaction queued by MULTI holds a write command.
fn queued_write(sess: &Session) -> bool {
    sess.multi.as_ref().is_some_and(|q| {
        q.iter().any(|argv| {
            commands::lookup(&argv[0]).is_some_and(|c| {
                c.has(flag::WRITE)
                    || argv.len() > 1
                        && commands::lookup_sub(c, &argv[1]).is_some_and(|s| s.has(flag::WRITE))
            })
        })
    })
}

fn paused_for(st: &mut State, cmd: &Command, argv: &[Bytes], now_ms: i64) -> bool {
    let Some(p) = st.pause else { return false };
    if p.until_ms <= now_ms {
        st.pause = None;
        return false;
    }
    if p.all {
        return true;
    }
    // WRITE pauses writes, may-replicate commands, and EXEC of a transaction (checked by EXEC itself).
    let _ = argv;
    cmd.has(flag::WRITE) || cmd.has(flag::MAY_REPLICATE)
}

/// Runs a resolved command and does the bookkeeping every command needs.
pub fn execute(
    st: &mut State,
    sess: &mut Session,
    out: &mut Out,
    parent: Option<&'static Command>,
    cmd: &'static Command,
    argv: &[Bytes],
    now_ms: i64,
) -> Flow {
    let start = std::time::Instant::now();
    let reply_start = out.len();
    let dirty_before = st.ks.dirty;
    st.ks.now_ms = now_ms;
    st.prop.depth += 1;
    let mut flow = Flow::Continue;
    match cmd.handler {
        Handler::Data(f) => {
            let mut ctx = store::Ctx::new(&mut st.ks, sess.db, out, argv);
            ctx.may_block = !sess.in_exec;
            f(&mut ctx);
            let rewritten = ctx.propagate.take();
            let block = ctx.block.take();
            // Keys the command found expired are deleted before its own effect.
            feed_keyspace_propagation(st);
            match block {
                Some(req) => {
                    let proto = out.proto;
                    crate::blocking::block(st, sess.id, proto, sess.db, parent, cmd, argv, req);
                    flow = Flow::Blocked;
                }
                None => propagate(st, sess.db, argv, rewritten, dirty_before, cmd),
            }
        }
        Handler::Server(f) => {
            let mut ex = Exec {
                st,
                sess,
                out,
                argv,
                now_ms,
            };
            f(&mut ex);
            if ex.sess.close_after_reply {
                flow = Flow::Close;
            } else if ex.st.blocked.contains_key(&ex.sess.id) {
                flow = Flow::Blocked;
            }
        }
        Handler::ContainerOr(f) => {
            let mut ex = Exec {
                st,
                sess,
                out,
                argv,
                now_ms,
            };
            f(&mut ex);
        }
        Handler::Container => unreachable!("containers are resolved to a subcommand"),
    }
    let micros = start.elapsed().as_micros() as u64;
    after_command(
        st,
        sess,
        out,
        parent,
        cmd,
        argv,
        now_ms,
        reply_start,
        micros,
        dirty_before,
    );
    st.prop.depth -= 1;
    if st.prop.depth == 0 && !st.prop.pending.is_empty() {
        flush_propagation(st);
        sess.woff = st.repl.offset;
    }
    flow
}

#[allow(clippy::too_many_arguments)]
fn after_command(
    st: &mut State,
    sess: &mut Session,
    out: &mut Out,
    parent: Option<&'static Command>,
    cmd: &'static Command,
    argv: &[Bytes],
    now_ms: i64,
    reply_start: usize,
    micros: u64,
    _dirty_before: u64,
) {
    let name = static_name(parent, cmd);
    st.stats.total_commands_processed += 1;
    let failed = out.buf.get(reply_start) == Some(&b'-') && cmd.name != "exec";
    let track_latency = st.cfg.latency_tracking;
    {
        let cs = st.stats.commands.entry(name).or_default();
        cs.calls += 1;
        cs.usec += micros;
        if track_latency {
            cs.latency.record(micros);
        }
        if failed {
            cs.failed_calls += 1;
        }
    }
    if failed {
        let line_end = out.buf[reply_start..]
            .iter()
            .position(|&b| b == b'\r')
            .unwrap_or(0);
        let msg =
            String::from_utf8_lossy(&out.buf[reply_start + 1..reply_start + line_end]).into_owned();
        count_error(st, &msg);
    }
    settle(st, now_ms);
    if let Some(info) = st.clients.get_mut(&sess.id) {
        info.last_interaction_ms = now_ms;
        info.db = sess.db;
        info.last_cmd = name;
    }
    let threshold = st.cfg.slowlog_log_slower_than;
    if threshold >= 0 && micros as i64 >= threshold && !cmd.has(flag::SKIP_SLOWLOG) {
        let (addr, cname) = st
            .clients
            .get(&sess.id)
            .map(|c| (c.addr.clone(), c.name.clone().unwrap_or_default()))
            .unwrap_or_default();
        let max_len = st.cfg.slowlog_max_len as usize;
        st.slowlog.push(
            SlowEntry {
                id: 0,
                time: now_ms / 1000,
                micros,
                args: argv.to_vec(),
                addr,
                name: cname,
            },
            max_len,
        );
    }
    let lat_threshold = st.cfg.latency_monitor_threshold;
    if lat_threshold > 0 && micros / 1000 >= lat_threshold {
        let event = if cmd.has(flag::FAST) {
            "fast-command"
        } else {
            "command"
        };
        st.slowlog
            .latency_sample(event, now_ms / 1000, micros / 1000);
    }
    if !cmd.has(flag::SKIP_MONITOR) && !cmd.has(flag::ADMIN) {
        crate::cmd::admin::feed_monitors(st, sess, argv, now_ms);
    }
}

/// What a command leaves for others once it ran: keyspace events published, WATCHes of
/// changed keys broken, and the keyspace's own propagation (lazy-expiry DELs) handed on.
pub fn settle(st: &mut State, now_ms: i64) {
    if std::mem::take(&mut st.ks.flushed_all) {
        crate::persist::after_flushall(st);
    }
    feed_keyspace_propagation(st);
    publish_notifications(st, now_ms);
    if !st.ks.invalidated_watchers.is_empty() {
        let ids = std::mem::take(&mut st.ks.invalidated_watchers);
        for id in ids {
            if let Some(c) = st.clients.get_mut(&id) {
                c.dirty_cas = true;
            }
        }
    }
}

/// Decides what a data command propagates: its rewritten form if it gave one, otherwise the
/// command as sent when it changed the dataset (or may replicate, such as PUBLISH).
pub fn propagate(
    st: &mut State,
    db: usize,
    argv: &[Bytes],
    rewritten: Option<Vec<Vec<Bytes>>>,
    dirty_before: u64,
    cmd: &Command,
) {
    match rewritten {
        Some(cmds) => {
            for c in cmds {
                feed_propagation(st, db, c);
            }
        }
        None if st.ks.dirty != dirty_before && cmd.has(flag::WRITE) => {
            feed_propagation(st, db, argv.to_vec())
        }
        None => {}
    }
}

/// What one execution unit (a command, or EXEC with everything it ran) propagated so far.
#[derive(Debug, Default)]
pub struct Propagation {
    /// Commands with their database, in execution order.
    pub pending: Vec<(usize, Vec<Bytes>)>,
    /// Nesting of [`execute`] calls; the unit ends when it returns to zero.
    pub depth: u32,
    /// Entries of `pending` (by index) that go only to the AOF (1) or only to replicas (2),
    /// as a script's `redis.set_repl` asks; the others go to both.
    pub only: Vec<(usize, u8)>,
}

/// Hands on the keyspace's own propagation (DELs of keys found expired).
fn feed_keyspace_propagation(st: &mut State) {
    for (db, argv) in std::mem::take(&mut st.ks.propagated) {
        feed_propagation(st, db, argv);
    }
}

/// Queues one propagated command in the current unit, or emits it at once outside any
/// (expiry by the cron, blocked clients served).
fn feed_propagation(st: &mut State, db: usize, argv: Vec<Bytes>) {
    if st.prop.depth > 0 {
        st.prop.pending.push((db, argv));
    } else {
        emit(st, db, &argv);
    }
}

/// Propagates a command to replicas but not to the AOF (PUBLISH), as Redis's
/// `PROPAGATE_REPL`.
pub fn propagate_to_replicas(st: &mut State, db: usize, argv: &[Bytes]) {
    if st.prop.depth > 0 {
        st.prop.only.push((st.prop.pending.len(), 2));
        st.prop.pending.push((db, argv.to_vec()));
    } else {
        st.stats.propagated_commands += 1;
        crate::repl::feed(st, db, argv);
    }
}

/// Emits the unit that just ended: more than one command goes out wrapped in MULTI/EXEC so
/// the AOF and replicas apply it whole, as Redis 7.0 does.
fn flush_propagation(st: &mut State) {
    let ops = std::mem::take(&mut st.prop.pending);
    let only = std::mem::take(&mut st.prop.only);
    if only.is_empty() {
        let wrap = ops.len() > 1;
        if wrap {
            emit(st, ops[0].0, &[Bytes::from_static(b"MULTI")]);
        }
        let last_db = ops.last().map(|(db, _)| *db);
        for (db, argv) in ops {
            emit(st, db, &argv);
        }
        if let (true, Some(db)) = (wrap, last_db) {
            emit(st, db, &[Bytes::from_static(b"EXEC")]);
        }
        return;
    }
    // A script chose targets (redis.set_repl): each target gets its own commands, wrapped
    // when it gets more than one.
    let mask = |i: usize| only.iter().find(|(j, _)| *j == i).map_or(3, |&(_, m)| m);
    for target in [1u8, 2] {
        let mine: Vec<usize> = (0..ops.len()).filter(|&i| mask(i) & target != 0).collect();
        let wrap = mine.len() > 1;
        let send = |st: &mut State, db: usize, argv: &[Bytes]| {
            if target == 1 {
                crate::aof::feed(st, db, argv);
            } else {
                crate::repl::feed(st, db, argv);
            }
        };
        if wrap {
            send(st, ops[mine[0]].0, &[Bytes::from_static(b"MULTI")]);
        }
        for &i in &mine {
            send(st, ops[i].0, &ops[i].1);
        }
        if let (true, Some(&i)) = (wrap, mine.last()) {
            send(st, ops[i].0, &[Bytes::from_static(b"EXEC")]);
        }
    }
    st.stats.propagated_commands += ops
        .iter()
        .enumerate()
        .filter(|(i, _)| mask(*i) != 0)
        .count() as u64;
}

/// Hands one command to the AOF (and, once built, the replication stream).
fn emit(st: &mut State, db: usize, argv: &[Bytes]) {
    st.stats.propagated_commands += 1;
    crate::aof::feed(st, db, argv);
    crate::repl::feed(st, db, argv);
}

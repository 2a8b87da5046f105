//! Server administration: INFO, CONFIG, COMMAND, TIME, LASTSAVE, SHUTDOWN, MONITOR, SLOWLOG,
//! LATENCY, DEBUG — with Redis 7.0's reply shapes and error texts.

use crate::client::Session;
use crate::commands::{self, flag::*, Command, Handler};
use crate::dispatch::Exec;
use crate::state::State;
use bytes::Bytes;
use resp::Out;
use std::collections::HashMap;
use std::sync::OnceLock;
use store::glob::glob_match;
use store::num::parse_i64;

/// Replies with a HELP text: `<NAME> <subcommand> [<arg> ...]. Subcommands are:`, the lines,
/// then `HELP` (Redis's `addReplyHelp`).
pub fn help_reply(out: &mut Out, name: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(ex: &mut Exec) {
    let msg = format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&ex.argv[1][..ex.argv[1].len().min(128)]),
        String::from_utf8_lossy(&ex.argv[0]).to_ascii_uppercase()
    );
    ex.out.error(&msg);
}

// ---------------------------------------------------------------------------------------------
// MONITOR
// ---------------------------------------------------------------------------------------------

/// Appends `s` quoted as Redis's `sdscatrepr` does.
pub fn cat_repr(out: &mut String, s: &[u8]) {
    out.push('"');
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\x{b:02x}"));
            }
        }
    }
    out.push('"');
}

/// Which arguments MONITOR shows as `(redacted)` (AUTH credentials, HELLO's AUTH option).
fn redacted(argv: &[Bytes]) -> Vec<bool> {
    let mut r = vec![false; argv.len()];
    if argv[0].eq_ignore_ascii_case(b"auth") {
        for x in r.iter_mut().skip(1) {
            *x = true;
        }
    } else if argv[0].eq_ignore_ascii_case(b"hello") && argv.len() >= 2 {
        if !matches!(parse_i64(&argv[1]), Some(2..=3)) {
            return r;
        }
        let mut j = 2;
        while j < argv.len() {
            let more = argv.len() - 1 - j;
            if argv[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
                r[j + 1] = true;
                r[j + 2] = true;
                j += 3;
            } else if argv[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
                j += 2;
            } else {
                break;
            }
        }
    }
    r
}

/// The MONITOR line for a command: `+<sec>.<usec> [<db> <addr>] "arg" ...\r\n`.
pub fn monitor_line(unix_us: i64, db: usize, origin: &str, argv: &[Bytes]) -> String {
    let mut s = format!(
        "+{}.{:06} [{} {}] ",
        unix_us / 1_000_000,
        unix_us % 1_000_000,
        db,
        origin
    );
    let hide = redacted(argv);
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        if hide[i] {
            s.push_str("\"(redacted)\"");
        } else {
            cat_repr(&mut s, a);
        }
    }
    s.push_str("\r\n");
    s
}

/// Sends the MONITOR line for a command executed by `sess` to every monitor.
pub fn feed_monitors(st: &mut State, sess: &Session, argv: &[Bytes], now_ms: i64) {
    if st.monitors.is_empty() || argv.is_empty() {
        return;
    }
    let clients = &st.clients;
    st.monitors.retain(|id| {
        clients
            .get(id)
            .is_some_and(|c| c.monitor && !c.handle.is_killed())
    });
    if st.monitors.is_empty() {
        return;
    }
    let origin = match st.clients.get(&sess.id) {
        Some(c) if crate::cmd::client::is_unix_client(c) => {
            format!("unix:{}", st.cfg.unixsocket.as_deref().unwrap_or(""))
        }
        Some(c) => c.addr.clone(),
        None if sess.id == crate::script::CLIENT_ID => "lua".to_string(),
        None => String::new(),
    };
    let line = monitor_line(crate::clock::unix_us(), sess.db, &origin, argv);
    for id in st.monitors.clone() {
        crate::pubsub::deliver(st, id, line.as_bytes(), now_ms);
    }
}

/// MONITOR
pub fn monitor(ex: &mut Exec) {
    let id = ex.sess.id;
    let Some(c) = ex.st.clients.get_mut(&id) else {
        return;
    };
    // Already a monitor or a replica: ignored without a reply, as Redis does.
    if c.monitor
        || matches!(
            c.kind,
            crate::client::ClientKind::Replica | crate::client::ClientKind::Master
        )
    {
        return;
    }
    c.monitor = true;
    if !ex.st.monitors.contains(&id) {
        ex.st.monitors.push(id);
    }
    ex.out.ok();
}

// ---------------------------------------------------------------------------------------------
// INFO, TIME, LASTSAVE, SHUTDOWN
// ---------------------------------------------------------------------------------------------

/// INFO [section ...]
pub fn info(ex: &mut Exec) {
    let sel = crate::info::Selection::parse(&ex.argv[1..]);
    let text = crate::info::generate(ex.st, &sel, ex.now_ms);
    ex.out.verbatim(text.as_bytes());
}

/// TIME
pub fn time(ex: &mut Exec) {
    let us = crate::clock::unix_us();
    ex.out.array(2);
    ex.out.bulk_int(us / 1_000_000);
    ex.out.bulk_int(us % 1_000_000);
}

/// LASTSAVE
pub fn lastsave(ex: &mut Exec) {
    ex.out.int(ex.st.persist.lastsave);
}

/// SAVE
pub fn save(ex: &mut Exec) {
    if ex
        .st
        .persist
        .child_of(crate::child::ChildKind::Rdb)
        .is_some()
    {
        return ex.out.error("ERR Background save already in progress");
    }
    let path = crate::persist::rdb_path(ex.st);
    match crate::persist::save_rdb(ex.st, &path) {
        Ok(()) => ex.out.ok(),
        Err(_) => ex.out.error("ERR"),
    }
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
pub fn shutdown(ex: &mut Exec) {
    let (mut save, mut nosave, mut force, mut abort, mut any) = (false, false, false, false, false);
    let mut now = false;
    for a in &ex.argv[1..] {
        if a.eq_ignore_ascii_case(b"nosave") {
            nosave = true;
        } else if a.eq_ignore_ascii_case(b"save") {
            save = true;
        } else if a.eq_ignore_ascii_case(b"now") {
            now = true;
        } else if a.eq_ignore_ascii_case(b"force") {
            force = true;
        } else if a.eq_ignore_ascii_case(b"abort") {
            abort = true;
            continue;
        } else {
            return ex.out.error("ERR syntax error");
        }
        any = true;
    }
    if (abort && any) || (save && nosave) {
        return ex.out.error("ERR syntax error");
    }
    if abort {
        if ex.st.shutdown_pending.take().is_some() {
            crate::warning!("Shutdown manually aborted.");
            crate::repl::resume_after_shutdown_wait(ex.st);
            return ex.out.ok();
        }
        return ex.out.error("ERR No shutdown in progress.");
    }
    use crate::config::shutdown;
    let flags = if save { shutdown::SAVE } else { 0 }
        | if nosave { shutdown::NOSAVE } else { 0 }
        | if force { shutdown::FORCE } else { 0 }
        | if now { shutdown::NOW } else { 0 };
    crate::warning!("User requested shutdown...");
    if !now && crate::repl::replicas_lagging(ex.st) && ex.st.cfg.shutdown_timeout > 0 {
        // The main task waits for the replicas, then shuts down (or replies the error).
        ex.st.shutdown_pending = Some((flags, Some(ex.sess.id)));
        return;
    }
    if !crate::persist::prepare_for_shutdown(ex.st, flags) {
        return ex.out.error("ERR Errors trying to SHUTDOWN. Check logs.");
    }
    // No reply: the connection closes and the process exits, as with Redis.
    ex.st.shutdown_requested = true;
    ex.sess.close_after_reply = true;
}

// ---------------------------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------------------------

/// CONFIG GET parameter [parameter ...]
pub fn config_get(ex: &mut Exec) {
    let patterns: Vec<&[u8]> = ex.argv[2..].iter().map(|a| &a[..]).collect();
    let pairs = ex.st.cfg.get_raw(&patterns);
    ex.out.map(pairs.len());
    for (k, v) in pairs {
        ex.out.bulk(&k);
        ex.out.bulk(&v);
    }
}

/// Applies the runtime effects of configuration values that changed; the error is the reply
/// when one could not take effect (its value is then put back).
fn apply_config_changes(st: &mut State, changed: &[&str], in_exec: bool) -> Result<(), String> {
    st.apply_config();
    for name in changed {
        match *name {
            "appendonly" if st.cfg.appendonly && !crate::aof::start(st, in_exec) => {
                st.cfg.appendonly = false;
                return Err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.".into());
            }
            "appendonly" if st.cfg.appendonly => {}
            "appendonly" => crate::aof::stop(st),
            "appendfsync" => crate::aof::apply_fsync_policy(st),
            "loglevel" => crate::log::set_level(crate::log::level_for(st.cfg.loglevel)),
            "logfile" => crate::log::set_file(Some(st.cfg.logfile.clone())),
            "min-replicas-to-write" | "min-replicas-max-lag" => {
                crate::repl::refresh_good_replicas(st, crate::clock::unix_ms())
            }
            "dir" => {
                if let Err(e) = std::env::set_current_dir(&st.cfg.dir) {
                    crate::warning!("Can't chdir to '{}': {}", st.cfg.dir, e);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// CONFIG SET parameter value [parameter value ...]
pub fn config_set(ex: &mut Exec) {
    let args: Vec<&[u8]> = ex.argv[2..].iter().map(|a| &a[..]).collect();
    let local = ex
        .st
        .clients
        .get(&ex.sess.id)
        .is_some_and(crate::cmd::client::is_local_client);
    match ex.st.cfg.set_args(&args, local) {
        Ok(changed) => match apply_config_changes(ex.st, &changed, ex.sess.in_exec) {
            Ok(()) => ex.out.ok(),
            Err(e) => ex.out.error(&e),
        },
        Err(e) => ex.out.error(e.strip_prefix('-').unwrap_or(&e)),
    }
}

/// CONFIG RESETSTAT
pub fn config_resetstat(ex: &mut Exec) {
    ex.st.stats = crate::state::Stats::default();
    ex.st.ks.stats = store::keyspace::KeyspaceStats::default();
    ex.st.info.reset_metrics(ex.now_ms);
    ex.out.ok();
}

/// CONFIG REWRITE
pub fn config_rewrite(ex: &mut Exec) {
    match ex.st.cfg.rewrite() {
        Ok(()) => {
            crate::notice!("CONFIG REWRITE executed with success.");
            ex.out.ok();
        }
        Err(e) => {
            crate::warning!(
                "CONFIG REWRITE failed: {}",
                e.strip_prefix("ERR ").unwrap_or(&e)
            );
            ex.out.error(&e);
        }
    }
}

/// CONFIG HELP
pub fn config_help(ex: &mut Exec) {
    help_reply(ex.out, "CONFIG", CONFIG_HELP);
}

// ---------------------------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------------------------

/// How a key spec finds its first key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BeginSearch {
    Index(i64),
    Keyword(&'static str, i64),
    Unknown,
}

/// How a key spec finds the keys after the first.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FindKeys {
    /// lastkey, keystep, limit
    Range(i64, i64, i64),
    /// keynumidx, firstkey, keystep
    Keynum(i64, i64, i64),
    Unknown,
}

/// One key spec (COMMAND INFO, GETKEYS).
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeySpec {
    notes: &'static str,
    flags: Vec<&'static str>,
    bs: BeginSearch,
    fk: FindKeys,
}

/// What Redis 7.0 reports about a command beyond our table: ACL categories, tips, flags that
/// the table has no bit for, key specs and documentation fields.
#[derive(Debug, Clone, Default)]
struct CmdRef {
    acl: Vec<&'static str>,
    tips: Vec<&'static str>,
    extra_flags: Vec<&'static str>,
    specs: Vec<KeySpec>,
    complexity: &'static str,
    doc_flags: Vec<&'static str>,
    deprecated_since: &'static str,
    replaced_by: &'static str,
}

fn words(s: &'static str) -> Vec<&'static str> {
    s.split(' ').filter(|w| !w.is_empty()).collect()
}

fn parse_spec(s: &'static str) -> Option<KeySpec> {
    let mut parts = s.split('|');
    let flags = parts.next()?.split(',').filter(|f| !f.is_empty()).collect();
    let bs = parts.next()?;
    let fk = parts.next()?;
    let notes = parts.next().unwrap_or("");
    let num = |x: Option<&str>| x.and_then(|v| v.parse::<i64>().ok());
    let bs = match bs.split(':').collect::<Vec<_>>()[..] {
        ["index", i] => BeginSearch::Index(num(Some(i))?),
        ["keyword", kw, from] => BeginSearch::Keyword(kw, num(Some(from))?),
        _ => BeginSearch::Unknown,
    };
    let fk = match fk.split(':').collect::<Vec<_>>()[..] {
        ["range", a, b, c] => FindKeys::Range(num(Some(a))?, num(Some(b))?, num(Some(c))?),
        ["keynum", a, b, c] => FindKeys::Keynum(num(Some(a))?, num(Some(b))?, num(Some(c))?),
        _ => FindKeys::Unknown,
    };
    Some(KeySpec {
        notes,
        flags,
        bs,
        fk,
    })
}

/// The reference data, by full command name.
fn reference() -> &'static HashMap<&'static str, CmdRef> {
    static REF: OnceLock<HashMap<&'static str, CmdRef>> = OnceLock::new();
    REF.get_or_init(|| {
        let mut map = HashMap::new();
        for line in COMMAND_REF.lines().filter(|l| !l.is_empty()) {
            let mut cols = line.split('\t');
            let mut col = || cols.next().unwrap_or("");
            let name = col();
            let r = CmdRef {
                acl: words(col()),
                tips: words(col()),
                extra_flags: words(col()),
                specs: col()
                    .split(';')
                    .filter(|s| !s.is_empty())
                    .filter_map(parse_spec)
                    .collect(),
                complexity: col(),
                doc_flags: words(col()),
                deprecated_since: col(),
                replaced_by: col(),
            };
            map.insert(name, r);
        }
        map
    })
}

/// Command flags in COMMAND INFO's order, with the names Redis prints (`may_replicate` is hidden).
const FLAG_ORDER: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (0, "module"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (0, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (0, "no_mandatory_keys"),
    (0, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (0, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

/// ACL categories in Redis's order.
/// The ACL categories in Redis 7.0's order (ACL CAT).
pub const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

fn command_ref(full: &str) -> Option<&'static CmdRef> {
    reference().get(full)
}

fn command_flags(cmd: &Command, r: Option<&CmdRef>) -> Vec<&'static str> {
    FLAG_ORDER
        .iter()
        .filter(|(bit, name)| {
            if *bit == 0 {
                r.is_some_and(|r| r.extra_flags.contains(name))
            } else {
                cmd.has(*bit)
            }
        })
        .map(|(_, name)| *name)
        .collect()
}

/// ACL categories as Redis derives them when a command declares none beyond its flags.
fn derived_categories(cmd: &Command) -> Vec<&'static str> {
    let mut cats: Vec<&str> = Vec::new();
    let group = match cmd.group {
        "generic" => Some("keyspace"),
        "string" => Some("string"),
        "list" => Some("list"),
        "set" => Some("set"),
        "sorted-set" => Some("sortedset"),
        "hash" => Some("hash"),
        "hyperloglog" => Some("hyperloglog"),
        "geo" => Some("geo"),
        "stream" => Some("stream"),
        "bitmap" => Some("bitmap"),
        "pubsub" => Some("pubsub"),
        "connection" => Some("connection"),
        "transactions" => Some("transaction"),
        "scripting" => Some("scripting"),
        _ => None,
    };
    cats.extend(group);
    if cmd.has(WRITE) {
        cats.push("write");
    }
    if cmd.has(READONLY) {
        cats.push("read");
    }
    if cmd.has(ADMIN) {
        cats.push("admin");
        cats.push("dangerous");
    }
    if cmd.has(PUBSUB) {
        cats.push("pubsub");
    }
    if cmd.has(FAST) {
        cats.push("fast");
    }
    if cmd.has(BLOCKING) {
        cats.push("blocking");
    }
    if !cmd.has(FAST) {
        cats.push("slow");
    }
    ACL_CATEGORIES
        .iter()
        .copied()
        .filter(|c| cats.contains(c))
        .collect()
}

fn command_categories(cmd: &Command, r: Option<&CmdRef>) -> Vec<&'static str> {
    match r {
        Some(r) => r.acl.clone(),
        None => derived_categories(cmd),
    }
}

/// The key specs of a command: Redis's, or derived from the table's key positions.
fn key_specs(cmd: &Command, r: Option<&CmdRef>) -> Vec<KeySpec> {
    if let Some(r) = r {
        return r.specs.clone();
    }
    if cmd.first_key <= 0 {
        return Vec::new();
    }
    let flags = if cmd.has(WRITE) {
        vec!["RW", "access", "update"]
    } else {
        vec!["RO", "access"]
    };
    let last = if cmd.last_key < 0 {
        cmd.last_key as i64
    } else {
        (cmd.last_key - cmd.first_key) as i64
    };
    vec![KeySpec {
        notes: "",
        flags,
        bs: BeginSearch::Index(cmd.first_key as i64),
        fk: FindKeys::Range(last, cmd.key_step.max(1) as i64, 0),
    }]
}

fn reply_key_spec(out: &mut Out, spec: &KeySpec) {
    out.map(if spec.notes.is_empty() { 3 } else { 4 });
    if !spec.notes.is_empty() {
        out.bulk(b"notes");
        out.bulk(spec.notes.as_bytes());
    }
    out.bulk(b"flags");
    out.set(spec.flags.len());
    for f in &spec.flags {
        out.simple(f);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match &spec.bs {
        BeginSearch::Index(i) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(*i);
        }
        BeginSearch::Keyword(kw, from) => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(kw.as_bytes());
            out.bulk(b"startfrom");
            out.int(*from);
        }
        BeginSearch::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match &spec.fk {
        FindKeys::Range(last, step, limit) => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"lastkey");
            out.int(*last);
            out.bulk(b"keystep");
            out.int(*step);
            out.bulk(b"limit");
            out.int(*limit);
        }
        FindKeys::Keynum(idx, first, step) => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"keynumidx");
            out.int(*idx);
            out.bulk(b"firstkey");
            out.int(*first);
            out.bulk(b"keystep");
            out.int(*step);
        }
        FindKeys::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

/// One COMMAND INFO entry (10 elements), subcommands nested.
fn reply_command_info(out: &mut Out, parent: Option<&Command>, cmd: &Command) {
    let full = commands::full_name(parent, cmd);
    let r = command_ref(&full);
    out.array(10);
    out.bulk(full.as_bytes());
    out.int(cmd.arity as i64);
    let flags = command_flags(cmd, r);
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(cmd.first_key as i64);
    out.int(cmd.last_key as i64);
    out.int(cmd.key_step as i64);
    let cats = command_categories(cmd, r);
    out.set(cats.len());
    for c in cats {
        out.simple(&format!("@{c}"));
    }
    let tips = r.map(|r| r.tips.clone()).unwrap_or_default();
    out.set(tips.len());
    for t in tips {
        out.bulk(t.as_bytes());
    }
    let specs = key_specs(cmd, r);
    out.set(specs.len());
    for s in &specs {
        reply_key_spec(out, s);
    }
    if cmd.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(cmd.subcommands.len());
        for sub in cmd.subcommands {
            reply_command_info(out, Some(cmd), sub);
        }
    }
}

/// One COMMAND DOCS entry (a map), subcommands nested.
fn reply_command_docs(out: &mut Out, parent: Option<&Command>, cmd: &Command) {
    let full = commands::full_name(parent, cmd);
    let r = command_ref(&full);
    let complexity = r.map(|r| r.complexity).unwrap_or("");
    let doc_flags = r.map(|r| r.doc_flags.clone()).unwrap_or_default();
    let deprecated = r.map(|r| r.deprecated_since).unwrap_or("");
    let replaced = r.map(|r| r.replaced_by).unwrap_or("");
    let extra = docs_extra(&full);
    let field = |name: &str| extra.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let (history, arguments) = (field("history"), field("arguments"));
    let n = 3
        + usize::from(!complexity.is_empty())
        + usize::from(!doc_flags.is_empty())
        + usize::from(!deprecated.is_empty())
        + usize::from(!replaced.is_empty())
        + usize::from(history.is_some())
        + usize::from(arguments.is_some())
        + usize::from(!cmd.subcommands.is_empty());
    out.map(n);
    out.bulk(b"summary");
    out.bulk(cmd.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(cmd.since.as_bytes());
    out.bulk(b"group");
    out.bulk(cmd.group.as_bytes());
    if !complexity.is_empty() {
        out.bulk(b"complexity");
        out.bulk(complexity.as_bytes());
    }
    if !doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        out.set(doc_flags.len());
        for f in doc_flags {
            out.simple(f);
        }
    }
    if !deprecated.is_empty() {
        out.bulk(b"deprecated_since");
        out.bulk(deprecated.as_bytes());
    }
    if !replaced.is_empty() {
        out.bulk(b"replaced_by");
        out.bulk(replaced.as_bytes());
    }
    if let Some(Json::Arr(entries)) = history {
        out.bulk(b"history");
        out.set(entries.len());
        for e in entries {
            reply_json(out, e);
        }
    }
    if let Some(args) = arguments {
        out.bulk(b"arguments");
        reply_json(out, args);
    }
    if !cmd.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(cmd.subcommands.len());
        for sub in cmd.subcommands {
            out.bulk(commands::full_name(Some(cmd), sub).as_bytes());
            reply_command_docs(out, Some(cmd), sub);
        }
    }
}

/// A JSON value of the documentation data (strings, integers, arrays, objects).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Json {
    Str(String),
    Int(i64),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Parses the subset of JSON the documentation data uses; None if malformed.
fn parse_json(s: &str) -> Option<Json> {
    fn value(b: &[u8], i: &mut usize) -> Option<Json> {
        match *b.get(*i)? {
            b'"' => string(b, i).map(Json::Str),
            b'[' => {
                *i += 1;
                let mut items = Vec::new();
                if b.get(*i) == Some(&b']') {
                    *i += 1;
                    return Some(Json::Arr(items));
                }
                loop {
                    items.push(value(b, i)?);
                    match *b.get(*i)? {
                        b',' => *i += 1,
                        b']' => {
                            *i += 1;
                            return Some(Json::Arr(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                *i += 1;
                let mut fields = Vec::new();
                if b.get(*i) == Some(&b'}') {
                    *i += 1;
                    return Some(Json::Obj(fields));
                }
                loop {
                    let k = string(b, i)?;
                    if b.get(*i) != Some(&b':') {
                        return None;
                    }
                    *i += 1;
                    fields.push((k, value(b, i)?));
                    match *b.get(*i)? {
                        b',' => *i += 1,
                        b'}' => {
                            *i += 1;
                            return Some(Json::Obj(fields));
                        }
                        _ => return None,
                    }
                }
            }
            _ => {
                let start = *i;
                while b.get(*i).is_some_and(|c| *c == b'-' || c.is_ascii_digit()) {
                    *i += 1;
                }
                std::str::from_utf8(&b[start..*i])
                    .ok()?
                    .parse()
                    .ok()
                    .map(Json::Int)
            }
        }
    }
    fn string(b: &[u8], i: &mut usize) -> Option<String> {
        if b.get(*i) != Some(&b'"') {
            return None;
        }
        *i += 1;
        let mut out = Vec::new();
        loop {
            match *b.get(*i)? {
                b'"' => {
                    *i += 1;
                    return String::from_utf8(out).ok();
                }
                b'\\' => {
                    *i += 1;
                    out.push(match *b.get(*i)? {
                        b'n' => b'\n',
                        b't' => b'\t',
                        c => c,
                    });
                }
                c => out.push(c),
            }
            *i += 1;
        }
    }
    let mut i = 0;
    let v = value(s.as_bytes(), &mut i)?;
    (i == s.len()).then_some(v)
}

/// Writes documentation JSON with Redis's reply types: objects are maps, `flags` sets of
/// status strings, `history` entries arrays, numbers integers, strings bulk strings.
fn reply_json(out: &mut Out, v: &Json) {
    match v {
        Json::Str(s) => out.bulk(s.as_bytes()),
        Json::Int(n) => out.int(*n),
        Json::Arr(items) => {
            out.array(items.len());
            for item in items {
                reply_json(out, item);
            }
        }
        Json::Obj(fields) => {
            out.map(fields.len());
            for (k, v) in fields {
                out.bulk(k.as_bytes());
                match (k.as_str(), v) {
                    ("flags", Json::Arr(flags)) => {
                        out.set(flags.len());
                        for f in flags {
                            match f {
                                Json::Str(s) => out.simple(s),
                                other => reply_json(out, other),
                            }
                        }
                    }
                    _ => reply_json(out, v),
                }
            }
        }
    }
}

/// The `history` and `arguments` documentation of a command, from Redis 7.0.15.
fn docs_extra(full: &str) -> Vec<(String, Json)> {
    static INDEX: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        COMMAND_DOCS_REF
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .collect()
    });
    match index.get(full).and_then(|j| parse_json(j)) {
        Some(Json::Obj(fields)) => fields,
        _ => Vec::new(),
    }
}

/// Finds `name` or `container|sub`, case-insensitively (Redis's `lookupCommandBySds`).
fn lookup_full(name: &[u8]) -> Option<(Option<&'static Command>, &'static Command)> {
    let parts: Vec<&[u8]> = name.split(|&b| b == b'|').collect();
    match parts[..] {
        [one] => commands::lookup(one).map(|c| (None, c)),
        [base, sub] => {
            let c = commands::lookup(base)?;
            if c.subcommands.is_empty() {
                return None;
            }
            commands::lookup_sub(c, sub).map(|s| (Some(c), s))
        }
        _ => None,
    }
}

/// COMMAND (no subcommand): every command's INFO.
pub fn command_all(ex: &mut Exec) {
    ex.out.array(commands::COMMANDS.len());
    for c in commands::COMMANDS {
        reply_command_info(ex.out, None, c);
    }
}

/// COMMAND COUNT
pub fn command_count(ex: &mut Exec) {
    ex.out.int(commands::COMMANDS.len() as i64);
}

/// COMMAND INFO [command-name ...]
pub fn command_info(ex: &mut Exec) {
    if ex.argv.len() == 2 {
        return command_all(ex);
    }
    ex.out.array(ex.argv.len() - 2);
    for name in &ex.argv[2..] {
        match lookup_full(name) {
            Some((parent, cmd)) => reply_command_info(ex.out, parent, cmd),
            None => ex.out.null(),
        }
    }
}

/// COMMAND DOCS [command-name ...]
pub fn command_docs(ex: &mut Exec) {
    if ex.argv.len() == 2 {
        ex.out.map(commands::COMMANDS.len());
        for c in commands::COMMANDS {
            ex.out.bulk(c.name.as_bytes());
            reply_command_docs(ex.out, None, c);
        }
        return;
    }
    let found: Vec<_> = ex.argv[2..].iter().filter_map(|n| lookup_full(n)).collect();
    ex.out.map(found.len());
    for (parent, cmd) in found {
        ex.out.bulk(commands::full_name(parent, cmd).as_bytes());
        reply_command_docs(ex.out, parent, cmd);
    }
}

/// A COMMAND LIST filter.
enum ListFilter {
    None,
    Module,
    AclCat(String),
    Pattern(Bytes),
}

fn list_filter_matches(filter: &ListFilter, parent: Option<&Command>, cmd: &Command) -> bool {
    match filter {
        ListFilter::None => true,
        ListFilter::Module => false,
        ListFilter::AclCat(cat) => {
            let full = commands::full_name(parent, cmd);
            command_categories(cmd, command_ref(&full))
                .iter()
                .any(|c| c.eq_ignore_ascii_case(cat))
        }
        ListFilter::Pattern(p) => glob_match(p, commands::full_name(parent, cmd).as_bytes(), true),
    }
}

/// COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern]
pub fn command_list(ex: &mut Exec) {
    let mut filter = ListFilter::None;
    let mut i = 2;
    while i < ex.argv.len() {
        let more = ex.argv.len() - 1 - i;
        if ex.argv[i].eq_ignore_ascii_case(b"filterby") && more == 2 {
            let kind = &ex.argv[i + 1];
            let arg = ex.argv[i + 2].clone();
            filter = if kind.eq_ignore_ascii_case(b"module") {
                ListFilter::Module
            } else if kind.eq_ignore_ascii_case(b"aclcat") {
                ListFilter::AclCat(String::from_utf8_lossy(&arg).into_owned())
            } else if kind.eq_ignore_ascii_case(b"pattern") {
                ListFilter::Pattern(arg)
            } else {
                return ex.out.error("ERR syntax error");
            };
            i += 3;
        } else {
            return ex.out.error("ERR syntax error");
        }
    }
    let mut names = Vec::new();
    for c in commands::COMMANDS {
        if list_filter_matches(&filter, None, c) {
            names.push(c.name.to_string());
        }
        for s in c.subcommands {
            if list_filter_matches(&filter, Some(c), s) {
                names.push(commands::full_name(Some(c), s));
            }
        }
    }
    ex.out.bulk_array(&names);
}

/// Redis's `getKeysUsingKeySpecs`: (argument position, spec flags) of every key.
fn keys_from_specs(
    cmd: &Command,
    specs: &[KeySpec],
    argv: &[Bytes],
) -> Option<Vec<(usize, Vec<&'static str>)>> {
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in specs {
        if spec.flags.contains(&"not_key") {
            continue;
        }
        let first = match &spec.bs {
            BeginSearch::Index(i) => *i,
            BeginSearch::Keyword(kw, from) => {
                // Redis scans from `startfrom` towards the end (or, when negative, from the end
                // towards the start), never looking at the last candidate position itself.
                let (start, end) = if *from > 0 {
                    (*from, argc - 1)
                } else {
                    (argc + from, 1)
                };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if argv[i as usize].eq_ignore_ascii_case(kw.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i += if start <= end { 1 } else { -1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            // Keys only a command-specific procedure could find (SORT's BY/GET/STORE).
            BeginSearch::Unknown => continue,
        };
        let (first, last, step) = match spec.fk {
            FindKeys::Range(lastkey, step, limit) => {
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (first, last, step)
            }
            FindKeys::Keynum(idx, firstkey, step) => {
                if first + idx >= argc {
                    return None;
                }
                let n = parse_i64(&argv[(first + idx) as usize]).filter(|n| *n >= 0)?;
                let f = first + firstkey;
                (f, f + n - 1, step)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last && step > 0 {
            if i >= argc || i < first {
                if cmd.arity < 0 {
                    i += step;
                    continue;
                }
                return None;
            }
            keys.push((i as usize, spec.flags.clone()));
            i += step;
        }
    }
    Some(keys)
}

/// The key flags of commands whose specs say `variable_flags` (Redis's `setGetKeys`,
/// `bitfieldGetKeys`).
fn variable_key_flags(full: &str, args: &[Bytes]) -> Option<Vec<&'static str>> {
    match full {
        "set" => Some(
            if args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) {
                vec!["RW", "access", "update"]
            } else {
                vec!["OW", "update"]
            },
        ),
        "bitfield" => {
            let mut readonly = true;
            let mut i = 2;
            while i < args.len() {
                let rem = args.len() - i - 1;
                let a = &args[i];
                if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
                    i += 3;
                } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
                    i += 2;
                } else {
                    readonly = false;
                    break;
                }
            }
            Some(if readonly {
                vec!["RO", "access"]
            } else {
                vec!["RW", "access", "update"]
            })
        }
        _ => None,
    }
}

fn getkeys(ex: &mut Exec, with_flags: bool) {
    let args = &ex.argv[2..];
    let resolved = match commands::lookup(&args[0]) {
        Some(c) if args.len() >= 2 && !c.subcommands.is_empty() => {
            commands::lookup_sub(c, &args[1]).map(|s| (Some(c), s))
        }
        Some(c) => Some((None, c)),
        None => None,
    };
    let Some((parent, cmd)) = resolved else {
        return ex.out.error("ERR Invalid command specified");
    };
    let full = commands::full_name(parent, cmd);
    let r = command_ref(&full);
    let specs = key_specs(cmd, r);
    if specs.is_empty() {
        return ex.out.error("ERR The command has no key arguments");
    }
    if !cmd.arity_ok(args.len()) {
        return ex
            .out
            .error("ERR Invalid number of arguments specified for command");
    }
    let mut keys = keys_from_specs(cmd, &specs, args).unwrap_or_default();
    if specs.iter().any(|s| s.flags.contains(&"variable_flags")) {
        if let Some(flags) = variable_key_flags(&full, args) {
            for k in keys.iter_mut() {
                k.1 = flags.clone();
            }
        }
    }
    if keys.is_empty() {
        if r.is_some_and(|r| r.extra_flags.contains(&"no_mandatory_keys")) {
            return ex.out.array(0);
        }
        return ex.out.error("ERR Invalid arguments specified for command");
    }
    ex.out.array(keys.len());
    for (pos, flags) in keys {
        if with_flags {
            ex.out.array(2);
            ex.out.bulk(&args[pos]);
            ex.out.set(flags.len());
            for f in flags {
                ex.out.simple(f);
            }
        } else {
            ex.out.bulk(&args[pos]);
        }
    }
}

/// COMMAND GETKEYS command [arg ...]
pub fn command_getkeys(ex: &mut Exec) {
    getkeys(ex, false);
}

/// COMMAND GETKEYSANDFLAGS command [arg ...]
pub fn command_getkeysandflags(ex: &mut Exec) {
    getkeys(ex, true);
}

/// COMMAND HELP
pub fn command_help(ex: &mut Exec) {
    help_reply(ex.out, "COMMAND", COMMAND_HELP);
}

// ---------------------------------------------------------------------------------------------
// SLOWLOG
// ---------------------------------------------------------------------------------------------

/// SLOWLOG GET [count]
pub fn slowlog_get(ex: &mut Exec) {
    if ex.argv.len() > 3 {
        return subcommand_syntax_error(ex);
    }
    let len = ex.st.slowlog.entries.len();
    let mut count = 10usize;
    if ex.argv.len() == 3 {
        match parse_i64(&ex.argv[2]) {
            Some(-1) => count = len,
            Some(n) if n >= 0 => count = n as usize,
            _ => {
                return ex
                    .out
                    .error("ERR count should be greater than or equal to -1")
            }
        }
    }
    let count = count.min(len);
    let out = &mut *ex.out;
    out.array(count);
    for e in ex.st.slowlog.entries.iter().take(count) {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time);
        out.int(e.micros as i64);
        out.bulk_array(&e.args);
        out.bulk(e.addr.as_bytes());
        out.bulk(&e.name);
    }
}

/// SLOWLOG LEN
pub fn slowlog_len(ex: &mut Exec) {
    ex.out.int(ex.st.slowlog.entries.len() as i64);
}

/// SLOWLOG RESET
pub fn slowlog_reset(ex: &mut Exec) {
    ex.st.slowlog.entries.clear();
    ex.out.ok();
}

/// SLOWLOG HELP
pub fn slowlog_help(ex: &mut Exec) {
    help_reply(ex.out, "SLOWLOG", SLOWLOG_HELP);
}

// ---------------------------------------------------------------------------------------------
// LATENCY
// ---------------------------------------------------------------------------------------------

/// LATENCY LATEST
pub fn latency_latest(ex: &mut Exec) {
    let mut events: Vec<_> = ex.st.slowlog.latency.iter().collect();
    events.sort_by(|a, b| a.0.cmp(b.0));
    let out = &mut *ex.out;
    out.array(events.len());
    for (name, ev) in events {
        let (t, ms) = ev.samples.back().copied().unwrap_or((0, 0));
        out.array(4);
        out.bulk(name.as_bytes());
        out.int(t);
        out.int(ms as i64);
        out.int(ev.max as i64);
    }
}

/// LATENCY HISTORY event
pub fn latency_history(ex: &mut Exec) {
    let name = String::from_utf8_lossy(&ex.argv[2]).into_owned();
    let out = &mut *ex.out;
    match ex.st.slowlog.latency.get(&name) {
        None => out.array(0),
        Some(ev) => {
            out.array(ev.samples.len());
            for (t, ms) in &ev.samples {
                out.array(2);
                out.int(*t);
                out.int(*ms as i64);
            }
        }
    }
}

/// LATENCY RESET [event ...]
pub fn latency_reset(ex: &mut Exec) {
    let lat = &mut ex.st.slowlog.latency;
    let n = if ex.argv.len() == 2 {
        let n = lat.len();
        lat.clear();
        n
    } else {
        ex.argv[2..]
            .iter()
            .filter(|e| lat.remove(&*String::from_utf8_lossy(e)).is_some())
            .count()
    };
    ex.out.int(n as i64);
}

/// Redis's sparkline renderer (`sparklineRenderRange` with the fill charset).
fn sparkline(samples: &[(u64, String)], rows: usize) -> String {
    const FILL: &[u8] = b"_o#";
    let mut out = String::new();
    if samples.is_empty() {
        return out;
    }
    let min = samples.iter().map(|s| s.0).min().unwrap_or(0);
    let max = samples.iter().map(|s| s.0).max().unwrap_or(0);
    for (chunk_no, chunk) in samples.chunks(80).enumerate() {
        if chunk_no > 0 {
            out.push('\n');
        }
        let relmax = if max == min { 1.0 } else { (max - min) as f64 };
        let steps = (FILL.len() * rows) as i64;
        let mut row = 0usize;
        loop {
            let mut any = false;
            let mut chars = vec![b' '; chunk.len()];
            for (j, (v, label)) in chunk.iter().enumerate() {
                let relval = (*v - min) as f64;
                let step = ((relval * steps as f64) / relmax) as i64;
                let step = step.clamp(0, steps - 1);
                if row < rows {
                    let charidx = step - ((rows - row - 1) * FILL.len()) as i64;
                    any = true;
                    if charidx >= 0 && (charidx as usize) < FILL.len() {
                        chars[j] = FILL[charidx as usize];
                    } else if charidx >= FILL.len() as i64 {
                        chars[j] = b'|';
                    }
                } else {
                    if row - rows < 1 {
                        any = true;
                        break;
                    }
                    let label_char = row - rows - 1;
                    if label.len() > label_char {
                        any = true;
                        chars[j] = label.as_bytes()[label_char];
                    }
                }
            }
            if !any {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
    out
}

/// LATENCY GRAPH event
pub fn latency_graph(ex: &mut Exec) {
    let name = String::from_utf8_lossy(&ex.argv[2]).into_owned();
    let Some(ev) = ex.st.slowlog.latency.get(&name) else {
        return ex
            .out
            .error(&format!("ERR No samples available for event '{name}'"));
    };
    let now = ex.now_ms / 1000;
    let samples: Vec<(u64, String)> = ev
        .samples
        .iter()
        .map(|(t, ms)| {
            let e = now - t;
            let label = if e < 60 {
                format!("{e}s")
            } else if e < 3600 {
                format!("{}m", e / 60)
            } else if e < 86400 {
                format!("{}h", e / 3600)
            } else {
                format!("{}d", e / 86400)
            };
            (*ms, label)
        })
        .collect();
    let high = samples.iter().map(|s| s.0).max().unwrap_or(0);
    let low = samples.iter().map(|s| s.0).min().unwrap_or(0);
    let mut g = format!(
        "{name} - high {high} ms, low {low} ms (all time high {} ms)\n",
        ev.max
    );
    g.push_str(&"-".repeat(80));
    g.push('\n');
    g.push_str(&sparkline(&samples, 4));
    ex.out.verbatim(g.as_bytes());
}

/// LATENCY DOCTOR (a short report; Redis's advice engine is not reproduced).
pub fn latency_doctor(ex: &mut Exec) {
    let text = if ex.st.cfg.latency_monitor_threshold == 0 && ex.st.slowlog.latency.is_empty() {
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string()
    } else if ex.st.slowlog.latency.is_empty() {
        "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".to_string()
    } else {
        let mut events: Vec<_> = ex.st.slowlog.latency.iter().collect();
        events.sort_by(|a, b| a.0.cmp(b.0));
        let mut s = String::from(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
        );
        for (i, (name, ev)) in events.iter().enumerate() {
            let n = ev.samples.len().max(1) as u64;
            let avg = ev.samples.iter().map(|s| s.1).sum::<u64>() / n;
            s.push_str(&format!(
                "{}. {}: {} latency spikes (average {}ms). Worst all time event {}ms.\n",
                i + 1,
                name,
                ev.samples.len(),
                avg,
                ev.max
            ));
        }
        s.push_str("\nI have a few advices for you:\n\n- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        s
    };
    ex.out.verbatim(text.as_bytes());
}

fn reply_cdf(out: &mut Out, name: &str, h: &crate::info::Histogram) {
    out.bulk(name.as_bytes());
    out.map(2);
    out.bulk(b"calls");
    out.int(h.total() as i64);
    out.bulk(b"histogram_usec");
    let cdf = h.cdf();
    out.map(cdf.len());
    for (us, n) in cdf {
        out.int(us as i64);
        out.int(n as i64);
    }
}

/// LATENCY HISTOGRAM [command ...]
pub fn latency_histogram(ex: &mut Exec) {
    let mut names: Vec<String> = Vec::new();
    let mut add = |parent: Option<&Command>, c: &Command| {
        names.push(commands::full_name(parent, c));
        for s in c.subcommands {
            names.push(commands::full_name(Some(c), s));
        }
    };
    if ex.argv.len() == 2 {
        for c in commands::COMMANDS {
            add(None, c);
        }
    } else {
        for a in &ex.argv[2..] {
            if let Some((parent, c)) = lookup_full(a) {
                add(parent, c);
            }
        }
    }
    let with_data: Vec<(String, &crate::info::Histogram)> = names
        .into_iter()
        .filter_map(|n| {
            ex.st
                .stats
                .commands
                .get(n.as_str())
                .filter(|s| s.latency.total() > 0)
                .map(|s| (n, &s.latency))
        })
        .collect();
    ex.out.map(with_data.len());
    for (name, h) in with_data {
        reply_cdf(ex.out, &name, h);
    }
}

/// LATENCY HELP
pub fn latency_help(ex: &mut Exec) {
    help_reply(ex.out, "LATENCY", LATENCY_HELP);
}

// ---------------------------------------------------------------------------------------------
// DEBUG, MEMORY HELP
// ---------------------------------------------------------------------------------------------

/// C's `strtod` on a prefix: the longest leading decimal number, 0 when there is none.
fn strtod_prefix(s: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(s);
    let t = s.trim_start();
    let mut end = 0;
    for i in (1..=t.len()).rev() {
        if t.is_char_boundary(i) && t[..i].parse::<f64>().is_ok() {
            end = i;
            break;
        }
    }
    t[..end]
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// Bytes RDB uses to store a length (`rdbSaveLen`).
fn rdb_len_size(len: u64) -> u64 {
    if len < 1 << 6 {
        1
    } else if len < 1 << 14 {
        2
    } else if len <= u32::MAX as u64 {
        5
    } else {
        9
    }
}

/// Bytes RDB uses to store a string (no LZF compression assumed).
fn rdb_string_size(s: &[u8]) -> u64 {
    if s.len() <= 11 {
        if let Some(n) = parse_i64(s) {
            if n.to_string().as_bytes() == s {
                return if (-128..=127).contains(&n) {
                    2
                } else if (-32768..=32767).contains(&n) {
                    3
                } else if (i32::MIN as i64..=i32::MAX as i64).contains(&n) {
                    5
                } else {
                    rdb_len_size(s.len() as u64) + s.len() as u64
                };
            }
        }
    }
    rdb_len_size(s.len() as u64) + s.len() as u64
}

/// `mixDigest`: xor SHA1(data) into `digest`, then replace `digest` by its own SHA1.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1_smol::Sha1::from(&digest[..]).digest().bytes();
}

/// `xorDigest`: xor SHA1(data) into `digest`.
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let h = sha1_smol::Sha1::from(data).digest().bytes();
    for (d, x) in digest.iter_mut().zip(h) {
        *d ^= x;
    }
}

/// Redis's `xorObjectDigest` for one value (strings; other types mix their type only).
fn value_digest(digest: &mut [u8; 20], value: &store::Value, has_expire: bool) {
    let type_code: u32 = if value.is_string() { 0 } else { u32::MAX };
    mix_digest(digest, &type_code.to_be_bytes());
    if let Some(b) = value.as_bytes() {
        mix_digest(digest, &b);
    }
    if has_expire {
        xor_digest(digest, b"!!expire!!");
    }
}

fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// DEBUG DIGEST: Redis's dataset digest.
fn dataset_digest(st: &State) -> [u8; 20] {
    let mut fin = [0u8; 20];
    for (j, db) in st.ks.dbs.iter().enumerate() {
        if db.data.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(j as u32).to_be_bytes());
        for (key, entry) in db.data.iter() {
            let mut d = [0u8; 20];
            mix_digest(&mut d, key);
            value_digest(&mut d, &entry.value, db.expires.contains_key(&key[..]));
            xor_digest(&mut fin, &d);
        }
    }
    fin
}

fn debug_protocol(ex: &mut Exec) {
    let name = ex.argv[2].to_ascii_lowercase();
    let out = &mut *ex.out;
    match &name[..] {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.int(12345),
        // Redis replies exactly 3.141 (not PI).
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => {
            let n = b"1234567999999999999999999999999999999";
            if out.resp3() {
                out.raw(b"(");
                out.raw(n);
                out.raw(b"\r\n");
            } else {
                out.bulk(n);
            }
        }
        b"null" => out.null(),
        b"array" | b"set" => {
            if &name[..] == b"set" {
                out.set(3);
            } else {
                out.array(3);
            }
            for j in 0..3 {
                out.int(j);
            }
        }
        b"map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.bool(j == 1);
            }
        }
        b"attrib" => {
            if out.resp3() {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !out.resp3() {
                return out.error("ERR RESP2 is not supported by this command");
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.bool(true),
        b"false" => out.bool(false),
        b"verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => out.error(
            "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}

fn debug_object(ex: &mut Exec) {
    let db = ex.sess.db;
    let d = &ex.st.ks.dbs[db];
    let Some(entry) = d.data.get(&ex.argv[2][..]) else {
        return ex.out.error("ERR no such key");
    };
    let value = &entry.value;
    let shared =
        matches!(value, store::Value::Int(n) if (0..10000).contains(n)) && ex.st.cfg.maxmemory == 0;
    let refcount: i64 = if shared { i32::MAX as i64 } else { 1 };
    let serialized = value.as_bytes().map(|b| rdb_string_size(&b)).unwrap_or(0);
    let lru = entry.lru & 0xFF_FFFF;
    let clock = ((ex.now_ms / 1000) & 0xFF_FFFF) as u32;
    let idle = if clock >= lru {
        clock - lru
    } else {
        clock + (0xFF_FFFF - lru)
    };
    let line = format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        entry as *const store::Entry,
        refcount,
        value.encoding(),
        serialized,
        lru,
        idle
    );
    ex.out.simple(&line);
}

fn debug_populate(ex: &mut Exec) {
    let positive = |a: &[u8]| parse_i64(a).filter(|n| *n >= 0);
    let Some(count) = positive(&ex.argv[2]) else {
        return ex.out.error("ERR value is out of range, must be positive");
    };
    let size = if ex.argv.len() == 5 {
        match positive(&ex.argv[4]) {
            Some(s) => s as usize,
            None => return ex.out.error("ERR value is out of range, must be positive"),
        }
    } else {
        0
    };
    let prefix = if ex.argv.len() >= 4 {
        ex.argv[3].clone()
    } else {
        Bytes::from_static(b"key")
    };
    let db = ex.sess.db;
    for j in 0..count {
        let mut key = prefix[..prefix.len().min(100)].to_vec();
        key.extend_from_slice(format!(":{j}").as_bytes());
        if ex.st.ks.exists(db, &key) {
            continue;
        }
        let mut val = format!("value:{j}").into_bytes();
        if size > 0 {
            val.resize(size, 0);
        }
        ex.st
            .ks
            .set(db, &key, store::Value::string_owned(val), false);
        ex.st.ks.touch(db, &key);
    }
    ex.out.ok();
}

/// Redis's `allowProtectedAction` for `enable-debug-command`.
fn debug_allowed(ex: &Exec) -> bool {
    match ex.st.cfg.enable_debug_command {
        crate::config::ProtectedAction::Yes => true,
        crate::config::ProtectedAction::No => false,
        crate::config::ProtectedAction::Local => ex
            .st
            .clients
            .get(&ex.sess.id)
            .is_some_and(crate::cmd::client::is_local_client),
    }
}

/// DEBUG subcommand ...
pub fn debug(ex: &mut Exec) {
    if !debug_allowed(ex) {
        return ex.out.error("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
    }
    let sub = ex.argv[1].to_ascii_lowercase();
    let argc = ex.argv.len();
    match (&sub[..], argc) {
        (b"help", 2) => help_reply(ex.out, "DEBUG", DEBUG_HELP),
        (b"sleep", 3) => {
            let secs = strtod_prefix(&ex.argv[2]);
            let us = (secs * 1_000_000.0) as i64;
            if us > 0 {
                // Blocks the whole server, as Redis's DEBUG SLEEP does.
                std::thread::sleep(std::time::Duration::from_micros(us as u64));
            }
            ex.out.ok();
        }
        (b"set-active-expire", 3) => {
            ex.st.active_expire_enabled = parse_c_atoi(&ex.argv[2]) != 0;
            ex.out.ok();
        }
        (b"object", 3) => debug_object(ex),
        (b"reload", 2) => {
            let path = std::path::PathBuf::from(&ex.st.cfg.dbfilename);
            if crate::persist::save_rdb(ex.st, &path).is_err() {
                return ex.out.error("ERR Error trying to save the DB");
            }
            for db in 0..ex.st.ks.dbs.len() {
                ex.st.ks.flush_db(db);
            }
            if crate::persist::load_rdb(ex.st, &path).is_err() {
                return ex
                    .out
                    .error("ERR Error trying to load the RDB dump, check server logs.");
            }
            crate::warning!("DB reloaded by DEBUG RELOAD");
            ex.out.ok();
        }
        (b"populate", 3..=5) => debug_populate(ex),
        (b"log", 3) => {
            crate::warning!("DEBUG LOG: {}", String::from_utf8_lossy(&ex.argv[2]));
            ex.out.ok();
        }
        (b"error", 3) => {
            let msg = String::from_utf8_lossy(&ex.argv[2]).into_owned();
            ex.out.error(&msg);
        }
        (b"protocol", 3) => debug_protocol(ex),
        (b"digest", 2) => {
            let d = dataset_digest(ex.st);
            ex.out.simple(&hex(&d));
        }
        (b"digest-value", _) => {
            let db = ex.sess.db;
            let out = &mut *ex.out;
            out.array(argc - 2);
            for key in &ex.argv[2..] {
                let mut d = [0u8; 20];
                let dbr = &ex.st.ks.dbs[db];
                if let Some(e) = dbr.data.get(&key[..]) {
                    value_digest(&mut d, &e.value, dbr.expires.contains_key(&key[..]));
                }
                out.simple(&hex(&d));
            }
        }
        (b"change-repl-id", 2) => {
            crate::warning!("Changing replication IDs after receiving DEBUG change-repl-id");
            ex.st.repl.change_replid();
            ex.st.repl.clear_replid2();
            ex.out.ok();
        }
        _ => subcommand_syntax_error(ex),
    }
}

/// C's `atoi`: optional sign and leading digits, 0 otherwise.
fn parse_c_atoi(s: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(s);
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n: i64 = digits
        .bytes()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |acc, b| {
            acc.wrapping_mul(10).wrapping_add((b - b'0') as i64)
        });
    if neg {
        -n
    } else {
        n
    }
}

/// MEMORY HELP
pub fn memory_help(ex: &mut Exec) {
    help_reply(
        ex.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Subcommand tables
// ---------------------------------------------------------------------------------------------

macro_rules! sub {
    ($name:literal, $arity:expr, $flags:expr, $since:literal, $f:expr, $summary:literal) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            group: "server",
            summary: $summary,
            since: $since,
            handler: Handler::Server($f),
            subcommands: &[],
        }
    };
}

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const HELP_FLAGS: u32 = LOADING | STALE;

/// CONFIG subcommands.
pub static CONFIG_SUBCOMMANDS: &[Command] = &[
    sub!(
        "get",
        -3,
        ADM,
        "2.0.0",
        config_get,
        "Get the values of configuration parameters"
    ),
    sub!(
        "set",
        -4,
        ADM,
        "2.0.0",
        config_set,
        "Set configuration parameters to the given values"
    ),
    sub!(
        "rewrite",
        2,
        ADM,
        "2.8.0",
        config_rewrite,
        "Rewrite the configuration file with the in memory configuration"
    ),
    sub!(
        "help",
        2,
        HELP_FLAGS,
        "5.0.0",
        config_help,
        "Show helpful text about the different subcommands"
    ),
    sub!(
        "resetstat",
        2,
        ADM,
        "2.0.0",
        config_resetstat,
        "Reset the stats returned by INFO"
    ),
];

/// COMMAND subcommands.
pub static COMMAND_SUBCOMMANDS: &[Command] = &[
    sub!(
        "docs",
        -2,
        HELP_FLAGS,
        "7.0.0",
        command_docs,
        "Get array of specific Redis command documentation"
    ),
    sub!(
        "getkeysandflags",
        -4,
        HELP_FLAGS,
        "7.0.0",
        command_getkeysandflags,
        "Extract keys and access flags given a full Redis command"
    ),
    sub!(
        "info",
        -2,
        HELP_FLAGS,
        "2.8.13",
        command_info,
        "Get array of specific Redis command details, or all when no argument is given."
    ),
    sub!(
        "getkeys",
        -4,
        HELP_FLAGS,
        "2.8.13",
        command_getkeys,
        "Extract keys given a full Redis command"
    ),
    sub!(
        "help",
        2,
        HELP_FLAGS,
        "5.0.0",
        command_help,
        "Show helpful text about the different subcommands"
    ),
    sub!(
        "list",
        -2,
        HELP_FLAGS,
        "7.0.0",
        command_list,
        "Get an array of Redis command names"
    ),
    sub!(
        "count",
        2,
        HELP_FLAGS,
        "2.8.13",
        command_count,
        "Get total number of Redis commands"
    ),
];

/// SLOWLOG subcommands.
pub static SLOWLOG_SUBCOMMANDS: &[Command] = &[
    sub!(
        "get",
        -2,
        ADMIN | LOADING | STALE,
        "2.2.12",
        slowlog_get,
        "Get the slow log's entries"
    ),
    sub!(
        "len",
        2,
        ADMIN | LOADING | STALE,
        "2.2.12",
        slowlog_len,
        "Get the slow log's length"
    ),
    sub!(
        "reset",
        2,
        ADMIN | LOADING | STALE,
        "2.2.12",
        slowlog_reset,
        "Clear all entries from the slow log"
    ),
    sub!(
        "help",
        2,
        HELP_FLAGS,
        "6.2.0",
        slowlog_help,
        "Show helpful text about the different subcommands"
    ),
];

/// LATENCY subcommands.
pub static LATENCY_SUBCOMMANDS: &[Command] = &[
    sub!(
        "latest",
        2,
        ADM,
        "2.8.13",
        latency_latest,
        "Return the latest latency samples for all events."
    ),
    sub!(
        "doctor",
        2,
        ADM,
        "2.8.13",
        latency_doctor,
        "Return a human readable latency analysis report."
    ),
    sub!(
        "history",
        3,
        ADM,
        "2.8.13",
        latency_history,
        "Return timestamp-latency samples for the event."
    ),
    sub!(
        "reset",
        -2,
        ADM,
        "2.8.13",
        latency_reset,
        "Reset latency data for one or more events."
    ),
    sub!(
        "graph",
        3,
        ADM,
        "2.8.13",
        latency_graph,
        "Return a latency graph for the event."
    ),
    sub!(
        "help",
        2,
        HELP_FLAGS,
        "2.8.13",
        latency_help,
        "Show helpful text about the different subcommands."
    ),
    sub!(
        "histogram",
        -2,
        ADM,
        "7.0.0",
        latency_histogram,
        "Return the cumulative distribution of latencies of a subset of commands or all."
    ),
];

const CONFIG_HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];
/// COMMAND HELP's lines.
pub const COMMAND_HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
];
const SLOWLOG_HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];
const LATENCY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];
const DEBUG_HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

/// Redis 7.0.15's COMMAND INFO / COMMAND DOCS data beyond our table, one command per line:
/// name, ACL categories, tips, flags without a table bit, key specs (`flags|begin|find[|notes]`
/// joined by `;`), complexity, doc flags, deprecated since, replaced by — tab-separated.
const COMMAND_REF: &str = r#"acl	slow				Depends on subcommand.
acl|cat	slow				O(1) since the categories and commands are a fixed set.
acl|deluser	admin slow dangerous				O(1) amortized time considering the typical user.
acl|dryrun	admin slow dangerous				O(1).
acl|genpass	slow				O(1)
acl|getuser	admin slow dangerous				O(N). Where N is the number of password, command and pattern rules that the user has.
acl|help	slow				O(1)
acl|list	admin slow dangerous				O(N). Where N is the number of configured users.
acl|load	admin slow dangerous				O(N). Where N is the number of configured users.
acl|log	admin slow dangerous				O(N) with N being the number of entries shown.
acl|save	admin slow dangerous				O(N). Where N is the number of configured users.
acl|setuser	admin slow dangerous				O(N). Where N is the number of rules provided.
acl|users	admin slow dangerous				O(N). Where N is the number of configured users.
acl|whoami	slow				O(1)
append	write string fast			RW,insert|index:1|range:0:1:0	O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.
asking	fast connection				O(1)
auth	fast connection				O(N) where N is the number of passwords defined for the user
bgrewriteaof	admin slow dangerous		no_async_loading		O(1)
bgsave	admin slow dangerous		no_async_loading		O(1)
bitcount	read bitmap slow			RO,access|index:1|range:0:1:0	O(N)
bitfield	write bitmap slow			RW,access,update,variable_flags|index:1|range:0:1:0|This command allows both access and modification of the key	O(1) for each subcommand specified
bitfield_ro	read bitmap fast			RO,access|index:1|range:0:1:0	O(1) for each subcommand specified
bitop	write bitmap slow			OW,update|index:2|range:0:1:0;RO,access|index:3|range:-1:1:0	O(N)
bitpos	read bitmap slow			RO,access|index:1|range:0:1:0	O(N)
blmove	write list slow blocking			RW,access,delete|index:1|range:0:1:0;RW,insert|index:2|range:0:1:0	O(1)
blmpop	write list slow blocking		movablekeys	RW,access,delete|index:2|keynum:0:1:1	O(N+M) where N is the number of provided keys and M is the number of elements returned.
blpop	write list slow blocking			RW,access,delete|index:1|range:-2:1:0	O(N) where N is the number of provided keys.
brpop	write list slow blocking			RW,access,delete|index:1|range:-2:1:0	O(N) where N is the number of provided keys.
brpoplpush	write list slow blocking			RW,access,delete|index:1|range:0:1:0;RW,insert|index:2|range:0:1:0	O(1)	deprecated	6.2.0	`BLMOVE` with the `RIGHT` and `LEFT` arguments
bzmpop	write sortedset slow blocking		movablekeys	RW,access,delete|index:2|keynum:0:1:1	O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.
bzpopmax	write sortedset fast blocking			RW,access,delete|index:1|range:-2:1:0	O(log(N)) with N being the number of elements in the sorted set.
bzpopmin	write sortedset fast blocking			RW,access,delete|index:1|range:-2:1:0	O(log(N)) with N being the number of elements in the sorted set.
client	slow				Depends on subcommand.
client|caching	slow connection				O(1)
client|getname	slow connection				O(1)
client|getredir	slow connection				O(1)
client|help	slow connection				O(1)
client|id	slow connection				O(1)
client|info	slow connection	nondeterministic_output			O(1)
client|kill	admin slow dangerous connection				O(N) where N is the number of client connections
client|list	admin slow dangerous connection	nondeterministic_output			O(N) where N is the number of client connections
client|no-evict	admin slow dangerous connection				O(1)
client|pause	admin slow dangerous connection				O(1)
client|reply	slow connection				O(1)
client|setname	slow connection				O(1)
client|tracking	slow connection				O(1). Some options may introduce additional complexity.
client|trackinginfo	slow connection				O(1)
client|unblock	admin slow dangerous connection				O(log N) where N is the number of client connections
client|unpause	admin slow dangerous connection				O(N) Where N is the number of paused clients
cluster	slow				Depends on subcommand.
cluster|addslots	admin slow dangerous		no_async_loading		O(N) where N is the total number of hash slot arguments
cluster|addslotsrange	admin slow dangerous		no_async_loading		O(N) where N is the total number of the slots between the start slot and end slot arguments.
cluster|bumpepoch	admin slow dangerous	nondeterministic_output	no_async_loading		O(1)
cluster|count-failure-reports	admin slow dangerous	nondeterministic_output			O(N) where N is the number of failure reports
cluster|countkeysinslot	slow				O(1)
cluster|delslots	admin slow dangerous		no_async_loading		O(N) where N is the total number of hash slot arguments
cluster|delslotsrange	admin slow dangerous		no_async_loading		O(N) where N is the total number of the slots between the start slot and end slot arguments.
cluster|failover	admin slow dangerous		no_async_loading		O(1)
cluster|flushslots	admin slow dangerous		no_async_loading		O(1)
cluster|forget	admin slow dangerous		no_async_loading		O(1)
cluster|getkeysinslot	slow	nondeterministic_output			O(log(N)) where N is the number of requested keys
cluster|help	slow				O(1)
cluster|info	slow	nondeterministic_output			O(1)
cluster|keyslot	slow				O(N) where N is the number of bytes in the key
cluster|links	slow	nondeterministic_output			O(N) where N is the total number of Cluster nodes
cluster|meet	admin slow dangerous		no_async_loading		O(1)
cluster|myid	slow				O(1)
cluster|nodes	slow	nondeterministic_output			O(N) where N is the total number of Cluster nodes
cluster|replicas	admin slow dangerous	nondeterministic_output			O(1)
cluster|replicate	admin slow dangerous		no_async_loading		O(1)
cluster|reset	admin slow dangerous				O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.
cluster|saveconfig	admin slow dangerous		no_async_loading		O(1)
cluster|set-config-epoch	admin slow dangerous		no_async_loading		O(1)
cluster|setslot	admin slow dangerous		no_async_loading		O(1)
cluster|shards	slow	nondeterministic_output			O(N) where N is the total number of cluster nodes
cluster|slaves	admin slow dangerous	nondeterministic_output			O(1)	deprecated	5.0.0	`CLUSTER REPLICAS`
cluster|slots	slow	nondeterministic_output			O(N) where N is the total number of Cluster nodes	deprecated	7.0.0	`CLUSTER SHARDS`
command	slow connection	nondeterministic_output_order			O(N) where N is the total number of Redis commands
command|count	slow connection				O(1)
command|docs	slow connection	nondeterministic_output_order			O(N) where N is the number of commands to look up
command|getkeys	slow connection				O(N) where N is the number of arguments to the command
command|getkeysandflags	slow connection				O(N) where N is the number of arguments to the command
command|help	slow connection				O(1)
command|info	slow connection	nondeterministic_output_order			O(N) where N is the number of commands to look up
command|list	slow connection	nondeterministic_output_order			O(N) where N is the total number of Redis commands
config	slow				Depends on subcommand.
config|get	admin slow dangerous				O(N) when N is the number of configuration parameters provided
config|help	slow				O(1)
config|resetstat	admin slow dangerous				O(1)
config|rewrite	admin slow dangerous				O(1)
config|set	admin slow dangerous	request_policy:all_nodes response_policy:all_succeeded			O(N) when N is the number of configuration parameters provided
copy	keyspace write slow			RO,access|index:1|range:0:1:0;OW,update|index:2|range:0:1:0	O(N) worst case for collections, where N is the number of nested items. O(1) for string values.
dbsize	keyspace read fast	request_policy:all_shards response_policy:agg_sum			O(1)
debug	admin slow dangerous				Depends on subcommand.	syscmd
decr	write string fast			RW,access,update|index:1|range:0:1:0	O(1)
decrby	write string fast			RW,access,update|index:1|range:0:1:0	O(1)
del	keyspace write slow	request_policy:multi_shard response_policy:agg_sum		RM,delete|index:1|range:-1:1:0	O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).
discard	fast transaction				O(N), when N is the number of queued commands
dump	keyspace read slow	nondeterministic_output		RO,access|index:1|range:0:1:0	O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).
echo	fast connection				O(1)
eval	slow scripting		no_mandatory_keys movablekeys	RW,access,update|index:2|keynum:0:1:1|We cannot tell how the keys will be used so we assume the worst, RW and UPDATE	Depends on the script that is executed.
eval_ro	slow scripting		no_mandatory_keys movablekeys	RO,access|index:2|keynum:0:1:1|We cannot tell how the keys will be used so we assume the worst, RO and ACCESS	Depends on the script that is executed.
evalsha	slow scripting		no_mandatory_keys movablekeys	RW,access,update|index:2|keynum:0:1:1	Depends on the script that is executed.
evalsha_ro	slow scripting		no_mandatory_keys movablekeys	RO,access|index:2|keynum:0:1:1	Depends on the script that is executed.
exec	slow transaction				Depends on commands in the transaction
exists	keyspace read fast	request_policy:multi_shard response_policy:agg_sum		RO|index:1|range:-1:1:0	O(N) where N is the number of keys to check.
expire	keyspace write fast			RW,update|index:1|range:0:1:0	O(1)
expireat	keyspace write fast			RW,update|index:1|range:0:1:0	O(1)
expiretime	keyspace read fast			RO,access|index:1|range:0:1:0	O(1)
failover	admin slow dangerous				O(1)
fcall	slow scripting		no_mandatory_keys movablekeys	RW,access,update|index:2|keynum:0:1:1|We cannot tell how the keys will be used so we assume the worst, RW and UPDATE	Depends on the function that is executed.
fcall_ro	slow scripting		no_mandatory_keys movablekeys	RO,access|index:2|keynum:0:1:1|We cannot tell how the keys will be used so we assume the worst, RO and ACCESS	Depends on the function that is executed.
flushall	keyspace write slow dangerous	request_policy:all_shards response_policy:all_succeeded			O(N) where N is the total number of keys in all databases
flushdb	keyspace write slow dangerous	request_policy:all_shards response_policy:all_succeeded			O(N) where N is the number of keys in the selected database
function	slow				Depends on subcommand.
function|delete	write slow scripting	request_policy:all_shards response_policy:all_succeeded			O(1)
function|dump	slow scripting				O(N) where N is the number of functions
function|flush	write slow scripting	request_policy:all_shards response_policy:all_succeeded			O(N) where N is the number of functions deleted
function|help	slow scripting				O(1)
function|kill	slow scripting	request_policy:all_shards response_policy:one_succeeded			O(1)
function|list	slow scripting	nondeterministic_output_order			O(N) where N is the number of functions
function|load	write slow scripting	request_policy:all_shards response_policy:all_succeeded			O(1) (considering compilation time is redundant)
function|restore	write slow scripting	request_policy:all_shards response_policy:all_succeeded			O(N) where N is the number of functions on the payload
function|stats	slow scripting	nondeterministic_output request_policy:all_shards response_policy:special			O(1)
geoadd	write geo slow			RW,update|index:1|range:0:1:0	O(log(N)) for each item added, where N is the number of elements in the sorted set.
geodist	read geo slow			RO,access|index:1|range:0:1:0	O(log(N))
geohash	read geo slow			RO,access|index:1|range:0:1:0	O(log(N)) for each member requested, where N is the number of elements in the sorted set.
geopos	read geo slow			RO,access|index:1|range:0:1:0	O(N) where N is the number of members requested.
georadius	write geo slow		movablekeys	RO,access|index:1|range:0:1:0;OW,update|keyword:STORE:6|range:0:1:0;OW,update|keyword:STOREDIST:6|range:0:1:0	O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.	deprecated	6.2.0	`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` argument
georadius_ro	read geo slow			RO,access|index:1|range:0:1:0	O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.	deprecated	6.2.0	`GEOSEARCH` with the `BYRADIUS` argument
georadiusbymember	write geo slow		movablekeys	RO,access|index:1|range:0:1:0;OW,update|keyword:STORE:5|range:0:1:0;OW,update|keyword:STOREDIST:5|range:0:1:0	O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.	deprecated	6.2.0	`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` and `FROMMEMBER` arguments
georadiusbymember_ro	read geo slow			RO,access|index:1|range:0:1:0	O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.	deprecated	6.2.0	`GEOSEARCH` with the `BYRADIUS` and `FROMMEMBER` arguments
geosearch	read geo slow			RO,access|index:1|range:0:1:0	O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape
geosearchstore	write geo slow			OW,update|index:1|range:0:1:0;RO,access|index:2|range:0:1:0	O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape
get	read string fast			RO,access|index:1|range:0:1:0	O(1)
getbit	read bitmap fast			RO,access|index:1|range:0:1:0	O(1)
getdel	write string fast			RW,access,delete|index:1|range:0:1:0	O(1)
getex	write string fast			RW,access,update|index:1|range:0:1:0|RW and UPDATE because it changes the TTL	O(1)
getrange	read string slow			RO,access|index:1|range:0:1:0	O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.
getset	write string fast			RW,access,update|index:1|range:0:1:0	O(1)	deprecated	6.2.0	`SET` with the `!GET` argument
hdel	write hash fast			RW,delete|index:1|range:0:1:0	O(N) where N is the number of fields to be removed.
hello	fast connection				O(1)
hexists	read hash fast			RO|index:1|range:0:1:0	O(1)
hget	read hash fast			RO,access|index:1|range:0:1:0	O(1)
hgetall	read hash slow	nondeterministic_output_order		RO,access|index:1|range:0:1:0	O(N) where N is the size of the hash.
hincrby	write hash fast			RW,access,update|index:1|range:0:1:0	O(1)
hincrbyfloat	write hash fast			RW,access,update|index:1|range:0:1:0	O(1)
hkeys	read hash slow	nondeterministic_output_order		RO,access|index:1|range:0:1:0	O(N) where N is the size of the hash.
hlen	read hash fast			RO|index:1|range:0:1:0	O(1)
hmget	read hash fast			RO,access|index:1|range:0:1:0	O(N) where N is the number of fields being requested.
hmset	write hash fast			RW,update|index:1|range:0:1:0	O(N) where N is the number of fields being set.	deprecated	4.0.0	`HSET` with multiple field-value pairs
hrandfield	read hash slow	nondeterministic_output		RO,access|index:1|range:0:1:0	O(N) where N is the number of fields returned
hscan	read hash slow	nondeterministic_output		RO,access|index:1|range:0:1:0	O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..
hset	write hash fast			RW,update|index:1|range:0:1:0	O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.
hsetnx	write hash fast			RW,insert|index:1|range:0:1:0	O(1)
hstrlen	read hash fast			RO|index:1|range:0:1:0	O(1)
hvals	read hash slow	nondeterministic_output_order		RO,access|index:1|range:0:1:0	O(N) where N is the size of the hash.
incr	write string fast			RW,access,update|index:1|range:0:1:0	O(1)
incrby	write string fast			RW,access,update|index:1|range:0:1:0	O(1)
incrbyfloat	write string fast			RW,access,update|index:1|range:0:1:0	O(1)
info	slow dangerous	nondeterministic_output request_policy:all_shards response_policy:special			O(1)
keys	keyspace read slow dangerous	request_policy:all_shards nondeterministic_output_order			O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.
lastsave	admin fast dangerous	nondeterministic_output			O(1)
latency	slow				Depends on subcommand.
latency|doctor	admin slow dangerous	nondeterministic_output request_policy:all_nodes response_policy:special			O(1)
latency|graph	admin slow dangerous	nondeterministic_output request_policy:all_nodes response_policy:special			O(1)
latency|help	slow				O(1)
latency|histogram	admin slow dangerous	nondeterministic_output request_policy:all_nodes response_policy:special			O(N) where N is the number of commands with latency information being retrieved.
latency|history	admin slow dangerous	nondeterministic_output request_policy:all_nodes response_policy:special			O(1)
latency|latest	admin slow dangerous	nondeterministic_output request_policy:all_nodes response_policy:special			O(1)
latency|reset	admin slow dangerous	request_policy:all_nodes response_policy:all_succeeded			O(1)
lcs	read string slow			RO,access|index:1|range:1:1:0	O(N*M) where N and M are the lengths of s1 and s2, respectively
lindex	read list slow			RO,access|index:1|range:0:1:0	O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).
linsert	write list slow			RW,insert|index:1|range:0:1:0	O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).
llen	read list fast			RO|index:1|range:0:1:0	O(1)
lmove	write list slow			RW,access,delete|index:1|range:0:1:0;RW,insert|index:2|range:0:1:0	O(1)
lmpop	write list slow		movablekeys	RW,access,delete|index:1|keynum:0:1:1	O(N+M) where N is the number of provided keys and M is the number of elements returned.
lolwut	read fast
lpop	write list fast			RW,access,delete|index:1|range:0:1:0	O(N) where N is the number of elements returned
lpos	read list slow			RO,access|index:1|range:0:1:0	O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.
lpush	write list fast			RW,insert|index:1|range:0:1:0	O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.
lpushx	write list fast			RW,insert|index:1|range:0:1:0	O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.
lrange	read list slow			RO,access|index:1|range:0:1:0	O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.
lrem	write list slow			RW,delete|index:1|range:0:1:0	O(N+M) where N is the length of the list and M is the number of elements removed.
lset	write list slow			RW,update|index:1|range:0:1:0	O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).
ltrim	write list slow			RW,delete|index:1|range:0:1:0	O(N) where N is the number of elements to be removed by the operation.
memory	slow				Depends on subcommand.
memory|doctor	slow	nondeterministic_output request_policy:all_shards response_policy:special			O(1)
memory|help	slow				O(1)
memory|malloc-stats	slow	nondeterministic_output request_policy:all_shards response_policy:special			Depends on how much memory is allocated, could be slow
memory|purge	slow	request_policy:all_shards response_policy:all_succeeded			Depends on how much memory is allocated, could be slow
memory|stats	slow	nondeterministic_output request_policy:all_shards response_policy:special			O(1)
memory|usage	read slow			RO|index:2|range:0:1:0	O(N) where N is the number of samples.
mget	read string fast	request_policy:multi_shard		RO,access|index:1|range:-1:1:0	O(N) where N is the number of keys to retrieve.
migrate	keyspace write slow dangerous	nondeterministic_output	movablekeys	RW,access,delete|index:3|range:0:1:0;RW,access,delete,incomplete|keyword:KEYS:-2|range:-1:1:0	This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.
module	slow				Depends on subcommand.
module|help	slow				O(1)
module|list	admin slow dangerous	nondeterministic_output_order			O(N) where N is the number of loaded modules.
module|load	admin slow dangerous		no_async_loading		O(1)
module|loadex	admin slow dangerous		no_async_loading		O(1)
module|unload	admin slow dangerous		no_async_loading		O(1)
monitor	admin slow dangerous
move	keyspace write fast			RW,access,update|index:1|range:0:1:0	O(1)
mset	write string slow	request_policy:multi_shard response_policy:all_succeeded		OW,update|index:1|range:-1:2:0	O(N) where N is the number of keys to set.
msetnx	write string slow	request_policy:multi_shard response_policy:agg_min		OW,insert|index:1|range:-1:2:0	O(N) where N is the number of keys to set.
multi	fast transaction				O(1)
object	slow				Depends on subcommand.
object|encoding	keyspace read slow	nondeterministic_output		RO|index:2|range:0:1:0	O(1)
object|freq	keyspace read slow	nondeterministic_output		RO|index:2|range:0:1:0	O(1)
object|help	keyspace slow				O(1)
object|idletime	keyspace read slow	nondeterministic_output		RO|index:2|range:0:1:0	O(1)
object|refcount	keyspace read slow	nondeterministic_output		RO|index:2|range:0:1:0	O(1)
persist	keyspace write fast			RW,update|index:1|range:0:1:0	O(1)
pexpire	keyspace write fast			RW,update|index:1|range:0:1:0	O(1)
pexpireat	keyspace write fast			RW,update|index:1|range:0:1:0	O(1)
pexpiretime	keyspace read fast			RO,access|index:1|range:0:1:0	O(1)
pfadd	write hyperloglog fast			RW,insert|index:1|range:0:1:0	O(1) to add every element.
pfcount	read hyperloglog slow			RW,access|index:1|range:-1:1:0|RW because it may change the internal representation of the key, and propagate to replicas	O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.
pfdebug	write hyperloglog admin slow dangerous			RW,access|index:2|range:0:1:0	N/A	syscmd
pfmerge	write hyperloglog slow			RW,access,insert|index:1|range:0:1:0;RO,access|index:2|range:-1:1:0	O(N) to merge N HyperLogLogs, but with high constant times.
pfselftest	hyperloglog admin slow dangerous				N/A	syscmd
ping	fast connection	request_policy:all_shards response_policy:all_succeeded			O(1)
psetex	write string slow			OW,update|index:1|range:0:1:0	O(1)
psubscribe	pubsub slow				O(N) where N is the number of patterns the client is already subscribed to.
psync	admin slow dangerous		no_async_loading
pttl	keyspace read fast	nondeterministic_output		RO,access|index:1|range:0:1:0	O(1)
publish	pubsub fast				O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).
pubsub	slow				Depends on subcommand.
pubsub|channels	pubsub slow				O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)
pubsub|help	slow				O(1)
pubsub|numpat	pubsub slow				O(1)
pubsub|numsub	pubsub slow				O(N) for the NUMSUB subcommand, where N is the number of requested channels
pubsub|shardchannels	pubsub slow				O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).
pubsub|shardnumsub	pubsub slow				O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels
punsubscribe	pubsub slow				O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).
quit	fast connection				O(1)
randomkey	keyspace read slow	request_policy:all_shards nondeterministic_output			O(1)
readonly	fast connection				O(1)
readwrite	fast connection				O(1)
rename	keyspace write slow			RW,access,delete|index:1|range:0:1:0;OW,update|index:2|range:0:1:0	O(1)
renamenx	keyspace write fast			RW,access,delete|index:1|range:0:1:0;OW,insert|index:2|range:0:1:0	O(1)
replconf	admin slow dangerous				O(1)	syscmd
replicaof	admin slow dangerous		no_async_loading		O(1)
reset	fast connection				O(1)
restore	keyspace write slow dangerous			OW,update|index:1|range:0:1:0	O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).
restore-asking	keyspace write slow dangerous		asking	OW,update|index:1|range:0:1:0	O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).	syscmd
role	admin fast dangerous				O(1)
rpop	write list fast			RW,access,delete|index:1|range:0:1:0	O(N) where N is the number of elements returned
rpoplpush	write list slow			RW,access,delete|index:1|range:0:1:0;RW,insert|index:2|range:0:1:0	O(1)	deprecated	6.2.0	`LMOVE` with the `RIGHT` and `LEFT` arguments
rpush	write list fast			RW,insert|index:1|range:0:1:0	O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.
rpushx	write list fast			RW,insert|index:1|range:0:1:0	O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.
sadd	write set fast			RW,insert|index:1|range:0:1:0	O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.
save	admin slow dangerous		no_async_loading		O(N) where N is the total number of keys in all databases
scan	keyspace read slow	nondeterministic_output request_policy:special			O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.
scard	read set fast			RO|index:1|range:0:1:0	O(1)
script	slow				Depends on subcommand.
script|debug	slow scripting				O(1)
script|exists	slow scripting	request_policy:all_shards response_policy:agg_logical_and			O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).
script|flush	slow scripting	request_policy:all_nodes response_policy:all_succeeded			O(N) with N being the number of scripts in cache
script|help	slow scripting				O(1)
script|kill	slow scripting	request_policy:all_shards response_policy:one_succeeded			O(1)
script|load	slow scripting	request_policy:all_nodes response_policy:all_succeeded			O(N) with N being the length in bytes of the script body.
sdiff	read set slow	nondeterministic_output_order		RO,access|index:1|range:-1:1:0	O(N) where N is the total number of elements in all given sets.
sdiffstore	write set slow			OW,update|index:1|range:0:1:0;RO,access|index:2|range:-1:1:0	O(N) where N is the total number of elements in all given sets.
select	fast connection				O(1)
set	write string slow			RW,access,update,variable_flags|index:1|range:0:1:0|RW and ACCESS due to the optional `GET` argument	O(1)
setbit	write bitmap slow			RW,access,update|index:1|range:0:1:0	O(1)
setex	write string slow			OW,update|index:1|range:0:1:0	O(1)
setnx	write string fast			OW,insert|index:1|range:0:1:0	O(1)
setrange	write string slow			RW,update|index:1|range:0:1:0	O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.
shutdown	admin slow dangerous				O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)
sinter	read set slow	nondeterministic_output_order		RO,access|index:1|range:-1:1:0	O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.
sintercard	read set slow		movablekeys	RO,access|index:1|keynum:0:1:1	O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.
sinterstore	write set slow			RW,update|index:1|range:0:1:0;RO,access|index:2|range:-1:1:0	O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.
sismember	read set fast			RO|index:1|range:0:1:0	O(1)
slaveof	admin slow dangerous		no_async_loading		O(1)	deprecated	5.0.0	`REPLICAOF`
slowlog	slow				Depends on subcommand.
slowlog|get	admin slow dangerous	request_policy:all_nodes nondeterministic_output			O(N) where N is the number of entries returned
slowlog|help	slow				O(1)
slowlog|len	admin slow dangerous	request_policy:all_nodes response_policy:agg_sum nondeterministic_output			O(1)
slowlog|reset	admin slow dangerous	request_policy:all_nodes response_policy:all_succeeded			O(N) where N is the number of entries in the slowlog
smembers	read set slow	nondeterministic_output_order		RO,access|index:1|range:0:1:0	O(N) where N is the set cardinality.
smismember	read set fast			RO,access|index:1|range:0:1:0	O(N) where N is the number of elements being checked for membership
smove	write set fast			RW,access,delete|index:1|range:0:1:0;RW,insert|index:2|range:0:1:0	O(1)
sort	write set sortedset list slow dangerous		movablekeys	RO,access|index:1|range:0:1:0;RO,access|unknown|unknown|For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort;OW,update|unknown|unknown|For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array	O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).
sort_ro	read set sortedset list slow dangerous		movablekeys	RO,access|index:1|range:0:1:0;RO,access|unknown|unknown|For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort	O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).
spop	write set fast	nondeterministic_output		RW,access,delete|index:1|range:0:1:0	Without the count argument O(1), otherwise O(N) where N is the value of the passed count.
spublish	pubsub fast			not_key|index:1|range:0:1:0	O(N) where N is the number of clients subscribed to the receiving shard channel.
srandmember	read set slow	nondeterministic_output		RO,access|index:1|range:0:1:0	Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.
srem	write set fast			RW,delete|index:1|range:0:1:0	O(N) where N is the number of members to be removed.
sscan	read set slow	nondeterministic_output		RO,access|index:1|range:0:1:0	O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..
ssubscribe	pubsub slow			not_key|index:1|range:-1:1:0	O(N) where N is the number of shard channels to subscribe to.
strlen	read string fast			RO|index:1|range:0:1:0	O(1)
subscribe	pubsub slow				O(N) where N is the number of channels to subscribe to.
substr	read string slow			RO,access|index:1|range:0:1:0	O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.	deprecated	2.0.0	`GETRANGE`
sunion	read set slow	nondeterministic_output_order		RO,access|index:1|range:-1:1:0	O(N) where N is the total number of elements in all given sets.
sunionstore	write set slow			OW,update|index:1|range:0:1:0;RO,access|index:2|range:-1:1:0	O(N) where N is the total number of elements in all given sets.
sunsubscribe	pubsub slow			not_key|index:1|range:-1:1:0	O(N) where N is the number of clients already subscribed to a shard channel.
swapdb	keyspace write fast dangerous				O(N) where N is the count of clients watching or blocking on keys from both databases.
sync	admin slow dangerous		no_async_loading
time	fast	nondeterministic_output			O(1)
touch	keyspace read fast	request_policy:multi_shard response_policy:agg_sum		RO|index:1|range:-1:1:0	O(N) where N is the number of keys that will be touched.
ttl	keyspace read fast	nondeterministic_output		RO,access|index:1|range:0:1:0	O(1)
type	keyspace read fast			RO|index:1|range:0:1:0	O(1)
unlink	keyspace write fast	request_policy:multi_shard response_policy:agg_sum		RM,delete|index:1|range:-1:1:0	O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.
unsubscribe	pubsub slow				O(N) where N is the number of clients already subscribed to a channel.
unwatch	fast transaction				O(1)
wait	slow connection	request_policy:all_shards response_policy:agg_min			O(1)
watch	fast transaction			RO|index:1|range:-1:1:0	O(1) for every key.
xack	write stream fast			RW,update|index:1|range:0:1:0	O(1) for each message ID processed.
xadd	write stream fast	nondeterministic_output		RW,update|index:1|range:0:1:0|UPDATE instead of INSERT because of the optional trimming feature	O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.
xautoclaim	write stream fast	nondeterministic_output		RW,delete|index:1|range:0:1:0	O(1) if COUNT is small.
xclaim	write stream fast	nondeterministic_output		RW,update|index:1|range:0:1:0	O(log N) with N being the number of messages in the PEL of the consumer group.
xdel	write stream fast			RW,delete|index:1|range:0:1:0	O(1) for each single item to delete in the stream, regardless of the stream size.
xgroup	slow				Depends on subcommand.
xgroup|create	write stream slow			RW,insert|index:2|range:0:1:0	O(1)
xgroup|createconsumer	write stream slow			RW,insert|index:2|range:0:1:0	O(1)
xgroup|delconsumer	write stream slow			RW,delete|index:2|range:0:1:0	O(1)
xgroup|destroy	write stream slow			RW,delete|index:2|range:0:1:0	O(N) where N is the number of entries in the group's pending entries list (PEL).
xgroup|help	stream slow				O(1)
xgroup|setid	write stream slow			RW,update|index:2|range:0:1:0	O(1)
xinfo	slow				Depends on subcommand.
xinfo|consumers	read stream slow	nondeterministic_output		RO,access|index:2|range:0:1:0	O(1)
xinfo|groups	read stream slow			RO,access|index:2|range:0:1:0	O(1)
xinfo|help	stream slow				O(1)
xinfo|stream	read stream slow			RO,access|index:2|range:0:1:0	O(1)
xlen	read stream fast			RO|index:1|range:0:1:0	O(1)
xpending	read stream slow	nondeterministic_output		RO,access|index:1|range:0:1:0	O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.
xrange	read stream slow			RO,access|index:1|range:0:1:0	O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).
xread	read stream slow blocking		movablekeys	RO,access|keyword:STREAMS:1|range:-1:1:2	For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.
xreadgroup	write stream slow blocking		movablekeys	RO,access|keyword:STREAMS:4|range:-1:1:2	For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.
xrevrange	read stream slow			RO,access|index:1|range:0:1:0	O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).
xsetid	write stream fast			RW,update|index:1|range:0:1:0	O(1)
xtrim	write stream slow	nondeterministic_output		RW,delete|index:1|range:0:1:0	O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.
zadd	write sortedset fast			RW,update|index:1|range:0:1:0	O(log(N)) for each item added, where N is the number of elements in the sorted set.
zcard	read sortedset fast			RO|index:1|range:0:1:0	O(1)
zcount	read sortedset fast			RO,access|index:1|range:0:1:0	O(log(N)) with N being the number of elements in the sorted set.
zdiff	read sortedset slow		movablekeys	RO,access|index:1|keynum:0:1:1	O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.
zdiffstore	write sortedset slow		movablekeys	OW,update|index:1|range:0:1:0;RO,access|index:2|keynum:0:1:1	O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.
zincrby	write sortedset fast			RW,access,update|index:1|range:0:1:0	O(log(N)) where N is the number of elements in the sorted set.
zinter	read sortedset slow		movablekeys	RO,access|index:1|keynum:0:1:1	O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.
zintercard	read sortedset slow		movablekeys	RO,access|index:1|keynum:0:1:1	O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.
zinterstore	write sortedset slow		movablekeys	OW,update|index:1|range:0:1:0;RO,access|index:2|keynum:0:1:1	O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.
zlexcount	read sortedset fast			RO,access|index:1|range:0:1:0	O(log(N)) with N being the number of elements in the sorted set.
zmpop	write sortedset slow		movablekeys	RW,access,delete|index:1|keynum:0:1:1	O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.
zmscore	read sortedset fast			RO,access|index:1|range:0:1:0	O(N) where N is the number of members being requested.
zpopmax	write sortedset fast			RW,access,delete|index:1|range:0:1:0	O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.
zpopmin	write sortedset fast			RW,access,delete|index:1|range:0:1:0	O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.
zrandmember	read sortedset slow	nondeterministic_output		RO,access|index:1|range:0:1:0	O(N) where N is the number of elements returned
zrange	read sortedset slow			RO,access|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.
zrangebylex	read sortedset slow			RO,access|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).	deprecated	6.2.0	`ZRANGE` with the `BYLEX` argument
zrangebyscore	read sortedset slow			RO,access|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).	deprecated	6.2.0	`ZRANGE` with the `BYSCORE` argument
zrangestore	write sortedset slow			OW,update|index:1|range:0:1:0;RO,access|index:2|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.
zrank	read sortedset fast			RO,access|index:1|range:0:1:0	O(log(N))
zrem	write sortedset fast			RW,delete|index:1|range:0:1:0	O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.
zremrangebylex	write sortedset slow			RW,delete|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.
zremrangebyrank	write sortedset slow			RW,delete|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.
zremrangebyscore	write sortedset slow			RW,delete|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.
zrevrange	read sortedset slow			RO,access|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.	deprecated	6.2.0	`ZRANGE` with the `REV` argument
zrevrangebylex	read sortedset slow			RO,access|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).	deprecated	6.2.0	`ZRANGE` with the `REV` and `BYLEX` arguments
zrevrangebyscore	read sortedset slow			RO,access|index:1|range:0:1:0	O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).	deprecated	6.2.0	`ZRANGE` with the `REV` and `BYSCORE` arguments
zrevrank	read sortedset fast			RO,access|index:1|range:0:1:0	O(log(N))
zscan	read sortedset slow	nondeterministic_output		RO,access|index:1|range:0:1:0	O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..
zscore	read sortedset fast			RO,access|index:1|range:0:1:0	O(1)
zunion	read sortedset slow		movablekeys	RO,access|index:1|keynum:0:1:1	O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.
zunionstore	write sortedset slow		movablekeys	OW,update|index:1|range:0:1:0;RO,access|index:2|keynum:0:1:1	O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.
"#;

/// Redis 7.0.15's COMMAND DOCS `history` and `arguments`, one command per line: the name, a
/// tab, then a JSON object.
const COMMAND_DOCS_REF: &str = r#"acl|cat	{"arguments":[{"name":"categoryname","type":"string","flags":["optional"]}]}
acl|deluser	{"arguments":[{"name":"username","type":"string","flags":["multiple"]}]}
acl|dryrun	{"arguments":[{"name":"username","type":"string"},{"name":"command","type":"string"},{"name":"arg","type":"string","flags":["optional","multiple"]}]}
acl|genpass	{"arguments":[{"name":"bits","type":"integer","flags":["optional"]}]}
acl|getuser	{"history":[["6.2.0","Added Pub/Sub channel patterns."],["7.0.0","Added selectors and changed the format of key and channel patterns from a list to their rule representation."]],"arguments":[{"name":"username","type":"string"}]}
acl|log	{"arguments":[{"name":"operation","type":"oneof","flags":["optional"],"arguments":[{"name":"count","type":"integer"},{"name":"reset","type":"pure-token","token":"RESET"}]}]}
acl|setuser	{"history":[["6.2.0","Added Pub/Sub channel patterns."],["7.0.0","Added selectors and key based permissions."]],"arguments":[{"name":"username","type":"string"},{"name":"rule","type":"string","flags":["optional","multiple"]}]}
append	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"value","type":"string"}]}
auth	{"history":[["6.0.0","Added ACL style (username and password)."]],"arguments":[{"name":"username","type":"string","since":"6.0.0","flags":["optional"]},{"name":"password","type":"string"}]}
bgsave	{"history":[["3.2.2","Added the `SCHEDULE` option."]],"arguments":[{"name":"schedule","type":"pure-token","token":"SCHEDULE","since":"3.2.2","flags":["optional"]}]}
bitcount	{"history":[["7.0.0","Added the `BYTE|BIT` option."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"index","type":"block","flags":["optional"],"arguments":[{"name":"start","type":"integer"},{"name":"end","type":"integer"},{"name":"index_unit","type":"oneof","since":"7.0.0","flags":["optional"],"arguments":[{"name":"byte","type":"pure-token","token":"BYTE"},{"name":"bit","type":"pure-token","token":"BIT"}]}]}]}
bitfield	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"operation","type":"oneof","flags":["optional","multiple"],"arguments":[{"name":"encoding_offset","type":"block","token":"GET","arguments":[{"name":"encoding","type":"string"},{"name":"offset","type":"integer"}]},{"name":"write","type":"block","arguments":[{"name":"wrap_sat_fail","type":"oneof","token":"OVERFLOW","flags":["optional"],"arguments":[{"name":"wrap","type":"pure-token","token":"WRAP"},{"name":"sat","type":"pure-token","token":"SAT"},{"name":"fail","type":"pure-token","token":"FAIL"}]},{"name":"write_operation","type":"oneof","arguments":[{"name":"encoding_offset_value","type":"block","token":"SET","arguments":[{"name":"encoding","type":"string"},{"name":"offset","type":"integer"},{"name":"value","type":"integer"}]},{"name":"encoding_offset_increment","type":"block","token":"INCRBY","arguments":[{"name":"encoding","type":"string"},{"name":"offset","type":"integer"},{"name":"increment","type":"integer"}]}]}]}]}]}
bitfield_ro	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"encoding_offset","type":"block","token":"GET","flags":["optional","multiple","multiple_token"],"arguments":[{"name":"encoding","type":"string"},{"name":"offset","type":"integer"}]}]}
bitop	{"arguments":[{"name":"operation","type":"string"},{"name":"destkey","type":"key","key_spec_index":0},{"name":"key","type":"key","key_spec_index":1,"flags":["multiple"]}]}
bitpos	{"history":[["7.0.0","Added the `BYTE|BIT` option."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"bit","type":"integer"},{"name":"index","type":"block","flags":["optional"],"arguments":[{"name":"start","type":"integer"},{"name":"end_index","type":"block","flags":["optional"],"arguments":[{"name":"end","type":"integer"},{"name":"index_unit","type":"oneof","since":"7.0.0","flags":["optional"],"arguments":[{"name":"byte","type":"pure-token","token":"BYTE"},{"name":"bit","type":"pure-token","token":"BIT"}]}]}]}]}
blmove	{"arguments":[{"name":"source","type":"key","key_spec_index":0},{"name":"destination","type":"key","key_spec_index":1},{"name":"wherefrom","type":"oneof","arguments":[{"name":"left","type":"pure-token","token":"LEFT"},{"name":"right","type":"pure-token","token":"RIGHT"}]},{"name":"whereto","type":"oneof","arguments":[{"name":"left","type":"pure-token","token":"LEFT"},{"name":"right","type":"pure-token","token":"RIGHT"}]},{"name":"timeout","type":"double"}]}
blmpop	{"arguments":[{"name":"timeout","type":"double"},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"where","type":"oneof","arguments":[{"name":"left","type":"pure-token","token":"LEFT"},{"name":"right","type":"pure-token","token":"RIGHT"}]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
blpop	{"history":[["6.0.0","`timeout` is interpreted as a double instead of an integer."]],"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"timeout","type":"double"}]}
brpop	{"history":[["6.0.0","`timeout` is interpreted as a double instead of an integer."]],"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"timeout","type":"double"}]}
brpoplpush	{"history":[["6.0.0","`timeout` is interpreted as a double instead of an integer."]],"arguments":[{"name":"source","type":"key","key_spec_index":0},{"name":"destination","type":"key","key_spec_index":1},{"name":"timeout","type":"double"}]}
bzmpop	{"arguments":[{"name":"timeout","type":"double"},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"where","type":"oneof","arguments":[{"name":"min","type":"pure-token","token":"MIN"},{"name":"max","type":"pure-token","token":"MAX"}]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
bzpopmax	{"history":[["6.0.0","`timeout` is interpreted as a double instead of an integer."]],"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"timeout","type":"double"}]}
bzpopmin	{"history":[["6.0.0","`timeout` is interpreted as a double instead of an integer."]],"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"timeout","type":"double"}]}
client|caching	{"arguments":[{"name":"mode","type":"oneof","arguments":[{"name":"yes","type":"pure-token","token":"YES"},{"name":"no","type":"pure-token","token":"NO"}]}]}
client|kill	{"history":[["2.8.12","Added new filter format."],["2.8.12","`ID` option."],["3.2.0","Added `master` type in for `TYPE` option."],["5.0.0","Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility."],["6.2.0","`LADDR` option."]],"arguments":[{"name":"filter","type":"oneof","arguments":[{"name":"ip:port","type":"string","deprecated_since":"2.8.12"},{"name":"new-format","type":"oneof","flags":["multiple"],"arguments":[{"name":"client-id","type":"integer","token":"ID","since":"2.8.12","flags":["optional"]},{"name":"normal_master_slave_pubsub","type":"oneof","token":"TYPE","since":"2.8.12","flags":["optional"],"arguments":[{"name":"normal","type":"pure-token","token":"NORMAL"},{"name":"master","type":"pure-token","token":"MASTER","since":"3.2.0"},{"name":"slave","type":"pure-token","token":"SLAVE"},{"name":"replica","type":"pure-token","token":"REPLICA","since":"5.0.0"},{"name":"pubsub","type":"pure-token","token":"PUBSUB"}]},{"name":"username","type":"string","token":"USER","flags":["optional"]},{"name":"ip:port","type":"string","token":"ADDR","flags":["optional"]},{"name":"ip:port","type":"string","token":"LADDR","since":"6.2.0","flags":["optional"]},{"name":"yes/no","type":"string","token":"SKIPME","flags":["optional"]}]}]}]}
client|list	{"history":[["2.8.12","Added unique client `id` field."],["5.0.0","Added optional `TYPE` filter."],["6.0.0","Added `user` field."],["6.2.0","Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter."],["7.0.0","Added `resp`, `multi-mem`, `rbs` and `rbp` fields."],["7.0.3","Added `ssub` field."]],"arguments":[{"name":"normal_master_replica_pubsub","type":"oneof","token":"TYPE","since":"5.0.0","flags":["optional"],"arguments":[{"name":"normal","type":"pure-token","token":"NORMAL"},{"name":"master","type":"pure-token","token":"MASTER"},{"name":"replica","type":"pure-token","token":"REPLICA"},{"name":"pubsub","type":"pure-token","token":"PUBSUB"}]},{"name":"id","type":"block","token":"ID","since":"6.2.0","flags":["optional"],"arguments":[{"name":"client-id","type":"integer","flags":["multiple"]}]}]}
client|no-evict	{"arguments":[{"name":"enabled","type":"oneof","arguments":[{"name":"on","type":"pure-token","token":"ON"},{"name":"off","type":"pure-token","token":"OFF"}]}]}
client|pause	{"history":[["6.2.0","`CLIENT PAUSE WRITE` mode added along with the `mode` option."]],"arguments":[{"name":"timeout","type":"integer"},{"name":"mode","type":"oneof","since":"6.2.0","flags":["optional"],"arguments":[{"name":"write","type":"pure-token","token":"WRITE"},{"name":"all","type":"pure-token","token":"ALL"}]}]}
client|reply	{"arguments":[{"name":"on_off_skip","type":"oneof","arguments":[{"name":"on","type":"pure-token","token":"ON"},{"name":"off","type":"pure-token","token":"OFF"},{"name":"skip","type":"pure-token","token":"SKIP"}]}]}
client|setname	{"arguments":[{"name":"connection-name","type":"string"}]}
client|tracking	{"arguments":[{"name":"status","type":"oneof","arguments":[{"name":"on","type":"pure-token","token":"ON"},{"name":"off","type":"pure-token","token":"OFF"}]},{"name":"client-id","type":"integer","token":"REDIRECT","flags":["optional"]},{"name":"prefix","type":"string","token":"PREFIX","flags":["optional","multiple","multiple_token"]},{"name":"bcast","type":"pure-token","token":"BCAST","flags":["optional"]},{"name":"optin","type":"pure-token","token":"OPTIN","flags":["optional"]},{"name":"optout","type":"pure-token","token":"OPTOUT","flags":["optional"]},{"name":"noloop","type":"pure-token","token":"NOLOOP","flags":["optional"]}]}
client|unblock	{"arguments":[{"name":"client-id","type":"integer"},{"name":"timeout_error","type":"oneof","flags":["optional"],"arguments":[{"name":"timeout","type":"pure-token","token":"TIMEOUT"},{"name":"error","type":"pure-token","token":"ERROR"}]}]}
cluster|addslots	{"arguments":[{"name":"slot","type":"integer","flags":["multiple"]}]}
cluster|addslotsrange	{"arguments":[{"name":"start-slot_end-slot","type":"block","flags":["multiple"],"arguments":[{"name":"start-slot","type":"integer"},{"name":"end-slot","type":"integer"}]}]}
cluster|count-failure-reports	{"arguments":[{"name":"node-id","type":"string"}]}
cluster|countkeysinslot	{"arguments":[{"name":"slot","type":"integer"}]}
cluster|delslots	{"arguments":[{"name":"slot","type":"integer","flags":["multiple"]}]}
cluster|delslotsrange	{"arguments":[{"name":"start-slot_end-slot","type":"block","flags":["multiple"],"arguments":[{"name":"start-slot","type":"integer"},{"name":"end-slot","type":"integer"}]}]}
cluster|failover	{"arguments":[{"name":"options","type":"oneof","flags":["optional"],"arguments":[{"name":"force","type":"pure-token","token":"FORCE"},{"name":"takeover","type":"pure-token","token":"TAKEOVER"}]}]}
cluster|forget	{"arguments":[{"name":"node-id","type":"string"}]}
cluster|getkeysinslot	{"arguments":[{"name":"slot","type":"integer"},{"name":"count","type":"integer"}]}
cluster|keyslot	{"arguments":[{"name":"key","type":"string"}]}
cluster|meet	{"history":[["4.0.0","Added the optional `cluster_bus_port` argument."]],"arguments":[{"name":"ip","type":"string"},{"name":"port","type":"integer"},{"name":"cluster_bus_port","type":"integer","since":"4.0.0","flags":["optional"]}]}
cluster|replicas	{"arguments":[{"name":"node-id","type":"string"}]}
cluster|replicate	{"arguments":[{"name":"node-id","type":"string"}]}
cluster|reset	{"arguments":[{"name":"hard_soft","type":"oneof","flags":["optional"],"arguments":[{"name":"hard","type":"pure-token","token":"HARD"},{"name":"soft","type":"pure-token","token":"SOFT"}]}]}
cluster|set-config-epoch	{"arguments":[{"name":"config-epoch","type":"integer"}]}
cluster|setslot	{"arguments":[{"name":"slot","type":"integer"},{"name":"subcommand","type":"oneof","arguments":[{"name":"node-id","type":"string","token":"IMPORTING"},{"name":"node-id","type":"string","token":"MIGRATING"},{"name":"node-id","type":"string","token":"NODE"},{"name":"stable","type":"pure-token","token":"STABLE"}]}]}
cluster|slaves	{"arguments":[{"name":"node-id","type":"string"}]}
cluster|slots	{"history":[["4.0.0","Added node IDs."],["7.0.0","Added additional networking metadata field."]]}
command|docs	{"arguments":[{"name":"command-name","type":"string","flags":["optional","multiple"]}]}
command|info	{"history":[["7.0.0","Allowed to be called with no argument to get info on all commands."]],"arguments":[{"name":"command-name","type":"string","flags":["optional","multiple"]}]}
command|list	{"arguments":[{"name":"filterby","type":"oneof","token":"FILTERBY","flags":["optional"],"arguments":[{"name":"module-name","type":"string","token":"MODULE"},{"name":"category","type":"string","token":"ACLCAT"},{"name":"pattern","type":"pattern","token":"PATTERN"}]}]}
config|get	{"history":[["7.0.0","Added the ability to pass multiple pattern parameters in one call"]],"arguments":[{"name":"parameter","type":"block","flags":["multiple"],"arguments":[{"name":"parameter","type":"string"}]}]}
config|set	{"history":[["7.0.0","Added the ability to set multiple parameters in one call."]],"arguments":[{"name":"parameter_value","type":"block","flags":["multiple"],"arguments":[{"name":"parameter","type":"string"},{"name":"value","type":"string"}]}]}
copy	{"arguments":[{"name":"source","type":"key","key_spec_index":0},{"name":"destination","type":"key","key_spec_index":1},{"name":"destination-db","type":"integer","token":"DB","flags":["optional"]},{"name":"replace","type":"pure-token","token":"REPLACE","flags":["optional"]}]}
decr	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
decrby	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"decrement","type":"integer"}]}
del	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
dump	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
echo	{"arguments":[{"name":"message","type":"string"}]}
eval	{"arguments":[{"name":"script","type":"string"},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["optional","multiple"]},{"name":"arg","type":"string","flags":["optional","multiple"]}]}
eval_ro	{"arguments":[{"name":"script","type":"string"},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["optional","multiple"]},{"name":"arg","type":"string","flags":["optional","multiple"]}]}
evalsha	{"arguments":[{"name":"sha1","type":"string"},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["optional","multiple"]},{"name":"arg","type":"string","flags":["optional","multiple"]}]}
evalsha_ro	{"arguments":[{"name":"sha1","type":"string"},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["optional","multiple"]},{"name":"arg","type":"string","flags":["optional","multiple"]}]}
exists	{"history":[["3.0.3","Accepts multiple `key` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
expire	{"history":[["7.0.0","Added options: `NX`, `XX`, `GT` and `LT`."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"seconds","type":"integer"},{"name":"condition","type":"oneof","since":"7.0.0","flags":["optional"],"arguments":[{"name":"nx","type":"pure-token","token":"NX"},{"name":"xx","type":"pure-token","token":"XX"},{"name":"gt","type":"pure-token","token":"GT"},{"name":"lt","type":"pure-token","token":"LT"}]}]}
expireat	{"history":[["7.0.0","Added options: `NX`, `XX`, `GT` and `LT`."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"unix-time-seconds","type":"unix-time"},{"name":"condition","type":"oneof","since":"7.0.0","flags":["optional"],"arguments":[{"name":"nx","type":"pure-token","token":"NX"},{"name":"xx","type":"pure-token","token":"XX"},{"name":"gt","type":"pure-token","token":"GT"},{"name":"lt","type":"pure-token","token":"LT"}]}]}
expiretime	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
failover	{"arguments":[{"name":"target","type":"block","token":"TO","flags":["optional"],"arguments":[{"name":"host","type":"string"},{"name":"port","type":"integer"},{"name":"force","type":"pure-token","token":"FORCE","flags":["optional"]}]},{"name":"abort","type":"pure-token","token":"ABORT","flags":["optional"]},{"name":"milliseconds","type":"integer","token":"TIMEOUT","flags":["optional"]}]}
fcall	{"arguments":[{"name":"function","type":"string"},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["optional","multiple"]},{"name":"arg","type":"string","flags":["optional","multiple"]}]}
fcall_ro	{"arguments":[{"name":"function","type":"string"},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["optional","multiple"]},{"name":"arg","type":"string","flags":["optional","multiple"]}]}
flushall	{"history":[["4.0.0","Added the `ASYNC` flushing mode modifier."],["6.2.0","Added the `SYNC` flushing mode modifier."]],"arguments":[{"name":"async","type":"oneof","flags":["optional"],"arguments":[{"name":"async","type":"pure-token","token":"ASYNC","since":"4.0.0"},{"name":"sync","type":"pure-token","token":"SYNC","since":"6.2.0"}]}]}
flushdb	{"history":[["4.0.0","Added the `ASYNC` flushing mode modifier."],["6.2.0","Added the `SYNC` flushing mode modifier."]],"arguments":[{"name":"async","type":"oneof","flags":["optional"],"arguments":[{"name":"async","type":"pure-token","token":"ASYNC","since":"4.0.0"},{"name":"sync","type":"pure-token","token":"SYNC","since":"6.2.0"}]}]}
function|delete	{"arguments":[{"name":"library-name","type":"string"}]}
function|flush	{"arguments":[{"name":"async","type":"oneof","flags":["optional"],"arguments":[{"name":"async","type":"pure-token","token":"ASYNC"},{"name":"sync","type":"pure-token","token":"SYNC"}]}]}
function|list	{"arguments":[{"name":"library-name-pattern","type":"string","token":"LIBRARYNAME","flags":["optional"]},{"name":"withcode","type":"pure-token","token":"WITHCODE","flags":["optional"]}]}
function|load	{"arguments":[{"name":"replace","type":"pure-token","token":"REPLACE","flags":["optional"]},{"name":"function-code","type":"string"}]}
function|restore	{"arguments":[{"name":"serialized-value","type":"string"},{"name":"policy","type":"oneof","flags":["optional"],"arguments":[{"name":"flush","type":"pure-token","token":"FLUSH"},{"name":"append","type":"pure-token","token":"APPEND"},{"name":"replace","type":"pure-token","token":"REPLACE"}]}]}
geoadd	{"history":[["6.2.0","Added the `CH`, `NX` and `XX` options."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"condition","type":"oneof","since":"6.2.0","flags":["optional"],"arguments":[{"name":"nx","type":"pure-token","token":"NX"},{"name":"xx","type":"pure-token","token":"XX"}]},{"name":"change","type":"pure-token","token":"CH","since":"6.2.0","flags":["optional"]},{"name":"longitude_latitude_member","type":"block","flags":["multiple"],"arguments":[{"name":"longitude","type":"double"},{"name":"latitude","type":"double"},{"name":"member","type":"string"}]}]}
geodist	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member1","type":"string"},{"name":"member2","type":"string"},{"name":"unit","type":"oneof","flags":["optional"],"arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]}]}
geohash	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string","flags":["multiple"]}]}
geopos	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string","flags":["multiple"]}]}
georadius	{"history":[["6.2.0","Added the `ANY` option for `COUNT`."],["7.0.0","Added support for uppercase unit names."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"longitude","type":"double"},{"name":"latitude","type":"double"},{"name":"radius","type":"double"},{"name":"unit","type":"oneof","arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]},{"name":"withcoord","type":"pure-token","token":"WITHCOORD","flags":["optional"]},{"name":"withdist","type":"pure-token","token":"WITHDIST","flags":["optional"]},{"name":"withhash","type":"pure-token","token":"WITHHASH","flags":["optional"]},{"name":"count","type":"block","flags":["optional"],"arguments":[{"name":"count","type":"integer","token":"COUNT"},{"name":"any","type":"pure-token","token":"ANY","since":"6.2.0","flags":["optional"]}]},{"name":"order","type":"oneof","flags":["optional"],"arguments":[{"name":"asc","type":"pure-token","token":"ASC"},{"name":"desc","type":"pure-token","token":"DESC"}]},{"name":"key","type":"key","key_spec_index":1,"token":"STORE","flags":["optional"]},{"name":"key","type":"key","key_spec_index":2,"token":"STOREDIST","flags":["optional"]}]}
georadius_ro	{"history":[["6.2.0","Added the `ANY` option for `COUNT`."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"longitude","type":"double"},{"name":"latitude","type":"double"},{"name":"radius","type":"double"},{"name":"unit","type":"oneof","arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]},{"name":"withcoord","type":"pure-token","token":"WITHCOORD","flags":["optional"]},{"name":"withdist","type":"pure-token","token":"WITHDIST","flags":["optional"]},{"name":"withhash","type":"pure-token","token":"WITHHASH","flags":["optional"]},{"name":"count","type":"block","flags":["optional"],"arguments":[{"name":"count","type":"integer","token":"COUNT"},{"name":"any","type":"pure-token","token":"ANY","since":"6.2.0","flags":["optional"]}]},{"name":"order","type":"oneof","flags":["optional"],"arguments":[{"name":"asc","type":"pure-token","token":"ASC"},{"name":"desc","type":"pure-token","token":"DESC"}]}]}
georadiusbymember	{"history":[["7.0.0","Added support for uppercase unit names."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string"},{"name":"radius","type":"double"},{"name":"unit","type":"oneof","arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]},{"name":"withcoord","type":"pure-token","token":"WITHCOORD","flags":["optional"]},{"name":"withdist","type":"pure-token","token":"WITHDIST","flags":["optional"]},{"name":"withhash","type":"pure-token","token":"WITHHASH","flags":["optional"]},{"name":"count","type":"block","flags":["optional"],"arguments":[{"name":"count","type":"integer","token":"COUNT"},{"name":"any","type":"pure-token","token":"ANY","flags":["optional"]}]},{"name":"order","type":"oneof","flags":["optional"],"arguments":[{"name":"asc","type":"pure-token","token":"ASC"},{"name":"desc","type":"pure-token","token":"DESC"}]},{"name":"key","type":"key","key_spec_index":1,"token":"STORE","flags":["optional"]},{"name":"key","type":"key","key_spec_index":2,"token":"STOREDIST","flags":["optional"]}]}
georadiusbymember_ro	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string"},{"name":"radius","type":"double"},{"name":"unit","type":"oneof","arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]},{"name":"withcoord","type":"pure-token","token":"WITHCOORD","flags":["optional"]},{"name":"withdist","type":"pure-token","token":"WITHDIST","flags":["optional"]},{"name":"withhash","type":"pure-token","token":"WITHHASH","flags":["optional"]},{"name":"count","type":"block","flags":["optional"],"arguments":[{"name":"count","type":"integer","token":"COUNT"},{"name":"any","type":"pure-token","token":"ANY","flags":["optional"]}]},{"name":"order","type":"oneof","flags":["optional"],"arguments":[{"name":"asc","type":"pure-token","token":"ASC"},{"name":"desc","type":"pure-token","token":"DESC"}]}]}
geosearch	{"history":[["7.0.0","Added support for uppercase unit names."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"from","type":"oneof","arguments":[{"name":"member","type":"string","token":"FROMMEMBER"},{"name":"longitude_latitude","type":"block","token":"FROMLONLAT","arguments":[{"name":"longitude","type":"double"},{"name":"latitude","type":"double"}]}]},{"name":"by","type":"oneof","arguments":[{"name":"circle","type":"block","arguments":[{"name":"radius","type":"double","token":"BYRADIUS"},{"name":"unit","type":"oneof","arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]}]},{"name":"box","type":"block","arguments":[{"name":"width","type":"double","token":"BYBOX"},{"name":"height","type":"double"},{"name":"unit","type":"oneof","arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]}]}]},{"name":"order","type":"oneof","flags":["optional"],"arguments":[{"name":"asc","type":"pure-token","token":"ASC"},{"name":"desc","type":"pure-token","token":"DESC"}]},{"name":"count","type":"block","flags":["optional"],"arguments":[{"name":"count","type":"integer","token":"COUNT"},{"name":"any","type":"pure-token","token":"ANY","flags":["optional"]}]},{"name":"withcoord","type":"pure-token","token":"WITHCOORD","flags":["optional"]},{"name":"withdist","type":"pure-token","token":"WITHDIST","flags":["optional"]},{"name":"withhash","type":"pure-token","token":"WITHHASH","flags":["optional"]}]}
geosearchstore	{"history":[["7.0.0","Added support for uppercase unit names."]],"arguments":[{"name":"destination","type":"key","key_spec_index":0},{"name":"source","type":"key","key_spec_index":1},{"name":"from","type":"oneof","arguments":[{"name":"member","type":"string","token":"FROMMEMBER"},{"name":"longitude_latitude","type":"block","token":"FROMLONLAT","arguments":[{"name":"longitude","type":"double"},{"name":"latitude","type":"double"}]}]},{"name":"by","type":"oneof","arguments":[{"name":"circle","type":"block","arguments":[{"name":"radius","type":"double","token":"BYRADIUS"},{"name":"unit","type":"oneof","arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]}]},{"name":"box","type":"block","arguments":[{"name":"width","type":"double","token":"BYBOX"},{"name":"height","type":"double"},{"name":"unit","type":"oneof","arguments":[{"name":"m","type":"pure-token","token":"M"},{"name":"km","type":"pure-token","token":"KM"},{"name":"ft","type":"pure-token","token":"FT"},{"name":"mi","type":"pure-token","token":"MI"}]}]}]},{"name":"order","type":"oneof","flags":["optional"],"arguments":[{"name":"asc","type":"pure-token","token":"ASC"},{"name":"desc","type":"pure-token","token":"DESC"}]},{"name":"count","type":"block","flags":["optional"],"arguments":[{"name":"count","type":"integer","token":"COUNT"},{"name":"any","type":"pure-token","token":"ANY","flags":["optional"]}]},{"name":"storedist","type":"pure-token","token":"STOREDIST","flags":["optional"]}]}
get	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
getbit	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"offset","type":"integer"}]}
getdel	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
getex	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"expiration","type":"oneof","flags":["optional"],"arguments":[{"name":"seconds","type":"integer","token":"EX"},{"name":"milliseconds","type":"integer","token":"PX"},{"name":"unix-time-seconds","type":"unix-time","token":"EXAT"},{"name":"unix-time-milliseconds","type":"unix-time","token":"PXAT"},{"name":"persist","type":"pure-token","token":"PERSIST"}]}]}
getrange	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"start","type":"integer"},{"name":"end","type":"integer"}]}
getset	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"value","type":"string"}]}
hdel	{"history":[["2.4.0","Accepts multiple `field` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field","type":"string","flags":["multiple"]}]}
hello	{"history":[["6.2.0","`protover` made optional; when called without arguments the command reports the current connection's context."]],"arguments":[{"name":"arguments","type":"block","flags":["optional"],"arguments":[{"name":"protover","type":"integer"},{"name":"username_password","type":"block","token":"AUTH","flags":["optional"],"arguments":[{"name":"username","type":"string"},{"name":"password","type":"string"}]},{"name":"clientname","type":"string","token":"SETNAME","flags":["optional"]}]}]}
hexists	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field","type":"string"}]}
hget	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field","type":"string"}]}
hgetall	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
hincrby	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field","type":"string"},{"name":"increment","type":"integer"}]}
hincrbyfloat	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field","type":"string"},{"name":"increment","type":"double"}]}
hkeys	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
hlen	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
hmget	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field","type":"string","flags":["multiple"]}]}
hmset	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field_value","type":"block","flags":["multiple"],"arguments":[{"name":"field","type":"string"},{"name":"value","type":"string"}]}]}
hrandfield	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"options","type":"block","flags":["optional"],"arguments":[{"name":"count","type":"integer"},{"name":"withvalues","type":"pure-token","token":"WITHVALUES","flags":["optional"]}]}]}
hscan	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"cursor","type":"integer"},{"name":"pattern","type":"pattern","token":"MATCH","flags":["optional"]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
hset	{"history":[["4.0.0","Accepts multiple `field` and `value` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field_value","type":"block","flags":["multiple"],"arguments":[{"name":"field","type":"string"},{"name":"value","type":"string"}]}]}
hsetnx	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field","type":"string"},{"name":"value","type":"string"}]}
hstrlen	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"field","type":"string"}]}
hvals	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
incr	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
incrby	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"increment","type":"integer"}]}
incrbyfloat	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"increment","type":"double"}]}
info	{"history":[["7.0.0","Added support for taking multiple section arguments."]],"arguments":[{"name":"section","type":"string","flags":["optional","multiple"]}]}
keys	{"arguments":[{"name":"pattern","type":"pattern"}]}
latency|graph	{"arguments":[{"name":"event","type":"string"}]}
latency|histogram	{"arguments":[{"name":"command","type":"string","flags":["optional","multiple"]}]}
latency|history	{"arguments":[{"name":"event","type":"string"}]}
latency|reset	{"arguments":[{"name":"event","type":"string","flags":["optional","multiple"]}]}
lcs	{"arguments":[{"name":"key1","type":"key","key_spec_index":0},{"name":"key2","type":"key","key_spec_index":0},{"name":"len","type":"pure-token","token":"LEN","flags":["optional"]},{"name":"idx","type":"pure-token","token":"IDX","flags":["optional"]},{"name":"len","type":"integer","token":"MINMATCHLEN","flags":["optional"]},{"name":"withmatchlen","type":"pure-token","token":"WITHMATCHLEN","flags":["optional"]}]}
lindex	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"index","type":"integer"}]}
linsert	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"where","type":"oneof","arguments":[{"name":"before","type":"pure-token","token":"BEFORE"},{"name":"after","type":"pure-token","token":"AFTER"}]},{"name":"pivot","type":"string"},{"name":"element","type":"string"}]}
llen	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
lmove	{"arguments":[{"name":"source","type":"key","key_spec_index":0},{"name":"destination","type":"key","key_spec_index":1},{"name":"wherefrom","type":"oneof","arguments":[{"name":"left","type":"pure-token","token":"LEFT"},{"name":"right","type":"pure-token","token":"RIGHT"}]},{"name":"whereto","type":"oneof","arguments":[{"name":"left","type":"pure-token","token":"LEFT"},{"name":"right","type":"pure-token","token":"RIGHT"}]}]}
lmpop	{"arguments":[{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"where","type":"oneof","arguments":[{"name":"left","type":"pure-token","token":"LEFT"},{"name":"right","type":"pure-token","token":"RIGHT"}]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
lolwut	{"arguments":[{"name":"version","type":"integer","token":"VERSION","flags":["optional"]}]}
lpop	{"history":[["6.2.0","Added the `count` argument."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"count","type":"integer","since":"6.2.0","flags":["optional"]}]}
lpos	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"element","type":"string"},{"name":"rank","type":"integer","token":"RANK","flags":["optional"]},{"name":"num-matches","type":"integer","token":"COUNT","flags":["optional"]},{"name":"len","type":"integer","token":"MAXLEN","flags":["optional"]}]}
lpush	{"history":[["2.4.0","Accepts multiple `element` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"element","type":"string","flags":["multiple"]}]}
lpushx	{"history":[["4.0.0","Accepts multiple `element` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"element","type":"string","flags":["multiple"]}]}
lrange	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"start","type":"integer"},{"name":"stop","type":"integer"}]}
lrem	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"count","type":"integer"},{"name":"element","type":"string"}]}
lset	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"index","type":"integer"},{"name":"element","type":"string"}]}
ltrim	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"start","type":"integer"},{"name":"stop","type":"integer"}]}
memory|usage	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"count","type":"integer","token":"SAMPLES","flags":["optional"]}]}
mget	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
migrate	{"history":[["3.0.0","Added the `COPY` and `REPLACE` options."],["3.0.6","Added the `KEYS` option."],["4.0.7","Added the `AUTH` option."],["6.0.0","Added the `AUTH2` option."]],"arguments":[{"name":"host","type":"string"},{"name":"port","type":"integer"},{"name":"key_or_empty_string","type":"oneof","arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"empty_string","type":"pure-token","token":""}]},{"name":"destination-db","type":"integer"},{"name":"timeout","type":"integer"},{"name":"copy","type":"pure-token","token":"COPY","since":"3.0.0","flags":["optional"]},{"name":"replace","type":"pure-token","token":"REPLACE","since":"3.0.0","flags":["optional"]},{"name":"authentication","type":"oneof","flags":["optional"],"arguments":[{"name":"password","type":"string","token":"AUTH","since":"4.0.7","flags":["optional"]},{"name":"username_password","type":"block","token":"AUTH2","since":"6.0.0","flags":["optional"],"arguments":[{"name":"username","type":"string"},{"name":"password","type":"string"}]}]},{"name":"key","type":"key","key_spec_index":1,"token":"KEYS","since":"3.0.6","flags":["optional","multiple"]}]}
module|load	{"arguments":[{"name":"path","type":"string"},{"name":"arg","type":"string","flags":["optional","multiple"]}]}
module|loadex	{"arguments":[{"name":"path","type":"string"},{"name":"configs","type":"block","token":"CONFIG","flags":["optional","multiple","multiple_token"],"arguments":[{"name":"name","type":"string"},{"name":"value","type":"string"}]},{"name":"args","type":"block","token":"ARGS","flags":["optional","multiple"],"arguments":[{"name":"arg","type":"string"}]}]}
module|unload	{"arguments":[{"name":"name","type":"string"}]}
move	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"db","type":"integer"}]}
mset	{"arguments":[{"name":"key_value","type":"block","flags":["multiple"],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"value","type":"string"}]}]}
msetnx	{"arguments":[{"name":"key_value","type":"block","flags":["multiple"],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"value","type":"string"}]}]}
object|encoding	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
object|freq	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
object|idletime	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
object|refcount	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
persist	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
pexpire	{"history":[["7.0.0","Added options: `NX`, `XX`, `GT` and `LT`."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"milliseconds","type":"integer"},{"name":"condition","type":"oneof","since":"7.0.0","flags":["optional"],"arguments":[{"name":"nx","type":"pure-token","token":"NX"},{"name":"xx","type":"pure-token","token":"XX"},{"name":"gt","type":"pure-token","token":"GT"},{"name":"lt","type":"pure-token","token":"LT"}]}]}
pexpireat	{"history":[["7.0.0","Added options: `NX`, `XX`, `GT` and `LT`."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"unix-time-milliseconds","type":"unix-time"},{"name":"condition","type":"oneof","since":"7.0.0","flags":["optional"],"arguments":[{"name":"nx","type":"pure-token","token":"NX"},{"name":"xx","type":"pure-token","token":"XX"},{"name":"gt","type":"pure-token","token":"GT"},{"name":"lt","type":"pure-token","token":"LT"}]}]}
pexpiretime	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
pfadd	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"element","type":"string","flags":["optional","multiple"]}]}
pfcount	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
pfdebug	{"arguments":[{"name":"subcommand","type":"string"},{"name":"key","type":"key","key_spec_index":0}]}
pfmerge	{"arguments":[{"name":"destkey","type":"key","key_spec_index":0},{"name":"sourcekey","type":"key","key_spec_index":1,"flags":["multiple"]}]}
ping	{"arguments":[{"name":"message","type":"string","flags":["optional"]}]}
psetex	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"milliseconds","type":"integer"},{"name":"value","type":"string"}]}
psubscribe	{"arguments":[{"name":"pattern","type":"block","flags":["multiple"],"arguments":[{"name":"pattern","type":"pattern"}]}]}
psync	{"arguments":[{"name":"replicationid","type":"string"},{"name":"offset","type":"integer"}]}
pttl	{"history":[["2.8.0","Added the -2 reply."]],"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
publish	{"arguments":[{"name":"channel","type":"string"},{"name":"message","type":"string"}]}
pubsub|channels	{"arguments":[{"name":"pattern","type":"pattern","flags":["optional"]}]}
pubsub|numsub	{"arguments":[{"name":"channel","type":"string","flags":["optional","multiple"]}]}
pubsub|shardchannels	{"arguments":[{"name":"pattern","type":"pattern","flags":["optional"]}]}
pubsub|shardnumsub	{"arguments":[{"name":"shardchannel","type":"string","flags":["optional","multiple"]}]}
punsubscribe	{"arguments":[{"name":"pattern","type":"pattern","flags":["optional","multiple"]}]}
rename	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"newkey","type":"key","key_spec_index":1}]}
renamenx	{"history":[["3.2.0","The command no longer returns an error when source and destination names are the same."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"newkey","type":"key","key_spec_index":1}]}
replicaof	{"arguments":[{"name":"args","type":"oneof","arguments":[{"name":"host-port","type":"block","arguments":[{"name":"host","type":"string"},{"name":"port","type":"integer"}]},{"name":"no-one","type":"block","arguments":[{"name":"no","type":"pure-token","token":"NO"},{"name":"one","type":"pure-token","token":"ONE"}]}]}]}
restore	{"history":[["3.0.0","Added the `REPLACE` modifier."],["5.0.0","Added the `ABSTTL` modifier."],["5.0.0","Added the `IDLETIME` and `FREQ` options."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"ttl","type":"integer"},{"name":"serialized-value","type":"string"},{"name":"replace","type":"pure-token","token":"REPLACE","since":"3.0.0","flags":["optional"]},{"name":"absttl","type":"pure-token","token":"ABSTTL","since":"5.0.0","flags":["optional"]},{"name":"seconds","type":"integer","token":"IDLETIME","since":"5.0.0","flags":["optional"]},{"name":"frequency","type":"integer","token":"FREQ","since":"5.0.0","flags":["optional"]}]}
restore-asking	{"history":[["3.0.0","Added the `REPLACE` modifier."],["5.0.0","Added the `ABSTTL` modifier."],["5.0.0","Added the `IDLETIME` and `FREQ` options."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"ttl","type":"integer"},{"name":"serialized-value","type":"string"},{"name":"replace","type":"pure-token","token":"REPLACE","since":"3.0.0","flags":["optional"]},{"name":"absttl","type":"pure-token","token":"ABSTTL","since":"5.0.0","flags":["optional"]},{"name":"seconds","type":"integer","token":"IDLETIME","since":"5.0.0","flags":["optional"]},{"name":"frequency","type":"integer","token":"FREQ","since":"5.0.0","flags":["optional"]}]}
rpop	{"history":[["6.2.0","Added the `count` argument."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"count","type":"integer","since":"6.2.0","flags":["optional"]}]}
rpoplpush	{"arguments":[{"name":"source","type":"key","key_spec_index":0},{"name":"destination","type":"key","key_spec_index":1}]}
rpush	{"history":[["2.4.0","Accepts multiple `element` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"element","type":"string","flags":["multiple"]}]}
rpushx	{"history":[["4.0.0","Accepts multiple `element` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"element","type":"string","flags":["multiple"]}]}
sadd	{"history":[["2.4.0","Accepts multiple `member` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string","flags":["multiple"]}]}
scan	{"history":[["6.0.0","Added the `TYPE` subcommand."]],"arguments":[{"name":"cursor","type":"integer"},{"name":"pattern","type":"pattern","token":"MATCH","flags":["optional"]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]},{"name":"type","type":"string","token":"TYPE","since":"6.0.0","flags":["optional"]}]}
scard	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
script|debug	{"arguments":[{"name":"mode","type":"oneof","arguments":[{"name":"yes","type":"pure-token","token":"YES"},{"name":"sync","type":"pure-token","token":"SYNC"},{"name":"no","type":"pure-token","token":"NO"}]}]}
script|exists	{"arguments":[{"name":"sha1","type":"string","flags":["multiple"]}]}
script|flush	{"history":[["6.2.0","Added the `ASYNC` and `SYNC` flushing mode modifiers."]],"arguments":[{"name":"async","type":"oneof","since":"6.2.0","flags":["optional"],"arguments":[{"name":"async","type":"pure-token","token":"ASYNC"},{"name":"sync","type":"pure-token","token":"SYNC"}]}]}
script|load	{"arguments":[{"name":"script","type":"string"}]}
sdiff	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
sdiffstore	{"arguments":[{"name":"destination","type":"key","key_spec_index":0},{"name":"key","type":"key","key_spec_index":1,"flags":["multiple"]}]}
select	{"arguments":[{"name":"index","type":"integer"}]}
set	{"history":[["2.6.12","Added the `EX`, `PX`, `NX` and `XX` options."],["6.0.0","Added the `KEEPTTL` option."],["6.2.0","Added the `GET`, `EXAT` and `PXAT` option."],["7.0.0","Allowed the `NX` and `GET` options to be used together."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"value","type":"string"},{"name":"condition","type":"oneof","since":"2.6.12","flags":["optional"],"arguments":[{"name":"nx","type":"pure-token","token":"NX"},{"name":"xx","type":"pure-token","token":"XX"}]},{"name":"get","type":"pure-token","token":"GET","since":"6.2.0","flags":["optional"]},{"name":"expiration","type":"oneof","flags":["optional"],"arguments":[{"name":"seconds","type":"integer","token":"EX","since":"2.6.12"},{"name":"milliseconds","type":"integer","token":"PX","since":"2.6.12"},{"name":"unix-time-seconds","type":"unix-time","token":"EXAT","since":"6.2.0"},{"name":"unix-time-milliseconds","type":"unix-time","token":"PXAT","since":"6.2.0"},{"name":"keepttl","type":"pure-token","token":"KEEPTTL","since":"6.0.0"}]}]}
setbit	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"offset","type":"integer"},{"name":"value","type":"integer"}]}
setex	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"seconds","type":"integer"},{"name":"value","type":"string"}]}
setnx	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"value","type":"string"}]}
setrange	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"offset","type":"integer"},{"name":"value","type":"string"}]}
shutdown	{"history":[["7.0.0","Added the `NOW`, `FORCE` and `ABORT` modifiers."]],"arguments":[{"name":"nosave_save","type":"oneof","flags":["optional"],"arguments":[{"name":"nosave","type":"pure-token","token":"NOSAVE"},{"name":"save","type":"pure-token","token":"SAVE"}]},{"name":"now","type":"pure-token","token":"NOW","since":"7.0.0","flags":["optional"]},{"name":"force","type":"pure-token","token":"FORCE","since":"7.0.0","flags":["optional"]},{"name":"abort","type":"pure-token","token":"ABORT","since":"7.0.0","flags":["optional"]}]}
sinter	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
sintercard	{"arguments":[{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"limit","type":"integer","token":"LIMIT","flags":["optional"]}]}
sinterstore	{"arguments":[{"name":"destination","type":"key","key_spec_index":0},{"name":"key","type":"key","key_spec_index":1,"flags":["multiple"]}]}
sismember	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string"}]}
slaveof	{"arguments":[{"name":"args","type":"oneof","arguments":[{"name":"host-port","type":"block","arguments":[{"name":"host","type":"string"},{"name":"port","type":"integer"}]},{"name":"no-one","type":"block","arguments":[{"name":"no","type":"pure-token","token":"NO"},{"name":"one","type":"pure-token","token":"ONE"}]}]}]}
slowlog|get	{"history":[["4.0.0","Added client IP address, port and name to the reply."]],"arguments":[{"name":"count","type":"integer","flags":["optional"]}]}
smembers	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
smismember	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string","flags":["multiple"]}]}
smove	{"arguments":[{"name":"source","type":"key","key_spec_index":0},{"name":"destination","type":"key","key_spec_index":1},{"name":"member","type":"string"}]}
sort	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"pattern","type":"pattern","key_spec_index":1,"token":"BY","flags":["optional"]},{"name":"offset_count","type":"block","token":"LIMIT","flags":["optional"],"arguments":[{"name":"offset","type":"integer"},{"name":"count","type":"integer"}]},{"name":"pattern","type":"pattern","key_spec_index":1,"token":"GET","flags":["optional","multiple","multiple_token"]},{"name":"order","type":"oneof","flags":["optional"],"arguments":[{"name":"asc","type":"pure-token","token":"ASC"},{"name":"desc","type":"pure-token","token":"DESC"}]},{"name":"sorting","type":"pure-token","token":"ALPHA","flags":["optional"]},{"name":"destination","type":"key","key_spec_index":2,"token":"STORE","flags":["optional"]}]}
sort_ro	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"pattern","type":"pattern","key_spec_index":1,"token":"BY","flags":["optional"]},{"name":"offset_count","type":"block","token":"LIMIT","flags":["optional"],"arguments":[{"name":"offset","type":"integer"},{"name":"count","type":"integer"}]},{"name":"pattern","type":"pattern","key_spec_index":1,"token":"GET","flags":["optional","multiple","multiple_token"]},{"name":"order","type":"oneof","flags":["optional"],"arguments":[{"name":"asc","type":"pure-token","token":"ASC"},{"name":"desc","type":"pure-token","token":"DESC"}]},{"name":"sorting","type":"pure-token","token":"ALPHA","flags":["optional"]}]}
spop	{"history":[["3.2.0","Added the `count` argument."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"count","type":"integer","since":"3.2.0","flags":["optional"]}]}
spublish	{"arguments":[{"name":"shardchannel","type":"string"},{"name":"message","type":"string"}]}
srandmember	{"history":[["2.6.0","Added the optional `count` argument."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"count","type":"integer","since":"2.6.0","flags":["optional"]}]}
srem	{"history":[["2.4.0","Accepts multiple `member` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string","flags":["multiple"]}]}
sscan	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"cursor","type":"integer"},{"name":"pattern","type":"pattern","token":"MATCH","flags":["optional"]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
ssubscribe	{"arguments":[{"name":"shardchannel","type":"string","flags":["multiple"]}]}
strlen	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
subscribe	{"arguments":[{"name":"channel","type":"string","flags":["multiple"]}]}
substr	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"start","type":"integer"},{"name":"end","type":"integer"}]}
sunion	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
sunionstore	{"arguments":[{"name":"destination","type":"key","key_spec_index":0},{"name":"key","type":"key","key_spec_index":1,"flags":["multiple"]}]}
sunsubscribe	{"arguments":[{"name":"shardchannel","type":"string","flags":["optional","multiple"]}]}
swapdb	{"arguments":[{"name":"index1","type":"integer"},{"name":"index2","type":"integer"}]}
touch	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
ttl	{"history":[["2.8.0","Added the -2 reply."]],"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
type	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
unlink	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
unsubscribe	{"arguments":[{"name":"channel","type":"string","flags":["optional","multiple"]}]}
wait	{"arguments":[{"name":"numreplicas","type":"integer"},{"name":"timeout","type":"integer"}]}
watch	{"arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]}]}
xack	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"group","type":"string"},{"name":"id","type":"string","flags":["multiple"]}]}
xadd	{"history":[["6.2.0","Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` option."],["7.0.0","Added support for the `<ms>-*` explicit ID form."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"nomkstream","type":"pure-token","token":"NOMKSTREAM","since":"6.2.0","flags":["optional"]},{"name":"trim","type":"block","flags":["optional"],"arguments":[{"name":"strategy","type":"oneof","arguments":[{"name":"maxlen","type":"pure-token","token":"MAXLEN"},{"name":"minid","type":"pure-token","token":"MINID","since":"6.2.0"}]},{"name":"operator","type":"oneof","flags":["optional"],"arguments":[{"name":"equal","type":"pure-token","token":"="},{"name":"approximately","type":"pure-token","token":"~"}]},{"name":"threshold","type":"string"},{"name":"count","type":"integer","token":"LIMIT","since":"6.2.0","flags":["optional"]}]},{"name":"id_or_auto","type":"oneof","arguments":[{"name":"auto_id","type":"pure-token","token":"*"},{"name":"id","type":"string"}]},{"name":"field_value","type":"block","flags":["multiple"],"arguments":[{"name":"field","type":"string"},{"name":"value","type":"string"}]}]}
xautoclaim	{"history":[["7.0.0","Added an element to the reply array, containing deleted entries the command cleared from the PEL"]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"group","type":"string"},{"name":"consumer","type":"string"},{"name":"min-idle-time","type":"string"},{"name":"start","type":"string"},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]},{"name":"justid","type":"pure-token","token":"JUSTID","flags":["optional"]}]}
xclaim	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"group","type":"string"},{"name":"consumer","type":"string"},{"name":"min-idle-time","type":"string"},{"name":"id","type":"string","flags":["multiple"]},{"name":"ms","type":"integer","token":"IDLE","flags":["optional"]},{"name":"unix-time-milliseconds","type":"unix-time","token":"TIME","flags":["optional"]},{"name":"count","type":"integer","token":"RETRYCOUNT","flags":["optional"]},{"name":"force","type":"pure-token","token":"FORCE","flags":["optional"]},{"name":"justid","type":"pure-token","token":"JUSTID","flags":["optional"]},{"name":"id","type":"string","token":"LASTID","flags":["optional"]}]}
xdel	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"id","type":"string","flags":["multiple"]}]}
xgroup|create	{"history":[["7.0.0","Added the `entries_read` named argument."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"groupname","type":"string"},{"name":"id","type":"oneof","arguments":[{"name":"id","type":"string"},{"name":"new_id","type":"pure-token","token":"$"}]},{"name":"mkstream","type":"pure-token","token":"MKSTREAM","flags":["optional"]},{"name":"entries_read","type":"integer","token":"ENTRIESREAD","flags":["optional"]}]}
xgroup|createconsumer	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"groupname","type":"string"},{"name":"consumername","type":"string"}]}
xgroup|delconsumer	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"groupname","type":"string"},{"name":"consumername","type":"string"}]}
xgroup|destroy	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"groupname","type":"string"}]}
xgroup|setid	{"history":[["7.0.0","Added the optional `entries_read` argument."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"groupname","type":"string"},{"name":"id","type":"oneof","arguments":[{"name":"id","type":"string"},{"name":"new_id","type":"pure-token","token":"$"}]},{"name":"entries_read","type":"integer","token":"ENTRIESREAD","flags":["optional"]}]}
xinfo|consumers	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"groupname","type":"string"}]}
xinfo|groups	{"history":[["7.0.0","Added the `entries-read` and `lag` fields"]],"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
xinfo|stream	{"history":[["6.0.0","Added the `FULL` modifier."],["7.0.0","Added the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields"]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"full","type":"block","token":"FULL","flags":["optional"],"arguments":[{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}]}
xlen	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
xpending	{"history":[["6.2.0","Added the `IDLE` option and exclusive range intervals."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"group","type":"string"},{"name":"filters","type":"block","flags":["optional"],"arguments":[{"name":"min-idle-time","type":"integer","token":"IDLE","since":"6.2.0","flags":["optional"]},{"name":"start","type":"string"},{"name":"end","type":"string"},{"name":"count","type":"integer"},{"name":"consumer","type":"string","flags":["optional"]}]}]}
xrange	{"history":[["6.2.0","Added exclusive ranges."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"start","type":"string"},{"name":"end","type":"string"},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
xread	{"arguments":[{"name":"count","type":"integer","token":"COUNT","flags":["optional"]},{"name":"milliseconds","type":"integer","token":"BLOCK","flags":["optional"]},{"name":"streams","type":"block","token":"STREAMS","arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"id","type":"string","flags":["multiple"]}]}]}
xreadgroup	{"arguments":[{"name":"group_consumer","type":"block","token":"GROUP","arguments":[{"name":"group","type":"string"},{"name":"consumer","type":"string"}]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]},{"name":"milliseconds","type":"integer","token":"BLOCK","flags":["optional"]},{"name":"noack","type":"pure-token","token":"NOACK","flags":["optional"]},{"name":"streams","type":"block","token":"STREAMS","arguments":[{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"id","type":"string","flags":["multiple"]}]}]}
xrevrange	{"history":[["6.2.0","Added exclusive ranges."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"end","type":"string"},{"name":"start","type":"string"},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
xsetid	{"history":[["7.0.0","Added the `entries_added` and `max_deleted_entry_id` arguments."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"last-id","type":"string"},{"name":"entries_added","type":"integer","token":"ENTRIESADDED","since":"7.0.0","flags":["optional"]},{"name":"max_deleted_entry_id","type":"string","token":"MAXDELETEDID","since":"7.0.0","flags":["optional"]}]}
xtrim	{"history":[["6.2.0","Added the `MINID` trimming strategy and the `LIMIT` option."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"trim","type":"block","arguments":[{"name":"strategy","type":"oneof","arguments":[{"name":"maxlen","type":"pure-token","token":"MAXLEN"},{"name":"minid","type":"pure-token","token":"MINID","since":"6.2.0"}]},{"name":"operator","type":"oneof","flags":["optional"],"arguments":[{"name":"equal","type":"pure-token","token":"="},{"name":"approximately","type":"pure-token","token":"~"}]},{"name":"threshold","type":"string"},{"name":"count","type":"integer","token":"LIMIT","since":"6.2.0","flags":["optional"]}]}]}
zadd	{"history":[["2.4.0","Accepts multiple elements."],["3.0.2","Added the `XX`, `NX`, `CH` and `INCR` options."],["6.2.0","Added the `GT` and `LT` options."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"condition","type":"oneof","since":"3.0.2","flags":["optional"],"arguments":[{"name":"nx","type":"pure-token","token":"NX"},{"name":"xx","type":"pure-token","token":"XX"}]},{"name":"comparison","type":"oneof","since":"6.2.0","flags":["optional"],"arguments":[{"name":"gt","type":"pure-token","token":"GT"},{"name":"lt","type":"pure-token","token":"LT"}]},{"name":"change","type":"pure-token","token":"CH","since":"3.0.2","flags":["optional"]},{"name":"increment","type":"pure-token","token":"INCR","since":"3.0.2","flags":["optional"]},{"name":"score_member","type":"block","flags":["multiple"],"arguments":[{"name":"score","type":"double"},{"name":"member","type":"string"}]}]}
zcard	{"arguments":[{"name":"key","type":"key","key_spec_index":0}]}
zcount	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"min","type":"double"},{"name":"max","type":"double"}]}
zdiff	{"arguments":[{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"withscores","type":"pure-token","token":"WITHSCORES","flags":["optional"]}]}
zdiffstore	{"arguments":[{"name":"destination","type":"key","key_spec_index":0},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":1,"flags":["multiple"]}]}
zincrby	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"increment","type":"integer"},{"name":"member","type":"string"}]}
zinter	{"arguments":[{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"weight","type":"integer","token":"WEIGHTS","flags":["optional","multiple"]},{"name":"aggregate","type":"oneof","token":"AGGREGATE","flags":["optional"],"arguments":[{"name":"sum","type":"pure-token","token":"SUM"},{"name":"min","type":"pure-token","token":"MIN"},{"name":"max","type":"pure-token","token":"MAX"}]},{"name":"withscores","type":"pure-token","token":"WITHSCORES","flags":["optional"]}]}
zintercard	{"arguments":[{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"limit","type":"integer","token":"LIMIT","flags":["optional"]}]}
zinterstore	{"arguments":[{"name":"destination","type":"key","key_spec_index":0},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":1,"flags":["multiple"]},{"name":"weight","type":"integer","token":"WEIGHTS","flags":["optional","multiple"]},{"name":"aggregate","type":"oneof","token":"AGGREGATE","flags":["optional"],"arguments":[{"name":"sum","type":"pure-token","token":"SUM"},{"name":"min","type":"pure-token","token":"MIN"},{"name":"max","type":"pure-token","token":"MAX"}]}]}
zlexcount	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"min","type":"string"},{"name":"max","type":"string"}]}
zmpop	{"arguments":[{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"where","type":"oneof","arguments":[{"name":"min","type":"pure-token","token":"MIN"},{"name":"max","type":"pure-token","token":"MAX"}]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
zmscore	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string","flags":["multiple"]}]}
zpopmax	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"count","type":"integer","flags":["optional"]}]}
zpopmin	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"count","type":"integer","flags":["optional"]}]}
zrandmember	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"options","type":"block","flags":["optional"],"arguments":[{"name":"count","type":"integer"},{"name":"withscores","type":"pure-token","token":"WITHSCORES","flags":["optional"]}]}]}
zrange	{"history":[["6.2.0","Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"start","type":"string"},{"name":"stop","type":"string"},{"name":"sortby","type":"oneof","since":"6.2.0","flags":["optional"],"arguments":[{"name":"byscore","type":"pure-token","token":"BYSCORE"},{"name":"bylex","type":"pure-token","token":"BYLEX"}]},{"name":"rev","type":"pure-token","token":"REV","since":"6.2.0","flags":["optional"]},{"name":"offset_count","type":"block","token":"LIMIT","since":"6.2.0","flags":["optional"],"arguments":[{"name":"offset","type":"integer"},{"name":"count","type":"integer"}]},{"name":"withscores","type":"pure-token","token":"WITHSCORES","flags":["optional"]}]}
zrangebylex	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"min","type":"string"},{"name":"max","type":"string"},{"name":"offset_count","type":"block","token":"LIMIT","flags":["optional"],"arguments":[{"name":"offset","type":"integer"},{"name":"count","type":"integer"}]}]}
zrangebyscore	{"history":[["2.0.0","Added the `WITHSCORES` modifier."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"min","type":"double"},{"name":"max","type":"double"},{"name":"withscores","type":"pure-token","token":"WITHSCORES","since":"2.0.0","flags":["optional"]},{"name":"offset_count","type":"block","token":"LIMIT","flags":["optional"],"arguments":[{"name":"offset","type":"integer"},{"name":"count","type":"integer"}]}]}
zrangestore	{"arguments":[{"name":"dst","type":"key","key_spec_index":0},{"name":"src","type":"key","key_spec_index":1},{"name":"min","type":"string"},{"name":"max","type":"string"},{"name":"sortby","type":"oneof","flags":["optional"],"arguments":[{"name":"byscore","type":"pure-token","token":"BYSCORE"},{"name":"bylex","type":"pure-token","token":"BYLEX"}]},{"name":"rev","type":"pure-token","token":"REV","flags":["optional"]},{"name":"offset_count","type":"block","token":"LIMIT","flags":["optional"],"arguments":[{"name":"offset","type":"integer"},{"name":"count","type":"integer"}]}]}
zrank	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string"}]}
zrem	{"history":[["2.4.0","Accepts multiple elements."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string","flags":["multiple"]}]}
zremrangebylex	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"min","type":"string"},{"name":"max","type":"string"}]}
zremrangebyrank	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"start","type":"integer"},{"name":"stop","type":"integer"}]}
zremrangebyscore	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"min","type":"double"},{"name":"max","type":"double"}]}
zrevrange	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"start","type":"integer"},{"name":"stop","type":"integer"},{"name":"withscores","type":"pure-token","token":"WITHSCORES","flags":["optional"]}]}
zrevrangebylex	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"max","type":"string"},{"name":"min","type":"string"},{"name":"offset_count","type":"block","token":"LIMIT","flags":["optional"],"arguments":[{"name":"offset","type":"integer"},{"name":"count","type":"integer"}]}]}
zrevrangebyscore	{"history":[["2.1.6","`min` and `max` can be exclusive."]],"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"max","type":"double"},{"name":"min","type":"double"},{"name":"withscores","type":"pure-token","token":"WITHSCORES","flags":["optional"]},{"name":"offset_count","type":"block","token":"LIMIT","flags":["optional"],"arguments":[{"name":"offset","type":"integer"},{"name":"count","type":"integer"}]}]}
zrevrank	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string"}]}
zscan	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"cursor","type":"integer"},{"name":"pattern","type":"pattern","token":"MATCH","flags":["optional"]},{"name":"count","type":"integer","token":"COUNT","flags":["optional"]}]}
zscore	{"arguments":[{"name":"key","type":"key","key_spec_index":0},{"name":"member","type":"string"}]}
zunion	{"arguments":[{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":0,"flags":["multiple"]},{"name":"weight","type":"integer","token":"WEIGHTS","flags":["optional","multiple"]},{"name":"aggregate","type":"oneof","token":"AGGREGATE","flags":["optional"],"arguments":[{"name":"sum","type":"pure-token","token":"SUM"},{"name":"min","type":"pure-token","token":"MIN"},{"name":"max","type":"pure-token","token":"MAX"}]},{"name":"withscores","type":"pure-token","token":"WITHSCORES","flags":["optional"]}]}
zunionstore	{"arguments":[{"name":"destination","type":"key","key_spec_index":0},{"name":"numkeys","type":"integer"},{"name":"key","type":"key","key_spec_index":1,"flags":["multiple"]},{"name":"weight","type":"integer","token":"WEIGHTS","flags":["optional","multiple"]},{"name":"aggregate","type":"oneof","token":"AGGREGATE","flags":["optional"],"arguments":[{"name":"sum","type":"pure-token","token":"SUM"},{"name":"min","type":"pure-token","token":"MIN"},{"name":"max","type":"pure-token","token":"MAX"}]}]}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_quoting_is_sdscatrepr() {
        let mut s = String::new();
        cat_repr(&mut s, b"a\"b\\c\n\r\t\x07\x08\x01\xff ~");
        assert_eq!(s, r#""a\"b\\c\n\r\t\a\b\x01\xff ~""#);
        let argv = [
            Bytes::from_static(b"set"),
            Bytes::from_static(b"k"),
            Bytes::from_static(b"v"),
        ];
        assert_eq!(
            monitor_line(1_700_000_000_000_123, 2, "127.0.0.1:5", &argv),
            "+1700000000.000123 [2 127.0.0.1:5] \"set\" \"k\" \"v\"\r\n"
        );
    }

    #[test]
    fn monitor_redacts_credentials() {
        let b = |v: &[&str]| {
            v.iter()
                .map(|s| Bytes::from(s.to_string()))
                .collect::<Vec<_>>()
        };
        let line = monitor_line(0, 0, "x", &b(&["auth", "user", "pw"]));
        assert!(
            line.ends_with("\"auth\" \"(redacted)\" \"(redacted)\"\r\n"),
            "{line}"
        );
        let line = monitor_line(
            0,
            0,
            "x",
            &b(&["hello", "2", "auth", "default", "x", "setname", "foo"]),
        );
        assert!(
            line.ends_with(
                "\"hello\" \"2\" \"auth\" \"(redacted)\" \"(redacted)\" \"setname\" \"foo\"\r\n"
            ),
            "{line}"
        );
        let line = monitor_line(0, 0, "x", &b(&["hello", "9", "auth", "default", "x"]));
        assert!(line.ends_with("\"default\" \"x\"\r\n"), "{line}");
    }

    #[test]
    fn reference_table_parses() {
        let r = reference();
        assert!(r.len() > 300);
        let get = &r["get"];
        assert_eq!(get.acl, ["read", "string", "fast"]);
        assert_eq!(
            get.specs,
            [KeySpec {
                notes: "",
                flags: vec!["RO", "access"],
                bs: BeginSearch::Index(1),
                fk: FindKeys::Range(0, 1, 0)
            }]
        );
        assert_eq!(r["client|list"].tips, ["nondeterministic_output"]);
        assert_eq!(r["xread"].specs[0].bs, BeginSearch::Keyword("STREAMS", 1));
        assert!(r["zunion"].extra_flags.contains(&"movablekeys"));
    }

    #[test]
    fn key_extraction_follows_specs() {
        let b = |v: &[&str]| {
            v.iter()
                .map(|s| Bytes::from(s.to_string()))
                .collect::<Vec<_>>()
        };
        let mset = commands::lookup(b"mset").expect("mset");
        let keys = keys_from_specs(
            mset,
            &key_specs(mset, command_ref("mset")),
            &b(&["mset", "a", "1", "b", "2"]),
        );
        assert_eq!(
            keys.map(|k| k.into_iter().map(|(p, _)| p).collect::<Vec<_>>()),
            Some(vec![1, 3])
        );
        let spec = vec![KeySpec {
            notes: "",
            flags: vec![],
            bs: BeginSearch::Index(2),
            fk: FindKeys::Keynum(0, 1, 1),
        }];
        let keys = keys_from_specs(
            mset,
            &spec,
            &b(&["zunion", "x", "2", "k1", "k2", "WEIGHTS"]),
        );
        assert_eq!(
            keys.map(|k| k.into_iter().map(|(p, _)| p).collect::<Vec<_>>()),
            Some(vec![3, 4])
        );
    }

    #[test]
    fn key_extraction_matches_redis_for_keyword_and_keynum_specs() {
        let b = |v: &str| {
            v.split(' ')
                .map(|s| Bytes::from(s.to_string()))
                .collect::<Vec<_>>()
        };
        let dummy = Command {
            name: "dummy",
            arity: -2,
            flags: 0,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            group: "generic",
            summary: "",
            since: "",
            handler: Handler::Container,
            subcommands: &[],
        };
        let keys = |name: &str, line: &str| {
            let specs = &reference()[name].specs;
            keys_from_specs(&dummy, specs, &b(line))
                .map(|k| k.into_iter().map(|(p, _)| p).collect::<Vec<_>>())
        };
        // Observed with COMMAND GETKEYS on Redis 7.0.15.
        assert_eq!(keys("xread", "xread streams a b 0 0"), Some(vec![2, 3]));
        assert_eq!(keys("xread", "xread count 5 streams a 0"), Some(vec![4]));
        assert_eq!(keys("zunion", "zunion 2 a b"), Some(vec![2, 3]));
        assert_eq!(keys("zunion", "zunion 0 a b"), None);
        assert_eq!(keys("eval", "eval x 2 a b"), Some(vec![3, 4]));
        assert_eq!(keys("lmpop", "lmpop 2 a b left"), Some(vec![2, 3]));
        assert_eq!(
            keys("georadius", "georadius a 1 2 3 m store b"),
            Some(vec![1, 7])
        );
        assert_eq!(keys("bitop", "bitop and d a b"), Some(vec![2, 3, 4]));
        assert_eq!(keys("sort", "sort a"), Some(vec![1]));
    }

    #[test]
    fn documentation_data_parses() {
        for line in COMMAND_DOCS_REF.lines() {
            let (name, json) = line.split_once('\t').expect("tab");
            assert!(matches!(parse_json(json), Some(Json::Obj(_))), "{name}");
        }
        let get = docs_extra("get");
        assert_eq!(get[0].0, "arguments");
        let mut out = Out::default();
        reply_json(&mut out, &get[0].1);
        assert_eq!(out.buf, b"*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n");
        assert_eq!(
            parse_json(r#"{"a":[1,-2,"x\"y"],"b":{}}"#),
            Some(Json::Obj(vec![
                (
                    "a".into(),
                    Json::Arr(vec![Json::Int(1), Json::Int(-2), Json::Str("x\"y".into())])
                ),
                ("b".into(), Json::Obj(vec![])),
            ]))
        );
    }

    #[test]
    fn sparkline_like_redis() {
        assert_eq!(sparkline(&[(10, "3s".into())], 4), " \n \n \n_\n \n3\ns\n");
    }

    #[test]
    fn derived_categories_follow_redis_rules() {
        let get = commands::lookup(b"get").expect("get");
        assert_eq!(derived_categories(get), ["read", "string", "fast"]);
        assert_eq!(strtod_prefix(b"0.5abc"), 0.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
        assert_eq!(parse_c_atoi(b"2"), 2);
        assert_eq!(parse_c_atoi(b"x"), 0);
        assert_eq!(rdb_string_size(b"hello"), 6);
        assert_eq!(rdb_string_size(b"123"), 2);
    }
}

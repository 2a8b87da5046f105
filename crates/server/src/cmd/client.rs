//! CLIENT subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL, REPLY, PAUSE, UNPAUSE,
//! NO-EVICT, GETREDIR, TRACKINGINFO, HELP — with Redis 7.0's reply shapes and error texts.

use crate::client::{ClientInfo, ClientKind, ReplyMode, Session};
use crate::cmd::admin::help_reply;
use crate::cmd::connection::valid_client_name;
use crate::commands::{flag::*, Command, Handler::Server};
use crate::dispatch::Exec;
use crate::state::{Pause, State};
use bytes::Bytes;
use resp::Protocol;
use std::fmt::Write as _;
use store::num::parse_i64;

/// Client types as CLIENT LIST TYPE / CLIENT KILL TYPE name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

/// Redis's `getClientTypeByName`.
fn type_by_name(name: &[u8]) -> Option<ClientType> {
    let n = name.to_ascii_lowercase();
    match &n[..] {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::PubSub),
        b"master" => Some(ClientType::Master),
        _ => None,
    }
}

/// Redis's `getClientType`: MONITOR clients count as normal ones.
fn client_type(c: &ClientInfo) -> ClientType {
    match c.kind {
        ClientKind::Master => ClientType::Master,
        ClientKind::Replica => ClientType::Replica,
        ClientKind::PubSub => ClientType::PubSub,
        ClientKind::Normal => ClientType::Normal,
    }
}

/// True for clients connected through the Unix socket (their address is not `ip:port`).
pub fn is_unix_client(c: &ClientInfo) -> bool {
    c.addr.parse::<std::net::SocketAddr>().is_err()
}

/// True for clients on the loopback interface or the Unix socket (Redis's `islocalClient`).
pub fn is_local_client(c: &ClientInfo) -> bool {
    match c.addr.parse::<std::net::SocketAddr>() {
        Ok(sa) => match sa.ip() {
            std::net::IpAddr::V4(v4) => v4.is_loopback(),
            std::net::IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback())
            }
        },
        Err(_) => true,
    }
}

/// The values of one CLIENT LIST line, in Redis 7.0's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientLine {
    /// `id`
    pub id: u64,
    /// `addr`
    pub addr: String,
    /// `laddr`
    pub laddr: String,
    /// `fd`
    pub fd: i64,
    /// `name`
    pub name: String,
    /// `age` in seconds.
    pub age: i64,
    /// `idle` in seconds.
    pub idle: i64,
    /// `flags`
    pub flags: String,
    /// `db`
    pub db: usize,
    /// `sub`
    pub sub: usize,
    /// `psub`
    pub psub: usize,
    /// `multi` (-1 outside MULTI).
    pub multi: i64,
    /// `qbuf`
    pub qbuf: u64,
    /// `argv-mem`
    pub argv_mem: u64,
    /// `rbp` (reply buffer peak).
    pub rbp: u64,
    /// `oll`
    pub oll: u64,
    /// `omem`
    pub omem: u64,
    /// `tot-mem`
    pub tot_mem: u64,
    /// `events`
    pub events: &'static str,
    /// `cmd`
    pub cmd: String,
    /// `user`
    pub user: String,
    /// `resp`
    pub resp: u8,
}

impl ClientLine {
    /// The line as CLIENT LIST prints it (without the trailing newline).
    pub fn format(&self) -> String {
        let mut s = String::with_capacity(300);
        let _ = write!(
            s,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} \
             qbuf={} qbuf-free=0 argv-mem={} multi-mem=0 rbs=1024 rbp={} obl=0 oll={} omem={} tot-mem={} \
             events={} cmd={} user={} redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            self.name,
            self.age,
            self.idle,
            self.flags,
            self.db,
            self.sub,
            self.psub,
            self.multi,
            self.qbuf,
            self.argv_mem,
            self.rbp,
            self.oll,
            self.omem,
            self.tot_mem,
            self.events,
            self.cmd,
            self.user,
            self.resp
        );
        s
    }
}

/// Redis's client flags string (`N` when none applies).
fn flags_of(c: &ClientInfo, in_multi: bool, closing: bool) -> String {
    let mut f = String::new();
    if c.kind == ClientKind::Replica {
        f.push('S');
    } else if c.monitor {
        f.push('O');
    }
    if c.kind == ClientKind::Master {
        f.push('M');
    }
    if c.kind == ClientKind::PubSub {
        f.push('P');
    }
    if in_multi {
        f.push('x');
    }
    if c.blocked {
        f.push('b');
    }
    if c.dirty_cas {
        f.push('d');
    }
    if closing {
        f.push('c');
    }
    if c.handle.is_killed() {
        f.push('A');
    }
    if is_unix_client(c) {
        f.push('U');
    }
    if c.no_evict {
        f.push('e');
    }
    if f.is_empty() {
        f.push('N');
    }
    f
}

/// What only the calling connection knows about itself while its command runs.
pub struct Caller<'a> {
    /// Its session.
    pub sess: &'a Session,
    /// Its reply protocol.
    pub proto: Protocol,
    /// The running command's arguments.
    pub argv: &'a [Bytes],
    /// The running command's full name (`client|list`).
    pub cmd: &'a str,
    /// Bytes of replies buffered so far.
    pub reply_bytes: u64,
}

/// The CLIENT LIST line values of `c`; `caller` is set when `c` is the client asking.
pub fn client_line(c: &ClientInfo, caller: Option<&Caller>, now_ms: i64) -> ClientLine {
    let now_s = now_ms / 1000;
    let (argv_mem, qbuf) = match caller {
        Some(k) => (
            k.argv.iter().map(|a| a.len() as u64).sum(),
            resp::encode_command(k.argv).len() as u64,
        ),
        None => (0, 0),
    };
    let mem = crate::info::client_mem(c, argv_mem);
    let in_multi = match caller {
        Some(k) => k.sess.multi.is_some(),
        None => c.multi >= 0,
    };
    let closing = caller.is_some_and(|k| k.sess.close_after_reply);
    ClientLine {
        id: c.id,
        addr: c.addr.clone(),
        laddr: c.laddr.clone(),
        fd: c.fd,
        name: c
            .name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default(),
        age: now_s - c.created_ms / 1000,
        idle: if caller.is_some() {
            0
        } else {
            now_s - c.last_interaction_ms / 1000
        },
        flags: flags_of(c, in_multi, closing),
        db: caller.map(|k| k.sess.db).unwrap_or(c.db),
        sub: c.subs,
        psub: c.psubs,
        multi: match caller {
            Some(k) => k.sess.multi.as_ref().map(|q| q.len() as i64).unwrap_or(-1),
            None => c.multi,
        },
        qbuf,
        argv_mem,
        rbp: caller.map(|k| k.reply_bytes).unwrap_or(0),
        oll: u64::from(mem.omem > 0),
        omem: mem.omem,
        tot_mem: mem.total + qbuf,
        events: if mem.omem > 0 { "rw" } else { "r" },
        cmd: match caller {
            Some(k) => k.cmd.to_string(),
            None => c.last_cmd.to_string(),
        },
        user: caller
            .map(|k| k.sess.user.clone())
            .unwrap_or_else(|| c.user.clone()),
        resp: match caller.map(|k| k.proto).unwrap_or(c.proto) {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        },
    }
}

fn line_for(ex: &Exec, id: u64, cmd: &str) -> Option<String> {
    let c = ex.st.clients.get(&id)?;
    if id == ex.sess.id {
        let caller = Caller {
            sess: ex.sess,
            proto: ex.out.proto,
            argv: ex.argv,
            cmd,
            reply_bytes: ex.out.len() as u64,
        };
        Some(client_line(c, Some(&caller), ex.now_ms).format())
    } else {
        Some(client_line(c, None, ex.now_ms).format())
    }
}

fn sorted_ids(st: &State) -> Vec<u64> {
    let mut ids: Vec<u64> = st.clients.keys().copied().collect();
    ids.sort_unstable();
    ids
}

/// CLIENT ID
pub fn id(ex: &mut Exec) {
    ex.out.int(ex.sess.id as i64);
}

/// CLIENT SETNAME name
pub fn setname(ex: &mut Exec) {
    let name = ex.argv[2].clone();
    if !valid_client_name(&name) {
        return ex
            .out
            .error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    if let Some(c) = ex.st.clients.get_mut(&ex.sess.id) {
        c.name = if name.is_empty() { None } else { Some(name) };
    }
    ex.out.ok();
}

/// CLIENT GETNAME
pub fn getname(ex: &mut Exec) {
    match ex.st.clients.get(&ex.sess.id).and_then(|c| c.name.clone()) {
        Some(n) => ex.out.bulk(&n),
        None => ex.out.null(),
    }
}

/// CLIENT LIST [TYPE type] [ID id ...]
pub fn list(ex: &mut Exec) {
    let argc = ex.argv.len();
    let mut text = String::new();
    if argc == 4 && ex.argv[2].eq_ignore_ascii_case(b"type") {
        let Some(t) = type_by_name(&ex.argv[3]) else {
            let msg = format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(&ex.argv[3])
            );
            return ex.out.error(&msg);
        };
        for id in sorted_ids(ex.st) {
            if ex.st.clients.get(&id).is_some_and(|c| client_type(c) == t) {
                if let Some(l) = line_for(ex, id, "client|list") {
                    text.push_str(&l);
                    text.push('\n');
                }
            }
        }
    } else if argc > 3 && ex.argv[2].eq_ignore_ascii_case(b"id") {
        for j in 3..argc {
            let Some(cid) = parse_i64(&ex.argv[j]) else {
                return ex.out.error("ERR Invalid client ID");
            };
            if let Some(l) = line_for(ex, cid as u64, "client|list") {
                text.push_str(&l);
                text.push('\n');
            }
        }
    } else if argc != 2 {
        return ex.out.error("ERR syntax error");
    } else {
        for id in sorted_ids(ex.st) {
            if let Some(l) = line_for(ex, id, "client|list") {
                text.push_str(&l);
                text.push('\n');
            }
        }
    }
    ex.out.verbatim(text.as_bytes());
}

/// CLIENT INFO
pub fn info(ex: &mut Exec) {
    let mut text = line_for(ex, ex.sess.id, "client|info").unwrap_or_default();
    text.push('\n');
    ex.out.verbatim(text.as_bytes());
}

/// CLIENT KILL ip:port | CLIENT KILL [ID id] [TYPE type] [ADDR addr] [LADDR addr] [USER user] [SKIPME yes|no]
pub fn kill(ex: &mut Exec) {
    let argc = ex.argv.len();
    let mut addr: Option<Bytes> = None;
    let mut laddr: Option<Bytes> = None;
    let mut user: Option<String> = None;
    let mut ctype: Option<ClientType> = None;
    let mut want_id: u64 = 0;
    let mut skipme = true;
    if argc == 3 {
        addr = Some(ex.argv[2].clone());
        skipme = false;
    } else {
        let mut i = 2;
        while i < argc {
            let opt = &ex.argv[i];
            let more = argc > i + 1;
            if !more {
                return ex.out.error("ERR syntax error");
            }
            let val = &ex.argv[i + 1];
            if opt.eq_ignore_ascii_case(b"id") {
                match parse_i64(val) {
                    Some(v) if v >= 1 => want_id = v as u64,
                    _ => return ex.out.error("ERR client-id should be greater than 0"),
                }
            } else if opt.eq_ignore_ascii_case(b"type") {
                match type_by_name(val) {
                    Some(t) => ctype = Some(t),
                    None => {
                        let msg =
                            format!("ERR Unknown client type '{}'", String::from_utf8_lossy(val));
                        return ex.out.error(&msg);
                    }
                }
            } else if opt.eq_ignore_ascii_case(b"addr") {
                addr = Some(val.clone());
            } else if opt.eq_ignore_ascii_case(b"laddr") {
                laddr = Some(val.clone());
            } else if opt.eq_ignore_ascii_case(b"user") {
                // Only the default user exists until ACLs are built.
                if &val[..] != b"default" {
                    let msg = format!("ERR No such user '{}'", String::from_utf8_lossy(val));
                    return ex.out.error(&msg);
                }
                user = Some("default".into());
            } else if opt.eq_ignore_ascii_case(b"skipme") {
                if val.eq_ignore_ascii_case(b"yes") {
                    skipme = true;
                } else if val.eq_ignore_ascii_case(b"no") {
                    skipme = false;
                } else {
                    return ex.out.error("ERR syntax error");
                }
            } else {
                return ex.out.error("ERR syntax error");
            }
            i += 2;
        }
    }
    let me = ex.sess.id;
    let mut victims = Vec::new();
    for id in sorted_ids(ex.st) {
        let Some(c) = ex.st.clients.get(&id) else {
            continue;
        };
        if addr.as_ref().is_some_and(|a| a[..] != *c.addr.as_bytes()) {
            continue;
        }
        if laddr.as_ref().is_some_and(|a| a[..] != *c.laddr.as_bytes()) {
            continue;
        }
        if ctype.is_some_and(|t| client_type(c) != t) {
            continue;
        }
        if want_id != 0 && c.id != want_id {
            continue;
        }
        if let Some(u) = &user {
            let cu = if id == me { &ex.sess.user } else { &c.user };
            if cu != u {
                continue;
            }
        }
        if id == me && skipme {
            continue;
        }
        victims.push(id);
    }
    let killed = victims.len();
    for id in victims {
        if id == me {
            ex.sess.close_after_reply = true;
        } else if let Some(c) = ex.st.clients.remove(&id) {
            // Gone at once, as Redis frees it (CLIENT LIST, blocked-key queues); its task
            // closes the socket and drops the rest.
            crate::blocking::unblock(ex.st, id);
            c.handle.kill();
        }
    }
    if argc == 3 {
        if killed == 0 {
            ex.out.error("ERR No such client");
        } else {
            ex.out.ok();
        }
    } else {
        ex.out.int(killed as i64);
    }
}

/// CLIENT REPLY ON|OFF|SKIP
pub fn reply(ex: &mut Exec) {
    let mode = &ex.argv[2];
    if mode.eq_ignore_ascii_case(b"on") {
        ex.sess.reply_mode = ReplyMode::On;
        ex.out.ok();
    } else if mode.eq_ignore_ascii_case(b"off") {
        ex.sess.reply_mode = ReplyMode::Off;
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if ex.sess.reply_mode != ReplyMode::Off {
            ex.sess.reply_mode = ReplyMode::Skip;
        }
    } else {
        ex.out.error("ERR syntax error");
    }
}

/// Redis's `getTimeoutFromObjectOrReply` in milliseconds: the absolute deadline (0 = none).
pub(crate) fn parse_timeout_ms(arg: &[u8], now_ms: i64) -> Result<i64, &'static str> {
    let Some(t) = parse_i64(arg) else {
        return Err("ERR timeout is not an integer or out of range");
    };
    if t < 0 {
        return Err("ERR timeout is negative");
    }
    if t == 0 {
        return Ok(0);
    }
    if t > i64::MAX - now_ms {
        return Err("ERR timeout is out of range");
    }
    Ok(t + now_ms)
}

/// CLIENT PAUSE timeout [WRITE|ALL]
pub fn pause(ex: &mut Exec) {
    let argc = ex.argv.len();
    if argc > 4 {
        let msg = format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&ex.argv[1])
        );
        return ex.out.error(&msg);
    }
    let mut all = true;
    if argc == 4 {
        if ex.argv[3].eq_ignore_ascii_case(b"write") {
            all = false;
        } else if !ex.argv[3].eq_ignore_ascii_case(b"all") {
            return ex.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
        }
    }
    let until = match parse_timeout_ms(&ex.argv[2], ex.now_ms) {
        Ok(t) => t,
        Err(e) => return ex.out.error(e),
    };
    ex.st.pause = Some(match ex.st.pause {
        Some(p) => Pause {
            until_ms: p.until_ms.max(until),
            all: p.all || all,
        },
        None => Pause {
            until_ms: until,
            all,
        },
    });
    ex.out.ok();
}

/// CLIENT UNPAUSE
pub fn unpause(ex: &mut Exec) {
    ex.st.pause = None;
    ex.st.unpaused.notify_waiters();
    ex.out.ok();
}

/// CLIENT NO-EVICT ON|OFF
pub fn no_evict(ex: &mut Exec) {
    let on = if ex.argv[2].eq_ignore_ascii_case(b"on") {
        true
    } else if ex.argv[2].eq_ignore_ascii_case(b"off") {
        false
    } else {
        return ex.out.error("ERR syntax error");
    };
    if let Some(c) = ex.st.clients.get_mut(&ex.sess.id) {
        c.no_evict = on;
    }
    ex.out.ok();
}

/// CLIENT GETREDIR (client-side caching is not built: tracking is always off).
pub fn getredir(ex: &mut Exec) {
    ex.out.int(-1);
}

/// CLIENT TRACKINGINFO (tracking is always off).
pub fn trackinginfo(ex: &mut Exec) {
    ex.out.map(3);
    ex.out.bulk(b"flags");
    ex.out.set(1);
    ex.out.bulk(b"off");
    ex.out.bulk(b"redirect");
    ex.out.int(-1);
    ex.out.bulk(b"prefixes");
    ex.out.array(0);
}

/// CLIENT HELP
pub fn help(ex: &mut Exec) {
    help_reply(ex.out, "CLIENT", CLIENT_HELP);
}

/// CLIENT HELP's lines.
pub const CLIENT_HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];

macro_rules! sub {
    ($name:literal, $arity:expr, $flags:expr, $since:literal, $f:expr, $summary:literal) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            group: "connection",
            summary: $summary,
            since: $since,
            handler: Server($f),
            subcommands: &[],
        }
    };
}

const CONN: u32 = NOSCRIPT | LOADING | STALE;
const CONN_ADMIN: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
pub fn unblock(ex: &mut Exec) {
    let Some(id) = store::num::parse_i64(&ex.argv[2]) else {
        return ex.out.error("ERR value is not an integer or out of range");
    };
    let why = match ex.argv.get(3) {
        None => crate::blocking::Release::Timeout,
        Some(a) if a.eq_ignore_ascii_case(b"timeout") => crate::blocking::Release::Timeout,
        Some(a) if a.eq_ignore_ascii_case(b"error") => crate::blocking::Release::Error,
        Some(_) => {
            return ex
                .out
                .error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        }
    };
    let released = id >= 0 && crate::blocking::release(ex.st, id as u64, why);
    ex.out.int(released as i64);
}

/// CLIENT subcommands.
pub static SUBCOMMANDS: &[Command] = &[
    sub!(
        "unblock",
        -3,
        CONN_ADMIN,
        "5.0.0",
        unblock,
        "Unblock a client blocked in a blocking command from a different connection"
    ),
    sub!(
        "unpause",
        2,
        CONN_ADMIN,
        "6.2.0",
        unpause,
        "Resume processing of clients that were paused"
    ),
    sub!(
        "getredir",
        2,
        CONN,
        "6.0.0",
        getredir,
        "Get tracking notifications redirection client ID if any"
    ),
    sub!(
        "setname",
        3,
        CONN,
        "2.6.9",
        setname,
        "Set the current connection name"
    ),
    sub!(
        "kill",
        -3,
        CONN_ADMIN,
        "2.4.0",
        kill,
        "Kill the connection of a client"
    ),
    sub!(
        "list",
        -2,
        CONN_ADMIN,
        "2.4.0",
        list,
        "Get the list of client connections"
    ),
    sub!(
        "getname",
        2,
        CONN,
        "2.6.9",
        getname,
        "Get the current connection name"
    ),
    sub!(
        "trackinginfo",
        2,
        CONN,
        "6.2.0",
        trackinginfo,
        "Return information about server assisted client side caching for the current connection"
    ),
    sub!(
        "reply",
        3,
        CONN,
        "3.2.0",
        reply,
        "Instruct the server whether to reply to commands"
    ),
    sub!(
        "no-evict",
        3,
        CONN_ADMIN,
        "7.0.0",
        no_evict,
        "Set client eviction mode for the current connection"
    ),
    sub!(
        "help",
        2,
        LOADING | STALE,
        "5.0.0",
        help,
        "Show helpful text about the different subcommands"
    ),
    sub!(
        "info",
        2,
        CONN,
        "6.2.0",
        info,
        "Returns information about the current client connection."
    ),
    sub!(
        "pause",
        -3,
        CONN_ADMIN,
        "2.9.50",
        pause,
        "Stop processing commands from clients for some time"
    ),
    sub!(
        "id",
        2,
        CONN,
        "5.0.0",
        id,
        "Returns the client ID for the current connection"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientHandle;
    use std::sync::Arc;

    fn info(addr: &str) -> ClientInfo {
        ClientInfo {
            blocked: false,
            id: 7,
            addr: addr.into(),
            laddr: "127.0.0.1:40001".into(),
            fd: 9,
            name: None,
            db: 0,
            proto: Protocol::Resp2,
            created_ms: 1_000_000,
            last_interaction_ms: 1_002_000,
            last_cmd: "NULL",
            kind: ClientKind::Normal,
            subs: 0,
            psubs: 0,
            multi: -1,
            dirty_cas: false,
            monitor: false,
            user: "default".into(),
            no_evict: false,
            qbuf: 0,
            handle: Arc::new(ClientHandle::default()),
        }
    }

    #[test]
    fn client_list_line_has_redis_field_order() {
        let c = info("127.0.0.1:50000");
        let line = client_line(&c, None, 1_005_500).format();
        let keys: Vec<&str> = line
            .split(' ')
            .map(|kv| kv.split('=').next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "addr",
                "laddr",
                "fd",
                "name",
                "age",
                "idle",
                "flags",
                "db",
                "sub",
                "psub",
                "ssub",
                "multi",
                "qbuf",
                "qbuf-free",
                "argv-mem",
                "multi-mem",
                "rbs",
                "rbp",
                "obl",
                "oll",
                "omem",
                "tot-mem",
                "events",
                "cmd",
                "user",
                "redir",
                "resp"
            ]
        );
        assert!(line.starts_with(
            "id=7 addr=127.0.0.1:50000 laddr=127.0.0.1:40001 fd=9 name= age=5 idle=3 flags=N db=0 "
        ));
        assert!(line.ends_with(" events=r cmd=NULL user=default redir=-1 resp=2"));
    }

    #[test]
    fn client_flags() {
        let mut c = info("/tmp/redis.sock:0");
        c.monitor = true;
        c.no_evict = true;
        assert_eq!(flags_of(&c, false, false), "OUe");
        let mut p = info("127.0.0.1:1");
        p.kind = ClientKind::PubSub;
        p.dirty_cas = true;
        assert_eq!(flags_of(&p, true, false), "Pxd");
        assert!(is_local_client(&p) && !is_unix_client(&p));
        assert!(!is_local_client(&info("10.0.0.1:5")));
    }

    #[test]
    fn caller_line_reports_the_running_command() {
        let c = info("127.0.0.1:50000");
        let sess = Session::new(7, true, c.handle.clone());
        let argv = [Bytes::from_static(b"client"), Bytes::from_static(b"list")];
        let caller = Caller {
            sess: &sess,
            proto: Protocol::Resp3,
            argv: &argv,
            cmd: "client|list",
            reply_bytes: 0,
        };
        let line = client_line(&c, Some(&caller), 1_005_500).format();
        assert!(line.contains(" idle=0 "), "{line}");
        assert!(line.contains(" qbuf=26 "), "{line}");
        assert!(line.contains(" argv-mem=10 "), "{line}");
        assert!(line.contains(" cmd=client|list "), "{line}");
        assert!(line.ends_with(" resp=3"), "{line}");
    }

    #[test]
    fn client_types_by_name() {
        assert_eq!(type_by_name(b"SLAVE"), Some(ClientType::Replica));
        assert_eq!(type_by_name(b"replica"), Some(ClientType::Replica));
        assert_eq!(type_by_name(b"Normal"), Some(ClientType::Normal));
        assert_eq!(type_by_name(b"foo"), None);
        assert_eq!(parse_timeout_ms(b"10", 100), Ok(110));
        assert_eq!(parse_timeout_ms(b"0", 100), Ok(0));
        assert_eq!(parse_timeout_ms(b"-1", 100), Err("ERR timeout is negative"));
        assert!(parse_timeout_ms(b"x", 100).is_err());
    }
}

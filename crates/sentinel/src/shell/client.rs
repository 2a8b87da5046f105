//! Clients of the sentinel port: the 15 sentinel-mode commands with Redis's replies (RESP2
//! and RESP3), authentication, pub/sub of events.

use super::cmdtable::{self, Cmd};
use super::{info, Shared, Shell};
use crate::core::{Level, HELLO_CHANNEL};
use bytes::{Bytes, BytesMut};
use resp::{Limits, Out, Protocol, RequestParser};
use server::pubsub::{encode_push, PushPart};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

/// `proto-max-bulk-len`.
const MAX_BULK: u64 = 512 * 1024 * 1024;

/// A connected client, as CLIENT LIST and pub/sub see it.
pub struct ClientEntry {
    /// Client id.
    pub id: u64,
    /// Peer `ip:port`.
    pub addr: String,
    /// Our `ip:port`.
    pub laddr: String,
    /// Socket descriptor.
    pub fd: i64,
    /// CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
    /// Connection time (unix ms).
    pub created_ms: i64,
    /// Last command time (unix ms).
    pub last_ms: i64,
    /// Last command's full name.
    pub last_cmd: String,
    /// Reply protocol.
    pub proto: Protocol,
    /// Authenticated user.
    pub user: String,
    /// Subscribed channels, in subscription order.
    pub channels: Vec<Vec<u8>>,
    /// Subscribed patterns, in subscription order.
    pub patterns: Vec<Vec<u8>>,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
    /// Bytes of the request being processed.
    pub qbuf: usize,
    /// Bytes of its arguments.
    pub argv_mem: usize,
    /// Out-of-band bytes (pub/sub messages) for the client's task to write.
    tx: mpsc::UnboundedSender<Vec<u8>>,
    /// Wakes the client's task to close the connection.
    kill: Arc<Notify>,
}

impl ClientEntry {
    /// Queues `bytes` (a pub/sub message) to the client.
    pub fn push(&self, bytes: Vec<u8>) {
        let _ = self.tx.send(bytes);
    }

    fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// What only the connection's task knows.
struct Session {
    id: u64,
    authenticated: bool,
    reply_off: bool,
    skip_next: bool,
    close_after_reply: bool,
}

fn peer_string(a: std::io::Result<std::net::SocketAddr>) -> String {
    match a {
        Ok(std::net::SocketAddr::V6(v6)) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => format!("{v4}:{}", v6.port()),
            None => v6.to_string(),
        },
        Ok(a) => a.to_string(),
        Err(_) => "?:0".into(),
    }
}

/// Serves one client connection until it closes or is killed.
pub async fn serve(shared: Shared, stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let _ = stream.set_nodelay(true);
    let addr = peer_string(stream.peer_addr());
    let laddr = peer_string(stream.local_addr());
    let fd = stream.as_raw_fd() as i64;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let kill = Arc::new(Notify::new());
    let registered = {
        let mut sh = shared.lock();
        sh.stats.connections += 1;
        if sh.clients.len() as u64 >= sh.maxclients {
            sh.stats.rejected += 1;
            None
        } else {
            let id = sh.next_client_id;
            sh.next_client_id += 1;
            let now = server::clock::unix_ms();
            sh.clients.insert(
                id,
                ClientEntry {
                    id,
                    addr,
                    laddr,
                    fd,
                    name: None,
                    created_ms: now,
                    last_ms: now,
                    last_cmd: "NULL".into(),
                    proto: Protocol::Resp2,
                    user: "default".into(),
                    channels: Vec::new(),
                    patterns: Vec::new(),
                    no_evict: false,
                    qbuf: 0,
                    argv_mem: 0,
                    tx,
                    kill: kill.clone(),
                },
            );
            Some((id, !sh.auth.required()))
        }
    };
    let Some((id, authenticated)) = registered else {
        let mut s = stream;
        let _ = s.write_all(b"-ERR max number of clients reached\r\n").await;
        return;
    };
    let mut sess = Session {
        id,
        authenticated,
        reply_off: false,
        skip_next: false,
        close_after_reply: false,
    };
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut parser = RequestParser::new();
    let mut proto = Protocol::Resp2;
    'conn: loop {
        tokio::select! {
            n = rd.read_buf(&mut buf) => {
                let n = match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut reply = Vec::new();
                let mut close = false;
                {
                    let mut sh = shared.lock();
                    sh.stats.net_input += n as u64;
                    sh.stats.reads += 1;
                    loop {
                        let limits = Limits {
                            max_bulk_len: MAX_BULK,
                            authenticated: sess.authenticated,
                        };
                        match parser.next(&mut buf, &limits) {
                            Ok(Some(req)) => {
                                let mut out = Out::new(proto);
                                let skip = std::mem::take(&mut sess.skip_next);
                                sh.run(&shared, &mut sess, &req.args, &mut out);
                                proto = out.proto;
                                if !skip && !sess.reply_off {
                                    reply.extend_from_slice(&out.buf);
                                }
                                if sess.close_after_reply {
                                    close = true;
                                    break;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                let mut out = Out::new(proto);
                                out.raw(b"-");
                                out.raw(&e.message_bytes());
                                out.raw(b"\r\n");
                                reply.extend_from_slice(&out.buf);
                                sh.stats.error_replies += 1;
                                close = true;
                                break;
                            }
                        }
                    }
                    if !reply.is_empty() {
                        sh.stats.net_output += reply.len() as u64;
                        sh.stats.writes += 1;
                    }
                }
                if !reply.is_empty() && wr.write_all(&reply).await.is_err() {
                    break 'conn;
                }
                if close {
                    break 'conn;
                }
            }
            msg = rx.recv() => {
                let Some(mut bytes) = msg else { break };
                while let Ok(more) = rx.try_recv() {
                    bytes.extend_from_slice(&more);
                }
                shared.lock().stats.net_output += bytes.len() as u64;
                if wr.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            _ = kill.notified() => break,
        }
    }
    shared.lock().clients.remove(&id);
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Redis's `string2ll`: a strict decimal integer.
fn parse_int(b: &[u8]) -> Option<i64> {
    store::num::parse_i64(b)
}

const NOT_ALLOWED_IN_PUBSUB: &str =
    "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

const ACL_HELP: &[&str] = &[
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];

/// Client types for CLIENT LIST TYPE / CLIENT KILL TYPE.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn type_by_name(name: &[u8]) -> Option<ClientType> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::PubSub),
        b"master" => Some(ClientType::Master),
        _ => None,
    }
}

fn client_type(c: &ClientEntry) -> ClientType {
    if c.subscriptions() > 0 {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

impl Shell {
    /// Executes one request into `out`.
    fn run(&mut self, shared: &Shared, sess: &mut Session, argv: &[Bytes], out: &mut Out) {
        let start = out.len();
        self.dispatch(shared, sess, argv, out);
        if out.buf.get(start) == Some(&b'-') {
            self.stats.error_replies += 1;
        }
    }

    fn dispatch(&mut self, shared: &Shared, sess: &mut Session, argv: &[Bytes], out: &mut Out) {
        let now = server::clock::unix_ms();
        let Some(base) = cmdtable::lookup(&argv[0]) else {
            return out.error(&server::dispatch::unknown_command_error(argv));
        };
        let (parent, cmd): (Option<&Cmd>, &Cmd) = if !base.subs.is_empty() && argv.len() >= 2 {
            match base.sub(&argv[1]) {
                Some(s) => (Some(base), s),
                None => {
                    let arg: Vec<u8> = argv[1].iter().take(128).copied().collect();
                    return out.error(&format!(
                        "ERR unknown subcommand '{}'. Try {} HELP.",
                        lossy(&arg),
                        base.name.to_ascii_uppercase()
                    ));
                }
            }
        } else {
            (None, base)
        };
        let full = cmdtable::full_name(parent, cmd);
        if !cmd.arity_ok(argv.len()) {
            return out.error(&format!(
                "ERR wrong number of arguments for '{full}' command"
            ));
        }
        if !sess.authenticated && !cmd.no_auth() {
            return out.error("NOAUTH Authentication required.");
        }
        let in_pubsub = self
            .clients
            .get(&sess.id)
            .is_some_and(|c| c.subscriptions() > 0);
        if in_pubsub
            && !out.resp3()
            && !matches!(
                base.name,
                "ping" | "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe"
            )
        {
            return out.error(&format!(
                "ERR Can't execute '{full}': {NOT_ALLOWED_IN_PUBSUB}"
            ));
        }
        self.stats.commands += 1;
        if let Some(c) = self.clients.get_mut(&sess.id) {
            c.last_ms = now;
            c.last_cmd = full.clone();
            c.qbuf = resp::encode_command(argv).len();
            c.argv_mem = argv.iter().map(|a| a.len()).sum();
        }
        match base.name {
            "ping" => self.ping(sess, argv, out),
            "auth" => self.auth_cmd(sess, argv, out),
            "hello" => self.hello(sess, argv, out),
            "info" => {
                let sections = info::selection(&argv[1..]);
                let text = info::generate(self, &sections, now);
                out.bulk(text.as_bytes());
            }
            "client" => self.client_cmd(sess, argv, &full, out),
            "acl" => self.acl_cmd(sess, argv, out),
            "command" => command_cmd(argv, out),
            "subscribe" => self.subscribe(sess, argv, out, false),
            "psubscribe" => self.subscribe(sess, argv, out, true),
            "unsubscribe" => self.unsubscribe(sess, argv, out, false),
            "punsubscribe" => self.unsubscribe(sess, argv, out, true),
            "shutdown" => self.shutdown_cmd(sess, argv, out),
            _ => {
                // SENTINEL, ROLE and PUBLISH: the core answers.
                let args: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
                self.resolve_names_in(&args);
                let start = out.len();
                self.save_failed = false;
                let actions = self.sentinel.command(now, &args, out);
                self.execute(shared, actions);
                if self.save_failed && out.buf[start..] == *b"+OK\r\n" {
                    out.truncate(start);
                    out.error("ERR Failed to save config file. Check server logs.");
                }
            }
        }
        if let Some(c) = self.clients.get_mut(&sess.id) {
            c.proto = out.proto;
            c.qbuf = 0;
            c.argv_mem = 0;
        }
    }

    /// With `resolve-hostnames yes`, resolves the host names a command names (SENTINEL
    /// MONITOR, IS-MASTER-DOWN-BY-ADDR, a hello PUBLISHed to us) for the core, blocking as
    /// Redis does.
    fn resolve_names_in(&mut self, args: &[Vec<u8>]) {
        if !self.sentinel.config.resolve_hostnames || args.len() < 3 {
            return;
        }
        let lower = |a: &[u8]| String::from_utf8_lossy(a).to_ascii_lowercase();
        let mut names: Vec<String> = Vec::new();
        match (lower(&args[0]).as_str(), lower(&args[1]).as_str()) {
            ("sentinel", "monitor") if args.len() == 6 => {
                names.push(String::from_utf8_lossy(&args[3]).into_owned());
            }
            ("sentinel", "is-master-down-by-addr") if args.len() == 6 => {
                names.push(String::from_utf8_lossy(&args[2]).into_owned());
            }
            ("publish", _) if args.len() == 3 && args[1] == HELLO_CHANNEL.as_bytes() => {
                let text = String::from_utf8_lossy(&args[2]).into_owned();
                let t: Vec<&str> = text.split(',').collect();
                if t.len() == 8 {
                    names.push(t[0].to_string());
                    names.push(t[5].to_string());
                }
            }
            _ => {}
        }
        for host in names {
            if host.is_empty() || crate::core::config::is_ip_literal(&host) {
                continue;
            }
            let ip = super::link::resolve_now(&host);
            self.sentinel.note_resolved(&host, ip.as_deref());
        }
    }

    fn ping(&mut self, sess: &Session, argv: &[Bytes], out: &mut Out) {
        if argv.len() > 2 {
            return out.error("ERR wrong number of arguments for 'ping' command");
        }
        let subscribed = self
            .clients
            .get(&sess.id)
            .is_some_and(|c| c.subscriptions() > 0);
        if subscribed && !out.resp3() {
            out.array(2);
            out.bulk(b"pong");
            out.bulk(argv.get(1).map(|a| &a[..]).unwrap_or(b""));
            return;
        }
        match argv.get(1) {
            Some(m) => out.bulk(m),
            None => out.raw(b"+PONG\r\n"),
        }
    }

    fn auth_cmd(&mut self, sess: &mut Session, argv: &[Bytes], out: &mut Out) {
        let (user, pass): (&[u8], &[u8]) = match argv.len() {
            2 => (b"default", &argv[1]),
            3 => (&argv[1], &argv[2]),
            _ => return out.error("ERR syntax error"),
        };
        if argv.len() == 2 && self.auth.nopass {
            return out.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }
        if self.auth.check(user, pass) {
            sess.authenticated = true;
            if let Some(c) = self.clients.get_mut(&sess.id) {
                c.user = lossy(user);
            }
            out.ok();
        } else {
            super::log(
                Level::Warning,
                &format!("WRONGPASS attempt for user '{}'", lossy(user)),
            );
            out.error(WRONGPASS);
        }
    }

    fn hello(&mut self, sess: &mut Session, argv: &[Bytes], out: &mut Out) {
        let mut proto = None;
        let mut j = 1;
        if argv.len() >= 2 {
            match parse_int(&argv[1]) {
                Some(v) if (2..=3).contains(&v) => proto = Some(v),
                Some(_) => return out.error("NOPROTO unsupported protocol version"),
                None => return out.error("ERR Protocol version is not an integer or out of range"),
            }
            j = 2;
        }
        let mut creds: Option<(Bytes, Bytes)> = None;
        let mut setname: Option<Bytes> = None;
        while j < argv.len() {
            let opt = &argv[j];
            let more = argv.len() - j - 1;
            if opt.eq_ignore_ascii_case(b"auth") && more >= 2 {
                creds = Some((argv[j + 1].clone(), argv[j + 2].clone()));
                j += 3;
            } else if opt.eq_ignore_ascii_case(b"setname") && more >= 1 {
                setname = Some(argv[j + 1].clone());
                j += 2;
            } else {
                return out.error(&format!(
                    "ERR Syntax error in HELLO option '{}'",
                    lossy(opt)
                ));
            }
        }
        if let Some((user, pass)) = &creds {
            if !self.auth.check(user, pass) {
                return out.error(WRONGPASS);
            }
        }
        if let Some(name) = &setname {
            if !server::cmd::connection::valid_client_name(name) {
                return out.error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
        }
        if creds.is_none() && !sess.authenticated {
            return out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        }
        if let Some(p) = proto {
            out.proto = if p == 3 {
                Protocol::Resp3
            } else {
                Protocol::Resp2
            };
        }
        if let Some(c) = self.clients.get_mut(&sess.id) {
            if let Some((user, _)) = &creds {
                c.user = lossy(user);
            }
            if let Some(name) = setname {
                c.name = if name.is_empty() {
                    None
                } else {
                    Some(name.to_vec())
                };
            }
            c.proto = out.proto;
        }
        if creds.is_some() {
            sess.authenticated = true;
        }
        out.map(6);
        out.bulk(b"server");
        out.bulk(b"redis");
        out.bulk(b"version");
        out.bulk(server::REDIS_VERSION.as_bytes());
        out.bulk(b"proto");
        out.int(if out.resp3() { 3 } else { 2 });
        out.bulk(b"id");
        out.int(sess.id as i64);
        out.bulk(b"mode");
        out.bulk(b"sentinel");
        out.bulk(b"modules");
        out.array(0);
    }

    fn shutdown_cmd(&mut self, sess: &mut Session, argv: &[Bytes], out: &mut Out) {
        let mut abort = false;
        for a in &argv[1..] {
            let l = a.to_ascii_lowercase();
            match l.as_slice() {
                b"nosave" | b"save" | b"now" | b"force" => {}
                b"abort" => abort = true,
                _ => return out.error("ERR syntax error"),
            }
        }
        if abort {
            if argv.len() != 2 {
                return out.error("ERR syntax error");
            }
            return out.error("ERR No shutdown in progress.");
        }
        super::log(Level::Warning, "User requested shutdown...");
        sess.close_after_reply = true;
        self.shutdown.notify_one();
    }

    fn subscribe(&mut self, sess: &Session, argv: &[Bytes], out: &mut Out, pattern: bool) {
        let kind: &[u8] = if pattern { b"psubscribe" } else { b"subscribe" };
        let Some(c) = self.clients.get_mut(&sess.id) else {
            return;
        };
        for name in &argv[1..] {
            let list = if pattern {
                &mut c.patterns
            } else {
                &mut c.channels
            };
            if !list.iter().any(|x| x[..] == name[..]) {
                list.push(name.to_vec());
            }
            let n = c.subscriptions() as i64;
            out.raw(&encode_push(
                out.proto,
                &[PushPart::Bulk(kind), PushPart::Bulk(name), PushPart::Int(n)],
            ));
        }
    }

    fn unsubscribe(&mut self, sess: &Session, argv: &[Bytes], out: &mut Out, pattern: bool) {
        let kind: &[u8] = if pattern {
            b"punsubscribe"
        } else {
            b"unsubscribe"
        };
        let Some(c) = self.clients.get_mut(&sess.id) else {
            return;
        };
        let names: Vec<Vec<u8>> = if argv.len() > 1 {
            argv[1..].iter().map(|a| a.to_vec()).collect()
        } else if pattern {
            c.patterns.clone()
        } else {
            c.channels.clone()
        };
        if names.is_empty() {
            let n = c.subscriptions() as i64;
            out.raw(&encode_push(
                out.proto,
                &[PushPart::Bulk(kind), PushPart::Null, PushPart::Int(n)],
            ));
            return;
        }
        for name in names {
            let list = if pattern {
                &mut c.patterns
            } else {
                &mut c.channels
            };
            list.retain(|x| *x != name);
            let n = c.subscriptions() as i64;
            out.raw(&encode_push(
                out.proto,
                &[
                    PushPart::Bulk(kind),
                    PushPart::Bulk(&name),
                    PushPart::Int(n),
                ],
            ));
        }
    }

    fn client_line(&self, c: &ClientEntry, me: u64, cmd: &str, now_ms: i64) -> String {
        let now_s = now_ms / 1000;
        let flags = if c.no_evict { "e" } else { "N" };
        let flags = if client_type(c) == ClientType::PubSub {
            if c.no_evict {
                "Pe"
            } else {
                "P"
            }
        } else {
            flags
        };
        server::cmd::client::ClientLine {
            id: c.id,
            addr: c.addr.clone(),
            laddr: c.laddr.clone(),
            fd: c.fd,
            name: c.name.as_deref().map(lossy).unwrap_or_default(),
            age: now_s - c.created_ms / 1000,
            idle: if c.id == me {
                0
            } else {
                now_s - c.last_ms / 1000
            },
            flags: flags.to_string(),
            db: 0,
            sub: c.channels.len(),
            psub: c.patterns.len(),
            multi: -1,
            qbuf: if c.id == me { c.qbuf as u64 } else { 0 },
            argv_mem: if c.id == me { c.argv_mem as u64 } else { 0 },
            rbp: 0,
            oll: 0,
            omem: 0,
            tot_mem: 22298,
            events: "r",
            cmd: if c.id == me {
                cmd.to_string()
            } else {
                c.last_cmd.clone()
            },
            user: c.user.clone(),
            resp: match c.proto {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            },
        }
        .format()
    }

    fn client_cmd(&mut self, sess: &mut Session, argv: &[Bytes], full: &str, out: &mut Out) {
        let now = server::clock::unix_ms();
        let sub = argv[1].to_ascii_lowercase();
        let me = sess.id;
        match sub.as_slice() {
            b"id" => out.int(me as i64),
            b"getname" => match self.clients.get(&me).and_then(|c| c.name.clone()) {
                Some(n) => out.bulk(&n),
                None => out.null(),
            },
            b"setname" => {
                let name = &argv[2];
                if !server::cmd::connection::valid_client_name(name) {
                    return out.error(
                        "ERR Client names cannot contain spaces, newlines or special characters.",
                    );
                }
                if let Some(c) = self.clients.get_mut(&me) {
                    c.name = if name.is_empty() {
                        None
                    } else {
                        Some(name.to_vec())
                    };
                }
                out.ok();
            }
            b"info" => {
                let mut text = self
                    .clients
                    .get(&me)
                    .map(|c| self.client_line(c, me, full, now))
                    .unwrap_or_default();
                text.push('\n');
                out.verbatim(text.as_bytes());
            }
            b"list" => {
                let argc = argv.len();
                let mut ids: Vec<u64> = Vec::new();
                if argc == 4 && argv[2].eq_ignore_ascii_case(b"type") {
                    let Some(t) = type_by_name(&argv[3]) else {
                        return out.error(&format!(
                            "ERR Unknown client type '{}'",
                            lossy(&argv[3])
                        ));
                    };
                    ids.extend(
                        self.clients
                            .values()
                            .filter(|c| client_type(c) == t)
                            .map(|c| c.id),
                    );
                } else if argc > 3 && argv[2].eq_ignore_ascii_case(b"id") {
                    for a in &argv[3..] {
                        match parse_int(a) {
                            Some(v) if v > 0 => ids.push(v as u64),
                            _ => return out.error("ERR Invalid client ID"),
                        }
                    }
                } else if argc != 2 {
                    return out.error("ERR syntax error");
                } else {
                    ids.extend(self.clients.keys().copied());
                }
                let mut text = String::new();
                for id in ids {
                    if let Some(c) = self.clients.get(&id) {
                        text.push_str(&self.client_line(c, me, full, now));
                        text.push('\n');
                    }
                }
                out.verbatim(text.as_bytes());
            }
            b"kill" => self.client_kill(sess, argv, out),
            b"reply" => {
                let mode = &argv[2];
                if mode.eq_ignore_ascii_case(b"on") {
                    sess.reply_off = false;
                    out.ok();
                } else if mode.eq_ignore_ascii_case(b"off") {
                    sess.reply_off = true;
                } else if mode.eq_ignore_ascii_case(b"skip") {
                    if !sess.reply_off {
                        sess.skip_next = true;
                    }
                } else {
                    out.error("ERR syntax error");
                }
            }
            b"help" => help_reply(out, "CLIENT", server::cmd::client::CLIENT_HELP),
            b"pause" => {
                if argv.len() > 4 {
                    return out.error(&format!(
                        "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                        lossy(&argv[1])
                    ));
                }
                if argv.len() == 4
                    && !argv[3].eq_ignore_ascii_case(b"write")
                    && !argv[3].eq_ignore_ascii_case(b"all")
                {
                    return out.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
                }
                match parse_int(&argv[2]) {
                    None => out.error("ERR timeout is not an integer or out of range"),
                    Some(t) if t < 0 => out.error("ERR timeout is negative"),
                    // Nothing a sentinel serves is a write; pausing is accepted and moot.
                    Some(_) => out.ok(),
                }
            }
            b"unpause" => out.ok(),
            b"no-evict" => {
                let on = if argv[2].eq_ignore_ascii_case(b"on") {
                    true
                } else if argv[2].eq_ignore_ascii_case(b"off") {
                    false
                } else {
                    return out.error("ERR syntax error");
                };
                if let Some(c) = self.clients.get_mut(&me) {
                    c.no_evict = on;
                }
                out.ok();
            }
            b"getredir" => out.int(-1),
            b"trackinginfo" => {
                out.map(3);
                out.bulk(b"flags");
                out.set(1);
                out.bulk(b"off");
                out.bulk(b"redirect");
                out.int(-1);
                out.bulk(b"prefixes");
                out.array(0);
            }
            b"tracking" => {
                if argv[2].eq_ignore_ascii_case(b"off") || argv[2].eq_ignore_ascii_case(b"on") {
                    // A sentinel has no keys: no invalidation can ever be sent.
                    out.ok()
                } else {
                    out.error("ERR syntax error")
                }
            }
            b"caching" => out.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"),
            b"unblock" => match parse_int(&argv[2]) {
                None => out.error("ERR value is not an integer or out of range"),
                Some(_) => out.int(0),
            },
            _ => out.error(&format!(
                "ERR unknown subcommand '{}'. Try CLIENT HELP.",
                lossy(&argv[1])
            )),
        }
    }

    fn client_kill(&mut self, sess: &mut Session, argv: &[Bytes], out: &mut Out) {
        let argc = argv.len();
        let mut addr: Option<&[u8]> = None;
        let mut laddr: Option<&[u8]> = None;
        let mut user: Option<&[u8]> = None;
        let mut ctype: Option<ClientType> = None;
        let mut want_id: u64 = 0;
        let mut skipme = true;
        if argc == 3 {
            addr = Some(&argv[2]);
            skipme = false;
        } else {
            let mut i = 2;
            while i < argc {
                if i + 1 >= argc {
                    return out.error("ERR syntax error");
                }
                let (opt, val) = (&argv[i], &argv[i + 1]);
                if opt.eq_ignore_ascii_case(b"id") {
                    match parse_int(val) {
                        Some(v) if v >= 1 => want_id = v as u64,
                        _ => return out.error("ERR client-id should be greater than 0"),
                    }
                } else if opt.eq_ignore_ascii_case(b"type") {
                    match type_by_name(val) {
                        Some(t) => ctype = Some(t),
                        None => {
                            return out.error(&format!("ERR Unknown client type '{}'", lossy(val)))
                        }
                    }
                } else if opt.eq_ignore_ascii_case(b"addr") {
                    addr = Some(val);
                } else if opt.eq_ignore_ascii_case(b"laddr") {
                    laddr = Some(val);
                } else if opt.eq_ignore_ascii_case(b"user") {
                    if &val[..] != b"default" {
                        return out.error(&format!("ERR No such user '{}'", lossy(val)));
                    }
                    user = Some(val);
                } else if opt.eq_ignore_ascii_case(b"skipme") {
                    if val.eq_ignore_ascii_case(b"yes") {
                        skipme = true;
                    } else if val.eq_ignore_ascii_case(b"no") {
                        skipme = false;
                    } else {
                        return out.error("ERR syntax error");
                    }
                } else {
                    return out.error("ERR syntax error");
                }
                i += 2;
            }
        }
        let me = sess.id;
        let victims: Vec<u64> = self
            .clients
            .values()
            .filter(|c| addr.is_none_or(|a| a == c.addr.as_bytes()))
            .filter(|c| laddr.is_none_or(|a| a == c.laddr.as_bytes()))
            .filter(|c| ctype.is_none_or(|t| client_type(c) == t))
            .filter(|c| want_id == 0 || c.id == want_id)
            .filter(|c| user.is_none_or(|u| u == c.user.as_bytes()))
            .filter(|c| !(c.id == me && skipme))
            .map(|c| c.id)
            .collect();
        let killed = victims.len();
        for id in victims {
            if id == me {
                sess.close_after_reply = true;
            } else if let Some(c) = self.clients.remove(&id) {
                c.kill.notify_one();
            }
        }
        if argc == 3 {
            if killed == 0 {
                out.error("ERR No such client");
            } else {
                out.ok();
            }
        } else {
            out.int(killed as i64);
        }
    }

    fn acl_cmd(&mut self, sess: &Session, argv: &[Bytes], out: &mut Out) {
        let sub = argv[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"whoami" => {
                let user = self
                    .clients
                    .get(&sess.id)
                    .map(|c| c.user.clone())
                    .unwrap_or_else(|| "default".into());
                out.bulk(user.as_bytes());
            }
            b"users" => out.bulk_array(&["default"]),
            b"list" => {
                let line = self.default_user_rules();
                out.array(1);
                out.bulk(line.as_bytes());
            }
            b"cat" => {
                if argv.len() == 2 {
                    out.array(server::cmd::admin::ACL_CATEGORIES.len());
                    for c in server::cmd::admin::ACL_CATEGORIES {
                        out.bulk(c.as_bytes());
                    }
                    return;
                }
                if argv.len() > 3 {
                    return out.error("ERR wrong number of arguments for 'acl|cat' command");
                }
                let cat = lossy(&argv[2]).to_ascii_lowercase();
                if !server::cmd::admin::ACL_CATEGORIES.contains(&cat.as_str()) {
                    return out.error(&format!("ERR Unknown category '{}'", lossy(&argv[2])));
                }
                let names: Vec<String> = cmdtable::all()
                    .into_iter()
                    .filter(|(_, c)| c.acl.contains(&cat.as_str()))
                    .map(|(p, c)| cmdtable::full_name(p, c))
                    .collect();
                out.bulk_array(&names);
            }
            b"genpass" => {
                let bits = match argv.get(2) {
                    None => 256,
                    Some(a) => match parse_int(a) {
                        None => return out.error("ERR value is not an integer or out of range"),
                        Some(b) if b <= 0 || b > 4096 => return out.error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"),
                        Some(b) => b,
                    },
                };
                let chars = (bits as usize).div_ceil(4);
                let mut s = String::with_capacity(chars);
                while s.len() < chars {
                    s.push_str(&format!("{:016x}", rand::random::<u64>()));
                }
                s.truncate(chars);
                out.bulk(s.as_bytes());
            }
            b"log" => match argv.get(2) {
                None => out.array(0),
                Some(a) if a.eq_ignore_ascii_case(b"reset") => out.ok(),
                Some(a) => match parse_int(a) {
                    Some(_) => out.array(0),
                    None => out.error("ERR value is not an integer or out of range"),
                },
            },
            b"help" => help_reply(out, "ACL", ACL_HELP),
            b"load" | b"save" => out.error("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."),
            b"getuser" => {
                if &argv[2][..] != b"default" {
                    return out.null();
                }
                out.map(6);
                out.bulk(b"flags");
                let mut flags = vec![if self.auth.enabled { "on" } else { "off" }];
                if self.auth.nopass {
                    flags.push("nopass");
                }
                if self.auth.sanitize_payload {
                    flags.push("sanitize-payload");
                }
                out.array(flags.len());
                for f in flags {
                    out.bulk(f.as_bytes());
                }
                out.bulk(b"passwords");
                out.array(self.auth.hashes.len());
                for h in &self.auth.hashes {
                    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
                    out.bulk(hex.as_bytes());
                }
                out.bulk(b"commands");
                out.bulk(b"+@all");
                out.bulk(b"keys");
                out.bulk(b"~*");
                out.bulk(b"channels");
                out.bulk(b"&*");
                out.bulk(b"selectors");
                out.array(0);
            }
            b"dryrun" => {
                if &argv[2][..] != b"default" {
                    return out.error(&format!("ERR User '{}' not found", lossy(&argv[2])));
                }
                match cmdtable::lookup(&argv[3]) {
                    Some(_) => out.ok(),
                    None => out.error(&format!(
                        "ERR Command '{}' not found",
                        lossy(&argv[3])
                    )),
                }
            }
            _ => out.error(&format!(
                "ERR ACL {} is not supported by Redoubt's sentinel (only the default user exists)",
                lossy(&argv[1]).to_ascii_uppercase()
            )),
        }
    }

    /// The default user as ACL LIST prints it.
    fn default_user_rules(&self) -> String {
        let mut s = String::from("user default ");
        s.push_str(if self.auth.enabled { "on" } else { "off" });
        if self.auth.nopass {
            s.push_str(" nopass");
        }
        for h in &self.auth.hashes {
            s.push_str(" #");
            for b in h {
                s.push_str(&format!("{b:02x}"));
            }
        }
        s.push_str(" ~* &* +@all");
        s
    }
}

/// Redis's `addReplyHelp`.
fn help_reply(out: &mut Out, name: &str, lines: &[&str]) {
    server::cmd::admin::help_reply(out, name, lines);
}

fn command_cmd(argv: &[Bytes], out: &mut Out) {
    if argv.len() == 1 {
        out.array(cmdtable::COMMANDS.len());
        for c in cmdtable::COMMANDS {
            cmdtable::reply_info(out, None, c);
        }
        return;
    }
    let sub = argv[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"count" => out.int(cmdtable::COMMANDS.len() as i64),
        b"info" => {
            if argv.len() == 2 {
                out.array(cmdtable::COMMANDS.len());
                for c in cmdtable::COMMANDS {
                    cmdtable::reply_info(out, None, c);
                }
                return;
            }
            out.array(argv.len() - 2);
            for name in &argv[2..] {
                match cmdtable::lookup_full(name) {
                    Some((p, c)) => cmdtable::reply_info(out, p, c),
                    None => out.null(),
                }
            }
        }
        b"docs" => {
            if argv.len() == 2 {
                out.map(cmdtable::COMMANDS.len());
                for c in cmdtable::COMMANDS {
                    out.bulk(c.name.as_bytes());
                    cmdtable::reply_docs(out, None, c);
                }
                return;
            }
            let found: Vec<_> = argv[2..]
                .iter()
                .filter_map(|n| cmdtable::lookup_full(n))
                .collect();
            out.map(found.len());
            for (p, c) in found {
                out.bulk(cmdtable::full_name(p, c).as_bytes());
                cmdtable::reply_docs(out, p, c);
            }
        }
        b"list" => {
            let all = cmdtable::all();
            let names: Vec<String> = match argv.len() {
                2 => all
                    .into_iter()
                    .map(|(p, c)| cmdtable::full_name(p, c))
                    .collect(),
                5 if argv[2].eq_ignore_ascii_case(b"filterby") => {
                    let what = argv[3].to_ascii_lowercase();
                    let val = &argv[4];
                    match what.as_slice() {
                        b"module" => Vec::new(),
                        b"aclcat" => {
                            let cat = lossy(val).to_ascii_lowercase();
                            all.into_iter()
                                .filter(|(_, c)| c.acl.contains(&cat.as_str()))
                                .map(|(p, c)| cmdtable::full_name(p, c))
                                .collect()
                        }
                        b"pattern" => all
                            .into_iter()
                            .map(|(p, c)| cmdtable::full_name(p, c))
                            .filter(|n| store::glob::glob_match(val, n.as_bytes(), true))
                            .collect(),
                        _ => return out.error("ERR syntax error"),
                    }
                }
                _ => return out.error("ERR syntax error"),
            };
            out.bulk_array(&names);
        }
        b"getkeys" | b"getkeysandflags" => match cmdtable::lookup(&argv[2]) {
            None => out.error("ERR Invalid command specified"),
            Some(c) if !c.arity_ok(argv.len() - 2) => {
                out.error("ERR Invalid number of arguments specified for command")
            }
            Some(_) => out.error("ERR The command has no key arguments"),
        },
        b"help" => help_reply(out, "COMMAND", server::cmd::admin::COMMAND_HELP),
        _ => out.error(&format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            lossy(&argv[1])
        )),
    }
}

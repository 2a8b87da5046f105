//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH.

use crate::client::ReplyMode;
use crate::dispatch::Exec;
use crate::REDIS_VERSION;
use resp::Protocol;
use store::num::parse_i64;

/// PING [message]
pub fn ping(ex: &mut Exec) {
    if ex.argv.len() > 2 {
        return ex
            .out
            .error("ERR wrong number of arguments for 'ping' command");
    }
    if ex.sess.subscription_count() > 0 && !ex.out.resp3() {
        ex.out.array(2);
        ex.out.bulk(b"pong");
        let msg = if ex.argv.len() == 2 {
            ex.argv[1].clone()
        } else {
            bytes::Bytes::new()
        };
        return ex.out.bulk(&msg);
    }
    if ex.argv.len() == 2 {
        let msg = ex.argv[1].clone();
        ex.out.bulk(&msg);
    } else {
        ex.out.raw(b"+PONG\r\n");
    }
}

/// ECHO message
pub fn echo(ex: &mut Exec) {
    let msg = ex.argv[1].clone();
    ex.out.bulk(&msg);
}

/// QUIT
pub fn quit(ex: &mut Exec) {
    ex.out.ok();
    ex.sess.close_after_reply = true;
}

/// RESET
pub fn reset(ex: &mut Exec) {
    crate::cmd::multi::discard_transaction(ex.st, ex.sess);
    crate::cmd::multi::unwatch_all(ex.st, ex.sess);
    crate::cmd::pubsub::drop_all_subscriptions(ex.st, ex.sess);
    ex.sess.db = 0;
    ex.sess.reply_mode = ReplyMode::On;
    ex.out.proto = Protocol::Resp2;
    ex.sess.authenticated = ex.st.cfg.requirepass.is_none();
    ex.sess.user = "default".into();
    if let Some(c) = ex.st.clients.get_mut(&ex.sess.id) {
        c.proto = Protocol::Resp2;
        c.name = None;
        c.monitor = false;
        c.no_evict = false;
        c.kind = crate::client::ClientKind::Normal;
    }
    ex.out.simple("RESET");
}

/// SELECT index
pub fn select(ex: &mut Exec) {
    let Some(db) = parse_i64(&ex.argv[1]) else {
        return ex.out.error("ERR value is not an integer or out of range");
    };
    if db < 0 || db as usize >= ex.st.ks.dbs.len() {
        return ex.out.error("ERR DB index is out of range");
    }
    ex.sess.db = db as usize;
    ex.out.ok();
}

/// Checks `user`/`pass` against the default user; Ok(true) if accepted.
fn check_credentials(ex: &Exec, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &ex.st.cfg.requirepass {
        None => true,
        Some(p) => constant_time_eq(p, pass),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// AUTH [username] password
pub fn auth(ex: &mut Exec) {
    let (user, pass) = match ex.argv.len() {
        2 => (bytes::Bytes::from_static(b"default"), ex.argv[1].clone()),
        3 => (ex.argv[1].clone(), ex.argv[2].clone()),
        _ => return ex.out.error("ERR syntax error"),
    };
    if ex.argv.len() == 2 && ex.st.cfg.requirepass.is_none() {
        return ex.out.error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    }
    if check_credentials(ex, &user, &pass) {
        ex.sess.authenticated = true;
        ex.sess.user = String::from_utf8_lossy(&user).into_owned();
        ex.out.ok();
    } else {
        crate::warning!(
            "WRONGPASS attempt for user '{}'",
            String::from_utf8_lossy(&user)
        );
        ex.out.error(WRONGPASS);
    }
}

/// True if `name` is a valid client name (no spaces, newlines or special characters).
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
pub fn hello(ex: &mut Exec) {
    let mut proto = None;
    let mut j = 1;
    if ex.argv.len() >= 2 {
        match parse_i64(&ex.argv[1]) {
            Some(v) if (2..=3).contains(&v) => proto = Some(v),
            Some(_) => return ex.out.error("NOPROTO unsupported protocol version"),
            None => {
                return ex
                    .out
                    .error("ERR Protocol version is not an integer or out of range")
            }
        }
        j = 2;
    }
    let mut creds = None;
    let mut setname = None;
    while j < ex.argv.len() {
        let opt = &ex.argv[j];
        let more = ex.argv.len() - j - 1;
        if opt.eq_ignore_ascii_case(b"auth") && more >= 2 {
            creds = Some((ex.argv[j + 1].clone(), ex.argv[j + 2].clone()));
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"setname") && more >= 1 {
            setname = Some(ex.argv[j + 1].clone());
            j += 2;
        } else {
            let msg = format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            );
            return ex.out.error(&msg);
        }
    }
    if let Some((user, pass)) = &creds {
        if !check_credentials(ex, user, pass) {
            return ex.out.error(WRONGPASS);
        }
    }
    if let Some(name) = &setname {
        if !valid_client_name(name) {
            return ex
                .out
                .error("ERR Client names cannot contain spaces, newlines or special characters.");
        }
    }
    if creds.is_none() && !ex.sess.authenticated {
        return ex.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some((user, _)) = creds {
        ex.sess.authenticated = true;
        ex.sess.user = String::from_utf8_lossy(&user).into_owned();
    }
    let id = ex.sess.id;
    if let Some(p) = proto {
        ex.out.proto = if p == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
    }
    if let Some(c) = ex.st.clients.get_mut(&id) {
        c.proto = ex.out.proto;
        if let Some(name) = setname {
            c.name = if name.is_empty() { None } else { Some(name) };
        }
        c.user = ex.sess.user.clone();
    }
    let is_replica = ex.st.repl.is_replica();
    let out = &mut *ex.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if out.resp3() { 3 } else { 2 });
    out.bulk(b"id");
    out.int(id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(if is_replica {
        &b"replica"[..]
    } else {
        &b"master"[..]
    });
    out.bulk(b"modules");
    out.array(0);
}

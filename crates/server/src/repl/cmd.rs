//! The commands that steer replication: REPLICAOF/SLAVEOF, ROLE, REPLCONF, WAIT and FAILOVER
//! (PSYNC and SYNC are the primary's side, in [`super::primary`]).

use super::{Failover, LinkState, MasterLink, ReplicaState};
use crate::cmd::client::{client_line, Caller};
use crate::dispatch::Exec;
use crate::state::{Pause, State};

/// The CLIENT LIST line of the caller, as Redis quotes it in the REPLICAOF log lines.
fn caller_description(ex: &Exec) -> String {
    match ex.st.clients.get(&ex.sess.id) {
        Some(c) => {
            let caller = Caller {
                sess: ex.sess,
                proto: ex.out.proto,
                argv: ex.argv,
                cmd: "replicaof",
                reply_bytes: 0,
            };
            client_line(c, Some(&caller), ex.now_ms).format()
        }
        None => String::new(),
    }
}

/// REPLICAOF host port | REPLICAOF NO ONE (and its alias SLAVEOF).
pub fn replicaof(ex: &mut Exec) {
    if ex.st.repl.failover.is_some() {
        ex.out
            .error("ERR REPLICAOF not allowed while failing over.");
        return;
    }
    if ex.arg(1).eq_ignore_ascii_case(b"no") && ex.arg(2).eq_ignore_ascii_case(b"one") {
        if ex.st.repl.is_replica() {
            let why = format!("user request from '{}'", caller_description(ex));
            become_primary(ex.st, &why);
        }
        ex.out.ok();
        return;
    }
    if ex.sess.from_master {
        ex.out
            .error("ERR Command is not valid when client is a replica.");
        return;
    }
    let port = match store::num::parse_i64(ex.arg(2)) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => {
            ex.out.error("ERR Invalid master port");
            return;
        }
    };
    let host = String::from_utf8_lossy(ex.arg(1)).into_owned();
    if let Some(m) = &ex.st.repl.master {
        if m.host.eq_ignore_ascii_case(&host) && m.port == port {
            crate::notice!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            ex.out.simple("OK Already connected to specified master");
            return;
        }
    }
    set_master(ex.st, &host, port, false);
    crate::notice!(
        "REPLICAOF {host}:{port} enabled (user request from '{}')",
        caller_description(ex)
    );
    ex.out.ok();
}

/// Makes us a replica of `host:port`: drops any previous link and our own replicas, keeps the
/// data (served as stale until the sync), and lets the link task connect.
pub fn set_master(st: &mut State, host: &str, port: u16, failover_psync: bool) {
    let was_primary = !st.repl.is_replica();
    if let Some(old) = st.repl.master.take() {
        kill_link_client(st, &old);
    }
    unblock_all_for_role_change(st);
    super::disconnect_replicas(st);
    if was_primary {
        crate::notice!("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
        st.repl.can_psync = true;
        if st.repl.backlog.is_none() {
            st.repl.create_backlog(st.cfg.repl_backlog_size);
        }
    }
    st.repl.generation += 1;
    let offset = st.repl.offset;
    st.repl.master = Some(MasterLink::new(
        host,
        port,
        st.repl.generation,
        offset,
        failover_psync,
    ));
    st.ks.replica_mode = true;
    crate::log::set_role(b'S');
    st.repl.link_wake.notify_one();
}

fn kill_link_client(st: &State, link: &MasterLink) {
    if let Some(c) = link.client_id.and_then(|id| st.clients.get(&id)) {
        c.handle.kill();
    }
}

/// Clients blocked on keys get `-UNBLOCKED` when the role changes, as Redis does.
fn unblock_all_for_role_change(st: &mut State) {
    let ids: Vec<u64> = st.blocked.keys().copied().collect();
    for id in ids {
        let Some(b) = crate::blocking::unblock(st, id) else {
            continue;
        };
        let mut out = resp::Out::new(b.proto);
        out.error("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
        if let Some(c) = st.clients.get(&id) {
            c.handle.send(&out.buf);
        }
    }
}

/// Promotes us (REPLICAOF NO ONE, FAILOVER, PSYNC FAILOVER): the old ID becomes the secondary
/// one so our former siblings continue partially, our own replicas reconnect to learn it.
pub fn become_primary(st: &mut State, why: &str) {
    let Some(old) = st.repl.master.take() else {
        return;
    };
    kill_link_client(st, &old);
    st.repl.generation += 1;
    st.repl.shift_replid();
    super::disconnect_replicas(st);
    st.repl.stream_db = None;
    st.repl.can_psync = false;
    st.ks.replica_mode = false;
    crate::log::set_role(b'M');
    if st.repl.backlog.is_none() {
        st.repl.create_backlog(st.cfg.repl_backlog_size);
    }
    st.repl.no_replicas_since_ms = crate::clock::unix_ms();
    crate::notice!("Discarding previously cached master state.");
    crate::notice!("MASTER MODE enabled ({why})");
}

/// ROLE.
pub fn role(ex: &mut Exec) {
    let st = &*ex.st;
    let out = &mut *ex.out;
    match &st.repl.master {
        None => {
            out.array(3);
            out.bulk(b"master");
            out.int(st.repl.offset as i64);
            let online: Vec<_> = st
                .repl
                .replicas
                .values()
                .filter(|r| r.state == ReplicaState::Online)
                .collect();
            out.array(online.len());
            for r in online {
                out.array(3);
                out.bulk(r.ip.as_bytes());
                out.bulk(r.listening_port.to_string().as_bytes());
                out.bulk(r.ack_off.to_string().as_bytes());
            }
        }
        Some(m) => {
            out.array(5);
            out.bulk(b"slave");
            out.bulk(m.host.as_bytes());
            out.int(m.port as i64);
            out.bulk(m.state.name().as_bytes());
            out.int(if m.state == LinkState::Connected {
                st.repl.offset as i64
            } else {
                -1
            });
        }
    }
}

/// REPLCONF <option> <value> ...: what a replica tells us before (and while) it syncs.
pub fn replconf(ex: &mut Exec) {
    if ex.argv.len().is_multiple_of(2) {
        ex.out.error(store::cmd::SYNTAX);
        return;
    }
    let mut j = 1;
    while j < ex.argv.len() {
        let opt = ex.arg(j).to_ascii_lowercase();
        let val = ex.argv[j + 1].clone();
        match opt.as_slice() {
            b"listening-port" => match store::num::parse_i64(&val) {
                Some(p) => ex.sess.replica_hello.listening_port = p as u16,
                None => {
                    ex.out.error(store::cmd::NOT_INT);
                    return;
                }
            },
            b"ip-address" => {
                if val.len() >= 256 {
                    ex.out.error(&format!(
                        "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                        val.len()
                    ));
                    return;
                }
                ex.sess.replica_hello.ip_address = Some(String::from_utf8_lossy(&val).into_owned());
            }
            b"capa" => {
                if val.eq_ignore_ascii_case(b"eof") {
                    ex.sess.replica_hello.capa_eof = true;
                } else if val.eq_ignore_ascii_case(b"psync2") {
                    ex.sess.replica_hello.capa_psync2 = true;
                }
            }
            b"ack" => {
                // A replica's ACK is never answered.
                if let Some(off) = store::num::parse_i64(&val) {
                    let now = ex.now_ms;
                    super::on_ack(ex.st, ex.sess.id, off.max(0) as u64, now);
                }
                return;
            }
            b"getack" => {
                // Our primary asks how far we are: the answer goes to it, not as a reply.
                if ex.sess.from_master {
                    ex.st.repl.ack_requested = Some(ex.st.repl.offset);
                }
                return;
            }
            b"rdb-only" | b"rdb-filter-only" => {}
            _ => {
                ex.out.error(&format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(ex.arg(j))
                ));
                return;
            }
        }
        j += 2;
    }
    ex.out.ok();
}

/// WAIT numreplicas timeout: blocks until that many replicas acknowledged this client's last
/// write, or the timeout; replies with how many did.
pub fn wait(ex: &mut Exec) {
    if ex.st.repl.is_replica() {
        ex.out.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
        return;
    }
    let Some(wanted) = store::num::parse_i64(ex.arg(1)) else {
        ex.out.error(store::cmd::NOT_INT);
        return;
    };
    let deadline = match crate::cmd::client::parse_timeout_ms(ex.arg(2), ex.now_ms) {
        Ok(d) => d,
        Err(e) => {
            ex.out.error(e);
            return;
        }
    };
    let target = ex.sess.woff;
    let acked = super::count_acked(ex.st, target);
    if ex.sess.in_exec || acked as i64 >= wanted {
        ex.out.int(acked as i64);
        return;
    }
    ex.st.blocked.insert(
        ex.sess.id,
        crate::blocking::BlockedClient {
            cmd: crate::commands::lookup(b"wait").expect("wait is in the table"),
            parent: None,
            argv: ex.argv.to_vec(),
            db: ex.sess.db,
            keys: Vec::new(),
            deadline_ms: (deadline > 0).then_some(deadline),
            timeout_reply: store::cmd::TimeoutReply::Null,
            proto: ex.out.proto,
            wait: Some((target, wanted.max(0) as usize)),
        },
    );
    if let Some(c) = ex.st.clients.get_mut(&ex.sess.id) {
        c.blocked = true;
    }
    ex.st.repl.getack_wanted = true;
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: a coordinated switch-over to a
/// replica that has every write (writes are paused until it took over).
pub fn failover(ex: &mut Exec) {
    if ex.st.repl.is_replica() {
        ex.out
            .error("ERR FAILOVER is not valid when server is a replica.");
        return;
    }
    let (mut target, mut force, mut abort, mut timeout) = (None, false, false, None);
    let mut j = 1;
    while j < ex.argv.len() {
        let a = ex.arg(j);
        if a.eq_ignore_ascii_case(b"to") && j + 2 < ex.argv.len() && target.is_none() {
            let host = String::from_utf8_lossy(ex.arg(j + 1)).into_owned();
            let Some(port) = store::num::parse_i64(ex.arg(j + 2)) else {
                ex.out.error(store::cmd::NOT_INT);
                return;
            };
            target = Some((host, port));
            j += 3;
        } else if a.eq_ignore_ascii_case(b"timeout") && j + 1 < ex.argv.len() && timeout.is_none() {
            let Some(t) = store::num::parse_i64(ex.arg(j + 1)) else {
                ex.out.error(store::cmd::NOT_INT);
                return;
            };
            timeout = Some(t);
            j += 2;
        } else if a.eq_ignore_ascii_case(b"force") && !force {
            force = true;
            j += 1;
        } else if a.eq_ignore_ascii_case(b"abort") && !abort {
            abort = true;
            j += 1;
        } else {
            ex.out.error(store::cmd::SYNTAX);
            return;
        }
    }
    if abort {
        if target.is_some() || timeout.is_some() || force {
            ex.out.error(store::cmd::SYNTAX);
            return;
        }
        if ex.st.repl.failover.is_none() {
            ex.out.error("ERR No failover in progress.");
            return;
        }
        abort_failover(ex.st, "Failover manually aborted");
        ex.out.ok();
        return;
    }
    if timeout.is_some_and(|t| t <= 0) {
        ex.out.error("ERR FAILOVER timeout must be greater than 0");
        return;
    }
    if ex.st.repl.failover.is_some() {
        ex.out.error("ERR FAILOVER already in progress.");
        return;
    }
    if ex.st.repl.replicas.is_empty() {
        ex.out.error("ERR FAILOVER requires connected replicas.");
        return;
    }
    if force && (timeout.is_none() || target.is_none()) {
        ex.out.error(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        );
        return;
    }
    let target =
        match target {
            Some((host, port)) => {
                let found =
                    ex.st.repl.replicas.values().find(|r| {
                        r.ip.eq_ignore_ascii_case(&host) && r.listening_port as i64 == port
                    });
                match found {
                    None => {
                        ex.out
                            .error("ERR FAILOVER target HOST and PORT is not a replica.");
                        return;
                    }
                    Some(r) if r.state != ReplicaState::Online => {
                        ex.out.error("ERR FAILOVER target replica is not online.");
                        return;
                    }
                    Some(_) => Some((host, port as u16)),
                }
            }
            None => None,
        };
    match &target {
        Some((h, p)) => crate::notice!("FAILOVER requested to {h}:{p}."),
        None => crate::notice!("FAILOVER requested to any replica."),
    }
    ex.st.repl.failover = Some(Failover {
        target,
        deadline_ms: timeout.map(|t| ex.now_ms + t),
        force,
        in_progress: false,
        target_offset: ex.st.repl.offset,
    });
    ex.st.pause = Some(Pause {
        until_ms: i64::MAX,
        all: false,
    });
    ex.out.ok();
}

fn abort_failover(st: &mut State, why: &str) {
    let Some(f) = st.repl.failover.take() else {
        return;
    };
    match &f.target {
        Some((h, p)) => crate::notice!("FAILOVER to {h}:{p} aborted: {why}"),
        None => crate::notice!("FAILOVER to any replica aborted: {why}"),
    }
    if f.in_progress {
        become_primary(st, "FAILOVER aborted");
    }
    st.pause = None;
    st.unpaused.notify_waiters();
}

/// INFO's `master_failover_state`.
pub fn failover_state_name(st: &State) -> &'static str {
    match &st.repl.failover {
        None => "no-failover",
        Some(f) if f.in_progress => "failover-in-progress",
        Some(_) => "waiting-for-sync",
    }
}

/// Drives a FAILOVER: once the target (or any replica) acknowledged every write, we become its
/// replica with `PSYNC ... FAILOVER`, which promotes it; a timeout aborts (or forces).
pub fn failover_cron(st: &mut State, now_ms: i64) {
    let Some(f) = st.repl.failover.clone() else {
        return;
    };
    if f.in_progress {
        if f.deadline_ms.is_some_and(|d| now_ms > d) {
            abort_failover(st, "target failed to respond");
        }
        return;
    }
    let offset = st.repl.offset;
    let synced = st
        .repl
        .replicas
        .values()
        .find(|r| {
            r.state == ReplicaState::Online
                && r.ack_off >= offset
                && f.target
                    .as_ref()
                    .is_none_or(|(h, p)| r.ip.eq_ignore_ascii_case(h) && r.listening_port == *p)
        })
        .map(|r| (r.ip.clone(), r.listening_port));
    let timed_out = f.deadline_ms.is_some_and(|d| now_ms >= d);
    let chosen = match (synced, timed_out) {
        (Some(t), _) => t,
        (None, true) if f.force => f.target.clone().expect("force requires a target"),
        (None, true) => {
            abort_failover(st, "replica never caught up before timeout");
            return;
        }
        (None, false) => {
            st.repl.getack_wanted = true;
            return;
        }
    };
    crate::notice!(
        "Failover target {}:{} is synced, failing over.",
        chosen.0,
        chosen.1
    );
    if let Some(fo) = st.repl.failover.as_mut() {
        fo.in_progress = true;
        fo.target = Some(chosen.clone());
        fo.deadline_ms = Some(now_ms + 60_000);
    }
    set_master(st, &chosen.0, chosen.1, true);
}

/// The link ended its `PSYNC ... FAILOVER`: success ends the FAILOVER (writes resume); an
/// error makes us primary again.
pub fn failover_link_result(st: &mut State, ok: bool) {
    if !st.repl.failover.as_ref().is_some_and(|f| f.in_progress) {
        return;
    }
    if ok {
        let f = st.repl.failover.take();
        if let Some((h, p)) = f.and_then(|f| f.target) {
            crate::notice!(
                "Failover target {h}:{p} accepted the failover request, failover completed."
            );
        }
        st.pause = None;
        st.unpaused.notify_waiters();
    } else {
        abort_failover(st, "target rejected the PSYNC request");
    }
}

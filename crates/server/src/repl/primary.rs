//! The primary's side: PSYNC/SYNC (partial resync from the backlog, or a full one), the
//! snapshot for full resyncs (an RDB file, or streamed to the sockets by a forked child), and
//! each replica connection's task (snapshot transfer, then the live stream and its ACKs).

use super::{feed_raw, replica_name, ReplicaEntry, ReplicaState, SyncStep, GETACK};
use crate::client::{BecameReplica, ClientKind, Session};
use crate::dispatch::Exec;
use crate::state::{Shared, State};
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Counters INFO stats prints (`sync_full`, `sync_partial_ok`, `sync_partial_err`).
#[derive(Debug, Default, Clone)]
pub struct SyncStats {
    /// Full resyncs served.
    pub full: u64,
    /// Partial resyncs accepted.
    pub partial_ok: u64,
    /// Partial resyncs refused.
    pub partial_err: u64,
    /// Stream bytes sent to replicas.
    pub output_bytes: u64,
}

/// PSYNC <replid> <offset> [FAILOVER].
pub fn psync(ex: &mut Exec) {
    sync_request(ex, false);
}

/// SYNC: the legacy full resync (no `+FULLRESYNC` line, no ACKs).
pub fn sync(ex: &mut Exec) {
    sync_request(ex, true);
}

fn sync_request(ex: &mut Exec, legacy: bool) {
    if ex.sess.became_replica.is_some() || ex.st.repl.replicas.contains_key(&ex.sess.id) {
        return;
    }
    if ex.sess.from_master {
        ex.out
            .error("ERR Command is not valid when client is a replica.");
        return;
    }
    let name = hello_name(ex);
    if !legacy && ex.argv.len() == 4 {
        if !ex.arg(3).eq_ignore_ascii_case(b"failover") {
            ex.out.error(store::cmd::SYNTAX);
            return;
        }
        if !ex.st.repl.is_replica() {
            ex.out
                .error("ERR PSYNC FAILOVER can't be sent to a master.");
            return;
        }
        if ex.arg(1) != ex.st.repl.replid.as_bytes() {
            ex.out
                .error("ERR PSYNC FAILOVER replid must match my replid.");
            return;
        }
        crate::notice!(
            "Failover request received for replid {}.",
            ex.st.repl.replid
        );
        super::cmd::become_primary(ex.st, "FAILOVER request");
    } else if !legacy && ex.argv.len() != 3 {
        ex.out
            .error("ERR wrong number of arguments for 'psync' command");
        return;
    }
    if ex.st.repl.is_replica() && !ex.st.repl.link_up() {
        ex.out
            .error("NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if ex.st.repl.failover.as_ref().is_some_and(|f| f.in_progress) {
        ex.out.error("NOMASTERLINK Can't SYNC while failing over");
        return;
    }
    crate::notice!("Replica {name} asks for synchronization");
    let now = ex.now_ms;
    if !legacy {
        let requested = match store::num::parse_i64(ex.arg(2)) {
            Some(n) => n,
            None => {
                ex.out.error(store::cmd::NOT_INT);
                return;
            }
        };
        let replid = String::from_utf8_lossy(ex.arg(1)).into_owned();
        if try_partial(ex, &name, &replid, requested, now) {
            return;
        }
        if replid != "?" {
            ex.st.repl.stats.partial_err += 1;
        }
    }
    ex.st.repl.stats.full += 1;
    if ex.st.repl.backlog.is_none() {
        if !ex.st.repl.is_replica() {
            ex.st.repl.change_replid();
            ex.st.repl.clear_replid2();
        }
        ex.st.repl.create_backlog(ex.st.cfg.repl_backlog_size);
        crate::notice!(
            "Replication backlog created, my new replication IDs are '{}' and '{}'",
            ex.st.repl.replid,
            ex.st.repl.replid2
        );
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut entry = new_entry(ex, ReplicaState::WaitBgsaveStart, now);
    entry.legacy_sync = legacy;
    entry.steps = Some(tx);
    ex.st.repl.replicas.insert(ex.sess.id, entry);
    if !legacy {
        crate::notice!("Full resync requested by replica {name}");
    }
    become_replica(ex, Some(rx));
    start_pending_syncs(ex.st, now);
}

fn hello_name(ex: &Exec) -> String {
    let ip = ex
        .sess
        .replica_hello
        .ip_address
        .clone()
        .unwrap_or_else(|| peer_ip(ex));
    format!("{ip}:{}", ex.sess.replica_hello.listening_port)
}

fn peer_ip(ex: &Exec) -> String {
    let addr = ex
        .st
        .clients
        .get(&ex.sess.id)
        .map(|c| c.addr.clone())
        .unwrap_or_default();
    match addr.rsplit_once(':') {
        Some((ip, _)) => ip.trim_start_matches('[').trim_end_matches(']').to_string(),
        None => addr,
    }
}

fn new_entry(ex: &Exec, state: ReplicaState, now: i64) -> ReplicaEntry {
    let h = &ex.sess.replica_hello;
    ReplicaEntry {
        handle: ex.sess.handle.clone(),
        state,
        listening_port: h.listening_port,
        ip: h.ip_address.clone().unwrap_or_else(|| peer_ip(ex)),
        capa_eof: h.capa_eof,
        capa_psync2: h.capa_psync2,
        ack_off: 0,
        ack_time_ms: now,
        wait_since_ms: now,
        legacy_sync: false,
        steps: None,
        got_ack: false,
    }
}

fn become_replica(ex: &mut Exec, steps: Option<tokio::sync::mpsc::UnboundedReceiver<SyncStep>>) {
    ex.sess.became_replica = Some(BecameReplica { steps });
    if let Some(c) = ex.st.clients.get_mut(&ex.sess.id) {
        c.kind = ClientKind::Replica;
    }
}

/// What a primary answers to `PSYNC <replid> <offset>`.
#[derive(Debug, PartialEq, Eq)]
pub enum PsyncDecision {
    /// `+CONTINUE`: these backlog bytes, then the live stream.
    Continue(Vec<u8>),
    /// A full resync, with the line Redis logs about why (None for `PSYNC ? -1`).
    Full(Option<String>),
}

/// Decides between a partial and a full resync, as Redis's `masterTryPartialResynchronization`:
/// the replica's history must be ours (our replid, or our previous one up to where it was
/// valid) and the backlog must still hold everything from `requested` on.
pub fn psync_decision(
    r: &super::ReplState,
    name: &str,
    replid: &str,
    requested: i64,
) -> PsyncDecision {
    let ours = replid == r.replid;
    let second = replid == r.replid2 && r.second_offset >= 0;
    if !ours && !second {
        return PsyncDecision::Full((replid != "?").then(|| {
            format!(
                "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{replid}', my replication IDs are '{}' and '{}')",
                r.replid, r.replid2
            )
        }));
    }
    if !ours && requested > r.second_offset {
        return PsyncDecision::Full(Some(format!(
            "Partial resynchronization not accepted: Requested offset for second ID was {requested}, but I can reply up to {}",
            r.second_offset
        )));
    }
    let data = match (&r.backlog, u64::try_from(requested)) {
        (Some(b), Ok(off)) => b.copy_from(off),
        _ => None,
    };
    match data {
        Some(d) => PsyncDecision::Continue(d),
        None => PsyncDecision::Full(Some(format!(
            "Unable to partial resync with replica {name} for lack of backlog (Replica request was: {requested})."
        ))),
    }
}

/// Serves a partial resync when [`psync_decision`] allows it; false (logged as Redis does)
/// when a full one is needed.
fn try_partial(ex: &mut Exec, name: &str, replid: &str, requested: i64, now: i64) -> bool {
    let data = match psync_decision(&ex.st.repl, name, replid, requested) {
        PsyncDecision::Continue(d) => d,
        PsyncDecision::Full(why) => {
            if let Some(why) = why {
                crate::notice!("{why}");
            }
            return false;
        }
    };
    let entry = new_entry(ex, ReplicaState::Online, now);
    let line = if entry.capa_psync2 {
        format!("+CONTINUE {}\r\n", ex.st.repl.replid)
    } else {
        "+CONTINUE\r\n".to_string()
    };
    ex.out.raw(line.as_bytes());
    ex.out.raw(&data);
    ex.st.repl.stats.partial_ok += 1;
    ex.st.repl.stats.output_bytes += data.len() as u64;
    ex.st.repl.replicas.insert(ex.sess.id, entry);
    crate::notice!(
        "Partial resynchronization request from {name} accepted. Sending {} bytes of backlog starting from offset {requested}.",
        data.len()
    );
    become_replica(ex, None);
    super::refresh_good_replicas(ex.st, now);
    true
}

/// Starts the snapshot for replicas waiting for one, once no other child runs: to their
/// sockets when `repl-diskless-sync` is on and all of them can take it (after
/// `repl-diskless-sync-delay`, or as soon as `repl-diskless-sync-max-replicas` wait), to the
/// RDB file otherwise.
pub fn start_pending_syncs(st: &mut State, now_ms: i64) {
    let waiting: Vec<u64> = st
        .repl
        .replicas
        .iter()
        .filter(|(_, r)| r.state == ReplicaState::WaitBgsaveStart)
        .map(|(id, _)| *id)
        .collect();
    if waiting.is_empty() || st.persist.child.is_some() {
        return;
    }
    let socket = st.cfg.repl_diskless_sync
        && waiting
            .iter()
            .all(|id| st.repl.replicas[id].capa_eof && !st.repl.replicas[id].legacy_sync);
    if socket {
        let oldest = waiting
            .iter()
            .map(|id| st.repl.replicas[id].wait_since_ms)
            .min()
            .unwrap_or(now_ms);
        let max = st.cfg.repl_diskless_sync_max_replicas as usize;
        let delay = st.cfg.repl_diskless_sync_delay as i64 * 1000;
        if now_ms - oldest < delay && !(max > 0 && waiting.len() >= max) {
            return;
        }
    }
    crate::notice!(
        "Starting BGSAVE for SYNC with target: {}",
        if socket { "replicas sockets" } else { "disk" }
    );
    let offset = st.repl.offset;
    // The snapshot holds the data up to `offset`; what follows goes to these replicas'
    // outboxes from now on, starting with a SELECT.
    st.repl.stream_db = None;
    let started = if socket {
        start_socket_sync(st, &waiting)
    } else {
        crate::persist::bgsave(st)
    };
    if !started {
        for id in &waiting {
            if let Some(r) = st.repl.replicas.get(id) {
                crate::warning!("BGSAVE for replication failed");
                r.handle.kill();
            }
        }
        return;
    }
    let replid = st.repl.replid.clone();
    for id in &waiting {
        if let Some(r) = st.repl.replicas.get_mut(id) {
            r.state = ReplicaState::WaitBgsaveEnd;
            if !r.legacy_sync {
                if let Some(tx) = &r.steps {
                    let _ = tx.send(SyncStep::Line(format!("+FULLRESYNC {replid} {offset}\r\n")));
                }
            }
        }
    }
    if socket {
        st.persist.rdb_to_socket = true;
        if let Some(senders) = st.repl.pending_socket_senders.take() {
            for (id, rx) in senders {
                if let Some(tx) = st.repl.replicas.get(&id).and_then(|r| r.steps.as_ref()) {
                    let _ = tx.send(SyncStep::Socket(rx));
                }
            }
        }
    }
}

/// Forks a child that writes `$EOF:<mark>\r\n`, the RDB and the mark into a pipe; a thread
/// relays what it reads to each replica's task.
fn start_socket_sync(st: &mut State, ids: &[u64]) -> bool {
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) into an array we own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return false;
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    let mark = crate::state::new_run_id();
    let snapshot: &State = st;
    let forked = crate::child::fork_and_run_keeping(&[write_fd], || {
        use std::io::Write;
        use std::os::fd::FromRawFd;
        // SAFETY: the child owns the pipe's write end from here on.
        let mut file = unsafe { std::fs::File::from_raw_fd(write_fd) };
        if file
            .write_all(format!("$EOF:{mark}\r\n").as_bytes())
            .is_err()
        {
            return 1;
        }
        match crate::persist::write_snapshot(snapshot, file, false) {
            Ok(mut f) => {
                if f.write_all(mark.as_bytes()).is_err() {
                    return 1;
                }
                crate::persist::log_cow("RDB");
                0
            }
            Err(_) => 1,
        }
    });
    // SAFETY: the parent keeps only the read end.
    unsafe { libc::close(write_fd) };
    let forked = match forked {
        Ok(f) => f,
        Err(e) => {
            // SAFETY: closing the read end we own.
            unsafe { libc::close(read_fd) };
            crate::warning!("Can't save in background: fork: {e}");
            return false;
        }
    };
    crate::notice!("Background RDB transfer started by pid {}", forked.pid);
    let now = crate::clock::unix_ms() / 1000;
    st.persist.total_forks += 1;
    st.persist.latest_fork_usec = forked.fork_usec;
    st.persist.child = Some(crate::child::RunningChild {
        pid: forked.pid,
        kind: crate::child::ChildKind::Rdb,
        start_unix: now,
        started: std::time::Instant::now(),
        info_fd: forked.info_fd,
    });
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for &id in ids {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
        senders.push(tx);
        receivers.push((id, rx));
    }
    st.repl.pending_socket_senders = Some(receivers);
    let relay = std::thread::Builder::new()
        .name("repl-relay".into())
        .spawn(move || relay_pipe(read_fd, senders));
    relay.is_ok()
}

/// Reads the child's payload from the pipe and hands each chunk to every replica still
/// taking it; reading goes on to the end so the child can finish.
fn relay_pipe(read_fd: i32, mut senders: Vec<tokio::sync::mpsc::Sender<Bytes>>) {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    // SAFETY: this thread owns the read end from here on.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(read_fd) };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = Bytes::copy_from_slice(&buf[..n]);
        senders.retain(|s| s.blocking_send(chunk.clone()).is_ok());
    }
    crate::notice!(
        "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
        senders.len()
    );
}

/// After a BGSAVE to disk: replicas waiting for it get the file (or are dropped if it failed).
pub fn disk_sync_done(st: &mut State, ok: bool) {
    let path = crate::persist::rdb_path(st);
    for r in st.repl.replicas.values_mut() {
        if r.state != ReplicaState::WaitBgsaveEnd {
            continue;
        }
        let file = if ok {
            std::fs::File::open(&path).ok()
        } else {
            None
        };
        match (file, &r.steps) {
            (Some(f), Some(tx)) => {
                r.state = ReplicaState::SendBulk;
                let _ = tx.send(SyncStep::File(f));
            }
            _ => {
                crate::warning!("SYNC failed. BGSAVE child returned an error");
                r.handle.kill();
            }
        }
    }
}

/// After the child streaming to sockets ended: on failure its replicas are dropped.
pub fn socket_sync_done(st: &mut State, ok: bool) {
    st.persist.rdb_to_socket = false;
    if ok {
        crate::notice!("Background RDB transfer terminated with success");
        return;
    }
    crate::warning!("Background transfer error");
    for r in st.repl.replicas.values() {
        if r.state == ReplicaState::WaitBgsaveEnd {
            r.handle.kill();
        }
    }
}

/// Serves a connection that became a replica: the snapshot transfer of a full resync (with
/// `\n` keep-alives while it waits), then the live stream from its outbox and its ACKs.
pub async fn serve_replica<S>(
    shared: &Arc<Shared>,
    stream: &mut S,
    sess: &mut Session,
    buf: &mut BytesMut,
    became: BecameReplica,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let handle = sess.handle.clone();
    let id = sess.id;
    let mut parser = resp::RequestParser::new();
    let mut wait_first_ack = false;
    if let Some(mut steps) = became.steps {
        match transfer(shared, stream, id, buf, &mut parser, &mut steps).await {
            Some(socket) => wait_first_ack = socket,
            None => {
                finish(shared, id);
                return;
            }
        }
        let mut st = shared.state.lock();
        let now = crate::clock::unix_ms();
        if let Some(r) = st.repl.replicas.get_mut(&id) {
            r.state = ReplicaState::Online;
            r.ack_time_ms = now;
            r.steps = None;
            r.got_ack = false;
            if !wait_first_ack {
                crate::notice!("Synchronization with replica {} succeeded", replica_name(r));
            }
        }
        super::refresh_good_replicas(&mut st, now);
    }
    loop {
        if !wait_first_ack {
            let chunk = std::mem::take(&mut *handle.outbox.lock());
            if !chunk.is_empty() {
                if stream.write_all(&chunk).await.is_err() {
                    break;
                }
                shared.state.lock().repl.stats.output_bytes += chunk.len() as u64;
                *handle.soft_limit_since.lock() = None;
                continue;
            }
        }
        if handle.is_killed() {
            break;
        }
        buf.reserve(16 * 1024);
        tokio::select! {
            r = stream.read_buf(buf) => {
                if !matches!(r, Ok(n) if n > 0) {
                    break;
                }
                if !read_from_replica(shared, id, buf, &mut parser) {
                    break;
                }
                if wait_first_ack && acked(shared, id) {
                    wait_first_ack = false;
                    let st = shared.state.lock();
                    if let Some(r) = st.repl.replicas.get(&id) {
                        crate::notice!("Synchronization with replica {} succeeded", replica_name(r));
                    }
                }
            }
            _ = handle.wake.notified() => {}
        }
    }
    finish(shared, id);
}

fn acked(shared: &Shared, id: u64) -> bool {
    shared
        .state
        .lock()
        .repl
        .replicas
        .get(&id)
        .is_some_and(|r| r.got_ack || r.legacy_sync)
}

fn finish(shared: &Shared, id: u64) {
    let mut st = shared.state.lock();
    let now = crate::clock::unix_ms();
    super::replica_gone(&mut st, id, now);
    super::refresh_good_replicas(&mut st, now);
}

/// The full-resync transfer; Some(true) when it went to the socket (the stream then waits for
/// the first ACK), Some(false) for a file, None when the replica went away.
async fn transfer<S>(
    shared: &Arc<Shared>,
    stream: &mut S,
    id: u64,
    buf: &mut BytesMut,
    parser: &mut resp::RequestParser,
    steps: &mut tokio::sync::mpsc::UnboundedReceiver<SyncStep>,
) -> Option<bool>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let handle = shared.state.lock().clients.get(&id)?.handle.clone();
    let mut keepalive = tokio::time::interval(Duration::from_secs(1));
    keepalive.tick().await;
    loop {
        buf.reserve(4096);
        tokio::select! {
            step = steps.recv() => match step? {
                SyncStep::Line(line) => stream.write_all(line.as_bytes()).await.ok()?,
                SyncStep::File(f) => {
                    send_file(stream, f).await?;
                    return Some(false);
                }
                SyncStep::Socket(mut rx) => {
                    while let Some(chunk) = rx.recv().await {
                        stream.write_all(&chunk).await.ok()?;
                        if handle.is_killed() {
                            return None;
                        }
                    }
                    return Some(true);
                }
            },
            _ = keepalive.tick() => {
                let streaming = shared.state.lock().persist.rdb_to_socket;
                if !streaming {
                    stream.write_all(b"\n").await.ok()?;
                }
            }
            r = stream.read_buf(buf) => {
                if !matches!(r, Ok(n) if n > 0) || !read_from_replica(shared, id, buf, parser) {
                    return None;
                }
            }
            _ = handle.wake.notified() => {
                if handle.is_killed() {
                    return None;
                }
            }
        }
    }
}

async fn send_file<S: AsyncWrite + Unpin>(stream: &mut S, f: std::fs::File) -> Option<()> {
    let len = f.metadata().ok()?.len();
    stream
        .write_all(format!("${len}\r\n").as_bytes())
        .await
        .ok()?;
    let mut file = tokio::fs::File::from_std(f);
    let mut limited = (&mut file).take(len);
    let copied = tokio::io::copy(&mut limited, stream).await.ok()?;
    (copied == len).then_some(())
}

/// Handles what a replica sends: `REPLCONF ACK <offset>` (and empty lines while it loads,
/// which also count as signs of life). False when it sent garbage.
fn read_from_replica(
    shared: &Shared,
    id: u64,
    buf: &mut BytesMut,
    parser: &mut resp::RequestParser,
) -> bool {
    let limits = resp::Limits {
        max_bulk_len: 1 << 20,
        authenticated: true,
    };
    let mut st = shared.state.lock();
    let now = crate::clock::unix_ms();
    loop {
        match parser.next_raw(buf, &limits) {
            Ok(Some(req)) => {
                let args = req.args;
                if args.len() >= 3
                    && args[0].eq_ignore_ascii_case(b"replconf")
                    && args[1].eq_ignore_ascii_case(b"ack")
                {
                    if let Some(off) = store::num::parse_i64(&args[2]) {
                        super::on_ack(&mut st, id, off.max(0) as u64, now);
                    }
                } else if let Some(r) = st.repl.replicas.get_mut(&id) {
                    r.ack_time_ms = now;
                }
            }
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

/// Asks every replica for an ACK now (WAIT, FAILOVER).
pub fn request_acks(st: &mut State) {
    if !st.repl.replicas.is_empty() && !st.repl.is_replica() {
        feed_raw(st, GETACK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repl::ReplState;

    fn primary_at(offset: u64) -> ReplState {
        let mut r = ReplState {
            offset,
            ..ReplState::default()
        };
        r.create_backlog(100);
        r
    }

    #[test]
    fn continues_from_any_offset_the_backlog_holds() {
        let mut r = primary_at(10);
        crate::repl::backlog::Backlog::append(r.backlog.as_mut().unwrap(), b"abcdef");
        r.offset += 6;
        let id = r.replid.clone();
        assert_eq!(
            psync_decision(&r, "x", &id, 11),
            PsyncDecision::Continue(b"abcdef".to_vec())
        );
        assert_eq!(
            psync_decision(&r, "x", &id, 17),
            PsyncDecision::Continue(Vec::new())
        );
        assert!(matches!(
            psync_decision(&r, "x", &id, 18),
            PsyncDecision::Full(Some(_))
        ));
        assert!(matches!(
            psync_decision(&r, "x", &id, 10),
            PsyncDecision::Full(Some(_))
        ));
        assert_eq!(psync_decision(&r, "x", "?", -1), PsyncDecision::Full(None));
        let other = "0123456789012345678901234567890123456789";
        assert!(
            matches!(psync_decision(&r, "x", other, 11), PsyncDecision::Full(Some(m)) if m.contains("Replication ID mismatch"))
        );
    }

    #[test]
    fn after_a_promotion_the_old_id_is_good_up_to_the_switch() {
        let mut r = primary_at(1528);
        let old = r.replid.clone();
        r.shift_replid();
        assert_eq!(r.second_offset, 1529);
        assert_eq!(
            psync_decision(&r, "x", &old, 1529),
            PsyncDecision::Continue(Vec::new())
        );
        assert!(matches!(
            psync_decision(&r, "x", &old, 1530),
            PsyncDecision::Full(Some(m)) if m.ends_with("but I can reply up to 1529")
        ));
        let new = r.replid.clone();
        assert_eq!(
            psync_decision(&r, "x", &new, 1529),
            PsyncDecision::Continue(Vec::new())
        );
    }
}

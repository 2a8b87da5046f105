//! The replica's side: the link to our primary. One task connects, runs the handshake
//! (PING, AUTH, REPLCONF, PSYNC), receives and loads the snapshot of a full resync, then
//! applies the stream through the normal dispatch as the primary's client, proxies the same
//! bytes to our own replicas, and acknowledges its offset every second and on GETACK.

use super::{LinkState, TransferProgress};
use crate::client::{ClientKind, Session};
use crate::state::{Shared, State};
use bytes::{Buf, BytesMut};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Runs for the server's lifetime: whenever a primary is configured and no link is up, it
/// connects (at once after REPLICAOF, then once a second while attempts fail).
pub async fn supervise(shared: Arc<Shared>) {
    let wake = shared.state.lock().repl.link_wake.clone();
    loop {
        let generation = shared
            .state
            .lock()
            .repl
            .master
            .as_ref()
            .map(|m| m.generation);
        match generation {
            None => wake.notified().await,
            Some(g) => {
                let lost_live_link = run_link(&shared, g).await;
                let again = shared
                    .state
                    .lock()
                    .repl
                    .master
                    .as_ref()
                    .map(|m| (m.generation == g).then(|| (m.host.clone(), m.port)));
                if let (true, Some(Some((host, port)))) = (lost_live_link, &again) {
                    // A link that was streaming reconnects at once: waiting risks the
                    // backlog moving past us.
                    crate::notice!("Reconnecting to MASTER {host}:{port}");
                    continue;
                }
                if again.flatten().is_some() {
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }
}

/// Applies `replicaof` from the configuration at start-up: we are a replica from the start
/// (expiry driven by the primary), and the link connects once the dataset is loaded.
pub fn configure_at_start(st: &mut State) {
    let Some((host, port)) = st.cfg.replicaof.clone() else {
        return;
    };
    st.repl.generation += 1;
    st.repl.master = Some(super::MasterLink::new(
        &host,
        port,
        st.repl.generation,
        0,
        false,
    ));
    st.ks.replica_mode = true;
    crate::log::set_role(b'S');
}

/// Why the link stopped.
#[derive(Debug)]
enum Stop {
    /// The configuration changed (REPLICAOF): leave quietly.
    Reconfigured,
    /// The link failed; the message is logged.
    Failed(String),
}

type LinkResult<T> = Result<T, Stop>;

/// A connection to the primary with its read buffer.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    shared: Arc<Shared>,
    generation: u64,
    wake: Arc<tokio::sync::Notify>,
}

impl Conn {
    fn current(&self) -> bool {
        self.shared
            .state
            .lock()
            .repl
            .master
            .as_ref()
            .is_some_and(|m| m.generation == self.generation)
    }

    /// Reads more bytes, waiting at most `timeout`.
    async fn fill(&mut self, timeout: Duration) -> LinkResult<usize> {
        self.buf.reserve(64 * 1024);
        loop {
            tokio::select! {
                r = tokio::time::timeout(timeout, self.stream.read_buf(&mut self.buf)) => {
                    return match r {
                        Err(_) => Err(Stop::Failed("Timeout connecting to the MASTER...".into())),
                        Ok(Ok(0)) => Err(Stop::Failed("Connection closed by MASTER".into())),
                        Ok(Err(e)) => Err(Stop::Failed(format!("Error reading from MASTER: {e}"))),
                        Ok(Ok(n)) => Ok(n),
                    };
                }
                _ = self.wake.notified() => {
                    if !self.current() {
                        return Err(Stop::Reconfigured);
                    }
                }
            }
        }
    }

    /// Reads one line (without its line end), waiting at most `timeout` in all.
    async fn line(&mut self, timeout: Duration) -> LinkResult<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line = self.buf.split_to(pos + 1);
                line.truncate(pos);
                if line.last() == Some(&b'\r') {
                    line.truncate(pos - 1);
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > 64 * 1024 {
                return Err(Stop::Failed("Reply line from MASTER too long".into()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Stop::Failed("Timeout reading from MASTER".into()));
            }
            self.fill(left).await?;
        }
    }

    /// Reads a line, skipping the empty keep-alive lines a primary sends while it prepares.
    async fn reply_line(&mut self, timeout: Duration) -> LinkResult<String> {
        loop {
            let l = self.line(timeout).await?;
            if !l.is_empty() {
                return Ok(l);
            }
            self.touch();
        }
    }

    fn touch(&self) {
        let mut st = self.shared.state.lock();
        if let Some(m) = st.repl.master.as_mut() {
            m.last_io_ms = crate::clock::unix_ms();
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> LinkResult<()> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| Stop::Failed(format!("Error writing to MASTER: {e}")))
    }
}

fn set_state(shared: &Shared, generation: u64, state: LinkState) -> bool {
    let mut st = shared.state.lock();
    match st.repl.master.as_mut() {
        Some(m) if m.generation == generation => {
            m.state = state;
            true
        }
        _ => false,
    }
}

/// One connection attempt and, if it gets that far, the whole life of the link; true when a
/// streaming link was lost.
async fn run_link(shared: &Arc<Shared>, generation: u64) -> bool {
    let result = connect_and_sync(shared, generation).await;
    let mut st = shared.state.lock();
    let Some(m) = st
        .repl
        .master
        .as_mut()
        .filter(|m| m.generation == generation)
    else {
        return false;
    };
    let was_connected = m.state == LinkState::Connected;
    let failover = m.failover_psync;
    m.state = LinkState::Connect;
    m.transfer = None;
    if was_connected {
        m.down_since_ms = Some(crate::clock::unix_ms());
    }
    match result {
        Err(Stop::Failed(msg)) => {
            if was_connected {
                crate::notice!("Connection with master lost.");
                crate::notice!("* Caching the disconnected master state.");
            } else {
                crate::warning!("{msg}");
            }
            if failover {
                super::cmd::failover_link_result(&mut st, false);
            }
        }
        Err(Stop::Reconfigured) | Ok(()) => {}
    }
    was_connected
}

async fn connect_and_sync(shared: &Arc<Shared>, generation: u64) -> LinkResult<()> {
    let (host, port, timeout_s, wake) = {
        let st = shared.state.lock();
        let m = st.repl.master.as_ref().ok_or(Stop::Reconfigured)?;
        (
            m.host.clone(),
            m.port,
            st.cfg.repl_timeout,
            st.repl.link_wake.clone(),
        )
    };
    let timeout = Duration::from_secs(timeout_s.max(1));
    if !set_state(shared, generation, LinkState::Connecting) {
        return Err(Stop::Reconfigured);
    }
    crate::notice!("Connecting to MASTER {host}:{port}");
    crate::notice!("MASTER <-> REPLICA sync started");
    let stream = tokio::select! {
        r = tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))) => match r {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(Stop::Failed(format!("Error condition on socket for SYNC: {e}"))),
            Err(_) => return Err(Stop::Failed("Timeout connecting to the MASTER...".into())),
        },
        _ = wait_reconfigured(shared, generation, &wake) => return Err(Stop::Reconfigured),
    };
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        buf: BytesMut::with_capacity(64 * 1024),
        shared: shared.clone(),
        generation,
        wake,
    };
    if !set_state(shared, generation, LinkState::Handshake) {
        return Err(Stop::Reconfigured);
    }
    crate::notice!("Non blocking connect for SYNC fired the event.");
    handshake(&mut conn, timeout).await?;
    let (request, failover) = {
        let st = shared.state.lock();
        let failover = st.repl.master.as_ref().is_some_and(|m| m.failover_psync);
        if st.repl.can_psync {
            let replid = st.repl.replid.clone();
            let next = st.repl.offset + 1;
            crate::notice!("Trying a partial resynchronization (request {replid}:{next}).");
            (Some((replid, next)), failover)
        } else {
            crate::notice!("Partial resynchronization not possible (no cached master)");
            (None, failover)
        }
    };
    let mut psync = Vec::new();
    match &request {
        Some((id, next)) => {
            let next = next.to_string();
            if failover {
                super::resp_command(&mut psync, &["PSYNC", id, &next, "FAILOVER"]);
            } else {
                super::resp_command(&mut psync, &["PSYNC", id, &next]);
            }
        }
        None => super::resp_command(&mut psync, &["PSYNC", "?", "-1"]),
    }
    conn.send(&psync).await?;
    let reply = conn.reply_line(timeout).await?;
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
        let mut parts = rest.split_whitespace();
        let replid = parts.next().unwrap_or("").to_string();
        let offset = parts
            .next()
            .and_then(|o| o.parse::<u64>().ok())
            .unwrap_or(0);
        crate::notice!("Full resync from master: {replid}:{offset}");
        full_sync(&mut conn, timeout, replid, offset).await?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        partial_sync(&conn, rest.trim());
    } else if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
        return Err(Stop::Failed(format!(
            "Master is currently unable to PSYNC but should be in the future: {reply}"
        )));
    } else {
        return Err(Stop::Failed(format!(
            "Unexpected reply to PSYNC from master: {reply}"
        )));
    }
    stream_stage(conn, timeout).await
}

async fn wait_reconfigured(shared: &Shared, generation: u64, wake: &tokio::sync::Notify) {
    loop {
        wake.notified().await;
        let current = shared
            .state
            .lock()
            .repl
            .master
            .as_ref()
            .is_some_and(|m| m.generation == generation);
        if !current {
            return;
        }
    }
}

/// PING, then AUTH / REPLCONF pipelined, their replies read in order.
async fn handshake(conn: &mut Conn, timeout: Duration) -> LinkResult<()> {
    let mut ping = Vec::new();
    super::resp_command(&mut ping, &["PING"]);
    conn.send(&ping).await?;
    let pong = conn.reply_line(timeout).await?;
    let ok = pong.starts_with('+')
        || pong.starts_with("-NOAUTH")
        || pong.starts_with("-NOPERM")
        || pong.starts_with("-ERR operation not permitted");
    if !ok {
        return Err(Stop::Failed(format!(
            "Error reply to PING from master: '{pong}'"
        )));
    }
    crate::notice!("Master replied to PING, replication can continue...");
    let (auth, port, ip) = {
        let st = conn.shared.state.lock();
        let c = &st.cfg;
        let auth = c.masterauth.as_ref().map(|pass| match &c.masteruser {
            Some(user) => vec![b"AUTH".to_vec(), user.as_bytes().to_vec(), pass.clone()],
            None => vec![b"AUTH".to_vec(), pass.clone()],
        });
        let port = if c.replica_announce_port != 0 {
            c.replica_announce_port
        } else {
            st.bound_port
        };
        (auth, port, c.replica_announce_ip.clone())
    };
    let mut out = Vec::new();
    if let Some(a) = &auth {
        super::resp_command(&mut out, a);
    }
    super::resp_command(&mut out, &["REPLCONF", "listening-port", &port.to_string()]);
    if let Some(ip) = &ip {
        super::resp_command(&mut out, &["REPLCONF", "ip-address", ip]);
    }
    super::resp_command(&mut out, &["REPLCONF", "capa", "eof", "capa", "psync2"]);
    conn.send(&out).await?;
    if auth.is_some() {
        let r = conn.reply_line(timeout).await?;
        if r.starts_with('-') {
            return Err(Stop::Failed(format!("Unable to AUTH to MASTER: {r}")));
        }
    }
    let r = conn.reply_line(timeout).await?;
    if r.starts_with('-') {
        crate::notice!("(Non critical) Master does not understand REPLCONF listening-port: {r}");
    }
    if ip.is_some() {
        let r = conn.reply_line(timeout).await?;
        if r.starts_with('-') {
            crate::notice!("(Non critical) Master does not understand REPLCONF ip-address: {r}");
        }
    }
    let r = conn.reply_line(timeout).await?;
    if r.starts_with('-') {
        crate::notice!("(Non critical) Master does not understand REPLCONF capa: {r}");
    }
    Ok(())
}

/// `+CONTINUE [replid]`: the primary continues where we stopped. A new replid means it was
/// promoted: our old one becomes the secondary, and our own replicas must learn the new one.
fn partial_sync(conn: &Conn, new_id: &str) {
    let mut st = conn.shared.state.lock();
    crate::notice!("Successful partial resynchronization with master.");
    if new_id.len() == 40 && new_id != st.repl.replid {
        st.repl.replid2 = std::mem::replace(&mut st.repl.replid, new_id.to_string());
        st.repl.second_offset = st.repl.offset as i64 + 1;
        crate::notice!("Master replication ID changed to {new_id}");
        super::disconnect_replicas(&mut st);
    }
    if st.repl.backlog.is_none() {
        let size = st.cfg.repl_backlog_size;
        st.repl.create_backlog(size);
    }
    crate::notice!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
}

/// Receives the snapshot of a full resync (length-prefixed or EOF-marked), saves it as our
/// RDB file, loads it off the runtime while clients get `-LOADING`, and swaps it in.
async fn full_sync(
    conn: &mut Conn,
    timeout: Duration,
    replid: String,
    offset: u64,
) -> LinkResult<()> {
    let shared = conn.shared.clone();
    set_state(&shared, conn.generation, LinkState::Sync);
    let header = conn.reply_line(timeout).await?;
    if header.starts_with('-') {
        return Err(Stop::Failed(format!(
            "MASTER aborted replication with an error: {header}"
        )));
    }
    let Some(size) = header.strip_prefix('$') else {
        return Err(Stop::Failed(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?")));
    };
    let (eof_mark, total) = match size.strip_prefix("EOF:") {
        Some(mark) if mark.len() == 40 => (Some(mark.as_bytes().to_vec()), 0u64),
        Some(_) => return Err(Stop::Failed("Bad EOF mark from MASTER".into())),
        None => match size.parse::<u64>() {
            Ok(n) => (None, n),
            Err(_) => {
                return Err(Stop::Failed(format!(
                    "Bad protocol from MASTER: '{header}'"
                )))
            }
        },
    };
    match &eof_mark {
        Some(_) => crate::notice!(
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"
        ),
        None => {
            crate::notice!("MASTER <-> REPLICA sync: receiving {total} bytes from master to disk")
        }
    }
    {
        let mut st = shared.state.lock();
        if let Some(m) = st.repl.master.as_mut() {
            m.transfer = Some(TransferProgress {
                total,
                read: 0,
                last_io_ms: crate::clock::unix_ms(),
            });
        }
    }
    let tmp = format!(
        "temp-{}.{}.rdb",
        crate::clock::unix_ms() / 1000,
        std::process::id()
    );
    let mut payload: Vec<u8> = Vec::new();
    loop {
        let take = match (&eof_mark, total) {
            (None, total) => (total as usize - payload.len()).min(conn.buf.len()),
            (Some(_), _) => conn.buf.len(),
        };
        payload.extend_from_slice(&conn.buf[..take]);
        conn.buf.advance(take);
        let done = match &eof_mark {
            None => payload.len() as u64 == total,
            Some(mark) => payload.len() >= mark.len() && payload.ends_with(mark),
        };
        {
            let mut st = shared.state.lock();
            if let Some(t) = st.repl.master.as_mut().and_then(|m| m.transfer.as_mut()) {
                t.read = payload.len() as u64;
                t.last_io_ms = crate::clock::unix_ms();
            }
        }
        if done {
            break;
        }
        conn.fill(timeout).await.map_err(|e| match e {
            Stop::Failed(_) => Stop::Failed("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.".into()),
            other => other,
        })?;
    }
    if let Some(mark) = &eof_mark {
        payload.truncate(payload.len() - mark.len());
    }
    let (path, diskless_load) = {
        let st = shared.state.lock();
        (crate::persist::rdb_path(&st), st.cfg.repl_diskless_load())
    };
    if diskless_load == 0 {
        let write = std::fs::write(&tmp, &payload).and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = write {
            let _ = std::fs::remove_file(&tmp);
            return Err(Stop::Failed(format!(
                "Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {e}",
                path.display()
            )));
        }
    }
    // With `swapdb` the old data keeps being served while the new one loads aside (Redis's
    // async loading); otherwise clients get -LOADING meanwhile.
    let serve_old_data = diskless_load == 2;
    if !serve_old_data {
        crate::notice!("MASTER <-> REPLICA sync: Flushing old data");
    }
    crate::notice!("MASTER <-> REPLICA sync: Loading DB in memory");
    let (cfg, progress) = {
        let mut st = shared.state.lock();
        // Promoted meanwhile (FAILOVER, REPLICAOF NO ONE): a primary never loads a snapshot.
        let current = st.repl.master.as_ref().map(|m| m.generation);
        if current != Some(conn.generation) {
            return Err(Stop::Reconfigured);
        }
        let progress = Arc::new(crate::persist::LoadProgress {
            start_unix: crate::clock::unix_ms() / 1000,
            ..Default::default()
        });
        progress
            .total_bytes
            .store(payload.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if !serve_old_data {
            st.loading = Some(progress.clone());
        }
        (st.cfg.clone(), progress)
    };
    let load = tokio::task::spawn_blocking(move || {
        let mut fresh = State::new(cfg, crate::clock::unix_ms());
        fresh.ks.replica_mode = true;
        fresh.persist.load_progress = Some(progress);
        crate::persist::load_rdb_bytes(&mut fresh, &payload).map(|_| fresh)
    });
    tokio::pin!(load);
    let mut keepalive = tokio::time::interval(Duration::from_secs(1));
    keepalive.tick().await;
    // Keep-alives tell the primary we are loading; a failed one is noticed by the stream.
    let loaded = loop {
        tokio::select! {
            r = &mut load => break r,
            _ = keepalive.tick() => {
                let _ = conn.send(b"\n").await;
            }
        }
    };
    let mut fresh = match loaded {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            shared.state.lock().loading = None;
            return Err(Stop::Failed(format!(
                "Failed trying to load the MASTER synchronization DB from disk: {e}"
            )));
        }
        Err(_) => {
            shared.state.lock().loading = None;
            return Err(Stop::Failed(
                "MASTER <-> REPLICA sync: loading failed".into(),
            ));
        }
    };
    let old = {
        let mut st = shared.state.lock();
        st.loading = None;
        let current = st.repl.master.as_ref().map(|m| m.generation);
        if current != Some(conn.generation) {
            return Err(Stop::Reconfigured);
        }
        for db in 0..st.ks.dbs.len() {
            st.ks.touch_all_in_db(db);
        }
        let old = std::mem::replace(&mut st.ks.dbs, std::mem::take(&mut fresh.ks.dbs));
        // The snapshot's function libraries replace ours, as Redis's full sync does.
        crate::script::function::adopt_loaded(&mut st, &mut fresh);
        st.ks.dirty += 1;
        st.persist.last_load_keys_loaded = fresh.persist.last_load_keys_loaded;
        st.persist.last_load_keys_expired = fresh.persist.last_load_keys_expired;
        st.repl.replid = replid;
        st.repl.offset = offset;
        st.repl.clear_replid2();
        super::disconnect_replicas(&mut st);
        let size = st.cfg.repl_backlog_size;
        st.repl.create_backlog(size);
        st.repl.can_psync = true;
        let stream_db = fresh
            .persist
            .loaded_repl
            .as_ref()
            .map_or(0, |r| r.stream_db.max(0) as usize);
        let last_db = st.ks.dbs.len().saturating_sub(1);
        if let Some(m) = st.repl.master.as_mut() {
            m.stream_db = stream_db.min(last_db);
            m.read_offset = offset;
        }
        if st.cfg.appendonly {
            crate::aof::restart_after_sync(&mut st);
        }
        crate::notice!("MASTER <-> REPLICA sync: Finished with success");
        old
    };
    // Freeing the old dataset can take a while: never under the lock.
    tokio::task::spawn_blocking(move || drop(old));
    if eof_mark.is_some() {
        send_ack(conn).await?;
    }
    Ok(())
}

async fn send_ack(conn: &mut Conn) -> LinkResult<()> {
    let offset = conn.shared.state.lock().repl.offset;
    send_ack_of(conn, offset).await
}

async fn send_ack_of(conn: &mut Conn, offset: u64) -> LinkResult<()> {
    let mut out = Vec::new();
    super::resp_command(&mut out, &["REPLCONF", "ACK", &offset.to_string()]);
    conn.send(&out).await
}

/// Registers the link as a client (CLIENT LIST `flags=M`, CLIENT KILL TYPE master).
fn register_link_client(conn: &Conn) -> Option<(u64, Arc<crate::client::ClientHandle>)> {
    let peer = crate::conn::Peer {
        addr: conn
            .stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        laddr: conn
            .stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        fd: {
            use std::os::fd::AsRawFd;
            conn.stream.as_raw_fd() as i64
        },
    };
    let (id, handle, _) = crate::conn::register(&conn.shared, &peer)?;
    let mut st = conn.shared.state.lock();
    if let Some(c) = st.clients.get_mut(&id) {
        c.kind = ClientKind::Master;
    }
    let now = crate::clock::unix_ms();
    let failover = match st.repl.master.as_mut() {
        Some(m) if m.generation == conn.generation => {
            m.state = LinkState::Connected;
            m.client_id = Some(id);
            m.down_since_ms = None;
            m.last_io_ms = now;
            m.transfer = None;
            std::mem::take(&mut m.failover_psync)
        }
        _ => {
            st.clients.remove(&id);
            return None;
        }
    };
    if failover {
        super::cmd::failover_link_result(&mut st, true);
    }
    Some((id, handle))
}

/// Applies the primary's stream: every command runs through dispatch as the primary's client
/// (no replies, expiry driven by the primary), its exact bytes go on to our backlog and
/// replicas, and the applied offset is acknowledged every second and on GETACK.
async fn stream_stage(mut conn: Conn, timeout: Duration) -> LinkResult<()> {
    let Some((id, handle)) = register_link_client(&conn) else {
        return Err(Stop::Reconfigured);
    };
    let shared = conn.shared.clone();
    let stream_db = shared
        .state
        .lock()
        .repl
        .master
        .as_ref()
        .map_or(0, |m| m.stream_db);
    let mut sess = Session::new(id, true, handle.clone());
    sess.from_master = true;
    sess.db = stream_db;
    let result = stream_loop(&mut conn, &mut sess, timeout).await;
    crate::conn::unregister(&shared, &mut sess);
    let mut st = shared.state.lock();
    if let Some(m) = st.repl.master.as_mut().filter(|m| m.client_id == Some(id)) {
        m.client_id = None;
    }
    result
}

async fn stream_loop(conn: &mut Conn, sess: &mut Session, timeout: Duration) -> LinkResult<()> {
    let shared = conn.shared.clone();
    let handle = sess.handle.clone();
    let mut parser = resp::RequestParser::new();
    let mut out = resp::Out::default();
    // Every byte received and not yet applied; what the parser has not consumed yet
    // (`conn.buf`) is always its tail. A MULTI block is applied, and proxied, whole.
    let mut raw = BytesMut::from(&conn.buf[..]);
    let mut ack_timer = tokio::time::interval(Duration::from_secs(1));
    let mut last_io = Instant::now();
    let mut fresh = true;
    loop {
        if fresh {
            fresh = false;
            let ack = apply(
                &shared,
                sess,
                &mut parser,
                &mut out,
                &mut conn.buf,
                &mut raw,
            )?;
            if let Some(off) = ack {
                send_ack_of(conn, off).await?;
            }
        }
        if handle.is_killed() {
            return Err(Stop::Failed("killed".into()));
        }
        conn.buf.reserve(64 * 1024);
        let before = conn.buf.len();
        let idle = timeout.saturating_sub(last_io.elapsed());
        tokio::select! {
            r = conn.stream.read_buf(&mut conn.buf) => match r {
                Ok(0) | Err(_) => return Err(Stop::Failed("Connection with master lost.".into())),
                Ok(n) => {
                    last_io = Instant::now();
                    fresh = true;
                    raw.extend_from_slice(&conn.buf[before..]);
                    let mut st = shared.state.lock();
                    if let Some(m) = st.repl.master.as_mut() {
                        m.last_io_ms = crate::clock::unix_ms();
                        m.read_offset += n as u64;
                    }
                }
            },
            _ = ack_timer.tick() => send_ack(conn).await?,
            _ = handle.wake.notified() => {}
            _ = conn.wake.notified() => {
                if !conn.current() {
                    return Err(Stop::Reconfigured);
                }
            }
            _ = tokio::time::sleep(idle) => {
                crate::warning!("MASTER timeout: no data nor PING received...");
                return Err(Stop::Failed("Connection with master lost.".into()));
            }
        }
    }
}

/// Runs the complete commands in `input` under one lock; the bytes of each applied command
/// (or whole MULTI block) are taken from the front of `raw`, proxied and counted. Returns
/// the offset to acknowledge when the primary sent GETACK.
fn apply(
    shared: &Shared,
    sess: &mut Session,
    parser: &mut resp::RequestParser,
    out: &mut resp::Out,
    input: &mut BytesMut,
    raw: &mut BytesMut,
) -> LinkResult<Option<u64>> {
    let limits = resp::Limits {
        max_bulk_len: 512 << 20,
        authenticated: true,
    };
    let mut st = shared.state.lock();
    let now = crate::clock::unix_ms();
    let mut ack = None;
    loop {
        let req = match parser.next_raw(input, &limits) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                return Err(Stop::Failed(format!(
                    "Protocol error from MASTER: {}",
                    e.message()
                )))
            }
        };
        if parser.last_inline_len().is_some_and(|n| n > 0) {
            return Err(Stop::Failed(
                "Protocol error: inline data from MASTER".into(),
            ));
        }
        if !req.args.is_empty() {
            st.ks.loading = true;
            crate::dispatch::dispatch(&mut st, sess, out, &req.args, now);
            st.ks.loading = false;
            if !st.ks.ready_keys.is_empty() {
                crate::blocking::serve_ready(&mut st, now);
            }
            out.buf.clear();
        }
        if sess.multi.is_some() {
            continue;
        }
        let applied = raw.len() - input.len();
        let bytes = raw.split_to(applied);
        super::feed_raw(&mut st, &bytes);
        if let Some(off) = st.repl.ack_requested.take() {
            ack = Some(off);
        }
    }
    if let Some(m) = st.repl.master.as_mut() {
        m.stream_db = sess.db;
    }
    Ok(ack)
}

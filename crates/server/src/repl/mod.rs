//! Replication, both roles, as Redis 7.0 does it on the wire.
//!
//! As a primary ([`primary`]) the server keeps a backlog of its replication stream, serves
//! PSYNC with a partial resync from it or a full one from an RDB snapshot (to disk or straight
//! to the sockets), and streams every propagated command to its replicas. As a replica
//! ([`link`]) it connects to its primary, runs the handshake, loads the snapshot, applies the
//! stream and proxies the same bytes to replicas of its own. The commands that steer it
//! (REPLICAOF, ROLE, REPLCONF, PSYNC, WAIT, FAILOVER) are in [`cmd`].

pub mod backlog;
pub mod cmd;
pub mod link;
pub mod primary;

use crate::client::ClientHandle;
use crate::state::State;
use backlog::Backlog;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The replication ID shown when there is none (`master_replid2` unset).
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// Where a replica of ours stands (INFO's `state=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start.
    WaitBgsaveStart,
    /// The snapshot is being produced (or streamed to its socket).
    WaitBgsaveEnd,
    /// The snapshot file is being sent.
    SendBulk,
    /// Receiving the live stream.
    Online,
}

impl ReplicaState {
    /// The word INFO prints.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// What a replica's task must do next during a full resync (sent by the snapshot side).
pub enum SyncStep {
    /// Write this line (`+FULLRESYNC <replid> <offset>`) now.
    Line(String),
    /// Send this RDB file as `$<len>` and the bytes, then go online.
    File(std::fs::File),
    /// Relay these chunks (the child's already framed `$EOF:` payload) until the channel
    /// closes, then go online once the replica's first ACK arrives.
    Socket(tokio::sync::mpsc::Receiver<Bytes>),
}

/// A replica connected to us.
pub struct ReplicaEntry {
    /// Its connection's handle: the stream is queued in its outbox.
    pub handle: Arc<ClientHandle>,
    /// Where it stands.
    pub state: ReplicaState,
    /// Its `REPLCONF listening-port`.
    pub listening_port: u16,
    /// Its address: `REPLCONF ip-address` if given, else the peer address.
    pub ip: String,
    /// It declared `capa eof` (can take a diskless transfer).
    pub capa_eof: bool,
    /// It declared `capa psync2` (gets `+CONTINUE <replid>`).
    pub capa_psync2: bool,
    /// Highest offset it acknowledged.
    pub ack_off: u64,
    /// When it last acknowledged (or sent anything while loading), unix ms.
    pub ack_time_ms: i64,
    /// When it started waiting for a snapshot, unix ms.
    pub wait_since_ms: i64,
    /// It came with SYNC, not PSYNC: no `+FULLRESYNC` line, no ACKs expected.
    pub legacy_sync: bool,
    /// Steps of a full resync, for its task.
    pub steps: Option<tokio::sync::mpsc::UnboundedSender<SyncStep>>,
    /// An ACK arrived since it went online (a diskless transfer waits for the first one).
    pub got_ack: bool,
}

/// The state of the link to our primary, in ROLE's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Must connect.
    Connect,
    /// Connecting.
    Connecting,
    /// Running the handshake.
    Handshake,
    /// Receiving the snapshot.
    Sync,
    /// Streaming.
    Connected,
}

impl LinkState {
    /// ROLE's word for it.
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// Progress of the snapshot transfer from our primary (INFO `master_sync_*`).
#[derive(Debug, Clone, Default)]
pub struct TransferProgress {
    /// Payload size, 0 when unknown (EOF framing).
    pub total: u64,
    /// Bytes received.
    pub read: u64,
    /// Last time bytes arrived, unix ms.
    pub last_io_ms: i64,
}

/// Our primary, when we are a replica.
#[derive(Debug, Clone)]
pub struct MasterLink {
    /// Its host as configured.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Where the link stands.
    pub state: LinkState,
    /// Identifies this configuration: a link task whose generation differs stops.
    pub generation: u64,
    /// Last time data came from the primary, unix ms.
    pub last_io_ms: i64,
    /// When the link went down, unix ms; None if it was never up since configured.
    pub down_since_ms: Option<i64>,
    /// The transfer in progress.
    pub transfer: Option<TransferProgress>,
    /// Stream bytes read from the primary (`slave_read_repl_offset`).
    pub read_offset: u64,
    /// The database the primary's stream last selected, kept across reconnects.
    pub stream_db: usize,
    /// The client id of the link while connected (CLIENT LIST `flags=M`).
    pub client_id: Option<u64>,
    /// Ask with `PSYNC ... FAILOVER` (we are handing over to this replica of ours).
    pub failover_psync: bool,
}

impl MasterLink {
    /// The link to `host:port` before it connects, for configuration `generation`.
    pub fn new(
        host: &str,
        port: u16,
        generation: u64,
        read_offset: u64,
        failover_psync: bool,
    ) -> Self {
        MasterLink {
            host: host.to_string(),
            port,
            state: LinkState::Connect,
            generation,
            last_io_ms: crate::clock::unix_ms(),
            down_since_ms: None,
            transfer: None,
            read_offset,
            stream_db: 0,
            client_id: None,
            failover_psync,
        }
    }
}

/// Coordinated switch-over (FAILOVER) progress.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The chosen replica, or None for any.
    pub target: Option<(String, u16)>,
    /// Give up (and resume) at this time, unix ms; None for no timeout.
    pub deadline_ms: Option<i64>,
    /// Promote the target even if it has not caught up by the deadline.
    pub force: bool,
    /// Set once the target has caught up and we are handing over.
    pub in_progress: bool,
    /// The offset the target must reach.
    pub target_offset: u64,
}

/// Everything replication keeps, in [`State::repl`].
pub struct ReplState {
    /// `master_replid`.
    pub replid: String,
    /// `master_replid2`.
    pub replid2: String,
    /// `master_repl_offset`: bytes of stream produced (or, on a replica, applied).
    pub offset: u64,
    /// `second_repl_offset`, -1 when unset.
    pub second_offset: i64,
    /// The backlog, once a replica attached (always on a replica after its first sync).
    pub backlog: Option<Backlog>,
    /// The database the stream last selected; None forces a SELECT before the next command.
    pub stream_db: Option<usize>,
    /// Our replicas by client id (ordered, for INFO's `slaveN`).
    pub replicas: BTreeMap<u64, ReplicaEntry>,
    /// Since when no replica is connected, unix ms (for `repl-backlog-ttl`).
    pub no_replicas_since_ms: i64,
    /// Replicas within `min-replicas-max-lag` (`min_slaves_good_slaves`).
    pub good_replicas: usize,
    /// When the stream last got a PING, unix ms.
    pub last_ping_ms: i64,
    /// A client waits in WAIT: ask replicas for ACKs.
    pub getack_wanted: bool,
    /// Our primary, when we are a replica.
    pub master: Option<MasterLink>,
    /// Our replid/offset are a history a primary may let us continue (PSYNC, not `? -1`).
    pub can_psync: bool,
    /// Bumped at every REPLICAOF so a stale link task stops.
    pub generation: u64,
    /// FAILOVER in progress.
    pub failover: Option<Failover>,
    /// When the last once-a-second pass ran, unix ms.
    pub last_second_ms: i64,
    /// Woken when the link task must look at the configuration again (REPLICAOF).
    pub link_wake: Arc<tokio::sync::Notify>,
    /// Our primary asked for an ACK (REPLCONF GETACK): the offset to report.
    pub ack_requested: Option<u64>,
    /// Diskless transfer channels made at fork time, handed to the replicas' tasks.
    pub pending_socket_senders: Option<Vec<(u64, tokio::sync::mpsc::Receiver<Bytes>)>>,
    /// INFO stats counters.
    pub stats: primary::SyncStats,
}

impl Default for ReplState {
    fn default() -> Self {
        ReplState {
            replid: crate::state::new_run_id(),
            replid2: NO_REPLID.to_string(),
            offset: 0,
            second_offset: -1,
            backlog: None,
            stream_db: None,
            replicas: BTreeMap::new(),
            no_replicas_since_ms: crate::clock::unix_ms(),
            good_replicas: 0,
            last_ping_ms: 0,
            getack_wanted: false,
            master: None,
            can_psync: false,
            generation: 0,
            failover: None,
            last_second_ms: 0,
            link_wake: Arc::new(tokio::sync::Notify::new()),
            ack_requested: None,
            pending_socket_senders: None,
            stats: primary::SyncStats::default(),
        }
    }
}

impl ReplState {
    /// True when we replicate from a primary.
    pub fn is_replica(&self) -> bool {
        self.master.is_some()
    }

    /// True when the link to our primary is streaming.
    pub fn link_up(&self) -> bool {
        self.master
            .as_ref()
            .is_some_and(|m| m.state == LinkState::Connected)
    }

    /// Starts a new history: a fresh replid, replid2 cleared.
    pub fn change_replid(&mut self) {
        self.replid = crate::state::new_run_id();
    }

    /// Forgets the secondary ID.
    pub fn clear_replid2(&mut self) {
        self.replid2 = NO_REPLID.to_string();
        self.second_offset = -1;
    }

    /// Keeps the current ID as the secondary one, valid up to the current offset, and takes a
    /// new one (a promotion: PSYNC2).
    pub fn shift_replid(&mut self) {
        self.replid2 = std::mem::replace(&mut self.replid, crate::state::new_run_id());
        self.second_offset = self.offset as i64 + 1;
        crate::notice!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2,
            self.second_offset,
            self.replid
        );
    }

    /// Creates the backlog (empty, starting after the current offset).
    pub fn create_backlog(&mut self, size: u64) {
        self.backlog = Some(Backlog::new(size as usize, self.offset + 1));
    }

    /// Whether anything would be saved as replication info in an RDB (Redis's
    /// `rdbPopulateSaveInfo`): a primary with a backlog, or a replica.
    pub fn save_info(&self) -> Option<rdb::ReplAux> {
        if self.backlog.is_none() && !self.is_replica() {
            return None;
        }
        let db = match &self.master {
            Some(m) => m.stream_db,
            None => self.stream_db.unwrap_or(0),
        };
        Some(rdb::ReplAux {
            stream_db: db as i64,
            repl_id: self.replid.clone(),
            repl_offset: self.offset as i64,
        })
    }
}

/// Hands a propagated command to the replication stream (from [`crate::dispatch`]). A replica
/// proxies its primary's stream instead, so its own propagation stops here.
pub fn feed(st: &mut State, db: usize, argv: &[Bytes]) {
    if st.repl.backlog.is_none() || st.repl.master.is_some() {
        return;
    }
    let mut bytes = Vec::with_capacity(64);
    if st.repl.stream_db != Some(db) {
        let n = db.to_string();
        resp_command(&mut bytes, &[b"SELECT", n.as_bytes()]);
        st.repl.stream_db = Some(db);
    }
    resp_command(&mut bytes, argv);
    feed_raw(st, &bytes);
}

/// Appends encoded stream bytes to the backlog and queues them for every replica past its
/// snapshot point. Replicas whose pending output passes the `replica` class hard limit are
/// dropped, as Redis does.
pub fn feed_raw(st: &mut State, bytes: &[u8]) {
    let Some(b) = st.repl.backlog.as_mut() else {
        return;
    };
    b.append(bytes);
    st.repl.offset += bytes.len() as u64;
    let limit = st.cfg.client_output_buffer_limit[1];
    let now = crate::clock::unix_ms();
    for (id, r) in st.repl.replicas.iter() {
        if r.state == ReplicaState::WaitBgsaveStart {
            continue;
        }
        let queued = r.handle.send(bytes) as u64;
        if over_limit(
            &r.handle,
            queued,
            limit.hard,
            limit.soft,
            limit.soft_seconds,
            now,
        ) {
            crate::warning!(
                "Client id={id} addr={}:{} scheduled to be closed ASAP for overcoming of output buffer limits.",
                r.ip,
                r.listening_port
            );
            r.handle.kill();
        }
    }
}

fn over_limit(
    h: &ClientHandle,
    queued: u64,
    hard: u64,
    soft: u64,
    soft_secs: u64,
    now_ms: i64,
) -> bool {
    if hard > 0 && queued > hard {
        return true;
    }
    if soft == 0 || queued <= soft {
        *h.soft_limit_since.lock() = None;
        return false;
    }
    let mut since = h.soft_limit_since.lock();
    let start = *since.get_or_insert(now_ms);
    now_ms - start > soft_secs as i64 * 1000
}

/// Encodes one command as a RESP multibulk of bulk strings.
pub fn resp_command<T: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[T]) {
    use std::io::Write;
    let _ = write!(out, "*{}\r\n", argv.len());
    for a in argv {
        let a = a.as_ref();
        let _ = write!(out, "${}\r\n", a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Disconnects every replica (after a change of history they must PSYNC again).
pub fn disconnect_replicas(st: &mut State) {
    for r in st.repl.replicas.values() {
        r.handle.kill();
    }
}

/// Drops a replica's registration when its connection ends.
pub fn replica_gone(st: &mut State, id: u64, now_ms: i64) {
    if let Some(r) = st.repl.replicas.remove(&id) {
        crate::notice!(
            "Connection with replica {}:{} lost.",
            r.ip,
            r.listening_port
        );
        if st.repl.replicas.is_empty() {
            st.repl.no_replicas_since_ms = now_ms;
        }
    }
}

/// The address a replica is known by in logs (`ip:port`).
pub fn replica_name(r: &ReplicaEntry) -> String {
    format!("{}:{}", r.ip, r.listening_port)
}

/// Records a replica's `REPLCONF ACK`, and answers WAITs it satisfies.
pub fn on_ack(st: &mut State, id: u64, offset: u64, now_ms: i64) {
    let Some(r) = st.repl.replicas.get_mut(&id) else {
        return;
    };
    r.ack_off = r.ack_off.max(offset);
    r.ack_time_ms = now_ms;
    r.got_ack = true;
    serve_waiters(st);
}

/// How many online replicas acknowledged at least `offset`.
pub fn count_acked(st: &State, offset: u64) -> usize {
    st.repl
        .replicas
        .values()
        .filter(|r| r.state == ReplicaState::Online && r.ack_off >= offset)
        .count()
}

/// Replies to the WAITing clients whose target enough replicas reached.
pub fn serve_waiters(st: &mut State) {
    let ready: Vec<(u64, usize)> = st
        .blocked
        .iter()
        .filter_map(|(id, b)| {
            let (target, wanted) = b.wait?;
            let n = count_acked(st, target);
            (n >= wanted).then_some((*id, n))
        })
        .collect();
    for (id, n) in ready {
        crate::blocking::unblock(st, id);
        if let Some(c) = st.clients.get(&id) {
            c.handle.send(format!(":{n}\r\n").as_bytes());
        }
    }
}

/// Why a command may not run given the replication role, in Redis's order and words:
/// NOREPLICAS (min-replicas), READONLY (read-only replica), MASTERDOWN (stale data refused).
pub fn deny(st: &State, from_master: bool, is_write: bool, stale_ok: bool) -> Option<&'static str> {
    if from_master {
        return None;
    }
    let c = &st.cfg;
    if is_write
        && !st.repl.is_replica()
        && c.min_replicas_to_write > 0
        && c.min_replicas_max_lag > 0
        && st.repl.good_replicas < c.min_replicas_to_write as usize
    {
        return Some("NOREPLICAS Not enough good replicas to write.");
    }
    if is_write && st.repl.is_replica() && c.replica_read_only {
        return Some("READONLY You can't write against a read only replica.");
    }
    if st.repl.is_replica() && !st.repl.link_up() && !c.replica_serve_stale_data && !stale_ok {
        return Some(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        );
    }
    None
}

/// Replication housekeeping from the server cron (every tick; the periodic parts once a
/// second): starting snapshots for waiting replicas, PINGs, replica timeouts, the
/// good-replica count, the backlog's TTL, GETACK for WAIT.
pub fn cron(st: &mut State, now_ms: i64) {
    primary::start_pending_syncs(st, now_ms);
    after_batch(st);
    if now_ms - st.repl.last_second_ms < 1000 {
        return;
    }
    st.repl.last_second_ms = now_ms;
    if let Some(b) = st.repl.backlog.as_mut() {
        let want = st.cfg.repl_backlog_size as usize;
        if b.capacity() != want {
            b.resize(want);
        }
    }
    let period = st.cfg.repl_ping_replica_period.max(1) as i64 * 1000;
    if !st.repl.is_replica()
        && !st.repl.replicas.is_empty()
        && now_ms - st.repl.last_ping_ms >= period
        && st.pause.is_none_or(|p| p.until_ms <= now_ms)
    {
        st.repl.last_ping_ms = now_ms;
        feed_raw(st, PING);
    }
    let timeout = st.cfg.repl_timeout as i64 * 1000;
    for r in st.repl.replicas.values() {
        if r.state == ReplicaState::Online && !r.legacy_sync && now_ms - r.ack_time_ms > timeout {
            crate::warning!(
                "Disconnecting timedout replica (streaming sync): {}",
                replica_name(r)
            );
            r.handle.kill();
        }
    }
    refresh_good_replicas(st, now_ms);
    let ttl = st.cfg.repl_backlog_ttl as i64 * 1000;
    if ttl > 0
        && !st.repl.is_replica()
        && st.repl.backlog.is_some()
        && st.repl.replicas.is_empty()
        && now_ms - st.repl.no_replicas_since_ms > ttl
    {
        st.repl.change_replid();
        st.repl.clear_replid2();
        st.repl.backlog = None;
        crate::notice!(
            "Replication backlog freed after {} seconds without connected replicas.",
            st.cfg.repl_backlog_ttl
        );
    }
    cmd::failover_cron(st, now_ms);
}

/// Recounts the replicas within `min-replicas-max-lag` (`min_slaves_good_slaves`).
pub fn refresh_good_replicas(st: &mut State, now_ms: i64) {
    let max_lag = st.cfg.min_replicas_max_lag as i64 * 1000;
    st.repl.good_replicas = st
        .repl
        .replicas
        .values()
        .filter(|r| r.state == ReplicaState::Online && now_ms - r.ack_time_ms <= max_lag)
        .count();
}

/// After a batch of commands: WAITs that blocked ask every replica for an ACK at once (one
/// GETACK serves them all).
pub fn after_batch(st: &mut State) {
    if std::mem::take(&mut st.repl.getack_wanted) {
        primary::request_acks(st);
    }
}

/// Whether a primary has replicas that have not acknowledged everything yet.
pub fn replicas_lagging(st: &State) -> bool {
    lagging_behind(st, st.repl.offset)
}

fn lagging_behind(st: &State, offset: u64) -> bool {
    !st.repl.is_replica()
        && st
            .repl
            .replicas
            .values()
            .any(|r| r.state == ReplicaState::Online && r.ack_off < offset)
}

/// Lifts the write pause a shutdown took while waiting for replicas.
pub fn resume_after_shutdown_wait(st: &mut State) {
    if st.pause.is_some_and(|p| p.until_ms == i64::MAX - 1) {
        st.pause = None;
        st.unpaused.notify_waiters();
    }
}

/// Before a primary shuts down (SIGTERM, SHUTDOWN without NOW), as Redis 7.0: writes are
/// paused and replicas asked for ACKs until they have everything or `shutdown-timeout` passes,
/// so a graceful restart loses no acknowledged write.
pub async fn wait_for_replicas_before_shutdown(shared: &crate::state::Shared) {
    let (deadline, target) = {
        let mut st = shared.state.lock();
        if !replicas_lagging(&st) || st.cfg.shutdown_timeout == 0 {
            return;
        }
        crate::notice!("Waiting for replicas before shutting down.");
        if st.pause.is_none() {
            st.pause = Some(crate::state::Pause {
                until_ms: i64::MAX - 1,
                all: false,
            });
        }
        // Writes are paused: everything to keep is before this offset (the GETACK itself
        // is only acknowledged by the next periodic ACK).
        let target = st.repl.offset;
        primary::request_acks(&mut st);
        let timeout = std::time::Duration::from_secs(st.cfg.shutdown_timeout);
        (std::time::Instant::now() + timeout, target)
    };
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let st = shared.state.lock();
        if !lagging_behind(&st, target) {
            crate::notice!("All replicas are in sync: shutting down.");
            return;
        }
        if std::time::Instant::now() >= deadline {
            for r in st.repl.replicas.values() {
                if r.state == ReplicaState::Online && r.ack_off < target {
                    crate::warning!(
                        "Lagging replica {} reported offset {} behind master, lag={}, state={}.",
                        replica_name(r),
                        target - r.ack_off,
                        (crate::clock::unix_ms() - r.ack_time_ms) / 1000,
                        r.state.name()
                    );
                }
            }
            return;
        }
    }
}

/// The PING a primary puts in its stream (lower case, as Redis sends it).
pub const PING: &[u8] = b"*1\r\n$4\r\nping\r\n";
/// `REPLCONF GETACK *`, asking replicas for an ACK.
pub const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

/// The `# Replication` fields of INFO, in Redis's order.
pub fn info_fields(st: &State, now_ms: i64) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| f.push((k.to_string(), v));
    let r = &st.repl;
    match &r.master {
        None => put("role", "master".into()),
        Some(m) => {
            put("role", "slave".into());
            put("master_host", m.host.clone());
            put("master_port", m.port.to_string());
            let up = m.state == LinkState::Connected;
            put("master_link_status", if up { "up" } else { "down" }.into());
            let last_io = if m.client_id.is_some() || m.state == LinkState::Sync {
                ((now_ms - m.last_io_ms) / 1000).to_string()
            } else {
                "-1".into()
            };
            put("master_last_io_seconds_ago", last_io);
            put(
                "master_sync_in_progress",
                u8::from(m.state == LinkState::Sync).to_string(),
            );
            let (read, applied) = if up || r.can_psync {
                (m.read_offset.max(r.offset), r.offset)
            } else {
                (1, 1)
            };
            put("slave_read_repl_offset", read.to_string());
            put("slave_repl_offset", applied.to_string());
            if let (LinkState::Sync, Some(t)) = (m.state, &m.transfer) {
                put("master_sync_total_bytes", t.total.to_string());
                put("master_sync_read_bytes", t.read.to_string());
                put(
                    "master_sync_left_bytes",
                    t.total.saturating_sub(t.read).to_string(),
                );
                let perc = if t.total > 0 {
                    t.read as f64 * 100.0 / t.total as f64
                } else {
                    0.0
                };
                put("master_sync_perc", format!("{perc:.2}"));
                put(
                    "master_sync_last_io_seconds_ago",
                    ((now_ms - t.last_io_ms) / 1000).to_string(),
                );
            }
            if !up {
                let since = match m.down_since_ms {
                    Some(t) => ((now_ms - t) / 1000).to_string(),
                    None => "-1".into(),
                };
                put("master_link_down_since_seconds", since);
            }
            put("slave_priority", st.cfg.replica_priority.to_string());
            put(
                "slave_read_only",
                u8::from(st.cfg.replica_read_only).to_string(),
            );
            put(
                "replica_announced",
                u8::from(st.cfg.replica_announced).to_string(),
            );
        }
    }
    put("connected_slaves", r.replicas.len().to_string());
    if st.cfg.min_replicas_to_write > 0 && st.cfg.min_replicas_max_lag > 0 {
        put("min_slaves_good_slaves", r.good_replicas.to_string());
    }
    for (n, e) in r.replicas.values().enumerate() {
        let lag = if e.state == ReplicaState::Online {
            (now_ms - e.ack_time_ms) / 1000
        } else {
            0
        };
        put(
            &format!("slave{n}"),
            format!(
                "ip={},port={},state={},offset={},lag={}",
                e.ip,
                e.listening_port,
                e.state.name(),
                e.ack_off,
                lag
            ),
        );
    }
    put("master_failover_state", cmd::failover_state_name(st).into());
    put("master_replid", r.replid.clone());
    put("master_replid2", r.replid2.clone());
    put("master_repl_offset", r.offset.to_string());
    put("second_repl_offset", r.second_offset.to_string());
    match &r.backlog {
        Some(b) => {
            put("repl_backlog_active", "1".into());
            put("repl_backlog_size", st.cfg.repl_backlog_size.to_string());
            put(
                "repl_backlog_first_byte_offset",
                b.first_byte_offset().to_string(),
            );
            put("repl_backlog_histlen", b.histlen().to_string());
        }
        None => {
            put("repl_backlog_active", "0".into());
            put("repl_backlog_size", st.cfg.repl_backlog_size.to_string());
            put("repl_backlog_first_byte_offset", "0".into());
            put("repl_backlog_histlen", "0".into());
        }
    }
    f
}

/// Restores replication info found in an RDB at start-up, as Redis 7.0: a replica continues
/// its primary's history (PSYNC with it); a primary keeps it as its secondary ID so its
/// replicas can continue after its restart.
pub fn restore_saved_info(st: &mut State, info: &rdb::ReplAux) {
    if info.repl_id.len() != 40 || info.repl_offset < 0 {
        return;
    }
    let offset = info.repl_offset as u64;
    if let Some(m) = st.repl.master.as_mut() {
        st.repl.replid = info.repl_id.clone();
        st.repl.offset = offset;
        st.repl.can_psync = true;
        m.stream_db = info.stream_db.max(0) as usize;
        st.repl.create_backlog(st.cfg.repl_backlog_size);
    } else {
        st.repl.replid2 = info.repl_id.clone();
        st.repl.second_offset = info.repl_offset + 1;
        st.repl.offset = offset;
        st.repl.create_backlog(st.cfg.repl_backlog_size);
        st.repl.no_replicas_since_ms = crate::clock::unix_ms();
    }
}

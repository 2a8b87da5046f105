//! Clients: what a connection owns (its session) and what others can see of it (its registry entry).

use bytes::Bytes;
use parking_lot::Mutex;
use resp::Protocol;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Messages queued for a client by others (pub/sub, MONITOR), and the kill switch.
#[derive(Default)]
pub struct ClientHandle {
    /// Encoded frames waiting to be written to this client's socket.
    pub outbox: Mutex<Vec<u8>>,
    /// Woken when the outbox gets data or the client is killed.
    pub wake: Notify,
    /// Set by CLIENT KILL, output-buffer overflow or shutdown: the connection closes.
    pub killed: AtomicBool,
    /// Set when the outbox overflowed its soft limit, with the time (ms) it started.
    pub soft_limit_since: Mutex<Option<i64>>,
}

impl ClientHandle {
    /// Queues encoded bytes for this client and wakes its task.
    pub fn send(&self, bytes: &[u8]) -> usize {
        let mut q = self.outbox.lock();
        q.extend_from_slice(bytes);
        let n = q.len();
        drop(q);
        self.wake.notify_one();
        n
    }

    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// True once the connection has been asked to close.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }
}

/// What kind of client this is, for CLIENT LIST / KILL TYPE and buffer limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// An ordinary client.
    Normal,
    /// A client with pub/sub subscriptions.
    PubSub,
    /// A replica connection.
    Replica,
    /// The link to our primary.
    Master,
}

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// No replies are sent.
    Off,
    /// The next command's reply is not sent.
    Skip,
    /// Set by SKIP: this command's reply is dropped, then back to On.
    SkipThis,
}

/// What other clients can see and change of a client (CLIENT LIST, KILL, WATCH, pub/sub).
pub struct ClientInfo {
    /// Blocked on keys (flag `b` in CLIENT LIST).
    pub blocked: bool,
    /// CLIENT ID.
    pub id: u64,
    /// Peer address `ip:port` (or the unix socket path).
    pub addr: String,
    /// Local address `ip:port`.
    pub laddr: String,
    /// File descriptor number reported by CLIENT LIST.
    pub fd: i64,
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// Selected database.
    pub db: usize,
    /// The protocol the client speaks.
    pub proto: Protocol,
    /// When the connection was accepted (ms).
    pub created_ms: i64,
    /// When the last command ran (ms).
    pub last_interaction_ms: i64,
    /// The last command's name (`client|list` style for subcommands).
    pub last_cmd: &'static str,
    /// Normal, pub/sub, replica, master.
    pub kind: ClientKind,
    /// Channel subscriptions count.
    pub subs: usize,
    /// Pattern subscriptions count.
    pub psubs: usize,
    /// Commands queued in MULTI, or -1 outside MULTI.
    pub multi: i64,
    /// A WATCHed key changed: the next EXEC fails.
    pub dirty_cas: bool,
    /// The client is a MONITOR.
    pub monitor: bool,
    /// The authenticated user name.
    pub user: String,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
    /// Query buffer bytes, for CLIENT LIST.
    pub qbuf: usize,
    /// The handle used to reach the connection's task.
    pub handle: Arc<ClientHandle>,
}

/// State owned by a connection's task: its session.
pub struct Session {
    /// True while EXEC runs the queued commands: blocking commands do not block then.
    pub in_exec: bool,
    /// CLIENT ID.
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// True once authenticated (or when no password is required).
    pub authenticated: bool,
    /// The authenticated user.
    pub user: String,
    /// Commands queued since MULTI (None outside MULTI).
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command was rejected while queueing: EXEC aborts.
    pub multi_error: bool,
    /// Keys this client WATCHes, with their db and whether they were already expired then.
    pub watched: Vec<(usize, Bytes, bool)>,
    /// Subscribed channels.
    pub channels: HashSet<Bytes>,
    /// Subscribed patterns.
    pub patterns: HashSet<Bytes>,
    /// CLIENT REPLY state.
    pub reply_mode: ReplyMode,
    /// Close the connection once replies are written.
    pub close_after_reply: bool,
    /// The handle shared with the registry.
    pub handle: Arc<ClientHandle>,
    /// This session applies our primary's stream: no replies, no read-only or auth checks.
    pub from_master: bool,
    /// The replication offset right after this client's last propagated write (WAIT's target).
    pub woff: u64,
    /// What a would-be replica declared with REPLCONF before its PSYNC.
    pub replica_hello: ReplicaHello,
    /// Set by PSYNC/SYNC: the connection becomes a replica link (see [`crate::repl::primary`]).
    pub became_replica: Option<BecameReplica>,
}

/// What REPLCONF told us about a replica before it asked to sync.
#[derive(Debug, Clone, Default)]
pub struct ReplicaHello {
    /// `listening-port`.
    pub listening_port: u16,
    /// `ip-address`.
    pub ip_address: Option<String>,
    /// `capa eof`.
    pub capa_eof: bool,
    /// `capa psync2`.
    pub capa_psync2: bool,
}

/// How a connection that asked to sync goes on.
pub struct BecameReplica {
    /// The steps of its full resync; None for a partial one (already streaming).
    pub steps: Option<tokio::sync::mpsc::UnboundedReceiver<crate::repl::SyncStep>>,
}

impl Session {
    /// A new session for client `id`.
    pub fn new(id: u64, authenticated: bool, handle: Arc<ClientHandle>) -> Self {
        Session {
            in_exec: false,
            id,
            db: 0,
            authenticated,
            user: "default".into(),
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            channels: HashSet::new(),
            patterns: HashSet::new(),
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            handle,
            from_master: false,
            woff: 0,
            replica_hello: ReplicaHello::default(),
            became_replica: None,
        }
    }

    /// Number of subscriptions (channels and patterns).
    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

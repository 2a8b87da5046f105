//! The server's shared state: keyspace, config, clients, pub/sub, statistics.
//! One lock guards it, so a command (or MULTI/EXEC) executes atomically and in one total order.

use crate::client::ClientInfo;
use crate::config::Config;
use crate::pubsub::PubSub;
use crate::slowlog::SlowLog;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use store::Keyspace;
use tokio::sync::Notify;

/// Counters for INFO stats and commandstats.
#[derive(Default, Debug, Clone)]
pub struct Stats {
    /// Connections accepted.
    pub total_connections_received: u64,
    /// Commands executed.
    pub total_commands_processed: u64,
    /// Connections refused by maxclients.
    pub rejected_connections: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Error replies by error code.
    pub error_codes: HashMap<String, u64>,
    /// Error replies in total.
    pub total_error_replies: u64,
    /// Per command: calls, microseconds, rejected calls, failed calls.
    pub commands: HashMap<&'static str, CommandStats, ahash::RandomState>,
    /// Pub/sub messages delivered.
    pub pubsub_messages: u64,
    /// Clients closed for exceeding output limits.
    pub client_output_limit_disconnections: u64,
    /// Clients closed for exceeding query buffer limits.
    pub client_query_buffer_limit_disconnections: u64,
    /// Commands handed to replication and the AOF.
    pub propagated_commands: u64,
}

/// One command's counters (INFO commandstats).
#[derive(Default, Debug, Clone)]
pub struct CommandStats {
    /// Times executed.
    pub calls: u64,
    /// Total execution time in microseconds.
    pub usec: u64,
    /// Rejected before execution (arity, auth, ...).
    pub rejected_calls: u64,
    /// Executed but replied with an error.
    pub failed_calls: u64,
    /// Latency distribution (INFO latencystats, LATENCY HISTOGRAM).
    pub latency: crate::info::Histogram,
}

/// CLIENT PAUSE state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Until when (unix ms).
    pub until_ms: i64,
    /// Pause every command (ALL) or only writes (WRITE).
    pub all: bool,
}

/// Everything the lock guards.
pub struct State {
    /// The databases.
    pub ks: Keyspace,
    /// The configuration.
    pub cfg: Config,
    /// Connected clients by id.
    pub clients: HashMap<u64, ClientInfo>,
    /// Channel and pattern subscriptions.
    pub pubsub: PubSub,
    /// INFO counters.
    pub stats: Stats,
    /// SLOWLOG and LATENCY.
    pub slowlog: SlowLog,
    /// Next CLIENT ID.
    pub next_client_id: u64,
    /// 40 hex chars identifying this run.
    pub run_id: String,
    /// When the server started (unix ms).
    pub start_ms: i64,
    /// CLIENT PAUSE, if active.
    pub pause: Option<Pause>,
    /// Set by SHUTDOWN: the process exits once replies are flushed.
    pub shutdown_requested: bool,
    /// A SHUTDOWN waiting for lagging replicas first: its flags and the client to answer.
    pub shutdown_pending: Option<(u32, Option<u64>)>,
    /// Clients blocked on keys, by id.
    pub blocked: HashMap<u64, crate::blocking::BlockedClient>,
    /// Per (db, key), the clients blocked on it in arrival order.
    pub waiting: HashMap<(usize, bytes::Bytes), std::collections::VecDeque<u64>>,
    /// The TCP port actually bound (for INFO when `port 0` was asked for an ephemeral one).
    pub bound_port: u16,
    /// The active expiry cycle is enabled (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire_enabled: bool,
    /// Replication: our history, our replicas, our primary.
    pub repl: crate::repl::ReplState,
    /// Sampled INFO figures (instantaneous metrics, memory peak).
    pub info: crate::info::InfoState,
    /// Ids of MONITOR clients (pruned lazily when they leave or RESET).
    pub monitors: Vec<u64>,
    /// Woken when CLIENT PAUSE ends or is lifted (the same Notify as [`Shared::unpaused`]).
    pub unpaused: Arc<Notify>,
    /// RDB snapshot bookkeeping (LASTSAVE, INFO persistence).
    pub persist: crate::persist::PersistState,
    /// The append-only file.
    pub aof: crate::aof::AofState,
    /// What the command being executed propagates, handed on as one unit when it ends.
    pub prop: crate::dispatch::Propagation,
    /// Set while the dataset loads at start-up: commands without the `loading` flag get
    /// `-LOADING`.
    pub loading: Option<Arc<crate::persist::LoadProgress>>,
    /// EVAL scripts, FUNCTION libraries and their interpreters.
    pub scripting: crate::script::Scripting,
}

/// The state plus what tasks wait on.
pub struct Shared {
    /// The state behind its lock.
    pub state: Mutex<State>,
    /// Woken when SHUTDOWN is requested.
    pub shutdown: Notify,
    /// Woken when CLIENT PAUSE ends or is lifted.
    pub unpaused: Arc<Notify>,
    /// The running script, seen without the lock (-BUSY, SCRIPT KILL).
    pub script_watch: Arc<crate::script::Watch>,
}

/// A new random 40-hex-character run id.
pub fn new_run_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| std::char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

impl State {
    /// A fresh state for `cfg`.
    pub fn new(cfg: Config, now_ms: i64) -> Self {
        let mut ks = Keyspace::new(cfg.databases);
        ks.now_ms = now_ms;
        ks.seed(rand::random());
        let mut st = State {
            ks,
            clients: HashMap::new(),
            pubsub: PubSub::default(),
            stats: Stats::default(),
            slowlog: SlowLog::default(),
            next_client_id: 1,
            run_id: new_run_id(),
            start_ms: now_ms,
            pause: None,
            shutdown_requested: false,
            shutdown_pending: None,
            bound_port: cfg.port,
            blocked: HashMap::new(),
            waiting: HashMap::new(),
            active_expire_enabled: true,
            repl: crate::repl::ReplState::default(),
            info: crate::info::InfoState::default(),
            monitors: Vec::new(),
            unpaused: Arc::new(Notify::new()),
            persist: crate::persist::PersistState::new(now_ms / 1000),
            aof: crate::aof::AofState::new(),
            prop: crate::dispatch::Propagation::default(),
            loading: None,
            scripting: crate::script::Scripting::default(),
            cfg,
        };
        st.apply_config();
        st
    }

    /// Pushes the config values the keyspace reads into it (at start and after CONFIG SET).
    pub fn apply_config(&mut self) {
        let c = &self.cfg;
        self.ks.max_string_len = c.proto_max_bulk_len;
        self.ks.notify_flags = c.notify_keyspace_events_flags;
        self.ks.limits = store::types::EncodingLimits {
            list_max_listpack_size: c.list_max_listpack_size,
            list_compress_depth: c.list_compress_depth as i64,
            hash_max_listpack_entries: c.hash_max_listpack_entries as usize,
            hash_max_listpack_value: c.hash_max_listpack_value as usize,
            set_max_intset_entries: c.set_max_intset_entries as usize,
            zset_max_listpack_entries: c.zset_max_listpack_entries as usize,
            zset_max_listpack_value: c.zset_max_listpack_value as usize,
            stream_node_max_bytes: c.stream_node_max_bytes as usize,
            stream_node_max_entries: c.stream_node_max_entries as usize,
            hll_sparse_max_bytes: c.hll_sparse_max_bytes as usize,
        };
    }
}

/// Wraps a state for sharing between tasks.
pub fn shared(state: State) -> Arc<Shared> {
    let unpaused = state.unpaused.clone();
    let script_watch = state.scripting.watch.clone();
    Arc::new(Shared {
        state: Mutex::new(state),
        shutdown: Notify::new(),
        unpaused,
        script_watch,
    })
}

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
    pub commands: HashMap<String, CommandStats>,
    /// Pub/sub messages delivered.
    pub pubsub_messages: u64,
    /// Clients closed for exceeding output limits.
    pub client_output_limit_disconnections: u64,
    /// Clients closed for exceeding query buffer limits.
    pub client_query_buffer_limit_disconnections: u64,
}

/// One command's counters (INFO commandstats).
#[derive(Default, Debug, Clone, Copy)]
pub struct CommandStats {
    /// Times executed.
    pub calls: u64,
    /// Total execution time in microseconds.
    pub usec: u64,
    /// Rejected before execution (arity, auth, ...).
    pub rejected_calls: u64,
    /// Executed but replied with an error.
    pub failed_calls: u64,
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
    /// The TCP port actually bound (for INFO when `port 0` was asked for an ephemeral one).
    pub bound_port: u16,
    /// The active expiry cycle is enabled (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire_enabled: bool,
}

/// The state plus what tasks wait on.
pub struct Shared {
    /// The state behind its lock.
    pub state: Mutex<State>,
    /// Woken when SHUTDOWN is requested.
    pub shutdown: Notify,
    /// Woken when CLIENT PAUSE ends or is lifted.
    pub unpaused: Notify,
}

/// A new random 40-hex-character run id.
pub fn new_run_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40).map(|_| std::char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0')).collect()
}

impl State {
    /// A fresh state for `cfg`.
    pub fn new(cfg: Config, now_ms: i64) -> Self {
        let mut ks = Keyspace::new(cfg.databases);
        ks.now_ms = now_ms;
        ks.max_string_len = cfg.proto_max_bulk_len;
        ks.seed(rand::random());
        State {
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
            bound_port: cfg.port,
            active_expire_enabled: true,
            cfg,
        }
    }
}

/// Wraps a state for sharing between tasks.
pub fn shared(state: State) -> Arc<Shared> {
    Arc::new(Shared { state: Mutex::new(state), shutdown: Notify::new(), unpaused: Notify::new() })
}

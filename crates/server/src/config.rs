//! The server's configuration, table-driven like Redis 7.0's `config.c`.
//!
//! One static table (`PARAMS`) holds a row per directive: its name, alias, flags, kind (with
//! bounds, enum names or special handlers) and default, and where its value lives. Loading a
//! config file, `CONFIG GET`, `CONFIG SET` and `CONFIG REWRITE` all read that table, so they
//! agree on names, parsing, formatting and error texts. Texts, formats and behaviours were
//! checked against Debian's `redis-server` 7.0.15 (the tests hold what it printed).
//!
//! The values the server acts on are typed `pub` fields of [`Config`]; directives that are
//! only stored and reported (`CONFIG GET`) live in a private map. Change values through
//! [`Config::set`] (or [`load`]) so that validation and the table stay in charge.
//!
//! Features Redoubt has not built yet are refused, never silently accepted: a value that would
//! turn one on (`cluster-enabled yes`, TLS, modules, ACL users,
//! ...) fails at load with the fatal-error layout and in `CONFIG SET` with the usual
//! `CONFIG SET failed` error; see `Config::check`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use store::glob::glob_match;

use crate::REDIS_VERSION;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// Bits of the parsed `notify-keyspace-events` mask (the keyspace's own classes).
pub use store::keyspace::notify;

/// Bits of `shutdown-on-sigint` / `shutdown-on-sigterm`, with Redis's values (0 = `default`).
pub mod shutdown {
    /// `save`: save an RDB even without save points.
    pub const SAVE: u32 = 1;
    /// `nosave`: do not save.
    pub const NOSAVE: u32 = 2;
    /// `now`: do not wait for lagging replicas.
    pub const NOW: u32 = 4;
    /// `force`: ignore errors writing the RDB or AOF.
    pub const FORCE: u32 = 8;
}

/// Log verbosity (`loglevel`); Redis 7.0 accepts no `nothing` level, so config never yields
/// [`LogLevel::Nothing`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogLevel {
    /// `debug`
    Debug,
    /// `verbose`
    Verbose,
    /// `notice` (the default)
    #[default]
    Notice,
    /// `warning`
    Warning,
    /// Log nothing (not settable from the configuration in Redis 7.0).
    Nothing,
}

/// Output-buffer limits of one client class (`client-output-buffer-limit`); 0 = no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferLimit {
    /// Disconnect as soon as the buffer exceeds this many bytes.
    pub hard: u64,
    /// Disconnect when the buffer stays above this many bytes ...
    pub soft: u64,
    /// ... for this many seconds.
    pub soft_seconds: u64,
}

/// Integer-backed enums of the configuration table.
trait EnumVal: Copy {
    /// The value as stored in the table.
    fn to_i32(self) -> i32;
    /// The variant for a table value.
    fn from_i32(v: i32) -> Self;
}

impl EnumVal for LogLevel {
    fn to_i32(self) -> i32 {
        self as i32
    }
    fn from_i32(v: i32) -> Self {
        [
            Self::Debug,
            Self::Verbose,
            Self::Notice,
            Self::Warning,
            Self::Nothing,
        ]
        .into_iter()
        .find(|l| *l as i32 == v)
        .unwrap_or_default()
    }
}

const LOGLEVEL: &[(&str, i32)] = &[
    ("debug", LogLevel::Debug as i32),
    ("verbose", LogLevel::Verbose as i32),
    ("notice", LogLevel::Notice as i32),
    ("warning", LogLevel::Warning as i32),
];

/// Declares a public config enum, its table of names and its [`EnumVal`] impl.
macro_rules! config_enum {
    ($(#[$m:meta])* $name:ident, $table:ident { $first:ident = $ftext:literal $(, $variant:ident = $text:literal)* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub enum $name {
            #[doc = concat!("`", $ftext, "`")]
            #[default]
            $first,
            $(#[doc = concat!("`", $text, "`")] $variant,)*
        }
        const $table: &[(&str, i32)] = &[($ftext, $name::$first as i32) $(, ($text, $name::$variant as i32))*];
        impl EnumVal for $name {
            fn to_i32(self) -> i32 {
                self as i32
            }
            fn from_i32(v: i32) -> Self {
                [$name::$first $(, $name::$variant)*].into_iter().find(|x| *x as i32 == v).unwrap_or_default()
            }
        }
        impl $name {
            /// The name Redis prints for this value.
            pub fn as_str(self) -> &'static str {
                $table.iter().find(|(_, v)| *v == self as i32).map_or("unknown", |(n, _)| *n)
            }
        }
    };
}

config_enum!(
    /// What to evict when `maxmemory` is reached (`maxmemory-policy`).
    MaxmemoryPolicy, MAXMEMORY_POLICY {
        VolatileLru = "volatile-lru", VolatileLfu = "volatile-lfu", VolatileRandom = "volatile-random",
        VolatileTtl = "volatile-ttl", AllkeysLru = "allkeys-lru", AllkeysLfu = "allkeys-lfu",
        AllkeysRandom = "allkeys-random", Noeviction = "noeviction",
    }
);
config_enum!(
    /// `appendfsync` policy.
    AppendFsync, APPENDFSYNC { Everysec = "everysec", Always = "always", No = "no" }
);
config_enum!(
    /// Supervision mode (`supervised`).
    Supervised, SUPERVISED { Upstart = "upstart", Systemd = "systemd", Auto = "auto", No = "no" }
);
config_enum!(
    /// Who may use a protected feature (`enable-protected-configs`, `enable-debug-command`,
    /// `enable-module-command`).
    ProtectedAction, PROTECTED_ACTION { No = "no", Yes = "yes", Local = "local" }
);

/// Defines [`Config`] and a constructor with every field at its type's default; the Redis
/// defaults are then applied from [`PARAMS`] by [`Config::default`].
macro_rules! config_struct {
    ($($(#[$m:meta])* $field:ident: $ty:ty,)*) => {
        /// The server's configuration. Read the fields directly; change them through
        /// [`Config::set`] so that validation and refusals apply.
        #[derive(Clone, Debug, PartialEq)]
        pub struct Config {
            $($(#[$m])* pub $field: $ty,)*
            /// Values of the directives without a typed field, by canonical name.
            other: HashMap<&'static str, Val>,
            /// `oom-score-adj-values`.
            oom_score_adj_values: [i64; 3],
            /// State kept while a configuration is being loaded.
            loading: Option<LoadState>,
        }

        impl Config {
            fn blank() -> Config {
                Config {
                    $($field: Default::default(),)*
                    other: HashMap::new(),
                    oom_score_adj_values: [0; 3],
                    loading: None,
                }
            }
        }
    };
}

config_struct! {
    // Network.
    /// `port`: TCP port (0 = no TCP listener).
    port: u16,
    /// `bind`: addresses to listen on, as written (`-` prefix = optional, `*` = any IPv4,
    /// `::*` = any IPv6); empty = no TCP listener.
    bind: Vec<String>,
    /// `protected-mode`.
    protected_mode: bool,
    /// `unixsocket`: path of the Unix socket to listen on.
    unixsocket: Option<String>,
    /// `unixsocketperm`: mode of the Unix socket (0 = leave as created).
    unixsocketperm: u32,
    /// `tcp-backlog`.
    tcp_backlog: u32,
    /// `tcp-keepalive`: seconds (0 = off).
    tcp_keepalive: u64,
    /// `timeout`: idle client timeout in seconds (0 = never).
    timeout: u64,
    /// `maxclients`.
    maxclients: u64,
    /// `socket-mark-id` (SO_MARK, 0 = none).
    socket_mark_id: u32,

    // Security.
    /// `requirepass`: the default user's password.
    requirepass: Option<Vec<u8>>,
    /// `masterauth`: password to authenticate to a primary.
    masterauth: Option<Vec<u8>>,
    /// `masteruser`: user name to authenticate to a primary.
    masteruser: Option<String>,
    /// `enable-protected-configs`: who may `CONFIG SET dir` / `dbfilename`.
    enable_protected_configs: ProtectedAction,
    /// `enable-debug-command`.
    enable_debug_command: ProtectedAction,
    /// `enable-module-command`.
    enable_module_command: ProtectedAction,

    // Replication.
    /// `replicaof` (alias `slaveof`): the primary's host and port.
    replicaof: Option<(String, u16)>,
    /// `replica-read-only` (alias `slave-read-only`).
    replica_read_only: bool,
    /// `replica-serve-stale-data` (alias `slave-serve-stale-data`).
    replica_serve_stale_data: bool,
    /// `replica-priority` (alias `slave-priority`).
    replica_priority: u32,
    /// `replica-announced`.
    replica_announced: bool,
    /// `replica-announce-ip` (alias `slave-announce-ip`).
    replica_announce_ip: Option<String>,
    /// `replica-announce-port` (alias `slave-announce-port`).
    replica_announce_port: u16,
    /// `replica-lazy-flush` (alias `slave-lazy-flush`).
    replica_lazy_flush: bool,
    /// `replica-ignore-maxmemory` (alias `slave-ignore-maxmemory`).
    replica_ignore_maxmemory: bool,
    /// `repl-backlog-size` in bytes.
    repl_backlog_size: u64,
    /// `repl-backlog-ttl` in seconds.
    repl_backlog_ttl: u64,
    /// `repl-timeout` in seconds.
    repl_timeout: u64,
    /// `repl-ping-replica-period` (alias `repl-ping-slave-period`) in seconds.
    repl_ping_replica_period: u64,
    /// `repl-diskless-sync`.
    repl_diskless_sync: bool,
    /// `repl-diskless-sync-delay` in seconds.
    repl_diskless_sync_delay: u64,
    /// `repl-diskless-sync-max-replicas`.
    repl_diskless_sync_max_replicas: u64,
    /// `min-replicas-to-write` (alias `min-slaves-to-write`).
    min_replicas_to_write: u32,
    /// `min-replicas-max-lag` (alias `min-slaves-max-lag`) in seconds.
    min_replicas_max_lag: u64,

    // Process.
    /// `daemonize`.
    daemonize: bool,
    /// `supervised`.
    supervised: Supervised,
    /// `pidfile`.
    pidfile: Option<String>,
    /// `logfile` ("" = standard output).
    logfile: String,
    /// `loglevel`.
    loglevel: LogLevel,
    /// `dir`: the working directory, absolute; the process must `chdir` to it after [`load`]
    /// and after a `CONFIG SET dir` (Redis does so while parsing).
    dir: String,
    /// `databases`.
    databases: usize,
    /// `hz` (clamped to 1..=500 as Redis does).
    hz: u32,
    /// `dynamic-hz`.
    dynamic_hz: bool,
    /// `shutdown-timeout` in seconds.
    shutdown_timeout: u64,
    /// `shutdown-on-sigint`: [`shutdown`] bits.
    shutdown_on_sigint: u32,
    /// `shutdown-on-sigterm`: [`shutdown`] bits.
    shutdown_on_sigterm: u32,
    /// `io-threads`.
    io_threads: u32,

    // Limits.
    /// `proto-max-bulk-len` in bytes.
    proto_max_bulk_len: u64,
    /// `client-query-buffer-limit` in bytes.
    client_query_buffer_limit: u64,
    /// `client-output-buffer-limit` for the normal, replica and pubsub classes.
    client_output_buffer_limit: [BufferLimit; 3],
    /// `maxmemory` in bytes (0 = no limit).
    maxmemory: u64,
    /// `maxmemory-policy`.
    maxmemory_policy: MaxmemoryPolicy,
    /// `maxmemory-samples`.
    maxmemory_samples: u32,
    /// `maxmemory-eviction-tenacity`.
    maxmemory_eviction_tenacity: u32,
    /// `busy-reply-threshold` (alias `lua-time-limit`) in milliseconds.
    busy_reply_threshold: u64,

    // Keyspace.
    /// `notify-keyspace-events`, normalised as Redis prints it (e.g. `AKE`).
    notify_keyspace_events: String,
    /// `notify-keyspace-events` parsed: [`notify`] bits.
    notify_keyspace_events_flags: u32,
    /// `active-expire-effort` (1..=10).
    active_expire_effort: u32,
    /// `activerehashing`.
    activerehashing: bool,
    /// `lazyfree-lazy-eviction`.
    lazyfree_lazy_eviction: bool,
    /// `lazyfree-lazy-expire`.
    lazyfree_lazy_expire: bool,
    /// `lazyfree-lazy-server-del`.
    lazyfree_lazy_server_del: bool,
    /// `lazyfree-lazy-user-del`.
    lazyfree_lazy_user_del: bool,
    /// `lazyfree-lazy-user-flush`.
    lazyfree_lazy_user_flush: bool,
    /// `lfu-log-factor`.
    lfu_log_factor: u32,
    /// `lfu-decay-time` in minutes.
    lfu_decay_time: u64,
    /// `tracking-table-max-keys`.
    tracking_table_max_keys: u64,

    // Encodings.
    /// `list-max-listpack-size` (alias `list-max-ziplist-size`).
    list_max_listpack_size: i64,
    /// `list-compress-depth`.
    list_compress_depth: u64,
    /// `hash-max-listpack-entries` (alias `hash-max-ziplist-entries`).
    hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value` (alias `hash-max-ziplist-value`).
    hash_max_listpack_value: u64,
    /// `set-max-intset-entries`.
    set_max_intset_entries: u64,
    /// `zset-max-listpack-entries` (alias `zset-max-ziplist-entries`).
    zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value` (alias `zset-max-ziplist-value`).
    zset_max_listpack_value: u64,
    /// `stream-node-max-bytes`.
    stream_node_max_bytes: u64,
    /// `stream-node-max-entries`.
    stream_node_max_entries: u64,
    /// `hll-sparse-max-bytes`.
    hll_sparse_max_bytes: u64,

    // Monitoring.
    /// `slowlog-log-slower-than` in microseconds (-1 = off).
    slowlog_log_slower_than: i64,
    /// `slowlog-max-len`.
    slowlog_max_len: u64,
    /// `latency-monitor-threshold` in milliseconds (0 = off).
    latency_monitor_threshold: u64,
    /// `latency-tracking`.
    latency_tracking: bool,
    /// `latency-tracking-info-percentiles`.
    latency_tracking_info_percentiles: Vec<f64>,
    /// `acllog-max-len`.
    acllog_max_len: u64,

    // Persistence.
    /// `save`: (seconds, changes) save points.
    save: Vec<(i64, i64)>,
    /// `dbfilename`.
    dbfilename: String,
    /// `rdbcompression`.
    rdbcompression: bool,
    /// `rdbchecksum`.
    rdbchecksum: bool,
    /// `stop-writes-on-bgsave-error`.
    stop_writes_on_bgsave_error: bool,
    /// `appendonly`.
    appendonly: bool,
    /// `appendfilename`.
    appendfilename: String,
    /// `appenddirname`.
    appenddirname: String,
    /// `appendfsync`.
    appendfsync: AppendFsync,
    /// `aof-load-truncated`.
    aof_load_truncated: bool,
    /// `aof-use-rdb-preamble`.
    aof_use_rdb_preamble: bool,
    /// `auto-aof-rewrite-percentage`.
    auto_aof_rewrite_percentage: i64,
    /// `auto-aof-rewrite-min-size` in bytes.
    auto_aof_rewrite_min_size: i64,

    /// The configuration file, as an absolute path (None = started without one).
    config_file: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// A directive's value in its table form.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Bool(bool),
    Int(i64),
    Str(Option<Vec<u8>>),
    Enum(i32),
}

type Getter = fn(&Config) -> Val;
type Setter = fn(&mut Config, Val);
type SpecialSet = fn(&mut Config, &[&[u8]]) -> Result<(), String>;

/// Where a directive's value lives.
enum Slot {
    /// A typed field of [`Config`].
    Field(Getter, Setter),
    /// The private map of reported-only values.
    Other,
}

/// A directive with its own parsing, formatting and rewriting.
struct Special {
    set: SpecialSet,
    get: fn(&Config) -> Vec<u8>,
    rewrite: fn(&Config, &mut Rewrite),
    /// The default, as CONFIG SET would take it (None = keep [`Config::blank`]'s value).
    default: Option<&'static str>,
}

/// Numeric flags: memory units accepted and printed in bytes, percent accepted (stored
/// negative), octal, and bounds compared as unsigned (C unsigned types).
const MEM: u8 = 1;
const PCT: u8 = 2;
const OCT: u8 = 4;
const UNS: u8 = 8;

enum Kind {
    Bool(bool),
    Int {
        min: i64,
        max: i64,
        default: i64,
        flags: u8,
    },
    /// `nullable`: an empty value is stored as "not set".
    Str {
        default: Option<&'static str>,
        nullable: bool,
    },
    /// `bitflags`: several names may be given and are OR-ed (`shutdown-on-sigint`).
    Enum {
        names: &'static [(&'static str, i32)],
        default: i32,
        bitflags: bool,
    },
    Special(&'static Special),
}

/// Directive flags.
const MUT: u8 = 0;
const IMMUTABLE: u8 = 1;
const PROTECTED: u8 = 2;
const HIDDEN: u8 = 4;
const MULTI: u8 = 8;
const SENSITIVE: u8 = 16;

/// One row of the configuration table.
struct Param {
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    kind: Kind,
    slot: Slot,
}

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LLONG_MAX: i64 = i64::MAX;
/// `ULLONG_MAX` as stored (compared unsigned).
const ULLONG_MAX: i64 = -1;
const KB: i64 = 1024;
const MB: i64 = 1024 * 1024;

const fn p(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    kind: Kind,
    slot: Slot,
) -> Param {
    Param {
        name,
        alias,
        flags,
        kind,
        slot,
    }
}
const fn boolean(default: bool) -> Kind {
    Kind::Bool(default)
}
const fn int(min: i64, max: i64, default: i64) -> Kind {
    Kind::Int {
        min,
        max,
        default,
        flags: 0,
    }
}
const fn uint(min: i64, max: i64, default: i64) -> Kind {
    Kind::Int {
        min,
        max,
        default,
        flags: UNS,
    }
}
const fn mem(min: i64, max: i64, default: i64) -> Kind {
    Kind::Int {
        min,
        max,
        default,
        flags: MEM,
    }
}
const fn umem(min: i64, max: i64, default: i64) -> Kind {
    Kind::Int {
        min,
        max,
        default,
        flags: MEM | UNS,
    }
}
const fn string(default: &'static str) -> Kind {
    Kind::Str {
        default: Some(default),
        nullable: false,
    }
}
const fn nullable() -> Kind {
    Kind::Str {
        default: None,
        nullable: true,
    }
}
const fn one_of(names: &'static [(&'static str, i32)], default: i32) -> Kind {
    Kind::Enum {
        names,
        default,
        bitflags: false,
    }
}
const fn special(s: &'static Special) -> Kind {
    Kind::Special(s)
}

/// Converts between a typed field and [`Val`].
trait StrField {
    fn to_val(&self) -> Option<Vec<u8>>;
    fn from_val(v: Option<Vec<u8>>) -> Self;
}
impl StrField for Option<Vec<u8>> {
    fn to_val(&self) -> Option<Vec<u8>> {
        self.clone()
    }
    fn from_val(v: Option<Vec<u8>>) -> Self {
        v
    }
}
impl StrField for Option<String> {
    fn to_val(&self) -> Option<Vec<u8>> {
        self.as_ref().map(|s| s.as_bytes().to_vec())
    }
    fn from_val(v: Option<Vec<u8>>) -> Self {
        v.map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}
impl StrField for String {
    fn to_val(&self) -> Option<Vec<u8>> {
        Some(self.as_bytes().to_vec())
    }
    fn from_val(v: Option<Vec<u8>>) -> Self {
        String::from_utf8_lossy(&v.unwrap_or_default()).into_owned()
    }
}

/// A [`Slot::Field`] for a typed field.
macro_rules! f {
    (bool $f:ident) => {
        Slot::Field(
            |c| Val::Bool(c.$f),
            |c, v| {
                if let Val::Bool(b) = v {
                    c.$f = b
                }
            },
        )
    };
    (int $f:ident) => {
        Slot::Field(
            |c| Val::Int(c.$f as i64),
            |c, v| {
                if let Val::Int(i) = v {
                    c.$f = i as _
                }
            },
        )
    };
    (str $f:ident) => {
        Slot::Field(
            |c| Val::Str(c.$f.to_val()),
            |c, v| {
                if let Val::Str(s) = v {
                    c.$f = StrField::from_val(s)
                }
            },
        )
    };
    (enum $f:ident) => {
        Slot::Field(
            |c| Val::Enum(c.$f.to_i32()),
            |c, v| {
                if let Val::Enum(i) = v {
                    c.$f = EnumVal::from_i32(i)
                }
            },
        )
    };
    (flags $f:ident) => {
        Slot::Field(
            |c| Val::Enum(c.$f as i32),
            |c, v| {
                if let Val::Enum(i) = v {
                    c.$f = i as u32
                }
            },
        )
    };
}

const O: Slot = Slot::Other;
const N: Option<&str> = None;

const SUPERVISED_NO: i32 = Supervised::No as i32;
const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
const CLUSTER_ENDPOINT_TYPE: &[(&str, i32)] =
    &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] =
    &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
const SHUTDOWN_ON_SIG: &[(&str, i32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
const SHUTDOWN_FLAGS: Kind = Kind::Enum {
    names: SHUTDOWN_ON_SIG,
    default: 0,
    bitflags: true,
};

/// Every directive of Redis 7.0.15 (as Debian builds it, TLS included), one row each:
/// name, alias, flags, kind with bounds and default, storage.
#[rustfmt::skip]
static PARAMS: &[Param] = &[
    // Booleans.
    p("rdbchecksum", N, IMMUTABLE, boolean(true), f!(bool rdbchecksum)),
    p("daemonize", N, IMMUTABLE, boolean(false), f!(bool daemonize)),
    p("io-threads-do-reads", N, IMMUTABLE, boolean(false), O),
    p("always-show-logo", N, IMMUTABLE, boolean(false), O),
    p("protected-mode", N, MUT, boolean(true), f!(bool protected_mode)),
    p("rdbcompression", N, MUT, boolean(true), f!(bool rdbcompression)),
    p("rdb-del-sync-files", N, MUT, boolean(false), O),
    p("activerehashing", N, MUT, boolean(true), f!(bool activerehashing)),
    p("stop-writes-on-bgsave-error", N, MUT, boolean(true), f!(bool stop_writes_on_bgsave_error)),
    p("set-proc-title", N, IMMUTABLE, boolean(true), O),
    p("dynamic-hz", N, MUT, boolean(true), f!(bool dynamic_hz)),
    p("lazyfree-lazy-eviction", N, MUT, boolean(false), f!(bool lazyfree_lazy_eviction)),
    p("lazyfree-lazy-expire", N, MUT, boolean(false), f!(bool lazyfree_lazy_expire)),
    p("lazyfree-lazy-server-del", N, MUT, boolean(false), f!(bool lazyfree_lazy_server_del)),
    p("lazyfree-lazy-user-del", N, MUT, boolean(false), f!(bool lazyfree_lazy_user_del)),
    p("lazyfree-lazy-user-flush", N, MUT, boolean(false), f!(bool lazyfree_lazy_user_flush)),
    p("repl-disable-tcp-nodelay", N, MUT, boolean(false), O),
    p("repl-diskless-sync", N, MUT, boolean(true), f!(bool repl_diskless_sync)),
    p("aof-rewrite-incremental-fsync", N, MUT, boolean(true), O),
    p("no-appendfsync-on-rewrite", N, MUT, boolean(false), O),
    p("cluster-require-full-coverage", N, MUT, boolean(true), O),
    p("rdb-save-incremental-fsync", N, MUT, boolean(true), O),
    p("aof-load-truncated", N, MUT, boolean(true), f!(bool aof_load_truncated)),
    p("aof-use-rdb-preamble", N, MUT, boolean(true), f!(bool aof_use_rdb_preamble)),
    p("aof-timestamp-enabled", N, MUT, boolean(false), O),
    p("cluster-replica-no-failover", Some("cluster-slave-no-failover"), MUT, boolean(false), O),
    p("replica-lazy-flush", Some("slave-lazy-flush"), MUT, boolean(false), f!(bool replica_lazy_flush)),
    p("replica-serve-stale-data", Some("slave-serve-stale-data"), MUT, boolean(true), f!(bool replica_serve_stale_data)),
    p("replica-read-only", Some("slave-read-only"), MUT, boolean(true), f!(bool replica_read_only)),
    p("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), MUT, boolean(true), f!(bool replica_ignore_maxmemory)),
    p("jemalloc-bg-thread", N, MUT, boolean(true), O),
    p("activedefrag", N, MUT, boolean(false), O),
    p("syslog-enabled", N, IMMUTABLE, boolean(false), O),
    p("cluster-enabled", N, IMMUTABLE, boolean(false), O),
    p("appendonly", N, MUT, boolean(false), f!(bool appendonly)),
    p("cluster-allow-reads-when-down", N, MUT, boolean(false), O),
    p("cluster-allow-pubsubshard-when-down", N, MUT, boolean(true), O),
    p("crash-log-enabled", N, MUT, boolean(true), O),
    p("crash-memcheck-enabled", N, MUT, boolean(true), O),
    p("use-exit-on-panic", N, MUT | HIDDEN, boolean(false), O),
    p("disable-thp", N, IMMUTABLE, boolean(true), O),
    p("cluster-allow-replica-migration", N, MUT, boolean(true), O),
    p("replica-announced", N, MUT, boolean(true), f!(bool replica_announced)),
    p("latency-tracking", N, MUT, boolean(true), f!(bool latency_tracking)),
    p("aof-disable-auto-gc", N, MUT, boolean(false), O),
    p("replica-ignore-disk-write-errors", N, MUT, boolean(false), O),
    p("tls-cluster", N, MUT, boolean(false), O),
    p("tls-replication", N, MUT, boolean(false), O),
    p("tls-prefer-server-ciphers", N, MUT, boolean(false), O),
    p("tls-session-caching", N, MUT, boolean(true), O),
    // Strings.
    p("aclfile", N, IMMUTABLE, string(""), O),
    p("unixsocket", N, IMMUTABLE, nullable(), f!(str unixsocket)),
    p("pidfile", N, IMMUTABLE, nullable(), f!(str pidfile)),
    p("replica-announce-ip", Some("slave-announce-ip"), MUT, nullable(), f!(str replica_announce_ip)),
    p("masteruser", N, MUT | SENSITIVE, nullable(), f!(str masteruser)),
    p("cluster-announce-ip", N, MUT, nullable(), O),
    p("cluster-config-file", N, IMMUTABLE, string("nodes.conf"), O),
    p("cluster-announce-hostname", N, MUT, nullable(), O),
    p("syslog-ident", N, IMMUTABLE, string("redis"), O),
    p("dbfilename", N, MUT | PROTECTED, string("dump.rdb"), f!(str dbfilename)),
    p("appendfilename", N, IMMUTABLE, string("appendonly.aof"), f!(str appendfilename)),
    p("appenddirname", N, IMMUTABLE, string("appendonlydir"), f!(str appenddirname)),
    p("server_cpulist", N, IMMUTABLE, nullable(), O),
    p("bio_cpulist", N, IMMUTABLE, nullable(), O),
    p("aof_rewrite_cpulist", N, IMMUTABLE, nullable(), O),
    p("bgsave_cpulist", N, IMMUTABLE, nullable(), O),
    p("ignore-warnings", N, MUT, string(""), O),
    p("proc-title-template", N, MUT, string("{title} {listen-addr} {server-mode}"), O),
    p("bind-source-addr", N, MUT, nullable(), O),
    p("logfile", N, IMMUTABLE, string(""), f!(str logfile)),
    p("masterauth", N, MUT | SENSITIVE, nullable(), f!(str masterauth)),
    p("requirepass", N, MUT | SENSITIVE, nullable(), f!(str requirepass)),
    p("tls-cert-file", N, MUT, nullable(), O),
    p("tls-key-file", N, MUT, nullable(), O),
    p("tls-key-file-pass", N, MUT | SENSITIVE, nullable(), O),
    p("tls-client-cert-file", N, MUT, nullable(), O),
    p("tls-client-key-file", N, MUT, nullable(), O),
    p("tls-client-key-file-pass", N, MUT | SENSITIVE, nullable(), O),
    p("tls-dh-params-file", N, MUT, nullable(), O),
    p("tls-ca-cert-file", N, MUT, nullable(), O),
    p("tls-ca-cert-dir", N, MUT, nullable(), O),
    p("tls-protocols", N, MUT, nullable(), O),
    p("tls-ciphers", N, MUT, nullable(), O),
    p("tls-ciphersuites", N, MUT, nullable(), O),
    // Enums.
    p("supervised", N, IMMUTABLE, one_of(SUPERVISED, SUPERVISED_NO), f!(enum supervised)),
    p("syslog-facility", N, IMMUTABLE, one_of(SYSLOG_FACILITY, 128), O),
    p("repl-diskless-load", N, MUT, one_of(REPL_DISKLESS_LOAD, 0), O),
    p("loglevel", N, MUT, one_of(LOGLEVEL, LogLevel::Notice as i32), f!(enum loglevel)),
    p("maxmemory-policy", N, MUT, one_of(MAXMEMORY_POLICY, MaxmemoryPolicy::Noeviction as i32), f!(enum maxmemory_policy)),
    p("appendfsync", N, MUT, one_of(APPENDFSYNC, AppendFsync::Everysec as i32), f!(enum appendfsync)),
    p("oom-score-adj", N, MUT, one_of(OOM_SCORE_ADJ, 0), O),
    p("acl-pubsub-default", N, MUT, one_of(ACL_PUBSUB_DEFAULT, 0), O),
    p("sanitize-dump-payload", N, MUT, one_of(SANITIZE_DUMP_PAYLOAD, 0), O),
    p("enable-protected-configs", N, IMMUTABLE, one_of(PROTECTED_ACTION, 0), f!(enum enable_protected_configs)),
    p("enable-debug-command", N, IMMUTABLE, one_of(PROTECTED_ACTION, 0), f!(enum enable_debug_command)),
    p("enable-module-command", N, IMMUTABLE, one_of(PROTECTED_ACTION, 0), f!(enum enable_module_command)),
    p("cluster-preferred-endpoint-type", N, MUT, one_of(CLUSTER_ENDPOINT_TYPE, 0), O),
    p("propagation-error-behavior", N, MUT, one_of(PROPAGATION_ERROR_BEHAVIOR, 0), O),
    p("shutdown-on-sigint", N, MUT | MULTI, SHUTDOWN_FLAGS, f!(flags shutdown_on_sigint)),
    p("shutdown-on-sigterm", N, MUT | MULTI, SHUTDOWN_FLAGS, f!(flags shutdown_on_sigterm)),
    p("tls-auth-clients", N, MUT, one_of(TLS_AUTH_CLIENTS, 1), O),
    // Integers (signed bounds unless `uint`/`umem`).
    p("databases", N, IMMUTABLE, int(1, INT_MAX, 16), f!(int databases)),
    p("port", N, MUT, int(0, 65535, 6379), f!(int port)),
    p("io-threads", N, IMMUTABLE, int(1, 128, 1), f!(int io_threads)),
    p("auto-aof-rewrite-percentage", N, MUT, int(0, INT_MAX, 100), f!(int auto_aof_rewrite_percentage)),
    p("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), MUT, int(0, INT_MAX, 10), O),
    p("list-max-listpack-size", Some("list-max-ziplist-size"), MUT, int(INT_MIN, INT_MAX, -2), f!(int list_max_listpack_size)),
    p("tcp-keepalive", N, MUT, int(0, INT_MAX, 300), f!(int tcp_keepalive)),
    p("cluster-migration-barrier", N, MUT, int(0, INT_MAX, 1), O),
    p("active-defrag-cycle-min", N, MUT, int(1, 99, 1), O),
    p("active-defrag-cycle-max", N, MUT, int(1, 99, 25), O),
    p("active-defrag-threshold-lower", N, MUT, int(0, 1000, 10), O),
    p("active-defrag-threshold-upper", N, MUT, int(0, 1000, 100), O),
    p("lfu-log-factor", N, MUT, int(0, INT_MAX, 10), f!(int lfu_log_factor)),
    p("lfu-decay-time", N, MUT, int(0, INT_MAX, 1), f!(int lfu_decay_time)),
    p("replica-priority", Some("slave-priority"), MUT, int(0, INT_MAX, 100), f!(int replica_priority)),
    p("repl-diskless-sync-delay", N, MUT, int(0, INT_MAX, 5), f!(int repl_diskless_sync_delay)),
    p("maxmemory-samples", N, MUT, int(1, INT_MAX, 5), f!(int maxmemory_samples)),
    p("maxmemory-eviction-tenacity", N, MUT, int(0, 100, 10), f!(int maxmemory_eviction_tenacity)),
    p("timeout", N, MUT, int(0, INT_MAX, 0), f!(int timeout)),
    p("replica-announce-port", Some("slave-announce-port"), MUT, int(0, 65535, 0), f!(int replica_announce_port)),
    p("tcp-backlog", N, IMMUTABLE, int(0, INT_MAX, 511), f!(int tcp_backlog)),
    p("cluster-port", N, IMMUTABLE, int(0, 65535, 0), O),
    p("cluster-announce-bus-port", N, MUT, int(0, 65535, 0), O),
    p("cluster-announce-port", N, MUT, int(0, 65535, 0), O),
    p("cluster-announce-tls-port", N, MUT, int(0, 65535, 0), O),
    p("repl-timeout", N, MUT, int(1, INT_MAX, 60), f!(int repl_timeout)),
    p("repl-ping-replica-period", Some("repl-ping-slave-period"), MUT, int(1, INT_MAX, 10), f!(int repl_ping_replica_period)),
    p("list-compress-depth", N, MUT, int(0, INT_MAX, 0), f!(int list_compress_depth)),
    p("rdb-key-save-delay", N, MUT | HIDDEN, int(INT_MIN, INT_MAX, 0), O),
    p("key-load-delay", N, MUT | HIDDEN, int(INT_MIN, INT_MAX, 0), O),
    p("active-expire-effort", N, MUT, int(1, 10, 1), f!(int active_expire_effort)),
    p("hz", N, MUT, int(0, INT_MAX, 10), f!(int hz)),
    p("min-replicas-to-write", Some("min-slaves-to-write"), MUT, int(0, INT_MAX, 0), f!(int min_replicas_to_write)),
    p("min-replicas-max-lag", Some("min-slaves-max-lag"), MUT, int(0, INT_MAX, 10), f!(int min_replicas_max_lag)),
    p("watchdog-period", N, MUT | HIDDEN, int(0, INT_MAX, 0), O),
    p("shutdown-timeout", N, MUT, int(0, INT_MAX, 10), f!(int shutdown_timeout)),
    p("repl-diskless-sync-max-replicas", N, MUT, int(0, INT_MAX, 0), f!(int repl_diskless_sync_max_replicas)),
    p("maxclients", N, MUT, uint(1, UINT_MAX, 10000), f!(int maxclients)),
    p("unixsocketperm", N, IMMUTABLE, Kind::Int { min: 0, max: 0o777, default: 0, flags: OCT | UNS }, f!(int unixsocketperm)),
    p("socket-mark-id", N, IMMUTABLE, uint(0, UINT_MAX, 0), f!(int socket_mark_id)),
    p("active-defrag-max-scan-fields", N, MUT, int(1, LLONG_MAX, 1000), O),
    p("slowlog-max-len", N, MUT, int(0, LLONG_MAX, 128), f!(int slowlog_max_len)),
    p("acllog-max-len", N, MUT, int(0, LLONG_MAX, 128), f!(int acllog_max_len)),
    p("busy-reply-threshold", Some("lua-time-limit"), MUT, int(0, LLONG_MAX, 5000), f!(int busy_reply_threshold)),
    p("cluster-node-timeout", N, MUT, int(0, LLONG_MAX, 15000), O),
    p("slowlog-log-slower-than", N, MUT, int(-1, LLONG_MAX, 10000), f!(int slowlog_log_slower_than)),
    p("latency-monitor-threshold", N, MUT, int(0, LLONG_MAX, 0), f!(int latency_monitor_threshold)),
    p("proto-max-bulk-len", N, MUT, mem(MB, LLONG_MAX, 512 * MB), f!(int proto_max_bulk_len)),
    p("stream-node-max-entries", N, MUT, int(0, LLONG_MAX, 100), f!(int stream_node_max_entries)),
    p("repl-backlog-size", N, MUT, mem(1, LLONG_MAX, MB), f!(int repl_backlog_size)),
    p("maxmemory", N, MUT, umem(0, ULLONG_MAX, 0), f!(int maxmemory)),
    p("cluster-link-sendbuf-limit", N, MUT, umem(0, ULLONG_MAX, 0), O),
    p("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), MUT, uint(0, LLONG_MAX, 512), f!(int hash_max_listpack_entries)),
    p("set-max-intset-entries", N, MUT, uint(0, LLONG_MAX, 512), f!(int set_max_intset_entries)),
    p("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), MUT, uint(0, LLONG_MAX, 128), f!(int zset_max_listpack_entries)),
    p("active-defrag-ignore-bytes", N, MUT, umem(1, LLONG_MAX, 100 * MB), O),
    p("hash-max-listpack-value", Some("hash-max-ziplist-value"), MUT, umem(0, LLONG_MAX, 64), f!(int hash_max_listpack_value)),
    p("stream-node-max-bytes", N, MUT, umem(0, LLONG_MAX, 4 * KB), f!(int stream_node_max_bytes)),
    p("zset-max-listpack-value", Some("zset-max-ziplist-value"), MUT, umem(0, LLONG_MAX, 64), f!(int zset_max_listpack_value)),
    p("hll-sparse-max-bytes", N, MUT, umem(0, LLONG_MAX, 3000), f!(int hll_sparse_max_bytes)),
    p("tracking-table-max-keys", N, MUT, uint(0, LLONG_MAX, 1_000_000), f!(int tracking_table_max_keys)),
    p("client-query-buffer-limit", N, MUT, umem(MB, LLONG_MAX, 1024 * MB), f!(int client_query_buffer_limit)),
    p("maxmemory-clients", N, MUT, Kind::Int { min: -100, max: LLONG_MAX, default: 0, flags: MEM | PCT }, O),
    p("repl-backlog-ttl", N, MUT, int(0, LLONG_MAX, 3600), f!(int repl_backlog_ttl)),
    p("auto-aof-rewrite-min-size", N, MUT, mem(0, LLONG_MAX, 64 * MB), f!(int auto_aof_rewrite_min_size)),
    p("loading-process-events-interval-bytes", N, MUT | HIDDEN, int(1024, INT_MAX, 2 * MB), O),
    p("tls-port", N, MUT, int(0, 65535, 0), O),
    p("tls-session-cache-size", N, MUT, int(0, INT_MAX, 20480), O),
    p("tls-session-cache-timeout", N, MUT, int(0, INT_MAX, 300), O),
    // Directives with their own syntax.
    p("dir", N, MUT | PROTECTED, special(&DIR), O),
    p("save", N, MUT | MULTI, special(&SAVE), O),
    p("client-output-buffer-limit", N, MUT | MULTI, special(&OBUF), O),
    p("oom-score-adj-values", N, MUT | MULTI, special(&OOM_VALUES), O),
    p("notify-keyspace-events", N, MUT, special(&NOTIFY), O),
    p("bind", N, MUT | MULTI, special(&BIND), O),
    p("replicaof", Some("slaveof"), IMMUTABLE | MULTI, special(&REPLICAOF), O),
    p("latency-tracking-info-percentiles", N, MUT | MULTI, special(&PERCENTILES), O),
];

/// Names known to the config file parser but not to the table (kept by CONFIG REWRITE).
const FILE_ONLY_DIRECTIVES: &[&str] = &[
    "include",
    "rename-command",
    "user",
    "loadmodule",
    "sentinel",
];

/// The table row and whether `name` is its alias, case-insensitively.
fn lookup(name: &[u8]) -> Option<(&'static Param, bool)> {
    static INDEX: OnceLock<HashMap<&'static str, (usize, bool)>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = HashMap::new();
        for (i, p) in PARAMS.iter().enumerate() {
            m.insert(p.name, (i, false));
            if let Some(a) = p.alias {
                m.insert(a, (i, true));
            }
        }
        m
    });
    let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    index
        .get(lower.as_str())
        .map(|&(i, alias)| (&PARAMS[i], alias))
}

/// Whether a directive's value must be redacted from logs, SLOWLOG and MONITOR.
pub fn is_sensitive(name: &[u8]) -> bool {
    lookup(name).is_some_and(|(p, _)| p.flags & SENSITIVE != 0)
}

// ---------------------------------------------------------------------------------------------
// Values: get, set, defaults
// ---------------------------------------------------------------------------------------------

/// What Redoubt refuses because the feature is not built yet.
fn unsupported(what: &str) -> String {
    format!("Unsupported by Redoubt (not built yet): {what}")
}

impl Default for Config {
    /// Redis 7.0's defaults (except `save`, empty until snapshots are built), `dir` being the
    /// current directory.
    fn default() -> Self {
        let mut c = Config::blank();
        c.dir = std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        for p in PARAMS {
            match &p.kind {
                Kind::Bool(d) => c.store(p, Val::Bool(*d)),
                Kind::Int { default, .. } => c.store(p, Val::Int(*default)),
                Kind::Str { default, .. } => {
                    c.store(p, Val::Str(default.map(|d| d.as_bytes().to_vec())))
                }
                Kind::Enum { default, .. } => c.store(p, Val::Enum(*default)),
                Kind::Special(s) => {
                    if let Some(d) = s.default {
                        let args = split_spaces(d.as_bytes());
                        let _ = (s.set)(&mut c, &args);
                    }
                }
            }
        }
        c
    }
}

impl Config {
    fn store(&mut self, p: &'static Param, v: Val) {
        match p.slot {
            Slot::Field(_, set) => set(self, v),
            Slot::Other => {
                self.other.insert(p.name, v);
            }
        }
    }

    fn fetch(&self, p: &Param) -> Val {
        match p.slot {
            Slot::Field(get, _) => get(self),
            Slot::Other => self.other.get(p.name).cloned().unwrap_or(Val::Str(None)),
        }
    }

    fn other_bool(&self, name: &str) -> bool {
        matches!(self.other.get(name), Some(Val::Bool(true)))
    }

    /// `repl-diskless-load`: 0 disabled (through a file), 1 on-empty-db, 2 swapdb.
    pub fn repl_diskless_load(&self) -> i64 {
        self.other_int("repl-diskless-load")
    }

    fn other_int(&self, name: &str) -> i64 {
        match self.other.get(name) {
            Some(Val::Int(i)) => *i,
            Some(Val::Enum(i)) => *i as i64,
            _ => 0,
        }
    }

    /// The value CONFIG GET reports for `p`.
    fn value_of(&self, p: &Param) -> Vec<u8> {
        match (&p.kind, self.fetch(p)) {
            (Kind::Special(s), _) => (s.get)(self),
            (Kind::Bool(_), Val::Bool(b)) => yes_no(b).as_bytes().to_vec(),
            (Kind::Int { flags, .. }, Val::Int(v)) => format_int(v, *flags).into_bytes(),
            (
                Kind::Enum {
                    names, bitflags, ..
                },
                Val::Enum(v),
            ) => enum_name(names, v, *bitflags)
                .unwrap_or_else(|| "unknown".into())
                .into_bytes(),
            (_, Val::Str(s)) => s.unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Sets `p` from its arguments (one, unless MULTI), then validates the result.
    fn set_param(&mut self, p: &'static Param, args: &[&[u8]]) -> Result<(), String> {
        let arg = args.first().copied().unwrap_or_default();
        match &p.kind {
            Kind::Bool(_) => {
                let b = parse_yes_no(arg).ok_or("argument must be 'yes' or 'no'")?;
                self.store(p, Val::Bool(b));
            }
            Kind::Int {
                min, max, flags, ..
            } => {
                let v = parse_numeric(arg, *flags)?;
                check_bounds(v, *min, *max, *flags)?;
                self.store(p, Val::Int(v));
            }
            Kind::Str { nullable, .. } => {
                let v = if *nullable && arg.is_empty() {
                    None
                } else {
                    Some(arg.to_vec())
                };
                self.store(p, Val::Str(v));
            }
            Kind::Enum {
                names, bitflags, ..
            } => {
                let v = parse_enum(names, args, *bitflags).ok_or_else(|| enum_error(names))?;
                self.store(p, Val::Enum(v));
            }
            Kind::Special(s) => (s.set)(self, args)?,
        }
        self.check(p.name)
    }

    /// Validation after `name` was set: Redis's value checks, hz clamping, and the refusal of
    /// features Redoubt has not built yet (lift a refusal here when its feature lands).
    fn check(&mut self, name: &str) -> Result<(), String> {
        let err = |e: &str| Err(e.to_string());
        match name {
            "hz" => self.hz = self.hz.clamp(1, 500),
            "dbfilename" if !is_basename(&self.dbfilename) => {
                return err("dbfilename can't be a path, just a filename")
            }
            "appendfilename" if self.appendfilename.is_empty() => return err("appendfilename can't be empty"),
            "appendfilename" if !is_basename(&self.appendfilename) => {
                return err("appendfilename can't be a path, just a filename")
            }
            "appenddirname" if self.appenddirname.is_empty() => return err("appenddirname can't be empty"),
            "appenddirname" if !is_basename(&self.appenddirname) => {
                return err("appenddirname can't be a path, just a dirname")
            }
            "cluster-announce-hostname" => {
                if let Some(Val::Str(Some(h))) = self.other.get(name) {
                    if h.len() >= 256 {
                        return err("Hostnames must be less than 256 characters");
                    }
                    if !h.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.') {
                        return err("Hostnames may only contain alphanumeric characters, hyphens or dots");
                    }
                }
            }
            "proc-title-template" => {
                let t = match self.other.get(name) {
                    Some(Val::Str(Some(t))) => t.clone(),
                    _ => Vec::new(),
                };
                if !self.valid_proc_title_template(&t) {
                    return err("template format is invalid or contains unknown variables");
                }
            }
            "shutdown-on-sigint" | "shutdown-on-sigterm" => {
                let v = if name == "shutdown-on-sigint" { self.shutdown_on_sigint } else { self.shutdown_on_sigterm };
                if v & shutdown::SAVE != 0 && v & shutdown::NOSAVE != 0 {
                    return err("shutdown options SAVE and NOSAVE can't be used simultaneously");
                }
            }
            "activedefrag" if self.other_bool(name) => {
                return err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution")
            }
            // Not built yet.
            "cluster-enabled" if self.other_bool(name) => return Err(unsupported("cluster mode (cluster-enabled yes)")),
            "tls-port" if self.other_int(name) != 0 => return Err(unsupported("TLS (tls-port)")),
            "tls-replication" | "tls-cluster" if self.other_bool(name) => return Err(unsupported(&format!("TLS ({name} yes)"))),
            "aclfile" if !matches!(self.other.get(name), Some(Val::Str(Some(s))) if s.is_empty()) => {
                return Err(unsupported("ACL files (aclfile)"))
            }
            "syslog-enabled" if self.other_bool(name) => return Err(unsupported("syslog logging (syslog-enabled yes)")),
            "supervised" if self.supervised != Supervised::No => {
                return Err(unsupported("supervision by upstart/systemd (supervised)"))
            }
            "oom-score-adj" if self.other_int(name) != 0 => return Err(unsupported("OOM score adjustment (oom-score-adj)")),
            "maxmemory-clients" if self.other_int(name) != 0 => return Err(unsupported("client eviction (maxmemory-clients)")),
            "maxmemory" | "maxmemory-policy"
                if self.maxmemory != 0 && self.maxmemory_policy != MaxmemoryPolicy::Noeviction =>
            {
                return Err(unsupported("eviction (maxmemory with a policy other than noeviction)"))
            }
            "list-compress-depth" if self.list_compress_depth != 0 => {
                return Err(unsupported("list node compression (list-compress-depth)"))
            }
            _ => {}
        }
        Ok(())
    }

    /// Redis's `validateProcTitleTemplate`: every `{variable}` known and a non-empty result.
    fn valid_proc_title_template(&self, t: &[u8]) -> bool {
        let mut out = Vec::new();
        let mut i = 0;
        while i < t.len() {
            if t[i] != b'{' {
                out.push(t[i]);
                i += 1;
                continue;
            }
            match t.get(i + 1) {
                None => return false,
                Some(b'{') => {
                    out.push(b'{');
                    i += 2;
                    continue;
                }
                Some(_) => {}
            }
            let Some(end) = t[i + 1..].iter().position(|&c| c == b'}') else {
                return false;
            };
            let var = &t[i + 1..i + 1 + end];
            let value: Vec<u8> = match var {
                b"title" => Vec::new(),
                b"listen-addr" => {
                    if self.port != 0 || self.other_int("tls-port") != 0 {
                        let port = if self.port != 0 {
                            self.port as i64
                        } else {
                            self.other_int("tls-port")
                        };
                        format!("{}:{}", self.bind.first().map_or("*", |s| s.as_str()), port)
                            .into_bytes()
                    } else {
                        format!(
                            "unixsocket:{}",
                            self.unixsocket.as_deref().unwrap_or_default()
                        )
                        .into_bytes()
                    }
                }
                b"server-mode" => {
                    if self.other_bool("cluster-enabled") {
                        b"[cluster]".to_vec()
                    } else {
                        Vec::new()
                    }
                }
                b"config-file" => self
                    .config_file
                    .as_deref()
                    .unwrap_or("-")
                    .as_bytes()
                    .to_vec(),
                b"port" => self.port.to_string().into_bytes(),
                b"tls-port" => self.other_int("tls-port").to_string().into_bytes(),
                b"unixsocket" => self
                    .unixsocket
                    .as_deref()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec(),
                _ => return false,
            };
            out.extend(value);
            i += end + 2;
        }
        out.iter().any(|&c| c != b' ')
    }
}

// ---------------------------------------------------------------------------------------------
// Special directives
// ---------------------------------------------------------------------------------------------

const DEFAULT_BIND: [&str; 2] = ["*", "-::*"];
const DEFAULT_OBUF: [BufferLimit; 3] = [
    BufferLimit {
        hard: 0,
        soft: 0,
        soft_seconds: 0,
    },
    BufferLimit {
        hard: 256 << 20,
        soft: 64 << 20,
        soft_seconds: 60,
    },
    BufferLimit {
        hard: 32 << 20,
        soft: 8 << 20,
        soft_seconds: 60,
    },
];
const DEFAULT_OOM_VALUES: [i64; 3] = [0, 200, 800];

static BIND: Special = Special {
    set: |c, args| {
        if args.len() > 16 {
            return Err("Too many bind addresses specified.".into());
        }
        let args = if args.len() == 1 && args[0].is_empty() {
            &[][..]
        } else {
            args
        };
        c.bind = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        Ok(())
    },
    get: |c| c.bind.join(" ").into_bytes(),
    rewrite: |c, rw| {
        if c.bind.iter().map(String::as_str).eq(DEFAULT_BIND) {
            return rw.mark("bind");
        }
        let addrs = if c.bind.is_empty() {
            "\"\"".to_string()
        } else {
            c.bind.join(" ")
        };
        rw.line("bind", format!("bind {addrs}").into_bytes(), true);
    },
    default: Some("* -::*"),
};

static SAVE: Special = Special {
    set: |c, args| {
        let args = if args.len() == 1 && args[0].is_empty() {
            &[][..]
        } else {
            args
        };
        if args.len() % 2 == 1 {
            return Err("Invalid save parameters".into());
        }
        let mut points = Vec::new();
        for pair in args.chunks(2) {
            let (secs, end1) = c_strtoll(pair[0], 10);
            let (changes, end2) = c_strtoll(pair[1], 10);
            if end1 != pair[0].len() || end2 != pair[1].len() || secs < 1 || changes < 0 {
                return Err("Invalid save parameters".into());
            }
            points.push((secs, changes as i32 as i64));
        }
        // While loading, the first `save` line replaces the defaults and later ones append.
        match c.loading.as_mut() {
            Some(l) if l.save_seen => {}
            Some(l) => {
                l.save_seen = true;
                c.save.clear();
            }
            None => c.save.clear(),
        }
        c.save.extend(points);
        Ok(())
    },
    get: |c| {
        c.save
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes()
    },
    rewrite: |c, rw| {
        if c.save.is_empty() {
            rw.line("save", b"save \"\"".to_vec(), true);
        }
        for (s, n) in &c.save {
            rw.line("save", format!("save {s} {n}").into_bytes(), true);
        }
        rw.mark("save");
    },
    default: Some("3600 1 300 100 60 10000"),
};

const CLIENT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

static OBUF: Special = Special {
    set: |c, args| {
        if args.len() % 4 != 0 {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        }
        let mut new = c.client_output_buffer_limit;
        for a in args.chunks(4) {
            let class = match a[0].to_ascii_lowercase().as_slice() {
                b"normal" => 0,
                b"slave" | b"replica" => 1,
                b"pubsub" => 2,
                _ => {
                    return Err(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    )
                }
            };
            let (secs, end) = c_strtoll(a[3], 10);
            let secs = secs as i32;
            match (memtoull(a[1]), memtoull(a[2])) {
                (Some(hard), Some(soft)) if secs >= 0 && end == a[3].len() => {
                    new[class] = BufferLimit {
                        hard,
                        soft,
                        soft_seconds: secs as u64,
                    }
                }
                _ => return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                ),
            }
        }
        c.client_output_buffer_limit = new;
        Ok(())
    },
    get: |c| {
        let parts: Vec<String> = c
            .client_output_buffer_limit
            .iter()
            .zip(CLIENT_CLASSES)
            .map(|(l, n)| format!("{n} {} {} {}", l.hard, l.soft, l.soft_seconds))
            .collect();
        parts.join(" ").into_bytes()
    },
    rewrite: |c, rw| {
        for (j, l) in c.client_output_buffer_limit.iter().enumerate() {
            let name = if j == 1 { "replica" } else { CLIENT_CLASSES[j] };
            let line = format!(
                "client-output-buffer-limit {name} {} {} {}",
                format_memory(l.hard),
                format_memory(l.soft),
                l.soft_seconds
            );
            rw.line(
                "client-output-buffer-limit",
                line.into_bytes(),
                *l != DEFAULT_OBUF[j],
            );
        }
    },
    default: Some("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
};

static OOM_VALUES: Special = Special {
    set: |c, args| {
        if args.len() != 3 {
            return Err("wrong number of arguments".into());
        }
        let mut v = [0i64; 3];
        for (slot, a) in v.iter_mut().zip(args) {
            let (n, end) = c_strtoll(a, 10);
            if end != a.len() || !(-2000..=2000).contains(&n) {
                return Err(
                    "Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into(),
                );
            }
            *slot = n;
        }
        c.oom_score_adj_values = v;
        Ok(())
    },
    get: |c| {
        c.oom_score_adj_values
            .map(|v| v.to_string())
            .join(" ")
            .into_bytes()
    },
    rewrite: |c, rw| {
        let line = format!(
            "oom-score-adj-values {}",
            c.oom_score_adj_values.map(|v| v.to_string()).join(" ")
        );
        rw.line(
            "oom-score-adj-values",
            line.into_bytes(),
            c.oom_score_adj_values != DEFAULT_OOM_VALUES,
        );
    },
    default: Some("0 200 800"),
};

static NOTIFY: Special = Special {
    set: |c, args| {
        if args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        let flags = keyspace_events_from_str(args[0])
            .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
        c.notify_keyspace_events_flags = flags;
        c.notify_keyspace_events = keyspace_events_to_string(flags);
        Ok(())
    },
    get: |c| c.notify_keyspace_events.as_bytes().to_vec(),
    rewrite: |c, rw| {
        let mut line = b"notify-keyspace-events ".to_vec();
        line.extend(repr(c.notify_keyspace_events.as_bytes()));
        rw.line(
            "notify-keyspace-events",
            line,
            c.notify_keyspace_events_flags != 0,
        );
    },
    default: Some(""),
};

static DIR: Special = Special {
    set: |c, args| {
        if args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        c.dir = change_dir(&c.dir, args[0])?;
        Ok(())
    },
    get: |c| c.dir.as_bytes().to_vec(),
    rewrite: |c, rw| {
        let mut line = b"dir ".to_vec();
        line.extend(repr(c.dir.as_bytes()));
        rw.line("dir", line, true);
    },
    default: None,
};

static REPLICAOF: Special = Special {
    set: |c, args| {
        if args.len() != 2 {
            return Err("wrong number of arguments".into());
        }
        c.replicaof = None;
        if args[0].eq_ignore_ascii_case(b"no") && args[1].eq_ignore_ascii_case(b"one") {
            return Ok(());
        }
        let (port, end) = c_strtoll(args[1], 10);
        if end != args[1].len() || !(0..=65535).contains(&port) {
            return Err("Invalid master port".into());
        }
        c.replicaof = Some((String::from_utf8_lossy(args[0]).into_owned(), port as u16));
        Ok(())
    },
    get: |c| {
        c.replicaof
            .as_ref()
            .map_or(String::new(), |(h, p)| format!("{h} {p}"))
            .into_bytes()
    },
    rewrite: |c, rw| match &c.replicaof {
        None => rw.mark("replicaof"),
        Some((h, p)) => rw.line("replicaof", format!("replicaof {h} {p}").into_bytes(), true),
    },
    default: Some("no one"),
};

static PERCENTILES: Special = Special {
    set: |c, args| {
        let args = if args.len() == 1 && args[0].is_empty() {
            &[][..]
        } else {
            args
        };
        let mut v = Vec::with_capacity(args.len());
        for a in args {
            let x = string2d(a).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
            if !(0.0..=100.0).contains(&x) {
                return Err(
                    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                        .into(),
                );
            }
            v.push(x);
        }
        c.latency_tracking_info_percentiles = v;
        Ok(())
    },
    get: |c| {
        let v: Vec<String> = c
            .latency_tracking_info_percentiles
            .iter()
            .map(|x| format_percentile(*x))
            .collect();
        v.join(" ").into_bytes()
    },
    rewrite: |c, rw| {
        let mut line = String::from("latency-tracking-info-percentiles");
        if c.latency_tracking_info_percentiles.is_empty() {
            line.push_str(" \"\"");
        }
        for x in &c.latency_tracking_info_percentiles {
            line.push(' ');
            line.push_str(&format_percentile(*x));
        }
        rw.line("latency-tracking-info-percentiles", line.into_bytes(), true);
    },
    default: Some("50 99 99.9"),
};

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// State kept while loading a configuration.
#[derive(Clone, Debug, Default, PartialEq)]
struct LoadState {
    /// A `save` line was seen (the first one replaces the defaults, later ones append).
    save_seen: bool,
    /// A `user default on nopass ~* &* +@all` line was seen.
    default_user_nopass: bool,
}

/// How deep `include` may nest (Redis has no limit and would overflow its stack).
const MAX_INCLUDE_DEPTH: usize = 64;

/// The text redis-server prints for a fatal configuration error.
fn fatal(at: Option<(usize, &[u8])>, err: &str) -> String {
    let mut s = format!("\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n");
    if let Some((n, line)) = at {
        s.push_str(&format!(
            "Reading the configuration file, at line {n}\n>>> '{}'\n",
            String::from_utf8_lossy(line)
        ));
    }
    s.push_str(err);
    s.push('\n');
    s
}

/// Loads the configuration from redis-server's arguments (after `argv[0]`):
/// `[configfile] [-] [--directive value ...]`, where `-` reads more configuration from stdin.
/// `Err` holds the text to print to stderr before exiting with status 1: Redis's
/// "FATAL CONFIG FILE ERROR" block, or `Fatal error, can't open config file '...': <reason>`
/// (which Redis prints as a log line).
pub fn load(args: &[String]) -> Result<Config, String> {
    let mut cfg = Config::default();
    if args.is_empty() {
        return Ok(cfg);
    }
    let (file, from_stdin, options) = parse_command_line(args);
    let mut content = Vec::new();
    if let Some(f) = file {
        let abs = absolute_path(&f, &cfg.dir);
        content = read_config_source(&abs)?;
        cfg.config_file = Some(abs);
    }
    if from_stdin {
        let _ = std::io::stdin().read_to_end(&mut content);
    }
    content.push(b'\n');
    content.extend(options);
    cfg.load_from_bytes(&content)?;
    Ok(cfg)
}

/// Splits redis-server's arguments as its `main()` does: the config file (a first argument not
/// starting with `-`), whether to read stdin, and the options as config-file lines.
fn parse_command_line(args: &[String]) -> (Option<String>, bool, Vec<u8>) {
    let mut j = 0;
    let mut file = None;
    if !args[0].starts_with('-') {
        file = Some(args[0].clone());
        j = 1;
    }
    let last = args.len() - 1;
    let mut stdin = false;
    let mut options = Vec::new();
    let mut handled_last_arg = true;
    while j < args.len() {
        let a = args[j].as_str();
        let next_is_option = j != last && args[j + 1].starts_with("--");
        if a == "-" && (j == 0 || j == last) {
            stdin = true;
        } else if handled_last_arg && a.starts_with("--") {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(&a.as_bytes()[2..]);
            options.push(b' ');
            let words = resp::split_args(a.as_bytes()).map_or(0, |v| v.len());
            if words == 1 {
                // A bare option name: its value(s) follow.
                handled_last_arg = false;
                if a.eq_ignore_ascii_case("--save") && (next_is_option || j == last) {
                    // `--save` with no value means `save ""`.
                    options.extend_from_slice(b"\"\"");
                    handled_last_arg = true;
                } else if a.eq_ignore_ascii_case("--sentinel") && next_is_option {
                    handled_last_arg = true;
                }
            } else {
                // `"--port 6380"`: name and value in one argument.
                handled_last_arg = true;
            }
        } else {
            options.extend(repr(a.as_bytes()));
            options.push(b' ');
            handled_last_arg = true;
        }
        j += 1;
    }
    (file, stdin, options)
}

/// Redis's `getAbsolutePath`: trims blanks, joins a relative path to `cwd` folding leading `../`.
fn absolute_path(path: &str, cwd: &str) -> String {
    let mut rel = path.trim_matches(|c| matches!(c, ' ' | '\r' | '\n' | '\t'));
    if rel.starts_with('/') {
        return rel.to_string();
    }
    let mut abs = cwd.to_string();
    if !abs.ends_with('/') {
        abs.push('/');
    }
    while let Some(rest) = rel.strip_prefix("../") {
        rel = rest;
        if abs.len() > 1 {
            let trimmed = &abs[..abs.len() - 1];
            abs.truncate(trimmed.rfind('/').map_or(1, |i| i + 1));
        }
    }
    abs + rel
}

/// An I/O error as C's `strerror` prints it.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Reads a config file, or all the files matching it when it has wildcards (none matching is
/// fine). A directory reads as empty, as `fopen`+`fgets` do.
fn read_config_source(path: &str) -> Result<Vec<u8>, String> {
    let paths = if path.contains(['*', '?', '[']) {
        glob_paths(path)
    } else {
        vec![PathBuf::from(path)]
    };
    let mut content = Vec::new();
    for p in paths {
        let open_err = |e: &std::io::Error| {
            format!(
                "Fatal error, can't open config file '{}': {}\n",
                p.to_string_lossy(),
                strerror(e)
            )
        };
        let mut f = std::fs::File::open(&p).map_err(|e| open_err(&e))?;
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            continue;
        }
        f.read_to_end(&mut content).map_err(|e| open_err(&e))?;
    }
    Ok(content)
}

/// The existing paths matching a pattern with wildcards, sorted, as `glob(3)` lists them
/// (wildcards do not match a leading `.`; the pattern syntax is Redis's glob).
pub fn glob_paths(pattern: &str) -> Vec<PathBuf> {
    let mut acc = vec![PathBuf::new()];
    for comp in Path::new(pattern).components() {
        let part = comp.as_os_str().as_bytes();
        if !part.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
            acc.iter_mut().for_each(|p| p.push(comp.as_os_str()));
            continue;
        }
        let mut next = Vec::new();
        for base in &acc {
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<_> = entries
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| {
                    let n = n.as_bytes();
                    (!n.starts_with(b".") || part.starts_with(b".")) && glob_match(part, n, false)
                })
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        acc = next;
    }
    acc.retain(|p| !p.as_os_str().is_empty() && std::fs::symlink_metadata(p).is_ok());
    acc.sort();
    acc
}

impl Config {
    /// Loads configuration text into `self` as a top-level file (the save-line rule and the
    /// final checks apply).
    fn load_from_bytes(&mut self, content: &[u8]) -> Result<(), String> {
        self.loading = Some(LoadState::default());
        let res = self.load_string(content, 0);
        let state = self.loading.take().unwrap_or_default();
        res?;
        if state.default_user_nopass && self.requirepass.is_some() {
            return Err(fatal(
                None,
                &unsupported("ACL users ('user default ... nopass' together with requirepass)"),
            ));
        }
        Ok(())
    }

    /// Redis's `loadServerConfigFromString`.
    fn load_string(&mut self, content: &[u8], depth: usize) -> Result<(), String> {
        for (i, raw) in content.split(|&c| c == b'\n').enumerate() {
            let line = trim(raw, b" \t\r\n");
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let at = Some((i + 1, line));
            let Some(argv) = resp::split_args(line) else {
                return Err(fatal(at, "Unbalanced quotes in configuration line"));
            };
            if argv.is_empty() {
                continue;
            }
            self.load_directive(&argv, depth).map_err(|e| match e {
                LoadError::Here(e) => fatal(at, &e),
                LoadError::Done(text) => text,
            })?;
        }
        if !self.logfile.is_empty() {
            let path = Path::new(&self.dir).join(&self.logfile);
            if let Err(e) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
            {
                return Err(fatal(
                    None,
                    &format!("Can't open the log file: {}", strerror(&e)),
                ));
            }
        }
        Ok(())
    }

    /// Applies one config-file line, already split.
    fn load_directive(&mut self, argv: &[Vec<u8>], depth: usize) -> Result<(), LoadError> {
        let name = argv[0].to_ascii_lowercase();
        let args: Vec<&[u8]> = argv[1..].iter().map(Vec::as_slice).collect();
        if let Some((p, _)) = lookup(&name) {
            if p.flags & MULTI == 0 && argv.len() != 2 {
                return Err(LoadError::Here("wrong number of arguments".into()));
            }
            // A multi-argument directive given as one quoted argument is split on spaces,
            // as redis-server does (`--save "3600 1"`, `--bind "a b"`).
            if p.flags & MULTI != 0 && args.len() == 1 {
                return self
                    .set_param(p, &split_spaces(args[0]))
                    .map_err(LoadError::Here);
            }
            return self.set_param(p, &args).map_err(LoadError::Here);
        }
        let here = |e: &str| Err(LoadError::Here(e.to_string()));
        match (name.as_slice(), argv.len()) {
            // Deprecated directives Redis 7.0 still accepts and ignores.
            (
                b"list-max-ziplist-entries" | b"list-max-ziplist-value" | b"lua-replicate-commands",
                2,
            ) => Ok(()),
            (b"include", 2) => {
                if depth >= MAX_INCLUDE_DEPTH {
                    return here("include nesting too deep");
                }
                let target = String::from_utf8_lossy(&argv[1]).into_owned();
                let path = if target.starts_with('/') {
                    target.clone()
                } else {
                    Path::new(&self.dir)
                        .join(&target)
                        .to_string_lossy()
                        .into_owned()
                };
                let content = read_config_source(&path).map_err(|e| {
                    LoadError::Done(e.replace(&format!("'{path}'"), &format!("'{target}'")))
                })?;
                self.load_string(&content, depth + 1)
                    .map_err(LoadError::Done)
            }
            (b"rename-command", 3) => here(&unsupported("rename-command")),
            (b"user", n) if n >= 2 => {
                // The rules Redis writes for an untouched default user (`sanitize-payload` appears
                // once such a line was loaded), in any order.
                let mut rules: Vec<Vec<u8>> = argv[2..]
                    .iter()
                    .map(|r| r.to_ascii_lowercase())
                    .filter(|r| r != b"sanitize-payload")
                    .collect();
                rules.sort();
                let canonical: [&[u8]; 5] = [b"&*", b"+@all", b"nopass", b"on", b"~*"];
                if argv[1] == b"default" && rules.iter().map(Vec::as_slice).eq(canonical) {
                    if let Some(l) = self.loading.as_mut() {
                        l.default_user_nopass = true;
                    }
                    return Ok(());
                }
                here(&unsupported("ACL users (user)"))
            }
            (b"loadmodule", n) if n >= 2 => here(&unsupported("modules (loadmodule)")),
            (n, argc) if n.contains(&b'.') => {
                if argc != 2 {
                    return here("Module config specified without value");
                }
                here(&unsupported("module configuration"))
            }
            (b"sentinel", 1) => here(&unsupported(
                "sentinel mode in redoubt-server (run redoubt-sentinel)",
            )),
            (b"sentinel", _) => here("sentinel directive while not in sentinel mode"),
            _ => here("Bad directive or wrong number of arguments"),
        }
    }
}

/// A config-file error: a reason to report at the current line, or a finished error text
/// (from an included file).
enum LoadError {
    Here(String),
    Done(String),
}

/// The directory `chdir(arg)` would lead to from `cwd`, or C's error text.
fn change_dir(cwd: &str, arg: &[u8]) -> Result<String, String> {
    if arg.is_empty() {
        return Err("No such file or directory".into());
    }
    let target = Path::new(std::ffi::OsStr::from_bytes(arg));
    let path = if target.is_absolute() {
        target.to_path_buf()
    } else {
        Path::new(cwd).join(target)
    };
    let meta = std::fs::metadata(&path).map_err(|e| strerror(&e))?;
    if !meta.is_dir() {
        return Err("Not a directory".into());
    }
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| "Invalid argument".to_string())?;
    // SAFETY: access() only reads the NUL-terminated path we own.
    if unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } != 0 {
        return Err(strerror(&std::io::Error::last_os_error()));
    }
    let resolved = std::fs::canonicalize(&path).map_err(|e| strerror(&e))?;
    Ok(resolved.to_string_lossy().into_owned())
}

// ---------------------------------------------------------------------------------------------
// CONFIG GET / CONFIG SET
// ---------------------------------------------------------------------------------------------

impl Config {
    /// CONFIG GET with one or more patterns: (name, value) pairs, each parameter once. A
    /// pattern without `*?[` is an exact, case-insensitive lookup reported under the name as
    /// given (hidden parameters only match this way); a pattern matches names and aliases with
    /// [`glob_match`] ignoring case.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        self.get_raw(patterns)
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect()
    }

    /// [`Config::get`] with binary-safe names and values.
    pub fn get_raw(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut found: Vec<(Vec<u8>, &'static Param)> = Vec::new();
        let seen = |found: &Vec<(Vec<u8>, &Param)>, name: &[u8]| {
            found.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                if !seen(&found, pat) {
                    if let Some((p, _)) = lookup(pat) {
                        found.push((pat.to_vec(), p));
                    }
                }
                continue;
            }
            for p in PARAMS.iter().filter(|p| p.flags & HIDDEN == 0) {
                for name in std::iter::once(p.name).chain(p.alias) {
                    if !seen(&found, name.as_bytes()) && glob_match(pat, name.as_bytes(), true) {
                        found.push((name.as_bytes().to_vec(), p));
                    }
                }
            }
        }
        found
            .into_iter()
            .map(|(n, p)| (n, self.value_of(p)))
            .collect()
    }

    /// CONFIG SET p v [p v ...] from a non-local client; all or nothing. Errors are the full
    /// Redis error texts (`ERR ...`).
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        self.set_from(pairs, false).map(|_| ())
    }

    /// CONFIG SET with the raw arguments after `SET` (`ERR syntax error` when odd).
    pub fn set_args(
        &mut self,
        args: &[&[u8]],
        local_client: bool,
    ) -> Result<Vec<&'static str>, String> {
        if args.len() % 2 == 1 {
            return Err("ERR syntax error".into());
        }
        let pairs: Vec<(&[u8], &[u8])> = args.chunks(2).map(|c| (c[0], c[1])).collect();
        self.set_from(&pairs, local_client)
    }

    /// CONFIG SET; `local_client` says whether the caller connected over loopback or the Unix
    /// socket (for `enable-protected-configs local`). On success returns the canonical names
    /// whose value changed, for the server to apply (rebind, chdir, resize, ...); on failure
    /// nothing changed.
    pub fn set_from(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        local_client: bool,
    ) -> Result<Vec<&'static str>, String> {
        let mut targets: Vec<(&'static Param, bool, &[u8])> = Vec::new();
        let mut unknown: Option<&[u8]> = None;
        let mut refused: Option<(&[u8], &str)> = None;
        for &(name, value) in pairs {
            let Some((p, alias)) = lookup(name) else {
                if unknown.is_none() && refused.is_none() {
                    unknown = Some(name);
                }
                continue;
            };
            if unknown.is_some() || refused.is_some() {
                continue;
            }
            let allowed = match self.enable_protected_configs {
                ProtectedAction::Yes => true,
                ProtectedAction::Local => local_client,
                ProtectedAction::No => false,
            };
            if p.flags & IMMUTABLE != 0 {
                refused = Some((name, "can't set immutable config"));
            } else if p.flags & PROTECTED != 0 && !allowed {
                refused = Some((name, "can't set protected config"));
            } else if targets
                .iter()
                .any(|(q, a, _)| std::ptr::eq(*q, p) && *a == alias)
            {
                refused = Some((name, "duplicate parameter"));
            } else {
                targets.push((p, alias, value));
            }
        }
        if let Some(name) = unknown {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                String::from_utf8_lossy(name)
            ));
        }
        if let Some((name, why)) = refused {
            return Err(config_set_error(&String::from_utf8_lossy(name), why));
        }
        let before = self.clone();
        for &(p, alias, value) in &targets {
            let args = if p.flags & MULTI != 0 {
                split_spaces(value)
            } else {
                vec![value]
            };
            if let Err(e) = self.set_param(p, &args) {
                *self = before;
                let name = if alias {
                    p.alias.unwrap_or(p.name)
                } else {
                    p.name
                };
                return Err(config_set_error(name, &e));
            }
        }
        let mut changed: Vec<&'static str> = Vec::new();
        for (p, _, _) in targets {
            if !changed.contains(&p.name) && before.value_of(p) != self.value_of(p) {
                changed.push(p.name);
            }
        }
        Ok(changed)
    }
}

/// The CONFIG SET error for a failure applying `name` (e.g. "Unable to listen on this port.
/// Check server logs." for `port`), for the server's side of CONFIG SET.
pub fn config_set_error(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

// ---------------------------------------------------------------------------------------------
// CONFIG REWRITE
// ---------------------------------------------------------------------------------------------

const REWRITE_SIGNATURE: &[u8] = b"# Generated by CONFIG REWRITE";

/// Redis's `rewriteConfigState`: the old file's lines and where each option appears.
struct Rewrite {
    lines: Vec<Vec<u8>>,
    /// Canonical option name -> indexes of its lines, in file order.
    option_lines: HashMap<String, VecDeque<usize>>,
    /// Options the rewrite handled (their unused old lines are blanked).
    done: HashSet<String>,
    needs_signature: bool,
}

impl Rewrite {
    /// Reads the old file into a rewrite state (an absent file gives an empty one) and returns
    /// its permission bits.
    fn read(path: &str) -> std::io::Result<(Rewrite, Option<u32>)> {
        let mut rw = Rewrite {
            lines: Vec::new(),
            option_lines: HashMap::new(),
            done: HashSet::new(),
            needs_signature: true,
        };
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((rw, None)),
            Err(e) => return Err(e),
        };
        let mode = file.metadata()?.permissions().mode() & 0o7777;
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        rw.parse(&content, false);
        Ok((rw, Some(mode)))
    }

    /// A rewrite state over the old file's `content`. In Sentinel mode `sentinel` lines are
    /// keyed `sentinel <option>` (as Redis does), so that each option is rewritten in place.
    fn parse(&mut self, content: &[u8], sentinel: bool) {
        let rw = self;
        if content.is_empty() {
            return;
        }
        for raw in content.split(|&c| c == b'\n') {
            let line = trim(raw, b"\r\n\t ").to_vec();
            if line.is_empty() || line[0] == b'#' {
                if line == REWRITE_SIGNATURE {
                    rw.needs_signature = false;
                }
                rw.lines.push(line);
                continue;
            }
            let argv = resp::split_args(&line).unwrap_or_default();
            let Some(first) = argv.first() else {
                rw.lines.push([b"# ??? ".as_slice(), &line].concat());
                continue;
            };
            let lower = String::from_utf8_lossy(first).to_ascii_lowercase();
            let option = match lookup(first) {
                Some((p, _)) => p.name.to_string(),
                None if sentinel && lower == "sentinel" && argv.len() > 1 => {
                    format!(
                        "sentinel {}",
                        String::from_utf8_lossy(&argv[1]).to_ascii_lowercase()
                    )
                }
                None if FILE_ONLY_DIRECTIVES.contains(&lower.as_str()) => lower,
                None => {
                    // Unknown or obsolete: kept as a comment.
                    rw.lines.push([b"# ??? ".as_slice(), &line].concat());
                    continue;
                }
            };
            rw.option_lines
                .entry(option)
                .or_default()
                .push_back(rw.lines.len());
            rw.lines.push(line);
        }
    }

    fn mark(&mut self, option: &str) {
        self.done.insert(option.to_string());
    }

    /// Writes `line` for `option` over its next old line, or appends it when forced (the value
    /// differs from the default) or when `option` had no line left.
    fn line(&mut self, option: &str, line: Vec<u8>, force: bool) {
        self.mark(option);
        if let Some(idx) = self
            .option_lines
            .get_mut(option)
            .and_then(VecDeque::pop_front)
        {
            self.lines[idx] = line;
            return;
        }
        if !force {
            return;
        }
        if self.needs_signature {
            self.lines.push(REWRITE_SIGNATURE.to_vec());
            self.needs_signature = false;
        }
        self.lines.push(line);
    }

    /// Blanks the leftover old lines of handled options, then joins the lines, folding runs
    /// of empty lines into one.
    fn content(mut self) -> Vec<u8> {
        for (option, idxs) in &self.option_lines {
            if self.done.contains(option) {
                for &i in idxs {
                    self.lines[i].clear();
                }
            }
        }
        let mut out = Vec::new();
        let mut was_empty = false;
        for l in &self.lines {
            if l.is_empty() {
                if was_empty {
                    continue;
                }
                was_empty = true;
            } else {
                was_empty = false;
            }
            out.extend_from_slice(l);
            out.push(b'\n');
        }
        out
    }
}

/// The state of a rewrite in progress, for options the server does not know (Sentinel's).
pub struct RewriteState<'a>(&'a mut Rewrite);

impl RewriteState<'_> {
    /// Redis's `rewriteConfigRewriteLine`: `line` replaces the next old line of `option`
    /// (case-insensitive), or is appended when there is none and `force`; false when
    /// nothing was written. Either way the option's leftover old lines are blanked.
    pub fn line(&mut self, option: &str, line: &[u8], force: bool) -> bool {
        let option = option.to_ascii_lowercase();
        let had = self
            .0
            .option_lines
            .get(&option)
            .is_some_and(|l| !l.is_empty());
        self.0.line(&option, line.to_vec(), force);
        had || force
    }

    /// Redis's `rewriteConfigMarkAsProcessed`: the option's old lines left over are blanked.
    pub fn mark(&mut self, option: &str) {
        self.0.mark(&option.to_ascii_lowercase());
    }
}

impl Config {
    /// CONFIG REWRITE: rewrites the config file as Redis does. Lines of known options are
    /// updated in place (aliases become canonical names, extra duplicates and unset options are
    /// blanked), comments, `include`/`rename-command`/`sentinel` lines and blank lines stay,
    /// unknown directives become `# ??? ` comments, and options that differ from their default
    /// and have no line are appended after a `# Generated by CONFIG REWRITE` line. The file is
    /// replaced atomically (temp file + rename) keeping its permission bits (Redis resets them
    /// to 0644 & ~umask).
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = self.config_file.as_deref() else {
            return Err("ERR The server is running without a config file".into());
        };
        let fail = |e: std::io::Error| format!("ERR Rewriting config file: {}", strerror(&e));
        let (mut rw, mode) = Rewrite::read(path).map_err(fail)?;
        for p in PARAMS {
            self.rewrite_param(p, &mut rw);
        }
        // ACL users: the default user only (Redis writes its password hash when requirepass
        // is set; the requirepass line alone has the same effect).
        if self.requirepass.is_none() {
            rw.line("user", b"user default on nopass ~* &* +@all".to_vec(), true);
        }
        rw.mark("user");
        rw.mark("loadmodule");
        write_atomically(path, &rw.content(), mode).map_err(fail)
    }

    /// The text CONFIG REWRITE writes over `old` in Sentinel mode (nothing is written): the
    /// ordinary options as [`Config::rewrite`] does them, except that `save` lines are dropped
    /// (Sentinel does not rewrite save points), then `user_line` for the default user, then
    /// whatever `sentinel` adds with [`RewriteState::line`] and [`RewriteState::mark`].
    pub fn rewrite_sentinel(
        &self,
        old: &[u8],
        user_line: &[u8],
        sentinel: impl FnOnce(&mut RewriteState),
    ) -> Vec<u8> {
        let mut rw = Rewrite {
            lines: Vec::new(),
            option_lines: HashMap::new(),
            done: HashSet::new(),
            needs_signature: true,
        };
        rw.parse(old, true);
        for p in PARAMS {
            if p.name == "save" {
                rw.mark("save");
            } else {
                self.rewrite_param(p, &mut rw);
            }
        }
        rw.line("user", user_line.to_vec(), true);
        rw.mark("loadmodule");
        sentinel(&mut RewriteState(&mut rw));
        rw.content()
    }

    fn rewrite_param(&self, p: &Param, rw: &mut Rewrite) {
        let name = p.name;
        let line = |value: &str| format!("{name} {value}").into_bytes();
        match (&p.kind, self.fetch(p)) {
            (Kind::Special(s), _) => (s.rewrite)(self, rw),
            (Kind::Bool(d), Val::Bool(b)) => rw.line(name, line(yes_no(b)), b != *d),
            (Kind::Int { default, flags, .. }, Val::Int(v)) => {
                let text = if flags & PCT != 0 && v < 0 {
                    format!("{}%", -v)
                } else if flags & MEM != 0 {
                    format_memory(v as u64)
                } else if flags & OCT != 0 {
                    format!("{:o}", v)
                } else {
                    v.to_string()
                };
                rw.line(name, line(&text), v != *default);
            }
            (Kind::Str { default, .. }, Val::Str(v)) => match v {
                None => rw.mark(name),
                Some(v) => {
                    let force = default.is_none_or(|d| d.as_bytes() != v.as_slice());
                    let mut l = format!("{name} ").into_bytes();
                    l.extend(repr(&v));
                    rw.line(name, l, force);
                }
            },
            (
                Kind::Enum {
                    names,
                    default,
                    bitflags,
                },
                Val::Enum(v),
            ) => {
                let text = enum_name(names, v, *bitflags).unwrap_or_else(|| "unknown".into());
                rw.line(name, line(&text), v != *default);
            }
            _ => {}
        }
    }
}

/// Replaces `path` with `content` through a temp file in the same directory.
fn write_atomically(path: &str, content: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let tmp = format!("{path}.{:06x}", rand::random::<u32>() & 0xff_ffff);
    let result = write_and_rename(&tmp, path, content, mode);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_and_rename(
    tmp: &str,
    path: &str,
    content: &[u8],
    mode: Option<u32>,
) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode.unwrap_or(0o644))
        .open(tmp)?;
    f.write_all(content)?;
    f.sync_all()?;
    if let Some(m) = mode {
        f.set_permissions(std::fs::Permissions::from_mode(m))?;
    }
    std::fs::rename(tmp, path)
}

// ---------------------------------------------------------------------------------------------
// Parsing and formatting helpers (Redis's util.c / sds.c semantics)
// ---------------------------------------------------------------------------------------------

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn parse_yes_no(s: &[u8]) -> Option<bool> {
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// Trims any of `chars` from both ends.
fn trim<'a>(s: &'a [u8], chars: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|c| !chars.contains(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !chars.contains(c))
        .map_or(start, |i| i + 1);
    &s[start..end]
}

/// `sdssplitlen(value, " ")` as CONFIG SET splits multi-argument values: empty input gives
/// no arguments, consecutive spaces give empty ones.
fn split_spaces(s: &[u8]) -> Vec<&[u8]> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(|&c| c == b' ').collect()
    }
}

/// `sdscatrepr`: a double-quoted, escaped rendering.
fn repr(s: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &c in s {
        match c {
            b'\\' | b'"' => out.extend([b'\\', c]),
            b'\n' => out.extend(b"\\n"),
            b'\r' => out.extend(b"\\r"),
            b'\t' => out.extend(b"\\t"),
            0x07 => out.extend(b"\\a"),
            0x08 => out.extend(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend(format!("\\x{c:02x}").into_bytes()),
        }
    }
    out.push(b'"');
    out
}

/// Redis's `string2ll`: strict decimal (no blanks, no `+`, no leading zeros), fits in i64.
fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// C's `strtoll(s, &end, base)`: leading blanks, a sign, digits, saturating on overflow.
/// Returns the value and where parsing stopped (0 when there were no digits).
pub(crate) fn c_strtoll(s: &[u8], base: u32) -> (i64, usize) {
    strtoll_checked(s, base).0
}

/// [`c_strtoll`] plus whether it overflowed (`errno == ERANGE`).
fn strtoll_checked(s: &[u8], base: u32) -> ((i64, usize), bool) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: i128 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(base)) {
        v = v * base as i128 + d as i128;
        if v > i64::MAX as i128 + 1 {
            overflow = true;
            v = i64::MAX as i128 + 1;
        }
        i += 1;
    }
    if i == start {
        return ((0, 0), false);
    }
    let v = if neg { -v } else { v };
    if v > i64::MAX as i128 {
        return ((i64::MAX, i), true);
    }
    ((v as i64, i), overflow)
}

/// Redis's `memtoull`: digits with an optional unit (`b`, `k`=1000, `kb`=1024, `m`, `mb`,
/// `g`, `gb`, any case).
fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = s[digits..].to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    // strtoull saturates on overflow (and Redis does not check ERANGE).
    let val = s[..digits]
        .iter()
        .try_fold(0u64, |v, d| {
            v.checked_mul(10)?.checked_add((d - b'0') as u64)
        })
        .unwrap_or(u64::MAX);
    if val > u64::MAX / mul {
        return None;
    }
    Some(val * mul)
}

/// Redis's `numericParseString` for a numeric directive with `flags`.
fn parse_numeric(s: &[u8], flags: u8) -> Result<i64, String> {
    if flags & MEM != 0 {
        if let Some(v) = memtoull(s) {
            return Ok(v as i64);
        }
    }
    if flags & PCT != 0 && s.len() > 1 && s.ends_with(b"%") {
        if let Some(v) = string2ll(&s[..s.len() - 1]).filter(|v| *v >= 0) {
            return Ok(-v);
        }
    }
    if flags & OCT != 0 {
        // strtoll must stop at the end (an empty string parses as 0) without overflowing.
        let ((v, end), overflow) = strtoll_checked(s, 8);
        if !overflow && end == s.len() {
            return Ok(v);
        }
    }
    if flags & (MEM | PCT | OCT) == 0 {
        if let Some(v) = string2ll(s) {
            return Ok(v);
        }
    }
    Err(if flags & MEM != 0 && flags & PCT != 0 {
        "argument must be a memory or percent value"
    } else if flags & MEM != 0 {
        "argument must be a memory value"
    } else if flags & OCT != 0 {
        "argument couldn't be parsed as an octal number"
    } else {
        "argument couldn't be parsed into an integer"
    }
    .into())
}

/// Redis's `numericBoundaryCheck`.
fn check_bounds(v: i64, min: i64, max: i64, flags: u8) -> Result<(), String> {
    if flags & UNS != 0 {
        let (u, lo, hi) = (v as u64, min as u64, max as u64);
        if u > hi || u < lo {
            return Err(if flags & OCT != 0 {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if flags & PCT != 0 && v < 0 {
        if v < min {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                -min
            ));
        }
    } else if v > max || v < min {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(())
}

/// How CONFIG GET prints a numeric value.
fn format_int(v: i64, flags: u8) -> String {
    if flags & PCT != 0 && v < 0 {
        format!("{}%", -v)
    } else if flags & MEM != 0 {
        (v as u64).to_string()
    } else if flags & OCT != 0 {
        format!("{v:o}")
    } else {
        v.to_string()
    }
}

/// How CONFIG REWRITE prints a byte count: in gb, mb or kb when exact.
fn format_memory(bytes: u64) -> String {
    const GB: u64 = 1 << 30;
    const MB: u64 = 1 << 20;
    const KB: u64 = 1 << 10;
    match bytes {
        0 => "0".into(),
        b if b % GB == 0 => format!("{}gb", b / GB),
        b if b % MB == 0 => format!("{}mb", b / MB),
        b if b % KB == 0 => format!("{}kb", b / KB),
        b => b.to_string(),
    }
}

/// Redis's `configEnumGetValue`: one name, or (bitflags) several OR-ed.
fn parse_enum(names: &[(&str, i32)], args: &[&[u8]], bitflags: bool) -> Option<i32> {
    if args.is_empty() || (!bitflags && args.len() != 1) {
        return None;
    }
    let mut v = 0;
    for a in args {
        let mut matched = false;
        for (n, x) in names {
            if a.eq_ignore_ascii_case(n.as_bytes()) {
                v |= x;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(v)
}

/// Redis's `configEnumGetName`: the exact name, or (bitflags) the flag names joined.
fn enum_name(names: &[(&str, i32)], v: i32, bitflags: bool) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let mut unmatched = v;
    for (n, x) in names {
        if *x == v {
            return Some(n.to_string());
        }
        if bitflags && *x != 0 && *x == unmatched & x {
            parts.push(n);
            unmatched &= !x;
        }
    }
    (!parts.is_empty() && unmatched == 0).then(|| parts.join(" "))
}

fn enum_error(names: &[(&str, i32)]) -> String {
    let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
    let mut e = format!(
        "argument(s) must be one of the following: {}",
        list.join(", ")
    );
    e.truncate(255);
    e
}

/// `pathIsBaseName`: no `/` nor `\`.
fn is_basename(s: &str) -> bool {
    !s.contains(['/', '\\'])
}

/// Redis's `string2d`: a whole-string `strtod` that is neither NaN nor out of range.
fn string2d(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    let lower = text.to_ascii_lowercase();
    let spelled_inf = lower.trim_start_matches(['+', '-']).starts_with("inf");
    let mantissa = lower.split('e').next().unwrap_or_default();
    let underflow = v == 0.0 && mantissa.bytes().any(|c| matches!(c, b'1'..=b'9'));
    if v.is_nan() || (v.is_infinite() && !spelled_inf) || underflow {
        return None;
    }
    Some(v)
}

/// `%f` with trailing zeros (and a trailing dot) removed.
fn format_percentile(x: f64) -> String {
    let s = format!("{x:.6}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Redis's `keyspaceEventsStringToFlags`.
fn keyspace_events_from_str(s: &[u8]) -> Option<u32> {
    use notify::*;
    let mut flags = 0;
    for &c in s {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Redis's `keyspaceEventsFlagsToString` (with `A`, the `n` flag is not printed, as in Redis).
fn keyspace_events_to_string(flags: u32) -> String {
    use notify::*;
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `CONFIG GET *` of a default redis-server 7.0.15 (Debian), `dir` left out.
    const REDIS_DEFAULTS: &str = "\
acl-pubsub-default=resetchannels\n\
aclfile=\n\
acllog-max-len=128\n\
active-defrag-cycle-max=25\n\
active-defrag-cycle-min=1\n\
active-defrag-ignore-bytes=104857600\n\
active-defrag-max-scan-fields=1000\n\
active-defrag-threshold-lower=10\n\
active-defrag-threshold-upper=100\n\
active-expire-effort=1\n\
activedefrag=no\n\
activerehashing=yes\n\
always-show-logo=no\n\
aof-disable-auto-gc=no\n\
aof-load-truncated=yes\n\
aof-rewrite-incremental-fsync=yes\n\
aof-timestamp-enabled=no\n\
aof-use-rdb-preamble=yes\n\
aof_rewrite_cpulist=\n\
appenddirname=appendonlydir\n\
appendfilename=appendonly.aof\n\
appendfsync=everysec\n\
appendonly=no\n\
auto-aof-rewrite-min-size=67108864\n\
auto-aof-rewrite-percentage=100\n\
bgsave_cpulist=\n\
bind=* -::*\n\
bind-source-addr=\n\
bio_cpulist=\n\
busy-reply-threshold=5000\n\
client-output-buffer-limit=normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\n\
client-query-buffer-limit=1073741824\n\
cluster-allow-pubsubshard-when-down=yes\n\
cluster-allow-reads-when-down=no\n\
cluster-allow-replica-migration=yes\n\
cluster-announce-bus-port=0\n\
cluster-announce-hostname=\n\
cluster-announce-ip=\n\
cluster-announce-port=0\n\
cluster-announce-tls-port=0\n\
cluster-config-file=nodes.conf\n\
cluster-enabled=no\n\
cluster-link-sendbuf-limit=0\n\
cluster-migration-barrier=1\n\
cluster-node-timeout=15000\n\
cluster-port=0\n\
cluster-preferred-endpoint-type=ip\n\
cluster-replica-no-failover=no\n\
cluster-replica-validity-factor=10\n\
cluster-require-full-coverage=yes\n\
cluster-slave-no-failover=no\n\
cluster-slave-validity-factor=10\n\
crash-log-enabled=yes\n\
crash-memcheck-enabled=yes\n\
daemonize=no\n\
databases=16\n\
dbfilename=dump.rdb\n\
disable-thp=yes\n\
dynamic-hz=yes\n\
enable-debug-command=no\n\
enable-module-command=no\n\
enable-protected-configs=no\n\
hash-max-listpack-entries=512\n\
hash-max-listpack-value=64\n\
hash-max-ziplist-entries=512\n\
hash-max-ziplist-value=64\n\
hll-sparse-max-bytes=3000\n\
hz=10\n\
ignore-warnings=\n\
io-threads=1\n\
io-threads-do-reads=no\n\
jemalloc-bg-thread=yes\n\
latency-monitor-threshold=0\n\
latency-tracking=yes\n\
latency-tracking-info-percentiles=50 99 99.9\n\
lazyfree-lazy-eviction=no\n\
lazyfree-lazy-expire=no\n\
lazyfree-lazy-server-del=no\n\
lazyfree-lazy-user-del=no\n\
lazyfree-lazy-user-flush=no\n\
lfu-decay-time=1\n\
lfu-log-factor=10\n\
list-compress-depth=0\n\
list-max-listpack-size=-2\n\
list-max-ziplist-size=-2\n\
logfile=\n\
loglevel=notice\n\
lua-time-limit=5000\n\
masterauth=\n\
masteruser=\n\
maxclients=10000\n\
maxmemory=0\n\
maxmemory-clients=0\n\
maxmemory-eviction-tenacity=10\n\
maxmemory-policy=noeviction\n\
maxmemory-samples=5\n\
min-replicas-max-lag=10\n\
min-replicas-to-write=0\n\
min-slaves-max-lag=10\n\
min-slaves-to-write=0\n\
no-appendfsync-on-rewrite=no\n\
notify-keyspace-events=\n\
oom-score-adj=no\n\
oom-score-adj-values=0 200 800\n\
pidfile=\n\
port=6379\n\
proc-title-template={title} {listen-addr} {server-mode}\n\
propagation-error-behavior=ignore\n\
protected-mode=yes\n\
proto-max-bulk-len=536870912\n\
rdb-del-sync-files=no\n\
rdb-save-incremental-fsync=yes\n\
rdbchecksum=yes\n\
rdbcompression=yes\n\
repl-backlog-size=1048576\n\
repl-backlog-ttl=3600\n\
repl-disable-tcp-nodelay=no\n\
repl-diskless-load=disabled\n\
repl-diskless-sync=yes\n\
repl-diskless-sync-delay=5\n\
repl-diskless-sync-max-replicas=0\n\
repl-ping-replica-period=10\n\
repl-ping-slave-period=10\n\
repl-timeout=60\n\
replica-announce-ip=\n\
replica-announce-port=0\n\
replica-announced=yes\n\
replica-ignore-disk-write-errors=no\n\
replica-ignore-maxmemory=yes\n\
replica-lazy-flush=no\n\
replica-priority=100\n\
replica-read-only=yes\n\
replica-serve-stale-data=yes\n\
replicaof=\n\
requirepass=\n\
sanitize-dump-payload=no\n\
save=3600 1 300 100 60 10000\n\
server_cpulist=\n\
set-max-intset-entries=512\n\
set-proc-title=yes\n\
shutdown-on-sigint=default\n\
shutdown-on-sigterm=default\n\
shutdown-timeout=10\n\
slave-announce-ip=\n\
slave-announce-port=0\n\
slave-ignore-maxmemory=yes\n\
slave-lazy-flush=no\n\
slave-priority=100\n\
slave-read-only=yes\n\
slave-serve-stale-data=yes\n\
slaveof=\n\
slowlog-log-slower-than=10000\n\
slowlog-max-len=128\n\
socket-mark-id=0\n\
stop-writes-on-bgsave-error=yes\n\
stream-node-max-bytes=4096\n\
stream-node-max-entries=100\n\
supervised=no\n\
syslog-enabled=no\n\
syslog-facility=local0\n\
syslog-ident=redis\n\
tcp-backlog=511\n\
tcp-keepalive=300\n\
timeout=0\n\
tls-auth-clients=yes\n\
tls-ca-cert-dir=\n\
tls-ca-cert-file=\n\
tls-cert-file=\n\
tls-ciphers=\n\
tls-ciphersuites=\n\
tls-client-cert-file=\n\
tls-client-key-file=\n\
tls-client-key-file-pass=\n\
tls-cluster=no\n\
tls-dh-params-file=\n\
tls-key-file=\n\
tls-key-file-pass=\n\
tls-port=0\n\
tls-prefer-server-ciphers=no\n\
tls-protocols=\n\
tls-replication=no\n\
tls-session-cache-size=20480\n\
tls-session-cache-timeout=300\n\
tls-session-caching=yes\n\
tracking-table-max-keys=1000000\n\
unixsocket=\n\
unixsocketperm=0\n\
zset-max-listpack-entries=128\n\
zset-max-listpack-value=64\n\
zset-max-ziplist-entries=128\n\
zset-max-ziplist-value=64\n\
";

    /// A fresh, canonical directory under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn temp_dir(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "redoubt-config-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(std::fs::canonicalize(d).unwrap())
    }

    fn write(dir: &Path, name: &str, content: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Loads `text` as a config file followed by command-line `extra` options.
    fn load_text(text: &str, extra: &[&str]) -> Result<Config, String> {
        let d = temp_dir("load");
        let mut a = vec![write(&d, "redis.conf", text)];
        a.extend(strings(extra));
        load(&a)
    }

    fn fatal_at(line: usize, text: &str, err: &str) -> String {
        format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{err}\n"
        )
    }

    fn get1(c: &Config, name: &str) -> String {
        let r = c.get(&[name.as_bytes()]);
        assert_eq!(r.len(), 1, "{name}: {r:?}");
        r[0].1.clone()
    }

    fn set1(c: &mut Config, name: &str, value: &str) -> Result<(), String> {
        c.set(&[(name.as_bytes(), value.as_bytes())])
    }

    fn set_failed(name: &str, why: &str) -> String {
        format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
    }

    #[test]
    fn defaults_match_redis() {
        let c = Config::default();
        let all = c.get(&[b"*"]);
        assert_eq!(all.len(), 192, "CONFIG GET * count");
        let mut got: Vec<(String, String)> = all.into_iter().filter(|(k, _)| k != "dir").collect();
        got.sort();
        let want: Vec<(String, String)> = REDIS_DEFAULTS
            .lines()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            get1(&c, "dir"),
            std::env::current_dir().unwrap().to_string_lossy()
        );
        // Typed fields agree with the table.
        assert_eq!(c.port, 6379);
        assert_eq!(c.bind, vec!["*", "-::*"]);
        assert!(c.protected_mode);
        assert_eq!(c.maxclients, 10000);
        assert_eq!(c.databases, 16);
        assert_eq!(c.loglevel, LogLevel::Notice);
        assert_eq!(c.maxmemory_policy, MaxmemoryPolicy::Noeviction);
        assert_eq!(c.maxmemory_policy.as_str(), "noeviction");
        assert_eq!(c.proto_max_bulk_len, 512 << 20);
        assert_eq!(c.client_query_buffer_limit, 1 << 30);
        assert_eq!(c.client_output_buffer_limit, DEFAULT_OBUF);
        assert_eq!(c.list_max_listpack_size, -2);
        assert_eq!(c.slowlog_log_slower_than, 10000);
        assert_eq!(c.latency_tracking_info_percentiles, vec![50.0, 99.0, 99.9]);
        assert_eq!(c.hz, 10);
        assert_eq!(c.save, vec![(3600, 1), (300, 100), (60, 10000)]);
        assert!(c.replicaof.is_none() && c.requirepass.is_none());
        assert_eq!(c.config_file, None);
        assert_eq!(load(&[]).unwrap(), c);
    }

    #[test]
    fn config_get_patterns() {
        let c = Config::default();
        // An exact name is looked up case-insensitively and reported as given.
        assert_eq!(
            c.get(&[b"PORT"]),
            vec![("PORT".to_string(), "6379".to_string())]
        );
        // Each parameter once across patterns.
        let r = c.get(&[b"port", b"PORT", b"por?", b"maxmemory"]);
        assert_eq!(
            r,
            vec![
                ("port".into(), "6379".into()),
                ("maxmemory".into(), "0".into())
            ]
        );
        let mut names: Vec<String> = c.get(&[b"MAXMEM*"]).into_iter().map(|(k, _)| k).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "maxmemory",
                "maxmemory-clients",
                "maxmemory-eviction-tenacity",
                "maxmemory-policy",
                "maxmemory-samples"
            ]
        );
        // Aliases match patterns too, with their own name.
        let slave: Vec<String> = c.get(&[b"*slave*"]).into_iter().map(|(k, _)| k).collect();
        assert_eq!(slave.len(), 13);
        assert!(
            slave.contains(&"slaveof".to_string())
                && slave.contains(&"slave-read-only".to_string())
        );
        assert_eq!(get1(&c, "lua-time-limit"), "5000");
        // Hidden parameters: exact names only.
        assert_eq!(get1(&c, "watchdog-period"), "0");
        assert_eq!(get1(&c, "loading-process-events-interval-bytes"), "2097152");
        assert!(c.get(&[b"watchdog-*"]).is_empty());
        assert!(c.get(&[b"rdb-key-*"]).is_empty());
        assert!(c.get(&[b"nosuchparam"]).is_empty());
        assert_eq!(
            get1(&c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert_eq!(
            c.get_raw(&[b"bind"]),
            vec![(b"bind".to_vec(), b"* -::*".to_vec())]
        );
    }

    #[test]
    fn parses_a_good_file() {
        let d = temp_dir("good");
        let inc = write(&d, "inc.conf", "hz 11\ndatabases 4\n");
        let text = format!(
            "# comment\n\n   # indented comment\nPORT 7000\r\n\tbind 127.0.0.1 -::1 ::1\nrequirepass \"a b\\\"c\"\nmasterauth 1111\n\
             maxmemory 1GB\nmaxmemory-policy NOEVICTION\nloglevel warning\nsave \"\"\nappendonly no\n\
             slave-read-only no\nhash-max-ziplist-entries 100\nlist-max-ziplist-entries 5\nlua-replicate-commands yes\n\
             include {inc}\nnotify-keyspace-events KEA\nclient-output-buffer-limit pubsub 64mb 16mb 90\n\
             client-output-buffer-limit normal 1k 2kb 3\nunixsocket '/tmp/x y.sock'\nunixsocketperm 700\n\
             tcp-backlog 1024\nproto-max-bulk-len 2mb\nlatency-tracking-info-percentiles 99 99.99\nshutdown-on-sigterm nosave now\n"
        );
        let f = write(&d, "redis.conf", &text);
        let c = load(std::slice::from_ref(&f)).unwrap();
        assert_eq!(c.config_file.as_deref(), Some(f.as_str()));
        assert_eq!(c.port, 7000);
        assert_eq!(c.bind, vec!["127.0.0.1", "-::1", "::1"]);
        assert_eq!(c.requirepass.as_deref(), Some(&b"a b\"c"[..]));
        assert_eq!(c.masterauth.as_deref(), Some(&b"1111"[..]));
        assert_eq!(c.maxmemory, 1 << 30);
        assert_eq!(c.maxmemory_policy, MaxmemoryPolicy::Noeviction);
        assert_eq!(c.loglevel, LogLevel::Warning);
        assert!(!c.replica_read_only);
        assert_eq!(c.hash_max_listpack_entries, 100);
        assert_eq!((c.hz, c.databases), (11, 4));
        assert_eq!(c.notify_keyspace_events, "AKE");
        assert_eq!(
            c.notify_keyspace_events_flags,
            notify::ALL | notify::KEYSPACE | notify::KEYEVENT
        );
        assert_eq!(
            c.client_output_buffer_limit[2],
            BufferLimit {
                hard: 64 << 20,
                soft: 16 << 20,
                soft_seconds: 90
            }
        );
        assert_eq!(
            c.client_output_buffer_limit[0],
            BufferLimit {
                hard: 1000,
                soft: 2048,
                soft_seconds: 3
            }
        );
        assert_eq!(c.unixsocket.as_deref(), Some("/tmp/x y.sock"));
        assert_eq!((c.unixsocketperm, c.tcp_backlog), (0o700, 1024));
        assert_eq!(get1(&c, "unixsocketperm"), "700");
        assert_eq!(c.proto_max_bulk_len, 2 << 20);
        assert_eq!(get1(&c, "latency-tracking-info-percentiles"), "99 99.99");
        assert_eq!(c.shutdown_on_sigterm, shutdown::NOSAVE | shutdown::NOW);
        assert_eq!(get1(&c, "shutdown-on-sigterm"), "nosave now");
        // Empty values clear nullable strings; the last line wins.
        let c = load_text("requirepass foo\nrequirepass \"\"\nmasteruser \"\"\n", &[]).unwrap();
        assert_eq!((c.requirepass, c.masteruser), (None, None));
        // hz is clamped as Redis does.
        assert_eq!(load_text("hz 0\n", &[]).unwrap().hz, 1);
        assert_eq!(load_text("hz 100000\n", &[]).unwrap().hz, 500);
        // The reference deployment's primary.
        let c = load_text(
            "port 6379\nbind 0.0.0.0\nrequirepass 1111\nmasterauth 1111\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            (c.port, c.bind.clone()),
            (6379, vec!["0.0.0.0".to_string()])
        );
        assert_eq!(c.requirepass.as_deref(), Some(&b"1111"[..]));
    }

    #[test]
    fn include_is_relative_to_dir_and_globs() {
        let d = temp_dir("include");
        std::fs::create_dir(d.join("conf.d")).unwrap();
        write(&d, "conf.d/10-a.conf", "maxclients 11\n");
        write(&d, "conf.d/20-b.conf", "maxclients 22\ntimeout 5\n");
        write(&d, "conf.d/.hidden.conf", "maxclients 99\n");
        let text = format!(
            "dir {}\ninclude conf.d/*.conf\ninclude nothing-here-*.conf\n",
            d.display()
        );
        let c = load_text(&text, &[]).unwrap();
        assert_eq!((c.maxclients, c.timeout), (22, 5));
        assert_eq!(c.dir, d.to_string_lossy());
        // An error inside an included file reports the included file's line.
        write(&d, "bad.conf", "\nport x\n");
        let err = load_text(&format!("dir {}\ninclude bad.conf\n", d.display()), &[]).unwrap_err();
        assert_eq!(
            err,
            fatal_at(2, "port x", "argument couldn't be parsed into an integer")
        );
        let err =
            load_text(&format!("dir {}\ninclude missing.conf\n", d.display()), &[]).unwrap_err();
        assert_eq!(
            err,
            "Fatal error, can't open config file 'missing.conf': No such file or directory\n"
        );
        // A file including itself stops instead of overflowing the stack.
        let selfinc = d.join("self.conf");
        std::fs::write(&selfinc, format!("include {}\n", selfinc.display())).unwrap();
        assert!(load(&[selfinc.to_string_lossy().into_owned()]).is_err());
    }

    #[test]
    fn fatal_errors_match_redis() {
        let b = "Bad directive or wrong number of arguments";
        let cases: &[(&str, usize, &str, &str)] = &[
            ("foo bar\n", 1, "foo bar", b),
            ("# c\n\nport 1 2\n", 3, "port 1 2", "wrong number of arguments"),
            ("port abc\n", 1, "port abc", "argument couldn't be parsed into an integer"),
            ("port 70000\n", 1, "port 70000", "argument must be between 0 and 65535 inclusive"),
            ("maxmemory 1x\n", 1, "maxmemory 1x", "argument must be a memory value"),
            (
                "loglevel foo\n",
                1,
                "loglevel foo",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
            ("daemonize maybe\n", 1, "daemonize maybe", "argument must be 'yes' or 'no'"),
            ("port \"1\n", 1, "port \"1", "Unbalanced quotes in configuration line"),
            (
                "sentinel monitor a b c 2\n",
                1,
                "sentinel monitor a b c 2",
                "sentinel directive while not in sentinel mode",
            ),
            ("replicaof a\n", 1, "replicaof a", "wrong number of arguments"),
            ("replicaof a b\n", 1, "replicaof a b", "Invalid master port"),
            ("save 900\n", 1, "save 900", "Invalid save parameters"),
            ("save a 1\n", 1, "save a 1", "Invalid save parameters"),
            ("list-max-ziplist-entries 5\nlist-max-ziplist-value 3\nlua-replicate-commands yes\nfoo\n", 4, "foo", b),
            ("list-max-ziplist-entries\n", 1, "list-max-ziplist-entries", b),
            ("user\n", 1, "user", b),
            ("loadmodule\n", 1, "loadmodule", b),
            ("include\n", 1, "include", b),
            ("x.y\n", 1, "x.y", "Module config specified without value"),
            (
                "client-output-buffer-limit normal 0 0\n",
                1,
                "client-output-buffer-limit normal 0 0",
                "Wrong number of arguments in buffer limit configuration.",
            ),
            (
                "client-output-buffer-limit master 0 0 0\n",
                1,
                "client-output-buffer-limit master 0 0 0",
                "Invalid client class specified in buffer limit configuration.",
            ),
            (
                "client-output-buffer-limit normal 1x 0 0\n",
                1,
                "client-output-buffer-limit normal 1x 0 0",
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            ),
            (
                "notify-keyspace-events Q\n",
                1,
                "notify-keyspace-events Q",
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
            ),
            ("PORT abc\n", 1, "PORT abc", "argument couldn't be parsed into an integer"),
            ("   port    abc   \n", 1, "port    abc", "argument couldn't be parsed into an integer"),
            ("\tport\tabc\r\n", 1, "port\tabc", "argument couldn't be parsed into an integer"),
            (
                "oom-score-adj-values 1 2 x\n",
                1,
                "oom-score-adj-values 1 2 x",
                "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
            ),
            ("appendfilename \"\"\n", 1, "appendfilename \"\"", "appendfilename can't be empty"),
            ("dbfilename a/b.rdb\n", 1, "dbfilename a/b.rdb", "dbfilename can't be a path, just a filename"),
            ("unixsocketperm -1\n", 1, "unixsocketperm -1", "argument must be between 0 and 777 inclusive"),
            ("unixsocketperm 9\n", 1, "unixsocketperm 9", "argument couldn't be parsed as an octal number"),
            ("socket-mark-id -1\n", 1, "socket-mark-id -1", "argument must be between 0 and 4294967295 inclusive"),
            ("databases 0\n", 1, "databases 0", "argument must be between 1 and 2147483647 inclusive"),
            ("io-threads 129\n", 1, "io-threads 129", "argument must be between 1 and 128 inclusive"),
        ];
        for (text, line, shown, err) in cases {
            assert_eq!(
                load_text(text, &[]).unwrap_err(),
                fatal_at(*line, shown, err),
                "{text:?}"
            );
        }
        let err = load_text("logfile /nonexistent/dir/x.log\n", &[]).unwrap_err();
        assert_eq!(
            err,
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory\n"
        );
        assert_eq!(
            load(&strings(&["/nonexist.conf"])).unwrap_err(),
            "Fatal error, can't open config file '/nonexist.conf': No such file or directory\n"
        );
        // An empty or wildcard-free-but-missing pattern is fine when it has wildcards.
        assert!(load(&strings(&["/nonexistent-dir-*/x.conf", "--port", "1"])).is_ok());
    }

    #[test]
    fn refuses_features_not_built() {
        let cases = [
            "cluster-enabled yes",
            "tls-port 6380",
            "tls-replication yes",
            "tls-cluster yes",
            "aclfile /etc/redis/users.acl",
            "syslog-enabled yes",
            "supervised systemd",
            "supervised auto",
            "oom-score-adj relative",
            "maxmemory-clients 10%",
            "rename-command CONFIG \"\"",
            "loadmodule /x.so",
            "user alice on >pw ~* +@all",
            "mymodule.opt 1",
            "sentinel",
        ];
        for line in cases {
            let err = load_text(&format!("port 1\n{line}\n"), &[]).unwrap_err();
            let prefix = fatal_at(2, line, "Unsupported by Redoubt (not built yet): ");
            assert!(
                err.starts_with(prefix.trim_end_matches('\n')),
                "{line}: {err}"
            );
        }
        let err = load_text("activedefrag yes\n", &[]).unwrap_err();
        assert!(err.ends_with("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution\n"));
        // Their "off" values load.
        let c = load_text(
            "replicaof no one\nsave \"\"\nappendonly no\ncluster-enabled no\ntls-port 0\nsupervised no\n\
             oom-score-adj no\naclfile \"\"\nuser default on nopass ~* &* +@all\n\
             user default on nopass sanitize-payload ~* &* +@all\n",
            &[],
        )
        .unwrap();
        assert!(c.replicaof.is_none() && c.save.is_empty() && !c.appendonly);
        // A default-user line that would override requirepass is refused.
        let err =
            load_text("requirepass x\nuser default on nopass ~* &* +@all\n", &[]).unwrap_err();
        assert!(
            err.contains("Unsupported by Redoubt (not built yet): ACL users"),
            "{err}"
        );
    }

    #[test]
    fn command_line_options() {
        let c = load(&strings(&[
            "--port",
            "7001",
            "--bind",
            "127.0.0.1",
            "::1",
            "--requirepass",
            "a b",
        ]))
        .unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.requirepass.as_deref(), Some(&b"a b"[..]));
        assert_eq!(c.config_file, None);
        // Options override the file; `"--name value"` in one argument works.
        let c = load_text("port 1\nmaxclients 5\n", &["--port 2", "--maxclients", "6"]).unwrap();
        assert_eq!((c.port, c.maxclients), (2, 6));
        // `--save` alone means save "" (before another option or at the end).
        assert!(load(&strings(&["--save", "--port", "3"]))
            .unwrap()
            .save
            .is_empty());
        assert!(load(&strings(&["--port", "3", "--save"]))
            .unwrap()
            .save
            .is_empty());
        // A value may start with "--" right after a bare option name.
        let c = load(&strings(&["--requirepass", "--secret"])).unwrap();
        assert_eq!(c.requirepass.as_deref(), Some(&b"--secret"[..]));
        // `-` (first or last) reads stdin; elsewhere it is a value.
        assert_eq!(
            parse_command_line(&strings(&["-", "--port", "1"])),
            (None, true, b"port \"1\" ".to_vec())
        );
        assert_eq!(
            parse_command_line(&strings(&["a.conf", "-"])),
            (Some("a.conf".into()), true, vec![])
        );
        assert!(parse_command_line(&strings(&["--port", "1", "-"])).1);
        assert!(!parse_command_line(&strings(&["--port", "-", "--hz", "1"])).1);
        // The config file path is made absolute, folding leading ../ as Redis does.
        assert_eq!(absolute_path("../b/c.conf", "/x/y"), "/x/b/c.conf");
        assert_eq!(absolute_path(" c.conf\n", "/x/y/"), "/x/y/c.conf");
        assert_eq!(absolute_path("../../../c.conf", "/x"), "/c.conf");
        assert_eq!(absolute_path("/abs.conf", "/x"), "/abs.conf");
    }

    #[test]
    fn command_line_errors_report_options_as_lines() {
        let b = "Bad directive or wrong number of arguments";
        let w = "wrong number of arguments";
        let cases: &[(&[&str], usize, &str, &str)] = &[
            (
                &["--port", "0", "--bind", "127.0.0.1", "::1", "--foo"],
                4,
                "foo",
                b,
            ),
            (&["--port"], 2, "port", w),
            (&["--port", "0", "--maxmemory"], 3, "maxmemory", w),
            (&["--port", "0", "--save", "--foo", "1"], 4, "foo \"1\"", b),
            (&["--port 0", "--foo"], 3, "foo", b),
            (
                &["--port", "0 1"],
                2,
                "port \"0 1\"",
                "argument couldn't be parsed into an integer",
            ),
            (
                &["--port", "0", "--foo bar", "baz"],
                3,
                "foo bar \"baz\"",
                b,
            ),
            (&["--port", "0", "foo"], 2, "port \"0\" \"foo\"", w),
            (&["--port", "0", "-", "--foo"], 2, "port \"0\" \"-\"", w),
            (
                &["--port", "0", "--loglevel", "a\\b\"c\td"],
                3,
                "loglevel \"a\\\\b\\\"c\\td\"",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
        ];
        for (args, line, shown, err) in cases {
            assert_eq!(
                load(&strings(args)).unwrap_err(),
                fatal_at(*line, shown, err),
                "{args:?}"
            );
        }
        // After a file, options start after its lines and an empty one.
        let err = load_text("port 0\n", &["--port", "abc"]).unwrap_err();
        assert_eq!(
            err,
            fatal_at(
                3,
                "port \"abc\"",
                "argument couldn't be parsed into an integer"
            )
        );
    }

    #[test]
    fn set_errors_match_redis() {
        let mut c = Config::default();
        let unknown =
            |n: &str| format!("ERR Unknown option or number of arguments for CONFIG SET - '{n}'");
        let immutable = "can't set immutable config";
        assert_eq!(set1(&mut c, "foo", "bar").unwrap_err(), unknown("foo"));
        assert_eq!(
            set1(&mut c, "maxclients", "abc").unwrap_err(),
            set_failed("maxclients", "argument couldn't be parsed into an integer")
        );
        assert_eq!(
            set1(&mut c, "daemonize", "yes").unwrap_err(),
            set_failed("daemonize", immutable)
        );
        assert_eq!(
            set1(&mut c, "SLAVEOF", "a 1").unwrap_err(),
            set_failed("SLAVEOF", immutable)
        );
        assert_eq!(
            set1(&mut c, "dir", "/tmp").unwrap_err(),
            set_failed("dir", "can't set protected config")
        );
        assert_eq!(
            set1(&mut c, "dbfilename", "x.rdb").unwrap_err(),
            set_failed("dbfilename", "can't set protected config")
        );
        let s = |c: &mut Config, a: &[&str]| {
            let a: Vec<&[u8]> = a.iter().map(|x| x.as_bytes()).collect();
            c.set_args(&a, false)
        };
        assert_eq!(
            s(&mut c, &["port", "1", "port", "2"]).unwrap_err(),
            set_failed("port", "duplicate parameter")
        );
        assert_eq!(
            s(&mut c, &["maxmemory", "10mb", "MAXMEMORY", "5"]).unwrap_err(),
            set_failed("MAXMEMORY", "duplicate parameter")
        );
        // The first problem wins.
        assert_eq!(
            s(
                &mut c,
                &["maxmemory", "10mb", "foo", "bar", "daemonize", "yes"]
            )
            .unwrap_err(),
            unknown("foo")
        );
        assert_eq!(
            s(&mut c, &["daemonize", "yes", "foo", "bar"]).unwrap_err(),
            set_failed("daemonize", immutable)
        );
        assert_eq!(
            s(
                &mut c,
                &["daemonize", "yes", "maxmemory", "1", "maxmemory", "2"]
            )
            .unwrap_err(),
            set_failed("daemonize", immutable)
        );
        assert_eq!(
            s(&mut c, &["maxmemory", "1", "x"]).unwrap_err(),
            "ERR syntax error"
        );
        // Errors name the alias when the alias was used.
        assert_eq!(
            set1(&mut c, "SLAVE-read-only", "maybe").unwrap_err(),
            set_failed("slave-read-only", "argument must be 'yes' or 'no'")
        );
        // An alias and its name are distinct parameters for the duplicate check.
        s(
            &mut c,
            &["slave-read-only", "yes", "replica-read-only", "yes"],
        )
        .unwrap();
        let cases: &[(&str, &str, &str)] = &[
            (
                "maxmemory-policy",
                "bad",
                "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
            ),
            ("hz", "-1", "argument must be between 0 and 2147483647 inclusive"),
            ("maxmemory", "-1", "argument must be a memory value"),
            ("maxmemory", "1.5k", "argument must be a memory value"),
            ("maxmemory", " 1k", "argument must be a memory value"),
            ("maxmemory", "1K ", "argument must be a memory value"),
            ("proto-max-bulk-len", "100", "argument must be between 1048576 and 9223372036854775807 inclusive"),
            ("maxmemory-clients", "101%", "percentage argument must be less or equal to 100"),
            ("maxmemory-clients", "-5", "argument must be a memory or percent value"),
            ("port", "+5", "argument couldn't be parsed into an integer"),
            ("port", " 5", "argument couldn't be parsed into an integer"),
            ("port", "05", "argument couldn't be parsed into an integer"),
            ("timeout", "-1", "argument must be between 0 and 2147483647 inclusive"),
            (
                "slowlog-log-slower-than",
                "-2",
                "argument must be between -1 and 9223372036854775807 inclusive",
            ),
            ("slowlog-max-len", "-1", "argument must be between 0 and 9223372036854775807 inclusive"),
            ("maxclients", "0", "argument must be between 1 and 4294967295 inclusive"),
            ("maxclients", "-1", "argument must be between 1 and 4294967295 inclusive"),
            (
                "list-max-listpack-size",
                "99999999999",
                "argument must be between -2147483648 and 2147483647 inclusive",
            ),
            ("acllog-max-len", "18446744073709551615", "argument couldn't be parsed into an integer"),
            (
                "client-query-buffer-limit",
                "18446744073709551615",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
            ("active-defrag-ignore-bytes", "", "argument must be between 1 and 9223372036854775807 inclusive"),
            ("hash-max-listpack-entries", "-1", "argument must be between 0 and 9223372036854775807 inclusive"),
            (
                "shutdown-on-sigint",
                "save nosave",
                "shutdown options SAVE and NOSAVE can't be used simultaneously",
            ),
            (
                "shutdown-on-sigint",
                "now  force",
                "argument(s) must be one of the following: default, save, nosave, now, force",
            ),
            (
                "shutdown-on-sigint",
                "",
                "argument(s) must be one of the following: default, save, nosave, now, force",
            ),
            (
                "loglevel",
                "notice warning",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
            ("acl-pubsub-default", "x", "argument(s) must be one of the following: allchannels, resetchannels"),
            ("oom-score-adj-values", "1 2", "wrong number of arguments"),
            (
                "oom-score-adj-values",
                "1 2 x",
                "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
            ),
            (
                "oom-score-adj-values",
                "1 2 3000",
                "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
            ),
            (
                "latency-tracking-info-percentiles",
                "101",
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
            ),
            (
                "latency-tracking-info-percentiles",
                "x",
                "Invalid latency-tracking-info-percentiles parameters",
            ),
            (
                "client-output-buffer-limit",
                "normal 1 2 -3",
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            ),
            (
                "client-output-buffer-limit",
                "x",
                "Wrong number of arguments in buffer limit configuration.",
            ),
            ("proc-title-template", "{foo}", "template format is invalid or contains unknown variables"),
            ("proc-title-template", "{title}", "template format is invalid or contains unknown variables"),
            (
                "cluster-announce-hostname",
                "a_b",
                "Hostnames may only contain alphanumeric characters, hyphens or dots",
            ),
            ("save", "0 1", "Invalid save parameters"),
            ("save", "1 -1", "Invalid save parameters"),
            ("save", "  ", "Invalid save parameters"),
            ("save", "100 10 ", "Invalid save parameters"),
            ("save", "100 1x", "Invalid save parameters"),
            ("notify-keyspace-events", "K E", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
            (
                "activedefrag",
                "yes",
                "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution",
            ),
        ];
        let before = c.clone();
        for (name, value, why) in cases {
            assert_eq!(
                set1(&mut c, name, value).unwrap_err(),
                set_failed(name, why),
                "{name} {value:?}"
            );
            assert_eq!(c, before, "{name} {value:?} left a change behind");
        }
    }

    #[test]
    fn set_values_are_parsed_and_formatted_as_redis_does() {
        let mut c = Config::default();
        let cases: &[(&str, &str, &str)] = &[
            ("maxmemory", "1GB", "1073741824"),
            ("maxmemory", "1b", "1"),
            ("maxmemory", "1kB", "1024"),
            ("maxmemory", "1k", "1000"),
            ("maxmemory", "2m", "2000000"),
            ("maxmemory", "", "0"),
            ("maxmemory", "18446744073709551615", "18446744073709551615"),
            ("auto-aof-rewrite-min-size", "", "0"),
            ("hz", "1000", "500"),
            ("hz", "0", "1"),
            ("hz", "10", "10"),
            ("notify-keyspace-events", "KEA", "AKE"),
            ("notify-keyspace-events", "xgKE", "gxKE"),
            ("notify-keyspace-events", "$lshzxetmdnK", "$lshzxetdnKm"),
            ("notify-keyspace-events", "An", "A"),
            ("notify-keyspace-events", "", ""),
            ("shutdown-on-sigint", "now nosave force", "nosave now force"),
            ("shutdown-on-sigint", "default now", "now"),
            ("shutdown-on-sigint", "NOW", "now"),
            ("shutdown-on-sigint", "default", "default"),
            ("loglevel", "WARNING", "warning"),
            ("oom-score-adj-values", "-1 2 3", "-1 2 3"),
            (
                "latency-tracking-info-percentiles",
                "50.0 99.00 1e1",
                "50 99 10",
            ),
            (
                "latency-tracking-info-percentiles",
                "0.0001 33.3333333",
                "0.0001 33.333333",
            ),
            ("latency-tracking-info-percentiles", "", ""),
            (
                "client-output-buffer-limit",
                "replica 1mb 2kb 3",
                "normal 0 0 0 slave 1048576 2048 3 pubsub 33554432 8388608 60",
            ),
            (
                "client-output-buffer-limit",
                "NORMAL 1k 2 3 pubsub 0 0 0",
                "normal 1000 2 3 slave 1048576 2048 3 pubsub 0 0 0",
            ),
            (
                "client-output-buffer-limit",
                "",
                "normal 1000 2 3 slave 1048576 2048 3 pubsub 0 0 0",
            ),
            ("cluster-announce-hostname", "a-b.c", "a-b.c"),
            ("bind-source-addr", "x", "x"),
            ("bind-source-addr", "", ""),
            ("masteruser", "", ""),
            ("save", "", ""),
            ("bind", "127.0.0.1   ::1", "127.0.0.1   ::1"),
            ("maxmemory-clients", "0%", "0"),
            ("slave-priority", "5", "5"),
            ("repl-diskless-load", "SWAPDB", "swapdb"),
            ("oom-score-adj", "no", "no"),
        ];
        for (name, value, shown) in cases {
            set1(&mut c, name, value).unwrap_or_else(|e| panic!("{name} {value:?}: {e}"));
            assert_eq!(get1(&c, name), *shown, "{name} {value:?}");
        }
        assert_eq!(
            c.bind,
            vec!["127.0.0.1", "", "", "::1"],
            "CONFIG SET splits on single spaces"
        );
        assert_eq!(c.replica_priority, 5);
        assert_eq!(get1(&c, "replica-priority"), "5");
        assert_eq!(c.notify_keyspace_events_flags, 0);
        let changed = c
            .set_from(
                &[(b"maxmemory", b"5mb"), (b"hz", b"10"), (b"timeout", b"7")],
                false,
            )
            .unwrap();
        assert_eq!(changed, vec!["maxmemory", "timeout"]);
        assert_eq!((c.maxmemory, c.timeout), (5 << 20, 7));
    }

    #[test]
    fn set_is_all_or_nothing() {
        let mut c = Config::default();
        let before = c.clone();
        let err = c
            .set(&[
                (b"maxmemory", b"10mb"),
                (b"timeout", b"5"),
                (b"maxmemory-policy", b"bad"),
            ])
            .unwrap_err();
        assert!(err.starts_with(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')"
        ));
        assert_eq!(c, before);
        assert_eq!(get1(&c, "maxmemory"), "0");
        c.set(&[(b"maxmemory", b"10mb"), (b"timeout", b"5")])
            .unwrap();
        assert_eq!((c.maxmemory, c.timeout), (10 << 20, 5));
    }

    #[test]
    fn set_refuses_features_not_built() {
        let mut c = Config::default();
        for (name, value) in [
            ("tls-port", "6380"),
            ("tls-replication", "yes"),
            ("oom-score-adj", "yes"),
            ("maxmemory-clients", "10%"),
        ] {
            let err = set1(&mut c, name, value).unwrap_err();
            assert!(
                err.starts_with(&set_failed(
                    name,
                    "Unsupported by Redoubt (not built yet): "
                )),
                "{name}: {err}"
            );
        }
        assert_eq!(c, Config::default());
    }

    #[test]
    fn protected_configs_and_dir() {
        let d = temp_dir("dir");
        std::fs::create_dir(d.join("sub")).unwrap();
        write(&d, "file", "");
        let mut c = load_text(
            &format!("enable-protected-configs local\ndir {}\n", d.display()),
            &[],
        )
        .unwrap();
        assert_eq!(c.dir, d.to_string_lossy());
        assert_eq!(
            set1(&mut c, "dir", "sub").unwrap_err(),
            set_failed("dir", "can't set protected config")
        );
        let set_local =
            |c: &mut Config, n: &str, v: &str| c.set_from(&[(n.as_bytes(), v.as_bytes())], true);
        set_local(&mut c, "dir", "sub").unwrap();
        assert_eq!(get1(&c, "dir"), d.join("sub").to_string_lossy());
        set_local(&mut c, "dir", "..").unwrap();
        assert_eq!(c.dir, d.to_string_lossy());
        assert_eq!(
            set_local(&mut c, "dir", "missing").unwrap_err(),
            set_failed("dir", "No such file or directory")
        );
        assert_eq!(
            set_local(&mut c, "dir", "file").unwrap_err(),
            set_failed("dir", "Not a directory")
        );
        assert_eq!(
            set_local(&mut c, "dir", "").unwrap_err(),
            set_failed("dir", "No such file or directory")
        );
        set_local(&mut c, "dbfilename", "x.rdb").unwrap();
        assert_eq!(
            set_local(&mut c, "dbfilename", "a/x.rdb").unwrap_err(),
            set_failed("dbfilename", "dbfilename can't be a path, just a filename")
        );
        let err = load_text("dir /nonexistent-redoubt-dir\n", &[]).unwrap_err();
        assert_eq!(
            err,
            fatal_at(
                1,
                "dir /nonexistent-redoubt-dir",
                "No such file or directory"
            )
        );
    }

    #[test]
    fn rewrite_matches_redis() {
        let d = temp_dir("rewrite");
        let inc = write(&d, "inc.conf", "hz 11\n");
        let dir = d.display();
        let original = format!(
            "# top comment\nport 0\nunixsocket {dir}/x.sock\nmasteruser bob\n\n\n# after blanks\nmaxmemory 1mb\n\
             MAXMEMORY 2mb\nmasterauth \"x\"\nsave \"\"\nslave-read-only no\n  tcp-keepalive   300   \n\
             list-max-ziplist-entries 5\ninclude {inc}\nclient-output-buffer-limit normal 0 0 0\n\
             client-output-buffer-limit replica 256mb 64mb 60\nbind 127.0.0.1 -::1\nnotify-keyspace-events \"\"\n\
             dir {dir}\nlatency-tracking-info-percentiles 50 99 99.9\nuser default on nopass ~* &* +@all\n\
             logfile \"\"\nhash-max-ziplist-value 64\nappendfilename \"appendonly.aof\"\n"
        );
        let path = write(&d, "redis.conf", &original);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut c = load(std::slice::from_ref(&path)).unwrap();
        // Lines Redoubt could not load, added to the file afterwards.
        std::fs::write(
            &path,
            original.replace("save \"\"\n", "save \"\"\nfoo \"unbalanced\nbar baz\n"),
        )
        .unwrap();
        let args: Vec<&[u8]> = [
            "masteruser",
            "",
            "masterauth",
            "",
            "maxmemory",
            "0",
            "slave-read-only",
            "yes",
            "hz",
            "20",
            "client-output-buffer-limit",
            "normal 1mb 2mb 3",
            "notify-keyspace-events",
            "KEA",
            "bind",
            "127.0.0.1 ::1",
        ]
        .iter()
        .map(|s| s.as_bytes())
        .collect();
        c.set_args(&args, false).unwrap();
        c.rewrite().unwrap();
        // Exactly what redis-server 7.0.15 wrote for the same steps, except that it spells the
        // default user "user default on nopass sanitize-payload ~* &* +@all" after loading one.
        let expected = format!(
            "# top comment\nport 0\nunixsocket \"{dir}/x.sock\"\n\n# after blanks\nmaxmemory 0\n\nsave \"\"\n\
             # ??? foo \"unbalanced\n# ??? bar baz\nreplica-read-only yes\ntcp-keepalive 300\n\
             # ??? list-max-ziplist-entries 5\ninclude {inc}\nclient-output-buffer-limit normal 1mb 2mb 3\n\
             client-output-buffer-limit replica 256mb 64mb 60\nbind 127.0.0.1 ::1\nnotify-keyspace-events \"AKE\"\n\
             dir \"{dir}\"\nlatency-tracking-info-percentiles 50 99 99.9\nuser default on nopass ~* &* +@all\n\
             logfile \"\"\nhash-max-listpack-value 64\nappendfilename \"appendonly.aof\"\n\n\
             # Generated by CONFIG REWRITE\nhz 20\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "the file mode is kept");
        // The rewritten file loads back to the same configuration, and rewriting is stable.
        std::fs::write(&path, expected.replace("# ??? foo \"unbalanced\n", "")).unwrap();
        let again = load(std::slice::from_ref(&path)).unwrap();
        assert_eq!(again.get(&[b"*"]), c.get(&[b"*"]));
        again.rewrite().unwrap();
        let twice = std::fs::read_to_string(&path).unwrap();
        again.rewrite().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), twice);
        let leftovers: Vec<_> = std::fs::read_dir(&*d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().len() > 12)
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }

    #[test]
    fn rewrite_appends_forced_options_after_a_signature() {
        let d = temp_dir("rewrite2");
        let path = write(&d, "redis.conf", "# just a comment\nport 7002\n");
        let mut c = load(std::slice::from_ref(&path)).unwrap();
        c.set(&[
            (b"requirepass", b"p\"w\n"),
            (b"maxmemory", b"3mb"),
            (b"loglevel", b"debug"),
        ])
        .unwrap();
        c.set(&[(b"port", b"6379")]).unwrap();
        c.rewrite().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            &lines[..4],
            [
                "# just a comment",
                "port 6379",
                "",
                "# Generated by CONFIG REWRITE"
            ]
        );
        for l in [
            "requirepass \"p\\\"w\\n\"",
            "maxmemory 3mb",
            "loglevel debug",
            "save 3600 1",
            "save 300 100",
            "save 60 10000",
            &format!("dir \"{}\"", std::env::current_dir().unwrap().display()),
            "latency-tracking-info-percentiles 50 99 99.9",
        ] {
            assert!(lines.contains(&l), "missing {l:?} in\n{text}");
        }
        assert!(
            !text.contains("user default"),
            "no nopass user line with a requirepass"
        );
        assert_eq!(lines.iter().filter(|l| l.starts_with('#')).count(), 2);
        assert_eq!(
            load(&[path]).unwrap().requirepass.as_deref(),
            Some(&b"p\"w\n"[..])
        );
        // A missing file is created; no config file is an error.
        let fresh = d.join("new.conf").to_string_lossy().into_owned();
        let mut c2 = Config {
            config_file: Some(fresh.clone()),
            ..Default::default()
        };
        c2.rewrite().unwrap();
        assert!(std::fs::read_to_string(&fresh)
            .unwrap()
            .starts_with("# Generated by CONFIG REWRITE\n"));
        assert_eq!(
            Config::default().rewrite().unwrap_err(),
            "ERR The server is running without a config file"
        );
        c2.config_file = Some(d.join("no/such/dir.conf").to_string_lossy().into_owned());
        assert_eq!(
            c2.rewrite().unwrap_err(),
            "ERR Rewriting config file: No such file or directory"
        );
    }

    #[test]
    fn rewrite_blanks_default_bind_and_unset_options() {
        // As redis-server 7.0.15: a default `bind` and options now unset lose their lines.
        let d = temp_dir("rewrite3");
        let path = write(
            &d,
            "redis.conf",
            "port 0\nbind * -::*\nmasteruser bob\nreplicaof no one\nmaxmemory 0\n",
        );
        let mut c = load(std::slice::from_ref(&path)).unwrap();
        set1(&mut c, "masteruser", "").unwrap();
        c.rewrite().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let expected_head = "port 0\n\nmaxmemory 0\n\n# Generated by CONFIG REWRITE\n";
        assert!(text.starts_with(expected_head), "{text}");
        assert!(
            text.ends_with("user default on nopass ~* &* +@all\n"),
            "{text}"
        );
    }

    #[test]
    fn debian_stock_config() {
        // /etc/redis/redis.conf from Debian's redis-server package, when installed: it must load,
        // with only its machine-specific paths pointed at a temp dir.
        let Ok(stock) = std::fs::read_to_string("/etc/redis/redis.conf") else {
            return;
        };
        let d = temp_dir("debian");
        let adapted: String = stock
            .lines()
            .map(|l| match l.split_whitespace().next() {
                Some("dir") => format!("dir {}", d.display()),
                Some("logfile") => format!("logfile {}/redis.log", d.display()),
                Some("pidfile") => format!("pidfile {}/redis.pid", d.display()),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = load_text(&adapted, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.bind, vec!["127.0.0.1", "-::1"]);
        assert!(c.daemonize && c.protected_mode);
        assert_eq!(c.port, 6379);
        // Debian's systemd unit adds these options.
        let c = load_text(&adapted, &["--supervised", "systemd", "--daemonize", "no"]);
        assert!(c
            .unwrap_err()
            .contains("Unsupported by Redoubt (not built yet): supervision"));
    }

    #[test]
    fn helpers_follow_redis() {
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"1g"), Some(1_000_000_000));
        assert_eq!(memtoull(b"k"), Some(0));
        assert_eq!(memtoull(b"99999999999999999999999"), Some(u64::MAX));
        assert_eq!(memtoull(b"20000000000gb"), None);
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        assert_eq!(string2ll(b"-0"), None);
        assert_eq!(string2ll(b"007"), None);
        assert_eq!(c_strtoll(b"  +12x", 10), (12, 5));
        assert_eq!(c_strtoll(b"", 10), (0, 0));
        assert_eq!(format_memory(3 << 30), "3gb");
        assert_eq!(format_memory((1 << 20) + 1024), "1025kb");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(repr(b"a\\b\"c\t\x01\xff"), b"\"a\\\\b\\\"c\\t\\x01\\xff\"");
        assert_eq!(
            keyspace_events_to_string(notify::ALL | notify::KEY_MISS | notify::NEW),
            "Am"
        );
        assert!(
            is_sensitive(b"REQUIREPASS") && is_sensitive(b"masterauth") && !is_sensitive(b"port")
        );
        assert_eq!(format_percentile(99.9), "99.9");
        assert_eq!(format_percentile(100.0), "100");
        assert_eq!(string2d(b"1e400"), None);
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"nan"), None);
    }
}

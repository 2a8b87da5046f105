//! The command table: one row per command, read by dispatch, COMMAND, and the
//! authentication, transaction and pub/sub checks.

use crate::cmd::{admin, client, connection, multi, pubsub};
use crate::dispatch::Exec;
use std::collections::HashMap;
use std::sync::OnceLock;
use store::cmd::{bits, expire, lcs, geo, hash, hll, keys, list, set, stream, string, zset};

/// How a command runs.
#[derive(Clone, Copy)]
pub enum Handler {
    /// A data command in the `store` crate: (keyspace, args) -> reply.
    Data(fn(&mut store::Ctx)),
    /// A command that needs the server: clients, config, pub/sub, transactions.
    Server(fn(&mut Exec)),
    /// A container whose subcommands are the rows in `subcommands`.
    Container,
    /// A container that also runs on its own, without a subcommand (COMMAND).
    ContainerOr(fn(&mut Exec)),
}

/// Command flags, as COMMAND INFO reports them.
pub mod flag {
    /// May modify the dataset.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads data.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory: refused when over maxmemory.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/sub related.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 6;
    /// Allowed while loading.
    pub const LOADING: u32 = 1 << 7;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 8;
    /// Not shown to MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 9;
    /// Not recorded in SLOWLOG.
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    /// O(1) or O(log n).
    pub const FAST: u32 = 1 << 11;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 12;
    /// May replicate even though it is not a write (PUBLISH, ...).
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 14;
    /// Allowed while a script is busy.
    pub const ALLOW_BUSY: u32 = 1 << 15;

    /// Names in COMMAND INFO's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// One command (or subcommand).
pub struct Command {
    /// Lower-case name (`get`, or `list` for `client|list`).
    pub name: &'static str,
    /// Redis arity: N exact, -N at least N (name included).
    pub arity: i32,
    /// [`flag`] bits.
    pub flags: u32,
    /// Position of the first key (0: none).
    pub first_key: i32,
    /// Position of the last key (-1: last argument).
    pub last_key: i32,
    /// Step between keys.
    pub key_step: i32,
    /// Command group (COMMAND DOCS).
    pub group: &'static str,
    /// One-line summary (COMMAND DOCS).
    pub summary: &'static str,
    /// Version that introduced it.
    pub since: &'static str,
    /// How it runs.
    pub handler: Handler,
    /// Subcommands of a container.
    pub subcommands: &'static [Command],
}

impl Command {
    /// True when `flag` is set.
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// True if `argc` arguments satisfy the arity.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a > 0 && argc as i32 == a) || (a < 0 && argc as i32 >= -a)
    }

    /// The key positions for `argc` arguments.
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 {
            return Vec::new();
        }
        let last = if self.last_key < 0 {
            argc as i32 + self.last_key
        } else {
            self.last_key
        };
        let step = self.key_step.max(1);
        (self.first_key..=last.min(argc as i32 - 1))
            .step_by(step as usize)
            .map(|i| i as usize)
            .collect()
    }
}

use flag::*;
use Handler::{Container, Data, Server};

macro_rules! c {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $group:literal, $since:literal, $h:expr, $summary:literal) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $keys.0,
            last_key: $keys.1,
            key_step: $keys.2,
            group: $group,
            summary: $summary,
            since: $since,
            handler: $h,
            subcommands: &[],
        }
    };
    ($name:literal, $arity:expr, $flags:expr, $group:literal, $since:literal, subs $subs:expr, $summary:literal) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            group: $group,
            summary: $summary,
            since: $since,
            handler: Container,
            subcommands: $subs,
        }
    };
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);
const K1: (i32, i32, i32) = (1, 1, 1);
const K12: (i32, i32, i32) = (1, 2, 1);
const KALL: (i32, i32, i32) = (1, -1, 1);
const KPAIRS: (i32, i32, i32) = (1, -1, 2);

/// Every command the server knows.
#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    // connection
    c!("ping", -1, FAST, NOKEY, "connection", "1.0.0", Server(connection::ping), "Ping the server"),
    c!("echo", 2, LOADING | STALE | FAST, NOKEY, "connection", "1.0.0", Server(connection::echo), "Echo the given string"),
    c!("quit", -1, ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, NOKEY, "connection", "1.0.0", Server(connection::quit), "Close the connection"),
    c!("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEY, "connection", "6.2.0", Server(connection::reset), "Reset the connection"),
    c!("select", 2, LOADING | STALE | FAST, NOKEY, "connection", "1.0.0", Server(connection::select), "Change the selected database for the current connection"),
    c!("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEY, "connection", "6.0.0", Server(connection::hello), "Handshake with Redis"),
    c!("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEY, "connection", "1.0.0", Server(connection::auth), "Authenticate to the server"),
    c!("client", -2, 0, "connection", "2.4.0", subs client::SUBCOMMANDS, "A container for client connection commands"),
    // strings
    c!("get", 2, READONLY | FAST, K1, "string", "1.0.0", Data(string::get), "Get the value of a key"),
    c!("set", -3, WRITE | DENYOOM, K1, "string", "1.0.0", Data(string::set), "Set the string value of a key"),
    c!("setnx", 3, WRITE | DENYOOM | FAST, K1, "string", "1.0.0", Data(string::setnx), "Set the value of a key, only if the key does not exist"),
    c!("setex", 4, WRITE | DENYOOM, K1, "string", "2.0.0", Data(string::setex), "Set the value and expiration of a key"),
    c!("psetex", 4, WRITE | DENYOOM, K1, "string", "2.6.0", Data(string::psetex), "Set the value and expiration in milliseconds of a key"),
    c!("getset", 3, WRITE | DENYOOM | FAST, K1, "string", "1.0.0", Data(string::getset), "Set the string value of a key and return its old value"),
    c!("getdel", 2, WRITE | FAST, K1, "string", "6.2.0", Data(string::getdel), "Get the value of a key and delete the key"),
    c!("getex", -2, WRITE | FAST, K1, "string", "6.2.0", Data(string::getex), "Get the value of a key and optionally set its expiration"),
    c!("mget", -2, READONLY | FAST, KALL, "string", "1.0.0", Data(string::mget), "Get the values of all the given keys"),
    c!("mset", -3, WRITE | DENYOOM, KPAIRS, "string", "1.0.1", Data(string::mset), "Set multiple keys to multiple values"),
    c!("msetnx", -3, WRITE | DENYOOM, KPAIRS, "string", "1.0.1", Data(string::msetnx), "Set multiple keys to multiple values, only if none of the keys exist"),
    c!("append", 3, WRITE | DENYOOM | FAST, K1, "string", "2.0.0", Data(string::append), "Append a value to a key"),
    c!("strlen", 2, READONLY | FAST, K1, "string", "2.2.0", Data(string::strlen), "Get the length of the value stored in a key"),
    c!("getrange", 4, READONLY, K1, "string", "2.4.0", Data(string::getrange), "Get a substring of the string stored at a key"),
    c!("substr", 4, READONLY, K1, "string", "1.0.0", Data(string::getrange), "Get a substring of the string stored at a key"),
    c!("setrange", 4, WRITE | DENYOOM, K1, "string", "2.2.0", Data(string::setrange), "Overwrite part of a string at key starting at the specified offset"),
    c!("incr", 2, WRITE | DENYOOM | FAST, K1, "string", "1.0.0", Data(string::incr), "Increment the integer value of a key by one"),
    c!("decr", 2, WRITE | DENYOOM | FAST, K1, "string", "1.0.0", Data(string::decr), "Decrement the integer value of a key by one"),
    c!("incrby", 3, WRITE | DENYOOM | FAST, K1, "string", "1.0.0", Data(string::incrby), "Increment the integer value of a key by the given amount"),
    c!("decrby", 3, WRITE | DENYOOM | FAST, K1, "string", "1.0.0", Data(string::decrby), "Decrement the integer value of a key by the given number"),
    c!("incrbyfloat", 3, WRITE | DENYOOM | FAST, K1, "string", "2.6.0", Data(string::incrbyfloat), "Increment the float value of a key by the given amount"),
    c!("lcs", -3, READONLY, K12, "string", "7.0.0", Data(lcs::lcs), "Find longest common substring"),
    // bitmaps
    c!("setbit", 4, WRITE | DENYOOM, K1, "bitmap", "2.2.0", Data(bits::setbit), "Sets or clears the bit at offset in the string value stored at key"),
    c!("getbit", 3, READONLY | FAST, K1, "bitmap", "2.2.0", Data(bits::getbit), "Returns the bit value at offset in the string value stored at key"),
    c!("bitcount", -2, READONLY, K1, "bitmap", "2.6.0", Data(bits::bitcount), "Count set bits in a string"),
    c!("bitpos", -3, READONLY, K1, "bitmap", "2.8.7", Data(bits::bitpos), "Find first bit set or clear in a string"),
    c!("bitop", -4, WRITE | DENYOOM, (2, -1, 1), "bitmap", "2.6.0", Data(bits::bitop), "Perform bitwise operations between strings"),
    c!("bitfield", -2, WRITE | DENYOOM, K1, "bitmap", "3.2.0", Data(bits::bitfield), "Perform arbitrary bitfield integer operations on strings"),
    c!("bitfield_ro", -2, READONLY | FAST, K1, "bitmap", "6.0.0", Data(bits::bitfield_ro), "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD"),
    // lists (rows owned by the lists work)
    // hashes (rows owned by the hashes/sets work)
    // sets (rows owned by the hashes/sets work)
    // sorted sets (rows owned by the sorted-sets/geo work)
    // geo (rows owned by the sorted-sets/geo work)
    // streams (rows owned by the streams work)
    // hyperloglog (rows owned by the hyperloglog work)
    // pub/sub
    c!("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, NOKEY, "pubsub", "2.0.0", Server(pubsub::subscribe), "Listen for messages published to the given channels"),
    c!("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, NOKEY, "pubsub", "2.0.0", Server(pubsub::unsubscribe), "Stop listening for messages posted to the given channels"),
    c!("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, NOKEY, "pubsub", "2.0.0", Server(pubsub::psubscribe), "Listen for messages published to channels matching the given patterns"),
    c!("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, NOKEY, "pubsub", "2.0.0", Server(pubsub::punsubscribe), "Stop listening for messages posted to channels matching the given patterns"),
    c!("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, NOKEY, "pubsub", "2.0.0", Server(pubsub::publish), "Post a message to a channel"),
    c!("pubsub", -2, 0, "pubsub", "2.8.0", subs pubsub::SUBCOMMANDS, "A container for Pub/Sub commands"),
    // transactions
    c!("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEY, "transactions", "1.2.0", Server(multi::multi), "Mark the start of a transaction block"),
    c!("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, NOKEY, "transactions", "1.2.0", Server(multi::exec), "Execute all commands issued after MULTI"),
    c!("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEY, "transactions", "2.0.0", Server(multi::discard), "Discard all commands issued after MULTI"),
    c!("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KALL, "transactions", "2.2.0", Server(multi::watch), "Watch the given keys to determine execution of the MULTI/EXEC block"),
    c!("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEY, "transactions", "2.2.0", Server(multi::unwatch), "Forget about all watched keys"),
    // server
    c!("info", -1, LOADING | STALE, NOKEY, "server", "1.0.0", Server(admin::info), "Get information and statistics about the server"),
    c!("config", -2, 0, "server", "2.0.0", subs admin::CONFIG_SUBCOMMANDS, "A container for server configuration commands"),
    Command {
        name: "command",
        arity: -1,
        flags: LOADING | STALE,
        first_key: 0,
        last_key: 0,
        key_step: 0,
        group: "server",
        summary: "Get array of Redis command details",
        since: "2.8.13",
        handler: Handler::ContainerOr(admin::command_all),
        subcommands: admin::COMMAND_SUBCOMMANDS,
    },
    c!("time", 1, LOADING | STALE | FAST, NOKEY, "server", "2.6.0", Server(admin::time), "Return the current server time"),
    c!("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, NOKEY, "server", "1.0.0", Server(admin::shutdown), "Synchronously save the dataset to disk and then shut down the server"),
    c!("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, NOKEY, "server", "1.0.0", Server(admin::monitor), "Listen for all requests received by the server in real time"),
    c!("slowlog", -2, 0, "server", "2.2.12", subs admin::SLOWLOG_SUBCOMMANDS, "A container for slow log commands"),
    c!("latency", -2, 0, "server", "2.8.13", subs admin::LATENCY_SUBCOMMANDS, "A container for latency diagnostics commands"),
    c!("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, NOKEY, "server", "1.0.0", Server(admin::debug), "A container for debugging commands"),
    c!("lastsave", 1, LOADING | STALE | FAST, NOKEY, "server", "1.0.0", Server(admin::lastsave), "Get the UNIX time stamp of the last successful save to disk"),
    // keys
    c!("del", -2, WRITE, KALL, "generic", "1.0.0", Data(keys::del), "Delete a key"),
    c!("unlink", -2, WRITE | FAST, KALL, "generic", "4.0.0", Data(keys::unlink), "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking."),
    c!("exists", -2, READONLY | FAST, KALL, "generic", "1.0.0", Data(keys::exists), "Determine if a key exists"),
    c!("type", 2, READONLY | FAST, K1, "generic", "1.0.0", Data(keys::type_), "Determine the type stored at key"),
    c!("rename", 3, WRITE, K12, "generic", "1.0.0", Data(keys::rename), "Rename a key"),
    c!("renamenx", 3, WRITE | FAST, K12, "generic", "1.0.0", Data(keys::renamenx), "Rename a key, only if the new key does not exist"),
    c!("copy", -3, WRITE | DENYOOM, K12, "generic", "6.2.0", Data(keys::copy), "Copy a key"),
    c!("move", 3, WRITE | FAST, K1, "generic", "1.0.0", Data(keys::move_), "Move a key to another database"),
    c!("swapdb", 3, WRITE | FAST, NOKEY, "server", "4.0.0", Data(keys::swapdb), "Swaps two Redis databases"),
    c!("keys", 2, READONLY, NOKEY, "generic", "1.0.0", Data(keys::keys), "Find all keys matching the given pattern"),
    c!("scan", -2, READONLY, NOKEY, "generic", "2.8.0", Data(keys::scan), "Incrementally iterate the keys space"),
    c!("randomkey", 1, READONLY, NOKEY, "generic", "1.0.0", Data(keys::randomkey), "Return a random key from the keyspace"),
    c!("touch", -2, READONLY | FAST, KALL, "generic", "3.2.1", Data(keys::touch), "Alters the last access time of a key(s). Returns the number of existing keys specified."),
    c!("dbsize", 1, READONLY | FAST, NOKEY, "server", "1.0.0", Data(keys::dbsize), "Return the number of keys in the selected database"),
    c!("flushdb", -1, WRITE, NOKEY, "server", "1.0.0", Data(keys::flushdb), "Remove all keys from the current database"),
    c!("flushall", -1, WRITE, NOKEY, "server", "1.0.0", Data(keys::flushall), "Remove all keys from all databases"),
    c!("object", -2, 0, "generic", "2.2.3", subs OBJECT_SUBCOMMANDS, "A container for object introspection commands"),
    c!("memory", -2, 0, "server", "4.0.0", subs MEMORY_SUBCOMMANDS, "A container for memory diagnostics commands"),
    // expiry
    c!("expire", -3, WRITE | FAST, K1, "generic", "1.0.0", Data(expire::expire), "Set a key's time to live in seconds"),
    c!("pexpire", -3, WRITE | FAST, K1, "generic", "2.6.0", Data(expire::pexpire), "Set a key's time to live in milliseconds"),
    c!("expireat", -3, WRITE | FAST, K1, "generic", "1.2.0", Data(expire::expireat), "Set the expiration for a key as a UNIX timestamp"),
    c!("pexpireat", -3, WRITE | FAST, K1, "generic", "2.6.0", Data(expire::pexpireat), "Set the expiration for a key as a UNIX timestamp specified in milliseconds"),
    c!("ttl", 2, READONLY | FAST, K1, "generic", "1.0.0", Data(expire::ttl), "Get the time to live for a key in seconds"),
    c!("pttl", 2, READONLY | FAST, K1, "generic", "2.6.0", Data(expire::pttl), "Get the time to live for a key in milliseconds"),
    c!("expiretime", 2, READONLY | FAST, K1, "generic", "7.0.0", Data(expire::expiretime), "Get the expiration Unix timestamp for a key"),
    c!("pexpiretime", 2, READONLY | FAST, K1, "generic", "7.0.0", Data(expire::pexpiretime), "Get the expiration Unix timestamp for a key in milliseconds"),
    c!("persist", 2, WRITE | FAST, K1, "generic", "2.2.0", Data(expire::persist), "Remove the expiration from a key"),
];

/// OBJECT subcommands.
#[rustfmt::skip]
pub static OBJECT_SUBCOMMANDS: &[Command] = &[
    c!("encoding", 3, READONLY, (2, 2, 1), "generic", "2.2.3", Data(keys::object_encoding), "Inspect the internal encoding of a Redis object"),
    c!("refcount", 3, READONLY, (2, 2, 1), "generic", "2.2.3", Data(keys::object_refcount), "Get the number of references to the value of the key"),
    c!("idletime", 3, READONLY, (2, 2, 1), "generic", "2.2.3", Data(keys::object_idletime), "Get the time since a Redis object was last accessed"),
    c!("freq", 3, READONLY, (2, 2, 1), "generic", "4.0.0", Data(keys::object_freq), "Get the logarithmic access frequency counter of a Redis object"),
    c!("help", 2, LOADING | STALE, NOKEY, "generic", "6.2.0", Data(keys::object_help), "Show helpful text about the different subcommands"),
];

/// MEMORY subcommands.
#[rustfmt::skip]
pub static MEMORY_SUBCOMMANDS: &[Command] = &[
    c!("usage", -3, READONLY, (2, 2, 1), "server", "4.0.0", Data(keys::memory_usage), "Estimate the memory usage of a key"),
    c!("help", 2, LOADING | STALE, NOKEY, "server", "4.0.0", Data(keys::memory_help), "Show helpful text about the different subcommands"),
];

fn index() -> &'static HashMap<&'static str, &'static Command> {
    static INDEX: OnceLock<HashMap<&'static str, &'static Command>> = OnceLock::new();
    INDEX.get_or_init(|| COMMANDS.iter().map(|c| (c.name, c)).collect())
}

/// Finds a command by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    if name.len() > 32 {
        return None;
    }
    let mut lower = [0u8; 32];
    for (i, b) in name.iter().enumerate() {
        lower[i] = b.to_ascii_lowercase();
    }
    let s = std::str::from_utf8(&lower[..name.len()]).ok()?;
    index().get(s).copied()
}

/// Finds a subcommand of a container, case-insensitively.
pub fn lookup_sub(container: &'static Command, name: &[u8]) -> Option<&'static Command> {
    container
        .subcommands
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// `name` or `container|name`, as errors and statistics spell a command.
pub fn full_name(parent: Option<&Command>, cmd: &Command) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, cmd.name),
        None => cmd.name.to_string(),
    }
}

/// `name` or `container|name` without allocating (statistics on the hot path).
pub fn static_name(parent: Option<&Command>, cmd: &'static Command) -> &'static str {
    static SUBNAMES: OnceLock<HashMap<usize, &'static str>> = OnceLock::new();
    match parent {
        None => cmd.name,
        Some(_) => SUBNAMES
            .get_or_init(|| {
                let mut m = HashMap::new();
                for c in COMMANDS {
                    for s in c.subcommands {
                        let name: &'static str = Box::leak(format!("{}|{}", c.name, s.name).into_boxed_str());
                        m.insert(s as *const Command as usize, name);
                    }
                }
                m
            })
            .get(&(cmd as *const Command as usize))
            .copied()
            .unwrap_or(cmd.name),
    }
}

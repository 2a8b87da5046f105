//! The command table: one row per command, read by dispatch, COMMAND, and the
//! authentication, transaction and pub/sub checks.

use crate::cmd::{admin, client, connection, multi, pubsub};
use crate::dispatch::Exec;
use crate::repl;
use crate::script::{eval as script_eval, function as script_fn};
use std::collections::HashMap;
use std::sync::OnceLock;
use store::cmd::{bits, expire, geo, hash, hll, keys, lcs, list, set, stream, string, zset};

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
    /// EVAL/FCALL: the script's declared flags decide write/denyoom/stale (not shown).
    pub const SCRIPT: u32 = 1 << 16;

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
    // replication
    c!("replicaof", 3, ADMIN | NOSCRIPT | STALE, NOKEY, "server", "5.0.0", Server(repl::cmd::replicaof), "Configure a server as replica of another, or promote it to a master."),
    c!("slaveof", 3, ADMIN | NOSCRIPT | STALE, NOKEY, "server", "1.0.0", Server(repl::cmd::replicaof), "Sets a Redis server as a replica of another, or promotes it to being a master."),
    c!("role", 1, NOSCRIPT | LOADING | STALE | FAST, NOKEY, "server", "2.8.12", Server(repl::cmd::role), "Return the role of the instance in the context of replication"),
    c!("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, NOKEY, "server", "3.0.0", Server(repl::cmd::replconf), "An internal command for configuring the replication stream"),
    c!("psync", -3, ADMIN | NOSCRIPT | NO_MULTI, NOKEY, "server", "2.8.0", Server(repl::primary::psync), "An internal command used in replication"),
    c!("sync", 1, ADMIN | NOSCRIPT | NO_MULTI, NOKEY, "server", "1.0.0", Server(repl::primary::sync), "Internal command used for replication"),
    c!("wait", 3, NOSCRIPT, NOKEY, "generic", "3.0.0", Server(repl::cmd::wait), "Wait for the synchronous replication of all the write commands sent in the context of the current connection"),
    c!("failover", -1, ADMIN | NOSCRIPT | STALE, NOKEY, "server", "6.2.0", Server(repl::cmd::failover), "Start a coordinated failover between this server and one of its replicas."),
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
    c!("lpush", -3, WRITE | DENYOOM | FAST, K1, "list", "1.0.0", Data(list::lpush), "Prepend one or multiple elements to a list"),
    c!("rpush", -3, WRITE | DENYOOM | FAST, K1, "list", "1.0.0", Data(list::rpush), "Append one or multiple elements to a list"),
    c!("lpushx", -3, WRITE | DENYOOM | FAST, K1, "list", "2.2.0", Data(list::lpushx), "Prepend an element to a list, only if the list exists"),
    c!("rpushx", -3, WRITE | DENYOOM | FAST, K1, "list", "2.2.0", Data(list::rpushx), "Append an element to a list, only if the list exists"),
    c!("lpop", -2, WRITE | FAST, K1, "list", "1.0.0", Data(list::lpop), "Remove and get the first elements in a list"),
    c!("rpop", -2, WRITE | FAST, K1, "list", "1.0.0", Data(list::rpop), "Remove and get the last elements in a list"),
    c!("llen", 2, READONLY | FAST, K1, "list", "1.0.0", Data(list::llen), "Get the length of a list"),
    c!("lrange", 4, READONLY, K1, "list", "1.0.0", Data(list::lrange), "Get a range of elements from a list"),
    c!("lindex", 3, READONLY, K1, "list", "1.0.0", Data(list::lindex), "Get an element from a list by its index"),
    c!("lset", 4, WRITE | DENYOOM, K1, "list", "1.0.0", Data(list::lset), "Set the value of an element in a list by its index"),
    c!("linsert", 5, WRITE | DENYOOM, K1, "list", "2.2.0", Data(list::linsert), "Insert an element before or after another element in a list"),
    c!("lrem", 4, WRITE, K1, "list", "1.0.0", Data(list::lrem), "Remove elements from a list"),
    c!("ltrim", 4, WRITE, K1, "list", "1.0.0", Data(list::ltrim), "Trim a list to the specified range"),
    c!("lpos", -3, READONLY, K1, "list", "6.0.6", Data(list::lpos), "Return the index of matching elements on a list"),
    c!("lmove", 5, WRITE | DENYOOM, K12, "list", "6.2.0", Data(list::lmove), "Pop an element from a list, push it to another list and return it"),
    c!("rpoplpush", 3, WRITE | DENYOOM, K12, "list", "1.2.0", Data(list::rpoplpush), "Remove the last element in a list, prepend it to another list and return it"),
    // LMPOP/BLMPOP keys follow numkeys (movable keys).
    c!("lmpop", -4, WRITE, NOKEY, "list", "7.0.0", Data(list::lmpop), "Pop elements from a list"),
    c!("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "2.0.0", Data(list::blpop), "Remove and get the first element in a list, or block until one is available"),
    c!("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "2.0.0", Data(list::brpop), "Remove and get the last element in a list, or block until one is available"),
    c!("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, K12, "list", "6.2.0", Data(list::blmove), "Pop an element from a list, push it to another list and return it; or block until one is available"),
    c!("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, K12, "list", "2.2.0", Data(list::brpoplpush), "Pop an element from a list, push it to another list and return it; or block until one is available"),
    c!("blmpop", -5, WRITE | BLOCKING, NOKEY, "list", "7.0.0", Data(list::blmpop), "Pop elements from a list, or block until one is available"),
    // hashes (rows owned by the hashes/sets work)
    c!("hset", -4, WRITE | DENYOOM | FAST, K1, "hash", "2.0.0", Data(hash::hset), "Set the string value of a hash field"),
    c!("hsetnx", 4, WRITE | DENYOOM | FAST, K1, "hash", "2.0.0", Data(hash::hsetnx), "Set the value of a hash field, only if the field does not exist"),
    c!("hget", 3, READONLY | FAST, K1, "hash", "2.0.0", Data(hash::hget), "Get the value of a hash field"),
    c!("hmget", -3, READONLY | FAST, K1, "hash", "2.0.0", Data(hash::hmget), "Get the values of all the given hash fields"),
    c!("hmset", -4, WRITE | DENYOOM | FAST, K1, "hash", "2.0.0", Data(hash::hmset), "Set multiple hash fields to multiple values"),
    c!("hdel", -3, WRITE | FAST, K1, "hash", "2.0.0", Data(hash::hdel), "Delete one or more hash fields"),
    c!("hlen", 2, READONLY | FAST, K1, "hash", "2.0.0", Data(hash::hlen), "Get the number of fields in a hash"),
    c!("hstrlen", 3, READONLY | FAST, K1, "hash", "3.2.0", Data(hash::hstrlen), "Get the length of the value of a hash field"),
    c!("hexists", 3, READONLY | FAST, K1, "hash", "2.0.0", Data(hash::hexists), "Determine if a hash field exists"),
    c!("hkeys", 2, READONLY, K1, "hash", "2.0.0", Data(hash::hkeys), "Get all the fields in a hash"),
    c!("hvals", 2, READONLY, K1, "hash", "2.0.0", Data(hash::hvals), "Get all the values in a hash"),
    c!("hgetall", 2, READONLY, K1, "hash", "2.0.0", Data(hash::hgetall), "Get all the fields and values in a hash"),
    c!("hincrby", 4, WRITE | DENYOOM | FAST, K1, "hash", "2.0.0", Data(hash::hincrby), "Increment the integer value of a hash field by the given number"),
    c!("hincrbyfloat", 4, WRITE | DENYOOM | FAST, K1, "hash", "2.6.0", Data(hash::hincrbyfloat), "Increment the float value of a hash field by the given amount"),
    c!("hscan", -3, READONLY, K1, "hash", "2.8.0", Data(hash::hscan), "Incrementally iterate hash fields and associated values"),
    c!("hrandfield", -2, READONLY, K1, "hash", "6.2.0", Data(hash::hrandfield), "Get one or multiple random fields from a hash"),
    // sets (rows owned by the hashes/sets work)
    c!("sadd", -3, WRITE | DENYOOM | FAST, K1, "set", "1.0.0", Data(set::sadd), "Add one or more members to a set"),
    c!("srem", -3, WRITE | FAST, K1, "set", "1.0.0", Data(set::srem), "Remove one or more members from a set"),
    c!("scard", 2, READONLY | FAST, K1, "set", "1.0.0", Data(set::scard), "Get the number of members in a set"),
    c!("sismember", 3, READONLY | FAST, K1, "set", "1.0.0", Data(set::sismember), "Determine if a given value is a member of a set"),
    c!("smismember", -3, READONLY | FAST, K1, "set", "6.2.0", Data(set::smismember), "Returns the membership associated with the given elements for a set"),
    c!("smembers", 2, READONLY, K1, "set", "1.0.0", Data(set::smembers), "Get all the members in a set"),
    c!("spop", -2, WRITE | FAST, K1, "set", "1.0.0", Data(set::spop), "Remove and return one or multiple random members from a set"),
    c!("srandmember", -2, READONLY, K1, "set", "1.0.0", Data(set::srandmember), "Get one or multiple random members from a set"),
    c!("smove", 4, WRITE | FAST, K12, "set", "1.0.0", Data(set::smove), "Move a member from one set to another"),
    c!("sinter", -2, READONLY, KALL, "set", "1.0.0", Data(set::sinter), "Intersect multiple sets"),
    // Keys follow numkeys (movable keys).
    c!("sintercard", -3, READONLY, NOKEY, "set", "7.0.0", Data(set::sintercard), "Intersect multiple sets and return the cardinality of the result"),
    c!("sinterstore", -3, WRITE | DENYOOM, KALL, "set", "1.0.0", Data(set::sinterstore), "Intersect multiple sets and store the resulting set in a key"),
    c!("sunion", -2, READONLY, KALL, "set", "1.0.0", Data(set::sunion), "Add multiple sets"),
    c!("sunionstore", -3, WRITE | DENYOOM, KALL, "set", "1.0.0", Data(set::sunionstore), "Add multiple sets and store the resulting set in a key"),
    c!("sdiff", -2, READONLY, KALL, "set", "1.0.0", Data(set::sdiff), "Subtract multiple sets"),
    c!("sdiffstore", -3, WRITE | DENYOOM, KALL, "set", "1.0.0", Data(set::sdiffstore), "Subtract multiple sets and store the resulting set in a key"),
    c!("sscan", -3, READONLY, K1, "set", "2.8.0", Data(set::sscan), "Incrementally iterate Set elements"),
    // sorted sets (rows owned by the sorted-sets/geo work)
    c!("zadd", -4, WRITE | DENYOOM | FAST, K1, "sorted-set", "1.2.0", Data(zset::zadd), "Add one or more members to a sorted set, or update its score if it already exists"),
    c!("zincrby", 4, WRITE | DENYOOM | FAST, K1, "sorted-set", "1.2.0", Data(zset::zincrby), "Increment the score of a member in a sorted set"),
    c!("zrem", -3, WRITE | FAST, K1, "sorted-set", "1.2.0", Data(zset::zrem), "Remove one or more members from a sorted set"),
    c!("zcard", 2, READONLY | FAST, K1, "sorted-set", "1.2.0", Data(zset::zcard), "Get the number of members in a sorted set"),
    c!("zscore", 3, READONLY | FAST, K1, "sorted-set", "1.2.0", Data(zset::zscore), "Get the score associated with the given member in a sorted set"),
    c!("zmscore", -3, READONLY | FAST, K1, "sorted-set", "6.2.0", Data(zset::zmscore), "Get the score associated with the given members in a sorted set"),
    c!("zrank", 3, READONLY | FAST, K1, "sorted-set", "2.0.0", Data(zset::zrank), "Determine the index of a member in a sorted set"),
    c!("zrevrank", 3, READONLY | FAST, K1, "sorted-set", "2.0.0", Data(zset::zrevrank), "Determine the index of a member in a sorted set, with scores ordered from high to low"),
    c!("zcount", 4, READONLY | FAST, K1, "sorted-set", "2.0.0", Data(zset::zcount), "Count the members in a sorted set with scores within the given values"),
    c!("zlexcount", 4, READONLY | FAST, K1, "sorted-set", "2.8.9", Data(zset::zlexcount), "Count the number of members in a sorted set between a given lexicographical range"),
    c!("zrange", -4, READONLY, K1, "sorted-set", "1.2.0", Data(zset::zrange), "Return a range of members in a sorted set"),
    c!("zrangestore", -5, WRITE | DENYOOM, K12, "sorted-set", "6.2.0", Data(zset::zrangestore), "Store a range of members from sorted set into another key"),
    c!("zrevrange", -4, READONLY, K1, "sorted-set", "1.2.0", Data(zset::zrevrange), "Return a range of members in a sorted set, by index, with scores ordered from high to low"),
    c!("zrangebyscore", -4, READONLY, K1, "sorted-set", "1.0.5", Data(zset::zrangebyscore), "Return a range of members in a sorted set, by score"),
    c!("zrevrangebyscore", -4, READONLY, K1, "sorted-set", "2.2.0", Data(zset::zrevrangebyscore), "Return a range of members in a sorted set, by score, with scores ordered from high to low"),
    c!("zrangebylex", -4, READONLY, K1, "sorted-set", "2.8.9", Data(zset::zrangebylex), "Return a range of members in a sorted set, by lexicographical range"),
    c!("zrevrangebylex", -4, READONLY, K1, "sorted-set", "2.8.9", Data(zset::zrevrangebylex), "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings."),
    c!("zremrangebyrank", 4, WRITE, K1, "sorted-set", "2.0.0", Data(zset::zremrangebyrank), "Remove all members in a sorted set within the given indexes"),
    c!("zremrangebyscore", 4, WRITE, K1, "sorted-set", "1.2.0", Data(zset::zremrangebyscore), "Remove all members in a sorted set within the given scores"),
    c!("zremrangebylex", 4, WRITE, K1, "sorted-set", "2.8.9", Data(zset::zremrangebylex), "Remove all members in a sorted set between the given lexicographical range"),
    c!("zpopmin", -2, WRITE | FAST, K1, "sorted-set", "5.0.0", Data(zset::zpopmin), "Remove and return members with the lowest scores in a sorted set"),
    c!("zpopmax", -2, WRITE | FAST, K1, "sorted-set", "5.0.0", Data(zset::zpopmax), "Remove and return members with the highest scores in a sorted set"),
    c!("zmpop", -4, WRITE, NOKEY, "sorted-set", "7.0.0", Data(zset::zmpop), "Remove and return members with scores in a sorted set"),
    c!("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), "sorted-set", "5.0.0", Data(zset::bzpopmin), "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available"),
    c!("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), "sorted-set", "5.0.0", Data(zset::bzpopmax), "Remove and return the member with the highest score from one or more sorted sets, or block until one is available"),
    c!("bzmpop", -5, WRITE | BLOCKING, NOKEY, "sorted-set", "7.0.0", Data(zset::bzmpop), "Remove and return members with scores in a sorted set or block until one is available"),
    c!("zunion", -3, READONLY, NOKEY, "sorted-set", "6.2.0", Data(zset::zunion), "Add multiple sorted sets"),
    c!("zinter", -3, READONLY, NOKEY, "sorted-set", "6.2.0", Data(zset::zinter), "Intersect multiple sorted sets"),
    c!("zdiff", -3, READONLY, NOKEY, "sorted-set", "6.2.0", Data(zset::zdiff), "Subtract multiple sorted sets"),
    c!("zunionstore", -4, WRITE | DENYOOM, K1, "sorted-set", "2.0.0", Data(zset::zunionstore), "Add multiple sorted sets and store the resulting sorted set in a new key"),
    c!("zinterstore", -4, WRITE | DENYOOM, K1, "sorted-set", "2.0.0", Data(zset::zinterstore), "Intersect multiple sorted sets and store the resulting sorted set in a new key"),
    c!("zdiffstore", -4, WRITE | DENYOOM, K1, "sorted-set", "6.2.0", Data(zset::zdiffstore), "Subtract multiple sorted sets and store the resulting sorted set in a new key"),
    c!("zintercard", -3, READONLY, NOKEY, "sorted-set", "7.0.0", Data(zset::zintercard), "Intersect multiple sorted sets and return the cardinality of the result"),
    c!("zrandmember", -2, READONLY, K1, "sorted-set", "6.2.0", Data(zset::zrandmember), "Get one or multiple random elements from a sorted set"),
    c!("zscan", -3, READONLY, K1, "sorted-set", "2.8.0", Data(zset::zscan), "Incrementally iterate sorted sets elements and associated scores"),
    // geo (rows owned by the sorted-sets/geo work)
    c!("geoadd", -5, WRITE | DENYOOM, K1, "geo", "3.2.0", Data(geo::geoadd), "Add one or more geospatial items in the geospatial index represented using a sorted set"),
    c!("geopos", -2, READONLY, K1, "geo", "3.2.0", Data(geo::geopos), "Returns longitude and latitude of members of a geospatial index"),
    c!("geodist", -4, READONLY, K1, "geo", "3.2.0", Data(geo::geodist), "Returns the distance between two members of a geospatial index"),
    c!("geohash", -2, READONLY, K1, "geo", "3.2.0", Data(geo::geohash), "Returns members of a geospatial index as standard geohash strings"),
    c!("geosearch", -7, READONLY, K1, "geo", "6.2.0", Data(geo::geosearch), "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle."),
    c!("geosearchstore", -8, WRITE | DENYOOM, K12, "geo", "6.2.0", Data(geo::geosearchstore), "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key."),
    c!("georadius", -6, WRITE | DENYOOM, K1, "geo", "3.2.0", Data(geo::georadius), "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point"),
    c!("georadiusbymember", -5, WRITE | DENYOOM, K1, "geo", "3.2.0", Data(geo::georadiusbymember), "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member"),
    c!("georadius_ro", -6, READONLY, K1, "geo", "3.2.10", Data(geo::georadius_ro), "A read-only variant for GEORADIUS"),
    c!("georadiusbymember_ro", -5, READONLY, K1, "geo", "3.2.10", Data(geo::georadiusbymember_ro), "A read-only variant for GEORADIUSBYMEMBER"),
    // streams (rows owned by the streams work)
    c!("xadd", -5, WRITE | DENYOOM | FAST, K1, "stream", "5.0.0", Data(stream::xadd), "Appends a new entry to a stream"),
    c!("xlen", 2, READONLY | FAST, K1, "stream", "5.0.0", Data(stream::xlen), "Return the number of entries in a stream"),
    c!("xrange", -4, READONLY, K1, "stream", "5.0.0", Data(stream::xrange), "Return a range of elements in a stream, with IDs matching the specified IDs interval"),
    c!("xrevrange", -4, READONLY, K1, "stream", "5.0.0", Data(stream::xrevrange), "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE"),
    c!("xdel", -3, WRITE | FAST, K1, "stream", "5.0.0", Data(stream::xdel), "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist."),
    c!("xtrim", -4, WRITE, K1, "stream", "5.0.0", Data(stream::xtrim), "Trims the stream to (approximately if '~' is passed) a certain size"),
    // Keys follow STREAMS (movable keys, found through the key specs).
    c!("xread", -4, READONLY | BLOCKING, NOKEY, "stream", "5.0.0", Data(stream::xread), "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block."),
    c!("xreadgroup", -7, WRITE | BLOCKING, NOKEY, "stream", "5.0.0", Data(stream::xreadgroup), "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block."),
    c!("xack", -4, WRITE | FAST, K1, "stream", "5.0.0", Data(stream::xack), "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL."),
    c!("xpending", -3, READONLY, K1, "stream", "5.0.0", Data(stream::xpending), "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged."),
    c!("xclaim", -6, WRITE | FAST, K1, "stream", "5.0.0", Data(stream::xclaim), "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer."),
    c!("xautoclaim", -6, WRITE | FAST, K1, "stream", "6.2.0", Data(stream::xautoclaim), "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer."),
    c!("xsetid", -3, WRITE | DENYOOM | FAST, K1, "stream", "5.0.0", Data(stream::xsetid), "An internal command for replicating stream values"),
    c!("xgroup", -2, 0, "stream", "5.0.0", subs XGROUP_SUBCOMMANDS, "A container for consumer groups commands"),
    c!("xinfo", -2, 0, "stream", "5.0.0", subs XINFO_SUBCOMMANDS, "A container for stream introspection commands"),
    // hyperloglog (rows owned by the hyperloglog work)
    c!("pfadd", -2, WRITE | DENYOOM | FAST, K1, "hyperloglog", "2.8.9", Data(hll::pfadd), "Adds the specified elements to the specified HyperLogLog."),
    c!("pfcount", -2, READONLY, KALL, "hyperloglog", "2.8.9", Data(hll::pfcount), "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s)."),
    c!("pfmerge", -2, WRITE | DENYOOM, KALL, "hyperloglog", "2.8.9", Data(hll::pfmerge), "Merge N different HyperLogLogs into a single one."),
    c!("pfdebug", 3, WRITE | DENYOOM | ADMIN, (2, 2, 1), "hyperloglog", "2.8.9", Data(hll::pfdebug), "Internal commands for debugging HyperLogLog values"),
    c!("pfselftest", 1, ADMIN, NOKEY, "hyperloglog", "2.8.9", Data(hll::pfselftest), "An internal command for testing HyperLogLog values"),
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
    // scripting
    c!("eval", -3, NOSCRIPT | STALE | SKIP_MONITOR | SCRIPT, NOKEY, "scripting", "2.6.0", Server(script_eval::eval), "Execute a Lua script server side"),
    c!("evalsha", -3, NOSCRIPT | STALE | SKIP_MONITOR | SCRIPT, NOKEY, "scripting", "2.6.0", Server(script_eval::evalsha), "Execute a Lua script server side"),
    c!("eval_ro", -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | SCRIPT, NOKEY, "scripting", "7.0.0", Server(script_eval::eval_ro), "Execute a read-only Lua script server side"),
    c!("evalsha_ro", -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | SCRIPT, NOKEY, "scripting", "7.0.0", Server(script_eval::evalsha_ro), "Execute a read-only Lua script server side"),
    c!("fcall", -3, NOSCRIPT | STALE | SKIP_MONITOR | SCRIPT, NOKEY, "scripting", "7.0.0", Server(script_fn::fcall), "Invoke a function"),
    c!("fcall_ro", -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | SCRIPT, NOKEY, "scripting", "7.0.0", Server(script_fn::fcall_ro), "Invoke a read-only function"),
    c!("script", -2, 0, "scripting", "2.6.0", subs script_eval::SCRIPT_SUBCOMMANDS, "A container for Lua scripts management commands"),
    c!("function", -2, 0, "scripting", "7.0.0", subs script_fn::FUNCTION_SUBCOMMANDS, "A container for function commands"),
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
    c!("bgrewriteaof", 1, ADMIN | NOSCRIPT, NOKEY, "server", "1.0.0", Server(crate::aof::bgrewriteaof_command), "Asynchronously rewrite the append-only file"),
    c!("bgsave", -1, ADMIN | NOSCRIPT, NOKEY, "server", "1.0.0", Server(crate::persist::bgsave_command), "Asynchronously save the dataset to disk"),
    c!("lastsave", 1, LOADING | STALE | FAST, NOKEY, "server", "1.0.0", Server(admin::lastsave), "Get the UNIX time stamp of the last successful save to disk"),
    c!("save", 1, ADMIN | NOSCRIPT | NO_MULTI, NOKEY, "server", "1.0.0", Server(admin::save), "Synchronously save the dataset to disk"),
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
    c!("dump", 2, READONLY, K1, "generic", "2.6.0", Data(store::cmd::dump::dump), "Return a serialized version of the value stored at the specified key."),
    c!("restore", -4, WRITE | DENYOOM, K1, "generic", "2.6.0", Data(store::cmd::dump::restore), "Create a key using the provided serialized value, previously obtained using DUMP."),
    c!("dbsize", 1, READONLY | FAST, NOKEY, "server", "1.0.0", Data(keys::dbsize), "Return the number of keys in the selected database"),
    c!("flushdb", -1, WRITE, NOKEY, "server", "1.0.0", Data(keys::flushdb), "Remove all keys from the current database"),
    c!("flushall", -1, WRITE, NOKEY, "server", "1.0.0", Data(keys::flushall), "Remove all keys from all databases"),
    c!("object", -2, 0, "generic", "2.2.3", subs OBJECT_SUBCOMMANDS, "A container for object introspection commands"),
    c!("memory", -2, 0, "server", "4.0.0", subs MEMORY_SUBCOMMANDS, "A container for memory diagnostics commands"),
    c!("sort", -2, WRITE | DENYOOM, K1, "generic", "1.0.0", Data(store::cmd::sort::sort), "Sort the elements in a list, set or sorted set"),
    c!("sort_ro", -2, READONLY, K1, "generic", "7.0.0", Data(store::cmd::sort::sort_ro), "Sort the elements in a list, set or sorted set. Read-only variant of SORT."),
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

/// XGROUP subcommands.
#[rustfmt::skip]
pub static XGROUP_SUBCOMMANDS: &[Command] = &[
    c!("create", -5, WRITE | DENYOOM, (2, 2, 1), "stream", "5.0.0", Data(stream::xgroup_create), "Create a consumer group."),
    c!("setid", -5, WRITE, (2, 2, 1), "stream", "5.0.0", Data(stream::xgroup_setid), "Set a consumer group to an arbitrary last delivered ID value."),
    c!("destroy", 4, WRITE, (2, 2, 1), "stream", "5.0.0", Data(stream::xgroup_destroy), "Destroy a consumer group."),
    c!("createconsumer", 5, WRITE | DENYOOM, (2, 2, 1), "stream", "6.2.0", Data(stream::xgroup_createconsumer), "Create a consumer in a consumer group."),
    c!("delconsumer", 5, WRITE, (2, 2, 1), "stream", "5.0.0", Data(stream::xgroup_delconsumer), "Delete a consumer from a consumer group."),
    c!("help", 2, LOADING | STALE, NOKEY, "stream", "5.0.0", Data(stream::xgroup_help), "Show helpful text about the different subcommands"),
];

/// XINFO subcommands.
#[rustfmt::skip]
pub static XINFO_SUBCOMMANDS: &[Command] = &[
    c!("stream", -3, READONLY, (2, 2, 1), "stream", "5.0.0", Data(stream::xinfo_stream), "Get information about a stream"),
    c!("groups", 3, READONLY, (2, 2, 1), "stream", "5.0.0", Data(stream::xinfo_groups), "List the consumer groups of a stream"),
    c!("consumers", 4, READONLY, (2, 2, 1), "stream", "5.0.0", Data(stream::xinfo_consumers), "List the consumers in a consumer group"),
    c!("help", 2, LOADING | STALE, NOKEY, "stream", "5.0.0", Data(stream::xinfo_help), "Show helpful text about the different subcommands"),
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

type Index = HashMap<&'static str, &'static Command, ahash::RandomState>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
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
                        let name: &'static str =
                            Box::leak(format!("{}|{}", c.name, s.name).into_boxed_str());
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

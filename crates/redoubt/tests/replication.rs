//! Replication as processes, against Debian's redis-server 7.0 in every pairing: full syncs
//! (disk and diskless) with a dataset of every type, the live stream of every kind of write,
//! partial resyncs (after a killed link, after a replica restart, after a promotion through
//! replid2), READONLY / MASTERDOWN, WAIT and min-replicas, ROLE and INFO shapes, chains,
//! REPLICAOF replies and the log lines operators grep for.
//!
//! Every scenario takes the implementation of each role as a parameter. Setting
//! `REDOUBT_REPL_TEST_AS_REDIS=1` runs every role with redis-server, which checks the tests
//! themselves against Redis (`cargo test --release -p redoubt --test replication`).
//!
//! Timings are small (`repl-ping-replica-period 1`, `repl-diskless-sync-delay 0`) and every wait
//! is a poll bounded by [`WAIT`].

mod common;

use common::{field_of, free_port, scratch_dir, Raw, Server};
use resp::Frame;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Upper bound of every poll in this file.
const WAIT: Duration = Duration::from_secs(20);

/// Which implementation plays a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// redoubt-server.
    Ours,
    /// /usr/bin/redis-server.
    Redis,
}
use Kind::{Ours, Redis};

impl Kind {
    /// The implementation that really runs: redis-server everywhere under
    /// `REDOUBT_REPL_TEST_AS_REDIS=1`.
    fn real(self) -> Kind {
        if std::env::var("REDOUBT_REPL_TEST_AS_REDIS").is_ok_and(|v| v == "1") {
            Redis
        } else {
            self
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Processes and polling.
// ---------------------------------------------------------------------------------------------

/// A server process with its kind and one connection kept open.
struct Node {
    srv: Server,
    kind: Kind,
    c: Raw,
}

/// Starts `kind` with the short replication timings of this file plus `args` (later ones win).
fn start(kind: Kind, args: &[&str]) -> Node {
    let mut all = vec![
        "--save",
        "",
        "--appendonly",
        "no",
        "--repl-ping-replica-period",
        "1",
        "--repl-diskless-sync-delay",
        "0",
    ];
    all.extend_from_slice(args);
    let srv = match kind.real() {
        Ours => Server::start(&all),
        Redis => Server::start_redis(&all),
    };
    let c = srv.raw();
    Node {
        srv,
        kind: kind.real(),
        c,
    }
}

/// Starts `kind` as a replica of the server on `primary_port`.
fn start_replica(kind: Kind, primary_port: u16, args: &[&str]) -> Node {
    let p = primary_port.to_string();
    let mut all = vec!["--replicaof", "127.0.0.1", p.as_str()];
    all.extend_from_slice(args);
    start(kind, &all)
}

impl Node {
    fn port(&self) -> u16 {
        self.srv.port
    }

    fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.c.call(args)
    }

    fn call_str(&mut self, args: &[&str]) -> String {
        self.c.call_str(args)
    }

    /// A fresh connection.
    fn raw(&self) -> Raw {
        self.srv.raw()
    }

    /// INFO `section` as text.
    fn info(&mut self, section: &str) -> String {
        let text = self.c.call_str(&["INFO", section]);
        assert!(text.starts_with('$'), "INFO {section} -> {text}");
        text
    }

    /// A field of INFO `section`; panics if absent.
    fn field(&mut self, section: &str, name: &str) -> String {
        let text = self.info(section);
        field_of(&text, name)
            .unwrap_or_else(|| panic!("{:?}: no {name} in INFO {section}: {text}", self.kind))
    }

    /// A numeric field of INFO `section`.
    fn num(&mut self, section: &str, name: &str) -> i64 {
        let v = self.field(section, name);
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{:?}: {name}:{v} is not a number", self.kind))
    }

    fn repl_offset(&mut self) -> i64 {
        self.num("replication", "master_repl_offset")
    }

    /// INFO stats sync_full / sync_partial_ok.
    fn sync_counts(&mut self) -> (i64, i64) {
        (
            self.num("stats", "sync_full"),
            self.num("stats", "sync_partial_ok"),
        )
    }
}

/// Polls `f` until it returns `Ok`; after [`WAIT`] panics with `what` and the last `Err` state.
fn poll<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        match f() {
            Ok(v) => return v,
            Err(state) => assert!(
                Instant::now() < deadline,
                "timed out after {WAIT:?} waiting for {what}; last state: {state}"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `replica` reports `master_link_status:up`.
fn wait_link_up(replica: &mut Node) {
    let kind = replica.kind;
    poll(&format!("{kind:?} replica's master_link_status:up"), || {
        let info = replica.info("replication");
        match field_of(&info, "master_link_status").as_deref() {
            Some("up") => Ok(()),
            _ => Err(info),
        }
    });
}

/// Waits until the replica (possibly at the end of a chain) has applied everything the top
/// primary produced: its `slave_repl_offset` equals the primary's `master_repl_offset`.
fn wait_synced(primary: &mut Node, replica: &mut Node) {
    wait_link_up(replica);
    let what = format!(
        "{:?} replica's slave_repl_offset == {:?} primary's master_repl_offset",
        replica.kind, primary.kind
    );
    poll(&what, || {
        let p = primary.repl_offset();
        let r = replica.num("replication", "slave_repl_offset");
        let p2 = primary.repl_offset();
        if r == p || r == p2 {
            Ok(())
        } else {
            Err(format!("primary {p}..{p2}, replica {r}"))
        }
    });
    // A direct replica must also be online on the primary's side (after a diskless transfer
    // that waits for the replica's first ACK, which may come after the offsets match).
    let direct = replica.field("replication", "master_port") == primary.port().to_string();
    if direct {
        let want = format!("port={},state=online,", replica.port());
        let what = format!("{:?} primary to list the replica as {want}", primary.kind);
        poll(&what, || {
            let info = primary.info("replication");
            if info
                .lines()
                .any(|l| l.starts_with("slave") && l.contains(&want))
            {
                Ok(())
            } else {
                Err(info)
            }
        });
    }
}

/// Waits until INFO stats `sync_partial_ok` of `primary` reaches `want`.
fn wait_partial_ok(primary: &mut Node, want: i64) {
    let kind = primary.kind;
    poll(
        &format!("{kind:?} primary's sync_partial_ok:{want}"),
        || {
            let (full, partial) = primary.sync_counts();
            if partial >= want {
                Ok(())
            } else {
                Err(format!("sync_full:{full} sync_partial_ok:{partial}"))
            }
        },
    );
}

/// Waits (bounded) until a process exits by itself, e.g. after SHUTDOWN.
fn wait_exit(srv: &mut Server) {
    poll("the server process to exit", || {
        match srv.child.try_wait() {
            Ok(Some(_)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}

/// Waits until `blocked_clients` of `node` reaches `n`.
fn wait_blocked(c: &mut Raw, n: usize) {
    let want = n.to_string();
    poll(&format!("blocked_clients:{n}"), || {
        let info = c.call_str(&["INFO", "clients"]);
        if field_of(&info, "blocked_clients").as_deref() == Some(want.as_str()) {
            Ok(())
        } else {
            Err(info)
        }
    });
}

/// A data directory kept across restarts of a process, removed on drop.
struct DataDir(PathBuf);

impl DataDir {
    fn new(tag: &str) -> DataDir {
        DataDir(scratch_dir(tag))
    }

    fn s(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses one whole RESP reply.
fn parse(bytes: &[u8]) -> Frame {
    match resp::parse_frame(bytes) {
        Ok(Some((f, n))) if n == bytes.len() => f,
        other => panic!("unparsable reply {:?}: {other:?}", lossy(bytes)),
    }
}

fn bulk_strings(f: Frame) -> Vec<Vec<u8>> {
    match f {
        Frame::Array(v) => v
            .into_iter()
            .map(|e| match e {
                Frame::Bulk(b) => b,
                other => panic!("not a bulk string: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A dataset with every type, writes of every kind, and a type-aware comparison.
// ---------------------------------------------------------------------------------------------

/// Sends a command (binary arguments) and asserts the reply is not an error.
fn okb(c: &mut Raw, args: &[&[u8]]) -> Vec<u8> {
    c.cmd(args);
    let r = c.read_reply();
    assert!(
        !r.starts_with(b"-"),
        "{:?} -> {}",
        args.iter()
            .map(|a| lossy(&a[..a.len().min(40)]))
            .collect::<Vec<_>>(),
        lossy(&r)
    );
    r
}

/// Sends a command and asserts the reply is not an error.
fn ok(c: &mut Raw, args: &[&str]) -> Vec<u8> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    okb(c, &a)
}

/// Sends a command built from owned strings.
fn oks(c: &mut Raw, args: Vec<String>) -> Vec<u8> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    okb(c, &a)
}

/// `n` pseudo-random bytes (every byte value, CR LF and NUL included): incompressible.
fn binary(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

/// Fills db 0 and db 3 with every type in its small and big encodings, TTLs, a stream with
/// consumer groups and HyperLogLogs (sparse and dense).
fn fill_every_type(c: &mut Raw) {
    ok(c, &["SELECT", "0"]);
    // Strings: text, integers (int-encoded in an RDB), non-canonical numbers, an int-looking
    // key, empty, LZF-compressible and incompressible binary values.
    ok(c, &["SET", "str", "hello world"]);
    ok(c, &["SET", "int:small", "7"]);
    ok(c, &["SET", "int:neg", "-12345"]);
    ok(c, &["SET", "int:32", "2147483647"]);
    ok(c, &["SET", "int:big", "1234567890123456"]);
    ok(c, &["SET", "int:notcanon", "007"]);
    ok(c, &["SET", "12345", "a key that looks like an integer"]);
    ok(c, &["SET", "float", "3.25"]);
    ok(c, &["SET", "empty", ""]);
    ok(c, &["SET", "lzf:small", &"a".repeat(62)]);
    ok(c, &["SET", "lzf:big", &"0123456789abcdef".repeat(10_000)]);
    okb(c, &[b"SET", b"bin", &binary(4096, 1)]);
    okb(c, &[b"SET", b"bin:big", &binary(300_000, 2)]);
    okb(c, &[b"SET", &binary(100, 3), b"binary key"]);
    // TTLs on several types.
    ok(c, &["SET", "ttl:ex", "v", "EX", "1000"]);
    ok(c, &["SET", "ttl:px", "v", "PX", "2000000"]);
    ok(c, &["SETEX", "ttl:setex", "3000", "v"]);
    ok(c, &["RPUSH", "ttl:list", "a", "b"]);
    ok(c, &["EXPIRE", "ttl:list", "4000"]);
    ok(c, &["HSET", "ttl:hash", "f", "v"]);
    ok(
        c,
        &["PEXPIREAT", "ttl:hash", &(now_ms() + 5_000_000).to_string()],
    );
    ok(c, &["SADD", "ttl:set", "1", "2"]);
    ok(c, &["EXPIRE", "ttl:set", "6000"]);
    // Lists: one packed node, several nodes (> 128 elements, > 8 KB), a plain node (one big
    // element), integers.
    ok(
        c,
        &["RPUSH", "list:small", "a", "b", "c", "1", "1000", "-5", ""],
    );
    let mut args = vec!["RPUSH".to_string(), "list:big".to_string()];
    args.extend((0..300).map(|i| format!("element-{i:05}-{}", "x".repeat(50))));
    oks(c, args);
    ok(
        c,
        &["RPUSH", "list:plain", "head", &"p".repeat(20_000), "tail"],
    );
    let mut args = vec!["RPUSH".to_string(), "list:ints".to_string()];
    args.extend((0..200).map(|i| (i * 37 - 1000).to_string()));
    oks(c, args);
    // Hashes: listpack, > 128 fields, a long value.
    ok(
        c,
        &["HSET", "hash:small", "f1", "v1", "f2", "22", "f3", "-3"],
    );
    let mut args = vec!["HSET".to_string(), "hash:big".to_string()];
    for i in 0..300 {
        args.push(format!("f{i}"));
        args.push(format!("value-{i}"));
    }
    oks(c, args);
    ok(c, &["HSET", "hash:longval", "f", &"v".repeat(100)]);
    // Sets: intsets of 2 and 8 bytes, hashtable of strings, > 512 integers.
    ok(c, &["SADD", "set:int", "1", "2", "3", "-5", "100000"]);
    ok(c, &["SADD", "set:int64", "5000000000", "-5000000000", "1"]);
    ok(c, &["SADD", "set:str", "a", "b", "c"]);
    let mut args = vec!["SADD".to_string(), "set:big".to_string()];
    args.extend((0..600).map(|i| i.to_string()));
    oks(c, args);
    let mut args = vec!["SADD".to_string(), "set:bigstr".to_string()];
    args.extend((0..200).map(|i| format!("member-{i}")));
    oks(c, args);
    // Sorted sets: listpack, > 128 members (skiplist), infinities, a long member.
    ok(
        c,
        &[
            "ZADD",
            "zset:small",
            "1.5",
            "m1",
            "2",
            "m2",
            "-3",
            "m3",
            "0",
            "zero",
        ],
    );
    let mut args = vec!["ZADD".to_string(), "zset:big".to_string()];
    for i in 0..300 {
        args.push(format!("{}", i as f64 * 0.5 - 10.0));
        args.push(format!("z{i}"));
    }
    oks(c, args);
    ok(
        c,
        &[
            "ZADD", "zset:inf", "inf", "pinf", "-inf", "ninf", "1e300", "huge", "0.1", "tenth",
        ],
    );
    ok(
        c,
        &[
            "ZADD",
            "zset:longmember",
            "1",
            &"m".repeat(100),
            "2",
            "short",
        ],
    );
    // A stream with a deleted entry, two consumer groups, pending entries and consumers.
    for i in 1..=60 {
        oks(
            c,
            vec![
                "XADD".into(),
                "stream".into(),
                format!("1000-{i}"),
                format!("field{}", i % 3),
                format!("value{i}"),
                "n".into(),
                i.to_string(),
            ],
        );
    }
    ok(c, &["XDEL", "stream", "1000-5"]);
    ok(c, &["XGROUP", "CREATE", "stream", "g1", "0"]);
    ok(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "10",
            "STREAMS",
            "stream",
            ">",
        ],
    );
    ok(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "5",
            "STREAMS",
            "stream",
            ">",
        ],
    );
    ok(c, &["XACK", "stream", "g1", "1000-1", "1000-2"]);
    ok(c, &["XGROUP", "CREATE", "stream", "g2", "$"]);
    ok(c, &["XGROUP", "CREATECONSUMER", "stream", "g2", "carol"]);
    for i in 1..=20 {
        oks(
            c,
            vec![
                "XADD".into(),
                "stream:capped".into(),
                "MAXLEN".into(),
                "10".into(),
                format!("5-{i}"),
                "f".into(),
                "v".into(),
            ],
        );
    }
    // HyperLogLogs: sparse and dense.
    let mut args = vec!["PFADD".to_string(), "hll:sparse".to_string()];
    args.extend((0..200).map(|i| format!("e{i}")));
    oks(c, args);
    for batch in 0..10 {
        let mut args = vec!["PFADD".to_string(), "hll:dense".to_string()];
        args.extend((0..500).map(|i| format!("d{}", batch * 500 + i)));
        oks(c, args);
    }
    // Another database.
    ok(c, &["SELECT", "3"]);
    ok(c, &["SET", "db3:str", "three"]);
    ok(c, &["SET", "db3:ttl", "v", "EX", "5000"]);
    ok(c, &["SET", "str", "same name as in db 0"]);
    ok(c, &["RPUSH", "db3:list", "a", "b"]);
    ok(c, &["HSET", "db3:hash", "a", "1"]);
    ok(c, &["SADD", "db3:set", "1", "x"]);
    ok(c, &["ZADD", "db3:zset", "1", "a"]);
    ok(c, &["XADD", "db3:stream", "1-1", "f", "v"]);
    ok(c, &["PFADD", "db3:hll", "a", "b"]);
    ok(c, &["SELECT", "0"]);
}

/// One round of writes of every kind on the primary, `r` making the keys unique. `blocker` is a
/// second connection used for blocking pops served by a push.
fn write_every_type(c: &mut Raw, blocker: &mut Raw, r: usize) {
    let k = |name: &str| format!("{name}:{r}");
    ok(c, &["SELECT", "0"]);
    // Strings, TTLs (rewritten to PEXPIREAT / SET PXAT on the wire).
    ok(c, &["SET", &k("w"), &format!("value-{r}-0123456789")]);
    ok(c, &["SET", &k("w:ex"), "v", "EX", "1000"]);
    ok(c, &["SET", &k("w:px"), "v", "PX", "900000", "NX"]);
    ok(c, &["PSETEX", &k("w:psetex"), "800000", "v"]);
    ok(c, &["EXPIRE", "str", "7000"]);
    ok(c, &["PEXPIRE", "int:small", "8000000"]);
    ok(
        c,
        &["EXPIREAT", "float", &(now_ms() / 1000 + 9000).to_string()],
    );
    ok(c, &["PERSIST", "ttl:px"]);
    ok(c, &["INCR", "counter"]);
    ok(c, &["INCRBY", "counter", "10"]);
    ok(c, &["DECRBY", "counter", "3"]);
    ok(c, &["INCRBYFLOAT", "float:acc", "1.1"]);
    ok(c, &["INCRBYFLOAT", "float", "0.5"]);
    ok(c, &["APPEND", "str", "!"]);
    ok(c, &["SETRANGE", &k("w"), "30", "xyz"]);
    ok(c, &["GETSET", &k("w:getset"), "new"]);
    ok(c, &["SET", &k("w:gd"), "x"]);
    ok(c, &["GETDEL", &k("w:gd")]);
    ok(c, &["GETEX", &k("w:px"), "PX", "700000"]);
    ok(c, &["MSET", &k("m:a"), "1", &k("m:b"), "2"]);
    ok(c, &["SETNX", &k("w"), "not set"]);
    // Lists.
    ok(c, &["LPUSH", "list:small", &k("l")]);
    ok(c, &["RPUSH", "list:big", &k("r")]);
    ok(c, &["LPOP", "list:big"]);
    ok(c, &["RPOP", "list:small"]);
    ok(c, &["LINSERT", "list:small", "BEFORE", "a", &k("ins")]);
    ok(c, &["LSET", "list:big", "0", &k("set")]);
    ok(c, &["LTRIM", "list:ints", "1", "-2"]);
    ok(c, &["LREM", "list:small", "0", "1000"]);
    ok(c, &["LMOVE", "list:big", "list:small", "LEFT", "RIGHT"]);
    ok(c, &["RPOPLPUSH", "list:small", "list:big"]);
    ok(c, &["LPOP", "list:ints", "2"]);
    // Hashes.
    ok(c, &["HSET", "hash:small", &k("r"), "x"]);
    ok(c, &["HDEL", "hash:big", &format!("f{r}")]);
    ok(c, &["HINCRBY", "hash:small", "cnt", "5"]);
    ok(c, &["HINCRBYFLOAT", "hash:small", "fl", "0.25"]);
    ok(c, &["HSETNX", "hash:small", &k("nx"), "1"]);
    // Sets (SPOP is replicated as the SREMs it did).
    ok(c, &["SADD", "set:str", &k("s")]);
    ok(c, &["SREM", "set:big", &r.to_string()]);
    ok(c, &["SPOP", "set:big"]);
    ok(c, &["SPOP", "set:bigstr", "3"]);
    ok(c, &["SADD", &k("set:gone"), "a", "b"]);
    ok(c, &["SPOP", &k("set:gone"), "5"]);
    ok(c, &["SMOVE", "set:str", "set:int", &k("s")]);
    ok(c, &["SINTERSTORE", &k("w:inter"), "set:int", "set:big"]);
    ok(c, &["SUNIONSTORE", &k("w:union"), "set:str", "set:int64"]);
    // Sorted sets.
    ok(c, &["ZADD", "zset:small", &r.to_string(), &k("zr")]);
    ok(c, &["ZINCRBY", "zset:big", "2.5", "z1"]);
    ok(c, &["ZREM", "zset:big", &format!("z{}", 100 + r)]);
    ok(c, &["ZPOPMIN", "zset:big"]);
    ok(c, &["ZPOPMAX", "zset:big", "2"]);
    ok(c, &["ZREMRANGEBYSCORE", "zset:big", "-inf", "-9"]);
    ok(
        c,
        &["ZUNIONSTORE", &k("w:zu"), "2", "zset:small", "zset:inf"],
    );
    // Streams and consumer groups.
    ok(c, &["XADD", "stream", "*", "round", &r.to_string()]);
    ok(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "stream",
            ">",
        ],
    );
    ok(c, &["XACK", "stream", "g1", &format!("1000-{}", 3 + r)]);
    ok(
        c,
        &[
            "XCLAIM",
            "stream",
            "g1",
            "bob",
            "0",
            &format!("1000-{}", 6 + r),
        ],
    );
    ok(
        c,
        &[
            "XAUTOCLAIM",
            "stream",
            "g1",
            "carol",
            "0",
            "0-0",
            "COUNT",
            "1",
        ],
    );
    ok(c, &["XDEL", "stream", &format!("1000-{}", 30 + r)]);
    ok(c, &["XADD", "stream:capped", "MAXLEN", "10", "*", "f", "v"]);
    ok(
        c,
        &[
            "XGROUP",
            "SETID",
            "stream",
            "g2",
            &format!("1000-{}", 20 + r),
        ],
    );
    // HyperLogLogs.
    ok(c, &["PFADD", "hll:sparse", &k("x"), &k("y")]);
    ok(c, &["PFMERGE", &k("w:hllm"), "hll:sparse", "db0:missing"]);
    // Keyspace.
    ok(c, &["RENAME", &k("w:getset"), &k("w:renamed")]);
    ok(c, &["COPY", "hash:small", &k("w:copy")]);
    ok(c, &["DEL", &k("m:a")]);
    ok(c, &["UNLINK", &k("m:b")]);
    ok(c, &["SET", &k("w:past"), "x"]);
    ok(c, &["EXPIRE", &k("w:past"), "-1"]);
    // Blocking pops served by another client's push (propagated as the push then the pop).
    blocker.cmd(&[b"BLPOP", k("blk").as_bytes(), b"10"]);
    wait_blocked(c, 1);
    assert_eq!(ok(c, &["LPUSH", &k("blk"), "x", "y"]), b":2\r\n");
    let want = format!("*2\r\n${}\r\n{}\r\n$1\r\ny\r\n", k("blk").len(), k("blk"));
    assert_eq!(lossy(&blocker.read_reply()), want);
    blocker.cmd(&[b"BZPOPMIN", k("bz").as_bytes(), b"10"]);
    wait_blocked(c, 1);
    ok(c, &["ZADD", &k("bz"), "1", "a", "2", "b"]);
    let got = parse(&blocker.read_reply());
    assert_eq!(
        got,
        Frame::Array(vec![
            Frame::Bulk(k("bz").into_bytes()),
            Frame::Bulk(b"a".to_vec()),
            Frame::Bulk(b"1".to_vec())
        ])
    );
    blocker.cmd(&[
        b"BLMOVE",
        k("bm").as_bytes(),
        k("bm:dst").as_bytes(),
        b"LEFT",
        b"RIGHT",
        b"10",
    ]);
    wait_blocked(c, 1);
    ok(c, &["RPUSH", &k("bm"), "q", "r"]);
    assert_eq!(blocker.read_reply(), b"$1\r\nq\r\n");
    // Transactions: several writes (wrapped in MULTI/EXEC on the wire), one write, across DBs.
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    for args in [
        &["SET", &k("tx"), "1"][..],
        &["INCR", &k("tx")],
        &["LPUSH", &k("tx:l"), "a"],
        &["GET", &k("tx")],
    ] {
        assert_eq!(c.call(args), b"+QUEUED\r\n");
    }
    ok(c, &["EXEC"]);
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", &k("tx1"), "z"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["EXEC"]), b"*1\r\n+OK\r\n");
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    for args in [
        &["SELECT", "3"][..],
        &["SET", &k("db3:tx"), "v"],
        &["SELECT", "0"],
        &["SET", &k("db0:tx"), "v"],
    ] {
        assert_eq!(c.call(args), b"+QUEUED\r\n");
    }
    ok(c, &["EXEC"]);
    // Other databases, and FLUSHDB of one.
    ok(c, &["SELECT", "3"]);
    ok(c, &["SET", &k("db3:w"), "v"]);
    ok(c, &["HSET", "db3:hash", &k("r"), "1"]);
    ok(c, &["SADD", "db3:set", &r.to_string()]);
    ok(c, &["EXPIRE", "db3:str", "9999"]);
    ok(c, &["SELECT", "5"]);
    ok(c, &["SET", &k("flushed"), "1"]);
    ok(c, &["RPUSH", &k("flushed:l"), "a"]);
    ok(c, &["FLUSHDB"]);
    ok(c, &["SELECT", "7"]);
    ok(c, &["SET", &k("db7"), "stays"]);
    ok(c, &["SELECT", "0"]);
    // A key that expires on the primary: the DEL it propagates removes it on the replica.
    ok(c, &["SET", &k("short"), "v", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.call(&["GET", &k("short")]), b"$-1\r\n");
}

/// Asserts that two servers hold the same data: same keys in every DB, same types, same
/// values read type by type (encodings may legitimately differ), TTLs within a tolerance.
fn assert_same_dataset(a: &Node, b: &Node) {
    let (mut ca, mut cb) = (a.raw(), b.raw());
    let what = format!(
        "{:?} on {} vs {:?} on {}",
        a.kind,
        a.port(),
        b.kind,
        b.port()
    );
    let mut diffs: Vec<String> = Vec::new();
    let mut total = 0;
    for db in 0..16 {
        let d = db.to_string();
        assert_eq!(ca.call(&["SELECT", &d]), b"+OK\r\n");
        assert_eq!(cb.call(&["SELECT", &d]), b"+OK\r\n");
        let keys_of = |c: &mut Raw| {
            let mut k = bulk_strings(parse(&c.call(&["KEYS", "*"])));
            k.sort();
            k
        };
        let (ka, kb) = (keys_of(&mut ca), keys_of(&mut cb));
        if ka != kb {
            let only_a: Vec<String> = ka
                .iter()
                .filter(|k| !kb.contains(k))
                .map(|k| lossy(k))
                .collect();
            let only_b: Vec<String> = kb
                .iter()
                .filter(|k| !ka.contains(k))
                .map(|k| lossy(k))
                .collect();
            diffs.push(format!(
                "db {db}: keys only in first {only_a:?}, only in second {only_b:?}"
            ));
        }
        let (sa, sb) = (ca.call(&["DBSIZE"]), cb.call(&["DBSIZE"]));
        if sa != sb {
            diffs.push(format!("db {db}: DBSIZE {} vs {}", lossy(&sa), lossy(&sb)));
        }
        for key in ka.iter().filter(|k| kb.contains(k)) {
            total += 1;
            let name = lossy(key);
            let one = |c: &mut Raw, args: &[&[u8]]| {
                c.cmd(args);
                c.read_reply()
            };
            let ta = one(&mut ca, &[b"TYPE", key]);
            let tb = one(&mut cb, &[b"TYPE", key]);
            if ta != tb {
                diffs.push(format!(
                    "db {db} {name}: TYPE {} vs {}",
                    lossy(&ta),
                    lossy(&tb)
                ));
                continue;
            }
            let mut reads: Vec<Vec<Vec<u8>>> = Vec::new();
            let cmd = |parts: &[&[u8]]| parts.iter().map(|p| p.to_vec()).collect::<Vec<Vec<u8>>>();
            let mut sort_pairs = false;
            let mut sort_members = false;
            match &ta[..] {
                b"+string\r\n" => {
                    let is_hll = matches!(parse(&one(&mut ca, &[b"GET", key])), Frame::Bulk(v) if v.starts_with(b"HYLL"));
                    if is_hll {
                        // A HyperLogLog: its cached cardinality bytes change on PFCOUNT.
                        reads.push(cmd(&[b"PFCOUNT", key]));
                        reads.push(cmd(&[b"STRLEN", key]));
                    } else {
                        reads.push(cmd(&[b"GET", key]));
                    }
                }
                b"+list\r\n" => reads.push(cmd(&[b"LRANGE", key, b"0", b"-1"])),
                b"+hash\r\n" => {
                    reads.push(cmd(&[b"HGETALL", key]));
                    sort_pairs = true;
                }
                b"+set\r\n" => {
                    reads.push(cmd(&[b"SMEMBERS", key]));
                    sort_members = true;
                }
                b"+zset\r\n" => reads.push(cmd(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])),
                b"+stream\r\n" => {
                    reads.push(cmd(&[b"XRANGE", key, b"-", b"+"]));
                    reads.push(cmd(&[b"XLEN", key]));
                    reads.push(cmd(&[b"XINFO", b"GROUPS", key]));
                    if let Frame::Array(gs) = parse(&one(&mut ca, &[b"XINFO", b"GROUPS", key])) {
                        for g in gs {
                            if let Frame::Array(kv) = g {
                                if let Some(Frame::Bulk(gname)) = kv.get(1) {
                                    reads.push(cmd(&[b"XPENDING", key, gname]));
                                }
                            }
                        }
                    }
                }
                other => diffs.push(format!("db {db} {name}: unexpected TYPE {}", lossy(other))),
            }
            for args in &reads {
                let args: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
                let (mut ra, mut rb) = (one(&mut ca, &args), one(&mut cb, &args));
                if sort_pairs || sort_members {
                    let norm = |r: &[u8]| {
                        let items = bulk_strings(parse(r));
                        let mut v: Vec<Vec<Vec<u8>>> = if sort_pairs {
                            items.chunks(2).map(|p| p.to_vec()).collect()
                        } else {
                            items.into_iter().map(|m| vec![m]).collect()
                        };
                        v.sort();
                        format!("{v:?}").into_bytes()
                    };
                    ra = norm(&ra);
                    rb = norm(&rb);
                }
                if ra != rb {
                    let cut = |r: &[u8]| lossy(&r[..r.len().min(300)]);
                    diffs.push(format!(
                        "db {db} {name}: {} -> {} vs {}",
                        lossy(args[0]),
                        cut(&ra),
                        cut(&rb)
                    ));
                }
            }
            let pttl = |c: &mut Raw| -> i64 {
                let r = one(c, &[b"PTTL", key]);
                lossy(&r[1..r.len() - 2]).parse().unwrap()
            };
            let (pa, pb) = (pttl(&mut ca), pttl(&mut cb));
            let same = if pa < 0 || pb < 0 {
                pa == pb
            } else {
                (pa - pb).abs() <= 1500
            };
            if !same {
                diffs.push(format!("db {db} {name}: PTTL {pa} vs {pb}"));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "datasets differ ({what}), {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert!(
        total >= 45,
        "suspiciously few keys compared ({total}) for {what}"
    );
}

/// Fills the primary, runs a few rounds of writes, and checks the replica follows.
fn stream_rounds(primary: &mut Node, replica: &mut Node, rounds: std::ops::Range<usize>) {
    let mut blocker = primary.raw();
    for r in rounds {
        write_every_type(&mut primary.c, &mut blocker, r);
    }
    wait_synced(primary, replica);
    assert_same_dataset(primary, replica);
}

// ---------------------------------------------------------------------------------------------
// a, b, c: full sync in both directions, diskless and disk, then the live stream.
// ---------------------------------------------------------------------------------------------

fn full_sync(primary_kind: Kind, replica_kind: Kind, diskless: bool) {
    let mode = if diskless { "yes" } else { "no" };
    let logs = DataDir::new("full-sync-log");
    let plog = logs.path().join("primary.log");
    let mut p = start(
        primary_kind,
        &[
            "--repl-diskless-sync",
            mode,
            "--logfile",
            plog.to_str().unwrap(),
        ],
    );
    fill_every_type(&mut p.c);
    // Writes before the replica exists are in the snapshot; these few are in the backlog too.
    let mut blocker = p.raw();
    write_every_type(&mut p.c, &mut blocker, 0);
    let mut r = start_replica(replica_kind, p.port(), &[]);
    wait_synced(&mut p, &mut r);
    assert_eq!(p.sync_counts(), (1, 0), "one full sync, no partial one");
    assert_eq!(
        r.field("replication", "master_replid"),
        p.field("replication", "master_replid"),
        "the replica adopts the primary's replid"
    );
    let info = p.info("replication");
    assert_eq!(
        field_of(&info, "connected_slaves").as_deref(),
        Some("1"),
        "{info}"
    );
    let slave0 = field_of(&info, "slave0").unwrap_or_default();
    assert!(
        slave0.starts_with(&format!(
            "ip=127.0.0.1,port={},state=online,offset=",
            r.port()
        )),
        "{info}"
    );
    // The primary took the path asked for (a Redis primary only streams to sockets when every
    // waiting replica declared `capa eof`).
    let target = if diskless { "replicas sockets" } else { "disk" };
    let missing = wait_log(
        &plog,
        &[format!("Starting BGSAVE for SYNC with target: {target}")],
    );
    assert!(
        missing.is_empty(),
        "{:?} primary's log lacks {missing:?}:\n{}",
        p.kind,
        std::fs::read_to_string(&plog).unwrap_or_default()
    );
    assert_same_dataset(&p, &r);
    stream_rounds(&mut p, &mut r, 1..4);
    assert_eq!(p.sync_counts(), (1, 0), "the stream needed no new sync");
    assert_eq!(
        r.call(&["SET", "x", "y"]),
        b"-READONLY You can't write against a read only replica.\r\n"
    );
}

#[test]
fn redoubt_primary_real_replica_full_sync_diskless() {
    full_sync(Ours, Redis, true);
}

#[test]
fn redoubt_primary_real_replica_full_sync_disk() {
    full_sync(Ours, Redis, false);
}

#[test]
fn real_primary_redoubt_replica_full_sync_diskless() {
    full_sync(Redis, Ours, true);
}

#[test]
fn real_primary_redoubt_replica_full_sync_disk() {
    full_sync(Redis, Ours, false);
}

#[test]
fn redoubt_primary_redoubt_replica_full_sync_diskless() {
    full_sync(Ours, Ours, true);
}

#[test]
fn redoubt_primary_redoubt_replica_full_sync_disk() {
    full_sync(Ours, Ours, false);
}

/// A replica that already holds data loses it on a full sync; a replica of a replica (ours in
/// the middle) is resynced when its primary is.
#[test]
fn full_sync_replaces_the_replicas_old_data() {
    for (pk, rk) in [(Ours, Redis), (Redis, Ours)] {
        let mut p = start(pk, &[]);
        ok(&mut p.c, &["SET", "from-primary", "1"]);
        let mut r = start(rk, &[]);
        ok(&mut r.c, &["SET", "stale", "1"]);
        ok(&mut r.c, &["SELECT", "4"]);
        ok(&mut r.c, &["SET", "stale4", "1"]);
        ok(&mut r.c, &["SELECT", "0"]);
        let port = p.port().to_string();
        assert_eq!(r.call(&["REPLICAOF", "127.0.0.1", &port]), b"+OK\r\n");
        wait_synced(&mut p, &mut r);
        let mut c = r.raw();
        assert_eq!(c.call(&["DBSIZE"]), b":1\r\n", "{pk:?} -> {rk:?}");
        assert_eq!(c.call(&["GET", "from-primary"]), b"$1\r\n1\r\n");
        assert_eq!(c.call(&["SELECT", "4"]), b"+OK\r\n");
        assert_eq!(c.call(&["DBSIZE"]), b":0\r\n");
    }
}

// ---------------------------------------------------------------------------------------------
// d: partial resync after the replica's link is killed.
// ---------------------------------------------------------------------------------------------

fn partial_after_client_kill(primary_kind: Kind, replica_kind: Kind) {
    let mut p = start(primary_kind, &[]);
    fill_every_type(&mut p.c);
    let mut r = start_replica(replica_kind, p.port(), &[]);
    stream_rounds(&mut p, &mut r, 0..1);
    let (full0, partial0) = p.sync_counts();
    assert_eq!((full0, partial0), (1, 0));
    let replid = p.field("replication", "master_replid");
    assert_eq!(r.call(&["CLIENT", "KILL", "TYPE", "master"]), b":1\r\n");
    let mut blocker = p.raw();
    write_every_type(&mut p.c, &mut blocker, 1);
    wait_partial_ok(&mut p, partial0 + 1);
    wait_synced(&mut p, &mut r);
    assert_eq!(p.sync_counts(), (full0, partial0 + 1), "partial, not full");
    assert_eq!(r.field("replication", "master_replid"), replid);
    assert_eq!(p.field("replication", "master_replid"), replid);
    stream_rounds(&mut p, &mut r, 2..3);
    assert_eq!(p.sync_counts(), (full0, partial0 + 1));
}

#[test]
fn partial_resync_after_client_kill_master_redoubt_primary() {
    partial_after_client_kill(Ours, Redis);
}

#[test]
fn partial_resync_after_client_kill_master_redoubt_replica() {
    partial_after_client_kill(Redis, Ours);
}

#[test]
fn partial_resync_after_client_kill_master_redoubt_both() {
    partial_after_client_kill(Ours, Ours);
}

// ---------------------------------------------------------------------------------------------
// e: partial resync after the replica restarts from its own RDB.
// ---------------------------------------------------------------------------------------------

fn partial_after_replica_restart(primary_kind: Kind, replica_kind: Kind) {
    let mut p = start(primary_kind, &[]);
    fill_every_type(&mut p.c);
    let dir = DataDir::new("replica-restart");
    let port = p.port().to_string();
    let args = [
        "--replicaof",
        "127.0.0.1",
        &port,
        "--dir",
        dir.s(),
        "--save",
        "",
    ];
    let mut r = start(replica_kind, &args);
    stream_rounds(&mut p, &mut r, 0..1);
    let (full0, partial0) = p.sync_counts();
    assert_eq!((full0, partial0), (1, 0));
    // With `save ""` a plain SHUTDOWN does not save: ask for it.
    r.c.cmd(&[b"SHUTDOWN", b"SAVE"]);
    let said = r.c.read_to_close();
    assert!(said.is_empty(), "SHUTDOWN SAVE replied {}", lossy(&said));
    wait_exit(&mut r.srv);
    assert!(
        dir.path().join("dump.rdb").exists(),
        "SHUTDOWN SAVE wrote no dump.rdb"
    );
    drop(r);
    let mut blocker = p.raw();
    write_every_type(&mut p.c, &mut blocker, 1);
    let mut r = start(replica_kind, &args);
    wait_partial_ok(&mut p, partial0 + 1);
    wait_synced(&mut p, &mut r);
    assert_eq!(
        p.sync_counts(),
        (full0, partial0 + 1),
        "the restarted replica continued from its RDB's repl-id/repl-offset"
    );
    assert_same_dataset(&p, &r);
    stream_rounds(&mut p, &mut r, 2..3);
}

#[test]
fn partial_resync_after_replica_restart_redoubt_primary() {
    partial_after_replica_restart(Ours, Redis);
}

#[test]
fn partial_resync_after_replica_restart_redoubt_replica() {
    partial_after_replica_restart(Redis, Ours);
}

#[test]
fn partial_resync_after_replica_restart_redoubt_both() {
    partial_after_replica_restart(Ours, Ours);
}

// ---------------------------------------------------------------------------------------------
// f: PSYNC2 after a promotion.
// ---------------------------------------------------------------------------------------------

fn psync2_after_promotion(pk: Kind, ak: Kind, bk: Kind) {
    // No PING from P in this test, so that A and B surely hold the same history when P dies.
    let mut p = start(pk, &["--repl-ping-replica-period", "3600"]);
    fill_every_type(&mut p.c);
    let mut a = start_replica(ak, p.port(), &[]);
    let mut b = start_replica(bk, p.port(), &[]);
    let mut blocker = p.raw();
    write_every_type(&mut p.c, &mut blocker, 0);
    wait_synced(&mut p, &mut a);
    wait_synced(&mut p, &mut b);
    assert_same_dataset(&p, &a);
    assert_same_dataset(&p, &b);
    let old_replid = p.field("replication", "master_replid");
    let old_off = p.repl_offset();
    assert_eq!(a.num("replication", "slave_repl_offset"), old_off);
    assert_eq!(b.num("replication", "slave_repl_offset"), old_off);
    drop(blocker);
    drop(p);

    assert_eq!(a.call(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    let info = a.info("replication");
    assert_eq!(field_of(&info, "role").as_deref(), Some("master"), "{info}");
    assert_eq!(
        field_of(&info, "master_replid2").as_deref(),
        Some(old_replid.as_str()),
        "{info}"
    );
    assert_eq!(
        field_of(&info, "second_repl_offset"),
        Some((old_off + 1).to_string()),
        "{info}"
    );
    assert_eq!(
        field_of(&info, "master_repl_offset"),
        Some(old_off.to_string()),
        "{info}"
    );
    let new_replid = field_of(&info, "master_replid").unwrap();
    assert_ne!(new_replid, old_replid);
    assert_eq!(new_replid.len(), 40);
    assert_eq!(
        field_of(&info, "repl_backlog_active").as_deref(),
        Some("1"),
        "{info}"
    );

    let a_port = a.port().to_string();
    assert_eq!(b.call(&["REPLICAOF", "127.0.0.1", &a_port]), b"+OK\r\n");
    wait_partial_ok(&mut a, 1);
    wait_synced(&mut a, &mut b);
    assert_eq!(a.sync_counts(), (0, 1), "B continued through A's replid2");
    assert_eq!(b.field("replication", "master_replid"), new_replid);
    assert_eq!(b.field("replication", "master_replid2"), old_replid);
    assert_eq!(b.num("replication", "second_repl_offset"), old_off + 1);
    // Writes on the promoted node reach B.
    ok(&mut a.c, &["SET", "after-promotion", "yes"]);
    let mut blocker = a.raw();
    write_every_type(&mut a.c, &mut blocker, 1);
    wait_synced(&mut a, &mut b);
    assert_eq!(b.raw().call(&["GET", "after-promotion"]), b"$3\r\nyes\r\n");
    assert_same_dataset(&a, &b);
    assert_eq!(a.sync_counts(), (0, 1));
}

#[test]
fn psync2_after_promotion_redoubt_primary_and_promoted() {
    psync2_after_promotion(Ours, Ours, Redis);
}

#[test]
fn psync2_after_promotion_real_primary_redoubt_promoted() {
    psync2_after_promotion(Redis, Ours, Ours);
}

#[test]
fn psync2_after_promotion_real_promoted_redoubt_sibling() {
    psync2_after_promotion(Ours, Redis, Ours);
}

// ---------------------------------------------------------------------------------------------
// g: READONLY and MASTERDOWN, byte for byte as Redis.
// ---------------------------------------------------------------------------------------------

fn readonly_and_stale_replies(kind: Kind) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut p = start(kind, &[]);
    ok(&mut p.c, &["SET", "k", "v"]);
    let mut r = start_replica(kind, p.port(), &[]);
    wait_synced(&mut p, &mut r);
    for args in [
        &["SET", "k", "x"][..],
        &["LPOP", "nokey"],
        &["DEL", "k"],
        &["FLUSHALL"],
        &["GET", "k"],
        &["EXPIRE", "k", "10"],
    ] {
        out.push((format!("link up: {args:?}"), r.call_str(args)));
    }
    // A replica whose primary does not exist, not serving stale data.
    let dead = free_port().to_string();
    let mut s = start(
        kind,
        &[
            "--replicaof",
            "127.0.0.1",
            &dead,
            "--replica-serve-stale-data",
            "no",
        ],
    );
    for args in [
        &["GET", "k"][..],
        &["PING"],
        &["DBSIZE"],
        &["SET", "k", "v"],
        &["ECHO", "x"],
        &["SELECT", "1"],
        &["CONFIG", "GET", "replica-serve-stale-data"],
    ] {
        out.push((format!("link down, stale no: {args:?}"), s.call_str(args)));
    }
    let info = s.call_str(&["INFO", "replication"]);
    assert!(
        info.contains("role:slave\r\n") && info.contains("master_link_status:down\r\n"),
        "{info}"
    );
    let role = s.call_str(&["ROLE"]);
    assert!(role.starts_with("*5\r\n$5\r\nslave\r\n"), "{role}");
    // Serving stale data again at run time.
    assert_eq!(
        s.call(&["CONFIG", "SET", "replica-serve-stale-data", "yes"]),
        b"+OK\r\n"
    );
    out.push((
        "link down, stale yes: GET".into(),
        s.call_str(&["GET", "k"]),
    ));
    out.push(("link down, stale yes: PING".into(), s.call_str(&["PING"])));
    out
}

#[test]
fn readonly_and_stale() {
    let ours = readonly_and_stale_replies(Ours);
    let redis = readonly_and_stale_replies(Redis);
    let readonly = "-READONLY You can't write against a read only replica.\r\n";
    let masterdown =
        "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n";
    let want = |label: &str| ours.iter().find(|(l, _)| l == label).unwrap().1.clone();
    assert_eq!(want("link up: [\"SET\", \"k\", \"x\"]"), readonly);
    assert_eq!(want("link up: [\"LPOP\", \"nokey\"]"), readonly);
    assert_eq!(want("link up: [\"GET\", \"k\"]"), "$1\r\nv\r\n");
    assert_eq!(want("link down, stale no: [\"GET\", \"k\"]"), masterdown);
    assert_eq!(want("link down, stale no: [\"PING\"]"), masterdown);
    assert_eq!(
        want("link down, stale no: [\"SET\", \"k\", \"v\"]"),
        readonly
    );
    for ((label, a), (_, b)) in ours.iter().zip(&redis) {
        assert_eq!(a, b, "{label}: ours vs redis");
    }
}

// ---------------------------------------------------------------------------------------------
// h: WAIT and min-replicas-to-write.
// ---------------------------------------------------------------------------------------------

fn wait_and_min_replicas_replies(pk: Kind, r1k: Kind, r2k: Kind) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut p = start(pk, &[]);
    let mut r1 = start_replica(r1k, p.port(), &[]);
    let mut r2 = start_replica(r2k, p.port(), &[]);
    wait_synced(&mut p, &mut r1);
    wait_synced(&mut p, &mut r2);
    poll("both replicas online in INFO", || {
        let info = p.info("replication");
        let online = info.matches("state=online").count();
        if online == 2 {
            Ok(())
        } else {
            Err(info)
        }
    });
    let mut rec = |label: &str, reply: String| out.push((label.to_string(), reply));
    rec("SET", p.call_str(&["SET", "w", "1"]));
    let t = Instant::now();
    rec("WAIT 2 1000", p.call_str(&["WAIT", "2", "1000"]));
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "WAIT 2 took {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    rec("WAIT 3 300", p.call_str(&["WAIT", "3", "300"]));
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{pk:?}: WAIT 3 300 took {took:?}"
    );
    rec("WAIT 0 0", p.call_str(&["WAIT", "0", "0"]));
    rec("WAIT 1 abc", p.call_str(&["WAIT", "1", "abc"]));
    rec("WAIT 1 -1", p.call_str(&["WAIT", "1", "-1"]));
    rec("WAIT 1", p.call_str(&["WAIT", "1"]));
    // A client that never wrote waits for offset 0: everyone has it.
    rec(
        "fresh client WAIT 2 0",
        p.raw().call_str(&["WAIT", "2", "0"]),
    );
    rec("WAIT on replica 1", r1.call_str(&["WAIT", "1", "0"]));
    rec("WAIT on replica 2", r2.call_str(&["WAIT", "1", "0"]));
    rec(
        "CONFIG SET 3",
        p.call_str(&["CONFIG", "SET", "min-replicas-to-write", "3"]),
    );
    let info = p.info("replication");
    rec(
        "min_slaves_good_slaves with 3",
        field_of(&info, "min_slaves_good_slaves").unwrap_or_else(|| format!("absent: {info}")),
    );
    rec("SET refused", p.call_str(&["SET", "w", "2"]));
    rec("LPUSH refused", p.call_str(&["LPUSH", "l", "2"]));
    rec("GET allowed", p.call_str(&["GET", "w"]));
    rec("MULTI", p.call_str(&["MULTI"]));
    rec("SET in MULTI", p.call_str(&["SET", "w", "3"]));
    rec("EXEC", p.call_str(&["EXEC"]));
    rec(
        "CONFIG SET 2",
        p.call_str(&["CONFIG", "SET", "min-replicas-to-write", "2"]),
    );
    let info = p.info("replication");
    rec(
        "min_slaves_good_slaves with 2",
        field_of(&info, "min_slaves_good_slaves").unwrap_or_else(|| format!("absent: {info}")),
    );
    rec("SET allowed", p.call_str(&["SET", "w", "4"]));
    // A transaction queued while enough replicas were good, executed once they are not.
    let mut tx = p.raw();
    rec("MULTI (queued while good)", tx.call_str(&["MULTI"]));
    rec("SET queued while good", tx.call_str(&["SET", "w", "tx"]));
    rec(
        "CONFIG SET 3 again",
        p.call_str(&["CONFIG", "SET", "min-replicas-to-write", "3"]),
    );
    rec("EXEC after the count dropped", tx.call_str(&["EXEC"]));
    rec(
        "CONFIG SET 2 again",
        p.call_str(&["CONFIG", "SET", "min-replicas-to-write", "2"]),
    );
    rec("WAIT 2 5000 after SET", p.call_str(&["WAIT", "2", "5000"]));
    rec(
        "CONFIG SET 0",
        p.call_str(&["CONFIG", "SET", "min-replicas-to-write", "0"]),
    );
    let info = p.info("replication");
    rec(
        "min_slaves_good_slaves with 0",
        field_of(&info, "min_slaves_good_slaves").unwrap_or_else(|| "absent".into()),
    );
    // One replica gone: WAIT counts the one left.
    drop(r2);
    poll("the primary to notice the replica left", || {
        let info = p.info("replication");
        if field_of(&info, "connected_slaves").as_deref() == Some("1") {
            Ok(())
        } else {
            Err(info)
        }
    });
    rec("SET after a replica left", p.call_str(&["SET", "w", "5"]));
    rec(
        "WAIT 2 200 with one replica",
        p.call_str(&["WAIT", "2", "200"]),
    );
    out
}

#[test]
fn wait_and_min_replicas() {
    let ours = wait_and_min_replicas_replies(Ours, Ours, Redis);
    let redis = wait_and_min_replicas_replies(Redis, Redis, Redis);
    let get = |label: &str| ours.iter().find(|(l, _)| l == label).unwrap().1.clone();
    assert_eq!(get("WAIT 2 1000"), ":2\r\n");
    assert_eq!(get("WAIT 3 300"), ":2\r\n");
    let on_replica =
        "-ERR WAIT cannot be used with replica instances. Please also note that since \
        Redis 4.0 if a replica is configured to be writable (which is not the default) writes to \
        replicas are just local and are not propagated.\r\n";
    assert_eq!(get("WAIT on replica 1"), on_replica);
    assert_eq!(get("WAIT on replica 2"), on_replica);
    assert_eq!(get("min_slaves_good_slaves with 3"), "2");
    assert_eq!(
        get("SET refused"),
        "-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(get("SET allowed"), "+OK\r\n");
    assert_eq!(
        get("EXEC after the count dropped"),
        "-EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write.\r\n"
    );
    for ((label, a), (_, b)) in ours.iter().zip(&redis) {
        assert_eq!(a, b, "{label}: ours vs redis");
    }
}

// ---------------------------------------------------------------------------------------------
// i: ROLE and INFO replication shapes.
// ---------------------------------------------------------------------------------------------

/// The shape of a reply: types and nesting, with only the words that are part of the shape
/// (roles and link states) kept.
fn shape(f: &Frame) -> String {
    match f {
        Frame::Array(v) => format!("[{}]", v.iter().map(shape).collect::<Vec<_>>().join(",")),
        Frame::Bulk(b) => match &b[..] {
            b"master" | b"slave" | b"connect" | b"connecting" | b"handshake" | b"sync"
            | b"connected" => format!("bulk:{}", lossy(b)),
            _ => "bulk".into(),
        },
        Frame::Integer(_) => "int".into(),
        Frame::Simple(s) => format!("simple:{}", lossy(s)),
        Frame::Error(_) => "error".into(),
        Frame::Null => "null".into(),
        other => format!("{other:?}"),
    }
}

/// The field names of an INFO text in order; `slaveN` lines also list their `key=` names.
fn info_names(info: &str) -> Vec<String> {
    info.lines()
        .skip(1)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            let n = &k[k.len().min(5)..];
            if k.starts_with("slave") && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                let subs: Vec<&str> = v
                    .split(',')
                    .map(|kv| kv.split('=').next().unwrap())
                    .collect();
                format!("{k}:{}", subs.join(","))
            } else {
                k.to_string()
            }
        })
        .collect()
}

/// ROLE shapes and INFO field lists in a few topologies, each labelled.
fn role_and_info(kind: Kind) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lone = start(kind, &[]);
    out.push(("lone ROLE".into(), shape(&parse(&lone.call(&["ROLE"])))));
    out.push((
        "lone INFO".into(),
        info_names(&lone.info("replication")).join(" "),
    ));

    let mut p = start(kind, &[]);
    ok(&mut p.c, &["SET", "k", "v"]);
    let mut r = start_replica(kind, p.port(), &[]);
    wait_synced(&mut p, &mut r);
    poll("the replica online in ROLE", || {
        let role = parse(&p.call(&["ROLE"]));
        match &role {
            Frame::Array(v) if matches!(v.get(2), Some(Frame::Array(l)) if l.len() == 1) => Ok(()),
            _ => Err(format!("{role:?}")),
        }
    });
    let role = parse(&p.call(&["ROLE"]));
    out.push(("primary ROLE".into(), shape(&role)));
    // The replica's entry: ip, its listening port, its ACKed offset.
    if let Frame::Array(v) = &role {
        if let Some(Frame::Array(l)) = v.get(2) {
            if let Some(Frame::Array(e)) = l.first() {
                assert_eq!(
                    e.first(),
                    Some(&Frame::Bulk(b"127.0.0.1".to_vec())),
                    "{kind:?} {role:?}"
                );
                assert_eq!(
                    e.get(1),
                    Some(&Frame::Bulk(r.port().to_string().into_bytes())),
                    "{kind:?} {role:?}"
                );
            }
        }
    }
    let rrole = parse(&r.call(&["ROLE"]));
    out.push(("replica ROLE".into(), shape(&rrole)));
    if let Frame::Array(v) = &rrole {
        assert_eq!(
            v.get(1),
            Some(&Frame::Bulk(b"127.0.0.1".to_vec())),
            "{kind:?} {rrole:?}"
        );
        assert_eq!(
            v.get(2),
            Some(&Frame::Integer(p.port() as i64)),
            "{kind:?} {rrole:?}"
        );
    }
    out.push((
        "primary INFO".into(),
        info_names(&p.info("replication")).join(" "),
    ));
    out.push((
        "replica INFO".into(),
        info_names(&r.info("replication")).join(" "),
    ));
    let all = r.call_str(&["INFO"]);
    assert!(
        all.contains("# Replication\r\nrole:slave\r\n"),
        "{kind:?}: INFO lacks the replication section"
    );
    assert!(
        all.contains("# Server\r\n"),
        "{kind:?}: INFO lacks the server section"
    );
    ok(&mut p.c, &["CONFIG", "SET", "min-replicas-to-write", "1"]);
    out.push((
        "primary INFO with min-replicas".into(),
        info_names(&p.info("replication")).join(" "),
    ));
    ok(&mut p.c, &["CONFIG", "SET", "min-replicas-to-write", "0"]);

    let dead = free_port().to_string();
    let mut d = start(kind, &["--replicaof", "127.0.0.1", &dead]);
    let info = d.info("replication");
    out.push(("never connected INFO".into(), info_names(&info).join(" ")));
    for (f, v) in [
        ("master_link_status", "down"),
        ("master_last_io_seconds_ago", "-1"),
        ("slave_repl_offset", "1"),
        ("master_link_down_since_seconds", "-1"),
    ] {
        out.push((
            format!("never connected {f}"),
            field_of(&info, f).unwrap_or_default(),
        ));
        assert_eq!(field_of(&info, f).as_deref(), Some(v), "{kind:?}: {info}");
    }
    let drole = parse(&d.call(&["ROLE"]));
    // The state moves between connect and connecting: keep only the first three elements and the
    // offset.
    if let Frame::Array(v) = &drole {
        assert_eq!(v.len(), 5, "{kind:?}: {drole:?}");
        assert_eq!(v[4], Frame::Integer(-1), "{kind:?}: {drole:?}");
        out.push((
            "never connected ROLE".into(),
            shape(&Frame::Array(v[..3].to_vec())),
        ));
    } else {
        panic!("{kind:?}: ROLE {drole:?}");
    }
    // A replica that lost its primary.
    drop(p);
    poll("the link to go down", || {
        let info = r.info("replication");
        if field_of(&info, "master_link_status").as_deref() == Some("down") {
            Ok(())
        } else {
            Err(info)
        }
    });
    out.push((
        "link lost INFO".into(),
        info_names(&r.info("replication")).join(" "),
    ));
    out
}

#[test]
fn role_and_info_fields() {
    let ours = role_and_info(Ours);
    let redis = role_and_info(Redis);
    assert_eq!(ours.len(), redis.len());
    for ((label, a), (_, b)) in ours.iter().zip(&redis) {
        assert_eq!(a, b, "{label}: ours vs redis");
    }
}

// ---------------------------------------------------------------------------------------------
// j: chained replication.
// ---------------------------------------------------------------------------------------------

fn chained(pk: Kind, ak: Kind, bks: &[Kind]) {
    let mut p = start(pk, &[]);
    fill_every_type(&mut p.c);
    let mut a = start_replica(ak, p.port(), &[]);
    wait_synced(&mut p, &mut a);
    let mut bs: Vec<Node> = bks
        .iter()
        .map(|&k| start_replica(k, a.port(), &[]))
        .collect();
    let mut blocker = p.raw();
    for r in 0..3 {
        write_every_type(&mut p.c, &mut blocker, r);
    }
    wait_synced(&mut p, &mut a);
    let replid = p.field("replication", "master_replid");
    for b in bs.iter_mut() {
        wait_synced(&mut p, b);
        // Offsets of the whole chain follow the top primary's.
        let what = format!("{:?} B's master_repl_offset == primary's", b.kind);
        poll(&what, || {
            let po = p.repl_offset();
            let bo = b.repl_offset();
            if bo == po {
                Ok(())
            } else {
                Err(format!("primary {po}, B {bo}"))
            }
        });
        assert_eq!(
            b.field("replication", "master_replid"),
            replid,
            "{:?}",
            b.kind
        );
        assert_eq!(b.num("replication", "master_port"), a.port() as i64);
        assert_same_dataset(&p, b);
    }
    assert_eq!(a.field("replication", "master_replid"), replid);
    assert_eq!(a.num("replication", "connected_slaves"), bs.len() as i64);
    // The middle node counts the syncs it served, the top one only A's.
    assert_eq!(a.sync_counts(), (bs.len() as i64, 0));
    assert_eq!(p.sync_counts(), (1, 0));
    ok(&mut p.c, &["SET", "late", "write"]);
    for b in bs.iter_mut() {
        wait_synced(&mut p, b);
        assert_eq!(b.raw().call(&["GET", "late"]), b"$5\r\nwrite\r\n");
    }
    // The middle node's link dies and comes back: everyone continues partially.
    assert_eq!(a.call(&["CLIENT", "KILL", "TYPE", "master"]), b":1\r\n");
    ok(&mut p.c, &["SET", "after-kill", "1"]);
    wait_partial_ok(&mut p, 1);
    for b in bs.iter_mut() {
        wait_synced(&mut p, b);
        assert_eq!(b.raw().call(&["GET", "after-kill"]), b"$1\r\n1\r\n");
    }
    assert_eq!(p.sync_counts(), (1, 1));
    assert_eq!(
        a.sync_counts().0,
        bs.len() as i64,
        "no new full sync below A"
    );
}

#[test]
fn chained_replication_redoubt_middle() {
    chained(Ours, Ours, &[Redis, Ours]);
}

#[test]
fn chained_replication_real_primary_redoubt_middle() {
    chained(Redis, Ours, &[Redis]);
}

#[test]
fn chained_replication_real_middle() {
    chained(Ours, Redis, &[Ours]);
}

// ---------------------------------------------------------------------------------------------
// k: REPLICAOF replies.
// ---------------------------------------------------------------------------------------------

fn replicaof_replies(kind: Kind) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    fn rec(out: &mut Vec<(String, String)>, label: &str, node: &mut Node, args: &[&str]) {
        out.push((label.to_string(), node.call_str(args)));
    }
    let mut p = start(kind, &[]);
    let mut r = start_replica(kind, p.port(), &[]);
    wait_link_up(&mut r);
    let port = p.port().to_string();
    rec(
        &mut out,
        "bad port",
        &mut r,
        &["REPLICAOF", "127.0.0.1", "notaport"],
    );
    rec(
        &mut out,
        "port 70000",
        &mut r,
        &["REPLICAOF", "127.0.0.1", "70000"],
    );
    rec(
        &mut out,
        "port -1",
        &mut r,
        &["REPLICAOF", "127.0.0.1", "-1"],
    );
    rec(
        &mut out,
        "one argument",
        &mut r,
        &["REPLICAOF", "127.0.0.1"],
    );
    rec(
        &mut out,
        "same primary",
        &mut r,
        &["REPLICAOF", "127.0.0.1", &port],
    );
    rec(
        &mut out,
        "same primary, SLAVEOF",
        &mut r,
        &["SLAVEOF", "127.0.0.1", &port],
    );
    rec(
        &mut out,
        "same primary, lower case",
        &mut r,
        &["replicaof", "127.0.0.1", &port],
    );
    rec(
        &mut out,
        "NO ONE on a primary",
        &mut p,
        &["REPLICAOF", "NO", "ONE"],
    );
    rec(
        &mut out,
        "no one on a primary, SLAVEOF",
        &mut p,
        &["SLAVEOF", "no", "one"],
    );
    rec(
        &mut out,
        "three arguments",
        &mut p,
        &["REPLICAOF", "no", "one", "x"],
    );
    wait_link_up(&mut r);
    rec(
        &mut out,
        "no one on the replica",
        &mut r,
        &["REPLICAOF", "no", "one"],
    );
    // The replica is a primary now, and keeps its data.
    let role = parse(&r.call(&["ROLE"]));
    out.push(("promoted ROLE".into(), shape(&role)));
    rec(
        &mut out,
        "write on the promoted node",
        &mut r,
        &["SET", "k", "v"],
    );
    // And back under the same primary: a full sync drops the local write.
    rec(
        &mut out,
        "replicaof again",
        &mut r,
        &["REPLICAOF", "127.0.0.1", &port],
    );
    wait_link_up(&mut r);
    rec(&mut out, "local write gone", &mut r, &["GET", "k"]);
    out
}

#[test]
fn replicaof_errors_and_replies() {
    let ours = replicaof_replies(Ours);
    let redis = replicaof_replies(Redis);
    let get = |label: &str| ours.iter().find(|(l, _)| l == label).unwrap().1.clone();
    assert_eq!(get("bad port"), "-ERR Invalid master port\r\n");
    assert_eq!(
        get("same primary"),
        "+OK Already connected to specified master\r\n"
    );
    assert_eq!(get("NO ONE on a primary"), "+OK\r\n");
    assert_eq!(get("no one on the replica"), "+OK\r\n");
    assert_eq!(ours.len(), redis.len());
    for ((label, a), (_, b)) in ours.iter().zip(&redis) {
        assert_eq!(a, b, "{label}: ours vs redis");
    }
}

// ---------------------------------------------------------------------------------------------
// l: log lines.
// ---------------------------------------------------------------------------------------------

/// Waits until the log file at `path` contains every phrase; returns what is missing at the
/// deadline (empty when all appeared).
fn wait_log(path: &Path, phrases: &[String]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        let missing: Vec<String> = phrases
            .iter()
            .filter(|p| !log.contains(p.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            return missing;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a full sync then a partial one with `primary_kind` → `replica_kind`, both logging to
/// files; returns the phrases missing from the replica's and the primary's logs.
fn log_scenario(
    primary_kind: Kind,
    replica_kind: Kind,
) -> (Vec<String>, Vec<String>, String, String) {
    let dir = DataDir::new("repl-logs");
    let plog = dir.path().join("primary.log");
    let rlog = dir.path().join("replica.log");
    let mut p = start(primary_kind, &["--logfile", plog.to_str().unwrap()]);
    ok(&mut p.c, &["SET", "k", "v"]);
    let mut r = start_replica(
        replica_kind,
        p.port(),
        &["--logfile", rlog.to_str().unwrap()],
    );
    wait_synced(&mut p, &mut r);
    let replid = p.field("replication", "master_replid");
    assert_eq!(r.call(&["CLIENT", "KILL", "TYPE", "master"]), b":1\r\n");
    ok(&mut p.c, &["SET", "k", "w"]);
    wait_partial_ok(&mut p, 1);
    wait_synced(&mut p, &mut r);
    let (pp, rp) = (p.port(), r.port());
    let replica_phrases: Vec<String> = vec![
        format!("Connecting to MASTER 127.0.0.1:{pp}"),
        "MASTER <-> REPLICA sync started".into(),
        "Master replied to PING, replication can continue...".into(),
        "Partial resynchronization not possible (no cached master)".into(),
        format!("Full resync from master: {replid}:"),
        "MASTER <-> REPLICA sync: Flushing old data".into(),
        "MASTER <-> REPLICA sync: Loading DB in memory".into(),
        "MASTER <-> REPLICA sync: Finished with success".into(),
        "Caching the disconnected master state.".into(),
        format!("Reconnecting to MASTER 127.0.0.1:{pp}"),
        format!("Trying a partial resynchronization (request {replid}:"),
        "Successful partial resynchronization with master.".into(),
        "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.".into(),
    ];
    let primary_phrases: Vec<String> = vec![
        format!("Replica 127.0.0.1:{rp} asks for synchronization"),
        format!("Full resync requested by replica 127.0.0.1:{rp}"),
        "Replication backlog created, my new replication IDs are".into(),
        format!("Synchronization with replica 127.0.0.1:{rp} succeeded"),
        format!("Connection with replica 127.0.0.1:{rp} lost."),
        format!("Partial resynchronization request from 127.0.0.1:{rp} accepted."),
    ];
    let missing_r = wait_log(&rlog, &replica_phrases);
    let missing_p = wait_log(&plog, &primary_phrases);
    (
        missing_r,
        missing_p,
        std::fs::read_to_string(&rlog).unwrap_or_default(),
        std::fs::read_to_string(&plog).unwrap_or_default(),
    )
}

#[test]
fn replication_log_lines() {
    // The phrases are Redis's own: check them on Redis first.
    let (mr, mp, rlog, plog) = log_scenario(Redis, Redis);
    assert!(mr.is_empty(), "redis replica log lacks {mr:?}:\n{rlog}");
    assert!(mp.is_empty(), "redis primary log lacks {mp:?}:\n{plog}");
    // Our replica of a real primary, and our primary of a real replica.
    let (mr, _, rlog, _) = log_scenario(Redis, Ours);
    let (_, mp, _, plog) = log_scenario(Ours, Redis);
    assert!(mr.is_empty(), "our replica's log lacks {mr:?}:\n{rlog}");
    assert!(mp.is_empty(), "our primary's log lacks {mp:?}:\n{plog}");
}

// ---------------------------------------------------------------------------------------------
// More interop: the replica's timeout, the primary's keepalive, PUBLISH and FLUSHALL.
// ---------------------------------------------------------------------------------------------

/// An idle link stays up because the primary PINGs (every second here), and those PINGs count
/// in the offsets on both sides.
#[test]
fn idle_link_stays_up_with_pings() {
    for (pk, rk) in [(Ours, Redis), (Redis, Ours)] {
        let mut p = start(pk, &[]);
        let mut r = start_replica(rk, p.port(), &["--repl-timeout", "2"]);
        wait_synced(&mut p, &mut r);
        let o0 = p.repl_offset();
        // Five periods of PING, longer than the replica's timeout.
        std::thread::sleep(Duration::from_millis(4500));
        let o1 = p.repl_offset();
        assert!(
            o1 >= o0 + 3 * 14,
            "{pk:?}: offset went {o0} -> {o1} over 4.5 s of 1 s PINGs"
        );
        wait_synced(&mut p, &mut r);
        assert_eq!(r.field("replication", "master_link_status"), "up");
        assert_eq!(
            p.sync_counts(),
            (1, 0),
            "{pk:?} -> {rk:?}: the link never dropped"
        );
        let last_io: i64 = r.num("replication", "master_last_io_seconds_ago");
        assert!(
            (0..=1).contains(&last_io),
            "master_last_io_seconds_ago:{last_io}"
        );
    }
}

/// A replica whose primary stops talking (SIGSTOP) drops the link after repl-timeout and, once the
/// primary resumes, continues partially.
#[test]
fn replica_times_out_a_silent_primary_then_continues() {
    for (pk, rk) in [(Redis, Ours), (Ours, Redis)] {
        let mut p = start(pk, &[]);
        ok(&mut p.c, &["SET", "k", "v"]);
        let mut r = start_replica(rk, p.port(), &["--repl-timeout", "2"]);
        wait_synced(&mut p, &mut r);
        let pid = p.srv.child.id() as i32;
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        let down = (|| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                let info = r.info("replication");
                if field_of(&info, "master_link_status").as_deref() == Some("down") {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        })();
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        assert!(
            down,
            "{rk:?} replica kept the link up with a stopped primary and repl-timeout 2"
        );
        ok(&mut p.c, &["SET", "k", "after"]);
        wait_partial_ok(&mut p, 1);
        wait_synced(&mut p, &mut r);
        assert_eq!(r.raw().call(&["GET", "k"]), b"$5\r\nafter\r\n");
        assert_eq!(
            p.sync_counts().0,
            1,
            "{pk:?} -> {rk:?}: no second full sync"
        );
    }
}

/// PUBLISH on the primary reaches the replica's subscribers; FLUSHALL empties the replica.
#[test]
fn publish_and_flushall_replicate() {
    for (pk, rk) in [(Ours, Redis), (Redis, Ours)] {
        let mut p = start(pk, &[]);
        fill_every_type(&mut p.c);
        let mut r = start_replica(rk, p.port(), &[]);
        wait_synced(&mut p, &mut r);
        let mut sub = r.raw();
        assert_eq!(
            sub.call(&["SUBSCRIBE", "news"]),
            b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
        );
        assert_eq!(p.call(&["PUBLISH", "news", "hello"]), b":0\r\n");
        // Raw::read_reply panics when nothing comes within its 5 s read timeout.
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sub.read_reply()))
            .map(|r| lossy(&r))
            .unwrap_or_else(|_| "nothing within 5 s".into());
        assert_eq!(
            got, "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
            "{:?} primary -> {:?} replica: PUBLISH is propagated to replicas",
            p.kind, r.kind
        );
        assert_eq!(p.call(&["FLUSHALL"]), b"+OK\r\n");
        wait_synced(&mut p, &mut r);
        let mut c = r.raw();
        for db in 0..16 {
            assert_eq!(c.call(&["SELECT", &db.to_string()]), b"+OK\r\n");
            assert_eq!(c.call(&["DBSIZE"]), b":0\r\n", "{pk:?} -> {rk:?} db {db}");
        }
    }
}

/// The comparison helper itself catches each kind of difference (two independent servers of
/// the same kind filled the same way, then one changed).
#[test]
fn dataset_comparison_detects_differences() {
    let mutations: &[&[&str]] = &[
        &["SET", "str", "changed"],
        &["DEL", "list:big"],
        &["SET", "extra", "1"],
        &["EXPIRE", "lzf:big", "100000"],
        &["PERSIST", "ttl:ex"],
        &["HSET", "hash:big", "f7", "other"],
        &["SADD", "set:int", "99"],
        &["ZADD", "zset:big", "1000", "z3"],
        &["LSET", "list:plain", "1", "short"],
        &["XACK", "stream", "g1", "1000-3"],
        &["XGROUP", "SETID", "stream", "g2", "0"],
        &[
            "PFADD",
            "hll:dense",
            "new-element-1",
            "new-element-2",
            "new-element-3",
        ],
        &["SWAPDB", "0", "3"],
        &["MOVE", "str", "9"],
    ];
    for m in mutations {
        // Both filled just now, so that their TTLs are within the tolerance.
        let (mut a, mut b) = (start(Ours, &[]), start(Ours, &[]));
        fill_every_type(&mut a.c);
        fill_every_type(&mut b.c);
        assert_same_dataset(&a, &b);
        let reply = b.call(m);
        assert!(!reply.starts_with(b"-"), "{m:?} -> {}", lossy(&reply));
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| assert_same_dataset(&a, &b)));
        assert!(caught.is_err(), "the comparison missed {m:?}");
    }
}

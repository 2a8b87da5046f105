//! Shared test helpers: a real redis-server in a scratch directory, a client, and conversions
//! between the server's view of a key and the crate's data model.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdb::{
    Item, PendingEntry, RdbValue, StreamConsumer, StreamEntry, StreamGroup, StreamId, StreamValue,
};
use redis::Value;

pub mod legacy;

/// Debian's redis-server; the interop tests need it (CI installs it).
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// Debian's redis-check-rdb (package redis-tools).
pub const REDIS_CHECK_RDB: &str = "/usr/bin/redis-check-rdb";

/// A unique scratch directory, removed by its owner.
pub fn scratch_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("rdb-test-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir scratch");
    d
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A redis-server process in its own directory, killed (and the directory removed) on drop.
pub struct Redis {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Its `--dir`.
    pub dir: PathBuf,
}

impl Redis {
    /// Starts redis-server with `--dir <fresh dir> --save '' --appendonly no` plus `args`.
    pub fn start(args: &[&str]) -> Redis {
        Self::start_in(scratch_dir("srv"), args)
            .unwrap_or_else(|log| panic!("redis-server did not start:\n{log}"))
    }

    /// Starts redis-server in `dir`; on failure returns its log.
    pub fn start_in(dir: PathBuf, args: &[&str]) -> Result<Redis, String> {
        assert!(
            Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is required: apt-get install -y redis-server redis-tools"
        );
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let log = dir.join("redis.log");
            let mut cmd = Command::new(REDIS_SERVER);
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
                .arg(&dir)
                .args(["--save", "", "--appendonly", "no", "--logfile"])
                .arg(&log)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child = cmd.spawn().expect("spawn redis-server");
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let r = Redis {
                        child,
                        port,
                        dir: dir.clone(),
                    };
                    // Wait until loading finished.
                    let mut c = r.conn();
                    while Instant::now() < deadline {
                        match redis::cmd("PING").query::<String>(&mut c) {
                            Ok(_) => return Ok(r),
                            Err(_) => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                    return Err("server kept loading".into());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
            if last_log.contains("Fatal")
                || last_log.contains("Bad file format")
                || last_log.contains("Short read")
            {
                break;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last_log)
    }

    /// A client connection with a 20 s read timeout.
    pub fn conn(&self) -> redis::Connection {
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("client");
        let c = client
            .get_connection_with_timeout(Duration::from_secs(10))
            .expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        c.set_write_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        c
    }

    /// Runs `SAVE` and returns the bytes of `dump.rdb`.
    pub fn save_and_read(&self, c: &mut redis::Connection) -> Vec<u8> {
        let _: () = redis::cmd("SAVE").query(c).expect("SAVE");
        std::fs::read(self.dir.join("dump.rdb")).expect("read dump.rdb")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `redis-check-rdb` on a file: (success, output).
pub fn check_rdb(path: &Path) -> (bool, String) {
    assert!(
        Path::new(REDIS_CHECK_RDB).exists(),
        "{REDIS_CHECK_RDB} is required: apt-get install -y redis-tools"
    );
    let out = Command::new(REDIS_CHECK_RDB)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-check-rdb");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.contains("RDB looks OK"), text)
}

/// Runs one command.
pub fn cmd(c: &mut redis::Connection, args: &[&[u8]]) -> Value {
    let mut k = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        k.arg(*a);
    }
    k.query(c)
        .unwrap_or_else(|e| panic!("{:?} failed: {e}", String::from_utf8_lossy(&args.concat())))
}

/// Runs one command given as text words.
pub fn cmds(c: &mut redis::Connection, args: &[&str]) -> Value {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    cmd(c, &a)
}

/// Sends many commands in pipelines of 1000.
pub fn pipe(c: &mut redis::Connection, commands: &[Vec<Vec<u8>>]) {
    for chunk in commands.chunks(1000) {
        let mut p = redis::pipe();
        for args in chunk {
            let k = p.cmd(std::str::from_utf8(&args[0]).expect("name"));
            for a in &args[1..] {
                k.arg(a.as_slice());
            }
            k.ignore();
        }
        let _: () = p.query(c).expect("pipeline");
    }
}

/// The bytes of a string-like reply.
pub fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.clone().into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Okay => b"OK".to_vec(),
        other => panic!("expected a string, got {other:?}"),
    }
}

/// An integer reply (also from a string).
pub fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => String::from_utf8(bytes(other))
            .expect("utf8")
            .parse()
            .expect("integer"),
    }
}

/// The elements of an array reply.
pub fn arr(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        Value::Nil => &[],
        other => panic!("expected an array, got {other:?}"),
    }
}

/// Parses `<ms>-<seq>`.
pub fn parse_id(v: &Value) -> StreamId {
    let s = String::from_utf8(bytes(v)).expect("utf8");
    let (ms, seq) = s.split_once('-').expect("id");
    StreamId::new(ms.parse().expect("ms"), seq.parse().expect("seq"))
}

/// A flat key/value array reply as a map.
fn kv(v: &Value) -> BTreeMap<String, Value> {
    arr(v)
        .chunks_exact(2)
        .map(|p| (String::from_utf8(bytes(&p[0])).expect("utf8"), p[1].clone()))
        .collect()
}

/// A stream as `XINFO STREAM key FULL COUNT 0` reports it.
pub fn server_stream(c: &mut redis::Connection, key: &[u8]) -> StreamValue {
    let info = kv(&cmd(
        c,
        &[b"XINFO", b"STREAM", key, b"FULL", b"COUNT", b"0"],
    ));
    let entries = arr(&info["entries"])
        .iter()
        .map(|e| {
            let e = arr(e);
            let f = arr(&e[1])
                .chunks_exact(2)
                .map(|p| (bytes(&p[0]), bytes(&p[1])))
                .collect();
            StreamEntry {
                id: parse_id(&e[0]),
                fields: f,
            }
        })
        .collect();
    let groups = arr(&info["groups"])
        .iter()
        .map(|g| {
            let g = kv(g);
            let pending = arr(&g["pending"])
                .iter()
                .map(|p| {
                    let p = arr(p);
                    PendingEntry {
                        id: parse_id(&p[0]),
                        delivery_time_ms: int(&p[2]),
                        delivery_count: int(&p[3]) as u64,
                    }
                })
                .collect();
            let consumers = arr(&g["consumers"])
                .iter()
                .map(|x| {
                    let x = kv(x);
                    StreamConsumer {
                        name: bytes(&x["name"]),
                        seen_time_ms: int(&x["seen-time"]),
                        active_time_ms: None,
                        pending: arr(&x["pending"])
                            .iter()
                            .map(|p| parse_id(&arr(p)[0]))
                            .collect(),
                    }
                })
                .collect();
            StreamGroup {
                name: bytes(&g["name"]),
                last_id: parse_id(&g["last-delivered-id"]),
                entries_read: match &g["entries-read"] {
                    Value::Nil => None,
                    v => Some(int(v) as u64),
                },
                pending,
                consumers,
            }
        })
        .collect();
    StreamValue {
        entries,
        last_id: parse_id(&info["last-generated-id"]),
        first_id: parse_id(&info["recorded-first-entry-id"]),
        max_deleted_id: parse_id(&info["max-deleted-entry-id"]),
        entries_added: int(&info["entries-added"]) as u64,
        groups,
    }
}

/// The server's view of a key: normalized value and absolute expiry in ms.
pub fn server_value(c: &mut redis::Connection, key: &[u8]) -> (RdbValue, Option<i64>) {
    let t = String::from_utf8(bytes(&cmd(c, &[b"TYPE", key]))).expect("utf8");
    let v = match t.as_str() {
        "string" => RdbValue::String(bytes(&cmd(c, &[b"GET", key]))),
        "list" => RdbValue::List(
            arr(&cmd(c, &[b"LRANGE", key, b"0", b"-1"]))
                .iter()
                .map(bytes)
                .collect(),
        ),
        "set" => RdbValue::Set(
            arr(&cmd(c, &[b"SMEMBERS", key]))
                .iter()
                .map(bytes)
                .collect(),
        ),
        "zset" => RdbValue::ZSet(
            arr(&cmd(c, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]))
                .chunks_exact(2)
                .map(|p| {
                    (
                        bytes(&p[0]),
                        String::from_utf8(bytes(&p[1]))
                            .unwrap()
                            .parse::<f64>()
                            .unwrap(),
                    )
                })
                .collect(),
        ),
        "hash" => RdbValue::Hash(
            arr(&cmd(c, &[b"HGETALL", key]))
                .chunks_exact(2)
                .map(|p| (bytes(&p[0]), bytes(&p[1])))
                .collect(),
        ),
        "stream" => RdbValue::Stream(Box::new(server_stream(c, key))),
        other => panic!("unexpected type {other}"),
    };
    let exp = int(&cmd(c, &[b"PEXPIRETIME", key]));
    (normalize(v), (exp >= 0).then_some(exp))
}

/// Puts unordered aggregates in a canonical order (sets and hashes sorted, zsets by score).
pub fn normalize(v: RdbValue) -> RdbValue {
    match v {
        RdbValue::Set(mut m) => {
            m.sort();
            RdbValue::Set(m)
        }
        RdbValue::Hash(mut h) => {
            h.sort();
            RdbValue::Hash(h)
        }
        RdbValue::ZSet(mut z) => {
            z.sort_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            });
            RdbValue::ZSet(z)
        }
        other => other,
    }
}

/// Everything the server holds: db → key → (value, expiry), for dbs 0..16.
pub type Keyspace = BTreeMap<u64, BTreeMap<Vec<u8>, (RdbValue, Option<i64>)>>;

/// Reads the whole keyspace of a server.
pub fn server_keyspace(c: &mut redis::Connection) -> Keyspace {
    let mut out = Keyspace::new();
    for db in 0..16u64 {
        cmds(c, &["SELECT", &db.to_string()]);
        let keys: Vec<Vec<u8>> = arr(&cmds(c, &["KEYS", "*"])).iter().map(bytes).collect();
        for k in keys {
            let v = server_value(c, &k);
            out.entry(db).or_default().insert(k, v);
        }
    }
    cmds(c, &["SELECT", "0"]);
    out
}

/// The keyspace described by decoded items.
pub fn items_keyspace(items: &[Item]) -> Keyspace {
    let mut out = Keyspace::new();
    let mut db = 0;
    for it in items {
        match it {
            Item::SelectDb(d) => db = *d,
            Item::Entry(e) => {
                let prev = out
                    .entry(db)
                    .or_default()
                    .insert(e.key.clone(), (normalize(e.value.clone()), e.expire_ms));
                assert!(
                    prev.is_none(),
                    "duplicate key {:?}",
                    String::from_utf8_lossy(&e.key)
                );
            }
            _ => {}
        }
    }
    out
}

/// Asserts two keyspaces are equal, reporting the first differing key readably.
pub fn assert_keyspace_eq(got: &Keyspace, want: &Keyspace) {
    for (db, keys) in want {
        let g = got.get(db).unwrap_or_else(|| panic!("db {db} missing"));
        for (k, v) in keys {
            let gv = g
                .get(k)
                .unwrap_or_else(|| panic!("db {db} key {:?} missing", String::from_utf8_lossy(k)));
            assert!(
                gv == v,
                "db {db} key {:?} differs:\n got  {gv:?}\n want {v:?}",
                String::from_utf8_lossy(k)
            );
        }
        assert_eq!(g.len(), keys.len(), "db {db} has extra keys");
    }
    assert_eq!(got.len(), want.len(), "extra databases");
}

/// A small deterministic PRNG (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Builds an owned command from words.
pub fn words(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}
